"""The rendered service's `app` module, as far as the scenarios use it."""

from fastapi import FastAPI

from .config import Settings

def create_app(settings: Settings | None = None) -> FastAPI: ...
