"""Import placement: add `from <package> import errutil` where isort (and ruff's I001) would.

A separate line where isort would merge, or a line in the wrong block, turns the repository's
own import lint red; so the import joins an existing `from <package> import ...` line or goes
where isort sorts it, and every line we add carries MARKER.
"""

from __future__ import annotations

from collections.abc import Sequence

import libcst as cst

from .recognise import docstring_count, dotted

__all__ = [
    "DEFAULT_LINE_LENGTH",
    "MARKER",
    "import_line",
    "import_source",
    "insert_import",
    "marked",
    "merge_import",
]

MARKER = "# errutil: wired"


def marked(code: str) -> cst.SimpleStatementLine:
    statement = cst.parse_statement(f"{code}  {MARKER}\n")
    assert isinstance(statement, cst.SimpleStatementLine)
    return statement


def import_source(node: cst.ImportFrom, module_parts: Sequence[str]) -> str | None:
    """The absolute module an ImportFrom reads from, given the importing module's dotted parts."""
    base = dotted(node.module) if node.module is not None else ""
    level = len(node.relative)
    if level == 0:
        return base
    parent = list(module_parts[:-1])  # the package of `mod.py` and of `__init__.py` alike
    if level > len(parent):
        return None
    parent = parent[: len(parent) - (level - 1)]
    return ".".join([*parent, base] if base else parent)


def import_line(stmt: cst.CSTNode) -> cst.Import | cst.ImportFrom | None:
    if (
        isinstance(stmt, cst.SimpleStatementLine)
        and len(stmt.body) == 1
        and isinstance(stmt.body[0], cst.Import | cst.ImportFrom)
    ):
        return stmt.body[0]
    return None


def insert_import(
    body: list[cst.CSTNode], line: cst.SimpleStatementLine, package: str, module_name: str
) -> None:
    """Insert `line` (`from <package> import ...`) where isort would put it, if it can tell."""
    start = docstring_count(body)
    block: list[int] = []  # indexes of the leading run of import lines
    for position in range(start, len(body)):
        if import_line(body[position]) is not None:
            block.append(position)
        elif block or not isinstance(body[position], cst.SimpleStatementLine):
            break
    if not block:
        blank = [cst.EmptyLine()] if start else []
        body.insert(start, line.with_changes(leading_lines=blank))
        if start + 1 < len(body):
            _space_after_imports(body, start + 1)
        return

    def source(position: int) -> tuple[int, str]:
        node = import_line(body[position])
        if isinstance(node, cst.ImportFrom):
            return len(node.relative), dotted(node.module) if node.module else ""
        assert isinstance(node, cst.Import)
        return 0, dotted(node.names[0].name)

    own = [p for p in block if source(p)[0] == 0 and source(p)[1].split(".")[0] == package]
    own_from = [p for p in own if isinstance(import_line(body[p]), cst.ImportFrom)]
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


def _space_after_imports(body: list[cst.CSTNode], index: int) -> None:
    """The blank lines isort and the formatters want after imports: 2 before a def or class."""
    following = body[index]
    if not isinstance(following, cst.SimpleStatementLine | cst.BaseCompoundStatement):
        return
    wanted = 2 if isinstance(following, cst.FunctionDef | cst.ClassDef) else 1
    blank = sum(1 for line in following.leading_lines if line.comment is None)
    if blank < wanted:
        extra = [cst.EmptyLine()] * (wanted - blank)
        body[index] = following.with_changes(leading_lines=[*extra, *following.leading_lines])


# isort's default line length (black's and ruff's): a merged import longer than this is wrapped,
# unless the repository configures another.
DEFAULT_LINE_LENGTH = 88


def _isort_key(name: str) -> tuple[int, str, str]:
    """isort's order of the names of one `from` import: CONSTANTS, Classes, then the rest."""
    kind = 0 if name.isupper() and len(name) > 1 else 1 if name[:1].isupper() else 2
    return kind, name.lower(), name


def merge_import(
    body: list[cst.CSTNode],
    package: str,
    module_name: str,
    module: cst.Module,
    line_length: int = DEFAULT_LINE_LENGTH,
) -> bool:
    """Add `module_name` to an existing `from <package> import a, b` (isort would merge the
    two lines into one, so a separate line would fail the repository's import lint).

    A one-line import without a comment gets the name (and the marker) on its line, or is
    wrapped in parentheses, one name a line, when that line would be too long; a wrapped
    import with a trailing comma gets a line of its own inside the parentheses. Any other
    shape is left alone (False): the import is then added on a line of its own.
    """
    for index, stmt in enumerate(body):
        node = import_line(stmt)
        if (
            not isinstance(stmt, cst.SimpleStatementLine)
            or not isinstance(node, cst.ImportFrom)
            or node.relative
            or node.module is None
            or dotted(node.module) != package
            or isinstance(node.names, cst.ImportStar)
            or any(alias.asname is not None for alias in node.names)
        ):
            continue
        names = [dotted(alias.name) for alias in node.names]
        position = sum(_isort_key(name) < _isort_key(module_name) for name in names)
        if node.lpar is None:
            if stmt.trailing_whitespace.comment is not None:
                return False  # where their comment would go is isort's guess: not ours
            ordered = [*names[:position], module_name, *names[position:]]
            code = _one_line_or_wrapped(package, ordered, module_name, line_length)
            replacement = cst.parse_statement(code, config=module.config_for_parsing)
            body[index] = replacement.with_changes(leading_lines=stmt.leading_lines)
            return True
        merged = _merged_into_parentheses(node, position, module_name, module)
        if merged is None:
            return False  # `(a, b)` on one line, or no trailing comma: left alone
        body[index] = stmt.with_changes(body=[merged])
        return True
    return False


def _one_line_or_wrapped(package: str, ordered: list[str], added: str, line_length: int) -> str:
    """`from package import a, b` on one line, or wrapped one name a line when too long."""
    one_line = f"from {package} import {', '.join(ordered)}  {MARKER}"
    if len(one_line) <= line_length:
        return one_line + "\n"
    wrapped = [f"    {name},  {MARKER}" if name == added else f"    {name}," for name in ordered]
    return "\n".join([f"from {package} import (", *wrapped, ")"]) + "\n"


def _merged_into_parentheses(
    node: cst.ImportFrom, position: int, module_name: str, module: cst.Module
) -> cst.ImportFrom | None:
    """A wrapped import with a trailing comma, `module_name` on a line of its own at
    *position*; None for any other shape."""
    assert not isinstance(node.names, cst.ImportStar)
    aliases = list(node.names)
    last_comma = aliases[-1].comma
    if not isinstance(last_comma, cst.Comma) or not isinstance(
        last_comma.whitespace_after, cst.ParenthesizedWhitespace
    ):
        return None
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
            comma=last_comma.with_changes(whitespace_after=closing.with_changes(last_line=indent))
        )
        comma = last_comma.with_changes(whitespace_after=closing.with_changes(first_line=marked))
    else:
        comma = cst.Comma(
            whitespace_after=cst.ParenthesizedWhitespace(
                first_line=marked, indent=True, last_line=indent
            )
        )
    aliases.insert(position, cst.ImportAlias(name=cst.Name(module_name), comma=comma))
    return node.with_changes(names=aliases)


def _first_name(stmt: cst.CSTNode) -> str:
    node = import_line(stmt)
    if isinstance(node, cst.ImportFrom) and not isinstance(node.names, cst.ImportStar):
        return dotted(node.names[0].name)
    return ""
