package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/sessionbot/sessionbot/bot"
	"github.com/sessionbot/sessionbot/commands"
	"github.com/sessionbot/sessionbot/console"
)

func newConsoleCommand(g *globals) *cobra.Command {
	var (
		demo bool
		as   string
	)
	cmd := &cobra.Command{
		Use:   "console",
		Short: "Run the same commands in a terminal, one per line (--demo: against built-in fake vendors)",
		Long: "Reads commands from standard input, one per line (`list Domain\\Marc` or `/sessions list Domain\\Marc`),\n" +
			"and prints each reply as text. Also: `as <slack-user-id>` to act as someone else, `confirm [reason]`\n" +
			"and `cancel` for the last kill or logout shown. Leave with `quit`, `exit` or Ctrl-D.\n" +
			"With --demo --store FILE the demo's requests and audit log stay in FILE afterwards:\n" +
			"SESSIONBOT_STORE_PATH=FILE sessionbot audit export",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !console.IsSlackUserID(as) {
				return fmt.Errorf("--as %q: give a Slack user id such as U0APPROVER; a user group or channel is not a person", as)
			}
			ctx := cmd.Context()
			term := &console.Console{As: as, Location: time.UTC}
			var (
				env *environment
				err error
			)
			if demo {
				if !cmd.Flags().Changed("as") {
					term.As = demoRequester
				}
				env, err = startDemo(ctx, g, term)
			} else {
				env, err = configuredEnvironment(ctx, g, term)
			}
			if err != nil {
				return err
			}
			defer env.close()
			term.Service = env.service
			if f, ok := g.stdin.(*os.File); ok && isTerminal(f) {
				term.Prompt = "sessions> "
				term.Location = time.Local
				fmt.Fprintln(g.stderr, "Type `help` for the commands; `quit` or Ctrl-D leaves.")
			}
			return term.Run(ctx, g.stdin, g.stdout)
		},
	}
	cmd.Flags().BoolVar(&demo, "demo", false, "start fake vendors in-process on loopback, with sample sessions; needs no config")
	cmd.Flags().StringVar(&as, "as", "U0CONSOLE", "the Slack user id the commands run as")
	cmd.Flags().StringVar(&g.demoStore, "store", "", "with --demo: keep the demo's SQLite store in this file (for audit export afterwards)")
	return cmd
}

// environment is a service with what it needs to shut down.
type environment struct {
	service *commands.Service
	closers []func()
}

func (e *environment) close() {
	for i := len(e.closers) - 1; i >= 0; i-- {
		e.closers[i]()
	}
}

// configuredEnvironment runs the console against the configured vendors
// and store; approval news is printed instead of posted.
func configuredEnvironment(ctx context.Context, g *globals, term *console.Console) (*environment, error) {
	cfg, err := g.loadConfig()
	if err != nil {
		return nil, err
	}
	logger := newLogger(g.stderr, cfg.Log)
	reg, options, err := buildInstances(cfg, logger)
	if err != nil {
		return nil, err
	}
	env := &environment{}
	env.closers = append(env.closers, func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		reg.Close(ctx)
	})
	st, err := openStore(ctx, cfg.Store)
	if err != nil {
		env.close()
		return nil, err
	}
	env.closers = append(env.closers, func() { st.Close() })
	access := accessFromConfig(cfg, logger)
	tr, err := newTranslator(cfg.Language, reg, nil, logger)
	if err != nil {
		env.close()
		return nil, err
	}
	env.service = commands.New(commands.Config{
		Registry: reg, Options: options, Clock: time.Now, Logger: logger, Access: access, Translator: tr,
		Approvals: &commands.Approvals{Store: st, Notifier: term.Notifier(), ReplicaID: replicaID(),
			// Access lists name Slack groups, which the console cannot expand.
			Groups: bot.OfflineGroups{}},
	})
	return env, nil
}

func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
