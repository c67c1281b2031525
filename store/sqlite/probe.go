package sqlite

import (
	"context"
	"errors"
	"io/fs"
	"os"

	"github.com/sessionbot/sessionbot/store"
	"github.com/sessionbot/sessionbot/store/internal/sqldb"
)

// Probe checks that the file at path can be opened and written, and reads
// its schema version, without migrating it. A file that does not exist yet
// is created for the check and removed again: serve creates it.
func Probe(ctx context.Context, path string) (store.Health, error) {
	_, statErr := os.Stat(path)
	fresh := errors.Is(statErr, fs.ErrNotExist)
	db, err := openDB(path)
	if err != nil {
		return store.Health{}, err
	}
	sub, _ := fs.Sub(migrations, "migrations")
	h, err := sqldb.Probe(ctx, db, sub)
	db.Close()
	if fresh {
		for _, suffix := range []string{"", "-wal", "-shm", "-journal"} {
			os.Remove(path + suffix)
		}
	}
	return h, err
}
