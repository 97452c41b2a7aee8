"""Wire errutil into a repository's entry points with libcst, keeping formatting and comments.

What counts as an entry point, and what it gets:

- a console-script function (`[project.scripts]`): `errutil.install()` as the first statement of
  its body, so the installed wrapper (which never runs a `__main__` block) gets it too;
- an `if __name__ == "__main__":` block that does not call a wired function: `errutil.install()`
  as its first statement;
- a module-level `app = FastAPI(...)` / `Starlette(...)`, and an app built the same way at the top
  of a factory function (`create_app()`): `app.add_middleware(errutil.ErrorMiddleware)` and
  `errutil.install()` right after the assignment.

Every inserted line ends with MARKER. Code that already calls `install()` (directly or through a
function of the repository that does) or already adds the middleware is left as it is, so a second
run changes nothing. Anything else (an app built inside an `if`, a console script that names a
method or an object) is reported with the one line to add by hand and is not edited.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import libcst as cst
import libcst.matchers as m
from libcst.metadata import MetadataWrapper, PositionProvider

from .detect import ConsoleScript, RepoLayout

__all__ = ["MARKER", "FilePlan", "Manual", "plan_wiring"]

MARKER = "# errutil: wired"
_APP_CLASSES = frozenset({"FastAPI", "Starlette"})
# Root-level files that are tooling, not the application.
_NOT_ENTRY_FILES = frozenset({"setup.py", "conftest.py", "noxfile.py", "fabfile.py", "tasks.py"})
_SKIP_DIRS = frozenset({".git", ".venv", "venv", "node_modules", "__pycache__", "build", "dist"})


@dataclass(frozen=True)
class Manual:
    """An entry point left alone: where, why, and the line the user adds by hand."""

    path: str
    line: int
    what: str
    reason: str
    instruction: str


@dataclass
class FilePlan:
    """One file: its text before and after, and what was (or already is) wired in it."""

    path: str
    old: str
    new: str
    changes: list[str] = field(default_factory=list)
    already: list[str] = field(default_factory=list)
    manual: list[Manual] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return self.old != self.new


# --- Recognising code ------------------------------------------------------------------------


def _dotted(node: cst.BaseExpression) -> str:
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        base = _dotted(node.value)
        return f"{base}.{node.attr.value}" if base else ""
    return ""


def _is_app_call(node: cst.BaseExpression | None) -> bool:
    if not isinstance(node, cst.Call):
        return False
    return _dotted(node.func).rpartition(".")[2] in _APP_CLASSES


def _app_assignment(stmt: cst.CSTNode) -> str | None:
    """`name = FastAPI(...)` (or annotated) as one statement line: the name, else None."""
    if not isinstance(stmt, cst.SimpleStatementLine) or len(stmt.body) != 1:
        return None
    small = stmt.body[0]
    if isinstance(small, cst.Assign) and len(small.targets) == 1:
        target: cst.BaseExpression = small.targets[0].target
        value: cst.BaseExpression | None = small.value
    elif isinstance(small, cst.AnnAssign):
        target, value = small.target, small.value
    else:
        return None
    if isinstance(target, cst.Name) and _is_app_call(value):
        return target.value
    return None


def _is_main_guard(stmt: cst.CSTNode) -> bool:
    if not isinstance(stmt, cst.If) or not isinstance(stmt.test, cst.Comparison):
        return False
    test = stmt.test
    if len(test.comparisons) != 1 or not isinstance(test.comparisons[0].operator, cst.Equal):
        return False
    sides = {_side(test.left), _side(test.comparisons[0].comparator)}
    return sides == {"__name__", "'__main__'"}


def _side(node: cst.BaseExpression) -> str:
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.SimpleString):
        return repr(node.evaluated_value)
    return ""


def _calls(node: cst.CSTNode) -> Iterator[cst.Call]:
    for call in m.findall(node, m.Call()):
        if isinstance(call, cst.Call):
            yield call


def _is_install_call(call: cst.Call, installers: set[str]) -> bool:
    name = _dotted(call.func)
    if name.endswith(".install") and "errutil" in name:
        return True
    return bool(name) and name.rpartition(".")[2] in installers


def _calls_install(statements: Iterable[cst.CSTNode], installers: set[str]) -> bool:
    return any(_is_install_call(call, installers) for s in statements for call in _calls(s))


def _adds_middleware(statements: Iterable[cst.CSTNode], app: str) -> bool:
    """`app.add_middleware(...ErrorMiddleware...)` or `ErrorMiddleware(app)` among `statements`."""
    for statement in statements:
        for call in _calls(statement):
            name = _dotted(call.func)
            first = _dotted(call.args[0].value) if call.args else ""
            if name == f"{app}.add_middleware" and first.endswith("ErrorMiddleware"):
                return True
            if name.endswith("ErrorMiddleware") and first == app:
                return True
    return False


def _not_defs(statements: Iterable[cst.CSTNode]) -> list[cst.CSTNode]:
    """Statements that run when their block runs (not the bodies of defs and classes)."""
    return [s for s in statements if not isinstance(s, cst.FunctionDef | cst.ClassDef)]


def _body_statements(node: cst.BaseSuite) -> Sequence[cst.CSTNode]:
    if isinstance(node, cst.IndentedBlock):
        return node.body
    return [node]


def _docstring_count(body: Sequence[cst.CSTNode]) -> int:
    if body and m.matches(
        body[0],
        m.SimpleStatementLine(body=[m.Expr(value=m.SimpleString() | m.ConcatenatedString())]),
    ):
        return 1
    return 0


def _bound_names(module: cst.Module) -> set[str]:
    """Names bound at module level (imports, assignments, defs, classes)."""
    names: set[str] = set()
    for stmt in module.body:
        if isinstance(stmt, cst.FunctionDef | cst.ClassDef):
            names.add(stmt.name.value)
        if isinstance(stmt, cst.FunctionDef | cst.ClassDef):
            continue
        for node in m.findall(stmt, m.ImportAlias() | m.AssignTarget() | m.AnnAssign()):
            if isinstance(node, cst.ImportAlias):
                if node.asname is not None and isinstance(node.asname.name, cst.Name):
                    names.add(node.asname.name.value)
                else:
                    names.add(_dotted(node.name).partition(".")[0])
            elif isinstance(node, cst.AssignTarget | cst.AnnAssign) and isinstance(
                node.target, cst.Name
            ):
                names.add(node.target.value)
    return names


def find_installers(modules: Iterable[cst.Module]) -> set[str]:
    """Names of the repository's functions that call errutil's install(), directly or not."""
    functions: list[cst.FunctionDef] = []
    for module in modules:
        functions += [
            f for f in m.findall(module, m.FunctionDef()) if isinstance(f, cst.FunctionDef)
        ]
    installers: set[str] = set()
    while True:
        found = {
            f.name.value
            for f in functions
            if f.name.value not in installers
            and _calls_install(_body_statements(f.body), installers)
        }
        if not found:
            return installers
        installers |= found


# --- Planning one file -------------------------------------------------------------------------


@dataclass
class _Context:
    package: str
    errutil_module: str
    installers: set[str]
    script_functions: dict[str, ConsoleScript]
    module_parts: list[str]
    repo_installs: bool


def _marked(code: str) -> cst.SimpleStatementLine:
    statement = cst.parse_statement(f"{code}  {MARKER}\n")
    assert isinstance(statement, cst.SimpleStatementLine)
    return statement


def _import_source(node: cst.ImportFrom, module_parts: Sequence[str]) -> str | None:
    """The absolute module an ImportFrom reads from, given the importing module's dotted parts."""
    base = _dotted(node.module) if node.module is not None else ""
    level = len(node.relative)
    if level == 0:
        return base
    parent = list(module_parts[:-1])  # the package of `mod.py` and of `__init__.py` alike
    if level > len(parent):
        return None
    parent = parent[: len(parent) - (level - 1)]
    return ".".join([*parent, base] if base else parent)


def _binding(module: cst.Module, ctx: _Context) -> tuple[str, bool]:
    """The name errutil is bound to in `module`, and whether the import must be added."""
    for stmt in module.body:
        if not isinstance(stmt, cst.SimpleStatementLine):
            continue
        for small in stmt.body:
            if not isinstance(small, cst.ImportFrom) or isinstance(small.names, cst.ImportStar):
                continue
            if _import_source(small, ctx.module_parts) != ctx.package:
                continue
            for alias in small.names:
                if _dotted(alias.name) == ctx.errutil_module:
                    bound = alias.asname.name if alias.asname else alias.name
                    if isinstance(bound, cst.Name):
                        return bound.value, False
    if ctx.errutil_module not in _bound_names(module):
        return ctx.errutil_module, True
    return f"{ctx.package}_{ctx.errutil_module}", True


def _import_line(stmt: cst.CSTNode) -> cst.Import | cst.ImportFrom | None:
    if (
        isinstance(stmt, cst.SimpleStatementLine)
        and len(stmt.body) == 1
        and isinstance(stmt.body[0], cst.Import | cst.ImportFrom)
    ):
        return stmt.body[0]
    return None


def _insert_import(
    body: list[cst.CSTNode], line: cst.SimpleStatementLine, package: str, module_name: str
) -> None:
    """Insert `line` (`from <package> import ...`) where isort would put it, if it can tell."""
    start = _docstring_count(body)
    block: list[int] = []  # indexes of the leading run of import lines
    for position in range(start, len(body)):
        if _import_line(body[position]) is not None:
            block.append(position)
        elif block or not isinstance(body[position], cst.SimpleStatementLine):
            break
    if not block:
        blank = [cst.EmptyLine()] if start else []
        body.insert(start, line.with_changes(leading_lines=blank))
        return

    def source(position: int) -> tuple[int, str]:
        node = _import_line(body[position])
        if isinstance(node, cst.ImportFrom):
            return len(node.relative), _dotted(node.module) if node.module else ""
        assert isinstance(node, cst.Import)
        return 0, _dotted(node.names[0].name)

    own = [p for p in block if source(p)[0] == 0 and source(p)[1].split(".")[0] == package]
    own_from = [p for p in own if isinstance(_import_line(body[p]), cst.ImportFrom)]
    relative = [p for p in block if source(p)[0] > 0]
    later = [
        p
        for p in own_from
        if source(p)[1] > package
        or (source(p)[1] == package and _first_name(body[p]) > module_name)
    ]
    if later:
        index = later[0]
        following = body[index]
        assert isinstance(following, cst.SimpleStatementLine)
        body.insert(index, line.with_changes(leading_lines=following.leading_lines))
        body[index + 1] = following.with_changes(leading_lines=[])
    elif own:
        body.insert(own[-1] + 1, line)
    elif relative:
        index = relative[0]
        body.insert(index, line.with_changes(leading_lines=[cst.EmptyLine()]))
    else:
        body.insert(block[-1] + 1, line.with_changes(leading_lines=[cst.EmptyLine()]))


# isort's default line length (black's and ruff's): a merged import longer than this is wrapped.
_IMPORT_LINE_LENGTH = 88


def _isort_key(name: str) -> tuple[int, str, str]:
    """isort's order of the names of one `from` import: CONSTANTS, Classes, then the rest."""
    kind = 0 if name.isupper() and len(name) > 1 else 1 if name[:1].isupper() else 2
    return kind, name.lower(), name


def _merge_import(
    body: list[cst.CSTNode], package: str, module_name: str, module: cst.Module
) -> bool:
    """Add `module_name` to an existing `from <package> import a, b` (isort would merge the
    two lines into one, so a separate line would fail the repository's import lint).

    A one-line import without a comment gets the name (and the marker) on its line, or is
    wrapped in parentheses, one name a line, when that line would be too long; a wrapped
    import with a trailing comma gets a line of its own inside the parentheses. Any other
    shape is left alone (False): the import is then added on a line of its own.
    """
    for index, stmt in enumerate(body):
        node = _import_line(stmt)
        if (
            not isinstance(stmt, cst.SimpleStatementLine)
            or not isinstance(node, cst.ImportFrom)
            or node.relative
            or node.module is None
            or _dotted(node.module) != package
            or isinstance(node.names, cst.ImportStar)
            or any(alias.asname is not None for alias in node.names)
        ):
            continue
        aliases = list(node.names)
        names = [_dotted(alias.name) for alias in aliases]
        position = sum(_isort_key(name) < _isort_key(module_name) for name in names)
        if node.lpar is None:
            if stmt.trailing_whitespace.comment is not None:
                return False  # where their comment would go is isort's guess: not ours
            ordered = [*names[:position], module_name, *names[position:]]
            one_line = f"from {package} import {', '.join(ordered)}  {MARKER}"
            if len(one_line) <= _IMPORT_LINE_LENGTH:
                code = one_line + "\n"
            else:
                wrapped = [
                    f"    {name},  {MARKER}" if name == module_name else f"    {name},"
                    for name in ordered
                ]
                code = "\n".join([f"from {package} import (", *wrapped, ")"]) + "\n"
            replacement = cst.parse_statement(code, config=module.config_for_parsing)
            body[index] = replacement.with_changes(leading_lines=stmt.leading_lines)
            return True
        last_comma = aliases[-1].comma
        if not isinstance(last_comma, cst.Comma) or not isinstance(
            last_comma.whitespace_after, cst.ParenthesizedWhitespace
        ):
            return False  # `(a, b)` on one line, or no trailing comma: left alone
        indent = cst.SimpleWhitespace(module.default_indent)
        marked = cst.TrailingWhitespace(
            whitespace=cst.SimpleWhitespace("  "),
            comment=cst.Comment(MARKER),
            newline=cst.Newline(),
        )
        if position == len(aliases):
            # the new last line takes the closing whitespace; the old last one gets a plain one
            closing = last_comma.whitespace_after
            aliases[-1] = aliases[-1].with_changes(
                comma=last_comma.with_changes(
                    whitespace_after=closing.with_changes(last_line=indent)
                )
            )
            comma = last_comma.with_changes(
                whitespace_after=closing.with_changes(first_line=marked)
            )
        else:
            comma = cst.Comma(
                whitespace_after=cst.ParenthesizedWhitespace(
                    first_line=marked, indent=True, last_line=indent
                )
            )
        aliases.insert(position, cst.ImportAlias(name=cst.Name(module_name), comma=comma))
        body[index] = stmt.with_changes(body=[node.with_changes(names=aliases)])
        return True
    return False


def _first_name(stmt: cst.CSTNode) -> str:
    node = _import_line(stmt)
    if isinstance(node, cst.ImportFrom) and not isinstance(node.names, cst.ImportStar):
        return _dotted(node.names[0].name)
    return ""


class _FilePlanner:
    def __init__(self, path: str, source: str, ctx: _Context) -> None:
        self.path = path
        self.ctx = ctx
        self.wrapper = MetadataWrapper(cst.parse_module(source))
        self.module = self.wrapper.module
        self.positions = self.wrapper.resolve(PositionProvider)
        self.binding, self.needs_import = _binding(self.module, ctx)
        self.plan = FilePlan(path=path, old=source, new=source)
        self.handled: set[int] = set()
        # install() already runs at import time, so a `__main__` block needs nothing more.
        self.module_installs = _calls_install(_not_defs(self.module.body), ctx.installers)

    def line(self, node: cst.CSTNode) -> int:
        return self.positions[node].start.line

    def manual(self, node: cst.CSTNode | None, what: str, reason: str, code: str) -> None:
        imp = f"from {self.ctx.package} import {self.ctx.errutil_module}"
        self.plan.manual.append(
            Manual(self.path, self.line(node) if node else 1, what, reason, f"{imp}; {code}")
        )

    def _insert(
        self, suite: cst.BaseSuite, index: int, lines: list[cst.SimpleStatementLine]
    ) -> cst.BaseSuite:
        if isinstance(suite, cst.IndentedBlock):
            body = list(suite.body)
            return suite.with_changes(body=[*body[:index], *lines, *body[index:]])
        assert isinstance(suite, cst.SimpleStatementSuite)
        # A one-line body (`if __name__ == "__main__": main()`) becomes a block.
        moved = cst.SimpleStatementLine(
            body=suite.body, trailing_whitespace=suite.trailing_whitespace
        )
        return cst.IndentedBlock(body=[*lines, moved])

    def wire_function(self, func: cst.FunctionDef, why: str) -> cst.FunctionDef:
        install = f"{self.binding}.install()"
        if _calls_install(_body_statements(func.body), self.ctx.installers):
            self.plan.already.append(f"{func.name.value}() ({why})")
            return func
        if isinstance(func.body, cst.SimpleStatementSuite):
            self.manual(
                func, f"{func.name.value}() ({why})", "its body is on the def line", install
            )
            return func
        index = _docstring_count(func.body.body)
        self.plan.changes.append(f"install() at the start of {func.name.value}() ({why})")
        return func.with_changes(body=self._insert(func.body, index, [_marked(install)]))

    def app_lines(
        self, app: str, statements: Sequence[cst.CSTNode], where: str
    ) -> list[cst.SimpleStatementLine]:
        lines = []
        what = []
        has_middleware = _adds_middleware(statements, app)
        if not has_middleware:
            lines.append(_marked(f"{app}.add_middleware({self.binding}.ErrorMiddleware)"))
            what.append("ErrorMiddleware")
        # An app that has the middleware in a repository that calls install() elsewhere (at
        # start-up, like a service rendered from the template) is wired.
        installed = _calls_install(_not_defs(statements), self.ctx.installers) or (
            has_middleware and self.ctx.repo_installs
        )
        if not installed:
            lines.append(_marked(f"{self.binding}.install()"))
            what.append("install()")
        if lines:
            self.plan.changes.append(f"{' + '.join(what)} after `{app} = ...` ({where})")
        else:
            self.plan.already.append(f"`{app}` ({where})")
        return lines

    def wire_factory(self, func: cst.FunctionDef) -> cst.FunctionDef:
        if not isinstance(func.body, cst.IndentedBlock):
            return func
        body = list(func.body.body)
        for index, stmt in enumerate(body):
            app = _app_assignment(stmt)
            if app is None:
                continue
            self.handled.add(id(stmt))
            lines = self.app_lines(app, body, f"factory {func.name.value}()")
            if lines:
                body[index + 1 : index + 1] = lines
                func = func.with_changes(body=func.body.with_changes(body=body))
            return func
        module = self.ctx.errutil_module
        for stmt in body:
            small = stmt.body[0] if isinstance(stmt, cst.SimpleStatementLine) else None
            if isinstance(small, cst.Return) and _is_app_call(small.value):
                self.manual(
                    stmt,
                    f"factory {func.name.value}()",
                    "it returns the app without naming it",
                    f"app = ...; app.add_middleware({module}.ErrorMiddleware); "
                    f"{module}.install(); return app",
                )
        return func

    def wire_main_guard(self, stmt: cst.If) -> cst.If:
        statements = _body_statements(stmt.body)
        called = {_dotted(call.func).rpartition(".")[2] for s in statements for call in _calls(s)}
        if (
            self.module_installs
            or _calls_install(statements, self.ctx.installers)
            or called & self.ctx.installers
        ):
            self.plan.already.append(f'`if __name__ == "__main__":` (line {self.line(stmt)})')
            return stmt
        self.plan.changes.append('install() at the start of `if __name__ == "__main__":`')
        return stmt.with_changes(
            body=self._insert(stmt.body, 0, [_marked(f"{self.binding}.install()")])
        )

    def run(self) -> FilePlan:
        body: list[cst.CSTNode] = []
        top = list(self.module.body)
        for stmt in top:
            new: cst.CSTNode = stmt
            extra: list[cst.SimpleStatementLine] = []
            if isinstance(stmt, cst.FunctionDef):
                script = self.ctx.script_functions.get(stmt.name.value)
                if script is not None:
                    new = self.wire_function(stmt, f"console script `{script.name}`")
                new = self.wire_factory(new) if isinstance(new, cst.FunctionDef) else new
            elif _is_main_guard(stmt):
                assert isinstance(stmt, cst.If)
                new = self.wire_main_guard(stmt)
            else:
                app = _app_assignment(stmt)
                if app is not None:
                    self.handled.add(id(stmt))
                    extra = self.app_lines(app, top, f"line {self.line(stmt)}")
                    self.module_installs = True
            body.append(new)
            body.extend(extra)
        self.report_unhandled_apps()
        for name in sorted(set(self.ctx.script_functions) - self.defined_functions()):
            script = self.ctx.script_functions[name]
            self.manual(
                None,
                f"console script `{script.name}` ({script.target})",
                f"`{name}` is not a function defined with `def` at the top of the module",
                f"{self.ctx.errutil_module}.install()  # at the start of what `{name}` runs",
            )
        if self.plan.changes:
            if self.needs_import:
                alias = "" if self.binding == self.ctx.errutil_module else f" as {self.binding}"
                imp = _marked(f"from {self.ctx.package} import {self.ctx.errutil_module}{alias}")
                if alias or not _merge_import(
                    body, self.ctx.package, self.ctx.errutil_module, self.module
                ):
                    _insert_import(body, imp, self.ctx.package, self.ctx.errutil_module)
                self.plan.changes.insert(0, f"import {self.binding}")
            self.plan.new = self.module.with_changes(body=body).code
        return self.plan

    def defined_functions(self) -> set[str]:
        return {s.name.value for s in self.module.body if isinstance(s, cst.FunctionDef)}

    def report_unhandled_apps(self) -> None:
        for stmt in m.findall(self.module, m.SimpleStatementLine()):
            app = _app_assignment(stmt)
            if app is not None and id(stmt) not in self.handled:
                code = (
                    f"{app}.add_middleware({self.ctx.errutil_module}.ErrorMiddleware); "
                    f"{self.ctx.errutil_module}.install()"
                )
                self.manual(stmt, f"`{app} = ...`", "the app is built inside a block", code)


# --- Planning the repository ---------------------------------------------------------------------


def _python_files(layout: RepoLayout, skip: Sequence[Path]) -> list[Path]:
    files = [
        path
        for path in sorted(layout.package_dir.rglob("*.py"))
        if not (_SKIP_DIRS & set(path.parts)) and not any(path.is_relative_to(s) for s in skip)
    ]
    files += [
        path
        for path in sorted(layout.root.glob("*.py"))
        if path.name not in _NOT_ENTRY_FILES and path not in files
    ]
    for script in layout.scripts:
        path = layout.module_file(script.module) if script.function else None
        if path is not None and path not in files:
            files.append(path)
    return files


def _module_parts(layout: RepoLayout, path: Path) -> list[str]:
    """`src/pkg/sub/mod.py` -> ["pkg", "sub", "mod"]; a file outside the package -> [stem]."""
    base = layout.package_dir.parent
    if path.is_relative_to(base):
        return list(path.relative_to(base).with_suffix("").parts)
    return [path.stem]


def plan_wiring(layout: RepoLayout, errutil_module: str) -> tuple[list[FilePlan], list[Manual]]:
    """Plan every edit (nothing is written): per-file plans, and scripts that cannot be found."""
    skip = [
        layout.package_dir / errutil_module,
        layout.package_dir / f"{errutil_module}.py",
        layout.root / layout.tests_dir,
    ]
    sources: dict[Path, str] = {}
    modules: dict[Path, cst.Module] = {}
    unparsable: list[Manual] = []
    for path in _python_files(layout, skip):
        try:
            # Bytes, not text mode: CRLF line endings are kept as they are.
            sources[path] = path.read_bytes().decode("utf-8")
            modules[path] = cst.parse_module(sources[path])
        except (UnicodeDecodeError, cst.ParserSyntaxError) as error:
            rel = path.relative_to(layout.root).as_posix()
            first = str(error).splitlines()[0] if str(error) else type(error).__name__
            unparsable.append(Manual(rel, 1, rel, f"it could not be parsed ({first})", ""))
            sources.pop(path, None)

    installers = find_installers(modules.values())
    repo_installs = bool(installers) or any(
        _is_install_call(call, set()) for module in modules.values() for call in _calls(module)
    )
    by_file: dict[Path, dict[str, ConsoleScript]] = {}
    problems: list[Manual] = []
    imp = f"from {layout.package_name} import {errutil_module}"
    for script in layout.scripts:
        found = layout.module_file(script.module) if script.function else None
        if found is None or found not in sources:
            problems.append(
                Manual(
                    "pyproject.toml",
                    1,
                    f"console script `{script.name}` ({script.module})",
                    "its module was not found in the repository"
                    if script.function
                    else "it is not a `module:function` reference",
                    f"{imp}; {errutil_module}.install()  # at the start of the entry function",
                )
            )
            continue
        if "." in script.function:
            problems.append(
                Manual(
                    found.relative_to(layout.root).as_posix(),
                    1,
                    f"console script `{script.name}` ({script.target})",
                    "it names an attribute, not a module-level function",
                    f"{imp}; {errutil_module}.install()  # at the start of {script.function}()",
                )
            )
            continue
        by_file.setdefault(found, {})[script.function] = script
        installers.add(script.function)

    plans = []
    for path in sources:
        ctx = _Context(
            package=layout.package_name,
            errutil_module=errutil_module,
            installers=installers,
            script_functions=by_file.get(path, {}),
            module_parts=_module_parts(layout, path),
            repo_installs=repo_installs,
        )
        rel = path.relative_to(layout.root).as_posix()
        plans.append(_FilePlanner(rel, sources[path], ctx).run())
    return plans, unparsable + problems
