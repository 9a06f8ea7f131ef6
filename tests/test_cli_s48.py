"""Session 48 CLI: ``evaluate --data`` (train's spelling), the offline data folder given as the data, ``--data-dir``
in the option's words, ``store train -o exp.keras/``, ``store info`` class counts, and outputs named as folders,
as standard output or in formats the commands do not write."""

from __future__ import annotations

import json
import re

import pytest
from conftest import invoke_quiet, one_error, saved_nb_pipeline, write_labelled_csv


@pytest.fixture
def reviews(imdb_small):
    """60 real IMDB training reviews (cut to 300 characters) and their 'neg'/'pos' labels."""
    texts, labels = imdb_small
    return [t[:300] for t in texts[:60]], [str(y) for y in labels[:60]]


@pytest.fixture
def nb_model(reviews, tmp_path):
    """A scikit-learn pipeline (no Keras) fitted on the reviews, saved as tmp_path/run/model; its folder."""
    texts, labels = reviews
    return saved_nb_pipeline(texts, labels, tmp_path / "run")


@pytest.fixture
def offline_folder(shared_data, tmp_path):
    """A copy of the offline data folder's layout (SHA256SUMS and IMDB's tarball, linked), one level below
    tmp_path/shared: (the folder above it, the data folder)."""
    folder = tmp_path / "shared" / "data"
    folder.mkdir(parents=True)
    (folder / "SHA256SUMS").write_text((shared_data / "SHA256SUMS").read_text(encoding="utf-8"), encoding="utf-8")
    (folder / "aclImdb_v1.tar.gz").symlink_to(shared_data / "aclImdb_v1.tar.gz")
    return folder.parent, folder


def _store(reviews, tmp_path, labels=None, name="store"):
    """``toolkit store build`` of the reviews (labelled by ``labels``, else their own) into tmp_path/name."""
    texts, own = reviews
    path = write_labelled_csv(tmp_path / f"{name}.csv", texts, own if labels is None else labels)
    result = invoke_quiet("store", "build", path, "-o", tmp_path / name, "--label-column", "label")
    assert result.exit_code == 0, result.output
    return tmp_path / name


# ------------------------------------------------------------------ 1. evaluate --data, as train takes it


def test_evaluate_takes_the_data_with_data_as_train_does(reviews, nb_model, tmp_path, monkeypatch):
    # Before: "No such option: --data (Possible options: --data-dir)" (exit 2) for the spelling train takes.
    texts, labels = reviews
    data = write_labelled_csv(tmp_path / "revs.csv", texts, labels)
    by_option = invoke_quiet("evaluate", nb_model, "--data", data, "--limit", 20)
    assert by_option.exit_code == 0, by_option.output
    by_argument = invoke_quiet("evaluate", nb_model, data, "--limit", 20)
    assert json.loads(by_option.stdout) == json.loads(by_argument.stdout)
    assert json.loads(by_option.stdout)["n_samples"] == 20
    same = invoke_quiet("evaluate", nb_model, data, "--data", data, "--limit", 20)  # the same data twice: taken
    assert same.exit_code == 0, same.output
    line = one_error(invoke_quiet("evaluate", nb_model, tmp_path / "other.csv", "--data", data))
    assert "The data is given twice" in line and "--data" in line and "give one of them" in line, line
    # --data imdb reads the data folder, checked first as for the argument; --data FILE does not read it
    monkeypatch.setenv("TOOLKIT_DATA_DIR", str(tmp_path / "typo"))
    line = one_error(invoke_quiet("evaluate", nb_model, "--data", "imdb"))
    assert "typo (from TOOLKIT_DATA_DIR) does not exist" in line, line
    assert invoke_quiet("evaluate", nb_model, "--data", data, "--limit", 20).exit_code == 0


def test_evaluate_checks_a_data_folder_set_one_level_off_before_the_model(nb_model, offline_folder, monkeypatch):
    # Before: evaluate loaded the model (and TensorFlow, for a Keras one) first and failed in the data load, with
    # "(from data_dir) ... (unset data_dir to download 'imdb' ...)": a parameter the shell user never set.
    import toolkit.cli.train as train_module

    def not_reached(*args, **kwargs):
        raise AssertionError("the model was loaded before the data folder was checked")

    monkeypatch.setattr(train_module, "evaluate", not_reached)
    monkeypatch.setattr(train_module, "_load_tensorflow_for", not_reached)
    above, folder = offline_folder
    line = one_error(invoke_quiet("evaluate", nb_model, "--data-dir", above, "--limit", 10))
    assert f"The data folder {above} (from --data-dir)" in line and f"found in {folder}" in line, line
    assert "leave --data-dir out to download" in line and "data_dir" not in line, line


def test_data_folder_one_level_off_is_named_in_the_options_words(offline_folder):
    # Before: `toolkit data fetch imdb --data-dir DIR` and `toolkit train --data-dir DIR` said "(from data_dir)".
    above, _ = offline_folder
    for args in (("data", "fetch", "imdb"), ("train", "--limit", "10", "--no-baseline")):
        line = one_error(invoke_quiet(*args, "--data-dir", above))
        assert "(from --data-dir)" in line and "data_dir" not in line, line


def test_the_offline_data_folder_given_as_the_data_says_data_dir(offline_folder, nb_model, tmp_path):
    # Before: "... has unlabelled documents; training and evaluation need labels: a class-per-folder directory,
    # a label column (--label-column), or IMDB's train/test split": its tarball and SHA256SUMS read as documents.
    _, folder = offline_folder
    for args in (("train", "--data", folder, "-o", tmp_path / "run2"), ("evaluate", nb_model, "--data", folder),
                 ("evaluate", nb_model, folder)):
        line = one_error(invoke_quiet(*args))
        assert f"{folder} is an offline data folder (SHA256SUMS, aclImdb_v1.tar.gz)" in line, line
        assert f"--data imdb --data-dir {folder}" in line, line
    assert not (tmp_path / "run2").exists()
    # IMDB's tarball extracted there: its one "class" was 'aclImdb' ("documents of one class only, 'aclImdb'")
    extracted = tmp_path / "extracted"
    for split in ("train", "test"):
        for label in ("neg", "pos"):
            (extracted / "aclImdb" / split / label).mkdir(parents=True)
            (extracted / "aclImdb" / split / label / "0_7.txt").write_text(f"A {label} review.", encoding="utf-8")
    line = one_error(invoke_quiet("train", "--data", extracted, "-o", tmp_path / "run2"))
    assert f"{extracted} is an offline data folder (aclImdb)" in line and "--data-dir" in line, line
    (extracted / "other").mkdir()  # a class folder beside it: read as labelled data, as before
    assert "offline data folder" not in one_error(invoke_quiet("evaluate", nb_model, extracted))


def test_missing_labelled_data_is_named_without_stdin(tmp_path, monkeypatch):
    # Before: "Input not found: 'absent.csv'. Check the path (a file, a folder, or '-' for stdin).", for data that
    # '-' cannot be (labelled data is refused on standard input) and any file cannot be either.
    monkeypatch.chdir(tmp_path)
    line = one_error(invoke_quiet("train", "--data", "absent.csv", "-o", "run"))
    assert f"Input not found: 'absent.csv' (relative to {tmp_path})" in line, line
    assert "'-' for stdin" not in line and "a class-per-folder directory, or a CSV/TSV/JSONL file" in line, line


# ------------------------------------------------------------------ 2. store train -o exp.keras/


def test_store_train_output_named_like_a_model_file_is_worded_for_the_shell(reviews, tmp_path, in_process_build,
                                                                           monkeypatch):
    # Before: "The 'path' parameter of save_model names the folder to write ... pipe[-1].model_.save('exp.keras')
    # ...": a Python function's parameter and a Keras call, for `toolkit store train STORE -o exp.keras`.
    store = _store(reviews, tmp_path)
    line = one_error(invoke_quiet("store", "train", store, "-o", tmp_path / "exp.keras"))
    assert f"--output {tmp_path / 'exp.keras'} is named like a single model file (.keras)" in line, line
    assert f"-o {tmp_path / 'exp'})" in line and f"-o {tmp_path / 'exp.keras'}/)" in line, line
    assert "save_model" not in line and "model_" not in line, line
    assert not (tmp_path / "exp.keras").exists()
    # "save_model writes a model folder of its own, and '.' is the current folder ... save_model(clf, ...)"
    monkeypatch.chdir(tmp_path)
    line = one_error(invoke_quiet("store", "train", store, "-o", "."))
    assert line == ("Error: --output . is the current folder, one above it or the root: store train "
                    "writes a model folder of its own; give its name (e.g. -o model)."), line


def test_store_train_takes_a_trailing_separator_before_training(reviews, tmp_path, in_process_build):
    # Before: typer's Path dropped the separator of `-o exp.keras/`, so the folder the library takes
    # (save_model(pipe, "exp.keras/")) was refused as a file's name.
    from toolkit.cli.store import _check_train_from_store

    store = _store(reviews, tmp_path)
    assert _check_train_from_store(store, f"{tmp_path / 'exp.keras'}/").path == store
    with pytest.raises(ValueError, match="named like a single model file"):
        _check_train_from_store(store, tmp_path / "exp.keras")


@pytest.mark.slow
def test_store_train_writes_a_model_folder_named_with_a_trailing_separator(reviews, tmp_path, in_process_build):
    # Before: refused ("a name ending in '.keras' reads as a single file"), as above; now the folder is written.
    store = _store(reviews, tmp_path)
    result = invoke_quiet("store", "train", store, "-o", f"{tmp_path / 'exp.keras'}/", "--set", "epochs=1")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "exp.keras" / "config.json").is_file() and (tmp_path / "exp.keras").is_dir()
    assert json.loads(result.stdout)["model"] == str(tmp_path / "exp.keras")


# ------------------------------------------------------------------ 3. store info: documents of each class


def test_store_info_counts_the_documents_of_each_class(reviews, tmp_path, in_process_build):
    # Before: store info showed has_labels only; how many documents each label holds took Python.
    texts, labels = reviews
    store = _store(reviews, tmp_path)
    result = invoke_quiet("store", "info", store)
    assert result.exit_code == 0, result.output
    info = json.loads(result.stdout)
    assert info["classes"] == {"neg": labels.count("neg"), "pos": labels.count("pos")}
    assert sum(info["classes"].values()) == info["n_documents"] == len(texts)
    numbered = _store(reviews, tmp_path, labels=[i % 3 for i in range(len(texts))], name="numbered")
    assert json.loads(invoke_quiet("store", "info", numbered).stdout)["classes"] == {"0": 20, "1": 20, "2": 20}
    (tmp_path / "plain.txt").write_text("\n".join(texts[:5]) + "\n", encoding="utf-8")
    result = invoke_quiet("store", "build", tmp_path / "plain.txt", "-o", tmp_path / "plain")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["classes"] is None  # build prints the info too


# ------------------------------------------------------------------ 4. outputs: folders, '-', other formats


def test_output_file_named_as_a_folder_is_refused(nb_model, tmp_path, monkeypatch):
    # Before: `predict MODEL "..." -o preds/` (a folder meant, not there yet) wrote a FILE named preds, exit 0;
    # `evaluate --plot plots/` wrote plots.png.
    monkeypatch.chdir(tmp_path)
    for args in (("predict", nb_model, "A fine film.", "-o", "preds/"), ("evaluate", nb_model, "--plot", "preds/"),
                 ("tokenize", "-", "-o", "preds/")):
        result = invoke_quiet(*args)
        flat = " ".join(re.sub("[\u2500-\u257f]", " ", result.output).split())  # rich's box, wrapped
        assert result.exit_code == 2, result.output
        assert "preds/ ends in a path separator, so it names a folder; give a file name" in flat, result.output
    assert not (tmp_path / "preds").exists() and not (tmp_path / "preds.png").exists()


def test_predict_refuses_an_output_in_a_format_it_does_not_write(nb_model, tmp_path):
    # Before: `predict MODEL --input x -o preds.parquet` wrote JSON lines under a Parquet name (exit 0), which
    # pandas.read_parquet refuses; .xlsx likewise.
    for name, writer in (("preds.parquet", "to_parquet"), ("preds.xlsx", "to_excel")):
        line = one_error(invoke_quiet("predict", nb_model, "A fine film.", "-o", tmp_path / name))
        assert f"toolkit predict writes JSON lines or a CSV/TSV table, not {name[5:]} files" in line, line
        assert f"(e.g. -o {tmp_path / 'preds.csv'})" in line and writer in line, line
        assert not (tmp_path / name).exists()
    result = invoke_quiet("predict", nb_model, "A fine film.", "-o", tmp_path / "preds.json")  # JSON lines: kept
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "preds.json").read_text(encoding="utf-8"))["label"] in ("neg", "pos")


def test_store_commands_refuse_standard_input_and_output(reviews, tmp_path, in_process_build, monkeypatch):
    # Before: `store build revs.csv -o -` wrote a store folder named '-' (exit 0); `store build - -o s` said
    # "Input not found: '-'"; `store train STORE -o STORE` wanted save_model to replace the store itself.
    texts, labels = reviews
    monkeypatch.chdir(tmp_path)
    data = write_labelled_csv(tmp_path / "revs.csv", texts, labels)
    line = one_error(invoke_quiet("store", "build", data, "-o", "-", "--label-column", "label"))
    assert "--output - (standard output): store build writes a store folder" in line, line
    assert not (tmp_path / "-").exists()
    line = one_error(invoke_quiet("store", "build", "-", "-o", "s"))
    assert "'-' (standard input) cannot be an input of store build" in line and "Save the input to a file" in line
    store = _store(reviews, tmp_path)
    line = one_error(invoke_quiet("store", "train", store, "-o", "-"))
    assert "store train writes a model folder" in line, line
    line = one_error(invoke_quiet("store", "train", store, "-o", f"{store}/"))
    assert f"--output {store} is the store the model is trained from" in line, line
    assert not (tmp_path / "-").exists() and (store / "store.json").is_file()


def test_another_programs_model_folder_is_named_as_such(nb_model, tmp_path):
    # Before: "bert/checksums.json is missing, so bert cannot be verified (it was saved by an older toolkit, or a
    # file was removed). Save the model again ...": a Hugging Face folder taken for an old toolkit model.
    other = tmp_path / "bert"
    other.mkdir()
    (other / "config.json").write_text('{"architectures": ["BertModel"], "model_type": "bert"}', encoding="utf-8")
    (other / "pytorch_model.bin").write_bytes(b"\0" * 16)
    for args in (("predict", other, "A fine film."), ("evaluate", other, "--data", "x.csv")):
        line = one_error(invoke_quiet(*args))
        assert f"{other} is not a toolkit model folder: its config.json names no format" in line, line
        assert "older toolkit" not in line, line
    assert invoke_quiet("predict", nb_model, "A fine film.").exit_code == 0  # a toolkit model folder: read


def test_store_train_checks_setting_values_before_importing_tensorflow(reviews, tmp_path, in_process_build):
    # Before: `--set epochs=0` passed the pre-flight (names only) and failed in fit, after TensorFlow had loaded
    # (8 CPU s here); train checks the values first.
    import subprocess
    import sys

    store = _store(reviews, tmp_path)
    for setting, pattern in (("epochs=0", "The 'epochs' parameter of EmbeddingClassifier must be an int in the range"),
                             ("learning_rate=-1", "The 'learning_rate' parameter of EmbeddingClassifier must be")):
        args = ["-q", "store", "train", str(store), "-o", str(tmp_path / "m"), "--set", setting]
        code = (f"import sys\nfrom toolkit.cli import main\ntry:\n    main({args!r})\nexcept SystemExit as e:\n"
                "    print('exit', e.code)\nprint('tensorflow imported:', 'tensorflow' in sys.modules)")
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=False,
                             cwd=tmp_path)
        assert out.stdout.splitlines() == ["exit 1", "tensorflow imported: False"], out.stdout + out.stderr
        assert out.stderr.startswith(f"Error: --set: {pattern}"), out.stderr
    assert not (tmp_path / "m").exists()


def test_data_describe_reads_a_csv_with_excels_sep_line(reviews, tmp_path):
    # Excel writes "sep=;" before the header of a CSV it saves with semicolons; load_csv obeys it, and the CLI's
    # column check read the header as ['sep=', ''] (before: "has no column 'text'")
    texts, labels = reviews
    path = tmp_path / "excel.csv"
    rows = ['"' + t.replace('"', '""') + '";' + y for t, y in zip(texts[:20], labels[:20])]
    path.write_text("sep=;\ntext;label\n" + "\n".join(rows) + "\n", encoding="utf-8")
    result = invoke_quiet("data", "describe", path, "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["documents"] == 20
    assert summary["classes"] == {name: labels[:20].count(name) for name in sorted(set(labels[:20]))}
