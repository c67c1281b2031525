package commands

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sessionbot/sessionbot/store"
	"github.com/sessionbot/sessionbot/vendors"
)

// Notifier carries approval news to people. The chat front end implements it
// with messages and buttons; the console prints.
type Notifier interface {
	// PostApproval posts a new request where its approvers will see it and
	// returns the request's delivery record (req.Delivery, the requester's
	// ReplyTo, with the message's place added), which the store keeps for
	// later updates.
	PostApproval(ctx context.Context, req store.Request, approvers []string) (delivery string, err error)
	// UpdateApproval rewrites the approval message after a vote or outcome.
	UpdateApproval(ctx context.Context, req store.Request, votes []store.Vote) error
	// TellRequester tells the person who asked what became of their
	// request (its State and Outcome say it).
	TellRequester(ctx context.Context, req store.Request, votes []store.Vote) error
	// MirrorAudit copies an audit event to dest (Access.AuditMirror). It
	// is called from a background queue, one event at a time.
	MirrorAudit(ctx context.Context, dest string, e store.Event) error
}

// ErrUndeliverable marks a Notifier error that retrying cannot fix (the
// message or its channel is gone): the sweep stops re-applying the update.
var ErrUndeliverable = errors.New("the message cannot be delivered")

// Approvals is what ending sessions needs: the durable store and a way to
// reach people. Who may do what is the service's Access.
type Approvals struct {
	Store    store.Store
	Notifier Notifier
	Groups   Groups
	// ReplicaID names this process in execution claims.
	ReplicaID string
	// RetryAfter is how long a click has to finish what it started
	// (posting the approval message, carrying out an approval) before the
	// sweep does it instead. DefaultRetryAfter when zero.
	RetryAfter time.Duration
	// Retention is how long the sweep keeps finished requests, the audit
	// log and recorded counts; zero keeps a kind forever.
	Retention store.Retention
	// AuditMirrorQueue is how many audit events may wait to be mirrored
	// (Access.AuditMirror) before copies are dropped;
	// DefaultAuditMirrorQueue when zero.
	AuditMirrorQueue int
}

// DefaultRetryAfter is Approvals.RetryAfter when unset.
const DefaultRetryAfter = 10 * time.Second

// writeTimeout bounds one attempt at recording what happened: the click's
// own deadline may have passed by then, and an outcome must still be kept.
const writeTimeout = 10 * time.Second

// notifyTimeout bounds telling people of an outcome recorded detached from
// the caller's deadline.
const notifyTimeout = 30 * time.Second

// AuditObserver, when the service's Observer implements it, is told of
// every audit record that could not be written.
type AuditObserver interface {
	AuditFailed(action string)
}

// Proposal is what a kill or logout would end, shown for confirmation
// before any request exists.
type Proposal struct {
	Action   store.Action
	Instance string
	Vendor   vendors.Type
	// Sessions are what will end: one for a kill, all the person's open
	// ones on the instance for a logout (as they are now).
	Sessions []vendors.Session
	User     vendors.Identity
	Reason   string
	// Command is the typed command that makes the request, carried by the
	// confirm button so any replica can act on the click.
	Command Command
	// Approvers and ApprovalsNeeded describe who must approve.
	Approvers       []string
	ApprovalsNeeded int
	NoApproval      bool
	// Key identifies this proposal: it travels with the confirmation, and
	// confirming it twice makes one request.
	Key string
	// RevokesSignIns: a logout here revokes sign-in sessions rather than
	// ending the sessions listed (Microsoft).
	RevokesSignIns bool
}

// RevokesSignIns reports whether a logout on this vendor revokes sign-in
// sessions (refresh tokens) instead of ending live sessions: Microsoft's
// revokeSignInSessions ends no call and takes effect within minutes.
func RevokesSignIns(v vendors.Type) bool { return v == vendors.Teams || v == vendors.Skype }

// RequestView is a stored request with its votes, for replies.
type RequestView struct {
	Request store.Request
	Votes   []store.Vote
}

// errNoApprovals answers kill verbs when no store is configured.
var errNoApprovals = errors.New("ending sessions needs the approval store, which this bot does not have configured (see `store` in the config)")

// audit records e. Requests, votes and executions do not go ahead without
// their record (callers check the error); reads go on, and a failure is
// logged and counted either way.
func (s *Service) audit(ctx context.Context, e store.Event) error {
	if s.approvals == nil {
		return nil
	}
	if e.At.IsZero() {
		e.At = s.clock()
	}
	if _, err := s.approvals.Store.AppendEvent(ctx, e); err != nil {
		s.logger.Error("audit append failed", "action", e.Action, "actor", e.Actor, "request", e.RequestID, "error", err)
		if o, ok := s.observer.(AuditObserver); ok {
			o.AuditFailed(e.Action)
		}
		return err
	}
	if s.mirror != nil {
		s.mirror.add(e)
	}
	return nil
}

// auditCommand records what caller's command did, or could not do, to req.
func (s *Service) auditCommand(ctx context.Context, caller Caller, cmd Command, action string, req store.Request, result, detail string) error {
	return s.audit(ctx, commandEvent(caller, cmd, action, req, result, detail))
}

func commandEvent(caller Caller, cmd Command, action string, req store.Request, result, detail string) store.Event {
	return store.Event{Actor: caller.ChatID, Where: caller.Where, Action: action, Command: cmd.String(),
		Vendor: req.Vendor, Instance: req.Instance, Target: requestTarget(req), RequestID: req.ID, Result: result, Detail: detail}
}

// recordFirst writes the record a step needs before it is taken; on an
// error the step is not taken. A write can fail by answering late and
// still be committed (a group commit the caller stopped waiting for), so
// a second record, as notDone, says the step was not taken. It is best
// effort: with the store down it fails too, and the log holds neither.
func (s *Service) recordFirst(ctx context.Context, e store.Event, notDone string) error {
	err := s.audit(ctx, e)
	if err != nil {
		wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), writeTimeout)
		defer cancel()
		e.Action, e.Result, e.Detail, e.At = notDone, "not done: its record could not be written ("+err.Error()+")", "", time.Time{}
		s.audit(wctx, e)
	}
	return err
}

// auditOwn records what this replica did to req on its own (an execution,
// a sweep, a reminder) rather than on someone's command: the actor is the
// replica, and there is no command or place.
func (s *Service) auditOwn(ctx context.Context, action string, req store.Request, result, detail string) error {
	return s.audit(ctx, store.Event{Actor: s.approvals.ReplicaID, Action: action, Vendor: req.Vendor, Instance: req.Instance,
		Target: requestTarget(req), RequestID: req.ID, Result: result, Detail: detail})
}

// errNoAudit is what a person is told when a destructive step stops for
// want of its audit record.
func errNoAudit(err error) error {
	return fmt.Errorf("the audit log could not be written (%v), so nothing was done: try again in a minute", err)
}

// canRequest reports whether the caller may request kills on the instance.
func (s *Service) canRequest(ctx context.Context, caller Caller, instance string) (bool, error) {
	if s.approvals == nil {
		return false, nil
	}
	p := s.access.PolicyFor(instance)
	return s.members.in(ctx, caller.ChatID, p.Requesters)
}

// isApprover reports whether the caller may approve on the instance, from
// cached group members: good enough for buttons and the audit log.
func (s *Service) isApprover(ctx context.Context, caller Caller, instance string) (bool, error) {
	p := s.access.PolicyFor(instance)
	return s.members.in(ctx, caller.ChatID, p.Approvers)
}

// mayVote reports whether the caller approves on the instance now: groups
// and channels are read again, so someone removed a minute ago cannot vote.
func (s *Service) mayVote(ctx context.Context, caller Caller, instance string) (bool, error) {
	p := s.access.PolicyFor(instance)
	return s.members.inNow(ctx, caller.ChatID, p.Approvers)
}

// isAnyApprover reports whether the caller approves on some instance: they
// may read the audit log.
func (s *Service) isAnyApprover(ctx context.Context, caller Caller) bool {
	for _, in := range s.registry.All() {
		if ok, _ := s.isApprover(ctx, caller, in.Name()); ok {
			return true
		}
	}
	return false
}

// propose checks a kill or logout and says what it would end. Nothing is
// stored: the person must confirm first.
func (s *Service) propose(ctx context.Context, caller Caller, cmd Command) Reply {
	if s.approvals == nil {
		return problemReply(cmd, errNoApprovals)
	}
	p, err := s.buildProposal(ctx, caller, cmd)
	if err != nil {
		return problemReply(cmd, err)
	}
	title := "Confirm: end this session?"
	switch {
	case p.RevokesSignIns:
		title = "Confirm: sign " + p.User.String() + " out everywhere?"
	case p.Action == store.ActionLogoutUser:
		title = "Confirm: log " + p.User.String() + " out?"
	}
	p.Key = store.NewID() + store.NewID() // 80 random bits
	return Reply{Command: cmd, Title: title, Proposal: p}
}

// buildProposal resolves the instance, checks the caller may request, and
// reads the session(s) as they are now.
func (s *Service) buildProposal(ctx context.Context, caller Caller, cmd Command) (*Proposal, error) {
	need, what := vendors.CanEnd, "end sessions"
	if cmd.Verb == Logout {
		need, what = vendors.CanLogout, "log people out"
	}
	instances, skipped, err := s.selectInstances(cmd, need, what)
	if err != nil {
		return nil, err
	}
	if len(instances) == 0 {
		if len(skipped) > 0 {
			return nil, errors.New(skipped[0].Note)
		}
		return nil, fmt.Errorf("no configured instance can %s", what)
	}
	if cmd.Verb == Kill && len(instances) > 1 {
		// A session id alone: find the one instance that holds it.
		instances = s.instancesHolding(ctx, instances, cmd.SessionID)
		switch len(instances) {
		case 0:
			return nil, parseErr("", "No instance has a session %s. `list <user>` shows open sessions with their ids.", cmd.SessionID)
		case 1:
		default:
			var names []string
			for _, in := range instances {
				names = append(names, in.Name())
			}
			return nil, parseErr(cmd.String()+" on "+names[0], "Session %s exists on %s: name one with `on`.", cmd.SessionID, strings.Join(names, " and "))
		}
	}
	in := instances[0]
	ok, err := s.canRequest(ctx, caller, in.Name())
	if err != nil {
		s.logger.Warn("checking requesters", "instance", in.Name(), "error", err)
	}
	if !ok {
		return nil, fmt.Errorf("you are not allowed to request ending sessions on %s: ask an admin to add you to its requesters", in.Name())
	}
	policy := s.access.PolicyFor(in.Name())
	p := &Proposal{
		Instance: in.Name(), Vendor: in.Type(), Reason: cmd.Reason,
		Approvers: policy.Approvers, ApprovalsNeeded: policy.ApprovalsNeeded, NoApproval: policy.NoApproval,
		RevokesSignIns: cmd.Verb == Logout && RevokesSignIns(in.Type()),
	}
	fixed := cmd
	fixed.Targets = []string{in.Name()}
	ctx, cancel := context.WithTimeout(ctx, s.opts(in.Name()).Timeout)
	defer cancel()
	switch cmd.Verb {
	case Kill:
		p.Action = store.ActionEndSession
		var hint *vendors.Identity
		if cmd.User.Form != 0 {
			id, err := s.mapUser(ctx, cmd.User, in.Name())
			if err != nil {
				return nil, err
			}
			hint = &id
		}
		sess, err := s.readSession(ctx, in, cmd.SessionID, hint)
		if err != nil {
			return nil, err
		}
		p.Sessions, p.User = []vendors.Session{sess}, sess.User
		if fixed.User.Form == 0 {
			fixed.User = UserRef{Form: Account, Directory: sess.User.Directory, Name: sess.User.ID}
			if sess.User.Directory == "" {
				fixed.User = UserRef{Form: Bare, Name: sess.User.ID}
				if strings.Contains(sess.User.ID, "@") {
					fixed.User = UserRef{Form: Email, Email: sess.User.ID}
				}
			}
		}
	case Logout:
		p.Action = store.ActionLogoutUser
		id, err := s.mapUser(ctx, cmd.User, in.Name())
		if err != nil {
			return nil, err
		}
		p.User = id
		if lister, ok := in.(vendors.UserSessionLister); ok {
			l, err := lister.ListUserSessions(ctx, vendors.UserQuery{User: id})
			if err != nil {
				return nil, fmt.Errorf("read %s's sessions on %s: %w", id, in.Name(), err)
			}
			for _, sess := range l.Sessions {
				if sess.Active() {
					p.Sessions = append(p.Sessions, sess)
				}
			}
		}
	}
	p.Command = fixed
	return p, nil
}

func (s *Service) mapUser(ctx context.Context, u UserRef, instance string) (vendors.Identity, error) {
	if u.Form == Mention {
		email, err := s.resolveMention(ctx, u.ChatID)
		if err != nil {
			return vendors.Identity{}, err
		}
		u.Email = email
	}
	return s.opts(instance).Identity.MapUser(u, instance)
}

// instancesHolding asks each instance that can read a session by id
// whether it has this one.
func (s *Service) instancesHolding(ctx context.Context, instances []vendors.Instance, id string) []vendors.Instance {
	var getters []vendors.Instance
	for _, in := range instances {
		if _, ok := in.(vendors.SessionGetter); ok {
			getters = append(getters, in)
		}
	}
	groups := s.fanOut(ctx, getters, func(ctx context.Context, in vendors.Instance, g *Group) {
		if _, err := in.(vendors.SessionGetter).GetSession(ctx, id); err == nil {
			g.Note = "found"
		}
	})
	var out []vendors.Instance
	for i, g := range groups {
		if g.Note == "found" {
			out = append(out, getters[i])
		}
	}
	return out
}

// readSession reads one session as it is now: by id where the vendor can,
// else among the person's sessions.
func (s *Service) readSession(ctx context.Context, in vendors.Instance, id string, user *vendors.Identity) (vendors.Session, error) {
	if g, ok := in.(vendors.SessionGetter); ok {
		sess, err := g.GetSession(ctx, id)
		if err != nil {
			return vendors.Session{}, fmt.Errorf("read session %s on %s: %w", id, in.Name(), err)
		}
		return sess, nil
	}
	lister, ok := in.(vendors.UserSessionLister)
	if !ok || user == nil {
		return vendors.Session{}, parseErr("", "%s finds sessions by person: add `user <person>` to the command, or use the Kill button in `list <person> on %s`.", in.Name(), in.Name())
	}
	l, err := lister.ListUserSessions(ctx, vendors.UserQuery{User: *user})
	if err != nil {
		return vendors.Session{}, fmt.Errorf("read %s's sessions on %s: %w", user, in.Name(), err)
	}
	for _, sess := range l.Sessions {
		if sess.ID == id && sess.Active() {
			return sess, nil
		}
	}
	return vendors.Session{}, fmt.Errorf("%s has no open session %s on %s: %w", user, id, in.Name(), vendors.ErrNotFound)
}

// Submit turns a confirmed kill or logout into a stored request and posts it
// for approval. It re-checks everything: the confirmation may be old and may
// arrive on another replica.
func (s *Service) Submit(ctx context.Context, caller Caller, text string) Reply {
	return s.SubmitProposal(ctx, caller, text, "")
}

// SubmitProposal is Submit for a proposal shown with key: however often it
// is confirmed (a double click, a redelivered submission, two replicas), it
// makes one request, and a repeat is answered with that request.
func (s *Service) SubmitProposal(ctx context.Context, caller Caller, text, key string) Reply {
	cmd, err := Parse(text, s.clock())
	if err != nil {
		return s.withUsage(problemReply(cmd, err))
	}
	return s.SubmitCommand(ctx, caller, cmd, key)
}

// SubmitCommand is SubmitProposal for a command that arrives structured (a
// button's value): it runs the same checks as typed text first.
func (s *Service) SubmitCommand(ctx context.Context, caller Caller, cmd Command, key string) Reply {
	if err := Check(cmd); err != nil {
		return problemReply(cmd, err)
	}
	if !cmd.Verb.Destructive() {
		return problemReply(cmd, fmt.Errorf("only kill and logout are submitted for approval"))
	}
	if s.approvals == nil {
		return problemReply(cmd, errNoApprovals)
	}
	if strings.TrimSpace(cmd.Reason) == "" {
		return problemReply(cmd, parseErr(cmd.String()+" reason <why>", "Say why: a reason is required and goes on the record."))
	}
	if key != "" {
		// A key is the proposer's: someone else who sees the button (a
		// reply in the channel) and clicks it first makes their own
		// request, and cannot take or block the proposer's.
		key = caller.ChatID + ":" + key
		if existing, err := s.approvals.Store.RequestByProposal(ctx, key); err == nil {
			return s.alreadyRequested(ctx, caller, cmd, existing)
		}
	}
	p, err := s.buildProposal(ctx, caller, cmd)
	if err != nil {
		return problemReply(cmd, err)
	}
	if p.Action == store.ActionEndSession && len(p.Sessions) == 0 {
		return problemReply(cmd, fmt.Errorf("session %s is already gone", cmd.SessionID))
	}
	now := s.clock()
	policy := s.access.PolicyFor(p.Instance)
	req := store.Request{
		ID: store.NewID(), Action: p.Action, Vendor: string(p.Vendor), Instance: p.Instance,
		TargetDirectory: p.User.Directory, TargetUser: p.User.ID,
		Reason: cmd.Reason, Requester: caller.ChatID, Delivery: caller.ReplyTo,
		ApprovalsNeeded: policy.ApprovalsNeeded, AllowSelfApproval: policy.AllowSelfApproval,
		State: store.StatePending, CreatedAt: now, ExpiresAt: now.Add(policy.TTL), ProposalKey: key,
	}
	if p.Action == store.ActionEndSession {
		sess := p.Sessions[0]
		req.SessionID, req.Node, req.SessionStarted = sess.ID, sess.Node, sess.Started
	}
	if policy.NoApproval {
		req.State = store.StateApproved
		req.DecidedAt = now
	}
	// The record comes first: a request the audit log cannot show is not
	// made.
	if err := s.recordFirst(ctx, commandEvent(caller, cmd, "request", req, string(req.State), req.Reason), "request_not_made"); err != nil {
		return problemReply(cmd, errNoAudit(err))
	}
	if err := s.approvals.Store.CreateRequest(ctx, req); err != nil && !s.storedAnyway(ctx, req.ID, err) {
		// The record above names a request that does not exist: say so.
		wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), writeTimeout)
		s.auditCommand(wctx, caller, cmd, "request_not_made", req, err.Error(), "")
		cancel()
		if errors.Is(err, store.ErrDuplicate) {
			if existing, gerr := s.approvals.Store.RequestByProposal(ctx, key); gerr == nil {
				return s.alreadyRequested(ctx, caller, cmd, existing)
			}
		}
		return problemReply(cmd, fmt.Errorf("could not store the request, so nothing was asked or ended: %w", err))
	}
	if policy.NoApproval {
		s.logger.Warn("ending without approval, as configured", "instance", req.Instance, "request", req.ID, "requester", caller.ChatID)
		req = s.execute(ctx, req)
		return Reply{Command: cmd, Title: "Request " + req.ID + ": " + string(req.State), Request: &RequestView{Request: req}}
	}
	if s.approvals.Notifier != nil {
		posted, err := s.postApproval(ctx, req)
		if err != nil {
			s.logger.Error("posting approval request; the sweep will post it again", "request", req.ID, "error", err)
			return Reply{Command: cmd, Title: "Request " + req.ID + " stored", Request: &RequestView{Request: req},
				Notes: []string{fmt.Sprintf("The approval message could not be posted yet (%v); I'll keep trying. Approvers can also type `approve %s`.", err, req.ID)}}
		}
		req = posted
	}
	return Reply{Command: cmd, Title: "Request " + req.ID + " sent for approval", Request: &RequestView{Request: req}}
}

// storedAnyway reports whether a request whose insert failed with err was
// stored all the same: the commit can land with its answer lost, and the
// sweep would then post it for approval.
func (s *Service) storedAnyway(ctx context.Context, id string, err error) bool {
	if errors.Is(err, store.ErrDuplicate) || errors.Is(err, store.ErrInvalid) {
		return false
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), writeTimeout)
	defer cancel()
	_, _, gerr := s.approvals.Store.GetRequest(rctx, id)
	return gerr == nil
}

// alreadyRequested answers a repeated confirmation with the request the
// first one made.
func (s *Service) alreadyRequested(ctx context.Context, caller Caller, cmd Command, req store.Request) Reply {
	if req.Requester != caller.ChatID {
		// A key is shown only to the person who proposed; someone else
		// holding it learns nothing from it.
		return problemReply(cmd, fmt.Errorf("this confirmation belongs to another person's proposal: type the command yourself"))
	}
	_, votes, _ := s.approvals.Store.GetRequest(ctx, req.ID)
	return Reply{Command: cmd, Title: "Request " + req.ID + " sent for approval", Request: &RequestView{Request: req, Votes: votes},
		Notes: []string{"This was already requested; confirming again made no second request."}}
}

// postApproval posts the approval message, unless another click or
// replica is posting it (a claim that lasts RetryAfter, which also bounds
// the post, so the sweep's retry never overlaps a slow first try).
func (s *Service) postApproval(ctx context.Context, req store.Request) (store.Request, error) {
	retry := s.retryAfter()
	first, err := s.approvals.Store.ClaimOnce(ctx, "post:"+req.ID, s.clock(), retry)
	if err != nil {
		return req, fmt.Errorf("claim the approval message: %w", err)
	}
	if !first {
		return req, fmt.Errorf("another replica is posting it")
	}
	pctx, cancel := context.WithTimeout(ctx, retry*4/5)
	defer cancel()
	delivery, err := s.approvals.Notifier.PostApproval(pctx, req, s.access.PolicyFor(req.Instance).Approvers)
	if err != nil {
		return req, err
	}
	req.Delivery, req.ApprovalShown = delivery, store.StatePending
	if err := s.record(ctx, "recording the approval message", func(ctx context.Context) error {
		return s.approvals.Store.SetApprovalMessage(ctx, req.ID, delivery)
	}); err != nil {
		// The record may hold a reply URL: it stays out of the log.
		s.logger.Error("the approval message was posted but its place not recorded; later updates cannot reach it", "request", req.ID, "error", err)
	}
	return req, nil
}

func (s *Service) retryAfter() time.Duration {
	if s.approvals.RetryAfter > 0 {
		return s.approvals.RetryAfter
	}
	return DefaultRetryAfter
}

// record runs a store write that must happen whatever became of the
// click: with its own deadline, detached from the caller's, and retried
// with backoff. A conflict or invalid input is an answer, not a fault.
func (s *Service) record(ctx context.Context, doing string, write func(ctx context.Context) error) error {
	ctx = context.WithoutCancel(ctx)
	wait := 100 * time.Millisecond
	var err error
	for attempt := 1; ; attempt++ {
		wctx, cancel := context.WithTimeout(ctx, writeTimeout)
		err = write(wctx)
		cancel()
		if err == nil || errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrInvalid) || errors.Is(err, store.ErrNotFound) || attempt == 4 {
			return err
		}
		s.logger.Warn(doing+" failed; retrying", "attempt", attempt, "error", err)
		time.Sleep(wait)
		wait *= 2
	}
}

func requestTarget(r store.Request) string {
	if r.SessionID != "" {
		return r.SessionID
	}
	return vendors.Identity{Directory: r.TargetDirectory, ID: r.TargetUser}.String()
}

// decide records an approve or deny vote, and ends the session when the
// approvals are reached. Every check reads the store, not memory, so a
// click on any replica gets the same answer.
func (s *Service) decide(ctx context.Context, caller Caller, cmd Command) Reply {
	if s.approvals == nil {
		return problemReply(cmd, errNoApprovals)
	}
	req, _, err := s.approvals.Store.GetRequest(ctx, cmd.RequestID)
	if errors.Is(err, store.ErrNotFound) {
		return problemReply(cmd, parseErr("pending", "There is no request %s. `pending` lists open requests.", cmd.RequestID))
	}
	if err != nil {
		return problemReply(cmd, fmt.Errorf("could not read request %s: %w", cmd.RequestID, err))
	}
	ok, gerr := s.mayVote(ctx, caller, req.Instance)
	if !ok {
		msg := fmt.Sprintf("You are not an approver for %s, so your vote was not counted.", req.Instance)
		if gerr != nil {
			msg += " (A group could not be checked: " + gerr.Error() + ")"
		}
		s.auditCommand(ctx, caller, cmd, string(cmd.Verb)+"_vote_refused", req, "not an approver", "")
		return Reply{Command: cmd, Title: "Not counted", Problem: &Problem{Message: msg}}
	}
	vote := store.Vote{RequestID: req.ID, Voter: caller.ChatID, Approve: cmd.Verb == Approve, Reason: cmd.Reason, At: s.clock()}
	action := "approve_vote"
	if !vote.Approve {
		action = "deny_vote"
	}
	// The record comes first: a vote the audit log cannot show is not cast.
	if err := s.recordFirst(ctx, commandEvent(caller, cmd, action, req, string(req.State), cmd.Reason), action+"_refused"); err != nil {
		return Reply{Command: cmd, Title: "Not counted", Problem: &Problem{Message: errNoAudit(err).Error()}}
	}
	res, err := s.approvals.Store.Vote(ctx, vote, s.clock())
	if err != nil {
		s.auditCommand(ctx, caller, cmd, action+"_refused", req, err.Error(), "")
		return Reply{Command: cmd, Title: "Not counted", Problem: &Problem{Message: voteRefusal(req, err)}}
	}
	if !res.Recorded {
		return Reply{Command: cmd, Title: "Already counted", Request: &RequestView{Request: res.Request, Votes: res.Votes},
			Notes: []string{"You had already voted on this request; a person's vote counts once."}}
	}
	req = res.Request
	s.updateApproval(ctx, req, res.Votes)
	if res.Decided {
		switch req.State {
		case store.StateApproved:
			req = s.execute(ctx, req)
		case store.StateDenied:
			s.tell(ctx, req, res.Votes)
		}
	}
	_, votes, _ := s.approvals.Store.GetRequest(ctx, req.ID)
	reply := Reply{Command: cmd, Title: "Request " + req.ID + ": " + string(req.State), Request: &RequestView{Request: req, Votes: votes}}
	if req.State == store.StateApproved {
		reply.Notes = append(reply.Notes, "Approved, but it could not be started just now; it will be carried out (or reported failed) within a minute.")
	}
	return reply
}

func voteRefusal(req store.Request, err error) string {
	switch {
	case errors.Is(err, store.ErrSelfApproval):
		return fmt.Sprintf("You asked for request %s, so someone else must approve it.", req.ID)
	case errors.Is(err, store.ErrExpired):
		return fmt.Sprintf("Request %s expired before it was approved; nothing was ended. Ask again if it is still needed.", req.ID)
	case errors.Is(err, store.ErrNotPending):
		var np *store.NotPendingError
		state := "decided"
		if errors.As(err, &np) {
			state = string(np.State)
		}
		return fmt.Sprintf("Request %s is already %s; your vote changes nothing.", req.ID, state)
	}
	return fmt.Sprintf("Your vote on %s could not be recorded: %v", req.ID, err)
}

// execute ends what an approved request names, exactly once across
// replicas: only the caller that wins the claim acts. A claim that fails
// for another reason than a lost race leaves the request approved for the
// sweep to take up.
func (s *Service) execute(ctx context.Context, req store.Request) store.Request {
	in, ok := s.registry.Get(req.Instance)
	timeout := s.opts(req.Instance).Timeout
	// The execution is bounded by timeout; past the lease it was interrupted.
	lease := 2*timeout + 5*time.Second
	executor := s.approvals.ReplicaID + "/" + store.NewID()
	claimed, err := s.claim(ctx, req.ID, executor, lease)
	if err != nil {
		if errors.Is(err, store.ErrConflict) {
			// Another click or replica is executing it, or it was decided
			// otherwise: nothing to do here.
			s.logger.Info("execution not claimed", "request", req.ID, "error", err)
		} else {
			s.logger.Error("could not claim an approved request; the sweep will retry", "request", req.ID, "error", err)
		}
		if cur, _, gerr := s.approvals.Store.GetRequest(ctx, req.ID); gerr == nil {
			return cur
		}
		return req
	}
	req = claimed
	// Claimed, it is seen through whatever became of the caller's
	// deadline: a lapsed click must not fail it for want of a record.
	wctx, cancelWrite := context.WithTimeout(context.WithoutCancel(ctx), writeTimeout)
	defer cancelWrite()
	detail := ""
	if _, votes, err := s.approvals.Store.GetRequest(wctx, req.ID); err != nil {
		detail = "approved (the votes could not be read: " + err.Error() + ")"
	} else {
		detail = "approved by " + approvers(votes)
	}
	state, outcome := store.StateFailed, ""
	// The record comes first: nothing is ended that the audit log cannot
	// show, with who approved it.
	if err := s.auditOwn(wctx, "execute", req, string(store.StateExecuting), detail); err != nil {
		outcome = "nothing was ended: the audit log could not be written (" + err.Error() + ")"
	} else if !ok {
		outcome = fmt.Sprintf("instance %s is no longer configured; nothing was ended", req.Instance)
	} else if s.clock().Add(timeout).After(req.ExecutionLeaseUntil) {
		// Past its lease, another replica may already report it
		// interrupted: a delete now would end a session behind that.
		outcome = "nothing was ended: the execution could not start within its allotted time (the database or the audit log answered too slowly); ask again if it is still needed"
	} else {
		ectx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
		state, outcome = s.end(ectx, in, req)
		cancel()
	}
	return s.finish(ctx, req, executor, state, outcome)
}

// claim takes an approved request for execution, retrying faults. A
// claim that committed but whose answer was lost is recognised by its
// executor on the retry.
func (s *Service) claim(ctx context.Context, id, executor string, lease time.Duration) (store.Request, error) {
	var claimed store.Request
	err := s.record(ctx, "claiming request "+id, func(ctx context.Context) error {
		var err error
		claimed, err = s.approvals.Store.ClaimExecution(ctx, id, executor, s.clock(), lease)
		if errors.Is(err, store.ErrConflict) {
			if cur, _, gerr := s.approvals.Store.GetRequest(ctx, id); gerr == nil && cur.State == store.StateExecuting && cur.Executor == executor {
				claimed, err = cur, nil
			}
		}
		return err
	})
	return claimed, err
}

// finish records an execution's outcome with its own deadline (the
// click's may have passed while the vendor worked), then updates the
// approval message and tells the requester.
func (s *Service) finish(ctx context.Context, req store.Request, executor string, state store.State, outcome string) store.Request {
	now := s.clock()
	if err := s.record(ctx, "recording an outcome", func(ctx context.Context) error {
		return s.approvals.Store.FinishExecution(ctx, req.ID, executor, state, outcome, now)
	}); err != nil {
		s.logger.Error("recording outcome", "request", req.ID, "state", state, "outcome", outcome, "error", err)
	}
	ctx = context.WithoutCancel(ctx)
	wctx, cancel := context.WithTimeout(ctx, writeTimeout)
	defer cancel()
	s.auditOwn(wctx, "outcome", req, string(state), outcome)
	cur, votes, err := s.approvals.Store.GetRequest(wctx, req.ID)
	if err != nil {
		cur = req
		cur.State, cur.Outcome, cur.FinishedAt = state, outcome, now
	}
	// Detached, telling still ends: the front end's retries honour a Retry-After
	// of any length, and the sweep re-applies an update that did not land.
	nctx, cancelNotify := context.WithTimeout(ctx, notifyTimeout)
	defer cancelNotify()
	s.report(nctx, cur, votes)
	return cur
}

// report updates the approval message and tells the requester.
func (s *Service) report(ctx context.Context, req store.Request, votes []store.Vote) {
	s.updateApproval(ctx, req, votes)
	s.tell(ctx, req, votes)
}

func approvers(votes []store.Vote) string {
	var ids []string
	for _, v := range votes {
		if v.Approve {
			ids = append(ids, v.Voter)
		}
	}
	if len(ids) == 0 {
		return "nobody (no approval needed, as configured)"
	}
	return strings.Join(ids, ", ")
}

// end re-reads what the request names and ends it if it is still there and
// still the same person's.
func (s *Service) end(ctx context.Context, in vendors.Instance, req store.Request) (store.State, string) {
	ctx = vendors.ForChange(ctx) // approved: not turned away as busy
	target := vendors.Identity{Directory: req.TargetDirectory, ID: req.TargetUser}
	switch req.Action {
	case store.ActionEndSession:
		ender, ok := in.(vendors.SessionEnder)
		if !ok {
			return store.StateFailed, in.Name() + " cannot end sessions"
		}
		sess, err := s.readSession(ctx, in, req.SessionID, &target)
		if errors.Is(err, vendors.ErrNotFound) {
			return store.StateDone, "already gone: the session had ended before approval; nothing was deleted"
		}
		if err != nil {
			return store.StateFailed, "could not re-read the session, so nothing was deleted: " + err.Error()
		}
		if !sess.User.Equal(target) {
			return store.StateFailed, fmt.Sprintf("the session now belongs to %s, not %s; nothing was deleted", sess.User, target)
		}
		if err := ender.EndSession(ctx, sess); err != nil {
			if errors.Is(err, vendors.ErrNotFound) {
				return store.StateDone, "already gone when the delete was sent; nothing was deleted"
			}
			if errors.Is(err, vendors.ErrBusy) { // waited for a connection, so never sent
				return store.StateFailed, "nothing was deleted: the delete was not sent, as no connection to the instance came free in time: " + err.Error()
			}
			if timedOut(ctx, err) {
				return store.StateUnknown, fmt.Sprintf("the vendor did not answer the delete in time (%v): the session may have ended: check with `show %s`; the next sweep asks the vendor again", err, sess.ID)
			}
			return store.StateFailed, "the vendor refused the delete: " + err.Error()
		}
		where := ""
		if sess.Node != "" {
			where = " on " + sess.Node
		}
		return store.StateDone, fmt.Sprintf("session %s of %s ended%s", sess.ID, target, where)
	case store.ActionLogoutUser:
		lo, ok := in.(vendors.UserLogouter)
		if !ok {
			return store.StateFailed, in.Name() + " cannot log people out"
		}
		l, err := lo.LogoutUser(ctx, target)
		if err != nil {
			if errors.Is(err, vendors.ErrBusy) { // waited for a connection, so never sent
				return store.StateFailed, "nothing was ended: the logout was not sent, as no connection to the instance came free in time: " + err.Error()
			}
			if timedOut(ctx, err) {
				return store.StateUnknown, fmt.Sprintf("the vendor did not answer the logout in time (%v): sessions may have ended: check with `list %s`; the next sweep asks the vendor again", err, target)
			}
			return store.StateFailed, "the vendor refused the logout: " + err.Error()
		}
		msg := fmt.Sprintf("%s logged out: %s ended", target, Plural(len(l.Sessions), "session"))
		if RevokesSignIns(in.Type()) {
			msg = fmt.Sprintf("%s's sign-in sessions revoked: they must sign in again, within minutes; calls in progress were not ended", target)
		}
		for _, w := range l.Warnings {
			msg += "; warning: " + w.Error()
		}
		return store.StateDone, msg
	}
	return store.StateFailed, "unknown action " + string(req.Action)
}

// timedOut tells a vendor call that ran out of time (the delete may have
// reached the vendor) from one the vendor answered.
func timedOut(ctx context.Context, err error) bool {
	return errors.Is(err, vendors.ErrTimeout) || errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil
}

// updateApproval rewrites the approval message and records what it now
// shows; an update the messenger refused is applied again by the sweep.
func (s *Service) updateApproval(ctx context.Context, req store.Request, votes []store.Vote) {
	if s.approvals.Notifier == nil || req.ApprovalShown == "" {
		return
	}
	if err := s.approvals.Notifier.UpdateApproval(ctx, req, votes); err != nil {
		if !errors.Is(err, ErrUndeliverable) {
			s.logger.Warn("updating approval message; the sweep will try again", "request", req.ID, "error", err)
			return
		}
		s.logger.Error("the approval message cannot be updated; it no longer shows the request's state", "request", req.ID, "state", req.State, "error", err)
	}
	if err := s.approvals.Store.MarkApprovalShown(context.WithoutCancel(ctx), req.ID, req.State); err != nil {
		s.logger.Warn("recording the approval message's state", "request", req.ID, "error", err)
	}
}

func (s *Service) tell(ctx context.Context, req store.Request, votes []store.Vote) {
	if s.approvals.Notifier == nil {
		return
	}
	if err := s.approvals.Notifier.TellRequester(ctx, req, votes); err != nil {
		s.logger.Warn("telling the requester", "request", req.ID, "error", err)
	}
}

// Sweep finishes what clicks and crashes left undone: it expires requests
// nobody decided in time, reminds approvers of requests half-way to
// expiry without a vote, reports executions a crash interrupted, carries
// out approvals whose execution never started, settles outcomes a vendor
// timeout left unknown, posts or updates approval messages the messenger refused,
// runs the reports whose time has come, and prunes what is past its
// retention. Run it at start and then periodically, on every replica,
// each time with a deadline: the store makes each change once. One step's
// failure does not stop the others.
func (s *Service) Sweep(ctx context.Context) error {
	if s.approvals == nil {
		return nil
	}
	var errs []error
	for _, step := range []func(context.Context) error{s.sweepExpired, s.sweepReminders, s.sweepInterrupted, s.sweepApproved, s.sweepUnknown, s.sweepMessages, s.sweepReports, s.sweepRetention} {
		if err := step(ctx); err != nil {
			errs = append(errs, err)
		}
		if ctx.Err() != nil {
			break
		}
	}
	return errors.Join(errs...)
}

func (s *Service) sweepExpired(ctx context.Context) error {
	expired, err := s.approvals.Store.ExpirePending(ctx, s.clock())
	if err != nil {
		return fmt.Errorf("expire pending requests: %w", err)
	}
	for _, req := range expired {
		s.auditOwn(ctx, "expire", req, string(store.StateExpired), "")
		_, votes, _ := s.approvals.Store.GetRequest(ctx, req.ID)
		s.report(ctx, req, votes)
	}
	return nil
}

func (s *Service) sweepInterrupted(ctx context.Context) error {
	interrupted, err := s.approvals.Store.RecoverInterrupted(ctx, s.clock())
	if err != nil {
		return fmt.Errorf("recover interrupted executions: %w", err)
	}
	for _, req := range interrupted {
		s.logger.Error("an execution was interrupted", "request", req.ID, "instance", req.Instance, "target", requestTarget(req), "executor", req.Executor)
		s.auditOwn(ctx, "interrupted", req, string(store.StateInterrupted), req.Outcome)
		_, votes, _ := s.approvals.Store.GetRequest(ctx, req.ID)
		s.report(ctx, req, votes)
	}
	return nil
}

// sweepApproved takes up requests approved more than RetryAfter ago whose
// execution never started (the claim failed, or the process died between
// vote and claim): it runs them, with the same re-read of the session, or,
// once they are older than their approval TTL, fails them without acting.
func (s *Service) sweepApproved(ctx context.Context) error {
	approved, err := s.approvals.Store.ListRequests(ctx, store.StateApproved)
	if err != nil {
		return fmt.Errorf("list approved requests: %w", err)
	}
	now := s.clock()
	for _, req := range approved {
		if ctx.Err() != nil {
			break // the rest wait for the next sweep
		}
		age := now.Sub(req.DecidedAt)
		if age < s.retryAfter() {
			continue // its click may still be claiming it
		}
		if age <= s.access.PolicyFor(req.Instance).TTL {
			s.logger.Warn("carrying out an approval whose execution never started", "request", req.ID, "approved", req.DecidedAt)
			s.execute(ctx, req)
			continue
		}
		executor := s.approvals.ReplicaID + "/" + store.NewID()
		claimed, err := s.claim(ctx, req.ID, executor, time.Minute)
		if err != nil {
			continue // another replica took it, or the store is down: next sweep
		}
		s.logger.Error("an approval was never carried out and is too old to act on", "request", req.ID, "approved", req.DecidedAt)
		s.finish(ctx, claimed, executor, store.StateFailed, fmt.Sprintf(
			"nothing was ended: approved at %s but never carried out (the bot stopped or its database failed), and that is too long ago to act on now; ask again if it is still needed",
			req.DecidedAt.UTC().Format("2006-01-02 15:04 MST")))
	}
	return nil
}

// sweepUnknown asks the vendor again about executions that timed out, and
// records done or failed by what it finds. A vendor that still does not
// answer leaves them unknown for the next sweep.
func (s *Service) sweepUnknown(ctx context.Context) error {
	unknown, err := s.approvals.Store.ListRequests(ctx, store.StateUnknown)
	if err != nil {
		return fmt.Errorf("list unknown outcomes: %w", err)
	}
	now := s.clock()
	for _, req := range unknown {
		if now.Sub(req.FinishedAt) < s.retryAfter() {
			continue // the timed-out delete may still be under way at the vendor
		}
		in, ok := s.registry.Get(req.Instance)
		if !ok {
			continue
		}
		rctx, cancel := context.WithTimeout(ctx, s.opts(req.Instance).Timeout)
		state, outcome, settled := s.reread(rctx, in, req)
		cancel()
		if !settled {
			s.logger.Warn("an unknown outcome is still unknown", "request", req.ID, "why", outcome)
			continue
		}
		if err := s.approvals.Store.SettleUnknown(ctx, req.ID, state, outcome, s.clock()); err != nil {
			if !errors.Is(err, store.ErrConflict) {
				s.logger.Error("settling an unknown outcome", "request", req.ID, "error", err)
			}
			continue
		}
		s.auditOwn(ctx, "settled", req, string(state), outcome)
		cur, votes, err := s.approvals.Store.GetRequest(ctx, req.ID)
		if err != nil {
			cur = req
			cur.State, cur.Outcome = state, outcome
		}
		s.report(ctx, cur, votes)
	}
	return nil
}

// reread reads again what a timed-out execution was ending.
func (s *Service) reread(ctx context.Context, in vendors.Instance, req store.Request) (store.State, string, bool) {
	target := vendors.Identity{Directory: req.TargetDirectory, ID: req.TargetUser}
	switch req.Action {
	case store.ActionEndSession:
		sess, err := s.readSession(ctx, in, req.SessionID, &target)
		switch {
		case errors.Is(err, vendors.ErrNotFound):
			return store.StateDone, fmt.Sprintf("session %s of %s ended: the delete timed out, and the session was gone when read again", req.SessionID, target), true
		case err != nil:
			return "", err.Error(), false
		case !sess.User.Equal(target):
			return store.StateFailed, fmt.Sprintf("the delete timed out, and session %s now belongs to %s: check the vendor", req.SessionID, sess.User), true
		}
		return store.StateFailed, fmt.Sprintf("the delete timed out and session %s is still open: it was not ended; ask again if it is still needed", req.SessionID), true
	case store.ActionLogoutUser:
		lister, ok := in.(vendors.UserSessionLister)
		if !ok {
			return "", in.Name() + " cannot list a person's sessions", false
		}
		l, err := lister.ListUserSessions(ctx, vendors.UserQuery{User: target})
		if err != nil {
			return "", err.Error(), false
		}
		open := 0
		for _, sess := range l.Sessions {
			if sess.Active() {
				open++
			}
		}
		if open == 0 {
			return store.StateDone, fmt.Sprintf("%s logged out: the logout timed out, and no session was open when read again", target), true
		}
		return store.StateFailed, fmt.Sprintf("the logout timed out and %s still has %d open sessions; ask again if it is still needed", target, open), true
	}
	return "", "unknown action " + string(req.Action), false
}

// sweepMessages posts approval messages that were never posted and
// re-applies updates the messenger refused, so each message ends up showing the
// stored state.
func (s *Service) sweepMessages(ctx context.Context) error {
	if s.approvals.Notifier == nil {
		return nil
	}
	stale, err := s.approvals.Store.StaleApprovalMessages(ctx)
	if err != nil {
		return fmt.Errorf("list stale approval messages: %w", err)
	}
	now := s.clock()
	for _, req := range stale {
		if req.ApprovalShown == "" {
			if now.Sub(req.CreatedAt) < s.retryAfter() || s.access.PolicyFor(req.Instance).NoApproval {
				continue
			}
			if _, err := s.postApproval(ctx, req); err != nil {
				s.logger.Warn("posting an approval message again", "request", req.ID, "error", err)
			}
			continue
		}
		// Show the request as it is now: it may have moved on since it was
		// listed. One being executed is shown by its executor when it ends.
		cur, votes, err := s.approvals.Store.GetRequest(ctx, req.ID)
		if err != nil || cur.ApprovalShown == cur.State || cur.State == store.StateExecuting {
			continue
		}
		s.updateApproval(ctx, cur, votes)
	}
	return nil
}

func (s *Service) pending(ctx context.Context, caller Caller, cmd Command) Reply {
	if s.approvals == nil {
		return problemReply(cmd, errNoApprovals)
	}
	// Pending requests name targets and reasons: the same right as list.
	if !s.mayList(ctx, caller) {
		return notAllowedToList(cmd)
	}
	reqs, err := s.approvals.Store.ListRequests(ctx, store.StatePending)
	if err != nil {
		return problemReply(cmd, fmt.Errorf("could not read pending requests: %w", err))
	}
	reply := Reply{Command: cmd, Title: Plural(len(reqs), "pending request")}
	for _, r := range reqs {
		_, votes, _ := s.approvals.Store.GetRequest(ctx, r.ID)
		reply.Requests = append(reply.Requests, RequestView{Request: r, Votes: votes})
	}
	return reply
}

func (s *Service) auditLog(ctx context.Context, caller Caller, cmd Command) Reply {
	if s.approvals == nil {
		return problemReply(cmd, errNoApprovals)
	}
	if !s.isAnyApprover(ctx, caller) {
		return Reply{Command: cmd, Title: "Not allowed", Problem: &Problem{Message: "The audit log is for approvers."}}
	}
	f := store.EventFilter{Limit: 50, Since: s.clock().Add(-30 * 24 * time.Hour)}
	if t := cmd.AuditTarget; t != "" {
		if u, err := ParseUser(t); err == nil && u.Form == Mention {
			f.Actor = u.ChatID
		} else if err == nil && u.Form != Bare {
			f.Target = u.String()
		} else if len(t) == 8 && strings.ToUpper(t) == t {
			f.RequestID = t
		} else {
			f.Target = t
		}
	}
	events, err := s.approvals.Store.Events(ctx, f)
	if err != nil {
		return problemReply(cmd, fmt.Errorf("could not read the audit log: %w", err))
	}
	return Reply{Command: cmd, Title: "Audit log (" + Plural(len(events), "event") + ")", Events: events}
}
