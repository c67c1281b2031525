package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/sessionbot/sessionbot/bot"
	"github.com/sessionbot/sessionbot/bot/slacktest"
	"github.com/sessionbot/sessionbot/vendors/qlik/qliktest"
)

// typedReasons are values a person types into a text box. Slack sends a
// plain_text_input's value exactly as typed (only message text is escaped
// and marked up), so each must reach the record unchanged.
var typedReasons = []string{
	"R&amp;D owns this box",     // typed characters, not an escape
	"wait for <INC-4711> first", // angle brackets typed in a text box
	"ask in <#ops> first",       // looks like Slack's channel syntax
	"&copy &not &reg stay",      // HTML entities Go decodes without ';'
	"tell <!here> later",        // must not become a broadcast when shown
	"Marc is presenting",        // a plain reason
}

// mrkdwnOnce is s as a mrkdwn text shows it: & < > escaped once.
var mrkdwnOnce = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace

// TestTypedReasonsReachTheRecordAsTyped types each reason into each dialog
// that takes one and reads the approval message, which shows the recorded
// reason escaped once for mrkdwn.
func TestTypedReasonsReachTheRecordAsTyped(t *testing.T) {
	dialogs := []struct {
		name string
		// enter types reason and returns the approval message's text once
		// it carries the outcome (after says what that text contains).
		enter func(t *testing.T, w *world, reason string) (text, after string)
	}{
		{"the kill-reason dialog", func(t *testing.T, w *world, reason string) (string, string) {
			reply := w.command(t, oncall, "kill "+qliktest.MarcSessionOnProxy0+" on qlik-prod")
			w.click(t, oncall, bot.ActionConfirm, button(t, reply[0].Blocks, bot.ActionConfirm))
			w.submit(t, oncall, bot.CallbackReason, map[string]map[string]string{"reason": {"reason_text": reason}})
			return w.approvalText(t, "chat.postMessage", "", "Requested by"), "Requested by"
		}},
		{"the deny dialog", func(t *testing.T, w *world, reason string) (string, string) {
			approval := w.propose(t, qliktest.MarcSessionOnProxy0, "looks stuck")
			w.click(t, lead, bot.ActionDeny, button(t, approval.Blocks, bot.ActionDeny))
			w.submit(t, lead, bot.CallbackDeny, map[string]map[string]string{"reason": {"reason_text": reason}})
			return w.approvalText(t, "chat.update", approval.TS, "denied"), "denied by"
		}},
		{"the edit-the-command dialog", func(t *testing.T, w *world, reason string) (string, string) {
			// The box opens with the understood command, which the person
			// submits unchanged: it must read back as the same command.
			understood := "kill " + qliktest.MarcSessionOnProxy0 + " on qlik-prod reason " + reason
			sent := w.click(t, oncall, bot.ActionEditUnderstood, understood)
			if got := w.editBox(t); got != understood {
				t.Fatalf("the edit box opened with %q, want %q", got, understood)
			}
			w.submit(t, oncall, bot.CallbackEdit, map[string]map[string]string{"command": {"command_text": understood}})
			proposal, err := w.slack.WaitResponses(sent.ResponseID, 1, 10*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			w.click(t, oncall, bot.ActionConfirm, button(t, proposal[0].Blocks, bot.ActionConfirm))
			return w.approvalText(t, "chat.postMessage", "", "Requested by"), "Requested by"
		}},
	}
	for _, d := range dialogs {
		for _, reason := range typedReasons {
			t.Run(d.name+"/"+reason, func(t *testing.T) {
				w := newWorld(t, "")
				w.start(t, 1)
				text, after := d.enter(t, w, reason)
				_, shown, _ := strings.Cut(text, after)
				want := mrkdwnOnce(reason)
				if !strings.Contains(shown, want) {
					t.Errorf("the approval message does not show the reason typed, %q, as %q:\n%s", reason, want, text)
				}
				if want != reason && strings.Contains(text, reason) {
					t.Errorf("the approval message shows the reason %q unescaped:\n%s", reason, text)
				}
			})
		}
	}
}

// TestTheEditBoxReadsBackWhatItShows submits the edit box unchanged: the
// command it ran must be the one the box was opened with, a person written
// @U… included, also from an older button that carried <@U…>.
func TestTheEditBoxReadsBackWhatItShows(t *testing.T) {
	tests := []struct{ name, understood, box, want string }{
		{"a person by Slack id", "logout @U0MARC on qlik-prod reason stuck", "logout @U0MARC on qlik-prod reason stuck", "log `Domain\\marc` out"},
		{"an older button's mention", "logout <@U0MARC> on qlik-prod reason stuck", "logout @U0MARC on qlik-prod reason stuck", "log `Domain\\marc` out"},
		{"an account with an ampersand", `list Domain\R&amp;D on qlik-prod`, `list Domain\R&amp;D on qlik-prod`, "as `Domain\\R&amp;amp;D`"},
	}
	w := newWorld(t, "")
	w.start(t, 1)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(w.slack.ViewCalls())
			sent := w.click(t, oncall, bot.ActionEditUnderstood, tt.understood)
			box := w.editBoxAfter(t, before)
			if box != tt.box {
				t.Fatalf("the edit box opened with %q, want %q", box, tt.box)
			}
			w.submit(t, oncall, bot.CallbackEdit, map[string]map[string]string{"command": {"command_text": box}})
			got, err := w.slack.WaitResponses(sent.ResponseID, 1, 10*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if text := texts(got[0].Blocks); !strings.Contains(text, tt.want) {
				t.Errorf("the edited command's answer lacks %s:\n%s", tt.want, text)
			}
		})
	}
}

// TestTheHomeSearchTakesThePersonAsTyped types into the App Home's search
// box, whose value Slack sends as typed: the person listed is the one typed.
func TestTheHomeSearchTakesThePersonAsTyped(t *testing.T) {
	tests := []struct{ typed, want string }{
		{`Domain\R&amp;D`, `Domain\R&amp;D`},
		{`Domain\<INC-4711>`, `Domain\<INC-4711>`},
		{`<#ops>`, `<#ops>`},
		{`Domain\&copy`, `Domain\&copy`},
		{`Domain\Marc`, qliktest.MarcSessionOnProxy0},
	}
	w := newWorld(t, "")
	w.start(t, 1)
	w.openHome(t, oncall, func(string) bool { return true })
	for _, tt := range tests {
		t.Run(tt.typed, func(t *testing.T) {
			before := len(w.slack.ViewCalls())
			w.homeClick(t, oncall, bot.ActionSearch, tt.typed)
			view := w.openedAfter(t, before, "")
			if text := texts(view); !strings.Contains(text, tt.want) || strings.Contains(text, "Channels and user groups") {
				t.Errorf("the search for %q answered without %q:\n%s", tt.typed, tt.want, text)
			}
		})
	}
}

// click sends a click on an ephemeral message's button and waits for its ack.
func (w *world) click(t *testing.T, user, action, value string) slacktest.Sent {
	t.Helper()
	sent, err := w.slack.SendBlockAction(slacktest.BlockAction{UserID: user, ChannelID: "C0OPS", ActionID: action, Value: value})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.slack.WaitAck(sent.EnvelopeID, 3*time.Second); err != nil {
		t.Fatal(err)
	}
	return sent
}

// submit waits for a modal opened with callback and submits the last one
// opened with values typed.
func (w *world) submit(t *testing.T, user, callback string, values map[string]map[string]string) {
	t.Helper()
	w.openedAfter(t, 0, callback)
	sent, err := w.slack.SendViewSubmission(slacktest.ViewSubmission{UserID: user, CallbackID: callback, Values: values})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.slack.WaitAck(sent.EnvelopeID, 3*time.Second); err != nil {
		t.Fatal(err)
	}
}

// openedAfter waits for a views.open after the first n view calls, with
// callback unless it is empty, and returns the view.
func (w *world) openedAfter(t *testing.T, n int, callback string) json.RawMessage {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		calls := w.slack.ViewCalls()
		for _, v := range calls[min(n, len(calls)):] {
			if v.Method == "views.open" && (callback == "" || v.CallbackID == callback) {
				return v.JSON
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no views.open of %q after view call %d", callback, n)
	return nil
}

// editBox is the initial value of the first edit dialog opened.
func (w *world) editBox(t *testing.T) string { return w.editBoxAfter(t, 0) }

func (w *world) editBoxAfter(t *testing.T, n int) string {
	t.Helper()
	var view struct {
		Blocks []struct {
			Element struct {
				InitialValue string `json:"initial_value"`
			} `json:"element"`
		} `json:"blocks"`
	}
	if err := json.Unmarshal(w.openedAfter(t, n, bot.CallbackEdit), &view); err != nil || len(view.Blocks) != 1 {
		t.Fatalf("the edit dialog is not one input block: %v", err)
	}
	return view.Blocks[0].Element.InitialValue
}

// approvalText waits for a post (method; ts for an update) to the approval
// channel whose text has has, and returns its blocks' text.
func (w *world) approvalText(t *testing.T, method, ts, has string) string {
	t.Helper()
	p := waitPost(t, w.slack, func(p slacktest.Post) bool {
		return p.Method == method && p.Channel == "C0APPROVALS" && (ts == "" || p.TS == ts) && strings.Contains(texts(p.Blocks), has)
	})
	return texts(p.Blocks)
}

// texts joins every "text" string in Block Kit JSON.
func texts(blocks json.RawMessage) string {
	var out []string
	slacktest.Objects(blocks, func(o map[string]any) error {
		if s, ok := o["text"].(string); ok {
			out = append(out, s)
		}
		return nil
	})
	return strings.Join(out, "\n")
}
