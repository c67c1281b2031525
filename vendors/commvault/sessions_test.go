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

func TestListUserSessionsMapsTheSeed(t *testing.T) {
	srv := newServer(t, commvaulttest.Options{Seed: true})
	in := newInstance(t, configFor(t, srv))
	got, err := in.ListUserSessions(testContext(t), vendors.UserQuery{User: jsmith})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Sessions) != 2 || len(got.Warnings) != 0 {
		t.Fatalf("listing = %+v", got)
	}
	seed := got.Sessions[0]
	want := vendors.Session{
		Vendor:   vendors.Commvault,
		Instance: "cv-test",
		ID:       commvaulttest.SeedSessionID,
		User:     jsmith,
		UserName: "John Smith",
		Node:     "host002",
		Started:  time.Unix(1453328412, 0).UTC(),
		Ended:    time.Unix(1453394214, 0).UTC(),
		Attributes: []vendors.Attribute{
			{Name: "console", Value: "CommCell Console"},
			{Name: "browser_session", Value: "3"},
		},
	}
	if !equalSession(seed, want) {
		t.Errorf("seed session =\n%+v\nwant\n%+v", seed, want)
	}
	if seed.Active() {
		t.Errorf("the seed's session logged off at 1453394214 but reads as active")
	}
	web := got.Sessions[1]
	if !web.Active() || web.LastActive.IsZero() || attribute(web, "location") != "Paris, FR" || attribute(web, "console") != "Web Console / mobile" {
		t.Errorf("open web session = %+v", web)
	}
}

func equalSession(a, b vendors.Session) bool {
	return a.Vendor == b.Vendor && a.Instance == b.Instance && a.ID == b.ID && a.User == b.User && a.UserName == b.UserName &&
		a.Node == b.Node && a.Started.Equal(b.Started) && a.LastActive.Equal(b.LastActive) && a.Ended.Equal(b.Ended) &&
		slices.Equal(a.Attributes, b.Attributes)
}

func TestListUserSessionsReadsEveryAnswerShape(t *testing.T) {
	tests := []struct {
		name string
		form commvaulttest.Form
		user vendors.Identity
		want []string
	}{
		{"a JSON wrapper with two sessions", commvaulttest.FormAuto, marc, []string{commvaulttest.MarcConsoleSession, commvaulttest.MarcCommandLineSession}},
		{"a bare JSON array", commvaulttest.FormArray, marc, []string{commvaulttest.MarcConsoleSession, commvaulttest.MarcCommandLineSession}},
		{"XML with several sessions", commvaulttest.FormXML, marc, []string{commvaulttest.MarcConsoleSession, commvaulttest.MarcCommandLineSession}},
		{"the seed's XML, one sessions element alone", commvaulttest.FormXML, vendors.Identity{ID: "solo"}, []string{"EMC-SOLO"}},
		{"a single bare JSON object", commvaulttest.FormObject, vendors.Identity{ID: "solo"}, []string{"EMC-SOLO"}},
		{"an empty JSON object for a user without sessions", commvaulttest.FormAuto, vendors.Identity{ID: "nobody"}, nil},
		{"an empty array for a user without sessions", commvaulttest.FormArray, vendors.Identity{ID: "nobody"}, nil},
		{"an empty XML answer for a user without sessions", commvaulttest.FormXML, vendors.Identity{ID: "nobody"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t, commvaulttest.Options{Seed: true, Form: tt.form, Users: []commvaulttest.User{{Name: "solo"}, {Name: "nobody"}}})
			soloID, _ := srv.UserID("solo")
			if err := srv.AddSession(commvaulttest.Session{ID: "EMC-SOLO", UserID: soloID, Host: "h1", ConsoleType: 14, LoginTime: time.Unix(1700000000, 0)}); err != nil {
				t.Fatal(err)
			}
			in := newInstance(t, configFor(t, srv))
			got, err := in.ListUserSessions(testContext(t), vendors.UserQuery{User: tt.user})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(ids(got.Sessions), tt.want) {
				t.Errorf("sessions = %v, want %v", ids(got.Sessions), tt.want)
			}
			for _, s := range got.Sessions {
				if !s.User.Equal(tt.user) || s.Node == "" || s.Started.IsZero() || attribute(s, "console") == "" {
					t.Errorf("session badly mapped: %+v", s)
				}
			}
		})
	}
}

func TestMarcHasAnOpenConsoleSessionAndAnEndedCommandLineOne(t *testing.T) {
	srv := newServer(t, commvaulttest.Options{Seed: true})
	in := newInstance(t, configFor(t, srv))
	got, err := in.ListUserSessions(testContext(t), vendors.UserQuery{User: vendors.Identity{Directory: "corp", ID: "MARC"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Sessions) != 2 {
		t.Fatalf("sessions = %v", ids(got.Sessions))
	}
	console, cli := got.Sessions[0], got.Sessions[1]
	if !console.Active() || attribute(console, "console") != "CommCell Console" || console.Node != "pc-marc.corp.contoso.com" {
		t.Errorf("console session = %+v", console)
	}
	if cli.Active() || attribute(cli, "console") != "command line" {
		t.Errorf("command line session = %+v", cli)
	}
	if console.User.String() != commvaulttest.MarcName {
		t.Errorf("user = %s, want Commvault's spelling %s", console.User, commvaulttest.MarcName)
	}
}

func TestListAllSessionsListsEveryUsersOpenSessions(t *testing.T) {
	srv := newServer(t, commvaulttest.Options{Seed: true})
	in := newInstance(t, configFor(t, srv))
	got, err := in.ListAllSessions(testContext(t))
	if err != nil {
		t.Fatal(err)
	}
	listed := ids(got.Sessions)
	slices.Sort(listed)
	want := []string{commvaulttest.MarcConsoleSession, commvaulttest.JsmithWebSession}
	slices.Sort(want)
	if !slices.Equal(listed, want) || len(got.Warnings) != 0 {
		t.Errorf("sessions %v (warnings %v), want the open ones %v", listed, got.Warnings, want)
	}
}

func TestConsoleNames(t *testing.T) {
	tests := []struct {
		consoleType int
		want        string
	}{
		{5, "CommCell Console"},
		{13, "command line"},
		{14, "remote web CommCell Console"},
		{19, "Web Console / mobile"},
		{0, "console type 0"},
		{27, "console type 27"},
	}
	srv := newServer(t, commvaulttest.Options{Users: []commvaulttest.User{{ID: 77, Name: "consoles"}}})
	for _, tt := range tests {
		if err := srv.AddSession(commvaulttest.Session{UserID: 77, Host: "h", ConsoleType: tt.consoleType, LoginTime: time.Unix(1700000000, 0)}); err != nil {
			t.Fatal(err)
		}
	}
	in := newInstance(t, configFor(t, srv))
	got, err := in.ListUserSessions(testContext(t), vendors.UserQuery{User: vendors.Identity{ID: "consoles"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Sessions) != len(tests) {
		t.Fatalf("got %d sessions", len(got.Sessions))
	}
	for i, tt := range tests {
		if got := attribute(got.Sessions[i], "console"); got != tt.want {
			t.Errorf("consoleType %d is named %q, want %q", tt.consoleType, got, tt.want)
		}
	}
}

func TestLenientDecoding(t *testing.T) {
	const id, name = 10, "jsmith"
	tests := []struct {
		name        string
		body        string
		contentType string
		wantIDs     []string
		check       func(t *testing.T, s []vendors.Session)
		wantErr     error
	}{
		{
			name:    "numbers sent as strings are read",
			body:    `{"sessions":[{"sessionId":"A","loginTime":"1453328412","logoutTime":"0","consoleType":"13","browserSessionId":3,"user":{"userName":"jsmith","userId":"10"}}]}`,
			wantIDs: []string{"A"},
			check: func(t *testing.T, s []vendors.Session) {
				if !s[0].Started.Equal(time.Unix(1453328412, 0)) || !s[0].Active() || attribute(s[0], "console") != "command line" || attribute(s[0], "browser_session") != "3" {
					t.Errorf("session = %+v", s[0])
				}
			},
		},
		{
			name:    "a wrapper holding one object instead of an array is read",
			body:    `{"Sessions":{"sessionId":"B","loginTime":1453328412}}`,
			wantIDs: []string{"B"},
		},
		{
			name:    "times in milliseconds are recognised",
			body:    `[{"sessionId":"C","loginTime":1453328412000}]`,
			wantIDs: []string{"C"},
			check: func(t *testing.T, s []vendors.Session) {
				if !s[0].Started.Equal(time.Unix(1453328412, 0)) {
					t.Errorf("started = %s", s[0].Started)
				}
			},
		},
		{
			name:    "Commvault's processing info beside the list is ignored",
			body:    `{"processinginstructioninfo":{"attributes":[{"name":"exitval","value":"0"}]},"sessions":[{"sessionId":"D"}]}`,
			wantIDs: []string{"D"},
		},
		{
			name:        "XML answered to a JSON request is read",
			body:        `<?xml version="1.0" encoding="UTF-8" standalone="no" ?><sessions logoutTime="0" loginTime="1453328412" host="host002" sessionId="E" consoleType="5"><user userName="jsmith" userId="10" /></sessions>`,
			contentType: "application/xml",
			wantIDs:     []string{"E"},
		},
		{
			name:    "a session of another user is a wrong answer, never listed",
			body:    `{"sessions":[{"sessionId":"F","user":{"userName":"admin","userId":1}}]}`,
			wantErr: vendors.ErrBadAnswer,
		},
		{
			name:    "a session without id is a wrong answer",
			body:    `{"sessions":[{"host":"x"}]}`,
			wantErr: vendors.ErrBadAnswer,
		},
		{
			name:    "an error code in a 200 answer is an error",
			body:    `{"errorCode":587,"errorMessage":"User does not have the required permissions"}`,
			wantErr: vendors.ErrForbidden,
		},
		{
			name:    "a time that is not a number is a wrong answer",
			body:    `{"sessions":[{"sessionId":"G","loginTime":"yesterday"}]}`,
			wantErr: vendors.ErrBadAnswer,
		},
		{
			name:    "text that is neither JSON nor XML is a wrong answer",
			body:    `OK`,
			wantErr: vendors.ErrBadAnswer,
		},
	}
	srv := newServer(t, commvaulttest.Options{})
	in := newInstance(t, configFor(t, srv))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctype := tt.contentType
			if ctype == "" {
				ctype = "application/json"
			}
			got, err := commvault.ParseSessions(in, tt.body, ctype, id, name)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(ids(got), tt.wantIDs) {
				t.Fatalf("ids = %v, want %v", ids(got), tt.wantIDs)
			}
			if tt.check != nil {
				tt.check(t, got)
			}
		})
	}
}

func TestUnknownUser(t *testing.T) {
	for _, noByName := range []bool{false, true} {
		srv := newServer(t, commvaulttest.Options{Seed: true, NoByName: noByName})
		in := newInstance(t, configFor(t, srv))
		_, err := in.ListUserSessions(testContext(t), vendors.UserQuery{User: vendors.Identity{Directory: "CORP", ID: "ghost"}})
		if !errors.Is(err, vendors.ErrNotFound) || !strings.Contains(err.Error(), `no Commvault user named "CORP\ghost"`) {
			t.Errorf("byName off %t: err = %v", noByName, err)
		}
		if srv.Requests("GET /Session") != 0 {
			t.Errorf("sessions were asked for an unknown user")
		}
	}
}

func TestUserLookup(t *testing.T) {
	tests := []struct {
		name       string
		opts       commvaulttest.Options
		user       vendors.Identity
		wantByName int
		wantList   int
	}{
		{"byName finds a domain user", commvaulttest.Options{Seed: true}, marc, 1, 0},
		{"DOMAIN\\name in the id alone is the same user", commvaulttest.Options{Seed: true}, vendors.Identity{ID: `CORP\marc`}, 1, 0},
		{"byName is matched ignoring case", commvaulttest.Options{Seed: true}, vendors.Identity{Directory: "Corp", ID: "Marc"}, 1, 0},
		{"without byName the whole list is read and matched ignoring case", commvaulttest.Options{Seed: true, NoByName: true}, vendors.Identity{Directory: "corp", ID: "MARC"}, 1, 1},
		{"a quote in a name is doubled and escaped", commvaulttest.Options{Users: []commvaulttest.User{{Name: `CORP\o'brien`}}}, vendors.Identity{Directory: "CORP", ID: "o'brien"}, 1, 0},
		{"a name with a slash, space and percent is escaped", commvaulttest.Options{Users: []commvaulttest.User{{Name: "a/b c%d"}}}, vendors.Identity{ID: "a/b c%d"}, 1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t, tt.opts)
			in := newInstance(t, configFor(t, srv))
			if _, err := in.ListUserSessions(testContext(t), vendors.UserQuery{User: tt.user}); err != nil {
				t.Fatal(err)
			}
			if srv.Requests("GET /User/byName") != tt.wantByName || srv.Requests("GET /User") != tt.wantList {
				t.Errorf("requests = %v, want byName x%d, /User x%d", srv.RoutesAsked(), tt.wantByName, tt.wantList)
			}
			if srv.Requests("GET /Session") != 1 {
				t.Errorf("sessions not asked: %v", srv.RoutesAsked())
			}
		})
	}
}

func TestUserCache(t *testing.T) {
	srv := newServer(t, commvaulttest.Options{Seed: true})
	cfg := configFor(t, srv)
	cfg.UserCacheTTL = time.Minute
	in := newInstance(t, cfg)
	clock := newFakeClock()
	commvault.SetClock(in, clock.Now)
	list := func() {
		t.Helper()
		if _, err := in.ListUserSessions(testContext(t), vendors.UserQuery{User: marc}); err != nil {
			t.Fatal(err)
		}
	}

	list()
	list()
	if n := srv.Requests("GET /User/byName"); n != 1 {
		t.Errorf("two lists looked the user up %d times, want 1", n)
	}
	if s := in.Stats(); s.UserCacheHits != 1 || s.UserCacheMisses != 1 {
		t.Errorf("stats = %+v, want 1 hit and 1 miss", s)
	}
	clock.Advance(time.Minute)
	list()
	if n := srv.Requests("GET /User/byName"); n != 2 {
		t.Errorf("after the TTL the user was looked up %d times in all, want 2", n)
	}
	if n := srv.Requests("GET /Session"); n != 3 {
		t.Errorf("sessions asked %d times, want 3 (they are never cached)", n)
	}
}

func TestTheWholeUserListFillsTheCache(t *testing.T) {
	srv := newServer(t, commvaulttest.Options{Seed: true, NoByName: true})
	in := newInstance(t, configFor(t, srv))
	for _, u := range []vendors.Identity{marc, jsmith, marc} {
		if _, err := in.ListUserSessions(testContext(t), vendors.UserQuery{User: u}); err != nil {
			t.Fatal(err)
		}
	}
	if srv.Requests("GET /User") != 1 || srv.Requests("GET /User/byName") != 1 {
		t.Errorf("requests = %v, want one 404 from byName and one user list for three lists", srv.RoutesAsked())
	}
}

func TestSessionRouteFallback(t *testing.T) {
	tests := []struct {
		name         string
		routes       commvaulttest.Routes
		wantSession  int
		wantSessions int
	}{
		{"an older release answers /Session", commvaulttest.OnlySession, 3, 0},
		{"a newer release is found after one 404 and remembered", commvaulttest.OnlySessions, 1, 3},
		{"a release with both uses /Session", commvaulttest.BothRoutes, 3, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t, commvaulttest.Options{Seed: true, Routes: tt.routes})
			in := newInstance(t, configFor(t, srv))
			for range 3 {
				got, err := in.ListUserSessions(testContext(t), vendors.UserQuery{User: marc})
				if err != nil {
					t.Fatal(err)
				}
				if len(got.Sessions) != 2 {
					t.Fatalf("sessions = %v", ids(got.Sessions))
				}
			}
			if srv.Requests("GET /Session") != tt.wantSession || srv.Requests("GET /Sessions") != tt.wantSessions {
				t.Errorf("requests = %v", srv.RoutesAsked())
			}
		})
	}
}

func TestInvalidIdentitiesAreRefusedBeforeAnyRequest(t *testing.T) {
	tests := []struct {
		name string
		user vendors.Identity
	}{
		{"an empty name", vendors.Identity{Directory: "CORP"}},
		{"a backslash inside the name", vendors.Identity{Directory: "CORP", ID: `a\b`}},
		{"a control character", vendors.Identity{ID: "marc\n"}},
	}
	srv := newServer(t, commvaulttest.Options{Seed: true})
	in := newInstance(t, configFor(t, srv))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := in.ListUserSessions(testContext(t), vendors.UserQuery{User: tt.user})
			if !errors.Is(err, vendors.ErrInvalidInput) {
				t.Errorf("err = %v, want ErrInvalidInput", err)
			}
		})
	}
	if srv.LoginAttempts() != 0 {
		t.Errorf("%d logins for nothing", srv.LoginAttempts())
	}
}

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
