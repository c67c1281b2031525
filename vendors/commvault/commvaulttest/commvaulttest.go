// Package commvaulttest is a fake Commvault web service (the REST API the
// Web Server or Command Center serves) for tests and the demo: HTTPS on
// loopback with a throwaway CA, as strict as Commvault about the login body,
// the base64 password, the Authtoken header and the logoff request's XML,
// with tokens that expire and failures that can be switched on while it runs.
package commvaulttest

import (
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/sessionbot/sessionbot/internal/testpki"
	"github.com/sessionbot/sessionbot/vendors/internal/fault"
	"github.com/sessionbot/sessionbot/vendors/internal/inflight"
)

// The account the bot logs in with. Every server has it.
const (
	BotUser     = "sessionbot"
	BotPassword = "Bot pa55word, not for production: ÄÖ!"
	BotUserID   = 1
)

// DefaultBasePath is where the web service answers, as on a Command Center
// install; older installs use /SearchSvc/CVWebService.svc.
const DefaultBasePath = "/webconsole/api"

// DefaultTokenTTL is how long a token lives without use, as on Commvault.
const DefaultTokenTTL = 30 * time.Minute

// Mode is how the server misbehaves.
type Mode int

const (
	Healthy      Mode = iota // answers as Commvault does
	HTML                     // 200 with a web page, as a wrong URL would
	Garbage                  // 200 with broken JSON
	ServerError              // 500 with a stack-trace-like body
	Forbidden                // 403, as for a user without the role
	Unauthorized             // 401 to every token, even a fresh one
	Slow                     // waits Options.SlowDelay, or until the client gives up
)

var modeNames = [...]string{"healthy", "HTML", "garbage", "500", "403", "401", "slow"}

func (m Mode) String() string {
	if m < 0 || int(m) >= len(modeNames) {
		return fmt.Sprintf("Mode(%d)", int(m))
	}
	return modeNames[m]
}

// Routes says which of the session list routes exist: older releases have
// /Session, newer ones /Sessions.
type Routes int

const (
	BothRoutes   Routes = iota
	OnlySession         // GET /Sessions answers 404
	OnlySessions        // GET /Session answers 404
)

// Form is how a session list is shaped. Commvault's JSON shape is not
// documented; these are the shapes a lenient client must read.
type Form int

const (
	FormAuto   Form = iota // by Accept: {"sessions":[...]} for JSON, the seed's XML otherwise
	FormArray              // a bare JSON array
	FormObject             // one session as a bare JSON object; several wrapped
	FormXML                // XML whatever the Accept header asks
)

// Options shape a server.
type Options struct {
	// BasePath is where the web service answers; DefaultBasePath when empty.
	BasePath string
	// Seed adds the demo people: jsmith (the seed document's user and
	// session) and CORP\marc, with their sessions.
	Seed bool
	// SeedMarcAs names Marc differently in the seed (MarcName when empty),
	// so a demo can write him as its other systems do.
	SeedMarcAs string
	// Users are more people, besides the bot's account and the seed.
	Users []User
	// TokenTTL is how long a token lives without use; DefaultTokenTTL when
	// zero. A login's "timeout" (minutes) overrides it for that token.
	TokenTTL time.Duration
	// LockAfter locks an account after that many failed logins in a row;
	// zero never locks.
	LockAfter int
	// Now is the clock for token expiry and logoff times; time.Now when nil.
	Now func() time.Time
	// Routes says which session list routes exist.
	Routes Routes
	// NoByName makes /User/byName(...) answer 404, as on releases without it.
	NoByName bool
	// NoLogoff makes DELETE /Sessions answer 404, as on releases without it.
	NoLogoff bool
	// Form is how session lists are shaped.
	Form Form
	// SlowDelay is how long Slow waits; 1 minute when zero.
	SlowDelay time.Duration
	// Logger receives the server's own errors (TLS handshakes); discarded
	// when nil.
	Logger *slog.Logger
}

// User is a Commvault user. Name is the Commvault user name: DOMAIN\name
// for a domain user, name alone for a local one.
type User struct {
	ID       int
	Name     string
	Password string // empty: cannot log in
	Email    string
	FullName string
	Locked   bool
}

// Session is one console session of a user.
type Session struct {
	ID               string
	UserID           int
	BrowserSessionID string
	Host             string
	Location         string
	ConsoleType      int
	LoginTime        time.Time
	LastAccessedTime time.Time // zero: not sent, as on older releases
	LogoutTime       time.Time // zero while logged in
}

// Active reports whether the user has not logged off.
func (s Session) Active() bool { return s.LogoutTime.IsZero() }

// Server is the fake web service. Every method is safe for concurrent use.
type Server struct {
	opts   Options
	base   string
	now    func() time.Time
	ca     *testpki.CA
	srv    *httptest.Server
	closed chan struct{}
	once   sync.Once

	mu            sync.Mutex
	users         []User
	sessions      []Session
	tokens        map[string]*token
	issued        []string
	failures      map[int]int // failed logins in a row, by user id
	mode          Mode
	fault         fault.Switch
	loginMode     Mode
	routes        Routes
	noByName      bool
	noLogoff      bool
	form          Form
	logins        int
	loginAttempts int
	logouts       int
	deletes       int
	requests      map[string]int
	inFlight      inflight.Gauge // API requests being answered now
}

type token struct {
	userID  int
	ttl     time.Duration
	expires time.Time
}

// New starts a server on 127.0.0.1 with a fresh certificate authority.
func New(opts Options) (*Server, error) {
	if opts.SlowDelay <= 0 {
		opts.SlowDelay = time.Minute
	}
	if opts.TokenTTL <= 0 {
		opts.TokenTTL = DefaultTokenTTL
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	base := "/" + strings.Trim(opts.BasePath, "/")
	if base == "/" {
		base = DefaultBasePath
	}
	ca, err := testpki.NewCA("commvaulttest CA")
	if err != nil {
		return nil, fmt.Errorf("commvaulttest: make CA: %w", err)
	}
	pair, err := ca.Server()
	if err != nil {
		return nil, fmt.Errorf("commvaulttest: make server certificate: %w", err)
	}
	s := &Server{
		opts:     opts,
		base:     base,
		now:      now,
		ca:       ca,
		closed:   make(chan struct{}),
		tokens:   map[string]*token{},
		failures: map[int]int{},
		routes:   opts.Routes,
		noByName: opts.NoByName,
		noLogoff: opts.NoLogoff,
		form:     opts.Form,
		requests: map[string]int{},
	}
	s.users = append(s.users, User{ID: BotUserID, Name: BotUser, Password: BotPassword, FullName: "Session bot"})
	if opts.Seed {
		users, sessions := seed(now(), opts.SeedMarcAs)
		s.users = append(s.users, users...)
		s.sessions = append(s.sessions, sessions...)
	}
	for _, u := range opts.Users {
		if _, err := s.addUser(u); err != nil {
			return nil, err
		}
	}

	errorLog := log.New(io.Discard, "", 0)
	if opts.Logger != nil {
		errorLog = slog.NewLogLogger(opts.Logger.Handler(), slog.LevelDebug)
	}
	s.srv = httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	s.srv.Config.ErrorLog = errorLog
	s.srv.TLS = &tls.Config{Certificates: []tls.Certificate{pair.TLS}, MinVersion: tls.VersionTLS12}
	s.srv.StartTLS()
	return s, nil
}

// Close stops the server; requests still waiting are abandoned at once.
func (s *Server) Close() {
	s.once.Do(func() {
		close(s.closed)
		s.srv.Close()
	})
}

// URL is the web service base, e.g. https://127.0.0.1:41234/webconsole/api.
func (s *Server) URL() string { return s.srv.URL + s.base }

// Addr is the server's address, host:port.
func (s *Server) Addr() string { return s.srv.Listener.Addr().String() }

// CAPEM is the certificate of the authority that signed the server's.
func (s *Server) CAPEM() []byte { return s.ca.CertPEM }

// CAFile writes the CA certificate into dir and returns its path, for a
// client's ca_file.
func (s *Server) CAFile(dir string) (string, error) {
	path := filepath.Join(dir, "commvault-ca.pem")
	if err := os.WriteFile(path, s.ca.CertPEM, 0o600); err != nil {
		return "", fmt.Errorf("commvaulttest: write %s: %w", path, err)
	}
	return path, nil
}

// AddUser adds a user and returns its id, chosen when u.ID is zero.
func (s *Server) AddUser(u User) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addUser(u)
}

func (s *Server) addUser(u User) (int, error) {
	if u.Name == "" {
		return 0, fmt.Errorf("commvaulttest: a user needs a name")
	}
	for _, o := range s.users {
		if strings.EqualFold(o.Name, u.Name) || (u.ID != 0 && o.ID == u.ID) {
			return 0, fmt.Errorf("commvaulttest: user %q (id %d) exists already", u.Name, u.ID)
		}
	}
	if u.ID == 0 {
		u.ID = 1000
		for _, o := range s.users {
			u.ID = max(u.ID, o.ID+1)
		}
	}
	s.users = append(s.users, u)
	return u.ID, nil
}

// SetLocked locks or unlocks the account named name (case-insensitively).
func (s *Server) SetLocked(name string, locked bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u := s.userNamed(name); u != nil {
		u.Locked = locked
		if !locked {
			delete(s.failures, u.ID)
		}
	}
}

// Locked reports whether the account named name is locked.
func (s *Server) Locked(name string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.userNamed(name)
	return u != nil && u.Locked
}

// AddSession adds a session; its user must exist.
func (s *Server) AddSession(sess Session) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.userByID(sess.UserID) == nil {
		return fmt.Errorf("commvaulttest: no user with id %d", sess.UserID)
	}
	if sess.ID == "" {
		sess.ID = "EMC" + strings.ToUpper(randomHex(16))
	}
	s.sessions = append(s.sessions, sess)
	return nil
}

// Sessions are the sessions of one user (every user when userID is 0), in
// the order they were added.
func (s *Server) Sessions(userID int) []Session {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Session
	for _, sess := range s.sessions {
		if userID == 0 || sess.UserID == userID {
			out = append(out, sess)
		}
	}
	return out
}

// Session finds a session by id.
func (s *Server) Session(id string) (Session, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, sess := range s.sessions {
		if sess.ID == id {
			return sess, true
		}
	}
	return Session{}, false
}

// UserID finds a user's id by name, case-insensitively.
func (s *Server) UserID(name string) (int, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u := s.userNamed(name); u != nil {
		return u.ID, true
	}
	return 0, false
}

// Intercept has every call but /Login and /Logout that carries a valid
// token answered by h instead; nil stops it.
func (s *Server) Intercept(h http.Handler) { s.fault.Set(h) }

// Fail sets how every call but /Login and /Logout misbehaves.
func (s *Server) Fail(m Mode) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mode = m
}

// FailLogin sets how /Login misbehaves (Healthy, HTML, Garbage,
// ServerError, Forbidden or Slow).
func (s *Server) FailLogin(m Mode) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.loginMode = m
}

// SetRoutes switches which session list routes exist.
func (s *Server) SetRoutes(r Routes) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.routes = r
}

// SetByName switches /User/byName(...) on or off.
func (s *Server) SetByName(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.noByName = !on
}

// SetLogoff switches DELETE /Sessions on or off.
func (s *Server) SetLogoff(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.noLogoff = !on
}

// SetForm switches how session lists are shaped.
func (s *Server) SetForm(f Form) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.form = f
}

// ExpireTokens ends every token now, as a service restart or the
// inactivity timeout would: the next call with any of them gets 401.
func (s *Server) ExpireTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.tokens)
}

// Tokens counts the tokens alive now.
func (s *Server) Tokens() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, t := range s.tokens {
		if s.now().Before(t.expires) {
			n++
		}
	}
	return n
}

// IssuedTokens are every token handed out so far, for tests that check
// none leaks into an error or a log line.
func (s *Server) IssuedTokens() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.issued)
}

// Logins counts successful logins.
func (s *Server) Logins() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.logins
}

// LoginAttempts counts POST /Login requests, whatever became of them.
func (s *Server) LoginAttempts() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.loginAttempts
}

// Logouts counts tokens ended by POST /Logout.
func (s *Server) Logouts() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.logouts
}

// Deletes counts DELETE /Sessions requests, whatever became of them: zero
// proves nothing was even attempted.
func (s *Server) Deletes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.deletes
}

// Requests counts the requests to one route, named as "GET /Session",
// "GET /User/byName", "DELETE /Sessions", "POST /Login" and so on.
func (s *Server) Requests(route string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests[route]
}

// TotalRequests counts every request, whatever its route.
func (s *Server) TotalRequests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.requests {
		n += c
	}
	return n
}

// MaxInFlight is the most API requests (not logins or logouts) that were
// being answered at once.
func (s *Server) MaxInFlight() int { return s.inFlight.Max() }

// RoutesAsked lists every route asked so far, sorted, for failure messages.
func (s *Server) RoutesAsked() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for r, n := range s.requests {
		out = append(out, fmt.Sprintf("%s x%d", r, n))
	}
	slices.Sort(out)
	return out
}

// userNamed finds a user by name; the caller holds s.mu.
func (s *Server) userNamed(name string) *User {
	for i := range s.users {
		if strings.EqualFold(s.users[i].Name, name) {
			return &s.users[i]
		}
	}
	return nil
}

// userByID finds a user by id; the caller holds s.mu.
func (s *Server) userByID(id int) *User {
	for i := range s.users {
		if s.users[i].ID == id {
			return &s.users[i]
		}
	}
	return nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails since Go 1.24
	return hex.EncodeToString(b)
}
