package commvault

import (
	"encoding/base64"
	"log/slog"
	"strings"
	"testing"

	"github.com/sessionbot/sessionbot/vendors"
)

func TestSecretsEchoedByTheServerAreRedacted(t *testing.T) {
	const password, token = "s3cret-Pass", "QSDK 0123456789abcdef"
	b64 := base64.StdEncoding.EncodeToString([]byte(password))
	in, err := New(Config{Name: "cv", URL: "https://cs/webconsole/api", Username: "bot", Password: password}, vendors.Env{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		err  error
	}{
		{"a login refusal quoting the password", in.refusal(&apiError{code: 5, message: "password " + password + " is wrong"})},
		{"a login refusal quoting the base64", in.refusal(&apiError{code: 5, message: "password " + b64 + " is wrong"})},
		{"a 500 quoting the token", in.statusError(answer{status: 500, body: []byte("bad header Authtoken: " + token)}, token)},
		{"an errList quoting the token", in.statusError(answer{status: 400, body: []byte(`{"errorCode":2,"errorMessage":"token ` + token + ` refused"}`)}, token)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text := tt.err.Error()
			for _, secret := range []string{password, b64, token} {
				if strings.Contains(text, secret) {
					t.Errorf("error quotes a secret: %s", text)
				}
			}
			if !strings.Contains(text, "[redacted]") {
				t.Errorf("nothing was redacted, so the test proves nothing: %s", text)
			}
		})
	}
}

// The password is taken out of a refused login's words before they are
// shortened: shortening joins runs of spaces and cuts at a limit, and a
// changed or cut password would no longer be found.
func TestARefusalQuotingThePasswordIsRedactedBeforeItIsShortened(t *testing.T) {
	tests := []struct{ name, password, message string }{
		{"a password with a run of spaces", "two  spaces-Pass", "password two  spaces-Pass is wrong"},
		{"a password at the quote limit", "cut-at-the-limit-Pass", strings.Repeat("x", 270) + " cut-at-the-limit-Pass is wrong"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, err := New(Config{Name: "cv", URL: "https://cs/webconsole/api", Username: "bot", Password: tt.password}, vendors.Env{Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				t.Fatal(err)
			}
			text := in.refusal(&apiError{code: 5, message: tt.message}).Error()
			// Any 8 characters of the password, spaces joined or not.
			squeezed := strings.Join(strings.Fields(tt.password), " ")
			for _, p := range []string{tt.password, squeezed} {
				for i := 0; i+8 <= len(p); i++ {
					if strings.Contains(text, p[i:i+8]) {
						t.Fatalf("error quotes part of the password (%q): %s", p[i:i+8], text)
					}
				}
			}
		})
	}
}
