package commands

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/sessionbot/sessionbot/store"
	"github.com/sessionbot/sessionbot/vendors"
)

// ender can also end sessions and log people out.
type ender struct{ *memInstance }

func (ender) EndSession(context.Context, vendors.Session) error { return nil }
func (ender) LogoutUser(context.Context, vendors.Identity) (vendors.Listing, error) {
	return vendors.Listing{}, nil
}

// personEnder finds sessions only by person, and ends them (Commvault).
type personEnder struct{ userOnly }

func (personEnder) EndSession(context.Context, vendors.Session) error { return nil }

// teamsLike lists call history by email and logs people out.
type teamsLike struct{ windowed }

func (teamsLike) LogoutUser(context.Context, vendors.Identity) (vendors.Listing, error) {
	return vendors.Listing{}, nil
}

func TestHelpExamplesRunOnTheConfiguredInstances(t *testing.T) {
	cases := map[string][]vendors.Instance{
		"commvault first alphabetically": {personEnder{userOnly{&memInstance{name: "commvault", typ: vendors.Commvault}}},
			ender{&memInstance{name: "qlik-prod", typ: vendors.Qlik}}, teamsLike{windowed{&memInstance{name: "teams", typ: vendors.Teams}}}},
		"only commvault can end":   {personEnder{userOnly{&memInstance{name: "cv", typ: vendors.Commvault}}}, windowed{&memInstance{name: "teams", typ: vendors.Teams}}},
		"only teams can log out":   {teamsLike{windowed{&memInstance{name: "teams", typ: vendors.Teams}}}, userOnly{&memInstance{name: "cv", typ: vendors.Commvault}}},
		"nothing can end sessions": {userOnly{&memInstance{name: "cv", typ: vendors.Commvault}}},
	}
	needs := map[Verb]vendors.Capability{Kill: vendors.CanEnd, Logout: vendors.CanLogout, Show: vendors.CanGet}
	for name, instances := range cases {
		t.Run(name, func(t *testing.T) {
			svc := newTestService(t, instances...)
			for _, e := range svc.help(Command{Verb: Help}).Help {
				cmd, err := Parse(e.Example, now)
				if err != nil {
					t.Errorf("example %q does not parse: %v", e.Example, err)
					continue
				}
				need := needs[cmd.Verb]
				if cmd.Verb == List {
					need = vendors.CanListUser
					if cmd.AllUsers {
						need = vendors.CanListAll
					}
				}
				for _, target := range cmd.Targets {
					in, ok := svc.registry.Get(target)
					if !ok || !vendors.Capabilities(in).Has(need) {
						t.Errorf("example %q names %s, which cannot do it", e.Example, target)
						continue
					}
					if _, err := svc.opts(target).Identity.MapUser(cmd.User, target); cmd.User.Form != 0 && err != nil {
						t.Errorf("example %q writes the person in a form %s refuses: %v", e.Example, target, err)
					}
					if cmd.Verb == Kill && !vendors.Capabilities(in).Has(vendors.CanGet) && cmd.User.Form == 0 {
						t.Errorf("example %q lacks the `user` %s needs", e.Example, target)
					}
				}
				if need != 0 && cmd.Verb != List && len(cmd.Targets) == 0 && cmd.Verb != Show {
					t.Errorf("example %q names no instance", e.Example)
				}
			}
		})
	}
}

func TestAProblemShowsOnlyTheUsageOfTheVerbMeant(t *testing.T) {
	svc := newTestService(t, &memInstance{name: "qlik-prod", typ: vendors.Qlik}, windowed{&memInstance{name: "teams", typ: vendors.Teams}})
	tests := []struct {
		text string
		verb Verb // "" when no usage should be shown
	}{
		{"list", List},
		{"lsit CORP\\marc", List},
		{"show", Show},
		{"deny", Approve},
		{"frobnicate everything", ""},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			r := svc.Handle(context.Background(), Caller{}, tt.text)
			if r.Problem == nil {
				t.Fatalf("no problem for %q", tt.text)
			}
			if tt.verb == "" && len(r.Problem.Usage) > 0 {
				t.Errorf("usage shown for a command nobody meant: %+v", r.Problem.Usage)
			}
			if tt.verb != "" && len(r.Problem.Usage) == 0 {
				t.Errorf("no usage shown")
			}
			for _, e := range r.Problem.Usage {
				if e.Verb != tt.verb {
					t.Errorf("usage of %s shown for %q", e.Verb, tt.text)
				}
			}
		})
	}
}

func TestSuggestionsNameAnInstanceThatCanDoIt(t *testing.T) {
	svc := newTestService(t, userOnly{&memInstance{name: "cv", typ: vendors.Commvault}}, &memInstance{name: "qlik-prod", typ: vendors.Qlik})
	r := svc.Handle(context.Background(), Caller{}, "list all")
	if r.Problem == nil || r.Problem.Suggestion != "list all on qlik-prod" {
		t.Fatalf("suggestion = %+v, want list all on qlik-prod", r.Problem)
	}
}

func TestNoAccountIsAnAnswerNotAnError(t *testing.T) {
	cv := userOnly{&memInstance{name: "cv", typ: vendors.Commvault, err: fmt.Errorf(`no Commvault user named "CORP\marc": %w`, vendors.ErrNotFound)}}
	svc := newTestService(t, cv, &memInstance{name: "qlik-prod", typ: vendors.Qlik, sessions: []vendors.Session{marcSession("s1", "qps1")}})
	r := svc.Handle(context.Background(), Caller{}, `list CORP\marc`)
	g := r.Groups[0]
	if g.Instance != "cv" || g.Err != nil || !g.NoAccount || !strings.Contains(g.Note, "no account on cv") {
		t.Fatalf("group = %+v, want no account and no error", g)
	}
	if got := readResult(r); got != "1 session, 0 instances failed" {
		t.Errorf("audit result = %q", got)
	}
}

func TestAMentionIsTitledWithThePersonItResolvesTo(t *testing.T) {
	svc := newTestService(t, &memInstance{name: "qlik-prod", typ: vendors.Qlik})
	r := svc.Handle(context.Background(), Caller{}, `list @U0MARC`)
	if r.Title != "Sessions of marc@contoso.com" {
		t.Errorf("title = %q: a header is plain text, where a chat shows no mention", r.Title)
	}
}

func TestPlurals(t *testing.T) {
	for n, want := range map[int]string{0: "0 requests", 1: "1 request", 2: "2 requests"} {
		if got := Plural(n, "request"); got != want {
			t.Errorf("Plural(%d) = %q, want %q", n, got, want)
		}
	}
	r := Reply{Groups: []Group{{Err: fmt.Errorf("x")}, {Sessions: []vendors.Session{{}}}}}
	if got := readResult(r); got != "1 session, 1 instance failed" {
		t.Errorf("audit result = %q", got)
	}
}

func TestATeamsLogoutSaysWhatItDid(t *testing.T) {
	teams := teamsLike{windowed{&memInstance{name: "teams", typ: vendors.Teams}}}
	svc := newTestService(t, teams)
	state, outcome := svc.end(context.Background(), teams, store.Request{Action: store.ActionLogoutUser, Instance: "teams", TargetUser: "marc@contoso.com"})
	if state != store.StateDone || !strings.Contains(outcome, "sign-in sessions revoked") || !strings.Contains(outcome, "calls in progress were not ended") ||
		strings.Contains(outcome, "0 sessions") {
		t.Errorf("outcome = %s: %q", state, outcome)
	}
	if !RevokesSignIns(vendors.Teams) || !RevokesSignIns(vendors.Skype) || RevokesSignIns(vendors.Qlik) {
		t.Error("RevokesSignIns names the wrong vendors")
	}
}
