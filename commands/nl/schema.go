package nl

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/sashabaranov/go-openai/jsonschema"
)

// toolName is the one tool the model may call.
const toolName = "sessions_command"

const toolDescription = "Propose exactly one sessionbot command that says what the person asked for. " +
	"It is only a proposal: it is shown to the person, and ending sessions also needs their confirmation and other people's approval. " +
	"Fill every field; use \"\", false or [] for fields the command does not take. " +
	"If the request is ambiguous, lacks something the command needs, or asks for something no command does, set unsure to true and say what is missing in clarification instead of guessing."

// arguments is the tool's parameters: the typed grammar, field by field.
// Every field is required (strict mode wants that); empty means not given.
type arguments struct {
	Verb          string   `json:"verb" enum:"list,show,kill,logout,vendors,pending,audit,help,approve,deny" description:"list: a person's sessions (user) or every session of one instance (all_users). show: one session by id. kill: ask to end one session by its id. logout: ask to end every session of one person on one instance. vendors: the configured instances. pending: requests waiting for approval. audit: the audit log. help: the command summary. approve / deny: decide on an approval request by its id."`
	User          string   `json:"user" description:"The person, exactly as written: DIR\\user, DIR/user, user@domain, a mention @U123ABC, or a bare name like jsmith. One token, no spaces. Never add a directory or domain the person did not write. For list, logout, and optionally kill."`
	AllUsers      bool     `json:"all_users" description:"list only: every session on one instance (exactly one target) instead of one person's."`
	SessionID     string   `json:"session_id" description:"show and kill: the session id exactly as written in the request. Never invent one."`
	Targets       []string `json:"targets" description:"Where: instance names or vendor types. Empty means every instance. kill: at most one; logout and list all_users: exactly one instance."`
	Since         string   `json:"since" description:"list of a person only: start of the time window as an absolute RFC3339 UTC time like 2026-11-22T13:00:00Z, resolved from the current date, time and the requester's time zone."`
	Until         string   `json:"until" description:"list of a person only: end of the time window, absolute RFC3339 UTC, or empty for now."`
	Reason        string   `json:"reason" description:"kill, logout and deny: why, in the person's words."`
	RequestID     string   `json:"request_id" description:"approve and deny: the approval request id exactly as written, like R7K2M9QX. Never invent one."`
	AuditTarget   string   `json:"audit_target" description:"audit only, optional: one person, session id or request id to narrow the log to."`
	Topic         string   `json:"topic" enum:",list,show,kill,logout,vendors,pending,audit,help,approve,deny" description:"help only, optional: the command to explain."`
	Unsure        bool     `json:"unsure" description:"true when the request is ambiguous or incomplete, or is not a sessionbot request: never guess."`
	Clarification string   `json:"clarification" description:"When unsure: what is missing or ambiguous, in one short sentence to the person."`
}

// toolSchema describes the arguments, with the targets an enum of the
// configured instance names and their vendor types, so the model cannot name
// anything else (a URL, say).
func toolSchema(instances []InstanceInfo) (*jsonschema.Definition, error) {
	def, err := jsonschema.GenerateSchemaForType(arguments{})
	if err != nil {
		return nil, err
	}
	def.Defs = nil
	targets, ok := def.Properties["targets"]
	if !ok || targets.Items == nil {
		return nil, fmt.Errorf("the schema has no targets array")
	}
	items := *targets.Items
	items.Enum = targetNames(instances)
	targets.Items = &items
	def.Properties["targets"] = targets
	return def, nil
}

// targetNames are the instance names in configuration order, then the
// vendor types they have, each once.
func targetNames(instances []InstanceInfo) []string {
	var out []string
	seen := map[string]bool{}
	add := func(s string) {
		if s != "" && !seen[strings.ToLower(s)] {
			seen[strings.ToLower(s)] = true
			out = append(out, s)
		}
	}
	for _, in := range instances {
		add(in.Name)
	}
	for _, in := range instances {
		add(string(in.Type))
	}
	return out
}

// decodeArguments checks the model's JSON against the schema before
// anything reads it, then refuses keys the schema does not name: the
// validator ignores them, and encoding/json would match "Verb" to verb,
// letting a second key override the one that was checked.
func decodeArguments(schema jsonschema.Definition, raw string) (arguments, error) {
	var a arguments
	if err := jsonschema.VerifySchemaAndUnmarshal(schema, []byte(raw), &a); err != nil {
		return arguments{}, err
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal([]byte(raw), &fields); err != nil {
		return arguments{}, err
	}
	for k := range fields {
		if _, ok := schema.Properties[k]; !ok {
			return arguments{}, fmt.Errorf("unknown field %.40q", k)
		}
	}
	return a, nil
}
