"""Run the toolkit command-line interface: ``python cli.py --help``.

Same app as the ``toolkit`` console script and ``python -m toolkit``.
"""

import sys

try:
    from toolkit.cli import main
except KeyboardInterrupt:  # Ctrl-C while the CLI loads, before it handles Ctrl-C itself: no traceback
    if __name__ != "__main__":
        raise
    if sys.stderr is not None:
        sys.stderr.write("\nInterrupted. Nothing was written.\n")
    raise SystemExit(130) from None

if __name__ == "__main__":
    main()
