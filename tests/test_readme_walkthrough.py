"""What a newcomer met following README.md from the top, step by step (session 29, helper H2).

Each test pins one fix: the README's commands and blocks run as written and say what they do.
"""

from __future__ import annotations

import pytest


def test_stack_first_run_notice_names_the_users_own_unlabelled_file(imdb_small, tmp_path):
    """README: ``toolkit train --model stack --data reviews.csv -V word2vec:unlabelled.txt:train=0,...``.
    The first-run notice said "about 4 minutes for IMDB's 50,000 unlabelled reviews" for the user's own
    2,000-line file too; it names the spec's source now, and keeps IMDB's figure for ``unsup``."""
    from toolkit.cli.train import _domain_vectors_notice

    texts, _ = imdb_small
    path = tmp_path / "unlabelled.txt"
    path.write_text("\n".join(t.replace("\n", " ") for t in texts[:50]) + "\n", encoding="utf-8")
    cache = tmp_path / "cache"
    notice = _domain_vectors_notice(f"word2vec:{path}:train=0,dim=300,epochs=10", cache_dir=cache)
    assert "trained on this first run" in notice
    assert "IMDB" not in notice and str(path) in notice
    notice = _domain_vectors_notice(("word2vec", tuple(texts[:50]), "train=0,dim=8"), cache_dir=cache)
    assert "IMDB" not in notice and "trained on this first run" in notice
    unsup = _domain_vectors_notice("word2vec:unsup:train=0,dim=300,epochs=10", cache_dir=cache)
    assert "IMDB's 50,000 unlabelled reviews" in unsup and "4 minutes" in unsup


@pytest.mark.slow
def test_store_build_progress_in_a_log_file_is_not_redrawn_ten_times_a_second(imdb_small, tmp_path):
    """README ("Errors, outputs and Ctrl-C"): with stderr in a file, progress bars update every 10 s instead of
    ten times a second. ``toolkit store build ... 2> build.log`` drew Dask's own text bar, which ignored that
    and wrote a redraw every 0.1 s (about 80 for a 400-review build); its bar is tqdm's now, as elsewhere."""
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    texts, labels = imdb_small
    source = tmp_path / "reviews.jsonl"
    source.write_text("".join(json.dumps({"text": t, "label": str(y)}) + "\n" for t, y in zip(texts[:200], labels)),
                      encoding="utf-8")
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "TOOLKIT_CACHE_DIR": str(tmp_path / "cache")}
    env.pop("TQDM_MININTERVAL", None)
    log = tmp_path / "build.log"
    root = Path(__file__).resolve().parents[1]
    with log.open("w") as stderr:
        result = subprocess.run([sys.executable, str(root / "cli.py"), "store", "build", str(source), "-o",
                                 str(tmp_path / "store"), "--label-column", "label", "--workers", "1"],
                                stdout=subprocess.PIPE, stderr=stderr, cwd=root, env=env, timeout=300, check=False)
    text = log.read_bytes().decode()  # bytes: read as text, each "\r" would become a "\n"
    assert result.returncode == 0, text
    assert json.loads(result.stdout)["n_documents"] == 200
    draws = [d for d in text.replace("\r", "\n").splitlines() if "%" in d]
    assert 2 <= len(draws) <= 8, draws  # tokenize and encode: each its start and end (a close may repeat one)
    assert any(d.startswith("tokenize: 100%") for d in draws), draws


@pytest.mark.slow
def test_main_job_coverage_report_counts_the_words_occurrences(imdb_tokens, glove_small):
    """README, the main job: ``toolkit train`` prints the GloVe coverage table. For ``nbsvm_vectors`` (the main
    job's architecture) it had no occurrences row and "-" for every count of "Most frequent tokens without a
    vector", while every other architecture's table has both (``print(report)``: "tokens and occurrences
    covered"). The word ids' counts come from the vocabulary now."""
    import itertools

    from toolkit.models.hybrid import word_vector_matrix
    from toolkit.text import Vocabulary
    from toolkit.vectors import load_vectors

    docs, _ = imdb_tokens
    grams = [d + [f"{a} {b}" for a, b in itertools.pairwise(d)] for d in docs[:200]]  # words and their bigrams
    vocabulary = Vocabulary.from_documents(grams)
    matrix, report = word_vector_matrix(vocabulary, load_vectors(glove_small))
    tokens, counts = list(vocabulary.tokens), dict(zip(vocabulary.tokens, vocabulary.counts))
    words = [t for t in tokens[2:] if " " not in t]
    covered = [t for t in words if matrix[tokens.index(t)].any()]
    assert report.n_tokens == len(words) and report.n_covered == len(covered) < len(words)
    assert report.n_occurrences == sum(counts[t] for t in words)
    assert report.n_occurrences_covered == sum(counts[t] for t in covered)
    missing = report.top_missing
    assert missing and all(counts[t] == c and " " not in t and not matrix[tokens.index(t)].any() for t, c in missing)
    assert [c for _, c in missing] == sorted((c for _, c in missing), reverse=True)
    assert max(counts[t] for t in words if t not in covered) == missing[0][1]
    assert "occurrences" in str(report) and "  -\n" not in str(report) + "\n"


def test_train_warns_when_a_sequence_architecture_keeps_the_main_jobs_ngrams(monkeypatch, caplog):
    """README: ``toolkit train --data imdb --set architecture=cnn --set epochs=5 -o runs/cnn``. The CNN kept the
    main job's NBSVM settings without a word: 1-3-gram tokens, ``maxlen=None`` and 800,000 embedding rows
    (on 400 reviews: 3,531 positions per document, GloVe for 6.5% of the rows, the fit 6x as long as over words).
    ``train`` now says so once, with the ``--set`` options that make it a CNN over words."""
    import logging

    import pytest

    from toolkit.cli.train import train

    def stop(*args, **kwargs):
        raise RuntimeError("stop before loading")

    monkeypatch.setattr("toolkit.cli.train.load_train_test", stop)

    def warnings_of(**kwargs):
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="toolkit.cli.train"), \
                pytest.raises(RuntimeError, match="stop before loading"):
            train(**kwargs)
        return [r.getMessage() for r in caplog.records if r.name == "toolkit.cli.train"]

    [message] = warnings_of(settings={"architecture": "cnn", "epochs": 5})
    assert "ngram_range=(1, 3), maxlen=None, max_tokens=800000" in message
    assert message.endswith('add --set "ngram_range=(1, 1)" --set maxlen=400 --set max_tokens=20000.')
    [message] = warnings_of(settings={"architecture": "rnn", "ngram_range": (1, 2)}, vectors=None)
    assert "ngram_range" not in message and "--set maxlen=400 --set max_tokens=20000" in message
    assert warnings_of(settings={"architecture": "cnn", "ngram_range": (1, 1), "maxlen": 400, "max_tokens": 20000}) == []
    assert warnings_of() == [] and warnings_of(settings={"architecture": "nbsvm"}) == []
    assert warnings_of(model="stack", settings={"n_jobs": 1}) == []


@pytest.mark.slow
def test_a_data_dir_typo_fails_before_anything_loads(tmp_path):
    """README: "Every path (data, ...) is checked before TensorFlow is imported: a typo costs about a second", and
    ``toolkit train --data-dir ../shared/data -o runs/main``. A --data-dir typo surfaced only where the data were
    fetched, for ``train`` and ``grid`` after TensorFlow had loaded (9 s here), as "(from data_dir)". Now every
    command checks its --data-dir first (here with TensorFlow made unimportable, as nothing needs it)."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    script = ("import sys; sys.modules['tensorflow'] = sys.modules['keras'] = None\n"
              "from toolkit._console import main; main(sys.argv[1:])\n")
    env = {**os.environ, "TOOLKIT_CACHE_DIR": str(tmp_path / "cache"), "PYTHONPATH": str(root)}  # this tree's code
    (tmp_path / "file.txt").write_text("not a folder\n", encoding="utf-8")
    for args, what in [(["train", "--limit", "10", "-o", "runs/x"], "does not exist (relative to"),
                       (["grid", "--grid", "architecture=bag,cnn", "--limit", "10"], "does not exist (relative to"),
                       (["vectors", "similar", "movie"], "does not exist (relative to")]:
        result = subprocess.run([sys.executable, "-c", script, *args, "--data-dir", "no-such-data"], cwd=tmp_path,
                                env=env, capture_output=True, text=True, timeout=120, check=False)
        lines = result.stderr.strip().splitlines()
        assert result.returncode == 1 and len(lines) == 1, result.stderr
        assert lines[0].startswith("Error: The data folder no-such-data (from --data-dir) " + what), lines[0]
        assert "SHA256SUMS" in lines[0] and not (tmp_path / "runs").exists()
    result = subprocess.run([sys.executable, "-c", script, "train", "--data-dir", str(tmp_path / "file.txt")],
                            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 1 and "file.txt (from --data-dir) is a file, not a folder" in result.stderr


def test_a_missing_data_folder_from_the_environment_says_what_to_do(tmp_path, monkeypatch):
    """README's first command: ``TOOLKIT_DATA_DIR=../shared/data python cli.py train``, a path relative to the
    repository. Run from elsewhere, it ended in "The data folder ../shared/data (from TOOLKIT_DATA_DIR) does not
    exist or is not a folder." and nothing on what to do; the message now says it."""
    import pytest

    from toolkit.data import fetch
    from toolkit.exceptions import DataError

    monkeypatch.setenv("TOOLKIT_DATA_DIR", str(tmp_path / "shared" / "data"))
    with pytest.raises(DataError, match=r"\(from TOOLKIT_DATA_DIR\) does not exist .* Point it at the folder that "
                                        r"holds the offline files and their SHA256SUMS, or leave it unset"):
        fetch("imdb", cache_dir=tmp_path / "cache")
    with pytest.raises(DataError, match=r"\(from data_dir\) .* or leave it unset"):
        fetch("glove.6B.50d", data_dir=tmp_path / "typo", cache_dir=tmp_path / "cache")


def test_a_pickled_vectors_file_on_the_command_line_names_the_option(tmp_path):
    """README, "Word vectors from other people": ``toolkit vectors info|similar|...`` refuse a pickle (gensim's
    ``.kv``) "... pass format='native'". On the command line that is ``--format native``, which the message
    did not say; it does now, in the command line's terms only (the library's wording stays)."""
    import numpy as np
    from gensim.models import KeyedVectors
    from typer.testing import CliRunner

    from toolkit.cli import app

    kv = KeyedVectors(4)
    kv.add_vectors(["good", "film"], np.eye(2, 4, dtype=np.float32))
    kv.save(str(tmp_path / "mine.kv"))  # a pickle
    result = CliRunner().invoke(app, ["vectors", "info", str(tmp_path / "mine.kv")])
    assert result.exit_code == 1
    assert "looks like a Python pickle" in result.stderr
    assert "pass --format native to load it" in result.stderr and "format='native'" not in result.stderr
    result = CliRunner().invoke(app, ["vectors", "info", str(tmp_path / "mine.kv"), "--format", "native"])
    assert result.exit_code == 0 and "good" in result.stdout
