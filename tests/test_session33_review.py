"""Review of session 33's change: EmbeddingClassifier(oov="nearest") on n-gram corpora of any separator, and
the multilabel errors (small real IMDB samples, a small fastText model trained here)."""

from __future__ import annotations

import logging
import pickle

import numpy as np
import pytest

from toolkit.models import EmbeddingClassifier
from toolkit.text.corpus import TokenizedCorpus
from toolkit.text.vocabulary import OOV_ID

NEW = [["the", "moive", "was", "wonderfull"], ["terrrible", "actng", "the", "plott"]]


def _fit_ngrams(docs, y, fasttext_bin, separator, architecture):
    corpus = TokenizedCorpus.from_token_lists(docs).ngrams((1, 2), separator=separator)
    return EmbeddingClassifier(architecture=architecture, vectors=str(fasttext_bin), oov="nearest",
                               oov_threshold=-1.0, epochs=1, maxlen=None, min_count=2, random_state=0,
                               validation_split=0.0).fit(corpus, y)


@pytest.mark.parametrize("architecture", ["bag", "nbsvm"])
def test_oov_nearest_ngrams_of_another_separator_map_words_only(imdb_tokens200, fasttext_bin, architecture):
    """corpus.ngrams(separator="_"): the n-grams were candidates ("actng" found "thing_with"), and once the
    n-gram strings were built, a new bigram was placed by its own fastText vector ("the_moive" -> "the_moose")
    instead of as the bigram of its mapped words; the same documents gave other ids before and after
    corpus.strings was read. The result is now that of separator=" " with the separator swapped."""
    docs, y = imdb_tokens200
    spaced = _fit_ngrams(docs, y, fasttext_bin, " ", architecture)
    under = _fit_ngrams(docs, y, fasttext_bin, "_", architecture)
    assert [t.replace("_", " ") for t in under.vocabulary_.tokens] == spaced.vocabulary_.tokens

    def tokens(clf, separator, build):
        corpus = TokenizedCorpus.from_token_lists(NEW).ngrams((1, 2), separator=separator)
        if build:
            corpus.strings  # noqa: B018 (builds the n-gram strings)
        return [[clf.vocabulary_.tokens[i].replace("_", " ") for i in row if i] for row in clf.model_inputs(corpus)]

    expected = tokens(spaced, " ", False)
    assert any(t not in {"<unk>"} | {w for d in NEW for w in d} for row in expected for t in row)  # some mapped
    assert tokens(spaced, " ", True) == expected
    assert tokens(under, "_", False) == expected
    assert tokens(under, "_", True) == expected
    assert tokens(pickle.loads(pickle.dumps(under)), "_", False) == expected  # candidates made again, for "_"
    assert OOV_ID in under.set_params(oov="unknown").model_inputs(
        TokenizedCorpus.from_token_lists(NEW).ngrams((1, 2), separator="_"))


@pytest.mark.parametrize("tags", [[["action", "drama"], ["comedy", "action"]] * 10,
                                  [("war", "drama"), ("drama", "comedy")] * 10])
def test_embedding_classifier_lists_of_labels_of_one_length_name_the_binarizer(tags):
    """Lists of labels of one length become a 2-D array of labels: the error spoke of several outputs of several
    classes (MultiOutputClassifier) only, not of the MultiLabelBinarizer that lists of labels need; lists of
    different lengths already named it."""
    docs = [["good", "film"], ["bad", "film"], ["great", "fun"], ["awful", "bore"]] * 5
    with pytest.raises(ValueError, match=r"lists of labels of one length.*MultiLabelBinarizer\(\)\.fit_transform"):
        EmbeddingClassifier(epochs=1, embedding_dim=4).fit(docs, tags)
    with pytest.raises(ValueError, match=r"EmbeddingClassifier got lists of labels for y\. .*MultiLabelBinarizer"):
        EmbeddingClassifier(epochs=1, embedding_dim=4).fit(docs, [list(t[:1]) if i % 3 else list(t)
                                                                  for i, t in enumerate(tags)])


@pytest.mark.parametrize("architecture", ["bag", "nbsvm"])
def test_oov_nearest_multiclass_and_multilabel_outputs_with_empty_and_all_new_documents(imdb_tokens200, fasttext_bin,
                                                                                        architecture):
    """Several-class and several-label outputs read the mapped ids like binary ones; an empty document gets the
    class prior and an empty X no row, as with oov='unknown'."""
    docs, y = imdb_tokens200
    classes = np.array(["a", "b", "c"])[np.arange(len(docs)) % 3]
    labels = np.column_stack([y == "pos", np.arange(len(docs)) % 2 == 0]).astype(int)
    all_new = ["moive", "actng", "terrrible"]
    for target, width in ((classes, 3), (labels, 2)):
        clf = EmbeddingClassifier(architecture=architecture, vectors=str(fasttext_bin), oov="nearest",
                                  oov_threshold=-1.0, epochs=1, maxlen=40, min_count=3, random_state=0,
                                  validation_split=0.0).fit(docs, target)
        inputs = clf.model_inputs([all_new])
        assert OOV_ID not in inputs[0] and (inputs[0] >= 2).sum() >= 2  # all mapped (distinct ids for nbsvm)
        proba = clf.predict_proba([NEW[0], [], all_new])
        assert proba.shape == (3, width)
        np.testing.assert_allclose(proba[1], clf.class_prior_, rtol=1e-6)
        unknown = clf.set_params(oov="unknown").predict_proba([NEW[0], [], all_new])
        assert not np.allclose(proba[2], unknown[2])  # the mapping reached the several outputs
        np.testing.assert_allclose(proba[1], unknown[1])
        clf.set_params(oov="nearest")
        assert clf.predict_proba([]).shape == (0, width) and clf.model_inputs([]).shape == (0, clf.maxlen_)


def test_oov_nearest_damaged_entry_warning_names_the_classifiers_switch(imdb_tokens200, fasttext_bin, tmp_path,
                                                                       caplog):
    """A cache entry that exists but cannot be read: the shared loader's warning told EmbeddingClassifier users
    to "set subwords=False", a parameter it does not have; it now names oov='unknown'."""
    import shutil
    from pathlib import Path

    from toolkit.models import EmbeddingClassifier
    from toolkit.text.vocabulary import OOV_ID

    docs, labels = imdb_tokens200
    clf = EmbeddingClassifier(architecture="bag", vectors=str(fasttext_bin), oov="nearest", epochs=1,
                              random_state=0, validation_split=0.0).fit(docs[:80], labels[:80])
    entry = Path(clf.oov_vectors_)
    damaged = tmp_path / "cache" / entry.parent.name / entry.name
    shutil.copytree(entry, damaged)
    for file in damaged.iterdir():
        if file.is_file():
            file.write_bytes(b"not what it was")
    copy = pickle.loads(pickle.dumps(clf))
    copy.oov_vectors_ = str(damaged)
    with caplog.at_level(logging.WARNING):
        ids = copy.model_inputs([["the", "moive"]])[0]
    assert OOV_ID in ids.tolist()
    assert "oov='unknown' (set_params, no refit needed)" in caplog.text
    assert "subwords=False" not in caplog.text


def test_domain_vectors_train_on_the_words_of_ngrams_of_any_separator(imdb_tokens200):
    """words_only dropped word n-grams by their space: the n-grams of corpus.ngrams(separator="_") were taken for
    words, so domain vectors (a "word2vec:..." or "fasttext:..." spec) trained on "the_movie" too."""
    from toolkit.text import TokenizedCorpus
    from toolkit.vectors.domain import _corpus_digest, words_only

    corpus = TokenizedCorpus.from_token_lists(imdb_tokens200[0][:50])
    for separator in ("_", " "):
        words = words_only(corpus.ngrams((1, 3), separator=separator))
        assert words.to_list() == corpus.to_list()
        assert _corpus_digest(words) == _corpus_digest(corpus)  # the same cache key as the words themselves
    assert words_only(corpus.ngrams((2, 3))).to_list() == corpus.to_list()  # before: every token dropped


def test_cli_run_in_process_leaves_no_logging_handler_on_a_closed_stream(capfd):
    """The CLI's logging handler kept the stderr of the moment: after a command run in-process (CliRunner, as in
    the tests, or a notebook), any later warning printed "--- Logging error --- ... I/O operation on closed file"
    with its traceback (CI: a grid-search test after the CLI tests in the same worker)."""
    import logging

    from typer.testing import CliRunner

    from toolkit.cli import app

    root_before = list(logging.getLogger().handlers), logging.getLogger().level
    try:
        result = CliRunner().invoke(app, ["data", "list"])
        assert result.exit_code == 0, result.output
        capfd.readouterr()
        logging.getLogger("toolkit.test").warning("a later warning")
        err = capfd.readouterr().err
        assert "Logging error" not in err and "closed file" not in err
        assert "a later warning" in err  # still shown, on the stderr of the moment
    finally:
        logging.getLogger().handlers[:] = root_before[0]
        logging.getLogger().setLevel(root_before[1])
