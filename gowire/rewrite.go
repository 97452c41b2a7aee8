package main

import (
	"bytes"
	"errors"
	"fmt"
	"go/ast"
	"go/format"
	"go/parser"
	"go/token"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// declaresMain reports whether a Go file is in package main (reading only
// the package clause).
func declaresMain(file string) (bool, error) {
	f, err := parser.ParseFile(token.NewFileSet(), file, nil, parser.PackageClauseOnly)
	if err != nil {
		return false, fmt.Errorf("%s: %w", file, err)
	}
	return f.Name.Name == "main", nil
}

// filePlan is one file's rewrite: old and new source, and what changed.
type filePlan struct {
	rel      string
	old, new []byte
	mode     os.FileMode
	changes  []string
	status   string // "wired", "already wired" or "no func main"
}

func (p *filePlan) changed() bool { return !bytes.Equal(p.old, p.new) }

func (p *filePlan) describe(out io.Writer, dryRun bool) {
	switch {
	case !p.changed():
		fmt.Fprintf(out, "unchanged  %s (%s)\n", p.rel, p.status)
	case dryRun:
		for _, c := range p.changes {
			fmt.Fprintf(out, "would wire %s: %s\n", p.rel, c)
		}
	default:
		for _, c := range p.changes {
			fmt.Fprintf(out, "wired      %s: %s\n", p.rel, c)
		}
	}
}

// planFile parses one package-main file and, when its func main does not
// defer errutil.Recover() yet, adds the import and the statement.
func planFile(root, rel, importPath string) (*filePlan, error) {
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
	mainFn := findMainFunc(f)
	if mainFn == nil {
		p.status = "no func main"
		return p, nil
	}
	name, imported, err := importName(f, importPath)
	if err != nil {
		return nil, err
	}
	if imported && defersRecover(mainFn, name) {
		p.status = "already wired"
		return p, nil
	}
	tf := fset.File(f.Pos())
	var edits []edit
	if !imported {
		first, second := importEdit(tf, src, f, importPath)
		edits = append(edits, first, second)
		p.changes = append(p.changes, "import "+strconv.Quote(importPath))
	}
	edits = append(edits, deferEdit(tf, src, mainFn, name))
	p.changes = append(p.changes, "defer "+name+".Recover() first in func main")

	// format.Source indents the new lines and sorts the import block as gofmt does.
	out, err := format.Source(apply(src, edits))
	if err != nil {
		return nil, fmt.Errorf("formatting the rewrite: %w", err)
	}
	if err := sameComments(src, out); err != nil {
		return nil, err
	}
	p.new = out
	p.status = "wired"
	return p, nil
}

func findMainFunc(f *ast.File) *ast.FuncDecl {
	for _, d := range f.Decls {
		if fn, ok := d.(*ast.FuncDecl); ok && fn.Recv == nil && fn.Name.Name == "main" && fn.Body != nil {
			return fn
		}
	}
	return nil
}

// importName is the name errutil is (or will be) known by in the file.
func importName(f *ast.File, importPath string) (name string, imported bool, err error) {
	want := path.Base(importPath)
	for _, spec := range f.Imports {
		p, _ := strconv.Unquote(spec.Path.Value)
		local := path.Base(p)
		if spec.Name != nil {
			local = spec.Name.Name
		}
		if p == importPath {
			if local == "_" || local == "." {
				return "", false, fmt.Errorf("imports %s as %q; import it by name to wire it", importPath, local)
			}
			return local, true, nil
		}
		if local == want {
			return "", false, fmt.Errorf("already imports %s as %q: errutil would clash with it", p, want)
		}
	}
	for _, d := range f.Decls {
		if declares(d, want) {
			return "", false, fmt.Errorf("declares %q at top level: errutil's import would clash with it", want)
		}
	}
	return want, false, nil
}

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

// edit inserts text at a byte offset of the original source.
type edit struct {
	at   int
	text string
}

// apply makes the insertions, last first so earlier offsets stay valid.
func apply(src []byte, edits []edit) []byte {
	sort.Slice(edits, func(i, j int) bool { return edits[i].at > edits[j].at })
	out := append([]byte(nil), src...)
	for _, e := range edits {
		if e.at < 0 {
			continue // no edit
		}
		out = append(out[:e.at], append([]byte(e.text), out[e.at:]...)...)
	}
	return out
}

// The rewrite is positioned by the syntax tree but made in the text: the
// new lines go where no comment is attached (after the line a comment ends,
// before a closing parenthesis), so every comment stays on its line.

// importEdit adds the import: into the first import block, after a single
// import line, or after the package clause.
func importEdit(tf *token.File, src []byte, f *ast.File, importPath string) (edit, edit) {
	quoted := strconv.Quote(importPath)
	for _, d := range f.Decls {
		gd, ok := d.(*ast.GenDecl)
		if !ok || gd.Tok != token.IMPORT {
			continue
		}
		if gd.Lparen.IsValid() {
			rp := tf.Offset(gd.Rparen)
			if strings.TrimSpace(string(src[lineStart(src, rp):rp])) == "" {
				return edit{at: lineStart(src, rp), text: "\t" + quoted + "\n"}, edit{at: -1}
			}
			return edit{at: rp, text: "\n\t" + quoted + "\n"}, edit{at: -1}
		}
		end := tf.Offset(gd.End())
		if strings.TrimSpace(string(src[end:lineEnd(src, end)])) == "" {
			// import "os"  ->  import ( "os" \n "errutil" )
			return edit{at: tf.Offset(gd.Specs[0].Pos()), text: "("}, edit{at: end, text: "\n\t" + quoted + "\n)"}
		}
		return edit{at: lineEnd(src, end), text: "\nimport " + quoted}, edit{at: -1}
	}
	return edit{at: lineEnd(src, tf.Offset(f.Name.End())), text: "\n\nimport " + quoted}, edit{at: -1}
}

// deferEdit makes `defer name.Recover()` main's first statement: on the
// line after the opening brace (and after a comment that shares its line).
func deferEdit(tf *token.File, src []byte, fn *ast.FuncDecl, name string) edit {
	stmt := "defer " + name + ".Recover()"
	lb := tf.Offset(fn.Body.Lbrace) + 1
	rest := strings.TrimSpace(string(src[lb:lineEnd(src, lb)]))
	if rest == "" || strings.HasPrefix(rest, "//") {
		return edit{at: lineEnd(src, lb), text: "\n\t" + stmt}
	}
	return edit{at: lb, text: "\n\t" + stmt + "\n"}
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
		return fmt.Errorf("the rewrite would lose comments (%d before, %d after); add `defer errutil.Recover()` by hand", len(ca), len(cb))
	}
	for i := range ca {
		if ca[i] != cb[i] {
			return fmt.Errorf("the rewrite would move the comment %q; add `defer errutil.Recover()` by hand", ca[i])
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
