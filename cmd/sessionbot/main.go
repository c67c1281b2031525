// Command sessionbot is a Slack bot that lists and, with a second person's
// approval, ends login sessions on Qlik Sense, Commvault and Microsoft
// Teams / Skype for Business.
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/sessionbot/sessionbot/cmd/sessionbot/config"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = ""

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := newRootCommand(os.Stdin, os.Stdout, os.Stderr).ExecuteContext(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "sessionbot:", err)
		os.Exit(1)
	}
}

// globals are the flags every subcommand shares.
type globals struct {
	configFile string
	logLevel   string
	stdin      io.Reader
	stdout     io.Writer
	stderr     io.Writer
}

func newRootCommand(stdin io.Reader, stdout, stderr io.Writer) *cobra.Command {
	g := &globals{stdin: stdin, stdout: stdout, stderr: stderr}
	root := &cobra.Command{
		Use:           "sessionbot",
		Short:         "List and end login sessions on Qlik Sense, Commvault and Microsoft Teams from Slack",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.PersistentFlags().StringVar(&g.configFile, "config", "", "config file (default ./sessionbot.yaml, then /etc/sessionbot/sessionbot.yaml)")
	root.PersistentFlags().StringVar(&g.logLevel, "log-level", "", "override log.level: debug, info, warn or error")
	root.AddCommand(newServeCommand(g), newConsoleCommand(g), newCheckCommand(g), newAuditCommand(g), newNLEvalCommand(g), newVersionCommand(g))
	return root
}

func newVersionCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		Run: func(cmd *cobra.Command, _ []string) {
			fmt.Fprintln(g.stdout, "sessionbot", buildVersion())
		},
	}
}

func buildVersion() string {
	if version != "" {
		return version
	}
	if info, ok := debug.ReadBuildInfo(); ok {
		if info.Main.Version != "" && info.Main.Version != "(devel)" {
			return info.Main.Version
		}
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				return "dev-" + s.Value[:12]
			}
		}
	}
	return "dev"
}

// loadConfig reads and checks the configuration; required says whether a
// file must exist.
func (g *globals) loadConfig(required bool) (*config.Config, error) {
	cfg, err := config.Load(g.configFile, instanceTypes(), required)
	if err != nil {
		return nil, err
	}
	if g.logLevel != "" {
		cfg.Log.Level = g.logLevel
	}
	return cfg, nil
}

func newLogger(w io.Writer, c config.Log) *slog.Logger {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.Level)); err != nil {
		level = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: level}
	var logger *slog.Logger
	if strings.EqualFold(c.Format, "json") {
		logger = slog.New(slog.NewJSONHandler(w, opts))
	} else {
		logger = slog.New(slog.NewTextHandler(w, opts))
	}
	slog.SetDefault(logger) // adapters that take no logger use the default
	return logger
}
