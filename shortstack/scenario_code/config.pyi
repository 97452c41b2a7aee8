"""The rendered service's `config` module, as far as the scenarios use it."""

from typing import Literal

class Settings:
    log_format: Literal["json", "console"]
    def __init__(self, *, log_format: Literal["json", "console"] = "json") -> None: ...
