package console

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sessionbot/sessionbot/commands"
	"github.com/sessionbot/sessionbot/vendors"
)

// The console prints a vendor's words, in errors too, without the control
// characters that would move the cursor, recolour or retitle the terminal
// (PowerShell colours its errors with escape sequences).
func TestTheConsolePrintsNoControlCharactersFromErrors(t *testing.T) {
	hostile := errors.New("\x1b[31mRevoke failed\x1b[0m\x1b]0;owned\x07\r\u009b2J: " + vendors.ErrUnavailable.Error())
	for name, r := range map[string]commands.Reply{
		"list":    {Command: commands.Command{Verb: commands.List, AllUsers: true}, Groups: []commands.Group{{Vendor: vendors.Skype, Instance: "skype", Err: hostile}}},
		"vendors": {Command: commands.Command{Verb: commands.Vendors}, Instances: []commands.InstanceStatus{{Name: "skype", Type: vendors.Skype, Err: hostile}}},
		"problem": {Command: commands.Command{Verb: commands.Kill}, Problem: &commands.Problem{Message: hostile.Error()}},
	} {
		out := RenderText(r, time.UTC)
		if !strings.Contains(out, "Revoke failed") {
			t.Fatalf("%s: the error is not shown:\n%s", name, out)
		}
		if i := strings.IndexFunc(out, func(r rune) bool { return r != '\n' && (r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0)) }); i >= 0 {
			t.Errorf("%s: a control character %q reaches the terminal:\n%q", name, out[i:i+1], out)
		}
	}
}
