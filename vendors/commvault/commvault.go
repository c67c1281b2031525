// Package commvault lists and ends console sessions (CommCell Console,
// command line, Web Console) of Commvault users through the CommServe's REST
// web service, logged in as the bot's own Commvault user with one token
// shared by every request.
package commvault

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"time"
	"unicode"

	"github.com/sessionbot/sessionbot/vendors"
	"github.com/sessionbot/sessionbot/vendors/internal/capacity"
	"github.com/sessionbot/sessionbot/vendors/internal/httpx"
)

var (
	_ vendors.Instance          = (*Instance)(nil)
	_ vendors.UserSessionLister = (*Instance)(nil)
	_ vendors.SessionEnder      = (*Instance)(nil)
	_ vendors.UserLogouter      = (*Instance)(nil)
)

// Instance is one CommCell. It is safe for concurrent use.
type Instance struct {
	s         settings
	transport *http.Transport
	http      *httpx.Client
	logger    *slog.Logger
	now       func() time.Time
	tokens    *tokenSource
	users     *userCache
	// slots bound the operations at once to max_connections, each holding
	// one for all its requests, which it makes one after another. The
	// login a holder waits for takes none: every holder may be waiting
	// for it, and it runs on their behalf.
	slots *capacity.Slots
	// route is the session list route that answered last (routeSession or
	// routeSessions), so a release with only the newer one costs one 404 once.
	route atomic.Int32

	logins        atomic.Int64
	loginFailures atomic.Int64
}

// Stats are counters for tests and metrics.
type Stats struct {
	Logins          int64 // successful logins: the first and every re-login
	LoginFailures   int64 // logins refused or that got no answer
	UserCacheHits   int64
	UserCacheMisses int64
}

// New checks cfg and makes the one HTTP client every request shares, so
// connections are reused. It does not log in: the first call does.
func New(cfg Config, env vendors.Env) (*Instance, error) {
	s, err := cfg.check()
	if err != nil {
		return nil, err
	}
	env = env.WithDefaults()
	logger := env.Logger.With("vendor", string(vendors.Commvault), "instance", s.name)
	if s.insecure {
		logger.Warn("TLS certificate verification is off for this Commvault instance: anyone on the path can read the bot's password and token",
			"node", s.node)
	}
	if s.plainHTTP {
		logger.Warn("this Commvault instance is reached over plain http: the bot's password and token travel unencrypted",
			"node", s.node)
	}
	in := &Instance{
		s:         s,
		transport: httpx.Transport(s.tls, s.timeout, s.maxConns),
		logger:    logger,
		now:       env.Clock,
		users:     newUserCache(s.cacheTTL),
		slots:     capacity.New(s.maxConns, s.queueWait, "connections to the web service"),
	}
	in.http = in.newHTTP()
	in.tokens = newTokenSource(in.login, func() time.Time { return in.now() })
	return in, nil
}

// Name is the instance name from the configuration.
func (in *Instance) Name() string { return in.s.name }

// Type is vendors.Commvault.
func (in *Instance) Type() vendors.Type { return vendors.Commvault }

// Stats reads the counters.
func (in *Instance) Stats() Stats {
	hits, misses := in.users.counts()
	return Stats{
		Logins:          in.logins.Load(),
		LoginFailures:   in.loginFailures.Load(),
		UserCacheHits:   hits,
		UserCacheMisses: misses,
	}
}

// Probe logs in (or reuses the token) and reads the user list, which
// checks the bot's role too. The list fills the user cache.
func (in *Instance) Probe(ctx context.Context) error {
	release, err := in.slots.Take(ctx)
	if err != nil {
		return in.nodeError("probe", err)
	}
	defer release()
	if _, err := in.allUsers(ctx); err != nil {
		return in.nodeError("probe", err)
	}
	return nil
}

// Close logs the bot's token out, if it holds one, and drops idle
// connections. The instance stays usable: the next call logs in again.
// It takes no slot: it is one request, made at the end.
func (in *Instance) Close(ctx context.Context) error {
	defer in.transport.CloseIdleConnections()
	token := in.tokens.drop()
	if token == "" {
		return nil
	}
	a, err := in.exchange(ctx, request{method: http.MethodPost, path: "/Logout"}, token)
	if err != nil {
		return in.nodeError("log out the bot's token", err)
	}
	if a.status == http.StatusUnauthorized {
		return nil // it had expired already
	}
	if err := in.statusError(a, token); err != nil {
		return in.nodeError("log out the bot's token", err)
	}
	in.logger.Debug("commvault token logged out", "node", in.s.node)
	return nil
}

func (in *Instance) nodeError(op string, err error) error {
	return &vendors.NodeError{Instance: in.s.name, Node: in.s.node, Op: op, Err: err}
}

// checkIdentity refuses what cannot be a Commvault user: an empty name,
// more than one backslash, control characters. DOMAIN\name in ID alone is
// the same user as Directory DOMAIN, ID name.
func checkIdentity(id vendors.Identity) error {
	switch {
	case id.ID == "":
		return fmt.Errorf("no user name given: %w", vendors.ErrInvalidInput)
	case len(id.ID)+len(id.Directory) > 512:
		return fmt.Errorf("user name is longer than 512 bytes: %w", vendors.ErrInvalidInput)
	case strings.Contains(id.Directory, `\`) || strings.Count(id.String(), `\`) > 1:
		return fmt.Errorf(`user "%s" has more than one \: write DOMAIN\name: %w`, id.String(), vendors.ErrInvalidInput)
	case strings.ContainsFunc(id.ID, unicode.IsControl) || strings.ContainsFunc(id.Directory, unicode.IsControl):
		return fmt.Errorf("user name contains a control character: %w", vendors.ErrInvalidInput)
	}
	return nil
}

// commvaultName is how Commvault names a user: DOMAIN\name for a domain
// user, name alone for a local one.
func commvaultName(id vendors.Identity) string { return id.String() }

// identityOf splits a Commvault user name back into an identity.
func identityOf(name string) vendors.Identity {
	if dir, user, ok := strings.Cut(name, `\`); ok {
		return vendors.Identity{Directory: dir, ID: user}
	}
	return vendors.Identity{ID: name}
}
