package microsoft

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sessionbot/sessionbot/internal/testkit"
	"github.com/sessionbot/sessionbot/vendors"
)

var now = time.Date(2026, 11, 23, 19, 40, 0, 0, time.UTC)

func TestCheckWindow(t *testing.T) {
	tests := []struct {
		name    string
		in      vendors.Window
		want    vendors.Window
		wantErr string
	}{
		{
			name: "no window means the last 24 hours",
			want: vendors.Window{Since: now.Add(-24 * time.Hour), Until: now},
		},
		{
			name: "a since alone runs until now",
			in:   vendors.Window{Since: now.Add(-72 * time.Hour)},
			want: vendors.Window{Since: now.Add(-72 * time.Hour), Until: now},
		},
		{
			name: "an until alone covers the 24 hours before it",
			in:   vendors.Window{Until: now.Add(-48 * time.Hour)},
			want: vendors.Window{Since: now.Add(-72 * time.Hour), Until: now.Add(-48 * time.Hour)},
		},
		{
			name: "exactly 30 days back is allowed",
			in:   vendors.Window{Since: now.Add(-Lookback)},
			want: vendors.Window{Since: now.Add(-Lookback), Until: now},
		},
		{
			name: "30 days back read a few seconds late is clamped, not refused",
			in:   vendors.Window{Since: now.Add(-Lookback - 5*time.Second)},
			want: vendors.Window{Since: now.Add(-Lookback), Until: now},
		},
		{
			name:    "31 days back is refused, naming the oldest allowed time",
			in:      vendors.Window{Since: now.Add(-31 * 24 * time.Hour)},
			wantErr: "call records are kept 30 days: since must be after 2026-10-24 19:40 UTC",
		},
		{
			name:    "an until before the since is refused",
			in:      vendors.Window{Since: now.Add(-time.Hour), Until: now.Add(-2 * time.Hour)},
			wantErr: "until (2026-11-23 17:40 UTC) is before since (2026-11-23 18:40 UTC)",
		},
		{
			name:    "an until an hour ahead is refused",
			in:      vendors.Window{Since: now.Add(-time.Hour), Until: now.Add(time.Hour)},
			wantErr: "until must not be after 2026-11-23 19:40 UTC",
		},
		{
			name: "an until seconds ahead is taken as now",
			in:   vendors.Window{Since: now.Add(-time.Hour), Until: now.Add(30 * time.Second)},
			want: vendors.Window{Since: now.Add(-time.Hour), Until: now},
		},
		{
			name: "an empty window (since equals until) is allowed",
			in:   vendors.Window{Since: now.Add(-time.Hour), Until: now.Add(-time.Hour)},
			want: vendors.Window{Since: now.Add(-time.Hour), Until: now.Add(-time.Hour)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := CheckWindow(tt.in, now)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
				if !errors.Is(err, vendors.ErrInvalidInput) {
					t.Fatalf("error %v does not wrap ErrInvalidInput", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !got.Since.Equal(tt.want.Since) || !got.Until.Equal(tt.want.Until) {
				t.Fatalf("window %v..%v, want %v..%v", got.Since, got.Until, tt.want.Since, tt.want.Until)
			}
		})
	}
}

func TestNewRefusesIncompleteConfigs(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		typ  vendors.Type
		want []string
	}{
		{
			name: "graph lists every missing credential",
			cfg:  Config{Name: "teams-prod"},
			typ:  vendors.Teams,
			want: []string{"client_id: is not set", "client_secret: is not set", "tenant_id: is not set"},
		},
		{
			name: "powershell lists every missing setting",
			cfg:  Config{Name: "skype-old", Backend: "PowerShell"},
			typ:  vendors.Skype,
			want: []string{"app_id: is not set", "certificate_thumbprint: is not set", "tenant_id: is not set"},
		},
		{
			name: "an unknown backend is named",
			cfg:  Config{Name: "x", Backend: "ews"},
			typ:  vendors.Teams,
			want: []string{`backend "ews": is not a backend`},
		},
		{
			name: "a graph URL that is not http(s) is refused",
			cfg:  Config{Name: "x", TenantID: "t", ClientID: "c", ClientSecret: "s", GraphURL: "ftp://graph"},
			typ:  vendors.Teams,
			want: []string{`graph_url "ftp://graph/": is not an http(s) URL`},
		},
		{
			name: "a type other than teams or skype is refused",
			cfg:  Config{Name: "x", TenantID: "t", ClientID: "c", ClientSecret: "s"},
			typ:  vendors.Qlik,
			want: []string{`type "qlik" is not teams or skype`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.cfg
			cfg.Type = tt.typ
			_, err := New(cfg, vendors.Env{})
			if err == nil {
				t.Fatal("New accepted the config")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}

// A key only the other backend reads is warned about at start (check lists
// it), never silently ignored, and never refused: a file that served
// before still starts.
func TestASettingOfTheOtherBackendIsWarnedAbout(t *testing.T) {
	tests := []struct {
		name     string
		cfg      Config
		warn     []string
		withheld string
	}{
		{
			name: "graph settings on a powershell instance",
			cfg: Config{Name: "skype-old", Type: vendors.Skype, Backend: "PowerShell", TenantID: "t", AppID: "a", CertificateThumbprint: "th",
				MaxConnections: 8, QueueWait: time.Second, ClientSecret: "hunter2"},
			warn:     []string{"max_connections is ignored: only the graph backend reads it", "queue_wait is ignored", "client_secret is ignored"},
			withheld: "hunter2",
		},
		{
			name: "powershell settings on a graph instance",
			cfg:  Config{Name: "teams", Type: vendors.Teams, TenantID: "t", ClientID: "c", ClientSecret: "s", Pwsh: "/usr/bin/pwsh", StartTimeout: time.Minute},
			warn: []string{"pwsh is ignored: only the powershell backend reads it", "start_timeout is ignored"},
		},
		{
			name: "each backend's own settings",
			cfg:  Config{Name: "teams", Type: vendors.Teams, TenantID: "t", ClientID: "c", ClientSecret: "s", MaxConnections: 8, RequestTimeout: time.Second},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs testkit.LogBuffer
			in, err := New(tt.cfg, vendors.Env{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
			if err != nil {
				t.Fatalf("New refused the config: %v", err)
			}
			defer in.Close(context.Background())
			got := logs.String()
			for _, w := range tt.warn {
				if !strings.Contains(got, w) {
					t.Errorf("logs %q do not say %q", got, w)
				}
			}
			if len(tt.warn) == 0 && strings.Contains(got, "WARN") {
				t.Errorf("logs %q warn about a config that has no stray key", got)
			}
			if tt.withheld != "" && strings.Contains(got, tt.withheld) {
				t.Errorf("logs %q show the secret", got)
			}
		})
	}
}

func TestConfigNeverPrintsTheSecret(t *testing.T) {
	cfg := Config{Name: "teams", TenantID: "t", ClientID: "c", ClientSecret: "hunter2-very-secret"}
	var logged strings.Builder
	logger := slog.New(slog.NewTextHandler(&logged, nil))
	logger.Info("config", "cfg", cfg)
	for _, text := range []string{fmt.Sprint(cfg), fmt.Sprintf("%v %+v %s", cfg, cfg, cfg), logged.String()} {
		if strings.Contains(text, "hunter2") {
			t.Fatalf("the secret is printed: %s", text)
		}
		if !strings.Contains(text, "[redacted]") {
			t.Fatalf("no sign of the secret being there: %s", text)
		}
	}
}

func TestVendorClaimsLogoutOnlyWithGraph(t *testing.T) {
	graph, err := New(Config{Name: "teams", TenantID: "t", ClientID: "c", ClientSecret: "s", Type: vendors.Teams}, vendors.Env{})
	if err != nil {
		t.Fatal(err)
	}
	ps, err := New(Config{Name: "skype", Backend: BackendPowerShell, TenantID: "t", AppID: "a", CertificateThumbprint: "AB12", Type: vendors.Skype}, vendors.Env{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		in   vendors.Instance
		want vendors.Capability
	}{
		{"a graph instance lists users, takes windows and logs out", graph.Vendor(), vendors.CanListUser | vendors.CanWindow | vendors.CanLogout},
		{"a powershell instance lists users and takes windows only", ps.Vendor(), vendors.CanListUser | vendors.CanWindow},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := vendors.Capabilities(tt.in); got != tt.want {
				t.Fatalf("capabilities %q, want %q", got, tt.want)
			}
		})
	}
	if _, err := ps.LogoutUser(context.Background(), vendors.Identity{ID: "marc@contoso.com"}); !errors.Is(err, vendors.ErrInvalidInput) {
		t.Fatalf("LogoutUser on powershell: %v, want ErrInvalidInput", err)
	}
	if ps.Vendor().Name() != "skype" || ps.Vendor().Type() != vendors.Skype {
		t.Fatal("the wrapper does not keep name and type")
	}
}

func TestListingRefusesDirectoryStyleNames(t *testing.T) {
	in, err := New(Config{Name: "teams", TenantID: "t", ClientID: "c", ClientSecret: "s", Type: vendors.Teams}, vendors.Env{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = in.ListUserSessions(context.Background(), vendors.UserQuery{User: vendors.Identity{Directory: "CORP", ID: "marc"}})
	if !errors.Is(err, vendors.ErrInvalidInput) || !strings.Contains(err.Error(), "named by UPN") {
		t.Fatalf("error %v, want one saying users are named by UPN", err)
	}
}

func TestCAFileProblemsComeUnderTheirKey(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "ca.txt")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, path, want string
	}{
		{"a missing file cannot be read", filepath.Join(dir, "missing.pem"), "cannot be read: no such file or directory"},
		{"a file without a certificate is refused", notPEM, "contains no PEM certificate that can be parsed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(Config{Name: "teams", TenantID: "t", ClientID: "c", ClientSecret: "s", CAFile: tt.path, Type: vendors.Teams}, vendors.Env{})
			var problems vendors.ConfigProblems
			if !errors.As(err, &problems) || len(problems) != 1 || problems[0].Key != "ca_file" || problems[0].Problem != tt.want {
				t.Fatalf("err = %v, want one ca_file problem saying %q", err, tt.want)
			}
		})
	}
}

func TestCapacityProblemsComeUnderTheirKeys(t *testing.T) {
	tests := []struct {
		name  string
		conns int
		wait  time.Duration
		want  []string // keys
	}{
		{"left out, none", 0, 0, nil},
		{"a negative connection cap", -1, 0, []string{"max_connections"}},
		{"a negative queue wait", 0, -time.Second, []string{"queue_wait"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(Config{Name: "teams", TenantID: "t", ClientID: "c", ClientSecret: "s", Type: vendors.Teams,
				MaxConnections: tt.conns, QueueWait: tt.wait}, vendors.Env{})
			var problems vendors.ConfigProblems
			errors.As(err, &problems)
			var keys []string
			for _, p := range problems {
				keys = append(keys, p.Key)
			}
			if !slices.Equal(keys, tt.want) {
				t.Fatalf("err = %v, want problems under %v", err, tt.want)
			}
		})
	}
}
