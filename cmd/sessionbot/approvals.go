package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/sessionbot/sessionbot/cmd/sessionbot/config"
	"github.com/sessionbot/sessionbot/commands"
	"github.com/sessionbot/sessionbot/store"
	"github.com/sessionbot/sessionbot/store/postgres"
	"github.com/sessionbot/sessionbot/store/sqlite"
)

// openStore opens the configured storage engine and applies migrations.
func openStore(ctx context.Context, c config.Store) (store.Store, error) {
	switch c.Driver {
	case "postgres":
		s, err := postgres.Open(ctx, c.DSN)
		if err != nil {
			return nil, fmt.Errorf("store.dsn: open PostgreSQL: %w", err)
		}
		return s, nil
	default:
		s, err := sqlite.Open(ctx, c.Path)
		if err != nil {
			return nil, fmt.Errorf("store.path: open SQLite file %s: %w", c.Path, err)
		}
		return s, nil
	}
}

// accessFromConfig builds the access rules: the approvals defaults, and
// each instance's overrides.
func accessFromConfig(cfg *config.Config, logger *slog.Logger) *commands.Access {
	a := &commands.Access{
		Listers:     cfg.Access.Listers,
		AuditMirror: cfg.Access.AuditChannel,
		Default: commands.Policy{
			Requesters:        cfg.Approvals.Requesters,
			Approvers:         cfg.Approvals.Approvers,
			Destination:       cfg.Approvals.Channel,
			ApprovalsNeeded:   cfg.Approvals.ApprovalsNeeded,
			TTL:               cfg.Approvals.TTL,
			AllowSelfApproval: cfg.Approvals.AllowSelfApproval,
		},
		Instances: map[string]commands.Policy{},
	}
	for name, in := range cfg.Instances {
		p := a.Default
		if len(in.Requesters) > 0 {
			p.Requesters = in.Requesters
		}
		if len(in.Approvers) > 0 {
			p.Approvers = in.Approvers
		}
		if in.ApprovalChannel != "" {
			p.Destination = in.ApprovalChannel
		}
		if in.ApprovalsNeeded > 0 {
			p.ApprovalsNeeded = in.ApprovalsNeeded
		}
		if in.ApprovalTTL > 0 {
			p.TTL = in.ApprovalTTL
		}
		if in.AllowSelfApproval != nil {
			p.AllowSelfApproval = *in.AllowSelfApproval
		}
		p.NoApproval = in.NoApproval
		if p.NoApproval {
			logger.Warn("INSTANCE ENDS SESSIONS WITHOUT APPROVAL: one person's request ends a session at once, as configured by no_approval",
				"instance", name, "key", in.Key("no_approval"))
		}
		if p.AllowSelfApproval {
			logger.Warn("requesters may approve their own requests, as configured", "instance", name)
		}
		a.Instances[strings.ToLower(name)] = p
	}
	return a
}

// checkApprovalRouting lists instances whose kills could never be
// approved, so serve refuses to start half-configured.
func checkApprovalRouting(a *commands.Access, names []string) config.Problems {
	var problems config.Problems
	for _, name := range names {
		p := a.PolicyFor(name)
		if len(p.Requesters) == 0 || p.NoApproval {
			continue // nobody can request, or nobody needs to approve
		}
		if p.Destination == "" {
			problems.Add("instances."+name+".approval_channel", "", "set approvals.channel or this key to the channel id (C…) where requests are approved", "requesters are set but no approval channel")
		}
		if len(p.Approvers) == 0 {
			problems.Add("instances."+name+".approvers", "", "set approvals.approvers or this key", "requesters are set but nobody may approve")
		}
	}
	return problems
}

// replicaID names this process in execution claims and logs.
func replicaID() string {
	host, _ := os.Hostname()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b))
}
