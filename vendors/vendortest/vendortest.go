// Package vendortest is the conformance suite every vendor adapter passes,
// each against its own fake: the same cases, the same error kinds, the
// same words. A new adapter is done when it passes Run.
package vendortest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessionbot/sessionbot/internal/testkit"
	"github.com/sessionbot/sessionbot/vendors"
	"github.com/sessionbot/sessionbot/vendors/internal/httpx"
)

// Fault is a way a vendor's server misbehaves.
type Fault int

const (
	Unauthorized Fault = iota + 1 // 401, even to a fresh login
	Forbidden                     // 403
	RateLimited                   // 429 with Retry-After: 0, every time
	ServerError                   // 500 echoing the request's credentials
	HTML                          // 200 with a web page (a wrong port)
	InvalidJSON                   // 200 with broken JSON
	Oversized                     // 200 declaring a body far over any limit
	Hang                          // no answer until the client gives up
)

// Faults lists every fault, for harnesses and the suite.
var Faults = []Fault{Unauthorized, Forbidden, RateLimited, ServerError, HTML, InvalidJSON, Oversized, Hang}

var faultNames = map[Fault]string{
	Unauthorized: "401", Forbidden: "403", RateLimited: "429", ServerError: "500", HTML: "HTML",
	InvalidJSON: "invalid JSON", Oversized: "oversized", Hang: "timeout",
}

func (f Fault) String() string { return faultNames[f] }

// expected is what every adapter says for a fault: the vendors sentinel,
// the shared kind and the shared words.
var expected = map[Fault]struct {
	is    error
	kind  httpx.Kind
	words string
}{
	Unauthorized: {vendors.ErrUnauthorized, httpx.Unauthorized, "401 Unauthorized"},
	Forbidden:    {vendors.ErrForbidden, httpx.Forbidden, "403 Forbidden"},
	RateLimited:  {vendors.ErrUnavailable, httpx.RateLimited, "429 Too Many Requests"},
	ServerError:  {vendors.ErrUnavailable, httpx.Server, "500 Internal Server Error"},
	HTML:         {vendors.ErrBadAnswer, httpx.Garbage, "answered HTML"},
	InvalidJSON:  {vendors.ErrBadAnswer, httpx.Garbage, "answered invalid JSON"},
	Oversized:    {vendors.ErrBadAnswer, httpx.TooLarge, "answer too large"},
	Hang:         {vendors.ErrTimeout, httpx.Timeout, "no answer within"},
}

// Fixture is one adapter instance on a fresh fake of its own.
type Fixture struct {
	Instance vendors.Instance
	// User has sessions (active ones, for a vendor that can end them);
	// Nobody is known to the vendor and has none.
	User, Nobody vendors.Identity
	// Requests counts the requests the fake has received.
	Requests func() int
	// Secrets are what the adapter holds that must never show (passwords,
	// client secrets); the credentials it sends are added by the suite.
	Secrets []string
	// Intercept, for an HTTP vendor, has the fake answer every later API
	// request with h once the request passed the fake's own checks. Nil
	// for other transports.
	Intercept func(h http.Handler)
}

// Harness runs one adapter against its fake.
type Harness struct {
	// Capabilities is what the adapter declares it can do.
	Capabilities vendors.Capability
	// New starts a fake and an adapter on it whose request timeout is at
	// most a second.
	New func(t *testing.T) Fixture
	// Faulty, for a vendor that is not HTTP, starts a fixture whose fake
	// fails as f does.
	Faulty func(t *testing.T, f Fault) Fixture
	// NotApplicable declares the faults the vendor cannot meet, and why.
	NotApplicable map[Fault]string
	// Capacity starts a fixture like New's whose adapter has at most
	// conns connections to the vendor (max_connections) and waits at
	// most wait for one (queue_wait). Nil only with NoCapacity.
	Capacity func(t *testing.T, conns int, wait time.Duration) Fixture
	// NoCapacity says why an adapter has no connection limit to test.
	NoCapacity string
}

// cases are the suite's cases but the faults, by name.
var cases = []struct {
	name string
	run  func(*testing.T, Harness)
}{
	{"capabilities", capabilities},
	{"list by user", listByUser},
	{"by id", byID},
	{"all", listAll},
	{"end one", endOne},
	{"log out", logOut},
	{"hostile ids", hostile},
	{"busy", busy},
}

// Run is the suite: every case, then every fault, each on a fake of its own.
func Run(t *testing.T, h Harness) {
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.run(t, h)
		})
	}
	for _, f := range Faults {
		t.Run("fault "+f.String(), func(t *testing.T) {
			t.Parallel()
			fault(t, h, f)
		})
	}
}

func capabilities(t *testing.T, h Harness) {
	fx := h.New(t)
	if got := vendors.Capabilities(fx.Instance); got != h.Capabilities {
		t.Errorf("the adapter can %q, declared %q", got, h.Capabilities)
	}
	if err := fx.Instance.Probe(t.Context()); err != nil {
		t.Errorf("probe: %v", err)
	}
}

func listUser(t *testing.T, fx Fixture, who vendors.Identity) []vendors.Session {
	t.Helper()
	l, err := fx.Instance.(vendors.UserSessionLister).ListUserSessions(t.Context(), vendors.UserQuery{User: who})
	if err != nil {
		t.Fatalf("list %s: %v", who, err)
	}
	if len(l.Warnings) > 0 {
		t.Errorf("list %s warns %v", who, l.Warnings)
	}
	for _, s := range l.Sessions {
		if s.ID == "" || s.Instance != fx.Instance.Name() || s.Vendor != fx.Instance.Type() {
			t.Errorf("session %+v lacks its id, instance or vendor", s)
		}
		if !s.User.Equal(who) && !strings.EqualFold(s.User.ID, who.ID) {
			t.Errorf("listing %s gave a session of %s", who, s.User)
		}
	}
	return l.Sessions
}

func active(list []vendors.Session) []vendors.Session {
	return slices.DeleteFunc(slices.Clone(list), func(s vendors.Session) bool { return !s.Active() })
}

func need(t *testing.T, h Harness, c vendors.Capability) {
	t.Helper()
	if !h.Capabilities.Has(c) {
		t.Skipf("not applicable: the adapter does not declare %q", c)
	}
}

func listByUser(t *testing.T, h Harness) {
	need(t, h, vendors.CanListUser)
	fx := h.New(t)
	if len(listUser(t, fx, fx.User)) == 0 {
		t.Errorf("%s has no session", fx.User)
	}
	if got := listUser(t, fx, fx.Nobody); len(got) != 0 {
		t.Errorf("%s has sessions %v, want none", fx.Nobody, got)
	}
	// Someone the vendor does not know: nothing, or not found; never another error.
	unknown := Stranger(fx.User)
	l, err := fx.Instance.(vendors.UserSessionLister).ListUserSessions(t.Context(), vendors.UserQuery{User: unknown})
	if (err != nil && !errors.Is(err, vendors.ErrNotFound)) || len(l.Sessions) > 0 {
		t.Errorf("an unknown person: %d sessions, err %v; want none, or not found", len(l.Sessions), err)
	}
}

// Stranger is a person the vendor does not know, named like user: in the
// same directory, or at the same domain.
func Stranger(user vendors.Identity) vendors.Identity {
	stranger := vendors.Identity{Directory: user.Directory, ID: "no-such-person-7f3a"}
	if _, domain, ok := strings.Cut(user.ID, "@"); ok {
		stranger.ID += "@" + domain
	}
	return stranger
}

func byID(t *testing.T, h Harness) {
	need(t, h, vendors.CanGet)
	fx := h.New(t)
	get := fx.Instance.(vendors.SessionGetter)
	for _, s := range listUser(t, fx, fx.User) {
		got, err := get.GetSession(t.Context(), s.ID)
		if err != nil || got.ID != s.ID {
			t.Errorf("get %s: %+v, %v", s.ID, got, err)
		}
	}
	if _, err := get.GetSession(t.Context(), "00000000-0000-0000-0000-000000000000"); !errors.Is(err, vendors.ErrNotFound) {
		t.Errorf("get an unknown id: err = %v, want not found", err)
	}
}

func listAll(t *testing.T, h Harness) {
	need(t, h, vendors.CanListAll)
	fx := h.New(t)
	l, err := fx.Instance.(vendors.AllSessionLister).ListAllSessions(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	// Every open session of the user's; a user listing may also show
	// history (ended sessions), which "list all" leaves out.
	for _, s := range listUser(t, fx, fx.User) {
		if !s.Active() {
			continue
		}
		if !slices.ContainsFunc(l.Sessions, func(o vendors.Session) bool { return o.ID == s.ID }) {
			t.Errorf("list all lacks %s's session %s", fx.User, s.ID)
		}
	}
}

func endOne(t *testing.T, h Harness) {
	need(t, h, vendors.CanEnd)
	fx := h.New(t)
	before := active(listUser(t, fx, fx.User))
	if len(before) == 0 {
		t.Fatalf("%s has no active session", fx.User)
	}
	if err := fx.Instance.(vendors.SessionEnder).EndSession(t.Context(), before[0]); err != nil {
		t.Fatalf("end %s: %v", before[0].ID, err)
	}
	if slices.ContainsFunc(active(listUser(t, fx, fx.User)), func(s vendors.Session) bool { return s.ID == before[0].ID }) {
		t.Errorf("session %s is still active after it was ended", before[0].ID)
	}
}

func logOut(t *testing.T, h Harness) {
	need(t, h, vendors.CanLogout)
	fx := h.New(t)
	l, err := fx.Instance.(vendors.UserLogouter).LogoutUser(t.Context(), fx.User)
	if err != nil {
		t.Fatalf("log out %s: %v", fx.User, err)
	}
	for _, s := range l.Sessions {
		if !s.User.Equal(fx.User) && !strings.EqualFold(s.User.ID, fx.User.ID) {
			t.Errorf("logging %s out ended a session of %s", fx.User, s.User)
		}
	}
	if left := active(listUser(t, fx, fx.User)); len(left) > 0 {
		t.Errorf("%s still has active sessions %v after logging out", fx.User, left)
	}
}

// hostileIDs are what no vendor may be asked: they would split a header,
// a path or a command line.
var hostileIDs = []string{"", "marc\r\nX-Injected: 1", "marc\x00", "marc\x1b[31m", strings.Repeat("a", 64<<10)}

func hostile(t *testing.T, h Harness) {
	fx := h.New(t)
	before := fx.Requests()
	refused := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, vendors.ErrInvalidInput) {
			t.Errorf("%s: err = %v, want invalid input", what, err)
		}
	}
	for _, id := range hostileIDs {
		q := fmt.Sprintf("%.20q", id)
		if h.Capabilities.Has(vendors.CanListUser) {
			_, err := fx.Instance.(vendors.UserSessionLister).ListUserSessions(t.Context(), vendors.UserQuery{User: vendors.Identity{Directory: fx.User.Directory, ID: id}})
			refused("list user "+q, err)
		}
		if h.Capabilities.Has(vendors.CanLogout) {
			_, err := fx.Instance.(vendors.UserLogouter).LogoutUser(t.Context(), vendors.Identity{Directory: fx.User.Directory, ID: id})
			refused("log out "+q, err)
		}
		if h.Capabilities.Has(vendors.CanGet) {
			_, err := fx.Instance.(vendors.SessionGetter).GetSession(t.Context(), id)
			refused("get "+q, err)
		}
		if h.Capabilities.Has(vendors.CanEnd) {
			s := vendors.Session{Vendor: fx.Instance.Type(), Instance: fx.Instance.Name(), ID: id, User: fx.User}
			refused("end "+q, fx.Instance.(vendors.SessionEnder).EndSession(t.Context(), s))
		}
	}
	if n := fx.Requests() - before; n != 0 {
		t.Errorf("%d requests reached the vendor, want none", n)
	}
}

// busy: with every connection held by a request the vendor is slow to
// answer, a list is answered busy at once, without a request, instead of
// queueing into a timeout; an approved change, and the re-read before it,
// wait for a connection instead.
func busy(t *testing.T, h Harness) {
	if h.Capacity == nil {
		if h.NoCapacity == "" {
			t.Fatal("the harness neither starts a fixture with a connection limit nor says why it has none")
		}
		t.Skipf("not applicable, as the harness declares: %s", h.NoCapacity)
	}
	// Short, so that the held request is released well within its own
	// timeout (at most a second).
	const wait = 50 * time.Millisecond
	fx := h.Capacity(t, 1, wait)
	if fx.Intercept == nil {
		t.Fatal("the fixture cannot hold the vendor slow: it has no Intercept")
	}
	ctx := t.Context()
	sessions := active(listUser(t, fx, fx.User)) // log in and warm caches first
	if len(sessions) == 0 && (h.Capabilities.Has(vendors.CanGet) || h.Capabilities.Has(vendors.CanEnd)) {
		t.Fatalf("%s has no active session to read and end", fx.User)
	}
	list := func(ctx context.Context) error {
		_, err := fx.Instance.(vendors.UserSessionLister).ListUserSessions(ctx, vendors.UserQuery{User: fx.User})
		return err
	}

	// The vendor holds the next request until released.
	hold := testkit.NewHold()
	fx.Intercept(hold)
	first := make(chan error, 1)
	go func() { first <- list(ctx) }()
	hold.Reached(t, "the held list never reached the vendor")

	before := fx.Requests()
	err := list(ctx)
	select {
	case <-first:
		t.Fatal("the held list was answered before the busy one was: the busy one waited for it")
	default:
	}
	if !errors.Is(err, vendors.ErrBusy) || errors.Is(err, vendors.ErrTimeout) {
		t.Errorf("err = %v, want busy, not a timeout", err)
	}
	if n := fx.Requests() - before; n != 0 {
		t.Errorf("the busy list sent %d requests, want none", n)
	}

	// Approved: the re-read as commands makes it (of the last session, so
	// that it does not race the end of the first), and the change.
	reread := func(ctx context.Context) error { return list(ctx) }
	if h.Capabilities.Has(vendors.CanGet) {
		reread = func(ctx context.Context) error {
			_, err := fx.Instance.(vendors.SessionGetter).GetSession(ctx, sessions[len(sessions)-1].ID)
			return err
		}
	}
	change := func(ctx context.Context) error {
		switch {
		case h.Capabilities.Has(vendors.CanEnd):
			return fx.Instance.(vendors.SessionEnder).EndSession(ctx, sessions[0])
		case h.Capabilities.Has(vendors.CanLogout):
			_, err := fx.Instance.(vendors.UserLogouter).LogoutUser(ctx, fx.User)
			return err
		}
		return nil
	}
	approved := make(chan error, 2)
	for _, op := range []func(context.Context) error{reread, change} {
		go func() { approved <- op(vendors.ForChange(ctx)) }()
	}
	time.Sleep(3 * wait) // longer than a list may wait
	select {
	case err := <-approved:
		t.Fatalf("an approved change gave up while the connection was held: %v", err)
	default:
	}
	fx.Intercept(nil)
	hold.Release()
	<-first
	for range 2 {
		if err := <-approved; err != nil {
			t.Errorf("approved, once the connection was free: %v", err)
		}
	}
}

func fault(t *testing.T, h Harness, f Fault) {
	if why, ok := h.NotApplicable[f]; ok {
		t.Skipf("not applicable, as the harness declares: %s", why)
	}
	var fx Fixture
	seen := &credentials{}
	switch {
	case h.Faulty != nil:
		fx = h.Faulty(t, f)
	default:
		fx = h.New(t)
		if fx.Intercept == nil {
			t.Fatalf("the fixture can neither inject %s nor declares it not applicable", f)
		}
		listUser(t, fx, fx.User) // log in and warm caches: the fault hits the API itself
		fx.Intercept(answer(f, fx.Secrets, seen))
	}
	_, err := fx.Instance.(vendors.UserSessionLister).ListUserSessions(t.Context(), vendors.UserQuery{User: fx.User})
	want := expected[f]
	if err == nil {
		t.Fatalf("no error, want %s", want.words)
	}
	if !errors.Is(err, want.is) || !strings.Contains(err.Error(), want.words) {
		t.Errorf("err = %q, want %v saying %q", err, want.is, want.words)
	}
	if errors.Is(err, vendors.ErrNotFound) {
		t.Errorf("err = %q passes for not found: a failure must not look like an empty answer", err)
	}
	if fx.Intercept != nil && httpx.KindOf(err) != want.kind {
		t.Errorf("err = %q is of kind %q, want %q", err, httpx.KindOf(err), want.kind)
	}
	for _, s := range append(seen.list(), fx.Secrets...) {
		for _, form := range []string{s, url.QueryEscape(s)} {
			if len(s) >= 4 && strings.Contains(err.Error(), form) {
				t.Errorf("err = %q shows a secret", err)
			}
		}
	}
}

// credentials records the credentials requests carried, to check that
// none shows in an error.
type credentials struct {
	mu  sync.Mutex
	got []string
}

func (c *credentials) add(r *http.Request) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, h := range []string{"Authorization", "Authtoken"} {
		if v := r.Header.Get(h); v != "" {
			c.got = append(c.got, v, strings.TrimPrefix(v, "Bearer "))
		}
	}
}

func (c *credentials) list() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.got)
}

// answer is what a misbehaving server answers. Error answers echo the
// request's credentials and the adapter's secrets, as careless servers do.
func answer(f Fault, secrets []string, seen *credentials) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen.add(r)
		echo := "request " + r.Method + " " + r.URL.RequestURI() + " with " + strings.Join(seen.list(), ", ") + " " + strings.Join(secrets, " ")
		for _, s := range secrets {
			echo += " " + url.QueryEscape(s)
		}
		switch f {
		case Unauthorized:
			http.Error(w, "Unauthorized: "+echo, http.StatusUnauthorized)
		case Forbidden:
			http.Error(w, "Forbidden: "+echo, http.StatusForbidden)
		case RateLimited:
			w.Header().Set("Retry-After", "0")
			http.Error(w, "slow down", http.StatusTooManyRequests)
		case ServerError:
			http.Error(w, "NullReferenceException at Api.Sessions.Get(): "+echo, http.StatusInternalServerError)
		case HTML:
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprint(w, "<!DOCTYPE html>\n<html><head><title>Sign in</title></head><body>"+echo+"</body></html>")
		case InvalidJSON:
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `[{"id":"7b8ab85e", "user":`)
		case Oversized:
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Content-Length", fmt.Sprint(int64(1)<<40))
			fmt.Fprint(w, `[`) // the rest never comes: the adapter must not wait for it
		case Hang:
			<-r.Context().Done()
		}
	})
}
