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

from collections.abc import Sequence
from dataclasses import dataclass, field

import libcst as cst
import libcst.matchers as m
from libcst.metadata import MetadataWrapper, PositionProvider

from .detect import ConsoleScript
from .imports import MARKER, import_source, insert_import, marked, merge_import
from .recognise import (
    app_assignment,
    app_kind,
    body_statements,
    bound_names,
    calls,
    calls_install,
    docstring_count,
    dotted,
    is_main_guard,
    is_wsgi_callable,
    not_defs,
    wires_app,
    wiring_line,
)

__all__ = ["MARKER", "FilePlan", "Manual", "WireContext", "plan_file"]

_WIRING_NAMES = {
    "asgi": "ErrorMiddleware",
    "flask": "init_flask()",
    "wsgi": "WSGIMiddleware",
    "django-wsgi": "WSGIMiddleware",
}

# Hooks errutil.install() sets: an app that sets one itself needs a person to decide.
_HOOKS = frozenset({"sys.excepthook", "threading.excepthook", "sys.unraisablehook"})


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
    encoding: str = "utf-8"  # the file's own (PEP 263 cookie or BOM): written back the same way
    changes: list[str] = field(default_factory=list)
    already: list[str] = field(default_factory=list)
    manual: list[Manual] = field(default_factory=list)
    apps: set[str] = field(default_factory=set)  # app objects (and factories) wired here
    factories: set[str] = field(default_factory=set)  # functions that build a wired app

    @property
    def changed(self) -> bool:
        return self.old != self.new


# --- Recognising code ------------------------------------------------------------------------


@dataclass
class WireContext:
    package: str
    errutil_module: str
    installers: set[str]
    script_functions: dict[str, ConsoleScript]
    module_parts: list[str]
    repo_installs: bool
    # Names of plain WSGI callables a server is pointed at (`application` and `app` always).
    wsgi_names: frozenset[str] = frozenset({"application", "app"})
    django: bool = False  # a Django settings module: MIDDLEWARE gets DjangoMiddleware
    line_length: int = 88  # the repository's: a merged import longer than this is wrapped


def _binding(module: cst.Module, ctx: WireContext) -> tuple[str, bool]:
    """The name errutil is bound to in `module`, and whether the import must be added."""
    for stmt in module.body:
        if not isinstance(stmt, cst.SimpleStatementLine):
            continue
        for small in stmt.body:
            if not isinstance(small, cst.ImportFrom) or isinstance(small.names, cst.ImportStar):
                continue
            if import_source(small, ctx.module_parts) != ctx.package:
                continue
            for alias in small.names:
                if dotted(alias.name) == ctx.errutil_module:
                    bound = alias.asname.name if alias.asname else alias.name
                    if isinstance(bound, cst.Name):
                        return bound.value, False
    if ctx.errutil_module not in bound_names(module):
        return ctx.errutil_module, True
    return f"{ctx.package}_{ctx.errutil_module}", True


class _FilePlanner:
    def __init__(self, path: str, source: str, ctx: WireContext) -> None:
        self.path = path
        self.ctx = ctx
        self.wrapper = MetadataWrapper(cst.parse_module(source))
        self.module = self.wrapper.module
        self.positions = self.wrapper.resolve(PositionProvider)
        self.binding, self.needs_import = _binding(self.module, ctx)
        self.plan = FilePlan(path=path, old=source, new=source)
        self.handled: set[int] = set()
        self.binding_used = False
        # install() already runs at import time, so a `__main__` block needs nothing more.
        self.module_installs = calls_install(not_defs(self.module.body), ctx.installers)

    def uses(self, code: str) -> cst.SimpleStatementLine:
        """A marked line of *code* that names errutil's binding (so the file needs the import)."""
        self.binding_used = True
        return marked(code)

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
        if calls_install(body_statements(func.body), self.ctx.installers):
            self.plan.already.append(f"{func.name.value}() ({why})")
            return func
        if isinstance(func.body, cst.SimpleStatementSuite):
            self.manual(
                func, f"{func.name.value}() ({why})", "its body is on the def line", install
            )
            return func
        index = docstring_count(func.body.body)
        self.plan.changes.append(f"install() at the start of {func.name.value}() ({why})")
        return func.with_changes(body=self._insert(func.body, index, [self.uses(install)]))

    def app_lines(
        self, app: str, kind: str, statements: Sequence[cst.CSTNode], where: str
    ) -> list[cst.SimpleStatementLine]:
        """The lines to add after `app = ...` (an app of *kind*): errutil's wiring, install()."""
        lines = []
        what = []
        self.plan.apps.add(app)
        wired = wires_app(statements, app, kind)
        if not wired:
            lines.append(self.uses(wiring_line(app, kind, self.binding)))
            what.append(_WIRING_NAMES[kind])
        # An app that is wired in a repository that calls install() elsewhere (at start-up,
        # like a service rendered from the template) needs nothing more.
        installed = calls_install(not_defs(statements), self.ctx.installers) or (
            wired and kind != "django-asgi" and self.ctx.repo_installs
        )
        if not installed:
            lines.append(self.uses(f"{self.binding}.install()"))
            what.append("install()")
        if lines:
            self.plan.changes.append(f"{' + '.join(what)} after `{app} = ...` ({where})")
        else:
            self.plan.already.append(f"`{app}` ({where})")
        return lines

    def instruction(self, app: str, kind: str) -> str:
        """The line(s) a person adds by hand for an app of *kind* named *app*."""
        module = self.ctx.errutil_module
        if kind == "django-asgi":
            return f"{module}.install()"
        return f"{wiring_line(app, kind, module)}; {module}.install()"

    def wire_factory(self, func: cst.FunctionDef) -> cst.FunctionDef:
        if not isinstance(func.body, cst.IndentedBlock):
            return func
        body = list(func.body.body)
        for index, stmt in enumerate(body):
            found = app_assignment(stmt)
            if found is None:
                continue
            app, kind = found
            self.handled.add(id(stmt))
            self.plan.apps.add(func.name.value)
            self.plan.factories.add(func.name.value)
            lines = self.app_lines(app, kind, body, f"factory {func.name.value}()")
            if lines:
                body[index + 1 : index + 1] = lines
                func = func.with_changes(body=func.body.with_changes(body=body))
            return func
        for index, stmt in enumerate(body):
            small = stmt.body[0] if isinstance(stmt, cst.SimpleStatementLine) else None
            returned = app_kind(small.value) if isinstance(small, cst.Return) else None
            if (
                isinstance(small, cst.Return)
                and isinstance(small.value, cst.Call)
                and dotted(small.value.func).endswith("init_flask")
            ):
                self.plan.apps.add(func.name.value)
                self.plan.factories.add(func.name.value)
                self.plan.already.append(f"the app {func.name.value}() returns")
                return func
            if (
                returned == "flask"
                and isinstance(small, cst.Return)
                and small.value is not None
                and isinstance(stmt, cst.SimpleStatementLine)
                and stmt.trailing_whitespace.comment is None
            ):
                return self.wrap_returned_flask(func, body, index, stmt, small)
            if returned is not None:
                self.manual(
                    stmt,
                    f"factory {func.name.value}()",
                    "it returns the app without naming it",
                    f"app = ...; {self.instruction('app', returned)}; return app",
                )
        return func

    def wrap_returned_flask(
        self,
        func: cst.FunctionDef,
        body: list[cst.BaseStatement],
        index: int,
        stmt: cst.SimpleStatementLine,
        small: cst.Return,
    ) -> cst.FunctionDef:
        """`return Flask(...)`: init_flask returns the app, so it can wrap the call."""
        assert small.value is not None
        self.plan.apps.add(func.name.value)
        self.plan.factories.add(func.name.value)
        call = cst.parse_expression(f"{self.binding}.init_flask(x)")
        assert isinstance(call, cst.Call)
        wrapped = call.with_changes(args=[cst.Arg(small.value)])
        self.binding_used = True
        body[index] = stmt.with_changes(
            body=[small.with_changes(value=wrapped)],
            trailing_whitespace=cst.TrailingWhitespace(
                whitespace=cst.SimpleWhitespace("  "),
                comment=cst.Comment(MARKER),
                newline=cst.Newline(),
            ),
        )
        what = "init_flask()"
        if not calls_install(not_defs(body), self.ctx.installers):
            body.insert(index, self.uses(f"{self.binding}.install()"))
            what += " + install()"
        self.plan.changes.append(f"{what} around the app {func.name.value}() returns")
        return func.with_changes(body=func.body.with_changes(body=body))

    def wire_wsgi_callable(self, func: cst.FunctionDef) -> list[cst.SimpleStatementLine]:
        """`def application(environ, start_response)`: wrapped right after the def."""
        name = func.name.value
        return self.app_lines(name, "wsgi", self.module.body, f"WSGI callable {name}()")

    def wire_main_guard(self, stmt: cst.If) -> cst.If:
        statements = body_statements(stmt.body)
        called = {dotted(call.func).rpartition(".")[2] for s in statements for call in calls(s)}
        if (
            self.module_installs
            or calls_install(statements, self.ctx.installers)
            or called & self.ctx.installers
        ):
            self.plan.already.append(f'`if __name__ == "__main__":` (line {self.line(stmt)})')
            return stmt
        self.plan.changes.append('install() at the start of `if __name__ == "__main__":`')
        return stmt.with_changes(
            body=self._insert(stmt.body, 0, [self.uses(f"{self.binding}.install()")])
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
                if is_wsgi_callable(stmt) and stmt.name.value in self.ctx.wsgi_names:
                    extra = self.wire_wsgi_callable(stmt)
                    self.module_installs = True
            elif is_main_guard(stmt):
                assert isinstance(stmt, cst.If)
                new = self.wire_main_guard(stmt)
            else:
                found = app_assignment(stmt)
                if found is not None:
                    self.handled.add(id(stmt))
                    extra = self.app_lines(*found, top, f"line {self.line(stmt)}")
                    self.module_installs = True
                new = self.wire_django_middleware(stmt)
            body.append(new)
            if extra and isinstance(stmt, cst.FunctionDef):  # two blank lines after a def
                extra[0] = extra[0].with_changes(leading_lines=[cst.EmptyLine(), cst.EmptyLine()])
            body.extend(extra)
        self.report_unhandled_apps()
        self.report_own_excepthooks()
        for name in sorted(set(self.ctx.script_functions) - self.defined_functions()):
            script = self.ctx.script_functions[name]
            self.manual(
                None,
                f"console script `{script.name}` ({script.target})",
                f"`{name}` is not a function defined with `def` at the top of the module",
                f"{self.ctx.errutil_module}.install()  # at the start of what `{name}` runs",
            )
        if self.plan.changes:
            if self.needs_import and self.binding_used:
                alias = "" if self.binding == self.ctx.errutil_module else f" as {self.binding}"
                imp = marked(f"from {self.ctx.package} import {self.ctx.errutil_module}{alias}")
                if alias or not merge_import(
                    body,
                    self.ctx.package,
                    self.ctx.errutil_module,
                    self.module,
                    self.ctx.line_length,
                ):
                    insert_import(body, imp, self.ctx.package, self.ctx.errutil_module)
                self.plan.changes.insert(0, f"import {self.binding}")
            self.plan.new = self.module.with_changes(body=body).code
        return self.plan

    def defined_functions(self) -> set[str]:
        return {s.name.value for s in self.module.body if isinstance(s, cst.FunctionDef)}

    def report_own_excepthooks(self) -> None:
        """`sys.excepthook = ...` in the app: whichever hook is set last silently wins.

        Putting back a hook saved earlier (`saved = sys.excepthook` ... `sys.excepthook = saved`)
        is a restore, not a hook of the app's own, and is left alone.
        """
        saved: set[str] = set()
        assigns = [a for a in m.findall(self.module, m.Assign()) if isinstance(a, cst.Assign)]
        for assign in assigns:
            if dotted(assign.value) in _HOOKS:
                saved |= {dotted(t.target) for t in assign.targets}
        for assign in assigns:
            target = assign.targets[0]
            name = dotted(target.target)
            if name not in _HOOKS or dotted(assign.value) in saved:
                continue
            module = self.ctx.errutil_module
            self.plan.manual.append(
                Manual(
                    self.path,
                    self.line(target),
                    f"`{name} = ...`",
                    "the repository sets its own hook: the one set last silently replaces the "
                    "other, so errutil cannot be wired here by itself",
                    f"remove the assignment and let `{module}.install()` report crashes, or "
                    f"call `{module}.log_exception(exc)` from your hook",
                )
            )

    def report_unhandled_apps(self) -> None:
        for stmt in m.findall(self.module, m.SimpleStatementLine()):
            found = app_assignment(stmt)
            if found is not None and id(stmt) not in self.handled:
                app, kind = found
                self.manual(
                    stmt,
                    f"`{app} = ...`",
                    "the app is built inside a block",
                    self.instruction(app, kind),
                )

    def wire_django_middleware(self, stmt: cst.CSTNode) -> cst.CSTNode:
        """`MIDDLEWARE = [...]` in Django settings: errutil's DjangoMiddleware goes first."""
        if not self.ctx.django or not isinstance(stmt, cst.SimpleStatementLine):
            return stmt
        small = stmt.body[0]
        if not (
            isinstance(small, cst.Assign)
            and len(small.targets) == 1
            and dotted(small.targets[0].target) == "MIDDLEWARE"
            and isinstance(small.value, cst.List | cst.Tuple)
        ):
            return stmt
        entry = f"{self.ctx.package}.{self.ctx.errutil_module}.DjangoMiddleware"
        listed = small.value
        strings = [
            e.value.evaluated_value
            for e in listed.elements
            if isinstance(e.value, cst.SimpleString)
        ]
        if entry in strings:
            self.plan.already.append(f"`MIDDLEWARE` (line {self.line(stmt)})")
            return stmt
        opening = listed.lbracket if isinstance(listed, cst.List) else None
        layout = opening.whitespace_after if opening is not None else None
        if not listed.elements or not isinstance(layout, cst.ParenthesizedWhitespace):
            self.manual(
                stmt,
                "`MIDDLEWARE`",
                "it is not a list written one entry a line",
                f'MIDDLEWARE = ["{entry}", ...]  # first, so it sees every crash',
            )
            return stmt
        marker = cst.TrailingWhitespace(
            whitespace=cst.SimpleWhitespace("  "),
            comment=cst.Comment(MARKER),
            newline=cst.Newline(),
        )
        first = cst.Element(
            value=cst.SimpleString(f'"{entry}"'),
            comma=cst.Comma(whitespace_after=layout.with_changes(first_line=marker)),
        )
        self.plan.changes.append(f"DjangoMiddleware first in `MIDDLEWARE` (line {self.line(stmt)})")
        new_list = listed.with_changes(elements=[first, *listed.elements])
        return stmt.with_changes(body=[small.with_changes(value=new_list)])


# --- Planning the repository ---------------------------------------------------------------------


def plan_file(path: str, source: str, ctx: WireContext, encoding: str = "utf-8") -> FilePlan:
    """What wiring errutil into one file's entry points changes (nothing is written)."""
    plan = _FilePlanner(path, source, ctx).run()
    plan.encoding = encoding
    return plan
