package slacktest

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// MaxAckBytes is the size from which Slack drops an ack frame (20 KB).
const MaxAckBytes = 20 * 1024

// writeTimeout bounds every websocket write, so a client that stopped
// reading cannot block the fake.
const writeTimeout = 5 * time.Second

// Ack is one acknowledgement a client sent for an envelope.
type Ack struct {
	EnvelopeID string
	Payload    json.RawMessage
	// RetryAttempt is that of the latest delivery written before the ack
	// arrived (0 for the first): acks do not say which one they answer.
	RetryAttempt int
	// SentAt is when that delivery was written, AckedAt when the ack was
	// read; Latency is the difference (Slack wants it under 3 s).
	SentAt, AckedAt time.Time
	Latency         time.Duration
	// Connection is the serial number of the websocket the ack came on.
	Connection int
	// PayloadIgnored is set when the envelope did not accept a response
	// payload (events, block actions): Slack drops it and shows nothing.
	PayloadIgnored bool
	// Err says why Slack refuses this ack (20 KB or more, a message over
	// Slack's limits); such an ack counts as missing.
	Err error
}

// envelope is one delivery of a slash command, interaction or event.
type envelope struct {
	id          string
	kind        string // slash_commands, interactive, events_api
	interaction string // block_actions or view_submission for interactive
	payload     json.RawMessage
	accepts     bool
	retry       int
	retryReason string
	sentAt      time.Time
	conn        int // serial of the connection it was last written to
}

type wireEnvelope struct {
	EnvelopeID             string          `json:"envelope_id"`
	Type                   string          `json:"type"`
	Payload                json.RawMessage `json:"payload"`
	AcceptsResponsePayload bool            `json:"accepts_response_payload"`
	RetryAttempt           int             `json:"retry_attempt"`
	RetryReason            string          `json:"retry_reason"`
}

type conn struct {
	serial int
	ws     *websocket.Conn
	// writeMu serialises writes: gorilla allows one writer at a time.
	writeMu sync.Mutex
	gone    chan struct{}
}

func (c *conn) write(data []byte) error {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	c.ws.SetWriteDeadline(time.Now().Add(writeTimeout))
	return c.ws.WriteMessage(websocket.TextMessage, data)
}

// ConnectionsOpened counts apps.connections.open calls that handed out a
// websocket URL; it grows by one on every reconnect.
func (s *Server) ConnectionsOpened() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.opened
}

// Connections counts live websockets.
func (s *Server) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// WaitConnections waits until at least n websockets are live.
func (s *Server) WaitConnections(n int, timeout time.Duration) error {
	err := s.waitFor(timeout, func() bool { return len(s.conns) >= n })
	if err == errTimeout {
		return fmt.Errorf("slacktest: %d websocket connections after %s, want %d", s.Connections(), timeout, n)
	}
	return err
}

// FailConnections makes apps.connections.open answer code (invalid_auth,
// token_revoked, account_inactive...) until called with "". slack-go's
// RunContext treats these as fatal and returns.
func (s *Server) FailConnections(code string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.openError = code
}

// DropConnections closes every websocket abruptly, without a close frame,
// as a network failure would. Clients must reconnect through
// apps.connections.open.
func (s *Server) DropConnections() {
	s.mu.Lock()
	conns := s.conns
	s.conns = nil
	s.notify()
	s.mu.Unlock()
	for _, c := range conns {
		c.ws.Close()
	}
}

// Disconnect sends Slack's disconnect message to every websocket, as Slack
// does before it moves a connection; "" means refresh_requested. Clients
// are expected to close the socket and reconnect.
func (s *Server) Disconnect(reason string) error {
	if reason == "" {
		reason = "refresh_requested"
	}
	msg, _ := json.Marshal(map[string]any{"type": "disconnect", "reason": reason,
		"debug_info": map[string]any{"host": "slacktest"}})
	s.mu.Lock()
	conns := append([]*conn(nil), s.conns...)
	s.mu.Unlock()
	for _, c := range conns {
		if err := c.write(msg); err != nil {
			return fmt.Errorf("slacktest: disconnect connection %d: %w", c.serial, err)
		}
	}
	return nil
}

func (s *Server) serveSocket(w http.ResponseWriter, r *http.Request) {
	ticket := r.URL.Query().Get("ticket")
	s.mu.Lock()
	valid := s.tickets[ticket]
	delete(s.tickets, ticket) // a ticket opens one connection
	s.mu.Unlock()
	if !valid {
		http.Error(w, "invalid or used ticket: call apps.connections.open for a new URL", http.StatusUnauthorized)
		return
	}
	ws, err := s.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader has answered
	}
	c := &conn{ws: ws, gone: make(chan struct{})}
	// Hold the write lock until hello is out, so no envelope precedes it.
	c.writeMu.Lock()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		c.writeMu.Unlock()
		ws.Close()
		return
	}
	s.connSerial++
	c.serial = s.connSerial
	s.conns = append(s.conns, c)
	live := len(s.conns)
	s.notify()
	s.mu.Unlock()
	hello, _ := json.Marshal(map[string]any{
		"type": "hello", "num_connections": live,
		"debug_info":      map[string]any{"host": "slacktest", "build_number": 1, "approximate_connection_time": 18060},
		"connection_info": map[string]any{"app_id": AppID},
	})
	ws.SetWriteDeadline(time.Now().Add(writeTimeout))
	err = ws.WriteMessage(websocket.TextMessage, hello)
	c.writeMu.Unlock()
	if err == nil {
		go s.ping(c)
		s.readAcks(c) // returns when the socket closes
	}
	s.forget(c)
}

// forget removes a closed connection.
func (s *Server) forget(c *conn) {
	close(c.gone)
	c.ws.Close()
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, x := range s.conns {
		if x == c {
			s.conns = append(s.conns[:i], s.conns[i+1:]...)
			s.notify()
			return
		}
	}
}

// ping sends websocket PINGs: slack-go reconnects when none arrive for its
// ping interval.
func (s *Server) ping(c *conn) {
	t := time.NewTicker(s.opts.PingInterval)
	defer t.Stop()
	for {
		select {
		case <-c.gone:
			return
		case <-s.done:
			return
		case <-t.C:
			if err := c.ws.WriteControl(websocket.PingMessage, []byte("ping"), time.Now().Add(writeTimeout)); err != nil {
				return
			}
		}
	}
}

// readAcks reads what a client sends: acks. gorilla's default ping handler
// answers the client's pings while this reads.
func (s *Server) readAcks(c *conn) {
	for {
		_, data, err := c.ws.ReadMessage()
		if err != nil {
			return
		}
		s.recordAck(c, data, time.Now())
	}
}

func (s *Server) recordAck(c *conn, data []byte, at time.Time) {
	var msg struct {
		EnvelopeID string          `json:"envelope_id"`
		Payload    json.RawMessage `json:"payload"`
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := json.Unmarshal(data, &msg); err != nil || msg.EnvelopeID == "" {
		s.violation("connection %d sent a frame that is not an ack (want {\"envelope_id\":...}): %.100s", c.serial, data)
		return
	}
	env, ok := s.envelopes[msg.EnvelopeID]
	if !ok {
		s.violation("connection %d acked unknown envelope %q", c.serial, msg.EnvelopeID)
		return
	}
	a := Ack{EnvelopeID: env.id, Payload: msg.Payload, RetryAttempt: env.retry,
		SentAt: env.sentAt, AckedAt: at, Latency: at.Sub(env.sentAt), Connection: c.serial}
	switch {
	case len(data) >= MaxAckBytes:
		a.Err = fmt.Errorf("ack of %s is %d bytes: Slack drops acks of %d bytes or more", env.id, len(data), MaxAckBytes)
	case isEmptyJSON(msg.Payload):
	case !env.accepts:
		a.PayloadIgnored = true
	default:
		a.Err = checkAckPayload(env, msg.Payload)
	}
	if a.Err != nil {
		s.violations = append(s.violations, a.Err)
	}
	s.acks[env.id] = append(s.acks[env.id], a)
	s.notify()
}

// checkAckPayload checks a response payload as Slack would use it: a
// message for a slash command, a response_action for a view submission.
func checkAckPayload(env *envelope, payload json.RawMessage) error {
	switch {
	case env.kind == "slash_commands":
		var m struct {
			Text   string          `json:"text"`
			Blocks json.RawMessage `json:"blocks"`
		}
		if err := json.Unmarshal(payload, &m); err != nil {
			return fmt.Errorf("ack of %s: payload is not a message object: %v", env.id, err)
		}
		if err := ValidateMessage(m.Text, m.Blocks); err != nil {
			return fmt.Errorf("ack of %s: %w", env.id, err)
		}
	case env.interaction == "view_submission":
		var r struct {
			ResponseAction string          `json:"response_action"`
			View           json.RawMessage `json:"view"`
		}
		if err := json.Unmarshal(payload, &r); err != nil {
			return fmt.Errorf("ack of %s: payload is not a response_action object: %v", env.id, err)
		}
		switch r.ResponseAction {
		case "errors", "clear":
		case "update", "push":
			if err := ValidateView(r.View); err != nil {
				return fmt.Errorf("ack of %s: response_action %s: %w", env.id, r.ResponseAction, err)
			}
		default:
			return fmt.Errorf("ack of %s: response_action %q, want errors, update, push or clear", env.id, r.ResponseAction)
		}
	}
	return nil
}

func isEmptyJSON(raw json.RawMessage) bool {
	switch string(raw) {
	case "", "null", "{}", `""`:
		return true
	}
	return false
}

// send delivers a new envelope to connection target (1-based among live
// connections), or to one chosen at random as Slack does when target is 0.
func (s *Server) send(kind, interaction string, payload any, target int, accepts bool) (string, error) {
	raw, err := json.Marshal(payload)
	if err != nil {
		return "", fmt.Errorf("slacktest: encode %s payload: %w", kind, err)
	}
	s.mu.Lock()
	id := fmt.Sprintf("5c1ac7e5-0000-4000-8000-%012d", s.nextSeq())
	env := &envelope{id: id, kind: kind, interaction: interaction, payload: raw, accepts: accepts}
	s.envelopes[id] = env
	s.mu.Unlock()
	return id, s.deliver(env, target)
}

// Redeliver sends an envelope again with retry_attempt raised and
// retry_reason "timeout", as Slack does when an ack is late, to a
// connection chosen at random.
func (s *Server) Redeliver(envelopeID string) error {
	s.mu.Lock()
	env, ok := s.envelopes[envelopeID]
	if ok {
		env.retry++
		env.retryReason = "timeout"
	}
	s.mu.Unlock()
	if !ok {
		return fmt.Errorf("slacktest: redeliver %q: no such envelope was sent", envelopeID)
	}
	return s.deliver(env, 0)
}

// RedeliverEvent sends an Events API envelope's event again in a new
// envelope, with the same event_id and retry_attempt raised, as Slack does
// when it retries an event: de-duplicating by envelope id misses it. It
// goes to connection target (1-based among live connections), or to one
// chosen at random when target is 0.
func (s *Server) RedeliverEvent(envelopeID string, target int) (Sent, error) {
	s.mu.Lock()
	env, ok := s.envelopes[envelopeID]
	var again *envelope
	if ok && env.kind == "events_api" {
		id := fmt.Sprintf("5c1ac7e5-0000-4000-8000-%012d", s.nextSeq())
		again = &envelope{id: id, kind: env.kind, payload: env.payload, accepts: env.accepts, retry: env.retry + 1, retryReason: "timeout"}
		s.envelopes[id] = again
	}
	s.mu.Unlock()
	if again == nil {
		return Sent{}, fmt.Errorf("slacktest: redeliver event %q: no such Events API envelope was sent", envelopeID)
	}
	return Sent{EnvelopeID: again.id}, s.deliver(again, target)
}

func (s *Server) deliver(env *envelope, target int) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	if len(s.conns) == 0 {
		s.mu.Unlock()
		return fmt.Errorf("slacktest: deliver %s: no Socket Mode connection is open (start the client, then WaitConnections)", env.kind)
	}
	if target > len(s.conns) || target < 0 {
		n := len(s.conns)
		s.mu.Unlock()
		return fmt.Errorf("slacktest: deliver %s to connection %d: %d connections are open", env.kind, target, n)
	}
	var c *conn
	if target == 0 {
		c = s.conns[rand.IntN(len(s.conns))]
	} else {
		c = s.conns[target-1]
	}
	data, _ := json.Marshal(wireEnvelope{EnvelopeID: env.id, Type: env.kind, Payload: env.payload,
		AcceptsResponsePayload: env.accepts, RetryAttempt: env.retry, RetryReason: env.retryReason})
	env.sentAt, env.conn = time.Now(), c.serial
	s.mu.Unlock()
	if err := c.write(data); err != nil {
		return fmt.Errorf("slacktest: deliver %s %s to connection %d: %w", env.kind, env.id, c.serial, err)
	}
	return nil
}

// DeliveredTo is the serial number of the connection that got the latest
// delivery of an envelope (0 if unknown). Serial numbers count every
// websocket the fake accepted, from 1.
func (s *Server) DeliveredTo(envelopeID string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if env, ok := s.envelopes[envelopeID]; ok {
		return env.conn
	}
	return 0
}

// Acks returns every ack received for an envelope, refused ones included.
func (s *Server) Acks(envelopeID string) []Ack {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Ack(nil), s.acks[envelopeID]...)
}

// WaitAck waits for the first ack of an envelope. An ack Slack would
// refuse is returned with its reason as the error.
func (s *Server) WaitAck(envelopeID string, timeout time.Duration) (Ack, error) {
	err := s.waitFor(timeout, func() bool { return len(s.acks[envelopeID]) > 0 })
	if err == errTimeout {
		return Ack{}, fmt.Errorf("slacktest: envelope %s not acked within %s", envelopeID, timeout)
	}
	if err != nil {
		return Ack{}, err
	}
	a := s.Acks(envelopeID)[0]
	if a.Err != nil {
		return a, fmt.Errorf("slacktest: %w", a.Err)
	}
	return a, nil
}
