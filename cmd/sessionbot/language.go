package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/spf13/cobra"

	"github.com/sessionbot/sessionbot/cmd/sessionbot/config"
	"github.com/sessionbot/sessionbot/commands"
	"github.com/sessionbot/sessionbot/commands/nl"
	"github.com/sessionbot/sessionbot/vendors"
)

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
	return nl.ForService{Translator: t, Instances: nl.InstancesOf(reg), TimeZone: tz}, nil
}

func newNLEvalCommand(g *globals) *cobra.Command {
	var cases string
	cmd := &cobra.Command{
		Use:   "nl-eval --cases FILE",
		Short: "Run a table of phrasings against the configured language model and print accuracy and latency",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := g.loadConfig()
			if err != nil {
				return err
			}
			if cfg.Language.BaseURL == "" {
				return config.Problems{{Key: "language.base_url", Problem: "is not set", Fix: "nl-eval needs a model to ask"}}
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
			_, err = nl.Eval(cmd.Context(), t, list, g.stdout)
			return err
		},
	}
	cmd.Flags().StringVar(&cases, "cases", "examples/nl-cases.yaml", "the case file: phrasings and the commands they should become")
	return cmd
}
