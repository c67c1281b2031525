package deploy

import (
	"os"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// TestReleaseConfig checks what `goreleaser check` does not: that every
// file the packages and the image take exists, that the six targets are
// built, and that the binaries are stamped like the Dockerfile's.
func TestReleaseConfig(t *testing.T) {
	t.Parallel()
	src, err := os.ReadFile("../.goreleaser.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	if err := yaml.Unmarshal(src, &cfg); err != nil {
		t.Fatal(err)
	}
	build := at(cfg, "builds", 0)
	if got := strs(at(build, "goos")); !slices.Equal(got, []string{"linux", "darwin", "windows"}) {
		t.Errorf("goos = %v", got)
	}
	if got := strs(at(build, "goarch")); !slices.Equal(got, []string{"amd64", "arm64"}) {
		t.Errorf("goarch = %v", got)
	}
	if !slices.Contains(strs(at(build, "env")), "CGO_ENABLED=0") || !slices.Contains(strs(at(build, "flags")), "-trimpath") {
		t.Errorf("the release build is not static and trimmed: env %v flags %v", at(build, "env"), at(build, "flags"))
	}
	ldflags := strings.Join(strs(at(build, "ldflags")), " ")
	for _, v := range []string{"version", "commit", "date"} {
		if !strings.Contains(ldflags, "-X main."+v+"=") {
			t.Errorf("ldflags do not stamp main.%s: %s", v, ldflags)
		}
	}

	exists := func(what, path string) {
		if _, err := os.Stat("../" + path); err != nil {
			t.Errorf("%s %s: %v", what, path, err)
		}
	}
	nfpm := at(cfg, "nfpms", 0)
	dsts := map[string]bool{}
	for _, c := range at(nfpm, "contents").([]any) {
		if src, ok := at(c, "src").(string); ok {
			exists("nfpm content", src)
		}
		dsts[at(c, "dst").(string)] = true
	}
	for _, dst := range []string{"/usr/lib/systemd/system/sessionbot.service", "/etc/sessionbot/sessionbot.yaml"} {
		if !dsts[dst] {
			t.Errorf("the packages do not install %s", dst)
		}
	}
	for _, script := range at(nfpm, "scripts").(map[string]any) {
		exists("nfpm script", script.(string))
	}
	if got := strs(at(nfpm, "formats")); !slices.Equal(got, []string{"deb", "rpm"}) {
		t.Errorf("nfpm formats = %v, want deb and rpm", got)
	}
	for _, f := range strs(at(cfg, "archives", 0, "files")) {
		exists("archive file", f)
	}
	exists("image Dockerfile", at(cfg, "dockers_v2", 0, "dockerfile").(string))
}
