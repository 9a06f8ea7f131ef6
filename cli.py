"""Run the toolkit command-line interface: ``python cli.py --help``.

Same app as the ``toolkit`` console script and ``python -m toolkit``: all three
start at :func:`toolkit._console.main`, which loads the CLI where Ctrl-C is
handled.
"""

from toolkit._console import main

if __name__ == "__main__":
    main()
