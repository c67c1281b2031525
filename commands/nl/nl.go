// Package nl reads requests written in plain English ("kick jsmith out of
// commvault") through an OpenAI-compatible language model.
//
// The model only translates. It may answer with one call of one tool whose
// schema is the typed grammar; the arguments are checked against that
// schema, each value is checked on its own, the result is written out as a
// typed command and parsed by commands.Parse like anything a person types.
// Nothing here runs a command: a kill, logout, approve or deny comes back
// marked Destructive so the bot asks the person to confirm it, and the
// approval flow follows as for typed text. Anything the model got wrong,
// left out or was unsure of is a Refusal, never a guess.
package nl

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sashabaranov/go-openai"

	"github.com/sessionbot/sessionbot/commands"
	"github.com/sessionbot/sessionbot/vendors"
)

// InstanceInfo is one configured instance as the model may name it.
type InstanceInfo struct {
	Name string       `yaml:"name"`
	Type vendors.Type `yaml:"type"`
}

// InstancesOf lists a registry's instances in configuration order.
func InstancesOf(r *vendors.Registry) []InstanceInfo {
	var out []InstanceInfo
	for _, in := range r.All() {
		out = append(out, InstanceInfo{Name: in.Name(), Type: in.Type()})
	}
	return out
}

// Request is one plain-English request and what the model needs to read it.
type Request struct {
	Text      string
	Instances []InstanceInfo
	// Now anchors relative times ("yesterday afternoon"); zero means the
	// translator's clock.
	Now time.Time
	// TimeZone is the requester's, from the chat's directory; nil means UTC.
	TimeZone *time.Location
	// RequesterID is the chat's id of the person, for logs only: it is not sent to
	// the model.
	RequesterID string
}

// Result is what a request was understood as.
type Result struct {
	// Command is what commands.Parse made of Typed.
	Command commands.Command
	// Typed is the command in the typed grammar, to show the person.
	Typed string
	// Destructive is set for kill, logout, approve and deny: the person
	// must confirm before anything is asked for.
	Destructive bool
}

// Refusal is "I couldn't turn that into a command", with why, in words a
// person can act on. It wraps the underlying cause (a model error, a bad
// argument) for logs; the cause never holds the API key.
type Refusal struct {
	Reason  string // a sentence fragment: "the language model did not answer within 8s"
	Closest string // the closest typed command, when there is one
	cause   error
}

// grammarPointer sends the person back to the typed grammar, which always
// works.
const grammarPointer = "Type the command instead: `/sessions help` lists every form."

func (r *Refusal) Error() string {
	msg := "I couldn't turn that into a command: " + r.Reason + "."
	if r.Closest != "" {
		msg += " The closest command is `" + r.Closest + "`."
	}
	return msg + " " + grammarPointer
}

// Unwrap gives the cause to errors.Is and errors.As.
func (r *Refusal) Unwrap() error { return r.cause }

func refuse(cause error, format string, args ...any) *Refusal {
	return &Refusal{Reason: fmt.Sprintf(format, args...), cause: cause}
}

// Translator asks a language model what a plain-English request means.
// It is safe for concurrent use.
type Translator struct {
	cfg    Config
	client *openai.Client
	logger *slog.Logger
	now    func() time.Time
}

// New checks the configuration and makes a Translator. httpClient may be nil;
// the time limit comes from cfg.Timeout, not from the client.
func New(cfg Config, httpClient *http.Client, logger *slog.Logger) (*Translator, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if httpClient == nil {
		httpClient = &http.Client{}
	}
	if logger == nil {
		logger = slog.Default()
	}
	var oc openai.ClientConfig
	if cfg.Azure {
		oc = openai.DefaultAzureConfig(cfg.APIKey, cfg.BaseURL)
		oc.APIVersion = cfg.APIVersion
		// The configured model is the deployment's name, as it is in the
		// Azure portal: no rewriting.
		oc.AzureModelMapperFunc = func(model string) string { return model }
	} else {
		oc = openai.DefaultConfig(cfg.APIKey)
		oc.BaseURL = cfg.BaseURL
	}
	oc.HTTPClient = httpClient
	if u, _ := url.Parse(cfg.BaseURL); u.Scheme == "http" && cfg.APIKey != "" && !loopback(u.Hostname()) {
		logger.Warn("the language model API key is sent without TLS", "base_url", cfg.BaseURL)
	}
	return &Translator{cfg: cfg, client: openai.NewClientWithConfig(oc), logger: logger, now: time.Now}, nil
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Translate asks the model what req.Text means and turns its answer into a
// command. Every failure is a *Refusal.
func (t *Translator) Translate(ctx context.Context, req Request) (Result, error) {
	if req.Now.IsZero() {
		req.Now = t.now()
	}
	if req.TimeZone == nil {
		req.TimeZone = time.UTC
	}
	text := strings.TrimSpace(req.Text)
	switch {
	case text == "":
		return Result{}, refuse(nil, "there was nothing to translate")
	case utf8.RuneCountInString(text) > commands.MaxCommandLength:
		return Result{}, refuse(nil, "the request is %d characters long; the longest read is %d", utf8.RuneCountInString(text), commands.MaxCommandLength)
	}
	req.Text = text
	log := t.logger.With("requester", req.RequesterID)

	started := time.Now()
	args, refusal := t.ask(ctx, req)
	if refusal != nil {
		log.Warn("language model gave no usable answer", "reason", refusal.Reason, "error", refusal.cause, "latency", time.Since(started))
		return Result{}, refusal
	}
	res, refusal := understand(args, req)
	if refusal != nil {
		log.Info("language model answer refused", "reason", refusal.Reason, "closest", refusal.Closest, "error", refusal.cause)
		return Result{}, refusal
	}
	log.Info("request translated", "typed", res.Typed, "destructive", res.Destructive, "latency", time.Since(started))
	return res, nil
}

// ask sends one chat completion and returns the single tool call's
// arguments, checked against the schema.
func (t *Translator) ask(ctx context.Context, req Request) (arguments, *Refusal) {
	schema, err := toolSchema(req.Instances)
	if err != nil {
		return arguments{}, refuse(err, "the command schema could not be built")
	}
	ctx, cancel := context.WithTimeout(ctx, t.cfg.Timeout)
	defer cancel()
	resp, err := t.client.CreateChatCompletion(ctx, t.chatRequest(req, schema))
	if err != nil {
		return arguments{}, t.modelFailure(ctx, err)
	}
	raw, refusal := soleToolCall(resp)
	if refusal != nil {
		return arguments{}, refusal
	}
	args, err := decodeArguments(*schema, raw)
	if err != nil {
		return arguments{}, refuse(fmt.Errorf("tool arguments %.300q: %w", raw, err), "the language model's answer did not fit the command schema")
	}
	return args, nil
}

func (t *Translator) chatRequest(req Request, schema any) openai.ChatCompletionRequest {
	cr := openai.ChatCompletionRequest{
		Model: t.cfg.Model,
		Messages: []openai.ChatCompletionMessage{
			{Role: openai.ChatMessageRoleSystem, Content: systemPrompt(req.Instances, req.Now, req.TimeZone)},
			// The person's words go here and nowhere else: the system
			// prompt tells the model they are data.
			{Role: openai.ChatMessageRoleUser, Content: req.Text},
		},
		Tools: []openai.Tool{{Type: openai.ToolTypeFunction, Function: &openai.FunctionDefinition{
			Name:        toolName,
			Description: toolDescription,
			Strict:      true,
			Parameters:  schema,
		}}},
		ToolChoice:        "required",
		ParallelToolCalls: false,
	}
	switch modelFamily(t.cfg.Model) {
	case reasoningFamily:
		// o-series and gpt-5 models refuse max_tokens and any temperature
		// but their own.
		cr.MaxCompletionTokens = t.cfg.MaxTokens
		return cr
	case gpt6Family:
		// Tool calls through chat completions need reasoning off.
		cr.ReasoningEffort = openai.ReasoningEffortNone
		cr.MaxCompletionTokens = t.cfg.MaxTokens
	default:
		//lint:ignore SA1019 most OpenAI-compatible servers know only max_tokens
		cr.MaxTokens = t.cfg.MaxTokens
	}
	cr.Temperature = t.cfg.Temperature
	if cr.Temperature == 0 {
		// go-openai omits a zero temperature, which servers read as their
		// default (1 at OpenAI): send the smallest one instead.
		cr.Temperature = minTemperature
	}
	return cr
}

// minTemperature is as close to 0 as a float32 gets without being omitted.
const minTemperature = 1e-45

type family int

const (
	chatFamily      family = iota // max_tokens and temperature
	reasoningFamily               // max_completion_tokens, no temperature
	gpt6Family                    // max_completion_tokens, reasoning effort "none"
	responsesOnly                 // tool calls only through the Responses API
)

// modelFamily follows the checks go-openai makes before sending: a request
// it would refuse never leaves.
func modelFamily(model string) family {
	switch model {
	case openai.GPT6Sol, openai.GPT6Luna:
		return gpt6Family
	case openai.GPT6Astra, openai.GPT6Dot1Sol:
		return responsesOnly
	}
	for _, p := range []string{"o1", "o3", "o4", "gpt-5"} {
		if strings.HasPrefix(model, p) {
			return reasoningFamily
		}
	}
	return chatFamily
}

// soleToolCall accepts exactly one call of our tool and nothing else.
func soleToolCall(resp openai.ChatCompletionResponse) (string, *Refusal) {
	if len(resp.Choices) == 0 {
		return "", refuse(errors.New("no choices in the answer"), "the language model gave an empty answer")
	}
	if len(resp.Choices) > 1 {
		return "", refuse(fmt.Errorf("%d choices in the answer", len(resp.Choices)), "the language model gave several answers")
	}
	choice := resp.Choices[0]
	msg := choice.Message
	calls := msg.ToolCalls
	switch {
	case choice.FinishReason == openai.FinishReasonLength:
		return "", refuse(errors.New("finish_reason length"), "the language model's answer was cut off")
	case len(calls) > 1:
		return "", refuse(fmt.Errorf("%d tool calls", len(calls)), "the language model proposed several commands at once; ask for one thing at a time")
	case len(calls) == 0 && msg.Refusal != "":
		return "", refuse(fmt.Errorf("model refusal: %.200q", msg.Refusal), "the language model declined to answer")
	case len(calls) == 0 && strings.TrimSpace(msg.Content) != "":
		return "", refuse(fmt.Errorf("text answer: %.200q", msg.Content), "the language model answered in prose instead of a command")
	case len(calls) == 0:
		return "", refuse(errors.New("no tool call and no text"), "the language model gave an empty answer")
	}
	call := calls[0]
	if call.Type != openai.ToolTypeFunction || call.Function.Name != toolName {
		return "", refuse(fmt.Errorf("tool call %q of type %q", call.Function.Name, call.Type), "the language model called a tool that does not exist")
	}
	if strings.TrimSpace(call.Function.Arguments) == "" {
		return "", refuse(errors.New("empty tool arguments"), "the language model gave an empty answer")
	}
	return call.Function.Arguments, nil
}

// modelFailure turns a failed call into a refusal that says what happened
// in the person's terms, keeping the cause (without the key) for logs.
func (t *Translator) modelFailure(ctx context.Context, err error) *Refusal {
	cause := t.redact(fmt.Errorf("%s %s: %w", t.where(), t.cfg.Model, err))
	var apiErr *openai.APIError
	var reqErr *openai.RequestError
	status := 0
	switch {
	case errors.As(err, &apiErr):
		status = apiErr.HTTPStatusCode
	case errors.As(err, &reqErr):
		status = reqErr.HTTPStatusCode
	}
	switch {
	case errors.Is(err, openai.ErrChatCompletionInvalidModel) || errors.Is(err, openai.ErrReasoningToolsRequireResponses) ||
		errors.Is(err, openai.ErrReasoningModelMaxTokensDeprecated) || errors.Is(err, openai.ErrReasoningSamplingUnsupported) ||
		errors.Is(err, openai.ErrReasoningEffortUnsupported) || errors.Is(err, openai.ErrReasoningModelLimitationsOther):
		return refuse(cause, "the configured language model %s cannot be asked this way; tell the bot's admins", t.cfg.Model)
	case errors.Is(err, context.Canceled):
		return refuse(cause, "the request was cancelled before the language model answered")
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded):
		return refuse(cause, "the language model did not answer within %s", t.cfg.Timeout)
	case status == http.StatusTooManyRequests:
		return refuse(cause, "the language model is busy (rate limited); try again in a minute")
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return refuse(cause, "the language model service refused the bot's credentials (HTTP %d); tell the bot's admins", status)
	case status >= 500:
		return refuse(cause, "the language model service failed (HTTP %d)", status)
	case status >= 400:
		return refuse(cause, "the language model service rejected the question (HTTP %d); tell the bot's admins", status)
	case status != 0:
		return refuse(cause, "the language model service answered with HTTP %d", status)
	}
	return refuse(cause, "the language model service could not be reached or gave an unreadable answer")
}

func (t *Translator) where() string {
	if t.cfg.Azure {
		return "azure openai " + t.cfg.BaseURL + " deployment"
	}
	return "language model " + t.cfg.BaseURL + " model"
}

// redact keeps the API key out of an error: some services quote the key
// they rejected ("Incorrect API key provided: sk-...").
func (t *Translator) redact(err error) error {
	key := t.cfg.APIKey
	if key == "" || !strings.Contains(err.Error(), key) {
		return err
	}
	// The chain below holds the key: cut it off rather than let errors.As
	// reach it.
	return errors.New(strings.ReplaceAll(err.Error(), key, "[redacted]"))
}
