"""`guard`: the ``recover`` of Python, around a function or a block.

    @guard                      # log a crash report, swallow, return None
    def handle(job): ...

    @guard(reraise=True)        # log, then let the exception go on
    async def consume(): ...

    for job in jobs:
        with guard():           # one bad job does not end the loop
            handle(job)

Only ``Exception`` is caught: KeyboardInterrupt, SystemExit, GeneratorExit and
asyncio's CancelledError pass through untouched.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from types import TracebackType

from .emit import log_exception

TYPE_CHECKING = False  # typing costs milliseconds of import time; mypy still reads this block
if TYPE_CHECKING:
    from typing import TypeVar, overload

    F = TypeVar("F", bound=Callable[..., object])

__all__ = ["Guard", "guard"]

_CO_COROUTINE = 0x80  # inspect.CO_COROUTINE without importing inspect


class Guard:
    """Context manager (sync and async) and decorator; see `guard`."""

    __slots__ = ("origin", "reraise")

    def __init__(self, *, reraise: bool = False, origin: str = "guard") -> None:
        self.reraise = reraise
        self.origin = origin

    def __enter__(self) -> Guard:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool:
        if not isinstance(exc, Exception):
            return False
        log_exception(exc, origin=self.origin)
        return not self.reraise

    async def __aenter__(self) -> Guard:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool:
        return self.__exit__(exc_type, exc, tb)

    def __call__(self, func: F) -> F:
        code = getattr(func, "__code__", None)
        if code is not None and code.co_flags & _CO_COROUTINE:
            coroutine_function: Callable[..., Awaitable[object]] = func  # type: ignore[assignment]

            @functools.wraps(func)
            async def guarded_async(*args: object, **kwargs: object) -> object:
                with Guard(reraise=self.reraise, origin=self.origin):
                    return await coroutine_function(*args, **kwargs)
                return None

            return guarded_async  # type: ignore[return-value]

        @functools.wraps(func)
        def guarded(*args: object, **kwargs: object) -> object:
            with Guard(reraise=self.reraise, origin=self.origin):
                return func(*args, **kwargs)
            return None

        return guarded  # type: ignore[return-value]


if TYPE_CHECKING:

    @overload
    def guard(func: F, *, reraise: bool = False, origin: str = "guard") -> F: ...

    @overload
    def guard(func: None = None, *, reraise: bool = False, origin: str = "guard") -> Guard: ...


def guard(
    func: Callable[..., object] | None = None, *, reraise: bool = False, origin: str = "guard"
) -> Callable[..., object] | Guard:
    """Log an exception as one crash report, then swallow it (default) or re-raise it.

    ``@guard`` and ``@guard(...)`` decorate sync and async functions (a swallowed crash
    returns None); ``with guard():`` / ``async with guard():`` protect a block.
    """
    if func is not None:
        if not callable(func):
            raise TypeError(f"guard() decorates a function, got {type(func).__name__}")
        return Guard(reraise=reraise, origin=origin)(func)
    return Guard(reraise=reraise, origin=origin)
