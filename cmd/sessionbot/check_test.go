package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

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

func TestCheck(t *testing.T) {
	w := newWorld(t, "")
	out, err := runCLI(t, "check", "--config", w.config)
	if err != nil || !strings.Contains(out, "qlik-prod") || !strings.Contains(out, "is valid") {
		t.Fatalf("check on a healthy site: %v\n%s", err, out)
	}
	w.site.Fail(1, qliktest.Forbidden)
	out, err = runCLI(t, "check", "--config", w.config)
	if err == nil || !strings.Contains(out, "certificate or xrfkey rejected") {
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
	path := filepath.Join(t.TempDir(), "c.yaml")
	os.WriteFile(path, []byte(bad), 0o600)
	_, err := runCLI(t, "check", "--config", path)
	if err == nil {
		t.Fatal("check passed with missing certificate files")
	}
	for _, want := range []string{
		`instances.qlik-prod.cert_file: `, `/nonexistent/client.pem`,
		`instances.qlik-prod.key_file: `, `/nonexistent/client_key.pem`,
		`instances.qlik-prod.ca_file: `, `/nonexistent/root.pem`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

func TestVersion(t *testing.T) {
	out, err := runCLI(t, "version")
	if err != nil || !strings.HasPrefix(out, "sessionbot ") {
		t.Errorf("version: %q %v", out, err)
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
