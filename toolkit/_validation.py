"""Parameter and input validation shared by every toolkit estimator.

scikit-learn's ``_param_validation`` module is private, so this is a small
local helper that speaks with the same voice::

    The 'maxlen' parameter of SequenceEncoder must be an int in the range
    [1, inf) or None. Got 0 instead.
"""

from __future__ import annotations

import math
import numbers
import sys
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from .exceptions import DocumentError

__all__ = [
    "InvalidParameterError",
    "Interval",
    "Options",
    "validate_params",
    "validate_param",
    "check_raw_documents",
    "text_column",
    "check_sample_weight",
    "check_single_target",
    "one_hot_columns",
    "check_class_target",
    "is_missing",
    "row_label",
    "plain_label",
    "TextInputMixin",
]


class InvalidParameterError(ValueError, TypeError):
    """A parameter has an invalid type or value (as sklearn's own class)."""


class Interval:
    """Numbers of one kind in an interval, e.g. ``Interval(int, 1, None)``.

    Parameters
    ----------
    kind : {int, float}
        ``int`` accepts integral numbers only (not bools); ``float`` accepts
        any real number (ints included).
    left, right : number or None
        Bounds; None means unbounded, and an unbounded side is open: no
        infinity is in the interval (``float("inf")`` is refused by
        ``Interval(float, 0, None)``), as its range, ``[0, inf)``, says.
    closed : {"both", "left", "right", "neither"}, default="both"
    """

    def __init__(self, kind, left, right, *, closed="both"):
        self.kind = kind
        self.left = left
        self.right = right
        self.closed = closed

    def __contains__(self, value) -> bool:
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            return False
        if self.kind is int and not isinstance(value, numbers.Integral):
            return False
        if isinstance(value, float) and math.isnan(value):
            return False
        # an unbounded side is open (its range prints as "(0, inf)"): an infinity is not a number in it
        if not isinstance(value, numbers.Integral) and math.isinf(value):
            return False
        if self.left is not None:
            if value < self.left or (value == self.left and self.closed in ("right", "neither")):
                return False
        if self.right is not None:
            if value > self.right or (value == self.right and self.closed in ("left", "neither")):
                return False
        return True

    def __str__(self) -> str:
        kind = "an int" if self.kind is int else "a float"
        lb = "[" if self.closed in ("both", "left") and self.left is not None else "("
        rb = "]" if self.closed in ("both", "right") and self.right is not None else ")"
        left = "-inf" if self.left is None else self.left
        right = "inf" if self.right is None else self.right
        return f"{kind} in the range {lb}{left}, {right}{rb}"


class Options:
    """One of a fixed set of values, e.g. ``Options({"pre", "post"})``."""

    def __init__(self, values):
        self.values = frozenset(values)

    def __contains__(self, value) -> bool:
        try:
            return value in self.values
        except TypeError:  # unhashable
            return False

    def __str__(self) -> str:
        kinds = {type(v).__name__ for v in self.values}
        kind = kinds.pop() if len(kinds) == 1 else "value"
        return f"a {kind} among {{{', '.join(repr(v) for v in sorted(self.values, key=repr))}}}"


def is_1d_array(value) -> bool:
    """Whether ``value`` is a pandas Series or a 1-D numpy array (``tolist`` gives its items)."""
    return hasattr(value, "tolist") and getattr(value, "ndim", None) == 1


def _satisfies(value, constraint) -> bool:
    if constraint is None:
        return value is None
    if constraint == "boolean":
        return isinstance(value, (bool, np.bool_))
    if constraint == "callable":
        return callable(value)
    if constraint == "cv_object":
        return not isinstance(value, (str, bytes)) and all(callable(getattr(value, m, None)) for m in ("split", "get_n_splits"))
    if constraint == "random_state":
        return value is None or isinstance(value, (numbers.Integral, np.random.RandomState, np.random.Generator)) and not isinstance(value, bool)
    if constraint == "1d_array":
        return is_1d_array(value)
    if isinstance(constraint, type):
        return isinstance(value, constraint) and not (constraint is not bool and isinstance(value, bool))
    return value in constraint


def _describe(constraint) -> str:
    if constraint is None:
        return "None"
    if constraint == "boolean":
        return "an instance of 'bool'"
    if constraint == "callable":
        return "a callable"
    if constraint == "cv_object":
        return "a cross-validation splitter (with split and get_n_splits, such as GroupKFold(5))"
    if constraint == "random_state":
        return "an int, a numpy RandomState or None"
    if constraint == "1d_array":
        return "a pandas Series (or 1-D numpy array)"
    if isinstance(constraint, type):
        return f"an instance of '{constraint.__name__}'"
    return str(constraint)


def validate_params(estimator, constraints: Mapping[str, Sequence]) -> None:
    """Check ``estimator``'s parameters against ``constraints``.

    Parameters
    ----------
    estimator : BaseEstimator
        Its ``get_params(deep=False)`` are checked.
    constraints : dict of str to list
        Allowed forms per parameter: ``Interval``, ``Options``, a type, None,
        ``"boolean"``, ``"callable"``, ``"cv_object"`` (a splitter with ``split`` and
        ``get_n_splits``), ``"random_state"`` or ``"1d_array"`` (a pandas Series
        or 1-D numpy array).

    Raises
    ------
    InvalidParameterError
        Naming the parameter, the estimator, what is allowed and what was given.
    """
    params = estimator.get_params(deep=False)
    for name, allowed in constraints.items():
        if name in params:
            validate_param(params[name], allowed, name=name, owner=type(estimator).__name__)


def with_missing_params(cls, state: dict) -> dict:
    """``state`` of a ``cls`` estimator, with every ``__init__`` parameter it lacks set to its default.

    An estimator pickled or saved (skops) before a parameter existed restores
    without that attribute, and ``get_params`` (so ``clone``, ``repr`` and the
    parameter checks of ``fit`` and ``transform``) fails on it. The default is
    the behaviour such a model was fitted with; a parameter whose default
    changed after it existed takes its first default instead, from the class's
    ``_defaults_before_change`` dict (e.g. ``{"alpha_scaling": None}``). The
    parameters are added after
    the saved entries, whose order is kept, so a loaded model saves to the same
    bytes again (an old one: from its second save on). Used through
    :class:`MissingParamsMixin`, whose ``__setstate__`` both pickle and
    skops (:func:`toolkit.models.persistence.load_model`) call.

    Parameters
    ----------
    cls : type
        The estimator's class.
    state : dict
        Its saved ``__dict__``.

    Returns
    -------
    dict
        A new dict: ``state`` followed by the missing parameters.
    """
    import inspect

    state = dict(state)
    changed = getattr(cls, "_defaults_before_change", {})
    for name, param in inspect.signature(cls.__init__).parameters.items():
        if (name != "self" and param.default is not param.empty and name not in state
                and param.kind in (param.KEYWORD_ONLY, param.POSITIONAL_OR_KEYWORD)):
            state[name] = changed.get(name, param.default)
    return state


class MissingParamsMixin:
    """Unpickle with every ``__init__`` parameter the pickle lacks set to its default.

    Put first among the bases of every toolkit estimator, so that a model
    pickled before one of its parameters existed unpickles with the behaviour
    it was fitted with instead of failing in ``get_params`` (so ``clone``,
    ``repr`` and every parameter check of ``fit`` and ``transform``). A class
    with its own ``__setstate__`` calls ``super().__setstate__`` and gets it
    too. See :func:`with_missing_params`.
    """

    def __setstate__(self, state):
        super().__setstate__(with_missing_params(type(self), state))


def validate_param(value, allowed: Sequence, *, name: str, owner: str) -> None:
    """Check one value against its allowed forms, for functions and methods.

    The message is the same as :func:`validate_params` gives, with ``owner``
    naming the function (e.g. ``"pad_sequences"``).

    Raises
    ------
    InvalidParameterError
    """
    if any(_satisfies(value, c) for c in allowed):
        return
    parts = [_describe(c) for c in allowed]
    expected = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " or " + parts[-1]
    raise InvalidParameterError(
        f"The {name!r} parameter of {owner} must be {expected}. Got {_short_repr(value)} instead."
        f"{_hint(name, value)}"
    )


def _short_repr(value, limit: int = 200) -> str:
    """``repr(value)``, cut after ``limit`` characters (a whole DataFrame or corpus given by mistake)."""
    text = repr(value)
    if len(text) <= limit:
        return text
    return f"{' '.join(text.split())[:limit]}... ({type(value).__name__})"  # a table's repr on one line


def _hint(name, value) -> str:
    """What to pass instead of a value users commonly pass by mistake ("" for any other)."""
    in_memory = ((type(value).__name__.endswith("KeyedVectors") and hasattr(value, "key_to_index"))
                 or type(getattr(value, "wv", None)).__name__.endswith("KeyedVectors"))  # Word2Vec(...), FastText(...)
    if name == "vectors" and in_memory:
        # kv = load_vectors("glove.6B.50d") in one notebook cell, EmbeddingClassifier(vectors=kv) in the next
        return (
            " Estimators load their vectors in fit and never store them (so clone, pickling and GridSearchCV "
            "stay cheap): pass the manifest name or path they were loaded from, such as 'glove.6B.50d' "
            "(load_vectors keeps them in memory, so they are not read again), or save vectors of your own "
            "with kv.save_word2vec_format('vectors.txt') and pass that path. For a gensim model, save model.wv; "
            "for fastText, gensim.models.fasttext.save_facebook_model(model, 'vectors.bin') keeps the subword "
            "vectors that save_word2vec_format drops."
        )
    if name == "architecture" and isinstance(value, str):
        import multiprocessing  # on this error path only, not when the toolkit is imported

        if multiprocessing.parent_process() is not None:
            # GridSearchCV(..., n_jobs=2) over an architecture the user registered: loky's (and Dask's) worker
            # processes import toolkit afresh, so the registration never reached them, and the plain message
            # read as if the name had never been registered
            return (
                f" This is a worker process ({multiprocessing.current_process().name}), such as joblib starts "
                "for n_jobs > 1 in GridSearchCV or cross_validate, or a Dask worker: an architecture added with "
                "toolkit.models.builders.register_architecture exists only in the process that registered it. "
                "Run the search in threads (with joblib.parallel_config(backend='threading'): ...) or with "
                "n_jobs=1."
            )
    return ""


def a_type_name(obj) -> str:
    """``obj``'s type name after its indefinite article, for messages: ``"an int"``, ``"a float"``."""
    name = type(obj).__name__
    return f"{'an' if name[:1].lower() in 'aeiou' else 'a'} {name}"


def _describe_bad_document(doc) -> str | None:
    if isinstance(doc, str):
        return None
    if is_missing(doc):  # pd.NA: a missing value of pandas' "string" dtype (and Dask's columns)
        return "is missing (None/NaN); drop or fill missing values first, e.g. series.fillna('')"
    if isinstance(doc, (bytes, bytearray)):
        return "is bytes; decode it first, e.g. doc.decode('utf-8')"
    if type(doc).__name__ == "Doc" and type(doc).__module__.startswith("spacy"):
        # Docs of a user's own nlp.pipe: the tokenizers take raw text and run their own pipeline (model=...)
        return ("is a spaCy Doc, not a str; pass the texts ([doc.text for doc in docs]), and your pipeline as "
                "SpacyTokenizer(model=<the folder written by nlp.to_disk>)")
    return f"is {a_type_name(doc)}, not a str"


def _column_list_hint(X) -> str:
    """For a one-column table: how a ``ColumnTransformer`` gives one (a list of one column), else ""."""
    shape = getattr(X, "shape", ())
    if len(shape) != 2 or shape[1] != 1:
        return ""
    columns = getattr(X, "columns", None)
    first = columns[0] if columns is not None and len(columns) else 0
    column = repr(first.item() if isinstance(first, np.generic) else first)
    return (
        f" In a ColumnTransformer, name the text column as a scalar ({column}), not as a list ([{column}]): "
        "a list passes a one-column table."
    )


def text_column(X):
    """The one column of a one-column table as documents; any other ``X`` unchanged.

    scikit-learn's tools hand a text step tables: ``permutation_importance``
    permutes the columns of a 2-D ``X`` (it refuses a 1-D one, so a pipeline
    over one text column gets ``df[["review"]]``), and a ``ColumnTransformer``
    given a list of one column (``["review"]``) passes a one-column table.
    That column holds the documents. A DataFrame's column is returned as a
    Series, so its row labels still name a bad document and the rows of a
    pandas output. :class:`~toolkit.text.SpacyTokenizer` takes its documents
    from here; :func:`check_raw_documents` still refuses any table, so a
    caller that would lose a DataFrame's row labels takes none.

    Parameters
    ----------
    X : object
        The input as the user (or scikit-learn) gave it.

    Returns
    -------
    object
        ``X[:, 0]`` of a numpy array of shape (n, 1), ``X.iloc[:, 0]`` of a
        one-column pandas DataFrame; else ``X`` itself.

    Examples
    --------
    >>> import numpy as np
    >>> from toolkit._validation import text_column
    >>> text_column(np.array([["Great film."], ["Dull."]], dtype=object)).tolist()
    ['Great film.', 'Dull.']
    >>> text_column(["Great film.", "Dull."])
    ['Great film.', 'Dull.']
    """
    if isinstance(X, (str, bytes, bytearray)):
        return X
    shape = getattr(X, "shape", None)
    if not isinstance(shape, tuple) or len(shape) != 2 or shape[1] != 1:
        return X
    if isinstance(X, np.ndarray):
        return X[:, 0]
    pandas = sys.modules.get("pandas")
    if pandas is not None and isinstance(X, pandas.DataFrame):
        return X.iloc[:, 0]
    return X


def row_label(X, position: int) -> str:
    """`` (index label L)`` for the document at ``position`` of a pandas Series ``X`` with labels of its own, else "".

    A Series filtered, shuffled or read with an id column as index has labels
    that are not its positions; an error or warning naming "Document 3 of X"
    then also names the label, so ``X.loc[L]`` finds it. A Series on a plain
    0..n-1 index (its labels are its positions), and any other input, get "".

    Parameters
    ----------
    X : object
        The input as the user gave it.
    position : int
        The document's position in ``X``.

    Returns
    -------
    str
    """
    pandas = sys.modules.get("pandas")
    if pandas is None or not isinstance(X, pandas.Series) or not 0 <= position < len(X):
        return ""
    index = X.index
    if isinstance(index, pandas.RangeIndex) and index.start == 0 and index.step == 1:
        return ""
    return f" (index label {plain_label(index[position])!r})"


def plain_label(label):
    """A pandas index label with numpy scalars as Python ones (a MultiIndex label's parts too), for messages.

    ``repr`` then shows ``2`` and ``('y', 2)``, not numpy 2's ``np.int64(2)``.

    Parameters
    ----------
    label : object
        One label of a pandas Index (a tuple for a MultiIndex).

    Returns
    -------
    object
    """
    if isinstance(label, tuple):
        return tuple(plain_label(part) for part in label)
    return label.item() if isinstance(label, np.generic) else label


def check_raw_documents(X, *, name: str = "X", caller: str | None = None) -> list[str]:
    """Validate an iterable of raw text documents and return it as a list of str.

    Accepts lists, tuples, generators, 1-D numpy arrays of strings (``numpy.str_``
    elements become ``str``), pandas Series (any string dtype: object,
    ``"string"``, ``"string[pyarrow]"``, ``pd.ArrowDtype(pa.string())``) and
    pyarrow arrays (a column of a pyarrow Table).

    Raises
    ------
    ValueError
        For a single string ("Iterable over raw text documents expected, string
        object received.", as scikit-learn says), a 2-D array, or a document that
        is not a str (None/NaN, bytes, numbers), naming its index (and its
        index label, for a pandas Series whose labels are not its positions).

    Parameters
    ----------
    X : iterable of str
    name : str, default="X"
        The argument's name in the messages.
    caller : str, optional
        The function or method the user called (``"tokenize"``,
        ``"SpacyTokenizer.transform"``): the advice for a single string names
        it, ``tokenize([text])``. None gives the advice without a call,
        ``[text]``, rather than naming a method the user may not have called.
    """
    if isinstance(X, (str, bytes, bytearray)):
        one = f"{caller}([text])" if caller else "[text] instead of text"
        raise ValueError(
            f"Iterable over raw text documents expected, string object received. For one document, pass a list "
            f"of one: {one}."
        )
    refuse_tensorflow_input(X, caller or "A text pipeline")
    scipy_sparse = sys.modules.get("scipy.sparse")
    if scipy_sparse is not None and scipy_sparse.issparse(X):  # its rows read as documents: "is a csr_array"
        raise ValueError(
            f"Expected a 1-D sequence of raw text documents for {name}, got a sparse matrix "
            f"({type(X).__name__} of shape {X.shape}); sparse input is not supported. Pass the texts."
        )
    if isinstance(X, np.ndarray) and X.ndim != 1:
        raise ValueError(
            f"Expected a 1-D sequence of raw text documents for {name}, got an array of shape "
            f"{X.shape}. Select the text column first, e.g. X[:, 0].{_column_list_hint(X)}"
        )
    if hasattr(X, "to_numpy") and getattr(X, "ndim", 1) != 1:
        raise ValueError(
            f"Expected a 1-D sequence of raw text documents for {name}, got a "
            f"{type(X).__name__} with 2 dimensions. Select the text column first, e.g. df['text']."
            f"{_column_list_hint(X)}"
        )
    given = X  # a pandas Series: its row labels name a bad document too
    pyarrow = sys.modules.get("pyarrow")
    if pyarrow is not None and isinstance(X, (pyarrow.Array, pyarrow.ChunkedArray)):
        X = X.to_pylist()  # a column of a pyarrow Table (its to_numpy takes no dtype); nulls become None
    elif hasattr(X, "to_numpy"):
        X = X.to_numpy(dtype=object)
    if not isinstance(X, Iterable):
        raise ValueError(
            f"Iterable over raw text documents expected for {name}, got {type(X).__name__}."
            + (" Select the text column first, e.g. table['text']." if hasattr(X, "column_names") else "")
        )
    docs = [str(d) if isinstance(d, np.str_) else d for d in X]
    for i, doc in enumerate(docs):
        problem = _describe_bad_document(doc)
        if problem is not None:
            more = ""
            if problem.startswith("is missing"):  # fixing one at a time would take a run per document
                n_missing = sum(is_missing(d) for d in docs)
                more = f" {n_missing:,} of the {len(docs):,} documents of {name} are missing." if n_missing > 1 else ""
            raise DocumentError(f"Document {i} of {name}{row_label(given, i)} {problem}; raw text documents must "
                                f"be str.{more}", document_index=i)
    return docs


#: Appended to a "needs at least 2 classes" error: inside MultiOutputClassifier or ClassifierChain, y is one label
#: column, and a rare tag can have no document in a training fold (OneVsRestClassifier handles that column itself).
ONE_CLASS_HINT = (
    " If y is one label column of a multilabel target (inside MultiOutputClassifier or ClassifierChain), that "
    "label has the same value in every training document: a rare tag with no document in a cross-validation "
    "fold. OneVsRestClassifier predicts such a column as a constant (with a warning); or drop the label, or use "
    "folds that keep some of its documents on each side."
)

_LABEL_LISTS = (list, tuple, set, frozenset, np.ndarray)


def _first_label_list(arr) -> int | None:
    """The index of the first element of ``arr`` (a 1-D object array, a target) that is a list, tuple, set or array
    of labels; None where there is none, or ``arr`` is of another kind."""
    if arr.ndim != 1 or arr.dtype != object:
        return None
    return next((i for i, v in enumerate(arr) if isinstance(v, _LABEL_LISTS)), None)


def _numbers_in_objects(values) -> bool:
    """Whether ``values`` is a 1-D object array of real numbers only (no str, None or pandas.NA among them)."""
    try:
        arr = np.asarray(values)
    except (TypeError, ValueError):
        return False
    return (arr.dtype == object and arr.ndim == 1
            and all(isinstance(v, numbers.Real) for v in arr.tolist()))


def check_sample_weight(sample_weight, n_samples: int, *, owner: str, per: str = "document",
                        hint: str = "") -> np.ndarray:
    """``sample_weight`` as a float64 copy of shape (n_samples,), checked as scikit-learn checks it.

    scikit-learn's ``_check_sample_weight`` (a scalar is broadcast; a wrong
    shape, NaN/inf, negative and all-zero weights are refused with messages
    that name ``sample_weight``), after a check that the weights are numbers:
    strings (groups or labels passed in their place) are refused naming the
    estimator.

    Parameters
    ----------
    sample_weight : float or array-like of shape (n_samples,)
    n_samples : int
    owner : str
        The estimator's class name, for the message.
    per : str, default="document"
        What one weight is for, for the message.
    hint : str, default=""
        A sentence added to the message of weights that are not numbers.

    Returns
    -------
    ndarray of shape (n_samples,)
    """
    from sklearn.utils.validation import _check_sample_weight

    if not isinstance(sample_weight, numbers.Number) and _numbers_in_objects(sample_weight):
        # numbers in an object array (a column of a mixed DataFrame's to_numpy(), e.g. df.to_numpy()[:, 1]):
        # weights, as scikit-learn's own check reads them
        sample_weight = np.asarray(sample_weight).astype(np.float64)
    if not isinstance(sample_weight, numbers.Number) and np.asarray(sample_weight).dtype.kind not in "biuf":
        raise ValueError(
            f"sample_weight of {owner} must be numbers, one non-negative weight per {per}; got an array of dtype "
            f"{np.asarray(sample_weight).dtype}.{' ' + hint if hint else ''}"
        )
    weights = _check_sample_weight(sample_weight, np.empty((n_samples, 0)), dtype=np.float64,
                                   ensure_non_negative=True, copy=True, allow_all_zero_weights=True)
    if n_samples and not weights.any():  # scikit-learn's "Sample weights must contain at least one non-zero number"
        raise ValueError(f"sample_weight of {owner} is zero for every {per}: nothing would be learned. Give at least "
                         f"one {per} a positive weight, or pass sample_weight=None to weigh them all alike.")
    return weights


def check_class_weight_values(class_weight, *, owner: str) -> None:
    """Refuse a ``class_weight`` dict whose weights are not finite numbers >= 0, naming ``class_weight``.

    A negative weight turned the class's loss into a gain (Keras trained
    away from that class, silently), NaN made the loss NaN; scikit-learn's
    own check, where there is one, named ``sample_weight``, which the user
    had not given. The wording of :class:`~toolkit.models.StackedTextClassifier`'s.
    """
    if not isinstance(class_weight, Mapping):
        return
    bad = {k: v for k, v in class_weight.items() if not (isinstance(v, numbers.Real) and not isinstance(v, bool)
                                                         and math.isfinite(v) and v >= 0)}
    if bad:
        raise ValueError(f"The 'class_weight' parameter of {owner} must map classes to finite weights >= 0. Got "
                         f"{bad!r} instead.")


def one_hot_columns(y) -> int | None:
    """The number of columns of ``y`` if it is one-hot (2-D, at least 2 columns of 0/1, one 1 per row), else None.

    What Keras' ``to_categorical`` makes of class indices: scikit-learn reads
    it as a multilabel indicator matrix, which it is only in form.
    """
    shape = getattr(y, "shape", None)
    if shape is None or len(shape) != 2 or shape[1] < 2 or shape[0] == 0 or hasattr(y, "tocsr"):
        return None
    try:
        arr = np.asarray(y)
        if arr.dtype.kind not in "biuf" or not np.isin(arr, (0, 1)).all():
            return None
    except (TypeError, ValueError):
        return None
    return int(shape[1]) if (arr.sum(axis=1) == 1).all() else None


def _refuse_one_hot(y, owner) -> None:
    """Raise the ValueError of :func:`check_single_target` for a one-hot ``y``: it names ``argmax``."""
    if one_hot_columns(y) is not None:
        raise ValueError(
            f"{owner} takes one label per document (y of shape (n_samples,)), but got a one-hot y of shape "
            f"{tuple(int(n) for n in y.shape)} (one 1 per row, as Keras' to_categorical makes). Pass each "
            "document's class instead: np.asarray(y).argmax(axis=1), or the labels themselves."
        )


def check_single_target(y, *, owner: str, hint: str | None = None, values: bool = True) -> None:
    """Refuse several labels per sample (a 2-D ``y``, or lists of labels) with an error that names the wrappers.

    scikit-learn's own messages ("y should be a 1d array", "Supported target
    types are: ('binary', 'multiclass')", numpy's "inhomogeneous shape" for
    lists of labels of different lengths) name neither the problem nor the
    fix; a toolkit classifier that takes one label per document calls this
    before converting ``y``. A 2-D ``y`` of one column passes (the estimator
    flattens it, with scikit-learn's ``DataConversionWarning``).

    Parameters
    ----------
    y : array-like, sparse matrix or None
        The target as the user gave it.
    owner : str
        The estimator's class name, for the message.
    hint : str or None, default=None
        What to do instead, when the default (the three scikit-learn
        wrappers) does not fit the estimator.
    values : bool, default=True
        Also refuse missing labels and labels mixing text and numbers (an
        object ``y``, or its one column); False where ``y`` holds markers
        of its own (the unlabelled ``-1`` of semi-supervised learning).
        With True, :func:`check_class_target` need not check them again
        (its ``values=False``).

    Raises
    ------
    ValueError
        For a ``y`` with more than one column, or whose elements are lists,
        tuples, sets or arrays of labels.
    """
    if y is None:
        return
    shape = getattr(y, "shape", None)  # a sparse indicator matrix (MultiLabelBinarizer(sparse_output=True)) too
    if shape is not None and len(shape) == 2:
        if shape[1] == 1:
            if values and not hasattr(y, "tocsr"):  # (a sparse column holds numbers)
                # the column, as it is flattened later (df[["label"]]: a Series of its dtype)
                _check_label_values(y.iloc[:, 0] if hasattr(y, "iloc") else np.asarray(y)[:, 0], owner)
            return
        _refuse_one_hot(y, owner)
        what = f"a 2-D y of shape {tuple(int(n) for n in shape)} (one column per label or output)"
    else:
        try:
            arr = np.asarray(y)
        except ValueError:  # lists of labels of different lengths: numpy's "inhomogeneous shape"
            arr = np.empty(len(y), dtype=object)
            arr[:] = list(y)
        if arr.ndim == 1 and values:
            _check_label_values(y, owner)  # missing labels, text mixed with numbers: named before any conversion
        elif arr.ndim == 2 and arr.shape[1] == 1 and values:  # lists of one label: their labels, as flattened
            _check_label_values(arr[:, 0], owner)
        if arr.ndim == 2 and arr.shape[1] != 1:
            _refuse_one_hot(arr, owner)
            what = f"a 2-D y of shape {arr.shape} (one column per label or output, or lists of labels of one length)"
        elif (first := _first_label_list(arr)) is not None:
            label = arr[first]
            shown = [plain_label(v) for v in (sorted(label, key=repr) if isinstance(label, (set, frozenset))
                                               else np.ravel(label).tolist() if isinstance(label, np.ndarray) else label)]
            what = f"lists of labels (the first at index {first}: {shown!r})"
        else:
            return
    if hint is None:
        hint = (f"wrap it (or the pipeline it ends): OneVsRestClassifier({owner}(...)) fits one model per column of "
                f"a 0/1 indicator matrix, MultiOutputClassifier({owner}(...)) or ClassifierChain one per output column "
                "of any classes")
    raise ValueError(
        f"{owner} takes one label per document (y of shape (n_samples,)), but got {what}. For several labels per "
        f"document, {hint}. sklearn.preprocessing.MultiLabelBinarizer turns lists of labels into an indicator matrix."
    )


#: What to do with a numeric target instead of fitting a classifier to it, for :func:`check_class_target` and the
#: CLI's refusal of a score column.
REGRESSION_HINT = (
    "For a numeric target (a score, stars as numbers), fit a regressor on the toolkit's features, e.g. "
    "make_pipeline(SpacyTokenizer(), BagEncoder(), Ridge()) with sklearn.linear_model.Ridge "
    "(EmbeddingVectorizer(vectors=...) in place of BagEncoder for pooled word vectors); to predict classes, "
    "bin y first: np.rint(y).astype(int) for whole numbers, np.digitize(y, bins) for ranges."
)


def check_class_target(y, *, owner: str, values: bool = True) -> None:
    """Refuse a continuous ``y`` (floats with a fractional part) given to a classifier, naming what to do instead.

    Also for the estimators that learn per-class statistics (``NBFeatureScaler``).

    scikit-learn's ``check_classification_targets`` says "Unknown label type:
    continuous"; a float target given to a toolkit classifier is nearly
    always a score (stars, a 0.0-1.0 column) that wants a regressor on the
    toolkit's features, or bins. Integer-valued floats (``1.0``/``0.0``)
    are classes and pass. Other targets go to scikit-learn's check.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        The target, already checked by :func:`check_single_target`.
    owner : str
        The estimator's class name, for the message.
    values : bool, default=True
        Also refuse missing labels and labels mixing text and numbers;
        False where :func:`check_single_target` (``values=True``) checked
        ``y`` as given already: once per fit.

    Raises
    ------
    ValueError
        For a continuous ``y``, and what ``check_classification_targets`` raises.

    Examples
    --------
    >>> check_class_target([0.0, 1.0, 1.0], owner="NBSVMClassifier")
    >>> check_class_target([0.25, 0.5, 0.75], owner="NBSVMClassifier")
    Traceback (most recent call last):
    ...
    ValueError: Unknown label type: 'continuous'. NBSVMClassifier learns classes, but y holds continuous values (a fractional part, e.g. 0.25; 3 distinct values in 3 samples): it would learn one class per value. For a numeric target ...
    """
    from sklearn.utils.multiclass import check_classification_targets, type_of_target

    if values:
        _check_label_values(y, owner)  # (as given, or as validate_data converted it)
    if type_of_target(y, input_name="y") in ("continuous", "continuous-multioutput"):
        values = np.asarray(y).ravel().astype(float)
        fractional = values[np.isfinite(values) & (values != np.round(values))]
        example = fractional[0].item() if fractional.size else values[0].item()
        raise ValueError(
            f"Unknown label type: 'continuous'. {owner} learns classes, but y holds continuous values (a "
            f"fractional part, e.g. {example:.6g}; {np.unique(values).size} distinct values in {values.size} "
            f"samples): it would learn one class per value. {REGRESSION_HINT}"
        )
    check_classification_targets(y)


def _check_label_values(y, owner: str) -> None:
    """Refuse labels that are missing (None, NaN, ``pd.NA``) or (of an object ``y``) mix text and numbers.

    scikit-learn said "Unknown label type: unknown ... a regression target"
    (or numpy "'<' not supported between 'NoneType' and 'str'"), or took a
    NaN label as one more class, without a word; of a float or a pandas
    nullable (``Int64``) ``y``, "Input y contains NaN.", naming neither the
    place nor the fix.
    """
    if y is None or isinstance(y, (str, bytes)) or getattr(y, "ndim", 1) != 1:
        return
    dtype = getattr(y, "dtype", None)
    if isinstance(dtype, np.dtype) and dtype.kind == "f":  # scikit-learn's "Input y contains NaN." said not where
        missing = np.flatnonzero(np.isnan(np.asarray(y))).tolist()
    elif isinstance(dtype, np.dtype) and dtype.kind != "O":
        return  # numbers, booleans or fixed-width strings: nothing missing
    else:
        # (a pandas Int64, boolean or string column's pd.NA: scikit-learn's "Input y contains NaN.", if anything)
        try:
            flat = list(y.to_numpy(dtype=object) if hasattr(y, "to_numpy") else y)
        except TypeError:
            return
        # a list's NaN among strings became the class "nan" (np.asarray made every label a str)
        missing = [i for i, v in enumerate(flat) if is_missing(v)]
    if missing:
        raise ValueError(
            f"y has {len(missing)} missing label(s) (None or NaN), the first at index {missing[0]}. {owner} learns "
            "one class per label: fill them in, or drop those documents and their rows of X (e.g. "
            "df.dropna(subset=[label_column]))."
        )
    if dtype is None or isinstance(dtype, np.dtype) and dtype.kind != "O":
        return  # a list: np.asarray makes its labels one type (1 and "1" one class); numbers: one kind
    kinds = {"text" if isinstance(v, str) else "numbers" if isinstance(v, numbers.Number) else type(v).__name__
             for v in flat}
    if kinds == {"text", "numbers"}:  # (lists of labels: check_single_target's message)
        raise ValueError(
            f"y mixes label types ({' and '.join(sorted(kinds))}): 1 and '1' would be two classes. Give labels of "
            "one type, e.g. y.astype(str) (or toolkit.data's readers, which make a number one class however written)."
        )


def is_missing(doc) -> bool:
    """Whether a document (or label) is a missing value: None, a float NaN (numpy's too) or pandas' ``NA``.

    Parameters
    ----------
    doc : object
        One element of the input.

    Returns
    -------
    bool
    """
    if doc is None or (isinstance(doc, (float, np.floating)) and math.isnan(doc)):
        return True
    pandas = sys.modules.get("pandas")
    return pandas is not None and doc is pandas.NA


def refuse_tensorflow_input(X, owner: str, *, tokens: bool = False) -> None:
    """Refuse a ``tf.data.Dataset`` or a TensorFlow tensor as ``X``, saying how to get texts out of it.

    Keras' text chapter reads a folder with ``keras.utils.text_dataset_from_directory``
    and fits on the dataset; given one, ``fit(ds)`` said that y was missing
    and ``fit(ds, y)`` that document 0 was a tuple or a tensor; a tensor of
    strings raised "Cannot iterate over a scalar tensor". TensorFlow is not
    imported to check.

    Parameters
    ----------
    X : object
        The input.
    owner : str
        The estimator or function named in the message.
    tokens : bool, default=False
        ``owner`` takes token lists (an ``EmbeddingClassifier``), not raw texts.

    Raises
    ------
    ValueError
        For a dataset or a tensor.
    """
    if not (type(X).__module__ or "").startswith("tensorflow"):
        return
    kind = type(X).__name__
    then = (" then fit toolkit.make_text_classifier() on the raw texts (or this estimator on their token lists)."
            if tokens else "")
    if hasattr(X, "element_spec"):  # a tf.data.Dataset (of batches of (texts, labels), in Keras' chapter)
        raise ValueError(
            f"{owner} takes the documents X and the labels y apart, as scikit-learn does, not a tf.data.Dataset "
            f"({kind}, as keras.utils.text_dataset_from_directory makes). Read a class-per-folder tree with "
            "toolkit.data.load_folder(path) (texts and labels), or take them out of the dataset: pairs = "
            "list(ds.unbatch().as_numpy_iterator()); texts = [t.decode() for t, _ in pairs]; y = [label for _, "
            f"label in pairs];{then}"
        )
    if tokens:
        raise ValueError(
            f"{owner} expects token lists (lists of str) for X, not a TensorFlow tensor ({kind}). Convert it first: "
            "texts = [t.decode() for t in tensor.numpy()] for a tensor of strings, then tokenize them "
            "(toolkit.make_text_classifier() takes the raw texts); .to_list() of a RaggedTensor of token strings "
            "gives lists of bytes to decode."
        )
    raise ValueError(
        f"{owner} expects raw text documents (str), not a TensorFlow tensor ({kind}). Convert it first: "
        "texts = [t.decode() for t in tensor.numpy()]."
    )


def missing_mask(y):
    """Which elements of the 1-D array ``y`` are missing (:func:`is_missing`), or None for a dtype that holds none.

    Parameters
    ----------
    y : ndarray of shape (n_samples,)

    Returns
    -------
    ndarray of bool or None
        None for integer, bool and string arrays, which cannot hold a missing value.
    """
    if y.dtype.kind == "f":
        return np.isnan(y)
    if y.dtype == object:
        return np.fromiter((is_missing(v) for v in y), dtype=bool, count=y.shape[0])
    return None


class _NoTableOutputMixin:
    """``set_output`` accepted and ignored, for steps whose output is never a table."""

    def set_output(self, *, transform=None):
        """Accepted and ignored: the output (token lists, a sparse matrix) is never a table.

        Parameters
        ----------
        transform : {"default", "pandas", "polars"} or None, default=None
            Ignored.

        Returns
        -------
        self
        """
        return self


class TokenOutputMixin(_NoTableOutputMixin):
    """For steps whose output is token lists (a TokenizedCorpus), never a table.

    ``get_feature_names_out`` passes ``input_features`` through and
    ``set_output`` is accepted and ignored, so that a ``Pipeline``'s
    ``get_feature_names_out()`` and ``set_output(transform="pandas")`` reach
    the encoders after such a step. Classes using it also pass
    ``auto_wrap_output_keys=None``, so a global ``transform_output="pandas"``
    leaves their output a TokenizedCorpus.
    """

    def get_feature_names_out(self, input_features=None):
        """Token lists have no feature names: returns ``input_features`` as given.

        ``pipe[:-1].get_feature_names_out()`` of ``make_pipeline(SpacyTokenizer(),
        BagEncoder(), LogisticRegression())`` then names the columns the
        classifier weighs.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Returned unchanged.

        Returns
        -------
        array-like of str or None
            ``input_features``.
        """
        return input_features


class SparseOutputMixin(_NoTableOutputMixin):
    """For transformers whose output is always a sparse matrix (bags of tokens).

    Pandas and polars containers do not hold sparse matrices, so the output
    is never wrapped, as scikit-learn's ``CountVectorizer`` and
    ``TfidfVectorizer`` leave theirs: a global ``transform_output="pandas"``
    (set for tabular steps) and ``Pipeline.set_output`` leave a text
    pipeline working. Classes using it also pass
    ``auto_wrap_output_keys=None``.
    """


class TextInputMixin:
    """Declares 1-D text input (raw strings or token lists) to scikit-learn."""

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.two_d_array = False
        return tags
