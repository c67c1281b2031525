package commands

import (
	"context"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"
)

// Translator turns a request written in plain words into the typed grammar.
// It only translates: what it returns is parsed by Parse and runs through
// the same checks as typed text, and a kill or logout it proposes is shown
// back for confirmation before anything is asked.
type Translator interface {
	Translate(ctx context.Context, text string, caller Caller, now time.Time) (typed string, err error)
}

// Refusal is a translator's "I couldn't turn that into a command".
type Refusal struct {
	Reason  string
	Closest string // the closest typed command, when there is one
}

func (r *Refusal) Error() string { return r.Reason }

// Interpret handles text typed after the slash command, a mention or a
// direct message: the grammar first; when that fails and a translator is
// configured, the translator. Read-only commands run at once and say what
// they were understood as; destructive ones come back for confirmation.
func (s *Service) Interpret(ctx context.Context, caller Caller, text string) Reply {
	cmd, err := Parse(text, s.clock())
	if err == nil {
		return s.Execute(ctx, caller, cmd)
	}
	var pe *ParseError
	if s.translator == nil || !errors.As(err, &pe) || !worthTranslating(text) {
		return s.withUsage(problemReply(cmd, err))
	}
	typed, terr := s.translator.Translate(ctx, text, caller, s.clock())
	if terr != nil {
		return translationProblem(terr)
	}
	cmd, err = Parse(typed, s.clock())
	if err != nil {
		// The translator's output must parse like anything typed.
		s.logger.Warn("translator produced text the grammar refuses", "typed", typed, "error", err)
		return translationProblem(&Refusal{Reason: "that turned into something that is not a valid command"})
	}
	if cmd.Verb.Destructive() || cmd.Verb == Approve || cmd.Verb == Deny {
		return Reply{Command: cmd, Title: "Did I understand you?", Understood: cmd.String(), NeedsConfirmation: true}
	}
	reply := s.Execute(ctx, caller, cmd)
	reply.Understood = cmd.String()
	return reply
}

// worthTranslating skips what is plainly not a request (empty text).
func worthTranslating(text string) bool {
	return len(text) > 0 && utf8.RuneCountInString(text) <= MaxCommandLength
}

func translationProblem(err error) Reply {
	p := &Problem{Message: "I couldn't turn that into a command.", ShowUsage: true}
	var r *Refusal
	if errors.As(err, &r) {
		if r.Reason != "" {
			p.Message = fmt.Sprintf("I couldn't turn that into a command: %s.", r.Reason)
		}
		p.Suggestion = r.Closest
	}
	return Reply{Title: "I couldn't run that", Problem: p}
}
