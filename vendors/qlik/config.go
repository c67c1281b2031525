package qlik

import (
	"cmp"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// Defaults for what Config leaves empty.
const (
	DefaultProxyPort      = 4243
	DefaultRepositoryPort = 4242
	DefaultUser           = "UserDirectory=INTERNAL; UserId=sa_api"
	DefaultDiscoveryTTL   = 5 * time.Minute
	DefaultRequestTimeout = 10 * time.Second
	DefaultMaxConnections = 32
	DefaultQueueWait      = 5 * time.Second
)

// Config describes one Qlik Sense site.
type Config struct {
	// Name is the instance name people type; set by the caller.
	Name string `mapstructure:"-"`
	// Proxies are the proxy services (QPS) to ask: host, host:port or
	// https://host:port, port 4243 when left out. Empty means discover them
	// through Repository.
	Proxies []string `mapstructure:"proxies"`
	// Repository is the central node's repository service (QRS), host[:port]
	// or URL, port 4242 when left out. Used only when Proxies is empty.
	Repository string `mapstructure:"repository"`
	// VirtualProxy is the virtual proxy prefix (ProxyX1, /ProxyX1 and
	// ProxyX1/ mean the same); empty means the default virtual proxy.
	VirtualProxy string `mapstructure:"virtual_proxy"`
	// CertFile, KeyFile and CAFile are the PEM files exported from the QMC:
	// client.pem, client_key.pem and root.pem.
	CertFile string `mapstructure:"cert_file"`
	KeyFile  string `mapstructure:"key_file"`
	CAFile   string `mapstructure:"ca_file"`
	// User is the X-Qlik-User header: who the calls run as.
	User string `mapstructure:"user"`
	// DiscoveryTTL is how long a discovered proxy list is trusted.
	DiscoveryTTL time.Duration `mapstructure:"discovery_ttl"`
	// RequestTimeout bounds one request to one proxy.
	RequestTimeout time.Duration `mapstructure:"request_timeout"`
	// ServerName overrides the name the proxies' certificates are checked
	// against (when they are reached by an address the certificate lacks).
	ServerName string `mapstructure:"server_name"`
	// MaxConnections bounds the connections open to each proxy at once;
	// requests past it wait their turn (kept open while idle, so each is
	// TLS-handshaken once).
	MaxConnections int `mapstructure:"max_connections"`
	// QueueWait bounds that wait: past it the proxy counts as busy, which
	// is said at once rather than as a timeout later.
	QueueWait time.Duration `mapstructure:"queue_wait"`
}

// settings is a Config checked and normalised.
type settings struct {
	name         string
	proxies      []string // host:port
	repository   string   // host:port, empty when proxies are configured
	virtualProxy string   // one path segment, unescaped; empty for the default
	user         string
	discoveryTTL time.Duration
	timeout      time.Duration
	maxConns     int
	queueWait    time.Duration
	tls          *tls.Config
}

// check normalises cfg and loads its certificates, listing every problem.
func (cfg Config) check() (settings, error) {
	s := settings{
		name:         cfg.Name,
		user:         strings.TrimSpace(cfg.User),
		discoveryTTL: cfg.DiscoveryTTL,
		timeout:      cfg.RequestTimeout,
		maxConns:     cmp.Or(cfg.MaxConnections, DefaultMaxConnections),
		queueWait:    cmp.Or(cfg.QueueWait, DefaultQueueWait),
	}
	if s.name == "" {
		s.name = "qlik"
	}
	if s.user == "" {
		s.user = DefaultUser
	}
	if s.discoveryTTL == 0 {
		s.discoveryTTL = DefaultDiscoveryTTL
	}
	if s.timeout == 0 {
		s.timeout = DefaultRequestTimeout
	}

	var problems []error
	add := func(err error) { problems = append(problems, err) }

	seen := map[string]bool{}
	for _, p := range cfg.Proxies {
		addr, err := hostPort(p, DefaultProxyPort)
		if err != nil {
			add(fmt.Errorf("proxies: %w", err))
			continue
		}
		if !seen[strings.ToLower(addr)] {
			seen[strings.ToLower(addr)] = true
			s.proxies = append(s.proxies, addr)
		}
	}
	if len(cfg.Proxies) == 0 {
		if strings.TrimSpace(cfg.Repository) == "" {
			add(errors.New("neither proxies nor repository is set: list the proxies or name the repository to discover them"))
		} else if addr, err := hostPort(cfg.Repository, DefaultRepositoryPort); err != nil {
			add(fmt.Errorf("repository: %w", err))
		} else {
			s.repository = addr
		}
	}
	vp, err := normalizeVirtualProxy(cfg.VirtualProxy)
	if err != nil {
		add(err)
	}
	s.virtualProxy = vp
	if strings.ContainsFunc(s.user, isControl) {
		add(errors.New("user contains a control character"))
	}
	if s.discoveryTTL < 0 {
		add(fmt.Errorf("discovery_ttl %s is negative", s.discoveryTTL))
	}
	if s.timeout < 0 {
		add(fmt.Errorf("request_timeout %s is negative", s.timeout))
	}
	if s.maxConns < 0 {
		add(fmt.Errorf("max_connections %d is negative", s.maxConns))
	}
	if s.queueWait < 0 {
		add(fmt.Errorf("queue_wait %s is negative", s.queueWait))
	}

	tlsConfig, errs := loadTLS(cfg.CertFile, cfg.KeyFile, cfg.CAFile)
	problems = append(problems, errs...)
	if tlsConfig != nil {
		tlsConfig.ServerName = strings.TrimSpace(cfg.ServerName)
	}
	s.tls = tlsConfig

	if len(problems) > 0 {
		return settings{}, fmt.Errorf("qlik %s: configuration: %w", s.name, errors.Join(problems...))
	}
	return s, nil
}

// hostPort reads host, host:port or https://host[:port] and returns
// host:port with the default port filled in.
func hostPort(raw string, defaultPort int) (string, error) {
	v := strings.TrimSpace(raw)
	if v == "" {
		return "", errors.New("empty address")
	}
	if strings.Contains(v, "://") {
		u, err := url.Parse(v)
		if err != nil {
			return "", fmt.Errorf("address %q is not a URL: %w", raw, err)
		}
		if !strings.EqualFold(u.Scheme, "https") {
			return "", fmt.Errorf("address %q: Qlik's APIs answer only https", raw)
		}
		if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
			return "", fmt.Errorf("address %q: give only the host and port, no path, query or user", raw)
		}
		v = u.Host
	}
	host, port := v, ""
	if h, p, err := net.SplitHostPort(v); err == nil {
		host, port = h, p
	} else if strings.HasPrefix(v, "[") && strings.HasSuffix(v, "]") {
		host = v[1 : len(v)-1] // bracketed IPv6 literal without a port
	}
	if host == "" || strings.ContainsAny(host, "/?#@ \\") || strings.ContainsFunc(host, isControl) {
		return "", fmt.Errorf("address %q has no usable host name", raw)
	}
	if port == "" {
		port = strconv.Itoa(defaultPort)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return "", fmt.Errorf("address %q: port %q is not a number from 1 to 65535", raw, port)
	}
	return net.JoinHostPort(host, port), nil
}

// normalizeVirtualProxy turns "/ProxyX1", "ProxyX1/" and "ProxyX1" into
// "ProxyX1". A prefix is one path segment, so inner slashes are refused.
func normalizeVirtualProxy(raw string) (string, error) {
	vp := strings.Trim(strings.TrimSpace(raw), "/")
	if strings.Contains(vp, "/") {
		return "", fmt.Errorf("virtual_proxy %q: a prefix is one path segment, without inner slashes", raw)
	}
	if vp == "." || vp == ".." || strings.ContainsFunc(vp, isControl) {
		return "", fmt.Errorf("virtual_proxy %q is not a usable prefix", raw)
	}
	return vp, nil
}

// loadTLS reads the client certificate, its key and the CA that signed the
// proxies' certificates. Errors name the file and never quote its content.
func loadTLS(certFile, keyFile, caFile string) (*tls.Config, []error) {
	var problems []error
	certPEM, err := readPEM("client certificate file", certFile, "CERTIFICATE")
	if err != nil {
		problems = append(problems, err)
	}
	keyPEM, err := readPEM("client key file", keyFile, "PRIVATE KEY")
	if err != nil {
		problems = append(problems, err)
	}
	caPEM, err := readPEM("CA file", caFile, "CERTIFICATE")
	if err != nil {
		problems = append(problems, err)
	}
	if len(problems) > 0 {
		return nil, problems
	}

	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		// crypto/tls says what is wrong without quoting key material.
		problems = append(problems, fmt.Errorf("client certificate file %q and client key file %q do not form a pair: %w", certFile, keyFile, err))
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(caPEM) {
		problems = append(problems, fmt.Errorf("CA file %q contains no certificate that can be parsed", caFile))
	}
	if len(problems) > 0 {
		return nil, problems
	}
	return &tls.Config{
		Certificates: []tls.Certificate{pair},
		RootCAs:      roots,
		MinVersion:   tls.VersionTLS12,
	}, nil
}

// readPEM reads a file and checks that it holds a PEM block whose type ends
// with want ("CERTIFICATE", "PRIVATE KEY" also matching "EC PRIVATE KEY").
func readPEM(what, path, want string) ([]byte, error) {
	if strings.TrimSpace(path) == "" {
		return nil, fmt.Errorf("%s is not set", what)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		// The os error says what failed and why, never the content.
		return nil, fmt.Errorf("%s %q: %w", what, path, err)
	}
	for rest := data; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if strings.HasSuffix(block.Type, want) {
			return data, nil
		}
	}
	kind := "certificate"
	if want == "PRIVATE KEY" {
		kind = "private key"
	}
	return nil, fmt.Errorf("%s %q contains no %s in PEM form", what, path, kind)
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) }
