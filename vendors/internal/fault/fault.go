// Package fault is the switch by which a fake vendor server hands a
// request that passed its own checks to a test's handler instead.
package fault

import (
	"net/http"
	"sync"
)

// Switch holds the handler, if any. The zero Switch is off.
type Switch struct {
	mu sync.Mutex
	h  http.Handler
}

// Set has h answer from now on; nil turns the switch off.
func (s *Switch) Set(h http.Handler) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.h = h
}

// Serve answers with the handler set and reports whether there was one.
func (s *Switch) Serve(w http.ResponseWriter, r *http.Request) bool {
	s.mu.Lock()
	h := s.h
	s.mu.Unlock()
	if h == nil {
		return false
	}
	h.ServeHTTP(w, r)
	return true
}
