package commands

import (
	"fmt"
	"strings"

	"github.com/sessionbot/sessionbot/vendors"
)

// help lists the command forms, with examples built from the configured
// instances so they can be copied as they are.
func (s *Service) help(cmd Command) Reply {
	entries := s.usage()
	if cmd.Topic != "" {
		var picked []HelpEntry
		for _, e := range entries {
			if strings.HasPrefix(e.Usage, cmd.Topic) {
				picked = append(picked, e)
			}
		}
		if len(picked) > 0 {
			entries = picked
		}
	}
	reply := Reply{Command: cmd, Title: "What I can do", Help: entries}
	reply.Notes = append(reply.Notes,
		"A person is `DIR\\user`, `DIR/user`, `user@domain` or an `@mention`. Times are UTC dates (2026-11-20), times (2026-11-20T14:00Z) or ages (2d, 12h).",
		fmt.Sprintf("Instances: %s.", strings.Join(s.registry.Names(), ", ")))
	return reply
}

// exampleSessionID is a Qlik-style session id for examples.
const exampleSessionID = "7b8ab85e-0c85-4fcb-8e56-4ead683153fb"

// usage is the command summary: each form with an example that works on
// this bot's instances, in the form the instance it names needs. A form no
// instance can do is left out.
func (s *Service) usage() []HelpEntry {
	var out []HelpEntry
	add := func(verb Verb, usage, description, example string) {
		out = append(out, HelpEntry{Verb: verb, Usage: usage, Description: description, Example: example})
	}
	if in, ok := s.exampleInstance(vendors.CanListUser); ok {
		add(List, "list <user> [on <instance|type>,...] [since <time>] [until <time>]", "A person's sessions on every instance, or the ones named.",
			"list "+s.examplePerson(in)+" on "+in.Name())
	}
	if in, ok := s.exampleInstance(vendors.CanListAll); ok {
		add(List, "list all on <instance>", "Every session on every node of one instance.", "list all on "+in.Name())
	}
	if _, ok := s.exampleInstance(vendors.CanGet); ok {
		add(Show, "show <session-id> [on <instance>]", "One session, found on whichever node holds it.", "show "+exampleSessionID)
	}
	if in, ok := s.exampleInstance(vendors.CanEnd); ok {
		example := "kill " + exampleSessionID + " on " + in.Name()
		if !vendors.Capabilities(in).Has(vendors.CanGet) {
			// It finds sessions by person: the command must say whose.
			example = "kill <session-id> on " + in.Name() + " user " + s.examplePerson(in)
		}
		add(Kill, "kill <session-id> [on <instance>] [user <user>] reason <why>", "Ask to end one session. You confirm, a second person approves, then it ends.",
			example+" reason stuck after deploy")
	}
	if in, ok := s.exampleInstance(vendors.CanLogout); ok {
		add(Logout, "logout <user> on <instance> reason <why>", "Ask to end every session of a person on one instance, with approval.",
			"logout "+s.examplePerson(in)+" on "+in.Name()+" reason laptop stolen")
	}
	add(Approve, "approve <request-id> | deny <request-id> [reason <why>]", "Decide on a request, as its buttons do.", "approve R7K2M9QX")
	add(Pending, "pending", "Requests waiting for approval.", "pending")
	add(Audit, "audit [<user> | <session-id> | <request-id>]", "The audit log (approvers only): the latest 50 events of the last 30 days, oldest first.", `audit CORP\marc`)
	add(Vendors, "vendors", "The configured instances, what each can do, and whether each answers now.", "vendors")
	add(Help, "help [command]", "This summary.", "help list")
	return out
}

// usageOf is the usage of one verb, for a reply that could not run it.
func (s *Service) usageOf(verb Verb) []HelpEntry {
	var out []HelpEntry
	for _, e := range s.usage() {
		if e.Verb == verb || (verb == Deny && e.Verb == Approve) {
			out = append(out, e)
		}
	}
	return out
}

// exampleInstance is the first configured instance that can do c,
// preferring one that can also show a session by id (its examples are
// shorter).
func (s *Service) exampleInstance(c vendors.Capability) (vendors.Instance, bool) {
	var first vendors.Instance
	for _, in := range s.registry.All() {
		caps := vendors.Capabilities(in)
		if !caps.Has(c) {
			continue
		}
		if caps.Has(vendors.CanGet) {
			return in, true
		}
		if first == nil {
			first = in
		}
	}
	return first, first != nil
}

// examplePerson writes a person the way the instance can map them.
func (s *Service) examplePerson(in vendors.Instance) string {
	rule := s.opts(in.Name()).Identity
	switch {
	case rule.EmailOnly:
		return "marc@contoso.com"
	case rule.DefaultDirectory != "":
		return rule.DefaultDirectory + `\marc`
	}
	return `CORP\marc`
}

// withUsage adds, to a reply that could not run, the usage of the verb that
// was meant (not the whole summary), and puts a real instance into a
// suggestion written with a placeholder.
func (s *Service) withUsage(r Reply) Reply {
	p := r.Problem
	if p == nil {
		return r
	}
	verb := r.Command.Verb
	if verb == "" && p.Suggestion != "" {
		first, _, _ := strings.Cut(p.Suggestion, " ")
		verb = Verb(first)
	}
	if strings.Contains(p.Suggestion, "<instance>") {
		need := map[Verb]vendors.Capability{List: vendors.CanListUser, Show: vendors.CanGet, Kill: vendors.CanEnd, Logout: vendors.CanLogout}[verb]
		if r.Command.AllUsers || strings.HasPrefix(p.Suggestion, "list all") {
			need = vendors.CanListAll
		}
		if in, ok := s.exampleInstance(need); ok && need != 0 {
			p.Suggestion = strings.ReplaceAll(p.Suggestion, "<instance>", in.Name())
		}
	}
	if p.ShowUsage && p.Usage == nil && verb != Help {
		p.Usage = s.usageOf(verb)
	}
	return r
}
