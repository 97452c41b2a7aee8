package errutil

import (
	"sync"
	"time"
)

// repeats suppresses a crash repeated in a loop (a flood buries everything
// else in the log): the first report of a fingerprint is logged in full;
// repeats within the window are counted, answered with the first report's
// error id, and summarised in one line when the window closes.
type repeats struct {
	mu   sync.Mutex
	seen map[uint64]*seenCrash
	now  func() time.Time
	// after schedules the summary; tests replace it.
	after func(d time.Duration, f func())
}

type seenCrash struct {
	first      time.Time
	report     Report // header fields of the logged report
	suppressed int
	scheduled  bool
}

// maxSeen bounds the memory of distinct crashes; past it the oldest windows
// are forgotten.
const maxSeen = 1024

func newRepeats() *repeats {
	return &repeats{
		seen:  map[uint64]*seenCrash{},
		now:   time.Now,
		after: func(d time.Duration, f func()) { time.AfterFunc(d, f) },
	}
}

// admit reports whether r is to be logged. A repeat takes the error id of
// the logged report, so the id a client sees is one the log has.
func (p *repeats) admit(r *Report, window time.Duration, sink Sink) bool {
	if window < 0 {
		return true
	}
	now := p.now()
	p.mu.Lock()
	defer p.mu.Unlock()
	if s, ok := p.seen[r.Fingerprint]; ok && now.Sub(s.first) < window {
		s.suppressed++
		r.ErrorID = s.report.ErrorID
		if !s.scheduled {
			s.scheduled = true
			fp := r.Fingerprint
			p.after(window-now.Sub(s.first), func() { p.flush(fp, sink) })
		}
		return false
	}
	if len(p.seen) >= maxSeen {
		for fp, s := range p.seen {
			if now.Sub(s.first) >= window && !s.scheduled {
				delete(p.seen, fp)
			}
		}
		if len(p.seen) >= maxSeen {
			p.seen = map[uint64]*seenCrash{}
		}
	}
	head := *r
	head.Stack, head.Cause, head.HTTP, head.StartedAt = nil, nil, nil, nil
	p.seen[r.Fingerprint] = &seenCrash{first: now, report: head}
	return true
}

// flush writes the summary of the repeats of one fingerprint and forgets it,
// so its next crash is logged in full again.
func (p *repeats) flush(fp uint64, sink Sink) {
	p.mu.Lock()
	s, ok := p.seen[fp]
	if ok {
		delete(p.seen, fp)
	}
	p.mu.Unlock()
	if !ok || s.suppressed == 0 {
		return
	}
	summary := s.report
	summary.Event = EventRepeated
	summary.Repeats = s.suppressed
	defer func() { _ = recover() }() // a failing sink must not kill the timer goroutine
	sink.WriteCrash(&summary)
}
