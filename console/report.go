package console

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/sessionbot/sessionbot/commands"
	"github.com/sessionbot/sessionbot/internal/chart"
)

var _ commands.DigestPoster = consoleNotifier{}

// runReport is the console's `report <name> [chart <file.png>]`: it runs a
// report now, prints its digest, and writes its chart when asked.
func (c *Console) runReport(ctx context.Context, args string) {
	name, rest, _ := strings.Cut(strings.TrimSpace(args), " ")
	file := ""
	if f, ok := strings.CutPrefix(strings.TrimSpace(rest), "chart "); ok {
		file = strings.TrimSpace(f)
	} else if strings.TrimSpace(rest) != "" || name == "" {
		c.print("! `report <name>` runs a report now; `report <name> chart <file.png>` also writes its chart\n\n")
		return
	}
	d, err := c.Service.RunReport(ctx, name)
	if err != nil {
		c.print("! " + err.Error() + "\n\n")
		return
	}
	if file == "" {
		return
	}
	png, err := chart.Render(d.Report, d.History, d.At.Add(-commands.ChartDays*24*time.Hour), d.At, chart.Width, chart.Height)
	if err == nil {
		err = os.WriteFile(file, png, 0o644)
	}
	if err != nil {
		c.print("! the chart could not be written: " + err.Error() + "\n\n")
		return
	}
	c.print(fmt.Sprintf("(chart of %d recorded counts written to %s)\n\n", len(d.History), file))
}

func (n consoleNotifier) PostDigest(_ context.Context, d commands.Digest) error {
	var b strings.Builder
	fmt.Fprintf(&b, "[%s] Stale sessions: %s\n%s\n", d.Destination, printable(d.Report), printable(d.Summary()))
	for _, t := range d.Nodes {
		fmt.Fprintf(&b, "  %s %s: %d stale of %d\n", printable(t.Instance), printable(t.Node), t.Stale, t.Open)
	}
	now := time.Now()
	for _, s := range d.Stalest {
		fmt.Fprintf(&b, "  - %s on %s (%s) node %s, %s; to end it: kill %s on %s user %s\n", printable(s.User.String()), printable(s.Instance),
			printable(s.ID), printable(s.Node), commands.StaleFor(s, now), printable(s.ID), printable(s.Instance), printable(s.User.String()))
	}
	for _, p := range d.Problems {
		fmt.Fprintf(&b, "  ! %s\n", printable(p))
	}
	n.c.print(b.String() + "\n")
	return nil
}
