package microsoft

import (
	"encoding/json"
	"testing"
	"time"
)

func TestSessionRowDecodesWhatPowerShellWrites(t *testing.T) {
	start := time.Date(2026, 11, 20, 9, 30, 15, 0, time.UTC)
	tests := []struct {
		name       string
		json       string
		wantStart  time.Time
		wantEnded  bool
		wantErrors int
	}{
		{
			name:      "worker.ps1's round-trip times with seven decimals",
			json:      `{"DialogId":"d1","StartTime":"2026-11-20T09:30:15.0000000Z","EndTime":"2026-11-20T09:31:15.0000000Z","ErrorReports":[]}`,
			wantStart: start, wantEnded: true,
		},
		{
			name:      "Windows PowerShell's /Date(ms)/ form with an offset",
			json:      `{"DialogId":"d1","StartTime":"\/Date(1795167015000+0100)\/","EndTime":null}`,
			wantStart: start,
		},
		{
			name:      "a single error report written as an object, with names in another case",
			json:      `{"dialogid":"d1","starttime":"2026-11-20T09:30:15Z","ErrorReports":{"ErrorCategory":"UnexpectedFailure"}}`,
			wantStart: start, wantErrors: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r sessionRow
			if err := json.Unmarshal([]byte(tt.json), &r); err != nil {
				t.Fatal(err)
			}
			if r.DialogID != "d1" || !r.StartTime.Equal(tt.wantStart) || r.EndTime.IsZero() == tt.wantEnded || len(r.ErrorReports) != tt.wantErrors {
				t.Fatalf("decoded %+v", r)
			}
		})
	}
}

func TestSessionRowRefusesTimesItCannotRead(t *testing.T) {
	var r sessionRow
	if err := json.Unmarshal([]byte(`{"StartTime":"20/11/2026 09:30"}`), &r); err == nil {
		t.Fatal("a day-first local time was accepted")
	}
}
