package httpx

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"time"

	"github.com/sessionbot/sessionbot/vendors"
)

// Kind is what went wrong with a request, in the same few words for every
// vendor.
type Kind int

const (
	Unreachable  Kind = iota + 1 // no connection, TLS refused, connection cut
	Timeout                      // no answer in time
	Unauthorized                 // 401
	Forbidden                    // 403
	NotFound                     // 404
	BadRequest                   // 400
	RateLimited                  // 429, once retries are spent
	Server                       // 5xx
	Garbage                      // an answer that is not what the API sends
	TooLarge                     // an answer over the body limit
)

var kindNames = map[Kind]string{
	Unreachable: "unreachable", Timeout: "timeout", Unauthorized: "unauthorized", Forbidden: "forbidden",
	NotFound: "not found", BadRequest: "bad request", RateLimited: "rate limited", Server: "server error",
	Garbage: "garbage", TooLarge: "too large",
}

func (k Kind) String() string { return kindNames[k] }

// sentinel is the vendors error a kind wraps, for callers that only ask
// errors.Is.
func (k Kind) sentinel() error {
	switch k {
	case Timeout:
		return vendors.ErrTimeout
	case Unauthorized:
		return vendors.ErrUnauthorized
	case Forbidden:
		return vendors.ErrForbidden
	case NotFound:
		return vendors.ErrNotFound
	case BadRequest:
		return vendors.ErrInvalidInput
	case Garbage, TooLarge:
		return vendors.ErrBadAnswer
	default:
		return vendors.ErrUnavailable
	}
}

// Error is a request that failed, in words a person can act on. It never
// holds the request URL or a secret.
type Error struct {
	Kind   Kind
	Status int // the HTTP status; 0 when no answer came
	// What says what happened: "500 Internal Server Error", "answered HTML, not JSON".
	What string
	// Detail is what the server said, shortened and redacted.
	Detail string
	// Full is more of what the server said (redacted), for the debug log
	// only: a person sees Detail.
	Full string
	// Hint says what to check, from the vendor's hint hook.
	Hint string
	// Relogged is set on a 401 that came right after a fresh login.
	Relogged bool
	// Err is the cause, when there is one (a TLS error, say).
	Err error
}

func (e *Error) Error() string {
	parts := nonEmpty(e.What, e.Detail, e.Hint, e.Kind.sentinel().Error())
	return strings.Join(parts, ": ")
}

// Unwrap gives errors.Is the vendors sentinel and the cause.
func (e *Error) Unwrap() []error {
	if e.Err == nil {
		return []error{e.Kind.sentinel()}
	}
	return []error{e.Kind.sentinel(), e.Err}
}

// DebugDetail is what vendors.Detail gives the debug log.
func (e *Error) DebugDetail() string { return e.Full }

// KindOf is the kind of a request failure anywhere in err's chain; 0 if
// there is none.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return 0
}

// statusKind reads a status other than 2xx.
func statusKind(code int) Kind {
	switch {
	case code == http.StatusUnauthorized:
		return Unauthorized
	case code == http.StatusForbidden:
		return Forbidden
	case code == http.StatusNotFound:
		return NotFound
	case code == http.StatusBadRequest:
		return BadRequest
	case code == http.StatusTooManyRequests:
		return RateLimited
	case code >= 500:
		return Server
	default:
		return Garbage // 1xx, 3xx, other 4xx: not what these APIs answer
	}
}

// errRequestTimeout marks a request that ran out of the client's own
// timeout, as opposed to the caller's deadline.
var errRequestTimeout = errors.New("request timeout")

// transportError turns a failure to get an answer into words: a timeout,
// a TLS problem, or a connection that could not be made or was cut. It
// never quotes the request URL. A cancelled caller gets context.Canceled
// back, wrapped, and no Error: nothing went wrong with the vendor.
func (c *Client) transportError(ctx context.Context, err error, started time.Time) error {
	var urlErr *url.Error
	if errors.As(err, &urlErr) {
		err = urlErr.Err // its message repeats the URL
	}
	if ctx.Err() != nil {
		switch cause := context.Cause(ctx); {
		case errors.Is(cause, errRequestTimeout):
			return c.timeoutError()
		case errors.Is(ctx.Err(), context.DeadlineExceeded):
			return &Error{Kind: Timeout, What: fmt.Sprintf("no answer before the deadline (waited %s)", c.now().Sub(started).Round(time.Millisecond))}
		default:
			return fmt.Errorf("request cancelled: %w", ctx.Err())
		}
	}
	e := &Error{Kind: Unreachable, Err: err}
	var verifyErr *tls.CertificateVerificationError
	var unknown x509.UnknownAuthorityError
	var host x509.HostnameError
	var invalid x509.CertificateInvalidError
	var opErr *net.OpError
	var recordErr tls.RecordHeaderError
	var dnsErr *net.DNSError
	var netErr net.Error
	switch {
	case errors.As(err, &verifyErr) && errors.As(verifyErr.Err, &unknown):
		e.What = "TLS: the server's certificate is not signed by a CA we trust (set ca_file to the CA that signed it)"
	case errors.As(err, &verifyErr) && errors.As(verifyErr.Err, &host):
		e.What = fmt.Sprintf("TLS: the server's certificate is not valid for this host name (%v)", host)
	case errors.As(err, &verifyErr) && errors.As(verifyErr.Err, &invalid):
		e.What = fmt.Sprintf("TLS: the server's certificate is not valid (%v)", invalid)
	case errors.As(err, &verifyErr):
		e.What = fmt.Sprintf("TLS: cannot verify the server's certificate (%v)", verifyErr.Err)
	case errors.As(err, &opErr) && opErr.Op == "remote error":
		// The server sent a TLS alert: it refused our client certificate.
		e.What = fmt.Sprintf("TLS: the server refused our client certificate (%v)", opErr.Err)
	case errors.As(err, &recordErr):
		e.What = "TLS: the server does not speak TLS on this port (http:// instead of https://?)"
	case errors.As(err, &dnsErr):
		e.What = fmt.Sprintf("host name not found (%v)", dnsErr)
	case errors.As(err, &netErr) && netErr.Timeout():
		return c.timeoutError()
	case errors.Is(err, syscall.ECONNREFUSED):
		e.What = "connection refused (is the service running and listening on this port?)"
	case errors.Is(err, syscall.ECONNRESET):
		e.What = "connection reset by the server"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		e.What = "the server closed the connection without answering"
	case strings.Contains(err.Error(), "tls:"):
		e.What = fmt.Sprintf("TLS handshake failed (%v)", err)
	default:
		e.What = fmt.Sprintf("cannot reach the server (%v)", err)
	}
	return e
}

// Stopped words why a done ctx stopped work between requests: the caller's
// deadline (a Timeout) or its cancellation.
func Stopped(ctx context.Context) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return &Error{Kind: Timeout, What: "no answer before the deadline"}
	}
	return fmt.Errorf("request cancelled: %w", ctx.Err())
}

func (c *Client) timeoutError() *Error {
	what := fmt.Sprintf("no answer within %s", c.Timeout)
	if c.TimeoutKey != "" {
		what += " (" + c.TimeoutKey + ")"
	}
	return &Error{Kind: Timeout, What: what}
}

func nonEmpty(parts ...string) []string {
	out := parts[:0:0]
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	return out
}
