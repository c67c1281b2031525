package slacktest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"
)

// rawCall calls a Web API method with a form body, as curl would.
func rawCall(t *testing.T, s *Server, method, token, form string) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, s.APIURL()+method, strings.NewReader(form))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return string(body)
}

func TestWebAPIChecksTokensAsSlackDoes(t *testing.T) {
	s := newServer(t)
	tests := []struct {
		name, method, token, form, want string
	}{
		{"a call without a token is not authed", "auth.test", "", "", `"error":"not_authed"`},
		{"a wrong bot token is invalid", "auth.test", "xoxb-wrong", "", `"error":"invalid_auth"`},
		{"the bot token in the form body works", "auth.test", "", "token=" + testBotToken, `"user_id":"U0SESSIONBOT"`},
		{"the app token is refused on a bot method", "auth.test", testAppToken, "", `"error":"not_allowed_token_type"`},
		{"the bot token is refused on apps.connections.open", "apps.connections.open", testBotToken, "", `"error":"not_allowed_token_type"`},
		{"a wrong app token is invalid", "apps.connections.open", "xapp-wrong", "", `"error":"invalid_auth"`},
		{"the app token opens a websocket URL", "apps.connections.open", testAppToken, "", `"url":"ws://127.0.0.1:`},
		{"an unknown method is named", "sessions.kill", testBotToken, "", `"error":"unknown_method"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := rawCall(t, s, tt.method, tt.token, tt.form); !strings.Contains(got, tt.want) {
				t.Errorf("%s answered %s, want %s", tt.method, got, tt.want)
			}
		})
	}
	if n := s.Calls("auth.test"); n != 4 {
		t.Errorf("Calls(auth.test) = %d, want 4 (refused calls count too)", n)
	}
}

func TestDirectoryMethodsAnswerTheRealClient(t *testing.T) {
	s := newServer(t)
	client := api(s, testBotToken)
	ctx := context.Background()

	marc, err := client.GetUserInfoContext(ctx, "U0MARC")
	if err != nil {
		t.Fatal(err)
	}
	if marc.Profile.Email != "marc@contoso.com" || marc.TZ != "Europe/Paris" || marc.Name != "marc" || marc.Deleted {
		t.Errorf("users.info U0MARC = %+v", marc)
	}
	gone, err := client.GetUserInfoContext(ctx, "U0GONE")
	if err != nil || !gone.Deleted {
		t.Errorf("a deleted user: %+v, %v; want deleted", gone, err)
	}
	bot, err := client.GetUserInfoContext(ctx, "U0BOT")
	if err != nil || !bot.IsBot || bot.Profile.Email != "" {
		t.Errorf("a bot user: %+v, %v; want is_bot without email", bot, err)
	}
	if _, err := client.GetUserInfoContext(ctx, "U0NOBODY"); err == nil || err.Error() != "user_not_found" {
		t.Errorf("an unknown user: %v, want user_not_found", err)
	}

	members, err := client.GetUserGroupMembersContext(ctx, "S0LEADS")
	if err != nil || strings.Join(members, ",") != "U0LEAD,U0LEAD2" {
		t.Errorf("usergroups.users.list S0LEADS = %v, %v", members, err)
	}
	if _, err := client.GetUserGroupMembersContext(ctx, "S0NONE"); err == nil || err.Error() != "no_such_subteam" {
		t.Errorf("an unknown group: %v, want no_such_subteam", err)
	}

	auth, err := client.AuthTestContext(ctx)
	if err != nil || auth.UserID != BotUserID || auth.TeamID != TeamID {
		t.Errorf("auth.test = %+v, %v", auth, err)
	}
	if _, err := api(s, "xoxb-revoked").AuthTestContext(ctx); err == nil || err.Error() != "invalid_auth" {
		t.Errorf("a wrong token: %v, want invalid_auth", err)
	}
}

func TestChatPostsAreRecordedValidatedAndUpdated(t *testing.T) {
	s := newServer(t)
	client := api(s, testBotToken)
	ctx := context.Background()
	approve := slack.NewActionBlock("approval", slack.NewButtonBlockElement("approve", "req-1",
		slack.NewTextBlockObject(slack.PlainTextType, "Approve", false, false)))

	channel, ts, err := client.PostMessageContext(ctx, "C0APPROVALS", slack.MsgOptionText("approve?", false), slack.MsgOptionBlocks(approve))
	if err != nil || channel != "C0APPROVALS" || ts == "" {
		t.Fatalf("chat.postMessage = %q %q %v", channel, ts, err)
	}
	_, ts2, err := client.PostMessageContext(ctx, "C0APPROVALS", slack.MsgOptionText("second", false))
	if err != nil || ts2 == ts {
		t.Fatalf("a second post got ts %q (first %q), %v: each post needs a fresh ts", ts2, ts, err)
	}
	done := slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, "done by <@U0LEAD>", false, false), nil, nil)
	if _, _, _, err := client.UpdateMessageContext(ctx, "C0APPROVALS", ts, slack.MsgOptionText("done", false), slack.MsgOptionBlocks(done)); err != nil {
		t.Fatalf("chat.update: %v", err)
	}
	if _, _, _, err := client.UpdateMessageContext(ctx, "C0APPROVALS", "1.000001", slack.MsgOptionText("x", false)); err == nil || err.Error() != "message_not_found" {
		t.Errorf("updating an unknown ts: %v, want message_not_found", err)
	}
	if _, err := client.PostEphemeralContext(ctx, "C0OPS", "U0ONCALL", slack.MsgOptionText("only you", false)); err != nil {
		t.Errorf("chat.postEphemeral: %v", err)
	}
	var tooMany []slack.Block
	for range 51 {
		tooMany = append(tooMany, slack.NewDividerBlock())
	}
	if _, _, err := client.PostMessageContext(ctx, "C0OPS", slack.MsgOptionBlocks(tooMany...)); err == nil || err.Error() != "invalid_blocks" {
		t.Errorf("51 blocks: %v, want invalid_blocks", err)
	}
	if _, _, err := client.PostMessageContext(ctx, "C0OPS"); err == nil || err.Error() != "no_text" {
		t.Errorf("an empty message: %v, want no_text", err)
	}

	posts := s.Posts()
	if len(posts) != 4 {
		t.Fatalf("%d posts recorded, want 4 (refused ones are not): %+v", len(posts), posts)
	}
	update := posts[2]
	if update.Method != "chat.update" || update.TS != ts || !strings.Contains(string(update.Blocks), "done by") || update.Text != "done" {
		t.Errorf("chat.update recorded as %+v", update)
	}
	if posts[3].Method != "chat.postEphemeral" || posts[3].User != "U0ONCALL" {
		t.Errorf("chat.postEphemeral recorded as %+v", posts[3])
	}
	got, err := s.WaitPost(func(p Post) bool { return p.Method == "chat.update" }, time.Second)
	if err != nil || got.TS != ts {
		t.Errorf("WaitPost = %+v, %v", got, err)
	}
	if _, err := s.WaitPost(func(p Post) bool { return p.Channel == "C0NEVER" }, 20*time.Millisecond); err == nil {
		t.Error("WaitPost found a post that was never made")
	}
}

func TestRateLimitAnswers429WithRetryAfter(t *testing.T) {
	s := newServer(t)
	client := api(s, testBotToken)
	s.RateLimit("chat.postMessage", 1, 2*time.Second)
	_, _, err := client.PostMessageContext(context.Background(), "C0OPS", slack.MsgOptionText("hi", false))
	var limited *slack.RateLimitedError
	if !errors.As(err, &limited) || limited.RetryAfter != 2*time.Second {
		t.Fatalf("err = %v, want *slack.RateLimitedError after 2s", err)
	}
	if _, _, err := client.PostMessageContext(context.Background(), "C0OPS", slack.MsgOptionText("hi", false)); err != nil {
		t.Errorf("the call after the limited one: %v", err)
	}
}

func TestViewsOpenNeedsAFreshTriggerOfItsOwn(t *testing.T) {
	clk := newClock()
	s := newServer(t, func(o *Options) { o.Clock = clk.Now })
	client := api(s, testBotToken)
	ctx := context.Background()
	plain := func(text string) *slack.TextBlockObject {
		return slack.NewTextBlockObject(slack.PlainTextType, text, false, false)
	}
	modal := slack.ModalViewRequest{Type: slack.VTModal, Title: plain("Reason"), Submit: plain("Send"), CallbackID: "kill_reason",
		PrivateMetadata: `{"request":"r1"}`, Blocks: slack.Blocks{BlockSet: []slack.Block{
			slack.NewInputBlock("reason", plain("Why?"), nil, slack.NewPlainTextInputBlockElement(nil, "reason_text"))}}}

	first := s.newSent()
	view, err := client.OpenViewContext(ctx, first.TriggerID, modal)
	if err != nil || view.ID == "" || view.Hash == "" {
		t.Fatalf("views.open = %+v, %v", view, err)
	}
	if _, err := client.OpenViewContext(ctx, first.TriggerID, modal); err == nil || err.Error() != "exchanged_trigger_id" {
		t.Errorf("a used trigger: %v, want exchanged_trigger_id", err)
	}
	if _, err := client.OpenViewContext(ctx, "123.456.made-up", modal); err == nil || err.Error() != "invalid_trigger_id" {
		t.Errorf("a made-up trigger: %v, want invalid_trigger_id", err)
	}
	late := s.newSent()
	clk.Advance(TriggerLifetime + time.Millisecond)
	if _, err := client.OpenViewContext(ctx, late.TriggerID, modal); err == nil || err.Error() != "expired_trigger_id" {
		t.Errorf("a trigger older than 3 s: %v, want expired_trigger_id", err)
	}
	noSubmit := modal
	noSubmit.Submit = nil
	if _, err := client.OpenViewContext(ctx, s.newSent().TriggerID, noSubmit); err == nil || err.Error() != "invalid_arguments" {
		t.Errorf("a modal with inputs and no submit: %v, want invalid_arguments", err)
	}

	modal.Title = plain("Reason, updated")
	updated, err := client.UpdateViewContext(ctx, modal, "", view.Hash, view.ID)
	if err != nil || updated.ID != view.ID || updated.Hash == view.Hash {
		t.Fatalf("views.update = %+v, %v", updated, err)
	}
	if _, err := client.UpdateViewContext(ctx, modal, "", view.Hash, view.ID); err == nil || err.Error() != "hash_conflict" {
		t.Errorf("an update with a stale hash: %v, want hash_conflict", err)
	}

	calls := s.ViewCalls()
	if len(calls) != 2 || calls[0].Method != "views.open" || calls[1].Method != "views.update" || calls[0].TriggerID != first.TriggerID {
		t.Fatalf("view calls = %+v", calls)
	}
	var stored struct {
		ID              string `json:"id"`
		CallbackID      string `json:"callback_id"`
		PrivateMetadata string `json:"private_metadata"`
	}
	if err := json.Unmarshal(s.Views()[0], &stored); err != nil || stored.ID != view.ID || stored.CallbackID != "kill_reason" || stored.PrivateMetadata != `{"request":"r1"}` {
		t.Errorf("stored view = %+v, %v", stored, err)
	}
}

func TestJSONBodiesNeedTheTokenInTheHeader(t *testing.T) {
	s := newServer(t)
	body, _ := json.Marshal(map[string]any{"token": testBotToken, "channel": "C0OPS", "text": "hi"})
	resp, err := http.Post(s.APIURL()+"chat.postMessage", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got, _ := io.ReadAll(resp.Body)
	if !strings.Contains(string(got), "not_authed") {
		t.Errorf("a JSON body with the token inside: %s, want not_authed", got)
	}
}

func TestFailAnswersTheStatusInOrderAfterRateLimits(t *testing.T) {
	s := newServer(t)
	client := api(s, testBotToken)
	s.RateLimit("chat.update", 1, time.Second)
	s.Fail("chat.update", 1, http.StatusServiceUnavailable)
	s.Fail("chat.postMessage", 2, http.StatusBadGateway)
	_, _, _, err := client.UpdateMessageContext(context.Background(), "C0OPS", "1.1", slack.MsgOptionText("hi", false))
	var limited *slack.RateLimitedError
	if !errors.As(err, &limited) {
		t.Errorf("first update: %v, want a rate limit", err)
	}
	_, _, _, err = client.UpdateMessageContext(context.Background(), "C0OPS", "1.1", slack.MsgOptionText("hi", false))
	var status slack.StatusCodeError
	if !errors.As(err, &status) || status.Code != http.StatusServiceUnavailable {
		t.Errorf("second update: %v, want 503", err)
	}
	for i := range 2 {
		if _, _, err := client.PostMessageContext(context.Background(), "C0OPS", slack.MsgOptionText("hi", false)); !errors.As(err, &status) || status.Code != http.StatusBadGateway {
			t.Errorf("post %d: %v, want 502", i, err)
		}
	}
	if _, _, err := client.PostMessageContext(context.Background(), "C0OPS", slack.MsgOptionText("hi", false)); err != nil {
		t.Errorf("the post after the failures: %v", err)
	}
	if len(s.Posts()) != 1 {
		t.Errorf("%d posts accepted, want the one after the failures", len(s.Posts()))
	}
}
