package qlik

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/sessionbot/sessionbot/vendors"
)

// wireSession is a session as the proxy sends it. encoding/json matches
// names case-insensitively, so this reads both the PascalCase Qlik sends
// and the camelCase of its Swagger file. UserName is optional.
type wireSession struct {
	UserDirectory string
	UserID        string `json:"UserId"`
	UserName      string
	SessionID     string `json:"SessionId"`
	// Attributes is an array of one-key objects: [{"group":"x"},{"group":"y"}].
	Attributes []map[string]json.RawMessage
}

// deletedSession is the answer to DELETE session/{id}: the Swagger file
// says {session, lastSessionForUser}, some versions send the session alone.
type deletedSession struct {
	wireSession
	Session            *wireSession
	LastSessionForUser bool
}

// session returns the session the answer holds, whichever form it took.
func (d deletedSession) session() wireSession {
	if d.Session != nil {
		return *d.Session
	}
	return d.wireSession
}

// toSession tags a wire session with where it was found.
func (in *Instance) toSession(w wireSession, node string) (vendors.Session, error) {
	if w.SessionID == "" {
		return vendors.Session{}, fmt.Errorf("answered a session without SessionId: %w", vendors.ErrBadAnswer)
	}
	return vendors.Session{
		Vendor:     vendors.Qlik,
		Instance:   in.s.name,
		ID:         w.SessionID,
		User:       vendors.Identity{Directory: w.UserDirectory, ID: w.UserID},
		UserName:   w.UserName,
		Node:       node,
		Attributes: attributes(w.Attributes),
	}, nil
}

// toSessions converts a list answer.
func (in *Instance) toSessions(ws []wireSession, node string) ([]vendors.Session, error) {
	out := make([]vendors.Session, 0, len(ws))
	for _, w := range ws {
		s, err := in.toSession(w, node)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// attributes flattens [{"group":"x"},{"group":"y"}] in order. A value that
// is not a string keeps its JSON text; an object with several keys gives
// one attribute per key, sorted, so the result does not depend on map order.
func attributes(raw []map[string]json.RawMessage) []vendors.Attribute {
	var out []vendors.Attribute
	for _, obj := range raw {
		names := make([]string, 0, len(obj))
		for name := range obj {
			names = append(names, name)
		}
		slices.Sort(names)
		for _, name := range names {
			out = append(out, vendors.Attribute{Name: name, Value: attributeValue(obj[name])})
		}
	}
	return out
}

func attributeValue(raw json.RawMessage) string {
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s
	}
	return strings.TrimSpace(string(raw))
}

// proxyService is one element of the repository's /qrs/proxyservice/full.
type proxyService struct {
	Settings struct {
		RestListenPort int
	}
	ServerNodeConfiguration struct {
		HostName string
	}
}
