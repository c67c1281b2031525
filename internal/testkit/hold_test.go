package testkit_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/sessionbot/sessionbot/internal/testkit"
)

func TestHoldKeepsRequestsUntilReleasedThenAnswers500(t *testing.T) {
	hold := testkit.NewHold()
	srv := httptest.NewServer(hold)
	defer srv.Close()
	answered := make(chan int, 1)
	go func() {
		resp, err := http.Get(srv.URL)
		if err != nil {
			answered <- 0
			return
		}
		resp.Body.Close()
		answered <- resp.StatusCode
	}()
	hold.Reached(t, "the request never reached the hold")
	select {
	case code := <-answered:
		t.Fatalf("answered %d before the release", code)
	default:
	}
	hold.Release()
	hold.Release() // twice is harmless
	if code := <-answered; code != http.StatusInternalServerError {
		t.Fatalf("answered %d after the release, want 500", code)
	}
}
