package commvault_test

import (
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/sessionbot/sessionbot/internal/testkit"
	"github.com/sessionbot/sessionbot/vendors"
	"github.com/sessionbot/sessionbot/vendors/commvault"
	"github.com/sessionbot/sessionbot/vendors/commvault/commvaulttest"
)

func TestFailuresAreWordedAndClassified(t *testing.T) {
	tests := []struct {
		name     string
		mode     commvaulttest.Mode
		wantErr  error
		wantText []string
	}{
		{"a web page instead of JSON says to check the URL", commvaulttest.HTML, vendors.ErrBadAnswer, []string{"answered HTML", "web service base"}},
		{"garbage instead of JSON is a bad answer", commvaulttest.Garbage, vendors.ErrBadAnswer, []string{"invalid JSON"}},
		{"a 500 is unavailable and quotes the first line of the server's answer", commvaulttest.ServerError, vendors.ErrUnavailable, []string{"500 Internal Server Error: java.lang.NullPointerException: "}},
		{"a 403 names the missing role", commvaulttest.Forbidden, vendors.ErrForbidden, []string{"403 Forbidden", "sessionbot lacks a role with View/Add/Delete/Modify User", "required permissions"}},
		{"a slow server times out", commvaulttest.Slow, vendors.ErrTimeout, []string{"no answer within 300ms"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t, commvaulttest.Options{Seed: true})
			cfg := configFor(t, srv)
			cfg.RequestTimeout = 300 * time.Millisecond
			in := newInstance(t, cfg)
			srv.Fail(tt.mode)
			started := time.Now()
			_, err := in.ListUserSessions(testContext(t), vendors.UserQuery{User: marc})
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			want := append([]string{"cv-test node " + srv.Addr() + ": list sessions of CORP\\marc: "}, tt.wantText...)
			for _, w := range want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
			if tt.mode == commvaulttest.ServerError {
				if strings.Contains(err.Error(), "SessionService.java") || !strings.Contains(vendors.Detail(err), "SessionService.java") {
					t.Errorf("the stack trace is shown to people, or not kept for the log: %v / %q", err, vendors.Detail(err))
				}
			}
			var nodeErr *vendors.NodeError
			if !errors.As(err, &nodeErr) || nodeErr.Node != srv.Addr() {
				t.Errorf("not a NodeError on %s: %#v", srv.Addr(), err)
			}
			if time.Since(started) > 2*time.Second {
				t.Errorf("took %s", time.Since(started))
			}
		})
	}
}

func TestUnreachableServers(t *testing.T) {
	srv := newServer(t, commvaulttest.Options{Seed: true})
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refusedURL := "https://" + closed.Addr().String() + "/webconsole/api"
	closed.Close()

	tests := []struct {
		name      string
		configure func(*commvault.Config)
		wantErr   error
		wantText  string
	}{
		{"a closed port is refused", func(c *commvault.Config) { c.URL = refusedURL }, vendors.ErrUnavailable, "connection refused"},
		{"a server signed by an unknown CA is not trusted", func(c *commvault.Config) { c.CAFile = "" }, vendors.ErrUnavailable, "not signed by a CA we trust (set ca_file"},
		{"http to an https port says so", func(c *commvault.Config) { c.URL = strings.Replace(c.URL, "https://", "http://", 1) }, vendors.ErrBadAnswer, "400 Bad Request"},
		{"a wrong base path is a web page, not a user missing", func(c *commvault.Config) { c.URL = strings.TrimSuffix(c.URL, "/api") }, vendors.ErrBadAnswer, "404 Not Found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := configFor(t, srv)
			tt.configure(&cfg)
			in := newInstance(t, cfg)
			_, err := in.ListUserSessions(testContext(t), vendors.UserQuery{User: marc})
			if !errors.Is(err, tt.wantErr) || !strings.Contains(err.Error(), tt.wantText) {
				t.Errorf("err = %v, want %v with %q", err, tt.wantErr, tt.wantText)
			}
			if errors.Is(err, vendors.ErrNotFound) {
				t.Errorf("a broken setup reads as a missing user: %v", err)
			}
		})
	}
}

func TestInsecureSkipVerifyWorksAndWarns(t *testing.T) {
	srv := newServer(t, commvaulttest.Options{Seed: true})
	cfg := configFor(t, srv)
	cfg.CAFile = ""
	cfg.InsecureSkipVerify = true
	var logs testkit.LogBuffer
	in := newInstanceLogging(t, cfg, logs.Logger())
	if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "TLS certificate verification is off") ||
		!strings.Contains(logs.String(), "instance=cv-test") {
		t.Errorf("no warning naming the instance:\n%s", logs.String())
	}
	if _, err := in.ListUserSessions(testContext(t), vendors.UserQuery{User: marc}); err != nil {
		t.Fatal(err)
	}
}

func TestProbe(t *testing.T) {
	tests := []struct {
		name      string
		configure func(*commvault.Config)
		mode      commvaulttest.Mode
		wantErr   error
	}{
		{name: "a healthy server with good credentials passes"},
		{name: "a wrong password fails as unauthorized", configure: func(c *commvault.Config) { c.Password = "nope" }, wantErr: vendors.ErrUnauthorized},
		{name: "a user without the role fails as forbidden", mode: commvaulttest.Forbidden, wantErr: vendors.ErrForbidden},
		{name: "a web page fails as a bad answer", mode: commvaulttest.HTML, wantErr: vendors.ErrBadAnswer},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t, commvaulttest.Options{Seed: true})
			cfg := configFor(t, srv)
			if tt.configure != nil {
				tt.configure(&cfg)
			}
			srv.Fail(tt.mode)
			in := newInstance(t, cfg)
			err := in.Probe(testContext(t))
			if !errors.Is(err, tt.wantErr) || (err == nil) != (tt.wantErr == nil) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if err != nil && !strings.Contains(err.Error(), "cv-test node "+srv.Addr()+": probe: ") {
				t.Errorf("error does not say where: %v", err)
			}
			if err == nil {
				// The probe's user list fills the cache.
				if _, err := in.ListUserSessions(testContext(t), vendors.UserQuery{User: marc}); err != nil {
					t.Fatal(err)
				}
				if srv.Requests("GET /User/byName") != 0 {
					t.Errorf("the user was looked up again after the probe listed every user")
				}
			}
		})
	}
}
