"""The lead's fixes of the forty-sixth session, each with a test that failed on the code before it."""

import os
import re
import subprocess
import sys

import numpy as np

_SET_ROWS = """
import numpy as np
from gensim.models import KeyedVectors
from toolkit.vectors import build_embedding_matrix

words = [f"w{i}" for i in range(40)]
kv = KeyedVectors(3)
kv.add_vectors(words, np.arange(120, dtype=np.float32).reshape(40, 3))
matrix, _ = build_embedding_matrix(set(words), kv)
print(",".join(str(int(row[0])) for row in matrix))
"""


def test_build_embedding_matrix_of_a_set_has_the_same_rows_in_every_process(tmp_path):
    """Before: a set's rows came in its iteration order, which string hashing changes from process to process,
    so the row of a token could not be known (scikit-learn sorts a set vocabulary)."""
    rows = set()
    for seed in ("1", "2", "3"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        out = subprocess.run([sys.executable, "-c", _SET_ROWS], cwd=tmp_path, env=env, capture_output=True,
                             text=True, check=True, timeout=300)
        rows.add(out.stdout.strip())
    assert len(rows) == 1
    expected = ",".join(str(3 * int(w[1:])) for w in sorted(f"w{i}" for i in range(40)))
    assert rows.pop() == expected


def test_build_embedding_matrix_of_a_list_keeps_its_order():
    """Guard: only a set is sorted; a list's row i is its item i."""
    from gensim.models import KeyedVectors

    from toolkit.vectors import build_embedding_matrix

    kv = KeyedVectors(2)
    kv.add_vectors(["b", "a"], np.array([[1, 1], [2, 2]], dtype=np.float32))
    matrix, _ = build_embedding_matrix(["b", "a"], kv)
    assert matrix[:, 0].tolist() == [1.0, 2.0]
    matrix, _ = build_embedding_matrix({"b", "a"}, kv)
    assert matrix[:, 0].tolist() == [2.0, 1.0]


def test_store_build_reads_parquet_inputs(imdb_small, tmp_path, capsys):
    """Before: `toolkit store build "pq/*.parquet"` said the input "is not UTF-8 text" and advised iconv
    (read_texts reads Parquet since this session; the CLI sniffed it as text)."""
    import pytest

    pytest.importorskip("pyarrow")
    import pandas as pd

    from toolkit.cli import main
    from toolkit.distributed import CorpusStore

    texts, labels = imdb_small[0][:60], imdb_small[1][:60]
    folder = tmp_path / "pq"
    folder.mkdir()
    for i in range(3):
        part = slice(20 * i, 20 * (i + 1))
        pd.DataFrame({"text": texts[part], "label": labels[part]}).to_parquet(folder / f"r{i}.parquet")
    out = tmp_path / "store"
    with pytest.raises(SystemExit) as exc:
        main(["-q", "store", "build", str(folder / "*.parquet"), "-o", str(out), "--label-column", "label",
              "--workers", "1"])
    assert exc.value.code in (0, None), capsys.readouterr().err
    store = CorpusStore(out)
    assert store.has_labels and len(store) == 60
    with pytest.raises(SystemExit) as exc:
        main(["-q", "store", "build", str(folder / "*.parquet"), "-o", str(tmp_path / "s2"), "--label-column",
              "stars", "--workers", "1"])
    err = capsys.readouterr().err
    assert exc.value.code == 1 and "'stars'" in err and "Traceback" not in err, err
    assert not (tmp_path / "s2").exists()


def test_predict_given_a_file_of_the_model_folder_names_the_folder(tmp_path, capsys):
    """Before: `toolkit predict run/model/config.json` said "is not a toolkit model folder (no config.json)"."""
    import pytest

    from toolkit.cli import main

    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "config.json").write_text("{}", encoding="utf-8")
    with pytest.raises(SystemExit) as exc:
        main(["-q", "predict", str(folder / "config.json"), "a good film"])
    err = capsys.readouterr().err
    assert exc.value.code == 1 and f"give the folder, {folder}" in err and "no config.json" not in err, err


def test_describe_reads_a_test_file_s_booleans_as_training_writes_them(imdb_small, tmp_path):
    """Before: a test CSV writing TRUE/FALSE against a training JSONL's true/false was reported as "test classes
    never occur in the training data", while train and evaluate map them and score fine."""
    import json

    from toolkit.cli.data import describe_data

    texts, labels = imdb_small[0][:40], imdb_small[1][:40]
    train = tmp_path / "train.jsonl"
    train.write_text("".join(json.dumps({"text": t, "label": bool(y)}) + "\n" for t, y in zip(texts[:30], labels)),
                     encoding="utf-8")
    test = tmp_path / "test.csv"
    test.write_text("text,label\n" + "".join(f'"{t.replace(chr(34), chr(39))}",{str(bool(y)).upper()}\n'
                                              for t, y in zip(texts[30:], labels[30:])), encoding="utf-8")
    summary = describe_data(train, test_data=test)
    assert set(summary["test"]["classes"]) <= set(summary["classes"]), summary["test"]["classes"]
    assert sum(summary["test"]["classes"].values()) == 10
    assert not any("never occur" in w for w in summary["test"]["warnings"]), summary["test"]["warnings"]


def test_domain_spec_dimension_mismatch_fails_before_training_the_vectors(imdb_tokens200, monkeypatch):
    """Before: EmbeddingClassifier(vectors="word2vec:dim=16", embedding_dim=32) trained the domain vectors first
    (minutes with 'word2vec:unsup') and only then said the dimensions differ, without naming the spec's dim."""
    import pytest

    import toolkit.vectors.domain as domain
    from toolkit.models import EmbeddingClassifier

    def no_training(*args, **kwargs):
        raise AssertionError("the vectors were trained before the dimensions were checked")

    monkeypatch.setattr(domain, "resolve_vectors", no_training)
    X, y = imdb_tokens200
    clf = EmbeddingClassifier(vectors="word2vec:dim=16", embedding_dim=32, epochs=1, maxlen=20)
    with pytest.raises(ValueError, match=r"trains vectors of dimension 16 \(its dim option\), but "
                                         r"embedding_dim=32.*dim=32 in the spec"):
        clf.fit(X[:40], y[:40])


def test_train_names_a_typed_setting_the_architecture_ignores(capsys, monkeypatch):
    """Since this session the classifier logs ignored layer settings at INFO (a warning repeated per grid fit);
    the CLI says it once for the settings the user typed: `--set rnn_cell=gru` without architecture=rnn."""
    from toolkit.cli import _common
    from toolkit.cli.train import _check_settings

    monkeypatch.setitem(_common._state, "quiet", False)  # an earlier `main(["-q", ...])` in this process set it
    _check_settings("main", {"rnn_cell": "gru", "kernel_size": 3}, {"rnn_cell": "gru", "kernel_size": 3})
    err = capsys.readouterr().err
    assert "does not use --set rnn_cell, --set kernel_size" in err and "rnn_cell: architecture='rnn'" in err, err
    _check_settings("main", {"architecture": "rnn", "rnn_cell": "gru"}, {"architecture": "rnn", "rnn_cell": "gru"})
    _check_settings("main", {"hidden_units": 8}, {})  # a recipe's own value, not typed: not named
    assert capsys.readouterr().err == ""


def test_train_word2vec_refuses_an_unwritable_compression_before_training(tmp_path, monkeypatch):
    """Before: train_word2vec(output="w2v.txt.zst") trained, then crashed in gensim's writer (the CLI checked the
    name; Python did not)."""
    import pytest
    from gensim.models import Word2Vec

    from toolkit.exceptions import DataError
    from toolkit.vectors import train_word2vec

    def no_training(*args, **kwargs):
        raise AssertionError("trained before the output name was checked")

    monkeypatch.setattr(Word2Vec, "train", no_training)
    for name in ("w2v.txt.zst", "w2v.bin.xz", "w2v.vec.zip"):
        with pytest.raises(DataError, match=r"Cannot write .*w2v\..*Name it .*\.gz instead"):
            train_word2vec([["a", "good", "film"]] * 20, min_count=1, vector_size=4, output=tmp_path / name)
    assert not list(tmp_path.iterdir())


def test_quiet_and_verbose_together_are_a_usage_error():
    """Before: `toolkit -q -v ...` was accepted, logging INFO lines under --quiet ("Only errors on stderr")."""
    from typer.testing import CliRunner

    from toolkit.cli import app

    result = CliRunner().invoke(app, ["-q", "-v", "data", "list"])
    flat = " ".join(re.sub("[\u2500-\u257f]", " ", result.output).split())  # rich's box, wrapped
    assert result.exit_code == 2 and "--quiet and --verbose contradict each other" in flat, result.output
    assert CliRunner().invoke(app, ["-q", "data", "list"]).exit_code == 0


def test_train_on_the_imdb_tarball_path_says_to_give_data_imdb(shared_data, tmp_path, capsys):
    """Before: `toolkit train --data "$(toolkit data fetch imdb)"` got "Cannot read labelled data ... give 'imdb',
    a class-per-folder directory, a .csv/.tsv ..." without saying how to point 'imdb' at that file."""
    import pytest

    from toolkit.cli import main

    tarball = shared_data / "aclImdb_v1.tar.gz"
    with pytest.raises(SystemExit) as exc:
        main(["-q", "train", "--data", str(tarball), "-o", str(tmp_path / "run")])
    err = capsys.readouterr().err
    assert exc.value.code == 1 and "IMDB's tarball: give --data imdb" in err and f"--data-dir {shared_data}" in err
    assert not (tmp_path / "run").exists()


def test_save_and_load_model_name_a_path_of_the_wrong_type():
    """Before: pathlib's "expected str, bytes or os.PathLike object, not NoneType", naming neither the function
    nor the parameter (save_model checked the fit first)."""
    import pytest
    from sklearn.linear_model import LogisticRegression

    from toolkit.models import load_model, save_model

    clf = LogisticRegression().fit([[0.0], [1.0]], [0, 1])
    with pytest.raises(TypeError, match=r"'path' parameter of save_model must be a str or path-like .* NoneType"):
        save_model(clf, None)
    for bad in (None, b"model", 5):
        with pytest.raises(TypeError, match=r"'path' parameter of load_model must be a str or path-like"):
            load_model(bad)


def test_embedding_classifier_names_labels_of_mixed_types():
    """Before: TypeError "'<' not supported between instances of 'int' and 'str'" from scikit-learn's
    type_of_target, naming neither y nor the mix (a CSV read with some labels quoted)."""
    import pytest

    from toolkit.models import EmbeddingClassifier

    X = [["good", "film"], ["bad", "film"], ["ok"], ["fine"]]
    y = np.array(["pos", 1, "neg", 0], dtype=object)
    with pytest.raises(ValueError, match=r"y mixes label types \(int such as 1, str such as 'pos'\).*"
                                         r"y = \[str\(label\) for label in y\]"):
        EmbeddingClassifier(epochs=1, maxlen=5).fit(X, y)
