"""The lead's tests of the forty-second session: wiring between helpers' changes."""

import os
import subprocess
import sys

import numpy as np


def _host_tag() -> str:
    """This machine's tag in the names of atomic_output's temporaries and moved-aside folders."""
    from toolkit._atomic import _host_tag

    return _host_tag()


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_load_model_puts_back_a_model_a_killed_save_had_moved_aside(imdb_small, tmp_path):
    """A save killed between atomic_output's two renames hid the previous model as .<name>.<pid>-<hex>.tmp-old:
    load_model said there was no saved model folder until a later save or the 6-hour sweep."""
    from sklearn.naive_bayes import MultinomialNB
    from sklearn.pipeline import make_pipeline

    from toolkit.models import load_model, save_model
    from toolkit.text import BagEncoder, SpacyTokenizer

    texts, labels = imdb_small
    model = make_pipeline(SpacyTokenizer(), BagEncoder(), MultinomialNB()).fit(texts[:200], labels[:200])
    path = tmp_path / "model"
    save_model(model, path)
    os.replace(path, path.with_name(f".{path.name}.{_dead_pid()}-{_host_tag()}abcdef.tmp-old"))
    loaded = load_model(path)
    assert np.array_equal(loaded.predict(texts[200:260]), model.predict(texts[200:260]))
    assert sorted(p.name for p in tmp_path.iterdir() if "tmp-old" in p.name) == []


def test_nbsvm_accepts_a_numpy_generator_as_random_state(imdb_small):
    """NBSVMClassifier(random_state=np.random.default_rng(0)) passed the toolkit's check, then liblinear refused it
    ("random_state ... cannot be used to seed a numpy.random.RandomState instance")."""
    from toolkit.models import NBSVMClassifier
    from toolkit.text import BagEncoder, SpacyTokenizer

    texts, labels = imdb_small
    X = BagEncoder().fit_transform(SpacyTokenizer().fit_transform(texts[:200]))
    a = NBSVMClassifier(random_state=np.random.default_rng(0)).fit(X, labels[:200])
    b = NBSVMClassifier(random_state=np.random.default_rng(0)).fit(X, labels[:200])
    assert np.array_equal(a.decision_function(X), b.decision_function(X))


def test_set_none_is_none_as_in_grid():
    """--set maxlen=none was the text 'none' (refused by the classifier), while --grid maxlen=none is None."""
    from toolkit.cli._inputs import parse_setting

    assert parse_setting("maxlen=none") == ("maxlen", None)
    assert parse_setting("maxlen=NONE") == ("maxlen", None)
    assert parse_setting("architecture=nonet") == ("architecture", "nonet")


def test_store_info_counts_the_skipped_documents(imdb_small, tmp_path):
    """store build --set errors=skip left documents empty; store info said nothing of them."""
    import dask.bag as db

    from toolkit.cli.store import store_info
    from toolkit.distributed import CorpusStore

    texts = list(imdb_small[0][:40])
    store = CorpusStore.build(db.from_sequence(texts, npartitions=2), tmp_path / "store",
                              tokenizer={"max_length": 1200, "errors": "skip"}, scheduler="sync")
    info = store_info(tmp_path / "store")
    assert info["skipped_documents"] == len(store.skipped) > 0
