package slacktest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// Limits Slack puts on a response_url.
const (
	MaxResponses        = 5
	ResponseURLLifetime = 30 * time.Minute
)

// Response is one post to a response_url that Slack accepted.
type Response struct {
	Text            string          `json:"text"`
	Blocks          json.RawMessage `json:"blocks"`
	ResponseType    string          `json:"response_type"`
	ReplaceOriginal bool            `json:"replace_original"`
	DeleteOriginal  bool            `json:"delete_original"`
	ThreadTS        string          `json:"thread_ts"`
	// At is when it arrived, by Clock.
	At time.Time `json:"-"`
}

type responseURL struct {
	created time.Time
	posts   []Response
}

// Responses returns what was posted to a response_url so far.
func (s *Server) Responses(responseID string) []Response {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u, ok := s.responseURLs[responseID]; ok {
		return append([]Response(nil), u.posts...)
	}
	return nil
}

// WaitResponses waits until n posts reached a response_url and returns
// them all.
func (s *Server) WaitResponses(responseID string, n int, timeout time.Duration) ([]Response, error) {
	s.mu.Lock()
	_, ok := s.responseURLs[responseID]
	s.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("slacktest: no response_url %q was handed out", responseID)
	}
	err := s.waitFor(timeout, func() bool { return len(s.responseURLs[responseID].posts) >= n })
	got := s.Responses(responseID)
	if err == errTimeout {
		return got, fmt.Errorf("slacktest: %d posts to response_url %s within %s, want %d", len(got), responseID, timeout, n)
	}
	return got, err
}

// serveResponse takes a post to a response_url as Slack does: JSON only,
// within 30 minutes, at most 5 times, and within Slack's message limits.
func (s *Server) serveResponse(w http.ResponseWriter, r *http.Request) {
	id := strings.TrimPrefix(r.URL.Path, "/response/")
	if r.Method != http.MethodPost {
		writeJSON(w, http.StatusMethodNotAllowed, fail("invalid_method"))
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 4<<20))
	var resp Response
	if err != nil || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") || json.Unmarshal(body, &resp) != nil {
		writeJSON(w, http.StatusBadRequest, fail("invalid_payload"))
		return
	}
	if isEmptyJSON(resp.Blocks) {
		resp.Blocks = nil
	}
	// Validated and answered outside the lock: the Socket Mode side takes
	// it for every ack, and a bot's replies must not delay when acks are
	// read (that would count against the bot under load).
	invalid := ValidateMessage(resp.Text, resp.Blocks)
	status, reply := s.acceptResponse(id, resp, invalid)
	writeJSON(w, status, reply)
}

// acceptResponse applies Slack's rules for a response_url post, in Slack's
// order, and records it when it is accepted.
func (s *Server) acceptResponse(id string, resp Response, invalid error) (int, any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.responseURLs[id]
	now := s.opts.Clock()
	switch {
	case !ok:
		return http.StatusNotFound, fail("invalid_url")
	case now.Sub(u.created) > ResponseURLLifetime:
		return http.StatusNotFound, fail("expired_url")
	case len(u.posts) >= MaxResponses:
		return http.StatusNotFound, fail("used_url")
	case resp.ResponseType != "" && resp.ResponseType != "ephemeral" && resp.ResponseType != "in_channel":
		return http.StatusBadRequest, fail("invalid_payload")
	case !resp.DeleteOriginal && resp.Text == "" && resp.Blocks == nil:
		return http.StatusBadRequest, fail("no_text")
	case invalid != nil:
		return http.StatusBadRequest, failWith(invalid)
	}
	resp.At = now
	u.posts = append(u.posts, resp)
	s.notify()
	return http.StatusOK, answer{"ok": true}
}
