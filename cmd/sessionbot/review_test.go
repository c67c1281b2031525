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
