package bot

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessionbot/sessionbot/bot/slacktest"
)

// slowPosts counts chat.* calls in flight, each held as a Slack slowed by
// the same flood would hold it.
type slowPosts struct {
	mu               sync.Mutex
	now, peak, total int
}

func (c *slowPosts) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.Contains(r.URL.Path, "chat.post") {
		c.mu.Lock()
		c.now++
		c.total++
		c.peak = max(c.peak, c.now)
		c.mu.Unlock()
		defer func() { c.mu.Lock(); c.now--; c.mu.Unlock() }()
		time.Sleep(200 * time.Millisecond)
	}
	return http.DefaultTransport.RoundTrip(r)
}

func (c *slowPosts) counts() (total, peak int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.total, c.peak
}

// TestBusyAnswersToAFloodAreBounded: with every slot taken, a flood of
// messages does not become a flood of busy answers onto Slack (whose rate
// limits the replies still being worked on share): one person writing
// again and again is told once, many people are each told, and no more
// than busyAnswerSlots answers are in flight at once.
func TestBusyAnswersToAFloodAreBounded(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		people    int
		each      int
		wantTotal int
	}{
		{"one person, 60 messages", 1, 60, 1},
		{"20 people, a message each", 20, 1, 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			reg, _ := demoRegistry(t)
			fake := slacktest.New(slacktest.Options{BotToken: "xoxb-b", AppToken: "xapp-a", Scopes: RequiredScopes})
			defer fake.Close()
			posts := &slowPosts{}
			s := NewSlack(Config{BotToken: "xoxb-b", AppToken: "xapp-a", APIURL: fake.APIURL(), MaxInFlight: 1,
				Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), HTTPClient: &http.Client{Transport: posts}})
			svc, _ := approvingService(t, reg, s)
			b := New(s, svc)
			RunConnected(t, b, fake)
			b.inFlight <- struct{}{} // every slot taken
			defer func() { <-b.inFlight }()

			for p := range tt.people {
				user, dm := fmt.Sprintf("U0P%04d", p), fmt.Sprintf("D0P%04d", p)
				for range tt.each {
					sent, err := fake.SendDirectMessage(user, dm, "help")
					if err != nil {
						t.Fatal(err)
					}
					if _, err := fake.WaitAck(sent.EnvelopeID, 3*time.Second); err != nil {
						t.Fatal(err)
					}
				}
			}
			// Every answer due goes out within a few rounds of slots.
			for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
				if total, _ := posts.counts(); total >= tt.wantTotal {
					break
				}
			}
			time.Sleep(300 * time.Millisecond) // room for any answer too many
			total, peak := posts.counts()
			if total != tt.wantTotal {
				t.Errorf("%d busy answers, want %d", total, tt.wantTotal)
			}
			if peak > busyAnswerSlots {
				t.Errorf("%d busy answers in flight at once, want at most %d", peak, busyAnswerSlots)
			}
			for _, p := range fake.Posts() {
				if !strings.Contains(p.Text, busyText) {
					t.Errorf("posted %q, want only busy answers", p.Text)
				}
			}
		})
	}
}
