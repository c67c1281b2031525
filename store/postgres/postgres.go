// Package postgres stores approval state in PostgreSQL (jackc/pgx), for
// several replicas of the bot sharing one database.
package postgres

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver

	"github.com/sessionbot/sessionbot/store"
	"github.com/sessionbot/sessionbot/store/internal/sqldb"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store is a PostgreSQL-backed store.Store.
type Store struct{ *sqldb.DB }

var _ store.Store = (*Store)(nil)

// Open connects with dsn and applies migrations. Replicas starting at once
// take turns migrating (an advisory lock); votes lock their request's row
// (SELECT ... FOR UPDATE), so concurrent votes on one request serialise.
func Open(ctx context.Context, dsn string) (*Store, error) {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, fmt.Errorf("PostgreSQL DSN: %w", err)
	}
	// A chat bot needs few connections; ten per replica leaves room for
	// many replicas under PostgreSQL's default max_connections of 100.
	db.SetMaxOpenConns(10)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	sub, _ := fs.Sub(migrations, "migrations")
	s, err := sqldb.New(ctx, db, sqldb.Dialect{
		ForUpdate:      " FOR UPDATE",
		LockMigrations: "SELECT pg_advisory_xact_lock(7325001)",
	}, sub)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("migrate the PostgreSQL schema: %w", err)
	}
	return &Store{s}, nil
}
