"""The ``toolkit`` command-line interface: a typer app over the library's functions.

One module per command group, each holding the task functions (plain, silent,
returning data) next to the thin typer commands that render them:

- :mod:`toolkit.cli.data`: ``toolkit data list|info|fetch|describe``;
- :mod:`toolkit.cli.text`: ``toolkit tokenize``, ``toolkit vectorize``;
- :mod:`toolkit.cli.vectors`: ``toolkit vectors info|similar|analogy|coverage|convert|train|map``;
- :mod:`toolkit.cli.train`: ``toolkit train``, ``evaluate``, ``predict``;
- :mod:`toolkit.cli.grid`: ``toolkit grid``; :mod:`toolkit.cli.store`: ``toolkit store build|info|train``.

Nothing heavy is imported at module level, so ``toolkit --help`` answers
quickly without TensorFlow.
"""

from __future__ import annotations

import sys

import typer

from . import data, text, train, vectors  # noqa: F401  (each registers its commands on the app)
from . import grid, store  # noqa: F401,E402  (Dask: toolkit grid, toolkit store build|info|train)
from ._common import (
    EXIT_INTERRUPTED,
    EXIT_TERMINATED,
    _bug_report,
    _caused_by_interrupt,
    _click_exception_types,
    _closed_stdout_fails,
    _exit_now,
    _exit_types,
    _hint_root_option,
    _interrupted,
    _is_user_error,
    _one_line,
    _progress_for_log_files,
    _quiet_pool_teardown,
    _state,
    _terminate_as_interrupt,
    app,
)

__all__ = ["app", "main"]


def main(args=None) -> None:
    """Entry point of the console script, ``python -m toolkit`` and ``cli.py``.

    Exit codes: 0 success, 1 an error in the input or the output (one ``Error:``
    line on stderr; also a full disk or a closed stdout) or a toolkit bug (its traceback and how to report it), 2 a usage
    error (the command's usage and one ``Error:`` line, as click prints them),
    130 interrupted (Ctrl-C), 143 terminated (SIGTERM, handled as Ctrl-C).
    """
    with _terminate_as_interrupt(), _quiet_pool_teardown(), _progress_for_log_files(), _closed_stdout_fails():
        _main(args)


def _main(args) -> None:
    try:
        rc = app(args=args, prog_name="toolkit", standalone_mode=False)  # returns the exit code of typer.Exit here
    except _exit_types() as exc:  # --help, --version, explicit exits
        sys.exit(exc.exit_code)
    except typer.Abort:
        raise SystemExit(_interrupted().exit_code) from None
    except KeyboardInterrupt:
        raise SystemExit(_interrupted().exit_code) from None
    except Exception as exc:
        if _caused_by_interrupt(exc):  # see _caused_by_interrupt: the interrupt broke code that then failed
            raise SystemExit(_interrupted().exit_code) from None
        if isinstance(exc, _click_exception_types()):  # usage errors: usage + one line, exit 2
            _hint_root_option(exc)
            exc.show()
            sys.exit(exc.exit_code)
        if _is_user_error(exc) and not _state.get("debug"):  # raised outside a command (a callback)
            typer.echo(f"Error: {_one_line(exc)}", err=True)
            sys.exit(1)
        import traceback

        traceback.print_exc()
        if not _is_user_error(exc):
            typer.echo(_bug_report(exc), err=True)
        sys.exit(1)
    rc = rc if isinstance(rc, int) else 0
    if rc == EXIT_INTERRUPTED and _state.get("terminated"):  # typer's own exit for an interrupt outside a command
        rc = EXIT_TERMINATED
    if rc in (EXIT_INTERRUPTED, EXIT_TERMINATED) and "tensorflow" in sys.modules:
        # Interrupted, message shown, outputs cleaned up: skip TensorFlow's native
        # teardown, which takes seconds, so Ctrl-C ends the process promptly.
        _exit_now(rc)
    sys.exit(rc)
