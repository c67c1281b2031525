package main

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/sessionbot/sessionbot/commands"
	"github.com/sessionbot/sessionbot/store"
)

func newAuditCommand(g *globals) *cobra.Command {
	audit := &cobra.Command{Use: "audit", Short: "Read the audit log"}
	var since, until, actor, target, request string
	var limit int
	export := &cobra.Command{
		Use:   "export",
		Short: "Print audit events as JSON lines, oldest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := g.loadConfig()
			if err != nil {
				return err
			}
			now := time.Now()
			f := store.EventFilter{Actor: actor, Target: target, RequestID: request, Limit: limit}
			if f.Since, err = commands.ParseWhen(since, now); err != nil {
				return fmt.Errorf("--since: %w", err)
			}
			if until != "" {
				if f.Until, err = commands.ParseWhen(until, now); err != nil {
					return fmt.Errorf("--until: %w", err)
				}
			}
			st, err := openStore(cmd.Context(), cfg.Store)
			if err != nil {
				return err
			}
			defer st.Close()
			events, err := st.Events(cmd.Context(), f)
			if err != nil {
				return fmt.Errorf("read the audit log: %w", err)
			}
			enc := json.NewEncoder(g.stdout)
			for _, e := range events {
				if err := enc.Encode(e); err != nil {
					return err
				}
			}
			return nil
		},
	}
	export.Flags().StringVar(&since, "since", "30d", "oldest event: a date (2026-11-20), a time (2026-11-20T14:00Z) or an age (7d)")
	export.Flags().StringVar(&until, "until", "", "newest event, same forms as --since")
	export.Flags().StringVar(&actor, "actor", "", "only events by this Slack user id")
	export.Flags().StringVar(&target, "target", "", "only events about this person or session id")
	export.Flags().StringVar(&request, "request", "", "only events of this request id")
	export.Flags().IntVar(&limit, "limit", 0, "only the newest this many events, still printed oldest first (0: all)")
	audit.AddCommand(export)
	return audit
}
