package testkit_test

import (
	"strings"
	"sync"
	"testing"

	"github.com/sessionbot/sessionbot/internal/testkit"
)

func TestBufferTakesLinesFromManyGoroutines(t *testing.T) {
	var b testkit.LogBuffer
	logger := b.Logger()
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			logger.Debug("debug lines are kept", "k", "v")
			_ = b.String()
		})
	}
	wg.Wait()
	if n := strings.Count(b.String(), "msg=\"debug lines are kept\" k=v\n"); n != 8 {
		t.Fatalf("%d lines, want 8:\n%s", n, b.String())
	}
}
