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

// The console has no Slack escaping: a person the directory knows by id is
// typed @ID, and an id the directory does not know is answered with how to
// name one.
func TestConsoleReadsAPersonByChatIDAsTyped(t *testing.T) {
	tests := []struct{ name, line, want string }{
		{"a person the directory knows", "list @U0MARC on teams", "Sessions of marc@contoso.com"},
		{"an id the directory does not know", "list @marc on teams", `"@marc" is not a person I know. The demo's directory knows @U0MARC only.`},
		{"a command written back as it is typed", "lsit @U0MARC", "list @U0MARC"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			root := newRootCommand(strings.NewReader(tt.line+"\n"), &out, &bytes.Buffer{})
			root.SetArgs([]string{"console", "--demo"})
			if err := root.ExecuteContext(context.Background()); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(out.String(), tt.want) {
				t.Errorf("console answered %q with:\n%s\nwant %q", tt.line, out.String(), tt.want)
			}
		})
	}
}
