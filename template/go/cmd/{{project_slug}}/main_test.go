package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"testing"
)

// TestMainsDeferRecover checks that every command's func main starts with
// `defer errutil.Recover()`, so a crash in main is a short report and exit
// code 2 (make setup-panic-handler runs it).
func TestMainsDeferRecover(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "*", "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, file := range files {
		f, err := parser.ParseFile(token.NewFileSet(), file, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || f.Name.Name != "main" || fn.Name.Name != "main" || fn.Recv != nil {
				continue
			}
			checked++
			if !firstIsDeferRecover(fn) {
				t.Errorf("%s: func main does not start with `defer errutil.Recover()`", file)
			}
		}
	}
	if checked == 0 {
		wd, _ := os.Getwd()
		t.Fatalf("no func main found around %s", wd)
	}
}

func firstIsDeferRecover(fn *ast.FuncDecl) bool {
	if len(fn.Body.List) == 0 {
		return false
	}
	d, ok := fn.Body.List[0].(*ast.DeferStmt)
	if !ok {
		return false
	}
	sel, ok := d.Call.Fun.(*ast.SelectorExpr)
	if !ok {
		return false
	}
	x, ok := sel.X.(*ast.Ident)
	return ok && x.Name == "errutil" && sel.Sel.Name == "Recover"
}
