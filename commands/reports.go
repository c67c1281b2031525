package commands

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/sessionbot/sessionbot/store"
	"github.com/sessionbot/sessionbot/vendors"
)

// Report is a scheduled digest of stale sessions.
type Report struct {
	Name string
	// Schedule is when it runs, in Location's time.
	Schedule cron.Schedule
	Location *time.Location
	// Destination is where the digest is posted, as the front end names
	// it.
	Destination string
	// Instances are the instances it reads; empty means every instance
	// that can list all its sessions.
	Instances []string
	Rule      Rule
	// Top is how many of the stalest sessions the digest names.
	Top int
}

// DefaultTop is Report.Top when unset; MaxTop keeps a digest within one
// chat message.
const (
	DefaultTop = 10
	MaxTop     = 20
)

// ChartDays is how far back a digest's chart of recorded counts looks.
const ChartDays = 7

// reportLease is how long a replica has to run a report before another
// may take the run over.
const reportLease = 10 * time.Minute

// ParseSchedule reads a five-field cron schedule ("0 8 * * 1-5").
func ParseSchedule(spec string) (cron.Schedule, error) {
	if strings.HasPrefix(strings.TrimSpace(spec), "CRON_TZ=") || strings.HasPrefix(strings.TrimSpace(spec), "TZ=") {
		return nil, errors.New("names its time zone inside the schedule; use the report's time_zone instead")
	}
	return cron.ParseStandard(spec)
}

// Rule says which open sessions are stale: every condition must hold.
type Rule struct {
	// Text is the rule as written.
	Text string
	// IdleOver matches sessions whose last activity is longer ago; a
	// session whose vendor does not say never matches.
	IdleOver time.Duration
	// OlderThan matches sessions started longer ago; a session whose
	// vendor does not say never matches.
	OlderThan time.Duration
	// Attributes match a vendor attribute's value, without regard to case
	// ("console is CommCell Console").
	Attributes []vendors.Attribute
}

// ParseRule reads conditions joined by "and": "idle > 8h", "older than
// 24h", "<attribute> is <value>". Durations take s, m, h or d.
func ParseRule(text string) (Rule, error) {
	r := Rule{Text: strings.TrimSpace(text)}
	if r.Text == "" {
		return r, errors.New("is empty: write a condition such as `idle > 8h`, `older than 24h` or `console is CommCell Console`")
	}
	for _, cond := range splitAnd(r.Text) {
		lower := strings.ToLower(cond)
		switch {
		case strings.HasPrefix(lower, "idle"):
			d, err := ruleDuration(strings.TrimPrefix(strings.TrimSpace(lower[len("idle"):]), ">"))
			if err != nil {
				return r, fmt.Errorf("%q: %w", cond, err)
			}
			r.IdleOver = d
		case strings.HasPrefix(lower, "older than"):
			d, err := ruleDuration(lower[len("older than"):])
			if err != nil {
				return r, fmt.Errorf("%q: %w", cond, err)
			}
			r.OlderThan = d
		default:
			name, value, ok := strings.Cut(cond, " is ")
			if !ok || strings.TrimSpace(name) == "" || strings.TrimSpace(value) == "" {
				return r, fmt.Errorf("%q is not a condition: write `idle > 8h`, `older than 24h` or `<attribute> is <value>`", cond)
			}
			r.Attributes = append(r.Attributes, vendors.Attribute{Name: strings.TrimSpace(name), Value: strings.TrimSpace(value)})
		}
	}
	return r, nil
}

func splitAnd(s string) []string {
	var out []string
	for _, part := range strings.Split(strings.ReplaceAll(s, " AND ", " and "), " and ") {
		if p := strings.TrimSpace(part); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func ruleDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	var d time.Duration
	var err error
	if n, ok := strings.CutSuffix(s, "d"); ok {
		var days int
		days, err = strconv.Atoi(n)
		d = time.Duration(days) * 24 * time.Hour
	} else {
		d, err = time.ParseDuration(s)
	}
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%q is not a duration such as 8h or 2d", s)
	}
	return d, nil
}

// Matches reports whether an open session is stale by the rule at now.
func (r Rule) Matches(s vendors.Session, now time.Time) bool {
	if !s.Active() {
		return false
	}
	if r.IdleOver > 0 && (s.LastActive.IsZero() || now.Sub(s.LastActive) <= r.IdleOver) {
		return false
	}
	if r.OlderThan > 0 && (s.Started.IsZero() || now.Sub(s.Started) <= r.OlderThan) {
		return false
	}
	for _, want := range r.Attributes {
		if !slices.ContainsFunc(s.Attributes, func(a vendors.Attribute) bool {
			return strings.EqualFold(a.Name, want.Name) && strings.EqualFold(a.Value, want.Value)
		}) {
			return false
		}
	}
	return true
}

// staleness orders sessions stalest first: by idle time where the vendor
// says, else by age; sessions with neither come last.
func staleness(s vendors.Session, now time.Time) time.Duration {
	switch {
	case !s.LastActive.IsZero():
		return now.Sub(s.LastActive)
	case !s.Started.IsZero():
		return now.Sub(s.Started)
	}
	return -1
}

// NodeTally is one node's sessions when a report ran.
type NodeTally struct {
	Instance, Node string
	Open, Stale    int
}

// Digest is what a report found, for the messenger to post.
type Digest struct {
	Report string
	// Destination is the report's, where the messenger posts it.
	Destination string
	Rule        string
	// At is the scheduled time this run is for.
	At    time.Time
	Nodes []NodeTally
	// Stalest are the Top stalest matching sessions, stalest first.
	Stalest     []vendors.Session
	Open, Stale int
	// Problems are instances that could not be read, in words.
	Problems []string
	// History is the report's recorded counts of the last ChartDays days.
	History []store.NodeCount
}

// DigestPoster is a Notifier that can post a report's digest.
type DigestPoster interface {
	PostDigest(ctx context.Context, d Digest) error
}

// Reports lists the configured reports.
func (s *Service) Reports() []Report { return s.reports }

func (s *Service) reportNamed(name string) (Report, bool) {
	for _, r := range s.reports {
		if strings.EqualFold(r.Name, name) {
			return r, true
		}
	}
	return Report{}, false
}

// BuildDigest reads the report's instances now and picks the stale
// sessions. It records and posts nothing.
func (s *Service) BuildDigest(ctx context.Context, r Report, at time.Time) Digest {
	d := Digest{Report: r.Name, Destination: r.Destination, Rule: r.Rule.Text, At: at}
	var instances []vendors.Instance
	for _, in := range s.registry.All() {
		if len(r.Instances) > 0 && !slices.ContainsFunc(r.Instances, func(n string) bool { return strings.EqualFold(n, in.Name()) }) {
			continue
		}
		if _, ok := in.(vendors.AllSessionLister); !ok {
			if len(r.Instances) > 0 {
				d.Problems = append(d.Problems, in.Name()+" cannot list all its sessions")
			}
			continue
		}
		instances = append(instances, in)
	}
	groups := s.fanOut(ctx, instances, func(ctx context.Context, in vendors.Instance, g *Group) {
		l, err := in.(vendors.AllSessionLister).ListAllSessions(ctx)
		g.Sessions, g.Warnings, g.Err = l.Sessions, l.Warnings, err
	})
	now := s.clock()
	var stale []vendors.Session
	for _, g := range groups {
		if g.Err != nil {
			d.Problems = append(d.Problems, g.Err.Error())
			continue
		}
		for _, w := range g.Warnings {
			d.Problems = append(d.Problems, w.Error())
		}
		tallies := map[string]*NodeTally{}
		for _, sess := range g.Sessions {
			if !sess.Active() {
				continue
			}
			t := tallies[sess.Node]
			if t == nil {
				t = &NodeTally{Instance: g.Instance, Node: sess.Node}
				tallies[sess.Node] = t
			}
			t.Open++
			d.Open++
			if r.Rule.Matches(sess, now) {
				t.Stale++
				d.Stale++
				stale = append(stale, sess)
			}
		}
		for _, t := range tallies {
			d.Nodes = append(d.Nodes, *t)
		}
	}
	slices.SortFunc(d.Nodes, func(a, b NodeTally) int {
		return cmp.Or(cmp.Compare(a.Instance, b.Instance), cmp.Compare(a.Node, b.Node))
	})
	slices.SortStableFunc(stale, func(a, b vendors.Session) int {
		return cmp.Or(cmp.Compare(staleness(b, now), staleness(a, now)), cmp.Compare(a.Instance, b.Instance), cmp.Compare(a.ID, b.ID))
	})
	top := r.Top
	if top <= 0 {
		top = DefaultTop
	}
	d.Stalest = stale[:min(len(stale), min(top, MaxTop))]
	return d
}

// RunReport runs a report now, whatever its schedule: it reads the
// instances, records the counts, audits and posts the digest. The
// console and the demo use it; the sweep runs reports on schedule.
func (s *Service) RunReport(ctx context.Context, name string) (Digest, error) {
	r, ok := s.reportNamed(name)
	if !ok {
		return Digest{}, fmt.Errorf("no report is named %q", name)
	}
	return s.runReport(ctx, r, s.clock())
}

func (s *Service) runReport(ctx context.Context, r Report, at time.Time) (Digest, error) {
	if s.approvals == nil {
		return Digest{}, errNoApprovals
	}
	d := s.BuildDigest(ctx, r, at)
	if reps, ok := s.approvals.Store.(store.Reports); ok {
		counts := make([]store.NodeCount, 0, len(d.Nodes))
		for _, n := range d.Nodes {
			counts = append(counts, store.NodeCount{Report: r.Name, At: at, Instance: n.Instance, Node: n.Node, Sessions: n.Open})
		}
		if err := reps.RecordCounts(ctx, counts); err != nil {
			s.logger.Warn("recording a report's counts", "report", r.Name, "error", err)
		}
		history, err := reps.Counts(ctx, r.Name, at.Add(-ChartDays*24*time.Hour))
		if err != nil {
			s.logger.Warn("reading a report's recorded counts", "report", r.Name, "error", err)
		}
		d.History = history
	}
	// Audited once the post is answered: a failed post is retried, and
	// the log must not count it as posted.
	var err error
	if poster, ok := s.approvals.Notifier.(DigestPoster); ok {
		if perr := poster.PostDigest(ctx, d); perr != nil {
			err = fmt.Errorf("post the digest of report %s: %w", r.Name, perr)
		}
	}
	event := store.Event{Actor: s.approvals.ReplicaID, Where: r.Destination, Action: "report", Command: r.Name, Result: "posted",
		Detail: fmt.Sprintf("%d of %d open sessions match %q; %d instances could not be read", d.Stale, d.Open, r.Rule.Text, len(d.Problems))}
	if err != nil {
		event.Result, event.Detail = "failed", event.Detail+"; "+err.Error()
	}
	s.audit(context.WithoutCancel(ctx), event)
	return d, err
}

// maxSlots bounds the walk to the latest scheduled time: an every-minute
// schedule after two years down.
const maxSlots = 1 << 20

// latestSlot is the latest time the schedule fires after since and not
// after now.
func latestSlot(r Report, since, now time.Time) (time.Time, bool) {
	loc := r.Location
	if loc == nil {
		loc = time.UTC
	}
	var slot time.Time
	t := since.In(loc)
	for range maxSlots {
		next := r.Schedule.Next(t)
		if next.IsZero() || next.After(now) {
			break
		}
		slot, t = next, next
	}
	return slot, !slot.IsZero()
}

// sweepReports runs each report whose scheduled time has come, on one
// replica (a lease in the store). After downtime only the latest missed
// time runs: a catch-up posts once. A new report waits for its first
// scheduled time.
func (s *Service) sweepReports(ctx context.Context) error {
	reps, ok := s.approvals.Store.(store.Reports)
	if !ok || len(s.reports) == 0 {
		return nil
	}
	var errs []error
	for _, r := range s.reports {
		if r.Schedule == nil {
			continue // run only by RunReport
		}
		now := s.clock()
		done, err := reps.StartReport(ctx, r.Name, now)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		slot, due := latestSlot(r, done, now)
		if !due {
			continue
		}
		won, err := reps.ClaimReportRun(ctx, r.Name, slot, now, reportLease)
		if err != nil || !won {
			errs = append(errs, err)
			continue
		}
		rctx, cancel := context.WithTimeout(ctx, reportLease*4/5)
		_, err = s.runReport(rctx, r, slot)
		cancel()
		if err != nil && !errors.Is(err, ErrUndeliverable) {
			// The lease runs out and a later sweep tries again.
			errs = append(errs, err)
			continue
		}
		if err != nil {
			s.logger.Error("a report's digest cannot be delivered; it is not retried", "report", r.Name, "error", err)
		}
		if err := reps.FinishReportRun(context.WithoutCancel(ctx), r.Name, slot); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
