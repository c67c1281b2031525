package main

import (
	"log/slog"
	"testing"

	"github.com/sessionbot/sessionbot/cmd/sessionbot/config"
)

// The example documents every key: it must load without a problem, so it
// cannot drift from what the loader accepts.
func TestExampleConfigLoads(t *testing.T) {
	cfg, err := config.Load("../../examples/sessionbot.yaml", instanceTypes(), true)
	if err != nil {
		t.Fatalf("examples/sessionbot.yaml: %v", err)
	}
	for name, in := range cfg.Instances {
		if _, ok := adapters[in.Type]; !ok {
			t.Errorf("instance %s has type %q, which no adapter builds", name, in.Type)
		}
	}
	for typ := range adapters {
		found := false
		for _, in := range cfg.Instances {
			found = found || in.Type == typ
		}
		if !found {
			t.Errorf("examples/sessionbot.yaml has no instance of type %s, so its keys are undocumented", typ)
		}
	}
}

// Through the validation serve runs, the example's only problems are the
// values each site fills in: secrets, certificate files, the approval
// channel. Anything else (a timeout past the reply deadline, say) is drift.
func TestExampleConfigOnlyLacksSiteValues(t *testing.T) {
	cfg, err := config.Load("../../examples/sessionbot.yaml", instanceTypes(), true)
	if err != nil {
		t.Fatal(err)
	}
	s, problems := validate(cfg, slog.New(slog.DiscardHandler), true)
	defer s.close()
	fillIn := map[string]bool{
		"slack.bot_token": true, "slack.app_token": true,
		"instances.qlik-prod.cert_file": true, "instances.qlik-prod.key_file": true, "instances.qlik-prod.ca_file": true,
		"instances.qlik-prod.approval_channel": true,
		"instances.commvault.password":         true, "instances.teams.client_secret": true,
		"instances.skype.certificate_thumbprint": true,
		"reports.stale-sessions.channel":         true,
	}
	for _, p := range problems {
		if !fillIn[p.Key] {
			t.Errorf("examples/sessionbot.yaml: %s", p)
		}
	}
}
