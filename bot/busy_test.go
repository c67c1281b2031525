package bot

import (
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/sessionbot/sessionbot/bot/slacktest"
	"github.com/sessionbot/sessionbot/commands"
	"github.com/sessionbot/sessionbot/vendors/qlik/qliktest"
)

// TestADecisionWaitsForASlotThenSaysWhatWasNotDone: a dialog's submit
// that finds every slot taken waits for one up to the reply timeout. If
// one frees, it goes through; if none does, the person is told, on the
// best route the dialog's metadata leaves, that nothing was done.
func TestADecisionWaitsForASlotThenSaysWhatWasNotDone(t *testing.T) {
	const replyTimeout = 2 * time.Second
	reg, _ := demoRegistry(t)
	fake := slacktest.New(slacktest.Options{BotToken: "xoxb-b", AppToken: "xapp-a", Scopes: RequiredScopes,
		Users: []slacktest.User{{ID: "U0ONCALL", Name: "oncall"}, {ID: "U0LEAD", Name: "lead"}}})
	defer fake.Close()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	s := NewSlack(Config{BotToken: "xoxb-b", AppToken: "xapp-a", APIURL: fake.APIURL(), Logger: logger,
		MaxInFlight: 1, ReplyTimeout: replyTimeout, ApprovalChannel: func(string) string { return "C0APPROVALS" }})
	svc, _ := approvingService(t, reg, s)
	b := New(s, svc)
	RunConnected(t, b, fake)

	// A response_url of a message the dialog was opened from, used once.
	cancel, err := fake.SendBlockAction(slacktest.BlockAction{UserID: "U0ONCALL", ChannelID: "C0OPS", ActionID: ActionCancel, Value: "cancel"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fake.WaitResponses(cancel.ResponseID, 1, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	lapsed := strings.TrimSuffix(fake.APIURL(), "api/") + "response/R0LAPSED"
	cmd, err := commands.Parse("kill "+qliktest.MarcSessionOnProxy0+" on qlik-prod", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	value, _ := encodeAction(cmd, "K0")
	metadata := func(m reasonMetadata) string { j, _ := json.Marshal(m); return string(j) }
	reasonTyped := map[string]map[string]string{blockReason: {actionReasonText: "stuck"}}

	told := func(texts []string, want string) bool {
		for _, text := range texts {
			if strings.Contains(text, busyText) && strings.Contains(text, want) {
				return true
			}
		}
		return false
	}
	responses := func() []string {
		var texts []string
		for _, r := range fake.Responses(cancel.ResponseID) {
			texts = append(texts, r.Text)
		}
		return texts
	}
	posted := func(method, channel, user string) func() []string {
		return func() []string {
			var texts []string
			for _, p := range fake.Posts() {
				if p.Method == method && p.Channel == channel && p.User == user {
					texts = append(texts, p.Text)
				}
			}
			return texts
		}
	}
	for _, tt := range []struct {
		name       string
		submit     slacktest.ViewSubmission
		freeSlotIn time.Duration // 0: no slot frees
		// route is what reached the person where they should be told.
		route  func() []string
		undone string
	}{
		{"a slot frees: the request is made",
			slacktest.ViewSubmission{UserID: "U0ONCALL", CallbackID: CallbackReason, Values: reasonTyped,
				PrivateMetadata: metadata(reasonMetadata{Value: value, ResponseURL: cancel.ResponseURL, Channel: "C0OPS"})},
			replyTimeout / 4, nil, ""},
		{"none frees: told on the dialog's response_url",
			slacktest.ViewSubmission{UserID: "U0ONCALL", CallbackID: CallbackReason, Values: reasonTyped,
				PrivateMetadata: metadata(reasonMetadata{Value: value, ResponseURL: cancel.ResponseURL, Channel: "C0OPS"})},
			0, responses, "nothing was requested"},
		{"none frees, the response_url lapsed: told in the channel, to the person only",
			slacktest.ViewSubmission{UserID: "U0ONCALL", CallbackID: CallbackReason, Values: reasonTyped,
				PrivateMetadata: metadata(reasonMetadata{Value: value, ResponseURL: lapsed, Channel: "C0OPS"})},
			0, posted("chat.postEphemeral", "C0OPS", "U0ONCALL"), "nothing was requested"},
		{"none frees, a deny dialog opened from the Home: told in a DM",
			slacktest.ViewSubmission{UserID: "U0LEAD", CallbackID: CallbackDeny, Values: reasonTyped,
				PrivateMetadata: metadata(reasonMetadata{Command: "deny R9", Home: true})},
			0, posted("chat.postMessage", "U0LEAD", ""), "your vote on request R9 was not counted"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			approvals := len(posted("chat.postMessage", "C0APPROVALS", "")())
			b.inFlight <- struct{}{} // every slot taken
			freed := false
			free := func() {
				if !freed {
					freed = true
					<-b.inFlight
				}
			}
			defer free()
			start := time.Now()
			sent, err := fake.SendViewSubmission(tt.submit)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := fake.WaitAck(sent.EnvelopeID, 3*time.Second); err != nil {
				t.Fatalf("a waiting decision held up its ack: %v", err)
			}
			if tt.freeSlotIn > 0 {
				time.Sleep(tt.freeSlotIn)
				free()
				if _, err := fake.WaitPost(func(p slacktest.Post) bool { return p.Channel == "C0APPROVALS" }, 10*time.Second); err != nil {
					t.Fatalf("the request was not made once a slot freed: %v", err)
				}
				return
			}
			deadline := time.Now().Add(replyTimeout + 10*time.Second)
			for !told(tt.route(), tt.undone) {
				if time.Now().After(deadline) {
					t.Fatalf("not told %q: %q", tt.undone, tt.route())
				}
				time.Sleep(20 * time.Millisecond)
			}
			if waited := time.Since(start); waited < replyTimeout {
				t.Errorf("refused after %v, before the reply timeout (%v) for a slot was over", waited, replyTimeout)
			}
			if n := len(posted("chat.postMessage", "C0APPROVALS", "")()); n != approvals {
				t.Errorf("a refused decision was still made: %d approval messages, want %d", n, approvals)
			}
		})
	}
}

// TestAWaitingDecisionGivesUpWhenAStopBegins: a decision waiting for a
// slot when a stop begins does not start during the drain, even when a
// slot frees then, and the person who typed its reason is told that
// nothing was done, even once the drain has cancelled the work.
func TestAWaitingDecisionGivesUpWhenAStopBegins(t *testing.T) {
	t.Parallel()
	for _, slotFrees := range []bool{true, false} {
		name := map[bool]string{true: "a slot frees during the drain", false: "no slot frees"}[slotFrees]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			reg, _ := demoRegistry(t)
			fake := slacktest.New(slacktest.Options{BotToken: "xoxb-b", AppToken: "xapp-a", Scopes: RequiredScopes,
				Users: []slacktest.User{{ID: "U0ONCALL", Name: "oncall"}, {ID: "U0LEAD", Name: "lead"}}})
			defer fake.Close()
			s := NewSlack(Config{BotToken: "xoxb-b", AppToken: "xapp-a", APIURL: fake.APIURL(),
				Logger:      slog.New(slog.NewTextHandler(io.Discard, nil)),
				MaxInFlight: 1, ReplyTimeout: 20 * time.Second, DrainTimeout: time.Second,
				ApprovalChannel: func(string) string { return "C0APPROVALS" }})
			svc, _ := approvingService(t, reg, s)
			b := New(s, svc)
			stop := RunConnected(t, b, fake)

			cancel, err := fake.SendBlockAction(slacktest.BlockAction{UserID: "U0ONCALL", ChannelID: "C0OPS", ActionID: ActionCancel, Value: "cancel"})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := fake.WaitResponses(cancel.ResponseID, 1, 10*time.Second); err != nil {
				t.Fatal(err)
			}
			cmd, _ := commands.Parse("kill "+qliktest.MarcSessionOnProxy0+" on qlik-prod", time.Now())
			value, _ := encodeAction(cmd, "K0")
			meta, _ := json.Marshal(reasonMetadata{Value: value, ResponseURL: cancel.ResponseURL, Channel: "C0OPS"})

			b.inFlight <- struct{}{} // the one slot, taken
			sent, err := fake.SendViewSubmission(slacktest.ViewSubmission{UserID: "U0ONCALL", CallbackID: CallbackReason,
				Values: map[string]map[string]string{blockReason: {actionReasonText: "stuck"}}, PrivateMetadata: string(meta)})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := fake.WaitAck(sent.EnvelopeID, 3*time.Second); err != nil {
				t.Fatal(err)
			}
			time.Sleep(200 * time.Millisecond)
			stopped := make(chan error, 1)
			go func() { stopped <- stop() }()
			time.Sleep(300 * time.Millisecond) // the stop has begun: Run is draining
			if slotFrees {
				<-b.inFlight
			}
			<-stopped
			made := false
			for _, p := range fake.Posts() {
				made = made || p.Channel == "C0APPROVALS"
			}
			told := false
			for _, r := range fake.Responses(cancel.ResponseID) {
				told = told || strings.Contains(r.Text, stoppingText+": nothing was requested")
			}
			if made {
				t.Errorf("a decision started after the stop had begun")
			}
			if !told {
				t.Errorf("the person was not told that nothing was requested")
			}
		})
	}
}
