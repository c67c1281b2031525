package slacktest

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Sent names an envelope the fake delivered and what came with it.
type Sent struct {
	EnvelopeID string
	// ResponseID names the envelope's response_url for Responses and
	// WaitResponses; ResponseURL is the URL itself. Empty for events and
	// view submissions.
	ResponseID, ResponseURL string
	// TriggerID opens a modal with views.open within 3 s (by Clock).
	TriggerID string
}

// SlashCommand is what a person typed.
type SlashCommand struct {
	Command   string // "/sessions"
	Text      string
	UserID    string
	ChannelID string
	// Connection picks the websocket, 1-based among the live ones in the
	// order they connected; 0 lets Slack pick at random.
	Connection int
}

// SendSlashCommand delivers a slash_commands envelope with a response_url
// and a trigger_id of its own.
func (s *Server) SendSlashCommand(c SlashCommand) (Sent, error) {
	if c.Command == "" || c.Command[0] != '/' || c.UserID == "" || c.ChannelID == "" {
		return Sent{}, errors.New("slacktest: a slash command needs a Command starting with /, a UserID and a ChannelID")
	}
	sent := s.newSent()
	payload := map[string]any{
		"token": "unused-verification-token", "team_id": TeamID, "team_domain": "slacktest",
		"channel_id": c.ChannelID, "channel_name": "channel", "user_id": c.UserID, "user_name": s.userName(c.UserID),
		"command": c.Command, "text": c.Text, "api_app_id": AppID, "is_enterprise_install": false,
		"response_url": sent.ResponseURL, "trigger_id": sent.TriggerID,
	}
	var err error
	sent.EnvelopeID, err = s.send("slash_commands", "", payload, c.Connection, true)
	return sent, err
}

// BlockAction is a click on a button.
type BlockAction struct {
	UserID    string
	ChannelID string // ignored when MessageTS names a post: its channel is used
	ActionID  string
	Value     string
	// BlockID of the clicked button's block; found in the message when
	// MessageTS names a post.
	BlockID string
	// MessageTS is the ts of the clicked message, as chat.postMessage
	// returned it. Empty means an ephemeral message (a response_url reply):
	// Slack then sends no "message", only a container marked is_ephemeral.
	MessageTS  string
	Connection int // as in SlashCommand
}

// SendBlockAction delivers a block_actions interaction with a response_url
// and a trigger_id of its own.
func (s *Server) SendBlockAction(a BlockAction) (Sent, error) {
	if a.UserID == "" || a.ActionID == "" {
		return Sent{}, errors.New("slacktest: a block action needs a UserID and an ActionID")
	}
	sent := s.newSent()
	action := map[string]any{"type": "button", "action_id": a.ActionID, "block_id": a.BlockID, "value": a.Value,
		"text": map[string]any{"type": "plain_text", "text": "Button", "emoji": true}, "action_ts": s.newTS()}
	container := map[string]any{"type": "message", "channel_id": a.ChannelID, "is_ephemeral": true, "message_ts": s.newTS()}
	payload := map[string]any{
		"type": "block_actions", "token": "unused-verification-token", "api_app_id": AppID,
		"team":       map[string]any{"id": TeamID, "domain": "slacktest"},
		"user":       map[string]any{"id": a.UserID, "username": s.userName(a.UserID), "name": s.userName(a.UserID), "team_id": TeamID},
		"trigger_id": sent.TriggerID, "response_url": sent.ResponseURL, "is_enterprise_install": false,
		"state": map[string]any{"values": map[string]any{}}, "actions": []any{action},
	}
	if a.MessageTS != "" {
		// The message decides the channel, as in Slack.
		post, ok := s.message("", a.MessageTS)
		if !ok {
			return Sent{}, fmt.Errorf("slacktest: block action on message %s: no message with that ts was posted", a.MessageTS)
		}
		a.ChannelID = post.Channel
		if b, ok := findButton(post.Blocks, a.ActionID); ok {
			action["block_id"], action["text"] = b.BlockID, b.Text
		}
		container = map[string]any{"type": "message", "channel_id": post.Channel, "is_ephemeral": false, "message_ts": post.TS}
		payload["message"] = map[string]any{"type": "message", "user": BotUserID, "bot_id": BotID, "app_id": AppID,
			"team": TeamID, "ts": post.TS, "text": post.Text, "blocks": post.Blocks}
	}
	if action["block_id"] == "" {
		action["block_id"] = "actions"
	}
	container["channel_id"] = a.ChannelID
	payload["container"] = container
	payload["channel"] = map[string]any{"id": a.ChannelID, "name": "channel"}
	var err error
	sent.EnvelopeID, err = s.send("interactive", "block_actions", payload, a.Connection, false)
	return sent, err
}

// ViewSubmission is a modal's submit.
type ViewSubmission struct {
	UserID string
	// ViewID names the modal as views.open answered; when empty, the last
	// view opened with CallbackID is used. Its input blocks are checked
	// against Values.
	ViewID          string
	CallbackID      string
	PrivateMetadata string // the view's own when empty
	// Values are block id -> action id -> typed text.
	Values     map[string]map[string]string
	Connection int // as in SlashCommand
}

// SendViewSubmission delivers a view_submission interaction.
func (s *Server) SendViewSubmission(v ViewSubmission) (Sent, error) {
	view, known := s.findView(v.ViewID, v.CallbackID)
	if v.ViewID != "" && !known {
		return Sent{}, fmt.Errorf("slacktest: view submission: no view %q was opened", v.ViewID)
	}
	body := map[string]any{}
	if known {
		json.Unmarshal(view.JSON, &body)
		inputs := inputElements(view.JSON)
		for block, actions := range v.Values {
			for action := range actions {
				if _, ok := inputs[block][action]; !ok {
					return Sent{}, fmt.Errorf("slacktest: view submission: view %s has no input block %q with action %q", view.ID, block, action)
				}
			}
		}
		if v.PrivateMetadata == "" {
			v.PrivateMetadata = view.PrivateMetadata
		}
		v.CallbackID = view.CallbackID
	} else {
		body = map[string]any{"id": "V0UNKNOWN", "type": "modal", "hash": "0.unknown"}
	}
	values := map[string]any{}
	for block, actions := range v.Values {
		m := map[string]any{}
		for action, text := range actions {
			m[action] = map[string]any{"type": "plain_text_input", "value": text}
		}
		values[block] = m
	}
	body["callback_id"], body["private_metadata"] = v.CallbackID, v.PrivateMetadata
	body["state"] = map[string]any{"values": values}
	body["team_id"], body["app_id"], body["bot_id"] = TeamID, AppID, BotID
	sent := s.newSent()
	sent.ResponseID, sent.ResponseURL = "", ""
	payload := map[string]any{
		"type": "view_submission", "token": "unused-verification-token", "api_app_id": AppID,
		"team":       map[string]any{"id": TeamID, "domain": "slacktest"},
		"user":       map[string]any{"id": v.UserID, "username": s.userName(v.UserID), "name": s.userName(v.UserID), "team_id": TeamID},
		"trigger_id": sent.TriggerID, "view": body, "response_urls": []any{}, "is_enterprise_install": false,
	}
	var err error
	sent.EnvelopeID, err = s.send("interactive", "view_submission", payload, v.Connection, true)
	return sent, err
}

// SendAppMention delivers an app_mention event: "@sessionbot <text>" typed
// in a channel.
func (s *Server) SendAppMention(userID, channelID, text string) (Sent, error) {
	return s.sendEvent(map[string]any{"type": "app_mention", "user": userID, "channel": channelID,
		"text": "<@" + BotUserID + "> " + text})
}

// SendDirectMessage delivers a message.im event: text typed to the bot in
// its direct message channel (D...).
func (s *Server) SendDirectMessage(userID, channelID, text string) (Sent, error) {
	return s.sendEvent(map[string]any{"type": "message", "channel_type": "im", "user": userID, "channel": channelID,
		"text": text})
}

func (s *Server) sendEvent(event map[string]any) (Sent, error) {
	ts := s.newTS()
	event["ts"], event["event_ts"], event["team"] = ts, ts, TeamID
	s.mu.Lock()
	eventID := fmt.Sprintf("Ev%08d", s.nextSeq())
	now := s.opts.Clock().Unix()
	s.mu.Unlock()
	payload := map[string]any{
		"token": "unused-verification-token", "team_id": TeamID, "api_app_id": AppID,
		"type": "event_callback", "event_id": eventID, "event_time": now, "event": event,
		"authorizations":        []any{map[string]any{"team_id": TeamID, "user_id": BotUserID, "is_bot": true, "is_enterprise_install": false}},
		"is_ext_shared_channel": false, "event_context": "4-slacktest",
	}
	id, err := s.send("events_api", "", payload, 0, false)
	return Sent{EnvelopeID: id}, err
}

// newSent makes a response_url and a trigger_id for an envelope.
func (s *Server) newSent() Sent {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.opts.Clock()
	rid := fmt.Sprintf("R%08d", s.nextSeq())
	s.responseURLs[rid] = &responseURL{created: now}
	trigger := fmt.Sprintf("%d.%d.%08x", now.Unix(), s.nextSeq(), rand32(s.seq))
	s.triggers[trigger] = triggerState{issued: now}
	return Sent{ResponseID: rid, ResponseURL: s.http.URL + "/response/" + rid, TriggerID: trigger}
}

// rand32 scrambles a counter so trigger ids do not look sequential.
func rand32(n int) uint32 { return uint32(n) * 2654435761 }

// newTS makes a fresh message ts: seconds by Clock, then a counter.
func (s *Server) newTS() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.newTSLocked()
}

func (s *Server) newTSLocked() string {
	return fmt.Sprintf("%d.%06d", s.opts.Clock().Unix(), s.nextSeq()%1000000)
}

func (s *Server) userName(id string) string {
	for _, u := range s.opts.Users {
		if u.ID == id {
			return u.Name
		}
	}
	return "someone"
}

type triggerState struct {
	issued time.Time
	used   bool
}

type button struct {
	BlockID string
	Text    json.RawMessage
}

// findButton finds a button by action id in a message's blocks.
func findButton(blocks json.RawMessage, actionID string) (button, bool) {
	var bs []struct {
		BlockID   string `json:"block_id"`
		Accessory *struct {
			ActionID string          `json:"action_id"`
			Text     json.RawMessage `json:"text"`
		} `json:"accessory"`
		Elements []struct {
			ActionID string          `json:"action_id"`
			Text     json.RawMessage `json:"text"`
		} `json:"elements"`
	}
	json.Unmarshal(blocks, &bs)
	for _, b := range bs {
		if b.Accessory != nil && b.Accessory.ActionID == actionID {
			return button{b.BlockID, b.Accessory.Text}, true
		}
		for _, e := range b.Elements {
			if e.ActionID == actionID {
				return button{b.BlockID, e.Text}, true
			}
		}
	}
	return button{}, false
}

// inputElements lists a view's input blocks: block id -> action id -> type.
func inputElements(view json.RawMessage) map[string]map[string]string {
	var v struct {
		Blocks []struct {
			Type    string `json:"type"`
			BlockID string `json:"block_id"`
			Element struct {
				Type     string `json:"type"`
				ActionID string `json:"action_id"`
			} `json:"element"`
		} `json:"blocks"`
	}
	json.Unmarshal(view, &v)
	inputs := map[string]map[string]string{}
	for _, b := range v.Blocks {
		if b.Type == "input" {
			if inputs[b.BlockID] == nil {
				inputs[b.BlockID] = map[string]string{}
			}
			inputs[b.BlockID][b.Element.ActionID] = b.Element.Type
		}
	}
	return inputs
}
