package bot

import (
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"github.com/sessionbot/sessionbot/commands"
	"github.com/sessionbot/sessionbot/vendors"
)

// Slack rejects a whole message that breaks one of its limits, so every
// reply is packed under these, with room to spare.
const (
	maxBlocks       = 50
	maxTextObject   = 3000
	maxTotalText    = 11000 // Slack reports msg_blocks_too_long near 13,000
	maxHeaderText   = 150
	reservedBlocks  = 3 // page footer: context, actions, and one spare
	maxValueDisplay = 120
	maxFallbackText = 3000
	maxWarnings     = 3
)

// Message is one rendered Slack message.
type Message struct {
	Blocks []slack.Block
	// Text is the notification and screen-reader fallback, as plain words:
	// it is escaped when it is sent (see options).
	Text string
	// Page and Pages count pages of a long list (1-based).
	Page, Pages int
}

// options are the message as chat.postMessage, chat.update and
// response_url take it. Slack reads top-level text as mrkdwn, so this is
// the one place it is escaped: a typed <!channel> stays text.
func (m Message) options() []slack.MsgOption {
	opts := []slack.MsgOption{slack.MsgOptionText(wireText(m.Text), false)}
	if len(m.Blocks) > 0 {
		opts = append(opts, slack.MsgOptionBlocks(m.Blocks...))
	}
	return opts
}

// wireText is a message's text as it goes to Slack.
func wireText(s string) string { return esc(clip(oneLine(s), maxFallbackText)) }

// builder collects blocks and counts what Slack counts.
type builder struct {
	blocks []slack.Block
	chars  int
}

func (b *builder) add(block slack.Block, chars int) {
	b.blocks = append(b.blocks, block)
	b.chars += chars
}

func (b *builder) fits(blocks, chars int) bool {
	return len(b.blocks)+blocks <= maxBlocks-reservedBlocks && b.chars+chars <= maxTotalText
}

func (b *builder) section(text string) {
	if text == "" {
		return // Slack refuses an empty text
	}
	text = clipMrkdwn(text, maxTextObject)
	b.add(slack.NewSectionBlock(mrkdwn(text), nil, nil), len(text))
}

func (b *builder) context(text string) {
	if text == "" {
		return
	}
	text = clipMrkdwn(text, maxTextObject)
	b.add(slack.NewContextBlock("", mrkdwn(text)), len(text))
}

func mrkdwn(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.MarkdownType, s, false, false)
}

func plain(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.PlainTextType, s, false, false)
}

// Render turns a reply into page `page` (1-based) of a Slack message. A
// long list's page buttons then carry its command only; renderList ties
// them to a kept result.
func Render(r commands.Reply, page int) Message {
	return renderList(r, page, listRef{})
}

// renderList is Render for a list whose result is kept under ref.
func renderList(r commands.Reply, page int, ref listRef) Message {
	msg, _ := renderLaidOut(r, page, ref, nil)
	return msg
}

// renderLaidOut renders page of a reply; a list's pages are cut by lay,
// or, when lay is nil, cut now and returned for the next page.
func renderLaidOut(r commands.Reply, page int, ref listRef, lay *layout) (Message, *layout) {
	one := func(b builder, text string) (Message, *layout) {
		return Message{Blocks: b.blocks, Text: text, Page: 1, Pages: 1}, nil
	}
	var b builder
	if title := clip(strings.TrimSpace(r.Title), maxHeaderText); title != "" {
		b.add(slack.NewHeaderBlock(plain(title)), len(title))
	}
	if r.NeedsConfirmation {
		renderUnderstood(&b, r)
		return one(b, r.Title)
	}
	if r.Understood != "" {
		b.context("I understood: `/sessions " + codeN(r.Understood, 500) + "`")
	}
	switch {
	case r.Problem != nil:
		renderProblem(&b, r)
		return one(b, r.Title+": "+clip(r.Problem.Message, 200))
	case r.Help != nil:
		renderHelp(&b, r)
		return one(b, r.Title)
	case r.Command.Verb == commands.Vendors:
		renderInstances(&b, r)
		return one(b, r.Title)
	case r.Proposal != nil:
		renderProposal(&b, r)
		return one(b, r.Title)
	case r.Request != nil:
		renderRequest(&b, *r.Request)
		for _, n := range r.Notes {
			b.context(escN(n, 500))
		}
		return one(b, r.Title)
	case r.Command.Verb == commands.Pending:
		renderRequests(&b, r)
		return one(b, r.Title)
	case r.Command.Verb == commands.Audit:
		renderEvents(&b, r)
		return one(b, r.Title)
	}
	return renderSessions(&b, r, page, ref, lay)
}

func renderProblem(b *builder, r commands.Reply) {
	b.section(":warning: " + mentionPerson(escN(r.Problem.Message, 2000), r.Command.User))
	if r.Problem.Suggestion != "" {
		b.section("Did you mean `/sessions " + codeN(r.Problem.Suggestion, 1000) + "`?")
	}
	if len(r.Problem.Usage) > 0 {
		var lines []string
		for _, e := range r.Problem.Usage {
			lines = append(lines, fmt.Sprintf("`/sessions %s`, e.g. `/sessions %s`", codeN(e.Usage, 300), codeN(e.Example, 300)))
		}
		b.context(strings.Join(lines, "\n"))
	}
}

// mentionPerson shows the person a command named by Slack id (commands
// writes them @U123) as a Slack mention in escaped mrkdwn, so Slack shows
// their name. Only that person: other text stays text.
func mentionPerson(escaped string, u commands.UserRef) string {
	if u.Form != commands.Mention || !isUserID(u.ChatID) {
		return escaped
	}
	re := regexp.MustCompile(`(^|\W)@` + regexp.QuoteMeta(u.ChatID) + `\b`)
	return re.ReplaceAllString(escaped, "${1}<@"+u.ChatID+">")
}

func renderHelp(b *builder, r commands.Reply) {
	for _, e := range r.Help {
		b.section(fmt.Sprintf("`/sessions %s`\n%s\n_e.g._ `/sessions %s`", codeN(e.Usage, 500), escN(e.Description, 1000), codeN(e.Example, 500)))
	}
	for _, n := range r.Notes {
		b.context(escN(n, 500))
	}
}

func renderInstances(b *builder, r commands.Reply) {
	for _, in := range r.Instances {
		status := fmt.Sprintf(":white_check_mark: answers (%s)", commands.RoundDuration(in.Elapsed))
		if in.Err != nil {
			status = ":x: " + escN(in.Err.Error(), 500)
			if h := commands.Hint(in.Err); h != "" {
				status += " " + h
			}
		}
		text := fmt.Sprintf("*%s* (%s)  %s\nCan: %s", escN(in.Name, 100), escN(string(in.Type), 40), status, in.Capabilities)
		if !b.fits(1, len(text)) {
			b.context(fmt.Sprintf("…and %d more instances.", len(r.Instances)-len(b.blocks)+1))
			break
		}
		b.section(text)
	}
	for _, n := range r.Notes {
		b.context(escN(n, 500))
	}
}

// unit is a piece of a session list: a group's heading (with its errors)
// or one session. Pages are cut between units.
type unit struct {
	group   int
	session int // -1 for a group heading
	texts   []string
	isCtx   []bool
	// kill is the value of a Kill button beside the session.
	kill string
}

func (u unit) cost() (blocks, chars int) {
	for _, t := range u.texts {
		chars += len(t)
	}
	if u.kill != "" {
		chars += 10
	}
	return len(u.texts), chars
}

// layout is how a list's units are cut into pages. It depends only on the
// reply, so it is worked out once and kept with it for its page buttons.
type layout struct {
	units []unit
	pages [][2]int
	// before counts the sessions in units[:i].
	before []int
}

func layOut(b *builder, r commands.Reply) *layout {
	lay := &layout{units: sessionUnits(r)}
	lay.pages = paginate(b, lay.units)
	lay.before = make([]int, len(lay.units)+1)
	for i, u := range lay.units {
		lay.before[i+1] = lay.before[i]
		if u.session >= 0 {
			lay.before[i+1]++
		}
	}
	return lay
}

func renderSessions(b *builder, r commands.Reply, page int, ref listRef, lay *layout) (Message, *layout) {
	total := r.SessionCount()
	summary := fmt.Sprintf("`/sessions %s` · %s on %s", codeN(r.Command.String(), 300), countNoun(total, "session"), countNoun(len(r.Groups), "instance"))
	if !r.Window.IsZero() {
		summary += fmt.Sprintf(" · calls from %s to %s", slackDate(r.Window.Since), slackDate(r.Window.Until))
	}
	b.context(summary)
	for _, n := range r.Notes {
		b.context(escN(n, 500))
	}
	if lay == nil {
		lay = layOut(b, r)
	}
	units, pages := lay.units, lay.pages
	if page < 1 {
		page = 1
	}
	if page > len(pages) {
		page = len(pages)
	}
	lo, hi := pages[page-1][0], pages[page-1][1]
	shown := 0
	for i := lo; i < hi; i++ {
		u := units[i]
		if i == lo && u.session >= 0 {
			// A page that starts inside a group says whose sessions follow.
			b.context(fmt.Sprintf("*%s* (continued)", escN(r.Groups[u.group].Instance, 100)))
		}
		for j, t := range u.texts {
			switch {
			case u.isCtx[j]:
				b.context(t)
			case u.kill != "":
				button := slack.NewButtonBlockElement(ActionKill, u.kill, plain("Kill…")).WithStyle(slack.StyleDanger)
				b.add(slack.NewSectionBlock(mrkdwn(t), nil, slack.NewAccessory(button)), len(t)+10)
			default:
				b.section(t)
			}
		}
		if u.session >= 0 {
			shown++
		}
	}
	msg := Message{Text: fmt.Sprintf("%s: %s", r.Title, countNoun(total, "session")), Page: page, Pages: len(pages)}
	if len(pages) > 1 {
		footer := fmt.Sprintf("Page %d of %d", page, len(pages))
		if shown > 0 {
			first := lay.before[lo] + 1
			footer += fmt.Sprintf(": sessions %d–%d of %d", first, first+shown-1, total)
		}
		if !ref.At.IsZero() {
			footer += ", as of " + slackTime(ref.At)
		}
		b.context(footer + ". Narrow the list with `on &lt;instance&gt;`.")
		var buttons []slack.BlockElement
		if page > 1 {
			buttons = append(buttons, slack.NewButtonBlockElement(ActionPrevPage, encodePage(ref, r.Command, page-1), plain("Previous page")))
		}
		if page < len(pages) {
			buttons = append(buttons, slack.NewButtonBlockElement(ActionNextPage, encodePage(ref, r.Command, page+1), plain("Next page")).WithStyle(slack.StylePrimary))
		}
		buttons = append(buttons, slack.NewButtonBlockElement(ActionRefresh, encodePage(ref, r.Command, page), plain("Refresh")))
		b.add(slack.NewActionBlock("pages", buttons...), 30)
	}
	msg.Blocks = b.blocks
	return msg, lay
}

// paginate cuts units into pages that fit after what b already holds. Each
// page is a [lo, hi) range of units; there is always at least one page.
func paginate(b *builder, units []unit) [][2]int {
	var pages [][2]int
	// Room left after the fixed blocks, less a "continued" line.
	roomBlocks := maxBlocks - reservedBlocks - len(b.blocks) - 1
	roomChars := maxTotalText - b.chars - 200
	for lo := 0; lo < len(units); {
		hi, blocks, chars := lo, 0, 0
		for hi < len(units) {
			ub, uc := units[hi].cost()
			if (blocks+ub > roomBlocks || chars+uc > roomChars) && hi > lo {
				break
			}
			blocks, chars = blocks+ub, chars+uc
			hi++
		}
		pages = append(pages, [2]int{lo, hi})
		lo = hi
	}
	if len(pages) == 0 {
		pages = append(pages, [2]int{0, 0})
	}
	return pages
}

func sessionUnits(r commands.Reply) []unit {
	var units []unit
	for gi, g := range r.Groups {
		head := unit{group: gi, session: -1}
		line := fmt.Sprintf("*%s* (%s)", escN(g.Instance, 100), escN(string(g.Vendor), 40))
		if g.Identity != "" {
			line += " as `" + codeN(g.Identity, 200) + "`"
		}
		switch {
		case g.Err != nil:
			line += " · could not answer"
		case g.NoAccount:
			line += " · no account"
		case g.Note != "":
			line += " · skipped"
		default:
			line += " · " + countNoun(len(g.Sessions), "session")
		}
		if g.Elapsed > 0 {
			line += fmt.Sprintf(" · %s", commands.RoundDuration(g.Elapsed))
		}
		head.add(line, false)
		if g.Err != nil {
			text := ":x: " + escN(g.Err.Error(), 800)
			if h := commands.Hint(g.Err); h != "" {
				text += "\n" + h
			}
			head.add(text, true)
		}
		if g.Note != "" && !g.NoAccount {
			head.add(":information_source: "+escN(g.Note, 500), true)
		}
		for i, w := range g.Warnings {
			if i == maxWarnings {
				head.add(fmt.Sprintf(":warning: …and %d more warnings.", len(g.Warnings)-i), true)
				break
			}
			head.add(":warning: "+escN(w.Error(), 500), true)
		}
		units = append(units, head)
		for si, s := range g.Sessions {
			u := unit{group: gi, session: si}
			u.add(sessionText(s), false)
			if g.CanKill && s.Active() {
				// A session whose values cannot ride in a button
				// (over Slack's limit, or not readable back the same way)
				// gets none: typing the command still works.
				u.kill, _ = encodeAction(killCommand(g.Instance, s), "")
			}
			units = append(units, u)
		}
	}
	return units
}

func (u *unit) add(text string, isCtx bool) {
	u.texts = append(u.texts, clipMrkdwn(text, maxTextObject))
	u.isCtx = append(u.isCtx, isCtx)
}

// sessionText is one session in at most a few hundred characters.
func sessionText(s vendors.Session) string {
	var b strings.Builder
	who := "`" + codeN(s.User.String(), maxValueDisplay) + "`"
	if s.UserName != "" {
		who += " (" + escN(oneLine(s.UserName), 60) + ")"
	}
	state := ""
	if !s.Active() {
		state = " · _ended_"
	}
	fmt.Fprintf(&b, "%s · id `%s`%s", who, codeN(s.ID, maxValueDisplay), state)
	if s.Node != "" {
		fmt.Fprintf(&b, "\nnode `%s`", codeN(s.Node, 80))
	}
	var times []string
	if !s.Started.IsZero() {
		times = append(times, "started "+slackDate(s.Started))
	}
	if !s.LastActive.IsZero() {
		times = append(times, "last active "+slackDate(s.LastActive))
	}
	if !s.Ended.IsZero() {
		times = append(times, "ended "+slackDate(s.Ended))
	}
	if len(times) > 0 {
		if s.Node != "" {
			b.WriteString(" · ")
		} else {
			b.WriteString("\n")
		}
		b.WriteString(strings.Join(times, " · "))
	}
	if attrs := attributeText(s.Attributes); attrs != "" {
		b.WriteString("\n" + attrs)
	}
	return b.String()
}

// attributeText shows up to a few attributes, merging repeated names
// (Qlik sends one "group" per group).
func attributeText(attrs []vendors.Attribute) string {
	var order []string
	values := map[string][]string{}
	for _, a := range attrs {
		if _, seen := values[a.Name]; !seen {
			order = append(order, a.Name)
		}
		values[a.Name] = append(values[a.Name], a.Value)
	}
	var parts []string
	for i, name := range order {
		if i == 4 {
			parts = append(parts, fmt.Sprintf("+%d more", len(order)-4))
			break
		}
		parts = append(parts, fmt.Sprintf("%s: %s", escN(oneLine(name), 30), escN(oneLine(strings.Join(values[name], ", ")), 80)))
	}
	if len(parts) == 0 {
		return ""
	}
	return "_" + strings.Join(parts, " · ") + "_"
}

// slackDate writes a time that each viewer sees in their own time zone,
// with a UTC fallback for clients that cannot.
func slackDate(t time.Time) string {
	return fmt.Sprintf("<!date^%d^{date_short_pretty} {time}|%s>", t.Unix(), t.UTC().Format("2006-01-02 15:04 UTC"))
}

// slackTime writes a time of day each viewer sees in their own time zone.
func slackTime(t time.Time) string {
	return fmt.Sprintf("<!date^%d^{time}|%s>", t.Unix(), t.UTC().Format("15:04 UTC"))
}

// esc applies Slack's escaping, so a value from a vendor can't become a
// mention, a link or a broadcast (<!channel>).
func esc(s string) string {
	if !strings.ContainsAny(s, "&<>") {
		return s
	}
	return slackEscaper.Replace(s)
}

var slackEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// escN escapes at most n bytes of s, the result included: escaping can
// make a value five times longer.
func escN(s string, n int) string { return clipMrkdwn(esc(clip(s, n)), n) }

// codeN is escN for a code span.
func codeN(s string, n int) string { return clipMrkdwn(code(clip(s, n)), n) }

// code escapes a value for a `code span`: a backtick would end it, and a
// line break would start a line outside it.
func code(s string) string {
	return esc(strings.ReplaceAll(oneLine(s), "`", "ˋ"))
}

// oneLine keeps a value on the line it is shown on: a vendor's line break
// would start a line of its making (a quote, a bold "approved").
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return ' '
		}
		return r
	}, s)
}

// clipMrkdwn is clip for mrkdwn that is already escaped: it never cuts an
// entity (&lt;) or a token (<!date^...>) in two, which would leave a stray
// & or < for Slack to read.
func clipMrkdwn(s string, n int) string {
	if len(s) <= n || utf8.RuneCountInString(s) <= n {
		return s
	}
	cut := clip(s, n)
	body := strings.TrimSuffix(cut, "…")
	if i := strings.LastIndexByte(body, '&'); i >= 0 && !strings.Contains(body[i:], ";") {
		body = body[:i]
	}
	if i := strings.LastIndexByte(body, '<'); i >= 0 && !strings.Contains(body[i:], ">") {
		body = body[:i]
	}
	return body + "…"
}

// clip shortens s to at most n characters, the last of them "…". Slack
// counts its limits in characters, as does what the dialogs let a person
// type, so a reason or command is never cut for being in another script.
func clip(s string, n int) string {
	if len(s) <= n || utf8.RuneCountInString(s) <= n {
		return s
	}
	if n < 1 {
		return ""
	}
	cut := 0
	for range n - 1 {
		_, size := utf8.DecodeRuneInString(s[cut:])
		cut += size
	}
	return s[:cut] + "…"
}

func countNoun(n int, noun string) string { return commands.Plural(n, noun) }
