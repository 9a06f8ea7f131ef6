"""``toolkit train``, ``evaluate`` and ``predict``: the task functions and their commands."""

from __future__ import annotations

import contextlib
import copy
import json
import logging
import math
import os
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

import typer

from .._atomic import atomic_output, recover_moved_aside
from ._common import (
    _did_you_mean,
    _INPUT,
    DEFAULT_VECTORS,
    _check_data,
    _check_model_folder,
    _check_output_file,
    _check_run_folder,
    _check_vectors,
    _errors_to_exit,
    _file_path,
    _info,
    _is_stdout,
    _json,
    _jsonl,
    _load_tensorflow_quietly,
    _quiet_workers,
    _opt_cache_dir,
    _opt_column,
    _opt_data_dir,
    _opt_label_column,
    _opt_output,
    _opt_set,
    _progress,
    _read_texts,
    _settings,
    _state,
    _stop_on_interrupt,
    data_folders,
    app,
)
from ..exceptions import DataError, DocumentError
from .text import _check_output_compression, _emit_data
from ._inputs import (
    _data_suffix,
    SettingError,
    _dataset_records,
    _named_labels,
    _subsample,
    check_columns,
    check_limit,
    check_test_size,
    check_training_classes,
    first_of,
    load_data,
    load_train_test,
    numeric_labels,
    preload_data,
    split_singles_to_train,
)

__all__ = ["load_estimator", "compute_metrics", "TrainResult", "train", "evaluate", "predict"]

logger = logging.getLogger(__name__)

def _final_estimator(estimator):
    steps = getattr(estimator, "steps", None)
    return steps[-1][1] if steps else estimator


def load_estimator(model):
    """A fitted estimator, or one loaded with :func:`toolkit.models.persistence.load_model`."""
    if isinstance(model, (str, os.PathLike)):
        from ..models.persistence import load_model

        return load_model(Path(model).expanduser())
    return model


def compute_metrics(y_true, y_pred, y_score=None, *, classes=None) -> dict:
    """Accuracy, balanced accuracy, precision, recall, F1 and ROC AUC as a JSON-ready dict.

    Binary problems report the positive class (the second of ``classes``);
    multi-class ones report macro averages and a one-vs-rest ROC AUC. A class
    of ``classes`` that is neither in ``y_true`` nor in ``y_pred`` (a rare
    class the test data lacks) has no precision or recall to average: the
    macro averages leave it out instead of counting it as 0. ``per_class``
    gives each class's precision, recall, F1 and support, in ``classes``
    order (numeric order when the classes are all numbers, such as star
    ratings read as strings: ``"2"`` before ``"10"``); with more than two
    numeric classes, ``mean_absolute_error`` says how far the predictions
    are from the true values (in stars). With more than five classes and
    ``y_score``, ``top_5_accuracy`` is the share of documents whose true
    class is among the five most probable. ``balanced_accuracy`` is the mean recall over the classes of
    ``y_true``: on imbalanced data (95% of one class) accuracy alone hides a
    model that predicts the majority class for every document.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,)
    y_score : array-like of shape (n_samples, n_classes), optional
        Class probabilities (``predict_proba``), columns in ``classes`` order.
    classes : sequence, optional
        Defaults to the sorted labels seen.

    Examples
    --------
    >>> m = compute_metrics(["neg", "pos", "pos"], ["neg", "pos", "neg"])
    >>> round(m["accuracy"], 3), m["n_samples"], m["balanced_accuracy"]
    (0.667, 3, 0.75)
    >>> m["per_class"][1]
    {'class': 'pos', 'precision': 1.0, 'recall': 0.5, 'f1': 0.6666666666666666, 'support': 2}
    """
    import numpy as np
    from sklearn import metrics as skm

    y_true = np.asarray(y_true)
    y_pred = np.asarray(y_pred)
    classes = list(np.unique(np.concatenate([y_true, y_pred]))) if classes is None else list(classes)
    auc_classes, auc_score = classes, y_score  # roc_auc_score wants the labels in np.unique's (string) order
    order = _numeric_order(classes)
    if order is not None:  # star ratings read as strings: "1", "2", ..., "10", not "1", "10", "2"
        classes = [classes[i] for i in order]
        if y_score is not None and np.ndim(y_score) == 2 and np.shape(y_score)[1] == len(order):
            y_score = np.asarray(y_score)[:, order]
        elif y_score is not None and np.ndim(y_score) == 1:  # two classes swapped: the score of the other one
            y_score = -np.asarray(y_score, dtype=float)
    binary = len(classes) == 2
    kwargs = {"pos_label": classes[1], "average": "binary"} if binary else {"average": "macro"}
    seen = set(y_true.tolist()) | set(y_pred.tolist())
    # macro averages over the classes the data or the predictions hold: a class with neither (a rare class
    # absent from the test part) has no precision or recall, and zero_division=0 would average it in as 0
    kwargs["labels"] = classes if binary else [c for c in classes if _jsonable(c) in seen] or classes
    out = {
        "n_samples": int(len(y_true)),
        "accuracy": float(skm.accuracy_score(y_true, y_pred)),
        "precision": float(skm.precision_score(y_true, y_pred, zero_division=0, **kwargs)),
        "recall": float(skm.recall_score(y_true, y_pred, zero_division=0, **kwargs)),
        "f1": float(skm.f1_score(y_true, y_pred, zero_division=0, **kwargs)),
        "roc_auc": None,
    }
    if y_score is not None and len(np.unique(y_true)) > 1:
        y_score = np.asarray(y_score, dtype=float)
        if binary:
            score = y_score[:, 1] if y_score.ndim == 2 else y_score
            out["roc_auc"] = float(skm.roc_auc_score(y_true == classes[1], score))
        elif len(np.unique(y_true)) == len(classes):
            labels, columns = _sorted_columns(auc_classes, auc_score)
            out["roc_auc"] = float(skm.roc_auc_score(y_true, columns, multi_class="ovr", labels=labels))
    top_k = _top_k_accuracy(y_true, auc_score, auc_classes, k=TOP_K_REPORTED)
    if top_k is not None:
        out[f"top_{TOP_K_REPORTED}_accuracy"] = top_k
    out["average"] = f"binary (positive class {_jsonable(classes[1])!r})" if binary else "macro"
    out["classes"] = [_jsonable(c) for c in classes]
    matrix = skm.confusion_matrix(y_true, y_pred, labels=classes)
    out["confusion_matrix"] = matrix.tolist()
    # mean recall over the classes of y_true (balanced_accuracy_score, without its warning about a
    # predicted class that y_true lacks)
    support = matrix.sum(axis=1)
    out["balanced_accuracy"] = float(np.mean(np.diag(matrix)[support > 0] / support[support > 0])) \
        if support.any() else 0.0
    precision, recall, f1, _ = skm.precision_recall_fscore_support(y_true, y_pred, labels=classes, average=None,
                                                                    zero_division=0)
    out["per_class"] = [{"class": _jsonable(c), "precision": float(p), "recall": float(r), "f1": float(f),
                         "support": int(n)} for c, p, r, f, n in zip(classes, precision, recall, f1, support)]
    true_values, pred_values = numeric_labels(y_true.tolist()), numeric_labels(y_pred.tolist())
    if len(classes) > 2 and numeric_labels(classes) is not None and true_values is not None \
            and pred_values is not None and len(y_true):
        # ordinal classes (stars): how far off the predictions are, as the README's ratings benchmark reports
        out["mean_absolute_error"] = float(np.mean(np.abs(true_values - pred_values)))
    return out


#: With more classes than this, :func:`compute_metrics` also reports ``top_5_accuracy``.
TOP_K_REPORTED = 5


def _top_k_accuracy(y_true, y_score, classes, *, k):
    """The share of documents whose true class is among the ``k`` highest scores (scikit-learn's
    ``top_k_accuracy_score``), or None: with ``k`` or fewer classes, without 2-D scores, or when ``y_true``
    holds a label that ``classes`` lacks (a class the model never saw cannot be among its guesses)."""
    import numpy as np
    from sklearn.metrics import top_k_accuracy_score

    if y_score is None or np.ndim(y_score) != 2 or len(classes) <= k or np.shape(y_score)[1] != len(classes) \
            or not len(y_true):
        return None
    known = {_jsonable(c) for c in classes}
    if any(_jsonable(t) not in known for t in np.asarray(y_true).tolist()):
        return None
    labels, columns = _sorted_columns(classes, y_score)
    return float(top_k_accuracy_score(y_true, columns, k=k, labels=labels))


def _sorted_columns(classes, y_score):
    """``classes`` sorted and the columns of ``y_score`` with them: scikit-learn's multiclass ranking metrics
    refuse ``labels`` in any other order ("Parameter 'labels' must be ordered")."""
    import numpy as np

    order = np.argsort(np.asarray(classes), kind="stable")
    return np.asarray(classes)[order], np.asarray(y_score, dtype=float)[:, order]


def _numeric_order(classes) -> list | None:
    """The positions of ``classes`` in numeric order when they are all numbers (``"10"`` after ``"9"``), or None
    when they are not numbers or already in that order."""
    import numpy as np

    values = numeric_labels([_jsonable(c) for c in classes])
    if values is None:
        return None
    order = np.argsort(values, kind="stable").tolist()
    return None if order == list(range(len(classes))) else order


def _jsonable(value):
    import numpy as np

    return value.item() if isinstance(value, np.generic) else value


@contextlib.contextmanager
def _progress_bars(estimator, progress, *, keep=(), shared=False):
    """Turn on the tokenizer's and the classifier's progress bars for a block, then restore them.

    Parameters named in ``keep`` (short or full names) are left as the user set them.

    ``shared=True`` (a fitted model that only predicts in the block, which other threads may use meanwhile: a
    server's loaded model) leaves ``estimator`` as it is and yields a copy with the tokenizer's bar on instead
    (the estimator itself without it), whose tokenizer step is a shallow copy; the classifier's ``verbose``
    (fit's epochs) is left. Set on the model itself and set back, a predict of another thread meanwhile
    showed this call's bar, and two calls overlapping could leave the model's bar on for good (the second one
    read the first one's setting as the one to restore). A fit needs ``shared=False``: the estimator itself is
    the one fitted.
    """
    params = estimator.get_params()
    # the tokenizer by its step's name: "spacytokenizer" in a make_pipeline(SpacyTokenizer(), ...)
    wanted = {f"{_tokenizer_step(estimator) or 'tokenizer'}__progress": True} if progress else {}
    if progress and not shared:
        wanted["classifier__verbose"] = 1
    wanted = {k: v for k, v in wanted.items() if k in params and k not in keep and k.split("__")[1] not in keep}
    if shared:
        yield _with_params(estimator, wanted)
        return
    before = {k: params[k] for k in wanted}
    estimator.set_params(**wanted)
    try:
        yield estimator
    finally:
        estimator.set_params(**before)


def _with_params(estimator, params):
    """``estimator`` with ``params`` (``set_params`` names) set on a copy; ``estimator`` itself when none.

    Only the objects on the way to a changed parameter are copied, shallowly (their attribute dict: fitted
    state shared, no ``__getstate__``, which for an EmbeddingClassifier would write out its Keras model). A
    nested name that is neither a Pipeline step nor an attribute is left out (no copy to set it on).
    """
    if not params:
        return estimator
    from sklearn.pipeline import Pipeline

    copied = object.__new__(type(estimator))
    copied.__dict__.update(vars(estimator))
    inner = {}
    for name, value in params.items():
        step, _, rest = name.partition("__")
        if rest:
            inner.setdefault(step, {})[rest] = value
        else:
            copied.set_params(**{name: value})
    if isinstance(estimator, Pipeline):
        copied.steps = [(name, _with_params(step, inner[name]) if name in inner else step)
                        for name, step in estimator.steps]
    else:
        for name, values in inner.items():
            if name in vars(estimator):
                setattr(copied, name, _with_params(getattr(estimator, name), values))
    return copied


def _classes(estimator) -> list:
    classes = getattr(estimator, "classes_", None)
    if classes is None:
        classes = getattr(_final_estimator(estimator), "classes_", None)
    return [] if classes is None else list(classes)


def _check_known_labels(labels, classes, source) -> None:
    """Name the labels of the data that the model was never trained on (a model cannot predict them)."""
    import numpy as np

    if not classes:
        return
    known = {str(c) for c in classes}
    known_keys = {_label_key(c) for c in classes}
    names = np.asarray([str(v) for v in np.asarray(labels).tolist()])
    unseen = sorted(v for v in set(names.tolist()) - known if _label_key(v) not in known_keys)
    if unseen:
        n_unseen = int(np.isin(names, unseen).sum())
        them = "them" if len(unseen) > 1 else "it"
        # stars in numeric order, as the metrics list them ("1", "2", ..., "10"; sorted as text "10" came second)
        unseen = [unseen[i] for i in (_numeric_order(unseen) or range(len(unseen)))]
        known = sorted(known)
        known = [known[i] for i in (_numeric_order(known) or range(len(known)))]
        raise DataError(
            # first_of: a model of 50 movies scored on a file of 200 named all 150 others, and its 50, in one line
            f"{source} has label{'s' if len(unseen) > 1 else ''} {first_of(map(repr, unseen))} that the model "
            f"was never trained on; its classes are [{first_of(map(repr, known))}]. The model cannot "
            f"predict {them}: remove "
            f"the records with {'those labels' if len(unseen) > 1 else 'that label'} ({n_unseen} of the "
            f"{len(names)} documents), or train on data that has {them}."
        )


def _check_split_classes(y_train, y_test, data, *, limit=None) -> None:
    """Name a class of ``data`` whose documents the train/test split all put in the test part.

    A class with one document cannot be stratified: the split warns and may
    put it in the test part, where the model, never trained on it, could not
    predict it (as can ``limit``'s sample of the training part). The user
    gave one file, so "the test data has a label the model was never trained
    on" would not say what happened.
    """
    import numpy as np

    labels, counts = np.unique(np.asarray(y_test), return_counts=True)
    trained = set(np.asarray(y_train).tolist())
    missing = [(_jsonable(c), int(n)) for c, n in zip(labels, counts) if _jsonable(c) not in trained]
    if missing and limit is not None:
        # "three.csv has too few documents of class 'neg' (1 document) ... Add documents of that class" was said
        # of a file with hundreds of them, when --limit 2 was the cause: the counts are the test part's
        named = first_of(f"{c!r} ({n} in the test part)" for c, n in missing)
        raise DataError(
            f"The --limit {limit} sample of {data} has no training document of class"
            f"{'es' if len(missing) > 1 else ''} {named} among its {len(y_train)} training document(s), so the "
            f"model could not learn {'them' if len(missing) > 1 else 'it'}. Raise --limit, or give separate "
            "--test-data."
        )
    if missing:
        named = first_of(f"{c!r} ({n} document{'s' if n > 1 else ''})" for c, n in missing)
        raise DataError(
            f"{data} has too few documents of class{'es' if len(missing) > 1 else ''} {named} to split: the "
            f"train/test split{'' if limit is None else ' and the --limit sample'} left "
            f"{'it' if sum(n for _, n in missing) == 1 else 'all of them'} in the test part only, so the model "
            f"could not learn {'them' if len(missing) > 1 else 'it'}. Add documents of that class (with two or "
            "more the split keeps some in each part), remove its records, "
            f"{'' if limit is None else 'raise --limit, '}or give separate --test-data."
        )


def _check_stack_classes(y_train, cv, model) -> None:
    """Name a class with one training document before a stack's fit, which could not score it.

    The stack fits its members on ``cv`` folds of the training part; the fold
    that holds out a class's only document trains without it.
    """
    import numpy as np

    labels, counts = np.unique(np.asarray(y_train), return_counts=True)
    if not isinstance(cv, int) or counts.min() >= 2:
        return
    rare = first_of(repr(_jsonable(c)) for c in labels[counts < 2])
    raise DataError(
        f"--model {model} fits its members on {cv} cross-validation folds of the training part, but class"
        f"{'es' if (counts < 2).sum() > 1 else ''} {rare} {'have' if (counts < 2).sum() > 1 else 'has'} one "
        "training document: the fold that holds it out would train without it. Add documents of that class "
        f"(at least 2, better {cv} or more), remove its records, or use --model main."
    )


def _label_key(value):
    """What a label is matched by across files and models: its value when it is a number
    (``1``, ``1.0``, ``"1"``; ``2.5``, ``"2.50"``: the rule the readers apply), else its text."""
    from ..data.datasets import _numeric_label

    number = _numeric_label(value)
    if number is not None:
        return number
    text = str(value).strip()
    # TRUE (Excel, R), true (JSON, Spark) and True (Python) are one boolean
    return text.lower() if text.lower() in ("true", "false") else text


def _as_classes(labels, classes):
    """``labels`` read from a file (strings) as the model's own classes, matched by their text, else by value.

    A model fitted in Python on integer (or boolean) labels predicts those;
    a CSV's ``0``/``1`` read as ``"0"``/``"1"`` would never equal them. A
    model fitted on float labels (``1.0``) gets a file's ``1`` as ``1.0``,
    and the other way round.
    """
    import numpy as np

    if not classes:
        return labels
    by_name = {str(c): c for c in classes}
    by_key = {}
    for c in classes:
        by_key.setdefault(_label_key(c), c)
    mapped = [by_name[str(v)] if str(v) in by_name else by_key.get(_label_key(v), v) for v in labels]
    if all(isinstance(c, str) for c in classes):
        return np.asarray(mapped, dtype=str)
    return np.asarray(mapped, dtype=np.asarray(classes).dtype)


#: How ``toolkit train`` raises its tokenizer's max_length (it has no --skip-bad: a document without tokens
#: cannot be trained on)
_RAISE_LIMIT = "raise it with --set max_length=..."


def _record_error(err, records, part, *, shuffled="shuffled by the split", raise_limit=None):
    """``err``, an estimator's error about document ``i`` of its X, as a :class:`DataError` naming the record.

    ``records`` (:class:`~toolkit.cli._inputs.DocumentRecords`) says where
    each document of ``part`` ("training part", "test part") comes from: document
    ``i`` of a shuffled part is rarely record ``i`` of the user's file.
    ``shuffled`` says how the part's order differs from the file's (None: it does not).
    ``raise_limit``: how the command raises the tokenizer's ``max_length`` (None: it cannot; neither
    command skips documents). None when ``err`` names no document of the part.
    """
    index = getattr(err, "document_index", None)  # a DocumentError's (the estimators' errors about one document)
    if index is None or records is None or not 0 <= index < len(records):
        return None
    from ..text.tokenizer import reword_too_long

    where = records.describe(index)
    message = reword_too_long(str(err), raise_limit=raise_limit, skip=None)
    body = DocumentError(message).naming(where[0].upper() + where[1:])
    position = "" if shuffled is None else f" It is document {index} of the {part} ({shuffled})."
    return DataError(f"{body}{position} Fix or remove that record, or change the settings named above, and run "
                     "the command again.")


@contextlib.contextmanager
def _records_named(records, part, **kwargs):
    """Turn an estimator's error about "Document i of X" in the block into one naming the record of the file."""
    try:
        yield
    except DocumentError as err:
        named = _record_error(err, records, part, **kwargs)
        if named is None:
            raise
        raise named from err


def _scores(estimator, texts):
    """(predictions, probabilities or None, classes) with one pass over the texts."""
    import numpy as np

    classes = _classes(estimator)
    if hasattr(estimator, "predict_proba") and classes:
        proba = np.asarray(estimator.predict_proba(texts))
        if proba.ndim == 2 and proba.shape[1] == len(classes):
            return np.asarray(classes)[proba.argmax(axis=1)], proba, classes
    return np.asarray(estimator.predict(texts)), None, classes


def evaluate(model, data="imdb", *, split="test", limit=None, random_state=0, column="text", label_column="label",
             plot=None, data_dir=None, cache_dir=None, progress=False) -> dict:
    """Score a trained model on labelled data.

    Parameters
    ----------
    model : path-like or fitted estimator
        A folder written by :func:`toolkit.models.persistence.save_model` (or
        ``toolkit train``), or an estimator with ``predict``.
    data : str or path-like, default="imdb"
        As in :func:`load_data` (for IMDB, ``split`` picks the part).
    limit : int, optional
        Score at most this many documents (stratified random sample).
    plot : path-like, optional
        Also write the confusion matrix PNG there.
    progress : bool, default=False
        Show the tokenizer's progress bar (stderr).

    Returns
    -------
    dict
        See :func:`compute_metrics`.
    """
    import numpy as np

    check_limit(limit, owner="evaluate")
    estimator = _for_raw_texts(load_estimator(model), model)
    ds = load_data(data, split=split, column=column, label_column=label_column, data_dir=data_dir, cache_dir=cache_dir,
                   progress=progress)
    texts, labels, kept = _subsample(list(ds.texts), _named_labels(ds, label_column), limit, random_state,
                                     extra=np.arange(len(ds)))
    _check_known_labels(labels, _classes(estimator), ds.source or str(data))
    labels = _as_classes(labels, _classes(estimator))
    # the tokenizer's error about "Document i of X" (a text too long) names the record of the file
    sample = None if limit is None or len(kept) == len(ds) else f"{len(kept)} documents drawn by --limit"
    with _progress_bars(estimator, progress, shared=True) as estimator, \
            _records_named(_dataset_records(ds, kept), "sample", shuffled=sample):
        # as predict: tokenized at once, scored PREDICT_CHUNK documents at a time (in one call the model's
        # inputs for IMDB's 25,000 test reviews existed all at once)
        rows = list(range(len(texts)))
        if _tokenizer_step(estimator) is not None and len(estimator.steps) > 1:
            pred, proba, classes = _chunked_scores(estimator, estimator[1:], estimator[:1].transform(texts), rows)
        else:
            pred, proba, classes = _chunked_scores(estimator, estimator, texts, rows)
    metrics = compute_metrics(labels, pred, proba, classes=classes or None)
    if plot is not None:
        from ..plots import plot_confusion_matrix

        plot_confusion_matrix(labels, pred, metrics["classes"], plot)
    return metrics


def _tokenizer_step(estimator) -> str | None:
    """The name of a pipeline's first step when it is a :class:`~toolkit.text.SpacyTokenizer`, else None."""
    from ..text.tokenizer import SpacyTokenizer

    steps = getattr(estimator, "steps", None)
    return steps[0][0] if steps and isinstance(steps[0][1], SpacyTokenizer) else None


def _for_raw_texts(estimator, model):
    """``estimator`` ready for raw texts: as it is, or a bare classifier of token lists behind the tokenizer its
    fit recorded (``tokenizer_params_``: :func:`~toolkit.distributed.fit_from_store`'s); without one, an error.

    A model folder saved from a bare :class:`~toolkit.models.EmbeddingClassifier` (or another estimator whose
    first step takes token lists) failed on the texts with the Python advice "put SpacyTokenizer before it in a
    Pipeline", which a command-line user cannot follow. Only settings the model records are used: a default
    tokenizer would split the texts otherwise than the training documents, and the model predict worse silently.

    Raises
    ------
    toolkit.exceptions.ModelFormatError
        When the model takes token lists and records no tokenizer settings.
    """
    from sklearn.pipeline import Pipeline

    from .._validation import TextInputMixin, a_type_name
    from ..exceptions import ModelFormatError
    from ..text.tokenizer import SpacyTokenizer

    first = estimator
    while getattr(first, "steps", None):
        first = first.steps[0][1]
    if not isinstance(first, TextInputMixin) or isinstance(first, SpacyTokenizer):
        return estimator  # raw texts: a tokenizer first, or a model of its own (TfidfVectorizer...)
    params = getattr(_final_estimator(estimator), "tokenizer_params_", None)
    name = type(first).__name__
    if isinstance(params, dict):
        try:
            tokenizer = SpacyTokenizer(**params)
        except TypeError as err:  # settings of another toolkit version
            raise ModelFormatError(f"The model's {name} records tokenizer settings that this toolkit's "
                                   f"SpacyTokenizer does not take ({err}); install the toolkit version it was "
                                   "trained with.") from err
        logger.info("The model is %s of token lists; raw texts are tokenized with the settings it records "
                    "(tokenizer_params_): %r.", a_type_name(first), params)
        return Pipeline([("tokenizer", tokenizer), ("model", estimator)])
    where = f"'{model}'" if isinstance(model, (str, os.PathLike)) else "the model"
    what = a_type_name(first)
    if first is not estimator:
        what = f"a pipeline starting with {what}"
    raise ModelFormatError(
        f"{where} holds {what} without a tokenizer: it classifies token lists, not raw texts, and does not "
        "record how its training documents were tokenized. Save it with the tokenizer that made its token lists, "
        "in Python: save_model(make_pipeline(SpacyTokenizer(<those settings>), clf), FOLDER) (refit that pipeline "
        "on the raw texts if another tokenizer made them); or train the model with `toolkit train`, which saves "
        "its tokenizer with it."
    )


#: Documents per call of the model in :func:`predict`: the model's inputs (n-gram ids, padded rows...) exist for
#: one chunk at a time. In one call, 20,000 reviews through a main-job model peaked 0.5 GB above the tokens
#: (counting their 1-3-grams' ids), and the peak grew with the file.
PREDICT_CHUNK = 2000


def _chunked_scores(estimator, model, inputs, rows):
    """:func:`_scores` of ``model`` on ``inputs[rows]``, :data:`PREDICT_CHUNK` documents at a time.

    ``inputs`` is a list of texts or a tokenized corpus (of ``estimator``'s
    tokenizer); a :class:`DocumentError` names the document by its index in
    ``inputs``.
    """
    import numpy as np

    from ..text.corpus import TokenizedCorpus

    parts = []
    for start in range(0, len(rows), PREDICT_CHUNK):
        chunk = rows[start:start + PREDICT_CHUNK]
        if isinstance(inputs, TokenizedCorpus):
            X = inputs if len(chunk) == len(inputs) else inputs.take(chunk)  # n-grams stay lazy
        else:
            X = [inputs[i] for i in chunk]
        try:
            parts.append(_scores(model, X))
        except DocumentError as err:
            if err.document_index is None or not 0 <= err.document_index < len(chunk):
                raise
            index = chunk[err.document_index]
            raise DocumentError(err.naming(f"Document {index} of X"), document_index=index) from err
    if not parts:
        return [], None, _classes(estimator)
    pred = np.concatenate([np.asarray(part[0]) for part in parts])
    proba = None if any(part[1] is None for part in parts) else np.concatenate([part[1] for part in parts])
    return pred, proba, parts[0][2]


#: ``toolkit predict --format``'s choices, and the format an --output suffix asks for.
PREDICT_FORMATS = ("jsonl", "csv", "tsv")


def _predict_format(format, output) -> str:
    """``toolkit predict``'s output format: ``format`` if given, else the one --output's name asks for.

    ``predictions.csv`` (also ``.csv.gz``) is a CSV table, ``.tsv`` a tab-separated one; any other name,
    and standard output, JSON lines. A ``.csv`` file used to receive JSON lines; a ``.parquet`` or ``.xlsx`` one,
    which no reader of that format opens, is refused.
    """
    if output is not None and not _is_stdout(output):
        from ._inputs import _CONVERTIBLE

        suffix = _data_suffix(output)
        if suffix in _CONVERTIBLE and suffix != ".json":  # JSON lines under .json: pandas' read_json(lines=True)
            plain = Path(output).suffix.lower() == suffix  # not preds.parquet.gz
            example = f" (e.g. -o {Path(output).with_suffix('.csv')})" if plain else ""
            raise SettingError(f"--output {output}: toolkit predict writes JSON lines or a CSV/TSV table, not "
                               f"{suffix} files, and its text under that name would not open. Name it .jsonl, .csv "
                               f"or .tsv{example}; pandas converts the table "
                               f"(pd.read_csv(...).to_{_CONVERTIBLE[suffix][5:]}(...)).")
    if format is not None:
        name = str(format).strip().lower()
        if name == "json":  # one JSON object per line is what `predict` writes; "json" is what people type
            name = "jsonl"
        if name not in PREDICT_FORMATS:
            raise SettingError(f"--format {format!r}{_did_you_mean(name, PREDICT_FORMATS)}: give one of "
                               f"{', '.join(PREDICT_FORMATS)} (default: from the --output file's suffix, else "
                               "jsonl).")
        return name
    if output is None or _is_stdout(output):
        return "jsonl"
    return {".csv": "csv", ".tsv": "tsv"}.get(_data_suffix(output), "jsonl")  # predictions.csv.gz: csv


def _prediction_table(rows, *, delimiter=",") -> str:
    """``predict``'s rows as a CSV (or TSV) table with a header: ``[file,] label[, skipped]``, then
    ``probability_<class>`` for each class, or with ``top`` ``top_1_label, top_1_probability, ...,
    top_K_label, top_K_probability``. A skipped document has an empty label and probabilities; no rows give no text.
    """
    import csv
    import io

    if not rows:
        return ""
    scored = [row for row in rows if not row.get("skipped")]
    columns = (["file"] if "file" in rows[0] else []) + ["label"]
    if len(scored) < len(rows):
        columns.append("skipped")
    classes = list(scored[0].get("probabilities", {})) if scored else []
    columns += [f"probability_{name}" for name in classes]
    k = max((len(row.get("top", ())) for row in scored), default=0)
    for i in range(1, k + 1):
        columns += [f"top_{i}_label", f"top_{i}_probability"]
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        line = {"file": row.get("file"), "label": row.get("label"), "skipped": "true" if row.get("skipped")
                else "false"}
        line.update({f"probability_{name}": p for name, p in row.get("probabilities", {}).items()})
        for i, item in enumerate(row.get("top", ()), start=1):
            line[f"top_{i}_label"], line[f"top_{i}_probability"] = item["label"], item["probability"]
        writer.writerow(["" if line.get(name) is None else line[name] for name in columns])
    return buffer.getvalue()


def predict(model, texts, *, progress=False, skip_bad=False, top=None) -> list[dict]:
    """Labels and class probabilities for raw texts.

    ``progress=True`` shows the tokenizer's progress bar (stderr).
    ``skip_bad=True`` tokenizes with ``errors="skip"``: a document the
    tokenizer refuses (longer than its ``max_length``) gets
    ``{"label": None, "skipped": True}`` instead of failing the batch.
    ``top=k`` replaces each row's ``"probabilities"`` (one per class: with
    hundreds of classes, lines of kilobytes) by ``"top"``: the ``k`` most
    probable classes, most probable first (ties in ``"probabilities"``'s
    order), as ``{"label": class, "probability": p}`` objects; ``k`` larger
    than the number of classes gives them all.

    Returns
    -------
    list of dict
        One ``{"label": ..., "probabilities": {class: p, ...}}`` per text
        (no ``"probabilities"`` when the model has no ``predict_proba``), or
        ``{"label": ..., "top": [...]}`` with ``top``.

    Raises
    ------
    SettingError
        ``top`` is not a whole number of at least 1, or the model has no
        ``predict_proba`` to rank the classes by.
    """
    import numbers

    import numpy as np

    from .._validation import check_raw_documents

    if top is not None and (isinstance(top, bool) or not isinstance(top, numbers.Integral) or top < 1):
        raise SettingError(f"top={top!r}: give the number of most probable classes to list for each text, a whole "
                           "number of at least 1 (or None for every class's probability).")
    texts = check_raw_documents(texts, name="texts")
    if not texts:
        return []
    estimator = _for_raw_texts(load_estimator(model), model)
    if top is not None and not hasattr(estimator, "predict_proba"):
        raise SettingError(f"top={top}: the model, a {type(estimator).__name__}, has no predict_proba to rank its "
                           "classes by; predict without top gives its labels.")
    # the first step's name: "tokenizer" in make_text_classifier's pipelines and toolkit train's, "spacytokenizer"
    # in make_pipeline(SpacyTokenizer(), ...)'s (a saved one was refused as having no tokenizer)
    tokenizer = _tokenizer_step(estimator)
    if skip_bad and tokenizer is None:
        raise SettingError("skip_bad needs a pipeline whose first step is a SpacyTokenizer (it skips the "
                           f"documents that one refuses); the model is a {type(estimator).__name__} without one.")
    with _progress_bars(estimator, progress, shared=True) as estimator:  # others may predict with it meanwhile
        if tokenizer is not None and len(estimator.steps) > 1:
            # tokenize all at once (the tokenizer's errors and log lines name the documents of `texts`),
            # then score only the documents it kept: a skipped one is not scored (it would get the class
            # prior, and the classifier's log line about it)
            step = estimator.steps[0][1]
            if skip_bad:
                # a copy set to skip: set on the model itself (then set back), a predict of another thread
                # sharing the loaded model (a server) meanwhile skipped too, scoring a too-long document as an
                # empty one, and two such calls overlapping could leave the model skipping for good
                step = copy.copy(step).set_params(errors="skip")
            tokens = step.transform(texts)
            skipped = set(tokens.skipped.tolist()) if skip_bad else set()  # this call's own (transform sets no state)
            kept = [i for i in range(len(texts)) if i not in skipped]
            pred, proba, classes = _chunked_scores(estimator, estimator[1:], tokens, kept)
        else:
            skipped, kept = set(), list(range(len(texts)))
            pred, proba, classes = _chunked_scores(estimator, estimator, texts, kept)
    rows = [{"label": None, "skipped": True} for _ in texts]
    shown = _numeric_order(classes) or range(len(classes))  # stars: "1", "2", ..., "10"
    best = None
    if top is not None and proba is not None and proba.ndim == 2 and classes:
        # each row's top classes at once; a stable sort over the shown order: ties keep it
        shown_columns = np.asarray(shown, dtype=np.int64)
        best = shown_columns[np.argsort(-proba[:, shown_columns], axis=1, kind="stable")[:, :top]]
    for k, (i, label) in enumerate(zip(kept, pred)):
        if i in skipped:
            continue
        row = {"label": _jsonable(label)}
        if proba is not None and proba.ndim == 2 and classes:
            if best is None:
                row["probabilities"] = {str(_jsonable(classes[j])): round(float(proba[k][j]), 6) for j in shown}
            else:
                row["top"] = [{"label": _jsonable(classes[j]), "probability": round(float(proba[k][j]), 6)}
                              for j in best[k]]
        rows[i] = row
    return rows


@dataclass
class TrainResult:
    """What :func:`train` returns.

    Attributes
    ----------
    estimator : sklearn.pipeline.Pipeline
        The fitted ``make_text_classifier`` pipeline.
    metrics : dict
        Test-set metrics (:func:`compute_metrics`) plus ``n_train``,
        ``fit_seconds`` and, unless ``baseline=False``, ``baseline``: the
        TF-IDF + LogisticRegression metrics on the same split
        (:func:`tfidf_baseline`).
    history : dict
        Per-epoch ``loss``/``accuracy`` (and ``val_*``) of the classifier.
    coverage : toolkit.vectors.CoverageReport or None
        How much of the vocabulary the word vectors cover.
    files : dict of str to pathlib.Path
        What was written, by name (``model``, ``metrics.json``, ``history.png``,
        ``confusion_matrix.png``); empty without ``output``.
    test_in_training : int
        How many test documents are, word for word (spaces around them aside),
        also training documents: their scores are not held-out scores.
    """

    estimator: object
    metrics: dict
    history: dict
    coverage: object = None
    files: dict = field(default_factory=dict)
    test_in_training: int = 0


#: ``toolkit train`` warns when at least this share of the test documents are training texts too (IMDB's
#: own test split repeats 123 of its 25,000 reviews, 0.5%: no warning; --test-data naming the training file: 100%).
TEST_IN_TRAINING_WARN = 0.01


def _test_in_training_warning(n: int, n_test: int, test_data) -> str | None:
    """The warning of ``toolkit train`` when many test documents are also training documents, else None."""
    if not n_test or n / n_test < TEST_IN_TRAINING_WARN:
        return None
    if test_data is not None:
        where, fix = f"--test-data {test_data}", f"`toolkit data describe DATA --test-data {test_data}` lists them"
    else:  # the data repeat texts, and the split put copies on both sides
        where, fix = "held out from --data", "`toolkit data describe DATA` lists the repeated texts; drop the copies"
    return (f"Warning: {n:,} of the {n_test:,} test documents ({n / n_test:.0%}, {where}) are also training "
            f"documents, word for word: the test scores above are inflated, not held-out scores. Test on texts "
            f"the model was not trained on; {fix}.")


#: The ``C`` values :func:`tfidf_baseline` chooses from on a validation split of the training data.
BASELINE_C_GRID = (1.0, 3.0, 10.0, 30.0)

BASELINE_NAME = "TF-IDF 1-2-grams (min_df=2, sublinear tf) + LogisticRegression"


def tfidf_baseline(x_train, y_train, x_test, y_test, *, random_state=0, validation_size=0.2) -> dict:
    """The scikit-learn baseline every toolkit model should beat, fitted and scored on the same split.

    ``TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True)`` +
    ``LogisticRegression`` (liblinear for two classes, lbfgs' multinomial
    model for more) on the raw texts. The
    vectorizer is fitted on the training texts; ``C`` is chosen from
    :data:`BASELINE_C_GRID` by accuracy on a stratified ``validation_size``
    split of the training data only (the documents of a class that has one
    stay in the fitting part; with more than two classes each C's fit starts
    from the previous, smaller C's solution); the model is then refitted on
    all the training data and scored once on the test data.

    Returns
    -------
    dict
        :func:`compute_metrics` of the test predictions plus ``model``, ``C``,
        ``validation_accuracy`` (None when no class has two documents to
        validate on: ``C`` is then the grid's first) and ``fit_seconds``.

    Examples
    --------
    >>> x = ["good", "great film", "good fun", "bad", "awful film", "bad plot"] * 5
    >>> y = ["pos", "pos", "pos", "neg", "neg", "neg"] * 5
    >>> tfidf_baseline(x, y, ["good plot", "awful"], ["pos", "neg"])["accuracy"]
    1.0
    """
    import time

    import numpy as np
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    start = time.perf_counter()
    y_train = np.asarray(y_train)
    # the vocabulary and idf are fitted once, on all the training texts (no labels, no test text);
    # C is then chosen on a stratified split of those rows. liblinear: the same l2 logistic loss as
    # lbfgs, about 3x less CPU on these sparse n-gram matrices.
    vectorizer = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True)
    x_all = vectorizer.fit_transform(x_train)
    _, counts = np.unique(y_train, return_counts=True)
    # a class with one document stays in the fitting part: held out, it would leave the fits without it
    # (a binary task's only positive review in the validation rows failed the fits, after the model's training)
    n_rows = int(counts[counts >= 2].sum())
    n_val = min(math.ceil(validation_size * len(y_train)), n_rows - 1)
    if n_val < 1:  # no class has two documents: nothing to validate on; the grid's first C
        fit_idx, val_idx = np.arange(len(y_train)), None
    else:
        # stratified unless a part cannot hold every class (many classes, few rows)
        n_classes = int((counts >= 2).sum())
        fit_idx, val_idx = split_singles_to_train(
            y_train, n_val, random_state=random_state,
            stratify=lambda y, n_fit, n_held: y if min(n_fit, n_held) >= n_classes else None)

    # liblinear fits two classes only (scikit-learn >= 1.8 no longer wraps it one-vs-rest): more classes
    # get lbfgs' multinomial model
    solver = "liblinear" if len(counts) <= 2 else "lbfgs"

    def make(c):
        return LogisticRegression(C=c, solver=solver, max_iter=1000)

    if val_idx is None:
        best_c, validation_accuracy = BASELINE_C_GRID[0], None
    else:
        # lbfgs (more than two classes) starts each C of the ascending grid from the previous C's solution: fewer
        # iterations of a cost that grows with n-grams x classes (CPU 36 -> 20 s on 50 movies, 51 -> 21 s on 8
        # star classes). The same objective, solved to the same tolerance from a nearer start, so the scores
        # can move by a few documents (8 star classes: C=3 chosen instead of 10). liblinear ignores warm_start.
        path, x_fit, y_fit = make(BASELINE_C_GRID[0]).set_params(warm_start=True), x_all[fit_idx], y_train[fit_idx]
        scores = {c: path.set_params(C=c).fit(x_fit, y_fit).score(x_all[val_idx], y_train[val_idx])
                  for c in sorted(BASELINE_C_GRID)}
        best_c = max(BASELINE_C_GRID, key=lambda c: (scores[c], -c))  # ties: the stronger regularisation
        validation_accuracy = round(float(scores[best_c]), 6)
    model = make(best_c).fit(x_all, y_train)
    fit_seconds = time.perf_counter() - start
    x_test_m = vectorizer.transform(x_test)
    metrics = compute_metrics(y_test, model.predict(x_test_m), model.predict_proba(x_test_m), classes=model.classes_)
    return {"model": BASELINE_NAME, "C": best_c, "validation_accuracy": validation_accuracy,
            **metrics, "fit_seconds": round(fit_seconds, 3)}


RECIPE = "recipe"


class TrainModel(str, Enum):
    """The choices of ``toolkit train --model``."""

    main = "main"
    stack = "stack"
    stack_many = "stack-many"


#: What ``train(model=...)`` fits: the main job's Keras model, the stacked model for few labels, or the
#: stacked model for many labels.
MODELS = tuple(m.value for m in TrainModel)
#: The stacked models and their recipes (names of :mod:`toolkit.models.recipes`).
STACK_RECIPES = {"stack": "STACK_JOB", "stack-many": "STACK_MANY_JOB"}


#: ``n_jobs`` of ``--model stack`` and ``stack-many``: every CPU. At 25,000 IMDB reviews on 2 cores the fit takes 217 s instead
#: of 355 s (BENCHMARKS.md, eighth session); the members' k-means clusters come from the disk cache.
STACK_N_JOBS = -1


def _keras_member(params) -> bool:
    """Whether a stack's parameters give it a Keras member (an ``"nbsvm++"`` n-gram model)."""
    from ..models.stacking import _ngram_models

    return "nbsvm++" in _ngram_models(params.get("ngram_model") or ())


def _needs_keras(model: str, params) -> bool:
    """Whether ``train --model model`` with the recipe ``params`` fits a Keras model, in this process or a worker.

    Every model does but a stack without a Keras member (``--model stack``:
    n-gram and word-vector members of scikit-learn): for it the CLI does not
    import TensorFlow, which cost ~6 CPU seconds and some hundred MB of each
    run (it never used it).
    """
    return model not in STACK_RECIPES or _keras_member(params)


#: the architectures the main job's n-gram settings were chosen for
NB_ARCHITECTURES = ("nbsvm", "nbsvm_vectors")


def _warn_recipe_ngrams(params: dict, settings: dict) -> None:
    """Warn when ``--set architecture=cnn`` (or bag, rnn, flatten) keeps the main job's NBSVM settings.

    The recipe's ``ngram_range=(1, 3)``, ``maxlen=None`` and ``max_tokens=800_000`` suit a bag of n-gram
    ids; a sequence model then reads each whole document three times over (words, bigrams, trigrams) with
    an embedding row per n-gram, most without a word vector. The warning gives the ``--set`` options of
    the estimator's own defaults, for the settings the user did not choose.
    """
    from ..models.classifier import EmbeddingClassifier

    defaults = {"ngram_range": (1, 1), **{k: EmbeddingClassifier().get_params()[k] for k in ("maxlen", "max_tokens")}}
    kept = {k: v for k, v in defaults.items() if k not in settings and params.get(k) != v}
    if kept:
        logger.warning(
            "--set architecture=%s keeps the main job's settings (%s), chosen for NBSVM's bag of n-grams, not for "
            "a sequence of words. For a %s over words, add %s.", params.get("architecture"),
            ", ".join(f"{k}={params.get(k)!r}" for k in kept), params.get("architecture"),
            " ".join(f'--set "{k}={v!r}"' if k == "ngram_range" else f"--set {k}={v!r}"
                     for k, v in defaults.items() if k in kept))


def _check_settings(model, params, settings) -> None:
    """Build the run's estimator from ``params`` and check every step's parameters against its constraints.

    ``toolkit train`` calls this before it imports TensorFlow and reads the
    data, so ``--set epoch=3`` or ``--set epochs=three`` fails in a second
    instead of after several (the estimators check their types only in
    ``fit``, after tokenizing). An unknown name in ``settings`` gets the
    closest valid name.

    Raises
    ------
    toolkit.cli._inputs.SettingError
        An unknown parameter name or a value of the wrong type or range.
    """
    from .._validation import validate_params
    from ..models.classifier import make_text_classifier

    extra = {}
    if model in STACK_RECIPES:
        from ..models.stacking import StackedTextClassifier

        extra = {"estimator": StackedTextClassifier()}
    try:
        estimator = make_text_classifier(**extra, **params)
    except ValueError as err:
        steps = make_text_classifier(**extra).steps
        valid = {name for _, step in steps for name in step.get_params(deep=False)}
        valid |= {f"{step_name}__{name}" for step_name, step in steps for name in step.get_params(deep=False)}
        hints = [f"'{key}'{hint}" for key in settings or {} if key not in valid
                 for hint in [_did_you_mean(key, valid)] if hint]
        message = f"{err}" + (f" Unknown --set name {', '.join(hints)}." if hints else "")
        if extra:  # `--model stack --set epochs=1`: a setting of the main job's Keras model, which is not this one
            main_steps = make_text_classifier().steps
            main_only = sorted(key for key in settings or {} if key not in valid
                               and any(key in step.get_params(deep=False) for _, step in main_steps))
            if main_only:
                message += (f" {', '.join(repr(k) for k in main_only)}: a parameter of --model main's Keras "
                            f"classifier, which --model {model} does not have; drop it, or train --model main.")
        raise SettingError(message) from err
    for _, step in getattr(estimator, "steps", [(None, estimator)]):
        constraints = getattr(step, "_parameter_constraints", None)
        if constraints:
            try:
                validate_params(step, constraints)
            except ValueError as err:
                raise SettingError(str(err)) from err
    note = _ignored_settings_note(estimator, settings)
    if note:
        _info(note)


def _ignored_settings_note(estimator, settings) -> str | None:
    """A line naming the ``--set`` layer settings the run's architecture does not read, else None.

    The classifier logs them at INFO only (a grid search sweeping ``architecture`` would repeat a warning for
    every fit); on the command line the user typed them, so ``--set rnn_cell=gru`` without ``--set
    architecture=rnn`` is said once, before the run.
    """
    from ..models.classifier import _BUILT_IN_ARCHITECTURES, _LAYER_PARAMETERS, EmbeddingClassifier

    steps = getattr(estimator, "steps", [(None, estimator)])
    classifier = next((step for _, step in steps if isinstance(step, EmbeddingClassifier)), None)
    if classifier is None or classifier.architecture not in _BUILT_IN_ARCHITECTURES:
        return None
    typed = [key.rsplit("__", 1)[-1] for key in settings or {}]
    unused = [name for name in dict.fromkeys(typed)
              if name in _LAYER_PARAMETERS and classifier.architecture not in _LAYER_PARAMETERS[name]]
    if not unused:
        return None
    owners = "; ".join(f"{name}: architecture={' or '.join(map(repr, _LAYER_PARAMETERS[name]))}" for name in unused)
    return (f"Note: architecture={classifier.architecture!r} does not use "
            f"{', '.join(f'--set {name}' for name in unused)}: ignored ({owners}). Add --set architecture=... "
            "to use them.")


def _recipe_params(model, data, vectors, settings, random_state) -> dict:
    """The ``make_text_classifier`` parameters of a train run: the model's recipe, then ``vectors``
    (unless ``"recipe"``), then ``settings``."""
    from ..models import recipes

    if model not in MODELS:
        raise SettingError(f"Unknown model {model!r} for train; choose one of {list(MODELS)}.")
    if model == "main":
        params = {"vectors": DEFAULT_VECTORS, **recipes.MAIN_JOB, "random_state": random_state}
    else:
        # the CLI fits the stack's members in parallel on every CPU (the estimator's own default,
        # n_jobs=None, is sequential, as in scikit-learn); --set n_jobs=1 turns it off
        params = {**getattr(recipes, STACK_RECIPES[model]), "n_jobs": STACK_N_JOBS, "random_state": random_state}
        if str(data) != "imdb":  # "unsup" is IMDB's unlabelled split: other text gets general-purpose vectors
            params["vectors"] = DEFAULT_VECTORS
    if not (isinstance(vectors, str) and vectors == RECIPE):
        params["vectors"] = vectors
    params.update(settings or {})
    if model == "main" and params.get("vectors") is None and params.get("architecture") == "nbsvm_vectors" \
            and "architecture" not in (settings or {}):
        # --vectors none on the main job: its recipe without the vector branch (nbsvm_vectors refuses no vectors)
        params["architecture"] = "nbsvm"
        logger.info("--vectors none: the main job's recipe without its vector branch (architecture='nbsvm')")
    if params.get("architecture") == "nbsvm_vectors" and params.get("vectors") is None:
        # checked here, before the data are read and tokenized (the classifier finds it only in its fit)
        raise SettingError(
            "--set architecture=nbsvm_vectors needs word vectors, but --vectors is none: give --vectors (a file, "
            "a manifest name such as glove.6B.50d, or a domain spec such as word2vec:unsup), or use "
            "architecture=nbsvm, the same model without them."
        )
    return params


def train(
    data="imdb", *, model="main", vectors=RECIPE, settings=None, test_data=None, test_size=0.2, limit=None,
    output=None, force=False, baseline=True, random_state=0, column="text", label_column="label", data_dir=None,
    cache_dir=None, progress=False,
) -> TrainResult:
    """Train a text classifier, score it on held-out data and save the run.

    With the defaults this is the main job: the IMDB reviews (manifest
    ``"imdb"``) and the parameters of :data:`toolkit.models.recipes.MAIN_JOB`
    (GloVe 6B 50-d vectors unless the recipe names others), through
    :func:`toolkit.models.make_text_classifier`, next to a TF-IDF +
    LogisticRegression baseline fitted on the same split.

    Parameters
    ----------
    data : str or path-like, default="imdb"
        See :func:`load_data`.
    model : {"main", "stack", "stack-many"}, default="main"
        ``"main"``: the main job's :class:`~toolkit.models.EmbeddingClassifier`
        (:data:`~toolkit.models.recipes.MAIN_JOB`). ``"stack"``:
        :class:`~toolkit.models.StackedTextClassifier` with
        :data:`~toolkit.models.recipes.STACK_JOB` (n-grams, n-grams of
        word-vector clusters and pooled domain vectors), the better model with a few thousand labels or fewer.
        ``"stack-many"``: the same class with
        :data:`~toolkit.models.recipes.STACK_MANY_JOB` (NBSVM++ and NBSVM
        n-grams, NBSVM on each document's last 20 tokens, a ridge to IMDB's stars when the data has them,
        pooled domain vectors and a nearest-neighbours vote over them), the better model with tens of
        thousands of labels. The stacks' default vectors are ``DOMAIN_VECTORS``
        (trained on IMDB's unlabelled reviews) for ``data="imdb"`` and GloVe
        6B-50d for other data, and their members are fitted in parallel on
        every CPU (``n_jobs=-1``; ``settings={"n_jobs": 1}`` keeps them in
        this process).
    vectors : str, path-like or None, default="recipe"
        Pretrained vectors (path or manifest name) or a domain-vector spec;
        None learns the embedding (``model="main"``) or drops the vector
        member (the stacks); ``"recipe"`` takes the model's default.
    settings : dict, optional
        Parameters of the pipeline by name (``{"epochs": 3, "ngram_range":
        (1, 2)}``) over the recipe's, routed by ``make_text_classifier``; an
        unknown name raises a :class:`SettingError` listing the valid ones.
    test_data : str or path-like, optional
        Separate test data; otherwise IMDB's test split or ``test_size``.
    test_size : float, default=0.2
        Held-out fraction for data without a test split.
    limit : int, optional
        Train and test on at most this many documents each (quick runs).
    output : path-like, optional
        Folder to write ``model/`` (:func:`toolkit.models.persistence.save_model`),
        ``metrics.json``, ``history.png`` and ``confusion_matrix.png`` into,
        all at once when everything is done (nothing on failure or Ctrl-C).
    force : bool, default=False
        Replace ``output`` when it holds an earlier run (a folder that is not
        a run folder is never replaced).
    baseline : bool, default=True
        Also fit :func:`tfidf_baseline` on the same split and report it under
        ``metrics["baseline"]``.
    random_state : int, default=0
        Seeds the split, the subsample and the classifier (unless ``settings``
        names ``random_state``).
    progress : bool, default=False
        Show progress bars on stderr: the tokenizer's, and the model's (epochs of the Keras
        model, member fits of a stack).

    Returns
    -------
    TrainResult
    """
    import time

    from ..models.classifier import make_text_classifier

    # --data-dir / --cache-dir reach the estimators (GloVe by manifest name, a domain spec's unsup reviews)
    # and the worker processes that fit them: they read TOOLKIT_DATA_DIR / TOOLKIT_CACHE_DIR
    with data_folders(data_dir, cache_dir):
        params = _recipe_params(model, data, vectors, settings, random_state)
        extra = {}
        if model in STACK_RECIPES:
            from ..models.stacking import StackedTextClassifier

            extra = {"estimator": StackedTextClassifier()}
        try:
            estimator = make_text_classifier(**extra, **params)  # unknown names fail here, before any loading
        except ValueError as err:
            raise SettingError(str(err)) from err
        if model == "main" and params.get("architecture") not in NB_ARCHITECTURES:
            _warn_recipe_ngrams(params, settings or {})
        check_limit(limit, owner="train")
        earlier = False  # an earlier run in the output folder, which --force replaces
        if output is not None:
            _check_run_folder(output, force=force)
            earlier = _is_filled_folder(output)

        x_train, y_train, x_test, y_test, r_train, (p_train, p_test) = load_train_test(
            data, test_data=test_data, test_size=test_size, limit=limit, random_state=random_state,
            column=column, label_column=label_column, data_dir=data_dir, cache_dir=cache_dir, with_ratings=True,
            with_positions=True, progress=progress,
        )
        # an estimator's error about document i of its X (a DocumentError) names the record of the user's file
        fit_params = {}
        if r_train is not None and getattr(_final_estimator(estimator), "ratings_alpha", None) is not None:
            # the stack's "ratings" member learns the stars (IMDB); prediction does not need them
            fit_params["classifier__ratings"] = r_train
            logger.info("The stack's 'ratings' member learns the training reviews' ratings")
        if test_data is None and str(data).lower() != "imdb":
            _check_split_classes(y_train, y_test, data, limit=limit)
        _check_known_labels(y_test, sorted(set(map(str, y_train))), f"The test data ({test_data or data})")
        if model in STACK_RECIPES:
            _check_stack_classes(y_train, params.get("cv", 5), model)
        y_test = _as_classes(y_test, sorted(set(map(str, y_train))))
        logger.info("Training on %d documents, testing on %d", len(x_train), len(x_test))
        import shutil

        staged = None
        try:
            with _progress_bars(estimator, progress, keep=params), \
                    _records_named(p_train, "training part", raise_limit=_RAISE_LIMIT):
                start = time.perf_counter()  # the saved model keeps the user's settings (keep=params)
                estimator.fit(x_train, y_train, **fit_params)
                fit_seconds = time.perf_counter() - start
            # saved now, before the test texts are tokenized, so the model's span table (spans.npz) holds
            # the training texts' spans only; moved into the run folder at the end
            staged = _stage_model(estimator, Path(output).expanduser()) if output is not None else None
            with _progress_bars(estimator, progress, keep=params), \
                    _records_named(p_test, "test part", raise_limit=_RAISE_LIMIT):
                pred, proba, classes = _scores(estimator, x_test)
            metrics = compute_metrics(y_test, pred, proba, classes=classes)
            metrics.update(n_train=len(x_train), n_test=len(x_test), fit_seconds=round(fit_seconds, 3))
            if baseline:
                metrics["baseline"] = tfidf_baseline(x_train, y_train, x_test, y_test, random_state=random_state)

            final = _final_estimator(estimator)
            history = {k: [float(v) for v in vals] for k, vals in dict(getattr(final, "history_", {}) or {}).items()}
            result = TrainResult(estimator, metrics, history, getattr(final, "embedding_coverage_", None))
            seen = {str(text).strip() for text in x_train}
            result.test_in_training = sum(str(text).strip() in seen for text in x_test)
            if output is not None:
                from ..plots import plot_confusion_matrix, plot_history

                output = _free_run_folder(Path(output).expanduser(), earlier)
                with atomic_output(output, directory=True) as tmp:  # the whole run folder or nothing
                    shutil.move(str(staged), str(tmp / "model"))
                    (tmp / "metrics.json").write_text(
                        json.dumps({**metrics, "settings": _jsonable_settings({"model": model, **params})}, indent=2) + "\n"
                    )
                    written = ["model", "metrics.json"]
                    if history:
                        # the estimator itself: plot_history marks the epoch whose weights it kept (best_epoch_)
                        plot_history(final if hasattr(final, "history_") else history, tmp / "history.png")
                        written.append("history.png")
                    plot_confusion_matrix(y_test, pred, metrics["classes"], tmp / "confusion_matrix.png")
                    written.append("confusion_matrix.png")
                result.files = {name: output / name for name in written}
            return result
        finally:
            if staged is not None:  # moved into the run folder, or left by an error: its temporary parent goes
                shutil.rmtree(staged.parent, ignore_errors=True)


def _is_filled_folder(path) -> bool:
    path = Path(path).expanduser()
    return path.is_dir() and any(path.iterdir())


def _free_run_folder(output: Path, earlier: bool, *, command: str = "toolkit train", option: str = "--output") -> Path:
    """Where to write the run: ``output``, unless another process wrote a run there while this one trained.

    Two ``toolkit train`` started in the same second (a shell loop with ``&``)
    share the default ``runs/<timestamp>``, and two given one ``--output`` by
    mistake share that: the folder was free when each checked it, and the
    last to finish would replace the other's run, model included, without a
    word. An earlier run that was there at the start (``--force``) is
    replaced; one that appeared since is kept, and this run goes to the first
    free ``<output>-2``, ``<output>-3``... (a warning names it, with ``command``
    and its ``option``: ``toolkit grid`` calls it for ``--refit-output``).
    """
    if earlier or not _is_filled_folder(output):
        return output
    n = 2
    while os.path.lexists(output.with_name(f"{output.name}-{n}")):
        n += 1
    free = output.with_name(f"{output.name}-{n}")
    logger.warning("%s was written by another process while this run trained (another '%s' with the same %s, "
                   "or started in the same second); it is kept, and this run is saved in %s.",
                   output, command, option, free)
    return free


def _stage_model(estimator, output: Path) -> Path:
    """Save ``estimator`` into a fresh temporary folder beside the run folder ``output``; the saved model's path.

    Beside it, not in the temporary folder (``/tmp``, often the small disk of a
    shared machine): moving it into the run folder is then a rename, and a full
    disk is the output's, reported as such (before: a full ``/tmp`` failed as
    "Cannot write the output", and a full output disk as a toolkit bug, from
    ``shutil.move`` copying across file systems). Removed if saving fails;
    the caller removes it after the move.
    """
    import shutil
    import tempfile

    from .._atomic import nearest_existing_parent
    from ..models.persistence import save_model

    folder = Path(tempfile.mkdtemp(prefix=f".{output.name}.", suffix=".tmp-model",
                                   dir=nearest_existing_parent(output)))
    try:
        return save_model(estimator, folder / "model")
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise


def _jsonable_settings(params: dict) -> dict:
    return {k: (v if isinstance(v, (str, int, float, bool, type(None), list, dict)) else repr(v)) for k, v in params.items()}


def _is_domain_spec(vectors) -> bool:
    from ..vectors.domain import is_domain_spec  # imported when needed: the CLI starts light

    return is_domain_spec(vectors)


def _manifests_read(data, test_data, vectors) -> list[str]:
    """The manifests a train run fetches: ``"imdb"`` when the data or test data is IMDB, and the vectors' when
    they are given by manifest name (``glove.6B.50d``); not a file's, nor a domain spec's (its texts are data)."""
    names = ["imdb"] if "imdb" in (str(data).lower(), str(test_data).lower()) else []
    if isinstance(vectors, str) and not _is_domain_spec(vectors):
        from ..vectors.loading import locate_vectors

        kind, found = locate_vectors(vectors)  # as load_vectors resolves it (checked by _check_vectors)
        if kind == "manifest":
            names.append(found.name)
    return names


def _fetch_first(names, *, data_dir=None, cache_dir=None) -> None:
    """Fetch the manifests ``names`` before TensorFlow and the tokenizer load: a missing one fails in seconds.

    Offline, the main job without GloVe in its data folder read and tokenized the reviews, loaded TensorFlow, then
    failed three download attempts of glove.6B.zip, a message that named neither glove.6B.50d.txt.gz (what the
    data folder may hold instead) nor, when IMDB failed first, that GloVe was missing too. A failed download
    names every file the data folder may hold, and the other resources of the run that neither it nor the
    cache has. Fetched files are verified once: the estimator's own fetch finds them in the process's memo.
    """
    if not names:
        return
    from .._config import get_cache_dir, get_data_dir
    from ..data.datasets import _find_local, fetch
    from ..data.manifests import get_manifest
    from ..exceptions import ChecksumError

    folder = get_data_dir(data_dir)

    def local(manifest) -> bool:
        if folder is not None and folder.is_dir() and _find_local(manifest, folder) is not None:
            return True
        cache = get_cache_dir(cache_dir) / "data" / manifest.name
        return all((cache / mfile.filename).exists() for mfile in manifest.files)

    manifests = [get_manifest(name) for name in names]
    for i, manifest in enumerate(manifests):
        try:
            fetch(manifest.name, data_dir=data_dir, cache_dir=cache_dir, progress=_progress())
        except ChecksumError:
            raise
        except DataError as err:
            if local(manifest):  # a data folder set one level off, an unreadable file: its own message says all
                raise
            lacking = [manifest, *(m for m in manifests[i + 1:] if not local(m))]
            if folder is not None and len(lacking) == 1:  # fetch's message names the files the folder may hold
                raise
            holds = "; ".join(f"{' or '.join(m.candidate_names)} for {m.name!r}" for m in lacking)
            where = "the data folder" if folder is not None else "an offline data folder (--data-dir or TOOLKIT_DATA_DIR)"
            also = (f" This run also needs {', '.join(repr(m.name) for m in lacking[1:])}, which "
                    f"{'neither the data folder nor the cache holds' if folder is not None else 'the cache lacks'}."
                    if len(lacking) > 1 else "")
            raise DataError(f"{err}{also} Without a network, put in {where}: {holds} (a copy that is not the "
                            "published file: list its sha256 in the folder's SHA256SUMS).") from err


def _recipe_tokenizer(recipe: dict):
    """The tokenizer a stack ``recipe`` trains with (``lowercase=False`` and the like), or None (its defaults)
    when the settings fail to build: ``train`` names that error itself."""
    from ..models.classifier import make_text_classifier
    from ..models.stacking import StackedTextClassifier

    try:
        return make_text_classifier(estimator=StackedTextClassifier(), **recipe).named_steps["tokenizer"]
    except (TypeError, ValueError):
        return None


def _domain_vectors_notice(spec, *, data_dir=None, cache_dir=None, tokenizer=None) -> str | None:
    """What to tell the user before a stack trains on a domain spec: nothing when its vectors are cached.

    ``tokenizer`` (the recipe's, or its parameters) decides the cache key, as in the fit; None: its defaults.
    """
    from ..vectors.domain import domain_vectors_cached, parse_domain_spec

    cached = domain_vectors_cached(spec, data_dir=data_dir, cache_dir=cache_dir, tokenizer=tokenizer)
    if cached:
        return None
    if cached is None:  # the training texts are part of the vectors' key: each fit trains its own
        return ("The stacked model trains domain vectors on the training texts (with any unlabelled source "
                "the spec names) in each fit, and caches them by content.")
    source = parse_domain_spec(spec).source  # a user's own file says nothing about IMDB's 4 minutes
    where = ("IMDB's 50,000 unlabelled reviews (about 4 minutes)" if source == "unsup"
             else source if isinstance(source, str) else "the spec's unlabelled texts")
    return f"The stacked model's domain vectors are trained on this first run, on {where}, and read from the cache afterwards."


#: below this many training documents the stack (``STACK_JOB``) leads the main job on IMDB's learning curve
FEW_LABELS = 5000


def _model_hint(model: str, n_train: int, accuracy: float, baseline: float) -> str | None:
    """A line for a main-job run that lost to its baseline on few labels: the stack is the model for those."""
    if model != "main" or n_train >= FEW_LABELS or accuracy >= baseline:
        return None
    return (f"Hint: with {n_train:,} training documents, try --model stack: it is the toolkit's model for fewer "
            f"than {FEW_LABELS:,} labels (the main job is tuned for tens of thousands; see the learning curve "
            "in README.md).")


def _names_a_file(text: str) -> bool:
    """Whether a one-line ``text`` is the path of an existing file or folder."""
    if not text.strip() or "\n" in text or len(text) > 4096:
        return False
    try:
        return Path(text).expanduser().exists()
    except (OSError, ValueError):  # a name too long for the file system, a NUL byte
        return False


def _check_test_size(test_size: str | float) -> float | int:
    """``--test-size`` as :func:`~toolkit.cli._inputs.load_train_test` takes it: a fraction in (0, 1), or a
    whole number of at least 2 as a count of documents (``--test-size 500``; typer read it as 500.0, which
    scikit-learn refused as "Got 500.0" although its message allows an int).

    The option is read as text, so that ``1.0`` (a fraction: every document held out, an error) and ``1`` (one
    test document, whose accuracy can only be 0 or 1: an error too) are told apart; typer's float made both
    1.0, which trained on all but one document and reported "accuracy 1.0000 on 1 documents".
    """
    text = str(test_size).strip()
    usage = "give the held-out fraction of the data, between 0 and 1 (e.g. 0.2), or a whole number of test " \
            "documents (e.g. 500)."
    try:
        value = float(text)
    except ValueError:
        raise SettingError(f"--test-size {text!r} is not a number: {usage}") from None
    written_whole = text.lstrip("+").isdigit()  # "500"; "500.0" is a count as well, "1.0" a fraction
    if 0 < value < 1:
        return value
    if value == 1 and not written_whole:
        raise SettingError(f"--test-size {text}: a fraction of 1 holds out every document and leaves none to "
                           f"train on; {usage}")
    if value == 1:
        raise SettingError("--test-size 1: a test part of one document scores 0 or 1, which measures nothing; "
                           "give at least as many test documents as the data has classes (e.g. 500), or a "
                           "fraction (e.g. 0.2).")
    if value > 1 and math.isfinite(value) and value == int(value):
        return int(value)
    raise SettingError(f"--test-size {text}: {usage}")


@contextlib.contextmanager
def _predict_documents_named(source):
    """Turn the tokenizer's error about "Document i of X" (a text too long) in the block into one naming the
    line or record of ``source`` (``--input``/stdin, as the command read it), or the text argument (``source``
    None); it was "Document 0 of X"."""
    if source is not None:
        from .text import _documents_named

        with _documents_named(source, raise_limit=None):  # the model's tokenizer keeps its max_length
            yield
        return
    try:
        yield
    except DocumentError as err:
        if err.document_index is None:
            raise
        from ..text.tokenizer import reword_too_long

        message = reword_too_long(str(err), raise_limit=None, skip="pass --skip-bad")
        raise DocumentError(DocumentError(message).naming(f"Text argument {err.document_index + 1}"),
                            document_index=err.document_index) from err


def _default_run_dir() -> Path:
    import time

    return Path("runs") / time.strftime("%Y%m%d-%H%M%S")


# train replaces only an earlier run folder, evaluate and predict a file: "(an earlier run folder, a file)" in
# all three said evaluate/predict replaced run folders and train files, which none of them does
_opt_force = typer.Option(False, "--force", "-f", help="Replace an earlier run folder (one with metrics.json); "
                          "other folders and files are never replaced.")
_opt_force_plot = typer.Option(False, "--force", "-f", help="Replace an existing --plot file.")
_opt_force_output = typer.Option(False, "--force", "-f", help="Replace an existing --output file.")


def _format_metrics(m: dict) -> str:
    auc = "n/a" if m.get("roc_auc") is None else f"{m['roc_auc']:.4f}"
    balanced = "" if m.get("balanced_accuracy") is None else f", balanced accuracy {m['balanced_accuracy']:.4f}"
    mae = "" if m.get("mean_absolute_error") is None else f", mean absolute error {m['mean_absolute_error']:.4f}"
    key = f"top_{TOP_K_REPORTED}_accuracy"
    top = "" if m.get(key) is None else f", top-{TOP_K_REPORTED} accuracy {m[key]:.4f}"
    return f"accuracy {m['accuracy']:.4f}{balanced}{top}, F1 {m['f1']:.4f}{mae}, ROC AUC {auc}"


def _one_class_warning(m: dict) -> str | None:
    """A line for metrics whose predictions are all one class while the data holds several: on imbalanced
    data such a model's accuracy is the share of that class, and says nothing about the others."""
    matrix, classes = m.get("confusion_matrix"), m.get("classes")
    if not matrix or not classes:
        return None
    predicted = [j for j in range(len(classes)) if any(row[j] for row in matrix)]
    present = [i for i, row in enumerate(matrix) if sum(row)]
    if len(predicted) != 1 or len(present) < 2:
        return None
    share = sum(matrix[predicted[0]]) / max(1, m.get("n_samples") or sum(map(sum, matrix)))
    return (f"Warning: the model predicts {classes[predicted[0]]!r} for every one of the {m.get('n_samples')} test "
            f"documents; its accuracy is that class's share of them ({share:.1%}) and its recall of the other "
            f"classes is 0 (balanced accuracy {m['balanced_accuracy']:.4f}); see per_class in the metrics. On "
            "imbalanced data, train with --set class_weight=balanced (the main job and --model stack / stack-many "
            "take it), or add documents of the rare classes.")


@app.command("train")
@_errors_to_exit
def train_cmd(
    data: str = typer.Option("imdb", "--data", help="'imdb', a class-per-folder directory, or a CSV/TSV/JSONL file."),
    model: TrainModel = typer.Option(
        "main", "--model", "-m",
        help="main: the main job's Keras model (recipes.MAIN_JOB). stack: StackedTextClassifier, NBSVM "
             "1-3-grams + NBSVM on word-vector cluster 1-3-grams + pooled domain vectors (recipes.STACK_JOB), "
             "better with a few thousand labels or fewer. stack-many: StackedTextClassifier, NBSVM++ and NBSVM "
             "1-3-grams + NBSVM on the last 20 tokens + a ridge to the stars (IMDB) + pooled domain vectors + a "
             "vote of the 300 nearest training documents by those vectors (recipes.STACK_MANY_JOB), better with "
             "tens of thousands. The "
             "stacks' members are fitted in parallel on every CPU (--set n_jobs=1: in this process only).",
    ),
    vectors: str = typer.Option(
        None, "--vectors", "-V", show_default=False,
        help=f"Vectors file, manifest name or domain spec (word2vec:unsup); 'none' drops them (the main job: "
             f"its n-gram part alone, architecture nbsvm; other architectures learn the embedding; the stacks: "
             f"no vector member). Default: the recipe's ({DEFAULT_VECTORS} for main; "
             f"for the stacks, 300-d word2vec on IMDB's unlabelled reviews with --data imdb, else {DEFAULT_VECTORS}).",
    ),
    settings: list[str] = _opt_set,
    test_data: str = typer.Option(None, "--test-data", help="Separate test data (default: IMDB's test split or --test-size)."),
    test_size: str = typer.Option(
        "0.2", "--test-size", metavar="SIZE",
        help="Held-out fraction (0 < SIZE < 1) for data without a test split, or a whole number of test documents "
             "(at least 2).",
    ),
    limit: int = typer.Option(None, "--limit", min=1, help="Train and test on at most N documents each (quick runs)."),
    output: Path = typer.Option(None, "--output", "-o", help="Run folder (default: runs/<timestamp>)."),
    force: bool = _opt_force,
    baseline: bool = typer.Option(True, "--baseline/--no-baseline",
                                  help="Also fit TF-IDF + LogisticRegression on the same split and report it."),
    random_state: int = typer.Option(0, "--random-state", min=0, max=2**32 - 1,
                                     help="Seed of the split, subsample and classifier."),
    column: str = _opt_column,
    label_column: str = _opt_label_column,
    data_dir: Path = _opt_data_dir,
    cache_dir: Path = _opt_cache_dir,
) -> None:
    """Train the main job (IMDB + the recipe in toolkit.models.recipes, GloVe 6B-50d); save the model, metrics.json and plots.

    --model stack: the stacked model for few labels instead (try it with --limit 1000).
    --model stack-many: the stacked model for many labels.

    Every input and the output folder are checked before anything heavy is
    loaded. The run folder appears only when everything is done.
    """
    if vectors is None:
        vectors = RECIPE
    elif vectors.lower() == "none":
        vectors = None
    output = _default_run_dir() if output is None else output
    params = _settings(settings)
    if isinstance(params.get("vectors"), str) and params["vectors"].strip().lower() == "none":
        params["vectors"] = None  # as --vectors none, and as grid's --set vectors=none
    if not (isinstance(vectors, str) and vectors == RECIPE) and "vectors" in params and params["vectors"] != vectors:
        # --set vectors= replaced --vectors without a word (--vectors none --set vectors=glove.6B.50d trained with GloVe)
        raise SettingError(f"--vectors {'none' if vectors is None else vectors} and --set "
                           f"vectors={'none' if params['vectors'] is None else params['vectors']} name two vectors; "
                           "give one of them (--vectors).")
    test_size = _check_test_size(test_size)
    if limit == 1:  # trained on one document (of one class) and scored on one, which says 0 or 1
        raise SettingError("--limit 1 keeps one training and one test document: a model needs documents of two "
                           "classes to learn from, and one test document scores 0 or 1. Give --limit 2 or more "
                           "(e.g. --limit 1000 for a quick run).")
    if test_size != 0.2 and (test_data is not None or str(data).lower() == "imdb"):  # it was dropped silently
        given = f"--test-data {test_data}" if test_data is not None else "IMDB's test split"
        _info(f"Warning: --test-size {test_size:g} is ignored: the test documents are {given}. It splits "
              "data that has no test part (a CSV/TSV/JSONL file or a folder without --test-data).")
    _check_data(data, labelled=True)
    _check_data(test_data, labelled=True)
    # a missing --column / --label-column from the header or first record, before TensorFlow loads
    check_columns(data, column=column, label_column=label_column)
    check_columns(test_data, column=column, label_column=label_column, training=data)
    _check_vectors(None if vectors == RECIPE else vectors)
    if params.get("vectors") is not None:  # checked now, not after TensorFlow has loaded
        _check_vectors(params["vectors"], option="--set vectors=")
    _check_run_folder(output, force=force)
    # with --force, "Nothing was written to runs/main" left the user to wonder whether the earlier run survived
    kept = " (it still holds the earlier run, which --force replaces only then)" if _is_filled_folder(output) else ""
    _state["on_interrupt"] = (
        f"Nothing was written to {output}{kept}: the run folder is written only when training completes. "
        "Caches of finished steps (tokens, vectors) are kept."
    )

    recipe = _recipe_params(model.value, data, vectors, params, random_state)
    _check_settings(model.value, recipe, params)  # a typo in --set fails now, not after TensorFlow and the data load
    # labels of one class (a --label-column of one value), a folder without texts, an undecodable file: after the
    # cheap checks (the data is read, once) and before TensorFlow and the tokenizer load
    check_training_classes(data, column=column, label_column=label_column, test_data=test_data)
    if test_data is None and str(data).lower() != "imdb":  # a --test-size too large for the data, now
        dataset = preload_data(data, column=column, label_column=label_column)  # (the data read above)
        if dataset is not None:
            check_test_size(test_size, len(dataset.texts), data)
    if str(data).lower() == "imdb" or str(test_data).lower() == "imdb":
        from ..data.datasets import check_data_folder

        check_data_folder("imdb", data_dir=data_dir, cache_dir=cache_dir)  # a folder set one level off
    # IMDB and the vectors by manifest name, now: offline, a missing GloVe failed after the reviews were tokenized
    _fetch_first(_manifests_read(data, test_data, recipe.get("vectors")), data_dir=data_dir, cache_dir=cache_dir)
    if model.value in STACK_RECIPES and _is_domain_spec(recipe["vectors"]):
        notice = _domain_vectors_notice(recipe["vectors"], data_dir=data_dir, cache_dir=cache_dir,
                                        tokenizer=_recipe_tokenizer(recipe))
        if notice:
            _info(notice)
    if _needs_keras(model.value, recipe):
        _load_tensorflow_quietly()
    from ..vectors._parse import spelled_as
    from .vectors import OptionSpelling

    # a vectors file the model cannot read: the advice in the shell's terms (a copy written by vectors convert)
    with _stop_on_interrupt(), _quiet_workers(_keras_member(recipe)), spelled_as(OptionSpelling(options=())):
        result = train(
            data, model=model.value, vectors=vectors, settings=params, test_data=test_data, test_size=test_size, limit=limit,
            output=output, force=force, baseline=baseline, random_state=random_state, column=column,
            label_column=label_column, data_dir=data_dir, cache_dir=cache_dir, progress=_progress(),
        )
    if result.coverage is not None:
        _info(str(result.coverage))
    m = result.metrics
    _info(f"Test {_format_metrics(m)} on {m['n_test']} documents "
          f"(trained on {m['n_train']} in {m['fit_seconds']:.1f} s)")
    warning = _one_class_warning(m)
    if warning:
        _info(warning)
    warning = _test_in_training_warning(result.test_in_training, m["n_test"], test_data)
    if warning:
        _info(warning)
    if "baseline" in m:
        b = m["baseline"]
        _info(f"Baseline {b['model']} (C={b['C']:g}, chosen on a validation split of the training data): "
              f"{_format_metrics(b)}; toolkit model {100 * (m['accuracy'] - b['accuracy']):+.2f} accuracy points")
        hint = _model_hint(model.value, m["n_train"], m["accuracy"], b["accuracy"])
        if hint:
            _info(hint)
    for name, path in result.files.items():
        _info(f"  {name:<21} {path}")
    typer.echo(_json(m), nl=False)


def _data_argument_or_option(ctx, argument, option):
    """evaluate's data: the DATA argument or ``--data`` (train's spelling), not two different ones.

    ``toolkit evaluate MODEL --data reviews.csv``, the way the model was trained, was "No such option: --data".
    """
    if option is None:
        return argument
    source = ctx.get_parameter_source("data") if ctx is not None else None
    given = source is not None and source.name not in ("DEFAULT", "DEFAULT_MAP")
    if given and argument != option:
        raise SettingError(f"The data is given twice, as the argument {argument!r} and as --data {option!r}; give "
                           "one of them.")
    return option


def _check_saved_model(model) -> None:
    """:func:`_check_model_folder` of ``model``, after putting back the folder a save killed between its two
    renames had hidden (:func:`~toolkit._atomic.recover_moved_aside`), as :func:`load_model` does: the commands
    said "No saved model folder" of a model that load_model loads."""
    recover_moved_aside(Path(model).expanduser())
    _check_model_folder(model)


def _load_tensorflow_for(model) -> None:
    """:func:`_load_tensorflow_quietly`, only when loading the model folder ``model`` needs Keras.

    A folder with the NB architectures' weights as arrays (``nb_weights.npz``:
    the main job's) or a scikit-learn model (``model.skops``: the stacks)
    loads and predicts without Keras; importing TensorFlow for it cost ~4 CPU
    seconds of a one-review ``toolkit predict``.
    """
    from ..models.persistence import _MODEL_FILE, _NB_WEIGHTS_FILE

    folder = Path(model).expanduser()
    if (folder / _MODEL_FILE).is_file() and not (folder / _NB_WEIGHTS_FILE).is_file():
        _load_tensorflow_quietly()


@app.command("evaluate")
@_errors_to_exit
def evaluate_cmd(
    ctx: typer.Context,
    model: Path = typer.Argument(..., help="Model folder written by 'toolkit train'."),
    data: str = typer.Argument("imdb",
                               help="'imdb' (see --split), a class-per-folder directory, or a CSV/TSV/JSONL file "
                                    "(or with --data, as train takes it)."),
    data_option: str = typer.Option(None, "--data", show_default=False,
                                    help="The data, as 'toolkit train --data' takes it (instead of the DATA argument)."),
    split: str = typer.Option("test", "--split", help="IMDB split."),
    limit: int = typer.Option(None, "--limit", min=1, help="Score at most N documents (stratified sample)."),
    plot: Path = typer.Option(None, "--plot", parser=_file_path, metavar="<path>",
                              help="Also write the confusion matrix image here: its suffix names the format (.png, "
                                   ".pdf, .svg...); a name without one gets .png."),
    force: bool = _opt_force_plot,
    column: str = _opt_column,
    label_column: str = _opt_label_column,
    data_dir: Path = _opt_data_dir,
    cache_dir: Path = _opt_cache_dir,
) -> None:
    """Score a trained model on labelled data; metrics JSON on stdout.

    The data is the argument after the model folder, or --data as for train (`toolkit evaluate MODEL --data
    reviews.csv`).
    """
    data = _data_argument_or_option(ctx, data, data_option)
    _check_saved_model(model)
    _check_data(data, labelled=True)
    if str(data).lower() == "imdb" and split == "unsup":  # it failed only after the model and the tarball loaded
        raise SettingError("--split unsup: IMDB's unsup reviews have no labels to score against; give --split test "
                           "(or train). To label them, use `toolkit predict MODEL --input FILE`.")
    if str(data).lower() == "imdb" and split not in ("train", "test"):  # before the model loads
        raise SettingError(f"--split {split!r}{_did_you_mean(split, ['train', 'test'])}: IMDB's labelled splits "
                           "are 'train' and 'test'.")
    if str(data).lower() != "imdb" and split != "test":  # it was dropped without a word
        _info(f"Warning: --split {split} is ignored: only 'imdb' has splits; {data} is scored whole (or its "
              "--limit sample).")
    if _is_stdout(plot):  # it wrote a PNG file named "-"
        raise SettingError("--plot -: the confusion matrix is an image written to a file, not to standard output; "
                           "give the file's name (e.g. cm.png).")
    if plot is not None and not plot.suffix and not plot.is_dir():
        # `--plot cmx` wrote a PNG named cmx, which no image viewer opens by its name; a folder is refused below
        _info(f"Note: --plot {plot} has no suffix: the confusion matrix is written as PNG to {plot}.png.")
        plot = plot.with_name(plot.name + ".png")
    _check_output_file(plot, force=force, option="--plot")
    if plot is not None:  # an image format matplotlib writes (the suffix), before the scoring
        from ..plots import _check_path

        _check_path(plot)

    if str(data).lower() == "imdb":  # a data folder set one level off: now, as train says it, not after the model
        from ..data.datasets import check_data_folder

        check_data_folder("imdb", data_dir=data_dir, cache_dir=cache_dir)
        _fetch_first(["imdb"], data_dir=data_dir, cache_dir=cache_dir)  # offline: failed after TensorFlow loaded
    # the data read now (a folder without texts, an undecodable file: named before TensorFlow loads), once
    preload_data(data, column=column, label_column=label_column)
    _load_tensorflow_for(model)
    metrics = evaluate(model, data, split=split, limit=limit, column=column, label_column=label_column, plot=plot,
                       data_dir=data_dir, cache_dir=cache_dir, progress=_progress())
    warning = _one_class_warning(metrics)
    if warning:
        _info(warning)
    typer.echo(_json(metrics), nl=False)


@app.command("predict")
@_errors_to_exit
def predict_cmd(
    model: Path = typer.Argument(..., help="Model folder written by 'toolkit train'."),
    texts: list[str] = typer.Argument(None, help="Texts to classify ('-' alone: stdin; default: --input, else stdin)."),
    input: str = typer.Option(None, "--input", "-i", help=_INPUT),
    column: str = _opt_column,
    output: Path = _opt_output,
    force: bool = _opt_force_output,
    skip_bad: bool = typer.Option(
        False, "--skip-bad", help="Documents that cannot be tokenized (too long) get {\"label\": null, "
        "\"skipped\": true} instead of failing the batch; the tokenizer logs their indices on stderr.",
    ),
    top: int = typer.Option(
        None, "--top", min=1, help="List only the K most probable classes of each text, most probable first, "
        "as \"top\": [{\"label\": ..., \"probability\": ...}, ...] instead of every class's probability "
        "(with many classes).", metavar="K",
    ),
    format: str = typer.Option(
        None, "--format", metavar="jsonl|csv|tsv", help="jsonl: one JSON object per text; csv or tsv: a table with "
        "a header, the columns label, then probability_<class> for each class (with --top K: top_1_label, "
        "top_1_probability, ... top_K_probability). Default: from the --output file's suffix (.csv, .tsv, also "
        ".csv.gz), else jsonl.",
    ),
) -> None:
    """Predict labels and class probabilities; one JSON object per text (JSONL), or a CSV/TSV table.

    The arguments after the model folder are texts ('-' alone: stdin); read a file's lines with --input FILE.
    With --input FOLDER each row also names its file ("file", relative to the folder).
    -o predictions.csv writes a CSV table (--format csv to standard output); an --output named .gz, .bz2 or
    .xz is written compressed.
    """
    _check_saved_model(model)
    format = _predict_format(format, output)
    _check_output_compression(output)
    if texts == ["-"]:  # the usual name of stdin, as for `toolkit tokenize -`; not a text anyone classifies
        texts, input = None, "-" if input is None else input
    if texts and "-" in texts:  # `predict MODEL - -` or `predict MODEL "a text" -` classified the string "-"
        raise SettingError(f"'-' (standard input) is one of the {len(texts)} text arguments: give '-' alone to "
                           "read the texts from standard input, or the texts as arguments, not both.")
    if texts and input is not None:
        raise ValueError(f"Give the texts as arguments or with --input, not both: --input {input!r} would be "
                         f"ignored for the {len(texts)} text(s) given as arguments.")
    _check_data(input)
    _check_output_file(output, force=force)
    for text in texts or ():
        if _names_a_file(text):  # `toolkit tokenize FILE` reads FILE; here FILE would be classified as a text
            _info(f"Warning: the argument {text!r} is classified as a text, but it is also the path of a "
                  f"{'folder' if Path(text).is_dir() else 'file'}; to classify what it holds, use --input {text}.")
    source = None  # the texts are the arguments
    filenames = []  # of a folder's documents: its rows name them (row k was the k-th file in natural order)
    if not texts:
        source = "-" if input is None else input
        texts = _read_texts(source, column=column, filenames=filenames)
        if not texts:  # `toolkit predict MODEL < /dev/null` (cron's stdin, a forgotten --input): say so
            _info(f"Warning: no texts in {'standard input' if source == '-' else source}: nothing to predict. "
                  "Give the texts as arguments, with --input FILE, or on standard input.")

    _load_tensorflow_for(model)
    with _predict_documents_named(source):
        rows = predict(model, texts, progress=_progress(), skip_bad=skip_bad, top=top)
    if filenames:
        rows = [{"file": name, **row} for name, row in zip(filenames, rows, strict=True)]
    text = _jsonl(rows) if format == "jsonl" else _prediction_table(rows, delimiter="," if format == "csv" else "\t")
    _emit_data(text, output)
