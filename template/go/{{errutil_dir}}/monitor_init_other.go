//go:build go1.23 && !unix

package errutil

import "errors"

// supervise is for the init of a Unix PID namespace; elsewhere no service
// runs as PID 1.
func supervise() error {
	return errors.New("errutil: crash monitor: no PID 1 supervision on this system")
}
