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
	stop := startSweeper(context.Background(), f, time.Hour, time.Minute, slog.New(slog.NewTextHandler(io.Discard, nil)))
	<-f.started
	stop()
	if !f.finished.Load() {
		t.Fatal("stop returned while the sweep was still working")
	}
}

// stuckSweep never finishes: a vendor that does not answer.
type stuckSweep struct{ started chan struct{} }

func (s stuckSweep) Sweep(context.Context) error {
	close(s.started)
	select {}
}

// TestTheSweepIsWaitedForFromTheSignal: the sweep stops at the signal,
// while the bot drains its replies, so its wait counts from then and the
// whole stop stays within the grace period.
func TestTheSweepIsWaitedForFromTheSignal(t *testing.T) {
	const wait = 600 * time.Millisecond
	ctx, signal := context.WithCancel(context.Background())
	s := stuckSweep{started: make(chan struct{})}
	stop := startSweeper(ctx, s, time.Hour, wait, slog.New(slog.NewTextHandler(io.Discard, nil)))
	<-s.started
	signal()
	time.Sleep(wait / 2) // the bot's drain
	began := time.Now()
	stop()
	if took := time.Since(began); took > wait*3/4 {
		t.Fatalf("stop waited %v after the drain; the sweep's %v had begun at the signal", took, wait)
	}
}
