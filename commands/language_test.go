package commands

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sessionbot/sessionbot/vendors"
)

// scripted answers every translation with the same typed text or error.
type scripted struct {
	typed string
	err   error
	calls int
}

func (s *scripted) Translate(context.Context, string, Caller, time.Time) (string, error) {
	s.calls++
	return s.typed, s.err
}

func TestInterpret(t *testing.T) {
	prod := &memInstance{name: "qlik-prod", typ: vendors.Qlik, sessions: []vendors.Session{marcSession("a", "qps1")}}
	tests := []struct {
		name           string
		text           string
		translator     *scripted
		wantCalls      int
		wantUnderstood string
		wantConfirm    bool
		wantSessions   int
		wantProblem    string
	}{
		{"typed grammar never reaches the model", `list CORP\marc`, &scripted{typed: "vendors"}, 0, "", false, 1, ""},
		{"a read-only translation runs and says how it was understood", "who is logged in as marc on qlik?", &scripted{typed: `list CORP\marc on qlik-prod`}, 1, `list CORP\marc on qlik-prod`, false, 1, ""},
		{"a kill is only shown back", "kick marc out", &scripted{typed: "kill a on qlik-prod reason asked"}, 1, "kill a on qlik-prod reason asked", true, 0, ""},
		{"an approval is only shown back", "approve that one", &scripted{typed: "approve R7K2M9QX"}, 1, "approve R7K2M9QX", true, 0, ""},
		{"a refusal says why and offers the closest form", "do the thing", &scripted{err: &Refusal{Reason: "it is ambiguous", Closest: "list CORP\\marc"}}, 1, "", false, 0, "it is ambiguous"},
		{"a model failure is a friendly refusal", "who is on qlik", &scripted{err: errors.New("429 Too Many Requests")}, 1, "", false, 0, "couldn't turn that into a command"},
		{"translator output the grammar refuses is refused", "hmm", &scripted{typed: "kill all sessions now"}, 1, "", false, 0, "not a valid command"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg, _ := vendors.NewRegistry(prod)
			svc := New(Config{Registry: reg, Translator: tt.translator, Clock: func() time.Time { return now },
				Options: map[string]InstanceOptions{"qlik-prod": {Timeout: time.Second}}})
			r := svc.Interpret(context.Background(), Caller{ChatID: "U1"}, tt.text)
			if tt.translator.calls != tt.wantCalls {
				t.Errorf("translator called %d times, want %d", tt.translator.calls, tt.wantCalls)
			}
			if r.Understood != tt.wantUnderstood || r.NeedsConfirmation != tt.wantConfirm {
				t.Errorf("understood %q confirm %v, want %q %v", r.Understood, r.NeedsConfirmation, tt.wantUnderstood, tt.wantConfirm)
			}
			if r.SessionCount() != tt.wantSessions {
				t.Errorf("%d sessions, want %d", r.SessionCount(), tt.wantSessions)
			}
			if tt.wantProblem != "" && (r.Problem == nil || !strings.Contains(r.Problem.Message, tt.wantProblem)) {
				t.Errorf("problem = %+v, want %q", r.Problem, tt.wantProblem)
			}
		})
	}
}

func TestInterpretWithoutTranslatorIsTheGrammar(t *testing.T) {
	reg, _ := vendors.NewRegistry()
	r := New(Config{Registry: reg}).Interpret(context.Background(), Caller{}, "who is logged in?")
	if r.Problem == nil || !r.Problem.ShowUsage || r.Understood != "" {
		t.Errorf("reply = %+v", r.Problem)
	}
}
