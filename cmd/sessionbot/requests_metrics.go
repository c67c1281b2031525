package main

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sessionbot/sessionbot/store"
)

// requestCollector reports, at each scrape, what waits in the store: how
// many requests are open in each state and how long the oldest has been
// there, and kills cut short in the last day. It reads the store, so every
// replica reports the same numbers: alert on max, not sum.
type requestCollector struct {
	store interface {
		ListRequests(ctx context.Context, states ...store.State) ([]store.Request, error)
	}
	now     func() time.Time
	timeout time.Duration

	open, oldest, interrupted, storeUp *prometheus.Desc
}

// openStates are the states a request passes through; one that stays in
// approved, executing or unknown for long is stuck.
var openStates = []store.State{store.StatePending, store.StateApproved, store.StateExecuting, store.StateUnknown}

func newRequestCollector(st interface {
	ListRequests(ctx context.Context, states ...store.State) ([]store.Request, error)
}) *requestCollector {
	return &requestCollector{
		store: st, now: time.Now, timeout: 2 * time.Second,
		open: prometheus.NewDesc("sessionbot_requests_open", "Requests not yet finished, by state (the same on every replica).",
			[]string{"state"}, nil),
		oldest: prometheus.NewDesc("sessionbot_requests_oldest_seconds", "How long the oldest request in each open state has been in it (0 when none).",
			[]string{"state"}, nil),
		interrupted: prometheus.NewDesc("sessionbot_requests_interrupted_last_day", "Kills cut short by a crash or a lost lease in the last 24 hours: each needs a look at the vendor.",
			nil, nil),
		storeUp: prometheus.NewDesc("sessionbot_store_up", "1 when the store answered this scrape's questions in time.", nil, nil),
	}
}

func (c *requestCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.open
	ch <- c.oldest
	ch <- c.interrupted
	ch <- c.storeUp
}

func (c *requestCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	open, err := c.store.ListRequests(ctx, openStates...)
	var cut []store.Request
	if err == nil {
		cut, err = c.store.ListRequests(ctx, store.StateInterrupted)
	}
	if err != nil {
		ch <- prometheus.MustNewConstMetric(c.storeUp, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(c.storeUp, prometheus.GaugeValue, 1)
	now := c.now()
	count := map[store.State]int{}
	oldest := map[store.State]time.Duration{}
	for _, r := range open {
		count[r.State]++
		oldest[r.State] = max(oldest[r.State], now.Sub(since(r)))
	}
	for _, s := range openStates {
		ch <- prometheus.MustNewConstMetric(c.open, prometheus.GaugeValue, float64(count[s]), string(s))
		ch <- prometheus.MustNewConstMetric(c.oldest, prometheus.GaugeValue, oldest[s].Seconds(), string(s))
	}
	recent := 0
	for _, r := range cut {
		if now.Sub(r.FinishedAt) < 24*time.Hour {
			recent++
		}
	}
	ch <- prometheus.MustNewConstMetric(c.interrupted, prometheus.GaugeValue, float64(recent))
}

// since is when a request entered its present state, as near as the
// record tells: decided for approved and later, else created.
func since(r store.Request) time.Time {
	if r.State != store.StatePending && !r.DecidedAt.IsZero() {
		return r.DecidedAt
	}
	return r.CreatedAt
}
