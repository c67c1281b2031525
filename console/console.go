// Package console runs the commands in a terminal, one per line, and
// prints their replies as plain text: the same commands and replies as
// Slack, with nothing of Slack in it. Approval news is printed instead of
// posted.
package console

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/sessionbot/sessionbot/commands"
	"github.com/sessionbot/sessionbot/store"
)

// Console runs commands typed one per line and prints each reply as text:
// the same commands and replies as Slack, for a terminal. Besides the
// grammar it knows `as <slack-user-id>` (act as another person, to approve
// in a demo), `confirm [reason]` and `cancel` for the last kill or logout
// shown, and `report <name> [chart <file.png>]` to run a report now.
type Console struct {
	Service *commands.Service
	// As is the Slack user id the commands run as.
	As string
	// Prompt is printed before each line when set (an interactive terminal).
	Prompt string
	// Location is the time zone times are printed in.
	Location *time.Location

	mu  sync.Mutex
	out io.Writer
}

// slackUserID matches a person's Slack id, the id commands run as.
var slackUserID = regexp.MustCompile(`^[UW][A-Z0-9]{2,20}$`)

// IsSlackUserID reports whether id is a person's Slack id (U... or W...),
// not a user group's or a channel's.
func IsSlackUserID(id string) bool { return slackUserID.MatchString(id) }

// Run reads in until it ends or ctx is cancelled.
func (c *Console) Run(ctx context.Context, in io.Reader, out io.Writer) error {
	c.mu.Lock()
	c.out = out
	c.mu.Unlock()
	if c.Location == nil {
		c.Location = time.UTC
	}
	if !IsSlackUserID(c.As) {
		return fmt.Errorf("the console acts as a person: %q is not a Slack user id such as U0APPROVER", c.As)
	}
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	var proposal, key string // the last kill or logout shown, as typed text, and its key
	for {
		if c.Prompt != "" {
			c.print(c.Prompt)
		}
		if !sc.Scan() {
			return sc.Err()
		}
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		word, rest, _ := strings.Cut(line, " ")
		caller := commands.Caller{ChatID: c.As, Where: "console"}
		switch strings.ToLower(word) {
		case "quit", "exit":
			return nil
		case "as":
			if !slackUserID.MatchString(strings.TrimSpace(rest)) {
				c.print("! `as` takes a Slack user id such as U0APPROVER\n\n")
				continue
			}
			c.As = strings.TrimSpace(rest)
			c.print(fmt.Sprintf("(now acting as %s)\n\n", c.As))
			continue
		case "confirm":
			if proposal == "" {
				c.print("! Nothing to confirm: type a kill or logout first.\n\n")
				continue
			}
			text := proposal
			if r := strings.TrimSpace(rest); r != "" {
				text += " reason " + r
			}
			proposal = ""
			c.print(RenderText(c.Service.SubmitProposal(ctx, caller, text, key), c.Location) + "\n")
			continue
		case "cancel":
			proposal = ""
			c.print("Cancelled: nothing was requested.\n\n")
			continue
		case "report":
			c.runReport(ctx, rest)
			continue
		}
		reply := c.Service.Interpret(ctx, caller, line)
		if reply.Proposal != nil {
			proposal, key = reply.Proposal.Command.String(), reply.Proposal.Key
		}
		c.print(RenderText(reply, c.Location) + "\n")
	}
}

func (c *Console) print(s string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.out != nil {
		io.WriteString(c.out, s)
	}
}

// Notifier prints approval news to the console, standing in for the
// approval channel.
func (c *Console) Notifier() commands.Notifier { return consoleNotifier{c} }

type consoleNotifier struct{ c *Console }

func (n consoleNotifier) PostApproval(_ context.Context, req store.Request, approvers []string) (string, error) {
	n.c.print(fmt.Sprintf("[approvals] request %s: %s on %s, asked by %s: %s\n[approvals] needs %d approval(s) from %s; type `as <their id>` then `approve %s` or `deny %s`\n",
		req.ID, commands.RequestVerb(req), req.Instance, req.Requester, printable(req.Reason), req.ApprovalsNeeded, strings.Join(approvers, ", "), req.ID, req.ID))
	return req.Delivery, nil
}

func (n consoleNotifier) UpdateApproval(_ context.Context, req store.Request, votes []store.Vote) error {
	var b strings.Builder
	renderRequestText(&b, commands.RequestView{Request: req, Votes: votes}, n.c.Location)
	n.c.print("[approvals] updated:\n" + b.String())
	return nil
}

func (n consoleNotifier) TellRequester(_ context.Context, req store.Request, votes []store.Vote) error {
	msg := fmt.Sprintf("[to %s] your request %s is %s", req.Requester, req.ID, req.State)
	for _, v := range votes {
		if !v.Approve && v.Reason != "" {
			msg += " (denied by " + v.Voter + ", reason: " + printable(v.Reason) + ")"
		}
	}
	if req.Outcome != "" {
		msg += ": " + printable(req.Outcome)
	}
	n.c.print(msg + "\n")
	return nil
}

func (n consoleNotifier) MirrorAudit(_ context.Context, channel string, e store.Event) error {
	return nil
}
