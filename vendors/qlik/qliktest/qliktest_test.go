package qliktest_test

import (
	"crypto/tls"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/sessionbot/sessionbot/internal/testkit"
	"github.com/sessionbot/sessionbot/vendors/qlik/qliktest"
)

const key = "abcdEFGH12345678"

// rawClient speaks to the site with its client certificate and nothing
// else: each test sets the headers itself.
func rawClient(t *testing.T, site *qliktest.Site) *http.Client {
	t.Helper()
	return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{
		Certificates: []tls.Certificate{site.ClientPair().TLS},
		RootCAs:      site.CA().Pool,
	}}}
}

func newSite(t *testing.T, opts qliktest.Options) *qliktest.Site {
	t.Helper()
	return testkit.Start(t, qliktest.New, opts)
}

func TestTheFakeIsStrictLikeQlik(t *testing.T) {
	site := newSite(t, qliktest.Options{Proxies: 1, Demo: true, VirtualProxy: "ProxyX1"})
	client := rawClient(t, site)
	tests := []struct {
		name       string
		method     string
		rawPath    string // escaped path and query as sent
		xrfHeader  string
		user       string
		wantStatus int
	}{
		{name: "a well-formed request is answered", rawPath: "/qps/ProxyX1/session?xrfkey=" + key, xrfHeader: key, wantStatus: 200},
		{name: "the prefix is matched ignoring case", rawPath: "/qps/proxyx1/session?xrfkey=" + key, xrfHeader: key, wantStatus: 200},
		{name: "a missing xrfkey query is forbidden", rawPath: "/qps/ProxyX1/session", xrfHeader: key, wantStatus: 403},
		{name: "a missing xrfkey header is forbidden", rawPath: "/qps/ProxyX1/session?xrfkey=" + key, wantStatus: 403},
		{name: "a mismatched xrfkey is forbidden", rawPath: "/qps/ProxyX1/session?xrfkey=" + key, xrfHeader: "abcdEFGH12345679", wantStatus: 403},
		{name: "a short xrfkey is forbidden", rawPath: "/qps/ProxyX1/session?xrfkey=abc", xrfHeader: "abc", wantStatus: 403},
		{name: "an xrfkey with a symbol is forbidden", rawPath: "/qps/ProxyX1/session?xrfkey=abcdEFGH1234567-", xrfHeader: "abcdEFGH1234567-", wantStatus: 403},
		{name: "a missing X-Qlik-User is forbidden", rawPath: "/qps/ProxyX1/session?xrfkey=" + key, xrfHeader: key, user: "-", wantStatus: 403},
		{name: "a double slash is not found", rawPath: "/qps//ProxyX1/session?xrfkey=" + key, xrfHeader: key, wantStatus: 404},
		{name: "a missing prefix is not found", rawPath: "/qps/session?xrfkey=" + key, xrfHeader: key, wantStatus: 404},
		{name: "a wrong prefix is not found", rawPath: "/qps/ProxyX2/session?xrfkey=" + key, xrfHeader: key, wantStatus: 404},
		{name: "a bare dot-dot segment is refused", rawPath: "/qps/ProxyX1/user/Domain/..?xrfkey=" + key, xrfHeader: key, wantStatus: 400},
		{name: "an escaped dot-dot is a user id", rawPath: "/qps/ProxyX1/user/Domain/%2E%2E?xrfkey=" + key, xrfHeader: key, wantStatus: 200},
		{name: "an escaped slash stays inside the user id", rawPath: "/qps/ProxyX1/user/Domain/Marc%2Fx?xrfkey=" + key, xrfHeader: key, wantStatus: 200},
		{name: "an unknown session is not found", rawPath: "/qps/ProxyX1/session/00000000-0000-4000-8000-000000000000?xrfkey=" + key, xrfHeader: key, wantStatus: 404},
		{name: "a POST to the session list is not allowed", method: "POST", rawPath: "/qps/ProxyX1/session?xrfkey=" + key, xrfHeader: key, wantStatus: 405},
		{name: "alive answers without the prefix", rawPath: "/qps/alive?xrfkey=" + key, xrfHeader: key, wantStatus: 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			method := tt.method
			if method == "" {
				method = http.MethodGet
			}
			req, err := http.NewRequest(method, "https://"+site.Proxies()[0]+tt.rawPath, nil)
			if err != nil {
				t.Fatal(err)
			}
			if tt.xrfHeader != "" {
				req.Header.Set("X-Qlik-Xrfkey", tt.xrfHeader)
			}
			switch tt.user {
			case "":
				req.Header.Set("X-Qlik-User", "UserDirectory=INTERNAL; UserId=sa_api")
			case "-":
			default:
				req.Header.Set("X-Qlik-User", tt.user)
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.wantStatus {
				t.Errorf("status = %d, want %d", resp.StatusCode, tt.wantStatus)
			}
		})
	}
}

func TestTheFakeSpeaksQliksJSON(t *testing.T) {
	site := newSite(t, qliktest.Options{Proxies: 2, Demo: true})
	client := rawClient(t, site)
	get := func(method, path string) (int, string) {
		req, _ := http.NewRequest(method, "https://"+site.Proxies()[0]+path+"?xrfkey="+key, nil)
		req.Header.Set("X-Qlik-Xrfkey", key)
		req.Header.Set("X-Qlik-User", "UserDirectory=INTERNAL; UserId=sa_api")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}

	_, body := get("GET", "/qps/session/"+qliktest.MarcSessionOnProxy0)
	for _, want := range []string{`"UserDirectory":"Domain"`, `"UserId":"Marc"`, `"UserName":"Marc Dupont"`,
		`"Attributes":[{"group":"Sales"},{"group":"EMEA"},{"email":"marc@domain.example"}]`, `"SessionId":"` + qliktest.MarcSessionOnProxy0 + `"`} {
		if !strings.Contains(body, want) {
			t.Errorf("session = %s, want it to hold %s", body, want)
		}
	}
	if _, body := get("GET", "/qps/user/nobody/none"); body != "[]" {
		t.Errorf("no sessions = %q, want []", body)
	}

	status, body := get("DELETE", "/qps/session/"+qliktest.MarcSessionOnProxy0)
	var deleted struct {
		Session            map[string]any
		LastSessionForUser bool
	}
	if err := json.Unmarshal([]byte(body), &deleted); err != nil || status != 200 || deleted.Session["SessionId"] != qliktest.MarcSessionOnProxy0 || !deleted.LastSessionForUser {
		t.Errorf("delete = %d %s, want the session and LastSessionForUser true", status, body)
	}
	if status, _ := get("GET", "/qps/session/"+qliktest.MarcSessionOnProxy0); status != 404 {
		t.Errorf("the deleted session still answers %d", status)
	}
	if site.Deletes() != 1 || len(site.Sessions(0)) != 2 {
		t.Errorf("deletes = %d, sessions left = %d; want 1 and 2", site.Deletes(), len(site.Sessions(0)))
	}

	_, body = get("DELETE", "/qps/user/corp/JSMITH")
	if !strings.Contains(body, qliktest.JsmithSessionOnProxy0) || strings.Contains(body, qliktest.JsmithSessionOnProxy1) {
		t.Errorf("logout on proxy 0 = %s, want only its own jsmith session", body)
	}
}

func TestTheRepositoryListsEveryProxy(t *testing.T) {
	site := newSite(t, qliktest.Options{Proxies: 3})
	req, _ := http.NewRequest("GET", "https://"+site.Repository()+"/qrs/proxyservice/full?xrfkey="+key, nil)
	req.Header.Set("X-Qlik-Xrfkey", key)
	req.Header.Set("X-Qlik-User", "UserDirectory=INTERNAL; UserId=sa_api")
	resp, err := rawClient(t, site).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var services []struct {
		Settings struct {
			RestListenPort int `json:"restListenPort"`
		} `json:"settings"`
		ServerNodeConfiguration struct {
			HostName string `json:"hostName"`
		} `json:"serverNodeConfiguration"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&services); err != nil {
		t.Fatal(err)
	}
	if len(services) != 3 {
		t.Fatalf("%d services, want 3", len(services))
	}
	for i, svc := range services {
		if !strings.HasSuffix(site.Proxies()[i], ":"+strconv.Itoa(svc.Settings.RestListenPort)) || svc.ServerNodeConfiguration.HostName != "127.0.0.1" {
			t.Errorf("service %d = %+v, want proxy %s", i, svc, site.Proxies()[i])
		}
	}
}

func TestTheFakeRefusesAClientWithoutCertificate(t *testing.T) {
	site := newSite(t, qliktest.Options{Proxies: 1})
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: site.CA().Pool}}}
	resp, err := client.Get("https://" + site.Proxies()[0] + "/qps/alive")
	if err == nil {
		resp.Body.Close()
		t.Fatal("a client without certificate was answered")
	}
	if n := len(site.Requests()); n != 0 {
		t.Errorf("%d requests logged, want none", n)
	}
}
