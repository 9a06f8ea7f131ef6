"""The shell user who preprocesses and trains from the command line (session 47).

- ``toolkit train --data FOLDER`` named a folder's problems (no texts, a class folder of none, an undecodable
  file, unlabelled files, one class) only after TensorFlow had loaded (seconds): the folder, and a
  ``--test-data`` folder, are now read before anything heavy (once: training takes what was read), as
  ``toolkit evaluate MODEL FOLDER`` reads its folder before the model's TensorFlow.

The CLI runs in-process through typer's CliRunner (TensorFlow's loader replaced by one that fails the test),
or in a subprocess whose working directory is ``tmp_path`` where ``sys.modules`` is the evidence.
"""

from __future__ import annotations

import re
import sys

import pytest
from conftest import invoke_quiet, one_error


def _class_folders(root, texts, labels, n=12):
    """``root/neg`` and ``root/pos`` holding the first ``n`` reviews as ``<i>.txt``; ``root``."""
    for i, (text, label) in enumerate(zip(texts[:n], labels[:n])):
        (root / str(label)).mkdir(parents=True, exist_ok=True)
        (root / str(label) / f"{i}.txt").write_text(text, encoding="utf-8")
    return root


@pytest.fixture
def no_tensorflow(monkeypatch):
    """Fail the test when a command loads TensorFlow (train's, evaluate's loaders)."""
    import toolkit.cli.train as train_module

    def loaded(*args):
        raise AssertionError("TensorFlow was loaded before the data was checked")

    monkeypatch.setattr(train_module, "_load_tensorflow_quietly", loaded)
    monkeypatch.setattr(train_module, "_load_tensorflow_for", loaded)


def _broken(kind, root, imdb_small):
    """A class-per-folder directory with one problem; the pattern of its error."""
    texts, labels = imdb_small
    if kind == "empty":
        root.mkdir()
        return root, r"No text files \(files ending in \.txt\) found in"
    if kind == "no-texts":
        for label in ("neg", "pos"):
            (root / label).mkdir(parents=True)
            (root / label / "review.md").write_text(texts[0], encoding="utf-8")
        return root, r"No text files .* or its class folders \['neg', 'pos'\]"
    _class_folders(root, texts, labels)
    if kind == "undecodable":
        (root / "neg" / "latin1.txt").write_bytes("un caf\xe9 tr\xe8s moyen".encode("latin-1"))
        return root, r"neg/latin1\.txt is not valid utf-8"
    if kind == "one-class":
        for path in (root / "pos").iterdir():
            path.unlink()
        (root / "pos").rmdir()
        return root, r"has documents of one class only, 'neg'"
    if kind == "unlabelled":  # the files without their class folders
        for path in sorted(root.glob("*/*.txt")):
            path.rename(root / f"{path.parent.name}_{path.name}")
        for label in ("neg", "pos"):
            (root / label).rmdir()
        return root, "has unlabelled documents"
    raise AssertionError(kind)


@pytest.mark.parametrize("kind", ["empty", "no-texts", "undecodable", "one-class", "unlabelled"])
def test_train_names_a_folders_problem_before_tensorflow_loads(kind, imdb_small, tmp_path, no_tensorflow):
    # before: the AssertionError of no_tensorflow (the folder was read by train(), after TensorFlow)
    folder, pattern = _broken(kind, tmp_path / "reviews", imdb_small)
    result = invoke_quiet("train", "--data", folder, "--limit", 10, "--no-baseline", "-o", tmp_path / "run")
    assert re.search(pattern, one_error(result)), result.output
    assert not (tmp_path / "run").exists()


def test_train_names_a_test_data_folders_problem_before_tensorflow_loads(imdb_small, tmp_path, no_tensorflow):
    texts, labels = imdb_small
    train = _class_folders(tmp_path / "train", texts, labels)
    test, pattern = _broken("undecodable", tmp_path / "test", (texts[20:], labels[20:]))
    result = invoke_quiet("train", "--data", train, "--test-data", test, "--no-baseline", "-o", tmp_path / "run")
    assert re.search(pattern, one_error(result)), result.output


def test_evaluate_names_a_folders_problem_before_the_model_loads(imdb_small, tmp_path, no_tensorflow, monkeypatch):
    import toolkit.cli.train as train_module

    monkeypatch.setattr(train_module, "_check_saved_model", lambda model: None)
    folder, pattern = _broken("no-texts", tmp_path / "reviews", imdb_small)
    result = invoke_quiet("evaluate", tmp_path / "model", folder)
    assert re.search(pattern, one_error(result)), result.output


def test_train_reads_a_good_folder_once(imdb_small, tmp_path, monkeypatch):
    # the early read is the read: the training and test folders are each read once by toolkit train
    from toolkit.cli._inputs import check_training_classes, load_train_test
    from toolkit.data import datasets

    texts, labels = imdb_small
    train = _class_folders(tmp_path / "train", texts, labels, n=40)
    test = _class_folders(tmp_path / "test", texts[40:], labels[40:], n=20)
    reads = []
    real = datasets.load_folder
    monkeypatch.setattr(datasets, "load_folder", lambda path, **k: reads.append(path) or real(path, **k))
    check_training_classes(train, test_data=test)  # train_cmd's, before TensorFlow
    x_train, y_train, x_test, y_test = load_train_test(train, test_data=test)  # train()'s
    assert sorted(map(str, reads)) == [str(test), str(train)]
    assert (len(x_train), len(x_test)) == (40, 20) and set(y_train) == set(y_test) == {"neg", "pos"}
    load_train_test(train, test_data=test)  # taken once: a later read reads the folders again
    assert len(reads) == 4


def test_train_on_a_broken_folder_does_not_import_tensorflow(imdb_small, tmp_path):
    import os
    import subprocess

    folder, _ = _broken("no-texts", tmp_path / "reviews", imdb_small)
    script = ("import sys\nfrom toolkit.cli import main\n"
              "try:\n    main(['-q', 'train', '--data', sys.argv[1], '-o', 'run'])\n"
              "except SystemExit as exc:\n    print('exit', exc.code)\n"
              "print('tensorflow' in sys.modules, 'keras' in sys.modules)\n")
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run([sys.executable, "-c", script, str(folder)], capture_output=True, text=True,
                            cwd=tmp_path, env=env, timeout=180, check=False)
    assert result.stdout.split() == ["exit", "1", "False", "False"], result.stdout + result.stderr
    assert "No text files" in result.stderr


# ------------------------------------------------------------------ vectorize -o NAME (not .npz)


@pytest.mark.parametrize(("name", "pattern"), [
    ("seqs.csv", (r"--output seqs\.csv: toolkit vectorize writes the matrix as a NumPy \.npz archive .*not a \.csv "
                  r"file\. Give a name ending in \.npz \(-o seqs\.npz\)")),
    ("seqs.npy", r"not a \.npy file.*\(-o seqs\.npz\)"),
    ("seqs.npz.gz", r"not \.gz compression: the \.npz archive is compressed already.*\(-o seqs\.npz\)"),
])
def test_vectorize_output_not_named_npz_is_refused_and_nothing_written(imdb_small, tmp_path, cli, name, pattern):
    # before: exit 0, the matrix written as seqs.csv.npz (named on stdout only), no seqs.csv for the next step
    (tmp_path / "reviews.txt").write_text("\n".join(t.replace("\n", " ") for t in imdb_small[0][:5]) + "\n",
                                          encoding="utf-8")
    code, out, err = cli("vectorize", "reviews.txt", "-o", name)
    assert code == 1 and out == "", out
    assert err.startswith("Error: --output ") and err.count("\n") == 1 and re.search(pattern, err), err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["reviews.txt"]


@pytest.mark.parametrize(("name", "written"), [("seqs", "seqs.npz"), ("seqs.NPZ", "seqs.NPZ")])
def test_vectorize_output_without_suffix_or_in_capitals_is_the_npz(imdb_small, tmp_path, cli, name, written):
    import numpy as np

    (tmp_path / "reviews.txt").write_text("\n".join(t.replace("\n", " ") for t in imdb_small[0][:5]) + "\n",
                                          encoding="utf-8")
    code, out, err = cli("vectorize", "reviews.txt", "-o", name, "--maxlen", 20)
    assert code == 0, err
    assert out.split() == [written, "seqs.vocab.json"]  # was seqs.NPZ.npz (and seqs.NPZ.vocab.json)
    assert np.load(tmp_path / written)["x"].shape == (5, 20)


# ------------------------------------------------------------------ grid: nbsvm_vectors without vectors


@pytest.mark.parametrize(("args", "pattern"), [
    (["--grid", "architecture=nbsvm,nbsvm_vectors"],
     (r"--grid architecture=nbsvm_vectors needs word vectors, but no vectors are set .*Give --set "
      r"vectors=glove\.6B\.50d")),
    (["--set", "architecture=nbsvm_vectors", "--grid", "vectors=glove.6B.50d,none"],
     r"--set architecture=nbsvm_vectors needs word vectors, but --grid vectors= includes none.*Drop none"),
])
def test_grid_nbsvm_vectors_without_vectors_is_refused_before_the_search(imdb_small, tmp_path, monkeypatch, args,
                                                                        pattern):
    # before: the data read, TensorFlow loaded, the nbsvm candidate fitted 3 times, then the nbsvm_vectors
    # candidate failed in its fit ("needs word vectors"): tens of seconds
    import toolkit.cli.grid as grid_module

    def loaded(*a):
        raise AssertionError("TensorFlow was loaded before the grid was checked")

    monkeypatch.setattr(grid_module, "_load_tensorflow_quietly", loaded)
    folder = _class_folders(tmp_path / "reviews", *imdb_small, n=30)
    result = invoke_quiet("grid", "--data", folder, "--local", "--limit", 30, *args, "-o", tmp_path / "grid.json")
    assert re.search(pattern, one_error(result)), result.output
    assert not (tmp_path / "grid.json").exists()


def test_grid_nbsvm_vectors_with_vectors_passes_the_check(data_dir_env):
    from toolkit.cli.grid import _check_search

    _, grid = _check_search(["architecture=nbsvm,nbsvm_vectors"], {"vectors": "glove.6B.50d"}, cv=3,
                                 scoring=None, scheduler=None, workers=None, local=True)
    assert grid["classifier__architecture"] == ["nbsvm", "nbsvm_vectors"]
    with pytest.raises(ValueError, match=r"architecture='nbsvm_vectors' \(the grid\) needs word vectors, but no "
                                         r"vectors are set.*Set vectors \("):
        _check_search({"classifier__architecture": ["nbsvm_vectors"]}, None, cv=3, scoring=None, scheduler=None,
                      workers=None, local=True)


# ------------------------------------------------------------------ labelled data from '-' (stdin)


def _invoke_stdin(stdin, *args):
    from typer.testing import CliRunner

    from toolkit.cli import app

    return CliRunner().invoke(app, ["-q", *map(str, args)], input=stdin)


@pytest.mark.parametrize("args", [
    ["train", "--data", "-", "--vectors", "none"],
    ["train", "--data", "{csv}", "--test-data", "-", "--vectors", "none"],
    ["evaluate", "{model}", "-"],
    ["grid", "--data", "-", "--grid", "epochs=1,2", "--local"],
])
def test_labelled_data_from_stdin_is_refused_with_what_to_do(imdb_small, tmp_path, monkeypatch, no_tensorflow, args):
    # before: "Error: Input not found: '-'. Check the path (a file, a folder, or '-' for stdin)." (it was '-'),
    # train's after TensorFlow had loaded
    import csv
    import io

    import toolkit.cli.grid as grid_module
    import toolkit.cli.train as train_module

    monkeypatch.setattr(train_module, "_check_saved_model", lambda model: None)
    monkeypatch.setattr(grid_module, "_load_tensorflow_quietly", train_module._load_tensorflow_quietly)
    rows = io.StringIO()
    csv.writer(rows).writerows([("text", "label"), *zip(imdb_small[0][:20], imdb_small[1][:20])])
    (tmp_path / "reviews.csv").write_text(rows.getvalue(), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    args = [a.format(csv="reviews.csv", model=tmp_path / "model") for a in args]
    result = _invoke_stdin(rows.getvalue(), *args, *(["-o", "out"] if args[0] in ("train", "grid") else []))
    assert re.fullmatch(r"Error: '-' \(standard input\) cannot be read as labelled data: .*CSV/TSV/JSONL file, "
                        r"whose name tells its format\. Save the input to a file first .*", one_error(result))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["reviews.csv"]


def test_data_describe_stdin_without_unlabelled_says_to_add_it(imdb_small):
    # before: "Input not found: '-'. Check the path (a file, a folder, or '-' for stdin)."
    text = "\n".join(t.replace("\n", " ") for t in imdb_small[0][:5]) + "\n"
    result = _invoke_stdin(text, "data", "describe", "-")
    assert re.fullmatch(r"Error: '-' \(standard input\) is read as texts without labels, one per line: add "
                        r"--unlabelled to describe them; .*", one_error(result))
    result = _invoke_stdin(text, "data", "describe", "-", "--unlabelled")
    assert result.exit_code == 0 and "data: standard input, 5 documents, unlabelled" in result.stdout


# ------------------------------------------------------------------ tokenize -o tokens.csv


@pytest.mark.parametrize(("name", "table", "instead"), [("tokens.csv", "CSV", "tokens.jsonl"),
                                                        ("tokens.tsv.gz", "TSV", "tokens.jsonl.gz")])
def test_tokenize_output_named_as_a_table_is_refused(imdb_small, tmp_path, cli, name, table, instead):
    # before: exit 0, a JSON list of tokens per line in tokens.csv (pandas.read_csv: columns of brackets)
    (tmp_path / "reviews.txt").write_text("\n".join(t.replace("\n", " ") for t in imdb_small[0][:3]) + "\n",
                                          encoding="utf-8")
    code, out, err = cli("tokenize", "reviews.txt", "-o", name)
    assert (code, out) == (1, "")
    assert err == (f"Error: --output {name}: toolkit tokenize writes JSON lines (one JSON list of tokens per "
                   f"document), not a {table} table; name the output .jsonl (-o {instead}).\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["reviews.txt"]
    code, out, err = cli("tokenize", "reviews.txt", "-o", instead)
    assert code == 0, err


# ------------------------------------------------------------------ vectors: the file as an argument


@pytest.mark.parametrize(("args", "usage"), [(["similar", "{v}"], "similar WORD"),
                                             (["analogy", "{v}", "king", "man"], "analogy A B C"),
                                             (["map", "{v}", "good", "bad"], "map WORD...")])
def test_vectors_query_word_that_is_a_file_is_refused_before_loading(glove_small, tmp_path, monkeypatch, args,
                                                                    usage):
    # before: the default 400,000 GloVe vectors loaded (or a missing-data error), then "The word
    # 'glove.20k.50d.txt' has no vector" / "1 word(s) not in the vectors"
    import toolkit.cli.vectors as vectors_module

    def loading(*a, **k):
        raise AssertionError("vectors were loaded")

    for name in ("similar_words", "analogy", "word_map"):
        monkeypatch.setattr(vectors_module, name, loading)
    monkeypatch.chdir(glove_small.parent)
    output = ["-o", tmp_path / "m.png"] if args[0] == "map" else []
    result = invoke_quiet("vectors", *[a.format(v=glove_small.name) for a in args], *output)
    assert one_error(result) == (f"Error: '{glove_small.name}' is given as a query word, but it is a file: the word "
                                 f"vectors go with --vectors (default glove.6B.50d): 'toolkit vectors {usage} "
                                 f"--vectors {glove_small.name}'.")


def test_vectors_file_as_an_extra_argument_names_the_option(glove_small, tmp_path, monkeypatch, capsys):
    # before: "Error: Got unexpected extra argument(s) (good)", no word of --vectors
    from toolkit.cli import main

    monkeypatch.chdir(glove_small.parent)
    with pytest.raises(SystemExit) as exit_info:
        main(["-q", "vectors", "similar", glove_small.name, "good"])
    assert exit_info.value.code == 2
    err = " ".join(capsys.readouterr().err.split())
    assert (f"Got unexpected extra argument(s) (good). If {glove_small.name} is the word vectors file, give it "
            f"with --vectors: 'toolkit vectors similar WORD --vectors {glove_small.name}'.") in err
    with pytest.raises(SystemExit):
        main(["-q", "vectors", "similar", "good", "bad", "--vectors", glove_small.name])  # given: no hint
    assert "If " not in capsys.readouterr().err


# ------------------------------------------------------------------ train --test-size too large for the data


@pytest.mark.parametrize(("size", "pattern"), [
    ("40", r"test_size=40 \(--test-size\) leaves no training documents: .*reviews has 40 documents; give at most 39"),
    ("0.01", r"test_size=0\.01 \(--test-size\) holds out 1 of the 40 documents of .*reviews: one test document"),
])
def test_train_test_size_too_large_for_the_data_before_tensorflow_loads(imdb_small, tmp_path, no_tensorflow, size,
                                                                       pattern):
    # before: the AssertionError of no_tensorflow (the split was made in train(), after TensorFlow)
    folder = _class_folders(tmp_path / "reviews", *imdb_small, n=40)
    result = invoke_quiet("train", "--data", folder, "--test-size", size, "--no-baseline", "-o", tmp_path / "run")
    assert re.search(pattern, one_error(result)), result.output
