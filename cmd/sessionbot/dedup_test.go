package main

import (
	"path/filepath"
	"testing"

	"github.com/sessionbot/sessionbot/cmd/sessionbot/config"
	"github.com/sessionbot/sessionbot/store/sqlite"
)

// tempStore is a SQLite store in a temporary folder, closed when the test
// ends.
func tempStore(t *testing.T) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "sessionbot.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// With SQLite (one replica) envelopes are de-duplicated in memory only:
// no store write per envelope. With PostgreSQL the replicas share claims.
func TestEnvelopeClaimsGoToTheStoreOnlyWhenReplicasShareIt(t *testing.T) {
	t.Parallel()
	st := tempStore(t)
	if sharedDedup(config.Store{Driver: "sqlite"}, st) != nil {
		t.Error("SQLite: envelopes are claimed in the store, costing a commit each")
	}
	dedup := sharedDedup(config.Store{Driver: "postgres"}, st)
	if dedup == nil {
		t.Fatal("PostgreSQL: envelopes are not claimed in the shared store")
	}
	for i, want := range []bool{true, false} {
		first, err := dedup(t.Context(), "envelope:E1")
		if err != nil || first != want {
			t.Errorf("claim %d: first %v, %v; want %v", i+1, first, err, want)
		}
	}
}
