package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessionbot/sessionbot/bot"
	"github.com/sessionbot/sessionbot/bot/slacktest"
	"github.com/sessionbot/sessionbot/internal/testkit"
	"github.com/sessionbot/sessionbot/store/postgres/pgtest"
	"github.com/sessionbot/sessionbot/vendors/qlik/qliktest"
)

const (
	botToken = "xoxb-test-bot-token"
	appToken = "xapp-test-app-token"
	oncall   = "U0ONCALL"
	lead     = "U0LEAD"
	lead2    = "U0LEAD2"
)

// world is a fake Slack and a fake Qlik site, with a config file for the
// real serve wiring to run against.
type world struct {
	slack  *slacktest.Server
	site   *qliktest.Site
	config string
}

func newWorld(t *testing.T, storeYAML string) *world {
	t.Helper()
	site := testkit.Start(t, qliktest.New, qliktest.Options{Proxies: 2, Demo: true})
	dir := t.TempDir()
	files, err := site.ClientFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	fake := slacktest.New(slacktest.Options{
		BotToken: botToken, AppToken: appToken, PingInterval: 200 * time.Millisecond,
		Users: []slacktest.User{
			{ID: oncall, Name: "oncall", Email: "oncall@contoso.com"},
			{ID: "U0MARC", Name: "marc", Email: "marc@contoso.com"},
			{ID: lead, Name: "lead", Email: "lead@contoso.com"},
			{ID: lead2, Name: "lead2", Email: "lead2@contoso.com"},
		},
		UserGroups: map[string][]string{"S0LEADS": {lead, lead2}},
		Channels:   map[string][]string{"C0LEADS": channelMembers(450, lead), "C0APPROVALS": {slacktest.BotUserID, lead, lead2}},
		Scopes:     bot.RequiredScopes,
	})
	t.Cleanup(fake.Close)
	t.Cleanup(func() {
		// Anything Slack itself would have refused (a late or oversized
		// ack, an unknown envelope) fails the test.
		for _, v := range fake.Violations() {
			t.Errorf("Slack protocol violation: %v", v)
		}
	})
	if storeYAML == "" {
		storeYAML = "driver: sqlite\n  path: " + filepath.Join(dir, "sessionbot.db")
	}
	cfg := fmt.Sprintf(`
slack:
  bot_token: %s
  app_token: %s
  api_url: %s
log:
  level: warn
store:
  %s
approvals:
  channel: C0APPROVALS
  requesters: [%s]
  approvers: [S0LEADS]
instances:
  qlik-prod:
    type: qlik
    proxies: [%s]
    cert_file: %s
    key_file: %s
    ca_file: %s
    email_template: 'Domain\{local}'
`, botToken, appToken, fake.APIURL(), storeYAML, oncall, strings.Join(site.Proxies(), ", "), files.Cert, files.Key, files.CA)
	path := filepath.Join(dir, "sessionbot.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return &world{slack: fake, site: site, config: path}
}

// serve runs `sessionbot serve` until the test ends and returns a channel
// with its result.
func (w *world) serve(t *testing.T) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var stderr testkit.LogBuffer
	done := make(chan error, 1)
	go func() {
		root := newRootCommand(strings.NewReader(""), &bytes.Buffer{}, &stderr)
		root.SetArgs([]string{"serve", "--config", w.config})
		done <- root.ExecuteContext(ctx)
	}()
	stopped := false
	stop = func() error {
		if stopped {
			return nil
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(30 * time.Second):
			return fmt.Errorf("serve did not stop within 30s")
		}
	}
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("serve: %v", err)
		}
		if t.Failed() {
			t.Logf("serve's log:\n%s", stderr.String())
		}
	})
	return stop
}

// start serves replicas of the bot until the test ends and waits until
// each has connected to Slack.
func (w *world) start(t *testing.T, replicas int) {
	t.Helper()
	for range replicas {
		w.serve(t)
	}
	if err := w.slack.WaitConnections(replicas, 15*time.Second); err != nil {
		t.Fatal(err)
	}
}

// propose asks, as oncall, to end session with reason, confirms the
// proposal and returns the approval message it posts.
func (w *world) propose(t *testing.T, session, reason string) slacktest.Post {
	t.Helper()
	reply := w.command(t, oncall, "kill "+session+" on qlik-prod reason "+reason)
	confirm := button(t, reply[0].Blocks, bot.ActionConfirm)
	sent, err := w.slack.SendBlockAction(slacktest.BlockAction{UserID: oncall, ChannelID: "C0OPS", ActionID: bot.ActionConfirm, Value: confirm})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.slack.WaitAck(sent.EnvelopeID, 3*time.Second); err != nil {
		t.Fatal(err)
	}
	return waitPost(t, w.slack, func(p slacktest.Post) bool {
		return p.Method == "chat.postMessage" && p.Channel == "C0APPROVALS" && strings.Contains(string(p.Blocks), session)
	})
}

func (w *world) command(t *testing.T, user, text string) []slacktest.Response {
	t.Helper()
	sent, err := w.slack.SendSlashCommand(slacktest.SlashCommand{Command: "/sessions", Text: text, UserID: user, ChannelID: "C0OPS"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.slack.WaitAck(sent.EnvelopeID, 3*time.Second); err != nil {
		t.Fatal(err)
	}
	got, err := w.slack.WaitResponses(sent.ResponseID, 1, 15*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// button finds a button's value in a response's blocks; with want, the
// button whose value contains it.
func button(t *testing.T, blocks json.RawMessage, actionID string, want ...string) string {
	t.Helper()
	var found string
	slacktest.Objects(blocks, func(o map[string]any) error {
		if value, _ := o["value"].(string); o["type"] == "button" && o["action_id"] == actionID && (len(want) == 0 || strings.Contains(value, want[0])) {
			found = value
		}
		return nil
	})
	if found == "" {
		t.Fatalf("no %s button in %s", actionID, blocks)
	}
	return found
}

func TestServeAnswersOverSocketModeAndReconnects(t *testing.T) {
	w := newWorld(t, "")
	w.start(t, 1)

	got := w.command(t, oncall, `list Domain\Marc`)
	blocks := string(got[0].Blocks)
	for _, want := range []string{qliktest.MarcSessionOnProxy0, qliktest.MarcSessionOnProxy1, w.site.Proxies()[0], w.site.Proxies()[1]} {
		if !strings.Contains(blocks, want) {
			t.Errorf("reply lacks %s:\n%s", want, blocks)
		}
	}
	if got[0].ResponseType != "ephemeral" {
		t.Errorf("response_type = %q, want ephemeral", got[0].ResponseType)
	}

	// The websocket drops; the bot reconnects and the next command works.
	opened := w.slack.ConnectionsOpened()
	w.slack.DropConnections()
	if err := w.slack.WaitConnections(1, 15*time.Second); err != nil {
		t.Fatal(err)
	}
	if w.slack.ConnectionsOpened() <= opened {
		t.Errorf("no new apps.connections.open after the drop")
	}
	got = w.command(t, oncall, "vendors")
	if !strings.Contains(string(got[0].Blocks), "qlik-prod") {
		t.Errorf("vendors after reconnect: %s", got[0].Blocks)
	}

	// A redelivered envelope is not answered twice.
	sent, _ := w.slack.SendSlashCommand(slacktest.SlashCommand{Command: "/sessions", Text: "help", UserID: oncall, ChannelID: "C0OPS"})
	w.slack.WaitResponses(sent.ResponseID, 1, 10*time.Second)
	w.slack.Redeliver(sent.EnvelopeID)
	time.Sleep(300 * time.Millisecond)
	if n := len(w.slack.Responses(sent.ResponseID)); n != 1 {
		t.Errorf("a redelivered envelope was answered %d times", n)
	}
}

func TestKillFlowThroughButtonsAndApproval(t *testing.T) {
	w := newWorld(t, "")
	w.start(t, 1)
	list := w.command(t, oncall, `list Domain\Marc on qlik-prod`)
	kill := button(t, list[0].Blocks, bot.ActionKill, qliktest.MarcSessionOnProxy0)

	click := func(user, action, value, ts string) []slacktest.Response {
		t.Helper()
		sent, err := w.slack.SendBlockAction(slacktest.BlockAction{UserID: user, ChannelID: "C0OPS", ActionID: action, Value: value, MessageTS: ts})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.slack.WaitAck(sent.EnvelopeID, 3*time.Second); err != nil {
			t.Fatal(err)
		}
		got, _ := w.slack.WaitResponses(sent.ResponseID, 1, 15*time.Second)
		return got
	}
	proposal := click(oncall, bot.ActionKill, kill, "")
	if len(proposal) == 0 || !strings.Contains(string(proposal[0].Blocks), "Request approval") {
		t.Fatalf("no proposal: %+v", proposal)
	}
	confirm := button(t, proposal[0].Blocks, bot.ActionConfirm)

	// Confirming without a reason asks for one in a modal.
	confirmSent, _ := w.slack.SendBlockAction(slacktest.BlockAction{UserID: oncall, ChannelID: "C0OPS", ActionID: bot.ActionConfirm, Value: confirm})
	w.slack.WaitAck(confirmSent.EnvelopeID, 3*time.Second)
	var view struct {
		CallbackID      string `json:"callback_id"`
		PrivateMetadata string `json:"private_metadata"`
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(w.slack.Views()) == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if len(w.slack.Views()) == 0 {
		t.Fatal("no reason modal opened")
	}
	json.Unmarshal(w.slack.Views()[0], &view)
	w.slack.SendViewSubmission(slacktest.ViewSubmission{UserID: oncall, CallbackID: view.CallbackID, PrivateMetadata: view.PrivateMetadata,
		Values: map[string]map[string]string{"reason": {"reason_text": "stuck after the deploy"}}})

	approval := waitPost(t, w.slack, func(p slacktest.Post) bool { return p.Method == "chat.postMessage" && p.Channel == "C0APPROVALS" })
	requestID := button(t, approval.Blocks, bot.ActionApprove)
	if !strings.Contains(string(approval.Blocks), `\u003c!subteam^S0LEADS\u003e`) {
		t.Errorf("the approval message does not mention the approvers' group: %s", approval.Blocks)
	}
	told, err := w.slack.WaitResponses(confirmSent.ResponseID, 1, 10*time.Second)
	if err != nil || !strings.Contains(string(told[0].Blocks), `\u003c#C0APPROVALS\u003e`) {
		t.Errorf("the requester was not told where the request went: %v %+v", err, told)
	}

	// The requester cannot approve; a member of the approvers' group can.
	click(oncall, bot.ActionApprove, requestID, approval.TS)
	if w.site.Deletes() != 0 {
		t.Fatal("the requester's own click ended the session")
	}
	click(lead, bot.ActionApprove, requestID, approval.TS)
	if w.site.Deletes() != 1 {
		t.Fatalf("%d deletes after approval, want 1", w.site.Deletes())
	}
	for _, s := range w.site.Sessions(0) {
		if s.SessionID == qliktest.MarcSessionOnProxy0 {
			t.Fatal("Marc's session is still there")
		}
	}
	updated := waitPost(t, w.slack, func(p slacktest.Post) bool {
		return p.Method == "chat.update" && p.TS == approval.TS && strings.Contains(string(p.Blocks), "done")
	})
	if !strings.Contains(string(updated.Blocks), lead) {
		t.Errorf("updated approval message does not say who approved: %s", updated.Blocks)
	}
}

func waitPost(t *testing.T, fake *slacktest.Server, match func(slacktest.Post) bool) slacktest.Post {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		for _, p := range fake.Posts() {
			if match(p) {
				return p
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no matching post; posts: %+v", fake.Posts())
	return slacktest.Post{}
}

func TestTwoReplicasOnOnePostgresDeleteOnce(t *testing.T) {
	dsn, _ := pgtest.SchemaDSN(t)
	w := newWorld(t, "driver: postgres\n  dsn: "+dsn)
	w.start(t, 2)
	// Ask through the typed grammar, as one on-call engineer would.
	approval := w.propose(t, qliktest.MarcSessionOnProxy0, "compromised laptop")
	requestID := button(t, approval.Blocks, bot.ActionApprove)

	// 100 clicks by two approvers, spread by Slack over both replicas.
	var wg sync.WaitGroup
	for i := range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			who := []string{lead, lead2}[i%2]
			w.slack.SendBlockAction(slacktest.BlockAction{UserID: who, ChannelID: "C0APPROVALS", ActionID: bot.ActionApprove, Value: requestID, MessageTS: approval.TS, Connection: i%2 + 1})
		}()
	}
	wg.Wait()
	waitPost(t, w.slack, func(p slacktest.Post) bool {
		return p.Method == "chat.update" && strings.Contains(string(p.Blocks), "done")
	})
	time.Sleep(500 * time.Millisecond) // let any late click finish
	if n := w.site.Deletes(); n != 1 {
		t.Fatalf("%d DELETEs reached Qlik, want exactly 1", n)
	}
}

func TestServeExitsOnRevokedToken(t *testing.T) {
	w := newWorld(t, "")
	w.slack.FailConnections("token_revoked")
	root := newRootCommand(strings.NewReader(""), &bytes.Buffer{}, &bytes.Buffer{})
	root.SetArgs([]string{"serve", "--config", w.config})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	err := root.ExecuteContext(ctx)
	if err == nil || !strings.Contains(err.Error(), "token_revoked") || !strings.Contains(err.Error(), "slack.app_token") {
		t.Fatalf("err = %v, want a fatal auth error naming slack.app_token", err)
	}
}

func TestDenyWithAReasonThroughTheDialog(t *testing.T) {
	w := newWorld(t, "")
	w.start(t, 1)
	approval := w.propose(t, qliktest.MarcSessionOnProxy0, "looks stuck")
	requestID := button(t, approval.Blocks, bot.ActionDeny)

	sent, _ := w.slack.SendBlockAction(slacktest.BlockAction{UserID: lead, ChannelID: "C0APPROVALS", ActionID: bot.ActionDeny, Value: requestID, MessageTS: approval.TS})
	w.slack.WaitAck(sent.EnvelopeID, 3*time.Second)
	deadline := time.Now().Add(10 * time.Second)
	for len(w.slack.Views()) == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if len(w.slack.Views()) == 0 {
		t.Fatal("no deny dialog opened")
	}
	var view struct {
		CallbackID      string `json:"callback_id"`
		PrivateMetadata string `json:"private_metadata"`
	}
	json.Unmarshal(w.slack.Views()[0], &view)
	w.slack.SendViewSubmission(slacktest.ViewSubmission{UserID: lead, CallbackID: view.CallbackID, PrivateMetadata: view.PrivateMetadata,
		Values: map[string]map[string]string{"reason": {"reason_text": "Marc is presenting"}}})
	updated := waitPost(t, w.slack, func(p slacktest.Post) bool {
		return p.Method == "chat.update" && p.TS == approval.TS && strings.Contains(string(p.Blocks), "denied")
	})
	if !strings.Contains(string(updated.Blocks), "Marc is presenting") {
		t.Errorf("the denial's reason is not on the message: %s", updated.Blocks)
	}
	if w.site.Deletes() != 0 {
		t.Error("a denied request deleted a session")
	}
}

// channelMembers is a channel of n people with who among the last, so
// finding them takes more than one page of conversations.members.
func channelMembers(n int, who string) []string {
	var ids []string
	for i := range n - 1 {
		ids = append(ids, fmt.Sprintf("U%07d", i))
	}
	return append(ids, who)
}

func TestApproversNamedByChannel(t *testing.T) {
	w := newWorld(t, "")
	cfg, _ := os.ReadFile(w.config)
	os.WriteFile(w.config, []byte(strings.Replace(string(cfg), "approvers: [S0LEADS]", "approvers: [C0LEADS]", 1)), 0o600)
	w.start(t, 1)
	approval := w.propose(t, qliktest.MarcSessionOnProxy0, "stuck")
	requestID := button(t, approval.Blocks, bot.ActionApprove)
	if !strings.Contains(string(approval.Blocks), `members of \u003c#C0LEADS\u003e`) {
		t.Errorf("approval message does not name the approvers' channel: %s", approval.Blocks)
	}
	// lead2 is in the user group but not in the channel: not an approver here.
	for _, who := range []string{lead2, lead} {
		sent, _ := w.slack.SendBlockAction(slacktest.BlockAction{UserID: who, ChannelID: "C0APPROVALS", ActionID: bot.ActionApprove, Value: requestID, MessageTS: approval.TS})
		w.slack.WaitResponses(sent.ResponseID, 1, 10*time.Second)
		if who == lead2 && w.site.Deletes() != 0 {
			t.Fatal("someone outside the approvers' channel approved")
		}
	}
	if w.site.Deletes() != 1 {
		t.Errorf("%d deletes after a channel member approved, want 1", w.site.Deletes())
	}
	// 450 members in pages of 200, read again for each vote: a cached list
	// would let someone removed from the channel approve.
	if n := w.slack.Calls("conversations.members"); n != 6 {
		t.Errorf("conversations.members called %d times, want 3 pages for each of 2 votes", n)
	}
}
