package qliktest

import (
	"crypto/tls"
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"
)

var xrfkeyPattern = regexp.MustCompile(`^[0-9a-zA-Z]{16}$`)

// statusWriter remembers the status written, for the request log.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach the connection (for Drop).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// begin logs a request as it arrives and returns a function that records
// its status when it is answered.
func (s *Site) begin(p *proxy, r *http.Request, segments []string) func(status int) {
	rec := Request{
		Proxy:       p.index,
		Method:      r.Method,
		EscapedPath: r.URL.EscapedPath(),
		Segments:    segments,
		Xrfkey:      r.URL.Query().Get("xrfkey"),
		User:        r.Header.Get("X-Qlik-User"),
	}
	s.mu.Lock()
	n := len(s.requests)
	s.requests = append(s.requests, rec)
	if r.Method == http.MethodDelete && p.index != Repository {
		s.deletes++
	}
	s.mu.Unlock()
	return func(status int) {
		s.mu.Lock()
		s.requests[n].Status = status
		s.mu.Unlock()
	}
}

// misbehave applies the proxy's delay and failure mode. It reports whether
// it answered (or dropped) the request, leaving nothing more to do.
func (s *Site) misbehave(p *proxy, w http.ResponseWriter, r *http.Request) bool {
	s.mu.Lock()
	mode, delay, hang := p.mode, p.delay, s.hangDeletes && r.Method == http.MethodDelete
	s.mu.Unlock()
	if hang {
		s.wait(r, 24*time.Hour)
	}
	if delay > 0 {
		s.wait(r, delay)
	}
	switch mode {
	case HTML:
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte("<!DOCTYPE html>\n<html><head><title>Qlik Sense</title></head><body>Hub</body></html>\n"))
	case InvalidJSON:
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		_, _ = w.Write([]byte(`[{"UserDirectory":"DOMAIN","UserId":"marc","Attr`))
	case ServerError:
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte("Internal error\r\n\tat Qlik.Sense.Proxy.SessionModule.Get()\x00\x1b[31m " + strings.Repeat("frame ", 100)))
	case Forbidden:
		http.Error(w, "Forbidden", http.StatusForbidden)
	case Slow:
		s.wait(r, s.opts.SlowDelay)
		return false
	case Drop:
		drop(w)
	default:
		return false
	}
	return true
}

// wait sleeps d unless the client gives up or the site closes first. Then
// it abandons the request without a word: an answer written after the
// client left could still reach it and pass for a real one.
func (s *Site) wait(r *http.Request, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return
	case <-r.Context().Done():
	case <-s.closed:
	}
	panic(http.ErrAbortHandler)
}

// drop takes the connection from the server and closes the TCP socket
// under TLS, with no close_notify: a proxy that crashed mid-request.
func drop(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler) // the server then closes the connection unanswered
	}
	if tc, ok := conn.(*tls.Conn); ok {
		if tcp, ok := tc.NetConn().(*net.TCPConn); ok {
			_ = tcp.SetLinger(0) // a reset, not an orderly close
		}
		_ = tc.NetConn().Close()
		return
	}
	_ = conn.Close()
}

// authorized applies Qlik's checks: an xrfkey of 16 letters and digits in
// both the query and the X-Qlik-Xrfkey header, the same in both, and an
// X-Qlik-User header.
func authorized(w http.ResponseWriter, r *http.Request) bool {
	query := r.URL.Query()["xrfkey"]
	header := r.Header.Values("X-Qlik-Xrfkey")
	switch {
	case len(query) != 1 || len(header) != 1 || query[0] != header[0] || !xrfkeyPattern.MatchString(query[0]):
		http.Error(w, "XSRF prevention check failed. Possible XSRF discovered.", http.StatusForbidden)
		return false
	case !strings.Contains(r.Header.Get("X-Qlik-User"), "UserDirectory=") || !strings.Contains(r.Header.Get("X-Qlik-User"), "UserId="):
		http.Error(w, "X-Qlik-User header missing or not of the form UserDirectory=...; UserId=...", http.StatusForbidden)
		return false
	}
	return true
}

// segments splits an escaped path after prefix into unescaped segments.
// An empty segment ("//" or a trailing slash) is a 404, as on Qlik; a bare
// "." or ".." is refused, since a real server would resolve it and land on
// another route.
func segments(w http.ResponseWriter, escapedPath, prefix string) ([]string, bool) {
	rest, ok := strings.CutPrefix(escapedPath, prefix)
	if !ok || rest == "" {
		http.NotFound(w, nil)
		return nil, false
	}
	var out []string
	for _, raw := range strings.Split(rest, "/") {
		if raw == "" {
			http.NotFound(w, nil)
			return nil, false
		}
		if raw == "." || raw == ".." {
			http.Error(w, "dot segment in path: "+raw, http.StatusBadRequest)
			return nil, false
		}
		seg, err := url.PathUnescape(raw)
		if err != nil {
			http.Error(w, "bad escape in path", http.StatusBadRequest)
			return nil, false
		}
		out = append(out, seg)
	}
	return out, true
}

// serveProxy answers the Proxy Service API routes sessionbot uses.
func (s *Site) serveProxy(p *proxy, rw http.ResponseWriter, r *http.Request) {
	w := &statusWriter{ResponseWriter: rw}
	segs, _ := splitQuietly(r.URL.EscapedPath(), "/qps/")
	done := s.begin(p, r, segs)
	defer func() { done(w.status) }()

	if s.misbehave(p, w, r) || !authorized(w, r) || s.fault.Serve(w, r) {
		return
	}
	segs, ok := segments(w, r.URL.EscapedPath(), "/qps/")
	if !ok {
		return
	}
	if len(segs) == 1 && segs[0] == "alive" && r.Method == http.MethodGet {
		writeJSON(w, true)
		return
	}
	if s.vp != "" {
		if !strings.EqualFold(segs[0], s.vp) {
			http.NotFound(w, r)
			return
		}
		segs = segs[1:]
	}
	route := func(method string, shape ...string) bool {
		if len(segs) != len(shape) {
			return false
		}
		for i, want := range shape {
			if want != "*" && segs[i] != want {
				return false
			}
		}
		return r.Method == method
	}
	switch {
	case route(http.MethodGet, "session"):
		writeJSON(w, s.Sessions(p.index))
	case route(http.MethodGet, "session", "*"):
		if sess, ok := s.find(p, segs[1]); ok {
			writeJSON(w, sess)
		} else {
			http.Error(w, "Session not found", http.StatusNotFound)
		}
	case route(http.MethodDelete, "session", "*"):
		sess, last, ok := s.deleteSession(p, segs[1])
		if !ok {
			http.Error(w, "Session not found", http.StatusNotFound)
			return
		}
		if s.opts.DeleteAnswersPlainSession {
			writeJSON(w, sess)
			return
		}
		writeJSON(w, map[string]any{"Session": sess, "LastSessionForUser": last})
	case route(http.MethodGet, "user", "*", "*"):
		s.answerList(w, s.userSessions(p, segs[1], segs[2], false))
	case route(http.MethodDelete, "user", "*", "*"):
		s.answerList(w, s.userSessions(p, segs[1], segs[2], true))
	case len(segs) >= 1 && (segs[0] == "session" || segs[0] == "user") && len(segs) <= 3:
		http.Error(w, "Method not allowed", http.StatusMethodNotAllowed)
	default:
		http.NotFound(w, r)
	}
}

// serveRepository answers GET /qrs/proxyservice/full with every proxy.
func (s *Site) serveRepository(rw http.ResponseWriter, r *http.Request) {
	w := &statusWriter{ResponseWriter: rw}
	segs, _ := splitQuietly(r.URL.EscapedPath(), "/qrs/")
	done := s.begin(s.repo, r, segs)
	defer func() { done(w.status) }()

	if s.misbehave(s.repo, w, r) || !authorized(w, r) {
		return
	}
	if r.URL.EscapedPath() != "/qrs/proxyservice/full" {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodGet {
		http.Error(w, "Method not allowed", http.StatusMethodNotAllowed)
		return
	}
	type (
		settings struct {
			ListenPort     int              `json:"listenPort"`
			RestListenPort int              `json:"restListenPort"`
			VirtualProxies []map[string]any `json:"virtualProxies"`
		}
		node struct {
			ID       string `json:"id"`
			Name     string `json:"name"`
			HostName string `json:"hostName"`
		}
		service struct {
			ID                      string   `json:"id"`
			Settings                settings `json:"settings"`
			ServerNodeConfiguration node     `json:"serverNodeConfiguration"`
		}
	)
	var out []service
	for i, p := range s.proxies {
		port := p.srv.Listener.Addr().(*net.TCPAddr).Port
		out = append(out, service{
			ID: guidFor(i, 0xA),
			Settings: settings{
				ListenPort:     443,
				RestListenPort: port,
				VirtualProxies: []map[string]any{{"prefix": s.vp, "description": "Central Proxy (Default)"}},
			},
			ServerNodeConfiguration: node{ID: guidFor(i, 0xB), Name: "node" + string(rune('1'+i)), HostName: "127.0.0.1"},
		})
	}
	writeJSON(w, out)
}

// splitQuietly is segments for the request log, writing nothing.
func splitQuietly(escapedPath, prefix string) ([]string, bool) {
	rest, ok := strings.CutPrefix(escapedPath, prefix)
	if !ok {
		return nil, false
	}
	var out []string
	for _, raw := range strings.Split(rest, "/") {
		seg, err := url.PathUnescape(raw)
		if err != nil {
			seg = raw
		}
		out = append(out, seg)
	}
	return out, true
}

func (s *Site) answerList(w http.ResponseWriter, list []Session) {
	if len(list) == 0 && s.opts.NotFoundForNoSessions {
		http.Error(w, "User not found", http.StatusNotFound)
		return
	}
	writeJSON(w, list)
}

func (s *Site) find(p *proxy, id string) (Session, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, sess := range p.sessions {
		if strings.EqualFold(sess.SessionID, id) {
			return sess.clone(), true
		}
	}
	return Session{}, false
}

// deleteSession removes a session and says whether its user has none left
// on this proxy.
func (s *Site) deleteSession(p *proxy, id string) (Session, bool, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, sess := range p.sessions {
		if strings.EqualFold(sess.SessionID, id) {
			p.sessions = append(p.sessions[:k:k], p.sessions[k+1:]...)
			last := true
			for _, other := range p.sessions {
				if other.sameUser(sess.UserDirectory, sess.UserID) {
					last = false
				}
			}
			return sess, last, true
		}
	}
	return Session{}, false, false
}

// userSessions lists (and with remove, takes away) one user's sessions,
// matching directory and id case-insensitively as Qlik does.
func (s *Site) userSessions(p *proxy, directory, id string, remove bool) []Session {
	s.mu.Lock()
	defer s.mu.Unlock()
	matched, kept := []Session{}, []Session{}
	for _, sess := range p.sessions {
		if sess.sameUser(directory, id) {
			matched = append(matched, sess.clone())
		} else {
			kept = append(kept, sess)
		}
	}
	if remove {
		p.sessions = kept
	}
	return matched
}

func writeJSON(w http.ResponseWriter, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_, _ = w.Write(body)
}
