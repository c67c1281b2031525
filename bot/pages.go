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

// A list's result is kept this long for its page buttons, within about
// this many bytes in all (a fifth of the chart's 128 MiB memory limit);
// past that a click runs the command again.
const (
	pageCacheTTL     = 10 * time.Minute
	pageCacheBytes   = 24 << 20
	pageCacheEntries = 200
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
// entries and bytes, each entry readable only by the person it was
// made for.
type pageCache struct {
	mu      sync.Mutex
	ttl     time.Duration
	max     int // bytes in all, as keptSize counts them
	entries int
	held    int        // bytes, as keptSize counts them
	order   *list.List // of *keptList, oldest first
	byKey   map[string]*list.Element
	now     func() time.Time
}

type keptList struct {
	ref   listRef
	reply commands.Reply
	lay   *layout
	size  int
}

func newPageCache(ttl time.Duration, maxBytes, maxEntries int) *pageCache {
	return &pageCache{ttl: ttl, max: maxBytes, entries: maxEntries, order: list.New(), byKey: map[string]*list.Element{}, now: time.Now}
}

// newRef names a result about to be rendered for asker.
func (c *pageCache) newRef(asker string) listRef {
	return listRef{Key: rand.Text()[:16], Asker: asker, At: c.now()}
}

// put keeps a result under its ref, dropping the oldest to stay in bounds.
// A result larger than the whole budget is not kept.
func (c *pageCache) put(ref listRef, r commands.Reply, lay *layout) {
	size := keptSize(r, lay)
	if size > c.max {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.expire()
	for c.order.Len() > 0 && (c.held+size > c.max || c.order.Len() >= c.entries) {
		c.remove(c.order.Front())
	}
	c.byKey[ref.Key] = c.order.PushBack(&keptList{ref: ref, reply: r, lay: lay, size: size})
	c.held += size
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
	c.held -= k.size
}

// keptSize estimates the memory a kept list holds: its sessions' strings
// and its laid-out texts, with the structs around them. Sessions alone
// would not do: one can carry kilobytes of attributes.
func keptSize(r commands.Reply, lay *layout) int {
	const sessionStruct, attributeStruct, unitStruct, textHeader = 208, 32, 80, 17
	n := 1024
	for _, g := range r.Groups {
		for _, s := range g.Sessions {
			n += sessionStruct + len(s.Instance) + len(s.ID) + len(s.User.Directory) + len(s.User.ID) + len(s.UserName) + len(s.Node)
			for _, a := range s.Attributes {
				n += attributeStruct + len(a.Name) + len(a.Value)
			}
		}
	}
	if lay != nil {
		for _, u := range lay.units {
			n += unitStruct + len(u.kill)
			for _, t := range u.texts {
				n += textHeader + len(t)
			}
		}
	}
	return n
}
