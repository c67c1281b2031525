//go:build trace

package main

import (
	"os"
	"runtime/trace"
	"time"
)

// Built with -tags trace (the load harness does, for -trace), serve writes
// an execution trace of its first $SESSIONBOT_TRACE_FOR (4s by default)
// to $SESSIONBOT_TRACE, to see what the scheduler ran while acks waited.
func init() {
	path := os.Getenv("SESSIONBOT_TRACE")
	if path == "" {
		return
	}
	length, err := time.ParseDuration(os.Getenv("SESSIONBOT_TRACE_FOR"))
	if err != nil {
		length = 4 * time.Second
	}
	f, err := os.Create(path + ".part")
	if err != nil {
		return
	}
	if err := trace.Start(f); err != nil {
		f.Close()
		return
	}
	time.AfterFunc(length, func() {
		trace.Stop()
		if f.Close() == nil {
			os.Rename(path+".part", path)
		}
	})
}
