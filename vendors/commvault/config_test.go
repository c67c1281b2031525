package commvault_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sessionbot/sessionbot/vendors"
	"github.com/sessionbot/sessionbot/vendors/commvault"
	"github.com/sessionbot/sessionbot/vendors/commvault/commvaulttest"
)

func TestConfigProblemsAreListedTogether(t *testing.T) {
	notPEM := filepath.Join(t.TempDir(), "ca.txt")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		cfg  commvault.Config
		want []string
	}{
		{
			name: "an empty config names every missing key",
			cfg:  commvault.Config{Name: "cv"},
			want: []string{"commvault cv: configuration:", "url: is not set", "username: is not set", "password: is not set"},
		},
		{
			name: "a URL that is not a web service base is refused",
			cfg:  commvault.Config{URL: "ftp://cs/webconsole/api", Username: "bot", Password: "x"},
			want: []string{"is not an https:// URL"},
		},
		{
			name: "a URL with a query is refused",
			cfg:  commvault.Config{URL: "https://cs/webconsole/api?x=1", Username: "bot", Password: "x"},
			want: []string{"without user, query or fragment"},
		},
		{
			name: "a URL without host is refused",
			cfg:  commvault.Config{URL: "https:///webconsole/api", Username: "bot", Password: "x"},
			want: []string{"has no host"},
		},
		{
			name: "a user name with its domain is sent to the domain key",
			cfg:  commvault.Config{URL: "https://cs/api", Username: `CORP\bot`, Password: "x"},
			want: []string{`put the part before \ in domain`},
		},
		{
			name: "a token timeout written as a bare number is caught",
			cfg:  commvault.Config{URL: "https://cs/api", Username: "bot", Password: "x", TokenTimeout: 30},
			want: []string{`token_timeout "30ns": is under a minute`, "write 30m"},
		},
		{
			name: "negative durations are refused",
			cfg:  commvault.Config{URL: "https://cs/api", Username: "bot", Password: "x", RequestTimeout: -1, UserCacheTTL: -time.Second},
			want: []string{`request_timeout "-1ns": is negative`, `user_cache_ttl "-1s": is negative`},
		},
		{
			name: "a negative connection cap and queue wait are refused as Qlik's are",
			cfg:  commvault.Config{URL: "https://cs/api", Username: "bot", Password: "x", MaxConnections: -1, QueueWait: -time.Second},
			want: []string{`max_connections "-1": is negative`, "write a positive number such as 32", `queue_wait "-1s": is negative`},
		},
		{
			name: "a missing CA file is named",
			cfg:  commvault.Config{URL: "https://cs/api", Username: "bot", Password: "x", CAFile: "/nonexistent/ca.pem"},
			want: []string{`ca_file "/nonexistent/ca.pem"`, "no such file"},
		},
		{
			name: "a CA file without a certificate is named",
			cfg:  commvault.Config{URL: "https://cs/api", Username: "bot", Password: "x", CAFile: notPEM},
			want: []string{"contains no PEM certificate"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.cfg.Password != "" {
				tt.cfg.Password += "-hunter2"
			}
			_, err := commvault.New(tt.cfg, vendors.Env{})
			if err == nil {
				t.Fatal("New accepted it")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error quotes the password: %v", err)
			}
		})
	}
}

func TestURLForms(t *testing.T) {
	tests := []struct {
		name     string
		basePath string
		url      func(srv *commvaulttest.Server) string
	}{
		{"a trailing slash is dropped", "", func(s *commvaulttest.Server) string { return s.URL() + "/" }},
		{"an upper-case scheme is read", "", func(s *commvaulttest.Server) string { return "HTTPS" + strings.TrimPrefix(s.URL(), "https") }},
		{"an older install's SearchSvc base works", "/SearchSvc/CVWebService.svc", func(s *commvaulttest.Server) string { return s.URL() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t, commvaulttest.Options{Seed: true, BasePath: tt.basePath})
			cfg := configFor(t, srv)
			cfg.URL = tt.url(srv)
			in := newInstance(t, cfg)
			got, err := in.ListUserSessions(testContext(t), vendors.UserQuery{User: marc})
			if err != nil || len(got.Sessions) != 2 {
				t.Fatalf("got %v, %v", ids(got.Sessions), err)
			}
		})
	}
}

func TestTokenTimeoutIsAskedAtLogin(t *testing.T) {
	clock := newFakeClock()
	srv := newServer(t, commvaulttest.Options{Seed: true, Now: clock.Now}) // 30 minutes unless asked
	cfg := configFor(t, srv)
	cfg.TokenTimeout = 5 * time.Minute
	in := newInstance(t, cfg)
	ctx := testContext(t)
	if _, err := in.ListUserSessions(ctx, vendors.UserQuery{User: marc}); err != nil {
		t.Fatal(err)
	}
	clock.Advance(6 * time.Minute)
	if _, err := in.ListUserSessions(ctx, vendors.UserQuery{User: marc}); err != nil {
		t.Fatal(err)
	}
	if srv.Logins() != 2 {
		t.Errorf("logins = %d, want 2: a 5-minute token idle for 6 minutes has expired", srv.Logins())
	}
}

func TestIdentityAndCapabilities(t *testing.T) {
	srv := newServer(t, commvaulttest.Options{})
	in := newInstance(t, configFor(t, srv))
	if in.Name() != "cv-test" || in.Type() != vendors.Commvault {
		t.Errorf("name %q type %q", in.Name(), in.Type())
	}
	want := vendors.CanListUser | vendors.CanListAll | vendors.CanEnd | vendors.CanLogout
	if got := vendors.Capabilities(in); got != want {
		t.Errorf("capabilities = %s, want %s", got, want)
	}
}

// Each problem carries its key, so the caller names the key without
// reading the message; the password never appears as a value.
func TestConfigProblemsCarryTheirKeys(t *testing.T) {
	_, err := commvault.New(commvault.Config{URL: "ftp://cs", Username: `CORP\bot`, TokenTimeout: 30, CAFile: "/nonexistent/ca.pem"}, vendors.Env{})
	var problems vendors.ConfigProblems
	if !errors.As(err, &problems) {
		t.Fatalf("err %v holds no vendors.ConfigProblems", err)
	}
	got := map[string]bool{}
	for _, p := range problems {
		got[p.Key+" "+p.Value] = true
	}
	for _, want := range []string{"url ftp://cs", `username CORP\bot`, "password ", "token_timeout 30ns", "ca_file /nonexistent/ca.pem"} {
		if !got[want] {
			t.Errorf("no problem for %q in %v", want, got)
		}
	}
}
