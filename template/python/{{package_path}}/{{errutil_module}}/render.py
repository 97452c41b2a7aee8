"""Render a CrashReport as the short text form or as the dict of one JSON log line.

Pure functions over the records of ``_types``; at run time this module imports no other part
of errutil (the records' ``to_dict`` / ``text`` call down into it), so the dependencies go
one way: ``_types`` -> ``render``.
"""

from __future__ import annotations

import linecache

TYPE_CHECKING = False  # typing costs milliseconds of import time; mypy still reads this block
if TYPE_CHECKING:
    from ._types import CrashReport, ErrorInfo, Frame

__all__ = [
    "exception_attributes",
    "frame_dict",
    "info_dict",
    "report_dict",
    "report_text",
    "report_title",
    "standard_traceback",
]

_TEXT_CONTEXT_KEYS = ("thread", "task")


def frame_dict(frame: Frame) -> dict[str, object]:
    out: dict[str, object] = {"file": frame.file, "line": frame.line, "function": frame.function}
    if frame.library:
        out["library"] = True
    if frame.repeated > 1:
        out["repeated"] = frame.repeated
    return out


def info_dict(info: ErrorInfo) -> dict[str, object]:
    """error / stack / stack_hidden of one exception, with its cause and group leaves.

    The tree is at most a few dozen nodes (capped when it was built), so recursion is bounded.
    """
    stack: list[dict[str, object]] = []
    for frame in info.frames:  # frame_dict, inlined: a call per frame is most of the cost
        shown: dict[str, object] = {
            "file": frame.file,
            "line": frame.line,
            "function": frame.function,
        }
        if frame.library:
            shown["library"] = True
        if frame.repeated > 1:
            shown["repeated"] = frame.repeated
        stack.append(shown)
    out: dict[str, object] = {
        "error": {"type": info.type, "message": info.message},
        "stack": stack,
        "stack_hidden": info.hidden,
    }
    if info.leaves or info.leaves_hidden:
        out["exceptions"] = [info_dict(leaf) for leaf in info.leaves]
        out["exceptions_hidden"] = info.leaves_hidden
    if info.cause is not None:
        cause = info_dict(info.cause)
        if info.implicit:
            cause["implicit"] = True
        out["cause"] = cause
    return out


def report_dict(report: CrashReport) -> dict[str, object]:
    out: dict[str, object] = {"event": "crash", "level": "error", "error_id": report.error_id}
    out.update(info_dict(report.error))
    out["fingerprint"] = report.fingerprint
    out["origin"] = report.origin
    if report.http is not None:
        out["http"] = dict(report.http)
    for key, value in report.context.items():
        out.setdefault(key, value)
    if report.fallback is not None:
        out["traceback"] = report.fallback
    out.update(exception_attributes(report))
    return out


def exception_attributes(report: CrashReport) -> dict[str, str]:
    """OpenTelemetry's ``exception.type`` / ``exception.message`` / ``exception.stacktrace``.

    The stacktrace is the short stack in Python's own traceback format, so error trackers
    and log pipelines that parse standard tracebacks (GCP Error Reporting, Datadog, Loki's
    pattern parsers) group it; when errutil could not analyse the exception it is the
    standard traceback it fell back on.
    """
    info = report.error
    stacktrace = report.fallback if report.fallback is not None else standard_traceback(info)
    return {
        "exception.type": info.type,
        "exception.message": info.message,
        "exception.stacktrace": stacktrace,
    }


_CAUSE_LINE = "\nThe above exception was the direct cause of the following exception:\n"
_CONTEXT_LINE = "\nDuring handling of the above exception, another exception occurred:\n"


def standard_traceback(info: ErrorInfo) -> str:
    """The short stack as ``traceback.format_exception`` lays it out: causes first, each
    ``Traceback (most recent call last):``, its kept frames outermost first as
    ``  File "...", line N, in func``, a ``  [N library frames hidden]`` line, then
    ``Type: message``. Relative file names: no path of the machine leaves the process."""
    chain = [info]
    link = info
    while link.cause is not None:
        chain.append(link.cause)
        link = link.cause
    blocks: list[str] = []
    for position in range(len(chain) - 1, -1, -1):
        current = chain[position]
        if position < len(chain) - 1:
            blocks.append(_CONTEXT_LINE if chain[position].implicit else _CAUSE_LINE)
        blocks.append(_traceback_block(current))
    return "\n".join(blocks)


def _traceback_block(info: ErrorInfo) -> str:
    lines = ["Traceback (most recent call last):"] if info.frames or info.hidden else []
    for frame in reversed(info.frames):
        lines.append(f'  File "{frame.file}", line {frame.line}, in {frame.function}')
        if frame.repeated > 1:
            lines.append(f"  [Previous line repeated {frame.repeated - 1} more times]")
    if info.hidden:
        lines.append(f"  [{_hidden_line(info.hidden)[1:-1]}]")
    lines.append(_title(info, one_line=False))
    return "\n".join(lines)


def _one_line(text: str) -> str:
    return (
        text.replace("\r", "\\r").replace("\n", "\\n") if ("\n" in text or "\r" in text) else text
    )


def _title(info: ErrorInfo, *, one_line: bool = True) -> str:
    message = _one_line(info.message) if one_line else info.message
    return f"{info.type}: {message}" if message else info.type


def _frame_line(frame: Frame, *, source: bool) -> str:
    line = f"at {frame.file}:{frame.line} in {frame.function}"
    if frame.library:
        line += " [library]"
    if frame.repeated > 1:
        line += f"  (repeated {frame.repeated} times)"
    if source:
        code = _source_line(frame)
        if code:
            line += f"  | {code}"
    return line


def _source_line(frame: Frame) -> str:
    try:
        return linecache.getline(frame.path, frame.line).strip()
    except Exception:  # unreadable or undecodable source: the location is enough
        return ""


def _hidden_line(count: int) -> str:
    return f"({count} library frame{'' if count == 1 else 's'} hidden)"


def report_text(report: CrashReport, *, show_id: bool = True, source: bool = False) -> str:
    """The short form: title, kept frames innermost first, hidden count, leaves, causes.

    *source* adds each frame's source line (for test failures); *show_id* the error_id tag.
    """
    if report.fallback is not None:
        return report.fallback
    info = report.error
    lines = [report_title(report, show_id=show_id, one_line=not source)]
    lines += ["  " + _frame_line(f, source=source) for f in info.frames]
    if info.hidden:
        lines.append("  " + _hidden_line(info.hidden))
    _leaf_lines(info, lines)
    link = info
    while link.cause is not None:
        verb = "while handling" if link.implicit else "caused by"
        link = link.cause
        lines.append(f"  {verb} {_title(link)}{_at(link)}")
    return "\n".join(lines)


def report_title(report: CrashReport, *, show_id: bool = True, one_line: bool = True) -> str:
    """The first line: ``Type: message  [error_id=... thread=...]`` (also of a one-line record)."""
    tags = [f"error_id={report.error_id}"] if show_id else []
    tags += [f"{key}={report.context[key]}" for key in _TEXT_CONTEXT_KEYS if key in report.context]
    title = _title(report.error, one_line=one_line)
    return f"{title}  [{' '.join(tags)}]" if tags else title


def _at(info: ErrorInfo) -> str:
    site = info.raise_site
    return f"  {_frame_line(site, source=False)}" if site is not None else ""


def _leaf_lines(info: ErrorInfo, lines: list[str]) -> None:
    """ExceptionGroup leaves, one line each (title and raise site), nested groups indented."""
    pending: list[tuple[ErrorInfo | int, str, int]] = []
    _push_leaves(info, "", 1, pending)
    while pending:
        item, label, depth = pending.pop()
        indent = "  " * depth
        if isinstance(item, int):
            lines.append(f"{indent}(+{item} more sub-exceptions)")
            continue
        lines.append(f"{indent}[{label}] {_title(item)}{_at(item)}")
        _push_leaves(item, label, depth + 1, pending)


def _push_leaves(
    group: ErrorInfo, label: str, depth: int, pending: list[tuple[ErrorInfo | int, str, int]]
) -> None:
    entries: list[tuple[ErrorInfo | int, str, int]] = [
        (leaf, f"{label}.{number}" if label else str(number), depth)
        for number, leaf in enumerate(group.leaves, start=1)
    ]
    if group.leaves_hidden:
        entries.append((group.leaves_hidden, "", depth))
    pending.extend(reversed(entries))
