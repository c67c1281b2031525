package bot

import (
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/sessionbot/sessionbot/commands"
	"github.com/sessionbot/sessionbot/internal/testkit"
	"github.com/sessionbot/sessionbot/store"
	"github.com/sessionbot/sessionbot/store/sqlite"
	"github.com/sessionbot/sessionbot/vendors"
	"github.com/sessionbot/sessionbot/vendors/qlik"
	"github.com/sessionbot/sessionbot/vendors/qlik/qliktest"
)

// demoRegistry is qlik-prod on a one-proxy demo site, for the tests.
func demoRegistry(t *testing.T) (*vendors.Registry, *qliktest.Site) {
	t.Helper()
	site := testkit.Start(t, qliktest.New, qliktest.Options{Proxies: 1, Demo: true})
	return testkit.QlikRegistry(t, site, qlik.Config{}), site
}

// approvingService is the commands service on reg with a SQLite store:
// U0ONCALL requests, U0LEAD approves alone, in C0APPROVALS.
func approvingService(t *testing.T, reg *vendors.Registry, s *Slack) (*commands.Service, store.Store) {
	t.Helper()
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return commands.New(commands.Config{Registry: reg, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Access: &commands.Access{Default: commands.Policy{Requesters: []string{"U0ONCALL"}, Approvers: []string{"U0LEAD"},
			Destination: "C0APPROVALS", ApprovalsNeeded: 1, TTL: 15 * time.Minute}},
		Approvals: &commands.Approvals{Store: st, Notifier: s.Notifier(func(string) []string { return []string{"U0LEAD"} }), ReplicaID: "r1"},
	}), st
}
