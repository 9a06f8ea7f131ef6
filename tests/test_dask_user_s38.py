"""A Dask user's gaps (session 38): predicting over a Dask collection with a bad document names it where the
user can find it (its partition and place there; a Series' index label), and a method the fitted pipeline lacks
is refused when the lazy collection is made, with its reason.

Small real IMDB samples, Dask's synchronous scheduler (the naming happens inside each partition's task, the same
on a cluster: checked by hand on a 2-worker LocalCluster), so each test takes seconds.
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("dask.dataframe")


@pytest.fixture(scope="module")
def nbsvm_pipe(imdb_small):
    from sklearn.pipeline import make_pipeline

    from toolkit.models import NBSVMClassifier
    from toolkit.text import BagEncoder, SpacyTokenizer

    texts, labels = imdb_small
    return make_pipeline(SpacyTokenizer(), BagEncoder(), NBSVMClassifier()).fit(texts[:200], labels[:200])


def _with_bad(texts, at, bad):
    docs = list(texts)
    docs[at] = bad
    return docs


@pytest.mark.parametrize("bad", [None, b"bytes", float("nan")], ids=["none", "bytes", "nan"])
def test_predict_bag_names_bad_document_by_partition(nbsvm_pipe, imdb_small, bad):
    import dask.bag as db

    from toolkit.distributed import predict
    from toolkit.exceptions import DocumentError

    docs = _with_bad(imdb_small[0][200:230], 17, bad)
    bag = db.from_sequence(docs, npartitions=3)
    part, position = next((p, i) for p, items in enumerate(bag.to_delayed())
                          for i, doc in enumerate(items.compute(scheduler="sync")) if not isinstance(doc, str))
    with pytest.raises(DocumentError, match=rf"^Document {position} of partition {part} of the bag is "):
        predict(nbsvm_pipe, bag).compute(scheduler="sync")
    found = bag.to_delayed()[part].compute(scheduler="sync")[position]
    assert found is bad or (isinstance(bad, float) and np.isnan(found))  # the document the message names


def test_predict_series_names_bad_document_by_index_label(nbsvm_pipe, imdb_small):
    import dask.dataframe as dd
    import pandas as pd

    from toolkit.distributed import predict
    from toolkit.exceptions import DocumentError

    docs = _with_bad(imdb_small[0][200:230], 17, None)
    frame = pd.DataFrame({"text": docs}, index=np.arange(5000, 5030))
    ddf = dd.from_pandas(frame, npartitions=3)
    label = 5017
    part = next(p for p in range(ddf.npartitions) if label in ddf.partitions[p].compute(scheduler="sync").index)
    position = list(ddf.partitions[part].compute(scheduler="sync").index).index(label)
    expected = rf"^Document {position} of partition {part} of the Dask Series \(index label {label}\) is missing"
    with pytest.raises(DocumentError, match=expected):
        predict(nbsvm_pipe, ddf, text_column="text").compute(scheduler="sync")
    assert pd.isna(frame.loc[label, "text"])  # the document the message names


def test_predict_proba_without_proba_refused_at_once_with_its_reason(nbsvm_pipe, imdb_small):
    import dask.bag as db

    from toolkit.distributed import predict_proba

    bag = db.from_sequence(imdb_small[0][200:220], npartitions=2)
    # NBSVMClassifier's default hinge loss gives no probabilities: said now, with why, not by a worker at compute
    with pytest.raises(AttributeError, match="predict_proba") as info:
        predict_proba(nbsvm_pipe, bag)
    reasons = []
    err = info.value
    while err is not None:
        reasons.append(str(err))
        err = err.__cause__
    assert any("log_loss" in r for r in reasons), reasons


def test_store_handle_opened_before_a_rebuild_refuses_to_read_the_new_files(imdb_small, tmp_path):
    """A user rebuilds a store in place (other tokenizer settings) while a notebook still holds the old
    CorpusStore: its cached vocabulary no longer matches the files' ids, which the same sizes did not reveal."""
    import dask.bag as db

    from toolkit.distributed import CorpusStore
    from toolkit.exceptions import DataError

    texts, labels = imdb_small
    pairs = list(zip(texts[:120], labels[:120]))
    path = tmp_path / "store"
    old = CorpusStore.build(db.from_sequence(pairs, npartitions=3), path, scheduler="sync")
    rows = old.sequences([0, 50, 119], maxlen=20)
    words = [[old.vocabulary.tokens[i] for i in row] for row in rows]
    new = CorpusStore.build(db.from_sequence(pairs, npartitions=3), path, tokenizer={"lowercase": False},
                            scheduler="sync")
    assert [p["n_tokens"] for p in new.parts] == [p["n_tokens"] for p in old.parts]  # the sizes match
    assert [[new.vocabulary.tokens[i] for i in row] for row in new.sequences([0, 50, 119], maxlen=20)] != words
    for read in (lambda: old.sequences([0, 50, 119], maxlen=20), old.labels, lambda: old.corpus(1)):
        with pytest.raises(DataError, match=r"built again since this CorpusStore was opened.*open it again"):
            read()
    assert CorpusStore(path).sequences([0], maxlen=20).tolist() == new.sequences([0], maxlen=20).tolist()
    import shutil

    shutil.rmtree(path)
    with pytest.raises(DataError, match="was removed since this CorpusStore was opened"):
        new.ids(0)
