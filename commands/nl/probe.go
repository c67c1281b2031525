package nl

import (
	"context"
	"time"
)

// Probe asks the model one short question, the way a real request is asked
// (same model, tool schema and limits), and reports whether it answered.
// What it answered does not matter: a refusal of the question still proves
// the endpoint, the key and the model name. The error is a *Refusal that
// says what went wrong without the key.
func (t *Translator) Probe(ctx context.Context) error {
	schema, err := toolSchema(nil)
	if err != nil {
		return refuse(err, "the command schema could not be built")
	}
	ctx, cancel := context.WithTimeout(ctx, t.cfg.Timeout)
	defer cancel()
	req := Request{Text: "help", Now: t.now(), TimeZone: time.UTC}
	if _, err := t.client.CreateChatCompletion(ctx, t.chatRequest(req, schema)); err != nil {
		return t.modelFailure(ctx, err)
	}
	return nil
}
