package bot_test

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/png"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sessionbot/sessionbot/bot"
	"github.com/sessionbot/sessionbot/bot/slacktest"
	"github.com/sessionbot/sessionbot/commands"
	"github.com/sessionbot/sessionbot/internal/chart"
	"github.com/sessionbot/sessionbot/internal/testkit"
	"github.com/sessionbot/sessionbot/store"
	"github.com/sessionbot/sessionbot/store/sqlite"
	"github.com/sessionbot/sessionbot/vendors"
	"github.com/sessionbot/sessionbot/vendors/qlik/qliktest"
)

func TestDigestIsOneMessageWithRequestEndButtonsAndTheChartInItsThread(t *testing.T) {
	fake := slacktest.New(slacktest.Options{BotToken: "xoxb-b", AppToken: "xapp-a", Scopes: bot.RequiredScopes})
	defer fake.Close()
	s := bot.NewSlack(bot.Config{BotToken: "xoxb-b", AppToken: "xapp-a", APIURL: fake.APIURL()})
	n := s.Notifier(func(string) []string { return nil })
	poster, ok := n.(commands.DigestPoster)
	if !ok {
		t.Fatalf("%T cannot post digests", n)
	}
	at := time.Now().Truncate(time.Minute)
	stalest := []vendors.Session{
		{Vendor: vendors.Commvault, Instance: "commvault", ID: "EMC0B1C2D3E", User: vendors.Identity{Directory: "CORP", ID: "marc"},
			Node: "pc-marc", Started: at.Add(-30 * time.Hour), LastActive: at.Add(-26 * time.Hour),
			Attributes: []vendors.Attribute{{Name: "console", Value: "CommCell Console"}}},
		{Vendor: vendors.Qlik, Instance: "qlik-prod", ID: "7b8ab85e", User: vendors.Identity{Directory: "Domain", ID: "Ken"}, UserName: "<!channel> Ken", Node: "qps1:4243",
			LastActive: at.Add(-9 * time.Hour)},
	}
	var history []store.NodeCount
	for day := range 7 {
		for _, node := range []string{"qps1:4243", "qps2:4243"} {
			history = append(history, store.NodeCount{Report: "stale", At: at.Add(-time.Duration(6-day) * 24 * time.Hour), Instance: "qlik-prod", Node: node, Sessions: day})
		}
	}
	d := commands.Digest{Report: "stale", Destination: "C0OPS", Rule: "idle > 8h", At: at,
		Nodes:   []commands.NodeTally{{Instance: "commvault", Node: "pc-marc", Open: 1, Stale: 1}, {Instance: "qlik-prod", Node: "qps1:4243", Open: 7, Stale: 1}, {Instance: "qlik-prod", Node: "qps2:4243", Open: 5}},
		Stalest: stalest, Open: 13, Stale: 2, History: history, Problems: []string{"teams cannot list all its sessions"}}
	if err := poster.PostDigest(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	posts := fake.Posts()
	if len(posts) != 1 || posts[0].Method != "chat.postMessage" || posts[0].Channel != "C0OPS" {
		t.Fatalf("posts %+v, want one message in C0OPS", posts)
	}
	msg := posts[0]
	if strings.ContainsAny(msg.Text, "<>") || strings.Contains(msg.Text, "http") || !strings.Contains(msg.Text, "2 of 13 open sessions") {
		t.Errorf("summary %q: want the counts and no link, mention or markup", msg.Text)
	}
	var blocks []struct {
		Accessory *struct {
			ActionID string `json:"action_id"`
			Value    string `json:"value"`
			Text     struct{ Text string }
		} `json:"accessory"`
	}
	if err := json.Unmarshal(msg.Blocks, &blocks); err != nil {
		t.Fatal(err)
	}
	var values []string
	for _, b := range blocks {
		if b.Accessory != nil && b.Accessory.Text.Text == "Request end" {
			if b.Accessory.ActionID != bot.ActionKill {
				t.Errorf("Request end runs %s, want the Kill button's %s", b.Accessory.ActionID, bot.ActionKill)
			}
			values = append(values, b.Accessory.Value)
		}
	}
	// The Kill button's structured value: the normal proposal's command.
	type kill struct {
		Verb     string `json:"verb"`
		Instance string `json:"i"`
		Session  string `json:"s"`
		User     string `json:"u"`
	}
	want := []kill{{"kill", "commvault", "EMC0B1C2D3E", `CORP\marc`}, {"kill", "qlik-prod", "7b8ab85e", `Domain\Ken`}}
	if len(values) != len(want) {
		t.Fatalf("Request end buttons %q, want %d", values, len(want))
	}
	for i, v := range values {
		var got kill
		if err := json.Unmarshal([]byte(v), &got); err != nil || got != want[i] {
			t.Errorf("Request end button %d carries %q (%v), want %+v", i, v, err, want[i])
		}
	}
	if strings.Contains(unescapeJSON(msg.Blocks), "<!channel>") {
		t.Errorf("a user name became a broadcast: %s", msg.Blocks)
	}

	files := fake.Files()
	if len(files) != 1 || !files[0].Completed || files[0].Channel != "C0OPS" || files[0].ThreadTS != msg.TS {
		t.Fatalf("files %+v, want the chart in the digest's thread %s", files, msg.TS)
	}
	img, err := png.Decode(bytes.NewReader(files[0].Bytes))
	if err != nil {
		t.Fatalf("the chart is not a PNG: %v", err)
	}
	if got := img.Bounds().Size(); got != image.Pt(chart.Width, chart.Height) {
		t.Errorf("chart %v, want %dx%d", got, chart.Width, chart.Height)
	}
	if v := fake.Violations(); len(v) > 0 {
		t.Errorf("violations: %v", v)
	}
}

// A digest's Request end button, clicked in Slack, shows the same proposal
// as a list's Kill button: the normal proposal, reason and approval flow.
func TestRequestEndFromADigestStartsTheProposal(t *testing.T) {
	site := testkit.Start(t, qliktest.New, qliktest.Options{Proxies: 1, Demo: true})
	reg := qlikRegistry(t, site, 0)
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	fake := slacktest.New(slacktest.Options{BotToken: "xoxb-b", AppToken: "xapp-a", Scopes: bot.RequiredScopes})
	defer fake.Close()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	s := bot.NewSlack(bot.Config{BotToken: "xoxb-b", AppToken: "xapp-a", APIURL: fake.APIURL(), Logger: logger,
		ApprovalChannel: func(string) string { return "C0APPROVALS" }})
	rule, _ := commands.ParseRule("group is Sales")
	svc := commands.New(commands.Config{Registry: reg, Logger: logger,
		Access: &commands.Access{Default: commands.Policy{Requesters: []string{"U0ONCALL"}, Approvers: []string{"U0LEAD"},
			Destination: "C0APPROVALS", ApprovalsNeeded: 1, TTL: 15 * time.Minute}},
		Approvals: &commands.Approvals{Store: st, Notifier: s.Notifier(func(string) []string { return []string{"U0LEAD"} }), ReplicaID: "r1"},
		Reports:   []commands.Report{{Name: "stale", Destination: "C0OPS", Rule: rule}},
	})
	bot.RunConnected(t, bot.New(s, svc), fake)
	if _, err := svc.RunReport(context.Background(), "stale"); err != nil {
		t.Fatal(err)
	}
	digest := fake.Posts()[0]
	value := ""
	var blocks []map[string]any
	json.Unmarshal(digest.Blocks, &blocks)
	for _, bl := range blocks {
		if acc, ok := bl["accessory"].(map[string]any); ok && strings.Contains(acc["value"].(string), qliktest.MarcSessionOnProxy0) {
			value = acc["value"].(string)
		}
	}
	if value == "" {
		t.Fatalf("no Request end button for Marc's session in %s", digest.Blocks)
	}
	sent, err := fake.SendBlockAction(slacktest.BlockAction{UserID: "U0ONCALL", ActionID: bot.ActionKill, Value: value, MessageTS: digest.TS})
	if err != nil {
		t.Fatal(err)
	}
	got, err := fake.WaitResponses(sent.ResponseID, 1, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(got[0].Blocks), "Request approval") || got[0].ResponseType != "ephemeral" {
		t.Errorf("the click showed %s (%s), want the proposal with Request approval, to the clicker only", got[0].Blocks, got[0].ResponseType)
	}
	if site.Deletes() != 0 {
		t.Error("a click on Request end ended a session without approval")
	}
}

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
