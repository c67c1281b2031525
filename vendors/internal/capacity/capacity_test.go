package capacity_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sessionbot/sessionbot/vendors"
	"github.com/sessionbot/sessionbot/vendors/internal/capacity"
)

func TestCheckGivesDefaultsAndNamesTheKeys(t *testing.T) {
	tests := []struct {
		name     string
		conns    int
		wait     time.Duration
		wantN    int
		wantWait time.Duration
		problems []string // "key: problem"
	}{
		{"left out, the defaults", 0, 0, 32, 5 * time.Second, nil},
		{"set, kept", 4, time.Second, 4, time.Second, nil},
		{"negative, refused under each key", -1, -time.Second, -1, -time.Second,
			[]string{`max_connections "-1": is negative`, `queue_wait "-1s": is negative`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, wait, problems := capacity.Check(tt.conns, tt.wait)
			if n != tt.wantN || wait != tt.wantWait {
				t.Errorf("got %d, %s; want %d, %s", n, wait, tt.wantN, tt.wantWait)
			}
			if len(problems) != len(tt.problems) {
				t.Fatalf("problems %v, want %v", problems, tt.problems)
			}
			for i, p := range problems {
				if got := p.Error(); !strings.HasPrefix(got, tt.problems[i]) {
					t.Errorf("problem %q, want it to start %q", got, tt.problems[i])
				}
			}
		})
	}
}

// TestWaitingDependsOnWhatTheOperationIs: with the one slot held, a list
// is busy after the queue wait, while a change (marked or not) waits for
// the slot; an extra slot is never taken from those waiting.
func TestWaitingDependsOnWhatTheOperationIs(t *testing.T) {
	const wait = 20 * time.Millisecond
	tests := []struct {
		name     string
		take     func(s *capacity.Slots, ctx context.Context) (func(), error)
		wantBusy bool
	}{
		{"a list is busy after the queue wait", (*capacity.Slots).Take, true},
		{"a list is busy after the queue wait, when bounded by name", (*capacity.Slots).Bounded, true},
		{"a change marked by ForChange waits", func(s *capacity.Slots, ctx context.Context) (func(), error) {
			return s.Take(vendors.ForChange(ctx))
		}, false},
		{"a change waits", (*capacity.Slots).ForChange, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := capacity.New(1, wait, "connections to the test")
			held, err := s.Bounded(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			got := make(chan error, 1)
			go func() {
				release, err := tt.take(s, t.Context())
				if err == nil {
					release()
				}
				got <- err
			}()
			time.Sleep(5 * wait) // longer than a list may wait
			if tt.wantBusy {
				err := <-got
				if !errors.Is(err, vendors.ErrBusy) {
					t.Fatalf("err = %v, want busy", err)
				}
				held()
				return
			}
			if _, ok := s.Extra(); ok {
				t.Fatal("an extra slot was taken while none was free")
			}
			select {
			case err := <-got:
				t.Fatalf("gave up while the slot was held: %v", err)
			default:
			}
			held() // goes to the waiting change, not to an extra
			if err := <-got; err != nil {
				t.Fatal(err)
			}
			release, ok := s.Extra()
			if !ok {
				t.Fatal("no extra slot once every slot was free")
			}
			release()
			if s.Free() != 1 {
				t.Fatalf("%d slots free, want 1", s.Free())
			}
		})
	}
}

// TestOneLongHoldDoesNotTurnListsAwayAtOnce: a list of everyone holds its
// slot for minutes on a large vendor, where a list of one person holds it
// for a moment. That one long hold must not make the next lists busy at
// once when a slot comes free well within the queue wait.
func TestOneLongHoldDoesNotTurnListsAwayAtOnce(t *testing.T) {
	const wait = 300 * time.Millisecond
	tests := []struct {
		name string
		long time.Duration // how long the first operation held its slot
	}{
		{"as long as the queue wait", wait},
		{"three times the queue wait", 3 * wait},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := capacity.New(1, wait, "connections to the test")
			release, err := s.Bounded(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			time.Sleep(tt.long)
			release()

			held, err := s.Bounded(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			time.AfterFunc(wait/10, held)
			start := time.Now()
			release, err = s.Bounded(t.Context())
			if err != nil {
				t.Fatalf("after %s: %v; want the slot freed after %s", time.Since(start).Round(time.Millisecond), err, wait/10)
			}
			release()
		})
	}
}
