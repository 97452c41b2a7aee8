package main

import (
	"os"
	"testing"

	"__MODULE__/internal/orders"
	"__MODULE__/pkg/errutil"
)

// TestOrderLookup panics two packages down. With SCENARIO_MODE=ours, errutil.RecoverT
// turns the panic into a short failure; otherwise go test prints Go's goroutine dump.
func TestOrderLookup(t *testing.T) {
	if os.Getenv("SCENARIO_MODE") == "ours" {
		defer errutil.RecoverT(t)
	}
	_ = orders.Lookup(5)
}
