package deploy

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

const (
	chartDir  = "helm/sessionbot"
	secretDir = "/run/secrets/sessionbot/"
	// Every manifest is rendered for this cluster version.
	kubeVersion = "1.31.0"
)

// secretKeys are the config keys that hold secrets; the chart must leave
// them empty and set their _file twins instead.
var secretKeys = []string{"bot_token", "app_token", "dsn", "password", "client_secret", "api_key"}

type manifest = map[string]any

// helm returns the helm binary, or skips: the chart tests need it.
func helm(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("helm")
	if err != nil {
		t.Skip("helm is not on PATH: the chart is not rendered (.ci/run installs a pinned helm: GOBIN=DIR go install helm.sh/helm/v3/cmd/helm@v3.22.0)")
	}
	return path
}

// render runs helm template and returns the manifests, or helm's error.
func render(t *testing.T, args ...string) ([]manifest, error) {
	t.Helper()
	cmd := exec.Command(helm(t), append([]string{"template", "sb", chartDir, "--namespace", "ops", "--kube-version", kubeVersion}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, &renderError{stderr.String()}
	}
	var out []manifest
	dec := yaml.NewDecoder(&stdout)
	for {
		var m manifest
		if err := dec.Decode(&m); err != nil {
			if err.Error() == "EOF" {
				return out, nil
			}
			t.Fatalf("helm template printed invalid YAML: %v", err)
		}
		if m != nil {
			out = append(out, m)
		}
	}
}

type renderError struct{ stderr string }

func (e *renderError) Error() string { return e.stderr }

func mustRender(t *testing.T, args ...string) []manifest {
	t.Helper()
	ms, err := render(t, args...)
	if err != nil {
		t.Fatalf("helm template %v: %v", args, err)
	}
	return ms
}

func find(ms []manifest, kind string) []manifest {
	var out []manifest
	for _, m := range ms {
		if m["kind"] == kind {
			out = append(out, m)
		}
	}
	return out
}

func only(t *testing.T, ms []manifest, kind string) manifest {
	t.Helper()
	found := find(ms, kind)
	if len(found) != 1 {
		t.Fatalf("want one %s, rendered %d", kind, len(found))
	}
	return found[0]
}

// at walks a manifest by keys (strings) and list indexes (ints).
func at(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = m[k]
		case int:
			l, ok := v.([]any)
			if !ok || k >= len(l) {
				return nil
			}
			v = l[k]
		}
	}
	return v
}

func asInt(v any) int {
	switch n := v.(type) {
	case int:
		return n
	case float64:
		return int(n)
	}
	return -1
}

// botConfig is the config file the pods read, from the ConfigMap.
func botConfig(t *testing.T, ms []manifest) (string, map[string]any) {
	t.Helper()
	text, _ := at(only(t, ms, "ConfigMap"), "data", "sessionbot.yaml").(string)
	if text == "" {
		t.Fatal("the ConfigMap has no sessionbot.yaml")
	}
	var cfg map[string]any
	if err := yaml.Unmarshal([]byte(text), &cfg); err != nil {
		t.Fatalf("the ConfigMap's sessionbot.yaml does not parse: %v", err)
	}
	return text, cfg
}

var valueFiles = []struct {
	name     string
	args     []string
	replicas int
	driver   string
}{
	{"default", nil, 2, "postgres"},
	{"sqlite", []string{"-f", chartDir + "/ci/sqlite-values.yaml"}, 1, "sqlite"},
	{"production", []string{"-f", chartDir + "/ci/production-values.yaml"}, 3, "postgres"},
}

func TestChartRendersAHardenedDeployment(t *testing.T) {
	for _, tc := range valueFiles {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ms := mustRender(t, tc.args...)
			dep := only(t, ms, "Deployment")
			if got := asInt(at(dep, "spec", "replicas")); got != tc.replicas {
				t.Errorf("replicas = %d, want %d", got, tc.replicas)
			}
			pod := at(dep, "spec", "template", "spec").(map[string]any)
			checkPodHardening(t, pod)
			c := at(pod, "containers", 0).(map[string]any)
			if got := at(c, "args"); !slices.Equal(strs(got), []string{"serve", "--config", "/etc/sessionbot/sessionbot.yaml"}) {
				t.Errorf("container args = %v, want serve with the mounted config", got)
			}

			_, cfg := botConfig(t, ms)
			listen, _ := at(cfg, "metrics", "listen").(string)
			port := asInt(at(c, "ports", 0, "containerPort"))
			if !strings.HasSuffix(listen, ":"+strconv.Itoa(port)) || at(c, "ports", 0, "name") != "metrics" {
				t.Errorf("container port %d (%v) is not metrics.listen %q", port, at(c, "ports", 0, "name"), listen)
			}
			for probe, path := range map[string]string{"livenessProbe": "/healthz", "readinessProbe": "/readyz", "startupProbe": "/healthz"} {
				if at(c, probe, "httpGet", "path") != path || at(c, probe, "httpGet", "port") != "metrics" {
					t.Errorf("%s = %v, want GET %s on the metrics port", probe, at(c, probe), path)
				}
			}
			for _, r := range []string{"requests", "limits"} {
				if at(c, "resources", r, "memory") == nil {
					t.Errorf("resources.%s.memory is not set", r)
				}
			}

			if got := at(cfg, "store", "driver"); got != tc.driver {
				t.Errorf("store.driver = %v, want %s", got, tc.driver)
			}
			pdbs := find(ms, "PodDisruptionBudget")
			if (len(pdbs) == 1) != (tc.replicas > 1) {
				t.Errorf("%d PodDisruptionBudgets with %d replicas: want one exactly when there are several", len(pdbs), tc.replicas)
			}
			if tc.replicas > 1 && at(pod, "topologySpreadConstraints", 0, "topologyKey") != "kubernetes.io/hostname" {
				t.Errorf("replicas are not spread across nodes: %v", at(pod, "topologySpreadConstraints"))
			}
			pvcs := find(ms, "PersistentVolumeClaim")
			if tc.driver == "sqlite" {
				checkSQLiteVolume(t, dep, cfg, pvcs)
			} else if len(pvcs) != 0 {
				t.Errorf("a PersistentVolumeClaim with PostgreSQL: the pods keep nothing on disk")
			}

			hook := only(t, ms, "Pod")
			if at(hook, "metadata", "annotations", "helm.sh/hook") != "test" || at(hook, "spec", "containers", 0, "args", 0) != "check" {
				t.Errorf("the helm test pod does not run `sessionbot check`: %v", at(hook, "spec", "containers", 0, "args"))
			}
			checkPodHardening(t, at(hook, "spec").(map[string]any))
			if sa := find(ms, "ServiceAccount"); len(sa) == 1 && at(sa[0], "automountServiceAccountToken") != false {
				t.Error("the ServiceAccount mounts its token")
			}
		})
	}
}

func checkPodHardening(t *testing.T, pod map[string]any) {
	t.Helper()
	want := map[string]any{
		"automountServiceAccountToken":                          false,
		"securityContext.runAsNonRoot":                          true,
		"securityContext.seccompProfile.type":                   "RuntimeDefault",
		"containers.0.securityContext.readOnlyRootFilesystem":   true,
		"containers.0.securityContext.allowPrivilegeEscalation": false,
		"containers.0.securityContext.capabilities.drop.0":      "ALL",
	}
	for path, v := range want {
		var keys []any
		for _, k := range strings.Split(path, ".") {
			if n, err := strconv.Atoi(k); err == nil {
				keys = append(keys, n)
			} else {
				keys = append(keys, k)
			}
		}
		if got := at(pod, keys...); got != v {
			t.Errorf("%s = %v, want %v", path, got, v)
		}
	}
	if uid := asInt(at(pod, "securityContext", "runAsUser")); uid <= 0 {
		t.Errorf("runAsUser = %d, want a non-root uid", uid)
	}
}

func checkSQLiteVolume(t *testing.T, dep manifest, cfg map[string]any, pvcs []manifest) {
	t.Helper()
	if len(pvcs) != 1 {
		t.Fatalf("%d PersistentVolumeClaims with SQLite, want 1", len(pvcs))
	}
	claim := at(pvcs[0], "metadata", "name")
	var mountedAt string
	for _, v := range at(dep, "spec", "template", "spec", "volumes").([]any) {
		if at(v, "persistentVolumeClaim", "claimName") == claim {
			name := at(v, "name")
			for _, m := range at(dep, "spec", "template", "spec", "containers", 0, "volumeMounts").([]any) {
				if at(m, "name") == name {
					mountedAt, _ = at(m, "mountPath").(string)
				}
			}
		}
	}
	path, _ := at(cfg, "store", "path").(string)
	if mountedAt == "" || !strings.HasPrefix(path, mountedAt+"/") {
		t.Errorf("store.path %q is not on the claim (mounted at %q)", path, mountedAt)
	}
	if at(dep, "spec", "strategy", "type") != "Recreate" {
		t.Errorf("strategy %v: with one SQLite file the old pod must stop first", at(dep, "spec", "strategy"))
	}
}

func TestChartRefusesSeveralReplicasOnSQLite(t *testing.T) {
	t.Parallel()
	_, err := render(t, "--set", "config.store.driver=sqlite")
	if err == nil || !strings.Contains(err.Error(), "only PostgreSQL can be shared") {
		t.Fatalf("two replicas on SQLite rendered (err %v), want a refusal", err)
	}
	if _, err := render(t, "--set", "config.store.driver=sqlite", "--set", "replicaCount=1"); err != nil {
		t.Fatalf("one replica on SQLite: %v", err)
	}
}

func TestChartRejectsWrongTypes(t *testing.T) {
	t.Parallel()
	for _, set := range []string{
		"replicaCount=two",
		"config.approvals.ttl=15 minutes",
		"config.approvals.channel=#approvals",
		"config.log.level=verbose", "config.store.driver=mysql",
		"config.unknown=1",
		"config.metrics.listen=127.0.0.1:9090",
		"config.metrics.listen=[::1]:9090",
		"config.metrics.listen=",
	} {
		if _, err := render(t, "--set", set); err == nil {
			t.Errorf("--set %s rendered, want it rejected", set)
		}
	}
}

// TestNoSecretInAnyConfigMap: secrets reach the pods only as files from
// existingSecret, and a secret written into the values is refused without
// being echoed.
func TestNoSecretInAnyConfigMap(t *testing.T) {
	t.Parallel()
	for _, tc := range valueFiles {
		ms := mustRender(t, tc.args...)
		text, cfg := botConfig(t, ms)
		mounted := mountedSecretKeys(t, only(t, ms, "Deployment"))
		walk(cfg, "", func(key string, v any) {
			leaf := key[strings.LastIndex(key, ".")+1:]
			if slices.Contains(secretKeys, leaf) && v != "" && v != nil {
				t.Errorf("%s: ConfigMap holds %s", tc.name, key)
			}
			if base, ok := strings.CutSuffix(leaf, "_file"); ok && slices.Contains(secretKeys, base) {
				file, _ := v.(string)
				if !strings.HasPrefix(file, secretDir) || !mounted[strings.TrimPrefix(file, secretDir)] {
					t.Errorf("%s: %s = %q is not a file mounted from the Secret", tc.name, key, file)
				}
			}
		})
		if leaked := regexp.MustCompile(`xox[abp]-|xapp-|://[^/\s]*:[^/\s]*@`).FindString(text); leaked != "" {
			t.Errorf("%s: the ConfigMap holds something like a token or a DSN password: %q", tc.name, leaked)
		}
		for _, m := range find(ms, "Secret") {
			t.Errorf("%s: the chart renders a Secret %v; secrets come from existingSecret only", tc.name, at(m, "metadata", "name"))
		}
	}
	if _, cfg := botConfig(t, mustRender(t)); at(cfg, "store", "dsn_file") != secretDir+"store-dsn" {
		t.Errorf("default store.dsn_file = %v, want the DSN from the Secret", at(cfg, "store", "dsn_file"))
	}

	for _, set := range []string{
		"config.slack.bot_token=xoxb-0000-SECRETVALUE",
		"config.store.dsn=postgres://u:SECRETVALUE@db/sessionbot",
		"config.instances.commvault.type=commvault,config.instances.commvault.password=SECRETVALUE",
		"config.instances.qlik.type=qlik,config.instances.qlik.api_key=SECRETVALUE",
	} {
		_, err := render(t, "--set", set)
		if err == nil {
			t.Errorf("--set %s rendered, want a refusal", set)
		} else if strings.Contains(err.Error(), "SECRETVALUE") {
			t.Errorf("--set %s: the refusal echoes the secret: %v", set, err)
		}
	}
}

func mountedSecretKeys(t *testing.T, dep manifest) map[string]bool {
	t.Helper()
	keys := map[string]bool{}
	for _, v := range at(dep, "spec", "template", "spec", "volumes").([]any) {
		if at(v, "secret", "secretName") == nil {
			continue
		}
		for _, item := range at(v, "secret", "items").([]any) {
			keys[at(item, "path").(string)] = true
		}
	}
	return keys
}

func walk(v any, prefix string, fn func(key string, v any)) {
	m, ok := v.(map[string]any)
	if !ok {
		fn(prefix, v)
		return
	}
	for k, child := range m {
		key := k
		if prefix != "" {
			key = prefix + "." + k
		}
		walk(child, key, fn)
	}
}

func TestChartConfigChangeRollsThePods(t *testing.T) {
	t.Parallel()
	sum := func(args ...string) any {
		return at(only(t, mustRender(t, args...), "Deployment"), "spec", "template", "metadata", "annotations", "checksum/config")
	}
	a, b, c := sum(), sum(), sum("--set", "config.log.level=debug")
	if a == nil || a != b {
		t.Fatalf("checksum/config = %v then %v for the same values", a, b)
	}
	if a == c {
		t.Fatal("checksum/config did not change with the config: pods would keep the old one")
	}
}

// TestAlertsUseExportedMetrics: every sessionbot_* series an alert reads is
// one the binary registers, so a renamed metric cannot silence an alert.
func TestAlertsUseExportedMetrics(t *testing.T) {
	t.Parallel()
	exported := map[string]bool{}
	for _, file := range []string{"../cmd/sessionbot/metrics.go", "../cmd/sessionbot/requests_metrics.go"} {
		src, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		// Name: "…" in a metric's options, or the first argument of NewDesc.
		for _, m := range regexp.MustCompile(`(?:Name:\s*|NewDesc\()"(sessionbot_[a-z_]+)"`).FindAllStringSubmatch(string(src), -1) {
			exported[m[1]] = true
		}
	}
	ms := mustRender(t, "-f", chartDir+"/ci/production-values.yaml")
	rule := only(t, ms, "PrometheusRule")
	only(t, ms, "ServiceMonitor")
	var alerts []string
	for _, r := range at(rule, "spec", "groups", 0, "rules").([]any) {
		alerts = append(alerts, at(r, "alert").(string))
		expr := at(r, "expr").(string)
		for _, name := range regexp.MustCompile(`sessionbot_[a-z_]+`).FindAllString(expr, -1) {
			base := name
			for _, suffix := range []string{"_count", "_sum", "_bucket"} {
				base = strings.TrimSuffix(base, suffix)
			}
			if !exported[base] {
				t.Errorf("alert %v reads %s, which cmd/sessionbot does not register", at(r, "alert"), name)
			}
		}
	}
	for _, want := range []string{"SessionbotSlackDisconnected", "SessionbotVendorErrors", "SessionbotRestarting",
		"SessionbotAuditWriteFailures", "SessionbotRequestStuck", "SessionbotKillInterrupted", "SessionbotStoreDown"} {
		if !slices.Contains(alerts, want) {
			t.Errorf("no %s alert among %v", want, alerts)
		}
	}
}

// TestRenderedConfigPassesCheck: the file each pod reads is accepted by the
// bot's own config-only validation, with the secrets where the Secret
// volume puts them.
func TestRenderedConfigPassesCheck(t *testing.T) {
	helm(t)
	bin := sessionbotBinary(t)
	help, _ := exec.Command(bin, "check", "--help").CombinedOutput()
	if !bytes.Contains(help, []byte("--offline")) {
		t.Skip("sessionbot check has no --offline (config-only validation) yet: the rendered config is not validated")
	}
	// The example values files are whole configurations; the defaults have
	// no instances, which the operator adds.
	for _, tc := range valueFiles[1:] {
		t.Run(tc.name, func(t *testing.T) {
			ms := mustRender(t, tc.args...)
			text, _ := botConfig(t, ms)
			dir := t.TempDir()
			secrets := filepath.Join(dir, "secrets") + "/"
			writeSecrets(t, secrets, mountedSecretKeys(t, only(t, ms, "Deployment")))
			text = strings.ReplaceAll(text, secretDir, secrets)
			text = strings.ReplaceAll(text, "/var/lib/sessionbot/", dir+"/")
			file := filepath.Join(dir, "sessionbot.yaml")
			if err := os.WriteFile(file, []byte(text), 0o600); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command(bin, "check", "--offline", "--config", file).CombinedOutput()
			if err != nil {
				t.Errorf("sessionbot check --offline rejects the rendered config: %v\n%s\n%s", err, out, text)
			}
		})
	}
}

// sessionbotBinary is $SESSIONBOT_BIN (CI passes the binary it built for
// the image) or a fresh build; it skips when check cannot validate offline,
// before paying for a build.
func sessionbotBinary(t *testing.T) string {
	t.Helper()
	if bin := os.Getenv("SESSIONBOT_BIN"); bin != "" {
		return bin
	}
	src, err := os.ReadFile("../cmd/sessionbot/check.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(src, []byte(`"offline"`)) {
		t.Skip("sessionbot check has no --offline (config-only validation) yet: the rendered config is not validated")
	}
	bin := filepath.Join(t.TempDir(), "sessionbot")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/sessionbot").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// writeSecrets writes what a Secret would hold: tokens of the right shape,
// a DSN, and for the certificate keys a real PEM certificate and key.
func writeSecrets(t *testing.T, dir string, keys map[string]bool) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	certPEM, keyPEM := selfSigned(t)
	for key := range keys {
		value := []byte("test-secret\n")
		switch {
		case strings.Contains(key, "bot-token"):
			value = []byte("xoxb-1-2-test\n")
		case strings.Contains(key, "app-token"):
			value = []byte("xapp-1-A1-2-test\n")
		case strings.Contains(key, "dsn"):
			value = []byte("postgres://sessionbot@127.0.0.1:5432/sessionbot?sslmode=disable\n")
		case strings.HasSuffix(key, "-key"):
			value = keyPEM
		case strings.HasSuffix(key, "-cert"), strings.HasSuffix(key, "-ca"):
			value = certPEM
		}
		if err := os.WriteFile(filepath.Join(dir, key), value, 0o400); err != nil {
			t.Fatal(err)
		}
	}
}

func selfSigned(t *testing.T) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "sessionbot"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder})
}

func strs(v any) []string {
	l, _ := v.([]any)
	out := make([]string, 0, len(l))
	for _, x := range l {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}

// TestSchemaKnowsEveryConfigKey: values.schema.json refuses unknown keys
// under config, so every key of examples/sessionbot.yaml (which documents
// them all) must be in it, or a valid config could not be installed.
func TestSchemaKnowsEveryConfigKey(t *testing.T) {
	t.Parallel()
	var example map[string]any
	src, err := os.ReadFile("../examples/sessionbot.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(src, &example); err != nil {
		t.Fatal(err)
	}
	var schema map[string]any
	src, err = os.ReadFile(chartDir + "/values.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(src, &schema); err != nil { // JSON is YAML
		t.Fatal(err)
	}
	config := at(schema, "properties", "config")
	delete(example, "instances") // per type; the schema checks the shared keys
	walk(example, "", func(key string, _ any) {
		node := config
		for _, part := range strings.Split(key, ".") {
			next := at(node, "properties", part)
			if next == nil {
				// A map of named entries (reports.<name>): its entries' schema.
				next, _ = at(node, "additionalProperties").(map[string]any)
			}
			node = next
		}
		if node == nil {
			t.Errorf("config.%s is in examples/sessionbot.yaml but not in values.schema.json", key)
		}
	})
	for _, key := range []string{"slack.bot_token_file", "slack.app_token_file", "store.dsn_file", "language.api_key_file"} {
		parts := strings.Split(key, ".")
		if at(config, "properties", parts[0], "properties", parts[1]) == nil {
			t.Errorf("config.%s (set by secretFiles) is not in values.schema.json", key)
		}
	}
}
