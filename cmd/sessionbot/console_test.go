package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// After `console --demo --store FILE`, audit export reads what the demo
// did, configured from the environment alone.
func TestDemoStoreIsKeptForAuditExport(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	db := filepath.Join(dir, "demo.db")
	root := newRootCommand(strings.NewReader("list Domain\\Marc\nquit\n"), &bytes.Buffer{}, &bytes.Buffer{})
	root.SetArgs([]string{"console", "--demo", "--store", db})
	if err := root.ExecuteContext(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SESSIONBOT_STORE_PATH", db)
	out, err := runCLI(t, "audit", "export")
	if err != nil || !strings.Contains(out, `"action":"list"`) || !strings.Contains(out, `Domain\\Marc`) {
		t.Errorf("audit export after the demo: %v\n%s", err, out)
	}
}
