package bot

import (
	"container/list"
	"crypto/rand"
	"encoding/json"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/sessionbot/sessionbot/commands"
)

// Action ids of a long list's buttons: Slack wants them different within
// a block.
const (
	ActionPrevPage = "sessions_page_prev"
	ActionNextPage = "sessions_page_next"
	ActionRefresh  = "sessions_refresh"
)

// A list's result is kept this long for its page buttons, within this many
// sessions in all; past that a click runs the command again.
const (
	pageCacheTTL      = 10 * time.Minute
	pageCacheSessions = 50000
	pageCacheEntries  = 200
)

// pageValue is what a page button carries: a short key to the kept result,
// whom it was made for, and the page wanted. The command rides along when it
// fits, so a click that misses the cache (expired, or another replica) can
// run it again.
type pageValue struct {
	Version int    `json:"v"`
	Key     string `json:"k"`
	Asker   string `json:"u"`
	Page    int    `json:"p"`
	Command string `json:"c,omitempty"`
}

const pageValueVersion = 2

// listRef is where a rendered list's result is kept, for its buttons.
type listRef struct {
	Key, Asker string
	At         time.Time
}

func encodePage(ref listRef, cmd commands.Command, page int) string {
	v := pageValue{Version: pageValueVersion, Key: ref.Key, Asker: ref.Asker, Page: page, Command: cmd.String()}
	if s, err := marshal(v); err == nil && utf8.RuneCountInString(s) <= maxButtonValue {
		return s
	}
	v.Command = ""
	s, _ := marshal(v)
	return s
}

func decodePage(s string) (pageValue, error) {
	var v pageValue
	if err := json.Unmarshal([]byte(s), &v); err != nil || v.Version != pageValueVersion || v.Page < 1 {
		return pageValue{}, errOldButton
	}
	return v, nil
}

// pageCache keeps list results for their page buttons: bounded in
// entries and sessions, each entry readable only by the person it was
// made for.
type pageCache struct {
	mu       sync.Mutex
	ttl      time.Duration
	max      int // sessions in all
	entries  int
	sessions int
	order    *list.List // of *keptList, oldest first
	byKey    map[string]*list.Element
	now      func() time.Time
}

type keptList struct {
	ref   listRef
	reply commands.Reply
	lay   *layout
	size  int
}

func newPageCache(ttl time.Duration, maxSessions, maxEntries int) *pageCache {
	return &pageCache{ttl: ttl, max: maxSessions, entries: maxEntries, order: list.New(), byKey: map[string]*list.Element{}, now: time.Now}
}

// newRef names a result about to be rendered for asker.
func (c *pageCache) newRef(asker string) listRef {
	return listRef{Key: rand.Text()[:16], Asker: asker, At: c.now()}
}

// put keeps a result under its ref, dropping the oldest to stay in bounds.
// A result larger than the whole budget is not kept.
func (c *pageCache) put(ref listRef, r commands.Reply, lay *layout) {
	size := r.SessionCount() + 1
	if size > c.max {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.expire()
	for c.order.Len() > 0 && (c.sessions+size > c.max || c.order.Len() >= c.entries) {
		c.remove(c.order.Front())
	}
	c.byKey[ref.Key] = c.order.PushBack(&keptList{ref: ref, reply: r, lay: lay, size: size})
	c.sessions += size
}

// get returns the result kept under key, if it is there, fresh, and was
// made for asker.
func (c *pageCache) get(key, asker string) (*keptList, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.expire()
	e, ok := c.byKey[key]
	if !ok {
		return nil, false
	}
	k := e.Value.(*keptList)
	if k.ref.Asker != asker {
		return nil, false
	}
	return k, true
}

func (c *pageCache) expire() {
	now := c.now()
	for e := c.order.Front(); e != nil && now.Sub(e.Value.(*keptList).ref.At) >= c.ttl; e = c.order.Front() {
		c.remove(e)
	}
}

func (c *pageCache) remove(e *list.Element) {
	k := c.order.Remove(e).(*keptList)
	delete(c.byKey, k.ref.Key)
	c.sessions -= k.size
}
