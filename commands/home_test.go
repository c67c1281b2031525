package commands_test

import (
	"context"
	"strings"
	"testing"

	"github.com/sessionbot/sessionbot/commands"
	"github.com/sessionbot/sessionbot/store"
)

func TestHomeShowsEachPersonWhatTheyMayActOn(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, engines()[0].open(t), defaultPolicy())
	f.listers = []string{requester, approver, approver2}
	f.svc = f.service("replica-a")
	id := f.request(t)

	mine := f.svc.Home(ctx, commands.Caller{ChatID: requester})
	if mine.Approver || len(mine.Waiting) != 0 || len(mine.Mine) != 1 || mine.Mine[0].Request.ID != id || !mine.Lister {
		t.Fatalf("the requester's Home = %+v", mine)
	}
	waiting := f.svc.Home(ctx, commands.Caller{ChatID: approver})
	if !waiting.Approver || len(waiting.Waiting) != 1 || waiting.Waiting[0].Request.ID != id || len(waiting.Mine) != 0 {
		t.Fatalf("the approver's Home = %+v", waiting)
	}
	nobody := f.svc.Home(ctx, commands.Caller{ChatID: bystander})
	if nobody.Approver || nobody.Lister || len(nobody.Waiting)+len(nobody.Mine)+len(nobody.Decided)+len(nobody.Instances) != 0 {
		t.Fatalf("a bystander's Home shows something: %+v", nobody)
	}
	if !f.svc.ProbesStale() || len(mine.Instances) != 1 || !mine.Instances[0].At.IsZero() {
		t.Fatalf("instances before any probe: %+v", mine.Instances)
	}
	f.svc.RefreshProbes(ctx)
	if got := f.svc.Home(ctx, commands.Caller{ChatID: requester}).Instances; f.svc.ProbesStale() || len(got) != 1 || got[0].At.IsZero() || got[0].Err != nil {
		t.Fatalf("instances after a probe: %+v", got)
	}

	// Once decided, it leaves the waiting list for the last decisions.
	f.vote(approver2, "deny", id)
	decided := f.svc.Home(ctx, commands.Caller{ChatID: approver})
	if len(decided.Waiting) != 0 || len(decided.Decided) != 1 || decided.Decided[0].Request.State != store.StateDenied {
		t.Fatalf("the approver's Home after a denial = %+v", decided)
	}
}

func TestWithdrawOnlyByTheRequesterOnce(t *testing.T) {
	for _, e := range engines() {
		t.Run(e.Name, func(t *testing.T) {
			ctx := context.Background()
			f := newFixture(t, e.open(t), defaultPolicy())
			id := f.request(t)

			if r := f.svc.Withdraw(ctx, commands.Caller{ChatID: approver}, id); r.Problem == nil {
				t.Fatalf("an approver withdrew someone else's request: %+v", r)
			}
			if got := f.state(t, id).State; got != store.StatePending {
				t.Fatalf("state after a refused withdrawal: %s", got)
			}
			r := f.svc.Withdraw(ctx, commands.Caller{ChatID: requester}, strings.ToLower(id))
			if r.Problem != nil {
				t.Fatalf("withdraw: %s", r.Problem.Message)
			}
			got := f.state(t, id)
			if got.State != store.StateDenied || got.Outcome != store.WithdrawnOutcome {
				t.Fatalf("withdrawn request is %s %q", got.State, got.Outcome)
			}
			if again := f.svc.Withdraw(ctx, commands.Caller{ChatID: requester}, id); again.Problem == nil || !strings.Contains(again.Problem.Message, "already denied") {
				t.Fatalf("a second withdrawal: %+v", again)
			}
			if r := f.vote(approver, "approve", id); r.Problem == nil || marcStillThere(f) == false {
				t.Fatalf("a vote after the withdrawal counted: %+v", r)
			}
			f.rec.mu.Lock()
			updated := len(f.rec.updates) > 0 && f.rec.updates[len(f.rec.updates)-1].State == store.StateDenied
			f.rec.mu.Unlock()
			if !updated {
				t.Fatal("the approval message was not updated to show the withdrawal")
			}
			events, err := f.store.Events(ctx, store.EventFilter{RequestID: id})
			if err != nil {
				t.Fatal(err)
			}
			var actions []string
			for _, ev := range events {
				actions = append(actions, ev.Actor+":"+ev.Action)
			}
			log := strings.Join(actions, " ")
			for _, want := range []string{approver + ":withdraw_refused", requester + ":withdraw", requester + ":withdraw_refused"} {
				if !strings.Contains(log, want) {
					t.Errorf("audit log lacks %s: %s", want, log)
				}
			}
		})
	}
}
