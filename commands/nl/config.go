package nl

import (
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/sessionbot/sessionbot/vendors"
)

// Defaults for what the configuration leaves out.
const (
	DefaultBaseURL         = "https://api.openai.com/v1"
	DefaultTimeout         = 8 * time.Second
	DefaultMaxTokens       = 300
	DefaultAzureAPIVersion = "2024-10-21" // the first GA version with tool_choice "required" and strict schemas
)

// Config is the language front end's configuration (the "nl" block).
type Config struct {
	Enabled bool `mapstructure:"enabled"`
	// BaseURL is any OpenAI-compatible server ending in its API root
	// (https://api.openai.com/v1, http://127.0.0.1:8000/v1), or with Azure
	// the resource endpoint (https://NAME.openai.azure.com).
	BaseURL string `mapstructure:"base_url"`
	// Azure selects Azure OpenAI: api-key header, deployment URLs and
	// APIVersion. Model is then the deployment's name.
	Azure      bool   `mapstructure:"azure"`
	APIVersion string `mapstructure:"api_version"`
	// APIKey is resolved from the environment or a file by the caller. It
	// is never logged or put in an error.
	APIKey      string        `mapstructure:"api_key"`
	Model       string        `mapstructure:"model"`
	Timeout     time.Duration `mapstructure:"timeout"`
	MaxTokens   int           `mapstructure:"max_tokens"`
	Temperature float32       `mapstructure:"temperature"`
}

func (c Config) withDefaults() Config {
	if c.BaseURL == "" && !c.Azure {
		c.BaseURL = DefaultBaseURL
	}
	if c.Azure && c.APIVersion == "" {
		c.APIVersion = DefaultAzureAPIVersion
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.MaxTokens == 0 {
		c.MaxTokens = DefaultMaxTokens
	}
	return c
}

// Validate lists every problem with the configuration at once, after
// defaults are applied, as vendors.ConfigProblems keyed by the setting.
func (c Config) Validate() error {
	c = c.withDefaults()
	var problems vendors.ConfigProblems
	if c.Model == "" {
		if c.Azure {
			problems.Add("model", "", "with azure it is the deployment's name", "is empty")
		} else {
			problems.Add("model", "", "name the model to ask, such as gpt-4o-mini", "is empty")
		}
	}
	if modelFamily(c.Model) == responsesOnly {
		problems.Add("model", c.Model, "pick another model", "calls tools only through the Responses API, which this front end does not use")
	}
	if c.BaseURL == "" {
		problems.Add("base_url", "", "with azure it is the resource endpoint, https://NAME.openai.azure.com", "is empty")
	} else if u, err := url.Parse(c.BaseURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		problems.Add("base_url", c.BaseURL, "an http(s) URL such as https://api.openai.com/v1", "is not an http(s) URL")
	} else if u.User != nil {
		problems.Add("base_url", "", "put the key in api_key", "must not carry credentials")
	}
	if c.APIKey == "" && (c.Azure || strings.HasPrefix(c.BaseURL, DefaultBaseURL)) {
		problems.Add("api_key", "", "set api_key, api_key_file or SESSIONBOT_LANGUAGE_API_KEY", "is empty: the service at %s needs one", c.BaseURL)
	}
	if c.Timeout < 0 {
		problems.Add("timeout", c.Timeout.String(), "a positive duration such as 8s", "is negative")
	}
	if c.MaxTokens < 0 {
		problems.Add("max_tokens", fmt.Sprint(c.MaxTokens), "use 300", "is negative")
	} else if c.MaxTokens < 100 {
		problems.Add("max_tokens", fmt.Sprint(c.MaxTokens), "use 300", "is too few for one command")
	}
	if c.Temperature < 0 || c.Temperature > 2 {
		problems.Add("temperature", fmt.Sprint(c.Temperature), "0 is best for translation", "is outside 0..2")
	}
	if len(problems) == 0 {
		return nil
	}
	return fmt.Errorf("nl: %w", problems)
}

// LogValue keeps the API key out of logs when the configuration is logged.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.Bool("enabled", c.Enabled),
		slog.String("base_url", c.BaseURL),
		slog.Bool("azure", c.Azure),
		slog.String("api_version", c.APIVersion),
		slog.Bool("api_key_set", c.APIKey != ""),
		slog.String("model", c.Model),
		slog.Duration("timeout", c.Timeout),
		slog.Int("max_tokens", c.MaxTokens),
		slog.Float64("temperature", float64(c.Temperature)),
	)
}

// String is LogValue for fmt: no key.
func (c Config) String() string { return c.LogValue().String() }
