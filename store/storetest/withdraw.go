package storetest

import (
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessionbot/sessionbot/store"
)

// withdraw: only the requester takes back a pending request, exactly once.
func withdraw(t *testing.T, fresh Fresh) {
	t.Run("the requester withdraws a pending request once, under a race", func(t *testing.T) {
		t.Parallel()
		open := fresh(t)
		a, b := open(t), open(t)
		r := create(t, a, NewRequest(2))
		var won atomic.Int32
		race(8, func(i int) {
			s := a
			if i%2 == 1 {
				s = b
			}
			got, err := s.Withdraw(t.Context(), r.ID, r.Requester, T0.Add(time.Minute))
			switch {
			case err == nil:
				won.Add(1)
				if got.State != store.StateDenied || got.Outcome != store.WithdrawnOutcome {
					t.Errorf("withdrawn request is %s %q", got.State, got.Outcome)
				}
			case !errors.Is(err, store.ErrNotPending):
				t.Errorf("second withdraw: %v, want ErrNotPending", err)
			}
		})
		if won.Load() != 1 {
			t.Fatalf("%d withdrawals succeeded, want 1", won.Load())
		}
		if _, err := vote(t, a, r.ID, "U1", true, T0.Add(2*time.Minute)); !errors.Is(err, store.ErrNotPending) {
			t.Fatalf("vote after withdrawal: %v, want ErrNotPending", err)
		}
	})
	t.Run("only the requester withdraws", func(t *testing.T) {
		t.Parallel()
		s := fresh(t)(t)
		r := create(t, s, NewRequest(1))
		if _, err := s.Withdraw(t.Context(), r.ID, "U0OTHER", T0); !errors.Is(err, store.ErrNotRequester) {
			t.Fatalf("withdraw by another person: %v, want ErrNotRequester", err)
		}
		if got := state(t, s, r.ID); got != store.StatePending {
			t.Fatalf("state after a refused withdrawal: %s", got)
		}
		if _, err := s.Withdraw(t.Context(), "NOSUCHID", r.Requester, T0); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("withdraw of a missing request: %v, want ErrNotFound", err)
		}
	})
	t.Run("an approved request cannot be withdrawn", func(t *testing.T) {
		t.Parallel()
		s := fresh(t)(t)
		r := approved(t, s)
		if _, err := s.Withdraw(t.Context(), r.ID, r.Requester, T0); !errors.Is(err, store.ErrNotPending) {
			t.Fatalf("withdraw of an approved request: %v, want ErrNotPending", err)
		}
	})
}
