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

// remove forgets key, so that it counts as new again.
func (s *recentSet) remove(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.keys[key]; ok {
		s.order.Remove(e)
		delete(s.keys, key)
	}
}
