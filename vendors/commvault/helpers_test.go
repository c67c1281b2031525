package commvault_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/sessionbot/sessionbot/internal/testclock"
	"github.com/sessionbot/sessionbot/internal/testkit"
	"github.com/sessionbot/sessionbot/vendors"
	"github.com/sessionbot/sessionbot/vendors/commvault"
	"github.com/sessionbot/sessionbot/vendors/commvault/commvaulttest"
)

// The adapter logs through slog.Default; keep test output to failures.
func TestMain(m *testing.M) { testkit.QuietMain(m) }

var (
	marc   = vendors.Identity{Directory: "CORP", ID: "marc"}
	jsmith = vendors.Identity{ID: "jsmith"}
)

// newServer starts a fake web service that stops with the test.
func newServer(t testing.TB, opts commvaulttest.Options) *commvaulttest.Server {
	t.Helper()
	return testkit.Start(t, commvaulttest.New, opts)
}

// configFor logs in as the fake's bot account and trusts its CA.
func configFor(t testing.TB, srv *commvaulttest.Server) commvault.Config {
	t.Helper()
	ca, err := srv.CAFile(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return commvault.Config{
		Name:           "cv-test",
		URL:            srv.URL(),
		Username:       commvaulttest.BotUser,
		Password:       commvaulttest.BotPassword,
		CAFile:         ca,
		RequestTimeout: 3 * time.Second,
	}
}

// newInstance makes an adapter that closes with the test.
func newInstance(t testing.TB, cfg commvault.Config) *commvault.Instance {
	t.Helper()
	return newInstanceLogging(t, cfg, nil)
}

func newInstanceLogging(t testing.TB, cfg commvault.Config, logger *slog.Logger) *commvault.Instance {
	t.Helper()
	in, err := commvault.New(cfg, vendors.Env{Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = in.Close(context.Background()) })
	return in
}

// testContext ends with the test or after 10 s.
var testContext = testkit.Context

// fakeClock is a clock the test moves by hand.
type fakeClock = testclock.Clock

func newFakeClock() *fakeClock { return testclock.New(time.Date(2026, 3, 4, 9, 0, 0, 0, time.UTC)) }

// ids returns the session ids of a list, in order.
func ids(list []vendors.Session) []string {
	var out []string
	for _, s := range list {
		out = append(out, s.ID)
	}
	return out
}

func attribute(s vendors.Session, name string) string {
	for _, a := range s.Attributes {
		if a.Name == name {
			return a.Value
		}
	}
	return ""
}

// seeded is an adapter on a fake with the seed users and sessions, and a
// context for its calls.
func seeded(t testing.TB) (*commvaulttest.Server, *commvault.Instance, context.Context) {
	t.Helper()
	srv := newServer(t, commvaulttest.Options{Seed: true})
	return srv, newInstance(t, configFor(t, srv)), testContext(t)
}
