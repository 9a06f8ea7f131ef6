"""A Dask user who outgrew one machine (session 43): a store built from IMDB reviews in a bag and a dataframe,
trained with fit_from_store, predicted over a bag and a Series and written to a folder, compared with the same
work in memory; blank texts warned about once with a count, as the in-memory readers and the classifier do; and
labels written several ways (``1``, ``"1"``, ``True``) given the classes the in-memory readers give, however the
input is partitioned.

One module ``distributed.LocalCluster`` (two worker processes of one thread on 127.0.0.1) serves the tests that
run on a cluster; the others use the synchronous scheduler. Small real IMDB samples; no assertion on time or on
the names Dask gives its tasks.
"""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest

pytest.importorskip("distributed")

N = 24  # reviews per test: seconds, on a loaded machine too


@pytest.fixture(scope="module")
def reviews(imdb_small):
    texts, labels = imdb_small
    return list(texts[:N]), [str(y) for y in labels[:N]]


@pytest.fixture(scope="module")
def fitted(reviews, tmp_path_factory):
    """An EmbeddingClassifier fitted in memory on the reviews, tokenized by SpacyTokenizer, and that pipeline."""
    from sklearn.pipeline import make_pipeline

    from toolkit.models import EmbeddingClassifier
    from toolkit.text import SpacyTokenizer

    texts, labels = reviews
    corpus = SpacyTokenizer().fit_transform(texts)
    clf = EmbeddingClassifier(embedding_dim=8, epochs=2, random_state=0).fit(corpus, labels)
    return corpus, clf, make_pipeline(SpacyTokenizer(), clf)


def _warnings(caplog, logger):
    return [r.getMessage() for r in caplog.records if r.name == logger and r.levelno == logging.WARNING]


# ------------------------------------------------------------------------------------------- the user's flow
@pytest.mark.slow
def test_store_fit_predict_write_on_a_cluster_equal_memory(client, reviews, fitted, tmp_path):
    import dask.bag as db
    import dask.dataframe as dd
    import pandas as pd

    from toolkit.distributed import (
        CorpusStore,
        fit_from_store,
        predict,
        predict_proba,
        write_predictions,
    )
    from toolkit.models import EmbeddingClassifier

    texts, labels = reviews
    corpus, clf, pipe = fitted
    ddf = dd.from_pandas(pd.DataFrame({"text": texts, "label": labels}), npartitions=3)
    stores = [CorpusStore.build(db.from_sequence(list(zip(texts, labels)), npartitions=3), tmp_path / "bag"),
              CorpusStore.build(ddf, tmp_path / "frame", text_column="text", label_column="label")]
    expected = clf.predict_proba(corpus)
    for store in stores:
        assert store.labels().tolist() == labels
        streamed = fit_from_store(EmbeddingClassifier(embedding_dim=8, epochs=2, random_state=0), store)
        assert streamed.classes_.tolist() == clf.classes_.tolist()
        np.testing.assert_allclose(streamed.predict_proba(corpus), expected, atol=1e-5)

    assert predict(pipe, db.from_sequence(texts, npartitions=3)).compute() == clf.predict(corpus).tolist()
    proba = predict_proba(pipe, ddf, text_column="text").compute()
    assert list(proba.columns) == clf.classes_.tolist()
    np.testing.assert_allclose(proba.to_numpy(), expected, atol=1e-6)

    out = write_predictions(pipe, ddf, tmp_path / "predictions", method="predict_proba", text_column="text")
    rows = [json.loads(line) for p in sorted(out.glob("part-*.jsonl")) for line in p.read_text().splitlines()]
    assert [r["index"] for r in rows] == list(range(N))
    np.testing.assert_allclose([[r["probabilities"][c] for c in clf.classes_] for r in rows], expected, atol=1e-5)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bag", "frame", "predictions"]  # nothing left beside


# ------------------------------------------------------------------------------------------------ blank texts
def _with_blanks(texts, labels):
    """The reviews with three blank texts (empty, spaces, a line break) at positions 10 to 12."""
    return texts[:10] + ["", "   ", "\n"] + texts[10:], labels[:10] + ["pos", "neg", "pos"] + labels[10:]


def test_store_build_warns_once_on_blank_texts_of_a_bag_and_a_dataframe(client, reviews, tmp_path, caplog):
    """In memory load_csv / load_jsonl warn once with a count; the store said nothing, and fit_from_store then
    refused the store."""
    import dask.bag as db
    import dask.dataframe as dd
    import pandas as pd

    from toolkit.distributed import CorpusStore

    texts, labels = _with_blanks(*reviews)
    inputs = {"bag": (db.from_sequence(list(zip(texts, labels)), npartitions=4), {}),
              "frame": (dd.from_pandas(pd.DataFrame({"text": texts, "label": labels}), npartitions=4),
                        {"text_column": "text", "label_column": "label"})}
    for name, (source, options) in inputs.items():
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="toolkit"):
            store = CorpusStore.build(source, tmp_path / name, **options)
        blank = [m for m in _warnings(caplog, "toolkit.distributed.store") if "blank" in m]
        assert len(blank) == 1, blank
        assert f"3 of {len(texts)} texts are blank" in blank[0] and "first: document 10 of the input" in blank[0]
        assert (store.lengths()[10:13] == 0).all()


def test_write_predictions_warns_once_with_a_count_numbered_in_the_input(client, reviews, fitted, tmp_path,
                                                                          caplog):
    """The classifier warned once per partition, in the workers (numbered there: "document 2 of X"); the client
    heard nothing."""
    import dask.bag as db
    import dask.dataframe as dd
    import pandas as pd

    texts, _ = _with_blanks(*reviews)
    _, _, pipe = fitted
    from toolkit.distributed import write_predictions

    inputs = {"bag": (db.from_sequence(texts, npartitions=4), None),
              "series": (dd.from_pandas(pd.DataFrame({"text": texts}), npartitions=4), "text")}
    for name, (source, column) in inputs.items():
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="toolkit"):
            write_predictions(pipe, source, tmp_path / name, text_column=column)
        empty = [m for m in _warnings(caplog, "toolkit.distributed.prediction") if "no tokens" in m]
        assert len(empty) == 1, empty
        assert f"3 of {len(texts)} document(s) have no tokens" in empty[0]
        assert "first: document 10 of the input" in empty[0]


def test_lazy_predict_names_the_partition_of_its_documents_without_tokens(reviews, fitted, caplog):
    """Per partition (a lazy collection gives the client nothing to count), named by its partition, not "of X"."""
    import dask
    import dask.bag as db

    from toolkit.distributed import predict

    texts, _ = _with_blanks(*reviews)
    _, _, pipe = fitted
    with dask.config.set(scheduler="sync"), caplog.at_level(logging.WARNING, logger="toolkit"):
        got = predict(pipe, db.from_sequence(texts, npartitions=4)).compute()  # 7 a partition: 10-12 in part 1
    assert len(got) == len(texts) and len(set(got[10:13])) == 1  # the class prior's class, for all three
    messages = [m for m in _warnings(caplog, "toolkit.distributed.prediction") if "no tokens" in m]
    assert messages == [m for m in messages if "partition 1 of the bag" in m] and len(messages) == 1, messages
    assert not [m for m in _warnings(caplog, "toolkit.models.classifier") if "no tokens" in m]


# ----------------------------------------------------------------------------------------------------- labels
MIXED = [1, "1", "pos", True]


def _jsonl(path, texts, labels):
    path.write_text("".join(json.dumps({"text": t, "label": y}) + "\n" for t, y in zip(texts, labels)),
                    encoding="utf-8")
    return path


@pytest.mark.parametrize("npartitions", [1, 2, 4])
def test_store_labels_written_several_ways_are_the_classes_of_the_memory_reader(reviews, tmp_path, npartitions):
    """``[1, "1", "pos", True]``: two classes in memory ("1" and "pos"), three in the store ("1", "True", "pos");
    and ``[1, True, "pos", "neg"]`` over two partitions lost "True" into "1" in one partition but not the other."""
    import dask.bag as db

    from toolkit.data import load_jsonl
    from toolkit.distributed import CorpusStore, fit_from_store
    from toolkit.models import EmbeddingClassifier

    texts = reviews[0][:8]
    labels = MIXED * 2
    memory = load_jsonl(_jsonl(tmp_path / "reviews.jsonl", texts, labels), text_column="text", label_column="label")
    in_memory = np.asarray(memory.target_names)[memory.labels]
    assert sorted(memory.target_names) == ["1", "pos"]
    pairs = db.from_sequence(list(zip(texts, labels)), npartitions=npartitions)
    store = CorpusStore.build(pairs, tmp_path / "store", scheduler="sync")
    assert store.labels().tolist() == in_memory.tolist()
    from_file = CorpusStore.build(tmp_path / "reviews.jsonl", tmp_path / "file", label_column="label",
                                  text_column="text", scheduler="sync")
    assert from_file.labels().tolist() == in_memory.tolist()
    clf = fit_from_store(EmbeddingClassifier(embedding_dim=4, epochs=1, random_state=0), store)
    assert clf.classes_.tolist() == ["1", "pos"]


@pytest.mark.parametrize(("labels", "expected"), [
    ([1, True, "pos", "neg"], ["1", "1", "pos", "neg"]),        # True is 1 beside numbers, in any partition
    ([True, False, "pos", "neg"], ["True", "False", "pos", "neg"]),  # beside text alone: its own class
    ([1, 2.5, "pos", "neg"], ["1", "2.5", "pos", "neg"]),       # 1 was "1.0" when its partition held 2.5
    ([1.0, 2, "1", "2.0"], ["1", "2", "1", "2"]),               # a number is one class however written
    ([0, 1, 1, 0], [0, 1, 1, 0]),                               # numbers alone stay numbers
    ([True, False, True, False], [True, False, True, False]),   # booleans alone stay booleans
])
def test_store_labels_do_not_depend_on_the_partitions(reviews, tmp_path, labels, expected):
    import dask.bag as db

    from toolkit.distributed import CorpusStore

    texts = reviews[0][:4]
    for npartitions in (1, 2, 4):
        pairs = db.from_sequence(list(zip(texts, labels)), npartitions=npartitions)
        store = CorpusStore.build(pairs, tmp_path / f"store-{npartitions}", scheduler="sync")
        assert store.labels().tolist() == expected, npartitions


def test_store_labels_on_a_cluster(client, reviews, tmp_path):
    import dask.bag as db

    from toolkit.distributed import CorpusStore

    texts = reviews[0][:8]
    store = CorpusStore.build(db.from_sequence(list(zip(texts, MIXED * 2)), npartitions=4), tmp_path / "store")
    assert store.labels().tolist() == ["1", "1", "pos", "1"] * 2
    assert sorted(p.name for p in (tmp_path / "store" / "part-00000").iterdir()) == [
        "ids.npy", "labels.npy", "offsets.npy", "strings.bin", "tokens.npy"]  # the labels as read: not left


def test_memory_reader_labels_do_not_depend_on_their_order(reviews, tmp_path):
    """``[True, 1, "1", "pos"]`` gave the classes "1", "True", "pos" with 1 in "True" and "1" in "1"."""
    from toolkit.data import load_jsonl

    texts = reviews[0][:4]
    ds = load_jsonl(_jsonl(tmp_path / "r.jsonl", texts, [True, 1, "1", "pos"]), text_column="text",
                    label_column="label")
    assert np.asarray(ds.target_names)[ds.labels].tolist() == ["1", "1", "1", "pos"]
