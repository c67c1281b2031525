package inflight_test

import (
	"testing"

	"github.com/sessionbot/sessionbot/vendors/internal/inflight"
)

func TestMaxIsTheMostInAtOnce(t *testing.T) {
	var g inflight.Gauge
	if g.Max() != 0 {
		t.Fatalf("a new gauge's max is %d, want 0", g.Max())
	}
	a, b := g.Enter(), g.Enter()
	a()
	b()
	c := g.Enter()
	defer c()
	if g.Max() != 2 {
		t.Fatalf("max = %d, want 2: two were in at once, then one", g.Max())
	}
}
