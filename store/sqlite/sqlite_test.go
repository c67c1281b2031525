package sqlite_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sessionbot/sessionbot/store/enginetest"
	"github.com/sessionbot/sessionbot/store/sqlite"
	"github.com/sessionbot/sessionbot/store/storetest"
)

func TestConformance(t *testing.T) { storetest.Run(t, enginetest.SQLite.Fresh) }

func TestReopeningAppliesNoMigrationTwiceAndKeepsData(t *testing.T) {
	enginetest.Reopening(t, enginetest.SQLite)
}

func TestOpenTakesPathsWithURICharacters(t *testing.T) {
	path := filepath.Join(t.TempDir(), "on call #1 ? 100%", "sessionbot.db")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	enginetest.SQLite.Opener(path)(t)
	if _, err := os.Stat(path); err != nil {
		t.Errorf("the database is not at %s: %v", path, err)
	}
}

func TestOpenNamesAnUnusableFile(t *testing.T) {
	_, err := sqlite.Open(context.Background(), "/nonexistent/dir/sessionbot.db")
	if err == nil || !strings.Contains(err.Error(), "/nonexistent/dir/sessionbot.db") {
		t.Fatalf("err = %v, want one naming the file", err)
	}
}

func BenchmarkStore(b *testing.B) { storetest.Benchmark(b, enginetest.SQLite.Fresh) }
