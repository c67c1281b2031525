package slacktest

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/slack-go/slack"
)

func TestFileUploadsAreRecordedInTheirThread(t *testing.T) {
	s := newServer(t)
	c := api(s, testBotToken)
	_, ts, err := c.PostMessage("C0OPS", slack.MsgOptionText("digest", false))
	if err != nil {
		t.Fatal(err)
	}
	png := []byte("\x89PNG\r\n\x1a\nnot really")
	sum, err := c.UploadFileContext(context.Background(), slack.UploadFileParameters{
		Reader: bytes.NewReader(png), FileSize: len(png), Filename: "chart.png", Title: "Chart", AltTxt: "a chart",
		Channel: "C0OPS", ThreadTimestamp: ts,
	})
	if err != nil {
		t.Fatal(err)
	}
	files := s.Files()
	if len(files) != 1 {
		t.Fatalf("files %+v", files)
	}
	f := files[0]
	if f.ID != sum.ID || !bytes.Equal(f.Bytes, png) || f.Channel != "C0OPS" || f.ThreadTS != ts || !f.Completed || f.Title != "Chart" || f.AltText != "a chart" {
		t.Errorf("recorded %+v", f)
	}
	if v := s.Violations(); len(v) != 0 {
		t.Errorf("violations: %v", v)
	}
}

func TestFileUploadsAreRefusedAsSlackDoes(t *testing.T) {
	ctx := context.Background()
	t.Run("without files:write", func(t *testing.T) {
		s := newServer(t, func(o *Options) { o.Scopes = []string{"chat:write"} })
		_, err := api(s, testBotToken).GetUploadURLExternalContext(ctx, slack.GetUploadURLExternalParameters{FileName: "a.png", FileSize: 3})
		if err == nil || !strings.Contains(err.Error(), "missing_scope") {
			t.Errorf("err = %v, want missing_scope", err)
		}
	})
	t.Run("an unknown file", func(t *testing.T) {
		s := newServer(t)
		_, err := api(s, testBotToken).CompleteUploadExternalContext(ctx, slack.CompleteUploadExternalParameters{Files: []slack.FileSummary{{ID: "F0NOSUCH"}}})
		if err == nil || !strings.Contains(err.Error(), "file_not_found") {
			t.Errorf("err = %v, want file_not_found", err)
		}
	})
	for _, tc := range []struct {
		name, violation string
		upload          func(c *slack.Client, url string) error
		threadTS        string
	}{
		{"completed before its bytes", "before its bytes", func(*slack.Client, string) error { return nil }, ""},
		{"fewer bytes than announced", "announced", func(c *slack.Client, url string) error {
			return c.UploadToURL(ctx, slack.UploadToURLParameters{UploadURL: url, Content: "ab", Filename: "a.png"})
		}, ""},
		{"in a thread that does not exist", "no message", func(c *slack.Client, url string) error {
			return c.UploadToURL(ctx, slack.UploadToURLParameters{UploadURL: url, Content: "abc", Filename: "a.png"})
		}, "1700000000.000001"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newServer(t)
			c := api(s, testBotToken)
			u, err := c.GetUploadURLExternalContext(ctx, slack.GetUploadURLExternalParameters{FileName: "a.png", FileSize: 3})
			if err != nil {
				t.Fatal(err)
			}
			if err := tc.upload(c, u.UploadURL); err != nil {
				t.Fatal(err)
			}
			c.CompleteUploadExternalContext(ctx, slack.CompleteUploadExternalParameters{Files: []slack.FileSummary{{ID: u.FileID}}, Channel: "C0OPS", ThreadTimestamp: tc.threadTS})
			v := s.Violations()
			if len(v) != 1 || !strings.Contains(v[0].Error(), tc.violation) {
				t.Errorf("violations %v, want one saying %q", v, tc.violation)
			}
		})
	}
}
