"""The shell user who trains, evaluates and predicts on their own files (session 44).

- ``toolkit tokenize FOLDER`` (any command reading a folder of .txt files) with a latin-1 file said "Pass
  encoding=... or decode_errors='replace'": the command line has no such options. The message now says how
  to convert the file (``iconv``, naming it), counts the other undecodable files of the folder (each one was
  a new run before), and still names the Python parameters.
- ``toolkit predict MODEL`` / ``evaluate`` on a folder saved from a bare classifier of token lists said
  "Tokenize first: put SpacyTokenizer before it in a Pipeline": a model that records its tokenizer settings
  (``fit_from_store``'s ``tokenizer_params_``) now tokenizes raw texts with exactly those; any other is refused
  before predicting, saying how to save the tokenizer with it or to train with ``toolkit train``.
- A TSV written without quoting (by hand, ``paste``, awk) whose text starts with a quote merged the rows up
  to the next quote into one text, tabs, labels and line breaks included, with no word: it is an error now,
  naming the lines.
- Files beside the class folders of a folder were left out (no row, no count): a warning counts them.
- ``--column review`` for a header ``Review`` (or `` Review``) only listed the columns: the message now says
  that names are case-sensitive and which one was likely meant (CSV, JSON lines, stdin).
- ``--column label --label-column label`` trained on the labels as texts (accuracy 1.0): an error now.
- Labels "Pos" and "pos" in one file were two classes without a word: a warning names them.

Subprocesses run in ``tmp_path`` (the installed package is tested); small real IMDB samples.
"""

from __future__ import annotations

import csv

import numpy as np
import pytest
from conftest import toolkit_subprocess as _toolkit

from toolkit.exceptions import DataError, ModelFormatError


def _one_error(code, err):
    assert code == 1 and "Traceback" not in err, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), err
    return lines[0]


# ------------------------------------------------------------------ a folder with latin-1 files


def test_cli_inputs_folder_latin1_says_how_to_convert(imdb_small, tmp_path):
    texts = [t[:300] for t in imdb_small[0][:4]]
    folder = tmp_path / "reviews"
    folder.mkdir()
    (folder / "1.txt").write_text(texts[0], encoding="utf-8")
    (folder / "2.txt").write_bytes(("Caf\u00e9 scene: " + texts[1]).encode("latin-1", "replace"))
    (folder / "3.txt").write_text(texts[2], encoding="utf-8")
    code, out, err = _toolkit(tmp_path, "tokenize", "reviews")
    line = _one_error(code, err)
    assert out == ""
    # before: "... is not valid utf-8 (...). Pass encoding=... or decode_errors='replace'." (no such options)
    assert "reviews/2.txt is not valid utf-8" in line
    assert "`iconv -f latin1 -t utf-8 reviews/2.txt > NEW_FILE && mv NEW_FILE reviews/2.txt`" in line
    assert line.endswith("The command line reads UTF-8 only; it has no encoding option.") and "in Python" not in line

    # all the folder's undecodable files are counted: converting one and running again met the next
    (folder / "4.txt").write_bytes(b"Na\xefve " + texts[3].encode("ascii", "replace"))
    line = _one_error(*_toolkit(tmp_path, "tokenize", "reviews")[::2])
    assert "reviews/2.txt is not valid utf-8" in line and "neither is 1 more file of reviews (4.txt)" in line
    assert "Save the files as utf-8 (e.g. `iconv -f latin1 -t utf-8 FILE > NEW_FILE && mv NEW_FILE FILE` for each)" \
        in line


def test_cli_inputs_folder_latin1_python_message(imdb_small, tmp_path):
    from toolkit.data import load_folder

    for cls in ("neg", "pos"):
        (tmp_path / cls).mkdir()
    (tmp_path / "neg" / "a.txt").write_bytes(b"Awful caf\xe9 scene.")
    (tmp_path / "pos" / "b.txt").write_bytes(b"\xff\xfeg\x00o\x00o\x00d\x00")  # UTF-16 (Notepad's "Unicode")
    (tmp_path / "pos" / "c.txt").write_text(imdb_small[0][0][:200], encoding="utf-8")
    with pytest.raises(DataError, match=r"a\.txt is not valid utf-8 \(.*\); neither is 1 more file of .* "
                                        r"\(pos/b\.txt\); is it in another encoding, such as latin-1 or cp1252\? "
                                        r".*in Python, pass load_folder its encoding \(encoding='latin-1', "
                                        r"'cp1252'\.\.\.\) or decode_errors='replace'\.") as info:
        load_folder(tmp_path)
    assert isinstance(info.value.__cause__, UnicodeDecodeError)
    (tmp_path / "neg" / "a.txt").write_text("Awful film.", encoding="utf-8")
    with pytest.raises(DataError, match=r"b\.txt is not valid utf-8 .*it starts with a UTF-16 byte-order mark: "
                                        r"is it UTF-16 text\? .*`iconv -f UTF-16 -t utf-8 "):
        load_folder(tmp_path)
    assert load_folder(tmp_path, decode_errors="replace").texts[0] == "Awful film."


# ------------------------------------------------------------------ a model folder without its tokenizer


@pytest.fixture(scope="module")
def bare_model(imdb_tokens, tmp_path_factory):
    """A bare EmbeddingClassifier fitted on token lists, saved with save_model: (its folder, the classifier)."""
    from toolkit.models import EmbeddingClassifier, save_model

    tokens, labels = imdb_tokens
    clf = EmbeddingClassifier(embedding_dim=4, maxlen=40, epochs=1, validation_split=0.0, random_state=0)
    clf.fit([t[:40] for t in tokens[:60]], labels[:60])
    return save_model(clf, tmp_path_factory.mktemp("s44") / "bare"), clf


def test_cli_inputs_predict_bare_classifier_says_what_to_do(bare_model, imdb_small, tmp_path):
    folder, _ = bare_model
    code, out, err = _toolkit(tmp_path, "predict", folder, "A wonderful film.")
    line = _one_error(code, err)
    # before: "EmbeddingClassifier expects token lists, but document 0 of X is a raw string. Tokenize first: put
    # SpacyTokenizer before it in a Pipeline, or use toolkit.make_text_classifier()."
    assert line.startswith(f"Error: '{folder}' holds an EmbeddingClassifier without a tokenizer: it classifies token "
                           "lists, not raw texts")
    assert "save_model(make_pipeline(SpacyTokenizer(<those settings>), clf), FOLDER)" in line
    assert "`toolkit train`" in line and out == ""

    from toolkit.cli.train import evaluate

    data = tmp_path / "test.csv"
    with data.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([("text", "label"), *zip(imdb_small[0][:6], imdb_small[1][:6])])
    with pytest.raises(ModelFormatError, match=r"holds an EmbeddingClassifier without a tokenizer"):
        evaluate(folder, data)


def test_cli_inputs_predict_pipeline_of_token_lists_refused(imdb_tokens, tmp_path):
    """A scikit-learn pipeline of token lists (no Keras, saved with skops) is refused the same way."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    from toolkit import BagEncoder
    from toolkit.cli.train import predict
    from toolkit.models import save_model

    tokens, labels = imdb_tokens
    folder = save_model(make_pipeline(BagEncoder(), LogisticRegression()).fit(tokens[:60], labels[:60]),
                        tmp_path / "bag")
    with pytest.raises(ModelFormatError, match=r"bag' holds a pipeline starting with a BagEncoder without a "
                                               r"tokenizer"):
        predict(folder, ["A wonderful film."])


def test_cli_inputs_predict_uses_recorded_tokenizer(imdb_small, tmp_path):
    """A model that records its tokenizer settings (fit_from_store's tokenizer_params_) predicts raw texts
    tokenized with exactly those, as the pipeline its Python message names does."""
    pytest.importorskip("dask")
    import dask.bag as db
    from sklearn.pipeline import make_pipeline

    from toolkit import SpacyTokenizer
    from toolkit.cli.train import evaluate, predict
    from toolkit.distributed import CorpusStore, fit_from_store
    from toolkit.models import EmbeddingClassifier, save_model

    texts, labels = imdb_small
    pairs = [(t[:400], str(y)) for t, y in zip(texts[:40], labels[:40])]
    store = CorpusStore.build(db.from_sequence(pairs, npartitions=2), tmp_path / "store",
                              tokenizer={"lowercase": False, "remove_punct": True}, scheduler="sync")
    clf = fit_from_store(EmbeddingClassifier(embedding_dim=4, maxlen=40, epochs=1, validation_split=0.0,
                                             random_state=0), store)
    folder = save_model(clf, tmp_path / "store_model")  # the bare classifier, as fit_from_store returns it
    texts = [t[:300] for t in imdb_small[0][40:45]]
    rows = predict(folder, texts)
    expected = make_pipeline(SpacyTokenizer(lowercase=False, remove_punct=True), clf).predict_proba(texts)
    got = np.array([[row["probabilities"][str(c)] for c in clf.classes_] for row in rows])
    np.testing.assert_allclose(got, expected, atol=2e-6)
    default = make_pipeline(SpacyTokenizer(), clf).predict_proba(texts)
    assert not np.allclose(default, expected, atol=1e-6)  # the settings matter: a default tokenizer differs
    assert predict(folder, texts[:2], skip_bad=True)[0]["label"] == rows[0]["label"]

    data = tmp_path / "test.csv"
    with data.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([("text", "label"), *zip(texts, imdb_small[1][40:45])])
    assert evaluate(folder, data)["n_samples"] == 5  # `toolkit evaluate` and `predict` call these two


# ------------------------------------------------------------------ a TSV written without quoting


def _unquoted_tsv(path, texts, labels):
    with path.open("w", encoding="utf-8") as fh:  # as `paste` or a shell loop writes it: no quoting
        fh.write("text\tlabel\n")
        for text, label in zip(texts, labels):
            fh.write(f"{text}\t{label}\n")


def test_cli_inputs_unquoted_tsv_rows_not_merged(imdb_small, tmp_path):
    from toolkit.data import load_csv

    texts = [t[:200].replace('"', "'").replace("\t", " ") for t in imdb_small[0][:40]]
    labels = list(imdb_small[1][:40])
    texts[5] = '"Wow. ' + texts[5]  # a text that starts with a quote, and one with quotes inside
    texts[7] = texts[7][:50] + ' the "best" film ' + texts[7][50:]
    _unquoted_tsv(tmp_path / "train.tsv", texts, labels)
    # before: 38 records, the 6th holding "...\tneg\n" and the next two reviews, with no word
    with pytest.raises(DataError, match=r"train\.tsv, lines 7-9: not CSV quoting \('\t' expected after '\"'\): a "
                                        r"quote that starts a field on line 7 made these lines one record\. A field "
                                        r"that starts with a quote .*remove the quote that starts the field"):
        load_csv(tmp_path / "train.tsv", delimiter="\t")
    code, _, err = _toolkit(tmp_path, "train", "--data", "train.tsv", "--vectors", "none", "--no-baseline",
                            "-o", "run")
    assert "train.tsv, lines 7-9: not CSV quoting" in _one_error(code, err)
    assert not (tmp_path / "run").exists()

    # the quote that closes the field just before a tab (CSV quoting): the field holds tabs and line breaks
    texts[7] = texts[7] + ' 10/10"'
    texts[7] = texts[7].replace('"best"', "best")
    _unquoted_tsv(tmp_path / "train.tsv", texts, labels)
    with pytest.raises(DataError, match=r"train\.tsv, lines 7-9: one field holds tabs and line breaks, so several "
                                        r"rows were read as one\. A field that starts with a quote"):
        load_csv(tmp_path / "train.tsv", delimiter="\t")


def test_cli_inputs_quotes_on_one_line_still_read(tmp_path):
    from toolkit.data import load_csv

    path = tmp_path / "r.tsv"
    path.write_text('text\tlabel\n"Wow." a good film\tpos\nawful\tneg\n', encoding="utf-8")
    assert load_csv(path, delimiter="\t").texts == ["Wow. a good film", "awful"]  # lenient, as before
    # properly quoted fields with commas, quotes and line breaks read
    path = tmp_path / "r.csv"
    path.write_text('text,label\n"good, ""really""\nfine",pos\nawful,neg\n', encoding="utf-8")
    assert load_csv(path).texts == ['good, "really"\nfine', "awful"]


def test_cli_inputs_files_beside_class_folders_are_named(imdb_small, tmp_path, caplog):
    """``toolkit predict MODEL --input FOLDER`` (or train/evaluate) on a folder with class folders and files
    beside them left those files out with no word: no row, no count."""
    import logging

    from toolkit.data import load_folder

    texts, labels = imdb_small
    for i, (text, label) in enumerate(zip(texts[:6], labels[:6])):
        (tmp_path / str(label)).mkdir(exist_ok=True)
        (tmp_path / str(label) / f"{i}.txt").write_text(text[:200], encoding="utf-8")
    for i in range(3):
        (tmp_path / f"new{i}.txt").write_text(texts[10 + i][:200], encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="toolkit.data.datasets"):
        assert len(load_folder(tmp_path)) == 6
    assert (f"{tmp_path}: 3 file(s) (files ending in .txt; first: new0.txt) lie beside its class folders "
            "['neg', 'pos'], outside any: they have no class and are not read. Move them into a class folder") \
        in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="toolkit.data.datasets"):
        assert len(load_folder(tmp_path, categories=["neg", "pos"])) == 6  # chosen: as aclImdb/train's urls_*.txt
    assert caplog.text == ""


def test_cli_inputs_column_differing_in_case_is_pointed_out(imdb_small, tmp_path):
    """A header "Review,Sentiment" (Excel capitalises) with --column review only listed the columns."""
    import io
    import json

    from toolkit.cli._inputs import read_input
    from toolkit.data import load_csv, load_jsonl

    texts, labels = imdb_small
    path = tmp_path / "r.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([(" Review", "label"), *zip(texts[:3], labels[:3])])
    with pytest.raises(DataError, match=r"its columns are \[' Review', 'label'\]\. Pass text_column=<one of them>\. "
                                        r"Column names are case-sensitive and the spaces around them count: did you "
                                        r"mean ' Review'\?"):
        load_csv(path, text_column="review")
    lines = "".join(json.dumps({"Review": t, "label": str(y)}) + "\n" for t, y in zip(texts[:3], labels[:3]))
    (tmp_path / "r.jsonl").write_text(lines, encoding="utf-8")
    with pytest.raises(DataError, match=r"Pass text_column=<one of them>\. Keys are case-sensitive: did you mean "
                                        r"'Review'\?"):
        load_jsonl(tmp_path / "r.jsonl", text_column="review")
    with pytest.raises(DataError, match=r"Pass --column <one of them>\. Keys are case-sensitive: did you mean "
                                        r"'Review'\?"):
        read_input("-", stdin=io.StringIO(lines), column="review")
    code, _, err = _toolkit(tmp_path, "tokenize", "r.csv", "--column", "review")
    assert _one_error(code, err).endswith("Pass --column <one of them>. Column names are case-sensitive and the spaces "
                                          "around them count: did you mean ' Review'?")


def test_cli_inputs_label_column_is_not_the_text_column(imdb_small, tmp_path):
    """``toolkit train --column label --label-column label`` trained on the labels as texts and reported an
    accuracy of 1.0."""
    from toolkit.cli._inputs import SettingError, load_data
    from toolkit.data import load_csv, load_jsonl

    texts, labels = imdb_small
    path = tmp_path / "r.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([("text", "label"), *zip(texts[:20], labels[:20])])
    with pytest.raises(ValueError, match=r"The 'label_column' parameter of load_csv names the text column 'label' "
                                         r"too: the labels would be the texts themselves"):
        load_csv(path, text_column="label", label_column="label")
    (tmp_path / "r.jsonl").write_text('{"text": "a good film", "label": "pos"}\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"parameter of load_jsonl names the text column 'text' too"):
        load_jsonl(tmp_path / "r.jsonl", label_column="text")
    assert load_csv(path, text_column="label", label_column=None).texts[:2] == list(labels[:2])  # texts alone
    with pytest.raises(SettingError, match=r"--column and --label-column both name 'label'"):
        load_data(path, column="label", label_column="label")
    code, _, err = _toolkit(tmp_path, "train", "--data", "r.csv", "--column", "label", "--label-column", "label",
                            "--vectors", "none", "--no-baseline", "-o", "run")
    assert _one_error(code, err) == ("Error: --column and --label-column both name 'label': the labels would be the "
                                     "texts themselves (a model of them scores 100%). Pass --column <the text "
                                     "column> and --label-column <the label column>.")
    assert not (tmp_path / "run").exists()


def test_cli_inputs_labels_differing_in_case_are_pointed_out(imdb_small, tmp_path, caplog):
    """Labels typed "Pos" in some rows and "pos" in others trained a model of four classes without a word."""
    import logging

    from toolkit.cli._inputs import _named_labels, load_data

    texts, labels = imdb_small
    labels = [str(y).capitalize() if i % 9 == 0 else str(y) for i, y in enumerate(labels[:60])]
    path = tmp_path / "r.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([("text", "label"), *zip(texts[:60], labels)])
    ds = load_data(path)
    with caplog.at_level(logging.WARNING, logger="toolkit.data.datasets"):
        assert sorted(set(_named_labels(ds, "label"))) == ["Neg", "Pos", "neg", "pos"]  # still four classes
        _named_labels(ds, "label")  # a command reads its data twice: one warning
    warnings = [r.getMessage() for r in caplog.records if "differ only in case" in r.getMessage()]
    n = {name: labels.count(name) for name in ("Neg", "neg", "Pos", "pos")}
    assert warnings == [(f"{path}: labels in column 'label' differ only in case: 'Neg' ({n['Neg']} records), "
                         f"'neg' ({n['neg']} records); 'Pos' ({n['Pos']} records), 'pos' ({n['pos']} records). Each "
                         "is read as a class of its own; write each class one way in the file (pandas: df['label'] = "
                         "df['label'].str.lower()) unless they are different classes.")]
