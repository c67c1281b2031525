package bot

import (
	"testing"
	"time"
)

// A mark is changed only through its own entry: once evicted and set
// again by another caller, the first caller's unmark or restamp leaves the
// new mark alone.
func TestAMarkIsChangedOnlyThroughItsOwnEntry(t *testing.T) {
	s := newRecentSet(2, time.Hour)
	first, ok := s.mark("a")
	if !ok {
		t.Fatal("a new key was not marked")
	}
	s.add("b")
	s.add("c") // the set holds two: "a" is evicted
	second, ok := s.mark("a")
	if !ok {
		t.Fatal("an evicted key was not marked again")
	}
	s.unmark(first)
	s.restamp(first)
	if s.add("a") {
		t.Fatal("the first mark's unmark removed the second mark")
	}
	s.unmark(second)
	if !s.add("a") {
		t.Fatal("unmark left the key marked")
	}
}

// restamp starts a mark's interval again from now.
func TestRestampStartsTheIntervalAgain(t *testing.T) {
	now := time.Unix(0, 0)
	s := newRecentSet(8, time.Minute)
	s.now = func() time.Time { return now }
	m, _ := s.mark("a")
	now = now.Add(50 * time.Second)
	s.restamp(m)
	now = now.Add(50 * time.Second) // 100 s after the mark, 50 s after the restamp
	if s.add("a") {
		t.Fatal("the mark lapsed a minute after it was set, not after it was restamped")
	}
	now = now.Add(11 * time.Second)
	if !s.add("a") {
		t.Fatal("the mark outlived its interval")
	}
}
