"""Build a CrashReport from an exception: walk the stack once, keep the app's frames.

The walk is the hot path: per traceback entry it reads the frame's module name and looks
up a cached app/library decision; only kept frames pay for a file name and a Frame.
A stack seen before (the same code objects at the same lines: a crash repeated in a storm)
reuses the frames built the first time, from a small bounded cache.
Chains (``__cause__`` / ``__context__``) and ExceptionGroup leaves are walked with an
explicit stack and an ``id()`` set, so cycles and deep chains cannot recurse or loop.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from types import CodeType, FrameType, TracebackType

from . import _config
from ._types import CrashReport, ErrorInfo, Frame
from .classify import app_decisions, decide_app, display_file, module_name
from .ids import new_error_id
from .otel import trace_ids

TYPE_CHECKING = False  # typing costs milliseconds of import time; mypy still reads this block
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

__all__ = [
    "capture",
    "exception_type_name",
    "fingerprint",
    "forget_stacks",
    "redacted_message",
    "safe_message",
    "walk",
]

# ExceptionGroup exists from Python 3.11; on older ones no exception is a group.
_GROUP: type[BaseExceptionGroup[BaseException]] | None = getattr(
    builtins, "BaseExceptionGroup", None
)

_MAX_NODES = 64  # exceptions in one report, causes and group leaves together
_MAX_FRAMES = 200  # kept frames per exception after collapsing recursion
_MAX_PERIOD = 8  # longest cycle of frames recognised as recursion
_MIN_REPEATS = 3  # a cycle seen this often is collapsed
_CACHE_LIMIT = 256  # stacks (and fingerprints) remembered; emptied when full

_Kept = tuple[CodeType, int, str, bool]  # a kept frame: code, line, module name, is library
# Kept frames remembered, keyed by their code objects' id()s and instruction offsets: the
# code objects (held, so that the id()s in the key stay theirs), the frames built and the
# number cut by the cap.
_Walk = tuple[list[CodeType], tuple[Frame, ...], int]

# The packages the kept frames were chosen for, and the walks remembered for them.
_walks: tuple[tuple[str, ...], dict[tuple[int, ...], _Walk]] = ((), {})
_fingerprints: dict[str, str] = {}
_new_record = object.__new__  # a record without its __init__ (see _frames)
_sha256: Callable[[bytes], Any] | None = None


def capture(
    exc: BaseException,
    *,
    origin: str = "main",
    http: Mapping[str, object] | None = None,
    context: Mapping[str, str] | None = None,
    config: _config.Config | None = None,
) -> CrashReport:
    """Analyse *exc* into a CrashReport. Never raises for a real exception.

    *config*: the settings to analyse it with (app packages, caps, redaction); by default
    the ones in force (`configure`). If the analysis itself fails, the report carries the
    standard library's traceback (``fallback``), so the original exception is never lost.
    """
    if not isinstance(exc, BaseException):
        raise TypeError(f"capture() needs an exception, got {type(exc).__name__}")
    if config is None:
        config = _config.current()
    try:
        info = _build(exc, config)
        extra = dict(context) if context else {}
        extra.update(trace_ids())
        error_id = new_error_id()
        return CrashReport(info, error_id, fingerprint(info), origin, http=http, context=extra)
    except Exception as fault:
        return _fallback_report(exc, origin, http, context, fault, config=config)


def forget_stacks() -> None:
    """Empty the caches of walked stacks and fingerprints (the next crash is walked anew)."""
    global _walks  # noqa: PLW0603 - replaced whole, see _walks_for
    _walks = ((), {})
    _fingerprints.clear()


def _walks_for(packages: tuple[str, ...]) -> dict[tuple[int, ...], _Walk]:
    """The walks remembered for *packages*; other packages than last time get a new dict
    (not the old one emptied: a walk in another thread may still be using it)."""
    global _walks  # noqa: PLW0603 - one cache, for the packages last asked about
    cached_for, walks = _walks
    if packages is not cached_for and packages != cached_for:
        walks = {}
        _walks = (packages, walks)
    return walks


def exception_type_name(exc: BaseException) -> str:
    """``KeyError`` for builtins, ``json.decoder.JSONDecodeError`` otherwise (as traceback does)."""
    cls = type(exc)
    qualname = getattr(cls, "__qualname__", None)
    if not isinstance(qualname, str):
        qualname = "<unknown>"
    module = getattr(cls, "__module__", None)
    if not isinstance(module, str) or module in ("builtins", "__main__"):
        return qualname
    return f"{module}.{qualname}"


def safe_message(exc: BaseException, limit: int) -> str:
    """``str(exc)`` capped at *limit* characters (the cut is shown); survives a hostile __str__."""
    try:
        message = str(exc)
    except BaseException as fault:  # any failure of user code must be contained
        return f"<exception str() failed: {type(fault).__name__}>"
    if len(message) > limit:
        return f"{message[:limit]}... [message cut: {len(message)} chars]"
    return message


def fingerprint(info: ErrorInfo) -> str:
    """16 hex: the first 8 bytes of SHA-256 over ``type|file:function|...`` (kept frames,
    innermost first), then ``|[leafType@file:function]`` for each ExceptionGroup leaf, sorted.

    Line numbers and messages are left out, so one bug keeps one fingerprint across
    requests, restarts and unrelated edits; the leaves are sorted, so the order in which a
    TaskGroup's tasks failed does not matter. Go computes the same string (crash-report.md).
    """
    parts = [info.type]
    parts += [f"{f.file}:{f.function}" for f in info.frames]
    if info.leaves:
        parts += sorted(_leaf_key(leaf) for leaf in info.leaves)
    text = "|".join(parts)
    known = _fingerprints.get(text)
    if known is not None:
        return known
    digest: str = _hash(text.encode("utf-8", "replace"))[:16]
    if len(_fingerprints) >= _CACHE_LIMIT:
        _fingerprints.clear()
    _fingerprints[text] = digest
    return digest


def _hash(data: bytes) -> str:
    """SHA-256 in hex; hashlib is imported at the first crash, not with errutil (it loads
    OpenSSL, which costs milliseconds of every service's start-up)."""
    global _sha256  # noqa: PLW0603 - loaded once
    if _sha256 is None:
        from hashlib import sha256  # noqa: PLC0415 - see above

        _sha256 = sha256
    digest: str = _sha256(data).hexdigest()
    return digest


def _leaf_key(leaf: ErrorInfo) -> str:
    site = leaf.raise_site
    return f"[{leaf.type}@{site.file}:{site.function}]" if site else f"[{leaf.type}]"


def redacted_message(exc: BaseException, config: _config.Config) -> str:
    """The exception's message, capped, with secrets redacted (see redact.py)."""
    return config.redactor(safe_message(exc, config.max_message))


def _next_in_chain(exc: BaseException) -> tuple[BaseException | None, bool]:
    """The chained exception; a hostile ``__cause__`` / ``__context__`` ends the chain only."""
    try:
        cause = exc.__cause__
        if cause is not None:
            return cause, False
        if exc.__suppress_context__:
            return None, False
        return exc.__context__, True
    except Exception:  # a property that raises: keep the stack, drop the chain
        return None, False


def _build(root: BaseException, config: _config.Config) -> ErrorInfo:
    """The exception tree as ErrorInfo, built bottom-up from an explicit pre-order walk."""
    linked, _ = _next_in_chain(root)
    if (not isinstance(linked, BaseException) or config.max_chain < 1) and not (
        _GROUP is not None and isinstance(root, _GROUP)
    ):  # one exception, no cause and no leaves (most crashes): no tree to build
        frames, hidden = walk(root.__traceback__, config.app_packages)
        return ErrorInfo(exception_type_name(root), redacted_message(root, config), frames, hidden)
    seen: set[int] = set()
    # (exception, parent index, relation: "cause" | "context" | "leaf")
    nodes: list[tuple[BaseException, int, str]] = []
    leaves_hidden: dict[int, int] = {}
    pending: list[tuple[BaseException, int, str, int, int]] = [(root, -1, "", 0, 0)]
    while pending:
        exc, parent, relation, depth, chain = pending.pop()
        if id(exc) in seen or len(nodes) >= _MAX_NODES:
            if relation == "leaf" and id(exc) not in seen:
                leaves_hidden[parent] = leaves_hidden.get(parent, 0) + 1
            continue
        seen.add(id(exc))
        index = len(nodes)
        nodes.append((exc, parent, relation))
        linked, implicit = _next_in_chain(exc)
        if isinstance(linked, BaseException) and chain < config.max_chain:
            pending.append((linked, index, "context" if implicit else "cause", depth, chain + 1))
        if _GROUP is not None and isinstance(exc, _GROUP):
            subs = exc.exceptions
            shown = subs[: config.max_group_width] if depth < config.max_group_depth else ()
            if len(subs) > len(shown):
                leaves_hidden[index] = len(subs) - len(shown)
            for sub in reversed(shown):
                pending.append((sub, index, "leaf", depth + 1, 0))

    built: list[ErrorInfo | None] = [None] * len(nodes)
    causes: dict[int, tuple[ErrorInfo, bool]] = {}
    leaves: dict[int, list[ErrorInfo]] = {}
    for index in range(len(nodes) - 1, -1, -1):
        exc, parent, relation = nodes[index]
        frames, hidden = walk(exc.__traceback__, config.app_packages)
        cause, implicit = causes.get(index, (None, False))
        info = ErrorInfo(
            exception_type_name(exc),
            redacted_message(exc, config),
            frames,
            hidden,
            cause=cause,
            implicit=implicit,
            leaves=tuple(reversed(leaves.get(index, ()))),
            leaves_hidden=leaves_hidden.get(index, 0),
        )
        built[index] = info
        if relation == "leaf":
            leaves.setdefault(parent, []).append(info)
        elif relation:
            causes[parent] = (info, relation == "context")
    top = built[0]
    assert top is not None
    return top


def _hidden_by_pytest_convention(
    frame: FrameType, code: CodeType, f_globals: Mapping[str, object]
) -> bool:
    """pytest's ``__tracebackhide__`` in the frame's locals or module globals hides the frame.

    The cheap ``co_varnames`` test comes first: reading ``f_locals`` builds a dict.
    """
    if "__tracebackhide__" in code.co_varnames:
        try:
            if frame.f_locals.get("__tracebackhide__"):
                return True
        except Exception:
            return False
    return bool(f_globals.get("__tracebackhide__"))


def walk(
    tb: TracebackType | None, packages: tuple[str, ...] | None = None
) -> tuple[tuple[Frame, ...], int]:
    """Kept frames (innermost first) and the number hidden, for one traceback.

    A frame is kept when its module is one of *packages* (default: the configured app
    packages); the innermost frame (the raise site) is kept even in a library, marked
    ``library``. ``__tracebackhide__`` hides a frame. The frames built for one list of kept
    frames (same code objects, same instructions) are remembered in a bounded cache and
    reused when that list comes back (a storm of one crash): the walk itself still reads
    every entry, which is what decides which frames are kept.

    The loop is the hot path: a hidden frame costs two attribute reads and two subscripts.
    Line numbers are left for a stack not seen before: ``tb_lineno`` is computed from the
    line table at each read (Python 3.11+), while the instruction offset ``tb_lasti`` that
    the cache key uses is a plain field.
    """
    if packages is None:
        packages = _config.current().app_packages
    walks = _walks_for(packages)
    kept: list[tuple[CodeType, TracebackType, str, bool]] = []
    key: list[int] = []
    codes: list[CodeType] = []
    hidden = 0
    reusable = True
    app_cache = app_decisions(packages)
    while tb is not None:
        frame = tb.tb_frame
        f_globals = frame.f_globals
        try:  # subscripts, not .get(): no method call for each of the ~45 frames
            name = f_globals["__name__"]
            is_app = app_cache[name] if name.__class__ is str else None
        except KeyError:  # not decided yet, ``__main__`` (never cached), or no __name__
            is_app = None
        if is_app is None:
            name, is_app = _decide(f_globals, packages, app_cache)
        following = tb.tb_next
        if is_app or following is None:
            code = frame.f_code
            if "__tracebackhide__" in code.co_varnames or "__tracebackhide__" in f_globals:
                reusable = False  # its value may change from one crash to the next
                if _hidden_by_pytest_convention(frame, code, f_globals):
                    hidden += 1
                    tb = following
                    continue
            kept.append((code, tb, name, not is_app))
            codes.append(code)
            key.append(id(code))
            key.append(tb.tb_lasti)
        else:
            hidden += 1
        tb = following
    if not reusable:
        frames, cut = _frames(kept)
        return frames, hidden + cut
    frames, cut = _remembered(walks, tuple(key), codes, kept)
    return frames, hidden + cut


def _decide(
    f_globals: Mapping[str, object], packages: tuple[str, ...], app_cache: dict[str, bool]
) -> tuple[str, bool]:
    """A frame's module name and whether it is the app's, when the cache had no answer."""
    name = f_globals.get("__name__", "")
    if name.__class__ is not str or name == "__main__":
        name = module_name(f_globals)
    assert isinstance(name, str)  # module_name's, or checked above
    return name, decide_app(name, packages, app_cache)


def _remembered(
    walks: dict[tuple[int, ...], _Walk],
    key: tuple[int, ...],
    codes: list[CodeType],
    kept: list[tuple[CodeType, TracebackType, str, bool]],
) -> tuple[tuple[Frame, ...], int]:
    """The frames built for *key* before (the same code objects), or built now and kept."""
    known = walks.get(key)
    if known is None or known[0] != codes:
        frames, cut = _frames(kept)
        if len(walks) >= _CACHE_LIMIT:
            walks.clear()
        known = walks[key] = (codes, frames, cut)
    return known[1], known[2]


def _frames(
    kept: list[tuple[CodeType, TracebackType, str, bool]],
) -> tuple[tuple[Frame, ...], int]:
    """Frame records for the kept frames (outermost first on entry), innermost first,
    recursion collapsed and capped; and the number cut by the cap."""
    entries: list[_Kept] = [
        (code, tb.tb_lineno or 0, name, library) for code, tb, name, library in reversed(kept)
    ]
    if len(entries) > _MIN_REPEATS and _repeats_a_frame(entries):
        runs = _collapse(entries)
    else:  # no frame comes back, so no recursion to fold: the common case, and one set
        runs = [(entry, 1) for entry in entries]
    cut = 0
    if len(runs) > _MAX_FRAMES:
        cut = sum(count for _, count in runs[_MAX_FRAMES:])
        runs = runs[:_MAX_FRAMES]
    frames: list[Frame] = []
    for (code, line, name, library), count in runs:
        # Frame's fields set here, as its __init__ sets them: a call with keywords costs
        # three times as much, and a stack seen the first time pays it for every kept frame.
        frame = _new_record(Frame)
        frame.file = display_file(code.co_filename, name)
        frame.path = code.co_filename or frame.file
        frame.line = line
        frame.function = code.co_name
        frame.library = library
        frame.repeated = count
        frames.append(frame)
    return tuple(frames), cut


def _repeats_a_frame(kept: list[_Kept]) -> bool:
    """True when one code object at one line appears twice: recursion is possible."""
    return len({(id(code), line) for code, line, _, _ in kept}) < len(kept)


def _collapse(kept: list[_Kept]) -> list[tuple[_Kept, int]]:
    """Fold recursion: a cycle of up to _MAX_PERIOD frames seen _MIN_REPEATS+ times in a row."""
    keys = [(id(code), line) for code, line, _, _ in kept]
    out: list[tuple[_Kept, int]] = []
    size = len(keys)
    i = 0
    while i < size:
        best_period, best_repeats = 0, 1
        for period in range(1, _MAX_PERIOD + 1):
            if i + period * _MIN_REPEATS > size:
                break
            block = keys[i : i + period]
            repeats = 1
            while keys[i + repeats * period : i + (repeats + 1) * period] == block:
                repeats += 1
            if repeats >= _MIN_REPEATS and repeats * period > best_repeats * best_period:
                best_period, best_repeats = period, repeats
        if best_period:
            out += [(entry, best_repeats) for entry in kept[i : i + best_period]]
            i += best_period * best_repeats
        else:
            out.append((kept[i], 1))
            i += 1
    return out


def _fallback_report(
    exc: BaseException,
    origin: str,
    http: Mapping[str, object] | None,
    context: Mapping[str, str] | None,
    fault: BaseException,
    *,
    config: _config.Config,
) -> CrashReport:
    """errutil failed on *exc*: keep the standard library's full traceback instead."""
    try:
        import traceback  # noqa: PLC0415 - only needed when errutil itself failed

        text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)).rstrip("\n")
    except Exception:
        text = f"{exception_type_name(exc)}: <traceback unavailable>"
    text += f"\n(errutil could not shorten this report: {type(fault).__name__})"
    redactor = config.redactor
    info = ErrorInfo(exception_type_name(exc), redactor(safe_message(exc, 2000)), (), 0)
    return CrashReport(
        info,
        new_error_id(),
        "0" * 16,
        origin,
        http=http,
        context=dict(context or {}),
        fallback=redactor(text),
    )
