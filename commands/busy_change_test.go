package commands

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sessionbot/sessionbot/internal/testkit"
	"github.com/sessionbot/sessionbot/store"
	"github.com/sessionbot/sessionbot/vendors"
	"github.com/sessionbot/sessionbot/vendors/qlik"
	"github.com/sessionbot/sessionbot/vendors/qlik/qliktest"
)

// readThenHold is a Qlik instance whose one connection another list takes
// right after the re-read of a session, before the delete.
type readThenHold struct {
	*qlik.Instance
	hold func()
}

func (r readThenHold) GetSession(ctx context.Context, id string) (vendors.Session, error) {
	s, err := r.Instance.GetSession(ctx, id)
	r.hold()
	return s, err
}

// TestAnApprovedChangeNeverSentIsNotReportedAsMaybeDone: an approved
// change that waited its whole time for a connection was never sent, so
// nothing ended; saying "did not answer in time, it may have ended"
// would send people checking for a change that cannot have happened.
func TestAnApprovedChangeNeverSentIsNotReportedAsMaybeDone(t *testing.T) {
	t.Parallel()
	marc := vendors.Identity{Directory: "Domain", ID: "Marc"}
	logout := store.Request{Action: store.ActionLogoutUser, TargetDirectory: marc.Directory, TargetUser: marc.ID}
	kill := store.Request{Action: store.ActionEndSession, SessionID: qliktest.MarcSessionOnProxy0, TargetDirectory: marc.Directory, TargetUser: marc.ID}
	tests := []struct {
		name      string
		req       store.Request
		afterRead bool // the connection is taken between the re-read and the delete
		wantSay   string
	}{
		{"a logout", logout, false, "the logout was not sent"},
		{"a kill, whose re-read waits", kill, false, "could not re-read the session, so nothing was deleted"},
		{"a kill, whose delete waits", kill, true, "the delete was not sent"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			site := testkit.Start(t, qliktest.New, qliktest.Options{Proxies: 1, Demo: true})
			files, err := site.ClientFiles(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			in, err := qlik.New(qlik.Config{Name: "qlik-prod", Proxies: site.Proxies(), CertFile: files.Cert, KeyFile: files.Key, CAFile: files.CA,
				MaxConnections: 1, RequestTimeout: 10 * time.Second}, vendors.Env{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { in.Close() })
			tt.req.Instance = in.Name()

			// A list holds the one connection until released.
			held, listed := testkit.NewHold(), make(chan struct{})
			hold := func() {
				site.Intercept(held)
				go func() {
					defer close(listed)
					in.ListUserSessions(context.Background(), vendors.UserQuery{User: marc})
				}()
				held.Reached(t, "the list never reached the proxy")
				site.Intercept(nil)
			}
			defer func() { held.Release(); <-listed }()
			var target vendors.Instance = in
			if tt.afterRead {
				target = readThenHold{in, hold}
			} else {
				hold()
			}

			svc := newTestService(t, target)
			ctx, cancel := context.WithTimeout(context.Background(), time.Second) // room for the re-read on a slow machine
			defer cancel()
			state, outcome := svc.end(ctx, target, tt.req)
			if state != store.StateFailed || !strings.Contains(outcome, tt.wantSay) || strings.Contains(outcome, "may have ended") {
				t.Errorf("%s: %q; want failed saying %q, and not that it may have ended", state, outcome, tt.wantSay)
			}
			if n := site.Deletes(); n != 0 {
				t.Errorf("%d deletes reached the proxy", n)
			}
		})
	}
}
