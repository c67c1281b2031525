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

// Retention says how long each kind of record is kept; zero keeps it
// forever.
type Retention struct {
	// Requests are finished requests (done, failed, denied, expired,
	// interrupted), counted from when they finished, with their votes.
	Requests time.Duration
	// Events are audit log entries.
	Events time.Duration
	// Counts are recorded per-node session counts.
	Counts time.Duration
}

// Pruned says how many records a prune deleted.
type Pruned struct {
	Requests, Events, Counts int64
}

// Pruner is a store that deletes what is older than its retention.
type Pruner interface {
	// Prune deletes, of each kind with a retention, what is older than
	// now minus it. Requests not yet finished are never deleted.
	Prune(ctx context.Context, now time.Time, keep Retention) (Pruned, error)
}

// NodeCount is how many sessions a node held when a report ran.
type NodeCount struct {
	Report   string
	At       time.Time
	Instance string
	Node     string
	Sessions int
}

// Reports is a store that keeps scheduled reports' runs and the counts
// they recorded.
type Reports interface {
	// RecordCounts stores one run's counts; a repeat of the same report,
	// time, instance and node keeps the first.
	RecordCounts(ctx context.Context, counts []NodeCount) error
	// Counts returns a report's counts recorded at or after since, oldest
	// first.
	Counts(ctx context.Context, report string, since time.Time) ([]NodeCount, error)
	// StartReport records at as the report's starting point when it has no
	// record yet, and returns the last finished run (or that start).
	StartReport(ctx context.Context, name string, at time.Time) (time.Time, error)
	// ClaimReportRun leases the run of slot to one caller, across replicas,
	// until now+lease: false when slot (or a later one) is finished, or
	// another caller's lease on it is live.
	ClaimReportRun(ctx context.Context, name string, slot, now time.Time, lease time.Duration) (bool, error)
	// FinishReportRun records slot as run.
	FinishReportRun(ctx context.Context, name string, slot time.Time) error
}
