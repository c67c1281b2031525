package commands_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessionbot/sessionbot/commands"
	"github.com/sessionbot/sessionbot/internal/testkit"
	"github.com/sessionbot/sessionbot/store"
	"github.com/sessionbot/sessionbot/vendors"
	"github.com/sessionbot/sessionbot/vendors/commvault"
	"github.com/sessionbot/sessionbot/vendors/commvault/commvaulttest"
)

func TestRuleParsing(t *testing.T) {
	for _, tc := range []struct {
		text, want, problem string
	}{
		{"idle > 8h", "idle 8h0m0s older 0s attrs []", ""},
		{"older than 2d", "idle 0s older 48h0m0s attrs []", ""},
		{"console is CommCell Console", "idle 0s older 0s attrs [{console CommCell Console}]", ""},
		{"idle > 30m and older than 24h AND console is command line", "idle 30m0s older 24h0m0s attrs [{console command line}]", ""},
		{"", "", "is empty"},
		{"idle > soon", "", "not a duration"},
		{"idle > -1h", "", "not a duration"},
		{"sleepy", "", "is not a condition"},
	} {
		t.Run(tc.text, func(t *testing.T) {
			r, err := commands.ParseRule(tc.text)
			if tc.problem != "" {
				if err == nil || !strings.Contains(err.Error(), tc.problem) {
					t.Errorf("err = %v, want one saying %q", err, tc.problem)
				}
				return
			}
			if got := fmt.Sprintf("idle %s older %s attrs %v", r.IdleOver, r.OlderThan, r.Attributes); err != nil || got != tc.want {
				t.Errorf("%s, %v; want %s", got, err, tc.want)
			}
		})
	}
}

// withCommvault adds the seeded fake CommServe, on the fixture's clock,
// to the fixture's instances.
func (f *fixture) withCommvault(t *testing.T) {
	t.Helper()
	srv := testkit.Start(t, commvaulttest.New, commvaulttest.Options{Seed: true, Now: f.clock.Now})
	ca, err := srv.CAFile(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cv, err := commvault.New(commvault.Config{Name: "commvault", URL: srv.URL(), Username: commvaulttest.BotUser,
		Password: commvaulttest.BotPassword, CAFile: ca, RequestTimeout: 3 * time.Second}, vendors.Env{})
	if err != nil {
		t.Fatal(err)
	}
	reg, err := vendors.NewRegistry(append(f.reg.All(), cv)...)
	if err != nil {
		t.Fatal(err)
	}
	f.reg = reg
}

func mustRule(t *testing.T, text string) commands.Rule {
	t.Helper()
	r, err := commands.ParseRule(text)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestDigestSelectsStaleSessionsOfTheFakes(t *testing.T) {
	f := newFixture(t, engines()[0].open(t), defaultPolicy())
	f.withCommvault(t)
	svc := f.replica("replica-a", f.store, f.rec)
	marc, jsmith := commvaulttest.MarcConsoleSession, commvaulttest.JsmithWebSession
	for _, tc := range []struct {
		rule  string
		top   int
		want  []string // the stalest, stalest first
		stale int
	}{
		{"idle > 10m", 0, []string{marc}, 1},
		{"idle > 1m", 0, []string{marc, jsmith}, 2},
		{"idle > 1m", 1, []string{marc}, 2},
		{"older than 150m", 0, []string{marc}, 1},
		{"console is commcell console", 0, []string{marc}, 1},
		{"idle > 1m and console is Web Console / mobile", 0, []string{jsmith}, 1},
		{"idle > 1h", 0, nil, 0},
	} {
		t.Run(fmt.Sprintf("%s top %d", tc.rule, tc.top), func(t *testing.T) {
			d := svc.BuildDigest(context.Background(), commands.Report{Name: "stale", Rule: mustRule(t, tc.rule), Top: tc.top}, f.clock.Now())
			var got []string
			for _, s := range d.Stalest {
				got = append(got, s.ID)
			}
			if !slices.Equal(got, tc.want) || d.Stale != tc.stale || len(d.Problems) != 0 {
				t.Errorf("stalest %v (%d stale, problems %v), want %v (%d)", got, d.Stale, d.Problems, tc.want, tc.stale)
			}
			// Qlik's six demo sessions (no times: never idle or old by a
			// rule) and Commvault's two open ones are all counted by node.
			tallies := map[string]int{}
			for _, n := range d.Nodes {
				tallies[n.Instance] += n.Open
			}
			if d.Open != 8 || tallies["qlik-prod"] != 6 || tallies["commvault"] != 2 || len(d.Nodes) != 4 {
				t.Errorf("open %d, by node %+v", d.Open, d.Nodes)
			}
		})
	}
}

// digests records posted digests.
type digests struct {
	*recorder
	mu   sync.Mutex
	sent []commands.Digest
}

func (d *digests) PostDigest(_ context.Context, dg commands.Digest) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.sent = append(d.sent, dg)
	return nil
}

func (d *digests) posted() []commands.Digest {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.sent)
}

func TestReportFiresOncePerScheduleAcrossReplicasAndCatchesUpOnce(t *testing.T) {
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	sched, err := commands.ParseSchedule("0 8 * * *")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range engines() {
		t.Run(e.Name, func(t *testing.T) {
			open := e.open(t)
			f := newFixture(t, open, defaultPolicy()) // the clock starts 2026-11-23 03:00 UTC
			n := &digests{recorder: f.rec}
			reports := []commands.Report{{Name: "stale-qlik", Schedule: sched, Location: paris, Destination: "C0OPS",
				Instances: []string{"qlik-prod"}, Rule: mustRule(t, "idle > 8h")}}
			replica := func(name string, st store.Store) *commands.Service {
				return commands.New(commands.Config{
					Registry: f.reg, Clock: f.clock.Now, Access: &commands.Access{Default: f.policy}, Reports: reports,
					Options:   map[string]commands.InstanceOptions{"qlik-prod": {Timeout: 5 * time.Second}},
					Approvals: &commands.Approvals{Store: st, Notifier: n, ReplicaID: name},
				})
			}
			a, b := replica("replica-a", f.store), replica("replica-b", open())
			sweepAll(t, a, b)
			if got := n.posted(); len(got) != 0 {
				t.Fatalf("a new report posted before its first scheduled time: %+v", got)
			}
			f.clock.Advance(4 * time.Hour) // 07:00 UTC is 08:00 in Paris
			sweepAll(t, a, b, a, b)
			sweepAll(t, replica("replica-c", open())) // a restart
			got := n.posted()
			if len(got) != 1 {
				t.Fatalf("%d digests at 08:00 Paris, want 1", len(got))
			}
			first := time.Date(2026, 11, 23, 7, 0, 0, 0, time.UTC)
			if !got[0].At.Equal(first) || got[0].Destination != "C0OPS" || got[0].Open != 6 || len(got[0].Nodes) != 2 {
				t.Errorf("digest %+v", got[0])
			}

			f.clock.Advance(3*24*time.Hour + 2*time.Hour) // down over three scheduled times
			sweepAll(t, a, b, a, b)
			got = n.posted()
			if len(got) != 2 {
				t.Fatalf("%d digests after downtime, want one catch-up (2 in all)", len(got))
			}
			if latest := first.Add(3 * 24 * time.Hour); !got[1].At.Equal(latest) {
				t.Errorf("the catch-up is for %v, want the latest missed time %v", got[1].At, latest)
			}
			// The chart has both runs' counts: two nodes, two times.
			if h := got[1].History; len(h) != 4 || !h[0].At.Equal(first) {
				t.Errorf("history %+v", h)
			}
			events, _ := f.store.Events(context.Background(), store.EventFilter{})
			runs := slices.DeleteFunc(events, func(e store.Event) bool { return e.Action != "report" })
			if len(runs) != 2 {
				t.Errorf("%d report runs in the audit log, want 2", len(runs))
			}
		})
	}
}

// flakyDigests fails its first post, as a chat briefly down would.
type flakyDigests struct {
	digests
	failed bool
}

func (d *flakyDigests) PostDigest(ctx context.Context, dg commands.Digest) error {
	d.mu.Lock()
	first := !d.failed
	d.failed = true
	d.mu.Unlock()
	if first {
		return errors.New("chat unavailable")
	}
	return d.digests.PostDigest(ctx, dg)
}

// TestReportAuditSaysWhetherTheDigestWasPosted: a digest whose post failed
// is audited as failed, and the retry that posts it as posted: the audit
// log does not claim two posts, or a post that never happened.
func TestReportAuditSaysWhetherTheDigestWasPosted(t *testing.T) {
	sched, err := commands.ParseSchedule("0 8 * * *")
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, engines()[0].open(t), defaultPolicy()) // the clock starts 2026-11-23 03:00 UTC
	n := &flakyDigests{digests: digests{recorder: f.rec}}
	svc := commands.New(commands.Config{
		Registry: f.reg, Clock: f.clock.Now, Access: &commands.Access{Default: f.policy},
		Reports: []commands.Report{{Name: "stale-qlik", Schedule: sched, Location: time.UTC, Destination: "C0OPS",
			Instances: []string{"qlik-prod"}, Rule: mustRule(t, "idle > 8h")}},
		Options:   map[string]commands.InstanceOptions{"qlik-prod": {Timeout: 5 * time.Second}},
		Approvals: &commands.Approvals{Store: f.store, Notifier: n, ReplicaID: "replica-a"},
	})
	ctx := context.Background()
	svc.Sweep(ctx)
	f.clock.Advance(5 * time.Hour)
	if err := svc.Sweep(ctx); err == nil {
		t.Fatal("the failed post was not reported by the sweep")
	}
	f.clock.Advance(time.Hour) // past the lease: the run is tried again
	if err := svc.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if got := n.posted(); len(got) != 1 {
		t.Fatalf("%d digests posted, want 1", len(got))
	}
	events, _ := f.store.Events(ctx, store.EventFilter{})
	var results []string
	for _, e := range events {
		if e.Action == "report" {
			results = append(results, e.Result)
		}
	}
	if len(results) != 2 || results[0] == "posted" || results[1] != "posted" {
		t.Errorf("report runs audited as %q, want a failed run then one posted", results)
	}
}
