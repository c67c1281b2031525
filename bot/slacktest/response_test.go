package slacktest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"
)

func TestResponseURLTakesFivePostsWithin30Minutes(t *testing.T) {
	clk := newClock()
	s := newServer(t, func(o *Options) { o.Clock = clk.Now })
	client := api(s, testBotToken)
	ctx := context.Background()
	reply := func(url, text string, opts ...slack.MsgOption) error {
		opts = append([]slack.MsgOption{slack.MsgOptionResponseURL(url, slack.ResponseTypeEphemeral), slack.MsgOptionText(text, false)}, opts...)
		_, _, err := client.PostMessageContext(ctx, "", opts...)
		return err
	}
	statusOf := func(err error) int {
		var code slack.StatusCodeError
		if errors.As(err, &code) {
			return code.Code
		}
		return 0
	}

	sent := s.newSent()
	for i := range MaxResponses {
		if err := reply(sent.ResponseURL, fmt.Sprint("reply ", i)); err != nil {
			t.Fatalf("post %d: %v", i+1, err)
		}
	}
	if err := reply(sent.ResponseURL, "a sixth reply"); statusOf(err) != http.StatusNotFound {
		t.Errorf("the 6th post: %v, want 404 used_url", err)
	}
	got := s.Responses(sent.ResponseID)
	if len(got) != MaxResponses || got[4].Text != "reply 4" || got[0].ResponseType != "ephemeral" {
		t.Errorf("recorded %+v", got)
	}

	fresh := s.newSent()
	tooLong := slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, strings.Repeat("x", 3001), false, false), nil, nil)
	if err := reply(fresh.ResponseURL, "too long", slack.MsgOptionBlocks(tooLong)); statusOf(err) != http.StatusBadRequest {
		t.Errorf("a 3001-character section: %v, want 400 invalid_blocks", err)
	}
	if err := reply(fresh.ResponseURL, "", slack.MsgOptionReplaceOriginal(fresh.ResponseURL)); statusOf(err) != http.StatusBadRequest {
		t.Errorf("an empty reply: %v, want 400 no_text", err)
	}
	if err := reply(fresh.ResponseURL, "", slack.MsgOptionDeleteOriginal(fresh.ResponseURL)); err != nil {
		t.Errorf("delete_original without text: %v", err)
	}
	if n := len(s.Responses(fresh.ResponseID)); n != 1 {
		t.Errorf("%d posts recorded on the fresh URL, want 1 (refused posts do not count)", n)
	}

	clk.Advance(ResponseURLLifetime)
	if err := reply(fresh.ResponseURL, "at 30 minutes"); err != nil {
		t.Errorf("a post at exactly 30 minutes: %v", err)
	}
	clk.Advance(time.Second)
	if err := reply(fresh.ResponseURL, "too late"); statusOf(err) != http.StatusNotFound {
		t.Errorf("a post after 30 minutes: %v, want 404 expired_url", err)
	}
}

func TestResponseURLAnswersSlacksErrorWords(t *testing.T) {
	clk := newClock()
	s := newServer(t, func(o *Options) { o.Clock = clk.Now })
	post := func(url, contentType, body string) (int, string) {
		resp, err := http.Post(url, contentType, bytes.NewReader([]byte(body)))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	used, expired := s.newSent(), s.newSent()
	clk.Advance(ResponseURLLifetime + time.Second)
	for range MaxResponses {
		s.mu.Lock()
		s.responseURLs[used.ResponseID].created = clk.Now()
		s.mu.Unlock()
		post(used.ResponseURL, "application/json", `{"text":"x"}`)
	}
	fresh := s.newSent()
	tests := []struct {
		name, url, contentType, body string
		status                       int
		word                         string
	}{
		{"a sixth post is used_url", used.ResponseURL, "application/json", `{"text":"x"}`, 404, "used_url"},
		{"a post after 30 minutes is expired_url", expired.ResponseURL, "application/json", `{"text":"x"}`, 404, "expired_url"},
		{"a URL never handed out is invalid_url", s.http.URL + "/response/R404", "application/json", `{"text":"x"}`, 404, "invalid_url"},
		{"a form body is invalid_payload", fresh.ResponseURL, "application/x-www-form-urlencoded", "text=x", 400, "invalid_payload"},
		{"blocks over the limits are invalid_blocks", fresh.ResponseURL, "application/json", `{"blocks":[{"type":"carousel"}]}`, 400, "invalid_blocks"},
		{"an unknown response_type is invalid_payload", fresh.ResponseURL, "application/json", `{"text":"x","response_type":"everyone"}`, 400, "invalid_payload"},
		{"a good reply is ok", fresh.ResponseURL, "application/json", `{"text":"x","response_type":"in_channel"}`, 200, `"ok":true`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := post(tt.url, tt.contentType, tt.body)
			if status != tt.status || !strings.Contains(body, tt.word) {
				t.Errorf("answered %d %s, want %d %s", status, body, tt.status, tt.word)
			}
		})
	}
}

func TestWaitResponsesGivesUpAtItsTimeout(t *testing.T) {
	s := newServer(t)
	sent := s.newSent()
	start := time.Now()
	if _, err := s.WaitResponses(sent.ResponseID, 1, 50*time.Millisecond); err == nil {
		t.Error("WaitResponses returned no error with no post")
	}
	if waited := time.Since(start); waited > time.Second {
		t.Errorf("waited %s for a 50ms timeout", waited)
	}
	if _, err := s.WaitResponses("R-never", 1, time.Minute); err == nil {
		t.Error("WaitResponses accepted a response_url that was never handed out")
	}
	go func() {
		time.Sleep(20 * time.Millisecond)
		http.Post(sent.ResponseURL, "application/json", strings.NewReader(`{"text":"late but there"}`))
	}()
	got, err := s.WaitResponses(sent.ResponseID, 1, 5*time.Second)
	if err != nil || got[0].Text != "late but there" {
		t.Errorf("WaitResponses = %+v, %v", got, err)
	}
}
