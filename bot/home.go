package bot

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/sessionbot/sessionbot/commands"
	"github.com/sessionbot/sessionbot/console"
	"github.com/sessionbot/sessionbot/store"
)

// Action ids on the App Home. Approve and Deny there are the approval
// message's own (ActionApprove, ActionDeny): the same handlers and checks.
const (
	ActionWithdraw = "request_withdraw"
	ActionSearch   = "home_search"
	blockSearch    = "home_search"
	// maxHomeBlocks is Slack's limit for a Home view.
	maxHomeBlocks = 100
	// homeRefreshFanout bounds the Homes one change republishes, and
	// homeRefreshSlots the refreshes running at once; past them a Home
	// shows the change when it is next opened.
	homeRefreshFanout  = 25
	homeRefreshSlots   = 4
	homeSearchSections = 20
)

// homeView renders what one person's Home shows. notice, when set, is the
// answer to their last click on it (a Home click has no response_url).
func homeView(h commands.Home, command, notice string) slack.HomeTabViewRequest {
	b := &homeBuilder{}
	b.add(slack.NewHeaderBlock(plain("Sessions")))
	if notice != "" {
		b.add(slack.NewSectionBlock(mrkdwn(clipMrkdwn(":speech_balloon: "+escN(oneLine(notice), 2900), maxTextObject)), nil, nil))
	}
	if h.Problem != "" {
		b.add(slack.NewContextBlock("", mrkdwn(":warning: "+escN(h.Problem, 500))))
	}
	if h.Approver {
		b.add(slack.NewHeaderBlock(plain("Waiting for your vote")))
		if len(h.Waiting) == 0 {
			b.add(slack.NewContextBlock("", mrkdwn("Nothing waits for your vote.")))
		}
		for _, v := range h.Waiting {
			b.decision(v, homeDecision(v.Request))
		}
		b.more(h.WaitingMore, command)
		if len(h.Decided) > 0 {
			b.add(slack.NewHeaderBlock(plain("Last decisions")))
			for _, v := range h.Decided {
				b.request(v, nil)
			}
		}
	}
	if len(h.Mine) > 0 {
		b.add(slack.NewHeaderBlock(plain("Your requests")))
		for _, v := range h.Mine {
			var actions *slack.ActionBlock
			if v.Request.State == store.StatePending {
				withdraw := slack.NewButtonBlockElement(ActionWithdraw, v.Request.ID, plain("Withdraw")).
					WithConfirm(slack.NewConfirmationBlockObject(plain("Withdraw?"), plain(clip("Request "+v.Request.ID+" is taken back: nothing is ended.", 300)), plain("Withdraw"), plain("Back")))
				actions = slack.NewActionBlock("withdraw_"+v.Request.ID, withdraw)
			}
			b.request(v, actions)
		}
		b.more(h.MineMore, command)
	}
	if h.Lister {
		b.add(slack.NewHeaderBlock(plain("Instances")))
		for _, in := range h.Instances {
			status := "not probed yet"
			switch {
			case in.At.IsZero():
			case in.Err != nil:
				status = ":x: " + escN(in.Err.Error(), 300) + " · " + slackDate(in.At)
			default:
				status = fmt.Sprintf(":white_check_mark: answered in %s · %s", commands.RoundDuration(in.Elapsed), slackDate(in.At))
			}
			if !b.fits(3) {
				b.add(slack.NewContextBlock("", mrkdwn("…more instances: type `"+code(command)+" vendors`")))
				break
			}
			b.add(slack.NewContextBlock("", mrkdwn(clipMrkdwn(fmt.Sprintf("*%s* (%s) %s", escN(in.Name, 100), escN(string(in.Type), 40), status), maxTextObject))))
		}
		input := slack.NewPlainTextInputBlockElement(plain("a person, e.g. marc or CORP\\marc"), ActionSearch)
		input.MaxLength = 200
		search := slack.NewInputBlock(blockSearch, plain("Find sessions (runs list)"), nil, input).WithDispatchAction(true)
		search.Optional = true
		b.add(search)
	}
	if !h.Approver && !h.Lister && len(h.Mine) == 0 {
		b.add(slack.NewSectionBlock(mrkdwn("You are not on this bot's lists of people who may look up sessions, request or approve. Ask an admin to add you."), nil, nil))
	}
	return slack.HomeTabViewRequest{Type: slack.VTHomeTab, Blocks: slack.Blocks{BlockSet: b.blocks}}
}

// homeBuilder keeps a Home under its block limit, leaving room for the
// instances and the search box.
type homeBuilder struct{ blocks []slack.Block }

func (b *homeBuilder) add(block slack.Block) { b.blocks = append(b.blocks, block) }

func (b *homeBuilder) fits(n int) bool { return len(b.blocks)+n <= maxHomeBlocks }

func (b *homeBuilder) request(v commands.RequestView, actions *slack.ActionBlock) {
	b.add(slack.NewSectionBlock(mrkdwn(clipMrkdwn(requestSummary(v.Request), maxTextObject)), nil, nil))
	b.add(slack.NewContextBlock("", mrkdwn(clipMrkdwn(requestStatus(v.Request, v.Votes), maxTextObject))))
	if actions != nil {
		b.add(actions)
	}
}

// decision is a request waiting for this person's vote: its reason in a
// block of its own, as in the approval message, so that nothing before it
// can cut what the approver decides on.
func (b *homeBuilder) decision(v commands.RequestView, actions *slack.ActionBlock) {
	b.add(slack.NewSectionBlock(mrkdwn(clipMrkdwn(requestWhat(v.Request), maxTextObject)), nil, nil))
	b.add(slack.NewSectionBlock(mrkdwn(clipMrkdwn(requestedBy(v.Request), maxTextObject)), nil, nil))
	b.add(slack.NewContextBlock("", mrkdwn(clipMrkdwn(requestStatus(v.Request, v.Votes), maxTextObject))))
	if actions != nil {
		b.add(actions)
	}
}

func (b *homeBuilder) more(n int, command string) {
	if n > 0 {
		b.add(slack.NewContextBlock("", mrkdwn(fmt.Sprintf("…and %d more: type `%s pending`", n, code(command)))))
	}
}

// homeDecision is the approval message's own Approve and Deny buttons.
func homeDecision(r store.Request) *slack.ActionBlock {
	msg := approvalMessage(r, nil, nil)
	for _, blk := range msg.Blocks {
		if a, ok := blk.(*slack.ActionBlock); ok {
			a.BlockID = "decision_" + r.ID // block ids are unique per view
			return a
		}
	}
	return nil
}

// publishHome shows user their Home as it is now.
func (b *Bot) publishHome(ctx context.Context, user, notice string) {
	if b.service == nil || !slackUserID.MatchString(user) {
		return
	}
	h := b.service.Home(ctx, commands.Caller{ChatID: user})
	view := homeView(h, b.cfg.Command, notice)
	if _, err := b.api.PublishViewContext(ctx, slack.PublishViewContextRequest{UserID: user, View: view}); err != nil {
		b.logger.Warn("views.publish", "user", user, "error", slackError(err))
	}
}

// onHomeOpened publishes the Home, then, when the instance probes are
// old, probes again (bounded by each instance's timeout) and publishes
// the fresh results.
func (b *Bot) onHomeOpened(ctx context.Context, user string) {
	b.publishHome(ctx, user, "")
	if !b.service.MayList(ctx, commands.Caller{ChatID: user}) || !b.service.ProbesStale() {
		return
	}
	b.service.RefreshProbes(ctx)
	b.publishHome(ctx, user, "")
}

// refreshHomes republishes the Homes of people a change concerns, in the
// background: never on an ack's path, at most homeRefreshFanout people,
// dropped when homeRefreshSlots refreshes are already running.
func (b *Bot) refreshHomes(users ...string) {
	seen := map[string]bool{}
	var todo []string
	for _, u := range users {
		if slackUserID.MatchString(u) && !seen[u] && len(todo) < homeRefreshFanout {
			seen[u] = true
			todo = append(todo, u)
		}
	}
	if len(todo) == 0 || b.service == nil {
		return
	}
	select {
	case b.homeSlots <- struct{}{}:
	default:
		b.logger.Info("Home refresh skipped: too many running", "people", len(todo))
		return
	}
	// Not in b.work: a refresh is best effort, and ends with the bot's
	// work context instead of holding up a stop.
	go func() {
		defer func() {
			<-b.homeSlots
			if p := recover(); p != nil {
				b.logger.Error("Home refresh panicked", "panic", p)
			}
		}()
		ctx, cancel := context.WithTimeout(b.workCtx, 30*time.Second)
		defer cancel()
		for _, u := range todo {
			b.publishHome(ctx, u, "")
		}
	}()
}

// fromHome reports whether a click came from a Home view.
func fromHome(cb slack.InteractionCallback) bool {
	return cb.View.Type == slack.VTHomeTab || cb.Container.Type == "view" && cb.ResponseURL == ""
}

// onWithdraw takes back the clicker's own request.
func (b *Bot) onWithdraw(ctx context.Context, cb slack.InteractionCallback, action *slack.BlockAction) {
	reply := b.service.Withdraw(ctx, commands.Caller{ChatID: cb.User.ID, Where: cb.Channel.ID}, action.Value)
	b.answerOnHome(ctx, cb.User.ID, reply)
}

// answerOnHome shows the outcome of a Home click at the top of the Home.
func (b *Bot) answerOnHome(ctx context.Context, user string, reply commands.Reply) {
	b.publishHome(ctx, user, Render(reply, 1).Text)
}

// onSearch runs "list <text>" as the person who typed it (the search box's
// value as typed, see inputText) and shows the answer in a modal, as plain
// text within the modal's limits.
func (b *Bot) onSearch(ctx context.Context, cb slack.InteractionCallback, action *slack.BlockAction) {
	text := inputText(action.Value)
	if text == "" {
		return
	}
	reply := b.service.Handle(ctx, commands.Caller{ChatID: cb.User.ID, Where: cb.Channel.ID}, "list "+text)
	if _, err := b.api.OpenViewContext(ctx, cb.TriggerID, searchModal(reply)); err != nil {
		b.logger.Warn("views.open for a Home search", "error", slackError(err))
		b.answerOnHome(ctx, cb.User.ID, reply)
	}
}

// searchModal shows a list reply as plain text: no formatting to escape,
// and no buttons that would need a message to answer on.
func searchModal(reply commands.Reply) slack.ModalViewRequest {
	text := console.RenderText(reply, time.UTC)
	var blocks []slack.Block
	for text != "" && len(blocks) < homeSearchSections {
		chunk := clip(text, maxTextObject)
		if len(chunk) == len(text) {
			text = ""
		} else {
			chunk = strings.TrimSuffix(chunk, "…")
			text = text[len(chunk):]
		}
		blocks = append(blocks, slack.NewSectionBlock(plain(chunk), nil, nil))
	}
	if text != "" {
		blocks = append(blocks, slack.NewContextBlock("", plain("…more: type the command in a channel to see it all, with buttons.")))
	}
	return slack.ModalViewRequest{
		Type:   slack.VTModal,
		Title:  plain(clip("Sessions", 24)),
		Close:  plain("Close"),
		Blocks: slack.Blocks{BlockSet: blocks},
	}
}
