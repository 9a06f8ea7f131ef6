"""A data engineer scoring many review files on a Dask cluster (session 45): IMDB reviews written as CSV,
gzipped CSV and JSON lines files, predicted with ``write_predictions`` on a ``LocalCluster`` and joined back to
their ids; a worker that dies part of the way (its finished partitions are predicted again); files in another
encoding than UTF-8 among UTF-8 ones; plain and gzipped files of one format read together.

One module ``LocalCluster`` (two worker processes of one thread on 127.0.0.1) serves the tests; a fast
scikit-learn model (TF-IDF + logistic regression) fitted on small real IMDB samples stands for the user's model.
No assertion on time or on the names Dask gives its tasks.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import sys

import numpy as np
import pytest
from sklearn.base import BaseEstimator

pytest.importorskip("distributed")
pd = pytest.importorskip("pandas")

N = 60  # reviews per test: seconds, on a loaded machine too


@pytest.fixture(scope="module")
def reviews(imdb_small):
    """N fit reviews and N reviews to score, with ids (the scored ones: r0000, ...)."""
    texts, labels = imdb_small
    frame = pd.DataFrame({"review_id": [f"r{i:04d}" for i in range(N)], "review": list(texts[N:2 * N])})
    return list(texts[:N]), list(labels[:N]), frame


@pytest.fixture(scope="module")
def model(reviews):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    texts, labels, _ = reviews
    return make_pipeline(TfidfVectorizer(), LogisticRegression()).fit(texts, labels)


def _lines(folder):
    return [json.loads(line) for part in sorted(folder.glob("part-*.jsonl"))
            for line in part.read_text(encoding="utf-8").splitlines()]


class DiesOnce(BaseEstimator):
    """The user's model, except that the worker process predicting its third partition dies (once in the test,
    marked by a file): Dask then predicts again the partitions whose results that worker held."""

    def __init__(self, model, marker):
        self.model, self.marker, self.classes_, self.calls = model, marker, model.classes_, 0

    def fit(self, X, y=None):  # fitted already: the user's model
        return self

    def __sklearn_is_fitted__(self):
        return True

    def predict(self, X):
        self.calls += 1
        if self.calls == 3 and not os.path.exists(self.marker):
            open(self.marker, "w").close()
            os._exit(1)
        return self.model.predict(X)


def test_a_worker_that_dies_after_writing_parts_loses_no_rows(client, model, reviews, tmp_path):
    # Before: the partitions the dead worker had finished were predicted again and their files, already written,
    # failed the whole write with FileExistsError ('part-00002.jsonl'), after all the work.
    import cloudpickle
    import dask.dataframe as dd

    from toolkit.distributed import write_predictions

    _, _, frame = reviews
    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # DiesOnce to the workers by value
    try:
        shaky = DiesOnce(model, str(tmp_path / "died"))
        out = write_predictions(shaky, dd.from_pandas(frame, npartitions=8), tmp_path / "scores",
                                text_column="review")
    finally:
        cloudpickle.unregister_pickle_by_value(sys.modules[__name__])
    assert (tmp_path / "died").exists()  # a worker did die part of the way
    lines = _lines(out)
    assert [line["index"] for line in lines] == list(range(N))  # no row lost or written twice
    assert [line["label"] for line in lines] == model.predict(frame["review"].tolist()).tolist()
    assert json.loads((out / "predictions.json").read_text())["n_documents"] == N
    assert not [p.name for p in out.iterdir() if p.name.startswith(".")]  # no temporary part left


def test_predictions_of_csv_blocks_join_back_by_id_column(client, model, reviews, tmp_path):
    # Dask's read_csv numbers each block's rows from 0: the "index" of the lines repeated from part to part and
    # identified no review. Before: write_predictions had no id_column (TypeError).
    import dask.bag as db
    import dask.dataframe as dd

    from toolkit.distributed import write_predictions

    _, _, frame = reviews
    frame.to_csv(tmp_path / "reviews.csv", index=False)
    expected = dict(zip(frame["review_id"], model.predict(frame["review"].tolist()).tolist()))
    blocks = dd.read_csv(tmp_path / "reviews.csv", blocksize=20_000)
    assert blocks.npartitions > 1
    out = write_predictions(model, blocks, tmp_path / "scores", text_column="review", id_column="review_id",
                            method="predict_proba")
    lines = _lines(out)
    assert [line["id"] for line in lines] == frame["review_id"].tolist()
    assert {line["id"]: max(line["probabilities"], key=line["probabilities"].get) for line in lines} == expected

    with open(tmp_path / "reviews.jsonl", "w", encoding="utf-8") as fh:  # a bag of records: the key of each
        fh.writelines(json.dumps(r) + "\n" for r in frame.to_dict("records"))
    records = db.read_text(str(tmp_path / "reviews.jsonl"), blocksize=20_000).map(json.loads)
    lines = _lines(write_predictions(model, records, tmp_path / "scores2", text_column="review",
                                     id_column="review_id"))
    assert {line["id"]: line["label"] for line in lines} == expected and len(lines) == N

    with pytest.raises(ValueError, match=r"id_column='id'.*columns are \['review_id', 'review'\]"):
        write_predictions(model, blocks, tmp_path / "scores3", text_column="review", id_column="id")
    assert not (tmp_path / "scores3").exists()


def test_plain_and_gzipped_files_of_one_format_read_together(client, model, reviews, tmp_path):
    # Before: read_texts refused ["a.csv", "b.csv.gz"] ("one kind of file at a time") though both are CSV.
    from toolkit.distributed import predict, read_texts

    _, _, frame = reviews
    half = N // 2
    frame.iloc[:half].to_csv(tmp_path / "a.csv", index=False)
    frame.iloc[half:].to_csv(tmp_path / "b.csv.gz", index=False, compression="gzip")
    files = [tmp_path / "a.csv", tmp_path / "b.csv.gz"]
    texts = read_texts(files, text_column="review", blocksize=20_000)
    assert texts.compute() == frame["review"].tolist()  # in the order of the files
    assert predict(model, texts).compute() == model.predict(frame["review"].tolist()).tolist()
    pairs = read_texts(files[::-1], text_column="review", label_column="review_id").compute()
    assert [label for _, label in pairs] == frame["review_id"].tolist()[half:] + frame["review_id"].tolist()[:half]
    with open(tmp_path / "c.jsonl", "w", encoding="utf-8") as fh:
        fh.write(json.dumps({"review": "x"}) + "\n")
    with pytest.raises(ValueError, match="one kind of file at a time"):  # another format is still refused
        read_texts([tmp_path / "a.csv", tmp_path / "c.jsonl"], text_column="review")


@pytest.mark.parametrize("name", ["reviews.csv", "reviews.csv.gz", "reviews.jsonl", "reviews.jsonl.gz", "reviews.txt"])
def test_a_file_in_another_encoding_is_named(client, model, reviews, tmp_path, name):
    # Before: UnicodeDecodeError "'utf-8' codec can't decode byte 0xe9 in position 325" (or, for a plain CSV,
    # UnicodeEncodeError "surrogates not allowed") from a worker, naming no file among the many.
    from toolkit.distributed import predict, read_texts
    from toolkit.exceptions import DataError

    _, _, frame = reviews
    part = frame.iloc[:6].copy()
    part.loc[3, "review"] = "Un film très réussi, good acting"
    good = tmp_path / f"good-{name}"  # the same rows in UTF-8: read as written
    bad = tmp_path / name
    for path, encoding in ((good, "utf-8"), (bad, "latin-1")):
        if ".csv" in name:
            data = part.to_csv(index=False)
        elif ".jsonl" in name:
            data = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in part.to_dict("records"))
        else:
            data = "".join(t.replace("\n", " ") + "\n" for t in part["review"])
        raw = data.encode(encoding)
        path.write_bytes(gzip.compress(raw) if name.endswith(".gz") else raw)
    column = None if name.endswith(".txt") else "review"
    assert predict(model, read_texts(good, text_column=column)).compute() == model.predict(
        [t.replace("\n", " ") if column is None else t for t in part["review"]]).tolist()
    with pytest.raises(DataError, match=re.escape(str(bad)) + " is not valid UTF-8 .*r\ufffdussi.*iconv -f latin1"):
        predict(model, read_texts(bad, text_column=column)).compute()
    np.testing.assert_array_equal(read_texts(good, text_column=column).count().compute(), 6)


def test_a_malformed_csv_row_is_named_by_file_and_line(client, reviews, tmp_path):
    # Before: pandas' "Expected 2 fields in line 14, saw 4" from a worker, line 14 of some block of some file;
    # and a block that started with such a row was read with an implicit index, its other rows dropped silently.
    from toolkit.distributed import read_texts
    from toolkit.exceptions import DataError

    _, _, frame = reviews
    lines = frame.to_csv(index=False).splitlines(keepends=True)  # IMDB texts hold no line breaks
    bad_line = 41
    lines.insert(bad_line - 1, "r9999,an unquoted, comma,and more\n")
    path = tmp_path / "reviews.csv"
    path.write_text("".join(lines), encoding="utf-8")
    (tmp_path / "fine.csv").write_text("".join(lines[:bad_line - 1]), encoding="utf-8")
    at = len("".join(lines[:bad_line - 1]).encode("utf-8"))  # the byte where the bad row starts
    # the whole file one block; blocks of 20 kB; a block that starts with the bad row
    for blocksize in (None, 20_000, at - 1):
        texts = read_texts([tmp_path / "fine.csv", path], text_column="review", blocksize=blocksize)
        with pytest.raises(DataError, match=re.escape(f"{path}, line {bad_line}: malformed CSV") + ".*on_bad_lines"):
            texts.compute()
    texts = read_texts(tmp_path / "fine.csv", text_column="review", blocksize=at // 7)  # blocks lose no row
    assert texts.npartitions > 5 and texts.compute() == frame["review"].tolist()[:bad_line - 2]
