package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/sessionbot/sessionbot/store"
	"github.com/sessionbot/sessionbot/store/sqlite"
	"github.com/sessionbot/sessionbot/store/storetest"
)

// fresh gives each test its own database file; opening it twice gives two
// handles on one file, as two processes would have.
func fresh(t testing.TB) storetest.Opener {
	path := filepath.Join(t.TempDir(), "sessionbot.db")
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

func TestMigrationsAreAppliedOnce(t *testing.T) {
	open := fresh(t)
	for range 3 {
		open(t) // each open migrates; a second apply would fail on CREATE TABLE
	}
}

func TestOpenNamesAnUnusableFile(t *testing.T) {
	_, err := sqlite.Open(context.Background(), "/nonexistent/dir/sessionbot.db")
	if err == nil {
		t.Fatal("opened a file in a missing folder")
	}
}

func BenchmarkExpire1000(b *testing.B) { storetest.BenchmarkExpire(b, fresh) }
