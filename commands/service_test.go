package commands

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessionbot/sessionbot/vendors"
)

// memInstance is an in-memory instance for testing the service's own logic
// (selection, mapping, fan-out, timeouts). Adapters are tested against their
// vendors' fakes in their own packages.
type memInstance struct {
	name     string
	typ      vendors.Type
	sessions []vendors.Session
	delay    time.Duration
	err      error
	panics   bool

	mu    sync.Mutex
	asked []vendors.UserQuery
}

func (m *memInstance) Name() string       { return m.name }
func (m *memInstance) Type() vendors.Type { return m.typ }
func (m *memInstance) Probe(ctx context.Context) error {
	return m.wait(ctx)
}

func (m *memInstance) wait(ctx context.Context) error {
	if m.panics {
		panic("adapter bug")
	}
	select {
	case <-time.After(m.delay):
		return m.err
	case <-ctx.Done():
		return fmt.Errorf("%s: %w", m.name, vendors.ErrTimeout)
	}
}

func (m *memInstance) ListUserSessions(ctx context.Context, q vendors.UserQuery) (vendors.Listing, error) {
	m.mu.Lock()
	m.asked = append(m.asked, q)
	m.mu.Unlock()
	if err := m.wait(ctx); err != nil {
		return vendors.Listing{}, err
	}
	var l vendors.Listing
	for _, s := range m.sessions {
		if s.User.Equal(q.User) {
			l.Sessions = append(l.Sessions, s)
		}
	}
	return l, nil
}

func (m *memInstance) GetSession(ctx context.Context, id string) (vendors.Session, error) {
	if err := m.wait(ctx); err != nil {
		return vendors.Session{}, err
	}
	for _, s := range m.sessions {
		if s.ID == id {
			return s, nil
		}
	}
	return vendors.Session{}, fmt.Errorf("session %s: %w", id, vendors.ErrNotFound)
}

func (m *memInstance) ListAllSessions(ctx context.Context) (vendors.Listing, error) {
	if err := m.wait(ctx); err != nil {
		return vendors.Listing{}, err
	}
	return vendors.Listing{Sessions: m.sessions}, nil
}

// windowed is a memInstance that keeps history, as call records do.
type windowed struct{ *memInstance }

func (windowed) MaxLookback() time.Duration { return 30 * 24 * time.Hour }

// userOnly can only list a person's sessions.
type userOnly struct{ in *memInstance }

func (u userOnly) Name() string                    { return u.in.name }
func (u userOnly) Type() vendors.Type              { return u.in.typ }
func (u userOnly) Probe(ctx context.Context) error { return u.in.Probe(ctx) }
func (u userOnly) ListUserSessions(ctx context.Context, q vendors.UserQuery) (vendors.Listing, error) {
	return u.in.ListUserSessions(ctx, q)
}

// staticDirectory maps chat ids to emails; an id mapped to notAPerson
// names a group.
type staticDirectory map[string]string

const notAPerson = "(a group)"

func (d staticDirectory) Email(_ context.Context, id string) (string, error) {
	e, ok := d[id]
	switch {
	case !ok:
		return "", errors.New("users_not_found")
	case e == notAPerson:
		return "", &UnknownPerson{Hint: "Pick the person from the list as you type."}
	}
	return e, nil
}

func marcSession(id, node string) vendors.Session {
	return vendors.Session{Vendor: vendors.Qlik, Instance: "qlik-prod", ID: id, User: vendors.Identity{Directory: "CORP", ID: "marc"}, Node: node}
}

func newTestService(t *testing.T, instances ...vendors.Instance) *Service {
	t.Helper()
	reg, err := vendors.NewRegistry(instances...)
	if err != nil {
		t.Fatal(err)
	}
	return New(Config{
		Registry: reg,
		Options: map[string]InstanceOptions{
			"qlik-prod": {Identity: IdentityRule{EmailTemplate: `CORP\{local}`, RequireDirectory: true}, Timeout: 200 * time.Millisecond},
			"qlik-test": {Identity: IdentityRule{EmailTemplate: `CORP\{local}`, RequireDirectory: true}, Timeout: 200 * time.Millisecond},
			"teams":     {Identity: IdentityRule{EmailTemplate: `{email}`, EmailOnly: true}, Timeout: 200 * time.Millisecond},
		},
		Directory: staticDirectory{"U0MARC": "marc@contoso.com", "G0ONCALL": notAPerson},
		Clock:     func() time.Time { return now },
	})
}

func TestListUserAcrossInstances(t *testing.T) {
	prod := &memInstance{name: "qlik-prod", typ: vendors.Qlik, sessions: []vendors.Session{marcSession("b", "qps2:4243"), marcSession("a", "qps1:4243")}}
	test := &memInstance{name: "qlik-test", typ: vendors.Qlik, err: fmt.Errorf("qlik-test node qps9: %w", vendors.ErrForbidden)}
	teams := windowed{&memInstance{name: "teams", typ: vendors.Teams, sessions: []vendors.Session{{ID: "call1", User: vendors.Identity{ID: "marc@contoso.com"}}}}}
	svc := newTestService(t, prod, test, teams)

	tests := []struct {
		name         string
		text         string
		wantSessions map[string]int // instance -> sessions
		wantErr      []string       // instances with an error
		wantNote     []string       // instances skipped with a note
	}{
		{"an account goes to instances that take accounts", `list CORP\marc`, map[string]int{"qlik-prod": 2, "qlik-test": 0, "teams": 0}, []string{"qlik-test"}, []string{"teams"}},
		{"an email maps through each template", `list marc@contoso.com`, map[string]int{"qlik-prod": 2, "teams": 1}, []string{"qlik-test"}, nil},
		{"a mention resolves through the directory", `list @U0MARC`, map[string]int{"qlik-prod": 2, "teams": 1}, []string{"qlik-test"}, nil},
		{"a vendor type selects its instances", `list marc@contoso.com on qlik`, map[string]int{"qlik-prod": 2}, []string{"qlik-test"}, nil},
		{"an instance name selects one", `list marc@contoso.com on QLIK-PROD`, map[string]int{"qlik-prod": 2}, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := svc.Handle(context.Background(), Caller{ChatID: "U1"}, tt.text)
			if r.Problem != nil {
				t.Fatalf("problem: %+v", r.Problem)
			}
			got := map[string]int{}
			var errs, notes []string
			for _, g := range r.Groups {
				if g.Err != nil {
					errs = append(errs, g.Instance)
				} else if g.Note != "" {
					notes = append(notes, g.Instance)
				} else {
					got[g.Instance] = len(g.Sessions)
				}
			}
			for inst, n := range tt.wantSessions {
				if n > 0 && got[inst] != n {
					t.Errorf("%s: %d sessions, want %d (groups %+v)", inst, got[inst], n, r.Groups)
				}
			}
			if fmt.Sprint(errs) != fmt.Sprint(tt.wantErr) {
				t.Errorf("errors on %v, want %v", errs, tt.wantErr)
			}
			if fmt.Sprint(notes) != fmt.Sprint(tt.wantNote) {
				t.Errorf("notes on %v, want %v", notes, tt.wantNote)
			}
		})
	}
}

func TestListSortsSessionsByNodeThenID(t *testing.T) {
	prod := &memInstance{name: "qlik-prod", typ: vendors.Qlik, sessions: []vendors.Session{marcSession("b", "qps2"), marcSession("c", "qps1"), marcSession("a", "qps1")}}
	r := newTestService(t, prod).Handle(context.Background(), Caller{}, `list CORP\marc`)
	var ids []string
	for _, s := range r.Groups[0].Sessions {
		ids = append(ids, s.ID)
	}
	if strings.Join(ids, ",") != "a,c,b" {
		t.Errorf("order = %v, want a,c,b", ids)
	}
}

func TestSlowInstanceTimesOutWithoutHoldingTheOthers(t *testing.T) {
	fast := &memInstance{name: "qlik-prod", typ: vendors.Qlik, sessions: []vendors.Session{marcSession("a", "n")}}
	slow := &memInstance{name: "qlik-test", typ: vendors.Qlik, delay: time.Hour}
	svc := newTestService(t, fast, slow)
	start := time.Now()
	r := svc.Handle(context.Background(), Caller{}, `list CORP\marc`)
	if el := time.Since(start); el > 2*time.Second {
		t.Fatalf("took %s; the slow instance's 200ms timeout should bound it", el)
	}
	if len(r.Groups[0].Sessions) != 1 {
		t.Errorf("fast instance lost its answer: %+v", r.Groups[0])
	}
	if !errors.Is(r.Groups[1].Err, vendors.ErrTimeout) {
		t.Errorf("slow instance error = %v, want a timeout", r.Groups[1].Err)
	}
}

// busyUntilDeadline waits for a free connection until the deadline, as an
// adapter whose connections are all in use does.
type busyUntilDeadline struct{ *memInstance }

func (b busyUntilDeadline) ListUserSessions(ctx context.Context, _ vendors.UserQuery) (vendors.Listing, error) {
	<-ctx.Done()
	return vendors.Listing{}, fmt.Errorf("%s: no connection free until the deadline: %w", b.name, vendors.ErrBusy)
}

func TestNoFreeConnectionIsBusyNotATimeout(t *testing.T) {
	busy := busyUntilDeadline{&memInstance{name: "qlik-prod", typ: vendors.Qlik}}
	r := newTestService(t, busy).Handle(context.Background(), Caller{}, `list CORP\marc`)
	err := r.Groups[0].Err
	if !errors.Is(err, vendors.ErrBusy) || errors.Is(err, vendors.ErrTimeout) {
		t.Errorf("error = %v, want busy and not a timeout", err)
	}
	if h := Hint(err); !strings.Contains(h, "every connection") {
		t.Errorf("hint = %q, want one about connections in use", h)
	}
}

// barrier answers only once every one of its group has been asked, so a
// list over them succeeds only if they are asked at the same time.
type barrier struct {
	*memInstance
	arrived *sync.WaitGroup
}

func (b barrier) ListUserSessions(ctx context.Context, q vendors.UserQuery) (vendors.Listing, error) {
	b.arrived.Done()
	done := make(chan struct{})
	go func() { b.arrived.Wait(); close(done) }()
	select {
	case <-done:
		return vendors.Listing{}, nil
	case <-ctx.Done():
		return vendors.Listing{}, fmt.Errorf("%s: asked alone: %w", b.name, vendors.ErrTimeout)
	}
}

func TestFanOutRunsInParallel(t *testing.T) {
	var arrived sync.WaitGroup
	arrived.Add(5)
	var ins []vendors.Instance
	for i := range 5 {
		ins = append(ins, barrier{&memInstance{name: fmt.Sprintf("q%d", i), typ: vendors.Qlik}, &arrived})
	}
	r := newTestService(t, ins...).Handle(context.Background(), Caller{}, `list CORP\marc`)
	for _, g := range r.Groups {
		if g.Err != nil {
			t.Errorf("%s: %v (instances were not asked in parallel)", g.Instance, g.Err)
		}
	}
}

func TestPanickingAdapterBecomesAnError(t *testing.T) {
	bad := &memInstance{name: "qlik-prod", typ: vendors.Qlik, panics: true}
	r := newTestService(t, bad).Handle(context.Background(), Caller{}, `list CORP\marc`)
	if r.Groups[0].Err == nil || !strings.Contains(r.Groups[0].Err.Error(), "internal error") {
		t.Errorf("err = %v, want an internal error", r.Groups[0].Err)
	}
}

func TestProblemsSayWhatToType(t *testing.T) {
	prod := &memInstance{name: "qlik-prod", typ: vendors.Qlik}
	uo := userOnly{&memInstance{name: "cv", typ: vendors.Commvault}}
	teams := windowed{&memInstance{name: "teams", typ: vendors.Teams}}
	svc := newTestService(t, prod, uo, teams)
	tests := []struct {
		name, text, want, suggestion string
	}{
		{"a misspelt instance", `list CORP\marc on qlik-prd`, `no instance or vendor type "qlik-prd"`, `list CORP\marc on qlik-prod`},
		{"an id the directory cannot find", `list @U0NOBODY`, "couldn't find the email of @U0NOBODY (users_not_found)", ""},
		{"an id the directory says is nobody", `list @G0ONCALL`, `"@G0ONCALL" is not a person I know. Pick the person from the list as you type. Write a person as`, ""},
		{"list all on an instance that cannot", `list all on cv`, "cannot list all sessions", ""},
		{"a window past what call records keep", `list marc@contoso.com on teams since 31d`, "keeps 30 days of history", ""},
		{"until before since", `list marc@contoso.com on teams since 2d until 3d`, "must come after", ""},
		{"a session nobody has", `show 7b8ab85e-0c85-4fcb-8e56-4ead683153fb`, "No session", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := svc.Handle(context.Background(), Caller{}, tt.text)
			if r.Problem == nil {
				t.Fatalf("no problem reported; reply %+v", r)
			}
			if !strings.Contains(r.Problem.Message, tt.want) {
				t.Errorf("message = %q, want %q", r.Problem.Message, tt.want)
			}
			if r.Problem.Suggestion != tt.suggestion {
				t.Errorf("suggestion = %q, want %q", r.Problem.Suggestion, tt.suggestion)
			}
		})
	}
}

func TestWindowDefaultsToTheLastDayForHistory(t *testing.T) {
	in := &memInstance{name: "teams", typ: vendors.Teams}
	svc := newTestService(t, windowed{in})
	r := svc.Handle(context.Background(), Caller{}, `list marc@contoso.com`)
	if r.Problem != nil {
		t.Fatal(r.Problem.Message)
	}
	if len(in.asked) != 1 {
		t.Fatalf("asked %d times", len(in.asked))
	}
	w := in.asked[0].Window
	if !w.Until.Equal(now) || !w.Since.Equal(now.Add(-24*time.Hour)) {
		t.Errorf("window = %v..%v, want the last 24h", w.Since, w.Until)
	}
}

func TestWindowIsNotSentToInstancesWithoutHistory(t *testing.T) {
	in := &memInstance{name: "qlik-prod", typ: vendors.Qlik}
	r := newTestService(t, in).Handle(context.Background(), Caller{}, `list CORP\marc since 2d`)
	if !in.asked[0].Window.IsZero() {
		t.Errorf("window sent: %+v", in.asked[0].Window)
	}
	if len(r.Notes) == 0 || !strings.Contains(r.Notes[0], "call history") {
		t.Errorf("notes = %v, want a note on since/until", r.Notes)
	}
}

func TestShowFindsTheSessionOnWhicheverInstanceHasIt(t *testing.T) {
	prod := &memInstance{name: "qlik-prod", typ: vendors.Qlik, sessions: []vendors.Session{marcSession("7b8ab85e-0c85-4fcb-8e56-4ead683153fb", "qps2")}}
	test := &memInstance{name: "qlik-test", typ: vendors.Qlik}
	r := newTestService(t, prod, test).Handle(context.Background(), Caller{}, `show 7b8ab85e-0c85-4fcb-8e56-4ead683153fb`)
	if r.Problem != nil || len(r.Groups) != 1 || r.Groups[0].Instance != "qlik-prod" || len(r.Groups[0].Sessions) != 1 {
		t.Errorf("reply = %+v", r)
	}
}

func TestVendorsProbesEveryInstance(t *testing.T) {
	ok := &memInstance{name: "qlik-prod", typ: vendors.Qlik}
	down := &memInstance{name: "qlik-test", typ: vendors.Qlik, err: fmt.Errorf("qlik-test: %w", vendors.ErrUnavailable)}
	r := newTestService(t, ok, down).Handle(context.Background(), Caller{}, `vendors`)
	if len(r.Instances) != 2 || r.Instances[0].Err != nil || r.Instances[1].Err == nil {
		t.Errorf("instances = %+v", r.Instances)
	}
	if !r.Instances[0].Capabilities.Has(vendors.CanListAll | vendors.CanGet | vendors.CanListUser) {
		t.Errorf("capabilities = %v", r.Instances[0].Capabilities)
	}
}

func TestIdentityRules(t *testing.T) {
	tests := []struct {
		name    string
		rule    IdentityRule
		user    UserRef
		want    string
		wantErr string
	}{
		{"an email through a directory template", IdentityRule{EmailTemplate: `CORP\{local}`}, UserRef{Form: Email, Email: "marc@contoso.com"}, `CORP\marc`, ""},
		{"an email as a UPN", IdentityRule{EmailTemplate: `{email}`}, UserRef{Form: Email, Email: "marc@contoso.com"}, `marc@contoso.com`, ""},
		{"an account kept as typed", IdentityRule{}, UserRef{Form: Account, Directory: "Domain", Name: "Marc"}, `Domain\Marc`, ""},
		{"a bare name with a default directory", IdentityRule{DefaultDirectory: "CORP", RequireDirectory: true}, UserRef{Form: Bare, Name: "jsmith"}, `CORP\jsmith`, ""},
		{"a bare name where none is needed", IdentityRule{}, UserRef{Form: Bare, Name: "jsmith"}, `jsmith`, ""},
		{"a bare name where a directory is needed", IdentityRule{RequireDirectory: true}, UserRef{Form: Bare, Name: "jsmith"}, "", `needs a user directory`},
		{"an account where only emails work", IdentityRule{EmailOnly: true}, UserRef{Form: Account, Directory: "CORP", Name: "marc"}, "", "identifies people by email"},
		{"an account through an account template", IdentityRule{EmailOnly: true, AccountTemplate: "{user}@contoso.com"}, UserRef{Form: Account, Directory: "Domain", Name: "Marc"}, `marc@contoso.com`, ""},
		{"an account into another directory", IdentityRule{AccountTemplate: `CORP\{user}`}, UserRef{Form: Account, Directory: "Domain", Name: "marc"}, `CORP\marc`, ""},
		{"an email with no template", IdentityRule{}, UserRef{Form: Email, Email: "marc@contoso.com"}, "", "no rule to map an email"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := tt.rule.MapUser(tt.user, "x")
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || id.String() != tt.want {
				t.Errorf("got %q, %v; want %q", id, err, tt.want)
			}
		})
	}
}

func TestCheckTemplate(t *testing.T) {
	for tmpl, ok := range map[string]bool{`CORP\{local}`: true, `{email}`: true, ``: true, `{user}`: false, `CORP\marc`: false} {
		if err := CheckTemplate(tmpl); (err == nil) != ok {
			t.Errorf("CheckTemplate(%q) = %v, want ok=%v", tmpl, err, ok)
		}
	}
}
