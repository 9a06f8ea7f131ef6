"""The models as a scikit-learn user meets them (session 47, small real IMDB samples).

- ``EmbeddingClassifier(oov="nearest")`` without fastText vectors warns once per process under Python's default
  filters, not once per candidate and fold of a grid search (scikit-learn resets the filters around every fit).
- A ``StackedTextClassifier`` with an ``"nbsvm++"`` member refuses a document without tokens naming the stack, the
  member and the way out, before any member is fitted (the member's own error named ``EmbeddingClassifier``).
- ``NBSVMClassifier`` with ``sample_weight`` 0 everywhere names ``sample_weight`` and what to do (scikit-learn's
  "Sample weights must contain at least one non-zero number" before).
- ``PseudoLabelClassifier`` over a Pipeline takes ``sample_weight`` under metadata routing (the Pipeline refused
  the ``step__sample_weight`` it was given), and names a document without tokens by its row of X, not by its
  place among the labelled (and pseudo-labelled) rows it fits on.
- The first prediction of an ``"nbsvm"`` ``EmbeddingClassifier`` leaves its ``__dict__`` unchanged (scikit-learn's
  check_dict_unchanged): the weights it reads out of Keras are kept with the Keras model.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV

from toolkit.models import EmbeddingClassifier

SMALL = {"max_tokens": 2000, "maxlen": 30, "embedding_dim": 8, "epochs": 1, "batch_size": 64,
         "validation_split": 0.0, "random_state": 0}


def test_models_oov_nearest_without_vectors_warns_once_per_grid_search(imdb_tokens200, monkeypatch):
    import toolkit.models.classifier as classifier_module

    monkeypatch.setattr(classifier_module, "_SAID_ONCE", set(), raising=False)  # a fresh process
    X, y = imdb_tokens200
    search = GridSearchCV(EmbeddingClassifier(oov="nearest", **SMALL), {"learning_rate": [1e-3, 1e-2]}, cv=2,
                          error_score="raise")
    with warnings.catch_warnings(record=True) as caught:
        warnings.resetwarnings()
        warnings.simplefilter("default")  # Python's own filters: once per place
        search.fit(X[:80], y[:80])
    said = [w for w in caught if "oov='nearest' of EmbeddingClassifier does nothing here" in str(w.message)]
    assert len(said) == 1, [str(w.message) for w in caught]  # 5 before: 2 candidates x 2 folds, and the refit
    assert "vectors=None gives no word vectors" in str(said[0].message)
    with warnings.catch_warnings(record=True) as caught:  # "always" (and pytest.warns) still shows every one
        warnings.resetwarnings()
        warnings.simplefilter("always")
        EmbeddingClassifier(oov="nearest", **SMALL).fit(X[:40], y[:40])
    said = [w for w in caught if "oov='nearest'" in str(w.message)]
    assert len(said) == 1 and said[0].filename == __file__  # the user's line that called fit


@pytest.mark.parametrize("ngram_model, ngram_range, member, what", [
    ("nbsvm++", (1, 2), "ngrams", "has no tokens"),
    (("nbsvm", "nbsvm++"), (1, 3), "ngrams_nbsvm\\+\\+", "has no tokens"),
    ("nbsvm++", (2, 2), "ngrams", "has fewer than 2 tokens, so no 2-grams"),
])
def test_models_stack_nbsvm_pp_member_refuses_an_empty_document_by_name(imdb_tokens200, ngram_model, ngram_range,
                                                                       member, what, monkeypatch):
    from toolkit.exceptions import DocumentError
    from toolkit.models import StackedTextClassifier
    from toolkit.models import classifier as classifier_module

    X, y = imdb_tokens200
    X = [list(doc) for doc in X[:60]]
    X[7], X[30] = [], X[30][:1]
    # refused before any member is fitted (the Keras member's own error came from inside a fold)
    monkeypatch.setattr(classifier_module.EmbeddingClassifier, "fit", lambda *a, **k: pytest.fail("fitted"))
    stack = StackedTextClassifier(vectors=None, ngram_model=ngram_model, ngram_range=ngram_range, cv=2,
                                  random_state=0)
    with pytest.raises(DocumentError, match=(
            rf"^Document 7 of X {what} \({1 if what == 'has no tokens' else 2} such document\(s\) in all\): the "
            rf"'{member}' member of StackedTextClassifier \(ngram_model=.*, a Keras EmbeddingClassifier\) cannot "
            r"be trained on it\. Drop those documents first.* or use ngram_model='nbsvm' \(it takes them\)\.$")) as err:
        stack.fit(X, y[:60])
    assert err.value.document_index == 7


def test_models_stack_nbsvm_member_still_takes_an_empty_document(imdb_tokens200):
    from toolkit.models import StackedTextClassifier

    X, y = imdb_tokens200
    X = [list(doc) for doc in X[:60]]
    X[7] = []
    stack = StackedTextClassifier(vectors=None, cv=2, random_state=0).fit(X, y[:60])
    assert stack.predict_proba(X).shape == (60, 2)


@pytest.mark.parametrize("class_weight", [None, "balanced"])
def test_models_nbsvm_all_zero_sample_weight_names_the_parameter(imdb_counts_partly_labelled, class_weight):
    from toolkit.models import NBSVMClassifier

    X, _, y = imdb_counts_partly_labelled
    with pytest.raises(ValueError, match=r"^sample_weight of NBSVMClassifier is zero for every document of X: nothing "
                                         r"would be learned .*Give at least one document a positive weight, or "
                                         r"pass sample_weight=None"):
        NBSVMClassifier(class_weight=class_weight).fit(X, y, sample_weight=np.zeros(len(y)))
    weights = np.zeros(len(y))
    weights[:2] = 1.0  # one positive weight is enough (as before)
    NBSVMClassifier(class_weight=class_weight).fit(X, y, sample_weight=weights)


def test_models_pseudo_label_pipeline_weights_under_metadata_routing(imdb_tokens200):
    """Under metadata routing a Pipeline refuses ``step__sample_weight`` ("not routed to any object"), which the
    wrapper passed it: the weights now go as ``sample_weight=``, to the steps that asked for them."""
    import sklearn
    from sklearn.pipeline import make_pipeline

    from toolkit.models import NBSVMClassifier, PseudoLabelClassifier
    from toolkit.text.encoders import BagEncoder

    X, labels = imdb_tokens200
    y = np.asarray(labels, dtype=object)
    y[80:] = -1
    weights = np.r_[np.ones(100), np.full(100, 2.0)]

    def fit(request):
        nb = NBSVMClassifier(random_state=0)
        if request:
            nb.set_fit_request(sample_weight=True)
        return PseudoLabelClassifier(make_pipeline(BagEncoder(output_mode="count"), nb), random_state=0).fit(
            X, y, sample_weight=weights)

    plain = fit(False)
    with sklearn.config_context(enable_metadata_routing=True):
        routed = fit(True)
        np.testing.assert_array_equal(routed.decision_function(X), plain.decision_function(X))
        with pytest.raises(ValueError, match=r"\[sample_weight\] are passed but are not explicitly set as requested "
                                             r"or not requested for NBSVMClassifier\.fit"):
            fit(False)  # scikit-learn's own message: the step did not ask for them


@pytest.mark.parametrize("architecture", ["nbsvm", "bag"])
def test_models_prediction_leaves_the_classifier_dict_unchanged(imdb_tokens200, architecture):
    """scikit-learn's check_dict_unchanged: the first prediction of an NB architecture kept the weights it read
    out of Keras in the estimator's __dict__ (``_nb_weights``); they are kept with the model now. A pickle still
    carries them as arrays and predicts the same."""
    import pickle

    X, y = imdb_tokens200
    clf = EmbeddingClassifier(architecture=architecture, **SMALL).fit(X[:120], y[:120])
    before = dict(vars(clf))
    outputs = [clf.predict(X[120:]), clf.predict_proba(X[120:]), clf.decision_function(X[120:]),
               clf.predict_log_proba(X[120:])]
    assert vars(clf).keys() == before.keys()
    assert all(vars(clf)[key] is value for key, value in before.items())
    np.testing.assert_array_equal(clf.predict_proba(X[120:]), outputs[1])
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_allclose(restored.predict_proba(X[120:]), outputs[1], rtol=0, atol=1e-7)
    clf.fit(X[40:160], y[40:160])  # a new model: its own weights
    assert not np.allclose(clf.decision_function(X[120:]), outputs[2])


@pytest.mark.parametrize("empty, labelled", [(15, True), (10, False)])
def test_models_pseudo_label_names_an_empty_document_by_its_row_of_x(imdb_tokens200, empty, labelled):
    """The estimator is fitted on the labelled rows, then on those and the pseudo-labelled ones: its
    DocumentError named the document by its place there (7 for row 15, 65 for row 10), and ``toolkit train``
    would have reported another record of the user's file."""
    from toolkit.exceptions import DocumentError
    from toolkit.models import PseudoLabelClassifier

    X, labels = imdb_tokens200
    X = [list(doc) for doc in X[:120]]
    y = np.asarray(labels[:120], dtype=object)
    y[::2] = -1  # the even rows are unlabelled
    X[empty] = []
    with pytest.raises(DocumentError, match=rf"^Document {empty} of X has no tokens .*EmbeddingClassifier cannot "
                                            r"classify an empty document") as err:
        PseudoLabelClassifier(EmbeddingClassifier(**SMALL), fraction=1.0, random_state=0).fit(X, y)
    assert err.value.document_index == empty
