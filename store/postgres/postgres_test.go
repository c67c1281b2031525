package postgres_test

import (
	"strings"
	"testing"

	"github.com/sessionbot/sessionbot/store/enginetest"
	"github.com/sessionbot/sessionbot/store/postgres"
	"github.com/sessionbot/sessionbot/store/postgres/pgtest"
	"github.com/sessionbot/sessionbot/store/storetest"
)

func TestConformance(t *testing.T) {
	pgtest.DSN(t) // one skip, not one per case
	storetest.Run(t, enginetest.Postgres.Fresh)
}

func TestReopeningAppliesNoMigrationTwiceAndKeepsData(t *testing.T) {
	enginetest.Reopening(t, enginetest.Postgres)
}

func TestReplicasStartingTogetherMigrateOnce(t *testing.T) {
	dsn, _ := pgtest.SchemaDSN(t)
	errs := make(chan error, 5)
	for range 5 {
		go func() {
			s, err := postgres.Open(t.Context(), dsn)
			if err == nil {
				s.Close()
			}
			errs <- err
		}()
	}
	for range 5 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

func TestConnectionErrorsHideThePassword(t *testing.T) {
	for _, tc := range []struct {
		name string
		dsn  string
	}{
		{"nothing listens", "postgres://bot:hunter2secret@127.0.0.1:1/x?sslmode=disable&connect_timeout=2"},
		{"the DSN does not parse", "postgres://bot:hunter2secret@127.0.0.1:1/x?sslmode=sometimes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := postgres.Open(t.Context(), tc.dsn)
			if err == nil {
				t.Fatal("opened")
			}
			if strings.Contains(err.Error(), "hunter2secret") {
				t.Errorf("error shows the password: %v", err)
			}
		})
	}
}

func BenchmarkStore(b *testing.B) { storetest.Benchmark(b, enginetest.Postgres.Fresh) }
