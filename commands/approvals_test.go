package commands_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessionbot/sessionbot/internal/testclock"
	"github.com/sessionbot/sessionbot/internal/testkit"
	"github.com/sessionbot/sessionbot/store/enginetest"

	"github.com/sessionbot/sessionbot/commands"
	"github.com/sessionbot/sessionbot/store"
	"github.com/sessionbot/sessionbot/vendors"
	"github.com/sessionbot/sessionbot/vendors/qlik"
	"github.com/sessionbot/sessionbot/vendors/qlik/qliktest"
)

const (
	requester  = "U0REQ"
	approver   = "U0APP1"
	approver2  = "U0APP2"
	bystander  = "U0NOBODY"
	marcOnQps0 = qliktest.MarcSessionOnProxy0
)

// recorder is the approval flow's messenger in these tests: it records
// what people would have been told.
type recorder struct {
	mu      sync.Mutex
	posted  []store.Request
	updates []store.Request
	told    []store.Request
}

func (r *recorder) PostApproval(_ context.Context, req store.Request, _ []string) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.posted = append(r.posted, req)
	return fmt.Sprintf("%s, message 1700000000.%06d", req.Delivery, len(r.posted)), nil
}

func (r *recorder) UpdateApproval(_ context.Context, req store.Request, _ []store.Vote) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.updates = append(r.updates, req)
	return nil
}

func (r *recorder) TellRequester(_ context.Context, req store.Request, _ []store.Vote) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.told = append(r.told, req)
	return nil
}

func (r *recorder) MirrorAudit(context.Context, string, store.Event) error { return nil }

func (r *recorder) lastTold() store.Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.told) == 0 {
		return store.Request{}
	}
	return r.told[len(r.told)-1]
}

type fixture struct {
	svc    *commands.Service
	site   *qliktest.Site
	store  store.Store
	rec    *recorder
	clock  *testclock.Clock
	reg    *vendors.Registry
	policy commands.Policy
	// Optional parts of the service, for the fault tests.
	timeout  time.Duration
	groups   commands.Groups
	observer commands.Observer
	listers  []string
}

type engine struct{ enginetest.Engine }

// engines are the storage engines every approval test runs on.
func engines() []engine { return []engine{{enginetest.SQLite}, {enginetest.Postgres}} }

// open gives the fixture its opener on a database of the test's own.
func (e engine) open(t *testing.T) func() store.Store {
	open := e.Fresh(t)
	return func() store.Store { return open(t) }
}

// service is one replica of the bot on the fixture's store.
func (f *fixture) service(replica string) *commands.Service {
	access := &commands.Access{Default: f.policy, Listers: f.listers}
	timeout := 5 * time.Second
	if f.timeout > 0 {
		timeout = f.timeout
	}
	return commands.New(commands.Config{
		Registry: f.reg,
		Options:  map[string]commands.InstanceOptions{"qlik-prod": {Identity: commands.IdentityRule{RequireDirectory: true}, Timeout: timeout}},
		Clock:    f.clock.Now,
		Access:   access,
		Observer: f.observer,
		Approvals: &commands.Approvals{
			Store: f.store, Notifier: f.rec, ReplicaID: replica, Groups: f.groups,
		},
	})
}

func newFixture(t *testing.T, openStore func() store.Store, p commands.Policy) *fixture {
	t.Helper()
	site := testkit.Start(t, qliktest.New, qliktest.Options{Proxies: 2, Demo: true})
	reg := testkit.QlikRegistry(t, site, qlik.Config{})
	f := &fixture{site: site, store: openStore(), rec: &recorder{}, clock: testclock.New(time.Date(2026, 11, 23, 3, 0, 0, 0, time.UTC)), reg: reg, policy: p}
	f.svc = f.service("replica-a")
	return f
}

func defaultPolicy() commands.Policy {
	return commands.Policy{Requesters: []string{requester}, Approvers: []string{approver, approver2}, Destination: "C0APPROVALS", ApprovalsNeeded: 1, TTL: 15 * time.Minute}
}

// request asks to end Marc's session on proxy 0 and returns the request id.
func (f *fixture) request(t *testing.T) string {
	t.Helper()
	r := f.svc.Submit(context.Background(), commands.Caller{ChatID: requester, Where: "C0OPS"}, "kill "+marcOnQps0+" on qlik-prod reason stuck")
	if r.Problem != nil {
		t.Fatalf("submit: %s", r.Problem.Message)
	}
	if r.Request == nil {
		t.Fatalf("submit made no request: %+v", r)
	}
	return r.Request.Request.ID
}

func (f *fixture) vote(who, verb, id string) commands.Reply {
	return f.svc.Handle(context.Background(), commands.Caller{ChatID: who, Where: "C0APPROVALS"}, verb+" "+id)
}

func (f *fixture) state(t *testing.T, id string) store.Request {
	t.Helper()
	r, _, err := f.store.GetRequest(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func marcStillThere(f *fixture) bool {
	for _, s := range f.site.Sessions(0) {
		if s.SessionID == marcOnQps0 {
			return true
		}
	}
	return false
}

func TestApprovalRules(t *testing.T) {
	for _, e := range engines() {
		t.Run(e.Name, func(t *testing.T) {
			tests := []struct {
				name      string
				policy    func(*commands.Policy)
				steps     func(f *fixture, id string) commands.Reply
				wantState store.State
				wantMsg   string
				wantGone  bool // Marc's session deleted at the vendor
			}{
				{"one approval ends the session", nil, func(f *fixture, id string) commands.Reply {
					return f.vote(approver, "approve", id)
				}, store.StateDone, "", true},
				{"self-approval is refused", func(p *commands.Policy) { p.Approvers = append(p.Approvers, requester) }, func(f *fixture, id string) commands.Reply {
					return f.vote(requester, "approve", id)
				}, store.StatePending, "someone else must approve", false},
				{"self-approval is allowed when configured", func(p *commands.Policy) {
					p.Approvers = append(p.Approvers, requester)
					p.AllowSelfApproval = true
				}, func(f *fixture, id string) commands.Reply {
					return f.vote(requester, "approve", id)
				}, store.StateDone, "", true},
				{"a non-approver is refused", nil, func(f *fixture, id string) commands.Reply {
					return f.vote(bystander, "approve", id)
				}, store.StatePending, "not an approver", false},
				{"an expired request is refused", nil, func(f *fixture, id string) commands.Reply {
					f.clock.Advance(16 * time.Minute)
					return f.vote(approver, "approve", id)
				}, store.StatePending, "expired", false},
				{"denied then approved is refused", nil, func(f *fixture, id string) commands.Reply {
					if r := f.vote(approver, "deny", id); r.Problem != nil {
						panic(r.Problem.Message)
					}
					return f.vote(approver2, "approve", id)
				}, store.StateDenied, "already denied", false},
				{"the same person voting twice counts once", func(p *commands.Policy) { p.ApprovalsNeeded = 2 }, func(f *fixture, id string) commands.Reply {
					f.vote(approver, "approve", id)
					return f.vote(approver, "approve", id)
				}, store.StatePending, "", false},
				{"two approvers end it under a two-approver policy", func(p *commands.Policy) { p.ApprovalsNeeded = 2 }, func(f *fixture, id string) commands.Reply {
					f.vote(approver, "approve", id)
					return f.vote(approver2, "approve", id)
				}, store.StateDone, "", true},
				{"a session gone before approval is recorded as already gone", nil, func(f *fixture, id string) commands.Reply {
					f.site.RemoveSession(0, marcOnQps0)
					return f.vote(approver, "approve", id)
				}, store.StateDone, "", true},
				{"a vendor that fails the delete is recorded as failed", nil, func(f *fixture, id string) commands.Reply {
					f.site.Fail(0, qliktest.ServerError)
					return f.vote(approver, "approve", id)
				}, store.StateFailed, "", false},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					p := defaultPolicy()
					if tt.policy != nil {
						tt.policy(&p)
					}
					f := newFixture(t, e.open(t), p)
					id := f.request(t)
					r := tt.steps(f, id)
					if tt.wantMsg != "" && (r.Problem == nil || !strings.Contains(r.Problem.Message, tt.wantMsg)) {
						t.Errorf("reply problem = %+v, want one saying %q", r.Problem, tt.wantMsg)
					}
					got := f.state(t, id)
					if got.State != tt.wantState {
						t.Errorf("state = %s (%s), want %s", got.State, got.Outcome, tt.wantState)
					}
					if gone := !marcStillThere(f); gone != tt.wantGone {
						t.Errorf("session gone at the vendor = %v, want %v", gone, tt.wantGone)
					}
				})
			}
		})
	}
}

func TestAlreadyGoneDeletesNothing(t *testing.T) {
	f := newFixture(t, engines()[0].open(t), defaultPolicy())
	id := f.request(t)
	f.site.RemoveSession(0, marcOnQps0)
	f.vote(approver, "approve", id)
	if got := f.state(t, id); !strings.Contains(got.Outcome, "already gone") {
		t.Errorf("outcome = %q", got.Outcome)
	}
	if f.site.Deletes() != 0 {
		t.Errorf("%d deletes sent for a session that was gone", f.site.Deletes())
	}
}

func TestFailedDeleteIsReportedWithItsReason(t *testing.T) {
	f := newFixture(t, engines()[0].open(t), defaultPolicy())
	id := f.request(t)
	f.site.Fail(0, qliktest.Forbidden)
	f.vote(approver, "approve", id)
	got := f.state(t, id)
	if got.State != store.StateFailed || !strings.Contains(got.Outcome, "403") {
		t.Errorf("state %s outcome %q, want failed with the 403", got.State, got.Outcome)
	}
	if told := f.rec.lastTold(); told.ID != id || told.State != store.StateFailed {
		t.Errorf("requester told %+v", told)
	}
	if len(f.rec.updates) == 0 || f.rec.updates[len(f.rec.updates)-1].State != store.StateFailed {
		t.Errorf("approval message not updated to failed: %+v", f.rec.updates)
	}
}

func TestConcurrentApprovalsDeleteOnce(t *testing.T) {
	for _, e := range engines() {
		t.Run(e.Name, func(t *testing.T) {
			open := e.open(t)
			f := newFixture(t, open, defaultPolicy())
			id := f.request(t)
			// Two replicas on one store, 100 clicks between them.
			replicas := []*commands.Service{f.svc, f.service("replica-b")}
			var wg sync.WaitGroup
			var done atomic.Int32
			for i := range 100 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					who := []string{approver, approver2}[i%2]
					r := replicas[i%2].Handle(context.Background(), commands.Caller{ChatID: who}, "approve "+id)
					if r.Request != nil && r.Request.Request.State == store.StateDone {
						done.Add(1)
					}
				}()
			}
			wg.Wait()
			if n := f.site.Deletes(); n != 1 {
				t.Fatalf("%d DELETEs reached the vendor, want exactly 1", n)
			}
			if got := f.state(t, id); got.State != store.StateDone {
				t.Errorf("state = %s", got.State)
			}
		})
	}
}

func TestPendingRequestSurvivesARestart(t *testing.T) {
	for _, e := range engines() {
		t.Run(e.Name, func(t *testing.T) {
			open := e.open(t)
			f := newFixture(t, open, defaultPolicy())
			id := f.request(t)
			f.store.Close()
			f.store = open() // the bot restarted
			f.svc = f.service("replica-after-restart")
			if r := f.vote(approver, "approve", id); r.Problem != nil {
				t.Fatalf("approve after restart: %s", r.Problem.Message)
			}
			if got := f.state(t, id); got.State != store.StateDone || marcStillThere(f) {
				t.Errorf("state %s, session still there %v", got.State, marcStillThere(f))
			}
		})
	}
}

func TestInterruptedExecutionIsFoundAndReported(t *testing.T) {
	f := newFixture(t, engines()[0].open(t), defaultPolicy())
	id := f.request(t)
	ctx := context.Background()
	// What a crash leaves: approved, claimed by a replica that never
	// finished.
	if _, err := f.store.Vote(ctx, store.Vote{RequestID: id, Voter: approver, Approve: true, At: f.clock.Now()}, f.clock.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.ClaimExecution(ctx, id, "crashed-replica", f.clock.Now(), time.Minute); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(2 * time.Minute)
	if err := f.service("replica-new").Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	got := f.state(t, id)
	if got.State != store.StateInterrupted {
		t.Fatalf("state = %s, want interrupted", got.State)
	}
	if told := f.rec.lastTold(); told.ID != id {
		t.Errorf("requester not told of the interruption")
	}
	if r := f.vote(approver2, "approve", id); r.Problem == nil {
		t.Errorf("an interrupted request took another vote")
	}
	if f.site.Deletes() != 0 {
		t.Errorf("the sweep re-ran the delete")
	}
}

func TestSweepExpiresAndTellsTheRequester(t *testing.T) {
	f := newFixture(t, engines()[0].open(t), defaultPolicy())
	id := f.request(t)
	f.clock.Advance(20 * time.Minute)
	if err := f.svc.Sweep(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := f.state(t, id); got.State != store.StateExpired {
		t.Errorf("state = %s", got.State)
	}
	if told := f.rec.lastTold(); told.ID != id || told.State != store.StateExpired {
		t.Errorf("told %+v", told)
	}
}

func TestOnlyRequestersMayAsk(t *testing.T) {
	f := newFixture(t, engines()[0].open(t), defaultPolicy())
	r := f.svc.Submit(context.Background(), commands.Caller{ChatID: bystander}, "kill "+marcOnQps0+" on qlik-prod reason x")
	if r.Problem == nil || !strings.Contains(r.Problem.Message, "not allowed") {
		t.Errorf("reply = %+v", r.Problem)
	}
	if r := f.svc.Handle(context.Background(), commands.Caller{ChatID: bystander}, "kill "+marcOnQps0); r.Problem == nil {
		t.Errorf("proposal shown to a non-requester")
	}
}

func TestProposalShowsWhatWouldEndAndStoresNothing(t *testing.T) {
	f := newFixture(t, engines()[0].open(t), defaultPolicy())
	r := f.svc.Handle(context.Background(), commands.Caller{ChatID: requester}, "kill "+marcOnQps0)
	if r.Proposal == nil {
		t.Fatalf("no proposal: %+v", r.Problem)
	}
	p := r.Proposal
	if p.Instance != "qlik-prod" || len(p.Sessions) != 1 || p.Sessions[0].User.String() != `Domain\Marc` || p.Sessions[0].Node == "" {
		t.Errorf("proposal = %+v", p)
	}
	if got := p.Command.String(); !strings.HasPrefix(got, "kill "+marcOnQps0+" on qlik-prod") {
		t.Errorf("confirm command = %q", got)
	}
	reqs, _ := f.store.ListRequests(context.Background(), store.StatePending)
	if len(reqs) != 0 {
		t.Errorf("a proposal stored %d requests", len(reqs))
	}
}

func TestListOffersKillOnlyToRequesters(t *testing.T) {
	f := newFixture(t, engines()[0].open(t), defaultPolicy())
	for who, want := range map[string]bool{requester: true, bystander: false} {
		r := f.svc.Handle(context.Background(), commands.Caller{ChatID: who}, `list Domain\Marc`)
		if len(r.Groups) != 1 || r.Groups[0].CanKill != want {
			t.Errorf("%s: CanKill = %v, want %v", who, r.Groups[0].CanKill, want)
		}
	}
}

func TestEveryStepIsAudited(t *testing.T) {
	f := newFixture(t, engines()[0].open(t), defaultPolicy())
	f.svc.Handle(context.Background(), commands.Caller{ChatID: requester}, `list Domain\Marc`)
	id := f.request(t)
	f.vote(bystander, "approve", id)
	f.vote(approver, "approve", id)
	events, err := f.store.Events(context.Background(), store.EventFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range events {
		actions = append(actions, e.Action)
	}
	want := "list,request,approve_vote_refused,approve_vote,execute,outcome"
	if strings.Join(actions, ",") != want {
		t.Errorf("audit actions = %v, want %s", actions, want)
	}
	r := f.svc.Handle(context.Background(), commands.Caller{ChatID: requester}, "audit")
	if r.Problem == nil {
		t.Errorf("a requester read the audit log")
	}
	r = f.svc.Handle(context.Background(), commands.Caller{ChatID: approver}, "audit "+id)
	if len(r.Events) != 5 {
		t.Errorf("audit %s gave %d events, want 5", id, len(r.Events))
	}
	// A person named as the chat knows them narrows the log to what they did.
	for who, want := range map[string]string{approver: "approve_vote", bystander: "approve_vote_refused", requester: "list,request"} {
		r = f.svc.Handle(context.Background(), commands.Caller{ChatID: approver}, "audit @"+who)
		var got []string
		for _, e := range r.Events {
			got = append(got, e.Action)
		}
		slices.Sort(got)
		if strings.Join(got, ",") != want {
			t.Errorf("audit @%s gave %v, want %s", who, got, want)
		}
	}
}

func TestNoApprovalInstanceEndsOnRequest(t *testing.T) {
	p := defaultPolicy()
	p.NoApproval = true
	f := newFixture(t, engines()[0].open(t), p)
	r := f.svc.Submit(context.Background(), commands.Caller{ChatID: requester}, "kill "+marcOnQps0+" on qlik-prod reason policy says so")
	if r.Request == nil || r.Request.Request.State != store.StateDone {
		t.Fatalf("reply = %+v %+v", r.Request, r.Problem)
	}
	if marcStillThere(f) || len(f.rec.posted) != 0 {
		t.Errorf("session still there %v, approval posted %d times", marcStillThere(f), len(f.rec.posted))
	}
}

func TestSubmitNeedsAReason(t *testing.T) {
	f := newFixture(t, engines()[0].open(t), defaultPolicy())
	r := f.svc.Submit(context.Background(), commands.Caller{ChatID: requester}, "kill "+marcOnQps0+" on qlik-prod")
	if r.Problem == nil || !strings.Contains(r.Problem.Message, "reason is required") {
		t.Errorf("problem = %+v", r.Problem)
	}
	if reqs, _ := f.store.ListRequests(context.Background()); len(reqs) != 0 {
		t.Errorf("%d requests stored without a reason", len(reqs))
	}
}
