package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/spf13/cobra"

	"github.com/sessionbot/sessionbot/cmd/sessionbot/config"
	"github.com/sessionbot/sessionbot/commands"
	"github.com/sessionbot/sessionbot/commands/nl"
	"github.com/sessionbot/sessionbot/vendors"
)

// translator adapts the language model front end to the commands
// service: plain words in, a typed command out.
type translator struct {
	t   *nl.Translator
	reg *vendors.Registry
	// tz finds the requester's time zone; nil means UTC.
	tz func(ctx context.Context, slackID string) *time.Location
}

func (a translator) Translate(ctx context.Context, text string, caller commands.Caller, now time.Time) (string, error) {
	loc := time.UTC
	if a.tz != nil && caller.SlackID != "" {
		loc = a.tz(ctx, caller.SlackID)
	}
	res, err := a.t.Translate(ctx, nl.Request{Text: text, Instances: nl.InstancesOf(a.reg), Now: now, TimeZone: loc, RequesterID: caller.SlackID})
	var r *nl.Refusal
	if errors.As(err, &r) {
		return "", &commands.Refusal{Reason: r.Reason, Closest: r.Closest}
	}
	if err != nil {
		return "", err
	}
	return res.Typed, nil
}

// newTranslator builds the language front end when the config enables it.
func newTranslator(cfg config.Language, reg *vendors.Registry, tz func(context.Context, string) *time.Location, logger *slog.Logger) (commands.Translator, error) {
	if !cfg.Enabled {
		return nil, nil
	}
	t, err := nl.New(cfg.Config, nil, logger)
	if err != nil {
		return nil, fmt.Errorf("language: %w", err)
	}
	logger.Info("plain-words requests enabled", "model", cfg.Model)
	return translator{t: t, reg: reg, tz: tz}, nil
}

func newNLEvalCommand(g *globals) *cobra.Command {
	var cases string
	cmd := &cobra.Command{
		Use:   "nl-eval --cases FILE",
		Short: "Run a table of phrasings against the configured language model and print accuracy and latency",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := g.loadConfig(true)
			if err != nil {
				return err
			}
			if cfg.Language.BaseURL == "" {
				return config.Problems{"language.base_url: missing: nl-eval needs a model to ask"}
			}
			list, err := nl.LoadCases(cases)
			if err != nil {
				return err
			}
			logger := newLogger(g.stderr, cfg.Log)
			t, err := nl.New(cfg.Language.Config, nil, logger)
			if err != nil {
				return fmt.Errorf("language: %w", err)
			}
			report, err := nl.Eval(cmd.Context(), t, list, g.stdout)
			if err != nil {
				return err
			}
			_ = report
			return nil
		},
	}
	cmd.Flags().StringVar(&cases, "cases", "examples/nl-cases.yaml", "the case file: phrasings and the commands they should become")
	return cmd
}

