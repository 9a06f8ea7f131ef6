"""Session 47 CLI polish: encoding advice worded for the shell, ``data describe --limit``, vectorize's
vocabulary JSON naming each column / id, ``store build`` of folders and archives, ``store train`` of one class."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import invoke_quiet, one_error, write_labelled_csv, write_reviews_tar


@pytest.fixture
def reviews(imdb_small):
    """60 real IMDB training reviews (cut to 400 characters) and their 'neg'/'pos' labels."""
    texts, labels = imdb_small
    return [t[:400] for t in texts[:60]], [str(y) for y in labels[:60]]






# ------------------------------------------------------------------ 1. undecodable files: advice for the shell


def test_undecodable_folder_and_csv_advice_is_for_the_command_line(reviews, tmp_path):
    # Before: "... or, in Python, pass load_folder its encoding (encoding='latin-1', 'cp1252'...) or
    # decode_errors='replace'." / "or, in Python, pass its encoding (...)": no such option on the command line.
    texts, labels = reviews
    for name in ("neg", "pos"):
        (tmp_path / "revs" / name).mkdir(parents=True)
    for i, (text, label) in enumerate(zip(texts[:6], labels[:6])):
        (tmp_path / "revs" / label / f"{i}.txt").write_text(text, encoding="utf-8")
    (tmp_path / "revs" / "neg" / "bad.txt").write_bytes(("Caf\u00e9 scene. " + texts[6]).encode("latin-1", "replace"))
    for args in (("data", "describe", tmp_path / "revs"), ("tokenize", tmp_path / "revs")):
        line = one_error(invoke_quiet(*args))
        assert "bad.txt is not valid utf-8" in line and "`iconv -f latin1 -t utf-8 " in line, line
        assert "in Python" not in line and "decode_errors" not in line, line
        assert line.endswith("The command line reads UTF-8 only; it has no encoding option."), line
    table = tmp_path / "revs.csv"
    table.write_bytes(b"text,label\nAwful caf\xe9 scene,neg\nA good film,pos\n")
    line = one_error(invoke_quiet("data", "describe", table))
    assert "revs.csv, line 2: not valid utf-8" in line and "in Python" not in line, line
    assert line.endswith("The command line reads UTF-8 only; it has no encoding option."), line


# ------------------------------------------------------------------ 2. data describe --limit


def test_data_describe_limit_is_the_sample_evaluate_draws(reviews, tmp_path):
    # Before: "No such option: --limit" (exit 2), though train, evaluate and grid take it.
    from toolkit.cli._inputs import _subsample

    texts, labels = reviews
    texts = texts[:50] + [texts[0]]  # record 50 repeats record 0
    labels = labels[:50] + ["pos" if labels[0] == "neg" else "neg"]  # ... with the other label
    path = write_labelled_csv(tmp_path / "revs.csv", texts, labels)
    result = invoke_quiet("data", "describe", path, "--limit", 30, "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    _, _, kept = _subsample(texts, np.asarray(labels), 30, 0, extra=np.arange(len(texts)))
    assert summary["documents"] == 30 and summary["sampled_from"] == 51
    assert summary["classes"] == {name: int((np.asarray(labels)[kept] == name).sum()) for name in ("neg", "pos")}
    # record numbers stay the file's: the repeated text is found where both records are in the sample
    expected = [[0, 50]] if {0, 50} <= set(kept.tolist()) else []
    assert summary["duplicates"] == expected and summary["conflicts"] == expected
    # the whole file, and a limit at least its size, are described as before
    whole = json.loads(invoke_quiet("data", "describe", path, "--json").output)
    assert whole["documents"] == 51 and "sampled_from" not in whole and whole["duplicates"] == [[0, 50]]
    assert json.loads(invoke_quiet("data", "describe", path, "--json", "--limit", 51).output) == whole
    table = invoke_quiet("data", "describe", path, "--limit", 30).output
    assert "30 documents (a stratified random sample of its 51: --limit)" in table, table


# ------------------------------------------------------------------ 3. vectorize: which token each column is


@pytest.mark.parametrize("mode", ["count", "multi_hot"])
def test_vectorize_vocabulary_json_names_each_bag_column(reviews, tmp_path, mode, monkeypatch):
    # Before: the JSON held "tokens" only, whose first token is column 1 (column 0 counts <unk>): a shell user
    # reading column j's word off tokens[j] was one off.
    import scipy.sparse as sp

    monkeypatch.chdir(tmp_path)
    (tmp_path / "texts.txt").write_text("good good film\nan awful film\n" + reviews[0][0].replace("\n", " ") + "\n",
                                        encoding="utf-8")
    result = invoke_quiet("vectorize", "texts.txt", "-o", "bag.npz", "--output-mode", mode)
    assert result.exit_code == 0, result.output
    vocabulary = json.loads((tmp_path / "bag.vocab.json").read_text(encoding="utf-8"))
    matrix = sp.load_npz(tmp_path / "bag.npz").toarray()
    columns = vocabulary["columns"]
    assert len(columns) == matrix.shape[1] and columns[0] == "<unk>" and columns[1:] == vocabulary["tokens"]
    assert matrix[0, columns.index("good")] == (2 if mode == "count" else 1)
    assert matrix[1, columns.index("awful")] == 1 and matrix[1, columns.index("good")] == 0
    # the file is still a vocabulary the next run reads
    again = invoke_quiet("vectorize", "texts.txt", "-o", "again.npz", "--output-mode", mode,
                         "--use-vocabulary", "bag.vocab.json")
    assert again.exit_code == 0, again.output
    assert (sp.load_npz(tmp_path / "again.npz").toarray() == matrix).all()


def test_vectorize_vocabulary_json_names_each_id(reviews, tmp_path, monkeypatch):
    from toolkit.text import Vocabulary

    monkeypatch.chdir(tmp_path)
    (tmp_path / "texts.txt").write_text("\n".join(t.replace("\n", " ") for t in reviews[0][:3]) + "\n",
                                        encoding="utf-8")
    result = invoke_quiet("vectorize", "texts.txt", "-o", "seqs.npz", "--maxlen", 20)
    assert result.exit_code == 0, result.output
    data = json.loads((tmp_path / "seqs.vocab.json").read_text(encoding="utf-8"))
    ids = data["ids"]
    assert ids[:2] == ["<pad>", "<unk>"] and ids[2:] == data["tokens"]
    seqs = np.load(tmp_path / "seqs.npz")["x"]
    vocabulary = Vocabulary.from_json(tmp_path / "seqs.vocab.json")
    assert [ids[i] for i in seqs[0] if i] == vocabulary.decode(seqs[0])


# ------------------------------------------------------------------ 4. store build / train from the shell


def test_store_build_refuses_a_class_folder_saying_how_to_build_it(reviews, tmp_path, monkeypatch):
    # Before: "Input revs is a folder; give the .txt, .csv, .tsv, .jsonl or .parquet files in it (a glob works)":
    # revs/*/*.txt made each line of each review a document, and the classes (folder names) were lost.
    import subprocess
    import sys

    texts, labels = reviews
    for name in ("neg", "pos", "unsup"):
        (tmp_path / "revs" / name).mkdir(parents=True)
    for i, (text, label) in enumerate(zip(texts[:8], labels[:8])):
        (tmp_path / "revs" / label / f"{i}.txt").write_text(text, encoding="utf-8")
    (tmp_path / "revs" / "unsup" / "u.txt").write_text(texts[9], encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    line = one_error(invoke_quiet("store", "build", "revs", "-o", "store", "--label-column", "label"))
    assert "Input revs is a class-per-folder directory (neg, pos: one document per .txt file)" in line, line
    assert "`toolkit store build revs.jsonl --label-column label_name`" in line, line
    # the conversion it shows writes the JSON lines file that command reads (IMDB's unsup folder left out)
    command = line.split("e.g. `", 1)[1].split("`", 1)[0]
    assert command.startswith("python -c ") and "categories=['neg', 'pos']" in command
    code = command.split("python -c ", 1)[1].strip('"')
    subprocess.run([sys.executable, "-c", code], cwd=tmp_path, check=True, timeout=120)
    rows = [json.loads(row) for row in (tmp_path / "revs.jsonl").read_text(encoding="utf-8").splitlines()]
    assert sorted((r["text"], r["label_name"]) for r in rows) == sorted(zip(texts[:8], labels[:8]))
    # a folder without text files keeps the general advice
    (tmp_path / "other").mkdir()
    line = one_error(invoke_quiet("store", "build", "other", "-o", "store"))
    assert "is a folder; give the .txt, .csv, .tsv, .jsonl or .parquet files in it" in line, line


def test_store_build_refuses_archives_and_unknown_files_in_command_line_words(reviews, tmp_path, monkeypatch):
    # Before: "read_texts cannot read '...': expected ... or a dask.bag / dask.dataframe collection."
    texts, labels = reviews
    monkeypatch.chdir(tmp_path)
    write_reviews_tar(tmp_path / "revs.tar.gz", texts[:3])
    write_reviews_tar(tmp_path / "aclImdb_v1.tar.gz", texts[:3], member="aclImdb/train/pos/{i}_7.txt")
    write_labelled_csv(tmp_path / "revs.dat", texts[:3], labels[:3])
    line = one_error(invoke_quiet("store", "build", "revs.tar.gz", "-o", "store"))
    assert "Input revs.tar.gz is a tar archive" in line and "Extract it (tar -xf revs.tar.gz)" in line, line
    line = one_error(invoke_quiet("store", "build", "aclImdb_v1.tar.gz", "-o", "store"))
    assert "is IMDB's tarball" in line and "--label-column label_name" in line and "train --data imdb" in line
    line = one_error(invoke_quiet("store", "build", "revs.dat", "-o", "store"))
    assert line.startswith("Error: Input revs.dat: store build reads files of documents"), line
    for line in map(one_error, (invoke_quiet("store", "build", name, "-o", "store")
                                for name in ("revs.tar.gz", "revs.dat"))):
        assert "read_texts" not in line and "dask" not in line, line
    assert not (tmp_path / "store").exists()


def test_store_train_refuses_a_store_of_one_class(reviews, tmp_path, in_process_build):
    # Before: "EmbeddingClassifier needs samples of at least 2 classes in the data, but the data contains only
    # one class: 'neg'", from Keras' fit after TensorFlow loaded, naming neither the store nor what to do.
    texts, labels = reviews
    neg = [t for t, y in zip(texts, labels) if y == "neg"][:12]
    path = write_labelled_csv(tmp_path / "neg.csv", neg, ["neg"] * len(neg))
    result = invoke_quiet("store", "build", path, "-o", tmp_path / "store", "--label-column", "label")
    assert result.exit_code == 0, result.output
    line = one_error(invoke_quiet("store", "train", tmp_path / "store", "-o", tmp_path / "model"))
    assert f"The store {tmp_path / 'store'} has labels of one class only ('neg', all 12 documents)" in line, line
    assert "two classes or more" in line
    assert not (tmp_path / "model").exists()


def test_data_info_on_own_file_shows_evaluate_commands_that_run(reviews, tmp_path, monkeypatch):
    # Before: "`toolkit evaluate MODEL --data ...`": evaluate has no --data ("No such option: --data"); its data
    # is the second argument.
    import re
    import shlex

    from conftest import saved_nb_pipeline

    texts, labels = reviews
    monkeypatch.chdir(tmp_path)
    write_labelled_csv(tmp_path / "reviews.csv", texts, labels)
    model = saved_nb_pipeline(texts, labels, tmp_path)
    line = one_error(invoke_quiet("data", "info", "reviews.csv"))
    shown = re.findall(r"`(toolkit (?:evaluate|predict) [^`]*)`", line)
    assert shown == ["toolkit evaluate MODEL reviews.csv", "toolkit predict MODEL --input reviews.csv"], line
    for command in shown:
        result = invoke_quiet(*shlex.split(command.replace("MODEL", str(model)))[1:])
        assert result.exit_code == 0, (command, result.output)


def test_store_build_reads_a_glob_without_a_suffix(reviews, tmp_path, in_process_build, monkeypatch):
    # Before: "read_texts cannot read 'parts/*': expected .txt ..., or a dask.bag / dask.dataframe collection": the
    # pattern itself went to read_texts, which tells a format by the suffix ('reviews*.csv*' failed the same way).
    import gzip

    from toolkit.distributed import CorpusStore

    texts, labels = reviews
    monkeypatch.chdir(tmp_path)
    (tmp_path / "parts").mkdir()
    write_labelled_csv(tmp_path / "parts" / "a.csv", texts[:20], labels[:20])
    write_labelled_csv(tmp_path / "parts" / "b.csv", texts[20:30], labels[20:30])
    (tmp_path / "parts" / "c.csv.gz").write_bytes(gzip.compress((tmp_path / "parts" / "a.csv").read_bytes()))
    for pattern, expected in (("parts/*", labels[:30] + labels[:20]), ("parts/[ab]*", labels[:30])):
        result = invoke_quiet("store", "build", pattern, "-o", "store", "--label-column", "label", "--force")
        assert result.exit_code == 0, (pattern, result.output)
        assert CorpusStore(tmp_path / "store").labels().tolist() == expected


def test_store_build_names_mixed_kinds_and_an_unlabelled_record_for_the_shell(reviews, tmp_path, in_process_build,
                                                                              monkeypatch):
    # Before: "read_texts reads one kind of file at a time; got suffixes [...]"; and "Document 3 of the input
    # (document 3 of partition 0) has no label (nan; ...) ... (e.g. ddf.dropna(subset=[label_column]))".
    texts, labels = reviews
    monkeypatch.chdir(tmp_path)
    write_labelled_csv(tmp_path / "revs.csv", texts[:8], labels[:8])
    (tmp_path / "revs.jsonl").write_text(json.dumps({"text": texts[8], "label": labels[8]}) + "\n", encoding="utf-8")
    line = one_error(invoke_quiet("store", "build", "revs.csv", "revs.jsonl", "-o", "store", "--label-column",
                                  "label"))
    assert "The inputs are files of 2 kinds (.csv: revs.csv, .jsonl: revs.jsonl)" in line, line
    write_labelled_csv(tmp_path / "missing.csv", texts[:8], labels[:3] + [""] + labels[4:8])
    line = one_error(invoke_quiet("store", "build", "missing.csv", "-o", "store", "--label-column", "label"))
    assert line.startswith("Error: Record 3 (line 5) of missing.csv has no label"), line
    assert "df.dropna(subset=['label'])" in line and "ddf" not in line and "label_column" not in line, line
    assert not (tmp_path / "store").exists()
