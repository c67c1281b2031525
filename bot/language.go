package bot

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"

	"github.com/sessionbot/sessionbot/commands"
)

// Action and callback ids for requests written in plain words.
const (
	ActionUnderstood     = "understood_confirm"
	ActionEditUnderstood = "understood_edit"
	CallbackEdit         = "understood_edit"
	blockEdit            = "command"
	actionEditText       = "command_text"
)

// renderUnderstood shows what a plain-words request was read as, for the
// person to confirm before anything is proposed.
func renderUnderstood(b *builder, r commands.Reply) {
	b.section("I understood: `/sessions " + code(r.Understood) + "`")
	b.context("Nothing happens until you confirm; a kill or logout then still needs approval.")
	value := clip(r.Understood, commands.MaxCommandLength)
	b.add(slack.NewActionBlock("understood",
		slack.NewButtonBlockElement(ActionUnderstood, value, plain("Confirm")).WithStyle(slack.StylePrimary),
		slack.NewButtonBlockElement(ActionEditUnderstood, value, plain("Edit")),
		slack.NewButtonBlockElement(ActionCancel, "cancel", plain("Cancel")),
	), 40)
}

// onEditUnderstood opens a dialog with the understood command to correct.
func (b *Bot) onEditUnderstood(ctx context.Context, cb slack.InteractionCallback, action *slack.BlockAction) {
	meta, _ := json.Marshal(reasonMetadata{ResponseURL: cb.ResponseURL, Channel: cb.Channel.ID})
	// An older button may still carry <@U…>: the box shows what can be typed.
	view := editModal(buttonCommand(action.Value), string(meta))
	if _, err := b.api.OpenViewContext(ctx, cb.TriggerID, view); err != nil {
		b.logger.Warn("views.open", "error", slackError(err))
		b.respond(ctx, cb.ResponseURL, Message{Text: "I couldn't open the editor (" + slackError(err) + "). Type the command instead."}, false)
	}
}

// editModal offers the understood command for correction.
func editModal(command, meta string) slack.ModalViewRequest {
	input := slack.NewPlainTextInputBlockElement(nil, actionEditText)
	input.InitialValue = clip(command, commands.MaxCommandLength)
	input.MaxLength = commands.MaxCommandLength
	return slack.ModalViewRequest{
		Type:            slack.VTModal,
		CallbackID:      CallbackEdit,
		Title:           plain("Edit the command"),
		Submit:          plain("Run"),
		Close:           plain("Cancel"),
		PrivateMetadata: meta,
		Blocks: slack.Blocks{BlockSet: []slack.Block{
			slack.NewInputBlock(blockEdit, plain("/sessions"), plain("In the typed grammar; `help` lists it."), input),
		}},
	}
}

// onEditSubmitted runs the edited command as typed (see inputText): the
// grammar only, no second translation. What the box was opened with and
// left unchanged therefore reads as the command it was.
func (b *Bot) onEditSubmitted(ctx context.Context, cb slack.InteractionCallback) {
	var meta reasonMetadata
	if err := json.Unmarshal([]byte(cb.View.PrivateMetadata), &meta); err != nil {
		return
	}
	text := ""
	if blk, ok := cb.View.State.Values[blockEdit]; ok {
		text = inputText(blk[actionEditText].Value)
	}
	reply := b.service.Handle(ctx, commands.Caller{ChatID: cb.User.ID, Where: meta.Channel}, text)
	b.respond(ctx, meta.ResponseURL, b.render(reply, cb.User.ID, 1), true)
}

// personal is a message a person sent the bot: an @mention in a channel,
// or a direct message (im).
type personal struct {
	user, channel, text, thread string
	im                          bool
}

// personalMessage is ev when a person wrote it to the bot; never our own
// or another bot's messages, edits or joins, which would answer answers.
func personalMessage(ev slackevents.EventsAPIEvent, self string) (personal, bool) {
	switch e := ev.InnerEvent.Data.(type) {
	case *slackevents.AppMentionEvent:
		if e.BotID != "" {
			return personal{}, false
		}
		return personal{user: e.User, channel: e.Channel, text: e.Text, thread: e.ThreadTimeStamp}, true
	case *slackevents.MessageEvent:
		if e.ChannelType != "im" || e.BotID != "" || e.SubType != "" || e.User == "" || e.User == self {
			return personal{}, false
		}
		return personal{user: e.User, channel: e.Channel, text: e.Text, thread: e.ThreadTimeStamp, im: true}, true
	}
	return personal{}, false
}

// onEvent answers an @mention (ephemerally, to the person) or a direct
// message, with the same interpretation as the slash command.
func (b *Bot) onEvent(ctx context.Context, ev slackevents.EventsAPIEvent) {
	if e, ok := ev.InnerEvent.Data.(*slackevents.AppHomeOpenedEvent); ok {
		if e.Tab == "home" {
			b.onHomeOpened(ctx, e.User)
		}
		return
	}
	m, ok := personalMessage(ev, b.selfID)
	if !ok {
		return
	}
	text := m.text
	if b.selfID != "" {
		// "@sessionbot who is on qlik as marc": the bot's own mention is
		// not part of the request.
		text = strings.ReplaceAll(text, "<@"+b.selfID+">", " ")
	}
	reply := b.interpret(ctx, commands.Caller{ChatID: m.user, Where: m.channel}, strings.TrimSpace(text))
	opts := b.render(reply, m.user, 1).options()
	if m.thread != "" {
		opts = append(opts, slack.MsgOptionTS(m.thread))
	}
	var err error
	if m.im {
		_, _, err = b.api.PostMessageContext(ctx, m.channel, opts...)
	} else {
		_, err = b.api.PostEphemeralContext(ctx, m.channel, m.user, opts...)
	}
	if err != nil {
		b.logger.Warn("answering a mention or message", "channel", m.channel, "error", slackError(err))
	}
}
