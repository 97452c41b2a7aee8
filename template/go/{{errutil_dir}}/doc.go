// Package errutil turns a panic into one short crash report that shows the
// service's own frames and hides the runtime, net/http, testing and library
// frames around them (they are counted, not listed).
//
// Wire it at the edges:
//
//	func main() {
//		defer errutil.Recover() // log the report, exit 2
//		...
//		errutil.Go(worker)                     // goroutine panics are reported, the process goes on
//		var g errutil.Group                    // or a group: g.Go(job); g.Wait() returns after every report
//		http.ListenAndServe(addr, errutil.Middleware(mux)) // 500 + error_id, no stack to the client
//	}
//
//	func TestX(t *testing.T) {
//		defer errutil.RecoverT(t) // a panic becomes a short t.Fatal
//	}
//
// Crashes recover() cannot see (a fatal error such as concurrent map writes, a
// panic in a goroutine started with a plain go statement) are reported by
// MonitorCrashes, which runs a second process of the program reading the
// runtime's crash output.
//
// A report has the same fields in every language shortstack renders:
// event, level, error_id, error {type, message}, stack [{file, line,
// function}] innermost first, stack_hidden, fingerprint, origin and, for
// requests, http {method, path, status}. The text form is
//
//	runtime.boundsError: runtime error: index out of range [5] with length 3  [error_id=01a2271d-c2a2-7e4e-8e4c-aceaf96c40d2]
//	  at internal/store/store.go:12 in store.Load
//	  at internal/orders/orders.go:8 in orders.Lookup
//	  at internal/server/routes.go:30 in server.(*Server).crash
//	  (11 library frames hidden)
//
// The error id is a UUIDv7; the fingerprint hashes the type and the kept
// frames' files and functions (no lines, no closure numbers), as the Python
// errutil does. Messages are redacted before anything is logged.
//
// The same crash repeated within a window (one minute by default) is logged
// in full once; its repeats are counted and summarised in one crash_repeated
// line when the window closes or on Flush (a repeat in a request still logs
// one crash_repeat line with its own error id). At most 100 full reports a
// minute are logged across all crashes; past that, one crash_over_budget line
// each.
//
// errutil uses the standard library only (the zap and logrus adapters import
// their logger) and never panics itself: on an internal fault it falls back
// to Go's own panic output.
package errutil
