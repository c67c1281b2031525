package bot_test

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/png"
	"strings"
	"testing"
	"time"

	"github.com/sessionbot/sessionbot/bot"
	"github.com/sessionbot/sessionbot/bot/slacktest"
	"github.com/sessionbot/sessionbot/commands"
	"github.com/sessionbot/sessionbot/internal/chart"
	"github.com/sessionbot/sessionbot/store"
	"github.com/sessionbot/sessionbot/vendors"
)

func TestDigestIsOneMessageWithRequestEndButtonsAndTheChartInItsThread(t *testing.T) {
	fake := slacktest.New(slacktest.Options{BotToken: "xoxb-b", AppToken: "xapp-a", Scopes: bot.RequiredScopes})
	defer fake.Close()
	b := bot.New(bot.Config{BotToken: "xoxb-b", AppToken: "xapp-a", APIURL: fake.APIURL()})
	n := b.Notifier(func(string) []string { return nil })
	poster, ok := n.(commands.DigestPoster)
	if !ok {
		t.Fatalf("%T cannot post digests", n)
	}
	at := time.Now().Truncate(time.Minute)
	stalest := []vendors.Session{
		{Vendor: vendors.Commvault, Instance: "commvault", ID: "EMC0B1C2D3E", User: vendors.Identity{Directory: "CORP", ID: "marc"},
			Node: "pc-marc", Started: at.Add(-30 * time.Hour), LastActive: at.Add(-26 * time.Hour),
			Attributes: []vendors.Attribute{{Name: "console", Value: "CommCell Console"}}},
		{Vendor: vendors.Qlik, Instance: "qlik-prod", ID: "7b8ab85e", User: vendors.Identity{Directory: "Domain", ID: "Ken"}, UserName: "<!channel> Ken", Node: "qps1:4243",
			LastActive: at.Add(-9 * time.Hour)},
	}
	var history []store.NodeCount
	for day := range 7 {
		for _, node := range []string{"qps1:4243", "qps2:4243"} {
			history = append(history, store.NodeCount{Report: "stale", At: at.Add(-time.Duration(6-day) * 24 * time.Hour), Instance: "qlik-prod", Node: node, Sessions: day})
		}
	}
	d := commands.Digest{Report: "stale", Channel: "C0OPS", Rule: "idle > 8h", At: at,
		Nodes:   []commands.NodeTally{{Instance: "commvault", Node: "pc-marc", Open: 1, Stale: 1}, {Instance: "qlik-prod", Node: "qps1:4243", Open: 7, Stale: 1}, {Instance: "qlik-prod", Node: "qps2:4243", Open: 5}},
		Stalest: stalest, Open: 13, Stale: 2, History: history, Problems: []string{"teams cannot list all its sessions"}}
	if err := poster.PostDigest(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	posts := fake.Posts()
	if len(posts) != 1 || posts[0].Method != "chat.postMessage" || posts[0].Channel != "C0OPS" {
		t.Fatalf("posts %+v, want one message in C0OPS", posts)
	}
	msg := posts[0]
	if strings.ContainsAny(msg.Text, "<>") || strings.Contains(msg.Text, "http") || !strings.Contains(msg.Text, "2 of 13 open sessions") {
		t.Errorf("summary %q: want the counts and no link, mention or markup", msg.Text)
	}
	var blocks []struct {
		Accessory *struct {
			ActionID string `json:"action_id"`
			Value    string `json:"value"`
			Text     struct{ Text string }
		} `json:"accessory"`
	}
	if err := json.Unmarshal(msg.Blocks, &blocks); err != nil {
		t.Fatal(err)
	}
	var values []string
	for _, b := range blocks {
		if b.Accessory != nil && b.Accessory.Text.Text == "Request end" {
			if b.Accessory.ActionID != bot.ActionKill {
				t.Errorf("Request end runs %s, want the Kill button's %s", b.Accessory.ActionID, bot.ActionKill)
			}
			values = append(values, b.Accessory.Value)
		}
	}
	want := []string{`kill EMC0B1C2D3E on commvault user CORP\marc`, `kill 7b8ab85e on qlik-prod user Domain\Ken`}
	if strings.Join(values, "\n") != strings.Join(want, "\n") {
		t.Errorf("Request end buttons run %q, want %q", values, want)
	}
	// The parsed command is the normal proposal's.
	for _, v := range values {
		if cmd, err := commands.Parse(v, at); err != nil || cmd.Verb != commands.Kill {
			t.Errorf("%q does not parse as a kill: %v", v, err)
		}
	}
	if strings.Contains(unescapeJSON(msg.Blocks), "<!channel>") {
		t.Errorf("a user name became a broadcast: %s", msg.Blocks)
	}

	files := fake.Files()
	if len(files) != 1 || !files[0].Completed || files[0].Channel != "C0OPS" || files[0].ThreadTS != msg.TS {
		t.Fatalf("files %+v, want the chart in the digest's thread %s", files, msg.TS)
	}
	img, err := png.Decode(bytes.NewReader(files[0].Bytes))
	if err != nil {
		t.Fatalf("the chart is not a PNG: %v", err)
	}
	if got := img.Bounds().Size(); got != image.Pt(chart.Width, chart.Height) {
		t.Errorf("chart %v, want %dx%d", got, chart.Width, chart.Height)
	}
	if v := fake.Violations(); len(v) > 0 {
		t.Errorf("violations: %v", v)
	}
}
