package commvault

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/sessionbot/sessionbot/vendors"
)

// refusedLoginPause is how long a login refused for its credentials is not
// tried again. Commvault locks an account after a few failures in a row;
// retrying a wrong password on every command would lock the bot out.
const refusedLoginPause = time.Minute

// token is one login's token and the generation that made it.
type token struct {
	value string
	gen   uint64
}

// tokenSource keeps the one token every request shares. At most one login
// runs at a time: callers that need a token while one runs wait for it, and
// callers that saw the same token refused share one re-login.
type tokenSource struct {
	login func(context.Context) (string, error)
	now   func() time.Time

	mu      sync.Mutex
	current token   // value is empty when there is none
	gen     uint64  // generation of the newest token
	flight  *flight // the login running now, if any
	refused error   // the last login's refusal of our credentials
	until   time.Time
}

// flight is one login that callers wait for.
type flight struct {
	done  chan struct{}
	token token
	err   error
}

func newTokenSource(login func(context.Context) (string, error), now func() time.Time) *tokenSource {
	return &tokenSource{login: login, now: now}
}

// get returns the token, logging in first if there is none.
func (ts *tokenSource) get(ctx context.Context) (token, error) {
	ts.mu.Lock()
	if ts.current.value != "" {
		t := ts.current
		ts.mu.Unlock()
		return t, nil
	}
	f, err := ts.start(ctx)
	ts.mu.Unlock()
	if err != nil {
		return token{}, err
	}
	return wait(ctx, f)
}

// renew returns a token other than stale, which the server refused. The
// first caller to report a token starts the re-login; the others wait for
// it, or take the token it made if it is done. Tokens are told apart by
// value: the web service never hands out the same one twice.
func (ts *tokenSource) renew(ctx context.Context, stale token) (token, error) {
	ts.mu.Lock()
	if ts.current.value != "" && ts.current.value != stale.value {
		t := ts.current
		ts.mu.Unlock()
		return t, nil
	}
	ts.current = token{}
	f, err := ts.start(ctx)
	ts.mu.Unlock()
	if err != nil {
		return token{}, err
	}
	return wait(ctx, f)
}

// drop forgets the token and returns it, for logging it out.
func (ts *tokenSource) drop() string {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	v := ts.current.value
	ts.current = token{}
	return v
}

// start joins the login in flight or starts one; the caller holds ts.mu.
// The login runs apart from the caller that started it, so that its
// cancellation does not fail the others waiting.
func (ts *tokenSource) start(ctx context.Context) (*flight, error) {
	if ts.flight != nil {
		return ts.flight, nil
	}
	if ts.refused != nil && ts.now().Before(ts.until) {
		return nil, fmt.Errorf("%w (not tried again for %s, so as not to lock the account)",
			ts.refused, ts.until.Sub(ts.now()).Round(time.Second))
	}
	f := &flight{done: make(chan struct{})}
	ts.flight = f
	go ts.run(context.WithoutCancel(ctx), f)
	return f, nil
}

func (ts *tokenSource) run(ctx context.Context, f *flight) {
	value, err := ts.login(ctx)
	ts.mu.Lock()
	ts.flight = nil
	if err == nil {
		ts.gen++
		ts.current = token{value: value, gen: ts.gen}
		ts.refused = nil
		f.token = ts.current
	} else if errors.Is(err, vendors.ErrUnauthorized) {
		ts.refused, ts.until = err, ts.now().Add(refusedLoginPause)
	}
	f.err = err
	ts.mu.Unlock()
	close(f.done)
}

// wait waits for a login, or for the caller to give up.
func wait(ctx context.Context, f *flight) (token, error) {
	select {
	case <-f.done:
		return f.token, f.err
	case <-ctx.Done():
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return token{}, fmt.Errorf("gave up waiting for the login: %w", vendors.ErrTimeout)
		}
		return token{}, fmt.Errorf("gave up waiting for the login: %w", ctx.Err())
	}
}
