package main

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // report time zones on hosts without a zoneinfo database

	"github.com/sessionbot/sessionbot/cmd/sessionbot/config"
	"github.com/sessionbot/sessionbot/commands"
	"github.com/sessionbot/sessionbot/store"
	"github.com/sessionbot/sessionbot/vendors"
)

// channelID is a public or private channel, not a user group.
var channelID = regexp.MustCompile(`^[CG][A-Z0-9]{2,20}$`)

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

var reportName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

// reportsFromConfig builds the reports a checked configuration names, and
// lists what is wrong with each under its key. reg, when set, says which
// instances exist and can list all their sessions.
func reportsFromConfig(cfg *config.Config, reg *vendors.Registry) ([]commands.Report, config.Problems) {
	var problems config.Problems
	names := make([]string, 0, len(cfg.Reports))
	for name := range cfg.Reports {
		names = append(names, name)
	}
	sort.Strings(names)
	var out []commands.Report
	for _, name := range names {
		c := cfg.Reports[name]
		key := "reports." + name + "."
		if !reportName.MatchString(name) {
			problems.Add("reports."+name, "", "rename it: lower-case letters, digits, - and _, as typed after `report --name`", "is not a usable report name")
		}
		r := commands.Report{Name: name, Destination: c.Channel, Instances: c.Instances, Top: c.Top}
		var err error
		if strings.TrimSpace(c.Schedule) == "" {
			problems.Add(key+"schedule", "", "five cron fields, such as 0 8 * * 1-5 (08:00 on weekdays)", "is not set")
		} else if r.Schedule, err = commands.ParseSchedule(c.Schedule); err != nil {
			problems.Add(key+"schedule", c.Schedule, "five cron fields, such as 0 8 * * 1-5 (08:00 on weekdays)", "is not a schedule: %v", err)
		}
		if c.TimeZone == "" {
			problems.Add(key+"time_zone", "", "an IANA time zone such as Europe/Paris or UTC, so the schedule means one time", "is not set")
		} else if r.Location, err = time.LoadLocation(c.TimeZone); err != nil {
			problems.Add(key+"time_zone", c.TimeZone, "an IANA time zone such as Europe/Paris or UTC", "is not a time zone")
		}
		switch {
		case c.Channel == "":
			problems.Add(key+"channel", "", "the channel id (C…) to post in; invite the bot", "is not set")
		case !channelID.MatchString(c.Channel):
			problems.Add(key+"channel", c.Channel, "the channel id (C…, from the channel's details), not its name", "is not a channel id")
		}
		if strings.TrimSpace(c.Rule) == "" {
			problems.Add(key+"rule", "", "such as `idle > 8h`, `older than 24h` or `console is CommCell Console`, joined with `and`", "is not set")
		} else if r.Rule, err = commands.ParseRule(c.Rule); err != nil {
			problems.Add(key+"rule", c.Rule, "", "%v", err)
		}
		if c.Top < 0 || c.Top > commands.MaxTop {
			problems.Add(key+"top", strconv.Itoa(c.Top), fmt.Sprintf("at most %d, to fit one Slack message; 0 means %d", commands.MaxTop, commands.DefaultTop), "is out of range")
		}
		for _, in := range c.Instances {
			if _, configured := cfg.Instances[strings.ToLower(in)]; !configured {
				problems.Add(key+"instances", in, "one of the instances under instances:", "is not a configured instance")
				continue
			}
			if reg == nil {
				continue
			}
			if built, ok := reg.Get(in); ok {
				if _, lists := built.(vendors.AllSessionLister); !lists {
					problems.Add(key+"instances", in, "leave it out: a report reads every session of its instances", "cannot list all its sessions")
				}
			}
		}
		out = append(out, r)
	}
	return out, problems
}
