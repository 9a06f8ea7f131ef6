"""The ``toolkit`` command-line interface: a typer app over the library's functions.

One module per command group, each holding the task functions (plain, silent,
returning data) next to the thin typer commands that render them:

- :mod:`toolkit.cli.data`: ``toolkit data list|info|fetch``;
- :mod:`toolkit.cli.text`: ``toolkit tokenize``, ``toolkit vectorize``;
- :mod:`toolkit.cli.vectors`: ``toolkit vectors info|similar|analogy|coverage|convert|train|map``;
- :mod:`toolkit.cli.train`: ``toolkit train``, ``evaluate``, ``predict``.

Nothing heavy is imported at module level, so ``toolkit --help`` answers
quickly without TensorFlow.
"""

from __future__ import annotations

import sys

import typer

from . import data, text, train, vectors  # noqa: F401  (each registers its commands on the app)
from ._common import _is_user_error, _one_line, _state, app

__all__ = ["app", "main"]


def main() -> None:
    """Entry point of the console script, ``python -m toolkit`` and ``cli.py``."""
    try:
        rc = app(standalone_mode=False)  # click returns the exit code of typer.Exit here
    except typer.Exit as exc:  # --help, --version, explicit exits
        sys.exit(exc.exit_code)
    except typer.Abort:
        typer.echo("Aborted.", err=True)
        sys.exit(130)
    except KeyboardInterrupt:
        typer.echo("Interrupted.", err=True)
        sys.exit(130)
    except Exception as exc:  # one line, no traceback unless --debug
        import click

        if isinstance(exc, click.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        if _state.get("debug") or not _is_user_error(exc):
            raise
        typer.echo(f"Error: {_one_line(exc)}", err=True)
        sys.exit(1)
    sys.exit(rc if isinstance(rc, int) else 0)

