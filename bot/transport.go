package bot

import (
	"net"
	"net/http"
	"time"
)

// newSlackTransport is the one connection pool for Slack's Web API and
// response_urls: kept-alive connections, as many kept idle as replies can
// be in flight at once, so a burst of replies reuses them instead of
// opening (and TLS-handshaking) one per reply, as Go's default of 2 idle
// connections per host would.
func newSlackTransport(maxInFlight int) *http.Transport {
	idle := max(128, maxInFlight)
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          2 * idle,
		MaxIdleConnsPerHost:   idle,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
}
