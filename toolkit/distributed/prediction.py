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

The estimator is pickled anew at each compute (a lazy result follows a
refit). For a large model computed many times, ``client.scatter(model)``
sends it to the cluster once: given that ``distributed.Future`` instead of
the model, the tasks name its key and the graph holds no copy.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import uuid
from pathlib import Path

import numpy as np

from .partitions import require_dask

__all__ = ["predict", "predict_proba", "write_predictions"]

_METHODS = ("predict", "predict_proba", "decision_function")

logger = logging.getLogger(__name__)

#: The file that makes a folder one :func:`write_predictions` wrote (and may replace)
_MANIFEST = "predictions.json"
_FORMAT = "toolkit.predictions"


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


def _estimator_of(shipped):
    """In a task: the estimator a :class:`_Shipped` holds, or the one a scattered Future gave (the object itself)."""
    return shipped.get() if isinstance(shipped, _Shipped) else shipped


class _ScatteredRef:
    """A scattered estimator's Future as the argument of the graph's task of the same key (:func:`_scattered_node`).

    In the client's process it holds the Future itself (which keeps the estimator on the cluster while the lazy
    result lives); a pickled copy (a worker's, or a process of ``scheduler="processes"``) holds only the key and
    the address of the cluster's scheduler: a Future unpickled in the distributed scheduler's process would look
    for a Client there.
    """

    def __init__(self, future):
        self.future, self.key, self.address = future, future.key, future.client.scheduler.address

    def __getstate__(self):
        status = None if self.future is None else self.future.client.status
        return {"key": self.key, "address": self.address, "status": status}

    def __setstate__(self, state):
        self.future, self.key, self.address = None, state["key"], state["address"]
        self.status = state.get("status")


def _fetch_scattered(ref):
    """The task of a scattered estimator's key, run only where that key holds no data.

    On the Future's cluster the key is in memory and this never runs: the tasks that predict read the scattered
    estimator. A local scheduler (``compute(scheduler="threads")``, or no Client current) runs it: it fetches the
    estimator from the Future's cluster, once per compute. On a cluster's worker it runs when the data are gone
    (every worker that held them left) or the cluster is another one: a clear error instead of Dask's "lost
    dependencies" / "Missing dependency"."""
    how = "scatter the estimator again with a Client of the cluster that computes (client.scatter(model)), or pass " \
          "the estimator itself"
    try:
        from distributed import get_worker

        worker = get_worker()
    except (ImportError, ValueError):  # not in a worker: a local scheduler
        worker = None
    if worker is not None:
        here = worker.scheduler.address
        if here == ref.address:
            raise ValueError(f"The estimator scattered as {ref.key!r} was lost: every worker of the Dask cluster at "
                             f"{here} that held it left (died, or was retired): {how}.")
        raise ValueError(f"The estimator scattered as {ref.key!r} is held by the Dask cluster at {ref.address}, but "
                         f"the cluster at {here} computes the predictions: one cluster's tasks cannot read another's "
                         f"data: {how}.")
    status = ref.future.client.status if ref.future is not None else getattr(ref, "status", None)
    if status not in (None, "running"):
        raise ValueError(f"The estimator scattered as {ref.key!r} cannot be fetched for a compute on a local "
                         f"scheduler: the Future's Client (to {ref.address}) is {status}: {how}.")
    if ref.future is not None:  # the client's process (threads or sync scheduler): its own Future
        return ref.future.result()
    raise ValueError(f"The estimator scattered as {ref.key!r} (on the Dask cluster at {ref.address}) cannot be read "
                     "by a process of Dask's local 'processes' scheduler (a bag's default when no Client is "
                     "current): compute inside `with Client(...)` of that cluster (or .compute(scheduler=client)), "
                     "with scheduler='threads' (which fetches the estimator once), or pass the estimator itself.")


def _scattered_node(future):
    """The lazy estimator for the tasks that predict with a scattered ``future``: a Delayed of its key whose task
    (:func:`_fetch_scattered`) a local scheduler runs to fetch the estimator; on the Future's cluster that key is
    in memory and the tasks read it where it lives (the graph holds no copy)."""
    from dask.delayed import Delayed

    return Delayed(future.key, {future.key: (_fetch_scattered, _ScatteredRef(future))})


def _future_of_node(shipped):
    """The scattered Future of a :func:`_scattered_node`, or None for anything else."""
    from dask.delayed import Delayed

    if not isinstance(shipped, Delayed):
        return None
    task = dict(shipped.dask).get(shipped.key)
    ref = task[1] if isinstance(task, tuple) and len(task) == 2 and task[0] is _fetch_scattered else None
    return getattr(ref, "future", None)


def _without_dependencies(client, key) -> bool:
    """Whether the cluster's task of ``key`` has no dependencies (scattered data, or a ``client.submit`` of plain
    values): the graph may then name a task of that key (:func:`_scattered_node`) without the scheduler seeing two
    different tasks of one key (its "Detected different `run_spec`" warning)."""

    def check(key, dask_scheduler=None):  # nested: pickled by value, the scheduler needs no toolkit
        task = dask_scheduler.tasks.get(key)
        return task is not None and not task.dependencies

    try:
        return bool(client.run_on_scheduler(check, key))
    except Exception:  # unknown: the Future stays a plain dependency, as before
        logger.debug("could not ask the scheduler about the task of %r", key, exc_info=True)
        return False


def _is_future(obj) -> bool:
    """Whether ``obj`` is a ``distributed.Future`` (e.g. of ``client.scatter(estimator)``)."""
    try:
        from distributed import Future
    except ImportError:  # pragma: no cover - the [dask] extra installs distributed
        return False
    return isinstance(obj, Future)


def _describe(estimator, method) -> dict:
    """Runs where a scattered estimator lives: what :func:`_plan` checks of it (fitted, has ``method``) and needs
    (its classes, whether ``predict`` gives a multilabel matrix), or why it cannot predict, as plain data: a
    worker's exception lost its cause (the reason a pipeline has no ``predict_proba``) on its way back."""
    from sklearn.utils.validation import check_is_fitted

    kind = f"{type(estimator).__module__}.{type(estimator).__qualname__}"
    try:
        check_is_fitted(estimator.steps[-1][1] if hasattr(estimator, "steps") else estimator)
        getattr(estimator, method)
    except (TypeError, ValueError, AttributeError) as err:  # NotFittedError too; said in the client by _scattered
        cause = "" if err.__cause__ is None else f" ({err.__cause__})"
        return {"type": kind, "error": type(err).__name__, "message": f"{err}{cause}"}
    classes = _classes(estimator)
    return {"type": kind, "error": None, "classes": None if classes is None else np.asarray(classes),
            "multilabel": _multilabel(estimator)}


def _scattered(future, method) -> dict:
    """:func:`_describe` of the estimator a Future holds, run on its cluster; a clear error when the Future cannot
    serve: its client closed, its data lost or failed, another cluster's than the current client's, or not a
    fitted estimator with ``method``."""
    from sklearn.exceptions import NotFittedError

    from .search import _current_client

    client, key = future.client, future.key
    how = "client.scatter(model) with an open Client of the cluster that computes the predictions"
    if client.status != "running" or client.scheduler is None:
        raise ValueError(f"{method} got a Future of the estimator (key {key!r}) whose Client is {client.status}: "
                         f"scatter the estimator again, {how}.")
    if future.status == "error":  # e.g. of client.submit(load_model, path): the error that made it, as it is
        future.result()
    if future.status in ("cancelled", "lost"):
        raise ValueError(f"{method} got a Future of the estimator (key {key!r}) whose status is {future.status!r}: "
                         f"it holds no estimator any more (released, or its worker died). Scatter it again, {how}.")
    current, address = _current_client(), client.scheduler.address
    if current is not None and current.scheduler.address != address:
        raise ValueError(f"{method} got a Future of the estimator held by the Dask cluster at {address}, but the "
                         f"current Client is to {current.scheduler.address}: one cluster's tasks cannot read "
                         f"another's data. Scatter the estimator with the current Client (current.scatter(model)), "
                         f"or compute with a Client of {address}.")
    described = client.submit(_describe, future, method, pure=False).result()
    error = described["error"]
    if error is None:
        return described
    if error == "NotFittedError":
        raise NotFittedError(f"The estimator of the Future {key!r} is not fitted: {described['message']} Fit it "
                             "before scattering it.")
    if error == "AttributeError":  # e.g. a pipeline whose classifier gives no probabilities
        raise AttributeError(f"The estimator of the Future {key!r} ({described['type']}): {described['message']}")
    raise TypeError(f"{method} over Dask takes a fitted estimator, or a Future of one (client.scatter(model)); "
                    f"got a Future of a {described['type']} ({described['message']}).")


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


def _empty_notes():
    """The classifier's context in which its documents without tokens are noted for us (count, first, class
    prior), not logged numbered "of X": :func:`_apply_bag` and :func:`_apply_series` log them naming the
    partition; :func:`write_predictions` counts them all in one warning, numbered in the whole input."""
    from ..models.classifier import _noting_empty_documents

    return _noting_empty_documents()


def _empty_summary(notes, n) -> dict | None:
    """The documents without tokens of one partition of ``n``, from the classifier's note(s) made there."""
    if not notes:
        return None
    note = notes[0]
    return {"count": int(note["count"]), "first": int(note["first"]), "prior": note["prior"], "n": n}


def _log_empty(empty, subject) -> None:
    """The classifier's warning for one partition's documents without tokens, naming the partition."""
    if empty is not None:
        label = f", index label {empty['label']!r}" if "label" in empty else ""
        logger.warning("%d of %d document(s) of %s have no tokens (first: its document %d%s); they get the class "
                       "prior %s.", empty["count"], empty["n"], subject, empty["first"], label, empty["prior"])


def _is_missing(item) -> bool:
    """Whether one element of a bag is a missing value (None, NaN, ``pd.NA``, ``pd.NaT``), not a document."""
    if item is None:
        return True
    if isinstance(item, (str, bytes, list, tuple, dict, np.ndarray)):
        return False
    import pandas as pd

    try:
        return bool(pd.isna(item))
    except (TypeError, ValueError):
        return False


def _apply_bag(items, shipped, method, part=(None,), empty=None):
    """One partition's predictions; ``empty`` (a list): its documents without tokens are appended there (not
    logged)."""
    from ..exceptions import DocumentError

    items, part = list(items), next(iter(part))  # part: [the partition's number]
    if not items:
        return []
    try:
        with _empty_notes() as notes:
            out = np.asarray(getattr(_estimator_of(shipped), method)(items)).tolist()
        summary = _empty_summary(notes, len(items))
        if empty is None:
            _log_empty(summary, "the bag" if part is None else f"partition {part} of the bag")
        elif summary is not None:
            empty.append(summary)
        return out
    except DocumentError as err:
        if err.document_index is None or part is None:
            raise
        position = err.document_index
        hint = _bag_hint(items[position]) if 0 <= position < len(items) else ""
        raise _named(err, part, position, "bag", hint) from err
    except Exception as err:
        # a scikit-learn pipeline given (text, label) pairs or records says only "'tuple' object has no attribute
        # 'lower'" (CountVectorizer): what the bag holds, and what to do, go with its error
        hint = _bag_hint(items[0])
        where = "the bag" if part is None else f"partition {part} of the bag"
        if hint:
            err.add_note(f"predict over {where} failed on its documents, which are not texts.{hint}")
        else:
            missing = [i for i, item in enumerate(items) if _is_missing(item)]
            if missing:  # as for a Series: "'NoneType' object has no attribute 'lower'" said no more
                err.add_note(f"predict over {where} failed: {len(missing)} of its {len(items)} document(s) are "
                             f"missing (None/NaN/NA; first: its document {missing[0]}). Drop them first, e.g. "
                             "bag.filter(lambda t: isinstance(t, str)).")
        raise


def _apply_series(series, shipped, method, columns, dtype="float64", partition_info=None, empty=None):
    """One partition's predictions; ``empty`` as for :func:`_apply_bag` (with the first one's index label)."""
    import pandas as pd

    from .._validation import plain_label
    from ..exceptions import DocumentError

    if len(series) == 0:
        out = np.zeros((0, len(columns)) if columns is not None else 0, dtype=dtype)
    else:
        try:
            with _empty_notes() as notes:
                out = np.asarray(getattr(_estimator_of(shipped), method)(series.tolist()))
            summary = _empty_summary(notes, len(series))
            if summary is not None and 0 <= summary["first"] < len(series):
                summary["label"] = plain_label(series.index[summary["first"]])
            if empty is None:
                part = None if partition_info is None else partition_info["number"]
                _log_empty(summary, "the Dask Series" if part is None else f"partition {part} of the Dask Series")
            elif summary is not None:
                empty.append(summary)
        except DocumentError as err:
            position = err.document_index
            if position is None or partition_info is None or not 0 <= position < len(series):
                raise
            where = f"Dask Series (index label {plain_label(series.index[position])!r})"
            raise _named(err, partition_info["number"], position, where) from err
        except Exception as err:
            # a scikit-learn pipeline given a missing text says only "'NAType' object has no attribute 'lower'"
            # (CountVectorizer): which row of which partition, and what to do, go with its error
            missing = np.flatnonzero(series.isna().to_numpy())
            if len(missing):
                part = "" if partition_info is None else f" of partition {partition_info['number']}"
                err.add_note(f"predict over the Dask Series failed: {len(missing)} of its {len(series)} document(s)"
                             f"{part} are missing (None/NaN/NA; first: index label "
                             f"{plain_label(series.index[missing[0]])!r}). Drop or fill them first, e.g. "
                             "ddf.dropna(subset=[text_column]) or series.fillna('').")
            raise
    if columns is not None and out.ndim == 2:
        return pd.DataFrame(out, index=series.index, columns=columns)
    return pd.Series(out, index=series.index, name=method)


class _Plan:
    """How to predict over ``X``: the collection to map (texts), the shipped estimator (a :class:`_Shipped` in
    the graph, or the user's scattered Future), and for a Series the apply function's columns, dtype and the
    result's ``meta``; ``classes``: the estimator's (or None)."""

    def __init__(self, X, shipped, method, token, columns=None, dtype="float64", meta=None, classes=None):
        self.X, self.shipped, self.method, self.token = X, shipped, method, token
        self.columns, self.dtype, self.meta, self.classes = columns, dtype, meta, classes

    @property
    def is_bag(self) -> bool:
        return self.meta is None

    def options(self) -> dict:
        """What a task needs to predict one partition of ``X`` (plain values, not the collections)."""
        return {"method": self.method, "is_bag": self.is_bag, "columns": self.columns, "dtype": str(self.dtype)}

    def collection(self):
        """The lazy predictions: ``map_partitions`` over ``X``."""
        if self.is_bag:
            import dask.bag as db

            numbers = db.range(self.X.npartitions, npartitions=self.X.npartitions)  # [i] in partition i
            return self.X.map_partitions(_apply_bag, self.shipped, self.method, numbers, token=self.token)
        # Dask DataFrame's map_partitions renames a Delayed argument's key (<key> -> (<key>, 0)): the task of a
        # scattered estimator's key (_scattered_node) would then run on the cluster, where the key is in memory
        # under its own name; the Future itself stays the argument there (computed on its cluster only)
        future = _future_of_node(self.shipped)
        shipped = self.shipped if future is None else future
        return self.X.map_partitions(_apply_series, shipped, self.method, self.columns, self.dtype,
                                     meta=self.meta, token=self.token)


def _plan(estimator, X, method, text_column=None) -> _Plan:
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
    if isinstance(estimator, (list, tuple)) and estimator and all(map(_is_future, estimator)):
        raise TypeError(f"{method} over Dask takes a fitted estimator, or one Future of it; got a "
                        f"{type(estimator).__name__} of {len(estimator)} Futures, as client.scatter gives for a list: "
                        "scatter the estimator alone, model = client.scatter(estimator), and pass that Future.")
    if _is_future(estimator):  # scattered once by the user: the tasks name its key, the graph holds no copy
        described = _scattered(estimator, method)
        # a local scheduler fetches it from the cluster (Dask's own "Missing dependency" without its task); a
        # Future of a task with dependencies stays a plain dependency (the cluster's task of its key is that one)
        shipped = _scattered_node(estimator) if _without_dependencies(estimator.client, estimator.key) else estimator
        classes, multilabel = described["classes"], described["multilabel"]
    else:
        check_is_fitted(estimator.steps[-1][1] if hasattr(estimator, "steps") else estimator)
        # now, not on a worker at compute: a pipeline whose classifier has no predict_proba (NBSVMClassifier's
        # default hinge loss) says why here; a worker's error lost that cause on its way back to the client
        getattr(estimator, method)
        shipped = dask.delayed(_Shipped(estimator), name=f"estimator-{uuid.uuid4().hex}")
        classes, multilabel = _classes(estimator), _multilabel(estimator)
    # the tasks' name: a partition that kills every worker that predicts it (over its memory limit) fails the
    # compute with Dask's KilledWorker, which names the task, e.g. ('toolkit-predict_proba-<token>', 3)
    token = f"toolkit-{method}"
    if isinstance(X, db.Bag):
        if text_column is not None:  # a bag of records (JSON objects): their texts, as read_texts picks them
            from .partitions import read_texts

            X = read_texts(X, text_column=text_column)
        return _Plan(X, shipped, method, token, classes=classes)
    if isinstance(X, dd.DataFrame):
        if text_column is None or text_column not in X.columns:
            raise ValueError(
                f"Predicting over a Dask DataFrame needs text_column=<one of {list(X.columns)}>; got {text_column!r}."
            )
        X = X[text_column]
    if isinstance(X, dd.Series):
        if method == "predict" and multilabel:  # one 0/1 column per label, as predict_proba's
            columns = [str(c) for c in classes]
            meta = pd.DataFrame({c: np.zeros(0, dtype="int64") for c in columns})
            return _Plan(X, shipped, method, token, columns, "int64", meta, classes)
        if method == "predict":
            dtype = classes.dtype if classes is not None else "float64"
            return _Plan(X, shipped, method, token, None, "float64", pd.Series(np.zeros(0, dtype=dtype), name=method),
                         classes)
        columns = [str(c) for c in classes] if classes is not None and method == "predict_proba" else None
        if columns is None:  # decision_function: one column (binary) or one per class
            meta = pd.Series(np.zeros(0, dtype="float64"), name=method)
        else:
            meta = pd.DataFrame({c: np.zeros(0, dtype="float64") for c in columns})
        return _Plan(X, shipped, method, token, columns, "float64", meta, classes)
    raise TypeError(
        f"predict over Dask expects a dask.bag.Bag, a dask.dataframe Series or DataFrame; got {type(X).__name__}. "
        "For in-memory data call the estimator's own predict."
    )


def _map(estimator, X, method, text_column=None):
    return _plan(estimator, X, method, text_column).collection()


def predict(estimator, X, *, text_column=None):
    """Lazily predict over a Dask collection with a fitted estimator; returns a Dask collection.

    Parameters
    ----------
    estimator : fitted estimator or Pipeline, or distributed.Future of one
        Shipped once to the workers at each compute (a Keras model pickles
        as ``.keras`` bytes); each partition is predicted where it lives.
        The result is lazy: computed after a refit of ``estimator``, it
        predicts with the refitted estimator. For a large model computed
        more than once, scatter it once and pass the Future
        (``client.scatter(model)``; ``broadcast=True`` copies it to every
        worker at once): no compute pickles or sends the model again, and
        the result then predicts with the scattered estimator, whatever
        becomes of ``model`` here. Computed on the Future's cluster (a
        Client of its scheduler) the tasks read it where it lives. A bag's
        result computed on a local scheduler in this process
        (``compute(scheduler="threads")`` or ``"sync"``) fetches it from the
        cluster once per compute, while the Future's Client is open; refused
        with what to do: Dask's ``"processes"`` scheduler (a bag's default
        with no Client), a closed Client, another cluster, or a Future whose
        workers all left. A Dask Series' result must be computed on the
        Future's cluster (a local scheduler fails with Dask's "Missing
        dependency").
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
    TypeError, NotFittedError, ValueError
        At once, for a Future: of something other than an estimator, of an
        estimator not fitted; of a closed Client, lost or failed, or of
        another cluster than the current Client's.
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

    Documents without tokens (blank texts) get the class prior, as in
    memory; the warning that counts them is logged once per partition,
    naming the partition, by the process that predicts it (a worker's log,
    on a cluster). :func:`write_predictions` counts them all in one warning
    on the client.

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

    A large model, sent to a cluster once for several computes:

    >>> from distributed import Client
    >>> from toolkit import load_model
    >>> from toolkit.distributed import read_texts
    >>> with Client("tcp://scheduler:8786") as client:  # doctest: +SKIP
    ...     model = client.scatter(load_model("model"), broadcast=True)
    ...     for day in days:
    ...         predict(model, read_texts(f"reviews/{day}/*.txt")).to_textfiles(f"labels/{day}/*.txt")
    """
    return _map(estimator, X, "predict", text_column)


def predict_proba(estimator, X, *, text_column=None):
    """Lazily compute class probabilities over a Dask collection (see :func:`predict`).

    Parameters
    ----------
    estimator : fitted estimator or Pipeline, or distributed.Future of one
        With ``predict_proba``; shipped once to the workers at each compute,
        or scattered once by you (``client.scatter(model)``), as in
        :func:`predict`.
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


def _plain(value):
    """A JSON value for one prediction (numpy scalars and arrays as Python numbers and lists)."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _write_part(result, folder: str, name: str, method: str, classes, ids=None) -> int:
    """Runs in a worker: write one partition's predictions as JSON lines into the (temporary) folder; its count.
    ``ids``: the partition's values of ``id_column``, one per prediction, written as each line's ``"id"``."""
    import pandas as pd

    from .._validation import plain_label

    if isinstance(result, pd.DataFrame):  # probabilities, or a multilabel 0/1 matrix: one column per class
        index, values = result.index, result.to_numpy().tolist()
    elif isinstance(result, pd.Series):
        index, values = result.index, result.tolist()
    else:
        index, values = None, list(result)
    rows = []
    for i, value in enumerate(values):
        if ids is not None:  # the user's own key: unique where the index of a read_csv partition restarts at 0
            row = {"id": plain_label(ids[i])}
        else:
            row = {} if index is None else {"index": plain_label(index[i])}  # a Series' rows: joined back by label
        if method == "predict_proba" and classes is not None:
            row["probabilities"] = {str(c): round(float(p), 6) for c, p in zip(classes, value)}
        else:
            row["label"] = value
        rows.append(json.dumps(row, default=_plain, ensure_ascii=False))
    # no mkdir: after a failed write removed the temporary folder, a task still running finds no folder to fill.
    # The part is written under a name of its own and renamed: Dask runs a task again when the worker that held
    # its result died before the client gathered it (or when it died writing), and that run replaces the file
    # whole (the same rows), where an exclusive open failed the whole write with FileExistsError.
    target = Path(folder) / name
    tmp = target.with_name(f".{name}.{uuid.uuid4().hex}.tmp")
    try:
        with open(tmp, "x", encoding="utf-8") as fh:
            fh.write("".join(line + "\n" for line in rows))
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return len(rows)


def write_predictions(estimator, X, path, *, method="predict", text_column=None, id_column=None, scheduler=None,
                      progress=False):
    """Predict over a Dask collection and write the predictions to a folder, complete or not at all.

    The partitions are predicted and written where they live, as Dask's own
    ``to_textfiles`` / ``to_csv`` would, but into a temporary folder beside
    ``path`` (:func:`toolkit._atomic.atomic_output`), renamed to ``path``
    once every partition is written: a failure or a crash part of the way
    (a bad document, a worker killed, Ctrl-C) leaves nothing under ``path``,
    never a folder that looks complete and lacks partitions.

    Parameters
    ----------
    estimator : fitted estimator or Pipeline, or distributed.Future of one
        As for :func:`predict`. A Future (``client.scatter(model)``) needs
        ``scheduler`` left out (a Client current) or a Client of its
        cluster: any other is refused before any work.
    X : dask.bag.Bag, dask.dataframe.Series or DataFrame
        As for :func:`predict`.
    path : path-like
        The folder to write: ``part-00000.jsonl``, ... (one per partition of
        ``X``, one JSON object a line, in the order of ``X``) and
        ``predictions.json`` (the method, classes and number of predictions
        of each part). An earlier predictions folder there is replaced once
        the new one is complete; anything else there is never replaced (an
        error before any work). On a cluster, a file system every worker
        sees.
    method : {"predict", "predict_proba"}, default="predict"
        Each line is ``{"label": ...}``, or ``{"probabilities": {class: p,
        ...}}``; for a Dask Series or DataFrame it starts with the row's
        ``"index"`` label (with ``id_column``: its ``"id"``).
    text_column : str, optional
        As for :func:`predict`.
    id_column : str, optional
        A column of a Dask DataFrame (or a key of a bag of records, with
        ``text_column``) that identifies each row, e.g. ``"review_id"``:
        each line then starts with ``"id": <its value>`` instead of
        ``"index"``, to join the predictions back to the rows. Dask's
        ``read_csv`` and ``read_json`` number the rows of each partition from
        0, so there the ``"index"`` labels repeat from one part to the next
        and identify no row.
    scheduler : str, optional
        Dask scheduler, as for :meth:`~toolkit.distributed.CorpusStore.build`.
    progress : bool, default=False
        A progress bar on stderr.

    Returns
    -------
    pathlib.Path
        ``path``.

    Documents without tokens (blank texts) get the class prior, as in
    memory, with one warning that counts them and names the first by its
    number in the whole input (a lazy :func:`predict` warns once per
    partition, in the log of the process that predicts it).

    Raises
    ------
    FileExistsError
        When ``path`` holds something other than predictions.
    DocumentError
        For a document the estimator refuses, named as :func:`predict`
        names it; nothing is written.

    Examples
    --------
    >>> import dask.bag as db, tempfile
    >>> from sklearn.dummy import DummyClassifier
    >>> from toolkit.distributed.prediction import write_predictions
    >>> clf = DummyClassifier().fit([[0]] * 3, ["pos", "pos", "neg"])
    >>> out = write_predictions(clf, db.from_sequence([[1], [2], [3]], npartitions=2),
    ...                         tempfile.mkdtemp() + "/predictions", scheduler="sync")
    >>> sorted(p.name for p in out.iterdir())
    ['part-00000.jsonl', 'part-00001.jsonl', 'predictions.json']
    """
    import dask

    from .._atomic import atomic_output, write_error
    from .store import _compute, _distributed_client

    if method not in ("predict", "predict_proba"):
        raise ValueError("The 'method' parameter of write_predictions must be a str among {'predict', "
                         f"'predict_proba'}}. Got {method!r} instead.")
    path = Path(path).expanduser().absolute()  # the workers write it: never relative to their working directory
    if os.path.lexists(path) and not (path / _MANIFEST).is_file():
        raise FileExistsError(f"{path} exists and holds no {_MANIFEST}: write_predictions replaces only a folder of "
                              "predictions it wrote. Choose another path, or remove it first.")
    plan = _plan(estimator, X, method, text_column)
    classes = None if plan.classes is None else [_plain(c) if isinstance(c, np.generic) else c for c in plan.classes]
    parts = (plan.X if id_column is None else _with_ids(X, text_column, id_column)).to_delayed()
    if _is_future(estimator):
        _check_scheduler_holds(estimator, _distributed_client(scheduler, parts), scheduler)
    options = {**plan.options(), "id_column": id_column, "text_column": text_column}
    try:
        with atomic_output(path, directory=True) as tmp:
            names = [f"part-{i:05d}.jsonl" for i in range(len(parts))]
            # one task a partition predicts and writes it: its documents without tokens come back with its count
            written = [dask.delayed(_predict_and_write)(part, plan.shipped, options, i, str(tmp), name,
                                                        classes, dask_key_name=f"toolkit-predictions-{name}-{tmp.name}")
                       for i, (part, name) in enumerate(zip(parts, names))]
            client = _distributed_client(scheduler, written)
            results = _compute(written, scheduler, progress, "predict",
                               cluster=None if client is None else _PredictionCluster(client))
            counts = [count for count, _ in results]
            for stray in tmp.glob(".part-*.tmp"):  # of a worker killed while it wrote (its part was written again)
                stray.unlink(missing_ok=True)
            meta = {"format": _FORMAT, "version": 1, "method": method, "classes": classes,
                    "n_documents": int(sum(counts)),
                    "parts": [{"name": n, "n_documents": int(c)} for n, c in zip(names, counts)]}
            with open(tmp / _MANIFEST, "w", encoding="utf-8") as fh:
                json.dump(meta, fh, indent=1, default=_plain)
    except OSError as err:
        error = write_error(err, path, noun="predictions folder")
        if error is None:
            raise
        raise error from err
    except Exception as err:
        # the partitions written so far went with the temporary folder: say so, under the error that names the cause
        err.add_note(f"write_predictions wrote nothing to {path}"
                     + (" (the predictions folder there is unchanged)." if path.exists() else "."))
        raise
    logger.info("wrote %d predictions in %d parts to %s", sum(counts), len(parts), path)
    _log_empty_total([empty for _, empty in results], counts, path)
    return path


def _predict_and_write(data, shipped, options, number, folder, name, classes):
    """Runs in a worker: predict partition ``number`` of the input and write it; ``(count, its documents without
    tokens or None)``. ``options``: :meth:`_Plan.options`."""
    empty, method, ids = [], options["method"], None
    if options.get("id_column") is not None:  # (text, id) pairs of a bag, or the two columns of a DataFrame
        if options["is_bag"]:
            pairs = list(data)
            data, ids = [t for t, _ in pairs], [i for _, i in pairs]
        else:
            ids, data = data[options["id_column"]].tolist(), data[options["text_column"]]
    if options["is_bag"]:
        result = _apply_bag(data, shipped, method, (number,), empty)
    else:
        result = _apply_series(data, shipped, method, options["columns"], options["dtype"], {"number": number}, empty)
    return _write_part(result, folder, name, method, classes, ids), (empty[0] if empty else None)


def _check_scheduler_holds(future, client, scheduler) -> None:
    """Refuse, before any work, to compute with a scattered estimator where its data are not: on a local scheduler
    (Dask's "Missing dependency"), or on another cluster (its tasks "cancelled for reason: lost dependencies")."""
    address = future.client.scheduler.address
    if client is None:
        raise ValueError(f"write_predictions got a Future of the estimator, held by the Dask cluster at {address}, "
                         f"but scheduler={scheduler!r} computes in this process, where it is not: leave scheduler "
                         f"out (the current Client) or pass a Client of {address}; or pass the estimator itself.")
    if client.scheduler is None or client.scheduler.address != address:
        where = "a closed Client" if client.scheduler is None else f"the cluster at {client.scheduler.address}"
        raise ValueError(f"write_predictions got a Future of the estimator, held by the Dask cluster at {address}, "
                         f"but computes on {where}: one cluster's tasks cannot read another's data. Scatter the "
                         f"estimator with the Client that computes (client.scatter(model)), or pass the estimator.")


def _text_and_id(record, text_column, id_column):
    """``(text, id)`` of one record of a bag (a dict, e.g. a parsed JSON line), for ``write_predictions(id_column=)``."""
    from .partitions import _pick

    text = _pick(record, text_column, None, "The bag")
    if id_column not in record:
        raise ValueError(f"The bag: a record has no key {id_column!r} (id_column); its keys are {sorted(record)}.")
    return text, record[id_column]


def _with_ids(X, text_column, id_column):
    """The collection whose partitions :func:`_predict_and_write` reads with ``id_column``: the text and id columns
    of a Dask DataFrame, or a bag's records as ``(text, id)`` pairs; anything else refused, before any work."""
    import dask.bag as db
    import dask.dataframe as dd

    if isinstance(X, dd.DataFrame):
        if id_column not in X.columns:
            raise ValueError(f"write_predictions got id_column={id_column!r}, which the Dask DataFrame lacks; its "
                             f"columns are {list(X.columns)}.")
        return X[list(dict.fromkeys([text_column, id_column]))]
    if isinstance(X, db.Bag) and text_column is not None:
        return X.map(_text_and_id, text_column, id_column)
    raise ValueError("write_predictions takes id_column with a Dask DataFrame (and text_column), or a bag of records "
                     "(dicts, with text_column); for a bag of texts or a Series the lines follow the order of X (a "
                     "Series' lines carry its index labels): drop id_column, or pass the DataFrame that holds the ids.")


def _log_empty_total(empties, counts, path) -> None:
    """One warning for the documents without tokens of every partition, numbered in the whole input, as the
    classifier warns in memory (it had one per partition, numbered there, in the workers' logs)."""
    found = [(i, e) for i, e in enumerate(empties) if e is not None]
    if not found:
        return
    i, first = found[0]
    where = f"document {sum(counts[:i]) + first['first']} of the input"
    if "label" in first:
        where += f", index label {first['label']!r}"
    logger.warning("write_predictions: %d of %d document(s) have no tokens (first: %s); they got the class prior "
                   "%s in %s. Drop blank texts first (a bag of texts: bag.filter(lambda t: t.strip()), of token lists: "
                   "bag.filter(len); a Dask DataFrame: ddf[ddf[text_column].str.strip() != '']) unless a prediction "
                   "for them is wanted.",
                   sum(e["count"] for _, e in found), sum(counts), where, first["prior"], path)


class _PredictionCluster:
    """What explains a cluster failure (workers killed, scheduler gone) of :func:`write_predictions`."""

    def __init__(self, client):
        from .search import _scheduler_time

        self.client, self.since = client, _scheduler_time(client)

    def failure(self, err, what):
        import re

        from .search import _cluster_failure

        key = getattr(err, "task", None) or getattr(err, "key", None)
        match = re.match(r"toolkit-predictions-part-(\d+)", str(key or ""))
        task = None if match is None else f"partition {int(match.group(1))} of the input (Dask task {key})"
        return _cluster_failure(self.client, err, since=self.since, what="write_predictions", limits={}, task=task)
