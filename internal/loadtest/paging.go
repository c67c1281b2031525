package main

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/sessionbot/sessionbot/bot"
	"github.com/sessionbot/sessionbot/bot/slacktest"
)

// paging: one list of o.pageSessions sessions, walked page by page with
// its Next button, then o.refreshes Refresh clicks. A Refresh runs the
// command again, which is what every page click did before lists were
// kept, so it is the baseline the page clicks are compared with.
func (e *environment) paging() error {
	o := e.o
	e.setVendorDelay(0)
	if err := e.site.many(o.pageSessions); err != nil {
		return err
	}
	fmt.Printf("== paging walk: %q with %d sessions on %d proxies (answering at once), every page by its Next button, then %d Refresh clicks (a Refresh runs the command again)\n",
		listText, o.pageSessions, proxies, o.refreshes)
	p, err := e.start("serve")
	if err != nil {
		return err
	}
	defer p.stop()

	s, err := e.fake.SendSlashCommand(slacktest.SlashCommand{Command: "/sessions", Text: listText, UserID: asker, ChannelID: "C0OPS"})
	if err != nil {
		return err
	}
	sent := time.Now()
	page, err := e.reply(s.ResponseID)
	if err != nil {
		return fmt.Errorf("the list: %w", err)
	}
	first := page.At.Sub(sent)

	var clicks []time.Duration
	walkStart := time.Now()
	pages := 1
	for {
		next, ok := page.button(bot.ActionNextPage)
		if !ok {
			break
		}
		took, reply, err := e.click(next)
		if err != nil {
			return fmt.Errorf("page %d: %w", pages+1, err)
		}
		clicks, page = append(clicks, took), reply
		pages++
	}
	walk := time.Since(walkStart)

	var refreshes []time.Duration
	for range o.refreshes {
		refresh, ok := page.button(bot.ActionRefresh)
		if !ok {
			return fmt.Errorf("page %d has no Refresh button", pages)
		}
		took, reply, err := e.click(refresh)
		if err != nil {
			return fmt.Errorf("refresh: %w", err)
		}
		refreshes, page = append(refreshes, took), reply
	}
	slices.Sort(clicks)
	slices.Sort(refreshes)

	t := table{head: &[4]string{"", "", "serve", "page click / Refresh"}}
	t.row("pages walked", "", strconv.Itoa(pages), "")
	t.row("the list, first page (ms)", "", ms(first), "")
	t.row("page click p50 (ms), from the kept list", "", ms(percentile(clicks, 0.5)), ratio(float64(percentile(clicks, 0.5)), float64(percentile(refreshes, 0.5))))
	t.row("page click p99 (ms), from the kept list", "", ms(percentile(clicks, 0.99)), ratio(float64(percentile(clicks, 0.99)), float64(percentile(refreshes, 0.99))))
	t.row("Refresh click p50, p99 (ms): the command run again", "", ms(percentile(refreshes, 0.5))+", "+ms(percentile(refreshes, 0.99)), "")
	t.row("walk of every page (ms)", "", ms(walk), "")
	t.row("RSS after (MiB)", "", mib(p.usage().rss), "")
	t.print()
	return nil
}

// pageReply is a reply, with its buttons by action id.
type pageReply struct {
	At      time.Time
	buttons map[string]slacktest.BlockAction
}

func (r pageReply) button(actionID string) (slacktest.BlockAction, bool) {
	b, ok := r.buttons[actionID]
	return b, ok
}

// reply waits for the first post to a response_url and reads its buttons.
func (e *environment) reply(responseID string) (pageReply, error) {
	got, err := e.fake.WaitResponses(responseID, 1, time.Minute)
	if err != nil {
		return pageReply{}, err
	}
	var blocks []struct {
		Type     string `json:"type"`
		BlockID  string `json:"block_id"`
		Elements []struct {
			Type     string `json:"type"`
			ActionID string `json:"action_id"`
			Value    string `json:"value"`
		} `json:"elements"`
	}
	if err := json.Unmarshal(got[0].Blocks, &blocks); err != nil {
		return pageReply{}, fmt.Errorf("reading the reply's blocks: %w", err)
	}
	r := pageReply{At: got[0].At, buttons: map[string]slacktest.BlockAction{}}
	for _, b := range blocks {
		for _, el := range b.Elements {
			if b.Type == "actions" && el.Type == "button" {
				r.buttons[el.ActionID] = slacktest.BlockAction{UserID: asker, ChannelID: "C0OPS", ActionID: el.ActionID, Value: el.Value, BlockID: b.BlockID}
			}
		}
	}
	return r, nil
}

// click presses a button and times it from sending to the reply's arrival.
func (e *environment) click(a slacktest.BlockAction) (time.Duration, pageReply, error) {
	s, err := e.fake.SendBlockAction(a)
	if err != nil {
		return 0, pageReply{}, err
	}
	sent := time.Now()
	r, err := e.reply(s.ResponseID)
	if err != nil {
		return 0, pageReply{}, err
	}
	return r.At.Sub(sent), r, nil
}
