package vendors

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
)

// Registry holds the configured instances by name, in configuration order.
type Registry struct {
	instances []Instance
	byName    map[string]Instance
}

// NewRegistry checks that names are unique and not empty.
func NewRegistry(instances ...Instance) (*Registry, error) {
	r := &Registry{byName: make(map[string]Instance, len(instances))}
	for _, in := range instances {
		name := in.Name()
		if name == "" {
			return nil, fmt.Errorf("an instance of type %s has no name", in.Type())
		}
		key := strings.ToLower(name)
		if _, dup := r.byName[key]; dup {
			return nil, fmt.Errorf("two instances are named %q: names must be unique", name)
		}
		r.byName[key] = in
		r.instances = append(r.instances, in)
	}
	return r, nil
}

// Get finds an instance by name, ignoring case.
func (r *Registry) Get(name string) (Instance, bool) {
	in, ok := r.byName[strings.ToLower(name)]
	return in, ok
}

// All returns every instance in configuration order.
func (r *Registry) All() []Instance { return append([]Instance(nil), r.instances...) }

// OfType returns the instances of one type, in configuration order.
func (r *Registry) OfType(t Type) []Instance {
	var out []Instance
	for _, in := range r.instances {
		if in.Type() == t {
			out = append(out, in)
		}
	}
	return out
}

// Names lists instance names, sorted, for help and error messages.
func (r *Registry) Names() []string {
	names := make([]string, 0, len(r.instances))
	for _, in := range r.instances {
		names = append(names, in.Name())
	}
	sort.Strings(names)
	return names
}

// Types lists the distinct types configured, sorted.
func (r *Registry) Types() []Type {
	seen := map[Type]bool{}
	var out []Type
	for _, in := range r.instances {
		if !seen[in.Type()] {
			seen[in.Type()] = true
			out = append(out, in.Type())
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// Close releases what instances hold (a Commvault login token, a PowerShell
// worker), each under ctx, and joins their errors.
func (r *Registry) Close(ctx context.Context) error {
	var errs []error
	for _, in := range r.instances {
		switch c := in.(type) {
		case interface{ Close(context.Context) error }:
			errs = append(errs, c.Close(ctx))
		case io.Closer:
			errs = append(errs, c.Close())
		}
	}
	return errors.Join(errs...)
}
