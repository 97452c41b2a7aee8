//go:build !go1.23

package errutil

import "errors"

// MonitorCrashes needs debug.SetCrashOutput (Go 1.23): built with an older
// Go it starts nothing and says so.
func MonitorCrashes() error {
	return errors.New("errutil: the crash monitor needs Go 1.23 or later")
}
