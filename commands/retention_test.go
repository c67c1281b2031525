package commands_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sessionbot/sessionbot/commands"
	"github.com/sessionbot/sessionbot/store"
)

func TestSweepPrunesFinishedRequestsPastTheirRetentionOnly(t *testing.T) {
	const day = 24 * time.Hour
	f := newFixture(t, engines()[0].open(t), defaultPolicy())
	old := f.request(t)
	f.vote(approver, "deny", old)
	f.clock.Advance(2 * day)
	recent := f.request(t)
	f.vote(approver, "deny", recent)
	pending := f.request(t)
	keep := store.Retention{Requests: 90 * day, Events: 365 * day}
	svc := f.replica("replica-a", f.store, f.rec, func(a *commands.Approvals) { a.Retention = keep })

	f.clock.Advance(89 * day) // old finished 91 days ago, recent 89
	if err := svc.Sweep(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.store.GetRequest(context.Background(), old); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a request denied 91 days ago is kept: %v", err)
	}
	for _, id := range []string{recent, pending} {
		if _, _, err := f.store.GetRequest(context.Background(), id); err != nil {
			t.Errorf("request %s was pruned: %v", id, err)
		}
	}
	// The audit log keeps its year: the pruned request's history is there.
	if events, _ := f.store.Events(context.Background(), store.EventFilter{RequestID: old}); len(events) < 2 {
		t.Errorf("the pruned request's audit events are gone: %+v", events)
	}
	prunes, _ := f.store.Events(context.Background(), store.EventFilter{})
	n := 0
	for _, e := range prunes {
		if e.Action == "prune" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d prune events in the audit log, want 1", n)
	}
}
