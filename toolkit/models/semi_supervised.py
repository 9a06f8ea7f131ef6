"""Learning from unlabelled documents: pseudo-labelling by confidence rank.

:class:`PseudoLabelClassifier` fits a classifier on the labelled samples,
labels the unlabelled ones with it, keeps the most confident fraction (per
predicted class, so the pseudo-labels keep the class balance of the
predictions) and refits on labelled + pseudo-labelled samples. Unlike
scikit-learn's ``SelfTrainingClassifier`` it ranks by ``decision_function``
margins, so it works with SVMs (``NBSVMClassifier``, ``LinearSVC``) whose
scores are not probabilities, and it takes a fraction instead of a
probability threshold, which does not depend on calibration.

On IMDB (``benchmarks/tune_linear.py``: 20,000 labelled training reviews plus
the 50,000 unlabelled ones, 70% kept, scored on 5,000 held-out training
reviews), pseudo-labelling with the default NBSVM scored 91.32-91.60% over
C = 0.01-1, against 91.52-91.54% for NBSVM on the labelled reviews alone: with
this much labelled data it is no better than NBSVM within the validation noise
(about 0.4 points).

Unlabelled samples are marked with the label ``-1``, as in scikit-learn's
semi-supervised estimators.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin, clone
from sklearn.exceptions import NotFittedError
from sklearn.utils import _safe_indexing, assert_all_finite
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted, column_or_1d

from .._validation import (
    ONE_CLASS_HINT,
    Interval,
    MissingParamsMixin,
    check_class_target,
    check_single_target,
    validate_params,
)

__all__ = ["PseudoLabelClassifier", "UNLABELLED"]

UNLABELLED = -1


def _estimator_has(attr):
    def check(self):
        return hasattr(self.estimator_ if hasattr(self, "estimator_") else self._base(), attr)
    return check


def _concat(a, b):
    """Stack two row subsets of the same kind (sparse, array, sequence)."""
    if sp.issparse(a):
        return sp.vstack([a, b], format="csr")
    if isinstance(a, np.ndarray):
        return np.concatenate([a, b])
    if hasattr(a, "iloc"):
        import pandas as pd

        return pd.concat([a, b])
    return list(a) + list(b)


def _homogeneous(labels):
    """Labels of an object array as numpy's array of their common type (bool, int or float); str labels stay
    an object array (so predict returns str, not numpy's fixed-width strings).

    ``y`` that mixes class labels with the integer ``-1`` must be an object
    array; once the unlabelled samples are dropped, an object array of bools
    or ints would be an "unknown" target type to scikit-learn.
    """
    if labels.dtype != object or labels.size == 0:
        return labels
    values = [v.item() if isinstance(v, np.generic) else v for v in labels.tolist()]
    kinds = {type(v) for v in values}
    if len(kinds) == 1 and kinds <= {bool, int, float}:
        return np.asarray(values)
    # str labels stay an object array (a valid target): predict returns str, as the other classifiers do for
    # object labels, not numpy's fixed-width '<U..' strings
    return labels


def _selectable(X):
    """``X`` in a form whose rows ``_safe_indexing`` selects: sparse matrices as CSR, array-likes known only by
    ``__array__`` (no ``shape``, no ``len``) as numpy arrays; anything else unchanged."""
    if sp.issparse(X):
        return X.tocsr()  # COO/DIA/BSR (scipy.sparse.hstack's output) have no row selection
    if not hasattr(X, "shape") and not hasattr(X, "__len__") and hasattr(X, "__array__"):
        return np.asarray(X)
    return X


def _scalar(value):
    """A numpy scalar as the Python value it holds (for messages: ``'pos'``, not ``np.str_('pos')``)."""
    return value.item() if isinstance(value, np.generic) else value


class PseudoLabelClassifier(MissingParamsMixin, MetaEstimatorMixin, ClassifierMixin, BaseEstimator):
    """Self-training by confidence rank: fit, pseudo-label the surest unlabelled samples, refit.

    Parameters
    ----------
    estimator : classifier, default=None
        Any classifier with ``decision_function`` or ``predict_proba``; None
        uses :class:`toolkit.models.NBSVMClassifier` with its defaults (its
        ``C=0.01`` was also the choice for pseudo-labelling on validation data,
        ``benchmarks/tune_linear.py``). It is cloned.
    fraction : float in (0, 1], default=0.7
        Share of the unlabelled samples given a pseudo-label each round: the
        most confident ``fraction`` of the samples predicted as each class.
    n_rounds : int, default=1
        Rounds of pseudo-labelling; each round relabels all unlabelled
        samples with the model of the previous round.

    Attributes
    ----------
    estimator_ : classifier
        The final model (fitted on labelled + pseudo-labelled samples).
    classes_ : ndarray of shape (n_classes,)
    n_pseudo_labelled_ : int
        Pseudo-labelled samples in the last round.
    pseudo_labels_ : ndarray of shape (n_samples,)
        ``y`` with the pseudo-labels of the last round filled in (still -1
        for unlabelled samples that were not confident enough).
    n_features_in_ : int
        Number of features seen during ``fit``: the final model's. Only
        defined when the final model has it (not for an estimator that takes
        raw documents).
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of the features seen during ``fit``, the final model's: only
        defined when it has them (``X`` a DataFrame with string column names).

    Notes
    -----
    ``score`` (and so ``cross_val_score`` and ``GridSearchCV`` with their
    default scoring) leaves the samples marked ``-1`` out. scikit-learn's
    meta-tools that encode ``y`` themselves see ``-1`` as one more class and
    never pass it on as "unlabelled": ``VotingClassifier``,
    ``StackingClassifier``, ``CalibratedClassifierCV`` and
    ``cross_val_predict(method="predict_proba")`` (or another probability
    or decision method) train and predict a class ``-1``. Give those the
    labelled samples only, or put them inside this estimator.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from toolkit.models import PseudoLabelClassifier
    >>> X = np.array([[0.0], [0.2], [0.9], [1.0], [0.1], [0.95]])
    >>> y = np.array([0, 0, 1, 1, -1, -1])  # the last two are unlabelled
    >>> clf = PseudoLabelClassifier(LogisticRegression(), fraction=1.0).fit(X, y)
    >>> clf.pseudo_labels_.tolist()
    [0, 0, 1, 1, 0, 1]
    """

    _parameter_constraints = {
        "fraction": [Interval(float, 0, 1, closed="right")],
        "n_rounds": [Interval(int, 1, None)],
    }

    def __init__(self, estimator=None, *, fraction=0.7, n_rounds=1):
        self.estimator = estimator
        self.fraction = fraction
        self.n_rounds = n_rounds

    def _base(self):
        if self.estimator is not None:
            return self.estimator
        from .naive_bayes import NBSVMClassifier

        # default C (0.01) chosen for pseudo-labelling on a validation split of the
        # IMDB training set too: benchmarks/tune_linear.py, family "pseudo"
        return NBSVMClassifier()

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        base = self._base().__sklearn_tags__()
        tags.input_tags = base.input_tags
        # the final model is the base estimator's: one that is not deterministic (a Keras model) makes this one so
        tags.non_deterministic = base.non_deterministic
        return tags

    def _final_model_attribute(self, name):
        """``estimator_.<name>``; AttributeError (``hasattr`` False) when unfitted or the final model lacks it."""
        try:
            check_is_fitted(self)
        except NotFittedError as err:
            raise AttributeError(f"This {type(self).__name__} is not fitted yet: it has no {name}.") from err
        if not hasattr(self.estimator_, name):
            raise AttributeError(f"{type(self).__name__}'s final model, a {type(self.estimator_).__name__}, "
                                 f"has no {name}.")
        return getattr(self.estimator_, name)

    # read from the final model, as scikit-learn's meta-estimators (SelectFromModel) do: never stale after a refit
    @property
    def n_features_in_(self):
        """Number of features seen during ``fit`` (the final model's)."""
        return self._final_model_attribute("n_features_in_")

    @property
    def feature_names_in_(self):
        """Names of the features seen during ``fit`` (the final model's)."""
        return self._final_model_attribute("feature_names_in_")

    def _confidence(self, model, X):
        """(predicted labels, confidence) for X."""
        if hasattr(model, "decision_function"):
            scores = np.asarray(model.decision_function(X))
        elif hasattr(model, "predict_proba"):
            scores = np.asarray(model.predict_proba(X))
        else:
            raise TypeError(
                f"PseudoLabelClassifier needs an estimator with decision_function or "
                f"predict_proba; {type(model).__name__} has neither."
            )
        if scores.ndim == 1:
            return model.classes_[(scores > 0).astype(int)], np.abs(scores)
        if scores.shape[1] == 2 and hasattr(model, "predict_proba") and not hasattr(model, "decision_function"):
            return model.classes_[scores.argmax(1)], np.abs(scores[:, 1] - 0.5)
        top2 = np.sort(scores, axis=1)[:, -2:]
        return model.classes_[scores.argmax(1)], top2[:, 1] - top2[:, 0]

    def fit(self, X, y):
        """Fit on the labelled samples, then pseudo-label and refit ``n_rounds`` times.

        Parameters
        ----------
        X : array-like, sparse matrix or sequence of n_samples documents
            Whatever the estimator takes (rows are selected with
            ``sklearn.utils._safe_indexing``).
        y : array-like of shape (n_samples,)
            Class labels, ``-1`` for unlabelled samples.

        Returns
        -------
        self
        """
        validate_params(self, self._parameter_constraints)
        if y is None:  # a Pipeline fitted without y passes None
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None. Pass the class "
                f"labels, with {UNLABELLED} for the unlabelled samples."
            )
        # a 2-D y made one mask over all its cells: an IndexError, or documents taken for unlabelled by one column
        check_single_target(y, owner=type(self).__name__, hint=(
            f"wrap it: MultiOutputClassifier({type(self).__name__}(...)) self-trains one model per label column, "
            f"with {UNLABELLED} in every column of an unlabelled document (OneVsRestClassifier refuses {UNLABELLED})"))
        X = _selectable(X)
        y = np.asarray(y)
        if y.ndim == 2:  # one column (df[["label"]], Y[:, [k]]): its (n, 1) mask broke the pseudo-label assignment
            y = column_or_1d(y, warn=True)
        n = y.shape[0]
        if hasattr(X, "shape") and X.shape[0] != n or (not hasattr(X, "shape") and len(X) != n):
            raise ValueError(
                f"X and y have inconsistent numbers of samples: {X.shape[0] if hasattr(X, 'shape') else len(X)} "
                f"and {n}."
            )
        if y.dtype.kind in "US" and (y == str(UNLABELLED)).any():
            # ["pos", "neg", -1] becomes a string array in numpy: -1 turns into the class "-1"
            first = int(np.flatnonzero(y == str(UNLABELLED))[0])
            raise ValueError(
                f"y holds string labels and the string '-1' (first at index {first}): numpy turned the "
                "unlabelled marker -1 into a class name. Pass y with dtype=object, e.g. "
                "np.array(labels, dtype=object), so -1 stays the integer that marks unlabelled samples."
            )
        unlabelled = y == UNLABELLED
        if unlabelled.all():
            raise ValueError(
                "PseudoLabelClassifier got no labelled sample: every label is -1 (unlabelled). "
                "Give at least two labelled classes."
            )
        labelled_idx, unlabelled_idx = np.flatnonzero(~unlabelled), np.flatnonzero(unlabelled)
        y_lab = _homogeneous(y[labelled_idx])
        if y_lab.dtype.kind == "f":  # "Input y contains NaN.", before type_of_target's cast warns of it
            assert_all_finite(y_lab, input_name="y")
        check_class_target(y_lab, owner=type(self).__name__)
        labelled_classes = np.unique(y_lab)
        if labelled_classes.size < 2:
            raise ValueError(
                f"PseudoLabelClassifier got labelled samples of 1 class only: it needs labelled samples of at least "
                f"2 classes; the {y_lab.size} labelled samples are all of class {_scalar(labelled_classes[0])!r} "
                f"and the other {unlabelled_idx.size} are marked unlabelled ({UNLABELLED}). If {UNLABELLED} is one "
                "of your classes (labels -1/+1), map the labels to others (such as 0/1) first: -1 marks unlabelled "
                f"samples.{ONE_CLASS_HINT}"
            )
        X_lab = _safe_indexing(X, labelled_idx)
        model = clone(self._base()).fit(X_lab, y_lab)
        self.classes_ = model.classes_
        pseudo = y.copy()
        self.n_pseudo_labelled_ = 0
        if unlabelled_idx.size:
            X_unl = _safe_indexing(X, unlabelled_idx)
            for _ in range(self.n_rounds):
                labels, confidence = self._confidence(model, X_unl)
                keep = np.zeros(unlabelled_idx.size, dtype=bool)
                for c in np.unique(labels):
                    members = np.flatnonzero(labels == c)
                    k = int(np.ceil(self.fraction * members.size))
                    keep[members[np.argsort(-confidence[members], kind="stable")[:k]]] = True
                pseudo = y.copy()
                pseudo[unlabelled_idx[keep]] = labels[keep]
                X_fit = _concat(X_lab, _safe_indexing(X_unl, np.flatnonzero(keep)))
                model = clone(self._base()).fit(X_fit, np.concatenate([y_lab, labels[keep]]))
                self.n_pseudo_labelled_ = int(keep.sum())
        self.estimator_ = model
        self.pseudo_labels_ = pseudo
        return self

    def predict(self, X):
        """Labels predicted by the final model.

        Parameters
        ----------
        X : array-like, sparse matrix or sequence of documents
            Whatever the estimator takes.

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        check_is_fitted(self)
        return self.estimator_.predict(X)

    def score(self, X, y, sample_weight=None):
        """Mean accuracy on the labelled samples of ``(X, y)``; those marked ``-1`` are left out.

        ``cross_val_score`` and ``GridSearchCV`` (default scoring) score the
        test fold with the ``y`` given to ``fit``, unlabelled samples included;
        the model never predicts ``-1``, so counting them would score every
        unlabelled sample as a mistake.

        Parameters
        ----------
        X : array-like, sparse matrix or sequence of n_samples documents
        y : array-like of shape (n_samples,)
            True labels, ``-1`` for unlabelled samples.
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        float
            Accuracy of ``predict`` over the labelled samples.

        Raises
        ------
        ValueError
            When every sample of ``y`` is marked unlabelled.
        """
        from sklearn.metrics import accuracy_score

        y = np.asarray(y)
        labelled = np.flatnonzero(~(y == UNLABELLED))
        if labelled.size == 0:
            raise ValueError(
                f"{type(self).__name__}.score got no labelled sample: every label is {UNLABELLED} "
                "(unlabelled), so there is nothing to compare the predictions with."
            )
        if labelled.size < y.shape[0]:
            X = _safe_indexing(_selectable(X), labelled)
            y = _homogeneous(y[labelled])
            sample_weight = None if sample_weight is None else _safe_indexing(sample_weight, labelled)
        return accuracy_score(y, self.predict(X), sample_weight=sample_weight)

    @available_if(_estimator_has("decision_function"))
    def decision_function(self, X):
        """Scores of the final model.

        Parameters
        ----------
        X : array-like, sparse matrix or sequence of documents
            Whatever the estimator takes.

        Returns
        -------
        ndarray of shape (n_samples,) or (n_samples, n_classes)
        """
        check_is_fitted(self)
        return self.estimator_.decision_function(X)

    @available_if(_estimator_has("predict_proba"))
    def predict_proba(self, X):
        """Probabilities of the final model.

        Parameters
        ----------
        X : array-like, sparse matrix or sequence of documents
            Whatever the estimator takes.

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
        """
        check_is_fitted(self)
        return self.estimator_.predict_proba(X)

    @available_if(_estimator_has("predict_log_proba"))
    def predict_log_proba(self, X):
        """Log-probabilities of the final model (``cross_val_predict(method="predict_log_proba")``).

        Parameters
        ----------
        X : array-like, sparse matrix or sequence of documents
            Whatever the estimator takes.

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
        """
        check_is_fitted(self)
        return self.estimator_.predict_log_proba(X)
