// Package slacktest is a strict fake Slack for tests: the Web API methods the
// bot calls, a Socket Mode websocket (hello, envelopes, acks, pings,
// disconnects, redeliveries) and response_url endpoints that record what is
// posted. It checks tokens and Slack's message limits as Slack does, so a
// test passes only when the real slack-go client, talking to it, would work
// with Slack too.
//
// Point the real client at it:
//
//	api := slack.New(botToken, slack.OptionAppLevelToken(appToken), slack.OptionAPIURL(srv.APIURL()))
//	client := socketmode.New(api)
//	go client.RunContext(ctx)
package slacktest

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// Ids the fake uses for its workspace and for the bot itself.
const (
	TeamID    = "T0TEST"
	AppID     = "A0SESSIONBOT"
	BotUserID = "U0SESSIONBOT"
	BotID     = "B0SESSIONBOT"
)

// User is a workspace member as users.info describes them.
type User struct {
	ID, Name, Email, TZ string
	Deleted             bool
	IsBot               bool
}

// Options shape the fake.
type Options struct {
	BotToken string // xoxb-...: every Web API method but apps.connections.open
	AppToken string // xapp-...: apps.connections.open only
	Users    []User
	// UserGroups maps a group id (S...) to its member ids.
	UserGroups map[string][]string
	// Channels maps a channel id (C... or G...) to its member ids, for
	// conversations.members (answered in pages of at most 100).
	Channels map[string][]string
	// PingInterval is how often the fake pings each websocket. It must be
	// shorter than the client's (30 s by default) or the client reconnects.
	// 1 s when zero.
	PingInterval time.Duration
	// Clock dates response_urls, trigger_ids and message ts; time.Now when
	// nil. Move it forward to expire a response_url without sleeping.
	Clock func() time.Time
	// Scopes are the bot token's OAuth scopes, sent as Slack does in the
	// X-OAuth-Scopes header of every Web API answer; no header when nil.
	Scopes []string
}

// ErrClosed is returned by waits and sends after Close.
var ErrClosed = errors.New("slacktest: server closed")

// Server is the fake. Every method is safe for concurrent use.
type Server struct {
	opts     Options
	http     *httptest.Server
	upgrader websocket.Upgrader
	done     chan struct{}
	closing  sync.Once

	mu sync.Mutex
	// changed is closed and replaced on every change of state, so waits
	// wake up without polling.
	changed chan struct{}
	seq     int
	closed  bool

	// Socket Mode.
	conns      []*conn
	connSerial int
	opened     int // successful apps.connections.open calls
	tickets    map[string]bool
	openError  string // apps.connections.open answers this when set
	envelopes  map[string]*envelope
	acks       map[string][]Ack
	violations []error

	// Web API.
	revoked   map[string]bool // tokens answered token_revoked
	calls     map[string]int
	throttled map[string][]failure
	posts     []Post
	views     []View
	triggers  map[string]triggerState
	files     files

	// response_urls by id.
	responseURLs map[string]*responseURL
}

// New starts the fake on 127.0.0.1. Close it when done.
func New(opts Options) *Server {
	if opts.PingInterval <= 0 {
		opts.PingInterval = time.Second
	}
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	s := &Server{
		opts: opts,
		done: make(chan struct{}),
		// slack-go dials with Origin: https://api.slack.com, which gorilla's
		// default check refuses.
		upgrader:     websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }},
		changed:      make(chan struct{}),
		envelopes:    map[string]*envelope{},
		tickets:      map[string]bool{},
		acks:         map[string][]Ack{},
		calls:        map[string]int{},
		revoked:      map[string]bool{},
		throttled:    map[string][]failure{},
		triggers:     map[string]triggerState{},
		responseURLs: map[string]*responseURL{},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/api/", s.serveAPI)
	mux.HandleFunc("/link/", s.serveSocket)
	mux.HandleFunc("/response/", s.serveResponse)
	mux.HandleFunc("/upload/", s.serveUpload)
	s.http = httptest.NewServer(mux)
	return s
}

// APIURL is the Web API base for slack.OptionAPIURL, with its trailing slash.
func (s *Server) APIURL() string { return s.http.URL + "/api/" }

// Close drops every websocket, stops the server and ends its goroutines.
// Waits in progress return ErrClosed.
func (s *Server) Close() {
	s.closing.Do(func() {
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		close(s.done)
		s.DropConnections()
		s.http.Close()
	})
}

// Violations lists what clients did that Slack would refuse or ignore:
// oversized acks, acks of unknown envelopes, frames that are not acks. A
// well-behaved bot leaves it empty.
func (s *Server) Violations() []error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]error(nil), s.violations...)
}

// Calls counts the calls of a Web API method, answered or refused.
func (s *Server) Calls(method string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[method]
}

// nextSeq numbers ids, ts and triggers. Call with s.mu held.
func (s *Server) nextSeq() int {
	s.seq++
	return s.seq
}

// notify wakes every wait. Call with s.mu held.
func (s *Server) notify() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// violation records a protocol error. Call with s.mu held.
func (s *Server) violation(format string, args ...any) {
	s.violations = append(s.violations, fmt.Errorf(format, args...))
	s.notify()
}

// waitFor waits until ready (called with s.mu held) is true, the timeout
// passes or the server closes.
func (s *Server) waitFor(timeout time.Duration, ready func() bool) error {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		s.mu.Lock()
		ok, changed := ready(), s.changed
		s.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-changed:
		case <-s.done:
			return ErrClosed
		case <-timer.C:
			return errTimeout
		}
	}
}

var errTimeout = errors.New("timed out")

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
