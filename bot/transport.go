package bot

import (
	"net"
	"net/http"
	"time"
)

// newSlackTransport is the one connection pool for Slack's Web API and
// response_urls: kept-alive connections, enough of them idle that a burst
// of replies reuses them instead of opening (and TLS-handshaking) one per
// reply, as Go's default of 2 idle connections per host would.
func newSlackTransport() *http.Transport {
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          256,
		MaxIdleConnsPerHost:   128,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
}
