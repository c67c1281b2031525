// Package capacity bounds what one vendor instance is asked at once: an
// operation holds a slot while it talks to the vendor, waits for one at
// most a set time, and is answered vendors.ErrBusy at once when the
// operations already waiting would not get theirs in that time. Not
// getting a slot means no request was sent, so none timed out.
package capacity

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/sessionbot/sessionbot/vendors"
)

// Defaults for the max_connections and queue_wait settings.
const (
	DefaultMaxConnections = 32
	DefaultQueueWait      = 5 * time.Second
)

// Check applies the defaults to the max_connections and queue_wait
// settings (zero means the default) and lists what is wrong with them
// under those keys, in the same words for every adapter.
func Check(maxConnections int, queueWait time.Duration) (int, time.Duration, vendors.ConfigProblems) {
	n := cmp.Or(maxConnections, DefaultMaxConnections)
	wait := cmp.Or(queueWait, DefaultQueueWait)
	var problems vendors.ConfigProblems
	if n < 0 {
		problems.Add("max_connections", fmt.Sprint(n), "write a positive number such as 32, or leave it out", "is negative")
	}
	if wait < 0 {
		problems.Add("queue_wait", wait.String(), "write a positive duration such as 5s", "is negative")
	}
	return n, wait, problems
}

// Slots are an instance's n slots. An operation takes one for all the
// requests it makes in turn, so that the connections open to the vendor
// never outnumber the slots.
type Slots struct {
	tokens chan struct{}
	wait   time.Duration // the most an operation may wait for a slot
	what   string        // what a slot stands for, in errors: "connections to each proxy"

	mu      sync.Mutex
	waiting int           // lists waiting (Bounded)
	changes int           // changes waiting (ForChange)
	hold    time.Duration // how long operations held a slot lately (moving average, each at most wait)
}

// New makes n slots, waited for at most wait; what names them in errors
// ("all 32 <what> are in use").
func New(n int, wait time.Duration, what string) *Slots {
	return &Slots{tokens: make(chan struct{}, n), wait: wait, what: what}
}

// Take waits for a slot as Bounded does, or, when ctx is marked by
// vendors.ForChange, as ForChange does.
func (s *Slots) Take(ctx context.Context) (release func(), err error) {
	if vendors.IsForChange(ctx) {
		return s.ForChange(ctx)
	}
	return s.Bounded(ctx)
}

// Bounded waits for a slot, at most the queue wait and no later than ctx
// allows. When the operations already waiting would likely take longer
// than that to get theirs, it does not wait at all.
func (s *Slots) Bounded(ctx context.Context) (release func(), err error) {
	if release, ok := s.tryTake(); ok {
		return release, nil
	}
	s.mu.Lock()
	if expected := time.Duration(s.waiting+1) * s.hold / time.Duration(cap(s.tokens)); expected > s.wait {
		waiting := s.waiting
		s.mu.Unlock()
		return nil, fmt.Errorf("all %d %s are in use and %d requests already wait for one: %w", cap(s.tokens), s.what, waiting, vendors.ErrBusy)
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
		return nil, fmt.Errorf("all %d %s stayed in use for %s: %w", cap(s.tokens), s.what, s.wait, vendors.ErrBusy)
	case <-ctx.Done():
		return nil, s.gaveUp(ctx)
	}
}

// ForChange waits for a slot as long as ctx allows: ending a session
// someone approved is not turned away for lists queueing.
func (s *Slots) ForChange(ctx context.Context) (release func(), err error) {
	if release, ok := s.tryTake(); ok {
		return release, nil
	}
	s.mu.Lock()
	s.changes++
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.changes--
		s.mu.Unlock()
	}()
	select {
	case s.tokens <- struct{}{}:
		return s.releaser(), nil
	case <-ctx.Done():
		return nil, s.gaveUp(ctx)
	}
}

// Extra takes a slot only if one is free, for an operation that holds
// one already and could use more: it never waits, so an operation never
// blocks on a second slot while holding its first. A slot freed while
// others wait goes to them, not here; the holder of an extra gives it
// back once Wanted says others wait.
func (s *Slots) Extra() (release func(), ok bool) { return s.tryTake() }

// tryTake takes a slot if one is free, without waiting: the first step of
// every way to get one.
func (s *Slots) tryTake() (release func(), ok bool) {
	select {
	case s.tokens <- struct{}{}:
		return s.releaser(), true
	default:
		return nil, false
	}
}

func (s *Slots) gaveUp(ctx context.Context) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("all %d %s stayed in use until the deadline: %w", cap(s.tokens), s.what, vendors.ErrBusy)
	}
	return fmt.Errorf("request cancelled: %w", ctx.Err())
}

// Wanted reports whether any operation, list or change, waits for a
// slot: one holding an extra gives it back at its next step.
func (s *Slots) Wanted() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.waiting+s.changes > 0
}

// Waiting counts the lists waiting for a slot.
func (s *Slots) Waiting() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.waiting
}

// Free counts the slots no operation holds.
func (s *Slots) Free() int { return cap(s.tokens) - len(s.tokens) }

// releaser gives the slot back and learns how long it was held.
func (s *Slots) releaser() func() {
	taken := time.Now()
	return func() {
		// A hold past the queue wait (a list of everyone, for minutes)
		// counts as the queue wait: it says nothing of how soon the
		// other slots come free, and would make lists busy at once.
		held := min(time.Since(taken), s.wait)
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
