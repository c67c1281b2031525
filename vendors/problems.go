package vendors

import (
	"fmt"
	"strconv"
	"strings"
)

// ConfigProblem is one thing wrong with an instance's settings, under the
// key it belongs to, so that the caller can name the key without reading
// the message.
type ConfigProblem struct {
	// Key is the setting as written in the instance's block ("cert_file").
	Key string
	// Value is the value found, for the report; empty for secrets and for
	// values that are missing.
	Value string
	// Problem says what is wrong, without the key or the value.
	Problem string
	// Fix says what to do, when the problem alone does not.
	Fix string
	// Err is the cause, for errors.Is (fs.ErrNotExist, say).
	Err error
}

func (p ConfigProblem) Error() string {
	var b strings.Builder
	b.WriteString(p.Key)
	if p.Value != "" {
		b.WriteString(" " + strconv.Quote(p.Value))
	}
	b.WriteString(": " + p.Problem)
	if p.Fix != "" {
		b.WriteString("; " + p.Fix)
	}
	return b.String()
}

func (p ConfigProblem) Unwrap() error { return p.Err }

// ConfigProblems is every problem an adapter found in one instance's
// settings. Adapters return it (wrapped) from New; errors.As finds it.
type ConfigProblems []ConfigProblem

func (ps ConfigProblems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap gives each problem to errors.Is and errors.As.
func (ps ConfigProblems) Unwrap() []error {
	out := make([]error, len(ps))
	for i, p := range ps {
		out[i] = p
	}
	return out
}

// Add appends a problem with a formatted message.
func (ps *ConfigProblems) Add(key, value, fix, format string, args ...any) {
	*ps = append(*ps, ConfigProblem{Key: key, Value: value, Problem: fmt.Sprintf(format, args...), Fix: fix})
}
