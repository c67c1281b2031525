package bot

import (
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, to build a version 003 database by hand
	"github.com/slack-go/slack"

	"github.com/sessionbot/sessionbot/bot/slacktest"
	"github.com/sessionbot/sessionbot/commands"
	"github.com/sessionbot/sessionbot/store"
	"github.com/sessionbot/sessionbot/store/enginetest"
	"github.com/sessionbot/sessionbot/vendors"
	"github.com/sessionbot/sessionbot/vendors/qlik/qliktest"
)

// atVersion3 applies an engine's migrations 001 to 003 (its own files and
// the shared ones, in name order) as the bot before migration 004 did, so a
// test can fill the old columns.
func atVersion3(t *testing.T, db *sql.DB, dir string) {
	t.Helper()
	if _, err := db.Exec(`CREATE TABLE schema_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	for v := 1; v <= 3; v++ {
		var files []string
		for _, d := range []string{dir, "../store/internal/sqldb/migrations"} {
			names, err := filepath.Glob(filepath.Join(d, fmt.Sprintf("%03d_*.sql", v)))
			if err != nil {
				t.Fatal(err)
			}
			files = append(files, names...)
		}
		slices.SortFunc(files, func(a, b string) int { return strings.Compare(filepath.Base(a), filepath.Base(b)) })
		for _, name := range files {
			body, err := os.ReadFile(name)
			if err != nil {
				t.Fatal(err)
			}
			for _, stmt := range strings.Split(string(body), ";") {
				if strings.TrimSpace(stmt) == "" {
					continue
				}
				if _, err := db.Exec(stmt); err != nil {
					t.Fatalf("%s: %v", name, err)
				}
			}
		}
		if _, err := db.Exec(`INSERT INTO schema_migrations (version, applied_at) VALUES ($1, 0)`, v); err != nil {
			t.Fatal(err)
		}
	}
}

// TestARequestPostedBeforeMigration4IsStillApprovable: a pending request
// whose approval message was posted while the store kept Slack columns is
// migrated to a delivery record, approved, and its original message is
// updated and its requester told where they asked.
func TestARequestPostedBeforeMigration4IsStillApprovable(t *testing.T) {
	for _, e := range enginetest.All() {
		t.Run(e.Name, func(t *testing.T) {
			fake := slacktest.New(slacktest.Options{BotToken: "xoxb-b", AppToken: "xapp-a",
				Users: []slacktest.User{{ID: "U0REQ", Name: "requester"}, {ID: "U0LEAD", Name: "lead"}}})
			defer fake.Close()
			// The approval message as the old bot posted it.
			ch, ts, err := slack.New("xoxb-b", slack.OptionAPIURL(fake.APIURL())).PostMessage("C0APPROVALS", slack.MsgOptionText("request R7K2ABCD", false))
			if err != nil {
				t.Fatal(err)
			}
			dsn := e.New(t)
			db := e.Raw(t, dsn)
			atVersion3(t, db, "../store/"+e.Name+"/migrations")
			now := time.Now()
			const id = "R7K2ABCD"
			// Created 40 minutes ago: its response_url has lapsed, so the
			// requester is told in the channel they asked in. Its
			// characters are ones JSON or SQL must escape.
			const lapsed = `https://hooks.slack.com/actions/T0/1/lapsed?a=1&b="q"<\'x' `
			_, err = db.Exec(`INSERT INTO requests (id, action, vendor, instance, session_id, target_directory, target_user, reason, requester,
				requester_channel, response_url, approvals_needed, state, created_at, expires_at, approval_channel, approval_ts, approval_shown)
				VALUES ($1, 'end_session', 'qlik', 'qlik-retired', 's-1', 'CORP', 'marc', 'stuck', 'U0REQ',
				'C0OPS', $6, 1, 'pending', $2, $3, $4, $5, 'pending')`,
				id, now.Add(-40*time.Minute).UnixMicro(), now.Add(time.Hour).UnixMicro(), ch, ts, lapsed)
			if err != nil {
				t.Fatal(err)
			}
			db.Close()

			st, err := e.Open(t.Context(), dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			migrated, _, err := st.GetRequest(t.Context(), id)
			if err != nil {
				t.Fatal(err)
			}
			// The same record as the notifier writes, read as it reads it
			// (JSON may spell a character either way).
			want := delivery{ResponseURL: lapsed, RequesterChannel: "C0OPS", ApprovalChannel: ch, ApprovalTS: ts}
			if got := decodeDelivery(migrated.Delivery); got != want || migrated.ApprovalShown != store.StatePending {
				t.Errorf("migrated delivery %q (%+v) showing %q, want %+v showing pending", migrated.Delivery, got, migrated.ApprovalShown, want)
			}

			logger := slog.New(slog.NewTextHandler(io.Discard, nil))
			s := NewSlack(Config{BotToken: "xoxb-b", AppToken: "xapp-a", APIURL: fake.APIURL(), Logger: logger,
				ApprovalChannel: func(string) string { return "C0APPROVALS" }})
			reg, _ := vendors.NewRegistry()
			svc := commands.New(commands.Config{Registry: reg, Logger: logger,
				Access: &commands.Access{Default: commands.Policy{Requesters: []string{"U0REQ"}, Approvers: []string{"U0LEAD"},
					ApprovalsNeeded: 1, TTL: time.Hour}},
				Approvals: &commands.Approvals{Store: st, Notifier: s.Notifier(func(string) []string { return []string{"U0LEAD"} }), ReplicaID: "r1"},
			})
			svc.Handle(t.Context(), commands.Caller{ChatID: "U0LEAD"}, "approve "+id)

			posts := fake.Posts()
			if !slices.ContainsFunc(posts, func(p slacktest.Post) bool {
				return p.Method == "chat.update" && p.Channel == ch && p.TS == ts && strings.Contains(p.Text, id)
			}) {
				t.Errorf("the original approval message %s %s was not updated: %+v", ch, ts, posts)
			}
			if !slices.ContainsFunc(posts, func(p slacktest.Post) bool {
				return p.Method == "chat.postEphemeral" && p.Channel == "C0OPS" && p.User == "U0REQ"
			}) {
				t.Errorf("the requester was not told in C0OPS: %+v", posts)
			}
			if v := fake.Violations(); len(v) > 0 {
				t.Errorf("Block Kit violations: %v", v)
			}
		})
	}
}

// TestTheRequesterIsToldTheOutcomeOnTheResponseURLOfTheirConfirmation: the
// reply handle a click hands commands is kept in the delivery record, with
// the approval message's place, and used for the outcome.
func TestTheRequesterIsToldTheOutcomeOnTheResponseURLOfTheirConfirmation(t *testing.T) {
	reg, site := demoRegistry(t)
	fake := slacktest.New(slacktest.Options{BotToken: "xoxb-b", AppToken: "xapp-a", Scopes: RequiredScopes})
	defer fake.Close()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	s := NewSlack(Config{BotToken: "xoxb-b", AppToken: "xapp-a", APIURL: fake.APIURL(), Logger: logger,
		ApprovalChannel: func(string) string { return "C0APPROVALS" }})
	svc, st := approvingService(t, reg, s)
	RunConnected(t, New(s, svc), fake)
	cmd, err := commands.Parse("kill "+qliktest.MarcSessionOnProxy0+" on qlik-prod reason stuck", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	value, _ := encodeAction(cmd, "K0")
	confirm, err := fake.SendBlockAction(slacktest.BlockAction{UserID: "U0ONCALL", ChannelID: "C0OPS", ActionID: ActionConfirm, Value: value})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fake.WaitResponses(confirm.ResponseID, 1, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	reqs, err := st.ListRequests(t.Context(), store.StatePending)
	if err != nil || len(reqs) != 1 {
		t.Fatalf("pending requests %+v, %v; want the one confirmed", reqs, err)
	}
	posts := fake.Posts()
	approval := posts[len(posts)-1]
	want := delivery{ResponseURL: confirm.ResponseURL, RequesterChannel: "C0OPS", ApprovalChannel: approval.Channel, ApprovalTS: approval.TS}
	if got := decodeDelivery(reqs[0].Delivery); got != want || approval.Channel != "C0APPROVALS" {
		t.Errorf("delivery record %+v, want %+v", got, want)
	}

	svc.Handle(t.Context(), commands.Caller{ChatID: "U0LEAD"}, "approve "+reqs[0].ID)
	told, err := fake.WaitResponses(confirm.ResponseID, 2, 10*time.Second)
	if err != nil {
		t.Fatalf("the requester was not told the outcome on their response_url: %v", err)
	}
	if got := string(told[1].Blocks) + told[1].Text; !strings.Contains(got, reqs[0].ID) || told[1].ResponseType != "ephemeral" {
		t.Errorf("told %s (%s), want the outcome of %s to the requester only", got, told[1].ResponseType, reqs[0].ID)
	}
	if site.Deletes() != 1 {
		t.Errorf("%d deletes, want the approved one", site.Deletes())
	}
}
