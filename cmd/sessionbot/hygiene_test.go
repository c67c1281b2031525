package main

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sessionbot/sessionbot/cmd/sessionbot/config"
	"github.com/sessionbot/sessionbot/internal/testkit"
	"github.com/sessionbot/sessionbot/store"
	"github.com/sessionbot/sessionbot/store/sqlite"
	"github.com/sessionbot/sessionbot/vendors"
	"github.com/sessionbot/sessionbot/vendors/commvault/commvaulttest"
)

// offlineConfig writes a configuration with no instances plus extra YAML.
func offlineConfig(t *testing.T, extra string) string {
	t.Helper()
	yaml := "slack: {bot_token: xoxb-x, app_token: xapp-x}\nstore: {driver: sqlite, path: '" + filepath.Join(t.TempDir(), "s.db") + "'}\n" + extra
	return testkit.WriteFile(t, "c.yaml", []byte(yaml))
}

func TestRetentionDefaultsAndDays(t *testing.T) {
	const day = 24 * time.Hour
	for _, tc := range []struct {
		name, yaml string
		want       store.Retention
	}{
		{"defaults", "", store.Retention{Requests: 90 * day, Events: 365 * day, Counts: 30 * day}},
		{"days and zero", "retention: {requests: 30d, audit: 0, counts: 14d}", store.Retention{Requests: 30 * day, Counts: 14 * day}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := config.Load(offlineConfig(t, tc.yaml), instanceTypes(), true)
			if err != nil {
				t.Fatal(err)
			}
			if got := retentionFromConfig(cfg.Retention); got != tc.want {
				t.Errorf("retention %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestCheckNamesTheKeyOfABadRetention(t *testing.T) {
	for _, tc := range []struct {
		yaml, key string
	}{
		{"retention: {requests: 90s}", "retention.requests"},
		{"retention: {audit: -1h}", "retention.audit"},
		{"retention: {counts: 3d}", "retention.counts"},
		{"retention: {counts: ninety}", "retention.counts"},
		{"retention: {forever: true}", "retention.forever"},
	} {
		t.Run(tc.yaml, func(t *testing.T) {
			w := newWorld(t, "")
			appendConfig(t, w.config, tc.yaml+"\n")
			rep, code := checkJSON(t, "--config", w.config, "--offline")
			if _, ok := keysWithProblems(rep)[tc.key]; code != 1 || !ok {
				t.Errorf("exit %d, problems %v, want one under %s", code, rep.Problems, tc.key)
			}
		})
	}
	w := newWorld(t, "")
	appendConfig(t, w.config, "retention: {requests: 30d, audit: 0, counts: 7d}\n")
	rep, code := checkJSON(t, "--config", w.config, "--offline")
	if code != 0 {
		t.Errorf("a good retention: exit %d, problems %v", code, rep.Problems)
	}
}

func TestCheckNamesTheKeyOfEveryBadReportSetting(t *testing.T) {
	const good = "reports:\n  stale:\n    schedule: 0 8 * * 1-5\n    time_zone: Europe/Paris\n    channel: C0OPS\n    instances: [qlik-prod]\n    rule: idle > 8h and older than 1d\n    top: 5\n"
	for _, tc := range []struct {
		name, from, to, key string
	}{
		{"a schedule that is not cron", "0 8 * * 1-5", "at eight", "reports.stale.schedule"},
		{"a time zone inside the schedule", "0 8 * * 1-5", "CRON_TZ=UTC 0 8 * * *", "reports.stale.schedule"},
		{"an unknown time zone", "Europe/Paris", "Mars/Olympus", "reports.stale.time_zone"},
		{"a channel name, not an id", "C0OPS", "#ops", "reports.stale.channel"},
		{"an unknown instance", "[qlik-prod]", "[qlik-test]", "reports.stale.instances"},
		{"a rule nobody can read", "idle > 8h and older than 1d", "idle for ages", "reports.stale.rule"},
		{"too many sessions named", "top: 5", "top: 80", "reports.stale.top"},
		{"an unknown key", "top: 5", "top: 5\n    colour: red", "reports.stale.colour"},
		{"a bad report name", "  stale:", "  Stale Report:", "reports.stale report"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, "")
			appendConfig(t, w.config, strings.Replace(good, tc.from, tc.to, 1))
			rep, code := checkJSON(t, "--config", w.config, "--offline")
			if _, ok := keysWithProblems(rep)[tc.key]; code != 1 || !ok {
				t.Errorf("exit %d, problems %v, want one under %s", code, rep.Problems, tc.key)
			}
		})
	}
	t.Run("a good report", func(t *testing.T) {
		w := newWorld(t, "")
		appendConfig(t, w.config, good)
		rep, code := checkJSON(t, "--config", w.config, "--offline")
		if code != 0 {
			t.Errorf("exit %d, problems %v", code, rep.Problems)
		}
	})
	t.Run("missing schedule, time zone, channel and rule", func(t *testing.T) {
		w := newWorld(t, "")
		appendConfig(t, w.config, "reports:\n  stale:\n    top: 3\n")
		rep, _ := checkJSON(t, "--config", w.config, "--offline")
		got := keysWithProblems(rep)
		for _, key := range []string{"reports.stale.schedule", "reports.stale.time_zone", "reports.stale.channel", "reports.stale.rule"} {
			if _, ok := got[key]; !ok {
				t.Errorf("no problem under %s: %v", key, rep.Problems)
			}
		}
	})
}

func TestABadReportValueIsNamedByItsKey(t *testing.T) {
	_, err := config.Load(offlineConfig(t, "reports:\n  stale:\n    top: many\n"), instanceTypes(), true)
	problems, _ := err.(config.Problems)
	if len(problems) != 1 || problems[0].Key != "reports.stale.top" {
		t.Errorf("problems %v, want one under reports.stale.top", err)
	}
}

func TestReportCommandRendersTheRecordedCountsChart(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "s.db")
	w := newWorld(t, "driver: sqlite\n  path: "+dbPath)
	appendConfig(t, w.config, "reports:\n  stale:\n    schedule: 0 8 * * *\n    time_zone: UTC\n    channel: C0OPS\n    rule: idle > 8h\n")
	st, err := sqlite.Open(context.Background(), dbPath)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	var counts []store.NodeCount
	for day := range 3 {
		for _, node := range []string{"qps1", "qps2"} {
			counts = append(counts, store.NodeCount{Report: "stale", At: now.Add(-time.Duration(day) * 24 * time.Hour), Instance: "qlik-prod", Node: node, Sessions: day + 1})
		}
	}
	if err := st.RecordCounts(context.Background(), counts); err != nil {
		t.Fatal(err)
	}
	st.Close()
	out := filepath.Join(t.TempDir(), "chart.png")
	if _, err := runCLI(t, "report", "--config", w.config, "--name", "stale", "--out", out, "--width", "640", "--height", "320"); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("not a PNG: %v", err)
	}
	if got := img.Bounds().Size(); got != image.Pt(640, 320) {
		t.Errorf("size %v", got)
	}
	if _, err := runCLI(t, "report", "--config", w.config, "--name", "nosuch", "--out", out); err == nil || !strings.Contains(err.Error(), "no report") {
		t.Errorf("an unknown report: %v", err)
	}
	for _, size := range [][]string{{"--width", "5000"}, {"--height", "4001"}, {"--width", "100"}} {
		_, err := runCLI(t, append([]string{"report", "--config", w.config, "--name", "stale", "--out", out}, size...)...)
		if err == nil || !strings.Contains(err.Error(), "--width, --height: a chart of") || !strings.Contains(err.Error(), "from 320 to 4000") {
			t.Errorf("report %s: %v, want the sizes it draws", strings.Join(size, " "), err)
		}
	}
	help, err := runCLI(t, "report", "--help")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"width in pixels, from 320 to 4000", "height in pixels, from 200 to 4000"} {
		if !strings.Contains(help, want) {
			t.Errorf("report --help lacks %q:\n%s", want, help)
		}
	}
}

func TestDemoRunsAReportAndWritesItsChart(t *testing.T) {
	var out bytes.Buffer
	chartFile := filepath.Join(t.TempDir(), "chart.png")
	root := newRootCommand(strings.NewReader("report stale-demo chart "+chartFile+"\n"), &out, &bytes.Buffer{})
	root.SetArgs([]string{"console", "--demo"})
	if err := root.ExecuteContext(context.Background()); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	for _, want := range []string{"Stale sessions: stale-demo", commvaulttest.MarcConsoleSession, "kill " + commvaulttest.MarcConsoleSession + " on commvault", "chart of"} {
		if !strings.Contains(text, want) {
			t.Errorf("demo output lacks %q:\n%s", want, text)
		}
	}
	f, err := os.Open(chartFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := png.Decode(f); err != nil {
		t.Errorf("the chart is not a PNG: %v", err)
	}
}

// userOnly is an instance that lists one person's sessions, never all.
type userOnly struct{ name string }

func (u userOnly) Name() string                { return u.name }
func (u userOnly) Type() vendors.Type          { return vendors.Teams }
func (u userOnly) Probe(context.Context) error { return nil }

func TestAReportOnAnInstanceThatCannotListAllIsAProblem(t *testing.T) {
	reg, err := vendors.NewRegistry(userOnly{"teams"})
	if err != nil {
		t.Fatal(err)
	}
	cfg := &config.Config{
		Instances: map[string]config.Instance{"teams": {Name: "teams", Type: "teams"}},
		Reports:   map[string]config.Report{"stale": {Schedule: "0 8 * * *", TimeZone: "UTC", Channel: "C0OPS", Rule: "idle > 8h", Instances: []string{"teams"}}},
	}
	reports, problems := reportsFromConfig(cfg, reg)
	if len(problems) != 1 || problems[0].Key != "reports.stale.instances" || !strings.Contains(problems[0].Problem, "cannot list all") {
		t.Errorf("problems %v, want one under reports.stale.instances", problems)
	}
	if len(reports) != 1 || reports[0].Location != time.UTC || reports[0].Rule.IdleOver != 8*time.Hour {
		t.Errorf("reports %+v", reports)
	}
}

// Pruning by the default retention leaves the audit export of the kept
// year exactly as it was.
func TestAuditExportIsUnaffectedByPruningOlderEvents(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "s.db")
	w := newWorld(t, "driver: sqlite\n  path: "+dbPath)
	st, err := sqlite.Open(context.Background(), dbPath)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	for _, age := range []time.Duration{400, 366, 300, 1} {
		e := store.Event{At: now.Add(-age * 24 * time.Hour), Actor: "U0ONCALL", Action: "list", Target: `Domain\Marc`}
		if _, err := st.AppendEvent(context.Background(), e); err != nil {
			t.Fatal(err)
		}
	}
	export := func() string {
		out, err := runCLI(t, "audit", "export", "--config", w.config, "--since", "365d")
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	before := export()
	cfg, err := config.Load(w.config, instanceTypes(), true)
	if err != nil {
		t.Fatal(err)
	}
	pruned, err := st.Prune(context.Background(), now, retentionFromConfig(cfg.Retention))
	st.Close()
	if err != nil || pruned.Events != 2 {
		t.Fatalf("pruned %+v, %v; want the 2 events older than 365 days", pruned, err)
	}
	if after := export(); after != before || strings.Count(after, "\n") != 2 {
		t.Errorf("export before pruning:\n%s\nafter:\n%s", before, after)
	}
}
