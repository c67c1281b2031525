package testkit_test

import (
	"errors"
	"testing"

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
