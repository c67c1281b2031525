package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/sessionbot/sessionbot/bot"
	"github.com/sessionbot/sessionbot/cmd/sessionbot/config"
	"github.com/sessionbot/sessionbot/commands"
	"github.com/sessionbot/sessionbot/commands/nl"
	"github.com/sessionbot/sessionbot/store"
	"github.com/sessionbot/sessionbot/store/postgres"
	"github.com/sessionbot/sessionbot/store/sqlite"
)

// Probe groups `check --skip` accepts.
var probeGroups = []string{"slack", "store", "vendors", "language"}

// probe is one live check: what was asked, of whom, how long it took and
// what came of it.
type probe struct {
	Group string `json:"group"`
	Check string `json:"check"`
	Key   string `json:"key,omitempty"`
	OK    bool   `json:"ok"`
	// NotAsked marks a probe left out because its keys have problems.
	NotAsked bool          `json:"not_asked,omitempty"`
	Took     time.Duration `json:"took_ns"`
	Detail   string        `json:"detail,omitempty"`
	Problem  string        `json:"problem,omitempty"`
	Fix      string        `json:"fix,omitempty"`
}

// report is everything one run of check found.
type report struct {
	Source   string          `json:"source"`
	OK       bool            `json:"ok"`
	Problems config.Problems `json:"problems"`
	Warnings config.Problems `json:"warnings"`
	Probes   []probe         `json:"probes"`
	Skipped  []string        `json:"skipped,omitempty"`
}

func newCheckCommand(g *globals) *cobra.Command {
	var (
		offline bool
		skip    []string
		output  string
	)
	cmd := &cobra.Command{
		Use:   "check",
		Short: "Check the configuration and probe Slack, the store, every instance and the language model; exit 0 ok, 1 problems, 2 could not run",
		Long: "Checks everything `serve` checks before it starts, in one pass, and lists every problem with its key,\n" +
			"its value and what to do. Then, unless --offline, probes what serve will talk to: Slack (the tokens,\n" +
			"their scopes, the bot's membership of the approval and audit channels), the store (connect, schema\n" +
			"version, a write that is rolled back), every instance, and the language model (one question).\n" +
			"--offline touches neither the network nor the database. Exit status: 0 ok, 1 problems, 2 could not run.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			for _, s := range skip {
				if !slices.Contains(probeGroups, s) {
					return exitError{code: 2, err: fmt.Errorf("--skip %s: the probe groups are %s", s, strings.Join(probeGroups, ", "))}
				}
			}
			if output != "text" && output != "json" {
				return exitError{code: 2, err: fmt.Errorf("--output %s: text or json", output)}
			}
			rep, err := runCheck(cmd.Context(), g, offline, skip)
			if err != nil {
				return exitError{code: 2, err: err}
			}
			if output == "json" {
				enc := json.NewEncoder(g.stdout)
				enc.SetIndent("", "  ")
				if err := enc.Encode(rep); err != nil {
					return exitError{code: 2, err: err}
				}
			} else {
				rep.print(g.stdout)
			}
			if !rep.OK {
				return exitError{code: 1}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&offline, "offline", false, "check the configuration only: no network, no database")
	cmd.Flags().StringSliceVar(&skip, "skip", nil, "probe groups to leave out: "+strings.Join(probeGroups, ", "))
	cmd.Flags().StringVarP(&output, "output", "o", "text", "text or json")
	return cmd
}

// runCheck validates as serve does, then probes. err means it could not
// run at all (no configuration).
func runCheck(ctx context.Context, g *globals, offline bool, skip []string) (*report, error) {
	cfg, problems, err := g.load()
	if err != nil {
		return nil, err
	}
	rep := &report{Problems: config.Problems{}, Warnings: config.Problems{}, Probes: []probe{}}
	if cfg == nil { // the YAML itself did not parse
		rep.Problems = problems
		return rep, nil
	}
	rep.Source = cfg.File
	if rep.Source == "" {
		rep.Source = "environment"
	}
	warnings := newWarningLog()
	slog.SetDefault(slog.New(warnings)) // adapters that take no logger log through it
	s, more := validate(cfg, slog.New(warnings), offline)
	defer s.close()
	rep.Problems = config.Tidy(append(problems, more...))
	rep.Warnings = append(s.warnings, warnings.list()...)
	if offline {
		rep.Skipped = probeGroups
	} else {
		rep.Skipped = skip
		bad := map[string]bool{}
		for _, p := range rep.Problems {
			bad[p.Key] = true
		}
		run := func(group string, f func() []probe) {
			if !slices.Contains(skip, group) {
				rep.Probes = append(rep.Probes, f()...)
			}
		}
		run("slack", func() []probe { return probeSlack(ctx, cfg, bad) })
		run("store", func() []probe { return probeStore(ctx, cfg.Store, bad) })
		run("vendors", func() []probe { return probeInstances(ctx, s) })
		run("language", func() []probe { return probeLanguage(ctx, cfg, bad) })
	}
	rep.OK = len(rep.Problems) == 0
	for _, p := range rep.Probes {
		rep.OK = rep.OK && (p.OK || p.NotAsked)
	}
	return rep, nil
}

func probeSlack(ctx context.Context, cfg *config.Config, bad map[string]bool) []probe {
	if bad["slack.bot_token"] || bad["slack.app_token"] || bad["slack.api_url"] {
		return []probe{{Group: "slack", Check: "Slack", NotAsked: true, Detail: "not asked: fix the slack keys above first"}}
	}
	var channels []bot.KeyedChannel
	addChannel := func(key, id string) {
		if id != "" && !bad[key] {
			channels = append(channels, bot.KeyedChannel{Key: key, ID: id})
		}
	}
	addChannel("approvals.channel", cfg.Approvals.Channel)
	addChannel("access.audit_channel", cfg.Access.AuditChannel)
	for _, name := range sortedNames(cfg) {
		in := cfg.Instances[name]
		addChannel(in.Key("approval_channel"), in.ApprovalChannel)
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var out []probe
	for _, r := range bot.Probe(ctx, bot.ProbeConfig{BotToken: cfg.Slack.BotToken, AppToken: cfg.Slack.AppToken, APIURL: cfg.Slack.APIURL,
		Channels: channels, HTTPClient: &http.Client{Timeout: 15 * time.Second}}) {
		out = append(out, probe{Group: "slack", Check: r.Check, Key: r.Key, OK: r.Problem == "", Took: r.Took, Detail: r.Detail, Problem: r.Problem, Fix: r.Fix})
	}
	return out
}

func probeStore(ctx context.Context, c config.Store, bad map[string]bool) []probe {
	p := probe{Group: "store", Check: "store (" + c.Driver + ")", Key: "store.path"}
	if c.Driver == "postgres" {
		p.Key = "store.dsn"
	}
	if bad[p.Key] || bad["store.driver"] {
		p.NotAsked, p.Detail = true, "not asked: fix the store keys above first"
		return []probe{p}
	}
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	started := time.Now()
	var (
		h   store.Health
		err error
	)
	if c.Driver == "postgres" {
		h, err = postgres.Probe(ctx, c.DSN)
	} else {
		h, err = sqlite.Probe(ctx, c.Path)
	}
	p.Took = time.Since(started)
	switch {
	case err != nil:
		p.Problem = err.Error()
		p.Fix = "check that the database is reachable and the account may create tables"
		if c.Driver == "sqlite" {
			p.Fix = "check that the folder exists and the bot's user may write there"
		}
	case h.Version > h.Latest:
		p.Problem = fmt.Sprintf("the schema is at version %d, newer than this build knows (%d)", h.Version, h.Latest)
		p.Fix = "run the sessionbot release that migrated it, or a newer one"
	case h.Version < h.Latest:
		p.OK = true
		p.Detail = fmt.Sprintf("connected and writable; schema at version %d, serve migrates it to %d", h.Version, h.Latest)
	default:
		p.OK = true
		p.Detail = fmt.Sprintf("connected and writable; schema at version %d", h.Version)
	}
	return []probe{p}
}

func probeInstances(ctx context.Context, s *setup) []probe {
	if s.reg == nil || len(s.reg.Names()) == 0 {
		return nil
	}
	// The probe results say what failed; the service need not log it too.
	svc := newService(s.reg, s.options, nil, slog.New(slog.DiscardHandler))
	reply := svc.Execute(ctx, commands.Caller{}, commands.Command{Verb: commands.Vendors})
	var out []probe
	for _, in := range reply.Instances {
		p := probe{Group: "vendors", Check: in.Name + " (" + string(in.Type) + ")", Key: "instances." + in.Name, Took: in.Elapsed, OK: in.Err == nil}
		if in.Err != nil {
			p.Problem = in.Err.Error()
			p.Fix = commands.Hint(in.Err)
		} else {
			p.Detail = "answered; can " + in.Capabilities.String()
		}
		out = append(out, p)
	}
	return out
}

func probeLanguage(ctx context.Context, cfg *config.Config, bad map[string]bool) []probe {
	if !cfg.Language.Enabled {
		return nil
	}
	p := probe{Group: "language", Check: "language model " + cfg.Language.Model, Key: "language"}
	for k := range bad {
		if strings.HasPrefix(k, "language.") {
			p.NotAsked, p.Detail = true, "not asked: fix the language keys above first"
			return []probe{p}
		}
	}
	t, err := nl.New(cfg.Language.Config, nil, slog.New(newWarningLog()))
	if err != nil {
		p.Problem = err.Error()
		return []probe{p}
	}
	started := time.Now()
	err = t.Probe(ctx)
	p.Took = time.Since(started)
	var refusal *nl.Refusal
	switch {
	case errors.As(err, &refusal):
		p.Problem = refusal.Reason
		p.Fix = "check language.base_url, language.api_key and language.model"
	case err != nil:
		p.Problem = err.Error()
	default:
		p.OK = true
		p.Detail = "answered at " + cfg.Language.BaseURL
	}
	return []probe{p}
}

// print writes the report as aligned tables, one per section that has
// something to show.
func (r *report) print(w io.Writer) {
	fmt.Fprintf(w, "sessionbot check: %s\n", r.Source)
	section := func(title string, ps config.Problems, what string) {
		if len(ps) == 0 {
			return
		}
		rows := [][]string{{"KEY", "VALUE", strings.ToUpper(what)}}
		for _, p := range ps {
			value := ""
			if p.Value != "" {
				value = fmt.Sprintf("%q", p.Value)
			}
			text := p.Problem
			if p.Fix != "" {
				text += "\nfix: " + p.Fix
			}
			rows = append(rows, []string{p.Key, value, text})
		}
		fmt.Fprintf(w, "\n%s (%d)\n", title, len(ps))
		writeTable(w, rows)
	}
	section("Problems", r.Problems, "problem")
	section("Warnings", r.Warnings, "warning")
	if len(r.Probes) > 0 {
		rows := [][]string{{"CHECK", "KEY", "RESULT", "TOOK", "DETAIL"}}
		for _, p := range r.Probes {
			result, detail := "ok", p.Detail
			switch {
			case p.NotAsked:
				result = "-"
			case !p.OK:
				result, detail = "FAILED", p.Problem
				if p.Fix != "" {
					detail += "\nfix: " + p.Fix
				}
			}
			took := ""
			if p.Took > 0 {
				took = p.Took.Round(time.Millisecond).String()
				if p.Took < time.Millisecond {
					took = "<1ms"
				}
			}
			rows = append(rows, []string{p.Check, p.Key, result, took, detail})
		}
		fmt.Fprintf(w, "\nProbes\n")
		writeTable(w, rows)
	}
	fmt.Fprintln(w)
	if len(r.Skipped) > 0 {
		fmt.Fprintf(w, "Not probed: %s.\n", strings.Join(r.Skipped, ", "))
	}
	failed := 0
	for _, p := range r.Probes {
		if !p.OK && !p.NotAsked {
			failed++
		}
	}
	switch {
	case r.OK:
		fmt.Fprintln(w, "OK: serve will start with this configuration.")
	case len(r.Problems) > 0 && failed > 0:
		fmt.Fprintf(w, "%s and %s: serve would refuse to start, or fail once started.\n", count(len(r.Problems), "problem"), count(failed, "failed probe"))
	case len(r.Problems) > 0:
		fmt.Fprintf(w, "%s: serve would refuse to start.\n", count(len(r.Problems), "problem"))
	default:
		fmt.Fprintf(w, "%s: serve would start, then fail where they did.\n", count(failed, "failed probe"))
	}
}

// writeTable aligns columns; a cell may hold several lines, which stay in
// their column.
func writeTable(w io.Writer, rows [][]string) {
	widths := map[int]int{}
	for _, row := range rows {
		for i, cell := range row {
			for _, line := range strings.Split(cell, "\n") {
				widths[i] = max(widths[i], utf8.RuneCountInString(line))
			}
		}
	}
	for _, row := range rows {
		lines := make([][]string, len(row))
		height := 1
		for i, cell := range row {
			lines[i] = strings.Split(cell, "\n")
			height = max(height, len(lines[i]))
		}
		for l := range height {
			var b strings.Builder
			b.WriteString("  ")
			for i := range row {
				text := ""
				if l < len(lines[i]) {
					text = lines[i][l]
				}
				if i == len(row)-1 {
					b.WriteString(text)
					break
				}
				b.WriteString(text + strings.Repeat(" ", widths[i]-utf8.RuneCountInString(text)+2))
			}
			fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
		}
	}
}

func count(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}
