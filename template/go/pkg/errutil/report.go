package errutil

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strconv"
	"strings"
)

// Where a crash came from (the report's origin field).
const (
	OriginMain      = "main"
	OriginGoroutine = "goroutine"
	OriginHTTP      = "http"
	OriginTest      = "test"
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

// Cause is one link of a wrapped error's chain (errors.Unwrap).
type Cause struct {
	Error ErrorInfo `json:"error"`
	Cause *Cause    `json:"cause,omitempty"`
}

// Report is one crash. Build one with Capture; Text and MarshalJSON render it.
type Report struct {
	Event       string    // "crash", or "crash_repeated" for a repeat summary
	Level       string    // "error"
	ErrorID     uint32    // shown to the client and in the log, as 8 hex digits
	Error       ErrorInfo //
	Cause       *Cause    // the wrapped errors of a panic with an error
	Stack       []Frame   // kept frames, innermost first
	StackHidden int       // frames hidden (runtime, library, errutil)
	Fingerprint uint64    // hash of the type and the kept frames
	Origin      string    // OriginMain, OriginGoroutine, OriginHTTP, OriginTest
	HTTP        *HTTPInfo // set for OriginHTTP
	StartedAt   *Frame    // where the goroutine was started (OriginGoroutine)
	Repeats     int       // for "crash_repeated": how many repeats were not logged

	frames [inlineFrames]Frame // Stack's storage for common depths
}

// ErrorIDString is the error id as the client and the log see it.
func (r *Report) ErrorIDString() string { return fmt.Sprintf("%08x", r.ErrorID) }

// FingerprintString is the fingerprint as the log sees it.
func (r *Report) FingerprintString() string { return fmt.Sprintf("%016x", r.Fingerprint) }

// Capture builds the report for a recovered value. Call it from the deferred
// function that recovered (the panicking frames are still on the stack
// there); outside a panic it reports the caller's stack.
func Capture(v any, origin string) *Report {
	// An error id only has to tell reports apart; it guards nothing.
	r := &Report{Event: "crash", Level: "error", Origin: origin, ErrorID: rand.Uint32()} //nolint:gosec // G404: not a secret
	r.Error = describe(v)
	if err, ok := v.(error); ok {
		r.Cause = causes(err)
	}
	c := classifierFor()
	buf := c.captureStack(1)
	r.Stack, r.StackHidden = trim(buf.frames, true, r.frames[:0])
	if len(r.Stack) == 0 && r.StackHidden == 0 {
		// Not inside a panic: report from the caller on.
		r.Stack, r.StackHidden = trim(buf.frames, false, r.frames[:0])
	}
	stackPool.Put(buf)
	r.Fingerprint = fingerprint(r.Error.Type, r.Stack)
	return r
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

// fingerprint is FNV-1a over the type and the kept frames' files and lines:
// stable across runs and messages (an index in the message does not split a
// crash). Function names are left out: the compiler names each inlined copy
// of a closure differently (f.func4, f.func5).
func fingerprint(typ string, stack []Frame) uint64 {
	const offset, prime = 14695981039346656037, 1099511628211
	h := uint64(offset)
	add := func(s string) {
		for i := 0; i < len(s); i++ {
			h ^= uint64(s[i])
			h *= prime
		}
		h ^= 0
		h *= prime
	}
	add(typ)
	for i := range stack {
		add(stack[i].File)
		var num [20]byte
		for _, c := range strconv.AppendInt(num[:0], int64(stack[i].Line), 10) {
			h ^= uint64(c)
			h *= prime
		}
	}
	return h
}

// Text is the short text form: a header line with the message and the error
// id, one line per kept frame, and one line counting the hidden frames.
func (r *Report) Text() string { return string(r.AppendText(nil)) }

// AppendText appends the text form to b (no trailing newline).
func (r *Report) AppendText(b []byte) []byte {
	if r.Event == EventRepeated {
		b = append(b, "(repeated "...)
		b = strconv.AppendInt(b, int64(r.Repeats), 10)
		b = append(b, " more times) "...)
	}
	b = appendOneLine(b, r.Error.Message)
	b = append(b, "  [error_id="...)
	b = appendHex(b, uint64(r.ErrorID), 8)
	b = append(b, ']')
	for i := range r.Stack {
		f := &r.Stack[i]
		b = append(b, "\n  at "...)
		b = append(b, f.File...)
		b = append(b, ':')
		b = strconv.AppendInt(b, int64(f.Line), 10)
		b = append(b, " in "...)
		b = append(b, f.Function...)
		if f.Library {
			b = append(b, " (library)"...)
		}
		if f.Repeated > 0 {
			b = append(b, " (repeated "...)
			b = strconv.AppendInt(b, int64(f.Repeated), 10)
			b = append(b, " times)"...)
		}
	}
	if r.StackHidden > 0 || r.StartedAt != nil {
		b = append(b, "\n  ("...)
		if r.StackHidden > 0 {
			b = strconv.AppendInt(b, int64(r.StackHidden), 10)
			b = append(b, " runtime/library frames hidden"...)
		}
		if r.StartedAt != nil {
			if r.StackHidden > 0 {
				b = append(b, "; "...)
			}
			b = append(b, "goroutine started at "...)
			b = append(b, r.StartedAt.File...)
			b = append(b, ':')
			b = strconv.AppendInt(b, int64(r.StartedAt.Line), 10)
			b = append(b, " in "...)
			b = append(b, r.StartedAt.Function...)
		}
		b = append(b, ')')
	}
	return b
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

// EventRepeated is the event of the one-line summary of suppressed repeats.
const EventRepeated = "crash_repeated"

// reportJSON is the wire shape shared with the Python errutil.
type reportJSON struct {
	Event       string    `json:"event"`
	Level       string    `json:"level"`
	ErrorID     string    `json:"error_id"`
	Error       ErrorInfo `json:"error"`
	Cause       *Cause    `json:"cause,omitempty"`
	Stack       []Frame   `json:"stack"`
	StackHidden int       `json:"stack_hidden"`
	Fingerprint string    `json:"fingerprint"`
	Origin      string    `json:"origin"`
	HTTP        *HTTPInfo `json:"http,omitempty"`
	StartedAt   *Frame    `json:"started_at,omitempty"`
	Repeats     int       `json:"repeats,omitempty"`
}

// MarshalJSON renders the report as one JSON object with the shared fields.
func (r *Report) MarshalJSON() ([]byte, error) {
	stack := r.Stack
	if stack == nil {
		stack = []Frame{}
	}
	return json.Marshal(reportJSON{
		Event: r.Event, Level: r.Level, ErrorID: r.ErrorIDString(), Error: r.Error,
		Cause: r.Cause, Stack: stack, StackHidden: r.StackHidden,
		Fingerprint: r.FingerprintString(), Origin: r.Origin, HTTP: r.HTTP,
		StartedAt: r.StartedAt, Repeats: r.Repeats,
	})
}
