package commands_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sessionbot/sessionbot/commands"
	"github.com/sessionbot/sessionbot/store"
)

// remindingRecorder is a recorder that also records reminders.
type remindingRecorder struct {
	*recorder
	mu        sync.Mutex
	reminded  []store.Request
	approvers [][]string
}

func (r *remindingRecorder) RemindApprovers(_ context.Context, req store.Request, approvers []string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reminded = append(r.reminded, req)
	r.approvers = append(r.approvers, approvers)
	return nil
}

func (r *remindingRecorder) reminders() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.reminded)
}

// replica is one more bot process on its own store handle, with the
// fixture's clock, vendors and policy.
func (f *fixture) replica(name string, st store.Store, n commands.Notifier, opts ...func(*commands.Approvals)) *commands.Service {
	approvals := &commands.Approvals{Store: st, Notifier: n, ReplicaID: name}
	for _, o := range opts {
		o(approvals)
	}
	return commands.New(commands.Config{
		Registry:  f.reg,
		Options:   map[string]commands.InstanceOptions{"qlik-prod": {Identity: commands.IdentityRule{RequireDirectory: true}, Timeout: 5 * time.Second}},
		Clock:     f.clock.Now,
		Access:    &commands.Access{Default: f.policy},
		Approvals: approvals,
	})
}

// sweepAll sweeps every replica at once.
func sweepAll(t *testing.T, replicas ...*commands.Service) {
	t.Helper()
	var wg sync.WaitGroup
	for _, r := range replicas {
		wg.Go(func() {
			if err := r.Sweep(context.Background()); err != nil {
				t.Errorf("sweep: %v", err)
			}
		})
	}
	wg.Wait()
}

func countState(reqs []store.Request, id string, st store.State) int {
	return len(slices.DeleteFunc(slices.Clone(reqs), func(r store.Request) bool { return r.ID != id || r.State != st }))
}

func TestReminderAndExpiryNoticeAreSentOnceAcrossReplicas(t *testing.T) {
	for _, e := range engines() {
		t.Run(e.Name, func(t *testing.T) {
			for _, tc := range []struct {
				name          string
				voteFirst     bool
				wantReminders int
			}{
				{"no vote by half the TTL: one reminder", false, 1},
				{"a vote before half the TTL: no reminder", true, 0},
			} {
				t.Run(tc.name, func(t *testing.T) {
					open := e.open(t)
					p := defaultPolicy()
					p.ApprovalsNeeded = 2
					f := newFixture(t, open, p)
					n := &remindingRecorder{recorder: f.rec}
					a, b := f.replica("replica-a", f.store, n), f.replica("replica-b", open(), n)
					r := a.Submit(context.Background(), commands.Caller{ChatID: requester, Where: "C0OPS"}, "kill "+marcOnQps0+" on qlik-prod reason stuck")
					if r.Request == nil {
						t.Fatalf("submit: %+v", r.Problem)
					}
					id := r.Request.Request.ID
					if tc.voteFirst {
						if r := b.Handle(context.Background(), commands.Caller{ChatID: approver}, "approve "+id); r.Problem != nil {
							t.Fatal(r.Problem.Message)
						}
					}
					f.clock.Advance(7 * time.Minute) // TTL 15m: not yet half
					sweepAll(t, a, b)
					if got := n.reminders(); got != 0 {
						t.Fatalf("%d reminders before half the TTL", got)
					}
					f.clock.Advance(30 * time.Second)
					sweepAll(t, a, b, a, b)
					// A restarted replica finds the reminder already sent.
					sweepAll(t, f.replica("replica-c", open(), n))
					if got := n.reminders(); got != tc.wantReminders {
						t.Fatalf("%d reminders, want %d", got, tc.wantReminders)
					}
					if tc.wantReminders > 0 {
						if n.reminded[0].ID != id || n.reminded[0].Delivery == "" || !slices.Equal(n.approvers[0], p.Approvers) {
							t.Errorf("reminded %+v to %v, want request %s in its approval thread to %v", n.reminded[0], n.approvers[0], id, p.Approvers)
						}
					}
					events, _ := f.store.Events(context.Background(), store.EventFilter{RequestID: id})
					reminds := slices.DeleteFunc(events, func(e store.Event) bool { return e.Action != "remind" })
					if len(reminds) != tc.wantReminders {
						t.Errorf("%d remind events in the audit log, want %d", len(reminds), tc.wantReminders)
					}

					f.clock.Advance(8 * time.Minute)
					sweepAll(t, a, b, a, b)
					f.rec.mu.Lock()
					told, updated := countState(f.rec.told, id, store.StateExpired), countState(f.rec.updates, id, store.StateExpired)
					f.rec.mu.Unlock()
					// The update is idempotent (another replica's message sweep may
					// re-apply it); the requester's notice is not.
					if told != 1 || updated < 1 {
						t.Errorf("on expiry the requester was told %d times and the message updated %d times, want told once and updated", told, updated)
					}
					if got := n.reminders(); got != tc.wantReminders {
						t.Errorf("%d reminders after expiry, want %d", got, tc.wantReminders)
					}
				})
			}
		})
	}
}
