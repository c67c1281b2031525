package bot

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"github.com/sessionbot/sessionbot/commands"
	"github.com/sessionbot/sessionbot/internal/chart"
)

var _ commands.DigestPoster = (*slackNotifier)(nil)

// maxDigestNodes keeps the node counts within one text object.
const maxDigestNodes = 40

// nodeCounts lists each instance's nodes with their open and stale
// sessions.
func nodeCounts(d commands.Digest) string {
	var lines []string
	var line strings.Builder
	instance := ""
	for i, n := range d.Nodes {
		if i == maxDigestNodes {
			lines = append(lines, line.String(), fmt.Sprintf("…and %d more nodes", len(d.Nodes)-i))
			line.Reset()
			break
		}
		if n.Instance != instance {
			if line.Len() > 0 {
				lines = append(lines, line.String())
				line.Reset()
			}
			instance = n.Instance
			fmt.Fprintf(&line, "*%s*:", esc(n.Instance))
		} else {
			line.WriteString(" ·")
		}
		node := n.Node
		if node == "" {
			node = "(no node)"
		}
		fmt.Fprintf(&line, " `%s` %d stale of %d", code(clip(node, 80)), n.Stale, n.Open)
	}
	if line.Len() > 0 {
		lines = append(lines, line.String())
	}
	if len(lines) == 0 {
		return "No open sessions."
	}
	return strings.Join(lines, "\n")
}

// digestBlocks is the digest message: summary, counts, and the stalest
// sessions each with a Request end button, which runs the same kill
// command as a list's Kill button (proposal, reason, approval).
func digestBlocks(d commands.Digest, now time.Time) []slack.Block {
	// Counted in characters, as Slack counts its ~13,000 in all: the
	// stalest sessions are shown while they fit, with room kept for the
	// problems and the line saying how many more.
	b := &builder{}
	add := func(block slack.Block, texts ...string) { b.add(block, charCount(texts...)) }
	header := clip("Stale sessions: "+d.Report, maxHeaderText)
	summary := clip(d.Summary(), maxTextObject)
	counts := clipMrkdwn(nodeCounts(d), maxTextObject)
	add(slack.NewHeaderBlock(plain(header)), header)
	add(slack.NewSectionBlock(plain(summary), nil, nil), summary)
	add(slack.NewSectionBlock(mrkdwn(counts), nil, nil), counts)
	problems := ""
	if len(d.Problems) > 0 {
		problems = clipMrkdwn(":warning: "+esc(strings.Join(d.Problems, "; ")), maxTextObject)
	}
	reserve := charCount(problems) + 500
	if len(d.Stalest) > 0 {
		intro := fmt.Sprintf("The %s, stalest first. *Request end* asks for approval as usual.", countNoun(len(d.Stalest), "stalest session"))
		add(slack.NewDividerBlock())
		add(slack.NewContextBlock("", mrkdwn(intro)), intro)
	}
	for i, s := range d.Stalest {
		text := "*" + esc(s.Instance) + "* · " + sessionText(s)
		if f := commands.StaleFor(s, now); f != "" {
			text += "\n_" + f + "_"
		}
		text = clipMrkdwn(text, maxTextObject)
		if !b.fits(1, charCount(text, "Request end")+reserve) {
			more := fmt.Sprintf("…and %s more, not shown: a message holds no more.", countNoun(len(d.Stalest)-i, "stale session"))
			add(slack.NewContextBlock("", mrkdwn(more)), more)
			break
		}
		// The Kill button's own value: the same checks when it is clicked.
		var accessory *slack.Accessory
		if value, ok := encodeAction(killCommand(s.Instance, s), ""); ok {
			accessory = slack.NewAccessory(slack.NewButtonBlockElement(ActionKill, value, plain("Request end")))
		}
		add(slack.NewSectionBlock(mrkdwn(text), nil, accessory), text, "Request end")
	}
	if problems != "" {
		add(slack.NewContextBlock("", mrkdwn(problems)), problems)
	}
	return b.blocks
}

// charCount is the characters of texts, as Slack counts them.
func charCount(texts ...string) int {
	n := 0
	for _, t := range texts {
		n += utf8.RuneCountInString(t)
	}
	return n
}

// PostDigest posts the digest in its channel and the chart of recorded
// counts in the digest's thread. The chart is a picture beside the
// message: if it cannot be drawn or uploaded, the digest stands and the
// failure is logged, since posting again would post the digest twice.
func (n *slackNotifier) PostDigest(ctx context.Context, d commands.Digest) error {
	now := time.Now()
	msg := Message{Blocks: digestBlocks(d, now), Text: d.Summary()}
	ch, ts, err := n.bot.api.PostMessageContext(ctx, d.Destination, append(msg.options(), slack.MsgOptionDisableLinkUnfurl())...)
	if err != nil {
		var refused slack.SlackErrorResponse
		if errors.As(err, &refused) {
			switch refused.Err {
			case "channel_not_found", "not_in_channel", "is_archived":
				return fmt.Errorf("chat.postMessage to %s: %w: %w", d.Destination, commands.ErrUndeliverable, err)
			}
		}
		return fmt.Errorf("chat.postMessage to %s: %w", d.Destination, err)
	}
	png, err := chart.Render(d.Report, d.History, d.At.Add(-commands.ChartDays*24*time.Hour), d.At, chart.Width, chart.Height)
	if err != nil {
		n.bot.logger.Warn("drawing a report's chart", "report", d.Report, "error", err)
		return nil
	}
	_, err = n.bot.api.UploadFileContext(ctx, slack.UploadFileParameters{
		Reader: strings.NewReader(string(png)), FileSize: len(png),
		Filename: "sessions-" + d.At.UTC().Format("2006-01-02") + ".png",
		Title:    fmt.Sprintf("Open sessions per node, last %d days: %s", commands.ChartDays, d.Report),
		AltTxt: fmt.Sprintf("Line chart of open sessions per node over the last %d days, one line per node (past %d nodes, the %d busiest and the rest summed)",
			commands.ChartDays, chart.MaxLines, chart.MaxLines-1),
		Channel: ch, ThreadTimestamp: ts,
	})
	if err != nil {
		n.bot.logger.Warn("uploading a report's chart (the app needs the files:write scope)", "report", d.Report, "error", slackError(err))
	}
	return nil
}
