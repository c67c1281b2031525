package commands

import (
	"errors"
	"strings"
	"testing"
	"time"
)

var now = time.Date(2026, 11, 23, 19, 40, 0, 0, time.UTC)

func TestParseAcceptsEveryForm(t *testing.T) {
	tests := []struct {
		name string
		text string
		want Command
	}{
		{"empty text asks for help", "", Command{Verb: Help}},
		{"blank text asks for help", "   \t ", Command{Verb: Help}},
		{"help with a topic", "help list", Command{Verb: Help, Topic: "list"}},
		{"a backslash account", `list CORP\marc`, Command{Verb: List, User: UserRef{Form: Account, Directory: "CORP", Name: "marc"}}},
		{"a slash account", `list CORP/marc`, Command{Verb: List, User: UserRef{Form: Account, Directory: "CORP", Name: "marc"}}},
		{"the slash command typed in front", `/sessions list Domain\Marc`, Command{Verb: List, User: UserRef{Form: Account, Directory: "Domain", Name: "Marc"}}},
		{"verbs are case-insensitive", `LIST Domain\Marc`, Command{Verb: List, User: UserRef{Form: Account, Directory: "Domain", Name: "Marc"}}},
		{"an email", `list marc@contoso.com`, Command{Verb: List, User: UserRef{Form: Email, Email: "marc@contoso.com"}}},
		{"a mention", `list @U0123ABC`, Command{Verb: List, User: UserRef{Form: Mention, ChatID: "U0123ABC"}}},
		{"a mention's id is the chat's business", `list @marc`, Command{Verb: List, User: UserRef{Form: Mention, ChatID: "marc"}}},
		{"a bare name", `list jsmith on commvault`, Command{Verb: List, User: UserRef{Form: Bare, Name: "jsmith"}, Targets: []string{"commvault"}}},
		{"targets with commas and spaces", `list CORP\marc on qlik-prod, commvault,teams`, Command{Verb: List, User: UserRef{Form: Account, Directory: "CORP", Name: "marc"}, Targets: []string{"qlik-prod", "commvault", "teams"}}},
		{"targets joined by and", `list CORP\marc on qlik-prod and qlik-test`, Command{Verb: List, User: UserRef{Form: Account, Directory: "CORP", Name: "marc"}, Targets: []string{"qlik-prod", "qlik-test"}}},
		{"an age window", `list ken.myer@contoso.com on teams since 2d`, Command{Verb: List, User: UserRef{Form: Email, Email: "ken.myer@contoso.com"}, Targets: []string{"teams"}, Since: now.Add(-48 * time.Hour)}},
		{"a date window", `list ken.myer@contoso.com since 2026-11-20 until 2026-11-21T12:00Z on teams`, Command{Verb: List, User: UserRef{Form: Email, Email: "ken.myer@contoso.com"}, Targets: []string{"teams"}, Since: time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC), Until: time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)}},
		{"list all on one instance", `list all on qlik-prod`, Command{Verb: List, AllUsers: true, Targets: []string{"qlik-prod"}}},
		{"show a session", `show 7b8ab85e-0c85-4fcb-8e56-4ead683153fb on qlik-prod`, Command{Verb: Show, SessionID: "7b8ab85e-0c85-4fcb-8e56-4ead683153fb", Targets: []string{"qlik-prod"}}},
		{"vendors", `vendors`, Command{Verb: Vendors}},
		{"an ampersand in a user id", `list CORP\a&b`, Command{Verb: List, User: UserRef{Form: Account, Directory: "CORP", Name: "a&b"}}},
		{"hostile characters stay in the user id", `list CORP\..%2F?x=1#"q"`, Command{Verb: List, User: UserRef{Form: Account, Directory: "CORP", Name: `..%2F?x=1#"q"`}}},
		{"non-ASCII user id", `list CORP\jürgen`, Command{Verb: List, User: UserRef{Form: Account, Directory: "CORP", Name: "jürgen"}}},
		{"a request id as people type it", `approve r7k2-m9qx`, Command{Verb: Approve, RequestID: "R7K2M9QX"}},
		{"letters read as the digits they look like", `deny O1LI-ABCD reason wrong person`, Command{Verb: Deny, RequestID: "0111ABCD", Reason: "wrong person"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.text, now)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.text, err)
			}
			if got.String() != tt.want.String() || got.User != tt.want.User || got.RequestID != tt.want.RequestID || !got.Since.Equal(tt.want.Since) || !got.Until.Equal(tt.want.Until) || got.AllUsers != tt.want.AllUsers {
				t.Errorf("Parse(%q) = %+v, want %+v", tt.text, got, tt.want)
			}
		})
	}
}

func TestParseRefusesBadInputClearly(t *testing.T) {
	tests := []struct {
		name       string
		text       string
		wantInMsg  string
		suggestion string
	}{
		{"an unknown verb close to list", `lsit CORP\marc`, `don't know the command "lsit"`, `list CORP\marc`},
		{"an unknown verb far from any", `frobnicate`, `The commands are`, "help"},
		{"a user without a verb", `CORP\marc`, "start with a verb", `list CORP\marc`},
		{"list without a user", `list`, "needs a person", `list CORP\marc [on <instance>] [since 2d]`},
		{"list all without an instance", `list all`, "exactly one instance", "list all on <instance>"},
		{"list all on two instances", `list all on a,b`, "exactly one instance", "list all on <instance>"},
		{"show without an id", `show`, "needs a session id", ""},
		{"on without a target", `list CORP\marc on`, "needs an instance", ""},
		{"an empty directory", `list \marc`, "empty directory", ""},
		{"a directory of dot-dot", `list CORP\..`, "no directory or account is named", ""},
		{"a user of one dot", `logout ./marc on qlik-prod`, "no directory or account is named", ""},
		{"a broken email", `list marc@`, "not an email", ""},
		{"an unreadable time", `list a@b since someday`, `"someday" is not a time`, ""},
		{"a window on show", `show x since 2d`, "applies only to `list <user>`", ""},
		{"a stray word", `list CORP\marc please`, `don't understand "please"`, ""},
		{"10 KB of text", strings.Repeat("x", 10*1024), "10240 characters", ""},
		{"1001 characters in 2002 bytes", "list CORP\\" + strings.Repeat("ж", 991), "1001 characters", ""},
		{"a control character", "list CORP\\ma\x00rc", "control character", ""},
		{"a bidi override", "list CORP\\ma\u202erc", "control character", ""},
		{"invalid UTF-8", "list CORP\\ma\xffrc", "not valid UTF-8", ""},
		{"vendors with arguments", `vendors now`, "takes no arguments", "vendors"},
		{"a mention without an id", `list @`, `"@" is not a person`, ""},
		{"a mention of an account", `list @CORP\marc`, `"@CORP\\marc" is not a person`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(tt.text, now)
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("Parse(%q) error = %v, want a ParseError", tt.text, err)
			}
			if !strings.Contains(pe.Problem, tt.wantInMsg) {
				t.Errorf("problem = %q, want it to contain %q", pe.Problem, tt.wantInMsg)
			}
			if tt.suggestion != "" && pe.Suggestion != tt.suggestion {
				t.Errorf("suggestion = %q, want %q", pe.Suggestion, tt.suggestion)
			}
		})
	}
}

func TestCommandStringParsesBackToItself(t *testing.T) {
	for _, text := range []string{
		`list CORP\marc on qlik-prod,commvault`,
		`list marc@contoso.com on teams since 2026-11-20 until 2026-11-21T12:00Z`,
		`list all on qlik-prod`,
		`logout @U0MARC on teams reason account compromised`,
		`show 7b8ab85e-0c85-4fcb-8e56-4ead683153fb on qlik-prod`,
		`vendors`,
		`help list`,
	} {
		c, err := Parse(text, now)
		if err != nil {
			t.Fatalf("Parse(%q): %v", text, err)
		}
		if c.String() != text {
			t.Errorf("String() = %q, want %q", c.String(), text)
		}
	}
}

func FuzzParseNeverPanics(f *testing.F) {
	for _, s := range []string{`list CORP\marc on a,b since 2d`, `list @U1 on teams`, `show <x>`, `list @`, "\x00", `list all on`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := Parse(s, now)
		if err == nil && c.Verb == "" {
			t.Fatalf("Parse(%q) gave no verb and no error", s)
		}
	})
}

// The reason dialogs let a person type 500 characters, as Slack counts
// them; a reason is measured the same way, not in bytes.
func TestReasonsAreCountedInCharacters(t *testing.T) {
	tests := []struct {
		name   string
		reason string
		want   string // in the error; "" accepted
	}{
		{"500 ASCII characters", strings.Repeat("a", 500), ""},
		{"300 Cyrillic characters, 600 bytes", strings.Repeat("ж", 300), ""},
		{"500 accented characters, 1000 bytes", strings.Repeat("é", 500), ""},
		{"501 characters", strings.Repeat("a", 501), "501 characters long"},
		{"501 Cyrillic characters", strings.Repeat("ж", 501), "501 characters long"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := Command{Verb: Kill, SessionID: "7b8ab85e-0c85-4fcb-8e56-4ead683153fb", Targets: []string{"qlik-prod"}, Reason: tt.reason}
			err := Check(cmd)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("err = %v, want it to say %q", err, tt.want)
			}
		})
	}
}
