package sqldb

import (
	"embed"
	"fmt"
	"io/fs"
	"slices"
	"strconv"
	"strings"
)

// shared holds the migrations whose SQL is the same on both engines; an
// engine's own folder holds the rest (an id column, a JSON function).
//
//go:embed migrations/*.sql
var shared embed.FS

// migration is one schema version: the statements of every file named
// NNN_*.sql for it, in both folders, taken in file-name order. The
// version alone is recorded in schema_migrations, as it always was.
type migration struct {
	version    int
	name       string // the first file's, for errors
	statements []statement
}

type statement struct{ file, sql string }

// plan lists the versions in order. A file name in both folders is a
// mistake: which one runs would depend on nothing visible.
func plan(engine fs.FS) ([]migration, error) {
	sharedSub, _ := fs.Sub(shared, "migrations")
	type file struct {
		name string
		fsys fs.FS
	}
	var files []file
	seen := map[string]bool{}
	for _, fsys := range []fs.FS{sharedSub, engine} {
		names, err := fs.Glob(fsys, "*.sql")
		if err != nil {
			return nil, err
		}
		for _, n := range names {
			if seen[n] {
				return nil, fmt.Errorf("migration %s is both shared and the engine's own", n)
			}
			seen[n] = true
			files = append(files, file{n, fsys})
		}
	}
	// Zero-padded versions sort as numbers: 001, 002, ...
	slices.SortFunc(files, func(a, b file) int { return strings.Compare(a.name, b.name) })
	var out []migration
	for _, f := range files {
		num, _, ok := strings.Cut(f.name, "_")
		version, err := strconv.Atoi(num)
		if !ok || err != nil {
			return nil, fmt.Errorf("migration %s: name must start with a number and _", f.name)
		}
		body, err := fs.ReadFile(f.fsys, f.name)
		if err != nil {
			return nil, err
		}
		if len(out) == 0 || out[len(out)-1].version != version {
			out = append(out, migration{version: version, name: f.name})
		}
		m := &out[len(out)-1]
		// Statements end with ";"; migrations hold no ";" inside strings.
		for _, stmt := range strings.Split(string(body), ";") {
			if strings.TrimSpace(stmt) != "" {
				m.statements = append(m.statements, statement{f.name, stmt})
			}
		}
	}
	return out, nil
}
