"""README.md as a new user runs it (session 44, helper h7): what its commands write and its comments say.

tests/test_readme.py checks that the README's names, options and signatures exist; these run a few of its
claims on small real samples (seconds each) and compare the outputs with the README's own text.
"""

from __future__ import annotations

import inspect
import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
TEXT = (ROOT / "README.md").read_text(encoding="utf-8")


def _cli(args, cwd, **env):
    """``python -m toolkit ARGS`` in ``cwd`` (not the repository: the installed package is what runs)."""
    environ = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "TOOLKIT_CACHE_DIR": str(Path(cwd) / "cache"), **env}
    return subprocess.run([sys.executable, "-m", "toolkit", *args], cwd=cwd, env=environ,
                          capture_output=True, text=True, timeout=300, check=False)


def _readme_lines(prefix: str) -> list[tuple[str, str]]:
    """``(command, comment)`` of the README's shell lines that start with ``prefix``."""
    found = []
    for line in TEXT.splitlines():
        if line.startswith(prefix):
            command, _, comment = line.partition("#")
            found.append((command.strip(), comment.strip()))
    return found


def test_vectorize_lines_write_the_files_they_name(imdb_small, tmp_path, monkeypatch):
    """"On the command line": the three ``toolkit vectorize`` lines, run as written on small files, write the
    files their ``-o`` names (the first also ``seqs.vocab.json``, as its comment says), with ``--maxlen 200``
    columns, the test file encoded with the training run's vocabulary, and the hashing one without a vocabulary."""
    import scipy.sparse as sp

    texts, labels = imdb_small
    lines = _readme_lines("toolkit vectorize ")
    assert len(lines) == 3, lines
    rows = ["text,label"] + [f'"{t.replace(chr(34), chr(34) * 2)}",{y}' for t, y in zip(texts, labels)]
    (tmp_path / "reviews.csv").write_text("\n".join(rows[:41]) + "\n", encoding="utf-8")
    (tmp_path / "test.csv").write_text("\n".join(rows[:1] + rows[41:61]) + "\n", encoding="utf-8")
    (tmp_path / "reviews.txt").write_text("\n".join(t.replace("\n", " ") for t in texts[:30]) + "\n",
                                          encoding="utf-8")
    from typer.testing import CliRunner

    from toolkit.cli import app

    monkeypatch.chdir(tmp_path)  # the README's relative file names
    monkeypatch.setenv("TOOLKIT_CACHE_DIR", str(tmp_path / "cache"))
    for command, comment in lines:
        result = CliRunner().invoke(app, ["-q", *shlex.split(command)[1:]])
        assert result.exit_code == 0, f"{command}: {result.output[-2000:]}"
        output = shlex.split(command)[shlex.split(command).index("-o") + 1]
        assert (tmp_path / output).is_file(), command
        for extra in re.findall(r"\+ (\S+)", comment):
            assert (tmp_path / extra).is_file(), f"{command}: the README says it also writes {extra}"
    seqs, test = np.load(tmp_path / "seqs.npz")["x"], np.load(tmp_path / "test.npz")["x"]
    assert seqs.shape == (40, 200) and test.shape == (20, 200)
    vocabulary = json.loads((tmp_path / "seqs.vocab.json").read_text(encoding="utf-8"))
    assert test.max() < len(vocabulary["tokens"] if isinstance(vocabulary, dict) else vocabulary)
    hashed = sp.load_npz(tmp_path / "hashed.npz")
    assert hashed.shape == (30, 65536) and not (tmp_path / "hashed.vocab.json").exists()


def test_predict_top_comment_is_what_predict_writes(imdb_small, imdb_small_ratings):
    """"Many classes": ``toolkit predict ... --top 3`` writes, per text, the README comment's keys:
    ``{"label": L1, "top": [{"label": L1, "probability": p1}, ...]}``, three classes, most probable first."""
    from sklearn.pipeline import make_pipeline

    from toolkit import BagEncoder, NBSVMClassifier, SpacyTokenizer
    from toolkit.cli.train import predict

    lines = TEXT.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("toolkit predict ") and "--top 3" in line)
    comment = lines[at + 1]
    assert comment.startswith("# one line per text:"), comment
    keys = set(re.findall(r'"(\w+)":', comment))
    assert keys == {"label", "top", "probability"}, comment
    texts, _ = imdb_small
    model = make_pipeline(SpacyTokenizer(), BagEncoder(output_mode="count"), NBSVMClassifier(loss="log_loss"))
    model.fit(texts[:200], imdb_small_ratings[:200])  # 8 star classes
    rows = predict(model, texts[200:203], top=3)
    assert len(rows) == 3
    for row in rows:
        assert set(row) == {"label", "top"}
        assert len(row["top"]) == 3 and all(set(entry) == {"label", "probability"} for entry in row["top"])
        probabilities = [entry["probability"] for entry in row["top"]]
        assert probabilities == sorted(probabilities, reverse=True)
        assert row["label"] == row["top"][0]["label"]
        json.dumps(row)  # one JSON line per text


def test_feature_names_and_ratios_as_the_inspection_block_says(imdb_small):
    """"What did the model learn?": ``pipe[:-1].get_feature_names_out()`` names ``coef_``'s columns, ``"<unk>"``
    first; ``coef_ > 0`` favours ``classes_[1]``; the block's comment ``ratio["worst"] < 0 < ratio["great"]``."""
    from sklearn.pipeline import make_pipeline

    from toolkit import BagEncoder, SpacyTokenizer
    from toolkit.models import NBSVMClassifier

    assert 'ratio["worst"] < 0 < ratio["great"]' in TEXT and '`"<unk>"` first' in TEXT
    texts, labels = imdb_small
    pipe = make_pipeline(SpacyTokenizer(ngram_range=(1, 2)), BagEncoder(output_mode="count", min_count=2),
                         NBSVMClassifier()).fit(texts, labels)
    names, weights = pipe[:-1].get_feature_names_out(), pipe[-1].coef_[0]
    assert names[0] == "<unk>" and len(names) == len(weights) == len(pipe[-1].log_count_ratio_)
    ratio = dict(zip(names, pipe[-1].log_count_ratio_))
    assert ratio["worst"] < 0 < ratio["great"]
    assert list(pipe[-1].classes_) == ["neg", "pos"]
    weight = dict(zip(names, weights))
    assert weight["worst"] < 0 < weight["great"]  # > 0: toward classes_[1], "pos"


def test_numbers_as_labels_errors_name_the_readmes_regressor():
    """"Numbers as labels": the classifiers refuse a ``y`` with fractions and name the fix the README gives,
    ``make_pipeline(SpacyTokenizer(), BagEncoder(), Ridge())``."""
    import scipy.sparse as sp

    from toolkit import NBSVMClassifier, StackedTextClassifier

    fix = "make_pipeline(SpacyTokenizer(), BagEncoder(), Ridge())"
    assert f"`{fix}`" in TEXT
    y = np.array([0.5, 1.5, 2.25, 3.75])
    counts = sp.csr_matrix(np.array([[1, 0], [0, 1], [1, 1], [2, 0]], dtype=float))
    docs = [["good", "film"], ["bad", "film"], ["ok"], ["fine", "film"]]
    for estimator, X in ((NBSVMClassifier(), counts), (StackedTextClassifier(vectors=None), docs)):
        with pytest.raises(ValueError, match=re.escape(fix)):
            estimator.fit(X, y)


def test_data_list_writes_the_table_to_stdout_and_the_folders_to_stderr(shared_data, tmp_path):
    """``toolkit data list  # manifests, offline folder and cache status (stderr: which folders)``."""
    command, comment = next(line for line in _readme_lines("toolkit data list"))
    assert "stderr: which folders" in comment
    result = _cli(shlex.split(command)[1:], tmp_path, TOOLKIT_DATA_DIR=str(shared_data))
    assert result.returncode == 0, result.stderr
    names = {p.stem for p in (ROOT / "data_manifests").glob("*.toml")}
    listed = {row.split()[0] for row in result.stdout.splitlines()[1:] if row.strip()}
    assert names <= listed, sorted(names - listed)
    assert str(shared_data) in result.stderr and str(shared_data) not in result.stdout
    assert str(tmp_path / "cache") in result.stderr


def test_ratio_shrinkage_settings_are_the_stacks_not_the_main_jobs():
    """"Two commands": ``--set ratio_shrinkage=1 --set norm=l2 --set C=1`` is for the stack; the main job's
    ``make_text_classifier`` has none of the three, and ``toolkit train`` would list its valid names instead."""
    from toolkit import StackedTextClassifier, make_text_classifier

    settings = dict(item.split("=") for item in re.findall(r"--set (\w+=\w+)", re.search(
        r"With very few documents of one class add.*?`(--set ratio_shrinkage[^`]*)`", TEXT, flags=re.DOTALL)
        .group(1)))
    assert set(settings) == {"ratio_shrinkage", "norm", "C"}
    assert re.search(r"for the stack\s+\(the main job has none of these three parameters\)", TEXT)
    make_text_classifier(estimator=StackedTextClassifier(), ratio_shrinkage=1, norm="l2", C=1)
    for key in settings:
        with pytest.raises(ValueError, match=key):
            make_text_classifier(**{key: 1})


def test_loky_warning_note_quotes_the_warning_the_cli_hides():
    """"Raw text to a classifier": the README quotes the warning joblib's process pool gives when it replaces a
    worker whose memory grew (300 MB); it is the text the CLI filters out, and loky's threshold is 300 MB."""
    from joblib.externals.loky import process_executor

    from toolkit.cli._common import _WORKER_REPLACED

    assert f"`UserWarning: {_WORKER_REPLACED}`" in TEXT
    assert "grown by 300 MB" in " ".join(TEXT.split())
    assert process_executor._MAX_MEMORY_LEAK_SIZE == 300_000_000


def test_install_comment_names_every_package_of_the_test_extra():
    """"Install": the comment on ``pip install -e ".[test]"`` names every package that extra pins (it left out
    keras-preprocessing, the Keras ``Tokenizer`` the parity tests compare with) and the extras it pulls in."""
    import tomllib

    extra = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["optional-dependencies"]
    comment = next(c for cmd, c in _readme_lines("python -m pip install -e \".[test]\""))
    for requirement in extra["test"]:
        name = re.match(r"[A-Za-z0-9_.-]+(\[[\w,]+\])?", requirement).group(0)
        if name.startswith("toolkit["):  # another extra of the toolkit
            assert f"the {name.removeprefix('toolkit')} extra" in comment, comment
        else:
            assert name.lower() in comment.lower(), f"README's [test] comment leaves out {name}: {comment}"


def test_stack_command_description_names_every_member_of_stack_job():
    """"On the command line": ``toolkit train --model stack`` fits ``recipes.STACK_JOB``. The README described it
    as "NBSVM on 1-3-grams + pooled domain vectors", leaving out the word-vector-cluster member that
    ``clusters=1000`` adds (the fitted model's ``member_names_`` are ngrams, clusters, vectors)."""
    from toolkit import StackedTextClassifier
    from toolkit.models.recipes import STACK_JOB

    claim = " ".join(re.search(r"`toolkit train --model stack` fits the stacked model.*?\)", TEXT,
                               flags=re.DOTALL).group(0).split())
    members = re.search(r"its members ((?:`\w+`(?:, | and )?)+)", claim)
    assert members, claim
    named = re.findall(r"`(\w+)`", members.group(1))
    expected = [name for name, _ in StackedTextClassifier(**STACK_JOB)._members(0)]  # unfitted: no vectors load
    assert named == expected, f"README: {named}; STACK_JOB fits {expected}"
    assert f"{STACK_JOB['clusters']:,} word-vector clusters" in claim


def test_main_job_summary_lines_are_what_train_prints():
    """"Two commands": the two example lines of ``toolkit train``'s summary have the CLI's format (with
    ``...`` for the values they leave out), and the "+1.65 accuracy points" is the difference of their
    accuracies."""
    from toolkit.cli import train

    test_line, baseline_line = re.findall(r"^    ((?:Test|Baseline) .*)$", TEXT, flags=re.MULTILINE)[:2]

    def number(name, line):
        return float(re.search(rf"{name} ([\d.]+)", line).group(1))

    def matches(readme_line, printed):
        pattern = ".*?".join(re.escape(part) for part in readme_line.split("..."))  # "..." stands for values
        return re.fullmatch(pattern, printed) is not None

    accuracy, baseline = number("Test accuracy", test_line), number("accuracy", baseline_line.split(":", 1)[1])
    m = {"accuracy": accuracy, "balanced_accuracy": number("balanced accuracy", test_line), "f1": 0.92,
         "roc_auc": number("ROC AUC", test_line), "n_test": 25000, "n_train": 25000, "fit_seconds": 62.2}
    printed = (f"Test {train._format_metrics(m)} on {m['n_test']} documents "
               f"(trained on {m['n_train']} in {m['fit_seconds']:.1f} s)")  # as toolkit/cli/train.py prints it
    assert matches(test_line, printed), (test_line, printed)
    b = {"accuracy": baseline, "balanced_accuracy": 0.9, "f1": 0.9, "roc_auc": 0.96, "C": 30.0,
         "model": train.BASELINE_NAME}
    printed = (f"Baseline {b['model']} (C={b['C']:g}, chosen on a validation split of the training data): "
               f"{train._format_metrics(b)}; toolkit model {100 * (accuracy - baseline):+.2f} accuracy points")
    assert matches(baseline_line, printed), (baseline_line, printed)
    source = inspect.getsource(train)
    assert "chosen on a validation split of the training data): " in source and "accuracy points" in source
