package bot

import (
	"fmt"
	"strings"
	"time"

	"github.com/sessionbot/sessionbot/commands"
	"github.com/sessionbot/sessionbot/vendors"
)

// RenderText writes a reply as plain text for a terminal, from the same
// neutral reply Slack gets. Times are shown in loc.
func RenderText(r commands.Reply, loc *time.Location) string {
	var b strings.Builder
	fmt.Fprintf(&b, "== %s ==\n", r.Title)
	switch {
	case r.Problem != nil:
		fmt.Fprintf(&b, "! %s\n", r.Problem.Message)
		if r.Problem.Suggestion != "" {
			fmt.Fprintf(&b, "  Did you mean: %s\n", r.Problem.Suggestion)
		}
		if r.Problem.ShowUsage {
			b.WriteString("  Commands:\n")
			for _, e := range commands.Usage("qlik-prod") {
				fmt.Fprintf(&b, "    %s\n", e.Usage)
			}
		}
	case r.Help != nil:
		for _, e := range r.Help {
			fmt.Fprintf(&b, "  %s\n      %s\n      e.g. %s\n", e.Usage, e.Description, e.Example)
		}
	case r.Command.Verb == commands.Vendors:
		for _, in := range r.Instances {
			status := "answers (" + roundDuration(in.Elapsed) + ")"
			if in.Err != nil {
				status = "ERROR: " + in.Err.Error()
			}
			fmt.Fprintf(&b, "  %-16s %-10s %s\n  %16s can: %s\n", in.Name, in.Type, status, "", in.Capabilities)
		}
	default:
		fmt.Fprintf(&b, "%s on %s", countNoun(r.SessionCount(), "session"), countNoun(len(r.Groups), "instance"))
		if !r.Window.IsZero() {
			fmt.Fprintf(&b, ", calls from %s to %s", textTime(r.Window.Since, loc), textTime(r.Window.Until, loc))
		}
		b.WriteString("\n")
		for _, g := range r.Groups {
			renderGroupText(&b, g, loc)
		}
	}
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "note: %s\n", strings.ReplaceAll(n, "`", ""))
	}
	return b.String()
}

func renderGroupText(b *strings.Builder, g commands.Group, loc *time.Location) {
	fmt.Fprintf(b, "\n[%s] (%s)", g.Instance, g.Vendor)
	if g.Identity != "" {
		fmt.Fprintf(b, " as %s", g.Identity)
	}
	if g.Err == nil && g.Note == "" {
		fmt.Fprintf(b, ": %s", countNoun(len(g.Sessions), "session"))
	}
	b.WriteString("\n")
	if g.Err != nil {
		fmt.Fprintf(b, "  ERROR: %s\n", g.Err)
		if h := commands.Hint(g.Err); h != "" {
			fmt.Fprintf(b, "         %s\n", h)
		}
	}
	if g.Note != "" {
		fmt.Fprintf(b, "  skipped: %s\n", g.Note)
	}
	for _, w := range g.Warnings {
		fmt.Fprintf(b, "  WARNING: %s\n", w)
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
