package httpx_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessionbot/sessionbot/internal/testkit"
	"github.com/sessionbot/sessionbot/vendors"
	"github.com/sessionbot/sessionbot/vendors/internal/httpx"
)

const secret = "s3cr3t+pass/word&x=\"y\""

func newClient(t *testing.T, h http.HandlerFunc) (*httpx.Client, string) {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &httpx.Client{
		HTTP:       httpx.NoRedirects(srv.Client().Transport),
		Timeout:    2 * time.Second,
		TimeoutKey: "request_timeout",
		MaxBody:    1 << 20,
		Secrets:    func() []string { return []string{secret} },
		Retry:      httpx.Retry{Max: 2, MaxWait: time.Minute, Sleep: func(context.Context, time.Duration) error { return nil }},
	}, srv.URL
}

func TestStatusesMapToKindsAndWords(t *testing.T) {
	t.Parallel()
	tests := []struct {
		status int
		ctype  string
		body   string
		kind   httpx.Kind
		is     error
		words  string
	}{
		{401, "text/plain", "nope", httpx.Unauthorized, vendors.ErrUnauthorized, "401 Unauthorized: nope: credentials rejected"},
		{403, "", "", httpx.Forbidden, vendors.ErrForbidden, "403 Forbidden: permission denied"},
		{404, "", "", httpx.NotFound, vendors.ErrNotFound, "404 Not Found"},
		{400, "", "bad id", httpx.BadRequest, vendors.ErrInvalidInput, "400 Bad Request: bad id"},
		{429, "", "", httpx.RateLimited, vendors.ErrUnavailable, "429 Too Many Requests"},
		{500, "text/plain", "boom\x1b[31m\r\nat line 2", httpx.Server, vendors.ErrUnavailable, "500 Internal Server Error: boom[31m: unavailable"},
		{502, "text/html", "<html><body>proxy error</body></html>", httpx.Server, vendors.ErrUnavailable, "502 Bad Gateway: an HTML page"},
		{302, "", "", httpx.Garbage, vendors.ErrBadAnswer, "302 Found: redirected to /elsewhere: "},
		{418, "", "", httpx.Garbage, vendors.ErrBadAnswer, "unexpected 418 I'm a teapot"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.status), func(t *testing.T) {
			t.Parallel()
			c, base := newClient(t, func(w http.ResponseWriter, r *http.Request) {
				if tt.ctype != "" {
					w.Header().Set("Content-Type", tt.ctype)
				}
				w.Header().Set("Location", "/elsewhere")
				w.WriteHeader(tt.status)
				fmt.Fprint(w, tt.body)
			})
			c.Retry.Max = 0
			_, err := c.Call(context.Background(), httpx.Request{Method: http.MethodGet, URL: base + "/x"})
			if httpx.KindOf(err) != tt.kind || !errors.Is(err, tt.is) {
				t.Errorf("err = %v (kind %v), want kind %v wrapping %v", err, httpx.KindOf(err), tt.kind, tt.is)
			}
			if err == nil || !strings.Contains(err.Error(), tt.words) {
				t.Errorf("err = %q, want it to say %q", err, tt.words)
			}
			if tt.status == 500 && (strings.Contains(err.Error(), "line 2") || !strings.Contains(vendors.Detail(err), "at line 2")) {
				t.Errorf("a raw 5xx body: people see %q, the debug log keeps %q; want its first line for people, all of it for the log", err, vendors.Detail(err))
			}
		})
	}
}

func TestTheHintHooksAddTheVendorsWords(t *testing.T) {
	t.Parallel()
	c, base := newClient(t, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusForbidden) })
	c.Hint = func(e *httpx.Error) string {
		if e.Kind == httpx.Forbidden {
			return "certificate refused"
		}
		return ""
	}
	req := httpx.Request{Method: http.MethodGet, URL: base, Hint: func(*httpx.Error) string { return "needs Read.All" }}
	_, err := c.Call(context.Background(), req)
	if want := "403 Forbidden: needs Read.All; certificate refused: permission denied"; err == nil || err.Error() != want {
		t.Errorf("err = %q, want %q", err, want)
	}
}

func TestSecretsAreNeverEchoed(t *testing.T) {
	t.Parallel()
	forms := []string{secret, url.QueryEscape(secret), url.PathEscape(secret), strings.ReplaceAll(secret, `"`, `\"`), "tok-123456"}
	c, base := newClient(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, "you sent %s", strings.Join(forms, " and "))
	})
	_, err := c.Call(context.Background(), httpx.Request{Method: http.MethodGet, URL: base, Auth: &tokens{tokens: []string{"tok-123456"}}})
	if err == nil {
		t.Fatal("no error")
	}
	for _, f := range forms {
		if strings.Contains(err.Error(), f) {
			t.Errorf("err = %q echoes %q", err, f)
		}
	}
	if !strings.Contains(err.Error(), "[redacted]") {
		t.Errorf("err = %q, want the body quoted with the secrets redacted", err)
	}
}

func TestAnAnswerOverTheLimitIsTooLargeAndNotDrained(t *testing.T) {
	t.Parallel()
	var written atomic.Int64
	c, base := newClient(t, func(w http.ResponseWriter, r *http.Request) {
		chunk := bytes.Repeat([]byte("x"), 64<<10)
		for i := 0; i < 1024; i++ { // 64 MiB, if anyone read it all
			n, err := w.Write(chunk)
			written.Add(int64(n))
			if err != nil {
				return
			}
		}
	})
	_, err := c.Call(context.Background(), httpx.Request{Method: http.MethodGet, URL: base})
	if httpx.KindOf(err) != httpx.TooLarge || !errors.Is(err, vendors.ErrBadAnswer) || !strings.Contains(err.Error(), "answer too large (over 1 MiB)") {
		t.Fatalf("err = %v, want TooLarge", err)
	}
	time.Sleep(50 * time.Millisecond)
	if n := written.Load(); n > 16<<20 {
		t.Errorf("the server wrote %d bytes: the answer was drained past the limit", n)
	}
}

func TestDecodeTellsHTMLFromBrokenJSON(t *testing.T) {
	t.Parallel()
	c := &httpx.Client{}
	var v struct{ A int }
	html := httpx.Response{Status: 200, Header: http.Header{"Content-Type": {"text/html"}}, Body: []byte("<!DOCTYPE html>")}
	if err := c.Decode(html, &v); httpx.KindOf(err) != httpx.Garbage || !strings.Contains(err.Error(), "answered HTML, not JSON") {
		t.Errorf("HTML: err = %v", err)
	}
	broken := httpx.Response{Status: 200, Header: http.Header{}, Body: []byte(`{"A":`)}
	if err := c.Decode(broken, &v); httpx.KindOf(err) != httpx.Garbage || !strings.Contains(err.Error(), "answered invalid JSON") {
		t.Errorf("broken: err = %v", err)
	}
}

func TestTimeoutsSayWhoseTimeRanOut(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	c, base := newClient(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	t.Cleanup(func() { close(release) })
	get := httpx.Request{Method: http.MethodGet, URL: base}

	c.Timeout = 50 * time.Millisecond
	_, err := c.Call(context.Background(), get)
	if httpx.KindOf(err) != httpx.Timeout || !strings.Contains(err.Error(), "no answer within 50ms (request_timeout)") {
		t.Errorf("own timeout: err = %v", err)
	}

	c.Timeout = time.Minute
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err = c.Call(ctx, get)
	if httpx.KindOf(err) != httpx.Timeout || !strings.Contains(err.Error(), "no answer before the deadline") {
		t.Errorf("caller's deadline: err = %v", err)
	}

	ctx, cancel = context.WithCancel(context.Background())
	time.AfterFunc(20*time.Millisecond, cancel)
	_, err = c.Call(ctx, get)
	if !errors.Is(err, context.Canceled) || httpx.KindOf(err) != 0 {
		t.Errorf("cancelled: err = %v, want context.Canceled and no kind", err)
	}
}

func TestAConnectionRefusedIsUnreachable(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.NotFoundHandler())
	base := srv.URL
	srv.Close()
	c := &httpx.Client{HTTP: http.DefaultClient, Timeout: time.Second}
	_, err := c.Call(context.Background(), httpx.Request{Method: http.MethodGet, URL: base + "/x?token=" + secret})
	if httpx.KindOf(err) != httpx.Unreachable || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("err = %v, want Unreachable", err)
	}
	if strings.Contains(err.Error(), "token=") {
		t.Errorf("err = %q quotes the URL", err)
	}
}

// tokens is an Auth that hands out its tokens in turn.
type tokens struct {
	mu      sync.Mutex
	tokens  []string
	renewed []string
}

func (a *tokens) Apply(_ context.Context, h http.Header) (string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	h.Set("Authorization", a.tokens[0])
	return a.tokens[0], nil
}

func (a *tokens) Renew(_ context.Context, token string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.renewed = append(a.renewed, token)
	if len(a.tokens) > 1 {
		a.tokens = a.tokens[1:]
	}
	return nil
}

func TestARefusedTokenIsRenewedOnce(t *testing.T) {
	t.Parallel()
	for _, good := range []string{"fresh", "never"} {
		t.Run(good, func(t *testing.T) {
			t.Parallel()
			c, base := newClient(t, func(w http.ResponseWriter, r *http.Request) {
				if r.Header.Get("Authorization") != good {
					w.WriteHeader(http.StatusUnauthorized)
				}
			})
			auth := &tokens{tokens: []string{"stale", "fresh"}}
			// POST too: a refused request changed nothing, so it may be sent again.
			_, err := c.Call(context.Background(), httpx.Request{Method: http.MethodPost, URL: base, Auth: auth})
			if good == "fresh" && err != nil {
				t.Errorf("err = %v, want the fresh token to work", err)
			}
			if good == "never" {
				var e *httpx.Error
				if !errors.As(err, &e) || e.Kind != httpx.Unauthorized || !e.Relogged || !strings.Contains(err.Error(), "refused right after a fresh login") {
					t.Errorf("err = %v, want Unauthorized after a fresh login", err)
				}
			}
			if want := []string{"stale"}; fmt.Sprint(auth.renewed) != fmt.Sprint(want) {
				t.Errorf("renewed %v, want %v", auth.renewed, want)
			}
		})
	}
}

func TestOnlyIdempotentRequestsAreRetriedAndWaitsAreCapped(t *testing.T) {
	t.Parallel()
	tests := []struct {
		method     string
		retryAfter string
		tries      int
		waits      string
	}{
		{http.MethodGet, "3", 3, "[3s 3s]"},
		{http.MethodDelete, "99999999999999999999999", 3, "[1m0s 1m0s]"},
		{http.MethodGet, "", 3, "[1s 2s]"},
		{http.MethodPost, "1", 1, "[]"},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.retryAfter, func(t *testing.T) {
			t.Parallel()
			var tries atomic.Int32
			c, base := newClient(t, func(w http.ResponseWriter, r *http.Request) {
				tries.Add(1)
				w.Header().Set("Retry-After", tt.retryAfter)
				w.WriteHeader(http.StatusTooManyRequests)
			})
			var waits []time.Duration
			c.Retry.Sleep = func(_ context.Context, d time.Duration) error { waits = append(waits, d); return nil }
			_, err := c.Call(context.Background(), httpx.Request{Method: tt.method, URL: base})
			if httpx.KindOf(err) != httpx.RateLimited {
				t.Errorf("err = %v, want RateLimited", err)
			}
			if int(tries.Load()) != tt.tries || fmt.Sprint(waits) != tt.waits {
				t.Errorf("%d tries with waits %v, want %d with %s", tries.Load(), waits, tt.tries, tt.waits)
			}
			if tt.tries > 1 && !strings.Contains(err.Error(), "gave up after 2 retries") {
				t.Errorf("err = %q, want it to say it gave up", err)
			}
		})
	}
}

func TestRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		h    string
		try  int
		want time.Duration
	}{
		{"0", 0, 0},
		{"7", 0, 7 * time.Second},
		{"9223372036", 0, 30 * time.Second},
		{"-5", 2, 4 * time.Second},
		{now.Add(10 * time.Second).Format(http.TimeFormat), 0, 10 * time.Second},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0, 0},
		{now.Add(1000 * time.Hour).Format(http.TimeFormat), 0, 30 * time.Second},
		{"soon", 9, 30 * time.Second},
	}
	for _, tt := range tests {
		if got := httpx.RetryAfter(tt.h, tt.try, 30*time.Second, now); got != tt.want {
			t.Errorf("RetryAfter(%q, %d) = %s, want %s", tt.h, tt.try, got, tt.want)
		}
	}
}

func TestTheDebugLogNamesTheRequestButNoSecret(t *testing.T) {
	t.Parallel()
	var buf testkit.LogBuffer
	c, base := newClient(t, func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "{}") })
	c.Logger = buf.Logger()
	_, err := c.Call(context.Background(), httpx.Request{Method: http.MethodGet, URL: base + "/users/x?key=" + url.QueryEscape(secret),
		Header: http.Header{"Authorization": {"Bearer " + secret}}})
	if err != nil {
		t.Fatal(err)
	}
	line := buf.String()
	for _, want := range []string{"method=GET", "path=/users/x", "status=200", "elapsed="} {
		if !strings.Contains(line, want) {
			t.Errorf("log %q lacks %q", line, want)
		}
	}
	if strings.Contains(line, "key=") || strings.Contains(line, "s3cr3t") {
		t.Errorf("log %q holds the query or a secret", line)
	}
}

func TestASecretCutByTheQuoteLimitIsStillRedacted(t *testing.T) {
	t.Parallel()
	const token = "QSDK 0123456789abcdef0123456789abcdef"
	c, base := newClient(t, func(w http.ResponseWriter, r *http.Request) {
		// The token straddles the 200 characters quoted.
		http.Error(w, strings.Repeat("x", 190)+" "+r.Header.Get("Authorization"), http.StatusInternalServerError)
	})
	c.Retry.Max = 0
	_, err := c.Call(context.Background(), httpx.Request{Method: http.MethodGet, URL: base, Auth: &tokens{tokens: []string{token}}})
	if err == nil || strings.Contains(err.Error(), token[:6]) {
		t.Errorf("err = %q shows the start of the token", err)
	}
}

func TestAZeroClientHasWorkingDefaults(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, `{"A":1}`) }))
	t.Cleanup(srv.Close)
	c := &httpx.Client{HTTP: srv.Client()} // no timeout, no body limit set
	resp, err := c.Call(context.Background(), httpx.Request{Method: http.MethodGet, URL: srv.URL})
	if err != nil || string(resp.Body) != `{"A":1}` {
		t.Errorf("answer %q, err %v; want the body", resp.Body, err)
	}
}
