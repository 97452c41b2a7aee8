package main

import (
	"bytes"
	"errors"
	"fmt"
	"go/ast"
	"go/format"
	"go/parser"
	"go/token"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// filePlan is one file's rewrite: old and new source, what changed, what
// was already wired, and what must be added by hand.
type filePlan struct {
	rel      string
	old, new []byte
	mode     os.FileMode
	changes  []string
	already  []string
	manual   []manualStep

	servesDefaultMux bool // a server here serves http.DefaultServeMux (wrapped)
	registersDefault int  // line of an http.Handle/HandleFunc on DefaultServeMux (0: none)
}

// manualStep is a place gowire found but cannot wire safely: the exact
// line to add, and why.
type manualStep struct {
	rel    string
	line   int
	what   string
	action string
}

func (m manualStep) String() string {
	return fmt.Sprintf("%s:%d: %s: %s", m.rel, m.line, m.what, m.action)
}

func (p *filePlan) changed() bool { return !bytes.Equal(p.old, p.new) }

// fileCtx is the state of one file's planning.
type fileCtx struct {
	plan    *filePlan
	src     []byte
	fset    *token.FileSet
	tf      *token.File
	f       *ast.File
	imports map[string]string // import path -> the name the file uses for it
	errName string            // errutil's name in the file
	errPath string
	edits   []edit

	wrapping map[string]bool // functions that return errutil.Middleware(...)
}

// planFile parses one Go file and plans every rewrite it needs: errutil's
// Recover first in func main, the handlers of servers it starts, and the
// recovery middleware of the frameworks it uses.
//
// wrapping names the module's functions that return errutil.Middleware(...):
// a server whose handler is a call to one is wired already.
func planFile(root, rel, importPath string, wrapping map[string]bool) (*filePlan, error) {
	full := filepath.Join(root, filepath.FromSlash(rel))
	src, err := os.ReadFile(full)
	if err != nil {
		return nil, err
	}
	st, err := os.Stat(full)
	if err != nil {
		return nil, err
	}
	p := &filePlan{rel: rel, old: src, new: src, mode: st.Mode().Perm()}
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, full, src, parser.ParseComments)
	if err != nil {
		return nil, err
	}
	c := &fileCtx{plan: p, src: src, fset: fset, tf: fset.File(f.Pos()), f: f, errPath: importPath, imports: localNames(f), wrapping: wrapping}
	name, imported, nameErr := importName(f, importPath)
	c.errName = name
	if nameErr != nil {
		c.errName = "errutil" // only to recognise nothing; a needed change is refused below
	}

	if f.Name.Name == "main" {
		c.planMain()
	}
	c.planServers()
	if len(c.edits) == 0 {
		return p, nil
	}
	if nameErr != nil {
		return nil, nameErr
	}
	if !imported {
		spec := strconv.Quote(importPath)
		if name != path.Base(importPath) {
			spec = name + " " + spec
		}
		c.edits = append(c.edits, importEdits(c.tf, src, f, spec)...)
		p.changes = append([]string{"import " + strconv.Quote(importPath)}, p.changes...)
	}
	// format.Source indents the new lines and sorts each import group as gofmt does.
	out, err := format.Source(apply(src, c.edits))
	if err != nil {
		return nil, fmt.Errorf("formatting the rewrite: %w", err)
	}
	if err := sameComments(src, out); err != nil {
		return nil, err
	}
	p.new = out
	return p, nil
}

func (c *fileCtx) line(pos token.Pos) int { return c.fset.Position(pos).Line }

func (c *fileCtx) text(n ast.Node) string {
	return string(c.src[c.tf.Offset(n.Pos()):c.tf.Offset(n.End())])
}

func (c *fileCtx) manual(n ast.Node, what, action string) {
	c.plan.manual = append(c.plan.manual, manualStep{rel: c.plan.rel, line: c.line(n.Pos()), what: what, action: action})
}

// planMain makes `defer errutil.Recover()` main's first statement, unless
// it is there, or main defers a recover() of its own: defers run last in,
// first out, so errutil's would never see the panic. That one is left to
// the user.
func (c *fileCtx) planMain() {
	fn := findMainFunc(c.f)
	if fn == nil {
		return
	}
	if defersRecover(fn, c.errName) {
		c.plan.already = append(c.plan.already, "defer "+c.errName+".Recover() in func main")
		return
	}
	if own := ownRecover(c.f, fn); own != nil {
		c.manual(own, "func main defers its own recover(), which would make a deferred errutil.Recover() dead",
			"report from it instead (errutil.Recover() as that deferred function, or drop it and add `defer errutil.Recover()` first in main)")
		return
	}
	c.edits = append(c.edits, deferEdit(c.tf, c.src, fn, c.errName))
	c.plan.changes = append(c.plan.changes, "defer "+c.errName+".Recover() first in func main")
}

func findMainFunc(f *ast.File) *ast.FuncDecl {
	for _, d := range f.Decls {
		if fn, ok := d.(*ast.FuncDecl); ok && fn.Recv == nil && fn.Name.Name == "main" && fn.Body != nil {
			return fn
		}
	}
	return nil
}

// ownRecover finds a top-level `defer` in main whose function calls the
// builtin recover(): a function literal, or a function of the same file.
func ownRecover(f *ast.File, fn *ast.FuncDecl) ast.Node {
	funcs := map[string]*ast.FuncDecl{}
	for _, d := range f.Decls {
		if fd, ok := d.(*ast.FuncDecl); ok && fd.Recv == nil && fd.Body != nil {
			funcs[fd.Name.Name] = fd
		}
	}
	for _, stmt := range fn.Body.List {
		d, ok := stmt.(*ast.DeferStmt)
		if !ok {
			continue
		}
		var body ast.Node
		switch fun := d.Call.Fun.(type) {
		case *ast.FuncLit:
			body = fun.Body
		case *ast.Ident:
			if fd := funcs[fun.Name]; fd != nil {
				body = fd.Body
			}
		}
		if body != nil && callsRecover(body) {
			return d
		}
	}
	return nil
}

func callsRecover(n ast.Node) bool {
	found := false
	ast.Inspect(n, func(n ast.Node) bool {
		if call, ok := n.(*ast.CallExpr); ok {
			if id, ok := call.Fun.(*ast.Ident); ok && id.Name == "recover" && id.Obj == nil && len(call.Args) == 0 {
				found = true
			}
		}
		return !found
	})
	return found
}

// localNames maps each import path to the name the file knows it by.
func localNames(f *ast.File) map[string]string {
	names := map[string]string{}
	for _, spec := range f.Imports {
		p, _ := strconv.Unquote(spec.Path.Value)
		name := defaultName(p)
		if spec.Name != nil {
			name = spec.Name.Name
		}
		names[p] = name
	}
	return names
}

// defaultName is a package's name when imported without one: the last
// path element, without a major-version suffix.
func defaultName(p string) string {
	base := path.Base(p)
	if strings.HasPrefix(base, "v") && len(base) > 1 && strings.Trim(base[1:], "0123456789") == "" {
		base = path.Base(path.Dir(p))
	}
	return base
}

// importName is the name errutil is (or will be) known by in the file:
// errutil, or shortstack when the file has an errutil of its own.
func importName(f *ast.File, importPath string) (name string, imported bool, err error) {
	for _, spec := range f.Imports {
		if p, _ := strconv.Unquote(spec.Path.Value); p == importPath {
			local := path.Base(importPath)
			if spec.Name != nil {
				local = spec.Name.Name
			}
			if local == "_" || local == "." {
				return "", false, fmt.Errorf("imports %s as %q; import it by name to wire it", importPath, local)
			}
			return local, true, nil
		}
	}
	var clashes []string
	for _, want := range []string{path.Base(importPath), aliasName} {
		clash := ""
		for _, spec := range f.Imports {
			p, _ := strconv.Unquote(spec.Path.Value)
			local := defaultName(p)
			if spec.Name != nil {
				local = spec.Name.Name
			}
			if local == want {
				clash = fmt.Sprintf("imports %s as %q", p, want)
			}
		}
		for _, d := range f.Decls {
			if clash == "" && declares(d, want) {
				clash = fmt.Sprintf("declares %q at top level", want)
			}
		}
		if clash == "" {
			return want, false, nil
		}
		clashes = append(clashes, clash)
	}
	return "", false, fmt.Errorf("%s: errutil's import would clash with them", strings.Join(clashes, " and "))
}

// aliasName is errutil's name in a file that already uses the name errutil.
const aliasName = "shortstack"

func declares(d ast.Decl, name string) bool {
	switch d := d.(type) {
	case *ast.FuncDecl:
		return d.Recv == nil && d.Name.Name == name
	case *ast.GenDecl:
		for _, s := range d.Specs {
			switch s := s.(type) {
			case *ast.ValueSpec:
				for _, n := range s.Names {
					if n.Name == name {
						return true
					}
				}
			case *ast.TypeSpec:
				if s.Name.Name == name {
					return true
				}
			}
		}
	}
	return false
}

// defersRecover reports whether main already has `defer <name>.Recover()`
// among its top-level statements.
func defersRecover(fn *ast.FuncDecl, name string) bool {
	for _, stmt := range fn.Body.List {
		d, ok := stmt.(*ast.DeferStmt)
		if !ok {
			continue
		}
		sel, ok := d.Call.Fun.(*ast.SelectorExpr)
		if !ok || sel.Sel.Name != "Recover" {
			continue
		}
		if x, ok := sel.X.(*ast.Ident); ok && x.Name == name {
			return true
		}
	}
	return false
}

// edit replaces the bytes [at, end) of the original source with text (an
// insertion when end == at).
type edit struct {
	at, end int
	text    string
}

func insert(at int, text string) edit { return edit{at: at, end: at, text: text} }

// apply makes the edits, last first so earlier offsets stay valid.
func apply(src []byte, edits []edit) []byte {
	sorted := append([]edit(nil), edits...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].at > sorted[j].at })
	out := append([]byte(nil), src...)
	for _, e := range sorted {
		out = append(out[:e.at], append([]byte(e.text), out[e.end:]...)...)
	}
	return out
}

// The rewrite is positioned by the syntax tree but made in the text: the
// new lines go where no comment is attached (after the line a comment ends,
// before a closing parenthesis), so every comment stays on its line.

// isStdlib tells the standard library's import paths (no dot in the first
// element) from modules' paths, as goimports groups them.
func isStdlib(p string) bool {
	return !strings.Contains(strings.SplitN(p, "/", 2)[0], ".")
}

// importEdits adds the import where goimports would: after the last
// module import of the first import block, else as a group of its own
// after the standard library's.
func importEdits(tf *token.File, src []byte, f *ast.File, quoted string) []edit {
	for _, d := range f.Decls {
		gd, ok := d.(*ast.GenDecl)
		if !ok || gd.Tok != token.IMPORT {
			continue
		}
		var lastModule, last ast.Spec
		for _, s := range gd.Specs {
			last = s
			if p, _ := strconv.Unquote(s.(*ast.ImportSpec).Path.Value); !isStdlib(p) {
				lastModule = s
			}
		}
		if gd.Lparen.IsValid() {
			if last == nil {
				return []edit{insert(tf.Offset(gd.Lparen)+1, "\n\t"+quoted+"\n")}
			}
			if lastModule != nil {
				return []edit{insert(lineEnd(src, tf.Offset(lastModule.End())), "\n\t"+quoted)}
			}
			return []edit{insert(lineEnd(src, tf.Offset(last.End())), "\n\n\t"+quoted)}
		}
		end := tf.Offset(gd.End())
		if strings.TrimSpace(string(src[end:lineEnd(src, end)])) == "" {
			// import "os"  ->  import ( "os" \n\n "errutil" )
			sep := "\n\t"
			if lastModule == nil {
				sep = "\n\n\t"
			}
			return []edit{insert(tf.Offset(gd.Specs[0].Pos()), "(\n\t"), insert(end, sep+quoted+"\n)")}
		}
		return []edit{insert(lineEnd(src, end), "\nimport "+quoted)}
	}
	return []edit{insert(lineEnd(src, tf.Offset(f.Name.End())), "\n\nimport "+quoted)}
}

// deferEdit makes `defer name.Recover()` main's first statement: on the
// line after the opening brace (and after a comment that shares its line).
func deferEdit(tf *token.File, src []byte, fn *ast.FuncDecl, name string) edit {
	stmt := "defer " + name + ".Recover()"
	lb := tf.Offset(fn.Body.Lbrace) + 1
	rest := strings.TrimSpace(string(src[lb:lineEnd(src, lb)]))
	if rest == "" || strings.HasPrefix(rest, "//") {
		return insert(lineEnd(src, lb), "\n\t"+stmt)
	}
	return insert(lb, "\n\t"+stmt+"\n")
}

func lineStart(src []byte, off int) int {
	return bytes.LastIndexByte(src[:off], '\n') + 1
}

func lineEnd(src []byte, off int) int {
	if i := bytes.IndexByte(src[off:], '\n'); i >= 0 {
		return off + i
	}
	return len(src)
}

// sameComments checks that the rewrite kept every comment, in order.
func sameComments(before, after []byte) error {
	a, errA := parser.ParseFile(token.NewFileSet(), "", before, parser.ParseComments)
	b, errB := parser.ParseFile(token.NewFileSet(), "", after, parser.ParseComments)
	if errA != nil || errB != nil {
		return errors.Join(errA, errB)
	}
	ca, cb := commentTexts(a), commentTexts(b)
	if len(ca) != len(cb) {
		return fmt.Errorf("the rewrite would lose comments (%d before, %d after); wire this file by hand", len(ca), len(cb))
	}
	for i := range ca {
		if ca[i] != cb[i] {
			return fmt.Errorf("the rewrite would move the comment %q; wire this file by hand", ca[i])
		}
	}
	return nil
}

func commentTexts(f *ast.File) []string {
	var out []string
	for _, g := range f.Comments {
		for _, c := range g.List {
			out = append(out, c.Text)
		}
	}
	return out
}

// wrappingFuncs names the functions and methods of the files that return
// one value and wrap a handler in errutil.Middleware(...) in their own body
// (a server's handler built that way is wired): `return
// errutil.Middleware(mux)`, or a chain such as `h :=
// errutil.Middleware(mux); return errutil.RequestIDs(h)`.
func wrappingFuncs(root string, files []string, importPath string) map[string]bool {
	names := map[string]bool{}
	for _, rel := range files {
		f, err := parser.ParseFile(token.NewFileSet(), filepath.Join(root, filepath.FromSlash(rel)), nil, 0)
		if err != nil {
			continue
		}
		name, imported, err := importName(f, importPath)
		if err != nil || !imported {
			continue
		}
		for _, d := range f.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok || fd.Body == nil || fd.Type.Results == nil || fd.Type.Results.NumFields() != 1 {
				continue
			}
			ast.Inspect(fd.Body, func(n ast.Node) bool {
				if _, ok := n.(*ast.FuncLit); ok {
					return false
				}
				if e, ok := n.(ast.Expr); ok {
					if _, sel, ok := pkgCall(e, name); ok && sel == "Middleware" {
						names[fd.Name.Name] = true
					}
				}
				return true
			})
		}
	}
	return names
}
