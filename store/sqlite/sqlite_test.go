package sqlite_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sessionbot/sessionbot/store"
	"github.com/sessionbot/sessionbot/store/sqlite"
	"github.com/sessionbot/sessionbot/store/storetest"
)

// fresh gives each test its own database file; opening it twice gives two
// handles on one file, as two processes would have.
func fresh(t testing.TB) storetest.Opener {
	return opener(filepath.Join(t.TempDir(), "sessionbot.db"))
}

func opener(path string) storetest.Opener {
	return func(t testing.TB) store.Store {
		s, err := sqlite.Open(context.Background(), path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
}

func TestConformance(t *testing.T) { storetest.Run(t, fresh) }

func TestReopeningAppliesNoMigrationTwiceAndKeepsData(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sessionbot.db")
	open := opener(path)
	r := storetest.NewRequest(1)
	if err := open(t).CreateRequest(t.Context(), r); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		open(t) // each open migrates; a second apply would fail on CREATE TABLE
	}
	if _, _, err := open(t).GetRequest(t.Context(), r.ID); err != nil {
		t.Errorf("the request is gone after reopening: %v", err)
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var versions, distinct int
	if err := db.QueryRow(`SELECT count(*), count(DISTINCT version) FROM schema_migrations`).Scan(&versions, &distinct); err != nil {
		t.Fatal(err)
	}
	if versions == 0 || versions != distinct {
		t.Errorf("schema_migrations has %d rows for %d versions", versions, distinct)
	}
}

func TestOpenTakesPathsWithURICharacters(t *testing.T) {
	path := filepath.Join(t.TempDir(), "on call #1 ? 100%", "sessionbot.db")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	opener(path)(t)
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

func BenchmarkStore(b *testing.B) { storetest.Benchmark(b, fresh) }
