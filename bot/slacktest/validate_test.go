package slacktest

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/slack-go/slack"
)

func blocksJSON(bs ...any) json.RawMessage {
	b, err := json.Marshal(bs)
	if err != nil {
		panic(err)
	}
	return b
}

func mrkdwnSection(text string) map[string]any {
	return map[string]any{"type": "section", "text": map[string]any{"type": "mrkdwn", "text": text}}
}

func sections(n, chars int) json.RawMessage {
	var bs []any
	for range n {
		bs = append(bs, mrkdwnSection(strings.Repeat("a", chars)))
	}
	return blocksJSON(bs...)
}

func fieldsSection(n, chars int) json.RawMessage {
	var fs []any
	for range n {
		fs = append(fs, map[string]any{"type": "mrkdwn", "text": strings.Repeat("f", chars)})
	}
	return blocksJSON(map[string]any{"type": "section", "fields": fs})
}

func header(chars int) json.RawMessage {
	return blocksJSON(map[string]any{"type": "header", "text": map[string]any{"type": "plain_text", "text": strings.Repeat("h", chars)}})
}

func buttons(bs ...map[string]any) json.RawMessage {
	var els []any
	for _, b := range bs {
		els = append(els, b)
	}
	return blocksJSON(map[string]any{"type": "actions", "elements": els})
}

func buttonJSON(actionID, value string) map[string]any {
	return map[string]any{"type": "button", "action_id": actionID, "value": value,
		"text": map[string]any{"type": "plain_text", "text": "Kill"}}
}

// slackGo marshals blocks built with slack-go's own builders, as the bot
// sends them.
func slackGo(bs ...slack.Block) json.RawMessage {
	b, err := json.Marshal(slack.Blocks{BlockSet: bs})
	if err != nil {
		panic(err)
	}
	return b
}

func TestValidateBlocksAtEachOfSlacksLimits(t *testing.T) {
	plain := func(s string) *slack.TextBlockObject {
		return slack.NewTextBlockObject(slack.PlainTextType, s, false, false)
	}
	md := func(s string) *slack.TextBlockObject {
		return slack.NewTextBlockObject(slack.MarkdownType, s, false, false)
	}
	tests := []struct {
		name     string
		blocks   json.RawMessage
		wantCode string // "" when Slack accepts the message
	}{
		{"50 blocks are accepted", sections(50, 1), ""},
		{"51 blocks are refused", sections(51, 1), "invalid_blocks"},
		{"a text of 3000 characters is accepted", sections(1, 3000), ""},
		{"a text of 3001 characters is refused", sections(1, 3001), "invalid_blocks"},
		{"3000 characters count runes, not bytes", blocksJSON(mrkdwnSection(strings.Repeat("é", 3000))), ""},
		{"a section with 10 fields is accepted", fieldsSection(10, 1), ""},
		{"a section with 11 fields is refused", fieldsSection(11, 1), "invalid_blocks"},
		{"a field of 2000 characters is accepted", fieldsSection(1, 2000), ""},
		{"a field of 2001 characters is refused", fieldsSection(1, 2001), "invalid_blocks"},
		{"a header of 150 characters is accepted", header(150), ""},
		{"a header of 151 characters is refused", header(151), "invalid_blocks"},
		{"13,000 characters of text in all are accepted", sections(5, 2600), ""},
		{"13,001 characters of text in all are refused", blocksJSON(mrkdwnSection(strings.Repeat("a", 2601)), mrkdwnSection(strings.Repeat("a", 2600)),
			mrkdwnSection(strings.Repeat("a", 2600)), mrkdwnSection(strings.Repeat("a", 2600)), mrkdwnSection(strings.Repeat("a", 2600))), "msg_blocks_too_long"},
		{"a button value of 2000 characters is accepted", buttons(buttonJSON("kill", strings.Repeat("v", 2000))), ""},
		{"a button value of 2001 characters is refused", buttons(buttonJSON("kill", strings.Repeat("v", 2001))), "invalid_blocks"},
		{"an unknown block type is refused", blocksJSON(map[string]any{"type": "carousel"}), "invalid_blocks"},
		{"a block without a type is refused", blocksJSON(map[string]any{"text": "x"}), "invalid_blocks"},
		{"an unknown element type is refused", buttons(map[string]any{"type": "slider", "action_id": "a"}), "invalid_blocks"},
		{"an empty text is refused", sections(1, 0), "invalid_blocks"},
		{"a section without text or fields is refused", blocksJSON(map[string]any{"type": "section"}), "invalid_blocks"},
		{"a header in mrkdwn is refused", blocksJSON(map[string]any{"type": "header", "text": map[string]any{"type": "mrkdwn", "text": "x"}}), "invalid_blocks"},
		{"emoji on mrkdwn is refused", blocksJSON(map[string]any{"type": "section", "text": map[string]any{"type": "mrkdwn", "text": "x", "emoji": true}}), "invalid_blocks"},
		{"a text type Slack does not know is refused", blocksJSON(map[string]any{"type": "section", "text": map[string]any{"type": "markdown", "text": "x"}}), "invalid_blocks"},
		{"a block_id used twice is refused", blocksJSON(map[string]any{"type": "divider", "block_id": "b"}, map[string]any{"type": "divider", "block_id": "b"}), "invalid_blocks"},
		{"an action_id used twice in a block is refused", buttons(buttonJSON("kill", "1"), buttonJSON("kill", "2")), "invalid_blocks"},
		{"a button style other than primary or danger is refused", buttons(map[string]any{"type": "button", "action_id": "a", "style": "red", "text": map[string]any{"type": "plain_text", "text": "x"}}), "invalid_blocks"},
		{"a button label of 76 characters is refused", buttons(map[string]any{"type": "button", "action_id": "a", "text": map[string]any{"type": "plain_text", "text": strings.Repeat("b", 76)}}), "invalid_blocks"},
		{"26 buttons in one actions block are refused", func() json.RawMessage {
			var bs []map[string]any
			for i := range 26 {
				bs = append(bs, buttonJSON(string(rune('a'+i)), ""))
			}
			return buttons(bs...)
		}(), "invalid_blocks"},
		{"a confirm dialog without deny is refused", buttons(map[string]any{"type": "button", "action_id": "a", "text": map[string]any{"type": "plain_text", "text": "x"},
			"confirm": map[string]any{"title": map[string]any{"type": "plain_text", "text": "t"}, "text": map[string]any{"type": "plain_text", "text": "t"}, "confirm": map[string]any{"type": "plain_text", "text": "ok"}}}), "invalid_blocks"},
		{"a context with 11 elements is refused", func() json.RawMessage {
			var els []any
			for range 11 {
				els = append(els, map[string]any{"type": "mrkdwn", "text": "c"})
			}
			return blocksJSON(map[string]any{"type": "context", "elements": els})
		}(), "invalid_blocks"},
		{"an input whose initial value fits its max_length is accepted", blocksJSON(map[string]any{"type": "input", "label": map[string]any{"type": "plain_text", "text": "l"},
			"element": map[string]any{"type": "plain_text_input", "action_id": "a", "max_length": 5, "initial_value": "12345"}}), ""},
		{"an input whose initial value is over its max_length is refused", blocksJSON(map[string]any{"type": "input", "label": map[string]any{"type": "plain_text", "text": "l"},
			"element": map[string]any{"type": "plain_text_input", "action_id": "a", "max_length": 5, "initial_value": "123456"}}), "invalid_blocks"},
		{"an input with min_length over max_length is refused", blocksJSON(map[string]any{"type": "input", "label": map[string]any{"type": "plain_text", "text": "l"},
			"element": map[string]any{"type": "plain_text_input", "action_id": "a", "min_length": 6, "max_length": 5}}), "invalid_blocks"},
		{"an image without alt_text is refused", blocksJSON(map[string]any{"type": "image", "image_url": "https://x/y.png"}), "invalid_blocks"},
		{"blocks that are not an array are refused", json.RawMessage(`{"type":"section"}`), "invalid_blocks_format"},
		{"slack-go's own builders pass", slackGo(
			slack.NewHeaderBlock(plain("Sessions of CORP\\marc")),
			slack.NewSectionBlock(md("*qps1*: 2 sessions"), []*slack.TextBlockObject{md("a"), md("b")}, nil),
			slack.NewDividerBlock(),
			slack.NewContextBlock("ctx", md("<!date^1700000000^{date_short_pretty} {time}|2023-11-14 22:13 UTC>")),
			slack.NewActionBlock("acts",
				slack.NewButtonBlockElement("kill", "s1", plain("Kill")).WithStyle(slack.StyleDanger).
					WithConfirm(slack.NewConfirmationBlockObject(plain("Sure?"), md("Ends the session."), plain("Kill"), plain("Cancel"))),
				slack.NewButtonBlockElement("next", "p2", plain("Next page"))),
		), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateBlocks(tt.blocks)
			var be *BlocksError
			switch {
			case tt.wantCode == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tt.wantCode == "":
			case !errors.As(err, &be):
				t.Fatalf("err = %v, want a *BlocksError %s", err, tt.wantCode)
			case be.Code != tt.wantCode || be.Reason == "":
				t.Fatalf("err = %v, want code %s with a reason", err, tt.wantCode)
			}
		})
	}
}

func TestValidateMessageRefusesTextOver40000Characters(t *testing.T) {
	if err := ValidateMessage(strings.Repeat("t", MaxMessageText), nil); err != nil {
		t.Errorf("40,000 characters refused: %v", err)
	}
	var be *BlocksError
	if err := ValidateMessage(strings.Repeat("t", MaxMessageText+1), nil); !errors.As(err, &be) || be.Code != "msg_too_long" {
		t.Errorf("40,001 characters: %v, want msg_too_long", err)
	}
}

func TestValidateViewChecksModals(t *testing.T) {
	input := slack.NewInputBlock("reason", slack.NewTextBlockObject(slack.PlainTextType, "Reason", false, false), nil,
		slack.NewPlainTextInputBlockElement(nil, "reason_text"))
	plain := func(s string) *slack.TextBlockObject {
		return slack.NewTextBlockObject(slack.PlainTextType, s, false, false)
	}
	view := func(title string, submit bool, blocks ...slack.Block) json.RawMessage {
		v := slack.ModalViewRequest{Type: slack.VTModal, Title: plain(title), Blocks: slack.Blocks{BlockSet: blocks}, CallbackID: "reason"}
		if submit {
			v.Submit = plain("Send")
		}
		b, _ := json.Marshal(v)
		return b
	}
	many := func(n int) []slack.Block {
		var bs []slack.Block
		for range n {
			bs = append(bs, slack.NewDividerBlock())
		}
		return bs
	}
	tests := []struct {
		name string
		view json.RawMessage
		ok   bool
	}{
		{"a modal with an input and a submit button is accepted", view("Why?", true, input), true},
		{"a modal with an input but no submit button is refused", view("Why?", false, input), false},
		{"a title of 24 characters is accepted", view(strings.Repeat("t", 24), false), true},
		{"a title of 25 characters is refused", view(strings.Repeat("t", 25), false), false},
		{"100 blocks are accepted in a modal", view("t", false, many(100)...), true},
		{"101 blocks are refused in a modal", view("t", false, many(101)...), false},
		{"a view that is not a modal or home is refused", json.RawMessage(`{"type":"dialog","blocks":[]}`), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateView(tt.view)
			var be *BlocksError
			if tt.ok && err != nil {
				t.Fatalf("refused: %v", err)
			}
			if !tt.ok && (!errors.As(err, &be) || be.Code != "invalid_arguments") {
				t.Fatalf("err = %v, want invalid_arguments", err)
			}
		})
	}
}

// BenchmarkValidateBlocks measures a full page: 50 sections of 250
// characters, as a long session list renders.
func BenchmarkValidateBlocks(b *testing.B) {
	page := sections(50, 250)
	for b.Loop() {
		if err := ValidateBlocks(page); err != nil {
			b.Fatal(err)
		}
	}
}
