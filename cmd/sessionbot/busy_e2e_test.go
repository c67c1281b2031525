package main

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/sessionbot/sessionbot/bot"
	"github.com/sessionbot/sessionbot/bot/slacktest"
	"github.com/sessionbot/sessionbot/internal/testkit"
	"github.com/sessionbot/sessionbot/vendors/qlik/qliktest"
)

// busyWords are in every answer to an envelope refused as busy.
const busyWords = "too many requests"

// limitInFlight sets slack.max_in_flight in w's config, before start.
func (w *world) limitInFlight(t *testing.T, n string) {
	t.Helper()
	cfg := readFile(t, w.config)
	cfg = strings.Replace(cfg, "  api_url:", "  max_in_flight: "+n+"\n  api_url:", 1)
	if err := os.WriteFile(w.config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
}

// openDialog clicks a button that opens a dialog, waits for the dialog,
// and returns the click (its response_url is the dialog's).
func (w *world) openDialog(t *testing.T, click slacktest.BlockAction, callbackID string) slacktest.Sent {
	t.Helper()
	opened := func() int {
		n := 0
		for _, v := range w.slack.ViewCalls() {
			if v.Method == "views.open" && v.CallbackID == callbackID {
				n++
			}
		}
		return n
	}
	before := opened()
	sent, err := w.slack.SendBlockAction(click)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.slack.WaitAck(sent.EnvelopeID, 3*time.Second); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "no "+callbackID+" dialog opened", func() bool { return opened() > before })
	return sent
}

func eventually(t *testing.T, within time.Duration, failure string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatal(failure)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// responded is the texts posted to a response_url.
func (w *world) responded(id string) []string {
	var texts []string
	for _, r := range w.slack.Responses(id) {
		texts = append(texts, r.Text)
	}
	return texts
}

// posted is the texts of posts by method to channel (and, for an
// ephemeral message, user).
func (w *world) posted(method, channel, user string) []string {
	var texts []string
	for _, p := range w.slack.Posts() {
		if p.Method == method && p.Channel == channel && (user == "" || p.User == user) {
			texts = append(texts, p.Text)
		}
	}
	return texts
}

// TestABusyBotTellsEveryoneItTurnsAway: with the one in-flight slot taken,
// every kind of envelope tells its person the bot is busy, by the best
// route it has, and names what was not done; a decision (a reason or deny
// dialog, an Approve) waits for the slot instead, and goes through.
func TestABusyBotTellsEveryoneItTurnsAway(t *testing.T) {
	w := newWorld(t, "")
	// First, with slots to spare: requests to vote on, the dialogs to
	// submit later, and the Homes to click on. All of it is kept in the
	// store or in Slack, so it outlives the restart below.
	stop := w.serve(t)
	if err := w.slack.WaitConnections(1, 15*time.Second); err != nil {
		t.Fatal(err)
	}
	denied, deniedMsg := w.requestOf(t, qliktest.MarcSessionOnProxy0)
	approved, approvedMsg := w.requestOf(t, qliktest.MarcSessionOnProxy1)
	homeApproved, homeApprovedMsg := w.requestOf(t, qliktest.KenSession)
	proposal := w.command(t, oncall, "kill "+qliktest.JsmithSessionOnProxy0+" on qlik-prod")
	confirm := button(t, proposal[0].Blocks, bot.ActionConfirm)
	reasonClick := w.openDialog(t, slacktest.BlockAction{UserID: oncall, ChannelID: "C0OPS", ActionID: bot.ActionConfirm, Value: confirm}, bot.CallbackReason)
	denyClick := w.openDialog(t, slacktest.BlockAction{UserID: lead, ActionID: bot.ActionDeny, Value: denied, MessageTS: deniedMsg.TS}, bot.CallbackDeny)
	editClick := w.openDialog(t, slacktest.BlockAction{UserID: oncall, ChannelID: "C0OPS", ActionID: bot.ActionEditUnderstood, Value: `list Domain\Marc`}, bot.CallbackEdit)
	w.openHome(t, oncall, func(v string) bool { return strings.Contains(v, `"value":"`+homeApproved+`"`) })
	for _, approver := range []string{lead, lead2} {
		w.openHome(t, approver, func(v string) bool { return strings.Contains(v, `"value":"`+homeApproved+`"`) })
	}

	if err := stop(); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "the stopped bot is still connected", func() bool { return w.slack.Connections() == 0 })

	// Then with one slot, taken by a list held at Qlik.
	w.limitInFlight(t, "1")
	w.start(t, 1)
	hold := testkit.NewHold()
	w.site.Intercept(hold)
	defer hold.Release()
	w.slack.SendSlashCommand(slacktest.SlashCommand{Command: "/sessions", Text: `list Domain\Marc`, UserID: oncall, ChannelID: "C0OPS"})
	hold.Reached(t, "the list did not reach Qlik")

	// send delivers an envelope and waits for its ack.
	send := func(t *testing.T, deliver func() (slacktest.Sent, error)) slacktest.Sent {
		t.Helper()
		sent, err := deliver()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.slack.WaitAck(sent.EnvelopeID, 3*time.Second); err != nil {
			t.Fatal(err)
		}
		return sent
	}
	homeClick := func(user, action, value string) func() (slacktest.Sent, error) {
		return func() (slacktest.Sent, error) {
			return w.slack.SendHomeAction(slacktest.HomeAction{UserID: user, ActionID: action, Value: value})
		}
	}
	refused := []struct {
		name string
		send func() (slacktest.Sent, error)
		// told is what reached the person on the route they should be
		// told on.
		told func(sent slacktest.Sent) []string
		// undone is what the answer must say did not happen.
		undone string
	}{
		{"slash command",
			func() (slacktest.Sent, error) {
				return w.slack.SendSlashCommand(slacktest.SlashCommand{Command: "/sessions", Text: "help", UserID: oncall, ChannelID: "C0OPS"})
			},
			func(s slacktest.Sent) []string { return w.responded(s.ResponseID) }, ""},
		{"direct message, answered in the DM",
			func() (slacktest.Sent, error) { return w.slack.SendDirectMessage(oncall, "D0ONCALL", "help") },
			func(slacktest.Sent) []string { return w.posted("chat.postMessage", "D0ONCALL", "") }, ""},
		{"mention, answered to the person only",
			func() (slacktest.Sent, error) { return w.slack.SendAppMention(oncall, "C0OPS", "help") },
			func(slacktest.Sent) []string { return w.posted("chat.postEphemeral", "C0OPS", oncall) }, ""},
		{"edit dialog, answered on its message's response_url",
			func() (slacktest.Sent, error) {
				return w.slack.SendViewSubmission(slacktest.ViewSubmission{UserID: oncall, CallbackID: bot.CallbackEdit,
					Values: map[string]map[string]string{"command": {"command_text": `list Domain\Marc`}}})
			},
			func(slacktest.Sent) []string { return w.responded(editClick.ResponseID) }, "the command you edited was not run"},
		{"Confirm button",
			func() (slacktest.Sent, error) {
				return w.slack.SendBlockAction(slacktest.BlockAction{UserID: oncall, ChannelID: "C0OPS", ActionID: bot.ActionConfirm, Value: confirm})
			},
			func(s slacktest.Sent) []string { return w.responded(s.ResponseID) }, "nothing was requested"},
		{"Deny button (it opens a dialog, which cannot wait)",
			func() (slacktest.Sent, error) {
				return w.slack.SendBlockAction(slacktest.BlockAction{UserID: lead2, ActionID: bot.ActionDeny, Value: approved, MessageTS: approvedMsg.TS})
			},
			func(s slacktest.Sent) []string { return w.responded(s.ResponseID) }, "your vote on request " + approved + " was not counted"},
		{"Home: Withdraw, told in a DM", homeClick(oncall, bot.ActionWithdraw, denied),
			func(slacktest.Sent) []string { return w.posted("chat.postMessage", oncall, "") }, "request " + denied + " was not withdrawn"},
		{"Home: search", homeClick(oncall, bot.ActionSearch, `Domain\Marc`),
			func(slacktest.Sent) []string { return w.posted("chat.postMessage", oncall, "") }, "your search was not run"},
		{"Home opened for the first time, shown on it", func() (slacktest.Sent, error) { return w.slack.SendAppHomeOpened("U0MARC") },
			func(slacktest.Sent) []string {
				home, _ := w.slack.Home("U0MARC")
				return []string{string(home.JSON)}
			}, ""},
		{"Home: Deny", homeClick(lead, bot.ActionDeny, denied),
			func(slacktest.Sent) []string { return w.posted("chat.postMessage", lead, "") }, "your vote on request " + denied + " was not counted"},
	}
	for _, c := range refused {
		t.Run("refused/"+c.name, func(t *testing.T) {
			sent := send(t, c.send)
			eventually(t, 10*time.Second, "the person was not told the bot is busy", func() bool {
				for _, text := range c.told(sent) {
					if strings.Contains(text, busyWords) && strings.Contains(text, c.undone) {
						return true
					}
				}
				return false
			})
		})
	}

	waiting := []struct {
		name string
		send func() (slacktest.Sent, error)
		// route is where a refusal would have been told.
		route func(sent slacktest.Sent) []string
		// done is true once the decision went through.
		done func() bool
	}{
		{"reason dialog",
			func() (slacktest.Sent, error) {
				return w.slack.SendViewSubmission(slacktest.ViewSubmission{UserID: oncall, CallbackID: bot.CallbackReason,
					Values: map[string]map[string]string{"reason": {"reason_text": "stuck after the deploy"}}})
			},
			func(slacktest.Sent) []string { return w.responded(reasonClick.ResponseID) },
			func() bool {
				for _, p := range w.slack.Posts() {
					if p.Channel == "C0APPROVALS" && strings.Contains(string(p.Blocks), qliktest.JsmithSessionOnProxy0) {
						return true
					}
				}
				return false
			}},
		{"deny dialog",
			func() (slacktest.Sent, error) {
				return w.slack.SendViewSubmission(slacktest.ViewSubmission{UserID: lead, CallbackID: bot.CallbackDeny,
					Values: map[string]map[string]string{"reason": {"reason_text": "Marc is presenting"}}})
			},
			func(slacktest.Sent) []string { return w.responded(denyClick.ResponseID) },
			func() bool { return strings.Contains(latest(w.slack, deniedMsg.TS).Text, "denied") }},
		{"Approve button",
			func() (slacktest.Sent, error) {
				return w.slack.SendBlockAction(slacktest.BlockAction{UserID: lead, ActionID: bot.ActionApprove, Value: approved, MessageTS: approvedMsg.TS})
			},
			func(s slacktest.Sent) []string { return w.responded(s.ResponseID) },
			func() bool { return strings.Contains(latest(w.slack, approvedMsg.TS).Text, "done") }},
		{"Home: Approve", homeClick(lead2, bot.ActionApprove, homeApproved),
			func(slacktest.Sent) []string { return w.posted("chat.postMessage", lead2, "") },
			func() bool { return strings.Contains(latest(w.slack, homeApprovedMsg.TS).Text, "done") }},
	}
	sent := make([]slacktest.Sent, len(waiting))
	for i, c := range waiting {
		sent[i] = send(t, c.send)
	}
	// Long enough for a refusal to have been told (the refused cases
	// above were told within it).
	time.Sleep(time.Second)
	for i, c := range waiting {
		for _, text := range c.route(sent[i]) {
			if strings.Contains(text, busyWords) {
				t.Errorf("%s: refused while a slot could free (%q); a decision waits for one", c.name, text)
			}
		}
		if c.done() {
			t.Errorf("%s: went through while the only slot was taken", c.name)
		}
	}
	w.site.Intercept(nil)
	hold.Release()
	for _, c := range waiting {
		t.Run("waited/"+c.name, func(t *testing.T) {
			eventually(t, 20*time.Second, "the decision did not go through once the slot freed", c.done)
		})
	}
}
