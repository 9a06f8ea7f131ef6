"""Shared pieces of the CLI: the root typer app, global options, error mapping, output helpers.

Like spaCy's ``cli/_util.py``: every command module imports ``app`` from here
and registers its commands on it; ``toolkit.cli`` imports them all.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import sys
from pathlib import Path

import typer

from .. import __version__
from .._atomic import atomic_output

__all__ = ["app", "DEFAULT_VECTORS"]

app = typer.Typer(
    name="toolkit",
    help="Deep learning on text: tokenize, vectorize, load word vectors, train and evaluate classifiers.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


_state = {"debug": False, "quiet": False, "verbose": False}


DEFAULT_VECTORS = "glove.6B.50d"


SET_HELP = "Parameter as key=value (repeatable); values are read as Python/JSON literals, else strings."


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
    _state["verbose"] = verbose


def _is_user_error(exc: BaseException) -> bool:
    from ..exceptions import ToolkitError

    return isinstance(exc, (ToolkitError, ValueError, OSError, KeyError))


def _one_line(exc: BaseException) -> str:
    message = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
    message = str(message).strip()
    return message.splitlines()[0] if message else type(exc).__name__


def _errors_to_exit(func):
    """Turn a user error into ``Error: <one line>`` on stderr and exit code 1 (unless --debug)."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except Exception as exc:
            import click

            if isinstance(exc, (click.ClickException, click.exceptions.Exit)) or _state["debug"] or not _is_user_error(exc):
                raise
            typer.echo(f"Error: {_one_line(exc)}", err=True)
            raise typer.Exit(1) from exc

    return wrapper


def _info(message: str) -> None:
    """A diagnostic line on stderr (silenced by --quiet)."""
    if not _state["quiet"]:
        typer.echo(message, err=True)


def _load_tensorflow_quietly() -> None:
    """Import TensorFlow with the process's stderr muted (unless --verbose/--debug).

    TensorFlow's C++ runtime writes start-up notices (oneDNN, CUDA probing)
    straight to file descriptor 2 before any log level applies; they would bury
    the CLI's own diagnostics and one-line errors.
    """
    if "tensorflow" in sys.modules or _state["verbose"] or _state["debug"]:
        return

    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        import tensorflow as tf

        tf.config.list_physical_devices("GPU")  # the CUDA probe logs here, once
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def _read_texts(source, *, column="text", **kwargs) -> list[str]:
    """:func:`toolkit.cli._inputs.read_input`, refusing to wait on an interactive terminal for stdin."""
    from ._inputs import read_input

    if (source is None or str(source) == "-") and sys.stdin.isatty():
        raise ValueError("No input: give a file, a folder or texts, or pipe text on stdin.")
    return read_input(source, column=column, **kwargs)


def _progress() -> bool:
    return not _state["quiet"]


def _settings(items) -> dict:
    from ._inputs import parse_setting

    return dict(parse_setting(item) for item in items or ())


def _emit_text(text: str, output: Path | None) -> None:
    """Data to stdout, or atomically to ``output``."""
    if output is None:
        typer.echo(text, nl=False)
        return

    with atomic_output(output) as tmp:
        tmp.write_text(text, encoding="utf-8")
    _info(f"Wrote {output}")


def _jsonl(rows) -> str:
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)


def _json(data) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n"


def _vector_kwargs(limit, format, data_dir, cache_dir) -> dict:
    kwargs = {"limit": limit, "format": format, "progress": _progress()}
    if data_dir is not None:
        kwargs["data_dir"] = data_dir
    if cache_dir is not None:
        kwargs["cache_dir"] = cache_dir
    return kwargs


_INPUT = "Text source: a file of lines, a .csv/.tsv/.jsonl file (see --column), a folder, or '-' for stdin."


_opt_column = typer.Option("text", "--column", help="Text column of a CSV/TSV/JSONL input.")


_opt_label_column = typer.Option("label", "--label-column", help="Label column of a CSV/TSV/JSONL file.")


_opt_output = typer.Option(None, "--output", "-o", help="Write here (atomically) instead of stdout.")


_opt_set = typer.Option(None, "--set", help=SET_HELP)


_opt_vectors = typer.Option(DEFAULT_VECTORS, "--vectors", "-V", help="Vectors file or manifest name.")


_opt_vlimit = typer.Option(None, "--limit", help="Load only the first N vectors (the most frequent words).")


_opt_format = typer.Option("auto", "--format", help="Vectors format (auto, glove, word2vec, word2vec-binary, fasttext...).")


_opt_data_dir = typer.Option(None, "--data-dir", help="Offline data folder (default: $TOOLKIT_DATA_DIR).")


_opt_cache_dir = typer.Option(None, "--cache-dir", help="Cache folder (default: $TOOLKIT_CACHE_DIR or the user cache).")

