package slacktest

import (
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"
)

const (
	testBotToken = "xoxb-test-bot"
	testAppToken = "xapp-test-app"
)

// clock is a settable clock for Options.Clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

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
