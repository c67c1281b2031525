package bot

import (
	"context"
	"fmt"
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
	until time.Time
}

func newUserDirectory(api *slack.Client, ttl time.Duration) *userDirectory {
	return &userDirectory{api: api, ttl: ttl, emails: map[string]cachedEmail{}}
}

func (d *userDirectory) Email(ctx context.Context, userID string) (string, error) {
	d.mu.Lock()
	c, ok := d.emails[userID]
	d.mu.Unlock()
	if ok && time.Now().Before(c.until) {
		return c.email, nil
	}
	u, err := d.api.GetUserInfoContext(ctx, userID)
	if err != nil {
		return "", fmt.Errorf("users.info: %w", err)
	}
	if u.Deleted {
		return "", fmt.Errorf("<@%s> is deactivated", userID)
	}
	d.mu.Lock()
	d.emails[userID] = cachedEmail{email: u.Profile.Email, until: time.Now().Add(d.ttl)}
	d.mu.Unlock()
	return u.Profile.Email, nil
}

// userGroups expands Slack user groups (usergroups.users.list, scope
// usergroups:read). The commands service caches the answers.
type userGroups struct{ api *slack.Client }

func (g userGroups) Members(ctx context.Context, groupID string) ([]string, error) {
	ids, err := g.api.GetUserGroupMembersContext(ctx, groupID)
	if err != nil {
		return nil, fmt.Errorf("usergroups.users.list %s: %w", groupID, err)
	}
	return ids, nil
}

// Groups expands approver and requester user groups through Slack.
func (b *Bot) Groups() commands.Groups { return userGroups{api: b.api} }
