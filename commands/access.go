package commands

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"
)

// Policy says who may do what on one instance. Entries are the chat's ids
// of people, or of groups whose members count (which ids are groups, the
// front end's Groups says), never names: names can be changed by their
// owners and are not unique.
type Policy struct {
	// Requesters may ask for a kill or logout. Empty: nobody.
	Requesters []string
	// Approvers may approve or deny. Empty: nobody, so nothing can be ended.
	Approvers []string
	// Destination is where requests are posted for approval, as the front
	// end names it.
	Destination string
	// ApprovalsNeeded is how many distinct approvers must approve (>= 1).
	ApprovalsNeeded int
	// TTL is how long a request waits for approval.
	TTL time.Duration
	// AllowSelfApproval lets a requester approve their own request. Off
	// unless written in config.
	AllowSelfApproval bool
	// NoApproval ends sessions on request, without a second person. Only
	// when written in config; logged loudly at start.
	NoApproval bool
}

// Access holds every instance's policy and who may read.
type Access struct {
	// Listers may list, show and see vendors. Empty: everyone.
	Listers []string
	// Default applies to instances without their own policy.
	Default Policy
	// Instances by lower-case name.
	Instances map[string]Policy
	// AuditMirror is where the Notifier copies every audit event, as the
	// front end names it; empty: no copies.
	AuditMirror string
}

// PolicyFor returns an instance's policy, with defaults filled in.
func (a *Access) PolicyFor(instance string) Policy {
	p, ok := a.Instances[strings.ToLower(instance)]
	if !ok {
		p = a.Default
	}
	if p.ApprovalsNeeded < 1 {
		p.ApprovalsNeeded = 1
	}
	if p.TTL <= 0 {
		p.TTL = 15 * time.Minute
	}
	if p.Destination == "" {
		p.Destination = a.Default.Destination
	}
	return p
}

// Groups is the chat's view of the ids in access lists: which stand for
// several people (a user group, a channel), and who is in them. Without
// Groups every id is one person.
type Groups interface {
	IsGroup(id string) bool
	Members(ctx context.Context, groupID string) ([]string, error)
}

// membership checks people against lists of ids and groups, caching group
// expansions briefly (usergroups.users.list is rate limited).
type membership struct {
	groups Groups
	ttl    time.Duration
	clock  func() time.Time

	mu    sync.Mutex
	cache map[string]cachedGroup
}

type cachedGroup struct {
	members map[string]bool
	until   time.Time
}

func newMembership(g Groups, ttl time.Duration, clock func() time.Time) *membership {
	return &membership{groups: g, ttl: ttl, clock: clock, cache: map[string]cachedGroup{}}
}

// in reports whether user is listed, directly or through a group, from
// group members cached for the ttl.
func (m *membership) in(ctx context.Context, user string, list []string) (bool, error) {
	return m.check(ctx, user, list, false)
}

// inNow is in with every group read again: for votes, so someone removed
// from the approvers cannot approve for the rest of the cache's life.
func (m *membership) inNow(ctx context.Context, user string, list []string) (bool, error) {
	return m.check(ctx, user, list, true)
}

func (m *membership) isGroup(id string) bool {
	return m.groups != nil && m.groups.IsGroup(id)
}

func (m *membership) check(ctx context.Context, user string, list []string, fresh bool) (bool, error) {
	// Only a person is a member: a group's id given as a caller matches
	// nothing, not itself.
	if user == "" || m.isGroup(user) {
		return false, nil
	}
	var groupErr error
	for _, id := range list {
		switch {
		case id == user:
			return true, nil
		case m.isGroup(id):
			members, err := m.members(ctx, id, fresh)
			if err != nil {
				groupErr = err
				continue
			}
			if members[user] {
				return true, nil
			}
		}
	}
	return false, groupErr
}

func (m *membership) members(ctx context.Context, group string, fresh bool) (map[string]bool, error) {
	m.mu.Lock()
	c, ok := m.cache[group]
	m.mu.Unlock()
	if ok && !fresh && m.clock().Before(c.until) {
		return c.members, nil
	}
	ids, err := m.groups.Members(ctx, group)
	if err != nil {
		return nil, fmt.Errorf("expand user group %s: %w", group, err)
	}
	set := make(map[string]bool, len(ids))
	for _, id := range ids {
		set[id] = true
	}
	m.mu.Lock()
	m.cache[group] = cachedGroup{members: set, until: m.clock().Add(m.ttl)}
	m.mu.Unlock()
	return set, nil
}
