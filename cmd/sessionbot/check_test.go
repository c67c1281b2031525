package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessionbot/sessionbot/commands/nl/nltest"
	"github.com/sessionbot/sessionbot/internal/testkit"
	"github.com/sessionbot/sessionbot/store/postgres/pgtest"
	"github.com/sessionbot/sessionbot/vendors/qlik/qliktest"
)

func runCLI(t *testing.T, args ...string) (stdout string, err error) {
	t.Helper()
	var out bytes.Buffer
	root := newRootCommand(strings.NewReader(""), &out, &bytes.Buffer{})
	root.SetArgs(args)
	err = root.ExecuteContext(context.Background())
	return out.String(), err
}

// checkJSON runs check with --output json and returns its report and exit
// status.
func checkJSON(t *testing.T, args ...string) (report, int) {
	t.Helper()
	out, err := runCLI(t, append([]string{"check", "--output", "json"}, args...)...)
	var rep report
	if jerr := json.Unmarshal([]byte(out), &rep); jerr != nil && exitCode(err, io.Discard) != 2 {
		t.Fatalf("check's JSON: %v\n%s", jerr, out)
	}
	return rep, exitCode(err, io.Discard)
}

// keysWithProblems lists every key a report names: problems and failed
// probes alike.
func keysWithProblems(rep report) map[string]string {
	keys := map[string]string{}
	for _, p := range rep.Problems {
		keys[p.Key] = p.Problem
	}
	for _, p := range rep.Probes {
		if !p.OK && !p.NotAsked {
			keys[p.Key] = p.Problem
		}
	}
	return keys
}

func appendConfig(t *testing.T, path, yaml string) {
	t.Helper()
	cfg, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, append(cfg, []byte(yaml)...), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestCheck(t *testing.T) {
	w := newWorld(t, "")
	out, err := runCLI(t, "check", "--config", w.config)
	if err != nil || !strings.Contains(out, "qlik-prod") || !strings.Contains(out, "OK: serve will start") {
		t.Fatalf("check on a healthy site: %v\n%s", err, out)
	}
	w.site.Fail(1, qliktest.Forbidden)
	out, err = runCLI(t, "check", "--config", w.config)
	if exitCode(err, io.Discard) != 1 || !strings.Contains(out, "certificate or xrfkey rejected") {
		t.Errorf("check with a proxy refusing us: %v\n%s", err, out)
	}
}

func TestCheckNamesTheKeyOfEveryBadFile(t *testing.T) {
	bad := `
slack: {bot_token: xoxb-x, app_token: xapp-x}
instances:
  qlik-prod:
    type: qlik
    proxies: [qps1]
    cert_file: /nonexistent/client.pem
    key_file: /nonexistent/client_key.pem
    ca_file: /nonexistent/root.pem
`
	path := testkit.WriteFile(t, "c.yaml", []byte(bad))
	rep, code := checkJSON(t, "--config", path, "--offline")
	if code != 1 {
		t.Fatalf("check passed with missing certificate files: exit %d", code)
	}
	got := map[string]string{}
	for _, p := range rep.Problems {
		got[p.Key] = p.Value
	}
	for key, value := range map[string]string{
		"instances.qlik-prod.cert_file": "/nonexistent/client.pem",
		"instances.qlik-prod.key_file":  "/nonexistent/client_key.pem",
		"instances.qlik-prod.ca_file":   "/nonexistent/root.pem",
	} {
		if got[key] != value {
			t.Errorf("%s: value %q, want %q (problems %v)", key, got[key], value, rep.Problems)
		}
	}
}

// One configuration with one of every problem serve refuses or trips on:
// a single run of check reports each under its key.
func TestCheckReportsEveryProblemAtOnce(t *testing.T) {
	w := newWorld(t, "")
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	dead, _ := net.Listen("tcp", "127.0.0.1:0")
	deadAddr := dead.Addr().String()
	dead.Close() // nothing answers there
	cfg := strings.NewReplacer(
		"bot_token: "+botToken, "bot_token: xoxb-wrong-token",
		"app_token: "+appToken, "app_token: xapp-wrong-token",
		"channel: C0APPROVALS", "channel: \"\"",
		"approvers: [S0LEADS]", "approvers: [S0LEADS, marc.smith]",
		"level: warn", "level: warn\n  bogus: 1",
		"driver: sqlite\n  path: ", "driver: sqlite\n  path: /nonexistent/folder/",
	).Replace(readFile(t, w.config))
	cfg += `
timeout: ten
access:
  audit_channel: general
metrics:
  listen: ` + busy.Addr().String() + `
language:
  enabled: true
  base_url: http://` + deadAddr + `/v1
  model: gpt-test
  timeout: 2s
`
	cfg = strings.Replace(cfg, "    email_template: 'Domain\\{local}'\n", `    email_template: 'Domain\{local}'
    timeout: 60s
    approval_channel: "#approvals"
    approvers: [U0LEAD, U0LEAD2]
    approvals_needed: 5
  cv:
    type: commvault
    url: ftp://commserve
    username: bot
    password: x
`, 1)
	os.WriteFile(w.config, []byte(cfg), 0o600)

	rep, code := checkJSON(t, "--config", w.config)
	if code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	got := keysWithProblems(rep)
	for _, key := range []string{
		"log.bogus",                            // an unknown key
		"timeout",                              // a duration that is not one
		"instances.cv.url",                     // an instance's own setting
		"instances.cv.approval_channel",        // requesters without an approval channel
		"approvals.approvers",                  // a name in an access list
		"instances.qlik-prod.approval_channel", // a channel name, not an id
		"access.audit_channel",                 // a bare name
		"instances.qlik-prod.approvals_needed", // more approvals than approvers
		"instances.qlik-prod.timeout",          // at the reply deadline
		"metrics.listen",                       // an address in use
		"slack.bot_token",                      // a wrong bot token
		"slack.app_token",                      // a wrong app token
		"store.path",                           // a store that cannot be opened
		"language",                             // an unreachable model
	} {
		if _, ok := got[key]; !ok {
			t.Errorf("no problem reported under %s", key)
		}
	}
	if t.Failed() {
		out, _ := runCLI(t, "check", "--config", w.config)
		t.Logf("the report:\n%s", out)
	}
	for _, p := range rep.Problems {
		for _, leak := range []string{"decoding failed", "error(s)", "time: unknown", "mapstructure"} {
			if strings.Contains(p.Problem, leak) {
				t.Errorf("%s: library wording %q: %s", p.Key, leak, p.Problem)
			}
		}
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestCheckWithARevokedBotTokenNamesIt(t *testing.T) {
	w := newWorld(t, "")
	w.slack.Revoke(botToken)
	out, err := runCLI(t, "check", "--config", w.config)
	if code := exitCode(err, io.Discard); code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	if !strings.Contains(out, "slack.bot_token") || !strings.Contains(out, "revoked") {
		t.Errorf("the report does not name slack.bot_token as revoked:\n%s", out)
	}
}

// Every configuration check passes starts serve against the fake Slack;
// the ones it fails are shown failing for the reason given.
func TestEveryConfigurationCheckPassesStartsServe(t *testing.T) {
	model := nltest.New("sk-test-key")
	defer model.Close()
	free := func() string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		return ln.Addr().String()
	}
	tests := []struct {
		name   string
		edit   func(w *world) string // the YAML to append
		passes bool
	}{
		{name: "as built", passes: true},
		{name: "with metrics", edit: func(*world) string { return "metrics:\n  listen: " + free() + "\n" }, passes: true},
		{name: "with the language model", passes: true, edit: func(*world) string {
			return "language:\n  enabled: true\n  base_url: " + model.BaseURL() + "\n  api_key: sk-test-key\n  model: gpt-test\n"
		}},
		{name: "with instances given more than the reply deadline allows", edit: func(*world) string { return "timeout: 70s\n" }, passes: false},
		{name: "with a bot outside the approval channel", passes: false, edit: func(w *world) string {
			return "access:\n  audit_channel: C0LEADS\n"
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, "")
			if tt.edit != nil {
				appendConfig(t, w.config, tt.edit(w))
			}
			out, err := runCLI(t, "check", "--config", w.config)
			if passed := err == nil; passed != tt.passes {
				t.Fatalf("check passed %v, want %v:\n%s", passed, tt.passes, out)
			}
			if err != nil {
				return
			}
			w.serve(t)
			if err := w.slack.WaitConnections(1, 10*time.Second); err != nil {
				t.Fatalf("check passed but serve did not connect: %v", err)
			}
		})
	}
}

// --offline is what a deployment runs against rendered configuration: it
// touches neither the network nor the database.
func TestCheckOfflineTouchesNothing(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var dials atomic.Int32
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			dials.Add(1)
			c.Close()
		}
	}()
	addr := ln.Addr().String()
	site := testkit.Start(t, qliktest.New, qliktest.Options{Proxies: 1})
	files, err := site.ClientFiles(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	path := testkit.WriteFile(t, "c.yaml", []byte(`
slack: {bot_token: xoxb-x, app_token: xapp-x, api_url: "http://`+addr+`/api/"}
store: {driver: postgres, dsn: "postgres://u@`+addr+`/db?sslmode=disable"}
language: {enabled: true, base_url: "http://`+addr+`/v1", model: m}
metrics: {listen: "`+addr+`"}
instances:
  qlik-prod: {type: qlik, proxies: ["`+addr+`"], cert_file: `+files.Cert+`, key_file: `+files.Key+`, ca_file: `+files.CA+`}
`))
	rep, code := checkJSON(t, "--config", path, "--offline")
	if code != 0 || len(rep.Probes) != 0 {
		t.Errorf("exit %d, probes %v, problems %v", code, rep.Probes, rep.Problems)
	}
	time.Sleep(50 * time.Millisecond) // a dial in flight would land by now
	if n := dials.Load(); n != 0 {
		t.Errorf("check --offline connected %d times", n)
	}
}

func TestCheckExitStatus(t *testing.T) {
	t.Chdir(t.TempDir())
	if _, err := runCLI(t, "check"); exitCode(err, io.Discard) != 2 {
		t.Errorf("no configuration at all: %v, want exit 2", err)
	}
	if _, err := runCLI(t, "check", "--skip", "dns"); exitCode(err, io.Discard) != 2 {
		t.Errorf("an unknown probe group: %v, want exit 2", err)
	}
	os.WriteFile("sessionbot.yaml", []byte("slack:\n  bot_token: [\n"), 0o600)
	out, err := runCLI(t, "check")
	if exitCode(err, io.Discard) != 1 || !strings.Contains(out, "is not valid YAML") || !strings.Contains(out, "Problems (1)") {
		t.Errorf("broken YAML: %v\n%s", err, out)
	}
}

// Flags come before the environment.
func TestLogLevelFlagOverridesTheEnvironment(t *testing.T) {
	t.Chdir(t.TempDir())
	t.Setenv("SESSIONBOT_LOG_LEVEL", "error")
	g := &globals{logLevel: "debug"}
	cfg, problems, err := g.load()
	if err != nil || len(problems) != 0 || cfg.Log.Level != "debug" {
		t.Fatalf("%v %v %+v", err, problems, cfg)
	}
}

// The report stays aligned when a cell has several lines.
func TestReportTableKeepsMultiLineCellsInTheirColumn(t *testing.T) {
	var b bytes.Buffer
	writeTable(&b, [][]string{{"KEY", "VALUE", "PROBLEM"}, {"a.long.key", `"v"`, "first line\nfix: second line"}, {"k", "", "one"}})
	lines := strings.Split(strings.TrimRight(b.String(), "\n"), "\n")
	col := strings.Index(lines[0], "PROBLEM")
	for _, l := range lines[1:] {
		if len(l) <= col || l[col-1] != ' ' || l[col] == ' ' {
			t.Errorf("line %q does not start its last cell at column %d", l, col)
		}
	}
}

func TestVersion(t *testing.T) {
	out, err := runCLI(t, "version")
	if err != nil || !strings.HasPrefix(out, "sessionbot ") || !strings.Contains(out, "commit ") {
		t.Errorf("version: %q %v", out, err)
	}
	version, commit, date = "1.2.3", "abc1234", "2026-11-30T12:00:00Z"
	t.Cleanup(func() { version, commit, date = "", "", "" })
	for _, args := range [][]string{{"version"}, {"--version"}} {
		out, err := runCLI(t, args...)
		if want := "sessionbot 1.2.3 (commit abc1234, built 2026-11-30T12:00:00Z)\n"; err != nil || out != want {
			t.Errorf("%v: %q %v, want %q", args, out, err, want)
		}
	}
}

func TestDemoListsMarcWithHisNodes(t *testing.T) {
	var out bytes.Buffer
	root := newRootCommand(strings.NewReader("list Domain\\Marc\n/sessions list marc@contoso.com\nlist jsmith on commvault\n"), &out, &bytes.Buffer{})
	root.SetArgs([]string{"console", "--demo"})
	if err := root.ExecuteContext(context.Background()); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	for _, want := range []string{qliktest.MarcSessionOnProxy0, qliktest.MarcSessionOnProxy1, "node 127.0.0.1:", "Sessions of marc@contoso.com",
		"5 sessions on 3 instances", "[commvault] (commvault) as Domain\\marc", "[teams] (teams) as marc@contoso.com", "[commvault] (commvault) as jsmith: 2 sessions"} {
		if !strings.Contains(text, want) {
			t.Errorf("demo output lacks %q:\n%s", want, text)
		}
	}
	// The README's first line shows Marc on all three systems, and he is
	// one person: one name, one address.
	first, _, _ := strings.Cut(strings.SplitN(text, "== Sessions of Domain\\Marc ==", 2)[1], "==")
	for _, want := range []string{"[commvault] (commvault) as Domain\\Marc: 2 sessions", "[qlik-demo] (qlik) as Domain\\Marc: 2 sessions", "[teams] (teams) as marc@contoso.com: 1 session"} {
		if !strings.Contains(first, want) {
			t.Errorf("list Domain\\Marc lacks %q:\n%s", want, first)
		}
	}
	for _, never := range []string{"Marc Dubois", "domain.example", "ERROR", "skipped"} {
		if strings.Contains(text, never) {
			t.Errorf("demo output says %q:\n%s", never, text)
		}
	}
}

// The store probe connects to PostgreSQL, reads the schema version and
// writes in a transaction it rolls back; a wrong DSN is reported under
// store.dsn.
func TestCheckProbesPostgreSQL(t *testing.T) {
	dsn := pgtest.DSN(t)
	w := newWorld(t, "driver: postgres\n  dsn: "+dsn)
	rep, code := checkJSON(t, "--config", w.config, "--skip", "slack,vendors")
	if code != 0 || len(rep.Probes) != 1 || !rep.Probes[0].OK {
		t.Fatalf("exit %d, probes %+v, problems %v", code, rep.Probes, rep.Problems)
	}
	cfg := strings.Replace(readFile(t, w.config), dsn, strings.Replace(dsn, "5432/", "5432/no_such_database_", 1), 1)
	os.WriteFile(w.config, []byte(cfg), 0o600)
	rep, code = checkJSON(t, "--config", w.config, "--skip", "slack,vendors")
	if code != 1 || keysWithProblems(rep)["store.dsn"] == "" {
		t.Errorf("a wrong DSN: exit %d, probes %+v", code, rep.Probes)
	}
}

// Warnings are part of the report, not log lines around it.
func TestCheckPutsWarningsInTheReport(t *testing.T) {
	w := newWorld(t, "")
	appendConfig(t, w.config, "    no_approval: true\n")
	var out, errOut bytes.Buffer
	root := newRootCommand(strings.NewReader(""), &out, &errOut)
	root.SetArgs([]string{"check", "--config", w.config})
	if err := root.ExecuteContext(context.Background()); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "Warnings (1)") || !strings.Contains(out.String(), "instances.qlik-prod.no_approval") {
		t.Errorf("the report lacks the warning:\n%s", out.String())
	}
	if errOut.Len() > 0 {
		t.Errorf("check logged around its report:\n%s", errOut.String())
	}
}

// Language settings left behind an enabled: false are warned about, under
// that key, and only then: most likely enabled was forgotten.
func TestLanguageSettingsThatAreOffAreWarnedAbout(t *testing.T) {
	base := "slack: {bot_token: xoxb-x, app_token: xapp-x}\ninstances:\n  q: {type: qlik, proxies: [qps1]}\n"
	tests := []struct {
		name, language string
		warned         bool
	}{
		{"a model set, enabled left out", "language: {model: gpt-4o-mini, api_key: sk-never-shown}\n", true},
		{"enabled", "language: {enabled: true, model: gpt-4o-mini, api_key: sk-never-shown}\n", false},
		{"no language block", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := testkit.WriteFile(t, "c.yaml", []byte(base+tt.language))
			rep, _ := checkJSON(t, "--config", path, "--offline")
			warned := false
			for _, w := range rep.Warnings {
				if w.Key == "language.enabled" {
					warned = true
					if strings.Contains(w.Problem+w.Value, "sk-never-shown") {
						t.Errorf("the warning shows the key: %+v", w)
					}
				}
			}
			if warned != tt.warned {
				t.Errorf("warned %v, want %v: %+v", warned, tt.warned, rep.Warnings)
			}
		})
	}
}

// A value that does not decode does not hide the instance's other
// problems, and an unknown key is reported once.
func TestOneInstanceWithSeveralProblemsListsEachOnce(t *testing.T) {
	path := testkit.WriteFile(t, "c.yaml", []byte(`
slack: {bot_token: xoxb-x, app_token: xapp-x}
instances:
  cv:
    type: commvault
    url: https://cs/webconsole/api
    username: bot
    passwd: x
    token_timeout: 30
`))
	rep, code := checkJSON(t, "--config", path, "--offline")
	if code != 1 {
		t.Fatalf("exit %d", code)
	}
	count := map[string]int{}
	for _, p := range rep.Problems {
		count[p.Key]++
	}
	for _, key := range []string{"instances.cv.passwd", "instances.cv.password", "instances.cv.token_timeout"} {
		if count[key] != 1 {
			t.Errorf("%s reported %d times, want once: %v", key, count[key], rep.Problems)
		}
	}
}

// TestConsoleActsOnlyAsAPerson: a user group's or channel's id is not a
// person; acting as one would match the approver list that names it.
func TestConsoleActsOnlyAsAPerson(t *testing.T) {
	for _, as := range []string{"S0LEADS", "C0LEADS", "G0LEADS", "lead"} {
		t.Run(as, func(t *testing.T) {
			var out bytes.Buffer
			root := newRootCommand(strings.NewReader("pending\n"), &out, &bytes.Buffer{})
			root.SetArgs([]string{"console", "--demo", "--as", as})
			err := root.ExecuteContext(context.Background())
			if err == nil || !strings.Contains(err.Error(), "Slack user id") {
				t.Errorf("--as %s: %v, want a refusal", as, err)
			}
		})
	}
}
