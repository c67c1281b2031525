package qlik

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
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

// maxAnswer bounds what one answer may hold: a list of every session of a
// large site is a few megabytes.
const maxAnswer = 64 << 20

// errRequestTimeout marks a request that ran out of RequestTimeout, as
// opposed to the caller's own deadline.
var errRequestTimeout = errors.New("request timeout")

// answer is a 200 answer's body and what the server said it is.
type answer struct {
	body        []byte
	contentType string
}

// send makes one request to one node with the headers Qlik demands and
// returns a 200 answer. Any other outcome is an error in words a person can
// act on, wrapping one of the vendors.Err sentinels.
func (in *Instance) send(ctx context.Context, method, node string, path apiPath) (answer, error) {
	ctx, cancel := context.WithTimeoutCause(ctx, in.s.timeout, errRequestTimeout)
	defer cancel()

	key := newXrfkey()
	req, err := http.NewRequestWithContext(ctx, method, path.url(node, key).String(), nil)
	if err != nil {
		return answer{}, fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("X-Qlik-Xrfkey", key)
	req.Header.Set("X-Qlik-User", in.s.user)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "sessionbot")

	started := in.now()
	resp, err := in.client.Do(req)
	if err != nil {
		err = in.transportError(ctx, err, started)
		in.logger.Debug("qlik request failed", "instance", in.s.name, "node", node, "method", method, "path", path.escaped(), "err", err)
		return answer{}, err
	}
	defer resp.Body.Close()
	in.logger.Debug("qlik request", "instance", in.s.name, "node", node, "method", method, "path", path.escaped(),
		"status", resp.StatusCode, "elapsed", in.now().Sub(started))

	if resp.StatusCode != http.StatusOK {
		head, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // lets the connection be reused
		return answer{}, statusError(resp.StatusCode, head)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer+1))
	if err != nil {
		return answer{}, fmt.Errorf("reading the answer: %w", in.transportError(ctx, err, started))
	}
	if ctx.Err() != nil {
		// The answer came as we gave up on it: it counts as no answer.
		return answer{}, in.transportError(ctx, ctx.Err(), started)
	}
	if len(body) > maxAnswer {
		return answer{}, fmt.Errorf("answered more than %d MiB: %w", maxAnswer>>20, vendors.ErrBadAnswer)
	}
	return answer{body: body, contentType: resp.Header.Get("Content-Type")}, nil
}

// statusError says what a status other than 200 means for a Qlik service.
func statusError(code int, body []byte) error {
	status := fmt.Sprintf("%d %s", code, http.StatusText(code))
	detail := snippet(string(body), 200)
	withDetail := status
	if detail != "" {
		withDetail += ": " + detail
	}
	switch {
	case code == http.StatusUnauthorized:
		return fmt.Errorf("%s: credentials not accepted (check user): %w", status, vendors.ErrUnauthorized)
	case code == http.StatusForbidden:
		return fmt.Errorf("%s: certificate or xrfkey rejected: %w", status, vendors.ErrForbidden)
	case code == http.StatusNotFound:
		return fmt.Errorf("%s: %w", status, vendors.ErrNotFound)
	case code == http.StatusBadRequest:
		return fmt.Errorf("%s: %w", withDetail, vendors.ErrInvalidInput)
	case code >= 500:
		return fmt.Errorf("%s: %w", withDetail, vendors.ErrUnavailable)
	default:
		return fmt.Errorf("unexpected %s: %w", withDetail, vendors.ErrBadAnswer)
	}
}

// transportError turns a failure to get an answer into words: a timeout, a
// TLS or certificate problem, or a connection that could not be made or was
// cut. It never quotes the request URL.
func (in *Instance) transportError(ctx context.Context, err error, started time.Time) error {
	var urlErr *url.Error
	if errors.As(err, &urlErr) {
		err = urlErr.Err // its message repeats the URL
	}
	if ctx.Err() != nil {
		switch cause := context.Cause(ctx); {
		case errors.Is(cause, errRequestTimeout):
			return fmt.Errorf("no answer within %s: %w", in.s.timeout, vendors.ErrTimeout)
		case errors.Is(ctx.Err(), context.DeadlineExceeded):
			return fmt.Errorf("no answer before the deadline (waited %s): %w", in.now().Sub(started).Round(time.Millisecond), vendors.ErrTimeout)
		default:
			return fmt.Errorf("request cancelled: %w", ctx.Err())
		}
	}

	if tlsErr := describeTLSError(err); tlsErr != nil {
		return tlsErr
	}
	var netErr net.Error
	var dnsErr *net.DNSError
	switch {
	case errors.As(err, &dnsErr):
		return fmt.Errorf("host name not found (%v): %w", dnsErr, vendors.ErrUnavailable)
	case errors.As(err, &netErr) && netErr.Timeout():
		return fmt.Errorf("no answer within %s (%v): %w", in.s.timeout, netErr, vendors.ErrTimeout)
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Errorf("connection refused (is the service running and listening on this port?): %w", vendors.ErrUnavailable)
	case errors.Is(err, syscall.ECONNRESET):
		return fmt.Errorf("connection reset by the server: %w", vendors.ErrUnavailable)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("the server closed the connection without answering: %w", vendors.ErrUnavailable)
	}
	return fmt.Errorf("cannot reach the server: %v: %w", err, vendors.ErrUnavailable)
}

// describeTLSError names which side's certificate failed, or returns nil
// when err is not a TLS problem.
func describeTLSError(err error) error {
	var verifyErr *tls.CertificateVerificationError
	if errors.As(err, &verifyErr) {
		var unknown x509.UnknownAuthorityError
		var host x509.HostnameError
		var invalid x509.CertificateInvalidError
		switch {
		case errors.As(verifyErr.Err, &unknown):
			return fmt.Errorf("TLS: the server's certificate is not signed by the CA in ca_file (root.pem of this site?): %w", vendors.ErrUnavailable)
		case errors.As(verifyErr.Err, &host):
			return fmt.Errorf("TLS: the server's certificate is not valid for this host name (%v); set server_name to a name it holds: %w", host, vendors.ErrUnavailable)
		case errors.As(verifyErr.Err, &invalid):
			return fmt.Errorf("TLS: the server's certificate is not valid (%v): %w", invalid, vendors.ErrUnavailable)
		}
		return fmt.Errorf("TLS: cannot verify the server's certificate (%v): %w", verifyErr.Err, vendors.ErrUnavailable)
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) && opErr.Op == "remote error" {
		// The server sent a TLS alert: it refused our client certificate.
		return fmt.Errorf("TLS: the server refused our client certificate (%v; is cert_file a certificate exported from this site's QMC?): %w", opErr.Err, vendors.ErrUnavailable)
	}
	var recordErr tls.RecordHeaderError
	if errors.As(err, &recordErr) {
		return fmt.Errorf("TLS: the server does not speak TLS on this port: %w", vendors.ErrUnavailable)
	}
	if strings.Contains(err.Error(), "tls:") {
		return fmt.Errorf("TLS handshake failed (%v): %w", err, vendors.ErrUnavailable)
	}
	return nil
}

// decode reads a 200 answer as JSON into v, and says so plainly when it is
// a web page (a wrong port) or broken JSON.
func decode(a answer, v any, portHint string) error {
	trimmed := bytes.TrimSpace(a.body)
	if strings.Contains(strings.ToLower(a.contentType), "html") || bytes.HasPrefix(trimmed, []byte("<")) {
		return fmt.Errorf("answered HTML, not JSON (is this the %s?): %w", portHint, vendors.ErrBadAnswer)
	}
	if err := json.Unmarshal(trimmed, v); err != nil {
		return fmt.Errorf("answered invalid JSON (%s): %w", snippet(err.Error(), 120), vendors.ErrBadAnswer)
	}
	return nil
}

const xrfkeyAlphabet = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"

// newXrfkey makes the 16-character cross-site request forgery key Qlik
// wants in both the query and a header: fresh per request, unbiased.
func newXrfkey() string {
	const n = 16
	// 248 is the largest multiple of 62 that fits a byte; bytes above it
	// are thrown away so every character is equally likely.
	const limit = 256 - 256%len(xrfkeyAlphabet)
	key := make([]byte, 0, n)
	buf := make([]byte, 2*n)
	for len(key) < n {
		_, _ = rand.Read(buf) // never fails since Go 1.24
		for _, b := range buf {
			if int(b) < limit && len(key) < n {
				key = append(key, xrfkeyAlphabet[int(b)%len(xrfkeyAlphabet)])
			}
		}
	}
	return string(key)
}
