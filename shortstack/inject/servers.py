"""Where a server is pointed at the app: gunicorn/uwsgi configs, Procfiles, Dockerfile commands.

`gunicorn orders.wsgi:application` names the object every request goes through: that object
must be wired, whatever else the repository has. Each reference found here becomes a target the
planner checks (wired, or listed with the line to add by hand).
"""

from __future__ import annotations

import configparser
import json
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

__all__ = ["ServerTarget", "find_server_targets"]

# The servers that take a `module:object` argument, and the argument itself.
_SERVERS = ("gunicorn", "uvicorn", "hypercorn", "daphne", "waitress-serve", "granian")
_TARGET = re.compile(r"^([A-Za-z_][\w.]*):([A-Za-z_]\w*)(\(.*\))?$")
_ASGI_SERVERS = frozenset({"uvicorn", "hypercorn", "daphne"})


@dataclass(frozen=True)
class ServerTarget:
    """`module:object` that a server serves, and where the repository says so."""

    source: str  # the file that names it (relative path)
    line: int
    server: str
    module: str
    obj: str
    factory: bool = False  # `module:create_app()`: the object is a factory that is called

    @property
    def asgi(self) -> bool:
        return self.server in _ASGI_SERVERS

    def describe(self) -> str:
        call = "()" if self.factory else ""
        return f"{self.server} {self.module}:{self.obj}{call}"


def _from_command(words: list[str], source: str, line: int) -> list[ServerTarget]:
    found = []
    for index, word in enumerate(words):
        server = Path(word).name
        if server not in _SERVERS:
            continue
        for argument in words[index + 1 :]:
            match = _TARGET.match(argument.strip("'\""))
            if match and not argument.startswith("-"):
                module, obj, call = match.groups()
                found.append(ServerTarget(source, line, server, module, obj, call is not None))
                break
    return found


def _words(command: str) -> list[str]:
    command = command.strip()
    if command.startswith("["):  # Dockerfile exec form: ["gunicorn", "app:app"]
        try:
            parsed = json.loads(command)
        except ValueError:
            parsed = None
        if isinstance(parsed, list):
            return [str(word) for word in parsed]
    try:
        return shlex.split(command)
    except ValueError:
        return command.split()


def _procfile(root: Path) -> list[ServerTarget]:
    path = root / "Procfile"
    if not path.is_file():
        return []
    found = []
    for number, text in enumerate(path.read_text(errors="replace").splitlines(), 1):
        _, sep, command = text.partition(":")
        if sep:
            found += _from_command(_words(command), "Procfile", number)
    return found


def _dockerfiles(root: Path) -> list[ServerTarget]:
    found = []
    for path in sorted(root.glob("Dockerfile*")) + sorted(root.glob("*.Dockerfile")):
        if not path.is_file():
            continue
        for number, text in enumerate(path.read_text(errors="replace").splitlines(), 1):
            instruction, _, rest = text.strip().partition(" ")
            if instruction.upper() in ("CMD", "ENTRYPOINT", "RUN") and rest:
                found += _from_command(_words(rest), path.name, number)
    return found


def _gunicorn_conf(root: Path) -> list[ServerTarget]:
    found = []
    for name in ("gunicorn.conf.py", "gunicorn_config.py", "gunicorn.py"):
        path = root / name
        if not path.is_file():
            continue
        lines = path.read_text(errors="replace").splitlines()
        for number, text in enumerate(lines, 1):
            match = re.match(r"""^\s*wsgi_app\s*=\s*["']([^"']+)["']""", text)
            target = _TARGET.match(match.group(1)) if match else None
            if target:
                module, obj, call = target.groups()
                found.append(ServerTarget(name, number, "gunicorn", module, obj, call is not None))
    return found


def _uwsgi_ini(root: Path) -> list[ServerTarget]:
    found = []
    for path in sorted(root.glob("uwsgi*.ini")):
        text = path.read_text(errors="replace")
        parser = configparser.ConfigParser(interpolation=None, strict=False)
        try:
            parser.read_string(text)
        except configparser.Error:
            continue
        if not parser.has_section("uwsgi"):
            continue
        module = parser.get("uwsgi", "module", fallback="") or parser.get(
            "uwsgi", "wsgi", fallback=""
        )
        if not module:
            continue
        name, _, obj = module.partition(":")
        obj = obj or parser.get("uwsgi", "callable", fallback="application")
        number = next(
            (
                n
                for n, line in enumerate(text.splitlines(), 1)
                if line.strip().startswith(("module", "wsgi"))
            ),
            1,
        )
        found.append(ServerTarget(path.name, number, "uwsgi", name.strip(), obj.strip()))
    return found


def find_server_targets(root: Path) -> list[ServerTarget]:
    """Every `module:object` a server in the repository is told to serve, each once."""
    found: dict[tuple[str, str], ServerTarget] = {}
    for target in _gunicorn_conf(root) + _uwsgi_ini(root) + _procfile(root) + _dockerfiles(root):
        found.setdefault((target.module, target.obj), target)
    return list(found.values())
