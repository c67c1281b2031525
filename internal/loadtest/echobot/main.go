// Command echobot is the yardstick of the load harness: a bare slack-go
// Socket Mode bot that acks every envelope and does nothing else.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"syscall"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"
)

func main() {
	apiURL := flag.String("api-url", "", "Slack Web API base")
	listen := flag.String("listen", "127.0.0.1:0", "where to serve go_goroutines")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatal(err)
	}
	go http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintf(w, "go_goroutines %d\n", runtime.NumGoroutine())
	}))

	api := slack.New(os.Getenv("SLACK_BOT_TOKEN"), slack.OptionAppLevelToken(os.Getenv("SLACK_APP_TOKEN")), slack.OptionAPIURL(*apiURL))
	client := socketmode.New(api)
	go func() {
		for evt := range client.Events {
			if evt.Request != nil && evt.Request.EnvelopeID != "" {
				client.Ack(*evt.Request)
			}
		}
	}()
	// RunContext returns only with an error, ctx's own when it ends.
	if err := client.RunContext(ctx); ctx.Err() == nil {
		log.Fatal(err)
	}
}
