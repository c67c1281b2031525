package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"testing"
	"time"

	_ "modernc.org/sqlite"
)

func openGroupTestDB(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "group.db")+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Exec(`CREATE TABLE rows (name TEXT PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	return db
}

func insertRow(name string) func(ctx context.Context, tx *sql.Tx) error {
	return func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO rows (name) VALUES ($1)`, name)
		return err
	}
}

// TestGroupSkipsAWriteWhoseCallerGaveUp: a caller whose deadline passed
// while its write waited in a group was told its write failed; the write
// must then not be committed behind its back (an audit row saying a
// withdrawal or a kill was recorded when the caller refused it).
func TestGroupSkipsAWriteWhoseCallerGaveUp(t *testing.T) {
	t.Parallel()
	db := openGroupTestDB(t)
	// The writer starts once both writes wait, so that they form one group,
	// the slow one first (senders on a channel are served in order).
	g := &groupWriter{db: db, queue: make(chan *groupedWrite), quit: make(chan struct{}), stopped: make(chan struct{})}
	running, gate := make(chan struct{}), make(chan struct{})
	slow := make(chan error, 1)
	go func() {
		slow <- g.do(context.Background(), func(ctx context.Context, tx *sql.Tx) error {
			close(running)
			<-gate
			return insertRow("slow")(ctx, tx)
		})
	}()
	time.Sleep(50 * time.Millisecond)
	ctx, cancel := context.WithCancel(context.Background())
	late := make(chan error, 1)
	go func() { late <- g.do(ctx, insertRow("late")) }()
	time.Sleep(50 * time.Millisecond)
	go g.run()
	defer g.close()

	<-running
	cancel()
	if err := <-late; !errors.Is(err, context.Canceled) {
		t.Fatalf("late write: got %v, want canceled", err)
	}
	close(gate)
	if err := <-slow; err != nil {
		t.Fatal(err)
	}
	var names []string
	rows, err := db.Query(`SELECT name FROM rows ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var n string
		rows.Scan(&n)
		names = append(names, n)
	}
	if len(names) != 1 || names[0] != "slow" {
		t.Errorf("committed %q, want only the write whose caller waited", names)
	}
}
