package testkit

import (
	"testing"

	"github.com/sessionbot/sessionbot/vendors"
	"github.com/sessionbot/sessionbot/vendors/qlik"
	"github.com/sessionbot/sessionbot/vendors/qlik/qliktest"
)

// QlikRegistry is a registry of one Qlik instance on site: cfg with the
// site's proxies and client certificate, named qlik-prod unless cfg names
// it.
func QlikRegistry(tb testing.TB, site *qliktest.Site, cfg qlik.Config) *vendors.Registry {
	tb.Helper()
	files, err := site.ClientFiles(tb.TempDir())
	if err != nil {
		tb.Fatal(err)
	}
	if cfg.Name == "" {
		cfg.Name = "qlik-prod"
	}
	cfg.Proxies, cfg.CertFile, cfg.KeyFile, cfg.CAFile = site.Proxies(), files.Cert, files.Key, files.CA
	in, err := qlik.New(cfg, vendors.Env{})
	if err != nil {
		tb.Fatal(err)
	}
	reg, err := vendors.NewRegistry(in)
	if err != nil {
		tb.Fatal(err)
	}
	return reg
}
