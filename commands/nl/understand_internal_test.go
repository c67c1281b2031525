package nl

import (
	"testing"
	"time"
)

func TestContainsWordFindsWholeIDsOnly(t *testing.T) {
	tests := []struct {
		name, text, word string
		want             bool
	}{
		{"an id between words", "kill 4711 on commvault", "4711", true},
		{"an id at the end of a sentence", "please kill 4711.", "4711", true},
		{"an id before a colon and a space", "session 4711: stuck", "4711", true},
		{"the start of a GUID", "show 7b8ab85e-0c85-4fcb", "7b8ab85e", false},
		{"the end of a longer number", "kill 94711", "4711", false},
		{"an id followed by a dotted suffix", "kill 4711.2", "4711", false},
		{"an id seen a second time whole", "47110 or 4711", "4711", true},
		{"no id at all", "kill the stuck one", "4711", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := containsWord(tt.text, tt.word); got != tt.want {
				t.Errorf("containsWord(%q, %q) = %v, want %v", tt.text, tt.word, got, tt.want)
			}
		})
	}
}

func TestFormatWhenWritesTheShortestExactForm(t *testing.T) {
	tests := []struct {
		name string
		t    time.Time
		want string
	}{
		{"midnight is a date", time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC), "2026-11-22"},
		{"a minute is a short time", time.Date(2026, 11, 22, 11, 0, 0, 0, time.UTC), "2026-11-22T11:00Z"},
		{"seconds are kept", time.Date(2026, 11, 22, 11, 0, 30, 0, time.UTC), "2026-11-22T11:00:30Z"},
		{"another zone is written in UTC", time.Date(2026, 11, 22, 12, 0, 0, 0, time.FixedZone("CET", 3600)), "2026-11-22T11:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := formatWhen(tt.t); got != tt.want {
				t.Errorf("formatWhen(%v) = %q, want %q", tt.t, got, tt.want)
			}
		})
	}
}

// BenchmarkUnderstand measures the checks and the parse alone.
func BenchmarkUnderstand(b *testing.B) {
	req := Request{Text: "did ken's teams calls drop yesterday afternoon?", Instances: EvalInstances,
		Now: time.Date(2026, 11, 23, 19, 40, 0, 0, time.UTC), TimeZone: time.UTC}
	a := arguments{Verb: "list", User: "ken", Targets: []string{"teams"}, Since: "2026-11-22T11:00:00Z", Until: "2026-11-22T17:00:00Z"}
	b.ReportAllocs()
	for b.Loop() {
		if _, r := understand(a, req); r != nil {
			b.Fatal(r)
		}
	}
}
