package bot

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/sessionbot/sessionbot/bot/slacktest"
	"github.com/sessionbot/sessionbot/commands"
	"github.com/sessionbot/sessionbot/store"
	"github.com/sessionbot/sessionbot/vendors"
)

// markup is what a vendor's value or a person's text could use to forge a
// broadcast, a mention or a link if it reached Slack unescaped.
var markup = []string{"<!channel>", "<!here>", "<@U123>", "<https://x|y>"}

// pieces are what generated vendor strings are made of: markup, Slack and
// Markdown syntax, white space, unicode, and the characters that delimit
// the bot's own grammar and values.
var pieces = []string{
	"<!channel>", "<!here>", "<@U123>", "<https://x|y>", "<#C123|ops>", "<!subteam^S1>", "&", "&amp;", "&lt;", "<", ">",
	"`", "```", "*", "_", "~", ">quote", "\n", "\r\n", "\t", " ", "  ", "|", "\\", "/", "\"", "'", "{", "}", ",",
	" reason x", " on qlik-prod", " user CORP\\eve", "..", ".", "%2E", ":x:", "日本語", "ünïcødé", "🎉", "\u200b", "\u2028",
	"e\u0301", "\x00", "\x1b[31m", "CORP\\John Smith", "marc@contoso.com", "7b8ab85e-0c85-4fcb-8e56-4ead683153fb",
}

// gen makes arbitrary vendor strings from a seed, and the fuzzer's own
// strings when it has some.
type gen struct {
	r     *rand.Rand
	extra []string
	// short leaves out the long strings, for lists of thousands.
	short bool
}

func newGen(seed uint64, extra ...string) *gen {
	return &gen{r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), extra: extra}
}

func (g *gen) str() string {
	switch g.r.IntN(12) {
	case 0:
		return ""
	case 1:
		if g.short {
			return g.piece()
		}
		// Long: past every limit Slack has on one text.
		return strings.Repeat(g.piece(), 600+g.r.IntN(800))
	case 2:
		if len(g.extra) > 0 {
			return g.extra[g.r.IntN(len(g.extra))]
		}
	}
	var b strings.Builder
	for range 1 + g.r.IntN(6) {
		b.WriteString(g.piece())
	}
	return b.String()
}

func (g *gen) piece() string {
	if len(g.extra) > 0 && g.r.IntN(4) == 0 {
		return g.extra[g.r.IntN(len(g.extra))]
	}
	return pieces[g.r.IntN(len(pieces))]
}

func (g *gen) when() time.Time {
	if g.r.IntN(5) == 0 {
		return time.Time{}
	}
	return t0.Add(time.Duration(g.r.IntN(1<<20)-1<<19) * time.Second)
}

func (g *gen) err() error {
	kinds := []error{vendors.ErrTimeout, vendors.ErrForbidden, vendors.ErrUnauthorized, vendors.ErrBadAnswer, vendors.ErrUnavailable, vendors.ErrInvalidInput, vendors.ErrNotFound}
	return fmt.Errorf("%s: %w", g.str(), kinds[g.r.IntN(len(kinds))])
}

func (g *gen) session(instance string) vendors.Session {
	s := vendors.Session{Vendor: vendors.Qlik, Instance: instance, ID: g.str(), Node: g.str(), UserName: g.str(),
		User: vendors.Identity{Directory: g.str(), ID: g.str()}, Started: g.when(), LastActive: g.when()}
	if g.r.IntN(4) == 0 {
		s.Ended = g.when()
	}
	for range g.r.IntN(8) {
		s.Attributes = append(s.Attributes, vendors.Attribute{Name: g.str(), Value: g.str()})
	}
	return s
}

// sessionCount picks a list's size: mostly small, sometimes long.
func (g *gen) sessionCount() int {
	switch g.r.IntN(20) {
	case 0:
		return 100 + g.r.IntN(200)
	case 1, 2, 3:
		return 30 + g.r.IntN(60)
	}
	return g.r.IntN(6)
}

func (g *gen) listReply(sessions int) commands.Reply {
	r := commands.Reply{Command: commands.Command{Verb: commands.List, User: commands.UserRef{Form: commands.Account, Directory: g.str(), Name: g.str()}},
		Title: "Sessions of " + g.str(), Understood: g.maybe(g.str())}
	groups := 1 + g.r.IntN(12)
	for i := range groups {
		grp := commands.Group{Vendor: vendors.Type(g.str()), Instance: g.str(), Identity: g.str(), Elapsed: time.Duration(g.r.IntN(5000)) * time.Millisecond, CanKill: g.r.IntN(2) == 0}
		switch g.r.IntN(6) {
		case 0:
			grp.Err = g.err()
		case 1:
			grp.Note = g.str()
			grp.NoAccount = g.r.IntN(2) == 0
		}
		for range g.r.IntN(3) {
			grp.Warnings = append(grp.Warnings, g.err())
		}
		n := sessions / groups
		if i == 0 {
			n += sessions % groups
		}
		if grp.Err == nil {
			for range n {
				grp.Sessions = append(grp.Sessions, g.session(grp.Instance))
			}
		}
		r.Groups = append(r.Groups, grp)
	}
	for range g.r.IntN(3) {
		r.Notes = append(r.Notes, g.str())
	}
	if g.r.IntN(2) == 0 {
		r.Window = vendors.Window{Since: t0.Add(-24 * time.Hour), Until: t0}
	}
	return r
}

func (g *gen) maybe(s string) string {
	if g.r.IntN(2) == 0 {
		return ""
	}
	return s
}

func (g *gen) request(state store.State) store.Request {
	// The id is the store's own (store.NewID), not a vendor's value.
	r := store.Request{ID: fmt.Sprintf("R%07X", g.r.IntN(1<<28)), Action: store.ActionEndSession, Vendor: g.str(), Instance: g.str(), SessionID: g.str(),
		TargetDirectory: g.str(), TargetUser: g.str(), Node: g.str(), SessionStarted: g.when(), Reason: g.str(),
		Requester: g.slackID(), ApprovalsNeeded: 1 + g.r.IntN(3), State: state,
		CreatedAt: t0, ExpiresAt: t0.Add(15 * time.Minute), Outcome: g.maybe(g.str()),
		Delivery: delivery{RequesterChannel: "C0OPS", ApprovalChannel: g.maybe("C0APPROVALS")}.encode()}
	if g.r.IntN(2) == 0 {
		r.Action = store.ActionLogoutUser
		r.Vendor = string([]vendors.Type{vendors.Teams, vendors.Qlik, vendors.Skype}[g.r.IntN(3)])
	}
	if state != store.StatePending {
		r.FinishedAt = g.when()
	}
	return r
}

// slackID is a Slack user id, or sometimes what a store could hold instead
// (a replica's name, a hostile string).
func (g *gen) slackID() string {
	if g.r.IntN(4) == 0 {
		return g.str()
	}
	return []string{"U0REQ", "U0LEAD", "W0ADMIN"}[g.r.IntN(3)]
}

func (g *gen) votes() []store.Vote {
	var votes []store.Vote
	for range g.r.IntN(5) {
		votes = append(votes, store.Vote{Voter: g.slackID(), Approve: g.r.IntN(2) == 0, Reason: g.str(), At: g.when()})
	}
	return votes
}

func (g *gen) event() store.Event {
	return store.Event{At: g.when(), Actor: g.slackID(), Action: g.str(), Instance: g.str(), Target: g.str(), RequestID: g.str(), Result: g.str(), Detail: g.str()}
}

func (g *gen) command() commands.Command {
	c := commands.Command{Verb: commands.Kill, SessionID: g.str(), Targets: []string{g.str()}, Reason: g.str()}
	if g.r.IntN(2) == 0 {
		c.User = commands.UserRef{Form: commands.Account, Directory: g.str(), Name: g.str()}
	}
	return c
}

// built is one message or view the bot can send, by name.
type built struct {
	name string
	msg  *Message
	view *slack.ModalViewRequest
}

var allStates = []store.State{store.StatePending, store.StateApproved, store.StateExecuting, store.StateDone, store.StateFailed,
	store.StateDenied, store.StateExpired, store.StateInterrupted, store.State("unknown")}

// everyMessage builds every kind of message and view the bot sends, from
// g's strings.
func everyMessage(g *gen) []built {
	var out []built
	add := func(name string, m Message) { out = append(out, built{name: name, msg: &m}) }
	addView := func(name string, v slack.ModalViewRequest) { out = append(out, built{name: name, view: &v}) }

	list := g.listReply(g.sessionCount())
	add("list without a ref", Render(list, 1))
	ref := listRef{Key: "KEY0123456789ABC", Asker: "U0ASKER", At: t0}
	first, lay := renderLaidOut(list, 1, ref, nil)
	add("list page 1", first)
	for _, p := range []int{2, first.Pages / 2, first.Pages, first.Pages + 1} {
		msg, _ := renderLaidOut(list, p, ref, lay)
		add(fmt.Sprintf("list page %d of %d", p, first.Pages), msg)
	}
	show := g.listReply(1)
	show.Command = commands.Command{Verb: commands.Show, SessionID: g.str()}
	add("show", Render(show, 1))

	usage := []commands.HelpEntry{{Verb: commands.List, Usage: g.str(), Description: g.str(), Example: g.str()}}
	add("problem", Render(commands.Reply{Title: g.str(), Command: g.command(), Problem: &commands.Problem{Message: g.str(), Suggestion: g.str(), Usage: usage}}, 1))
	add("help", Render(commands.Reply{Command: commands.Command{Verb: commands.Help}, Title: "What I can do", Help: append(usage, usage...), Notes: []string{g.str(), g.str()}}, 1))
	var instances []commands.InstanceStatus
	for range 1 + g.r.IntN(60) {
		in := commands.InstanceStatus{Name: g.str(), Type: vendors.Type(g.str()), Capabilities: vendors.Capability(g.r.IntN(64)), Elapsed: time.Duration(g.r.IntN(9999)) * time.Millisecond}
		if g.r.IntN(3) == 0 {
			in.Err = g.err()
		}
		instances = append(instances, in)
	}
	add("vendors", Render(commands.Reply{Command: commands.Command{Verb: commands.Vendors}, Title: "Configured instances", Instances: instances, Notes: []string{g.str()}}, 1))

	for _, action := range []store.Action{store.ActionEndSession, store.ActionLogoutUser} {
		p := &commands.Proposal{Action: action, Instance: g.str(), Vendor: vendors.Type(g.str()), User: vendors.Identity{Directory: g.str(), ID: g.str()},
			Reason: g.maybe(g.str()), Command: g.command(), Approvers: []string{g.slackID(), "S0LEADS", "C0LEADS", g.str()}, ApprovalsNeeded: g.r.IntN(3),
			NoApproval: g.r.IntN(4) == 0, RevokesSignIns: action == store.ActionLogoutUser && g.r.IntN(2) == 0}
		for range g.r.IntN(80) {
			p.Sessions = append(p.Sessions, g.session(p.Instance))
		}
		add("proposal "+string(action), Render(commands.Reply{Command: p.Command, Title: g.str(), Proposal: p}, 1))
	}
	for _, state := range allStates {
		req, votes := g.request(state), g.votes()
		add("request "+string(state), Render(commands.Reply{Title: g.str(), Request: &commands.RequestView{Request: req, Votes: votes}, Notes: []string{g.str()}}, 1))
		add("approval message "+string(state), approvalMessage(req, votes, []string{g.slackID(), "S0LEADS", g.str()}))
		add("requester message "+string(state), requesterMessage(req, votes))
	}
	var pending []commands.RequestView
	for range g.r.IntN(60) {
		pending = append(pending, commands.RequestView{Request: g.request(allStates[g.r.IntN(len(allStates))]), Votes: g.votes()})
	}
	add("pending", Render(commands.Reply{Command: commands.Command{Verb: commands.Pending}, Title: g.str(), Requests: pending}, 1))
	var events []store.Event
	for range g.r.IntN(120) {
		events = append(events, g.event())
	}
	add("audit", Render(commands.Reply{Command: commands.Command{Verb: commands.Audit}, Title: g.str(), Events: events}, 1))
	add("audit mirror", auditMessage(g.event()))
	add("language show-back", Render(commands.Reply{Title: g.str(), Understood: g.str(), NeedsConfirmation: true}, 1))
	add("text only", Message{Text: "That button no longer works: " + g.str()})

	meta := strings.Repeat("m", g.r.IntN(2000))
	addView("reason dialog", reasonModal(g.command(), meta))
	addView("deny dialog", denyModal(g.str(), meta))
	addView("edit dialog", editModal(g.str(), meta))
	return out
}

// validate passes what the bot would send through the fake Slack's
// strict validator.
func validate(b built) error {
	if b.view != nil {
		raw, err := json.Marshal(b.view)
		if err != nil {
			return err
		}
		return slacktest.ValidateView(raw)
	}
	var raw json.RawMessage
	if len(b.msg.Blocks) > 0 {
		var err error
		if raw, err = json.Marshal(b.msg.Blocks); err != nil {
			return err
		}
	}
	if err := slacktest.ValidateMessage(wireText(b.msg.Text), raw); err != nil {
		return err
	}
	return nil
}

// botMarkup is the markup the bot itself writes in mrkdwn: dates, and
// mentions of Slack ids it checked. Anything else between < and > came from
// a value that was not escaped.
var botMarkup = regexp.MustCompile(`<(!date\^-?[0-9]+\^[^|<>]*\|[^<>]*|@[UW][A-Z0-9]{2,20}|!subteam\^S[A-Z0-9]{2,20}|#[CG][A-Z0-9]{2,20})>`)

// unescaped finds, in what Slack reads as mrkdwn (mrkdwn text objects and
// a message's top-level text), a < > or & that the bot did not write.
func unescaped(b built) error {
	var raw []byte
	if b.view != nil {
		raw, _ = json.Marshal(b.view)
	} else {
		raw, _ = json.Marshal(b.msg.Blocks)
		if err := checkMrkdwn("top-level text", wireText(b.msg.Text)); err != nil {
			return err
		}
	}
	return slacktest.Objects(raw, func(o map[string]any) error {
		if o["type"] != "mrkdwn" {
			return nil
		}
		text, _ := o["text"].(string)
		return checkMrkdwn("mrkdwn", text)
	})
}

var entity = regexp.MustCompile(`&(amp|lt|gt);`)

func checkMrkdwn(where, text string) error {
	rest := botMarkup.ReplaceAllString(text, "")
	if i := strings.IndexAny(rest, "<>"); i >= 0 {
		return fmt.Errorf("%s holds unescaped markup near %q", where, snippetAround(rest, i))
	}
	if i := strings.Index(entity.ReplaceAllString(rest, ""), "&"); i >= 0 {
		return fmt.Errorf("%s holds an unescaped & near %q", where, snippetAround(entity.ReplaceAllString(rest, ""), i))
	}
	return nil
}

func snippetAround(s string, i int) string {
	lo, hi := max(0, i-30), min(len(s), i+30)
	return s[lo:hi]
}

// checkAll validates every message kind built from one generator.
func checkAll(t *testing.T, g *gen) {
	t.Helper()
	for _, b := range everyMessage(g) {
		if err := validate(b); err != nil {
			t.Fatalf("%s: Slack would refuse it: %v", b.name, err)
		}
		if err := unescaped(b); err != nil {
			t.Fatalf("%s: %v", b.name, err)
		}
	}
}

// TestEveryMessageKindPassesTheStrictValidator builds every message, modal
// and dialog the bot sends from arbitrary vendor strings, for a fixed set of
// seeds, and passes each through the strict validator and the escaping
// check. FuzzEveryMessageKind explores further.
func TestEveryMessageKindPassesTheStrictValidator(t *testing.T) {
	t.Parallel()
	seeds := 12
	if testing.Short() {
		seeds = 4
	}
	for seed := range uint64(seeds) {
		checkAll(t, newGen(seed))
	}
}

// TestTheLongestListsPassTheStrictValidator walks every page of lists of
// up to 5000 sessions over many instances.
func TestTheLongestListsPassTheStrictValidator(t *testing.T) {
	t.Parallel()
	for _, n := range []int{0, 1, 2000, 5000} {
		g := newGen(uint64(n))
		g.short = true
		r := g.listReply(n)
		ref := listRef{Key: "KEY0123456789ABC", Asker: "U0ASKER", At: t0}
		first, lay := renderLaidOut(r, 1, ref, nil)
		for p := 1; p <= first.Pages; p += max(1, min(first.Pages-p, 7)) {
			msg, _ := renderLaidOut(r, p, ref, lay)
			b := built{name: fmt.Sprintf("%d sessions, page %d", n, p), msg: &msg}
			if err := validate(b); err != nil {
				t.Fatalf("%s: %v", b.name, err)
			}
			if err := unescaped(b); err != nil {
				t.Fatalf("%s: %v", b.name, err)
			}
		}
	}
}

func FuzzEveryMessageKind(f *testing.F) {
	f.Add(uint64(1), "<!channel>", "CORP\\John Smith")
	f.Add(uint64(2), "<https://evil.example/sso|Marc>", "&lt;!here&gt;")
	f.Fuzz(func(t *testing.T, seed uint64, a, b string) {
		checkAll(t, newGen(seed, a, b))
	})
}

// TestMarkupArrivesAsLiteralText puts each piece of markup into every
// vendor field and every typed field, one at a time, and checks that no
// message kind lets it through live, and that it is shown as text.
func TestMarkupArrivesAsLiteralText(t *testing.T) {
	t.Parallel()
	mark := strings.Join(markup, " ")
	for field := range fields {
		// Plain words everywhere, except in one field.
		g := &markedGen{field: field, mark: mark}
		shown := map[string]bool{}
		for _, b := range g.messages() {
			if err := unescaped(b); err != nil {
				t.Errorf("markup in %s: %s: %v", field, b.name, err)
			}
			for _, text := range texts(b) {
				for _, m := range markup {
					// As text: escaped in mrkdwn, as it is in plain_text.
					if strings.Contains(text, esc(m)) || strings.Contains(text, m) {
						shown[m] = true
					}
				}
			}
		}
		// Short fields are clipped, so not every piece shows; the first
		// always does.
		if !shown[markup[0]] {
			t.Errorf("%s in %s is not shown anywhere", markup[0], field)
		}
	}
}

// texts is every text a person can see in a message or view: mrkdwn (where
// markup arrives escaped) and plain_text (where it arrives as it is).
func texts(b built) []string {
	var raw []byte
	var out []string
	if b.view != nil {
		raw, _ = json.Marshal(b.view)
	} else {
		raw, _ = json.Marshal(b.msg.Blocks)
		out = append(out, wireText(b.msg.Text))
	}
	slacktest.Objects(raw, func(o map[string]any) error {
		if text, ok := o["text"].(string); ok {
			out = append(out, text)
		}
		return nil
	})
	return out
}

// fields names every value a vendor or a person puts into a message.
var fields = map[string]bool{
	"session id": true, "session user directory": true, "session user id": true, "session user name": true, "node": true,
	"attribute name": true, "attribute value": true, "vendor error": true, "group note": true, "warning": true, "reply note": true,
	"problem message": true, "suggestion": true, "understood": true, "request reason": true, "request target": true,
	"request session": true, "request node": true, "vote reason": true, "outcome": true, "event target": true,
	"event result": true, "event action": true, "event actor": true, "instance": true, "title": true, "help text": true,
}

// markedGen builds the message kinds with one field holding markup.
type markedGen struct {
	field, mark string
}

func (g *markedGen) v(field, plain string) string {
	if field == g.field {
		return g.mark
	}
	return plain
}

func (g *markedGen) messages() []built {
	var out []built
	add := func(name string, m Message) { out = append(out, built{name: name, msg: &m}) }
	instance := g.v("instance", "qlik-prod")
	sess := vendors.Session{ID: g.v("session id", "s1"), Node: g.v("node", "qps1"), UserName: g.v("session user name", "Marc"),
		User:       vendors.Identity{Directory: g.v("session user directory", "CORP"), ID: g.v("session user id", "marc")},
		Attributes: []vendors.Attribute{{Name: g.v("attribute name", "group"), Value: g.v("attribute value", "Sales")}}}
	list := commands.Reply{Command: commands.Command{Verb: commands.List, User: commands.UserRef{Form: commands.Account, Directory: "CORP", Name: "marc"}}, Title: g.v("title", "Sessions"), Understood: g.v("understood", "list CORP\\marc"),
		Notes: []string{g.v("reply note", "note")},
		Groups: []commands.Group{
			{Instance: instance, Vendor: vendors.Qlik, Sessions: []vendors.Session{sess}, CanKill: true, Warnings: []error{errors.New(g.v("warning", "w"))}},
			{Instance: "b", Err: errors.New(g.v("vendor error", "e"))},
			{Instance: "c", Note: g.v("group note", "n")},
		}}
	add("list", Render(list, 1))
	add("problem", Render(commands.Reply{Title: g.v("title", "x"), Problem: &commands.Problem{Message: g.v("problem message", "m"), Suggestion: g.v("suggestion", "s"),
		Usage: []commands.HelpEntry{{Usage: g.v("help text", "u"), Example: "e"}}}}, 1))
	add("help", Render(commands.Reply{Command: commands.Command{Verb: commands.Help}, Help: []commands.HelpEntry{{Usage: "u", Description: g.v("help text", "d"), Example: "e"}}, Notes: []string{g.v("reply note", "n")}}, 1))
	add("vendors", Render(commands.Reply{Command: commands.Command{Verb: commands.Vendors}, Instances: []commands.InstanceStatus{{Name: instance, Err: errors.New(g.v("vendor error", "e"))}}}, 1))
	p := &commands.Proposal{Action: store.ActionEndSession, Instance: instance, Sessions: []vendors.Session{sess}, User: sess.User, Reason: g.v("request reason", "r"),
		Command: commands.Command{Verb: commands.Kill, SessionID: sess.ID, Targets: []string{instance}, Reason: g.v("request reason", "r")}}
	add("proposal", Render(commands.Reply{Title: g.v("title", "t"), Proposal: p}, 1))
	p2 := *p
	p2.Action, p2.RevokesSignIns = store.ActionLogoutUser, true
	add("logout proposal", Render(commands.Reply{Title: g.v("title", "t"), Proposal: &p2}, 1))
	req := store.Request{ID: "R1", Instance: instance, SessionID: g.v("request session", "s1"), TargetDirectory: "CORP", TargetUser: g.v("request target", "marc"),
		Node: g.v("request node", "n"), Reason: g.v("request reason", "r"), Requester: "U0REQ", Outcome: g.v("outcome", "o"), CreatedAt: t0, ExpiresAt: t0}
	votes := []store.Vote{{Voter: "U0LEAD", Reason: g.v("vote reason", "v"), At: t0}}
	for _, state := range allStates {
		req.State = state
		add("approval "+string(state), approvalMessage(req, votes, []string{"U0LEAD"}))
		add("requester "+string(state), requesterMessage(req, votes))
		add("request "+string(state), Render(commands.Reply{Title: g.v("title", "t"), Request: &commands.RequestView{Request: req, Votes: votes}}, 1))
	}
	add("pending", Render(commands.Reply{Command: commands.Command{Verb: commands.Pending}, Requests: []commands.RequestView{{Request: req, Votes: votes}}}, 1))
	ev := store.Event{At: t0, Actor: g.v("event actor", "U0LEAD"), Action: g.v("event action", "approve_vote"), Instance: instance, Target: g.v("event target", "t"), Result: g.v("event result", "r")}
	add("audit", Render(commands.Reply{Command: commands.Command{Verb: commands.Audit}, Events: []store.Event{ev}}, 1))
	add("audit mirror", auditMessage(ev))
	add("show-back", Render(commands.Reply{Title: g.v("title", "t"), Understood: g.v("understood", "u"), NeedsConfirmation: true}, 1))
	out = append(out, built{name: "reason dialog", view: new(reasonModal(p.Command, "{}"))})
	return out
}

// A vendor's value is shown on the line it belongs to: a line break in a
// session id, a node, a user or a display name would otherwise start a line
// of the vendor's making (a quote, a bold "approved", a link Slack finds by
// itself), outside the code span meant to hold it.
func TestVendorLineBreaksCannotStartALineOfTheirOwn(t *testing.T) {
	forged := func(s string) string { return s + "\n> FORGED *approved* https://evil.example" }
	s := marc(forged("id"), forged("qps1"), t0)
	s.User = vendors.Identity{Directory: "Domain", ID: forged("Marc")}
	s.UserName = forged("Marc Dupont")
	s.Attributes = append(s.Attributes, vendors.Attribute{Name: forged("group"), Value: forged("Sales")})
	list := commands.Reply{Command: commands.Command{Verb: commands.List, AllUsers: true}, Title: "Sessions",
		Groups: []commands.Group{{Vendor: vendors.Qlik, Instance: "qlik-prod", Identity: forged("Domain\\Marc"), Sessions: []vendors.Session{s}, CanKill: true}}}
	req := store.Request{ID: "r7k2-abcd", Action: store.ActionEndSession, Vendor: string(vendors.Qlik), Instance: "qlik-prod",
		SessionID: forged("id"), Node: forged("qps1"), TargetDirectory: "Domain", TargetUser: forged("Marc"), Reason: "stuck",
		Requester: "U0MARC", State: store.StatePending, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
	for _, b := range []built{
		{name: "list", msg: ptr(Render(list, 1))},
		{name: "approval", msg: ptr(approvalMessage(req, nil, []string{"U0APPROVER"}))},
		{name: "requester", msg: ptr(requesterMessage(req, nil))},
		{name: "event", msg: ptr(auditMessage(store.Event{At: t0, Actor: "U0MARC", Action: "kill", Instance: "qlik-prod", Target: forged("id")}))},
	} {
		for _, text := range texts(b) {
			for _, line := range strings.Split(text, "\n") {
				if l := strings.TrimSpace(line); strings.HasPrefix(l, "&gt; FORGED") || strings.HasPrefix(l, "> FORGED") {
					t.Errorf("%s: a vendor's line break started a line of its own:\n%s", b.name, text)
				}
			}
		}
	}
}

func ptr[T any](v T) *T { return &v }
