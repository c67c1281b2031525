// Package config loads sessionbot's configuration: a YAML file (or the YAML
// itself in SESSIONBOT_CONFIG, or none), every key overridable from the
// environment (SESSIONBOT_SLACK_BOT_TOKEN...), secrets also readable from
// files, validated once with every problem listed under its key.
//
// Precedence, highest first: command-line flags (applied by the caller),
// environment variables, the file, defaults.
package config

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"
	"github.com/spf13/viper"

	"github.com/sessionbot/sessionbot/commands/nl"
	"github.com/sessionbot/sessionbot/vendors"
)

// EnvPrefix starts every environment override.
const EnvPrefix = "SESSIONBOT"

// Config is the whole configuration.
type Config struct {
	Slack Slack `mapstructure:"slack"`
	Log   Log   `mapstructure:"log"`
	// Timeout is the default per-instance answer time.
	Timeout   time.Duration `mapstructure:"timeout"`
	Store     Store         `mapstructure:"store"`
	Access    Access        `mapstructure:"access"`
	Approvals Approvals     `mapstructure:"approvals"`
	Language  Language      `mapstructure:"language"`
	Metrics   Metrics       `mapstructure:"metrics"`
	Retention Retention     `mapstructure:"retention"`
	// Reports are scheduled stale-session digests, by name.
	Reports map[string]Report `mapstructure:"reports"`
	// Instances are decoded per type by the caller (see Instance).
	Instances map[string]Instance `mapstructure:"-"`

	// File is the file the configuration was read from, if any.
	File string `mapstructure:"-"`
}

// Slack holds the Slack app's settings.
type Slack struct {
	BotToken     string `mapstructure:"bot_token"`
	BotTokenFile string `mapstructure:"bot_token_file"`
	AppToken     string `mapstructure:"app_token"`
	AppTokenFile string `mapstructure:"app_token_file"`
	// Command is the slash command the app registered.
	Command string `mapstructure:"command"`
	// APIURL is Slack's Web API base (GovSlack and tests use another).
	APIURL string `mapstructure:"api_url"`
	// InChannel makes replies visible to the channel instead of only to
	// the person who asked.
	InChannel bool `mapstructure:"in_channel"`
	// ReplyTimeout bounds one command's work, vendors and reply included;
	// every instance's timeout must fit well inside it.
	ReplyTimeout time.Duration `mapstructure:"reply_timeout"`
	// MaxInFlight bounds the commands worked on at once; past it people
	// are told at once that the bot is busy (a decision waits up to
	// ReplyTimeout for a slot first).
	MaxInFlight int `mapstructure:"max_in_flight"`
}

// Store is where approval requests and the audit log live.
type Store struct {
	// Driver is sqlite (one replica) or postgres (several).
	Driver  string `mapstructure:"driver"`
	Path    string `mapstructure:"path"`
	DSN     string `mapstructure:"dsn"`
	DSNFile string `mapstructure:"dsn_file"`
}

// Access says who may read.
type Access struct {
	// Listers may list and show; empty means everyone in the workspace.
	Listers      []string `mapstructure:"listers"`
	AuditChannel string   `mapstructure:"audit_channel"`
}

// Approvals are the default approval policy; instances may override each
// key.
type Approvals struct {
	Channel           string        `mapstructure:"channel"`
	Requesters        []string      `mapstructure:"requesters"`
	Approvers         []string      `mapstructure:"approvers"`
	ApprovalsNeeded   int           `mapstructure:"approvals_needed"`
	TTL               time.Duration `mapstructure:"ttl"`
	AllowSelfApproval bool          `mapstructure:"allow_self_approval"`
	SweepInterval     time.Duration `mapstructure:"sweep_interval"`
}

// Retention is how long the sweep keeps each kind of record; 0 keeps it
// forever.
type Retention struct {
	// Requests are finished requests, counted from when they finished.
	Requests time.Duration `mapstructure:"requests"`
	Audit    time.Duration `mapstructure:"audit"`
	// Counts are the per-node session counts reports record.
	Counts time.Duration `mapstructure:"counts"`
}

// Report is one scheduled stale-session digest.
type Report struct {
	// Schedule is five cron fields ("0 8 * * 1-5"), read in TimeZone.
	Schedule string `mapstructure:"schedule"`
	// TimeZone is an IANA name such as Europe/Paris.
	TimeZone string `mapstructure:"time_zone"`
	// Channel is the channel id (C...) the digest is posted in.
	Channel string `mapstructure:"channel"`
	// Instances it reads; empty means every instance that can list all
	// its sessions.
	Instances []string `mapstructure:"instances"`
	// Rule picks the stale sessions: "idle > 8h", "older than 24h",
	// "console is CommCell Console", joined with "and".
	Rule string `mapstructure:"rule"`
	// Top is how many of the stalest sessions the digest names.
	Top int `mapstructure:"top"`
}

// Language is the plain-words front end: an OpenAI-compatible model that
// translates requests into the typed grammar.
type Language struct {
	nl.Config  `mapstructure:",squash"`
	APIKeyFile string `mapstructure:"api_key_file"`
}

// Metrics sets where Prometheus metrics and health checks are served.
type Metrics struct {
	// Listen is a host:port such as 127.0.0.1:9090; empty turns them off.
	Listen string `mapstructure:"listen"`
}

// Log sets logging.
type Log struct {
	Level  string `mapstructure:"level"`
	Format string `mapstructure:"format"`
}

// Instance is one vendor instance: the keys every type shares, and the rest
// left raw for the type's own decoder.
type Instance struct {
	Name          string
	Type          string        `mapstructure:"type"`
	Timeout       time.Duration `mapstructure:"timeout"`
	EmailTemplate string        `mapstructure:"email_template"`
	DefaultDir    string        `mapstructure:"default_directory"`
	// Approval policy overrides; empty or zero means the approvals default.
	Requesters        []string      `mapstructure:"requesters"`
	Approvers         []string      `mapstructure:"approvers"`
	ApprovalChannel   string        `mapstructure:"approval_channel"`
	ApprovalsNeeded   int           `mapstructure:"approvals_needed"`
	ApprovalTTL       time.Duration `mapstructure:"approval_ttl"`
	AllowSelfApproval *bool         `mapstructure:"allow_self_approval"`
	// NoApproval ends sessions without a second person: only when written.
	NoApproval     bool `mapstructure:"no_approval"`
	Settings       map[string]any
	settingsPrefix string
}

var instanceName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

// InstanceKeys are the keys every instance may have.
var InstanceKeys = []string{"type", "timeout", "email_template", "default_directory",
	"requesters", "approvers", "approval_channel", "approvals_needed", "approval_ttl", "allow_self_approval", "no_approval"}

// Key names a setting of this instance as it is written in the file.
func (in Instance) Key(k string) string { return in.settingsPrefix + k }

// Types tells the loader which keys each instance type accepts besides the
// shared ones, so that environment overrides can be bound and unknown keys
// reported.
type Types map[string][]string

// Problem is one thing wrong with the configuration.
type Problem struct {
	// Key is the key path as written in the file ("instances.qlik-prod.cert_file").
	Key string `json:"key"`
	// Value is the value found; empty for secrets and for missing values.
	Value string `json:"value,omitempty"`
	// Problem says what is wrong, without the key or the value.
	Problem string `json:"problem"`
	// Fix says what to do, when the problem alone does not.
	Fix string `json:"fix,omitempty"`
}

// String reads like an adapter's problem: key "value": problem; fix.
func (p Problem) String() string {
	return vendors.ConfigProblem{Key: p.Key, Value: p.Value, Problem: p.Problem, Fix: p.Fix}.Error()
}

// Problems lists everything wrong with a configuration, each with its key.
type Problems []Problem

func (p Problems) Error() string {
	lines := make([]string, len(p))
	for i, x := range p {
		lines[i] = x.String()
	}
	return "configuration has " + plural(len(p), "problem") + ":\n  - " + strings.Join(lines, "\n  - ")
}

// Add appends a problem with a formatted message.
func (p *Problems) Add(key, value, fix, format string, args ...any) {
	*p = append(*p, Problem{Key: key, Value: value, Problem: fmt.Sprintf(format, args...), Fix: fix})
}

// FromVendor puts an adapter's problems under prefix (the instance's key
// path, ending in ".").
func FromVendor(prefix string, ps vendors.ConfigProblems) Problems {
	out := make(Problems, len(ps))
	for i, p := range ps {
		out[i] = Problem{Key: prefix + p.Key, Value: p.Value, Problem: p.Problem, Fix: p.Fix}
	}
	return out
}

// secretKeys are the settings whose value a problem never shows.
var secretKeys = map[string]bool{"bot_token": true, "app_token": true, "dsn": true, "api_key": true, "password": true, "client_secret": true}

// Tidy hides secret values, drops repeats and sorts by key.
func Tidy(problems Problems) Problems {
	out := Problems{}
	seen := map[Problem]bool{}
	for _, p := range problems {
		last := p.Key[strings.LastIndex(p.Key, ".")+1:]
		if secretKeys[strings.TrimSuffix(last, "_file")] && !strings.HasSuffix(last, "_file") {
			p.Value = ""
		}
		p.Value = redactURLPassword(p.Value)
		if seen[p] {
			continue
		}
		seen[p] = true
		out = append(out, p)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

// urlPassword is the password of a URL's user:password@, found even where
// the URL does not parse.
var urlPassword = regexp.MustCompile(`(://[^/?#@:]*:)[^/?#]*@`)

// redactURLPassword hides the password in a value that is a URL with
// user:password@ in it: such a URL is refused, and shown, as a problem.
func redactURLPassword(v string) string {
	if !strings.Contains(v, "@") {
		return v
	}
	if u, err := url.Parse(v); err == nil && u.User != nil {
		if _, set := u.User.Password(); set {
			return u.Redacted()
		}
	}
	return urlPassword.ReplaceAllString(v, "${1}xxxxx@")
}

func plural(n int, s string) string {
	if n == 1 {
		return "1 " + s
	}
	return fmt.Sprintf("%d %ss", n, s)
}

// Defaults applied before the file is read.
var defaults = map[string]any{
	"slack.command":              "/sessions",
	"slack.api_url":              "https://slack.com/api/",
	"slack.in_channel":           false,
	"slack.reply_timeout":        "60s",
	"slack.max_in_flight":        256,
	"log.level":                  "info",
	"log.format":                 "text",
	"timeout":                    "10s",
	"store.driver":               "sqlite",
	"store.path":                 "sessionbot.db",
	"approvals.approvals_needed": 1,
	"approvals.ttl":              "15m",
	"approvals.sweep_interval":   "30s",
	"retention.requests":         "90d",
	"retention.audit":            "365d",
	"retention.counts":           "30d",
}

// SearchPaths are where the file is looked for when none is named.
var SearchPaths = []string{"./sessionbot.yaml", "/etc/sessionbot/sessionbot.yaml"}

// ConfigEnv names the file to read, or holds the YAML itself.
const ConfigEnv = EnvPrefix + "_CONFIG"

// InstancesEnv lists instances declared in the environment alone
// ("qlik-prod,commvault"); each one's keys are then read from
// SESSIONBOT_INSTANCES_<NAME>_<KEY>.
const InstancesEnv = EnvPrefix + "_INSTANCES"

// ErrNoConfig is returned when there is no file and no setting in the
// environment: nothing to check.
var ErrNoConfig = errors.New("no configuration: pass --config FILE, put sessionbot.yaml in the current folder or /etc/sessionbot/, " +
	"put the YAML in " + ConfigEnv + ", or set SESSIONBOT_* variables (examples/sessionbot.yaml documents every key)")

// Load reads the configuration: the file at path; else what ConfigEnv
// holds (a path, or the YAML itself when it has a newline, or ": " and
// names no file); else the first of SearchPaths that exists; else the
// environment alone. It
// applies the environment, resolves secret files and checks what can be
// checked without knowing the mode. With required, ErrNoConfig when
// nothing at all is configured. The error is Problems when the
// configuration was read; the Config is then filled as far as it could be,
// or nil when the YAML itself does not parse.
func Load(path string, types Types, required bool) (*Config, error) {
	v := viper.New()
	v.SetEnvPrefix(EnvPrefix)
	v.SetEnvKeyReplacer(strings.NewReplacer(".", "_", "-", "_"))
	v.SetConfigType("yaml")
	for k, d := range defaults {
		v.SetDefault(k, d)
	}
	topKeys := keysOf(reflect.TypeOf(Config{}), "")
	for _, k := range topKeys {
		if err := v.BindEnv(k); err != nil {
			return nil, err
		}
	}
	source, inline, err := findSource(path)
	if err != nil {
		return nil, err
	}
	envNames := splitList(os.Getenv(InstancesEnv))
	if source == "" && required && len(envNames) == 0 && !anyEnv(topKeys) {
		return nil, ErrNoConfig
	}
	cfg := &Config{File: source, Instances: map[string]Instance{}}
	switch {
	case inline != "":
		if err := v.ReadConfig(strings.NewReader(inline)); err != nil {
			return nil, Problems{{Key: ConfigEnv, Problem: "is not valid YAML: " + yamlError(err), Fix: "check its indentation and quoting"}}
		}
	case source != "":
		v.SetConfigFile(source)
		if err := v.ReadInConfig(); err != nil {
			var parse viper.ConfigParseError
			if errors.As(err, &parse) {
				return nil, Problems{{Key: source, Problem: "is not valid YAML: " + yamlError(err), Fix: "check its indentation and quoting"}}
			}
			return nil, fmt.Errorf("read config %s: %w", source, err)
		}
	}
	var problems Problems
	// Instances are known by name from the file or InstancesEnv; bind each
	// one's keys so the environment can set any of them (viper ignores
	// unbound ones). The type comes first: it says which keys there are.
	instNames := map[string]bool{}
	for _, k := range v.AllKeys() {
		if rest, ok := strings.CutPrefix(k, "instances."); ok {
			name, _, _ := strings.Cut(rest, ".")
			instNames[name] = true
		}
	}
	for _, name := range envNames {
		instNames[strings.ToLower(name)] = true
	}
	for name := range instNames {
		if err := v.BindEnv("instances." + name + ".type"); err != nil {
			return nil, err
		}
		keys := append([]string{}, InstanceKeys...)
		keys = append(keys, types[strings.ToLower(v.GetString("instances."+name+".type"))]...)
		for _, k := range keys {
			if err := v.BindEnv("instances." + name + "." + k); err != nil {
				return nil, err
			}
		}
	}

	settings := v.AllSettings()
	rawInstances, _ := settings["instances"].(map[string]any)
	delete(settings, "instances")
	problems = append(problems, decodeInto(settings, cfg, "")...)
	for name := range instNames {
		raw, ok := rawInstances[name]
		if !ok {
			problems.Add("instances."+name, "", "set "+envName("instances."+name+".type")+" and the instance's other keys", "is listed in %s but has no settings", InstancesEnv)
			continue
		}
		m, ok := raw.(map[string]any)
		if !ok {
			problems.Add("instances."+name, "", "", "must be a block of settings")
			continue
		}
		in, ps := decodeInstance(name, m, types)
		problems = append(problems, ps...)
		cfg.Instances[name] = in
	}
	problems = append(problems, resolveSecret(&cfg.Slack.BotToken, cfg.Slack.BotTokenFile, "slack.bot_token")...)
	problems = append(problems, resolveSecret(&cfg.Slack.AppToken, cfg.Slack.AppTokenFile, "slack.app_token")...)
	problems = append(problems, resolveSecret(&cfg.Store.DSN, cfg.Store.DSNFile, "store.dsn")...)
	problems = append(problems, resolveSecret(&cfg.Language.APIKey, cfg.Language.APIKeyFile, "language.api_key")...)
	problems = append(problems, cfg.checkCommon(undecodedKeys(problems))...)
	if len(problems) > 0 {
		return cfg, Tidy(problems)
	}
	return cfg, nil
}

// yamlError is the parser's message without viper's wrapping.
func yamlError(err error) string {
	msg := err.Error()
	if i := strings.Index(msg, "yaml: "); i >= 0 {
		return msg[i+len("yaml: "):]
	}
	return msg
}

// findSource says where the configuration comes from: a file, or the YAML
// held in ConfigEnv (source is then ConfigEnv's name).
func findSource(path string) (source, inline string, err error) {
	if path == "" {
		if env := os.Getenv(ConfigEnv); env != "" {
			// A file that exists is a path, even one with ": " in it;
			// compact JSON is YAML too.
			_, statErr := os.Stat(env)
			if strings.Contains(env, "\n") || (statErr != nil && (strings.Contains(env, ": ") || strings.HasPrefix(strings.TrimSpace(env), "{"))) {
				return "$" + ConfigEnv, env, nil
			}
			if statErr != nil {
				// Not echoed: it may be a document with secrets in it that
				// was not recognised as one.
				return "", "", fmt.Errorf("%s names no readable file (%w) and is not YAML", ConfigEnv, errors.Unwrap(statErr))
			}
			path = env
		}
	}
	if path != "" {
		if _, err := os.Stat(path); err != nil {
			return "", "", fmt.Errorf("config file %s: %w", path, errors.Unwrap(err))
		}
		return path, "", nil
	}
	for _, p := range SearchPaths {
		if _, err := os.Stat(p); err == nil {
			return p, "", nil
		}
	}
	return "", "", nil
}

// anyEnv reports whether any of the keys is set in the environment.
func anyEnv(keys []string) bool {
	for _, k := range keys {
		if _, ok := os.LookupEnv(envName(k)); ok {
			return true
		}
	}
	return false
}

// envName is the environment variable that sets a key.
func envName(key string) string {
	return EnvPrefix + "_" + strings.ToUpper(strings.NewReplacer(".", "_", "-", "_").Replace(key))
}

func splitList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\t' })
}

func decodeInstance(name string, m map[string]any, types Types) (Instance, Problems) {
	prefix := "instances." + name + "."
	in := Instance{Name: name, Settings: map[string]any{}, settingsPrefix: prefix}
	var problems Problems
	if !instanceName.MatchString(name) {
		problems.Add("instances."+name, "", "rename it: lower-case letters, digits, - and _, as people type it after `on`", "is not a usable instance name")
	}
	common := map[string]any{}
	for k, val := range m {
		if _, nested := val.(map[string]any); nested {
			problems.Add(prefix+k, "", "an instance name cannot contain '.'; settings are single values or lists", "is a block of settings")
			continue
		}
		if contains(InstanceKeys, k) {
			common[k] = val
		} else {
			in.Settings[k] = val
		}
	}
	problems = append(problems, decodeInto(common, &in, prefix)...)
	in.Type = strings.ToLower(in.Type)
	allowed, known := types[in.Type]
	switch {
	case in.Type == "":
		problems.Add(prefix+"type", "", "one of "+strings.Join(typeNames(types), ", "), "is not set")
		return in, problems
	case !known:
		problems.Add(prefix+"type", in.Type, "one of "+strings.Join(typeNames(types), ", "), "is not a known type")
		return in, problems
	}
	for k := range in.Settings {
		if !contains(allowed, k) {
			problems.Add(prefix+k, "", "keys of type "+in.Type+": "+strings.Join(append(append([]string{}, InstanceKeys...), allowed...), ", "), "is not a known key for type %s", in.Type)
			delete(in.Settings, k) // reported once, here
		}
	}
	for k, val := range in.Settings {
		base, isFile := strings.CutSuffix(k, "_file")
		if !isFile || !contains(allowed, base) {
			continue
		}
		path, _ := val.(string)
		if path == "" {
			continue
		}
		if s, _ := in.Settings[base].(string); s != "" {
			problems.Add(prefix+base, "", "remove one of them", "is set both here and in %s", k)
			continue
		}
		secret, err := readSecretFile(path)
		if err != nil {
			problems.Add(prefix+k, path, "give a readable file holding the secret", "%v", err)
			continue
		}
		in.Settings[base] = secret
		delete(in.Settings, k)
	}
	return in, problems
}

func typeNames(types Types) []string {
	var names []string
	for t := range types {
		names = append(names, t)
	}
	sort.Strings(names)
	return names
}

// checkCommon checks the keys every mode shares, skipping those that did
// not decode (their problem is already listed).
func (c *Config) checkCommon(undecoded map[string]bool) Problems {
	var problems Problems
	add := func(key, value, fix, format string, args ...any) {
		if !undecoded[key] {
			problems.Add(key, value, fix, format, args...)
		}
	}
	if !strings.HasPrefix(c.Slack.Command, "/") || strings.ContainsAny(c.Slack.Command, " \t") {
		add("slack.command", c.Slack.Command, "the slash command registered in manifest.yaml, such as /sessions", "is not a slash command")
	}
	if u, err := url.Parse(c.Slack.APIURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		add("slack.api_url", c.Slack.APIURL, "leave it out for Slack itself; https://slack-gov.com/api/ for GovSlack", "is not an http(s) URL")
	} else if !strings.HasSuffix(c.Slack.APIURL, "/") {
		c.Slack.APIURL += "/" // slack-go joins method names straight onto it
	}
	if c.Slack.MaxInFlight < 1 {
		// The bot would quietly take its default instead.
		add("slack.max_in_flight", strconv.Itoa(c.Slack.MaxInFlight), "leave it out for 256, or give the commands worked on at once", "must be at least 1")
	}
	if c.Slack.ReplyTimeout <= 0 {
		add("slack.reply_timeout", c.Slack.ReplyTimeout.String(), "a positive duration such as 60s", "is not positive")
	}
	switch strings.ToLower(c.Log.Level) {
	case "debug", "info", "warn", "error":
	default:
		add("log.level", c.Log.Level, "one of debug, info, warn, error", "is not a log level")
	}
	switch strings.ToLower(c.Log.Format) {
	case "text", "json":
	default:
		add("log.format", c.Log.Format, "text or json", "is not a log format")
	}
	if c.Timeout <= 0 {
		add("timeout", c.Timeout.String(), "a positive duration such as 10s", "is not positive")
	}
	switch c.Store.Driver {
	case "sqlite":
		if c.Store.Path == "" {
			add("store.path", "", "the SQLite file, such as sessionbot.db", "is empty")
		}
	case "postgres":
		if c.Store.DSN == "" {
			add("store.dsn", "", "a PostgreSQL DSN such as postgres://sessionbot@db:5432/sessionbot (or store.dsn_file, or SESSIONBOT_STORE_DSN)", "is not set")
		}
	default:
		add("store.driver", c.Store.Driver, "sqlite (one replica) or postgres (several)", "is not a storage engine")
	}
	if c.Approvals.ApprovalsNeeded < 1 {
		add("approvals.approvals_needed", strconv.Itoa(c.Approvals.ApprovalsNeeded), "1, or 2 for four eyes beyond the requester's", "must be at least 1")
	}
	if c.Approvals.TTL <= 0 {
		add("approvals.ttl", c.Approvals.TTL.String(), "a positive duration such as 15m", "is not positive")
	}
	if c.Approvals.SweepInterval <= 0 {
		add("approvals.sweep_interval", c.Approvals.SweepInterval.String(), "a positive duration such as 30s", "is not positive")
	}
	if c.Metrics.Listen != "" {
		if _, port, err := net.SplitHostPort(c.Metrics.Listen); err != nil {
			add("metrics.listen", c.Metrics.Listen, "host:port, such as 127.0.0.1:9090 or :9090", "is not a listen address")
		} else if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
			add("metrics.listen", c.Metrics.Listen, "a port from 1 to 65535", "has no usable port")
		}
	}
	if c.Language.Enabled {
		var ps vendors.ConfigProblems
		if err := c.Language.Validate(); errors.As(err, &ps) {
			for _, p := range FromVendor("language.", ps) {
				add(p.Key, p.Value, p.Fix, "%s", p.Problem)
			}
		} else if err != nil {
			add("language", "", "", "%v", err)
		}
	}
	problems = append(problems, checkPeople("access.listers", c.Access.Listers)...)
	problems = append(problems, checkPeople("approvals.requesters", c.Approvals.Requesters)...)
	problems = append(problems, checkPeople("approvals.approvers", c.Approvals.Approvers)...)
	problems = append(problems, checkChannel("access.audit_channel", c.Access.AuditChannel)...)
	problems = append(problems, checkChannel("approvals.channel", c.Approvals.Channel)...)
	for _, in := range c.Instances {
		problems = append(problems, checkPeople(in.Key("requesters"), in.Requesters)...)
		problems = append(problems, checkPeople(in.Key("approvers"), in.Approvers)...)
		problems = append(problems, checkChannel(in.Key("approval_channel"), in.ApprovalChannel)...)
		if in.ApprovalsNeeded < 0 {
			add(in.Key("approvals_needed"), strconv.Itoa(in.ApprovalsNeeded), "leave it out for the approvals default, or 1 or more", "must be at least 1")
		}
	}
	return problems
}

var (
	slackID   = regexp.MustCompile(`^[UWSCG][A-Z0-9]{2,20}$`)
	channelID = regexp.MustCompile(`^[CG][A-Z0-9]{2,20}$`)
)

// checkPeople refuses names: access lists hold Slack ids, which their
// owners cannot change. Every bad entry is its own problem.
func checkPeople(key string, ids []string) Problems {
	var problems Problems
	for _, id := range ids {
		if !slackID.MatchString(id) {
			problems.Add(key, id, "use ids, which their owners cannot change: users U…/W… (profile → ⋮ → Copy member ID), user groups S…, channels C…/G…",
				"is not a Slack user, user group or channel id")
		}
	}
	return problems
}

// checkChannel refuses a channel name where a channel id is needed: names
// can be changed, and the Web API wants ids.
func checkChannel(key, id string) Problems {
	if id == "" || channelID.MatchString(id) {
		return nil
	}
	problem := "is not a channel id"
	if strings.HasPrefix(id, "#") || !slackID.MatchString(id) {
		problem = "is a channel name, not its id"
	}
	return Problems{{Key: key, Value: id, Problem: problem,
		Fix: "use the channel's id (C… or G…): open the channel's details; the id is at the bottom of the About tab"}}
}

// CheckSlack reports what `serve` needs that console does not.
func (c *Config) CheckSlack() Problems {
	var problems Problems
	switch {
	case c.Slack.BotToken == "":
		problems.Add("slack.bot_token", "", "set it in the file, in SESSIONBOT_SLACK_BOT_TOKEN, or point slack.bot_token_file at a file holding it", "is not set")
	case !strings.HasPrefix(c.Slack.BotToken, "xoxb-"):
		problems.Add("slack.bot_token", "", "the Bot User OAuth Token (OAuth & Permissions page) starts with xoxb-", "is not a bot token")
	}
	switch {
	case c.Slack.AppToken == "":
		problems.Add("slack.app_token", "", "set it in the file, in SESSIONBOT_SLACK_APP_TOKEN, or point slack.app_token_file at a file holding it (an app-level token with connections:write)", "is not set")
	case !strings.HasPrefix(c.Slack.AppToken, "xapp-"):
		problems.Add("slack.app_token", "", "an app-level token (Basic Information → App-Level Tokens) starts with xapp-", "is not an app-level token")
	}
	return problems
}

func resolveSecret(dst *string, file, key string) Problems {
	if file == "" {
		return nil
	}
	if *dst != "" {
		return Problems{{Key: key, Problem: "is set both directly and in " + key + "_file", Fix: "remove one of them"}}
	}
	s, err := readSecretFile(file)
	if err != nil {
		return Problems{{Key: key + "_file", Value: file, Problem: err.Error(), Fix: "give a readable file holding the secret"}}
	}
	*dst = s
	return nil
}

// readSecretFile reads a secret, dropping the trailing newline editors add.
// The error never holds the file's contents.
func readSecretFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			return "", fmt.Errorf("cannot be read: %w", pe.Err)
		}
		return "", fmt.Errorf("cannot be read: %w", err)
	}
	s := strings.TrimRight(string(b), "\r\n")
	if s == "" {
		return "", errors.New("is empty")
	}
	return s, nil
}

// Decode fills out from an instance's settings with the rules the loader
// uses, and lists each value that does not fit under prefix+key.
func Decode(in map[string]any, out any, prefix string) Problems { return decodeInto(in, out, prefix) }

// decodeInto decodes with the loader's rules: unknown keys are problems,
// durations and comma-separated lists are read from strings (environment
// values are strings), and each value that does not fit is its own
// problem under its key.
func decodeInto(in map[string]any, out any, prefix string) Problems {
	var md mapstructure.Metadata
	dec, err := mapstructure.NewDecoder(&mapstructure.DecoderConfig{
		Result:           out,
		Metadata:         &md,
		WeaklyTypedInput: true,
		DecodeHook:       mapstructure.ComposeDecodeHookFunc(durationHook, mapstructure.StringToSliceHookFunc(",")),
	})
	if err != nil {
		return Problems{{Key: strings.TrimSuffix(prefix, "."), Problem: err.Error()}}
	}
	var problems Problems
	if err := dec.Decode(in); err != nil {
		problems = decodeProblems(err, prefix)
	}
	for _, k := range md.Unused {
		problems.Add(prefix+dotted(k), "", "examples/sessionbot.yaml lists every key", "is not a known key")
	}
	return problems
}

// dotted writes mapstructure's name of a map entry's key
// ("reports[stale].colour") as the file's key path ("reports.stale.colour").
func dotted(k string) string {
	return strings.NewReplacer("[", ".", "]", "").Replace(k)
}

// badValue is a value a decode hook refused, with what to write instead.
type badValue struct{ value, problem, fix string }

func (e *badValue) Error() string { return fmt.Sprintf("%q %s", e.value, e.problem) }

var durationType = reflect.TypeOf(time.Duration(0))

// durationHook reads "10s", "5m", "1h30m". A bare number would be
// nanoseconds, which nobody means: it is refused with the unit to add.
func durationHook(_ reflect.Type, to reflect.Type, data any) (any, error) {
	if to != durationType {
		return data, nil
	}
	const fix = "write a number and a unit, such as 10s, 5m, 1h or 90d"
	switch v := data.(type) {
	case string:
		s := strings.TrimSpace(v)
		if s == "" || s == "0" {
			return time.Duration(0), nil
		}
		d, err := parseDuration(s)
		if err != nil {
			return nil, &badValue{value: v, problem: "is not a duration", fix: fix}
		}
		return d, nil
	case int, int64, int32, uint, uint64, uint32, float64, float32:
		if fmt.Sprint(v) == "0" {
			return time.Duration(0), nil
		}
		return nil, &badValue{value: fmt.Sprint(v), problem: "is a number without a unit", fix: fmt.Sprintf("write %vs or %vm, say", v, v)}
	}
	return data, nil
}

// parseDuration is time.ParseDuration that also reads whole days ("90d"),
// the unit retention is thought of in.
func parseDuration(s string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil {
			return 0, err
		}
		return time.Duration(days) * 24 * time.Hour, nil
	}
	return time.ParseDuration(s)
}

// decodeProblems turns mapstructure's tree of errors into one problem per
// key, in words rather than Go types.
func decodeProblems(err error, prefix string) Problems {
	var out Problems
	var walk func(error)
	walk = func(err error) {
		if joined, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range joined.Unwrap() {
				walk(e)
			}
			return
		}
		var de *mapstructure.DecodeError
		if d, ok := err.(*mapstructure.DecodeError); ok {
			de = d
		} else if inner := errors.Unwrap(err); inner != nil {
			walk(inner) // the "decoding failed" wrapper
			return
		}
		if de == nil {
			out.Add(strings.TrimSuffix(prefix, "."), "", "", "%v", err)
			return
		}
		inner := de.Unwrap()
		var nested *mapstructure.DecodeError
		if errors.As(inner, &nested) {
			walk(inner)
			return
		}
		out = append(out, valueProblem(prefix+dotted(de.Name()), inner))
	}
	walk(err)
	return out
}

// valueProblem says what is wrong with a value that did not decode.
func valueProblem(key string, err error) Problem {
	var bad *badValue
	var parse *mapstructure.ParseError
	var unconvertible *mapstructure.UnconvertibleTypeError
	switch {
	case errors.As(err, &bad):
		return Problem{Key: key, Value: bad.value, Problem: bad.problem, Fix: bad.fix}
	case errors.As(err, &parse):
		want := describeType(parse.Expected.Type())
		return Problem{Key: key, Value: fmt.Sprint(parse.Value), Problem: "is not " + want, Fix: "write " + want}
	case errors.As(err, &unconvertible):
		want := describeType(unconvertible.Expected.Type())
		got := describeType(reflect.TypeOf(unconvertible.Value))
		value := ""
		if k := reflect.TypeOf(unconvertible.Value); k != nil && k.Kind() != reflect.Map && k.Kind() != reflect.Slice {
			value = fmt.Sprint(unconvertible.Value)
		}
		return Problem{Key: key, Value: value, Problem: "is " + got + ", not " + want, Fix: "write " + want}
	}
	return Problem{Key: key, Problem: err.Error()}
}

// describeType names a Go type as someone writing YAML knows it.
func describeType(t reflect.Type) string {
	if t == nil {
		return "nothing"
	}
	if t == durationType {
		return "a duration such as 10s"
	}
	switch t.Kind() {
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a single value"
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.Map, reflect.Struct:
		return "a block of settings"
	case reflect.Pointer:
		return describeType(t.Elem())
	}
	return t.String()
}

// undecodedKeys are the keys whose value did not decode.
func undecodedKeys(problems Problems) map[string]bool {
	out := map[string]bool{}
	for _, p := range problems {
		out[p.Key] = true
	}
	return out
}

// keysOf lists the dotted mapstructure keys of a struct type, so each can
// be bound to the environment.
func keysOf(t reflect.Type, prefix string) []string {
	var keys []string
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("mapstructure")
		if tag == "" || tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if f.Type.Kind() == reflect.Struct && f.Type != reflect.TypeOf(time.Duration(0)) {
			p := prefix + name + "."
			if strings.Contains(opts, "squash") {
				p = prefix
			}
			keys = append(keys, keysOf(f.Type, p)...)
			continue
		}
		keys = append(keys, prefix+name)
	}
	return keys
}

// KeysOf lists the mapstructure keys of a settings struct (an adapter's
// Config), for Types.
func KeysOf(v any) []string { return keysOf(reflect.TypeOf(v), "") }

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
