package slacktest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

func blocksOf(bs ...map[string]any) json.RawMessage {
	b, _ := json.Marshal(bs)
	return b
}

func section(text string) map[string]any {
	return map[string]any{"type": "section", "text": map[string]any{"type": "mrkdwn", "text": text}}
}

func TestValidateBlocksAtSlacksLimits(t *testing.T) {
	many := func(n int) json.RawMessage {
		var bs []map[string]any
		for range n {
			bs = append(bs, section("x"))
		}
		return blocksOf(bs...)
	}
	fields := func(n int) json.RawMessage {
		var fs []map[string]any
		for range n {
			fs = append(fs, map[string]any{"type": "mrkdwn", "text": "f"})
		}
		return blocksOf(map[string]any{"type": "section", "fields": fs})
	}
	tests := []struct {
		name   string
		blocks json.RawMessage
		want   string
	}{
		{"50 blocks", many(50), ""},
		{"51 blocks", many(51), "invalid_blocks"},
		{"a 3000-character text", blocksOf(section(strings.Repeat("a", 3000))), ""},
		{"a 3001-character text", blocksOf(section(strings.Repeat("a", 3001))), "invalid_blocks"},
		{"10 fields", fields(10), ""},
		{"11 fields", fields(11), "invalid_blocks"},
		{"a 150-character header", blocksOf(map[string]any{"type": "header", "text": map[string]any{"type": "plain_text", "text": strings.Repeat("h", 150)}}), ""},
		{"a 151-character header", blocksOf(map[string]any{"type": "header", "text": map[string]any{"type": "plain_text", "text": strings.Repeat("h", 151)}}), "invalid_blocks"},
		{"13,000 characters in all", blocksOf(section(strings.Repeat("a", 2600)), section(strings.Repeat("a", 2600)), section(strings.Repeat("a", 2600)), section(strings.Repeat("a", 2600)), section(strings.Repeat("a", 2600))), ""},
		{"over 13,000 characters in all", blocksOf(section(strings.Repeat("a", 2600)), section(strings.Repeat("a", 2600)), section(strings.Repeat("a", 2600)), section(strings.Repeat("a", 2600)), section(strings.Repeat("a", 2601))), "msg_blocks_too_long"},
		{"an unknown block type", blocksOf(map[string]any{"type": "carousel"}), "invalid_blocks"},
		{"an empty text", blocksOf(section("")), "invalid_blocks"},
		{"a button value over 2000", blocksOf(map[string]any{"type": "actions", "elements": []map[string]any{{"type": "button", "action_id": "a", "value": strings.Repeat("v", 2001), "text": map[string]any{"type": "plain_text", "text": "b"}}}}), "invalid_blocks"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateBlocks(tt.blocks)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tt.want {
				t.Errorf("ValidateBlocks = %q, want %q", got, tt.want)
			}
		})
	}
}

func post(t *testing.T, url string, body any) (int, string) {
	t.Helper()
	b, _ := json.Marshal(body)
	resp, err := http.Post(url, "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	buf.ReadFrom(resp.Body)
	return resp.StatusCode, buf.String()
}

func TestResponseURLLimits(t *testing.T) {
	now := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
	s := New(Options{BotToken: "xoxb-b", AppToken: "xapp-a", Clock: func() time.Time { return now }})
	defer s.Close()
	id, url := s.newResponseURL()
	for i := range 5 {
		if code, body := post(t, url, Response{Text: fmt.Sprint(i)}); code != 200 || !strings.Contains(body, `"ok":true`) {
			t.Fatalf("post %d: %d %s", i, code, body)
		}
	}
	if code, body := post(t, url, Response{Text: "sixth"}); code != 404 || !strings.Contains(body, "used_url") {
		t.Errorf("sixth post: %d %s", code, body)
	}
	if n := len(s.Responses(id)); n != 5 {
		t.Errorf("%d responses recorded", n)
	}
	_, url2 := s.newResponseURL()
	now = now.Add(31 * time.Minute)
	if code, body := post(t, url2, Response{Text: "late"}); code != 404 || !strings.Contains(body, "expired_url") {
		t.Errorf("late post: %d %s", code, body)
	}
	_, url3 := s.newResponseURL()
	if _, body := post(t, url3, Response{Text: "x", Blocks: blocksOf(section(strings.Repeat("a", 3001)))}); !strings.Contains(body, "invalid_blocks") {
		t.Errorf("invalid blocks accepted: %s", body)
	}
}

func TestWebAPIChecksTokens(t *testing.T) {
	s := New(Options{BotToken: "xoxb-b", AppToken: "xapp-a", UserGroups: map[string][]string{"S1": {"U1", "U2"}}})
	defer s.Close()
	call := func(method, token, form string) string {
		req, _ := http.NewRequest("POST", s.APIURL()+method, strings.NewReader(form))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var buf bytes.Buffer
		buf.ReadFrom(resp.Body)
		return buf.String()
	}
	for _, tt := range []struct{ method, token, form, want string }{
		{"auth.test", "", "", "not_authed"},
		{"auth.test", "xoxb-wrong", "", "invalid_auth"},
		{"auth.test", "xoxb-b", "", `"user_id":"U0SESSIONBOT"`},
		{"apps.connections.open", "xoxb-b", "", "invalid_auth"},
		{"apps.connections.open", "xapp-a", "", `"url":"ws://`},
		{"usergroups.users.list", "xoxb-b", "usergroup=S1", `"users":["U1","U2"]`},
		{"usergroups.users.list", "xoxb-b", "usergroup=S9", "no_such_subteam"},
		{"users.info", "xoxb-b", "user=U404", "user_not_found"},
		{"chat.update", "xoxb-b", "channel=C1&ts=1.2&text=x", "message_not_found"},
		{"no.such.method", "xoxb-b", "", "unknown_method"},
	} {
		if got := call(tt.method, tt.token, tt.form); !strings.Contains(got, tt.want) {
			t.Errorf("%s with %q: %s, want %s", tt.method, tt.token, got, tt.want)
		}
	}
}
