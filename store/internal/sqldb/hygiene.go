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
		WHERE state = $2 AND reminded_at = 0 AND approval_shown <> '' AND expires_at > $1
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

var (
	_ store.Pruner  = (*DB)(nil)
	_ store.Reports = (*DB)(nil)
)

// finishedBefore matches requests that can change no more and finished
// before $1: done, failed and interrupted ones by finished_at, denied and
// expired ones (never executed) by decided_at.
const finishedBefore = `state IN ($2, $3, $4, $5, $6) AND (CASE WHEN finished_at > 0 THEN finished_at ELSE decided_at END) < $1`

func (s *DB) prune(ctx context.Context, now time.Time, keep store.Retention) (store.Pruned, error) {
	var out store.Pruned
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return out, fmt.Errorf("begin pruning: %w", err)
	}
	defer tx.Rollback()
	if keep.Requests > 0 {
		args := []any{micros(now.Add(-keep.Requests)), store.StateDone, store.StateFailed, store.StateDenied, store.StateExpired, store.StateInterrupted}
		if _, err := tx.ExecContext(ctx, `DELETE FROM votes WHERE request_id IN (SELECT id FROM requests WHERE `+finishedBefore+`)`, args...); err != nil {
			return out, fmt.Errorf("prune votes of finished requests: %w", err)
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM requests WHERE `+finishedBefore, args...)
		if err != nil {
			return out, fmt.Errorf("prune finished requests: %w", err)
		}
		out.Requests, _ = res.RowsAffected()
	}
	for _, p := range []struct {
		keep  time.Duration
		query string
		n     *int64
	}{
		{keep.Events, `DELETE FROM events WHERE at < $1`, &out.Events},
		{keep.Counts, `DELETE FROM session_counts WHERE at < $1`, &out.Counts},
	} {
		if p.keep <= 0 {
			continue
		}
		res, err := tx.ExecContext(ctx, p.query, micros(now.Add(-p.keep)))
		if err != nil {
			return out, fmt.Errorf("prune: %w", err)
		}
		*p.n, _ = res.RowsAffected()
	}
	if err := tx.Commit(); err != nil {
		return store.Pruned{}, fmt.Errorf("commit pruning: %w", err)
	}
	return out, nil
}

func (s *DB) recordCounts(ctx context.Context, counts []store.NodeCount) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin recording counts: %w", err)
	}
	defer tx.Rollback()
	for _, c := range counts {
		if _, err := tx.ExecContext(ctx, `INSERT INTO session_counts (report, at, instance, node, sessions) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (report, at, instance, node) DO NOTHING`, c.Report, micros(c.At), c.Instance, c.Node, c.Sessions); err != nil {
			return fmt.Errorf("record counts of %s: %w", c.Report, err)
		}
	}
	return tx.Commit()
}

func (s *DB) counts(ctx context.Context, report string, since time.Time) ([]store.NodeCount, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT report, at, instance, node, sessions FROM session_counts
		WHERE report = $1 AND at >= $2 ORDER BY at, instance, node`, report, micros(since))
	if err != nil {
		return nil, fmt.Errorf("read counts of %s: %w", report, err)
	}
	defer rows.Close()
	var out []store.NodeCount
	for rows.Next() {
		var c store.NodeCount
		var at int64
		if err := rows.Scan(&c.Report, &at, &c.Instance, &c.Node, &c.Sessions); err != nil {
			return nil, err
		}
		c.At = fromMicros(at)
		out = append(out, c)
	}
	return out, rows.Err()
}

func (s *DB) startReport(ctx context.Context, name string, at time.Time) (time.Time, error) {
	if _, err := s.db.ExecContext(ctx, `INSERT INTO report_runs (name, done_slot) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING`, name, micros(at)); err != nil {
		return time.Time{}, fmt.Errorf("start report %s: %w", name, err)
	}
	var done int64
	if err := s.db.QueryRowContext(ctx, `SELECT done_slot FROM report_runs WHERE name = $1`, name).Scan(&done); err != nil {
		return time.Time{}, fmt.Errorf("read runs of report %s: %w", name, err)
	}
	return fromMicros(done), nil
}

// claimReportRun is one upsert: PostgreSQL evaluates the WHERE on the
// conflicting row once it holds its lock, so one of several replicas wins.
func (s *DB) claimReportRun(ctx context.Context, name string, slot, now time.Time, lease time.Duration) (bool, error) {
	res, err := s.db.ExecContext(ctx, `INSERT INTO report_runs (name, done_slot, claimed_slot, lease_until) VALUES ($1, 0, $2, $3)
		ON CONFLICT (name) DO UPDATE SET claimed_slot = $2, lease_until = $3
		WHERE report_runs.done_slot < $2 AND (report_runs.claimed_slot < $2 OR report_runs.lease_until <= $4)`,
		name, micros(slot), micros(now.Add(lease)), micros(now))
	if err != nil {
		return false, fmt.Errorf("claim the run of report %s: %w", name, err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

func (s *DB) finishReportRun(ctx context.Context, name string, slot time.Time) error {
	if _, err := s.db.ExecContext(ctx, `UPDATE report_runs SET done_slot = $2 WHERE name = $1 AND done_slot < $2`, name, micros(slot)); err != nil {
		return fmt.Errorf("record the run of report %s: %w", name, err)
	}
	return nil
}

// Prune deletes what is older than its retention.
func (s *DB) Prune(ctx context.Context, now time.Time, keep store.Retention) (store.Pruned, error) {
	return call(s, ctx, func(ctx context.Context) (store.Pruned, error) { return s.prune(ctx, now, keep) })
}

// RecordCounts stores one report run's per-node counts.
func (s *DB) RecordCounts(ctx context.Context, counts []store.NodeCount) error {
	return call0(s, ctx, func(ctx context.Context) error { return s.recordCounts(ctx, counts) })
}

// Counts reads a report's counts since a time, oldest first.
func (s *DB) Counts(ctx context.Context, report string, since time.Time) ([]store.NodeCount, error) {
	return call(s, ctx, func(ctx context.Context) ([]store.NodeCount, error) { return s.counts(ctx, report, since) })
}

// StartReport records a report's starting point once.
func (s *DB) StartReport(ctx context.Context, name string, at time.Time) (time.Time, error) {
	return call(s, ctx, func(ctx context.Context) (time.Time, error) { return s.startReport(ctx, name, at) })
}

// ClaimReportRun leases one run of a report to one caller.
func (s *DB) ClaimReportRun(ctx context.Context, name string, slot, now time.Time, lease time.Duration) (bool, error) {
	return call(s, ctx, func(ctx context.Context) (bool, error) { return s.claimReportRun(ctx, name, slot, now, lease) })
}

// FinishReportRun records a report's run as done.
func (s *DB) FinishReportRun(ctx context.Context, name string, slot time.Time) error {
	return call0(s, ctx, func(ctx context.Context) error { return s.finishReportRun(ctx, name, slot) })
}
