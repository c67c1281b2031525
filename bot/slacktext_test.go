package bot

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/sessionbot/sessionbot/bot/slacktest"
	"github.com/sessionbot/sessionbot/commands"
	"github.com/sessionbot/sessionbot/internal/testkit"
	"github.com/sessionbot/sessionbot/vendors/qlik/qliktest"
)

func TestSlackTextReachesCommandsAsPlainText(t *testing.T) {
	tests := []struct {
		name, slack, plain string
		want               commands.UserRef
	}{
		{"a mention with the name Slack adds", `list <@U0123ABC|marc>`, `list  @U0123ABC `,
			commands.UserRef{Form: commands.Mention, ChatID: "U0123ABC"}},
		{"a mention without a name", `list <@W0123ABC>`, `list  @W0123ABC `,
			commands.UserRef{Form: commands.Mention, ChatID: "W0123ABC"}},
		{"a mention with no space before it", `list<@U0123ABC>`, `list @U0123ABC `,
			commands.UserRef{Form: commands.Mention, ChatID: "U0123ABC"}},
		{"a mailto link", `list <mailto:marc@contoso.com|marc@contoso.com>`, `list marc@contoso.com`,
			commands.UserRef{Form: commands.Email, Email: "marc@contoso.com"}},
		{"an escaped ampersand in a user id", `list CORP\a&amp;b`, `list CORP\a&b`,
			commands.UserRef{Form: commands.Account, Directory: "CORP", Name: "a&b"}},
		{"escaped angle brackets", `list CORP\&lt;x&gt;`, `list CORP\<x>`,
			commands.UserRef{Form: commands.Account, Directory: "CORP", Name: "<x>"}},
		{"a link keeps what was typed", `list <http://corp.example|corp.example>\marc`, `list corp.example\marc`,
			commands.UserRef{Form: commands.Account, Directory: "corp.example", Name: "marc"}},
		{"a link without a label keeps its target", `list <https://x.example/>`, `list https://x.example/`,
			commands.UserRef{Form: commands.Account, Directory: "https:", Name: "/x.example/"}},
		{"a mention that is no Slack id stays a name to look up", `list <@hello>`, `list @hello`,
			commands.UserRef{Form: commands.Mention, ChatID: "hello"}},
		{"an HTML entity Slack never writes stays as it came", `list CORP\a&copy`, `list CORP\a&copy`,
			commands.UserRef{Form: commands.Account, Directory: "CORP", Name: "a&copy"}},
		{"an escaped ampersand before an entity name is one ampersand", `list CORP\a&amp;copy`, `list CORP\a&copy`,
			commands.UserRef{Form: commands.Account, Directory: "CORP", Name: "a&copy"}},
		{"plain text is left alone", `list @U0MARC on qlik-prod`, `list @U0MARC on qlik-prod`,
			commands.UserRef{Form: commands.Mention, ChatID: "U0MARC"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plain, err := plainText(tt.slack)
			if err != nil {
				t.Fatalf("plainText(%q): %v", tt.slack, err)
			}
			if plain != tt.plain {
				t.Errorf("plainText(%q) = %q, want %q", tt.slack, plain, tt.plain)
			}
			cmd, err := commands.Parse(plain, t0)
			if err != nil {
				t.Fatalf("Parse(%q): %v", plain, err)
			}
			if cmd.User != tt.want {
				t.Errorf("person = %#v, want %#v", cmd.User, tt.want)
			}
		})
	}
}

func TestSlackChannelsGroupsAndBroadcastsAreRefused(t *testing.T) {
	for _, text := range []string{
		`list <#C123|general>`, `list <#C123>`, `list <!subteam^S123|oncall>`, `list <!here>`,
		`list <!channel>`, `list <@S123>`, `logout <!everyone> on teams`,
	} {
		_, err := plainText(text)
		var pe *commands.ParseError
		if !errors.As(err, &pe) || !strings.Contains(pe.Problem, "Channels and user groups cannot be listed") {
			t.Errorf("plainText(%q) error = %v, want the channels and groups refusal", text, err)
		}
	}
}

// The limit on a command's length applies to what it converts to: Slack
// makes a command longer (&amp; for &, a name beside a mention), and the
// person is told the length they typed.
func TestTheLengthLimitCountsTheConvertedText(t *testing.T) {
	tests := []struct {
		name, slack string
		wantErr     string // empty: the converted text parses
	}{
		{"escaped ampersands under the limit once converted", "list CORP\\" + strings.Repeat("&amp;", 300), ""},
		{"a mention with its name and escapes, under the limit once converted", "logout <@U0MARC|marc> on qlik-prod reason " + strings.Repeat("&lt;&gt; ", 110), ""},
		{"over the limit once converted, told its converted length", "list CORP\\" + strings.Repeat("&amp;", 1200), "1210 characters long"},
		{"a paste far over the limit is refused unread", strings.Repeat("<@U0MARC> ", 1000), "10000 characters long"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plain, err := plainText(tt.slack)
			if err == nil {
				_, err = commands.Parse(plain, t0)
			}
			if (err == nil) != (tt.wantErr == "") || err != nil && !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("reading %d characters of Slack text: %v, want an error with %q", len(tt.slack), err, tt.wantErr)
			}
		})
	}
}

// A value typed into a text box is taken as typed: what message text
// would turn into something else stays, only spaces are tidied.
func TestTypedInputIsTakenAsTyped(t *testing.T) {
	tests := []struct{ typed, want string }{
		{"R&amp;D owns this box", "R&amp;D owns this box"},
		{"wait for <INC-4711> first", "wait for <INC-4711> first"},
		{"ask in <#C0OPS|ops> first", "ask in <#C0OPS|ops> first"},
		{"&copy &not &reg", "&copy &not &reg"},
		{"  stuck\n after   the deploy ", "stuck after the deploy"},
	}
	for _, tt := range tests {
		if got := inputText(tt.typed); got != tt.want {
			t.Errorf("inputText(%q) = %q, want %q", tt.typed, got, tt.want)
		}
	}
}

func TestDirectorySaysAnIDThatIsNoSlackUserIsNoPerson(t *testing.T) {
	d := newUserDirectory(nil, 0) // no API: these must not reach Slack
	for _, id := range []string{"marc", "S0LEADS", "C0OPS", "", "u0marc"} {
		_, err := d.Email(context.Background(), id)
		var unknown *commands.UnknownPerson
		if !errors.As(err, &unknown) || !strings.Contains(unknown.Hint, "Slack's list") {
			t.Errorf("Email(%q) error = %v, want an UnknownPerson with a hint", id, err)
		}
	}
}

func TestOldButtonsWithSlackMentionsStillDecode(t *testing.T) {
	cmd, _, err := decodeAction(`{"v":1,"verb":"logout","i":"teams","u":"<@U0MARC>","r":"left"}`)
	want := commands.Command{Verb: commands.Logout, Targets: []string{"teams"}, Reason: "left",
		User: commands.UserRef{Form: commands.Mention, ChatID: "U0MARC"}}
	if err != nil || !reflect.DeepEqual(cmd, want) {
		t.Errorf("decodeAction = %#v, %v; want %#v", cmd, err, want)
	}
	if !checkRoundTrip(t, want, "") {
		t.Error("a logout of a mentioned person cannot be carried by a button")
	}
}

func TestTheNamedPersonIsAMentionInAProblem(t *testing.T) {
	tests := []struct {
		name    string
		user    commands.UserRef
		message string
		want    []string
		notWant []string
	}{
		{"a Slack user is mentioned, once per place", commands.UserRef{Form: commands.Mention, ChatID: "U0MARC"},
			"I couldn't find the email of @U0MARC (x). Not @U0MARCO, not a@U0MARC, not <b>.",
			[]string{"of <@U0MARC> (x)", "Not @U0MARCO,", "not a@U0MARC,", "&lt;b&gt;"}, []string{"<@U0MARCO", "a<@"}},
		{"a name that is no Slack id stays text", commands.UserRef{Form: commands.Mention, ChatID: "marc"},
			`"@marc" is not a person I know.`, []string{`"@marc" is not`}, []string{"<@"}},
		{"an account is never a mention", commands.UserRef{Form: commands.Account, Directory: "CORP", Name: "U0MARC"},
			"no @U0MARC here", []string{"no @U0MARC here"}, []string{"<@"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := commands.Reply{Command: commands.Command{Verb: commands.List, User: tt.user}, Title: "I couldn't run that",
				Problem: &commands.Problem{Message: tt.message}}
			msg := Render(r, 1)
			checkMessage(t, msg)
			section, ok := msg.Blocks[1].(*slack.SectionBlock)
			if !ok {
				t.Fatalf("block 1 is %T, want the problem's section", msg.Blocks[1])
			}
			testkit.Says(t, section.Text.Text, tt.want, tt.notWant)
		})
	}
}

func FuzzSlackTextNeverPanics(f *testing.F) {
	for _, s := range []string{`list <@U1|x>`, `show &lt;x&gt;`, `<`, `<<@U1>>`, `<mailto:>`, `<|>`, `&amp;lt;`, `list <#C1> <@U1>`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		plain, err := plainText(s)
		if err != nil {
			return
		}
		if !strings.ContainsAny(s, "<&") && plain != s {
			t.Fatalf("plainText(%q) = %q: text without Slack markup changed", s, plain)
		}
		c, err := commands.Parse(plain, t0)
		if err == nil && c.Verb == "" {
			t.Fatalf("Parse(%q) gave no verb and no error", plain)
		}
	})
}

func TestDirectoryAnswersWhatSlackKnows(t *testing.T) {
	fake := slacktest.New(slacktest.Options{BotToken: "xoxb-d", AppToken: "xapp-d", Users: []slacktest.User{
		{ID: "U0MARC", Name: "marc", Email: "marc@contoso.com"},
		{ID: "U0NOMAIL", Name: "nomail"},
		{ID: "U0GONE", Name: "gone", Email: "gone@contoso.com", Deleted: true},
	}})
	defer fake.Close()
	d := newUserDirectory(slack.New("xoxb-d", slack.OptionAPIURL(fake.APIURL())), time.Minute)
	tests := []struct{ id, email, wantErr string }{
		{"U0MARC", "marc@contoso.com", ""},
		{"U0NOMAIL", "", "users:read.email scope"},
		{"U0GONE", "", "user U0GONE is deactivated"},
		{"U0NOBODY", "", "users.info"},
	}
	for _, tt := range tests {
		email, err := d.Email(context.Background(), tt.id)
		if email != tt.email || (err == nil) != (tt.wantErr == "") || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
			t.Errorf("Email(%s) = %q, %v; want %q and an error with %q", tt.id, email, err, tt.email, tt.wantErr)
		}
		var unknown *commands.UnknownPerson
		if errors.As(err, &unknown) {
			t.Errorf("Email(%s): a Slack user id is answered as no person: %v", tt.id, err)
		}
	}
}

// Confirm on a plain-words request carries commands' plain text: the
// proposal it makes is the one the person was shown, not the text read a
// second time as Slack's (where &amp; becomes & and <#C…> a channel).
func TestConfirmingAnUnderstoodRequestProposesWhatWasShown(t *testing.T) {
	reg, _ := demoRegistry(t)
	fake := slacktest.New(slacktest.Options{BotToken: "xoxb-b", AppToken: "xapp-a", Scopes: RequiredScopes})
	defer fake.Close()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	s := NewSlack(Config{BotToken: "xoxb-b", AppToken: "xapp-a", APIURL: fake.APIURL(), Logger: logger})
	svc, _ := approvingService(t, reg, s)
	RunConnected(t, New(s, svc), fake)
	for name, reason := range map[string]string{
		"an ampersand entity typed in the reason": "R&amp;D outage",
		"channel syntax typed in the reason":      "see <#C0OPS> thread",
		"a plain reason":                          "stuck",
	} {
		t.Run(name, func(t *testing.T) {
			understood := "kill " + qliktest.MarcSessionOnProxy0 + " on qlik-prod reason " + reason
			click, err := fake.SendBlockAction(slacktest.BlockAction{UserID: "U0ONCALL", ChannelID: "C0OPS", ActionID: ActionUnderstood, Value: understood})
			if err != nil {
				t.Fatal(err)
			}
			got, err := fake.WaitResponses(click.ResponseID, 1, 10*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			var blocks slack.Blocks
			if err := json.Unmarshal(got[0].Blocks, &blocks); err != nil {
				t.Fatal(err)
			}
			value := buttonValue(Message{Blocks: blocks.BlockSet}, ActionConfirm)
			cmd, _, err := decodeAction(value)
			if err != nil || cmd.Reason != reason {
				t.Errorf("the proposal's reason is %q (%v), want %q as shown:\n%s", cmd.Reason, err, reason, got[0].Text)
			}
		})
	}

	// A button posted when a person was written <@U…> names that person,
	// whom this bot, without a directory, cannot look up.
	click, err := fake.SendBlockAction(slacktest.BlockAction{UserID: "U0ONCALL", ChannelID: "C0OPS", ActionID: ActionUnderstood,
		Value: "logout <@U0MARC> on qlik-prod reason stuck"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := fake.WaitResponses(click.ResponseID, 1, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(got[0].Text, "look people up by @U0MARC") {
		t.Errorf("an older button's person was not read as @U0MARC: %s", got[0].Text)
	}
}
