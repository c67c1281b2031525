package commands_test

import (
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sessionbot/sessionbot/internal/testclock"

	"context"
	"testing"

	"github.com/sessionbot/sessionbot/store"

	"github.com/sessionbot/sessionbot/commands"
)

// TestAnotherPersonsConfirmationDoesNotTakeTheProposal: a Confirm button
// seen by someone else (replies in the channel) and clicked first makes
// that person's own request; the proposer's confirmation still makes
// theirs, rather than being refused as someone else's.
func TestAnotherPersonsConfirmationDoesNotTakeTheProposal(t *testing.T) {
	const otherRequester = "U0REQ2"
	for _, e := range faultEngines() {
		t.Run(e.Name, func(t *testing.T) {
			t.Parallel()
			p := defaultPolicy()
			p.Requesters = append(p.Requesters, otherRequester)
			f, _ := e.fixture(t, p)
			proposer := commands.Caller{ChatID: requester, Where: "C0OPS"}
			proposal := f.svc.Handle(context.Background(), proposer, "kill "+marcOnQps0+" on qlik-prod")
			if proposal.Proposal == nil {
				t.Fatalf("no proposal: %+v", proposal)
			}
			text, key := proposal.Proposal.Command.String()+" reason stuck", proposal.Proposal.Key
			other := f.svc.SubmitProposal(context.Background(), commands.Caller{ChatID: otherRequester, Where: "C0OPS"}, text, key)
			if other.Request == nil || other.Request.Request.Requester != otherRequester {
				t.Fatalf("the other requester's confirmation: %+v", other)
			}
			own := f.svc.SubmitProposal(context.Background(), proposer, text, key)
			if own.Problem != nil || own.Request == nil {
				t.Fatalf("the proposer's own confirmation was refused: %+v", own.Problem)
			}
			if got := own.Request.Request; got.Requester != requester || got.ID == other.Request.Request.ID {
				t.Errorf("the proposer got request %s of %s, want their own", got.ID, got.Requester)
			}
			again := f.svc.SubmitProposal(context.Background(), proposer, text, key)
			if again.Request == nil || again.Request.Request.ID != own.Request.Request.ID {
				t.Errorf("confirming again made another request: %+v", again)
			}
		})
	}
}

// settlesAfterListing is a store in which a request is settled by another
// replica just after the sweep lists stale approval messages.
type settlesAfterListing struct {
	store.Store
	id string
	at time.Time
}

func (s *settlesAfterListing) StaleApprovalMessages(ctx context.Context) ([]store.Request, error) {
	stale, err := s.Store.StaleApprovalMessages(ctx)
	if err == nil {
		err = s.Store.SettleUnknown(ctx, s.id, store.StateDone, "ended: gone when read again", s.at)
	}
	return stale, err
}

// TestSweepShowsTheStateAsItIsNotAsItWasListed: a request that changes
// state between the sweep's listing and its update of the approval
// message is shown as it is now, not as it was listed.
func TestSweepShowsTheStateAsItIsNotAsItWasListed(t *testing.T) {
	t.Parallel()
	f, _ := faultEngines()[0].fixture(t, defaultPolicy())
	ctx, now := context.Background(), f.clock.Now()
	// On an instance no longer configured, so the sweep's own re-read of
	// unknown outcomes leaves it alone.
	req := store.Request{ID: store.NewID(), Action: store.ActionEndSession, Vendor: "qlik", Instance: "retired", SessionID: "S1",
		TargetDirectory: "CORP", TargetUser: "marc", Requester: requester, ApprovalsNeeded: 1, State: store.StatePending,
		CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(f.store.CreateRequest(ctx, req))
	must(f.store.SetApprovalMessage(ctx, req.ID, "message 1700000000.000001"))
	_, err := f.store.Vote(ctx, store.Vote{RequestID: req.ID, Voter: approver, Approve: true}, now)
	must(err)
	_, err = f.store.ClaimExecution(ctx, req.ID, "replica-a/1", now, time.Hour)
	must(err)
	must(f.store.FinishExecution(ctx, req.ID, "replica-a/1", store.StateUnknown, "the delete timed out", now))

	f.store = &settlesAfterListing{Store: f.store, id: req.ID, at: now}
	if err := f.service("replica-b").Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	f.rec.mu.Lock()
	defer f.rec.mu.Unlock()
	if len(f.rec.updates) == 0 {
		t.Fatal("the approval message was not updated")
	}
	if shown := f.rec.updates[len(f.rec.updates)-1].State; shown != store.StateDone {
		t.Errorf("the approval message was last updated to show %s; the request is done", shown)
	}
}

// deadlineAtClaim is a store whose execution claim takes the rest of the
// click's time: the claim commits as the click's deadline passes.
type deadlineAtClaim struct {
	store.Store
	clickDone context.CancelFunc
}

func (s *deadlineAtClaim) ClaimExecution(ctx context.Context, id, executor string, now time.Time, lease time.Duration) (store.Request, error) {
	r, err := s.Store.ClaimExecution(ctx, id, executor, now, lease)
	s.clickDone()
	return r, err
}

// TestAClaimedExecutionIsSeenThroughPastTheClickDeadline: once a click has
// claimed an execution, the end of the click's own time neither fails the
// request for want of an audit record nor writes that nobody approved it.
func TestAClaimedExecutionIsSeenThroughPastTheClickDeadline(t *testing.T) {
	t.Parallel()
	f, _ := faultEngines()[0].fixture(t, defaultPolicy())
	id := f.request(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f.store = &deadlineAtClaim{Store: f.store, clickDone: cancel}
	f.service("replica-a").Handle(ctx, commands.Caller{ChatID: approver, Where: "C0APPROVALS"}, "approve "+id)
	if got := f.state(t, id); got.State != store.StateDone || marcStillThere(f) {
		t.Errorf("state %s (%s), session there %v; want done and gone", got.State, got.Outcome, marcStillThere(f))
	}
	events, err := f.store.Events(context.Background(), store.EventFilter{RequestID: id})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range events {
		if e.Action == "execute" && !strings.Contains(e.Detail, approver) {
			t.Errorf("the execution's audit record says %q; %s approved it", e.Detail, approver)
		}
	}
}

// deadlineNotifier notes whether each call to tell a requester had a
// deadline: a chat that keeps answering 429 with a long Retry-After must
// not hold a worker for ever.
type deadlineNotifier struct {
	*recorder
	mu          sync.Mutex
	unbounded   int
	tellCalls   int
	updateCalls int
}

func (n *deadlineNotifier) note(ctx context.Context, req store.Request, calls *int) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if !req.State.Final() {
		return // before the outcome: the caller's context, the caller's deadline
	}
	*calls++
	if _, ok := ctx.Deadline(); !ok {
		n.unbounded++
	}
}

func (n *deadlineNotifier) UpdateApproval(ctx context.Context, req store.Request, votes []store.Vote) error {
	n.note(ctx, req, &n.updateCalls)
	return n.recorder.UpdateApproval(ctx, req, votes)
}

func (n *deadlineNotifier) TellRequester(ctx context.Context, req store.Request, votes []store.Vote) error {
	n.note(ctx, req, &n.tellCalls)
	return n.recorder.TellRequester(ctx, req, votes)
}

// TestReportingAnOutcomeHasADeadline: after an execution, the approval
// message and the requester are told within a deadline, even when the
// caller's context has none (the outcome is recorded detached from it).
func TestReportingAnOutcomeHasADeadline(t *testing.T) {
	t.Parallel()
	f, _ := faultEngines()[0].fixture(t, defaultPolicy())
	id := f.request(t)
	n := &deadlineNotifier{recorder: f.rec}
	svc := commands.New(commands.Config{
		Registry:  f.reg,
		Options:   map[string]commands.InstanceOptions{"qlik-prod": {Identity: commands.IdentityRule{RequireDirectory: true}, Timeout: 5 * time.Second}},
		Clock:     f.clock.Now,
		Access:    &commands.Access{Default: f.policy},
		Approvals: &commands.Approvals{Store: f.store, Notifier: n, ReplicaID: "replica-a"},
	})
	svc.Handle(context.Background(), commands.Caller{ChatID: approver, Where: "C0APPROVALS"}, "approve "+id)
	if got := f.state(t, id); got.State != store.StateDone {
		t.Fatalf("state %s (%s), want done", got.State, got.Outcome)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.tellCalls == 0 {
		t.Fatal("the requester was not told")
	}
	if n.unbounded > 0 {
		t.Errorf("%d of %d calls to the chat about the outcome had no deadline", n.unbounded, n.tellCalls+n.updateCalls)
	}
}

// slowAuditLog is an audit log that answers the execution's record only
// after the execution's lease has run out and another replica's sweep has
// marked it interrupted (a database that commits, then answers late).
type slowAuditLog struct {
	store.Store
	clock *testclock.Clock
	other func()
}

func (l *slowAuditLog) AppendEvent(ctx context.Context, e store.Event) (int64, error) {
	id, err := l.Store.AppendEvent(ctx, e)
	if e.Action == "execute" {
		l.clock.Advance(time.Hour)
		l.other()
	}
	return id, err
}

// TestAnExecutionPastItsLeaseDoesNotAct: an execution whose lease ran out
// before it reached the vendor (another replica has reported it
// interrupted) does not send the delete: a session is never ended behind
// a request that says nobody knows.
func TestAnExecutionPastItsLeaseDoesNotAct(t *testing.T) {
	t.Parallel()
	f, _ := faultEngines()[0].fixture(t, defaultPolicy())
	id := f.request(t)
	replica := func(name string, st store.Store) *commands.Service {
		return commands.New(commands.Config{
			Registry:  f.reg,
			Options:   map[string]commands.InstanceOptions{"qlik-prod": {Identity: commands.IdentityRule{RequireDirectory: true}, Timeout: 5 * time.Second}},
			Clock:     f.clock.Now,
			Access:    &commands.Access{Default: f.policy},
			Approvals: &commands.Approvals{Store: st, Notifier: f.rec, ReplicaID: name},
		})
	}
	other := replica("replica-b", f.store)
	slow := &slowAuditLog{Store: f.store, clock: f.clock, other: func() {
		if err := other.Sweep(context.Background()); err != nil {
			t.Error(err)
		}
	}}
	replica("replica-a", slow).Handle(context.Background(), commands.Caller{ChatID: approver, Where: "C0APPROVALS"}, "approve "+id)
	got := f.state(t, id)
	if got.State != store.StateInterrupted {
		t.Fatalf("state %s (%s), want interrupted as the other replica found it", got.State, got.Outcome)
	}
	if !marcStillThere(f) || f.site.Deletes() != 0 {
		t.Errorf("%d deletes after the lease ran out; the request says it was interrupted", f.site.Deletes())
	}
}

// TestAnUnknownOutcomeIsNotSettledWhileTheVendorMayStillBeWorking: a
// delete that timed out may still be under way at the vendor; a sweep
// right after it must not settle "still open, not ended" from a read the
// delete may yet overtake.
func TestAnUnknownOutcomeIsNotSettledWhileTheVendorMayStillBeWorking(t *testing.T) {
	t.Parallel()
	f, _ := faultEngines()[0].fixture(t, defaultPolicy(), func(f *fixture) { f.timeout = 1500 * time.Millisecond })
	id := f.request(t)
	f.site.HangDeletes(true)
	f.vote(approver, "approve", id)
	f.site.HangDeletes(false)
	if got := f.state(t, id); got.State != store.StateUnknown {
		t.Fatalf("after a timed-out delete: %s, want unknown", got.State)
	}
	if err := f.svc.Sweep(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := f.state(t, id); got.State != store.StateUnknown {
		t.Errorf("settled %s (%s) at once; the vendor may still be ending it", got.State, got.Outcome)
	}
	f.site.RemoveSession(0, marcOnQps0) // the delete lands late
	f.clock.Advance(commands.DefaultRetryAfter)
	if err := f.svc.Sweep(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := f.state(t, id); got.State != store.StateDone {
		t.Errorf("after the vendor had time: %s (%s), want done", got.State, got.Outcome)
	}
}

// racingConfirmations is a store in which the first two confirmations
// check for an earlier request before either has been stored, as two
// replicas racing.
type racingConfirmations struct {
	store.Store
	checks atomic.Int32
}

func (r *racingConfirmations) RequestByProposal(ctx context.Context, key string) (store.Request, error) {
	if r.checks.Add(1) <= 2 {
		return store.Request{}, store.ErrNotFound
	}
	return r.Store.RequestByProposal(ctx, key)
}

// TestARacingConfirmationLeavesNoPhantomRequestInTheAudit: the audit
// record of a request comes before the request; a confirmation that loses
// the race to store it says in the audit log that no request was made.
func TestARacingConfirmationLeavesNoPhantomRequestInTheAudit(t *testing.T) {
	t.Parallel()
	f, _ := faultEngines()[0].fixture(t, defaultPolicy())
	caller := commands.Caller{ChatID: requester, Where: "C0OPS"}
	proposal := f.svc.Handle(context.Background(), caller, "kill "+marcOnQps0+" on qlik-prod")
	if proposal.Proposal == nil {
		t.Fatalf("no proposal: %+v", proposal)
	}
	real := f.store
	f.store = &racingConfirmations{Store: real}
	svc := f.service("replica-a")
	text := proposal.Proposal.Command.String() + " reason stuck"
	first := svc.SubmitProposal(context.Background(), caller, text, proposal.Proposal.Key)
	second := svc.SubmitProposal(context.Background(), caller, text, proposal.Proposal.Key)
	if first.Request == nil || second.Request == nil || first.Request.Request.ID != second.Request.Request.ID {
		t.Fatalf("confirmations answered %+v and %+v, want one request", first.Request, second.Request)
	}
	events, err := real.Events(context.Background(), store.EventFilter{})
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range events {
		if e.Action != "request" {
			continue
		}
		if _, _, err := real.GetRequest(context.Background(), e.RequestID); err == nil {
			continue
		}
		undone := false
		for _, later := range events[i+1:] {
			undone = undone || (later.RequestID == e.RequestID && later.Action == "request_not_made")
		}
		if !undone {
			t.Errorf("the audit log records request %s, which was never made, and does not say so", e.RequestID)
		}
	}
}

// answerLost is a store whose request insert commits but whose answer is
// lost (a connection cut after the commit).
type answerLost struct{ store.Store }

func (a answerLost) CreateRequest(ctx context.Context, r store.Request) error {
	if err := a.Store.CreateRequest(ctx, r); err != nil {
		return err
	}
	return errors.New("read tcp 127.0.0.1:5432: connection reset by peer")
}

// TestARequestStoredWithItsAnswerLostIsNotDenied: a person is never told
// that nothing was asked when the request was in fact stored (the sweep
// would post it for approval later), and the audit log does not say it
// was not made.
func TestARequestStoredWithItsAnswerLostIsNotDenied(t *testing.T) {
	t.Parallel()
	f, _ := faultEngines()[0].fixture(t, defaultPolicy())
	real := f.store
	f.store = answerLost{real}
	r := f.service("replica-a").Submit(context.Background(), commands.Caller{ChatID: requester, Where: "C0OPS"}, "kill "+marcOnQps0+" on qlik-prod reason stuck")
	all, err := real.ListRequests(context.Background())
	if err != nil || len(all) != 1 {
		t.Fatalf("%d requests stored (%v), want the one", len(all), err)
	}
	if r.Problem != nil || r.Request == nil || r.Request.Request.ID != all[0].ID {
		t.Errorf("the requester was told %+v; request %s was stored", r.Problem, all[0].ID)
	}
	events, _ := real.Events(context.Background(), store.EventFilter{RequestID: all[0].ID})
	for _, e := range events {
		if e.Action == "request_not_made" {
			t.Errorf("the audit log says request %s was not made", all[0].ID)
		}
	}
}

// lateAuditLog commits the record of one action and then answers an
// error, as a group commit does for a caller that stopped waiting.
type lateAuditLog struct {
	store.Store
	action string
}

func (l *lateAuditLog) AppendEvent(ctx context.Context, e store.Event) (int64, error) {
	id, err := l.Store.AppendEvent(ctx, e)
	if err == nil && e.Action == l.action {
		return id, context.DeadlineExceeded
	}
	return id, err
}

// TestAStepWhoseRecordAnsweredLateSaysItWasNotTaken: a request, vote or
// withdrawal whose record was committed but answered with an error is
// not taken, and the log says so after the record, so it never shows a
// step as done that was not.
func TestAStepWhoseRecordAnsweredLateSaysItWasNotTaken(t *testing.T) {
	t.Parallel()
	tests := []struct {
		action, notDone string
		step            func(f *fixture, svc *commands.Service, id string) commands.Reply
		unchanged       func(t *testing.T, f *fixture, id string)
	}{
		{
			action: "request", notDone: "request_not_made",
			step: func(f *fixture, svc *commands.Service, _ string) commands.Reply {
				return svc.Submit(context.Background(), commands.Caller{ChatID: requester, Where: "C0OPS"}, "kill "+marcOnQps0+" on qlik-prod reason stuck")
			},
		},
		{
			action: "approve_vote", notDone: "approve_vote_refused",
			step: func(f *fixture, svc *commands.Service, id string) commands.Reply {
				return svc.Handle(context.Background(), commands.Caller{ChatID: approver, Where: "C0APPROVALS"}, "approve "+id)
			},
		},
		{
			action: "withdraw", notDone: "withdraw_refused",
			step: func(f *fixture, svc *commands.Service, id string) commands.Reply {
				return svc.Withdraw(context.Background(), commands.Caller{ChatID: requester}, id)
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.action, func(t *testing.T) {
			t.Parallel()
			f, _ := faultEngines()[0].fixture(t, defaultPolicy())
			id := ""
			if tt.action != "request" {
				id = f.request(t)
			}
			svc := f.replica("replica-a", &lateAuditLog{Store: f.store, action: tt.action}, f.rec)
			if r := tt.step(f, svc, id); r.Problem == nil || !strings.Contains(r.Problem.Message, "nothing was done") {
				t.Fatalf("reply %+v, want the step refused for want of its record", r)
			}
			events, err := f.store.Events(context.Background(), store.EventFilter{Actor: map[bool]string{true: requester, false: approver}[tt.action != "approve_vote"]})
			if err != nil {
				t.Fatal(err)
			}
			var actions []string
			for _, e := range events {
				actions = append(actions, e.Action)
			}
			if len(actions) < 2 || actions[len(actions)-2] != tt.action || actions[len(actions)-1] != tt.notDone {
				t.Fatalf("actions %v, want %s then %s last", actions, tt.action, tt.notDone)
			}
			if id != "" {
				if got := f.state(t, id); got.State != store.StatePending {
					t.Errorf("request %s, want it still pending", got.State)
				}
			} else if pending, _ := f.store.ListRequests(context.Background(), store.StatePending, store.StateApproved); len(pending) != 0 {
				t.Errorf("%d requests made, want none", len(pending))
			}
		})
	}
}
