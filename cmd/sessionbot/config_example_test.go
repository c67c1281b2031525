package main

import (
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
