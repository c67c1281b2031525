package sqldb

import (
	"context"
	"fmt"
	"time"

	"github.com/sessionbot/sessionbot/store"
)

var _ store.Reminders = (*DB)(nil)

// claimReminders is one compare-and-set on reminded_at: on PostgreSQL a
// second replica's UPDATE waits for the first's row locks and then finds
// reminded_at set; SQLite writes one transaction at a time.
func (s *DB) claimReminders(ctx context.Context, now time.Time) ([]store.Request, error) {
	got, err := s.updateReturning(ctx, `UPDATE requests SET reminded_at = $1
		WHERE state = $2 AND reminded_at = 0 AND approval_ts <> '' AND expires_at > $1
		AND created_at + (expires_at - created_at) / 2 <= $1
		AND NOT EXISTS (SELECT 1 FROM votes WHERE votes.request_id = requests.id)`,
		micros(now), store.StatePending)
	if err != nil {
		return nil, fmt.Errorf("claim reminders: %w", err)
	}
	return got, nil
}

// ClaimReminders marks and returns the requests due a reminder.
func (s *DB) ClaimReminders(ctx context.Context, now time.Time) ([]store.Request, error) {
	return call(s, ctx, func(ctx context.Context) ([]store.Request, error) { return s.claimReminders(ctx, now) })
}
