package commvault_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sessionbot/sessionbot/vendors"
	"github.com/sessionbot/sessionbot/vendors/commvault"
	"github.com/sessionbot/sessionbot/vendors/commvault/commvaulttest"
)

func TestEndSession(t *testing.T) {
	const oddID = `EMC"quoted" & <angled> 'single'`
	tests := []struct {
		name       string
		session    func(listed map[string]vendors.Session) vendors.Session
		before     func(*commvaulttest.Server)
		wantErr    error
		wantText   string
		wantEnded  string // the session the fake shows logged off
		wantDelete int
	}{
		{
			name:       "a listed open session is logged off",
			session:    func(l map[string]vendors.Session) vendors.Session { return l[commvaulttest.MarcConsoleSession] },
			wantEnded:  commvaulttest.MarcConsoleSession,
			wantDelete: 1,
		},
		{
			name:       "an id with XML's special characters is escaped so the fake can parse it",
			session:    func(l map[string]vendors.Session) vendors.Session { return l[oddID] },
			wantEnded:  oddID,
			wantDelete: 1,
		},
		{
			name: "an id alone is enough",
			session: func(map[string]vendors.Session) vendors.Session {
				return vendors.Session{ID: commvaulttest.MarcConsoleSession}
			},
			wantEnded:  commvaulttest.MarcConsoleSession,
			wantDelete: 1,
		},
		{
			name:       "a session the server does not know is not found",
			session:    func(map[string]vendors.Session) vendors.Session { return vendors.Session{ID: "EMC-GONE"} },
			wantErr:    vendors.ErrNotFound,
			wantText:   "Session [EMC-GONE] not found",
			wantDelete: 1,
		},
		{
			name: "a session of another vendor is refused before any request",
			session: func(map[string]vendors.Session) vendors.Session {
				return vendors.Session{Vendor: vendors.Qlik, ID: commvaulttest.MarcConsoleSession}
			},
			wantErr: vendors.ErrInvalidInput,
		},
		{
			name: "a session of another instance is refused before any request",
			session: func(map[string]vendors.Session) vendors.Session {
				return vendors.Session{Vendor: vendors.Commvault, Instance: "cv-other", ID: commvaulttest.MarcConsoleSession}
			},
			wantErr: vendors.ErrInvalidInput,
		},
		{
			name:    "an id with a control character is refused before any request",
			session: func(map[string]vendors.Session) vendors.Session { return vendors.Session{ID: "EMC\n1"} },
			wantErr: vendors.ErrInvalidInput,
		},
		{
			name:       "a 404 from the route is not taken for an ended session",
			session:    func(l map[string]vendors.Session) vendors.Session { return l[commvaulttest.MarcConsoleSession] },
			before:     func(s *commvaulttest.Server) { s.SetLogoff(false) },
			wantErr:    vendors.ErrBadAnswer,
			wantText:   "cannot log users off",
			wantDelete: 1,
		},
		{
			name:       "a user without the role is told which role is missing",
			session:    func(l map[string]vendors.Session) vendors.Session { return l[commvaulttest.MarcConsoleSession] },
			before:     func(s *commvaulttest.Server) { s.Fail(commvaulttest.Forbidden) },
			wantErr:    vendors.ErrForbidden,
			wantText:   "lacks a role with View/Add/Delete/Modify User",
			wantDelete: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t, commvaulttest.Options{Seed: true})
			if err := srv.AddSession(commvaulttest.Session{ID: oddID, UserID: commvaulttest.MarcUserID, Host: "h", ConsoleType: 19, LoginTime: time.Now()}); err != nil {
				t.Fatal(err)
			}
			in := newInstance(t, configFor(t, srv))
			ctx := testContext(t)
			listing, err := in.ListUserSessions(ctx, vendors.UserQuery{User: marc})
			if err != nil {
				t.Fatal(err)
			}
			listed := map[string]vendors.Session{}
			for _, s := range listing.Sessions {
				listed[s.ID] = s
			}
			if tt.before != nil {
				tt.before(srv)
			}
			err = in.EndSession(ctx, tt.session(listed))
			if tt.wantErr == nil && err != nil {
				t.Fatal(err)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if tt.wantText != "" && !strings.Contains(err.Error(), tt.wantText) {
				t.Errorf("error lacks %q: %v", tt.wantText, err)
			}
			for _, s := range srv.Sessions(commvaulttest.MarcUserID) {
				wasOpen := s.ID != commvaulttest.MarcCommandLineSession
				if ended := wasOpen && !s.Active(); ended != (s.ID == tt.wantEnded) {
					t.Errorf("session %q ended = %t", s.ID, ended)
				}
			}
			if srv.Deletes() != tt.wantDelete {
				t.Errorf("deletes = %d, want %d", srv.Deletes(), tt.wantDelete)
			}
		})
	}
}

func TestAnEndedSessionListsAsEnded(t *testing.T) {
	clock := newFakeClock()
	srv := newServer(t, commvaulttest.Options{Seed: true, Now: clock.Now})
	in := newInstance(t, configFor(t, srv))
	ctx := testContext(t)
	if err := in.EndSession(ctx, vendors.Session{ID: commvaulttest.MarcConsoleSession}); err != nil {
		t.Fatal(err)
	}
	got, err := in.ListUserSessions(ctx, vendors.UserQuery{User: marc})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range got.Sessions {
		if s.Active() {
			t.Errorf("session %s still active", s.ID)
		}
		if s.ID == commvaulttest.MarcConsoleSession && !s.Ended.Equal(clock.Now()) {
			t.Errorf("ended %s, want the fake's now %s", s.Ended, clock.Now())
		}
	}
}

func TestLogoutUser(t *testing.T) {
	tests := []struct {
		name        string
		user        vendors.Identity
		extraOpen   int
		wantEnded   int
		wantDeletes int
		wantErr     error
	}{
		{"a user with one open and one ended session has the open one ended", marc, 0, 1, 1, nil},
		{"every open session goes in one request", marc, 3, 4, 1, nil},
		{"a user with nothing open costs no delete", vendors.Identity{ID: "idle"}, 0, 0, 0, nil},
		{"an unknown user is not found", vendors.Identity{ID: "ghost"}, 0, 0, 0, vendors.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t, commvaulttest.Options{Seed: true, Users: []commvaulttest.User{{Name: "idle"}}})
			for range tt.extraOpen {
				if err := srv.AddSession(commvaulttest.Session{UserID: commvaulttest.MarcUserID, Host: "h", ConsoleType: 19, LoginTime: time.Now()}); err != nil {
					t.Fatal(err)
				}
			}
			in := newInstance(t, configFor(t, srv))
			got, err := in.LogoutUser(testContext(t), tt.user)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if len(got.Sessions) != tt.wantEnded {
				t.Errorf("returned %v, want %d sessions", ids(got.Sessions), tt.wantEnded)
			}
			if srv.Deletes() != tt.wantDeletes {
				t.Errorf("deletes = %d, want %d", srv.Deletes(), tt.wantDeletes)
			}
			for _, s := range srv.Sessions(commvaulttest.MarcUserID) {
				returned := slices.Contains(ids(got.Sessions), s.ID)
				if tt.wantEnded > 0 && s.Active() {
					t.Errorf("session %s still open", s.ID)
				}
				if returned && s.ID == commvaulttest.MarcCommandLineSession {
					t.Errorf("the session that had ended already was returned as ended now")
				}
			}
		})
	}
}

func TestLogoffBodyHasOneElementPerSession(t *testing.T) {
	got := string(commvault.LogoffBody([]string{"A", `B"&<`}))
	want := `<Api_LogoffUsersRequest><sessions val="A"/><sessions val="B&#34;&amp;&lt;"/></Api_LogoffUsersRequest>`
	if got != want {
		t.Errorf("body =\n%s\nwant\n%s", got, want)
	}
}
