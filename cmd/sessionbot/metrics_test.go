package main

import (
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestServeExposesMetricsAndHealth: commands, vendor calls, acks and the
// Slack connection show at /metrics; /readyz follows the connection.
func TestServeExposesMetricsAndHealth(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	w := newWorld(t, "")
	cfg, _ := os.ReadFile(w.config)
	os.WriteFile(w.config, append(cfg, []byte("metrics:\n  listen: "+addr+"\n")...), 0o600)
	w.start(t, 1)
	w.command(t, oncall, `list Domain\Marc`)
	w.command(t, oncall, `lsit Domain\Marc`)

	if code, _ := get(t, "http://"+addr+"/healthz"); code != 200 {
		t.Errorf("/healthz: %d", code)
	}
	if code, _ := get(t, "http://"+addr+"/readyz"); code != 200 {
		t.Errorf("/readyz while connected: %d", code)
	}
	_, body := get(t, "http://"+addr+"/metrics")
	for _, want := range []string{
		`sessionbot_commands_total{outcome="ok",verb="list"} 1`,
		`sessionbot_vendor_call_seconds_count{instance="qlik-prod",result="ok",vendor="qlik"} 1`,
		`sessionbot_ack_seconds_count 2`,
		`sessionbot_slack_connected 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	w.slack.FailConnections("internal_error")
	w.slack.DropConnections()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if code, _ := get(t, "http://"+addr+"/readyz"); code == http.StatusServiceUnavailable {
			w.slack.FailConnections("")
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Error("/readyz still ready with Slack unreachable")
}
