package testkit

import (
	"net/http"
	"sync"
	"testing"
	"time"
)

// Hold is a handler, for a fake's Intercept, that keeps every request it
// gets until Release (or until the client gives up) and then answers 500:
// a connection held busy for as long as a test needs.
type Hold struct {
	reached, released chan struct{}
	reachedOnce       sync.Once
	releaseOnce       sync.Once
}

// NewHold makes a Hold that holds until Release.
func NewHold() *Hold {
	return &Hold{reached: make(chan struct{}), released: make(chan struct{})}
}

func (h *Hold) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.reachedOnce.Do(func() { close(h.reached) })
	select {
	case <-h.released:
	case <-r.Context().Done():
	}
	http.Error(w, "held", http.StatusInternalServerError)
}

// Reached waits up to 5 s for the first request to be held, and fails the
// test, saying what, when none comes.
func (h *Hold) Reached(tb testing.TB, what string) {
	tb.Helper()
	select {
	case <-h.reached:
	case <-time.After(5 * time.Second):
		tb.Fatal(what)
	}
}

// Release lets every request held, and any later one, be answered.
func (h *Hold) Release() { h.releaseOnce.Do(func() { close(h.released) }) }
