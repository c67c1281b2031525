package qlik

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/sessionbot/sessionbot/vendors"
)

const qpsPort = "QPS port 4243"

// ListUserSessions asks every proxy for one person's sessions. An empty
// array and a 404 both mean the proxy holds none. Qlik keeps no history,
// so q.Window is not used.
func (in *Instance) ListUserSessions(ctx context.Context, q vendors.UserQuery) (vendors.Listing, error) {
	return in.onEveryNodeForUser(ctx, "list sessions of "+q.User.String(), http.MethodGet, q.User, in.slots.Bounded)
}

// onEveryNodeForUser sends method to one person's route on every proxy,
// holding a connection slot from take, and merges the sessions answered.
func (in *Instance) onEveryNodeForUser(ctx context.Context, op, method string, user vendors.Identity,
	take func(context.Context) (func(), error)) (vendors.Listing, error) {
	if err := checkIdentity(user); err != nil {
		return vendors.Listing{}, fmt.Errorf("qlik %s: %s: %w", in.s.name, op, err)
	}
	nodes, warnings, err := in.proxies(ctx)
	if err != nil {
		return vendors.Listing{}, err
	}
	release, err := take(ctx)
	if err != nil {
		return vendors.Listing{}, fmt.Errorf("qlik %s: %s: %w", in.s.name, op, err)
	}
	defer release()
	path := qps(in.s.virtualProxy, "user", user.Directory, user.ID)
	results := onEveryNode(ctx, nodes, func(ctx context.Context, node string) ([]vendors.Session, error) {
		return in.sessionList(ctx, method, node, path)
	})
	return in.merge(op, results, warnings)
}

// ListAllSessions asks every proxy for every session it holds.
func (in *Instance) ListAllSessions(ctx context.Context) (vendors.Listing, error) {
	nodes, warnings, err := in.proxies(ctx)
	if err != nil {
		return vendors.Listing{}, err
	}
	release, err := in.slots.Bounded(ctx)
	if err != nil {
		return vendors.Listing{}, fmt.Errorf("qlik %s: list all sessions: %w", in.s.name, err)
	}
	defer release()
	results := onEveryNode(ctx, nodes, in.listAll)
	return in.merge("list all sessions", results, warnings)
}

// listAll reads GET /qps/{vp/}session on one node. A 404 here means the
// route is missing, which is almost always a wrong virtual proxy prefix.
func (in *Instance) listAll(ctx context.Context, node string) ([]vendors.Session, error) {
	a, err := in.send(ctx, http.MethodGet, node, qps(in.s.virtualProxy, "session"))
	if errors.Is(err, vendors.ErrNotFound) {
		return nil, fmt.Errorf("%w (no such route: is virtual_proxy %q right?)", err, in.s.virtualProxy)
	}
	if err != nil {
		return nil, err
	}
	return in.sessionsIn(a, node)
}

// sessionList reads an array of sessions from the user routes, where 404
// means none.
func (in *Instance) sessionList(ctx context.Context, method, node string, path apiPath) ([]vendors.Session, error) {
	a, err := in.send(ctx, method, node, path)
	if errors.Is(err, vendors.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return in.sessionsIn(a, node)
}

// sessionsIn decodes the array of sessions node answered.
func (in *Instance) sessionsIn(a answer, node string) ([]vendors.Session, error) {
	var ws []wireSession
	if err := decode(a, &ws, qpsPort); err != nil {
		return nil, err
	}
	return in.toSessions(ws, node)
}

// GetSession asks every proxy at once for one session; the first that has
// it wins and the others are cancelled.
func (in *Instance) GetSession(ctx context.Context, id string) (vendors.Session, error) {
	op := "show session " + id
	if err := checkSessionID(id); err != nil {
		return vendors.Session{}, fmt.Errorf("qlik %s: show session: %w", in.s.name, err)
	}
	nodes, _, err := in.proxies(ctx) // a stale proxy list is logged by proxies
	if err != nil {
		return vendors.Session{}, err
	}
	release, err := in.slots.Take(ctx) // the re-read before an approved delete waits longer
	if err != nil {
		return vendors.Session{}, fmt.Errorf("qlik %s: %s: %w", in.s.name, op, err)
	}
	defer release()
	searchCtx, found := context.WithCancel(ctx)
	defer found()
	path := qps(in.s.virtualProxy, "session", id)
	results := onEveryNode(searchCtx, nodes, func(ctx context.Context, node string) (*vendors.Session, error) {
		a, err := in.send(ctx, http.MethodGet, node, path)
		if err != nil {
			return nil, err
		}
		var w wireSession
		if err := decode(a, &w, qpsPort); err != nil {
			return nil, err
		}
		if !strings.EqualFold(w.SessionID, id) {
			return nil, fmt.Errorf("asked for session %s, answered session %q: %w", id, printable(w.SessionID), vendors.ErrBadAnswer)
		}
		s, err := in.toSession(w, node)
		if err != nil {
			return nil, err
		}
		found() // the other proxies need not answer
		return &s, nil
	})

	var failures []error
	for _, r := range results {
		if r.err == nil {
			return *r.value, nil
		}
		if !errors.Is(r.err, vendors.ErrNotFound) {
			failures = append(failures, in.nodeError(r.node, op, r.err))
		}
	}
	if len(failures) == 0 {
		return vendors.Session{}, fmt.Errorf("qlik %s: session %s: no proxy holds it (asked %d): %w",
			in.s.name, id, len(nodes), vendors.ErrNotFound)
	}
	// A proxy that failed may hold it: do not claim it does not exist.
	return vendors.Session{}, fmt.Errorf("qlik %s: session %s: not on %d of %d proxies, and the others failed: %w",
		in.s.name, id, len(nodes)-len(failures), len(nodes), errors.Join(failures...))
}

// EndSession deletes one session on the proxy that holds it. The session's
// Node must be one of this site's proxies: the client certificate goes to
// no other host. Without a Node the session is looked up first.
func (in *Instance) EndSession(ctx context.Context, s vendors.Session) error {
	op := "end session " + s.ID
	if err := checkSessionID(s.ID); err != nil {
		return fmt.Errorf("qlik %s: end session: %w", in.s.name, err)
	}
	if s.Vendor != "" && s.Vendor != vendors.Qlik {
		return fmt.Errorf("qlik %s: %s: it is a %s session: %w", in.s.name, op, s.Vendor, vendors.ErrInvalidInput)
	}
	if s.Instance != "" && !strings.EqualFold(s.Instance, in.s.name) {
		return fmt.Errorf("qlik %s: %s: it belongs to instance %q: %w", in.s.name, op, printable(s.Instance), vendors.ErrInvalidInput)
	}
	node := s.Node
	if node == "" {
		found, err := in.GetSession(vendors.ForChange(ctx), s.ID)
		if err != nil {
			return err
		}
		node = found.Node
	} else {
		nodes, _, err := in.proxies(ctx)
		if err != nil {
			return err
		}
		known, ok := knownNode(nodes, node)
		if !ok {
			return fmt.Errorf("qlik %s: %s: %q is not one of this site's proxies (%s): %w",
				in.s.name, op, printable(node), strings.Join(nodes, ", "), vendors.ErrInvalidInput)
		}
		node = known
	}

	release, err := in.slots.ForChange(ctx)
	if err != nil {
		return fmt.Errorf("qlik %s: %s: %w", in.s.name, op, err)
	}
	defer release()
	a, err := in.send(ctx, http.MethodDelete, node, qps(in.s.virtualProxy, "session", s.ID))
	if errors.Is(err, vendors.ErrNotFound) {
		return in.nodeError(node, op, fmt.Errorf("%w (the proxy does not hold it: ended already?)", err))
	}
	if err != nil {
		return in.nodeError(node, op, err)
	}
	if len(a.body) == 0 {
		return nil // some versions answer 200 with nothing
	}
	var d deletedSession
	if err := decode(a, &d, qpsPort); err != nil {
		return in.nodeError(node, op, err)
	}
	if got := d.session().SessionID; got != "" && !strings.EqualFold(got, s.ID) {
		return in.nodeError(node, op, fmt.Errorf("answered that it ended session %q: %w", printable(got), vendors.ErrBadAnswer))
	}
	in.logger.Info("qlik session ended", "instance", in.s.name, "node", node, "session", s.ID,
		"user", d.session().UserDirectory+`\`+d.session().UserID, "last_for_user", d.LastSessionForUser)
	return nil
}

// LogoutUser ends one person's sessions on every proxy and returns those
// ended. A proxy that fails is a warning while another answered.
func (in *Instance) LogoutUser(ctx context.Context, user vendors.Identity) (vendors.Listing, error) {
	listing, err := in.onEveryNodeForUser(ctx, "log out "+user.String(), http.MethodDelete, user, in.slots.ForChange)
	if err == nil {
		in.logger.Info("qlik user logged out", "instance", in.s.name, "user", user.String(), "sessions", len(listing.Sessions))
	}
	return listing, err
}
