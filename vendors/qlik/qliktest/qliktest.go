// Package qliktest is a fake Qlik Sense site for tests and the demo: proxy
// services (QPS) and a repository service (QRS) on loopback, each behind
// real mutual TLS, as strict as Qlik about the xrfkey, the X-Qlik-User
// header and the virtual proxy prefix, with failures that can be switched on
// per proxy while it runs.
package qliktest

import (
	"crypto/tls"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"github.com/sessionbot/sessionbot/internal/testpki"
	"github.com/sessionbot/sessionbot/vendors/internal/fault"
)

// Mode is how a proxy (or the repository) misbehaves.
type Mode int

const (
	Healthy     Mode = iota // answers as Qlik does
	HTML                    // 200 with a web page, as a wrong port would
	InvalidJSON             // 200 with broken JSON
	ServerError             // 500 with a stack-trace-like body
	Forbidden               // 403, as for a rejected certificate or xrfkey
	Slow                    // waits Options.SlowDelay, or until the client gives up
	Drop                    // cuts the TCP connection mid-request
)

var modeNames = [...]string{"healthy", "HTML", "invalid JSON", "500", "403", "slow", "drop"}

func (m Mode) String() string {
	if m < 0 || int(m) >= len(modeNames) {
		return fmt.Sprintf("Mode(%d)", int(m))
	}
	return modeNames[m]
}

// Options shape a site.
type Options struct {
	// Proxies is how many proxy services to run; 2 when zero.
	Proxies int
	// VirtualProxy is the prefix the proxies answer on ("ProxyX1"); empty
	// means the default virtual proxy, without a prefix segment.
	VirtualProxy string
	// Demo seeds DemoSessions, spread over the proxies.
	Demo bool
	// NotFoundForNoSessions makes the user routes answer 404 instead of []
	// for a user with no session (Qlik's documentation allows either).
	NotFoundForNoSessions bool
	// DeleteAnswersPlainSession makes DELETE session/{id} answer with the
	// session alone, as Qlik's help pages show, instead of the Swagger
	// file's {"Session":...,"LastSessionForUser":...}.
	DeleteAnswersPlainSession bool
	// SlowDelay is how long Slow waits before answering; 1 minute when zero.
	SlowDelay time.Duration
	// Logger receives the servers' own errors (TLS handshake failures);
	// discarded when nil.
	Logger *slog.Logger
}

// Request is one request a proxy or the repository received.
type Request struct {
	Proxy       int // -1 for the repository
	Method      string
	EscapedPath string   // as it came on the wire
	Segments    []string // path segments, unescaped
	Xrfkey      string   // from the query
	User        string   // X-Qlik-User
	Status      int      // 0 when the connection was dropped
}

// Repository is the Proxy value of requests to the repository.
const Repository = -1

// Site is the fake Qlik site. Every method is safe for concurrent use.
type Site struct {
	opts   Options
	vp     string
	ca     *testpki.CA
	client *testpki.Pair
	closed chan struct{}
	once   sync.Once

	proxies []*proxy
	repo    *proxy // the repository keeps its own failure switch and counters

	mu          sync.Mutex
	requests    []Request
	deletes     int
	hangDeletes bool
	fault       fault.Switch
}

// proxy is one listener and what it holds.
type proxy struct {
	index    int
	srv      *httptest.Server
	sessions []Session
	mode     Mode
	delay    time.Duration
	conns    int
	full     int
	resumed  int
}

// New starts a site on 127.0.0.1 with a fresh certificate authority.
func New(opts Options) (*Site, error) {
	if opts.Proxies <= 0 {
		opts.Proxies = 2
	}
	if opts.SlowDelay <= 0 {
		opts.SlowDelay = time.Minute
	}
	ca, err := testpki.NewCA("qliktest CA")
	if err != nil {
		return nil, fmt.Errorf("qliktest: make CA: %w", err)
	}
	server, err := ca.Server()
	if err != nil {
		return nil, fmt.Errorf("qliktest: make server certificate: %w", err)
	}
	client, err := ca.Client("sessionbot")
	if err != nil {
		return nil, fmt.Errorf("qliktest: make client certificate: %w", err)
	}
	s := &Site{
		opts:   opts,
		vp:     strings.Trim(opts.VirtualProxy, "/"),
		ca:     ca,
		client: client,
		closed: make(chan struct{}),
	}
	errorLog := log.New(io.Discard, "", 0)
	if opts.Logger != nil {
		errorLog = slog.NewLogLogger(opts.Logger.Handler(), slog.LevelDebug)
	}
	for i := range opts.Proxies {
		p := &proxy{index: i}
		s.proxies = append(s.proxies, p)
		p.srv = s.start(p, ca, server, errorLog, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { s.serveProxy(p, w, r) }))
	}
	s.repo = &proxy{index: Repository}
	s.repo.srv = s.start(s.repo, ca, server, errorLog, http.HandlerFunc(s.serveRepository))
	if opts.Demo {
		for i, list := range DemoSessions() {
			for _, sess := range list {
				s.AddSession(i%opts.Proxies, sess)
			}
		}
	}
	return s, nil
}

// start runs one TLS listener that demands a client certificate from ca and
// counts new connections and full and resumed handshakes.
func (s *Site) start(p *proxy, ca *testpki.CA, server *testpki.Pair, errorLog *log.Logger, h http.Handler) *httptest.Server {
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ErrorLog = errorLog
	srv.Config.ConnState = func(_ net.Conn, state http.ConnState) {
		if state == http.StateNew {
			s.mu.Lock()
			p.conns++
			s.mu.Unlock()
		}
	}
	srv.TLS = ca.ServerTLS(server)
	srv.TLS.VerifyConnection = func(cs tls.ConnectionState) error {
		s.mu.Lock()
		defer s.mu.Unlock()
		if cs.DidResume {
			p.resumed++
		} else {
			p.full++
		}
		return nil
	}
	srv.StartTLS()
	return srv
}

// Close stops every listener; requests still waiting are abandoned at once.
func (s *Site) Close() {
	s.once.Do(func() {
		close(s.closed)
		for _, p := range s.proxies {
			p.srv.Close()
		}
		s.repo.srv.Close()
	})
}

// Proxies are the proxies' addresses, host:port.
func (s *Site) Proxies() []string {
	out := make([]string, len(s.proxies))
	for i, p := range s.proxies {
		out[i] = p.srv.Listener.Addr().String()
	}
	return out
}

// Repository is the repository's address, host:port.
func (s *Site) Repository() string { return s.repo.srv.Listener.Addr().String() }

// VirtualProxy is the prefix the proxies answer on.
func (s *Site) VirtualProxy() string { return s.vp }

// CA is the authority that signed the servers' and the client's certificates.
func (s *Site) CA() *testpki.CA { return s.ca }

// ClientPair is the client certificate the site accepts.
func (s *Site) ClientPair() *testpki.Pair { return s.client }

// ClientFiles writes client.pem, client_key.pem and root.pem into dir, as
// the QMC exports them.
func (s *Site) ClientFiles(dir string) (testpki.Files, error) {
	return s.ca.WriteClientFiles(dir, s.client)
}

// Fail sets how proxy i misbehaves from its next request on.
func (s *Site) Fail(i int, m Mode) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.proxy(i).mode = m
}

// FailRepository sets how the repository misbehaves.
func (s *Site) FailRepository(m Mode) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.repo.mode = m
}

// Intercept has every proxy answer the requests that pass its checks
// (client certificate, xrfkey, X-Qlik-User) with h instead; nil stops it.
func (s *Site) Intercept(h http.Handler) { s.fault.Set(h) }

// HangDeletes makes every DELETE wait, unanswered, until the client gives
// up or the site closes: an execution caught halfway, for crash tests.
func (s *Site) HangDeletes(hang bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hangDeletes = hang
}

// SetDelay makes proxy i wait d before each answer (0 for none).
func (s *Site) SetDelay(i int, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.proxy(i).delay = d
}

// AddSession puts a session on proxy i.
func (s *Site) AddSession(i int, sess Session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.proxy(i)
	p.sessions = append(p.sessions, sess)
}

// RemoveSession takes a session off proxy i, as a user logging out would,
// and reports whether it was there.
func (s *Site) RemoveSession(i int, id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.proxy(i)
	for k, sess := range p.sessions {
		if strings.EqualFold(sess.SessionID, id) {
			p.sessions = append(p.sessions[:k:k], p.sessions[k+1:]...)
			return true
		}
	}
	return false
}

// Sessions are what proxy i holds now.
func (s *Site) Sessions(i int) []Session {
	s.mu.Lock()
	defer s.mu.Unlock()
	return cloneSessions(s.proxy(i).sessions)
}

// Deletes counts the DELETE requests every proxy received, whatever became
// of them: zero proves nothing was even attempted.
func (s *Site) Deletes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.deletes
}

// Requests is every request received so far, in order of arrival.
func (s *Site) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Request, len(s.requests))
	for i, r := range s.requests {
		r.Segments = append([]string(nil), r.Segments...)
		out[i] = r
	}
	return out
}

// Xrfkeys are the xrfkeys seen in request queries, in order.
func (s *Site) Xrfkeys() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var keys []string
	for _, r := range s.requests {
		if r.Xrfkey != "" {
			keys = append(keys, r.Xrfkey)
		}
	}
	return keys
}

// Connections counts the TCP connections proxy i (or Repository) accepted.
func (s *Site) Connections(i int) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.proxy(i).conns
}

// FullHandshakes counts proxy i's TLS handshakes that did not resume a
// session.
func (s *Site) FullHandshakes(i int) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.proxy(i).full
}

// ResumedHandshakes counts proxy i's TLS handshakes that resumed a session.
func (s *Site) ResumedHandshakes(i int) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.proxy(i).resumed
}

// CloseConnections cuts proxy i's open connections, so that the next
// request needs a new one (and may resume its TLS session).
func (s *Site) CloseConnections(i int) {
	s.mu.Lock()
	p := s.proxy(i)
	s.mu.Unlock()
	p.srv.CloseClientConnections()
}

// proxy finds proxy i, or the repository; the caller holds s.mu or only
// reads fields set before New returned.
func (s *Site) proxy(i int) *proxy {
	if i == Repository {
		return s.repo
	}
	if i < 0 || i >= len(s.proxies) {
		panic(fmt.Sprintf("qliktest: no proxy %d; the site has %d", i, len(s.proxies)))
	}
	return s.proxies[i]
}
