package bot

import (
	"sync"
	"sync/atomic"
	"time"
)

// maxUnwritten bounds the arrivals kept for acks not written yet; past it
// the oldest are dropped (a connection that stopped writing).
const maxUnwritten = 10000

// maxAckWait is how long work waits for its ack to be written before it
// starts anyway: an ack lost with its connection is never written.
const maxAckWait = 500 * time.Millisecond

// ackTimer times acks on the wire: from an envelope's arrival in Run to
// the moment its ack has been written to the socket, not merely queued.
// slack-go queues acks for a single writer goroutine, in order, and
// gorilla/websocket gives a message's write buffer back to its pool once
// the message is written; the bot writes no other messages. So the n-th
// buffer given back is the n-th ack queued.
type ackTimer struct {
	mu      sync.Mutex
	arrived []unwritten // acks queued, oldest first
	buffers sync.Pool
	observe func(took time.Duration)
}

// unwritten is an ack queued and not written yet.
type unwritten struct {
	arrived time.Time
	then    *afterAck // nil when nothing waits for it
}

// afterAck is work that starts once its ack is written, so that during a
// burst the goroutines it spawns do not queue ahead of slack-go's writer.
type afterAck struct {
	start   func()
	started atomic.Bool
	timer   *time.Timer // starts it anyway after maxAckWait
}

func newAfterAck(start func()) *afterAck {
	a := &afterAck{start: start}
	a.timer = time.AfterFunc(maxAckWait, a.begin)
	return a
}

// run starts the work now, if nothing did yet.
func (a *afterAck) run() {
	if a != nil {
		a.timer.Stop()
		a.begin()
	}
}

func (a *afterAck) begin() {
	if a.started.CompareAndSwap(false, true) {
		a.start()
	}
}

// queued records an ack handed to slack-go for an envelope that arrived
// at the given time; then, if not nil, starts once the ack is written.
func (t *ackTimer) queued(arrived time.Time, then func()) {
	u := unwritten{arrived: arrived}
	if then != nil {
		u.then = newAfterAck(then)
	}
	t.mu.Lock()
	var dropped unwritten
	if len(t.arrived) >= maxUnwritten {
		dropped, t.arrived = t.arrived[0], t.arrived[1:]
	}
	t.arrived = append(t.arrived, u)
	t.mu.Unlock()
	dropped.then.run()
}

// notQueued takes back the latest queued, slack-go refused it, and starts
// what waited for it.
func (t *ackTimer) notQueued() {
	t.mu.Lock()
	var last unwritten
	if n := len(t.arrived); n > 0 {
		last, t.arrived = t.arrived[n-1], t.arrived[:n-1]
	}
	t.mu.Unlock()
	last.then.run()
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
	oldest := t.arrived[0]
	t.arrived = t.arrived[1:]
	t.mu.Unlock()
	t.observe(written.Sub(oldest.arrived))
	oldest.then.run()
}
