// Package storetest is the conformance suite every storage engine passes:
// the same tests, run against SQLite and PostgreSQL.
package storetest

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessionbot/sessionbot/store"
)

// Opener opens a store on the engine under test. Calling it twice in one
// test opens two handles on the same database: two replicas, or the bot
// after a restart. The store is closed when the test ends.
type Opener func(t testing.TB) store.Store

// Fresh gives each test an Opener on an empty database of its own.
type Fresh func(t testing.TB) Opener

// T0 is the suite's "now"; times are injected, never read from the clock.
var T0 = time.Date(2026, 11, 23, 3, 0, 0, 0, time.UTC)

// NewRequest is a pending request by U0REQ, expiring 15 minutes after T0.
func NewRequest(approvalsNeeded int) store.Request {
	return store.Request{
		ID: store.NewID(), Action: store.ActionEndSession, Vendor: "qlik", Instance: "qlik-prod",
		SessionID: "7b8ab85e-0c85-4fcb-8e56-4ead683153fb", TargetDirectory: "CORP", TargetUser: "marc", Node: "qps1.corp:4243",
		Reason: "stuck session", Requester: "U0REQ", Delivery: `{"reply":"to the requester"}`, ApprovalsNeeded: approvalsNeeded,
		State: store.StatePending, CreatedAt: T0, ExpiresAt: T0.Add(15 * time.Minute),
	}
}

func create(t testing.TB, s store.Store, r store.Request) store.Request {
	t.Helper()
	if err := s.CreateRequest(t.Context(), r); err != nil {
		t.Fatal(err)
	}
	return r
}

func vote(t testing.TB, s store.Store, id, voter string, approve bool, at time.Time) (store.VoteResult, error) {
	return s.Vote(t.Context(), store.Vote{RequestID: id, Voter: voter, Approve: approve, At: at}, at)
}

// approved is a request one approver has approved.
func approved(t testing.TB, s store.Store) store.Request {
	t.Helper()
	r := create(t, s, NewRequest(1))
	if _, err := vote(t, s, r.ID, "U1", true, T0); err != nil {
		t.Fatal(err)
	}
	return r
}

func state(t testing.TB, s store.Store, id string) store.State {
	t.Helper()
	r, _, err := s.GetRequest(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	return r.State
}

// twoReplicas opens two stores on one fresh database, as two replicas of
// the bot share it.
func twoReplicas(t *testing.T, fresh Fresh) []store.Store {
	t.Helper()
	open := fresh(t)
	return []store.Store{open(t), open(t)}
}

// Run runs the whole suite.
func Run(t *testing.T, fresh Fresh) {
	for _, part := range []struct {
		name string
		run  func(*testing.T, Fresh)
	}{
		{"requests", requests}, {"votes", votes}, {"concurrency", concurrency}, {"execution", execution},
		{"sweeps", sweeps}, {"claim once", claimOnce}, {"audit", audit}, {"faults", faults},
		{"hygiene", hygiene}, {"retention", retention}, {"report runs", reportRuns}, {"withdraw", withdraw},
	} {
		t.Run(part.name, func(t *testing.T) { t.Parallel(); part.run(t, fresh) })
	}
}

func requests(t *testing.T, fresh Fresh) {
	t.Run("a created request reads back whole", func(t *testing.T) {
		t.Parallel()
		s := fresh(t)(t)
		r := NewRequest(2)
		r.SessionStarted = T0.Add(-time.Hour)
		r.AllowSelfApproval = true
		r.Delivery = `{"opaque":"kept byte for byte: \" ünï ; '"}`
		r.ProposalKey = "P0KEY"
		create(t, s, r)
		got, votes, err := s.GetRequest(t.Context(), r.ID)
		if err != nil || len(votes) != 0 {
			t.Fatal(err, votes)
		}
		if got != r {
			t.Errorf("got  %+v\nwant %+v", got, r)
		}
	})
	t.Run("an unknown id is not found", func(t *testing.T) {
		t.Parallel()
		s := fresh(t)(t)
		if _, _, err := s.GetRequest(t.Context(), "NOSUCHID"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("GetRequest: %v", err)
		}
		if _, err := vote(t, s, "NOSUCHID", "U1", true, T0); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Vote: %v", err)
		}
		if err := s.SetApprovalMessage(t.Context(), "NOSUCHID", "d"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("SetApprovalMessage: %v", err)
		}
		if _, err := s.ClaimExecution(t.Context(), "NOSUCHID", "a", T0, time.Minute); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("ClaimExecution: %v", err)
		}
	})
	t.Run("a duplicate id is refused and the first request kept", func(t *testing.T) {
		t.Parallel()
		s := fresh(t)(t)
		r := create(t, s, NewRequest(1))
		dup := NewRequest(1)
		dup.ID, dup.TargetUser = r.ID, "someone else"
		if err := s.CreateRequest(t.Context(), dup); err == nil {
			t.Fatal("a duplicate id was stored")
		}
		if got, _, _ := s.GetRequest(t.Context(), r.ID); got.TargetUser != r.TargetUser {
			t.Errorf("the first request was overwritten: %+v", got)
		}
	})
	for _, tc := range []struct {
		name   string
		break_ func(*store.Request)
		say    string
	}{
		{"a request without an id is refused", func(r *store.Request) { r.ID = "" }, "an id"},
		{"a request needing no approval is refused", func(r *store.Request) { r.ApprovalsNeeded = 0 }, "at least one approval"},
		{"a request that never expires is refused", func(r *store.Request) { r.ExpiresAt = time.Time{} }, "an expiry time"},
		{"a request without a requester is refused", func(r *store.Request) { r.Requester = "" }, "a requester"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := fresh(t)(t)
			r := NewRequest(1)
			tc.break_(&r)
			err := s.CreateRequest(t.Context(), r)
			if !errors.Is(err, store.ErrInvalid) || !strings.Contains(err.Error(), tc.say) {
				t.Errorf("err = %v, want ErrInvalid naming %q", err, tc.say)
			}
		})
	}
	t.Run("the notifier's delivery record is kept and the message shows pending", func(t *testing.T) {
		t.Parallel()
		s := fresh(t)(t)
		r := create(t, s, NewRequest(1))
		if err := s.SetApprovalMessage(t.Context(), r.ID, `{"message":"1732330800.000100"}`); err != nil {
			t.Fatal(err)
		}
		got, _, _ := s.GetRequest(t.Context(), r.ID)
		if got.Delivery != `{"message":"1732330800.000100"}` || got.ApprovalShown != store.StatePending {
			t.Errorf("got delivery %q showing %q", got.Delivery, got.ApprovalShown)
		}
	})
	t.Run("requests list newest first, filtered by state", func(t *testing.T) {
		t.Parallel()
		s := fresh(t)(t)
		var ids []string
		for i := range 3 {
			r := NewRequest(1)
			r.CreatedAt = T0.Add(time.Duration(i) * time.Second)
			ids = append(ids, create(t, s, r).ID)
		}
		vote(t, s, ids[1], "U1", false, T0)
		for _, tc := range []struct {
			states []store.State
			want   []string
		}{
			{[]store.State{store.StatePending}, []string{ids[2], ids[0]}},
			{[]store.State{store.StateDenied}, []string{ids[1]}},
			{[]store.State{store.StatePending, store.StateDenied}, []string{ids[2], ids[1], ids[0]}},
			{nil, []string{ids[2], ids[1], ids[0]}},
			{[]store.State{store.StateDone}, nil},
		} {
			got, err := s.ListRequests(t.Context(), tc.states...)
			if err != nil {
				t.Fatal(err)
			}
			var gotIDs []string
			for _, r := range got {
				gotIDs = append(gotIDs, r.ID)
			}
			if fmt.Sprint(gotIDs) != fmt.Sprint(tc.want) {
				t.Errorf("states %v: %v, want %v", tc.states, gotIDs, tc.want)
			}
		}
	})
}

func votes(t *testing.T, fresh Fresh) {
	for _, tc := range []struct {
		name         string
		needed       int
		self         bool
		votes        []store.Vote // all but the last must succeed
		at           time.Time
		wantErr      error
		wantState    store.State
		wantDecided  bool
		wantRecorded bool
		wantVotes    int
	}{
		{"one approval approves", 1, false, []store.Vote{{Voter: "U1", Approve: true}}, T0, nil, store.StateApproved, true, true, 1},
		{"a deny denies", 1, false, []store.Vote{{Voter: "U1"}}, T0, nil, store.StateDenied, true, true, 1},
		{"self-approval is refused", 1, false, []store.Vote{{Voter: "U0REQ", Approve: true}}, T0, store.ErrSelfApproval, store.StatePending, false, false, 0},
		{"self-approval is allowed when the request says so", 1, true, []store.Vote{{Voter: "U0REQ", Approve: true}}, T0, nil, store.StateApproved, true, true, 1},
		{"a requester may withdraw by denying", 1, false, []store.Vote{{Voter: "U0REQ"}}, T0, nil, store.StateDenied, true, true, 1},
		{"a second vote by the same person counts once", 2, false, []store.Vote{{Voter: "U1", Approve: true}, {Voter: "U1", Approve: true}}, T0, nil, store.StatePending, false, false, 1},
		{"a change of mind by the same person is not recorded", 2, false, []store.Vote{{Voter: "U1", Approve: true}, {Voter: "U1"}}, T0, nil, store.StatePending, false, false, 1},
		{"a first approval under a two-approver policy leaves it pending", 2, false, []store.Vote{{Voter: "U1", Approve: true}}, T0, nil, store.StatePending, false, true, 1},
		{"two approvers approve under a two-approver policy", 2, false, []store.Vote{{Voter: "U1", Approve: true}, {Voter: "U2", Approve: true}}, T0, nil, store.StateApproved, true, true, 2},
		{"one deny denies under a two-approver policy", 2, false, []store.Vote{{Voter: "U1", Approve: true}, {Voter: "U2"}}, T0, nil, store.StateDenied, true, true, 2},
		{"deny then approve is refused", 1, false, []store.Vote{{Voter: "U1"}, {Voter: "U2", Approve: true}}, T0, store.ErrNotPending, store.StateDenied, false, false, 0},
		{"approve after approval is refused", 1, false, []store.Vote{{Voter: "U1", Approve: true}, {Voter: "U2", Approve: true}}, T0, store.ErrNotPending, store.StateApproved, false, false, 0},
		{"a vote at the expiry time is refused", 1, false, []store.Vote{{Voter: "U1", Approve: true}}, T0.Add(15 * time.Minute), store.ErrExpired, store.StatePending, false, false, 0},
		{"a vote a moment before expiry counts", 1, false, []store.Vote{{Voter: "U1", Approve: true}}, T0.Add(15*time.Minute - time.Microsecond), nil, store.StateApproved, true, true, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := fresh(t)(t)
			r := NewRequest(tc.needed)
			r.AllowSelfApproval = tc.self
			create(t, s, r)
			var res store.VoteResult
			var err error
			for i, v := range tc.votes {
				res, err = vote(t, s, r.ID, v.Voter, v.Approve, tc.at)
				if i < len(tc.votes)-1 && err != nil {
					t.Fatalf("vote %d: %v", i, err)
				}
			}
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if got := state(t, s, r.ID); got != tc.wantState {
				t.Errorf("state = %s, want %s", got, tc.wantState)
			}
			if err != nil {
				return
			}
			if res.Decided != tc.wantDecided || res.Recorded != tc.wantRecorded {
				t.Errorf("decided %v recorded %v, want %v %v", res.Decided, res.Recorded, tc.wantDecided, tc.wantRecorded)
			}
			if res.Request.State != tc.wantState || len(res.Votes) != tc.wantVotes {
				t.Errorf("result says %s with %d votes, want %s with %d", res.Request.State, len(res.Votes), tc.wantState, tc.wantVotes)
			}
			if tc.wantDecided && !res.Request.DecidedAt.Equal(tc.at) {
				t.Errorf("decided at %v, want %v", res.Request.DecidedAt, tc.at)
			}
		})
	}
	t.Run("a refusal of a decided request names its state", func(t *testing.T) {
		t.Parallel()
		s := fresh(t)(t)
		r := create(t, s, NewRequest(1))
		vote(t, s, r.ID, "U1", false, T0)
		_, err := vote(t, s, r.ID, "U2", true, T0)
		var np *store.NotPendingError
		if !errors.As(err, &np) || np.State != store.StateDenied {
			t.Fatalf("err = %#v", err)
		}
		if want := "request " + r.ID + " is already denied"; err.Error() != want {
			t.Errorf("err = %q, want %q", err, want)
		}
	})
	t.Run("votes read back with their reasons", func(t *testing.T) {
		t.Parallel()
		s := fresh(t)(t)
		r := create(t, s, NewRequest(2))
		want := store.Vote{RequestID: r.ID, Voter: "U1", Approve: true, Reason: "confirmed with marc", At: T0.Add(time.Second)}
		if _, err := s.Vote(t.Context(), want, T0.Add(2*time.Second)); err != nil {
			t.Fatal(err)
		}
		_, got, err := s.GetRequest(t.Context(), r.ID)
		if err != nil || len(got) != 1 || got[0] != want {
			t.Errorf("votes %+v, %v; want %+v", got, err, want)
		}
	})
}

// race runs f from n goroutines at once.
func race(n int, f func(i int)) {
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			f(i)
		})
	}
	close(start)
	wg.Wait()
}

func concurrency(t *testing.T, fresh Fresh) {
	for _, needed := range []int{1, 3} {
		t.Run(fmt.Sprintf("100 concurrent approvals on two replicas decide once when %d are needed", needed), func(t *testing.T) {
			t.Parallel()
			replicas := twoReplicas(t, fresh)
			r := create(t, replicas[0], NewRequest(needed))
			var decided atomic.Int32
			race(100, func(i int) {
				res, err := vote(t, replicas[i%2], r.ID, fmt.Sprintf("U%03d", i), true, T0)
				if err != nil && !errors.Is(err, store.ErrNotPending) {
					t.Errorf("vote %d: %v", i, err)
				}
				if res.Decided {
					decided.Add(1)
				}
			})
			if decided.Load() != 1 {
				t.Errorf("%d votes decided, want exactly 1", decided.Load())
			}
			got, votes, _ := replicas[1].GetRequest(t.Context(), r.ID)
			if got.State != store.StateApproved || len(votes) != needed {
				t.Errorf("%s with %d votes, want approved with %d", got.State, len(votes), needed)
			}
		})
	}
	t.Run("100 concurrent double clicks by one person record one vote", func(t *testing.T) {
		t.Parallel()
		replicas := twoReplicas(t, fresh)
		r := create(t, replicas[0], NewRequest(2))
		var recorded atomic.Int32
		race(100, func(i int) {
			res, err := vote(t, replicas[i%2], r.ID, "U1", true, T0)
			if err != nil {
				t.Errorf("vote %d: %v", i, err)
			}
			if res.Recorded {
				recorded.Add(1)
			}
		})
		if recorded.Load() != 1 || state(t, replicas[0], r.ID) != store.StatePending {
			t.Errorf("%d recorded, state %s; want 1, pending", recorded.Load(), state(t, replicas[0], r.ID))
		}
	})
	t.Run("100 concurrent claims on two replicas have one winner", func(t *testing.T) {
		t.Parallel()
		replicas := twoReplicas(t, fresh)
		r := approved(t, replicas[0])
		var won atomic.Int32
		var winner atomic.Value
		race(100, func(i int) {
			executor := fmt.Sprintf("replica-%d", i)
			got, err := replicas[i%2].ClaimExecution(t.Context(), r.ID, executor, T0, time.Minute)
			switch {
			case err == nil:
				won.Add(1)
				winner.Store(executor)
				if got.State != store.StateExecuting || got.Executor != executor {
					t.Errorf("the winner got %s by %s", got.State, got.Executor)
				}
			case !errors.Is(err, store.ErrConflict):
				t.Errorf("claim %d: %v", i, err)
			}
		})
		if won.Load() != 1 {
			t.Fatalf("%d claims won, want exactly 1", won.Load())
		}
		if got, _, _ := replicas[1].GetRequest(t.Context(), r.ID); got.Executor != winner.Load() {
			t.Errorf("stored executor %q, winner %q", got.Executor, winner.Load())
		}
	})
	t.Run("a pending request is still votable after a restart", func(t *testing.T) {
		t.Parallel()
		open := fresh(t)
		s := open(t)
		r := create(t, s, NewRequest(2))
		vote(t, s, r.ID, "U1", true, T0)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		s = open(t)
		res, err := vote(t, s, r.ID, "U2", true, T0)
		if err != nil || !res.Decided || len(res.Votes) != 2 {
			t.Errorf("vote after restart: %v %+v", err, res)
		}
	})
}

func execution(t *testing.T, fresh Fresh) {
	t.Run("a claim records executor, start and lease", func(t *testing.T) {
		t.Parallel()
		s := fresh(t)(t)
		r := approved(t, s)
		got, err := s.ClaimExecution(t.Context(), r.ID, "replica-a", T0.Add(time.Second), time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if got.State != store.StateExecuting || got.Executor != "replica-a" || !got.ExecutionStarted.Equal(T0.Add(time.Second)) ||
			!got.ExecutionLeaseUntil.Equal(T0.Add(time.Second+time.Minute)) {
			t.Errorf("claimed %+v", got)
		}
	})
	for _, tc := range []struct {
		name  string
		setup func(t testing.TB, s store.Store) store.Request
		say   string
	}{
		{"a pending request cannot be claimed", func(t testing.TB, s store.Store) store.Request { return create(t, s, NewRequest(1)) }, "pending"},
		{"a denied request cannot be claimed", func(t testing.TB, s store.Store) store.Request {
			r := create(t, s, NewRequest(1))
			vote(t, s, r.ID, "U1", false, T0)
			return r
		}, "denied"},
		{"an executing request cannot be claimed again", func(t testing.TB, s store.Store) store.Request {
			r := approved(t, s)
			s.ClaimExecution(t.Context(), r.ID, "first", T0, time.Minute)
			return r
		}, "executing (executor first)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := fresh(t)(t)
			r := tc.setup(t, s)
			_, err := s.ClaimExecution(t.Context(), r.ID, "second", T0, time.Minute)
			if !errors.Is(err, store.ErrConflict) || !strings.Contains(err.Error(), tc.say) {
				t.Errorf("err = %v, want ErrConflict saying %q", err, tc.say)
			}
		})
	}
	for _, tc := range []struct {
		name     string
		executor string
		state    store.State
		wantErr  error
	}{
		{"the claiming executor finishes done", "a", store.StateDone, nil},
		{"the claiming executor finishes failed", "a", store.StateFailed, nil},
		{"another executor cannot finish it", "b", store.StateDone, store.ErrConflict},
		{"an execution cannot finish as denied", "a", store.StateDenied, store.ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := fresh(t)(t)
			r := approved(t, s)
			if _, err := s.ClaimExecution(t.Context(), r.ID, "a", T0, time.Minute); err != nil {
				t.Fatal(err)
			}
			err := s.FinishExecution(t.Context(), r.ID, tc.executor, tc.state, "ended 1 session", T0.Add(time.Second))
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			got, _, _ := s.GetRequest(t.Context(), r.ID)
			if tc.wantErr != nil {
				if got.State != store.StateExecuting {
					t.Errorf("a refused finish moved it to %s", got.State)
				}
				return
			}
			if got.State != tc.state || got.Outcome != "ended 1 session" || !got.FinishedAt.Equal(T0.Add(time.Second)) {
				t.Errorf("got %s %q at %v", got.State, got.Outcome, got.FinishedAt)
			}
			if err := s.FinishExecution(t.Context(), r.ID, "a", store.StateDone, "again", T0); !errors.Is(err, store.ErrConflict) {
				t.Errorf("finished twice: %v", err)
			}
		})
	}
	t.Run("executions past their lease are interrupted, live ones left alone", func(t *testing.T) {
		t.Parallel()
		s := fresh(t)(t)
		late, live := approved(t, s), approved(t, s)
		s.ClaimExecution(t.Context(), late.ID, "crashed", T0, time.Minute)
		s.ClaimExecution(t.Context(), live.ID, "alive", T0.Add(time.Minute), 10*time.Minute)
		got, err := s.RecoverInterrupted(t.Context(), T0.Add(time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].ID != late.ID || got[0].State != store.StateInterrupted ||
			got[0].Outcome != store.InterruptedOutcome || got[0].Executor != "crashed" || !got[0].FinishedAt.Equal(T0.Add(time.Minute)) {
			t.Errorf("recovered %+v", got)
		}
		if st := state(t, s, live.ID); st != store.StateExecuting {
			t.Errorf("a live execution was moved to %s", st)
		}
		if again, _ := s.RecoverInterrupted(t.Context(), T0.Add(time.Minute)); len(again) != 0 {
			t.Errorf("recovered twice: %+v", again)
		}
		if err := s.FinishExecution(t.Context(), late.ID, "crashed", store.StateDone, "late", T0.Add(2*time.Minute)); !errors.Is(err, store.ErrConflict) {
			t.Errorf("a late finish overwrote interrupted: %v", err)
		}
		if _, err := s.ClaimExecution(t.Context(), late.ID, "another", T0.Add(2*time.Minute), time.Minute); !errors.Is(err, store.ErrConflict) {
			t.Errorf("an interrupted request was claimed again: %v", err)
		}
	})
}

func sweeps(t *testing.T, fresh Fresh) {
	t.Run("expiry returns exactly the due requests, once", func(t *testing.T) {
		t.Parallel()
		s := fresh(t)(t)
		due := create(t, s, NewRequest(1)) // expires at T0+15m
		dueEarlier := NewRequest(1)
		dueEarlier.CreatedAt, dueEarlier.ExpiresAt = T0.Add(-time.Hour), T0.Add(time.Minute)
		create(t, s, dueEarlier)
		later := NewRequest(1)
		later.ExpiresAt = T0.Add(15*time.Minute + time.Microsecond)
		create(t, s, later)
		denied := create(t, s, NewRequest(1))
		vote(t, s, denied.ID, "U1", false, T0)
		approvedOne := approved(t, s)

		now := T0.Add(15 * time.Minute)
		got, err := s.ExpirePending(t.Context(), now)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, r := range got {
			ids = append(ids, r.ID)
			if r.State != store.StateExpired || !r.DecidedAt.Equal(now) {
				t.Errorf("expired %s: %s at %v", r.ID, r.State, r.DecidedAt)
			}
		}
		if want := []string{dueEarlier.ID, due.ID}; fmt.Sprint(ids) != fmt.Sprint(want) {
			t.Errorf("expired %v, want %v (oldest first)", ids, want)
		}
		for id, want := range map[string]store.State{later.ID: store.StatePending, denied.ID: store.StateDenied, approvedOne.ID: store.StateApproved} {
			if st := state(t, s, id); st != want {
				t.Errorf("%s is %s, want %s", id, st, want)
			}
		}
		if again, _ := s.ExpirePending(t.Context(), now); len(again) != 0 {
			t.Errorf("expired twice: %+v", again)
		}
		if _, err := vote(t, s, due.ID, "U1", true, T0); !errors.Is(err, store.ErrNotPending) {
			t.Errorf("vote on an expired request: %v", err)
		}
	})
}

func claimOnce(t *testing.T, fresh Fresh) {
	t.Run("a key is claimed once across replicas until its ttl", func(t *testing.T) {
		t.Parallel()
		open := fresh(t)
		a, b := open(t), open(t)
		for _, step := range []struct {
			s    store.Store
			key  string
			at   time.Time
			want bool
		}{
			{a, "envelope:1", T0, true},
			{b, "envelope:1", T0.Add(time.Second), false},
			{a, "envelope:2", T0.Add(time.Second), true},
			{b, "envelope:1", T0.Add(time.Minute - time.Microsecond), false},
			{b, "envelope:1", T0.Add(time.Minute), true},
			{a, "envelope:1", T0.Add(time.Minute + time.Second), false},
		} {
			got, err := step.s.ClaimOnce(t.Context(), step.key, step.at, time.Minute)
			if err != nil || got != step.want {
				t.Errorf("%s at +%v: %v %v, want %v", step.key, step.at.Sub(T0), got, err, step.want)
			}
		}
	})
	t.Run("an expired key is claimed again before it is pruned", func(t *testing.T) {
		t.Parallel()
		s := fresh(t)(t)
		for _, step := range []struct {
			at   time.Time
			want bool
		}{{T0, true}, {T0.Add(time.Second - time.Microsecond), false}, {T0.Add(time.Second), true}, {T0.Add(1500 * time.Millisecond), false}} {
			got, err := s.ClaimOnce(t.Context(), "envelope:short", step.at, time.Second)
			if err != nil || got != step.want {
				t.Errorf("at +%v: %v %v, want %v", step.at.Sub(T0), got, err, step.want)
			}
		}
	})
	t.Run("100 concurrent claims of one key on two replicas have one winner", func(t *testing.T) {
		t.Parallel()
		replicas := twoReplicas(t, fresh)
		var won atomic.Int32
		race(100, func(i int) {
			ok, err := replicas[i%2].ClaimOnce(t.Context(), "envelope:race", T0, time.Minute)
			if err != nil {
				t.Errorf("claim %d: %v", i, err)
			}
			if ok {
				won.Add(1)
			}
		})
		if won.Load() != 1 {
			t.Errorf("%d won, want 1", won.Load())
		}
	})
}

func audit(t *testing.T, fresh Fresh) {
	t.Run("concurrent appends are all kept, each with its own id", func(t *testing.T) {
		t.Parallel()
		s := fresh(t)(t)
		var mu sync.Mutex
		ids := map[int64]bool{}
		race(100, func(i int) {
			id, err := s.AppendEvent(t.Context(), store.Event{At: T0, Actor: fmt.Sprintf("U%03d", i), Action: "list"})
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			ids[id] = true
			mu.Unlock()
		})
		events, err := s.Events(t.Context(), store.EventFilter{})
		if err != nil || len(events) != 100 || len(ids) != 100 {
			t.Errorf("%d events, %d distinct ids (%v), want 100 and 100", len(events), len(ids), err)
		}
	})
	s := fresh(t)(t)
	var last int64
	for i, e := range []store.Event{
		{Actor: "U1", Where: "C0OPS", Action: "list", Command: `/sessions list CORP\marc`, Target: `CORP\marc`},
		{Actor: "U1", Action: "request", Vendor: "qlik", Instance: "qlik-prod", Target: "7b8a", RequestID: "R1"},
		{Actor: "U2", Action: "approve_vote", Target: "7b8a", RequestID: "R1", Result: "approved", Detail: "1 of 1"},
	} {
		e.At = T0.Add(time.Duration(i) * time.Minute)
		id, err := s.AppendEvent(t.Context(), e)
		if err != nil {
			t.Fatal(err)
		}
		if id <= last {
			t.Errorf("event id %d after %d", id, last)
		}
		last = id
	}
	for _, tc := range []struct {
		name string
		f    store.EventFilter
		want string
	}{
		{"no filter returns all, oldest first", store.EventFilter{}, "list,request,approve_vote"},
		{"an actor filter keeps their events", store.EventFilter{Actor: "U1"}, "list,request"},
		{"a target filter ignores case", store.EventFilter{Target: `corp\MARC`}, "list"},
		{"a request filter keeps its events", store.EventFilter{RequestID: "R1"}, "request,approve_vote"},
		{"since is inclusive", store.EventFilter{Since: T0.Add(time.Minute)}, "request,approve_vote"},
		{"until is inclusive", store.EventFilter{Until: T0.Add(time.Minute)}, "list,request"},
		{"a limit keeps the newest", store.EventFilter{Limit: 2}, "request,approve_vote"},
		{"filters combine", store.EventFilter{Actor: "U1", RequestID: "R1"}, "request"},
		{"no match is empty", store.EventFilter{Actor: "U9"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			events, err := s.Events(t.Context(), tc.f)
			if err != nil {
				t.Fatal(err)
			}
			var actions []string
			for _, e := range events {
				actions = append(actions, e.Action)
			}
			if got := strings.Join(actions, ","); got != tc.want {
				t.Errorf("%s, want %s", got, tc.want)
			}
		})
	}
	t.Run("an event reads back whole", func(t *testing.T) {
		t.Parallel()
		events, _ := s.Events(t.Context(), store.EventFilter{Limit: 1})
		want := store.Event{ID: last, At: T0.Add(2 * time.Minute), Actor: "U2", Action: "approve_vote", Target: "7b8a", RequestID: "R1", Result: "approved", Detail: "1 of 1"}
		if len(events) != 1 || events[0] != want {
			t.Errorf("got %+v\nwant %+v", events, want)
		}
	})
}

// Benchmark times an engine's hot paths, one sub-benchmark each:
// go test -bench 'Store/HundredVoters' ./store/sqlite.
func Benchmark(b *testing.B, fresh Fresh) {
	for _, bm := range []struct {
		name string
		run  func(*testing.B, Fresh)
	}{
		{"Expire1000", benchExpire},
		{"Vote", benchVote},
		{"HundredVoters", benchHundredVoters},
		{"ClaimOnce", benchClaimOnce},
		{"HundredAppends", benchHundredAppends},
	} {
		b.Run(bm.name, func(b *testing.B) { bm.run(b, fresh) })
	}
}

// benchExpire sweeps 1000 pending requests per iteration (inserting
// them is not timed).
func benchExpire(b *testing.B, fresh Fresh) {
	s := fresh(b)(b)
	now := T0
	for b.Loop() {
		b.StopTimer()
		now = now.Add(time.Hour)
		for range 1000 {
			r := NewRequest(1)
			r.CreatedAt, r.ExpiresAt = now.Add(-time.Hour), now
			create(b, s, r)
		}
		b.StartTimer()
		got, err := s.ExpirePending(b.Context(), now)
		if err != nil || len(got) != 1000 {
			b.Fatalf("expired %d: %v", len(got), err)
		}
	}
}

// benchVote times one deciding approval (creating the request is not
// timed).
func benchVote(b *testing.B, fresh Fresh) {
	s := fresh(b)(b)
	for b.Loop() {
		b.StopTimer()
		r := create(b, s, NewRequest(1))
		b.StartTimer()
		if res, err := vote(b, s, r.ID, "U1", true, T0); err != nil || !res.Decided {
			b.Fatal(err)
		}
	}
}

// benchHundredVoters times 100 people approving one request at once
// through two replicas.
func benchHundredVoters(b *testing.B, fresh Fresh) {
	open := fresh(b)
	replicas := []store.Store{open(b), open(b)}
	for b.Loop() {
		b.StopTimer()
		r := create(b, replicas[0], NewRequest(1))
		b.StartTimer()
		var decided atomic.Int32
		race(100, func(i int) {
			res, err := vote(b, replicas[i%2], r.ID, fmt.Sprintf("U%03d", i), true, T0)
			if err != nil && !errors.Is(err, store.ErrNotPending) {
				b.Error(err)
			}
			if res.Decided {
				decided.Add(1)
			}
		})
		if decided.Load() != 1 {
			b.Fatalf("%d decided", decided.Load())
		}
	}
}

// benchHundredAppends times 100 audit rows appended at once, as a
// burst of commands does.
func benchHundredAppends(b *testing.B, fresh Fresh) {
	s := fresh(b)(b)
	for b.Loop() {
		race(100, func(i int) {
			if _, err := s.AppendEvent(b.Context(), store.Event{At: T0, Actor: fmt.Sprintf("U%03d", i), Action: "list"}); err != nil {
				b.Error(err)
			}
		})
	}
}

// benchClaimOnce claims a new key each iteration, pruning as it goes.
func benchClaimOnce(b *testing.B, fresh Fresh) {
	s := fresh(b)(b)
	i := 0
	for b.Loop() {
		i++
		ok, err := s.ClaimOnce(b.Context(), fmt.Sprintf("envelope:%d", i), T0.Add(time.Duration(i)*time.Millisecond), time.Second)
		if err != nil || !ok {
			b.Fatal(ok, err)
		}
	}
}

// faults are what lets a request end in a true state whatever fails in
// between: repeated confirmations, lost answers, timed-out vendors and
// chat messages that were never posted or updated.
func faults(t *testing.T, fresh Fresh) {
	t.Run("a repeated confirmation of one proposal stores one request", func(t *testing.T) {
		t.Parallel()
		s := fresh(t)(t)
		first := NewRequest(1)
		first.ProposalKey = "PKEY1"
		create(t, s, first)
		again := NewRequest(1)
		again.ProposalKey = "PKEY1"
		if err := s.CreateRequest(t.Context(), again); !errors.Is(err, store.ErrDuplicate) {
			t.Fatalf("err = %v, want ErrDuplicate", err)
		}
		got, err := s.RequestByProposal(t.Context(), "PKEY1")
		if err != nil || got.ID != first.ID {
			t.Errorf("by proposal: %s, %v; want %s", got.ID, err, first.ID)
		}
		if _, err := s.RequestByProposal(t.Context(), "PKEY2"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("unknown proposal: %v", err)
		}
		// Requests without a key (typed approve flows, old buttons) never
		// collide.
		create(t, s, NewRequest(1))
		create(t, s, NewRequest(1))
	})
	t.Run("50 concurrent confirmations of one proposal on two replicas store one request", func(t *testing.T) {
		t.Parallel()
		replicas := twoReplicas(t, fresh)
		var stored atomic.Int32
		race(50, func(i int) {
			r := NewRequest(1)
			r.ProposalKey = "PRACE"
			err := replicas[i%2].CreateRequest(t.Context(), r)
			switch {
			case err == nil:
				stored.Add(1)
			case !errors.Is(err, store.ErrDuplicate):
				t.Errorf("create %d: %v", i, err)
			}
		})
		all, _ := replicas[0].ListRequests(t.Context())
		if stored.Load() != 1 || len(all) != 1 {
			t.Errorf("%d stored, %d in the store; want 1", stored.Load(), len(all))
		}
	})
	t.Run("an outcome written twice after a lost answer is accepted once", func(t *testing.T) {
		t.Parallel()
		s := fresh(t)(t)
		r := approved(t, s)
		s.ClaimExecution(t.Context(), r.ID, "a", T0, time.Minute)
		for i := range 2 {
			if err := s.FinishExecution(t.Context(), r.ID, "a", store.StateDone, "ended", T0.Add(time.Duration(i+1)*time.Second)); err != nil {
				t.Fatalf("write %d: %v", i, err)
			}
		}
		got, _, _ := s.GetRequest(t.Context(), r.ID)
		if got.State != store.StateDone || !got.FinishedAt.Equal(T0.Add(time.Second)) {
			t.Errorf("%s finished at %v, want done at the first write", got.State, got.FinishedAt)
		}
		if err := s.FinishExecution(t.Context(), r.ID, "a", store.StateFailed, "other", T0); !errors.Is(err, store.ErrConflict) {
			t.Errorf("a different outcome overwrote the first: %v", err)
		}
	})
	t.Run("an unknown outcome is settled once by a re-read", func(t *testing.T) {
		t.Parallel()
		open := fresh(t)
		a, b := open(t), open(t)
		r := approved(t, a)
		a.ClaimExecution(t.Context(), r.ID, "a", T0, time.Minute)
		if err := a.FinishExecution(t.Context(), r.ID, "a", store.StateUnknown, "timed out", T0); err != nil {
			t.Fatal(err)
		}
		if st := state(t, a, r.ID); st != store.StateUnknown || st.Final() {
			t.Fatalf("state %s (final %v), want unknown and not final", st, st.Final())
		}
		if got, _ := a.RecoverInterrupted(t.Context(), T0.Add(time.Hour)); len(got) != 0 {
			t.Errorf("an unknown outcome was taken for an interrupted one")
		}
		if err := a.SettleUnknown(t.Context(), r.ID, store.StateDone, "gone at re-read", T0.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if err := b.SettleUnknown(t.Context(), r.ID, store.StateFailed, "still open", T0.Add(time.Minute)); !errors.Is(err, store.ErrConflict) {
			t.Errorf("settled twice: %v", err)
		}
		got, _, _ := b.GetRequest(t.Context(), r.ID)
		if got.State != store.StateDone || got.Outcome != "gone at re-read" {
			t.Errorf("%s %q", got.State, got.Outcome)
		}
	})
	t.Run("approval messages never posted or showing an old state are stale", func(t *testing.T) {
		t.Parallel()
		s := fresh(t)(t)
		unposted := create(t, s, NewRequest(1))
		posted := create(t, s, NewRequest(1))
		s.SetApprovalMessage(t.Context(), posted.ID, "message 1.1")
		decided := create(t, s, NewRequest(1))
		s.SetApprovalMessage(t.Context(), decided.ID, "message 1.2")
		vote(t, s, decided.ID, "U1", false, T0)
		noApproval := NewRequest(1)
		noApproval.State = store.StateDone
		create(t, s, noApproval)

		stale := func() string {
			got, err := s.StaleApprovalMessages(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, r := range got {
				ids = append(ids, r.ID)
			}
			// Created in the same instant: the order among them is the ids'.
			slices.Sort(ids)
			return strings.Join(ids, ",")
		}
		want := []string{unposted.ID, decided.ID}
		slices.Sort(want)
		if got, want := stale(), strings.Join(want, ","); got != want {
			t.Errorf("stale %s, want %s", got, want)
		}
		s.SetApprovalMessage(t.Context(), unposted.ID, "message 1.3")
		if err := s.MarkApprovalShown(t.Context(), decided.ID, store.StateDenied); err != nil {
			t.Fatal(err)
		}
		if got := stale(); got != "" {
			t.Errorf("stale %s after posting and updating, want none", got)
		}
	})
}
