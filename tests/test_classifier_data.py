"""Session fixtures shared by the classifier, pooling and persistence tests.

Import the fixtures by name into a test module (``from test_classifier_data
import imdb_small, ...``). They read the real IMDB tarball and GloVe file in
place (``shared_data`` fixture) and keep the data small so the tests stay fast.
"""

from __future__ import annotations

import gzip
import re

import numpy as np
import pytest

N_REVIEWS = 600
GLOVE_ROWS = 20000
_WORD = re.compile(r"[a-z0-9']+")


def simple_tokens(texts):
    """Cheap lowercase word tokens (the classifier tests do not test spaCy)."""
    return [_WORD.findall(text.lower().replace("<br />", " ")) for text in texts]


@pytest.fixture(scope="session")
def imdb_small(shared_data):
    """600 shuffled IMDB training reviews, balanced: (texts, labels as 'neg'/'pos')."""
    from toolkit.datasets import load_imdb

    data = load_imdb("train", path=shared_data / "aclImdb_v1.tar.gz", limit=N_REVIEWS,
                     shuffle=True, random_state=0)
    labels = np.asarray(data.target_names)[data.labels]
    return list(data.texts), labels


@pytest.fixture(scope="session")
def imdb_tokens(imdb_small):
    """(token lists, labels) of :func:`imdb_small`."""
    texts, labels = imdb_small
    return simple_tokens(texts), labels


@pytest.fixture(scope="session")
def glove_small(shared_data, tmp_path_factory):
    """The first 20,000 rows of the real GloVe 6B-50d file, as a plain .txt path."""
    path = tmp_path_factory.mktemp("glove") / "glove.20k.50d.txt"
    with gzip.open(shared_data / "glove.6B.50d.txt.gz", "rt", encoding="utf-8") as src, \
            open(path, "w", encoding="utf-8") as dst:
        for i, line in enumerate(src):
            if i == GLOVE_ROWS:
                break
            dst.write(line)
    return path


def test_classifier_data_fixtures_are_real_imdb(imdb_tokens, glove_small):
    docs, labels = imdb_tokens
    assert len(docs) == N_REVIEWS and set(labels) == {"neg", "pos"}
    assert (labels == "pos").sum() == N_REVIEWS // 2
    with open(glove_small, encoding="utf-8") as fh:
        first = fh.readline().split()
    assert first[0] == "the" and len(first) == 51
