package slacktest

import (
	"encoding/json"
	"fmt"
	"unicode/utf8"
)

// Limits Slack enforces on a message (characters, not bytes). A message
// that breaks one is refused whole.
const (
	MaxBlocks        = 50    // per message
	MaxViewBlocks    = 100   // per modal or App Home
	MaxTextObject    = 3000  // any text object
	MaxFields        = 10    // per section
	MaxFieldText     = 2000  // per section field
	MaxHeaderText    = 150   // header block
	MaxTotalText     = 13000 // all text of a message's blocks
	MaxMessageText   = 40000 // a message's top-level text
	MaxButtonText    = 75
	MaxButtonValue   = 2000
	MaxActionID      = 255 // also block_id
	MaxActions       = 25  // elements of an actions block
	MaxContextItems  = 10
	MaxViewTitle     = 24 // also submit and close
	MaxPrivateMeta   = 3000
	MaxConfirmTitle  = 100
	MaxConfirmText   = 300
	MaxConfirmButton = 30
)

// BlocksError is Slack refusing a message or a view.
type BlocksError struct {
	// Code is the error Slack answers: invalid_blocks,
	// invalid_blocks_format, msg_blocks_too_long, msg_too_long or (views)
	// invalid_arguments.
	Code string
	// Reason says what to fix.
	Reason string
}

func (e *BlocksError) Error() string { return e.Code + ": " + e.Reason }

func refuse(code, format string, args ...any) error {
	return &BlocksError{Code: code, Reason: fmt.Sprintf(format, args...)}
}

// ValidateMessage checks a message's text and blocks as chat.postMessage,
// chat.update and response_url do.
func ValidateMessage(text string, blocks json.RawMessage) error {
	if n := utf8.RuneCountInString(text); n > MaxMessageText {
		return refuse("msg_too_long", "text has %d characters, Slack allows %d", n, MaxMessageText)
	}
	if isEmptyJSON(blocks) {
		return nil
	}
	return ValidateBlocks(blocks)
}

// ValidateBlocks checks a message's blocks array against Slack's limits and
// the Block Kit shapes this fake knows; it returns a *BlocksError.
func ValidateBlocks(raw json.RawMessage) error {
	v := validator{blockIDs: map[string]bool{}}
	if err := v.blocks(raw, MaxBlocks); err != nil {
		return err
	}
	if v.total > MaxTotalText {
		return refuse("msg_blocks_too_long", "the blocks hold %d characters of text, Slack refuses more than about %d", v.total, MaxTotalText)
	}
	return nil
}

// ValidateView checks a modal as views.open and views.update do.
func ValidateView(raw json.RawMessage) error {
	var view struct {
		Type            string          `json:"type"`
		Title           json.RawMessage `json:"title"`
		Submit          json.RawMessage `json:"submit"`
		Close           json.RawMessage `json:"close"`
		Blocks          json.RawMessage `json:"blocks"`
		CallbackID      string          `json:"callback_id"`
		ExternalID      string          `json:"external_id"`
		PrivateMetadata string          `json:"private_metadata"`
	}
	if err := json.Unmarshal(raw, &view); err != nil {
		return refuse("invalid_arguments", "view is not a JSON object: %v", err)
	}
	v := validator{blockIDs: map[string]bool{}}
	var err error
	switch view.Type {
	case "modal":
		err = v.text("view title", view.Title, MaxViewTitle, true)
		if err == nil && view.Submit != nil {
			err = v.text("view submit", view.Submit, MaxViewTitle, true)
		}
		if err == nil && view.Close != nil {
			err = v.text("view close", view.Close, MaxViewTitle, true)
		}
	case "home":
	default:
		err = refuse("invalid_blocks", "view type %q, want modal or home", view.Type)
	}
	if err == nil {
		err = v.blocks(view.Blocks, MaxViewBlocks)
	}
	switch {
	case err != nil:
	case v.inputs > 0 && view.Type == "modal" && view.Submit == nil:
		err = refuse("invalid_blocks", "a modal with input blocks needs a submit button")
	case utf8.RuneCountInString(view.PrivateMetadata) > MaxPrivateMeta:
		err = refuse("invalid_blocks", "private_metadata has %d characters, Slack allows %d", utf8.RuneCountInString(view.PrivateMetadata), MaxPrivateMeta)
	case len(view.CallbackID) > MaxActionID || len(view.ExternalID) > MaxActionID:
		err = refuse("invalid_blocks", "callback_id and external_id allow %d characters", MaxActionID)
	}
	if be, ok := err.(*BlocksError); ok {
		// views.* answer invalid_arguments, with the reason in
		// response_metadata.
		be.Code = "invalid_arguments"
	}
	return err
}

// validator walks blocks, counting text and block ids.
type validator struct {
	total    int
	inputs   int
	blockIDs map[string]bool
}

type rawBlock struct {
	Type      string            `json:"type"`
	BlockID   string            `json:"block_id"`
	Text      json.RawMessage   `json:"text"`
	Fields    []json.RawMessage `json:"fields"`
	Accessory json.RawMessage   `json:"accessory"`
	Elements  []json.RawMessage `json:"elements"`
	Element   json.RawMessage   `json:"element"`
	Label     json.RawMessage   `json:"label"`
	Hint      json.RawMessage   `json:"hint"`
	Title     json.RawMessage   `json:"title"`
	ImageURL  string            `json:"image_url"`
	AltText   *string           `json:"alt_text"`
}

func (v *validator) blocks(raw json.RawMessage, max int) error {
	var blocks []json.RawMessage
	if err := json.Unmarshal(raw, &blocks); err != nil {
		return refuse("invalid_blocks_format", "blocks must be a JSON array of block objects: %v", err)
	}
	if len(blocks) > max {
		return refuse("invalid_blocks", "%d blocks, Slack allows at most %d", len(blocks), max)
	}
	for i, b := range blocks {
		if err := v.block(i, b); err != nil {
			return err
		}
	}
	return nil
}

func (v *validator) block(i int, raw json.RawMessage) error {
	var b rawBlock
	if err := json.Unmarshal(raw, &b); err != nil {
		return refuse("invalid_blocks_format", "block %d is not a block object: %v", i, err)
	}
	where := fmt.Sprintf("block %d (%s)", i, b.Type)
	if b.BlockID != "" {
		if len(b.BlockID) > MaxActionID {
			return refuse("invalid_blocks", "%s: block_id longer than %d characters", where, MaxActionID)
		}
		if v.blockIDs[b.BlockID] {
			return refuse("invalid_blocks", "%s: block_id %q is used twice", where, b.BlockID)
		}
		v.blockIDs[b.BlockID] = true
	}
	switch b.Type {
	case "section":
		return v.section(where, b)
	case "header":
		return v.text(where+" text", b.Text, MaxHeaderText, true)
	case "divider":
		return nil
	case "context":
		if len(b.Elements) == 0 || len(b.Elements) > MaxContextItems {
			return refuse("invalid_blocks", "%s: %d elements, Slack wants 1 to %d", where, len(b.Elements), MaxContextItems)
		}
		for j, e := range b.Elements {
			var kind struct{ Type string }
			json.Unmarshal(e, &kind)
			item := fmt.Sprintf("%s element %d", where, j)
			var err error
			if kind.Type == "image" {
				err = v.element(item, e, map[string]bool{})
			} else {
				err = v.text(item, e, MaxTextObject, false)
			}
			if err != nil {
				return err
			}
		}
		return nil
	case "actions":
		if len(b.Elements) == 0 || len(b.Elements) > MaxActions {
			return refuse("invalid_blocks", "%s: %d elements, Slack wants 1 to %d", where, len(b.Elements), MaxActions)
		}
		actionIDs := map[string]bool{}
		for j, e := range b.Elements {
			if err := v.element(fmt.Sprintf("%s element %d", where, j), e, actionIDs); err != nil {
				return err
			}
		}
		return nil
	case "image":
		return v.image(where, b.ImageURL, b.AltText, b.Title)
	case "input":
		v.inputs++
		if err := v.text(where+" label", b.Label, 2000, true); err != nil {
			return err
		}
		if b.Hint != nil {
			if err := v.text(where+" hint", b.Hint, 2000, true); err != nil {
				return err
			}
		}
		if b.Element == nil {
			return refuse("invalid_blocks", "%s: an input block needs an element", where)
		}
		return v.element(where+" element", b.Element, map[string]bool{})
	case "rich_text":
		if len(b.Elements) == 0 {
			return refuse("invalid_blocks", "%s: a rich_text block needs elements", where)
		}
		return nil
	case "":
		return refuse("invalid_blocks", "block %d has no type", i)
	}
	return refuse("invalid_blocks", "%s: unknown block type %q", where, b.Type)
}

func (v *validator) section(where string, b rawBlock) error {
	if b.Text == nil && len(b.Fields) == 0 {
		return refuse("invalid_blocks", "%s: a section needs text or fields", where)
	}
	if b.Text != nil {
		if err := v.text(where+" text", b.Text, MaxTextObject, false); err != nil {
			return err
		}
	}
	if len(b.Fields) > MaxFields {
		return refuse("invalid_blocks", "%s: %d fields, Slack allows at most %d", where, len(b.Fields), MaxFields)
	}
	for j, f := range b.Fields {
		if err := v.text(fmt.Sprintf("%s field %d", where, j), f, MaxFieldText, false); err != nil {
			return err
		}
	}
	if b.Accessory != nil {
		return v.element(where+" accessory", b.Accessory, map[string]bool{})
	}
	return nil
}

// text checks a text object: plain_text or mrkdwn, not empty, at most max
// characters, emoji only on plain_text.
func (v *validator) text(where string, raw json.RawMessage, max int, plainOnly bool) error {
	var t struct {
		Type     string  `json:"type"`
		Text     *string `json:"text"`
		Emoji    *bool   `json:"emoji"`
		Verbatim *bool   `json:"verbatim"`
	}
	if raw == nil {
		return refuse("invalid_blocks", "%s is missing", where)
	}
	if err := json.Unmarshal(raw, &t); err != nil {
		return refuse("invalid_blocks", "%s is not a text object: %v", where, err)
	}
	switch {
	case t.Type != "plain_text" && t.Type != "mrkdwn":
		return refuse("invalid_blocks", "%s: text type %q, want plain_text or mrkdwn", where, t.Type)
	case plainOnly && t.Type != "plain_text":
		return refuse("invalid_blocks", "%s must be plain_text", where)
	case t.Type == "mrkdwn" && t.Emoji != nil:
		return refuse("invalid_blocks", "%s: emoji is only allowed on plain_text", where)
	case t.Type == "plain_text" && t.Verbatim != nil:
		return refuse("invalid_blocks", "%s: verbatim is only allowed on mrkdwn", where)
	case t.Text == nil || *t.Text == "":
		return refuse("invalid_blocks", "%s is empty", where)
	}
	n := utf8.RuneCountInString(*t.Text)
	if n > max {
		return refuse("invalid_blocks", "%s has %d characters, Slack allows %d", where, n, max)
	}
	v.total += n
	return nil
}

func (v *validator) image(where, url string, alt *string, title json.RawMessage) error {
	switch {
	case url == "" || len(url) > 3000:
		return refuse("invalid_blocks", "%s: image_url must be 1 to 3000 characters", where)
	case alt == nil || *alt == "" || utf8.RuneCountInString(*alt) > 2000:
		return refuse("invalid_blocks", "%s: alt_text must be 1 to 2000 characters", where)
	}
	if title != nil {
		return v.text(where+" title", title, 2000, true)
	}
	return nil
}

// Element types Slack knows besides buttons and images; only their
// action_id and placeholder are checked.
var otherElements = map[string]bool{
	"static_select": true, "external_select": true, "users_select": true, "conversations_select": true,
	"channels_select": true, "multi_static_select": true, "multi_external_select": true, "multi_users_select": true,
	"multi_conversations_select": true, "multi_channels_select": true, "overflow": true, "datepicker": true,
	"timepicker": true, "datetimepicker": true, "checkboxes": true, "radio_buttons": true, "plain_text_input": true,
	"email_text_input": true, "url_text_input": true, "number_input": true, "rich_text_input": true,
}

// element checks an interactive element; actionIDs collects the action
// ids of its block, which must differ.
func (v *validator) element(where string, raw json.RawMessage, actionIDs map[string]bool) error {
	var e struct {
		Type        string          `json:"type"`
		ActionID    string          `json:"action_id"`
		Text        json.RawMessage `json:"text"`
		Value       string          `json:"value"`
		URL         string          `json:"url"`
		Style       string          `json:"style"`
		Confirm     json.RawMessage `json:"confirm"`
		Placeholder json.RawMessage `json:"placeholder"`
		ImageURL    string          `json:"image_url"`
		AltText     *string         `json:"alt_text"`
	}
	if err := json.Unmarshal(raw, &e); err != nil {
		return refuse("invalid_blocks", "%s is not an element object: %v", where, err)
	}
	where = fmt.Sprintf("%s (%s)", where, e.Type)
	if len(e.ActionID) > MaxActionID {
		return refuse("invalid_blocks", "%s: action_id longer than %d characters", where, MaxActionID)
	}
	if e.ActionID != "" {
		if actionIDs[e.ActionID] {
			return refuse("invalid_blocks", "%s: action_id %q is used twice in the block", where, e.ActionID)
		}
		actionIDs[e.ActionID] = true
	}
	switch {
	case e.Type == "button":
		if err := v.text(where+" text", e.Text, MaxButtonText, true); err != nil {
			return err
		}
		switch {
		case utf8.RuneCountInString(e.Value) > MaxButtonValue:
			return refuse("invalid_blocks", "%s: value has %d characters, Slack allows %d", where, utf8.RuneCountInString(e.Value), MaxButtonValue)
		case len(e.URL) > 3000:
			return refuse("invalid_blocks", "%s: url longer than 3000 characters", where)
		case e.Style != "" && e.Style != "primary" && e.Style != "danger":
			return refuse("invalid_blocks", "%s: style %q, want primary or danger", where, e.Style)
		}
		if e.Confirm != nil {
			return v.confirm(where+" confirm", e.Confirm)
		}
		return nil
	case e.Type == "image":
		return v.image(where, e.ImageURL, e.AltText, nil)
	case e.Type == "plain_text_input":
		if err := textInput(where, raw); err != nil {
			return err
		}
		if e.Placeholder != nil {
			return v.text(where+" placeholder", e.Placeholder, 150, true)
		}
		return nil
	case otherElements[e.Type]:
		if e.Placeholder != nil {
			if err := v.text(where+" placeholder", e.Placeholder, 150, true); err != nil {
				return err
			}
		}
		if e.Confirm != nil {
			return v.confirm(where+" confirm", e.Confirm)
		}
		return nil
	}
	return refuse("invalid_blocks", "%s: unknown element type %q", where, e.Type)
}

// confirm checks a confirmation dialog: all four texts are required.
func (v *validator) confirm(where string, raw json.RawMessage) error {
	var c struct {
		Title   json.RawMessage `json:"title"`
		Text    json.RawMessage `json:"text"`
		Confirm json.RawMessage `json:"confirm"`
		Deny    json.RawMessage `json:"deny"`
		Style   string          `json:"style"`
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		return refuse("invalid_blocks", "%s is not a confirm object: %v", where, err)
	}
	if c.Style != "" && c.Style != "primary" && c.Style != "danger" {
		return refuse("invalid_blocks", "%s: style %q, want primary or danger", where, c.Style)
	}
	for _, part := range []struct {
		name  string
		raw   json.RawMessage
		max   int
		plain bool
	}{
		{"title", c.Title, MaxConfirmTitle, true},
		{"text", c.Text, MaxConfirmText, false},
		{"confirm", c.Confirm, MaxConfirmButton, true},
		{"deny", c.Deny, MaxConfirmButton, true},
	} {
		if err := v.text(where+" "+part.name, part.raw, part.max, part.plain); err != nil {
			return err
		}
	}
	return nil
}

// textInput checks a plain_text_input's lengths: Slack refuses a view whose
// initial value is longer than the input allows.
func textInput(where string, raw json.RawMessage) error {
	var in struct {
		InitialValue string `json:"initial_value"`
		MinLength    int    `json:"min_length"`
		MaxLength    int    `json:"max_length"`
	}
	if err := json.Unmarshal(raw, &in); err != nil {
		return refuse("invalid_blocks", "%s is not an input element: %v", where, err)
	}
	max := in.MaxLength
	if max == 0 {
		max = 3000
	}
	n := utf8.RuneCountInString(in.InitialValue)
	switch {
	case in.MaxLength < 0 || in.MaxLength > 3000 || in.MinLength < 0 || in.MinLength > 3000:
		return refuse("invalid_blocks", "%s: min_length and max_length must be 0 to 3000", where)
	case in.MaxLength > 0 && in.MinLength > in.MaxLength:
		return refuse("invalid_blocks", "%s: min_length %d is over max_length %d", where, in.MinLength, in.MaxLength)
	case n > max:
		return refuse("invalid_blocks", "%s: initial_value has %d characters, max_length is %d", where, n, max)
	}
	return nil
}
