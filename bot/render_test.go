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

	"github.com/sessionbot/sessionbot/commands"
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
			Problem: &commands.Problem{Message: `I don't know the command "lsit".`, Suggestion: `list CORP\marc`, ShowUsage: true},
		},
		"Vendors": {
			Command: commands.Command{Verb: commands.Vendors},
			Title:   "Configured instances",
			Instances: []commands.InstanceStatus{
				{Name: "qlik-prod", Type: vendors.Qlik, Capabilities: vendors.CanListUser | vendors.CanGet | vendors.CanListAll | vendors.CanEnd | vendors.CanLogout, Elapsed: 40 * time.Millisecond},
				{Name: "commvault", Type: vendors.Commvault, Capabilities: vendors.CanListUser | vendors.CanEnd, Err: fmt.Errorf("commvault: login: %w", vendors.ErrUnauthorized)},
			},
		},
		"HostileValuesAreEscaped": {
			Command: mustParse(t, `list CORP\x`),
			Title:   `Sessions of CORP\x`,
			Groups: []commands.Group{{Vendor: vendors.Qlik, Instance: "qlik-prod", Identity: `CORP\x`,
				Sessions: []vendors.Session{{ID: "<!channel>", UserName: "<@U123> `rm -rf` & co", User: vendors.Identity{Directory: "CORP", ID: "x`y"}, Node: "<http://evil|click>"}}}},
		},
	}
}

func TestRenderGolden(t *testing.T) {
	for name, reply := range goldenReplies(t) {
		t.Run(name, func(t *testing.T) {
			msg := Render(reply, 1)
			got, err := json.MarshalIndent(msg.Blocks, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			checkLimits(t, msg)
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

// checkLimits asserts the limits Slack enforces on a message.
func checkLimits(t testing.TB, msg Message) {
	t.Helper()
	if len(msg.Blocks) > maxBlocks {
		t.Fatalf("%d blocks, Slack allows %d", len(msg.Blocks), maxBlocks)
	}
	raw, _ := json.Marshal(msg.Blocks)
	var blocks []map[string]any
	if err := json.Unmarshal(raw, &blocks); err != nil {
		t.Fatal(err)
	}
	total := 0
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if text, ok := x["text"].(string); ok {
				if len(text) > maxTextObject {
					t.Fatalf("a text object of %d characters", len(text))
				}
				total += len(text)
			}
			for _, c := range x {
				walk(c)
			}
		case []any:
			for _, c := range x {
				walk(c)
			}
		}
	}
	walk(blocks)
	if total > 12000 {
		t.Fatalf("%d characters of block text; Slack refuses around 13,000", total)
	}
}

func TestLongListsArePagedWithinSlackLimits(t *testing.T) {
	for _, n := range []int{0, 1, 39, 40, 41, 500, 2000} {
		t.Run(fmt.Sprintf("%d sessions", n), func(t *testing.T) {
			r := manySessions(n)
			first := Render(r, 1)
			seen := 0
			for p := 1; p <= first.Pages; p++ {
				msg := Render(r, p)
				checkLimits(t, msg)
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

func TestPageTokenRoundTrips(t *testing.T) {
	cmd := mustParse(t, `list <@U0MARC> on qlik-prod since 2d`)
	tok, err := decodePageToken(encodePageToken(cmd, 3))
	if err != nil || tok.Page != 3 || tok.Command != cmd.String() {
		t.Errorf("token = %+v, %v", tok, err)
	}
	if len(encodePageToken(cmd, 3)) > 2000 {
		t.Error("button value over Slack's 2000 characters")
	}
	if _, err := decodePageToken("garbage"); err == nil {
		t.Error("garbage token accepted")
	}
}

func TestRenderTextShowsNodes(t *testing.T) {
	out := RenderText(goldenReplies(t)["ListWithAnErrorAndAWarning"], time.UTC)
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
