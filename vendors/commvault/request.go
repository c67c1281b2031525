package commvault

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"time"

	"github.com/sessionbot/sessionbot/vendors"
)

// maxAnswer bounds what one answer may hold: the user list of a large
// CommCell is a few megabytes.
const maxAnswer = 32 << 20

// errRequestTimeout marks a request that ran out of RequestTimeout, as
// opposed to the caller's own deadline.
var errRequestTimeout = errors.New("request timeout")

// request is one call to the web service.
type request struct {
	method      string
	path        string // below the base, escaped: "/Session", "/User/byName(userName='x')"
	query       url.Values
	body        []byte
	contentType string
	accept      string // application/json when empty
}

// answer is what the server sent back, whatever its status.
type answer struct {
	status      int
	body        []byte
	contentType string
	location    string
}

// call sends r with the shared token and returns a 2xx answer. A 401 means
// the token expired: it logs in again, once for every caller that saw the
// same token refused, and retries once.
func (in *Instance) call(ctx context.Context, r request) (answer, error) {
	t, err := in.tokens.get(ctx)
	if err != nil {
		return answer{}, &loginError{err}
	}
	a, err := in.exchange(ctx, r, t.value)
	if err != nil {
		return answer{}, err
	}
	if a.status == http.StatusUnauthorized {
		in.logger.Debug("commvault token refused; logging in again", "node", in.s.node, "path", r.path)
		fresh, err := in.tokens.renew(ctx, t)
		if err != nil {
			return answer{}, &loginError{err}
		}
		t = fresh
		if a, err = in.exchange(ctx, r, t.value); err != nil {
			return answer{}, err
		}
		if a.status == http.StatusUnauthorized {
			return answer{}, fmt.Errorf("401 Unauthorized right after a fresh login: the web service refuses the bot's token (is %s allowed to use the REST API?): %w",
				in.s.who(), vendors.ErrUnauthorized)
		}
	}
	if err := in.statusError(a, t.value); err != nil {
		return answer{}, err
	}
	return a, nil
}

// exchange makes one request, with token in the Authtoken header when it
// is set, and returns whatever answer came. Errors are failures to get one.
func (in *Instance) exchange(ctx context.Context, r request, token string) (answer, error) {
	ctx, cancel := context.WithTimeoutCause(ctx, in.s.timeout, errRequestTimeout)
	defer cancel()

	target := in.s.base + r.path
	if len(r.query) > 0 {
		target += "?" + r.query.Encode()
	}
	var body io.Reader
	if r.body != nil {
		body = bytes.NewReader(r.body)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, target, body)
	if err != nil {
		return answer{}, fmt.Errorf("build request %s %s: %w", r.method, r.path, err)
	}
	accept := r.accept
	if accept == "" {
		accept = "application/json"
	}
	req.Header.Set("Accept", accept)
	if r.contentType != "" {
		req.Header.Set("Content-Type", r.contentType)
	}
	if token != "" {
		req.Header.Set("Authtoken", token)
	}
	req.Header.Set("User-Agent", "sessionbot")

	started := time.Now()
	resp, err := in.client.Do(req)
	if err != nil {
		err = in.transportError(ctx, err, started)
		in.logger.Debug("commvault request failed", "method", r.method, "path", r.path, "err", err)
		return answer{}, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer+1))
	if err != nil {
		return answer{}, fmt.Errorf("reading the answer: %w", in.transportError(ctx, err, started))
	}
	if ctx.Err() != nil {
		// The answer came as we gave up on it: it counts as no answer.
		return answer{}, in.transportError(ctx, ctx.Err(), started)
	}
	in.logger.Debug("commvault request", "method", r.method, "path", r.path, "status", resp.StatusCode,
		"elapsed", time.Since(started).Round(time.Millisecond))
	if len(data) > maxAnswer {
		return answer{}, fmt.Errorf("answered more than %d MiB: %w", maxAnswer>>20, vendors.ErrBadAnswer)
	}
	return answer{
		status:      resp.StatusCode,
		body:        data,
		contentType: resp.Header.Get("Content-Type"),
		location:    resp.Header.Get("Location"),
	}, nil
}

// statusError says what a status other than 2xx means; nil for 2xx. token
// is kept out of anything quoted from the answer.
func (in *Instance) statusError(a answer, token string) error {
	if a.status >= 200 && a.status < 300 {
		return nil
	}
	status := fmt.Sprintf("%d %s", a.status, http.StatusText(a.status))
	detail := in.detail(a, token)
	withDetail := status
	if detail != "" {
		withDetail += ": " + detail
	}
	switch {
	case a.status >= 300 && a.status < 400:
		return fmt.Errorf("%s to %q: is url the web service base (https://host/webconsole/api)?: %w",
			status, in.redact(snippet(a.location, 200), token), vendors.ErrBadAnswer)
	case a.status == http.StatusUnauthorized:
		return fmt.Errorf("%s: the token was refused: %w", withDetail, vendors.ErrUnauthorized)
	case a.status == http.StatusForbidden:
		return fmt.Errorf("%s: the bot's Commvault user %s lacks a role with View/Add/Delete/Modify User: %w",
			withDetail, in.s.who(), vendors.ErrForbidden)
	case a.status == http.StatusNotFound:
		return fmt.Errorf("%s: %w", status, vendors.ErrNotFound)
	case a.status == http.StatusBadRequest:
		return fmt.Errorf("%s: %w", withDetail, vendors.ErrInvalidInput)
	case a.status >= 500:
		if _, ok := apiErrorOf(a); ok || isHTML(a) {
			return fmt.Errorf("%s: %w", withDetail, vendors.ErrUnavailable)
		}
		// A raw body (a stack trace, often): its first line for a person,
		// the rest for the debug log.
		short := status
		if line := in.redact(vendors.Summary(string(a.body), 100), token); line != "" {
			short += ": " + line
		}
		return &vendors.DetailError{Err: fmt.Errorf("%s: %w", short, vendors.ErrUnavailable), Detail: in.redact(snippet(string(a.body), 2000), token)}
	default:
		return fmt.Errorf("unexpected %s: %w", withDetail, vendors.ErrBadAnswer)
	}
}

// detail is what an error answer says, in a few words: Commvault's own
// message when it sent one, else the start of the body, never a web page.
func (in *Instance) detail(a answer, token string) string {
	if isHTML(a) {
		return "an HTML page"
	}
	if e, ok := apiErrorOf(a); ok {
		return in.redact(snippet(e.Error(), 300), token)
	}
	return in.redact(snippet(string(a.body), 200), token)
}

// redact keeps secrets out of text quoted from an answer, in case the
// server echoes what it was sent.
func (in *Instance) redact(s, token string) string {
	secrets := []string{in.s.password, base64.StdEncoding.EncodeToString([]byte(in.s.password)), token}
	for _, secret := range secrets {
		if len(secret) >= 4 {
			s = strings.ReplaceAll(s, secret, "[redacted]")
		}
	}
	return s
}

// transportError turns a failure to get an answer into words: a timeout, a
// certificate problem, or a connection that could not be made or was cut.
// It never quotes the request URL.
func (in *Instance) transportError(ctx context.Context, err error, started time.Time) error {
	var urlErr *url.Error
	if errors.As(err, &urlErr) {
		err = urlErr.Err // its message repeats the URL
	}
	if ctx.Err() != nil {
		switch cause := context.Cause(ctx); {
		case errors.Is(cause, errRequestTimeout):
			return fmt.Errorf("no answer within %s (request_timeout): %w", in.s.timeout, vendors.ErrTimeout)
		case errors.Is(ctx.Err(), context.DeadlineExceeded):
			return fmt.Errorf("no answer before the deadline (waited %s): %w", time.Since(started).Round(time.Millisecond), vendors.ErrTimeout)
		default:
			return fmt.Errorf("request cancelled: %w", ctx.Err())
		}
	}

	var verifyErr *tls.CertificateVerificationError
	var unknown x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var recordErr tls.RecordHeaderError
	var dnsErr *net.DNSError
	var netErr net.Error
	switch {
	case errors.As(err, &verifyErr) && errors.As(verifyErr.Err, &unknown):
		return fmt.Errorf("TLS: the web server's certificate is not signed by a CA we trust (set ca_file to the CA that signed it): %w", vendors.ErrUnavailable)
	case errors.As(err, &verifyErr) && errors.As(verifyErr.Err, &hostErr):
		return fmt.Errorf("TLS: the web server's certificate is not valid for this host name (%v): %w", hostErr, vendors.ErrUnavailable)
	case errors.As(err, &verifyErr):
		return fmt.Errorf("TLS: cannot verify the web server's certificate (%v): %w", verifyErr.Err, vendors.ErrUnavailable)
	case errors.As(err, &recordErr):
		return fmt.Errorf("TLS: the server does not speak TLS on this port (http:// instead of https://?): %w", vendors.ErrUnavailable)
	case errors.As(err, &dnsErr):
		return fmt.Errorf("host name not found (%v): %w", dnsErr, vendors.ErrUnavailable)
	case errors.As(err, &netErr) && netErr.Timeout():
		return fmt.Errorf("no answer within %s (request_timeout): %w", in.s.timeout, vendors.ErrTimeout)
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Errorf("connection refused (is the web server running and listening on this port?): %w", vendors.ErrUnavailable)
	case errors.Is(err, syscall.ECONNRESET):
		return fmt.Errorf("connection reset by the server: %w", vendors.ErrUnavailable)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("the server closed the connection without answering: %w", vendors.ErrUnavailable)
	}
	return fmt.Errorf("cannot reach the server: %v: %w", err, vendors.ErrUnavailable)
}

// snippet shortens s to about n bytes on one line, for error messages.
func snippet(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !isRuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }
