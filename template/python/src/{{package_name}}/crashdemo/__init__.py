"""Routes that crash on purpose, through three of the service's modules (api -> service -> repo).

Mounted only when ``ENABLE_CRASH_ROUTES=1``: the tests, the docs and the scenario
command use them to crash a real service over HTTP and look at the report.
"""

from .api import router

__all__ = ["router"]
