package commvault

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/sessionbot/sessionbot/vendors"
	"github.com/sessionbot/sessionbot/vendors/internal/httpx"
)

// loginRequest is the body of POST /Login.
type loginRequest struct {
	Username string `json:"username"`
	Password string `json:"password"` // base64 of the UTF-8 password
	Domain   string `json:"domain,omitempty"`
	Timeout  int    `json:"timeout,omitempty"` // minutes
	DeviceID string `json:"deviceId,omitempty"`
}

// login asks for a new token. Only tokenSource calls it, one at a time.
func (in *Instance) login(ctx context.Context) (string, error) {
	token, err := in.askToken(ctx)
	if err != nil {
		in.loginFailures.Add(1)
		in.logger.Warn("commvault login failed", "node", in.s.node, "user", in.s.who(), "err", err)
		return "", fmt.Errorf("log in as %s: %w", in.s.who(), err)
	}
	if in.logins.Add(1) > 1 {
		in.logger.Info("commvault token renewed by a new login", "node", in.s.node, "user", in.s.who())
	} else {
		in.logger.Debug("commvault login", "node", in.s.node, "user", in.s.who())
	}
	return token, nil
}

func (in *Instance) askToken(ctx context.Context) (string, error) {
	body, err := json.Marshal(loginRequest{
		Username: in.s.username,
		Password: base64.StdEncoding.EncodeToString([]byte(in.s.password)),
		Domain:   in.s.domain,
		Timeout:  in.s.tokenMinutes,
		DeviceID: in.s.deviceID,
	})
	if err != nil {
		return "", fmt.Errorf("encode the login: %w", err)
	}
	a, err := in.exchange(ctx, request{
		method:      http.MethodPost,
		path:        "/Login",
		body:        body,
		contentType: "application/json",
	}, "")
	if err != nil {
		return "", err
	}
	// Commvault answers a refused login with 200 and an errList; some
	// releases use 401. Either way the words are in errLogMessage.
	if e, ok := apiErrorOf(a); ok && (a.status < 300 || a.status == http.StatusUnauthorized || a.status == http.StatusForbidden) {
		return "", in.refusal(e)
	}
	switch {
	case a.status == http.StatusUnauthorized:
		return "", fmt.Errorf("401 Unauthorized: user name or password refused: %w", vendors.ErrUnauthorized)
	case a.status == http.StatusForbidden || a.status >= 500 || (a.status >= 200 && a.status < 300):
		if err := in.statusError(a, ""); err != nil {
			return "", err
		}
	default:
		// Anything else means this is not a Commvault web service's login.
		return "", fmt.Errorf("POST /Login answered %d %s (%s): is url the web service base, e.g. https://host/webconsole/api?: %w",
			a.status, http.StatusText(a.status), in.http.StatusError(httpx.Request{}, a.response(), "").Detail, vendors.ErrBadAnswer)
	}
	return decodeToken(a)
}

// loginError marks a failure to log in, so that it is not taken for the
// answer to the request that needed the token: a 404 from /Login is not a
// missing user or route.
type loginError struct{ err error }

func (e *loginError) Error() string { return e.err.Error() }
func (e *loginError) Unwrap() error { return e.err }

// within adds what was being done to err, unless the login failed: that
// says what it was doing itself.
func within(what string, err error) error {
	var le *loginError
	if errors.As(err, &le) {
		return err
	}
	return fmt.Errorf("%s: %w", what, err)
}

// answeredWith reports whether err is the server's own answer to a request
// and matches target, as opposed to a failure to log in first.
func answeredWith(err, target error) bool {
	var le *loginError
	return errors.Is(err, target) && !errors.As(err, &le)
}

// refusal words a refused login. The server's message is quoted with the
// password taken out, in case it echoes it: before it is shortened, which
// joins spaces and cuts, so that the password is still found whole.
func (in *Instance) refusal(e *apiError) error {
	said := httpx.Snippet(in.http.Redact(e.Error()), 300)
	if strings.Contains(strings.ToLower(e.message), "lock") {
		return fmt.Errorf("the account is locked; ask a CommCell administrator to unlock it (%s): %w", said, vendors.ErrUnauthorized)
	}
	return fmt.Errorf("user name or password refused (%s): %w", said, vendors.ErrUnauthorized)
}
