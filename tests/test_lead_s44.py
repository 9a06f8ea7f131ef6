"""Session 44, the lead's own fixes."""

from __future__ import annotations

import numpy as np
import pytest
from gensim.models import KeyedVectors

from toolkit.plots import plot_word_map


def test_plot_word_map_names_the_phrase_and_casing_entries_of_missing_words():
    # toolkit vectors map named them (h1), the notebook's plot_word_map(kv, ...) said only "Remove them"
    kv = KeyedVectors(4)
    kv.add_vectors(["new_york", "paris", "london", "king"],
                   np.random.default_rng(0).normal(size=(4, 4)).astype("float32"))
    with pytest.raises(KeyError, match=r"'new york' is the phrase 'new_york' .*'Paris' is 'paris' \(their words "
                                       r"are lowercase\); ask for those\. Remove them") as err:
        plot_word_map(kv, ["new york", "Paris", "london", "zzz"])
    assert "'zzz' is" not in str(err.value)
