package commvault

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/sessionbot/sessionbot/vendors"
	"github.com/sessionbot/sessionbot/vendors/internal/httpx"
)

// The session list routes: older releases have /Session, newer /Sessions.
const (
	routeSession int32 = iota
	routeSessions
)

var routePaths = [...]string{routeSession: "/Session", routeSessions: "/Sessions"}

// ListUserSessions lists one person's console sessions, those still logged
// in and those ended (Session.Active tells them apart). Commvault keeps no
// history to window, so q.Window is not used.
func (in *Instance) ListUserSessions(ctx context.Context, q vendors.UserQuery) (vendors.Listing, error) {
	op := "list sessions of " + q.User.String()
	if err := checkIdentity(q.User); err != nil {
		return vendors.Listing{}, in.nodeError(op, err)
	}
	release, err := in.slots.Take(ctx) // the re-read before an approved end waits longer
	if err != nil {
		return vendors.Listing{}, in.nodeError(op, err)
	}
	defer release()
	sessions, err := in.sessionsOf(ctx, q.User)
	if err != nil {
		return vendors.Listing{}, in.nodeError(op, err)
	}
	return vendors.Listing{Sessions: sessions}, nil
}

// sessionsOf resolves a person to a user id and lists their sessions.
func (in *Instance) sessionsOf(ctx context.Context, id vendors.Identity) ([]vendors.Session, error) {
	u, err := in.resolveUser(ctx, id)
	if err != nil {
		return nil, err
	}
	list, err := in.listSessions(ctx, u)
	if err != nil {
		return nil, err
	}
	out := make([]vendors.Session, 0, len(list))
	for _, w := range list {
		s, err := in.toSession(w, u)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// listSessions reads GET /Session?userId=N, or /Sessions on releases that
// answer 404 to the other, remembering which one answered.
func (in *Instance) listSessions(ctx context.Context, u user) ([]wireSession, error) {
	first := in.route.Load()
	query := url.Values{"userId": {strconv.FormatInt(u.id, 10)}}
	for _, route := range []int32{first, 1 - first} {
		a, err := in.call(ctx, request{method: http.MethodGet, path: routePaths[route], query: query})
		if answeredWith(err, vendors.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if route != first {
			in.route.Store(route)
			in.logger.Info("commvault session list route found", "node", in.s.node, "path", routePaths[route])
		}
		list, err := decodeSessions(a)
		if err != nil {
			return nil, fmt.Errorf("GET %s: %w", routePaths[route], err)
		}
		return list, nil
	}
	return nil, fmt.Errorf("both GET /Session and GET /Sessions answered 404 Not Found (is url the web service base, e.g. https://host/webconsole/api?): %w",
		vendors.ErrBadAnswer)
}

// toSession converts a listed session of user u. A session of another user
// is a wrong answer: ending it would end someone else's session.
func (in *Instance) toSession(w wireSession, u user) (vendors.Session, error) {
	if w.SessionID == "" {
		return vendors.Session{}, fmt.Errorf("answered a session without sessionId: %w", vendors.ErrBadAnswer)
	}
	if w.User != nil && w.User.UserID.set && w.User.UserID.v != u.id {
		return vendors.Session{}, fmt.Errorf("asked for the sessions of user %d (%s), answered session %s of user %d: %w",
			u.id, u.name, w.SessionID, w.User.UserID.v, vendors.ErrBadAnswer)
	}
	s := vendors.Session{
		Vendor:     vendors.Commvault,
		Instance:   in.s.name,
		ID:         string(w.SessionID),
		User:       identityOf(u.name),
		UserName:   u.fullName,
		Node:       w.Host,
		Started:    unixTime(w.LoginTime),
		LastActive: unixTime(w.LastAccessedTime),
		Ended:      unixTime(w.LogoutTime),
	}
	if w.ConsoleType.set {
		s.Attributes = append(s.Attributes, vendors.Attribute{Name: "console", Value: consoleName(w.ConsoleType.v)})
	}
	if w.Location != "" {
		s.Attributes = append(s.Attributes, vendors.Attribute{Name: "location", Value: w.Location})
	}
	if w.BrowserSessionID != "" {
		s.Attributes = append(s.Attributes, vendors.Attribute{Name: "browser_session", Value: string(w.BrowserSessionID)})
	}
	return s, nil
}

// consoleName names a consoleType as Commvault's documentation does.
func consoleName(t int64) string {
	switch t {
	case 5:
		return "CommCell Console"
	case 13:
		return "command line"
	case 14:
		return "remote web CommCell Console"
	case 19:
		return "Web Console / mobile"
	}
	return fmt.Sprintf("console type %d", t)
}

// unixTime reads Commvault's Unix seconds, 0 meaning none. Values too large
// for seconds (after the year 5000) are taken as milliseconds.
func unixTime(f flexInt) time.Time {
	switch {
	case !f.set || f.v <= 0:
		return time.Time{}
	case f.v > 1e11:
		return time.UnixMilli(f.v).UTC()
	}
	return time.Unix(f.v, 0).UTC()
}

// EndSession logs one session off, from the Web Server and the command
// line, by its id.
func (in *Instance) EndSession(ctx context.Context, s vendors.Session) error {
	op := "end session " + s.ID
	if err := in.checkOwnSession(s); err != nil {
		return in.nodeError(op, err)
	}
	release, err := in.slots.ForChange(ctx)
	if err != nil {
		return in.nodeError(op, err)
	}
	defer release()
	if err := in.logoff(ctx, []string{s.ID}); err != nil {
		return in.nodeError(op, err)
	}
	in.logger.Info("commvault session ended", "node", in.s.node, "session", s.ID, "user", s.User.String(), "host", s.Node)
	return nil
}

// LogoutUser ends every open session of one person in one request and
// returns them as they were listed.
func (in *Instance) LogoutUser(ctx context.Context, id vendors.Identity) (vendors.Listing, error) {
	op := "log out " + id.String()
	if err := checkIdentity(id); err != nil {
		return vendors.Listing{}, in.nodeError(op, err)
	}
	release, err := in.slots.ForChange(ctx) // one slot for the list and the logoff
	if err != nil {
		return vendors.Listing{}, in.nodeError(op, err)
	}
	defer release()
	sessions, err := in.sessionsOf(ctx, id)
	if err != nil {
		return vendors.Listing{}, in.nodeError(op, err)
	}
	var open []vendors.Session
	var ids []string
	for _, s := range sessions {
		if s.Active() {
			open = append(open, s)
			ids = append(ids, s.ID)
		}
	}
	if len(ids) == 0 {
		return vendors.Listing{}, nil
	}
	if err := in.logoff(ctx, ids); err != nil {
		return vendors.Listing{}, in.nodeError(op, err)
	}
	in.logger.Info("commvault user logged out", "node", in.s.node, "user", id.String(), "sessions", len(ids))
	return vendors.Listing{Sessions: open}, nil
}

// checkOwnSession refuses a session this instance did not list, or an id
// that cannot be one.
func (in *Instance) checkOwnSession(s vendors.Session) error {
	switch {
	case s.Vendor != "" && s.Vendor != vendors.Commvault:
		return fmt.Errorf("it is a %s session: %w", s.Vendor, vendors.ErrInvalidInput)
	case s.Instance != "" && !strings.EqualFold(s.Instance, in.s.name):
		return fmt.Errorf("it belongs to instance %q: %w", httpx.Snippet(s.Instance, 60), vendors.ErrInvalidInput)
	}
	return checkSessionID(s.ID)
}

func checkSessionID(id string) error { return vendors.CheckInput("session id", id, 256) }

// logoff sends DELETE /Sessions with one sessions element per id.
func (in *Instance) logoff(ctx context.Context, ids []string) error {
	for _, id := range ids {
		if err := checkSessionID(id); err != nil {
			return err
		}
	}
	a, err := in.call(ctx, request{
		method:      http.MethodDelete,
		path:        "/Sessions",
		body:        logoffBody(ids),
		contentType: "application/xml",
		accept:      "application/xml",
	})
	if answeredWith(err, vendors.ErrNotFound) {
		// A missing route, not a missing session: that comes as an errList.
		return fmt.Errorf("DELETE /Sessions answered 404 Not Found: this web service cannot log users off (a release before V11 SP8?): %w",
			vendors.ErrBadAnswer)
	}
	if err != nil {
		return err
	}
	return checkLogoffAnswer(a)
}

// logoffBody is <Api_LogoffUsersRequest><sessions val="ID"/>...</...>,
// each id escaped for an XML attribute.
func logoffBody(ids []string) []byte {
	var b bytes.Buffer
	b.WriteString("<Api_LogoffUsersRequest>")
	for _, id := range ids {
		b.WriteString(`<sessions val="`)
		_ = xml.EscapeText(&b, []byte(id)) // a bytes.Buffer does not fail
		b.WriteString(`"/>`)
	}
	b.WriteString("</Api_LogoffUsersRequest>")
	return b.Bytes()
}

// checkLogoffAnswer accepts <Api_LogoffUsersResponse />, an empty body or
// an object without error, and refuses an error or a web page.
func checkLogoffAnswer(a answer) error {
	if e, ok := apiErrorOf(a); ok {
		return e
	}
	trimmed := bytes.TrimSpace(a.body)
	if len(trimmed) == 0 {
		return nil
	}
	asXML, err := format(a)
	if err != nil {
		return err
	}
	if asXML {
		if _, err := xmlElements[struct{}](trimmed, "Api_LogoffUsersResponse"); err != nil {
			return err
		}
		return nil
	}
	if _, err := jsonObject(trimmed); err != nil {
		return err
	}
	return nil
}
