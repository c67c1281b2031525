package storetest

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sessionbot/sessionbot/store"
)

// reminders returns s as store.Reminders, failing the test when the engine
// lacks it.
func reminders(t testing.TB, s store.Store) store.Reminders {
	t.Helper()
	r, ok := s.(store.Reminders)
	if !ok {
		t.Fatalf("%T does not implement store.Reminders", s)
	}
	return r
}

// posted is a pending request whose approval message is in Slack.
func posted(t testing.TB, s store.Store, r store.Request) store.Request {
	t.Helper()
	create(t, s, r)
	if err := s.SetApprovalMessage(t.Context(), r.ID, "C0APPROVALS", "1700000000.000100"); err != nil {
		t.Fatal(err)
	}
	return r
}

func ids(rs []store.Request) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.ID)
	}
	return out
}

func hygiene(t *testing.T, fresh Fresh) {
	t.Run("a reminder is due at half the TTL, without votes, once", func(t *testing.T) {
		t.Parallel()
		open := fresh(t)
		s := open(t)
		due := posted(t, s, NewRequest(2)) // TTL 15m: due at T0+7m30s
		older := NewRequest(1)
		older.CreatedAt, older.ExpiresAt = T0.Add(-time.Hour), T0.Add(15*time.Minute)
		posted(t, s, older)
		voted := posted(t, s, NewRequest(2))
		if _, err := vote(t, s, voted.ID, "U1", true, T0); err != nil {
			t.Fatal(err)
		}
		unposted := create(t, s, NewRequest(1))
		denied := posted(t, s, NewRequest(1))
		vote(t, s, denied.ID, "U1", false, T0)

		if got, err := reminders(t, s).ClaimReminders(t.Context(), T0.Add(7*time.Minute)); err != nil || len(got) != 1 || got[0].ID != older.ID {
			t.Fatalf("before half the TTL: %v, %v; want only the older request", ids(got), err)
		}
		got, err := reminders(t, s).ClaimReminders(t.Context(), T0.Add(7*time.Minute+30*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(ids(got)) != fmt.Sprint([]string{due.ID}) {
			t.Errorf("reminded %v, want %v (not voted %s, unposted %s, denied %s)", ids(got), due.ID, voted.ID, unposted.ID, denied.ID)
		}
		if len(got) == 1 && (got[0].State != store.StatePending || got[0].ApprovalTS == "") {
			t.Errorf("claimed request reads %+v", got[0])
		}
		// A restart (a new handle) and a later sweep remind nobody again.
		if again, err := reminders(t, open(t)).ClaimReminders(t.Context(), T0.Add(14*time.Minute)); err != nil || len(again) != 0 {
			t.Errorf("reminded again after a restart: %v, %v", ids(again), err)
		}
	})
	t.Run("an expired request is not reminded", func(t *testing.T) {
		t.Parallel()
		s := fresh(t)(t)
		posted(t, s, NewRequest(1))
		if got, err := reminders(t, s).ClaimReminders(t.Context(), T0.Add(15*time.Minute)); err != nil || len(got) != 0 {
			t.Errorf("reminded at expiry: %v, %v", ids(got), err)
		}
	})
	t.Run("100 concurrent sweeps on two replicas remind each request once", func(t *testing.T) {
		t.Parallel()
		open := fresh(t)
		replicas := []store.Store{open(t), open(t)}
		var want []string
		for range 3 {
			want = append(want, posted(t, replicas[0], NewRequest(1)).ID)
		}
		var mu sync.Mutex
		var got []string
		race(100, func(i int) {
			rs, err := reminders(t, replicas[i%2]).ClaimReminders(t.Context(), T0.Add(10*time.Minute))
			if err != nil {
				t.Errorf("sweep %d: %v", i, err)
			}
			mu.Lock()
			got = append(got, ids(rs)...)
			mu.Unlock()
		})
		slices.Sort(got)
		slices.Sort(want)
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("reminded %v, want each of %v once", got, want)
		}
	})
}
