package commvault_test

import (
	"slices"
	"testing"

	"github.com/sessionbot/sessionbot/vendors/commvault/commvaulttest"
)

func TestListAllSessionsListsEveryUsersOpenSessions(t *testing.T) {
	srv := newServer(t, commvaulttest.Options{Seed: true})
	in := newInstance(t, configFor(t, srv))
	got, err := in.ListAllSessions(testContext(t))
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, s := range got.Sessions {
		ids = append(ids, s.ID)
	}
	slices.Sort(ids)
	want := []string{commvaulttest.MarcConsoleSession, commvaulttest.JsmithWebSession}
	slices.Sort(want)
	if !slices.Equal(ids, want) || len(got.Warnings) != 0 {
		t.Errorf("sessions %v (warnings %v), want the open ones %v", ids, got.Warnings, want)
	}
}
