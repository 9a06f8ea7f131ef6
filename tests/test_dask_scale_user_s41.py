"""A data engineer scoring and counting a corpus that outgrew one machine (session 41).

Sharded gzipped JSON lines (one shard empty) scored with a model saved by
``save_model`` and loaded on worker processes, and counted into a
``CorpusStore``, give exactly what the single-machine code gives. What
failed before this session:

- ``predict(model, bag, text_column="text")`` over a bag of records (parsed
  JSON lines) ignored ``text_column`` and failed on "a dict, not a str";
- a bag of ``(text, label)`` pairs (``read_texts`` with ``label_column``)
  failed with "a tuple, not a str" and no word on what to do;
- ``predict("model-folder", bag)`` said only "is not an estimator instance";
- ``CorpusStore.gather`` / ``sequences`` read a boolean mask as the indices
  0 and 1 (and 0.7 as 0): the wrong documents, silently;
- ``fit_from_store(clf, store, y)`` with ``y`` of another length than the
  store said "inconsistent numbers of samples: [120, 20]", naming neither.
"""

from __future__ import annotations

import gzip
import json
import logging

import numpy as np
import pytest

pytest.importorskip("distributed")

N = 120


@pytest.fixture(scope="module")
def reviews(imdb_small):
    texts, labels = imdb_small
    return list(texts[:N]), np.asarray(labels[:N])


@pytest.fixture(scope="module")
def model(reviews, tmp_path_factory):
    """An NBSVM pipeline fitted on 80 reviews, saved with save_model and loaded back (as a job would)."""
    from sklearn.pipeline import make_pipeline

    from toolkit import load_model, save_model
    from toolkit.models import NBSVMClassifier
    from toolkit.text import BagEncoder, SpacyTokenizer

    texts, labels = reviews
    pipe = make_pipeline(SpacyTokenizer(), BagEncoder(), NBSVMClassifier(loss="log_loss")).fit(texts[:80], labels[:80])
    folder = tmp_path_factory.mktemp("model") / "nbsvm"
    save_model(pipe, folder)
    return load_model(folder)


@pytest.fixture(scope="module")
def shards(reviews, tmp_path_factory):
    """Four gzipped JSON lines shards of 30 reviews and one empty shard."""
    texts, labels = reviews
    folder = tmp_path_factory.mktemp("shards")
    for i in range(4):
        with gzip.open(folder / f"part-{i}.jsonl.gz", "wt", encoding="utf-8") as fh:
            for text, label in zip(texts[30 * i:30 * (i + 1)], labels[30 * i:30 * (i + 1)]):
                fh.write(json.dumps({"text": text, "label": str(label)}) + "\n")
    with gzip.open(folder / "part-9.jsonl.gz", "wt", encoding="utf-8"):
        pass
    return sorted(str(p) for p in folder.glob("part-*.jsonl.gz"))


@pytest.mark.slow
def test_shards_scored_and_counted_on_worker_processes_match_one_machine(model, reviews, shards, tmp_path):
    from distributed import Client, LocalCluster

    from toolkit.distributed import CorpusStore, predict, predict_proba, read_texts
    from toolkit.text import SpacyTokenizer, Vocabulary

    texts, labels = reviews
    expected, expected_proba = model.predict(texts), model.predict_proba(texts)
    corpus = SpacyTokenizer().fit_transform(texts)
    vocabulary = Vocabulary.from_documents(corpus)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=":0",
                      silence_logs=logging.CRITICAL) as cluster, Client(cluster):
        bag = read_texts(shards, text_column="text")
        assert bag.npartitions == 5
        got = predict(model, bag).compute()
        proba = np.asarray(predict_proba(model, bag).compute())
        store = CorpusStore.build(read_texts(shards, text_column="text", label_column="label"), tmp_path / "store")
    np.testing.assert_array_equal(np.asarray(got), expected)  # same order, nothing lost in the empty shard
    np.testing.assert_allclose(proba, expected_proba, rtol=0, atol=1e-12)
    assert [p["n_documents"] for p in store.parts] == [30, 30, 30, 30, 0]
    assert store.vocabulary.tokens == vocabulary.tokens
    np.testing.assert_array_equal(store.vocabulary.counts, vocabulary.counts)
    np.testing.assert_array_equal(store.labels(), labels)
    assert [list(doc) for i in range(5) for doc in store.corpus(i)] == [list(doc) for doc in corpus]


def test_predict_reads_the_text_key_of_a_bag_of_records(model, reviews, shards):
    import dask.bag as db

    from toolkit.distributed import predict, predict_proba

    records = db.read_text(shards).map(json.loads)  # the usual way to a bag of JSON lines
    texts = [r["text"] for r in records.compute(scheduler="sync")]
    assert texts == reviews[0]
    got = predict(model, records, text_column="text").compute(scheduler="sync")
    np.testing.assert_array_equal(np.asarray(got), model.predict(texts))
    proba = predict_proba(model, records, text_column="text").compute(scheduler="sync")
    np.testing.assert_allclose(np.asarray(proba), model.predict_proba(texts), rtol=0, atol=1e-12)
    with pytest.raises(Exception, match=r"bag holds records \(keys \['label', 'text'\]\).*text_column='text'"):
        predict(model, records).compute(scheduler="sync")


def test_predict_over_text_label_pairs_says_to_predict_the_texts(model, shards):
    from toolkit.distributed import predict, read_texts

    pairs = read_texts(shards, text_column="text", label_column="label")
    with pytest.raises(Exception, match=r"is a tuple.*\(text, label\) pairs.*bag\.pluck\(0\)"):
        predict(model, pairs).compute(scheduler="sync")
    got = predict(model, pairs.pluck(0)).compute(scheduler="sync")  # what it says works
    assert len(got) == N


def test_predict_given_a_model_folder_says_to_load_it(model, tmp_path):
    import dask.bag as db

    from toolkit.distributed import predict_proba

    with pytest.raises(TypeError, match=r"got the path '.*model-folder'.*toolkit\.load_model\(path\)"):
        predict_proba(str(tmp_path / "model-folder"), db.from_sequence(["A fine film."]))


@pytest.fixture(scope="module")
def store(reviews, tmp_path_factory):
    import dask.bag as db

    from toolkit.distributed import CorpusStore

    texts, labels = reviews
    pairs = db.from_sequence(list(zip(texts[:40], labels[:40])), npartitions=3)
    return CorpusStore.build(pairs, tmp_path_factory.mktemp("store") / "s", scheduler="sync")


def test_store_refuses_a_boolean_mask_or_floats_as_document_indices(store):
    mask = np.zeros(store.n_documents, dtype=bool)
    mask[[5, 30]] = True
    with pytest.raises(TypeError, match=r"integers; got an array of bool.*np\.flatnonzero\(mask\)"):
        store.sequences(mask, maxlen=10)
    with pytest.raises(TypeError, match="integers; got an array of float64"):
        store.gather([0.7, 12.2])
    rows = store.sequences(np.flatnonzero(mask), maxlen=10)  # what it says to do: documents 5 and 30
    np.testing.assert_array_equal(rows, store.sequences([5, 30], maxlen=10))
    assert store.gather([])[0].size == 0  # an empty selection is still fine


def test_fit_from_store_names_y_of_the_wrong_length(store):
    pytest.importorskip("keras")
    from toolkit.distributed import fit_from_store
    from toolkit.models import EmbeddingClassifier

    with pytest.raises(ValueError, match=r"y has 20 labels but the store .* holds 40 documents"):
        fit_from_store(EmbeddingClassifier(embedding_dim=4, epochs=1), store, ["pos", "neg"] * 10)


def test_encoding_memo_survives_another_thread_clearing_it(store, monkeypatch):
    """A worker with several threads encodes several partitions at once; one thread's clear of the shared
    vocabulary memo, between another's store and read, was a KeyError that failed the build."""
    from toolkit.distributed import store as store_module

    class ClearedByAnotherThread(dict):
        def __setitem__(self, key, value):
            super().__setitem__(key, value)
            self.clear()  # what a second thread that found the memo empty did at that moment

    monkeypatch.setattr(store_module, "_VOCABULARIES", ClearedByAnotherThread())
    vocabulary = store_module._vocabulary_memo(str(store.path / "vocabulary.json"))
    assert vocabulary.tokens == store.vocabulary.tokens


def test_a_partition_mixing_pairs_and_texts_is_refused_not_unpacked():
    # before: the first element decided for the partition, and a 2-character text "ok" among (text, label)
    # pairs became the text "o" with the label "k", silently
    from toolkit.distributed.partitions import split_pairs

    assert split_pairs([("good film", "pos"), ("bad film", "neg")]) == (["good film", "bad film"], ["pos", "neg"])
    with pytest.raises(ValueError, match=r"Element 1 of a partition of \(text, label\) pairs is a str \('ok'\)"):
        split_pairs([("good film", "pos"), "ok"])
    with pytest.raises(ValueError, match=r"Element 2 .* is a tuple"):
        split_pairs([("good film", "pos"), ("bad", "neg"), ("x", "y", "z")])
