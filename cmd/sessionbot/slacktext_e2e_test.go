package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// TestSlackSyntaxReachesCommandsAsPlainText sends each form Slack gives typed
// text through the real serve wiring: what commands answers shows it read
// the plain form (a mention looked up as its email, a link as its address).
func TestSlackSyntaxReachesCommandsAsPlainText(t *testing.T) {
	w := newWorld(t, "")
	w.serve(t)
	if err := w.slack.WaitConnections(1, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, text string
		want       []string
	}{
		{"a mention with the name Slack adds", `list <@U0MARC|marc> on qlik-prod`, []string{"Sessions of marc@contoso.com", `Domain\\marc`}},
		{"a mention without a name", `list <@U0MARC> on qlik-prod`, []string{"Sessions of marc@contoso.com"}},
		{"a mailto link", `list <mailto:marc@contoso.com|marc@contoso.com> on qlik-prod`, []string{"Sessions of marc@contoso.com"}},
		{"an escaped ampersand", `list Domain\a&amp;b on qlik-prod`, []string{`Sessions of Domain\\a&b`}},
		{"a channel", `list <#C0OPS|ops>`, []string{"Channels and user groups cannot be listed"}},
		{"a user group", `list <!subteam^S0LEADS|@leads>`, []string{"Channels and user groups cannot be listed"}},
		{"a name typed without picking it", `list @marc on qlik-prod`, []string{`\"@marc\" is not a person I know. Pick the person from Slack's list`}},
		{"a person Slack does not know, shown as a mention", `list <@U0NOBODY> on qlik-prod`, []string{"couldn't find the email of <@U0NOBODY>"}},
		{"a suggestion written the way it can be typed", `lsit <@U0MARC>`, []string{"Did you mean `/sessions list @U0MARC`?"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := w.command(t, oncall, tt.text)
			var blocks []json.RawMessage
			if err := json.Unmarshal(got[0].Blocks, &blocks); err != nil {
				t.Fatalf("blocks: %v", err)
			}
			// JSON as Slack received it, with Go's escaping of & < > undone.
			text := strings.NewReplacer(`\u0026`, "&", `\u003c`, "<", `\u003e`, ">").Replace(string(got[0].Blocks))
			for _, want := range tt.want {
				if !strings.Contains(text, want) {
					t.Errorf("reply lacks %s:\n%s", want, text)
				}
			}
		})
	}
}
