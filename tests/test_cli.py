"""The CLI through typer's CliRunner, plus real subprocess runs of cli.py."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from toolkit.cli import app

ROOT = Path(__file__).resolve().parents[1]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def runner():
    return CliRunner()


def invoke(runner, *args, input=None):
    return runner.invoke(app, [str(a) for a in args], input=input)


def assert_error(result, pattern):
    """Exit code != 0, one 'Error: ...' line on stderr matching pattern, no traceback."""
    import re

    assert result.exit_code != 0, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: ")
    assert re.search(pattern, lines[0]), lines[0]
    assert "Traceback" not in result.stderr


def run_cli(*args, env=None, input=None, timeout=300):
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, str(ROOT / "cli.py"), *map(str, args)], capture_output=True, text=True,
        env=full_env, input=input, timeout=timeout, cwd=ROOT,
    )


# ------------------------------------------------------------------------ basics


def test_cli_help_lists_commands(runner):
    result = invoke(runner, "--help")
    assert result.exit_code == 0
    for command in ("tokenize", "vectorize", "train", "evaluate", "predict", "data", "vectors"):
        assert command in result.stdout
    result = invoke(runner, "vectors", "--help")
    for command in ("info", "similar", "analogy", "coverage", "convert", "train", "map"):
        assert command in result.stdout


def test_cli_help_does_not_import_tensorflow_subprocess():
    """``python cli.py --help`` in a fresh process: no TensorFlow, Keras, spaCy or gensim import."""
    out = subprocess.run(
        [sys.executable, "-X", "importtime", str(ROOT / "cli.py"), "--help"],
        capture_output=True, text=True, cwd=ROOT, timeout=60,
    )
    assert out.returncode == 0 and "Usage" in out.stdout
    imported = {line.rsplit("|", 1)[-1].strip().split(".")[0] for line in out.stderr.splitlines() if "|" in line}
    assert "typer" in imported
    assert not imported & {"tensorflow", "keras", "spacy", "gensim", "matplotlib", "sklearn"}


def test_cli_version(runner):
    import toolkit

    result = invoke(runner, "--version")
    assert result.exit_code == 0 and result.stdout == f"toolkit {toolkit.__version__}\n"
    out = subprocess.run([sys.executable, "-m", "toolkit", "--version"], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0 and out.stdout == result.stdout  # python -m toolkit runs the same app


# -------------------------------------------------------------------------- data


def test_cli_data_list_info_fetch(runner, shared_data, tmp_path):
    result = invoke(runner, "data", "list", "--data-dir", shared_data, "--cache-dir", tmp_path)
    assert result.exit_code == 0, result.output
    lines = {line.split()[0]: line for line in result.stdout.splitlines()[1:]}
    assert "offline" in lines["imdb"] and "remote" in lines["glove.6B.300d"]

    result = invoke(runner, "data", "list", "--json", "--data-dir", shared_data)
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert {"imdb", "glove.6B.50d", "word2vec-google-news-300"} <= {r["name"] for r in rows}

    result = invoke(runner, "data", "info", "glove.6B.50d", "--data-dir", shared_data)
    info = json.loads(result.stdout)
    assert info["format"] == "glove" and info["status"] == "offline" and info["member"] == "glove.6B.50d.txt"

    result = invoke(runner, "data", "fetch", "imdb", "--data-dir", shared_data)
    assert result.exit_code == 0 and result.stdout.strip() == str(shared_data / "aclImdb_v1.tar.gz")


def test_cli_data_unknown_manifest(runner):
    assert_error(invoke(runner, "data", "info", "imbd"), r"Unknown data manifest 'imbd'. Did you mean 'imdb'\? Known manifests: .*imdb")
    assert_error(invoke(runner, "data", "fetch", "glove.6B.51d"), r"Unknown data manifest 'glove.6B.51d'")


def test_cli_data_fetch_unknown_manifest_subprocess():
    out = run_cli("data", "fetch", "nosuchdata")
    assert out.returncode == 1
    assert out.stderr.startswith("Error: Unknown data manifest 'nosuchdata'") and "Traceback" not in out.stderr
    assert out.stdout == ""


def test_cli_debug_shows_traceback_subprocess():
    out = run_cli("--debug", "data", "info", "nosuchdata")
    assert out.returncode != 0 and "Traceback" in out.stderr and "ManifestError" in out.stderr


# ------------------------------------------------------------- bad input (shared)


@pytest.fixture
def bad_inputs(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.md").write_text("not a .txt file")
    binary = tmp_path / "weights.txt"
    binary.write_bytes(b"fine\n\x80\x81\xfe\xff\n")
    csv = tmp_path / "reviews.csv"
    csv.write_text("review,label\ngreat,pos\n", encoding="utf-8")
    return {"missing": tmp_path / "missing.txt", "empty": empty, "binary": binary, "csv": csv}


@pytest.mark.parametrize(
    "case, pattern",
    [
        ("missing", r"Input not found: '.*missing\.txt'"),
        ("empty", r"No text files .* found in .*empty"),
        ("binary", r"Cannot read '.*weights\.txt' as utf-8 text \(line 2"),
        ("csv", r"Column 'text' \(--column\) not found in .*reviews\.csv; its columns are \['review', 'label'\]\. "
                r"Pass --column <one of them>"),
    ],
)
def test_cli_tokenize_bad_input(runner, bad_inputs, tmp_path, case, pattern):
    out = tmp_path / "tokens.jsonl"
    assert_error(invoke(runner, "tokenize", bad_inputs[case], "-o", out), pattern)
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_cli_vectorize_missing_input_writes_nothing(runner, tmp_path):
    out = tmp_path / "x.npz"
    assert_error(invoke(runner, "vectorize", tmp_path / "nope.csv", "-o", out), r"Input not found")
    assert list(tmp_path.iterdir()) == []


def test_cli_predict_not_a_model(runner, tmp_path):
    folder = tmp_path / "not-a-model"
    folder.mkdir()
    (folder / "README.txt").write_text("hello")
    assert_error(invoke(runner, "predict", folder, "a fine film"), r"not-a-model")
    assert_error(invoke(runner, "predict", tmp_path / "absent", "a fine film"), r"absent")


def test_cli_evaluate_not_a_model(runner, tmp_path, data_dir_env):
    folder = tmp_path / "junk"
    folder.mkdir()
    (folder / "config.json").write_text("{not json")
    assert_error(invoke(runner, "evaluate", folder, "imdb", "--limit", "10"), r"junk")


def test_cli_predict_not_a_model_subprocess_one_line(tmp_path):
    """A real run: TensorFlow's start-up notices must not bury the one-line error."""
    (tmp_path / "notes.txt").write_text("hello")
    out = run_cli("predict", tmp_path, "a fine film")
    assert out.returncode == 1 and out.stdout == ""
    assert out.stderr.splitlines() == [out.stderr.strip()] and out.stderr.startswith("Error: ")
    assert "is not a toolkit model folder" in out.stderr


# ---------------------------------------------------------------------- tokenize


def test_cli_tokenize_stdin_to_stdout(runner):
    result = invoke(runner, "-q", "tokenize", input="A <br />great film!\n\nAwful.\n")
    assert result.exit_code == 0, result.output
    assert [json.loads(line) for line in result.stdout.splitlines()] == [["a", "great", "film", "!"], ["awful", "."]]


def test_cli_tokenize_options_and_output_file(runner, tmp_path):
    src = tmp_path / "reviews.jsonl"
    src.write_text('{"review": "Not a good movie."}\n{"review": "Loved it"}\n', encoding="utf-8")
    out = tmp_path / "tokens.jsonl"
    result = invoke(runner, "-q", "tokenize", src, "--column", "review", "-o", out,
                    "--set", "ngram_range=(1, 2)", "--set", "remove_punct=true")
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert rows == [["not", "a", "good", "movie", "not a", "a good", "good movie"], ["loved", "it", "loved it"]]


def test_cli_tokenize_unknown_setting(runner):
    result = invoke(runner, "tokenize", "--set", "lowercas=false", input="x\n")
    assert_error(result, r"Invalid parameter 'lowercas' for estimator SpacyTokenizer.*Valid parameters are: .*'lowercase'")


def test_cli_tokenize_real_imdb(runner, shared_data, tmp_path):
    """Real IMDB reviews (with their <br /> tags), read from a file of lines."""
    from toolkit.data.datasets import load_imdb

    texts = [t.replace("\n", " ") for t in load_imdb("train", data_dir=shared_data, limit=4).texts]
    src = tmp_path / "reviews.txt"
    src.write_text("\n".join(texts) + "\n", encoding="utf-8")
    out = invoke(runner, "-q", "tokenize", src, "--set", "remove_punct=true")
    assert out.exit_code == 0, out.output
    assert len(out.stdout.splitlines()) == 4
    tokens = json.loads(out.stdout.splitlines()[0])
    assert len(tokens) > 20 and "<br" not in " ".join(tokens) and all(t == t.lower() for t in tokens)


# ------------------------------------------------------------- train/evaluate/predict

# explicit, so these tests do not follow the main job's recipe (tests/test_cli_tasks.py checks the merge)
TINY = ["--set", "architecture=bag", "--set", "ngram_range=(1, 1)", "--set", "epochs=1", "--set", "maxlen=50",
        "--set", "max_tokens=2000", "--set", "validation_split=0.1"]


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory, shared_data):
    """One quick `toolkit train` on 200 real IMDB reviews, shared by the tests below.

    The data folder is given by --data-dir, not TOOLKIT_DATA_DIR: the model finds GloVe 6B-50d (by its
    manifest name) there too. It tried to download GloVe before, which fails offline."""
    out = tmp_path_factory.mktemp("cli-run") / "run"
    assert "TOOLKIT_DATA_DIR" not in os.environ
    result = CliRunner().invoke(app, ["train", "--limit", "200", "--data-dir", str(shared_data), "-o", str(out),
                                      *TINY])  # GloVe 6B-50d
    assert "TOOLKIT_DATA_DIR" not in os.environ  # set for the run only
    assert result.exit_code == 0, result.output + repr(result.exception)
    return out, result


def test_cli_train_writes_run_folder(trained_run):
    out, result = trained_run
    metrics = json.loads((out / "metrics.json").read_text())
    assert json.loads(result.stdout) == {k: v for k, v in metrics.items() if k != "settings"}
    assert metrics["n_train"] == metrics["n_test"] == 200
    assert {"precision", "recall", "f1", "roc_auc"} <= set(metrics) and metrics["classes"] == ["neg", "pos"]
    (tn, fp), (fn, tp) = metrics["confusion_matrix"]
    assert tn + fp + fn + tp == 200 and metrics["accuracy"] == pytest.approx((tn + tp) / 200)
    assert metrics["recall"] == pytest.approx(tp / (tp + fn))
    assert metrics["settings"]["epochs"] == 1 and metrics["settings"]["vectors"] == "glove.6B.50d"
    for png in ("history.png", "confusion_matrix.png"):
        data = (out / png).read_bytes()
        assert data[:8] == PNG_SIGNATURE and len(data) > 10_000
    assert (out / "model" / "config.json").is_file()
    assert "Test accuracy" in result.stderr and "Embedding coverage" in result.stderr
    assert sorted(p.name for p in out.parent.iterdir()) == ["run"]  # no temp folders left


def test_cli_train_metrics_are_those_of_the_saved_model_on_the_test_split(trained_run, data_dir_env):
    """Score the saved model by hand on the same 200 test reviews: metrics.json must agree exactly."""
    from toolkit.cli._inputs import load_train_test
    from toolkit.models.persistence import load_model

    out, _ = trained_run
    metrics = json.loads((out / "metrics.json").read_text())
    _, _, x_test, y_test = load_train_test("imdb", limit=200, random_state=0)
    predicted = load_model(out / "model").predict(x_test)
    assert metrics["accuracy"] == sum(p == t for p, t in zip(predicted, y_test)) / len(y_test)
    assert metrics["confusion_matrix"][1][1] == sum(p == t == "pos" for p, t in zip(predicted, y_test))


def test_cli_train_reports_the_baseline(trained_run):
    """TF-IDF + LR on the same split, in metrics.json and on stderr; it beats chance on 200 real reviews."""
    out, result = trained_run
    baseline = json.loads((out / "metrics.json").read_text())["baseline"]
    assert baseline["model"].startswith("TF-IDF 1-2-grams") and baseline["n_samples"] == 200
    (tn, fp), (fn, tp) = baseline["confusion_matrix"]
    assert baseline["accuracy"] == pytest.approx((tn + tp) / 200) and baseline["accuracy"] > 0.6
    assert "Baseline TF-IDF 1-2-grams" in result.stderr and f"accuracy {baseline['accuracy']:.4f}" in result.stderr


def test_cli_train_replaces_a_run_folder_only_with_force(trained_run, data_dir_env, tmp_path):
    out = tmp_path / "run"
    shutil.copytree(trained_run[0], out)
    before = (out / "metrics.json").read_text()
    result = CliRunner().invoke(app, ["train", "--limit", "40", "-o", str(out), *TINY])
    assert_error(result, r"Run folder .*run exists \(an earlier run\); pass --force")
    assert (out / "metrics.json").read_text() == before
    result = CliRunner().invoke(app, ["-q", "train", "--limit", "40", "--no-baseline", "-o", str(out), "--force",
                                      "--vectors", "none", *TINY])
    assert result.exit_code == 0, result.output
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["n_train"] == 40 and "baseline" not in metrics and metrics["settings"]["vectors"] is None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


@pytest.mark.parametrize("model, settings, members", [
    ("stack", [], ["ngrams", "clusters", "vectors"]),  # recipes.STACK_JOB's members
    # (a "ratings" member, for which the CLI passes the IMDB reviews' stars (without them fit leaves it out): the
    # stack-many run below has one; a ("stack", --set ratings_alpha=0.1) run took the same path, 14 s more)
    # recipes.STACK_MANY_JOB's: a Keras member inside. In loky workers that already ran other members,
    # loading TensorFlow trips loky's memory-leak check, which replaces the worker with a UserWarning:
    # pyproject.toml ignores it (as an error it killed loky's manager thread and this test hung)
    # (and its "ratings" member, which learns the stars the CLI passes)
    ("stack-many", [], ["ngrams", "ngrams_nbsvm", "tail", "ratings", "vectors", "neighbors"]),
])
@pytest.mark.slow
def test_cli_train_stack_model_round_trip(data_dir_env, glove_small, tmp_path, model, settings, members):
    """--model stack / stack-many: the stacked model on 200 real reviews, in a real process; its saved model
    predicts what metrics.json scored, and stderr has the CLI's lines only: no TensorFlow start-up notices
    from the worker processes that fit the Keras member (they reached the terminal before the workers
    imported TensorFlow muted, as the CLI's own process does)."""
    from toolkit.cli._inputs import load_train_test
    from toolkit.models.persistence import load_model
    from toolkit.models.stacking import StackedTextClassifier

    out = tmp_path / "run"
    # the vector members' default vectors_Cs (0.001-1.0): "--set vectors_Cs=4" (np.logspace(-4, 4, 4)) put C=21.5
    # and 10,000 in, where lbfgs takes hundreds of iterations (1-3 CPU s more per run, measured)
    # cli.py run by a script that says at exit whether the CLI's process imported TensorFlow
    track = ("import atexit, runpy, sys\n"
             "atexit.register(lambda: print('tensorflow imported:', 'tensorflow' in sys.modules, file=sys.stderr))\n"
             "sys.argv = sys.argv[1:]\n"
             "runpy.run_path(sys.argv[0], run_name='__main__')\n")
    args = ["train", "--model", model, "--limit", "200", "--vectors", glove_small, "--set", "cv=3", *settings, "-o", out]
    result = subprocess.run([sys.executable, "-c", track, str(ROOT / "cli.py"), *map(str, args)], capture_output=True,
                            text=True, env=dict(os.environ), timeout=300, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    # TensorFlow only where a member is a Keras model (stack-many's "ngrams_nbsvm"): it cost every --model stack
    # run ~6 CPU s and some hundred MB, unused
    assert f"tensorflow imported: {model == 'stack-many'}" in result.stderr.splitlines(), result.stderr[-2000:]
    tf_notices = [line for line in result.stderr.splitlines()
                  if "absl::InitializeLog" in line or "oneDNN" in line or "cuda" in line.lower()]
    assert not tf_notices, result.stderr
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["settings"]["model"] == model and metrics["settings"]["vectors"] == str(glove_small)
    assert metrics["n_train"] == metrics["n_test"] == 200 and metrics["accuracy"] > 0.6  # chance is 0.5
    assert "baseline" in metrics and "Baseline TF-IDF" in result.stderr
    assert "domain vectors are trained on the first run" not in result.stderr  # a vectors file: nothing to train
    assert sorted(p.name for p in out.iterdir()) == ["confusion_matrix.png", "metrics.json", "model"]  # no history
    loaded = load_model(out / "model")
    assert isinstance(loaded[-1], StackedTextClassifier)
    assert loaded[-1].member_names_ == members
    # minutes of member fits on the full data: a bar over them while the command runs, not kept in the model
    assert "stack fits" in result.stderr and loaded[-1].verbose == 0
    _, _, x_test, y_test = load_train_test("imdb", limit=200, random_state=0)
    predicted = loaded.predict(x_test)
    assert metrics["accuracy"] == sum(p == t for p, t in zip(predicted, y_test)) / len(y_test)


@pytest.mark.parametrize("keras_member", [True, False])
def test_cli_quiet_workers_hides_lokys_worker_replaced_warning(keras_member):
    """While the CLI fits a stack, loky's warning that its memory-leak check replaced a worker (emitted from
    loky's manager thread) is not shown: its advice (worker timeout, memory leak) is not the user's to act on.
    Other warnings still are."""
    import threading
    import warnings

    from toolkit.cli._common import _WORKER_REPLACED, _quiet_workers

    def warn(message):
        thread = threading.Thread(target=warnings.warn, args=(message, UserWarning))
        thread.start()
        thread.join()

    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")  # above pytest's own filters
        with _quiet_workers(keras_member):
            warn(_WORKER_REPLACED + ". This can be caused by a too short worker timeout or by a memory leak.")
            warn("something else")
    assert [str(w.message) for w in seen] == ["something else"]


def test_cli_evaluate_model(runner, trained_run, data_dir_env, tmp_path):
    out, _ = trained_run
    plot = tmp_path / "cm.png"
    result = invoke(runner, "evaluate", out / "model", "imdb", "--limit", "100", "--plot", plot)
    assert result.exit_code == 0, result.output
    metrics = json.loads(result.stdout)
    assert metrics["n_samples"] == 100 and sum(map(sum, metrics["confusion_matrix"])) == 100
    assert plot.read_bytes()[:8] == PNG_SIGNATURE


def test_cli_evaluate_csv_missing_label_column(runner, trained_run, tmp_path):
    out, _ = trained_run
    csv = tmp_path / "d.csv"
    csv.write_text("text,sentiment\ngood,pos\n", encoding="utf-8")
    # the command's options, not the reader's parameters (it said "Pass label_column=<one of them>")
    assert_error(invoke(runner, "evaluate", out / "model", csv),
                 r"Column 'label' \(--label-column\) not found in .*d\.csv; its columns are \['text', 'sentiment'\]\. "
                 r"Pass --label-column <one of them>\.$")
    jsonl = tmp_path / "d.jsonl"
    jsonl.write_text('{"review": "good", "label": "pos"}\n', encoding="utf-8")
    assert_error(invoke(runner, "evaluate", out / "model", jsonl),
                 r"line 1: key 'text' \(--column\) not found; the record's keys are \['label', 'review'\]\. "
                 r"Pass --column <one of them>\.$")


def test_cli_predict_args_file_stdin(runner, trained_run, tmp_path):
    model = trained_run[0] / "model"
    result = invoke(runner, "predict", model, "A wonderful film.", "Dull and far too long.")
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(rows) == 2 and all(r["label"] in ("neg", "pos") for r in rows)
    assert all(abs(sum(r["probabilities"].values()) - 1) < 1e-4 for r in rows)

    src = tmp_path / "texts.txt"
    src.write_text("great\nawful\nfine\n", encoding="utf-8")
    out = tmp_path / "pred.jsonl"
    assert invoke(runner, "predict", model, "--input", src, "-o", out).exit_code == 0
    assert len(out.read_text().splitlines()) == 3

    result = invoke(runner, "predict", model, input="great\n\nawful\n")
    assert result.exit_code == 0 and len(result.stdout.splitlines()) == 2


@pytest.fixture(scope="module")
def nb_model_folder(imdb_small, tmp_path_factory):
    """A saved NB-architecture pipeline (the main job's kind of folder: nb_weights.npz), fitted on 400 reviews."""
    from toolkit.models import make_text_classifier
    from toolkit.models.persistence import save_model

    texts, labels = imdb_small
    pipe = make_text_classifier(architecture="nbsvm", ngram_range=(1, 2), maxlen=None, epochs=1, max_tokens=20000,
                                random_state=0).fit(texts[:400], labels[:400])
    return save_model(pipe, tmp_path_factory.mktemp("nb") / "model")


def _cli_in_fresh_process(*commands):
    """``main(args)`` for each args of ``commands``, one after the other in one fresh Python: (the stdout of each
    command, whether TensorFlow had been imported after each command, stderr)."""
    code = ("import sys\nfrom toolkit.cli import main\nfor args in %r:\n    try:\n        main(args)\n"
            "    except SystemExit as e:\n        assert not e.code, e.code\n"
            "    print('--- end of command; tensorflow imported:', 'tensorflow' in sys.modules)\n" % (commands,))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300,
                         check=False)
    assert out.returncode == 0, out.stderr[-2000:]
    parts = re.split(r"^--- end of command; tensorflow imported: (True|False)\n", out.stdout, flags=re.MULTILINE)
    assert len(parts) == 2 * len(commands) + 1 and parts[-1] == "", out.stdout
    return [part.rstrip("\n") for part in parts[:-1:2]], [flag == "True" for flag in parts[1::2]], out.stderr


@pytest.mark.slow
def test_cli_predict_and_evaluate_of_an_nb_folder_import_no_tensorflow(nb_model_folder, trained_run, tmp_path):
    """The main job's folder loads and predicts without Keras (nb_weights.npz), but `toolkit predict` and
    `toolkit evaluate` imported TensorFlow before loading it: ~4 CPU s of a one-review prediction. A folder
    whose model needs Keras (trained_run: the bag architecture) still gets it imported with stderr muted.
    The Keras folder's predict and evaluate each run in a process of their own, so that each command's muted
    import is seen: the NB folder's predict and evaluate run first in the predict's process (neither imports
    TensorFlow, which is checked after each command), which saves a third Python start."""
    csv = tmp_path / "two.csv"
    csv.write_text("text,label\nA wonderful film.,pos\nDull and far too long.,neg\n", encoding="utf-8")

    def args(folder, command):
        return ["-q", "predict", str(folder), "A wonderful film."] if command == "predict" else [
            "-q", "evaluate", str(folder), str(csv)]

    def check(command, stdout):
        result = json.loads(stdout)
        assert result["label"] in ("pos", "neg") if command == "predict" else result["n_samples"] == 2

    keras_folder = trained_run[0] / "model"
    stdouts, imported, stderr = _cli_in_fresh_process(args(nb_model_folder, "predict"),
                                                      args(nb_model_folder, "evaluate"), args(keras_folder, "predict"))
    assert imported == [False, False, True]
    for command, stdout in zip(("predict", "evaluate", "predict"), stdouts):
        check(command, stdout)
    assert stderr == ""  # -q: neither TensorFlow's start-up notices nor a progress bar
    (stdout,), imported, stderr = _cli_in_fresh_process(args(keras_folder, "evaluate"))
    assert imported == [True]
    check("evaluate", stdout)
    assert stderr == ""


def test_cli_predict_arguments_that_read_like_inputs(runner, trained_run, tmp_path):
    """The arguments of predict are texts, but `toolkit tokenize FILE` / `tokenize -` read a file / stdin.
    Before: `predict MODEL -` classified the text "-", `predict MODEL FILE` the file's name, silently, and
    `predict MODEL TEXT --input FILE` ignored FILE."""
    model = trained_run[0] / "model"
    src = tmp_path / "texts.txt"
    src.write_text("great\nawful\nfine\n", encoding="utf-8")

    result = invoke(runner, "predict", model, "-", input="great\nawful\n")  # '-': stdin
    assert result.exit_code == 0, result.output
    assert len(result.stdout.splitlines()) == 2

    result = invoke(runner, "predict", model, src)  # still one text, with a warning naming --input
    assert result.exit_code == 0, result.output
    assert len(result.stdout.splitlines()) == 1
    assert f"use --input {src}" in result.stderr and "is also the path of a file" in result.stderr
    assert "Warning" not in invoke(runner, "-q", "predict", model, src).stderr  # -q: errors only

    result = invoke(runner, "predict", model, "A wonderful film.", "--input", src)
    assert_error(result, r"Give the texts as arguments or with --input, not both: --input '.*texts\.txt' would be ignored")
    assert result.stdout == ""


def test_cli_predict_skip_bad(runner, trained_run):
    """A document longer than spaCy's max_length (1,000,000 characters) fails the batch, unless --skip-bad."""
    model = trained_run[0] / "model"
    texts = "A wonderful film.\n" + "long " * 200_001 + "\nDull and far too long.\n"
    assert_error(invoke(runner, "-q", "predict", model, input=texts),
                 r"Non-blank line 2 of standard input has 1,?000,?005 characters")
    result = invoke(runner, "-q", "predict", model, "--skip-bad", input=texts)
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(rows) == 3 and rows[1] == {"label": None, "skipped": True}
    assert rows[0]["label"] in ("neg", "pos") and rows[2]["label"] in ("neg", "pos")


def test_predict_skip_bad_scores_only_the_kept_documents(trained_run, caplog):
    """A skipped document is not scored: before, it went through the model as an empty document and the
    classifier logged that it got the class prior, for a row the output reports as skipped. The kept rows
    get what they get on their own."""
    import logging

    from toolkit.cli.train import predict

    model = trained_run[0] / "model"
    texts = ["A wonderful film.", "long " * 200_001, "Dull and far too long."]
    with caplog.at_level(logging.INFO):
        rows = predict(model, texts, skip_bad=True)
    assert rows[1] == {"label": None, "skipped": True}
    assert "no tokens" not in caplog.text and "class prior" not in caplog.text, caplog.text
    assert [rows[0], rows[2]] == predict(model, [texts[0], texts[2]])
    assert predict(model, [texts[1]], skip_bad=True) == [{"label": None, "skipped": True}]


def test_cli_train_unknown_setting(runner, tmp_path):
    out = tmp_path / "run"
    result = invoke(runner, "train", "--set", "epoch=1", "-o", out)
    assert_error(result, r"Invalid parameter 'epoch' for make_text_classifier.*'epochs'")
    assert not out.exists()


def test_cli_train_refuses_foreign_output_folder(runner, tmp_path, data_dir_env):
    out = tmp_path / "important"
    out.mkdir()
    (out / "thesis.tex").write_text("keep me")
    result = invoke(runner, "train", "--limit", "20", "-o", out, *TINY)
    assert_error(result, r"Output .*important exists and is not a toolkit run folder")
    assert [p.name for p in out.iterdir()] == ["thesis.tex"]


def test_cli_train_csv_data(runner, tmp_path, shared_data):
    """`toolkit train` on a CSV of real IMDB reviews with --test-size."""
    import csv

    from toolkit.data.datasets import load_imdb

    ds = load_imdb("test", data_dir=shared_data, limit=120)
    path = tmp_path / "reviews.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["review", "sentiment"])
        writer.writerows((t, ds.target_names[y]) for t, y in zip(ds.texts, ds.labels))
    out = tmp_path / "run"
    result = invoke(runner, "-q", "train", "--data", path, "--column", "review", "--label-column", "sentiment",
                    "--test-size", "0.25", "--vectors", "none", "-o", out, *TINY)
    assert result.exit_code == 0, result.output
    assert result.stderr == ""  # --quiet: nothing but errors
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["n_train"] == 90 and metrics["n_test"] == 30


def test_cli_train_saves_the_span_table_of_the_training_texts_only(tmp_path, shared_data):
    """The model folder's spans.npz (spaCy's tokens of the spans the process met, for a warm start after
    load_model) is written right after the fit: spans of the test texts are not in it. Fresh process."""
    import csv

    import numpy as np

    from toolkit.data.datasets import load_imdb
    from toolkit.text.tokenizer import _SEPARATOR

    ds = load_imdb("train", data_dir=shared_data, shuffle=True, random_state=0, limit=160)
    rows = [(t, ds.target_names[y]) for t, y in zip(ds.texts, ds.labels)]
    for name, part, marker in (("train.csv", rows[:120], "Qzxjtrainonly."), ("test.csv", rows[120:], "Qzxjtestonly!")):
        with open(tmp_path / name, "w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(["review", "sentiment"])
            writer.writerows((f"{text} {marker}", label) for text, label in part)
    out = tmp_path / "run"
    result = run_cli("-q", "train", "--data", tmp_path / "train.csv", "--test-data", tmp_path / "test.csv",
                     "--column", "review", "--label-column", "sentiment", "--vectors", "none",
                     "--no-baseline", "-o", out, *TINY)
    assert result.returncode == 0, result.stderr
    with np.load(out / "model" / "spans.npz") as table:
        spans = set(table["spans"].tobytes().decode("utf-8").split(_SEPARATOR))
    assert "Qzxjtrainonly." in spans and "Qzxjtestonly!" not in spans
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


# ----------------------------------------------------------------------- vectors


def test_cli_vectors_info_similar_analogy(runner, data_dir_env):
    result = invoke(runner, "vectors", "info", "glove.6B.50d")
    assert result.exit_code == 0, result.output
    info = json.loads(result.stdout)
    assert info["n_words"] == 400_000 and info["dim"] == 50 and info["first_words"][0] == "the"

    result = invoke(runner, "vectors", "similar", "film", "-n", "3")
    words = [line.split("\t")[0] for line in result.stdout.splitlines()]
    assert len(words) == 3 and "movie" in words

    result = invoke(runner, "vectors", "analogy", "man", "king", "woman", "-n", "1")
    assert result.stdout.split("\t")[0] == "queen"

    assert_error(invoke(runner, "vectors", "similar", "qwzxv"), r"The word 'qwzxv' has no vector")


def test_cli_vectors_coverage_map_convert(runner, data_dir_env, tmp_path):
    src = tmp_path / "reviews.txt"
    src.write_text("A great film, truly wonderful.\nThe zorblaxian movie was bad.\n", encoding="utf-8")
    result = invoke(runner, "vectors", "coverage", src, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["n_covered"] == report["n_tokens"] - 1 and report["top_missing"][0][0] == "zorblaxian"

    png = tmp_path / "map.png"
    result = invoke(runner, "vectors", "map", "king", "queen", "man", "woman", "paris", "france", "-o", png)
    assert result.exit_code == 0, result.output
    assert png.read_bytes()[:8] == PNG_SIGNATURE and png.stat().st_size > 10_000

    out = tmp_path / "small.txt"
    assert invoke(runner, "vectors", "convert", "glove.6B.50d", out, "--limit", "1000").exit_code == 0
    assert out.read_text().splitlines()[0] == "1000 50"
    native = tmp_path / "small.kv"
    assert invoke(runner, "vectors", "convert", out, native).exit_code == 0
    info = json.loads(invoke(runner, "vectors", "info", native, "--format", "native").stdout)  # pickles only when named
    assert (info["n_words"], info["dim"]) == (1000, 50)
    assert_error(invoke(runner, "vectors", "convert", out, tmp_path / "x.txt", "--to", "xml"),
                 r"--to xml: give one of word2vec, word2vec-binary, glove, native")
    assert not (tmp_path / "x.txt").exists()


def test_cli_vectors_missing_file(runner, tmp_path):
    assert_error(invoke(runner, "vectors", "info", tmp_path / "nope.vec"), r"nope\.vec")


def test_cli_vectors_train_word2vec(runner, shared_data, tmp_path):
    from toolkit.data.datasets import load_imdb

    src = tmp_path / "reviews.txt"
    texts = load_imdb("train", data_dir=shared_data, limit=200).texts
    src.write_text("\n".join(t.replace("\n", " ") for t in texts), encoding="utf-8")
    out = tmp_path / "w2v.bin"
    result = invoke(runner, "-q", "vectors", "train", src, out, "--set", "vector_size=16", "--set", "epochs=2")
    assert result.exit_code == 0, result.output
    info = json.loads(invoke(runner, "vectors", "info", out).stdout)
    assert info["dim"] == 16 and info["n_words"] > 500
    # trained on one thread by default: a second run writes the same file (two threads wrote other vectors)
    again = tmp_path / "w2v_again.bin"
    assert invoke(runner, "-q", "vectors", "train", src, again, "--set", "vector_size=16", "--set", "epochs=2",
                  ).exit_code == 0
    assert again.read_bytes() == out.read_bytes()
    assert_error(invoke(runner, "vectors", "train", src, tmp_path / "x.bin", "--set", "size=16"),
                 r"Invalid parameter 'size' for train_word2vec. Valid parameters are: .*'vector_size'")


# --------------------------------------------------------------------- vectorize


def test_cli_vectorize_sequences_and_vocabulary(runner, shared_data, tmp_path):
    import numpy as np

    from toolkit.data.datasets import load_imdb
    from toolkit.text.vocabulary import Vocabulary

    src = tmp_path / "reviews.jsonl"
    texts = load_imdb("train", data_dir=shared_data, limit=50).texts
    src.write_text("".join(json.dumps({"text": t}) + "\n" for t in texts), encoding="utf-8")
    out = tmp_path / "x.npz"
    result = invoke(runner, "-q", "vectorize", src, "-o", out, "--max-tokens", "500", "--maxlen", "80",
                    "--padding", "post")
    assert result.exit_code == 0, result.output
    x = np.load(out)["x"]
    assert x.shape == (50, 80) and x.dtype == np.int32 and x.max() < 500
    vocab = Vocabulary.from_json(tmp_path / "x.vocab.json")
    assert len(vocab) == 500 and vocab.tokens[:2] == ["<pad>", "<unk>"]
    assert result.stdout.split() == [str(out), str(tmp_path / "x.vocab.json")]


@pytest.mark.parametrize("mode", ["multi_hot", "count", "tf_idf"])
def test_cli_vectorize_bag_modes(runner, tmp_path, mode):
    import scipy.sparse as sp

    out = tmp_path / "bag.npz"
    result = invoke(runner, "-q", "vectorize", "-o", out, "--output-mode", mode, input="good good film\nbad film\n")
    assert result.exit_code == 0, result.output
    matrix = sp.load_npz(out)
    assert matrix.shape[0] == 2 and matrix.nnz == 4


def test_cli_vectorize_hashing_trick_matches_scikit_learn(runner, tmp_path):
    # The chapter's hashing trick from the shell; before, --output-mode hashing was refused (only the library had it).
    import scipy.sparse as sp
    from sklearn.feature_extraction.text import HashingVectorizer

    out = tmp_path / "hashed.npz"
    result = invoke(runner, "-q", "vectorize", "-o", out, "--output-mode", "hashing", "--n-features", "16",
                    input="good good film\nbad film\n")
    assert result.exit_code == 0, result.output
    assert result.stdout.split() == [str(out)]  # no vocabulary file: the hashing trick has none
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hashed.npz"]
    expected = HashingVectorizer(n_features=16, alternate_sign=False, norm=None, analyzer=lambda doc: doc)
    want = expected.transform([["good", "good", "film"], ["bad", "film"]])
    assert (sp.load_npz(out) != want).nnz == 0 and want.sum() == 5


@pytest.mark.parametrize("args, message", [
    (["--n-features", "16"], r"n_features \(--n-features\) sets the columns of the hashing trick"),
    (["--output-mode", "hashing", "--max-tokens", "10"], r"has no vocabulary, so max_tokens / min_count"),
    (["--output-mode", "hashing", "--vocabulary", "v.json"], r"hashing has no vocabulary to write; drop --vocabulary"),
])
def test_cli_vectorize_hashing_options_that_do_not_apply_are_refused(runner, tmp_path, args, message):
    out = tmp_path / "hashed.npz"
    assert_error(invoke(runner, "vectorize", "-o", out, *args, input="good film\n"), message)
    assert list(tmp_path.iterdir()) == []


def test_cli_vectorize_bad_mode_writes_nothing(runner, tmp_path):
    out = tmp_path / "bag.npz"
    result = invoke(runner, "vectorize", "-o", out, "--output-mode", "binary", input="good film\n")
    assert_error(result, r"The 'output_mode' parameter of vectorize must be a str among")
    assert list(tmp_path.iterdir()) == []
