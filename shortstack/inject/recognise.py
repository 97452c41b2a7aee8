"""Recognising code: small pure predicates over libcst nodes (what is an app, a guard, an install).

Each answers one question about the repository's code and changes nothing, so each can be tested
alone and the planner reads as a list of decisions.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

import libcst as cst
import libcst.matchers as m

__all__ = [
    "APP_KINDS",
    "adds_middleware",
    "app_assignment",
    "app_kind",
    "body_statements",
    "bound_names",
    "calls",
    "calls_install",
    "docstring_count",
    "dotted",
    "errutil_installs",
    "find_installers",
    "is_app_call",
    "is_django_settings",
    "is_install_call",
    "is_main_guard",
    "is_wsgi_callable",
    "not_defs",
    "wires_app",
    "wiring_line",
]

# What builds an app, by the last part of the called name, and what kind of app it is.
APP_KINDS = {
    "FastAPI": "asgi",
    "Starlette": "asgi",
    "Flask": "flask",
    "get_wsgi_application": "django-wsgi",
    "get_asgi_application": "django-asgi",
}
# The parameters of a plain WSGI callable: `def application(environ, start_response)`.
_WSGI_PARAMS = ("environ", "start_response")


def dotted(node: cst.BaseExpression) -> str:
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        base = dotted(node.value)
        return f"{base}.{node.attr.value}" if base else ""
    return ""


def app_kind(node: cst.BaseExpression | None) -> str | None:
    """The kind of app a call builds (`FastAPI()` -> "asgi", `Flask()` -> "flask"), else None."""
    if not isinstance(node, cst.Call):
        return None
    return APP_KINDS.get(dotted(node.func).rpartition(".")[2])


def is_app_call(node: cst.BaseExpression | None) -> bool:
    return app_kind(node) is not None


def app_assignment(stmt: cst.CSTNode) -> tuple[str, str] | None:
    """`name = FastAPI(...)` (or annotated) as one statement line: (name, kind), else None."""
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
    kind = app_kind(value)
    if isinstance(target, cst.Name) and kind is not None:
        return target.value, kind
    return None


def is_django_settings(module: cst.Module) -> bool:
    """A module that sets `MIDDLEWARE` to a list naming Django's own middleware."""
    for stmt in module.body:
        if not isinstance(stmt, cst.SimpleStatementLine):
            continue
        for small in stmt.body:
            if (
                isinstance(small, cst.Assign)
                and any(dotted(t.target) == "MIDDLEWARE" for t in small.targets)
                and isinstance(small.value, cst.List | cst.Tuple)
            ):
                return any(
                    isinstance(e.value, cst.SimpleString)
                    and str(e.value.evaluated_value).startswith("django.")
                    for e in small.value.elements
                )
    return False


def is_wsgi_callable(stmt: cst.CSTNode) -> bool:
    """`def application(environ, start_response):` (any name): a plain WSGI app."""
    if not isinstance(stmt, cst.FunctionDef) or stmt.asynchronous is not None:
        return False
    names = tuple(param.name.value for param in stmt.params.params)
    return names == _WSGI_PARAMS


def is_main_guard(stmt: cst.CSTNode) -> bool:
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


def calls(node: cst.CSTNode) -> Iterator[cst.Call]:
    for call in m.findall(node, m.Call()):
        if isinstance(call, cst.Call):
            yield call


def is_install_call(call: cst.Call, installers: set[str]) -> bool:
    """`errutil.install()`, `<alias>.install()` (an alias is in *installers* as `eu.install`),
    or a call of one of the repository's own functions that installs it."""
    name = dotted(call.func)
    if name.endswith(".install") and "errutil" in name:
        return True
    return bool(name) and (name in installers or name.rpartition(".")[2] in installers)


def errutil_installs(modules: Iterable[cst.Module], errutil_module: str) -> set[str]:
    """`<name>.install` for every name errutil's module is bound to by an import (`as eu`)."""
    found = {f"{errutil_module}.install"}
    for module in modules:
        for alias in m.findall(module, m.ImportAlias()):
            if not isinstance(alias, cst.ImportAlias) or alias.asname is None:
                continue
            if dotted(alias.name).rpartition(".")[2] == errutil_module and isinstance(
                alias.asname.name, cst.Name
            ):
                found.add(f"{alias.asname.name.value}.install")
    return found


def calls_install(statements: Iterable[cst.CSTNode], installers: set[str]) -> bool:
    return any(is_install_call(call, installers) for s in statements for call in calls(s))


def adds_middleware(statements: Iterable[cst.CSTNode], app: str) -> bool:
    """`app.add_middleware(...ErrorMiddleware...)` or `ErrorMiddleware(app)` among `statements`."""
    for statement in statements:
        for call in calls(statement):
            name = dotted(call.func)
            first = dotted(call.args[0].value) if call.args else ""
            if name == f"{app}.add_middleware" and first.endswith("ErrorMiddleware"):
                return True
            if name.endswith("ErrorMiddleware") and first == app:
                return True
    return False


def _calls_with(statements: Iterable[cst.CSTNode], suffix: str, app: str) -> bool:
    """A call of `...<suffix>(app, ...)` among *statements*."""
    for statement in statements:
        for call in calls(statement):
            first = dotted(call.args[0].value) if call.args else ""
            if dotted(call.func).endswith(suffix) and first == app:
                return True
    return False


def wires_app(statements: Sequence[cst.CSTNode], app: str, kind: str) -> bool:
    """Whether *statements* already hand the app *app* of *kind* to errutil."""
    if kind == "flask":
        return _calls_with(statements, "init_flask", app)
    if kind == "django-asgi":
        return True  # DjangoMiddleware (in the settings) reports its crashes; install() is all
    if kind in ("wsgi", "django-wsgi"):
        return _calls_with(statements, "WSGIMiddleware", app)
    return adds_middleware(statements, app)


def wiring_line(app: str, kind: str, errutil: str) -> str:
    """The line that hands *app* to errutil (bound as *errutil*), by the kind of app."""
    if kind == "flask":
        return f"{errutil}.init_flask({app})"
    if kind in ("wsgi", "django-wsgi"):
        return f"{app} = {errutil}.WSGIMiddleware({app})"
    return f"{app}.add_middleware({errutil}.ErrorMiddleware)"


def not_defs(statements: Iterable[cst.CSTNode]) -> list[cst.CSTNode]:
    """Statements that run when their block runs (not the bodies of defs and classes)."""
    return [s for s in statements if not isinstance(s, cst.FunctionDef | cst.ClassDef)]


def body_statements(node: cst.BaseSuite) -> Sequence[cst.CSTNode]:
    if isinstance(node, cst.IndentedBlock):
        return node.body
    return [node]


def docstring_count(body: Sequence[cst.CSTNode]) -> int:
    if body and m.matches(
        body[0],
        m.SimpleStatementLine(body=[m.Expr(value=m.SimpleString() | m.ConcatenatedString())]),
    ):
        return 1
    return 0


def bound_names(module: cst.Module) -> set[str]:
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
                    names.add(dotted(node.name).partition(".")[0])
            elif isinstance(node, cst.AssignTarget | cst.AnnAssign) and isinstance(
                node.target, cst.Name
            ):
                names.add(node.target.value)
    return names


def find_installers(modules: Iterable[cst.Module], known: Iterable[str] = ()) -> set[str]:
    """Names of the repository's functions that call errutil's install(), directly or not
    (*known*: the `<alias>.install` names that count as errutil's, kept in the result)."""
    functions: list[cst.FunctionDef] = []
    for module in modules:
        functions += [
            f for f in m.findall(module, m.FunctionDef()) if isinstance(f, cst.FunctionDef)
        ]
    installers: set[str] = set(known)
    while True:
        found = {
            f.name.value
            for f in functions
            if f.name.value not in installers and calls_install(body_statements(f.body), installers)
        }
        if not found:
            return installers
        installers |= found
