"""Predict over Dask collections: a fitted estimator mapped over partitions, lazily.

The shape is dask-ml's ``ParallelPostFit``: ``map_partitions`` with ``meta``,
the estimator shipped once to the graph (one key, not one copy per
partition) and applied to each partition where it lives. It travels as pickle
bytes (:class:`_Shipped`), rebuilt once per worker process that predicts: the
distributed scheduler, which unpickles the graphs it receives, never rebuilds
it (for an EmbeddingClassifier: never imports TensorFlow nor loads its model).
A bag gives a bag, a Dask Series gives a Dask Series (``predict``) or DataFrame
(``predict_proba``, one column per class), a Dask DataFrame needs the text
column named.
"""

from __future__ import annotations

import os
import threading
import uuid

import numpy as np

from .partitions import require_dask

__all__ = ["predict", "predict_proba"]

_METHODS = ("predict", "predict_proba", "decision_function")


def _classes(estimator):
    classes = getattr(estimator, "classes_", None)
    if classes is None and hasattr(estimator, "steps"):
        classes = getattr(estimator.steps[-1][1], "classes_", None)
    return classes


def _multilabel(estimator):
    """Whether ``predict`` gives a 0/1 indicator matrix (an EmbeddingClassifier fitted on multilabel targets)."""
    final = estimator.steps[-1][1] if hasattr(estimator, "steps") else estimator
    return getattr(final, "output_", None) == "multilabel"


class _Shipped:
    """A fitted estimator in a Dask graph as pickle bytes, unpickled where a task first uses it.

    Distributed's scheduler unpickles every graph it receives: the estimator
    as a plain literal of the graph was rebuilt in the scheduler's process
    (an EmbeddingClassifier's ``__setstate__`` imports TensorFlow and loads
    the Keras model there) and kept in its memory with the graph. This holds
    bytes until :meth:`get`, so the scheduler unpickles bytes only; a worker
    rebuilds the estimator once (its tasks share the object), and a copy for
    another worker travels as the same bytes, not pickled again. On a local
    scheduler nothing is pickled: :meth:`get` gives the object itself. The
    client's copy is pickled anew at each compute (as a literal of the graph
    was), so a lazy result computed after a refit predicts with the refitted
    estimator on a cluster as on a local scheduler.
    """

    def __init__(self, estimator):
        self._estimator, self._payload, self._lock = estimator, None, threading.Lock()

    def __getstate__(self):
        if self._payload is not None:  # a received copy: its bytes, as they came
            return {"payload": self._payload}
        import cloudpickle  # as Dask pickles graphs: estimators of __main__ or of a notebook too

        return {"payload": cloudpickle.dumps(self._estimator)}

    def __setstate__(self, state):
        self._estimator, self._payload, self._lock = None, state["payload"], threading.Lock()

    def get(self):
        """The estimator, unpickled on first use in this process (once, whatever the threads)."""
        with self._lock:
            if self._estimator is None:
                import pickle

                self._estimator = pickle.loads(self._payload)  # the client's own estimator: trusted
            return self._estimator


def _named(err, part, position, where, hint=""):
    """``err`` (a bad document, named "Document N of X" by the estimator, X being one partition) named by its
    partition and its place there, which find it in the user's collection; ``hint`` (what to do) appended."""
    from .store import _PartitionDocumentError

    subject = f"Document {position} of partition {part} of the {where}"
    return _PartitionDocumentError(err.naming(subject) + hint, document_index=position, partition=part)


def _bag_hint(item) -> str:
    """What to do when a bag's element is a ``(text, label)`` pair or a record rather than a text."""
    if isinstance(item, tuple) and len(item) == 2:
        return (" The bag holds (text, label) pairs, as read_texts(..., label_column=...) gives them: predict the "
                "texts alone, e.g. predict(model, bag.pluck(0)), or read the files without label_column.")
    if isinstance(item, dict):
        return (f" The bag holds records (keys {sorted(map(str, item))[:10]}): name the text key, e.g. "
                "predict(model, bag, text_column='text').")
    return ""


def _apply_bag(items, shipped, method, part=(None,)):
    from ..exceptions import DocumentError

    items, part = list(items), next(iter(part))  # part: [the partition's number]
    if not items:
        return []
    try:
        return np.asarray(getattr(shipped.get(), method)(items)).tolist()
    except DocumentError as err:
        if err.document_index is None or part is None:
            raise
        position = err.document_index
        hint = _bag_hint(items[position]) if 0 <= position < len(items) else ""
        raise _named(err, part, position, "bag", hint) from err


def _apply_series(series, shipped, method, columns, dtype="float64", partition_info=None):
    import pandas as pd

    from .._validation import plain_label
    from ..exceptions import DocumentError

    if len(series) == 0:
        out = np.zeros((0, len(columns)) if columns is not None else 0, dtype=dtype)
    else:
        try:
            out = np.asarray(getattr(shipped.get(), method)(series.tolist()))
        except DocumentError as err:
            position = err.document_index
            if position is None or partition_info is None or not 0 <= position < len(series):
                raise
            where = f"Dask Series (index label {plain_label(series.index[position])!r})"
            raise _named(err, partition_info["number"], position, where) from err
    if columns is not None and out.ndim == 2:
        return pd.DataFrame(out, index=series.index, columns=columns)
    return pd.Series(out, index=series.index, name=method)


def _map(estimator, X, method, text_column=None):
    db = require_dask()
    import dask
    import dask.dataframe as dd
    import pandas as pd
    from sklearn.utils.validation import check_is_fitted

    if method not in _METHODS:
        raise ValueError(f"method must be one of {_METHODS}; got {method!r}.")
    if isinstance(estimator, (str, os.PathLike)):  # scikit-learn's "is not an estimator instance" said no more
        raise TypeError(f"{method} over Dask takes a fitted estimator; got the path {str(estimator)!r}. Load the "
                        f"model folder first: {method}(toolkit.load_model(path), X) ships it to the workers once.")
    check_is_fitted(estimator.steps[-1][1] if hasattr(estimator, "steps") else estimator)
    # now, not on a worker at compute: a pipeline whose classifier has no predict_proba (NBSVMClassifier's
    # default hinge loss) says why here; a worker's error lost that cause on its way back to the client
    getattr(estimator, method)
    shipped = dask.delayed(_Shipped(estimator), name=f"estimator-{uuid.uuid4().hex}")
    # the tasks' name: a partition that kills every worker that predicts it (over its memory limit) fails the
    # compute with Dask's KilledWorker, which names the task, e.g. ('toolkit-predict_proba-<token>', 3)
    token = f"toolkit-{method}"
    if isinstance(X, db.Bag):
        if text_column is not None:  # a bag of records (JSON objects): their texts, as read_texts picks them
            from .partitions import read_texts

            X = read_texts(X, text_column=text_column)
        numbers = db.range(X.npartitions, npartitions=X.npartitions)  # [i] in partition i: names a bad document
        return X.map_partitions(_apply_bag, shipped, method, numbers, token=token)
    if isinstance(X, dd.DataFrame):
        if text_column is None or text_column not in X.columns:
            raise ValueError(
                f"Predicting over a Dask DataFrame needs text_column=<one of {list(X.columns)}>; got {text_column!r}."
            )
        X = X[text_column]
    if isinstance(X, dd.Series):
        classes = _classes(estimator)
        if method == "predict" and _multilabel(estimator):  # one 0/1 column per label, as predict_proba's
            columns = [str(c) for c in classes]
            meta = pd.DataFrame({c: np.zeros(0, dtype="int64") for c in columns})
            return X.map_partitions(_apply_series, shipped, method, columns, "int64", meta=meta, token=token)
        if method == "predict":
            dtype = classes.dtype if classes is not None else "float64"
            meta = pd.Series(np.zeros(0, dtype=dtype), name=method)
            return X.map_partitions(_apply_series, shipped, method, None, meta=meta, token=token)
        columns = [str(c) for c in classes] if classes is not None and method == "predict_proba" else None
        if columns is None:  # decision_function: one column (binary) or one per class
            meta = pd.Series(np.zeros(0, dtype="float64"), name=method)
        else:
            meta = pd.DataFrame({c: np.zeros(0, dtype="float64") for c in columns})
        return X.map_partitions(_apply_series, shipped, method, columns, meta=meta, token=token)
    raise TypeError(
        f"predict over Dask expects a dask.bag.Bag, a dask.dataframe Series or DataFrame; got {type(X).__name__}. "
        "For in-memory data call the estimator's own predict."
    )


def predict(estimator, X, *, text_column=None):
    """Lazily predict over a Dask collection with a fitted estimator; returns a Dask collection.

    Parameters
    ----------
    estimator : fitted estimator or Pipeline
        Shipped once to the workers (a Keras model pickles as ``.keras``
        bytes); each partition is predicted where it lives.
    X : dask.bag.Bag, dask.dataframe.Series or DataFrame
        Raw texts (for a ``make_text_classifier`` pipeline) or token lists
        (for an ``EmbeddingClassifier``), one per element / row; or a bag
        of records with ``text_column``. A bag of ``(text, label)`` pairs
        (``read_texts`` with ``label_column``) is refused with what to do:
        predict ``bag.pluck(0)``.
    text_column : str, optional
        The column to read when ``X`` is a DataFrame, or the key to read
        when ``X`` is a bag of records (dicts, e.g. parsed JSON lines).

    Returns
    -------
    dask.bag.Bag or dask.dataframe.Series
        One label per document, same partitions (and index) as ``X``. For an
        estimator fitted on a multilabel indicator matrix: a bag of 0/1 rows,
        or a Dask DataFrame with one 0/1 column per label (named
        ``str(label)``).

    Raises
    ------
    AttributeError
        At once, when the estimator has no such method (a pipeline whose
        classifier gives no probabilities), with the estimator's reason.
    DocumentError
        On compute, for a document the estimator refuses (None/NaN, bytes,
        too long): "Document 7 of partition 1 of the bag ..." (of a Dask
        Series: and its index label), i.e. ``X.to_delayed()[1].compute()[7]``,
        not its place in the partition alone ("Document 7 of X").

    Notes
    -----
    A worker that dies while predicting (killed, crashed) loses nothing:
    Dask predicts its partitions again on the other workers. A partition
    that kills every worker that predicts it (e.g. over their memory limit)
    fails the compute after ``distributed.scheduler.allowed-failures``
    deaths with Dask's ``KilledWorker``, which names the task
    ``('toolkit-predict-<token>', <partition>)``: give the workers more
    memory, or the collection smaller partitions.

    Token lists travel best in a bag: Dask's ``from_pandas`` turns a column
    of lists into strings unless ``dask.config.set({"dataframe.convert-string":
    False})`` is in effect when the collection is made.

    Examples
    --------
    >>> import dask.bag as db
    >>> from toolkit.distributed import predict
    >>> from toolkit.models import EmbeddingClassifier
    >>> clf = EmbeddingClassifier(embedding_dim=4, epochs=1, random_state=0)
    >>> clf = clf.fit([["good"], ["bad"]] * 10, ["pos", "neg"] * 10)
    >>> labels = predict(clf, db.from_sequence([["good"], ["bad"], ["good"]], npartitions=2))
    >>> len(labels.compute())
    3
    """
    return _map(estimator, X, "predict", text_column)


def predict_proba(estimator, X, *, text_column=None):
    """Lazily compute class probabilities over a Dask collection (see :func:`predict`).

    Parameters
    ----------
    estimator : fitted estimator or Pipeline
        With ``predict_proba``; shipped once to the workers.
    X : dask.bag.Bag, dask.dataframe.Series or DataFrame
        As in :func:`predict`.
    text_column : str, optional
        The column to read when ``X`` is a DataFrame, or the key to read
        when ``X`` is a bag of records (dicts, e.g. parsed JSON lines).

    Returns
    -------
    dask.bag.Bag or dask.dataframe.DataFrame
        A bag of probability rows, or a DataFrame with one column per class
        (named ``str(class)``).
    """
    return _map(estimator, X, "predict_proba", text_column)
