package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/sessionbot/sessionbot/commands"
	"github.com/sessionbot/sessionbot/store"
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

// killCommand is the command a Kill button runs: the same typed grammar, so
// the click goes through the same checks as typed text.
func killCommand(instance, sessionID, user string) string {
	cmd := "kill " + sessionID + " on " + instance
	if user != "" {
		cmd += " user " + user
	}
	return cmd
}

// reasonMetadata rides in the modal's private_metadata (3000 bytes max).
type reasonMetadata struct {
	Command     string `json:"c"`
	ResponseURL string `json:"r"`
	Channel     string `json:"ch"`
	// Key is the proposal's, so a repeated submission makes one request.
	Key string `json:"k,omitempty"`
}

// confirmValue is a Confirm button's value: the proposal key, "|", then
// the command. A value without a key (an older message) is the command.
func confirmValue(key, command string) string {
	if key == "" {
		return command
	}
	return key + "|" + command
}

// splitConfirmValue reads confirmValue back.
func splitConfirmValue(v string) (key, command string) {
	if k, c, ok := strings.Cut(v, "|"); ok && isProposalKey(k) {
		return k, c
	}
	return "", v
}

func isProposalKey(k string) bool {
	if len(k) != 16 {
		return false
	}
	for _, c := range k {
		if !strings.ContainsRune("0123456789ABCDEFGHJKMNPQRSTVWXYZ", c) {
			return false
		}
	}
	return true
}

// renderProposal shows exactly what would end, with Confirm and Cancel.
func renderProposal(b *builder, r commands.Reply) {
	p := r.Proposal
	var lead string
	switch p.Action {
	case store.ActionLogoutUser:
		lead = fmt.Sprintf("This would log `%s` out of *%s* (%s), ending %s open now:", code(p.User.String()), esc(p.Instance), p.Vendor, countNoun(len(p.Sessions), "session"))
	default:
		lead = fmt.Sprintf("This would end one session on *%s* (%s):", esc(p.Instance), p.Vendor)
	}
	b.section(lead)
	for i, s := range p.Sessions {
		if !b.fits(3, 400) {
			b.context(fmt.Sprintf("…and %d more.", len(p.Sessions)-i))
			break
		}
		b.section(sessionText(s))
	}
	approval := fmt.Sprintf("Needs %s from %s before anything ends.", countNoun(p.ApprovalsNeeded, "approval"), mentionList(p.Approvers))
	if p.NoApproval {
		approval = ":rotating_light: This instance is configured to end sessions *without* approval: confirming ends it at once."
	}
	b.context(approval)
	if p.Reason != "" {
		b.context("Reason: " + esc(p.Reason))
	} else {
		b.context("You'll be asked for a reason when you confirm; it goes on the record.")
	}
	value := confirmValue(p.Key, clip(p.Command.String(), 1880))
	confirm := slack.NewButtonBlockElement(ActionConfirm, value, plain("Request approval")).WithStyle(slack.StyleDanger)
	if p.NoApproval {
		confirm = slack.NewButtonBlockElement(ActionConfirm, value, plain("End it now")).WithStyle(slack.StyleDanger).
			WithConfirm(slack.NewConfirmationBlockObject(plain("End without approval?"), plain("This instance needs no second person. The session ends at once."), plain("End it"), plain("Back")))
	}
	b.add(slack.NewActionBlock("proposal", confirm, slack.NewButtonBlockElement(ActionCancel, "cancel", plain("Cancel"))), 40)
}

// renderRequest shows one stored request, for the person who acted, and
// where it waits for approval.
func renderRequest(b *builder, v commands.RequestView) {
	b.section(requestSummary(v.Request))
	b.context(requestStatus(v.Request, v.Votes))
	if v.Request.State == store.StatePending && strings.HasPrefix(v.Request.ApprovalChannel, "C") {
		b.context("Posted for approval in <#" + esc(v.Request.ApprovalChannel) + ">. Nothing ends until it is approved.")
	}
}

func renderRequests(b *builder, r commands.Reply) {
	if len(r.Requests) == 0 {
		b.section("Nothing is waiting for approval.")
	}
	for i, v := range r.Requests {
		if !b.fits(2, 800) {
			b.context(fmt.Sprintf("…and %d more.", len(r.Requests)-i))
			break
		}
		b.section(requestSummary(v.Request))
		b.context(requestStatus(v.Request, v.Votes))
	}
}

func renderEvents(b *builder, r commands.Reply) {
	if len(r.Events) == 0 {
		b.section("No audit events match.")
	}
	var lines []string
	flush := func() {
		if len(lines) > 0 {
			b.section(strings.Join(lines, "\n"))
			lines = nil
		}
	}
	size := 0
	for i, e := range r.Events {
		line := eventLine(e)
		if size+len(line) > 2800 {
			flush()
			size = 0
		}
		if !b.fits(2, len(line)+size) {
			flush()
			b.context(fmt.Sprintf("…and %d more; narrow with `audit <user|session|request>` or use `sessionbot audit export`.", len(r.Events)-i))
			return
		}
		lines = append(lines, line)
		size += len(line) + 1
	}
	flush()
}

func eventLine(e store.Event) string {
	line := fmt.Sprintf("%s <@%s> *%s*", slackDate(e.At), esc(e.Actor), esc(e.Action))
	if e.Instance != "" {
		line += " on " + esc(e.Instance)
	}
	if e.Target != "" {
		line += " `" + code(clip(e.Target, 80)) + "`"
	}
	if e.RequestID != "" {
		line += " (" + esc(e.RequestID) + ")"
	}
	if e.Result != "" {
		line += ": " + esc(clip(e.Result, 120))
	}
	return line
}

func requestSummary(r store.Request) string {
	what := "End session `" + code(r.SessionID) + "` of `" + code(target(r)) + "`"
	if r.Action == store.ActionLogoutUser {
		what = "Log `" + code(target(r)) + "` out"
	}
	text := fmt.Sprintf("*%s* · %s on *%s* (%s)", esc(r.ID), what, esc(r.Instance), esc(r.Vendor))
	if r.Node != "" {
		text += "\nnode `" + code(r.Node) + "`"
	}
	if !r.SessionStarted.IsZero() {
		text += " · started " + slackDate(r.SessionStarted)
	}
	text += fmt.Sprintf("\nRequested by <@%s> %s: %s", esc(r.Requester), slackDate(r.CreatedAt), esc(clip(r.Reason, 500)))
	return text
}

func target(r store.Request) string {
	if r.TargetDirectory == "" {
		return r.TargetUser
	}
	return r.TargetDirectory + `\` + r.TargetUser
}

func requestStatus(r store.Request, votes []store.Vote) string {
	var parts []string
	approvals := 0
	for _, v := range votes {
		verb := "approved"
		if !v.Approve {
			verb = "denied"
		} else {
			approvals++
		}
		s := fmt.Sprintf("%s by <@%s> %s", verb, esc(v.Voter), slackDate(v.At))
		if v.Reason != "" {
			s += " (" + esc(clip(v.Reason, 200)) + ")"
		}
		parts = append(parts, s)
	}
	var state string
	switch r.State {
	case store.StatePending:
		state = fmt.Sprintf(":hourglass: *pending*: %d of %d approvals · expires %s", approvals, r.ApprovalsNeeded, slackDate(r.ExpiresAt))
	case store.StateApproved:
		state = ":white_check_mark: *approved*, about to end it"
	case store.StateExecuting:
		state = ":gear: *ending it now*"
	case store.StateDone:
		state = ":white_check_mark: *done*"
	case store.StateFailed:
		state = ":x: *failed*"
	case store.StateDenied:
		state = ":no_entry: *denied*: nothing was ended"
	case store.StateExpired:
		state = ":hourglass_flowing_sand: *expired* without enough approvals: nothing was ended"
	case store.StateInterrupted:
		state = ":warning: *interrupted*"
	default:
		state = "*" + esc(string(r.State)) + "*"
	}
	if r.Outcome != "" {
		state += ": " + esc(clip(r.Outcome, 600))
	}
	if !r.FinishedAt.IsZero() {
		state += " · " + slackDate(r.FinishedAt)
	}
	if len(parts) > 0 {
		state += "\n" + strings.Join(parts, " · ")
	}
	return state
}

// mentionList names approvers so Slack notifies them: users as <@U>,
// user groups as <!subteam^S>, channels as their members.
func mentionList(ids []string) string {
	if len(ids) == 0 {
		return "nobody (no approvers are configured, so this cannot be approved)"
	}
	var parts []string
	for _, id := range ids {
		switch {
		case strings.HasPrefix(id, "S"):
			parts = append(parts, "<!subteam^"+esc(id)+">")
		case strings.HasPrefix(id, "C"), strings.HasPrefix(id, "G"):
			parts = append(parts, "members of <#"+esc(id)+">")
		default:
			parts = append(parts, "<@"+esc(id)+">")
		}
	}
	return strings.Join(parts, ", ")
}

// approvalBlocks is the approval channel's message for a request, with
// buttons while it is pending.
func approvalBlocks(r store.Request, votes []store.Vote, approvers []string) []slack.Block {
	title := "Approval needed: end a session"
	if r.Action == store.ActionLogoutUser {
		title = "Approval needed: log a person out"
	}
	if r.State != store.StatePending {
		title = "Request " + r.ID + ": " + string(r.State)
	}
	blocks := []slack.Block{
		slack.NewHeaderBlock(plain(clip(title, maxHeaderText))),
		slack.NewSectionBlock(mrkdwn(clip(requestSummary(r), maxTextObject)), nil, nil),
		slack.NewContextBlock("", mrkdwn(clip(requestStatus(r, votes), maxTextObject))),
	}
	if r.State == store.StatePending {
		if len(approvers) > 0 {
			blocks = append(blocks, slack.NewContextBlock("", mrkdwn("Approvers: "+mentionList(approvers)+" · or type `/sessions approve "+esc(r.ID)+"`")))
		}
		approve := slack.NewButtonBlockElement(ActionApprove, r.ID, plain("Approve")).WithStyle(slack.StylePrimary).
			WithConfirm(slack.NewConfirmationBlockObject(plain("Approve?"), mrkdwn(clip("This ends "+target(r)+"'s session on "+r.Instance+".", 300)), plain("Approve"), plain("Back")))
		deny := slack.NewButtonBlockElement(ActionDeny, r.ID, plain("Deny")).WithStyle(slack.StyleDanger)
		blocks = append(blocks, slack.NewActionBlock("decision", approve, deny))
	}
	return blocks
}

// slackNotifier implements commands.Notifier with Slack messages.
type slackNotifier struct {
	bot       *Bot
	approvers func(instance string) []string
}

// Notifier is the approval flow's messenger in Slack. approvers names each
// instance's approvers for mentions.
func (b *Bot) Notifier(approvers func(instance string) []string) commands.Notifier {
	return &slackNotifier{bot: b, approvers: approvers}
}

func (n *slackNotifier) PostApproval(ctx context.Context, req store.Request, approvers []string) (string, string, error) {
	channel := n.bot.approvalChannel(req.Instance)
	if channel == "" {
		return "", "", fmt.Errorf("no approval channel is configured for %s", req.Instance)
	}
	blocks := approvalBlocks(req, nil, approvers)
	text := fmt.Sprintf("Approval needed for request %s on %s", req.ID, req.Instance)
	ch, ts, err := n.bot.api.PostMessageContext(ctx, channel, slack.MsgOptionBlocks(blocks...), slack.MsgOptionText(text, false))
	if err != nil {
		return "", "", fmt.Errorf("chat.postMessage to %s: %w", channel, err)
	}
	return ch, ts, nil
}

func (n *slackNotifier) UpdateApproval(ctx context.Context, req store.Request, votes []store.Vote) error {
	blocks := approvalBlocks(req, votes, n.approvers(req.Instance))
	text := fmt.Sprintf("Request %s: %s", req.ID, req.State)
	_, _, _, err := n.bot.api.UpdateMessageContext(ctx, req.ApprovalChannel, req.ApprovalTS, slack.MsgOptionBlocks(blocks...), slack.MsgOptionText(text, false))
	var refused slack.SlackErrorResponse
	if errors.As(err, &refused) {
		switch refused.Err {
		case "message_not_found", "channel_not_found", "cant_update_message", "is_archived", "not_in_channel", "edit_window_closed":
			return fmt.Errorf("chat.update: %w: %w", commands.ErrUndeliverable, err)
		}
	}
	return err
}

func (n *slackNotifier) TellRequester(ctx context.Context, req store.Request, votes []store.Vote) error {
	text := fmt.Sprintf("Your request %s (%s on %s): %s", req.ID, requestVerb(req), req.Instance, req.State)
	blocks := []slack.Block{
		slack.NewSectionBlock(mrkdwn(clip(requestSummary(req), maxTextObject)), nil, nil),
		slack.NewContextBlock("", mrkdwn(clip(requestStatus(req, votes), maxTextObject))),
	}
	// response_url works for 30 minutes after the command; past that, or
	// if Slack refuses it, an ephemeral message in the same channel.
	if req.ResponseURL != "" && time.Since(req.CreatedAt) < 29*time.Minute {
		_, _, err := n.bot.api.PostMessageContext(ctx, "", slack.MsgOptionResponseURL(req.ResponseURL, slack.ResponseTypeEphemeral),
			slack.MsgOptionBlocks(blocks...), slack.MsgOptionText(text, false))
		if err == nil {
			return nil
		}
	}
	if req.RequesterChannel == "" || req.Requester == "" {
		return fmt.Errorf("no way to reach the requester of %s", req.ID)
	}
	_, err := n.bot.api.PostEphemeralContext(ctx, req.RequesterChannel, req.Requester, slack.MsgOptionBlocks(blocks...), slack.MsgOptionText(text, false))
	return err
}

func requestVerb(r store.Request) string {
	if r.Action == store.ActionLogoutUser {
		return "log out " + target(r)
	}
	return "end session " + r.SessionID
}

func (n *slackNotifier) MirrorAudit(ctx context.Context, channel string, e store.Event) error {
	_, _, err := n.bot.api.PostMessageContext(ctx, channel, slack.MsgOptionBlocks(slack.NewContextBlock("", mrkdwn(clip(eventLine(e), maxTextObject)))),
		slack.MsgOptionText("audit: "+e.Action, false))
	return err
}

// onKillClick shows the proposal for a Kill button: the same as typing
// the command.
func (b *Bot) onKillClick(ctx context.Context, cb slack.InteractionCallback, action *slack.BlockAction) {
	caller := commands.Caller{SlackID: cb.User.ID, Channel: cb.Channel.ID}
	reply := b.cfg.Service.Handle(ctx, caller, action.Value)
	b.respond(ctx, cb.ResponseURL, Render(reply, 1), false)
}

// onConfirm submits a proposal, asking for a reason first when the command
// has none.
func (b *Bot) onConfirm(ctx context.Context, cb slack.InteractionCallback, action *slack.BlockAction) {
	key, text := splitConfirmValue(action.Value)
	cmd, err := commands.Parse(text, time.Now())
	if err != nil {
		b.respond(ctx, cb.ResponseURL, Message{Text: "That button no longer works: " + err.Error()}, true)
		return
	}
	if strings.TrimSpace(cmd.Reason) == "" {
		meta, _ := json.Marshal(reasonMetadata{Command: text, ResponseURL: cb.ResponseURL, Channel: cb.Channel.ID, Key: key})
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
	b.submit(ctx, commands.Caller{SlackID: cb.User.ID, Channel: cb.Channel.ID}, text, cb.ResponseURL, key)
}

func (b *Bot) submit(ctx context.Context, caller commands.Caller, text, responseURL, key string) {
	reply := b.cfg.Service.SubmitProposal(ctx, caller, text, responseURL, key)
	b.respond(ctx, responseURL, Render(reply, 1), true)
}

func reasonModal(cmd commands.Command, meta string) slack.ModalViewRequest {
	input := slack.NewPlainTextInputBlockElement(plain("e.g. stuck session after the 02:00 deploy"), actionReasonText)
	input.Multiline = true
	input.MaxLength = 500
	input.MinLength = 3
	return slack.ModalViewRequest{
		Type:            slack.VTModal,
		CallbackID:      CallbackReason,
		Title:           plain("Why end it?"),
		Submit:          plain("Request approval"),
		Close:           plain("Cancel"),
		PrivateMetadata: meta,
		Blocks: slack.Blocks{BlockSet: []slack.Block{
			slack.NewSectionBlock(mrkdwn(clip("`/sessions "+code(cmd.String())+"`", maxTextObject)), nil, nil),
			slack.NewInputBlock(blockReason, plain("Reason (goes on the record)"), nil, input),
		}},
	}
}

// onReasonSubmitted finishes a confirmation from the reason modal.
func (b *Bot) onReasonSubmitted(ctx context.Context, cb slack.InteractionCallback) {
	var meta reasonMetadata
	if err := json.Unmarshal([]byte(cb.View.PrivateMetadata), &meta); err != nil || meta.Command == "" {
		b.logger.Warn("reason modal without usable metadata")
		return
	}
	reason := ""
	if blk, ok := cb.View.State.Values[blockReason]; ok {
		reason = strings.TrimSpace(blk[actionReasonText].Value)
	}
	reason = strings.Join(strings.Fields(reason), " ")
	if reason == "" {
		b.respond(ctx, meta.ResponseURL, Message{Text: "A reason is required; nothing was requested."}, false)
		return
	}
	b.submit(ctx, commands.Caller{SlackID: cb.User.ID, Channel: meta.Channel}, meta.Command+" reason "+reason, meta.ResponseURL, meta.Key)
}

// onDecision handles Approve and Deny buttons: the same as typing approve
// or deny, answered only to the person who clicked.
func (b *Bot) onDecision(ctx context.Context, cb slack.InteractionCallback, action *slack.BlockAction, approve bool) {
	verb := "approve "
	if !approve {
		verb = "deny "
	}
	caller := commands.Caller{SlackID: cb.User.ID, Channel: cb.Channel.ID}
	reply := b.cfg.Service.Handle(ctx, caller, verb+action.Value)
	b.respondEphemeral(ctx, cb.ResponseURL, Render(reply, 1))
}

// onDenyClick asks for an optional reason before denying; if the dialog
// cannot open, it denies without one.
func (b *Bot) onDenyClick(ctx context.Context, cb slack.InteractionCallback, action *slack.BlockAction) {
	meta, _ := json.Marshal(reasonMetadata{Command: "deny " + action.Value, ResponseURL: cb.ResponseURL, Channel: cb.Channel.ID})
	input := slack.NewPlainTextInputBlockElement(plain("e.g. the user is presenting to the board right now"), actionReasonText)
	input.MaxLength = 500
	view := slack.ModalViewRequest{
		Type:            slack.VTModal,
		CallbackID:      CallbackDeny,
		Title:           plain("Deny " + clip(action.Value, 12)),
		Submit:          plain("Deny"),
		Close:           plain("Back"),
		PrivateMetadata: string(meta),
		Blocks: slack.Blocks{BlockSet: []slack.Block{
			&slack.InputBlock{Type: slack.MBTInput, BlockID: blockReason, Label: plain("Reason (optional, goes on the record)"), Element: input, Optional: true},
		}},
	}
	if _, err := b.api.OpenViewContext(ctx, cb.TriggerID, view); err != nil {
		b.logger.Warn("views.open for a deny reason; denying without one", "error", slackError(err))
		b.onDecision(ctx, cb, action, false)
	}
}

// onDenySubmitted denies with the reason typed, if any.
func (b *Bot) onDenySubmitted(ctx context.Context, cb slack.InteractionCallback) {
	var meta reasonMetadata
	if err := json.Unmarshal([]byte(cb.View.PrivateMetadata), &meta); err != nil || !strings.HasPrefix(meta.Command, "deny ") {
		b.logger.Warn("deny dialog without usable metadata")
		return
	}
	text := meta.Command
	if blk, ok := cb.View.State.Values[blockReason]; ok {
		if reason := strings.Join(strings.Fields(blk[actionReasonText].Value), " "); reason != "" {
			text += " reason " + reason
		}
	}
	reply := b.cfg.Service.Handle(ctx, commands.Caller{SlackID: cb.User.ID, Channel: meta.Channel}, text)
	b.respondEphemeral(ctx, meta.ResponseURL, Render(reply, 1))
}

// approvalChannel is where an instance's requests go.
func (b *Bot) approvalChannel(instance string) string {
	if b.cfg.ApprovalChannel == nil {
		return ""
	}
	return b.cfg.ApprovalChannel(instance)
}
