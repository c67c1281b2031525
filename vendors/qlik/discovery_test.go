package qlik_test

import (
	"errors"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sessionbot/sessionbot/internal/testkit"
	"github.com/sessionbot/sessionbot/vendors"
	"github.com/sessionbot/sessionbot/vendors/qlik"
	"github.com/sessionbot/sessionbot/vendors/qlik/qliktest"
)

// discovering is an instance that finds the site's proxies through its
// repository, on a clock the test moves.
func discovering(t *testing.T, site *qliktest.Site, repository string) (*qlik.Instance, *fakeClock) {
	t.Helper()
	cfg := configFor(t, site)
	cfg.Proxies = nil
	cfg.Repository = repository
	cfg.DiscoveryTTL = 5 * time.Minute
	in := newInstance(t, cfg)
	clock := newFakeClock()
	qlik.SetClock(in, clock.Now)
	return in, clock
}

func repositoryRequests(site *qliktest.Site) int {
	n := 0
	for _, r := range site.Requests() {
		if r.Proxy == qliktest.Repository {
			n++
		}
	}
	return n
}

func TestConfiguredProxiesAreUsedWithoutAskingTheRepository(t *testing.T) {
	site := newSite(t, qliktest.Options{Proxies: 2, Demo: true})
	cfg := configFor(t, site)
	cfg.Repository = site.Repository() // ignored while proxies are listed, and said to be
	var logs testkit.LogBuffer
	in, err := qlik.New(cfg, vendors.Env{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { in.Close() })
	if _, err := in.ListAllSessions(testContext(t)); err != nil {
		t.Fatal(err)
	}
	if n := repositoryRequests(site); n != 0 {
		t.Errorf("%d repository requests, want none", n)
	}
	if !strings.Contains(logs.String(), "repository is ignored: proxies are listed") || !strings.Contains(logs.String(), "instance=qlik-test") {
		t.Errorf("logs %q do not warn that the repository is ignored, for the instance", logs.String())
	}
}

func TestProxiesAreDiscoveredThroughTheRepository(t *testing.T) {
	for _, form := range []string{"host:port", "https URL"} {
		t.Run("repository given as "+form, func(t *testing.T) {
			site := newSite(t, qliktest.Options{Proxies: 3, Demo: true, VirtualProxy: "ProxyX1"})
			repo := site.Repository()
			if form == "https URL" {
				repo = "https://" + repo + "/"
			}
			in, _ := discovering(t, site, repo)
			ctx := testContext(t)

			nodes, err := in.Nodes(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(nodes, site.Proxies()) {
				t.Errorf("nodes = %v, want %v", nodes, site.Proxies())
			}
			got, err := in.ListUserSessions(ctx, vendors.UserQuery{User: vendors.Identity{Directory: "Domain", ID: "Marc"}})
			if err != nil || len(got.Sessions) != 2 || len(got.Warnings) != 0 {
				t.Errorf("listing = %+v, %v; want Marc's 2 sessions without warnings", got, err)
			}
			if err := in.Probe(ctx); err != nil {
				t.Errorf("probe: %v", err)
			}
			if n := repositoryRequests(site); n != 1 {
				t.Errorf("%d repository requests, want 1: the list is cached", n)
			}
		})
	}
}

func TestTheDiscoveredListIsRefreshedAfterItsTTL(t *testing.T) {
	site := newSite(t, qliktest.Options{Proxies: 2, Demo: true})
	in, clock := discovering(t, site, site.Repository())
	ctx := testContext(t)
	steps := []struct {
		name        string
		advance     time.Duration
		wantAskedSo int
	}{
		{name: "the first listing asks the repository", wantAskedSo: 1},
		{name: "a listing within the TTL uses the cache", advance: 4 * time.Minute, wantAskedSo: 1},
		{name: "a listing after the TTL asks again", advance: 2 * time.Minute, wantAskedSo: 2},
		{name: "the refreshed list is cached again", advance: time.Minute, wantAskedSo: 2},
	}
	for _, step := range steps {
		clock.Advance(step.advance)
		if _, err := in.ListAllSessions(ctx); err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		if n := repositoryRequests(site); n != step.wantAskedSo {
			t.Errorf("%s: %d repository requests, want %d", step.name, n, step.wantAskedSo)
		}
	}
}

func TestAFailedRefreshKeepsTheLastListWithAWarning(t *testing.T) {
	site := newSite(t, qliktest.Options{Proxies: 2, Demo: true})
	in, clock := discovering(t, site, site.Repository())
	ctx := testContext(t)
	if _, err := in.ListAllSessions(ctx); err != nil {
		t.Fatal(err)
	}

	site.FailRepository(qliktest.ServerError)
	clock.Advance(6 * time.Minute)
	got, err := in.ListAllSessions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Sessions) != 6 {
		t.Errorf("%d sessions, want the 6 of the kept proxies", len(got.Sessions))
	}
	if len(got.Warnings) != 1 {
		t.Fatalf("warnings = %v, want one about discovery", got.Warnings)
	}
	var nodeErr *vendors.NodeError
	if !errors.As(got.Warnings[0], &nodeErr) || nodeErr.Node != site.Repository() || nodeErr.Op != "discover proxies" {
		t.Errorf("warning = %#v, want a NodeError for the repository", got.Warnings[0])
	}
	for _, w := range []string{"kept the 2 proxies found at 09:00:00", "500 Internal Server Error"} {
		if !strings.Contains(got.Warnings[0].Error(), w) {
			t.Errorf("warning = %q, want it to say %q", got.Warnings[0], w)
		}
	}
	if !errors.Is(got.Warnings[0], vendors.ErrUnavailable) {
		t.Errorf("warning = %v, want it to wrap ErrUnavailable", got.Warnings[0])
	}
	if err := in.Probe(ctx); err == nil {
		t.Error("probe passed with discovery failing, want an error")
	}

	asked := repositoryRequests(site)
	clock.Advance(10 * time.Second)
	got, err = in.ListAllSessions(ctx)
	if err != nil || len(got.Warnings) != 1 {
		t.Errorf("soon after: %+v, %v; want the kept list and the warning", got, err)
	}
	if n := repositoryRequests(site); n != asked {
		t.Errorf("the repository was asked again %d times within a minute of failing, want 0", n-asked)
	}

	site.FailRepository(qliktest.Healthy)
	clock.Advance(time.Minute)
	got, err = in.ListAllSessions(ctx)
	if err != nil || len(got.Warnings) != 0 {
		t.Errorf("after recovery: warnings %v, %v; want none", got.Warnings, err)
	}
}

func TestDiscoveryFailingWithNoListIsAnError(t *testing.T) {
	tests := []struct {
		name  string
		mode  qliktest.Mode
		is    error
		words string
	}{
		{name: "a repository answering 403", mode: qliktest.Forbidden, is: vendors.ErrForbidden, words: "certificate or xrfkey rejected"},
		{name: "a repository answering HTML", mode: qliktest.HTML, is: vendors.ErrBadAnswer, words: "is this the QRS port 4242?"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			site := newSite(t, qliktest.Options{Proxies: 2, Demo: true})
			site.FailRepository(tt.mode)
			in, _ := discovering(t, site, site.Repository())
			_, err := in.ListAllSessions(testContext(t))
			if !errors.Is(err, tt.is) || !strings.Contains(err.Error(), tt.words) {
				t.Errorf("err = %v, want %v saying %q", err, tt.is, tt.words)
			}
			if !strings.Contains(err.Error(), "qlik-test node "+site.Repository()+": discover proxies: ") {
				t.Errorf("err = %q, want it to name the repository and the operation", err)
			}
		})
	}
}
