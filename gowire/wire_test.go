package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// fixture files: a module with three commands written three ways, a library
// with a main method, and code gowire must not touch.
var fixture = map[string]string{
	"go.mod": "module example.com/legacy\n\ngo 1.22\n",
	"cmd/api/main.go": `// Command api serves the legacy API.
package main

import (
	"fmt" // printing

	"example.com/legacy/internal/lib"
)

// main starts the API.
func main() {
	// say hello first
	fmt.Println(lib.Hello()) // trailing note
	/* block comment */
}
`,
	"cmd/worker/main.go": `package main

import "os"

func main() {
	os.Exit(0)
}
`,
	"tool.go": `//go:build ignore

package main

func main() {}
`,
	"cmd/bare/main.go": "package main\n\nfunc main() {\n\tprintln(\"bare\")\n}\n",
	"internal/lib/lib.go": `package lib

// Hello greets.
func Hello() string { return "hello" }

type server struct{}

func (server) main() {}
`,
	"vendor/example.com/dep/main.go": "package main\n\nfunc main() {}\n",
	"testdata/main.go":               "package main\n\nfunc main() {}\n",
	"nested/go.mod":                  "module example.com/nested\n\ngo 1.22\n",
	"nested/main.go":                 "package main\n\nfunc main() {}\n",
	"cmd/api/main_test.go":           "package main\n\nimport \"testing\"\n\nfunc TestMain(m *testing.M) { m.Run() }\n",
	"pkg/errutil/errutil.go":         "// Package errutil is a stand-in for the real one.\npackage errutil\n\n// Recover stands in.\nfunc Recover() { _ = recover() }\n",
}

func writeFixture(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	for name, body := range fixture {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func git(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-c", "user.name=t", "-c", "user.email=t@example.com"}, args...)...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
}

func committedFixture(t *testing.T) string {
	t.Helper()
	root := writeFixture(t)
	git(t, root, "init", "-q")
	git(t, root, "add", "-A")
	git(t, root, "commit", "-q", "-m", "legacy")
	return root
}

func gowire(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func read(t *testing.T, root, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(name)))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestWiresEveryMainKeepingComments(t *testing.T) {
	root := committedFixture(t)
	code, out, errOut := gowire(t, "-dest", root, "-no-component")
	if code != 0 {
		t.Fatalf("exit %d: %s%s", code, out, errOut)
	}
	want := `// Command api serves the legacy API.
package main

import (
	"fmt" // printing

	"example.com/legacy/internal/lib"
	"example.com/legacy/pkg/errutil"
)

// main starts the API.
func main() {
	defer errutil.Recover()
	// say hello first
	fmt.Println(lib.Hello()) // trailing note
	/* block comment */
}
`
	if got := read(t, root, "cmd/api/main.go"); got != want {
		t.Fatalf("cmd/api/main.go:\n%s\nwant:\n%s", got, want)
	}
	if got := read(t, root, "cmd/worker/main.go"); !strings.Contains(got, "import (\n\t\"os\"\n\n\t\"example.com/legacy/pkg/errutil\"\n)") &&
		!strings.Contains(got, "import (\n\t\"example.com/legacy/pkg/errutil\"\n\t\"os\"\n)") {
		t.Fatalf("cmd/worker/main.go:\n%s", got)
	}
	if got := read(t, root, "cmd/bare/main.go"); !strings.HasPrefix(got, "package main\n\nimport \"example.com/legacy/pkg/errutil\"\n\nfunc main() {\n\tdefer errutil.Recover()\n") {
		t.Fatalf("cmd/bare/main.go:\n%s", got)
	}
	for _, untouched := range []string{"vendor/example.com/dep/main.go", "testdata/main.go", "nested/main.go", "internal/lib/lib.go", "cmd/api/main_test.go"} {
		if read(t, root, untouched) != fixture[untouched] {
			t.Errorf("%s was changed", untouched)
		}
	}
	for _, line := range []string{"wired      cmd/api/main.go: import \"example.com/legacy/pkg/errutil\"", "wired      cmd/bare/main.go: defer errutil.Recover() first in func main"} {
		if !strings.Contains(out, line) {
			t.Errorf("output lacks %q:\n%s", line, out)
		}
	}
	// the module still builds and vets (the build-ignored tool.go too)
	for _, args := range [][]string{{"build", "./..."}, {"vet", "./..."}, {"vet", "tool.go"}} {
		cmd := exec.Command("go", args...)
		cmd.Dir = root
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go %v: %v\n%s", args, err, b)
		}
	}
}

func TestIsIdempotent(t *testing.T) {
	root := committedFixture(t)
	if code, out, errOut := gowire(t, "-dest", root, "-no-component"); code != 0 {
		t.Fatalf("first run: %s%s", out, errOut)
	}
	before := read(t, root, "cmd/api/main.go")
	git(t, root, "commit", "-q", "-am", "wired")
	code, out, errOut := gowire(t, "-dest", root, "-no-component")
	if code != 0 || !strings.Contains(out, "Nothing to change") || strings.Contains(out, "wired ") {
		t.Fatalf("second run (exit %d):\n%s%s", code, out, errOut)
	}
	if read(t, root, "cmd/api/main.go") != before {
		t.Fatal("second run changed the file")
	}
	code, out, errOut = gowire(t, "-dest", root, "-no-component", "-dry-run")
	if code != 0 || out != "" || !strings.Contains(errOut, "Nothing to change") {
		t.Fatalf("dry run with nothing to do (exit %d): stdout %q, stderr %q", code, out, errOut)
	}
}

func TestDryRunPrintsADiffGitApplies(t *testing.T) {
	root := writeFixture(t) // not even a git tree: a dry run only reads
	code, out, errOut := gowire(t, "-dest", root, "-dry-run", "-no-component")
	if code != 0 || !strings.Contains(errOut, "would wire cmd/api/main.go: defer errutil.Recover() first in func main") {
		t.Fatalf("exit %d:\n%s%s", code, out, errOut)
	}
	if read(t, root, "cmd/api/main.go") != fixture["cmd/api/main.go"] {
		t.Fatal("a dry run wrote")
	}
	if !strings.HasPrefix(out, "diff --git a/cmd/api/main.go b/cmd/api/main.go\n") || !strings.Contains(out, "+\tdefer errutil.Recover()\n") {
		t.Fatalf("stdout is not the diff:\n%s", out)
	}
	git(t, root, "init", "-q")
	patch := filepath.Join(t.TempDir(), "wire.patch")
	if err := os.WriteFile(patch, []byte(out), 0o644); err != nil {
		t.Fatal(err)
	}
	git(t, root, "apply", patch)
	if code, out, errOut := gowire(t, "-dest", root, "-check", "-no-component"); code != 0 {
		t.Fatalf("after git apply, -check: exit %d\n%s%s", code, out, errOut)
	}
}

func TestRefusesDirtyOrUntrackedTrees(t *testing.T) {
	root := committedFixture(t)
	if err := os.WriteFile(filepath.Join(root, "cmd/api/main.go"), []byte(fixture["cmd/api/main.go"]+"\n// edit\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := gowire(t, "-dest", root, "-no-component")
	if code != 2 || !strings.Contains(errOut, "uncommitted changes") || !strings.Contains(errOut, "cmd/api/main.go") {
		t.Fatalf("dirty tree: exit %d: %s", code, errOut)
	}
	if strings.Contains(read(t, root, "cmd/bare/main.go"), "errutil") {
		t.Fatal("a refused run changed files")
	}
	if code, out, errOut := gowire(t, "-dest", root, "-no-component", "-force"); code != 0 {
		t.Fatalf("-force: exit %d: %s%s", code, out, errOut)
	}

	plain := writeFixture(t)
	if code, _, errOut := gowire(t, "-dest", plain, "-no-component"); code != 2 || !strings.Contains(errOut, "not a git work tree") {
		t.Fatalf("non-git dir: exit %d: %s", code, errOut)
	}
}

func TestAliasesOrRefusesClashesAndOldGo(t *testing.T) {
	root := committedFixture(t)
	own := "package main\n\nimport errutil \"errors\"\n\nfunc main() { _ = errutil.New(\"x\") }\n"
	if err := os.WriteFile(filepath.Join(root, "cmd/bare/main.go"), []byte(own), 0o644); err != nil {
		t.Fatal(err)
	}
	git(t, root, "commit", "-q", "-am", "own errutil")
	if code, out, errOut := gowire(t, "-dest", root, "-no-component", "-verify=false"); code != 0 {
		t.Fatalf("own errutil: exit %d: %s%s", code, out, errOut)
	}
	want := "import (\n\terrutil \"errors\"\n\n\tshortstack \"example.com/legacy/pkg/errutil\"\n)\n\nfunc main() {\n\tdefer shortstack.Recover()\n"
	if got := read(t, root, "cmd/bare/main.go"); !strings.Contains(got, want) {
		t.Fatalf("cmd/bare/main.go:\n%s", got)
	}

	root = committedFixture(t)
	clash := own + "\nvar shortstack = 1\n"
	if err := os.WriteFile(filepath.Join(root, "cmd/bare/main.go"), []byte(clash), 0o644); err != nil {
		t.Fatal(err)
	}
	git(t, root, "commit", "-q", "-am", "clash")
	code, _, errOut := gowire(t, "-dest", root, "-no-component")
	if code != 2 || !strings.Contains(errOut, `cmd/bare/main.go: imports errors as "errutil" and declares "shortstack" at top level`) {
		t.Fatalf("clash: exit %d: %s", code, errOut)
	}
	if strings.Contains(read(t, root, "cmd/api/main.go"), "errutil") {
		t.Fatal("a refused run changed other files")
	}

	old := committedFixture(t)
	if err := os.WriteFile(filepath.Join(old, "go.mod"), []byte("module example.com/legacy\n\ngo 1.20\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := gowire(t, "-dest", old, "-force", "-no-component"); code != 2 || !strings.Contains(errOut, "errutil needs go 1.22 or newer: run `go get go@1.22`") || strings.Count(errOut, "\n") != 1 {
		t.Fatalf("old go: exit %d: %s", code, errOut)
	}
}

func TestLoggerNeedsItsModule(t *testing.T) {
	root := committedFixture(t)
	code, _, errOut := gowire(t, "-dest", root, "-logger", "zap")
	if code != 2 || !strings.Contains(errOut, "go.mod does not require go.uber.org/zap") {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if code, _, errOut := gowire(t, "-dest", root, "-logger", "log4j"); code != 2 || !strings.Contains(errOut, "want slog, zap or logrus") {
		t.Fatalf("exit %d: %s", code, errOut)
	}
}

func TestUsage(t *testing.T) {
	if code, _, errOut := gowire(t); code != 2 || !strings.Contains(errOut, "usage: gowire -dest DIR") {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if code, _, errOut := gowire(t, "-dest", t.TempDir()); code != 2 || !strings.Contains(errOut, "has no go.mod") {
		t.Fatalf("exit %d: %s", code, errOut)
	}
}

// A rewrite that would not compile (a .Handler field that is not an
// http.Handler) is found in the scratch copy: nothing is written.
func TestAChangeThatWouldNotBuildChangesNothing(t *testing.T) {
	root := t.TempDir()
	files := map[string]string{
		"go.mod": "module example.com/odd\n\ngo 1.22\n",
		"main.go": `package main

import "net/http"

type job struct{ Handler func() }

var srv http.Server

func main() {
	var j job
	j.Handler = func() {}
	j.Handler()
	_ = srv.ListenAndServe()
}
`,
		"pkg/errutil/errutil.go": "// Package errutil stands in.\npackage errutil\n\nimport \"net/http\"\n\n// Recover stands in.\nfunc Recover() { _ = recover() }\n\n// Middleware stands in.\nfunc Middleware(h http.Handler) http.Handler { return h }\n",
	}
	for name, body := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	code, out, errOut := gowire(t, "-dest", root, "-no-component", "-force")
	if code != 2 || !strings.Contains(errOut, "would fail, so nothing was changed") || !strings.Contains(errOut, "main.go:") {
		t.Fatalf("exit %d:\n%s%s", code, out, errOut)
	}
	if read(t, root, "main.go") != files["main.go"] {
		t.Fatal("a change that does not build was written")
	}
}

// errutil added before the repository took up gin has no gin adapter: a
// rewrite that would call it is refused with the copier command to add it.
func TestAMissingAdapterIsAskedFor(t *testing.T) {
	root := t.TempDir()
	files := map[string]string{
		"go.mod":                 "module example.com/late\n\ngo 1.22\n\nrequire github.com/gin-gonic/gin v1.10.0\n",
		answersFile:              "_src_path: shortstack\nerrutil_dir: pkg/errutil\ngo_gin: false\n",
		"cmd/x/main.go":          "package main\n\nimport \"github.com/gin-gonic/gin\"\n\nfunc main() {\n\tr := gin.Default()\n\t_ = r.Run()\n}\n",
		"pkg/errutil/recover.go": "// Package errutil stands in.\npackage errutil\n\n// Recover stands in.\nfunc Recover() { _ = recover() }\n",
	}
	for name, body := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	code, out, errOut := gowire(t, "-dest", root, "-force")
	if code != 2 || !strings.Contains(errOut, "cmd/x/main.go would call errutil.GinRecovery(), but errutil was added without that adapter: run `copier update -a .copier-answers.errutil-go.yml --data go_gin=true` first") {
		t.Fatalf("exit %d:\n%s%s", code, out, errOut)
	}
	if read(t, root, "cmd/x/main.go") != files["cmd/x/main.go"] {
		t.Fatal("changed")
	}
	if code, out, errOut := gowire(t, "-dest", root, "-check"); code != 1 || !strings.Contains(out, "NOT WIRED  cmd/x/main.go: gin.Default()") {
		t.Fatalf("-check: exit %d:\n%s%s", code, out, errOut)
	}
}
