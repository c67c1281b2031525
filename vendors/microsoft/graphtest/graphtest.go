// Package graphtest is a fake of the Microsoft identity platform's token
// endpoint and the parts of Microsoft Graph the microsoft adapter uses:
// users, call records with sessions, and revokeSignInSessions. It follows
// the documented protocol strictly (client credentials in the form, the
// .default scope, bearer tokens that expire, the one documented $filter
// form, paging with @odata.nextLink) and has switches for throttling and
// missing permissions. Tests and the demo run it in-process on 127.0.0.1.
package graphtest

import (
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"mime"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sessionbot/sessionbot/vendors/internal/fault"
	"github.com/sessionbot/sessionbot/vendors/internal/inflight"
)

// Credentials the fake accepts unless Options say otherwise.
const (
	TenantID     = "9188040d-6c67-4c5b-b112-36a304b66dad"
	ClientID     = "5f1c6e1d-2b0a-4e53-9c4e-0d3b5a8e7c21"
	ClientSecret = "fake-graph-secret-0123456789"
	Scope        = "https://graph.microsoft.com/.default"
)

// API names a group of endpoints for the Forbid switch and counters.
type API string

const (
	APIUsers       API = "users"
	APICallRecords API = "callRecords"
	APIRevoke      API = "revokeSignInSessions"
)

// Options configure a Server. Zero values take the defaults.
type Options struct {
	TenantID, ClientID, ClientSecret string
	// TokenLifetime is what expires_in says, in whole seconds (default 1h).
	TokenLifetime time.Duration
	// PageSize is call records per page (default 60, as Graph).
	PageSize int
	// SessionPageSize is sessions per page of one record (default 60).
	SessionPageSize int
	// Clock decides token expiry and where seed calls lie (default time.Now).
	Clock func() time.Time
	// TLS, when set, serves HTTPS with it; otherwise plain HTTP.
	TLS *tls.Config
	// NoSeed starts with no users and no calls.
	NoSeed bool
	// Latency delays every Graph answer, so that concurrency shows.
	Latency time.Duration
}

// Server is a running fake.
type Server struct {
	http  *httptest.Server
	opts  Options
	clock func() time.Time

	mu           sync.Mutex
	users        []User
	calls        []Call
	tokens       map[string]time.Time // access token -> expiry
	tokenCount   int
	requests     map[API]int
	revoked      []string
	filters      []string
	forbidden    map[API]bool
	fault        fault.Switch
	throttleLeft int
	throttleCode int
	retryAfter   string
	nextLinkBase string
	pages        map[string]page
	inFlight     inflight.Gauge
}

// page is what a $skiptoken stands for.
type page struct {
	recordIDs []string // a call record listing's rest
	callID    string   // or one record's sessions, from offset
	offset    int
}

// New starts a fake on 127.0.0.1.
func New(opts Options) *Server {
	if opts.TenantID == "" {
		opts.TenantID = TenantID
	}
	if opts.ClientID == "" {
		opts.ClientID = ClientID
	}
	if opts.ClientSecret == "" {
		opts.ClientSecret = ClientSecret
	}
	if opts.TokenLifetime <= 0 {
		opts.TokenLifetime = time.Hour
	}
	if opts.PageSize <= 0 {
		opts.PageSize = 60
	}
	if opts.SessionPageSize <= 0 {
		opts.SessionPageSize = 60
	}
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	s := &Server{
		opts:      opts,
		clock:     opts.Clock,
		tokens:    map[string]time.Time{},
		requests:  map[API]int{},
		forbidden: map[API]bool{},
		pages:     map[string]page{},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /{tenant}/oauth2/v2.0/token", s.token)
	mux.HandleFunc("GET /v1.0/users", s.graph(APIUsers, s.listUsers))
	mux.HandleFunc("GET /v1.0/users/{user}", s.graph(APIUsers, s.getUser))
	mux.HandleFunc("POST /v1.0/users/{user}/revokeSignInSessions", s.graph(APIRevoke, s.revoke))
	mux.HandleFunc("GET /v1.0/communications/callRecords", s.graph(APICallRecords, s.listCallRecords))
	mux.HandleFunc("GET /v1.0/communications/callRecords/{id}", s.graph(APICallRecords, s.getCallRecord))
	mux.HandleFunc("GET /v1.0/communications/callRecords/{id}/sessions", s.graph(APICallRecords, s.listSessions))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		graphError(w, http.StatusBadRequest, "BadRequest", fmt.Sprintf("Resource not found for the segment '%s'.", r.URL.Path))
	})
	s.http = httptest.NewUnstartedServer(mux)
	// Clients see their own failures (a refused certificate, say); the
	// server's log of them is noise.
	s.http.Config.ErrorLog = log.New(io.Discard, "", 0)
	if opts.TLS != nil {
		s.http.TLS = opts.TLS
		s.http.StartTLS()
	} else {
		s.http.Start()
	}
	if !opts.NoSeed {
		s.seed(s.clock())
	}
	return s
}

// URL is the server's root, e.g. http://127.0.0.1:41234.
func (s *Server) URL() string { return s.http.URL }

// LoginURL is what Config.LoginURL should be.
func (s *Server) LoginURL() string { return s.http.URL + "/" }

// GraphURL is what Config.GraphURL should be.
func (s *Server) GraphURL() string { return s.http.URL + "/v1.0/" }

// Close stops the server.
func (s *Server) Close() { s.http.Close() }

// Client is an http.Client that trusts the server (for TLS tests).
func (s *Server) Client() *http.Client { return s.http.Client() }

// TokenRequests counts the tokens issued.
func (s *Server) TokenRequests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tokenCount
}

// Requests counts the authenticated requests that reached an API.
func (s *Server) Requests(api API) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests[api]
}

// Revoked lists the users whose sign-in sessions were revoked, as named in
// the request path, in order.
func (s *Server) Revoked() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.revoked)
}

// Filters lists every $filter the call records listing received.
func (s *Server) Filters() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.filters)
}

// MaxInFlight is the most Graph requests that were being answered at once.
func (s *Server) MaxInFlight() int { return s.inFlight.Max() }

// Forbid makes an API answer 403, as when the app lacks its permission.
func (s *Server) Forbid(api API, forbidden bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.forbidden[api] = forbidden
}

// Intercept has every Graph request with a valid token answered by h
// instead; nil stops it.
func (s *Server) Intercept(h http.Handler) { s.fault.Set(h) }

// Throttle answers the next n Graph requests with status (429 or 503) and
// the Retry-After header retryAfter (omitted when empty).
func (s *Server) Throttle(n, status int, retryAfter string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.throttleLeft, s.throttleCode, s.retryAfter = n, status, retryAfter
}

// SetNextLinkBase makes next page links start with base instead of the
// server's own Graph URL, to test that a client does not follow them away.
func (s *Server) SetNextLinkBase(base string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextLinkBase = base
}

// graph wraps a Graph handler with the bearer token check, throttling, the
// permission switch and counting.
func (s *Server) graph(api API, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		defer s.inFlight.Enter()()
		time.Sleep(s.opts.Latency)
		auth := r.Header.Get("Authorization")
		tok, ok := strings.CutPrefix(auth, "Bearer ")
		if !ok || tok == "" {
			graphError(w, http.StatusUnauthorized, "InvalidAuthenticationToken", "Access token is empty.")
			return
		}
		s.mu.Lock()
		expiry, known := s.tokens[tok]
		now := s.clock()
		var throttled bool
		var code int
		var retryAfter string
		if known && now.Before(expiry) {
			s.requests[api]++
			if s.throttleLeft > 0 {
				s.throttleLeft--
				throttled, code, retryAfter = true, s.throttleCode, s.retryAfter
			}
		}
		forbidden := s.forbidden[api]
		s.mu.Unlock()
		switch {
		case !known:
			graphError(w, http.StatusUnauthorized, "InvalidAuthenticationToken", "IDX14100: JWT is not well formed.")
		case !now.Before(expiry):
			graphError(w, http.StatusUnauthorized, "InvalidAuthenticationToken", "Lifetime validation failed, the token is expired.")
		case throttled:
			if retryAfter != "" {
				w.Header().Set("Retry-After", retryAfter)
			}
			graphError(w, code, "TooManyRequests", "Too many requests, please try again later.")
		case forbidden:
			graphError(w, http.StatusForbidden, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
		case s.fault.Serve(w, r):
		default:
			h(w, r)
		}
	}
}

// token is the client credentials grant of
// POST /{tenant}/oauth2/v2.0/token.
func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "application/x-www-form-urlencoded" {
		oauthError(w, http.StatusBadRequest, "invalid_request", "AADSTS900144: The request body must contain the following parameter: 'grant_type'.")
		return
	}
	if err := r.ParseForm(); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", "AADSTS90014: The request body is not a valid form.")
		return
	}
	form := r.PostForm
	switch {
	case !strings.EqualFold(r.PathValue("tenant"), s.opts.TenantID):
		oauthError(w, http.StatusBadRequest, "invalid_request", fmt.Sprintf("AADSTS90002: Tenant '%s' not found. Check to make sure you have the correct tenant ID.", r.PathValue("tenant")))
	case form.Get("grant_type") != "client_credentials":
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "AADSTS70003: The app requested an unsupported grant type.")
	case form.Get("client_id") != s.opts.ClientID:
		oauthError(w, http.StatusBadRequest, "unauthorized_client", fmt.Sprintf("AADSTS700016: Application with identifier '%s' was not found in the directory.", form.Get("client_id")))
	case form.Get("client_secret") != s.opts.ClientSecret:
		oauthError(w, http.StatusUnauthorized, "invalid_client", fmt.Sprintf("AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '%s'.", s.opts.ClientID))
	case form.Get("scope") != Scope:
		oauthError(w, http.StatusBadRequest, "invalid_scope", fmt.Sprintf("AADSTS1002012: The provided value for scope %s is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier.", form.Get("scope")))
	default:
		tok := randomHex(24)
		lifetime := s.opts.TokenLifetime.Round(time.Second)
		s.mu.Lock()
		s.tokens[tok] = s.clock().Add(lifetime)
		s.tokenCount++
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, map[string]any{
			"token_type":     "Bearer",
			"expires_in":     int(lifetime / time.Second),
			"ext_expires_in": int(lifetime / time.Second),
			"access_token":   tok,
		})
	}
}

func (s *Server) listUsers(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if !s.checkParams(w, q, "$top", "$select") || !checkSelect(w, q.Get("$select")) {
		return
	}
	top := len(s.users)
	if v := q.Get("$top"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 999 {
			graphError(w, http.StatusBadRequest, "Request_BadRequest", fmt.Sprintf("Invalid page size specified: '%s'. Must be between 1 and 999 inclusive.", v))
			return
		}
		top = n
	}
	s.mu.Lock()
	var value []map[string]any
	for i, u := range s.users {
		if i == top {
			break
		}
		value = append(value, u.wire())
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"@odata.context": s.GraphURL() + "$metadata#users", "value": value})
}

func (s *Server) getUser(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if !s.checkParams(w, q, "$select") || !checkSelect(w, q.Get("$select")) {
		return
	}
	u, ok := s.findUser(r.PathValue("user"))
	if !ok {
		userNotFound(w, r.PathValue("user"))
		return
	}
	body := u.wire()
	body["@odata.context"] = s.GraphURL() + "$metadata#users/$entity"
	writeJSON(w, http.StatusOK, body)
}

// revoke answers as Graph really does: 200 {"value": true}, not the
// documented 204.
func (s *Server) revoke(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if len(strings.TrimSpace(string(body))) > 0 {
		graphError(w, http.StatusBadRequest, "BadRequest", "The request body must be empty.")
		return
	}
	name := r.PathValue("user")
	if _, ok := s.findUser(name); !ok {
		userNotFound(w, name)
		return
	}
	s.mu.Lock()
	s.revoked = append(s.revoked, name)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"@odata.context": s.GraphURL() + "$metadata#Edm.Boolean", "value": true})
}

// filterForm is the one $filter form the fake accepts: the documented
// participant and start time filter.
var filterForm = regexp.MustCompile(`^participants_v2/any\(p:p/id eq '((?:[^']|'')+)'\) and startDateTime ge (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,7})?Z) and startDateTime lt (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,7})?Z)$`)

func (s *Server) listCallRecords(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if tok := q.Get("$skiptoken"); tok != "" {
		if !s.checkParams(w, q, "$skiptoken") {
			return
		}
		s.mu.Lock()
		p, ok := s.pages[tok]
		delete(s.pages, tok)
		s.mu.Unlock()
		if !ok || p.recordIDs == nil {
			graphError(w, http.StatusBadRequest, "BadRequest", "The skip token is not valid or has expired.")
			return
		}
		s.writeRecordPage(w, p.recordIDs)
		return
	}
	if !s.checkParams(w, q, "$filter") {
		return
	}
	filter := q.Get("$filter")
	s.mu.Lock()
	s.filters = append(s.filters, filter)
	s.mu.Unlock()
	m := filterForm.FindStringSubmatch(filter)
	if m == nil {
		graphError(w, http.StatusBadRequest, "BadRequest", fmt.Sprintf("Invalid filter clause: only participants_v2/any(p:p/id eq '<id>') and startDateTime ge <time> and startDateTime lt <time> is supported, got %q.", filter))
		return
	}
	userID := strings.ReplaceAll(m[1], "''", "'")
	since, _ := time.Parse(time.RFC3339Nano, m[2])
	until, _ := time.Parse(time.RFC3339Nano, m[3])
	s.mu.Lock()
	var ids []string
	oldest := s.clock().Add(-30 * 24 * time.Hour)
	for _, c := range s.calls {
		if c.Start.Before(since) || !c.Start.Before(until) || c.Start.Before(oldest) || !c.hasParticipant(userID) {
			continue
		}
		ids = append(ids, c.ID)
	}
	s.mu.Unlock()
	s.writeRecordPage(w, ids)
}

func (s *Server) writeRecordPage(w http.ResponseWriter, ids []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	body := map[string]any{"@odata.context": s.GraphURL() + "$metadata#communications/callRecords"}
	if len(ids) > s.opts.PageSize {
		tok := randomHex(12)
		s.pages[tok] = page{recordIDs: ids[s.opts.PageSize:]}
		ids = ids[:s.opts.PageSize]
		body["@odata.nextLink"] = s.nextBase() + "communications/callRecords?$skiptoken=" + tok
	}
	value := []map[string]any{}
	for _, id := range ids {
		if c, ok := s.call(id); ok {
			value = append(value, c.wire(s))
		}
	}
	body["value"] = value
	writeJSON(w, http.StatusOK, body)
}

func (s *Server) getCallRecord(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if !s.checkParams(w, q, "$expand", "$select") {
		return
	}
	expand := q.Get("$expand")
	switch expand {
	case "", "sessions", "sessions($expand=segments)":
	default:
		graphError(w, http.StatusBadRequest, "BadRequest", fmt.Sprintf("Parsing OData Select and Expand failed: unsupported $expand %q.", expand))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.call(r.PathValue("id"))
	if !ok || c.Start.Before(s.clock().Add(-30*24*time.Hour)) {
		graphError(w, http.StatusNotFound, "NotFound", "The requested call record was not found.")
		return
	}
	body := c.wire(s)
	body["@odata.context"] = s.GraphURL() + "$metadata#communications/callRecords/$entity"
	if expand != "" {
		segments := expand == "sessions($expand=segments)"
		sessions := c.Sessions
		if len(sessions) > s.opts.SessionPageSize {
			sessions = sessions[:s.opts.SessionPageSize]
			// The form Graph's own documentation shows: a $metadata URL.
			body["sessions@odata.nextLink"] = s.GraphURL() + "$metadata#communications/callRecords('" + c.ID + "')/sessions?$expand=segments&$skiptoken=abc"
		}
		body["sessions"] = c.wireSessions(s, sessions, segments)
	}
	writeJSON(w, http.StatusOK, body)
}

func (s *Server) listSessions(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if !s.checkParams(w, q, "$expand", "$skiptoken") {
		return
	}
	if e := q.Get("$expand"); e != "" && e != "segments" {
		graphError(w, http.StatusBadRequest, "BadRequest", fmt.Sprintf("Parsing OData Select and Expand failed: unsupported $expand %q.", e))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	id, offset := r.PathValue("id"), 0
	if tok := q.Get("$skiptoken"); tok != "" {
		p, ok := s.pages[tok]
		delete(s.pages, tok)
		if !ok || p.callID != id {
			graphError(w, http.StatusBadRequest, "BadRequest", "The skip token is not valid or has expired.")
			return
		}
		offset = p.offset
	}
	c, ok := s.call(id)
	if !ok {
		graphError(w, http.StatusNotFound, "NotFound", "The requested call record was not found.")
		return
	}
	sessions := c.Sessions[min(offset, len(c.Sessions)):]
	body := map[string]any{"@odata.context": s.GraphURL() + "$metadata#communications/callRecords('" + id + "')/sessions"}
	if len(sessions) > s.opts.SessionPageSize {
		sessions = sessions[:s.opts.SessionPageSize]
		tok := randomHex(12)
		s.pages[tok] = page{callID: id, offset: offset + s.opts.SessionPageSize}
		body["@odata.nextLink"] = s.nextBase() + "communications/callRecords/" + id + "/sessions?$expand=segments&$skiptoken=" + tok
	}
	body["value"] = c.wireSessions(s, sessions, q.Get("$expand") == "segments")
	writeJSON(w, http.StatusOK, body)
}

// checkParams refuses query parameters the endpoint does not take.
func (s *Server) checkParams(w http.ResponseWriter, q map[string][]string, allowed ...string) bool {
	names := make([]string, 0, len(q))
	for k := range q {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if !slices.Contains(allowed, k) || len(q[k]) != 1 {
			graphError(w, http.StatusBadRequest, "BadRequest", fmt.Sprintf("Query option '%s' is not allowed here or given twice.", k))
			return false
		}
	}
	return true
}

func checkSelect(w http.ResponseWriter, sel string) bool {
	if sel == "" {
		return true
	}
	for _, f := range strings.Split(sel, ",") {
		switch strings.TrimSpace(f) {
		case "id", "displayName", "userPrincipalName", "mail":
		default:
			graphError(w, http.StatusBadRequest, "BadRequest", fmt.Sprintf("Could not find a property named '%s' on type 'microsoft.graph.user'.", f))
			return false
		}
	}
	return true
}

func (s *Server) nextBase() string {
	if s.nextLinkBase != "" {
		return s.nextLinkBase
	}
	return s.GraphURL()
}

func userNotFound(w http.ResponseWriter, name string) {
	graphError(w, http.StatusNotFound, "Request_ResourceNotFound", fmt.Sprintf("Resource '%s' does not exist or one of its queried reference-property objects are not present.", name))
}

func graphError(w http.ResponseWriter, status int, code, message string) {
	writeJSON(w, status, map[string]any{"error": map[string]any{
		"code":       code,
		"message":    message,
		"innerError": map[string]any{"date": time.Now().UTC().Format(time.RFC3339), "request-id": randomHex(8)},
	}})
}

func oauthError(w http.ResponseWriter, status int, code, description string) {
	writeJSON(w, status, map[string]any{
		"error":             code,
		"error_description": description + "\r\nTrace ID: " + randomHex(8) + "\r\nTimestamp: " + time.Now().UTC().Format("2006-01-02 15:04:05Z"),
		"error_codes":       []int{0},
		"trace_id":          randomHex(8),
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; odata.metadata=minimal; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
