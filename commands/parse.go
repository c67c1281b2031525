package commands

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/sessionbot/sessionbot/store"
)

// MaxCommandLength bounds what is parsed: no real command is longer, and a
// paste of a log file should get a clear answer, not a slow one.
const MaxCommandLength = 1000

// ParseError says what was wrong with typed text and what to type instead.
type ParseError struct {
	Problem    string
	Suggestion string // a corrected command, when one can be guessed
}

func (e *ParseError) Error() string {
	if e.Suggestion == "" {
		return e.Problem
	}
	return e.Problem + " Did you mean `" + e.Suggestion + "`?"
}

func parseErr(suggestion, format string, args ...any) *ParseError {
	return &ParseError{Problem: fmt.Sprintf(format, args...), Suggestion: suggestion}
}

// Parse turns the text typed after the slash command into a Command. now
// anchors relative times ("since 2d"). The text may start with the slash
// command itself (as the console allows). It is plain text: a front end
// whose chat escapes or marks up text turns it into this form first.
func Parse(text string, now time.Time) (Command, error) {
	if err := checkText(text); err != nil {
		return Command{}, err
	}
	words := strings.Fields(text)
	if len(words) > 0 && strings.HasPrefix(words[0], "/") {
		words = words[1:] // "/sessions list ..." typed into the console
	}
	if len(words) == 0 {
		return Command{Verb: Help}, nil
	}
	verb := Verb(strings.ToLower(words[0]))
	args := words[1:]
	switch verb {
	case Help, "?":
		c := Command{Verb: Help}
		if len(args) > 0 {
			c.Topic = strings.ToLower(args[0])
		}
		return c, nil
	case Vendors, "instances":
		if len(args) > 0 {
			return Command{}, parseErr("vendors", "`vendors` takes no arguments.")
		}
		return Command{Verb: Vendors}, nil
	case List, "ls":
		return parseList(args, now)
	case Show, "get":
		return parseShow(args)
	case Kill, "end":
		return parseKill(args)
	case Logout:
		return parseLogout(args)
	case Approve, Deny:
		return parseDecision(verb, args)
	case Pending:
		if len(args) > 0 {
			return Command{}, parseErr("pending", "`pending` takes no arguments.")
		}
		return Command{Verb: Pending}, nil
	case Audit:
		return parseAudit(args)
	}
	return Command{}, unknownVerb(words)
}

// checkText counts characters, as the dialogs that take a command or a
// reason do, so whatever they let a person type is not refused as too long.
func checkText(text string) error {
	if n := utf8.RuneCountInString(text); n > MaxCommandLength {
		return parseErr("", "That command is %d characters long; the longest accepted is %d. Type a single command such as `list CORP\\marc`.", n, MaxCommandLength)
	}
	if !utf8.ValidString(text) {
		return parseErr("", "That command is not valid UTF-8 text.")
	}
	for _, r := range text {
		if r == ' ' || r == '\t' || r == '\n' || r == '\r' {
			continue
		}
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return parseErr("", "That command contains an invisible control character (%U). Retype it without pasting.", r)
		}
	}
	return nil
}

func parseList(args []string, now time.Time) (Command, error) {
	const form = "list CORP\\marc [on <instance>] [since 2d]"
	c := Command{Verb: List}
	if len(args) == 0 {
		return c, parseErr(form, "`list` needs a person: a `DIR\\user`, a `user@domain` or an `@mention`.")
	}
	who, rest := args[0], args[1:]
	if strings.EqualFold(who, "all") {
		c.AllUsers = true
	} else {
		u, err := ParseUser(who)
		if err != nil {
			return c, err
		}
		c.User = u
	}
	if err := parseClauses(&c, rest, now); err != nil {
		return c, err
	}
	if c.AllUsers && len(c.Targets) != 1 {
		return c, parseErr("list all on <instance>", "`list all` lists every session of one site: name exactly one instance after `on`.")
	}
	return c, nil
}

func parseShow(args []string) (Command, error) {
	c := Command{Verb: Show}
	if len(args) == 0 {
		return c, parseErr("show 7b8ab85e-0c85-4fcb-8e56-4ead683153fb [on <instance>]", "`show` needs a session id.")
	}
	c.SessionID = args[0]
	if len(c.SessionID) > 200 {
		return c, parseErr("", "That session id is %d characters long; session ids are far shorter.", len(c.SessionID))
	}
	return c, parseClauses(&c, args[1:], time.Time{})
}

// cutReason splits off "reason <text...>": the reason is the rest of the
// line, whatever words it holds.
func cutReason(words []string) (rest []string, reason string) {
	for i, w := range words {
		if strings.EqualFold(w, "reason") || strings.EqualFold(w, "because") {
			return words[:i], strings.Join(words[i+1:], " ")
		}
	}
	return words, ""
}

// MaxReason is the most characters a reason holds, counted as the reason
// dialogs count them (characters, not bytes), so whatever a dialog lets a
// person type is accepted.
const MaxReason = 500

// reasonTooLong is the one wording of a reason over MaxReason.
func reasonTooLong(reason string) error {
	if n := utf8.RuneCountInString(reason); n > MaxReason {
		return parseErr("", "The reason is %d characters long; keep it under %d.", n, MaxReason)
	}
	return nil
}

// cutSubject takes the reason off a kill's or logout's words and returns
// the first word left, what the command acts on (needs says what that is).
func cutSubject(c *Command, args []string, form, needs string) (subject string, rest []string, err error) {
	args, c.Reason = cutReason(args)
	if err := reasonTooLong(c.Reason); err != nil {
		return "", nil, err
	}
	if len(args) == 0 || isKeyword(args[0]) {
		return "", nil, parseErr(form, "%s", needs)
	}
	return args[0], args[1:], nil
}

func parseKill(args []string) (Command, error) {
	const form = "kill 7b8ab85e-0c85-4fcb-8e56-4ead683153fb on <instance> reason stuck session"
	c := Command{Verb: Kill}
	id, rest, err := cutSubject(&c, args, form, "`kill` needs a session id (from `list`).")
	if err != nil {
		return c, err
	}
	c.SessionID = id
	if len(c.SessionID) > 200 {
		return c, parseErr("", "That session id is %d characters long; session ids are far shorter.", len(c.SessionID))
	}
	// "user <person>" names whose session it is, for vendors that find
	// sessions by person (Commvault).
	for i := 0; i+1 < len(rest); i++ {
		if strings.EqualFold(rest[i], "user") {
			u, err := ParseUser(rest[i+1])
			if err != nil {
				return c, err
			}
			c.User = u
			rest = append(append([]string{}, rest[:i]...), rest[i+2:]...)
			break
		}
	}
	if err := parseClauses(&c, rest, time.Time{}); err != nil {
		return c, err
	}
	if len(c.Targets) > 1 {
		return c, parseErr(form, "`kill` ends one session on one instance: name at most one after `on`.")
	}
	return c, nil
}

func parseLogout(args []string) (Command, error) {
	const form = `logout CORP\marc on <instance> reason account compromised`
	c := Command{Verb: Logout}
	who, rest, err := cutSubject(&c, args, form, "`logout` needs a person and an instance.")
	if err != nil {
		return c, err
	}
	u, err := ParseUser(who)
	if err != nil {
		return c, err
	}
	c.User = u
	if err := parseClauses(&c, rest, time.Time{}); err != nil {
		return c, err
	}
	if len(c.Targets) != 1 {
		return c, parseErr(c.String()+" on <instance>", "`logout` ends every session of a person on one instance: name exactly one instance after `on`.")
	}
	return c, nil
}

func parseDecision(verb Verb, args []string) (Command, error) {
	c := Command{Verb: verb}
	args, c.Reason = cutReason(args)
	if len(args) != 1 {
		return c, parseErr(string(verb)+" R7K2M9QX", "`%s` needs one request id (from the approval message or `pending`).", verb)
	}
	// As people type it: r7k2-m9qx, or an O for a 0.
	c.RequestID = store.NormalizeID(args[0])
	if len(c.RequestID) > 40 {
		return c, parseErr("", "%q is not a request id.", args[0])
	}
	if verb == Approve && c.Reason != "" {
		return c, parseErr("approve "+c.RequestID, "`approve` takes no reason.")
	}
	return c, nil
}

func parseAudit(args []string) (Command, error) {
	c := Command{Verb: Audit}
	switch len(args) {
	case 0:
	case 1:
		c.AuditTarget = args[0]
		if len(c.AuditTarget) > 200 {
			return c, parseErr("", "That is too long for a person, session or request id.")
		}
	default:
		return c, parseErr("audit CORP\\marc", "`audit` takes at most one person, session id or request id.")
	}
	return c, nil
}

// parseClauses reads "on a,b", "since X" and "until Y" in any order.
func parseClauses(c *Command, words []string, now time.Time) error {
	for i := 0; i < len(words); {
		kw := strings.ToLower(words[i])
		var val []string
		j := i + 1
		for j < len(words) && !isKeyword(words[j]) {
			val = append(val, words[j])
			j++
		}
		switch kw {
		case "on", "in", "at":
			targets := splitTargets(val)
			if len(targets) == 0 {
				return parseErr(c.String()+" on <instance>", "`on` needs an instance name or a vendor type.")
			}
			c.Targets = append(c.Targets, targets...)
		case "since", "from", "until", "to":
			if c.Verb != List || c.AllUsers {
				return parseErr(c.String(), "`%s` applies only to `list <user>`.", kw)
			}
			if len(val) != 1 {
				return parseErr(c.String()+" since 2d", "`%s` needs one time: a date like 2026-11-20, a time like 2026-11-20T14:00Z, or an age like 2d, 12h, 30m.", kw)
			}
			t, err := ParseWhen(val[0], now)
			if err != nil {
				return err
			}
			if kw == "since" || kw == "from" {
				c.Since = t
			} else {
				c.Until = t
			}
		default:
			return parseErr(c.String(), "I don't understand %q here; after the %s come `on <instance>`%s.", words[i], describe(c), windowHint(c))
		}
		i = j
	}
	return nil
}

func describe(c *Command) string {
	if c.Verb == Show {
		return "session id"
	}
	return "person"
}

func windowHint(c *Command) string {
	if c.Verb == List && !c.AllUsers {
		return ", `since <time>` and `until <time>`"
	}
	return ""
}

func isKeyword(w string) bool {
	switch strings.ToLower(w) {
	case "on", "in", "at", "since", "from", "until", "to":
		return true
	}
	return false
}

// splitTargets accepts "a,b", "a, b", "a b" and "a and b".
func splitTargets(words []string) []string {
	var out []string
	for _, w := range words {
		for _, p := range strings.Split(w, ",") {
			p = strings.TrimSpace(p)
			if p != "" && !strings.EqualFold(p, "and") {
				out = append(out, p)
			}
		}
	}
	return out
}

// ParseUser reads a person written as DIR\user, DIR/user, user@domain,
// @ID (a person the chat directory knows by that id), or a bare name.
func ParseUser(s string) (UserRef, error) {
	if id, ok := strings.CutPrefix(s, "@"); ok {
		// The id's shape is the chat's business: the Directory says
		// whether it names a person.
		if id == "" || strings.ContainsAny(id, "@\\/") {
			return UserRef{}, parseErr("", "%q is not a person. %s", s, PersonForms)
		}
		return UserRef{Form: Mention, ChatID: id}, nil
	}
	if i := strings.IndexAny(s, `\/`); i >= 0 {
		dir, name := s[:i], s[i+1:]
		if dir == "" || name == "" {
			return UserRef{}, parseErr("", "%q has an empty directory or user name. %s", s, PersonForms)
		}
		if dir == "." || dir == ".." || name == "." || name == ".." {
			return UserRef{}, parseErr("", "%q is not a person: no directory or account is named `.` or `..`. %s", s, PersonForms)
		}
		return UserRef{Form: Account, Directory: dir, Name: name}, nil
	}
	if local, domain, ok := strings.Cut(s, "@"); ok {
		if local == "" || domain == "" || strings.Contains(domain, "@") {
			return UserRef{}, parseErr("", "%q is not an email address. %s", s, PersonForms)
		}
		return UserRef{Form: Email, Email: s}, nil
	}
	if s == "" {
		return UserRef{}, parseErr("", "No person given. %s", PersonForms)
	}
	return UserRef{Form: Bare, Name: s}, nil
}

// PersonForms says how to write a person, for any message that refuses one.
const PersonForms = "Write a person as `DIR\\user`, `DIR/user`, `user@domain` or an `@mention`."

// ParseWhen reads an absolute date or time (UTC unless an offset is given)
// or an age before now (2d, 12h, 30m, 1w), "today", "yesterday" or "now".
func ParseWhen(s string, now time.Time) (time.Time, error) {
	ls := strings.ToLower(s)
	switch ls {
	case "now":
		return now, nil
	case "today":
		y, m, d := now.UTC().Date()
		return time.Date(y, m, d, 0, 0, 0, 0, time.UTC), nil
	case "yesterday":
		y, m, d := now.UTC().Date()
		return time.Date(y, m, d-1, 0, 0, 0, 0, time.UTC), nil
	}
	if m := ageRE.FindStringSubmatch(ls); m != nil {
		n, err := strconv.Atoi(m[1])
		if err == nil && n <= 100000 {
			unit := map[string]time.Duration{"m": time.Minute, "h": time.Hour, "d": 24 * time.Hour, "w": 7 * 24 * time.Hour}[m[2]]
			return now.Add(-time.Duration(n) * unit), nil
		}
	}
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04Z07:00", "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02 15:04", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, time.UTC); err == nil {
			return t, nil
		}
	}
	return time.Time{}, parseErr("", "%q is not a time I can read: use a date like 2026-11-20, a time like 2026-11-20T14:00Z, or an age like 2d, 12h, 30m.", s)
}

var ageRE = regexp.MustCompile(`^(\d{1,6})(m|h|d|w)$`)

func unknownVerb(words []string) error {
	first := words[0]
	if _, err := ParseUser(first); err == nil && strings.ContainsAny(first, `\/@`) {
		return parseErr("list "+strings.Join(words, " "), "Commands start with a verb.")
	}
	best, bestDist := Verb(""), 3
	for _, v := range verbs {
		if d := editDistance(strings.ToLower(first), string(v)); d < bestDist {
			best, bestDist = v, d
		}
	}
	shown := first
	if utf8.RuneCountInString(shown) > 40 {
		shown = string([]rune(shown)[:40]) + "…"
	}
	if best != "" {
		return parseErr(strings.TrimSpace(string(best)+" "+strings.Join(words[1:], " ")), "I don't know the command %q.", shown)
	}
	return parseErr("help", "I don't know the command %q. The commands are `list`, `show`, `kill`, `logout`, `approve`, `deny`, `pending`, `audit`, `vendors` and `help`.", shown)
}

// editDistance is Levenshtein distance over runes, for "did you mean".
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

// Check runs the checks Parse applies to typed text on a command that
// arrives already structured (a button's value), so a value that could not
// have been typed is refused rather than read differently.
func Check(c Command) error {
	for _, s := range []string{c.SessionID, c.User.Directory, c.User.Name, c.User.Email, c.User.ChatID, c.Reason, c.RequestID, c.AuditTarget, c.Topic} {
		if err := checkText(s); err != nil {
			return err
		}
	}
	for _, t := range c.Targets {
		if err := checkText(t); err != nil {
			return err
		}
		if t == "" || strings.ContainsAny(t, ", \t\r\n") || isKeyword(t) || len(t) > 200 {
			return parseErr("", "%q is not an instance name.", t)
		}
	}
	if c.User.Form != 0 {
		u, err := ParseUser(c.User.String())
		if err != nil {
			return err
		}
		if u != c.User {
			return parseErr("", "%q is not a person I can read back the same way.", c.User.String())
		}
		if len(c.User.String()) > 200 {
			return parseErr("", "That person's name is %d characters long; names are far shorter.", len(c.User.String()))
		}
	}
	if err := reasonTooLong(c.Reason); err != nil {
		return err
	}
	switch c.Verb {
	case Kill:
		if strings.TrimSpace(c.SessionID) == "" || len(c.SessionID) > 200 || len(c.Targets) != 1 {
			return parseErr("", "A kill names one session id of at most 200 characters on one instance.")
		}
	case Logout:
		if c.User.Form == 0 || len(c.Targets) != 1 || c.SessionID != "" {
			return parseErr("", "A logout names one person on one instance.")
		}
	default:
		return parseErr("", "Only kill and logout arrive as structured commands, not %q.", c.Verb)
	}
	return nil
}
