package config

import (
	"strings"
	"testing"
	"time"
)

func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func TestDefaults(t *testing.T) {
	cfg, err := FromEnv(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		Port: 8080, LogFormat: "json", LogLevel: "info", CrashDemo: CrashDemoOff,
		ShutdownDrain: 5 * time.Second, GracefulTimeout: 20 * time.Second,
	}
	if cfg != want {
		t.Fatalf("got %+v, want %+v", cfg, want)
	}
}

func TestReadsEnvironment(t *testing.T) {
	cfg, err := FromEnv(env(map[string]string{
		"PORT": "9090", "LOG_FORMAT": "console", "LOG_LEVEL": "DEBUG", "CRASH_DEMO": "routes",
		"SHUTDOWN_DRAIN_SECONDS": "0", "GRACEFUL_TIMEOUT_SECONDS": "2.5",
	}))
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		Port: 9090, LogFormat: "console", LogLevel: "debug", CrashDemo: CrashDemoRoutes,
		ShutdownDrain: 0, GracefulTimeout: 2500 * time.Millisecond,
	}
	if cfg != want {
		t.Fatalf("got %+v, want %+v", cfg, want)
	}
}

func TestRejectsBadValues(t *testing.T) {
	for name, tc := range map[string]struct{ key, value, want string }{
		"port text":  {"PORT", "http", `PORT="http"`},
		"port range": {"PORT", "70000", "1 to 65535"},
		"format":     {"LOG_FORMAT", "xml", `LOG_FORMAT="xml": want one of json, console`},
		"drain":      {"SHUTDOWN_DRAIN_SECONDS", "61", `SHUTDOWN_DRAIN_SECONDS="61": want seconds from 0 to 60`},
		"graceful":   {"GRACEFUL_TIMEOUT_SECONDS", "0", `GRACEFUL_TIMEOUT_SECONDS="0": want seconds above 0 to 300`},
		"level":      {"LOG_LEVEL", "loud", `LOG_LEVEL="loud"`},
		"demo":       {"CRASH_DEMO", "yes", `CRASH_DEMO="yes"`},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := FromEnv(env(map[string]string{tc.key: tc.value}))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want it to mention %q", err, tc.want)
			}
		})
	}
}
