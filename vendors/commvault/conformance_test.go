package commvault_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/sessionbot/sessionbot/vendors"
	"github.com/sessionbot/sessionbot/vendors/commvault/commvaulttest"
	"github.com/sessionbot/sessionbot/vendors/vendortest"
)

func TestConformance(t *testing.T) {
	t.Parallel()
	fixture := func(t *testing.T, conns int, wait time.Duration) vendortest.Fixture {
		srv := newServer(t, commvaulttest.Options{Seed: true})
		cfg := configFor(t, srv)
		cfg.RequestTimeout = time.Second
		cfg.MaxConnections, cfg.QueueWait = conns, wait
		return vendortest.Fixture{
			Instance:  newInstance(t, cfg),
			User:      marc,
			Nobody:    vendors.Identity{ID: commvaulttest.BotUser},
			Requests:  srv.TotalRequests,
			Secrets:   []string{cfg.Password},
			Intercept: func(h http.Handler) { srv.Intercept(h) },
		}
	}
	vendortest.Run(t, vendortest.Harness{
		Capabilities: vendors.CanListUser | vendors.CanListAll | vendors.CanEnd | vendors.CanLogout,
		New:          func(t *testing.T) vendortest.Fixture { return fixture(t, 0, 0) },
		Capacity:     fixture,
	})
}
