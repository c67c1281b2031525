package qlik

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/sessionbot/sessionbot/vendors"
)

// slots bound the operations asking an instance's proxies at once to
// MaxConnections, so that no proxy has more connections open than that. An
// operation holds one slot for all the proxies it asks: a list gets every
// proxy at once or none, rather than waiting on each separately and keeping
// some connections busy for an answer that cannot be whole.
type slots struct {
	tokens chan struct{}
	wait   time.Duration // the most an operation may wait for a slot

	mu      sync.Mutex
	waiting int
	hold    time.Duration // how long operations held a slot lately (moving average)
}

func newSlots(n int, wait time.Duration) *slots {
	return &slots{tokens: make(chan struct{}, n), wait: wait}
}

// take waits for a slot, at most s.wait and no later than ctx allows.
// When the operations already waiting would likely take longer than that
// to get theirs, it does not wait at all. Not getting a slot is
// vendors.ErrBusy: no proxy was asked, so none timed out.
func (s *slots) take(ctx context.Context) (release func(), err error) {
	select {
	case s.tokens <- struct{}{}:
		return s.releaser(), nil
	default:
	}
	s.mu.Lock()
	if expected := time.Duration(s.waiting+1) * s.hold / time.Duration(cap(s.tokens)); expected > s.wait {
		waiting := s.waiting
		s.mu.Unlock()
		return nil, fmt.Errorf("all %d connections to each proxy are in use and %d requests already wait for one: %w", cap(s.tokens), waiting, vendors.ErrBusy)
	}
	s.waiting++
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.waiting--
		s.mu.Unlock()
	}()

	timer := time.NewTimer(s.wait)
	defer timer.Stop()
	select {
	case s.tokens <- struct{}{}:
		return s.releaser(), nil
	case <-timer.C:
		return nil, fmt.Errorf("all %d connections to each proxy stayed in use for %s: %w", cap(s.tokens), s.wait, vendors.ErrBusy)
	case <-ctx.Done():
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return nil, fmt.Errorf("all %d connections to each proxy stayed in use until the deadline: %w", cap(s.tokens), vendors.ErrBusy)
		}
		return nil, fmt.Errorf("request cancelled: %w", ctx.Err())
	}
}

// takeForChange waits for a slot as long as ctx allows: ending a
// session someone approved is not turned away for lists queueing.
func (s *slots) takeForChange(ctx context.Context) (release func(), err error) {
	select {
	case s.tokens <- struct{}{}:
		return s.releaser(), nil
	case <-ctx.Done():
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return nil, fmt.Errorf("all %d connections to each proxy stayed in use until the deadline: %w", cap(s.tokens), vendors.ErrBusy)
		}
		return nil, fmt.Errorf("request cancelled: %w", ctx.Err())
	}
}

// releaser gives the slot back and learns how long it was held.
func (s *slots) releaser() func() {
	taken := time.Now()
	return func() {
		held := time.Since(taken)
		<-s.tokens
		s.mu.Lock()
		if s.hold == 0 {
			s.hold = held
		} else {
			s.hold += (held - s.hold) / 8
		}
		s.mu.Unlock()
	}
}
