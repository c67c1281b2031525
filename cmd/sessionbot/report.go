package main

import (
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/sessionbot/sessionbot/commands"
	"github.com/sessionbot/sessionbot/internal/chart"
	"github.com/sessionbot/sessionbot/store"
)

func newReportCommand(g *globals) *cobra.Command {
	var name, out string
	var width, height int
	cmd := &cobra.Command{
		Use:   "report",
		Short: "Render a report's chart of recorded session counts (the last 7 days, per node) to a PNG file",
		Long: "Reads the counts the report's runs recorded in the store and draws the same chart the digest attaches.\n" +
			"Nothing is posted and no vendor is asked.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := chart.CheckSize(width, height); err != nil {
				return fmt.Errorf("--width, --height: %w", err)
			}
			cfg, err := g.loadConfig()
			if err != nil {
				return err
			}
			if _, ok := cfg.Reports[name]; !ok {
				return fmt.Errorf("--name: no report %q under reports: in the configuration", name)
			}
			st, err := openStore(cmd.Context(), cfg.Store)
			if err != nil {
				return err
			}
			defer st.Close()
			reps, ok := st.(store.Reports)
			if !ok {
				return fmt.Errorf("the %s store keeps no report counts", cfg.Store.Driver)
			}
			to := time.Now()
			from := to.Add(-commands.ChartDays * 24 * time.Hour)
			counts, err := reps.Counts(cmd.Context(), name, from)
			if err != nil {
				return err
			}
			png, err := chart.Render(name, counts, from, to, width, height)
			if err != nil {
				return err
			}
			if err := os.WriteFile(out, png, 0o644); err != nil {
				return fmt.Errorf("--out: %w", err)
			}
			fmt.Fprintf(g.stdout, "%s: %d recorded counts of report %s since %s\n", out, len(counts), name, from.UTC().Format("2006-01-02 15:04 UTC"))
			return nil
		},
	}
	cmd.Flags().StringVar(&name, "name", "", "the report, as named under reports: in the configuration")
	cmd.Flags().StringVar(&out, "out", "chart.png", "the PNG file to write")
	cmd.Flags().IntVar(&width, "width", chart.Width, fmt.Sprintf("width in pixels, from %d to %d", chart.MinWidth, chart.MaxSide))
	cmd.Flags().IntVar(&height, "height", chart.Height, fmt.Sprintf("height in pixels, from %d to %d", chart.MinHeight, chart.MaxSide))
	cmd.MarkFlagRequired("name")
	return cmd
}
