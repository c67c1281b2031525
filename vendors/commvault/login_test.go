package commvault_test

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessionbot/sessionbot/internal/testkit"
	"github.com/sessionbot/sessionbot/vendors"
	"github.com/sessionbot/sessionbot/vendors/commvault"
	"github.com/sessionbot/sessionbot/vendors/commvault/commvaulttest"
)

func TestLogin(t *testing.T) {
	const wrongPassword = "Summer2026!wrong"
	tests := []struct {
		name      string
		opts      commvaulttest.Options
		configure func(*commvault.Config)
		before    func(*commvaulttest.Server)
		wantErr   error
		wantText  []string
		notText   []string
	}{
		{
			name: "the bot's account logs in and lists",
		},
		{
			name:      "a domain account logs in with the domain apart",
			opts:      commvaulttest.Options{Users: []commvaulttest.User{{Name: `CORP\svc-bot`, Password: "dom-pw"}}},
			configure: func(c *commvault.Config) { c.Username, c.Domain, c.Password = "svc-bot", "CORP", "dom-pw" },
		},
		{
			name:      "a token lifetime and device id are accepted at login",
			configure: func(c *commvault.Config) { c.TokenTimeout, c.DeviceID = 90*time.Second, "sessionbot-prod" },
		},
		{
			name:      "a wrong password says so and quotes neither the password nor its base64",
			configure: func(c *commvault.Config) { c.Password = wrongPassword },
			wantErr:   vendors.ErrUnauthorized,
			wantText:  []string{"log in as sessionbot", "user name or password refused", "Invalid Username or Password"},
			notText:   []string{wrongPassword, base64.StdEncoding.EncodeToString([]byte(wrongPassword))},
		},
		{
			name:     "a locked account says it is locked",
			before:   func(s *commvaulttest.Server) { s.SetLocked(commvaulttest.BotUser, true) },
			wantErr:  vendors.ErrUnauthorized,
			wantText: []string{"account is locked", "is locked due to too many failed login attempts"},
			notText:  []string{commvaulttest.BotPassword},
		},
		{
			name:     "a login answered with a web page says to check the URL",
			before:   func(s *commvaulttest.Server) { s.FailLogin(commvaulttest.HTML) },
			wantErr:  vendors.ErrBadAnswer,
			wantText: []string{"answered HTML", "web service base"},
		},
		{
			name:     "a login answered with 500 is unavailable",
			before:   func(s *commvaulttest.Server) { s.FailLogin(commvaulttest.ServerError) },
			wantErr:  vendors.ErrUnavailable,
			wantText: []string{"500 Internal Server Error", "NullPointerException"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t, commvaulttest.Options{Seed: true})
			if tt.opts.Users != nil {
				srv = newServer(t, commvaulttest.Options{Seed: true, Users: tt.opts.Users})
			}
			cfg := configFor(t, srv)
			if tt.configure != nil {
				tt.configure(&cfg)
			}
			if tt.before != nil {
				tt.before(srv)
			}
			in := newInstance(t, cfg)
			got, err := in.ListUserSessions(testContext(t), vendors.UserQuery{User: jsmith})
			if tt.wantErr == nil {
				if err != nil {
					t.Fatal(err)
				}
				if len(got.Sessions) != 2 || srv.Logins() != 1 {
					t.Errorf("sessions %v, logins %d; want jsmith's 2 sessions after 1 login", ids(got.Sessions), srv.Logins())
				}
				return
			}
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			for _, want := range tt.wantText {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error lacks %q: %v", want, err)
				}
			}
			for _, secret := range tt.notText {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error contains a secret %q: %v", secret, err)
				}
			}
			if srv.Requests("GET /Session") != 0 {
				t.Errorf("sessions were asked without a login")
			}
		})
	}
}

func TestARefusedLoginIsNotRetriedOnEveryCommand(t *testing.T) {
	// Commvault locks an account after a few failures in a row: a bot that
	// retried a wrong password on every command would lock itself out.
	srv := newServer(t, commvaulttest.Options{Seed: true, LockAfter: 3})
	cfg := configFor(t, srv)
	cfg.Password = "wrong"
	clock := newFakeClock()
	in := newInstance(t, cfg)
	commvault.SetClock(in, clock.Now)

	for i := range 10 {
		_, err := in.ListUserSessions(testContext(t), vendors.UserQuery{User: marc})
		if !errors.Is(err, vendors.ErrUnauthorized) {
			t.Fatalf("command %d: err = %v, want ErrUnauthorized", i, err)
		}
		if i > 0 && !strings.Contains(err.Error(), "not tried again for") {
			t.Errorf("command %d does not say why it did not try: %v", i, err)
		}
	}
	if srv.LoginAttempts() != 1 || srv.Locked(commvaulttest.BotUser) {
		t.Errorf("10 commands made %d login attempts (locked: %t), want 1", srv.LoginAttempts(), srv.Locked(commvaulttest.BotUser))
	}
	clock.Advance(61 * time.Second)
	if _, err := in.ListUserSessions(testContext(t), vendors.UserQuery{User: marc}); !errors.Is(err, vendors.ErrUnauthorized) {
		t.Fatalf("err = %v", err)
	}
	if srv.LoginAttempts() != 2 {
		t.Errorf("after the pause: %d login attempts, want 2", srv.LoginAttempts())
	}
	if s := in.Stats(); s.LoginFailures != 2 || s.Logins != 0 {
		t.Errorf("stats = %+v", s)
	}
}

func TestNoSecretInErrorsOrLogs(t *testing.T) {
	srv := newServer(t, commvaulttest.Options{Seed: true})
	cfg := configFor(t, srv)
	var logs testkit.LogBuffer
	var errs []error
	note := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}

	bad := cfg
	bad.Name = "cv-bad"
	bad.Password = commvaulttest.BotPassword + "x"
	badIn := newInstanceLogging(t, bad, logs.Logger())
	_, err := badIn.ListUserSessions(testContext(t), vendors.UserQuery{User: marc})
	note(err)

	in := newInstanceLogging(t, cfg, logs.Logger())
	ctx := testContext(t)
	note(in.Probe(ctx))
	_, err = in.ListUserSessions(ctx, vendors.UserQuery{User: marc})
	note(err)
	srv.ExpireTokens()
	_, err = in.ListUserSessions(ctx, vendors.UserQuery{User: marc})
	note(err)
	for _, m := range []commvaulttest.Mode{commvaulttest.Forbidden, commvaulttest.ServerError, commvaulttest.Unauthorized, commvaulttest.HTML} {
		srv.Fail(m)
		_, err = in.ListUserSessions(ctx, vendors.UserQuery{User: jsmith})
		note(err)
	}
	srv.Fail(commvaulttest.Healthy)
	note(in.EndSession(ctx, vendors.Session{ID: "no-such-session"}))
	note(in.Close(ctx))

	if len(errs) < 6 {
		t.Fatalf("only %d errors to check: %v", len(errs), errs)
	}
	secrets := []string{
		commvaulttest.BotPassword,
		base64.StdEncoding.EncodeToString([]byte(commvaulttest.BotPassword)),
		base64.StdEncoding.EncodeToString([]byte(bad.Password)),
	}
	for _, tok := range srv.IssuedTokens() {
		secrets = append(secrets, tok, strings.TrimPrefix(tok, "QSDK "))
	}
	if len(secrets) < 5 {
		t.Fatalf("the fake issued no token")
	}
	for _, secret := range secrets {
		for _, err := range errs {
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error contains a secret: %v", err)
			}
		}
		if strings.Contains(logs.String(), secret) {
			t.Errorf("the log contains a secret:\n%s", logs.String())
		}
	}
	if !strings.Contains(logs.String(), "level=DEBUG") {
		t.Errorf("the debug log was not written, so it proves nothing:\n%s", logs.String())
	}
}

func TestConfigDoesNotPrintThePassword(t *testing.T) {
	cfg := commvault.Config{Name: "cv", URL: "https://cs/webconsole/api", Username: "bot", Password: "hunter2-secret"}
	var logs testkit.LogBuffer
	logs.Logger().Info("config", "cfg", cfg)
	for _, text := range []string{cfg.String(), logs.String(), fmt.Sprintf("%v", cfg), fmt.Sprintf("%+v", cfg), fmt.Sprintf("%#v", cfg)} {
		if strings.Contains(text, "hunter2") || !strings.Contains(text, "[set]") {
			t.Errorf("printed config = %s", text)
		}
	}
}

func TestOneLoginServesEveryCommand(t *testing.T) {
	srv, in, ctx := seeded(t)
	for i := range 100 {
		if _, err := in.ListUserSessions(ctx, vendors.UserQuery{User: marc}); err != nil {
			t.Fatalf("list %d: %v", i, err)
		}
	}
	if srv.LoginAttempts() != 1 || in.Stats().Logins != 1 {
		t.Errorf("100 lists made %d logins (adapter counted %d), want 1", srv.LoginAttempts(), in.Stats().Logins)
	}
	if srv.Requests("GET /Session") != 100 {
		t.Errorf("requests = %v", srv.RoutesAsked())
	}
}

func TestExpiredTokens(t *testing.T) {
	tests := []struct {
		name       string
		expire     func(srv *commvaulttest.Server, clock *fakeClock)
		wantLogins int
	}{
		{
			name:       "a token ended by the server mid-use is renewed with one login",
			expire:     func(srv *commvaulttest.Server, _ *fakeClock) { srv.ExpireTokens() },
			wantLogins: 2,
		},
		{
			name:       "a token idle past its lifetime is renewed with one login",
			expire:     func(_ *commvaulttest.Server, clock *fakeClock) { clock.Advance(31 * time.Minute) },
			wantLogins: 2,
		},
		{
			name:       "a token used within its lifetime is kept",
			expire:     func(_ *commvaulttest.Server, clock *fakeClock) { clock.Advance(29 * time.Minute) },
			wantLogins: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newFakeClock()
			srv := newServer(t, commvaulttest.Options{Seed: true, Now: clock.Now})
			in := newInstance(t, configFor(t, srv))
			ctx := testContext(t)
			if _, err := in.ListUserSessions(ctx, vendors.UserQuery{User: marc}); err != nil {
				t.Fatal(err)
			}
			tt.expire(srv, clock)
			got, err := in.ListUserSessions(ctx, vendors.UserQuery{User: marc})
			if err != nil {
				t.Fatal(err)
			}
			if len(got.Sessions) != 2 {
				t.Errorf("sessions = %v", ids(got.Sessions))
			}
			if srv.Logins() != tt.wantLogins || in.Stats().Logins != int64(tt.wantLogins) {
				t.Errorf("logins = %d (adapter %d), want %d", srv.Logins(), in.Stats().Logins, tt.wantLogins)
			}
		})
	}
}

func TestATokenRefusedTwiceIsAnError(t *testing.T) {
	srv, in, ctx := seeded(t)
	if _, err := in.ListUserSessions(ctx, vendors.UserQuery{User: marc}); err != nil {
		t.Fatal(err)
	}
	srv.Fail(commvaulttest.Unauthorized)
	_, err := in.ListUserSessions(ctx, vendors.UserQuery{User: marc})
	if !errors.Is(err, vendors.ErrUnauthorized) || !strings.Contains(err.Error(), "right after a fresh login") {
		t.Fatalf("err = %v", err)
	}
	if srv.Logins() != 2 {
		t.Errorf("logins = %d, want 2: the first, and one retry", srv.Logins())
	}
	if n := srv.Requests("GET /Session"); n != 3 {
		t.Errorf("GET /Session asked %d times, want 3: one success, then one try and one retry", n)
	}
}

func TestConcurrentCallersShareOneRelogin(t *testing.T) {
	srv, in, ctx := seeded(t)
	if _, err := in.ListUserSessions(ctx, vendors.UserQuery{User: marc}); err != nil {
		t.Fatal(err)
	}
	srv.ExpireTokens()

	const callers = 50
	var wg sync.WaitGroup
	errs := make([]error, callers)
	start := make(chan struct{})
	for i := range callers {
		wg.Go(func() {
			<-start
			got, err := in.ListUserSessions(ctx, vendors.UserQuery{User: marc})
			if err == nil && len(got.Sessions) != 2 {
				err = errors.New("wrong sessions")
			}
			errs[i] = err
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("caller %d: %v", i, err)
		}
	}
	if srv.LoginAttempts() != 2 {
		t.Errorf("50 callers on an expired token made %d logins in all, want 2: the first and one re-login", srv.LoginAttempts())
	}
	if srv.Tokens() != 1 {
		t.Errorf("%d live tokens, want 1", srv.Tokens())
	}
}

func TestConcurrentFirstCallsShareOneLogin(t *testing.T) {
	srv, in, ctx := seeded(t)
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			if _, err := in.ListUserSessions(ctx, vendors.UserQuery{User: jsmith}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if srv.LoginAttempts() != 1 {
		t.Errorf("20 first calls made %d logins, want 1", srv.LoginAttempts())
	}
}

func TestCloseLogsTheTokenOut(t *testing.T) {
	srv, in, ctx := seeded(t)
	if err := in.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if srv.Requests("POST /Logout") != 0 {
		t.Errorf("Close without a token sent a logout")
	}
	if _, err := in.ListUserSessions(ctx, vendors.UserQuery{User: marc}); err != nil {
		t.Fatal(err)
	}
	if err := in.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if srv.Logouts() != 1 || srv.Tokens() != 0 {
		t.Errorf("logouts %d, live tokens %d; want 1 and 0", srv.Logouts(), srv.Tokens())
	}
	// The instance stays usable: the next call logs in again.
	if _, err := in.ListUserSessions(ctx, vendors.UserQuery{User: marc}); err != nil {
		t.Fatal(err)
	}
	if srv.Logins() != 2 {
		t.Errorf("logins = %d, want 2", srv.Logins())
	}
}
