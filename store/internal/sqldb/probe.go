package sqldb

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"

	"github.com/sessionbot/sessionbot/store"
)

// Probe reads the schema version and proves the database takes a write,
// in a transaction it rolls back: it changes nothing, not even the schema.
func Probe(ctx context.Context, db *sql.DB, engine fs.FS) (store.Health, error) {
	var h store.Health
	versions, err := plan(engine)
	if err != nil {
		return h, err
	}
	if len(versions) > 0 {
		h.Latest = versions[len(versions)-1].version
	}
	if err := db.PingContext(ctx); err != nil {
		return h, fmt.Errorf("connect: %w", err)
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return h, fmt.Errorf("begin a transaction: %w", err)
	}
	defer tx.Rollback()
	// A fresh database has no schema_migrations yet: version 0, which
	// serve migrates.
	var exists int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE 1 = 0`).Scan(&exists); err == nil {
		if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&h.Version); err != nil {
			return h, fmt.Errorf("read the schema version: %w", err)
		}
	} else {
		// PostgreSQL aborts a transaction on an error: start again.
		tx.Rollback()
		if tx, err = db.BeginTx(ctx, nil); err != nil {
			return h, fmt.Errorf("begin a transaction: %w", err)
		}
		defer tx.Rollback()
	}
	if _, err := tx.ExecContext(ctx, `CREATE TABLE sessionbot_write_probe (id INTEGER)`); err != nil {
		return h, fmt.Errorf("write: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO sessionbot_write_probe (id) VALUES (1)`); err != nil {
		return h, fmt.Errorf("write: %w", err)
	}
	return h, nil
}
