package httpx

import (
	"crypto/tls"
	"net"
	"net/http"
	"time"
)

// Transport is an HTTP transport for one vendor instance: TLS from the
// adapter's settings, dial and header timeouts of timeout, up to
// idlePerHost idle connections kept for reuse. It goes direct: an adapter
// that may sit behind an HTTP proxy (a cloud API) sets Proxy itself.
func Transport(tlsConfig *tls.Config, timeout time.Duration, idlePerHost int) *http.Transport {
	return &http.Transport{
		DialContext:           (&net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:       tlsConfig,
		TLSHandshakeTimeout:   timeout,
		ResponseHeaderTimeout: timeout,
		MaxIdleConns:          2 * idlePerHost,
		MaxIdleConnsPerHost:   idlePerHost,
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
