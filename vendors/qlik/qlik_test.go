package qlik_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/sessionbot/sessionbot/vendors"
	"github.com/sessionbot/sessionbot/vendors/qlik/qliktest"
)

// ids returns the session ids of a list, sorted.
func ids(list []vendors.Session) []string {
	var out []string
	for _, s := range list {
		out = append(out, s.ID)
	}
	slices.Sort(out)
	return out
}

func sorted(s ...string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

func TestListUserSessions(t *testing.T) {
	marc := vendors.Identity{Directory: "Domain", ID: "Marc"}
	tests := []struct {
		name         string
		opts         qliktest.Options
		user         vendors.Identity
		want         []string
		wantNodes    []int
		wantNoErrors bool
	}{
		{
			name:      "a user with sessions on two proxies gets both, each tagged with its proxy",
			opts:      qliktest.Options{Proxies: 3, Demo: true},
			user:      marc,
			want:      sorted(qliktest.MarcSessionOnProxy0, qliktest.MarcSessionOnProxy1),
			wantNodes: []int{0, 1},
		},
		{
			name:      "the user is matched ignoring case, as directories do",
			opts:      qliktest.Options{Proxies: 2, Demo: true},
			user:      vendors.Identity{Directory: "DOMAIN", ID: "marc"},
			want:      sorted(qliktest.MarcSessionOnProxy0, qliktest.MarcSessionOnProxy1),
			wantNodes: []int{0, 1},
		},
		{
			name: "a user with no session gets an empty list when proxies answer []",
			opts: qliktest.Options{Proxies: 2, Demo: true},
			user: vendors.Identity{Directory: "Domain", ID: "nobody"},
		},
		{
			name: "a user with no session gets an empty list when proxies answer 404",
			opts: qliktest.Options{Proxies: 2, Demo: true, NotFoundForNoSessions: true},
			user: vendors.Identity{Directory: "Domain", ID: "nobody"},
		},
		{
			name:      "a virtual proxy prefix is used on every request",
			opts:      qliktest.Options{Proxies: 2, Demo: true, VirtualProxy: "ProxyX1"},
			user:      marc,
			want:      sorted(qliktest.MarcSessionOnProxy0, qliktest.MarcSessionOnProxy1),
			wantNodes: []int{0, 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			site := newSite(t, tt.opts)
			in := newInstance(t, configFor(t, site))
			got, err := in.ListUserSessions(testContext(t), vendors.UserQuery{User: tt.user})
			if err != nil {
				t.Fatal(err)
			}
			if len(got.Warnings) > 0 {
				t.Errorf("warnings = %v, want none", got.Warnings)
			}
			if !slices.Equal(ids(got.Sessions), tt.want) {
				t.Errorf("sessions = %v, want %v", ids(got.Sessions), tt.want)
			}
			var nodes []string
			for _, i := range tt.wantNodes {
				nodes = append(nodes, site.Proxies()[i])
			}
			var gotNodes []string
			for _, s := range got.Sessions {
				gotNodes = append(gotNodes, s.Node)
				if s.Vendor != vendors.Qlik || s.Instance != "qlik-test" {
					t.Errorf("session %s tagged %s/%s, want qlik/qlik-test", s.ID, s.Vendor, s.Instance)
				}
				if !s.User.Equal(tt.user) {
					t.Errorf("session %s belongs to %s, want %s", s.ID, s.User, tt.user)
				}
			}
			slices.Sort(gotNodes)
			slices.Sort(nodes)
			if !slices.Equal(gotNodes, nodes) {
				t.Errorf("nodes = %v, want %v", gotNodes, nodes)
			}
		})
	}
}

func TestSessionsAreDecodedWithAttributesAndUserName(t *testing.T) {
	site, in := demoSite(t)
	s, err := in.GetSession(testContext(t), qliktest.MarcSessionOnProxy1)
	if err != nil {
		t.Fatal(err)
	}
	want := vendors.Session{
		Vendor:   vendors.Qlik,
		Instance: "qlik-test",
		ID:       qliktest.MarcSessionOnProxy1,
		User:     vendors.Identity{Directory: "Domain", ID: "Marc"},
		UserName: "Marc Dupont",
		Node:     site.Proxies()[1],
		Attributes: []vendors.Attribute{
			{Name: "group", Value: "Sales"}, {Name: "group", Value: "EMEA"}, {Name: "email", Value: "marc@domain.example"},
		},
	}
	if s.Vendor != want.Vendor || s.Instance != want.Instance || s.ID != want.ID || s.User != want.User ||
		s.UserName != want.UserName || s.Node != want.Node || !slices.Equal(s.Attributes, want.Attributes) {
		t.Errorf("session =\n %+v\nwant\n %+v", s, want)
	}
	if !s.Started.IsZero() || !s.LastActive.IsZero() || !s.Ended.IsZero() || !s.Active() {
		t.Errorf("times = %v %v %v, want zero: Qlik gives none", s.Started, s.LastActive, s.Ended)
	}
}

func TestGetSession(t *testing.T) {
	tests := []struct {
		name     string
		id       string
		wantNode int
		wantErr  error
	}{
		{name: "a session on the first proxy is found there", id: qliktest.MarcSessionOnProxy0, wantNode: 0},
		{name: "a session on the last proxy is found there", id: qliktest.MarcSessionOnProxy1, wantNode: 1},
		{name: "an id in upper case finds the same session", id: strings.ToUpper(qliktest.KenSession), wantNode: 0},
		{name: "a session no proxy holds is not found", id: "00000000-0000-4000-8000-000000000000", wantErr: vendors.ErrNotFound},
		{name: "an id that is not a GUID is refused", id: "not-a-guid", wantErr: vendors.ErrInvalidInput},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			site := newSite(t, qliktest.Options{Proxies: 3, Demo: true})
			in := newInstance(t, configFor(t, site))
			s, err := in.GetSession(testContext(t), tt.id)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !strings.EqualFold(s.ID, tt.id) || s.Node != site.Proxies()[tt.wantNode] {
				t.Errorf("got %s on %s, want %s on %s", s.ID, s.Node, tt.id, site.Proxies()[tt.wantNode])
			}
		})
	}
}

func TestGetSessionDoesNotClaimNotFoundWhenAProxyFailed(t *testing.T) {
	site := newSite(t, qliktest.Options{Proxies: 3, Demo: true})
	site.Fail(2, qliktest.ServerError)
	in := newInstance(t, configFor(t, site))
	_, err := in.GetSession(testContext(t), "00000000-0000-4000-8000-000000000000")
	if errors.Is(err, vendors.ErrNotFound) || !errors.Is(err, vendors.ErrUnavailable) {
		t.Fatalf("err = %v, want ErrUnavailable and not ErrNotFound: the failed proxy may hold it", err)
	}
	if !strings.Contains(err.Error(), "not on 2 of 3 proxies") {
		t.Errorf("err = %q, want it to say how many proxies answered", err)
	}
}

func TestListAllSessions(t *testing.T) {
	site := newSite(t, qliktest.Options{Proxies: 3, Demo: true})
	in := newInstance(t, configFor(t, site))
	got, err := in.ListAllSessions(testContext(t))
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for i := range 3 {
		for _, s := range site.Sessions(i) {
			want = append(want, s.SessionID)
		}
	}
	slices.Sort(want)
	if len(want) != 6 || !slices.Equal(ids(got.Sessions), want) {
		t.Errorf("sessions = %v, want %v", ids(got.Sessions), want)
	}
}

func TestEndSession(t *testing.T) {
	site, in := demoSite(t)
	ctx := testContext(t)

	s, err := in.GetSession(ctx, qliktest.MarcSessionOnProxy1)
	if err != nil {
		t.Fatal(err)
	}
	if err := in.EndSession(ctx, s); err != nil {
		t.Fatal(err)
	}
	for _, left := range site.Sessions(1) {
		if left.SessionID == qliktest.MarcSessionOnProxy1 {
			t.Fatal("the session is still on its proxy")
		}
	}
	if len(site.Sessions(0)) != 3 {
		t.Errorf("proxy 0 holds %d sessions, want its 3 untouched", len(site.Sessions(0)))
	}
	if site.Deletes() != 1 {
		t.Errorf("deletes = %d, want 1: only the proxy holding it is asked", site.Deletes())
	}

	err = in.EndSession(ctx, s)
	if !errors.Is(err, vendors.ErrNotFound) {
		t.Errorf("ending it again: err = %v, want ErrNotFound", err)
	}
	var nodeErr *vendors.NodeError
	if !errors.As(err, &nodeErr) || nodeErr.Node != site.Proxies()[1] {
		t.Errorf("err = %#v, want a NodeError naming proxy 1", err)
	}
}

func TestEndSessionWithoutNodeFindsItFirst(t *testing.T) {
	site, in := demoSite(t)
	if err := in.EndSession(testContext(t), vendors.Session{ID: qliktest.JsmithSessionOnProxy1}); err != nil {
		t.Fatal(err)
	}
	if len(site.Sessions(1)) != 2 || site.Deletes() != 1 {
		t.Errorf("proxy 1 holds %d sessions after %d deletes, want 2 after 1", len(site.Sessions(1)), site.Deletes())
	}
}

func TestEndSessionRefusesWhatIsNotThisSitesSession(t *testing.T) {
	site, in := demoSite(t)
	tests := []struct {
		name    string
		session vendors.Session
	}{
		{"a node that is not one of the site's proxies", vendors.Session{ID: qliktest.KenSession, Node: "evil.example:4243"}},
		{"a session of another instance", vendors.Session{ID: qliktest.KenSession, Instance: "qlik-prod", Node: site.Proxies()[0]}},
		{"a session of another vendor", vendors.Session{ID: qliktest.KenSession, Vendor: vendors.Commvault, Node: site.Proxies()[0]}},
		{"an id that is not a GUID", vendors.Session{ID: "../user/Domain/Ken", Node: site.Proxies()[0]}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(site.Requests())
			err := in.EndSession(testContext(t), tt.session)
			if !errors.Is(err, vendors.ErrInvalidInput) {
				t.Errorf("err = %v, want ErrInvalidInput", err)
			}
			if n := len(site.Requests()) - before; n != 0 {
				t.Errorf("%d requests were made, want none", n)
			}
		})
	}
}

func TestEndSessionAcceptsThePlainSessionAnswerToo(t *testing.T) {
	// The Swagger file says {Session, LastSessionForUser}; Qlik's help pages
	// show the session alone. Both must end the session without error.
	site := newSite(t, qliktest.Options{Proxies: 2, Demo: true, DeleteAnswersPlainSession: true})
	in := newInstance(t, configFor(t, site))
	err := in.EndSession(testContext(t), vendors.Session{ID: qliktest.KenSession, Node: site.Proxies()[0]})
	if err != nil {
		t.Fatal(err)
	}
	if len(site.Sessions(0)) != 2 {
		t.Errorf("proxy 0 holds %d sessions, want 2", len(site.Sessions(0)))
	}
}

func TestLogoutUser(t *testing.T) {
	site := newSite(t, qliktest.Options{Proxies: 3, Demo: true})
	in := newInstance(t, configFor(t, site))
	got, err := in.LogoutUser(testContext(t), vendors.Identity{Directory: "corp", ID: "JSMITH"})
	if err != nil {
		t.Fatal(err)
	}
	want := sorted(qliktest.JsmithSessionOnProxy0, qliktest.JsmithSessionOnProxy1)
	if !slices.Equal(ids(got.Sessions), want) {
		t.Errorf("ended %v, want %v", ids(got.Sessions), want)
	}
	for i := range 3 {
		for _, s := range site.Sessions(i) {
			if strings.EqualFold(s.UserID, "jsmith") {
				t.Errorf("proxy %d still holds %s", i, s.SessionID)
			}
		}
	}
	if site.Deletes() != 3 {
		t.Errorf("deletes = %d, want one per proxy", site.Deletes())
	}
}

func TestProbe(t *testing.T) {
	tests := []struct {
		name    string
		siteVP  string
		ourVP   string
		fail    qliktest.Mode
		wantErr error
	}{
		{name: "every proxy answering passes"},
		{name: "a virtual proxy both sides know passes", siteVP: "ProxyX1", ourVP: "/ProxyX1/"},
		{name: "a virtual proxy the site does not have fails with a hint", siteVP: "ProxyX1", ourVP: "ProxyX2", wantErr: vendors.ErrNotFound},
		{name: "one proxy rejecting us fails", fail: qliktest.Forbidden, wantErr: vendors.ErrForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			site := newSite(t, qliktest.Options{Proxies: 2, VirtualProxy: tt.siteVP})
			site.Fail(1, tt.fail)
			cfg := configFor(t, site)
			cfg.VirtualProxy = tt.ourVP
			err := newInstance(t, cfg).Probe(testContext(t))
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if errors.Is(tt.wantErr, vendors.ErrNotFound) && !strings.Contains(err.Error(), "virtual_proxy") {
				t.Errorf("err = %q, want a hint about virtual_proxy", err)
			}
		})
	}
}

func TestNodesListsTheConfiguredProxiesNormalised(t *testing.T) {
	site := newSite(t, qliktest.Options{Proxies: 2})
	cfg := configFor(t, site)
	cfg.Proxies = []string{"https://" + site.Proxies()[0], site.Proxies()[1], site.Proxies()[1]}
	nodes, err := newInstance(t, cfg).Nodes(testContext(t))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(nodes, site.Proxies()) {
		t.Errorf("nodes = %v, want %v (duplicates dropped)", nodes, site.Proxies())
	}
}

func TestCapabilities(t *testing.T) {
	site := newSite(t, qliktest.Options{Proxies: 1})
	var in vendors.Instance = newInstance(t, configFor(t, site))
	want := vendors.CanListUser | vendors.CanGet | vendors.CanListAll | vendors.CanEnd | vendors.CanLogout
	if got := vendors.Capabilities(in); got != want {
		t.Errorf("capabilities = %s, want %s", got, want)
	}
	if in.Type() != vendors.Qlik || in.Name() != "qlik-test" {
		t.Errorf("type/name = %s/%s", in.Type(), in.Name())
	}
}
