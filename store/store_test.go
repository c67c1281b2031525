package store_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/sessionbot/sessionbot/store"
)

func TestOnlyOutcomesAreFinal(t *testing.T) {
	for _, tc := range []struct {
		state store.State
		final bool
	}{
		{store.StatePending, false},
		{store.StateApproved, false},
		{store.StateExecuting, false},
		{store.StateDone, true},
		{store.StateFailed, true},
		{store.StateDenied, true},
		{store.StateExpired, true},
		{store.StateInterrupted, true},
		{store.StateUnknown, false}, // the sweep settles it
	} {
		if got := tc.state.Final(); got != tc.final {
			t.Errorf("%s.Final() = %v, want %v", tc.state, got, tc.final)
		}
	}
}

func TestNewIDIsEightUnambiguousCharactersAndDoesNotRepeat(t *testing.T) {
	seen := map[string]bool{}
	for range 10000 {
		id := store.NewID()
		if len(id) != 8 || strings.Trim(id, "0123456789ABCDEFGHJKMNPQRSTVWXYZ") != "" {
			t.Fatalf("id %q is not 8 Crockford base32 characters", id)
		}
		if seen[id] {
			t.Fatalf("id %q came twice in 10000", id)
		}
		seen[id] = true
	}
}

func TestNormalizeIDReadsWhatPeopleType(t *testing.T) {
	for _, tc := range []struct{ typed, want string }{
		{"R7K2ABCD", "R7K2ABCD"},
		{"r7k2abcd", "R7K2ABCD"},
		{" r7k2-abcd ", "R7K2ABCD"},
		{"OIL0", "0110"},
	} {
		if got := store.NormalizeID(tc.typed); got != tc.want {
			t.Errorf("NormalizeID(%q) = %q, want %q", tc.typed, got, tc.want)
		}
	}
}

func TestNotPendingSaysTheStateAndIsErrNotPending(t *testing.T) {
	err := fmt.Errorf("approve: %w", &store.NotPendingError{ID: "R7K2ABCD", State: store.StateDenied})
	if !errors.Is(err, store.ErrNotPending) {
		t.Error("not ErrNotPending")
	}
	if want := "approve: request R7K2ABCD is already denied"; err.Error() != want {
		t.Errorf("%q, want %q", err, want)
	}
}
