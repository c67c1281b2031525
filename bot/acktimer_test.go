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
	timer.queued(arrived)
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
