package qlik_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/sessionbot/sessionbot/vendors"
	"github.com/sessionbot/sessionbot/vendors/qlik"
	"github.com/sessionbot/sessionbot/vendors/qlik/qliktest"
)

// listAtOnce runs n listings of every session together and returns their
// errors.
func listAtOnce(t *testing.T, n int, list func() error) []error {
	t.Helper()
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { errs[i] = list() })
	}
	wg.Wait()
	return errs
}

// slowSite is a one-proxy demo site that answers after delay, and a
// config for it that opens at most conns connections.
func slowSite(t *testing.T, delay time.Duration, conns int) (*qliktest.Site, qlik.Config) {
	t.Helper()
	site := newSite(t, qliktest.Options{Proxies: 1, Demo: true})
	site.SetDelay(0, delay)
	cfg := configFor(t, site)
	cfg.MaxConnections = conns
	return site, cfg
}

// TestIdleConnectionsAreKeptUpToTheCap: two bursts as large as the
// connection cap open the cap's connections once; the second burst reuses
// them all instead of opening (and handshaking) new ones.
func TestIdleConnectionsAreKeptUpToTheCap(t *testing.T) {
	t.Parallel()
	site, cfg := slowSite(t, 100*time.Millisecond, 12)
	in := newInstance(t, cfg)
	ctx := testContext(t)
	for burst := range 2 {
		for _, err := range listAtOnce(t, 12, func() error { _, err := in.ListAllSessions(ctx); return err }) {
			if err != nil {
				t.Fatalf("burst %d: %v", burst, err)
			}
		}
	}
	if c := site.Connections(0); c != 12 {
		t.Errorf("%d connections for two bursts of 12, want 12", c)
	}
}

// TestWaitingForAConnectionIsBoundedAndSaysBusy: with one connection
// allowed and a slow proxy, a request that cannot get the connection within
// queue_wait fails as busy, at once, not as a timeout of the proxy; a
// request that gets it within queue_wait has its whole request_timeout.
func TestWaitingForAConnectionIsBoundedAndSaysBusy(t *testing.T) {
	t.Parallel()
	site, cfg := slowSite(t, 600*time.Millisecond, 1)
	cfg.RequestTimeout = 900 * time.Millisecond
	cfg.QueueWait = 100 * time.Millisecond
	in := newInstance(t, cfg)
	ctx := testContext(t)
	list := func() error { _, err := in.ListAllSessions(ctx); return err }

	errs := listAtOnce(t, 2, list)
	ok, busy := 0, 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, vendors.ErrBusy) && !errors.Is(err, vendors.ErrTimeout):
			busy++
		default:
			t.Errorf("got %v, want success or busy", err)
		}
	}
	if ok != 1 || busy != 1 {
		t.Errorf("%d answered and %d busy, want 1 and 1 (%v)", ok, busy, errs)
	}
	if site.Connections(0) > 1 {
		t.Errorf("%d connections opened, want at most 1", site.Connections(0))
	}

	// Queued within queue_wait: the second waits 600 ms for the
	// connection, then still has its 900 ms.
	cfg.QueueWait = 2 * time.Second
	in = newInstance(t, cfg)
	for _, err := range listAtOnce(t, 2, list) {
		if err != nil {
			t.Errorf("queued request: %v (its timeout must start once it has a connection)", err)
		}
	}
}

// TestOverloadIsBusyAtOnce: when the requests already waiting would take
// longer than queue_wait to get a connection, one more is busy at once,
// while the first is still being answered, instead of waiting to fail.
func TestOverloadIsBusyAtOnce(t *testing.T) {
	t.Parallel()
	_, cfg := slowSite(t, time.Second, 1)
	cfg.RequestTimeout = 5 * time.Second
	cfg.QueueWait = 2500 * time.Millisecond
	in := newInstance(t, cfg)
	ctx, cancel := context.WithCancel(testContext(t))
	defer cancel()
	list := func() error { _, err := in.ListAllSessions(ctx); return err }
	if err := list(); err != nil { // learns that a list takes 1 s
		t.Fatal(err)
	}

	first := make(chan error, 1)
	go func() { first <- list() }()
	// Two wait behind it: about 1 s and 2 s, within queue_wait.
	var wg sync.WaitGroup
	for want := 1; want <= 2; want++ {
		wg.Go(func() { list() })
		for qlik.Waiting(in) < want {
			time.Sleep(time.Millisecond)
		}
	}
	err := list() // would wait about 3 s
	select {
	case <-first:
		t.Fatal("the first list was answered before the overload was")
	default:
	}
	if !errors.Is(err, vendors.ErrBusy) {
		t.Errorf("got %v, want busy at once", err)
	}
	cancel()
	wg.Wait()
}

// TestChangesWaitForAConnection: an approved end is not turned away
// after queue_wait as a list would be; it waits as long as its deadline
// allows. Executing an approved end re-reads the session first (and
// EndSession without a node looks it up); that read is part of the
// change, so it waits for a connection as the delete does instead of
// failing the approved request as busy.
func TestChangesWaitForAConnection(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		run  func(ctx context.Context, in *qlik.Instance, site *qliktest.Site) error
	}{
		{"end", func(ctx context.Context, in *qlik.Instance, site *qliktest.Site) error {
			return in.EndSession(ctx, vendors.Session{ID: qliktest.MarcSessionOnProxy0, Node: site.Proxies()[0]})
		}},
		{"re-read", func(ctx context.Context, in *qlik.Instance, site *qliktest.Site) error {
			_, err := in.GetSession(vendors.ForChange(ctx), qliktest.MarcSessionOnProxy0)
			return err
		}},
		{"end without a node", func(ctx context.Context, in *qlik.Instance, site *qliktest.Site) error {
			return in.EndSession(ctx, vendors.Session{ID: qliktest.MarcSessionOnProxy0})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			site, cfg := slowSite(t, 300*time.Millisecond, 1)
			cfg.QueueWait = 10 * time.Millisecond
			in := newInstance(t, cfg)
			ctx := testContext(t)
			listed := make(chan error, 1)
			go func() { _, err := in.ListAllSessions(ctx); listed <- err }()
			for len(site.Requests()) == 0 {
				time.Sleep(time.Millisecond)
			}
			if err := tc.run(ctx, in, site); err != nil {
				t.Errorf("while a list held the connection: %v", err)
			}
			if err := <-listed; err != nil {
				t.Error(err)
			}
		})
	}
}

// TestNoSlotIsKeptAfterFailures: operations that fail, time out, are
// cancelled or are turned away as busy give every slot back, so the
// instance does not end up refusing everything as busy.
func TestNoSlotIsKeptAfterFailures(t *testing.T) {
	t.Parallel()
	site := newSite(t, qliktest.Options{Proxies: 2, Demo: true})
	cfg := configFor(t, site)
	cfg.MaxConnections = 2
	cfg.RequestTimeout = 300 * time.Millisecond
	cfg.QueueWait = 20 * time.Millisecond
	in := newInstance(t, cfg)
	ctx := testContext(t)
	marc := qliktest.MarcSessionOnProxy0
	for _, m := range []qliktest.Mode{qliktest.ServerError, qliktest.InvalidJSON, qliktest.Drop, qliktest.Slow} {
		site.Fail(1, m)
		listAtOnce(t, 6, func() error { _, err := in.ListAllSessions(ctx); return err })
		listAtOnce(t, 3, func() error { _, err := in.GetSession(ctx, marc); return err })
	}
	site.Fail(1, qliktest.Healthy)
	site.HangDeletes(true)
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	listAtOnce(t, 3, func() error { return in.EndSession(short, vendors.Session{ID: marc, Node: site.Proxies()[0]}) })
	cancel()
	site.HangDeletes(false)
	cancelled, cancelNow := context.WithCancel(ctx)
	cancelNow()
	listAtOnce(t, 3, func() error { _, err := in.ListAllSessions(cancelled); return err })

	if free := qlik.FreeSlots(in); free != cfg.MaxConnections {
		t.Fatalf("%d of %d slots free after the failures", free, cfg.MaxConnections)
	}
	for _, err := range listAtOnce(t, cfg.MaxConnections, func() error { _, err := in.ListAllSessions(ctx); return err }) {
		if err != nil {
			t.Errorf("after the failures: %v", err)
		}
	}
}
