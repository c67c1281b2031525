package bot

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// gatedConn holds every write after the websocket handshake until its
// gate opens, as a socket whose send buffer is full would.
type gatedConn struct {
	net.Conn
	mu     sync.Mutex
	gated  bool
	gate   chan struct{}
	wrote  chan struct{} // a gated write began
	signal sync.Once
}

func (c *gatedConn) Write(b []byte) (int, error) {
	c.mu.Lock()
	gated := c.gated
	c.mu.Unlock()
	if gated {
		c.signal.Do(func() { close(c.wrote) })
		<-c.gate
	}
	return c.Conn.Write(b)
}

// TestAcksAreTimedWhenWrittenNotWhenQueued: with gorilla/websocket
// writing through the ackTimer's buffer pool, an ack is reported only once
// its bytes went to the socket, however long the socket makes it wait.
func TestAcksAreTimedWhenWrittenNotWhenQueued(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := (&websocket.Upgrader{}).Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer ws.Close()
		for {
			if _, _, err := ws.ReadMessage(); err != nil {
				return
			}
		}
	}))
	defer srv.Close()

	observed := make(chan time.Duration, 10)
	timer := &ackTimer{observe: func(d time.Duration) { observed <- d }}
	conn := &gatedConn{gate: make(chan struct{}), wrote: make(chan struct{})}
	dialer := &websocket.Dialer{
		WriteBufferPool: timer,
		NetDialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			conn.Conn = c
			return conn, err
		},
	}
	ws, _, err := dialer.Dial("ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	conn.mu.Lock()
	conn.gated = true
	conn.mu.Unlock()

	arrived := time.Now()
	timer.queued(arrived, nil)
	written := make(chan error, 1)
	go func() { written <- ws.WriteMessage(websocket.TextMessage, []byte(`{"envelope_id":"e1"}`)) }()
	<-conn.wrote
	select {
	case <-observed:
		t.Fatal("the ack was reported while its write was still blocked")
	case <-time.After(50 * time.Millisecond):
	}
	close(conn.gate)
	if err := <-written; err != nil {
		t.Fatal(err)
	}
	select {
	case took := <-observed:
		if took <= 0 {
			t.Errorf("took %v", took)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the written ack was never reported")
	}
	if len(timer.arrived) != 0 {
		t.Errorf("%d arrivals left", len(timer.arrived))
	}
}

// TestWorkStartsOnceItsAckIsWritten: work handed over with an ack starts
// only after the ack's bytes went to the socket, so that a burst's work
// does not queue ahead of slack-go's writer.
func TestWorkStartsOnceItsAckIsWritten(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := (&websocket.Upgrader{}).Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer ws.Close()
		for {
			if _, _, err := ws.ReadMessage(); err != nil {
				return
			}
		}
	}))
	defer srv.Close()

	var order []string
	var mu sync.Mutex
	note := func(s string) {
		mu.Lock()
		defer mu.Unlock()
		order = append(order, s)
	}
	timer := &ackTimer{observe: func(time.Duration) { note("written") }}
	conn := &gatedConn{gate: make(chan struct{}), wrote: make(chan struct{})}
	dialer := &websocket.Dialer{
		WriteBufferPool: timer,
		NetDialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			conn.Conn = c
			return conn, err
		},
	}
	ws, _, err := dialer.Dial("ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	conn.mu.Lock()
	conn.gated = true
	conn.mu.Unlock()

	started := make(chan struct{})
	timer.queued(time.Now(), func() { note("started"); close(started) })
	written := make(chan error, 1)
	go func() { written <- ws.WriteMessage(websocket.TextMessage, []byte(`{"envelope_id":"e1"}`)) }()
	<-conn.wrote
	close(conn.gate)
	if err := <-written; err != nil {
		t.Fatal(err)
	}
	<-started
	mu.Lock()
	defer mu.Unlock()
	if strings.Join(order, " ") != "written started" {
		t.Errorf("order %q, want the ack written before the work started", order)
	}
}

// TestWorkStartsWhenItsAckIsNotWritten: work whose ack slack-go refused,
// or that was dropped, or never written (its connection lost), still
// starts.
func TestWorkStartsWhenItsAckIsNotWritten(t *testing.T) {
	for _, tc := range []struct {
		name string
		lose func(*ackTimer)
	}{
		{"refused", (*ackTimer).notQueued},
		{"never written", func(*ackTimer) {}},
		{"dropped", func(timer *ackTimer) {
			for range maxUnwritten {
				timer.queued(time.Now(), nil)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			timer := &ackTimer{observe: func(time.Duration) {}}
			started := make(chan struct{})
			timer.queued(time.Now(), func() { close(started) })
			tc.lose(timer)
			select {
			case <-started:
			case <-time.After(10 * maxAckWait):
				t.Fatal("the work never started")
			}
		})
	}
}
