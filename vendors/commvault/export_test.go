package commvault

import (
	"time"

	"github.com/sessionbot/sessionbot/vendors"
)

// SetClock replaces the instance's clock, for the user cache and the pause
// after a refused login.
func SetClock(in *Instance, now func() time.Time) { in.now = now }

// ParseSessions decodes a session list answer as ListUserSessions does,
// for the shapes the fake does not send, as the sessions of user id.
func ParseSessions(in *Instance, body, contentType string, id int64, name string) ([]vendors.Session, error) {
	list, err := decodeSessions(answer{status: 200, body: []byte(body), contentType: contentType})
	if err != nil {
		return nil, err
	}
	var out []vendors.Session
	for _, w := range list {
		s, err := in.toSession(w, user{id: id, name: name})
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// LogoffBody is the DELETE /Sessions body for ids.
var LogoffBody = logoffBody
