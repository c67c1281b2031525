package deploy

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const unitFile = "systemd/sessionbot.service"

// unitDirectives reads a unit file into section.key -> values.
func unitDirectives(t *testing.T, path string) map[string][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string][]string{}
	section := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "["):
			section = strings.Trim(line, "[]")
		default:
			k, v, _ := strings.Cut(line, "=")
			out[section+"."+k] = append(out[section+"."+k], v)
		}
	}
	return out
}

func TestUnitIsHardened(t *testing.T) {
	t.Parallel()
	d := unitDirectives(t, unitFile)
	want := map[string]string{
		"Service.DynamicUser":             "yes",
		"Service.StateDirectory":          "sessionbot",
		"Service.ProtectSystem":           "strict",
		"Service.NoNewPrivileges":         "yes",
		"Service.RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX",
		"Service.SystemCallFilter":        "@system-service",
		"Service.Restart":                 "on-failure",
		"Service.CapabilityBoundingSet":   "",
		"Install.WantedBy":                "multi-user.target",
	}
	for key, v := range want {
		if !slices.Contains(d[key], v) {
			t.Errorf("%s = %q, want %q among them", key, d[key], v)
		}
	}
	if pre := d["Service.ExecStartPre"]; len(pre) != 1 || !strings.Contains(pre[0], "sessionbot check") {
		t.Errorf("ExecStartPre = %q, want `sessionbot check` before serve", pre)
	}
	if start := d["Service.ExecStart"]; len(start) != 1 || !strings.Contains(start[0], "sessionbot serve") {
		t.Errorf("ExecStart = %q, want `sessionbot serve`", start)
	}
	for _, exec := range append(d["Service.ExecStartPre"], d["Service.ExecStart"]...) {
		if !strings.Contains(exec, "--config %d/sessionbot.yaml") {
			t.Errorf("%q does not read the config from the credentials directory", exec)
		}
	}
	creds := d["Service.LoadCredential"]
	if !slices.Contains(creds, "sessionbot.yaml:/etc/sessionbot/sessionbot.yaml") {
		t.Errorf("LoadCredential does not hand over the root-only config: %q", creds)
	}
	for _, name := range []string{"slack-bot-token", "slack-app-token"} {
		if !slices.ContainsFunc(creds, func(c string) bool { return strings.HasPrefix(c, name+":/etc/sessionbot/credentials/") }) {
			t.Errorf("LoadCredential has no %s from /etc/sessionbot/credentials: %q", name, creds)
		}
	}
	for key := range d {
		if strings.HasPrefix(key, "Service.Environment") {
			t.Errorf("%s: secrets go through LoadCredential and _file keys, not the environment", key)
		}
	}
}

// TestUnitVerifies runs systemd's own checks where systemd-analyze exists:
// the unit parses with no unknown key, and its exposure score stays "OK".
func TestUnitVerifies(t *testing.T) {
	t.Parallel()
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze is not installed: the unit is not verified by systemd")
	}
	// verify wants the ExecStart binary to exist: point it at one that does.
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile(unitFile)
	if err != nil {
		t.Fatal(err)
	}
	unit := filepath.Join(t.TempDir(), "sessionbot.service")
	if err := os.WriteFile(unit, []byte(strings.ReplaceAll(string(src), "/usr/bin/sessionbot", self)), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(analyze, "verify", unit).CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
	// Exposure 0.0 (locked down) to 10.0; 2.0 and under is what systemd calls OK.
	out, err = exec.Command(analyze, "security", "--offline=yes", "--threshold=20", unit).CombinedOutput()
	if err != nil {
		t.Errorf("systemd-analyze security: exposure over 2.0 (%v)\n%s", err, out)
	}
}
