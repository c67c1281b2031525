package commvaulttest

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Commvault's error codes as the fake uses them.
const (
	codeBadCredentials = 5
	codeLocked         = 1127
	codeBadRequest     = 2
	codeNoSuchSession  = 3
)

// maxBody bounds what the fake reads of a request body.
const maxBody = 1 << 20

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	rest, ok := strings.CutPrefix(r.URL.EscapedPath(), s.base)
	if !ok || (rest != "" && rest[0] != '/') {
		s.count(r.Method + " (outside the web service)")
		notFoundPage(w)
		return
	}
	route, arg := routeOf(rest)
	s.count(r.Method + " " + route)
	if r.Method == http.MethodDelete && route == "/Sessions" {
		s.mu.Lock()
		s.deletes++
		s.mu.Unlock()
	}
	switch route {
	case "/Login":
		s.serveLogin(w, r)
	case "/Logout":
		s.serveLogout(w, r)
	case "/User", "/User/byName", "/Session", "/Sessions":
		s.serveAPI(w, r, route, arg)
	default:
		notFoundPage(w)
	}
}

// routeOf names the route of an escaped path below the base, and returns
// the byName segment's argument still escaped.
func routeOf(rest string) (route, arg string) {
	if seg, ok := strings.CutPrefix(rest, "/User/"); ok && strings.HasPrefix(seg, "byName(") {
		return "/User/byName", seg
	}
	return rest, ""
}

func (s *Server) count(route string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests[route]++
}

// loginRequest is the JSON body of POST /Login. Pointers tell a missing
// field from an empty one.
type loginRequest struct {
	Username   *string `json:"username"`
	Password   *string `json:"password"`
	Domain     string  `json:"domain"`
	Timeout    *int    `json:"timeout"`
	DeviceID   string  `json:"deviceId"`
	Commserver string  `json:"commserver"`
}

func (s *Server) serveLogin(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		s.writeError(w, r, http.StatusMethodNotAllowed, codeBadRequest, "Login takes POST")
		return
	}
	s.mu.Lock()
	s.loginAttempts++
	mode := s.loginMode
	s.mu.Unlock()
	if s.misbehave(w, r, mode) {
		return
	}
	if !isMediaType(r.Header.Get("Content-Type"), "application/json") {
		s.writeErrList(w, r, http.StatusBadRequest, codeBadRequest, "Login expects Content-Type application/json")
		return
	}
	var body loginRequest
	dec := json.NewDecoder(io.LimitReader(r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil || dec.More() {
		s.writeErrList(w, r, http.StatusBadRequest, codeBadRequest, "Malformed login request")
		return
	}
	if body.Username == nil || body.Password == nil || *body.Username == "" {
		s.writeErrList(w, r, http.StatusBadRequest, codeBadRequest, "Login needs username and password")
		return
	}
	if body.Timeout != nil && *body.Timeout < 0 {
		s.writeErrList(w, r, http.StatusBadRequest, codeBadRequest, "timeout is negative")
		return
	}
	name := *body.Username
	if body.Domain != "" {
		name = body.Domain + `\` + name
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.userNamed(name)
	if u != nil && u.Locked {
		s.writeErrList(w, r, http.StatusOK, codeLocked,
			fmt.Sprintf("Account [%s] is locked due to too many failed login attempts. Contact your CommCell administrator.", u.Name))
		return
	}
	// The password travels as base64 of its UTF-8 bytes; plain text fails.
	password, err := base64.StdEncoding.DecodeString(*body.Password)
	if u == nil || u.Password == "" || err != nil || string(password) != u.Password {
		if u != nil {
			s.failures[u.ID]++
			if s.opts.LockAfter > 0 && s.failures[u.ID] >= s.opts.LockAfter {
				u.Locked = true
			}
		}
		s.writeErrList(w, r, http.StatusOK, codeBadCredentials, "Invalid Username or Password")
		return
	}
	delete(s.failures, u.ID)
	ttl := s.opts.TokenTTL
	if body.Timeout != nil && *body.Timeout > 0 {
		ttl = time.Duration(*body.Timeout) * time.Minute
	}
	value := "QSDK " + randomHex(32)
	s.tokens[value] = &token{userID: u.ID, ttl: ttl, expires: s.now().Add(ttl)}
	s.issued = append(s.issued, value)
	s.logins++
	answer := loginAnswer{Token: value, UserName: u.Name, UserGUID: guidOf(u.ID), AliasName: strconv.Itoa(u.ID), SMTPAddress: u.Email}
	if wantsJSON(r) {
		writeJSON(w, http.StatusOK, answer)
	} else {
		writeXML(w, http.StatusOK, answer)
	}
}

// loginAnswer is what Commvault answers a good login, in part.
type loginAnswer struct {
	XMLName     xml.Name `json:"-" xml:"DM2ContentIndexing_CheckCredentialResp"`
	AliasName   string   `json:"aliasName" xml:"aliasName,attr"`
	UserGUID    string   `json:"userGUID" xml:"userGUID,attr"`
	UserName    string   `json:"userName" xml:"userName,attr"`
	SMTPAddress string   `json:"smtpAddress" xml:"smtpAddress,attr"`
	Token       string   `json:"token" xml:"token,attr"`
}

func (s *Server) serveLogout(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		s.writeError(w, r, http.StatusMethodNotAllowed, codeBadRequest, "Logout takes POST")
		return
	}
	s.mu.Lock()
	value := r.Header.Get("Authtoken")
	_, ok := s.tokens[value]
	if ok {
		delete(s.tokens, value)
		s.logouts++
	}
	s.mu.Unlock()
	if !ok {
		s.writeError(w, r, http.StatusUnauthorized, codeBadCredentials, "Access denied: the token is missing, invalid or expired")
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	io.WriteString(w, "User logged out")
}

// serveAPI answers the calls that need a token.
func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request, route, arg string) {
	defer s.inFlight.Enter()()
	s.mu.Lock()
	mode := s.mode
	s.mu.Unlock()
	if s.misbehave(w, r, mode) {
		return
	}
	if !s.authorised(r) {
		s.writeError(w, r, http.StatusUnauthorized, codeBadCredentials, "Access denied: the token is missing, invalid or expired")
		return
	}
	if s.fault.Serve(w, r) {
		return
	}
	switch {
	case route == "/User" && r.Method == http.MethodGet:
		s.serveUsers(w, r, "")
	case route == "/User/byName" && r.Method == http.MethodGet:
		s.serveByName(w, r, arg)
	case (route == "/Session" || route == "/Sessions") && r.Method == http.MethodGet:
		s.serveSessions(w, r, route)
	case route == "/Sessions" && r.Method == http.MethodDelete:
		s.serveLogoff(w, r)
	default:
		s.writeError(w, r, http.StatusMethodNotAllowed, codeBadRequest, r.Method+" is not allowed on "+route)
	}
}

// authorised checks the Authtoken header and slides the token's expiry.
func (s *Server) authorised(r *http.Request) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if mode := s.mode; mode == Unauthorized {
		return false
	}
	values := r.Header.Values("Authtoken")
	if len(values) != 1 {
		return false
	}
	t, ok := s.tokens[values[0]]
	if !ok {
		return false
	}
	now := s.now()
	if !now.Before(t.expires) {
		delete(s.tokens, values[0])
		return false
	}
	t.expires = now.Add(t.ttl)
	return true
}

// misbehave answers as mode says and reports whether it did.
func (s *Server) misbehave(w http.ResponseWriter, r *http.Request, mode Mode) bool {
	switch mode {
	case HTML:
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, "<!DOCTYPE html>\n<html><head><title>Command Center</title></head><body><div id=\"app\">Loading...</div></body></html>\n")
	case Garbage:
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"sessions":[{"sessionId":"EMC12`)
	case ServerError:
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusInternalServerError)
		io.WriteString(w, "java.lang.NullPointerException\n\tat com.commvault.webservice.SessionService.get(SessionService.java:212)\n")
	case Forbidden:
		s.writeError(w, r, http.StatusForbidden, 587, "User does not have the required permissions to perform this operation")
	case Slow:
		select {
		case <-time.After(s.opts.SlowDelay):
		case <-r.Context().Done():
			return true
		case <-s.closed:
			return true
		}
		return false
	default:
		return false // Healthy, and Unauthorized, which authorised handles
	}
	return true
}

func (s *Server) serveUsers(w http.ResponseWriter, r *http.Request, only string) {
	s.mu.Lock()
	var list []wireUser
	for _, u := range s.users {
		if only == "" || strings.EqualFold(u.Name, only) {
			list = append(list, toWireUser(u))
		}
	}
	s.mu.Unlock()
	if wantsJSON(r) {
		if list == nil {
			io.WriteString(jsonHeader(w), "{}")
			return
		}
		writeJSON(w, http.StatusOK, struct {
			Users []wireUser `json:"users"`
		}{list})
		return
	}
	writeXML(w, http.StatusOK, struct {
		XMLName xml.Name   `xml:"App_GetUserPropertiesResponse"`
		Users   []wireUser `xml:"users"`
	}{Users: list})
}

// switchedOff answers 404 as a release without the route does, when the
// test switched the route off (off points at its switch).
func (s *Server) switchedOff(w http.ResponseWriter, off *bool) bool {
	s.mu.Lock()
	isOff := *off
	s.mu.Unlock()
	if isOff {
		notFoundPage(w)
	}
	return isOff
}

// serveByName reads byName(userName='...'), where a quote inside the name
// is doubled, as OData strings have it.
func (s *Server) serveByName(w http.ResponseWriter, r *http.Request, arg string) {
	if s.switchedOff(w, &s.noByName) {
		return
	}
	raw, err := url.PathUnescape(arg)
	if err != nil {
		s.writeError(w, r, http.StatusBadRequest, codeBadRequest, "malformed path escape")
		return
	}
	inner, ok := strings.CutPrefix(raw, "byName(userName='")
	if ok {
		inner, ok = strings.CutSuffix(inner, "')")
	}
	if !ok || strings.Contains(strings.ReplaceAll(inner, "''", ""), "'") {
		s.writeError(w, r, http.StatusBadRequest, codeBadRequest, "malformed byName(userName='...'): quotes inside a name are doubled")
		return
	}
	s.serveUsers(w, r, strings.ReplaceAll(inner, "''", "'"))
}

func (s *Server) serveSessions(w http.ResponseWriter, r *http.Request, route string) {
	s.mu.Lock()
	routes, form := s.routes, s.form
	s.mu.Unlock()
	if (route == "/Session" && routes == OnlySessions) || (route == "/Sessions" && routes == OnlySession) {
		notFoundPage(w)
		return
	}
	q := r.URL.Query()
	ids := q["userId"]
	if len(ids) != 1 || len(q) != 1 {
		s.writeError(w, r, http.StatusBadRequest, codeBadRequest, "expected exactly one query parameter, userId")
		return
	}
	userID, err := strconv.Atoi(ids[0])
	if err != nil || userID <= 0 {
		s.writeError(w, r, http.StatusBadRequest, codeBadRequest, fmt.Sprintf("userId %q is not a user id", ids[0]))
		return
	}
	s.mu.Lock()
	var list []wireSession
	if u := s.userByID(userID); u != nil {
		for _, sess := range s.sessions {
			if sess.UserID == userID {
				list = append(list, toWireSession(sess, *u))
			}
		}
	}
	s.mu.Unlock()

	switch {
	case form == FormXML || (form == FormAuto && !wantsJSON(r)):
		writeSessionsXML(w, list)
	case form == FormArray:
		if list == nil {
			list = []wireSession{}
		}
		writeJSON(w, http.StatusOK, list)
	case form == FormObject && len(list) == 1:
		writeJSON(w, http.StatusOK, list[0])
	case len(list) == 0:
		io.WriteString(jsonHeader(w), "{}") // Commvault leaves empty lists out
	default:
		writeJSON(w, http.StatusOK, struct {
			Sessions []wireSession `json:"sessions"`
		}{list})
	}
}

// logoffRequest is the body of DELETE /Sessions.
type logoffRequest struct {
	XMLName  xml.Name `xml:"Api_LogoffUsersRequest"`
	Sessions []struct {
		Val *string `xml:"val,attr"`
	} `xml:"sessions"`
}

func (s *Server) serveLogoff(w http.ResponseWriter, r *http.Request) {
	if s.switchedOff(w, &s.noLogoff) {
		return
	}
	if ct := r.Header.Get("Content-Type"); !isMediaType(ct, "application/xml") && !isMediaType(ct, "text/xml") {
		s.writeErrList(w, r, http.StatusBadRequest, codeBadRequest, fmt.Sprintf("Content-Type %q: DELETE Sessions takes an XML body", ct))
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if err != nil {
		return
	}
	ids, err := parseLogoff(body)
	if err != nil {
		s.writeErrList(w, r, http.StatusBadRequest, codeBadRequest, "Malformed Api_LogoffUsersRequest: "+err.Error())
		return
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	var found []int
	for _, id := range ids {
		i := s.sessionIndex(id)
		if i < 0 {
			s.writeErrList(w, r, http.StatusOK, codeNoSuchSession, fmt.Sprintf("Session [%s] not found", id))
			return // all or nothing
		}
		found = append(found, i)
	}
	now := s.now()
	for _, i := range found {
		if s.sessions[i].Active() {
			s.sessions[i].LogoutTime = now
		}
	}
	if wantsJSON(r) {
		io.WriteString(jsonHeader(w), "{}")
		return
	}
	w.Header().Set("Content-Type", "application/xml; charset=utf-8")
	io.WriteString(w, "<Api_LogoffUsersResponse />")
}

// parseLogoff reads the session ids of an Api_LogoffUsersRequest, refusing
// anything else: another root, a sessions element without val, trailing
// content.
func parseLogoff(body []byte) ([]string, error) {
	dec := xml.NewDecoder(bytes.NewReader(body))
	var req logoffRequest
	if err := dec.Decode(&req); err != nil {
		return nil, err
	}
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		if cd, ok := tok.(xml.CharData); ok && len(bytes.TrimSpace(cd)) == 0 {
			continue
		}
		if _, ok := tok.(xml.Comment); ok {
			continue
		}
		return nil, errors.New("content after the root element")
	}
	if len(req.Sessions) == 0 {
		return nil, errors.New("no sessions element")
	}
	var ids []string
	for _, sess := range req.Sessions {
		if sess.Val == nil || *sess.Val == "" {
			return nil, errors.New("a sessions element without val")
		}
		ids = append(ids, *sess.Val)
	}
	return ids, nil
}

// sessionIndex finds a session by id; the caller holds s.mu.
func (s *Server) sessionIndex(id string) int {
	for i, sess := range s.sessions {
		if sess.ID == id {
			return i
		}
	}
	return -1
}

// writeError answers Commvault's generic error shape.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, status, code int, msg string) {
	if wantsJSON(r) {
		writeJSON(w, status, struct {
			ErrorCode    int    `json:"errorCode"`
			ErrorMessage string `json:"errorMessage"`
		}{code, msg})
		return
	}
	writeXML(w, status, struct {
		XMLName      xml.Name `xml:"CVGui_GenericResp"`
		ErrorCode    int      `xml:"errorCode,attr"`
		ErrorMessage string   `xml:"errorMessage,attr"`
	}{ErrorCode: code, ErrorMessage: msg})
}

// writeErrList answers the errList shape of logins and logoffs.
func (s *Server) writeErrList(w http.ResponseWriter, r *http.Request, status, code int, msg string) {
	type entry struct {
		ErrorCode     int    `json:"errorCode" xml:"errorCode,attr"`
		ErrLogMessage string `json:"errLogMessage" xml:"errLogMessage,attr"`
	}
	list := []entry{{code, msg}}
	if wantsJSON(r) {
		writeJSON(w, status, struct {
			ErrList []entry `json:"errList"`
		}{list})
		return
	}
	writeXML(w, status, struct {
		XMLName xml.Name `xml:"CVGui_GenericResp"`
		ErrList []entry  `xml:"errList"`
	}{ErrList: list})
}

// notFoundPage is what the web server answers for a route it lacks.
func notFoundPage(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusNotFound)
	io.WriteString(w, "<html><body><h1>HTTP Status 404 - Not Found</h1></body></html>\n")
}

// wantsJSON reads Accept as Commvault does: JSON when asked, else XML.
func wantsJSON(r *http.Request) bool {
	return strings.Contains(strings.ToLower(r.Header.Get("Accept")), "json")
}

func isMediaType(header, want string) bool {
	mt, _, err := mime.ParseMediaType(header)
	return err == nil && mt == want
}

func jsonHeader(w http.ResponseWriter) http.ResponseWriter {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	return w
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	jsonHeader(w).WriteHeader(status)
	w.Write(data)
}

func writeXML(w http.ResponseWriter, status int, v any) {
	data, err := xml.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/xml; charset=utf-8")
	w.WriteHeader(status)
	io.WriteString(w, xml.Header)
	w.Write(data)
}
