package microsoft

import (
	"bufio"
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/sessionbot/sessionbot/vendors"
)

// workerScript is the PowerShell side of the worker protocol, written to a
// temporary file when Config.Script names none.
//
//go:embed worker.ps1
var workerScript []byte

// WorkerScript returns the embedded worker.ps1, for people who deploy their
// own copy.
func WorkerScript() []byte { return bytes.Clone(workerScript) }

// PageRows is the most rows Get-CsUserSession returns for one call.
const PageRows = 1000

const (
	// maxWorkerPages bounds paging through one window.
	maxWorkerPages = 100
	// maxLine bounds one answer line (1000 rows are well under a megabyte).
	maxLine = 64 << 20
	// exitGrace is how long to wait for an exit status after stdout closed.
	exitGrace = 2 * time.Second
	// stderrTail is how many stderr lines an error about a dead worker quotes.
	stderrTail = 3
)

// workerRequest is one line to the worker.
type workerRequest struct {
	ID                    int64  `json:"id,omitempty"`
	Op                    string `json:"op"`
	TenantID              string `json:"tenantId,omitempty"`
	AppID                 string `json:"appId,omitempty"`
	CertificateThumbprint string `json:"certificateThumbprint,omitempty"`
	User                  string `json:"user,omitempty"`
	Start                 string `json:"start,omitempty"`
	End                   string `json:"end,omitempty"`
}

// workerAnswer is one line from the worker.
type workerAnswer struct {
	ID       *int64       `json:"id"`
	OK       bool         `json:"ok"`
	Error    string       `json:"error"`
	Category string       `json:"category"`
	Rows     []sessionRow `json:"rows"`
}

// powershell runs Get-CsUserSession in one long-lived pwsh worker: importing
// MicrosoftTeams and connecting costs tens of seconds, so that is done once
// and the process kept. One request is on the pipe at a time.
type powershell struct {
	cfg    Config
	logger *slog.Logger
	redact *strings.Replacer

	// slot is held by whoever uses the fields below and the pipe.
	slot     chan struct{}
	w        *worker
	starting chan startResult // a start under way, nil if none
	nextID   int64
	script   string // the worker script's path once known
	tempDir  string // where the embedded script was written, if it was
	closed   bool
}

type startResult struct {
	w   *worker
	err error
}

func newPowerShell(cfg Config, logger *slog.Logger) *powershell {
	return &powershell{
		cfg:    cfg,
		logger: logger,
		redact: redactor(cfg.CertificateThumbprint),
		slot:   make(chan struct{}, 1),
	}
}

// redactor masks the certificate thumbprint in what the worker prints.
func redactor(thumbprint string) *strings.Replacer {
	if thumbprint == "" {
		return strings.NewReplacer()
	}
	return strings.NewReplacer(thumbprint, "[thumbprint]")
}

func (p *powershell) acquire(ctx context.Context) error {
	select {
	case p.slot <- struct{}{}:
		if p.closed {
			<-p.slot
			return fmt.Errorf("%s: the instance is closed: %w", p.name(), vendors.ErrUnavailable)
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%s: waited for the worker to finish another request: %w", p.name(), ctxError(ctx))
	}
}

func (p *powershell) release() { <-p.slot }

func (p *powershell) name() string {
	return "microsoft powershell worker (" + filepath.Base(p.cfg.Pwsh) + ")"
}

func ctxError(ctx context.Context) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return vendors.ErrTimeout
	}
	return ctx.Err()
}

func (p *powershell) probe(ctx context.Context) error {
	if err := p.acquire(ctx); err != nil {
		return err
	}
	defer p.release()
	_, err := p.ensureWorker(ctx)
	return err
}

// ensureWorker returns the running worker, starting one if none runs. The
// start goes on when ctx ends, bounded by StartTimeout, so that a caller
// with a short deadline still warms the worker up for the next one.
// Call with the slot held.
func (p *powershell) ensureWorker(ctx context.Context) (*worker, error) {
	if p.w != nil {
		if !p.w.exitedYet() {
			return p.w, nil
		}
		p.logger.Warn("the PowerShell worker exited while idle; starting another", "stderr", p.w.stderr.tail())
		p.w = nil
	}
	if p.starting == nil {
		script, err := p.scriptPath()
		if err != nil {
			return nil, err
		}
		started := make(chan startResult, 1)
		p.starting = started
		go func() {
			w, err := p.start(script)
			started <- startResult{w, err}
		}()
	}
	select {
	case r := <-p.starting:
		p.starting = nil
		if r.err != nil {
			return nil, r.err
		}
		p.w = r.w
		return r.w, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("%s: still starting (importing MicrosoftTeams and connecting); ask again shortly: %w", p.name(), ctxError(ctx))
	}
}

// start launches pwsh and sends the start message. It runs in a goroutine
// of its own and touches no field guarded by the slot.
func (p *powershell) start(script string) (*worker, error) {
	began := time.Now()
	w, err := launch(p.cfg.Pwsh, script, p.logger, p.redact)
	if err != nil {
		return nil, fmt.Errorf("%s: cannot start %s: %v: %w", p.name(), p.cfg.Pwsh, err, vendors.ErrUnavailable)
	}
	hello := workerRequest{Op: "start", TenantID: p.cfg.TenantID, AppID: p.cfg.AppID, CertificateThumbprint: p.cfg.CertificateThumbprint}
	if err := w.send(hello); err != nil {
		w.kill()
		return nil, fmt.Errorf("%s: start: %w", p.name(), w.broken(err))
	}
	answer, err := w.answer(context.Background(), 0, p.cfg.StartTimeout)
	if err != nil {
		w.kill()
		return nil, fmt.Errorf("%s: import MicrosoftTeams and connect: %w", p.name(), err)
	}
	if !answer.OK {
		w.kill()
		return nil, fmt.Errorf("%s: Connect-MicrosoftTeams for tenant %s, app %s failed: %s: %w",
			p.name(), p.cfg.TenantID, p.cfg.AppID, p.redact.Replace(answer.Error), categoryError(answer.Category, vendors.ErrUnauthorized))
	}
	p.logger.Info("PowerShell worker ready", "pid", w.pid(), "took", time.Since(began).Round(time.Millisecond))
	return w, nil
}

// scriptPath is Config.Script, or the embedded script written once to a
// private temporary directory. Call with the slot held.
func (p *powershell) scriptPath() (string, error) {
	if p.cfg.Script != "" {
		return p.cfg.Script, nil
	}
	if p.script != "" {
		return p.script, nil
	}
	dir, err := os.MkdirTemp("", "sessionbot-teams-")
	if err != nil {
		return "", fmt.Errorf("%s: write the worker script: %w", p.name(), err)
	}
	path := filepath.Join(dir, "worker.ps1")
	if err := os.WriteFile(path, workerScript, 0o600); err != nil {
		os.RemoveAll(dir)
		return "", fmt.Errorf("%s: write the worker script: %w", p.name(), err)
	}
	p.tempDir, p.script = dir, path
	return path, nil
}

// sessions asks for one page of a user's sessions. Call with the slot held.
func (p *powershell) sessions(ctx context.Context, upn string, since, until time.Time) ([]sessionRow, error) {
	op := "Get-CsUserSession for " + upn
	w, err := p.ensureWorker(ctx)
	if err != nil {
		return nil, err
	}
	p.nextID++
	id := p.nextID
	req := workerRequest{
		ID: id, Op: "sessions", User: upn,
		Start: since.UTC().Format(time.RFC3339Nano),
		End:   until.UTC().Format(time.RFC3339Nano),
	}
	if err := w.send(req); err != nil {
		p.drop(w)
		return nil, fmt.Errorf("%s: %s: %w; the next request starts a new worker", p.name(), op, w.broken(err))
	}
	answer, err := w.answer(ctx, id, p.cfg.RequestTimeout)
	if err != nil {
		if errors.Is(err, errGaveUp) {
			// The caller gave up; the worker is fine and its late answer
			// will be skipped by id.
			return nil, fmt.Errorf("%s: %s: %w", p.name(), op, ctxError(ctx))
		}
		p.drop(w)
		if errors.Is(err, vendors.ErrUnavailable) { // it is gone already
			return nil, fmt.Errorf("%s: %s: %w; the next request starts a new one", p.name(), op, err)
		}
		return nil, fmt.Errorf("%s: %s: %w; killed it, the next request starts a new one", p.name(), op, err)
	}
	p.logger.Debug("Get-CsUserSession", "user", upn, "request", id, "ok", answer.OK, "rows", len(answer.Rows))
	if !answer.OK {
		return nil, fmt.Errorf("%s: %s: %s: %w", p.name(), op, p.redact.Replace(answer.Error), categoryError(answer.Category, vendors.ErrUnavailable))
	}
	return answer.Rows, nil
}

// drop kills a worker that broke the protocol. Call with the slot held.
func (p *powershell) drop(w *worker) {
	w.kill()
	if p.w == w {
		p.w = nil
	}
}

// userSessions pages past Get-CsUserSession's 1000-row cap by asking again
// from the last row's EndTime, until a page is short or makes no progress.
func (p *powershell) userSessions(ctx context.Context, upn string, win vendors.Window) (vendors.Listing, error) {
	if err := p.acquire(ctx); err != nil {
		return vendors.Listing{}, err
	}
	defer p.release()
	var listing vendors.Listing
	seen := map[string]bool{}
	since := win.Since
	for page := 0; ; page++ {
		if page == maxWorkerPages {
			listing.Warnings = append(listing.Warnings, fmt.Errorf("%s: more than %d pages of %d sessions for %s; stopped at %s",
				p.name(), maxWorkerPages, PageRows, upn, stamp(since)))
			break
		}
		rows, err := p.sessions(ctx, upn, since, win.Until)
		if err != nil {
			if page == 0 {
				return vendors.Listing{}, err
			}
			listing.Warnings = append(listing.Warnings, fmt.Errorf("sessions after %s are missing: %w", stamp(since), err))
			break
		}
		fresh := 0
		for _, r := range rows {
			if key := r.key(); !seen[key] {
				seen[key] = true
				fresh++
				listing.Sessions = append(listing.Sessions, r.session(upn))
			}
		}
		if len(rows) < PageRows {
			break
		}
		next := rows[len(rows)-1].EndTime.Time
		if fresh == 0 || !next.After(since) {
			listing.Warnings = append(listing.Warnings, fmt.Errorf("%s: %d sessions of %s end at or before %s; cannot page further",
				p.name(), PageRows, upn, stamp(since)))
			break
		}
		if !next.Before(win.Until) {
			break
		}
		since = next
	}
	return listing, nil
}

// close ends the worker: stdin closed so the script's loop ends, then a kill
// if it is not gone when ctx ends.
func (p *powershell) close(ctx context.Context) error {
	if err := p.acquire(ctx); err != nil {
		return err
	}
	defer p.release()
	p.closed = true
	var err error
	if p.starting != nil {
		select {
		case r := <-p.starting:
			if r.w != nil {
				p.w = r.w
			}
		case <-ctx.Done():
			err = fmt.Errorf("%s: still starting when closed: %w", p.name(), ctxError(ctx))
			go func(started chan startResult) { // do not leave it running
				if r := <-started; r.w != nil {
					r.w.kill()
				}
			}(p.starting)
		}
		p.starting = nil
	}
	if p.w != nil {
		p.w.stdin.Close()
		select {
		case <-p.w.exited:
		case <-ctx.Done():
			p.w.kill()
		}
		p.w.kill()
		p.w = nil
	}
	if p.tempDir != "" {
		os.RemoveAll(p.tempDir)
	}
	return err
}

// categoryError maps a PowerShell ErrorCategory to a shared sentinel.
func categoryError(category string, fallback error) error {
	switch category {
	case "ObjectNotFound":
		return vendors.ErrNotFound
	case "PermissionDenied", "SecurityError":
		return vendors.ErrForbidden
	case "AuthenticationError":
		return vendors.ErrUnauthorized
	case "InvalidArgument", "InvalidData", "InvalidType", "SyntaxError":
		return vendors.ErrInvalidInput
	case "OperationTimeout":
		return vendors.ErrTimeout
	case "ConnectionError", "ResourceUnavailable", "ResourceBusy":
		return vendors.ErrUnavailable
	}
	return fallback
}

// worker is one running pwsh process.
type worker struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	lines  chan []byte   // stdout, one line each; closed at end of file
	exited chan struct{} // closed once the process is reaped
	stop   chan struct{} // closed by kill, so the reader never blocks
	stderr *stderrLog

	waitErr  error // set before exited is closed
	killOnce sync.Once
}

// launch starts pwsh with the script as a file argument: nothing from a
// request or the config is ever spliced into a command line.
func launch(pwsh, script string, logger *slog.Logger, redact *strings.Replacer) (*worker, error) {
	cmd := exec.Command(pwsh, "-NoLogo", "-NoProfile", "-NonInteractive", "-File", script)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	// A pipe of our own for stdout: exec's would be closed by Wait before we
	// read the last answer.
	outR, outW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	cmd.Stdout = outW
	w := &worker{
		cmd:    cmd,
		stdin:  stdin,
		lines:  make(chan []byte),
		exited: make(chan struct{}),
		stop:   make(chan struct{}),
		stderr: &stderrLog{logger: logger, redact: redact},
	}
	cmd.Stderr = w.stderr
	cmd.WaitDelay = time.Second
	if err := cmd.Start(); err != nil {
		outR.Close()
		outW.Close()
		return nil, err
	}
	outW.Close()
	go w.read(outR)
	go func() {
		w.waitErr = cmd.Wait()
		close(w.exited)
	}()
	return w, nil
}

func (w *worker) pid() int { return w.cmd.Process.Pid }

func (w *worker) read(out *os.File) {
	defer out.Close()
	defer close(w.lines)
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 64<<10), maxLine)
	for sc.Scan() {
		line := bytes.Clone(sc.Bytes())
		select {
		case w.lines <- line:
		case <-w.stop:
			return
		}
	}
}

func (w *worker) send(req workerRequest) error {
	line, err := json.Marshal(req)
	if err != nil {
		return err
	}
	_, err = w.stdin.Write(append(line, '\n'))
	return err
}

var errGaveUp = errors.New("the caller gave up")

// answer waits for the answer with the given id (0: the start answer, which
// has none), skipping late answers to requests whose callers gave up.
func (w *worker) answer(ctx context.Context, id int64, timeout time.Duration) (workerAnswer, error) {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		select {
		case line, ok := <-w.lines:
			if !ok {
				return workerAnswer{}, w.broken(io.EOF)
			}
			if len(bytes.TrimSpace(line)) == 0 {
				continue
			}
			var a workerAnswer
			if err := json.Unmarshal(line, &a); err != nil {
				return workerAnswer{}, &workerFault{fmt.Sprintf("worker answered invalid JSON (%q)", w.stderr.redact.Replace(clip(string(line), 120))), vendors.ErrBadAnswer}
			}
			if id == 0 && a.ID == nil {
				return a, nil
			}
			if a.ID != nil && *a.ID == id {
				return a, nil
			}
			if a.ID != nil && *a.ID < id {
				continue // an answer nobody waits for any more
			}
			return workerAnswer{}, &workerFault{fmt.Sprintf("worker answered request %s while we wait for %d", idText(a.ID), id), vendors.ErrBadAnswer}
		case <-timer.C:
			return workerAnswer{}, &workerFault{"no answer within " + human(timeout), vendors.ErrTimeout}
		case <-ctx.Done():
			return workerAnswer{}, errGaveUp
		}
	}
}

func idText(id *int64) string {
	if id == nil {
		return "without id"
	}
	return fmt.Sprint(*id)
}

// broken explains a worker whose pipe failed: it exited, with its status and
// last words on stderr.
func (w *worker) broken(cause error) error {
	select {
	case <-w.exited:
	case <-time.After(exitGrace):
		return &workerFault{fmt.Sprintf("worker closed its output (%v) but did not exit", cause), vendors.ErrUnavailable}
	}
	status := "exit status 0"
	if w.waitErr != nil {
		status = w.waitErr.Error()
	}
	msg := "worker exited (" + status + ")"
	if tail := w.stderr.tail(); tail != "" {
		msg += "; its last words: " + tail
	}
	return &workerFault{msg, vendors.ErrUnavailable}
}

// workerFault is a worker breaking the protocol, in words, with the shared
// error it counts as.
type workerFault struct {
	msg  string
	kind error
}

func (e *workerFault) Error() string { return e.msg }
func (e *workerFault) Unwrap() error { return e.kind }

func (w *worker) exitedYet() bool {
	select {
	case <-w.exited:
		return true
	default:
		return false
	}
}

func (w *worker) kill() {
	w.killOnce.Do(func() {
		close(w.stop)
		w.stdin.Close()
		if w.cmd.Process != nil {
			_ = w.cmd.Process.Kill()
		}
	})
}

// stderrLog logs the worker's stderr at debug level, line by line, with the
// certificate thumbprint masked, and keeps the last lines for errors.
type stderrLog struct {
	logger *slog.Logger
	redact *strings.Replacer

	mu      sync.Mutex
	partial []byte
	last    []string
}

func (s *stderrLog) Write(b []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.partial = append(s.partial, b...)
	for {
		i := bytes.IndexByte(s.partial, '\n')
		if i < 0 {
			break
		}
		line := strings.TrimRight(s.redact.Replace(string(s.partial[:i])), "\r")
		s.partial = s.partial[i+1:]
		if strings.TrimSpace(line) == "" {
			continue
		}
		s.logger.Debug("PowerShell worker stderr", "line", line)
		s.last = append(s.last, clip(line, 300))
		if len(s.last) > stderrTail {
			s.last = s.last[1:]
		}
	}
	if len(s.partial) > maxLine {
		s.partial = s.partial[:0]
	}
	return len(b), nil
}

func (s *stderrLog) tail() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Join(s.last, " | ")
}

// human writes whole seconds as "60s" rather than "1m0s".
func human(d time.Duration) string {
	if d >= time.Second && d%time.Second == 0 {
		return fmt.Sprintf("%ds", int64(d/time.Second))
	}
	return d.String()
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
