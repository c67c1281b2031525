package main

import (
	"context"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"
)

// finishingSweep stands for a sweep carrying out an approved end when the
// stop comes: it keeps working a while after its context ends (the
// outcome write has its own deadline).
type finishingSweep struct {
	started  chan struct{}
	finished atomic.Bool
	once     atomic.Bool
}

func (f *finishingSweep) Sweep(ctx context.Context) error {
	if f.once.CompareAndSwap(false, true) {
		close(f.started)
	}
	<-ctx.Done()
	time.Sleep(200 * time.Millisecond)
	f.finished.Store(true)
	return nil
}

// TestStoppingWaitsForTheSweepUnderWay: serve closes the audit mirror and
// the store after the sweeper's stop returns, so stop must not return
// while a sweep still works.
func TestStoppingWaitsForTheSweepUnderWay(t *testing.T) {
	f := &finishingSweep{started: make(chan struct{})}
	stop := startSweeper(context.Background(), f, time.Hour, slog.New(slog.NewTextHandler(io.Discard, nil)))
	<-f.started
	stop()
	if !f.finished.Load() {
		t.Fatal("stop returned while the sweep was still working")
	}
}
