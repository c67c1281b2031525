package nl_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessionbot/sessionbot/commands"
	"github.com/sessionbot/sessionbot/commands/nl"
	"github.com/sessionbot/sessionbot/commands/nl/nltest"
	"github.com/sessionbot/sessionbot/vendors"
)

// instance is a vendor instance that counts what it is asked to end.
type instance struct {
	name      string
	typ       vendors.Type
	loggedOut atomic.Int32
}

func (i *instance) Name() string                { return i.name }
func (i *instance) Type() vendors.Type          { return i.typ }
func (i *instance) Probe(context.Context) error { return nil }
func (i *instance) LogoutUser(context.Context, vendors.Identity) (vendors.Listing, error) {
	i.loggedOut.Add(1)
	return vendors.Listing{}, nil
}

func TestForServiceTranslatesInTheRequestersTimeZone(t *testing.T) {
	fake := nltest.New(apiKey)
	defer fake.Close()
	fake.Always(nltest.Call(args(map[string]any{"verb": "list", "user": "ken", "targets": []string{"teams"}, "since": "2026-11-22T11:00:00Z"})))
	tr, _ := newTranslator(t, fake)
	var asked string
	f := nl.ForService{Translator: tr, Instances: nl.EvalInstances, TimeZone: func(_ context.Context, id string) *time.Location {
		asked = id
		return paris(t)
	}}
	typed, err := f.Translate(context.Background(), "ken's teams calls since yesterday noon", commands.Caller{ChatID: "U0KEN"}, now)
	if err != nil || typed != "list ken on teams since 2026-11-22T11:00Z" {
		t.Fatalf("Translate = %q, %v", typed, err)
	}
	if asked != "U0KEN" || !strings.Contains(fake.Last().Messages()[0].Content, "Europe/Paris") {
		t.Errorf("time zone asked for %q; prompt: %s", asked, fake.Last().Messages()[0].Content)
	}

	fake.Always(nltest.Status(429))
	_, err = f.Translate(context.Background(), "who is on teams", commands.Caller{ChatID: "U0KEN"}, now)
	var r *commands.Refusal
	if !errors.As(err, &r) || !strings.Contains(r.Reason, "rate limited") {
		t.Errorf("error %v, want a *commands.Refusal saying why", err)
	}
}

// Through the service, a logout the model proposes comes back for
// confirmation and ends nothing.
func TestAProposedLogoutEndsNothing(t *testing.T) {
	fake := nltest.New(apiKey)
	defer fake.Close()
	fake.Always(nltest.Call(args(map[string]any{"verb": "logout", "user": "jsmith", "targets": []string{"commvault"}})))
	tr, _ := newTranslator(t, fake)
	cv := &instance{name: "commvault", typ: vendors.Commvault}
	reg, err := vendors.NewRegistry(cv)
	if err != nil {
		t.Fatal(err)
	}
	svc := commands.New(commands.Config{Registry: reg, Clock: func() time.Time { return now },
		Translator: nl.ForService{Translator: tr, Instances: nl.InstancesOf(reg)}})
	reply := svc.Interpret(context.Background(), commands.Caller{ChatID: "U0ONCALL"}, "kick jsmith out of commvault")
	if !reply.NeedsConfirmation || reply.Understood != "logout jsmith on commvault" {
		t.Errorf("reply understood %q, confirmation %v; want the logout shown back for confirmation", reply.Understood, reply.NeedsConfirmation)
	}
	if n := cv.loggedOut.Load(); n != 0 {
		t.Errorf("the instance was asked to log out %d times", n)
	}
	enum := fake.Last().Tools()[0]["parameters"].(map[string]any)["properties"].(map[string]any)["targets"].(map[string]any)["items"].(map[string]any)["enum"]
	if got := anyStrings(enum); strings.Join(got, ",") != "commvault" {
		t.Errorf("targets enum %v, want the registry's one instance", got)
	}
}
