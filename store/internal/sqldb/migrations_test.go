package sqldb

import (
	"crypto/sha256"
	"fmt"
	"os"
	"strings"
	"testing"
)

// digest sums a version's statements without their comments and
// indentation.
func digest(statements []statement) string {
	var norm []string
	for _, st := range statements {
		var lines []string
		for l := range strings.SplitSeq(st.sql, "\n") {
			if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "--") {
				lines = append(lines, l)
			}
		}
		norm = append(norm, strings.Join(lines, "\n"))
	}
	return fmt.Sprintf("%x", sha256.Sum256([]byte(strings.Join(norm, ";\n"))))[:16]
}

// Databases already migrated record only version numbers, so a version
// must run exactly the statements it ran when each engine kept all its
// migrations in its own folder. The digests are of those files (comments
// and indentation aside), before the shared ones were taken out.
func TestEachVersionRunsTheStatementsItAlwaysRan(t *testing.T) {
	for _, tc := range []struct {
		engine string
		want   []string // by version, from 1
	}{
		{"sqlite", []string{"359e0c72a6e4cc48", "ed00381f5b623d1f", "72dee5536b46b57f", "ff1058a64d5839ed"}},
		{"postgres", []string{"ae7e47801ecba1c4", "ed00381f5b623d1f", "72dee5536b46b57f", "f92e2ef4ccd01fb4"}},
	} {
		t.Run(tc.engine, func(t *testing.T) {
			versions, err := plan(os.DirFS("../../" + tc.engine + "/migrations"))
			if err != nil {
				t.Fatal(err)
			}
			if len(versions) != len(tc.want) {
				t.Fatalf("%d versions, want %d", len(versions), len(tc.want))
			}
			for i, m := range versions {
				if m.version != i+1 {
					t.Errorf("version %d at place %d", m.version, i+1)
				}
				if got := digest(m.statements); got != tc.want[i] {
					t.Errorf("version %d (%s) runs other statements: digest %s, want %s", m.version, m.name, got, tc.want[i])
				}
			}
		})
	}
}
