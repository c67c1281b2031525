package nl

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/sessionbot/sessionbot/commands"
)

// understand turns schema-checked arguments into a command through the
// typed grammar. It refuses whatever is missing, out of place, not in the
// person's words, or changed on the way through commands.Parse.
func understand(a arguments, req Request) (Result, *Refusal) {
	res, refusal := draft{req: req, text: strings.ToLower(req.Text)}.build(a)
	if a.Unsure {
		r := refuse(errors.New("the model set unsure"), "%s", unsureReason(a.Clarification))
		if refusal == nil {
			r.Closest = res.Typed
		}
		return Result{}, r
	}
	if refusal != nil {
		return Result{}, refusal
	}
	return res, nil
}

// Destructive reports whether a command must be confirmed by the person
// before anything is asked: ending sessions, and deciding on a request.
func Destructive(v commands.Verb) bool {
	return v.Destructive() || v == commands.Approve || v == commands.Deny
}

// draft checks one answer against one request.
type draft struct {
	req  Request
	text string // the person's words in lower case, to check names against
}

func (d draft) build(a arguments) (Result, *Refusal) {
	typed, want, refusal := d.compose(a)
	if refusal != nil {
		return Result{}, refusal
	}
	cmd, err := commands.Parse(typed, d.req.Now)
	if err != nil {
		r := refuse(err, "the model's answer makes `%s`, which is not a valid command", typed)
		var pe *commands.ParseError
		if errors.As(err, &pe) {
			r.Reason += ": " + strings.TrimSuffix(pe.Problem, ".")
			r.Closest = pe.Suggestion
		}
		return Result{}, r
	}
	if !sameCommand(cmd, want) {
		// A value the checks let through changed meaning in the grammar.
		return Result{}, refuse(fmt.Errorf("composed %q parsed as %q", want.String(), cmd.String()), "the model's answer did not survive the grammar unchanged")
	}
	return Result{Command: cmd, Typed: typed, Destructive: Destructive(cmd.Verb)}, nil
}

// fieldsOf says which fields each verb takes.
var fieldsOf = map[commands.Verb][]string{
	commands.List:    {"user", "all_users", "targets", "since", "until"},
	commands.Show:    {"session_id", "targets"},
	commands.Kill:    {"session_id", "targets", "user", "reason"},
	commands.Logout:  {"user", "targets", "reason"},
	commands.Approve: {"request_id"},
	commands.Deny:    {"request_id", "reason"},
	commands.Audit:   {"audit_target"},
	commands.Help:    {"topic"},
	commands.Pending: nil,
	commands.Vendors: nil,
}

func setFields(a arguments) []string {
	var out []string
	for _, f := range []struct {
		name string
		set  bool
	}{
		{"user", a.User != ""}, {"all_users", a.AllUsers}, {"session_id", a.SessionID != ""},
		{"targets", len(a.Targets) > 0}, {"since", a.Since != ""}, {"until", a.Until != ""},
		{"reason", strings.TrimSpace(a.Reason) != ""}, {"request_id", a.RequestID != ""},
		{"audit_target", a.AuditTarget != ""}, {"topic", a.Topic != ""},
	} {
		if f.set {
			out = append(out, f.name)
		}
	}
	return out
}

// compose checks every value and writes the typed command, along with the
// command it must parse back into.
func (d draft) compose(a arguments) (string, commands.Command, *Refusal) {
	verb := commands.Verb(a.Verb)
	allowed, known := fieldsOf[verb]
	if !known {
		return "", commands.Command{}, refuse(fmt.Errorf("verb %q", a.Verb), "the language model named a command that does not exist")
	}
	var extra []string
	for _, f := range setFields(a) {
		if !slices.Contains(allowed, f) {
			extra = append(extra, f)
		}
	}
	if len(extra) > 0 {
		return "", commands.Command{}, refuse(fmt.Errorf("verb %s with %v", verb, extra), "the model filled in %s, which `%s` does not take", strings.Join(extra, ", "), verb)
	}

	c := commands.Command{Verb: verb}
	var r *Refusal
	if c.Targets, r = d.targets(a.Targets); r != nil {
		return "", c, r
	}
	if a.User != "" {
		if c.User, r = d.user(a.User); r != nil {
			return "", c, r
		}
	}
	switch verb {
	case commands.List:
		r = d.list(a, &c)
	case commands.Show:
		c.SessionID, r = d.sessionID(a.SessionID)
	case commands.Kill:
		r = d.kill(a, &c)
	case commands.Logout:
		r = d.logout(a, &c)
	case commands.Approve, commands.Deny:
		c.RequestID, r = d.requestID(verb, a.RequestID)
	case commands.Audit:
		if a.AuditTarget != "" {
			c.AuditTarget, r = d.auditTarget(a.AuditTarget)
		}
	case commands.Help:
		c.Topic = a.Topic
	}
	if r != nil {
		return "", c, r
	}
	if c.Reason, r = reason(a.Reason); r != nil {
		return "", c, r
	}
	return typedForm(c), c, nil
}

func (d draft) list(a arguments, c *commands.Command) *Refusal {
	switch {
	case a.AllUsers && a.User != "":
		return refuse(nil, "the model asked for one person's sessions and everyone's at once")
	case a.AllUsers:
		c.AllUsers = true
		if len(c.Targets) != 1 {
			return refuse(nil, "listing everyone's sessions needs exactly one instance; say which")
		}
		return d.oneInstance("listing everyone's sessions", c.Targets[0])
	case a.User == "":
		return refuse(nil, "`list` needs a person: say whose sessions, as `DIR\\user`, `user@domain` or an @mention")
	}
	var r *Refusal
	if a.Since != "" {
		if c.Since, r = d.when("since", a.Since); r != nil {
			return r
		}
		if c.Since.After(d.req.Now.Add(time.Minute)) {
			return refuse(nil, "the window would start in the future (%s UTC)", c.Since.Format("2006-01-02 15:04"))
		}
	}
	if a.Until != "" {
		if c.Until, r = d.when("until", a.Until); r != nil {
			return r
		}
	}
	if !c.Since.IsZero() && !c.Until.IsZero() && !c.Until.After(c.Since) {
		return refuse(nil, "the window would end (%s) before it starts (%s)", c.Until.Format("2006-01-02 15:04"), c.Since.Format("2006-01-02 15:04"))
	}
	return nil
}

func (d draft) kill(a arguments, c *commands.Command) *Refusal {
	if a.SessionID == "" {
		r := refuse(nil, "`kill` ends one session by its id, and no id was given: list the sessions to find it, or use `logout` to end all of a person's sessions on one instance")
		if c.User.Form != 0 {
			r.Closest = typedForm(commands.Command{Verb: commands.List, User: c.User, Targets: c.Targets})
		}
		return r
	}
	var r *Refusal
	if c.SessionID, r = d.sessionID(a.SessionID); r != nil {
		return r
	}
	if len(c.Targets) > 1 {
		return refuse(nil, "`kill` ends a session on one instance, and the model named %d", len(c.Targets))
	}
	if len(c.Targets) == 1 {
		return d.oneInstance("`kill`", c.Targets[0])
	}
	return nil
}

func (d draft) logout(a arguments, c *commands.Command) *Refusal {
	if a.User == "" {
		return refuse(nil, "`logout` needs the person whose sessions to end")
	}
	if len(c.Targets) != 1 {
		return refuse(nil, "`logout` ends a person's sessions on exactly one instance; say which")
	}
	return d.oneInstance("`logout`", c.Targets[0])
}

// oneInstance refuses a vendor type that stands for several instances where
// the grammar needs one: picking one would be a guess.
func (d draft) oneInstance(what, target string) *Refusal {
	var names []string
	for _, in := range d.req.Instances {
		if strings.EqualFold(in.Name, target) {
			return nil
		}
		if strings.EqualFold(string(in.Type), target) {
			names = append(names, in.Name)
		}
	}
	if len(names) > 1 {
		return refuse(nil, "%s needs one instance, and %s has %d (%s); say which", what, target, len(names), strings.Join(names, ", "))
	}
	return nil
}

// targets keeps the configured spelling of each target, once each.
func (d draft) targets(names []string) ([]string, *Refusal) {
	known := map[string]string{}
	for _, n := range targetNames(d.req.Instances) {
		known[strings.ToLower(n)] = n
	}
	var out []string
	for _, n := range names {
		canonical, ok := known[strings.ToLower(n)]
		if !ok {
			return nil, refuse(fmt.Errorf("target %.80q", n), "the model named %q, which is not a configured instance or vendor type", shorten(n))
		}
		if !slices.Contains(out, canonical) {
			out = append(out, canonical)
		}
	}
	return out, nil
}

func (d draft) user(v string) (commands.UserRef, *Refusal) {
	if r := checkToken("person", v, 200); r != nil {
		return commands.UserRef{}, r
	}
	u, err := commands.ParseUser(v)
	if err != nil {
		var pe *commands.ParseError
		if errors.As(err, &pe) {
			return u, refuse(err, "the model wrote the person as %q: %s", shorten(v), strings.TrimSuffix(pe.Problem, "."))
		}
		return u, refuse(err, "the model wrote the person as %q, which is not a person", shorten(v))
	}
	return u, d.grounded("person", v)
}

// sessionIDChars are what session ids of every vendor are made of: GUIDs,
// numbers, tokens.
var sessionIDChars = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:{}+=/-]*$`)

func (d draft) sessionID(v string) (string, *Refusal) {
	if r := checkToken("session id", v, 200); r != nil {
		return "", r
	}
	// Every vendor's session ids hold a digit; words ("all", "stuck",
	// "his") do not.
	if !sessionIDChars.MatchString(v) || !strings.ContainsAny(v, "0123456789") {
		return "", refuse(fmt.Errorf("session id %.80q", v), "%q is not a session id: copy the id from `list`", shorten(v))
	}
	if !containsWord(d.text, strings.ToLower(v)) {
		return "", refuse(fmt.Errorf("session id %.80q not in the text", v), "the session id %q is not in what you wrote; I only use ids you give", shorten(v))
	}
	return v, nil
}

var requestIDChars = regexp.MustCompile(`^[A-Za-z0-9]{4,40}$`)

func (d draft) requestID(verb commands.Verb, v string) (string, *Refusal) {
	if v == "" {
		return "", refuse(nil, "`%s` needs the request's id, from the approval message or `pending`", verb)
	}
	if !requestIDChars.MatchString(v) {
		return "", refuse(fmt.Errorf("request id %.80q", v), "%q is not a request id: copy it from the approval message or `pending`", shorten(v))
	}
	if !containsWord(d.text, strings.ToLower(v)) {
		return "", refuse(fmt.Errorf("request id %q not in the text", v), "the request id %q is not in what you wrote; I only use ids you give", v)
	}
	return strings.ToUpper(v), nil
}

func (d draft) auditTarget(v string) (string, *Refusal) {
	if r := checkToken("audit target", v, 200); r != nil {
		return "", r
	}
	return v, d.grounded("audit target", v)
}

// grounded refuses a name the person did not write: the model must not
// invent a person, a directory or a domain. Each part of DIR\user or
// user@domain must appear in the text.
func (d draft) grounded(what, v string) *Refusal {
	parts := strings.FieldsFunc(v, func(r rune) bool { return strings.ContainsRune(`\/@<>`, r) })
	for _, p := range parts {
		if !strings.Contains(d.text, strings.ToLower(p)) {
			return refuse(fmt.Errorf("%s %.80q: %q not in the text", what, v, p), "the %s %q is not in what you wrote; I only use names you give", what, shorten(v))
		}
	}
	return nil
}

func (d draft) when(field, v string) (time.Time, *Refusal) {
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, refuse(err, "the model wrote %s as %q, not as an absolute time", field, shorten(v))
	}
	return t.UTC().Truncate(time.Second), nil
}

// reason is free text at the end of the line. Spacing is normalised, as
// the grammar does; backquotes, which
// would end the code span the bot shows the command in, are refused.
func reason(v string) (string, *Refusal) {
	v = strings.Join(strings.Fields(v), " ")
	if r := invisible("reason", v); r != nil {
		return "", r
	}
	if strings.Contains(v, "`") {
		return "", refuse(nil, "the reason holds a backquote; write it without one")
	}
	if n := utf8.RuneCountInString(v); n > commands.MaxReason {
		return "", refuse(nil, "the reason is %d characters long; keep it under %d", n, commands.MaxReason)
	}
	return v, nil
}

// grammarWords are the grammar's own words: a value equal to one would be
// read as the keyword ("list all", "kill x on teams").
var grammarWords = map[string]bool{
	"on": true, "in": true, "at": true, "since": true, "from": true, "until": true, "to": true,
	"reason": true, "because": true, "user": true, "and": true, "all": true,
}

// checkToken refuses a value that is not one plain token: several words
// ("marc on teams reason y"), grammar words, or characters that chat
// markup, target lists or the bot's code spans read specially.
func checkToken(what, v string, max int) *Refusal {
	switch {
	case strings.IndexFunc(v, unicode.IsSpace) >= 0:
		return refuse(fmt.Errorf("%s %.80q", what, v), "the model put several words where one %s goes (%q)", what, shorten(v))
	case grammarWords[strings.ToLower(v)]:
		return refuse(fmt.Errorf("%s %q", what, v), "the model used the word %q as a %s", v, what)
	case strings.ContainsAny(v, "<>&,`|\""):
		return refuse(fmt.Errorf("%s %.80q", what, v), "the %s %q holds characters no %s has", what, shorten(v), what)
	case len(v) > max:
		return refuse(nil, "the %s is %d characters long; that is too long to be one", what, len(v))
	}
	return invisible(what, v)
}

func invisible(what, v string) *Refusal {
	if !utf8.ValidString(v) {
		return refuse(nil, "the %s is not valid text", what)
	}
	for _, r := range v {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return refuse(nil, "the %s holds an invisible control character (%U)", what, r)
		}
	}
	return nil
}

// containsWord finds w in text as a whole token: "7b8ab85e" is not in
// "7b8ab85e-0c85-4fcb".
func containsWord(text, w string) bool {
	isTokenChar := func(r rune) bool {
		return unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune("-_.:", r)
	}
	for from := 0; ; {
		i := strings.Index(text[from:], w)
		if i < 0 {
			return false
		}
		start, end := from+i, from+i+len(w)
		before, _ := utf8.DecodeLastRuneInString(text[:start])
		after, _ := utf8.DecodeRuneInString(text[end:])
		beforeOK := start == 0 || !isTokenChar(before)
		// A sentence may end right after an id: "kill 42." is fine.
		afterOK := end == len(text) || !isTokenChar(after) || (strings.ContainsRune(".:", after) && !isTokenCharAt(text, end+1, isTokenChar))
		if beforeOK && afterOK {
			return true
		}
		from = start + 1
	}
}

func isTokenCharAt(text string, i int, isTokenChar func(rune) bool) bool {
	if i >= len(text) {
		return false
	}
	r, _ := utf8.DecodeRuneInString(text[i:])
	return isTokenChar(r)
}

// typedForm writes a checked command in the typed grammar: the command's
// own String form, except that a time with seconds keeps them. Only list
// has times, and it has no "user" clause, so the order is String's.
func typedForm(c commands.Command) string {
	since, until, reason := c.Since, c.Until, c.Reason
	c.Since, c.Until, c.Reason = time.Time{}, time.Time{}, ""
	s := c.String()
	if !since.IsZero() {
		s += " since " + formatWhen(since)
	}
	if !until.IsZero() {
		s += " until " + formatWhen(until)
	}
	if reason != "" {
		s += " reason " + reason
	}
	return s
}

func formatWhen(t time.Time) string {
	t = t.UTC()
	switch {
	case t.Second() != 0:
		return t.Format(time.RFC3339)
	case t.Hour() == 0 && t.Minute() == 0:
		return t.Format("2006-01-02")
	}
	return t.Format("2006-01-02T15:04Z")
}

// sameCommand compares what was composed with what the grammar read.
func sameCommand(got, want commands.Command) bool {
	g, w := got, want
	g.Since, g.Until, w.Since, w.Until = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	return g.String() == w.String() && g.User == w.User && g.AllUsers == w.AllUsers &&
		g.Topic == w.Topic && slices.Equal(g.Targets, w.Targets) &&
		got.Since.Equal(want.Since) && got.Until.Equal(want.Until)
}

// unsureReason passes on the model's question, quoted as its words, on one
// short line and without chat markup.
func unsureReason(clarification string) string {
	c := strings.Map(func(r rune) rune {
		switch {
		case strings.ContainsRune("`*_~", r) || unicode.Is(unicode.Cf, r):
			return -1
		case strings.ContainsRune("<>|", r) || unicode.IsControl(r):
			return ' '
		}
		return r
	}, clarification)
	c = strings.Join(strings.Fields(c), " ")
	if c == "" {
		return "the request is ambiguous or incomplete; say exactly what to do, on which instance"
	}
	return fmt.Sprintf("the request is ambiguous or incomplete (the language model asks: %q)", shorten(c))
}

// shorten keeps values quoted back to a person readable.
func shorten(s string) string {
	const max = 80
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	return string([]rune(s)[:max]) + "…"
}
