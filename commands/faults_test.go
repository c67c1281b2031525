package commands_test

import (
	"context"
	"database/sql"
	"errors"
	"io"
	"net"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessionbot/sessionbot/commands"
	"github.com/sessionbot/sessionbot/store"
	"github.com/sessionbot/sessionbot/store/enginetest"
	"github.com/sessionbot/sessionbot/store/postgres"
	"github.com/sessionbot/sessionbot/store/postgres/pgtest"
	"github.com/sessionbot/sessionbot/vendors"
)

// faultEngine is a storage engine the test can break from the side, with
// triggers that make the database itself refuse a write: real database
// errors, not a stand-in store.
type faultEngine struct {
	enginetest.Engine
	// refuse makes the database refuse updates to state and inserts into
	// events matching when (SQL on NEW); the returned func lifts it.
	refuse func(t *testing.T, db *sql.DB, table, when string) (lift func())
}

func faultEngines() []faultEngine {
	return []faultEngine{
		{
			Engine: enginetest.SQLite,
			refuse: func(t *testing.T, db *sql.DB, table, when string) func() {
				event := "UPDATE OF state"
				if table == "events" {
					event = "INSERT"
				}
				mustExec(t, db, `CREATE TRIGGER refuse BEFORE `+event+` ON `+table+` WHEN `+when+` BEGIN SELECT RAISE(ABORT, 'refused by the test'); END`)
				return func() { mustExec(t, db, `DROP TRIGGER refuse`) }
			},
		},
		{
			Engine: enginetest.Postgres,
			refuse: func(t *testing.T, db *sql.DB, table, when string) func() {
				event := "UPDATE"
				if table == "events" {
					event = "INSERT"
				}
				mustExec(t, db, `CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'refused by the test'; END $$`)
				mustExec(t, db, `CREATE TRIGGER refuse BEFORE `+event+` ON `+table+` FOR EACH ROW WHEN (`+when+`) EXECUTE FUNCTION refuse()`)
				return func() {
					mustExec(t, db, `DROP TRIGGER refuse ON `+table)
					mustExec(t, db, `DROP FUNCTION refuse()`)
				}
			},
		},
	}
}

func mustExec(t *testing.T, db *sql.DB, query string) {
	t.Helper()
	if _, err := db.Exec(query); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

func (e faultEngine) fixture(t *testing.T, p commands.Policy, setup ...func(*fixture)) (*fixture, *sql.DB) {
	dsn := e.New(t) // PostgreSQL skips here when it has no test database
	s := e.Opener(dsn)(t)
	db := e.Raw(t, dsn)
	f := newFixture(t, func() store.Store { return s }, p)
	for _, fn := range setup {
		fn(f)
	}
	f.svc = f.service("replica-a")
	return f, db
}

// TestClaimFailureAfterTheVoteIsTakenUpByTheSweep: the vote commits, then
// the database refuses the execution claim. The request must not stay
// approved forever: the sweep carries it out once the click's window has
// passed, or fails it and says so when it is too old to act on.
func TestClaimFailureAfterTheVoteIsTakenUpByTheSweep(t *testing.T) {
	for _, e := range faultEngines() {
		t.Run(e.Name, func(t *testing.T) {
			t.Parallel()
			for _, tc := range []struct {
				name      string
				wait      time.Duration
				wantState store.State
				wantSay   string
				wantGone  bool
			}{
				{"a recent approval is carried out", commands.DefaultRetryAfter + time.Second, store.StateDone, "ended", true},
				{"an approval older than its TTL fails without acting", 20 * time.Minute, store.StateFailed, "never carried out", false},
			} {
				t.Run(tc.name, func(t *testing.T) {
					t.Parallel()
					f, db := e.fixture(t, defaultPolicy())
					id := f.request(t)
					lift := e.refuse(t, db, "requests", "NEW.state = 'executing'")
					r := f.vote(approver, "approve", id)
					if got := f.state(t, id); got.State != store.StateApproved || f.site.Deletes() != 0 {
						t.Fatalf("after a refused claim: %s with %d deletes, want approved and none", got.State, f.site.Deletes())
					}
					if r.Request == nil || r.Request.Request.State != store.StateApproved || len(r.Notes) == 0 {
						t.Errorf("the approver was not told it is not started yet: %+v", r)
					}
					lift()

					// Within the click's window, the sweep leaves it alone.
					f.clock.Advance(time.Second)
					if err := f.svc.Sweep(context.Background()); err != nil {
						t.Fatal(err)
					}
					if got := f.state(t, id); got.State != store.StateApproved {
						t.Fatalf("the sweep took up a fresh approval: %s", got.State)
					}
					f.clock.Advance(tc.wait)
					if err := f.service("replica-b").Sweep(context.Background()); err != nil {
						t.Fatal(err)
					}
					got := f.state(t, id)
					if got.State != tc.wantState || !strings.Contains(got.Outcome, tc.wantSay) {
						t.Errorf("after the sweep: %s %q, want %s saying %q", got.State, got.Outcome, tc.wantState, tc.wantSay)
					}
					if gone := !marcStillThere(f); gone != tc.wantGone {
						t.Errorf("session gone = %v, want %v", gone, tc.wantGone)
					}
					if told := f.rec.lastTold(); told.ID != id || told.State != tc.wantState {
						t.Errorf("the requester was told %s, want %s", told.State, tc.wantState)
					}
					if n := f.site.Deletes(); n > 1 {
						t.Errorf("%d deletes", n)
					}
				})
			}
		})
	}
}

// TestOutcomeIsRecordedAfterTheClickDeadline: the vendor answers after the
// click's own deadline; the session really ended, and that is recorded.
func TestOutcomeIsRecordedAfterTheClickDeadline(t *testing.T) {
	t.Parallel()
	f := newFixture(t, engines()[0].open(t), defaultPolicy())
	id := f.request(t)
	f.site.SetDelay(0, 700*time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	f.svc.Handle(ctx, commands.Caller{ChatID: approver}, "approve "+id)
	got := f.state(t, id)
	if got.State != store.StateDone || marcStillThere(f) {
		t.Errorf("state %s (%s), session there %v; want done and gone", got.State, got.Outcome, marcStillThere(f))
	}
}

// TestVendorTimeoutIsUnknownUntilTheSweepRereads: a delete that times out
// may have ended the session. It is recorded as unknown with what to do,
// and the next sweep asks the vendor again and settles it.
func TestVendorTimeoutIsUnknownUntilTheSweepRereads(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		endedLate bool
		want      store.State
		wantSay   string
	}{
		{"the session ended after all", true, store.StateDone, "gone when read again"},
		{"the session is still open", false, store.StateFailed, "still open"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f, _ := faultEngines()[0].fixture(t, defaultPolicy(), func(f *fixture) { f.timeout = 1500 * time.Millisecond })
			id := f.request(t)
			f.site.HangDeletes(true)
			f.vote(approver, "approve", id)
			got := f.state(t, id)
			if got.State != store.StateUnknown || !strings.Contains(got.Outcome, "may have ended: check with `show "+marcOnQps0+"`") {
				t.Fatalf("after a timed-out delete: %s %q, want unknown saying it may have ended", got.State, got.Outcome)
			}
			if told := f.rec.lastTold(); told.State != store.StateUnknown {
				t.Errorf("the requester was told %s", told.State)
			}
			f.site.HangDeletes(false)
			if tc.endedLate {
				f.site.RemoveSession(0, marcOnQps0)
			}
			f.clock.Advance(commands.DefaultRetryAfter)
			if err := f.svc.Sweep(context.Background()); err != nil {
				t.Fatal(err)
			}
			got = f.state(t, id)
			if got.State != tc.want || !strings.Contains(got.Outcome, tc.wantSay) {
				t.Errorf("after the sweep: %s %q, want %s saying %q", got.State, got.Outcome, tc.want, tc.wantSay)
			}
			if told := f.rec.lastTold(); told.State != tc.want {
				t.Errorf("the requester was told %s, want %s", told.State, tc.want)
			}
			if f.site.Deletes() != 1 {
				t.Errorf("%d deletes: the sweep must read, not delete again", f.site.Deletes())
			}
		})
	}
}

// groups is the chat's user groups as the test changes them: an id in the
// map is a group.
type groups struct {
	mu      sync.Mutex
	members map[string][]string
	reads   atomic.Int32
}

func (g *groups) IsGroup(id string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	_, ok := g.members[id]
	return ok
}

func (g *groups) Members(_ context.Context, id string) ([]string, error) {
	g.reads.Add(1)
	g.mu.Lock()
	defer g.mu.Unlock()
	m, ok := g.members[id]
	if !ok {
		return nil, errors.New("no such group")
	}
	return append([]string(nil), m...), nil
}

func (g *groups) set(id string, members ...string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.members[id] = members
}

// TestVotesReadApproverGroupsAtVoteTime: someone removed from the
// approvers' group cannot vote on the strength of a cached list, and a
// group's own id is nobody.
func TestVotesReadApproverGroupsAtVoteTime(t *testing.T) {
	t.Parallel()
	g := &groups{members: map[string][]string{"S0LEADS": {approver, approver2}}}
	p := defaultPolicy()
	p.Approvers, p.ApprovalsNeeded = []string{"S0LEADS"}, 2
	f, _ := faultEngines()[0].fixture(t, p, func(f *fixture) { f.groups = g })
	first, second := f.request(t), f.request(t)
	if r := f.vote(approver, "approve", first); r.Problem != nil {
		t.Fatalf("a member's vote: %s", r.Problem.Message)
	}
	g.set("S0LEADS", approver2) // approver leaves the group
	r := f.vote(approver, "approve", second)
	if r.Problem == nil || !strings.Contains(r.Problem.Message, "not an approver") {
		t.Errorf("a removed approver voted: %+v", r)
	}
	if _, votes, _ := f.store.GetRequest(context.Background(), second); len(votes) != 0 {
		t.Errorf("%d votes recorded", len(votes))
	}
	r = f.vote("S0LEADS", "approve", second)
	if r.Problem == nil || !strings.Contains(r.Problem.Message, "not an approver") {
		t.Errorf("the group's own id voted: %+v", r)
	}
}

// TestRepeatedConfirmationMakesOneRequest: the same proposal confirmed
// again, and twenty times at once on two replicas, is one request posted
// once; every confirmation is answered with it.
func TestRepeatedConfirmationMakesOneRequest(t *testing.T) {
	for _, e := range faultEngines() {
		t.Run(e.Name, func(t *testing.T) {
			t.Parallel()
			f, _ := e.fixture(t, defaultPolicy())
			caller := commands.Caller{ChatID: requester, Where: "C0OPS"}
			proposal := f.svc.Handle(context.Background(), caller, "kill "+marcOnQps0+" on qlik-prod")
			if proposal.Proposal == nil || proposal.Proposal.Key == "" {
				t.Fatalf("no proposal key: %+v", proposal)
			}
			text := proposal.Proposal.Command.String() + " reason stuck"
			replicas := []*commands.Service{f.svc, f.service("replica-b")}
			ids := make([]string, 20)
			var wg sync.WaitGroup
			for i := range ids {
				wg.Go(func() {
					r := replicas[i%2].SubmitProposal(context.Background(), caller, text, proposal.Proposal.Key)
					if r.Request != nil {
						ids[i] = r.Request.Request.ID
					}
				})
			}
			wg.Wait()
			for i, id := range ids {
				if id == "" || id != ids[0] {
					t.Fatalf("confirmation %d answered with request %q, the first with %q", i, id, ids[0])
				}
			}
			if all, _ := f.store.ListRequests(context.Background()); len(all) != 1 {
				t.Errorf("%d requests stored, want 1", len(all))
			}
			if len(f.rec.posted) != 1 {
				t.Errorf("the approval message was posted %d times, want once", len(f.rec.posted))
			}
		})
	}
}

// auditCounter counts audit records that could not be written.
type auditCounter struct{ failed atomic.Int32 }

func (a *auditCounter) VendorCall(string, vendors.Type, time.Duration, error) {}
func (a *auditCounter) Command(commands.Verb, bool)                           {}
func (a *auditCounter) AuditFailed(string)                                    { a.failed.Add(1) }

// TestAuditFailsClosedForDestructiveSteps: when the audit log refuses a
// record, a request, a vote or an execution does not go ahead and the
// person is told; a read goes on, and the failure is counted.
func TestAuditFailsClosedForDestructiveSteps(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		action string
		steps  func(t *testing.T, f *fixture, id string) commands.Reply
		check  func(t *testing.T, f *fixture, id string, r commands.Reply)
	}{
		{"request", nil, func(t *testing.T, f *fixture, _ string, r commands.Reply) {
			if all, _ := f.store.ListRequests(context.Background()); len(all) != 0 || len(f.rec.posted) != 0 {
				t.Errorf("%d requests stored, %d posted without their audit record", len(all), len(f.rec.posted))
			}
		}},
		{"approve_vote", func(t *testing.T, f *fixture, id string) commands.Reply { return f.vote(approver, "approve", id) }, func(t *testing.T, f *fixture, id string, r commands.Reply) {
			if got := f.state(t, id); got.State != store.StatePending {
				t.Errorf("the vote counted without its audit record: %s", got.State)
			}
		}},
		{"execute", func(t *testing.T, f *fixture, id string) commands.Reply { return f.vote(approver, "approve", id) }, func(t *testing.T, f *fixture, id string, r commands.Reply) {
			if got := f.state(t, id); got.State != store.StateFailed || !strings.Contains(got.Outcome, "audit log") {
				t.Errorf("%s %q, want failed because of the audit log", got.State, got.Outcome)
			}
		}},
		{"list", func(t *testing.T, f *fixture, id string) commands.Reply {
			return f.svc.Handle(context.Background(), commands.Caller{ChatID: requester}, `list Domain\Marc on qlik-prod`)
		}, func(t *testing.T, f *fixture, _ string, r commands.Reply) {
			if r.Problem != nil || r.SessionCount() == 0 {
				t.Errorf("a read stopped for its audit record: %+v", r.Problem)
			}
		}},
	} {
		t.Run(tc.action, func(t *testing.T) {
			t.Parallel()
			obs := &auditCounter{}
			e := faultEngines()[0]
			f, db := e.fixture(t, defaultPolicy(), func(f *fixture) { f.observer = obs })
			id := ""
			if tc.action != "request" {
				id = f.request(t)
			}
			e.refuse(t, db, "events", "NEW.action = '"+tc.action+"'")
			var r commands.Reply
			if tc.steps == nil {
				r = f.svc.Submit(context.Background(), commands.Caller{ChatID: requester, Where: "C0OPS"}, "kill "+marcOnQps0+" on qlik-prod reason stuck")
			} else {
				r = tc.steps(t, f, id)
			}
			if tc.action != "list" && tc.action != "execute" && (r.Problem == nil || !strings.Contains(r.Problem.Message, "audit log")) {
				t.Errorf("the person was not told: %+v", r)
			}
			tc.check(t, f, id, r)
			if !marcStillThere(f) {
				t.Errorf("the session was ended")
			}
			if obs.failed.Load() != 1 {
				t.Errorf("%d audit failures counted, want 1", obs.failed.Load())
			}
		})
	}
}

// TestPendingNeedsTheRightToList: pending requests name targets and
// reasons, so they are shown only to those who may list.
func TestPendingNeedsTheRightToList(t *testing.T) {
	t.Parallel()
	f, _ := faultEngines()[0].fixture(t, defaultPolicy(), func(f *fixture) { f.listers = []string{requester, approver} })
	f.request(t)
	for who, allowed := range map[string]bool{approver: true, bystander: false} {
		r := f.svc.Handle(context.Background(), commands.Caller{ChatID: who}, "pending")
		if allowed != (r.Problem == nil) || (!allowed && len(r.Requests) != 0) {
			t.Errorf("%s: problem %+v, %d requests; allowed %v", who, r.Problem, len(r.Requests), allowed)
		}
	}
}

// blackHole forwards TCP to target until told to hold: then it keeps every
// connection open and swallows what is sent, as a stalled database or a
// dropped route does.
type blackHole struct {
	ln      net.Listener
	target  string
	holding atomic.Bool

	mu   sync.Mutex
	open []net.Conn
}

func (b *blackHole) track(c net.Conn) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.open = append(b.open, c)
}

func newBlackHole(t *testing.T, target string) *blackHole {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &blackHole{ln: ln, target: target}
	var conns sync.WaitGroup
	t.Cleanup(func() {
		ln.Close()
		b.mu.Lock()
		for _, c := range b.open {
			c.Close()
		}
		b.mu.Unlock()
		conns.Wait()
	})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Go(func() { b.pipe(c) })
		}
	}()
	return b
}

func (b *blackHole) pipe(client net.Conn) {
	b.track(client)
	defer client.Close()
	server, err := net.Dial("tcp", b.target)
	if err != nil {
		return
	}
	b.track(server)
	defer server.Close()
	done := make(chan struct{}, 2)
	go func() { b.copy(server, client); done <- struct{}{} }()
	go func() { b.copy(client, server); done <- struct{}{} }()
	<-done
}

func (b *blackHole) copy(dst io.Writer, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 && !b.holding.Load() {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			if c, ok := dst.(net.Conn); ok {
				c.Close()
			}
			return
		}
	}
}

// TestStalledPostgresFailsVotesAndSweepsWithinTheirDeadlines: PostgreSQL
// behind a connection that stops answering. A vote and a sweep each
// return within their deadline with an error that says so, and both work
// again once traffic flows.
func TestStalledPostgresFailsVotesAndSweepsWithinTheirDeadlines(t *testing.T) {
	t.Parallel()
	dsn, _ := pgtest.SchemaDSN(t)
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	hole := newBlackHole(t, u.Host)
	u.Host = hole.ln.Addr().String()
	const callTimeout = time.Second
	s, err := postgres.OpenTimeout(context.Background(), u.String(), callTimeout)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	f := newFixture(t, func() store.Store { return s }, defaultPolicy())
	id := f.request(t)

	hole.holding.Store(true)
	start := time.Now()
	r := f.vote(approver, "approve", id)
	if took := time.Since(start); r.Problem == nil || !strings.Contains(r.Problem.Message, "did not answer within 1s") || took > 10*time.Second {
		t.Errorf("a vote on a stalled database took %s and said %+v", took, r.Problem)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	start = time.Now()
	err = f.svc.Sweep(ctx)
	cancel()
	if took := time.Since(start); err == nil || took > 10*time.Second {
		t.Errorf("a sweep on a stalled database took %s and returned %v", took, err)
	}

	hole.holding.Store(false)
	if r := f.vote(approver, "approve", id); r.Problem != nil || f.state(t, id).State != store.StateDone {
		t.Errorf("after the database came back: %+v, state %s", r.Problem, f.state(t, id).State)
	}
	if err := f.svc.Sweep(context.Background()); err != nil {
		t.Errorf("sweep after the database came back: %v", err)
	}
}
