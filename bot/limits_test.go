package bot

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sessionbot/sessionbot/bot/slacktest"
	"github.com/sessionbot/sessionbot/commands"
	"github.com/sessionbot/sessionbot/store"
	"github.com/sessionbot/sessionbot/vendors"
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
	var tree any
	json.Unmarshal(raw, &tree)
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if ty, _ := x["type"].(string); ty == "mrkdwn" || ty == "plain_text" {
				s, _ := x["text"].(string)
				total += len([]rune(s))
			}
			for _, c := range x {
				walk(c)
			}
		case []any:
			for _, c := range x {
				walk(c)
			}
		}
	}
	walk(tree)
	return raw, total
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
			var text strings.Builder
			enc := json.NewEncoder(&text)
			enc.SetEscapeHTML(false)
			var blocks any
			json.Unmarshal(raw, &blocks)
			enc.Encode(blocks)
			if !strings.Contains(text.String(), esc(cmd.Reason)) {
				t.Error("the proposal does not hold the whole reason")
			}
		})
	}
}
