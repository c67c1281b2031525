package microsoft

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/sessionbot/sessionbot/vendors"
	"github.com/sessionbot/sessionbot/vendors/internal/capacity"
	"github.com/sessionbot/sessionbot/vendors/internal/httpx"
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
	http   *httpx.Client
	base   *url.URL // GraphURL
	tokens *tokenCache
	users  *userCache
	// slots bound the requests to Graph at once to max_connections. The
	// token fetch takes none: every holder may be waiting for it.
	slots *capacity.Slots
}

func newGraphClient(cfg Config, logger *slog.Logger, clock func() time.Time) (*graphClient, error) {
	base, err := url.Parse(cfg.GraphURL)
	if err != nil {
		return nil, fmt.Errorf("graph_url: %w", err)
	}
	var tlsConfig *tls.Config
	if cfg.CAFile != "" {
		pool, p := httpx.LoadCA(cfg.CAFile, "")
		if len(p) > 0 {
			return nil, p
		}
		tlsConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	conns, queueWait, _ := capacity.Check(cfg.MaxConnections, cfg.QueueWait) // checked by New
	transport := httpx.Transport(tlsConfig, cfg.RequestTimeout, conns)
	// Graph is on the internet, often behind a proxy, and speaks HTTP/2.
	transport.Proxy = http.ProxyFromEnvironment
	transport.ForceAttemptHTTP2 = true
	client := httpx.NoRedirects(transport)
	cc := &clientcredentials.Config{
		ClientID:     cfg.ClientID,
		ClientSecret: cfg.ClientSecret,
		TokenURL:     cfg.LoginURL + url.PathEscape(cfg.TenantID) + "/oauth2/v2.0/token",
		Scopes:       []string{GraphScope},
		// Microsoft documents the secret as a form field (client_secret_post).
		AuthStyle: oauth2.AuthStyleInParams,
	}
	g := &graphClient{
		cfg:    cfg,
		logger: logger,
		clock:  clock,
		base:   base,
		tokens: newTokenCache(cc, client, 0),
		users:  &userCache{byUPN: map[string]cachedUser{}},
		slots:  capacity.New(conns, queueWait, "connections to Graph"),
	}
	g.http = &httpx.Client{
		HTTP:       client,
		Timeout:    cfg.RequestTimeout,
		TimeoutKey: "request_timeout",
		MaxBody:    maxBody,
		Logger:     logger,
		Secrets:    func() []string { return []string{cfg.ClientSecret} },
		Detail:     detail,
		Hint:       hint,
		Retry:      httpx.Retry{Max: cfg.MaxRetries, MaxWait: cfg.MaxRetryWait},
		Now:        clock,
	}
	return g, nil
}

func (g *graphClient) host() string { return g.base.Host }

func (g *graphClient) close(context.Context) error {
	g.http.HTTP.CloseIdleConnections()
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

// detail is what Graph says in an error answer; "" when it is not Graph's.
func detail(body []byte) string {
	var ge graphError
	if json.Unmarshal(body, &ge) != nil || (ge.Error.Code == "" && ge.Error.Message == "") {
		return ""
	}
	return "Graph says " + strings.Join(nonEmpty(ge.Error.Code, firstLine(ge.Error.Message)), ": ")
}

// hint says what a failure means for Graph.
func hint(e *httpx.Error) string {
	switch e.Kind {
	case httpx.Unauthorized:
		return "Graph refused the app's token"
	case httpx.RateLimited:
		return "Graph is throttling"
	case httpx.Server:
		return "Graph is failing"
	case httpx.BadRequest:
		return "Graph refused the request"
	}
	return ""
}

// call sends one request to Graph with the app token and decodes a JSON
// answer into out (nil: ignore the body). Throttling is retried as
// httpx.Retry says; a 401 drops the token and tries once more with a fresh
// one. perm names the permission a 403 means is missing.
func (g *graphClient) call(ctx context.Context, method, rawURL, perm string, out any) error {
	resp, err := g.http.Call(ctx, httpx.Request{
		Method: method,
		URL:    rawURL,
		Auth:   appToken{g},
		Hint: func(e *httpx.Error) string {
			if e.Kind == httpx.Forbidden {
				return "the app lacks the application permission " + perm + " (grant it and give admin consent)"
			}
			return ""
		},
	})
	if err != nil {
		return err
	}
	if out == nil {
		return nil
	}
	return g.http.Decode(resp, out)
}

// appToken is the app's bearer token; a refused one is dropped once.
type appToken struct{ g *graphClient }

func (a appToken) Apply(ctx context.Context, h http.Header) (string, error) {
	tok, err := a.g.tokens.token(ctx)
	if err != nil {
		return "", a.g.tokenError(err)
	}
	h.Set("Authorization", "Bearer "+tok)
	return tok, nil
}

func (a appToken) Renew(_ context.Context, refused string) error {
	a.g.tokens.invalidate(refused)
	return nil
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
		return fmt.Errorf("the next page link Graph sent is not a URL: %w", vendors.ErrBadAnswer)
	}
	if !strings.EqualFold(u.Scheme, g.base.Scheme) || !strings.EqualFold(u.Host, g.base.Host) || !strings.HasPrefix(u.Path, g.base.Path) {
		return fmt.Errorf("the next page link Graph sent points to %s://%s%s, outside %s: not followed: %w", u.Scheme, u.Host, u.Path, g.cfg.GraphURL, vendors.ErrBadAnswer)
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
