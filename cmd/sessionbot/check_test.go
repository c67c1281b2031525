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
		"5 sessions on 3 instances", "[commvault] (commvault) as CORP\\marc", "[teams] (teams) as marc@contoso.com", "[commvault] (commvault) as jsmith: 2 sessions"} {
		if !strings.Contains(text, want) {
			t.Errorf("demo output lacks %q:\n%s", want, text)
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
