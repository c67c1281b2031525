// Package commands says what a request means and carries it out: it parses
// the text typed after /sessions into a Command, runs it against the vendor
// instances, and returns a neutral Reply that knows nothing of any chat. The
// chat front end, the terminal console and the language front end all drive
// this package; a front end turns its own text syntax into plain text first.
package commands

import (
	"strings"
	"time"
)

// Verb is what a command asks for.
type Verb string

const (
	Help    Verb = "help"
	List    Verb = "list"
	Show    Verb = "show"
	Vendors Verb = "vendors"
	Kill    Verb = "kill"
	Logout  Verb = "logout"
	Approve Verb = "approve"
	Deny    Verb = "deny"
	Pending Verb = "pending"
	Audit   Verb = "audit"
)

// verbs lists the verbs the grammar knows, for "did you mean".
var verbs = []Verb{Help, List, Show, Vendors, Kill, Logout, Approve, Deny, Pending, Audit}

// Destructive reports whether the verb asks for something to be ended, so
// it must be confirmed and approved before anything happens.
func (v Verb) Destructive() bool { return v == Kill || v == Logout }

// UserForm is how a person was written.
type UserForm int

const (
	// Account is DIR\user or DIR/user.
	Account UserForm = iota + 1
	// Email is user@domain (also a UPN).
	Email
	// Mention is @ID, a person the chat's directory knows by an id that is
	// opaque here; their email comes from the Directory.
	Mention
	// Bare is a name with no directory (jsmith): instances with a default
	// directory, or none at all (Commvault local users), accept it.
	Bare
)

// UserRef is a person as typed, before it is mapped to each instance's
// identity.
type UserRef struct {
	Form      UserForm
	Directory string // Account
	Name      string // Account, Bare
	Email     string // Email, and Mention once resolved
	ChatID    string // Mention
}

// String writes the reference back the way it is typed.
func (u UserRef) String() string {
	switch u.Form {
	case Account:
		return u.Directory + `\` + u.Name
	case Email:
		return u.Email
	case Mention:
		return "@" + u.ChatID
	default:
		return u.Name
	}
}

// Command is one parsed request. Every front end (typed text, buttons, the
// language model) produces this and nothing else, so every path runs the same
// checks.
type Command struct {
	Verb Verb
	// User is whose sessions to list.
	User UserRef
	// AllUsers is "list all": every session on the targeted instance.
	AllUsers bool
	// SessionID is the session to show.
	SessionID string
	// Targets are instance names or vendor types after "on"; empty means
	// every instance that can do the verb.
	Targets []string
	// Since and Until bound a list for vendors that keep history.
	Since, Until time.Time
	// Topic is what "help <topic>" asked about.
	Topic string
	// Reason says why a kill or logout is asked for, or why a request is
	// denied.
	Reason string
	// RequestID names an approval request (approve, deny).
	RequestID string
	// AuditTarget narrows the audit log to a person, session or request.
	AuditTarget string
}

// String writes the command in the typed grammar, so a person can learn it
// from a reply (and the language front end can show what it understood).
func (c Command) String() string {
	var b strings.Builder
	b.WriteString(string(c.Verb))
	switch c.Verb {
	case List:
		if c.AllUsers {
			b.WriteString(" all")
		} else {
			b.WriteString(" " + c.User.String())
		}
	case Show:
		b.WriteString(" " + c.SessionID)
	case Kill:
		b.WriteString(" " + c.SessionID)
	case Logout:
		b.WriteString(" " + c.User.String())
	case Approve, Deny:
		b.WriteString(" " + c.RequestID)
	case Audit:
		if c.AuditTarget != "" {
			b.WriteString(" " + c.AuditTarget)
		}
	case Help:
		if c.Topic != "" {
			b.WriteString(" " + c.Topic)
		}
	}
	if len(c.Targets) > 0 {
		b.WriteString(" on " + strings.Join(c.Targets, ","))
	}
	if !c.Since.IsZero() {
		b.WriteString(" since " + formatWhen(c.Since))
	}
	if !c.Until.IsZero() {
		b.WriteString(" until " + formatWhen(c.Until))
	}
	if c.Verb == Kill && c.User.Form != 0 {
		b.WriteString(" user " + c.User.String())
	}
	if c.Reason != "" {
		b.WriteString(" reason " + c.Reason)
	}
	return b.String()
}

func formatWhen(t time.Time) string {
	t = t.UTC()
	if t.Hour() == 0 && t.Minute() == 0 && t.Second() == 0 {
		return t.Format("2006-01-02")
	}
	return t.Format("2006-01-02T15:04Z")
}
