package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/sessionbot/sessionbot/cmd/sessionbot/config"
	"github.com/sessionbot/sessionbot/commands"
	"github.com/sessionbot/sessionbot/console"
	"github.com/sessionbot/sessionbot/internal/staticdir"
	"github.com/sessionbot/sessionbot/internal/testpki"
	"github.com/sessionbot/sessionbot/store/sqlite"
	"github.com/sessionbot/sessionbot/vendors/commvault/commvaulttest"
	"github.com/sessionbot/sessionbot/vendors/microsoft/graphtest"
	"github.com/sessionbot/sessionbot/vendors/qlik/qliktest"
)

// Demo people, by Slack user id.
const (
	demoRequester = "U0ONCALL"
	demoApprover  = "U0APPROVER"
	demoMarc      = "U0MARC"
)

// The demo's one person, the same on every system: Domain\Marc on Qlik
// and Commvault, marc@contoso.com on Teams, Marc Dupont everywhere.
const (
	demoMarcAccount = `Domain\marc`
	demoMarcEmail   = "marc@contoso.com"
	demoMarcName    = "Marc Dupont"
)

// demoPerson gives the Qlik sample's Marc the demo's address.
func demoPerson(s qliktest.Session) qliktest.Session {
	if s.UserID != "Marc" {
		return s
	}
	s.UserName = demoMarcName
	attrs := append([]qliktest.Attribute(nil), s.Attributes...)
	for i, a := range attrs {
		if a.Name == "email" {
			attrs[i].Value = demoMarcEmail
		}
	}
	s.Attributes = attrs
	return s
}

// startDemo starts fake vendors on loopback, with sample sessions, and
// wires the real adapters, the real store (a SQLite file in a temporary
// folder) and the real approval flow to them. The console prints what
// Slack would show.
func startDemo(ctx context.Context, g *globals, term *console.Console) (*environment, error) {
	logger := slog.New(slog.NewTextHandler(g.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	slog.SetDefault(logger) // adapters log through the default logger
	env := &environment{}
	dir, err := os.MkdirTemp("", "sessionbot-demo-")
	if err != nil {
		return nil, err
	}
	env.closers = append(env.closers, func() { os.RemoveAll(dir) })

	site, err := qliktest.New(qliktest.Options{Proxies: 3})
	if err != nil {
		env.close()
		return nil, fmt.Errorf("start the fake Qlik site: %w", err)
	}
	env.closers = append(env.closers, site.Close)
	for i, list := range qliktest.DemoSessions() {
		for _, sess := range list {
			site.AddSession(i%3, demoPerson(sess))
		}
	}
	files, err := site.ClientFiles(dir)
	if err != nil {
		env.close()
		return nil, err
	}

	graph, graphCA, err := startDemoGraph(dir)
	if err != nil {
		env.close()
		return nil, err
	}
	env.closers = append(env.closers, graph.Close)
	graph.AddUser(graphtest.User{ID: graphtest.MarcID, DisplayName: demoMarcName, UPN: demoMarcEmail})

	cv, err := commvaulttest.New(commvaulttest.Options{Seed: true, SeedMarcAs: demoMarcAccount})
	if err != nil {
		env.close()
		return nil, fmt.Errorf("start the fake CommServe: %w", err)
	}
	env.closers = append(env.closers, cv.Close)
	cvCA, err := cv.CAFile(dir)
	if err != nil {
		env.close()
		return nil, err
	}

	cfg := &config.Config{Timeout: 10 * time.Second, Instances: map[string]config.Instance{
		"commvault": {Name: "commvault", Type: "commvault", EmailTemplate: `Domain\{local}`, Settings: map[string]any{
			"url":      cv.URL(),
			"username": commvaulttest.BotUser,
			"password": commvaulttest.BotPassword,
			"ca_file":  cvCA,
		}},
		"teams": {Name: "teams", Type: "teams", EmailTemplate: "{email}", Settings: map[string]any{
			"tenant_id":     graphtest.TenantID,
			"client_id":     graphtest.ClientID,
			"client_secret": graphtest.ClientSecret,
			"login_url":     graph.LoginURL(),
			"graph_url":     graph.GraphURL(),
			"ca_file":       graphCA,
		}},
		"qlik-demo": {Name: "qlik-demo", Type: "qlik", EmailTemplate: `Domain\{local}`, Settings: map[string]any{
			"repository": site.Repository(),
			"cert_file":  files.Cert,
			"key_file":   files.Key,
			"ca_file":    files.CA,
		}},
	}}
	reg, options, err := buildInstances(cfg, logger)
	if err != nil {
		env.close()
		return nil, err
	}
	env.closers = append(env.closers, func() { reg.Close(context.Background()) })
	// Teams knows Marc by his address: Domain\Marc finds it.
	teams := options["teams"]
	teams.Identity.AccountTemplate = "{user}@contoso.com"
	options["teams"] = teams

	storePath := filepath.Join(dir, "sessionbot.db")
	if g.demoStore != "" {
		storePath = g.demoStore // kept, for audit export afterwards
	}
	st, err := sqlite.Open(ctx, storePath)
	if err != nil {
		env.close()
		return nil, fmt.Errorf("open the demo store: %w", err)
	}
	env.closers = append(env.closers, func() { st.Close() })

	access := &commands.Access{Default: commands.Policy{
		Requesters:      []string{demoRequester},
		Approvers:       []string{demoApprover},
		Destination:     "console",
		ApprovalsNeeded: 1,
		TTL:             15 * time.Minute,
	}}
	report, err := demoReport()
	if err != nil {
		env.close()
		return nil, err
	}
	env.service = commands.New(commands.Config{
		Registry: reg, Options: options, Logger: logger, Clock: time.Now,
		Directory: staticdir.Directory{demoMarc: demoMarcEmail},
		Access:    access,
		Approvals: &commands.Approvals{Store: st, Notifier: term.Notifier(), ReplicaID: "demo"},
		Reports:   []commands.Report{report},
	})
	fmt.Fprintf(g.stderr, "demo: fake Qlik site with %d proxies on %s, fake CommServe on %s, fake Microsoft Graph on %s; you are %s (may request kills), %s approves; try `help`, or `report stale-demo`\n",
		len(site.Proxies()), strings.Join(site.Proxies(), ", "), cv.URL(), graph.URL(), demoRequester, demoApprover)
	return env, nil
}

// demoReport is the demo's stale-session digest: `report stale-demo` runs
// it now. Marc's CommCell Console session, idle 12 minutes, is stale by it.
func demoReport() (commands.Report, error) {
	sched, err := commands.ParseSchedule("0 8 * * 1-5")
	if err != nil {
		return commands.Report{}, err
	}
	rule, err := commands.ParseRule("idle > 10m")
	if err != nil {
		return commands.Report{}, err
	}
	return commands.Report{Name: "stale-demo", Schedule: sched, Location: time.UTC, Destination: "console",
		Instances: []string{"qlik-demo", "commvault"}, Rule: rule}, nil
}

// startDemoGraph runs the fake Microsoft login and Graph over TLS, with a
// CA written to dir for the adapter to trust.
func startDemoGraph(dir string) (*graphtest.Server, string, error) {
	ca, err := testpki.NewCA("demo Graph CA")
	if err != nil {
		return nil, "", err
	}
	pair, err := ca.Server()
	if err != nil {
		return nil, "", err
	}
	caFile := filepath.Join(dir, "graph-ca.pem")
	if err := os.WriteFile(caFile, ca.CertPEM, 0o600); err != nil {
		return nil, "", err
	}
	graph := graphtest.New(graphtest.Options{TLS: &tls.Config{Certificates: []tls.Certificate{pair.TLS}, MinVersion: tls.VersionTLS12}})
	return graph, caFile, nil
}
