// Package storetest is the conformance suite every storage engine passes:
// the same tests, run against SQLite and PostgreSQL.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessionbot/sessionbot/store"
)

// Opener opens a store on the engine under test. Calling it twice in one
// test opens two handles on the same database (two replicas, or a
// restart).
type Opener func(t testing.TB) store.Store

// Fresh gives each test an Opener on a database of its own.
type Fresh func(t testing.TB) Opener

var t0 = time.Date(2026, 11, 23, 3, 0, 0, 0, time.UTC)

// NewRequest is a pending request for tests.
func NewRequest(needed int) store.Request {
	return store.Request{
		ID: store.NewID(), Action: store.ActionEndSession, Vendor: "qlik", Instance: "qlik-prod",
		SessionID: "7b8ab85e-0c85-4fcb-8e56-4ead683153fb", TargetDirectory: "Domain", TargetUser: "Marc", Node: "qps1:4243",
		Reason: "stuck", Requester: "U0REQ", RequesterChannel: "C0OPS", ApprovalsNeeded: needed,
		State: store.StatePending, CreatedAt: t0, ExpiresAt: t0.Add(15 * time.Minute),
	}
}

func create(t testing.TB, s store.Store, r store.Request) store.Request {
	t.Helper()
	if err := s.CreateRequest(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	return r
}

func vote(s store.Store, id, voter string, approve bool, at time.Time) (store.VoteResult, error) {
	return s.Vote(context.Background(), store.Vote{RequestID: id, Voter: voter, Approve: approve, At: at}, at)
}

// Run runs the suite.
func Run(t *testing.T, fresh Fresh) {
	ctx := context.Background()
	t.Run("a created request reads back whole", func(t *testing.T) {
		s := fresh(t)(t)
		r := NewRequest(1)
		r.SessionStarted = t0.Add(-time.Hour)
		create(t, s, r)
		got, votes, err := s.GetRequest(ctx, r.ID)
		if err != nil || len(votes) != 0 {
			t.Fatal(err, votes)
		}
		if got != r {
			t.Errorf("got %+v\nwant %+v", got, r)
		}
		if _, _, err := s.GetRequest(ctx, "NOSUCHID"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("unknown id: %v", err)
		}
		if err := s.CreateRequest(ctx, r); err == nil {
			t.Error("a duplicate id was stored")
		}
	})

	voteCases := []struct {
		name        string
		needed      int
		self        bool
		votes       []store.Vote // all but the last must succeed
		at          time.Time
		wantErr     error
		wantState   store.State
		wantDecided bool
		wantCounted bool
	}{
		{"one approval approves", 1, false, []store.Vote{{Voter: "U1", Approve: true}}, t0, nil, store.StateApproved, true, true},
		{"a deny denies", 1, false, []store.Vote{{Voter: "U1"}}, t0, nil, store.StateDenied, true, true},
		{"self-approval is refused", 1, false, []store.Vote{{Voter: "U0REQ", Approve: true}}, t0, store.ErrSelfApproval, store.StatePending, false, false},
		{"self-approval is allowed when the request says so", 1, true, []store.Vote{{Voter: "U0REQ", Approve: true}}, t0, nil, store.StateApproved, true, true},
		{"a requester may withdraw by denying", 1, false, []store.Vote{{Voter: "U0REQ"}}, t0, nil, store.StateDenied, true, true},
		{"a second vote by the same person counts once", 2, false, []store.Vote{{Voter: "U1", Approve: true}, {Voter: "U1", Approve: true}}, t0, nil, store.StatePending, false, false},
		{"two approvers approve under a two-approver policy", 2, false, []store.Vote{{Voter: "U1", Approve: true}, {Voter: "U2", Approve: true}}, t0, nil, store.StateApproved, true, true},
		{"deny then approve is refused", 1, false, []store.Vote{{Voter: "U1"}, {Voter: "U2", Approve: true}}, t0, store.ErrNotPending, store.StateDenied, false, false},
		{"an expired request is refused", 1, false, []store.Vote{{Voter: "U1", Approve: true}}, t0.Add(15 * time.Minute), store.ErrExpired, store.StatePending, false, false},
	}
	for _, tc := range voteCases {
		t.Run("vote: "+tc.name, func(t *testing.T) {
			s := fresh(t)(t)
			r := NewRequest(tc.needed)
			r.AllowSelfApproval = tc.self
			create(t, s, r)
			var res store.VoteResult
			var err error
			for i, v := range tc.votes {
				res, err = vote(s, r.ID, v.Voter, v.Approve, tc.at)
				if i < len(tc.votes)-1 && err != nil {
					t.Fatalf("vote %d: %v", i, err)
				}
			}
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			got, _, _ := s.GetRequest(ctx, r.ID)
			if got.State != tc.wantState {
				t.Errorf("state = %s, want %s", got.State, tc.wantState)
			}
			if err == nil && (res.Decided != tc.wantDecided || res.Recorded != tc.wantCounted) {
				t.Errorf("decided %v recorded %v, want %v %v", res.Decided, res.Recorded, tc.wantDecided, tc.wantCounted)
			}
		})
	}

	t.Run("100 concurrent votes decide once", func(t *testing.T) {
		open := fresh(t)
		stores := []store.Store{open(t), open(t)} // two replicas
		r := create(t, stores[0], NewRequest(1))
		var decided atomic.Int32
		var wg sync.WaitGroup
		for i := range 100 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				res, err := vote(stores[i%2], r.ID, fmt.Sprintf("U%03d", i), true, t0)
				if err != nil && !errors.Is(err, store.ErrNotPending) {
					t.Errorf("vote %d: %v", i, err)
				}
				if res.Decided {
					decided.Add(1)
				}
			}()
		}
		wg.Wait()
		if decided.Load() != 1 {
			t.Errorf("%d votes decided, want exactly 1", decided.Load())
		}
	})

	t.Run("100 concurrent claims have one winner", func(t *testing.T) {
		open := fresh(t)
		stores := []store.Store{open(t), open(t)}
		r := create(t, stores[0], NewRequest(1))
		if _, err := vote(stores[0], r.ID, "U1", true, t0); err != nil {
			t.Fatal(err)
		}
		var won atomic.Int32
		var wg sync.WaitGroup
		for i := range 100 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := stores[i%2].ClaimExecution(ctx, r.ID, fmt.Sprintf("replica-%d", i), t0, time.Minute)
				switch {
				case err == nil:
					won.Add(1)
				case !errors.Is(err, store.ErrConflict):
					t.Errorf("claim %d: %v", i, err)
				}
			}()
		}
		wg.Wait()
		if won.Load() != 1 {
			t.Errorf("%d claims won, want exactly 1", won.Load())
		}
	})

	t.Run("only the executor that claimed finishes", func(t *testing.T) {
		s := fresh(t)(t)
		r := create(t, s, NewRequest(1))
		vote(s, r.ID, "U1", true, t0)
		if _, err := s.ClaimExecution(ctx, r.ID, "a", t0, time.Minute); err != nil {
			t.Fatal(err)
		}
		if err := s.FinishExecution(ctx, r.ID, "b", store.StateDone, "x", t0); !errors.Is(err, store.ErrConflict) {
			t.Errorf("another executor finished it: %v", err)
		}
		if err := s.FinishExecution(ctx, r.ID, "a", store.StateDone, "ended", t0); err != nil {
			t.Fatal(err)
		}
		got, _, _ := s.GetRequest(ctx, r.ID)
		if got.State != store.StateDone || got.Outcome != "ended" {
			t.Errorf("got %s %q", got.State, got.Outcome)
		}
	})

	t.Run("a pending request survives a reopen", func(t *testing.T) {
		open := fresh(t)
		s := open(t)
		r := create(t, s, NewRequest(1))
		s.Close()
		s = open(t)
		if res, err := vote(s, r.ID, "U1", true, t0); err != nil || !res.Decided {
			t.Errorf("vote after reopen: %v %+v", err, res)
		}
	})

	t.Run("executions past their lease are interrupted, others left alone", func(t *testing.T) {
		s := fresh(t)(t)
		late, live := create(t, s, NewRequest(1)), create(t, s, NewRequest(1))
		for _, r := range []store.Request{late, live} {
			vote(s, r.ID, "U1", true, t0)
		}
		s.ClaimExecution(ctx, late.ID, "crashed", t0, time.Minute)
		s.ClaimExecution(ctx, live.ID, "alive", t0.Add(time.Minute), 10*time.Minute)
		got, err := s.RecoverInterrupted(ctx, t0.Add(2*time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].ID != late.ID || got[0].State != store.StateInterrupted || got[0].Outcome == "" {
			t.Errorf("recovered %+v", got)
		}
		if r, _, _ := s.GetRequest(ctx, live.ID); r.State != store.StateExecuting {
			t.Errorf("a live execution was touched: %s", r.State)
		}
	})

	t.Run("expiry returns exactly the due requests", func(t *testing.T) {
		s := fresh(t)(t)
		due := create(t, s, NewRequest(1))
		later := NewRequest(1)
		later.ExpiresAt = t0.Add(time.Hour)
		create(t, s, later)
		decided := create(t, s, NewRequest(1))
		vote(s, decided.ID, "U1", false, t0)
		got, err := s.ExpirePending(ctx, t0.Add(20*time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].ID != due.ID || got[0].State != store.StateExpired {
			t.Errorf("expired %+v", got)
		}
		pending, _ := s.ListRequests(ctx, store.StatePending)
		if len(pending) != 1 || pending[0].ID != later.ID {
			t.Errorf("pending %+v", pending)
		}
	})

	t.Run("claim once holds across handles until the ttl", func(t *testing.T) {
		open := fresh(t)
		a, b := open(t), open(t)
		first, _ := a.ClaimOnce(ctx, "envelope:1", t0, time.Minute)
		again, _ := b.ClaimOnce(ctx, "envelope:1", t0.Add(time.Second), time.Minute)
		after, _ := b.ClaimOnce(ctx, "envelope:1", t0.Add(2*time.Minute), time.Minute)
		if !first || again || !after {
			t.Errorf("first %v again %v after ttl %v, want true false true", first, again, after)
		}
	})

	t.Run("audit events filter and keep order", func(t *testing.T) {
		s := fresh(t)(t)
		for i, e := range []store.Event{
			{Actor: "U1", Action: "list", Target: `Domain\Marc`},
			{Actor: "U1", Action: "request", Target: "7b8a", RequestID: "R1"},
			{Actor: "U2", Action: "approve_vote", Target: "7b8a", RequestID: "R1"},
		} {
			e.At = t0.Add(time.Duration(i) * time.Minute)
			if _, err := s.AppendEvent(ctx, e); err != nil {
				t.Fatal(err)
			}
		}
		for _, tc := range []struct {
			f    store.EventFilter
			want string
		}{
			{store.EventFilter{}, "list,request,approve_vote"},
			{store.EventFilter{Actor: "U1"}, "list,request"},
			{store.EventFilter{Target: `domain\marc`}, "list"},
			{store.EventFilter{RequestID: "R1"}, "request,approve_vote"},
			{store.EventFilter{Since: t0.Add(time.Minute)}, "request,approve_vote"},
			{store.EventFilter{Limit: 2}, "request,approve_vote"},
		} {
			events, err := s.Events(ctx, tc.f)
			if err != nil {
				t.Fatal(err)
			}
			got := ""
			for i, e := range events {
				if i > 0 {
					got += ","
				}
				got += e.Action
			}
			if got != tc.want {
				t.Errorf("filter %+v: %s, want %s", tc.f, got, tc.want)
			}
		}
	})
}

// BenchmarkExpire sweeps 1000 pending requests.
func BenchmarkExpire(b *testing.B, fresh Fresh) {
	ctx := context.Background()
	for b.Loop() {
		b.StopTimer()
		s := fresh(b)(b)
		for range 1000 {
			create(b, s, NewRequest(1))
		}
		b.StartTimer()
		got, err := s.ExpirePending(ctx, t0.Add(time.Hour))
		if err != nil || len(got) != 1000 {
			b.Fatalf("expired %d: %v", len(got), err)
		}
	}
}
