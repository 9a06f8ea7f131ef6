"""The command line as a user meets it: outputs never replaced without --force, inputs checked before the work,
one-line errors that name the option, options that are not silently ignored."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from test_cli import assert_error, invoke, runner  # noqa: F401 (fixture, helpers)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
REVIEWS = "A great film, truly wonderful.\nThe acting was awful and the plot terrible.\nI loved every minute of it.\n"


@pytest.fixture
def reviews(tmp_path) -> Path:
    path = tmp_path / "reviews.txt"
    path.write_text(REVIEWS, encoding="utf-8")
    return path


# ----------------------------------------------------------------------- vectors


def test_vectors_convert_keeps_an_existing_file_without_force(runner, glove_small, tmp_path):
    out = tmp_path / "small.txt"
    out.write_text("precious\n", encoding="utf-8")
    assert_error(invoke(runner, "vectors", "convert", glove_small, out, "--limit", "10"),
                 r"small\.txt exists; pass --force")
    assert out.read_text(encoding="utf-8") == "precious\n"
    result = invoke(runner, "vectors", "convert", glove_small, out, "--limit", "10", "--force")
    assert result.exit_code == 0, result.output
    assert out.read_text(encoding="utf-8").splitlines()[0] == "10 50"


def test_vectors_convert_dash_is_refused_not_a_file_named_dash(runner, glove_small, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert_error(invoke(runner, "vectors", "convert", glove_small, "-", "--limit", "10"),
                 r"OUTPUT '-'.*not standard output; give a file name")
    assert not (tmp_path / "-").exists()


def test_vectors_map_keeps_an_existing_file_without_force(runner, glove_small, tmp_path):
    png = tmp_path / "map.png"
    png.write_bytes(b"precious")
    assert_error(invoke(runner, "vectors", "map", "good", "bad", "film", "-V", glove_small, "-o", png),
                 r"--output .*map\.png exists; pass --force")
    assert png.read_bytes() == b"precious"
    result = invoke(runner, "vectors", "map", "good", "bad", "film", "-V", glove_small, "-o", png, "--force")
    assert result.exit_code == 0, result.output
    assert png.read_bytes()[:8] == PNG_SIGNATURE


def test_vectors_train_checks_its_output_before_training(runner, reviews, tmp_path, monkeypatch):
    def no_training(*args, **kwargs):
        raise AssertionError("trained before the output was checked")

    monkeypatch.setattr("toolkit.cli.vectors.train_vectors", no_training)
    out = tmp_path / "w2v.bin"
    out.write_bytes(b"precious")
    assert_error(invoke(runner, "vectors", "train", reviews, out), r"w2v\.bin exists; pass --force")
    assert out.read_bytes() == b"precious"
    (tmp_path / "afile").write_text("x", encoding="utf-8")
    assert_error(invoke(runner, "vectors", "train", reviews, tmp_path / "afile" / "w2v.bin"),
                 r"Cannot create OUTPUT .*afile.*is a file, not a folder")


def test_vectors_train_replaces_with_force(runner, reviews, tmp_path):
    out = tmp_path / "w2v.txt"
    out.write_text("precious\n", encoding="utf-8")
    result = invoke(runner, "-q", "vectors", "train", reviews, out, "--force", "--set", "vector_size=8",
                    "--set", "min_count=1", "--set", "epochs=1")
    assert result.exit_code == 0, result.output
    assert out.read_text(encoding="utf-8").splitlines()[0].endswith(" 8")


def test_vectors_coverage_checks_the_vectors_before_reading_the_texts(runner, reviews, monkeypatch):
    def no_reading(*args, **kwargs):
        raise AssertionError("texts read before the vectors were checked")

    monkeypatch.setattr("toolkit.cli.vectors._read_texts", no_reading)
    assert_error(invoke(runner, "vectors", "coverage", reviews, "-V", "nope.vec"),
                 r"--vectors 'nope\.vec': no such file .*glove\.6B\.50d")
    assert_error(invoke(runner, "vectors", "coverage", reviews, "-V", "imdb"), r"'imdb' names .* not word vectors")


def test_vectors_coverage_still_works(runner, reviews, glove_small):
    result = invoke(runner, "-q", "vectors", "coverage", reviews, "-V", glove_small, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["n_tokens"] > 10


# -------------------------------------------------------------------------- data


def test_data_list_refuses_a_missing_data_folder(runner, tmp_path, monkeypatch):
    missing = tmp_path / "typo"
    assert_error(invoke(runner, "data", "list", "--data-dir", missing),
                 r"data folder .*typo \(from --data-dir\) does not exist")
    assert_error(invoke(runner, "data", "info", "imdb", "--data-dir", missing), r"typo \(from --data-dir\)")
    monkeypatch.setenv("TOOLKIT_DATA_DIR", str(missing))
    assert_error(invoke(runner, "data", "list"), r"typo \(from TOOLKIT_DATA_DIR\)")


def test_data_list_finds_the_offline_folder(runner, shared_data):
    result = invoke(runner, "data", "list", "--data-dir", shared_data, "--json")
    assert result.exit_code == 0, result.output
    status = {row["name"]: row["status"] for row in map(json.loads, result.stdout.splitlines())}
    assert status["imdb"] == status["glove.6B.50d"] == "offline"


# ------------------------------------------------------------------------- store


@pytest.fixture
def labelled_jsonl(tmp_path) -> Path:
    path = tmp_path / "reviews.jsonl"
    rows = [("A great film, truly wonderful.", "pos"), ("Awful acting, terrible plot.", "neg")]
    path.write_text("".join(json.dumps({"review": t, "y": y}) + "\n" for t, y in rows), encoding="utf-8")
    return path


def test_store_build_never_replaces_a_folder_that_is_not_a_store(runner, labelled_jsonl, tmp_path):
    pytest.importorskip("distributed")
    folder = tmp_path / "precious"
    folder.mkdir()
    (folder / "important.txt").write_text("keep me", encoding="utf-8")
    assert_error(invoke(runner, "store", "build", labelled_jsonl, "-o", folder, "--column", "review", "--force"),
                 r"precious exists and is not a corpus store .*never replaced")
    assert (folder / "important.txt").read_text(encoding="utf-8") == "keep me"


def test_store_build_refuses_a_label_column_it_would_ignore(runner, reviews, tmp_path):
    pytest.importorskip("distributed")
    assert_error(invoke(runner, "store", "build", reviews, "-o", tmp_path / "store", "--label-column", "label"),
                 r"--label-column 'label' needs \.csv or \.jsonl inputs")
    assert not (tmp_path / "store").exists()


@pytest.mark.parametrize("args, pattern", [
    (["--column", "review", "--set", "bogus=1"], r"Invalid parameter 'bogus' for estimator SpacyTokenizer"),
    (["--column", "text"], r"reviews\.jsonl has no column 'text' \(--column\); its columns are \['review', 'y'\]"),
    (["--column", "review", "--label-column", "label"], r"no column 'label' \(--label-column\)"),
])
def test_store_build_checks_columns_and_settings_before_starting(runner, labelled_jsonl, tmp_path, args, pattern):
    pytest.importorskip("distributed")
    assert_error(invoke(runner, "store", "build", labelled_jsonl, "-o", tmp_path / "store", *args), pattern)
    assert not (tmp_path / "store").exists()


def test_store_build_checks_a_csv_with_a_byte_order_mark_as_the_readers_read_it(tmp_path):
    """The pre-flight column check read a CSV saved by Excel ("CSV UTF-8", with a byte order mark) as plain
    UTF-8, so its first column was '\\ufefftext' and `store build` refused a file the readers accept."""
    from toolkit.cli.store import _check_inputs

    path = tmp_path / "excel.csv"
    path.write_text("text,label\ngood film,pos\n", encoding="utf-8-sig")
    _check_inputs([path], "text", "label")  # no error


def test_store_build_glob_that_matches_nothing(runner, tmp_path):
    pytest.importorskip("distributed")
    assert_error(invoke(runner, "store", "build", tmp_path / "nothing" / "*.jsonl", "-o", tmp_path / "store"),
                 r"nothing/\*\.jsonl: no file matches this pattern")


def test_store_build_quiet_keeps_dask_logs_off_stderr(runner, labelled_jsonl, tmp_path):
    pytest.importorskip("distributed")
    dask_logger = logging.getLogger("distributed")
    previous = dask_logger.level
    dask_logger.setLevel(logging.INFO)  # as importing distributed leaves it in a fresh process
    try:
        result = invoke(runner, "-q", "store", "build", labelled_jsonl, "-o", tmp_path / "store", "--column",
                        "review", "--label-column", "y", "--workers", "1")
    finally:
        dask_logger.setLevel(previous)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["n_documents"] == 2
    assert "distributed" not in result.stderr, result.stderr


@pytest.fixture
def store(labelled_jsonl, tmp_path):
    pytest.importorskip("distributed")
    from toolkit.distributed.store import CorpusStore

    path = tmp_path / "store"
    CorpusStore.build(labelled_jsonl, path, text_column="review", label_column="y", scheduler="sync")
    return path


def test_store_info_on_a_file(runner, reviews):
    pytest.importorskip("distributed")
    assert_error(invoke(runner, "store", "info", reviews), r"reviews\.txt is a file, not a corpus store folder")


def _forbid(monkeypatch, target: str, what: str) -> None:
    """Make ``target`` fail the test if it is called: ``what`` must not happen before the checks."""
    def forbidden(*args, **kwargs):
        raise AssertionError(f"{what} before the checks")

    monkeypatch.setattr(target, forbidden)


def test_store_train_checks_the_model_folder_before_training(runner, store, tmp_path, monkeypatch):
    _forbid(monkeypatch, "toolkit.distributed.streaming.fit_from_store", "trained")
    folder = tmp_path / "precious"
    folder.mkdir()
    (folder / "important.txt").write_text("keep me", encoding="utf-8")
    assert_error(invoke(runner, "store", "train", store, "-o", folder, "--force"),
                 r"precious exists and is not a toolkit model folder")
    assert (folder / "important.txt").read_text(encoding="utf-8") == "keep me"
    # save_model's own checks, made before the training: a folder another program wrote (its config.json),
    # and a parent that is a file (a NotADirectoryError toolkit raises on purpose: one line, not "a bug")
    other = tmp_path / "bert"
    other.mkdir()
    (other / "config.json").write_text('{"model_type": "bert"}', encoding="utf-8")
    assert_error(invoke(runner, "store", "train", store, "-o", other, "--force"),
                 r"bert exists and is not a toolkit model folder")
    assert (other / "config.json").is_file()
    afile = tmp_path / "afile"
    afile.write_text("x", encoding="utf-8")
    assert_error(invoke(runner, "store", "train", store, "-o", afile / "model"), r"afile is a file, not a folder")


@pytest.mark.parametrize("case", ["no store", "bogus setting", "model folder exists"])
def test_store_train_checks_before_importing_tensorflow(store, tmp_path, case):
    """README: every path is checked before TensorFlow is imported (a typo costs about a second). `toolkit
    store train` imported it first (4.7 CPU s), then found that the store did not exist."""
    import subprocess
    import sys

    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "notes.txt").write_text("x", encoding="utf-8")
    args = {"no store": ["store", "train", str(tmp_path / "nope"), "-o", str(tmp_path / "m")],
            "bogus setting": ["store", "train", str(store), "-o", str(tmp_path / "m"), "--set", "bogus=1"],
            "model folder exists": ["store", "train", str(store), "-o", str(tmp_path / "model")]}[case]
    code = ("import sys\nfrom toolkit.cli import main\ntry:\n    main(%r)\nexcept SystemExit as e:\n"
            "    print('exit', e.code)\nprint('tensorflow imported:', 'tensorflow' in sys.modules)" % args)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=False)
    assert out.stdout.splitlines() == ["exit 1", "tensorflow imported: False"], out.stdout + out.stderr
    assert out.stderr.startswith("Error: ") and len(out.stderr.strip().splitlines()) == 1, out.stderr


def test_evaluate_checks_the_plot_format_before_scoring(runner, tmp_path, monkeypatch):
    """--plot cm.txt was refused only after the model had scored every document (when the plot was drawn)."""
    _forbid(monkeypatch, "toolkit.cli.train.evaluate", "scored")
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text("{}", encoding="utf-8")
    assert_error(invoke(runner, "evaluate", model, "imdb", "--plot", tmp_path / "cm.txt"),
                 r"cm\.txt: '\.txt' is not an image format matplotlib writes")


# ----------------------------------------------------------------------- train pre-checks


def test_train_nbsvm_vectors_without_vectors_is_refused_before_the_data_are_read(runner, tmp_path, monkeypatch):
    """`--set architecture=nbsvm_vectors --vectors none` failed only in the classifier's fit, after the
    reviews had been read and tokenized; it is now refused with the other input checks."""
    def no_loading(*args, **kwargs):
        raise AssertionError("data were loaded before the settings were checked")

    monkeypatch.setattr("toolkit.cli.train.load_train_test", no_loading)
    out = tmp_path / "run"
    assert_error(invoke(runner, "train", "--set", "architecture=nbsvm_vectors", "--vectors", "none", "-o", out),
                 r"architecture=nbsvm_vectors needs word vectors.*--vectors.*architecture=nbsvm")
    assert not out.exists()


# ----------------------------------------------------------------------- text inputs


def test_text_file_with_a_byte_order_mark_reads_without_it(runner, tmp_path):
    """A UTF-8 file of lines saved by Windows Notepad starts with a byte-order mark: its first document
    began with U+FEFF (first token '\\ufeffgood'), as CSV and JSONL inputs no longer do."""
    from toolkit.cli._inputs import read_input

    path = tmp_path / "notepad.txt"
    path.write_bytes("good film\r\nbad film\r\n".encode("utf-8-sig"))
    assert read_input(path) == ["good film", "bad film"]
    result = invoke(runner, "tokenize", path)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout.splitlines()[0]) == ["good", "film"]


def test_stdin_with_bytes_that_are_not_utf8_is_an_error_naming_the_line(runner):
    """`printf 'caf\\xe9 ok' | toolkit tokenize` printed ["caf", "\\ufffd", "ok"] under the C.UTF-8 locale (its
    stdin replaces bad bytes) and 'a bug in toolkit' under PYTHONIOENCODING=utf-8; stdin is now decoded as a
    file is, with the same message."""
    result = invoke(runner, "tokenize", "-", input=b"fine\ncaf\xe9 ok\n")
    assert_error(result, r"Cannot read standard input as utf-8 text \(line 2, byte 8\)")
    result = invoke(runner, "tokenize", "-", input="\ufeffgood film\n".encode("utf-8"))
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout.splitlines()[0]) == ["good", "film"]
