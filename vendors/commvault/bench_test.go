package commvault_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sessionbot/sessionbot/vendors"
	"github.com/sessionbot/sessionbot/vendors/commvault"
	"github.com/sessionbot/sessionbot/vendors/commvault/commvaulttest"
)

// benchInstance is a logged-in adapter with Marc's id cached, against a
// fake where Marc has sessions sessions.
func benchInstance(b *testing.B, form commvaulttest.Form, sessions int) (*commvault.Instance, *commvaulttest.Server) {
	srv := newServer(b, commvaulttest.Options{Seed: true, Form: form})
	for i := range sessions - 2 {
		if err := srv.AddSession(commvaulttest.Session{ID: fmt.Sprintf("EMC-BENCH-%d", i), UserID: commvaulttest.MarcUserID,
			Host: "host.corp.contoso.com", ConsoleType: 19, LoginTime: time.Unix(1700000000, 0)}); err != nil {
			b.Fatal(err)
		}
	}
	in := newInstance(b, configFor(b, srv))
	if _, err := in.ListUserSessions(testContext(b), vendors.UserQuery{User: marc}); err != nil {
		b.Fatal(err)
	}
	return in, srv
}

// BenchmarkListUserSessions is the list path a command takes once the bot
// is logged in: cached user id, one HTTPS request on a kept-alive
// connection, decoding, mapping.
func BenchmarkListUserSessions(b *testing.B) {
	for _, bench := range []struct {
		name     string
		form     commvaulttest.Form
		sessions int
	}{
		{"json/2", commvaulttest.FormAuto, 2},
		{"json/50", commvaulttest.FormAuto, 50},
		{"xml/50", commvaulttest.FormXML, 50},
	} {
		b.Run(bench.name, func(b *testing.B) {
			in, srv := benchInstance(b, bench.form, bench.sessions)
			ctx := testContext(b)
			b.ReportAllocs()
			for b.Loop() {
				got, err := in.ListUserSessions(ctx, vendors.UserQuery{User: marc})
				if err != nil || len(got.Sessions) != bench.sessions {
					b.Fatalf("%d sessions, %v", len(got.Sessions), err)
				}
			}
			if srv.Logins() != 1 {
				b.Errorf("logins = %d", srv.Logins())
			}
		})
	}
}

// BenchmarkListUserSessionsParallel is many commands at once sharing the
// token and the connection pool.
func BenchmarkListUserSessionsParallel(b *testing.B) {
	in, srv := benchInstance(b, commvaulttest.FormAuto, 2)
	ctx := testContext(b)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := in.ListUserSessions(ctx, vendors.UserQuery{User: marc}); err != nil {
				b.Error(err)
				return
			}
		}
	})
	if srv.Logins() != 1 {
		b.Errorf("logins = %d", srv.Logins())
	}
}

// BenchmarkDecodeSessions is decoding and mapping alone, without the network.
func BenchmarkDecodeSessions(b *testing.B) {
	const n = 50
	var js, xs strings.Builder
	js.WriteString(`{"sessions":[`)
	xs.WriteString(`<?xml version="1.0" encoding="UTF-8" standalone="no" ?><Api_GetSessionsResp>`)
	for i := range n {
		if i > 0 {
			js.WriteString(",")
		}
		fmt.Fprintf(&js, `{"sessionId":"EMC-%d","browserSessionId":"3","loginTime":1453328412,"logoutTime":0,"host":"host002","consoleType":5,"user":{"userName":"jsmith","userId":10}}`, i)
		fmt.Fprintf(&xs, `<sessions logoutTime="0" loginTime="1453328412" host="host002" description="" sessionId="EMC-%d" browserSessionId="3" consoleType="5"><user userName="jsmith" userId="10" /></sessions>`, i)
	}
	js.WriteString(`]}`)
	xs.WriteString(`</Api_GetSessionsResp>`)
	srv := newServer(b, commvaulttest.Options{})
	in := newInstance(b, configFor(b, srv))
	for _, bench := range []struct{ name, body, ctype string }{
		{"json/50", js.String(), "application/json"},
		{"xml/50", xs.String(), "application/xml"},
	} {
		b.Run(bench.name, func(b *testing.B) {
			b.SetBytes(int64(len(bench.body)))
			b.ReportAllocs()
			for b.Loop() {
				got, err := commvault.ParseSessions(in, bench.body, bench.ctype, 10, "jsmith")
				if err != nil || len(got) != n {
					b.Fatalf("%d, %v", len(got), err)
				}
			}
		})
	}
}
