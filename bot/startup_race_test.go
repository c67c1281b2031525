package bot

import (
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/sessionbot/sessionbot/bot/slacktest"
	"github.com/sessionbot/sessionbot/commands"
)

// serve starts the sweep before the bot's Run: a sweep that updates an
// approval message refreshes Homes (UpdateApproval -> refreshHomes) before
// and while Run starts, so the work context they use must exist from New.
// The race detector (CI runs it) is what fails here.
func TestHomeRefreshesBeforeRunDoNotRace(t *testing.T) {
	fake := slacktest.New(slacktest.Options{BotToken: "xoxb-b", AppToken: "xapp-a",
		Users: []slacktest.User{{ID: "U0MARC", Name: "marc"}}})
	t.Cleanup(fake.Close)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	s := NewSlack(Config{BotToken: "xoxb-b", AppToken: "xapp-a", APIURL: fake.APIURL(), Logger: logger, MaxInFlight: 8, DrainTimeout: 200 * time.Millisecond})
	reg, _ := demoRegistry(t)
	b := New(s, commands.New(commands.Config{Registry: reg, Logger: logger}))
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 200 {
			b.refreshHomes("U0MARC")
			time.Sleep(time.Millisecond)
		}
	}()
	RunConnected(t, b, fake)
	<-done
}
