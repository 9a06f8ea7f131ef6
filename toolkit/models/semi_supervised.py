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

import logging
import numbers

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
    check_sample_weight,
    check_single_target,
    missing_mask,
    validate_params,
)

__all__ = ["PseudoLabelClassifier", "UNLABELLED", "labelled_scorer"]

logger = logging.getLogger(__name__)

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


def _check_unlabelled_marker(y, *, owner):
    """Refuse the ways of marking unlabelled samples that would silently train a class (or fail obscurely):
    missing labels (None, NaN: pandas' way) and the string '-1' among object labels."""
    if y.ndim != 1:
        return
    missing = missing_mask(y)
    if missing is not None and missing.any():
        first = int(np.flatnonzero(missing)[0])
        raise ValueError(
            f"Input y contains NaN/None (first at index {first}; {int(missing.sum())} in all): {owner} "
            f"marks unlabelled samples with the integer {UNLABELLED}, as scikit-learn's SelfTrainingClassifier. "
            f"Replace them, e.g. y.astype(object).fillna({UNLABELLED}) for a pandas Series, or "
            f"np.where(pd.isna(y), {UNLABELLED}, y)."
        )
    if y.dtype == object:
        marker = np.fromiter((isinstance(v, str) and v.strip() == str(UNLABELLED) for v in y), dtype=bool,
                             count=y.shape[0])
        if marker.any():
            first = int(np.flatnonzero(marker)[0])
            raise ValueError(
                f"y holds the string '{UNLABELLED}' (first at index {first}): only the integer {UNLABELLED} "
                f"marks unlabelled samples, so {owner} would train a class named '{UNLABELLED}'. Replace it with "
                f"the integer (y[y == '{UNLABELLED}'] = {UNLABELLED}, or y.replace('{UNLABELLED}', {UNLABELLED}) "
                f"for a pandas Series); if '{UNLABELLED}' is one of your classes, map the labels to others first."
            )


def _scalar(value):
    """A numpy scalar as the Python value it holds (for messages: ``'pos'``, not ``np.str_('pos')``)."""
    return value.item() if isinstance(value, np.generic) else value


class _LabelledScorer:
    """A scorer that scores the samples of ``y`` not marked ``-1`` (see :func:`labelled_scorer`)."""

    def __init__(self, scorer, name):
        self.scorer = scorer
        self.name = name

    def __repr__(self):
        return f"labelled_scorer({self.name!r})"

    def set_score_request(self, **kwargs):
        """Request metadata (``sample_weight``) for the scorer under metadata routing, as a scorer's own
        ``set_score_request``: ``labelled_scorer("accuracy").set_score_request(sample_weight=True)``.

        Without it (and without a request on the scorer it wraps) ``cross_validate(..., params={"sample_weight":
        w})`` under ``sklearn.set_config(enable_metadata_routing=True)`` failed with "got unexpected argument(s)
        {'sample_weight'}, which are not routed to any object", even when the wrapped scorer had requested it.

        Parameters
        ----------
        **kwargs : dict
            ``sample_weight=True`` (or False, None, an alias), passed to the wrapped scorer's request on a copy
            of it.

        Returns
        -------
        self
        """
        import copy

        if not hasattr(self.scorer, "set_score_request"):
            raise TypeError(
                f"labelled_scorer({self.name!r}) wraps a plain function, which takes no metadata request: wrap "
                "a scorer, e.g. labelled_scorer(make_scorer(metric)), to request sample_weight."
            )
        self.scorer = copy.deepcopy(self.scorer).set_score_request(**kwargs)  # the caller's scorer is left as it was
        return self

    def get_metadata_routing(self):
        """The metadata the wrapped scorer requests (scikit-learn's routing reads it).

        Returns
        -------
        sklearn.utils.metadata_routing.MetadataRequest
        """
        from sklearn.utils.metadata_routing import (
            MetadataRequest,
            get_routing_for_object,
        )

        if not hasattr(self.scorer, "get_metadata_routing"):
            return MetadataRequest(owner=repr(self))
        routing = get_routing_for_object(self.scorer)  # a copy
        # scikit-learn's "not explicitly set as requested" names the owner and says to call its set_score_request
        routing.owner = routing.score.owner = repr(self)
        return routing

    def __call__(self, estimator, X, y, **kwargs):
        y = np.asarray(y)
        labelled = np.flatnonzero(~(y == UNLABELLED))
        if labelled.size == 0:
            raise ValueError(
                f"labelled_scorer({self.name!r}) got no labelled sample: every label is {UNLABELLED} "
                "(unlabelled), so there is nothing to compare the predictions with. Use folds whose test parts "
                "hold labelled samples (fewer folds, or shuffled ones: KFold(5, shuffle=True, random_state=0))."
            )
        if labelled.size < y.shape[0]:
            X = _safe_indexing(_selectable(X), labelled)
            y = _homogeneous(y[labelled])
            if kwargs.get("sample_weight") is not None:
                kwargs["sample_weight"] = _safe_indexing(kwargs["sample_weight"], labelled)
        elif y.dtype == object:
            y = _homogeneous(y)
        return self.scorer(estimator, X, y, **kwargs)


def labelled_scorer(scoring):
    """A scorer of the labelled samples alone, for cross-validating :class:`PseudoLabelClassifier`.

    ``cross_val_score`` and ``cross_validate`` score each test fold against
    the ``y`` given to ``fit``, whose unlabelled samples are marked ``-1``.
    :meth:`PseudoLabelClassifier.score` (the default scoring) leaves them
    out, but a named scorer does not: ``scoring="accuracy"`` counted every
    unlabelled sample as a mistake (0.21 instead of 0.64 on 300 IMDB
    reviews, 200 of them unlabelled, int labels), and ``"roc_auc"`` or
    ``"neg_log_loss"`` gave NaN with a warning (``-1`` read as a third
    class). This scorer drops the samples marked ``-1`` (and their
    ``sample_weight``) before calling the scorer ``scoring`` names. Under
    ``sklearn.set_config(enable_metadata_routing=True)`` it takes weights as
    a scorer does: ``labelled_scorer("accuracy").set_score_request(sample_weight=True)``
    (or a wrapped scorer that requested them), then
    ``cross_validate(..., params={"sample_weight": w})`` weighs the labelled
    samples of each test fold.

    Parameters
    ----------
    scoring : str or callable
        A scikit-learn scorer name (``"roc_auc"``) or a scorer
        (``make_scorer(f1_score, average="macro")``).

    Returns
    -------
    callable
        ``scorer(estimator, X, y, **kwargs)``, picklable (``n_jobs=2``), with
        ``set_score_request`` and ``get_metadata_routing``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.metrics import get_scorer
    >>> X = np.array([[0.0], [1.0], [2.0], [3.0], [0.5], [2.5]])
    >>> y = np.array([0, 0, 1, 1, -1, -1])  # the last two are unlabelled
    >>> clf = PseudoLabelClassifier(LogisticRegression()).fit(X, y)
    >>> float(get_scorer("accuracy")(clf, X, y))  # the two unlabelled samples counted as mistakes
    0.666...
    >>> float(labelled_scorer("accuracy")(clf, X, y))
    1.0
    >>> from sklearn.model_selection import KFold, cross_validate
    >>> scoring = {name: labelled_scorer(name) for name in ("accuracy", "roc_auc", "neg_log_loss")}
    >>> cross_validate(PseudoLabelClassifier(), X, y, scoring=scoring,
    ...                cv=KFold(5, shuffle=True, random_state=0))              # doctest: +SKIP
    """
    from sklearn.metrics import get_scorer

    return _LabelledScorer(get_scorer(scoring), scoring if isinstance(scoring, str) else repr(scoring))


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
        Confidence is the ``decision_function`` margin, else the
        ``predict_proba`` one; samples whose probabilities tie at the cut
        (a naive Bayes model's exact 1.0) are ranked by their
        ``predict_log_proba`` margin, so shuffling the unlabelled samples
        does not change which are kept. Samples with equal scores there too
        (repeated documents) are taken in their order in ``X``.
    n_rounds : int, default=1
        Rounds of pseudo-labelling; each round relabels all unlabelled
        samples with the model of the previous round.
    random_state : int, RandomState instance, Generator instance or None, default=None
        Seeds the estimator's unseeded randomness, as scikit-learn's
        ``BaggingClassifier`` seeds its base estimators: every parameter
        named ``random_state`` (or ``<step>__random_state``, nested) that is
        None in the estimator's ``get_params(deep=True)`` gets an int drawn
        from this one (one draw per such parameter, in sorted order of the
        names), and every fit of the estimator (the first and each round's
        refit) uses those seeds. Parameters the estimator already sets are
        left as they are, so a seeded estimator fits the same model with
        any ``random_state`` here. An int gives the same model on every
        fit, in a fresh process and after ``clone``; None leaves the
        estimator as given (an unseeded one, such as the default
        ``NBSVMClassifier()``, then fits a slightly different model each
        time). Randomness the estimator's parameters do not reach (a
        cross-validation splitter's own ``random_state``) is not seeded.

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
    default scoring) leaves the samples marked ``-1`` out; a named
    ``scoring`` (``"accuracy"``, ``"roc_auc"``, a dict of several) does
    not, and counts them as mistakes or gives NaN: wrap each in
    :func:`labelled_scorer` (``scoring={"auc": labelled_scorer("roc_auc")}``),
    in ``GridSearchCV`` too. scikit-learn's
    meta-tools that encode ``y`` themselves see ``-1`` as one more class and
    never pass it on as "unlabelled": ``VotingClassifier``,
    ``StackingClassifier``, ``CalibratedClassifierCV`` and
    ``cross_val_predict(method="predict_proba")`` (or another probability
    or decision method) train and predict a class ``-1``. Give those the
    labelled samples only, or put them inside this estimator. With str
    labels, ``GridSearchCV(cv=5)`` and ``cross_val_score`` fail in
    scikit-learn's stratified split ("'<' not supported between instances
    of 'int' and 'str'": it sorts the labels and ``-1`` together); pass
    ``cv=KFold(5, shuffle=True, random_state=0)``, as for scikit-learn's
    ``SelfTrainingClassifier``.

    ``fit`` takes ``sample_weight`` where the estimator's ``fit`` does (a
    Pipeline's last step's); scikit-learn's ``SelfTrainingClassifier`` takes
    none.

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
        "random_state": ["random_state"],
    }

    def __init__(self, estimator=None, *, fraction=0.7, n_rounds=1, random_state=None):
        self.estimator = estimator
        self.fraction = fraction
        self.n_rounds = n_rounds
        self.random_state = random_state

    def _base(self):
        if self.estimator is not None:
            return self.estimator
        from .naive_bayes import NBSVMClassifier

        # default C (0.01) chosen for pseudo-labelling on a validation split of the
        # IMDB training set too: benchmarks/tune_linear.py, family "pseudo"
        return NBSVMClassifier()

    def set_params(self, **params):
        """Set the parameters of this estimator (scikit-learn's ``set_params``).

        With ``estimator=None`` (the default ``NBSVMClassifier``), nested
        ``estimator__<name>`` parameters, such as a grid search's
        ``{"estimator__C": [0.01, 0.1]}``, set that parameter of a default
        ``NBSVMClassifier()``, which becomes ``estimator``: the model fitted
        is the one ``None`` stands for, with that parameter changed.
        (scikit-learn's own ``set_params`` stopped with "'NoneType' object
        has no attribute 'set_params'".)

        Parameters
        ----------
        **params : dict
            Estimator parameters.

        Returns
        -------
        self
        """
        if (self.estimator is None and "estimator" not in params
                and any(key.startswith("estimator__") for key in params)):
            self.estimator = self._base()
        return super().set_params(**params)

    def _seeded_base(self):
        """A clone of the estimator whose unseeded ``random_state`` parameters (None, at any depth) are set to
        ints drawn from ``self.random_state`` (as ``sklearn.ensemble._base._set_random_states``, which sets them
        all); the estimator itself when ``self.random_state`` is None."""
        base = self._base()
        if self.random_state is None:
            return base
        from .classifier import _check_random_state

        rng = _check_random_state(self.random_state)
        base = clone(base)
        to_set = {}
        for key, value in sorted(base.get_params(deep=True).items()):
            if key == "random_state" or key.endswith("__random_state"):
                seed = rng.randint(np.iinfo(np.int32).max)  # drawn for every one: seeding one keeps the others'
                if value is None:
                    to_set[key] = seed
        if to_set:
            logger.debug("%s: seeding %s of its estimator", type(self).__name__, ", ".join(sorted(to_set)))
            base.set_params(**to_set)
        return base

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # an int random_state seeds the estimator (a Keras model's tag then says deterministic, as with its own seed)
        seeded = isinstance(self.random_state, numbers.Integral) and not isinstance(self.random_state, bool)
        base = (self._seeded_base() if seeded else self._base()).__sklearn_tags__()
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

    @staticmethod
    def _log_proba_margin(model, X):
        """Margin of the two likeliest classes in ``predict_log_proba`` (None without it): it orders the samples
        whose probabilities tie, such as those a naive Bayes model gives exactly 1.0 (MultinomialNB, 11% of 500
        IMDB reviews after 100 labelled ones), whose log-probabilities still differ."""
        if not hasattr(model, "predict_log_proba"):
            return None
        with np.errstate(divide="ignore", invalid="ignore"):  # log(0) of models that take the log of predict_proba
            log_proba = np.asarray(model.predict_log_proba(X), dtype=float)
            if log_proba.ndim != 2 or log_proba.shape[1] < 2:
                return None
            top2 = np.sort(log_proba, axis=1)[:, -2:]
            margin = top2[:, 1] - top2[:, 0]
        return np.where(np.isnan(margin), -np.inf, margin)

    def fit(self, X, y, sample_weight=None):
        """Fit on the labelled samples, then pseudo-label and refit ``n_rounds`` times.

        Parameters
        ----------
        X : array-like, sparse matrix or sequence of n_samples documents
            Whatever the estimator takes (rows are selected with
            ``sklearn.utils._safe_indexing``).
        y : array-like of shape (n_samples,)
            Class labels, ``-1`` (the integer) for unlabelled samples; with
            str labels an object array (``np.array(labels, dtype=object)``).
            Missing labels (None, NaN) are refused: mark them ``-1``.
        sample_weight : array-like of shape (n_samples,), default=None
            One non-negative weight per sample, labelled or not. Each fit of
            the estimator gets the weights of its rows: the first fit the
            labelled samples', each refit those of the labelled and of the
            pseudo-labelled samples (a pseudo-labelled sample keeps its own
            weight). Weights do not change which samples are pseudo-labelled
            (``fraction`` counts samples). The estimator's ``fit`` must take
            ``sample_weight`` (for a Pipeline, its last step's; under
            ``sklearn.set_config(enable_metadata_routing=True)`` the Pipeline
            gets ``sample_weight=`` and routes it to the steps that asked for
            it with ``set_fit_request(sample_weight=True)``). Integer
            weights fit as repeated samples would with ``fraction=1.0``. A
            labelled class of total weight 0 goes to the estimator as it is
            (``NBSVMClassifier`` and scikit-learn's ``LogisticRegression``
            keep it in ``classes_`` and never favour it); labelled samples
            all of weight 0 are refused.

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
            f"with {UNLABELLED} in every column of an unlabelled document (OneVsRestClassifier refuses {UNLABELLED})"),
            values=False)  # -1 among text labels marks the unlabelled: the labelled ones are checked in fit
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
        _check_unlabelled_marker(y, owner=type(self).__name__)
        weight_key, sample_weight = self._check_sample_weight(sample_weight, n)
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
        if sample_weight is not None:
            if not sample_weight[labelled_idx].any():
                # scikit-learn's estimators say "Sample weights must contain at least one non-zero number", of
                # the labelled rows they were given: name the rows
                raise ValueError(
                    f"sample_weight gives every labelled sample the weight 0 (the {unlabelled_idx.size} "
                    f"unlabelled ones count only once pseudo-labelled): {type(self).__name__} fits its first "
                    "model on the labelled samples alone, which would learn nothing. Give some labelled samples "
                    "a positive weight."
                )
            # a labelled class of total weight 0 is the estimator's to fit, as it fits one without this wrapper
            # (scikit-learn's LogisticRegression and NBSVMClassifier keep it in classes_ and never favour it,
            # so no unlabelled sample is pseudo-labelled with it)
            weightless = [_scalar(c) for c in labelled_classes if not sample_weight[labelled_idx[y_lab == c]].sum() > 0]
            if weightless:
                logger.info("%s: sample_weight gives the labelled samples of class(es) %s a total weight of 0",
                            type(self).__name__, weightless)
        X_lab = _safe_indexing(X, labelled_idx)
        base = self._seeded_base()  # the same seeds for the first fit and every refit

        from .stacking import _rows_of_x

        def fit_base(X_part, y_part, rows):
            """A fresh clone of the estimator fitted on ``X_part`` (the rows ``rows`` of X), with the weights of
            ``rows`` (if any). An error about one document (no tokens, too long) names it in X, not in ``X_part``
            (the labelled samples, then the pseudo-labelled ones), as ``toolkit train`` reports it."""
            with _rows_of_x(rows):
                if sample_weight is None:
                    return clone(base).fit(X_part, y_part)
                return clone(base).fit(X_part, y_part, **{weight_key: sample_weight[rows]})

        logger.info("%s: fitting %s on %d labelled samples (%d unlabelled)", type(self).__name__,
                    type(base).__name__, labelled_idx.size, unlabelled_idx.size)
        model = fit_base(X_lab, y_lab, labelled_idx)
        self.classes_ = model.classes_
        pseudo = y.copy()
        self.n_pseudo_labelled_ = 0
        if unlabelled_idx.size:
            X_unl = _safe_indexing(X, unlabelled_idx)
            for round_ in range(self.n_rounds):
                labels, confidence = self._confidence(model, X_unl)
                keep = np.zeros(unlabelled_idx.size, dtype=bool)
                margin, margin_read = None, False  # log-probability margins, read when equal probabilities straddle a cut
                for c in np.unique(labels):
                    members = np.flatnonzero(labels == c)
                    k = int(np.ceil(self.fraction * members.size))
                    order = np.argsort(-confidence[members], kind="stable")
                    if 0 < k < members.size and confidence[members[order[k - 1]]] == confidence[members[order[k]]]:
                        # which of the tied samples are kept would otherwise follow their order in X: shuffling
                        # the unlabelled documents changed 23 of 600 predictions (MultinomialNB, fraction=0.05);
                        # a model's scores can tie where its log-probabilities do not (EmbeddingClassifier's
                        # decision_function capped log-odds at ~15.94 until its exact logits, forty-second session)
                        if not margin_read:
                            margin, margin_read = self._log_proba_margin(model, X_unl), True
                        if margin is not None:
                            order = np.lexsort((-margin[members], -confidence[members]))
                    keep[members[order[:k]]] = True
                pseudo = y.copy()
                pseudo[unlabelled_idx[keep]] = labels[keep]
                counts = ", ".join(f"{_scalar(c)!r}: {int((labels[keep] == c).sum())}" for c in np.unique(labels))
                logger.info("%s round %d/%d: pseudo-labelled %d of %d unlabelled samples (%s); refitting on %d",
                            type(self).__name__, round_ + 1, self.n_rounds, int(keep.sum()), unlabelled_idx.size,
                            counts, labelled_idx.size + int(keep.sum()))
                X_fit = _concat(X_lab, _safe_indexing(X_unl, np.flatnonzero(keep)))
                model = fit_base(X_fit, np.concatenate([y_lab, labels[keep]]),
                                 np.concatenate([labelled_idx, unlabelled_idx[keep]]))
                self.n_pseudo_labelled_ = int(keep.sum())
        self.estimator_ = model
        self.pseudo_labels_ = pseudo
        return self

    def _check_sample_weight(self, sample_weight, n_samples):
        """(the estimator's fit parameter for weights, weights as float64 of shape (n_samples,)); (None, None)
        without weights. Refuses weights the estimator cannot take (scikit-learn's BaggingClassifier does too)."""
        if sample_weight is None:
            return None, None
        from sklearn.pipeline import Pipeline
        from sklearn.utils.validation import has_fit_parameter

        base = self._base()
        owner = type(self).__name__
        if has_fit_parameter(base, "sample_weight"):
            key = "sample_weight"
        elif (isinstance(base, Pipeline) and base.steps and base.steps[-1][1] not in (None, "passthrough")
              and has_fit_parameter(base.steps[-1][1], "sample_weight")):
            from sklearn import get_config

            # a Pipeline routes step__param to its last step; under metadata routing it refuses that key ("not
            # routed to any object") and sends sample_weight to the steps that asked for it (set_fit_request)
            routing = get_config().get("enable_metadata_routing", False)
            key = "sample_weight" if routing else f"{base.steps[-1][0]}__sample_weight"
        else:
            last = base.steps[-1][1] if isinstance(base, Pipeline) and base.steps else base
            raise ValueError(
                f"{owner}.fit got sample_weight, but its estimator {type(last).__name__}'s fit takes no "
                "sample_weight, so the weights could not reach it. Use an estimator whose fit takes them "
                "(NBSVMClassifier, the default; LogisticRegression; StackedTextClassifier), or drop sample_weight."
            )
        return key, check_sample_weight(sample_weight, n_samples, owner=owner, per="sample (labelled or not)")

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
