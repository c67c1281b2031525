package main

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sessionbot/sessionbot/bot"
	"github.com/sessionbot/sessionbot/bot/slacktest"
	"github.com/sessionbot/sessionbot/vendors/qlik/qliktest"
)

// TestMain lets a test start this binary as `sessionbot` itself, to kill
// it with SIGKILL like a crashed process.
func TestMain(m *testing.M) {
	if os.Getenv("SESSIONBOT_TEST_RUN_MAIN") == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func startProcess(t *testing.T, config string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "serve", "--config", config)
	cmd.Env = append(os.Environ(), "SESSIONBOT_TEST_RUN_MAIN=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("process log:\n%s", stderr.String())
		}
	})
	return cmd
}

// TestKilledDuringExecutionIsRecoveredAndReported: the bot is killed with
// SIGKILL while the vendor is ending the session; the next start finds the
// execution, marks it interrupted, says so in the approval message, and
// does not send the delete again.
func TestKilledDuringExecutionIsRecoveredAndReported(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills processes")
	}
	w := newWorld(t, "")
	// A short instance timeout keeps the execution lease (2 x timeout + 5 s)
	// short enough for a test.
	cfg, _ := os.ReadFile(w.config)
	cfg = []byte(strings.Replace(string(cfg), "    type: qlik\n", "    type: qlik\n    timeout: 1s\n", 1))
	cfg = []byte(strings.Replace(string(cfg), "  channel: C0APPROVALS\n", "  channel: C0APPROVALS\n  sweep_interval: 1s\n", 1))
	os.WriteFile(w.config, cfg, 0o600)

	first := startProcess(t, w.config)
	if err := w.slack.WaitConnections(1, 20*time.Second); err != nil {
		t.Fatal(err)
	}
	approval := w.propose(t, qliktest.MarcSessionOnProxy0, "compromised laptop")
	requestID := button(t, approval.Blocks, bot.ActionApprove)

	w.site.HangDeletes(true)
	w.slack.SendBlockAction(slacktest.BlockAction{UserID: lead, ChannelID: "C0APPROVALS", ActionID: bot.ActionApprove, Value: requestID, MessageTS: approval.TS})
	deadline := time.Now().Add(15 * time.Second)
	for w.site.Deletes() == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if w.site.Deletes() != 1 {
		t.Fatal("the execution never reached the vendor")
	}
	first.Process.Signal(syscall.SIGKILL)
	first.Wait()
	w.site.HangDeletes(false)
	w.slack.DropConnections()

	startProcess(t, w.config)
	updated := waitPostWithin(t, w.slack, 30*time.Second, func(p slacktest.Post) bool {
		return p.Method == "chat.update" && p.TS == approval.TS && strings.Contains(string(p.Blocks), "interrupted")
	})
	if !strings.Contains(string(updated.Blocks), "check the vendor") {
		t.Errorf("the approval message does not say what to do: %s", updated.Blocks)
	}
	if n := w.site.Deletes(); n != 1 {
		t.Errorf("%d deletes: the interrupted execution was re-run", n)
	}
}

func waitPostWithin(t *testing.T, fake *slacktest.Server, d time.Duration, match func(slacktest.Post) bool) slacktest.Post {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		for _, p := range fake.Posts() {
			if match(p) {
				return p
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("no matching post within %s; posts: %+v", d, fake.Posts())
	return slacktest.Post{}
}
