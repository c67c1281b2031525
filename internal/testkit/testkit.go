// Package testkit holds the helpers tests of many packages share: fakes
// started for the length of a test, and a log buffer to read back.
package testkit

import "testing"

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
