package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sessionbot/sessionbot/bot"
	"github.com/sessionbot/sessionbot/bot/slacktest"
	"github.com/sessionbot/sessionbot/vendors/qlik/qliktest"
)

// TestALongListIsWalkedFromTheKeptResult: every page of a long list is
// accepted by Slack's rules, the page buttons are answered from the kept
// result without asking Qlik again, and Refresh asks again.
func TestALongListIsWalkedFromTheKeptResult(t *testing.T) {
	w := newWorld(t, "")
	const extra = 120
	for i := range extra {
		w.site.AddSession(i%2, qliktest.Session{UserDirectory: "Domain", UserID: fmt.Sprintf("user%03d", i), SessionID: fmt.Sprintf("%08x-0000-4000-8000-00000000beef", i)})
	}
	w.start(t, 1)
	click := func(action, value string) slacktest.Response {
		t.Helper()
		sent, err := w.slack.SendBlockAction(slacktest.BlockAction{UserID: oncall, ChannelID: "C0OPS", ActionID: action, Value: value})
		if err != nil {
			t.Fatal(err)
		}
		got, err := w.slack.WaitResponses(sent.ResponseID, 1, 15*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		return got[0]
	}
	page := w.command(t, oncall, "list all on qlik-prod")[0]
	asked := len(w.site.Requests())
	seen := strings.Count(string(page.Blocks), "-0000-4000-8000-00000000beef`")
	pages := 1
	for strings.Contains(string(page.Blocks), bot.ActionNextPage) {
		page = click(bot.ActionNextPage, button(t, page.Blocks, bot.ActionNextPage))
		if !page.ReplaceOriginal || !strings.Contains(string(page.Blocks), "as of") {
			t.Fatalf("page %d does not replace the list or lacks its time: %+v", pages+1, page)
		}
		seen += strings.Count(string(page.Blocks), "-0000-4000-8000-00000000beef`")
		pages++
	}
	if pages < 3 || seen != extra {
		t.Errorf("%d pages showed %d of the %d sessions", pages, seen, extra)
	}
	if n := len(w.site.Requests()); n != asked {
		t.Errorf("paging asked Qlik %d more times, want none", n-asked)
	}
	click(bot.ActionRefresh, button(t, page.Blocks, bot.ActionRefresh))
	if len(w.site.Requests()) == asked {
		t.Error("Refresh did not read the sessions again")
	}
}
