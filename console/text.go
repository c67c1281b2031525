package console

import (
	"fmt"
	"strings"
	"time"

	"github.com/sessionbot/sessionbot/commands"
	"github.com/sessionbot/sessionbot/store"
	"github.com/sessionbot/sessionbot/vendors"
)

// RenderText writes a reply as plain text for a terminal, from the same
// neutral reply Slack gets. Times are shown in loc.
func RenderText(r commands.Reply, loc *time.Location) string {
	var b strings.Builder
	fmt.Fprintf(&b, "== %s ==\n", r.Title)
	if r.Understood != "" {
		fmt.Fprintf(&b, "(understood as: %s)\n", r.Understood)
	}
	switch {
	case r.NeedsConfirmation:
		b.WriteString("Nothing happens until you confirm: type the command above to go on.\n")
	case r.Problem != nil:
		fmt.Fprintf(&b, "! %s\n", printable(r.Problem.Message))
		if r.Problem.Suggestion != "" {
			fmt.Fprintf(&b, "  Did you mean: %s\n", r.Problem.Suggestion)
		}
		for _, e := range r.Problem.Usage {
			fmt.Fprintf(&b, "  Usage: %s\n    e.g. %s\n", e.Usage, e.Example)
		}
	case r.Help != nil:
		for _, e := range r.Help {
			fmt.Fprintf(&b, "  %s\n      %s\n      e.g. %s\n", e.Usage, e.Description, e.Example)
		}
	case r.Proposal != nil:
		p := r.Proposal
		if p.RevokesSignIns {
			fmt.Fprintf(&b, "This would sign %s out of %s (%s) everywhere: %s\n", p.User, p.Instance, p.Vendor, commands.RevokeEffect)
		} else {
			fmt.Fprintf(&b, "This would %s on %s (%s):\n", proposalVerb(p), p.Instance, p.Vendor)
		}
		for _, s := range p.Sessions {
			renderSessionText(&b, s, loc)
		}
		if p.NoApproval {
			b.WriteString("  WARNING: this instance ends sessions without approval.\n")
		} else {
			fmt.Fprintf(&b, "  Needs %s from: %s\n", commands.Plural(p.ApprovalsNeeded, "approval"), strings.Join(p.Approvers, ", "))
		}
		if p.Reason == "" {
			fmt.Fprintf(&b, "  To request it, type: confirm <reason>\n")
		} else {
			fmt.Fprintf(&b, "  Reason: %s\n  To request it, type: confirm\n", printable(p.Reason))
		}
	case r.Request != nil:
		renderRequestText(&b, *r.Request, loc)
	case r.Command.Verb == commands.Pending:
		if len(r.Requests) == 0 {
			b.WriteString("Nothing is waiting for approval.\n")
		}
		for _, v := range r.Requests {
			renderRequestText(&b, v, loc)
		}
	case r.Command.Verb == commands.Audit:
		for _, e := range r.Events {
			fmt.Fprintf(&b, "  %s %s %s %s %s %s %s\n", textTime(e.At, loc), e.Actor, e.Action, e.Instance, printable(e.Target), e.RequestID, printable(e.Result))
		}
	case r.Command.Verb == commands.Vendors:
		for _, in := range r.Instances {
			status := "answers (" + commands.RoundDuration(in.Elapsed) + ")"
			if in.Err != nil {
				status = "ERROR: " + printable(in.Err.Error())
			}
			fmt.Fprintf(&b, "  %-16s %-10s %s\n  %16s can: %s\n", in.Name, in.Type, status, "", in.Capabilities)
		}
	default:
		fmt.Fprintf(&b, "%s on %s", commands.Plural(r.SessionCount(), "session"), commands.Plural(len(r.Groups), "instance"))
		if !r.Window.IsZero() {
			fmt.Fprintf(&b, ", calls from %s to %s", textTime(r.Window.Since, loc), textTime(r.Window.Until, loc))
		}
		b.WriteString("\n")
		for _, g := range r.Groups {
			renderGroupText(&b, g, loc)
		}
	}
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "note: %s\n", printable(strings.ReplaceAll(n, "`", "")))
	}
	return b.String()
}

func renderGroupText(b *strings.Builder, g commands.Group, loc *time.Location) {
	fmt.Fprintf(b, "\n[%s] (%s)", g.Instance, g.Vendor)
	if g.Identity != "" {
		fmt.Fprintf(b, " as %s", g.Identity)
	}
	switch {
	case g.NoAccount:
		b.WriteString(": no account")
	case g.Err == nil && g.Note == "":
		fmt.Fprintf(b, ": %s", commands.Plural(len(g.Sessions), "session"))
	}
	b.WriteString("\n")
	if g.Err != nil {
		fmt.Fprintf(b, "  ERROR: %s\n", printable(g.Err.Error()))
		if h := commands.Hint(g.Err); h != "" {
			fmt.Fprintf(b, "         %s\n", h)
		}
	}
	if g.Note != "" && !g.NoAccount {
		fmt.Fprintf(b, "  skipped: %s\n", g.Note)
	}
	for _, w := range g.Warnings {
		fmt.Fprintf(b, "  WARNING: %s\n", printable(w.Error()))
	}
	for _, s := range g.Sessions {
		renderSessionText(b, s, loc)
	}
}

func renderSessionText(b *strings.Builder, s vendors.Session, loc *time.Location) {
	fmt.Fprintf(b, "  - %s  id %s", printable(s.User.String()), printable(s.ID))
	if s.Node != "" {
		fmt.Fprintf(b, "  node %s", printable(s.Node))
	}
	if !s.Active() {
		b.WriteString("  (ended)")
	}
	b.WriteString("\n")
	var extra []string
	if s.UserName != "" {
		extra = append(extra, "name "+printable(s.UserName))
	}
	if !s.Started.IsZero() {
		extra = append(extra, "started "+textTime(s.Started, loc))
	}
	if !s.LastActive.IsZero() {
		extra = append(extra, "last active "+textTime(s.LastActive, loc))
	}
	if !s.Ended.IsZero() {
		extra = append(extra, "ended "+textTime(s.Ended, loc))
	}
	for _, a := range s.Attributes {
		extra = append(extra, printable(a.Name)+"="+printable(a.Value))
	}
	if len(extra) > 0 {
		fmt.Fprintf(b, "      %s\n", strings.Join(extra, ", "))
	}
}

func textTime(t time.Time, loc *time.Location) string {
	return t.In(loc).Format("2006-01-02 15:04 MST")
}

// printable keeps a vendor's value from moving the terminal's cursor or
// changing its colours.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return '?'
		}
		return r
	}, s)
}

func proposalVerb(p *commands.Proposal) string {
	switch {
	case p.Action == store.ActionLogoutUser:
		return "log " + p.User.String() + " out, ending " + commands.Plural(len(p.Sessions), "session")
	}
	return "end this session"
}

func renderRequestText(b *strings.Builder, v commands.RequestView, loc *time.Location) {
	r := v.Request
	fmt.Fprintf(b, "  request %s: %s on %s, asked by %s at %s: %s\n", r.ID, commands.RequestVerb(r), r.Instance, r.Requester, textTime(r.CreatedAt, loc), printable(r.Reason))
	fmt.Fprintf(b, "    state %s", r.State)
	if r.State == store.StatePending {
		fmt.Fprintf(b, " (needs %d, expires %s)", r.ApprovalsNeeded, textTime(r.ExpiresAt, loc))
	}
	if r.Outcome != "" {
		fmt.Fprintf(b, ": %s", printable(r.Outcome))
	}
	b.WriteString("\n")
	for _, vote := range v.Votes {
		verb := "approved"
		if !vote.Approve {
			verb = "denied"
		}
		fmt.Fprintf(b, "    %s by %s at %s", verb, vote.Voter, textTime(vote.At, loc))
		if vote.Reason != "" {
			fmt.Fprintf(b, ", reason: %s", printable(vote.Reason))
		}
		b.WriteString("\n")
	}
}
