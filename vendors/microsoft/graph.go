package microsoft

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/sessionbot/sessionbot/vendors"
)

// GraphScope asks for the app's application permissions on Graph.
const GraphScope = "https://graph.microsoft.com/.default"

// Permissions Graph wants for each operation, named in 403 errors.
const (
	permUsers       = "User.Read.All"
	permCallRecords = "CallRecords.Read.All"
	permRevoke      = "User.RevokeSessions.All or User.ReadWrite.All"
)

const (
	// maxBody bounds one Graph answer read into memory.
	maxBody = 32 << 20
	// tokenTimeout bounds one token request, which runs apart from the
	// request that needed it so that its result can serve the next one.
	tokenTimeout = 30 * time.Second
	// userCacheTTL is how long a UPN's object id is remembered.
	userCacheTTL = 5 * time.Minute
	// maxPages stops a next link loop that never ends.
	maxPages = 500
)

// graphClient talks to Microsoft Graph for one tenant with one shared
// http.Client, so connections are reused across calls.
type graphClient struct {
	cfg    Config
	logger *slog.Logger
	clock  func() time.Time
	http   *http.Client
	base   *url.URL // GraphURL
	tokens *tokenCache
	users  *userCache
	// wait sleeps before a retry; tests replace it to record waits.
	wait func(ctx context.Context, d time.Duration) error
}

func newGraphClient(cfg Config, logger *slog.Logger, clock func() time.Time) (*graphClient, error) {
	base, err := url.Parse(cfg.GraphURL)
	if err != nil {
		return nil, fmt.Errorf("graph_url: %w", err)
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConnsPerHost = cfg.MaxConcurrency + 2
	if cfg.CAFile != "" {
		pool, err := loadCAs(cfg.CAFile)
		if err != nil {
			return nil, err
		}
		transport.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	client := &http.Client{Transport: transport}
	cc := &clientcredentials.Config{
		ClientID:     cfg.ClientID,
		ClientSecret: cfg.ClientSecret,
		TokenURL:     cfg.LoginURL + url.PathEscape(cfg.TenantID) + "/oauth2/v2.0/token",
		Scopes:       []string{GraphScope},
		// Microsoft documents the secret as a form field (client_secret_post).
		AuthStyle: oauth2.AuthStyleInParams,
	}
	return &graphClient{
		cfg:    cfg,
		logger: logger,
		clock:  clock,
		http:   client,
		base:   base,
		tokens: newTokenCache(cc, client, 0),
		users:  &userCache{byUPN: map[string]cachedUser{}},
		wait:   sleepCtx,
	}, nil
}

// loadCAs adds the PEM certificates in path to the system roots.
func loadCAs(path string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("ca_file: %w", err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("ca_file %s: no PEM certificate in it", path)
	}
	return pool, nil
}

func (g *graphClient) host() string { return g.base.Host }

func (g *graphClient) close(context.Context) error {
	g.http.CloseIdleConnections()
	return nil
}

// tokenCache hands out one app token per lifetime. oauth2.ReuseTokenSource
// does the caching; a token Graph rejects before its time (clock skew, a
// rotated key) is dropped once so the next call fetches a fresh one.
type tokenCache struct {
	fetch oauth2.TokenSource
	early time.Duration

	mu   sync.Mutex
	src  oauth2.TokenSource
	last string
}

func newTokenCache(cc *clientcredentials.Config, client *http.Client, early time.Duration) *tokenCache {
	f := fetcher{cc: cc, ctx: context.WithValue(context.Background(), oauth2.HTTPClient, client)}
	return &tokenCache{fetch: f, early: early, src: oauth2.ReuseTokenSourceWithExpiry(nil, f, early)}
}

// fetcher asks the token endpoint every time; tokenCache wraps it.
type fetcher struct {
	cc  *clientcredentials.Config
	ctx context.Context
}

func (f fetcher) Token() (*oauth2.Token, error) {
	ctx, cancel := context.WithTimeout(f.ctx, tokenTimeout)
	defer cancel()
	return f.cc.Token(ctx)
}

// token returns a valid access token, giving up when ctx ends (a fetch under
// way still finishes and serves the next caller).
func (c *tokenCache) token(ctx context.Context) (string, error) {
	c.mu.Lock()
	src := c.src
	c.mu.Unlock()
	type result struct {
		t   *oauth2.Token
		err error
	}
	done := make(chan result, 1)
	go func() {
		t, err := src.Token()
		done <- result{t, err}
	}()
	select {
	case r := <-done:
		if r.err != nil {
			return "", r.err
		}
		c.mu.Lock()
		c.last = r.t.AccessToken
		c.mu.Unlock()
		return r.t.AccessToken, nil
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// invalidate drops the cached token if it is still the one Graph rejected.
func (c *tokenCache) invalidate(rejected string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.last == rejected {
		c.src = oauth2.ReuseTokenSourceWithExpiry(nil, c.fetch, c.early)
		c.last = ""
	}
}

// tokenError says why the login endpoint refused, without the secret.
func (g *graphClient) tokenError(err error) error {
	host := hostOf(g.cfg.LoginURL)
	var re *oauth2.RetrieveError
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("microsoft login %s: get a token: no answer in time: %w", host, vendors.ErrTimeout)
	case errors.Is(err, context.Canceled):
		return fmt.Errorf("microsoft login %s: get a token: %w", host, err)
	case errors.As(err, &re):
		status := ""
		if re.Response != nil {
			status = re.Response.Status + ": "
		}
		desc := firstLine(re.ErrorDescription)
		if desc == "" && re.ErrorCode == "" {
			desc = "the answer is not an OAuth token"
		}
		var hint string
		sentinel := vendors.ErrUnauthorized
		switch re.ErrorCode {
		case "invalid_client", "unauthorized_client":
			hint = "check client_id and client_secret (an expired secret is refused too)"
		case "invalid_request", "invalid_tenant":
			hint = "check tenant_id"
			sentinel = vendors.ErrInvalidInput
		case "invalid_scope":
			hint = "the app cannot ask for " + GraphScope
			sentinel = vendors.ErrInvalidInput
		default:
			if re.Response != nil && re.Response.StatusCode >= 500 {
				sentinel = vendors.ErrUnavailable
			}
		}
		msg := strings.TrimSpace(strings.Join(nonEmpty(re.ErrorCode, desc), ": "))
		if hint != "" {
			msg += "; " + hint
		}
		return g.scrub(fmt.Errorf("microsoft login %s: get a token for client %s: %s%s: %w", host, g.cfg.ClientID, status, msg, sentinel))
	default:
		return g.scrub(fmt.Errorf("microsoft login %s: get a token: %v: %w", host, err, vendors.ErrUnavailable))
	}
}

// scrub removes the client secret from an error's text, whatever put it
// there, keeping what it wraps.
func (g *graphClient) scrub(err error) error {
	if err == nil || g.cfg.ClientSecret == "" || !strings.Contains(err.Error(), g.cfg.ClientSecret) {
		return err
	}
	return &scrubbed{msg: strings.ReplaceAll(err.Error(), g.cfg.ClientSecret, "[redacted]"), err: err}
}

type scrubbed struct {
	msg string
	err error
}

func (s *scrubbed) Error() string { return s.msg }
func (s *scrubbed) Unwrap() error { return s.err }

// graphError is Graph's error body.
type graphError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// call sends one request to Graph with the app token and decodes a JSON
// answer into out (nil: ignore the body). Throttling (429, 503) is retried
// up to MaxRetries times after the Retry-After Graph asks for; a 401 drops
// the token and tries once more with a fresh one. perm names the permission
// a 403 means is missing.
func (g *graphClient) call(ctx context.Context, method, rawURL, perm string, out any) error {
	refreshed := false
	for retry := 0; ; {
		tok, err := g.tokens.token(ctx)
		if err != nil {
			return g.tokenError(err)
		}
		req, err := http.NewRequestWithContext(ctx, method, rawURL, nil)
		if err != nil {
			return fmt.Errorf("build request: %w", err)
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Accept", "application/json")
		started := time.Now()
		resp, err := g.http.Do(req)
		if err != nil {
			return transportError(ctx, err)
		}
		body, readErr := io.ReadAll(io.LimitReader(resp.Body, maxBody))
		_, _ = io.Copy(io.Discard, resp.Body) // lets the connection be reused
		resp.Body.Close()
		g.logger.Debug("graph request", "method", method, "path", req.URL.Path, "status", resp.StatusCode, "took", time.Since(started))
		if readErr != nil {
			return transportError(ctx, readErr)
		}
		switch code := resp.StatusCode; {
		case code >= 200 && code < 300:
			if out == nil || len(body) == 0 {
				return nil
			}
			if err := json.Unmarshal(body, out); err != nil {
				return fmt.Errorf("%s: the answer is not the JSON Graph sends (%v): %w", resp.Status, err, vendors.ErrBadAnswer)
			}
			return nil
		case code == http.StatusUnauthorized && !refreshed:
			refreshed = true
			g.tokens.invalidate(tok)
			continue
		case code == http.StatusTooManyRequests || code == http.StatusServiceUnavailable:
			wait := retryAfter(resp.Header.Get("Retry-After"), retry, g.clock())
			if wait > g.cfg.MaxRetryWait {
				wait = g.cfg.MaxRetryWait
			}
			if retry >= g.cfg.MaxRetries {
				return fmt.Errorf("%s: Graph is throttling; gave up after %d retries (try again in a few minutes): %w", resp.Status, retry, vendors.ErrUnavailable)
			}
			if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < wait {
				return fmt.Errorf("%s: Graph is throttling and asks to wait %s, longer than the time left: %w", resp.Status, wait, vendors.ErrTimeout)
			}
			g.logger.Info("graph is throttling; waiting", "status", code, "wait", wait, "retry", retry+1)
			if err := g.wait(ctx, wait); err != nil {
				return transportError(ctx, err)
			}
			retry++
			continue
		default:
			return statusError(resp, body, perm)
		}
	}
}

// statusError turns a Graph error answer into words and a shared sentinel.
func statusError(resp *http.Response, body []byte, perm string) error {
	var ge graphError
	detail := ""
	if json.Unmarshal(body, &ge) == nil && (ge.Error.Code != "" || ge.Error.Message != "") {
		detail = " (Graph says " + strings.Join(nonEmpty(ge.Error.Code, firstLine(ge.Error.Message)), ": ") + ")"
	}
	switch code := resp.StatusCode; {
	case code == http.StatusUnauthorized:
		return fmt.Errorf("%s: Graph refused the app's token%s: %w", resp.Status, detail, vendors.ErrUnauthorized)
	case code == http.StatusForbidden:
		return fmt.Errorf("%s: the app lacks the application permission %s (grant it and give admin consent)%s: %w", resp.Status, perm, detail, vendors.ErrForbidden)
	case code == http.StatusNotFound:
		return fmt.Errorf("%s%s: %w", resp.Status, detail, vendors.ErrNotFound)
	case code == http.StatusBadRequest:
		return fmt.Errorf("%s: Graph refused the request%s: %w", resp.Status, detail, vendors.ErrInvalidInput)
	case code >= 500:
		return fmt.Errorf("%s: Graph is failing%s: %w", resp.Status, detail, vendors.ErrUnavailable)
	default:
		return fmt.Errorf("%s: unexpected answer%s: %w", resp.Status, detail, vendors.ErrBadAnswer)
	}
}

// transportError names a failure to reach Graph.
func transportError(ctx context.Context, err error) error {
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded) || ctx.Err() == context.DeadlineExceeded:
		return fmt.Errorf("no answer in time: %w", vendors.ErrTimeout)
	case errors.Is(err, context.Canceled):
		return err
	case errors.As(err, &ne) && ne.Timeout():
		return fmt.Errorf("no answer in time: %v: %w", err, vendors.ErrTimeout)
	default:
		return fmt.Errorf("cannot reach Graph: %v: %w", err, vendors.ErrUnavailable)
	}
}

// retryAfter reads Retry-After (seconds or an HTTP date); without one it
// backs off 1, 2, 4... seconds.
func retryAfter(h string, retry int, now time.Time) time.Duration {
	h = strings.TrimSpace(h)
	if secs, err := strconv.Atoi(h); err == nil && secs >= 0 {
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(h); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
		return 0
	}
	return time.Second << min(retry, 5)
}

// sleepCtx waits d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// endpoint is a Graph URL below GraphURL; path must already be escaped.
func (g *graphClient) endpoint(path, rawQuery string) string {
	if rawQuery == "" {
		return g.cfg.GraphURL + path
	}
	return g.cfg.GraphURL + path + "?" + rawQuery
}

// checkNextLink refuses a next page link that leaves the configured Graph:
// the token must not be sent anywhere else.
func (g *graphClient) checkNextLink(link string) error {
	u, err := url.Parse(link)
	if err != nil {
		return fmt.Errorf("Graph sent a next page link that is not a URL: %w", vendors.ErrBadAnswer)
	}
	if !strings.EqualFold(u.Scheme, g.base.Scheme) || !strings.EqualFold(u.Host, g.base.Host) || !strings.HasPrefix(u.Path, g.base.Path) {
		return fmt.Errorf("Graph sent a next page link to %s://%s%s, outside %s: not followed: %w", u.Scheme, u.Host, u.Path, g.cfg.GraphURL, vendors.ErrBadAnswer)
	}
	return nil
}

// queryValue escapes a query value with %20 for spaces, as Graph's own
// examples are sent.
func queryValue(s string) string { return strings.ReplaceAll(url.QueryEscape(s), "+", "%20") }

func hostOf(raw string) string {
	if u, err := url.Parse(raw); err == nil && u.Host != "" {
		return u.Host
	}
	return raw
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		s = strings.TrimSpace(s[:i])
	}
	return s
}

func nonEmpty(parts ...string) []string {
	var out []string
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	return out
}
