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
	p := problemsOf(t, yaml)
	assertProblems(t, p,
		"slack.command sessions",
		"slack.bot_tokn ",
		"slack.app_token_file /nonexistent/app-token",
		"log.level loud",
		"timeout soon",
		"instances.qlik-prod.type ",
		"approvals.approvers marc.smith",
		"store.driver mysql",
		"instances.cv.passwd ",
		"instances.tfs.type tfs",
	)
	for _, x := range p {
		for _, leak := range []string{"decoding failed", "error(s)", "time: ", "mapstructure", "'"} {
			if strings.Contains(x.Problem, leak) {
				t.Errorf("%s: library wording %q in %q", x.Key, leak, x.Problem)
			}
		}
	}
}

// problemsOf loads yaml from a file and returns the problems it has.
func problemsOf(t *testing.T, yaml string) Problems {
	t.Helper()
	_, err := Load(writeFile(t, "c.yaml", yaml), testTypes, true)
	var p Problems
	if !errors.As(err, &p) {
		t.Fatalf("err = %v, want Problems", err)
	}
	return p
}

// assertProblems checks that each "key value" has a problem.
func assertProblems(t *testing.T, ps Problems, want ...string) {
	t.Helper()
	got := map[string]bool{}
	for _, p := range ps {
		got[p.Key+" "+p.Value] = true
	}
	for _, w := range want {
		if !got[w] {
			t.Errorf("no problem for %q in:\n%v", w, ps)
		}
	}
}

// Values that do not fit their type are named by key with the value as
// written, every bad entry of a list on its own, and channel names are
// refused where an id is needed.
func TestEveryBadValueIsItsOwnProblem(t *testing.T) {
	yaml := `
slack: {reply_timeout: 60, max_in_flight: 0}
timeout: ten
approvals:
  channel: "#approvals"
  approvers: [marc.smith, U0OK, jane, S0LEADS]
  approvals_needed: two
  ttl: 15
access:
  audit_channel: general
metrics:
  listen: "localhost"
language:
  enabled: true
  model: ""
  max_tokens: 10
instances:
  cv:
    type: commvault
    timeout: 5 minutes
    approval_channel: approvals
    allow_self_approval: maybe
`
	p := problemsOf(t, yaml)
	assertProblems(t, p,
		"slack.reply_timeout 60",
		"slack.max_in_flight 0",
		"timeout ten",
		"approvals.channel #approvals",
		"approvals.approvers marc.smith",
		"approvals.approvers jane",
		"approvals.approvals_needed two",
		"approvals.ttl 15",
		"access.audit_channel general",
		"metrics.listen localhost",
		"language.model ",
		"language.max_tokens 10",
		"instances.cv.timeout 5 minutes",
		"instances.cv.approval_channel approvals",
		"instances.cv.allow_self_approval maybe",
	)
}

func TestServeNeedsBothSlackTokens(t *testing.T) {
	cfg, err := Load("", testTypes, false)
	if err != nil {
		t.Fatal(err)
	}
	p := cfg.CheckSlack()
	if len(p) != 2 || p[0].Key != "slack.bot_token" || p[1].Key != "slack.app_token" {
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

// A container can be configured without a file: the whole YAML in
// SESSIONBOT_CONFIG, or every key (instances included) in the environment.
func TestConfigurationFromTheEnvironmentAlone(t *testing.T) {
	t.Run("the YAML in SESSIONBOT_CONFIG", func(t *testing.T) {
		t.Chdir(t.TempDir())
		t.Setenv("SESSIONBOT_CONFIG", goodYAML)
		cfg, err := Load("", testTypes, true)
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Slack.BotToken != "xoxb-file" || cfg.Instances["cv"].Settings["username"] != "bot" || cfg.File != "$SESSIONBOT_CONFIG" {
			t.Errorf("inline YAML not read: %+v %+v", cfg.Slack, cfg.Instances)
		}
	})
	t.Run("a path in SESSIONBOT_CONFIG", func(t *testing.T) {
		t.Setenv("SESSIONBOT_CONFIG", writeFile(t, "c.yaml", goodYAML))
		cfg, err := Load("", testTypes, true)
		if err != nil || cfg.Timeout != 5*time.Second {
			t.Fatalf("%v %+v", err, cfg)
		}
	})
	t.Run("broken YAML in SESSIONBOT_CONFIG is a problem under its name", func(t *testing.T) {
		t.Setenv("SESSIONBOT_CONFIG", "slack:\n  bot_token: [\n")
		_, err := Load("", testTypes, true)
		var p Problems
		if !errors.As(err, &p) || p[0].Key != "SESSIONBOT_CONFIG" {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("no file, every key in the environment", func(t *testing.T) {
		t.Chdir(t.TempDir())
		t.Setenv("SESSIONBOT_SLACK_BOT_TOKEN", "xoxb-env")
		t.Setenv("SESSIONBOT_SLACK_APP_TOKEN", "xapp-env")
		t.Setenv("SESSIONBOT_INSTANCES", "qlik-prod, cv")
		t.Setenv("SESSIONBOT_INSTANCES_QLIK_PROD_TYPE", "qlik")
		t.Setenv("SESSIONBOT_INSTANCES_QLIK_PROD_PROXIES", "qps1:4243,qps2:4243")
		t.Setenv("SESSIONBOT_INSTANCES_QLIK_PROD_TIMEOUT", "7s")
		t.Setenv("SESSIONBOT_INSTANCES_CV_TYPE", "commvault")
		t.Setenv("SESSIONBOT_INSTANCES_CV_URL", "https://cs/webconsole/api")
		cfg, err := Load("", testTypes, true)
		if err != nil {
			t.Fatal(err)
		}
		q := cfg.Instances["qlik-prod"]
		if q.Type != "qlik" || q.Timeout != 7*time.Second || q.Settings["proxies"] != "qps1:4243,qps2:4243" || cfg.Instances["cv"].Settings["url"] != "https://cs/webconsole/api" {
			t.Errorf("instances from the environment: %+v", cfg.Instances)
		}
		if cfg.Slack.BotToken != "xoxb-env" || cfg.File != "" {
			t.Errorf("slack = %+v, file %q", cfg.Slack, cfg.File)
		}
	})
	t.Run("an instance listed but not set", func(t *testing.T) {
		t.Chdir(t.TempDir())
		t.Setenv("SESSIONBOT_INSTANCES", "ghost")
		_, err := Load("", testTypes, true)
		var p Problems
		if !errors.As(err, &p) || p[0].Key != "instances.ghost" {
			t.Fatalf("err = %v", err)
		}
	})
}

// Precedence: environment over file over defaults (flags are the caller's).
func TestPrecedenceEnvironmentOverFileOverDefaults(t *testing.T) {
	yaml := "timeout: 5s\nlog: {level: warn}\ninstances:\n  cv: {type: commvault, url: https://file/api}\n"
	t.Setenv("SESSIONBOT_LOG_LEVEL", "debug")
	t.Setenv("SESSIONBOT_INSTANCES_CV_URL", "https://env/api")
	cfg, err := Load(writeFile(t, "c.yaml", yaml), testTypes, true)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ what, got, want string }{
		{"log.level (env over file)", cfg.Log.Level, "debug"},
		{"instances.cv.url (env over file)", cfg.Instances["cv"].Settings["url"].(string), "https://env/api"},
		{"timeout (file over default)", cfg.Timeout.String(), "5s"},
		{"slack.reply_timeout (default)", cfg.Slack.ReplyTimeout.String(), "1m0s"},
	} {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.what, c.got, c.want)
		}
	}
}

// A path in SESSIONBOT_CONFIG is read as a path even when it contains ": "
// (a folder named "ops: prod", say), not taken for YAML.
func TestConfigEnvPathWithColonSpaceIsAPath(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ops: prod")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "sessionbot.yaml")
	if err := os.WriteFile(path, []byte(goodYAML), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SESSIONBOT_CONFIG", path)
	cfg, err := Load("", testTypes, true)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.File != path || cfg.Timeout != 5*time.Second {
		t.Errorf("read from %q with timeout %s, want the file %q", cfg.File, cfg.Timeout, path)
	}
}

func TestTidyHidesURLPasswords(t *testing.T) {
	for _, tc := range []struct{ value, want string }{
		{"https://admin:hunter2@cs.example/api", "https://admin:xxxxx@cs.example/api"},
		{"https://admin:hun ter2@cs.example/api", "https://admin:xxxxx@cs.example/api"}, // does not parse
		{"postgres://bot:p@ss@db:5432/x", "postgres://bot:xxxxx@db:5432/x"},
		{"https://admin@cs.example/api", "https://admin@cs.example/api"},
		{"marc@contoso.com", "marc@contoso.com"},
	} {
		got := Tidy(Problems{{Key: "instances.cv.url", Value: tc.value}})[0].Value
		if got != tc.want {
			t.Errorf("%q shown as %q, want %q", tc.value, got, tc.want)
		}
	}
}

// Compact JSON is YAML too, and is how many deployment tools write a
// document into one variable: no newline and no ": " in it.
func TestConfigEnvHoldingCompactJSON(t *testing.T) {
	t.Chdir(t.TempDir())
	t.Setenv("SESSIONBOT_CONFIG", `{"slack":{"bot_token":"xoxb-json","app_token":"xapp-json"},"timeout":"5s"}`)
	cfg, err := Load("", testTypes, true)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Slack.BotToken != "xoxb-json" || cfg.Timeout != 5*time.Second || cfg.File != "$SESSIONBOT_CONFIG" {
		t.Errorf("JSON in SESSIONBOT_CONFIG not read: %+v, file %q", cfg.Slack, cfg.File)
	}
}

// A SESSIONBOT_CONFIG that is neither a file nor recognisable YAML may
// still hold secrets: the error does not repeat it.
func TestConfigEnvThatIsNoFileIsNotEchoed(t *testing.T) {
	t.Chdir(t.TempDir())
	t.Setenv("SESSIONBOT_CONFIG", "slack.bot_token=xoxb-secret-value")
	_, err := Load("", testTypes, true)
	if err == nil || strings.Contains(err.Error(), "xoxb-secret-value") || !strings.Contains(err.Error(), "SESSIONBOT_CONFIG") {
		t.Errorf("err = %v, want one naming SESSIONBOT_CONFIG without its value", err)
	}
}
