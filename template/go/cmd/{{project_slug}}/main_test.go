package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// TestMainsDeferRecover checks that every command's func main starts with
// `defer errutil.Recover()`, so a crash in main is a short report and exit
// code 2 (make setup-panic-handler runs it).
func TestMainsDeferRecover(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "*", "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, file := range files {
		f, err := parser.ParseFile(token.NewFileSet(), file, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || f.Name.Name != "main" || fn.Name.Name != "main" || fn.Recv != nil {
				continue
			}
			checked++
			if !firstIsDeferRecover(fn) {
				t.Errorf("%s: func main does not start with `defer errutil.Recover()`", file)
			}
		}
	}
	if checked == 0 {
		wd, _ := os.Getwd()
		t.Fatalf("no func main found around %s", wd)
	}
}

func firstIsDeferRecover(fn *ast.FuncDecl) bool {
	if len(fn.Body.List) == 0 {
		return false
	}
	d, ok := fn.Body.List[0].(*ast.DeferStmt)
	if !ok {
		return false
	}
	sel, ok := d.Call.Fun.(*ast.SelectorExpr)
	if !ok {
		return false
	}
	x, ok := sel.X.(*ast.Ident)
	return ok && x.Name == "errutil" && sel.Sel.Name == "Recover"
}

// TestSigtermFlushesRepeats runs the service (this test binary again, calling
// run) with the crash demo routes, crashes one route three times and stops it
// with SIGTERM, as Kubernetes does: the two repeats, not yet summarised when
// the window is one minute, are logged as one crash_repeated line before the
// process exits 0.
func TestSigtermFlushesRepeats(t *testing.T) {
	if os.Getenv("SERVICE_TEST_CHILD") == "1" {
		os.Exit(run())
	}
	cmd, stderr, base := startService(t, "TestSigtermFlushesRepeats", "CRASH_DEMO=routes", "LOG_FORMAT=json", "SHUTDOWN_DRAIN_SECONDS=0")
	defer func() { _ = cmd.Process.Kill() }()
	waitForHealthz(t, base)
	for i := 0; i < 3; i++ {
		resp, err := http.Get(base + "/debug/crash")
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit: %v\n%s", err, stderr.String())
	}
	events := map[string]int{}
	repeats := 0.0
	for sc := bufio.NewScanner(stderr); sc.Scan(); {
		var line map[string]any
		if json.Unmarshal(sc.Bytes(), &line) != nil {
			continue
		}
		event, _ := line["event"].(string)
		events[event]++
		if event == "crash_repeated" {
			repeats, _ = line["repeats"].(float64)
		}
	}
	if events["crash"] != 1 || events["crash_repeat"] != 2 || events["crash_repeated"] != 1 || repeats != 2 {
		t.Fatalf("events %v, %v repeats summarised; want 1 crash, 2 crash_repeat, 1 crash_repeated of 2", events, repeats)
	}
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l.Close() }()
	return strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}

// TestSigtermDrainsNotReadyThenStops runs the service (this test binary again)
// with a two-second drain: after SIGTERM it reports not ready on /readyz while
// it still answers, then exits 0, as the Python flavour does.
func TestSigtermDrainsNotReadyThenStops(t *testing.T) {
	if os.Getenv("SERVICE_TEST_CHILD") == "1" {
		os.Exit(run())
	}
	cmd, stderr, base := startService(t, "TestSigtermDrainsNotReadyThenStops", "SHUTDOWN_DRAIN_SECONDS=2")
	defer func() { _ = cmd.Process.Kill() }()
	status := func(path string) int {
		resp, err := http.Get(base + path)
		if err != nil {
			return 0
		}
		_ = resp.Body.Close()
		return resp.StatusCode
	}
	for deadline := time.Now().Add(30 * time.Second); status("/readyz") != http.StatusOK; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the service did not become ready:\n%s", stderr.String())
		}
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	if got := status("/readyz"); got != http.StatusServiceUnavailable {
		t.Fatalf("/readyz while draining: %d, want 503", got)
	}
	if got := status("/healthz"); got != http.StatusOK {
		t.Fatalf("/healthz while draining: %d, want 200 (still serving)", got)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit: %v\n%s", err, stderr.String())
	}
}

// TestJSONLogHasAccessLinesAndRequestIDs runs the service (this test binary
// again) with JSON logs: a crashed request gives one access line (event
// access, the route, never the query) and a crash report with the client's
// X-Request-ID, which comes back on the 500; a probe's access line is at
// debug level, so not logged at info.
func TestJSONLogHasAccessLinesAndRequestIDs(t *testing.T) {
	if os.Getenv("SERVICE_TEST_CHILD") == "1" {
		os.Exit(run())
	}
	cmd, stderr, base := startService(t, "TestJSONLogHasAccessLinesAndRequestIDs", "CRASH_DEMO=routes", "LOG_FORMAT=json", "LOG_LEVEL=info", "SHUTDOWN_DRAIN_SECONDS=0")
	defer func() { _ = cmd.Process.Kill() }()
	waitForHealthz(t, base)
	req, err := http.NewRequest(http.MethodGet, base+"/debug/crash?token=s3cret", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Request-ID", "req-7")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusInternalServerError || resp.Header.Get("X-Request-ID") != "req-7" {
		t.Fatalf("status %d, X-Request-ID %q", resp.StatusCode, resp.Header.Get("X-Request-ID"))
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit: %v\n%s", err, stderr.String())
	}
	if bytes.Contains(stderr.Bytes(), []byte("s3cret")) {
		t.Fatalf("the query is logged:\n%s", stderr.String())
	}
	access, crash := accessAndCrashLines(stderr)
	if len(access) != 1 {
		t.Fatalf("%d access lines at info, want 1 (probes at debug):\n%s", len(access), stderr.String())
	}
	a := access[0]
	ms, _ := a["duration_ms"].(float64)
	if a["method"] != "GET" || a["route"] != "/debug/crash" || a["status"] != float64(500) || a["request_id"] != "req-7" ||
		ms <= 0 || a["level"] != "info" {
		t.Fatalf("access line %v", a)
	}
	if crash == nil || crash["request_id"] != "req-7" {
		t.Fatalf("crash report %v: want request_id req-7", crash)
	}
}

// waitForHealthz waits until the service at base answers /healthz.
func waitForHealthz(t *testing.T, base string) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if resp, err := http.Get(base + "/healthz"); err == nil {
			_ = resp.Body.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the service did not start")
		}
	}
}

// accessAndCrashLines reads a JSON log: its access lines, and its last crash report.
func accessAndCrashLines(log *bytes.Buffer) (access []map[string]any, crash map[string]any) {
	for sc := bufio.NewScanner(log); sc.Scan(); {
		var line map[string]any
		if json.Unmarshal(sc.Bytes(), &line) != nil {
			continue
		}
		switch line["event"] {
		case "access":
			access = append(access, line)
		case "crash":
			crash = line
		}
	}
	return access, crash
}

// startService runs this test binary again as the service (the test named
// test calls run when SERVICE_TEST_CHILD is set), on a free port with env
// added: the command, its stderr and the service's base URL.
func startService(t *testing.T, test string, env ...string) (*exec.Cmd, *bytes.Buffer, string) {
	t.Helper()
	port := freePort(t)
	cmd := exec.Command(os.Args[0], "-test.run=^"+test+"$")
	cmd.Env = append(append(os.Environ(), "SERVICE_TEST_CHILD=1", "PORT="+port), env...)
	stderr := &bytes.Buffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd, stderr, "http://127.0.0.1:" + port
}
