package bot

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sessionbot/sessionbot/bot/slacktest"
	"github.com/sessionbot/sessionbot/commands"
	"github.com/sessionbot/sessionbot/store"
	"github.com/sessionbot/sessionbot/vendors"
)

// homeRequests are n requests whose every text is as long and as hostile
// as a vendor or a person could make it.
func homeRequests(n int, requester string) []commands.RequestView {
	long := strings.Repeat("<!channel> & `x` *b* ", 40)
	at := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	out := make([]commands.RequestView, n)
	for i := range out {
		r := store.Request{ID: fmt.Sprintf("R%07d", i), Action: store.ActionEndSession, Vendor: "qlik", Instance: "qlik-" + long,
			SessionID: long, TargetDirectory: long, TargetUser: long, Node: long, Reason: long, Requester: requester,
			ApprovalsNeeded: 2, State: store.StatePending, CreatedAt: at, ExpiresAt: at.Add(time.Hour), Outcome: long}
		if i%3 == 1 {
			r.State, r.DecidedAt = store.StateDenied, at
		}
		out[i] = commands.RequestView{Request: r, Votes: []store.Vote{{RequestID: r.ID, Voter: "U0APP2", Approve: true, Reason: long, At: at}}}
	}
	return out
}

// capped gives at most commands.HomeLimit views and the count left out, as
// the service does.
func capped(v []commands.RequestView) ([]commands.RequestView, int) {
	if len(v) <= commands.HomeLimit {
		return v, 0
	}
	return v[:commands.HomeLimit], len(v) - commands.HomeLimit
}

func homeInstances(n int) []commands.ProbeResult {
	out := make([]commands.ProbeResult, n)
	for i := range out {
		out[i].Name, out[i].Type = fmt.Sprintf("qlik-%d-<!here>", i), vendors.Qlik
		if i%2 == 0 {
			out[i].At, out[i].Err = time.Now(), errors.New(strings.Repeat("refused <!channel> ", 50))
		}
	}
	return out
}

func TestHomeViewsPassTheStrictValidator(t *testing.T) {
	t.Parallel()
	for _, n := range []int{0, 1, 500} {
		waiting, waitingMore := capped(homeRequests(n, "U0REQ"))
		mine, mineMore := capped(homeRequests(n, "U0REQ"))
		decided, _ := capped(homeRequests(min(n, commands.HomeLimit/2), "U0REQ"))
		homes := map[string]commands.Home{
			"approver":  {Approver: true, Waiting: waiting, WaitingMore: waitingMore, Decided: decided},
			"requester": {Mine: mine, MineMore: mineMore},
			"lister":    {Lister: true, Instances: homeInstances(n)},
			"everything": {Lister: true, Approver: true, Waiting: waiting, WaitingMore: waitingMore, Decided: decided,
				Mine: mine, MineMore: mineMore, Instances: homeInstances(n), Problem: "store <!channel> down"},
			"nobody": {},
		}
		for role, h := range homes {
			t.Run(fmt.Sprintf("%s with %d requests", role, n), func(t *testing.T) {
				view := homeView(h, "/sessions", "Request R1 <!channel>: "+strings.Repeat("x", 4000))
				raw, err := json.Marshal(view)
				if err != nil {
					t.Fatal(err)
				}
				if err := slacktest.ValidateView(raw); err != nil {
					t.Fatalf("Slack would refuse this Home: %v", err)
				}
				for _, m := range markup {
					if strings.Contains(string(raw), m) {
						t.Fatalf("%s reached the Home unescaped", m)
					}
				}
				if waitingMore > 0 && (role == "approver" || role == "everything") && !strings.Contains(string(raw), fmt.Sprintf("and %d more", waitingMore)) {
					t.Fatalf("the Home does not say %d more wait", waitingMore)
				}
				if role == "nobody" && !strings.Contains(string(raw), "not on this bot") {
					t.Fatal("someone with no rights is not told why the Home is empty")
				}
			})
		}
	}
}

func TestHomeButtonsAreTheApprovalMessages(t *testing.T) {
	t.Parallel()
	v := homeRequests(1, "U0REQ")[0]
	home, _ := json.Marshal(homeView(commands.Home{Approver: true, Waiting: []commands.RequestView{v}, Mine: []commands.RequestView{v}}, "/sessions", ""))
	msg, _ := json.Marshal(approvalMessage(v.Request, nil, nil).Blocks)
	for _, want := range []string{
		`"action_id":"` + ActionApprove + `","value":"` + v.Request.ID + `"`,
		`"action_id":"` + ActionDeny + `","value":"` + v.Request.ID + `"`,
	} {
		if !strings.Contains(string(msg), want) || !strings.Contains(string(home), want) {
			t.Fatalf("the Home and the approval message do not share the button %s", want)
		}
	}
	if !strings.Contains(string(home), `"action_id":"`+ActionWithdraw+`","value":"`+v.Request.ID+`"`) {
		t.Fatal("a pending request of the viewer has no Withdraw button")
	}
}
