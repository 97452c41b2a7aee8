//go:build go1.23

package errutil

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"runtime/debug"
	"syscall"
)

// monitorEnv marks the process that MonitorCrashes starts as the monitor.
const monitorEnv = "ERRUTIL_CRASH_MONITOR"

// maxDump bounds what the monitor reads of a dump (GOTRACEBACK=all on a
// busy service lists every goroutine; the crashing one comes first).
const maxDump = 1 << 20

// MonitorCrashes reports the crashes recover() cannot see: a fatal runtime
// error (concurrent map writes, out of memory, deadlock) or a panic in a
// goroutine not started through errutil. The runtime still writes its full
// dump to stderr; the monitor adds the short report, through the configured
// Sink, so the crash is one log line with an error id like any other.
//
// Call it in main right after Configure, before anything with side effects:
// it starts this program again as a monitor (as golang.org/x/telemetry's
// crashmonitor does), with the same arguments and ERRUTIL_CRASH_MONITOR=1,
// and hands it the runtime's crash output (debug.SetCrashOutput, Go 1.23).
// In the monitor, the same call waits for the service to end, writes the
// report of its dump if it crashed, and exits: main runs up to this call in
// both processes, so the monitor writes through the same Sink.
//
// As the init of a PID namespace (a container's PID 1) the roles swap: a
// monitor started by the service would die with it (the kernel ends the
// namespace when its init exits) before writing. So PID 1 stays the monitor
// and runs the service as its child: it forwards signals, writes the report
// after the child crashes, and exits with the child's code.
//
// Costs: one more process of the same binary, blocked in a read, and its
// start (run concurrently with the service's, except as PID 1).
func MonitorCrashes() error {
	switch os.Getenv(monitorEnv) {
	case "1":
		runMonitor(os.Stdin)
		os.Exit(0)
	case "supervised":
		return crashOutputFromSupervisor()
	}
	if os.Getpid() == 1 {
		return supervise() // returns only when the service could not be started
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("errutil: crash monitor: %w", err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("errutil: crash monitor: %w", err)
	}
	defer func() { _ = w.Close() }()         // SetCrashOutput keeps its own copy
	cmd := exec.Command(exe, os.Args[1:]...) //nolint:gosec // G204: this very program
	cmd.Env = append(os.Environ(), monitorEnv+"=1")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = r, os.Stdout, os.Stderr
	err = cmd.Start()
	_ = r.Close()
	if err != nil {
		return fmt.Errorf("errutil: crash monitor: %w", err)
	}
	go func() { _ = cmd.Wait() }() // reaps the monitor should it end first
	if err := debug.SetCrashOutput(w, debug.CrashOptions{}); err != nil {
		return fmt.Errorf("errutil: crash monitor: %w", err)
	}
	return nil
}

// runMonitor reads the service's crash output until the service ends (end of
// file), then reports the dump, if any.
func runMonitor(in io.Reader) {
	// A Ctrl-C in a terminal reaches the whole process group: the monitor
	// stays to report what the service does with it.
	signal.Ignore(os.Interrupt, syscall.SIGTERM)
	dump, err := io.ReadAll(io.LimitReader(in, maxDump))
	if err != nil && !errors.Is(err, io.EOF) {
		return
	}
	_, _ = io.Copy(io.Discard, in) // past the limit: wait for the end all the same
	writeCrashDump(string(dump))
}

// writeCrashDump reports a dump through the configured Sink. On an internal
// fault it writes one line saying so: the runtime's own dump is already on
// stderr.
func writeCrashDump(dump string) {
	defer func() {
		if fault := recover(); fault != nil {
			fmt.Fprintf(os.Stderr, "errutil: crash monitor could not report the crash above: %v\n", fault)
		}
	}()
	c, ok := parseCrashDump(dump)
	if !ok {
		return
	}
	r := reportCrashDump(c)
	s := loadState()
	if s.cfg.OnCrash != nil {
		s.cfg.OnCrash(r)
	}
	s.cfg.Sink.WriteCrash(r)
	if f, ok := s.cfg.Sink.(syncer); ok {
		_ = f.Sync()
	}
}

// crashOutputFromSupervisor is the service's side under a PID 1 monitor: the
// crash output is the pipe the monitor passed as file descriptor 3.
func crashOutputFromSupervisor() error {
	f := os.NewFile(3, "crash-output")
	if f == nil {
		return errors.New("errutil: crash monitor: no crash output pipe")
	}
	defer func() { _ = f.Close() }() // the runtime keeps a close-on-exec copy
	if err := debug.SetCrashOutput(f, debug.CrashOptions{}); err != nil {
		return fmt.Errorf("errutil: crash monitor: %w", err)
	}
	return nil
}
