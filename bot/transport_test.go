package bot

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
)

// As many replies as the bot works on at once, posted together twice: the
// second time every one reuses a kept-alive connection.
func TestSlackRepliesReuseConnectionsUpToTheInFlightBound(t *testing.T) {
	t.Parallel()
	const inFlight = 200
	var opened atomic.Int64
	release := make(chan struct{})
	arrived := make(chan struct{}, inFlight)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		<-release // all in flight at once, so each needs a connection
		io.WriteString(w, `{"ok":true}`)
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			opened.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	client := &http.Client{Transport: newSlackTransport(inFlight)}
	burst := func() {
		var wg sync.WaitGroup
		for range inFlight {
			wg.Go(func() {
				req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, srv.URL, nil)
				resp, err := client.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			})
		}
		for range inFlight {
			<-arrived
		}
		for range inFlight {
			release <- struct{}{}
		}
		wg.Wait()
	}
	burst()
	first := opened.Load()
	burst()
	if again := opened.Load() - first; again != 0 {
		t.Errorf("the second burst of %d replies opened %d new connections (the first opened %d); want every one reused", inFlight, again, first)
	}
}
