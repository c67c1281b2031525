// Command fakeworker stands in for pwsh running worker.ps1, which cannot be
// installed where the tests run. It speaks the same JSON lines protocol and
// plays Get-CsUserSession with generated rows, and it can be told to
// misbehave. It must be run exactly as the adapter runs pwsh:
//
//	fakeworker -NoLogo -NoProfile -NonInteractive -File <script>
//
// If <script> holds a JSON object, that object is its settings (see
// settings); anything else (the real worker.ps1) means the defaults.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// settings are the switches, read from the -File argument.
type settings struct {
	// ImportDelay is how long "importing MicrosoftTeams" takes at start.
	ImportDelay duration `json:"importDelay"`
	// AnswerDelay is how long each sessions request takes.
	AnswerDelay duration `json:"answerDelay"`
	// ConnectError fails the start message with this message.
	ConnectError string `json:"connectError"`
	// Record is a file that gets every line received; Record+".starts"
	// counts the processes started.
	Record string `json:"record"`
	// Rows is how many sessions every user has, the first starting at
	// RowsFrom and each RowSpacing after the one before.
	Rows       int       `json:"rows"`
	RowsFrom   time.Time `json:"rowsFrom"`
	RowSpacing duration  `json:"rowSpacing"`
	// PageCap is the most rows one answer holds (Get-CsUserSession: 1000).
	PageCap int `json:"pageCap"`
	// Faults make one process misbehave on one request.
	Faults []fault `json:"faults"`
	// EmptyUser has no sessions at all.
	EmptyUser string `json:"emptyUser"`
	// FailUser makes requests for this user fail with FailCategory.
	FailUser     string `json:"failUser"`
	FailCategory string `json:"failCategory"`
	FailMessage  string `json:"failMessage"`
	// Stderr is printed on stderr when a request arrives.
	Stderr string `json:"stderr"`
	// Expect, when set, is checked against the start message.
	Expect *start `json:"expect"`
}

// fault is one misbehaviour: in the Start-th process (0: every one), on its
// Request-th sessions request, do Kind: "garbage" (print a line that is not
// JSON), "die" (exit without answering) or "hang" (never answer).
type fault struct {
	Start   int    `json:"start"`
	Request int    `json:"request"`
	Kind    string `json:"kind"`
}

type start struct {
	TenantID              string `json:"tenantId"`
	AppID                 string `json:"appId"`
	CertificateThumbprint string `json:"certificateThumbprint"`
}

type request struct {
	ID *int64 `json:"id"`
	Op string `json:"op"`
	start
	User  string `json:"user"`
	Start string `json:"start"`
	End   string `json:"end"`
}

type row struct {
	DialogID              string            `json:"DialogId"`
	StartTime             string            `json:"StartTime"`
	EndTime               string            `json:"EndTime"`
	FromURI               string            `json:"FromUri"`
	ToURI                 string            `json:"ToUri"`
	FromTelNumber         string            `json:"FromTelNumber"`
	ToTelNumber           string            `json:"ToTelNumber"`
	ReferredBy            string            `json:"ReferredBy"`
	FromClientVersion     string            `json:"FromClientVersion"`
	ToClientVersion       string            `json:"ToClientVersion"`
	ConferenceURL         string            `json:"ConferenceUrl"`
	MediaTypesDescription string            `json:"MediaTypesDescription"`
	ErrorReports          []json.RawMessage `json:"ErrorReports"`
	start, end            time.Time
}

type duration struct{ time.Duration }

func (d *duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := time.ParseDuration(s)
	d.Duration = v
	return err
}

func main() {
	args := os.Args[1:]
	if len(args) != 5 || strings.Join(args[:4], " ") != "-NoLogo -NoProfile -NonInteractive -File" {
		fmt.Fprintf(os.Stderr, "fakeworker: want -NoLogo -NoProfile -NonInteractive -File <script>, got %q\n", args)
		os.Exit(64)
	}
	cfg := settings{PageCap: 1000, RowSpacing: duration{time.Minute}}
	script, err := os.ReadFile(args[4])
	if err != nil {
		fmt.Fprintf(os.Stderr, "fakeworker: the script %s cannot be read: %v\n", args[4], err)
		os.Exit(65)
	}
	if strings.HasPrefix(strings.TrimSpace(string(script)), "{") {
		if err := json.Unmarshal(script, &cfg); err != nil {
			fmt.Fprintf(os.Stderr, "fakeworker: bad settings: %v\n", err)
			os.Exit(65)
		}
	}
	w := &worker{cfg: cfg, out: bufio.NewWriter(os.Stdout), process: countStart(cfg.Record)}
	fmt.Fprintln(os.Stderr, "fakeworker: PowerShell 7.4 stand-in ready")
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 64<<10), 16<<20)
	for in.Scan() {
		line := in.Text()
		w.record(line)
		w.handle(line)
	}
}

type worker struct {
	cfg       settings
	out       *bufio.Writer
	process   int // which start this is, 1-based
	connected bool
	requests  int
}

// countStart bumps the process counter beside the record file.
func countStart(record string) int {
	if record == "" {
		return 1
	}
	path := record + ".starts"
	b, _ := os.ReadFile(path)
	n, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	n++
	_ = os.WriteFile(path, []byte(strconv.Itoa(n)), 0o600)
	return n
}

func (w *worker) record(line string) {
	if w.cfg.Record == "" {
		return
	}
	f, err := os.OpenFile(w.cfg.Record, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		fmt.Fprintf(os.Stderr, "fakeworker: record: %v\n", err)
		return
	}
	defer f.Close()
	fmt.Fprintln(f, line)
}

func (w *worker) send(v any) {
	b, _ := json.Marshal(v)
	w.out.Write(b)
	w.out.WriteByte('\n')
	w.out.Flush()
}

func (w *worker) fail(id *int64, category, format string, args ...any) {
	answer := map[string]any{"ok": false, "error": fmt.Sprintf(format, args...), "category": category}
	if id != nil {
		answer["id"] = *id
	}
	w.send(answer)
}

func (w *worker) handle(line string) {
	if strings.TrimSpace(line) == "" {
		return
	}
	var req request
	if err := json.Unmarshal([]byte(line), &req); err != nil {
		w.fail(nil, "ParserError", "Conversion from JSON failed with error: %v", err)
		return
	}
	if w.cfg.Stderr != "" {
		fmt.Fprintln(os.Stderr, w.cfg.Stderr)
	}
	switch req.Op {
	case "start":
		w.start(req)
	case "sessions":
		w.sessions(req)
	default:
		w.fail(req.ID, "InvalidOperation", "unknown op '%s'", req.Op)
	}
}

func (w *worker) start(req request) {
	if w.connected {
		w.send(map[string]any{"ok": true})
		return
	}
	time.Sleep(w.cfg.ImportDelay.Duration)
	if e := w.cfg.Expect; e != nil && *e != req.start {
		w.fail(nil, "AuthenticationError", "Connect-MicrosoftTeams: no certificate with the thumbprint given, or app %s is not known in tenant %s", req.AppID, req.TenantID)
		return
	}
	if req.TenantID == "" || req.AppID == "" || req.CertificateThumbprint == "" {
		w.fail(nil, "InvalidArgument", "Connect-MicrosoftTeams: -TenantId, -ApplicationId and -CertificateThumbprint are all needed")
		return
	}
	if w.cfg.ConnectError != "" {
		w.fail(nil, "AuthenticationError", "%s", w.cfg.ConnectError)
		return
	}
	w.connected = true
	w.send(map[string]any{"ok": true})
}

func (w *worker) sessions(req request) {
	w.requests++
	for _, f := range w.cfg.Faults {
		if (f.Start == 0 || f.Start == w.process) && f.Request == w.requests {
			switch f.Kind {
			case "garbage":
				fmt.Fprintln(w.out, "WARNING: The names of some imported commands include unapproved verbs.")
				w.out.Flush()
				return
			case "die":
				fmt.Fprintf(os.Stderr, "fakeworker: exiting on request %d as told\n", w.requests)
				os.Exit(3)
			case "hang":
				time.Sleep(time.Hour)
				return
			}
		}
	}
	if req.ID == nil {
		w.fail(nil, "InvalidArgument", "a sessions request needs an id")
		return
	}
	if !w.connected {
		w.fail(req.ID, "InvalidOperation", "not connected: send a start message first")
		return
	}
	from, err1 := time.Parse(time.RFC3339Nano, req.Start)
	to, err2 := time.Parse(time.RFC3339Nano, req.End)
	if err1 != nil || err2 != nil || req.User == "" {
		w.fail(req.ID, "InvalidArgument", "Get-CsUserSession: -User, -StartTime and -EndTime must be given (user %q, start %q, end %q)", req.User, req.Start, req.End)
		return
	}
	time.Sleep(w.cfg.AnswerDelay.Duration)
	if w.cfg.FailUser != "" && strings.EqualFold(w.cfg.FailUser, req.User) {
		w.fail(req.ID, w.cfg.FailCategory, "%s", w.cfg.FailMessage)
		return
	}
	rows := []row{}
	for _, r := range w.rows(req.User) {
		// Sessions that had not ended by the start, and began before the end,
		// in order of their end, at most PageCap of them.
		if r.end.Before(from) || !r.start.Before(to) {
			continue
		}
		rows = append(rows, r)
		if len(rows) == w.cfg.PageCap {
			break
		}
	}
	w.send(map[string]any{"id": *req.ID, "ok": true, "rows": rows})
}

// rows generates a user's sessions, ordered by start and by end.
func (w *worker) rows(user string) []row {
	if w.cfg.EmptyUser != "" && strings.EqualFold(w.cfg.EmptyUser, user) {
		return nil
	}
	out := make([]row, 0, w.cfg.Rows)
	spacing := w.cfg.RowSpacing.Duration
	for i := 0; i < w.cfg.Rows; i++ {
		start := w.cfg.RowsFrom.Add(time.Duration(i) * spacing)
		end := start.Add(spacing / 2)
		r := row{
			DialogID:              fmt.Sprintf("%d;%s;dialog-%05d", start.Unix(), user, i),
			StartTime:             start.UTC().Format("2006-01-02T15:04:05.0000000Z"),
			EndTime:               end.UTC().Format("2006-01-02T15:04:05.0000000Z"),
			FromURI:               "sip:" + user,
			ToURI:                 "sip:ken.myer@contoso.com",
			FromClientVersion:     "UCCAPI/16.0.12527.20122 OC/16.0.12527.20194 (Skype for Business)",
			ToClientVersion:       "Teams/1.7.00.13456 (Windows 10; x64)",
			MediaTypesDescription: "[Audio]",
			ErrorReports:          []json.RawMessage{},
			start:                 start,
			end:                   end,
		}
		if i%7 == 3 {
			r.MediaTypesDescription = "[Conference][Audio][Video]"
			r.ConferenceURL = "sip:ken.myer@contoso.com;gruu;opaque=app:conf:focus:id:" + strconv.Itoa(i)
		}
		if i%10 == 9 {
			r.ErrorReports = []json.RawMessage{json.RawMessage(`{"ErrorCategory":"UnexpectedFailure"}`)}
		}
		out = append(out, r)
	}
	return out
}
