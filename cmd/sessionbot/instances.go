package main

import (
	"context"
	"errors"
	"log/slog"
	"sort"
	"time"

	"github.com/sessionbot/sessionbot/cmd/sessionbot/config"
	"github.com/sessionbot/sessionbot/commands"
	"github.com/sessionbot/sessionbot/vendors"
	"github.com/sessionbot/sessionbot/vendors/commvault"
	"github.com/sessionbot/sessionbot/vendors/microsoft"
	"github.com/sessionbot/sessionbot/vendors/qlik"
)

// adapter knows how to build one vendor type from its settings.
type adapter struct {
	// keys are the settings the type accepts besides the shared ones.
	keys []string
	// identity is the type's default mapping from a typed person.
	identity commands.IdentityRule
	// build makes the instance; its settings problems come back as
	// config.Problems under the instance's keys.
	build func(in config.Instance, logger *slog.Logger) (vendors.Instance, error)
}

// secretFiles adds a "<key>_file" variant for each secret key.
func secretFiles(keys []string, secrets ...string) []string {
	out := append([]string{}, keys...)
	for _, s := range secrets {
		out = append(out, s+"_file")
	}
	return out
}

// microsoftAdapter builds teams and skype instances: both read call
// history, by UPN.
func microsoftAdapter(t vendors.Type) adapter {
	return adapter{
		keys:     secretFiles(config.KeysOf(microsoft.Config{}), "client_secret"),
		identity: commands.IdentityRule{EmailTemplate: "{email}", EmailOnly: true},
		build: func(in config.Instance, logger *slog.Logger) (vendors.Instance, error) {
			return decodeAndBuild(in, func(c microsoft.Config) (vendors.Instance, error) {
				c.Name, c.Type = in.Name, t
				inst, err := microsoft.New(c, vendors.Env{Logger: logger})
				if err != nil {
					return nil, err
				}
				// Vendor hides log-out where the backend cannot do it.
				return inst.Vendor(), nil
			})
		},
	}
}

var adapters = map[string]adapter{
	string(vendors.Commvault): {
		keys: secretFiles(config.KeysOf(commvault.Config{}), "password"),
		// Commvault local users have no directory; domain users are
		// DOMAIN\name, as typed.
		identity: commands.IdentityRule{},
		build: func(in config.Instance, logger *slog.Logger) (vendors.Instance, error) {
			return decodeAndBuild(in, func(c commvault.Config) (vendors.Instance, error) {
				c.Name = in.Name
				return commvault.New(c, vendors.Env{Logger: logger})
			})
		},
	},
	string(vendors.Teams): microsoftAdapter(vendors.Teams),
	string(vendors.Skype): microsoftAdapter(vendors.Skype),
	string(vendors.Qlik): {
		keys:     config.KeysOf(qlik.Config{}),
		identity: commands.IdentityRule{RequireDirectory: true},
		build: func(in config.Instance, logger *slog.Logger) (vendors.Instance, error) {
			return decodeAndBuild(in, func(c qlik.Config) (vendors.Instance, error) {
				c.Name = in.Name
				return qlik.New(c, vendors.Env{Logger: logger})
			})
		},
	},
}

// decodeAndBuild decodes an instance's settings and builds it even when
// some did not decode, so the adapter's own problems are listed in the
// same run; a key that did not decode is not reported twice.
func decodeAndBuild[C any](in config.Instance, build func(C) (vendors.Instance, error)) (vendors.Instance, error) {
	var c C
	problems := config.Decode(in.Settings, &c, in.Key(""))
	inst, err := build(c)
	if err != nil {
		undecoded := map[string]bool{}
		for _, p := range problems {
			undecoded[p.Key] = true
		}
		for _, p := range buildProblems(in, err) {
			if !undecoded[p.Key] {
				problems = append(problems, p)
			}
		}
	}
	if len(problems) > 0 {
		if err == nil { // built from what decoded: not kept
			reg, _ := vendors.NewRegistry(inst)
			closeRegistry(reg)
		}
		return nil, problems
	}
	return inst, nil
}

func instanceTypes() config.Types {
	t := config.Types{}
	for name, a := range adapters {
		t[name] = a.keys
	}
	return t
}

// buildInstances makes every configured instance, in name order, and the
// service options for each. Every failure is listed with its key.
func buildInstances(cfg *config.Config, logger *slog.Logger) (*vendors.Registry, map[string]commands.InstanceOptions, error) {
	reg, options, problems := buildSome(cfg, logger)
	if len(problems) > 0 {
		closeRegistry(reg)
		return nil, nil, problems
	}
	return reg, options, nil
}

// buildSome makes every instance it can, listing the problems of the
// others, so a check can still probe the good ones.
func buildSome(cfg *config.Config, logger *slog.Logger) (*vendors.Registry, map[string]commands.InstanceOptions, config.Problems) {
	names := make([]string, 0, len(cfg.Instances))
	for name := range cfg.Instances {
		names = append(names, name)
	}
	sort.Strings(names)
	var (
		built    []vendors.Instance
		problems config.Problems
		options  = map[string]commands.InstanceOptions{}
	)
	for _, name := range names {
		in := cfg.Instances[name]
		a, ok := adapters[in.Type]
		if !ok {
			continue // the loader reported the type
		}
		inst, err := a.build(in, logger)
		if err != nil {
			problems = append(problems, buildProblems(in, err)...)
			continue
		}
		rule := a.identity
		if in.EmailTemplate != "" {
			if err := commands.CheckTemplate(in.EmailTemplate); err != nil {
				problems.Add(in.Key("email_template"), in.EmailTemplate, "use {email}, {local} and {domain}, such as CORP\\{local}", "%v", err)
			}
			rule.EmailTemplate = in.EmailTemplate
		}
		if in.DefaultDir != "" {
			rule.DefaultDirectory = in.DefaultDir
		}
		timeout := in.Timeout
		if timeout <= 0 {
			timeout = cfg.Timeout
		}
		options[name] = commands.InstanceOptions{Identity: rule, Timeout: timeout}
		built = append(built, inst)
	}
	reg, err := vendors.NewRegistry(built...)
	if err != nil {
		problems.Add("instances", "", "", "%v", err)
		for _, in := range built {
			if c, ok := in.(interface{ Close(context.Context) error }); ok {
				c.Close(context.Background())
			}
		}
		return nil, nil, problems
	}
	return reg, options, problems
}

// closeRegistry stops what the instances run (PowerShell workers), within
// a few seconds.
func closeRegistry(reg *vendors.Registry) {
	if reg == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	reg.Close(ctx)
}

// newService wires the commands service.
func newService(reg *vendors.Registry, options map[string]commands.InstanceOptions, dir commands.Directory, logger *slog.Logger) *commands.Service {
	return commands.New(commands.Config{
		Registry:  reg,
		Options:   options,
		Directory: dir,
		Clock:     time.Now,
		Logger:    logger,
	})
}

// buildProblems lists an adapter's error as problems under the instance's
// keys: adapters say which key each problem is about.
func buildProblems(in config.Instance, err error) config.Problems {
	var p config.Problems
	if errors.As(err, &p) {
		return p
	}
	var vp vendors.ConfigProblems
	if errors.As(err, &vp) {
		return config.FromVendor(in.Key(""), vp)
	}
	return config.Problems{{Key: "instances." + in.Name, Problem: err.Error()}}
}
