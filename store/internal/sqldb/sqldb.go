// Package sqldb is the SQL both storage engines share. Queries are written
// with $1-style placeholders, which SQLite and PostgreSQL both accept, and
// times are stored as Unix microseconds so comparisons are exact on both.
package sqldb

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/sessionbot/sessionbot/store"
)

// Dialect holds what differs between engines.
type Dialect struct {
	// ForUpdate is appended to a SELECT that must lock its row for the
	// rest of the transaction ("" where the transaction already holds the
	// database's write lock, as SQLite's BEGIN IMMEDIATE does).
	ForUpdate string
	// LockMigrations serialises migrations of replicas starting at once.
	LockMigrations string
	// CallTimeout bounds each store call whose context has no earlier
	// deadline, so a database that accepts connections and answers nothing
	// stalls no vote or sweep for longer. Zero: no bound.
	CallTimeout time.Duration
}

// DB implements store.Store over database/sql.
type DB struct {
	db *sql.DB
	d  Dialect
	// writes group audit rows and once-keys into shared transactions.
	writes *groupWriter
	// prunedAt is when expired once-keys were last deleted (Unix µs).
	prunedAt atomic.Int64
	// The two statements every command runs, parsed once.
	appendEventStmt, claimKey *sql.Stmt
}

const (
	appendEventSQL = `INSERT INTO events (at, actor, channel, action, command, vendor, instance, target, request_id, result, detail)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11) RETURNING id`
	// A key whose ttl passed is taken over even if not pruned yet.
	claimKeySQL = `INSERT INTO once_keys (key, expires_at) VALUES ($1, $2)
		ON CONFLICT (key) DO UPDATE SET expires_at = excluded.expires_at WHERE once_keys.expires_at <= $3`
)

var _ store.Store = (*DB)(nil)

// New wraps an open database and applies the migrations (see plan) of the
// shared folder and the engine's, each version once.
func New(ctx context.Context, db *sql.DB, d Dialect, engine fs.FS) (*DB, error) {
	s := &DB{db: db, d: d}
	if err := s.migrate(ctx, engine); err != nil {
		return nil, err
	}
	var err error
	if s.appendEventStmt, err = db.PrepareContext(ctx, appendEventSQL); err != nil {
		return nil, fmt.Errorf("prepare: %w", err)
	}
	if s.claimKey, err = db.PrepareContext(ctx, claimKeySQL); err != nil {
		return nil, fmt.Errorf("prepare: %w", err)
	}
	s.writes = newGroupWriter(db)
	return s, nil
}

func (s *DB) migrate(ctx context.Context, engine fs.FS) error {
	versions, err := plan(engine)
	if err != nil {
		return err
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin migrations: %w", err)
	}
	defer tx.Rollback()
	if s.d.LockMigrations != "" {
		if _, err := tx.ExecContext(ctx, s.d.LockMigrations); err != nil {
			return fmt.Errorf("lock migrations: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)`); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	for _, m := range versions {
		var seen int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE version = $1`, m.version).Scan(&seen); err != nil {
			return fmt.Errorf("read schema_migrations: %w", err)
		}
		if seen > 0 {
			continue
		}
		for _, st := range m.statements {
			if _, err := tx.ExecContext(ctx, st.sql); err != nil {
				return fmt.Errorf("migration %s: %w", st.file, err)
			}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)`, m.version, micros(time.Now())); err != nil {
			return fmt.Errorf("record migration %s: %w", m.name, err)
		}
	}
	return tx.Commit()
}

// Close closes the database.
func (s *DB) Close() error {
	s.writes.close()
	s.appendEventStmt.Close()
	s.claimKey.Close()
	return s.db.Close()
}

func micros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

func fromMicros(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMicro(v).UTC()
}

const requestColumns = `id, action, vendor, instance, session_id, target_directory, target_user, node, session_started,
	reason, requester, approvals_needed, allow_self_approval, state,
	created_at, expires_at, decided_at, execution_started, lease_until, finished_at, executor, outcome,
	delivery, proposal_key, approval_shown`

type scanner interface{ Scan(dest ...any) error }

func scanRequest(row scanner) (store.Request, error) {
	var r store.Request
	var started, created, expires, decided, execStarted, lease, finished int64
	var self int
	err := row.Scan(&r.ID, &r.Action, &r.Vendor, &r.Instance, &r.SessionID, &r.TargetDirectory, &r.TargetUser, &r.Node, &started,
		&r.Reason, &r.Requester, &r.ApprovalsNeeded, &self, &r.State,
		&created, &expires, &decided, &execStarted, &lease, &finished, &r.Executor, &r.Outcome,
		&r.Delivery, &r.ProposalKey, &r.ApprovalShown)
	if err != nil {
		return r, err
	}
	r.AllowSelfApproval = self != 0
	r.SessionStarted, r.CreatedAt, r.ExpiresAt = fromMicros(started), fromMicros(created), fromMicros(expires)
	r.DecidedAt, r.ExecutionStarted, r.ExecutionLeaseUntil, r.FinishedAt = fromMicros(decided), fromMicros(execStarted), fromMicros(lease), fromMicros(finished)
	return r, nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// createRequest stores a new request.
func (s *DB) createRequest(ctx context.Context, r store.Request) error {
	if err := validate(r); err != nil {
		return fmt.Errorf("store request %s: %w", r.ID, err)
	}
	// The conflict target is the partial index on proposal_key: a
	// repeated confirmation inserts nothing, a duplicate id still fails.
	res, err := s.db.ExecContext(ctx, `INSERT INTO requests (`+requestColumns+`) VALUES
		($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21,$22,$23,$24,$25)
		ON CONFLICT (proposal_key) WHERE proposal_key <> '' DO NOTHING`,
		r.ID, r.Action, r.Vendor, r.Instance, r.SessionID, r.TargetDirectory, r.TargetUser, r.Node, micros(r.SessionStarted),
		r.Reason, r.Requester, r.ApprovalsNeeded, boolInt(r.AllowSelfApproval), r.State,
		micros(r.CreatedAt), micros(r.ExpiresAt), micros(r.DecidedAt), micros(r.ExecutionStarted), micros(r.ExecutionLeaseUntil), micros(r.FinishedAt), r.Executor, r.Outcome,
		r.Delivery, r.ProposalKey, r.ApprovalShown)
	if err != nil {
		return fmt.Errorf("store request %s: %w", r.ID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("store request %s: proposal %s: %w", r.ID, r.ProposalKey, store.ErrDuplicate)
	}
	return nil
}

func (s *DB) requestByProposal(ctx context.Context, key string) (store.Request, error) {
	if key == "" {
		return store.Request{}, fmt.Errorf("request of proposal %q: %w", key, store.ErrNotFound)
	}
	r, err := scanRequest(s.db.QueryRowContext(ctx, `SELECT `+requestColumns+` FROM requests WHERE proposal_key = $1`, key))
	if errors.Is(err, sql.ErrNoRows) {
		return r, fmt.Errorf("request of proposal %s: %w", key, store.ErrNotFound)
	}
	if err != nil {
		return r, fmt.Errorf("read request of proposal %s: %w", key, err)
	}
	return r, nil
}

func validate(r store.Request) error {
	var missing []string
	for _, f := range []struct {
		name string
		ok   bool
	}{
		{"an id", r.ID != ""},
		{"an action", r.Action != ""},
		{"a vendor", r.Vendor != ""},
		{"an instance", r.Instance != ""},
		{"a requester", r.Requester != ""},
		{"a state", r.State != ""},
		{"at least one approval", r.ApprovalsNeeded >= 1},
		{"an expiry time", !r.ExpiresAt.IsZero()},
	} {
		if !f.ok {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("a request needs %s: %w", strings.Join(missing, ", "), store.ErrInvalid)
	}
	return nil
}

type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func getRequest(ctx context.Context, q querier, id, suffix string) (store.Request, error) {
	r, err := scanRequest(q.QueryRowContext(ctx, `SELECT `+requestColumns+` FROM requests WHERE id = $1`+suffix, id))
	if errors.Is(err, sql.ErrNoRows) {
		return r, fmt.Errorf("request %s: %w", id, store.ErrNotFound)
	}
	return r, err
}

func votes(ctx context.Context, q querier, id string) ([]store.Vote, error) {
	rows, err := q.QueryContext(ctx, `SELECT request_id, voter, approve, reason, at FROM votes WHERE request_id = $1 ORDER BY at, voter`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.Vote
	for rows.Next() {
		var v store.Vote
		var approve int
		var at int64
		if err := rows.Scan(&v.RequestID, &v.Voter, &approve, &v.Reason, &at); err != nil {
			return nil, err
		}
		v.Approve, v.At = approve != 0, fromMicros(at)
		out = append(out, v)
	}
	return out, rows.Err()
}

// readRequest reads a request and its votes.
func (s *DB) readRequest(ctx context.Context, id string) (store.Request, []store.Vote, error) {
	r, err := getRequest(ctx, s.db, id, "")
	if errors.Is(err, store.ErrNotFound) {
		return r, nil, err
	}
	if err != nil {
		return r, nil, fmt.Errorf("read request %s: %w", id, err)
	}
	v, err := votes(ctx, s.db, id)
	if err != nil {
		return r, nil, fmt.Errorf("read votes on request %s: %w", id, err)
	}
	return r, v, nil
}

// vote records a vote and decides the request when it should, in one
// transaction that holds the request's row.
func (s *DB) vote(ctx context.Context, v store.Vote, now time.Time) (store.VoteResult, error) {
	var res store.VoteResult
	if v.Voter == "" || v.RequestID == "" {
		return res, fmt.Errorf("vote on request %q by %q: a vote needs a request and a voter: %w", v.RequestID, v.Voter, store.ErrInvalid)
	}
	failed := func(doing string, err error) error {
		return fmt.Errorf("vote by %s on request %s: %s: %w", v.Voter, v.RequestID, doing, err)
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return res, failed("begin", err)
	}
	defer tx.Rollback()
	r, err := getRequest(ctx, tx, v.RequestID, s.d.ForUpdate)
	if errors.Is(err, store.ErrNotFound) {
		return res, err
	}
	if err != nil {
		return res, failed("read request", err)
	}
	switch {
	case r.State != store.StatePending:
		return res, &store.NotPendingError{ID: r.ID, State: r.State}
	case !now.Before(r.ExpiresAt):
		return res, fmt.Errorf("request %s: %w", r.ID, store.ErrExpired)
	case v.Voter == r.Requester && v.Approve && !r.AllowSelfApproval:
		return res, fmt.Errorf("request %s: %w", r.ID, store.ErrSelfApproval)
	}
	if v.At.IsZero() {
		v.At = now
	}
	ins, err := tx.ExecContext(ctx, `INSERT INTO votes (request_id, voter, approve, reason, at) VALUES ($1,$2,$3,$4,$5)
		ON CONFLICT (request_id, voter) DO NOTHING`, v.RequestID, v.Voter, boolInt(v.Approve), v.Reason, micros(v.At))
	if err != nil {
		return res, failed("record vote", err)
	}
	if n, _ := ins.RowsAffected(); n == 1 {
		res.Recorded = true
		decide, next := true, store.StateDenied
		if v.Approve {
			var approvals int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM votes WHERE request_id = $1 AND approve = 1`, r.ID).Scan(&approvals); err != nil {
				return res, failed("count approvals", err)
			}
			decide, next = approvals >= r.ApprovalsNeeded, store.StateApproved
		}
		if decide {
			up, err := tx.ExecContext(ctx, `UPDATE requests SET state = $1, decided_at = $2 WHERE id = $3 AND state = $4`,
				next, micros(now), r.ID, store.StatePending)
			if err != nil {
				return res, failed("decide", err)
			}
			n, _ := up.RowsAffected()
			res.Decided = n == 1
		}
	}
	if res.Request, err = getRequest(ctx, tx, r.ID, ""); err != nil {
		return res, failed("read request", err)
	}
	if res.Votes, err = votes(ctx, tx, r.ID); err != nil {
		return res, failed("read votes", err)
	}
	if err := tx.Commit(); err != nil {
		return store.VoteResult{}, failed("commit", err)
	}
	return res, nil
}

// withdraw denies a pending request for its requester, in one
// compare-and-set: a withdrawal racing a deciding vote loses or wins whole.
func (s *DB) withdraw(ctx context.Context, id, requester string, now time.Time) (store.Request, error) {
	got, err := s.updateReturning(ctx, `UPDATE requests SET state = $1, decided_at = $2, outcome = $3
		WHERE id = $4 AND state = $5 AND requester = $6`, store.StateDenied, micros(now), store.WithdrawnOutcome, id, store.StatePending, requester)
	if err != nil {
		return store.Request{}, fmt.Errorf("withdraw request %s: %w", id, err)
	}
	if len(got) == 1 {
		return got[0], nil
	}
	r, err := getRequest(ctx, s.db, id, "")
	switch {
	case err != nil:
		return store.Request{}, fmt.Errorf("withdraw request %s: %w", id, err)
	case r.Requester != requester:
		return store.Request{}, fmt.Errorf("withdraw request %s: %w", id, store.ErrNotRequester)
	}
	return store.Request{}, &store.NotPendingError{ID: r.ID, State: r.State}
}

// claimExecution moves approved to executing for exactly one caller.
func (s *DB) claimExecution(ctx context.Context, id, executor string, now time.Time, lease time.Duration) (store.Request, error) {
	got, err := s.updateReturning(ctx, `UPDATE requests SET state = $1, executor = $2, execution_started = $3, lease_until = $4
		WHERE id = $5 AND state = $6`, store.StateExecuting, executor, micros(now), micros(now.Add(lease)), id, store.StateApproved)
	if err != nil {
		return store.Request{}, fmt.Errorf("claim execution of request %s: %w", id, err)
	}
	if len(got) != 1 {
		return store.Request{}, s.conflict(ctx, "claim execution of", id, "approved")
	}
	return got[0], nil
}

// finishExecution records the outcome, for the executor that claimed it.
func (s *DB) finishExecution(ctx context.Context, id, executor string, state store.State, outcome string, now time.Time) error {
	if state != store.StateDone && state != store.StateFailed && state != store.StateUnknown {
		return fmt.Errorf("finish request %s: an execution ends done, failed or unknown, not %q: %w", id, state, store.ErrInvalid)
	}
	// The second arm matches a retry of a write that committed but whose
	// answer was lost: the same outcome again changes nothing.
	up, err := s.db.ExecContext(ctx, `UPDATE requests SET state = $1, outcome = $2, finished_at = CASE WHEN state = $5 THEN $3 ELSE finished_at END
		WHERE id = $4 AND executor = $6 AND (state = $5 OR (state = $1 AND outcome = $2))`, state, outcome, micros(now), id, store.StateExecuting, executor)
	if err != nil {
		return fmt.Errorf("finish request %s: %w", id, err)
	}
	if n, _ := up.RowsAffected(); n != 1 {
		return s.conflict(ctx, "finish", id, "executing by "+executor)
	}
	return nil
}

// settleUnknown records what a re-read found after a timed-out execution.
func (s *DB) settleUnknown(ctx context.Context, id string, state store.State, outcome string, now time.Time) error {
	if state != store.StateDone && state != store.StateFailed {
		return fmt.Errorf("settle request %s: an unknown outcome settles done or failed, not %q: %w", id, state, store.ErrInvalid)
	}
	up, err := s.db.ExecContext(ctx, `UPDATE requests SET state = $1, outcome = $2, finished_at = $3 WHERE id = $4 AND state = $5`,
		state, outcome, micros(now), id, store.StateUnknown)
	if err != nil {
		return fmt.Errorf("settle request %s: %w", id, err)
	}
	if n, _ := up.RowsAffected(); n != 1 {
		return s.conflict(ctx, "settle", id, "unknown")
	}
	return nil
}

// conflict explains a compare-and-set that matched no row: the request is
// missing, or in another state than the one wanted.
func (s *DB) conflict(ctx context.Context, doing, id, want string) error {
	r, err := getRequest(ctx, s.db, id, "")
	if err != nil {
		return fmt.Errorf("%s request %s: %w", doing, id, err)
	}
	now := string(r.State)
	if r.Executor != "" && (r.State == store.StateExecuting || r.State.Final()) {
		now += " (executor " + r.Executor + ")"
	}
	return fmt.Errorf("%s request %s: it is %s, not %s: %w", doing, id, now, want, store.ErrConflict)
}

func (s *DB) updateReturning(ctx context.Context, query string, args ...any) ([]store.Request, error) {
	rows, err := s.db.QueryContext(ctx, query+` RETURNING `+requestColumns, args...)
	if err != nil {
		return nil, err
	}
	out, err := scanRequests(rows)
	if err != nil {
		return nil, err
	}
	// RETURNING has no order; callers update the chat messages oldest first.
	slices.SortFunc(out, func(a, b store.Request) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID))
	})
	return out, nil
}

// expirePending expires what is due.
func (s *DB) expirePending(ctx context.Context, now time.Time) ([]store.Request, error) {
	got, err := s.updateReturning(ctx, `UPDATE requests SET state = $1, decided_at = $2 WHERE state = $3 AND expires_at <= $2`,
		store.StateExpired, micros(now), store.StatePending)
	if err != nil {
		return nil, fmt.Errorf("expire pending requests: %w", err)
	}
	return got, nil
}

// recoverInterrupted marks executions whose lease ran out. The executor,
// start time and lease stay on the request for whoever checks the vendor.
func (s *DB) recoverInterrupted(ctx context.Context, now time.Time) ([]store.Request, error) {
	got, err := s.updateReturning(ctx, `UPDATE requests SET state = $1, finished_at = $2, outcome = $3
		WHERE state = $4 AND lease_until <= $2`, store.StateInterrupted, micros(now), store.InterruptedOutcome, store.StateExecuting)
	if err != nil {
		return nil, fmt.Errorf("recover interrupted executions: %w", err)
	}
	return got, nil
}

// setApprovalMessage records that the approval message was posted.
func (s *DB) setApprovalMessage(ctx context.Context, id, delivery string) error {
	up, err := s.db.ExecContext(ctx, `UPDATE requests SET delivery = $1, approval_shown = $2 WHERE id = $3`,
		delivery, store.StatePending, id)
	if err != nil {
		return fmt.Errorf("record approval message of request %s: %w", id, err)
	}
	if n, _ := up.RowsAffected(); n != 1 {
		return fmt.Errorf("record approval message of request %s: %w", id, store.ErrNotFound)
	}
	return nil
}

func (s *DB) markApprovalShown(ctx context.Context, id string, state store.State) error {
	if _, err := s.db.ExecContext(ctx, `UPDATE requests SET approval_shown = $1 WHERE id = $2`, state, id); err != nil {
		return fmt.Errorf("record what the approval message of request %s shows: %w", id, err)
	}
	return nil
}

func (s *DB) staleApprovalMessages(ctx context.Context) ([]store.Request, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+requestColumns+` FROM requests
		WHERE (approval_shown = '' AND state = $1) OR (approval_shown <> '' AND approval_shown <> state)
		ORDER BY created_at, id`, store.StatePending)
	if err != nil {
		return nil, fmt.Errorf("list stale approval messages: %w", err)
	}
	return scanRequests(rows)
}

// listRequests lists requests in the given states, newest first.
func (s *DB) listRequests(ctx context.Context, states ...store.State) ([]store.Request, error) {
	query := `SELECT ` + requestColumns + ` FROM requests`
	var args []any
	if len(states) > 0 {
		var marks []string
		for i, st := range states {
			marks = append(marks, "$"+strconv.Itoa(i+1))
			args = append(args, st)
		}
		query += ` WHERE state IN (` + strings.Join(marks, ",") + `)`
	}
	rows, err := s.db.QueryContext(ctx, query+` ORDER BY created_at DESC, id`, args...)
	if err != nil {
		return nil, fmt.Errorf("list requests: %w", err)
	}
	return scanRequests(rows)
}

// scanRequests reads every row and closes rows.
func scanRequests(rows *sql.Rows) ([]store.Request, error) {
	defer rows.Close()
	var out []store.Request
	for rows.Next() {
		r, err := scanRequest(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// appendEvent adds to the audit log, committed together with whatever
// other appends and claims are waiting.
func (s *DB) appendEvent(ctx context.Context, e store.Event) (int64, error) {
	var id int64
	err := s.writes.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		return tx.StmtContext(ctx, s.appendEventStmt).QueryRowContext(ctx,
			micros(e.At), e.Actor, e.Where, e.Action, e.Command, e.Vendor, e.Instance, e.Target, e.RequestID, e.Result, e.Detail).Scan(&id)
	})
	if err != nil {
		return 0, fmt.Errorf("append audit event: %w", err)
	}
	return id, nil
}

// events reads the audit log, oldest first.
func (s *DB) events(ctx context.Context, f store.EventFilter) ([]store.Event, error) {
	var where []string
	var args []any
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, strings.ReplaceAll(cond, "?", "$"+strconv.Itoa(len(args))))
	}
	if !f.Since.IsZero() {
		add("at >= ?", micros(f.Since))
	}
	if !f.Until.IsZero() {
		add("at <= ?", micros(f.Until))
	}
	if f.Actor != "" {
		add("actor = ?", f.Actor)
	}
	if f.Target != "" {
		add("lower(target) = lower(?)", f.Target)
	}
	if f.RequestID != "" {
		add("request_id = ?", f.RequestID)
	}
	query := `SELECT id, at, actor, channel, action, command, vendor, instance, target, request_id, result, detail FROM events`
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += " ORDER BY id"
	if f.Limit > 0 {
		// The newest Limit events, still oldest first.
		query = `SELECT * FROM (` + strings.Replace(query, "ORDER BY id", "ORDER BY id DESC", 1) + ` LIMIT ` + strconv.Itoa(f.Limit) + `) newest ORDER BY id`
	}
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("read audit log: %w", err)
	}
	defer rows.Close()
	var out []store.Event
	for rows.Next() {
		var e store.Event
		var at int64
		if err := rows.Scan(&e.ID, &at, &e.Actor, &e.Where, &e.Action, &e.Command, &e.Vendor, &e.Instance, &e.Target, &e.RequestID, &e.Result, &e.Detail); err != nil {
			return nil, err
		}
		e.At = fromMicros(at)
		out = append(out, e)
	}
	return out, rows.Err()
}

// pruneEvery is how often expired once-keys are deleted: a claim takes an
// expired key over anyway, so pruning only keeps the table small.
const pruneEvery = time.Minute

// claimOnce is true for the first caller with a key until ttl passes.
func (s *DB) claimOnce(ctx context.Context, key string, now time.Time, ttl time.Duration) (bool, error) {
	var first bool
	err := s.writes.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if last := s.prunedAt.Load(); now.Sub(fromMicros(last)) >= pruneEvery && s.prunedAt.CompareAndSwap(last, micros(now)) {
			if _, err := tx.ExecContext(ctx, `DELETE FROM once_keys WHERE expires_at <= $1`, micros(now)); err != nil {
				return fmt.Errorf("prune once keys: %w", err)
			}
		}
		res, err := tx.StmtContext(ctx, s.claimKey).ExecContext(ctx, key, micros(now.Add(ttl)), micros(now))
		if err != nil {
			return fmt.Errorf("claim %s: %w", key, err)
		}
		n, _ := res.RowsAffected()
		first = n == 1
		return nil
	})
	if err != nil {
		// A caller that gave up is answered before its write may still
		// run: first is the writer's until do returns nil.
		return false, err
	}
	return first, nil
}

// bound gives a call its own deadline unless its context has an earlier
// one.
func (s *DB) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	if s.d.CallTimeout <= 0 {
		return ctx, func() {}
	}
	return context.WithTimeoutCause(ctx, s.d.CallTimeout, fmt.Errorf("the database did not answer within %s", s.d.CallTimeout))
}

// call runs f under the call's deadline and says so when it ran out.
func call[T any](s *DB, ctx context.Context, f func(context.Context) (T, error)) (T, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	v, err := f(ctx)
	if err != nil && ctx.Err() != nil {
		err = fmt.Errorf("%w (%v)", err, context.Cause(ctx))
	}
	return v, err
}

func call0(s *DB, ctx context.Context, f func(context.Context) error) error {
	_, err := call(s, ctx, func(ctx context.Context) (struct{}, error) { return struct{}{}, f(ctx) })
	return err
}

// CreateRequest stores a new request.
func (s *DB) CreateRequest(ctx context.Context, r store.Request) error {
	return call0(s, ctx, func(ctx context.Context) error { return s.createRequest(ctx, r) })
}

// RequestByProposal finds the request made from a proposal.
func (s *DB) RequestByProposal(ctx context.Context, key string) (store.Request, error) {
	return call(s, ctx, func(ctx context.Context) (store.Request, error) { return s.requestByProposal(ctx, key) })
}

// GetRequest reads a request and its votes.
func (s *DB) GetRequest(ctx context.Context, id string) (store.Request, []store.Vote, error) {
	var votes []store.Vote
	r, err := call(s, ctx, func(ctx context.Context) (r store.Request, err error) {
		r, votes, err = s.readRequest(ctx, id)
		return r, err
	})
	return r, votes, err
}

// Vote records a vote and decides the request when it should.
func (s *DB) Vote(ctx context.Context, v store.Vote, now time.Time) (store.VoteResult, error) {
	return call(s, ctx, func(ctx context.Context) (store.VoteResult, error) { return s.vote(ctx, v, now) })
}

// Withdraw denies a pending request for its requester.
func (s *DB) Withdraw(ctx context.Context, id, requester string, now time.Time) (store.Request, error) {
	return call(s, ctx, func(ctx context.Context) (store.Request, error) { return s.withdraw(ctx, id, requester, now) })
}

// ClaimExecution moves approved to executing for exactly one caller.
func (s *DB) ClaimExecution(ctx context.Context, id, executor string, now time.Time, lease time.Duration) (store.Request, error) {
	return call(s, ctx, func(ctx context.Context) (store.Request, error) {
		return s.claimExecution(ctx, id, executor, now, lease)
	})
}

// FinishExecution records the outcome, for the executor that claimed it.
func (s *DB) FinishExecution(ctx context.Context, id, executor string, state store.State, outcome string, now time.Time) error {
	return call0(s, ctx, func(ctx context.Context) error { return s.finishExecution(ctx, id, executor, state, outcome, now) })
}

// SettleUnknown records what a re-read found after a timed-out execution.
func (s *DB) SettleUnknown(ctx context.Context, id string, state store.State, outcome string, now time.Time) error {
	return call0(s, ctx, func(ctx context.Context) error { return s.settleUnknown(ctx, id, state, outcome, now) })
}

// ExpirePending expires what is due.
func (s *DB) ExpirePending(ctx context.Context, now time.Time) ([]store.Request, error) {
	return call(s, ctx, func(ctx context.Context) ([]store.Request, error) { return s.expirePending(ctx, now) })
}

// RecoverInterrupted marks executions whose lease ran out.
func (s *DB) RecoverInterrupted(ctx context.Context, now time.Time) ([]store.Request, error) {
	return call(s, ctx, func(ctx context.Context) ([]store.Request, error) { return s.recoverInterrupted(ctx, now) })
}

// SetApprovalMessage records that the approval message was posted.
func (s *DB) SetApprovalMessage(ctx context.Context, id, delivery string) error {
	return call0(s, ctx, func(ctx context.Context) error { return s.setApprovalMessage(ctx, id, delivery) })
}

// MarkApprovalShown records what the approval message shows.
func (s *DB) MarkApprovalShown(ctx context.Context, id string, state store.State) error {
	return call0(s, ctx, func(ctx context.Context) error { return s.markApprovalShown(ctx, id, state) })
}

// StaleApprovalMessages lists approval messages to post or update again.
func (s *DB) StaleApprovalMessages(ctx context.Context) ([]store.Request, error) {
	return call(s, ctx, s.staleApprovalMessages)
}

// ListRequests lists requests in the given states, newest first.
func (s *DB) ListRequests(ctx context.Context, states ...store.State) ([]store.Request, error) {
	return call(s, ctx, func(ctx context.Context) ([]store.Request, error) { return s.listRequests(ctx, states...) })
}

// AppendEvent adds to the audit log.
func (s *DB) AppendEvent(ctx context.Context, e store.Event) (int64, error) {
	return call(s, ctx, func(ctx context.Context) (int64, error) { return s.appendEvent(ctx, e) })
}

// Events reads the audit log, oldest first.
func (s *DB) Events(ctx context.Context, f store.EventFilter) ([]store.Event, error) {
	return call(s, ctx, func(ctx context.Context) ([]store.Event, error) { return s.events(ctx, f) })
}

// ClaimOnce is true for the first caller with a key until ttl passes.
func (s *DB) ClaimOnce(ctx context.Context, key string, now time.Time, ttl time.Duration) (bool, error) {
	return call(s, ctx, func(ctx context.Context) (bool, error) { return s.claimOnce(ctx, key, now, ttl) })
}
