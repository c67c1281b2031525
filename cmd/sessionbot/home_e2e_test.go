package main

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessionbot/sessionbot/bot"
	"github.com/sessionbot/sessionbot/bot/slacktest"
	"github.com/sessionbot/sessionbot/vendors/qlik/qliktest"
)

// requestOf makes a pending request for session by oncall, through the
// proposal's Confirm button, and returns its id and approval message.
func (w *world) requestOf(t *testing.T, session string) (string, slacktest.Post) {
	t.Helper()
	approval := w.propose(t, session, "looks stuck")
	return button(t, approval.Blocks, bot.ActionApprove), approval
}

// openHome opens user's Home and waits for the view it publishes. Every
// match also waits for the instance probes, so no publish from this
// opening comes after it.
func (w *world) openHome(t *testing.T, user string, match func(string) bool) string {
	t.Helper()
	before := w.slack.HomeCount(user)
	sent, err := w.slack.SendAppHomeOpened(user)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.slack.WaitAck(sent.EnvelopeID, 3*time.Second); err != nil {
		t.Fatal(err)
	}
	v, err := w.slack.WaitHome(user, before, func(v slacktest.View) bool {
		return match(string(v.JSON)) && strings.Contains(string(v.JSON), "answered in")
	}, 15*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return string(v.JSON)
}

func (w *world) homeClick(t *testing.T, user, action, value string) {
	t.Helper()
	sent, err := w.slack.SendHomeAction(slacktest.HomeAction{UserID: user, ActionID: action, Value: value})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.slack.WaitAck(sent.EnvelopeID, 3*time.Second); err != nil {
		t.Fatal(err)
	}
}

func TestApproveFromTheHome(t *testing.T) {
	w := newWorld(t, "")
	w.start(t, 1)
	id, approval := w.requestOf(t, qliktest.MarcSessionOnProxy0)

	// The requester sees their request with Withdraw, and no vote of
	// their own to cast.
	mine := w.openHome(t, oncall, func(v string) bool { return strings.Contains(v, id) })
	if !strings.Contains(mine, `"action_id":"`+bot.ActionWithdraw+`"`) || strings.Contains(mine, `"action_id":"`+bot.ActionApprove+`"`) {
		t.Fatalf("the requester's Home should offer Withdraw and no Approve: %s", mine)
	}
	// Both approvers see it waiting for their vote.
	w.openHome(t, lead, func(v string) bool { return strings.Contains(v, `"value":"`+id+`"`) })
	w.openHome(t, lead2, func(v string) bool { return strings.Contains(v, `"value":"`+id+`"`) })

	// A double click from one Home and a click from a second, stale,
	// Home: one DELETE.
	requesterHomes := w.slack.HomeCount(oncall)
	var wg sync.WaitGroup
	for _, who := range []string{lead, lead, lead2} {
		wg.Go(func() { w.homeClick(t, who, bot.ActionApprove, id) })
	}
	wg.Wait()
	waitPost(t, w.slack, func(p slacktest.Post) bool {
		return p.Method == "chat.update" && p.TS == approval.TS && strings.Contains(string(p.Blocks), "done")
	})
	// Every click is answered on its Home before counting deletes.
	for _, who := range []string{lead, lead2} {
		if _, err := w.slack.WaitHome(who, 0, func(v slacktest.View) bool { return strings.Contains(string(v.JSON), ":speech_balloon:") }, 15*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	if n := w.site.Deletes(); n != 1 {
		t.Fatalf("%d DELETEs after three clicks, want 1", n)
	}
	// The requester's Home shows the outcome without being opened again.
	if _, err := w.slack.WaitHome(oncall, requesterHomes, func(v slacktest.View) bool {
		return strings.Contains(string(v.JSON), id) && strings.Contains(string(v.JSON), "*done*")
	}, 15*time.Second); err != nil {
		t.Fatalf("the requester's Home was not refreshed after the vote: %v", err)
	}
}

func TestWithdrawFromTheHome(t *testing.T) {
	w := newWorld(t, "")
	w.start(t, 1)
	id, approval := w.requestOf(t, qliktest.MarcSessionOnProxy1)
	w.openHome(t, oncall, func(v string) bool { return strings.Contains(v, id) })
	w.openHome(t, lead, func(v string) bool { return strings.Contains(v, id) })

	// An approver cannot withdraw: the button is not theirs, and the
	// fake refuses a click on what their Home does not show.
	if _, err := w.slack.SendHomeAction(slacktest.HomeAction{UserID: lead, ActionID: bot.ActionWithdraw, Value: id}); err == nil {
		t.Fatal("an approver's Home offers Withdraw on someone else's request")
	}
	w.homeClick(t, oncall, bot.ActionWithdraw, id)
	updated := waitPost(t, w.slack, func(p slacktest.Post) bool {
		return p.Method == "chat.update" && p.TS == approval.TS && strings.Contains(string(p.Blocks), "withdrawn by the requester")
	})
	if strings.Contains(string(updated.Blocks), bot.ActionApprove) {
		t.Errorf("the withdrawn request's message still has buttons: %s", updated.Blocks)
	}
	if _, err := w.slack.WaitHome(oncall, 0, func(v slacktest.View) bool {
		s := string(v.JSON)
		return strings.Contains(s, "withdrawn") && !strings.Contains(s, bot.ActionWithdraw)
	}, 15*time.Second); err != nil {
		t.Fatal(err)
	}
	if w.site.Deletes() != 0 {
		t.Error("a withdrawn request deleted a session")
	}

	// The search box runs list as the person and answers in a modal.
	w.homeClick(t, oncall, bot.ActionSearch, `Domain\Marc`)
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		for _, v := range w.slack.ViewCalls() {
			if v.Method == "views.open" && strings.Contains(string(v.JSON), qliktest.MarcSessionOnProxy0) {
				return
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("the Home search opened no modal with Marc's sessions: %d views", len(w.slack.ViewCalls()))
}
