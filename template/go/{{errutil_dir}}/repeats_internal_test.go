package errutil

import (
	"runtime"
	"sync"
	"testing"
	"time"
)

// clockTracker is a tracker on a hand-moved clock whose window timers are
// kept, to be fired by the test.
type clockTracker struct {
	*repeats
	t      time.Time
	timers []func()
	sink   *memorySink
}

func newClockTracker() *clockTracker {
	c := &clockTracker{repeats: newRepeats(), t: time.Unix(1_700_000_000, 0), sink: &memorySink{}}
	c.now = func() time.Time { return c.t }
	c.after = func(_ time.Duration, f func()) { c.timers = append(c.timers, f) }
	return c
}

type memorySink struct {
	mu      sync.Mutex
	reports []Report
}

func (m *memorySink) WriteCrash(r *Report) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.reports = append(m.reports, *r)
}

func (m *memorySink) events(event string) []Report {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Report
	for _, r := range m.reports {
		if r.Event == event {
			out = append(out, r)
		}
	}
	return out
}

func crashWith(fp uint64, http bool) *Report {
	r := &Report{Event: EventCrash, Level: "error", Error: ErrorInfo{Type: "T", Message: "m"}, Fingerprint: fp, Origin: OriginGoroutine}
	if http {
		r.Origin, r.HTTP = OriginHTTP, &HTTPInfo{Method: "GET", Path: "/", Status: 500}
	}
	r.ErrorID.fill()
	return r
}

var testConfig = Config{RepeatWindow: time.Minute, ReportBudget: 100, BudgetWindow: time.Minute}

func TestRepeatVerdicts(t *testing.T) {
	c := newClockTracker()
	if v := c.admit(crashWith(1, true), &testConfig, c.sink); v != logFull {
		t.Fatalf("first crash: verdict %d, want full", v)
	}
	r := crashWith(1, true)
	if v := c.admit(r, &testConfig, c.sink); v != logLine || r.Event != EventRepeat {
		t.Fatalf("a repeat in a request: verdict %d, event %s", v, r.Event)
	}
	r = crashWith(1, false)
	if v := c.admit(r, &testConfig, c.sink); v != logCount || r.Event != EventCrash {
		t.Fatalf("a repeat outside a request: verdict %d, event %s", v, r.Event)
	}
	if len(c.timers) != 1 {
		t.Fatalf("%d window timers, want 1", len(c.timers))
	}
	c.t = c.t.Add(time.Minute)
	c.timers[0]() // the window ends
	s := c.sink.events(EventRepeated)
	if len(s) != 1 || s[0].Repeats != 2 || s[0].Fingerprint != 1 || s[0].Seconds != 60 || !s[0].ErrorID.IsZero() {
		t.Fatalf("summaries %+v", s)
	}
	if v := c.admit(crashWith(1, false), &testConfig, c.sink); v != logFull {
		t.Fatalf("after the window: verdict %d, want full", v)
	}
}

func TestAStaleTimerLeavesTheNextWindowAlone(t *testing.T) {
	c := newClockTracker()
	c.admit(crashWith(1, false), &testConfig, c.sink)
	c.admit(crashWith(1, false), &testConfig, c.sink) // schedules the timer
	c.t = c.t.Add(time.Minute + time.Millisecond)
	if v := c.admit(crashWith(1, false), &testConfig, c.sink); v != logFull { // before the timer ran
		t.Fatalf("verdict %d after the window, want full", v)
	}
	if n := len(c.sink.events(EventRepeated)); n != 1 {
		t.Fatalf("%d summaries of the ended window, want 1", n)
	}
	c.timers[0]() // late
	if v := c.admit(crashWith(1, false), &testConfig, c.sink); v != logCount {
		t.Fatalf("the late timer ended the new window: verdict %d", v)
	}
}

func TestFlushSummarisesAndKeepsTheWindow(t *testing.T) {
	c := newClockTracker()
	for i := 0; i < 4; i++ {
		c.admit(crashWith(7, false), &testConfig, c.sink)
	}
	c.t = c.t.Add(3 * time.Second)
	c.flush(c.sink)
	s := c.sink.events(EventRepeated)
	if len(s) != 1 || s[0].Repeats != 3 || s[0].Seconds != 3 {
		t.Fatalf("summaries %+v", s)
	}
	if want := "T repeated 3 more times in 3s  [fingerprint=0000000000000007]"; s[0].Text() != want {
		t.Fatalf("summary %q, want %q", s[0].Text(), want)
	}
	c.flush(c.sink)
	if v := c.admit(crashWith(7, false), &testConfig, c.sink); v != logCount || len(c.sink.events(EventRepeated)) != 1 {
		t.Fatalf("after Flush: verdict %d, %d summaries", v, len(c.sink.events(EventRepeated)))
	}
}

// TestAStormOfDistinctCrashesIsBounded: 3,000 different crashes in one
// window. Full reports stay within the budget, every error id is still
// logged (the rest get a crash_over_budget line), and the tracker's memory
// is capped.
func TestAStormOfDistinctCrashesIsBounded(t *testing.T) {
	const crashes = 3000
	reports := make([]*Report, crashes)
	for i := range reports {
		reports[i] = crashWith(uint64(i), i%2 == 0)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.GC() // twice: sync.Pool keeps a victim cache through one
	runtime.ReadMemStats(&before)
	c := newClockTracker()
	full, lines := 0, map[string]bool{}
	for _, r := range reports {
		switch c.admit(r, &testConfig, c.sink) {
		case logFull:
			full++
		case logLine:
			if r.Event != EventOverBudget {
				t.Fatalf("event %s, want %s", r.Event, EventOverBudget)
			}
			lines[r.ErrorIDString()] = true
		case logCount:
			t.Fatalf("a new fingerprint was only counted")
		}
	}
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(reports)
	if full != testConfig.ReportBudget || full+len(lines) != crashes {
		t.Fatalf("%d full reports and %d one-line records of %d crashes", full, len(lines), crashes)
	}
	if n := c.tracked(); n > maxSeen {
		t.Fatalf("%d fingerprints tracked, cap %d", n, maxSeen)
	}
	grown := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	t.Logf("tracker after %d distinct crashes: %d fingerprints, heap +%d KiB", crashes, c.tracked(), grown/1024)
	if grown > 512<<10 {
		t.Fatalf("the tracker grew the heap by %d KiB, bound 512 KiB", grown/1024)
	}
	runtime.KeepAlive(c)
	// The next window has a budget again.
	c.t = c.t.Add(time.Minute)
	if v := c.admit(crashWith(crashes+1, false), &testConfig, c.sink); v != logFull {
		t.Fatalf("verdict %d in the next budget window, want full", v)
	}
}

func TestNoBudgetAndNoWindow(t *testing.T) {
	c := newClockTracker()
	cfg := Config{RepeatWindow: -1, ReportBudget: -1, BudgetWindow: time.Minute}
	for i := 0; i < 300; i++ {
		if v := c.admit(crashWith(1, true), &cfg, c.sink); v != logFull {
			t.Fatalf("crash %d: verdict %d, want full", i, v)
		}
	}
	if c.tracked() != 0 {
		t.Fatal("tracked with repeats turned off")
	}
}

func TestBaseFunction(t *testing.T) {
	for in, want := range map[string]string{
		"orders.load":                    "orders.load",
		"orders.load.func1":              "orders.load",
		"server.(*S).route.func2.1":      "server.(*S).route",
		"main.main.gowrap1":              "main.main",
		"main.run.deferwrap2":            "main.run",
		"orders.(*Repo).Get-fm":          "orders.(*Repo).Get",
		"orders.func1":                   "orders.func1", // a function named func1
		"example.com/x/orders.func1":     "example.com/x/orders.func1",
		"orders.glob..func1":             "orders.glob..func1",
		"orders.Map[...].func3":          "orders.Map[...]",
		"errutil_test.TestX.func1.1.2":   "errutil_test.TestX",
		"example.com/a.b/c.(*T).m.func7": "example.com/a.b/c.(*T).m",
	} {
		if got := baseFunction(in); got != want {
			t.Errorf("baseFunction(%q) = %q, want %q", in, got, want)
		}
	}
}
