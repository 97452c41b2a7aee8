// Package config reads the service's settings from the environment.
package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Crash demo modes (CRASH_DEMO).
const (
	CrashDemoOff    = "off"
	CrashDemoRoutes = "routes" // GET /debug/crash and /debug/crash/goroutine
	CrashDemoMain   = "main"   // panic in main at start-up
)

// Config is the service's settings.
type Config struct {
	Port      int    // PORT, default 8080
	LogFormat string // LOG_FORMAT: json (default) or console
	LogLevel  string // LOG_LEVEL: debug, info (default), warn, error
	CrashDemo string // CRASH_DEMO: off (default), routes, main
	// On SIGTERM the service reports not ready and keeps serving ShutdownDrain
	// (so the load balancer stops sending requests), then gives requests in
	// flight GracefulTimeout; the Deployment's terminationGracePeriodSeconds
	// covers both. The same variables and defaults as the Python flavour.
	ShutdownDrain   time.Duration // SHUTDOWN_DRAIN_SECONDS: 0 to 60, default 5
	GracefulTimeout time.Duration // GRACEFUL_TIMEOUT_SECONDS: above 0, at most 300, default 20
}

// FromEnv reads the settings with getenv (os.Getenv in main) and says
// exactly which one is wrong.
func FromEnv(getenv func(string) string) (Config, error) {
	cfg := Config{
		Port:      8080,
		LogFormat: orDefault(getenv("LOG_FORMAT"), "json"),
		LogLevel:  orDefault(strings.ToLower(getenv("LOG_LEVEL")), "info"),
		CrashDemo: orDefault(getenv("CRASH_DEMO"), CrashDemoOff),

		ShutdownDrain:   5 * time.Second,
		GracefulTimeout: 20 * time.Second,
	}
	var err error
	if cfg.ShutdownDrain, err = seconds(getenv, "SHUTDOWN_DRAIN_SECONDS", cfg.ShutdownDrain, true, 60); err != nil {
		return Config{}, err
	}
	if cfg.GracefulTimeout, err = seconds(getenv, "GRACEFUL_TIMEOUT_SECONDS", cfg.GracefulTimeout, false, 300); err != nil {
		return Config{}, err
	}
	if raw := getenv("PORT"); raw != "" {
		port, err := strconv.Atoi(raw)
		if err != nil || port < 1 || port > 65535 {
			return Config{}, fmt.Errorf("PORT=%q: want a port number from 1 to 65535", raw)
		}
		cfg.Port = port
	}
	if err := oneOf("LOG_FORMAT", cfg.LogFormat, "json", "console"); err != nil {
		return Config{}, err
	}
	if err := oneOf("LOG_LEVEL", cfg.LogLevel, "debug", "info", "warn", "error"); err != nil {
		return Config{}, err
	}
	if err := oneOf("CRASH_DEMO", cfg.CrashDemo, CrashDemoOff, CrashDemoRoutes, CrashDemoMain); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// seconds reads a duration given in seconds (a decimal number) from 0 (if
// zeroOK, else above 0) to most.
func seconds(getenv func(string) string, name string, def time.Duration, zeroOK bool, most float64) (time.Duration, error) {
	raw := getenv(name)
	if raw == "" {
		return def, nil
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(raw), 64)
	if err != nil || v < 0 || (v == 0 && !zeroOK) || v > most {
		low := "above 0"
		if zeroOK {
			low = "from 0"
		}
		return 0, fmt.Errorf("%s=%q: want seconds %s to %g", name, raw, low, most)
	}
	return time.Duration(v * float64(time.Second)), nil
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

func oneOf(name, value string, allowed ...string) error {
	for _, a := range allowed {
		if value == a {
			return nil
		}
	}
	return fmt.Errorf("%s=%q: want one of %s", name, value, strings.Join(allowed, ", "))
}
