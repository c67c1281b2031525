// Package vendors is the domain at the centre of sessionbot: a login session on
// some outside system, and the small interfaces through which each system's
// adapter (vendors/qlik, vendors/commvault, vendors/microsoft) lists and ends
// them. It knows nothing of Slack or of how a request was typed.
package vendors

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Type names a kind of system. Several instances may share one type (two Qlik
// sites, say).
type Type string

const (
	Qlik      Type = "qlik"
	Commvault Type = "commvault"
	Teams     Type = "teams"
	Skype     Type = "skype"
)

// Identity is how one vendor instance names a person: Qlik's user directory
// and user id, a Commvault domain and user name, or a UPN with no directory.
type Identity struct {
	Directory string
	ID        string
}

// String writes the identity the way people type it: DIR\user, or user alone.
func (i Identity) String() string {
	if i.Directory == "" {
		return i.ID
	}
	return i.Directory + `\` + i.ID
}

// Equal compares identities the way directory services do: case-insensitively.
func (i Identity) Equal(o Identity) bool {
	return strings.EqualFold(i.Directory, o.Directory) && strings.EqualFold(i.ID, o.ID)
}

// Attribute is one name/value pair a vendor attaches to a session (Qlik's
// Attributes array, Commvault's console type, a call's modalities). Names may
// repeat: Qlik sends one "group" attribute per group.
type Attribute struct {
	Name  string
	Value string
}

// Session is one login session, call session or console session on one
// instance. Times are zero where the vendor does not say.
type Session struct {
	Vendor     Type
	Instance   string
	ID         string
	User       Identity
	UserName   string // display name, when the vendor gives one; never used to identify
	Node       string // the proxy, server or host that holds the session
	Started    time.Time
	LastActive time.Time
	Ended      time.Time // zero while the session is still open
	Attributes []Attribute
}

// Active reports whether the session is still open.
func (s Session) Active() bool { return s.Ended.IsZero() }

// Listing is what a list operation found, with the partial failures that did
// not stop it: one proxy of a site down still lists the others.
type Listing struct {
	Sessions []Session
	Warnings []error
}

// Window bounds a query in time, for vendors that keep history (call records).
// A zero Window means the vendor's default.
type Window struct {
	Since time.Time
	Until time.Time
}

// IsZero reports whether no window was asked for.
func (w Window) IsZero() bool { return w.Since.IsZero() && w.Until.IsZero() }

// UserQuery asks for one person's sessions.
type UserQuery struct {
	User   Identity
	Window Window
}

// Instance is what every adapter implements. What else it can do it declares
// by implementing the optional interfaces below; Capabilities reads them.
type Instance interface {
	Name() string
	Type() Type
	// Probe checks that the instance answers and accepts our credentials.
	Probe(ctx context.Context) error
}

// UserSessionLister lists one person's sessions.
type UserSessionLister interface {
	ListUserSessions(ctx context.Context, q UserQuery) (Listing, error)
}

// SessionGetter reads one session by id. It returns an error wrapping
// ErrNotFound when no node holds it.
type SessionGetter interface {
	GetSession(ctx context.Context, id string) (Session, error)
}

// AllSessionLister lists every session on every node of the instance.
type AllSessionLister interface {
	ListAllSessions(ctx context.Context) (Listing, error)
}

// SessionEnder ends one session, as read by GetSession or a list (so the
// adapter knows which node holds it).
type SessionEnder interface {
	EndSession(ctx context.Context, s Session) error
}

// UserLogouter ends every session of one person and returns those it ended.
type UserLogouter interface {
	LogoutUser(ctx context.Context, user Identity) (Listing, error)
}

// DefaultWindow is how far back a history query goes when it names no
// start: the last day.
const DefaultWindow = 24 * time.Hour

// WindowedLister is implemented by instances whose user listing honours
// UserQuery.Window (call history); others list what is open now.
type WindowedLister interface {
	// MaxLookback is how far back the vendor keeps history.
	MaxLookback() time.Duration
}

// Capability is one thing an instance can do.
type Capability uint

const (
	CanListUser Capability = 1 << iota
	CanGet
	CanListAll
	CanEnd
	CanLogout
	CanWindow
)

var capabilityNames = []struct {
	c    Capability
	name string
}{
	{CanListUser, "list user"},
	{CanGet, "show"},
	{CanListAll, "list all"},
	{CanEnd, "end session"},
	{CanLogout, "log out user"},
	{CanWindow, "time window"},
}

// Has reports whether every capability in c2 is in c.
func (c Capability) Has(c2 Capability) bool { return c&c2 == c2 }

func (c Capability) String() string {
	var names []string
	for _, n := range capabilityNames {
		if c.Has(n.c) {
			names = append(names, n.name)
		}
	}
	return strings.Join(names, ", ")
}

// Capabilities reads what an instance can do from the interfaces it implements.
func Capabilities(in Instance) Capability {
	return can[UserSessionLister](in, CanListUser) | can[SessionGetter](in, CanGet) |
		can[AllSessionLister](in, CanListAll) | can[SessionEnder](in, CanEnd) |
		can[UserLogouter](in, CanLogout) | can[WindowedLister](in, CanWindow)
}

// can is c when in implements T, and nothing otherwise.
func can[T any](in Instance, c Capability) Capability {
	if _, ok := in.(T); ok {
		return c
	}
	return 0
}

// Errors shared by every adapter, so callers can tell them apart with errors.Is.
var (
	ErrNotFound     = errors.New("not found")
	ErrUnauthorized = errors.New("credentials rejected")
	ErrForbidden    = errors.New("permission denied")
	ErrTimeout      = errors.New("timed out")
	ErrUnavailable  = errors.New("unavailable")
	ErrBadAnswer    = errors.New("answered something that is not what its API returns")
	ErrInvalidInput = errors.New("invalid input")
	// ErrBusy is a request the bot did not send: every connection it may
	// open to the instance stayed in use for as long as it may wait.
	ErrBusy = errors.New("busy")
)

// DetailError keeps what a server said in full (clipped, secrets taken
// out) for the debug log; Error gives only the short form a person sees.
type DetailError struct {
	Err    error
	Detail string
}

func (e *DetailError) Error() string { return e.Err.Error() }
func (e *DetailError) Unwrap() error { return e.Err }

// DebugDetail returns the detail kept for the debug log.
func (e *DetailError) DebugDetail() string { return e.Detail }

// Detail is the debug detail err carries, if any: from a DetailError, or
// any error in the chain that keeps one (the shared transport's).
func Detail(err error) string {
	var d interface{ DebugDetail() string }
	if errors.As(err, &d) {
		return d.DebugDetail()
	}
	return ""
}

// Summary is the first line of a server's answer, at most n runes, for a
// person: a stack trace's first line says what failed; the rest is for logs.
func Summary(body string, n int) string {
	line := strings.TrimSpace(body)
	if i := strings.IndexAny(line, "\r\n"); i >= 0 {
		line = strings.TrimSpace(line[:i])
	}
	line = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return -1
		}
		return r
	}, line)
	if r := []rune(line); len(r) > n {
		line = string(r[:n-1]) + "…"
	}
	return line
}

// NodeError is a failure on one node of an instance (one Qlik proxy, say).
type NodeError struct {
	Instance string
	Node     string
	Op       string
	Err      error
}

func (e *NodeError) Error() string {
	if e.Node == "" {
		return fmt.Sprintf("%s: %s: %v", e.Instance, e.Op, e.Err)
	}
	return fmt.Sprintf("%s node %s: %s: %v", e.Instance, e.Node, e.Op, e.Err)
}

func (e *NodeError) Unwrap() error { return e.Err }

type forChangeKey struct{}

// ForChange marks ctx as the work of an approved change (the re-read
// before a delete as well as the delete): an instance that queues its
// requests lets it wait as long as ctx allows rather than answer busy.
func ForChange(ctx context.Context) context.Context {
	return context.WithValue(ctx, forChangeKey{}, true)
}

// IsForChange reports whether ctx was marked by ForChange.
func IsForChange(ctx context.Context) bool {
	v, _ := ctx.Value(forChangeKey{}).(bool)
	return v
}
