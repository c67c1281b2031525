package microsoft

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessionbot/sessionbot/internal/testkit"
	"github.com/sessionbot/sessionbot/vendors"
)

// fakeWorker is the stand-in for pwsh, built once for the test binary.
var fakeWorker string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "fakeworker-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fakeWorker = filepath.Join(dir, "pwsh")
	build := exec.Command("go", "build", "-o", fakeWorker, "./internal/fakeworker")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build the fake worker: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

const (
	testTenant     = "9188040d-6c67-4c5b-b112-36a304b66dad"
	testApp        = "5f1c6e1d-2b0a-4e53-9c4e-0d3b5a8e7c21"
	testThumbprint = "3F2504E04F8911D39A0C0305E82C3301AB12CD34"
)

// workerSetup is one instance on the fake worker, with its settings file
// passed as the script and the file where the worker records what it got.
type workerSetup struct {
	in     *Instance
	record string
}

func newWorkerInstance(t *testing.T, settings map[string]any, change func(*Config)) workerSetup {
	t.Helper()
	dir := t.TempDir()
	record := filepath.Join(dir, "requests.jsonl")
	if settings == nil {
		settings = map[string]any{}
	}
	settings["record"] = record
	b, err := json.Marshal(settings)
	if err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(dir, "settings.json")
	if err := os.WriteFile(script, b, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := Config{
		Name: "skype-test", Backend: BackendPowerShell,
		TenantID: testTenant, AppID: testApp, CertificateThumbprint: testThumbprint,
		Pwsh: fakeWorker, Script: script,
		RequestTimeout: 5 * time.Second, StartTimeout: 10 * time.Second,
	}
	if change != nil {
		change(&cfg)
	}
	cfg.Type = vendors.Skype
	in, err := New(cfg, vendors.Env{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := in.Close(ctx); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return workerSetup{in: in, record: record}
}

// received lists the requests the fake worker got, in order.
func (s workerSetup) received(t *testing.T) []workerRequest {
	t.Helper()
	f, err := os.Open(s.record)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []workerRequest
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		var r workerRequest
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("the adapter sent a line that is not JSON: %q", sc.Text())
		}
		out = append(out, r)
	}
	return out
}

// starts counts the worker processes started.
func (s workerSetup) starts(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile(s.record + ".starts")
	if err != nil {
		return 0
	}
	n, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return n
}

func (s workerSetup) list(ctx context.Context, upn string, w vendors.Window) (vendors.Listing, error) {
	return s.in.ListUserSessions(ctx, vendors.UserQuery{User: vendors.Identity{ID: upn}, Window: w})
}

// rows asks the fake for n sessions a minute apart, the first 50 hours ago.
func rows(n int, spacing string) map[string]any {
	return map[string]any{"rows": n, "rowsFrom": time.Now().Add(-50 * time.Hour).UTC().Format(time.RFC3339), "rowSpacing": spacing}
}

var threeDays = vendors.Window{Since: time.Now().Add(-72 * time.Hour)}

func TestWorkerStartsOnceAndIsReused(t *testing.T) {
	s := newWorkerInstance(t, rows(5, "1m"), nil)
	for i := 0; i < 3; i++ {
		l, err := s.list(context.Background(), "ken.myer@contoso.com", threeDays)
		if err != nil {
			t.Fatal(err)
		}
		if len(l.Sessions) != 5 {
			t.Fatalf("%d sessions, want 5", len(l.Sessions))
		}
	}
	if n := s.starts(t); n != 1 {
		t.Fatalf("%d worker processes for 3 requests, want 1", n)
	}
	got := s.received(t)
	if len(got) != 4 || got[0].Op != "start" {
		t.Fatalf("the worker got %+v, want one start and three requests", got)
	}
	for i, r := range got[1:] {
		if r.Op != "sessions" || r.ID != int64(i+1) {
			t.Fatalf("request %d is %+v", i+1, r)
		}
	}
}

func TestWorkerMapsRows(t *testing.T) {
	s := newWorkerInstance(t, rows(10, "1m"), nil)
	l, err := s.list(context.Background(), "marc@contoso.com", threeDays)
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Sessions) != 10 {
		t.Fatalf("%d sessions", len(l.Sessions))
	}
	// The fake's user is the caller: Node is the caller's client.
	plain, conference, failed := l.Sessions[0], l.Sessions[3], l.Sessions[9]
	tests := []struct {
		name  string
		s     vendors.Session
		check map[string]string
	}{
		{"an audio call names both ends", plain, map[string]string{"caller": "sip:marc@contoso.com", "callee": "sip:ken.myer@contoso.com", "modalities": "audio", "media": "[Audio]", "conference": "", "failure": ""}},
		{"a conference gives its URL and modalities", conference, map[string]string{"modalities": "conference, audio, video", "media": "[Conference][Audio][Video]", "conference": "sip:ken.myer@contoso.com;gruu;opaque=app:conf:focus:id:3"}},
		{"a failed call gives the error category", failed, map[string]string{"failure": "UnexpectedFailure"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.s.Vendor != vendors.Skype || tt.s.Instance != "skype-test" || tt.s.User.ID != "marc@contoso.com" {
				t.Errorf("session %+v", tt.s)
			}
			if !strings.Contains(tt.s.ID, ";dialog-") || tt.s.Node != "UCCAPI/16.0.12527.20122 OC/16.0.12527.20194 (Skype for Business)" {
				t.Errorf("id %q node %q", tt.s.ID, tt.s.Node)
			}
			if tt.s.Ended.Sub(tt.s.Started) != 30*time.Second {
				t.Errorf("times %v..%v", tt.s.Started, tt.s.Ended)
			}
			for name, want := range tt.check {
				if got := attr(tt.s, name); got != want {
					t.Errorf("%s = %q, want %q", name, got, want)
				}
			}
		})
	}
}

func TestWorkerWarmRequestCostsAtMostFivePercentOfCold(t *testing.T) {
	t.Parallel()
	s := newWorkerInstance(t, map[string]any{"importDelay": "2s", "rows": 20, "rowsFrom": time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)}, nil)
	ctx := context.Background()
	began := time.Now()
	if _, err := s.list(ctx, "marc@contoso.com", vendors.Window{}); err != nil {
		t.Fatal(err)
	}
	cold := time.Since(began)
	var warm time.Duration
	const n = 10
	for i := 0; i < n; i++ {
		began := time.Now()
		if _, err := s.list(ctx, "marc@contoso.com", vendors.Window{}); err != nil {
			t.Fatal(err)
		}
		warm = max(warm, time.Since(began))
	}
	t.Logf("cold request %v, slowest of %d warm requests %v (%.2f%% of cold)", cold, n, warm, 100*float64(warm)/float64(cold))
	if cold < 2*time.Second {
		t.Fatalf("the cold request took %v, less than the 2 s import: it did not start the worker", cold)
	}
	if warm*20 > cold {
		t.Fatalf("a warm request took %v, more than 5%% of the cold %v", warm, cold)
	}
	if n := s.starts(t); n != 1 {
		t.Fatalf("%d worker processes, want 1", n)
	}
}

func TestWorkerPagesPastTheRowCap(t *testing.T) {
	tests := []struct {
		name         string
		rows         int
		spacing      string
		wantSessions int
		wantRequests int
		wantWarning  string
	}{
		{name: "2500 rows take three requests, each from the last row's end", rows: 2500, spacing: "1m", wantSessions: 2500, wantRequests: 3},
		{name: "exactly 1000 rows take a second request that finds only the overlap", rows: 1000, spacing: "1m", wantSessions: 1000, wantRequests: 2},
		{name: "999 rows take one request", rows: 999, spacing: "1m", wantSessions: 999, wantRequests: 1},
		{name: "1500 rows ending at one instant stop when paging makes no progress", rows: 1500, spacing: "0s", wantSessions: 1000, wantRequests: 2, wantWarning: "cannot page further"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newWorkerInstance(t, rows(tt.rows, tt.spacing), nil)
			l, err := s.list(context.Background(), "marc@contoso.com", threeDays)
			if err != nil {
				t.Fatal(err)
			}
			if len(l.Sessions) != tt.wantSessions {
				t.Errorf("%d sessions, want %d", len(l.Sessions), tt.wantSessions)
			}
			seen := map[string]bool{}
			for _, s := range l.Sessions {
				if seen[s.ID] {
					t.Fatalf("session %s listed twice", s.ID)
				}
				seen[s.ID] = true
			}
			got := s.received(t)[1:]
			if len(got) != tt.wantRequests {
				t.Fatalf("%d requests, want %d", len(got), tt.wantRequests)
			}
			for i := 1; i < len(got); i++ {
				if got[i].Start <= got[i-1].Start || got[i].End != got[0].End {
					t.Errorf("request %d asks %s..%s after %s..%s", i, got[i].Start, got[i].End, got[i-1].Start, got[i-1].End)
				}
			}
			switch {
			case tt.wantWarning == "" && len(l.Warnings) > 0:
				t.Errorf("warnings %v", l.Warnings)
			case tt.wantWarning != "" && (len(l.Warnings) != 1 || !strings.Contains(l.Warnings[0].Error(), tt.wantWarning)):
				t.Errorf("warnings %v, want one saying %q", l.Warnings, tt.wantWarning)
			}
		})
	}
}

func TestWorkerThatMisbehavesIsKilledAndReplaced(t *testing.T) {
	tests := []struct {
		name     string
		fault    string
		sentinel error
		says     []string
	}{
		{name: "a line that is not JSON", fault: "garbage", sentinel: vendors.ErrBadAnswer,
			says: []string{"worker answered invalid JSON", "WARNING: The names of some imported commands", "killed it"}},
		{name: "an exit", fault: "die", sentinel: vendors.ErrUnavailable,
			says: []string{"worker exited (exit status 3); its last words: ", "fakeworker: exiting on request 2 as told", "; the next request starts a new one"}},
		{name: "no answer in time", fault: "hang", sentinel: vendors.ErrTimeout,
			says: []string{"no answer within 300ms", "killed it, the next request starts a new one"}},
	}
	for _, tt := range tests {
		t.Run(tt.name+" is an error that says so, and the next request gets a new worker", func(t *testing.T) {
			settings := rows(3, "1m")
			settings["faults"] = []map[string]any{{"start": 1, "request": 2, "kind": tt.fault}}
			s := newWorkerInstance(t, settings, func(c *Config) { c.RequestTimeout = 300 * time.Millisecond })
			ctx := context.Background()
			if _, err := s.list(ctx, "marc@contoso.com", threeDays); err != nil {
				t.Fatalf("first request: %v", err)
			}
			_, err := s.list(ctx, "marc@contoso.com", threeDays)
			if !errors.Is(err, tt.sentinel) {
				t.Fatalf("error %v, want %v", err, tt.sentinel)
			}
			for _, want := range tt.says {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
			}
			l, err := s.list(ctx, "marc@contoso.com", threeDays)
			if err != nil || len(l.Sessions) != 3 {
				t.Fatalf("the request after: %d sessions, %v", len(l.Sessions), err)
			}
			if n := s.starts(t); n != 2 {
				t.Fatalf("%d worker processes, want 2", n)
			}
		})
	}
}

func TestWorkerGetsParametersIntactAsData(t *testing.T) {
	// No control characters: those are refused before anything is sent.
	hostile := "o'brien\"; $(Remove-Item -Recurse C:\\) ; `whoami` & rm -rf / #@contoso.com"
	thumb := `AB"CD;$(Get-Secret)` + "\n'EF"
	app := `app'; Invoke-Expression "calc"`
	tenant := "tenant$(x)"
	settings := rows(2, "1m")
	settings["expect"] = map[string]any{"tenantId": tenant, "appId": app, "certificateThumbprint": thumb}
	s := newWorkerInstance(t, settings, func(c *Config) {
		c.CertificateThumbprint, c.AppID, c.TenantID = thumb, app, tenant
	})
	l, err := s.list(context.Background(), hostile, threeDays)
	if err != nil {
		t.Fatal(err)
	}
	got := s.received(t)
	if len(got) != 2 {
		t.Fatalf("requests %+v", got)
	}
	if got[0].CertificateThumbprint != thumb || got[0].AppID != app || got[0].TenantID != tenant {
		t.Errorf("start message %+v", got[0])
	}
	if got[1].User != hostile {
		t.Errorf("user arrived as %q, want %q", got[1].User, hostile)
	}
	if len(l.Sessions) != 2 || attr(l.Sessions[0], "caller") != "sip:"+hostile {
		t.Errorf("sessions %+v", l.Sessions)
	}
}

func TestWorkerScriptPassesValuesAsParameters(t *testing.T) {
	script := string(WorkerScript())
	for _, want := range []string{
		"Connect-MicrosoftTeams @connect",
		"Get-CsUserSession @query",
		"User      = [string]$req.user",
		"[DateTimeOffset]",
	} {
		if !strings.Contains(script, want) {
			t.Errorf("worker.ps1 lacks %q", want)
		}
	}
	for _, banned := range []string{"Invoke-Expression", "iex ", "[ScriptBlock]::Create", "Add-Type"} {
		if strings.Contains(script, banned) {
			t.Errorf("worker.ps1 uses %q: request values could run as code", banned)
		}
	}
}

func TestWorkerErrorsMapToSentinels(t *testing.T) {
	tests := []struct {
		name     string
		settings map[string]any
		sentinel error
		says     string
	}{
		{
			name:     "a user Teams does not know is not found",
			settings: map[string]any{"failUser": "marc@contoso.com", "failCategory": "ObjectNotFound", "failMessage": "Management object not found for identity marc@contoso.com."},
			sentinel: vendors.ErrNotFound, says: "Get-CsUserSession for marc@contoso.com: Management object not found",
		},
		{
			name:     "a refused connection is unauthorized and hides the thumbprint",
			settings: map[string]any{"connectError": "No certificate with thumbprint " + testThumbprint + " in Cert:\\CurrentUser\\My"},
			sentinel: vendors.ErrUnauthorized, says: "Connect-MicrosoftTeams for tenant " + testTenant + ", app " + testApp + " failed: No certificate with thumbprint [thumbprint]",
		},
		{
			name:     "a missing pwsh says it cannot start",
			settings: map[string]any{},
			sentinel: vendors.ErrUnavailable, says: "cannot start",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newWorkerInstance(t, tt.settings, func(c *Config) {
				if tt.name == "a missing pwsh says it cannot start" {
					c.Pwsh = filepath.Join(t.TempDir(), "no-pwsh-here")
				}
			})
			_, err := s.list(context.Background(), "marc@contoso.com", threeDays)
			if !errors.Is(err, tt.sentinel) || !strings.Contains(err.Error(), tt.says) {
				t.Fatalf("error %v, want %v saying %q", err, tt.sentinel, tt.says)
			}
			if strings.Contains(err.Error(), testThumbprint) {
				t.Fatalf("error %q shows the thumbprint", err)
			}
		})
	}
}

func TestWorkerStderrIsLoggedWithoutTheThumbprint(t *testing.T) {
	script := testkit.WriteFile(t, "settings.json", []byte(`{"stderr":"Connect-MicrosoftTeams: using certificate `+testThumbprint+`"}`))
	var logged testkit.LogBuffer
	logger := logged.Logger()
	in, err := New(Config{Name: "skype", Backend: BackendPowerShell, TenantID: testTenant, AppID: testApp,
		CertificateThumbprint: testThumbprint, Pwsh: fakeWorker, Script: script, Type: vendors.Skype}, vendors.Env{Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	if err := in.Probe(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := in.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	out := logged.String()
	if !strings.Contains(out, "using certificate [thumbprint]") {
		t.Fatalf("the worker's stderr is not in the log:\n%s", out)
	}
	if strings.Contains(out, testThumbprint) {
		t.Fatalf("the log shows the thumbprint:\n%s", out)
	}
}

func TestWorkerOutlivesCallersThatGiveUp(t *testing.T) {
	t.Run("a start goes on when the caller's deadline passes", func(t *testing.T) {
		s := newWorkerInstance(t, map[string]any{"importDelay": "300ms"}, nil)
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		_, err := s.list(ctx, "marc@contoso.com", threeDays)
		if !errors.Is(err, vendors.ErrTimeout) || !strings.Contains(err.Error(), "still starting") {
			t.Fatalf("error %v, want a timeout saying the worker is still starting", err)
		}
		if _, err := s.list(context.Background(), "marc@contoso.com", threeDays); err != nil {
			t.Fatal(err)
		}
		if n := s.starts(t); n != 1 {
			t.Fatalf("%d worker processes, want 1", n)
		}
	})
	t.Run("a late answer is skipped and the worker kept", func(t *testing.T) {
		s := newWorkerInstance(t, map[string]any{"answerDelay": "200ms", "rows": 1, "rowsFrom": time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)}, nil)
		if err := s.in.Probe(context.Background()); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		if _, err := s.list(ctx, "marc@contoso.com", vendors.Window{}); !errors.Is(err, vendors.ErrTimeout) {
			t.Fatalf("error %v, want a timeout", err)
		}
		l, err := s.list(context.Background(), "ken.myer@contoso.com", vendors.Window{})
		if err != nil {
			t.Fatal(err)
		}
		if len(l.Sessions) != 1 || l.Sessions[0].User.ID != "ken.myer@contoso.com" || !strings.Contains(l.Sessions[0].ID, "ken.myer") {
			t.Fatalf("got %+v: the late answer for marc was taken for ken's", l.Sessions)
		}
		if n := s.starts(t); n != 1 {
			t.Fatalf("%d worker processes, want 1", n)
		}
	})
}

func TestWorkerRequestsTakeTurns(t *testing.T) {
	s := newWorkerInstance(t, rows(3, "1m"), nil)
	var wg sync.WaitGroup
	for i := 0; i < 6; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			upn := fmt.Sprintf("user%d@contoso.com", i)
			l, err := s.list(context.Background(), upn, threeDays)
			if err != nil {
				t.Error(err)
				return
			}
			for _, sess := range l.Sessions {
				if !strings.Contains(sess.ID, upn) {
					t.Errorf("%s got %s", upn, sess.ID)
				}
			}
		}()
	}
	wg.Wait()
	if n := s.starts(t); n != 1 {
		t.Fatalf("%d worker processes, want 1", n)
	}
}

func TestCloseEndsTheWorkerAndRemovesTheScript(t *testing.T) {
	// No Script: the embedded worker.ps1 is written out, and the fake runs
	// it with its defaults.
	in, err := New(Config{Name: "skype", Backend: BackendPowerShell, TenantID: testTenant, AppID: testApp,
		CertificateThumbprint: testThumbprint, Pwsh: fakeWorker, Type: vendors.Skype}, vendors.Env{})
	if err != nil {
		t.Fatal(err)
	}
	if err := in.Probe(context.Background()); err != nil {
		t.Fatal(err)
	}
	p := in.backend.(*powershell)
	script, w := p.script, p.w
	written, err := os.ReadFile(script)
	if err != nil || string(written) != string(workerScript) {
		t.Fatalf("the script at %s is not the embedded one: %v", script, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := in.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if !w.exitedYet() {
		t.Fatal("the worker still runs after Close")
	}
	if _, err := os.Stat(script); !os.IsNotExist(err) {
		t.Fatalf("the script is still there: %v", err)
	}
	if _, err := in.ListUserSessions(context.Background(), vendors.UserQuery{User: vendors.Identity{ID: "marc@contoso.com"}}); !errors.Is(err, vendors.ErrUnavailable) {
		t.Fatalf("a request after Close: %v, want ErrUnavailable", err)
	}
}

// BenchmarkWorkerRequest measures one request to a warm worker, and one that
// has to start it (with the fake's 2 s module import).
func BenchmarkWorkerRequest(b *testing.B) {
	settings := func(dir string) string {
		path := filepath.Join(dir, "settings.json")
		body := fmt.Sprintf(`{"importDelay":"2s","rows":20,"rowsFrom":%q}`, time.Now().Add(-time.Hour).UTC().Format(time.RFC3339))
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			b.Fatal(err)
		}
		return path
	}
	newInstance := func(b *testing.B) *Instance {
		in, err := New(Config{Name: "skype", Backend: BackendPowerShell, TenantID: testTenant, AppID: testApp,
			CertificateThumbprint: testThumbprint, Pwsh: fakeWorker, Script: settings(b.TempDir()), Type: vendors.Skype}, vendors.Env{})
		if err != nil {
			b.Fatal(err)
		}
		return in
	}
	q := vendors.UserQuery{User: vendors.Identity{ID: "marc@contoso.com"}}
	b.Run("warm", func(b *testing.B) {
		in := newInstance(b)
		defer in.Close(context.Background())
		if _, err := in.ListUserSessions(context.Background(), q); err != nil {
			b.Fatal(err)
		}
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if _, err := in.ListUserSessions(context.Background(), q); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("cold", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			in := newInstance(b)
			if _, err := in.ListUserSessions(context.Background(), q); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			in.Close(context.Background())
			b.StartTimer()
		}
	})
}
