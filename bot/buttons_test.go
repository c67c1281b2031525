package bot

import (
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/sessionbot/sessionbot/commands"
	"github.com/sessionbot/sessionbot/vendors"
)

// checkRoundTrip encodes a kill or logout as a button value and decodes it:
// the command must come back the same, or be refused, never another.
func checkRoundTrip(t *testing.T, cmd commands.Command, key string) (ok bool) {
	t.Helper()
	value, ok := encodeAction(cmd, key)
	if !ok {
		return false
	}
	if n := utf8.RuneCountInString(value); n > maxButtonValue {
		t.Fatalf("value of %d characters", n)
	}
	got, gotKey, err := decodeAction(value)
	if err != nil {
		return false
	}
	if !reflect.DeepEqual(got, cmd) || gotKey != key {
		t.Fatalf("button for %#v (key %q) came back as %#v (key %q)", cmd, key, got, gotKey)
	}
	return true
}

func TestButtonValuesCarryVendorValuesExactly(t *testing.T) {
	tests := []struct {
		name string
		sess vendors.Session
	}{
		{"a Commvault user with a space", vendors.Session{ID: "EMC0B1C2D3E", User: vendors.Identity{Directory: "CORP", ID: "John Smith"}}},
		{"a session id holding a reason clause", vendors.Session{ID: "abc reason x on other", User: vendors.Identity{Directory: "CORP", ID: "marc"}}},
		{"markup and ampersands", vendors.Session{ID: "<!channel>&amp;", User: vendors.Identity{Directory: "CORP", ID: "a&b<c> <@U123>"}}},
		{"a user clause in the id", vendors.Session{ID: "s1 user CORP\\eve", User: vendors.Identity{ID: "marc@contoso.com"}}},
		{"a Teams id with slashes", vendors.Session{ID: "2f1a/2f1b", User: vendors.Identity{ID: "marc@contoso.com"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !checkRoundTrip(t, killCommand("qlik-prod", tt.sess), "") {
				t.Fatalf("refused a value that can be carried exactly")
			}
		})
	}
}

func TestButtonValuesThatCannotComeBackTheSameAreRefused(t *testing.T) {
	for _, value := range []string{
		``, `garbage`, `{}`, `{"v":2,"verb":"kill","i":"q","s":"x"}`, // unknown version
		`{"v":1,"verb":"approve","i":"q","s":"x"}`,              // not a kill or logout
		`{"v":1,"verb":"kill","i":"q,r","s":"x"}`,               // two instances
		`{"v":1,"verb":"kill","i":"q","s":""}`,                  // no session
		`{"v":1,"verb":"kill","i":"q","s":"x","u":"a/b\\c"}`,    // reads back as another person
		`{"v":1,"verb":"kill","i":"q","s":"x\u0000"}`,           // a control character
		`{"v":1,"verb":"kill","i":"q","s":"x","extra":1}`,       // a field this version does not know
		`{"v":1,"verb":"kill","i":"q","s":"x"} {"v":1}`,         // two values
		`{"v":1,"verb":"logout","i":"q","s":"x","u":"CORP\\m"}`, // a logout names no session
	} {
		if cmd, _, err := decodeAction(value); err == nil {
			t.Errorf("%s was accepted as %#v", value, cmd)
		}
	}
}

func FuzzButtonValueRoundTrips(f *testing.F) {
	f.Add("qlik-prod", "7b8ab85e-0c85-4fcb-8e56-4ead683153fb", "CORP", "John Smith", "stuck", "K1", false)
	f.Add("commvault", "x reason y", "", "a\\b", "", "", true)
	f.Add("teams", "<!channel>", "", "marc@contoso.com", "&lt;", "", false)
	f.Fuzz(func(t *testing.T, instance, session, dir, user, reason, key string, logout bool) {
		cmd := killCommand(instance, vendors.Session{ID: session, User: vendors.Identity{Directory: dir, ID: user}})
		cmd.Reason = reason
		if logout {
			cmd.Verb, cmd.SessionID = commands.Logout, ""
		}
		checkRoundTrip(t, cmd, key)
		// Whatever a value holds, what decodes passes the typed checks.
		if got, _, err := decodeAction(session); err == nil {
			if err := commands.Check(got); err != nil {
				t.Fatalf("%q decoded to %#v, which the checks refuse: %v", session, got, err)
			}
		}
	})
}

func TestTheUnderstoodCommandFitsItsEditor(t *testing.T) {
	long := strings.Repeat("ü", commands.MaxCommandLength+500)
	view := editModal(long, "{}")
	if err := validate(built{name: "edit", view: &view}); err != nil {
		t.Fatal(err)
	}
}
