package commvault

import (
	"context"

	"github.com/sessionbot/sessionbot/vendors"
)

var _ vendors.AllSessionLister = (*Instance)(nil)

// ListAllSessions lists every open console session: Commvault lists
// sessions per user only, so it reads the user list, then each user's
// sessions. One user whose list fails is a warning, not the end.
func (in *Instance) ListAllSessions(ctx context.Context) (vendors.Listing, error) {
	release, err := in.slots.Take(ctx) // one slot for the user list and every user's
	if err != nil {
		return vendors.Listing{}, in.nodeError("list all sessions", err)
	}
	defer release()
	users, err := in.allUsers(ctx)
	if err != nil {
		return vendors.Listing{}, in.nodeError("list all sessions", err)
	}
	var out vendors.Listing
	for _, u := range users {
		list, err := in.listSessions(ctx, u)
		if err != nil {
			if ctx.Err() != nil {
				return out, in.nodeError("list all sessions", err)
			}
			out.Warnings = append(out.Warnings, in.nodeError("list sessions of "+u.name, err))
			continue
		}
		for _, w := range list {
			s, err := in.toSession(w, u)
			if err != nil {
				out.Warnings = append(out.Warnings, in.nodeError("list sessions of "+u.name, err))
				continue
			}
			if s.Active() {
				out.Sessions = append(out.Sessions, s)
			}
		}
	}
	return out, nil
}
