// Package sqlite stores approval state in a SQLite file (modernc.org/sqlite,
// pure Go), for a bot that runs as one replica.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"net/url"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/sessionbot/sessionbot/store/internal/sqldb"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store is a SQLite-backed store.Store.
type Store struct{ *sqldb.DB }

// Open opens (creating if needed) the database file at path, in WAL mode,
// and applies migrations. Writing transactions take the write lock when
// they begin (BEGIN IMMEDIATE), so concurrent votes queue instead of
// failing with SQLITE_BUSY halfway.
func Open(ctx context.Context, path string) (*Store, error) {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, err
	}
	// One connection writes at a time anyway; a small pool keeps readers
	// from queueing behind a writer.
	db.SetMaxOpenConns(4)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	sub, _ := fs.Sub(migrations, "migrations")
	s, err := sqldb.New(ctx, db, sqldb.Dialect{Name: "sqlite"}, sub)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("migrate %s: %w", path, err)
	}
	return &Store{s}, nil
}
