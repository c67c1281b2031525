package bot_test

import (
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/sessionbot/sessionbot/bot"
)

// firstRequest records when the first vendor request arrives, and holds
// every request until the test ends.
type firstRequest struct {
	once    sync.Once
	at      time.Time
	arrived chan struct{}
	release chan struct{}
}

func newFirstRequest(tb testing.TB) *firstRequest {
	f := &firstRequest{arrived: make(chan struct{}), release: make(chan struct{})}
	tb.Cleanup(func() { close(f.release) })
	return f
}

func (f *firstRequest) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.once.Do(func() { f.at = time.Now(); close(f.arrived) })
	select {
	case <-f.release:
	case <-r.Context().Done():
	}
	http.Error(w, "test over", http.StatusServiceUnavailable)
}

// TestABurstIsAckedBeforeAnyOfItsWorkStarts: while envelopes keep coming,
// their work waits, so the last ack of a burst does not queue behind the
// first commands' work. The quiet time is long here (a second) so that a slow machine
// cannot split the burst.
func TestABurstIsAckedBeforeAnyOfItsWorkStarts(t *testing.T) {
	first := newFirstRequest(t)
	fake, site := botOnSite(t, 0, func(b *bot.Bot) { b.SetHold(time.Second, time.Minute) })
	site.Intercept(first)

	sent := sendLists(t, fake, 100)
	var lastAck time.Time
	for _, s := range sent {
		a, err := fake.WaitAck(s.EnvelopeID, 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if a.AckedAt.After(lastAck) {
			lastAck = a.AckedAt
		}
	}
	select {
	case <-first.arrived:
	case <-time.After(10 * time.Second):
		t.Fatal("the burst's work never started")
	}
	if !first.at.After(lastAck) {
		t.Fatalf("a vendor was asked %v before the burst's last ack was read", lastAck.Sub(first.at))
	}
}

// TestASteadyStreamIsNotHeldPastTheLimit: envelopes that never stop
// coming still get their work started within the hold's limit.
func TestASteadyStreamIsNotHeldPastTheLimit(t *testing.T) {
	first := newFirstRequest(t)
	fake, site := botOnSite(t, 0, func(b *bot.Bot) { b.SetHold(time.Second, 300*time.Millisecond) })
	site.Intercept(first)

	start := time.Now()
	stop := time.After(5 * time.Second)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			if _, err := fake.SendSlashCommand(listMarc); err != nil {
				t.Fatal(err)
			}
			continue
		case <-first.arrived:
		case <-stop:
			t.Fatal("work waited 5 s while envelopes kept coming every 20 ms (the limit is 300 ms)")
		}
		break
	}
	if took := first.at.Sub(start); took > 3*time.Second {
		t.Fatalf("the first work started after %v (the limit is 300 ms)", took)
	}
}
