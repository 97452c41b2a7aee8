//go:build !sentry

package telemetry

import (
	"strings"
	"testing"
)

// A binary built without -tags sentry refuses SENTRY_DSN rather than
// dropping the crashes it was asked to send.
func TestStartSentryRefusesWithoutTheTag(t *testing.T) {
	_, _, err := StartSentry("https://key@sentry.invalid/1", nil)
	if SentryBuilt || err == nil || !strings.Contains(err.Error(), "-tags sentry") {
		t.Fatalf("built %v, error %v", SentryBuilt, err)
	}
}
