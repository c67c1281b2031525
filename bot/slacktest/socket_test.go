package slacktest

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log"
	"net/http"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"
)

// bot is the real slack-go Socket Mode client, connected to the fake.
type bot struct {
	client   *socketmode.Client
	requests chan socketmode.Event // slash commands, interactions, events
	hellos   atomic.Int32
	result   chan error // what RunContext returned
	stop     context.CancelFunc
}

// startBot runs a socketmode client against s, draining its events as a
// bot must. Requests are passed on un-acked; the test acks them.
func startBot(t *testing.T, s *Server, appToken string, opts ...socketmode.Option) *bot {
	t.Helper()
	api := slack.New(testBotToken, slack.OptionAppLevelToken(appToken), slack.OptionAPIURL(s.APIURL()))
	opts = append([]socketmode.Option{socketmode.OptionLog(log.New(io.Discard, "", 0))}, opts...)
	b := &bot{client: socketmode.New(api, opts...), requests: make(chan socketmode.Event, 200), result: make(chan error, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	b.stop = cancel
	go func() { b.result <- b.client.RunContext(ctx) }()
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case evt := <-b.client.Events:
				switch evt.Type {
				case socketmode.EventTypeHello:
					b.hellos.Add(1)
				case socketmode.EventTypeSlashCommand, socketmode.EventTypeInteractive, socketmode.EventTypeEventsAPI:
					b.requests <- evt
				}
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-b.result:
		case <-time.After(5 * time.Second):
			t.Error("RunContext did not return after its context was cancelled")
		}
	})
	return b
}

func (b *bot) next(t *testing.T) socketmode.Event {
	t.Helper()
	select {
	case evt := <-b.requests:
		return evt
	case <-time.After(5 * time.Second):
		t.Fatal("no envelope reached the client within 5s")
		return socketmode.Event{}
	}
}

// waitHellos waits until the client has read n hello messages.
func (b *bot) waitHellos(t *testing.T, n int32) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); b.hellos.Load() < n; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the client read %d hellos, want %d", b.hellos.Load(), n)
		}
	}
}

func (b *bot) ack(t *testing.T, evt socketmode.Event, payload ...any) {
	t.Helper()
	if err := b.client.Ack(*evt.Request, payload...); err != nil {
		t.Fatalf("ack: %v", err)
	}
}

func connected(t *testing.T, s *Server, n int) {
	t.Helper()
	if err := s.WaitConnections(n, 5*time.Second); err != nil {
		t.Fatal(err)
	}
}

// waitUntil waits on the fake's own change signal for a condition.
func waitUntil(t *testing.T, s *Server, what string, cond func() bool) {
	t.Helper()
	if err := s.waitFor(5*time.Second, cond); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func TestASlashCommandIsDeliveredAckedAndAnswered(t *testing.T) {
	s := newServer(t)
	b := startBot(t, s, testAppToken)
	connected(t, s, 1)

	sent, err := s.SendSlashCommand(SlashCommand{Command: "/sessions", Text: `list CORP\marc`, UserID: "U0ONCALL", ChannelID: "C0OPS"})
	if err != nil {
		t.Fatal(err)
	}
	evt := b.next(t)
	cmd, ok := evt.Data.(slack.SlashCommand)
	if !ok {
		t.Fatalf("client got %T, want slack.SlashCommand", evt.Data)
	}
	if cmd.Command != "/sessions" || cmd.Text != `list CORP\marc` || cmd.UserID != "U0ONCALL" || cmd.UserName != "oncall" ||
		cmd.ChannelID != "C0OPS" || cmd.TeamID != TeamID || cmd.ResponseURL != sent.ResponseURL || cmd.TriggerID != sent.TriggerID {
		t.Errorf("slash command = %+v", cmd)
	}
	if evt.Request.EnvelopeID != sent.EnvelopeID || !evt.Request.AcceptsResponsePayload || evt.Request.RetryAttempt != 0 {
		t.Errorf("envelope = %+v", evt.Request)
	}
	if b.hellos.Load() != 1 {
		t.Errorf("%d hellos, want 1", b.hellos.Load())
	}

	b.ack(t, evt, map[string]any{"text": "Looking…", "response_type": "ephemeral"})
	ack, err := s.WaitAck(sent.EnvelopeID, 3*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if ack.Latency <= 0 || ack.Latency > 3*time.Second || !ack.AckedAt.After(ack.SentAt) || !strings.Contains(string(ack.Payload), "Looking") {
		t.Errorf("ack = %+v", ack)
	}

	blocks := slack.MsgOptionBlocks(slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, "*qps1*: 1 session", false, false), nil, nil))
	if _, _, err := b.client.PostMessageContext(context.Background(), "", slack.MsgOptionResponseURL(cmd.ResponseURL, slack.ResponseTypeEphemeral), blocks); err != nil {
		t.Fatalf("post to response_url: %v", err)
	}
	got, err := s.WaitResponses(sent.ResponseID, 1, 3*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if got[0].ResponseType != "ephemeral" || !strings.Contains(string(got[0].Blocks), "1 session") {
		t.Errorf("response = %+v", got[0])
	}
	if v := s.Violations(); len(v) != 0 {
		t.Errorf("violations: %v", v)
	}
}

func TestARedeliveryCarriesItsRetryAttempt(t *testing.T) {
	s := newServer(t)
	b := startBot(t, s, testAppToken)
	connected(t, s, 1)
	sent, err := s.SendSlashCommand(SlashCommand{Command: "/sessions", Text: "help", UserID: "U0ONCALL", ChannelID: "C0OPS"})
	if err != nil {
		t.Fatal(err)
	}
	first := b.next(t)
	b.ack(t, first)
	if _, err := s.WaitAck(sent.EnvelopeID, 3*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := s.Redeliver(sent.EnvelopeID); err != nil {
		t.Fatal(err)
	}
	again := b.next(t)
	if again.Request.EnvelopeID != sent.EnvelopeID || again.Request.RetryAttempt != 1 || again.Request.RetryReason != "timeout" {
		t.Errorf("redelivery = %+v, want the same envelope with retry_attempt 1", again.Request)
	}
	if again.Data.(slack.SlashCommand).ResponseURL != sent.ResponseURL {
		t.Error("the redelivery carries another response_url")
	}
	b.ack(t, again)
	waitUntil(t, s, "two acks", func() bool { return len(s.acks[sent.EnvelopeID]) == 2 })
	if acks := s.Acks(sent.EnvelopeID); acks[0].RetryAttempt != 0 || acks[1].RetryAttempt != 1 {
		t.Errorf("acks = %+v", acks)
	}
	if err := s.Redeliver("no-such-envelope"); err == nil {
		t.Error("Redeliver of an unknown envelope returned no error")
	}
}

func TestAClientReconnectsAfterItsConnectionDrops(t *testing.T) {
	s := newServer(t)
	b := startBot(t, s, testAppToken)
	connected(t, s, 1)
	if n := s.ConnectionsOpened(); n != 1 {
		t.Fatalf("apps.connections.open called %d times before the drop", n)
	}
	b.waitHellos(t, 1)
	s.DropConnections()
	connected(t, s, 1)
	if n, calls := s.ConnectionsOpened(), s.Calls("apps.connections.open"); n != 2 || calls != 2 {
		t.Errorf("after the drop: %d connections opened in %d calls, want 2", n, calls)
	}
	if _, err := s.SendSlashCommand(SlashCommand{Command: "/sessions", Text: "vendors", UserID: "U0ONCALL", ChannelID: "C0OPS"}); err != nil {
		t.Fatal(err)
	}
	if cmd := b.next(t).Data.(slack.SlashCommand); cmd.Text != "vendors" {
		t.Errorf("after reconnecting the client got %+v", cmd)
	}
	b.waitHellos(t, 2)
}

func TestADisconnectMessageMakesTheClientReconnect(t *testing.T) {
	s := newServer(t)
	b := startBot(t, s, testAppToken)
	connected(t, s, 1)
	if err := s.Disconnect(""); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, s, "a fresh connection replacing the old one", func() bool {
		return s.opened == 2 && len(s.conns) == 1 && s.conns[0].serial == 2
	})
	if _, err := s.SendAppMention("U0ONCALL", "C0OPS", "list marc"); err != nil {
		t.Fatal(err)
	}
	if evt := b.next(t); evt.Type != socketmode.EventTypeEventsAPI {
		t.Errorf("after reconnecting the client got %s", evt.Type)
	}
}

func TestEnvelopesAreSpreadOverTwoClients(t *testing.T) {
	s := newServer(t)
	bots := []*bot{startBot(t, s, testAppToken), startBot(t, s, testAppToken)}
	connected(t, s, 2)

	const n = 40
	for range n {
		if _, err := s.SendSlashCommand(SlashCommand{Command: "/sessions", Text: "help", UserID: "U0ONCALL", ChannelID: "C0OPS"}); err != nil {
			t.Fatal(err)
		}
	}
	counts := make([]int, len(bots))
	for got := 0; got < n; got++ {
		select {
		case <-bots[0].requests:
			counts[0]++
		case <-bots[1].requests:
			counts[1]++
		case <-time.After(5 * time.Second):
			t.Fatalf("only %d of %d envelopes arrived: %v", got, n, counts)
		}
	}
	if counts[0] == 0 || counts[1] == 0 {
		t.Errorf("envelopes per client = %v: Slack spreads them at random", counts)
	}

	// A chosen connection gets every envelope sent to it.
	for conn := 1; conn <= 2; conn++ {
		var receivers []int
		for range 5 {
			sent, err := s.SendSlashCommand(SlashCommand{Command: "/sessions", Text: "help", UserID: "U0ONCALL", ChannelID: "C0OPS", Connection: conn})
			if err != nil {
				t.Fatal(err)
			}
			if s.DeliveredTo(sent.EnvelopeID) == 0 {
				t.Errorf("DeliveredTo(%s) unknown", sent.EnvelopeID)
			}
			select {
			case <-bots[0].requests:
				receivers = append(receivers, 0)
			case <-bots[1].requests:
				receivers = append(receivers, 1)
			case <-time.After(5 * time.Second):
				t.Fatal("an envelope sent to a chosen connection did not arrive")
			}
		}
		for _, r := range receivers {
			if r != receivers[0] {
				t.Errorf("envelopes sent to connection %d reached clients %v", conn, receivers)
				break
			}
		}
	}
	if _, err := s.SendSlashCommand(SlashCommand{Command: "/sessions", UserID: "U0ONCALL", ChannelID: "C0OPS", Connection: 3}); err == nil {
		t.Error("an envelope for connection 3 of 2 was accepted")
	}
}

func TestAFatalAuthErrorEndsRunContext(t *testing.T) {
	tests := []struct {
		name     string
		appToken string
		fail     string
		want     string
	}{
		{"a revoked app token", testAppToken, "token_revoked", "token_revoked"},
		{"an inactive account", testAppToken, "account_inactive", "account_inactive"},
		{"a wrong app token", "xapp-wrong", "", "invalid_auth"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t)
			s.FailConnections(tt.fail)
			b := startBot(t, s, tt.appToken)
			select {
			case err := <-b.result:
				if err == nil || err.Error() != tt.want {
					t.Errorf("RunContext = %v, want %s", err, tt.want)
				}
				b.result <- err // for the cleanup
			case <-time.After(5 * time.Second):
				t.Fatal("RunContext kept running")
			}
			if s.ConnectionsOpened() != 0 || s.Connections() != 0 {
				t.Error("a websocket was opened with a refused token")
			}
		})
	}
}

func TestPingsKeepTheClientConnected(t *testing.T) {
	tests := []struct {
		name          string
		serverPings   time.Duration
		wantReconnect bool
	}{
		{"pings more often than the client's interval keep one connection", 40 * time.Millisecond, false},
		{"pings rarer than the client's interval make it reconnect", time.Minute, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t, func(o *Options) { o.PingInterval = tt.serverPings })
			startBot(t, s, testAppToken, socketmode.OptionPingInterval(150*time.Millisecond))
			connected(t, s, 1)
			err := s.waitFor(700*time.Millisecond, func() bool { return s.opened > 1 })
			if reconnected := err == nil; reconnected != tt.wantReconnect {
				t.Errorf("reconnected = %v, want %v", reconnected, tt.wantReconnect)
			}
		})
	}
}

func TestInteractionsArriveInSlacksShapes(t *testing.T) {
	s := newServer(t)
	b := startBot(t, s, testAppToken)
	connected(t, s, 1)
	ctx := context.Background()
	plain := func(text string) *slack.TextBlockObject {
		return slack.NewTextBlockObject(slack.PlainTextType, text, false, false)
	}

	// A click on a button of a posted message carries that message.
	_, ts, err := b.client.PostMessageContext(ctx, "C0APPROVALS", slack.MsgOptionText("approve?", false),
		slack.MsgOptionBlocks(slack.NewActionBlock("approval", slack.NewButtonBlockElement("approve", "req-1", plain("Approve")))))
	if err != nil {
		t.Fatal(err)
	}
	sent, err := s.SendBlockAction(BlockAction{UserID: "U0LEAD", ActionID: "approve", Value: "req-1", MessageTS: ts})
	if err != nil {
		t.Fatal(err)
	}
	evt := b.next(t)
	cb := evt.Data.(slack.InteractionCallback)
	if cb.Type != slack.InteractionTypeBlockActions || len(cb.ActionCallback.BlockActions) != 1 {
		t.Fatalf("callback = %+v", cb)
	}
	action := cb.ActionCallback.BlockActions[0]
	if action.ActionID != "approve" || action.Value != "req-1" || action.BlockID != "approval" || action.Text.Text != "Approve" {
		t.Errorf("action = %+v", action)
	}
	if cb.User.ID != "U0LEAD" || cb.Channel.ID != "C0APPROVALS" || cb.Container.MessageTs != ts || cb.Container.IsEphemeral ||
		cb.Message.Timestamp != ts || len(cb.Message.Blocks.BlockSet) != 1 || cb.ResponseURL != sent.ResponseURL || cb.TriggerID != sent.TriggerID {
		t.Errorf("callback = %+v", cb)
	}
	if evt.Request.AcceptsResponsePayload {
		t.Error("a block_actions envelope says it accepts a response payload; Slack's does not")
	}
	b.ack(t, evt, map[string]any{"text": "ignored by Slack"})
	if ack, err := s.WaitAck(sent.EnvelopeID, 3*time.Second); err != nil || !ack.PayloadIgnored {
		t.Errorf("ack = %+v, %v; want the payload marked ignored", ack, err)
	}

	// A click on an ephemeral reply has no message, only a container.
	if _, err := s.SendBlockAction(BlockAction{UserID: "U0ONCALL", ChannelID: "C0OPS", ActionID: "kill", Value: "s1"}); err != nil {
		t.Fatal(err)
	}
	evt = b.next(t)
	b.ack(t, evt)
	if cb := evt.Data.(slack.InteractionCallback); !cb.Container.IsEphemeral || cb.Message.Timestamp != "" || cb.Channel.ID != "C0OPS" {
		t.Errorf("ephemeral click = %+v", cb)
	}
	if _, err := s.SendBlockAction(BlockAction{UserID: "U0ONCALL", ActionID: "kill", MessageTS: "1.000009"}); err == nil {
		t.Error("a click on a message never posted was sent")
	}

	// The click's trigger opens a modal; its submission carries the view.
	modal := slack.ModalViewRequest{Type: slack.VTModal, Title: plain("Reason"), Submit: plain("Send"), CallbackID: "kill_reason",
		PrivateMetadata: `{"request":"req-1"}`, Blocks: slack.Blocks{BlockSet: []slack.Block{
			slack.NewInputBlock("reason", plain("Why?"), nil, slack.NewPlainTextInputBlockElement(nil, "reason_text"))}}}
	view, err := b.client.OpenViewContext(ctx, cb.TriggerID, modal)
	if err != nil {
		t.Fatal(err)
	}
	sent, err = s.SendViewSubmission(ViewSubmission{UserID: "U0LEAD", CallbackID: "kill_reason",
		Values: map[string]map[string]string{"reason": {"reason_text": "laptop stolen"}}})
	if err != nil {
		t.Fatal(err)
	}
	evt = b.next(t)
	sub := evt.Data.(slack.InteractionCallback)
	if sub.Type != slack.InteractionTypeViewSubmission || sub.View.ID != view.ID || sub.View.CallbackID != "kill_reason" ||
		sub.View.PrivateMetadata != `{"request":"req-1"}` || sub.View.State.Values["reason"]["reason_text"].Value != "laptop stolen" {
		t.Errorf("view submission = %+v", sub)
	}
	if !evt.Request.AcceptsResponsePayload {
		t.Error("a view_submission envelope must accept a response payload")
	}
	b.ack(t, evt, map[string]any{"response_action": "errors", "errors": map[string]string{"reason": "Say more."}})
	if _, err := s.WaitAck(sent.EnvelopeID, 3*time.Second); err != nil {
		t.Errorf("a response_action errors ack: %v", err)
	}
	if _, err := s.SendViewSubmission(ViewSubmission{UserID: "U0LEAD", CallbackID: "kill_reason",
		Values: map[string]map[string]string{"reason": {"note": "x"}}}); err == nil {
		t.Error("a submission with an input the view lacks was sent")
	}
}

func TestEventsArriveInsideEventCallbacks(t *testing.T) {
	s := newServer(t)
	b := startBot(t, s, testAppToken)
	connected(t, s, 1)

	mention, err := s.SendAppMention("U0ONCALL", "C0OPS", "list marc")
	if err != nil {
		t.Fatal(err)
	}
	evt := b.next(t)
	outer := evt.Data.(slackevents.EventsAPIEvent)
	am, ok := outer.InnerEvent.Data.(*slackevents.AppMentionEvent)
	if outer.Type != slackevents.CallbackEvent || !ok || am.User != "U0ONCALL" || am.Channel != "C0OPS" || am.Text != "<@"+BotUserID+"> list marc" {
		t.Fatalf("app mention = %+v / %+v", outer, outer.InnerEvent.Data)
	}
	if evt.Request.AcceptsResponsePayload || evt.Request.EnvelopeID != mention.EnvelopeID {
		t.Errorf("envelope = %+v", evt.Request)
	}
	b.ack(t, evt)

	if _, err := s.SendDirectMessage("U0ONCALL", "D0ONCALL", "pending"); err != nil {
		t.Fatal(err)
	}
	evt = b.next(t)
	msg, ok := evt.Data.(slackevents.EventsAPIEvent).InnerEvent.Data.(*slackevents.MessageEvent)
	if !ok || msg.ChannelType != "im" || msg.Text != "pending" || msg.Channel != "D0ONCALL" {
		t.Errorf("direct message = %+v", evt.Data)
	}
	b.ack(t, evt)
	second := evt.Data.(slackevents.EventsAPIEvent)
	if cb1, cb2 := outer.Data.(*slackevents.EventsAPICallbackEvent), second.Data.(*slackevents.EventsAPICallbackEvent); cb1.EventID == cb2.EventID {
		t.Errorf("two events share event_id %s", cb1.EventID)
	}

	// A redelivered event: a new envelope, the same event_id, a retry.
	again, err := s.RedeliverEvent(mention.EnvelopeID, 0)
	if err != nil {
		t.Fatal(err)
	}
	evt = b.next(t)
	redelivered := evt.Data.(slackevents.EventsAPIEvent).Data.(*slackevents.EventsAPICallbackEvent)
	if evt.Request.EnvelopeID != again.EnvelopeID || again.EnvelopeID == mention.EnvelopeID ||
		redelivered.EventID != outer.Data.(*slackevents.EventsAPICallbackEvent).EventID || evt.Request.RetryAttempt != 1 {
		t.Errorf("redelivery = %+v, event %s", evt.Request, redelivered.EventID)
	}
	b.ack(t, evt)
	if _, err := s.RedeliverEvent(again.EnvelopeID+"-unknown", 0); err == nil {
		t.Error("an unknown envelope was redelivered")
	}
}

// rawSocket opens a Socket Mode websocket by hand, to send what slack-go
// would refuse to.
func rawSocket(t *testing.T, s *Server) (*websocket.Conn, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, s.APIURL()+"apps.connections.open", nil)
	req.Header.Set("Authorization", "Bearer "+testAppToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var opened struct {
		OK  bool   `json:"ok"`
		URL string `json:"url"`
	}
	json.NewDecoder(resp.Body).Decode(&opened)
	ws, _, err := websocket.DefaultDialer.Dial(opened.URL, http.Header{"Origin": {"https://api.slack.com"}})
	if err != nil {
		t.Fatalf("dial %v: %v", opened, err)
	}
	t.Cleanup(func() { ws.Close() })
	return ws, opened.URL
}

func readFrame(t *testing.T, ws *websocket.Conn) map[string]any {
	t.Helper()
	ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	var frame map[string]any
	if err := ws.ReadJSON(&frame); err != nil {
		t.Fatal(err)
	}
	return frame
}

func TestAcksSlackWouldRefuseAreRecorded(t *testing.T) {
	s := newServer(t, func(o *Options) { o.PingInterval = time.Minute })
	ws, url := rawSocket(t, s)
	if hello := readFrame(t, ws); hello["type"] != "hello" || hello["num_connections"] != 1.0 {
		t.Fatalf("first frame = %v, want hello", hello)
	}
	if _, resp, err := websocket.DefaultDialer.Dial(url, http.Header{"Origin": {"https://api.slack.com"}}); err == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("a second dial with the same ticket: %v, want 401", err)
	}

	sent, err := s.SendSlashCommand(SlashCommand{Command: "/sessions", Text: "help", UserID: "U0ONCALL", ChannelID: "C0OPS"})
	if err != nil {
		t.Fatal(err)
	}
	frame := readFrame(t, ws)
	if frame["envelope_id"] != sent.EnvelopeID || frame["type"] != "slash_commands" || frame["accepts_response_payload"] != true || frame["retry_attempt"] != 0.0 {
		t.Errorf("envelope frame = %v", frame)
	}
	big := map[string]any{"envelope_id": sent.EnvelopeID, "payload": map[string]any{"text": strings.Repeat("x", MaxAckBytes)}}
	if err := ws.WriteJSON(big); err != nil {
		t.Fatal(err)
	}
	if _, err := s.WaitAck(sent.EnvelopeID, 3*time.Second); err == nil || !strings.Contains(err.Error(), "20480 bytes or more") {
		t.Errorf("a 20 KB ack: %v, want it refused", err)
	}

	invalid, _ := s.SendSlashCommand(SlashCommand{Command: "/sessions", Text: "help", UserID: "U0ONCALL", ChannelID: "C0OPS"})
	readFrame(t, ws)
	ws.WriteJSON(map[string]any{"envelope_id": invalid.EnvelopeID, "payload": map[string]any{"blocks": []any{map[string]any{"type": "carousel"}}}})
	var be *BlocksError
	if _, err := s.WaitAck(invalid.EnvelopeID, 3*time.Second); !errors.As(err, &be) || be.Code != "invalid_blocks" {
		t.Errorf("an ack with invalid blocks: %v, want invalid_blocks", err)
	}

	ws.WriteJSON(map[string]any{"envelope_id": "made-up"})
	ws.WriteMessage(websocket.TextMessage, []byte("pong?"))
	waitUntil(t, s, "four violations", func() bool { return len(s.violations) == 4 })
	v := s.Violations()
	if !strings.Contains(v[2].Error(), `unknown envelope "made-up"`) || !strings.Contains(v[3].Error(), "not an ack") {
		t.Errorf("violations = %v", v)
	}

	// The fake answers the client's own pings.
	pong := make(chan string, 1)
	ws.SetPongHandler(func(data string) error { pong <- data; return nil })
	ws.WriteControl(websocket.PingMessage, []byte("are you there"), time.Now().Add(time.Second))
	go ws.ReadMessage() // pong handlers run while reading
	select {
	case got := <-pong:
		if got != "are you there" {
			t.Errorf("pong = %q", got)
		}
	case <-time.After(3 * time.Second):
		t.Error("no pong to the client's ping")
	}
}

func TestWaitsEndAtTheirTimeoutOrAtClose(t *testing.T) {
	s := newServer(t)
	start := time.Now()
	if err := s.WaitConnections(1, 30*time.Millisecond); err == nil {
		t.Error("WaitConnections succeeded with no client")
	}
	if _, err := s.WaitAck("never-sent", 30*time.Millisecond); err == nil {
		t.Error("WaitAck succeeded for an envelope never sent")
	}
	if time.Since(start) > time.Second {
		t.Errorf("two 30ms waits took %s", time.Since(start))
	}
	if _, err := s.SendSlashCommand(SlashCommand{Command: "/sessions", UserID: "U0ONCALL", ChannelID: "C0OPS"}); err == nil {
		t.Error("a slash command was sent with no connection")
	}
	done := make(chan error, 1)
	go func() { done <- s.WaitConnections(1, time.Minute) }()
	time.Sleep(10 * time.Millisecond)
	s.Close()
	select {
	case err := <-done:
		if !errors.Is(err, ErrClosed) {
			t.Errorf("a wait across Close = %v, want ErrClosed", err)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("a wait did not end at Close")
	}
}

func TestCloseEndsEveryGoroutineOfTheFake(t *testing.T) {
	s := New(Options{BotToken: testBotToken, AppToken: testAppToken, PingInterval: 20 * time.Millisecond})
	b := startBot(t, s, testAppToken) // still running, reconnecting, after Close
	if err := s.WaitConnections(1, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SendSlashCommand(SlashCommand{Command: "/sessions", UserID: "U0ONCALL", ChannelID: "C0OPS"}); err != nil {
		t.Fatal(err)
	}
	b.next(t)
	s.Close()
	deadline := time.Now().Add(3 * time.Second)
	for {
		buf := make([]byte, 1<<20)
		stacks := string(buf[:runtime.Stack(buf, true)])
		if !strings.Contains(stacks, "slacktest.(*Server)") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("goroutines of the fake still run after Close:\n%s", stacks)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := s.SendSlashCommand(SlashCommand{Command: "/sessions", UserID: "U0ONCALL", ChannelID: "C0OPS"}); err == nil {
		t.Error("a slash command was sent after Close")
	}
}

// BenchmarkSlashCommandRoundTrip measures one envelope written by the fake,
// read and acked by the real slack-go client, and the ack recorded.
func BenchmarkSlashCommandRoundTrip(b *testing.B) {
	s := New(Options{BotToken: testBotToken, AppToken: testAppToken})
	defer s.Close()
	api := slack.New(testBotToken, slack.OptionAppLevelToken(testAppToken), slack.OptionAPIURL(s.APIURL()))
	client := socketmode.New(api, socketmode.OptionLog(log.New(io.Discard, "", 0)))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go client.RunContext(ctx)
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case evt := <-client.Events:
				if evt.Request != nil && evt.Request.EnvelopeID != "" {
					client.Ack(*evt.Request)
				}
			}
		}
	}()
	if err := s.WaitConnections(1, 5*time.Second); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		sent, err := s.SendSlashCommand(SlashCommand{Command: "/sessions", Text: "help", UserID: "U0ONCALL", ChannelID: "C0OPS"})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.WaitAck(sent.EnvelopeID, 5*time.Second); err != nil {
			b.Fatal(err)
		}
	}
}
