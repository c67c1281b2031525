package httpx

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Retry is the one retry policy: a throttled (429) or briefly unavailable
// (503) answer to an idempotent request is tried again, after the wait the
// server asks for in Retry-After, never longer than MaxWait. Requests that
// change something only once (POST) are never tried again.
type Retry struct {
	// Max is how many times a request is tried again; 0 never.
	Max int
	// MaxWait caps one wait, whatever Retry-After says.
	MaxWait time.Duration
	// Sleep waits d or until ctx ends; nil sleeps. Tests replace it.
	Sleep func(ctx context.Context, d time.Duration) error
}

// after says whether to try again and how long to wait first.
func (p Retry) after(method string, resp Response, try int, now time.Time) (time.Duration, bool) {
	if try >= p.Max || !idempotent(method) {
		return 0, false
	}
	if resp.Status != http.StatusTooManyRequests && resp.Status != http.StatusServiceUnavailable {
		return 0, false
	}
	return RetryAfter(resp.Header.Get("Retry-After"), try, p.MaxWait, now), true
}

func (p Retry) wait(ctx context.Context, d time.Duration) error {
	if p.Sleep != nil {
		return p.Sleep(ctx, d)
	}
	return p.Wait(ctx, d)
}

// Wait sleeps d or until ctx ends.
func (Retry) Wait(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// idempotent methods may be sent twice with the effect of once (RFC 9110
// section 9.2.2).
func idempotent(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodPut, http.MethodDelete:
		return true
	}
	return false
}

// RetryAfter reads a Retry-After header (seconds or an HTTP date), capped
// at max; without one it backs off 1, 2, 4... seconds, also capped.
func RetryAfter(h string, try int, limit time.Duration, now time.Time) time.Duration {
	capped := func(d time.Duration) time.Duration { return min(max(d, 0), limit) }
	h = strings.TrimSpace(h)
	if secs, err := strconv.ParseUint(h, 10, 64); err == nil {
		if secs > uint64(limit/time.Second) { // before multiplying: no overflow
			return limit
		}
		return capped(time.Duration(secs) * time.Second)
	} else if h != "" && strings.Trim(h, "0123456789") == "" {
		return limit // too many digits to parse: a very long wait
	}
	if t, err := http.ParseTime(h); err == nil {
		return capped(t.Sub(now))
	}
	return capped(time.Second << min(try, 5))
}
