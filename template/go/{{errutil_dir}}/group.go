package errutil

import (
	"errors"
	"runtime"
	"strconv"
	"sync"
)

// ErrPanicked is what Group.Wait's error wraps when a goroutine panicked.
var ErrPanicked = errors.New("errutil: goroutine panicked")

// Group runs goroutines as Go does (a panic is reported, the process goes
// on) and waits for them, as sourcegraph/conc's WaitGroup does: Wait returns
// once every goroutine has returned and every crash report has been written,
// so a program that waits and then exits never loses one. The zero value is
// ready; a Group must not be copied after first use.
//
//	var g errutil.Group
//	for _, job := range jobs {
//		g.Go(func() { process(job) })
//	}
//	if err := g.Wait(); err != nil { // errors.Is(err, errutil.ErrPanicked)
//		return 1
//	}
type Group struct {
	wg      sync.WaitGroup
	mu      sync.Mutex
	crashed int
	firstID string
}

// Go runs fn in a new goroutine of the group.
func (g *Group) Go(fn func()) {
	var pc [1]uintptr
	runtime.Callers(2, pc[:])
	g.wg.Add(1)
	go func() {
		defer g.wg.Done() // deferred first, so it runs after the report is written
		defer g.recover(pc)
		fn()
	}()
}

func (g *Group) recover(startPC [1]uintptr) {
	v := recover()
	if v == nil {
		return
	}
	r := reportGoroutine(v, startPC)
	g.mu.Lock()
	defer g.mu.Unlock()
	g.crashed++
	// The earliest id: error ids sort by time, whichever goroutine takes the lock first.
	if r != nil {
		if id := r.ErrorIDString(); g.firstID == "" || id < g.firstID {
			g.firstID = id
		}
	}
}

// Wait blocks until every goroutine started with g.Go has returned and its
// crash report, if any, has been written. It returns nil when none panicked,
// else an error wrapping ErrPanicked that counts them and names the earliest
// report's error id (ids sort by time). The group can be used again after Wait.
func (g *Group) Wait() error {
	g.wg.Wait()
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.crashed == 0 {
		return nil
	}
	err := &panickedError{count: g.crashed, firstID: g.firstID}
	g.crashed, g.firstID = 0, ""
	return err
}

type panickedError struct {
	count   int
	firstID string
}

func (e *panickedError) Error() string {
	msg := ErrPanicked.Error()
	if e.count > 1 {
		msg = "errutil: " + strconv.Itoa(e.count) + " goroutines panicked"
	}
	if e.firstID != "" {
		msg += " (error_id=" + e.firstID + ")"
	}
	return msg
}

func (e *panickedError) Unwrap() error { return ErrPanicked }
