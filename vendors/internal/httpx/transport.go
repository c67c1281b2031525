package httpx

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io/fs"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/sessionbot/sessionbot/vendors"
)

// Transport is an HTTP transport for one vendor instance: TLS from the
// adapter's settings, dial and header timeouts of timeout, at most conns
// connections per host, all kept open while idle so that each is
// handshaken once rather than again after every burst. It goes direct: an
// adapter that may sit behind an HTTP proxy (a cloud API) sets Proxy itself.
func Transport(tlsConfig *tls.Config, timeout time.Duration, conns int) *http.Transport {
	return &http.Transport{
		DialContext:           (&net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:       tlsConfig,
		TLSHandshakeTimeout:   timeout,
		ResponseHeaderTimeout: timeout,
		MaxConnsPerHost:       conns,
		MaxIdleConns:          2 * conns,
		MaxIdleConnsPerHost:   conns,
		IdleConnTimeout:       90 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
}

// NoRedirects is an http.Client over t that never follows a redirect: a
// redirect would carry the credentials to wherever it points, and these
// APIs do not redirect.
func NoRedirects(t http.RoundTripper) *http.Client {
	return &http.Client{
		Transport:     t,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// LoadCA reads the PEM file at path into a pool with the system's roots,
// so the server may use either. Problems come under ca_file, name the
// file and never quote its content; fix says what to give instead.
func LoadCA(path, fix string) (*x509.CertPool, vendors.ConfigProblems) {
	data, err := os.ReadFile(path)
	if err != nil {
		reason := err.Error()
		var pe *fs.PathError
		if errors.As(err, &pe) {
			reason = pe.Err.Error()
		}
		return nil, vendors.ConfigProblems{{Key: "ca_file", Value: path, Problem: "cannot be read: " + reason, Fix: fix, Err: err}}
	}
	roots, err := x509.SystemCertPool()
	if err != nil || roots == nil {
		roots = x509.NewCertPool()
	}
	if !roots.AppendCertsFromPEM(data) {
		return nil, vendors.ConfigProblems{{Key: "ca_file", Value: path, Problem: "contains no PEM certificate that can be parsed", Fix: fix}}
	}
	return roots, nil
}
