package main

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
	"time"
)

// TestServeRefusesAConfigurationWithoutInstances: check refuses a
// configuration that names no instance, so serve must too, rather than
// start a bot that can do nothing.
func TestServeRefusesAConfigurationWithoutInstances(t *testing.T) {
	w := newWorld(t, "")
	body, err := os.ReadFile(w.config)
	if err != nil {
		t.Fatal(err)
	}
	cut, _, _ := strings.Cut(string(body), "instances:")
	if err := os.WriteFile(w.config, []byte(cut), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, code := checkJSON(t, "--config", w.config, "--offline"); code != 1 {
		t.Fatalf("check exited %d, want 1", code)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	root := newRootCommand(strings.NewReader(""), &bytes.Buffer{}, &bytes.Buffer{})
	root.SetArgs([]string{"serve", "--config", w.config})
	err = root.ExecuteContext(ctx)
	if err == nil || ctx.Err() != nil || !strings.Contains(err.Error(), "instances") {
		t.Errorf("serve without instances: %v (stopped by the test: %v), want a problem under instances", err, ctx.Err() != nil)
	}
}

// TestCheckNeverShowsAPasswordWrittenIntoAURL: a URL with user:password@
// is refused, and the report names the key without the password, in text
// and in JSON.
func TestCheckNeverShowsAPasswordWrittenIntoAURL(t *testing.T) {
	w := newWorld(t, "")
	appendConfig(t, w.config, "  cv:\n    type: commvault\n    url: https://admin:hunter2-secret@cs.example/webconsole/api\n    username: bot\n    password: x\n")
	appendConfig(t, w.config, "language:\n  enabled: true\n  base_url: ftp://bot:hunter3-secret@model.example/v1\n  api_key: sk-x\n  model: m\n")
	for _, format := range []string{"text", "json"} {
		out, err := runCLI(t, "check", "--offline", "--output", format, "--config", w.config)
		if code := exitCode(err, &bytes.Buffer{}); code != 1 {
			t.Fatalf("%s: check exited %d, want 1:\n%s", format, code, out)
		}
		if !strings.Contains(out, "instances.cv.url") {
			t.Errorf("%s: the URL's problem is not reported:\n%s", format, out)
		}
		for _, secret := range []string{"hunter2-secret", "hunter3-secret"} {
			if strings.Contains(out, secret) {
				t.Errorf("%s: the report shows the password %q:\n%s", format, secret, out)
			}
		}
	}
}
