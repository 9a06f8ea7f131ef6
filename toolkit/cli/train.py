"""``toolkit train``, ``evaluate`` and ``predict``: the task functions and their commands."""

from __future__ import annotations

import contextlib
import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

import typer

from .._atomic import atomic_output
from ._common import (
    _INPUT,
    DEFAULT_VECTORS,
    _emit_text,
    _errors_to_exit,
    _info,
    _json,
    _jsonl,
    _load_tensorflow_quietly,
    _opt_cache_dir,
    _opt_column,
    _opt_data_dir,
    _opt_label_column,
    _opt_output,
    _opt_set,
    _progress,
    _read_texts,
    _settings,
    app,
)
from ._inputs import _named_labels, _subsample, load_data, load_train_test

__all__ = ["load_estimator", "compute_metrics", "TrainResult", "train", "evaluate", "predict"]

logger = logging.getLogger(__name__)

def _final_estimator(estimator):
    steps = getattr(estimator, "steps", None)
    return steps[-1][1] if steps else estimator


def load_estimator(model):
    """A fitted estimator, or one loaded with :func:`toolkit.persistence.load_model`."""
    if isinstance(model, (str, os.PathLike)):
        from ..models.persistence import load_model

        return load_model(Path(model).expanduser())
    return model


def compute_metrics(y_true, y_pred, y_score=None, *, classes=None) -> dict:
    """Accuracy, precision, recall, F1 and ROC AUC as a JSON-ready dict.

    Binary problems report the positive class (the second of ``classes``);
    multi-class ones report macro averages and a one-vs-rest ROC AUC.

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
    >>> round(m["accuracy"], 3), m["n_samples"]
    (0.667, 3)
    """
    import numpy as np
    from sklearn import metrics as skm

    y_true = np.asarray(y_true)
    y_pred = np.asarray(y_pred)
    classes = list(np.unique(np.concatenate([y_true, y_pred]))) if classes is None else list(classes)
    binary = len(classes) == 2
    kwargs = {"pos_label": classes[1], "average": "binary"} if binary else {"average": "macro"}
    kwargs["labels"] = classes
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
            out["roc_auc"] = float(skm.roc_auc_score(y_true, y_score, multi_class="ovr", labels=classes))
    out["average"] = f"binary (positive class {_jsonable(classes[1])!r})" if binary else "macro"
    out["classes"] = [_jsonable(c) for c in classes]
    out["confusion_matrix"] = skm.confusion_matrix(y_true, y_pred, labels=classes).tolist()
    return out


def _jsonable(value):
    import numpy as np

    return value.item() if isinstance(value, np.generic) else value


@contextlib.contextmanager
def _progress_bars(estimator, progress, *, keep=()):
    """Turn on the tokenizer's and the classifier's progress bars for a block, then restore them.

    Parameters named in ``keep`` (short or full names) are left as the user set them.
    """
    params = estimator.get_params()
    wanted = {"tokenizer__progress": True, "classifier__verbose": 1} if progress else {}
    wanted = {k: v for k, v in wanted.items() if k in params and k not in keep and k.split("__")[1] not in keep}
    before = {k: params[k] for k in wanted}
    estimator.set_params(**wanted)
    try:
        yield estimator
    finally:
        estimator.set_params(**before)


def _scores(estimator, texts):
    """(predictions, probabilities or None, classes) with one pass over the texts."""
    import numpy as np

    classes = getattr(estimator, "classes_", None)
    if classes is None:
        classes = getattr(_final_estimator(estimator), "classes_", None)
    classes = [] if classes is None else list(classes)
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
        A folder written by :func:`toolkit.persistence.save_model` (or
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
    estimator = load_estimator(model)
    ds = load_data(data, split=split, column=column, label_column=label_column, data_dir=data_dir, cache_dir=cache_dir)
    texts, labels = _subsample(list(ds.texts), _named_labels(ds), limit, random_state)
    with _progress_bars(estimator, progress):
        pred, proba, classes = _scores(estimator, texts)
    metrics = compute_metrics(labels, pred, proba, classes=classes or None)
    if plot is not None:
        from ..plots import plot_confusion_matrix

        plot_confusion_matrix(labels, pred, metrics["classes"], plot)
    return metrics


def predict(model, texts, *, progress=False) -> list[dict]:
    """Labels and class probabilities for raw texts.

    ``progress=True`` shows the tokenizer's progress bar (stderr).

    Returns
    -------
    list of dict
        One ``{"label": ..., "probabilities": {class: p, ...}}`` per text
        (no ``"probabilities"`` when the model has no ``predict_proba``).
    """
    from .._validation import check_raw_documents

    texts = check_raw_documents(texts, name="texts")
    if not texts:
        return []
    estimator = load_estimator(model)
    with _progress_bars(estimator, progress):
        pred, proba, classes = _scores(estimator, texts)
    rows = []
    for i, label in enumerate(pred):
        row = {"label": _jsonable(label)}
        if proba is not None and proba.ndim == 2 and classes:
            row["probabilities"] = {str(_jsonable(c)): round(float(p), 6) for c, p in zip(classes, proba[i])}
        rows.append(row)
    return rows


@dataclass
class TrainResult:
    """What :func:`train` returns.

    Attributes
    ----------
    estimator : sklearn.pipeline.Pipeline
        The fitted ``make_text_classifier`` pipeline.
    metrics : dict
        Test-set metrics (:func:`compute_metrics`) plus ``n_train`` and
        ``fit_seconds``.
    history : dict
        Per-epoch ``loss``/``accuracy`` (and ``val_*``) of the classifier.
    coverage : toolkit.vectors.CoverageReport or None
        How much of the vocabulary the word vectors cover.
    files : dict of str to pathlib.Path
        What was written, by name (``model``, ``metrics.json``, ``history.png``,
        ``confusion_matrix.png``); empty without ``output``.
    """

    estimator: object
    metrics: dict
    history: dict
    coverage: object = None
    files: dict = field(default_factory=dict)


def train(
    data="imdb", *, vectors="glove.6B.50d", settings=None, test_data=None, test_size=0.2, limit=None,
    output=None, random_state=0, column="text", label_column="label", data_dir=None, cache_dir=None,
    progress=False,
) -> TrainResult:
    """Train a text classifier, score it on held-out data and save the run.

    With the defaults this is the main job: the IMDB reviews (manifest
    ``"imdb"``), GloVe 6B 50-d vectors (``"glove.6B.50d"``) and the default
    architecture of :class:`toolkit.classifier.EmbeddingClassifier`, through
    :func:`toolkit.classifier.make_text_classifier`.

    Parameters
    ----------
    data : str or path-like, default="imdb"
        See :func:`load_data`.
    vectors : str, path-like or None, default="glove.6B.50d"
        Pretrained vectors (path or manifest name); None learns the embedding.
    settings : dict, optional
        Parameters of the pipeline by name (``{"epochs": 3, "ngram_range":
        (1, 2)}``), routed by ``make_text_classifier``; an unknown name raises
        a ValueError listing the valid ones.
    test_data : str or path-like, optional
        Separate test data; otherwise IMDB's test split or ``test_size``.
    test_size : float, default=0.2
        Held-out fraction for data without a test split.
    limit : int, optional
        Train and test on at most this many documents each (quick runs).
    output : path-like, optional
        Folder to write ``model/`` (:func:`toolkit.persistence.save_model`),
        ``metrics.json``, ``history.png`` and ``confusion_matrix.png`` into.
        Each file is written atomically.
    random_state : int, default=0
        Seeds the split, the subsample and the classifier (unless ``settings``
        names ``random_state``).
    progress : bool, default=False
        Show a progress bar over epochs (on stderr).

    Returns
    -------
    TrainResult
    """
    import time

    from ..models.classifier import make_text_classifier

    params = {"vectors": vectors, "random_state": random_state, **(settings or {})}
    estimator = make_text_classifier(**params)  # unknown names fail here, before any loading
    if output is not None:
        _check_run_folder(Path(output))

    x_train, y_train, x_test, y_test = load_train_test(
        data, test_data=test_data, test_size=test_size, limit=limit, random_state=random_state,
        column=column, label_column=label_column, data_dir=data_dir, cache_dir=cache_dir,
    )
    logger.info("Training on %d documents, testing on %d", len(x_train), len(x_test))
    with _progress_bars(estimator, progress, keep=params):  # the saved model keeps the user's settings
        start = time.perf_counter()
        estimator.fit(x_train, y_train)
        fit_seconds = time.perf_counter() - start
        pred, proba, classes = _scores(estimator, x_test)
    metrics = compute_metrics(y_test, pred, proba, classes=classes)
    metrics.update(n_train=len(x_train), n_test=len(x_test), fit_seconds=round(fit_seconds, 3))

    final = _final_estimator(estimator)
    history = {k: [float(v) for v in vals] for k, vals in dict(getattr(final, "history_", {}) or {}).items()}
    result = TrainResult(estimator, metrics, history, getattr(final, "embedding_coverage_", None))
    if output is not None:
        from ..models.persistence import save_model
        from ..plots import plot_confusion_matrix, plot_history

        output = Path(output)
        with atomic_output(output, directory=True) as tmp:  # the whole run folder or nothing
            save_model(estimator, tmp / "model")
            (tmp / "metrics.json").write_text(
                json.dumps({**metrics, "settings": _jsonable_settings(params)}, indent=2) + "\n"
            )
            written = ["model", "metrics.json"]
            if history:
                plot_history(history, tmp / "history.png")
                written.append("history.png")
            plot_confusion_matrix(y_test, pred, classes, tmp / "confusion_matrix.png")
            written.append("confusion_matrix.png")
        result.files = {name: output / name for name in written}
    return result


def _check_run_folder(output: Path) -> None:
    """Refuse to replace anything but an earlier run folder."""
    if output.is_file() or (output.is_dir() and any(output.iterdir()) and not (output / "metrics.json").is_file()):
        raise FileExistsError(
            f"Output {output} exists and is not a toolkit run folder (no metrics.json); choose another "
            "--output or remove it first."
        )


def _jsonable_settings(params: dict) -> dict:
    return {k: (v if isinstance(v, (str, int, float, bool, type(None), list, dict)) else repr(v)) for k, v in params.items()}


def _default_run_dir() -> Path:
    import time

    return Path("runs") / time.strftime("%Y%m%d-%H%M%S")


@app.command("train")
@_errors_to_exit
def train_cmd(
    data: str = typer.Option("imdb", "--data", help="'imdb', a class-per-folder directory, or a CSV/TSV/JSONL file."),
    vectors: str = typer.Option(DEFAULT_VECTORS, "--vectors", "-V", help="Vectors file or manifest name; 'none' learns the embedding."),
    settings: list[str] = _opt_set,
    test_data: str = typer.Option(None, "--test-data", help="Separate test data (default: IMDB's test split or --test-size)."),
    test_size: float = typer.Option(0.2, "--test-size", help="Held-out fraction for data without a test split."),
    limit: int = typer.Option(None, "--limit", help="Train and test on at most N documents each (quick runs)."),
    output: Path = typer.Option(None, "--output", "-o", help="Run folder (default: runs/<timestamp>)."),
    random_state: int = typer.Option(0, "--random-state", help="Seed of the split, subsample and classifier."),
    column: str = _opt_column,
    label_column: str = _opt_label_column,
    data_dir: Path = _opt_data_dir,
    cache_dir: Path = _opt_cache_dir,
) -> None:
    """Train a text classifier (default: IMDB + GloVe 6B-50d); save the model, metrics.json and plots."""
    
    _load_tensorflow_quietly()

    output = _default_run_dir() if output is None else output
    result = train(
        data, vectors=None if vectors.lower() == "none" else vectors, settings=_settings(settings),
        test_data=test_data, test_size=test_size, limit=limit, output=output, random_state=random_state,
        column=column, label_column=label_column, data_dir=data_dir, cache_dir=cache_dir, progress=_progress(),
    )
    if result.coverage is not None:
        _info(str(result.coverage))
    m = result.metrics
    auc = "n/a" if m["roc_auc"] is None else f"{m['roc_auc']:.4f}"
    _info(f"Test accuracy {m['accuracy']:.4f}, F1 {m['f1']:.4f}, ROC AUC {auc} on {m['n_test']} documents "
          f"(trained on {m['n_train']} in {m['fit_seconds']:.1f} s)")
    for name, path in result.files.items():
        _info(f"  {name:<21} {path}")
    typer.echo(_json(m), nl=False)


@app.command("evaluate")
@_errors_to_exit
def evaluate_cmd(
    model: Path = typer.Argument(..., help="Model folder written by 'toolkit train'."),
    data: str = typer.Argument("imdb", help="'imdb' (see --split), a class-per-folder directory, or a CSV/TSV/JSONL file."),
    split: str = typer.Option("test", "--split", help="IMDB split."),
    limit: int = typer.Option(None, "--limit", help="Score at most N documents (stratified sample)."),
    plot: Path = typer.Option(None, "--plot", help="Also write the confusion matrix PNG here."),
    column: str = _opt_column,
    label_column: str = _opt_label_column,
    data_dir: Path = _opt_data_dir,
    cache_dir: Path = _opt_cache_dir,
) -> None:
    """Score a trained model on labelled data; metrics JSON on stdout."""
    
    _load_tensorflow_quietly()

    metrics = evaluate(model, data, split=split, limit=limit, column=column, label_column=label_column, plot=plot,
                       data_dir=data_dir, cache_dir=cache_dir, progress=_progress())
    typer.echo(_json(metrics), nl=False)


@app.command("predict")
@_errors_to_exit
def predict_cmd(
    model: Path = typer.Argument(..., help="Model folder written by 'toolkit train'."),
    texts: list[str] = typer.Argument(None, help="Texts to classify (default: --input, else stdin)."),
    input: str = typer.Option(None, "--input", "-i", help=_INPUT),
    column: str = _opt_column,
    output: Path = _opt_output,
) -> None:
    """Predict labels and class probabilities; one JSON object per text (JSONL)."""
    
    _load_tensorflow_quietly()

    if not texts:
        texts = _read_texts("-" if input is None else input, column=column)
    _emit_text(_jsonl(predict(model, texts, progress=_progress())), output)

