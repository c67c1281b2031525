package commands

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/sessionbot/sessionbot/store"
	"github.com/sessionbot/sessionbot/vendors"
)

// DefaultTimeout bounds one instance's answer when its config says nothing.
const DefaultTimeout = 10 * time.Second

// Caller is who asked, as the front end knows them.
type Caller struct {
	// ChatID identifies the person to the front end (opaque here). Never
	// a display name.
	ChatID string
	// Where is where they asked, as the front end names it, for the
	// audit log.
	Where string
	// ReplyTo is the front end's own token for answering this person
	// later (an approval's outcome), opaque here: it is stored with their
	// request and handed back to the Notifier.
	ReplyTo string
}

// InstanceOptions are the per-instance settings the service needs.
type InstanceOptions struct {
	Identity IdentityRule
	Timeout  time.Duration
}

// Service runs commands against the configured instances.
type Service struct {
	registry   *vendors.Registry
	options    map[string]InstanceOptions // by lower-case instance name
	directory  Directory
	clock      func() time.Time
	logger     *slog.Logger
	approvals  *Approvals
	access     *Access
	members    *membership
	translator Translator
	observer   Observer
	reports    []Report
	// probes are the last "vendors" results, for the App Home.
	probes probeCache
	// mirror copies audit events to Access.AuditMirror; nil without one.
	mirror *auditMirror
}

// Config is what New needs.
type Config struct {
	Registry *vendors.Registry
	// Options by instance name; a missing entry gets DefaultTimeout and no
	// email mapping.
	Options   map[string]InstanceOptions
	Directory Directory
	Clock     func() time.Time
	Logger    *slog.Logger
	// Access says who may list, request and approve; nil lets everyone
	// list and nobody request.
	Access *Access
	// Approvals enables kill, logout, approve, deny, pending and audit.
	Approvals *Approvals
	// Translator, when set, reads requests written in plain words.
	Translator Translator
	// Observer, when set, is told of every vendor call and command, for
	// metrics.
	Observer Observer
	// Reports are the scheduled stale-session digests the sweep runs;
	// they need Approvals (its store and messenger).
	Reports []Report
}

// Observer watches what the service does, for metrics. Calls must not
// block.
type Observer interface {
	VendorCall(instance string, vendor vendors.Type, took time.Duration, err error)
	Command(verb Verb, problem bool)
}

// New makes a Service.
func New(cfg Config) *Service {
	s := &Service{
		registry:  cfg.Registry,
		options:   map[string]InstanceOptions{},
		directory: cfg.Directory,
		clock:     cfg.Clock,
		logger:    cfg.Logger,
	}
	for name, o := range cfg.Options {
		s.options[strings.ToLower(name)] = o
	}
	if s.clock == nil {
		s.clock = time.Now
	}
	if s.logger == nil {
		s.logger = slog.Default()
	}
	s.approvals, s.access, s.translator, s.observer = cfg.Approvals, cfg.Access, cfg.Translator, cfg.Observer
	s.reports = cfg.Reports
	if s.access == nil {
		s.access = &Access{}
	}
	var groups Groups
	if s.approvals != nil {
		groups = s.approvals.Groups
	}
	s.members = newMembership(groups, 5*time.Minute, s.clock)
	if s.approvals != nil && s.approvals.Notifier != nil && s.access.AuditMirror != "" {
		s.mirror = newAuditMirror(s.approvals.Notifier, s.access.AuditMirror, s.approvals.AuditMirrorQueue, s.logger, s.clock, s.observer)
	}
	return s
}

// Close sends the audit copies still queued for the mirror, until ctx
// ends; what is left then is dropped, and logged with the drops no
// warning has reported yet. Events recorded after Close are not mirrored.
func (s *Service) Close(ctx context.Context) {
	if s.mirror == nil {
		return
	}
	if left := s.mirror.close(ctx); left > 0 {
		s.logger.Warn("stopping before every audit copy was mirrored (the audit log keeps them)", "dropped", left)
	}
}

func (s *Service) opts(name string) InstanceOptions {
	o := s.options[strings.ToLower(name)]
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	return o
}

// Handle parses text and runs it.
func (s *Service) Handle(ctx context.Context, caller Caller, text string) Reply {
	cmd, err := Parse(text, s.clock())
	if err != nil {
		return s.withUsage(problemReply(cmd, err))
	}
	return s.Execute(ctx, caller, cmd)
}

// Refuse answers text a front end could not turn into the grammar's plain
// text (err says why, best as a *ParseError), as Handle answers text the
// grammar cannot read.
func (s *Service) Refuse(err error) Reply {
	return s.withUsage(problemReply(Command{}, err))
}

// Execute runs a parsed command. It never panics on a vendor's answer and
// never waits longer than the slowest instance's timeout.
func (s *Service) Execute(ctx context.Context, caller Caller, cmd Command) Reply {
	reply := s.withUsage(s.run(ctx, caller, cmd))
	if s.observer != nil {
		s.observer.Command(cmd.Verb, reply.Problem != nil)
	}
	return reply
}

func (s *Service) run(ctx context.Context, caller Caller, cmd Command) Reply {
	switch cmd.Verb {
	case Help:
		return s.help(cmd)
	case Vendors, List, Show:
		if !s.mayList(ctx, caller) {
			return notAllowedToList(cmd)
		}
		reply := s.read(ctx, caller, cmd)
		if cmd.Verb != Vendors {
			s.audit(ctx, store.Event{Actor: caller.ChatID, Where: caller.Where, Action: string(cmd.Verb), Command: cmd.String(),
				Target: readTarget(cmd), Result: readResult(reply)})
		}
		return reply
	case Kill, Logout:
		return s.propose(ctx, caller, cmd)
	case Approve, Deny:
		return s.decide(ctx, caller, cmd)
	case Pending:
		return s.pending(ctx, caller, cmd)
	case Audit:
		return s.auditLog(ctx, caller, cmd)
	}
	return problemReply(cmd, parseErr("help", "I don't know the command %q.", cmd.Verb))
}

// MayList reports whether the caller may look up sessions now: a list kept
// for its page buttons is shown again only to someone who still may.
func (s *Service) MayList(ctx context.Context, caller Caller) bool { return s.mayList(ctx, caller) }

// mayList reports whether the caller may look up sessions and requests.
func (s *Service) mayList(ctx context.Context, caller Caller) bool {
	if len(s.access.Listers) == 0 {
		return true
	}
	ok, _ := s.members.in(ctx, caller.ChatID, s.access.Listers)
	return ok
}

func notAllowedToList(cmd Command) Reply {
	return Reply{Command: cmd, Title: "Not allowed", Problem: &Problem{Message: "You are not on this bot's list of people who may look up sessions. Ask an admin to add you."}}
}

func (s *Service) read(ctx context.Context, caller Caller, cmd Command) Reply {
	var reply Reply
	switch {
	case cmd.Verb == Vendors:
		return s.vendors(ctx, cmd)
	case cmd.Verb == Show:
		reply = s.show(ctx, cmd)
	case cmd.AllUsers:
		reply = s.listAll(ctx, cmd)
	default:
		reply = s.listUser(ctx, cmd)
	}
	for i := range reply.Groups {
		g := &reply.Groups[i]
		in, ok := s.registry.Get(g.Instance)
		if !ok || len(g.Sessions) == 0 || !vendors.Capabilities(in).Has(vendors.CanEnd) {
			continue
		}
		g.CanKill, _ = s.canRequest(ctx, caller, g.Instance)
	}
	return reply
}

func readTarget(cmd Command) string {
	switch {
	case cmd.Verb == Show:
		return cmd.SessionID
	case cmd.AllUsers:
		return "all"
	}
	return cmd.User.String()
}

func readResult(r Reply) string {
	if r.Problem != nil {
		return "problem: " + r.Problem.Message
	}
	failed := 0
	for _, g := range r.Groups {
		if g.Err != nil {
			failed++
		}
	}
	return Plural(r.SessionCount(), "session") + ", " + Plural(failed, "instance") + " failed"
}

func problemReply(cmd Command, err error) Reply {
	p := &Problem{Message: err.Error(), ShowUsage: true}
	var pe *ParseError
	if errors.As(err, &pe) {
		p.Message, p.Suggestion = pe.Problem, pe.Suggestion
	}
	return Reply{Command: cmd, Title: "I couldn't run that", Problem: p}
}

// selectInstances resolves the "on" targets to instances that can do what is
// asked. Unknown names are an error; known ones that lack the capability
// come back as skips.
func (s *Service) selectInstances(cmd Command, need vendors.Capability, what string) (chosen []vendors.Instance, skipped []Group, err error) {
	candidates := s.registry.All()
	if len(cmd.Targets) > 0 {
		candidates = nil
		seen := map[string]bool{}
		for _, t := range cmd.Targets {
			matched := s.registry.OfType(vendors.Type(strings.ToLower(t)))
			if in, ok := s.registry.Get(t); ok {
				matched = []vendors.Instance{in}
			}
			if len(matched) == 0 {
				return nil, nil, s.unknownTarget(cmd, t)
			}
			for _, in := range matched {
				if !seen[in.Name()] {
					seen[in.Name()] = true
					candidates = append(candidates, in)
				}
			}
		}
	}
	for _, in := range candidates {
		if vendors.Capabilities(in).Has(need) {
			chosen = append(chosen, in)
		} else if len(cmd.Targets) > 0 {
			skipped = append(skipped, Group{Vendor: in.Type(), Instance: in.Name(), Note: fmt.Sprintf("%s (%s) cannot %s.", in.Name(), in.Type(), what)})
		}
	}
	return chosen, skipped, nil
}

func (s *Service) unknownTarget(cmd Command, t string) error {
	names := s.registry.Names()
	var types []string
	for _, ty := range s.registry.Types() {
		types = append(types, string(ty))
	}
	best, bestDist := "", 3
	for _, n := range append(names, types...) {
		if d := editDistance(strings.ToLower(t), strings.ToLower(n)); d < bestDist {
			best, bestDist = n, d
		}
	}
	suggestion := ""
	if best != "" {
		fixed := cmd
		fixed.Targets = nil
		for _, x := range cmd.Targets {
			if x == t {
				x = best
			}
			fixed.Targets = append(fixed.Targets, x)
		}
		suggestion = fixed.String()
	}
	return parseErr(suggestion, "There is no instance or vendor type %q. Instances: %s; types: %s.", t, strings.Join(names, ", "), strings.Join(types, ", "))
}

// fanOut runs f on each instance in parallel, each under its own timeout,
// and returns the groups in the instances' order.
func (s *Service) fanOut(ctx context.Context, instances []vendors.Instance, f func(ctx context.Context, in vendors.Instance, g *Group)) []Group {
	groups := make([]Group, len(instances))
	var wg sync.WaitGroup
	for i, in := range instances {
		groups[i] = Group{Vendor: in.Type(), Instance: in.Name()}
		wg.Add(1)
		go func(g *Group) {
			defer wg.Done()
			defer func() {
				if p := recover(); p != nil {
					s.logger.Error("vendor adapter panicked", "instance", in.Name(), "panic", p)
					g.Err = fmt.Errorf("%s: internal error in the %s adapter", in.Name(), in.Type())
				}
			}()
			timeout := s.opts(in.Name()).Timeout
			ictx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			start := time.Now()
			f(ictx, in, g)
			g.Elapsed = time.Since(start)
			if s.observer != nil {
				s.observer.VendorCall(in.Name(), in.Type(), g.Elapsed, g.Err)
			}
			if d := vendors.Detail(g.Err); d != "" {
				s.logger.Debug("vendor answer", "instance", in.Name(), "error", g.Err, "detail", d)
			}
			if g.Err != nil && ictx.Err() == context.DeadlineExceeded && !errors.Is(g.Err, vendors.ErrTimeout) && !errors.Is(g.Err, vendors.ErrBusy) {
				g.Err = fmt.Errorf("%s: no answer within %s: %w (%v)", in.Name(), timeout, vendors.ErrTimeout, g.Err)
			}
		}(&groups[i])
	}
	wg.Wait()
	return groups
}

func (s *Service) listUser(ctx context.Context, cmd Command) Reply {
	reply := Reply{Command: cmd, Title: "Sessions of " + cmd.User.String()}
	instances, skipped, err := s.selectInstances(cmd, vendors.CanListUser, "list a person's sessions")
	if err != nil {
		return problemReply(cmd, err)
	}
	if len(instances) == 0 {
		return s.nothingCan(cmd, skipped, "list a person's sessions")
	}
	user := cmd.User
	if user.Form == Mention {
		email, err := s.resolveMention(ctx, user.ChatID)
		if err != nil {
			return problemReply(cmd, err)
		}
		user.Email = email
		// A title is plain text, where a mention would not render.
		reply.Title = "Sessions of " + email
	}
	now := s.clock()
	window, windowNote, err := s.window(cmd, instances, now)
	if err != nil {
		return problemReply(cmd, err)
	}
	if windowNote != "" {
		reply.Notes = append(reply.Notes, windowNote)
	}
	reply.Groups = s.fanOut(ctx, instances, func(ctx context.Context, in vendors.Instance, g *Group) {
		id, err := s.opts(in.Name()).Identity.MapUser(user, in.Name())
		if err != nil {
			g.Note = err.Error()
			return
		}
		g.Identity = id.String()
		q := vendors.UserQuery{User: id}
		if _, ok := in.(vendors.WindowedLister); ok {
			q.Window = window
		}
		l, err := in.(vendors.UserSessionLister).ListUserSessions(ctx, q)
		if errors.Is(err, vendors.ErrNotFound) {
			// The person has no account there: an answer, not a failure.
			g.NoAccount, g.Note = true, fmt.Sprintf("%s has no account on %s.", id, in.Name())
			return
		}
		g.Sessions, g.Warnings, g.Err = sortSessions(l.Sessions), l.Warnings, err
	})
	reply.Groups = append(reply.Groups, skipped...)
	if hasWindowed(instances) {
		reply.Window = window
	}
	return reply
}

func (s *Service) resolveMention(ctx context.Context, chatID string) (string, error) {
	who := "@" + chatID
	if s.directory == nil {
		return "", parseErr("", "I can't look people up by %s here: write the person as `DIR\\user` or `user@domain`.", who)
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	email, err := s.directory.Email(ctx, chatID)
	var unknown *UnknownPerson
	switch {
	case errors.As(err, &unknown):
		return "", parseErr("", "%q is not a person I know. %s", who, strings.TrimSpace(unknown.Hint+" "+PersonForms))
	case err != nil:
		return "", parseErr("", "I couldn't find the email of %s (%v). Write the person as `DIR\\user` or `user@domain`.", who, err)
	case email == "":
		return "", parseErr("", "The directory has no email for %s. Write the person as `DIR\\user` or `user@domain`.", who)
	}
	return email, nil
}

// window checks since/until against what the selected history-keeping
// instances allow, and defaults to the last 24 hours.
func (s *Service) window(cmd Command, instances []vendors.Instance, now time.Time) (vendors.Window, string, error) {
	w := vendors.Window{Since: cmd.Since, Until: cmd.Until}
	asked := !w.IsZero()
	if !hasWindowed(instances) {
		if asked {
			return vendors.Window{}, "`since` and `until` apply to call history (Teams, Skype) only; the instances asked show the sessions open now.", nil
		}
		return vendors.Window{}, "", nil
	}
	if w.Until.IsZero() {
		w.Until = now
	}
	if w.Since.IsZero() {
		w.Since = w.Until.Add(-vendors.DefaultWindow)
	}
	for _, in := range instances {
		wl, ok := in.(vendors.WindowedLister)
		if !ok {
			continue
		}
		oldest := now.Add(-wl.MaxLookback())
		if w.Since.Before(oldest) {
			return w, "", parseErr("", "%s keeps %s of history: `since` must be after %s (you asked for %s).", in.Name(), humanDuration(wl.MaxLookback()), oldest.UTC().Format("2006-01-02 15:04 MST"), w.Since.UTC().Format("2006-01-02 15:04 MST"))
		}
	}
	if !w.Until.After(w.Since) {
		return w, "", parseErr("", "`until` (%s) must come after `since` (%s).", w.Until.UTC().Format("2006-01-02 15:04 MST"), w.Since.UTC().Format("2006-01-02 15:04 MST"))
	}
	if w.Until.After(now.Add(time.Minute)) {
		w.Until = now
	}
	return w, "", nil
}

func hasWindowed(instances []vendors.Instance) bool {
	for _, in := range instances {
		if _, ok := in.(vendors.WindowedLister); ok {
			return true
		}
	}
	return false
}

func humanDuration(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%d days", d/(24*time.Hour))
	}
	return d.String()
}

func (s *Service) listAll(ctx context.Context, cmd Command) Reply {
	reply := Reply{Command: cmd, Title: "All sessions on " + strings.Join(cmd.Targets, ", ")}
	instances, skipped, err := s.selectInstances(cmd, vendors.CanListAll, "list all sessions")
	if err != nil {
		return problemReply(cmd, err)
	}
	if len(instances) == 0 {
		return s.nothingCan(cmd, skipped, "list all sessions")
	}
	reply.Groups = s.fanOut(ctx, instances, func(ctx context.Context, in vendors.Instance, g *Group) {
		l, err := in.(vendors.AllSessionLister).ListAllSessions(ctx)
		g.Sessions, g.Warnings, g.Err = sortSessions(l.Sessions), l.Warnings, err
	})
	reply.Groups = append(reply.Groups, skipped...)
	return reply
}

func (s *Service) show(ctx context.Context, cmd Command) Reply {
	reply := Reply{Command: cmd, Title: "Session " + cmd.SessionID}
	instances, skipped, err := s.selectInstances(cmd, vendors.CanGet, "show a session by id")
	if err != nil {
		return problemReply(cmd, err)
	}
	if len(instances) == 0 {
		return s.nothingCan(cmd, skipped, "show a session by id")
	}
	groups := s.fanOut(ctx, instances, func(ctx context.Context, in vendors.Instance, g *Group) {
		sess, err := in.(vendors.SessionGetter).GetSession(ctx, cmd.SessionID)
		switch {
		case err == nil:
			g.Sessions = []vendors.Session{sess}
		case errors.Is(err, vendors.ErrNotFound):
			g.Note = "not found"
		case errors.Is(err, vendors.ErrInvalidInput) && len(cmd.Targets) == 0:
			// Not this vendor's id format: say nothing unless asked for.
			g.Note = "not found"
		default:
			g.Err = err
		}
	})
	var found, asked []string
	for _, g := range groups {
		asked = append(asked, g.Instance)
		if g.Note == "not found" {
			continue
		}
		reply.Groups = append(reply.Groups, g)
		if len(g.Sessions) > 0 {
			found = append(found, g.Instance)
		}
	}
	reply.Groups = append(reply.Groups, skipped...)
	if len(found) == 0 && len(reply.Groups) == 0 {
		reply.Problem = &Problem{Message: fmt.Sprintf("No session %s on %s. It may have ended; `list <user>` shows what is open.", cmd.SessionID, strings.Join(asked, ", "))}
	}
	return reply
}

func (s *Service) nothingCan(cmd Command, skipped []Group, what string) Reply {
	var lines []string
	for _, g := range skipped {
		lines = append(lines, g.Note)
	}
	msg := "No configured instance can " + what + "."
	if len(lines) > 0 {
		msg = strings.Join(lines, " ")
	}
	return Reply{Command: cmd, Title: "I couldn't run that", Problem: &Problem{Message: msg}}
}

func (s *Service) vendors(ctx context.Context, cmd Command) Reply {
	reply := Reply{Command: cmd, Title: "Configured instances"}
	instances := s.registry.All()
	groups := s.fanOut(ctx, instances, func(ctx context.Context, in vendors.Instance, g *Group) {
		g.Err = in.Probe(ctx)
	})
	for i, in := range instances {
		reply.Instances = append(reply.Instances, InstanceStatus{
			Name: in.Name(), Type: in.Type(), Capabilities: vendors.Capabilities(in),
			Err: groups[i].Err, Elapsed: groups[i].Elapsed,
		})
	}
	if len(instances) == 0 {
		reply.Notes = append(reply.Notes, "No instances are configured.")
	}
	s.probes.put(reply.Instances, s.clock())
	return reply
}

// sortSessions puts open sessions first, newest first, then by node and id,
// so a reply reads the same way every time.
func sortSessions(in []vendors.Session) []vendors.Session {
	out := append([]vendors.Session(nil), in...)
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Active() != b.Active() {
			return a.Active()
		}
		if !a.Started.Equal(b.Started) {
			return a.Started.After(b.Started)
		}
		if a.Node != b.Node {
			return a.Node < b.Node
		}
		return a.ID < b.ID
	})
	return out
}
