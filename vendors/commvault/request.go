package commvault

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/url"

	"github.com/sessionbot/sessionbot/vendors/internal/httpx"
)

// maxAnswer bounds what one answer may hold: the user list of a large
// CommCell is a few megabytes.
const maxAnswer = 32 << 20

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
}

// newHTTP is the shared transport set up for Commvault's web service.
func (in *Instance) newHTTP() *httpx.Client {
	return &httpx.Client{
		HTTP:       httpx.NoRedirects(in.transport),
		Timeout:    in.s.timeout,
		TimeoutKey: "request_timeout",
		MaxBody:    maxAnswer,
		Logger:     in.logger,
		Secrets: func() []string {
			return []string{in.s.password, base64.StdEncoding.EncodeToString([]byte(in.s.password))}
		},
		Detail: func(body []byte) string {
			if e, ok := apiErrorOf(answer{body: body}); ok {
				return e.Error()
			}
			return ""
		},
		Hint: in.hint,
	}
}

// hint says what to check in Commvault's terms.
func (in *Instance) hint(e *httpx.Error) string {
	switch {
	case e.Kind == httpx.Forbidden:
		return "the bot's Commvault user " + in.s.who() + " lacks a role with View/Add/Delete/Modify User"
	case e.Kind == httpx.Unauthorized && e.Relogged:
		return "is " + in.s.who() + " allowed to use the REST API?"
	case e.Kind == httpx.Garbage && e.Status >= 300 && e.Status < 400:
		return "is url the web service base (https://host/webconsole/api)?"
	}
	return ""
}

// call sends r with the shared token and returns a 2xx answer. A 401 means
// the token expired: it logs in again, once for every caller that saw the
// same token refused, and retries once.
func (in *Instance) call(ctx context.Context, r request) (answer, error) {
	resp, err := in.http.Call(ctx, in.httpRequest(r, tokenAuth{in}, ""))
	if err != nil {
		return answer{}, err
	}
	return answerOf(resp), nil
}

// exchange makes one request, with token in the Authtoken header when it
// is set, and returns whatever answer came. Errors are failures to get one.
func (in *Instance) exchange(ctx context.Context, r request, token string) (answer, error) {
	resp, err := in.http.Send(ctx, in.httpRequest(r, nil, token))
	if err != nil {
		return answer{}, err
	}
	return answerOf(resp), nil
}

func (in *Instance) httpRequest(r request, auth httpx.Auth, token string) httpx.Request {
	target := in.s.base + r.path
	if len(r.query) > 0 {
		target += "?" + r.query.Encode()
	}
	h := http.Header{}
	if r.accept != "" {
		h.Set("Accept", r.accept)
	}
	if r.contentType != "" {
		h.Set("Content-Type", r.contentType)
	}
	if token != "" {
		h.Set("Authtoken", token)
	}
	return httpx.Request{Method: r.method, URL: target, Path: r.path, Header: h, Body: r.body, Auth: auth}
}

func answerOf(resp httpx.Response) answer {
	return answer{status: resp.Status, body: resp.Body, contentType: resp.Header.Get("Content-Type")}
}

// statusError says what a status other than 2xx means; nil for 2xx. token
// is kept out of anything quoted from the answer.
func (in *Instance) statusError(a answer, token string) error {
	if a.status >= 200 && a.status < 300 {
		return nil
	}
	return in.http.StatusError(httpx.Request{}, a.response(), token)
}

func (a answer) response() httpx.Response {
	return httpx.Response{Status: a.status, Header: http.Header{"Content-Type": {a.contentType}}, Body: a.body}
}

// tokenAuth sends the shared login token and logs in again when the web
// service refuses it.
type tokenAuth struct{ in *Instance }

func (a tokenAuth) Apply(ctx context.Context, h http.Header) (string, error) {
	t, err := a.in.tokens.get(ctx)
	if err != nil {
		return "", &loginError{err}
	}
	h.Set("Authtoken", t.value)
	return t.value, nil
}

func (a tokenAuth) Renew(ctx context.Context, refused string) error {
	if _, err := a.in.tokens.renew(ctx, token{value: refused}); err != nil {
		return &loginError{err}
	}
	return nil
}
