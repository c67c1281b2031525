package vendors

import (
	"fmt"
	"strings"
	"unicode"
)

// CheckInput refuses what no vendor may be sent as one value (a user
// name, a session id): nothing, more than max bytes, or a control
// character, which could split a header, a path or a command line. what
// names the value in the error.
func CheckInput(what, s string, max int) error {
	switch {
	case strings.TrimSpace(s) == "":
		return fmt.Errorf("no %s given: %w", what, ErrInvalidInput)
	case len(s) > max:
		return fmt.Errorf("%s is longer than %d bytes: %w", what, max, ErrInvalidInput)
	case strings.ContainsFunc(s, unicode.IsControl):
		return fmt.Errorf("%s contains a control character: %w", what, ErrInvalidInput)
	}
	return nil
}
