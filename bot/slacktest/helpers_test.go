package slacktest

import (
	"github.com/sessionbot/sessionbot/internal/testclock"
	"testing"
	"time"

	"github.com/slack-go/slack"
)

const (
	testBotToken = "xoxb-test-bot"
	testAppToken = "xapp-test-app"
)

// clock is a settable clock for Options.Clock.
type clock = testclock.Clock

func newClock() *clock { return testclock.New(time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)) }

// newServer starts a fake with a small workspace; changes adjusts the
// options first.
func newServer(t *testing.T, changes ...func(*Options)) *Server {
	t.Helper()
	opts := Options{
		BotToken: testBotToken, AppToken: testAppToken, PingInterval: 100 * time.Millisecond,
		Users: []User{
			{ID: "U0MARC", Name: "marc", Email: "marc@contoso.com", TZ: "Europe/Paris"},
			{ID: "U0ONCALL", Name: "oncall", Email: "oncall@contoso.com", TZ: "UTC"},
			{ID: "U0GONE", Name: "gone", Email: "gone@contoso.com", Deleted: true},
			{ID: "U0BOT", Name: "otherbot", IsBot: true},
		},
		UserGroups: map[string][]string{"S0LEADS": {"U0LEAD", "U0LEAD2"}},
	}
	for _, change := range changes {
		change(&opts)
	}
	s := New(opts)
	t.Cleanup(s.Close)
	return s
}

// api is the real slack-go client pointed at the fake.
func api(s *Server, token string) *slack.Client {
	return slack.New(token, slack.OptionAppLevelToken(testAppToken), slack.OptionAPIURL(s.APIURL()))
}
