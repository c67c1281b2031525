package bot_test

import (
	"os"
	"slices"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/sessionbot/sessionbot/bot"
	"github.com/sessionbot/sessionbot/bot/slacktest"
)

// The scopes the check demands are the ones the app manifest asks for.
func TestRequiredScopesMatchTheManifest(t *testing.T) {
	raw, err := os.ReadFile("../manifest.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		OAuth struct {
			Scopes struct {
				Bot []string `yaml:"bot"`
			} `yaml:"scopes"`
		} `yaml:"oauth_config"`
	}
	if err := yaml.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	got, want := slices.Sorted(slices.Values(m.OAuth.Scopes.Bot)), slices.Sorted(slices.Values(bot.RequiredScopes))
	if !slices.Equal(got, want) {
		t.Errorf("manifest.yaml asks for %v, the check requires %v", got, want)
	}
}

func TestProbe(t *testing.T) {
	const botToken, appToken = "xoxb-probe", "xapp-probe"
	tests := []struct {
		name     string
		scopes   []string
		revoke   string
		appToken string
		// problems maps each key that must have a problem; others must be fine.
		problems []string
	}{
		{name: "all well", scopes: bot.RequiredScopes},
		{name: "a revoked bot token", scopes: bot.RequiredScopes, revoke: botToken, problems: []string{"slack.bot_token"}},
		{name: "a missing scope", scopes: bot.RequiredScopes[1:], problems: []string{"slack.bot_token"}},
		{name: "the bot token where the app token goes", scopes: bot.RequiredScopes, appToken: botToken, problems: []string{"slack.app_token"}},
		{name: "channels the bot is not in or cannot see", scopes: bot.RequiredScopes, problems: []string{"approvals.channel", "access.audit_channel"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			channels := map[string][]string{"C0APPROVALS": {slacktest.BotUserID, "U1"}}
			keyed := []bot.KeyedChannel{{Key: "approvals.channel", ID: "C0APPROVALS"}}
			if slices.Contains(tt.problems, "approvals.channel") {
				channels["C0APPROVALS"] = []string{"U1"}
				keyed = append(keyed, bot.KeyedChannel{Key: "access.audit_channel", ID: "C0GONE"})
			}
			srv := slacktest.New(slacktest.Options{BotToken: botToken, AppToken: appToken, Scopes: tt.scopes, Channels: channels})
			defer srv.Close()
			if tt.revoke != "" {
				srv.Revoke(tt.revoke)
			}
			app := appToken
			if tt.appToken != "" {
				app = tt.appToken
			}
			results := bot.Probe(t.Context(), bot.ProbeConfig{BotToken: botToken, AppToken: app, APIURL: srv.APIURL(), Channels: keyed})
			bad := map[string]bool{}
			for _, r := range results {
				if r.Problem != "" {
					bad[r.Key] = true
					if r.Fix == "" {
						t.Errorf("%s: a problem without a fix: %s", r.Check, r.Problem)
					}
				}
			}
			for _, k := range tt.problems {
				if !bad[k] {
					t.Errorf("no problem under %s in %+v", k, results)
				}
				delete(bad, k)
			}
			if len(bad) > 0 {
				t.Errorf("unexpected problems %v in %+v", bad, results)
			}
			if srv.Connections() != 0 {
				t.Errorf("the probe kept %d sockets open", srv.Connections())
			}
		})
	}
}
