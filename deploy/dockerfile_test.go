package deploy

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct {
	line int
	op   string
	args string
}

func parseDockerfile(t *testing.T, path string) []instruction {
	t.Helper()
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []instruction
	var cur strings.Builder
	start := 0
	for i, line := range strings.Split(string(src), "\n") {
		trimmed := strings.TrimSpace(line)
		if cur.Len() == 0 && (trimmed == "" || strings.HasPrefix(trimmed, "#")) {
			continue
		}
		if cur.Len() == 0 {
			start = i + 1
		}
		if strings.HasPrefix(trimmed, "#") {
			continue // a comment inside a continued instruction
		}
		if body, ok := strings.CutSuffix(trimmed, `\`); ok {
			cur.WriteString(body + " ")
			continue
		}
		cur.WriteString(trimmed)
		op, args, _ := strings.Cut(cur.String(), " ")
		out = append(out, instruction{start, strings.ToUpper(op), strings.TrimSpace(args)})
		cur.Reset()
	}
	return out
}

// TestDockerfileRules checks the rules hadolint would (it is not packaged
// for Debian) and the ones this project adds, on every Dockerfile shipped.
func TestDockerfileRules(t *testing.T) {
	t.Parallel()
	for _, path := range []string{"../Dockerfile", "docker/Dockerfile.release"} {
		t.Run(filepath.Base(path), func(t *testing.T) {
			checkDockerfile(t, path)
		})
	}
}

func checkDockerfile(t *testing.T, path string) {
	t.Helper()
	ins := parseDockerfile(t, path)
	var final []instruction // the last stage: what ships
	labels := ""
	for _, in := range ins {
		switch in.op {
		case "FROM":
			final = nil
			labels = ""
			image := strings.Fields(in.args)[0]
			if image != "scratch" && !strings.Contains(image, "$") {
				tag := image[strings.LastIndex(image, "/")+1:]
				if !strings.ContainsAny(tag, ":@") || strings.HasSuffix(tag, ":latest") {
					t.Errorf("line %d: FROM %s: pin a tag other than latest (DL3006, DL3007)", in.line, image)
				}
			}
		case "ADD":
			t.Errorf("line %d: ADD: use COPY (DL3020)", in.line)
		case "MAINTAINER":
			t.Errorf("line %d: MAINTAINER is deprecated (DL4000)", in.line)
		case "RUN":
			if regexp.MustCompile(`(^|&&|;)\s*cd\s`).MatchString(in.args) {
				t.Errorf("line %d: RUN cd: use WORKDIR (DL3003)", in.line)
			}
			if strings.Contains(in.args, "sudo ") {
				t.Errorf("line %d: RUN sudo (DL3004)", in.line)
			}
		case "ENTRYPOINT", "CMD":
			if !strings.HasPrefix(in.args, "[") {
				t.Errorf("line %d: %s %s: use the JSON form, there is no shell (DL3025)", in.line, in.op, in.args)
			}
		case "LABEL":
			labels += " " + in.args
		}
		final = append(final, in)
	}

	from := strings.Fields(final[0].args)[0]
	if from != "scratch" && !strings.Contains(from, "distroless/static") {
		t.Errorf("the final stage is FROM %s: want distroless static or scratch, with no shell", from)
	}
	want := map[string]string{"USER": "65532:65532", "ENTRYPOINT": `["sessionbot"]`, "CMD": `["serve"]`}
	for _, in := range final {
		if w, ok := want[in.op]; ok {
			if in.args != w {
				t.Errorf("line %d: %s %s, want %s", in.line, in.op, in.args, w)
			}
			delete(want, in.op)
		}
	}
	for op, w := range want {
		t.Errorf("the final stage has no %s %s", op, w)
	}
	for _, l := range []string{"source", "version", "licenses", "revision"} {
		if !strings.Contains(labels, "org.opencontainers.image."+l+"=") {
			t.Errorf("no OCI label org.opencontainers.image.%s in the final stage", l)
		}
	}
}

// TestDockerfileBuildsAStampedStaticBinary: the build stage's flags, and
// that the -X variables exist in package main (the linker ignores a
// misspelt one silently).
func TestDockerfileBuildsAStampedStaticBinary(t *testing.T) {
	t.Parallel()
	var build, env string
	for _, in := range parseDockerfile(t, "../Dockerfile") {
		if in.op == "RUN" && strings.Contains(in.args, "go build") {
			build = in.args
		}
		if in.op == "ENV" {
			env += " " + in.args
		}
	}
	build = env + " " + build
	for _, flag := range []string{"-trimpath", "CGO_ENABLED=0", "./cmd/sessionbot"} {
		if !strings.Contains(build, flag) {
			t.Errorf("the go build lacks %s: %s", flag, build)
		}
	}
	declared := packageMainVars(t)
	for _, v := range []string{"version", "commit", "date"} {
		if !strings.Contains(build, "-X main."+v+"=") {
			t.Errorf("the go build does not stamp main.%s: %s", v, build)
		}
		if !declared[v] {
			t.Errorf("-X main.%s: cmd/sessionbot declares no such variable", v)
		}
	}
}

// packageMainVars finds the string variables declared in cmd/sessionbot.
func packageMainVars(t *testing.T) map[string]bool {
	t.Helper()
	files, err := filepath.Glob("../cmd/sessionbot/*.go")
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]bool{}
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		// Top-level var declarations, alone or in a block.
		for _, d := range file.Decls {
			g, ok := d.(*ast.GenDecl)
			if !ok || g.Tok != token.VAR {
				continue
			}
			for _, spec := range g.Specs {
				for _, name := range spec.(*ast.ValueSpec).Names {
					vars[name.Name] = true
				}
			}
		}
	}
	return vars
}

// TestDockerignoreKeepsEmbeddedFiles: every file a //go:embed reads must
// reach the build context, or docker build fails where go build did not.
func TestDockerignoreKeepsEmbeddedFiles(t *testing.T) {
	t.Parallel()
	ignore, err := os.ReadFile("../.dockerignore")
	if err != nil {
		t.Fatal(err)
	}
	embed := regexp.MustCompile(`(?m)^//go:embed\s+(.+)$`)
	err = filepath.WalkDir("..", func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range embed.FindAllStringSubmatch(string(src), -1) {
			for _, pattern := range strings.Fields(m[1]) {
				ext := filepath.Ext(pattern)
				if !strings.Contains(string(ignore), "!**/*"+ext+"\n") {
					t.Errorf("%s embeds %s, but .dockerignore does not keep *%s files", path, pattern, ext)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
