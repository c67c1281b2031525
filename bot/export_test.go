package bot

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/sessionbot/sessionbot/bot/slacktest"
)

// SetHold sets how long acked work waits (see holdTimes), before Run.
func (b *Bot) SetHold(quiet, most time.Duration) { b.hold = holdTimes{quiet: quiet, most: most} }

// RunConnected runs b until stop is called or the test ends, and waits
// until it has connected to fake; stop returns what Run returned. The
// tests of both bot and bot_test start their bots with it.
func RunConnected(tb testing.TB, b *Bot, fake *slacktest.Server) (stop func() error) {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() { cancel(); err = <-done })
		return err
	}
	tb.Cleanup(func() { stop() })
	if err := fake.WaitConnections(1, 10*time.Second); err != nil {
		tb.Fatal(err)
	}
	return stop
}
