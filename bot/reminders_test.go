package bot_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sessionbot/sessionbot/bot"
	"github.com/sessionbot/sessionbot/bot/slacktest"
	"github.com/sessionbot/sessionbot/commands"
	"github.com/sessionbot/sessionbot/store"
)

func TestReminderIsPostedInTheApprovalThreadMentioningApprovers(t *testing.T) {
	fake := slacktest.New(slacktest.Options{BotToken: "xoxb-b", AppToken: "xapp-a"})
	defer fake.Close()
	s := bot.NewSlack(bot.Config{BotToken: "xoxb-b", AppToken: "xapp-a", APIURL: fake.APIURL(),
		ApprovalChannel: func(string) string { return "C0APPROVALS" }})
	approvers := []string{"U0APP1", "S0ADMINS"}
	n := s.Notifier(func(string) []string { return approvers })
	now := time.Now()
	var err error
	req := store.Request{ID: "R7K2ABCD", Action: store.ActionEndSession, Vendor: "qlik", Instance: "qlik-prod",
		SessionID: "s-1", TargetDirectory: "CORP", TargetUser: "<!channel> marc", Reason: "stuck", Requester: "U0REQ",
		ApprovalsNeeded: 1, State: store.StatePending, CreatedAt: now.Add(-8 * time.Minute), ExpiresAt: now.Add(7 * time.Minute)}
	req.Delivery, err = n.PostApproval(context.Background(), req, approvers)
	if err != nil {
		t.Fatal(err)
	}
	first := fake.Posts()[0]
	ch, ts := first.Channel, first.TS
	reminder, ok := n.(commands.Reminder)
	if !ok {
		t.Fatalf("%T cannot remind approvers", n)
	}
	if err := reminder.RemindApprovers(context.Background(), req, approvers); err != nil {
		t.Fatal(err)
	}
	posts := fake.Posts()
	got := posts[len(posts)-1]
	if got.Method != "chat.postMessage" || got.Channel != ch || got.ThreadTS != ts {
		t.Errorf("reminder posted as %s in %s thread %q, want in the approval message's thread %s %s", got.Method, got.Channel, got.ThreadTS, ch, ts)
	}
	blocks := unescapeJSON(got.Blocks)
	for _, want := range []string{"<@U0APP1>", "<!subteam^S0ADMINS>", "R7K2ABCD"} {
		if !strings.Contains(blocks, want) {
			t.Errorf("reminder blocks lack %q: %s", want, got.Blocks)
		}
	}
	if strings.Contains(blocks, "<!channel>") {
		t.Errorf("a target name became a broadcast: %s", got.Blocks)
	}
	if v := fake.Violations(); len(v) > 0 {
		t.Errorf("Block Kit violations: %v", v)
	}
}

// unescapeJSON undoes encoding/json's escaping of <, > and &, so tests can
// look for Slack's markup in raw blocks.
func unescapeJSON(raw []byte) string {
	return strings.NewReplacer(`\u003c`, "<", `\u003e`, ">", `\u0026`, "&").Replace(string(raw))
}
