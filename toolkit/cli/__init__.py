"""The ``toolkit`` command-line interface: a typer app over the library's functions."""

from .app import app, main

__all__ = ["app", "main"]
