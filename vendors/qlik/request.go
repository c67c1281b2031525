package qlik

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/sessionbot/sessionbot/vendors/internal/httpx"
)

// maxAnswer bounds what one answer may hold: a list of every session of a
// large site is a few megabytes.
const maxAnswer = 64 << 20

// answer is a 2xx answer's body and what the server said it is.
type answer struct {
	body   []byte
	header http.Header
}

// newHTTPClient is the one httpx.Client every request shares, over the
// instance's own connections: built once, not per request, since its
// logger carries the instance name.
func (in *Instance) newHTTPClient() *httpx.Client {
	return &httpx.Client{
		HTTP:       in.client,
		Timeout:    in.s.timeout,
		TimeoutKey: "request_timeout",
		MaxBody:    maxAnswer,
		Logger:     in.logger.With("instance", in.s.name),
		Hint:       hint,
		Now:        func() time.Time { return in.now() },
	}
}

// send makes one request to one node with the headers Qlik demands and
// returns a 2xx answer. Any other outcome is an error in words a person can
// act on, wrapping one of the vendors.Err sentinels.
func (in *Instance) send(ctx context.Context, method, node string, path apiPath) (answer, error) {
	key := newXrfkey()
	resp, err := in.http.Call(ctx, httpx.Request{
		Method: method,
		URL:    path.url(node, key).String(),
		Path:   node + path.escaped(),
		Header: http.Header{"X-Qlik-Xrfkey": {key}, "X-Qlik-User": {in.s.user}},
	})
	if err != nil {
		return answer{}, err
	}
	return answer{body: resp.Body, header: resp.Header}, nil
}

// hint says what to check on a Qlik site.
func hint(e *httpx.Error) string {
	var host x509.HostnameError
	var unknown x509.UnknownAuthorityError
	switch {
	case e.Kind == httpx.Unauthorized:
		return "credentials not accepted (check user)"
	case e.Kind == httpx.Forbidden:
		return "certificate or xrfkey rejected"
	case errors.As(e.Err, &unknown):
		return "is ca_file the root.pem of this site?"
	case errors.As(e.Err, &host):
		return "set server_name to a name the certificate holds"
	case strings.Contains(e.What, "refused our client certificate"):
		return "is cert_file a certificate exported from this site's QMC?"
	}
	return ""
}

// noClient decodes answers; it sends nothing.
var noClient = &httpx.Client{}

// decode reads a 2xx answer as JSON into v, and says so plainly when it is
// a web page (a wrong port) or broken JSON.
func decode(a answer, v any, portHint string) error {
	err := noClient.Decode(httpx.Response{Status: http.StatusOK, Header: a.header, Body: a.body}, v)
	var e *httpx.Error
	if errors.As(err, &e) {
		e.Hint = "is this the " + portHint + "?"
	}
	return err
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
