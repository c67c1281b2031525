package commvault

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"time"
)

// Defaults for what Config leaves empty.
const (
	DefaultRequestTimeout = 10 * time.Second
	DefaultUserCacheTTL   = 5 * time.Minute
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
}

// String leaves the password out, so that printing a Config is safe.
func (c Config) String() string {
	password := ""
	if c.Password != "" {
		password = "[set]"
	}
	return fmt.Sprintf("commvault.Config{Name:%q URL:%q Username:%q Password:%s Domain:%q CAFile:%q InsecureSkipVerify:%t RequestTimeout:%s UserCacheTTL:%s TokenTimeout:%s DeviceID:%q}",
		c.Name, c.URL, c.Username, password, c.Domain, c.CAFile, c.InsecureSkipVerify, c.RequestTimeout, c.UserCacheTTL, c.TokenTimeout, c.DeviceID)
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

	var problems []error
	add := func(format string, args ...any) { problems = append(problems, fmt.Errorf(format, args...)) }

	base, node, plain, err := parseBase(cfg.URL)
	if err != nil {
		problems = append(problems, err)
	}
	s.base, s.node, s.plainHTTP = base, node, plain

	switch {
	case s.username == "":
		add("username is not set")
	case strings.ContainsFunc(s.username, isControl):
		add("username contains a control character")
	case strings.Contains(s.username, `\`) && s.domain == "":
		add(`username %q has a domain: put the part before \ in domain`, s.username)
	}
	if s.password == "" {
		add("password is not set (password, or password_file)")
	}
	if strings.ContainsFunc(s.domain, isControl) || strings.Contains(s.domain, `\`) {
		add("domain %q is not a domain name", s.domain)
	}
	if strings.ContainsFunc(s.deviceID, isControl) {
		add("device_id contains a control character")
	}
	if s.timeout < 0 {
		add("request_timeout %s is negative", s.timeout)
	}
	if s.cacheTTL < 0 {
		add("user_cache_ttl %s is negative", s.cacheTTL)
	}
	switch {
	case cfg.TokenTimeout < 0:
		add("token_timeout %s is negative", cfg.TokenTimeout)
	case cfg.TokenTimeout > 0 && cfg.TokenTimeout < time.Minute:
		// A bare number in YAML decodes as nanoseconds: say how to write it.
		add("token_timeout %s is under a minute: Commvault counts it in minutes (write 30m, say)", cfg.TokenTimeout)
	case cfg.TokenTimeout > 0:
		s.tokenMinutes = int((cfg.TokenTimeout + time.Minute - 1) / time.Minute)
	}

	s.tls = &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: s.insecure}
	if strings.TrimSpace(cfg.CAFile) != "" {
		roots, err := loadCA(cfg.CAFile)
		if err != nil {
			problems = append(problems, err)
		}
		s.tls.RootCAs = roots
	}

	if len(problems) > 0 {
		return settings{}, fmt.Errorf("commvault %s: configuration: %w", s.name, errors.Join(problems...))
	}
	return s, nil
}

// parseBase checks the web service URL and returns it without a trailing
// slash, with its host for errors.
func parseBase(raw string) (base, node string, plainHTTP bool, err error) {
	v := strings.TrimSpace(raw)
	if v == "" {
		return "", "", false, errors.New("url is not set: give the web service base, e.g. https://commserve.example.com/webconsole/api")
	}
	u, err := url.Parse(v)
	if err != nil {
		return "", "", false, fmt.Errorf("url %q is not a URL: %w", raw, err)
	}
	switch strings.ToLower(u.Scheme) {
	case "https":
	case "http":
		plainHTTP = true
	default:
		return "", "", false, fmt.Errorf("url %q: give an https:// URL of the web service, e.g. https://commserve.example.com/webconsole/api", raw)
	}
	if u.Host == "" || u.Hostname() == "" {
		return "", "", false, fmt.Errorf("url %q has no host", raw)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return "", "", false, fmt.Errorf("url %q: give the web service base alone, without user, query or fragment", raw)
	}
	u.Scheme = strings.ToLower(u.Scheme)
	path := strings.TrimRight(u.EscapedPath(), "/")
	return u.Scheme + "://" + u.Host + path, u.Host, plainHTTP, nil
}

// loadCA reads a PEM CA file into a pool with the system's roots, so the
// web server may use either. Errors name the file, never its content.
func loadCA(path string) (*x509.CertPool, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("ca_file %q: %w", path, err)
	}
	roots, err := x509.SystemCertPool()
	if err != nil || roots == nil {
		roots = x509.NewCertPool()
	}
	if !roots.AppendCertsFromPEM(data) {
		return nil, fmt.Errorf("ca_file %q contains no PEM certificate that can be parsed", path)
	}
	return roots, nil
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) }
