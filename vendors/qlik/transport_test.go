package qlik_test

import (
	"context"
	"regexp"
	"runtime"
	"testing"
	"time"

	"github.com/sessionbot/sessionbot/vendors"
	"github.com/sessionbot/sessionbot/vendors/qlik"
	"github.com/sessionbot/sessionbot/vendors/qlik/qliktest"
)

var xrfkeyPattern = regexp.MustCompile(`^[0-9a-zA-Z]{16}$`)

func TestConnectionsAndTLSSessionsAreReused(t *testing.T) {
	site := newSite(t, qliktest.Options{Proxies: 3, Demo: true})
	in := newInstance(t, configFor(t, site))
	ctx := testContext(t)
	for range 20 {
		if _, err := in.ListAllSessions(ctx); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 3 {
		if c, h := site.Connections(i), site.FullHandshakes(i); c != 1 || h != 1 {
			t.Errorf("proxy %d: %d connections and %d full handshakes for 20 lists, want 1 and 1", i, c, h)
		}
	}

	// A new connection, once the old one is gone, resumes the TLS session
	// instead of a full handshake.
	site.CloseConnections(0)
	if _, err := in.ListAllSessions(ctx); err != nil {
		t.Fatal(err)
	}
	if c, full, resumed := site.Connections(0), site.FullHandshakes(0), site.ResumedHandshakes(0); c != 2 || full != 1 || resumed != 1 {
		t.Errorf("after the connection was cut: %d connections, %d full and %d resumed handshakes; want 2, 1, 1", c, full, resumed)
	}
}

func TestEveryRequestCarriesAFreshXrfkey(t *testing.T) {
	site, in := demoSite(t)
	ctx := testContext(t)
	for range 10 {
		if _, err := in.ListUserSessions(ctx, vendors.UserQuery{User: vendors.Identity{Directory: "Domain", ID: "Ken"}}); err != nil {
			t.Fatal(err)
		}
	}
	keys := site.Xrfkeys()
	if len(keys) != 20 {
		t.Fatalf("%d xrfkeys seen, want 20", len(keys))
	}
	seen := map[string]bool{}
	for _, k := range keys {
		if !xrfkeyPattern.MatchString(k) {
			t.Errorf("xrfkey %q is not 16 letters and digits", k)
		}
		if seen[k] {
			t.Errorf("xrfkey %q was used twice", k)
		}
		seen[k] = true
	}
	for _, r := range site.Requests() {
		if r.User != qlik.DefaultUser || r.Status != 200 {
			t.Errorf("request %s %s as %q answered %d, want the default user and 200", r.Method, r.EscapedPath, r.User, r.Status)
		}
	}
}

func TestXrfkeysUseTheWholeAlphabet(t *testing.T) {
	counts := map[rune]int{}
	for range 2000 {
		k := qlik.NewXrfkey()
		if !xrfkeyPattern.MatchString(k) {
			t.Fatalf("xrfkey %q is not 16 letters and digits", k)
		}
		for _, r := range k {
			counts[r]++
		}
	}
	// 32,000 characters over 62 gives about 516 each; a biased or short
	// alphabet shows up far outside these bounds.
	if len(counts) != 62 {
		t.Errorf("%d distinct characters, want 62", len(counts))
	}
	for r, n := range counts {
		if n < 350 || n > 700 {
			t.Errorf("character %q appeared %d times, want about 516", r, n)
		}
	}
}

func TestProxiesAreAskedInParallel(t *testing.T) {
	const delay = 150 * time.Millisecond
	site := newSite(t, qliktest.Options{Proxies: 5, Demo: true})
	in := newInstance(t, configFor(t, site))
	ctx := testContext(t)
	if _, err := in.ListAllSessions(ctx); err != nil { // connect first: handshakes are not the point
		t.Fatal(err)
	}
	for i := range 5 {
		site.SetDelay(i, delay)
	}
	start := time.Now()
	if _, err := in.ListAllSessions(ctx); err != nil {
		t.Fatal(err)
	}
	if elapsed := time.Since(start); elapsed >= 2*delay {
		t.Errorf("5 proxies answering in %s each took %s, want well under %s", delay, elapsed, 2*delay)
	}
}

func TestGetSessionStopsWaitingOnceAProxyHasIt(t *testing.T) {
	site := newSite(t, qliktest.Options{Proxies: 3, Demo: true})
	site.Fail(2, qliktest.Slow) // would hold the answer for a minute
	in := newInstance(t, configFor(t, site))
	start := time.Now()
	s, err := in.GetSession(testContext(t), qliktest.MarcSessionOnProxy1)
	if err != nil {
		t.Fatal(err)
	}
	if s.Node != site.Proxies()[1] {
		t.Errorf("node = %s, want %s", s.Node, site.Proxies()[1])
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("took %s, want no wait for the slow proxy", d)
	}
}

func TestNoGoroutineOutlivesTheCalls(t *testing.T) {
	before := runtime.NumGoroutine()
	func() {
		site, err := qliktest.New(qliktest.Options{Proxies: 3, Demo: true})
		if err != nil {
			t.Fatal(err)
		}
		defer site.Close()
		cfg := configFor(t, site)
		cfg.RequestTimeout = 200 * time.Millisecond
		in, err := qlik.New(cfg, vendors.Env{})
		if err != nil {
			t.Fatal(err)
		}
		defer in.Close()
		site.Fail(1, qliktest.Slow)
		site.Fail(2, qliktest.Drop)
		ctx := context.Background()
		_, _ = in.ListAllSessions(ctx)
		_, _ = in.GetSession(ctx, qliktest.KenSession)
		cancelled, cancel := context.WithCancel(ctx)
		time.AfterFunc(20*time.Millisecond, cancel)
		_, _ = in.LogoutUser(cancelled, vendors.Identity{Directory: "Domain", ID: "Marc"})
	}()
	deadline := time.Now().Add(3 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		buf := make([]byte, 1<<16)
		t.Errorf("%d goroutines left over, want none:\n%s", n-before, buf[:runtime.Stack(buf, true)])
	}
}

// BenchmarkFanOut lists all sessions of 5 proxies that each take 200 ms to
// answer. Asked in turn they would take 1 s; asked at once, about 200 ms.
// The delay-ratio metric is the elapsed time over 200 ms (target < 1.1).
func BenchmarkFanOut(b *testing.B) {
	const delay = 200 * time.Millisecond
	site := newSite(b, qliktest.Options{Proxies: 5, Demo: true})
	in := newInstance(b, configFor(b, site))
	ctx := context.Background()
	if _, err := in.ListAllSessions(ctx); err != nil {
		b.Fatal(err)
	}
	for i := range 5 {
		site.SetDelay(i, delay)
	}
	b.ResetTimer()
	start := time.Now()
	for b.Loop() {
		listing, err := in.ListAllSessions(ctx)
		if err != nil || len(listing.Warnings) > 0 {
			b.Fatal(err, listing.Warnings)
		}
	}
	b.ReportMetric(float64(time.Since(start))/float64(b.N)/float64(delay), "delay-ratio")
}

// BenchmarkListUserSessions is one person's list across 5 proxies that
// answer at once: the CPU and allocations of a list command's Qlik part
// (the fake proxies, in this process, are counted too).
func BenchmarkListUserSessions(b *testing.B) {
	site := newSite(b, qliktest.Options{Proxies: 5, Demo: true})
	in := newInstance(b, configFor(b, site))
	q := vendors.UserQuery{User: vendors.Identity{Directory: "Domain", ID: "Marc"}}
	ctx := context.Background()
	if _, err := in.ListUserSessions(ctx, q); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		listing, err := in.ListUserSessions(ctx, q)
		if err != nil || len(listing.Warnings) > 0 || len(listing.Sessions) == 0 {
			b.Fatal(err, listing.Warnings, len(listing.Sessions))
		}
	}
}
