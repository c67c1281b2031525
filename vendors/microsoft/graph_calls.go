package microsoft

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/sessionbot/sessionbot/vendors"
	"github.com/sessionbot/sessionbot/vendors/internal/httpx"
)

// graphUser is what users/{upn}?$select=id,displayName,userPrincipalName returns.
type graphUser struct {
	ID                string `json:"id"`
	DisplayName       string `json:"displayName"`
	UserPrincipalName string `json:"userPrincipalName"`
}

// userCache remembers UPN to object id briefly: a person asked about is
// often asked about again within minutes.
type userCache struct {
	mu    sync.Mutex
	byUPN map[string]cachedUser
}

type cachedUser struct {
	user    graphUser
	expires time.Time
}

func (c *userCache) get(upn string, now time.Time) (graphUser, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.byUPN[strings.ToLower(upn)]
	if !ok || !now.Before(e.expires) {
		return graphUser{}, false
	}
	return e.user, true
}

func (c *userCache) put(upn string, u graphUser, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, e := range c.byUPN { // keep the map from growing forever
		if !now.Before(e.expires) {
			delete(c.byUPN, k)
		}
	}
	c.byUPN[strings.ToLower(upn)] = cachedUser{user: u, expires: now.Add(userCacheTTL)}
}

// fail names the Graph host and the operation in an error, without the secret.
func (g *graphClient) fail(op string, err error) error {
	return g.scrub(fmt.Errorf("microsoft graph %s: %s: %w", g.host(), op, err))
}

func (g *graphClient) probe(ctx context.Context) error {
	release, err := g.slots.Take(ctx)
	if err != nil {
		return g.fail("read one user to check the app's access", err)
	}
	defer release()
	var page struct {
		Value []graphUser `json:"value"`
	}
	if err := g.call(ctx, http.MethodGet, g.endpoint("users", "$top=1&$select=id"), permUsers, &page); err != nil {
		return g.fail("read one user to check the app's access", err)
	}
	return nil
}

// user finds a person's object id by UPN.
func (g *graphClient) user(ctx context.Context, upn string) (graphUser, error) {
	if u, ok := g.users.get(upn, g.clock()); ok {
		return u, nil
	}
	var u graphUser
	link := g.endpoint("users/"+url.PathEscape(upn), "$select=id,displayName,userPrincipalName")
	if err := g.call(ctx, http.MethodGet, link, permUsers, &u); err != nil {
		if errors.Is(err, vendors.ErrNotFound) {
			return graphUser{}, g.fail("look up "+upn, fmt.Errorf("no Microsoft 365 user %q: %w", upn, vendors.ErrNotFound))
		}
		return graphUser{}, g.fail("look up "+upn, err)
	}
	if u.ID == "" {
		return graphUser{}, g.fail("look up "+upn, fmt.Errorf("the user has no id in the answer: %w", vendors.ErrBadAnswer))
	}
	g.users.put(upn, u, g.clock())
	return u, nil
}

// CallRecordsFilter is the $filter that lists the calls a user (object id)
// took part in that started within [since, until). Times are whole seconds:
// since rounded down and until up, so nothing in the window is left out.
func CallRecordsFilter(userID string, since, until time.Time) string {
	ceil := until.UTC().Truncate(time.Second)
	if ceil.Before(until) {
		ceil = ceil.Add(time.Second)
	}
	return fmt.Sprintf("participants_v2/any(p:p/id eq '%s') and startDateTime ge %s and startDateTime lt %s",
		strings.ReplaceAll(userID, "'", "''"),
		since.UTC().Truncate(time.Second).Format(time.RFC3339),
		ceil.Format(time.RFC3339))
}

// callRecord is one call or meeting; sessions come with $expand.
type callRecord struct {
	ID               string        `json:"id"`
	Type             string        `json:"type"`
	Modalities       []string      `json:"modalities"`
	StartDateTime    time.Time     `json:"startDateTime"`
	EndDateTime      time.Time     `json:"endDateTime"`
	JoinWebURL       string        `json:"joinWebUrl"`
	Sessions         []callSession `json:"sessions"`
	SessionsNextLink string        `json:"sessions@odata.nextLink"`
}

type callSession struct {
	ID            string       `json:"id"`
	Modalities    []string     `json:"modalities"`
	StartDateTime time.Time    `json:"startDateTime"`
	EndDateTime   time.Time    `json:"endDateTime"`
	Caller        callEndpoint `json:"caller"`
	Callee        callEndpoint `json:"callee"`
	FailureInfo   *struct {
		Stage  string `json:"stage"`
		Reason string `json:"reason"`
	} `json:"failureInfo"`
	Segments []struct {
		Media []struct {
			Label string `json:"label"`
		} `json:"media"`
	} `json:"segments"`
}

// callEndpoint is a participant or service endpoint. Graph names who is
// behind it in associatedIdentity (newer) or identity (an identitySet).
type callEndpoint struct {
	Name      string `json:"name"`
	UserAgent *struct {
		HeaderValue   string `json:"headerValue"`
		Platform      string `json:"platform"`
		ProductFamily string `json:"productFamily"`
	} `json:"userAgent"`
	AssociatedIdentity *graphIdentity `json:"associatedIdentity"`
	Identity           *struct {
		User                *graphIdentity `json:"user"`
		Phone               *graphIdentity `json:"phone"`
		Guest               *graphIdentity `json:"guest"`
		ApplicationInstance *graphIdentity `json:"applicationInstance"`
		Application         *graphIdentity `json:"application"`
	} `json:"identity"`
}

type graphIdentity struct {
	ID                string `json:"id"`
	DisplayName       string `json:"displayName"`
	UserPrincipalName string `json:"userPrincipalName"`
}

func (e callEndpoint) who() *graphIdentity {
	if e.AssociatedIdentity != nil && (e.AssociatedIdentity.ID != "" || e.AssociatedIdentity.DisplayName != "") {
		return e.AssociatedIdentity
	}
	if e.Identity == nil {
		return nil
	}
	for _, id := range []*graphIdentity{e.Identity.User, e.Identity.Guest, e.Identity.Phone, e.Identity.ApplicationInstance, e.Identity.Application} {
		if id != nil && (id.ID != "" || id.DisplayName != "") {
			return id
		}
	}
	return nil
}

func (e callEndpoint) is(userID string) bool {
	id := e.who()
	return id != nil && strings.EqualFold(id.ID, userID)
}

// describe names an endpoint for a person: who, or else what.
func (e callEndpoint) describe() string {
	if id := e.who(); id != nil {
		switch {
		case id.DisplayName != "" && id.UserPrincipalName != "":
			return id.DisplayName + " <" + id.UserPrincipalName + ">"
		case id.DisplayName != "":
			return id.DisplayName
		case id.UserPrincipalName != "":
			return id.UserPrincipalName
		default:
			return id.ID
		}
	}
	if e.Name != "" {
		return e.Name
	}
	if e.UserAgent != nil && e.UserAgent.ProductFamily != "" {
		return e.UserAgent.ProductFamily + " service"
	}
	return "Microsoft service"
}

// client names the software at an endpoint.
func (e callEndpoint) client() string {
	if e.UserAgent == nil {
		return e.Name
	}
	if e.UserAgent.HeaderValue != "" {
		return e.UserAgent.HeaderValue
	}
	return strings.Join(nonEmpty(e.UserAgent.ProductFamily, e.UserAgent.Platform), " on ")
}

func (g *graphClient) userSessions(ctx context.Context, upn string, w vendors.Window) (vendors.Listing, error) {
	op := "list calls of " + upn
	release, err := g.slots.Take(ctx) // the re-read before an approved change waits longer
	if err != nil {
		return vendors.Listing{}, g.fail(op, err)
	}
	defer release()
	u, err := g.user(ctx, upn)
	if err != nil {
		return vendors.Listing{}, err
	}
	ids, err := g.callRecordIDs(ctx, u.ID, w)
	if err != nil {
		return vendors.Listing{}, g.fail(op, err)
	}
	records, warnings, err := g.records(ctx, ids)
	if err != nil {
		return vendors.Listing{}, g.fail(op, err)
	}
	var listing vendors.Listing
	for _, w := range warnings {
		listing.Warnings = append(listing.Warnings, g.fail(op, w))
	}
	for _, r := range records {
		listing.Sessions = append(listing.Sessions, sessionsOf(r, u)...)
	}
	return listing, nil
}

// callRecordIDs lists the ids of the user's call records in w, page by page.
func (g *graphClient) callRecordIDs(ctx context.Context, userID string, w vendors.Window) ([]string, error) {
	link := g.endpoint("communications/callRecords", "$filter="+queryValue(CallRecordsFilter(userID, w.Since, w.Until)))
	var ids []string
	for page := 0; link != ""; page++ {
		if page == maxPages {
			return ids, fmt.Errorf("more than %d pages of call records: %w", maxPages, vendors.ErrBadAnswer)
		}
		var answer struct {
			Value []struct {
				ID string `json:"id"`
			} `json:"value"`
			NextLink string `json:"@odata.nextLink"`
		}
		if err := g.call(ctx, http.MethodGet, link, permCallRecords, &answer); err != nil {
			return nil, err
		}
		for _, r := range answer.Value {
			ids = append(ids, r.ID)
		}
		if answer.NextLink != "" {
			if err := g.checkNextLink(answer.NextLink); err != nil {
				return nil, err
			}
		}
		link = answer.NextLink
	}
	return ids, nil
}

// records reads each record's sessions, up to MaxConcurrency at a time:
// on the operation's own slot, and on as many more as are free when it
// starts, each given back once another operation waits for a slot. It
// never waits for a second slot while holding one, so a list cannot
// deadlock, and the requests at once never outnumber the slots.
// A record that cannot be read is a warning, unless none can be read.
func (g *graphClient) records(ctx context.Context, ids []string) ([]callRecord, []error, error) {
	out := make([]callRecord, len(ids))
	errs := make([]error, len(ids))
	work := make(chan int, len(ids))
	for i := range ids {
		work <- i
	}
	close(work)
	// On an extra slot, read gives it back once another operation waits
	// for one; the operation's own slot reads what is left.
	read := func(extra bool) {
		for {
			if extra && g.slots.Wanted() {
				return
			}
			i, ok := <-work
			if !ok || ctx.Err() != nil {
				return
			}
			out[i], errs[i] = g.record(ctx, ids[i])
		}
	}
	var wg sync.WaitGroup
	for range min(g.cfg.MaxConcurrency, len(ids)) - 1 {
		release, ok := g.slots.Extra()
		if !ok {
			break
		}
		wg.Go(func() {
			defer release()
			read(true)
		})
	}
	read(false)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, nil, httpx.Stopped(ctx)
	}
	var records []callRecord
	var warnings []error
	for i, err := range errs {
		if err != nil {
			warnings = append(warnings, fmt.Errorf("call record %s: %w", ids[i], err))
			continue
		}
		records = append(records, out[i])
	}
	if len(records) == 0 && len(warnings) > 0 {
		return nil, nil, warnings[0]
	}
	return records, warnings, nil
}

// record reads one call record with its sessions and their segments.
func (g *graphClient) record(ctx context.Context, id string) (callRecord, error) {
	var r callRecord
	path := "communications/callRecords/" + url.PathEscape(id)
	if err := g.call(ctx, http.MethodGet, g.endpoint(path, "$expand=sessions($expand=segments)"), permCallRecords, &r); err != nil {
		return callRecord{}, err
	}
	if r.SessionsNextLink == "" {
		return r, nil
	}
	// More than a page (60) of sessions. Graph's own documentation shows
	// sessions@odata.nextLink as a $metadata URL that cannot be fetched, so
	// read them all from the list sessions endpoint instead.
	r.Sessions = nil
	link := g.endpoint(path+"/sessions", "$expand=segments")
	for page := 0; link != ""; page++ {
		if page == maxPages {
			return callRecord{}, fmt.Errorf("more than %d pages of sessions: %w", maxPages, vendors.ErrBadAnswer)
		}
		var answer struct {
			Value    []callSession `json:"value"`
			NextLink string        `json:"@odata.nextLink"`
		}
		if err := g.call(ctx, http.MethodGet, link, permCallRecords, &answer); err != nil {
			return callRecord{}, err
		}
		r.Sessions = append(r.Sessions, answer.Value...)
		if answer.NextLink != "" {
			if err := g.checkNextLink(answer.NextLink); err != nil {
				return callRecord{}, err
			}
		}
		link = answer.NextLink
	}
	return r, nil
}

// sessionsOf maps the sessions of one record in which the user took part.
// When no session names the user (Graph leaves identities out for some
// endpoints), every session of the record is shown.
func sessionsOf(r callRecord, u graphUser) []vendors.Session {
	mine := make([]callSession, 0, len(r.Sessions))
	for _, s := range r.Sessions {
		if s.Caller.is(u.ID) || s.Callee.is(u.ID) {
			mine = append(mine, s)
		}
	}
	if len(mine) == 0 {
		mine = r.Sessions
	}
	out := make([]vendors.Session, 0, len(mine))
	for _, s := range mine {
		own := s.Caller
		if s.Callee.is(u.ID) {
			own = s.Callee
		}
		attrs := []vendors.Attribute{
			{Name: "caller", Value: s.Caller.describe()},
			{Name: "callee", Value: s.Callee.describe()},
		}
		modalities := s.Modalities
		if len(modalities) == 0 {
			modalities = r.Modalities
		}
		if len(modalities) > 0 {
			attrs = append(attrs, vendors.Attribute{Name: "modalities", Value: strings.Join(modalities, ", ")})
		}
		if f := s.FailureInfo; f != nil && (f.Reason != "" || f.Stage != "") {
			reason := f.Reason
			if f.Stage != "" {
				reason = strings.TrimSpace(reason + " (stage " + f.Stage + ")")
			}
			attrs = append(attrs, vendors.Attribute{Name: "failure", Value: reason})
		}
		if media := mediaLabels(s); media != "" {
			attrs = append(attrs, vendors.Attribute{Name: "media", Value: media})
		}
		if r.JoinWebURL != "" {
			attrs = append(attrs, vendors.Attribute{Name: "conference", Value: r.JoinWebURL})
		}
		out = append(out, vendors.Session{
			ID:         r.ID + "/" + s.ID,
			UserName:   u.DisplayName,
			Node:       own.client(),
			Started:    s.StartDateTime,
			Ended:      s.EndDateTime,
			Attributes: attrs,
		})
	}
	return out
}

// mediaLabels lists the distinct media of a session's segments
// (main-audio, main-video...).
func mediaLabels(s callSession) string {
	var labels []string
	seen := map[string]bool{}
	for _, seg := range s.Segments {
		for _, m := range seg.Media {
			if m.Label != "" && !seen[m.Label] {
				seen[m.Label] = true
				labels = append(labels, m.Label)
			}
		}
	}
	return strings.Join(labels, ", ")
}

// revokeSignInSessions ends a user's sign-in sessions. Graph documents 204
// but answers 200 {"value": true}: any 2xx is success.
func (g *graphClient) revokeSignInSessions(ctx context.Context, upn string) error {
	release, err := g.slots.ForChange(ctx)
	if err != nil {
		return g.fail("revoke the sign-in sessions of "+upn, err)
	}
	defer release()
	link := g.endpoint("users/"+url.PathEscape(upn)+"/revokeSignInSessions", "")
	if err := g.call(ctx, http.MethodPost, link, permRevoke, nil); err != nil {
		if errors.Is(err, vendors.ErrNotFound) {
			err = fmt.Errorf("no Microsoft 365 user %q: %w", upn, vendors.ErrNotFound)
		}
		return g.fail("revoke the sign-in sessions of "+upn, err)
	}
	return nil
}
