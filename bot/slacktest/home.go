package slacktest

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// viewsPublish is views.publish: a user's App Home, checked as Slack
// checks it. One Home per user; publishing replaces it, keeping its id.
func (s *Server) viewsPublish(p params) answer {
	user, hash, raw := p.get("user_id"), p.get("hash"), json.RawMessage(p.get("view"))
	if user == "" {
		return fail("invalid_arguments")
	}
	var kind struct {
		Type string `json:"type"`
	}
	if json.Unmarshal(raw, &kind) != nil || kind.Type != "home" {
		return answer{"ok": false, "error": "invalid_arguments",
			"response_metadata": map[string]any{"messages": []string{"[ERROR] views.publish takes a view of type home"}}}
	}
	if err := ValidateView(raw); err != nil {
		return failWith(err)
	}
	if !s.knownUser(user) {
		return fail("user_not_found")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	current, ok := s.homeLocked(user)
	switch {
	case hash != "" && (!ok || hash != current.Hash):
		return fail("hash_conflict")
	case !ok:
		current.ID = fmt.Sprintf("V%08d", s.nextSeq())
	}
	got := s.recordViewLocked("views.publish", current.ID, "", raw)
	s.views[len(s.views)-1].UserID = user
	return got
}

func (s *Server) homeLocked(user string) (View, bool) {
	for i := len(s.views) - 1; i >= 0; i-- {
		if v := s.views[i]; v.Method == "views.publish" && v.UserID == user {
			return v, true
		}
	}
	return View{}, false
}

// Home returns the App Home last published for user.
func (s *Server) Home(user string) (View, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.homeLocked(user)
}

// WaitHome waits for a Home published for user that match accepts,
// counting only those published after the first `after` of them.
func (s *Server) WaitHome(user string, after int, match func(View) bool, timeout time.Duration) (View, error) {
	var found View
	err := s.waitFor(timeout, func() bool {
		n := 0
		for _, v := range s.views {
			if v.Method != "views.publish" || v.UserID != user {
				continue
			}
			n++
			if n > after && match(v) {
				found = v
				return true
			}
		}
		return false
	})
	if err == errTimeout {
		return View{}, fmt.Errorf("slacktest: no matching Home for %s within %s (%d published)", user, timeout, s.HomeCount(user))
	}
	return found, err
}

// HomeCount is how many times user's Home was published.
func (s *Server) HomeCount(user string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, v := range s.views {
		if v.Method == "views.publish" && v.UserID == user {
			n++
		}
	}
	return n
}

// SendAppHomeOpened delivers app_home_opened: user opened the bot's Home
// tab.
func (s *Server) SendAppHomeOpened(user string) (Sent, error) {
	event := map[string]any{"type": "app_home_opened", "user": user, "channel": "D" + user[1:], "tab": "home"}
	if v, ok := s.Home(user); ok {
		event["view"] = json.RawMessage(v.JSON)
	}
	return s.sendEvent(event)
}

// HomeAction is a click (or an Enter in a dispatching input) on a user's
// published Home.
type HomeAction struct {
	UserID   string
	ActionID string
	// Value picks among buttons sharing an action id (one per request);
	// for an input, it is the text typed.
	Value string
}

// SendHomeAction delivers block_actions from user's Home as Slack does:
// the view attached, a trigger_id, and no response_url. The element must
// be on the Home last published.
func (s *Server) SendHomeAction(a HomeAction) (Sent, error) {
	home, ok := s.Home(a.UserID)
	if !ok {
		return Sent{}, errors.New("slacktest: no Home was published for " + a.UserID)
	}
	var view struct {
		Blocks json.RawMessage `json:"blocks"`
	}
	json.Unmarshal(home.JSON, &view)
	blockID, kind, found := findHomeElement(view.Blocks, a.ActionID, a.Value)
	if !found {
		return Sent{}, fmt.Errorf("slacktest: no %s element with value %q on %s's Home", a.ActionID, a.Value, a.UserID)
	}
	sent := s.newSent()
	action := map[string]any{"type": kind, "action_id": a.ActionID, "block_id": blockID, "value": a.Value, "action_ts": s.newTS()}
	if kind == "button" {
		action["text"] = map[string]any{"type": "plain_text", "text": "Button", "emoji": true}
	}
	payload := map[string]any{
		"type": "block_actions", "token": "unused-verification-token", "api_app_id": AppID,
		"team":       map[string]any{"id": TeamID, "domain": "slacktest"},
		"user":       map[string]any{"id": a.UserID, "username": s.userName(a.UserID), "name": s.userName(a.UserID), "team_id": TeamID},
		"trigger_id": sent.TriggerID, "is_enterprise_install": false,
		"container": map[string]any{"type": "view", "view_id": home.ID},
		"view":      json.RawMessage(home.JSON), "actions": []any{action},
		"state": map[string]any{"values": map[string]any{}},
	}
	var err error
	sent.EnvelopeID, err = s.send("interactive", "block_actions", payload, 0, false)
	sent.ResponseID, sent.ResponseURL = "", ""
	return sent, err
}

// findHomeElement finds a button with action id and value, or an input
// element with action id, and its block.
func findHomeElement(blocks json.RawMessage, actionID, value string) (blockID, kind string, ok bool) {
	type element struct {
		Type     string `json:"type"`
		ActionID string `json:"action_id"`
		Value    string `json:"value"`
	}
	var bs []struct {
		BlockID  string    `json:"block_id"`
		Elements []element `json:"elements"`
		Element  *element  `json:"element"`
	}
	json.Unmarshal(blocks, &bs)
	for _, b := range bs {
		for _, e := range b.Elements {
			if e.ActionID == actionID && e.Type == "button" && e.Value == value {
				return b.BlockID, e.Type, true
			}
		}
		if b.Element != nil && b.Element.ActionID == actionID {
			return b.BlockID, b.Element.Type, true
		}
	}
	return "", "", false
}
