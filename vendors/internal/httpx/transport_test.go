package httpx_test

import (
	"crypto/x509"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sessionbot/sessionbot/internal/testpki"
	"github.com/sessionbot/sessionbot/vendors/internal/httpx"
)

func TestLoadCA(t *testing.T) {
	ca, err := testpki.NewCA("load test CA")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	tests := []struct {
		name    string
		path    string
		problem string
	}{
		{"a PEM CA is trusted", write("root.pem", ca.CertPEM), ""},
		{"a missing file cannot be read", filepath.Join(dir, "missing.pem"), "cannot be read: no such file or directory"},
		{"a file without PEM is refused without quoting it", write("notes.txt", []byte("s3cret not a certificate")), "contains no PEM certificate that can be parsed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pool, problems := httpx.LoadCA(tt.path, "give the CA")
			if tt.problem == "" {
				if len(problems) != 0 {
					t.Fatalf("problems: %v", problems)
				}
				if _, err := ca.Cert.Verify(x509.VerifyOptions{Roots: pool}); err != nil {
					t.Fatalf("the CA is not in the pool: %v", err)
				}
				return
			}
			if len(problems) != 1 || problems[0].Key != "ca_file" || problems[0].Value != tt.path ||
				problems[0].Problem != tt.problem || problems[0].Fix != "give the CA" {
				t.Fatalf("problems %+v, want one under ca_file for %s saying %q", problems, tt.path, tt.problem)
			}
			if strings.Contains(problems.Error(), "s3cret") {
				t.Fatalf("the file's content is quoted: %v", problems)
			}
		})
	}
}
