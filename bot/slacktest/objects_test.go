package slacktest_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/sessionbot/sessionbot/bot/slacktest"
)

func TestObjectsVisitsEveryObjectAndStopsAtAnError(t *testing.T) {
	raw := []byte(`[{"type":"section","text":{"type":"mrkdwn","text":"a"},"accessory":{"type":"button","text":{"type":"plain_text","text":"b"}}},
		{"type":"context","elements":[{"type":"mrkdwn","text":"c"}]}]`)
	var texts []string
	if err := slacktest.Objects(raw, func(o map[string]any) error {
		if s, ok := o["text"].(string); ok {
			texts = append(texts, s)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	slices.Sort(texts)
	if !slices.Equal(texts, []string{"a", "b", "c"}) {
		t.Errorf("texts %q, want a, b and c", texts)
	}
	stop := errors.New("stop")
	visited := 0
	if err := slacktest.Objects(raw, func(map[string]any) error { visited++; return stop }); err != stop || visited != 1 {
		t.Errorf("err %v after %d objects, want stop after the first", err, visited)
	}
	if err := slacktest.Objects([]byte("{"), func(map[string]any) error { return nil }); err == nil {
		t.Error("broken JSON gave no error")
	}
}
