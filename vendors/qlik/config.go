package qlik

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/sessionbot/sessionbot/vendors"
	"github.com/sessionbot/sessionbot/vendors/internal/capacity"
)

// Defaults for what Config leaves empty.
const (
	DefaultProxyPort      = 4243
	DefaultRepositoryPort = 4242
	DefaultUser           = "UserDirectory=INTERNAL; UserId=sa_api"
	DefaultDiscoveryTTL   = 5 * time.Minute
	DefaultRequestTimeout = 10 * time.Second
	DefaultMaxConnections = capacity.DefaultMaxConnections
	DefaultQueueWait      = capacity.DefaultQueueWait
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

	var problems vendors.ConfigProblems
	seen := map[string]bool{}
	for _, p := range cfg.Proxies {
		addr, err := hostPort(p, DefaultProxyPort)
		if err != nil {
			problems.Add("proxies", p, "host, host:port or https://host:port (port 4243 when left out)", "%v", err)
			continue
		}
		if !seen[strings.ToLower(addr)] {
			seen[strings.ToLower(addr)] = true
			s.proxies = append(s.proxies, addr)
		}
	}
	if len(cfg.Proxies) == 0 {
		if strings.TrimSpace(cfg.Repository) == "" {
			problems.Add("proxies", "", "list the proxies (proxies: [qps1.example.com]) or name the repository (repository: central.example.com) to discover them",
				"neither proxies nor repository is set")
		} else if addr, err := hostPort(cfg.Repository, DefaultRepositoryPort); err != nil {
			problems.Add("repository", cfg.Repository, "host, host:port or https://host:port (port 4242 when left out)", "%v", err)
		} else {
			s.repository = addr
		}
	}
	vp, err := normalizeVirtualProxy(cfg.VirtualProxy)
	if err != nil {
		problems.Add("virtual_proxy", cfg.VirtualProxy, "write the prefix alone, such as ProxyX1", "%v", err)
	}
	s.virtualProxy = vp
	if strings.ContainsFunc(s.user, unicode.IsControl) {
		problems.Add("user", "", "", "contains a control character")
	}
	if s.discoveryTTL < 0 {
		problems.Add("discovery_ttl", s.discoveryTTL.String(), "write a positive duration such as 5m", "is negative")
	}
	if s.timeout < 0 {
		problems.Add("request_timeout", s.timeout.String(), "write a positive duration such as 10s", "is negative")
	}
	var p vendors.ConfigProblems
	s.maxConns, s.queueWait, p = capacity.Check(cfg.MaxConnections, cfg.QueueWait)
	problems = append(problems, p...)

	tlsConfig, tlsProblems := loadTLS(cfg.CertFile, cfg.KeyFile, cfg.CAFile)
	problems = append(problems, tlsProblems...)
	if tlsConfig != nil {
		tlsConfig.ServerName = strings.TrimSpace(cfg.ServerName)
	}
	s.tls = tlsConfig

	if len(problems) > 0 {
		return settings{}, fmt.Errorf("qlik %s: configuration: %w", s.name, problems)
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
			return "", fmt.Errorf("not a URL: %w", err)
		}
		if !strings.EqualFold(u.Scheme, "https") {
			return "", errors.New("use https: Qlik's APIs answer nothing else")
		}
		if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
			return "", errors.New("give only the host and port, no path, query or user")
		}
		v = u.Host
	}
	host, port := v, ""
	if h, p, err := net.SplitHostPort(v); err == nil {
		host, port = h, p
	} else if strings.HasPrefix(v, "[") && strings.HasSuffix(v, "]") {
		host = v[1 : len(v)-1] // bracketed IPv6 literal without a port
	}
	if host == "" || strings.ContainsAny(host, "/?#@ \\") || strings.ContainsFunc(host, unicode.IsControl) {
		return "", errors.New("has no usable host name")
	}
	if port == "" {
		port = strconv.Itoa(defaultPort)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return "", fmt.Errorf("port %q is not a number from 1 to 65535", port)
	}
	return net.JoinHostPort(host, port), nil
}

// normalizeVirtualProxy turns "/ProxyX1", "ProxyX1/" and "ProxyX1" into
// "ProxyX1". A prefix is one path segment, so inner slashes are refused.
func normalizeVirtualProxy(raw string) (string, error) {
	vp := strings.Trim(strings.TrimSpace(raw), "/")
	if strings.Contains(vp, "/") {
		return "", errors.New("a prefix is one path segment, without inner slashes")
	}
	if vp == "." || vp == ".." || strings.ContainsFunc(vp, unicode.IsControl) {
		return "", errors.New("is not a usable prefix")
	}
	return vp, nil
}

// loadTLS reads the client certificate, its key and the CA that signed the
// proxies' certificates. Problems name the key and file and never quote the
// file's content.
func loadTLS(certFile, keyFile, caFile string) (*tls.Config, vendors.ConfigProblems) {
	var problems vendors.ConfigProblems
	certPEM, p := readPEM("cert_file", certFile, "CERTIFICATE", "client.pem, exported from the QMC with its key")
	problems = append(problems, p...)
	keyPEM, p := readPEM("key_file", keyFile, "PRIVATE KEY", "client_key.pem, exported from the QMC with the certificate")
	problems = append(problems, p...)
	caPEM, p := readPEM("ca_file", caFile, "CERTIFICATE", "root.pem, exported from the QMC with the certificate")
	problems = append(problems, p...)
	if len(problems) > 0 {
		return nil, problems
	}

	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		// crypto/tls says what is wrong without quoting key material.
		problems = append(problems, vendors.ConfigProblem{Key: "key_file", Value: keyFile, Err: err,
			Problem: fmt.Sprintf("is not the key of cert_file %q: %v", certFile, err),
			Fix:     "export the certificate and its key together from the QMC"})
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(caPEM) {
		problems.Add("ca_file", caFile, "use root.pem exported from the QMC", "contains no certificate that can be parsed")
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

// readPEM reads the file a key names and checks that it holds a PEM block
// whose type ends with want ("CERTIFICATE", "PRIVATE KEY" also matching
// "EC PRIVATE KEY").
func readPEM(key, path, want, fix string) ([]byte, vendors.ConfigProblems) {
	if strings.TrimSpace(path) == "" {
		return nil, vendors.ConfigProblems{{Key: key, Problem: "is not set", Fix: "give the path of " + fix}}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		// The os error says what failed and why, never the content.
		return nil, vendors.ConfigProblems{{Key: key, Value: path, Problem: "cannot be read: " + pathErrorText(err), Err: err,
			Fix: "give the path of " + fix}}
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
	return nil, vendors.ConfigProblems{{Key: key, Value: path, Problem: "contains no " + kind + " in PEM form", Fix: "give the path of " + fix}}
}

// pathErrorText is an os error without the path, which the report shows
// already.
func pathErrorText(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}
