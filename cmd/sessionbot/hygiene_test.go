package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sessionbot/sessionbot/cmd/sessionbot/config"
	"github.com/sessionbot/sessionbot/store"
)

// offlineConfig writes a configuration with no instances plus extra YAML.
func offlineConfig(t *testing.T, extra string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "c.yaml")
	yaml := "slack: {bot_token: xoxb-x, app_token: xapp-x}\nstore: {driver: sqlite, path: '" + filepath.Join(t.TempDir(), "s.db") + "'}\n" + extra
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
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
