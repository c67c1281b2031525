package commands_test

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessionbot/sessionbot/commands"
	"github.com/sessionbot/sessionbot/store"
	"github.com/sessionbot/sessionbot/vendors"
)

// stuckMirror is an audit channel that takes each copy and then answers
// nothing until released, whatever its context says (a chat holding a
// rate-limited call).
type stuckMirror struct {
	*recorder
	entered chan store.Event
	release chan struct{}
	mu      sync.Mutex
	sent    []store.Event
}

func newStuckMirror() *stuckMirror {
	return &stuckMirror{recorder: &recorder{}, entered: make(chan store.Event, 100), release: make(chan struct{})}
}

func (m *stuckMirror) MirrorAudit(_ context.Context, dest string, e store.Event) error {
	if dest != "C0AUDIT" {
		panic("mirrored to " + dest)
	}
	m.entered <- e
	<-m.release
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sent = append(m.sent, e)
	return nil
}

func (m *stuckMirror) waitEntered(t *testing.T) store.Event {
	t.Helper()
	select {
	case e := <-m.entered:
		return e
	case <-time.After(10 * time.Second):
		t.Fatal("no audit event reached the mirror")
	}
	return store.Event{}
}

// mirrorWatch counts dropped copies (the metric) and warnings (the log).
type mirrorWatch struct {
	mu       sync.Mutex
	dropped  int
	warnings []string
	attrs    []map[string]any // of each warning
}

func (w *mirrorWatch) VendorCall(string, vendors.Type, time.Duration, error) {}
func (w *mirrorWatch) Command(commands.Verb, bool)                           {}
func (w *mirrorWatch) AuditMirrorDropped() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.dropped++
}
func (w *mirrorWatch) Enabled(context.Context, slog.Level) bool { return true }
func (w *mirrorWatch) Handle(_ context.Context, r slog.Record) error {
	if r.Level >= slog.LevelWarn {
		w.mu.Lock()
		defer w.mu.Unlock()
		w.warnings = append(w.warnings, r.Message)
		attrs := map[string]any{}
		r.Attrs(func(a slog.Attr) bool {
			attrs[a.Key] = a.Value.Any()
			return true
		})
		w.attrs = append(w.attrs, attrs)
	}
	return nil
}

// records are the warnings' attributes.
func (w *mirrorWatch) records() []map[string]any {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]map[string]any(nil), w.attrs...)
}
func (w *mirrorWatch) WithAttrs([]slog.Attr) slog.Handler { return w }
func (w *mirrorWatch) WithGroup(string) slog.Handler      { return w }

func (w *mirrorWatch) counts() (dropped int, warnings []string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.dropped, append([]string(nil), w.warnings...)
}

func mirrored(t *testing.T, queue int) (*fixture, *commands.Service, *stuckMirror, *mirrorWatch) {
	f := newFixture(t, engines()[0].open(t), defaultPolicy())
	m, w := newStuckMirror(), &mirrorWatch{}
	svc := commands.New(commands.Config{
		Registry: f.reg,
		Options:  map[string]commands.InstanceOptions{"qlik-prod": {Timeout: 5 * time.Second}},
		Clock:    f.clock.Now, Logger: slog.New(w), Observer: w,
		Access:    &commands.Access{Default: f.policy, AuditMirror: "C0AUDIT"},
		Approvals: &commands.Approvals{Store: f.store, Notifier: m, ReplicaID: "replica-a", AuditMirrorQueue: queue},
	})
	return f, svc, m, w
}

func list(t *testing.T, svc *commands.Service) {
	t.Helper()
	done := make(chan commands.Reply, 1)
	go func() {
		done <- svc.Handle(context.Background(), commands.Caller{ChatID: requester}, `list CORP\marc`)
	}()
	select {
	case r := <-done:
		if r.Problem != nil {
			t.Fatalf("list: %s", r.Problem.Message)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the list reply waited for the audit mirror")
	}
}

func TestAListReplyDoesNotWaitForTheAuditMirror(t *testing.T) {
	t.Parallel()
	_, svc, m, w := mirrored(t, 0)
	list(t, svc)
	if e := m.waitEntered(t); e.Action != "list" {
		t.Errorf("mirrored %q, want the list", e.Action)
	}
	close(m.release)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	svc.Close(ctx)
	if dropped, warnings := w.counts(); dropped != 0 || len(warnings) != 0 || len(m.sent) != 1 {
		t.Errorf("%d dropped, warnings %q, %d sent; want the one copy sent", dropped, warnings, len(m.sent))
	}
}

func TestAFullAuditMirrorQueueDropsCountsAndWarnsOncePerMinute(t *testing.T) {
	t.Parallel()
	f, svc, m, w := mirrored(t, 1)
	list(t, svc)
	m.waitEntered(t) // the sender holds the first copy
	list(t, svc)     // queued
	list(t, svc)     // dropped
	list(t, svc)     // dropped, within the minute: no second warning
	if dropped, warnings := w.counts(); dropped != 2 || len(warnings) != 1 {
		t.Fatalf("%d dropped with warnings %q, want 2 dropped and one warning", dropped, warnings)
	}
	f.clock.Advance(time.Minute)
	list(t, svc)
	if dropped, warnings := w.counts(); dropped != 3 || len(warnings) != 2 {
		t.Fatalf("%d dropped with warnings %q a minute later, want 3 and a second warning", dropped, warnings)
	}
	close(m.release)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	svc.Close(ctx) // sends the queued copy
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.sent) != 2 {
		t.Errorf("%d copies sent, want the first and the queued one", len(m.sent))
	}
}

func TestStoppingGivesUpOnAStuckAuditMirrorInTime(t *testing.T) {
	t.Parallel()
	_, svc, m, w := mirrored(t, 0)
	list(t, svc)
	m.waitEntered(t)
	list(t, svc) // queued behind the stuck copy
	defer close(m.release)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	svc.Close(ctx)
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("Close took %s with a 200 ms bound", took)
	}
	list(t, svc) // after Close: not mirrored, counted
	dropped, warnings := w.counts()
	if dropped != 2 || !slicesContain(warnings, "stopping before every audit copy was mirrored") {
		t.Errorf("%d dropped, warnings %q; want the queued copy and the one after Close counted, and the queued one reported", dropped, warnings)
	}
}

func slicesContain(ss []string, prefix string) bool {
	for _, s := range ss {
		if strings.HasPrefix(s, prefix) {
			return true
		}
	}
	return false
}

// Copies dropped after the minute's warning are not forgotten: a stop
// reports them, so the log adds up to the metric.
func TestStoppingReportsDropsNoWarningCoveredYet(t *testing.T) {
	t.Parallel()
	_, svc, m, w := mirrored(t, 1)
	list(t, svc)
	m.waitEntered(t) // the sender holds the first copy
	list(t, svc)     // queued
	list(t, svc)     // dropped and warned
	list(t, svc)     // dropped within the minute: not warned
	list(t, svc)     // the same
	close(m.release)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	svc.Close(ctx)
	var logged int
	for _, r := range w.records() {
		if n, ok := r["dropped"]; ok {
			logged += int(n.(int64))
		}
	}
	if dropped, _ := w.counts(); logged != dropped {
		t.Errorf("the log reports %d dropped copies, the metric %d", logged, dropped)
	}
}
