"""What a shell user of ``train``, ``predict`` and ``evaluate`` got wrong (session 38).

Each test failed before its fix:

- ``train --test-size 50`` (50 test documents, as scikit-learn's ``test_size=50``) failed with "The 'test_size'
  parameter of train_test_split must be a float in the range (0.0, 1.0), an int in the range [1, inf) ... Got
  50.0 instead" (typer reads the option as a float), after TensorFlow had loaded; ``--test-size 1.5`` got the
  same message, naming no option;
- a whole number of test documents at least the number of documents, or a fraction that leaves no training
  document (``--test-size 0.999``), ended in "this is a bug in toolkit" with scikit-learn's traceback;
  ``--random-state -1`` named train_test_split's parameter, after TensorFlow had loaded;
- ``predict`` on a line longer than the tokenizer's max_length said "Document 0 of X", not the line of the
  ``--input`` file (or stdin) or the text argument; ``predict MODEL - -`` / ``predict MODEL TEXT -`` classified
  the string "-"; an empty input (cron's stdin, a blank file) printed nothing and said nothing;
- ``--test-size`` with ``--test-data`` or IMDB was dropped silently; ``train --model stack --set epochs=1``
  listed the stack's parameters without saying epochs belongs to ``--model main``; ``evaluate imdb --split
  tset`` named load_imdb's parameter after the model had loaded;
- ``train --limit 2`` on a file with hundreds of reviews per class said the file "has too few documents of
  class 'neg' (1 document)" and to "add documents of that class";
- ``--force``'s help said evaluate/predict replace "an earlier run folder" and train "a file".

The documents are small samples of real IMDB reviews.
"""

from __future__ import annotations

import csv
import json

import pytest
from typer.testing import CliRunner

from toolkit.cli import app
from toolkit.cli._inputs import SettingError, load_train_test


@pytest.fixture(scope="module")
def reviews(imdb_small):
    """60 real reviews on one line each, and their labels as three classes of strings."""
    texts, labels = imdb_small
    texts = [" ".join(t.split()) for t in texts[:60]]
    labels = [str(label) if i % 5 else "mid" for i, label in enumerate(labels[:60])]
    return texts, labels


@pytest.fixture()
def reviews_csv(reviews, tmp_path):
    texts, labels = reviews
    path = tmp_path / "reviews.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["text", "label"])
        writer.writerows(zip(texts, labels))
    return path


def _one_error(result) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert "Traceback" not in result.stderr and "this is a bug" not in result.stderr, result.stderr
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    return lines[0]


# ------------------------------------------------------------------------------------------------ --test-size


def test_train_test_size_whole_number_is_a_count_of_test_documents(reviews_csv, tmp_path, monkeypatch):
    import toolkit.cli.train as train_module

    seen = {}

    class _Stop(Exception):
        pass

    def fake_train(data, **kwargs):  # what the command hands the training: no fit needed to see it
        seen.update(kwargs)
        raise _Stop

    monkeypatch.setattr(train_module, "train", fake_train)
    monkeypatch.setattr(train_module, "_load_tensorflow_quietly", lambda: None)
    monkeypatch.setattr(train_module, "_fetch_first", lambda *a, **k: None)  # no GloVe download (offline CI)
    result = CliRunner().invoke(app, ["-q", "train", "--data", str(reviews_csv), "--test-size", "15",
                                      "--no-baseline", "-o", str(tmp_path / "run")])
    assert isinstance(result.exception, _Stop), result.output
    assert seen["test_size"] == 15 and isinstance(seen["test_size"], int)
    # and load_train_test takes that count as one: 15 of the 60 documents are held out
    x_train, _, x_test, _ = load_train_test(str(reviews_csv), test_size=seen["test_size"])
    assert (len(x_train), len(x_test)) == (45, 15)


@pytest.mark.parametrize("value", ["1.5", "0", "-0.2", "nan"])
def test_train_test_size_out_of_range_names_the_option_before_anything_loads(value, reviews_csv, tmp_path,
                                                                             monkeypatch):
    import toolkit.cli.train as train_module

    def no_tensorflow():
        raise AssertionError("TensorFlow loaded before --test-size was checked")

    monkeypatch.setattr(train_module, "_load_tensorflow_quietly", no_tensorflow)
    result = CliRunner().invoke(app, ["-q", "train", "--data", str(reviews_csv), f"--test-size={value}",
                                      "-o", str(tmp_path / "run")])
    assert result.exit_code == 1, result.output
    line = _one_error(result)
    assert "--test-size" in line and "fraction" in line, line
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("test_size", [60, 0.999])
def test_test_size_that_leaves_no_training_documents_is_an_input_error(test_size, reviews_csv):
    with pytest.raises(SettingError, match=r"--test-size\) leaves no training documents: .* has 60 documents; "
                                           r"give at most 59 test documents"):
        load_train_test(str(reviews_csv), test_size=test_size)


def test_train_random_state_below_zero_is_a_usage_error_naming_the_option(reviews_csv, tmp_path):
    result = CliRunner().invoke(app, ["-q", "train", "--data", str(reviews_csv), "--random-state", "-1",
                                      "-o", str(tmp_path / "run")])
    assert result.exit_code == 2 and "Invalid value for '--random-state'" in result.stderr, result.output


# ------------------------------------------------------------------------------------------------ predict


@pytest.fixture(scope="module")
def short_model(imdb_small, tmp_path_factory):
    """A bag-of-words model whose tokenizer refuses documents over 3,000 characters, saved as a folder."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    from toolkit.models import save_model
    from toolkit.text import BagEncoder, SpacyTokenizer

    texts, labels = imdb_small
    short = [(t, y) for t, y in zip(texts, labels) if len(t) <= 3000][:120]
    pipe = make_pipeline(SpacyTokenizer(max_length=3000), BagEncoder(output_mode="count"),
                         LogisticRegression(max_iter=300))
    pipe.fit([t for t, _ in short], [y for _, y in short])
    return save_model(pipe, tmp_path_factory.mktemp("short") / "model")


def test_predict_a_text_too_long_names_its_line_or_argument(short_model, imdb_small, tmp_path):
    texts, _ = imdb_small
    long_text = " ".join(" ".join(texts[:40]).split())
    assert len(long_text) > 3000
    ok = " ".join(texts[0].split())[:500]
    lines = tmp_path / "new_reviews.txt"
    lines.write_text(f"{ok}\n\n{long_text}\n", encoding="utf-8")

    from_file = CliRunner().invoke(app, ["-q", "predict", str(short_model), "--input", str(lines)])
    assert from_file.exit_code == 1
    line = _one_error(from_file)
    assert "of X" not in line and "Line 3 of" in line and "new_reviews.txt" in line, line

    from_stdin = CliRunner().invoke(app, ["-q", "predict", str(short_model)], input=f"{ok}\n{long_text}\n")
    assert from_stdin.exit_code == 1
    line = _one_error(from_stdin)
    assert "of X" not in line and "line 2 of standard input" in line, line

    from_args = CliRunner().invoke(app, ["-q", "predict", str(short_model), ok, long_text])
    assert from_args.exit_code == 1
    line = _one_error(from_args)
    assert "of X" not in line and line.startswith("Error: Text argument 2 has"), line

    # --skip-bad still skips it, and the other text is predicted
    skipped = CliRunner().invoke(app, ["-q", "predict", str(short_model), "--skip-bad", ok, long_text])
    assert skipped.exit_code == 0, skipped.output
    rows = [json.loads(row) for row in skipped.stdout.splitlines()]
    assert rows[1] == {"label": None, "skipped": True} and rows[0]["label"] in {"neg", "pos"}


# ------------------------------------------------------------------------------------------------ settings


def test_train_stack_with_a_main_only_setting_says_which_model_has_it(reviews_csv, tmp_path):
    result = CliRunner().invoke(app, ["-q", "train", "--model", "stack", "--set", "epochs=1", "--data",
                                      str(reviews_csv), "-o", str(tmp_path / "run")])
    assert result.exit_code == 1
    line = _one_error(result)
    assert "'epochs': a parameter of --model main's Keras classifier, which --model stack does not have" in line
    assert not (tmp_path / "run").exists()


def test_evaluate_imdb_split_typo_names_the_option_before_the_model_loads(short_model, data_dir_env,
                                                                           monkeypatch):
    import toolkit.cli.train as train_module

    def no_load(model):
        raise AssertionError("the model was loaded before --split was checked")

    monkeypatch.setattr(train_module, "load_estimator", no_load)
    result = CliRunner().invoke(app, ["-q", "evaluate", str(short_model), "imdb", "--split", "tset"])
    assert result.exit_code == 1
    line = _one_error(result)
    assert line.startswith("Error: --split 'tset' (did you mean 'test'?)"), line


def test_evaluate_split_on_data_without_splits_is_reported_as_ignored(short_model, reviews, tmp_path):
    # `evaluate MODEL reviews.csv --split train` scored the whole file, without a word about --split
    path = tmp_path / "two.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        rows = [(t, y) for t, y in zip(*reviews) if y != "mid" and len(t) <= 3000]  # the model's max_length
        csv.writer(f).writerows([("text", "label"), *rows])
    warned = CliRunner().invoke(app, ["evaluate", str(short_model), str(path), "--split", "train"])
    assert warned.exit_code == 0, warned.output
    assert "Warning: --split train is ignored: only 'imdb' has splits" in warned.stderr
    assert json.loads(warned.stdout)["n_samples"] == len(rows)
    plain = CliRunner().invoke(app, ["evaluate", str(short_model), str(path)])
    assert plain.exit_code == 0 and "--split" not in plain.stderr, plain.output
    assert plain.stdout == warned.stdout


def test_train_test_size_with_test_data_is_reported_as_ignored(reviews_csv, tmp_path, monkeypatch):
    import toolkit.cli.train as train_module

    class _Stop(Exception):
        pass

    def fake_train(data, **kwargs):
        raise _Stop

    monkeypatch.setattr(train_module, "train", fake_train)
    monkeypatch.setattr(train_module, "_load_tensorflow_quietly", lambda: None)
    monkeypatch.setattr(train_module, "_fetch_first", lambda *a, **k: None)  # no GloVe download (offline CI)
    args = ["train", "--data", str(reviews_csv), "--test-data", str(reviews_csv), "-o", str(tmp_path / "run")]
    result = CliRunner().invoke(app, [*args, "--test-size", "0.3"])
    assert isinstance(result.exception, _Stop), result.output
    assert "Warning: --test-size 0.3 is ignored: the test documents are --test-data" in result.stderr
    quiet = CliRunner().invoke(app, args)  # the default is no choice of the user's: no warning
    assert isinstance(quiet.exception, _Stop) and "--test-size" not in quiet.stderr


def test_predict_stdin_dash_among_text_arguments_is_refused(short_model):
    for args in (["-", "-"], ["a fine film", "-"]):
        result = CliRunner().invoke(app, ["-q", "predict", str(short_model), *args], input="a dull film\n")
        assert result.exit_code == 1, result.output
        assert "'-' (standard input) is one of the 2 text arguments" in _one_error(result)
    alone = CliRunner().invoke(app, ["-q", "predict", str(short_model), "-"], input="a dull film\nfine\n")
    assert alone.exit_code == 0 and len(alone.stdout.splitlines()) == 2


# ------------------------------------------------------------------------------------------------ help texts


def test_force_help_says_what_each_command_replaces():
    import typer

    commands = typer.main.get_command(app).commands
    force = {name: next(p.help for p in commands[name].params if p.name == "force")
             for name in ("train", "evaluate", "predict")}
    # evaluate and predict write files (--plot, --output), never a run folder; train never replaces a file
    assert "run folder" not in force["evaluate"] and "--plot" in force["evaluate"]
    assert "run folder" not in force["predict"] and "--output" in force["predict"]
    assert "files are never replaced" in force["train"]


def test_predict_no_texts_warns_and_writes_nothing(short_model, tmp_path):
    empty = tmp_path / "new_reviews.txt"
    empty.write_text("\n\n", encoding="utf-8")
    for args, stdin in ((["--input", str(empty)], None), ([], "")):  # a blank file; cron's empty stdin
        result = CliRunner().invoke(app, ["predict", str(short_model), *args], input=stdin)
        assert result.exit_code == 0 and result.stdout == "", result.output
        assert "Warning: no texts in" in result.stderr and "nothing to predict" in result.stderr


def test_limit_that_leaves_a_class_out_of_training_blames_the_limit_not_the_file():
    import numpy as np

    from toolkit.cli.train import _check_split_classes
    from toolkit.exceptions import DataError

    # `train --data three.csv --limit 2`: the file has hundreds of 'neg' reviews; the sample kept none to train on
    with pytest.raises(DataError) as err:
        _check_split_classes(np.array(["pos", "mid"]), np.array(["neg", "pos"]), "three.csv", limit=2)
    message = str(err.value)
    assert message.startswith("The --limit 2 sample of three.csv has no training document of class 'neg' "
                              "(1 in the test part) among its 2 training document(s)"), message
    assert "Add documents" not in message and "too few documents" not in message


# ------------------------------------------------------------------------------------------------ names given


def test_predict_given_the_run_folder_names_its_model_folder(tmp_path):
    # `toolkit predict r3` for the run folder `r3` of `toolkit train -o r3`: "not a toolkit model folder" only
    run = tmp_path / "r3"
    (run / "model").mkdir(parents=True)
    (run / "model" / "config.json").write_text("{}", encoding="utf-8")
    (run / "metrics.json").write_text("{}", encoding="utf-8")
    result = CliRunner().invoke(app, ["-q", "predict", str(run), "a fine film"])
    assert result.exit_code == 1, result.output
    assert f"is the run folder of 'toolkit train'; give its model folder, {run / 'model'}" in _one_error(result)


@pytest.mark.parametrize("name, meant", [("IMDB", "imdb"), ("glove.6B.50", "glove.6B.50d")])
def test_data_info_of_a_misspelt_manifest_says_which_was_meant(name, meant):
    result = CliRunner().invoke(app, ["-q", "data", "info", name])
    assert result.exit_code == 1, result.output
    assert f"Unknown data manifest {name!r}. Did you mean {meant!r}?" in _one_error(result)
