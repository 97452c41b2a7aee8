//go:build go1.23 && unix

package errutil

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"time"
)

// forwarded are the signals PID 1 passes on to the service.
var forwarded = []os.Signal{
	syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGUSR1, syscall.SIGUSR2,
}

// supervise runs this program again as the service, under this process as its
// crash monitor, and exits with the service's exit code (128 + the signal
// when a signal ended it, as a shell reports it). It returns only when the
// service could not be started.
func supervise() error {
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("errutil: crash monitor: %w", err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("errutil: crash monitor: %w", err)
	}
	cmd := exec.Command(exe, os.Args[1:]...) //nolint:gosec // G204: this very program
	cmd.Env = append(os.Environ(), monitorEnv+"=supervised")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.ExtraFiles = []*os.File{w} // file descriptor 3 in the service
	signals := make(chan os.Signal, len(forwarded))
	signal.Notify(signals, forwarded...)
	err = cmd.Start()
	_ = w.Close()
	if err != nil {
		signal.Stop(signals)
		_ = r.Close()
		return fmt.Errorf("errutil: crash monitor: %w", err)
	}
	go func() {
		for s := range signals {
			_ = cmd.Process.Signal(s)
		}
	}()
	dumped := make(chan string, 1)
	go func() {
		dump, _ := io.ReadAll(io.LimitReader(r, maxDump))
		dumped <- string(dump)
		_, _ = io.Copy(io.Discard, r)
	}()
	_ = cmd.Wait()
	// The runtime writes the dump before the service exits; the pipe's end
	// only waits for processes the service started that kept it open.
	select {
	case dump := <-dumped:
		writeCrashDump(dump)
	case <-time.After(time.Second):
	}
	os.Exit(exitCode(cmd.ProcessState))
	return nil
}

func exitCode(state *os.ProcessState) int {
	if status, ok := state.Sys().(syscall.WaitStatus); ok && status.Signaled() {
		return 128 + int(status.Signal())
	}
	return state.ExitCode()
}
