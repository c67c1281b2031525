package commands

import (
	"context"
	"fmt"

	"github.com/sessionbot/sessionbot/store"
)

// Reminder is a Notifier that can nudge approvers about a request nobody
// has voted on yet.
type Reminder interface {
	// RemindApprovers posts one reminder beside the request's approval
	// message, mentioning its approvers.
	RemindApprovers(ctx context.Context, req store.Request, approvers []string) error
}

// sweepReminders reminds the approvers of each pending request that has
// had no vote by half its TTL. The store hands each request to one
// replica, once: a restart or a second replica sends no second reminder.
func (s *Service) sweepReminders(ctx context.Context) error {
	reminder, ok := s.approvals.Notifier.(Reminder)
	if !ok {
		return nil
	}
	claimer, ok := s.approvals.Store.(store.Reminders)
	if !ok {
		return nil
	}
	due, err := claimer.ClaimReminders(ctx, s.clock())
	if err != nil {
		return fmt.Errorf("claim reminders: %w", err)
	}
	for _, req := range due {
		approvers := s.access.PolicyFor(req.Instance).Approvers
		result := "sent"
		if err := reminder.RemindApprovers(ctx, req, approvers); err != nil {
			s.logger.Warn("reminding approvers; it is not sent again", "request", req.ID, "error", err)
			result = "failed"
		}
		s.auditOwn(ctx, "remind", req, result, "")
	}
	return nil
}
