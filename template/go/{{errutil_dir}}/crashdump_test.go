package errutil

import (
	"strings"
	"testing"
)

// Dumps in the runtime's format, as it writes them to the crash output.
const (
	nestedPanicDump = `panic: first [recovered]
	panic: again: first

goroutine 1 [running]:
main.main.func2()
	/src/app/main.go:35 +0x5b
panic({0x4b0620?, 0xbdd28c821c0?})
	/usr/local/go/src/runtime/panic.go:860 +0x13a
main.main()
	/src/app/main.go:36 +0x185
`
	nilDerefDump = `panic: runtime error: invalid memory address or nil pointer dereference
[signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x4a0f79]

goroutine 18 gp=0xc000003340 m=3 mp=0xc000080008 [running]:
main.(*Store).Load(...)
	/src/app/store.go:18
main.worker(0xc000012345, {0x4b0620?, 0x0?})
	/src/app/main.go:32 +0x19 fp=0xc00004c7d0 sp=0xc00004c7b8 pc=0x4a0f79
...additional frames elided...
created by main.main in goroutine 1
	/src/app/main.go:40 +0xee

goroutine 1 [chan receive]:
main.main()
	/src/app/main.go:41 +0x101
`
	multiLineDump = `panic: line one
line two

goroutine 1 [running]:
main.main()
	/src/app/main.go:3 +0x25
`
	fatalWithoutMessageDump = `
goroutine 4 [running]:
internal/runtime/maps.fatal({0x4caf88?, 0x0?})
	/usr/local/go/src/runtime/panic.go:1181 +0x18
main.writer(0xc768dc8aa50, 0x0?)
	/src/app/main.go:14 +0x7f
created by main.main in goroutine 1
	/src/app/main.go:27 +0x1bd
`
	stackOverflowDump = `runtime: goroutine stack exceeds 1000000000-byte limit
fatal error: stack overflow

runtime stack:
runtime.throw({0x4b1d2e?, 0x0?})
	/usr/local/go/src/runtime/panic.go:1101 +0x48

goroutine 1 gp=0xc000002380 m=0 mp=0x5645e0 [running]:
main.recurse(0x0?)
	/src/app/main.go:5 +0x2e
main.recurse(0x0?)
	/src/app/main.go:6 +0x13
`
)

func TestParseCrashDump(t *testing.T) {
	for name, tc := range map[string]struct {
		dump, typ, message string
		goroutine          int
		functions          []string
		createdBy          string
	}{
		"nested panic": {nestedPanicDump, TypePanic, "again: first", 1,
			[]string{"main.main.func2", "runtime.gopanic", "main.main"}, ""},
		"nil dereference, system traceback": {nilDerefDump, TypePanic, "runtime error: invalid memory address or nil pointer dereference", 18,
			[]string{"main.(*Store).Load", "main.worker"}, "main.main"},
		"message of two lines": {multiLineDump, TypePanic, "line one\nline two", 1, []string{"main.main"}, ""},
		"fatal error without its message": {fatalWithoutMessageDump, TypeFatalError, "concurrent map access (the runtime's exact message is on stderr)", 4,
			[]string{"internal/runtime/maps.fatal", "main.writer"}, "main.main"},
		"stack overflow": {stackOverflowDump, TypeFatalError, "stack overflow", 1, []string{"main.recurse", "main.recurse"}, ""},
	} {
		t.Run(name, func(t *testing.T) {
			c, ok := parseCrashDump(tc.dump)
			if !ok || c.err.Type != tc.typ || c.err.Message != tc.message || c.goroutine != tc.goroutine {
				t.Fatalf("parsed %v: %+v, goroutine %d", ok, c.err, c.goroutine)
			}
			var functions []string
			for _, f := range c.frames {
				functions = append(functions, f.function)
				if !strings.HasSuffix(f.file, ".go") || f.line == 0 {
					t.Fatalf("frame %+v", f)
				}
			}
			if strings.Join(functions, " ") != strings.Join(tc.functions, " ") {
				t.Fatalf("functions %q, want %q", functions, tc.functions)
			}
			if (c.createdBy == nil) != (tc.createdBy == "") || (c.createdBy != nil && c.createdBy.function != tc.createdBy) {
				t.Fatalf("created by %+v, want %q", c.createdBy, tc.createdBy)
			}
		})
	}
	if _, ok := parseCrashDump(""); ok {
		t.Fatal("an empty crash output (a normal exit) parsed as a crash")
	}
}

func TestCrashDumpReportKeepsTheSite(t *testing.T) {
	c, _ := parseCrashDump(nestedPanicDump)
	r := reportCrashDump(c)
	// the re-panic site, not the first panic's; the runtime's panic frame hidden
	if r.Origin != OriginMain || len(r.Stack) != 2 || r.Stack[0].Function != "main.main.func2" || r.Stack[0].Line != 35 || r.Stack[1].Function != "main.main" {
		t.Fatalf("report:\n%s", r.Text())
	}
	if r.Goroutine != 1 || !strings.Contains(r.ExceptionStacktrace(), "\n\ngoroutine 1 [running]:\nmain.main.func2(...)\n") {
		t.Fatalf("exception.stacktrace of the dump's goroutine:\n%s", r.ExceptionStacktrace())
	}
	c, _ = parseCrashDump(fatalWithoutMessageDump)
	r = reportCrashDump(c)
	if r.Origin != OriginGoroutine || r.Stack[0].Function != "main.writer" || r.StartedAt == nil || r.StartedAt.Line != 27 {
		t.Fatalf("report:\n%s", r.Text())
	}
	if st := r.ExceptionStacktrace(); !strings.HasPrefix(st, "fatal error: ") || !strings.Contains(st, "\n\ngoroutine 4 [running]:\n") {
		t.Fatalf("exception.stacktrace of a fatal error:\n%s", st)
	}
}

// TestCrashDumpReportIsRedactedAndFingerprinted: a dump's message goes through
// the same redaction as a recovered panic's, and the fingerprint is the
// contract's (type and the kept frames' files and functions, no lines, no
// closure suffixes), so the same bug keeps one fingerprint when lines move.
func TestCrashDumpReportIsRedactedAndFingerprinted(t *testing.T) {
	dump := strings.Replace(nestedPanicDump, "panic: again: first", "panic: login failed for bob password=hunter2", 1)
	c, _ := parseCrashDump(dump)
	r := reportCrashDump(c)
	if strings.Contains(r.Error.Message, "hunter2") || !strings.Contains(r.Error.Message, Redacted) {
		t.Fatalf("message not redacted: %q", r.Error.Message)
	}
	if want := fingerprint(r.Error.Type, r.Stack); r.Fingerprint != want {
		t.Fatalf("fingerprint %016x, want %016x", r.Fingerprint, want)
	}
	moved, _ := parseCrashDump(strings.ReplaceAll(strings.ReplaceAll(dump, "main.go:35", "main.go:52"), "main.go:36", "main.go:53"))
	if got := reportCrashDump(moved).Fingerprint; got != r.Fingerprint || r.Stack[0].Function != "main.main.func2" {
		t.Fatalf("moved lines changed the fingerprint: %016x, was %016x (%s)", got, r.Fingerprint, r.Stack[0].Function)
	}
}
