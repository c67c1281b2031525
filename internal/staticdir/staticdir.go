// Package staticdir is a fixed user directory, standing in for Slack's
// users.info where no Slack is at hand: the demo and the tests.
package staticdir

import (
	"context"
	"errors"
)

// Directory maps a chat user id to the person's email address.
type Directory map[string]string

// Email answers as users.info does for an id it does not know.
func (d Directory) Email(_ context.Context, id string) (string, error) {
	e, ok := d[id]
	if !ok {
		return "", errors.New("users_not_found")
	}
	return e, nil
}
