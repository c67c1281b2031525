// Package inflight counts the requests a fake vendor server is answering
// at once, so that tests can check an adapter never opens more
// connections than it may.
package inflight

import "sync"

// Gauge is the count now and the most it has been. The zero Gauge is
// ready.
type Gauge struct {
	mu        sync.Mutex
	now, most int
}

// Enter counts a request in; the func it returns counts it out.
func (g *Gauge) Enter() (leave func()) {
	g.mu.Lock()
	g.now++
	g.most = max(g.most, g.now)
	g.mu.Unlock()
	return func() {
		g.mu.Lock()
		g.now--
		g.mu.Unlock()
	}
}

// Max is the most requests that were in at once.
func (g *Gauge) Max() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.most
}
