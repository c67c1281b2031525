package bot

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/slack-go/slack"

	"github.com/sessionbot/sessionbot/commands"
	"github.com/sessionbot/sessionbot/store"
	"github.com/sessionbot/sessionbot/vendors"
)

// wholeReason is room for a whole reason once escaped (an & is five
// characters): approvers decide on what they read, so it is never cut.
const wholeReason = 5 * commands.MaxReason

// renderProposal shows exactly what would end, with Confirm and Cancel.
func renderProposal(b *builder, r commands.Reply) {
	p := r.Proposal
	var lead string
	switch {
	case p.Action == store.ActionLogoutUser && p.RevokesSignIns:
		lead = fmt.Sprintf("This would sign `%s` out of *%s* (%s): %s", codeN(p.User.String(), 200), escN(p.Instance, 100), escN(string(p.Vendor), 40), commands.RevokeEffect)
	case p.Action == store.ActionLogoutUser:
		lead = fmt.Sprintf("This would log `%s` out of *%s* (%s), ending %s open now:", codeN(p.User.String(), 200), escN(p.Instance, 100), escN(string(p.Vendor), 40), countNoun(len(p.Sessions), "session"))
	default:
		lead = fmt.Sprintf("This would end one session on *%s* (%s):", escN(p.Instance, 100), escN(string(p.Vendor), 40))
	}
	b.section(lead)
	approval := fmt.Sprintf("Needs %s from %s before anything ends.", countNoun(p.ApprovalsNeeded, "approval"), mentionList(p.Approvers))
	if p.NoApproval {
		approval = ":rotating_light: This instance is configured to end sessions *without* approval: confirming ends it at once."
	}
	reason := "You'll be asked for a reason when you confirm; it goes on the record."
	if p.Reason != "" {
		reason = "Reason: " + escN(p.Reason, wholeReason)
	}
	for i, s := range p.Sessions {
		text := sessionText(s)
		// Room for this, "…and n more", the approval and reason lines
		// (the reason whole) and the buttons.
		if !b.fits(5, len(text)+len(approval)+len(reason)+1000) {
			b.context(fmt.Sprintf("…and %d more.", len(p.Sessions)-i))
			break
		}
		b.section(text)
	}
	b.context(approval)
	b.context(reason)
	value, ok := encodeAction(p.Command, p.Key)
	if !ok {
		b.context("This is too long for a button: type `/sessions " + code(clip(p.Command.String(), 2000)) + "` instead.")
		b.add(slack.NewActionBlock("proposal", slack.NewButtonBlockElement(ActionCancel, "cancel", plain("Cancel"))), 10)
		return
	}
	confirm := slack.NewButtonBlockElement(ActionConfirm, value, plain("Request approval")).WithStyle(slack.StyleDanger)
	if p.NoApproval {
		confirm = slack.NewButtonBlockElement(ActionConfirm, value, plain("End it now")).WithStyle(slack.StyleDanger).
			WithConfirm(slack.NewConfirmationBlockObject(plain("End without approval?"), plain("This instance needs no second person. It ends at once."), plain("End it"), plain("Back")))
	}
	b.add(slack.NewActionBlock("proposal", confirm, slack.NewButtonBlockElement(ActionCancel, "cancel", plain("Cancel"))), 40)
}

// renderRequest shows one stored request, for the person who acted, and
// where it waits for approval.
func renderRequest(b *builder, v commands.RequestView) {
	b.section(requestSummary(v.Request))
	b.context(requestStatus(v.Request, v.Votes))
	if ch := decodeDelivery(v.Request.Delivery).ApprovalChannel; v.Request.State == store.StatePending && strings.HasPrefix(ch, "C") && slackID.MatchString(ch) {
		b.context("Posted for approval in <#" + ch + ">. Nothing ends until it is approved.")
	}
}

func renderRequests(b *builder, r commands.Reply) {
	if len(r.Requests) == 0 {
		b.section("Nothing is waiting for approval.")
	}
	for i, v := range r.Requests {
		summary, status := requestSummary(v.Request), requestStatus(v.Request, v.Votes)
		if !b.fits(3, len(summary)+len(status)+100) {
			b.context(fmt.Sprintf("…and %d more.", len(r.Requests)-i))
			break
		}
		b.section(summary)
		b.context(status)
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
			b.context(fmt.Sprintf("…and %d more; narrow with `audit &lt;user|session|request&gt;` or use `sessionbot audit export`.", len(r.Events)-i))
			return
		}
		lines = append(lines, line)
		size += len(line) + 1
	}
	flush()
}

func eventLine(e store.Event) string {
	line := fmt.Sprintf("%s %s *%s*", slackDate(e.At), person(e.Actor), escN(e.Action, 60))
	if e.Instance != "" {
		line += " on " + escN(e.Instance, 100)
	}
	if e.Target != "" {
		line += " `" + codeN(e.Target, 80) + "`"
	}
	if e.RequestID != "" {
		line += " (" + escN(e.RequestID, 40) + ")"
	}
	if e.Result != "" {
		line += ": " + escN(e.Result, 120)
	}
	return line
}

// requestSummary is what a request does and who asked it, and why.
func requestSummary(r store.Request) string { return requestWhat(r) + "\n" + requestedBy(r) }

// requestedBy is who asked for a request, when, and the whole reason: a
// block of its own where approvers decide, so that no long id or name
// before it can cut the reason.
func requestedBy(r store.Request) string {
	return fmt.Sprintf("Requested by %s %s: %s", person(r.Requester), slackDate(r.CreatedAt), escN(r.Reason, wholeReason))
}

// requestWhat is what a request does, on what.
func requestWhat(r store.Request) string {
	what := "End session `" + codeN(r.SessionID, 200) + "` of `" + codeN(commands.RequestUser(r), 200) + "`"
	switch {
	case r.Action == store.ActionLogoutUser && commands.RevokesSignIns(vendors.Type(r.Vendor)):
		what = "Sign `" + codeN(commands.RequestUser(r), 200) + "` out everywhere (revoke every sign-in session; takes effect within minutes; calls in progress go on)"
	case r.Action == store.ActionLogoutUser:
		what = "Log `" + codeN(commands.RequestUser(r), 200) + "` out"
	}
	text := fmt.Sprintf("*%s* · %s on *%s* (%s)", escN(r.ID, 40), what, escN(r.Instance, 100), escN(r.Vendor, 40))
	if r.Node != "" {
		text += "\nnode `" + codeN(r.Node, 100) + "`"
	}
	if !r.SessionStarted.IsZero() {
		text += " · started " + slackDate(r.SessionStarted)
	}
	return text
}

// stateWords is how a request's status line starts in each state but
// pending, whose line counts its approvals.
var stateWords = map[store.State]string{
	store.StateApproved:    ":white_check_mark: *approved*, about to end it",
	store.StateExecuting:   ":gear: *ending it now*",
	store.StateDone:        ":white_check_mark: *done*",
	store.StateFailed:      ":x: *failed*",
	store.StateDenied:      ":no_entry: *denied*: nothing was ended",
	store.StateExpired:     ":hourglass_flowing_sand: *expired* without enough approvals: nothing was ended",
	store.StateInterrupted: ":warning: *interrupted*",
	store.StateUnknown:     ":grey_question: *outcome unknown*, being checked again",
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
		s := fmt.Sprintf("%s by %s %s", verb, person(v.Voter), slackDate(v.At))
		if v.Reason != "" {
			s += " · reason: " + escN(v.Reason, 200)
		}
		parts = append(parts, s)
	}
	state, known := stateWords[r.State]
	switch {
	case r.State == store.StatePending:
		state = fmt.Sprintf(":hourglass: *pending*: %d of %d approvals · expires %s", approvals, r.ApprovalsNeeded, slackDate(r.ExpiresAt))
	case !known:
		state = "*" + escN(string(r.State), 40) + "*"
	}
	if r.Outcome != "" {
		state += ": " + escN(r.Outcome, 600)
	}
	if !r.FinishedAt.IsZero() {
		state += " · " + slackDate(r.FinishedAt)
	}
	if len(parts) > 0 {
		state += "\n" + strings.Join(parts, " · ")
	}
	return state
}

// slackID matches the ids of Slack users, groups and channels; only these
// are written as mentions.
var slackID = regexp.MustCompile(`^[UWSCG][A-Z0-9]{2,20}$`)

// slackUserID matches a person's Slack id (U... or W...), not a user
// group's or a channel's.
var slackUserID = regexp.MustCompile(`^[UW][A-Z0-9]{2,20}$`)

// person names an actor: a Slack user id as a mention, anything else (a
// replica's name in the audit log) as text.
func person(id string) string {
	if slackUserID.MatchString(id) {
		return "<@" + id + ">"
	}
	return "`" + codeN(id, 80) + "`"
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
		case !slackID.MatchString(id):
			parts = append(parts, "`"+codeN(id, 80)+"`")
		case strings.HasPrefix(id, "S"):
			parts = append(parts, "<!subteam^"+id+">")
		case strings.HasPrefix(id, "C"), strings.HasPrefix(id, "G"):
			parts = append(parts, "members of <#"+id+">")
		default:
			parts = append(parts, "<@"+id+">")
		}
	}
	return strings.Join(parts, ", ")
}

// approvalMessage is the approval channel's message for a request, with
// buttons while it is pending.
func approvalMessage(r store.Request, votes []store.Vote, approvers []string) Message {
	title := "Approval needed: end a session"
	switch {
	case r.Action == store.ActionLogoutUser && commands.RevokesSignIns(vendors.Type(r.Vendor)):
		title = "Approval needed: sign a person out everywhere"
	case r.Action == store.ActionLogoutUser:
		title = "Approval needed: log a person out"
	}
	text := "Approval needed for request " + r.ID + " on " + r.Instance
	if r.State != store.StatePending {
		title = "Request " + r.ID + ": " + string(r.State)
		text = title
	}
	blocks := []slack.Block{
		slack.NewHeaderBlock(plain(clip(title, maxHeaderText))),
		slack.NewSectionBlock(mrkdwn(clipMrkdwn(requestWhat(r), maxTextObject)), nil, nil),
		slack.NewSectionBlock(mrkdwn(clipMrkdwn(requestedBy(r), maxTextObject)), nil, nil),
		slack.NewContextBlock("", mrkdwn(clipMrkdwn(requestStatus(r, votes), maxTextObject))),
	}
	if r.State == store.StatePending {
		if len(approvers) > 0 {
			blocks = append(blocks, slack.NewContextBlock("", mrkdwn(clipMrkdwn("Approvers: "+mentionList(approvers)+" · or type `/sessions approve "+code(r.ID)+"`", maxTextObject))))
		}
		// Plain text: the person's and the instance's names are shown,
		// never read as links or mentions.
		effect := "This ends " + commands.RequestUser(r) + "'s session on " + r.Instance + "."
		switch {
		case r.Action == store.ActionLogoutUser && commands.RevokesSignIns(vendors.Type(r.Vendor)):
			effect = "This revokes every sign-in session of " + commands.RequestUser(r) + " on " + r.Instance + ": they must sign in again, within minutes. Calls in progress go on."
		case r.Action == store.ActionLogoutUser:
			effect = "This logs " + commands.RequestUser(r) + " out of " + r.Instance + "."
		}
		approve := slack.NewButtonBlockElement(ActionApprove, r.ID, plain("Approve")).WithStyle(slack.StylePrimary).
			WithConfirm(slack.NewConfirmationBlockObject(plain("Approve?"), plain(clip(oneLine(effect), 300)), plain("Approve"), plain("Back")))
		deny := slack.NewButtonBlockElement(ActionDeny, r.ID, plain("Deny")).WithStyle(slack.StyleDanger)
		blocks = append(blocks, slack.NewActionBlock("decision", approve, deny))
	}
	return Message{Blocks: blocks, Text: text}
}

// requesterMessage tells the person who asked what became of it.
func requesterMessage(req store.Request, votes []store.Vote) Message {
	text := fmt.Sprintf("Your request %s (%s on %s): %s", req.ID, commands.RequestVerb(req), req.Instance, req.State)
	for _, v := range votes {
		if !v.Approve && v.Reason != "" {
			text += "; denied because: " + v.Reason
		}
	}
	if req.Outcome != "" {
		text += "; " + req.Outcome
	}
	return Message{Text: text, Blocks: []slack.Block{
		slack.NewSectionBlock(mrkdwn(clipMrkdwn(requestSummary(req), maxTextObject)), nil, nil),
		slack.NewContextBlock("", mrkdwn(clipMrkdwn(requestStatus(req, votes), maxTextObject))),
	}}
}

// auditMessage is an audit event as mirrored to the audit channel.
func auditMessage(e store.Event) Message {
	return Message{Text: "audit: " + e.Action, Blocks: []slack.Block{slack.NewContextBlock("", mrkdwn(clipMrkdwn(eventLine(e), maxTextObject)))}}
}
