package testkit_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/sessionbot/sessionbot/internal/testkit"
)

type fake struct{ closed bool }

func (f *fake) Close() { f.closed = true }

func TestStartClosesTheFakeWhenTheTestEnds(t *testing.T) {
	var f *fake
	t.Run("a test", func(t *testing.T) {
		f = testkit.Start(t, func(name string) (*fake, error) {
			if name != "the options" {
				return nil, errors.New("the options were not passed on")
			}
			return &fake{}, nil
		}, "the options")
		if f.closed {
			t.Fatal("closed while the test runs")
		}
	})
	if !f.closed {
		t.Fatal("still open after the test ended")
	}
}

// errorsOf records what a check reports instead of failing the test.
type errorsOf struct {
	testing.TB
	got []string
}

func (e *errorsOf) Helper() {}
func (e *errorsOf) Errorf(format string, args ...any) {
	e.got = append(e.got, fmt.Sprintf(format, args...))
}

func TestSaysReportsEveryMissingAndForbiddenPhrase(t *testing.T) {
	tests := []struct {
		name        string
		want, never []string
		reports     []string
	}{
		{"all there, nothing forbidden", []string{"approved", "R7K2"}, []string{"denied"}, nil},
		{"one missing, one forbidden", []string{"approved", "expired"}, []string{"R7K2"},
			[]string{"lacks \"expired\":\nR7K2 approved", "says \"R7K2\":\nR7K2 approved"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &errorsOf{TB: t}
			testkit.Says(rec, "R7K2 approved", tt.want, tt.never)
			if !slices.Equal(rec.got, tt.reports) {
				t.Errorf("reported %q, want %q", rec.got, tt.reports)
			}
		})
	}
}

func TestContextEndsWithTheTestOrWithin10s(t *testing.T) {
	var ctx context.Context
	t.Run("a test", func(t *testing.T) {
		ctx = testkit.Context(t)
		deadline, ok := ctx.Deadline()
		if !ok || time.Until(deadline) > 10*time.Second {
			t.Fatalf("deadline %v (set: %v), want within 10 s", deadline, ok)
		}
		if ctx.Err() != nil {
			t.Fatal("ended while the test runs")
		}
	})
	if ctx.Err() == nil {
		t.Fatal("still live after the test ended")
	}
}

func TestWriteFileWritesForTheOwnerAlone(t *testing.T) {
	path := testkit.WriteFile(t, "c.yaml", []byte("slack: {}\n"))
	got, err := os.ReadFile(path)
	if err != nil || string(got) != "slack: {}\n" || filepath.Base(path) != "c.yaml" {
		t.Fatalf("%s holds %q (%v)", path, got, err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v (%v), want 0600", fi.Mode().Perm(), err)
	}
}
