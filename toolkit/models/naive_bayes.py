"""Naive-Bayes feature scaling and NBSVM (Wang & Manning, 2012).

NBSVM scales each (binarized) n-gram count by its naive-Bayes log-count ratio

    r = log((p / ||p||_1) / (q / ||q||_1)),  p = alpha + sum of x over positive documents,
                                             q = alpha + sum of x over negative documents,

then fits a linear SVM (or logistic regression) on the scaled features and
interpolates its weights with their mean magnitude, ``w' = (1 - beta) * mean(|w|) + beta * w``,
which mixes in the multinomial naive-Bayes classifier. On IMDB it is the
strongest linear baseline there is (91.2% with uni+bigrams in the paper).

Both estimators take a non-negative count or binary matrix (``BagEncoder``,
``CountVectorizer``...). Multiclass targets are handled one-vs-rest: one
log-count ratio and one linear model per class.

References
----------
Sida Wang and Christopher D. Manning. "Baselines and Bigrams: Simple, Good
Sentiment and Topic Classification". ACL 2012.
"""

from __future__ import annotations

import collections.abc
import itertools
import numbers
from types import MappingProxyType

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils._tags import InputTags
from sklearn.utils.extmath import safe_sparse_dot
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted, check_non_negative, validate_data

from .._validation import (
    ONE_CLASS_HINT,
    Interval,
    MissingParamsMixin,
    Options,
    SparseOutputMixin,
    check_class_target,
    check_class_weight_values,
    check_single_target,
    validate_params,
)

__all__ = ["log_count_ratio", "NBFeatureScaler", "NBSVMClassifier"]


def _binarize(X):
    """A copy of X with every non-zero set to 1 (sparse stays sparse)."""
    if sp.issparse(X):
        X = X.copy()
        # a cell stored as several entries (a CSR matrix built from (data, indices, indptr) with repeated column
        # indices) is one count: binarized entry by entry it weighed 2 or more, and the same counts fitted another
        # model (decision values 0.20 apart on 200 IMDB reviews). No-op on canonical matrices (the encoders').
        if hasattr(X, "sum_duplicates"):  # CSR/CSC/COO (what the callers pass)
            X.sum_duplicates()
        X.data = (X.data != 0).astype(X.dtype)
        X.eliminate_zeros()
        return X
    return (np.asarray(X) != 0).astype(np.float64)


def _column_sums(X, mask, weights=None) -> np.ndarray:
    """Column sums of the rows in ``mask``, each row times its weight if given."""
    if weights is None:
        return np.asarray(X[mask].sum(axis=0), dtype=np.float64).ravel()
    return np.asarray(X[mask].T @ np.asarray(weights, dtype=np.float64)[mask], dtype=np.float64).ravel()


def _refuse_text(estimator, X) -> None:
    """Raw texts or token lists instead of counts: say which steps go first (numpy's own error is about shapes)."""
    from ..text.corpus import TokenizedCorpus

    select = ""
    if isinstance(X, TokenizedCorpus):
        what = "token lists (a TokenizedCorpus)"
    elif isinstance(X, collections.abc.Iterator):
        # numpy's "float() argument must be a string or a real number, not 'generator'" said nothing of the input
        what = f"a {type(X).__name__} (an iterator), which is read once and has no shape"
    else:
        rows = list(itertools.islice(X, 10)) if isinstance(X, (list, tuple)) or getattr(X, "ndim", None) == 1 else []
        column = _text_column(X) if getattr(X, "ndim", None) == 2 else None
        if rows and isinstance(rows[0], str):
            what = "raw texts"
        elif any(isinstance(row, (list, tuple, np.ndarray)) and len(row) and isinstance(row[0], str) for row in rows):
            what = "token lists"  # rows of strings, not of numbers (a list of count rows is fine)
        elif column is not None:
            # df[["review"]] or an (n, 1) array of texts: "could not convert string to float: '<a whole review>'"
            what = f"a table of shape {X.shape} holding raw texts (in {column})"
            select = " Select the text column as a 1-D sequence (df['review'], not df[['review']])."
        else:
            return
    name = type(estimator).__name__
    raise ValueError(f"{name} takes a matrix of token counts (n_samples, n_features), got {what}. Put the "
                     f"tokenizer and an encoder before it: make_pipeline(SpacyTokenizer(), BagEncoder(), {name}())."
                     + select)


def _text_column(X):
    """Where a 2-D table (DataFrame, array) holds text in its first row: "column 'review'" / "column 0"; else None."""
    if sp.issparse(X) or (isinstance(X, np.ndarray) and X.dtype.kind not in "OUS"):  # numbers (or no rows to read)
        return None
    columns = getattr(X, "columns", None)
    try:
        first = X.iloc[0] if hasattr(X, "iloc") else X[0]
    except (IndexError, KeyError, TypeError, ValueError):
        return None
    for j, value in enumerate(np.ravel(np.asarray(first, dtype=object))):
        if isinstance(value, str):
            return f"column {columns[j]!r}" if columns is not None and j < len(columns) else f"column {j}"
    return None


def _validated_counts(estimator, X, y=None, *, reset):
    """Validate non-negative counts (and y); return CSR X (binarized if asked) and y."""
    _refuse_text(estimator, X)
    kw = {"accept_sparse": ["csr", "csc", "coo"], "dtype": [np.float64, np.float32], "reset": reset}
    if not reset:
        # an empty batch (a filter that kept no review) gets empty scores, as from EmbeddingClassifier and the
        # encoders before it: "Found array with 0 sample(s) ... required by NBSVMClassifier" failed a pipeline or
        # StackedTextClassifier whose other steps took it. Fitting on 0 samples is still refused.
        kw["ensure_min_samples"] = 0
    if y is None and reset:
        # fit(X) without y (a pipeline fitted without it): "Expected array-like ..., got None" said nothing of y
        raise ValueError(
            f"This {type(estimator).__name__} estimator requires y to be passed, but the target y is None: it "
            "learns its naive-Bayes ratios from the class label of each document. Pass the labels, e.g. "
            "pipe.fit(X, y)."
        )
    if y is None:
        X = validate_data(estimator, X, **kw)
    else:
        name = type(estimator).__name__
        # the scaler's ratios follow the label: wrapping it alone gives no classifier
        check_single_target(y, owner=name, hint=None if isinstance(estimator, ClassifierMixin) else (
            f"wrap the whole pipeline it is a step of, so that each label gets ratios of its own: "
            f"OneVsRestClassifier(make_pipeline(BagEncoder(), {name}(), LogisticRegression())), or "
            "MultiOutputClassifier / ClassifierChain of that pipeline"))
        X, y = validate_data(estimator, X, y, **kw)
    try:
        if X.shape[0]:  # an empty dense batch: numpy's "zero-size array to reduction operation minimum" was raised
            check_non_negative(X, f"{type(estimator).__name__} (input X)")
    except ValueError as err:
        # ClassifierChain(NBSVMClassifier(), chain_method="decision_function") appends the earlier labels' signed
        # scores to the counts; scikit-learn's message says only that X has negative values
        raise ValueError(
            f"{err} {type(estimator).__name__} takes token counts, e.g. from BagEncoder(output_mode='count'). "
            "Inside a ClassifierChain, chain_method='decision_function' appends the earlier labels' signed scores "
            "to X: use chain_method='predict' (or 'predict_proba', with NBSVMClassifier(loss='log_loss'))."
        ) from None
    X = sp.csr_matrix(X) if not sp.issparse(X) else X.tocsr()
    if not X.has_canonical_format:
        # repeated entries of a cell (a CSR matrix built from (data, indices, indptr)) are one count: summed, so
        # that the same counts fit the same model (norm="l2" took each entry's square) and score the same
        X = X.copy()  # tocsr() of a CSR matrix is the caller's own
        X.sum_duplicates()
    return (_binarize(X) if estimator.binarize else X), y


def _fit_classes(estimator, y) -> np.ndarray:
    """Check a classification target with at least two classes; set ``classes_``."""
    # values=False: _validated_counts' check_single_target refused missing or mixed labels in y as given
    check_class_target(y, owner=type(estimator).__name__, values=False)
    estimator.classes_ = np.unique(y)
    if estimator.classes_.size < 2:
        raise ValueError(
            f"{type(estimator).__name__} needs at least 2 classes in y; got 1 class "
            f"({estimator.classes_.tolist()}).{ONE_CLASS_HINT}"
        )
    return estimator.classes_


def log_count_ratio(X, y, *, alpha: float = 1.0, binarize: bool = True,
                    pos_label=None, sample_weight=None, alpha_scaling=None, shrinkage=None) -> np.ndarray:
    """Naive-Bayes log-count ratio of each column of ``X`` for a binary target.

    ``r = log((p / ||p||_1) / (q / ||q||_1))`` with ``p = alpha + X[y == pos].sum(0)``
    and ``q = alpha + X[y != pos].sum(0)``. Positive values mark features of
    the positive class. This is the scaling of NBSVM and the initial weights of
    an NB-weighted n-gram bag. With ``sample_weight`` each document's counts
    are multiplied by its weight before summing.

    With ``alpha_scaling="class_size"`` the smoothing follows the size of each
    side: the smaller side (fewer documents, or less summed weight) adds
    ``alpha`` to each of its counts, the larger side ``alpha`` times its size
    over the smaller side's. A feature seen at the same rate in both classes
    (or in neither) then gets a ratio near 0 however unequal the classes are,
    whereas the equal ``alpha`` of the default, summed over a large
    vocabulary, outweighs the counts of a class with few documents and gives
    even its common features negative ratios. For equal sizes both are the
    same.

    With ``shrinkage=k`` each ratio is multiplied by ``n / (n + k)``, ``n``
    the number of documents the feature occurs in (both classes together):
    a ratio resting on one or two documents, mostly noise when a class has
    few documents, is pulled toward 0, one seen in many documents stays
    nearly as it is.

    Parameters
    ----------
    X : {array-like, sparse matrix} of shape (n_samples, n_features)
        Non-negative counts (or binary indicators).
    y : array-like of shape (n_samples,)
        Binary target.
    alpha : float, default=1.0
        Additive (Laplace) smoothing; must be > 0.
    binarize : bool, default=True
        Count each feature at most once per document, as Wang & Manning do.
    pos_label : label, default=None
        The positive class; by default the larger of the two labels. A
        label ``y`` does not hold is refused when ``y`` has two or more
        classes (a ``y`` of one class, a multilabel column without a
        positive document, gets the ratios of its counts against none).
    sample_weight : array-like of shape (n_samples,), default=None
        Non-negative weight of each document's counts (e.g. class weights).
    alpha_scaling : {None, "class_size"}, default=None
        None: both classes' counts get ``alpha``. ``"class_size"``: ``alpha``
        for the smaller class, scaled up for the larger one in proportion to
        its number of documents (its summed ``sample_weight`` if given).
    shrinkage : float > 0 or None, default=None
        None: the ratios as they are. A float ``k``: each ratio times
        ``n / (n + k)``, ``n`` the feature's number of documents (its summed
        counts with ``binarize=False``; each document counted with its
        ``sample_weight`` if given).

    Returns
    -------
    ndarray of shape (n_features,), float64

    Examples
    --------
    >>> import numpy as np
    >>> from toolkit.models import log_count_ratio
    >>> X = np.array([[1, 0, 1], [1, 0, 0], [0, 1, 1]])
    >>> log_count_ratio(X, [1, 1, 0]).round(2)
    array([ 0.92, -0.88, -0.18])
    """
    if not (isinstance(alpha, numbers.Real) and not isinstance(alpha, bool) and alpha > 0):
        raise ValueError(f"alpha must be a float > 0 for log_count_ratio. Got {alpha!r} instead.")
    if alpha_scaling is not None and not (isinstance(alpha_scaling, str) and alpha_scaling == "class_size"):
        raise ValueError(
            f"alpha_scaling must be None or 'class_size' for log_count_ratio. Got {alpha_scaling!r} instead."
        )
    if shrinkage is not None and not (isinstance(shrinkage, numbers.Real) and not isinstance(shrinkage, bool)
                                      and shrinkage > 0):
        raise ValueError(f"shrinkage must be None or a float > 0 for log_count_ratio. Got {shrinkage!r} instead.")
    alpha = float(alpha)  # np.float16(alpha) * (size_pos / smallest) was rounded to a float16 (NumPy 2's promotion)
    y = np.asarray(y)
    classes = np.unique(y)
    if classes.size != 2 and pos_label is None:
        raise ValueError(
            f"log_count_ratio needs a binary target, got {classes.size} classes "
            f"({classes[:5].tolist()}). Pass pos_label for one-vs-rest."
        )
    if pos_label is None:
        pos_label = classes[-1]
    elif classes.size > 1 and not (classes == pos_label).any():
        # a typo or another type ('1' for 1) gave no positive document: every ratio came from the smoothing and
        # the negative side's counts alone, silently. (y of one class is left as it was: a multilabel target's
        # column with no positive document, EmbeddingClassifier's one-vs-rest ratios of a rare tag)
        shown = [c.item() if isinstance(c, np.generic) else c for c in classes[:10]]
        raise ValueError(
            f"pos_label={pos_label!r} is not a label of y for log_count_ratio: y holds {shown}"
            f"{' ...' if classes.size > 10 else ''} (compared by value and type: '1' is not 1). Pass one of them."
        )
    X = sp.csr_matrix(X) if not sp.issparse(X) else X.tocsr()
    if y.shape != (X.shape[0],):
        raise ValueError(
            f"log_count_ratio needs one label per row of X: X has {X.shape[0]} rows, y has shape {y.shape}."
        )
    if binarize:
        X = _binarize(X)
    if sample_weight is not None:
        sample_weight = np.asarray(sample_weight, dtype=np.float64)
        # NaN compares False with 0: without the finite check it would make every ratio NaN
        bad = sample_weight.shape != y.shape or not np.isfinite(sample_weight).all() or (sample_weight < 0).any()
        if bad:
            problem = (" with negative values" if (sample_weight < 0).any() else
                       " with NaN or infinite values" if not np.isfinite(sample_weight).all() else "")
            raise ValueError(
                f"sample_weight must hold one non-negative weight per sample ({y.shape[0]}), all finite; "
                f"got shape {sample_weight.shape}{problem}."
            )
    pos = y == pos_label
    alpha_pos = alpha_neg = alpha
    if alpha_scaling == "class_size":
        weights = np.ones(y.shape[0]) if sample_weight is None else sample_weight
        size_pos, size_neg = float(weights[pos].sum()), float(weights[~pos].sum())
        if min(size_pos, size_neg) <= 0:
            label = pos_label.item() if isinstance(pos_label, np.generic) else pos_label
            raise ValueError(
                f"alpha_scaling='class_size' needs documents of positive total weight on both sides of "
                f"log_count_ratio's target; got {size_pos:g} for pos_label={label!r} and {size_neg:g} for the "
                "rest. Give each class a document with non-zero weight, or pass alpha_scaling=None."
            )
        smallest = min(size_pos, size_neg)
        # x / x is exactly 1.0: equal sizes smooth with alpha itself, bit for bit as alpha_scaling=None
        alpha_pos, alpha_neg = alpha * (size_pos / smallest), alpha * (size_neg / smallest)
    seen_pos, seen_neg = _column_sums(X, pos, sample_weight), _column_sums(X, ~pos, sample_weight)
    p, q = alpha_pos + seen_pos, alpha_neg + seen_neg
    r = np.log(p / p.sum()) - np.log(q / q.sum())
    if shrinkage is not None:
        seen = seen_pos + seen_neg
        r *= seen / (seen + float(shrinkage))
    return r


def _row_norms(X, ratios) -> np.ndarray:
    """L2 norm of each row of ``X * r`` for each ratio row ``r``: shape (n_samples, n_ratios)."""
    squares = X.multiply(X) if sp.issparse(X) else np.square(X)
    return np.sqrt(np.asarray(safe_sparse_dot(squares, np.square(np.atleast_2d(ratios)).T)))


class NBFeatureScaler(MissingParamsMixin, SparseOutputMixin, TransformerMixin, BaseEstimator, auto_wrap_output_keys=None):
    """Scale count features by their naive-Bayes log-count ratios.

    The transformer half of NBSVM: ``transform(X) = binarize(X) * r`` column by
    column, where ``r`` (``log_count_ratio_``) is learned from the training
    target. Put it between a count encoder and any linear model.

    Parameters
    ----------
    alpha : float, default=1.0
        Additive smoothing of the per-class feature counts (> 0).
    binarize : bool, default=True
        Clip counts to 0/1 before fitting and transforming, as in the paper.
    alpha_scaling : {None, "class_size"}, default=None
        None: a class and the rest both get ``alpha``. ``"class_size"``: the
        smaller side gets ``alpha``, the larger one ``alpha`` times its size
        over the smaller side's (see :func:`log_count_ratio` and
        :class:`NBSVMClassifier`); the same ratios as None for classes of
        equal size.
    ratio_shrinkage : float > 0 or None, default=None
        None: the ratios as they are. A float ``k``: each ratio times
        ``n / (n + k)``, ``n`` the feature's number of training documents
        (see :func:`log_count_ratio`), so that ratios resting on few
        documents fade toward 0.
    norm : {None, "l2"}, default=None
        None: the scaled rows as they are. ``"l2"``: each scaled row divided
        by its Euclidean norm (rows of zeros stay zeros), in each class's
        block for a multiclass fit.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels seen in ``fit``.
    log_count_ratio_ : ndarray of shape (n_features,) or (n_classes, n_features)
        ``r`` of the positive class (binary), or of each class against the rest
        (multiclass; ``transform`` then returns the ``n_classes`` scaled copies
        side by side, ``n_classes * n_features`` columns).
    n_features_in_ : int
        Number of input columns.

    Examples
    --------
    >>> from sklearn.feature_extraction.text import CountVectorizer
    >>> from toolkit.models import NBFeatureScaler
    >>> X = CountVectorizer().fit_transform(["good fun", "good film", "bad film"])
    >>> Xs = NBFeatureScaler().fit_transform(X, [1, 1, 0])
    >>> Xs.shape
    (3, 4)
    """

    _parameter_constraints = {
        "alpha": [Interval(float, 0, None, closed="neither")],
        "binarize": ["boolean"],
        "alpha_scaling": [Options({"class_size"}), None],
        "ratio_shrinkage": [Interval(float, 0, None, closed="neither"), None],
        "norm": [Options({"l2"}), None],
    }

    def __init__(self, *, alpha=1.0, binarize=True, alpha_scaling=None, ratio_shrinkage=None, norm=None):
        self.alpha = alpha
        self.binarize = binarize
        self.alpha_scaling = alpha_scaling
        self.ratio_shrinkage = ratio_shrinkage
        self.norm = norm

    def __setstate__(self, state):
        # scalers pickled or saved (skops) before ``alpha_scaling``, ``ratio_shrinkage`` or ``norm`` existed
        super().__setstate__(state)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags = InputTags(sparse=True, positive_only=True)
        tags.target_tags.required = True
        # float32 counts (BagEncoder's default dtype) give float32 output, as scikit-learn's TfidfTransformer
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags

    def fit(self, X, y):
        """Learn the log-count ratios from counts ``X`` and target ``y``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Non-negative counts.
        y : array-like of shape (n_samples,)
            Class labels (two or more classes).

        Returns
        -------
        self
        """
        validate_params(self, self._parameter_constraints)
        X, y = _validated_counts(self, X, y, reset=True)
        classes = _fit_classes(self, y)
        positives = classes[1:] if classes.size == 2 else classes
        ratios = [log_count_ratio(X, y, pos_label=c, alpha=self.alpha, binarize=False,
                                  alpha_scaling=self.alpha_scaling, shrinkage=self.ratio_shrinkage)
                  for c in positives]
        self.log_count_ratio_ = ratios[0] if len(ratios) == 1 else np.vstack(ratios)
        return self

    def transform(self, X):
        """Scale (binarized) ``X`` by the log-count ratios.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        scipy.sparse.csr_matrix of shape (n_samples, n_features), or
        (n_samples, n_classes * n_features) for a multiclass fit.
        """
        check_is_fitted(self)
        X, _ = _validated_counts(self, X, reset=False)
        ratios = np.atleast_2d(self.log_count_ratio_)
        blocks = [sp.csr_matrix(X.multiply(r.astype(X.dtype, copy=False))) for r in ratios]
        if self.norm == "l2":
            from sklearn.preprocessing import normalize

            blocks = [normalize(block, norm="l2", copy=False) for block in blocks]
        return blocks[0] if len(blocks) == 1 else sp.hstack(blocks, format="csr")

    def get_feature_names_out(self, input_features=None):
        """Names of the output columns.

        The input names for a binary fit (one scaled copy of each column); for
        a multiclass fit, ``"<class>__<name>"`` for each class's block. It lets
        ``Pipeline.get_feature_names_out`` name the columns a linear model
        after this step weighs.

        Parameters
        ----------
        input_features : array-like of str, default=None
            Input column names; None uses ``feature_names_in_`` if fitted on a
            DataFrame, else ``x0``, ``x1``, ...

        Returns
        -------
        ndarray of str objects
        """
        from sklearn.utils.validation import _check_feature_names_in

        check_is_fitted(self)
        names = _check_feature_names_in(self, input_features)
        if np.ndim(self.log_count_ratio_) == 1:
            return names
        return np.asarray([f"{c}__{name}" for c in self.classes_ for name in names], dtype=object)


class NBSVMClassifier(MissingParamsMixin, ClassifierMixin, BaseEstimator):
    """NBSVM: a linear classifier on naive-Bayes scaled n-gram features.

    Wang & Manning (2012): binarize the counts, scale them by the NB log-count
    ratios ``r``, fit a linear SVM (``loss="squared_hinge"``, the paper's
    L2-regularized L2-loss SVM) or logistic regression (``loss="log_loss"``),
    then interpolate ``w' = (1 - beta) * mean(|w|) + beta * w`` (and the
    intercept by ``beta``). ``beta=1`` is the plain linear model on NB
    features; ``beta=0`` is multinomial naive Bayes on binarized counts.
    Multiclass targets are fitted one-vs-rest.

    The fitted model is linear in the binarized input, so ``coef_`` is stored
    already multiplied by ``r`` and prediction is one sparse product (with
    ``norm="l2"``, divided by the norm of each row's scaled features).

    Parameters
    ----------
    alpha : float, default=1.0
        Smoothing of the naive-Bayes counts (> 0).
    beta : float, default=0.25
        Interpolation weight in [0, 1] (the paper's 0.25).
    C : float, default=0.01
        Inverse regularization strength of the linear model (> 0). Chosen on a
        validation split of the IMDB training set (``benchmarks/tune_linear.py``):
        on binarized 1-3-grams every C from 0.01 to 1 scored within 0.02 points
        (91.52-91.54% on 5,000 held-out training reviews), and 0.01 fits about
        3x faster than 0.1 and 6x faster than 1 (CPU time).
    loss : {"squared_hinge", "hinge", "log_loss"}, default="squared_hinge"
        ``"squared_hinge"`` and ``"hinge"`` use ``LinearSVC``; ``"log_loss"``
        uses ``LogisticRegression`` (liblinear, dual) and enables ``predict_proba``.
    binarize : bool, default=True
        Clip counts to 0/1 first.
    tol : float, default=1e-4
        Stopping tolerance of the solver.
    max_iter : int, default=1000
        Solver iterations.
    class_weight : dict, "balanced" or None, default=None
        Weights of the classes, as in scikit-learn: each training document
        gets the weight of its class (``compute_sample_weight``), which
        multiplies its counts in the naive-Bayes ratios and its loss in the
        linear model. Classes missing from a dict weigh 1; keys of classes
        absent from ``y`` (a rare class a cross-validation fold lacks) are
        ignored when every class of ``y`` has a weight. A class of total
        weight 0 (weight 0, or ``sample_weight`` 0 on all its documents) is
        left out of the ratios' counts and of the loss, as
        ``LogisticRegression(class_weight={c: 0})`` leaves it, and is not
        predicted; weight 0 for every document is refused.
    random_state : int, RandomState instance, Generator instance or None, default=None
        Seeds the dual coordinate-descent order of liblinear; set it for
        reproducible fits (a Generator is drawn from once per fit).
    alpha_scaling : {"auto", None, "class_size"}, default="auto"
        How ``alpha`` is shared between a class and the rest (see
        :func:`log_count_ratio`). ``"auto"``: ``"class_size"`` for more than
        two classes, None for two (and for a multiclass fit with a class of
        total weight 0, which ``"class_size"`` refuses), so two-class fits are
        the same bits as with None, the default before. One-vs-rest, each
        class's ratio rests on its own few documents against all the others,
        and the equal ``alpha`` of None, summed over a large n-gram vocabulary,
        outweighs them. On validation splits of IMDB training reviews
        (binarized spaCy 1-3-grams, ``benchmarks/bench_many_classes.py
        --nbsvm-only``), None / ``"class_size"`` scored 84.58% / 94.17% on
        50 movies (24 reviews each to learn from), 55.31% / 88.96% on 200 and
        39.17% / 40.42% on 8 star classes (TF-IDF + logistic regression:
        95.83%, 91.88%, 35.42%); one-vs-rest linear models on complement
        naive-Bayes ratios (what ``EmbeddingClassifier``'s NB architectures
        take for more than two classes) scored 86.67%, 76.04% and 36.67%.
        For two unequal classes ``"class_size"`` usually ranks better too
        (below; 20% positive, 1,280 reviews to learn from and 320 held out,
        same benchmark: ROC AUC 0.857 with None, 0.916), but ``"auto"`` leaves
        two-class fits as they were: pass ``"class_size"`` for them.
        None: both get ``alpha``. ``"class_size"``:
        the smaller side gets ``alpha`` and the larger one ``alpha`` times
        its size over the smaller side's (sizes in documents, or in summed
        weights with ``class_weight`` or ``sample_weight``), so a class with
        few documents keeps the signal of its counts. For classes of equal
        size (equal weights) it fits the same model as None, bit for bit; in
        a multiclass fit each class's "rest" is larger. On IMDB training
        reviews (1-3-grams, 1,000 held-out reviews, three draws:
        ``benchmarks/bench_nbsvm_imbalance.py``) it raised the ROC AUC at the
        default ``alpha`` and ``C`` from 0.81 to 0.89 with 20% positive among
        1,000 reviews, from 0.84 to 0.91 with 10% among 3,000, and from 0.71
        to 0.73 with 5% among 1,000 (0.78 with ``alpha=3, C=1``; TF-IDF +
        logistic regression: 0.84); with 45% positive the balanced accuracy
        rose from 0.80 to 0.84 (500 held-out reviews).
    ratio_shrinkage : float > 0 or None, default=None
        None: the naive-Bayes ratios as they are. A float ``k``: each ratio
        times ``n / (n + k)``, ``n`` the feature's number of training
        documents (summed weights with ``class_weight`` or ``sample_weight``;
        see :func:`log_count_ratio`), so that ratios resting on one or two
        documents, mostly noise when a class has few, fade toward 0.
        ``log_count_ratio_`` holds the shrunk ratios.
    norm : {None, "l2"}, default=None
        None: the linear model sees the scaled rows as they are. ``"l2"``:
        each scaled row divided by its Euclidean norm, in ``fit`` and in
        ``decision_function``, so long and short documents weigh alike. The
        rows then have norm 1 instead of 5 to 25 (IMDB 1-3-grams), so ``C``
        should be about 100 times larger: ``C=1``. With few documents of one
        class, ``alpha_scaling="class_size", ratio_shrinkage=1.0, norm="l2",
        C=1`` ranked IMDB training reviews (same benchmark, three draws) with
        a ROC AUC of 0.84 instead of 0.75 (the defaults with
        ``alpha_scaling="class_size"``) and 0.80 instead of 0.73 with 5%
        positive among 1,000 reviews (two pools; TF-IDF + logistic
        regression: 0.86 and 0.84), 0.905 instead of 0.891 with 20% positive
        among 1,000 (0.910), 0.915 instead of 0.905 with 10% among 3,000
        (0.927), and 0.929 and 0.962 instead of 0.929 and 0.960 with
        balanced classes (1,000 and 5,000 reviews; the balanced accuracy at
        1,000 was 0.845 instead of 0.854). Either option alone lifted the
        imbalanced settings less, and the shrinkage alone lowered the
        balanced ones.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    log_count_ratio_ : ndarray of shape (n_features,) or (n_classes, n_features)
        As in :class:`NBFeatureScaler`.
    coef_ : ndarray of shape (1, n_features) or (n_classes, n_features)
        Interpolated weights times ``r``, for binarized input (with
        ``norm="l2"``, for binarized input divided by the norm of ``x * r``).
    intercept_ : ndarray of shape (1,) or (n_classes,)
    n_iter_ : int
        Largest number of solver iterations over the one-vs-rest models.
    n_features_in_ : int

    Examples
    --------
    >>> from sklearn.feature_extraction.text import CountVectorizer
    >>> from sklearn.pipeline import make_pipeline
    >>> from toolkit.models import NBSVMClassifier
    >>> docs = ["a great film", "great fun", "a bad film", "bad and dull"]
    >>> clf = make_pipeline(CountVectorizer(), NBSVMClassifier()).fit(docs, [1, 1, 0, 0])
    >>> clf.predict(["great", "dull"]).tolist()
    [1, 0]
    """

    _parameter_constraints = {
        "alpha": [Interval(float, 0, None, closed="neither")],
        "beta": [Interval(float, 0, 1, closed="both")],
        "C": [Interval(float, 0, None, closed="neither")],
        "loss": [Options({"squared_hinge", "hinge", "log_loss"})],
        "binarize": ["boolean"],
        "tol": [Interval(float, 0, None, closed="neither")],
        "max_iter": [Interval(int, 1, None)],
        "class_weight": [dict, Options({"balanced"}), None],
        "random_state": ["random_state"],
        "alpha_scaling": [Options({"auto", "class_size"}), None],
        "ratio_shrinkage": [Interval(float, 0, None, closed="neither"), None],
        "norm": [Options({"l2"}), None],
    }

    # C: smallest C within one standard error of the best validation accuracy, see
    # benchmarks/tune_linear.py and benchmarks/results/tune_linear.json (no test-set tuning)
    def __init__(self, *, alpha=1.0, beta=0.25, C=0.01, loss="squared_hinge", binarize=True,
                 tol=1e-4, max_iter=1000, class_weight=None, random_state=None, alpha_scaling="auto",
                 ratio_shrinkage=None, norm=None):
        self.alpha = alpha
        self.beta = beta
        self.C = C
        self.loss = loss
        self.binarize = binarize
        self.tol = tol
        self.max_iter = max_iter
        self.class_weight = class_weight
        self.random_state = random_state
        self.alpha_scaling = alpha_scaling
        self.ratio_shrinkage = ratio_shrinkage
        self.norm = norm

    #: a model saved before ``alpha_scaling`` existed was fitted with the equal alpha of None, not with today's
    #: default "auto" (:class:`~toolkit._validation.MissingParamsMixin` restores it so)
    _defaults_before_change = MappingProxyType({"alpha_scaling": None})

    def __setstate__(self, state):
        # models pickled or saved (skops) before ``alpha_scaling``, ``ratio_shrinkage`` or ``norm`` existed
        super().__setstate__(state)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags = InputTags(sparse=True, positive_only=True)
        return tags

    def _linear_model(self):
        random_state = self.random_state
        if isinstance(random_state, np.random.Generator):  # accepted as EmbeddingClassifier does; liblinear is not
            random_state = np.random.RandomState(int(random_state.integers(0, 2**32)))
        if self.loss == "log_loss":
            from sklearn.linear_model import LogisticRegression

            return LogisticRegression(C=self.C, solver="liblinear", dual=True, tol=self.tol,
                                      max_iter=self.max_iter, random_state=random_state)
        from sklearn.svm import LinearSVC

        return LinearSVC(C=self.C, loss=self.loss, dual=True, tol=self.tol,
                         max_iter=self.max_iter, random_state=random_state)

    def _sample_weight(self, y):
        """``class_weight`` as one weight per sample (None when unweighted)."""
        if self.class_weight is None:
            return None
        from sklearn.utils.class_weight import compute_sample_weight

        if isinstance(self.class_weight, dict):
            # (a negative or NaN weight was refused as "sample_weight must hold one non-negative weight per sample")
            check_class_weight_values(self.class_weight, owner=type(self).__name__)
            classes = set(self.classes_.tolist())
            unknown = [k for k in self.class_weight if k not in classes]
            # as scikit-learn: keys for classes absent from y (a rare class a CV training fold lacks)
            # are ignored when every class of y has a weight; otherwise they are most likely a typo
            if unknown and not all(c in self.class_weight for c in classes):
                raise ValueError(
                    f"The 'class_weight' parameter of {type(self).__name__} names classes that are not in "
                    f"y: {unknown}; the classes are {self.classes_.tolist()}."
                )
        return compute_sample_weight(self.class_weight, y)

    def _fit_linear(self, scaled, yk, weights):
        """The linear model of one class against the rest, each document's loss times its weight."""
        if weights is not None:
            # a side of total weight 0 (class_weight={1: 0}, or sample_weight 0 on all of a class's documents):
            # liblinear drops documents of weight 0, then fitted the other side alone, printed "WARNING: class label
            # 1 specified in weight is not found" to stdout, and its model predicted the weightless class for every
            # document (300 of 300 IMDB reviews). A weight 1e-12 times the largest keeps the documents, not their
            # say: the model of LogisticRegression(class_weight={1: 0}), to the solver's tol, which never favours
            # the weightless side. (A weight of exactly 0 through liblinear's class_weight ran the hinge loss's
            # dual solver to max_iter with a ConvergenceWarning, and made the log loss's dual solver's model NaN.)
            empty = ~np.array([weights[yk == side].sum() > 0 for side in (0, 1)])
            if empty.any():
                weights = np.where(empty[yk], 1e-12 * weights.max(), weights)
        return self._linear_model().fit(scaled, yk, sample_weight=weights)

    def fit(self, X, y, sample_weight=None):
        """Fit the NB ratios and the interpolated linear model(s).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Non-negative counts, e.g. from ``BagEncoder(output_mode="count")``.
        y : array-like of shape (n_samples,)
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of each document, in the naive-Bayes counts
            and in the linear model's loss (times its ``class_weight``).

        Returns
        -------
        self
        """
        from sklearn.utils.validation import _check_sample_weight

        validate_params(self, self._parameter_constraints)
        X, y = _validated_counts(self, X, y, reset=True)
        Y = LabelBinarizer().fit(_fit_classes(self, y)).transform(y)  # (n, 1) binary, (n, K) multi
        weights = self._sample_weight(y)  # class weights: in the NB counts and in the linear loss
        if sample_weight is not None:
            # all zeros: refused below, naming sample_weight (scikit-learn's message named no parameter)
            sample_weight = _check_sample_weight(sample_weight, X, ensure_non_negative=True,
                                                 allow_all_zero_weights=True)
            weights = sample_weight if weights is None else weights * sample_weight
        if weights is not None and not weights.any():
            # (liblinear's own message, "Sample weights must contain at least one non-zero number", named neither)
            if sample_weight is not None and not sample_weight.any():
                raise ValueError(
                    f"sample_weight of {type(self).__name__} is zero for every document of X: nothing would be "
                    "learned (a document of weight 0 is left out). Give at least one document a positive weight, "
                    "or pass sample_weight=None to weigh them all alike."
                )
            raise ValueError(
                ("sample_weight" if self.class_weight is None else f"class_weight={self.class_weight!r}"
                 + ("" if sample_weight is None else " times sample_weight"))
                + " gives every document of X weight 0: nothing would be learned. Give a class of y a positive "
                "weight."
            )
        scaling = self.alpha_scaling
        weightless = [] if weights is None else [c.item() if isinstance(c, np.generic) else c
                                                 for c in self.classes_ if not weights[y == c].sum() > 0]
        if scaling == "auto":
            # "class_size" for more than two classes; two classes (or a class of total weight 0, which
            # "class_size" cannot scale by) keep the equal alpha, so binary fits stay bit for bit as they were
            scaling = "class_size" if self.classes_.size > 2 and not weightless else None
        if scaling == "class_size" and weightless:
            raise ValueError(
                f"NBSVMClassifier(alpha_scaling='class_size') scales alpha by each class's summed weight, but "
                f"class(es) {weightless} have total weight 0 (class_weight times sample_weight). Give each class "
                "a document with non-zero weight, or use alpha_scaling=None."
            )
        # one row per class, filled in place: lists of rows joined by np.vstack held each (n_classes, n_features)
        # array twice (4.3 GB peak instead of 2.1 GB at 200 classes x 660,000 n-grams)
        ratios = coefs = None
        intercepts, n_iter = [], []
        # a NumPy scalar (np.float16(0.3), np.float32 from a grid built with np.linspace(..., dtype=np.float32))
        # made intercept_ of its precision: beta * float(...) is a float16 under NumPy 2's promotion rules
        beta = float(self.beta)
        for k in range(Y.shape[1]):
            yk = Y[:, k]
            r = log_count_ratio(X, yk, alpha=self.alpha, binarize=False, pos_label=1, sample_weight=weights,
                                alpha_scaling=scaling, shrinkage=self.ratio_shrinkage)
            # X's columns times r on the stored entries alone (X.multiply(r) builds a COO copy, then a CSR one)
            scaled = sp.csr_matrix((X.data * r[X.indices], X.indices, X.indptr), shape=X.shape)
            scaled.sort_indices()  # as X.multiply(r) gave them: liblinear's sums follow this order
            if self.norm == "l2":
                from sklearn.preprocessing import normalize

                scaled = normalize(scaled, norm="l2", copy=False)
            model = self._fit_linear(scaled, yk, weights)
            w = model.coef_.ravel()
            w = (1.0 - beta) * np.abs(w).mean() + beta * w
            coef = w * r
            if ratios is None:  # (the dtypes np.vstack of the rows gave)
                ratios = np.empty((Y.shape[1], r.size), dtype=r.dtype)
                coefs = np.empty((Y.shape[1], coef.size), dtype=coef.dtype)
            ratios[k] = r
            coefs[k] = coef
            intercepts.append(beta * float(model.intercept_[0]))
            n_iter.append(int(np.max(model.n_iter_)))
        self.log_count_ratio_ = ratios[0] if len(ratios) == 1 else ratios
        self.coef_ = coefs
        self.intercept_ = np.asarray(intercepts)
        self.n_iter_ = max(n_iter)
        self._fitted_loss = self.loss  # what predict_proba reads (_has_proba), whatever set_params sets later
        return self

    def decision_function(self, X):
        """Signed scores: shape (n_samples,) for two classes, else (n_samples, n_classes).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Non-negative counts.

        Returns
        -------
        ndarray of shape (n_samples,) or (n_samples, n_classes)
        """
        check_is_fitted(self)
        X, _ = _validated_counts(self, X, reset=False)
        scores = np.asarray(safe_sparse_dot(X, self.coef_.T))
        if self.norm == "l2":
            norms = _row_norms(X, self.log_count_ratio_)
            scores = scores / np.where(norms > 0, norms, 1.0)  # a row of zeros scores 0, as in fit
        scores = scores + self.intercept_
        return scores.ravel() if scores.shape[1] == 1 else scores

    def predict(self, X):
        """Predicted class labels.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Non-negative counts.

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        scores = self.decision_function(X)
        idx = (scores > 0).astype(int) if scores.ndim == 1 else scores.argmax(axis=1)
        return self.classes_[idx]

    def _has_proba(self):
        # available_if: an AttributeError (hasattr() stays False) whose message says which loss gives probabilities.
        # A fitted model: the loss it was fitted with. set_params(loss="log_loss") after a hinge fit gave the
        # sigmoid of SVM margins as probabilities (about 0.5 for every review at the default C), silently.
        fitted = getattr(self, "_fitted_loss", None)  # None: not fitted, or fitted before it was kept
        if fitted is not None and fitted != self.loss:
            if fitted == "log_loss":
                return True
            raise AttributeError(
                f"predict_proba is not available: this NBSVMClassifier was fitted with loss={fitted!r}; "
                f"loss={self.loss!r}, set since, takes effect at the next fit. Fit again for probabilities; "
                "decision_function gives the fitted model's scores."
            )
        if self.loss != "log_loss":
            raise AttributeError(
                f"predict_proba is not available when loss={self.loss!r}: NBSVMClassifier gives probabilities with "
                "loss='log_loss' (for a soft VotingClassifier, CalibratedClassifierCV or scoring='neg_log_loss'); "
                "decision_function gives the scores of every loss."
            )
        return True

    @available_if(_has_proba)
    def predict_proba(self, X):
        """Class probabilities (of a model fitted with ``loss="log_loss"`` only; one-vs-rest normalized).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Non-negative counts.

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
        """
        return np.exp(self.predict_log_proba(X))

    @available_if(_has_proba)
    def predict_log_proba(self, X):
        """Log of :meth:`predict_proba`.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Non-negative counts.

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
        """
        from scipy.special import log_expit, logsumexp

        # in log space: 1 / (1 + exp(-s)) overflowed for a score under about -710 (a long document with
        # binarize=False), 1 - p was 0 from about +37 on (log: -inf), and a multiclass row whose scores were all
        # under about -745 gave 0 / 0 (NaN)
        scores = self.decision_function(X)
        if scores.ndim == 1:
            return np.column_stack([log_expit(-scores), log_expit(scores)])
        log_p = log_expit(scores)  # one-vs-rest sigmoids, normalized over the classes
        return log_p - logsumexp(log_p, axis=1, keepdims=True)
