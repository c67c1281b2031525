package bot

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"
)

// busyText is what a person is told when every slot is taken.
const busyText = "I'm answering too many requests right now"

// busyAnswerTimeout bounds telling one person the bot is busy, waiting
// for a turn included: it runs after the ack, off the read loop, and a
// stop waits for it after the drain, so it stays short beside the drain's
// 25 s and the 40 s a stop is given.
const busyAnswerTimeout = 10 * time.Second

const (
	// busyAnswerSlots is how many busy answers are sent at once: a flood
	// of refusals is not doubled onto Slack.
	busyAnswerSlots = 16
	// busyRepeatAfter is how long a person writing message after message
	// in one conversation is not told again: a flood of DMs gets one
	// answer. Commands, clicks and dialogs are each answered: each is a
	// deliberate act, and some name what was not done.
	busyRepeatAfter = 30 * time.Second
	// busyConversations bounds the conversations remembered as told: past
	// it the oldest is forgotten (and may be told again), so it is far
	// more than are refused within one answer's deadline.
	busyConversations = 1 << 16
)

// busyAnswer is what to tell the person an envelope came from when every
// slot is taken, and the routes the envelope offers, best first: its
// response_url; else an ephemeral message in the channel it came from
// (a plain message when that channel is their DM with the bot); else a
// DM (chat.postMessage to the user id lands in their DM with the bot).
type busyAnswer struct {
	// undone says what did not happen ("nothing was requested"), for a
	// submission or a vote; empty when nothing was under way.
	undone      string
	responseURL string
	channel     string
	im          bool
	thread      string
	user        string
	// firstHome: the person opened a Home never published, which would
	// stay blank; the answer is a Home that says the bot is busy.
	firstHome bool
	// stopping: refused because a stop began, not for want of a slot.
	stopping bool
	// fromMessage: a DM or mention, of which one person may send a flood.
	fromMessage bool
}

func (a busyAnswer) message() Message {
	why := busyText
	if a.stopping {
		why = stoppingText
	}
	text := why + ". Try again in a minute."
	if a.undone != "" {
		text = why + ": " + a.undone + ". Try again in a minute."
	}
	return Message{Text: text}
}

// stoppingText is what a person is told when a stop began before their
// decision could start.
const stoppingText = "I'm restarting"

// busyAnswerFor reads where the person behind evt can be told, and what
// was not done. ok is false for what nobody waits on an answer to: a Home
// opened that still shows what it showed last (a DM each time a tab is
// opened would be noise), the bot's own messages, interactions the bot
// ignores.
func busyAnswerFor(evt socketmode.Event, self string) (a busyAnswer, ok bool) {
	switch d := evt.Data.(type) {
	case slack.SlashCommand:
		return busyAnswer{responseURL: d.ResponseURL, channel: d.ChannelID, user: d.UserID}, true
	case slack.InteractionCallback:
		return busyInteraction(d)
	case slackevents.EventsAPIEvent:
		if e, ok := d.InnerEvent.Data.(*slackevents.AppHomeOpenedEvent); ok {
			return busyAnswer{user: e.User, firstHome: true}, e.Tab == "home" && e.View == nil && slackUserID.MatchString(e.User)
		}
		m, ok := personalMessage(d, self)
		if !ok {
			return busyAnswer{}, false
		}
		return busyAnswer{channel: m.channel, im: m.im, thread: m.thread, user: m.user, fromMessage: true}, true
	}
	return busyAnswer{}, false
}

func busyInteraction(cb slack.InteractionCallback) (busyAnswer, bool) {
	a := busyAnswer{user: cb.User.ID}
	switch cb.Type {
	case slack.InteractionTypeViewSubmission:
		// A dialog has no response_url of its own; the one of the
		// message it was opened from rides in its metadata (none when
		// it was opened from the Home: then a DM).
		var meta reasonMetadata
		json.Unmarshal([]byte(cb.View.PrivateMetadata), &meta)
		a.responseURL, a.channel = meta.ResponseURL, meta.Channel
		switch cb.View.CallbackID {
		case CallbackReason:
			a.undone = "nothing was requested, and the reason you typed was not kept"
		case CallbackDeny:
			a.undone = "your vote" + onRequest(strings.TrimPrefix(meta.Command, "deny ")) + " was not counted"
		case CallbackEdit:
			a.undone = "the command you edited was not run"
		default:
			return busyAnswer{}, false
		}
		return a, true
	case slack.InteractionTypeBlockActions:
		// A Home click has neither a response_url nor a channel: a DM.
		a.responseURL, a.channel = cb.ResponseURL, cb.Channel.ID
		for _, action := range cb.ActionCallback.BlockActions {
			switch action.ActionID {
			case ActionConfirm:
				a.undone = "nothing was requested"
			case ActionApprove, ActionDeny:
				a.undone = "your vote" + onRequest(action.Value) + " was not counted"
			case ActionWithdraw:
				a.undone = strings.Join(strings.Fields("request "+clip(action.Value, 40)), " ") + " was not withdrawn"
			case ActionUnderstood:
				a.undone = "the command was not run"
			case ActionSearch:
				a.undone = "your search was not run"
			}
		}
		return a, true
	}
	return busyAnswer{}, false
}

// onRequest names a request in a sentence, when its id is known.
func onRequest(id string) string {
	id = strings.TrimSpace(id)
	if id == "" {
		return ""
	}
	return " on request " + clip(id, 40)
}

// waitsForSlot is true for a decision: a request with its reason typed
// (the dialog Slack has already closed) or a vote. These wait for a slot,
// up to ReplyTimeout, instead of being refused: their work is short beside
// a listing (store writes, one message; a vendor call only for the vote
// that approves), refusing one throws away what the person typed or makes
// them vote again while the request counts down to its expiry, and few
// people can send them. A waiting envelope holds no slot, so the bound on
// work at once stands. Everything else is refused at once.
func waitsForSlot(evt socketmode.Event) bool {
	cb, ok := evt.Data.(slack.InteractionCallback)
	if !ok {
		return false
	}
	switch cb.Type {
	case slack.InteractionTypeViewSubmission:
		return cb.View.CallbackID == CallbackReason || cb.View.CallbackID == CallbackDeny
	case slack.InteractionTypeBlockActions:
		// Not Deny: its click opens a dialog, and the trigger_id that
		// opens it lapses within 3 seconds.
		for _, action := range cb.ActionCallback.BlockActions {
			if action.ActionID == ActionApprove {
				return true
			}
		}
	}
	return false
}

// takeSlot takes an in-flight slot for evt: at once, or for a decision
// (see waitsForSlot) as soon as one frees within ReplyTimeout. False means
// evt was refused, and its person told (see busy).
func (b *Bot) takeSlot(evt socketmode.Event) bool {
	select {
	case b.inFlight <- struct{}{}:
		return true
	default:
	}
	stopping := false
	if waitsForSlot(evt) {
		wait := time.NewTimer(b.cfg.ReplyTimeout)
		defer wait.Stop()
		select {
		case b.inFlight <- struct{}{}:
			select {
			case <-b.stopping:
				// A slot freed by the drain: what was acked before the
				// stop and could start at once has started; this had to
				// wait, and does not start now.
				<-b.inFlight
				stopping = true
			default:
				return true
			}
		case <-wait.C:
		case <-b.stopping:
			stopping = true
		}
	}
	b.busy(evt, stopping)
	return false
}

// handledElsewhere claims a refused envelope in the store shared by the
// replicas before its person is told it was not done: Slack may have
// handed the same envelope to another replica, which did it, and "your
// vote was not counted" would then be false. Claimed here, the envelope
// is dropped by any replica handed it later, so the answer stays true.
// Without the store's answer, the person is told as before.
func (b *Bot) handledElsewhere(evt socketmode.Event) bool {
	if b.cfg.Dedup == nil || evt.Request == nil {
		return false
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(b.workCtx), b.busyTimeout)
	defer cancel()
	first, err := b.cfg.Dedup(ctx, "envelope:"+evt.Request.EnvelopeID)
	if err != nil {
		b.logger.Warn("envelope de-duplication unavailable", "error", err)
		return false
	}
	if !first {
		b.logger.Info("refused envelope already handled by another replica", "envelope", evt.Request.EnvelopeID)
	}
	return !first
}

// busy tells the person behind evt that it was refused, unless another
// replica did it (see handledElsewhere), by the best route it has, within b.busyTimeout in all (waiting for one of busyAnswerSlots
// included), so that neither a flood nor a stop is held up by answers. A
// conversation flooded with messages is told once in busyRepeatAfter,
// unless that answer could not be sent.
func (b *Bot) busy(evt socketmode.Event, stopping bool) {
	a, ok := busyAnswerFor(evt, b.selfID)
	if !ok || b.handledElsewhere(evt) {
		return
	}
	a.stopping = stopping
	if a.fromMessage {
		mark, ok := b.busyTold.mark(a.user + "\x00" + a.channel + "\x00" + a.thread)
		if !ok {
			b.logger.Debug("busy answer skipped: told in this conversation a moment ago", "user", a.user)
			return
		}
		// Told: the interval starts now, not when the answer began
		// waiting. Not told: the next message is answered.
		if b.tellBusy(a) {
			b.busyTold.restamp(mark)
		} else {
			b.busyTold.unmark(mark)
		}
		return
	}
	b.tellBusy(a)
}

// tellBusy sends a's answer by the first route that takes it, and reports
// whether one did. Its context is not the work context: a stop that
// cancels the work must still let it say what was not done; it is bounded
// by its own deadline instead.
func (b *Bot) tellBusy(a busyAnswer) bool {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(b.workCtx), b.busyTimeout)
	defer cancel()
	select {
	case b.busySlots <- struct{}{}:
		defer func() { <-b.busySlots }()
	case <-ctx.Done():
		b.logger.Warn("busy answer dropped: too many being sent", "user", a.user)
		return false
	}
	if a.firstHome {
		if _, err := b.api.PublishViewContext(ctx, slack.PublishViewContextRequest{UserID: a.user, View: busyHome(a.message())}); err != nil {
			b.logger.Warn("busy Home refused", "user", a.user, "error", slackError(err))
			return false
		}
		return true
	}
	opts := a.message().options()
	if a.thread != "" {
		opts = append(opts, slack.MsgOptionTS(a.thread))
	}
	// Each route is tried only while the deadline lasts: a route that
	// answered late may have delivered, and a second answer would repeat it.
	if a.responseURL != "" {
		_, _, err := b.api.PostMessageContext(ctx, "", append(opts, slack.MsgOptionResponseURL(a.responseURL, slack.ResponseTypeEphemeral))...)
		if err == nil {
			return true
		}
		b.logger.Warn("busy answer refused on a response_url", "error", slackError(err))
	}
	if a.channel != "" && a.im && ctx.Err() == nil {
		_, _, err := b.api.PostMessageContext(ctx, a.channel, opts...)
		if err == nil {
			return true
		}
		b.logger.Warn("busy answer refused in a DM", "channel", a.channel, "error", slackError(err))
	}
	if a.channel != "" && !a.im && a.user != "" && ctx.Err() == nil {
		_, err := b.api.PostEphemeralContext(ctx, a.channel, a.user, opts...)
		if err == nil {
			return true
		}
		b.logger.Warn("busy answer refused as an ephemeral message", "channel", a.channel, "error", slackError(err))
	}
	if !slackUserID.MatchString(a.user) || ctx.Err() != nil {
		b.logger.Warn("could not tell a person the bot is busy", "user", a.user)
		return false
	}
	if _, _, err := b.api.PostMessageContext(ctx, a.user, a.message().options()...); err != nil {
		b.logger.Warn("busy answer refused as a DM", "user", a.user, "error", slackError(err))
		return false
	}
	return true
}

// busyHome is a first Home that says the bot is busy: no store read, so
// it costs one call; the whole Home comes when it is next opened.
func busyHome(msg Message) slack.HomeTabViewRequest {
	return slack.HomeTabViewRequest{Type: slack.VTHomeTab, Blocks: slack.Blocks{BlockSet: []slack.Block{
		slack.NewHeaderBlock(plain("Sessions")),
		slack.NewSectionBlock(mrkdwn(":hourglass: "+esc(msg.Text)), nil, nil),
	}}}
}
