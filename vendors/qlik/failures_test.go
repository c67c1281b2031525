package qlik_test

import (
	"context"
	"errors"
	"net"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sessionbot/sessionbot/internal/testpki"
	"github.com/sessionbot/sessionbot/vendors"
	"github.com/sessionbot/sessionbot/vendors/qlik"
	"github.com/sessionbot/sessionbot/vendors/qlik/qliktest"
)

var failureModes = []struct {
	name  string
	mode  qliktest.Mode
	is    error
	words []string
}{
	{name: "a proxy answering HTML is told apart from JSON", mode: qliktest.HTML, is: vendors.ErrBadAnswer,
		words: []string{"answered HTML, not JSON: is this the QPS port 4243?"}},
	{name: "a proxy answering broken JSON says so", mode: qliktest.InvalidJSON, is: vendors.ErrBadAnswer,
		words: []string{"answered invalid JSON"}},
	{name: "a proxy answering 500 quotes the first line of its body", mode: qliktest.ServerError, is: vendors.ErrUnavailable,
		words: []string{"500 Internal Server Error: Internal error: "}},
	{name: "a proxy answering 403 blames the certificate or xrfkey", mode: qliktest.Forbidden, is: vendors.ErrForbidden,
		words: []string{"403 Forbidden: certificate or xrfkey rejected"}},
	{name: "a proxy too slow to answer times out", mode: qliktest.Slow, is: vendors.ErrTimeout,
		words: []string{"no answer within 300ms"}},
	{name: "a proxy dropping the connection is unavailable", mode: qliktest.Drop, is: vendors.ErrUnavailable,
		words: []string{"connection"}},
}

// failingSite is a demo site of proxies where the proxies failing answer
// in mode, and an instance on it that waits 300ms for an answer.
func failingSite(t *testing.T, proxies int, mode qliktest.Mode, failing ...int) (*qliktest.Site, *qlik.Instance) {
	t.Helper()
	site := newSite(t, qliktest.Options{Proxies: proxies, Demo: true})
	cfg := configFor(t, site)
	cfg.RequestTimeout = 300 * time.Millisecond
	in := newInstance(t, cfg)
	for _, i := range failing {
		site.Fail(i, mode)
	}
	return site, in
}

func TestOneFailingProxyBecomesAWarning(t *testing.T) {
	for _, tt := range failureModes {
		t.Run(tt.name, func(t *testing.T) {
			site, in := failingSite(t, 3, tt.mode, 1)

			got, err := in.ListAllSessions(testContext(t))
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			for _, i := range []int{0, 2} {
				for _, s := range site.Sessions(i) {
					want = append(want, s.SessionID)
				}
			}
			slices.Sort(want)
			if !slices.Equal(ids(got.Sessions), want) {
				t.Errorf("sessions = %v, want those of the healthy proxies %v", ids(got.Sessions), want)
			}
			if len(got.Warnings) != 1 {
				t.Fatalf("warnings = %v, want one for the failing proxy", got.Warnings)
			}
			checkNodeError(t, got.Warnings[0], site.Proxies()[1], tt.is, tt.words)
		})
	}
}

func TestEveryProxyFailingIsAnError(t *testing.T) {
	for _, tt := range failureModes {
		t.Run(tt.name, func(t *testing.T) {
			site, in := failingSite(t, 2, tt.mode, 0, 1)

			got, err := in.ListUserSessions(testContext(t), vendors.UserQuery{User: vendors.Identity{Directory: "Domain", ID: "Marc"}})
			if err == nil {
				t.Fatalf("no error; listing = %+v", got)
			}
			if !errors.Is(err, tt.is) {
				t.Errorf("err = %v, want it to wrap %v", err, tt.is)
			}
			for _, p := range site.Proxies() {
				if !strings.Contains(err.Error(), "qlik-test node "+p+`: list sessions of Domain\Marc: `) {
					t.Errorf("err = %q, want it to name proxy %s and the operation", err, p)
				}
			}
		})
	}
}

// checkNodeError asserts err is a NodeError for node wrapping is, in words.
func checkNodeError(t *testing.T, err error, node string, is error, words []string) {
	t.Helper()
	var nodeErr *vendors.NodeError
	if !errors.As(err, &nodeErr) {
		t.Fatalf("err = %#v, want a *vendors.NodeError", err)
	}
	if nodeErr.Node != node || nodeErr.Instance != "qlik-test" {
		t.Errorf("node error names %s on %s, want %s on qlik-test", nodeErr.Node, nodeErr.Instance, node)
	}
	if !errors.Is(err, is) {
		t.Errorf("err = %v, want it to wrap %v", err, is)
	}
	for _, w := range words {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("err = %q, want it to say %q", err, w)
		}
	}
	if strings.ContainsFunc(err.Error(), func(r rune) bool { return r < 0x20 }) {
		t.Errorf("err = %q holds control characters", err)
	}
	if strings.Contains(err.Error(), "xrfkey=") {
		t.Errorf("err = %q quotes the request URL", err)
	}
}

func TestAServerErrorShowsItsFirstLineAndKeepsTheBodyForTheLog(t *testing.T) {
	site := newSite(t, qliktest.Options{Proxies: 1})
	site.Fail(0, qliktest.ServerError)
	_, err := newInstance(t, configFor(t, site)).ListAllSessions(testContext(t))
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	if !strings.Contains(msg, "500 Internal Server Error: Internal error: ") {
		t.Errorf("err = %q, want the status and the body's first line", msg)
	}
	if strings.Contains(msg, "SessionModule") || strings.Contains(msg, "frame") {
		t.Errorf("err = %q shows the stack trace to people", msg)
	}
	detail := vendors.Detail(err)
	if !strings.Contains(detail, "at Qlik.Sense.Proxy.SessionModule.Get()") {
		t.Errorf("detail for the log = %q, want the body", detail)
	}
	if n := len([]rune(detail)); n > 2000 || strings.ContainsAny(detail, "\x00\x1b\r\n\t") {
		t.Errorf("detail is %d characters or holds control characters: %q", n, detail)
	}
}

func TestTLSProblemsSayWhichCertificate(t *testing.T) {
	other, err := testpki.NewCA("another CA")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		files func(t *testing.T, site *qliktest.Site) testpki.Files
		words []string
	}{
		{
			name: "a client certificate from another CA is refused by the proxy",
			files: func(t *testing.T, site *qliktest.Site) testpki.Files {
				client, err := other.Client("intruder")
				if err != nil {
					t.Fatal(err)
				}
				f, err := other.WriteClientFiles(t.TempDir(), client)
				if err != nil {
					t.Fatal(err)
				}
				writeFile(t, f.CA, site.CA().CertPEM) // we still trust the site
				return f
			},
			words: []string{"TLS: the server refused our client certificate", "cert_file"},
		},
		{
			name: "a server certificate from another CA is refused by us",
			files: func(t *testing.T, site *qliktest.Site) testpki.Files {
				f, err := site.ClientFiles(t.TempDir())
				if err != nil {
					t.Fatal(err)
				}
				writeFile(t, f.CA, other.CertPEM)
				return f
			},
			words: []string{"TLS: the server's certificate is not signed by a CA we trust", "is ca_file the root.pem of this site?"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			site := newSite(t, qliktest.Options{Proxies: 2, Demo: true})
			cfg := configFor(t, site)
			f := tt.files(t, site)
			cfg.CertFile, cfg.KeyFile, cfg.CAFile = f.Cert, f.Key, f.CA
			_, err := newInstance(t, cfg).ListAllSessions(testContext(t))
			if err == nil {
				t.Fatal("no error")
			}
			for _, p := range site.Proxies() {
				if !strings.Contains(err.Error(), p) {
					t.Errorf("err = %q, want it to name %s", err, p)
				}
			}
			if !errors.Is(err, vendors.ErrUnavailable) {
				t.Errorf("err = %v, want ErrUnavailable", err)
			}
			for _, w := range tt.words {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("err = %q, want it to say %q", err, w)
				}
			}
			if n := len(site.Requests()); n != 0 {
				t.Errorf("%d requests got through, want none", n)
			}
		})
	}
}

func TestAServerNameTheCertificateLacksIsExplained(t *testing.T) {
	site := newSite(t, qliktest.Options{Proxies: 1, Demo: true})
	cfg := configFor(t, site)
	cfg.ServerName = "qps9.elsewhere"
	_, err := newInstance(t, cfg).ListAllSessions(testContext(t))
	if err == nil || !strings.Contains(err.Error(), "server_name") || !errors.Is(err, vendors.ErrUnavailable) {
		t.Errorf("err = %v, want a hint about server_name", err)
	}
}

func TestAProxyThatIsNotListeningIsRefused(t *testing.T) {
	site := newSite(t, qliktest.Options{Proxies: 1, Demo: true})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	l.Close()
	cfg := configFor(t, site)
	cfg.Proxies = append(cfg.Proxies, closed)
	got, err := newInstance(t, cfg).ListAllSessions(testContext(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Sessions) != 6 || len(got.Warnings) != 1 {
		t.Fatalf("got %d sessions and warnings %v, want the 6 of the live proxy and one warning", len(got.Sessions), got.Warnings)
	}
	checkNodeError(t, got.Warnings[0], closed, vendors.ErrUnavailable, []string{"connection refused"})
}

func TestTheCallersContextIsHonoured(t *testing.T) {
	site := newSite(t, qliktest.Options{Proxies: 2, Demo: true})
	site.Fail(0, qliktest.Slow)
	site.Fail(1, qliktest.Slow)
	in := newInstance(t, configFor(t, site)) // RequestTimeout 2s

	t.Run("a deadline shorter than the request timeout ends the wait", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := in.ListAllSessions(ctx)
		if !errors.Is(err, vendors.ErrTimeout) || !strings.Contains(err.Error(), "no answer before the deadline") {
			t.Errorf("err = %v, want ErrTimeout before the deadline", err)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("took %s, want about 150ms", d)
		}
	})
	t.Run("a cancelled context stops the requests", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(50*time.Millisecond, cancel)
		_, err := in.LogoutUser(ctx, vendors.Identity{Directory: "Domain", ID: "Marc"})
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
	})
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}
