package postgres_test

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/sessionbot/sessionbot/store"
	"github.com/sessionbot/sessionbot/store/postgres"
	"github.com/sessionbot/sessionbot/store/postgres/pgtest"
	"github.com/sessionbot/sessionbot/store/storetest"
)

// fresh gives each test a schema of its own on the shared test database.
func fresh(t testing.TB) storetest.Opener {
	dsn, _ := pgtest.SchemaDSN(t)
	return opener(dsn)
}

func opener(dsn string) storetest.Opener {
	return func(t testing.TB) store.Store {
		s, err := postgres.Open(context.Background(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
}

func TestConformance(t *testing.T) {
	pgtest.DSN(t) // one skip, not one per case
	storetest.Run(t, fresh)
}

func TestReopeningAppliesNoMigrationTwiceAndKeepsData(t *testing.T) {
	dsn, _ := pgtest.SchemaDSN(t)
	open := opener(dsn)
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
	conn, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var versions, distinct int
	if err := conn.QueryRow(t.Context(), `SELECT count(*), count(DISTINCT version) FROM schema_migrations`).Scan(&versions, &distinct); err != nil {
		t.Fatal(err)
	}
	if versions == 0 || versions != distinct {
		t.Errorf("schema_migrations has %d rows for %d versions", versions, distinct)
	}
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

func BenchmarkStore(b *testing.B) { storetest.Benchmark(b, fresh) }
