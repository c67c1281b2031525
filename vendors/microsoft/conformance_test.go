package microsoft

import (
	"bufio"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/sessionbot/sessionbot/vendors"
	"github.com/sessionbot/sessionbot/vendors/microsoft/graphtest"
	"github.com/sessionbot/sessionbot/vendors/vendortest"
)

const nobodyUPN = "nobody.calls@contoso.com"

func TestGraphConformance(t *testing.T) {
	t.Parallel()
	fixture := func(t *testing.T, conns int, wait time.Duration) vendortest.Fixture {
		fake := newFake(t, graphtest.Options{})
		fake.AddUser(graphtest.User{ID: "0b7d5f3e-1c2a-4e8b-9f60-7a1d2c3e4f50", DisplayName: "No Calls", UPN: nobodyUPN})
		cfg := graphConfig(fake)
		cfg.RequestTimeout = time.Second
		cfg.MaxConnections, cfg.QueueWait = conns, wait
		in, _ := newGraphInstance(t, cfg, nil)
		return vendortest.Fixture{
			Instance: in.Vendor(),
			User:     vendors.Identity{ID: graphtest.MarcUPN},
			Nobody:   vendors.Identity{ID: nobodyUPN},
			Requests: func() int {
				n := fake.TokenRequests()
				for _, api := range []graphtest.API{graphtest.APIUsers, graphtest.APICallRecords, graphtest.APIRevoke} {
					n += fake.Requests(api)
				}
				return n
			},
			Secrets:   []string{cfg.ClientSecret},
			Intercept: func(h http.Handler) { fake.Intercept(h) },
		}
	}
	vendortest.Run(t, vendortest.Harness{
		Capabilities: vendors.CanListUser | vendors.CanLogout | vendors.CanWindow,
		New:          func(t *testing.T) vendortest.Fixture { return fixture(t, 0, 0) },
		Capacity:     fixture,
	})
}

func TestPowerShellConformance(t *testing.T) {
	t.Parallel()
	notHTTP := "the worker answers JSON lines on a pipe: there is no HTTP status, page or body size to get wrong"
	marc := vendors.Identity{ID: "marc@contoso.com"}
	recent := map[string]any{
		"rows": 3, "rowSpacing": "10m", "rowsFrom": time.Now().Add(-2 * time.Hour).UTC().Format(time.RFC3339), "emptyUser": nobodyUPN,
		"failUser": vendortest.Stranger(marc).ID, "failCategory": "ObjectNotFound", "failMessage": "Management object not found.",
	}
	fixture := func(t *testing.T, fault map[string]any) vendortest.Fixture {
		settings := map[string]any{}
		for k, v := range recent {
			settings[k] = v
		}
		if fault != nil {
			settings["faults"] = []map[string]any{fault}
		}
		s := newWorkerInstance(t, settings, func(c *Config) { c.RequestTimeout = time.Second })
		return vendortest.Fixture{
			Instance: s.in.Vendor(),
			User:     marc,
			Nobody:   vendors.Identity{ID: nobodyUPN},
			Requests: func() int { return lines(s.record) },
			Secrets:  []string{testThumbprint},
		}
	}
	vendortest.Run(t, vendortest.Harness{
		Capabilities: vendors.CanListUser | vendors.CanWindow,
		New:          func(t *testing.T) vendortest.Fixture { return fixture(t, nil) },
		Faulty: func(t *testing.T, f vendortest.Fault) vendortest.Fixture {
			kind := map[vendortest.Fault]string{vendortest.Hang: "hang", vendortest.InvalidJSON: "garbage"}[f]
			return fixture(t, map[string]any{"request": 1, "kind": kind})
		},
		NoCapacity: "one worker process answers one request at a time on a pipe: there are no connections to bound",
		NotApplicable: map[vendortest.Fault]string{
			vendortest.Unauthorized: notHTTP, vendortest.Forbidden: notHTTP, vendortest.RateLimited: notHTTP,
			vendortest.ServerError: notHTTP, vendortest.HTML: notHTTP, vendortest.Oversized: notHTTP,
		},
	})
}

// lines counts the lines the fake worker recorded; none before it starts.
func lines(path string) int {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	n := 0
	for sc := bufio.NewScanner(f); sc.Scan(); {
		n++
	}
	return n
}
