package main

import (
	"go/ast"
	"go/token"
	"strconv"
	"strings"
)

// The packages whose servers and routers gowire wires, by import path.
const (
	pathHTTP    = "net/http"
	pathGin     = "github.com/gin-gonic/gin"
	pathEcho    = "github.com/labstack/echo/v4"
	pathEchoMW  = "github.com/labstack/echo/v4/middleware"
	pathGRPC    = "google.golang.org/grpc"
	pathGorilla = "github.com/gorilla/mux"
)

var (
	chiPaths   = []string{"github.com/go-chi/chi/v5", "github.com/go-chi/chi"}
	chiMWPaths = []string{"github.com/go-chi/chi/v5/middleware", "github.com/go-chi/chi/middleware"}
)

// handlerArg is the position of the handler among the arguments of
// net/http's package-level serve functions.
var handlerArg = map[string]int{"ListenAndServe": 1, "ListenAndServeTLS": 3, "Serve": 1, "ServeTLS": 3}

// pkgSel returns the selected name when e is pkg.Name, with pkg the file's
// name for the package (not a local variable of that name).
func pkgSel(e ast.Expr, pkg string) (string, bool) {
	sel, ok := e.(*ast.SelectorExpr)
	if !ok || pkg == "" {
		return "", false
	}
	x, ok := sel.X.(*ast.Ident)
	if !ok || x.Name != pkg || x.Obj != nil {
		return "", false
	}
	return sel.Sel.Name, true
}

// isSel reports whether e is pkg.name.
func isSel(e ast.Expr, pkg, name string) bool {
	got, ok := pkgSel(e, pkg)
	return ok && got == name
}

// pkgCall returns the call and its function's name when e is pkg.Name(...).
func pkgCall(e ast.Expr, pkg string) (*ast.CallExpr, string, bool) {
	call, ok := e.(*ast.CallExpr)
	if !ok {
		return nil, "", false
	}
	name, ok := pkgSel(call.Fun, pkg)
	return call, name, ok
}

func (c *fileCtx) name(paths ...string) string {
	for _, p := range paths {
		if n, ok := c.imports[p]; ok {
			return n
		}
	}
	return ""
}

// uses reports whether the file refers to errutil.sel anywhere.
func (c *fileCtx) uses(sel string) bool { return c.mentions(c.errName, sel) }

// countSel counts the references to pkg.anything in the file.
func (c *fileCtx) countSel(pkg string) int {
	n := 0
	ast.Inspect(c.f, func(node ast.Node) bool {
		if s, ok := node.(*ast.SelectorExpr); ok {
			if _, ok := pkgSel(s, pkg); ok {
				n++
			}
		}
		return true
	})
	return n
}

func (c *fileCtx) replace(n ast.Node, text string) {
	c.edits = append(c.edits, edit{at: c.tf.Offset(n.Pos()), end: c.tf.Offset(n.End()), text: text})
}

func (c *fileCtx) change(what string, n ast.Node) {
	c.plan.changes = append(c.plan.changes, what+" (line "+strconv.Itoa(c.line(n.Pos()))+")")
}

func (c *fileCtx) done(what string, n ast.Node) {
	c.plan.already = append(c.plan.already, what+" (line "+strconv.Itoa(c.line(n.Pos()))+")")
}

// planServers wires what serves requests in the file: the frameworks'
// recovery middleware first, then the routers and engines the file makes,
// then the servers and handlers that are not covered by one of those.
func (c *fileCtx) planServers() {
	s := &serverNames{
		http: c.name(pathHTTP), gin: c.name(pathGin), echo: c.name(pathEcho), echoMW: c.name(pathEchoMW),
		chi: c.name(chiPaths...), chiMW: c.name(chiMWPaths...), gorilla: c.name(pathGorilla), grpc: c.name(pathGRPC),
		mw:          c.errName + ".Middleware",
		ginRecovery: c.uses("GinRecovery"), echoRecover: c.uses("EchoRecover"),
	}
	c.replaceRecoverers(s)
	covered, seen := c.wireRouters(s)
	c.wireServers(s, covered, seen)
}

// serverNames is what the file calls the packages that serve requests ("" if
// it does not import one), and what planServers found of their recovery.
type serverNames struct {
	http, gin, echo, echoMW, chi, chiMW, gorilla, grpc string
	mw                                                 string // errutil's net/http middleware, as the file names it

	replacedChiMW, replacedGin, replacedEchoMW int  // recovery middleware replaced by errutil's
	ginRecovery, echoRecover                   bool // errutil's gin / echo recovery is in the file
}

// replaceRecoverers replaces the recovery middleware the frameworks bring by
// errutil's, which would otherwise never see a panic.
func (c *fileCtx) replaceRecoverers(s *serverNames) {
	ast.Inspect(c.f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.SelectorExpr:
			if name, ok := pkgSel(n, s.chiMW); ok && name == "Recoverer" {
				c.replace(n, s.mw)
				c.change("chi's middleware.Recoverer replaced by "+s.mw, n)
				s.replacedChiMW++
			}
		case *ast.CallExpr:
			if _, name, ok := pkgCall(n, s.gin); ok {
				switch name {
				case "Recovery":
					c.replace(n, c.errName+".GinRecovery()")
					c.change("gin.Recovery() replaced by "+c.errName+".GinRecovery()", n)
					s.replacedGin++
					s.ginRecovery = true
				case "RecoveryWithWriter", "CustomRecovery", "CustomRecoveryWithWriter":
					c.manual(n, "gin."+name+"(...) recovers panics before errutil", "replace it with "+c.errName+".GinRecovery()")
				}
			}
			if _, name, ok := pkgCall(n, s.echoMW); ok {
				switch name {
				case "Recover":
					c.replace(n, c.errName+".EchoRecover()")
					c.change("echo's middleware.Recover() replaced by "+c.errName+".EchoRecover()", n)
					s.replacedEchoMW++
					s.echoRecover = true
				case "RecoverWithConfig":
					c.manual(n, "echo's middleware.RecoverWithConfig(...) recovers panics before errutil", "replace it with "+c.errName+".EchoRecover()")
				}
			}
		}
		return true
	})
	if s.replacedChiMW > 0 && c.countSel(s.chiMW) == s.replacedChiMW {
		c.dropImport(chiMWPaths...)
	}
	if s.replacedEchoMW > 0 && c.countSel(s.echoMW) == s.replacedEchoMW {
		c.dropImport(pathEchoMW)
	}
}

// wireRouters puts errutil first in the middleware chain of the routers and
// engines created in the file, right after they are made (chi wants
// middleware before routes). A server that serves one of them is then wired
// already: covered holds them, seen their constructor calls.
func (c *fileCtx) wireRouters(s *serverNames) (covered map[string]bool, seen map[*ast.CallExpr]bool) {
	covered, seen = map[string]bool{}, map[*ast.CallExpr]bool{}
	ast.Inspect(c.f, func(n ast.Node) bool {
		as, ok := n.(*ast.AssignStmt)
		if !ok || len(as.Lhs) != 1 || len(as.Rhs) != 1 {
			return true
		}
		id, ok := as.Lhs[0].(*ast.Ident)
		if !ok || id.Name == "_" {
			return true
		}
		call, ok := as.Rhs[0].(*ast.CallExpr)
		if !ok {
			return true
		}
		x := id.Name
		if c.wireRouter(s, as, x, call) {
			seen[call] = true
			covered[c.scoped(as.Pos(), x)] = true
		}
		return true
	})
	return covered, seen
}

// wireRouter wires the router or engine the assignment as makes and names x;
// false when as makes none.
func (c *fileCtx) wireRouter(s *serverNames, as *ast.AssignStmt, x string, call *ast.CallExpr) (made bool) {
	if isSel(call.Fun, s.chi, "NewRouter") || isSel(call.Fun, s.gorilla, "NewRouter") {
		made = true
		switch {
		case c.routerUses(as, x, s.mw):
			c.done(x+".Use("+s.mw+")", as)
		case s.chiMW != "" && c.routerUses(as, x, s.chiMW+".Recoverer"):
			// its Recoverer is replaced by errutil.Middleware above
		default:
			c.after(as, x+".Use("+s.mw+")")
			c.change(x+".Use("+s.mw+") after the router is made", as)
		}
	}
	if name, ok := pkgSel(call.Fun, s.gin); ok && (name == "Default" || name == "New") {
		made = true
		switch {
		case name == "Default":
			c.replace(call.Fun.(*ast.SelectorExpr).Sel, "New")
			c.after(as, x+".Use("+s.gin+".Logger(), "+c.errName+".GinRecovery())")
			c.change("gin.Default() is gin.New() with gin.Logger() and "+c.errName+".GinRecovery() (in place of gin.Recovery())", as)
		case s.ginRecovery && s.replacedGin == 0:
			c.done("gin recovery by "+c.errName+".GinRecovery()", as)
		case s.ginRecovery:
		default:
			c.after(as, x+".Use("+c.errName+".GinRecovery())")
			c.change(x+".Use("+c.errName+".GinRecovery()) after the engine is made", as)
		}
	}
	if name, ok := pkgSel(call.Fun, s.echo); ok && name == "New" {
		made = true
		switch {
		case s.echoRecover && s.replacedEchoMW == 0:
			c.done("echo recovery by "+c.errName+".EchoRecover()", as)
		case s.echoRecover:
		default:
			c.after(as, x+".Use("+c.errName+".EchoRecover())")
			c.change(x+".Use("+c.errName+".EchoRecover()) after the server is made", as)
		}
	}
	return made
}

// wireServers wraps the handlers given to net/http, http.Server and gRPC
// servers that no router above covers, and asks by hand for what it cannot.
func (c *fileCtx) wireServers(s *serverNames, covered map[string]bool, seen map[*ast.CallExpr]bool) {
	ast.Inspect(c.f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.CallExpr:
			if seen[n] {
				return true
			}
			if name, ok := pkgSel(n.Fun, s.http); ok {
				if i, ok := handlerArg[name]; ok && len(n.Args) > i {
					c.wrapHandler(n.Args[i], s.http, "http."+name, covered)
				}
				if (name == "Handle" || name == "HandleFunc") && c.plan.registersDefault == 0 {
					c.plan.registersDefault = c.line(n.Pos())
				}
			}
			if name, ok := pkgSel(n.Fun, s.chi); ok && name == "NewRouter" && s.replacedChiMW == 0 {
				c.manual(n, "a chi router made outside an assignment", "add `r.Use("+s.mw+")` before its routes")
			}
			if name, ok := pkgSel(n.Fun, s.gorilla); ok && name == "NewRouter" {
				c.manual(n, "a gorilla/mux router made outside an assignment", "add `r.Use("+s.mw+")`")
			}
			if name, ok := pkgSel(n.Fun, s.gin); ok && (name == "Default" || name == "New") && !(name == "New" && s.ginRecovery) {
				c.manual(n, "a gin engine made outside an assignment", "use gin.New() and add `r.Use("+c.errName+".GinRecovery())` before its routes")
			}
			if name, ok := pkgSel(n.Fun, s.echo); ok && name == "New" && !s.echoRecover {
				c.manual(n, "an echo server made outside an assignment", "add `e.Use("+c.errName+".EchoRecover())`")
			}
			if name, ok := pkgSel(n.Fun, s.grpc); ok && name == "NewServer" {
				c.wireGRPC(n, s.grpc)
			}
		case *ast.CompositeLit:
			if name, ok := pkgSel(stripStar(n.Type), s.http); ok && name == "Server" {
				c.wireServerLit(n, s.http, covered)
			}
		case *ast.AssignStmt:
			if len(n.Lhs) == 1 && len(n.Rhs) == 1 && n.Tok == token.ASSIGN {
				if sel, ok := n.Lhs[0].(*ast.SelectorExpr); ok && sel.Sel.Name == "Handler" && c.mentions(s.http, "Server") {
					c.wrapHandler(n.Rhs[0], s.http, "Server.Handler", covered)
				}
			}
		}
		return true
	})
}

func stripStar(e ast.Expr) ast.Expr {
	if s, ok := e.(*ast.StarExpr); ok {
		return s.X
	}
	return e
}

// enclosing is the top-level declaration around pos (the scope gowire
// tracks router and engine variables in).
func (c *fileCtx) enclosing(pos token.Pos) ast.Node {
	for _, d := range c.f.Decls {
		if d.Pos() <= pos && pos < d.End() {
			return d
		}
	}
	return c.f
}

// scoped names variable x of the declaration around pos.
func (c *fileCtx) scoped(pos token.Pos, x string) string {
	return strconv.Itoa(c.tf.Offset(c.enclosing(pos).Pos())) + ":" + x
}

// routerUses reports whether the declaration around at calls x.Use(..., mw, ...).
func (c *fileCtx) routerUses(at ast.Node, x, mw string) bool {
	found := false
	ast.Inspect(c.enclosing(at.Pos()), func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok {
			return !found
		}
		if sel, ok := call.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "Use" {
			if id, ok := sel.X.(*ast.Ident); ok && id.Name == x {
				for _, a := range call.Args {
					if c.text(a) == mw {
						found = true
					}
				}
			}
		}
		return !found
	})
	return found
}

// after adds a statement on the line after stmt, with its indentation.
func (c *fileCtx) after(stmt ast.Stmt, text string) {
	end := lineEnd(c.src, c.tf.Offset(stmt.End()))
	start := lineStart(c.src, c.tf.Offset(stmt.Pos()))
	indent := c.src[start:c.tf.Offset(stmt.Pos())]
	if strings.TrimSpace(string(indent)) != "" {
		indent = nil
	}
	c.edits = append(c.edits, insert(end, "\n"+string(indent)+text))
}

// wrapHandler wraps the handler a server serves with errutil.Middleware; nil
// (http.DefaultServeMux) becomes errutil.Middleware(http.DefaultServeMux).
func (c *fileCtx) wrapHandler(h ast.Expr, httpName, site string, covered map[string]bool) {
	mw := c.errName + ".Middleware"
	if call, ok := h.(*ast.CallExpr); ok && c.text(call.Fun) == mw {
		if c.text(call.Args[0]) == httpName+".DefaultServeMux" {
			c.plan.servesDefaultMux = true
		}
		c.done(site+" handler wrapped in "+mw, h)
		return
	}
	if call, ok := h.(*ast.CallExpr); ok {
		fn := call.Fun
		if sel, ok := fn.(*ast.SelectorExpr); ok {
			fn = sel.Sel
		}
		if id, ok := fn.(*ast.Ident); ok && c.wrapping[id.Name] {
			c.done(site+" handler from "+id.Name+"(), which returns "+mw+"(...)", h)
			return
		}
	}
	if id, ok := h.(*ast.Ident); ok {
		if id.Name == "nil" && id.Obj == nil {
			c.replace(h, mw+"("+httpName+".DefaultServeMux)")
			c.change(site+": nil (http.DefaultServeMux) wrapped in "+mw, h)
			c.plan.servesDefaultMux = true
			return
		}
		if covered[c.scoped(id.Pos(), id.Name)] {
			c.done(site+" serves "+id.Name+", whose middleware has errutil", h)
			return
		}
	}
	if c.text(h) == httpName+".DefaultServeMux" {
		c.plan.servesDefaultMux = true
	}
	c.edits = append(c.edits, insert(c.tf.Offset(h.Pos()), mw+"("), insert(c.tf.Offset(h.End()), ")"))
	c.change(site+" handler wrapped in "+mw, h)
}

// wireServerLit wires an http.Server literal's Handler; a literal without
// one serves http.DefaultServeMux, so that is what it gets, wrapped, unless
// the file sets .Handler later.
func (c *fileCtx) wireServerLit(lit *ast.CompositeLit, httpName string, covered map[string]bool) {
	for _, e := range lit.Elts {
		kv, ok := e.(*ast.KeyValueExpr)
		if !ok {
			c.manual(lit, "an http.Server literal without field names", "wrap its handler in "+c.errName+".Middleware(...)")
			return
		}
		if k, ok := kv.Key.(*ast.Ident); ok && k.Name == "Handler" {
			c.wrapHandler(kv.Value, httpName, "http.Server", covered)
			return
		}
	}
	if c.setsHandler() {
		return // the assignment is wrapped instead
	}
	field := "Handler: " + c.errName + ".Middleware(" + httpName + ".DefaultServeMux),"
	lb := c.tf.Offset(lit.Lbrace) + 1
	switch {
	case len(lit.Elts) == 0:
		c.edits = append(c.edits, insert(lb, strings.TrimSuffix(field, ",")))
	case c.line(lit.Lbrace) != c.line(lit.Elts[0].Pos()):
		c.edits = append(c.edits, insert(lb, "\n"+field))
	default:
		c.edits = append(c.edits, insert(lb, field+" "))
	}
	c.plan.servesDefaultMux = true
	c.change("http.Server without a Handler (http.DefaultServeMux): Handler "+c.errName+".Middleware(http.DefaultServeMux)", lit)
}

func (c *fileCtx) setsHandler() bool {
	found := false
	ast.Inspect(c.f, func(n ast.Node) bool {
		if as, ok := n.(*ast.AssignStmt); ok && as.Tok == token.ASSIGN && len(as.Lhs) == 1 {
			if sel, ok := as.Lhs[0].(*ast.SelectorExpr); ok && sel.Sel.Name == "Handler" {
				found = true
			}
		}
		return !found
	})
	return found
}

// wireGRPC puts errutil's interceptors first among grpc.NewServer's options.
func (c *fileCtx) wireGRPC(call *ast.CallExpr, grpcName string) {
	for _, a := range call.Args {
		if strings.Contains(c.text(a), c.errName+".UnaryServerInterceptor") {
			c.done("grpc.NewServer has errutil's interceptors", call)
			return
		}
	}
	if call.Ellipsis.IsValid() {
		c.manual(call, "grpc.NewServer(opts...) takes its options from a slice",
			"add "+grpcName+".ChainUnaryInterceptor("+c.errName+".UnaryServerInterceptor()), "+grpcName+".ChainStreamInterceptor("+c.errName+".StreamServerInterceptor()) to them")
		return
	}
	unary := grpcName + ".ChainUnaryInterceptor(" + c.errName + ".UnaryServerInterceptor())"
	stream := grpcName + ".ChainStreamInterceptor(" + c.errName + ".StreamServerInterceptor())"
	opts := unary + ", " + stream
	switch {
	case len(call.Args) > 0 && c.line(call.Lparen) != c.line(call.Args[0].Pos()):
		opts = "\n" + unary + ",\n" + stream + "," // one option a line, as the others
	case len(call.Args) > 0:
		opts += ", "
	}
	c.edits = append(c.edits, insert(c.tf.Offset(call.Lparen)+1, opts))
	c.change("grpc.NewServer gets "+c.errName+"'s unary and stream interceptors", call)
}

// dropImport removes an import the rewrite left unused (its spec's line).
func (c *fileCtx) dropImport(paths ...string) {
	for _, spec := range c.f.Imports {
		p, _ := strconv.Unquote(spec.Path.Value)
		for _, want := range paths {
			if p != want {
				continue
			}
			start, end := lineStart(c.src, c.tf.Offset(spec.Pos())), lineEnd(c.src, c.tf.Offset(spec.End()))
			if strings.TrimSpace(string(c.src[start:c.tf.Offset(spec.Pos())])) != "" || strings.TrimSpace(string(c.src[c.tf.Offset(spec.End()):end])) != "" {
				c.manual(spec, "the import "+p+" is unused after the rewrite", "remove it")
				return
			}
			c.edits = append(c.edits, edit{at: start, end: end + 1})
			return
		}
	}
}

// mentions reports whether the file refers to pkg.name.
func (c *fileCtx) mentions(pkg, name string) bool {
	found := false
	ast.Inspect(c.f, func(n ast.Node) bool {
		if s, ok := n.(*ast.SelectorExpr); ok {
			if got, ok := pkgSel(s, pkg); ok && got == name {
				found = true
			}
		}
		return !found
	})
	return found
}
