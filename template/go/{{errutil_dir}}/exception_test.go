package errutil

import (
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// goTraceback is Go's panic output as tracebacks parsers read it: the panic
// line, a blank line, the goroutine header, then pairs of a function line and
// a tab-indented file:line; here also one line counting the hidden frames and
// Go's "created by" pair.
var goTraceback = regexp.MustCompile(`\Apanic: [^\n]*\n\ngoroutine (\d+) \[running\]:\n` +
	`((?:[^\s()][^\n]*\(\.\.\.\)\n\t[^\n]+:\d+\n?)+)` +
	`(?:\.\.\.(\d+) library frames? hidden\.\.\.\n?)?` +
	`(?:created by [^\n]+\n\t[^\n]+:\d+)?\z`)

//go:noinline
func exceptionRaise(m map[string]int) int { return 1 / m["zero"] }

//go:noinline
func exceptionCall() int { return exceptionRaise(map[string]int{}) + 1 }

func captured(f func(), origin string) (r *Report) {
	defer func() { r = Capture(recover(), origin) }()
	f()
	return nil
}

func TestExceptionStacktraceIsAGoTraceback(t *testing.T) {
	r := captured(func() { _ = exceptionCall() }, OriginHTTP)
	st := r.ExceptionStacktrace()
	m := goTraceback.FindStringSubmatch(st)
	if m == nil {
		t.Fatalf("not a Go traceback:\n%s", st)
	}
	if !strings.HasPrefix(st, "panic: runtime error: integer divide by zero\n") {
		t.Fatalf("panic line:\n%s", st)
	}
	if id, _ := strconv.Atoi(m[1]); id <= 0 {
		t.Fatalf("goroutine number %q:\n%s", m[1], st)
	}
	frames := strings.Split(strings.TrimSuffix(m[2], "\n"), "\n")
	if len(frames) != 2*len(r.Stack) {
		t.Fatalf("%d lines for %d kept frames:\n%s", len(frames), len(r.Stack), st)
	}
	// The raise site first, as Go prints it, with the report's own file:line.
	if frames[0] != r.Stack[0].Function+"(...)" || !strings.HasSuffix(r.Stack[0].Function, ".exceptionRaise") ||
		frames[1] != "\t"+r.Stack[0].File+":"+strconv.Itoa(r.Stack[0].Line) {
		t.Fatalf("raise site:\n%s", st)
	}
	if hidden, _ := strconv.Atoi(m[3]); r.StackHidden == 0 || hidden != r.StackHidden {
		t.Fatalf("hidden line says %q, the report hid %d:\n%s", m[3], r.StackHidden, st)
	}
	if strings.Contains(r.Text(), "goroutine") || strings.Contains(r.Text(), "(...)") {
		t.Fatalf("the text form changed:\n%s", r.Text())
	}
}

func TestExceptionFieldsInTheJSONLine(t *testing.T) {
	r := captured(func() { panic("bad\nnews") }, OriginMain)
	b, err := r.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	var line map[string]any
	if err := json.Unmarshal(b, &line); err != nil {
		t.Fatal(err)
	}
	st, _ := line["exception.stacktrace"].(string)
	if line["exception.type"] != "string" || line["exception.message"] != "bad\nnews" || goTraceback.FindString(st) == "" {
		t.Fatalf("exception.*: %s", b)
	}
	// A newline in the message would end Go's panic line early.
	if !strings.HasPrefix(st, `panic: bad\nnews`+"\n\n") {
		t.Fatalf("panic line:\n%s", st)
	}
	// The one-line events' log lines carry no stack, so no exception fields
	// either; the report keeps it for OnRequestCrash (a span).
	r.Event = EventRepeat
	if b, _ := r.MarshalJSON(); strings.Contains(string(b), "exception.") || r.ExceptionStacktrace() == "" {
		t.Fatalf("a one-line event: %s", b)
	}
}

func TestExceptionStacktraceOfAGoroutineSaysWhereItStarted(t *testing.T) {
	r := captured(func() { panic(errTest) }, OriginGoroutine)
	r.StartedAt = &Frame{File: "internal/server/server.go", Line: 9, Function: "server.(*Server).start"}
	st := r.ExceptionStacktrace()
	if goTraceback.FindString(st) == "" || !strings.HasSuffix(st, "\ncreated by server.(*Server).start\n\tinternal/server/server.go:9") {
		t.Fatalf("created by:\n%s", st)
	}
	if !strings.HasPrefix(st, "panic: test error\n") {
		t.Fatalf("an error panics with its message:\n%s", st)
	}
}

type testError struct{}

func (testError) Error() string { return "test error" }

var errTest error = testError{}
