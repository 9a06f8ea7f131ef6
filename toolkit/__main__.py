"""``python -m toolkit``: the command-line interface."""

from toolkit._console import main

main()
