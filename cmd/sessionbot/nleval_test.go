package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sessionbot/sessionbot/bot"
	"github.com/sessionbot/sessionbot/bot/slacktest"
	"github.com/sessionbot/sessionbot/commands/nl/nltest"
	"github.com/sessionbot/sessionbot/vendors/qlik/qliktest"
)

// TestNLEvalRunsAgainstAModel runs `sessionbot nl-eval` against the fake
// OpenAI-compatible server: one phrasing it gets right, one it gets wrong.
func TestNLEvalRunsAgainstAModel(t *testing.T) {
	model := modelAnswering(t, map[string]string{
		"who is logged in as marc on qlik prod":  `"verb":"list","user":"marc","targets":["qlik-prod"]`,
		"kick jsmith out of commvault please ok": `"verb":"list","user":"jsmith","targets":["commvault"]`,
	})
	dir := t.TempDir()
	cases := filepath.Join(dir, "cases.yaml")
	os.WriteFile(cases, []byte(`
- text: who is logged in as marc on qlik prod
  want: list marc on qlik-prod
- text: kick jsmith out of commvault please ok
  want: logout jsmith on commvault
`), 0o600)
	config := filepath.Join(dir, "sessionbot.yaml")
	os.WriteFile(config, []byte("language:\n  base_url: "+model.BaseURL()+"\n  api_key: sk-test-key\n  model: gpt-test\n"), 0o600)
	out, err := runCLI(t, "nl-eval", "--config", config, "--cases", cases)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "1/2") || !strings.Contains(out, "50.0%") {
		t.Errorf("nl-eval output lacks the accuracy:\n%s", out)
	}
	if strings.Contains(out, "sk-test-key") {
		t.Error("nl-eval printed the API key")
	}
}

// modelAnswering is a fake model that answers each text with a tool call
// of the arguments given for it (as toolArgs completes them).
func modelAnswering(t *testing.T, calls map[string]string) *nltest.Server {
	model := nltest.New("sk-test-key")
	t.Cleanup(model.Close)
	answers := map[string]nltest.Answer{}
	for text, set := range calls {
		answers[text] = nltest.Call(toolArgs(set))
	}
	model.ByText(answers)
	return model
}

// toolArgs completes the model's tool arguments: the strict schema makes
// every field required.
func toolArgs(set string) string {
	var fields map[string]any
	json.Unmarshal([]byte("{"+set+"}"), &fields)
	all := map[string]any{"verb": "", "user": "", "all_users": false, "session_id": "", "targets": []string{},
		"since": "", "until": "", "reason": "", "request_id": "", "audit_target": "", "topic": "", "unsure": false, "clarification": ""}
	for k, v := range fields {
		all[k] = v
	}
	b, _ := json.Marshal(all)
	return string(b)
}

// TestPlainWordsOverSlack: a mention and an unparsable slash command reach
// the model; a read-only answer runs and says what it was understood as, a
// kill is only shown back for confirmation.
func TestPlainWordsOverSlack(t *testing.T) {
	model := modelAnswering(t, map[string]string{
		"who is logged in as Domain\\Marc on qlik prod":                       `"verb":"list","user":"Domain\\Marc","targets":["qlik-prod"]`,
		"kick Domain\\Marc out, session 7b8ab85e-0c85-4fcb-8e56-4ead683153fb": `"verb":"kill","session_id":"7b8ab85e-0c85-4fcb-8e56-4ead683153fb","targets":["qlik-prod"]`,
	})
	w := newWorld(t, "")
	cfg, _ := os.ReadFile(w.config)
	cfg = append(cfg, []byte("language:\n  enabled: true\n  base_url: "+model.BaseURL()+"\n  api_key: sk-test-key\n  model: gpt-test\n")...)
	os.WriteFile(w.config, cfg, 0o600)
	w.start(t, 1)

	w.slack.SendAppMention(oncall, "C0OPS", `who is logged in as Domain\Marc on qlik prod`)
	answer := waitPost(t, w.slack, func(p slacktest.Post) bool { return p.Method == "chat.postEphemeral" && p.User == oncall })
	for _, want := range []string{"I understood", `list Domain\\Marc on qlik-prod`, qliktest.MarcSessionOnProxy0} {
		if !strings.Contains(string(answer.Blocks), want) {
			t.Errorf("mention answer lacks %s: %s", want, answer.Blocks)
		}
	}

	got := w.command(t, oncall, "kick Domain\\Marc out, session 7b8ab85e-0c85-4fcb-8e56-4ead683153fb")
	blocks := string(got[0].Blocks)
	if !strings.Contains(blocks, "kill 7b8ab85e-0c85-4fcb-8e56-4ead683153fb on qlik-prod") || !strings.Contains(blocks, bot.ActionUnderstood) {
		t.Errorf("a translated kill is not shown back for confirmation: %s", blocks)
	}
	if w.site.Deletes() != 0 {
		t.Error("a translated kill deleted something")
	}
}
