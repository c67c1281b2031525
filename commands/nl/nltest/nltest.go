// Package nltest is a fake OpenAI-compatible chat completions server for
// tests: it checks requests as the real API does (method, path, key, JSON
// body, strict tool schemas), answers with scripted tool calls, text or
// errors, can hang past a client's timeout, and records every request.
package nltest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
)

// Answer is what the fake model says to one request.
type Answer struct {
	// Status, when not 0 or 200, answers with that HTTP status and an
	// OpenAI error body.
	Status int
	// ToolCalls are (name, arguments JSON) pairs; Call and Calls make them.
	ToolCalls []ToolCall
	// Content is a text answer.
	Content string
	// FinishReason defaults to tool_calls or stop.
	FinishReason string
	// NoChoices answers with an empty choices array.
	NoChoices bool
	// Hang waits until the client gives up.
	Hang bool
	// Body, when set, is sent as it is with status 200.
	Body string
}

// ToolCall is one function call the fake model makes.
type ToolCall struct {
	Name      string
	Arguments string
}

// ToolName is the translator's tool, for scripting calls of it.
const ToolName = "sessions_command"

// Call answers with one call of the translator's tool.
func Call(arguments string) Answer { return Calls(arguments) }

// Calls answers with several calls of the translator's tool at once.
func Calls(arguments ...string) Answer {
	var a Answer
	for _, args := range arguments {
		a.ToolCalls = append(a.ToolCalls, ToolCall{Name: ToolName, Arguments: args})
	}
	return a
}

// Text answers in prose, with no tool call.
func Text(s string) Answer { return Answer{Content: s} }

// Status answers with an HTTP error.
func Status(code int) Answer { return Answer{Status: code} }

// Hang never answers: the client's timeout must end the call.
func Hang() Answer { return Answer{Hang: true} }

// Request is one request as the fake received it.
type Request struct {
	Path   string
	Query  string
	Header http.Header
	// Body is the JSON body, decoded generically so tests see exactly
	// what was sent (a field present or absent).
	Body map[string]any
}

// Messages returns the request's messages as role and content.
func (r Request) Messages() []Message {
	var out []Message
	msgs, _ := r.Body["messages"].([]any)
	for _, m := range msgs {
		mm, _ := m.(map[string]any)
		role, _ := mm["role"].(string)
		content, _ := mm["content"].(string)
		out = append(out, Message{Role: role, Content: content})
	}
	return out
}

// Message is one chat message.
type Message struct{ Role, Content string }

// Tools returns the request's tools' function definitions.
func (r Request) Tools() []map[string]any {
	var out []map[string]any
	tools, _ := r.Body["tools"].([]any)
	for _, t := range tools {
		tm, _ := t.(map[string]any)
		fn, _ := tm["function"].(map[string]any)
		out = append(out, fn)
	}
	return out
}

// Server is the fake. Answer decides each answer; it defaults to a text
// answer.
type Server struct {
	*httptest.Server
	// APIKey is the key the fake accepts.
	APIKey string
	// Azure makes the fake serve Azure OpenAI's deployment path with the
	// api-key header instead of /v1 and a bearer token.
	Azure bool

	mu       sync.Mutex
	answer   func(Request) Answer
	requests []Request
	ids      atomic.Int64
}

// New starts a fake of the OpenAI API on 127.0.0.1 that accepts key.
func New(key string) *Server { return start(key, false) }

// NewAzure starts a fake of Azure OpenAI that accepts key.
func NewAzure(key string) *Server { return start(key, true) }

func start(key string, azure bool) *Server {
	s := &Server{APIKey: key, Azure: azure, answer: func(Request) Answer { return Text("I am a fake.") }}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// BaseURL is the client's base URL: .../v1, or the Azure endpoint.
func (s *Server) BaseURL() string {
	if s.Azure {
		return s.URL
	}
	return s.URL + "/v1"
}

// Always answers every request the same way.
func (s *Server) Always(a Answer) { s.Respond(func(Request) Answer { return a }) }

// Respond sets how the fake answers.
func (s *Server) Respond(f func(Request) Answer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.answer = f
}

// ByText answers according to the user message's text, like a model that
// knows these phrasings; any other text gets a prose answer.
func (s *Server) ByText(answers map[string]Answer) {
	s.Respond(func(r Request) Answer {
		for _, m := range r.Messages() {
			if m.Role == "user" {
				if a, ok := answers[m.Content]; ok {
					return a
				}
			}
		}
		return Text("Sorry, I don't know that one.")
	})
}

// Requests returns what was received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// Last returns the last request received, or a zero Request.
func (s *Server) Last() Request {
	reqs := s.Requests()
	if len(reqs) == 0 {
		return Request{}
	}
	return reqs[len(reqs)-1]
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		writeError(w, http.StatusMethodNotAllowed, "invalid_request_error", "Only POST is allowed.")
		return
	}
	if status, msg := s.checkPathAndKey(r); status != 0 {
		writeError(w, status, "invalid_request_error", msg)
		return
	}
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		writeError(w, http.StatusBadRequest, "invalid_request_error", "Content-Type must be application/json.")
		return
	}
	raw, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return
	}
	var body map[string]any
	if err := json.Unmarshal(raw, &body); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request_error", "We could not parse the JSON body of your request.")
		return
	}
	if msg := checkBody(body, s.Azure); msg != "" {
		writeError(w, http.StatusBadRequest, "invalid_request_error", msg)
		return
	}
	req := Request{Path: r.URL.Path, Query: r.URL.RawQuery, Header: r.Header.Clone(), Body: body}
	s.mu.Lock()
	s.requests = append(s.requests, req)
	answer := s.answer
	s.mu.Unlock()

	a := answer(req)
	switch {
	case a.Hang:
		<-r.Context().Done()
	case a.Status != 0 && a.Status != http.StatusOK:
		if a.Status == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", "20")
			writeError(w, a.Status, "requests", "Rate limit reached for requests. Please try again in 20s.")
			return
		}
		writeError(w, a.Status, "server_error", "The server had an error while processing your request.")
	case a.Body != "":
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, a.Body)
	default:
		model, _ := body["model"].(string)
		s.writeCompletion(w, model, a)
	}
}

// checkPathAndKey follows each API's routing and authentication. OpenAI
// quotes the rejected key (masked) in its 401; this fake quotes it whole, so
// tests catch a client that would pass it on.
func (s *Server) checkPathAndKey(r *http.Request) (int, string) {
	if s.Azure {
		parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
		if len(parts) != 5 || parts[0] != "openai" || parts[1] != "deployments" || parts[3] != "chat" || parts[4] != "completions" {
			return http.StatusNotFound, "Resource not found"
		}
		if r.URL.Query().Get("api-version") == "" {
			return http.StatusNotFound, "Missing api-version query parameter."
		}
		if r.Header.Get("api-key") != s.APIKey {
			return http.StatusUnauthorized, "Access denied due to invalid subscription key or wrong API endpoint."
		}
		return 0, ""
	}
	if r.URL.Path != "/v1/chat/completions" {
		return http.StatusNotFound, fmt.Sprintf("Invalid URL (POST %s)", r.URL.Path)
	}
	if got := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "); got != s.APIKey {
		return http.StatusUnauthorized, fmt.Sprintf("Incorrect API key provided: %s. You can find your API key at https://platform.openai.com/account/api-keys.", got)
	}
	return 0, ""
}

// checkBody enforces what the chat completions API enforces for the fields
// the translator uses.
func checkBody(body map[string]any, azure bool) string {
	if m, _ := body["model"].(string); m == "" && !azure {
		return "you must provide a model parameter"
	}
	msgs, _ := body["messages"].([]any)
	if len(msgs) == 0 {
		return "[] is too short - 'messages'"
	}
	for i, m := range msgs {
		mm, _ := m.(map[string]any)
		switch mm["role"] {
		case "system", "developer", "user", "assistant", "tool":
		default:
			return fmt.Sprintf("Invalid value for 'messages[%d].role'.", i)
		}
	}
	tools, _ := body["tools"].([]any)
	for i, t := range tools {
		tm, _ := t.(map[string]any)
		fn, _ := tm["function"].(map[string]any)
		if tm["type"] != "function" || fn == nil {
			return fmt.Sprintf("Missing required parameter: 'tools[%d].function'.", i)
		}
		name, _ := fn["name"].(string)
		if name == "" {
			return fmt.Sprintf("Missing required parameter: 'tools[%d].function.name'.", i)
		}
		params, _ := fn["parameters"].(map[string]any)
		if strict, _ := fn["strict"].(bool); strict {
			if msg := checkStrict(params, ""); msg != "" {
				return fmt.Sprintf("Invalid schema for function '%s': %s", name, msg)
			}
		}
	}
	if choice, ok := body["tool_choice"]; ok {
		switch c := choice.(type) {
		case string:
			if c != "none" && c != "auto" && c != "required" {
				return "Invalid value for 'tool_choice'."
			}
		case map[string]any:
		default:
			return "Invalid type for 'tool_choice'."
		}
		if len(tools) == 0 {
			return "Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are specified."
		}
	}
	if v, ok := body["max_tokens"]; ok {
		if n, _ := v.(float64); n < 1 {
			return "Invalid 'max_tokens': integer below minimum value."
		}
	}
	return ""
}

// checkStrict applies structured outputs' rules: every object lists all its
// properties as required and sets additionalProperties to false.
func checkStrict(schema map[string]any, path string) string {
	if schema == nil {
		return "schema must be a JSON Schema of 'type: \"object\"'"
	}
	if schema["type"] == "object" {
		props, _ := schema["properties"].(map[string]any)
		if schema["additionalProperties"] != false {
			return fmt.Sprintf("In context=(%s), 'additionalProperties' is required to be supplied and to be false.", path)
		}
		required := map[string]bool{}
		list, _ := schema["required"].([]any)
		for _, r := range list {
			name, _ := r.(string)
			required[name] = true
		}
		for name, p := range props {
			if !required[name] {
				return fmt.Sprintf("In context=(%s), 'required' is required to be supplied and to be an array including every key in properties. Missing '%s'.", path, name)
			}
			pm, _ := p.(map[string]any)
			if msg := checkStrict(pm, path+"/"+name); msg != "" {
				return msg
			}
		}
	}
	if items, ok := schema["items"].(map[string]any); ok {
		return checkStrict(items, path+"/items")
	}
	return ""
}

func (s *Server) writeCompletion(w http.ResponseWriter, model string, a Answer) {
	n := s.ids.Add(1)
	var choices []any
	if !a.NoChoices {
		msg := map[string]any{"role": "assistant", "content": nil, "refusal": nil}
		finish := "stop"
		if a.Content != "" {
			msg["content"] = a.Content
		}
		if len(a.ToolCalls) > 0 {
			var calls []any
			for i, c := range a.ToolCalls {
				calls = append(calls, map[string]any{
					"id": fmt.Sprintf("call_%d_%d", n, i), "type": "function",
					"function": map[string]any{"name": c.Name, "arguments": c.Arguments},
				})
			}
			msg["tool_calls"] = calls
			finish = "tool_calls"
		}
		if a.FinishReason != "" {
			finish = a.FinishReason
		}
		choices = append(choices, map[string]any{"index": 0, "message": msg, "logprobs": nil, "finish_reason": finish})
	}
	resp := map[string]any{
		"id": fmt.Sprintf("chatcmpl-fake%d", n), "object": "chat.completion", "created": 1764000000,
		"model": model, "choices": choices,
		"usage": map[string]any{"prompt_tokens": 900, "completion_tokens": 40, "total_tokens": 940},
	}
	if choices == nil {
		resp["choices"] = []any{}
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(resp)
}

func writeError(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{
		"message": msg, "type": typ, "param": nil, "code": nil,
	}})
}
