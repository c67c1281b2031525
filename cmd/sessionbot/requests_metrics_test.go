package main

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/sessionbot/sessionbot/store"
	"github.com/sessionbot/sessionbot/store/storetest"
)

// TestRequestMetricsShowWhatWaitsInTheStore: the numbers an on-call alert
// reads (a request stuck in approved or unknown, a kill cut short) come
// from the store itself, and a store that does not answer says so.
func TestRequestMetricsShowWhatWaitsInTheStore(t *testing.T) {
	t.Parallel()
	st := tempStore(t)
	t0 := storetest.T0
	add := func(state store.State, created, decided, finished time.Time) {
		r := storetest.NewRequest(1)
		r.State, r.CreatedAt, r.DecidedAt, r.FinishedAt = state, created, decided, finished
		if err := st.CreateRequest(t.Context(), r); err != nil {
			t.Fatal(err)
		}
	}
	add(store.StatePending, t0.Add(-2*time.Minute), time.Time{}, time.Time{})
	add(store.StatePending, t0.Add(-time.Minute), time.Time{}, time.Time{})
	add(store.StateApproved, t0.Add(-time.Hour), t0.Add(-20*time.Minute), time.Time{})
	add(store.StateInterrupted, t0.Add(-3*time.Hour), t0.Add(-3*time.Hour), t0.Add(-2*time.Hour))
	add(store.StateInterrupted, t0.Add(-50*time.Hour), t0.Add(-50*time.Hour), t0.Add(-49*time.Hour))
	add(store.StateDone, t0.Add(-time.Hour), t0.Add(-time.Hour), t0.Add(-time.Hour))

	c := newRequestCollector(st)
	c.now = func() time.Time { return t0 }
	want := `
# HELP sessionbot_requests_interrupted_last_day Kills cut short by a crash or a lost lease in the last 24 hours: each needs a look at the vendor.
# TYPE sessionbot_requests_interrupted_last_day gauge
sessionbot_requests_interrupted_last_day 1
# HELP sessionbot_requests_oldest_seconds How long the oldest request in each open state has been in it (0 when none).
# TYPE sessionbot_requests_oldest_seconds gauge
sessionbot_requests_oldest_seconds{state="approved"} 1200
sessionbot_requests_oldest_seconds{state="executing"} 0
sessionbot_requests_oldest_seconds{state="pending"} 120
sessionbot_requests_oldest_seconds{state="unknown"} 0
# HELP sessionbot_requests_open Requests not yet finished, by state (the same on every replica).
# TYPE sessionbot_requests_open gauge
sessionbot_requests_open{state="approved"} 1
sessionbot_requests_open{state="executing"} 0
sessionbot_requests_open{state="pending"} 2
sessionbot_requests_open{state="unknown"} 0
# HELP sessionbot_store_up 1 when the store answered this scrape's questions in time.
# TYPE sessionbot_store_up gauge
sessionbot_store_up 1
`
	if err := testutil.CollectAndCompare(c, strings.NewReader(want)); err != nil {
		t.Error(err)
	}

	st.Close()
	down := `
# HELP sessionbot_store_up 1 when the store answered this scrape's questions in time.
# TYPE sessionbot_store_up gauge
sessionbot_store_up 0
`
	if err := testutil.CollectAndCompare(c, strings.NewReader(down)); err != nil {
		t.Errorf("a closed store: %v", err)
	}
}
