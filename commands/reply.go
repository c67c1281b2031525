package commands

import (
	"errors"
	"fmt"
	"time"

	"github.com/sessionbot/sessionbot/store"
	"github.com/sessionbot/sessionbot/vendors"
)

// Reply is what a command has to say, neutral of how it is shown. The chat
// renderer and the console renderer both read it.
type Reply struct {
	// Command is what ran, in its typed form.
	Command Command
	// Title is a one-line summary ("Sessions of CORP\marc").
	Title string
	// Groups hold sessions per instance, in configuration order.
	Groups []Group
	// Instances is the answer to "vendors".
	Instances []InstanceStatus
	// Help is the answer to "help".
	Help []HelpEntry
	// Problem is set when the command could not run at all.
	Problem *Problem
	// Notes are remarks that apply to the whole reply.
	Notes []string
	// Window is the time range a history query covered, if any.
	Window vendors.Window
	// Proposal is a kill or logout waiting for the person's confirmation.
	Proposal *Proposal
	// Request is the approval request a command made or voted on.
	Request *RequestView
	// Requests answers "pending".
	Requests []RequestView
	// Events answers "audit".
	Events []store.Event
	// Understood is the typed form of a request written in plain words.
	Understood string
	// NeedsConfirmation: Understood is a destructive command the person must
	// confirm before it is even proposed.
	NeedsConfirmation bool
}

// Group is one instance's part of a list or show.
type Group struct {
	Vendor   vendors.Type
	Instance string
	// Identity is who was asked for on this instance, after mapping.
	Identity string
	Sessions []vendors.Session
	// Err is set when the instance could not answer; Sessions is then empty.
	Err error
	// Warnings are partial failures (one proxy of a site down).
	Warnings []error
	// Note explains a skip ("cannot list all sessions").
	Note string
	// NoAccount: the person has no account on this instance. An answer,
	// not a failure; Note says it in words.
	NoAccount bool
	Elapsed   time.Duration
	// CanKill says the person who asked may request ending these sessions
	// (the instance can, and they are a requester there).
	CanKill bool
}

// InstanceStatus is one line of "vendors".
type InstanceStatus struct {
	Name         string
	Type         vendors.Type
	Capabilities vendors.Capability
	Err          error
	Elapsed      time.Duration
}

// HelpEntry is one command form and what it does.
type HelpEntry struct {
	Verb        Verb
	Usage       string
	Description string
	Example     string
}

// Problem says why a command could not run and what to type instead.
type Problem struct {
	Message    string
	Suggestion string
	// ShowUsage asks for the usage of the verb that was meant; the service
	// fills Usage with it, built from the configured instances.
	ShowUsage bool
	Usage     []HelpEntry
}

// Plural writes a count with its noun: "1 session", "2 sessions".
func Plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// SessionCount counts sessions across groups.
func (r Reply) SessionCount() int {
	n := 0
	for _, g := range r.Groups {
		n += len(g.Sessions)
	}
	return n
}

// hints say what a person can do about a vendor error, by its kind; the
// first kind an error is decides (an error may wrap more than one).
var hints = []struct {
	kind error
	hint string
}{
	{vendors.ErrTimeout, "The instance may be down or overloaded: try again, or raise its timeout."},
	{vendors.ErrBusy, "The bot is using every connection it may open to that instance: try again in a minute, or raise its max_connections."},
	{vendors.ErrForbidden, "Check the bot's certificate, key or role on that system."},
	{vendors.ErrUnauthorized, "Check the bot's credentials for that system."},
	{vendors.ErrBadAnswer, "Check the instance's URL and port in the bot's config."},
	{vendors.ErrUnavailable, "Check that the service is running and reachable from the bot."},
	{vendors.ErrInvalidInput, "Check what you typed."},
}

// Hint adds what a person can do about a vendor error, by its kind.
func Hint(err error) string {
	for _, h := range hints {
		if errors.Is(err, h.kind) {
			return h.hint
		}
	}
	return ""
}
