package qlik

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"unicode"

	"github.com/sessionbot/sessionbot/vendors"
	"github.com/sessionbot/sessionbot/vendors/internal/httpx"
)

// apiPath is a request path as its segments, unescaped. Keeping segments
// apart until the request is built is what stops a user id such as "a/b" or
// ".." from becoming two segments or climbing out of the route.
type apiPath []string

// qps builds /qps/{vp/}segments...; the default virtual proxy adds nothing,
// so the path never holds "//".
func qps(virtualProxy string, segments ...string) apiPath {
	p := apiPath{"qps"}
	if virtualProxy != "" {
		p = append(p, virtualProxy)
	}
	return append(p, segments...)
}

// escaped is the path as it goes on the wire.
func (p apiPath) escaped() string {
	var b strings.Builder
	n := 0
	for _, s := range p {
		n += 1 + len(s)
	}
	b.Grow(n) // most segments need no escaping
	for _, s := range p {
		b.WriteByte('/')
		b.WriteString(escapeSegment(s))
	}
	return b.String()
}

// decoded is the path with its segments unescaped, as url.URL.Path holds it.
func (p apiPath) decoded() string { return "/" + strings.Join(p, "/") }

// url builds the request URL so that net/http sends escaped() unchanged:
// Path and RawPath agree, and RawPath is what goes on the wire.
func (p apiPath) url(hostPort, xrfkey string) *url.URL {
	return &url.URL{
		Scheme:   "https",
		Host:     hostPort,
		Path:     p.decoded(),
		RawPath:  p.escaped(),
		RawQuery: "xrfkey=" + xrfkey,
	}
}

// escapeSegment percent-encodes everything but letters, digits, '-', '_',
// '~' and '.', so that no character can end the segment or start a query or
// fragment. A segment of only dots is encoded in full ("%2E%2E"): servers
// treat "." and ".." as path navigation, and url.PathEscape leaves them be.
func escapeSegment(s string) string {
	onlyDots := s != "" && strings.Trim(s, ".") == ""
	keep := func(c byte) bool {
		return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			c == '-' || c == '_' || c == '~' || (c == '.' && !onlyDots)
	}
	i := 0
	for i < len(s) && keep(s[i]) {
		i++
	}
	if i == len(s) {
		return s // nothing to escape, nothing to copy
	}
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if keep(c) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

var guidPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// checkSessionID refuses, before any request, an id that is not a GUID:
// Qlik's session ids are GUIDs, and anything else is a typo or an attempt
// to reach another route.
func checkSessionID(id string) error {
	if !guidPattern.MatchString(id) {
		return fmt.Errorf("session id %q is not a GUID like 7b8ab85e-0c85-4fcb-8e56-4ead683153fb: %w", printable(id), vendors.ErrInvalidInput)
	}
	return nil
}

// maxIdentity bounds a directory and user id together: longer is no
// directory's user, and would only make a long URL.
const maxIdentity = 512

// checkIdentity refuses an identity Qlik cannot hold: both parts are
// needed, and no directory user id contains control characters.
func checkIdentity(u vendors.Identity) error {
	switch {
	case u.Directory == "":
		return fmt.Errorf("user %q has no user directory (write it as DIRECTORY\\userid): %w", printable(u.ID), vendors.ErrInvalidInput)
	case u.ID == "":
		return fmt.Errorf("user directory %q has no user id: %w", printable(u.Directory), vendors.ErrInvalidInput)
	case isDotSegment(u.Directory) || isDotSegment(u.ID):
		// Sent escaped, a server that normalises paths would still read
		// it as "this folder" or "the folder above"; no account is named so.
		return fmt.Errorf("%q is not a user: no user directory or user id is named \".\" or \"..\": %w", printable(u.String()), vendors.ErrInvalidInput)
	case len(u.Directory)+len(u.ID) > maxIdentity:
		return fmt.Errorf("user %q is longer than %d bytes: %w", printable(u.ID), maxIdentity, vendors.ErrInvalidInput)
	case strings.ContainsFunc(u.Directory, unicode.IsControl):
		return fmt.Errorf("user directory %q contains a control character: %w", printable(u.Directory), vendors.ErrInvalidInput)
	case strings.ContainsFunc(u.ID, unicode.IsControl):
		return fmt.Errorf("user id %q contains a control character: %w", printable(u.ID), vendors.ErrInvalidInput)
	}
	return nil
}

func isDotSegment(s string) bool { return s == "." || s == ".." }

// printable shortens and de-controls what a person typed before it goes
// into an error message.
func printable(s string) string { return httpx.Snippet(s, 80) }
