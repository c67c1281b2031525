package main

import (
	"time"

	"github.com/sessionbot/sessionbot/cmd/sessionbot/config"
	"github.com/sessionbot/sessionbot/store"
)

// chartDays is how far back a report's chart looks; recorded counts must
// be kept at least that long.
const chartDays = 7

func retentionFromConfig(r config.Retention) store.Retention {
	return store.Retention{Requests: r.Requests, Events: r.Audit, Counts: r.Counts}
}

// checkRetention refuses retentions that would delete what is still
// needed: anything under a day is taken for a slip of the unit.
func checkRetention(r config.Retention) config.Problems {
	var problems config.Problems
	for _, k := range []struct {
		key  string
		keep time.Duration
		min  time.Duration
		why  string
	}{
		{"retention.requests", r.Requests, 24 * time.Hour, "a day"},
		{"retention.audit", r.Audit, 24 * time.Hour, "a day"},
		{"retention.counts", r.Counts, chartDays * 24 * time.Hour, "the 7 days a report's chart shows"},
	} {
		switch {
		case k.keep < 0:
			problems.Add(k.key, k.keep.String(), "write a number of days such as 90d, or 0 to keep forever", "is negative")
		case k.keep > 0 && k.keep < k.min:
			problems.Add(k.key, k.keep.String(), "write a number of days such as 90d, or 0 to keep forever", "is shorter than %s", k.why)
		}
	}
	return problems
}
