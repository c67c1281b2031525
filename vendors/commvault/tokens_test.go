package commvault_test

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessionbot/sessionbot/vendors"
	"github.com/sessionbot/sessionbot/vendors/commvault/commvaulttest"
)

func TestOneLoginServesEveryCommand(t *testing.T) {
	srv := newServer(t, commvaulttest.Options{Seed: true})
	in := newInstance(t, configFor(t, srv))
	ctx := testContext(t)
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
	srv := newServer(t, commvaulttest.Options{Seed: true})
	in := newInstance(t, configFor(t, srv))
	ctx := testContext(t)
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
	srv := newServer(t, commvaulttest.Options{Seed: true})
	in := newInstance(t, configFor(t, srv))
	ctx := testContext(t)
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
	srv := newServer(t, commvaulttest.Options{Seed: true})
	in := newInstance(t, configFor(t, srv))
	ctx := testContext(t)
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
	srv := newServer(t, commvaulttest.Options{Seed: true})
	in := newInstance(t, configFor(t, srv))
	ctx := testContext(t)
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
