// Command gowire wires shortstack's errutil into an existing Go module. It
// adds the errutil package (copier's errutil-go component, with the adapters
// for the logger and the frameworks go.mod requires) and rewrites, through
// go/ast, what the packages `go build ./...` builds start and serve:
//
//   - func main: `defer errutil.Recover()` first (a main that defers its own
//     recover() is listed instead: errutil's would be dead);
//   - http.ListenAndServe/ListenAndServeTLS/Serve/ServeTLS and http.Server
//     handlers: wrapped in errutil.Middleware (nil, or no Handler, is
//     errutil.Middleware(http.DefaultServeMux));
//   - chi and gorilla/mux routers: r.Use(errutil.Middleware) right after
//     they are made (chi's middleware.Recoverer is replaced);
//   - gin: gin.Recovery() and gin.Default()'s recovery become
//     errutil.GinRecovery(); echo: middleware.Recover() becomes
//     errutil.EchoRecover() (and an echo.New() without it gets it);
//   - grpc.NewServer: errutil's unary and stream interceptors first.
//
// What it cannot wire safely is listed with the file, the line and what to
// add. Comments stay where they are, the import goes where goimports puts
// it, and a second run changes nothing. The whole plan is checked first and
// the result built in a scratch copy: the tree is changed entirely or not at
// all.
//
// Usage, from the shortstack checkout (the Python CLI behind
// `make setup-panic-handler DEST=...` runs exactly this when DEST has a go.mod):
//
//	go -C gowire run . -dest DIR [-dry-run | -check] [-force]
//
// Flags:
//
//	-dest DIR         the module to wire (its go.mod must be in DIR); relative to the working directory
//	-dry-run          print the unified diff (`git apply` takes it); write nothing
//	-check            say what is wired; exit 1 when anything is not
//	-force            proceed although DIR is not a git work tree or has uncommitted changes
//	-errutil-dir D    where errutil goes inside the module (default pkg/errutil, or the
//	                  value recorded in .copier-answers.errutil-go.yml)
//	-logger L         errutil's logger adapter: slog, zap or logrus (default: from go.mod)
//	-template DIR     the shortstack checkout (default: found from the working directory)
//	-copier CMD       the copier command (default: copier, else python3 -m copier)
//	-no-component     only rewrite the code (errutil is added some other way)
//	-verify=false     skip building the result in a scratch copy first
//
// It refuses, changing nothing, when DIR is not a clean git work tree (so the
// change can be reviewed with git diff) unless -force, when the module's go
// directive is older than 1.22 (errutil needs it), or when the change would
// not build. Exit codes, as the Python injector's: 0 done (or nothing to
// do), 1 -check found something unwired, 2 refused (nothing changed) or bad usage.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("gowire", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var opts options
	fs.StringVar(&opts.dest, "dest", "", "the Go module to wire (directory with go.mod)")
	fs.BoolVar(&opts.dryRun, "dry-run", false, "print the diff, write nothing")
	fs.BoolVar(&opts.check, "check", false, "say what is wired; exit 1 when anything is not")
	fs.BoolVar(&opts.force, "force", false, "proceed on a dirty or non-git tree")
	fs.StringVar(&opts.errutilDir, "errutil-dir", "", "errutil's folder inside the module (default pkg/errutil)")
	fs.StringVar(&opts.logger, "logger", "", "errutil's logger adapter: slog, zap or logrus (default: the one go.mod requires)")
	fs.StringVar(&opts.template, "template", "", "the shortstack checkout (default: found from the working directory)")
	fs.StringVar(&opts.copier, "copier", "", "the copier command (default: copier, else python3 -m copier)")
	fs.BoolVar(&opts.noComponent, "no-component", false, "only rewrite the mains")
	fs.BoolVar(&opts.verify, "verify", true, "run go build ./... after the change")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if opts.dest == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "usage: gowire -dest DIR [-dry-run | -check] [-force] [-errutil-dir pkg/errutil] [-logger slog|zap|logrus]")
		return 2
	}
	switch opts.logger {
	case "", "slog", "zap", "logrus":
	default:
		fmt.Fprintf(stderr, "gowire: -logger %q: want slog, zap or logrus\n", opts.logger)
		return 2
	}
	code, err := wire(opts, stdout, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "gowire:", err)
	}
	return code
}
