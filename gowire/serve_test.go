package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const errPath = "example.com/svc/pkg/errutil"

// plan writes src as rel in a scratch module and plans it.
func plan(t *testing.T, rel, src string) *filePlan {
	t.Helper()
	root := t.TempDir()
	p := filepath.Join(root, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	fp, err := planFile(root, rel, errPath, map[string]bool{"Handler": true})
	if err != nil {
		t.Fatal(err)
	}
	return fp
}

func TestWiresServers(t *testing.T) {
	cases := []struct{ name, src, want string }{
		{"ListenAndServe nil is DefaultServeMux", `package main

import (
	"log"
	"net/http"
)

func main() {
	http.HandleFunc("/", hello)
	log.Fatal(http.ListenAndServe(":8080", nil)) // serve
}

func hello(w http.ResponseWriter, r *http.Request) {}
`, `package main

import (
	"log"
	"net/http"

	"example.com/svc/pkg/errutil"
)

func main() {
	defer errutil.Recover()
	http.HandleFunc("/", hello)
	log.Fatal(http.ListenAndServe(":8080", errutil.Middleware(http.DefaultServeMux))) // serve
}

func hello(w http.ResponseWriter, r *http.Request) {}
`},
		{"http.Server handler, TLS", `package server

import "net/http"

func Run(mux *http.ServeMux) error {
	srv := &http.Server{
		Addr:    ":8443",
		Handler: mux,
	}
	go http.ListenAndServeTLS(":9443", "c", "k", mux)
	return srv.ListenAndServe()
}
`, `package server

import (
	"net/http"

	"example.com/svc/pkg/errutil"
)

func Run(mux *http.ServeMux) error {
	srv := &http.Server{
		Addr:    ":8443",
		Handler: errutil.Middleware(mux),
	}
	go http.ListenAndServeTLS(":9443", "c", "k", errutil.Middleware(mux))
	return srv.ListenAndServe()
}
`},
		{"a handler from a function that wraps it already", `package main

import (
	"net/http"

	"example.com/svc/internal/server"
	"example.com/svc/pkg/errutil"
)

func main() {
	defer errutil.Recover()
	srv := &http.Server{Handler: server.New().Handler()}
	_ = srv.ListenAndServe()
}
`, ""},
		{"http.Server without a handler", `package server

import "net/http"

func Run() error {
	srv := http.Server{Addr: ":80"}
	return srv.ListenAndServe()
}
`, `package server

import (
	"net/http"

	"example.com/svc/pkg/errutil"
)

func Run() error {
	srv := http.Server{Handler: errutil.Middleware(http.DefaultServeMux), Addr: ":80"}
	return srv.ListenAndServe()
}
`},
		{"chi router, own Recoverer kept out", `package server

import (
	"net/http"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
)

func Routes() http.Handler {
	r := chi.NewRouter()
	r.Use(middleware.Recoverer)
	r.Get("/", nil)
	return r
}

func Serve(addr string) error {
	r := chi.NewRouter() // the API
	r.Get("/", nil)
	return http.ListenAndServe(addr, r)
}
`, `package server

import (
	"net/http"

	"example.com/svc/pkg/errutil"
	"github.com/go-chi/chi/v5"
)

func Routes() http.Handler {
	r := chi.NewRouter()
	r.Use(errutil.Middleware)
	r.Get("/", nil)
	return r
}

func Serve(addr string) error {
	r := chi.NewRouter() // the API
	r.Use(errutil.Middleware)
	r.Get("/", nil)
	return http.ListenAndServe(addr, r)
}
`},
		{"gorilla router", `package server

import (
	"net/http"

	"github.com/gorilla/mux"
)

func Serve(addr string) error {
	r := mux.NewRouter() // the API
	r.HandleFunc("/", nil)
	return http.ListenAndServe(addr, r)
}
`, `package server

import (
	"net/http"

	"example.com/svc/pkg/errutil"
	"github.com/gorilla/mux"
)

func Serve(addr string) error {
	r := mux.NewRouter() // the API
	r.Use(errutil.Middleware)
	r.HandleFunc("/", nil)
	return http.ListenAndServe(addr, r)
}
`},
		{"grpc, one option a line", `package api

import "google.golang.org/grpc"

func Server(o grpc.ServerOption) *grpc.Server {
	return grpc.NewServer(
		o, // auth
	)
}
`, `package api

import (
	"example.com/svc/pkg/errutil"
	"google.golang.org/grpc"
)

func Server(o grpc.ServerOption) *grpc.Server {
	return grpc.NewServer(
		grpc.ChainUnaryInterceptor(errutil.UnaryServerInterceptor()),
		grpc.ChainStreamInterceptor(errutil.StreamServerInterceptor()),
		o, // auth
	)
}
`},
		{"gin.Default", `package main

import "github.com/gin-gonic/gin"

func main() {
	r := gin.Default()
	r.GET("/", nil)
	_ = r.Run()
}
`, `package main

import (
	"example.com/svc/pkg/errutil"
	"github.com/gin-gonic/gin"
)

func main() {
	defer errutil.Recover()
	r := gin.New()
	r.Use(gin.Logger(), errutil.GinRecovery())
	r.GET("/", nil)
	_ = r.Run()
}
`},
		{"gin.Recovery", `package api

import "github.com/gin-gonic/gin"

func Engine() *gin.Engine {
	e := gin.New()
	e.Use(gin.Logger(), gin.Recovery())
	return e
}
`, `package api

import (
	"example.com/svc/pkg/errutil"
	"github.com/gin-gonic/gin"
)

func Engine() *gin.Engine {
	e := gin.New()
	e.Use(gin.Logger(), errutil.GinRecovery())
	return e
}
`},
		{"echo Recover", `package api

import (
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
)

func Server() *echo.Echo {
	e := echo.New()
	e.Use(middleware.Recover())
	return e
}
`, `package api

import (
	"example.com/svc/pkg/errutil"
	"github.com/labstack/echo/v4"
)

func Server() *echo.Echo {
	e := echo.New()
	e.Use(errutil.EchoRecover())
	return e
}
`},
		{"echo without Recover", `package api

import "github.com/labstack/echo/v4"

func Server() *echo.Echo {
	e := echo.New()
	return e
}
`, `package api

import (
	"example.com/svc/pkg/errutil"
	"github.com/labstack/echo/v4"
)

func Server() *echo.Echo {
	e := echo.New()
	e.Use(errutil.EchoRecover())
	return e
}
`},
		{"grpc", `package api

import "google.golang.org/grpc"

func Server(o grpc.ServerOption) *grpc.Server {
	return grpc.NewServer(o)
}
`, `package api

import (
	"example.com/svc/pkg/errutil"
	"google.golang.org/grpc"
)

func Server(o grpc.ServerOption) *grpc.Server {
	return grpc.NewServer(grpc.ChainUnaryInterceptor(errutil.UnaryServerInterceptor()), grpc.ChainStreamInterceptor(errutil.StreamServerInterceptor()), o)
}
`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := plan(t, "x.go", tc.src)
			if tc.want == "" {
				tc.want = tc.src // wired already
			}
			if got := string(p.new); got != tc.want {
				t.Fatalf("got:\n%s\nwant:\n%s\nchanges %q manual %v", got, tc.want, p.changes, p.manual)
			}
			if len(p.manual) != 0 {
				t.Fatalf("manual: %v", p.manual)
			}
			again := plan(t, "x.go", tc.want)
			if again.changed() || len(again.manual) != 0 || len(again.already) == 0 {
				t.Fatalf("second run: changed %v, manual %v, already %v\n%s", again.changed(), again.manual, again.already, again.new)
			}
		})
	}
}

func TestListsWhatItCannotWire(t *testing.T) {
	cases := []struct{ name, src, line string }{
		{"own recover in main", `package main

import "log"

func main() {
	defer func() {
		if v := recover(); v != nil {
			log.Print(v)
		}
	}()
	run()
}

func run() {}
`, "x.go:6: func main defers its own recover()"},
		{"own recover in a named function", `package main

func main() {
	defer cleanup()
}

func cleanup() { _ = recover() }
`, "x.go:4: func main defers its own recover()"},
		{"grpc options from a slice", `package api

import "google.golang.org/grpc"

func Server(opts []grpc.ServerOption) *grpc.Server {
	return grpc.NewServer(opts...)
}
`, "x.go:6: grpc.NewServer(opts...) takes its options from a slice: add grpc.ChainUnaryInterceptor(errutil.UnaryServerInterceptor())"},
		{"gin engine returned", `package api

import "github.com/gin-gonic/gin"

func Engine() *gin.Engine { return gin.Default() }
`, "x.go:5: a gin engine made outside an assignment"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := plan(t, "x.go", tc.src)
			var lines []string
			for _, m := range p.manual {
				lines = append(lines, m.String())
			}
			if len(lines) != 1 || !strings.HasPrefix(lines[0], tc.line) {
				t.Fatalf("manual %q, want one starting %q", lines, tc.line)
			}
			if p.changed() && strings.Contains(string(p.new), "defer errutil.Recover()") {
				t.Fatalf("wired a main with its own recover:\n%s", p.new)
			}
		})
	}
}

// TestWrappingFuncsFindMiddlewareInAChain: a function whose own body wraps a
// handler in errutil.Middleware counts, even when another wrapper is
// returned around it; a call only inside a closure, or in a function that
// returns nothing, does not.
func TestWrappingFuncsFindMiddlewareInAChain(t *testing.T) {
	root := t.TempDir()
	src := `package server

import (
	"net/http"

	"example.com/svc/pkg/errutil"
)

func Handler(mux *http.ServeMux) http.Handler {
	h := errutil.Middleware(mux)
	return errutil.RequestIDs(h)
}

func Direct(mux *http.ServeMux) http.Handler { return errutil.Middleware(mux) }

func Later(mux *http.ServeMux) func() http.Handler {
	return func() http.Handler { return errutil.Middleware(mux) }
}

func Serve(mux *http.ServeMux) { _ = http.ListenAndServe(":80", errutil.Middleware(mux)) }
`
	if err := os.WriteFile(filepath.Join(root, "server.go"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	got := wrappingFuncs(root, []string{"server.go"}, errPath)
	if !got["Handler"] || !got["Direct"] || got["Later"] || got["Serve"] || len(got) != 2 {
		t.Fatalf("wrapping functions %v, want Handler and Direct", got)
	}
}
