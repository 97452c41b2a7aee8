package errutil

import (
	"sync"
	"time"
)

// repeats keeps a storm of crashes from flooding the log while every error id
// a client was given stays findable:
//
//   - the first crash of a fingerprint in a window (Config.RepeatWindow) is
//     logged in full; its repeats in the window are counted and summarised in
//     one crash_repeated line when the window ends or on Flush;
//   - a repeat inside a request still gets one short line (crash_repeat) with
//     its own error id; a repeat elsewhere is only counted;
//   - across all fingerprints at most Config.ReportBudget full reports are
//     logged per Config.BudgetWindow; a crash past the budget gets one line
//     (crash_over_budget) with its error id and fingerprint.
//
// Memory is bounded: at most maxSeen fingerprints are tracked (about 350
// bytes each, and one timer for each that repeats); a new fingerprint past
// that is logged (within the budget) but not tracked.
type repeats struct {
	mu          sync.Mutex
	seen        map[uint64]*seenCrash
	budgetStart time.Time
	budgetUsed  int
	sweptAt     time.Time
	max         int
	now         func() time.Time
	// after schedules a window's summary; tests replace it.
	after func(d time.Duration, f func())
}

type seenCrash struct {
	first      time.Time
	typ        string
	suppressed int
	scheduled  bool
}

// maxSeen bounds the fingerprints tracked at once.
const maxSeen = 1000

func newRepeats() *repeats {
	return &repeats{
		seen:  map[uint64]*seenCrash{},
		max:   maxSeen,
		now:   time.Now,
		after: func(d time.Duration, f func()) { time.AfterFunc(d, f) },
	}
}

// verdict is what to log for one crash.
type verdict uint8

const (
	logFull  verdict = iota // the whole report
	logLine                 // one line: r.Event was set to crash_repeat or crash_over_budget
	logCount                // nothing now: counted in the next summary
)

// admit decides what to log for r, and writes to sink the summaries of
// windows that have ended.
func (p *repeats) admit(r *Report, cfg *Config, sink Sink) verdict {
	now := p.now()
	var due []Report
	defer func() { writeAll(sink, due) }() // after the lock is released

	p.mu.Lock()
	defer p.mu.Unlock()
	window := cfg.RepeatWindow
	if window > 0 {
		if s, ok := p.seen[r.Fingerprint]; ok {
			if now.Sub(s.first) < window {
				s.suppressed++
				if !s.scheduled {
					s.scheduled = true
					fp, first := r.Fingerprint, s.first
					p.after(s.first.Add(window).Sub(now), func() { p.windowEnded(fp, first, sink) })
				}
				if r.HTTP != nil {
					r.Event = EventRepeat
					return logLine
				}
				return logCount
			}
			due = p.end(due, r.Fingerprint, s, now)
		}
	}
	over := false
	if cfg.ReportBudget > 0 {
		if now.Sub(p.budgetStart) >= cfg.BudgetWindow {
			p.budgetStart, p.budgetUsed = now, 0
		}
		if p.budgetUsed >= cfg.ReportBudget {
			over = true
		} else {
			p.budgetUsed++
		}
	}
	if window > 0 {
		if len(p.seen) >= p.max && now.Sub(p.sweptAt) >= window/8 {
			p.sweptAt = now
			for fp, s := range p.seen {
				if now.Sub(s.first) >= window {
					due = p.end(due, fp, s, now)
				}
			}
		}
		if len(p.seen) < p.max {
			p.seen[r.Fingerprint] = &seenCrash{first: now, typ: r.Error.Type}
		}
	}
	if over {
		r.Event = EventOverBudget
		return logLine
	}
	return logFull
}

// end forgets a fingerprint whose window is over, adding its summary to due
// when it had repeats. Called with p.mu held.
func (p *repeats) end(due []Report, fp uint64, s *seenCrash, now time.Time) []Report {
	delete(p.seen, fp)
	if s.suppressed == 0 {
		return due
	}
	return append(due, summary(fp, s, now))
}

// windowEnded is the timer set at a fingerprint's first repeat: it writes the
// summary and forgets the fingerprint, so its next crash is logged in full.
func (p *repeats) windowEnded(fp uint64, first time.Time, sink Sink) {
	var due []Report
	p.mu.Lock()
	if s, ok := p.seen[fp]; ok && s.first.Equal(first) {
		due = p.end(due, fp, s, p.now())
	}
	p.mu.Unlock()
	writeAll(sink, due)
}

// flush writes the summaries of every window's repeats so far (the process
// is ending). The windows go on; their next summary counts from here.
func (p *repeats) flush(sink Sink) {
	var due []Report
	now := p.now()
	p.mu.Lock()
	for fp, s := range p.seen {
		if s.suppressed > 0 {
			due = append(due, summary(fp, s, now))
			s.suppressed = 0
		}
	}
	p.mu.Unlock()
	writeAll(sink, due)
}

func summary(fp uint64, s *seenCrash, now time.Time) Report {
	return Report{
		Event: EventRepeated, Level: "error", Error: ErrorInfo{Type: s.typ}, Fingerprint: fp,
		Repeats: s.suppressed, Seconds: now.Sub(s.first).Seconds(),
	}
}

// writeAll writes summaries; a failing sink loses them but must not kill the
// caller (a timer goroutine, or a crash being reported).
func writeAll(sink Sink, due []Report) {
	for i := range due {
		func() {
			defer func() { _ = recover() }()
			sink.WriteCrash(&due[i])
		}()
	}
}

// tracked is how many fingerprints are tracked (tests check the bound).
func (p *repeats) tracked() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.seen)
}
