package main

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/sessionbot/sessionbot/commands"
)

func newCheckCommand(g *globals) *cobra.Command {
	var slackToo bool
	cmd := &cobra.Command{
		Use:   "check",
		Short: "Validate the config and probe every vendor instance; exit non-zero on a problem",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := g.loadConfig(true)
			if err != nil {
				return err
			}
			logger := newLogger(g.stderr, cfg.Log)
			reg, options, err := buildChecked(cfg, logger, slackToo)
			if err != nil {
				return err
			}
			defer reg.Close(context.Background())
			svc := newService(reg, options, nil, logger)
			reply := svc.Execute(cmd.Context(), commands.Caller{}, commands.Command{Verb: commands.Vendors})
			tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintf(tw, "INSTANCE\tTYPE\tSTATUS\tCAN\n")
			failed := 0
			for _, in := range reply.Instances {
				status := "ok (" + in.Elapsed.Round(1e6).String() + ")"
				if in.Err != nil {
					failed++
					status = "FAILED: " + in.Err.Error()
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", in.Name, in.Type, status, in.Capabilities)
			}
			tw.Flush()
			if failed > 0 {
				return fmt.Errorf("%d of %d instances failed the probe", failed, len(reply.Instances))
			}
			if len(reply.Instances) == 0 {
				return fmt.Errorf("no instances configured: add some under instances: (see examples/sessionbot.yaml)")
			}
			fmt.Fprintf(g.stdout, "config %s is valid; %s answer\n", cfg.File, strings.Join(reg.Names(), ", "))
			return nil
		},
	}
	cmd.Flags().BoolVar(&slackToo, "slack", true, "also require the Slack tokens (serve needs them)")
	return cmd
}
