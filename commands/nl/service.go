package nl

import (
	"context"
	"errors"
	"time"

	"github.com/sessionbot/sessionbot/commands"
)

// ForService lets commands.Service use the translator (Config.Translator).
// The service parses the typed text again and asks for confirmation of
// anything destructive, as it does for every translator.
type ForService struct {
	Translator *Translator
	Instances  []InstanceInfo
	// TimeZone finds the requester's time zone (from the chat's directory); nil,
	// or a nil answer, means UTC.
	TimeZone func(ctx context.Context, chatID string) *time.Location
}

var _ commands.Translator = ForService{}

// Translate implements commands.Translator. A refusal comes back as a
// *commands.Refusal with the same reason and closest form; its cause was
// logged by the Translator.
func (f ForService) Translate(ctx context.Context, text string, caller commands.Caller, now time.Time) (string, error) {
	req := Request{Text: text, Instances: f.Instances, Now: now, RequesterID: caller.ChatID}
	if f.TimeZone != nil {
		req.TimeZone = f.TimeZone(ctx, caller.ChatID)
	}
	res, err := f.Translator.Translate(ctx, req)
	if err != nil {
		var r *Refusal
		if errors.As(err, &r) {
			return "", &commands.Refusal{Reason: r.Reason, Closest: r.Closest}
		}
		return "", err
	}
	return res.Typed, nil
}
