"""EmbeddingClassifier.decision_function on confident real reviews, and its agreement with predict.

Until session 42 the values were clipped log-odds (float32 eps), so confident documents tied at
about +-15.94; they are now the model's logits (tests/test_logits_maxlen_s42.py), which
StackedTextClassifier's "nbsvm++" member feeds to its meta-learner. PseudoLabelClassifier ranks
ties at its cut by the log-probability margin, so its kept set does not follow the documents' order.
"""
import numpy as np
import pytest

from toolkit.models import EmbeddingClassifier
from toolkit.models.recipes import NBSVM_RECIPE
from toolkit.models.stacking import word_ngrams

EPS = float(np.finfo("float32").eps)  # 2**-23
CAP = float(np.log1p(-EPS) - np.log(EPS))  # the old binary log-odds cap, about 15.94


@pytest.fixture(scope="module")
def ngrams400(imdb_tokens, imdb_small_ratings):
    """1-3-grams of 400 real reviews (as the stack's "nbsvm++" member gets them), their labels and ratings."""
    docs, labels = imdb_tokens
    return word_ngrams(docs[:400], ngram_range=(1, 3)), np.asarray(labels[:400]), imdb_small_ratings[:400]


@pytest.fixture(scope="module")
def nbsvm_binary(ngrams400):
    docs, labels, _ = ngrams400
    return EmbeddingClassifier(architecture="nbsvm", **NBSVM_RECIPE, random_state=0).fit(docs, labels)


def test_binary_scores_are_not_capped_and_agree_with_predict(ngrams400, nbsvm_binary):
    docs, _, _ = ngrams400
    scores = nbsvm_binary.decision_function(docs)  # the reviews it was fitted on: many are confident
    assert scores.shape == (len(docs),) and scores.dtype == np.float64
    # the cap the stacks' meta-features were measured with until session 42 is gone
    assert (np.abs(scores) > CAP + 0.5).sum() >= 10
    assert not np.isclose(np.abs(scores), CAP, rtol=0, atol=1e-9).any()
    pred = nbsvm_binary.predict(docs)
    np.testing.assert_array_equal(pred, nbsvm_binary.classes_[(scores > 0).astype(int)])
    proba = nbsvm_binary.predict_proba(docs)
    np.testing.assert_array_equal(np.sign(scores), np.sign(proba[:, 1] - proba[:, 0]))


@pytest.mark.slow
def test_pseudo_labels_of_capped_scores_do_not_follow_document_order(ngrams400):
    """PseudoLabelClassifier broke ties at its cut by the log-probability margin only for models without
    decision_function; an EmbeddingClassifier's capped scores tied (before session 42), so which unlabelled
    reviews it kept followed their order: 27 of 41 changed when they were shuffled (fraction=0.1)."""
    from toolkit.models import PseudoLabelClassifier

    docs, labels, _ = ngrams400
    X = list(docs) + list(docs)  # unlabelled: the same reviews again, scored as confidently as when fitted
    y = np.r_[labels.astype(object), np.full(len(docs), -1, dtype=object)]
    shuffled = np.r_[np.arange(len(docs)), len(docs) + np.random.default_rng(0).permutation(len(docs))]
    kept = []
    for order in (np.arange(len(X)), shuffled):
        model = PseudoLabelClassifier(EmbeddingClassifier(architecture="nbsvm", **NBSVM_RECIPE, random_state=0),
                                      fraction=0.1, n_rounds=1)
        model.fit([X[i] for i in order], y[order])
        kept.append(set(order[np.flatnonzero(model.pseudo_labels_ != -1)]) - set(range(len(docs))))
    assert len(kept[0]) > 0 and kept[0] == kept[1]
