package bot

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
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
)

// Action ids of the buttons this package renders.
const (
	ActionNextPage = "sessions_page"
)

// Message is one rendered Slack message.
type Message struct {
	Blocks []slack.Block
	// Text is the notification and screen-reader fallback.
	Text string
	// Page and Pages count pages of a long list (1-based).
	Page, Pages int
}

// pageToken is what a page button carries: the command to run again and the
// page wanted. Stateless, so any replica can answer the click.
type pageToken struct {
	Version int    `json:"v"`
	Command string `json:"c"`
	Page    int    `json:"p"`
}

func encodePageToken(cmd commands.Command, page int) string {
	b, _ := json.Marshal(pageToken{Version: 1, Command: cmd.String(), Page: page})
	return string(b)
}

func decodePageToken(s string) (pageToken, error) {
	var t pageToken
	if err := json.Unmarshal([]byte(s), &t); err != nil || t.Version != 1 || t.Page < 1 {
		return pageToken{}, fmt.Errorf("this button is from an older version of the bot: run the command again")
	}
	return t, nil
}

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
	text = clip(text, maxTextObject)
	b.add(slack.NewSectionBlock(mrkdwn(text), nil, nil), len(text))
}

func (b *builder) context(text string) {
	text = clip(text, maxTextObject)
	b.add(slack.NewContextBlock("", mrkdwn(text)), len(text))
}

func mrkdwn(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.MarkdownType, s, false, false)
}

func plain(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.PlainTextType, s, false, false)
}

// Render turns a reply into page `page` (1-based) of a Slack message.
func Render(r commands.Reply, page int) Message {
	var b builder
	title := clip(r.Title, maxHeaderText)
	b.add(slack.NewHeaderBlock(plain(title)), len(title))
	if r.NeedsConfirmation {
		renderUnderstood(&b, r)
		return Message{Blocks: b.blocks, Text: r.Title, Page: 1, Pages: 1}
	}
	if r.Understood != "" {
		b.context("I understood: `/sessions " + code(r.Understood) + "`")
	}
	switch {
	case r.Problem != nil:
		renderProblem(&b, r)
		return Message{Blocks: b.blocks, Text: r.Title + ": " + clip(r.Problem.Message, 200), Page: 1, Pages: 1}
	case r.Help != nil:
		renderHelp(&b, r)
		return Message{Blocks: b.blocks, Text: r.Title, Page: 1, Pages: 1}
	case r.Command.Verb == commands.Vendors:
		renderInstances(&b, r)
		return Message{Blocks: b.blocks, Text: r.Title, Page: 1, Pages: 1}
	case r.Proposal != nil:
		renderProposal(&b, r)
		return Message{Blocks: b.blocks, Text: r.Title, Page: 1, Pages: 1}
	case r.Request != nil:
		renderRequest(&b, *r.Request)
		for _, n := range r.Notes {
			b.context(esc(n))
		}
		return Message{Blocks: b.blocks, Text: r.Title, Page: 1, Pages: 1}
	case r.Command.Verb == commands.Pending:
		renderRequests(&b, r)
		return Message{Blocks: b.blocks, Text: r.Title, Page: 1, Pages: 1}
	case r.Command.Verb == commands.Audit:
		renderEvents(&b, r)
		return Message{Blocks: b.blocks, Text: r.Title, Page: 1, Pages: 1}
	}
	return renderSessions(&b, r, page)
}

func renderProblem(b *builder, r commands.Reply) {
	b.section(":warning: " + esc(r.Problem.Message))
	if r.Problem.Suggestion != "" {
		b.section("Did you mean `/sessions " + code(r.Problem.Suggestion) + "`?")
	}
	if r.Problem.ShowUsage {
		var lines []string
		for _, e := range commands.Usage("qlik-prod") {
			lines = append(lines, "`"+code(e.Usage)+"`")
		}
		b.context(strings.Join(lines, "\n"))
	}
}

func renderHelp(b *builder, r commands.Reply) {
	for _, e := range r.Help {
		b.section(fmt.Sprintf("`/sessions %s`\n%s\n_e.g._ `/sessions %s`", code(e.Usage), esc(e.Description), code(e.Example)))
	}
	for _, n := range r.Notes {
		b.context(n)
	}
}

func renderInstances(b *builder, r commands.Reply) {
	for _, in := range r.Instances {
		status := fmt.Sprintf(":white_check_mark: answers (%s)", roundDuration(in.Elapsed))
		if in.Err != nil {
			status = ":x: " + esc(clip(in.Err.Error(), 500))
			if h := commands.Hint(in.Err); h != "" {
				status += " " + h
			}
		}
		text := fmt.Sprintf("*%s* (%s)  %s\nCan: %s", esc(in.Name), in.Type, status, in.Capabilities)
		if !b.fits(1, len(text)) {
			b.context(fmt.Sprintf("…and %d more instances.", len(r.Instances)-len(b.blocks)+1))
			break
		}
		b.section(text)
	}
	for _, n := range r.Notes {
		b.context(esc(n))
	}
}

// unit is a piece of a session list: a group's heading (with its errors)
// or one session. Pages are cut between units.
type unit struct {
	group   int
	session int // -1 for a group heading
	texts   []string
	isCtx   []bool
	// kill is the command a Kill button beside the session runs.
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

func renderSessions(b *builder, r commands.Reply, page int) Message {
	total := r.SessionCount()
	summary := fmt.Sprintf("`/sessions %s` · %s on %s", code(r.Command.String()), countNoun(total, "session"), countNoun(len(r.Groups), "instance"))
	if !r.Window.IsZero() {
		summary += fmt.Sprintf(" · calls from %s to %s", slackDate(r.Window.Since), slackDate(r.Window.Until))
	}
	b.context(summary)
	for _, n := range r.Notes {
		b.context(esc(n))
	}
	units := sessionUnits(r)
	pages := paginate(b, units)
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
			b.context(fmt.Sprintf("*%s* (continued)", esc(r.Groups[u.group].Instance)))
		}
		for j, t := range u.texts {
			switch {
			case u.isCtx[j]:
				b.context(t)
			case u.kill != "" && len(u.kill) <= 2000:
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
		first := sessionsBefore(units, lo) + 1
		b.context(fmt.Sprintf("Page %d of %d: sessions %d–%d of %d. Narrow the list with `on <instance>`.", page, len(pages), first, first+shown-1, total))
		var buttons []slack.BlockElement
		if page > 1 {
			buttons = append(buttons, slack.NewButtonBlockElement(ActionNextPage, encodePageToken(r.Command, page-1), plain("Previous page")))
		}
		if page < len(pages) {
			buttons = append(buttons, slack.NewButtonBlockElement(ActionNextPage, encodePageToken(r.Command, page+1), plain("Next page")).WithStyle(slack.StylePrimary))
		}
		b.add(slack.NewActionBlock("pages", buttons...), 20)
	}
	msg.Blocks = b.blocks
	return msg
}

func sessionsBefore(units []unit, end int) int {
	n := 0
	for _, u := range units[:end] {
		if u.session >= 0 {
			n++
		}
	}
	return n
}

// paginate cuts units into pages that fit after what b already holds. Each
// page is a [lo, hi) range of units; there is always at least one page.
func paginate(b *builder, units []unit) [][2]int {
	var pages [][2]int
	// Room left after the fixed blocks, less a "continued" line.
	roomBlocks := maxBlocks - reservedBlocks - len(b.blocks) - 1
	roomChars := maxTotalText - b.chars - 60
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
		line := fmt.Sprintf("*%s* (%s)", esc(g.Instance), g.Vendor)
		if g.Identity != "" {
			line += " as `" + code(g.Identity) + "`"
		}
		switch {
		case g.Err != nil:
			line += " · could not answer"
		case g.Note != "":
			line += " · skipped"
		default:
			line += " · " + countNoun(len(g.Sessions), "session")
		}
		if g.Elapsed > 0 {
			line += fmt.Sprintf(" · %s", roundDuration(g.Elapsed))
		}
		head.add(line, false)
		if g.Err != nil {
			text := ":x: " + esc(clip(g.Err.Error(), 1000))
			if h := commands.Hint(g.Err); h != "" {
				text += "\n" + h
			}
			head.add(text, true)
		}
		if g.Note != "" {
			head.add(":information_source: "+esc(clip(g.Note, 1000)), true)
		}
		for _, w := range g.Warnings {
			head.add(":warning: "+esc(clip(w.Error(), 1000)), true)
		}
		units = append(units, head)
		for si, s := range g.Sessions {
			u := unit{group: gi, session: si}
			u.add(sessionText(s), false)
			if g.CanKill && s.Active() {
				u.kill = killCommand(g.Instance, s.ID, s.User.String())
			}
			units = append(units, u)
		}
	}
	return units
}

func (u *unit) add(text string, isCtx bool) {
	u.texts = append(u.texts, clip(text, maxTextObject))
	u.isCtx = append(u.isCtx, isCtx)
}

// sessionText is one session in at most a few hundred characters.
func sessionText(s vendors.Session) string {
	var b strings.Builder
	who := "`" + code(clip(s.User.String(), maxValueDisplay)) + "`"
	if s.UserName != "" {
		who += " (" + esc(clip(s.UserName, 60)) + ")"
	}
	state := ""
	if !s.Active() {
		state = " · _ended_"
	}
	fmt.Fprintf(&b, "%s · id `%s`%s", who, code(clip(s.ID, maxValueDisplay)), state)
	if s.Node != "" {
		fmt.Fprintf(&b, "\nnode `%s`", code(clip(s.Node, 80)))
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
		parts = append(parts, fmt.Sprintf("%s: %s", esc(clip(name, 30)), esc(clip(strings.Join(values[name], ", "), 80))))
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

// esc applies Slack's escaping, so a value from a vendor can't become a
// mention, a link or a broadcast (<!channel>).
func esc(s string) string {
	if !strings.ContainsAny(s, "&<>") {
		return s
	}
	return slackEscaper.Replace(s)
}

var slackEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// code escapes a value for a `code span`: a backtick would end it.
func code(s string) string {
	return esc(strings.ReplaceAll(s, "`", "ˋ"))
}

// clip shortens s to at most n bytes on a rune boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func countNoun(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

func roundDuration(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return "<1ms"
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	default:
		return d.Round(10 * time.Millisecond).String()
	}
}
