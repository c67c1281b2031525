package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/spf13/cobra"

	"github.com/sessionbot/sessionbot/bot"
	"github.com/sessionbot/sessionbot/cmd/sessionbot/config"
	"github.com/sessionbot/sessionbot/commands"
)

func newServeCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "serve",
		Short: "Run the bot: answer /sessions in Slack over Socket Mode",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := g.loadConfig(true)
			if err != nil {
				return err
			}
			return serve(cmd.Context(), g, cfg)
		},
	}
}

func serve(ctx context.Context, g *globals, cfg *config.Config) error {
	logger := newLogger(g.stderr, cfg.Log)
	reg, options, err := buildChecked(cfg, logger, true)
	if err != nil {
		return err
	}
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := reg.Close(closeCtx); err != nil {
			logger.Warn("closing instances", "error", err)
		}
	}()
	access := accessFromConfig(cfg, logger)
	if p := checkApprovalRouting(access, reg.Names()); len(p) > 0 {
		return p
	}
	st, err := openStore(ctx, cfg.Store)
	if err != nil {
		return err
	}
	defer st.Close()

	m := newMetrics()
	if cfg.Metrics.Listen != "" {
		if _, err := serveMetrics(ctx, cfg.Metrics.Listen, m, logger); err != nil {
			return config.Problems{"metrics.listen: " + err.Error()}
		}
	}
	b := bot.New(bot.Config{
		OnAck:        m.ack,
		OnConnection: m.connection,
		BotToken:     cfg.Slack.BotToken,
		AppToken:     cfg.Slack.AppToken,
		APIURL:       cfg.Slack.APIURL,
		Command:      cfg.Slack.Command,
		InChannel:    cfg.Slack.InChannel,
		MaxInFlight:  cfg.Slack.MaxInFlight,
		Logger:       logger,
		ApprovalChannel: func(instance string) string {
			return access.PolicyFor(instance).ApprovalChannel
		},
		Dedup: func(ctx context.Context, key string) (bool, error) {
			return st.ClaimOnce(ctx, key, time.Now(), time.Hour)
		},
	})
	approvals := &commands.Approvals{
		Store: st,
		Notifier: b.Notifier(func(instance string) []string {
			return access.PolicyFor(instance).Approvers
		}),
		Groups:    b.Groups(),
		ReplicaID: replicaID(),
	}
	tr, err := newTranslator(cfg.Language, reg, b.TimeZone, logger)
	if err != nil {
		return err
	}
	svc := commands.New(commands.Config{
		Registry: reg, Options: options, Directory: b.Directory(), Clock: time.Now, Logger: logger,
		Access: access, Approvals: approvals, Translator: tr, Observer: m,
	})
	b.SetService(svc)
	logger.Info("sessionbot starting", "version", buildVersion(), "instances", reg.Names(), "command", cfg.Slack.Command,
		"store", cfg.Store.Driver, "replica", approvals.ReplicaID)

	sweepCtx, stopSweep := context.WithCancel(ctx)
	defer stopSweep()
	go sweep(sweepCtx, svc, cfg.Approvals.SweepInterval, logger)

	err = b.Run(ctx)
	if errors.Is(err, bot.ErrFatalAuth) {
		return fmt.Errorf("cannot connect to Slack: %w", err)
	}
	return err
}

// sweep expires old requests and reports interrupted executions, at start
// and then every interval.
func sweep(ctx context.Context, svc *commands.Service, every time.Duration, logger *slog.Logger) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if err := svc.Sweep(ctx); err != nil && ctx.Err() == nil {
			logger.Error("sweeping approval requests", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
