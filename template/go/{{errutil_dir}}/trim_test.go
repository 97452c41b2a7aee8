package errutil

import (
	"runtime"
	"strings"
	"testing"
)

func frame(function string, line int) runtime.Frame {
	pkg := packagePath(function)
	return runtime.Frame{Function: function, File: "/src/" + pkg + "/x.go", Line: line}
}

func testClassifier() *classifier {
	return &classifier{
		modules: []string{"example.com/app"}, mainModule: "example.com/app",
		self: "example.com/app/pkg/errutil", selfDir: "/src/example.com/app/pkg/errutil", root: "/src/example.com/app",
	}
}

// classified classifies a made-up stack, innermost first.
func classified(c *classifier, stack []runtime.Frame) []frameInfo {
	out := make([]frameInfo, 0, len(stack))
	for _, f := range stack {
		out = append(out, c.classify(f))
	}
	return out
}

func trimmed(stack ...runtime.Frame) ([]Frame, int) {
	return trim(classified(testClassifier(), stack), true, nil)
}

func TestTrimAnchorsOnGopanic(t *testing.T) {
	kept, hidden := trimmed(
		frame("example.com/app/pkg/errutil.Recover", 1),
		frame("runtime.gopanic", 2),
		frame("runtime.goPanicIndex", 3),
		frame("example.com/app/internal/store.Load", 4),
		frame("example.com/app/internal/orders.Lookup", 5),
		frame("net/http.HandlerFunc.ServeHTTP", 6),
		frame("example.com/application/x.Y", 7),
		frame("main.main", 8),
		frame("runtime.main", 9),
		frame("runtime.goexit", 10),
	)
	var got []string
	for _, f := range kept {
		got = append(got, f.Function)
	}
	if strings.Join(got, " ") != "store.Load orders.Lookup main.main" || hidden != 5 {
		t.Fatalf("kept %v, hidden %d", got, hidden)
	}
	if kept[0].File != "internal/store/x.go" {
		t.Fatalf("file %q, want it relative to the module root", kept[0].File)
	}
}

func TestTrimKeepsALibraryRaiseSite(t *testing.T) {
	kept, hidden := trimmed(
		frame("runtime.gopanic", 1),
		frame("encoding/json.(*decodeState).value", 2),
		frame("encoding/json.Unmarshal", 3),
		frame("example.com/app/internal/orders.Parse", 4),
	)
	if len(kept) != 2 || !kept[0].Library || kept[0].Function != "json.(*decodeState).value" || kept[1].Library || hidden != 1 {
		t.Fatalf("kept %+v hidden %d", kept, hidden)
	}
}

func TestTrimHidesForeignClosuresInlinedIntoApp(t *testing.T) {
	inlined := runtime.Frame{Function: "example.com/app/internal/web.serve.Middleware.func1", File: "/src/example.com/app/pkg/errutil/middleware.go", Line: 3}
	vendored := runtime.Frame{Function: "example.com/app/internal/web.run.Do.func2", File: "/src/example.com/app/vendor/lib/do.go", Line: 4}
	cached := runtime.Frame{Function: "example.com/app/internal/web.run.Go.func3", File: "/root/go/pkg/mod/lib@v1/go.go", Line: 5}
	kept, hidden := trimmed(frame("runtime.gopanic", 1), frame("example.com/app/internal/web.handle", 2), vendored, cached, frame("example.com/app/internal/web.serve", 6))
	if len(kept) != 2 || hidden != 2 {
		t.Fatalf("kept %+v hidden %d", kept, hidden)
	}
	// errutil's middleware closure, inlined into the app function that
	// wrapped the handler, is errutil's frame: what is outer to it is hidden.
	kept, hidden = trimmed(frame("runtime.gopanic", 1), frame("example.com/app/internal/web.handle", 2), inlined, frame("example.com/app/internal/web.serve", 6))
	if len(kept) != 1 || hidden != 2 {
		t.Fatalf("kept %+v hidden %d", kept, hidden)
	}
}

func TestTrimStopsAtTheRecoveringFrame(t *testing.T) {
	kept, hidden := trimmed(
		frame("runtime.gopanic", 1),
		frame("example.com/app/internal/store.Load", 2),
		frame("net/http.(*ServeMux).ServeHTTP", 3),
		frame("example.com/app/pkg/errutil.Middleware.func1", 4),
		frame("example.com/app/internal/server.accessLog.func1", 5), // a wrapper around the middleware
		frame("net/http.serverHandler.ServeHTTP", 6),
	)
	if len(kept) != 1 || kept[0].Function != "store.Load" || hidden != 4 {
		t.Fatalf("kept %+v hidden %d", kept, hidden)
	}
}

func TestTrimWithoutAnchorKeepsNothing(t *testing.T) {
	if kept, hidden := trimmed(frame("example.com/app/internal/orders.Parse", 4)); len(kept) != 0 || hidden != 0 {
		t.Fatalf("kept %+v hidden %d", kept, hidden)
	}
}

func TestPackagePath(t *testing.T) {
	for in, want := range map[string]string{
		"example.com/app/internal/orders.(*Repo).Load": "example.com/app/internal/orders",
		"gopkg.in/yaml%2ev3.Unmarshal":                 "gopkg.in/yaml%2ev3",
		"main.main.func1":                              "main",
		"example.com/app/x.Map[...].Get":               "example.com/app/x",
		"runtime.gopanic":                              "runtime",
	} {
		if got := packagePath(in); got != want {
			t.Errorf("packagePath(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzTrim checks trim's bookkeeping over random stacks: it never panics,
// every frame after the anchor is either kept (folds counted) or hidden, the
// raise site is kept, and only the raise site may be a library frame.
// Run it for a while in development: go test -fuzz=FuzzTrim ./pkg/errutil/
func FuzzTrim(f *testing.F) {
	f.Add([]byte{1, 2, 3, 4, 5})
	f.Add([]byte{0, 0, 0, 9, 9, 9, 1})
	names := []string{
		"runtime.gopanic", "runtime.sigpanic", "runtime.goexit", "main.main",
		"example.com/app/internal/a.F", "example.com/app/internal/a.G", "example.com/application/b.H",
		"net/http.serverHandler.ServeHTTP", "example.com/app/pkg/errutil.Recover", "testing.tRunner",
		"gopkg.in/yaml%2ev3.Unmarshal", "", "example.com/app.Root", "x.[...].y",
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		stack := make([]runtime.Frame, 0, len(data))
		for i, b := range data {
			stack = append(stack, frame(names[int(b)%len(names)], int(b)/len(names)+i%3))
		}
		anchor := -1
		for i, fr := range stack {
			if fr.Function == "runtime.gopanic" {
				anchor = i
				break
			}
		}
		after := 0
		if anchor >= 0 {
			for _, fr := range stack[anchor+1:] {
				if fr.Function != "" || fr.File != "" {
					after++
				}
			}
		}
		kept, hidden := trim(classified(testClassifier(), stack), true, nil)
		counted := hidden
		for i, k := range kept {
			counted += max(1, k.Repeated)
			if i > 0 && k.Library {
				t.Fatalf("library frame kept below the raise site: %+v", kept)
			}
		}
		if counted != after {
			t.Fatalf("%d frames after the anchor, %d accounted for (kept %+v, hidden %d)", after, counted, kept, hidden)
		}
		if len(kept) > maxKept {
			t.Fatalf("%d frames kept", len(kept))
		}
	})
}
