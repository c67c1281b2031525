package bot

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/sessionbot/sessionbot/commands"
)

// Console runs commands typed one per line and prints each reply as text:
// the same commands and replies as Slack, for a terminal.
type Console struct {
	Service *commands.Service
	// As is the Slack user id the commands run as.
	As string
	// Prompt is printed before each line when set (an interactive terminal).
	Prompt string
	// Location is the time zone times are printed in.
	Location *time.Location
}

// Run reads in until it ends or ctx is cancelled.
func (c *Console) Run(ctx context.Context, in io.Reader, out io.Writer) error {
	loc := c.Location
	if loc == nil {
		loc = time.UTC
	}
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	caller := commands.Caller{SlackID: c.As, Channel: "console"}
	for {
		if c.Prompt != "" {
			fmt.Fprint(out, c.Prompt)
		}
		if !sc.Scan() {
			return sc.Err()
		}
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if line == "quit" || line == "exit" {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		reply := c.Service.Handle(ctx, caller, line)
		fmt.Fprintln(out, RenderText(reply, loc))
	}
}
