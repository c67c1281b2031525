package bot_test

import (
	"testing"
	"time"

	"github.com/sessionbot/sessionbot/bot/slacktest"
	"github.com/sessionbot/sessionbot/internal/testkit"
	"github.com/sessionbot/sessionbot/vendors"
	"github.com/sessionbot/sessionbot/vendors/qlik"
	"github.com/sessionbot/sessionbot/vendors/qlik/qliktest"
)

// qlikRegistry holds one Qlik instance, qlik-prod, on site's proxies; a
// zero timeout keeps the adapter's default.
func qlikRegistry(tb testing.TB, site *qliktest.Site, timeout time.Duration) *vendors.Registry {
	tb.Helper()
	return testkit.QlikRegistry(tb, site, qlik.Config{RequestTimeout: timeout})
}

// listMarc is the command the load tests send: one list on every proxy.
var listMarc = slacktest.SlashCommand{Command: "/sessions", Text: `list Domain\Marc`, UserID: "U0ONCALL", ChannelID: "C0OPS"}

// sendLists sends listMarc n times, without waiting for acks.
func sendLists(tb testing.TB, fake *slacktest.Server, n int) []slacktest.Sent {
	tb.Helper()
	sent := make([]slacktest.Sent, n)
	for i := range sent {
		s, err := fake.SendSlashCommand(listMarc)
		if err != nil {
			tb.Fatal(err)
		}
		sent[i] = s
	}
	return sent
}
