package slacktest

import (
	"context"
	"fmt"
	"testing"

	"github.com/slack-go/slack"
)

func TestConversationsMembersPagesLikeSlack(t *testing.T) {
	var members []string
	for i := range 250 {
		members = append(members, fmt.Sprintf("U%04d", i))
	}
	s := New(Options{BotToken: "xoxb-b", AppToken: "xapp-a", Channels: map[string][]string{"C1": members}})
	defer s.Close()
	api := slack.New("xoxb-b", slack.OptionAPIURL(s.APIURL()))
	var got []string
	params := &slack.GetUsersInConversationParameters{ChannelID: "C1"}
	pages := 0
	for {
		ids, next, err := api.GetUsersInConversationContext(context.Background(), params)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		got = append(got, ids...)
		if next == "" {
			break
		}
		params.Cursor = next
	}
	if len(got) != 250 || pages != 3 || got[249] != "U0249" {
		t.Errorf("%d members in %d pages", len(got), pages)
	}
	if _, _, err := api.GetUsersInConversationContext(context.Background(), &slack.GetUsersInConversationParameters{ChannelID: "C404"}); err == nil || err.Error() != "channel_not_found" {
		t.Errorf("unknown channel: %v", err)
	}
}
