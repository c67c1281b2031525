package commands

import (
	"context"
	"fmt"
	"time"

	"github.com/sessionbot/sessionbot/store"
)

// pruneEvery spaces prunes: deleting is cheap, but retention is counted in
// days, and one replica an hour is plenty.
const pruneEvery = time.Hour

// sweepRetention deletes finished requests, audit events and recorded
// counts older than their retention, on one replica an hour. What is newer
// is never touched, so an audit export of the kept period is whole.
func (s *Service) sweepRetention(ctx context.Context) error {
	keep := s.approvals.Retention
	if keep == (store.Retention{}) {
		return nil
	}
	pruner, ok := s.approvals.Store.(store.Pruner)
	if !ok {
		return nil
	}
	now := s.clock()
	first, err := s.approvals.Store.ClaimOnce(ctx, "prune", now, pruneEvery)
	if err != nil || !first {
		return err
	}
	pruned, err := pruner.Prune(ctx, now, keep)
	if err != nil {
		return fmt.Errorf("prune by retention: %w", err)
	}
	if pruned != (store.Pruned{}) {
		s.audit(ctx, store.Event{Actor: s.approvals.ReplicaID, Action: "prune", Result: "done",
			Detail: fmt.Sprintf("%d finished requests, %d audit events, %d session counts past their retention", pruned.Requests, pruned.Events, pruned.Counts)})
	}
	return nil
}
