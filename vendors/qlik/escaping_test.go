package qlik_test

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/sessionbot/sessionbot/vendors"
	"github.com/sessionbot/sessionbot/vendors/qlik"
	"github.com/sessionbot/sessionbot/vendors/qlik/qliktest"
)

// hostile are user ids that would change the path or query if they were
// not escaped as one segment.
var hostile = []struct {
	name string
	id   string
}{
	{"a slash", "a/b"},
	{"a backslash", `a\b`},
	{"three dots", "..."},
	{"dot-dot and a slash", "../session"},
	{"a query", "x?y=1"},
	{"a fragment", "x#y"},
	{"a percent sign", "100%"},
	{"an escape-looking percent", "a%2Fb"},
	{"double quotes", `"q"`},
	{"single quotes", "'q'"},
	{"a space", "jean dupont"},
	{"a plus", "a+b"},
	{"a semicolon and equals", "a;b=c"},
	{"an at sign", "marc@domain.example"},
	{"non-ASCII", "jürgen.müller"},
	{"a CJK name", "田中"},
	{"an emoji", "x🙂"},
}

func TestEscapeSegmentKeepsEveryValueOneSegment(t *testing.T) {
	tests := append(hostile, struct{ name, id string }{"plain", "marc"}, struct{ name, id string }{"a control character", "a\x00b\nc"},
		struct{ name, id string }{"dot-dot", ".."}, struct{ name, id string }{"a single dot", "."})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := qlik.EscapeSegment(tt.id)
			if strings.ContainsAny(got, "/?#\\ \"'") {
				t.Errorf("EscapeSegment(%q) = %q, which can end the segment", tt.id, got)
			}
			if got == "." || got == ".." {
				t.Errorf("EscapeSegment(%q) = %q, a dot segment", tt.id, got)
			}
			back, err := url.PathUnescape(got)
			if err != nil || back != tt.id {
				t.Errorf("PathUnescape(%q) = %q, %v; want %q back", got, back, err, tt.id)
			}
		})
	}
	for in, want := range map[string]string{".": "%2E", "..": "%2E%2E", "a.b": "a.b", "a/b": "a%2Fb", "ü": "%C3%BC"} {
		if got := qlik.EscapeSegment(in); got != want {
			t.Errorf("EscapeSegment(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestHostileUserIDsArriveIntactAsOneSegment(t *testing.T) {
	site := newSite(t, qliktest.Options{Proxies: 1})
	in := newInstance(t, configFor(t, site))
	for i, tt := range hostile {
		t.Run(tt.name, func(t *testing.T) {
			id := fmt.Sprintf("00000000-0000-4000-8000-%012d", i)
			site.AddSession(0, qliktest.Session{UserDirectory: "Domain", UserID: tt.id, SessionID: id})
			// A near neighbour that a mangled path might match instead.
			site.AddSession(0, qliktest.Session{UserDirectory: "Domain", UserID: tt.id + "x", SessionID: fmt.Sprintf("ffffffff-0000-4000-8000-%012d", i)})
			user := vendors.Identity{Directory: "Domain", ID: tt.id}
			before := len(site.Requests())

			got, err := in.ListUserSessions(testContext(t), vendors.UserQuery{User: user})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(ids(got.Sessions), []string{id}) {
				t.Errorf("sessions = %v, want only %s", ids(got.Sessions), id)
			}
			reqs := site.Requests()[before:]
			if len(reqs) != 1 {
				t.Fatalf("%d requests, want 1", len(reqs))
			}
			if want := []string{"user", "Domain", tt.id}; !slices.Equal(reqs[0].Segments, want) {
				t.Errorf("the proxy saw segments %q (path %q), want %q", reqs[0].Segments, reqs[0].EscapedPath, want)
			}
			if reqs[0].Status != 200 {
				t.Errorf("the proxy answered %d, want 200", reqs[0].Status)
			}

			ended, err := in.LogoutUser(testContext(t), user)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(ids(ended.Sessions), []string{id}) {
				t.Errorf("logout ended %v, want only %s", ids(ended.Sessions), id)
			}
		})
	}
}

func TestHostileDirectoryArrivesIntactAsOneSegment(t *testing.T) {
	site := newSite(t, qliktest.Options{Proxies: 1})
	in := newInstance(t, configFor(t, site))
	dir := "../session?x=1#"
	site.AddSession(0, qliktest.Session{UserDirectory: dir, UserID: "marc", SessionID: qliktest.KenSession})
	got, err := in.ListUserSessions(testContext(t), vendors.UserQuery{User: vendors.Identity{Directory: dir, ID: "marc"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Sessions) != 1 {
		t.Errorf("sessions = %v, want the one of %q", ids(got.Sessions), dir)
	}
	if segs := site.Requests()[0].Segments; !slices.Equal(segs, []string{"user", dir, "marc"}) {
		t.Errorf("segments = %q", segs)
	}
}

func TestUnusableInputIsRefusedBeforeAnyRequest(t *testing.T) {
	site, in := demoSite(t)
	users := []struct {
		name string
		user vendors.Identity
	}{
		{"a user id with a NUL", vendors.Identity{Directory: "Domain", ID: "a\x00b"}},
		{"a user id with a newline", vendors.Identity{Directory: "Domain", ID: "marc\nx"}},
		{"a user id with an escape", vendors.Identity{Directory: "Domain", ID: "\x1b[31m"}},
		{"a user id with DEL", vendors.Identity{Directory: "Domain", ID: "a\x7f"}},
		{"a directory with a tab", vendors.Identity{Directory: "Dom\tain", ID: "marc"}},
		{"an empty user id", vendors.Identity{Directory: "Domain", ID: ""}},
		{"an empty directory", vendors.Identity{Directory: "", ID: "marc"}},
		{"a user id of dot-dot", vendors.Identity{Directory: "CORP", ID: ".."}},
		{"a user id of one dot", vendors.Identity{Directory: "CORP", ID: "."}},
		{"a directory of dot-dot", vendors.Identity{Directory: "..", ID: "marc"}},
		{"a directory of one dot", vendors.Identity{Directory: ".", ID: "marc"}},
	}
	for _, tt := range users {
		t.Run("listing for "+tt.name, func(t *testing.T) {
			_, err := in.ListUserSessions(testContext(t), vendors.UserQuery{User: tt.user})
			if !errors.Is(err, vendors.ErrInvalidInput) {
				t.Errorf("err = %v, want ErrInvalidInput", err)
			}
			_, err = in.LogoutUser(testContext(t), tt.user)
			if !errors.Is(err, vendors.ErrInvalidInput) {
				t.Errorf("logout err = %v, want ErrInvalidInput", err)
			}
		})
	}
	sessionIDs := append([]string{
		"", "7b8ab85e", "7b8ab85e-0c85-4fcb-8e56-4ead683153fb/..", "7b8ab85e-0c85-4fcb-8e56-4ead683153fbx",
		"{7b8ab85e-0c85-4fcb-8e56-4ead683153fb}", " 7b8ab85e-0c85-4fcb-8e56-4ead683153fb", "7b8ab85e-0c85-4fcb-8e56-4ead683153fb\n",
		"zzzzzzzz-0c85-4fcb-8e56-4ead683153fb", "a\x00b",
	}, func() []string {
		var out []string
		for _, h := range hostile {
			out = append(out, h.id)
		}
		return out
	}()...)
	for _, id := range sessionIDs {
		t.Run("session id "+url.PathEscape(id), func(t *testing.T) {
			_, err := in.GetSession(testContext(t), id)
			if !errors.Is(err, vendors.ErrInvalidInput) {
				t.Errorf("GetSession err = %v, want ErrInvalidInput", err)
			}
			err = in.EndSession(testContext(t), vendors.Session{ID: id, Node: site.Proxies()[0]})
			if !errors.Is(err, vendors.ErrInvalidInput) {
				t.Errorf("EndSession err = %v, want ErrInvalidInput", err)
			}
		})
	}
	if n := len(site.Requests()); n != 0 {
		t.Errorf("%d requests reached the proxies, want none", n)
	}
}
