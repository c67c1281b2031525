// Command sessionbot is a Slack bot that lists and, with a second person's
// approval, ends login sessions on Qlik Sense, Commvault and Microsoft
// Teams / Skype for Business.
package main

import (
	"context"
	"errors"
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

// Build stamps, set with
// -ldflags "-X main.version=1.2.0 -X main.commit=abc123 -X main.date=2026-11-30T12:00:00Z".
// Empty ones are read from the Go build info.
var (
	version = ""
	commit  = ""
	date    = ""
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := newRootCommand(os.Stdin, os.Stdout, os.Stderr).ExecuteContext(ctx)
	stop()
	os.Exit(exitCode(err, os.Stderr))
}

// exitError ends the process with code; err, when set, is printed.
type exitError struct {
	code int
	err  error
}

func (e exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

func (e exitError) Unwrap() error { return e.err }

// exitCode prints err and says how to exit: 0, the exitError's code, or 1.
func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return 0
	}
	var ee exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintln(stderr, "sessionbot:", ee.err)
		}
		return ee.code
	}
	fmt.Fprintln(stderr, "sessionbot:", err)
	return 1
}

// globals are the flags every subcommand shares.
type globals struct {
	configFile string
	logLevel   string
	// demoStore keeps the demo's SQLite store in this file, when set.
	demoStore string
	stdin     io.Reader
	stdout    io.Writer
	stderr    io.Writer
}

func newRootCommand(stdin io.Reader, stdout, stderr io.Writer) *cobra.Command {
	g := &globals{stdin: stdin, stdout: stdout, stderr: stderr}
	root := &cobra.Command{
		Use:           "sessionbot",
		Short:         "List and end login sessions on Qlik Sense, Commvault and Microsoft Teams from Slack",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.Version = versionLine()
	root.SetVersionTemplate("sessionbot {{.Version}}\n")
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.PersistentFlags().StringVar(&g.configFile, "config", "", "config file (default ./sessionbot.yaml, then /etc/sessionbot/sessionbot.yaml)")
	root.PersistentFlags().StringVar(&g.logLevel, "log-level", "", "override log.level: debug, info, warn or error")
	root.AddCommand(newServeCommand(g), newConsoleCommand(g), newCheckCommand(g), newAuditCommand(g), newNLEvalCommand(g), newVersionCommand(g), newReportCommand(g))
	return root
}

func newVersionCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version, commit and build date",
		Args:  cobra.NoArgs,
		Run: func(cmd *cobra.Command, _ []string) {
			fmt.Fprintln(g.stdout, "sessionbot", versionLine())
		},
	}
}

// buildInfo is the version, commit and build date: the -ldflags stamps,
// else what the Go toolchain recorded (module version, VCS revision and
// time), else "devel" and "unknown".
func buildInfo() (v, c, d string) {
	v, c, d = version, commit, date
	modified := false
	if info, ok := debug.ReadBuildInfo(); ok {
		if v == "" && info.Main.Version != "" && info.Main.Version != "(devel)" {
			v = info.Main.Version
		}
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				if c == "" {
					c = s.Value
				}
			case "vcs.time":
				if d == "" {
					d = s.Value
				}
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
	}
	if v == "" {
		v = "devel"
	}
	if c == "" {
		c = "unknown"
	} else if modified && commit == "" {
		c += "-dirty"
	}
	if d == "" {
		d = "unknown"
	}
	return v, c, d
}

// versionLine is what version and --version print after the name.
func versionLine() string {
	v, c, d := buildInfo()
	return fmt.Sprintf("%s (commit %s, built %s)", v, c, d)
}

// buildVersion is the version alone, for logs.
func buildVersion() string {
	v, _, _ := buildInfo()
	return v
}

// loadConfig reads and checks the configuration for the commands that do
// not start the bot (console, audit, nl-eval).
func (g *globals) loadConfig() (*config.Config, error) {
	cfg, problems, err := g.load()
	if err != nil {
		return nil, err
	}
	if len(problems) > 0 {
		return nil, problems
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
