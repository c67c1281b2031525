// Package store is the durable state of approval-gated kills: requests,
// votes, the audit log and envelope de-duplication. Every state change is a
// compare-and-set in the database, so double clicks, redelivered envelopes
// and several replicas never act twice. Engines: store/sqlite (one replica)
// and store/postgres (several).
package store

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"time"
)

// State is where a request is in its life.
type State string

const (
	StatePending     State = "pending"
	StateApproved    State = "approved"
	StateExecuting   State = "executing"
	StateDone        State = "done"
	StateFailed      State = "failed"
	StateDenied      State = "denied"
	StateExpired     State = "expired"
	StateInterrupted State = "interrupted"
	// StateUnknown is an execution whose vendor call timed out: the
	// session may have ended. The sweep re-reads it to settle done or
	// failed.
	StateUnknown State = "unknown"
)

// Final reports whether nothing more can happen to a request.
func (s State) Final() bool {
	switch s {
	case StateDone, StateFailed, StateDenied, StateExpired, StateInterrupted:
		return true
	}
	return false
}

// Action is what a request asks for.
type Action string

const (
	ActionEndSession Action = "end_session"
	ActionLogoutUser Action = "logout_user"
)

// Request is one approval-gated kill or logout.
type Request struct {
	ID              string
	Action          Action
	Vendor          string
	Instance        string
	SessionID       string
	TargetDirectory string
	TargetUser      string
	Node            string
	SessionStarted  time.Time
	Reason          string
	// Requester is the person who asked, as the front end names them.
	Requester         string
	ApprovalsNeeded   int
	AllowSelfApproval bool
	State             State
	CreatedAt         time.Time
	ExpiresAt         time.Time
	DecidedAt         time.Time
	ExecutionStarted  time.Time
	// ExecutionLeaseUntil is when an execution that has not finished is
	// taken to have been interrupted.
	ExecutionLeaseUntil time.Time
	FinishedAt          time.Time
	Executor            string
	Outcome             string
	// Delivery is the notifier's own record of how to reach people about
	// this request (how to answer the requester, where the approval
	// message is). The store keeps it and nothing else reads it.
	Delivery string
	// ApprovalShown is the state the approval message last showed, so a
	// sweep can re-apply an update the messenger refused; empty when the
	// message was never posted.
	ApprovalShown State
	// ProposalKey is the confirmed proposal this request came from: a
	// repeated confirmation of one proposal makes no second request.
	ProposalKey string
}

// Vote is one person's approve or deny.
type Vote struct {
	RequestID string
	Voter     string
	Approve   bool
	Reason    string
	At        time.Time
}

// VoteResult is what a vote did.
type VoteResult struct {
	Request Request
	Votes   []Vote
	// Recorded is false when this person had already voted.
	Recorded bool
	// Decided is true when this vote moved the request to approved or
	// denied.
	Decided bool
}

// Event is one row of the audit log.
type Event struct {
	ID    int64     `json:"id"`
	At    time.Time `json:"at"`
	Actor string    `json:"actor"`
	// Where is where the actor asked, as the front end names it (its
	// column and export name stay "channel").
	Where     string `json:"channel,omitempty"`
	Action    string `json:"action"`
	Command   string `json:"command,omitempty"`
	Vendor    string `json:"vendor,omitempty"`
	Instance  string `json:"instance,omitempty"`
	Target    string `json:"target,omitempty"`
	RequestID string `json:"request_id,omitempty"`
	Result    string `json:"result,omitempty"`
	Detail    string `json:"detail,omitempty"`
}

// EventFilter narrows an audit query; zero fields match everything.
type EventFilter struct {
	// Since and Until bound At, both inclusive.
	Since, Until time.Time
	Actor        string
	// Target matches without regard to case (DOMAIN\marc is domain\Marc).
	Target    string
	RequestID string
	// Limit keeps the newest Limit events (still returned oldest first).
	Limit int
}

// Errors callers tell apart with errors.Is.
var (
	ErrNotFound     = errors.New("no such request")
	ErrConflict     = errors.New("the request is not in the state this needs")
	ErrSelfApproval = errors.New("a requester cannot approve their own request")
	ErrExpired      = errors.New("the request has expired")
	ErrNotPending   = errors.New("the request is no longer pending")
	// ErrInvalid is a request or vote the caller built wrong (a bug, not
	// something a person in the chat can fix).
	ErrInvalid = errors.New("invalid input")
	// ErrNotRequester is a withdrawal by someone other than the requester.
	ErrNotRequester = errors.New("only the requester can withdraw a request")
	// ErrDuplicate is a request whose proposal key is already stored.
	ErrDuplicate = errors.New("a request was already made from this proposal")
)

// NotPendingError is ErrNotPending with the state the request is in
// instead: "request R7K2ABCD is already denied".
type NotPendingError struct {
	ID    string
	State State
}

func (e *NotPendingError) Error() string {
	return "request " + e.ID + " is already " + string(e.State)
}

// Is makes errors.Is(err, ErrNotPending) true.
func (e *NotPendingError) Is(target error) bool { return target == ErrNotPending }

// InterruptedOutcome is the outcome of an execution found unfinished after
// its lease: nobody knows whether the vendor ended the session.
const InterruptedOutcome = "interrupted: the bot stopped while ending this session; check the vendor"

// WithdrawnOutcome is the outcome of a request its requester took back: it
// is denied, nothing was ended.
const WithdrawnOutcome = "withdrawn by the requester"

// Store is what the approval flow needs from an engine.
type Store interface {
	// CreateRequest stores a new request. It fails with ErrDuplicate when
	// another request has the same ProposalKey.
	CreateRequest(ctx context.Context, r Request) error
	// RequestByProposal finds the request made from a proposal key, or
	// ErrNotFound.
	RequestByProposal(ctx context.Context, key string) (Request, error)
	GetRequest(ctx context.Context, id string) (Request, []Vote, error)
	// Vote records one person's vote and moves pending to approved or
	// denied when it decides, in one transaction. It fails with
	// ErrNotPending (a *NotPendingError), ErrExpired, ErrSelfApproval (an
	// approve by the requester, unless AllowSelfApproval) or ErrNotFound.
	// The requester may deny their own request, which withdraws it. A
	// second vote by one person changes nothing: Recorded is false.
	Vote(ctx context.Context, v Vote, now time.Time) (VoteResult, error)
	// Withdraw moves pending to denied with WithdrawnOutcome, for the
	// requester only: ErrNotRequester for anyone else, ErrNotPending (a
	// *NotPendingError) when it is no longer pending, ErrNotFound.
	Withdraw(ctx context.Context, id, requester string, now time.Time) (Request, error)
	// ClaimExecution moves approved to executing; exactly one caller wins,
	// the others get ErrConflict.
	ClaimExecution(ctx context.Context, id, executor string, now time.Time, lease time.Duration) (Request, error)
	// FinishExecution moves executing to done, failed or unknown, for the
	// executor that claimed it; ErrConflict when it is no longer that
	// executor's (for example, marked interrupted after its lease ran
	// out). Finishing again with the same state and outcome succeeds, so
	// a write whose answer was lost can be retried.
	FinishExecution(ctx context.Context, id, executor string, state State, outcome string, now time.Time) error
	// SettleUnknown moves unknown to done or failed once the vendor has
	// been asked again; ErrConflict when it is no longer unknown.
	SettleUnknown(ctx context.Context, id string, state State, outcome string, now time.Time) error
	// ExpirePending moves every pending request due by now to expired and
	// returns them.
	ExpirePending(ctx context.Context, now time.Time) ([]Request, error)
	// RecoverInterrupted moves executions whose lease ran out to
	// interrupted and returns them.
	RecoverInterrupted(ctx context.Context, now time.Time) ([]Request, error)
	// SetApprovalMessage records that the approval message was posted,
	// with the notifier's delivery record that finds it again; it shows
	// the request as pending.
	SetApprovalMessage(ctx context.Context, id, delivery string) error
	// MarkApprovalShown records that the approval message now shows state.
	MarkApprovalShown(ctx context.Context, id string, state State) error
	// StaleApprovalMessages returns requests whose approval message was
	// never posted (pending ones) or shows another state than the stored
	// one, oldest first.
	StaleApprovalMessages(ctx context.Context) ([]Request, error)
	// ListRequests returns requests in the given states, newest first.
	ListRequests(ctx context.Context, states ...State) ([]Request, error)
	AppendEvent(ctx context.Context, e Event) (int64, error)
	// Events returns audit events, oldest first.
	Events(ctx context.Context, f EventFilter) ([]Event, error)
	// ClaimOnce is true for the first caller with key, across replicas,
	// until ttl passes.
	ClaimOnce(ctx context.Context, key string, now time.Time, ttl time.Duration) (bool, error)
	Close() error
}

// crockford is Crockford's base32: no I, L, O or U to misread.
const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// NewID makes a request id people can type: 8 characters, 40 random bits.
func NewID() string {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err)) // does not fail on supported platforms
	}
	for i := range b {
		b[i] = crockford[int(b[i])%32] // 256 is a multiple of 32: uniform
	}
	return string(b)
}

// NormalizeID reads an id as a person typed it: any case, spaces and dashes
// ignored, and the letters Crockford's alphabet leaves out read as the
// digits they look like (O as 0, I and L as 1).
func NormalizeID(typed string) string {
	var b strings.Builder
	for _, c := range strings.ToUpper(typed) {
		switch c {
		case ' ', '-', '\t':
		case 'O':
			b.WriteByte('0')
		case 'I', 'L':
			b.WriteByte('1')
		default:
			b.WriteRune(c)
		}
	}
	return b.String()
}
