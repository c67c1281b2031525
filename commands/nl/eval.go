package nl

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/sessionbot/sessionbot/commands"
	"github.com/sessionbot/sessionbot/vendors"
)

// Case is one phrasing and what it must be understood as.
type Case struct {
	Text string
	// Want is the typed command expected; empty when Refuse is set.
	Want string
	// Refuse says the request must be refused (ambiguous, injection).
	Refuse bool
	// Now anchors relative times; zero means the time the case runs.
	Now time.Time
	// TZ is the requester's IANA time zone; empty means UTC.
	TZ string
	// Instances are the configured instances; empty means EvalInstances.
	Instances []InstanceInfo
}

// EvalInstances are the instances a case runs against when it names none.
var EvalInstances = []InstanceInfo{
	{"qlik-prod", vendors.Qlik}, {"qlik-test", vendors.Qlik},
	{"commvault", vendors.Commvault}, {"teams", vendors.Teams}, {"skype", vendors.Skype},
}

// caseFile is a case as written in YAML.
type caseFile struct {
	Text      string         `yaml:"text"`
	Want      string         `yaml:"want"`
	Refuse    bool           `yaml:"refuse"`
	Now       string         `yaml:"now"`
	TZ        string         `yaml:"tz"`
	Instances []InstanceInfo `yaml:"instances"`
}

// LoadCases reads a YAML list of cases, as examples/nl-cases.yaml holds:
// each has text and either want (a typed command) or refuse: true, and
// optionally now (RFC3339), tz (IANA) and instances ({name, type}). Every
// problem in the file is listed at once.
func LoadCases(path string) ([]Case, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("nl cases: %w", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var raw []caseFile
	if err := dec.Decode(&raw); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("nl cases %s: %w", path, err)
	}
	var cases []Case
	var problems []error
	for i, r := range raw {
		c, err := r.check()
		if err != nil {
			problems = append(problems, fmt.Errorf("nl cases %s: case %d (%.60q): %w", path, i+1, r.Text, err))
			continue
		}
		cases = append(cases, c)
	}
	if err := errors.Join(problems...); err != nil {
		return nil, err
	}
	if len(cases) == 0 {
		return nil, fmt.Errorf("nl cases %s: no cases", path)
	}
	return cases, nil
}

func (r caseFile) check() (Case, error) {
	c := Case{Text: r.Text, Want: strings.TrimSpace(r.Want), Refuse: r.Refuse, TZ: r.TZ, Instances: r.Instances}
	var problems []error
	if strings.TrimSpace(c.Text) == "" {
		problems = append(problems, errors.New("text is empty"))
	}
	if (c.Want == "") == !c.Refuse {
		problems = append(problems, errors.New("give either want (the typed command) or refuse: true"))
	}
	if r.Now != "" {
		t, err := time.Parse(time.RFC3339, r.Now)
		if err != nil {
			problems = append(problems, fmt.Errorf("now %q is not an RFC3339 time like 2026-11-23T19:40:00Z", r.Now))
		}
		c.Now = t
	}
	if c.TZ != "" {
		if _, err := time.LoadLocation(c.TZ); err != nil {
			problems = append(problems, fmt.Errorf("tz %q is not a time zone: %w", c.TZ, err))
		}
	}
	for _, in := range c.Instances {
		if in.Name == "" || in.Type == "" {
			problems = append(problems, errors.New("every instance needs a name and a type"))
		}
	}
	if c.Want != "" {
		now := c.Now
		if now.IsZero() {
			now = time.Now()
		}
		if _, err := commands.Parse(c.Want, now); err != nil {
			problems = append(problems, fmt.Errorf("want %q is not a valid command: %w", c.Want, err))
		}
	}
	return c, errors.Join(problems...)
}

// CaseResult is how one case went.
type CaseResult struct {
	Case    Case
	OK      bool
	Got     string // the typed command, or "refused: <reason>"
	Latency time.Duration
}

// Report sums up an evaluation.
type Report struct {
	Results  []CaseResult
	Passed   int
	Total    int
	Accuracy float64 // Passed / Total
	P50, P95 time.Duration
}

// Eval runs each case through the translator, one at a time, and writes
// ok/FAIL, latency, expected and got for each, then accuracy and latency
// percentiles. It stops early only when ctx ends or w fails.
func Eval(ctx context.Context, t *Translator, cases []Case, w io.Writer) (Report, error) {
	var rep Report
	for _, c := range cases {
		res, err := evalOne(ctx, t, c)
		if ctx.Err() != nil {
			return rep.sum(), ctx.Err()
		}
		if err != nil {
			res = CaseResult{Case: c, Got: "error: " + err.Error()}
		}
		rep.Results = append(rep.Results, res)
		if err := printResult(w, res); err != nil {
			return rep.sum(), fmt.Errorf("nl eval: %w", err)
		}
	}
	rep = rep.sum()
	_, err := fmt.Fprintf(w, "\naccuracy %d/%d = %.1f%%   latency p50 %s   p95 %s\n",
		rep.Passed, rep.Total, 100*rep.Accuracy, roundLatency(rep.P50), roundLatency(rep.P95))
	if err != nil {
		return rep, fmt.Errorf("nl eval: %w", err)
	}
	return rep, nil
}

func evalOne(ctx context.Context, t *Translator, c Case) (CaseResult, error) {
	now := c.Now
	if now.IsZero() {
		now = time.Now()
	}
	zone := time.UTC
	if c.TZ != "" {
		var err error
		if zone, err = time.LoadLocation(c.TZ); err != nil {
			return CaseResult{}, fmt.Errorf("tz %q: %w", c.TZ, err)
		}
	}
	instances := c.Instances
	if len(instances) == 0 {
		instances = EvalInstances
	}
	started := time.Now()
	got, err := t.Translate(ctx, Request{Text: c.Text, Instances: instances, Now: now, TimeZone: zone, RequesterID: "nl-eval"})
	res := CaseResult{Case: c, Latency: time.Since(started)}
	var refusal *Refusal
	switch {
	case errors.As(err, &refusal):
		res.Got = "refused: " + refusal.Reason
		res.OK = c.Refuse
	case err != nil:
		res.Got = "error: " + err.Error()
	default:
		res.Got = got.Typed
		if !c.Refuse {
			want, perr := commands.Parse(c.Want, now)
			if perr != nil {
				return CaseResult{}, fmt.Errorf("want %q: %w", c.Want, perr)
			}
			res.OK = equivalent(got.Command, want)
		}
	}
	return res, nil
}

// equivalent compares commands by their typed form, ignoring case (names
// and directories are case-insensitive), with times compared as instants.
func equivalent(a, b commands.Command) bool {
	x, y := a, b
	x.Since, x.Until, y.Since, y.Until = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	return strings.EqualFold(x.String(), y.String()) && a.Since.Equal(b.Since) && a.Until.Equal(b.Until)
}

func printResult(w io.Writer, r CaseResult) error {
	status := "ok  "
	if !r.OK {
		status = "FAIL"
	}
	want := r.Case.Want
	if r.Case.Refuse {
		want = "(a refusal)"
	}
	_, err := fmt.Fprintf(w, "%s %8s  %s\n      want: %s\n      got:  %s\n",
		status, roundLatency(r.Latency), r.Case.Text, want, r.Got)
	return err
}

func (rep Report) sum() Report {
	rep.Total, rep.Passed = len(rep.Results), 0
	var lat []time.Duration
	for _, r := range rep.Results {
		if r.OK {
			rep.Passed++
		}
		lat = append(lat, r.Latency)
	}
	if rep.Total > 0 {
		rep.Accuracy = float64(rep.Passed) / float64(rep.Total)
	}
	rep.P50, rep.P95 = percentile(lat, 0.50), percentile(lat, 0.95)
	return rep
}

// percentile is the nearest-rank percentile.
func percentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	i := int(math.Ceil(p*float64(len(s)))) - 1
	return s[max(i, 0)]
}

func roundLatency(d time.Duration) time.Duration {
	if d >= 10*time.Millisecond {
		return d.Round(time.Millisecond)
	}
	return d.Round(10 * time.Microsecond)
}
