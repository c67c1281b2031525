package commands_test

import (
	"context"
	"testing"

	"github.com/sessionbot/sessionbot/commands"
)

// TestAnotherPersonsConfirmationDoesNotTakeTheProposal: a Confirm button
// seen by someone else (replies in the channel) and clicked first makes
// that person's own request; the proposer's confirmation still makes
// theirs, rather than being refused as someone else's.
func TestAnotherPersonsConfirmationDoesNotTakeTheProposal(t *testing.T) {
	const otherRequester = "U0REQ2"
	for _, e := range faultEngines() {
		t.Run(e.name, func(t *testing.T) {
			t.Parallel()
			p := defaultPolicy()
			p.Requesters = append(p.Requesters, otherRequester)
			f, _ := e.fixture(t, p)
			proposer := commands.Caller{SlackID: requester, Channel: "C0OPS"}
			proposal := f.svc.Handle(context.Background(), proposer, "kill "+marcOnQps0+" on qlik-prod")
			if proposal.Proposal == nil {
				t.Fatalf("no proposal: %+v", proposal)
			}
			text, key := proposal.Proposal.Command.String()+" reason stuck", proposal.Proposal.Key
			other := f.svc.SubmitProposal(context.Background(), commands.Caller{SlackID: otherRequester, Channel: "C0OPS"}, text, "", key)
			if other.Request == nil || other.Request.Request.Requester != otherRequester {
				t.Fatalf("the other requester's confirmation: %+v", other)
			}
			own := f.svc.SubmitProposal(context.Background(), proposer, text, "", key)
			if own.Problem != nil || own.Request == nil {
				t.Fatalf("the proposer's own confirmation was refused: %+v", own.Problem)
			}
			if got := own.Request.Request; got.Requester != requester || got.ID == other.Request.Request.ID {
				t.Errorf("the proposer got request %s of %s, want their own", got.ID, got.Requester)
			}
			again := f.svc.SubmitProposal(context.Background(), proposer, text, "", key)
			if again.Request == nil || again.Request.Request.ID != own.Request.Request.ID {
				t.Errorf("confirming again made another request: %+v", again)
			}
		})
	}
}
