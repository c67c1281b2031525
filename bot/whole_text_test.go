package bot

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/sessionbot/sessionbot/bot/slacktest"
	"github.com/sessionbot/sessionbot/commands"
	"github.com/sessionbot/sessionbot/store"
	"github.com/sessionbot/sessionbot/vendors/qlik/qliktest"
)

// A plain-words request within the limits, counted in characters as the
// dialogs count them, is carried whole by its Confirm and Edit buttons and
// the edit box, whatever its script: Confirm proposes what was shown.
func TestUnderstoodButtonsCarryTheWholeCommand(t *testing.T) {
	cmd, err := commands.Parse("kill "+qliktest.MarcSessionOnProxy0+" on qlik-prod reason "+strings.Repeat("д", commands.MaxReason-20), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	understood := cmd.String()
	if n := len([]rune(understood)); n > commands.MaxCommandLength {
		t.Fatalf("test setup: %d characters", n)
	}
	msg := Render(commands.Reply{Command: cmd, Title: "Did I understand you?", Understood: understood, NeedsConfirmation: true}, 1)
	for _, id := range []string{ActionUnderstood, ActionEditUnderstood} {
		if got := buttonValue(msg, id); got != understood {
			t.Errorf("%s carries %d of %d characters", id, len([]rune(got)), len([]rune(understood)))
		}
	}
	view := editModal(understood, "{}")
	input := view.Blocks.BlockSet[0].(*slack.InputBlock).Element.(*slack.PlainTextInputBlockElement)
	if input.InitialValue != understood {
		t.Errorf("the editor opens with %d of %d characters", len([]rune(input.InitialValue)), len([]rune(understood)))
	}
}

// Approvers decide on what they read: the approval message holds the whole
// reason, in any script and however much escaping it needs, and Slack
// still takes the message.
func TestApproversSeeTheWholeReason(t *testing.T) {
	short := store.Request{ID: "R1", Vendor: "qlik", Instance: "qlik-prod", SessionID: "s1", Requester: "U0ONCALL", CreatedAt: time.Now()}
	// Every other field as long as the checks allow, and needing escaping.
	long := store.Request{ID: "R0000001", Action: store.ActionEndSession, Vendor: "qlik", Instance: strings.Repeat("i", 100),
		SessionID: strings.Repeat("&", 200), TargetDirectory: "CORP", TargetUser: strings.Repeat("&", 150), Node: strings.Repeat("&", 100),
		SessionStarted: time.Now(), Requester: "U0ONCALL", CreatedAt: time.Now(), State: store.StatePending}
	tests := []struct {
		name   string
		req    store.Request
		reason string
	}{
		{"ASCII", short, strings.Repeat("a", commands.MaxReason)},
		{"Cyrillic", short, strings.Repeat("д", commands.MaxReason)},
		{"ampersands", short, strings.Repeat("R&D ", commands.MaxReason/4)},
		{"nothing but characters to escape", short, strings.Repeat("&", commands.MaxReason)},
		{"beside every other field at its longest", long, strings.Repeat("&", commands.MaxReason)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := tt.req
			req.Reason = tt.reason
			msg := approvalMessage(req, nil, []string{"U0LEAD"})
			raw, err := json.Marshal(msg.Blocks)
			if err != nil {
				t.Fatal(err)
			}
			if err := slacktest.ValidateMessage(msg.Text, raw); err != nil {
				t.Fatalf("Slack would refuse it: %v", err)
			}
			var text strings.Builder
			enc := json.NewEncoder(&text)
			enc.SetEscapeHTML(false)
			enc.Encode(msg.Blocks)
			if !strings.Contains(text.String(), strings.TrimSpace(esc(tt.reason))) {
				t.Errorf("the approvers' message does not hold the %d-character reason", len([]rune(tt.reason)))
			}
		})
	}
}

// Approvers can vote from the Home too: the reason they read beside the
// Approve and Deny buttons is whole, as in the approval message.
func TestHomeApproversSeeTheWholeReason(t *testing.T) {
	r := store.Request{ID: "R0000001", Action: store.ActionEndSession, Vendor: "qlik", Instance: strings.Repeat("i", 100),
		SessionID: strings.Repeat("&", 200), TargetDirectory: "CORP", TargetUser: strings.Repeat("&", 150), Node: strings.Repeat("&", 100),
		SessionStarted: time.Now(), Requester: "U0ONCALL", CreatedAt: time.Now(), State: store.StatePending,
		Reason: strings.Repeat("&", commands.MaxReason)}
	view := homeView(commands.Home{Approver: true, Waiting: []commands.RequestView{{Request: r}}}, "/sessions", "")
	raw, err := json.Marshal(view)
	if err != nil {
		t.Fatal(err)
	}
	if err := slacktest.ValidateView(raw); err != nil {
		t.Fatalf("Slack would refuse the Home: %v", err)
	}
	var tree any
	json.Unmarshal(raw, &tree)
	var text strings.Builder
	enc := json.NewEncoder(&text)
	enc.SetEscapeHTML(false)
	enc.Encode(tree)
	if !strings.Contains(text.String(), esc(r.Reason)) {
		t.Error("the Home, where an approver can vote, cuts the reason")
	}
}
