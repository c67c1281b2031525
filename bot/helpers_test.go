package bot_test

import (
	"testing"
	"time"

	"github.com/sessionbot/sessionbot/vendors"
	"github.com/sessionbot/sessionbot/vendors/qlik"
	"github.com/sessionbot/sessionbot/vendors/qlik/qliktest"
)

// qlikRegistry holds one Qlik instance, qlik-prod, on site's proxies; a
// zero timeout keeps the adapter's default.
func qlikRegistry(tb testing.TB, site *qliktest.Site, timeout time.Duration) *vendors.Registry {
	tb.Helper()
	files, err := site.ClientFiles(tb.TempDir())
	if err != nil {
		tb.Fatal(err)
	}
	in, err := qlik.New(qlik.Config{Name: "qlik-prod", Proxies: site.Proxies(), CertFile: files.Cert, KeyFile: files.Key, CAFile: files.CA,
		RequestTimeout: timeout}, vendors.Env{})
	if err != nil {
		tb.Fatal(err)
	}
	reg, err := vendors.NewRegistry(in)
	if err != nil {
		tb.Fatal(err)
	}
	return reg
}
