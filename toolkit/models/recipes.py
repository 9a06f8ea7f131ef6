"""Named parameter sets ("recipes") chosen on validation data, for the CLI and the README.

``MAIN_JOB`` is what ``toolkit train`` (and ``python cli.py train``) fits with
no options: the best recipe that uses the word vectors, chosen on a
validation split of the IMDB training set (``benchmarks/tune_*.py``; the
figures are in BENCHMARKS.md). ``--set key=value`` overrides any entry.
"""

from __future__ import annotations

__all__ = ["MAIN_JOB"]

#: make_text_classifier parameters of the main job (empty: the estimators' defaults).
MAIN_JOB: dict = {}
