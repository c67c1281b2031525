package staticdir_test

import (
	"context"
	"testing"

	"github.com/sessionbot/sessionbot/commands"
	"github.com/sessionbot/sessionbot/internal/staticdir"
)

var _ commands.Directory = staticdir.Directory{}

func TestEmail(t *testing.T) {
	d := staticdir.Directory{"U0MARC": "marc@contoso.com"}
	tests := []struct {
		name, id, want, wantErr string
	}{
		{"a known id gives its address", "U0MARC", "marc@contoso.com", ""},
		{"an unknown id is not a person, with the ids that are", "U0NOBODY", "", "not a person: The demo's directory knows @U0MARC only."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := d.Email(context.Background(), tt.id)
			if got != tt.want || (err == nil) != (tt.wantErr == "") || (err != nil && err.Error() != tt.wantErr) {
				t.Fatalf("Email(%q) = %q, %v; want %q, %q", tt.id, got, err, tt.want, tt.wantErr)
			}
		})
	}
}
