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

// Notifier carries approval news to people. The Slack edge implements it
// with messages and buttons; the console prints.
type Notifier interface {
	// PostApproval posts a new request where its approvers will see it and
	// returns the message's location.
	PostApproval(ctx context.Context, req store.Request, approvers []string) (channel, ts string, err error)
	// UpdateApproval rewrites the approval message after a vote or outcome.
	UpdateApproval(ctx context.Context, req store.Request, votes []store.Vote) error
	// TellRequester tells the person who asked what became of their
	// request (its State and Outcome say it).
	TellRequester(ctx context.Context, req store.Request, votes []store.Vote) error
	// MirrorAudit copies an audit event to the audit channel.
	MirrorAudit(ctx context.Context, channel string, e store.Event) error
}

// Approvals is what ending sessions needs: the durable store and a way to
// reach people. Who may do what is the service's Access.
type Approvals struct {
	Store    store.Store
	Notifier Notifier
	Groups   Groups
	// ReplicaID names this process in execution claims.
	ReplicaID string
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

func (s *Service) audit(ctx context.Context, e store.Event) {
	if s.approvals == nil {
		return
	}
	if e.At.IsZero() {
		e.At = s.clock()
	}
	if _, err := s.approvals.Store.AppendEvent(ctx, e); err != nil {
		s.logger.Error("audit append failed", "action", e.Action, "error", err)
		return
	}
	if ch := s.access.AuditChannel; ch != "" && s.approvals.Notifier != nil {
		if err := s.approvals.Notifier.MirrorAudit(ctx, ch, e); err != nil {
			s.logger.Warn("audit mirror failed", "error", err)
		}
	}
}

// canRequest reports whether the caller may request kills on the instance.
func (s *Service) canRequest(ctx context.Context, caller Caller, instance string) (bool, error) {
	if s.approvals == nil {
		return false, nil
	}
	p := s.access.PolicyFor(instance)
	return s.members.in(ctx, caller.SlackID, p.Requesters)
}

// isApprover reports whether the caller may approve on the instance.
func (s *Service) isApprover(ctx context.Context, caller Caller, instance string) (bool, error) {
	p := s.access.PolicyFor(instance)
	return s.members.in(ctx, caller.SlackID, p.Approvers)
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
		email, err := s.resolveMention(ctx, u.SlackID)
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
func (s *Service) Submit(ctx context.Context, caller Caller, text, responseURL string) Reply {
	cmd, err := Parse(text, s.clock())
	if err != nil {
		return s.withUsage(problemReply(cmd, err))
	}
	return s.SubmitCommand(ctx, caller, cmd, responseURL)
}

// SubmitCommand is Submit for a command that arrives structured (a
// button's value): it runs the same checks as typed text first.
func (s *Service) SubmitCommand(ctx context.Context, caller Caller, cmd Command, responseURL string) Reply {
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
		Reason: cmd.Reason, Requester: caller.SlackID, RequesterChannel: caller.Channel, ResponseURL: responseURL,
		ApprovalsNeeded: policy.ApprovalsNeeded, AllowSelfApproval: policy.AllowSelfApproval,
		State: store.StatePending, CreatedAt: now, ExpiresAt: now.Add(policy.TTL),
	}
	if p.Action == store.ActionEndSession {
		sess := p.Sessions[0]
		req.SessionID, req.Node, req.SessionStarted = sess.ID, sess.Node, sess.Started
	}
	if policy.NoApproval {
		req.State = store.StateApproved
		req.DecidedAt = now
	}
	if err := s.approvals.Store.CreateRequest(ctx, req); err != nil {
		return problemReply(cmd, fmt.Errorf("could not store the request, so nothing was asked or ended: %w", err))
	}
	s.audit(ctx, store.Event{Actor: caller.SlackID, Channel: caller.Channel, Action: "request", Command: cmd.String(),
		Vendor: req.Vendor, Instance: req.Instance, Target: requestTarget(req), RequestID: req.ID, Result: string(req.State), Detail: req.Reason})
	if policy.NoApproval {
		s.logger.Warn("ending without approval, as configured", "instance", req.Instance, "request", req.ID, "requester", caller.SlackID)
		req = s.execute(ctx, req)
		return Reply{Command: cmd, Title: "Request " + req.ID + ": " + string(req.State), Request: &RequestView{Request: req}}
	}
	if s.approvals.Notifier != nil {
		channel, ts, err := s.approvals.Notifier.PostApproval(ctx, req, policy.Approvers)
		if err != nil {
			s.logger.Error("posting approval request", "request", req.ID, "error", err)
			return Reply{Command: cmd, Title: "Request " + req.ID + " stored", Request: &RequestView{Request: req},
				Notes: []string{fmt.Sprintf("The approval message could not be posted (%v). Approvers can still run `approve %s`.", err, req.ID)}}
		}
		if err := s.approvals.Store.SetApprovalMessage(ctx, req.ID, channel, ts); err != nil {
			s.logger.Error("recording approval message", "request", req.ID, "error", err)
		}
		req.ApprovalChannel, req.ApprovalTS = channel, ts
	}
	return Reply{Command: cmd, Title: "Request " + req.ID + " sent for approval", Request: &RequestView{Request: req}}
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
	ok, gerr := s.isApprover(ctx, caller, req.Instance)
	if !ok {
		msg := fmt.Sprintf("You are not an approver for %s, so your vote was not counted.", req.Instance)
		if gerr != nil {
			msg += " (A group could not be checked: " + gerr.Error() + ")"
		}
		s.audit(ctx, store.Event{Actor: caller.SlackID, Channel: caller.Channel, Action: string(cmd.Verb) + "_vote_refused", Command: cmd.String(),
			Vendor: req.Vendor, Instance: req.Instance, Target: requestTarget(req), RequestID: req.ID, Result: "not an approver"})
		return Reply{Command: cmd, Title: "Not counted", Problem: &Problem{Message: msg}}
	}
	vote := store.Vote{RequestID: req.ID, Voter: caller.SlackID, Approve: cmd.Verb == Approve, Reason: cmd.Reason, At: s.clock()}
	res, err := s.approvals.Store.Vote(ctx, vote, s.clock())
	action := "approve_vote"
	if !vote.Approve {
		action = "deny_vote"
	}
	if err != nil {
		s.audit(ctx, store.Event{Actor: caller.SlackID, Channel: caller.Channel, Action: action + "_refused", Command: cmd.String(),
			Vendor: req.Vendor, Instance: req.Instance, Target: requestTarget(req), RequestID: req.ID, Result: err.Error()})
		return Reply{Command: cmd, Title: "Not counted", Problem: &Problem{Message: voteRefusal(req, err)}}
	}
	s.audit(ctx, store.Event{Actor: caller.SlackID, Channel: caller.Channel, Action: action, Command: cmd.String(),
		Vendor: req.Vendor, Instance: req.Instance, Target: requestTarget(req), RequestID: req.ID, Result: string(res.Request.State), Detail: cmd.Reason})
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
	return Reply{Command: cmd, Title: "Request " + req.ID + ": " + string(req.State), Request: &RequestView{Request: req, Votes: votes}}
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
// replicas: only the caller that wins the claim acts.
func (s *Service) execute(ctx context.Context, req store.Request) store.Request {
	in, ok := s.registry.Get(req.Instance)
	timeout := s.opts(req.Instance).Timeout
	// The execution is bounded by timeout; past the lease it was interrupted.
	lease := 2*timeout + 5*time.Second
	claimed, err := s.approvals.Store.ClaimExecution(ctx, req.ID, s.approvals.ReplicaID, s.clock(), lease)
	if err != nil {
		// Another click or replica is executing it, or it was decided
		// otherwise: nothing to do here.
		s.logger.Info("execution not claimed", "request", req.ID, "error", err)
		cur, _, gerr := s.approvals.Store.GetRequest(ctx, req.ID)
		if gerr == nil {
			return cur
		}
		return req
	}
	req = claimed
	s.audit(ctx, store.Event{Actor: s.approvals.ReplicaID, Action: "execute", Vendor: req.Vendor, Instance: req.Instance,
		Target: requestTarget(req), RequestID: req.ID, Result: string(store.StateExecuting)})
	state, outcome := store.StateFailed, ""
	if !ok {
		outcome = fmt.Sprintf("instance %s is no longer configured; nothing was ended", req.Instance)
	} else {
		ectx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
		state, outcome = s.end(ectx, in, req)
		cancel()
	}
	now := s.clock()
	if err := s.approvals.Store.FinishExecution(ctx, req.ID, s.approvals.ReplicaID, state, outcome, now); err != nil {
		s.logger.Error("recording outcome", "request", req.ID, "state", state, "outcome", outcome, "error", err)
	}
	s.audit(ctx, store.Event{Actor: s.approvals.ReplicaID, Action: "outcome", Vendor: req.Vendor, Instance: req.Instance,
		Target: requestTarget(req), RequestID: req.ID, Result: string(state), Detail: outcome})
	cur, votes, err := s.approvals.Store.GetRequest(ctx, req.ID)
	if err != nil {
		cur = req
		cur.State, cur.Outcome, cur.FinishedAt = state, outcome, now
	}
	s.updateApproval(ctx, cur, votes)
	s.tell(ctx, cur, votes)
	return cur
}

// end re-reads what the request names and ends it if it is still there and
// still the same person's.
func (s *Service) end(ctx context.Context, in vendors.Instance, req store.Request) (store.State, string) {
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

func (s *Service) updateApproval(ctx context.Context, req store.Request, votes []store.Vote) {
	if s.approvals.Notifier == nil || req.ApprovalTS == "" {
		return
	}
	if err := s.approvals.Notifier.UpdateApproval(ctx, req, votes); err != nil {
		s.logger.Warn("updating approval message", "request", req.ID, "error", err)
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

// Sweep expires requests nobody decided in time and reports executions a
// crash interrupted. Run it at start and then periodically, on every replica:
// the store makes each change once.
func (s *Service) Sweep(ctx context.Context) error {
	if s.approvals == nil {
		return nil
	}
	now := s.clock()
	expired, err := s.approvals.Store.ExpirePending(ctx, now)
	if err != nil {
		return fmt.Errorf("expire pending requests: %w", err)
	}
	for _, req := range expired {
		s.audit(ctx, store.Event{Actor: s.approvals.ReplicaID, Action: "expire", Vendor: req.Vendor, Instance: req.Instance,
			Target: requestTarget(req), RequestID: req.ID, Result: string(store.StateExpired)})
		_, votes, _ := s.approvals.Store.GetRequest(ctx, req.ID)
		s.updateApproval(ctx, req, votes)
		s.tell(ctx, req, votes)
	}
	interrupted, err := s.approvals.Store.RecoverInterrupted(ctx, now)
	if err != nil {
		return fmt.Errorf("recover interrupted executions: %w", err)
	}
	for _, req := range interrupted {
		s.logger.Error("an execution was interrupted", "request", req.ID, "instance", req.Instance, "target", requestTarget(req), "executor", req.Executor)
		s.audit(ctx, store.Event{Actor: s.approvals.ReplicaID, Action: "interrupted", Vendor: req.Vendor, Instance: req.Instance,
			Target: requestTarget(req), RequestID: req.ID, Result: string(store.StateInterrupted), Detail: req.Outcome})
		_, votes, _ := s.approvals.Store.GetRequest(ctx, req.ID)
		s.updateApproval(ctx, req, votes)
		s.tell(ctx, req, votes)
	}
	return nil
}

func (s *Service) pending(ctx context.Context, caller Caller, cmd Command) Reply {
	if s.approvals == nil {
		return problemReply(cmd, errNoApprovals)
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
		if strings.HasPrefix(t, "<@") {
			f.Actor = strings.Trim(t, "<@>")
		} else if u, err := ParseUser(t); err == nil && u.Form != Bare {
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
