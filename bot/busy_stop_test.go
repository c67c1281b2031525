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
