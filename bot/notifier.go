package bot

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/slack-go/slack"

	"github.com/sessionbot/sessionbot/commands"
	"github.com/sessionbot/sessionbot/store"
)

// slackNotifier implements commands.Notifier with Slack messages.
type slackNotifier struct {
	bot       *Slack
	approvers func(instance string) []string
}

// Notifier is the approval flow's messenger in Slack. approvers names each
// instance's approvers for mentions.
func (s *Slack) Notifier(approvers func(instance string) []string) commands.Notifier {
	return &slackNotifier{bot: s, approvers: approvers}
}

// PostApproval returns the request's delivery record with the message's
// channel and ts added.
func (n *slackNotifier) PostApproval(ctx context.Context, req store.Request, approvers []string) (string, error) {
	channel := n.bot.approvalChannel(req.Instance)
	if channel == "" {
		return "", fmt.Errorf("no approval channel is configured for %s", req.Instance)
	}
	ch, ts, err := n.bot.api.PostMessageContext(ctx, channel, approvalMessage(req, nil, approvers).options()...)
	if err != nil {
		return "", fmt.Errorf("chat.postMessage to %s: %w", channel, err)
	}
	d := decodeDelivery(req.Delivery)
	d.ApprovalChannel, d.ApprovalTS = ch, ts
	return d.encode(), nil
}

func (n *slackNotifier) UpdateApproval(ctx context.Context, req store.Request, votes []store.Vote) error {
	approvers := n.approvers(req.Instance)
	// The Homes of the requester, the voters and the approvers named in
	// person show the change too.
	people := []string{req.Requester}
	for _, v := range votes {
		people = append(people, v.Voter)
	}
	if l := n.bot.listener.Load(); l != nil {
		l.refreshHomes(append(people, approvers...)...)
	}
	d := decodeDelivery(req.Delivery)
	if d.ApprovalChannel == "" || d.ApprovalTS == "" {
		return fmt.Errorf("request %s: no approval message is recorded: %w", req.ID, commands.ErrUndeliverable)
	}
	msg := approvalMessage(req, votes, approvers)
	_, _, _, err := n.bot.api.UpdateMessageContext(ctx, d.ApprovalChannel, d.ApprovalTS, msg.options()...)
	var refused slack.SlackErrorResponse
	if errors.As(err, &refused) {
		switch refused.Err {
		case "message_not_found", "channel_not_found", "cant_update_message", "is_archived", "not_in_channel", "edit_window_closed",
			// The message itself is refused: sending it again changes nothing.
			"invalid_blocks", "invalid_blocks_format", "msg_too_long", "no_text":
			return fmt.Errorf("chat.update: %w: %w", commands.ErrUndeliverable, err)
		}
	}
	return err
}

func (n *slackNotifier) TellRequester(ctx context.Context, req store.Request, votes []store.Vote) error {
	msg := requesterMessage(req, votes)
	// response_url works for 30 minutes after the command; past that, or
	// if Slack refuses it, an ephemeral message in the same channel.
	d := decodeDelivery(req.Delivery)
	if d.ResponseURL != "" && time.Since(req.CreatedAt) < 29*time.Minute {
		opts := append(msg.options(), slack.MsgOptionResponseURL(d.ResponseURL, slack.ResponseTypeEphemeral))
		_, _, err := n.bot.api.PostMessageContext(ctx, "", opts...)
		if err == nil {
			return nil
		}
	}
	if d.RequesterChannel == "" || req.Requester == "" {
		return fmt.Errorf("no way to reach the requester of %s", req.ID)
	}
	_, err := n.bot.api.PostEphemeralContext(ctx, d.RequesterChannel, req.Requester, msg.options()...)
	return err
}

func (n *slackNotifier) MirrorAudit(ctx context.Context, channel string, e store.Event) error {
	_, _, err := n.bot.api.PostMessageContext(ctx, channel, auditMessage(e).options()...)
	return err
}

// approvalChannel is where an instance's requests go.
func (s *Slack) approvalChannel(instance string) string {
	if s.cfg.ApprovalChannel == nil {
		return ""
	}
	return s.cfg.ApprovalChannel(instance)
}
