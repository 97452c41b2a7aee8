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
	force       bool
	errutilDir  string
	logger      string
	template    string
	copier      string
	noComponent bool
	verify      bool
}

const answersFile = ".copier-answers.errutil-go.yml"

// wire is the whole run: check, plan every file, then change.
func wire(opts options, out io.Writer) error {
	root, err := filepath.Abs(opts.dest)
	if err != nil {
		return err
	}
	mod, err := readModule(root)
	if err != nil {
		return err
	}
	if dep := loggerModules[opts.logger]; dep != "" && !mod.requires[dep] {
		return fmt.Errorf("-logger %s: go.mod does not require %s; add it first (go get %s)", opts.logger, dep, dep)
	}
	dir, err := errutilDir(root, opts.errutilDir)
	if err != nil {
		return err
	}
	importPath := mod.path + "/" + dir
	if !opts.dryRun && !opts.force {
		if err := checkClean(root); err != nil {
			return err
		}
	}

	mains, err := findMains(root)
	if err != nil {
		return err
	}
	if len(mains) == 0 {
		return fmt.Errorf("no func main in %s: nothing to wire (errutil.Recover belongs in a command's main)", root)
	}
	var plans []*filePlan
	var problems []string
	for _, rel := range mains {
		p, err := planFile(root, rel, importPath)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", rel, err))
			continue
		}
		plans = append(plans, p)
	}
	if len(problems) > 0 {
		return fmt.Errorf("nothing was changed; these files need a hand:\n  %s", strings.Join(problems, "\n  "))
	}

	present := hasGoFiles(filepath.Join(root, filepath.FromSlash(dir)))
	addComponent := !opts.noComponent && !present
	if opts.dryRun {
		if addComponent {
			fmt.Fprintf(out, "would add  %s/ (errutil, copier component errutil-go, answers in %s)\n", dir, answersFile)
		}
		for _, p := range plans {
			p.describe(out, true)
		}
		return nil
	}

	if addComponent {
		if err := copyComponent(opts, root, mod.path, dir, out); err != nil {
			return err
		}
	} else if present {
		fmt.Fprintf(out, "present    %s/ (errutil already there)\n", dir)
	}
	changed := 0
	for _, p := range plans {
		if p.changed() {
			if err := os.WriteFile(filepath.Join(root, filepath.FromSlash(p.rel)), p.new, p.mode); err != nil {
				return err
			}
			changed++
		}
		p.describe(out, false)
	}
	if changed == 0 && !addComponent {
		fmt.Fprintln(out, "Nothing to change: every func main already defers errutil.Recover().")
	}
	if opts.verify && (changed > 0 || addComponent) {
		cmd := exec.Command("go", "build", "./...")
		cmd.Dir = root
		if b, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("the change is written, but `go build ./...` fails in %s:\n%s", root, b)
		}
		fmt.Fprintln(out, "verified   go build ./... passes")
	}
	return nil
}

type module struct {
	path      string
	goVersion string
	requires  map[string]bool // module paths go.mod mentions
}

// loggerModules are the modules errutil's logger adapters import.
var loggerModules = map[string]string{"zap": "go.uber.org/zap", "logrus": "github.com/sirupsen/logrus"}

var goDirective = regexp.MustCompile(`^go\s+(\d+)\.(\d+)`)

// readModule reads the module path and go directive from go.mod.
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
				return module{}, fmt.Errorf("go.mod says go %s: errutil needs go 1.22 or newer (run `go mod edit -go=1.22` first)", m.goVersion)
			}
		}
	}
	if m.path == "" {
		return module{}, fmt.Errorf("%s/go.mod has no module line", root)
	}
	return m, sc.Err()
}

var answersDir = regexp.MustCompile(`(?m)^errutil_dir:\s*['"]?([^'"\s]+)`)

// errutilDir is the flag, else what an earlier run recorded, else pkg/errutil.
func errutilDir(root, flagValue string) (string, error) {
	dir := flagValue
	if dir == "" {
		if b, err := os.ReadFile(filepath.Join(root, answersFile)); err == nil {
			if m := answersDir.FindSubmatch(b); m != nil {
				dir = string(m[1])
			}
		}
	}
	if dir == "" {
		dir = "pkg/errutil"
	}
	clean := path.Clean(filepath.ToSlash(dir))
	if path.IsAbs(clean) || clean == "." || clean == ".." || strings.HasPrefix(clean, "../") {
		return "", fmt.Errorf("-errutil-dir %q must be a folder inside the module", dir)
	}
	return clean, nil
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

// findMains lists the module's non-test .go files that declare package main,
// skipping vendor, testdata, hidden and _ folders and nested modules.
func findMains(root string) ([]string, error) {
	var mains []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if p == root {
				return nil
			}
			if name == "vendor" || name == "testdata" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") {
				return filepath.SkipDir
			}
			if _, err := os.Stat(filepath.Join(p, "go.mod")); err == nil {
				return filepath.SkipDir // another module
			}
			return nil
		}
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			return nil
		}
		isMain, err := declaresMain(p)
		if err != nil {
			return err
		}
		if isMain {
			rel, _ := filepath.Rel(root, p)
			mains = append(mains, filepath.ToSlash(rel))
		}
		return nil
	})
	sort.Strings(mains)
	return mains, err
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

// copyComponent renders copier's errutil-go component into the module.
func copyComponent(opts options, root, modulePath, dir string, out io.Writer) error {
	tmpl := opts.template
	if tmpl == "" {
		var err error
		if tmpl, err = findTemplate(); err != nil {
			return err
		}
	}
	args := []string{"copy", "--defaults", "--quiet", "--answers-file", answersFile,
		"--data", "go_module=" + modulePath, "--data", "errutil_dir=" + dir}
	if opts.logger != "" {
		args = append(args, "--data", "go_logger="+opts.logger)
	}
	if _, err := os.Stat(filepath.Join(tmpl, ".git")); err == nil {
		args = append(args, "--vcs-ref", "HEAD") // the checkout as it is, not its last tag
	}
	args = append(args, tmpl, root)
	name, prefix := copierCommand(opts.copier)
	cmd := exec.Command(name, append(prefix, args...)...)
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = io.Discard, &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("copier could not add errutil (%s %s): %v\n%s", name, strings.Join(append(prefix, args...), " "), err, stderr.String())
	}
	fmt.Fprintf(out, "added      %s/ (errutil; answers in %s: `copier update -a %s` pulls later fixes)\n", dir, answersFile, answersFile)
	return nil
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
// checkout (the folder with component/errutil-go).
func findTemplate() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if st, err := os.Stat(filepath.Join(dir, "component", "errutil-go")); err == nil && st.IsDir() {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("cannot find the shortstack checkout (component/errutil-go) above the working directory: pass -template")
		}
		dir = parent
	}
}
