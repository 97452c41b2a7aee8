package errutil

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"
)

// Where a crash came from (the report's origin field).
const (
	OriginMain      = "main"
	OriginGoroutine = "goroutine"
	OriginHTTP      = "http"
	OriginTest      = "test"
)

// The events errutil logs. A crash is logged in full once per fingerprint and
// window, within the report budget; otherwise it gets one line, or (outside a
// request) is only counted in the next crash_repeated summary.
const (
	// EventCrash is a full report.
	EventCrash = "crash"
	// EventRepeat is the one line a repeated crash inside a request gets, so
	// the error id the client was given is always in the log.
	EventRepeat = "crash_repeat"
	// EventRepeated is the summary of the repeats of one fingerprint, written
	// when its window ends or on Flush.
	EventRepeated = "crash_repeated"
	// EventOverBudget is the one line of a crash past the budget of full
	// reports (Config.ReportBudget): it still carries the error id and the
	// fingerprint.
	EventOverBudget = "crash_over_budget"
)

// maxMessage bounds the message a report carries; a longer one is cut and
// says how long it was.
const maxMessage = 2048

// ErrorInfo is what was thrown: its Go type and its message (%v).
type ErrorInfo struct {
	Type    string `json:"type"`
	Message string `json:"message"`
}

// HTTPInfo says which request crashed. The path has no query string: queries
// carry tokens.
type HTTPInfo struct {
	Method string `json:"method"`
	Path   string `json:"path"`
	Status int    `json:"status"`
}

// Cause is one link of a wrapped error's chain (errors.Unwrap), in the same
// shape as the report's own error. A Go error carries no stack of its own, so
// Stack is empty for the causes Capture finds.
type Cause struct {
	Error       ErrorInfo `json:"error"`
	Stack       []Frame   `json:"stack"`
	StackHidden int       `json:"stack_hidden"`
	Cause       *Cause    `json:"cause,omitempty"`
}

// MarshalJSON writes an empty stack as [], as the Python reports do.
func (c *Cause) MarshalJSON() ([]byte, error) {
	type plain Cause
	p := plain(*c)
	if p.Stack == nil {
		p.Stack = []Frame{}
	}
	return json.Marshal(p)
}

// Report is one crash. Build one with Capture; Text and MarshalJSON render it.
type Report struct {
	Event       string    // EventCrash, or one of the one-line events
	Level       string    // "error"
	ErrorID     ErrorID   // a UUIDv7: shown to the client, in the log and on spans
	Error       ErrorInfo //
	Cause       *Cause    // the wrapped errors of a panic with an error
	Stack       []Frame   // kept frames, innermost first
	StackHidden int       // frames hidden (runtime, library, errutil)
	Fingerprint uint64    // hash of the type and the kept frames (see fingerprint)
	Origin      string    // OriginMain, OriginGoroutine, OriginHTTP, OriginTest
	HTTP        *HTTPInfo // set for OriginHTTP
	RequestID   string    // the request's id (RequestIDs), for OriginHTTP
	StartedAt   *Frame    // where the goroutine was started (OriginGoroutine)
	Repeats     int       // EventRepeated: how many repeats were not logged in full
	Seconds     float64   // EventRepeated: over how long they happened
	Goroutine   uint64    // the crashed goroutine's number (ExceptionStacktrace)

	frames [inlineFrames]Frame // Stack's storage for common depths
}

// ErrorIDString is the error id as the client and the log see it: a UUID in
// canonical lowercase form.
func (r *Report) ErrorIDString() string { return r.ErrorID.String() }

// FingerprintString is the fingerprint as the log sees it: 16 hex digits.
func (r *Report) FingerprintString() string {
	var b [16]byte
	return string(appendHex(b[:0], r.Fingerprint, 16))
}

// Capture builds the report for a recovered value. Call it from the deferred
// function that recovered (the panicking frames are still on the stack
// there); outside a panic it reports the caller's stack. Messages are
// redacted (see Config.RedactKeys) before the report is returned.
func Capture(v any, origin string) *Report {
	s := loadState()
	r := &Report{Event: EventCrash, Level: "error", Origin: origin}
	r.ErrorID.fill()
	r.Error = describe(v)
	r.Goroutine = goroutineID()
	if err, ok := v.(error); ok {
		r.Cause = causes(err)
	}
	st := captureStack(1)
	frames := s.cls.frames(st)
	r.Stack, r.StackHidden = trim(frames, true, r.frames[:0])
	if len(r.Stack) == 0 && r.StackHidden == 0 {
		// Not inside a panic: report from the caller on.
		r.Stack, r.StackHidden = trim(frames, false, r.frames[:0])
	}
	st.free()
	r.seal(s.redact)
	return r
}

// seal redacts the messages (the report's and its causes') and computes the
// fingerprint: the last step of building a report, whatever built it.
func (r *Report) seal(redact *redactor) {
	r.Error.Message = redact.apply(r.Error.Message)
	for c := r.Cause; c != nil; c = c.Cause {
		c.Error.Message = redact.apply(c.Error.Message)
	}
	r.Fingerprint = fingerprint(r.Error.Type, r.Stack)
}

// describe names the panic value: its type and its message. fmt recovers a
// panicking Error or String method itself, so this cannot panic.
func describe(v any) ErrorInfo {
	var info ErrorInfo
	switch x := v.(type) {
	case string:
		info = ErrorInfo{Type: "string", Message: x}
	case error:
		info = ErrorInfo{Type: typeName(v), Message: safeError(x)}
	default:
		info = ErrorInfo{Type: typeName(v), Message: fmt.Sprint(v)}
	}
	if len(info.Message) > maxMessage {
		info.Message = info.Message[:maxMessage] + "... (" + strconv.Itoa(len(info.Message)) + " bytes)"
	}
	return info
}

func typeName(v any) string {
	if v == nil {
		return "nil"
	}
	return reflect.TypeOf(v).String()
}

// safeError calls Error, falling back to fmt (which recovers a panicking
// Error method) only when Error itself panics.
func safeError(err error) (msg string) {
	defer func() {
		if recover() != nil {
			msg = fmt.Sprintf("%v", err)
		}
	}()
	return err.Error()
}

// causes lists the chain of a wrapped error (bounded: chains can be cyclic).
func causes(err error) *Cause {
	var head *Cause
	tail := &head
	for i := 0; i < 8; i++ {
		err = errors.Unwrap(err)
		if err == nil {
			break
		}
		c := &Cause{Error: describe(err)}
		*tail = c
		tail = &c.Cause
	}
	return head
}

// fingerprint is the first 8 bytes of SHA-256 over
// "type|file:function|file:function|..." (kept frames, innermost first), the
// same rule as the Python errutil's. Line numbers and the message are left
// out, so one bug keeps one fingerprint across deploys and inputs; closure
// and wrapper suffixes are cut from function names (baseFunction), since the
// compiler numbers closures, and each inlined copy of one, by position.
//
// A crash that repeats hashes the same input again: the results are kept in
// a small map (a lookup costs a tenth of the hash and allocates nothing).
func fingerprint(typ string, stack []Frame) uint64 {
	var buf [512]byte // on the stack: a common report hashes without allocating
	b := append(buf[:0], typ...)
	for i := range stack {
		b = append(b, '|')
		b = append(b, stack[i].File...)
		b = append(b, ':')
		b = append(b, baseFunction(stack[i].Function)...)
	}
	fingerprints.mu.RLock()
	fp, ok := fingerprints.m[string(b)] // no allocation: the compiler converts in place
	fingerprints.mu.RUnlock()
	if ok {
		return fp
	}
	sum := sha256.Sum256(b)
	fp = binary.BigEndian.Uint64(sum[:8])
	fingerprints.mu.Lock()
	if len(fingerprints.m) >= maxFingerprints {
		clear(fingerprints.m)
	}
	fingerprints.m[string(b)] = fp
	fingerprints.mu.Unlock()
	return fp
}

// fingerprints memoises fingerprint; at most maxFingerprints entries of a
// few hundred bytes each.
var fingerprints = struct {
	mu sync.RWMutex
	m  map[string]uint64
}{m: map[string]uint64{}}

const maxFingerprints = 1024

// baseFunction cuts the names the compiler gives closures and wrappers:
// "orders.load.func1" -> "orders.load", "server.(*S).route.func2.1" ->
// "server.(*S).route", "main.main.gowrap1" -> "main.main",
// "orders.(*Repo).Get-fm" -> "orders.(*Repo).Get".
func baseFunction(fn string) string {
	fn = strings.TrimSuffix(fn, "-fm")
	for {
		dot := strings.LastIndexByte(fn, '.')
		if dot <= 0 || !isGeneratedName(fn[dot+1:]) || fn[dot-1] == '.' ||
			strings.IndexByte(fn[strings.LastIndexByte(fn[:dot], '/')+1:dot], '.') < 0 {
			return fn // not a suffix, or the function itself (a func named func1)
		}
		fn = fn[:dot]
	}
}

// isGeneratedName reports whether one element of a function name is a
// compiler-made one: funcN, gowrapN, deferwrapN, or a bare number (a closure
// inside a closure).
func isGeneratedName(s string) bool {
	for _, prefix := range []string{"func", "gowrap", "deferwrap"} {
		if rest, ok := strings.CutPrefix(s, prefix); ok {
			return isDigits(rest)
		}
	}
	return isDigits(s)
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// Text is the short text form: a header line with the type, the message and
// the error id, one line per kept frame, one line counting the hidden frames,
// and one line per cause. The one-line events render as one line.
func (r *Report) Text() string { return string(r.AppendText(nil)) }

// AppendText appends the text form to b (no trailing newline).
func (r *Report) AppendText(b []byte) []byte {
	switch r.Event {
	case EventRepeated:
		// KeyError repeated 4 more times in 12s  [fingerprint=...]
		b = append(b, r.Error.Type...)
		b = append(b, " repeated "...)
		b = strconv.AppendInt(b, int64(r.Repeats), 10)
		if r.Repeats == 1 {
			b = append(b, " more time in "...)
		} else {
			b = append(b, " more times in "...)
		}
		b = strconv.AppendInt(b, int64(r.Seconds+0.5), 10)
		b = append(b, "s  [fingerprint="...)
		b = appendHex(b, r.Fingerprint, 16)
		return append(b, ']')
	case EventRepeat, EventOverBudget:
		b = r.appendHeader(b)
		if r.Event == EventRepeat {
			b = append(b, " repeat of fingerprint="...)
		} else {
			b = append(b, " (over the report budget) fingerprint="...)
		}
		return appendHex(b, r.Fingerprint, 16)
	}
	b = r.appendHeader(b)
	b = appendFrames(b, r.Stack)
	if r.StackHidden > 0 || r.StartedAt != nil {
		b = append(b, "\n  ("...)
		if r.StackHidden > 0 {
			b = appendHidden(b, r.StackHidden)
		}
		if r.StartedAt != nil {
			if r.StackHidden > 0 {
				b = append(b, "; "...)
			}
			b = append(b, "goroutine started at "...)
			b = appendFrame(b, r.StartedAt)
		}
		b = append(b, ')')
	}
	for c := r.Cause; c != nil; c = c.Cause {
		b = append(b, "\n  caused by "...)
		b = appendTitle(b, &c.Error)
		if len(c.Stack) > 0 {
			b = append(b, "  at "...)
			b = appendFrame(b, &c.Stack[0])
		}
	}
	return b
}

// appendHeader appends "Type: message  [error_id=...]".
func (r *Report) appendHeader(b []byte) []byte {
	b = appendTitle(b, &r.Error)
	b = append(b, "  [error_id="...)
	b = r.ErrorID.AppendTo(b)
	return append(b, ']')
}

// appendTitle appends "Type: message", or the type alone for an empty message.
func appendTitle(b []byte, e *ErrorInfo) []byte {
	b = append(b, e.Type...)
	if e.Message == "" {
		return b
	}
	b = append(b, ": "...)
	return appendOneLine(b, e.Message)
}

func appendFrames(b []byte, stack []Frame) []byte {
	for i := range stack {
		b = append(b, "\n  at "...)
		b = appendFrame(b, &stack[i])
	}
	return b
}

// appendFrame appends "file:line in function", with " [library]" on a
// library raise site and the count of folded repeats.
func appendFrame(b []byte, f *Frame) []byte {
	b = append(b, f.File...)
	b = append(b, ':')
	b = strconv.AppendInt(b, int64(f.Line), 10)
	b = append(b, " in "...)
	b = append(b, f.Function...)
	if f.Library {
		b = append(b, " [library]"...)
	}
	if f.Repeated > 1 {
		b = append(b, "  (repeated "...)
		b = strconv.AppendInt(b, int64(f.Repeated), 10)
		b = append(b, " times)"...)
	}
	return b
}

func appendHidden(b []byte, n int) []byte {
	b = strconv.AppendInt(b, int64(n), 10)
	if n == 1 {
		return append(b, " library frame hidden"...)
	}
	return append(b, " library frames hidden"...)
}

// appendOneLine keeps the header one line: newlines in a message are shown
// as \n.
func appendOneLine(b []byte, s string) []byte {
	for {
		i := strings.IndexAny(s, "\r\n")
		if i < 0 {
			return append(b, s...)
		}
		b = append(b, s[:i]...)
		if s[i] == '\n' {
			b = append(b, `\n`...)
		} else {
			b = append(b, `\r`...)
		}
		s = s[i+1:]
	}
}

func appendHex(b []byte, v uint64, digits int) []byte {
	const hex = "0123456789abcdef"
	for i := digits - 1; i >= 0; i-- {
		b = append(b, hex[(v>>(uint(i)*4))&0xf])
	}
	return b
}

// reportJSON is the wire shape shared with the Python errutil.
type reportJSON struct {
	Event       string    `json:"event"`
	Level       string    `json:"level"`
	ErrorID     string    `json:"error_id"`
	Error       ErrorInfo `json:"error"`
	Stack       []Frame   `json:"stack"`
	StackHidden int       `json:"stack_hidden"`
	Cause       *Cause    `json:"cause,omitempty"`
	Fingerprint string    `json:"fingerprint"`
	Origin      string    `json:"origin"`
	HTTP        *HTTPInfo `json:"http,omitempty"`
	RequestID   string    `json:"request_id,omitempty"`
	StartedAt   *Frame    `json:"started_at,omitempty"`
	// OpenTelemetry's names, for log backends and error trackers.
	ExceptionType       string `json:"exception.type"`
	ExceptionMessage    string `json:"exception.message"`
	ExceptionStacktrace string `json:"exception.stacktrace"`
}

// lineJSON is the shape of the one-line events (crash_repeat,
// crash_over_budget): enough to find the crash, no stack.
type lineJSON struct {
	Event       string    `json:"event"`
	Level       string    `json:"level"`
	ErrorID     string    `json:"error_id"`
	Error       ErrorInfo `json:"error"`
	Fingerprint string    `json:"fingerprint"`
	Origin      string    `json:"origin"`
	HTTP        *HTTPInfo `json:"http,omitempty"`
	RequestID   string    `json:"request_id,omitempty"`
}

// summaryJSON is the shape of a crash_repeated summary.
type summaryJSON struct {
	Event       string `json:"event"`
	Level       string `json:"level"`
	Fingerprint string `json:"fingerprint"`
	Error       struct {
		Type string `json:"type"`
	} `json:"error"`
	Repeats int     `json:"repeats"`
	Seconds float64 `json:"seconds"`
}

// MarshalJSON renders the report as one JSON object with the shared fields.
func (r *Report) MarshalJSON() ([]byte, error) {
	switch r.Event {
	case EventRepeated:
		s := summaryJSON{Event: r.Event, Level: r.Level, Fingerprint: r.FingerprintString(), Repeats: r.Repeats, Seconds: r.roundedSeconds()}
		s.Error.Type = r.Error.Type
		return json.Marshal(s)
	case EventRepeat, EventOverBudget:
		return json.Marshal(lineJSON{
			Event: r.Event, Level: r.Level, ErrorID: r.ErrorIDString(), Error: r.Error,
			Fingerprint: r.FingerprintString(), Origin: r.Origin, HTTP: r.HTTP, RequestID: r.RequestID,
		})
	}
	stack := r.Stack
	if stack == nil {
		stack = []Frame{}
	}
	return json.Marshal(reportJSON{
		Event: r.Event, Level: r.Level, ErrorID: r.ErrorIDString(), Error: r.Error,
		Stack: stack, StackHidden: r.StackHidden, Cause: r.Cause,
		Fingerprint: r.FingerprintString(), Origin: r.Origin, HTTP: r.HTTP, RequestID: r.RequestID, StartedAt: r.StartedAt,
		ExceptionType: r.Error.Type, ExceptionMessage: r.Error.Message, ExceptionStacktrace: r.ExceptionStacktrace(),
	})
}

// roundedSeconds is Seconds to a tenth, as the log shows it.
func (r *Report) roundedSeconds() float64 { return float64(int64(r.Seconds*10+0.5)) / 10 }

// oneLine reports whether r is one of the one-line events that carry an
// error id (crash_repeat, crash_over_budget).
func (r *Report) oneLine() bool { return r.Event == EventRepeat || r.Event == EventOverBudget }
