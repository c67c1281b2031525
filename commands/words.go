package commands

import (
	"fmt"
	"time"

	"github.com/sessionbot/sessionbot/store"
	"github.com/sessionbot/sessionbot/vendors"
)

// The plain words every front end says the same way (the chat adds its
// formatting around them; the console prints them as they are).

// RevokeEffect says what a Microsoft logout does: it revokes sign-ins, it
// does not hang up calls.
const RevokeEffect = "every sign-in session (refresh token) is revoked, so they must sign in again; this takes effect within minutes and does not end a call in progress."

// RequestUser is the person a request is about, as typed: DIR\user or user.
func RequestUser(r store.Request) string {
	if r.TargetDirectory == "" {
		return r.TargetUser
	}
	return r.TargetDirectory + `\` + r.TargetUser
}

// RequestVerb says what a request asks for, in a few words.
func RequestVerb(r store.Request) string {
	if r.Action == store.ActionLogoutUser {
		return "log out " + RequestUser(r)
	}
	return "end session " + r.SessionID
}

// RoundDuration writes how long an instance took to answer.
func RoundDuration(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return "<1ms"
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	default:
		return d.Round(10 * time.Millisecond).String()
	}
}

// Summary is the digest in one plain line. It holds no link, mention or
// date token, so it reads the same in a notification, a search result, an
// e-mail digest and a terminal.
func (d Digest) Summary() string {
	instances := map[string]bool{}
	for _, n := range d.Nodes {
		instances[n.Instance] = true
	}
	s := fmt.Sprintf("%s: %d of %d open sessions match %q on %s of %s, at %s.",
		d.Report, d.Stale, d.Open, d.Rule, Plural(len(d.Nodes), "node"), Plural(len(instances), "instance"),
		d.At.UTC().Format("2006-01-02 15:04 UTC"))
	if len(d.Problems) > 0 {
		s += fmt.Sprintf(" %s could not be read.", Plural(len(d.Problems), "instance or node"))
	}
	return s
}

// StaleFor says how long a session has been idle, or open.
func StaleFor(s vendors.Session, now time.Time) string {
	switch {
	case !s.LastActive.IsZero():
		return "idle " + span(now.Sub(s.LastActive))
	case !s.Started.IsZero():
		return "open " + span(now.Sub(s.Started))
	}
	return ""
}

// span writes a duration as people say it: 45m, 9h30m, 3d 2h.
func span(d time.Duration) string {
	d = d.Round(time.Minute)
	h, m := int(d/time.Hour), int(d%time.Hour/time.Minute)
	switch {
	case h >= 48:
		return fmt.Sprintf("%dd %dh", h/24, h%24)
	case h > 0 && m == 0:
		return fmt.Sprintf("%dh", h)
	case h > 0:
		return fmt.Sprintf("%dh%02dm", h, m)
	}
	return fmt.Sprintf("%dm", m)
}
