package slacktest

import (
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// File is one upload through files.getUploadURLExternal, the upload URL and
// files.completeUploadExternal.
type File struct {
	ID       string
	Name     string
	AltText  string
	Title    string
	Length   int    // announced to files.getUploadURLExternal
	Bytes    []byte // what was uploaded
	Uploaded bool
	// Channel and ThreadTS are where files.completeUploadExternal shared
	// it; Completed is false until then.
	Channel   string
	ThreadTS  string
	Completed bool
}

// files are the uploads by id, kept beside the Server's other state.
type files struct {
	byID  map[string]*File
	order []string
}

func init() {
	methods["files.getUploadURLExternal"] = method{handle: (*Server).filesGetUploadURLExternal}
	methods["files.completeUploadExternal"] = method{handle: (*Server).filesCompleteUploadExternal}
}

// hasScope is false when the fake was given scopes and scope is not one.
func (s *Server) hasScope(scope string) bool {
	return s.opts.Scopes == nil || slices.Contains(s.opts.Scopes, scope)
}

func (s *Server) filesGetUploadURLExternal(p params) answer {
	if !s.hasScope("files:write") {
		return answer{"ok": false, "error": "missing_scope", "needed": "files:write", "provided": strings.Join(s.opts.Scopes, ",")}
	}
	name, length := p.get("filename"), p.get("length")
	n, err := strconv.Atoi(length)
	if name == "" || err != nil || n <= 0 {
		return fail("invalid_arguments")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.files.byID == nil {
		s.files.byID = map[string]*File{}
	}
	id := fmt.Sprintf("F0TEST%06d", s.nextSeq())
	s.files.byID[id] = &File{ID: id, Name: name, AltText: p.get("alt_txt"), Length: n}
	s.files.order = append(s.files.order, id)
	return answer{"ok": true, "upload_url": s.http.URL + "/upload/" + id, "file_id": id}
}

// serveUpload takes a file's bytes at its upload URL: a multipart form
// with a "file" part, as slack-go sends, or the raw body.
func (s *Server) serveUpload(w http.ResponseWriter, r *http.Request) {
	id := strings.TrimPrefix(r.URL.Path, "/upload/")
	if r.Method != http.MethodPost {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	body, err := readUpload(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.files.byID[id]
	switch {
	case !ok:
		http.Error(w, "no such upload", http.StatusNotFound)
		return
	case f.Uploaded:
		s.violation("file %s uploaded twice", id)
	case len(body) != f.Length:
		s.violation("file %s: %d bytes uploaded, %d announced to files.getUploadURLExternal", id, len(body), f.Length)
	}
	f.Bytes, f.Uploaded = body, true
	s.notify()
	fmt.Fprintf(w, "OK - %d", len(body))
}

func readUpload(r *http.Request) ([]byte, error) {
	mediaType, ps, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || !strings.HasPrefix(mediaType, "multipart/") {
		return io.ReadAll(io.LimitReader(r.Body, 64<<20))
	}
	mr := multipart.NewReader(r.Body, ps["boundary"])
	for {
		part, err := mr.NextPart()
		if err != nil {
			return nil, fmt.Errorf("no file part in the upload: %v", err)
		}
		if part.FormName() == "file" {
			return io.ReadAll(io.LimitReader(part, 64<<20))
		}
	}
}

func (s *Server) filesCompleteUploadExternal(p params) answer {
	var list []struct {
		ID    string `json:"id"`
		Title string `json:"title"`
	}
	if err := json.Unmarshal([]byte(p.get("files")), &list); err != nil || len(list) == 0 {
		return fail("invalid_arguments")
	}
	channel, threadTS := p.get("channel_id"), p.get("thread_ts")
	if threadTS != "" && channel == "" {
		return fail("invalid_arguments")
	}
	if blocks := json.RawMessage(p.get("blocks")); !isEmptyJSON(blocks) && p.get("initial_comment") == "" {
		if err := ValidateMessage("", blocks); err != nil {
			return failWith(err)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if threadTS != "" {
		if _, ok := s.messageLocked(channel, threadTS); !ok {
			s.violation("files.completeUploadExternal: thread_ts %s is no message in %s", threadTS, channel)
			return fail("invalid_arguments")
		}
	}
	var done []answer
	for _, item := range list {
		f, ok := s.files.byID[item.ID]
		switch {
		case !ok:
			return fail("file_not_found")
		case !f.Uploaded:
			s.violation("files.completeUploadExternal of %s before its bytes were uploaded", item.ID)
			return fail("invalid_arguments")
		case f.Completed:
			s.violation("files.completeUploadExternal of %s twice", item.ID)
		}
		f.Title, f.Channel, f.ThreadTS, f.Completed = item.Title, channel, threadTS, true
		done = append(done, answer{"id": f.ID, "title": f.Title})
	}
	s.notify()
	return answer{"ok": true, "files": done}
}

// Files returns every upload begun, in order.
func (s *Server) Files() []File {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]File, 0, len(s.files.order))
	for _, id := range s.files.order {
		f := *s.files.byID[id]
		f.Bytes = slices.Clone(f.Bytes)
		out = append(out, f)
	}
	return out
}
