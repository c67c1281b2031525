//go:build cpuprofile

package main

import (
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"
)

// Built with -tags cpuprofile (the load harness does, for -cpuprofile),
// SIGUSR1 starts a CPU profile and SIGUSR2 writes it to
// $SESSIONBOT_CPUPROFILE, with the allocations since start beside it
// (.allocs), so the harness profiles only the part it times.
// The file appears, by rename, only once it is complete.
func init() {
	path := os.Getenv("SESSIONBOT_CPUPROFILE")
	if path == "" {
		return
	}
	signals := make(chan os.Signal, 2)
	signal.Notify(signals, syscall.SIGUSR1, syscall.SIGUSR2)
	go func() {
		var f *os.File
		for s := range signals {
			switch {
			case s == syscall.SIGUSR1 && f == nil:
				var err error
				if f, err = os.Create(path + ".part"); err != nil {
					f = nil
					continue
				}
				if err := pprof.StartCPUProfile(f); err != nil {
					f.Close()
					f = nil
				}
			case s == syscall.SIGUSR2 && f != nil:
				pprof.StopCPUProfile()
				if a, err := os.Create(path + ".allocs"); err == nil {
					pprof.Lookup("allocs").WriteTo(a, 0)
					a.Close()
				}
				if f.Close() == nil {
					os.Rename(path+".part", path)
				}
				f = nil
			}
		}
	}()
}
