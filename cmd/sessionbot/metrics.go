package main

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/sessionbot/sessionbot/commands"
	"github.com/sessionbot/sessionbot/vendors"
)

// metrics are what an operator watches: commands, vendor calls, acks and
// the Slack connection. Served at /metrics with /healthz and /readyz.
type metrics struct {
	registry    *prometheus.Registry
	commands    *prometheus.CounterVec
	vendorCalls *prometheus.HistogramVec
	acks        prometheus.Histogram
	connected   prometheus.Gauge
	auditFailed *prometheus.CounterVec
	mirrorDrops prometheus.Counter
	up          atomic.Bool
}

func newMetrics() *metrics {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		commands: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sessionbot_commands_total", Help: "Commands run, by verb and whether they could run.",
		}, []string{"verb", "outcome"}),
		vendorCalls: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "sessionbot_vendor_call_seconds", Help: "Time one instance took to answer one command, by instance and result.",
			Buckets: prometheus.ExponentialBuckets(0.01, 2, 12),
		}, []string{"instance", "vendor", "result"}),
		acks: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "sessionbot_ack_seconds", Help: "Time from a Slack envelope's arrival to its ack being written to the socket.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 14),
		}),
		connected: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "sessionbot_slack_connected", Help: "1 while the Socket Mode connection is up.",
		}),
		auditFailed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sessionbot_audit_failures_total", Help: "Audit records that could not be written, by action. Requests, votes and executions stop without theirs; reads go on.",
		}, []string{"action"}),
		mirrorDrops: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sessionbot_audit_mirror_dropped_total", Help: "Audit events not copied to the audit channel because the mirror's queue was full or stopping. The audit log keeps them.",
		}),
	}
	m.registry.MustRegister(m.commands, m.vendorCalls, m.acks, m.connected, m.auditFailed, m.mirrorDrops,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

var (
	_ commands.Observer            = (*metrics)(nil)
	_ commands.AuditObserver       = (*metrics)(nil)
	_ commands.AuditMirrorObserver = (*metrics)(nil)
)

func (m *metrics) AuditFailed(action string) { m.auditFailed.WithLabelValues(action).Inc() }

func (m *metrics) AuditMirrorDropped() { m.mirrorDrops.Inc() }

func (m *metrics) VendorCall(instance string, vendor vendors.Type, took time.Duration, err error) {
	result := "ok"
	switch {
	case errors.Is(err, vendors.ErrTimeout):
		result = "timeout"
	case errors.Is(err, vendors.ErrBusy):
		result = "busy"
	case err != nil:
		result = "error"
	}
	m.vendorCalls.WithLabelValues(instance, string(vendor), result).Observe(took.Seconds())
}

func (m *metrics) Command(verb commands.Verb, problem bool) {
	outcome := "ok"
	if problem {
		outcome = "problem"
	}
	m.commands.WithLabelValues(string(verb), outcome).Inc()
}

func (m *metrics) ack(took time.Duration) { m.acks.Observe(took.Seconds()) }

func (m *metrics) connection(up bool) {
	m.up.Store(up)
	if up {
		m.connected.Set(1)
	} else {
		m.connected.Set(0)
	}
}

// handler serves /metrics, /healthz (the process answers) and /readyz (it
// is connected to Slack).
func (m *metrics) handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok\n")) })
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !m.up.Load() {
			http.Error(w, "not connected to Slack", http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ok\n"))
	})
	return mux
}

// serveMetrics listens on addr until ctx ends.
func serveMetrics(ctx context.Context, addr string, m *metrics, logger *slog.Logger) (net.Addr, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: m.handler(), ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		srv.Shutdown(shutdown)
	}()
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("metrics server stopped", "error", err)
		}
	}()
	logger.Info("metrics and health checks served", "address", ln.Addr().String())
	return ln.Addr(), nil
}
