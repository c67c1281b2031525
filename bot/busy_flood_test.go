package bot

import (
	"bytes"
	"context"
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

// slowPosts counts chat.post* calls in flight, and holds them and every
// response_url post as a Slack slowed by the same flood would.
type slowPosts struct {
	mu               sync.Mutex
	now, peak, total int
}

func (c *slowPosts) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.HasPrefix(r.URL.Path, "/response/") {
		time.Sleep(200 * time.Millisecond)
	}
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

// refusingBot is a bot on fake whose every in-flight slot is taken, so
// that each envelope is refused; Slack is reached through rt, busy answers
// have answerTimeout, and a stop drains for drain.
func refusingBot(t *testing.T, fake *slacktest.Server, rt http.RoundTripper, answerTimeout, drain time.Duration) (*Bot, func() error) {
	t.Helper()
	reg, _ := demoRegistry(t)
	s := NewSlack(Config{BotToken: "xoxb-b", AppToken: "xapp-a", APIURL: fake.APIURL(), MaxInFlight: 1, DrainTimeout: drain,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), HTTPClient: &http.Client{Transport: rt}})
	svc, _ := approvingService(t, reg, s)
	b := New(s, svc)
	b.busyTimeout = answerTimeout
	stop := RunConnected(t, b, fake)
	b.inFlight <- struct{}{}
	t.Cleanup(func() {
		select {
		case <-b.inFlight:
		default:
		}
	})
	return b, stop
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
			fake := slacktest.New(slacktest.Options{BotToken: "xoxb-b", AppToken: "xapp-a", Scopes: RequiredScopes})
			defer fake.Close()
			posts := &slowPosts{}
			refusingBot(t, fake, posts, busyAnswerTimeout, time.Second)

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

// TestEveryoneTurnedAwayIsTold: bounding the busy answers must not cost
// anyone theirs: a burst of commands from many people is told in full
// within the answers' deadline, and a conversation whose answer could not
// be sent is answered at its next message.
func TestEveryoneTurnedAwayIsTold(t *testing.T) {
	t.Parallel()
	t.Run("150 people run a command at once", func(t *testing.T) {
		t.Parallel()
		const people = 150
		fake := slacktest.New(slacktest.Options{BotToken: "xoxb-b", AppToken: "xapp-a", Scopes: RequiredScopes})
		defer fake.Close()
		refusingBot(t, fake, &slowPosts{}, busyAnswerTimeout, time.Second)
		var sent []slacktest.Sent
		for p := range people {
			s, err := fake.SendSlashCommand(slacktest.SlashCommand{Command: "/sessions", Text: "help", UserID: fmt.Sprintf("U0P%04d", p), ChannelID: "C0OPS"})
			if err != nil {
				t.Fatal(err)
			}
			sent = append(sent, s)
		}
		told := 0
		for deadline := time.Now().Add(10 * time.Second); told < people && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			told = 0
			for _, s := range sent {
				if len(fake.Responses(s.ResponseID)) > 0 {
					told++
				}
			}
		}
		if told < people {
			t.Errorf("%d of %d people who ran a command while the bot was busy were told", told, people)
		}
	})
	t.Run("an answer that could not be sent does not silence the next", func(t *testing.T) {
		t.Parallel()
		fake := slacktest.New(slacktest.Options{BotToken: "xoxb-b", AppToken: "xapp-a", Scopes: RequiredScopes})
		defer fake.Close()
		b, _ := refusingBot(t, fake, http.DefaultTransport, 300*time.Millisecond, time.Second)
		for range busyAnswerSlots {
			b.busySlots <- struct{}{} // answers to others, being sent
		}
		sent, _ := fake.SendDirectMessage("U0MARC", "D0MARC", "help")
		fake.WaitAck(sent.EnvelopeID, 3*time.Second)
		time.Sleep(b.busyTimeout + 300*time.Millisecond) // given up
		for range busyAnswerSlots {
			<-b.busySlots
		}
		sent, _ = fake.SendDirectMessage("U0MARC", "D0MARC", "list CORP\\marc")
		fake.WaitAck(sent.EnvelopeID, 3*time.Second)
		for deadline := time.Now().Add(5 * time.Second); len(fake.Posts()) == 0 && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		}
		if len(fake.Posts()) == 0 {
			t.Error("Marc wrote twice while the bot was busy and was told nothing either time")
		}
	})
}

// TestBusyAnswersStayWithinTheirDeadline: one deadline covers a busy
// answer's wait for a turn and every route it tries, so a route that
// answered late (and may have delivered) is not followed by a second
// answer, a stop is not held past it, and a conversation's quiet interval
// starts when its answer went out, not when it began waiting.
func TestBusyAnswersStayWithinTheirDeadline(t *testing.T) {
	t.Parallel()
	t.Run("a response_url that answered late is not followed by another answer", func(t *testing.T) {
		t.Parallel()
		fake := slacktest.New(slacktest.Options{BotToken: "xoxb-b", AppToken: "xapp-a", Scopes: RequiredScopes,
			Users: []slacktest.User{{ID: "U0MARC", Name: "marc"}}})
		defer fake.Close()
		b, _ := refusingBot(t, fake, deliveredSlowly{}, 500*time.Millisecond, time.Second)
		sent, err := fake.SendSlashCommand(slacktest.SlashCommand{Command: "/sessions", Text: "help", UserID: "U0MARC", ChannelID: "C0OPS"})
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(b.busyTimeout + 700*time.Millisecond)
		responses, others := len(fake.Responses(sent.ResponseID)), len(fake.Posts())
		if responses != 1 || others != 0 {
			t.Errorf("told %d times on the response_url and %d times otherwise, want once", responses, others)
		}
	})
	t.Run("a stop is not held past an answer's deadline", func(t *testing.T) {
		t.Parallel()
		fake := slacktest.New(slacktest.Options{BotToken: "xoxb-b", AppToken: "xapp-a", Scopes: RequiredScopes})
		defer fake.Close()
		b, stop := refusingBot(t, fake, http.DefaultTransport, 500*time.Millisecond, 300*time.Millisecond)
		for range busyAnswerSlots {
			b.busySlots <- struct{}{} // answers to others, never done
		}
		sent, _ := fake.SendDirectMessage("U0MARC", "D0MARC", "help")
		fake.WaitAck(sent.EnvelopeID, 3*time.Second)
		start := time.Now()
		stop()
		if took := time.Since(start); took > b.busyTimeout+b.cfg.DrainTimeout+time.Second {
			t.Errorf("the stop took %v: a queued busy answer held it past its deadline", took.Round(100*time.Millisecond))
		}
	})
	t.Run("the quiet interval starts when the answer went out", func(t *testing.T) {
		t.Parallel()
		fake := slacktest.New(slacktest.Options{BotToken: "xoxb-b", AppToken: "xapp-a", Scopes: RequiredScopes})
		defer fake.Close()
		b, _ := refusingBot(t, fake, http.DefaultTransport, 500*time.Millisecond, time.Second)
		b.busyTold = newRecentSet(1<<12, time.Second) // busyRepeatAfter, scaled as busyTimeout is
		for range busyAnswerSlots {
			b.busySlots <- struct{}{}
		}
		sent, _ := fake.SendDirectMessage("U0MARC", "D0MARC", "help")
		fake.WaitAck(sent.EnvelopeID, 3*time.Second)
		time.Sleep(400 * time.Millisecond)
		for range busyAnswerSlots {
			<-b.busySlots // the first answer goes out now, late in its wait
		}
		time.Sleep(800 * time.Millisecond) // past a second from the first message, not from its answer
		sent, _ = fake.SendDirectMessage("U0MARC", "D0MARC", "help")
		fake.WaitAck(sent.EnvelopeID, 3*time.Second)
		time.Sleep(300 * time.Millisecond)
		if n := len(fake.Posts()); n != 1 {
			t.Errorf("one conversation told %d times within a second of its first answer, want once", n)
		}
	})
}

// deliveredSlowly delivers response_url posts, then answers only once the
// caller has given up: Slack took it but was slow to say so.
type deliveredSlowly struct{}

func (deliveredSlowly) RoundTrip(r *http.Request) (*http.Response, error) {
	if !strings.HasPrefix(r.URL.Path, "/response/") {
		return http.DefaultTransport.RoundTrip(r)
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, err
	}
	delivered := r.Clone(context.Background())
	delivered.Body = io.NopCloser(bytes.NewReader(body))
	if resp, err := http.DefaultTransport.RoundTrip(delivered); err == nil {
		resp.Body.Close()
	}
	<-r.Context().Done()
	return nil, r.Context().Err()
}

// TestARefusedEnvelopeAnotherReplicaHandledIsNotAnswered: Slack may hand
// an envelope whose ack was late to another replica, which claims it in
// the shared store and counts the vote; this one, full, must then not
// tell the approver "your vote was not counted". Claimed here first, the
// envelope is refused and the approver told, as without a shared store.
func TestARefusedEnvelopeAnotherReplicaHandledIsNotAnswered(t *testing.T) {
	t.Parallel()
	for _, elsewhere := range []bool{true, false} {
		t.Run(map[bool]string{true: "claimed by another replica", false: "claimed here"}[elsewhere], func(t *testing.T) {
			t.Parallel()
			fake := slacktest.New(slacktest.Options{BotToken: "xoxb-b", AppToken: "xapp-a", Scopes: RequiredScopes})
			defer fake.Close()
			reg, _ := demoRegistry(t)
			s := NewSlack(Config{BotToken: "xoxb-b", AppToken: "xapp-a", APIURL: fake.APIURL(), MaxInFlight: 1, DrainTimeout: time.Second,
				ReplyTimeout: 300 * time.Millisecond, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
			s.cfg.Dedup = func(_ context.Context, key string) (bool, error) {
				return !(elsewhere && strings.HasPrefix(key, "envelope:")), nil
			}
			svc, _ := approvingService(t, reg, s)
			b := New(s, svc)
			RunConnected(t, b, fake)
			b.inFlight <- struct{}{}
			defer func() { <-b.inFlight }()
			sent, err := fake.SendBlockAction(slacktest.BlockAction{UserID: "U0LEAD", ChannelID: "C0APPROVALS", ActionID: ActionApprove, Value: "R7K2M9QX"})
			if err != nil {
				t.Fatal(err)
			}
			time.Sleep(b.cfg.ReplyTimeout + 700*time.Millisecond)
			told := len(fake.Responses(sent.ResponseID)) + len(fake.Posts())
			switch {
			case elsewhere && told > 0:
				t.Errorf("told %d times about a vote another replica counted", told)
			case !elsewhere && told != 1:
				t.Errorf("told %d times that the vote was not counted, want once", told)
			}
		})
	}
}
