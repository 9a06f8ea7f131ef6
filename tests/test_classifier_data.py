"""The shared small real-data fixtures (tests/conftest.py) hold what they promise."""

from conftest import N_REVIEWS


def test_classifier_data_fixtures_are_real_imdb(imdb_tokens, glove_small):
    docs, labels = imdb_tokens
    assert len(docs) == N_REVIEWS and set(labels) == {"neg", "pos"}
    assert (labels == "pos").sum() == N_REVIEWS // 2
    with open(glove_small, encoding="utf-8") as fh:
        first = fh.readline().split()
    assert first[0] == "the" and len(first) == 51
