package qliktest

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Attribute is one entry of a session's Attributes array.
type Attribute struct {
	Name  string
	Value string
}

// Session is a session as a proxy holds it.
type Session struct {
	UserDirectory string
	UserID        string
	UserName      string // optional: left out of the JSON when empty
	SessionID     string
	Attributes    []Attribute
}

// MarshalJSON writes the session as Qlik does: PascalCase, and Attributes
// as an array of one-key objects.
func (s Session) MarshalJSON() ([]byte, error) {
	attrs := make([]map[string]string, 0, len(s.Attributes))
	for _, a := range s.Attributes {
		attrs = append(attrs, map[string]string{a.Name: a.Value})
	}
	return json.Marshal(struct {
		UserDirectory string              `json:"UserDirectory"`
		UserID        string              `json:"UserId"`
		UserName      string              `json:"UserName,omitempty"`
		Attributes    []map[string]string `json:"Attributes"`
		SessionID     string              `json:"SessionId"`
	}{s.UserDirectory, s.UserID, s.UserName, attrs, s.SessionID})
}

func (s Session) sameUser(directory, id string) bool {
	return strings.EqualFold(s.UserDirectory, directory) && strings.EqualFold(s.UserID, id)
}

func (s Session) clone() Session {
	s.Attributes = append([]Attribute(nil), s.Attributes...)
	return s
}

// cloneSessions copies a list; never nil, so that it encodes as [].
func cloneSessions(list []Session) []Session {
	out := make([]Session, 0, len(list))
	for _, s := range list {
		out = append(out, s.clone())
	}
	return out
}

// Session ids of DemoSessions, for tests and the demo to refer to.
const (
	MarcSessionOnProxy0   = "7b8ab85e-0c85-4fcb-8e56-4ead683153fb" // Qlik-Cli's own example id
	MarcSessionOnProxy1   = "3f2b1c9e-52d4-4a7e-9b1f-0c6d8e2a4b71"
	KenSession            = "a1c4e7f0-2b5d-4c8e-9f13-6a7b8c9d0e1f"
	JsmithSessionOnProxy0 = "5d6e7f80-91a2-4b3c-8d4e-5f60718293a4"
	JsmithSessionOnProxy1 = "c0ffee00-1234-4abc-8def-0123456789ab"
	ServiceSession        = "0e9d8c7b-6a59-4847-9362-514f3e2d1c0b"
)

// DemoSessions is sample data: element i is what proxy i holds (proxy
// i%N on a site with fewer proxies). Domain\Marc has sessions on two
// proxies, as the Qlik-Cli examples' user.
func DemoSessions() [][]Session {
	group := func(g string) Attribute { return Attribute{Name: "group", Value: g} }
	return [][]Session{
		{
			{UserDirectory: "Domain", UserID: "Marc", UserName: "Marc Dupont", SessionID: MarcSessionOnProxy0,
				Attributes: []Attribute{group("Sales"), group("EMEA"), {Name: "email", Value: "marc@domain.example"}}},
			{UserDirectory: "Domain", UserID: "Ken", UserName: "Ken Adams", SessionID: KenSession,
				Attributes: []Attribute{group("Finance")}},
			{UserDirectory: "CORP", UserID: "jsmith", SessionID: JsmithSessionOnProxy0,
				Attributes: []Attribute{group("IT"), group("Qlik Admins")}},
		},
		{
			{UserDirectory: "Domain", UserID: "Marc", UserName: "Marc Dupont", SessionID: MarcSessionOnProxy1,
				Attributes: []Attribute{group("Sales"), group("EMEA"), {Name: "email", Value: "marc@domain.example"}}},
			{UserDirectory: "CORP", UserID: "jsmith", SessionID: JsmithSessionOnProxy1,
				Attributes: []Attribute{group("IT")}},
			{UserDirectory: "INTERNAL", UserID: "sa_scheduler", SessionID: ServiceSession},
		},
	}
}

// guidFor makes a stable GUID for the repository's ids.
func guidFor(i, kind int) string {
	return fmt.Sprintf("%08x-0000-4000-8000-%012x", kind, i)
}
