// Package config reads the service's settings from the environment.
package config

import (
	"fmt"
	"strconv"
	"strings"
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
}

// FromEnv reads the settings with getenv (os.Getenv in main) and says
// exactly which one is wrong.
func FromEnv(getenv func(string) string) (Config, error) {
	cfg := Config{
		Port:      8080,
		LogFormat: orDefault(getenv("LOG_FORMAT"), "json"),
		LogLevel:  orDefault(strings.ToLower(getenv("LOG_LEVEL")), "info"),
		CrashDemo: orDefault(getenv("CRASH_DEMO"), CrashDemoOff),
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
