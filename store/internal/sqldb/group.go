package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"
)

// maxGroup bounds how many writes share one transaction.
const maxGroup = 128

// errClosed answers writes asked for after Close.
var errClosed = errors.New("store closed")

// groupWriter commits small independent writes (audit rows, once-keys)
// from many goroutines together: one transaction, so one commit and one
// fsync, for every write that queued while the previous one ran. A caller
// still returns only once its write is committed, so durability is as
// with a transaction of its own.
type groupWriter struct {
	db      *sql.DB
	queue   chan *groupedWrite // unbuffered: the writer takes what waits
	quit    chan struct{}
	stopped chan struct{}
	closing sync.Once
}

type groupedWrite struct {
	// caller is the asker's context: once it is done, the asker was told
	// the write failed, so it must not be committed after all.
	caller context.Context
	fn     func(ctx context.Context, tx *sql.Tx) error
	done   chan error
	// gaveUp is set by the writer when it skipped the write.
	gaveUp error
}

func newGroupWriter(db *sql.DB) *groupWriter {
	g := &groupWriter{db: db, queue: make(chan *groupedWrite), quit: make(chan struct{}), stopped: make(chan struct{})}
	go g.run()
	return g
}

// do runs fn in a transaction shared with other writes and returns once it
// is committed. fn may run twice (alone, after its group failed), so it
// must only set its results, not add to them.
func (g *groupWriter) do(ctx context.Context, fn func(ctx context.Context, tx *sql.Tx) error) error {
	w := &groupedWrite{caller: ctx, fn: fn, done: make(chan error, 1)}
	select {
	case g.queue <- w:
	case <-ctx.Done():
		return ctx.Err()
	case <-g.quit:
		return errClosed
	}
	select {
	case err := <-w.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (g *groupWriter) close() {
	g.closing.Do(func() { close(g.quit) })
	<-g.stopped
}

func (g *groupWriter) run() {
	defer close(g.stopped)
	group := make([]*groupedWrite, 0, maxGroup)
	for {
		select {
		case w := <-g.queue:
			group = append(group[:0], w)
		case <-g.quit:
			return
		}
		// Let the goroutines that are about to write queue first: under
		// load this makes groups several times larger, and each commit
		// (WAL frames, fsync) is paid for once per group, not per write.
		runtime.Gosched()
	more:
		for len(group) < maxGroup {
			select {
			case w := <-g.queue:
				group = append(group, w)
			default:
				break more
			}
		}
		g.commit(group)
	}
}

// commit runs a group in one transaction; if any write fails, each is run
// again alone so one bad write does not fail the others.
func (g *groupWriter) commit(group []*groupedWrite) {
	// A caller giving up does not cancel the writes of the others.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if len(group) > 1 {
		if err := g.inTx(ctx, group...); err == nil {
			for _, w := range group {
				w.done <- w.gaveUp
			}
			return
		}
	}
	for _, w := range group {
		w.gaveUp = nil
		err := g.inTx(ctx, w)
		if w.gaveUp != nil {
			err = w.gaveUp
		}
		w.done <- err
	}
}

func (g *groupWriter) inTx(ctx context.Context, writes ...*groupedWrite) error {
	tx, err := g.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback()
	for _, w := range writes {
		// A caller that gave up was answered with its error: its write
		// is left out. (One that gives up while its write commits cannot
		// be told apart from a commit that failed, as with a transaction
		// of its own.)
		if err := w.caller.Err(); err != nil {
			w.gaveUp = err
			continue
		}
		if err := w.fn(ctx, tx); err != nil {
			return err
		}
	}
	return tx.Commit()
}
