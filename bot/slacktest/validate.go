package slacktest

import (
	"encoding/json"
	"errors"
	"fmt"
)

// Limits Slack enforces on a message; a message that breaks one is
// refused whole.
const (
	MaxBlocks       = 50
	MaxTextObject   = 3000
	MaxFields       = 10
	MaxFieldText    = 2000
	MaxHeaderText   = 150
	MaxTotalText    = 13000
	MaxMessageText  = 40000
	MaxButtonValue  = 2000
	MaxActionsInRow = 25
)

var knownBlocks = map[string]bool{"section": true, "context": true, "header": true, "divider": true, "actions": true, "input": true, "image": true, "rich_text": true}

// ValidateMessage checks text and blocks as Slack does, answering with
// Slack's error code (invalid_blocks, msg_too_long, msg_blocks_too_long).
func ValidateMessage(text string, raw json.RawMessage) error {
	if len(text) > MaxMessageText {
		return errors.New("msg_too_long")
	}
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	return ValidateBlocks(raw)
}

type textObject struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

type element struct {
	Type     string      `json:"type"`
	ActionID string      `json:"action_id"`
	Value    string      `json:"value"`
	Text     *textObject `json:"text"`
}

type block struct {
	Type      string          `json:"type"`
	Text      *textObject     `json:"text"`
	Fields    []textObject    `json:"fields"`
	Elements  json.RawMessage `json:"elements"`
	Accessory *element        `json:"accessory"`
}

// ValidateBlocks checks a blocks array against Slack's limits.
func ValidateBlocks(raw json.RawMessage) error {
	var blocks []block
	if err := json.Unmarshal(raw, &blocks); err != nil {
		return fmt.Errorf("invalid_blocks_format")
	}
	if len(blocks) > MaxBlocks {
		return errors.New("invalid_blocks")
	}
	total := 0
	text := func(t *textObject, max int) error {
		if t == nil {
			return nil
		}
		if t.Type != "plain_text" && t.Type != "mrkdwn" {
			return errors.New("invalid_blocks")
		}
		if len(t.Text) > max || len(t.Text) == 0 {
			return errors.New("invalid_blocks")
		}
		total += len(t.Text)
		return nil
	}
	for _, b := range blocks {
		if !knownBlocks[b.Type] {
			return errors.New("invalid_blocks")
		}
		max := MaxTextObject
		if b.Type == "header" {
			max = MaxHeaderText
		}
		if err := text(b.Text, max); err != nil {
			return err
		}
		if len(b.Fields) > MaxFields {
			return errors.New("invalid_blocks")
		}
		for i := range b.Fields {
			if err := text(&b.Fields[i], MaxFieldText); err != nil {
				return err
			}
		}
		if b.Accessory != nil {
			if err := checkElement(*b.Accessory); err != nil {
				return err
			}
		}
		switch b.Type {
		case "context":
			var els []textObject
			if json.Unmarshal(b.Elements, &els) != nil || len(els) == 0 || len(els) > 10 {
				return errors.New("invalid_blocks")
			}
			for i := range els {
				if err := text(&els[i], MaxTextObject); err != nil {
					return err
				}
			}
		case "actions":
			var els []element
			if json.Unmarshal(b.Elements, &els) != nil || len(els) == 0 || len(els) > MaxActionsInRow {
				return errors.New("invalid_blocks")
			}
			for _, e := range els {
				if err := checkElement(e); err != nil {
					return err
				}
			}
		case "section":
			if b.Text == nil && len(b.Fields) == 0 {
				return errors.New("invalid_blocks")
			}
		}
	}
	if total > MaxTotalText {
		return errors.New("msg_blocks_too_long")
	}
	return nil
}

func checkElement(e element) error {
	if e.Type == "button" {
		if e.ActionID == "" || len(e.Value) > MaxButtonValue || e.Text == nil || len(e.Text.Text) > 75 {
			return errors.New("invalid_blocks")
		}
	}
	return nil
}
