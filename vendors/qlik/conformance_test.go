package qlik_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/sessionbot/sessionbot/vendors"
	"github.com/sessionbot/sessionbot/vendors/qlik/qliktest"
	"github.com/sessionbot/sessionbot/vendors/vendortest"
)

func TestConformance(t *testing.T) {
	t.Parallel()
	fixture := func(t *testing.T, conns int, wait time.Duration) vendortest.Fixture {
		// One proxy: a fault on it fails the request rather than
		// leaving a warning beside the other proxy's answer.
		site := newSite(t, qliktest.Options{Proxies: 1, Demo: true})
		cfg := configFor(t, site)
		cfg.RequestTimeout = time.Second
		cfg.MaxConnections, cfg.QueueWait = conns, wait
		return vendortest.Fixture{
			Instance:  newInstance(t, cfg),
			User:      vendors.Identity{Directory: "Domain", ID: "Marc"},
			Nobody:    vendors.Identity{Directory: "Domain", ID: "Adele"},
			Requests:  func() int { return len(site.Requests()) },
			Intercept: func(h http.Handler) { site.Intercept(h) },
		}
	}
	vendortest.Run(t, vendortest.Harness{
		Capabilities: vendors.CanListUser | vendors.CanGet | vendors.CanListAll | vendors.CanEnd | vendors.CanLogout,
		New:          func(t *testing.T) vendortest.Fixture { return fixture(t, 0, 0) },
		Capacity:     fixture,
	})
}
