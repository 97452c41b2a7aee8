"""gowire: errutil into existing Go repositories of each shape a service has (plain net/http,
an http.Server with a ServeMux, chi, gin, echo, gRPC, a main with its own recover(), a repository
with a pkg/errutil of its own). Each fixture is built once per session from the files below (the
frameworks come through the Go module proxy at pinned versions), then checked, dry-run, wired,
built, vetted, tested, crashed through a real server, and wired again."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from conftest import REPO, commit_all, git_init, render, run
from shortstack.devtools import free_port

pytestmark = [pytest.mark.go, pytest.mark.slow]

if shutil.which("go") is None:
    pytest.skip("the Go toolchain is not installed", allow_module_level=True)

# The error id is a UUIDv7 (the crash contract): version 7, variant 10.
ERROR_ID = r"[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"
# The contract's header: `Type: message  [error_id=...]`.
CRASH_HEADER = (
    "runtime.boundsError: runtime error: index out of range [5] with length 3  [error_id="
)
HEADER = re.compile(rf"^{re.escape(CRASH_HEADER)}({ERROR_ID})\]$", re.M)

WORK = """\
// Package work is the repository's own code; Crash panics two frames deep.
package work

var items = []int{1, 2, 3}

// Crash reads past the end of items.
func Crash() int { return lookup(5) }

func lookup(i int) int { return items[i] }
"""

WORK_TEST = """\
package work

import "testing"

func TestItems(t *testing.T) {
\tif len(items) != 3 {
\t\tt.Fatal(items)
\t}
}
"""

NETHTTP_MAIN = """\
// Command server serves on http.DefaultServeMux.
package main

import (
\t"fmt"
\t"log"
\t"net/http"
\t"os"

\t"example.com/shape/internal/work"
)

func main() {
\thttp.HandleFunc("/crash", func(w http.ResponseWriter, r *http.Request) {
\t\tfmt.Fprint(w, work.Crash())
\t})
\tlog.Fatal(http.ListenAndServe("127.0.0.1:"+os.Getenv("PORT"), nil)) // the default mux
}
"""

# Package-main files `go build ./...` never builds: gowire must leave them alone.
NOT_BUILT = {
    "internal/work/gen.go": '//go:build ignore\n\npackage main\n\nfunc main() { println("gen") }\n',
    "examples/hello/main.go": (
        'package main\n\nimport "net/http"\n\n'
        'func main() { _ = http.ListenAndServe(":8080", nil) }\n'
    ),
    "testdata/main.go": "package main\n\nfunc main() {}\n",
    "_attic/main.go": "package main\n\nfunc main() {}\n",
}

SERVEMUX_SERVER = """\
// Package server serves the API on an http.Server with its own ServeMux.
package server

import (
\t"fmt"
\t"net/http"
\t"time"

\t"example.com/shape/internal/work"
)

// Run serves on addr until it fails.
func Run(addr string) error {
\tmux := http.NewServeMux()
\tmux.HandleFunc("/crash", func(w http.ResponseWriter, r *http.Request) {
\t\tfmt.Fprint(w, work.Crash())
\t})
\tsrv := &http.Server{
\t\tAddr:              addr,
\t\tHandler:           mux,
\t\tReadHeaderTimeout: 5 * time.Second,
\t}
\treturn srv.ListenAndServe()
}
"""

SERVEMUX_MAIN = """\
package main

import (
\t"log"
\t"os"

\t"example.com/shape/internal/server"
)

func main() {
\tlog.Fatal(server.Run("127.0.0.1:" + os.Getenv("PORT")))
}
"""

CHI_MAIN = """\
package main

import (
\t"fmt"
\t"log"
\t"net/http"
\t"os"

\t"github.com/go-chi/chi/v5"
\t"github.com/go-chi/chi/v5/middleware"

\t"example.com/shape/internal/work"
)

func main() {
\tr := chi.NewRouter()
\tr.Use(middleware.RequestID)
\tr.Use(middleware.Recoverer) // chi's own: prints the whole stack
\tr.Get("/crash", func(w http.ResponseWriter, r *http.Request) {
\t\tfmt.Fprint(w, work.Crash())
\t})
\tlog.Fatal(http.ListenAndServe("127.0.0.1:"+os.Getenv("PORT"), r))
}
"""

GIN_MAIN = """\
package main

import (
\t"log"
\t"net/http"
\t"os"

\t"github.com/gin-gonic/gin"

\t"example.com/shape/internal/work"
)

func main() {
\tr := gin.Default()
\tr.GET("/crash", func(c *gin.Context) {
\t\tc.JSON(http.StatusOK, work.Crash())
\t})
\tlog.Fatal(r.Run("127.0.0.1:" + os.Getenv("PORT")))
}
"""

ECHO_MAIN = """\
package main

import (
\t"net/http"
\t"os"

\t"github.com/labstack/echo/v4"
\t"github.com/labstack/echo/v4/middleware"

\t"example.com/shape/internal/work"
)

func main() {
\te := echo.New()
\te.HideBanner = true
\te.Use(middleware.RequestID())
\te.Use(middleware.Recover())
\te.GET("/crash", func(c echo.Context) error {
\t\treturn c.JSON(http.StatusOK, work.Crash())
\t})
\te.Logger.Fatal(e.Start("127.0.0.1:" + os.Getenv("PORT")))
}
"""

# A gRPC service written out by hand (no generated code): /demo.Crash/Boom panics.
GRPC_SERVICE = """\
// Package service is a gRPC service whose one method panics.
package service

import (
\t"context"

\t"google.golang.org/grpc"
\t"google.golang.org/protobuf/types/known/wrapperspb"

\t"example.com/shape/internal/work"
)

// Desc describes the service for grpc.Server.RegisterService.
var Desc = grpc.ServiceDesc{
\tServiceName: "demo.Crash",
\tHandlerType: (*any)(nil),
\tMethods:     []grpc.MethodDesc{{MethodName: "Boom", Handler: boom}},
}

func boom(
\t_ any, ctx context.Context, dec func(any) error, interceptor grpc.UnaryServerInterceptor,
) (any, error) {
\tin := new(wrapperspb.StringValue)
\tif err := dec(in); err != nil {
\t\treturn nil, err
\t}
\thandler := func(context.Context, any) (any, error) {
\t\treturn wrapperspb.Int64(int64(work.Crash())), nil
\t}
\tif interceptor == nil {
\t\treturn handler(ctx, in)
\t}
\treturn interceptor(ctx, in, &grpc.UnaryServerInfo{FullMethod: "/demo.Crash/Boom"}, handler)
}
"""

GRPC_MAIN = """\
package main

import (
\t"log"
\t"net"
\t"os"

\t"google.golang.org/grpc"

\t"example.com/shape/internal/service"
)

func main() {
\tlis, err := net.Listen("tcp", "127.0.0.1:"+os.Getenv("PORT"))
\tif err != nil {
\t\tlog.Fatal(err)
\t}
\ts := grpc.NewServer()
\ts.RegisterService(&service.Desc, nil)
\tlog.Fatal(s.Serve(lis))
}
"""

GRPC_CALL = """\
// Command call calls /demo.Crash/Boom at the address in its argument and prints the status.
package main

import (
\t"context"
\t"fmt"
\t"os"

\t"google.golang.org/grpc"
\t"google.golang.org/grpc/credentials/insecure"
\t"google.golang.org/grpc/status"
\t"google.golang.org/protobuf/types/known/wrapperspb"
)

func main() {
\tconn, err := grpc.NewClient(os.Args[1], grpc.WithTransportCredentials(insecure.NewCredentials()))
\tif err != nil {
\t\tpanic(err)
\t}
\tdefer conn.Close()
\tin, out := wrapperspb.String("x"), new(wrapperspb.Int64Value)
\terr = conn.Invoke(context.Background(), "/demo.Crash/Boom", in, out)
\tst := status.Convert(err)
\tfmt.Println(st.Code(), st.Message())
}
"""

OWN_RECOVER_MAIN = """\
package main

import (
\t"fmt"
\t"log"
\t"net/http"
\t"os"

\t"example.com/shape/internal/work"
)

func main() {
\tdefer func() {
\t\tif v := recover(); v != nil {
\t\t\tlog.Printf("fatal: %v", v)
\t\t\tos.Exit(1)
\t\t}
\t}()
\thttp.HandleFunc("/crash", func(w http.ResponseWriter, r *http.Request) {
\t\tfmt.Fprint(w, work.Crash())
\t})
\tlog.Fatal(http.ListenAndServe("127.0.0.1:"+os.Getenv("PORT"), nil))
}
"""

OWN_ERRUTIL = """\
// Package errutil is the repository's own error helpers (not shortstack's).
package errutil

import "fmt"

// Wrap adds context to err.
func Wrap(err error, msg string) error { return fmt.Errorf("%s: %w", msg, err) }
"""

OWN_ERRUTIL_MAIN = """\
package main

import (
\t"errors"
\t"fmt"
\t"log"
\t"net/http"
\t"os"

\t"example.com/shape/internal/work"
\t"example.com/shape/pkg/errutil"
)

func main() {
\thttp.HandleFunc("/crash", func(w http.ResponseWriter, r *http.Request) {
\t\tfmt.Fprint(w, work.Crash())
\t})
\tlog.Fatal(errutil.Wrap(http.ListenAndServe("127.0.0.1:"+os.Getenv("PORT"), nil), "serve"))
\t_ = errors.New
}
"""

ANSWERS = ".copier-answers.errutil-go.yml"
GIN = "github.com/gin-gonic/gin@v1.10.0"
ECHO = "github.com/labstack/echo/v4@v4.12.0"
CHI = "github.com/go-chi/chi/v5@v5.0.12"
GRPC = ("google.golang.org/grpc@v1.64.0", "google.golang.org/protobuf@v1.34.1")


@dataclass(frozen=True)
class Shape:
    name: str
    files: dict[str, str]
    modules: tuple[str, ...] = ()
    errutil_dir: str = "pkg/errutil"
    # (file, a line the rewrite must put in it)
    wired: tuple[tuple[str, str], ...] = ()
    manual: str = ""  # what it must list as a manual step ("" when none)
    grpc: bool = False
    unchanged: tuple[str, ...] = field(default=())


SHAPES = [
    Shape(
        "nethttp",
        {"cmd/server/main.go": NETHTTP_MAIN, **NOT_BUILT},
        wired=(
            ("cmd/server/main.go", "\tdefer errutil.Recover()\n"),
            ("cmd/server/main.go", "errutil.Middleware(http.DefaultServeMux))) // the default mux"),
        ),
        unchanged=tuple(NOT_BUILT),
    ),
    Shape(
        "servemux",
        {"cmd/server/main.go": SERVEMUX_MAIN, "internal/server/server.go": SERVEMUX_SERVER},
        wired=(("internal/server/server.go", "\t\tHandler:           errutil.Middleware(mux),\n"),),
    ),
    Shape(
        "chi",
        {"cmd/server/main.go": CHI_MAIN},
        (CHI,),
        wired=(("cmd/server/main.go", "\tr.Use(errutil.Middleware) // chi's own"),),
    ),
    Shape(
        "gin",
        {"cmd/server/main.go": GIN_MAIN},
        (GIN,),
        wired=(
            (
                "cmd/server/main.go",
                "\tr := gin.New()\n\tr.Use(gin.Logger(), errutil.GinRecovery())\n",
            ),
        ),
    ),
    Shape(
        "echo",
        {"cmd/server/main.go": ECHO_MAIN},
        (ECHO,),
        wired=(("cmd/server/main.go", "\te.Use(errutil.EchoRecover())\n"),),
    ),
    Shape(
        "grpc",
        {
            "cmd/server/main.go": GRPC_MAIN,
            "cmd/call/main.go": GRPC_CALL,
            "internal/service/service.go": GRPC_SERVICE,
        },
        GRPC,
        wired=(
            (
                "cmd/server/main.go",
                "grpc.NewServer(grpc.ChainUnaryInterceptor(errutil.UnaryServerInterceptor()), "
                "grpc.ChainStreamInterceptor(errutil.StreamServerInterceptor()))",
            ),
        ),
        grpc=True,
    ),
    Shape(
        "ownrecover",
        {"cmd/server/main.go": OWN_RECOVER_MAIN},
        wired=(("cmd/server/main.go", "errutil.Middleware(http.DefaultServeMux)"),),
        manual="cmd/server/main.go:13: func main defers its own recover()",
    ),
    Shape(
        "ownerrutil",
        {"cmd/server/main.go": OWN_ERRUTIL_MAIN, "pkg/errutil/errutil.go": OWN_ERRUTIL},
        errutil_dir="pkg/shortstack/errutil",
        wired=(
            ("cmd/server/main.go", '\tshortstack "example.com/shape/pkg/shortstack/errutil"\n'),
            ("cmd/server/main.go", "\tdefer shortstack.Recover()\n"),
            ("cmd/server/main.go", "shortstack.Middleware(http.DefaultServeMux)"),
        ),
        unchanged=("pkg/errutil/errutil.go",),
    ),
]


def inject(repo: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    """`make setup-panic-handler DEST=repo` as the template's Makefile runs it."""
    return run(
        [sys.executable, "-m", "shortstack.inject", "--dest", str(repo), *flags],
        REPO,
        env={"PYTHONPATH": str(REPO)},
        check=False,
    )


def git_status(repo: Path) -> str:
    return run(["git", "status", "--porcelain", "--untracked-files=all"], repo).stdout


@dataclass
class Wired:
    shape: Shape
    repo: Path
    original: dict[str, str]
    check_before: subprocess.CompletedProcess[str]
    dry: subprocess.CompletedProcess[str]
    first: subprocess.CompletedProcess[str]


def _build_fixture(shape: Shape, repo: Path) -> Path:
    files = {
        "go.mod": "module example.com/shape\n\ngo 1.22\n",
        "internal/work/work.go": WORK,
        "internal/work/work_test.go": WORK_TEST,
        **shape.files,
    }
    for name, text in files.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text)
    if shape.modules:
        run(["go", "get", *shape.modules], repo, timeout=1200)
        run(["go", "mod", "tidy"], repo, timeout=1200)
    run(["go", "build", "./..."], repo, timeout=1200)
    git_init(repo, "the team's service")
    return repo


@pytest.fixture(scope="session", params=SHAPES, ids=[shape.name for shape in SHAPES])
def wired(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Wired:
    """One repository of the shape, checked and dry-run before, then wired (once per session)."""
    shape: Shape = request.param
    repo = _build_fixture(shape, tmp_path_factory.mktemp(f"gowire-{shape.name}") / "service")
    original = {
        path.relative_to(repo).as_posix(): path.read_text()
        for path in repo.rglob("*")
        if path.is_file() and ".git" not in path.parts
    }
    check_before = inject(repo, "--check")
    dry = inject(repo, "--dry-run")
    first = inject(repo)
    return Wired(shape, repo, original, check_before, dry, first)


def test_check_fails_before_and_the_dry_run_diff_applies(wired: Wired, tmp_path: Path) -> None:
    assert wired.check_before.returncode == 1, wired.check_before.stdout
    assert "errutil is not in" in wired.check_before.stdout
    assert wired.dry.returncode == 0, wired.dry.stderr
    assert wired.dry.stdout.startswith("diff --git "), wired.dry.stdout
    assert f"would add  {wired.shape.errutil_dir}/" in wired.dry.stderr

    # the dry run wrote nothing; its diff, applied to a clean copy, is what the real run did
    copy = tmp_path / "copy"
    run(["git", "clone", "-q", str(wired.repo), str(copy)], tmp_path)
    first_commit = run(["git", "rev-list", "--max-parents=0", "HEAD"], copy).stdout.strip()
    run(["git", "reset", "-q", "--hard", first_commit], copy)
    patch = tmp_path / "wire.patch"
    patch.write_text(wired.dry.stdout)
    run(["git", "apply", str(patch)], copy)
    run(["git", "add", "-A"], copy)
    dry_tree = run(["git", "diff", "--cached", "HEAD", "--stat"], copy).stdout
    assert dry_tree, "the diff changed nothing"
    for name in run(["git", "diff", "--cached", "HEAD", "--name-only"], copy).stdout.split():
        if name == ANSWERS:
            continue  # its _commit names this checkout's state, which differs per render
        assert (copy / name).read_bytes() == (wired.repo / name).read_bytes(), name


def test_wires_the_shape(wired: Wired) -> None:
    assert wired.first.returncode == 0, wired.first.stderr + wired.first.stdout
    out = wired.first.stdout
    assert f"added      {wired.shape.errutil_dir}/" in out
    assert "verified   go build ./... passes" in out
    for name, line in wired.shape.wired:
        assert line in (wired.repo / name).read_text(), (wired.repo / name).read_text()
    for name in wired.shape.unchanged:
        assert (wired.repo / name).read_text() == wired.original[name], name
    # an adapter is rendered, and recorded for `copier update`, only for a framework go.mod requires
    answers = (wired.repo / ANSWERS).read_text()
    for adapter in ("gin", "echo", "grpc"):
        wanted = wired.shape.name == adapter
        assert (wired.repo / wired.shape.errutil_dir / f"{adapter}.go").is_file() == wanted
        assert f"go_{adapter}: {'true' if wanted else 'false'}" in answers, answers
    if wired.shape.manual:
        assert "Not wired (do this by hand):" in out and wired.shape.manual in out, out
    else:
        assert "Not wired" not in out, out
    # goimports' grouping: errutil sits with the module imports, apart from the standard library
    for name, _ in wired.shape.wired:
        text = (wired.repo / name).read_text()
        block = text[text.index("import (") : text.index(")", text.index("import ("))]
        groups = [group.split() for group in block.split("\n\n")]
        errutil_group = next(g for g in groups if any("/errutil" in item for item in g))
        assert not any(
            item.strip('"').split("/")[0].count(".") == 0
            for item in errutil_group
            if item.startswith('"')
        ), block


def test_builds_vets_and_tests_after(wired: Wired) -> None:
    run(["go", "build", "./..."], wired.repo, timeout=1200)
    run(["go", "vet", "./..."], wired.repo, timeout=1200)
    run(["go", "test", "-count=1", "./..."], wired.repo, timeout=1200)
    assert run(["gofmt", "-l", "."], wired.repo).stdout == ""


@contextmanager
def serving(repo: Path, tmp_path: Path) -> Iterator[tuple[int, subprocess.Popen[str]]]:
    """The repository's ./cmd/server, built and listening on a free port of 127.0.0.1."""
    binary = tmp_path / "server"
    run(["go", "build", "-o", str(binary), "./cmd/server"], repo, timeout=1200)
    port = free_port()
    env = {**os.environ, "PORT": str(port), "GIN_MODE": "release"}
    proc = subprocess.Popen(
        [str(binary)], cwd=repo, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"the server did not start: {proc.communicate()}")
                time.sleep(0.1)
        yield port, proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_a_handler_panic_is_a_short_report_and_a_500(wired: Wired, tmp_path: Path) -> None:
    with serving(wired.repo, tmp_path) as (port, proc):
        if wired.shape.grpc:
            called = run(["go", "run", "./cmd/call", f"127.0.0.1:{port}"], wired.repo, timeout=1200)
            code, _, message = called.stdout.strip().partition(" ")
            assert code == "Internal", called.stdout
            match = re.fullmatch(rf"internal error_id=({ERROR_ID})", message)
            assert match, called.stdout
            client_id = match.group(1)
        else:
            with pytest.raises(urllib.error.HTTPError) as raised:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/crash", timeout=30)
            assert raised.value.code == 500
            body = json.loads(raised.value.read())
            assert set(body) == {"error", "error_id"} and body["error"] == "internal", body
            client_id = body["error_id"]
        proc.terminate()
        _, stderr = proc.communicate(timeout=30)
    report = [line for line in stderr.splitlines() if line.strip()]
    header = HEADER.search(stderr)
    assert header and header.group(1) == client_id, stderr
    assert len(report) <= 6, stderr
    assert "work.lookup" in report[1], stderr
    assert "goroutine " not in stderr, stderr


def test_check_passes_after_and_a_second_run_changes_nothing(wired: Wired) -> None:
    commit_all(wired.repo, "errutil")
    check = inject(wired.repo, "--check")
    if wired.shape.manual:
        assert check.returncode == 1, check.stdout
        # the same step, at its line in the file as it is now
        name, _, what = wired.shape.manual.partition(":")
        lines = (wired.repo / name).read_text().splitlines()
        line = next(n for n, text in enumerate(lines, 1) if text == "\tdefer func() {")
        assert f"{name}:{line}:{what.partition(':')[2]}" in check.stdout, check.stdout
    else:
        assert check.returncode == 0, check.stdout + check.stderr
    again = inject(wired.repo)
    assert again.returncode == 0, again.stderr
    assert "Nothing to change" in again.stdout, again.stdout
    assert git_status(wired.repo) == ""


# --- gowire itself: one command-line module, its flags and refusals -------------------------

LEGACY_MAIN = """\
// Command legacy does legacy things.
package main

import (
\t"fmt"
\t"os"

\t"example.com/legacy/internal/work"
)

// main runs the work; "crash" as the first argument panics three frames deep.
func main() {
\t// the real work
\tif len(os.Args) > 1 && os.Args[1] == "crash" {
\t\twork.Crash()
\t}
\tfmt.Println(work.Hello()) // greet
}
"""

LEGACY_WORK = """\
// Package work is the legacy repository's code.
package work

// Hello greets.
func Hello() string { return "hello" }

var items = []int{1, 2, 3}

// Crash reads past the end of items.
func Crash() { _ = lookup(5) }

func lookup(i int) int { return items[i] }
"""

LEGACY_TEST = """\
package work

import "testing"

func TestHello(t *testing.T) {
\tif Hello() != "hello" {
\t\tt.Fatal(Hello())
\t}
}
"""


def _legacy_repo(root: Path) -> Path:
    files = {
        "go.mod": "module example.com/legacy\n\ngo 1.22\n",
        "cmd/legacy/main.go": LEGACY_MAIN,
        "internal/work/work.go": LEGACY_WORK,
        "internal/work/work_test.go": LEGACY_TEST,
    }
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    git_init(root)
    return root


def _gowire(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """gowire itself (built, not `go run`, which turns every failing status into 1)."""
    binary = REPO / ".tools" / "gowire"
    run(["go", "build", "-o", str(binary), "."], REPO / "gowire")
    copier = f"{sys.executable} -m copier"
    return run([str(binary), "-copier", copier, *args], REPO / "gowire", check=check)


def test_gowire_unit_tests() -> None:
    run(["go", "vet", "./..."], REPO / "gowire")
    run(["go", "test", "-count=1", "./..."], REPO / "gowire")


@pytest.mark.parametrize("errutil_dir", ["pkg/errutil", "internal/platform/errutil"])
def test_gowire_adds_errutil_and_wires_main(tmp_path: Path, errutil_dir: str) -> None:
    repo = _legacy_repo(tmp_path / "legacy")
    out = _gowire("-dest", str(repo), "-errutil-dir", errutil_dir).stdout
    assert f"added      {errutil_dir}/" in out
    assert "wired      cmd/legacy/main.go: defer errutil.Recover() first in func main" in out
    assert "verified   go build ./... passes" in out

    main_go = (repo / "cmd/legacy/main.go").read_text()
    assert f'\t"example.com/legacy/{errutil_dir}"\n' in main_go
    assert "func main() {\n\tdefer errutil.Recover()\n\t// the real work\n" in main_go
    assert "fmt.Println(work.Hello()) // greet" in main_go
    answers = (repo / ".copier-answers.errutil-go.yml").read_text()
    assert f"errutil_dir: {errutil_dir}" in answers and "go_module: example.com/legacy" in answers
    changed = run(["git", "status", "--porcelain"], repo).stdout.split("\n")
    assert " M cmd/legacy/main.go" in changed
    # The component is errutil's folder and its answers file: nothing else of the template.
    status = run(["git", "status", "--porcelain", "--untracked-files=all"], repo).stdout
    added = {line[3:] for line in status.splitlines() if line.startswith("??")}
    assert {path for path in added if not path.startswith(f"{errutil_dir}/")} == {
        ".copier-answers.errutil-go.yml"
    }

    run(["go", "build", "./..."], repo)
    run(["go", "vet", "./..."], repo)
    run(["go", "test", "-count=1", "./..."], repo)  # errutil's own tests pass in their new home

    run(["go", "build", "-o", "legacy-bin", "./cmd/legacy"], repo)
    crash = run([str(repo / "legacy-bin"), "crash"], repo, check=False)
    assert crash.returncode == 2
    report = crash.stderr.strip().splitlines()
    assert report[0].startswith(CRASH_HEADER)
    assert [line.split(" in ")[-1] for line in report[1:4]] == [
        "work.lookup",
        "work.Crash",
        "main.main",
    ]
    assert len(report) <= 6

    (repo / "legacy-bin").unlink()
    run(["git", "add", "-A"], repo)
    run(["git", "commit", "-q", "-m", "errutil"], repo)
    again = _gowire("-dest", str(repo)).stdout
    assert "Nothing to change" in again
    assert run(["git", "status", "--porcelain"], repo).stdout == ""


def test_gowire_refuses_a_dirty_tree_and_changes_nothing(tmp_path: Path) -> None:
    repo = _legacy_repo(tmp_path / "legacy")
    (repo / "notes.txt").write_text("work in progress\n")
    refused = _gowire("-dest", str(repo), check=False)
    assert refused.returncode == 2
    assert "uncommitted changes" in refused.stderr and "notes.txt" in refused.stderr
    assert not (repo / "pkg").exists()
    assert (repo / "cmd/legacy/main.go").read_text() == LEGACY_MAIN

    dry = _gowire("-dest", str(repo), "-dry-run")
    assert "would add  pkg/errutil/" in dry.stderr and "would wire cmd/legacy/main.go" in dry.stderr
    assert "diff --git a/cmd/legacy/main.go b/cmd/legacy/main.go" in dry.stdout
    assert not (repo / "pkg").exists()


def test_gowire_with_the_zap_adapter(tmp_path: Path) -> None:
    repo = _legacy_repo(tmp_path / "legacy")
    refused = _gowire("-dest", str(repo), "-logger", "zap", check=False)
    assert refused.returncode == 2 and "go.mod does not require go.uber.org/zap" in refused.stderr
    run(["go", "get", "go.uber.org/zap@v1.27.0"], repo)
    commit_all(repo, "zap")
    _gowire("-dest", str(repo))  # the adapter for the logger go.mod requires
    errutil = repo / "pkg" / "errutil"
    assert (errutil / "zap.go").is_file() and not (errutil / "slog.go").exists()
    run(["go", "test", "-count=1", "./..."], repo)  # the zap adapter's test included


def test_a_rendered_go_service_checks_as_wired(tmp_path: Path) -> None:
    """The service's own server is wired inside server.Handler(): CHECK=1 sees it."""
    service = render(tmp_path / "orders", project_name="Orders", language="go")
    git_init(service)
    check = inject(service, "--check")
    assert check.returncode == 0, check.stdout + check.stderr
    assert "which returns errutil.Middleware(...)" in check.stdout


def test_make_passes_package_and_logger_to_gowire(tmp_path: Path) -> None:
    repo = _legacy_repo(tmp_path / "legacy")
    dest = f"DEST={repo}"
    dry = run(
        ["make", "setup-panic-handler", dest, "DRY_RUN=1", "PACKAGE=internal/platform/errutil"],
        REPO,
    )
    assert "+++ b/internal/platform/errutil/slog.go" in dry.stdout, dry.stdout
    assert '+\t"example.com/legacy/internal/platform/errutil"' in dry.stdout
    refused = run(["make", "setup-panic-handler", dest, "LOGGER=zap"], REPO, check=False)
    assert refused.returncode != 0 and "go.mod does not require go.uber.org/zap" in refused.stderr
    assert git_status(repo) == ""


def test_make_passes_logger_as_text_and_refuses_an_unknown_one(tmp_path: Path) -> None:
    """LOGGER= reaches the injector through the environment, as DEST and PACKAGE do: never run
    by the shell, and checked against the three adapters."""
    repo = _legacy_repo(tmp_path / "legacy")
    ran = tmp_path / "ran"
    refused = run(
        ["make", "setup-panic-handler", f"DEST={repo}", f"LOGGER=zap`touch {ran}`"],
        REPO,
        check=False,
    )
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "choose one of slog, zap, logrus" in refused.stderr
    assert not ran.exists() and git_status(repo) == ""
