package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var testTypes = Types{
	"qlik":      {"proxies", "cert_file", "virtual_proxy"},
	"commvault": {"url", "username", "password", "password_file"},
}

func writeFile(t *testing.T, name, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

const goodYAML = `
slack:
  bot_token: xoxb-file
  app_token: xapp-file
timeout: 5s
instances:
  qlik-prod:
    type: qlik
    proxies: [qps1:4243, qps2:4243]
    cert_file: /etc/qlik/client.pem
    email_template: 'CORP\{local}'
  cv:
    type: commvault
    url: https://cs/webconsole/api
    username: bot
    password: s3cret
`

func TestLoadReadsFileAndDefaults(t *testing.T) {
	cfg, err := Load(writeFile(t, "c.yaml", goodYAML), testTypes, true)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Slack.Command != "/sessions" || cfg.Slack.APIURL != "https://slack.com/api/" || cfg.Timeout != 5*time.Second {
		t.Errorf("slack = %+v timeout %s", cfg.Slack, cfg.Timeout)
	}
	q := cfg.Instances["qlik-prod"]
	if q.Type != "qlik" || q.EmailTemplate != `CORP\{local}` || len(q.Settings["proxies"].([]any)) != 2 {
		t.Errorf("qlik-prod = %+v", q)
	}
}

func TestEnvironmentOverridesEveryKey(t *testing.T) {
	// None of these keys is in the file except the instance's existence:
	// viper would ignore them without explicit binding.
	t.Setenv("SESSIONBOT_SLACK_BOT_TOKEN", "xoxb-env")
	t.Setenv("SESSIONBOT_SLACK_API_URL", "http://127.0.0.1:9/api")
	t.Setenv("SESSIONBOT_LOG_LEVEL", "debug")
	t.Setenv("SESSIONBOT_INSTANCES_QLIK_PROD_VIRTUAL_PROXY", "/ProxyX1")
	t.Setenv("SESSIONBOT_INSTANCES_CV_PASSWORD", "from-env")
	cfg, err := Load(writeFile(t, "c.yaml", goodYAML), testTypes, true)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Slack.BotToken != "xoxb-env" || cfg.Slack.APIURL != "http://127.0.0.1:9/api/" || cfg.Log.Level != "debug" {
		t.Errorf("env not applied: %+v %+v", cfg.Slack, cfg.Log)
	}
	if got := cfg.Instances["qlik-prod"].Settings["virtual_proxy"]; got != "/ProxyX1" {
		t.Errorf("virtual_proxy = %v", got)
	}
	if got := cfg.Instances["cv"].Settings["password"]; got != "from-env" {
		t.Errorf("password = %v", got)
	}
}

func TestSecretsFromFiles(t *testing.T) {
	tok := writeFile(t, "bot", "xoxb-from-file\n")
	pw := writeFile(t, "pw", "p@ss\n")
	t.Setenv("SESSIONBOT_SLACK_BOT_TOKEN_FILE", tok)
	yaml := strings.Replace(goodYAML, "  bot_token: xoxb-file\n", "", 1)
	yaml = strings.Replace(yaml, "    password: s3cret\n", "    password_file: "+pw+"\n", 1)
	cfg, err := Load(writeFile(t, "c.yaml", yaml), testTypes, true)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Slack.BotToken != "xoxb-from-file" {
		t.Errorf("bot token = %q", cfg.Slack.BotToken)
	}
	if cfg.Instances["cv"].Settings["password"] != "p@ss" {
		t.Errorf("password = %v", cfg.Instances["cv"].Settings["password"])
	}
}

func TestProblemsAreAllListedWithTheirKeys(t *testing.T) {
	yaml := `
slack:
  command: sessions
  bot_tokn: xoxb-typo
  app_token_file: /nonexistent/app-token
log:
  level: loud
timeout: soon
store:
  driver: mysql
approvals:
  approvers: [marc.smith, S0ONCALL]
instances:
  qlik-prod:
    proxies: [a]
  cv:
    type: commvault
    url: https://cs
    passwd: x
  tfs:
    type: tfs
  Bad.Name:
    type: qlik
`
	_, err := Load(writeFile(t, "c.yaml", yaml), testTypes, true)
	var p Problems
	if !errors.As(err, &p) {
		t.Fatalf("err = %v, want Problems", err)
	}
	text := err.Error()
	for _, want := range []string{
		"slack.command:",
		"slack.bot_tokn: unknown key",
		"slack.app_token_file: cannot read secret file /nonexistent/app-token",
		"log.level:",
		"timeout:",
		"instances.qlik-prod.type: missing",
		`approvals.approvers: "marc.smith" is not a Slack user id`,
		`store.driver: "mysql"`,
		"instances.cv.passwd: unknown key for type commvault",
		`instances.tfs.type: unknown type "tfs"`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("problems lack %q:\n%s", want, text)
		}
	}
}

func TestServeNeedsBothSlackTokens(t *testing.T) {
	cfg, err := Load("", testTypes, false)
	if err != nil {
		t.Fatal(err)
	}
	p := cfg.CheckSlack()
	if len(p) != 2 || !strings.Contains(p[0], "slack.bot_token: missing") || !strings.Contains(p[1], "slack.app_token: missing") {
		t.Errorf("problems = %v", p)
	}
	cfg.Slack.BotToken, cfg.Slack.AppToken = "xapp-swapped", "xoxb-swapped"
	if p := cfg.CheckSlack(); len(p) != 2 {
		t.Errorf("swapped tokens not caught: %v", p)
	}
}

func TestMissingConfigFileSaysWhereToPutIt(t *testing.T) {
	t.Chdir(t.TempDir())
	_, err := Load("", testTypes, true)
	if err == nil || !strings.Contains(err.Error(), "--config") {
		t.Errorf("err = %v", err)
	}
	_, err = Load("/nonexistent/sessionbot.yaml", testTypes, true)
	if err == nil || !strings.Contains(err.Error(), "/nonexistent/sessionbot.yaml") {
		t.Errorf("err = %v", err)
	}
}

func TestSecretsNeverAppearInProblems(t *testing.T) {
	yaml := `
slack:
  bot_token: xoxb-very-secret-value
  bot_token_file: /nonexistent
instances:
  cv:
    type: commvault
    password: hunter2-secret
    password_file: /nonexistent
`
	_, err := Load(writeFile(t, "c.yaml", yaml), testTypes, true)
	if err == nil {
		t.Fatal("want problems")
	}
	for _, secret := range []string{"very-secret", "hunter2"} {
		if strings.Contains(err.Error(), secret) {
			t.Errorf("problem text leaks %q: %s", secret, err)
		}
	}
}
