// Package httpx is the HTTP plumbing every HTTP vendor adapter shares:
// the client, one request with its deadline, the answer size limit, the
// status and transport errors in the same words for every vendor, secrets
// kept out of what is quoted, and one retry policy. An adapter keeps only
// its configuration, its wire types and its operations.
package httpx

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/sessionbot/sessionbot/vendors"
)

// Client sends requests to one vendor instance. Set the fields before the
// first request; it is then safe for concurrent use.
type Client struct {
	HTTP *http.Client
	// Timeout bounds one request (each try of it); zero leaves only the
	// caller's deadline. TimeoutKey is the setting that holds it, named
	// when it runs out.
	Timeout    time.Duration
	TimeoutKey string
	// MaxBody bounds a 2xx answer; past it the request fails as TooLarge.
	// Zero means DefaultMaxBody.
	MaxBody int64
	// Logger gets one debug line per request: method, path, status and
	// duration, never headers or bodies.
	Logger *slog.Logger
	// Secrets are kept out of every quoted answer (with their URL- and
	// JSON-escaped forms).
	Secrets func() []string
	// Detail picks the vendor's own words out of an error answer; nil or
	// "" falls back to the start of the body.
	Detail func(body []byte) string
	// Hint says what to check for an error, in the vendor's terms ("is
	// cert_file exported from this site's QMC?"); "" for none.
	Hint func(e *Error) string
	// Retry is the retry policy.
	Retry Retry
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Auth puts credentials on a request, for vendors with a login token.
type Auth interface {
	// Apply sets the credentials on h and returns the token used, which is
	// redacted from answers and handed back to Renew.
	Apply(ctx context.Context, h http.Header) (token string, err error)
	// Renew is called once when token was refused (401), so that the
	// request can be tried again with a fresh one.
	Renew(ctx context.Context, token string) error
}

// Request is one call.
type Request struct {
	Method string
	URL    string
	// Path is what the debug log shows; the URL's path when empty. Never
	// put a secret in it.
	Path   string
	Header http.Header
	Body   []byte
	// Auth, when set, logs in and renews a refused token once.
	Auth Auth
	// Hint adds to the client's hint for this request ("the app lacks
	// CallRecords.Read.All").
	Hint func(e *Error) string
}

// Response is an answer, whatever its status.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// OK reports a 2xx status.
func (r Response) OK() bool { return r.Status >= 200 && r.Status < 300 }

// Call sends r and returns a 2xx answer, trying again as the retry policy
// says and once with a fresh token after a 401. Any other outcome is an
// error (an *Error, or the cancelled context).
func (c *Client) Call(ctx context.Context, r Request) (Response, error) {
	relogged := false
	var tokens []string // every token sent, all kept out of the answer quoted
	for try := 0; ; try++ {
		resp, token, err := c.send(ctx, r)
		if err != nil {
			return Response{}, err
		}
		tokens = append(tokens, token)
		if resp.OK() {
			return resp, nil
		}
		if resp.Status == http.StatusUnauthorized && r.Auth != nil && !relogged {
			if c.Logger != nil {
				c.Logger.Debug("token refused; logging in again", "path", r.logPath())
			}
			if err := r.Auth.Renew(ctx, token); err != nil {
				return Response{}, err
			}
			relogged = true
			continue
		}
		if wait, ok := c.Retry.after(r.Method, resp, try, c.now()); ok {
			if deadline, has := ctx.Deadline(); has && deadline.Sub(c.now()) < wait {
				e := c.StatusError(r, resp, tokens...)
				e.Kind = Timeout // waiting would run out the caller's time
				e.Hint = strings.Join(nonEmpty(e.Hint, fmt.Sprintf("asked to wait %s, longer than the time left", wait)), "; ")
				return Response{}, e
			}
			if c.Logger != nil {
				c.Logger.Info("server is throttling; waiting", "status", resp.Status, "wait", wait, "retry", try+1)
			}
			if err := c.Retry.wait(ctx, wait); err != nil {
				return Response{}, c.transportError(ctx, err, c.now())
			}
			continue
		}
		e := c.StatusError(r, resp, tokens...)
		e.Relogged = relogged && resp.Status == http.StatusUnauthorized
		if e.Relogged {
			e.Hint = strings.Join(nonEmpty("refused right after a fresh login", e.Hint), "; ")
		}
		if resp.Status == http.StatusTooManyRequests || resp.Status == http.StatusServiceUnavailable {
			if try > 0 {
				e.Hint = strings.Join(nonEmpty(e.Hint, fmt.Sprintf("gave up after %d retries; try again in a few minutes", try)), "; ")
			}
		}
		return Response{}, e
	}
}

// Send makes one try of r and returns whatever answer came, with no retry
// and no status check: for answers the vendor reads itself (a login that
// answers 200 with an error list).
func (c *Client) Send(ctx context.Context, r Request) (Response, error) {
	resp, _, err := c.send(ctx, r)
	return resp, err
}

func (c *Client) send(ctx context.Context, r Request) (Response, string, error) {
	if c.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, c.Timeout, errRequestTimeout)
		defer cancel()
	}
	var body io.Reader
	if r.Body != nil {
		body = bytes.NewReader(r.Body)
	}
	req, err := http.NewRequestWithContext(ctx, r.Method, r.URL, body)
	if err != nil {
		return Response{}, "", fmt.Errorf("build request %s %s: %w", r.Method, r.logPath(), err)
	}
	for k, v := range r.Header {
		req.Header[k] = v
	}
	if req.Header.Get("Accept") == "" {
		req.Header.Set("Accept", "application/json")
	}
	req.Header.Set("User-Agent", "sessionbot")
	var token string
	if r.Auth != nil {
		if token, err = r.Auth.Apply(ctx, req.Header); err != nil {
			return Response{}, "", err
		}
	}

	started := c.now()
	resp, err := c.HTTP.Do(req)
	if err != nil {
		err = c.transportError(ctx, err, started)
		if e, ok := err.(*Error); ok {
			e.Hint = c.hint(r, e)
		}
		if c.debug(ctx) {
			c.Logger.Debug("request", "method", r.Method, "path", r.logPath(), "err", err)
		}
		return Response{}, "", err
	}
	defer resp.Body.Close()
	limit := c.maxBody()
	if resp.StatusCode < 200 || resp.StatusCode >= 300 {
		limit = errorBodyLimit // only its start is quoted
	}
	if c.debug(ctx) {
		c.Logger.Debug("request", "method", r.Method, "path", r.logPath(), "status", resp.StatusCode, "elapsed", c.now().Sub(started).Round(time.Millisecond))
	}
	if resp.ContentLength > limit && limit == c.maxBody() {
		return Response{}, "", c.tooLarge(r, resp.StatusCode) // said before it is sent: not worth waiting for
	}
	data, err := readBody(resp, limit)
	if err != nil {
		return Response{}, "", fmt.Errorf("reading the answer: %w", c.transportError(ctx, err, started))
	}
	if ctx.Err() != nil {
		// The answer came as we gave up on it: it counts as no answer.
		return Response{}, "", c.transportError(ctx, ctx.Err(), started)
	}
	if int64(len(data)) > limit {
		if limit == c.maxBody() {
			// Not drained: closing drops the connection, which is cheaper
			// than reading on.
			return Response{}, "", c.tooLarge(r, resp.StatusCode)
		}
		data = data[:limit]
	}
	return Response{Status: resp.StatusCode, Header: resp.Header, Body: data}, token, nil
}

func (c *Client) tooLarge(r Request, status int) *Error {
	e := &Error{Kind: TooLarge, Status: status, What: fmt.Sprintf("answer too large (over %s)", size(c.maxBody()))}
	e.Hint = c.hint(r, e)
	return e
}

// errorBodyLimit is what is read of an error answer: enough to quote.
const errorBodyLimit = 4 << 10

// debug reports whether the per-request debug line is logged: when it is
// not, its attributes are not even built.
func (c *Client) debug(ctx context.Context) bool {
	return c.Logger != nil && c.Logger.Enabled(ctx, slog.LevelDebug)
}

// readBody reads up to limit+1 bytes of an answer, in one buffer sized
// from Content-Length when the server sent one.
func readBody(resp *http.Response, limit int64) ([]byte, error) {
	if resp.ContentLength < 0 || resp.ContentLength > limit {
		return io.ReadAll(io.LimitReader(resp.Body, limit+1))
	}
	// bytes.MinRead spare, so reading the end of the body needs no growth.
	buf := bytes.NewBuffer(make([]byte, 0, resp.ContentLength+bytes.MinRead))
	_, err := buf.ReadFrom(io.LimitReader(resp.Body, limit+1))
	return buf.Bytes(), err
}

func (r Request) logPath() string {
	if r.Path != "" {
		return r.Path
	}
	if u, err := url.Parse(r.URL); err == nil {
		return u.EscapedPath()
	}
	return ""
}

// StatusError says what a status other than 2xx means; tokens are
// redacted along with the client's secrets.
func (c *Client) StatusError(r Request, resp Response, tokens ...string) *Error {
	e := &Error{
		Kind:   statusKind(resp.Status),
		Status: resp.Status,
		What:   fmt.Sprintf("%d %s", resp.Status, http.StatusText(resp.Status)),
	}
	switch {
	case resp.Status >= 300 && resp.Status < 400:
		e.Detail = "redirected"
		if loc := resp.Header.Get("Location"); loc != "" {
			e.Detail += " to " + Snippet(c.Redact(loc, tokens...), 200)
		}
	case isHTML(resp):
		e.Detail = "an HTML page"
	default:
		var said string
		if c.Detail != nil {
			said = c.Detail(resp.Body)
		}
		if said == "" {
			said = string(resp.Body)
		}
		// Redacted before it is cut: a cut secret would no longer match.
		e.Detail = Snippet(c.Redact(said, tokens...), 200)
		if e.Kind == Server && said == string(resp.Body) {
			// A raw body (a stack trace, often): its first line for a
			// person, the rest for the debug log.
			e.Detail = vendors.Summary(c.Redact(said, tokens...), 100)
			e.Full = Snippet(c.Redact(said, tokens...), 2000)
		}
		if strings.EqualFold(e.Detail, http.StatusText(resp.Status)) {
			e.Detail = "" // says nothing the status did not
		}
	}
	if e.Kind == Garbage && !(resp.Status >= 300 && resp.Status < 400) {
		e.What = "unexpected " + e.What
	}
	e.Hint = c.hint(r, e)
	return e
}

func (c *Client) hint(r Request, e *Error) string {
	var own, req string
	if c.Hint != nil {
		own = c.Hint(e)
	}
	if r.Hint != nil {
		req = r.Hint(e)
	}
	return strings.Join(nonEmpty(req, own), "; ")
}

// BadAnswer is an answer that is not what the vendor's API sends, for
// adapters that read other formats than JSON.
func BadAnswer(what, hint string) error {
	return &Error{Kind: Garbage, What: what, Hint: hint}
}

// Decode reads a 2xx answer as JSON into v, and says so plainly when it is
// a web page (a wrong port) or broken JSON. An empty body leaves v alone.
func (c *Client) Decode(resp Response, v any) error {
	trimmed := bytes.TrimSpace(resp.Body)
	if len(trimmed) == 0 {
		return nil
	}
	e := &Error{Kind: Garbage, Status: resp.Status}
	switch {
	case isHTML(resp):
		e.What = "answered HTML, not JSON"
	default:
		err := json.Unmarshal(trimmed, v)
		if err == nil {
			return nil
		}
		e.What = fmt.Sprintf("answered invalid JSON (%s)", Snippet(err.Error(), 120))
	}
	e.Hint = c.hint(Request{}, e)
	return e
}

func isHTML(resp Response) bool {
	return strings.Contains(strings.ToLower(resp.Header.Get("Content-Type")), "html") ||
		bytes.HasPrefix(bytes.TrimSpace(resp.Body), []byte("<!")) ||
		bytes.HasPrefix(bytes.ToLower(bytes.TrimSpace(resp.Body)), []byte("<html"))
}

// Redact replaces the client's secrets and extra in s, in every form an
// answer might echo them: as sent, URL-escaped, JSON-escaped.
func (c *Client) Redact(s string, extra ...string) string {
	var secrets []string
	if c.Secrets != nil {
		secrets = c.Secrets()
	}
	return Redact(s, append(secrets, extra...)...)
}

// DefaultMaxBody is the answer size limit of a Client that sets none.
const DefaultMaxBody = 32 << 20

func (c *Client) maxBody() int64 {
	if c.MaxBody > 0 {
		return c.MaxBody
	}
	return DefaultMaxBody
}

func (c *Client) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}
