package slacktest

import (
	"context"
	"strings"
	"testing"

	"github.com/slack-go/slack"
)

func TestViewsPublishChecksTheHomeAsSlackDoes(t *testing.T) {
	s := newServer(t)
	client := api(s, testBotToken)
	ctx := context.Background()
	text := slack.NewTextBlockObject(slack.MarkdownType, "Nothing waits for your vote.", false, false)
	home := slack.HomeTabViewRequest{Type: slack.VTHomeTab, Blocks: slack.Blocks{BlockSet: []slack.Block{slack.NewSectionBlock(text, nil, nil)}}}
	publish := func(user string, view slack.HomeTabViewRequest, hash string) (*slack.ViewResponse, error) {
		req := slack.PublishViewContextRequest{UserID: user, View: view}
		if hash != "" {
			req.Hash = &hash
		}
		return client.PublishViewContext(ctx, req)
	}

	first, err := publish("U0MARC", home, "")
	if err != nil || first.ID == "" || first.Hash == "" {
		t.Fatalf("views.publish = %+v, %v", first, err)
	}
	again, err := publish("U0MARC", home, first.Hash)
	if err != nil || again.ID != first.ID || again.Hash == first.Hash {
		t.Fatalf("a republish with the current hash = %+v, %v; want the same view with a new hash", again, err)
	}
	if _, err := publish("U0MARC", home, first.Hash); err == nil || err.Error() != "hash_conflict" {
		t.Errorf("a republish with a stale hash: %v, want hash_conflict", err)
	}
	if _, err := publish("U0NOBODY", home, ""); err == nil || err.Error() != "user_not_found" {
		t.Errorf("a Home for an unknown user: %v, want user_not_found", err)
	}
	modal := home
	modal.Type = slack.VTModal
	if _, err := publish("U0MARC", modal, ""); err == nil || err.Error() != "invalid_arguments" {
		t.Errorf("a modal published as a Home: %v, want invalid_arguments", err)
	}
	tooMany := home
	for range MaxViewBlocks {
		tooMany.Blocks.BlockSet = append(tooMany.Blocks.BlockSet, slack.NewDividerBlock())
	}
	if _, err := publish("U0MARC", tooMany, ""); err == nil || err.Error() != "invalid_arguments" {
		t.Errorf("a Home of %d blocks: %v, want invalid_arguments", len(tooMany.Blocks.BlockSet), err)
	}
	if body := rawCall(t, s, "views.publish", testBotToken, `view={"type":"home","blocks":[]}`); !strings.Contains(body, "invalid_arguments") {
		t.Errorf("views.publish without user_id answered %s", body)
	}
	if n := s.HomeCount("U0MARC"); n != 2 {
		t.Errorf("%d Homes recorded for U0MARC, want 2", n)
	}
	if _, err := s.SendHomeAction(HomeAction{UserID: "U0MARC", ActionID: "nothing_here"}); err == nil {
		t.Error("a click on an element the Home does not show was delivered")
	}
}
