package graphtest

import (
	"fmt"
	"strings"
	"time"
)

// Seed users.
const (
	MarcUPN  = "marc@contoso.com"
	MarcID   = "6e3f0b4a-1c2d-4e5f-8a9b-0c1d2e3f4a5b"
	KenUPN   = "ken.myer@contoso.com"
	KenID    = "f69e2c00-7a1b-4c3d-9e8f-185e5f5f5d8a"
	AdeleUPN = "adele.vance@contoso.com"
	AdeleID  = "821809f5-4b6a-4f1e-a2c3-3b5136c0e777"
)

// User is a Microsoft 365 user.
type User struct {
	ID          string
	DisplayName string
	UPN         string
}

func (u User) wire() map[string]any {
	return map[string]any{"id": u.ID, "displayName": u.DisplayName, "userPrincipalName": u.UPN}
}

// Call is one call record.
type Call struct {
	ID         string
	Type       string // peerToPeer, groupCall
	Start, End time.Time
	JoinWebURL string
	Organizer  string // user id
	Sessions   []Session
}

// Session is one leg of a call between two endpoints.
type Session struct {
	ID             string
	Caller, Callee Endpoint
	Modalities     []string
	Start, End     time.Time
	FailureStage   string
	FailureReason  string
	Media          []string // segment media labels: main-audio, main-video
}

// Endpoint is one end of a session: a user's client, a phone or a service.
type Endpoint struct {
	UserID string // a user's endpoint
	Phone  string // a PSTN number
	// LegacyIdentity writes the user as identity.user (older records)
	// instead of associatedIdentity.
	LegacyIdentity bool
	UserAgent      string // headerValue
	Platform       string
	ProductFamily  string
}

func (c Call) hasParticipant(userID string) bool {
	if strings.EqualFold(c.Organizer, userID) {
		return true
	}
	for _, s := range c.Sessions {
		if strings.EqualFold(s.Caller.UserID, userID) || strings.EqualFold(s.Callee.UserID, userID) {
			return true
		}
	}
	return false
}

// graphTime writes times the way Graph does, with seven decimals.
func graphTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format("2006-01-02T15:04:05.0000000Z")
}

func (c Call) wire(s *Server) map[string]any {
	modalities := []string{}
	seen := map[string]bool{}
	for _, ss := range c.Sessions {
		for _, m := range ss.Modalities {
			if !seen[m] {
				seen[m] = true
				modalities = append(modalities, m)
			}
		}
	}
	body := map[string]any{
		"id":                   c.ID,
		"version":              1,
		"type":                 c.Type,
		"modalities":           modalities,
		"lastModifiedDateTime": graphTime(c.End.Add(10 * time.Minute)),
		"startDateTime":        graphTime(c.Start),
		"endDateTime":          graphTime(c.End),
		"joinWebUrl":           nil,
	}
	if c.JoinWebURL != "" {
		body["joinWebUrl"] = c.JoinWebURL
	}
	if u, ok := s.userByID(c.Organizer); ok {
		body["organizer_v2"] = map[string]any{"id": u.ID, "identity": map[string]any{"user": s.identity(u)}}
	}
	return body
}

func (c Call) wireSessions(s *Server, sessions []Session, segments bool) []map[string]any {
	out := []map[string]any{}
	for _, ss := range sessions {
		body := map[string]any{
			"id":            ss.ID,
			"modalities":    ss.Modalities,
			"startDateTime": graphTime(ss.Start),
			"endDateTime":   graphTime(ss.End),
			"isTest":        false,
			"caller":        s.endpoint(ss.Caller),
			"callee":        s.endpoint(ss.Callee),
			"failureInfo":   nil,
		}
		if ss.FailureReason != "" || ss.FailureStage != "" {
			body["failureInfo"] = map[string]any{"stage": ss.FailureStage, "reason": ss.FailureReason}
		}
		if segments {
			media := []map[string]any{}
			for _, label := range ss.Media {
				media = append(media, map[string]any{"label": label, "streams": []any{}})
			}
			body["segments"] = []map[string]any{{
				"id":            ss.ID,
				"startDateTime": graphTime(ss.Start),
				"endDateTime":   graphTime(ss.End),
				"caller":        s.endpoint(ss.Caller),
				"callee":        s.endpoint(ss.Callee),
				"failureInfo":   body["failureInfo"],
				"media":         media,
			}}
		}
		out = append(out, body)
	}
	return out
}

func (s *Server) identity(u User) map[string]any {
	return map[string]any{"id": u.ID, "displayName": u.DisplayName, "tenantId": s.opts.TenantID, "userPrincipalName": u.UPN}
}

func (s *Server) endpoint(e Endpoint) map[string]any {
	if e.UserID == "" && e.Phone == "" {
		return map[string]any{
			"@odata.type": "#microsoft.graph.callRecords.serviceEndpoint",
			"userAgent": map[string]any{
				"@odata.type":   "#microsoft.graph.callRecords.serviceUserAgent",
				"role":          "skypeForBusinessConferencing",
				"headerValue":   nil,
				"platform":      "unknown",
				"productFamily": firstNonEmpty(e.ProductFamily, "teams"),
			},
		}
	}
	body := map[string]any{
		"@odata.type": "#microsoft.graph.callRecords.participantEndpoint",
		"userAgent": map[string]any{
			"@odata.type":   "#microsoft.graph.callRecords.clientUserAgent",
			"headerValue":   e.UserAgent,
			"platform":      e.Platform,
			"productFamily": e.ProductFamily,
		},
	}
	if e.Phone != "" {
		body["identity"] = map[string]any{"user": nil, "phone": map[string]any{"id": e.Phone, "displayName": nil}}
		return body
	}
	u, ok := s.userByID(e.UserID)
	if !ok {
		u = User{ID: e.UserID}
	}
	if e.LegacyIdentity {
		body["identity"] = map[string]any{"user": map[string]any{"id": u.ID, "displayName": u.DisplayName, "tenantId": s.opts.TenantID}}
	} else {
		body["associatedIdentity"] = s.identity(u)
	}
	return body
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// AddUser adds or replaces a user.
func (s *Server) AddUser(u User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, old := range s.users {
		if strings.EqualFold(old.ID, u.ID) {
			s.users[i] = u
			return
		}
	}
	s.users = append(s.users, u)
}

// AddCall adds a call record; its participants are the users its sessions
// name and its organizer.
func (s *Server) AddCall(c Call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, c)
}

// findUser looks a user up by object id or UPN, ignoring case.
func (s *Server) findUser(name string) (User, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, u := range s.users {
		if strings.EqualFold(u.ID, name) || strings.EqualFold(u.UPN, name) {
			return u, true
		}
	}
	return User{}, false
}

// userByID is findUser for callers that hold the lock.
func (s *Server) userByID(id string) (User, bool) {
	for _, u := range s.users {
		if strings.EqualFold(u.ID, id) {
			return u, true
		}
	}
	return User{}, false
}

// call finds a record; the caller holds the lock.
func (s *Server) call(id string) (Call, bool) {
	for _, c := range s.calls {
		if c.ID == id {
			return c, true
		}
	}
	return Call{}, false
}

// Teams and Skype clients as they appear in user agents.
var (
	teamsWindows = Endpoint{UserAgent: "Teams/1.7.00.13456 (Windows 10; x64)", Platform: "windows", ProductFamily: "teams"}
	teamsIOS     = Endpoint{UserAgent: "Teams/5.12.1 (iOS 17.4; iPhone14,5)", Platform: "iOS", ProductFamily: "teams"}
	skypeWindows = Endpoint{UserAgent: "UCCAPI/16.0.12527.20122 OC/16.0.12527.20194 (Skype for Business)", Platform: "windows", ProductFamily: "skypeForBusiness"}
)

func as(e Endpoint, userID string) Endpoint { e.UserID = userID; return e }

// seed adds the demo tenant: Marc with a few calls over the past days, one
// of them failed; Ken Myer, the name in Get-CsUserSession's own example.
func (s *Server) seed(now time.Time) {
	s.AddUser(User{ID: MarcID, DisplayName: "Marc Dubois", UPN: MarcUPN})
	s.AddUser(User{ID: KenID, DisplayName: "Ken Myer", UPN: KenUPN})
	s.AddUser(User{ID: AdeleID, DisplayName: "Adele Vance", UPN: AdeleUPN})
	at := func(ago time.Duration) time.Time { return now.Add(-ago).UTC().Truncate(time.Second) }
	id := func(n int) string { return fmt.Sprintf("2f1a6b3c-0000-4000-8000-%012d", n) }

	start := at(2 * time.Hour)
	s.AddCall(Call{ID: id(1), Type: "peerToPeer", Start: start, End: start.Add(12 * time.Minute), Organizer: MarcID,
		Sessions: []Session{{ID: id(101), Caller: as(teamsWindows, MarcID), Callee: as(skypeWindows, KenID),
			Modalities: []string{"audio"}, Start: start, End: start.Add(12 * time.Minute), Media: []string{"main-audio"}}}})

	start = at(26 * time.Hour)
	s.AddCall(Call{ID: id(2), Type: "groupCall", Start: start, End: start.Add(45 * time.Minute), Organizer: AdeleID,
		JoinWebURL: "https://teams.microsoft.com/l/meetup-join/19%3ameeting_NjU0ZjY4ZTQt%40thread.v2/0",
		Sessions: []Session{
			{ID: id(201), Caller: as(teamsWindows, MarcID), Callee: Endpoint{}, Modalities: []string{"audio", "video"},
				Start: start, End: start.Add(45 * time.Minute), Media: []string{"main-audio", "main-video"}},
			{ID: id(202), Caller: as(teamsIOS, AdeleID), Callee: Endpoint{}, Modalities: []string{"audio", "video", "screenSharing"},
				Start: start, End: start.Add(45 * time.Minute), Media: []string{"main-audio", "main-video", "applicationsharing-video"}},
		}})

	start = at(3*24*time.Hour + 4*time.Hour)
	s.AddCall(Call{ID: id(3), Type: "peerToPeer", Start: start, End: start.Add(20 * time.Second), Organizer: MarcID,
		Sessions: []Session{{ID: id(301), Caller: as(teamsIOS, MarcID), Callee: Endpoint{Phone: "+14255550100"},
			Modalities: []string{"audio"}, Start: start, End: start.Add(20 * time.Second),
			FailureStage: "callSetup", FailureReason: "mediaConnectivityFailure", Media: []string{"main-audio"}}}})

	start = at(10 * 24 * time.Hour)
	s.AddCall(Call{ID: id(4), Type: "peerToPeer", Start: start, End: start.Add(30 * time.Minute), Organizer: KenID,
		Sessions: []Session{{ID: id(401), Caller: Endpoint{UserID: KenID, LegacyIdentity: true, UserAgent: skypeWindows.UserAgent, Platform: "windows", ProductFamily: "skypeForBusiness"},
			Callee:     Endpoint{UserID: MarcID, LegacyIdentity: true, UserAgent: teamsWindows.UserAgent, Platform: "windows", ProductFamily: "teams"},
			Modalities: []string{"audio", "video"}, Start: start, End: start.Add(30 * time.Minute), Media: []string{"main-audio", "main-video"}}}})

	start = at(5 * time.Hour)
	s.AddCall(Call{ID: id(5), Type: "peerToPeer", Start: start, End: start.Add(3 * time.Minute), Organizer: KenID,
		Sessions: []Session{{ID: id(501), Caller: as(skypeWindows, KenID), Callee: Endpoint{Phone: "+442071838750"},
			Modalities: []string{"audio"}, Start: start, End: start.Add(3 * time.Minute), Media: []string{"main-audio"}}}})
}
