package bot

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/sessionbot/sessionbot/bot/slacktest"
	"github.com/sessionbot/sessionbot/commands"
	"github.com/sessionbot/sessionbot/store"
	"github.com/sessionbot/sessionbot/vendors"
	"github.com/sessionbot/sessionbot/vendors/qlik/qliktest"
)

// Values that cost the most once clipped in characters: another script,
// and characters that escaping makes longer.
var costlyValues = map[string]func(n int) string{
	"cyrillic":   func(n int) string { return strings.Repeat("д", n) },
	"ampersands": func(n int) string { return strings.Repeat("&", n) },
	"mixed":      func(n int) string { return strings.Repeat("д&<🎉", n/4+1) },
}

func costlySession(w func(int) string, i int, attributes int) vendors.Session {
	s := vendors.Session{Vendor: vendors.Qlik, Instance: "qlik-prod", ID: fmt.Sprint(i) + w(200), Node: w(200), UserName: w(200),
		User: vendors.Identity{Directory: w(100), ID: w(100)}, Started: t0, LastActive: t0}
	for a := range attributes {
		s.Attributes = append(s.Attributes, vendors.Attribute{Name: fmt.Sprint(a) + w(100), Value: w(300)})
	}
	return s
}

// slackTakes fails the test when Slack would refuse msg, and returns the
// characters of text its blocks hold, as the validator counts them.
func slackTakes(t *testing.T, msg Message) (raw []byte, total int) {
	t.Helper()
	raw, err := json.Marshal(msg.Blocks)
	if err != nil {
		t.Fatal(err)
	}
	if err := slacktest.ValidateMessage(wireText(msg.Text), raw); err != nil {
		t.Fatalf("Slack would refuse it: %v", err)
	}
	slacktest.Objects(raw, func(o map[string]any) error {
		if ty, _ := o["type"].(string); ty == "mrkdwn" || ty == "plain_text" {
			s, _ := o["text"].(string)
			total += len([]rune(s))
		}
		return nil
	})
	return raw, total
}

// holdsText is whether one text object of Block Kit JSON holds want whole.
func holdsText(raw []byte, want string) bool {
	held := false
	slacktest.Objects(raw, func(o map[string]any) error {
		if s, ok := o["text"].(string); ok && strings.Contains(s, want) {
			held = true
		}
		return nil
	})
	return held
}

// A digest of the stalest sessions stays within what Slack takes in all,
// whatever its sessions hold, and says how many it could not show.
func TestADigestStaysWithinSlacksTotal(t *testing.T) {
	realistic := func() vendors.Session {
		s := vendors.Session{Vendor: vendors.Qlik, Instance: "qlik-prod", ID: "7b8ab85e-0c85-4fcb-8e56-4ead68310000",
			Node: "qlik-node-01.corp.local", UserName: "Константинопольский Александр Владимирович",
			User: vendors.Identity{Directory: "КОРП", ID: "константинопольский.ав"}, Started: t0, LastActive: t0}
		for _, g := range []string{"Отдел продаж", "Финансовый департамент", "Бухгалтерия", "Руководители проектов", "Аналитика и отчётность",
			"Пользователи Qlik", "Маркетинг", "Закупки", "Юридический отдел", "Служба безопасности", "Региональные менеджеры", "Все сотрудники"} {
			s.Attributes = append(s.Attributes, vendors.Attribute{Name: "группа", Value: g})
		}
		s.Attributes = append(s.Attributes, vendors.Attribute{Name: "подразделение", Value: "Департамент информационных технологий и цифровой трансформации"})
		return s
	}
	tests := map[string]func(i int) vendors.Session{"realistic Cyrillic": func(int) vendors.Session { return realistic() }}
	for name, w := range costlyValues {
		tests[name] = func(i int) vendors.Session { return costlySession(w, i, 8) }
	}
	for name, session := range tests {
		t.Run(name, func(t *testing.T) {
			d := commands.Digest{Report: "nightly", Open: 40, Stale: 20, Problems: []string{strings.Repeat("qlik-dr did not answer ", 20)}}
			for i := range commands.MaxTop {
				d.Stalest = append(d.Stalest, session(i))
			}
			raw, total := slackTakes(t, Message{Blocks: digestBlocks(d, t0.Add(48*time.Hour)), Text: d.Summary()})
			if total > maxTotalText {
				t.Errorf("%d characters of block text, over the budget of %d", total, maxTotalText)
			}
			if shown := strings.Count(string(raw), `"action_id":"`+ActionKill+`"`); shown < commands.MaxTop && !strings.Contains(string(raw), "more, not shown") {
				t.Errorf("%d of %d sessions shown, and nothing says so", shown, commands.MaxTop)
			}
		})
	}
}

// A proposal whose sessions fill the message keeps room for its whole
// reason, however much escaping the reason needs.
func TestAProposalKeepsRoomForItsWholeReason(t *testing.T) {
	for name, w := range costlyValues {
		t.Run(name, func(t *testing.T) {
			cmd := mustParse(t, "logout CORP\\marc on qlik-prod reason "+strings.Repeat("&", commands.MaxReason))
			p := &commands.Proposal{Action: store.ActionLogoutUser, Instance: "qlik-prod", Vendor: vendors.Qlik,
				User: vendors.Identity{Directory: "CORP", ID: "marc"}, Reason: cmd.Reason, Command: cmd,
				Approvers: []string{"U0LEAD", "S0LEADS"}, ApprovalsNeeded: 1}
			for i := range 60 {
				p.Sessions = append(p.Sessions, costlySession(w, i, 2))
			}
			raw, total := slackTakes(t, Render(commands.Reply{Command: cmd, Title: "Log marc out?", Proposal: p}, 1))
			if total > maxTotalText {
				t.Errorf("%d characters of block text, over the budget of %d", total, maxTotalText)
			}
			if !holdsText(raw, esc(cmd.Reason)) {
				t.Error("the proposal does not hold the whole reason")
			}
		})
	}
}

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
			raw, _ := slackTakes(t, approvalMessage(req, nil, []string{"U0LEAD"}))
			if !holdsText(raw, strings.TrimSpace(esc(tt.reason))) {
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
	if !holdsText(raw, esc(r.Reason)) {
		t.Error("the Home, where an approver can vote, cuts the reason")
	}
}
