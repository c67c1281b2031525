// Package testkit holds the helpers tests of many packages share: fakes
// started for the length of a test, and a log buffer to read back.
package testkit

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// Start starts a fake with start(opts) and closes it when the test ends;
// the fakes' own New funcs fit: Start(t, qliktest.New, qliktest.Options{}).
func Start[O any, F interface{ Close() }](t testing.TB, start func(O) (F, error), opts O) F {
	t.Helper()
	f, err := start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Close)
	return f
}

// QuietMain runs a package's tests with slog.Default discarding, for code
// that logs through it: test output keeps to failures.
func QuietMain(m *testing.M) {
	slog.SetDefault(slog.New(slog.DiscardHandler))
	os.Exit(m.Run())
}

// Context is a context that ends with the test or after 10 s, whichever
// comes first: a call that hangs fails its test instead of the run.
func Context(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// WriteFile writes data to a file called name in a directory of the
// test's own, readable by the owner alone, and returns its path.
func WriteFile(tb testing.TB, name string, data []byte) string {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), name)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		tb.Fatal(err)
	}
	return path
}
