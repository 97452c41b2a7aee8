package errutil

import (
	"path"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
)

// Frame is one kept stack frame of a report.
type Frame struct {
	File     string `json:"file"`
	Line     int    `json:"line"`
	Function string `json:"function"`
	// Library marks a raise site outside the service's code: it is kept
	// because the place matters, even though library frames are hidden.
	Library bool `json:"library,omitempty"`
	// Repeated counts consecutive identical frames folded into this one
	// (deep recursion).
	Repeated int `json:"repeated,omitempty"`
}

const (
	// maxPCs bounds one capture; a deeper stack (runaway recursion) is cut at
	// its outer end, which keeps the panic site.
	maxPCs = 1 << 14
	// maxKept bounds the frames a report lists; further app frames are
	// counted as hidden.
	maxKept = 32
	// inlineFrames is how many frames a report holds without allocating.
	inlineFrames = 16
)

// stack is one capture of the calling goroutine's program counters, in a
// pooled buffer grown by doubling when full. It has the shape of zap's
// internal/stacktrace (Capture, walk, Free): capturing is one runtime.Callers
// call and nothing else; resolving and classifying the frames is the
// classifier's (classifier.frames). Once the pool is warm, neither allocates.
type stack struct {
	pcs    []uintptr   // the buffer: pcs[:n] is the capture, innermost first
	n      int         // how many program counters were captured
	frames []frameInfo // room for the classified frames, reused across captures
}

var stackPool = sync.Pool{New: func() any { return newStack() }}

func newStack() *stack { return &stack{pcs: make([]uintptr, 64)} }

// captureStack records the calling goroutine's program counters, skipping
// skip frames above the caller of captureStack. Free it when done.
func captureStack(skip int) *stack {
	s, _ := stackPool.Get().(*stack)
	if s == nil {
		s = newStack()
	}
	for {
		s.n = runtime.Callers(skip+2, s.pcs)
		if s.n < len(s.pcs) || len(s.pcs) >= maxPCs {
			return s
		}
		s.pcs = make([]uintptr, len(s.pcs)*2)
	}
}

// free returns s to the pool: neither s nor the frames classified from it
// may be used after.
func (s *stack) free() { stackPool.Put(s) }

// frames resolves and classifies what s captured, innermost first. The slice
// lives in s, valid until s.free.
func (c *classifier) frames(s *stack) []frameInfo {
	s.frames = c.resolve(s.pcs[:s.n], s.frames[:0])
	return s.frames
}

// classifier decides which frames belong to the service.
type classifier struct {
	modules    []string // import-path prefixes of app code
	mainModule string   // the main module's path
	self       string   // errutil's own import path: always hidden
	selfDir    string   // the directory of errutil's source files
	root       string   // directory (or trimmed module path) of the module root

	// cache memoises the classified frame of each program counter. Looking
	// up a frame's file and line (runtime.CallersFrames) and classifying it
	// is most of a capture's cost, and a crash that repeats, where the cost
	// matters, hits the same PCs. Code is never unloaded, so entries never
	// go stale; the cache stops growing at maxCachedPCs.
	mu    sync.RWMutex
	cache map[uintptr]frameInfo
}

// frameKind is what trim needs to know of a frame.
type frameKind uint8

const (
	kindNone    frameKind = iota // no function, no file: skipped
	kindApp                      // the service's code: kept
	kindLibrary                  // standard library, dependencies: hidden
	kindRuntime                  // package runtime: hidden, skipped after the anchor
	kindSelf                     // errutil: hidden
	kindPanic                    // runtime.gopanic: the anchor
)

// frameInfo is one logical frame, classified and shortened for display.
type frameInfo struct {
	function string // package name and function: orders.(*Repo).Load
	file     string // relative to the module root for app frames
	line     int
	kind     frameKind
}

const maxCachedPCs = 1 << 14

// classify shortens and classifies one frame.
func (c *classifier) classify(f runtime.Frame) frameInfo {
	info := frameInfo{function: shortFunction(f.Function), line: f.Line}
	pkg := packagePath(f.Function)
	switch {
	case f.Function == "" && f.File == "":
		info.kind = kindNone
	case f.Function == "runtime.gopanic":
		info.kind = kindPanic
	case pkg == "runtime":
		info.kind = kindRuntime
	case c.isApp(f.Function, f.File):
		info.kind = kindApp
	case hasPathPrefix(pkg, c.self) || (c.selfDir != "" && underDir(f.File, c.selfDir)):
		info.kind = kindSelf
	default:
		info.kind = kindLibrary
	}
	if info.kind != kindNone && info.kind != kindPanic && info.kind != kindRuntime {
		// trim never shows the runtime's frames: their file is not worth shortening
		info.file = c.displayFile(f.File)
	}
	return info
}

// resolveMisses fills the frames marked as misses. One runtime.CallersFrames
// walk serves them all while its frames line up one to one with pcs (a
// frame's PC is its return PC minus one); a frame that does not line up (cgo)
// is resolved alone.
func (c *classifier) resolveMisses(pcs []uintptr, out []frameInfo) {
	frames := runtime.CallersFrames(pcs)
	aligned := true
	for i := range out {
		var f runtime.Frame
		if aligned {
			f, _ = frames.Next()
			if f.PC != pcs[i]-1 && f.PC != pcs[i] {
				aligned = false
			}
		}
		if !aligned {
			if out[i].line != -1 {
				continue
			}
			f, _ = runtime.CallersFrames(pcs[i : i+1]).Next()
		}
		if out[i].line == -1 {
			out[i] = c.classify(f)
		}
	}
}

// resolve turns program counters from runtime.Callers into classified
// frames, appended to out. Since Go 1.21 Callers gives one PC per logical
// frame (inlined calls included), so a PC resolved alone with
// runtime.CallersFrames is exactly its frame.
func (c *classifier) resolve(pcs []uintptr, out []frameInfo) []frameInfo {
	start := len(out)
	misses := 0
	c.mu.RLock()
	for _, pc := range pcs {
		f, ok := c.cache[pc]
		if !ok {
			misses++
			f.kind = kindNone
			f.line = -1 // marks a miss
		}
		out = append(out, f)
	}
	c.mu.RUnlock()
	if misses == 0 {
		return out
	}
	c.resolveMisses(pcs, out[start:])
	c.mu.Lock()
	for i, pc := range pcs {
		if len(c.cache) >= maxCachedPCs {
			break
		}
		c.cache[pc] = out[start+i]
	}
	c.mu.Unlock()
	return out
}

// isApp reports whether a frame belongs to the service: package main or a
// package under one of the app modules (whole path elements only, so
// "example.com/app" does not claim "example.com/application"), never errutil.
//
// The file is checked too: a closure of another package inlined into an app
// function carries the app function's name (errutil_test.serve.Middleware.func1)
// but its own file, and vendored code lives under the module root.
func (c *classifier) isApp(function, file string) bool {
	pkg := packagePath(function)
	if hasPathPrefix(pkg, c.self) {
		return false
	}
	if c.selfDir != "" && underDir(file, c.selfDir) && !strings.HasSuffix(file, "_test.go") {
		return false
	}
	if c.root != "" && underDir(file, c.root) && strings.HasPrefix(file[len(c.root):], "/vendor/") {
		return false
	}
	if pkg == "main" {
		return true
	}
	for _, m := range c.modules {
		if hasPathPrefix(pkg, m) {
			if m == c.mainModule && c.root != "" && !underDir(file, c.root) {
				return false // inlined from elsewhere
			}
			return true
		}
	}
	return false
}

// hasPathPrefix reports whether p is prefix or below it, by whole elements.
func hasPathPrefix(p, prefix string) bool {
	return p == prefix || (len(p) > len(prefix) && strings.HasPrefix(p, prefix) && p[len(prefix)] == '/')
}

// underDir reports whether file is directly or deeper inside dir.
func underDir(file, dir string) bool {
	return len(file) > len(dir) && strings.HasPrefix(file, dir) && file[len(dir)] == '/'
}

// displayFile shortens a frame's file: relative to the module root for the
// service's files, from the import path on for the standard library and the
// module cache.
func (c *classifier) displayFile(file string) string {
	if c.root != "" && underDir(file, c.root) {
		return file[len(c.root)+1:]
	}
	if i := strings.LastIndex(file, "/pkg/mod/"); i >= 0 {
		return file[i+len("/pkg/mod/"):]
	}
	if i := strings.LastIndex(file, "/src/"); i >= 0 {
		return file[i+len("/src/"):]
	}
	return file
}

// packagePath returns the import path part of a runtime function name:
// "example.com/app/internal/orders.(*Repo).Load" -> "example.com/app/internal/orders".
// The runtime escapes dots in the last path element (yaml%2ev3), so the
// first dot after the last slash ends the path.
func packagePath(function string) string {
	end := len(function)
	if i := strings.IndexByte(function, '['); i >= 0 {
		end = i
	}
	slash := strings.LastIndexByte(function[:end], '/')
	dot := strings.IndexByte(function[slash+1:end], '.')
	if dot < 0 {
		return function[:end]
	}
	return function[:slash+1+dot]
}

// shortFunction drops the import path but keeps the package name:
// "example.com/app/internal/orders.(*Repo).Load" -> "orders.(*Repo).Load".
func shortFunction(function string) string {
	end := len(function)
	if i := strings.IndexByte(function, '['); i >= 0 {
		end = i
	}
	return function[strings.LastIndexByte(function[:end], '/')+1:]
}

// trim walks classified frames innermost first and keeps the service's own.
//
// The panic site is found by anchoring on runtime.gopanic and skipping the
// runtime frames after it (goPanicIndex, sigpanic, panicdivide...): no fixed
// skip count lands on the site for nil dereference, bounds, divide and an
// explicit panic alike. Without the anchor (a capture outside a panic) the
// walk starts at the first frame that is not errutil's or the runtime's.
//
// The first frame after the anchor (the raise site) is always kept, marked
// Library when it is not app code. Other frames are kept when app, else
// counted in hidden. Consecutive identical frames fold into one.
//
// The walk keeps nothing outer to an errutil frame past the raise site: that
// frame is the function that recovered (Middleware's handler, Go's
// goroutine), and what called it is the server's plumbing (net/http, or a
// logging wrapper around the middleware), the same for every crash. Those
// frames are counted as hidden. The returned kept slice reuses out's storage.
func trim(frames []frameInfo, anchored bool, out []Frame) (kept []Frame, hidden int) {
	kept = out[:0]
	inCrash := !anchored // before the anchor nothing is counted
	skippingRuntime := anchored
	raised := false
	outside := false // past the errutil frame that recovered
	for i := range frames {
		f := &frames[i]
		switch {
		case f.kind == kindNone:
		case !inCrash:
			inCrash = f.kind == kindPanic
		case !raised && !anchored && (f.kind == kindSelf || f.kind == kindRuntime || f.kind == kindPanic):
			// errutil's own frames above a plain capture
		case skippingRuntime && (f.kind == kindRuntime || f.kind == kindPanic):
			hidden++
		case outside:
			hidden++
		case raised && f.kind == kindSelf:
			outside = true
			hidden++
		case !raised || f.kind == kindApp:
			skippingRuntime = false
			kept, hidden = keep(kept, hidden, f, f.kind != kindApp)
			raised = true
		default:
			hidden++
		}
	}
	return kept, hidden
}

func keep(kept []Frame, hidden int, f *frameInfo, library bool) ([]Frame, int) {
	if n := len(kept); n > 0 {
		last := &kept[n-1]
		if last.Line == f.line && last.Function == f.function && last.File == f.file {
			if last.Repeated == 0 {
				last.Repeated = 1
			}
			last.Repeated++
			return kept, hidden
		}
	}
	if len(kept) >= maxKept {
		return kept, hidden + 1
	}
	return append(kept, Frame{File: f.file, Line: f.line, Function: f.function, Library: library}), hidden
}

// thisFunction is the runtime name of a function in this package, found once
// to learn errutil's import path and where its source lives.
func thisFunction() runtime.Frame {
	var pc [1]uintptr
	if runtime.Callers(1, pc[:]) == 0 {
		return runtime.Frame{}
	}
	f, _ := runtime.CallersFrames(pc[:]).Next()
	return f
}

// newClassifier builds the default classifier: app code is the main module
// (from the build info) plus any extra prefixes.
func newClassifier(modules []string) *classifier {
	me := thisFunction()
	c := &classifier{self: packagePath(me.Function), selfDir: path.Dir(me.File), cache: make(map[uintptr]frameInfo, 256)}
	mainModule := ""
	if info, ok := debug.ReadBuildInfo(); ok {
		mainModule = info.Main.Path
	}
	if mainModule == "" || mainModule == "command-line-arguments" {
		mainModule = guessModule(c.self)
	}
	if len(modules) == 0 {
		modules = []string{mainModule}
	}
	c.modules = modules
	c.mainModule = mainModule
	// errutil's file is <root>/<dir of errutil inside the module>/frames.go.
	if rel, ok := strings.CutPrefix(c.self, mainModule+"/"); ok {
		c.root, _ = strings.CutSuffix(path.Dir(me.File), "/"+rel)
		if c.root == path.Dir(me.File) {
			c.root = ""
		}
	}
	return c
}

// guessModule derives a module path from errutil's import path when the
// binary carries no build info: the part before /pkg/ or /internal/.
func guessModule(self string) string {
	for _, sep := range []string{"/pkg/", "/internal/"} {
		if i := strings.LastIndex(self, sep); i > 0 {
			return self[:i]
		}
	}
	return path.Dir(self)
}
