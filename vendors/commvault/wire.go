package commvault

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/sessionbot/sessionbot/vendors"
	"github.com/sessionbot/sessionbot/vendors/internal/httpx"
)

// Commvault's JSON is generated from its XML schema and its shape is not
// documented: numbers may come as strings, a list of one may come as a bare
// object, and some servers answer XML whatever Accept asks. Everything here
// reads all of those.

// flexInt is a number sent as a JSON number, a JSON string or an XML
// attribute. set tells 0 from absent.
type flexInt struct {
	v   int64
	set bool
}

func (f *flexInt) UnmarshalJSON(data []byte) error {
	s := strings.TrimSpace(string(data))
	if s == "null" {
		return nil
	}
	if unquoted, err := strconv.Unquote(s); err == nil {
		s = strings.TrimSpace(unquoted)
		if s == "" {
			return nil
		}
	}
	return f.parse(s)
}

func (f *flexInt) UnmarshalXMLAttr(attr xml.Attr) error {
	s := strings.TrimSpace(attr.Value)
	if s == "" {
		return nil
	}
	return f.parse(s)
}

func (f *flexInt) parse(s string) error {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		// Some generators write 1453328412.0.
		x, ferr := strconv.ParseFloat(s, 64)
		if ferr != nil || x != float64(int64(x)) {
			return fmt.Errorf("%q is not a whole number", httpx.Snippet(s, 40))
		}
		n = int64(x)
	}
	f.v, f.set = n, true
	return nil
}

// flexString is text sent as a JSON string or number.
type flexString string

func (f *flexString) UnmarshalJSON(data []byte) error {
	if len(data) >= 2 && data[0] == '"' && bytes.IndexByte(data, '\\') < 0 {
		*f = flexString(data[1 : len(data)-1]) // the common case: no escapes
		return nil
	}
	var s string
	if err := json.Unmarshal(data, &s); err == nil {
		*f = flexString(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(data, &n); err == nil {
		*f = flexString(n.String())
		return nil
	}
	if string(bytes.TrimSpace(data)) == "null" {
		return nil
	}
	return fmt.Errorf("%s is not text", httpx.Snippet(string(data), 40))
}

// wireSession is one session, as the seed document shows it (attributes
// of a sessions element) or as JSON with the same names.
type wireSession struct {
	SessionID        flexString   `json:"sessionId" xml:"sessionId,attr"`
	BrowserSessionID flexString   `json:"browserSessionId" xml:"browserSessionId,attr"`
	LoginTime        flexInt      `json:"loginTime" xml:"loginTime,attr"`
	LogoutTime       flexInt      `json:"logoutTime" xml:"logoutTime,attr"`
	LastAccessedTime flexInt      `json:"lastAccessedTime" xml:"lastAccessedTime,attr"`
	Host             string       `json:"host" xml:"host,attr"`
	Location         string       `json:"location" xml:"location,attr"`
	ConsoleType      flexInt      `json:"consoleType" xml:"consoleType,attr"`
	User             *wireUserRef `json:"user" xml:"user"`
}

// wireUserRef names a user inside a session or a user list.
type wireUserRef struct {
	UserName string  `json:"userName" xml:"userName,attr"`
	UserID   flexInt `json:"userId" xml:"userId,attr"`
}

// wireUser is one element of GET /User's users.
type wireUser struct {
	UserEntity wireUserRef `json:"userEntity" xml:"userEntity"`
	FullName   string      `json:"fullName" xml:"fullName,attr"`
}

// apiError is an error Commvault reported in an answer's body.
type apiError struct {
	code    int64
	message string
	kind    error // a vendors sentinel, or nil when the words say nothing known
}

func (e *apiError) Error() string {
	msg := e.message
	if msg == "" {
		msg = "no message"
	}
	if e.code != 0 {
		return fmt.Sprintf("Commvault says %q (error %d)", msg, e.code)
	}
	return fmt.Sprintf("Commvault says %q", msg)
}

func (e *apiError) Unwrap() error { return e.kind }

// kindOf maps Commvault's words to a sentinel.
func kindOf(message string) error {
	m := strings.ToLower(message)
	switch {
	case strings.Contains(m, "permission"), strings.Contains(m, "not authorized"), strings.Contains(m, "privilege"),
		strings.Contains(m, "does not have the required"), strings.Contains(m, "access denied"):
		return vendors.ErrForbidden
	case strings.Contains(m, "not found"), strings.Contains(m, "does not exist"), strings.Contains(m, "no such"):
		return vendors.ErrNotFound
	}
	return nil
}

// errorFields are where Commvault puts errors, in either format.
type errorFields struct {
	ErrorCode    flexInt `json:"errorCode" xml:"errorCode,attr"`
	ErrorMessage string  `json:"errorMessage" xml:"errorMessage,attr"`
	ErrList      []struct {
		ErrorCode     flexInt `json:"errorCode" xml:"errorCode,attr"`
		ErrLogMessage string  `json:"errLogMessage" xml:"errLogMessage,attr"`
	} `json:"errList" xml:"errList"`
	Response *struct { // some answers nest it: {"response":{"errorCode":..}}
		ErrorCode   flexInt `json:"errorCode" xml:"errorCode,attr"`
		ErrorString string  `json:"errorString" xml:"errorString,attr"`
	} `json:"response" xml:"response"`
}

// apiErrorOf finds an error reported in a body: a nonzero errorCode, or an
// errList entry. ok is false when there is none or the body is no object.
func apiErrorOf(a answer) (*apiError, bool) {
	var f errorFields
	trimmed := bytes.TrimSpace(a.body)
	switch {
	case !bytes.Contains(trimmed, []byte("errorCode")) && !bytes.Contains(trimmed, []byte("errList")):
		return nil, false // the common case, without parsing it twice
	case len(trimmed) == 0 || isHTML(a):
		return nil, false
	case trimmed[0] == '<':
		if xml.Unmarshal(trimmed, &f) != nil {
			return nil, false
		}
	case trimmed[0] == '{':
		if json.Unmarshal(trimmed, &f) != nil {
			return nil, false
		}
	default:
		return nil, false
	}
	for _, e := range f.ErrList {
		if e.ErrorCode.v != 0 || e.ErrLogMessage != "" {
			return &apiError{code: e.ErrorCode.v, message: e.ErrLogMessage, kind: kindOf(e.ErrLogMessage)}, true
		}
	}
	if f.ErrorCode.v != 0 {
		return &apiError{code: f.ErrorCode.v, message: f.ErrorMessage, kind: kindOf(f.ErrorMessage)}, true
	}
	if r := f.Response; r != nil && r.ErrorCode.v != 0 {
		return &apiError{code: r.ErrorCode.v, message: r.ErrorString, kind: kindOf(r.ErrorString)}, true
	}
	return nil, false
}

// isHTML reports a web page: a wrong URL, a login portal, an error page.
func isHTML(a answer) bool {
	if strings.Contains(strings.ToLower(a.contentType), "html") {
		return true
	}
	head := bytes.ToLower(bytes.TrimSpace(a.body[:min(len(a.body), 512)]))
	return bytes.HasPrefix(head, []byte("<!doctype html")) || bytes.HasPrefix(head, []byte("<html"))
}

// format says how to read a 2xx body, and refuses a web page.
func format(a answer) (xmlBody bool, err error) {
	trimmed := bytes.TrimSpace(a.body)
	switch {
	case isHTML(a):
		return false, httpx.BadAnswer("answered HTML, not the web service's JSON or XML", "is url the web service base, e.g. https://host/webconsole/api?")
	case len(trimmed) > 0 && trimmed[0] == '<':
		return true, nil
	default:
		return false, nil
	}
}

// badJSON and badXML word a decoding failure.
func badJSON(err error) error {
	return httpx.BadAnswer(fmt.Sprintf("answered invalid JSON (%s)", httpx.Snippet(err.Error(), 120)), "")
}

func badXML(err error) error {
	return httpx.BadAnswer(fmt.Sprintf("answered invalid XML (%s)", httpx.Snippet(err.Error(), 120)), "")
}

// decodeList reads a list answer: an API error, XML element elements at
// any depth, or JSON read by fromJSON from the trimmed body.
func decodeList[T any](a answer, element string, fromJSON func(body []byte) ([]T, error)) ([]T, error) {
	if e, ok := apiErrorOf(a); ok {
		return nil, e
	}
	asXML, err := format(a)
	if err != nil {
		return nil, err
	}
	if asXML {
		return xmlElements[T](a.body, element)
	}
	return fromJSON(bytes.TrimSpace(a.body))
}

// decodeSessions reads a session list in any of its shapes: XML sessions
// elements at any depth; JSON {"sessions":[...]}, {"sessions":{...}}, a
// bare array or a bare session object. An object with neither sessions
// nor sessionId holds none: Commvault leaves empty lists out.
func decodeSessions(a answer) ([]wireSession, error) {
	return decodeList(a, "sessions", func(trimmed []byte) ([]wireSession, error) {
		if len(trimmed) == 0 {
			return nil, fmt.Errorf("answered nothing: %w", vendors.ErrBadAnswer)
		}
		if trimmed[0] == '[' {
			return oneOrMany[wireSession](trimmed)
		}
		obj, err := jsonObject(trimmed)
		if err != nil {
			return nil, err
		}
		if raw, ok := field(obj, "sessions"); ok {
			return oneOrMany[wireSession](raw)
		}
		if _, ok := field(obj, "sessionId"); ok {
			return oneOrMany[wireSession](trimmed)
		}
		return nil, nil
	})
}

// decodeUsers reads a user list: {"users":[...]} (or one object), or XML
// users elements.
func decodeUsers(a answer) ([]wireUser, error) {
	return decodeList(a, "users", func(trimmed []byte) ([]wireUser, error) {
		obj, err := jsonObject(trimmed)
		if err != nil {
			return nil, err
		}
		if raw, ok := field(obj, "users"); ok {
			return oneOrMany[wireUser](raw)
		}
		return nil, nil
	})
}

// decodeToken reads the token of a login answer, JSON or XML.
func decodeToken(a answer) (string, error) {
	asXML, err := format(a)
	if err != nil {
		return "", err
	}
	var v struct {
		Token string `json:"token" xml:"token,attr"`
	}
	if asXML {
		if err := xml.Unmarshal(a.body, &v); err != nil {
			return "", badXML(err)
		}
	} else if err := json.Unmarshal(a.body, &v); err != nil {
		return "", badJSON(err)
	}
	if v.Token == "" {
		return "", fmt.Errorf("answered the login without a token and without an error: %w", vendors.ErrBadAnswer)
	}
	return v.Token, nil
}

// jsonObject reads a JSON object's members.
func jsonObject(data []byte) (map[string]json.RawMessage, error) {
	if len(data) == 0 || data[0] != '{' {
		return nil, fmt.Errorf("answered %q, which is neither JSON nor XML: %w", httpx.Snippet(string(data), 60), vendors.ErrBadAnswer)
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(data, &obj); err != nil {
		return nil, badJSON(err)
	}
	return obj, nil
}

// field finds a member by name, ignoring case, as encoding/json does.
func field(obj map[string]json.RawMessage, name string) (json.RawMessage, bool) {
	if raw, ok := obj[name]; ok {
		return raw, true
	}
	for k, raw := range obj {
		if strings.EqualFold(k, name) {
			return raw, true
		}
	}
	return nil, false
}

// oneOrMany reads an array, a single object as a list of one, or null.
func oneOrMany[T any](raw json.RawMessage) ([]T, error) {
	raw = bytes.TrimSpace(raw)
	switch {
	case len(raw) == 0 || string(raw) == "null":
		return nil, nil
	case raw[0] == '[':
		var list []T
		if err := json.Unmarshal(raw, &list); err != nil {
			return nil, badJSON(err)
		}
		return list, nil
	case raw[0] == '{':
		var one T
		if err := json.Unmarshal(raw, &one); err != nil {
			return nil, badJSON(err)
		}
		return []T{one}, nil
	}
	return nil, fmt.Errorf("answered %q where a list was expected: %w", httpx.Snippet(string(raw), 60), vendors.ErrBadAnswer)
}

// xmlElements decodes every element named name, at any depth, the root
// included: the seed document's answer is a lone sessions element.
func xmlElements[T any](data []byte, name string) ([]T, error) {
	dec := xml.NewDecoder(bytes.NewReader(data))
	var out []T
	sawRoot := false
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, badXML(err)
		}
		start, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		sawRoot = true
		if start.Name.Local != name {
			continue
		}
		var v T
		if err := dec.DecodeElement(&v, &start); err != nil {
			return nil, badXML(err)
		}
		out = append(out, v)
	}
	if !sawRoot {
		return nil, badXML(errors.New("no element"))
	}
	return out, nil
}
