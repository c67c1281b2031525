package store

import (
	"context"
	"time"
)

// Reminders is a store that hands out each pending request's reminder
// once. Engines implement it beside Store; callers check with a type
// assertion.
type Reminders interface {
	// ClaimReminders marks as reminded every pending request that is at
	// least half-way to expiry, has no vote and has a posted approval
	// message, and returns them oldest first. Each request is returned
	// once, to one caller, ever: a reminder lost to a crash after its claim
	// is not sent again (one reminder too few rather than two).
	ClaimReminders(ctx context.Context, now time.Time) ([]Request, error)
}
