package main

import (
	"context"
	"net/http"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sessionbot/sessionbot/bot"
	"github.com/sessionbot/sessionbot/bot/slacktest"
	"github.com/sessionbot/sessionbot/store/postgres/pgtest"
	"github.com/sessionbot/sessionbot/vendors/qlik/qliktest"
)

// edit changes the world's config file.
func (w *world) edit(t *testing.T, old, new string) {
	t.Helper()
	cfg, err := os.ReadFile(w.config)
	if err != nil || !strings.Contains(string(cfg), old) {
		t.Fatalf("config lacks %q: %v", old, err)
	}
	os.WriteFile(w.config, []byte(strings.Replace(string(cfg), old, new, 1)), 0o600)
}

// sweepEverySecond makes the sweep (and so the retry of what a click left
// undone, three sweeps later) fast enough for a test.
func (w *world) sweepEverySecond(t *testing.T) {
	w.edit(t, "  channel: C0APPROVALS\n", "  channel: C0APPROVALS\n  sweep_interval: 1s\n")
}

// request asks to end Marc's session with a reason and confirms it; it
// returns the confirmation's response id.
func (w *world) request(t *testing.T) slacktest.Sent {
	t.Helper()
	reply := w.command(t, oncall, "kill "+qliktest.MarcSessionOnProxy0+" on qlik-prod reason compromised laptop")
	confirm := button(t, reply[0].Blocks, bot.ActionConfirm)
	sent, err := w.slack.SendBlockAction(slacktest.BlockAction{UserID: oncall, ChannelID: "C0OPS", ActionID: bot.ActionConfirm, Value: confirm})
	if err != nil {
		t.Fatal(err)
	}
	return sent
}

func approvalPosts(fake *slacktest.Server) int {
	n := 0
	for _, p := range fake.Posts() {
		if p.Method == "chat.postMessage" && p.Channel == "C0APPROVALS" {
			n++
		}
	}
	return n
}

// latest is the approval message as Slack shows it now.
func latest(fake *slacktest.Server, ts string) slacktest.Post {
	var last slacktest.Post
	for _, p := range fake.Posts() {
		if p.TS == ts && p.Method != "chat.postEphemeral" {
			last = p
		}
	}
	return last
}

// TestSlackRefusalsEndInTheTrueMessage: chat.postMessage and chat.update
// answer 503 and 429 (with Retry-After) more often than a call retries.
// The approval message is still posted once, and after the kill it shows
// the true outcome with no live buttons.
func TestSlackRefusalsEndInTheTrueMessage(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "")
	w.sweepEverySecond(t)
	w.start(t, 1)
	// Four attempts of the click's post fail, then one of the sweep's.
	w.slack.Fail("chat.postMessage", 5, http.StatusServiceUnavailable)
	confirm := w.request(t)
	told, err := w.slack.WaitResponses(confirm.ResponseID, 1, 15*time.Second)
	if err != nil || !strings.Contains(string(told[0].Blocks), "could not be posted yet") {
		t.Errorf("the requester was not told the post is pending: %v %+v", err, told)
	}
	approval := waitPostWithin(t, w.slack, 30*time.Second, func(p slacktest.Post) bool {
		return p.Method == "chat.postMessage" && p.Channel == "C0APPROVALS"
	})
	requestID := button(t, approval.Blocks, bot.ActionApprove)

	// Both updates after the vote are refused until the retries run out;
	// the sweep applies the last state.
	w.slack.RateLimit("chat.update", 2, time.Second)
	w.slack.Fail("chat.update", 6, http.StatusServiceUnavailable)
	sent, _ := w.slack.SendBlockAction(slacktest.BlockAction{UserID: lead, ChannelID: "C0APPROVALS", ActionID: bot.ActionApprove, Value: requestID, MessageTS: approval.TS})
	if _, err := w.slack.WaitAck(sent.EnvelopeID, 3*time.Second); err != nil {
		t.Fatal(err)
	}
	waitPostWithin(t, w.slack, 30*time.Second, func(p slacktest.Post) bool {
		return p.Method == "chat.update" && p.TS == approval.TS && strings.Contains(string(p.Blocks), "done")
	})
	time.Sleep(1500 * time.Millisecond) // a late sweep must not bring back an older state
	final := latest(w.slack, approval.TS)
	if !strings.Contains(string(final.Blocks), "done") || strings.Contains(string(final.Blocks), bot.ActionApprove) {
		t.Errorf("the approval message ends as %s, want done without buttons", final.Blocks)
	}
	if n := approvalPosts(w.slack); n != 1 {
		t.Errorf("the approval message was posted %d times, want once", n)
	}
	if n := w.site.Deletes(); n != 1 {
		t.Errorf("%d deletes, want 1", n)
	}
}

// TestRedeliveryAnswersOnce: Slack retries a mention in a new envelope
// with the same event_id, and a person clicks Confirm twice. Each is
// answered and acted on once.
func TestRedeliveryAnswersOnce(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "")
	w.start(t, 1)
	answers := func() int {
		n := 0
		for _, p := range w.slack.Posts() {
			if p.Method == "chat.postEphemeral" && p.User == oncall && p.Channel == "C0OPS" {
				n++
			}
		}
		return n
	}
	mention, err := w.slack.SendAppMention(oncall, "C0OPS", "help")
	if err != nil {
		t.Fatal(err)
	}
	waitPost(t, w.slack, func(p slacktest.Post) bool { return p.Method == "chat.postEphemeral" && p.User == oncall })
	again, err := w.slack.RedeliverEvent(mention.EnvelopeID, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.slack.WaitAck(again.EnvelopeID, 3*time.Second); err != nil {
		t.Fatal(err)
	}

	reply := w.command(t, oncall, "kill "+qliktest.MarcSessionOnProxy0+" on qlik-prod reason compromised laptop")
	confirm := button(t, reply[0].Blocks, bot.ActionConfirm)
	var sent []slacktest.Sent
	for range 2 {
		s, err := w.slack.SendBlockAction(slacktest.BlockAction{UserID: oncall, ChannelID: "C0OPS", ActionID: bot.ActionConfirm, Value: confirm})
		if err != nil {
			t.Fatal(err)
		}
		sent = append(sent, s)
	}
	var ids []string
	for _, s := range sent {
		got, err := w.slack.WaitResponses(s.ResponseID, 1, 15*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, string(got[0].Blocks))
	}
	approval := waitPost(t, w.slack, func(p slacktest.Post) bool { return p.Channel == "C0APPROVALS" })
	requestID := button(t, approval.Blocks, bot.ActionApprove)
	for i, blocks := range ids {
		if !strings.Contains(blocks, requestID) {
			t.Errorf("confirmation %d was not answered with request %s: %s", i, requestID, blocks)
		}
	}
	time.Sleep(500 * time.Millisecond) // a second answer or post would come now
	if n := answers(); n != 1 {
		t.Errorf("the mention was answered %d times, want once", n)
	}
	if n := approvalPosts(w.slack); n != 1 {
		t.Errorf("%d approval messages for one proposal, want 1", n)
	}
}

// TestKilledBetweenVoteAndClaim: the bot is killed with SIGKILL after the
// approving vote committed and before the execution claim did (the
// database holds the claim, then refuses it). The next start carries the
// approval out once and says so; it is never left approved.
func TestKilledBetweenVoteAndClaim(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills processes")
	}
	t.Parallel()
	dsn, _ := pgtest.SchemaDSN(t)
	w := newWorld(t, "driver: postgres\n  dsn: "+dsn)
	w.sweepEverySecond(t)
	first := startProcess(t, w.config)
	if err := w.slack.WaitConnections(1, 20*time.Second); err != nil {
		t.Fatal(err)
	}
	db, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(context.Background())
	exec := func(q string) {
		t.Helper()
		if _, err := db.Exec(t.Context(), q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	exec(`CREATE FUNCTION hold_claim() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(3); RAISE EXCEPTION 'held by the test'; END $$`)
	exec(`CREATE TRIGGER hold_claim BEFORE UPDATE ON requests FOR EACH ROW WHEN (NEW.state = 'executing') EXECUTE FUNCTION hold_claim()`)

	w.request(t)
	approval := waitPostWithin(t, w.slack, 20*time.Second, func(p slacktest.Post) bool { return p.Channel == "C0APPROVALS" })
	requestID := button(t, approval.Blocks, bot.ActionApprove)
	w.slack.SendBlockAction(slacktest.BlockAction{UserID: lead, ChannelID: "C0APPROVALS", ActionID: bot.ActionApprove, Value: requestID, MessageTS: approval.TS})
	state := func() string {
		var s string
		db.QueryRow(t.Context(), `SELECT state FROM requests WHERE id = $1`, requestID).Scan(&s)
		return s
	}
	deadline := time.Now().Add(15 * time.Second)
	for state() != "approved" && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if state() != "approved" {
		t.Fatalf("the vote never committed: %s", state())
	}
	first.Process.Signal(syscall.SIGKILL) // the claim is held in the database
	first.Wait()
	exec(`DROP TRIGGER hold_claim ON requests`)
	if s := state(); s != "approved" || w.site.Deletes() != 0 {
		t.Fatalf("after the kill: %s with %d deletes, want approved and none", s, w.site.Deletes())
	}
	w.slack.DropConnections()

	startProcess(t, w.config)
	waitPostWithin(t, w.slack, 30*time.Second, func(p slacktest.Post) bool {
		return p.Method == "chat.update" && p.TS == approval.TS && strings.Contains(string(p.Blocks), "done")
	})
	if s := state(); s != "done" {
		t.Errorf("state %s, want done", s)
	}
	if n := w.site.Deletes(); n != 1 {
		t.Errorf("%d deletes, want exactly 1", n)
	}
}

// TestRedeliveredEventIsAnsweredOnceAcrossReplicas: two replicas on one
// PostgreSQL; Slack retries a mention to each of them. One answer.
func TestRedeliveredEventIsAnsweredOnceAcrossReplicas(t *testing.T) {
	t.Parallel()
	dsn, _ := pgtest.SchemaDSN(t)
	w := newWorld(t, "driver: postgres\n  dsn: "+dsn)
	w.start(t, 2)
	mention, err := w.slack.SendAppMention(oncall, "C0OPS", "help")
	if err != nil {
		t.Fatal(err)
	}
	for _, conn := range []int{1, 2} {
		again, err := w.slack.RedeliverEvent(mention.EnvelopeID, conn)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.slack.WaitAck(again.EnvelopeID, 3*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	waitPost(t, w.slack, func(p slacktest.Post) bool { return p.Method == "chat.postEphemeral" && p.User == oncall })
	time.Sleep(time.Second) // a second answer would come now
	n := 0
	for _, p := range w.slack.Posts() {
		if p.Method == "chat.postEphemeral" && p.User == oncall {
			n++
		}
	}
	if n != 1 {
		t.Errorf("one mention delivered three times to two replicas was answered %d times", n)
	}
}
