"""Render errutil as a copier component and add it to a repository without overwriting anything."""

from __future__ import annotations

import importlib
import re
import subprocess
import sys
import tempfile
import urllib.parse
import warnings
from dataclasses import dataclass
from pathlib import Path

from .detect import InjectError, RepoLayout

__all__ = [
    "ANSWERS_FILE",
    "MODULE_NAMES",
    "OWN_STYLE_HEADER",
    "Component",
    "choose_module_name",
    "own_style_header",
    "public_source",
    "read_answers",
    "render_component",
    "template_root",
]

# The answers-file name is what selects the component in copier.yml (question `component`).
ANSWERS_FILE = ".copier-answers.errutil.yml"
# Tried in order: the second is used when the repository already has its own `errutil`.
MODULE_NAMES = ("errutil", "crash_errutil")


@dataclass(frozen=True)
class Component:
    """errutil's files for one repository: where they go and what they hold."""

    package_name: str
    package_path: str
    errutil_module: str
    tests_dir: str
    files: dict[str, bytes]


def template_root() -> Path:
    """The checkout of the template this package belongs to (it holds copier.yml)."""
    return Path(__file__).resolve().parents[2]


def _is_local(url: str) -> bool:
    """A path on this machine (`/x`, `./x`, `~/x`, `C:\\x`, `file://...`), not a remote."""
    return (
        url.startswith(("/", ".", "~", "file:"))
        or re.match(r"^[A-Za-z]:[\\/]", url) is not None
        or ("://" not in url and ":" not in url)
    )


def public_source(source: Path) -> str | None:
    """The template's public URL: its checkout's `origin` remote as configured (not rewritten
    by `insteadOf`), without credentials.

    None when there is no remote, or the remote is itself a path on this machine: a local path
    recorded in a repository breaks `copier update` on every other machine.
    """
    try:
        result = subprocess.run(
            ["git", "-C", str(source), "config", "--get", "remote.origin.url"],
            capture_output=True,
            text=True,
            check=False,
        )
    except FileNotFoundError:
        return None
    url = result.stdout.strip()
    if result.returncode != 0 or not url or _is_local(url):
        return None
    parts = urllib.parse.urlsplit(url)
    if parts.scheme and "@" in parts.netloc:  # https://user:token@host/...: never recorded
        parts = parts._replace(netloc=parts.netloc.rpartition("@")[2])
        url = urllib.parse.urlunsplit(parts)
    return url


def _record_source(answers: bytes, url: str | None) -> bytes:
    """The answers file with `_src_path` set to the public URL (or left out: never a path)."""
    yaml = importlib.import_module("yaml")
    lines = answers.decode("utf-8").splitlines(keepends=True)
    kept = [line for line in lines if not line.startswith("_src_path:")]
    if url is not None:
        entry = yaml.safe_dump({"_src_path": url}, default_flow_style=False, width=10_000)
        index = next(
            (i for i, line in enumerate(kept) if not line.startswith(("#", "_commit:"))),
            len(kept),
        )
        kept.insert(index, entry)
    return "".join(kept).encode("utf-8")


# errutil's files keep the template's style (formatted and linted there, at its line length):
# these lines make the repository's black/ruff format, flake8/ruff and isort leave them alone,
# so its own checks stay green whatever line length or profile it uses.
OWN_STYLE_HEADER = (
    b"# errutil, added by shortstack: formatted and linted where it comes from, so this\n"
    b"# repository's formatters and linters leave it as it is.\n"
    b"# fmt: off\n"
    b"# flake8: noqa\n"
    b"# isort: skip_file\n"
)


def own_style_header(content: bytes) -> bytes:
    """*content* with OWN_STYLE_HEADER as its first lines (once)."""
    return content if content.startswith(OWN_STYLE_HEADER) else OWN_STYLE_HEADER + content


def read_answers(root: Path) -> dict[str, str] | None:
    """The answers of a component added earlier, or None when there is none."""
    path = root / ANSWERS_FILE
    if not path.is_file():
        return None
    yaml = importlib.import_module("yaml")  # copier's own dependency (typed stubs not needed)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise InjectError(f"{path} is not valid YAML: {error}") from error
    if not isinstance(data, dict):
        raise InjectError(f"{path} does not hold copier answers.")
    return {str(key): str(value) for key, value in data.items()}


def _taken(layout: RepoLayout, name: str) -> list[str]:
    paths = [
        f"{layout.package_path}/{name}.py",
        f"{layout.package_path}/{name}",
        f"{layout.tests_dir}/{name}",
    ]
    return [path for path in paths if (layout.root / path).exists()]


def choose_module_name(layout: RepoLayout) -> tuple[str, list[str]]:
    """The first free name for errutil's module, and the paths that made earlier names taken."""
    taken_paths: list[str] = []
    for name in MODULE_NAMES:
        taken = _taken(layout, name)
        if not taken:
            return name, taken_paths
        taken_paths += taken
    raise InjectError(
        "The repository already has modules named "
        + " and ".join(repr(name) for name in MODULE_NAMES)
        + f" ({', '.join(taken_paths)}); errutil would overwrite one of them. Nothing was changed."
    )


def render_component(layout: RepoLayout, errutil_module: str) -> Component:
    """Run copier into a scratch folder and return the component's files (nothing else written)."""
    import copier

    source = template_root()
    answers = {
        "package_name": layout.package_name,
        "package_path": layout.package_path,
        "errutil_module": errutil_module,
        "tests_dir": layout.tests_dir,
    }
    data: dict[str, object] = {
        **answers,
        "app_packages": list(layout.app_packages),
        "errutil_tests": bool(layout.pytest_evidence),
    }
    with tempfile.TemporaryDirectory(prefix="errutil-component-") as scratch:
        try:
            with warnings.catch_warnings():
                # A template checkout with local edits is rendered as it is, on purpose.
                warnings.simplefilter("ignore")
                copier.run_copy(
                    src_path=str(source),
                    dst_path=scratch,
                    answers_file=ANSWERS_FILE,
                    data=data,
                    defaults=True,
                    unsafe=False,
                    quiet=True,
                    vcs_ref="HEAD" if (source / ".git").exists() else None,
                )
        except Exception as error:  # copier reports bad answers with several exception types
            raise InjectError(f"copier could not render errutil: {error}") from error
        files = {
            path.relative_to(scratch).as_posix(): path.read_bytes()
            for path in sorted(Path(scratch).rglob("*"))
            if path.is_file() and "__pycache__" not in path.parts
        }
    url = public_source(source)
    files[ANSWERS_FILE] = _record_source(files[ANSWERS_FILE], url)
    for path, content in files.items():
        if path.endswith(".py"):
            files[path] = own_style_header(content)
    if url is None:
        print(
            f"note: the template checkout at {source} has no public `origin` remote, so "
            f"{ANSWERS_FILE} records no source; set `_src_path` there to the template's URL "
            "before running `copier update`.",
            file=sys.stderr,
        )
    if not any(name.startswith(f"{layout.package_path}/{errutil_module}/") for name in files):
        raise InjectError(
            f"The template at {source} rendered no errutil package (is its "
            "template/python/{{package_path}}/{{errutil_module}}/ folder missing?)."
        )
    return Component(files=files, **answers)
