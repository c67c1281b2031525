package commands

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sessionbot/sessionbot/store"
	"github.com/sessionbot/sessionbot/vendors"
)

// HomeLimit caps each list on a person's Home: a view holds 100 blocks,
// whatever the number of requests.
const HomeLimit = 10

// ProbeStaleAfter is how old the last instance probes may be before a Home
// opening asks for fresh ones.
const ProbeStaleAfter = 3 * time.Minute

// Home is what one person's App Home shows, by what they may do.
type Home struct {
	// Lister: may look up sessions (instances, search box).
	Lister bool
	// Approver: approves on at least one instance.
	Approver bool
	// Waiting are pending requests this person may vote on and has not;
	// WaitingMore says how many more there are.
	Waiting     []RequestView
	WaitingMore int
	// Decided are the last decisions on instances this person approves.
	Decided []RequestView
	// Mine are this person's own requests, newest first.
	Mine     []RequestView
	MineMore int
	// Instances are the last probe results, for listers.
	Instances []ProbeResult
	// Problem is a store read that failed; the rest is still shown.
	Problem string
}

// ProbeResult is an instance's last probe, as "vendors" found it.
type ProbeResult struct {
	InstanceStatus
	// At is when it was probed; zero when never.
	At time.Time
}

// probeCache keeps the last "vendors" results for the Home.
type probeCache struct {
	// refreshing lets one refresh run at a time, however many Homes open.
	refreshing atomic.Bool
	mu         sync.Mutex
	results    map[string]ProbeResult
	at         time.Time
}

func (c *probeCache) put(statuses []InstanceStatus, at time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.results = map[string]ProbeResult{}
	for _, st := range statuses {
		c.results[st.Name] = ProbeResult{InstanceStatus: st, At: at}
	}
	c.at = at
}

func (c *probeCache) get(name string) (ProbeResult, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r, ok := c.results[name]
	return r, ok
}

func (c *probeCache) probedAt() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.at
}

// ProbesStale reports whether the Home's instance probes are older than
// ProbeStaleAfter (or were never made).
func (s *Service) ProbesStale() bool {
	at := s.probes.probedAt()
	return at.IsZero() || s.clock().Sub(at) > ProbeStaleAfter
}

// RefreshProbes probes every instance, each bounded by its timeout, and
// keeps the results for the Home.
func (s *Service) RefreshProbes(ctx context.Context) {
	if !s.probes.refreshing.CompareAndSwap(false, true) {
		return
	}
	defer s.probes.refreshing.Store(false)
	s.vendors(ctx, Command{Verb: Vendors})
}

// Home gathers what caller's App Home shows. It reads the store and cached
// probes only: no vendor is called.
func (s *Service) Home(ctx context.Context, caller Caller) Home {
	var h Home
	h.Lister = s.mayList(ctx, caller)
	if h.Lister {
		for _, in := range s.registry.All() {
			r, ok := s.probes.get(in.Name())
			if !ok {
				r = ProbeResult{InstanceStatus: InstanceStatus{Name: in.Name(), Type: in.Type(), Capabilities: vendors.Capabilities(in)}}
			}
			h.Instances = append(h.Instances, r)
		}
	}
	if s.approvals == nil {
		return h
	}
	approves := map[string]bool{}
	for _, in := range s.registry.All() {
		if ok, _ := s.isApprover(ctx, caller, in.Name()); ok {
			approves[in.Name()] = true
			h.Approver = true
		}
	}
	reqs, err := s.approvals.Store.ListRequests(ctx)
	if err != nil {
		h.Problem = fmt.Sprintf("Requests could not be read: %v", err)
		return h
	}
	withVotes := func(r store.Request) RequestView {
		_, votes, _ := s.approvals.Store.GetRequest(ctx, r.ID)
		return RequestView{Request: r, Votes: votes}
	}
	now := s.clock()
	// Votes are read for a bounded number of pending requests: past it,
	// the rest are counted, not shown.
	voteReads := 0
	for _, r := range reqs {
		switch {
		case r.Requester == caller.ChatID:
			if len(h.Mine) < HomeLimit {
				h.Mine = append(h.Mine, withVotes(r))
			} else {
				h.MineMore++
			}
		}
		if !approves[r.Instance] {
			continue
		}
		switch {
		case r.State == store.StatePending && now.Before(r.ExpiresAt) && (r.Requester != caller.ChatID || r.AllowSelfApproval):
			if len(h.Waiting) >= HomeLimit || voteReads >= 3*HomeLimit {
				h.WaitingMore++
				continue
			}
			voteReads++
			v := withVotes(r)
			if !votedBy(v.Votes, caller.ChatID) {
				h.Waiting = append(h.Waiting, v)
			}
		case r.State != store.StatePending && !r.DecidedAt.IsZero() && len(h.Decided) < HomeLimit/2:
			h.Decided = append(h.Decided, withVotes(r))
		}
	}
	return h
}

func votedBy(votes []store.Vote, who string) bool {
	for _, v := range votes {
		if v.Voter == who {
			return true
		}
	}
	return false
}

// Withdraw takes back caller's own pending request: it is denied, nothing
// is ended, and the approval message loses its buttons.
func (s *Service) Withdraw(ctx context.Context, caller Caller, id string) Reply {
	cmd := Command{Verb: Deny, RequestID: store.NormalizeID(id)}
	if s.approvals == nil {
		return problemReply(cmd, errNoApprovals)
	}
	req, _, err := s.approvals.Store.GetRequest(ctx, cmd.RequestID)
	if errors.Is(err, store.ErrNotFound) {
		return Reply{Command: cmd, Title: "Not withdrawn", Problem: &Problem{Message: fmt.Sprintf("There is no request %s.", cmd.RequestID)}}
	}
	if err != nil {
		return problemReply(cmd, fmt.Errorf("could not read request %s: %w", cmd.RequestID, err))
	}
	event := store.Event{Actor: caller.ChatID, Where: caller.Where, Action: "withdraw", Command: "withdraw " + req.ID,
		Vendor: req.Vendor, Instance: req.Instance, Target: requestTarget(req), RequestID: req.ID, Result: string(req.State)}
	if req.Requester != caller.ChatID {
		event.Action, event.Result = "withdraw_refused", "not the requester"
		s.audit(ctx, event)
		return Reply{Command: cmd, Title: "Not withdrawn", Problem: &Problem{Message: fmt.Sprintf("Only the person who asked for request %s can withdraw it.", req.ID)}}
	}
	// The record comes first, as for a vote.
	if err := s.recordFirst(ctx, event, "withdraw_refused"); err != nil {
		return Reply{Command: cmd, Title: "Not withdrawn", Problem: &Problem{Message: errNoAudit(err).Error()}}
	}
	got, err := s.approvals.Store.Withdraw(ctx, req.ID, caller.ChatID, s.clock())
	if err != nil {
		event.Action, event.Result = "withdraw_refused", err.Error()
		s.audit(ctx, event)
		msg := fmt.Sprintf("Request %s could not be withdrawn: %v", req.ID, err)
		var np *store.NotPendingError
		if errors.As(err, &np) {
			msg = fmt.Sprintf("Request %s is already %s; it can no longer be withdrawn.", req.ID, np.State)
		}
		return Reply{Command: cmd, Title: "Not withdrawn", Problem: &Problem{Message: msg}}
	}
	_, votes, _ := s.approvals.Store.GetRequest(ctx, got.ID)
	s.updateApproval(ctx, got, votes)
	return Reply{Command: cmd, Title: "Request " + got.ID + " withdrawn", Request: &RequestView{Request: got, Votes: votes},
		Notes: []string{"Nothing was ended."}}
}
