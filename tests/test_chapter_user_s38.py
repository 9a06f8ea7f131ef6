"""The deep-learning-for-text chapter done with toolkit by a notebook user (session 38).

Each test pins a problem found by doing the chapter's steps (tokens, word
index, padded sequences, a learned and a GloVe embedding, the history plot,
the IMDB loaders) on small real IMDB samples.
"""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest

from toolkit import SequenceEncoder, SpacyTokenizer
from toolkit._validation import InvalidParameterError
from toolkit.data import load_imdb
from toolkit.plots import plot_history


@pytest.fixture(scope="module")
def imdb_40(shared_data):
    """40 shuffled real IMDB training reviews (20 per class)."""
    return load_imdb("train", path=shared_data / "aclImdb_v1.tar.gz", limit=40, shuffle=True, random_state=0)


# --------------------------------------------------------------------------- TextDataset.subset


def test_chapter_s38_subset_takes_a_slice_as_numpy_does(imdb_40):
    # the chapter's "first 200 reviews to train on, the next ones to validate": a slice raised
    # "TypeError: int() argument must be ... not 'slice'" although the docstring promises numpy indexing
    first = imdb_40.subset(slice(0, 10))
    rest = imdb_40.subset(slice(10, None))
    assert first.texts == imdb_40.texts[:10] and rest.texts == imdb_40.texts[10:]
    np.testing.assert_array_equal(first.labels, imdb_40.labels[:10])
    np.testing.assert_array_equal(rest.groups, imdb_40.groups[10:])
    assert imdb_40.subset(slice(None, None, -1)).texts == imdb_40.texts[::-1]


@pytest.mark.parametrize("indices", [[1.0, 2.0], [[0, 1]], 3])
def test_chapter_s38_subset_refuses_positions_numpy_refuses(imdb_40, indices):
    # float positions were cast to int without a word (numpy refuses them); a 2-D list or a bare int
    # raised numpy's internal errors ("only integer scalar arrays...", "iteration over a 0-d array")
    with pytest.raises(InvalidParameterError, match="TextDataset.subset takes"):
        imdb_40.subset(indices)


def test_chapter_s38_subset_out_of_range_names_the_position(imdb_40):
    with pytest.raises(InvalidParameterError, match=r"position 40 is outside the dataset's 40 documents"):
        imdb_40.subset([0, 40])


# --------------------------------------------------------------------------- word index


def test_chapter_s38_word_index_cannot_be_changed_behind_the_vocabulary(imdb_40):
    # Keras habit: word_index = tokenizer.word_index; word_index["<start>"] = 1. On toolkit's
    # token_to_id that changed the vocabulary's own dict: encode then gave a token id 1 (or any id)
    # and `in` said yes, while tokens, decode and the saved vocabulary did not know it
    tokens = SpacyTokenizer(lowercase=True, remove_punct=True).fit_transform(imdb_40.texts)
    encoder = SequenceEncoder(max_tokens=1000, maxlen=20).fit(tokens)
    vocabulary = encoder.vocabulary_
    word_index = vocabulary.token_to_id
    before = encoder.transform(tokens)
    with pytest.raises(TypeError):
        word_index["<start>"] = 1
    with pytest.raises(TypeError):
        del word_index["the"]
    assert "<start>" not in vocabulary and "the" in vocabulary
    np.testing.assert_array_equal(encoder.transform(tokens), before)
    # both ways, as Keras' word_index / index_word
    assert vocabulary.tokens[word_index["movie"]] == "movie"
    copy = dict(word_index)  # a copy to change, as the docstring says
    copy["<start>"] = len(copy)
    assert "<start>" not in vocabulary
    # still a dict for what Keras users do with word_index: save it as JSON, pickle it
    assert isinstance(word_index, dict)
    assert json.loads(json.dumps(word_index)) == dict(word_index)
    assert pickle.loads(pickle.dumps(word_index)) == dict(word_index)


# --------------------------------------------------------------------------- plot_history


def test_chapter_s38_history_with_validation_values_only_plots_them():
    # metrics=("loss", "val_loss") on a history that kept only its validation curve (the training
    # one dropped to compare runs): the val_ metric was skipped because "loss" was requested, then
    # the error said the history had none of ['loss', 'val_loss'] while listing 'val_loss'
    fig = plot_history({"val_loss": [0.69, 0.61, 0.58]}, metrics=("loss", "val_loss"))
    assert [ax.get_title() for ax in fig.axes] == ["Validation loss"]
    lines = fig.axes[0].get_lines()
    assert len(lines) == 1 and list(lines[0].get_ydata()) == [0.69, 0.61, 0.58]
    # with the training curve present, one panel holds both, as before
    fig = plot_history({"loss": [0.7, 0.5], "val_loss": [0.69, 0.6]}, metrics=("loss", "val_loss"))
    assert [ax.get_title() for ax in fig.axes] == ["Training and validation loss"]


@pytest.mark.slow
def test_chapter_s38_history_of_a_grid_search_points_to_its_best_estimator(imdb_40):
    # after the README's grid search, plot_history(grid) said only "history must be a dict ..., a Keras
    # History or a fitted estimator with a history_ attribute, got GridSearchCV" (it is a fitted estimator)
    from sklearn.model_selection import GridSearchCV

    from toolkit.models import make_text_classifier

    grid = GridSearchCV(make_text_classifier(epochs=2, maxlen=30, embedding_dim=4, max_tokens=500, random_state=0),
                        {"classifier__dropout": [0.0]}, cv=2).fit(imdb_40.texts, imdb_40.labels)
    with pytest.raises(TypeError, match=r"got the GridSearchCV.*plot_history\(search\.best_estimator_\)"):
        plot_history(grid)
    fig = plot_history(grid.best_estimator_)
    assert [ax.get_title() for ax in fig.axes] == ["Training and validation loss",
                                                   "Training and validation accuracy"]
