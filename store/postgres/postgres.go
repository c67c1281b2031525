// Package postgres stores approval state in PostgreSQL (jackc/pgx), for
// several replicas of the bot sharing one database.
package postgres

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/sessionbot/sessionbot/store"
	"github.com/sessionbot/sessionbot/store/internal/sqldb"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store is a PostgreSQL-backed store.Store.
type Store struct{ *sqldb.DB }

var _ store.Store = (*Store)(nil)

// DefaultCallTimeout bounds each store call: a PostgreSQL that accepts
// connections and answers nothing fails a vote or a sweep after this long
// instead of stalling it.
const DefaultCallTimeout = 10 * time.Second

// Open connects with dsn and applies migrations. Replicas starting at once
// take turns migrating (an advisory lock); votes lock their request's row
// (SELECT ... FOR UPDATE), so concurrent votes on one request serialise.
func Open(ctx context.Context, dsn string) (*Store, error) {
	return OpenTimeout(ctx, dsn, DefaultCallTimeout)
}

// OpenTimeout is Open with another bound on each call. Unless the DSN sets
// them, connect_timeout is half of it and statement_timeout four fifths,
// so the server gives up on a slow statement before the call does.
func OpenTimeout(ctx context.Context, dsn string, callTimeout time.Duration) (*Store, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("PostgreSQL DSN: %w", err)
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = callTimeout / 2
	}
	if _, set := cfg.RuntimeParams["statement_timeout"]; !set {
		cfg.RuntimeParams["statement_timeout"] = strconv.FormatInt((callTimeout * 4 / 5).Milliseconds(), 10)
	}
	db := stdlib.OpenDB(*cfg)
	// A chat bot needs few connections; ten per replica leaves room for
	// many replicas under PostgreSQL's default max_connections of 100.
	db.SetMaxOpenConns(10)
	pingCtx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	if err := db.PingContext(pingCtx); err != nil {
		db.Close()
		return nil, fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	sub, _ := fs.Sub(migrations, "migrations")
	// Migrations wait their turn behind other replicas', but not forever.
	migrateCtx, cancelMigrate := context.WithTimeout(ctx, max(time.Minute, 6*callTimeout))
	defer cancelMigrate()
	s, err := sqldb.New(migrateCtx, db, sqldb.Dialect{
		ForUpdate:      " FOR UPDATE",
		LockMigrations: "SELECT pg_advisory_xact_lock(7325001)",
		CallTimeout:    callTimeout,
	}, sub)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("migrate the PostgreSQL schema: %w", err)
	}
	return &Store{s}, nil
}
