package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

type options struct {
	dest        string
	dryRun      bool
	check       bool
	force       bool
	errutilDir  string
	logger      string
	template    string
	copier      string
	noComponent bool
	verify      bool
}

// Exit codes, the same as the Python injector's.
const (
	exitDone    = 0 // done, or nothing to do
	exitUnwired = 1 // -check found something unwired
	exitRefused = 2 // refused or failed: nothing was changed
)

const answersFile = ".copier-answers.errutil-go.yml"

// fallbackDir is where errutil goes when the module has a pkg/errutil of its own.
const fallbackDir = "pkg/shortstack/errutil"

// wire is the whole run: check, plan every file and the component, verify
// the result builds in a scratch copy, then change the tree (or print the
// diff, or the check). An error means nothing was changed.
func wire(opts options, out, errOut io.Writer) (int, error) {
	t, err := locate(opts, errOut)
	if err != nil {
		return exitRefused, err
	}
	w, err := planModule(t)
	if err != nil {
		return exitRefused, err
	}
	addComponent := !t.present && !opts.noComponent

	if opts.check {
		return check(out, t.root, t.dir, t.present || opts.noComponent, w.plans, w.changed, w.manual), nil
	}
	if t.present && !opts.noComponent {
		if err := adaptersPresent(t.root, t.dir, w.changed); err != nil {
			return exitRefused, err
		}
	}
	if !addComponent && len(w.changed) == 0 {
		if opts.dryRun {
			out = errOut // stdout is the diff alone, here empty
		}
		fmt.Fprintf(out, "Nothing to change: errutil (%s) is present and everything gowire can wire is wired.\n", t.dir)
		printManual(out, w.manual)
		return exitDone, nil
	}
	var component map[string][]byte
	if addComponent {
		if component, err = newComponent(opts, t); err != nil {
			return exitRefused, err
		}
	}
	if opts.verify {
		if err := verify(t.root, component, w.changed); err != nil {
			return exitRefused, err
		}
	}
	if opts.dryRun {
		printDryRun(out, errOut, t.dir, component, w)
		return exitDone, nil
	}
	if err := writeWiring(out, t, component, w, opts.verify); err != nil {
		return exitRefused, err
	}
	return exitDone, nil
}

// target is the module being wired and where its errutil is (or goes).
type target struct {
	root       string
	mod        module
	logger     string // the logging adapter: chosen with -logger, or detected
	dir        string // errutil's folder, relative to root
	importPath string // errutil's import path
	present    bool   // errutil is already in dir
}

// locate reads the module, chooses the logger and errutil's folder, and
// refuses a working tree with uncommitted changes unless nothing is written
// (-dry-run, -check) or -force says so.
func locate(opts options, errOut io.Writer) (target, error) {
	root, err := filepath.Abs(opts.dest)
	if err != nil {
		return target{}, err
	}
	mod, err := readModule(root)
	if err != nil {
		return target{}, err
	}
	logger := opts.logger
	if logger == "" {
		logger = detectLogger(mod)
	}
	if dep := loggerModules[logger]; dep != "" && !mod.requires[dep] {
		return target{}, fmt.Errorf("-logger %s: go.mod does not require %s; add it first (go get %s)", logger, dep, dep)
	}
	dir, present, err := chooseDir(root, opts, errOut)
	if err != nil {
		return target{}, err
	}
	if !opts.dryRun && !opts.check && !opts.force {
		if err := checkClean(root); err != nil {
			return target{}, err
		}
	}
	return target{root: root, mod: mod, logger: logger, dir: dir, importPath: mod.path + "/" + dir, present: present}, nil
}

// wiring is the plan for every Go file of the module: all of them, the ones
// that change, and the steps left to do by hand.
type wiring struct {
	plans, changed []*filePlan
	manual         []manualStep
}

// planModule plans every Go file; a file it cannot plan refuses the whole run.
func planModule(t target) (wiring, error) {
	files, err := goFiles(t.root, t.dir)
	if err != nil {
		return wiring{}, err
	}
	var w wiring
	var problems []string
	wrapping := wrappingFuncs(t.root, files, t.importPath)
	for _, rel := range files {
		p, err := planFile(t.root, rel, t.importPath, wrapping)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", rel, err))
			continue
		}
		w.plans = append(w.plans, p)
	}
	if len(problems) > 0 {
		return wiring{}, fmt.Errorf("nothing was changed; these files need a hand:\n  %s", strings.Join(problems, "\n  "))
	}
	w.manual = moduleManual(w.plans, t.importPath)
	for _, p := range w.plans {
		w.manual = append(w.manual, p.manual...)
		if p.changed() {
			w.changed = append(w.changed, p)
		}
	}
	return w, nil
}

// newComponent renders errutil for t, refusing to overwrite any file.
func newComponent(opts options, t target) (map[string][]byte, error) {
	component, err := renderComponent(opts, t.mod, t.dir, t.logger)
	if err != nil {
		return nil, err
	}
	var clashes []string
	for rel := range component {
		if _, err := os.Lstat(filepath.Join(t.root, filepath.FromSlash(rel))); err == nil {
			clashes = append(clashes, rel)
		}
	}
	if len(clashes) > 0 {
		sort.Strings(clashes)
		return nil, fmt.Errorf("these files already exist and would be overwritten: %s. Nothing was changed", strings.Join(clashes, ", "))
	}
	return component, nil
}

// printDryRun prints the diff alone on out (for `git apply`), and what it
// means on errOut.
func printDryRun(out, errOut io.Writer, dir string, component map[string][]byte, w wiring) {
	for _, rel := range sortedKeys(component) {
		fmt.Fprint(out, unifiedDiff(rel, nil, component[rel], true))
	}
	for _, p := range w.changed {
		fmt.Fprint(out, unifiedDiff(p.rel, p.old, p.new, false))
	}
	if component != nil {
		fmt.Fprintf(errOut, "would add  %s/ (errutil, copier component errutil-go, answers in %s)\n", dir, answersFile)
	}
	describe(errOut, w.changed, "would wire")
	printManual(errOut, w.manual)
}

// writeWiring writes the component (if any) and the changed files, and says what
// it did.
func writeWiring(out io.Writer, t target, component map[string][]byte, w wiring, verified bool) error {
	for _, rel := range sortedKeys(component) {
		dest := filepath.Join(t.root, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(dest, component[rel], 0o644); err != nil {
			return err
		}
	}
	if component != nil {
		fmt.Fprintf(out, "added      %s/ (errutil; answers in %s: `copier update -a %s` pulls later fixes)\n", t.dir, answersFile, answersFile)
	} else {
		fmt.Fprintf(out, "present    %s/ (errutil already there)\n", t.dir)
	}
	for _, p := range w.changed {
		if err := os.WriteFile(filepath.Join(t.root, filepath.FromSlash(p.rel)), p.new, p.mode); err != nil {
			return err
		}
	}
	describe(out, w.changed, "wired     ")
	if verified {
		fmt.Fprintln(out, "verified   go build ./... passes (checked in a scratch copy first)")
	}
	printManual(out, w.manual)
	return nil
}

func describe(out io.Writer, plans []*filePlan, verb string) {
	for _, p := range plans {
		for _, c := range p.changes {
			fmt.Fprintf(out, "%s %s: %s\n", verb, p.rel, c)
		}
	}
}

func printManual(out io.Writer, manual []manualStep) {
	if len(manual) == 0 {
		return
	}
	fmt.Fprintln(out, "\nNot wired (do this by hand):")
	for _, m := range manual {
		fmt.Fprintf(out, "  %s\n", m)
	}
}

// check prints what is wired and what is not; exit 1 when anything is not.
func check(out io.Writer, root, dir string, present bool, plans, changed []*filePlan, manual []manualStep) int {
	code := exitDone
	if !present {
		fmt.Fprintf(out, "errutil is not in %s: run `make setup-panic-handler DEST=%s` from a shortstack checkout.\n", root, root)
		code = exitUnwired
	}
	for _, p := range plans {
		for _, a := range p.already {
			fmt.Fprintf(out, "wired      %s: %s\n", p.rel, a)
		}
	}
	for _, p := range changed {
		for _, c := range p.changes {
			fmt.Fprintf(out, "NOT WIRED  %s: %s is missing\n", p.rel, c)
		}
		code = exitUnwired
	}
	printManual(out, manual)
	if len(manual) > 0 {
		code = exitUnwired
	}
	if code == exitDone {
		fmt.Fprintf(out, "errutil (%s) is wired into everything gowire can see.\n", dir)
	} else if len(changed) > 0 {
		fmt.Fprintln(out, "\nRun `make setup-panic-handler` to wire it.")
	}
	return code
}

// adapterFiles are the framework adapters' files, their copier question
// and a function the rewrite calls from each.
var adapterFiles = []struct{ file, question, use string }{
	{"gin.go", "go_gin", ".GinRecovery()"},
	{"echo.go", "go_echo", ".EchoRecover()"},
	{"grpc.go", "go_grpc", ".UnaryServerInterceptor()"},
}

// adaptersPresent refuses a rewrite that calls an adapter errutil was added
// without (the framework came into go.mod later).
func adaptersPresent(root, dir string, changed []*filePlan) error {
	for _, a := range adapterFiles {
		if _, err := os.Stat(filepath.Join(root, filepath.FromSlash(dir), a.file)); err == nil {
			continue
		}
		for _, p := range changed {
			if bytes.Contains(p.new, []byte(a.use)) && !bytes.Contains(p.old, []byte(a.use)) {
				return fmt.Errorf("%s would call %s%s, but errutil was added without that adapter: run `copier update -a %s --data %s=true` first (or commit and re-add errutil). Nothing was changed", p.rel, path.Base(dir), a.use, answersFile, a.question)
			}
		}
	}
	return nil
}

// moduleManual lists what only the whole module shows: handlers registered
// on http.DefaultServeMux that no server found here serves.
func moduleManual(plans []*filePlan, importPath string) []manualStep {
	for _, p := range plans {
		if p.servesDefaultMux {
			return nil
		}
	}
	for _, p := range plans {
		if p.registersDefault > 0 {
			return []manualStep{{rel: p.rel, line: p.registersDefault,
				what:   "handlers are registered on http.DefaultServeMux, but no server here serves it",
				action: "serve errutil.Middleware(http.DefaultServeMux) (import " + strconv.Quote(importPath) + ")"}}
		}
	}
	return nil
}

func sortedKeys(m map[string][]byte) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

type module struct {
	path      string
	goVersion string
	requires  map[string]bool // module paths go.mod mentions
}

// loggerModules are the modules errutil's logger adapters import.
var loggerModules = map[string]string{"zap": "go.uber.org/zap", "logrus": "github.com/sirupsen/logrus"}

// frameworkModules are the modules errutil's framework adapters import, by
// the copier question that renders the adapter.
var frameworkModules = map[string]string{"go_gin": pathGin, "go_echo": pathEcho, "go_grpc": pathGRPC}

// detectLogger picks the adapter for the logger go.mod requires (slog, the
// standard library's, when none).
func detectLogger(m module) string {
	for _, l := range []string{"zap", "logrus"} {
		if m.requires[loggerModules[l]] {
			return l
		}
	}
	return "slog"
}

var goDirective = regexp.MustCompile(`^go\s+(\d+)\.(\d+)`)

// readModule reads the module path, go directive and requirements of go.mod.
func readModule(root string) (module, error) {
	f, err := os.Open(filepath.Join(root, "go.mod"))
	if err != nil {
		return module{}, fmt.Errorf("%s has no go.mod: gowire wires a Go module's root", root)
	}
	defer f.Close()
	m := module{requires: map[string]bool{}}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if fields := strings.Fields(strings.TrimPrefix(line, "require ")); len(fields) >= 2 && strings.HasPrefix(fields[1], "v") {
			m.requires[fields[0]] = true
		}
		if rest, ok := strings.CutPrefix(line, "module"); ok && m.path == "" && (rest == "" || rest[0] == ' ' || rest[0] == '\t') {
			m.path = strings.Trim(strings.TrimSpace(strings.SplitN(strings.TrimSpace(rest), "//", 2)[0]), `"`)
		}
		if g := goDirective.FindStringSubmatch(line); g != nil {
			m.goVersion = g[1] + "." + g[2]
			major, _ := strconv.Atoi(g[1])
			minor, _ := strconv.Atoi(g[2])
			if major == 1 && minor < 22 {
				return module{}, fmt.Errorf("go.mod says go %s, and errutil needs go 1.22 or newer: run `go get go@1.22` in %s, commit, and run this again", m.goVersion, root)
			}
		}
	}
	if m.path == "" {
		return module{}, fmt.Errorf("%s/go.mod has no module line", root)
	}
	return m, sc.Err()
}

var answersDir = regexp.MustCompile(`(?m)^errutil_dir:\s*['"]?([^'"\s]+)`)

// chooseDir is where errutil is or goes, and whether it is there already:
// the flag, else what an earlier run recorded, else pkg/errutil. A
// pkg/errutil that is the repository's own (no answers file says it came
// from here) is left alone: errutil goes to pkg/shortstack/errutil.
func chooseDir(root string, opts options, errOut io.Writer) (string, bool, error) {
	recorded := ""
	if b, err := os.ReadFile(filepath.Join(root, answersFile)); err == nil {
		if m := answersDir.FindSubmatch(b); m != nil {
			recorded = string(m[1])
		}
	}
	dir := opts.errutilDir
	if dir == "" {
		dir = recorded
	}
	if dir == "" {
		dir = "pkg/errutil"
	}
	clean := path.Clean(filepath.ToSlash(dir))
	if path.IsAbs(clean) || clean == "." || clean == ".." || strings.HasPrefix(clean, "../") {
		return "", false, fmt.Errorf("-errutil-dir %q must be a folder inside the module", dir)
	}
	full := filepath.Join(root, filepath.FromSlash(clean))
	if opts.noComponent {
		return clean, true, nil
	}
	if recorded != "" && clean == recorded {
		if !hasGoFiles(full) {
			return "", false, fmt.Errorf("%s says errutil is in %s/, but it is not there: restore it (`copier recopy -a %s`) or remove %s to add errutil again. Nothing was changed", answersFile, clean, answersFile, answersFile)
		}
		return clean, true, nil
	}
	if isRenderedService(root, clean) {
		return clean, true, nil
	}
	if !hasGoFiles(full) {
		return clean, false, nil
	}
	if opts.errutilDir != "" {
		return "", false, fmt.Errorf("%s/ holds a package of the repository's own: pass another -errutil-dir (PACKAGE=). Nothing was changed", clean)
	}
	if hasGoFiles(filepath.Join(root, filepath.FromSlash(fallbackDir))) {
		return "", false, fmt.Errorf("%s/ and %s/ hold packages of the repository's own: pass -errutil-dir (PACKAGE=) with a free folder. Nothing was changed", clean, fallbackDir)
	}
	fmt.Fprintf(errOut, "%s/ is the repository's own package: errutil goes into %s/ instead.\n", clean, fallbackDir)
	return fallbackDir, false, nil
}

// isRenderedService tells a service rendered from this template (its
// errutil came with it) by its answers file and errutil's recover.go.
func isRenderedService(root, dir string) bool {
	b, err := os.ReadFile(filepath.Join(root, ".copier-answers.yml"))
	if err != nil || !bytes.Contains(b, []byte("go_module:")) {
		return false
	}
	_, err = os.Stat(filepath.Join(root, filepath.FromSlash(dir), "recover.go"))
	return err == nil
}

// checkClean refuses a directory that is not a git work tree or has
// uncommitted changes: the change must be reviewable with git diff.
func checkClean(root string) error {
	cmd := exec.Command("git", "status", "--porcelain", "--untracked-files=normal")
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	b, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("%s is not a git work tree (%s): commit it first, or pass -force", root, strings.TrimSpace(stderr.String()))
	}
	if dirty := strings.TrimSpace(string(b)); dirty != "" {
		return fmt.Errorf("%s has uncommitted changes; commit or stash them first, or pass -force:\n%s", root, dirty)
	}
	return nil
}

// goFiles lists the non-test Go files of the packages `go build ./...`
// builds (so no build-ignored file, testdata/, _ or . folder, vendor/ or
// nested module), without examples/ folders and errutil itself.
func goFiles(root, errutilDir string) ([]string, error) {
	cmd := exec.Command("go", "list", "-e", "-f", `{{.Dir}}{{range .GoFiles}}{{"\t"}}{{.}}{{end}}{{range .CgoFiles}}{{"\t"}}{{.}}{{end}}`, "./...")
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	b, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("`go list ./...` fails in %s: %v\n%s", root, err, stderr.String())
	}
	var files []string
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		fields := strings.Split(line, "\t")
		if len(fields) < 2 {
			continue
		}
		rel, err := filepath.Rel(root, fields[0])
		if err != nil {
			continue
		}
		rel = filepath.ToSlash(rel)
		if rel == errutilDir || strings.HasPrefix(rel, errutilDir+"/") || slicesContains(strings.Split(rel, "/"), "examples") {
			continue
		}
		for _, name := range fields[1:] {
			files = append(files, path.Join(rel, name))
		}
	}
	sort.Strings(files)
	return files, nil
}

func slicesContains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func hasGoFiles(dir string) bool {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".go") {
			return true
		}
	}
	return false
}

// renderComponent renders copier's errutil-go component into a scratch
// folder and returns its files (nothing is written into the module).
func renderComponent(opts options, mod module, dir, logger string) (map[string][]byte, error) {
	tmpl := opts.template
	if tmpl == "" {
		var err error
		if tmpl, err = findTemplate(); err != nil {
			return nil, err
		}
	}
	scratch, err := os.MkdirTemp("", "errutil-go-component-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(scratch)
	args := []string{"copy", "--defaults", "--quiet", "--answers-file", answersFile,
		"--data", "go_module=" + mod.path, "--data", "errutil_dir=" + dir, "--data", "go_logger=" + logger}
	for question, dep := range frameworkModules {
		args = append(args, "--data", fmt.Sprintf("%s=%t", question, mod.requires[dep]))
	}
	if _, err := os.Stat(filepath.Join(tmpl, ".git")); err == nil {
		args = append(args, "--vcs-ref", "HEAD") // the checkout as it is, not its last tag
	}
	args = append(args, tmpl, scratch)
	name, prefix := copierCommand(opts.copier)
	cmd := exec.Command(name, append(prefix, args...)...)
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = io.Discard, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("copier could not render errutil (%s %s): %v\n%s", name, strings.Join(append(prefix, args...), " "), err, stderr.String())
	}
	files := map[string][]byte{}
	err = filepath.WalkDir(scratch, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(scratch, p)
		files[filepath.ToSlash(rel)] = b
		return nil
	})
	if err == nil && !hasPrefixKey(files, dir+"/") {
		err = fmt.Errorf("the template at %s rendered no errutil package (is template/go/{{errutil_dir}} missing?)", tmpl)
	}
	return files, err
}

func hasPrefixKey(m map[string][]byte, prefix string) bool {
	for k := range m {
		if strings.HasPrefix(k, prefix) {
			return true
		}
	}
	return false
}

// verify applies the plan to a scratch copy of the module and builds it
// there: the tree is only touched when the result builds.
func verify(root string, component map[string][]byte, changed []*filePlan) error {
	scratch, err := os.MkdirTemp("", "gowire-verify-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(scratch)
	if err := copyTree(root, scratch); err != nil {
		return fmt.Errorf("copying the module to check the change: %w", err)
	}
	for rel, b := range component {
		target := filepath.Join(scratch, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(target, b, 0o644); err != nil {
			return err
		}
	}
	for _, p := range changed {
		if err := os.WriteFile(filepath.Join(scratch, filepath.FromSlash(p.rel)), p.new, 0o644); err != nil {
			return err
		}
	}
	cmd := exec.Command("go", "build", "./...")
	cmd.Dir = scratch
	if b, err := cmd.CombinedOutput(); err != nil {
		msg := strings.ReplaceAll(string(b), scratch+string(filepath.Separator), "")
		return fmt.Errorf("with the change, `go build ./...` would fail, so nothing was changed:\n%s", msg)
	}
	return nil
}

// copyTree copies the module's files (not .git) to dst.
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		switch {
		case d.IsDir() && d.Name() == ".git":
			return filepath.SkipDir
		case d.IsDir():
			return os.MkdirAll(target, 0o755)
		case d.Type()&fs.ModeSymlink != 0:
			link, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(link, target)
		case d.Type().IsRegular():
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			return os.WriteFile(target, b, 0o644)
		}
		return nil
	})
}

func copierCommand(flagValue string) (string, []string) {
	if flagValue != "" {
		fields := strings.Fields(flagValue)
		return fields[0], fields[1:]
	}
	if p, err := exec.LookPath("copier"); err == nil {
		return p, nil
	}
	return "python3", []string{"-m", "copier"}
}

// findTemplate walks up from the working directory to the shortstack
// checkout (the folder with copier.yml and template/go).
func findTemplate() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		_, errConf := os.Stat(filepath.Join(dir, "copier.yml"))
		if st, err := os.Stat(filepath.Join(dir, "template", "go")); err == nil && st.IsDir() && errConf == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("cannot find the shortstack checkout (copier.yml and template/go) above the working directory: pass -template")
		}
		dir = parent
	}
}
