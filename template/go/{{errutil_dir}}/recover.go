package errutil

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path"
	"regexp"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Sink receives each crash report that is logged. It must not keep the
// report after it returns.
type Sink interface {
	WriteCrash(r *Report)
}

// SinkFunc adapts a function to Sink.
type SinkFunc func(r *Report)

// WriteCrash calls f(r).
func (f SinkFunc) WriteCrash(r *Report) { f(r) }

// Config sets errutil up; the zero value of every field means its default.
type Config struct {
	// AppModules are the import-path prefixes of the service's own code.
	// Default: the main module's path from the build info.
	AppModules []string
	// Sink writes the reports. Default: the text form on stderr.
	Sink Sink
	// RepeatWindow is how long repeats of a crash (same fingerprint) are
	// counted instead of logged. Default one minute; negative logs every
	// crash (in full while within ReportBudget).
	RepeatWindow time.Duration
	// ReportBudget is how many full reports, across all fingerprints, are
	// logged per BudgetWindow; a crash past it gets one crash_over_budget
	// line with its error id and fingerprint. Default 100; negative: no budget.
	ReportBudget int
	// BudgetWindow is the period of ReportBudget. Default one minute.
	BudgetWindow time.Duration
	// RedactKeys are words, besides the built-in ones (password, token,
	// secret, ...), whose key=value and "key": "value" values are redacted
	// from messages.
	RedactKeys []string
	// RedactPatterns are redacted from messages wherever they match.
	RedactPatterns []*regexp.Regexp
	// OnCrash is called for every crash, repeats included (metrics).
	OnCrash func(r *Report)
	// OnRequestCrash is called by Middleware for every crash in a request,
	// repeats included, with the request's context: the service records the
	// crash on the request's trace span there. errutil itself imports no
	// tracing library. A panic in it is contained like any fault of errutil's.
	OnRequestCrash func(ctx context.Context, r *Report)
	// Exit ends the process after a crash in main. Default os.Exit.
	Exit func(code int)
}

type state struct {
	cfg     Config
	cls     *classifier
	repeats *repeats
	redact  *redactor
}

var (
	current     atomic.Pointer[state]
	defaultOnce sync.Once
)

// Configure replaces errutil's configuration. Call it once at start-up,
// before serving.
func Configure(cfg Config) {
	if cfg.Sink == nil {
		cfg.Sink = TextSink(os.Stderr)
	}
	if cfg.RepeatWindow == 0 {
		cfg.RepeatWindow = time.Minute
	}
	if cfg.ReportBudget == 0 {
		cfg.ReportBudget = 100
	}
	if cfg.BudgetWindow <= 0 {
		cfg.BudgetWindow = time.Minute
	}
	if cfg.Exit == nil {
		cfg.Exit = os.Exit
	}
	redact := defaultRedactor
	if len(cfg.RedactKeys) > 0 || len(cfg.RedactPatterns) > 0 {
		redact = newRedactor(cfg.RedactKeys, cfg.RedactPatterns)
	}
	current.Store(&state{cfg: cfg, cls: newClassifier(cfg.AppModules), repeats: newRepeats(), redact: redact})
}

func loadState() *state {
	if s := current.Load(); s != nil {
		return s
	}
	defaultOnce.Do(func() {
		if current.Load() == nil {
			Configure(Config{})
		}
	})
	return current.Load()
}

func classifierFor() *classifier { return loadState().cls }

// TextSink writes the text form, one report per write, to w.
func TextSink(w io.Writer) Sink {
	var mu sync.Mutex
	return SinkFunc(func(r *Report) {
		b := append(r.AppendText(make([]byte, 0, 512)), '\n')
		mu.Lock()
		defer mu.Unlock()
		_, _ = w.Write(b)
	})
}

// JSONSink writes each report as one JSON line to w.
func JSONSink(w io.Writer) Sink {
	var mu sync.Mutex
	return SinkFunc(func(r *Report) {
		b, err := r.MarshalJSON()
		if err != nil {
			panic(err) // handled as an internal fault: Go's own output follows
		}
		mu.Lock()
		defer mu.Unlock()
		_, _ = w.Write(append(b, '\n'))
	})
}

// repeatRule says whether report may count a crash as a repeat of an earlier one
// (a one-line record, or only a count) or must log it in full.
type repeatRule bool

const (
	countRepeats repeatRule = true  // a crash the process survives: storm control applies
	alwaysInFull repeatRule = false // the crash that ends the process: always the full report
)

// report captures v and hands it to the sink, guarding against every fault
// of its own: if building or writing the report panics, Go's standard panic
// output for v is written to stderr instead. It returns the report (nil after
// an internal fault).
func report(v any, origin string, decorate func(*Report), rule repeatRule) (r *Report) {
	defer func() {
		if fault := recover(); fault != nil {
			fmt.Fprintf(os.Stderr, "panic: %v\n\n%s\n(errutil: %v)\n", v, debug.Stack(), fault)
			r = nil
		}
	}()
	s := loadState()
	r = Capture(v, origin)
	if decorate != nil {
		decorate(r)
	}
	if s.cfg.OnCrash != nil {
		s.cfg.OnCrash(r)
	}
	if rule == countRepeats && s.repeats.admit(r, &s.cfg, s.cfg.Sink) == logCount {
		return r
	}
	s.cfg.Sink.WriteCrash(r)
	return r
}

// syncer is what loggers that buffer offer (zap); flushed before exiting.
type syncer interface{ Sync() error }

// Recover is deferred first in main: a panic is logged as a short report
// (always in full: the crash that ends the process is never only a repeat),
// pending repeat summaries are flushed, and the process exits with code 2,
// Go's own crash code. Without a panic it only flushes (main is returning).
func Recover() {
	v := recover()
	if v == nil {
		Flush()
		return
	}
	report(v, OriginMain, nil, alwaysInFull)
	Flush()
	loadState().cfg.Exit(2)
}

// Flush writes the pending repeat counts, one crash_repeated line per
// fingerprint, and syncs a logger that buffers (zap). Call it when the
// process ends other than through Recover: the generated main calls it after
// a SIGTERM shutdown. Flush never panics.
func Flush() {
	defer func() { _ = recover() }()
	s := loadState()
	s.repeats.flush(s.cfg.Sink)
	if f, ok := s.cfg.Sink.(syncer); ok {
		_ = f.Sync()
	}
}

// Go runs fn in a new goroutine whose panic is reported (origin goroutine,
// with where Go was called) instead of killing the process.
//
// Do not pair it with a sync.WaitGroup whose Done is deferred inside fn:
// Done runs while the panic unwinds, before Go's recover writes the report,
// so Wait can return, and the program exit, before the report is written.
// Use a Group: its Wait returns only after every report is written.
func Go(fn func()) {
	var pc [1]uintptr
	runtime.Callers(2, pc[:])
	go func() {
		defer recoverGoroutine(pc)
		fn()
	}()
}

func recoverGoroutine(startPC [1]uintptr) {
	if v := recover(); v != nil {
		reportGoroutine(v, startPC)
	}
}

// reportGoroutine reports v as a goroutine's crash, with where the goroutine
// was started (nil after an internal fault).
func reportGoroutine(v any, startPC [1]uintptr) *Report {
	return report(v, OriginGoroutine, func(r *Report) {
		f, _ := runtime.CallersFrames(startPC[:]).Next()
		if f.Function == "" {
			return
		}
		info := classifierFor().classify(f)
		r.StartedAt = &Frame{File: info.file, Line: info.line, Function: info.function}
	}, countRepeats)
}

// TB is the part of testing.TB that RecoverT uses (errutil does not import
// testing into the service's binary).
type TB interface {
	Helper()
	Fatal(args ...any)
}

// undecoratedTB is what testing.TB offers since Go 1.25: a writer for the
// test's log that adds no file:line of its own.
type undecoratedTB interface {
	Output() io.Writer
	FailNow()
}

// RecoverT is deferred first in a test: a panic in the test fails it with the
// short report instead of Go's full goroutine dump.
//
//	defer errutil.RecoverT(t)
//
// The failure is prefixed with the test's own file:line (the innermost frame
// of the panicking stack in a _test.go file). testing cannot find it itself:
// RecoverT runs under the runtime's panic frames (panicmem, goPanicIndex),
// which are no helpers, so t.Fatal would name the runtime's panic.go. With
// Go 1.25 or later the line is written through t.Output; before, through
// t.Fatal, whose own prefix then comes first.
func RecoverT(t TB) {
	v := recover()
	if v == nil {
		return
	}
	t.Helper()
	var text string
	func() {
		defer func() {
			if fault := recover(); fault != nil {
				text = fmt.Sprintf("%v\n%s", v, debug.Stack())
			}
		}()
		text = Capture(v, OriginTest).Text()
	}()
	text = "panic: " + text
	site := testSite()
	if u, ok := t.(undecoratedTB); ok && site != "" {
		// indented as t.Log indents the lines after its first
		_, _ = io.WriteString(u.Output(), site+": "+strings.ReplaceAll(text, "\n", "\n    ")+"\n")
		u.FailNow()
		return
	}
	if site != "" {
		text = site + ": " + text
	}
	t.Fatal(text)
}

// testSite is the file:line (base name, as testing prints it) where the
// panicking stack passes through a _test.go file, innermost first; else the
// panic site. Called from RecoverT, under the panic's frames.
func testSite() (site string) {
	defer func() {
		if recover() != nil {
			site = ""
		}
	}()
	var pcs [128]uintptr
	frames := runtime.CallersFrames(pcs[:runtime.Callers(1, pcs[:])])
	inPanic := false
	var first runtime.Frame
	for {
		f, more := frames.Next()
		switch {
		case f.Function == "runtime.gopanic":
			inPanic = true
		case !inPanic || strings.HasPrefix(f.Function, "runtime.") || f.File == "":
		case strings.HasSuffix(f.File, "_test.go"):
			return path.Base(f.File) + ":" + strconv.Itoa(f.Line)
		case first.File == "":
			first = f
		}
		if !more {
			break
		}
	}
	if first.File == "" {
		return ""
	}
	return path.Base(first.File) + ":" + strconv.Itoa(first.Line)
}

// isAbort reports whether v is http.ErrAbortHandler, the panic net/http uses
// to abort a response on purpose: it is passed on, never reported.
func isAbort(v any) bool {
	err, ok := v.(error)
	return ok && errors.Is(err, http.ErrAbortHandler)
}
