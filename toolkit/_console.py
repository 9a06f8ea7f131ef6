"""The ``toolkit`` console script's entry point: the CLI, loaded where Ctrl-C is handled.

The script that pip generates for ``[project.scripts]`` runs
``from <module> import main`` at its top level, outside any ``try``. With
``toolkit.cli`` as that module, Ctrl-C while typer, click and the CLI's modules
load showed Python's traceback of the ``KeyboardInterrupt``. This module is
cheap to import (``toolkit/__init__.py`` is lazy), so the script's import is
over in milliseconds and the CLI loads inside :func:`main`, where an interrupt
becomes one line and exit code 130. ``python -m toolkit`` and ``cli.py`` start
here too.
"""

from __future__ import annotations

import sys

__all__ = ["main"]

#: What an interrupt before the CLI's own handling prints.
INTERRUPTED_WHILE_LOADING = "\nInterrupted. Nothing was written.\n"


def main(args=None) -> None:
    """Load the command-line interface and run it with ``args`` (default: ``sys.argv[1:]``).

    Parameters
    ----------
    args : list of str, optional
        The command line without the program name.

    Raises
    ------
    SystemExit
        Always: the CLI's exit code (see :func:`toolkit.cli.main`), or 130 when
        Ctrl-C arrives while the CLI is still loading.
    """
    try:
        from toolkit.cli import main as cli_main
    except KeyboardInterrupt:  # before the CLI handles Ctrl-C itself: one line, no traceback
        if sys.stderr is not None:
            sys.stderr.write(INTERRUPTED_WHILE_LOADING)
        raise SystemExit(130) from None
    cli_main(args)
