// Package config loads sessionbot's configuration: a YAML file, every key
// overridable from the environment (SESSIONBOT_SLACK_BOT_TOKEN...), secrets
// also readable from files, validated once with every problem listed.
package config

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"
	"github.com/spf13/viper"

	"github.com/sessionbot/sessionbot/commands/nl"
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
	// MaxInFlight bounds the commands worked on at once; past it people
	// are told at once that the bot is busy.
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

// Problems lists everything wrong with a configuration, each with its key.
type Problems []string

func (p Problems) Error() string {
	return "configuration has " + plural(len(p), "problem") + ":\n  - " + strings.Join(p, "\n  - ")
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
	"slack.max_in_flight":        256,
	"log.level":                  "info",
	"log.format":                 "text",
	"timeout":                    "10s",
	"store.driver":               "sqlite",
	"store.path":                 "sessionbot.db",
	"approvals.approvals_needed": 1,
	"approvals.ttl":              "15m",
	"approvals.sweep_interval":   "30s",
}

// SearchPaths are where the file is looked for when none is named.
var SearchPaths = []string{"./sessionbot.yaml", "/etc/sessionbot/sessionbot.yaml"}

// Load reads the file at path (or the first of SearchPaths that exists when
// path is empty and required is true), applies the environment, resolves
// secret files and checks what can be checked without knowing the mode.
// With required false and no file, only defaults and environment apply.
func Load(path string, types Types, required bool) (*Config, error) {
	v := viper.New()
	v.SetEnvPrefix(EnvPrefix)
	v.SetEnvKeyReplacer(strings.NewReplacer(".", "_", "-", "_"))
	v.SetConfigType("yaml")
	for k, d := range defaults {
		v.SetDefault(k, d)
	}
	for _, k := range keysOf(reflect.TypeOf(Config{}), "") {
		if err := v.BindEnv(k); err != nil {
			return nil, err
		}
	}
	file, err := findFile(path, required)
	if err != nil {
		return nil, err
	}
	if file != "" {
		v.SetConfigFile(file)
		if err := v.ReadInConfig(); err != nil {
			return nil, fmt.Errorf("read config %s: %w", file, err)
		}
	}
	var problems Problems
	// Instances are known by name from the file; bind each one's keys so the
	// environment can override any of them (viper ignores unbound ones).
	instNames := map[string]bool{}
	for _, k := range v.AllKeys() {
		if rest, ok := strings.CutPrefix(k, "instances."); ok {
			name, _, _ := strings.Cut(rest, ".")
			instNames[name] = true
		}
	}
	for name := range instNames {
		keys := append([]string{}, InstanceKeys...)
		typ := strings.ToLower(v.GetString("instances." + name + ".type"))
		keys = append(keys, types[typ]...)
		for _, k := range keys {
			if err := v.BindEnv("instances." + name + "." + k); err != nil {
				return nil, err
			}
		}
	}

	cfg := &Config{File: file, Instances: map[string]Instance{}}
	settings := v.AllSettings()
	rawInstances, _ := settings["instances"].(map[string]any)
	delete(settings, "instances")
	if err := decode(settings, cfg); err != nil {
		problems = append(problems, decodeProblems(err, "")...)
	}
	for name, raw := range rawInstances {
		m, ok := raw.(map[string]any)
		if !ok {
			problems = append(problems, fmt.Sprintf("instances.%s: must be a map of settings", name))
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
	problems = append(problems, cfg.checkCommon()...)
	if len(problems) > 0 {
		return cfg, onePerKey(problems)
	}
	return cfg, nil
}

// onePerKey keeps the first problem found for each key (a value that did
// not decode is not also reported as out of range), sorted by key.
func onePerKey(problems Problems) Problems {
	seen := map[string]bool{}
	var out Problems
	for _, p := range problems {
		key, _, _ := strings.Cut(p, ":")
		if !seen[key] {
			seen[key] = true
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}

func findFile(path string, required bool) (string, error) {
	if path != "" {
		if _, err := os.Stat(path); err != nil {
			return "", fmt.Errorf("config file %s: %w", path, err)
		}
		return path, nil
	}
	for _, p := range SearchPaths {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	if required {
		return "", fmt.Errorf("no config file: pass --config FILE, or put sessionbot.yaml in the current folder or /etc/sessionbot/ (examples/sessionbot.yaml documents every key)")
	}
	return "", nil
}

func decodeInstance(name string, m map[string]any, types Types) (Instance, Problems) {
	prefix := "instances." + name + "."
	in := Instance{Name: name, Settings: map[string]any{}, settingsPrefix: prefix}
	var problems Problems
	if !instanceName.MatchString(name) {
		problems = append(problems, fmt.Sprintf("instances.%s: instance names are lower-case letters, digits, - and _ (they are typed after `on`)", name))
	}
	common := map[string]any{}
	for k, val := range m {
		if _, nested := val.(map[string]any); nested {
			problems = append(problems, fmt.Sprintf("%s%s: is a map of settings; an instance name cannot contain '.'", prefix, k))
			continue
		}
		if contains(InstanceKeys, k) {
			common[k] = val
		} else {
			in.Settings[k] = val
		}
	}
	if err := decode(common, &in); err != nil {
		problems = append(problems, decodeProblems(err, prefix)...)
	}
	in.Type = strings.ToLower(in.Type)
	allowed, known := types[in.Type]
	switch {
	case in.Type == "":
		problems = append(problems, prefix+"type: missing: one of "+strings.Join(typeNames(types), ", "))
		return in, problems
	case !known:
		problems = append(problems, fmt.Sprintf("%stype: unknown type %q: one of %s", prefix, in.Type, strings.Join(typeNames(types), ", ")))
		return in, problems
	}
	for k := range in.Settings {
		if !contains(allowed, k) {
			problems = append(problems, fmt.Sprintf("%s%s: unknown key for type %s (known: %s)", prefix, k, in.Type, strings.Join(allowed, ", ")))
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
			problems = append(problems, fmt.Sprintf("%s%s: set either %s or %s, not both", prefix, base, base, k))
			continue
		}
		secret, err := readSecretFile(path)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s%s: %v", prefix, k, err))
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

func (c *Config) checkCommon() Problems {
	var problems Problems
	if !strings.HasPrefix(c.Slack.Command, "/") || strings.ContainsAny(c.Slack.Command, " \t") {
		problems = append(problems, fmt.Sprintf("slack.command: %q must be a slash command such as /sessions", c.Slack.Command))
	}
	if u, err := url.Parse(c.Slack.APIURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		problems = append(problems, fmt.Sprintf("slack.api_url: %q is not an http(s) URL", c.Slack.APIURL))
	} else if !strings.HasSuffix(c.Slack.APIURL, "/") {
		c.Slack.APIURL += "/" // slack-go joins method names straight onto it
	}
	switch strings.ToLower(c.Log.Level) {
	case "debug", "info", "warn", "error":
	default:
		problems = append(problems, fmt.Sprintf("log.level: %q: one of debug, info, warn, error", c.Log.Level))
	}
	switch strings.ToLower(c.Log.Format) {
	case "text", "json":
	default:
		problems = append(problems, fmt.Sprintf("log.format: %q: text or json", c.Log.Format))
	}
	if c.Timeout <= 0 {
		problems = append(problems, "timeout: must be a positive duration such as 10s")
	}
	switch c.Store.Driver {
	case "sqlite":
		if c.Store.Path == "" {
			problems = append(problems, "store.path: the SQLite file is missing (default sessionbot.db)")
		}
	case "postgres":
		if c.Store.DSN == "" {
			problems = append(problems, "store.dsn: missing: a PostgreSQL DSN such as postgres://sessionbot@db:5432/sessionbot (or store.dsn_file, or SESSIONBOT_STORE_DSN)")
		}
	default:
		problems = append(problems, fmt.Sprintf("store.driver: %q: sqlite or postgres", c.Store.Driver))
	}
	if c.Approvals.ApprovalsNeeded < 1 {
		problems = append(problems, "approvals.approvals_needed: must be at least 1")
	}
	if c.Approvals.TTL <= 0 {
		problems = append(problems, "approvals.ttl: must be a positive duration such as 15m")
	}
	if c.Approvals.SweepInterval <= 0 {
		problems = append(problems, "approvals.sweep_interval: must be a positive duration such as 30s")
	}
	if c.Language.Enabled {
		if err := c.Language.Validate(); err != nil {
			problems = append(problems, "language: "+err.Error())
		}
	}
	problems = append(problems, checkPeople("access.listers", c.Access.Listers)...)
	problems = append(problems, checkPeople("approvals.requesters", c.Approvals.Requesters)...)
	problems = append(problems, checkPeople("approvals.approvers", c.Approvals.Approvers)...)
	for _, in := range c.Instances {
		problems = append(problems, checkPeople(in.Key("requesters"), in.Requesters)...)
		problems = append(problems, checkPeople(in.Key("approvers"), in.Approvers)...)
		if in.ApprovalsNeeded < 0 {
			problems = append(problems, in.Key("approvals_needed")+": must be at least 1")
		}
	}
	return problems
}

var slackID = regexp.MustCompile(`^[UWSCG][A-Z0-9]{2,20}$`)

// checkPeople refuses names: access lists hold Slack ids, which their
// owners cannot change.
func checkPeople(key string, ids []string) Problems {
	var problems Problems
	for _, id := range ids {
		if !slackID.MatchString(id) {
			problems = append(problems, fmt.Sprintf("%s: %q is not a Slack user id (U…/W…), user group id (S…) or channel id (C…/G…); names can be changed by their owners, so access lists take ids", key, id))
		}
	}
	return problems
}

// CheckSlack reports what `serve` needs that console and check do not.
func (c *Config) CheckSlack() Problems {
	var problems Problems
	switch {
	case c.Slack.BotToken == "":
		problems = append(problems, "slack.bot_token: missing: set it in the file, in SESSIONBOT_SLACK_BOT_TOKEN, or point slack.bot_token_file at a file holding it")
	case !strings.HasPrefix(c.Slack.BotToken, "xoxb-"):
		problems = append(problems, "slack.bot_token: is not a bot token (bot tokens start with xoxb-)")
	}
	switch {
	case c.Slack.AppToken == "":
		problems = append(problems, "slack.app_token: missing: set it in the file, in SESSIONBOT_SLACK_APP_TOKEN, or point slack.app_token_file at a file holding it (an app-level token with connections:write)")
	case !strings.HasPrefix(c.Slack.AppToken, "xapp-"):
		problems = append(problems, "slack.app_token: is not an app-level token (they start with xapp-)")
	}
	return problems
}

func resolveSecret(dst *string, file, key string) Problems {
	if file == "" {
		return nil
	}
	if *dst != "" {
		return Problems{fmt.Sprintf("%s: set either %s or %s_file, not both", key, key, key)}
	}
	s, err := readSecretFile(file)
	if err != nil {
		return Problems{fmt.Sprintf("%s_file: %v", key, err)}
	}
	*dst = s
	return nil
}

// readSecretFile reads a secret, dropping the trailing newline editors add.
// The error names the file, never its contents.
func readSecretFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("cannot read secret file %s: %w", path, errors.Unwrap(err))
	}
	s := strings.TrimRight(string(b), "\r\n")
	if s == "" {
		return "", fmt.Errorf("secret file %s is empty", path)
	}
	return s, nil
}

// Decode fills out from a map with the same rules the loader uses: unknown
// keys are errors, durations and comma-separated lists read from strings
// (environment values are strings).
func Decode(in map[string]any, out any) error { return decode(in, out) }

func decode(in map[string]any, out any) error {
	dec, err := mapstructure.NewDecoder(&mapstructure.DecoderConfig{
		Result:           out,
		ErrorUnused:      true,
		WeaklyTypedInput: true,
		DecodeHook: mapstructure.ComposeDecodeHookFunc(
			mapstructure.StringToTimeDurationHookFunc(),
			mapstructure.StringToSliceHookFunc(","),
		),
	})
	if err != nil {
		return err
	}
	return dec.Decode(in)
}

// decodeProblems turns mapstructure's joined error into one line per key.
func decodeProblems(err error, prefix string) Problems {
	var out Problems
	for _, line := range strings.Split(err.Error(), "\n") {
		line = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line), "*"))
		if line == "" || strings.HasPrefix(line, "decoding failed") || strings.HasSuffix(line, "error(s) decoding:") {
			continue
		}
		if head, keys, ok := strings.Cut(line, "has invalid keys: "); ok {
			parent := strings.Trim(strings.TrimSpace(head), "'")
			if parent != "" {
				parent += "."
			}
			for _, k := range strings.Split(keys, ", ") {
				out = append(out, prefix+parent+strings.TrimSpace(k)+": unknown key (examples/sessionbot.yaml lists every key)")
			}
			continue
		}
		if strings.HasPrefix(line, "'") {
			if k, rest, ok := strings.Cut(line[1:], "'"); ok {
				line = prefix + k + ":" + rest
			}
		}
		out = append(out, line)
	}
	if len(out) == 0 {
		out = append(out, prefix+err.Error())
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
