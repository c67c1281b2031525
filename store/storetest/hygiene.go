package storetest

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sessionbot/sessionbot/store"
)

// as returns s as the optional interface T, failing the test when the
// engine lacks it.
func as[T any](t testing.TB, s store.Store) T {
	t.Helper()
	x, ok := s.(T)
	if !ok {
		t.Fatalf("%T does not implement %v", s, reflect.TypeFor[T]())
	}
	return x
}

func reminders(t testing.TB, s store.Store) store.Reminders {
	t.Helper()
	return as[store.Reminders](t, s)
}

// posted is a pending request whose approval message was posted.
func posted(t testing.TB, s store.Store, r store.Request) store.Request {
	t.Helper()
	create(t, s, r)
	if err := s.SetApprovalMessage(t.Context(), r.ID, "message 1700000000.000100"); err != nil {
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
		if len(got) == 1 && (got[0].State != store.StatePending || got[0].ApprovalShown == "") {
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
		replicas := twoReplicas(t, fresh)
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

func pruner(t testing.TB, s store.Store) store.Pruner {
	t.Helper()
	return as[store.Pruner](t, s)
}

func reports(t testing.TB, s store.Store) store.Reports {
	t.Helper()
	return as[store.Reports](t, s)
}

const day = 24 * time.Hour

// requestAt is a pending request made at created.
func requestAt(created time.Time) store.Request {
	r := NewRequest(1)
	r.CreatedAt, r.ExpiresAt = created, created.Add(15*time.Minute)
	return r
}

func retention(t *testing.T, fresh Fresh) {
	keep := store.Retention{Requests: 90 * day, Events: 365 * day, Counts: 30 * day}
	t.Run("retention prunes only what is older than its setting", func(t *testing.T) {
		t.Parallel()
		s := fresh(t)(t)
		ctx := t.Context()
		// Requests, by when they finished.
		deniedOld := create(t, s, requestAt(T0.Add(-100*day)))
		vote(t, s, deniedOld.ID, "U1", false, T0.Add(-100*day))
		deniedAtLimit := create(t, s, requestAt(T0.Add(-90*day)))
		vote(t, s, deniedAtLimit.ID, "U1", false, T0.Add(-90*day))
		doneOld := create(t, s, requestAt(T0.Add(-100*day)))
		vote(t, s, doneOld.ID, "U1", true, T0.Add(-100*day))
		if _, err := s.ClaimExecution(ctx, doneOld.ID, "x", T0.Add(-100*day), time.Minute); err != nil {
			t.Fatal(err)
		}
		if err := s.FinishExecution(ctx, doneOld.ID, "x", store.StateDone, "ended", T0.Add(-95*day)); err != nil {
			t.Fatal(err)
		}
		// Made long ago but finished lately: kept.
		doneLately := create(t, s, requestAt(T0.Add(-100*day)))
		vote(t, s, doneLately.ID, "U1", true, T0.Add(-100*day))
		s.ClaimExecution(ctx, doneLately.ID, "x", T0.Add(-100*day), time.Minute)
		s.FinishExecution(ctx, doneLately.ID, "x", store.StateDone, "ended", T0.Add(-time.Hour))
		unknownOld := create(t, s, requestAt(T0.Add(-100*day)))
		vote(t, s, unknownOld.ID, "U1", true, T0.Add(-100*day))
		s.ClaimExecution(ctx, unknownOld.ID, "x", T0.Add(-100*day), time.Minute)
		s.FinishExecution(ctx, unknownOld.ID, "x", store.StateUnknown, "timed out", T0.Add(-100*day))
		pendingOld := create(t, s, requestAt(T0.Add(-100*day)))
		// Audit events.
		var kept []store.Event
		for _, age := range []time.Duration{400 * day, 365*day + time.Microsecond, 365 * day, 10 * day} {
			e := store.Event{At: T0.Add(-age), Actor: "U1", Action: "list", Target: fmt.Sprintf("age %s", age)}
			id, err := s.AppendEvent(ctx, e)
			if err != nil {
				t.Fatal(err)
			}
			if e.ID = id; age <= 365*day {
				kept = append(kept, e)
			}
		}
		// Counts.
		var counts []store.NodeCount
		for _, age := range []time.Duration{31 * day, 30 * day, day} {
			counts = append(counts, store.NodeCount{Report: "stale", At: T0.Add(-age), Instance: "qlik-prod", Node: "qps1", Sessions: 3})
		}
		if err := reports(t, s).RecordCounts(ctx, counts); err != nil {
			t.Fatal(err)
		}

		pruned, err := pruner(t, s).Prune(ctx, T0, keep)
		if err != nil {
			t.Fatal(err)
		}
		if want := (store.Pruned{Requests: 2, Events: 2, Counts: 1}); pruned != want {
			t.Errorf("pruned %+v, want %+v", pruned, want)
		}
		for _, id := range []string{deniedOld.ID, doneOld.ID} {
			if _, _, err := s.GetRequest(ctx, id); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("request %s finished before the limit is still there: %v", id, err)
			}
		}
		for _, id := range []string{deniedAtLimit.ID, doneLately.ID, unknownOld.ID, pendingOld.ID} {
			if _, _, err := s.GetRequest(ctx, id); err != nil {
				t.Errorf("request %s was pruned: %v", id, err)
			}
		}
		if _, votes, _ := s.GetRequest(ctx, doneLately.ID); len(votes) != 1 {
			t.Errorf("a kept request lost its votes: %+v", votes)
		}
		// What is kept reads back exactly as before, as the export reads it.
		events, err := s.Events(ctx, store.EventFilter{})
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(events) != fmt.Sprint(kept) {
			t.Errorf("audit log after pruning:\n%v\nwant\n%v", events, kept)
		}
		got, err := reports(t, s).Counts(ctx, "stale", time.Time{})
		if err != nil || len(got) != 2 || !got[0].At.Equal(T0.Add(-30*day)) {
			t.Errorf("counts after pruning: %+v, %v", got, err)
		}
		if again, err := pruner(t, s).Prune(ctx, T0, keep); err != nil || again != (store.Pruned{}) {
			t.Errorf("a second prune: %+v, %v", again, err)
		}
	})
	t.Run("a zero retention keeps everything", func(t *testing.T) {
		t.Parallel()
		s := fresh(t)(t)
		r := create(t, s, requestAt(T0.Add(-1000*day)))
		vote(t, s, r.ID, "U1", false, T0.Add(-1000*day))
		s.AppendEvent(t.Context(), store.Event{At: T0.Add(-1000 * day), Action: "list"})
		reports(t, s).RecordCounts(t.Context(), []store.NodeCount{{Report: "r", At: T0.Add(-1000 * day), Instance: "i", Node: "n"}})
		if pruned, err := pruner(t, s).Prune(t.Context(), T0, store.Retention{}); err != nil || pruned != (store.Pruned{}) {
			t.Errorf("pruned %+v, %v", pruned, err)
		}
	})
}

func reportRuns(t *testing.T, fresh Fresh) {
	t.Run("counts read back oldest first, a repeat kept once", func(t *testing.T) {
		t.Parallel()
		r := reports(t, fresh(t)(t))
		run := []store.NodeCount{
			{Report: "stale", At: T0, Instance: "qlik-prod", Node: "qps1", Sessions: 4},
			{Report: "stale", At: T0, Instance: "qlik-prod", Node: "qps2", Sessions: 0},
		}
		earlier := store.NodeCount{Report: "stale", At: T0.Add(-day), Instance: "qlik-prod", Node: "qps1", Sessions: 9}
		other := store.NodeCount{Report: "other", At: T0, Instance: "qlik-prod", Node: "qps1", Sessions: 1}
		for _, batch := range [][]store.NodeCount{run, {earlier, other}, run} {
			if err := r.RecordCounts(t.Context(), batch); err != nil {
				t.Fatal(err)
			}
		}
		got, err := r.Counts(t.Context(), "stale", T0.Add(-7*day))
		if err != nil {
			t.Fatal(err)
		}
		want := []store.NodeCount{earlier, run[0], run[1]}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("counts %+v\nwant %+v", got, want)
		}
		if got, _ := r.Counts(t.Context(), "stale", T0); len(got) != 2 {
			t.Errorf("counts since T0: %+v", got)
		}
	})
	t.Run("a report's start is recorded once", func(t *testing.T) {
		t.Parallel()
		open := fresh(t)
		if got, err := reports(t, open(t)).StartReport(t.Context(), "stale", T0); err != nil || !got.Equal(T0) {
			t.Fatalf("first start: %v, %v", got, err)
		}
		if got, err := reports(t, open(t)).StartReport(t.Context(), "stale", T0.Add(day)); err != nil || !got.Equal(T0) {
			t.Errorf("a restart moved the start: %v, %v", got, err)
		}
	})
	t.Run("a run is leased to one of 100 concurrent claims on two replicas", func(t *testing.T) {
		t.Parallel()
		replicas := twoReplicas(t, fresh)
		slot := T0.Add(time.Hour)
		reports(t, replicas[0]).StartReport(t.Context(), "stale", T0)
		var mu sync.Mutex
		wins := 0
		race(100, func(i int) {
			ok, err := reports(t, replicas[i%2]).ClaimReportRun(t.Context(), "stale", slot, slot, time.Minute)
			if err != nil {
				t.Errorf("claim %d: %v", i, err)
			}
			if ok {
				mu.Lock()
				wins++
				mu.Unlock()
			}
		})
		if wins != 1 {
			t.Fatalf("%d winners, want 1", wins)
		}
		r := reports(t, replicas[1])
		claim := func(slot, now time.Time) bool {
			ok, err := r.ClaimReportRun(t.Context(), "stale", slot, now, time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			return ok
		}
		if claim(slot, slot.Add(30*time.Second)) {
			t.Error("claimed while the first lease is live")
		}
		if !claim(slot, slot.Add(time.Minute)) {
			t.Error("not claimed again after the lease ran out unfinished")
		}
		if err := r.FinishReportRun(t.Context(), "stale", slot); err != nil {
			t.Fatal(err)
		}
		if claim(slot, slot.Add(time.Hour)) || claim(slot.Add(-time.Minute), slot.Add(time.Hour)) {
			t.Error("a finished slot, or an earlier one, was claimed")
		}
		if got, _ := r.StartReport(t.Context(), "stale", T0); !got.Equal(slot) {
			t.Errorf("last finished run %v, want %v", got, slot)
		}
		if !claim(slot.Add(time.Hour), slot.Add(time.Hour)) {
			t.Error("the next slot was not claimed")
		}
	})
}
