package bot

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"

	"github.com/sessionbot/sessionbot/commands"
)

// userDirectory finds Slack users' email addresses (users.info, scope
// users:read.email), cached, so mapping a mention costs one call per person
// per ttl.
type userDirectory struct {
	api *slack.Client
	ttl time.Duration

	mu     sync.Mutex
	emails map[string]cachedEmail
}

type cachedEmail struct {
	email string
	tz    string
	until time.Time
}

func newUserDirectory(api *slack.Client, ttl time.Duration) *userDirectory {
	return &userDirectory{api: api, ttl: ttl, emails: map[string]cachedEmail{}}
}

// Email is commands.Directory's: an id that is not a Slack user's (a name
// typed as @marc without picking it from Slack's list, a group, a channel)
// is no person, and costs no API call.
func (d *userDirectory) Email(ctx context.Context, userID string) (string, error) {
	if !isUserID(userID) {
		return "", &commands.UnknownPerson{Hint: "Pick the person from Slack's list as you type, so Slack sends their user id."}
	}
	c, err := d.lookup(ctx, userID)
	if err == nil && c.email == "" {
		return "", errors.New("no email in their Slack profile: is the bot missing the users:read.email scope?")
	}
	return c.email, err
}

func isUserID(id string) bool { return slackUserID.MatchString(id) }

// isGroupID is a user group (S...) or a channel (C..., G...) in an access
// list: its members count.
func isGroupID(id string) bool {
	return strings.HasPrefix(id, "S") || strings.HasPrefix(id, "C") || strings.HasPrefix(id, "G")
}

// TimeZone is the person's time zone from their Slack profile, UTC when
// unknown, so "yesterday afternoon" means their afternoon.
func (d *userDirectory) TimeZone(ctx context.Context, userID string) *time.Location {
	c, err := d.lookup(ctx, userID)
	if err != nil || c.tz == "" {
		return time.UTC
	}
	loc, err := time.LoadLocation(c.tz)
	if err != nil {
		return time.UTC
	}
	return loc
}

func (d *userDirectory) lookup(ctx context.Context, userID string) (cachedEmail, error) {
	d.mu.Lock()
	c, ok := d.emails[userID]
	d.mu.Unlock()
	if ok && time.Now().Before(c.until) {
		return c, nil
	}
	u, err := d.api.GetUserInfoContext(ctx, userID)
	if err != nil {
		return c, fmt.Errorf("users.info: %w", err)
	}
	if u.Deleted {
		return c, fmt.Errorf("user %s is deactivated", userID)
	}
	c = cachedEmail{email: u.Profile.Email, tz: u.TZ, until: time.Now().Add(d.ttl)}
	d.mu.Lock()
	d.emails[userID] = c
	d.mu.Unlock()
	return c, nil
}

// userGroups expands Slack user groups (usergroups.users.list, scope
// usergroups:read) and channels (conversations.members, scopes
// channels:read and groups:read). The commands service caches the answers.
type userGroups struct{ api *slack.Client }

// maxChannelMembers bounds how many members of a channel are read: access
// lists point at small on-call channels, not #general.
const maxChannelMembers = 5000

// IsGroup is commands.Groups': which ids in access lists are groups.
func (userGroups) IsGroup(id string) bool { return isGroupID(id) }

func (g userGroups) Members(ctx context.Context, id string) ([]string, error) {
	if strings.HasPrefix(id, "S") {
		ids, err := g.api.GetUserGroupMembersContext(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("usergroups.users.list %s: %w", id, err)
		}
		return ids, nil
	}
	var all []string
	params := &slack.GetUsersInConversationParameters{ChannelID: id, Limit: 200}
	for {
		ids, next, err := g.api.GetUsersInConversationContext(ctx, params)
		if err != nil {
			return nil, fmt.Errorf("conversations.members %s: %w", id, err)
		}
		all = append(all, ids...)
		if next == "" {
			return all, nil
		}
		if len(all) >= maxChannelMembers {
			return nil, fmt.Errorf("channel %s has more than %d members: name a user group instead", id, maxChannelMembers)
		}
		params.Cursor = next
	}
}

// TimeZone finds a Slack user's time zone (users.info).
func (s *Slack) TimeZone(ctx context.Context, userID string) *time.Location {
	return s.directory.TimeZone(ctx, userID)
}

// Groups expands approver and requester user groups through Slack.
func (s *Slack) Groups() commands.Groups { return userGroups{api: s.api} }

// OfflineGroups knows which ids in access lists are Slack groups without
// reaching Slack, for the console: a group's members cannot be read there.
type OfflineGroups struct{}

func (OfflineGroups) IsGroup(id string) bool { return isGroupID(id) }

func (OfflineGroups) Members(_ context.Context, id string) ([]string, error) {
	return nil, fmt.Errorf("user group %s cannot be expanded here", id)
}
