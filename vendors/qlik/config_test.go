package qlik_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sessionbot/sessionbot/internal/testpki"
	"github.com/sessionbot/sessionbot/vendors"
	"github.com/sessionbot/sessionbot/vendors/qlik"
	"github.com/sessionbot/sessionbot/vendors/qlik/qliktest"
)

func TestVirtualProxyNormalisation(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    string
		wantErr bool
	}{
		{name: "empty is the default virtual proxy", in: "", want: ""},
		{name: "a lone slash is the default virtual proxy", in: "/", want: ""},
		{name: "a bare prefix stays as it is", in: "ProxyX1", want: "ProxyX1"},
		{name: "a leading slash is dropped", in: "/ProxyX1", want: "ProxyX1"},
		{name: "a trailing slash is dropped", in: "ProxyX1/", want: "ProxyX1"},
		{name: "slashes on both sides are dropped", in: "//ProxyX1//", want: "ProxyX1"},
		{name: "surrounding spaces are dropped", in: "  /ProxyX1 ", want: "ProxyX1"},
		{name: "an inner slash is refused", in: "Proxy/X1", wantErr: true},
		{name: "a dot-dot prefix is refused", in: "/../", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := qlik.NormalizeVirtualProxy(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("NormalizeVirtualProxy(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestVirtualProxyNeverProducesADoubleSlashOnTheWire(t *testing.T) {
	for _, vp := range []string{"", "/", "ProxyX1", "/ProxyX1", "ProxyX1/", "/ProxyX1/"} {
		t.Run("prefix "+vp, func(t *testing.T) {
			want := strings.Trim(vp, "/")
			site := newSite(t, qliktest.Options{Proxies: 1, Demo: true, VirtualProxy: want})
			cfg := configFor(t, site)
			cfg.VirtualProxy = vp
			if _, err := newInstance(t, cfg).ListAllSessions(testContext(t)); err != nil {
				t.Fatal(err)
			}
			wantPath := "/qps/" + want + "/session"
			if want == "" {
				wantPath = "/qps/session"
			}
			for _, r := range site.Requests() {
				if r.EscapedPath != wantPath {
					t.Errorf("path = %q, want %q", r.EscapedPath, wantPath)
				}
			}
		})
	}
}

func TestAddresses(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		port    int
		want    string
		wantErr bool
	}{
		{name: "a bare host gets the default port", in: "qps1.corp", port: 4243, want: "qps1.corp:4243"},
		{name: "a host and port stay", in: "qps1.corp:14243", port: 4243, want: "qps1.corp:14243"},
		{name: "an https URL gives its host and port", in: "https://qps1.corp:4243", port: 4243, want: "qps1.corp:4243"},
		{name: "an https URL without port gets the default", in: "https://qrs.corp/", port: 4242, want: "qrs.corp:4242"},
		{name: "an IPv6 literal keeps its brackets", in: "[::1]:4243", port: 4243, want: "[::1]:4243"},
		{name: "a bracketed IPv6 literal gets the default port", in: "[::1]", port: 4243, want: "[::1]:4243"},
		{name: "plain http is refused", in: "http://qps1.corp:4243", wantErr: true},
		{name: "a path is refused", in: "https://qps1.corp:4243/qps", wantErr: true},
		{name: "a bad port is refused", in: "qps1.corp:99999", wantErr: true},
		{name: "an empty address is refused", in: " ", wantErr: true},
		{name: "a host with a slash is refused", in: "qps1.corp/x:4243", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := qlik.HostPort(tt.in, tt.port)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("HostPort(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestNewNamesTheCertificateFileThatIsWrong(t *testing.T) {
	site := newSite(t, qliktest.Options{Proxies: 1})
	dir := t.TempDir()
	good, err := site.ClientFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	keyPEM, err := os.ReadFile(good.Key)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name, content string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	other, err := testpki.NewCA("other")
	if err != nil {
		t.Fatal(err)
	}
	otherClient, err := other.Client("other")
	if err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.pem")
	unreadable := write("unreadable.pem", "x")
	if err := os.Chmod(unreadable, 0); err != nil {
		t.Fatal(err)
	}
	canReadUnreadable := func() bool { _, err := os.ReadFile(unreadable); return err == nil }()

	tests := []struct {
		name      string
		cert, key string
		ca        string
		want      []string
		wantIs    error
		skip      bool
	}{
		{name: "a missing certificate file is named", cert: missing, key: good.Key, ca: good.CA,
			want: []string{`cert_file "` + missing + `": cannot be read: no such file or directory`}, wantIs: fs.ErrNotExist},
		{name: "a missing key file is named", cert: good.Cert, key: missing, ca: good.CA,
			want: []string{`key_file "` + missing + `": cannot be read: no such file`}, wantIs: fs.ErrNotExist},
		{name: "a missing CA file is named", cert: good.Cert, key: good.Key, ca: missing,
			want: []string{`ca_file "` + missing + `": cannot be read: no such file`}, wantIs: fs.ErrNotExist},
		{name: "an unreadable key file is named", cert: good.Cert, key: unreadable, ca: good.CA,
			want: []string{`key_file "` + unreadable + `"`, "permission denied"}, skip: canReadUnreadable},
		{name: "a CA file without a certificate says so", cert: good.Cert, key: good.Key, ca: write("empty-root.pem", "not a pem\n"),
			want: []string{`ca_file "` + filepath.Join(dir, "empty-root.pem") + `": contains no certificate`}},
		{name: "a key file holding a certificate says it has no key", cert: good.Cert, key: good.Cert, ca: good.CA,
			want: []string{`key_file "` + good.Cert + `": contains no private key`}},
		{name: "a certificate file holding a key says it has no certificate", cert: good.Key, key: good.Key, ca: good.CA,
			want: []string{`cert_file "` + good.Key + `": contains no certificate`}},
		{name: "a key of another certificate is reported as a mismatch", cert: good.Cert, key: write("other_key.pem", string(otherClient.KeyPEM)), ca: good.CA,
			want: []string{"key_file", "is not the key of cert_file"}},
		{name: "every missing file is listed at once", cert: "", key: "", ca: "",
			want: []string{"cert_file: is not set", "key_file: is not set", "ca_file: is not set"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.skip {
				t.Skip("running as a user who can read a file with mode 0")
			}
			_, err := qlik.New(qlik.Config{Name: "q", Proxies: []string{"qps1.corp"}, CertFile: tt.cert, KeyFile: tt.key, CAFile: tt.ca}, vendors.Env{})
			if err == nil {
				t.Fatal("New succeeded, want an error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("err = %q, want it to contain %q", err, w)
				}
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("err = %v, want it to wrap %v", err, tt.wantIs)
			}
			for _, secret := range [][]byte{keyPEM, otherClient.KeyPEM} {
				for _, line := range strings.Split(string(secret), "\n") {
					if len(line) > 20 && !strings.HasPrefix(line, "-----") && strings.Contains(err.Error(), line) {
						t.Errorf("err quotes key material: %q", err)
					}
				}
			}
		})
	}
}

func TestNewListsEveryConfigurationProblem(t *testing.T) {
	site := newSite(t, qliktest.Options{Proxies: 1})
	cfg := configFor(t, site)
	cfg.Proxies = nil
	cfg.Repository = ""
	cfg.VirtualProxy = "a/b"
	cfg.RequestTimeout = -1
	_, err := qlik.New(cfg, vendors.Env{})
	for _, want := range []string{"neither proxies nor repository", "virtual_proxy", "request_timeout"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("err = %v, want it to mention %q", err, want)
		}
	}
}

// Each problem carries its key and value, so the caller names the key
// without reading the message.
func TestConfigProblemsCarryTheirKeys(t *testing.T) {
	_, err := qlik.New(qlik.Config{Name: "q", Proxies: []string{"http://qps1:4243", "qps2:99999"}, VirtualProxy: "a/b",
		RequestTimeout: -1, CertFile: "/nonexistent/client.pem"}, vendors.Env{})
	var problems vendors.ConfigProblems
	if !errors.As(err, &problems) {
		t.Fatalf("err %v holds no vendors.ConfigProblems", err)
	}
	got := map[string]string{}
	for _, p := range problems {
		got[p.Key+" "+p.Value] = p.Problem
	}
	for _, want := range []string{"proxies http://qps1:4243", "proxies qps2:99999", "virtual_proxy a/b", "request_timeout -1ns",
		"cert_file /nonexistent/client.pem", "key_file ", "ca_file "} {
		if _, ok := got[want]; !ok {
			t.Errorf("no problem for %q in %v", want, got)
		}
	}
}
