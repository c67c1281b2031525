package commvault_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/sessionbot/sessionbot/vendors"
	"github.com/sessionbot/sessionbot/vendors/commvault"
	"github.com/sessionbot/sessionbot/vendors/commvault/commvaulttest"
)

// TestRequestsAtOnceStayWithinMaxConnections: a burst of operations
// against a slow web service has at most max_connections requests at the
// service at once, the others waiting their turn within queue_wait; an
// operation of several requests (a list of everyone, a logout) and the
// re-login it waits for never deadlock on the one connection it holds.
func TestRequestsAtOnceStayWithinMaxConnections(t *testing.T) {
	t.Parallel()
	listMarc := func(ctx context.Context, in *commvault.Instance) error {
		_, err := in.ListUserSessions(ctx, vendors.UserQuery{User: marc})
		return err
	}
	tests := []struct {
		name   string
		conns  int
		expire bool // the token expires first: every operation needs a re-login
		op     func(ctx context.Context, in *commvault.Instance) error
	}{
		{"lists of one person share two connections", 2, false, listMarc},
		{"lists of everyone and a re-login share one connection", 1, true, func(ctx context.Context, in *commvault.Instance) error {
			_, err := in.ListAllSessions(ctx)
			return err
		}},
		{"a logout lists and logs off on one connection", 1, true, func(ctx context.Context, in *commvault.Instance) error {
			_, err := in.LogoutUser(ctx, jsmith)
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newServer(t, commvaulttest.Options{Seed: true, SlowDelay: 30 * time.Millisecond})
			cfg := configFor(t, srv)
			cfg.MaxConnections = tt.conns
			in := newInstance(t, cfg)
			ctx := testContext(t)
			if err := listMarc(ctx, in); err != nil { // logs in
				t.Fatal(err)
			}
			if tt.expire {
				srv.ExpireTokens()
			}
			srv.Fail(commvaulttest.Slow)
			var wg sync.WaitGroup
			for range 6 {
				wg.Go(func() {
					if err := tt.op(ctx, in); err != nil {
						t.Errorf("with %d connections: %v", tt.conns, err)
					}
				})
			}
			wg.Wait()
			if got := srv.MaxInFlight(); got > tt.conns {
				t.Errorf("%d requests at once, want at most %d", got, tt.conns)
			}
		})
	}
}
