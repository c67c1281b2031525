package bot

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/slack-go/slack"

	"github.com/sessionbot/sessionbot/commands"
)

// Action and callback ids of the approval flow's buttons and modal.
const (
	ActionKill       = "session_kill"
	ActionConfirm    = "kill_confirm"
	ActionCancel     = "kill_cancel"
	ActionApprove    = "request_approve"
	ActionDeny       = "request_deny"
	CallbackReason   = "kill_reason"
	CallbackDeny     = "deny_reason"
	blockReason      = "reason"
	actionReasonText = "reason_text"
)

// reasonMetadata rides in a modal's private_metadata (3000 bytes max).
type reasonMetadata struct {
	// Command is typed text to run (deny); Value a Confirm button's value.
	Command     string `json:"c,omitempty"`
	Value       string `json:"v,omitempty"`
	ResponseURL string `json:"r"`
	Channel     string `json:"ch"`
	// Home: the dialog was opened from the App Home, which has no
	// response_url; the answer goes back to the Home.
	Home bool `json:"h,omitempty"`
}

// onKillClick shows the proposal for a Kill button: the same as typing
// the command, from the data the button carries.
func (b *Bot) onKillClick(ctx context.Context, cb slack.InteractionCallback, action *slack.BlockAction) {
	cmd, _, err := decodeAction(action.Value)
	if err != nil {
		b.respond(ctx, cb.ResponseURL, Message{Text: "That button no longer works: " + err.Error()}, false)
		return
	}
	caller := commands.Caller{ChatID: cb.User.ID, Where: cb.Channel.ID}
	b.respond(ctx, cb.ResponseURL, Render(b.service.Execute(ctx, caller, cmd), 1), false)
}

// onUnderstood runs a plain-words request the person confirmed, as the
// typed command it was read as.
func (b *Bot) onUnderstood(ctx context.Context, cb slack.InteractionCallback, action *slack.BlockAction) {
	caller := commands.Caller{ChatID: cb.User.ID, Where: cb.Channel.ID}
	b.respond(ctx, cb.ResponseURL, Render(b.service.Handle(ctx, caller, buttonCommand(action.Value)), 1), false)
}

// onConfirm submits a proposal, asking for a reason first when it has
// none.
func (b *Bot) onConfirm(ctx context.Context, cb slack.InteractionCallback, action *slack.BlockAction) {
	cmd, key, err := decodeAction(action.Value)
	if err != nil {
		b.respond(ctx, cb.ResponseURL, Message{Text: "That button no longer works: " + err.Error()}, true)
		return
	}
	if strings.TrimSpace(cmd.Reason) == "" {
		meta, _ := json.Marshal(reasonMetadata{Value: action.Value, ResponseURL: cb.ResponseURL, Channel: cb.Channel.ID})
		if len(meta) > 3000 {
			b.respond(ctx, cb.ResponseURL, Message{Text: "That command is too long for the reason dialog: type it with `reason <why>` at the end."}, false)
			return
		}
		if _, err := b.api.OpenViewContext(ctx, cb.TriggerID, reasonModal(cmd, string(meta))); err != nil {
			b.logger.Warn("views.open", "error", slackError(err))
			b.respond(ctx, cb.ResponseURL, Message{Text: "I couldn't open the reason dialog (" + slackError(err) + "). Type the command again with `reason <why>` at the end."}, false)
		}
		return
	}
	b.submit(ctx, commands.Caller{ChatID: cb.User.ID, Where: cb.Channel.ID}, cmd, cb.ResponseURL, key)
}

func (b *Bot) submit(ctx context.Context, caller commands.Caller, cmd commands.Command, responseURL, key string) {
	caller.ReplyTo = replyTo(responseURL, caller.Where)
	reply := b.service.SubmitCommand(ctx, caller, cmd, key)
	b.respond(ctx, responseURL, Render(reply, 1), true)
}

func reasonModal(cmd commands.Command, meta string) slack.ModalViewRequest {
	input := slack.NewPlainTextInputBlockElement(plain("e.g. stuck session after the 02:00 deploy"), actionReasonText)
	input.Multiline = true
	input.MaxLength = commands.MaxReason
	input.MinLength = 3
	return slack.ModalViewRequest{
		Type:            slack.VTModal,
		CallbackID:      CallbackReason,
		Title:           plain("Why end it?"),
		Submit:          plain("Request approval"),
		Close:           plain("Cancel"),
		PrivateMetadata: meta,
		Blocks: slack.Blocks{BlockSet: []slack.Block{
			slack.NewSectionBlock(mrkdwn(clipMrkdwn("`/sessions "+code(cmd.String())+"`", maxTextObject)), nil, nil),
			slack.NewInputBlock(blockReason, plain("Reason (goes on the record)"), nil, input),
		}},
	}
}

// onReasonSubmitted finishes a confirmation from the reason modal.
func (b *Bot) onReasonSubmitted(ctx context.Context, cb slack.InteractionCallback) {
	var meta reasonMetadata
	if err := json.Unmarshal([]byte(cb.View.PrivateMetadata), &meta); err != nil || meta.Value == "" {
		b.logger.Warn("reason modal without usable metadata")
		return
	}
	cmd, key, err := decodeAction(meta.Value)
	if err != nil {
		b.respond(ctx, meta.ResponseURL, Message{Text: "That dialog no longer works: " + err.Error()}, false)
		return
	}
	if blk, ok := cb.View.State.Values[blockReason]; ok {
		cmd.Reason = inputText(blk[actionReasonText].Value)
	}
	if cmd.Reason == "" {
		b.respond(ctx, meta.ResponseURL, Message{Text: "A reason is required; nothing was requested."}, false)
		return
	}
	b.submit(ctx, commands.Caller{ChatID: cb.User.ID, Where: meta.Channel}, cmd, meta.ResponseURL, key)
}

// onDecision handles Approve and Deny buttons: the same as typing approve
// or deny, answered only to the person who clicked.
func (b *Bot) onDecision(ctx context.Context, cb slack.InteractionCallback, action *slack.BlockAction, approve bool) {
	verb := "approve "
	if !approve {
		verb = "deny "
	}
	caller := commands.Caller{ChatID: cb.User.ID, Where: cb.Channel.ID}
	// The button's value is a request id the bot wrote, not Slack text.
	reply := b.service.Handle(ctx, caller, verb+action.Value)
	if fromHome(cb) {
		b.answerOnHome(ctx, cb.User.ID, reply)
		return
	}
	b.respondEphemeral(ctx, cb.ResponseURL, Render(reply, 1))
}

// onDenyClick asks for an optional reason before denying; if the dialog
// cannot open, it denies without one.
func (b *Bot) onDenyClick(ctx context.Context, cb slack.InteractionCallback, action *slack.BlockAction) {
	meta, _ := json.Marshal(reasonMetadata{Command: "deny " + action.Value, ResponseURL: cb.ResponseURL, Channel: cb.Channel.ID, Home: fromHome(cb)})
	view := denyModal(action.Value, string(meta))
	if _, err := b.api.OpenViewContext(ctx, cb.TriggerID, view); err != nil {
		b.logger.Warn("views.open for a deny reason; denying without one", "error", slackError(err))
		b.onDecision(ctx, cb, action, false)
	}
}

// denyModal asks for an optional reason to deny request id.
func denyModal(id, meta string) slack.ModalViewRequest {
	input := slack.NewPlainTextInputBlockElement(plain("e.g. the user is presenting to the board right now"), actionReasonText)
	input.MaxLength = commands.MaxReason
	return slack.ModalViewRequest{
		Type:            slack.VTModal,
		CallbackID:      CallbackDeny,
		Title:           plain(clip("Deny "+id, 24)),
		Submit:          plain("Deny"),
		Close:           plain("Back"),
		PrivateMetadata: meta,
		Blocks: slack.Blocks{BlockSet: []slack.Block{
			&slack.InputBlock{Type: slack.MBTInput, BlockID: blockReason, Label: plain("Reason (optional, goes on the record)"), Element: input, Optional: true},
		}},
	}
}

// onDenySubmitted denies with the reason typed, if any: the reason as
// typed (see inputText), after the bot's own "deny <id>".
func (b *Bot) onDenySubmitted(ctx context.Context, cb slack.InteractionCallback) {
	var meta reasonMetadata
	if err := json.Unmarshal([]byte(cb.View.PrivateMetadata), &meta); err != nil || !strings.HasPrefix(meta.Command, "deny ") {
		b.logger.Warn("deny dialog without usable metadata")
		return
	}
	text := meta.Command
	if blk, ok := cb.View.State.Values[blockReason]; ok {
		if reason := inputText(blk[actionReasonText].Value); reason != "" {
			text += " reason " + reason
		}
	}
	reply := b.service.Handle(ctx, commands.Caller{ChatID: cb.User.ID, Where: meta.Channel}, text)
	if meta.Home {
		b.answerOnHome(ctx, cb.User.ID, reply)
		return
	}
	b.respondEphemeral(ctx, meta.ResponseURL, Render(reply, 1))
}
