package bot

import (
	"bytes"
	"encoding/json"
	"errors"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/sessionbot/sessionbot/commands"
	"github.com/sessionbot/sessionbot/vendors"
)

// maxButtonValue is Slack's limit on a button's value, in characters.
const maxButtonValue = 2000

// errOldButton answers a click on a button whose value this version cannot
// read (posted by an older version, or altered on the way).
var errOldButton = errors.New("this button is from an older version of the bot, or was altered: run the command again")

// buttonCommand reads the typed command a button carries (a page's, an
// understood request's). It is commands' plain text, never un-escaped
// again; only buttons posted when commands wrote a person as Slack's
// <@U123> are read with that person as @U123.
func buttonCommand(s string) string { return oldMention.ReplaceAllString(s, "@$1") }

var oldMention = regexp.MustCompile(`<@([UW][A-Z0-9]{2,20})>`)

// actionValue is what Kill and Confirm buttons carry: the command's data,
// not text to parse again, so no vendor value (a user "CORP\John Smith", a
// session id holding " reason x") can change what the click asks for.
// Decoding runs the same checks as typed text.
type actionValue struct {
	Version  int    `json:"v"`
	Verb     string `json:"verb"`
	Instance string `json:"i"`
	Session  string `json:"s,omitempty"`
	// User is the person as typed (DIR\user, user@domain, a bare name).
	User   string `json:"u,omitempty"`
	Reason string `json:"r,omitempty"`
	// Key identifies the proposal a Confirm button submits, so a repeated
	// submission can be recognised.
	Key string `json:"k,omitempty"`
}

const actionValueVersion = 1

// encodeAction writes a kill or logout as a button value; ok is false when
// it cannot be carried (not one instance, or over Slack's limit).
func encodeAction(cmd commands.Command, key string) (value string, ok bool) {
	if !cmd.Verb.Destructive() || len(cmd.Targets) != 1 || commands.Check(cmd) != nil || !utf8.ValidString(key) || len(key) > 100 {
		// What the checks refuse would be refused on the click.
		return "", false
	}
	v := actionValue{Version: actionValueVersion, Verb: string(cmd.Verb), Instance: cmd.Targets[0],
		Session: cmd.SessionID, Reason: cmd.Reason, Key: key}
	if cmd.User.Form != 0 {
		v.User = cmd.User.String()
	}
	s, err := marshal(v)
	if err != nil || utf8.RuneCountInString(s) > maxButtonValue {
		return "", false
	}
	return s, true
}

// decodeAction reads a button value back into the command it was made
// from, or refuses it: it never yields a different command.
func decodeAction(value string) (commands.Command, string, error) {
	var v actionValue
	dec := json.NewDecoder(strings.NewReader(value))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil || dec.More() || v.Version != actionValueVersion {
		return commands.Command{}, "", errOldButton
	}
	cmd := commands.Command{Verb: commands.Verb(v.Verb), SessionID: v.Session, Targets: []string{v.Instance}, Reason: v.Reason}
	if v.User != "" {
		user := v.User
		if strings.HasPrefix(user, "<@") {
			// Posted when buttons carried Slack's mention syntax.
			user = buttonCommand(user)
		}
		u, err := commands.ParseUser(user)
		if err != nil {
			return commands.Command{}, "", err
		}
		if u.String() != user {
			return commands.Command{}, "", errOldButton
		}
		cmd.User = u
	}
	if err := commands.Check(cmd); err != nil {
		return commands.Command{}, "", err
	}
	return cmd, v.Key, nil
}

// killCommand is what a Kill button beside a listed session asks for.
func killCommand(instance string, s vendors.Session) commands.Command {
	return commands.Command{Verb: commands.Kill, SessionID: s.ID, Targets: []string{instance}, User: userRef(s.User)}
}

// userRef writes a vendor's identity as a person is typed.
func userRef(id vendors.Identity) commands.UserRef {
	switch {
	case id.Directory != "":
		return commands.UserRef{Form: commands.Account, Directory: id.Directory, Name: id.ID}
	case strings.Contains(id.ID, "@"):
		return commands.UserRef{Form: commands.Email, Email: id.ID}
	case id.ID == "":
		return commands.UserRef{}
	}
	return commands.UserRef{Form: commands.Bare, Name: id.ID}
}

// marshal is json.Marshal without HTML escaping: "<" stays one character,
// not six, within Slack's 2000.
func marshal(v any) (string, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "", err
	}
	return strings.TrimSuffix(b.String(), "\n"), nil
}
