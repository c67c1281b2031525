package main

import (
	"io"
	"os"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// manifest is what the tests read of the Slack app manifest.
type manifest struct {
	Features struct {
		AppHome *struct {
			HomeTab             bool `yaml:"home_tab_enabled"`
			MessagesTab         bool `yaml:"messages_tab_enabled"`
			MessagesTabReadOnly bool `yaml:"messages_tab_read_only_enabled"`
		} `yaml:"app_home"`
	} `yaml:"features"`
	Settings struct {
		Events struct {
			BotEvents []string `yaml:"bot_events"`
		} `yaml:"event_subscriptions"`
	} `yaml:"settings"`
}

func readManifest(t *testing.T) manifest {
	t.Helper()
	raw, err := os.ReadFile("../../manifest.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var m manifest
	if err := yaml.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestManifestLetsPeopleMessageTheBot: the bot subscribes to direct
// messages, which Slack delivers only when the Messages tab is on and
// writable.
func TestManifestLetsPeopleMessageTheBot(t *testing.T) {
	m := readManifest(t)
	if !slices.Contains(m.Settings.Events.BotEvents, "message.im") {
		t.Fatal("the manifest does not subscribe to message.im")
	}
	if h := m.Features.AppHome; h == nil || !h.MessagesTab || h.MessagesTabReadOnly {
		t.Errorf("features.app_home = %+v: people cannot send the bot a direct message", h)
	}
}

// TestManifestHasTheHomeTab: the App Home is published on app_home_opened,
// which Slack sends only to an app subscribed to it with the Home tab on.
func TestManifestHasTheHomeTab(t *testing.T) {
	m := readManifest(t)
	if h := m.Features.AppHome; h == nil || !h.HomeTab || !slices.Contains(m.Settings.Events.BotEvents, "app_home_opened") {
		t.Fatalf("the manifest needs features.app_home.home_tab_enabled and the app_home_opened event: %+v", m)
	}
}

// TestAuditExportSaysWhichEventsALimitKeeps: --limit keeps the newest
// events and prints them oldest first, and its help says so.
func TestAuditExportSaysWhichEventsALimitKeeps(t *testing.T) {
	root := newRootCommand(nil, io.Discard, io.Discard)
	export, _, err := root.Find([]string{"audit", "export"})
	if err != nil {
		t.Fatal(err)
	}
	usage := export.Flags().Lookup("limit").Usage
	if !strings.Contains(usage, "newest") || !strings.Contains(usage, "oldest first") {
		t.Errorf("--limit says %q", usage)
	}
}
