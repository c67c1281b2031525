package bot

import (
	"context"
	"fmt"

	"github.com/slack-go/slack"

	"github.com/sessionbot/sessionbot/commands"
	"github.com/sessionbot/sessionbot/store"
)

var _ commands.Reminder = (*slackNotifier)(nil)

// RemindApprovers replies in the approval message's thread, so the nudge
// sits beside the buttons it asks people to use.
func (n *slackNotifier) RemindApprovers(ctx context.Context, req store.Request, approvers []string) error {
	d := decodeDelivery(req.Delivery)
	if d.ApprovalChannel == "" || d.ApprovalTS == "" {
		return fmt.Errorf("request %s has no approval message to remind in", req.ID)
	}
	lead := fmt.Sprintf(":bell: Reminder: request *%s* (%s on *%s*) has had no vote yet and expires %s. %s, please approve or deny it above.",
		esc(req.ID), esc(commands.RequestVerb(req)), esc(req.Instance), slackDate(req.ExpiresAt), mentionList(approvers))
	msg := Message{
		Blocks: []slack.Block{slack.NewSectionBlock(mrkdwn(clipMrkdwn(lead, maxTextObject)), nil, nil)},
		Text:   fmt.Sprintf("Reminder: request %s on %s is waiting for approval", req.ID, req.Instance),
	}
	_, _, err := n.bot.api.PostMessageContext(ctx, d.ApprovalChannel, append(msg.options(), slack.MsgOptionTS(d.ApprovalTS))...)
	if err != nil {
		return fmt.Errorf("chat.postMessage reminder to %s: %w", d.ApprovalChannel, err)
	}
	return nil
}
