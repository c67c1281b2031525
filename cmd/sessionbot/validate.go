package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sessionbot/sessionbot/cmd/sessionbot/config"
	"github.com/sessionbot/sessionbot/commands"
	"github.com/sessionbot/sessionbot/vendors"
)

// setup is a configuration checked as a whole, built into what serve runs.
// check and serve both get it from validate, so whatever check passes,
// serve accepts.
type setup struct {
	cfg      *config.Config
	reg      *vendors.Registry
	options  map[string]commands.InstanceOptions
	access   *commands.Access
	warnings config.Problems
}

func (s *setup) close() {
	if s != nil {
		closeRegistry(s.reg)
	}
}

// load reads the configuration and applies the command-line flags, which
// come before everything else. err means nothing could be read (exit 2);
// problems are what is wrong with what was read; cfg is nil when the YAML
// itself does not parse.
func (g *globals) load() (*config.Config, config.Problems, error) {
	cfg, err := config.Load(g.configFile, instanceTypes(), true)
	problems, isProblems := err.(config.Problems)
	switch {
	case err != nil && !isProblems:
		return nil, nil, err
	case cfg == nil: // the YAML did not parse: nothing else can be known
		return nil, problems, nil
	}
	if g.logLevel != "" {
		switch strings.ToLower(g.logLevel) {
		case "debug", "info", "warn", "error":
			cfg.Log.Level = g.logLevel
		default:
			problems.Add("--log-level", g.logLevel, "one of debug, info, warn, error", "is not a log level")
		}
	}
	return cfg, problems, nil
}

// replyShare is how much of the reply deadline an instance may use: the
// rest is for Slack, the store and recording the outcome.
const replyShare = 0.8

// validate checks everything serve needs that can be known without Slack,
// the store or the vendors, in one pass, and builds the instances it can.
// Unless offline, it also tries to listen on metrics.listen (and lets go).
func validate(cfg *config.Config, logger *slog.Logger, offline bool) (*setup, config.Problems) {
	s := &setup{cfg: cfg}
	problems := cfg.CheckSlack()
	var built config.Problems
	s.reg, s.options, built = buildSome(cfg, logger)
	problems = append(problems, built...)
	// Warnings go into the setup rather than the log here; serve logs
	// them when it builds its own access rules.
	s.access = accessFromConfig(cfg, slog.New(slog.DiscardHandler))
	problems = append(problems, checkApprovalRouting(s.access, sortedNames(cfg))...)
	problems = append(problems, checkApproverCount(cfg, s.access)...)
	problems = append(problems, checkTimeouts(cfg)...)
	if len(cfg.Instances) == 0 {
		problems = append(problems, config.Problem{Key: "instances", Problem: "none is configured",
			Fix: "add one block per system under instances: (examples/sessionbot.yaml shows each type)"})
	}
	problems = append(problems, checkRetention(cfg.Retention)...)
	_, reportProblems := reportsFromConfig(cfg, s.reg)
	problems = append(problems, reportProblems...)
	if cfg.Metrics.Listen != "" && !offline {
		if ln, err := net.Listen("tcp", cfg.Metrics.Listen); err != nil {
			problems.Add("metrics.listen", cfg.Metrics.Listen, "pick a free port, or stop what listens there", "cannot be listened on: %v", errorCause(err))
		} else {
			ln.Close()
		}
	}
	if l := cfg.Language; !l.Enabled && (l.Model != "" || l.BaseURL != "" || l.APIKey != "" || l.APIKeyFile != "") {
		// Set up but off: most likely enabled was forgotten.
		logger.Warn("the language settings are not used, because it is false: plain-words requests are off; set language.enabled: true to use them", "key", "language.enabled")
	}
	for _, name := range sortedNames(cfg) {
		in := cfg.Instances[name]
		if in.NoApproval {
			s.warnings = append(s.warnings, config.Problem{Key: in.Key("no_approval"), Value: "true",
				Problem: "one person's request ends a session on this instance at once, without approval"})
		}
		p := s.access.PolicyFor(name)
		if p.AllowSelfApproval && !p.NoApproval {
			key := "approvals.allow_self_approval"
			if in.AllowSelfApproval != nil {
				key = in.Key("allow_self_approval")
			}
			s.warnings = append(s.warnings, config.Problem{Key: key, Value: "true", Problem: "requesters may approve their own requests on " + name})
		}
	}
	return s, problems
}

var (
	userID         = regexp.MustCompile(`^[UW][A-Z0-9]{2,20}$`)
	groupOrChannel = regexp.MustCompile(`^[SCG][A-Z0-9]{2,20}$`)
)

// checkApproverCount refuses a policy that needs more distinct approvers
// than it names, when they are all people (a group or channel may grow, so
// it is not counted).
func checkApproverCount(cfg *config.Config, a *commands.Access) config.Problems {
	var problems config.Problems
	for _, name := range sortedNames(cfg) {
		p := a.PolicyFor(name)
		if p.NoApproval || len(p.Requesters) == 0 {
			continue
		}
		// People count; a group or channel may grow, so it is not counted
		// at all; an entry that is no id at all is reported on its own and
		// can approve nothing.
		people, groups := map[string]bool{}, false
		for _, id := range p.Approvers {
			switch {
			case userID.MatchString(id):
				people[id] = true
			case groupOrChannel.MatchString(id):
				groups = true
			}
		}
		if groups || len(p.Approvers) == 0 || len(people) >= p.ApprovalsNeeded {
			continue
		}
		in := cfg.Instances[name]
		key, listKey := "approvals.approvals_needed", "approvals.approvers"
		if in.ApprovalsNeeded > 0 {
			key = in.Key("approvals_needed")
		}
		if len(in.Approvers) > 0 {
			listKey = in.Key("approvers")
		}
		// Said once per key: instances sharing the default give one problem.
		problems.Add(key, strconv.Itoa(p.ApprovalsNeeded), fmt.Sprintf("lower it, or add approvers to %s", listKey),
			"needs %d distinct approvers but %s names %d people, so no request could ever be approved", p.ApprovalsNeeded, listKey, len(people))
	}
	return problems
}

// checkTimeouts refuses instance timeouts that are not comfortably below
// the reply deadline: a vendor answering after the deadline would end a
// session the bot reports as interrupted.
func checkTimeouts(cfg *config.Config) config.Problems {
	var problems config.Problems
	reply := cfg.Slack.ReplyTimeout
	if reply <= 0 {
		return nil
	}
	limit := time.Duration(float64(reply) * replyShare)
	for _, name := range sortedNames(cfg) {
		in := cfg.Instances[name]
		key, timeout := in.Key("timeout"), in.Timeout
		if timeout <= 0 {
			key, timeout = "timeout", cfg.Timeout
		}
		if timeout > limit {
			problems.Add(key, timeout.String(), fmt.Sprintf("lower it to %s or less, or raise slack.reply_timeout", limit),
				"is not comfortably below the reply deadline: an instance's timeout must be at most %.0f%% of slack.reply_timeout (%s)", replyShare*100, reply)
		}
	}
	return problems
}

func sortedNames(cfg *config.Config) []string {
	names := make([]string, 0, len(cfg.Instances))
	for name := range cfg.Instances {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// errorCause drops the "listen tcp 127.0.0.1:9090:" that repeats the value.
func errorCause(err error) string {
	var op *net.OpError
	if e, ok := err.(*net.OpError); ok {
		op = e
	}
	if op != nil && op.Err != nil {
		msg := op.Err.Error()
		if i := strings.LastIndex(msg, ": "); i >= 0 {
			return msg[i+2:]
		}
		return msg
	}
	return err.Error()
}

// warningLog is a slog handler that keeps warnings (adapters log some at
// build time) for the check report instead of printing them.
type warningLog struct {
	mu       *sync.Mutex
	attrs    []slog.Attr
	warnings *config.Problems
}

func newWarningLog() *warningLog {
	return &warningLog{mu: &sync.Mutex{}, warnings: &config.Problems{}}
}

func (h *warningLog) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelWarn }

func (h *warningLog) Handle(_ context.Context, r slog.Record) error {
	key := "log"
	var extra []string
	add := func(a slog.Attr) {
		switch a.Key {
		case "instance":
			key = "instances." + a.Value.String()
			return
		case "key": // the setting the warning is about
			key = a.Value.String()
			return
		}
		extra = append(extra, a.Key+"="+a.Value.String())
	}
	for _, a := range h.attrs {
		add(a)
	}
	r.Attrs(func(a slog.Attr) bool { add(a); return true })
	msg := r.Message
	if len(extra) > 0 {
		msg += " (" + strings.Join(extra, ", ") + ")"
	}
	h.mu.Lock()
	*h.warnings = append(*h.warnings, config.Problem{Key: key, Problem: msg})
	h.mu.Unlock()
	return nil
}

func (h *warningLog) WithAttrs(attrs []slog.Attr) slog.Handler {
	c := *h
	c.attrs = append(append([]slog.Attr{}, h.attrs...), attrs...)
	return &c
}

func (h *warningLog) WithGroup(string) slog.Handler { return h }

func (h *warningLog) list() config.Problems {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append(config.Problems{}, *h.warnings...)
}
