package slacktest

import "fmt"

// SlashCommand is what a person typed.
type SlashCommand struct {
	Command   string // "/sessions"
	Text      string
	UserID    string
	ChannelID string
	// Connection picks the websocket (index); negative picks at random.
	Connection int
}

// Sent is an envelope the fake delivered.
type Sent struct {
	EnvelopeID string
	// ResponseID names the envelope's response_url for Responses.
	ResponseID string
}

// SendSlashCommand delivers a slash command envelope with a response_url of
// its own.
func (s *Server) SendSlashCommand(c SlashCommand) (Sent, error) {
	rid, rurl := s.newResponseURL()
	s.mu.Lock()
	s.nextID++
	trigger := fmt.Sprintf("trigger-%06d", s.nextID)
	s.mu.Unlock()
	payload := map[string]any{
		"token": "verification-token-unused", "team_id": "T0TEST", "team_domain": "test",
		"channel_id": c.ChannelID, "channel_name": "ops", "user_id": c.UserID, "user_name": "someone",
		"command": c.Command, "text": c.Text, "api_app_id": "A0SESSIONBOT",
		"response_url": rurl, "trigger_id": trigger, "is_enterprise_install": "false",
	}
	id, err := s.send("slash_commands", payload, connIndex(c.Connection), true)
	return Sent{EnvelopeID: id, ResponseID: rid}, err
}

func connIndex(i int) int {
	if i <= 0 {
		return -1
	}
	return i - 1
}

// BlockAction is a click on a button.
type BlockAction struct {
	UserID    string
	ChannelID string
	ActionID  string
	Value     string
	// MessageTS is the clicked message's ts (for approval messages).
	MessageTS  string
	Connection int // 1-based websocket index; 0 picks at random
}

// SendBlockAction delivers a button click with a response_url of its own.
func (s *Server) SendBlockAction(a BlockAction) (Sent, error) {
	rid, rurl := s.newResponseURL()
	payload := map[string]any{
		"type":         "block_actions",
		"user":         map[string]any{"id": a.UserID, "username": "someone", "team_id": "T0TEST"},
		"team":         map[string]any{"id": "T0TEST", "domain": "test"},
		"channel":      map[string]any{"id": a.ChannelID, "name": "ops"},
		"api_app_id":   "A0SESSIONBOT",
		"trigger_id":   "trigger-click-" + rid,
		"response_url": rurl,
		"container":    map[string]any{"type": "message", "message_ts": a.MessageTS, "channel_id": a.ChannelID},
		"message":      map[string]any{"type": "message", "ts": a.MessageTS},
		"actions": []map[string]any{{
			"type": "button", "action_id": a.ActionID, "block_id": "b", "value": a.Value,
			"text": map[string]any{"type": "plain_text", "text": "button"}, "action_ts": "1700000000.000001",
		}},
	}
	id, err := s.send("interactive", payload, connIndex(a.Connection), true)
	return Sent{EnvelopeID: id, ResponseID: rid}, err
}

// ViewSubmission is a modal's submit.
type ViewSubmission struct {
	UserID          string
	CallbackID      string
	PrivateMetadata string
	// Values are block id -> action id -> typed text.
	Values map[string]map[string]string
}

// SendViewSubmission delivers a modal submission.
func (s *Server) SendViewSubmission(v ViewSubmission) (Sent, error) {
	values := map[string]any{}
	for block, actions := range v.Values {
		m := map[string]any{}
		for action, text := range actions {
			m[action] = map[string]any{"type": "plain_text_input", "value": text}
		}
		values[block] = m
	}
	payload := map[string]any{
		"type": "view_submission",
		"user": map[string]any{"id": v.UserID},
		"team": map[string]any{"id": "T0TEST"},
		"view": map[string]any{"id": "V0VIEW", "type": "modal", "callback_id": v.CallbackID,
			"private_metadata": v.PrivateMetadata, "state": map[string]any{"values": values}},
	}
	id, err := s.send("interactive", payload, -1, true)
	return Sent{EnvelopeID: id}, err
}

// SendAppMention delivers "@sessionbot <text>" in a channel.
func (s *Server) SendAppMention(userID, channelID, text string) (Sent, error) {
	return s.sendEvent(map[string]any{"type": "app_mention", "user": userID, "channel": channelID,
		"text": "<@U0SESSIONBOT> " + text, "ts": "1700000000.000100", "event_ts": "1700000000.000100"})
}

// SendDirectMessage delivers a message typed to the bot directly.
func (s *Server) SendDirectMessage(userID, channelID, text string) (Sent, error) {
	return s.sendEvent(map[string]any{"type": "message", "channel_type": "im", "user": userID, "channel": channelID,
		"text": text, "ts": "1700000000.000200", "event_ts": "1700000000.000200"})
}

func (s *Server) sendEvent(event map[string]any) (Sent, error) {
	payload := map[string]any{"token": "unused", "team_id": "T0TEST", "api_app_id": "A0SESSIONBOT",
		"type": "event_callback", "event_id": fmt.Sprintf("Ev%d", len(event)), "event_time": 1700000000, "event": event}
	id, err := s.send("events_api", payload, -1, false)
	return Sent{EnvelopeID: id}, err
}
