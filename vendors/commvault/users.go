package commvault

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/sessionbot/sessionbot/vendors"
)

// user is a Commvault user as the web service names it.
type user struct {
	id       int64
	name     string // DOMAIN\name or name, as Commvault spells it
	fullName string
}

// userCache maps user names, ignoring case, to users for a while: names
// change rarely, and a lookup is a request before every list.
type userCache struct {
	ttl     time.Duration
	mu      sync.Mutex
	entries map[string]cachedUser
	hits    int64
	misses  int64
}

type cachedUser struct {
	user    user
	expires time.Time
}

func newUserCache(ttl time.Duration) *userCache {
	return &userCache{ttl: ttl, entries: map[string]cachedUser{}}
}

func (c *userCache) get(name string, now time.Time) (user, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[strings.ToLower(name)]
	if !ok || !now.Before(e.expires) {
		c.misses++
		return user{}, false
	}
	c.hits++
	return e.user, true
}

func (c *userCache) put(now time.Time, users ...user) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, e := range c.entries {
		if !now.Before(e.expires) {
			delete(c.entries, k)
		}
	}
	for _, u := range users {
		c.entries[strings.ToLower(u.name)] = cachedUser{user: u, expires: now.Add(c.ttl)}
	}
}

func (c *userCache) counts() (hits, misses int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.hits, c.misses
}

// resolveUser finds a user's id: from the cache, else by name, else in the
// whole user list (releases without byName), which fills the cache.
func (in *Instance) resolveUser(ctx context.Context, id vendors.Identity) (user, error) {
	name := commvaultName(id)
	if u, ok := in.users.get(name, in.now()); ok {
		return u, nil
	}
	u, found, err := in.userByName(ctx, name)
	if err != nil {
		return user{}, err
	}
	if !found {
		all, err := in.allUsers(ctx)
		if err != nil {
			return user{}, err
		}
		for _, candidate := range all {
			if strings.EqualFold(candidate.name, name) {
				return candidate, nil // allUsers cached it
			}
		}
		return user{}, fmt.Errorf(`no Commvault user named "%s": %w`, name, vendors.ErrNotFound)
	}
	in.users.put(in.now(), u)
	return u, nil
}

// userByName asks GET /User/byName(userName='name'). found is false when
// the route is missing or refuses the name, or the user is not there: the
// caller then looks in the whole list.
func (in *Instance) userByName(ctx context.Context, name string) (u user, found bool, err error) {
	// An OData string: quotes doubled, then the whole escaped for the path.
	literal := url.PathEscape(strings.ReplaceAll(name, "'", "''"))
	a, err := in.call(ctx, request{method: http.MethodGet, path: "/User/byName(userName='" + literal + "')"})
	if answeredWith(err, vendors.ErrNotFound) || answeredWith(err, vendors.ErrInvalidInput) {
		in.logger.Debug("commvault byName did not answer; reading the whole user list", "err", err)
		return user{}, false, nil
	}
	if err != nil {
		return user{}, false, within("look up user "+name, err)
	}
	list, err := decodeUsers(a)
	if errors.Is(err, vendors.ErrNotFound) {
		return user{}, false, nil // "user not found" in Commvault's words
	}
	if err != nil {
		return user{}, false, within("look up user "+name, err)
	}
	for _, w := range list {
		if strings.EqualFold(w.UserEntity.UserName, name) {
			u, err := toUser(w)
			return u, err == nil, err
		}
	}
	return user{}, false, nil
}

// allUsers reads GET /User and caches every user in it.
func (in *Instance) allUsers(ctx context.Context) ([]user, error) {
	a, err := in.call(ctx, request{method: http.MethodGet, path: "/User"})
	if answeredWith(err, vendors.ErrNotFound) {
		// The user list always exists: this is not the web service.
		return nil, fmt.Errorf("list users: GET /User answered 404 Not Found (is url the web service base, e.g. https://host/webconsole/api?): %w",
			vendors.ErrBadAnswer)
	}
	if err != nil {
		return nil, within("list users", err)
	}
	list, err := decodeUsers(a)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	users := make([]user, 0, len(list))
	for _, w := range list {
		u, err := toUser(w)
		if err != nil {
			return nil, fmt.Errorf("list users: %w", err)
		}
		users = append(users, u)
	}
	in.users.put(in.now(), users...)
	return users, nil
}

func toUser(w wireUser) (user, error) {
	e := w.UserEntity
	if e.UserName == "" || !e.UserID.set || e.UserID.v <= 0 {
		return user{}, fmt.Errorf("answered a user without userName or userId: %w", vendors.ErrBadAnswer)
	}
	return user{id: e.UserID.v, name: e.UserName, fullName: w.FullName}, nil
}
