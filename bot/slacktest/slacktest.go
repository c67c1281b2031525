// Package slacktest is a fake Slack for tests: the Web API methods the bot
// calls, a Socket Mode websocket (hello, envelopes, acks, pings,
// disconnects), and response_url endpoints that record what is posted. It
// checks tokens and Slack's message limits as Slack does, so a test passes
// only when the real slack-go client, talking to it, would pass with Slack.
package slacktest

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// User is a workspace member as users.info describes them.
type User struct {
	ID, Name, Email, TZ string
	Deleted             bool
}

// Options shape the fake.
type Options struct {
	BotToken string // xoxb-...
	AppToken string // xapp-...
	Users    []User
	// UserGroups maps a group id (S...) to member ids.
	UserGroups map[string][]string
	// PingInterval is how often the fake pings each websocket; shorter than
	// the client's 30 s or it reconnects. 1 s when zero.
	PingInterval time.Duration
	// Clock is for response_url expiry; time.Now when nil.
	Clock func() time.Time
}

// Ack is one acknowledgement the bot sent.
type Ack struct {
	EnvelopeID string
	Payload    json.RawMessage
	// Latency is from the envelope written to its ack read.
	Latency time.Duration
}

// Response is one post to a response_url.
type Response struct {
	Text            string          `json:"text"`
	Blocks          json.RawMessage `json:"blocks"`
	ResponseType    string          `json:"response_type"`
	ReplaceOriginal bool            `json:"replace_original"`
	DeleteOriginal  bool            `json:"delete_original"`
}

// Post is one chat.postMessage, chat.postEphemeral or chat.update.
type Post struct {
	Method  string
	Channel string
	User    string // postEphemeral's recipient
	TS      string
	Text    string
	Blocks  json.RawMessage
}

// Server is the fake. Every method is safe for concurrent use.
type Server struct {
	opts     Options
	srv      *httptest.Server
	upgrader websocket.Upgrader
	done     chan struct{}

	mu          sync.Mutex
	conns       []*conn
	openCalls   int
	authFailure string // apps.connections.open answers this error when set
	nextID      int
	sent        map[string]sentEnvelope // by envelope id
	acks        map[string]Ack
	ackWaiters  map[string][]chan Ack
	responses   map[string][]Response
	responseAt  map[string]time.Time
	posts       []Post
	views       []json.RawMessage
	connChanged chan struct{}
}

type sentEnvelope struct {
	raw    map[string]any
	sentAt time.Time
}

type conn struct {
	ws      *websocket.Conn
	writeMu sync.Mutex
	closed  chan struct{}
}

func (c *conn) write(v any) error {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	return c.ws.WriteJSON(v)
}

// New starts the fake on 127.0.0.1.
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
		// Slack's client sends Origin: https://api.slack.com, which
		// gorilla's default check refuses.
		upgrader:    websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }},
		sent:        map[string]sentEnvelope{},
		acks:        map[string]Ack{},
		ackWaiters:  map[string][]chan Ack{},
		responses:   map[string][]Response{},
		responseAt:  map[string]time.Time{},
		connChanged: make(chan struct{}),
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/api/", s.serveAPI)
	mux.HandleFunc("/link", s.serveSocket)
	mux.HandleFunc("/response/", s.serveResponse)
	s.srv = httptest.NewServer(mux)
	return s
}

// APIURL is the Web API base to give slack.OptionAPIURL (trailing slash).
func (s *Server) APIURL() string { return s.srv.URL + "/api/" }

// Close drops every connection and stops the server.
func (s *Server) Close() {
	select {
	case <-s.done:
		return
	default:
	}
	close(s.done)
	s.DropConnections()
	s.srv.Close()
}

// FailConnections makes apps.connections.open answer err (invalid_auth,
// token_revoked) until called with "".
func (s *Server) FailConnections(err string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.authFailure = err
}

// ConnectionsOpened counts apps.connections.open calls that succeeded.
func (s *Server) ConnectionsOpened() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.openCalls
}

// Connections counts live websockets.
func (s *Server) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// WaitConnections waits until n websockets are live.
func (s *Server) WaitConnections(n int, timeout time.Duration) error {
	deadline := time.After(timeout)
	for {
		s.mu.Lock()
		got, changed := len(s.conns), s.connChanged
		s.mu.Unlock()
		if got >= n {
			return nil
		}
		select {
		case <-changed:
		case <-deadline:
			return fmt.Errorf("%d websocket connections after %s, want %d", got, timeout, n)
		}
	}
}

// DropConnections closes every websocket abruptly, as a network failure
// would.
func (s *Server) DropConnections() {
	s.mu.Lock()
	conns := s.conns
	s.conns = nil
	s.signalConnChange()
	s.mu.Unlock()
	for _, c := range conns {
		c.ws.Close()
	}
}

// Disconnect asks every client to reconnect, as Slack does before it
// restarts a server.
func (s *Server) Disconnect() {
	s.mu.Lock()
	conns := append([]*conn(nil), s.conns...)
	s.mu.Unlock()
	for _, c := range conns {
		c.write(map[string]any{"type": "disconnect", "reason": "refresh_requested", "debug_info": map[string]any{"host": "slacktest"}})
	}
}

func (s *Server) signalConnChange() {
	close(s.connChanged)
	s.connChanged = make(chan struct{})
}

func (s *Server) serveSocket(w http.ResponseWriter, r *http.Request) {
	ws, err := s.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	c := &conn{ws: ws, closed: make(chan struct{})}
	s.mu.Lock()
	s.conns = append(s.conns, c)
	n := len(s.conns)
	s.signalConnChange()
	s.mu.Unlock()
	c.write(map[string]any{"type": "hello", "num_connections": n,
		"debug_info":      map[string]any{"host": "slacktest", "approximate_connection_time": 18060},
		"connection_info": map[string]any{"app_id": "A0SESSIONBOT"}})
	go s.ping(c)
	s.readAcks(c)
}

func (s *Server) ping(c *conn) {
	t := time.NewTicker(s.opts.PingInterval)
	defer t.Stop()
	for {
		select {
		case <-c.closed:
			return
		case <-s.done:
			return
		case <-t.C:
			if err := c.ws.WriteControl(websocket.PingMessage, []byte("ping"), time.Now().Add(time.Second)); err != nil {
				return
			}
		}
	}
}

// readAcks reads what the client sends: acks.
func (s *Server) readAcks(c *conn) {
	defer func() {
		close(c.closed)
		c.ws.Close()
		s.mu.Lock()
		for i, x := range s.conns {
			if x == c {
				s.conns = append(s.conns[:i], s.conns[i+1:]...)
				s.signalConnChange()
				break
			}
		}
		s.mu.Unlock()
	}()
	for {
		_, data, err := c.ws.ReadMessage()
		if err != nil {
			return
		}
		now := time.Now()
		var ack struct {
			EnvelopeID string          `json:"envelope_id"`
			Payload    json.RawMessage `json:"payload"`
		}
		if json.Unmarshal(data, &ack) != nil || ack.EnvelopeID == "" {
			continue
		}
		if len(data) >= 20*1024 {
			continue // Slack drops acks of 20 KB or more
		}
		s.mu.Lock()
		env, ok := s.sent[ack.EnvelopeID]
		if !ok {
			s.mu.Unlock()
			continue
		}
		a := Ack{EnvelopeID: ack.EnvelopeID, Payload: ack.Payload, Latency: now.Sub(env.sentAt)}
		if _, dup := s.acks[ack.EnvelopeID]; !dup {
			s.acks[ack.EnvelopeID] = a
		}
		waiters := s.ackWaiters[ack.EnvelopeID]
		delete(s.ackWaiters, ack.EnvelopeID)
		s.mu.Unlock()
		for _, w := range waiters {
			w <- a
		}
	}
}

// send writes an envelope to one live connection, chosen at random as
// Slack does, or to connection index when index >= 0.
func (s *Server) send(typ string, payload any, index int, accepts bool) (string, error) {
	s.mu.Lock()
	if len(s.conns) == 0 {
		s.mu.Unlock()
		return "", errors.New("no websocket is connected")
	}
	if index < 0 || index >= len(s.conns) {
		index = rand.IntN(len(s.conns))
	}
	c := s.conns[index]
	s.nextID++
	id := fmt.Sprintf("env-%06d", s.nextID)
	env := map[string]any{"envelope_id": id, "type": typ, "payload": payload, "accepts_response_payload": accepts, "retry_attempt": 0, "retry_reason": ""}
	s.sent[id] = sentEnvelope{raw: env, sentAt: time.Now()}
	s.mu.Unlock()
	return id, c.write(env)
}

// Redeliver sends an envelope again with retry_attempt raised, as Slack
// does when an ack was late.
func (s *Server) Redeliver(envelopeID string) error {
	s.mu.Lock()
	env, ok := s.sent[envelopeID]
	if !ok || len(s.conns) == 0 {
		s.mu.Unlock()
		return fmt.Errorf("cannot redeliver %s", envelopeID)
	}
	again := map[string]any{}
	for k, v := range env.raw {
		again[k] = v
	}
	again["retry_attempt"] = env.raw["retry_attempt"].(int) + 1
	again["retry_reason"] = "timeout"
	env.raw, env.sentAt = again, time.Now()
	s.sent[envelopeID] = env
	c := s.conns[rand.IntN(len(s.conns))]
	s.mu.Unlock()
	return c.write(again)
}

// WaitAck waits for the ack of an envelope.
func (s *Server) WaitAck(envelopeID string, timeout time.Duration) (Ack, error) {
	s.mu.Lock()
	if a, ok := s.acks[envelopeID]; ok {
		s.mu.Unlock()
		return a, nil
	}
	ch := make(chan Ack, 1)
	s.ackWaiters[envelopeID] = append(s.ackWaiters[envelopeID], ch)
	s.mu.Unlock()
	select {
	case a := <-ch:
		return a, nil
	case <-time.After(timeout):
		return Ack{}, fmt.Errorf("envelope %s not acked within %s", envelopeID, timeout)
	}
}

// newResponseURL makes a response_url served by the fake.
func (s *Server) newResponseURL() (id, url string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextID++
	id = fmt.Sprintf("resp-%06d", s.nextID)
	s.responseAt[id] = s.opts.Clock()
	return id, s.srv.URL + "/response/" + id
}

// Responses returns what was posted to a response_url so far.
func (s *Server) Responses(id string) []Response {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Response(nil), s.responses[id]...)
}

// WaitResponses waits until n posts reached the response_url.
func (s *Server) WaitResponses(id string, n int, timeout time.Duration) ([]Response, error) {
	deadline := time.Now().Add(timeout)
	for {
		got := s.Responses(id)
		if len(got) >= n {
			return got, nil
		}
		if time.Now().After(deadline) {
			return got, fmt.Errorf("%d posts to response_url %s after %s, want %d", len(got), id, timeout, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (s *Server) serveResponse(w http.ResponseWriter, r *http.Request) {
	id := strings.TrimPrefix(r.URL.Path, "/response/")
	var resp Response
	if r.Method != http.MethodPost || json.NewDecoder(r.Body).Decode(&resp) != nil {
		http.Error(w, "invalid_payload", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	created, ok := s.responseAt[id]
	count := len(s.responses[id])
	s.mu.Unlock()
	switch {
	case !ok:
		http.Error(w, "no_such_url", http.StatusNotFound)
		return
	case s.opts.Clock().Sub(created) > 30*time.Minute:
		http.Error(w, "expired_url", http.StatusNotFound)
		return
	case count >= 5:
		http.Error(w, "used_url", http.StatusNotFound)
		return
	}
	if err := ValidateMessage(resp.Text, resp.Blocks); err != nil {
		writeJSON(w, map[string]any{"ok": false, "error": err.Error()})
		return
	}
	s.mu.Lock()
	s.responses[id] = append(s.responses[id], resp)
	s.mu.Unlock()
	writeJSON(w, map[string]any{"ok": true})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}
