"""A model trained from a corpus store, and what the store records, as users met them (session 43).

A model fitted by ``fit_from_store`` on a store built with other tokenizer
settings than the default (``lowercase=False``) was told, given raw texts, to
put a default ``SpacyTokenizer`` in front: that tokenizes otherwise and the
model predicts silently worse. The count of blank texts that
``CorpusStore.build`` warns about was not kept in ``store.json``. Small real
IMDB samples, the synchronous Dask scheduler, a tiny Keras model.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("dask")

_TOKENIZER = {"lowercase": False, "remove_punct": True}


@pytest.fixture(scope="module")
def store_and_model(imdb_small, tmp_path_factory):
    import dask.bag as db

    from toolkit.distributed import CorpusStore, fit_from_store
    from toolkit.models import EmbeddingClassifier

    texts, labels = imdb_small
    pairs = [(t[:400], str(y)) for t, y in zip(texts[:40], labels[:40])]
    store = CorpusStore.build(db.from_sequence(pairs, npartitions=2), tmp_path_factory.mktemp("s") / "store",
                              tokenizer=_TOKENIZER, scheduler="sync")
    clf = fit_from_store(EmbeddingClassifier(embedding_dim=4, maxlen=40, epochs=1, validation_split=0.0,
                                             random_state=0), store)
    return store, clf, texts[:40]


def test_store_model_remembers_the_store_tokenizer(store_and_model):
    from sklearn.pipeline import make_pipeline

    from toolkit import SpacyTokenizer

    store, clf, texts = store_and_model
    assert clf.tokenizer_params_["lowercase"] is False and clf.tokenizer_params_["remove_punct"] is True
    assert clf.tokenizer_params_["ngram_range"] == (1, 1)
    tokenizer = SpacyTokenizer(**clf.tokenizer_params_)
    assert tokenizer.get_params()["lowercase"] is False
    # the pipeline the message names predicts the store's own documents as the store's token ids do
    pipe = make_pipeline(tokenizer, clf)
    short = [t[:400] for t in texts[:5]]
    expected = clf.predict_proba([list(store.corpus(0)[i]) for i in range(5)])
    np.testing.assert_allclose(pipe.predict_proba(short), expected, rtol=1e-5)


def test_store_model_raw_strings_name_the_store_tokenizer(store_and_model):
    _, clf, texts = store_and_model
    with pytest.raises(ValueError, match=r"raw string\. Tokenize first: this model was trained by fit_from_store on "
                                         r"a store tokenized with SpacyTokenizer\(lowercase=False, "
                                         r"remove_punct=True\).*SpacyTokenizer\(\*\*clf\.tokenizer_params_\)"):
        clf.predict(texts[:2])
    with pytest.raises(ValueError, match=r"got str\. Tokenize first: this model was trained by fit_from_store"):
        clf.predict_proba("a good film")


def test_store_model_refit_in_memory_forgets_the_store_tokenizer(store_and_model):
    import copy

    from sklearn.base import clone

    _, clf, texts = store_and_model
    assert not hasattr(clone(clf), "tokenizer_params_")
    refit = copy.deepcopy(clf)  # fitted from the store: a fit on token lists replaces that state
    assert refit.tokenizer_params_ == clf.tokenizer_params_
    refit.fit([t.lower().split()[:30] for t in texts[:20]], ["neg", "pos"] * 10)
    assert refit.tokenizer_params_ is None
    with pytest.raises(ValueError, match=r"raw string\. Tokenize first: put SpacyTokenizer before it in a Pipeline"):
        refit.predict(texts[:1])


def test_store_blank_texts_recorded(imdb_small, tmp_path, caplog):
    import dask.bag as db

    from toolkit.distributed import CorpusStore

    texts = [t[:200] for t in imdb_small[0][:12]]
    texts[3], texts[7], texts[8] = "", "   ", "\n"
    store = CorpusStore.build(db.from_sequence(texts, npartitions=3), tmp_path / "store", scheduler="sync")
    assert store.n_blank == 3
    meta = json.loads((tmp_path / "store" / "store.json").read_text())
    assert sum(p["blank"] for p in meta["parts"]) == 3
    assert CorpusStore(tmp_path / "store").n_blank == 3
    from toolkit.cli.store import store_info

    assert store_info(tmp_path / "store")["blank_documents"] == 3  # `toolkit store info` shows the count

    clean = CorpusStore.build(db.from_sequence(texts[:3]), tmp_path / "clean", scheduler="sync")
    assert clean.n_blank == 0
    # a store built before the count was recorded still opens: the count is unknown, not 0
    for part in meta["parts"]:
        del part["blank"]
    (tmp_path / "store" / "store.json").write_text(json.dumps(meta))
    old = CorpusStore(tmp_path / "store")
    assert old.n_blank is None and old.n_documents == 12
    assert store_info(tmp_path / "store")["blank_documents"] is None  # unknown, not 0


def test_store_model_saved_bare_keeps_the_store_tokenizer(store_and_model, tmp_path):
    """save_model of the bare classifier dropped tokenizer_params_: the loaded copy gave the generic advice
    (a default SpacyTokenizer), which tokenizes otherwise than the store did."""
    from toolkit.models import load_model, save_model

    store, clf, texts = store_and_model
    save_model(clf, tmp_path / "model")
    loaded = load_model(tmp_path / "model")
    assert loaded.tokenizer_params_ == clf.tokenizer_params_  # ngram_range back as a tuple
    with pytest.raises(ValueError, match=r"trained by fit_from_store on a store tokenized with "
                                         r"SpacyTokenizer\(lowercase=False, remove_punct=True\)"):
        loaded.predict(texts[:1])
    # a model fitted in memory saves None, and loads as None
    refit = load_model(tmp_path / "model")
    refit.fit([t.lower().split()[:30] for t in texts[:20]], ["neg", "pos"] * 10)
    save_model(refit, tmp_path / "refit")
    assert load_model(tmp_path / "refit").tokenizer_params_ is None
