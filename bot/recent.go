package bot

import (
	"container/list"
	"sync"
	"time"
)

// recentSet remembers keys for a while, bounded in size, so that an
// envelope Slack redelivers is answered once.
type recentSet struct {
	mu    sync.Mutex
	ttl   time.Duration
	max   int
	order *list.List // of entry, oldest first
	keys  map[string]*list.Element
	now   func() time.Time
}

type entry struct {
	key  string
	seen time.Time
}

func newRecentSet(max int, ttl time.Duration) *recentSet {
	return &recentSet{ttl: ttl, max: max, order: list.New(), keys: map[string]*list.Element{}, now: time.Now}
}

// add reports whether key is new, and remembers it.
func (s *recentSet) add(key string) bool {
	if key == "" {
		return true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	for e := s.order.Front(); e != nil; e = s.order.Front() {
		ent := e.Value.(entry)
		if now.Sub(ent.seen) < s.ttl && s.order.Len() < s.max {
			break
		}
		s.order.Remove(e)
		delete(s.keys, ent.key)
	}
	if _, ok := s.keys[key]; ok {
		return false
	}
	s.keys[key] = s.order.PushBack(entry{key: key, seen: now})
	return true
}

// mark is add that hands back the key's entry, for restamp and unmark.
func (s *recentSet) mark(key string) (*list.Element, bool) {
	if !s.add(key) {
		return nil, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.keys[key], true
}

// restamp starts the key's time again, now, if e is still its entry; in
// one step, so no add in between can find the key missing.
func (s *recentSet) restamp(e *list.Element) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ent := e.Value.(entry)
	if s.keys[ent.key] == e {
		e.Value = entry{key: ent.key, seen: s.now()}
		s.order.MoveToBack(e)
	}
}

// unmark forgets the key if e is still its entry (not one evicted and
// set again since), so that it counts as new again.
func (s *recentSet) unmark(e *list.Element) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ent := e.Value.(entry)
	if s.keys[ent.key] == e {
		s.order.Remove(e)
		delete(s.keys, ent.key)
	}
}
