"""The lead's fixes of the forty-fifth session, each with a test that failed on the code before it."""

import numpy as np
import pytest


def test_build_embedding_matrix_with_the_vectors_first_says_to_swap_them():
    """Before: "source must be a path ... got Vocabulary" (gensim's order, vectors first, is a common slip)."""
    from gensim.models import KeyedVectors

    from toolkit.text import Vocabulary
    from toolkit.vectors import build_embedding_matrix

    kv = KeyedVectors(2)
    kv.add_vectors(["good", "film"], np.array([[1, 0], [0, 1]], dtype=np.float32))
    vocab = Vocabulary.from_documents([["good", "film"]])
    for wrong in (vocab, ["good", "film"], {"good": 1, "film": 2}):
        with pytest.raises(TypeError, match=r"takes \(vocabulary, vectors\), and got the vectors first: call "
                                            r"build_embedding_matrix\(vocabulary, kv\)"):
            build_embedding_matrix(kv, wrong)
    matrix, _ = build_embedding_matrix(vocab, kv)  # the right order is unchanged
    assert matrix.shape == (4, 2)
