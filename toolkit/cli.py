"""The ``toolkit`` command-line interface (typer).

A thin layer: each command parses its arguments, calls one library function
with the same parameter names, renders the result (data to stdout,
diagnostics to stderr) and maps errors to a one-line message and a non-zero
exit code. No business logic lives here, and nothing heavy is imported at
module level, so ``toolkit --help`` answers quickly without TensorFlow.
"""

from __future__ import annotations

import logging
import sys

import typer

from . import __version__

__all__ = ["app", "main"]

app = typer.Typer(
    name="toolkit",
    help="Deep learning on text: tokenize, vectorize, load word vectors, train and evaluate classifiers.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

_state = {"debug": False}


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"toolkit {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log progress details to stderr."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Only errors on stderr; no progress bars."),
    debug: bool = typer.Option(False, "--debug", help="Show full tracebacks on errors."),
    version: bool = typer.Option(
        False, "--version", callback=_version_callback, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Deep learning on text with spaCy, gensim, Keras and scikit-learn."""
    level = logging.DEBUG if debug else logging.INFO if verbose else logging.ERROR if quiet else logging.WARNING
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr, force=True)
    _state["debug"] = debug
    _state["quiet"] = quiet


def main() -> None:
    """Entry point of the console script, ``python -m toolkit`` and ``cli.py``."""
    from .exceptions import ToolkitError

    try:
        app(standalone_mode=False)
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
        if _state.get("debug") or not isinstance(exc, (ToolkitError, ValueError, OSError, KeyError)):
            raise
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        typer.echo(f"Error: {message}", err=True)
        sys.exit(1)
