package microsoft

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"github.com/sessionbot/sessionbot/internal/testclock"
	"github.com/sessionbot/sessionbot/internal/testkit"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessionbot/sessionbot/internal/testpki"
	"github.com/sessionbot/sessionbot/vendors"
	"github.com/sessionbot/sessionbot/vendors/microsoft/graphtest"
)

// graphConfig points an instance at a fake.
func graphConfig(fake *graphtest.Server) Config {
	return Config{
		Name:         "teams-test",
		TenantID:     graphtest.TenantID,
		ClientID:     graphtest.ClientID,
		ClientSecret: graphtest.ClientSecret,
		LoginURL:     fake.LoginURL(),
		GraphURL:     fake.GraphURL(),
	}
}

// waits records retry waits instead of sleeping.
type waits struct {
	mu  sync.Mutex
	got []time.Duration
}

func (w *waits) wait(ctx context.Context, d time.Duration) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.got = append(w.got, d)
	return ctx.Err()
}

func (w *waits) list() []time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]time.Duration(nil), w.got...)
}

func newGraphInstance(t *testing.T, cfg Config, clock func() time.Time) (*Instance, *waits) {
	t.Helper()
	cfg.Type = vendors.Teams
	in, err := New(cfg, vendors.Env{Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	w := &waits{}
	in.graph.http.Retry.Sleep = w.wait
	t.Cleanup(func() { in.Close(context.Background()) })
	return in, w
}

func newFake(t *testing.T, opts graphtest.Options) *graphtest.Server {
	t.Helper()
	fake := graphtest.New(opts)
	t.Cleanup(fake.Close)
	return fake
}

func list(t *testing.T, in *Instance, upn string, w vendors.Window) vendors.Listing {
	t.Helper()
	l, err := in.ListUserSessions(context.Background(), vendors.UserQuery{User: vendors.Identity{ID: upn}, Window: w})
	if err != nil {
		t.Fatalf("list %s: %v", upn, err)
	}
	return l
}

func attr(s vendors.Session, name string) string {
	var values []string
	for _, a := range s.Attributes {
		if a.Name == name {
			values = append(values, a.Value)
		}
	}
	return strings.Join(values, "|")
}

func TestGraphFetchesOneTokenPerLifetime(t *testing.T) {
	fake := newFake(t, graphtest.Options{})
	in, _ := newGraphInstance(t, graphConfig(fake), nil)
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			upn := []string{graphtest.MarcUPN, graphtest.KenUPN}[i%2]
			if _, err := in.ListUserSessions(context.Background(), vendors.UserQuery{User: vendors.Identity{ID: upn}}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	list(t, in, graphtest.MarcUPN, vendors.Window{})
	if n := fake.TokenRequests(); n != 1 {
		t.Fatalf("%d token requests for 9 listings, want 1", n)
	}
}

func TestGraphFetchesExactlyOneMoreTokenAfterExpiry(t *testing.T) {
	t.Parallel()
	fake := newFake(t, graphtest.Options{TokenLifetime: time.Second})
	in, _ := newGraphInstance(t, graphConfig(fake), nil)
	// oauth2 counts a token as expired 10 s early by default; a 1 s token
	// needs a smaller margin to be reused at all.
	in.graph.tokens = newTokenCache(in.graph.tokens.fetch.(fetcher).cc, in.graph.http.HTTP, 50*time.Millisecond)
	for i := 0; i < 3; i++ {
		list(t, in, graphtest.MarcUPN, vendors.Window{})
	}
	if n := fake.TokenRequests(); n != 1 {
		t.Fatalf("%d token requests within the lifetime, want 1", n)
	}
	time.Sleep(time.Second)
	for i := 0; i < 3; i++ {
		list(t, in, graphtest.KenUPN, vendors.Window{})
	}
	if n := fake.TokenRequests(); n != 2 {
		t.Fatalf("%d token requests over two lifetimes, want 2", n)
	}
}

func TestGraphReplacesATokenGraphCallsExpired(t *testing.T) {
	// The fake's clock runs two hours ahead after the first call: Graph
	// rejects the token our side still thinks valid (clock skew).
	clock := testclock.New(time.Now())
	fake := newFake(t, graphtest.Options{Clock: clock.Now})
	in, _ := newGraphInstance(t, graphConfig(fake), nil)
	list(t, in, graphtest.MarcUPN, vendors.Window{})
	clock.Advance(2 * time.Hour)
	list(t, in, graphtest.KenUPN, vendors.Window{})
	list(t, in, graphtest.MarcUPN, vendors.Window{})
	if n := fake.TokenRequests(); n != 2 {
		t.Fatalf("%d token requests, want 2 (one more after Graph said expired)", n)
	}
}

func TestGraphTokenErrorsAreClearAndKeepTheSecretOut(t *testing.T) {
	fake := newFake(t, graphtest.Options{})
	tests := []struct {
		name     string
		change   func(*Config)
		sentinel error
		says     []string
	}{
		{
			name:     "a wrong secret is invalid_client and points at the credentials",
			change:   func(c *Config) { c.ClientSecret = "wrong-secret-s3cr3t-value" },
			sentinel: vendors.ErrUnauthorized,
			says:     []string{"401 Unauthorized", "invalid_client", "AADSTS7000215", "check client_id and client_secret"},
		},
		{
			name:     "an unknown tenant points at tenant_id",
			change:   func(c *Config) { c.TenantID = "not-our-tenant"; c.ClientSecret = "other-s3cr3t-value" },
			sentinel: vendors.ErrInvalidInput,
			says:     []string{"AADSTS90002", "check tenant_id"},
		},
		{
			name:     "an unknown app is named",
			change:   func(c *Config) { c.ClientID = "someone-else"; c.ClientSecret = "third-s3cr3t-value" },
			sentinel: vendors.ErrUnauthorized,
			says:     []string{"unauthorized_client", "AADSTS700016", "someone-else"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := graphConfig(fake)
			tt.change(&cfg)
			in, _ := newGraphInstance(t, cfg, nil)
			for _, call := range []func() error{
				func() error { return in.Probe(context.Background()) },
				func() error {
					_, err := in.ListUserSessions(context.Background(), vendors.UserQuery{User: vendors.Identity{ID: graphtest.MarcUPN}})
					return err
				},
			} {
				err := call()
				if !errors.Is(err, tt.sentinel) {
					t.Fatalf("error %v, want %v", err, tt.sentinel)
				}
				for _, s := range tt.says {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("error %q does not say %q", err, s)
					}
				}
				if strings.Contains(err.Error(), cfg.ClientSecret) || strings.Contains(err.Error(), "Trace ID") {
					t.Errorf("error %q carries the secret or Azure's trace lines", err)
				}
			}
		})
	}
}

func TestGraphProbeReadsOneUser(t *testing.T) {
	fake := newFake(t, graphtest.Options{})
	in, _ := newGraphInstance(t, graphConfig(fake), nil)
	if err := in.Probe(context.Background()); err != nil {
		t.Fatal(err)
	}
	if fake.Requests(graphtest.APIUsers) != 1 {
		t.Fatalf("probe made %d users requests, want 1", fake.Requests(graphtest.APIUsers))
	}
}

func TestGraphSaysWhenTheUserDoesNotExist(t *testing.T) {
	fake := newFake(t, graphtest.Options{})
	in, _ := newGraphInstance(t, graphConfig(fake), nil)
	_, err := in.ListUserSessions(context.Background(), vendors.UserQuery{User: vendors.Identity{ID: "nobody@contoso.com"}})
	if !errors.Is(err, vendors.ErrNotFound) {
		t.Fatalf("error %v, want ErrNotFound", err)
	}
	host := strings.TrimPrefix(fake.URL(), "http://")
	want := fmt.Sprintf(`microsoft graph %s: look up nobody@contoso.com: no Microsoft 365 user "nobody@contoso.com"`, host)
	if !strings.Contains(err.Error(), want) {
		t.Fatalf("error %q, want it to say %q", err, want)
	}
}

func TestGraphRemembersUsersBriefly(t *testing.T) {
	clock := testclock.New(time.Now())
	fake := newFake(t, graphtest.Options{})
	in, _ := newGraphInstance(t, graphConfig(fake), clock.Now)
	list(t, in, graphtest.MarcUPN, vendors.Window{})
	list(t, in, "MARC@contoso.com", vendors.Window{})
	if n := fake.Requests(graphtest.APIUsers); n != 1 {
		t.Fatalf("%d user lookups for two listings in a minute, want 1", n)
	}
	clock.Advance(userCacheTTL + time.Second)
	list(t, in, graphtest.MarcUPN, vendors.Window{})
	if n := fake.Requests(graphtest.APIUsers); n != 2 {
		t.Fatalf("%d user lookups after the cache expired, want 2", n)
	}
}

func TestGraphNamesTheMissingPermission(t *testing.T) {
	listMarc := func(in *Instance) error {
		_, err := in.ListUserSessions(context.Background(), vendors.UserQuery{User: vendors.Identity{ID: graphtest.MarcUPN}})
		return err
	}
	tests := []struct {
		name string
		api  graphtest.API
		call func(*Instance) error
		want string
	}{
		{
			name: "no access to users asks for User.Read.All",
			api:  graphtest.APIUsers,
			call: listMarc,
			want: "lacks the application permission User.Read.All",
		},
		{
			name: "no access to call records asks for CallRecords.Read.All",
			api:  graphtest.APICallRecords,
			call: listMarc,
			want: "lacks the application permission CallRecords.Read.All",
		},
		{
			name: "no right to revoke asks for User.RevokeSessions.All",
			api:  graphtest.APIRevoke,
			call: func(in *Instance) error {
				_, err := in.LogoutUser(context.Background(), vendors.Identity{ID: graphtest.MarcUPN})
				return err
			},
			want: "lacks the application permission User.RevokeSessions.All or User.ReadWrite.All",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := newFake(t, graphtest.Options{})
			fake.Forbid(tt.api, true)
			in, _ := newGraphInstance(t, graphConfig(fake), nil)
			err := tt.call(in)
			if !errors.Is(err, vendors.ErrForbidden) {
				t.Fatalf("error %v, want ErrForbidden", err)
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "403 Forbidden") {
				t.Fatalf("error %q does not say %q", err, tt.want)
			}
		})
	}
}

func TestGraphHonoursRetryAfter(t *testing.T) {
	tests := []struct {
		name       string
		times      int
		status     int
		retryAfter string
		maxRetries int
		ctxTimeout time.Duration
		wantWaits  []time.Duration
		wantErr    error
		says       string
	}{
		{
			name:  "two 429s with Retry-After 7 wait 7 s each, then succeed",
			times: 2, status: 429, retryAfter: "7",
			wantWaits: []time.Duration{7 * time.Second, 7 * time.Second},
		},
		{
			name:  "a 503 asking for two minutes waits only the cap",
			times: 1, status: 503, retryAfter: "120",
			wantWaits: []time.Duration{DefaultMaxRetryWait},
		},
		{
			name:  "429s without Retry-After back off 1 s, then 2 s",
			times: 2, status: 429,
			wantWaits: []time.Duration{time.Second, 2 * time.Second},
		},
		{
			name:  "429s beyond MaxRetries give up saying Graph is throttling",
			times: 4, status: 429, retryAfter: "1",
			wantWaits: []time.Duration{time.Second, time.Second, time.Second},
			wantErr:   vendors.ErrUnavailable, says: "Graph is throttling; gave up after 3 retries",
		},
		{
			name:  "one retry allowed gives up after one",
			times: 2, status: 429, retryAfter: "1", maxRetries: 1,
			wantWaits: []time.Duration{time.Second},
			wantErr:   vendors.ErrUnavailable, says: "gave up after 1 retries",
		},
		{
			name:  "a wait longer than the time left gives up at once",
			times: 1, status: 429, retryAfter: "20", ctxTimeout: 5 * time.Second,
			wantErr: vendors.ErrTimeout, says: "longer than the time left",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := newFake(t, graphtest.Options{})
			cfg := graphConfig(fake)
			cfg.MaxRetries = tt.maxRetries
			in, waited := newGraphInstance(t, cfg, nil)
			// Warm the user cache so the throttled call is the call records list.
			list(t, in, graphtest.MarcUPN, vendors.Window{})
			fake.Throttle(tt.times, tt.status, tt.retryAfter)
			ctx := context.Background()
			if tt.ctxTimeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.ctxTimeout)
				defer cancel()
			}
			l, err := in.ListUserSessions(ctx, vendors.UserQuery{User: vendors.Identity{ID: graphtest.MarcUPN}})
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) || !strings.Contains(err.Error(), tt.says) {
					t.Fatalf("error %v, want %v saying %q", err, tt.wantErr, tt.says)
				}
			} else if err != nil || len(l.Sessions) == 0 {
				t.Fatalf("listing %+v, %v; want sessions after the retries", l, err)
			}
			if got := waited.list(); fmt.Sprint(got) != fmt.Sprint(tt.wantWaits) {
				t.Fatalf("waited %v, want %v", got, tt.wantWaits)
			}
		})
	}
}

func TestGraphRetryWaitsForReal(t *testing.T) {
	fake := newFake(t, graphtest.Options{})
	cfg := graphConfig(fake)
	cfg.MaxRetryWait = 50 * time.Millisecond
	cfg.Type = vendors.Teams
	in, err := New(cfg, vendors.Env{})
	if err != nil {
		t.Fatal(err)
	}
	fake.Throttle(2, 429, "1")
	began := time.Now()
	list(t, in, graphtest.MarcUPN, vendors.Window{})
	if took := time.Since(began); took < 100*time.Millisecond {
		t.Fatalf("two capped 50 ms waits took %v", took)
	}
}

func TestGraphMapsSessions(t *testing.T) {
	fake := newFake(t, graphtest.Options{})
	in, _ := newGraphInstance(t, graphConfig(fake), nil)
	l := list(t, in, graphtest.MarcUPN, vendors.Window{Since: time.Now().Add(-11 * 24 * time.Hour)})
	if len(l.Warnings) > 0 {
		t.Fatalf("warnings: %v", l.Warnings)
	}
	byID := map[string]vendors.Session{}
	for _, s := range l.Sessions {
		byID[s.ID] = s
		if s.Vendor != vendors.Teams || s.Instance != "teams-test" || s.User.ID != graphtest.MarcUPN || s.UserName != "Marc Dubois" {
			t.Errorf("session %s: vendor %s, instance %s, user %s (%s)", s.ID, s.Vendor, s.Instance, s.User, s.UserName)
		}
	}
	id := func(call, session int) string {
		return fmt.Sprintf("2f1a6b3c-0000-4000-8000-%012d/2f1a6b3c-0000-4000-8000-%012d", call, session)
	}
	if len(l.Sessions) != 4 {
		t.Fatalf("%d sessions, want 4 (Adele's leg of the meeting is not Marc's): %v", len(l.Sessions), byID)
	}
	tests := []struct {
		name  string
		id    string
		node  string
		attrs map[string]string
	}{
		{
			name: "a peer-to-peer call names both ends and Marc's client",
			id:   id(1, 101), node: "Teams/1.7.00.13456 (Windows 10; x64)",
			attrs: map[string]string{"caller": "Marc Dubois <marc@contoso.com>", "callee": "Ken Myer <ken.myer@contoso.com>", "modalities": "audio", "media": "main-audio", "failure": "", "conference": ""},
		},
		{
			name: "a meeting gives the conference URL",
			id:   id(2, 201), node: "Teams/1.7.00.13456 (Windows 10; x64)",
			attrs: map[string]string{"callee": "teams service", "modalities": "audio, video", "conference": "https://teams.microsoft.com/l/meetup-join/19%3ameeting_NjU0ZjY4ZTQt%40thread.v2/0"},
		},
		{
			name: "a failed call to a phone gives the reason and the number",
			id:   id(3, 301), node: "Teams/5.12.1 (iOS 17.4; iPhone14,5)",
			attrs: map[string]string{"callee": "+14255550100", "failure": "mediaConnectivityFailure (stage callSetup)"},
		},
		{
			name: "an older record with identity.user takes Marc's side as callee",
			id:   id(4, 401), node: "Teams/1.7.00.13456 (Windows 10; x64)",
			attrs: map[string]string{"caller": "Ken Myer", "callee": "Marc Dubois", "modalities": "audio, video"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, ok := byID[tt.id]
			if !ok {
				t.Fatalf("no session %s", tt.id)
			}
			if s.Node != tt.node {
				t.Errorf("node %q, want %q", s.Node, tt.node)
			}
			if s.Started.IsZero() || !s.Ended.After(s.Started) || s.Active() {
				t.Errorf("times %v..%v", s.Started, s.Ended)
			}
			for name, want := range tt.attrs {
				if got := attr(s, name); got != want {
					t.Errorf("%s = %q, want %q", name, got, want)
				}
			}
		})
	}
}

func TestGraphDefaultWindowIsTheLastDay(t *testing.T) {
	fake := newFake(t, graphtest.Options{})
	in, _ := newGraphInstance(t, graphConfig(fake), nil)
	l := list(t, in, graphtest.MarcUPN, vendors.Window{})
	if len(l.Sessions) != 1 || !strings.HasPrefix(l.Sessions[0].ID, "2f1a6b3c-0000-4000-8000-000000000001/") {
		t.Fatalf("the last 24 hours hold %d sessions %v, want only the call 2 hours ago", len(l.Sessions), l.Sessions)
	}
}

func TestGraphSendsTheDocumentedFilter(t *testing.T) {
	fake := newFake(t, graphtest.Options{})
	in, _ := newGraphInstance(t, graphConfig(fake), nil)
	since := time.Date(2026, 11, 1, 8, 30, 15, 0, time.UTC)
	until := time.Date(2026, 11, 2, 9, 0, 0, 500, time.UTC)
	in.clock = func() time.Time { return until.Add(time.Hour) }
	list(t, in, graphtest.KenUPN, vendors.Window{Since: since, Until: until})
	want := "participants_v2/any(p:p/id eq '" + graphtest.KenID + "') and startDateTime ge 2026-11-01T08:30:15Z and startDateTime lt 2026-11-02T09:00:01Z"
	if got := fake.Filters(); len(got) != 1 || got[0] != want {
		t.Fatalf("filters %q, want [%q]", got, want)
	}
}

func TestCallRecordsFilter(t *testing.T) {
	tests := []struct {
		name         string
		id           string
		since, until time.Time
		want         string
	}{
		{
			name: "whole seconds are written as they are, in UTC",
			id:   "abc", since: time.Date(2026, 11, 1, 1, 0, 0, 0, time.FixedZone("CET", 3600)), until: time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC),
			want: "participants_v2/any(p:p/id eq 'abc') and startDateTime ge 2026-11-01T00:00:00Z and startDateTime lt 2026-11-02T00:00:00Z",
		},
		{
			name: "a fractional since rounds down and until rounds up",
			id:   "abc", since: time.Date(2026, 11, 1, 0, 0, 0, 999, time.UTC), until: time.Date(2026, 11, 2, 0, 0, 0, 1, time.UTC),
			want: "participants_v2/any(p:p/id eq 'abc') and startDateTime ge 2026-11-01T00:00:00Z and startDateTime lt 2026-11-02T00:00:01Z",
		},
		{
			name: "a quote in an id is doubled, as OData escapes it",
			id:   "o'brien", since: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), until: time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC),
			want: "participants_v2/any(p:p/id eq 'o''brien') and startDateTime ge 2026-11-01T00:00:00Z and startDateTime lt 2026-11-02T00:00:00Z",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := CallRecordsFilter(tt.id, tt.since, tt.until); got != tt.want {
				t.Fatalf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

// The fake must refuse filters Graph would not take, or the test above
// proves nothing.
func TestFakeRefusesUndocumentedFilters(t *testing.T) {
	fake := newFake(t, graphtest.Options{})
	in, _ := newGraphInstance(t, graphConfig(fake), nil)
	tok, err := in.graph.tokens.token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	filters := []struct{ name, filter string }{
		{"a participant filter with double quotes", `participants_v2/any(p:p/id eq "x") and startDateTime ge 2026-11-01T00:00:00Z and startDateTime lt 2026-11-02T00:00:00Z`},
		{"times with an offset instead of Z", `participants_v2/any(p:p/id eq 'x') and startDateTime ge 2026-11-01T00:00:00+01:00 and startDateTime lt 2026-11-02T00:00:00Z`},
		{"the old participants property", `participants/any(p:p/id eq 'x') and startDateTime ge 2026-11-01T00:00:00Z and startDateTime lt 2026-11-02T00:00:00Z`},
		{"an endDateTime condition", `participants_v2/any(p:p/id eq 'x') and endDateTime ge 2026-11-01T00:00:00Z and startDateTime lt 2026-11-02T00:00:00Z`},
		{"quoted times", `participants_v2/any(p:p/id eq 'x') and startDateTime ge '2026-11-01T00:00:00Z' and startDateTime lt '2026-11-02T00:00:00Z'`},
	}
	for _, tt := range filters {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, fake.GraphURL()+"communications/callRecords?$filter="+url.QueryEscape(tt.filter), nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusBadRequest {
				t.Fatalf("status %s, want 400", resp.Status)
			}
		})
	}
}

// addCalls gives a new user n one-minute calls with Ken, an hour apart.
func addCalls(fake *graphtest.Server, n int, sessionsEach int) string {
	const userID = "0a0b0c0d-0000-4000-8000-00000000beef"
	fake.AddUser(graphtest.User{ID: userID, DisplayName: "Pat Busy", UPN: "pat@contoso.com"})
	for i := 0; i < n; i++ {
		start := time.Now().Add(-time.Duration(i+1) * time.Hour).UTC().Truncate(time.Second)
		c := graphtest.Call{ID: fmt.Sprintf("busy-%02d", i), Type: "peerToPeer", Start: start, End: start.Add(time.Minute), Organizer: userID}
		for j := 0; j < sessionsEach; j++ {
			c.Sessions = append(c.Sessions, graphtest.Session{ID: fmt.Sprintf("leg-%02d-%02d", i, j),
				Caller: graphtest.Endpoint{UserID: userID, UserAgent: "Teams/1.7", ProductFamily: "teams"}, Callee: graphtest.Endpoint{UserID: graphtest.KenID},
				Modalities: []string{"audio"}, Start: start, End: start.Add(time.Minute)})
		}
		fake.AddCall(c)
	}
	return "pat@contoso.com"
}

func TestGraphFollowsNextLinksThroughThreePages(t *testing.T) {
	tests := []struct {
		name            string
		opts            graphtest.Options
		calls, sessions int // calls, and sessions in each
		wantRequests    int
		why             string
	}{
		{"a listing of six records, two a page", graphtest.Options{PageSize: 2}, 6, 1,
			9, "3 pages of the listing and 6 records read"},
		{"a record of five sessions, two a page", graphtest.Options{SessionPageSize: 2}, 1, 5,
			5, "the listing, the record, and 3 pages of its sessions list"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := newFake(t, tt.opts)
			upn := addCalls(fake, tt.calls, tt.sessions)
			in, _ := newGraphInstance(t, graphConfig(fake), nil)
			l := list(t, in, upn, vendors.Window{})
			if want := tt.calls * tt.sessions; len(l.Sessions) != want {
				t.Fatalf("%d sessions, want all %d", len(l.Sessions), want)
			}
			if n := fake.Requests(graphtest.APICallRecords); n != tt.wantRequests {
				t.Fatalf("%d call record requests, want %d: %s", n, tt.wantRequests, tt.why)
			}
		})
	}
}

func TestGraphReadsRecordsAtMostMaxConcurrencyAtOnce(t *testing.T) {
	tests := []struct {
		name        string
		concurrency int
		connections int // max_connections; 0 for the default
		want        int
	}{
		{"one at a time when told so", 1, 0, 1},
		{"three at a time when told so", 3, 0, 3},
		{"no more at once than max_connections", 4, 2, 2},
		{"one at a time, without deadlock, on one connection", 4, 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := newFake(t, graphtest.Options{Latency: 40 * time.Millisecond})
			upn := addCalls(fake, 9, 1)
			cfg := graphConfig(fake)
			cfg.MaxConcurrency = tt.concurrency
			cfg.MaxConnections = tt.connections
			in, _ := newGraphInstance(t, cfg, nil)
			if l := list(t, in, upn, vendors.Window{}); len(l.Sessions) != 9 {
				t.Fatalf("%d sessions, want 9", len(l.Sessions))
			}
			if got := fake.MaxInFlight(); got != tt.want {
				t.Fatalf("at most %d requests at once, want %d", got, tt.want)
			}
		})
	}
}

// TestGraphGivesItsExtraConnectionsBackToThoseWaiting: a list reads call
// records on more connections only while they are free; once another
// operation waits for one, the list gives its extras back after the record
// under way instead of keeping them to its end.
func TestGraphGivesItsExtraConnectionsBackToThoseWaiting(t *testing.T) {
	const bound = 200 * time.Millisecond // the queue wait, and the change's deadline
	tests := []struct {
		name string
		op   func(ctx context.Context, in *Instance) error
	}{
		{"a list of someone else", func(ctx context.Context, in *Instance) error {
			_, err := in.ListUserSessions(ctx, vendors.UserQuery{User: vendors.Identity{ID: graphtest.KenUPN}})
			return err
		}},
		{"an approved revoke", func(ctx context.Context, in *Instance) error {
			ctx, cancel := context.WithTimeout(vendors.ForChange(ctx), bound)
			defer cancel()
			_, err := in.LogoutUser(ctx, vendors.Identity{ID: graphtest.KenUPN})
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fake := newFake(t, graphtest.Options{Latency: 40 * time.Millisecond})
			upn := addCalls(fake, 30, 1) // 15 rounds of 40 ms on two connections
			cfg := graphConfig(fake)
			cfg.MaxConcurrency, cfg.MaxConnections, cfg.QueueWait = 2, 2, bound
			in, _ := newGraphInstance(t, cfg, nil)
			ctx := t.Context()

			long := make(chan error, 1)
			go func() {
				_, err := in.ListUserSessions(ctx, vendors.UserQuery{User: vendors.Identity{ID: upn}})
				long <- err
			}()
			for deadline := time.Now().Add(5 * time.Second); fake.MaxInFlight() < 2; time.Sleep(time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatal("the long list never read two records at once")
				}
			}
			start := time.Now()
			if err := tt.op(ctx, in); err != nil {
				t.Errorf("after %s, while a list of 30 call records held both connections: %v", time.Since(start).Round(time.Millisecond), err)
			}
			if err := <-long; err != nil {
				t.Errorf("the long list: %v", err)
			}
		})
	}
}

func TestGraphDoesNotFollowNextLinksElsewhere(t *testing.T) {
	fake := newFake(t, graphtest.Options{PageSize: 2})
	upn := addCalls(fake, 3, 1)
	fake.SetNextLinkBase("https://graph.evil.example/v1.0/")
	in, _ := newGraphInstance(t, graphConfig(fake), nil)
	_, err := in.ListUserSessions(context.Background(), vendors.UserQuery{User: vendors.Identity{ID: upn}})
	if !errors.Is(err, vendors.ErrBadAnswer) || !strings.Contains(err.Error(), "https://graph.evil.example/v1.0/communications/callRecords, outside") {
		t.Fatalf("error %v, want a refusal naming the other host", err)
	}
}

func TestGraphRevokeTakesAny2xx(t *testing.T) {
	t.Run("the fake's 200 with a value of true is success", func(t *testing.T) {
		fake := newFake(t, graphtest.Options{})
		in, _ := newGraphInstance(t, graphConfig(fake), nil)
		l, err := in.LogoutUser(context.Background(), vendors.Identity{ID: graphtest.KenUPN})
		if err != nil || len(l.Sessions) != 0 {
			t.Fatalf("LogoutUser: %+v, %v", l, err)
		}
		if got := fake.Revoked(); len(got) != 1 || got[0] != graphtest.KenUPN {
			t.Fatalf("revoked %v, want [%s]", got, graphtest.KenUPN)
		}
	})
	t.Run("an unknown user is not found", func(t *testing.T) {
		fake := newFake(t, graphtest.Options{})
		in, _ := newGraphInstance(t, graphConfig(fake), nil)
		_, err := in.LogoutUser(context.Background(), vendors.Identity{ID: "nobody@contoso.com"})
		if !errors.Is(err, vendors.ErrNotFound) || !strings.Contains(err.Error(), `no Microsoft 365 user "nobody@contoso.com"`) {
			t.Fatalf("error %v", err)
		}
	})
	for _, status := range []int{http.StatusOK, http.StatusAccepted, http.StatusNoContent} {
		t.Run(fmt.Sprintf("a bare %d is success", status), func(t *testing.T) {
			var revoked []string
			var mu sync.Mutex
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				switch {
				case strings.HasSuffix(r.URL.Path, "/oauth2/v2.0/token"):
					w.Header().Set("Content-Type", "application/json")
					fmt.Fprint(w, `{"token_type":"Bearer","expires_in":3600,"access_token":"t0k"}`)
				case r.Method == http.MethodPost && r.Header.Get("Authorization") == "Bearer t0k" && r.ContentLength <= 0:
					mu.Lock()
					revoked = append(revoked, r.URL.EscapedPath())
					mu.Unlock()
					w.WriteHeader(status)
				default:
					http.Error(w, "unexpected", http.StatusBadRequest)
				}
			}))
			defer srv.Close()
			cfg := Config{Name: "t", TenantID: "t", ClientID: "c", ClientSecret: "s", LoginURL: srv.URL, GraphURL: srv.URL + "/v1.0"}
			in, _ := newGraphInstance(t, cfg, nil)
			if _, err := in.LogoutUser(context.Background(), vendors.Identity{ID: "guest_gmail.com#EXT#@contoso.onmicrosoft.com"}); err != nil {
				t.Fatal(err)
			}
			want := "/v1.0/users/guest_gmail.com%23EXT%23@contoso.onmicrosoft.com/revokeSignInSessions"
			if len(revoked) != 1 || revoked[0] != want {
				t.Fatalf("revoked %v, want [%s]", revoked, want)
			}
		})
	}
}

func TestGraphOverTLSWithAnExtraCA(t *testing.T) {
	ca, err := testpki.NewCA("graph test CA")
	if err != nil {
		t.Fatal(err)
	}
	server, err := ca.Server()
	if err != nil {
		t.Fatal(err)
	}
	fake := newFake(t, graphtest.Options{TLS: &tls.Config{Certificates: []tls.Certificate{server.TLS}, MinVersion: tls.VersionTLS12}})
	caFile := testkit.WriteFile(t, "root.pem", ca.CertPEM)
	cfg := graphConfig(fake)
	t.Run("with the CA file the listing works", func(t *testing.T) {
		cfg := cfg
		cfg.CAFile = caFile
		in, _ := newGraphInstance(t, cfg, nil)
		if l := list(t, in, graphtest.MarcUPN, vendors.Window{}); len(l.Sessions) != 1 {
			t.Fatalf("%d sessions", len(l.Sessions))
		}
	})
	t.Run("without it the certificate is refused", func(t *testing.T) {
		in, _ := newGraphInstance(t, cfg, nil)
		err := in.Probe(context.Background())
		if !errors.Is(err, vendors.ErrUnavailable) || !strings.Contains(err.Error(), "certificate") {
			t.Fatalf("error %v, want an unknown certificate authority", err)
		}
	})
}
