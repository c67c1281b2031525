package bot

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/sessionbot/sessionbot/commands"
)

// slackToken matches Slack's escaped references: <@U123>, <@U123|name>,
// <mailto:a@b|a@b>, <#C123|name>, <!here>, <!subteam^S123>, <http://...>.
var slackToken = regexp.MustCompile(`<([^<>]*)>`)

// errNotAPerson refuses a channel, user group or broadcast where a person
// goes: commands lists sessions of people only.
var errNotAPerson = &commands.ParseError{Problem: "Channels and user groups cannot be listed; name one person as `CORP\\marc`, `marc@contoso.com` or `@marc`."}

// Text reaches the bot from Slack in two forms, and each is read once:
//
//   - message text (a slash command, an @mention, a direct message) comes
//     escaped and marked up by Slack: plainText turns it into commands'
//     plain text;
//   - a value typed into a plain_text_input (a modal's state on submit, the
//     Home's search box) comes exactly as typed: inputText takes it as it
//     is. Read as message text, a typed "R&amp;D" would become "R&D",
//     "<INC-4711>" would lose its brackets and "<#ops>" be refused as a
//     channel.
//
// Button values and private_metadata are the bot's own commands' plain
// text and are read as they are too.

// maxSlackText bounds the message text plainText converts. Slack's escaping
// makes a command longer (five bytes for an &, a name beside a mention),
// so the limit on commands applies after conversion; this one only keeps a
// huge paste from being worked through first.
const maxSlackText = 8 * commands.MaxCommandLength

// slackUnescaper undoes the three escapes Slack writes in message text, and
// only those: Slack sends a typed "&copy" as "&amp;copy", never an HTML
// entity of its own.
var slackUnescaper = strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&")

// plainText turns message text as Slack sends it into the plain text
// commands reads: a user mention becomes @U123 (commands' form of a person
// the directory knows by id), a mailto link its address, a link what was
// typed, and &lt; &gt; &amp; the characters. A channel, user group or
// broadcast is refused. Never give it a typed input value: see inputText.
func plainText(text string) (string, error) {
	if len(text) > maxSlackText {
		return "", &commands.ParseError{Problem: fmt.Sprintf("That message is %d characters long; the longest command accepted is %d. Type a single command such as `list CORP\\marc`.", utf8.RuneCountInString(text), commands.MaxCommandLength)}
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
	return slackUnescaper.Replace(text), nil
}

// inputText reads a value typed into a plain_text_input: Slack sends it
// as typed, so nothing is unescaped or converted. Runs of spaces and line
// breaks become one space, as the grammar reads words; control characters
// are left for commands to refuse, as in anything typed.
func inputText(value string) string {
	return strings.Join(strings.Fields(value), " ")
}

// interpret runs message text (see plainText) as a command, with the
// language front end behind the grammar.
func (b *Bot) interpret(ctx context.Context, caller commands.Caller, text string) commands.Reply {
	plain, err := plainText(text)
	if err != nil {
		return b.service.Refuse(err)
	}
	return b.service.Interpret(ctx, caller, plain)
}
