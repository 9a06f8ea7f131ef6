"""The lead's tests of the forty-second session: wiring between helpers' changes."""

import os
import subprocess
import sys

import numpy as np


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
    os.replace(path, path.with_name(f".{path.name}.{_dead_pid()}-0123456789ab.tmp-old"))
    loaded = load_model(path)
    assert np.array_equal(loaded.predict(texts[200:260]), model.predict(texts[200:260]))
    assert sorted(p.name for p in tmp_path.iterdir() if "tmp-old" in p.name) == []
