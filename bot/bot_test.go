package bot_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/sessionbot/sessionbot/bot"
	"github.com/sessionbot/sessionbot/bot/slacktest"
	"github.com/sessionbot/sessionbot/commands"
	"github.com/sessionbot/sessionbot/internal/testkit"
	"github.com/sessionbot/sessionbot/vendors"
	"github.com/sessionbot/sessionbot/vendors/qlik/qliktest"
)

// TestStopLetsInFlightRepliesFinish: a stop (SIGTERM) after the ack still
// delivers the reply of a command whose vendor is slow.
func TestStopLetsInFlightRepliesFinish(t *testing.T) {
	site := testkit.Start(t, qliktest.New, qliktest.Options{Proxies: 1, Demo: true})
	site.SetDelay(0, 500*time.Millisecond)
	reg := qlikRegistry(t, site, 0)
	fake := slacktest.New(slacktest.Options{BotToken: "xoxb-b", AppToken: "xapp-a"})
	defer fake.Close()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	b := bot.New(bot.NewSlack(bot.Config{BotToken: "xoxb-b", AppToken: "xapp-a", APIURL: fake.APIURL(), Logger: logger}),
		commands.New(commands.Config{Registry: reg, Logger: logger}))
	stop := bot.RunConnected(t, b, fake)
	sent, err := fake.SendSlashCommand(slacktest.SlashCommand{Command: "/sessions", Text: `list Domain\Marc`, UserID: "U1", ChannelID: "C1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fake.WaitAck(sent.EnvelopeID, 2*time.Second); err != nil {
		t.Fatal(err)
	}
	// SIGTERM while the vendor is still answering
	if err := stop(); err != nil {
		t.Fatalf("Run after a stop: %v", err)
	}
	got := fake.Responses(sent.ResponseID)
	if len(got) != 1 || !strings.Contains(string(got[0].Blocks), qliktest.MarcSessionOnProxy0) {
		t.Fatalf("the in-flight reply was lost: %+v", got)
	}
}

func TestBadBotTokenIsFatal(t *testing.T) {
	fake := slacktest.New(slacktest.Options{BotToken: "xoxb-right", AppToken: "xapp-a"})
	defer fake.Close()
	reg, _ := vendors.NewRegistry()
	b := bot.New(bot.NewSlack(bot.Config{BotToken: "xoxb-wrong", AppToken: "xapp-a", APIURL: fake.APIURL()}), commands.New(commands.Config{Registry: reg}))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := b.Run(ctx)
	if err == nil || !strings.Contains(err.Error(), "invalid_auth") || !strings.Contains(err.Error(), "slack.bot_token") {
		t.Fatalf("err = %v", err)
	}
}
