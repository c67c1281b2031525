// Package staticdir is a fixed user directory, standing in for Slack's
// users.info where no Slack is at hand: the demo and the tests.
package staticdir

import (
	"context"
	"maps"
	"slices"
	"strings"

	"github.com/sessionbot/sessionbot/commands"
)

// Directory maps a chat user id to the person's email address.
type Directory map[string]string

// Email gives a known id's address; any other id is not a person, and the
// answer names the ids that are.
func (d Directory) Email(_ context.Context, id string) (string, error) {
	if e, ok := d[id]; ok {
		return e, nil
	}
	known := slices.Sorted(maps.Keys(d))
	for i, k := range known {
		known[i] = "@" + k
	}
	return "", &commands.UnknownPerson{Hint: "The demo's directory knows " + strings.Join(known, ", ") + " only."}
}
