package bot

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"
)

// RequiredScopes are the bot token scopes the bot uses; manifest.yaml asks
// for exactly these (a test holds them together).
var RequiredScopes = []string{
	"commands", "chat:write", "users:read", "users:read.email", "usergroups:read",
	"channels:read", "groups:read", "app_mentions:read", "im:history", "files:write",
}

// ProbeConfig is what Probe checks.
type ProbeConfig struct {
	BotToken, AppToken string
	// APIURL is Slack's Web API base; empty means Slack's own.
	APIURL string
	// Channels are the channels the bot must be a member of, each under the
	// config key that names it.
	Channels []KeyedChannel
	// HTTPClient makes the calls; nil means one with a 15 s timeout.
	HTTPClient *http.Client
}

// KeyedChannel is a channel id and the config key it was written under.
type KeyedChannel struct{ Key, ID string }

// ProbeResult is one check of Slack's side of the setup.
type ProbeResult struct {
	// Check names what was checked ("bot token", "channel C0APPROVALS").
	Check string
	// Key is the config key an operator changes to fix a problem.
	Key  string
	Took time.Duration
	// Detail is what was found when all is well.
	Detail string
	// Problem is what is wrong; empty when all is well.
	Problem string
	Fix     string
}

// Probe checks the tokens (auth.test, and apps.connections.open without
// dialing the socket), the bot token's scopes against RequiredScopes, and
// that the bot is a member of each channel, one result each.
func Probe(ctx context.Context, cfg ProbeConfig) []ProbeResult {
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 15 * time.Second}
	}
	var (
		mu     sync.Mutex
		scopes *string
	)
	opts := []slack.Option{
		slack.OptionAppLevelToken(cfg.AppToken),
		slack.OptionHTTPClient(cfg.HTTPClient),
		slack.OptionOnResponseHeaders(func(path string, h http.Header) {
			if strings.HasSuffix(path, "auth.test") {
				if v, ok := h["X-Oauth-Scopes"]; ok {
					mu.Lock()
					joined := strings.Join(v, ",")
					scopes = &joined
					mu.Unlock()
				}
			}
		}),
	}
	if cfg.APIURL != "" {
		opts = append(opts, slack.OptionAPIURL(cfg.APIURL))
	}
	api := slack.New(cfg.BotToken, opts...)
	var out []ProbeResult

	started := time.Now()
	auth, err := api.AuthTestContext(ctx)
	r := ProbeResult{Check: "bot token (auth.test)", Key: "slack.bot_token", Took: time.Since(started)}
	botOK := err == nil
	if err != nil {
		r.Problem, r.Fix = slackProblem(err, "bot token")
		if !isAuthError(err) {
			r.Key = "slack.api_url"
		}
	} else {
		r.Detail = fmt.Sprintf("workspace %s, bot user %s", auth.Team, auth.UserID)
	}
	out = append(out, r)

	if botOK {
		mu.Lock()
		got := scopes
		mu.Unlock()
		r := ProbeResult{Check: "bot token scopes", Key: "slack.bot_token"}
		switch missing := missingScopes(got); {
		case got == nil:
			r.Detail = "Slack did not list the token's scopes; not checked"
		case len(missing) > 0:
			r.Problem = "lacks the scopes " + strings.Join(missing, ", ")
			r.Fix = "add them under OAuth & Permissions (manifest.yaml lists them), reinstall the app and copy the new bot token"
		default:
			r.Detail = "has " + strings.Join(RequiredScopes, ", ")
		}
		out = append(out, r)
	}

	started = time.Now()
	_, _, err = api.StartSocketModeContext(ctx)
	r = ProbeResult{Check: "app token (apps.connections.open)", Key: "slack.app_token", Took: time.Since(started)}
	if err != nil {
		r.Problem, r.Fix = slackProblem(err, "app-level token")
		if err.Error() == "not_allowed_token_type" {
			r.Fix = "an app-level token (Basic Information → App-Level Tokens) with connections:write starts with xapp-"
		}
	} else {
		r.Detail = "Socket Mode connection offered (not opened)"
	}
	out = append(out, r)

	if !botOK {
		return out
	}
	seen := map[string]bool{}
	for _, ch := range cfg.Channels {
		if ch.ID == "" || seen[ch.Key+ch.ID] {
			continue
		}
		seen[ch.Key+ch.ID] = true
		started := time.Now()
		info, err := api.GetConversationInfoContext(ctx, &slack.GetConversationInfoInput{ChannelID: ch.ID})
		r := ProbeResult{Check: "bot in channel " + ch.ID, Key: ch.Key, Took: time.Since(started)}
		const invite = "invite the bot: /invite @sessionbot in that channel"
		switch {
		case err != nil && err.Error() == "channel_not_found":
			r.Problem = "the bot cannot see this channel: it does not exist, or it is private and the bot is not in it"
			r.Fix = "check the id, then " + invite
		case err != nil:
			r.Problem, r.Fix = slackProblem(err, "bot token")
		case !info.IsMember:
			r.Problem = "the bot is not a member of #" + info.Name + ", so it cannot post there"
			r.Fix = invite
		default:
			r.Detail = "member of #" + info.Name
		}
		out = append(out, r)
	}
	return out
}

func missingScopes(header *string) []string {
	if header == nil {
		return nil
	}
	have := map[string]bool{}
	for _, s := range strings.Split(*header, ",") {
		have[strings.TrimSpace(s)] = true
	}
	var missing []string
	for _, s := range RequiredScopes {
		if !have[s] {
			missing = append(missing, s)
		}
	}
	return slices.Clip(missing)
}

func isAuthError(err error) bool {
	switch err.Error() {
	case "invalid_auth", "not_authed", "token_revoked", "account_inactive", "token_expired", "not_allowed_token_type":
		return true
	}
	return false
}

// slackProblem says in words what a failed call means and what to do.
func slackProblem(err error, which string) (problem, fix string) {
	var rl *slack.RateLimitedError
	switch {
	case errors.As(err, &rl):
		return "Slack is rate limiting the bot", "run the check again in a minute"
	case err.Error() == "token_revoked":
		return "Slack says the " + which + " was revoked", "reinstall the app in the workspace and use the new token"
	case err.Error() == "account_inactive":
		return "Slack says the app or its workspace is no longer active (account_inactive)", "reinstall the app and use the new token"
	case isAuthError(err):
		return fmt.Sprintf("Slack refused the %s (%s)", which, err), "copy the token again from the app's settings at api.slack.com/apps"
	}
	return "Slack could not be asked: " + err.Error(), "check slack.api_url and that this host reaches it (proxy, firewall)"
}
