package commands

import (
	"fmt"
	"strings"
)

// help lists the command forms, with examples that use the configured
// instance names so they can be copied as they are.
func (s *Service) help(cmd Command) Reply {
	inst := "qlik-prod"
	if names := s.registry.Names(); len(names) > 0 {
		inst = names[0]
	}
	entries := Usage(inst)
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

// Usage is the command summary shown with help and with every parse error.
func Usage(instance string) []HelpEntry {
	return []HelpEntry{
		{"list <user> [on <instance|type>,...] [since <time>] [until <time>]", "A person's sessions on every instance, or the ones named.", `list CORP\marc on ` + instance},
		{"list all on <instance>", "Every session on every node of one instance.", "list all on " + instance},
		{"show <session-id> [on <instance>]", "One session, found on whichever node holds it.", "show 7b8ab85e-0c85-4fcb-8e56-4ead683153fb"},
		{"kill <session-id> [on <instance>] [user <user>] reason <why>", "Ask to end one session. You confirm, a second person approves, then it ends.", "kill 7b8ab85e-0c85-4fcb-8e56-4ead683153fb on " + instance + " reason stuck after deploy"},
		{"logout <user> on <instance> reason <why>", "Ask to end every session of a person on one instance, with approval.", `logout CORP\marc on ` + instance + " reason laptop stolen"},
		{"approve <request-id> | deny <request-id> [reason <why>]", "Decide on a request, as its buttons do.", "approve R7K2M9QX"},
		{"pending", "Requests waiting for approval.", "pending"},
		{"audit [<user> | <session-id> | <request-id>]", "The audit log (approvers only).", `audit CORP\marc`},
		{"vendors", "The configured instances, what each can do, and whether each answers now.", "vendors"},
		{"help [command]", "This summary.", "help list"},
	}
}
