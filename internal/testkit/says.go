package testkit

import (
	"strings"
	"testing"
)

// Says reports each phrase of want that text lacks and each of never that
// it holds, with the text, so one failure shows all that is wrong.
func Says(t testing.TB, text string, want, never []string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(text, w) {
			t.Errorf("lacks %q:\n%s", w, text)
		}
	}
	for _, n := range never {
		if strings.Contains(text, n) {
			t.Errorf("says %q:\n%s", n, text)
		}
	}
}
