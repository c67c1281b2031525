package qlik

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/sessionbot/sessionbot/vendors"
)

// retryAfterFailure is the longest a failed discovery is trusted before the
// repository is asked again, so that a repository that is down does not
// cost every request a timeout.
const retryAfterFailure = time.Minute

// discovery caches the proxy list the repository gave.
type discovery struct {
	// turn lets one caller at a time read or refresh the cache; it is a
	// channel so that waiting honours the caller's context.
	turn      chan struct{}
	nodes     []string
	fetchedAt time.Time // when nodes was read
	failure   error     // the last refresh's error, while it is trusted
	retryAt   time.Time // when to ask again after a failure
}

func newDiscovery() *discovery { return &discovery{turn: make(chan struct{}, 1)} }

// proxies returns the proxies to ask: the configured list, or the
// discovered one. A failed refresh keeps the last good list and returns a
// warning saying so; with no list at all it is an error.
func (in *Instance) proxies(ctx context.Context) (nodes []string, warnings []error, err error) {
	if len(in.s.proxies) > 0 {
		return in.s.proxies, nil, nil
	}
	d := in.disc
	select {
	case d.turn <- struct{}{}:
	case <-ctx.Done():
		return nil, nil, in.discoveryError(fmt.Errorf("waiting for the proxy list: %w", ctx.Err()))
	}
	defer func() { <-d.turn }()

	now := in.now()
	switch {
	case d.failure == nil && d.nodes != nil && now.Sub(d.fetchedAt) < in.s.discoveryTTL:
		return d.nodes, nil, nil
	case d.failure != nil && now.Before(d.retryAt):
		// Too soon to ask the repository again: use the last good list below.
	default:
		fresh, err := in.discover(ctx)
		if err == nil {
			d.nodes, d.fetchedAt, d.failure = fresh, now, nil
			in.logger.Info("qlik proxies discovered", "instance", in.s.name, "repository", in.s.repository, "proxies", fresh)
			return d.nodes, nil, nil
		}
		if ctx.Err() != nil {
			return nil, nil, in.discoveryError(err) // the caller gave up: not the repository's fault
		}
		d.failure, d.retryAt = err, now.Add(min(in.s.discoveryTTL, retryAfterFailure))
	}
	if d.nodes == nil {
		return nil, nil, in.discoveryError(d.failure)
	}
	warning := in.discoveryError(fmt.Errorf("kept the %d proxies found at %s: %w",
		len(d.nodes), d.fetchedAt.Format(time.TimeOnly), d.failure))
	in.logger.Warn("qlik proxy discovery failed", "instance", in.s.name, "err", warning)
	return d.nodes, []error{warning}, nil
}

func (in *Instance) discoveryError(err error) error {
	return &vendors.NodeError{Instance: in.s.name, Node: in.s.repository, Op: "discover proxies", Err: err}
}

// discover asks the repository for every proxy service of the site.
func (in *Instance) discover(ctx context.Context) ([]string, error) {
	a, err := in.send(ctx, http.MethodGet, in.s.repository, apiPath{"qrs", "proxyservice", "full"})
	if err != nil {
		return nil, err
	}
	var services []proxyService
	if err := decode(a, &services, "QRS port 4242"); err != nil {
		return nil, err
	}
	var nodes []string
	seen := map[string]bool{}
	for _, svc := range services {
		port := svc.Settings.RestListenPort
		if port == 0 {
			port = DefaultProxyPort
		}
		node, err := hostPort(net.JoinHostPort(strings.TrimSpace(svc.ServerNodeConfiguration.HostName), strconv.Itoa(port)), DefaultProxyPort)
		if err != nil {
			in.logger.Warn("qlik repository lists an unusable proxy; skipped", "instance", in.s.name, "host", svc.ServerNodeConfiguration.HostName, "port", port, "err", err)
			continue
		}
		if !seen[strings.ToLower(node)] {
			seen[strings.ToLower(node)] = true
			nodes = append(nodes, node)
		}
	}
	if len(nodes) == 0 {
		return nil, fmt.Errorf("the repository lists no proxy service with a usable host name: %w", vendors.ErrBadAnswer)
	}
	return nodes, nil
}
