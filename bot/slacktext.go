package bot

import (
	"context"
	"html"
	"regexp"
	"strings"

	"github.com/sessionbot/sessionbot/commands"
)

// slackToken matches Slack's escaped references: <@U123>, <@U123|name>,
// <mailto:a@b|a@b>, <#C123|name>, <!here>, <!subteam^S123>, <http://...>.
var slackToken = regexp.MustCompile(`<([^<>]*)>`)

// errNotAPerson refuses a channel, user group or broadcast where a person
// goes: commands lists sessions of people only.
var errNotAPerson = &commands.ParseError{Problem: "Channels and user groups cannot be listed; name one person as `CORP\\marc`, `marc@contoso.com` or `@marc`."}

// plainText turns text as Slack sends it (a slash command, a message, a
// text input) into the plain text commands reads: a user mention becomes
// @U123 (commands' form of a person the directory knows by id), a mailto
// link its address, a link what was typed, and &lt; &gt; &amp; the
// characters. A channel, user group or broadcast is refused.
func plainText(text string) (string, error) {
	if len(text) > commands.MaxCommandLength {
		// Left for commands to refuse with the length the person typed.
		return text, nil
	}
	var bad error
	text = slackToken.ReplaceAllStringFunc(text, func(m string) string {
		inner := m[1 : len(m)-1]
		target, _, _ := strings.Cut(inner, "|")
		switch {
		case strings.HasPrefix(target, "@U"), strings.HasPrefix(target, "@W"):
			return " " + target + " "
		case strings.HasPrefix(target, "mailto:"):
			return strings.TrimPrefix(target, "mailto:")
		case strings.HasPrefix(target, "#"), strings.HasPrefix(target, "!"), strings.HasPrefix(target, "@S"):
			bad = errNotAPerson
		default:
			// A URL Slack linked: keep what was typed, which is the part
			// after the bar or the target itself.
			if _, label, ok := strings.Cut(inner, "|"); ok {
				return label
			}
			return target
		}
		return m
	})
	if bad != nil {
		return "", bad
	}
	return html.UnescapeString(text), nil
}

// handle runs Slack text as a typed command.
func (b *Bot) handle(ctx context.Context, caller commands.Caller, text string) commands.Reply {
	plain, err := plainText(text)
	if err != nil {
		return b.service.Refuse(err)
	}
	return b.service.Handle(ctx, caller, plain)
}

// interpret is handle with the language front end behind the grammar.
func (b *Bot) interpret(ctx context.Context, caller commands.Caller, text string) commands.Reply {
	plain, err := plainText(text)
	if err != nil {
		return b.service.Refuse(err)
	}
	return b.service.Interpret(ctx, caller, plain)
}
