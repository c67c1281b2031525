// Package enginetest lists the storage engines for tests that must run on
// each: an empty database per test, the store opened on it as the bot
// opens it, and a raw handle for tests that reach past the store.
package enginetest

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/sessionbot/sessionbot/store"
	"github.com/sessionbot/sessionbot/store/postgres"
	"github.com/sessionbot/sessionbot/store/postgres/pgtest"
	"github.com/sessionbot/sessionbot/store/sqlite"
	"github.com/sessionbot/sessionbot/store/storetest"
)

// Engine is one storage engine.
type Engine struct {
	Name string
	// New makes an empty database for one test and returns its DSN (for
	// SQLite a file path). PostgreSQL skips the test without a test
	// database (pgtest).
	New    func(t testing.TB) string
	open   func(ctx context.Context, dsn string) (store.Store, error)
	driver string
	rawDSN func(dsn string) string
}

var (
	SQLite = Engine{
		Name: "sqlite",
		New:  func(t testing.TB) string { return filepath.Join(t.TempDir(), "sessionbot.db") },
		open: func(ctx context.Context, dsn string) (store.Store, error) { return sqlite.Open(ctx, dsn) },
		// The store holds the write lock for whole transactions.
		driver: "sqlite",
		rawDSN: func(path string) string { return "file:" + path + "?_pragma=busy_timeout(10000)" },
	}
	Postgres = Engine{
		Name:   "postgres",
		New:    func(t testing.TB) string { dsn, _ := pgtest.SchemaDSN(t); return dsn },
		open:   func(ctx context.Context, dsn string) (store.Store, error) { return postgres.Open(ctx, dsn) },
		driver: "pgx",
		rawDSN: func(dsn string) string { return dsn },
	}
)

// All are the engines the bot supports.
func All() []Engine { return []Engine{SQLite, Postgres} }

// Open opens the store at dsn, for tests of opening itself.
func (e Engine) Open(ctx context.Context, dsn string) (store.Store, error) { return e.open(ctx, dsn) }

// Opener opens the store at dsn, closed when the test ends; each call is
// another handle on one database, as another replica would have.
func (e Engine) Opener(dsn string) storetest.Opener {
	return func(t testing.TB) store.Store {
		s, err := e.open(context.Background(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
}

// Fresh gives each test an Opener on an empty database of its own.
func (e Engine) Fresh(t testing.TB) storetest.Opener { return e.Opener(e.New(t)) }

// Raw opens a database/sql handle on dsn, closed when the test ends.
func (e Engine) Raw(t testing.TB, dsn string) *sql.DB {
	db, err := sql.Open(e.driver, e.rawDSN(dsn))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// Reopening opens one database five times: each open migrates, and a
// version applied twice would fail on its CREATE TABLE or lose data.
func Reopening(t *testing.T, e Engine) {
	dsn := e.New(t)
	open := e.Opener(dsn)
	r := storetest.NewRequest(1)
	if err := open(t).CreateRequest(t.Context(), r); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		open(t)
	}
	if _, _, err := open(t).GetRequest(t.Context(), r.ID); err != nil {
		t.Errorf("the request is gone after reopening: %v", err)
	}
	var versions, distinct int
	if err := e.Raw(t, dsn).QueryRow(`SELECT count(*), count(DISTINCT version) FROM schema_migrations`).Scan(&versions, &distinct); err != nil {
		t.Fatal(err)
	}
	if versions == 0 || versions != distinct {
		t.Errorf("schema_migrations has %d rows for %d versions", versions, distinct)
	}
}
