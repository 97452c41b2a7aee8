package errutil

import (
	"runtime"
	"strconv"
	"sync"
)

var goroutineBufs = sync.Pool{New: func() any { return new([64]byte) }}

// OpenTelemetry's semantic conventions for exceptions: the keys under which a
// full report also carries its type, message and short stack, so that log
// backends and error trackers that know these names (or parse Go tracebacks)
// group the crash.
const (
	KeyExceptionType       = "exception.type"
	KeyExceptionMessage    = "exception.message"
	KeyExceptionStacktrace = "exception.stacktrace"
)

// ExceptionStacktrace is the short stack in Go's own panic format, which
// error trackers parse as a Go traceback:
//
//	panic: runtime error: index out of range [5] with length 3
//
//	goroutine 7 [running]:
//	store.Load(...)
//		internal/store/store.go:12
//	server.(*Server).crash(...)
//		internal/server/server.go:40
//	...12 library frames hidden...
//
// A fatal error the crash monitor read from the runtime's dump starts with
// "fatal error: " instead, as Go writes it.
//
// Only the kept frames are listed, innermost first, with a last line counting
// the hidden ones; `(...)` stands for the arguments, as Go writes it for
// inlined calls. A goroutine started with Go ends with Go's "created by"
// lines. A repeat summary (crash_repeated) has no stack: its stacktrace is
// empty. The one-line events (crash_repeat) keep their stack in memory, so a
// span gets it, but their log line leaves it out.
func (r *Report) ExceptionStacktrace() string {
	if r.Event == EventRepeated {
		return ""
	}
	return string(r.appendStacktrace(make([]byte, 0, 256+64*len(r.Stack))))
}

func (r *Report) appendStacktrace(b []byte) []byte {
	if r.Error.Type == "fatal error" { // the crash monitor's: Go's own header for it
		b = append(b, "fatal error: "...)
	} else {
		b = append(b, "panic: "...)
	}
	if r.Error.Message == "" {
		b = append(b, r.Error.Type...) // an empty message: the type says what it was
	} else {
		b = appendOneLine(b, r.Error.Message)
	}
	b = append(b, "\n\ngoroutine "...)
	b = strconv.AppendUint(b, r.Goroutine, 10)
	b = append(b, " [running]:"...)
	for i := range r.Stack {
		f := &r.Stack[i]
		b = append(b, '\n')
		b = append(b, f.Function...)
		b = append(b, "(...)\n\t"...)
		b = append(b, f.File...)
		b = append(b, ':')
		b = strconv.AppendInt(b, int64(f.Line), 10)
	}
	if r.StackHidden > 0 {
		b = append(b, "\n..."...)
		b = appendHidden(b, r.StackHidden)
		b = append(b, "..."...)
	}
	if s := r.StartedAt; s != nil {
		b = append(b, "\ncreated by "...)
		b = append(b, s.Function...)
		b = append(b, "\n\t"...)
		b = append(b, s.File...)
		b = append(b, ':')
		b = strconv.AppendInt(b, int64(s.Line), 10)
	}
	return b
}

// goroutineID is the calling goroutine's number, read from the first line of
// its own traceback ("goroutine 7 [running]:"); 0 if that cannot be read. A
// 64-byte runtime.Stack of one goroutine does not stop the world; the buffer
// is pooled, since runtime.Stack's argument escapes (no allocation once warm).
func goroutineID() uint64 {
	buf, _ := goroutineBufs.Get().(*[64]byte)
	if buf == nil {
		buf = new([64]byte)
	}
	defer goroutineBufs.Put(buf)
	b := buf[:runtime.Stack(buf[:], false)]
	const prefix = "goroutine "
	if len(b) <= len(prefix) || string(b[:len(prefix)]) != prefix {
		return 0
	}
	var id uint64
	for _, c := range b[len(prefix):] {
		if c < '0' || c > '9' {
			break
		}
		id = id*10 + uint64(c-'0')
	}
	return id
}
