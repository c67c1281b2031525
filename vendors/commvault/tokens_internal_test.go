package commvault

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessionbot/sessionbot/vendors"
)

// countingLogin hands out tok-1, tok-2, ... and counts its calls.
type countingLogin struct {
	calls   atomic.Int64
	release chan struct{} // when set, each login waits for it
	err     error
}

func (l *countingLogin) login(ctx context.Context) (string, error) {
	n := l.calls.Add(1)
	if l.release != nil {
		<-l.release
	}
	if l.err != nil {
		return "", l.err
	}
	return fmt.Sprintf("tok-%d", n), nil
}

func TestTokenSource(t *testing.T) {
	ctx := context.Background()
	now := func() time.Time { return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) }

	t.Run("a caller late with the same refused token takes the renewed one without a login", func(t *testing.T) {
		l := &countingLogin{}
		ts := newTokenSource(l.login, now)
		first, _ := ts.get(ctx)
		a, err := ts.renew(ctx, first)
		if err != nil {
			t.Fatal(err)
		}
		b, err := ts.renew(ctx, first)
		if err != nil {
			t.Fatal(err)
		}
		if a != b || a.value != "tok-2" || l.calls.Load() != 2 {
			t.Errorf("a = %+v, b = %+v, logins = %d; want both tok-2 after 2 logins", a, b, l.calls.Load())
		}
	})

	t.Run("a refused renewed token is renewed again", func(t *testing.T) {
		l := &countingLogin{}
		ts := newTokenSource(l.login, now)
		first, _ := ts.get(ctx)
		second, _ := ts.renew(ctx, first)
		third, _ := ts.renew(ctx, second)
		if third.value != "tok-3" || third.gen != 3 {
			t.Errorf("third = %+v", third)
		}
	})

	t.Run("callers waiting on a login in flight share it", func(t *testing.T) {
		l := &countingLogin{release: make(chan struct{})}
		ts := newTokenSource(l.login, now)
		var wg sync.WaitGroup
		got := make([]token, 10)
		for i := range got {
			wg.Go(func() { got[i], _ = ts.get(ctx) })
		}
		for l.calls.Load() == 0 {
			time.Sleep(time.Millisecond)
		}
		time.Sleep(10 * time.Millisecond) // let the others reach the flight
		close(l.release)
		wg.Wait()
		for _, tok := range got {
			if tok.value != "tok-1" {
				t.Errorf("token = %+v", tok)
			}
		}
		if l.calls.Load() != 1 {
			t.Errorf("logins = %d, want 1", l.calls.Load())
		}
	})

	t.Run("a caller that gives up does not fail the login for the others", func(t *testing.T) {
		l := &countingLogin{release: make(chan struct{})}
		ts := newTokenSource(l.login, now)
		impatient, cancel := context.WithCancel(ctx)
		done := make(chan error)
		go func() { _, err := ts.get(impatient); done <- err }()
		for l.calls.Load() == 0 {
			time.Sleep(time.Millisecond)
		}
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("impatient caller: %v", err)
		}
		close(l.release)
		tok, err := ts.get(ctx)
		if err != nil || tok.value != "tok-1" || l.calls.Load() != 1 {
			t.Errorf("patient caller got %+v, %v after %d logins", tok, err, l.calls.Load())
		}
	})

	t.Run("a refused login pauses logins, other failures do not", func(t *testing.T) {
		clock := now()
		l := &countingLogin{err: fmt.Errorf("refused: %w", vendors.ErrUnauthorized)}
		ts := newTokenSource(l.login, func() time.Time { return clock })
		for range 3 {
			if _, err := ts.get(ctx); !errors.Is(err, vendors.ErrUnauthorized) {
				t.Fatalf("err = %v", err)
			}
		}
		if l.calls.Load() != 1 {
			t.Errorf("logins = %d, want 1 during the pause", l.calls.Load())
		}
		clock = clock.Add(refusedLoginPause)
		l.err = fmt.Errorf("down: %w", vendors.ErrUnavailable)
		ts.get(ctx)
		ts.get(ctx)
		if l.calls.Load() != 3 {
			t.Errorf("logins = %d, want 3: an unreachable server is asked again each time", l.calls.Load())
		}
	})
}
