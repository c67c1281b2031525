package bot

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/sessionbot/sessionbot/bot/slacktest"
	"github.com/sessionbot/sessionbot/commands"
	"github.com/sessionbot/sessionbot/console"
	"github.com/sessionbot/sessionbot/internal/testkit"
	"github.com/sessionbot/sessionbot/store"
	"github.com/sessionbot/sessionbot/vendors"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

var t0 = time.Date(2026, 11, 23, 8, 30, 0, 0, time.UTC)

func marc(id, node string, started time.Time) vendors.Session {
	return vendors.Session{
		Vendor: vendors.Qlik, Instance: "qlik-prod", ID: id, Node: node, Started: started,
		User:       vendors.Identity{Directory: "Domain", ID: "Marc"},
		Attributes: []vendors.Attribute{{Name: "group", Value: "Sales"}, {Name: "group", Value: "EMEA"}},
	}
}

func mustParse(t testing.TB, text string) commands.Command {
	c, err := commands.Parse(text, t0)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func goldenReplies(t *testing.T) map[string]commands.Reply {
	return map[string]commands.Reply{
		"ListWithAnErrorAndAWarning": {
			Command: mustParse(t, `list Domain\Marc`),
			Title:   `Sessions of Domain\Marc`,
			Groups: []commands.Group{
				{Vendor: vendors.Qlik, Instance: "qlik-prod", Identity: `Domain\Marc`, Elapsed: 212 * time.Millisecond,
					Sessions: []vendors.Session{marc("7b8ab85e-0c85-4fcb-8e56-4ead683153fb", "qps1.corp:4243", time.Time{}), marc("0f5e7b1a-2222-4fcb-8e56-4ead683153fb", "qps2.corp:4243", time.Time{})},
					Warnings: []error{errors.New("qlik-prod node qps3.corp:4243: list sessions: no answer within 10s")}},
				{Vendor: vendors.Commvault, Instance: "commvault", Identity: `CORP\marc`, Elapsed: 95 * time.Millisecond,
					Sessions: []vendors.Session{{Vendor: vendors.Commvault, ID: "4711", User: vendors.Identity{Directory: "CORP", ID: "marc"}, Node: "ws-marc", Started: t0, LastActive: t0.Add(time.Hour), Attributes: []vendors.Attribute{{Name: "console", Value: "CommCell Console"}}}}},
				{Vendor: vendors.Qlik, Instance: "qlik-test", Identity: `Domain\Marc`, Err: fmt.Errorf("qlik-test node qt1:4243: list sessions: 403 Forbidden: certificate or xrfkey rejected: %w", vendors.ErrForbidden)},
			},
		},
		"Problem": {
			Title:   "I couldn't run that",
			Command: commands.Command{Verb: commands.List},
			Problem: &commands.Problem{Message: "`list` needs a person: a `DIR\\user`, a `user@domain` or an `@mention`.", Suggestion: `list CORP\marc [on qlik-prod] [since 2d]`, ShowUsage: true,
				Usage: []commands.HelpEntry{{Verb: commands.List, Usage: "list <user> [on <instance|type>,...] [since <time>] [until <time>]", Description: "A person's sessions.", Example: `list CORP\marc on qlik-prod`}}},
		},
		"Vendors": {
			Command: commands.Command{Verb: commands.Vendors},
			Title:   "Configured instances",
			Instances: []commands.InstanceStatus{
				{Name: "qlik-prod", Type: vendors.Qlik, Capabilities: vendors.CanListUser | vendors.CanGet | vendors.CanListAll | vendors.CanEnd | vendors.CanLogout, Elapsed: 40 * time.Millisecond},
				{Name: "commvault", Type: vendors.Commvault, Capabilities: vendors.CanListUser | vendors.CanEnd, Err: fmt.Errorf("commvault: login: %w", vendors.ErrUnauthorized)},
			},
		},
		"ListWithNoAccount": {
			Command: mustParse(t, `list marc@contoso.com`),
			Title:   "Sessions of marc@contoso.com",
			Groups: []commands.Group{
				{Vendor: vendors.Commvault, Instance: "commvault", Identity: `CORP\marc`, NoAccount: true, Note: `CORP\marc has no account on commvault.`, Elapsed: 30 * time.Millisecond},
				{Vendor: vendors.Teams, Instance: "teams", Identity: "marc@contoso.com", Elapsed: 80 * time.Millisecond},
			},
		},
		"ProposalKill": {
			Command: mustParse(t, `kill 7b8ab85e-0c85-4fcb-8e56-4ead683153fb on qlik-prod`),
			Title:   "Confirm: end this session?",
			Proposal: &commands.Proposal{Action: store.ActionEndSession, Instance: "qlik-prod", Vendor: vendors.Qlik,
				Sessions: []vendors.Session{marc("7b8ab85e-0c85-4fcb-8e56-4ead683153fb", "qps1.corp:4243", t0)}, User: vendors.Identity{Directory: "Domain", ID: "Marc"},
				Command:   mustParse(t, `kill 7b8ab85e-0c85-4fcb-8e56-4ead683153fb on qlik-prod user Domain\Marc`),
				Approvers: []string{"S0LEADS"}, ApprovalsNeeded: 1},
		},
		"ProposalTeamsLogout": {
			Command: mustParse(t, `logout marc@contoso.com on teams reason laptop stolen`),
			Title:   "Confirm: sign marc@contoso.com out everywhere?",
			Proposal: &commands.Proposal{Action: store.ActionLogoutUser, Instance: "teams", Vendor: vendors.Teams, User: vendors.Identity{ID: "marc@contoso.com"},
				Reason: "laptop stolen", Command: mustParse(t, `logout marc@contoso.com on teams reason laptop stolen`),
				Approvers: []string{"U0LEAD"}, ApprovalsNeeded: 1, RevokesSignIns: true},
		},
		"AuditReply": {
			Command: commands.Command{Verb: commands.Audit, AuditTarget: "R7K2M9QX"},
			Title:   "Audit log (3 events)",
			Events: []store.Event{
				{At: t0, Actor: "U0ONCALL", Action: "request", Instance: "qlik-prod", Target: "7b8ab85e-0c85-4fcb-8e56-4ead683153fb", RequestID: "R7K2M9QX", Result: "pending"},
				{At: t0.Add(5 * time.Minute), Actor: "U0LEAD", Action: "approve_vote", Instance: "qlik-prod", Target: "7b8ab85e-0c85-4fcb-8e56-4ead683153fb", RequestID: "R7K2M9QX", Result: "approved"},
				{At: t0.Add(7 * time.Minute), Actor: "replica-1", Action: "outcome", Instance: "qlik-prod", Target: "7b8ab85e-0c85-4fcb-8e56-4ead683153fb", RequestID: "R7K2M9QX", Result: "done"},
			},
		},
		"PendingReply": {
			Command:  commands.Command{Verb: commands.Pending},
			Title:    "1 pending request",
			Requests: []commands.RequestView{{Request: func() store.Request { r, _ := goldenRequest(); r.State = store.StatePending; return r }()}},
		},
		"HostileValuesAreEscaped": {
			Command: mustParse(t, `list CORP\x`),
			Title:   `Sessions of CORP\x`,
			Groups: []commands.Group{{Vendor: vendors.Qlik, Instance: "qlik-prod", Identity: `CORP\x`,
				Sessions: []vendors.Session{{ID: "<!channel>", UserName: "<@U123> `rm -rf` & co", User: vendors.Identity{Directory: "CORP", ID: "x`y"}, Node: "<http://evil|click>"}}}},
		},
	}
}

// goldenMessages are the messages kept in testdata: replies, and the
// approval flow's messages in each state.
func goldenMessages(t *testing.T) map[string]Message {
	out := map[string]Message{}
	for name, reply := range goldenReplies(t) {
		out[name] = Render(reply, 1)
	}
	out["LongListMiddlePage"] = renderList(manySessions(120), 2, listRef{Key: "K7QX2M9PLR4TZ8WB", Asker: "U0ONCALL", At: t0})
	req, votes := goldenRequest()
	for _, state := range allStates[:8] {
		r := req
		r.State = state
		v := votes
		switch state {
		case store.StatePending, store.StateExpired:
			v = nil
		case store.StateDenied:
			v = []store.Vote{{Voter: "U0LEAD", Approve: false, Reason: "the user is presenting to the board", At: t0.Add(5 * time.Minute)}}
		case store.StateDone:
			r.Outcome = "session 7b8ab85e-0c85-4fcb-8e56-4ead683153fb of CORP\\marc ended on qps1.corp:4243"
		case store.StateFailed:
			r.Outcome = "the vendor refused the delete: 403 Forbidden"
		}
		if state != store.StatePending {
			r.FinishedAt = t0.Add(6 * time.Minute)
		}
		out["Approval_"+string(state)] = approvalMessage(r, v, []string{"S0LEADS", "U0LEAD"})
		if state == store.StateDenied || state == store.StateDone {
			out["Requester_"+string(state)] = requesterMessage(r, v)
		}
	}
	teams := req
	teams.Action, teams.Vendor, teams.Instance, teams.SessionID, teams.Node, teams.TargetDirectory, teams.TargetUser = store.ActionLogoutUser, "teams", "teams", "", "", "", "marc@contoso.com"
	teams.State, teams.SessionStarted = store.StatePending, time.Time{}
	out["Approval_teams_logout"] = approvalMessage(teams, nil, []string{"U0LEAD"})
	return out
}

func goldenRequest() (store.Request, []store.Vote) {
	return store.Request{ID: "R7K2M9QX", Action: store.ActionEndSession, Vendor: "qlik", Instance: "qlik-prod", SessionID: "7b8ab85e-0c85-4fcb-8e56-4ead683153fb",
			TargetDirectory: "CORP", TargetUser: "marc", Node: "qps1.corp:4243", SessionStarted: t0.Add(-time.Hour), Reason: "stuck after the 02:00 deploy",
			Requester: "U0ONCALL", ApprovalsNeeded: 1, CreatedAt: t0, ExpiresAt: t0.Add(15 * time.Minute),
			Delivery: delivery{RequesterChannel: "C0OPS", ApprovalChannel: "C0APPROVALS"}.encode()},
		[]store.Vote{{Voter: "U0LEAD", Approve: true, At: t0.Add(5 * time.Minute)}}
}

func TestRenderGolden(t *testing.T) {
	for name, msg := range goldenMessages(t) {
		t.Run(name, func(t *testing.T) {
			checkMessage(t, msg)
			got, err := json.MarshalIndent(struct {
				Text   string        `json:"text"`
				Blocks []slack.Block `json:"blocks"`
			}{wireText(msg.Text), msg.Blocks}, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", name+".golden.json")
			if *update {
				if err := os.MkdirAll("testdata", 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, append(got, '\n'), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./bot -run TestRenderGolden -update to create it)", err)
			}
			if strings.TrimSpace(string(want)) != strings.TrimSpace(string(got)) {
				t.Errorf("rendering of %s changed; if intended, run with -update.\ngot:\n%s", name, got)
			}
		})
	}
}

func TestHostileValuesCannotMentionOrLink(t *testing.T) {
	msg := Render(goldenReplies(t)["HostileValuesAreEscaped"], 1)
	raw, _ := json.Marshal(msg.Blocks)
	for _, bad := range []string{"<!channel>", "<@U123>", "<http://evil"} {
		if strings.Contains(string(raw), bad) {
			t.Errorf("rendered blocks contain %q unescaped", bad)
		}
	}
}

func manySessions(n int) commands.Reply {
	r := commands.Reply{Command: commands.Command{Verb: commands.List, User: commands.UserRef{Form: commands.Account, Directory: "Domain", Name: "Marc"}}, Title: `Sessions of Domain\Marc`}
	g := commands.Group{Vendor: vendors.Qlik, Instance: "qlik-prod", Identity: `Domain\Marc`}
	for i := range n {
		s := marc(fmt.Sprintf("%08x-0c85-4fcb-8e56-4ead683153fb", i), fmt.Sprintf("qps%d.corp.example.com:4243", i%7), t0.Add(-time.Duration(i)*time.Minute))
		s.UserName = strings.Repeat("Marc Longname ", 3)
		for j := range 12 {
			s.Attributes = append(s.Attributes, vendors.Attribute{Name: fmt.Sprintf("attr%d", j), Value: strings.Repeat("v", 200)})
		}
		g.Sessions = append(g.Sessions, s)
	}
	r.Groups = []commands.Group{g}
	return r
}

// checkMessage passes a message, as it goes to Slack, through the strict
// validator of the fake Slack.
func checkMessage(t testing.TB, msg Message) {
	t.Helper()
	raw, err := json.Marshal(msg.Blocks)
	if err != nil {
		t.Fatal(err)
	}
	if len(msg.Blocks) == 0 {
		raw = nil
	}
	if err := slacktest.ValidateMessage(wireText(msg.Text), raw); err != nil {
		t.Fatalf("Slack would refuse this message: %v\n%s", err, raw)
	}
}

func TestLongListsArePagedWithinSlackLimits(t *testing.T) {
	for _, n := range []int{0, 1, 39, 40, 41, 500, 2000} {
		t.Run(fmt.Sprintf("%d sessions", n), func(t *testing.T) {
			r := manySessions(n)
			first, lay := renderLaidOut(r, 1, listRef{}, nil)
			seen := 0
			for p := 1; p <= first.Pages; p++ {
				msg, _ := renderLaidOut(r, p, listRef{}, lay)
				checkMessage(t, msg)
				raw, _ := json.Marshal(msg.Blocks)
				seen += strings.Count(string(raw), "-0c85-4fcb-8e56-4ead683153fb")
				hasNext := strings.Contains(string(raw), `"Next page"`)
				if hasNext != (p < first.Pages) {
					t.Errorf("page %d of %d: next button = %v", p, first.Pages, hasNext)
				}
			}
			if seen != n {
				t.Errorf("pages show %d sessions in all, want %d", seen, n)
			}
		})
	}
}

func TestPageButtonsCarryAShortKeyWhateverWasTyped(t *testing.T) {
	long := commands.Command{Verb: commands.List, Targets: []string{"qlik-prod"},
		User: commands.UserRef{Form: commands.Account, Directory: "CORP", Name: strings.Repeat("ü\"", 900)}}
	ref := listRef{Key: "ABCDEFGHIJKLMNOP", Asker: "U0ASKER", At: t0}
	for _, cmd := range []commands.Command{mustParse(t, `list @U0MARC on qlik-prod since 2d`), long} {
		value := encodePage(ref, cmd, 3)
		if n := len([]rune(value)); n > 2000 {
			t.Fatalf("button value of %d characters", n)
		}
		v, err := decodePage(value)
		if err != nil || v.Page != 3 || v.Key != ref.Key || v.Asker != ref.Asker {
			t.Errorf("value = %+v, %v", v, err)
		}
		if v.Command != "" && v.Command != cmd.String() {
			t.Errorf("command %q came back as %q", cmd.String(), v.Command)
		}
	}
	if _, err := decodePage("garbage"); err == nil {
		t.Error("garbage accepted")
	}
	if _, err := decodePage(`{"v":1,"c":"list all on qlik-prod","p":2}`); err == nil {
		t.Error("an older version's token accepted")
	}
}

func TestRenderTextShowsNodes(t *testing.T) {
	out := console.RenderText(goldenReplies(t)["ListWithAnErrorAndAWarning"], time.UTC)
	for _, want := range []string{`Domain\Marc`, "qps1.corp:4243", "qps2.corp:4243", "WARNING: qlik-prod node qps3", "ERROR: qlik-test", "certificate or xrfkey rejected"} {
		if !strings.Contains(out, want) {
			t.Errorf("text lacks %q:\n%s", want, out)
		}
	}
}

func BenchmarkRender2000Sessions(b *testing.B) {
	r := manySessions(2000)
	b.ReportAllocs()
	for b.Loop() {
		msg := Render(r, 1)
		if len(msg.Blocks) == 0 {
			b.Fatal("nothing rendered")
		}
	}
}

// TestTheConsoleSaysTheSame checks the terminal's wording of what the
// golden files show for Slack.
func TestTheConsoleSaysTheSame(t *testing.T) {
	replies := goldenReplies(t)
	req, _ := goldenRequest()
	req.State = store.StateDenied
	denied := commands.Reply{Title: "Request R7K2M9QX: denied", Request: &commands.RequestView{Request: req,
		Votes: []store.Vote{{Voter: "U0LEAD", Reason: "presenting to the board", At: t0}}}}
	tests := []struct {
		name        string
		reply       commands.Reply
		want, never []string
	}{
		{"a deny reason", denied, []string{"denied by U0LEAD at 2026-11-23 08:30 UTC, reason: presenting to the board"}, nil},
		{"a Teams logout", replies["ProposalTeamsLogout"], []string{"sign marc@contoso.com out everywhere", "revoked", "does not end a call"}, []string{"0 sessions"}},
		{"no account", replies["ListWithNoAccount"], []string{"[commvault] (commvault) as CORP\\marc: no account"}, []string{"ERROR", "skipped"}},
		{"the usage of the verb meant", replies["Problem"], []string{"Usage: list <user>", "e.g. list CORP\\marc on qlik-prod"}, []string{"logout"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			testkit.Says(t, console.RenderText(tt.reply, time.UTC), tt.want, tt.never)
		})
	}
}

func TestAPageWithoutSessionsCountsNone(t *testing.T) {
	r := commands.Reply{Command: mustParse(t, `list CORP\marc`), Title: "Sessions of CORP\\marc"}
	for i := range 60 {
		r.Groups = append(r.Groups, commands.Group{Vendor: vendors.Qlik, Instance: fmt.Sprintf("qlik-%d", i), Err: fmt.Errorf("no answer: %w", vendors.ErrTimeout)})
	}
	first, lay := renderLaidOut(r, 1, listRef{}, nil)
	if first.Pages < 2 {
		t.Fatalf("%d pages, want several", first.Pages)
	}
	for p := 1; p <= first.Pages; p++ {
		msg, _ := renderLaidOut(r, p, listRef{}, lay)
		checkMessage(t, msg)
		if text := textOf(msg); strings.Contains(text, "sessions 1–0") || strings.Contains(text, "of 0") {
			t.Errorf("page %d counts sessions it does not show:\n%s", p, text)
		}
	}
}
