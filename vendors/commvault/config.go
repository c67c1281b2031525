package commvault

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"
	"unicode"

	"github.com/sessionbot/sessionbot/vendors"
	"github.com/sessionbot/sessionbot/vendors/internal/capacity"
	"github.com/sessionbot/sessionbot/vendors/internal/httpx"
)

// Defaults for what Config leaves empty.
const (
	DefaultRequestTimeout = 10 * time.Second
	DefaultUserCacheTTL   = 5 * time.Minute
	DefaultMaxConnections = capacity.DefaultMaxConnections
	DefaultQueueWait      = capacity.DefaultQueueWait
)

// Config describes one CommCell's web service and the account the bot
// logs in with.
type Config struct {
	// Name is the instance name people type; set by the caller.
	Name string `mapstructure:"-"`
	// URL is the web service base: https://host/webconsole/api, or
	// https://host/SearchSvc/CVWebService.svc on older installs.
	URL string `mapstructure:"url"`
	// Username is the bot's Commvault user, without its domain.
	Username string `mapstructure:"username"`
	// Password is resolved by the caller from the environment or a file.
	// It is never logged and never part of an error.
	Password string `mapstructure:"password"`
	// Domain is the login domain of a domain user; empty for a local user.
	Domain string `mapstructure:"domain"`
	// CAFile is a PEM file with the CA that signed the web server's
	// certificate, trusted besides the system's.
	CAFile string `mapstructure:"ca_file"`
	// InsecureSkipVerify turns certificate checks off. New logs a warning.
	InsecureSkipVerify bool `mapstructure:"insecure_skip_verify"`
	// RequestTimeout bounds one request.
	RequestTimeout time.Duration `mapstructure:"request_timeout"`
	// UserCacheTTL is how long a user name's id is trusted.
	UserCacheTTL time.Duration `mapstructure:"user_cache_ttl"`
	// TokenTimeout is the token lifetime asked at login, in whole minutes
	// (rounded up); zero leaves Commvault's default of 30 minutes.
	TokenTimeout time.Duration `mapstructure:"token_timeout"`
	// DeviceID is sent at login when set, so Commvault can tell the bot's
	// sessions apart.
	DeviceID string `mapstructure:"device_id"`
	// MaxConnections bounds the connections open to the web service at
	// once, one per operation; operations past it wait their turn (kept
	// open while idle, so each is TLS-handshaken once).
	MaxConnections int `mapstructure:"max_connections"`
	// QueueWait bounds that wait: past it the web service counts as busy,
	// which is said at once rather than as a timeout later.
	QueueWait time.Duration `mapstructure:"queue_wait"`
}

// String leaves the password out, so that printing a Config is safe.
func (c Config) String() string {
	password := ""
	if c.Password != "" {
		password = "[set]"
	}
	return fmt.Sprintf("commvault.Config{Name:%q URL:%q Username:%q Password:%s Domain:%q CAFile:%q InsecureSkipVerify:%t RequestTimeout:%s UserCacheTTL:%s TokenTimeout:%s DeviceID:%q MaxConnections:%d QueueWait:%s}",
		c.Name, c.URL, c.Username, password, c.Domain, c.CAFile, c.InsecureSkipVerify, c.RequestTimeout, c.UserCacheTTL, c.TokenTimeout, c.DeviceID, c.MaxConnections, c.QueueWait)
}

// GoString is String, for %#v.
func (c Config) GoString() string { return c.String() }

// LogValue is String, for slog.
func (c Config) LogValue() slog.Value { return slog.StringValue(c.String()) }

// settings is a Config checked and normalised.
type settings struct {
	name         string
	base         string // scheme://host[:port]/path, escaped, without a trailing slash
	node         string // host[:port] of the URL, for errors
	username     string
	password     string
	domain       string
	deviceID     string
	tokenMinutes int
	timeout      time.Duration
	cacheTTL     time.Duration
	maxConns     int
	queueWait    time.Duration
	insecure     bool
	plainHTTP    bool
	tls          *tls.Config
}

// who is the login as people write it: DOMAIN\user or user.
func (s settings) who() string {
	if s.domain == "" {
		return s.username
	}
	return s.domain + `\` + s.username
}

// check normalises cfg and loads its CA file, listing every problem.
func (cfg Config) check() (settings, error) {
	s := settings{
		name:     strings.TrimSpace(cfg.Name),
		username: strings.TrimSpace(cfg.Username),
		password: cfg.Password,
		domain:   strings.TrimSpace(cfg.Domain),
		deviceID: strings.TrimSpace(cfg.DeviceID),
		timeout:  cfg.RequestTimeout,
		cacheTTL: cfg.UserCacheTTL,
		insecure: cfg.InsecureSkipVerify,
	}
	if s.name == "" {
		s.name = "commvault"
	}
	if s.timeout == 0 {
		s.timeout = DefaultRequestTimeout
	}
	if s.cacheTTL == 0 {
		s.cacheTTL = DefaultUserCacheTTL
	}

	var problems vendors.ConfigProblems
	base, node, plain, p := parseBase(cfg.URL)
	problems = append(problems, p...)
	s.base, s.node, s.plainHTTP = base, node, plain

	switch {
	case s.username == "":
		problems.Add("username", "", "the bot's Commvault user, without its domain", "is not set")
	case strings.ContainsFunc(s.username, unicode.IsControl):
		problems.Add("username", "", "", "contains a control character")
	case strings.Contains(s.username, `\`) && s.domain == "":
		problems.Add("username", s.username, `put the part before \ in domain`, "has a domain")
	}
	if s.password == "" {
		problems.Add("password", "", "set password, password_file, or SESSIONBOT_INSTANCES_<NAME>_PASSWORD", "is not set")
	}
	if strings.ContainsFunc(s.domain, unicode.IsControl) || strings.Contains(s.domain, `\`) {
		problems.Add("domain", s.domain, "the login domain alone, such as CORP", "is not a domain name")
	}
	if strings.ContainsFunc(s.deviceID, unicode.IsControl) {
		problems.Add("device_id", "", "", "contains a control character")
	}
	if s.timeout < 0 {
		problems.Add("request_timeout", s.timeout.String(), "write a positive duration such as 10s", "is negative")
	}
	if s.cacheTTL < 0 {
		problems.Add("user_cache_ttl", s.cacheTTL.String(), "write a positive duration such as 5m", "is negative")
	}
	s.maxConns, s.queueWait, p = capacity.Check(cfg.MaxConnections, cfg.QueueWait)
	problems = append(problems, p...)
	switch {
	case cfg.TokenTimeout < 0:
		problems.Add("token_timeout", cfg.TokenTimeout.String(), "write a positive duration such as 30m", "is negative")
	case cfg.TokenTimeout > 0 && cfg.TokenTimeout < time.Minute:
		// A bare number in YAML decodes as nanoseconds: say how to write it.
		problems.Add("token_timeout", cfg.TokenTimeout.String(), "Commvault counts it in minutes: write 30m, say", "is under a minute")
	case cfg.TokenTimeout > 0:
		s.tokenMinutes = int((cfg.TokenTimeout + time.Minute - 1) / time.Minute)
	}

	s.tls = &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: s.insecure}
	if strings.TrimSpace(cfg.CAFile) != "" {
		roots, p := httpx.LoadCA(cfg.CAFile, "give a PEM file with the CA that signed the web server's certificate")
		problems = append(problems, p...)
		s.tls.RootCAs = roots
	}

	if len(problems) > 0 {
		return settings{}, fmt.Errorf("commvault %s: configuration: %w", s.name, problems)
	}
	return s, nil
}

// parseBase checks the web service URL and returns it without a trailing
// slash, with its host for errors.
func parseBase(raw string) (base, node string, plainHTTP bool, problems vendors.ConfigProblems) {
	const fix = "give the web service base, e.g. https://commserve.example.com/webconsole/api"
	v := strings.TrimSpace(raw)
	if v == "" {
		problems.Add("url", "", fix, "is not set")
		return "", "", false, problems
	}
	u, err := url.Parse(v)
	if err != nil {
		problems.Add("url", raw, fix, "is not a URL")
		return "", "", false, problems
	}
	switch strings.ToLower(u.Scheme) {
	case "https":
	case "http":
		plainHTTP = true
	default:
		problems.Add("url", raw, fix, "is not an https:// URL")
		return "", "", false, problems
	}
	if u.Host == "" || u.Hostname() == "" {
		problems.Add("url", raw, fix, "has no host")
		return "", "", false, problems
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		problems.Add("url", raw, "give the web service base alone, without user, query or fragment", "has a user, query or fragment")
		return "", "", false, problems
	}
	u.Scheme = strings.ToLower(u.Scheme)
	path := strings.TrimRight(u.EscapedPath(), "/")
	return u.Scheme + "://" + u.Host + path, u.Host, plainHTTP, nil
}
