package bot

import (
	"sync"
	"time"
)

// maxUnwritten bounds the arrivals kept for acks not written yet; past it
// the oldest are dropped (a connection that stopped writing).
const maxUnwritten = 10000

// ackTimer times acks on the wire: from an envelope's arrival in Run to
// the moment its ack has been written to the socket, not merely queued.
// slack-go queues acks for a single writer goroutine, in order, and
// gorilla/websocket gives a message's write buffer back to its pool once
// the message is written; the bot writes no other messages. So the n-th
// buffer given back is the n-th ack queued.
type ackTimer struct {
	mu      sync.Mutex
	arrived []time.Time // of acks queued, oldest first
	buffers sync.Pool
	observe func(took time.Duration)
}

// queued records an ack handed to slack-go for an envelope that arrived
// at the given time.
func (t *ackTimer) queued(arrived time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.arrived) >= maxUnwritten {
		t.arrived = t.arrived[1:]
	}
	t.arrived = append(t.arrived, arrived)
}

// notQueued takes back the latest queued: slack-go refused it.
func (t *ackTimer) notQueued() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if n := len(t.arrived); n > 0 {
		t.arrived = t.arrived[:n-1]
	}
}

// Get implements websocket.BufferPool.
func (t *ackTimer) Get() any { return t.buffers.Get() }

// Put implements websocket.BufferPool: a message was written.
func (t *ackTimer) Put(buf any) {
	written := time.Now()
	t.buffers.Put(buf)
	t.mu.Lock()
	if len(t.arrived) == 0 {
		t.mu.Unlock()
		return
	}
	arrived := t.arrived[0]
	t.arrived = t.arrived[1:]
	t.mu.Unlock()
	t.observe(written.Sub(arrived))
}
