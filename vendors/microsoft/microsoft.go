// Package microsoft is the adapter for Microsoft Teams and Skype for Business
// Online call history (vendor types "teams" and "skype"). It lists the calls
// one person took part in during a time window, through one of two backends:
//
//   - graph: the Microsoft Graph call records API over HTTPS with an app's
//     client credentials. It can also revoke a person's sign-in sessions.
//   - powershell: a long-lived pwsh worker that runs Get-CsUserSession, for
//     tenants that still use it.
//
// Call records are history, not live logins: a "session" here is one call
// session, and nothing can be ended one by one.
package microsoft

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/sessionbot/sessionbot/vendors"
	"github.com/sessionbot/sessionbot/vendors/internal/capacity"
	"github.com/sessionbot/sessionbot/vendors/internal/httpx"
)

// Backends.
const (
	BackendGraph      = "graph"
	BackendPowerShell = "powershell"
)

// Defaults applied by New to zero fields.
const (
	DefaultLoginURL       = "https://login.microsoftonline.com/"
	DefaultGraphURL       = "https://graph.microsoft.com/v1.0/"
	DefaultMaxConcurrency = 4
	DefaultMaxRetries     = 3
	DefaultMaxRetryWait   = 30 * time.Second
	DefaultPwsh           = "pwsh"
	DefaultRequestTimeout = 60 * time.Second
	// A cold pwsh importing MicrosoftTeams and connecting takes tens of seconds.
	DefaultStartTimeout = 2 * time.Minute
)

// Lookback is how long Microsoft keeps call records and Get-CsUserSession
// history.
const Lookback = 30 * 24 * time.Hour

// DefaultWindow is the window of a query that names none.
const DefaultWindow = vendors.DefaultWindow

// futureSlack tolerates clocks a little apart: an until up to this far ahead
// is taken as now.
const futureSlack = time.Minute

// Config is one Teams or Skype instance's settings.
type Config struct {
	Name string       `mapstructure:"-"`
	Type vendors.Type `mapstructure:"-"`

	// Backend is "graph" (the default) or "powershell".
	Backend string `mapstructure:"backend"`
	// TenantID is the Entra ID tenant (directory) id, for both backends.
	TenantID string `mapstructure:"tenant_id"`

	// Graph backend.
	ClientID string `mapstructure:"client_id"`
	// ClientSecret is resolved by the caller from the environment or a file.
	// It is never logged.
	ClientSecret   string        `mapstructure:"client_secret"`
	LoginURL       string        `mapstructure:"login_url"`
	GraphURL       string        `mapstructure:"graph_url"`
	MaxConcurrency int           `mapstructure:"max_concurrency"`
	MaxRetries     int           `mapstructure:"max_retries"` // negative: never retry
	MaxRetryWait   time.Duration `mapstructure:"max_retry_wait"`
	CAFile         string        `mapstructure:"ca_file"`
	// MaxConnections bounds the requests to Graph at once (a list holds
	// one, and reads call records on more while they are free); lists
	// past it wait their turn. QueueWait bounds that wait: past it Graph
	// counts as busy, which is said at once rather than as a timeout later.
	MaxConnections int           `mapstructure:"max_connections"`
	QueueWait      time.Duration `mapstructure:"queue_wait"`

	// PowerShell backend.
	Pwsh                  string        `mapstructure:"pwsh"`
	Script                string        `mapstructure:"script"`
	CertificateThumbprint string        `mapstructure:"certificate_thumbprint"`
	AppID                 string        `mapstructure:"app_id"`
	RequestTimeout        time.Duration `mapstructure:"request_timeout"`
	StartTimeout          time.Duration `mapstructure:"start_timeout"`
}

// String describes the config without its secret, so %v is safe in logs.
func (c Config) String() string {
	secret := ""
	if c.ClientSecret != "" {
		secret = "[redacted]"
	}
	return fmt.Sprintf("microsoft.Config{Name:%s Type:%s Backend:%s TenantID:%s ClientID:%s ClientSecret:%s LoginURL:%s GraphURL:%s AppID:%s Pwsh:%s}",
		c.Name, c.Type, c.Backend, c.TenantID, c.ClientID, secret, c.LoginURL, c.GraphURL, c.AppID, c.Pwsh)
}

// LogValue keeps the secret out of structured logs.
func (c Config) LogValue() slog.Value { return slog.StringValue(c.String()) }

// withDefaults fills zero fields.
func (c Config) withDefaults() Config {
	if c.Backend == "" {
		c.Backend = BackendGraph
	}
	c.Backend = strings.ToLower(c.Backend)
	if c.LoginURL == "" {
		c.LoginURL = DefaultLoginURL
	}
	if c.GraphURL == "" {
		c.GraphURL = DefaultGraphURL
	}
	c.LoginURL = withSlash(c.LoginURL)
	c.GraphURL = withSlash(c.GraphURL)
	if c.MaxConcurrency <= 0 {
		c.MaxConcurrency = DefaultMaxConcurrency
	}
	switch {
	case c.MaxRetries == 0:
		c.MaxRetries = DefaultMaxRetries
	case c.MaxRetries < 0:
		c.MaxRetries = 0
	}
	if c.MaxRetryWait <= 0 {
		c.MaxRetryWait = DefaultMaxRetryWait
	}
	if c.Pwsh == "" {
		c.Pwsh = DefaultPwsh
	}
	if c.RequestTimeout <= 0 {
		c.RequestTimeout = DefaultRequestTimeout
	}
	if c.StartTimeout <= 0 {
		c.StartTimeout = DefaultStartTimeout
	}
	return c
}

func withSlash(s string) string {
	if strings.HasSuffix(s, "/") {
		return s
	}
	return s + "/"
}

// otherBackendKeys lists the keys set (before defaults) that only the other
// backend reads, such as max_connections on a PowerShell instance. They
// are warned about (check shows it) rather than silently ignored; not
// refused, so a file that served before still starts.
func (c Config) otherBackendKeys() []string {
	type setting struct {
		key string
		set bool
	}
	graphOnly := []setting{
		{"client_id", c.ClientID != ""}, {"client_secret", c.ClientSecret != ""},
		{"login_url", c.LoginURL != ""}, {"graph_url", c.GraphURL != ""},
		{"max_concurrency", c.MaxConcurrency != 0}, {"max_retries", c.MaxRetries != 0},
		{"max_retry_wait", c.MaxRetryWait != 0}, {"ca_file", c.CAFile != ""},
		{"max_connections", c.MaxConnections != 0}, {"queue_wait", c.QueueWait != 0},
	}
	powerShellOnly := []setting{
		{"pwsh", c.Pwsh != ""}, {"script", c.Script != ""},
		{"certificate_thumbprint", c.CertificateThumbprint != ""}, {"app_id", c.AppID != ""},
		{"start_timeout", c.StartTimeout != 0},
	}
	keys := powerShellOnly
	switch strings.ToLower(c.Backend) {
	case "", BackendGraph:
	case BackendPowerShell:
		keys = graphOnly
	default:
		return nil // the unknown backend is the problem to report
	}
	var out []string
	for _, k := range keys {
		if k.set {
			out = append(out, k.key)
		}
	}
	return out
}

func otherBackend(backend string) string {
	if backend == BackendPowerShell {
		return BackendGraph
	}
	return BackendPowerShell
}

// problems lists everything wrong with a config that has its defaults.
func (c Config) problems() vendors.ConfigProblems {
	var out vendors.ConfigProblems
	missing := func(key, what string, value string) {
		if strings.TrimSpace(value) == "" {
			out.Add(key, "", what, "is not set")
		}
	}
	switch c.Backend {
	case BackendGraph:
		missing("tenant_id", "the Entra ID tenant (directory) id", c.TenantID)
		missing("client_id", "the app registration's application (client) id", c.ClientID)
		missing("client_secret", "set client_secret, client_secret_file, or SESSIONBOT_INSTANCES_<NAME>_CLIENT_SECRET", c.ClientSecret)
		for _, key := range []string{"graph_url", "login_url"} {
			raw := map[string]string{"login_url": c.LoginURL, "graph_url": c.GraphURL}[key]
			u, err := url.Parse(raw)
			if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
				out.Add(key, raw, "leave it out for Microsoft's global cloud", "is not an http(s) URL")
			}
		}
		if c.CAFile != "" {
			_, p := httpx.LoadCA(c.CAFile, "give a PEM file with the extra CA, or leave it out")
			out = append(out, p...)
		}
		_, _, p := capacity.Check(c.MaxConnections, c.QueueWait)
		out = append(out, p...)
	case BackendPowerShell:
		missing("tenant_id", "the Entra ID tenant (directory) id", c.TenantID)
		missing("app_id", "the app registration's application id", c.AppID)
		missing("certificate_thumbprint", "the thumbprint of the certificate Connect-MicrosoftTeams signs in with", c.CertificateThumbprint)
	default:
		out.Add("backend", c.Backend, "graph (the default) or powershell", "is not a backend")
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

// backend is what the two ways of reaching Microsoft have in common. Sessions
// come back without Vendor, Instance and User, which the Instance fills in.
type backend interface {
	probe(ctx context.Context) error
	userSessions(ctx context.Context, upn string, w vendors.Window) (vendors.Listing, error)
	close(ctx context.Context) error
}

// Instance is one configured Teams or Skype tenant.
type Instance struct {
	name    string
	typ     vendors.Type
	cfg     Config
	logger  *slog.Logger
	clock   func() time.Time
	backend backend
	graph   *graphClient // set when the backend is graph
}

var (
	_ vendors.Instance          = (*Instance)(nil)
	_ vendors.UserSessionLister = (*Instance)(nil)
	_ vendors.WindowedLister    = (*Instance)(nil)
	_ vendors.UserLogouter      = (*Instance)(nil)
)

// New checks the config and makes an instance of type cfg.Type
// (vendors.Teams or vendors.Skype). Nothing is contacted until the first
// call; a PowerShell worker starts on the first request.
func New(cfg Config, env vendors.Env) (*Instance, error) {
	t := cfg.Type
	if t != vendors.Teams && t != vendors.Skype {
		return nil, fmt.Errorf("microsoft adapter: type %q is not %s or %s", t, vendors.Teams, vendors.Skype)
	}
	ignored := cfg.otherBackendKeys()
	cfg = cfg.withDefaults()
	if p := cfg.problems(); len(p) > 0 {
		return nil, fmt.Errorf("%s instance %q: %w: %w", t, cfg.Name, p, vendors.ErrInvalidInput)
	}
	env = env.WithDefaults()
	logger, clock := env.Logger, env.Clock
	logger = logger.With("instance", cfg.Name, "type", string(t), "backend", cfg.Backend)
	for _, key := range ignored {
		logger.Warn(key + " is ignored: only the " + otherBackend(cfg.Backend) + " backend reads it; remove it, or change the backend")
	}
	in := &Instance{name: cfg.Name, typ: t, cfg: cfg, logger: logger, clock: clock}
	switch cfg.Backend {
	case BackendGraph:
		g, err := newGraphClient(cfg, logger, clock)
		if err != nil {
			return nil, fmt.Errorf("%s instance %q: %w", t, cfg.Name, err)
		}
		in.backend, in.graph = g, g
	case BackendPowerShell:
		in.backend = newPowerShell(cfg, logger)
	}
	return in, nil
}

// Name is the configured instance name.
func (in *Instance) Name() string { return in.name }

// Type is vendors.Teams or vendors.Skype.
func (in *Instance) Type() vendors.Type { return in.typ }

// Backend is "graph" or "powershell".
func (in *Instance) Backend() string { return in.cfg.Backend }

// MaxLookback is how far back call history goes.
func (in *Instance) MaxLookback() time.Duration { return Lookback }

// Probe gets a token and reads one user (graph), or starts the worker and
// connects to Teams (powershell).
func (in *Instance) Probe(ctx context.Context) error {
	return in.backend.probe(ctx)
}

// ListUserSessions lists the call sessions of q.User (a UPN such as
// marc@contoso.com) that started within q.Window (default: the last 24 hours).
func (in *Instance) ListUserSessions(ctx context.Context, q vendors.UserQuery) (vendors.Listing, error) {
	upn, err := in.checkUPN(q.User)
	if err != nil {
		return vendors.Listing{}, err
	}
	w, err := CheckWindow(q.Window, in.clock())
	if err != nil {
		return vendors.Listing{}, err
	}
	listing, err := in.backend.userSessions(ctx, upn, w)
	if err != nil {
		return vendors.Listing{}, err
	}
	for i := range listing.Sessions {
		s := &listing.Sessions[i]
		s.Vendor, s.Instance = in.typ, in.name
		s.User = vendors.Identity{ID: upn}
	}
	// Unsorted: commands orders every vendor's sessions the same way.
	return listing, nil
}

// LogoutUser revokes every sign-in session of user (Graph
// revokeSignInSessions): refresh tokens and browser cookies stop working
// within minutes; a call in progress goes on. Microsoft does not say which
// sessions it ended, so the listing is empty. Only the graph backend can do
// this; register Vendor() so that a powershell instance does not claim it.
func (in *Instance) LogoutUser(ctx context.Context, user vendors.Identity) (vendors.Listing, error) {
	if in.graph == nil {
		return vendors.Listing{}, fmt.Errorf("%s: logging a user out needs the graph backend; this instance uses %s: %w", in.name, in.cfg.Backend, vendors.ErrInvalidInput)
	}
	upn, err := in.checkUPN(user)
	if err != nil {
		return vendors.Listing{}, err
	}
	if err := in.graph.revokeSignInSessions(ctx, upn); err != nil {
		return vendors.Listing{}, err
	}
	in.logger.Info("revoked sign-in sessions", "user", upn)
	return vendors.Listing{}, nil
}

// maxUPN is the longest user principal name Microsoft Entra allows.
const maxUPN = 113

// checkUPN returns the UPN an identity names, refusing what cannot be one
// before it goes into a URL or to the worker.
func (in *Instance) checkUPN(user vendors.Identity) (string, error) {
	upn := strings.TrimSpace(user.ID)
	if user.Directory != "" || upn == "" {
		return "", fmt.Errorf("%s: Microsoft 365 users are named by UPN, such as marc@contoso.com, not %q: %w", in.name, user.String(), vendors.ErrInvalidInput)
	}
	if err := vendors.CheckInput("UPN", upn, maxUPN); err != nil {
		return "", fmt.Errorf("%s: %w", in.name, err)
	}
	return upn, nil
}

// Close stops the PowerShell worker, if one runs, and waits for it under ctx.
func (in *Instance) Close(ctx context.Context) error { return in.backend.close(ctx) }

// Vendor is the instance as the registry should hold it: with the powershell
// backend it hides LogoutUser, which only Graph can do, so that
// vendors.Capabilities tells the truth.
func (in *Instance) Vendor() vendors.Instance {
	if in.graph != nil {
		return in
	}
	return historyOnly{in}
}

// historyOnly is an Instance without LogoutUser.
type historyOnly struct{ in *Instance }

var (
	_ vendors.UserSessionLister = historyOnly{}
	_ vendors.WindowedLister    = historyOnly{}
)

func (h historyOnly) Name() string                    { return h.in.Name() }
func (h historyOnly) Type() vendors.Type              { return h.in.Type() }
func (h historyOnly) Probe(ctx context.Context) error { return h.in.Probe(ctx) }
func (h historyOnly) MaxLookback() time.Duration      { return h.in.MaxLookback() }
func (h historyOnly) Close(ctx context.Context) error { return h.in.Close(ctx) }
func (h historyOnly) ListUserSessions(ctx context.Context, q vendors.UserQuery) (vendors.Listing, error) {
	return h.in.ListUserSessions(ctx, q)
}

// CheckWindow returns the window a query covers: a zero window is the last 24
// hours; a missing until is now and a missing since is 24 hours before until.
// Since must lie within the past 30 days, until must not be before since, nor
// more than a minute in the future. Errors wrap vendors.ErrInvalidInput and
// name the allowed range.
func CheckWindow(w vendors.Window, now time.Time) (vendors.Window, error) {
	if w.Until.IsZero() {
		w.Until = now
	}
	if w.Since.IsZero() {
		w.Since = w.Until.Add(-DefaultWindow)
	}
	oldest := now.Add(-Lookback)
	switch {
	case w.Until.After(now.Add(futureSlack)):
		return vendors.Window{}, fmt.Errorf("call records end now: until must not be after %s (asked for %s): %w",
			stamp(now), stamp(w.Until), vendors.ErrInvalidInput)
	case w.Until.Before(w.Since):
		return vendors.Window{}, fmt.Errorf("until (%s) is before since (%s): %w",
			stamp(w.Until), stamp(w.Since), vendors.ErrInvalidInput)
	case w.Since.Before(oldest.Add(-futureSlack)):
		return vendors.Window{}, fmt.Errorf("call records are kept 30 days: since must be after %s (asked for %s): %w",
			stamp(oldest), stamp(w.Since), vendors.ErrInvalidInput)
	}
	// Within the slack: clamp rather than refuse "30 days ago" typed a
	// moment before now was read.
	if w.Since.Before(oldest) {
		w.Since = oldest
	}
	if w.Until.After(now) {
		w.Until = now
	}
	return w, nil
}

func stamp(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 MST") }
