package commvaulttest

import "time"

// The seed's people and sessions, for tests and the demo.
const (
	// JsmithUserID and SeedSessionID are the seed document's sample
	// (GET Session, V11 SP8): user jsmith, id 10, one ended CommCell
	// Console session on host002.
	JsmithUserID  = 10
	SeedSessionID = "EMCAE92D1DD-0C68-49A6-BEBB-404D96D7A4BF"
	// JsmithWebSession is an open Web Console session of jsmith's.
	JsmithWebSession = "EMC5D2A1C4B-7E0F-4B6D-9A3E-1F2B3C4D5E6F"

	// Marc is CORP\marc, marc@contoso.com: the bot maps that address to
	// CORP\{local} for Commvault.
	MarcName   = `CORP\marc`
	MarcEmail  = "marc@contoso.com"
	MarcUserID = 42
	// MarcConsoleSession is still logged in from the CommCell Console.
	MarcConsoleSession = "EMC0B1C2D3E-4F50-6172-8394-A5B6C7D8E9F0"
	// MarcCommandLineSession ended: Marc logged off the command line.
	MarcCommandLineSession = "EMC9F8E7D6C-5B4A-3928-1706-F5E4D3C2B1A0"
)

// seed makes the demo people and their sessions, with times relative to
// now except the seed document's own.
func seed(now time.Time, marcAs string) ([]User, []Session) {
	now = now.Truncate(time.Second)
	if marcAs == "" {
		marcAs = MarcName
	}
	users := []User{
		{ID: JsmithUserID, Name: "jsmith", Password: "jsmith-pw", Email: "jsmith@contoso.com", FullName: "John Smith"},
		{ID: MarcUserID, Name: marcAs, Password: "marc-pw", Email: MarcEmail, FullName: "Marc Dupont"},
	}
	sessions := []Session{
		{
			ID: SeedSessionID, UserID: JsmithUserID, BrowserSessionID: "3", Host: "host002", ConsoleType: 5,
			LoginTime: time.Unix(1453328412, 0), LogoutTime: time.Unix(1453394214, 0),
		},
		{
			ID: JsmithWebSession, UserID: JsmithUserID, BrowserSessionID: "7", Host: "ws-jsmith.contoso.com",
			Location: "Paris, FR", ConsoleType: 19,
			LoginTime: now.Add(-2 * time.Hour), LastAccessedTime: now.Add(-5 * time.Minute),
		},
		{
			ID: MarcConsoleSession, UserID: MarcUserID, Host: "pc-marc.corp.contoso.com", Location: "Lyon, FR",
			ConsoleType: 5, LoginTime: now.Add(-3 * time.Hour), LastAccessedTime: now.Add(-12 * time.Minute),
		},
		{
			ID: MarcCommandLineSession, UserID: MarcUserID, Host: "jump01.corp.contoso.com", ConsoleType: 13,
			LoginTime: now.Add(-26 * time.Hour), LastAccessedTime: now.Add(-25 * time.Hour), LogoutTime: now.Add(-25 * time.Hour),
		},
	}
	return users, sessions
}
