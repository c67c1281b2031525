package postgres

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"

	"github.com/sessionbot/sessionbot/store"
	"github.com/sessionbot/sessionbot/store/internal/sqldb"
)

// Probe connects with dsn, reads the schema version and proves the
// database takes a write (rolled back), without migrating it.
func Probe(ctx context.Context, dsn string) (store.Health, error) {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return store.Health{}, fmt.Errorf("PostgreSQL DSN: %w", err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	sub, _ := fs.Sub(migrations, "migrations")
	return sqldb.Probe(ctx, db, sub)
}
