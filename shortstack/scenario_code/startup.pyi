"""The rendered service's `startup` module, as far as the scenarios use it."""

from .config import Settings

def start(settings: Settings | None = None) -> Settings: ...
