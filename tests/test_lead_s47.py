"""Session 47, the lead's own fixes: what a user of Keras' IMDB word ids is told."""

from __future__ import annotations

import numpy as np
import pytest

from toolkit import BagEncoder, SequenceEncoder


@pytest.mark.parametrize("ids", [
    [[1, 14, 22, 16], [1, 194, 1153]],  # keras.datasets.imdb.load_data(): lists of word ids
    np.array([[0, 0, 1, 14], [0, 1, 194, 1153]]),  # the same through pad_sequences
])
@pytest.mark.parametrize("encoder", [BagEncoder, SequenceEncoder])
def test_integer_word_ids_are_named_with_what_to_do(ids, encoder):
    # before: "... contains an int (1)." and nothing on what to do with Keras' own IMDB arrays
    with pytest.raises(ValueError, match=rf"{encoder.__name__} expects token lists of str, but document 0 of X "
                                         r"contains an int.*Integer word ids \(keras\.datasets\.imdb, a "
                                         rf"pad_sequences array\) are not tokens: {encoder.__name__} builds its own "
                                         r"vocabulary from words, so map the ids back to their words"):
        encoder().fit(ids)


def test_booleans_are_not_called_word_ids():
    with pytest.raises(ValueError, match=r"contains a bool \(True\)\.$"):
        BagEncoder().fit([[True, False]])
