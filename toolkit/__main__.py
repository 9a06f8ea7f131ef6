"""``python -m toolkit``: the command-line interface."""

import sys

try:
    from toolkit.cli import main
except KeyboardInterrupt:  # Ctrl-C while the CLI loads, before it handles Ctrl-C itself: no traceback
    if sys.stderr is not None:
        sys.stderr.write("\nInterrupted. Nothing was written.\n")
    raise SystemExit(130) from None

main()
