package qlik_test

import (
	"testing"
	"time"

	"github.com/sessionbot/sessionbot/internal/testclock"
	"github.com/sessionbot/sessionbot/internal/testkit"

	"github.com/sessionbot/sessionbot/vendors"
	"github.com/sessionbot/sessionbot/vendors/qlik"
	"github.com/sessionbot/sessionbot/vendors/qlik/qliktest"
)

// The adapter logs through slog.Default; keep test output to failures.
func TestMain(m *testing.M) { testkit.QuietMain(m) }

// newSite starts a fake site that stops with the test.
func newSite(t testing.TB, opts qliktest.Options) *qliktest.Site {
	t.Helper()
	return testkit.Start(t, qliktest.New, opts)
}

// configFor is a configuration that lists the site's proxies, with the
// client files written to a temporary directory.
func configFor(t testing.TB, site *qliktest.Site) qlik.Config {
	t.Helper()
	files, err := site.ClientFiles(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return qlik.Config{
		Name:           "qlik-test",
		Proxies:        site.Proxies(),
		VirtualProxy:   site.VirtualProxy(),
		CertFile:       files.Cert,
		KeyFile:        files.Key,
		CAFile:         files.CA,
		RequestTimeout: 2 * time.Second,
	}
}

// newInstance makes an adapter for cfg that closes with the test.
func newInstance(t testing.TB, cfg qlik.Config) *qlik.Instance {
	t.Helper()
	in, err := qlik.New(cfg, vendors.Env{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = in.Close() })
	return in
}

// testContext ends with the test or after 10 s.
var testContext = testkit.Context

// fakeClock is a clock the test moves by hand.
type fakeClock = testclock.Clock

func newFakeClock() *fakeClock { return testclock.New(time.Date(2025, 3, 4, 9, 0, 0, 0, time.UTC)) }

// demoSite is an adapter on a site of two proxies with the demo sessions.
func demoSite(t testing.TB) (*qliktest.Site, *qlik.Instance) {
	t.Helper()
	site := newSite(t, qliktest.Options{Proxies: 2, Demo: true})
	return site, newInstance(t, configFor(t, site))
}
