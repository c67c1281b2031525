package slacktest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// serveAPI answers the Web API methods the bot calls, checking tokens as
// Slack does.
func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	method := strings.TrimPrefix(r.URL.Path, "/api/")
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	form := url.Values{}
	var jsonBody map[string]json.RawMessage
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		json.Unmarshal(body, &jsonBody)
	} else {
		form, _ = url.ParseQuery(string(body))
	}
	for k, v := range r.URL.Query() {
		form[k] = v
	}
	token := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	if token == "" {
		token = form.Get("token")
	}
	fail := func(e string) { writeJSON(w, map[string]any{"ok": false, "error": e}) }

	if method == "apps.connections.open" {
		s.mu.Lock()
		authFailure := s.authFailure
		s.mu.Unlock()
		switch {
		case token == "":
			fail("not_authed")
		case token != s.opts.AppToken:
			fail("invalid_auth")
		case authFailure != "":
			fail(authFailure)
		default:
			s.mu.Lock()
			s.openCalls++
			s.mu.Unlock()
			writeJSON(w, map[string]any{"ok": true, "url": "ws" + strings.TrimPrefix(s.srv.URL, "http") + "/link?ticket=slacktest"})
		}
		return
	}
	switch {
	case token == "":
		fail("not_authed")
		return
	case token != s.opts.BotToken:
		fail("invalid_auth")
		return
	}
	switch method {
	case "auth.test":
		writeJSON(w, map[string]any{"ok": true, "url": "https://slacktest.example/", "team": "Test", "user": "sessionbot",
			"team_id": "T0TEST", "user_id": "U0SESSIONBOT", "bot_id": "B0SESSIONBOT"})
	case "users.info":
		for _, u := range s.opts.Users {
			if u.ID == form.Get("user") {
				writeJSON(w, map[string]any{"ok": true, "user": map[string]any{
					"id": u.ID, "name": u.Name, "deleted": u.Deleted, "tz": u.TZ,
					"profile": map[string]any{"email": u.Email, "display_name": u.Name}}})
				return
			}
		}
		fail("user_not_found")
	case "usergroups.users.list":
		members, ok := s.opts.UserGroups[form.Get("usergroup")]
		if !ok {
			fail("no_such_subteam")
			return
		}
		writeJSON(w, map[string]any{"ok": true, "users": members})
	case "chat.postMessage", "chat.postEphemeral", "chat.update":
		s.chat(w, method, form)
	case "views.open":
		var trigger string
		json.Unmarshal(jsonBody["trigger_id"], &trigger)
		if trigger == "" {
			fail("invalid_trigger_id")
			return
		}
		s.mu.Lock()
		s.views = append(s.views, jsonBody["view"])
		s.mu.Unlock()
		writeJSON(w, map[string]any{"ok": true, "view": map[string]any{"id": "V0VIEW"}})
	default:
		fail("unknown_method")
	}
}

func (s *Server) chat(w http.ResponseWriter, method string, form url.Values) {
	channel := form.Get("channel")
	if channel == "" {
		writeJSON(w, map[string]any{"ok": false, "error": "channel_not_found"})
		return
	}
	blocks := json.RawMessage(form.Get("blocks"))
	if err := ValidateMessage(form.Get("text"), blocks); err != nil {
		writeJSON(w, map[string]any{"ok": false, "error": err.Error()})
		return
	}
	p := Post{Method: method, Channel: channel, User: form.Get("user"), Text: form.Get("text"), Blocks: blocks}
	s.mu.Lock()
	if method == "chat.update" {
		p.TS = form.Get("ts")
		found := false
		for _, old := range s.posts {
			found = found || (old.TS == p.TS && old.Channel == channel && old.Method == "chat.postMessage")
		}
		if !found {
			s.mu.Unlock()
			writeJSON(w, map[string]any{"ok": false, "error": "message_not_found"})
			return
		}
	} else {
		s.nextID++
		p.TS = fmt.Sprintf("1700000000.%06d", s.nextID)
	}
	s.posts = append(s.posts, p)
	s.mu.Unlock()
	if method == "chat.postEphemeral" {
		writeJSON(w, map[string]any{"ok": true, "message_ts": p.TS})
		return
	}
	writeJSON(w, map[string]any{"ok": true, "channel": channel, "ts": p.TS})
}

// Posts returns the chat.* calls so far.
func (s *Server) Posts() []Post {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Post(nil), s.posts...)
}

// Views returns the views opened so far.
func (s *Server) Views() []json.RawMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]json.RawMessage(nil), s.views...)
}
