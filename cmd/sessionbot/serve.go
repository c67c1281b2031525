package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/sessionbot/sessionbot/bot"
	"github.com/sessionbot/sessionbot/cmd/sessionbot/config"
	"github.com/sessionbot/sessionbot/commands"
	"github.com/sessionbot/sessionbot/store"
)

func newServeCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "serve",
		Short: "Run the bot: answer /sessions in Slack over Socket Mode",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return serve(cmd.Context(), g)
		},
	}
}

// serve runs the bot once the shared validation finds nothing wrong: the
// same one `check` runs, so a configuration check passes starts here.
func serve(ctx context.Context, g *globals) error {
	cfg, problems, err := g.load()
	if err != nil {
		return err
	}
	if cfg == nil {
		return problems
	}
	logger := newLogger(g.stderr, cfg.Log)
	s, more := validate(cfg, logger, false)
	defer s.close()
	if problems = append(problems, more...); len(problems) > 0 {
		return config.Tidy(problems)
	}
	reg, options := s.reg, s.options
	access := accessFromConfig(cfg, logger) // logs the policy warnings
	st, err := openStore(ctx, cfg.Store)
	if err != nil {
		return err
	}
	defer st.Close()

	m := newMetrics()
	m.registry.MustRegister(newRequestCollector(st))
	if cfg.Metrics.Listen != "" {
		if _, err := serveMetrics(ctx, cfg.Metrics.Listen, m, logger); err != nil {
			return config.Problems{{Key: "metrics.listen", Value: cfg.Metrics.Listen, Problem: "cannot be listened on: " + errorCause(err)}}
		}
	}
	// Slack first, commands on it, then the bot that listens.
	sl := bot.NewSlack(bot.Config{
		OnAck:        m.ack,
		OnConnection: m.connection,
		BotToken:     cfg.Slack.BotToken,
		AppToken:     cfg.Slack.AppToken,
		APIURL:       cfg.Slack.APIURL,
		Command:      cfg.Slack.Command,
		InChannel:    cfg.Slack.InChannel,
		ReplyTimeout: cfg.Slack.ReplyTimeout,
		MaxInFlight:  cfg.Slack.MaxInFlight,
		Logger:       logger,
		ApprovalChannel: func(instance string) string {
			return access.PolicyFor(instance).Destination
		},
		Dedup: sharedDedup(cfg.Store, st),
	})
	approvals := &commands.Approvals{
		Store: st,
		Notifier: sl.Notifier(func(instance string) []string {
			return access.PolicyFor(instance).Approvers
		}),
		Groups:     sl.Groups(),
		ReplicaID:  replicaID(),
		RetryAfter: retryAfter(cfg.Approvals.SweepInterval),
		Retention:  retentionFromConfig(cfg.Retention),
	}
	tr, err := newTranslator(cfg.Language, reg, sl.TimeZone, logger)
	if err != nil {
		return err
	}
	reports, _ := reportsFromConfig(cfg, reg) // checked by validate
	svc := commands.New(commands.Config{
		Registry: reg, Options: options, Directory: sl.Directory(), Clock: time.Now, Logger: logger,
		Access: access, Approvals: approvals, Translator: tr, Observer: m, Reports: reports,
	})
	// Runs after the sweep stops and the bot's replies drain: the audit
	// copies still queued get a few seconds to reach Slack.
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), auditMirrorDrain)
		defer cancel()
		svc.Close(cctx)
	}()
	b := bot.New(sl, svc)
	logger.Info("sessionbot starting", "version", buildVersion(), "instances", reg.Names(), "command", cfg.Slack.Command,
		"store", cfg.Store.Driver, "replica", approvals.ReplicaID)

	// Stopped before the audit mirror and the store close: a sweep may be
	// carrying out an approved end whose outcome must still be written.
	defer startSweeper(ctx, svc, cfg.Approvals.SweepInterval, sweepStopWait, logger)()

	err = b.Run(ctx)
	if errors.Is(err, bot.ErrFatalAuth) {
		return fmt.Errorf("cannot connect to Slack: %w", err)
	}
	return err
}

// auditMirrorDrain bounds how long a stop waits for queued audit copies:
// after the bot's own drain (25 s), within the chart's 40 s grace period.
const auditMirrorDrain = 5 * time.Second

// sharedDedup makes envelope and event de-duplication hold across the
// replicas sharing a PostgreSQL store. SQLite means one replica, where the
// bot's in-memory set already does it: a store write per envelope would
// only cost a commit, and after a crash it would swallow the redelivery of
// an envelope whose work the crash cut short.
func sharedDedup(c config.Store, st store.Store) func(ctx context.Context, key string) (bool, error) {
	if c.Driver != "postgres" {
		return nil
	}
	return func(ctx context.Context, key string) (bool, error) {
		return st.ClaimOnce(ctx, key, time.Now(), time.Hour)
	}
}

// retryAfter is how long a click has to finish its own work before the
// sweep takes it up: a few sweeps, within bounds.
func retryAfter(sweepEvery time.Duration) time.Duration {
	return min(max(3*sweepEvery, 3*time.Second), 30*time.Second)
}

// sweepTimeout bounds one sweep, so a database or Slack that stops
// answering delays the next sweep instead of stalling them all.
func sweepTimeout(every time.Duration) time.Duration {
	return max(every, time.Minute)
}

// sweepStopWait bounds how long a stop waits for a sweep under way,
// counted from the stop signal: the sweep stops then, while the bot drains
// its replies (25 s), so the whole stop stays within the drain plus the
// audit copies' 5 s (the chart's grace period and the unit's stop timeout
// leave room for both).
const sweepStopWait = 20 * time.Second

// sweeper is what the sweep runs: commands.Service.
type sweeper interface {
	Sweep(ctx context.Context) error
}

// startSweeper runs sweep in the background until ctx ends or stop is
// called; stop returns once the sweep under way has finished, so nothing
// it uses is closed under it, or once wait has passed since ctx ended.
func startSweeper(ctx context.Context, svc sweeper, every, wait time.Duration, logger *slog.Logger) (stop func()) {
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		sweep(sctx, svc, every, logger)
	}()
	// The wait is counted from the signal (ctx's end) or from stop,
	// whichever comes first.
	var once sync.Once
	var deadline time.Time
	begin := func() { once.Do(func() { deadline = time.Now().Add(wait) }) }
	stopWatch := context.AfterFunc(ctx, begin)
	return func() {
		stopWatch()
		begin()
		cancel()
		select {
		case <-done:
		case <-time.After(time.Until(deadline)):
			logger.Warn("stopping with a sweep still running", "waited", wait)
		}
	}
}

// sweep finishes what clicks and crashes left undone (see
// commands.Service.Sweep), at start and then every interval, each time
// with its own deadline.
func sweep(ctx context.Context, svc sweeper, every time.Duration, logger *slog.Logger) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		sctx, cancel := context.WithTimeout(ctx, sweepTimeout(every))
		if err := svc.Sweep(sctx); err != nil && ctx.Err() == nil {
			logger.Error("sweeping approval requests", "error", err)
		}
		cancel()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
