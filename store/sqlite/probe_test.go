package sqlite_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/sessionbot/sessionbot/store/sqlite"
)

// Probe reads the schema version without migrating, proves a write and
// leaves no trace: a file it had to create is removed again.
func TestProbeChangesNothing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bot.db")
	h, err := sqlite.Probe(t.Context(), path)
	if err != nil || h.Version != 0 || h.Latest < 1 {
		t.Fatalf("fresh file: %+v %v", h, err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("the probe left %s behind: %v", path, err)
	}
	st, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	h, err = sqlite.Probe(t.Context(), path)
	if err != nil || h.Version != h.Latest {
		t.Fatalf("migrated file: %+v %v", h, err)
	}
	if _, err := sqlite.Probe(t.Context(), filepath.Join(t.TempDir(), "missing", "bot.db")); err == nil {
		t.Error("a file in a missing folder passed the probe")
	}
}
