package main

import (
	"fmt"
	"log/slog"
	"sort"
	"strings"
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
	build    func(in config.Instance, logger *slog.Logger) (vendors.Instance, error)
	// keyOf names the config key an adapter's error line is about, by the
	// words the adapter uses for it.
	keyOf map[string]string
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
			var c microsoft.Config
			if err := config.Decode(in.Settings, &c); err != nil {
				return nil, err
			}
			c.Name = in.Name
			inst, err := microsoft.New(c, t, logger, time.Now)
			if err != nil {
				return nil, err
			}
			// Vendor hides log-out where the backend cannot do it.
			return inst.Vendor(), nil
		},
	}
}

var adapters = map[string]adapter{
	string(vendors.Commvault): {
		keys: secretFiles(config.KeysOf(commvault.Config{}), "password"),
		// Commvault local users have no directory; domain users are
		// DOMAIN\name, as typed.
		identity: commands.IdentityRule{},
		keyOf:    map[string]string{"URL": "url", "user name": "username", "password": "password", "CA file": "ca_file", "token timeout": "token_timeout"},
		build: func(in config.Instance, logger *slog.Logger) (vendors.Instance, error) {
			var c commvault.Config
			if err := config.Decode(in.Settings, &c); err != nil {
				return nil, err
			}
			c.Name = in.Name
			return commvault.New(c, logger)
		},
	},
	string(vendors.Teams): microsoftAdapter(vendors.Teams),
	string(vendors.Skype): microsoftAdapter(vendors.Skype),
	string(vendors.Qlik): {
		keys:     config.KeysOf(qlik.Config{}),
		identity: commands.IdentityRule{RequireDirectory: true},
		keyOf: map[string]string{"client certificate file": "cert_file", "client key file": "key_file", "CA file": "ca_file",
			"proxy": "proxies", "repository": "repository", "virtual proxy": "virtual_proxy"},
		build: func(in config.Instance, _ *slog.Logger) (vendors.Instance, error) {
			var c qlik.Config
			if err := config.Decode(in.Settings, &c); err != nil {
				return nil, err
			}
			c.Name = in.Name
			return qlik.New(c)
		},
	},
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
			problems = append(problems, fmt.Sprintf("%s: unknown type %q", in.Key("type"), in.Type))
			continue
		}
		inst, err := a.build(in, logger)
		if err != nil {
			problems = append(problems, buildProblems(in, a, err)...)
			continue
		}
		rule := a.identity
		if in.EmailTemplate != "" {
			if err := commands.CheckTemplate(in.EmailTemplate); err != nil {
				problems = append(problems, fmt.Sprintf("%s: %v", in.Key("email_template"), err))
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
	if len(problems) > 0 {
		return nil, nil, problems
	}
	reg, err := vendors.NewRegistry(built...)
	if err != nil {
		return nil, nil, err
	}
	return reg, options, nil
}

// buildChecked builds the instances, and with slack also checks the Slack
// settings, listing every problem of both at once.
func buildChecked(cfg *config.Config, logger *slog.Logger, slack bool) (*vendors.Registry, map[string]commands.InstanceOptions, error) {
	var problems config.Problems
	if slack {
		problems = cfg.CheckSlack()
	}
	reg, options, err := buildInstances(cfg, logger)
	if p, ok := err.(config.Problems); ok {
		problems = append(problems, p...)
	} else if err != nil {
		return nil, nil, err
	}
	if len(problems) > 0 {
		return nil, nil, problems
	}
	return reg, options, nil
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

// buildProblems splits an adapter's error into one problem per line, each
// under the key it is about when the adapter's words say which.
func buildProblems(in config.Instance, a adapter, err error) config.Problems {
	var out config.Problems
	for _, line := range strings.Split(err.Error(), "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		key, best := "", 0
		for words, k := range a.keyOf {
			if i := strings.Index(line, words); i >= 0 && len(words) > best {
				key, best = k, len(words)
			}
		}
		if key == "" {
			out = append(out, fmt.Sprintf("instances.%s: %s", in.Name, line))
		} else {
			out = append(out, fmt.Sprintf("%s: %s", in.Key(key), line))
		}
	}
	return out
}
