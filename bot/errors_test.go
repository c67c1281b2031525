package bot

import (
	"errors"
	"net/url"
	"strings"
	"testing"
)

func TestSlackErrorsLeaveResponseURLsOut(t *testing.T) {
	secret := "https://hooks.slack.com/commands/T0/123/abcSECRETdef"
	err := &url.Error{Op: "Post", URL: secret, Err: errors.New("dial tcp: connection refused")}
	if got := slackError(err); strings.Contains(got, "SECRET") || !strings.Contains(got, "connection refused") {
		t.Errorf("slackError = %q", got)
	}
	if got := slackError(errors.New("invalid_blocks")); got != "invalid_blocks" {
		t.Errorf("slackError = %q", got)
	}
}
