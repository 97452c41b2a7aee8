// Command gowire wires shortstack's errutil into an existing Go module: it
// adds the errutil package (copier's errutil-go component) and inserts
//
//	defer errutil.Recover()
//
// as the first statement of every func main, with the import. The rewrite
// goes through go/ast and go/format, keeps comments (a file whose comments
// would move is left alone and reported), and is idempotent: a main that
// already defers errutil's Recover is not touched.
//
// Usage, from the shortstack checkout (the Python CLI behind
// `make setup-panic-handler DEST=...` runs exactly this when DEST has a go.mod):
//
//	go run . -dest DIR [-dry-run] [-force]        (in gowire/)
//	go -C gowire run . -dest DIR [-dry-run] [-force]  (from the repository root)
//
// Flags:
//
//	-dest DIR         the module to wire (its go.mod must be in DIR); relative to the working directory
//	-dry-run          print what would change; write nothing, run nothing
//	-force            proceed although DIR is not a git work tree or has uncommitted changes
//	-errutil-dir D    where errutil goes inside the module (default pkg/errutil, or the
//	                  value recorded in .copier-answers.errutil-go.yml)
//	-logger L         errutil's logger adapter: slog (default), zap or logrus
//	-template DIR     the shortstack checkout (default: found from the working directory)
//	-copier CMD       the copier command (default: copier, else python3 -m copier)
//	-no-component     only rewrite the mains (errutil is added some other way)
//	-verify=false     skip `go build ./...` after the change
//
// It refuses, changing nothing, when DIR is not a clean git work tree (so the
// change can be reviewed with git diff) unless -force, when the module's go
// directive is older than 1.22 (errutil needs it), or when a main cannot take
// the import under the name errutil. Exit codes: 0 done (or nothing to do),
// 1 refused or failed, 2 bad usage.
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
	fs.BoolVar(&opts.dryRun, "dry-run", false, "print what would change, write nothing")
	fs.BoolVar(&opts.force, "force", false, "proceed on a dirty or non-git tree")
	fs.StringVar(&opts.errutilDir, "errutil-dir", "", "errutil's folder inside the module (default pkg/errutil)")
	fs.StringVar(&opts.logger, "logger", "", "errutil's logger adapter: slog (default), zap or logrus")
	fs.StringVar(&opts.template, "template", "", "the shortstack checkout (default: found from the working directory)")
	fs.StringVar(&opts.copier, "copier", "", "the copier command (default: copier, else python3 -m copier)")
	fs.BoolVar(&opts.noComponent, "no-component", false, "only rewrite the mains")
	fs.BoolVar(&opts.verify, "verify", true, "run go build ./... after the change")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if opts.dest == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "usage: gowire -dest DIR [-dry-run] [-force] [-errutil-dir pkg/errutil]")
		return 2
	}
	switch opts.logger {
	case "", "slog", "zap", "logrus":
	default:
		fmt.Fprintf(stderr, "gowire: -logger %q: want slog, zap or logrus\n", opts.logger)
		return 2
	}
	if err := wire(opts, stdout); err != nil {
		fmt.Fprintln(stderr, "gowire:", err)
		return 1
	}
	return 0
}
