// Package qlik lists and ends login sessions on a Qlik Sense Enterprise site
// through its Proxy Service API (QPS), asking every proxy of the site at
// once, with the client certificate exported from the QMC.
package qlik

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/sessionbot/sessionbot/vendors"
	"github.com/sessionbot/sessionbot/vendors/internal/capacity"
	"github.com/sessionbot/sessionbot/vendors/internal/httpx"
)

var (
	_ vendors.Instance          = (*Instance)(nil)
	_ vendors.UserSessionLister = (*Instance)(nil)
	_ vendors.SessionGetter     = (*Instance)(nil)
	_ vendors.AllSessionLister  = (*Instance)(nil)
	_ vendors.SessionEnder      = (*Instance)(nil)
	_ vendors.UserLogouter      = (*Instance)(nil)
)

// Instance is one Qlik Sense site. It is safe for concurrent use.
type Instance struct {
	s         settings
	transport *http.Transport
	client    *http.Client
	http      *httpx.Client // over client
	disc      *discovery
	slots     *capacity.Slots // bound what asks the proxies at once
	now       func() time.Time
	logger    *slog.Logger
}

// New checks cfg, loads its certificate files and makes the one HTTP client
// every request shares, so connections and TLS sessions are reused.
func New(cfg Config, env vendors.Env) (*Instance, error) {
	s, err := cfg.check()
	if err != nil {
		return nil, err
	}
	tlsDialer := &tlsDialer{
		dialer:   net.Dialer{Timeout: s.timeout, KeepAlive: 30 * time.Second},
		config:   s.tls,
		sessions: tls.NewLRUClientSessionCache(64),
		timeout:  s.timeout,
		// Half the cores at most: a burst of new connections (a full
		// handshake signs with the client key) leaves the rest to ack
		// Slack in time.
		handshakes: make(chan struct{}, max(1, runtime.GOMAXPROCS(0)/2)),
	}
	transport := &http.Transport{
		DialTLSContext: tlsDialer.dial,
		// A burst of commands shares at most this many connections per
		// proxy instead of opening (and TLS-handshaking) one each: it
		// spares the proxy, and the bot's CPU for acking Slack. Keeping
		// them all when idle means each is handshaken once, not again
		// after every burst.
		MaxConnsPerHost:       s.maxConns,
		MaxIdleConnsPerHost:   s.maxConns,
		IdleConnTimeout:       90 * time.Second,
		ResponseHeaderTimeout: s.timeout,
		ExpectContinueTimeout: time.Second,
	}
	in := &Instance{
		s:         s,
		transport: transport,
		client: &http.Client{
			Transport: transport,
			// Qlik's APIs do not redirect; following one would carry the
			// client certificate to wherever it points.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		disc: newDiscovery(),
		// One slot per operation, for all the proxies it asks: a list gets
		// every proxy at once or none, rather than waiting on each
		// separately and keeping some connections busy for an answer that
		// cannot be whole.
		slots:  capacity.New(s.maxConns, s.queueWait, "connections to each proxy"),
		now:    time.Now,
		logger: env.WithDefaults().Logger.With("vendor", string(vendors.Qlik)),
	}
	in.http = in.newHTTPClient()
	if len(cfg.Proxies) > 0 && strings.TrimSpace(cfg.Repository) != "" {
		// Not refused, so a file that served before still starts; not
		// silent either: check lists it.
		in.logger.Warn("repository is ignored: proxies are listed, so they are asked and none is discovered; remove one of the two", "instance", s.name)
	}
	return in, nil
}

// Name is the instance name from the configuration.
func (in *Instance) Name() string { return in.s.name }

// Type is vendors.Qlik.
func (in *Instance) Type() vendors.Type { return vendors.Qlik }

// Close drops idle connections. The instance stays usable.
func (in *Instance) Close() error {
	in.transport.CloseIdleConnections()
	return nil
}

// Nodes lists the proxies in use (host:port), discovering them if needed.
func (in *Instance) Nodes(ctx context.Context) ([]string, error) {
	nodes, _, err := in.proxies(ctx)
	return slices.Clone(nodes), err
}

// Probe checks that every proxy answers, accepts our certificate and knows
// the virtual proxy, by listing its sessions. Discovery must work too.
func (in *Instance) Probe(ctx context.Context) error {
	nodes, warnings, err := in.proxies(ctx)
	if err != nil {
		return err
	}
	release, err := in.slots.Bounded(ctx)
	if err != nil {
		return fmt.Errorf("qlik %s: probe: %w", in.s.name, err)
	}
	defer release()
	results := onEveryNode(ctx, nodes, func(ctx context.Context, node string) (struct{}, error) {
		_, err := in.listAll(ctx, node)
		return struct{}{}, err
	})
	errs := warnings
	for _, r := range results {
		if r.err != nil {
			errs = append(errs, in.nodeError(r.node, "probe", r.err))
		}
	}
	return errors.Join(errs...)
}

func (in *Instance) nodeError(node, op string, err error) error {
	return &vendors.NodeError{Instance: in.s.name, Node: node, Op: op, Err: err}
}

// tlsDialer makes the TLS connections, so that each proxy gets its own
// slot in the TLS session cache. crypto/tls keys the cache by server name
// alone, and proxies reached through one server_name, or all on one
// address as in tests, would otherwise overwrite each other's sessions.
type tlsDialer struct {
	dialer   net.Dialer
	config   *tls.Config
	sessions tls.ClientSessionCache // shared, with keys prefixed per address
	timeout  time.Duration
	// handshakes holds a token per TLS handshake in progress.
	handshakes chan struct{}
}

func (d *tlsDialer) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	raw, err := d.dialer.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	config := d.config.Clone()
	if config.ServerName == "" {
		host, _, _ := net.SplitHostPort(addr)
		config.ServerName = host
	}
	config.ClientSessionCache = sessionsOf{cache: d.sessions, addr: addr}
	conn := tls.Client(raw, config)
	ctx, cancel := context.WithTimeout(ctx, d.timeout)
	defer cancel()
	select {
	case d.handshakes <- struct{}{}:
		defer func() { <-d.handshakes }()
	case <-ctx.Done():
		raw.Close()
		return nil, ctx.Err()
	}
	if err := conn.HandshakeContext(ctx); err != nil {
		raw.Close()
		return nil, err
	}
	return conn, nil
}

// sessionsOf is one address's view of the shared TLS session cache.
type sessionsOf struct {
	cache tls.ClientSessionCache
	addr  string
}

func (s sessionsOf) Get(key string) (*tls.ClientSessionState, bool) {
	return s.cache.Get(s.addr + " " + key)
}

func (s sessionsOf) Put(key string, cs *tls.ClientSessionState) { s.cache.Put(s.addr+" "+key, cs) }

// nodeResult is what one node answered.
type nodeResult[T any] struct {
	node  string
	value T
	err   error
}

// onEveryNode runs fn against every node at once and returns the results
// in node order, after every call has returned.
func onEveryNode[T any](ctx context.Context, nodes []string, fn func(ctx context.Context, node string) (T, error)) []nodeResult[T] {
	results := make([]nodeResult[T], len(nodes))
	var wg sync.WaitGroup
	for i, node := range nodes {
		wg.Go(func() {
			v, err := fn(ctx, node)
			results[i] = nodeResult[T]{node: node, value: v, err: err}
		})
	}
	wg.Wait()
	return results
}

// merge joins what every node listed. Nodes that failed become warnings
// while at least one answered; when all failed, their errors are joined.
func (in *Instance) merge(op string, results []nodeResult[[]vendors.Session], warnings []error) (vendors.Listing, error) {
	var listing vendors.Listing
	var failures []error
	for _, r := range results {
		if r.err != nil {
			failures = append(failures, in.nodeError(r.node, op, r.err))
			continue
		}
		listing.Sessions = append(listing.Sessions, r.value...)
	}
	if len(results) > 0 && len(failures) == len(results) {
		return vendors.Listing{}, errors.Join(append(failures, warnings...)...)
	}
	listing.Warnings = append(warnings, failures...)
	return listing, nil
}

// knownNode finds node among the proxies in use, ignoring case, and
// returns it as the proxy list spells it.
func knownNode(nodes []string, node string) (string, bool) {
	for _, n := range nodes {
		if strings.EqualFold(n, node) {
			return n, true
		}
	}
	return "", false
}
