package errutil

import (
	"runtime"
	"strconv"
	"strings"
)

// The runtime's crash dump (what it writes to stderr and to the crash output
// for a fatal error or a panic nothing recovered) is turned into the same
// short report a recovered panic gets: the header gives the message, the
// first goroutine's traceback the frames, classified and trimmed as
// runtime.Callers frames are.

// Error types of a report parsed from a crash dump: the dump names no Go
// type, only how the process died.
const (
	TypeFatalError = "fatal error" // a runtime fatal error: concurrent map writes, deadlock, out of memory
	TypePanic      = "panic"       // a panic no recover() saw
)

// parsedCrash is what a crash dump says.
type parsedCrash struct {
	err       ErrorInfo
	goroutine int         // the crashing goroutine's number (1 is main's)
	frames    []dumpFrame // innermost first
	createdBy *dumpFrame  // where that goroutine was started
}

type dumpFrame struct {
	function string
	file     string
	line     int
}

// parseCrashDump reads a dump; ok is false when it holds no crash (the
// process ended normally and the dump is empty).
//
// A panic's dump starts with "panic: <message>". A fatal error's should start
// with "fatal error: <message>", but the runtime writes that line to stderr
// only, not to the crash output (go.dev/issue/76859): the dump then starts
// with the goroutine, and the message is inferred from the raising frame.
func parseCrashDump(dump string) (c parsedCrash, ok bool) {
	lines := strings.Split(strings.ReplaceAll(dump, "\r\n", "\n"), "\n")
	// The header runs to the first traceback.
	i, message := parseDumpHeader(lines, &c.err)
	// The first "goroutine N [...]:" block is the crashing goroutine
	// ("runtime stack:" blocks before it are the runtime's own).
	for ; i < len(lines); i++ {
		if strings.HasPrefix(lines[i], "goroutine ") && strings.HasSuffix(lines[i], ":") {
			fields := strings.Fields(lines[i])
			c.goroutine, _ = strconv.Atoi(fields[1])
			i++
			break
		}
	}
	if c.goroutine == 0 && c.err.Type == "" {
		return c, false
	}
	c.frames, c.createdBy = parseTraceback(lines[i:])
	if c.err.Type == "" {
		c.err = ErrorInfo{Type: TypeFatalError, Message: inferFatalMessage(c.frames)}
		return c, true
	}
	c.err.Message = strings.Join(message, "\n")
	if len(c.err.Message) > maxMessage {
		c.err.Message = c.err.Message[:maxMessage] + "... (" + strconv.Itoa(len(c.err.Message)) + " bytes)"
	}
	return c, true
}

// parseDumpHeader reads the lines before the first traceback into e.Type; it
// returns the message's lines and the index of the traceback's first line.
// With nested panics the last "panic: " line is the one that killed the
// process.
func parseDumpHeader(lines []string, e *ErrorInfo) (i int, message []string) {
	for ; i < len(lines) && !isTracebackStart(lines[i]); i++ {
		line := strings.TrimLeft(lines[i], "\t")
		switch {
		case strings.HasPrefix(line, "fatal error: "):
			e.Type, message = TypeFatalError, []string{strings.TrimPrefix(line, "fatal error: ")}
		case strings.HasPrefix(line, "panic: "):
			msg := strings.TrimPrefix(line, "panic: ")
			for _, suffix := range []string{" [recovered, repanicked]", " [recovered]"} {
				msg = strings.TrimSuffix(msg, suffix)
			}
			e.Type, message = TypePanic, []string{msg}
		case line == "", strings.HasPrefix(line, "[signal "), message == nil:
			// the signal behind a nil dereference; runtime: lines before the header
		default:
			message = append(message, line) // a message of several lines
		}
	}
	return i, message
}

// parseTraceback reads one goroutine's traceback (function line, then its
// "\tfile:line" line), innermost first, up to the blank line that ends it.
func parseTraceback(lines []string) (frames []dumpFrame, createdBy *dumpFrame) {
	for i := 0; i+1 < len(lines) && lines[i] != ""; i++ {
		line := lines[i]
		if strings.HasPrefix(line, "\t") || strings.HasPrefix(line, "...") || strings.HasPrefix(line, "[") {
			continue // a file line out of step, "...additional frames elided...", "[originating from ...]"
		}
		file, lineNo, fileOK := parseFileLine(lines[i+1])
		if !fileOK {
			continue
		}
		i++
		if fn, found := strings.CutPrefix(line, "created by "); found {
			if j := strings.Index(fn, " in goroutine "); j >= 0 {
				fn = fn[:j]
			}
			return frames, &dumpFrame{function: fn, file: file, line: lineNo}
		}
		frames = append(frames, dumpFrame{function: functionOfCall(line), file: file, line: lineNo})
	}
	return frames, nil
}

func isTracebackStart(line string) bool {
	return strings.HasPrefix(line, "goroutine ") || line == "runtime stack:"
}

// inferFatalMessage names a fatal error from the function that raised it,
// when the dump lacks the runtime's message.
func inferFatalMessage(frames []dumpFrame) string {
	if len(frames) > 0 {
		switch frames[0].function {
		case "internal/runtime/maps.fatal", "runtime.mapassign", "runtime.mapaccess", "runtime.mapiternext":
			return "concurrent map access (the runtime's exact message is on stderr)"
		}
	}
	return "the runtime's message is on stderr"
}

// functionOfCall drops the arguments of a traceback call line:
// "main.(*T).run(0xc000012345, {0x4b0620?, 0x0?})" -> "main.(*T).run".
// Arguments hold no parentheses, so the last "(" starts them. The runtime
// prints runtime.gopanic as "panic".
func functionOfCall(line string) string {
	if strings.HasSuffix(line, ")") {
		if j := strings.LastIndexByte(line, '('); j > 0 {
			line = line[:j]
		}
	}
	if line == "panic" {
		return "runtime.gopanic"
	}
	return line
}

// parseFileLine reads "\t/src/app/main.go:12 +0x45" (and " fp=... sp=..."
// with GOTRACEBACK=system).
func parseFileLine(s string) (file string, line int, ok bool) {
	rest, found := strings.CutPrefix(s, "\t")
	if !found {
		return "", 0, false
	}
	if j := strings.Index(rest, " +0x"); j >= 0 {
		rest = rest[:j]
	} else if j := strings.Index(rest, " fp="); j >= 0 {
		rest = rest[:j]
	}
	colon := strings.LastIndexByte(rest, ':')
	if colon < 0 {
		return "", 0, false
	}
	n, err := strconv.Atoi(rest[colon+1:])
	if err != nil {
		return "", 0, false
	}
	return rest[:colon], n, true
}

// reportCrashDump builds the short report of a parsed dump: origin main for
// goroutine 1, else goroutine (with where it was started).
func reportCrashDump(c parsedCrash) *Report {
	origin := OriginGoroutine
	if c.goroutine == 1 {
		origin = OriginMain
	}
	r := Capture(nil, origin) // the error id and the defaults; error and stack are replaced
	r.Error, r.Cause = c.err, nil
	r.Goroutine = uint64(c.goroutine) //nolint:gosec // G115: a goroutine number read from the dump, not negative
	cls := classifierFor()
	infos := make([]frameInfo, 0, len(c.frames))
	for _, f := range c.frames {
		infos = append(infos, classifyDumpFrame(cls, f))
	}
	r.Stack, r.StackHidden = trim(infos, false, r.frames[:0])
	if c.createdBy != nil {
		info := classifyDumpFrame(cls, *c.createdBy)
		r.StartedAt = &Frame{File: info.file, Line: info.line, Function: info.function}
	}
	r.seal(loadState().redact) // the dump's message redacted, the fingerprint from the dump's frames
	return r
}

// classifyDumpFrame classifies a frame read from a dump; the runtime's
// internal packages (internal/runtime/maps raises concurrent map writes)
// count as the runtime.
func classifyDumpFrame(cls *classifier, f dumpFrame) frameInfo {
	info := cls.classify(runtime.Frame{Function: f.function, File: f.file, Line: f.line})
	if strings.HasPrefix(packagePath(f.function), "internal/runtime/") {
		info.kind = kindRuntime
	}
	return info
}
