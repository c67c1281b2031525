// Package bot is sessionbot's Slack edge: the Socket Mode connection, the
// Block Kit rendering of neutral replies and button clicks. It is the only
// package that imports slack-go; the terminal console is package console.
package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"

	"github.com/sessionbot/sessionbot/commands"
)

// Config is what a Bot needs.
type Config struct {
	BotToken string
	AppToken string
	// APIURL is Slack's Web API base, with its trailing slash; empty means
	// Slack's own.
	APIURL string
	// Command is the slash command this bot answers ("/sessions").
	Command string
	// InChannel posts replies for the whole channel instead of only the
	// person who asked.
	InChannel bool
	Logger    *slog.Logger
	// MaxInFlight bounds commands being worked on at once; past it a person
	// is told to retry instead of queueing without limit, or, for a
	// decision, it waits up to ReplyTimeout (see waitsForSlot).
	MaxInFlight int
	// ReplyTimeout bounds one command's work, vendors and reply included.
	ReplyTimeout time.Duration
	// DrainTimeout is how long a stop waits for in-flight replies.
	DrainTimeout time.Duration
	// ApprovalChannel says where an instance's approval requests go.
	ApprovalChannel func(instance string) string
	// Dedup, when set, makes envelope de-duplication hold across replicas
	// (a shared store); the in-memory set always applies too.
	Dedup func(ctx context.Context, key string) (first bool, err error)
	// OnAck, when set, is told how long each ack took from the event's
	// arrival to the ack being written to the socket, for metrics. It
	// must not block.
	OnAck func(took time.Duration)
	// OnConnection, when set, is told when the Socket Mode connection comes
	// up or goes down.
	OnConnection func(up bool)
	// HTTPClient is used for the Web API and response_url posts; nil
	// means a client with a 15 s timeout.
	HTTPClient *http.Client
}

// Slack is the part of the bot that needs no commands service: the Web
// API client, the user directory and groups, and the notifier. It is built
// first, the commands service on it, and then the Bot that listens:
// NewSlack -> Directory, Groups, Notifier -> commands.New -> New -> Run.
type Slack struct {
	cfg       Config
	api       *slack.Client
	logger    *slog.Logger
	directory *userDirectory
	// listener is the Bot once built; until then the notifier has no
	// Homes to refresh.
	listener atomic.Pointer[Bot]
}

// Bot answers /sessions over Socket Mode.
type Bot struct {
	*Slack
	service  *commands.Service
	socket   *socketmode.Client
	seen     *recentSet
	pages    *pageCache
	inFlight chan struct{}
	acks     *ackTimer // nil without OnAck
	// homeSlots bounds background Home refreshes.
	homeSlots chan struct{}
	// busySlots bounds the busy answers being sent at once, and busyTold
	// keeps one person from being told the same thing twice in a while:
	// under a flood the bot must not double it onto Slack.
	busySlots   chan struct{}
	busyTimeout time.Duration // busyAnswerTimeout, shorter in tests
	busyTold    *recentSet
	// stopping is closed when a stop begins: a decision still waiting
	// for a slot then gives up rather than start during the drain.
	stopping chan struct{}
	// held is acked envelopes whose work waits for the burst to end (see
	// holdTimes); only Run's loop touches it.
	held      []socketmode.Event
	heldSince time.Time
	hold      holdTimes
	work      sync.WaitGroup
	// workCtx outlives the connection, so a stop lets replies finish.
	workCtx    context.Context
	cancelWork context.CancelFunc
	// selfID is the bot's own user id, to strip its mention from text.
	selfID string
}

// webAPIRetries retries Web API calls Slack refused for a while: a 429 after
// its Retry-After, a 5xx or a dropped connection with backoff. Acks go over
// the websocket and never wait on these; each call stays bounded by its
// context (the reply deadline, or the sweep's).
var webAPIRetries = func() slack.RetryConfig {
	cfg := slack.DefaultRetryConfig()
	cfg.MaxRetries = 3
	cfg.BackoffInitial, cfg.BackoffMax = 200*time.Millisecond, 5*time.Second
	cfg.RetryAfterJitter = 250 * time.Millisecond
	cfg.Handlers = append(slack.AllBuiltinRetryHandlers(cfg), slack.NewServerErrorRetryHandler(cfg))
	return cfg
}()

// ErrFatalAuth marks a Slack refusal that reconnecting cannot fix.
var ErrFatalAuth = errors.New("slack refused the bot's credentials")

// NewSlack makes the Slack client and what is built on it alone; New
// makes the Bot that listens.
func NewSlack(cfg Config) *Slack {
	if cfg.Command == "" {
		cfg.Command = "/sessions"
	}
	if cfg.MaxInFlight <= 0 {
		cfg.MaxInFlight = 256
	}
	if cfg.ReplyTimeout <= 0 {
		cfg.ReplyTimeout = 60 * time.Second
	}
	if cfg.DrainTimeout <= 0 {
		cfg.DrainTimeout = 25 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	opts := []slack.Option{slack.OptionAppLevelToken(cfg.AppToken)}
	if cfg.APIURL != "" {
		opts = append(opts, slack.OptionAPIURL(cfg.APIURL))
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 15 * time.Second, Transport: newSlackTransport(cfg.MaxInFlight)}
	}
	opts = append(opts, slack.OptionHTTPClient(cfg.HTTPClient), slack.OptionRetryConfig(webAPIRetries))
	api := slack.New(cfg.BotToken, opts...)
	return &Slack{
		cfg:       cfg,
		api:       api,
		logger:    cfg.Logger,
		directory: newUserDirectory(api, 10*time.Minute),
	}
}

// New makes the Bot that answers on s with the commands service; Run
// connects it.
func New(s *Slack, service *commands.Service) *Bot {
	cfg := s.cfg
	var acks *ackTimer
	var socketOpts []socketmode.Option
	if cfg.OnAck != nil {
		acks = &ackTimer{observe: cfg.OnAck}
		socketOpts = append(socketOpts, socketmode.OptionDialer(&websocket.Dialer{
			// slack-go's own dialer, with a buffer pool that sees each
			// ack written.
			Proxy:            http.ProxyFromEnvironment,
			HandshakeTimeout: 45 * time.Second,
			WriteBufferSize:  32 * 1024,
			WriteBufferPool:  acks,
		}))
	}
	// seen holds ten minutes at 100 envelopes a second: with SQLite it alone
	// catches Slack's retries (up to 5 minutes later).
	b := &Bot{
		Slack:       s,
		service:     service,
		acks:        acks,
		socket:      socketmode.New(s.api, socketOpts...),
		seen:        newRecentSet(1<<16, 10*time.Minute),
		pages:       newPageCache(pageCacheTTL, pageCacheBytes, pageCacheEntries),
		inFlight:    make(chan struct{}, cfg.MaxInFlight),
		homeSlots:   make(chan struct{}, homeRefreshSlots),
		busySlots:   make(chan struct{}, busyAnswerSlots),
		busyTimeout: busyAnswerTimeout,
		busyTold:    newRecentSet(busyConversations, busyRepeatAfter),
		stopping:    make(chan struct{}),
		hold:        defaultHold,
	}
	// Made here, not in Run: the start-up sweep may refresh Homes before
	// Run starts, and Run's stop must still end that work.
	b.workCtx, b.cancelWork = context.WithCancel(context.Background())
	s.listener.Store(b)
	return b
}

// Directory is the Slack user directory, for the commands service.
func (s *Slack) Directory() commands.Directory { return s.directory }

// Run connects and answers until ctx ends or Slack refuses the tokens. On a
// stop it waits up to DrainTimeout for replies already being worked on.
func (b *Bot) Run(ctx context.Context) error {
	defer b.cancelWork()
	auth, err := b.api.AuthTestContext(ctx)
	if err != nil {
		return b.authError("bot token (slack.bot_token)", err)
	}
	b.selfID = auth.UserID

	runErr := make(chan error, 1)
	go func() { runErr <- b.socket.RunContext(ctx) }()

	quiet := time.NewTimer(time.Hour)
	quiet.Stop()
loop:
	for {
		select {
		case evt := <-b.socket.Events:
			b.dispatch(evt)
			if len(b.held) > 0 {
				if time.Since(b.heldSince) >= b.hold.most {
					b.release()
				} else {
					quiet.Reset(b.hold.quiet)
				}
			}
		case <-quiet.C:
			b.release()
		case err = <-runErr:
			break loop
		}
	}
	quiet.Stop()
	close(b.stopping)
	b.release()
	b.drain()
	if ctx.Err() != nil {
		return nil
	}
	return b.authError("app-level token (slack.app_token)", err)
}

// drain waits for in-flight replies, then cancels what is left.
func (b *Bot) drain() {
	done := make(chan struct{})
	go func() { b.work.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(b.cfg.DrainTimeout):
		b.logger.Warn("stopping with replies still in flight", "waited", b.cfg.DrainTimeout)
		b.cancelWork()
		<-done
	}
}

func (b *Bot) authError(which string, err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	switch msg {
	case "invalid_auth", "not_authed", "token_revoked", "account_inactive", "token_expired":
		return fmt.Errorf("%w: Slack answered %q for the %s: check the token, and that the app is installed in the workspace", ErrFatalAuth, msg, which)
	}
	return fmt.Errorf("slack: %s: %w", which, err)
}

// dispatch acks first, always, then holds the work for release (see
// holdTimes). Nothing here waits on a vendor or on Slack's Web API.
func (b *Bot) dispatch(evt socketmode.Event) {
	switch evt.Type {
	case socketmode.EventTypeConnecting:
		b.logger.Debug("connecting to Slack")
	case socketmode.EventTypeConnected:
		b.logger.Info("connected to Slack")
		b.connection(true)
	case socketmode.EventTypeConnectionError:
		b.logger.Warn("Slack connection failed; retrying", "error", evt.Data)
		b.connection(false)
	case socketmode.EventTypeDisconnect:
		b.logger.Info("Slack asked to reconnect")
		b.connection(false)
	case socketmode.EventTypeSlashCommand, socketmode.EventTypeInteractive, socketmode.EventTypeEventsAPI:
		if evt.Request == nil {
			return
		}
		b.ack(evt.Request.EnvelopeID)
		if !b.seen.add(evt.Request.EnvelopeID) {
			b.logger.Info("ignoring a redelivered envelope", "envelope", evt.Request.EnvelopeID, "retry", evt.Request.RetryAttempt)
			return
		}
		if len(b.held) == 0 {
			b.heldSince = time.Now()
		}
		b.held = append(b.held, evt)
	}
}

// holdTimes say how long acked envelopes wait before their work starts:
// until no envelope has come for quiet, and never more than most. On a
// burst, every envelope is then read and acked before any work runs: Go's
// scheduler has no priorities, so work started mid-burst (parsing, store
// writes, TLS handshakes) queues ahead of slack-go's reader and writer and
// delays the acks still to come. quiet is long enough to bridge the gaps
// inside one burst as it arrives over the network, and short beside any
// reply a person waits for; a stream that never pauses waits at most most.
type holdTimes struct{ quiet, most time.Duration }

var defaultHold = holdTimes{quiet: 5 * time.Millisecond, most: 50 * time.Millisecond}

// release starts the work of every held envelope.
func (b *Bot) release() {
	for i, evt := range b.held {
		b.spawn(evt)
		b.held[i] = socketmode.Event{}
	}
	b.held = b.held[:0]
}

func (b *Bot) connection(up bool) {
	if b.cfg.OnConnection != nil {
		b.cfg.OnConnection(up)
	}
}

func (b *Bot) ack(envelopeID string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if b.acks != nil {
		b.acks.queued(time.Now())
	}
	if err := b.socket.AckCtx(ctx, envelopeID, nil); err != nil {
		if b.acks != nil {
			b.acks.notQueued()
		}
		b.logger.Warn("could not ack an envelope", "envelope", envelopeID, "error", err)
	}
}

func (b *Bot) spawn(evt socketmode.Event) {
	b.work.Add(1)
	go func() {
		defer b.work.Done()
		defer func() {
			if p := recover(); p != nil {
				b.logger.Error("handler panicked", "panic", p, "type", evt.Type)
			}
		}()
		if !b.takeSlot(evt) {
			return
		}
		defer func() { <-b.inFlight }()
		ctx, cancel := context.WithTimeout(b.workCtx, b.cfg.ReplyTimeout)
		defer cancel()
		if b.cfg.Dedup != nil {
			// Another replica may have been handed the same envelope.
			first, err := b.cfg.Dedup(ctx, "envelope:"+evt.Request.EnvelopeID)
			if err != nil {
				b.logger.Warn("envelope de-duplication unavailable", "error", err)
			} else if !first {
				b.logger.Info("envelope already handled by another replica", "envelope", evt.Request.EnvelopeID)
				return
			}
		}
		if !b.firstEvent(ctx, evt) {
			return
		}
		switch evt.Type {
		case socketmode.EventTypeSlashCommand:
			if cmd, ok := evt.Data.(slack.SlashCommand); ok {
				b.onSlashCommand(ctx, cmd)
			}
		case socketmode.EventTypeInteractive:
			if cb, ok := evt.Data.(slack.InteractionCallback); ok {
				b.onInteraction(ctx, cb)
			}
		case socketmode.EventTypeEventsAPI:
			if ev, ok := evt.Data.(slackevents.EventsAPIEvent); ok {
				b.onEvent(ctx, ev)
			}
		}
	}()
}

// firstEvent is false for an Events API event already handled here or on
// another replica: Slack retries an event in a new envelope with the same
// event_id, which envelope de-duplication misses.
func (b *Bot) firstEvent(ctx context.Context, evt socketmode.Event) bool {
	ev, ok := evt.Data.(slackevents.EventsAPIEvent)
	if !ok {
		return true
	}
	cb, ok := ev.Data.(*slackevents.EventsAPICallbackEvent)
	if !ok || cb.EventID == "" {
		return true
	}
	key := "event:" + cb.EventID
	if !b.seen.add(key) {
		b.logger.Info("ignoring a redelivered event", "event", cb.EventID, "retry", evt.Request.RetryAttempt)
		return false
	}
	if b.cfg.Dedup == nil {
		return true
	}
	first, err := b.cfg.Dedup(ctx, key)
	if err != nil {
		b.logger.Warn("event de-duplication unavailable", "error", err)
		return true
	}
	if !first {
		b.logger.Info("event already handled by another replica", "event", cb.EventID)
	}
	return first
}

func (b *Bot) onSlashCommand(ctx context.Context, sc slack.SlashCommand) {
	if !strings.EqualFold(sc.Command, b.cfg.Command) {
		b.logger.Warn("slash command not ours", "command", sc.Command)
		return
	}
	caller := commands.Caller{ChatID: sc.UserID, Where: sc.ChannelID}
	start := time.Now()
	reply := b.interpret(ctx, caller, sc.Text)
	b.logger.Info("command", "user", sc.UserID, "channel", sc.ChannelID, "verb", reply.Command.Verb,
		"sessions", reply.SessionCount(), "problem", reply.Problem != nil, "took", time.Since(start).Round(time.Millisecond))
	b.respond(ctx, sc.ResponseURL, b.render(reply, sc.UserID, 1), false)
}

// render renders a reply for asker; a list longer than one message is
// kept for its page buttons.
func (b *Bot) render(reply commands.Reply, asker string, page int) Message {
	ref := b.pages.newRef(asker)
	msg, lay := renderLaidOut(reply, page, ref, nil)
	if msg.Pages > 1 {
		b.pages.put(ref, reply, lay)
	}
	return msg
}

// onPage answers a page or Refresh button: from the kept result when it is
// there and the clicker asked for it, else by running the command again.
func (b *Bot) onPage(ctx context.Context, cb slack.InteractionCallback, action *slack.BlockAction) {
	msg := b.pageMessage(ctx, cb.User.ID, cb.Channel.ID, action.ActionID, action.Value)
	b.respond(ctx, cb.ResponseURL, msg, true)
}

func (b *Bot) pageMessage(ctx context.Context, user, channel, actionID, value string) Message {
	v, err := decodePage(value)
	if err != nil {
		return Message{Text: "That button no longer works: " + err.Error()}
	}
	caller := commands.Caller{ChatID: user, Where: channel}
	if actionID != ActionRefresh && b.service.MayList(ctx, caller) {
		// Rights are checked at the click, not only when the list was made.
		if kept, ok := b.pages.get(v.Key, user); ok {
			msg, _ := renderLaidOut(kept.reply, v.Page, kept.ref, kept.lay)
			return msg
		}
	}
	if v.Command == "" {
		return Message{Text: "That list is no longer kept (lists are kept " + pageCacheTTL.String() + " for their page buttons): run the command again."}
	}
	reply := b.service.Handle(ctx, caller, buttonCommand(v.Command))
	return b.render(reply, user, v.Page)
}

func (b *Bot) onInteraction(ctx context.Context, cb slack.InteractionCallback) {
	if cb.Type == slack.InteractionTypeViewSubmission {
		switch cb.View.CallbackID {
		case CallbackReason:
			b.onReasonSubmitted(ctx, cb)
		case CallbackEdit:
			b.onEditSubmitted(ctx, cb)
		case CallbackDeny:
			b.onDenySubmitted(ctx, cb)
		}
		return
	}
	if cb.Type != slack.InteractionTypeBlockActions {
		return
	}
	for _, action := range cb.ActionCallback.BlockActions {
		switch action.ActionID {
		case ActionKill:
			b.onKillClick(ctx, cb, action)
		case ActionUnderstood:
			b.onUnderstood(ctx, cb, action)
		case ActionEditUnderstood:
			b.onEditUnderstood(ctx, cb, action)
		case ActionConfirm:
			b.onConfirm(ctx, cb, action)
		case ActionCancel:
			b.respond(ctx, cb.ResponseURL, Message{Text: "Cancelled: nothing was requested."}, true)
		case ActionApprove:
			b.onDecision(ctx, cb, action, true)
		case ActionDeny:
			b.onDenyClick(ctx, cb, action)
		case ActionWithdraw:
			b.onWithdraw(ctx, cb, action)
		case ActionSearch:
			b.onSearch(ctx, cb, action)
		case ActionPrevPage, ActionNextPage, ActionRefresh:
			b.onPage(ctx, cb, action)
		}
	}
}

// respondEphemeral answers only the person who clicked, leaving the
// message they clicked (an approval request) as it is.
func (b *Bot) respondEphemeral(ctx context.Context, responseURL string, msg Message) {
	if responseURL == "" {
		return
	}
	opts := append(msg.options(), slack.MsgOptionResponseURL(responseURL, slack.ResponseTypeEphemeral))
	if _, _, err := b.api.PostMessageContext(ctx, "", opts...); err != nil {
		b.logger.Warn("ephemeral reply refused by Slack", "error", slackError(err))
	}
}

// respond posts to a response_url. If Slack rejects the blocks, it posts
// the fallback text so the person still gets an answer.
func (b *Bot) respond(ctx context.Context, responseURL string, msg Message, replace bool) {
	if responseURL == "" {
		b.logger.Warn("no response_url to answer on")
		return
	}
	respType := slack.ResponseTypeEphemeral
	if b.cfg.InChannel {
		respType = slack.ResponseTypeInChannel
	}
	opts := append(msg.options(), slack.MsgOptionResponseURL(responseURL, respType))
	if replace {
		opts = append(opts, slack.MsgOptionReplaceOriginal(responseURL))
	}
	_, _, err := b.api.PostMessageContext(ctx, "", opts...)
	if err == nil {
		return
	}
	b.logger.Error("reply refused by Slack", "error", slackError(err))
	if len(msg.Blocks) == 0 {
		return
	}
	fallback := append(Message{Text: msg.Text + " (the full reply could not be shown: " + slackError(err) + ")"}.options(),
		slack.MsgOptionResponseURL(responseURL, respType))
	if _, _, err := b.api.PostMessageContext(ctx, "", fallback...); err != nil {
		b.logger.Error("fallback reply refused by Slack", "error", slackError(err))
	}
}

// slackError describes a failed Slack call without the URL it was made
// to: a response_url lets anyone holding it post as the bot, so it stays
// out of logs and messages.
func slackError(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Op + ": " + ue.Err.Error()
	}
	return err.Error()
}
