package commands

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/sessionbot/sessionbot/store"
)

// DefaultAuditMirrorQueue is Approvals.AuditMirrorQueue when unset: a
// minute of a busy bot's events, a few hundred kilobytes at most.
const DefaultAuditMirrorQueue = 1000

// mirrorDropLogEvery spaces the warnings about dropped mirror copies: a
// stalled messenger would otherwise log once per event.
const mirrorDropLogEvery = time.Minute

// AuditMirrorObserver, when the service's Observer implements it, is told
// of every audit event the mirror dropped (its queue was full or closed).
type AuditMirrorObserver interface {
	AuditMirrorDropped()
}

// auditMirror copies audit events to the Notifier's audit destination from
// a bounded queue and one sender, so no reply, vote or execution waits on
// a round trip to the messenger. The audit log itself is the store: a
// copy dropped here is counted and logged, and nothing is lost.
type auditMirror struct {
	notifier Notifier
	dest     string
	logger   *slog.Logger
	clock    func() time.Time
	observer AuditMirrorObserver // nil: not counted

	queue chan store.Event
	// stop cancels a send in progress when a close runs out of time.
	sendCtx context.Context
	stop    context.CancelFunc
	done    chan struct{}

	mu      sync.RWMutex
	closed  bool
	dropMu  sync.Mutex
	dropped int // since the last warning
	warned  time.Time
}

func newAuditMirror(n Notifier, dest string, size int, logger *slog.Logger, clock func() time.Time, o Observer) *auditMirror {
	if size <= 0 {
		size = DefaultAuditMirrorQueue
	}
	m := &auditMirror{notifier: n, dest: dest, logger: logger, clock: clock,
		queue: make(chan store.Event, size), done: make(chan struct{})}
	m.observer, _ = o.(AuditMirrorObserver)
	m.sendCtx, m.stop = context.WithCancel(context.Background())
	go m.send()
	return m
}

// add queues e without waiting; a full or closed queue drops it.
func (m *auditMirror) add(e store.Event) {
	m.mu.RLock()
	queued := false
	if !m.closed {
		select {
		case m.queue <- e:
			queued = true
		default:
		}
	}
	m.mu.RUnlock()
	if !queued {
		m.drop(e)
	}
}

func (m *auditMirror) drop(e store.Event) {
	if m.observer != nil {
		m.observer.AuditMirrorDropped()
	}
	m.dropMu.Lock()
	defer m.dropMu.Unlock()
	m.dropped++
	if now := m.clock(); m.warned.IsZero() || now.Sub(m.warned) >= mirrorDropLogEvery {
		m.logger.Warn("audit mirror copies dropped: its queue is full or stopping (the audit log keeps every event)", "dropped", m.dropped, "action", e.Action)
		m.warned, m.dropped = now, 0
	}
}

func (m *auditMirror) send() {
	defer close(m.done)
	for e := range m.queue {
		if m.sendCtx.Err() != nil {
			m.drop(e) // stopped: a copy taken now could not be sent
			continue
		}
		ctx, cancel := context.WithTimeout(m.sendCtx, notifyTimeout)
		if err := m.notifier.MirrorAudit(ctx, m.dest, e); err != nil {
			m.logger.Warn("audit mirror failed", "action", e.Action, "error", err)
		}
		cancel()
	}
}

// close stops taking events and sends what is queued until ctx ends; then
// it cancels the send in progress and drops the rest, without waiting for
// a messenger that ignores cancellation. It returns how many copies were
// dropped and not yet in a warning: those, and the drops since the last
// one.
func (m *auditMirror) close(ctx context.Context) int {
	m.mu.Lock()
	if !m.closed {
		m.closed = true
		close(m.queue)
	}
	m.mu.Unlock()
	left := 0
	select {
	case <-m.done:
	case <-ctx.Done():
		m.stop()
		for range m.queue { // closed: ends once empty, racing the sender
			left++
			if m.observer != nil {
				m.observer.AuditMirrorDropped()
			}
		}
	}
	m.dropMu.Lock()
	defer m.dropMu.Unlock()
	left, m.dropped = left+m.dropped, 0
	return left
}
