package bot

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/slack-go/slack"
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
