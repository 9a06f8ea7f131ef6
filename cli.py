"""Run the toolkit command-line interface: ``python cli.py --help``.

Same app as the ``toolkit`` console script and ``python -m toolkit``.
"""

from toolkit.cli import main

if __name__ == "__main__":
    main()
