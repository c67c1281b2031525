package slacktest

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Post is one chat.postMessage, chat.postEphemeral or chat.update call
// Slack accepted.
type Post struct {
	Method   string
	Channel  string
	User     string // chat.postEphemeral's recipient
	TS       string // the message's ts (for chat.update, the one updated)
	ThreadTS string
	Text     string
	Blocks   json.RawMessage
}

// View is one views.open or views.update call Slack accepted.
type View struct {
	Method          string
	ID, Hash        string
	ExternalID      string
	CallbackID      string
	PrivateMetadata string
	TriggerID       string
	// UserID is whose App Home a views.publish showed.
	UserID string
	// JSON is the view as Slack stores it: what the bot sent, plus id and
	// hash.
	JSON json.RawMessage
}

// failure is one injected refusal of a Web API call: HTTP status, and
// Retry-After for a 429.
type failure struct {
	status     int
	retryAfter time.Duration
}

// answer is a Web API reply body.
type answer map[string]any

func fail(code string) answer { return answer{"ok": false, "error": code} }

// params reads method arguments from a form or a JSON body alike.
type params struct {
	form url.Values
	json map[string]json.RawMessage
}

// get returns a string argument, or the raw JSON of a structured one
// (blocks, view) from a JSON body.
func (p params) get(name string) string {
	if p.json != nil {
		raw := p.json[name]
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return s
		}
		return string(raw)
	}
	return p.form.Get(name)
}

// method is a Web API method: the token kind it takes and its handler.
type method struct {
	appToken bool
	handle   func(s *Server, p params) answer
}

var methods = map[string]method{
	"apps.connections.open": {appToken: true, handle: (*Server).connectionsOpen},
	"auth.test":             {handle: (*Server).authTest},
	"users.info":            {handle: (*Server).usersInfo},
	"usergroups.users.list": {handle: (*Server).usergroupsUsersList},
	"conversations.members": {handle: (*Server).conversationsMembers},
	"conversations.info":    {handle: (*Server).conversationsInfo},
	"chat.postMessage":      {handle: func(s *Server, p params) answer { return s.chat("chat.postMessage", p) }},
	"chat.postEphemeral":    {handle: func(s *Server, p params) answer { return s.chat("chat.postEphemeral", p) }},
	"chat.update":           {handle: func(s *Server, p params) answer { return s.chat("chat.update", p) }},
	"views.open":            {handle: (*Server).viewsOpen},
	"views.update":          {handle: (*Server).viewsUpdate},
	"views.publish":         {handle: (*Server).viewsPublish},
}

// RateLimit makes the next calls of a Web API method answer HTTP 429 with
// Retry-After, which slack-go returns as *slack.RateLimitedError. It
// replaces refusals queued before; calls <= 0 clears them.
func (s *Server) RateLimit(method string, calls int, retryAfter time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.throttled, method)
	s.queueLocked(method, calls, failure{status: http.StatusTooManyRequests, retryAfter: retryAfter})
}

// Fail queues calls refusals of a Web API method with an HTTP status (503:
// Slack is having trouble; 429 with a Retry-After of 1 s), after any already
// queued. Slack's 5xx bodies are not the Web API's JSON, so neither are
// these.
func (s *Server) Fail(method string, calls, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.queueLocked(method, calls, failure{status: status, retryAfter: time.Second})
}

func (s *Server) queueLocked(method string, calls int, f failure) {
	for range calls {
		s.throttled[method] = append(s.throttled[method], f)
	}
}

func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(r.URL.Path, "/api/")
	s.mu.Lock()
	s.calls[name]++
	queued := s.throttled[name]
	var refuse *failure
	if len(queued) > 0 {
		refuse = &queued[0]
		if len(queued) == 1 {
			delete(s.throttled, name)
		} else {
			s.throttled[name] = queued[1:]
		}
	}
	s.mu.Unlock()
	if refuse != nil {
		if refuse.status == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(refuse.retryAfter.Seconds()))))
			writeJSON(w, http.StatusTooManyRequests, fail("ratelimited"))
			return
		}
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(refuse.status)
		io.WriteString(w, "<html><body>"+http.StatusText(refuse.status)+"</body></html>")
		return
	}
	if s.opts.Scopes != nil {
		w.Header().Set("X-OAuth-Scopes", strings.Join(s.opts.Scopes, ","))
	}
	m, known := methods[name]
	p, token, err := readParams(r)
	switch {
	case err != nil:
		writeJSON(w, http.StatusOK, fail(err.Error()))
	case !known:
		writeJSON(w, http.StatusOK, answer{"ok": false, "error": "unknown_method", "req_method": name})
	default:
		if code := s.checkToken(token, m.appToken); code != "" {
			writeJSON(w, http.StatusOK, fail(code))
			return
		}
		writeJSON(w, http.StatusOK, m.handle(s, p))
	}
}

// readParams reads a form (token in the body or the Authorization header)
// or a JSON body (token in the Authorization header only, as Slack wants).
func readParams(r *http.Request) (params, string, error) {
	token := ""
	if h := r.Header.Get("Authorization"); strings.HasPrefix(h, "Bearer ") {
		token = strings.TrimPrefix(h, "Bearer ")
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 4<<20))
	if err != nil {
		return params{}, "", fmt.Errorf("invalid_form_data")
	}
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		p := params{json: map[string]json.RawMessage{}}
		if len(body) > 0 && string(body) != "null" {
			if err := json.Unmarshal(body, &p.json); err != nil {
				return params{}, "", fmt.Errorf("invalid_json")
			}
		}
		return p, token, nil
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return params{}, "", fmt.Errorf("invalid_form_data")
	}
	for k, v := range r.URL.Query() {
		form[k] = append(form[k], v...)
	}
	if token == "" {
		token = form.Get("token")
	}
	return params{form: form}, token, nil
}

// checkToken answers Slack's error for a missing, wrong or misplaced token.
func (s *Server) checkToken(token string, wantApp bool) string {
	s.mu.Lock()
	openError, revoked := s.openError, s.revoked[token]
	s.mu.Unlock()
	want, other := s.opts.BotToken, s.opts.AppToken
	if wantApp {
		want, other = other, want
	}
	switch {
	case token == "":
		return "not_authed"
	case revoked:
		return "token_revoked"
	case token == other:
		return "not_allowed_token_type"
	case token != want:
		return "invalid_auth"
	case wantApp && openError != "":
		return openError
	}
	return ""
}

func (s *Server) connectionsOpen(params) answer {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.opened++
	ticket := fmt.Sprintf("%08x-%d", rand32(s.nextSeq()), s.seq)
	s.tickets[ticket] = true
	wsURL := "ws" + strings.TrimPrefix(s.http.URL, "http") + "/link/?ticket=" + url.QueryEscape(ticket) + "&app_id=" + AppID
	return answer{"ok": true, "url": wsURL}
}

func (s *Server) authTest(params) answer {
	return answer{"ok": true, "url": "https://slacktest.slack.com/", "team": "slacktest", "user": "sessionbot",
		"team_id": TeamID, "user_id": BotUserID, "bot_id": BotID, "is_enterprise_install": false}
}

func (s *Server) usersInfo(p params) answer {
	for _, u := range s.opts.Users {
		if u.ID != p.get("user") {
			continue
		}
		profile := map[string]any{"real_name": u.Name, "display_name": u.Name, "team": TeamID}
		if !u.IsBot {
			profile["email"] = u.Email
		}
		tz, label, offset := u.TZ, "", 0
		if loc, err := time.LoadLocation(u.TZ); err == nil && u.TZ != "" {
			label, offset = s.opts.Clock().In(loc).Zone()
		}
		return answer{"ok": true, "user": map[string]any{
			"id": u.ID, "team_id": TeamID, "name": u.Name, "real_name": u.Name, "deleted": u.Deleted,
			"tz": tz, "tz_label": label, "tz_offset": offset, "is_bot": u.IsBot, "is_app_user": false,
			"is_admin": false, "is_restricted": false, "profile": profile,
		}}
	}
	return fail("user_not_found")
}

func (s *Server) usergroupsUsersList(p params) answer {
	members, ok := s.opts.UserGroups[p.get("usergroup")]
	if !ok {
		return fail("no_such_subteam")
	}
	return answer{"ok": true, "users": append([]string{}, members...)}
}

// conversationsMembers pages as Slack does: limit (default 100, at most
// 1000) members a page, and a next_cursor until the last page.
func (s *Server) conversationsMembers(p params) answer {
	members, ok := s.opts.Channels[p.get("channel")]
	if !ok {
		return fail("channel_not_found")
	}
	limit := 100
	if l, err := strconv.Atoi(p.get("limit")); err == nil && l > 0 {
		limit = min(l, 1000)
	}
	start := 0
	if c := p.get("cursor"); c != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(c, "page:"))
		if err != nil || n < 0 || n > len(members) {
			return fail("invalid_cursor")
		}
		start = n
	}
	end := min(start+limit, len(members))
	next := ""
	if end < len(members) {
		next = "page:" + strconv.Itoa(end)
	}
	return answer{"ok": true, "members": append([]string{}, members[start:end]...), "response_metadata": map[string]any{"next_cursor": next}}
}

// Revoke makes Slack answer token_revoked to every call with token, as it
// does once an admin revokes it or the app is uninstalled.
func (s *Server) Revoke(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.revoked[token] = true
}

// conversationsInfo describes a channel of Options.Channels; is_member says
// whether the bot is among its members.
func (s *Server) conversationsInfo(p params) answer {
	id := p.get("channel")
	members, ok := s.opts.Channels[id]
	if !ok {
		return fail("channel_not_found")
	}
	isMember := false
	for _, m := range members {
		isMember = isMember || m == BotUserID
	}
	return answer{"ok": true, "channel": map[string]any{"id": id, "name": strings.ToLower(id), "is_channel": strings.HasPrefix(id, "C"),
		"is_private": strings.HasPrefix(id, "G"), "is_member": isMember, "num_members": len(members)}}
}

func (s *Server) chat(method string, p params) answer {
	channel, text, blocks := p.get("channel"), p.get("text"), json.RawMessage(p.get("blocks"))
	if isEmptyJSON(blocks) {
		blocks = nil
	}
	switch {
	case channel == "":
		return fail("channel_not_found")
	case text == "" && blocks == nil:
		return fail("no_text")
	case method == "chat.postEphemeral" && !s.knownUser(p.get("user")):
		return fail("user_not_in_channel")
	}
	if err := ValidateMessage(text, blocks); err != nil {
		return failWith(err)
	}
	post := Post{Method: method, Channel: channel, User: p.get("user"), ThreadTS: p.get("thread_ts"), Text: text, Blocks: blocks}
	s.mu.Lock()
	defer s.mu.Unlock()
	if method == "chat.update" {
		post.TS = p.get("ts")
		if _, ok := s.messageLocked(channel, post.TS); !ok || post.TS == "" {
			return fail("message_not_found")
		}
	} else {
		post.TS = s.newTSLocked()
	}
	s.posts = append(s.posts, post)
	s.notify()
	message := map[string]any{"type": "message", "user": BotUserID, "bot_id": BotID, "app_id": AppID,
		"team": TeamID, "ts": post.TS, "text": text, "blocks": blocks}
	switch method {
	case "chat.postEphemeral":
		return answer{"ok": true, "message_ts": post.TS}
	case "chat.update":
		return answer{"ok": true, "channel": channel, "ts": post.TS, "text": text, "message": message}
	}
	return answer{"ok": true, "channel": channel, "ts": post.TS, "message": message}
}

// failWith answers the Slack error code of a validation error.
func failWith(err error) answer {
	code := "invalid_blocks"
	if be, ok := err.(*BlocksError); ok {
		code = be.Code
	}
	return answer{"ok": false, "error": code,
		"response_metadata": map[string]any{"messages": []string{"[ERROR] " + err.Error()}}}
}

func (s *Server) knownUser(id string) bool {
	for _, u := range s.opts.Users {
		if u.ID == id {
			return true
		}
	}
	return false
}

// message finds the current version of a posted (not ephemeral) message.
func (s *Server) message(channel, ts string) (Post, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.messageLocked(channel, ts)
}

func (s *Server) messageLocked(channel, ts string) (Post, bool) {
	var found Post
	ok := false
	for _, p := range s.posts {
		if p.TS == ts && (channel == "" || p.Channel == channel) && p.Method != "chat.postEphemeral" {
			found, ok = p, true
		}
	}
	return found, ok
}

func (s *Server) viewsOpen(p params) answer {
	triggerID, raw := p.get("trigger_id"), json.RawMessage(p.get("view"))
	if err := ValidateView(raw); err != nil {
		return failWith(err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.triggers[triggerID]
	switch {
	case !ok:
		return fail("invalid_trigger_id")
	case t.used:
		return fail("exchanged_trigger_id")
	case s.opts.Clock().Sub(t.issued) > TriggerLifetime:
		return fail("expired_trigger_id")
	}
	t.used = true
	s.triggers[triggerID] = t
	id := fmt.Sprintf("V%08d", s.nextSeq())
	return s.recordViewLocked("views.open", id, triggerID, raw)
}

func (s *Server) viewsUpdate(p params) answer {
	viewID, externalID, hash, raw := p.get("view_id"), p.get("external_id"), p.get("hash"), json.RawMessage(p.get("view"))
	if viewID == "" && externalID == "" {
		return fail("invalid_arguments")
	}
	if err := ValidateView(raw); err != nil {
		return failWith(err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var current *View
	for i := range s.views {
		v := &s.views[i]
		if (viewID != "" && v.ID == viewID) || (viewID == "" && v.ExternalID == externalID) {
			current = v
		}
	}
	switch {
	case current == nil:
		return fail("not_found")
	case hash != "" && hash != current.Hash:
		return fail("hash_conflict")
	}
	return s.recordViewLocked("views.update", current.ID, "", raw)
}

// TriggerLifetime is how long a trigger_id opens a modal.
const TriggerLifetime = 3 * time.Second

func (s *Server) recordViewLocked(method, id, triggerID string, raw json.RawMessage) answer {
	var view map[string]any
	json.Unmarshal(raw, &view)
	hash := fmt.Sprintf("%d.%08x", s.opts.Clock().Unix(), rand32(s.nextSeq()))
	view["id"], view["hash"], view["team_id"], view["app_id"], view["bot_id"] = id, hash, TeamID, AppID, BotID
	view["state"] = map[string]any{"values": map[string]any{}}
	stored, _ := json.Marshal(view)
	str := func(k string) string { v, _ := view[k].(string); return v }
	s.views = append(s.views, View{Method: method, ID: id, Hash: hash, ExternalID: str("external_id"),
		CallbackID: str("callback_id"), PrivateMetadata: str("private_metadata"), TriggerID: triggerID, JSON: stored})
	s.notify()
	return answer{"ok": true, "view": json.RawMessage(stored)}
}

// findView finds the latest version of a view by id, or else of the last
// view with that callback id.
func (s *Server) findView(id, callbackID string) (View, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var found View
	ok := false
	for _, v := range s.views {
		if (id != "" && v.ID == id) || (id == "" && callbackID != "" && v.CallbackID == callbackID) {
			found, ok = v, true
		}
	}
	if ok && id == "" {
		// The latest version of the view found by callback id.
		for _, v := range s.views {
			if v.ID == found.ID {
				found = v
			}
		}
	}
	return found, ok
}

// Posts returns the chat.* calls Slack accepted, in order.
func (s *Server) Posts() []Post {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Post(nil), s.posts...)
}

// WaitPost waits for a chat.* call that match accepts and returns it.
func (s *Server) WaitPost(match func(Post) bool, timeout time.Duration) (Post, error) {
	var found Post
	err := s.waitFor(timeout, func() bool {
		for _, p := range s.posts {
			if match(p) {
				found = p
				return true
			}
		}
		return false
	})
	if err == errTimeout {
		return Post{}, fmt.Errorf("slacktest: no matching chat post within %s (%d posts)", timeout, len(s.Posts()))
	}
	return found, err
}

// Views returns each view opened or updated, as stored (with id and hash),
// in order.
func (s *Server) Views() []json.RawMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]json.RawMessage, len(s.views))
	for i, v := range s.views {
		out[i] = v.JSON
	}
	return out
}

// ViewCalls returns each views.open and views.update call accepted.
func (s *Server) ViewCalls() []View {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]View(nil), s.views...)
}
