package commvaulttest_test

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sessionbot/sessionbot/internal/testclock"
	"github.com/sessionbot/sessionbot/internal/testkit"

	"github.com/sessionbot/sessionbot/vendors/commvault/commvaulttest"
)

// client talks to a fake as a raw HTTP client, trusting its CA.
type client struct {
	t   *testing.T
	srv *commvaulttest.Server
	hc  *http.Client
}

func newFake(t *testing.T, opts commvaulttest.Options) *client {
	t.Helper()
	srv := testkit.Start(t, commvaulttest.New, opts)
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(srv.CAPEM()) {
		t.Fatal("CA PEM does not parse")
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}
	t.Cleanup(tr.CloseIdleConnections)
	return &client{t: t, srv: srv, hc: &http.Client{Transport: tr, Timeout: 5 * time.Second}}
}

// do sends one request and returns the status and body.
func (c *client) do(method, path string, header map[string]string, body string) (int, string) {
	c.t.Helper()
	req, err := http.NewRequest(method, c.srv.URL()+path, strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(data)
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func loginBody(user, password string) string {
	data, _ := json.Marshal(map[string]string{"username": user, "password": password})
	return string(data)
}

var jsonHeaders = map[string]string{"Content-Type": "application/json", "Accept": "application/json"}

// login returns a token for the bot's account.
func (c *client) login() string {
	c.t.Helper()
	status, body := c.do("POST", "/Login", jsonHeaders, loginBody(commvaulttest.BotUser, b64(commvaulttest.BotPassword)))
	var answer struct{ Token string }
	if status != 200 || json.Unmarshal([]byte(body), &answer) != nil || !strings.HasPrefix(answer.Token, "QSDK ") {
		c.t.Fatalf("login: %d %s", status, body)
	}
	return answer.Token
}

func TestLoginIsStrict(t *testing.T) {
	tests := []struct {
		name     string
		headers  map[string]string
		body     string
		wantCode int
		wantText string
	}{
		{"a base64 password logs in", jsonHeaders, loginBody(commvaulttest.BotUser, b64(commvaulttest.BotPassword)), 200, `"token":"QSDK `},
		{"the user name is matched ignoring case", jsonHeaders, loginBody("SessionBot", b64(commvaulttest.BotPassword)), 200, `"token":"QSDK `},
		{"a plain-text password is refused", jsonHeaders, loginBody(commvaulttest.BotUser, commvaulttest.BotPassword), 200, "Invalid Username or Password"},
		{"a wrong password is refused", jsonHeaders, loginBody(commvaulttest.BotUser, b64("guess")), 200, `"errLogMessage":"Invalid Username or Password"`},
		{"an unknown user is refused the same way", jsonHeaders, loginBody("nobody", b64("x")), 200, "Invalid Username or Password"},
		{"a body that is not JSON is a bad request", jsonHeaders, "username=x", 400, "Malformed login request"},
		{"an unknown field is a bad request", jsonHeaders, `{"user":"sessionbot","password":"eA=="}`, 400, "Malformed"},
		{"a missing password is a bad request", jsonHeaders, `{"username":"sessionbot"}`, 400, "needs username and password"},
		{"a form content type is a bad request", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, loginBody("a", "b"), 400, "application/json"},
		{"an XML Accept gets the token as XML", map[string]string{"Content-Type": "application/json", "Accept": "application/xml"},
			loginBody(commvaulttest.BotUser, b64(commvaulttest.BotPassword)), 200, `token="QSDK `},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newFake(t, commvaulttest.Options{})
			code, body := c.do("POST", "/Login", tt.headers, tt.body)
			if code != tt.wantCode || !strings.Contains(body, tt.wantText) {
				t.Errorf("got %d %s, want %d with %q", code, body, tt.wantCode, tt.wantText)
			}
			if c.srv.LoginAttempts() != 1 {
				t.Errorf("login attempts = %d, want 1", c.srv.LoginAttempts())
			}
		})
	}
}

func TestAccountsLockAfterFailedLogins(t *testing.T) {
	c := newFake(t, commvaulttest.Options{LockAfter: 3})
	for range 3 {
		c.do("POST", "/Login", jsonHeaders, loginBody(commvaulttest.BotUser, b64("wrong")))
	}
	_, body := c.do("POST", "/Login", jsonHeaders, loginBody(commvaulttest.BotUser, b64(commvaulttest.BotPassword)))
	if !strings.Contains(body, "is locked") || !c.srv.Locked(commvaulttest.BotUser) {
		t.Fatalf("after 3 failures the right password got %s", body)
	}
	c.srv.SetLocked(commvaulttest.BotUser, false)
	c.login()
}

func TestCallsNeedALiveToken(t *testing.T) {
	clock := testclock.New(time.Date(2026, 1, 5, 8, 0, 0, 0, time.UTC))
	c := newFake(t, commvaulttest.Options{Seed: true, TokenTTL: 10 * time.Minute, Now: clock.Now})
	token := c.login()
	get := func(tok string) int {
		code, _ := c.do("GET", "/User", map[string]string{"Accept": "application/json", "Authtoken": tok}, "")
		return code
	}
	if code := get(""); code != 401 {
		t.Errorf("no token: %d, want 401", code)
	}
	if code := get("QSDK forged"); code != 401 {
		t.Errorf("forged token: %d, want 401", code)
	}
	if code := get(token); code != 200 {
		t.Fatalf("live token: %d", code)
	}
	clock.Advance(9 * time.Minute)
	if code := get(token); code != 200 {
		t.Errorf("token used 9 minutes ago: %d, want 200 (expiry slides with use)", code)
	}
	clock.Advance(10 * time.Minute)
	if code := get(token); code != 401 {
		t.Errorf("token idle 10 minutes: %d, want 401", code)
	}
	token = c.login()
	c.srv.ExpireTokens()
	if code := get(token); code != 401 {
		t.Errorf("after ExpireTokens: %d, want 401", code)
	}
}

func TestSessionsAnswerByAccept(t *testing.T) {
	c := newFake(t, commvaulttest.Options{Seed: true})
	token := c.login()
	path := "/Session?userId=10"

	_, asJSON := c.do("GET", path, map[string]string{"Accept": "application/json", "Authtoken": token}, "")
	if !strings.HasPrefix(asJSON, `{"sessions":[`) || !strings.Contains(asJSON, commvaulttest.SeedSessionID) {
		t.Errorf("JSON answer = %s", asJSON)
	}
	_, asXML := c.do("GET", path, map[string]string{"Accept": "application/xml", "Authtoken": token}, "")
	for _, want := range []string{`<?xml version="1.0"`, `<Api_GetSessionsResp>`, `logoutTime="1453394214"`, `loginTime="1453328412"`,
		`host="host002"`, `sessionId="` + commvaulttest.SeedSessionID + `"`, `consoleType="5"`, `<user userName="jsmith" userId="10">`} {
		if !strings.Contains(asXML, want) {
			t.Errorf("XML answer lacks %s:\n%s", want, asXML)
		}
	}
	for _, bad := range []string{"/Session", "/Session?userId=x", "/Session?userId=10&userId=11", "/Session?userId=10&all=1"} {
		if code, _ := c.do("GET", bad, map[string]string{"Authtoken": token}, ""); code != 400 {
			t.Errorf("%s: %d, want 400", bad, code)
		}
	}
	c.srv.SetRoutes(commvaulttest.OnlySessions)
	if code, _ := c.do("GET", path, map[string]string{"Authtoken": token}, ""); code != 404 {
		t.Errorf("/Session with only /Sessions: %d, want 404", code)
	}
	if code, _ := c.do("GET", "/Sessions?userId=10", map[string]string{"Authtoken": token}, ""); code != 200 {
		t.Errorf("/Sessions: %d, want 200", code)
	}
}

func TestByNameReadsODataQuotes(t *testing.T) {
	c := newFake(t, commvaulttest.Options{Users: []commvaulttest.User{{Name: `CORP\o'brien`}}})
	token := c.login()
	h := map[string]string{"Accept": "application/json", "Authtoken": token}
	if _, body := c.do("GET", "/User/byName(userName='CORP%5Co''brien')", h, ""); !strings.Contains(body, `"userName":"CORP\\o'brien"`) {
		t.Errorf("doubled quote: %s", body)
	}
	if code, _ := c.do("GET", "/User/byName(userName='CORP%5Co'brien')", h, ""); code != 400 {
		t.Errorf("lone quote: %d, want 400", code)
	}
	c.srv.SetByName(false)
	if code, _ := c.do("GET", "/User/byName(userName='jsmith')", h, ""); code != 404 {
		t.Errorf("byName switched off: %d, want 404", code)
	}
}

func TestLogoffChecksTheXMLBody(t *testing.T) {
	tests := []struct {
		name        string
		contentType string
		body        string
		wantCode    int
		wantText    string
		wantEnded   bool
	}{
		{"a well-formed request logs the session off", "application/xml",
			`<Api_LogoffUsersRequest><sessions val="` + commvaulttest.MarcConsoleSession + `"/></Api_LogoffUsersRequest>`, 200, "<Api_LogoffUsersResponse />", true},
		{"a JSON content type is refused", "application/json", `{"sessions":[{"val":"x"}]}`, 400, "XML body", false},
		{"malformed XML is refused", "application/xml", `<Api_LogoffUsersRequest><sessions val="x">`, 400, "Malformed", false},
		{"another root element is refused", "application/xml", `<LogoffRequest><sessions val="x"/></LogoffRequest>`, 400, "Malformed", false},
		{"a sessions element without val is refused", "application/xml", `<Api_LogoffUsersRequest><sessions id="x"/></Api_LogoffUsersRequest>`, 400, "without val", false},
		{"content after the root is refused", "application/xml", `<Api_LogoffUsersRequest><sessions val="x"/></Api_LogoffUsersRequest><x/>`, 400, "after the root", false},
		{"an unknown session changes nothing", "application/xml",
			`<Api_LogoffUsersRequest><sessions val="` + commvaulttest.MarcConsoleSession + `"/><sessions val="nope"/></Api_LogoffUsersRequest>`, 200, "Session [nope] not found", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newFake(t, commvaulttest.Options{Seed: true})
			token := c.login()
			code, body := c.do("DELETE", "/Sessions", map[string]string{"Content-Type": tt.contentType, "Accept": "application/xml", "Authtoken": token}, tt.body)
			if code != tt.wantCode || !strings.Contains(body, tt.wantText) {
				t.Errorf("got %d %s, want %d with %q", code, body, tt.wantCode, tt.wantText)
			}
			s, _ := c.srv.Session(commvaulttest.MarcConsoleSession)
			if ended := !s.Active(); ended != tt.wantEnded {
				t.Errorf("Marc's console session ended = %t, want %t", ended, tt.wantEnded)
			}
			if c.srv.Deletes() != 1 {
				t.Errorf("deletes = %d, want 1", c.srv.Deletes())
			}
		})
	}
}

func TestFailureModes(t *testing.T) {
	tests := []struct {
		mode     commvaulttest.Mode
		wantCode int
		wantText string
	}{
		{commvaulttest.HTML, 200, "<!DOCTYPE html>"},
		{commvaulttest.Garbage, 200, `{"sessions":[{"sessionId":"EMC12`},
		{commvaulttest.ServerError, 500, "NullPointerException"},
		{commvaulttest.Forbidden, 403, "required permissions"},
		{commvaulttest.Unauthorized, 401, "Access denied"},
	}
	for _, tt := range tests {
		t.Run(tt.mode.String(), func(t *testing.T) {
			c := newFake(t, commvaulttest.Options{Seed: true})
			token := c.login()
			c.srv.Fail(tt.mode)
			code, body := c.do("GET", "/Session?userId=10", map[string]string{"Accept": "application/json", "Authtoken": token}, "")
			if code != tt.wantCode || !strings.Contains(body, tt.wantText) {
				t.Errorf("got %d %s", code, body)
			}
			if c.srv.Requests("GET /Session") != 1 {
				t.Errorf("requests = %v", c.srv.RoutesAsked())
			}
		})
	}
}

func TestLogoutEndsTheToken(t *testing.T) {
	c := newFake(t, commvaulttest.Options{})
	token := c.login()
	if code, body := c.do("POST", "/Logout", map[string]string{"Authtoken": token}, ""); code != 200 || body != "User logged out" {
		t.Fatalf("logout: %d %s", code, body)
	}
	if code, _ := c.do("GET", "/User", map[string]string{"Authtoken": token}, ""); code != 401 {
		t.Errorf("after logout: %d, want 401", code)
	}
	if c.srv.Logouts() != 1 || c.srv.Tokens() != 0 {
		t.Errorf("logouts %d, tokens %d", c.srv.Logouts(), c.srv.Tokens())
	}
}
