"""Task-level functions behind the CLI: read input, tokenize, vectorize, train,
evaluate, predict.

Each function returns data and never prints; the CLI renders what they return.
Files are written atomically (:func:`atomic_output`): a temporary file in the
target's folder, renamed over the target only once it is complete.
"""

from __future__ import annotations

import contextlib
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

from .._atomic import atomic_output

__all__ = [
    "atomic_output",
    "read_input",
    "load_data",
    "load_train_test",
    "parse_setting",
    "load_estimator",
    "compute_metrics",
    "TrainResult",
    "train",
    "evaluate",
    "predict",
    "tokenize_texts",
    "Vectorized",
    "vectorize",
    "vectors_info",
    "similar_words",
    "analogy",
    "convert_vectors",
    "train_vectors",
    "coverage",
    "word_map",
    "data_status",
]

logger = logging.getLogger(__name__)


# --------------------------------------------------------------------------- input

TABLE_SUFFIXES = (".csv", ".tsv")
JSONL_SUFFIXES = (".jsonl", ".ndjson")


def _check_input_path(path) -> Path:
    from ..exceptions import DataError

    path = Path(path).expanduser()
    if not path.exists():
        raise DataError(f"Input not found: '{path}'. Check the path (a file, a folder, or '-' for stdin).")
    if not os.access(path, os.R_OK):
        raise DataError(f"Cannot read '{path}': permission denied.")
    return path


def _read_lines(path: Path, encoding: str) -> list[str]:
    from ..exceptions import DataError

    try:
        with open(path, encoding=encoding, newline=None) as fh:
            lines = fh.read().splitlines()
    except UnicodeDecodeError as err:
        line = path.read_bytes()[: err.start].count(b"\n") + 1
        raise DataError(
            f"Cannot read '{path}' as {encoding} text (line {line}, byte {err.start}); "
            "is it a binary file? Give a text file, or the right --encoding."
        ) from err
    except OSError as err:
        raise DataError(f"Cannot read '{path}': {err.strerror or err}.") from err
    return [line for line in lines if line.strip()]


def read_input(source=None, *, column="text", encoding="utf-8", stdin=None, split="train", data_dir=None,
               cache_dir=None) -> list[str]:
    """Read raw text documents for the CLI's text commands.

    Parameters
    ----------
    source : path-like, "-" or None
        A text file (one document per non-empty line), a CSV/TSV or JSONL file
        (the ``column`` field), a folder (:func:`toolkit.datasets.load_folder`),
        ``"-"``/None for ``stdin`` (one document per non-empty line), or
        ``"imdb"`` (the reviews of ``split``).
    column : str, default="text"
        Text column of a CSV/TSV/JSONL file.
    encoding : str, default="utf-8"
        Encoding of a plain text file.
    stdin : text stream, optional
        Stream read for ``"-"``; defaults to :data:`sys.stdin`.
    split, data_dir, cache_dir
        For ``"imdb"``, as in :func:`load_data`.

    Returns
    -------
    list of str

    Raises
    ------
    toolkit.exceptions.DataError
        Missing or unreadable file, undecodable bytes, folder without text
        files, missing column (the message names the file and the problem).

    Examples
    --------
    >>> import io
    >>> read_input("-", stdin=io.StringIO("a good film\\n\\nawful\\n"))
    ['a good film', 'awful']
    """
    if source is None or str(source) == "-":
        import sys

        stream = sys.stdin if stdin is None else stdin
        return [line.rstrip("\r\n") for line in stream if line.strip()]
    if str(source).lower() == "imdb":
        return list(load_data("imdb", split=split, data_dir=data_dir, cache_dir=cache_dir).texts)
    path = _check_input_path(source)
    if path.is_dir() or path.suffix.lower() in TABLE_SUFFIXES + JSONL_SUFFIXES:
        return list(load_data(path, column=column, label_column=None).texts)
    return _read_lines(path, encoding)


def load_data(data="imdb", *, split="train", column="text", label_column="label", data_dir=None, cache_dir=None):
    """Load a labelled text dataset by manifest name or path.

    Parameters
    ----------
    data : str or path-like, default="imdb"
        ``"imdb"`` (through :func:`toolkit.datasets.load_imdb`), a class-per-folder
        directory, a CSV/TSV file or a JSONL file.
    split : str, default="train"
        IMDB split (``"train"``, ``"test"``, ``"unsup"``).
    column, label_column : str
        Text and label fields of a CSV/TSV/JSONL file; ``label_column=None``
        reads texts only.
    data_dir, cache_dir : path-like, optional
        Offline data folder and cache (see :func:`toolkit.datasets.fetch`).

    Returns
    -------
    toolkit.datasets.TextDataset
    """
    from ..data import datasets

    if str(data).lower() == "imdb":
        return datasets.load_imdb(split, data_dir=data_dir, cache_dir=cache_dir)
    path = _check_input_path(data)
    suffix = path.suffix.lower()
    if path.is_dir():
        return datasets.load_folder(path)
    if suffix in TABLE_SUFFIXES:
        delimiter = "\t" if suffix == ".tsv" else ","
        return datasets.load_csv(path, text_column=column, label_column=label_column, delimiter=delimiter)
    if suffix in JSONL_SUFFIXES:
        return datasets.load_jsonl(path, text_column=column, label_column=label_column)
    from ..exceptions import DataError

    raise DataError(
        f"Cannot read labelled data from '{path}': give 'imdb', a class-per-folder directory, "
        "a .csv/.tsv or a .jsonl file."
    )


def _named_labels(dataset):
    """The labels as class names; an error for unlabelled documents."""
    import numpy as np

    from ..exceptions import DataError

    labels = np.asarray(dataset.labels)
    names = list(dataset.target_names)
    if not names or (labels < 0).any():
        raise DataError(
            f"{dataset.source or 'The data'} has unlabelled documents; training and evaluation need labels: "
            "a class-per-folder directory, a label column (--label-column), or IMDB's train/test split."
        )
    return np.asarray(names)[labels]


def _subsample(texts, labels, limit, random_state):
    """At most ``limit`` documents, stratified and shuffled with ``random_state``."""
    import numpy as np

    if limit is None or limit >= len(texts):
        return list(texts), np.asarray(labels)
    from sklearn.model_selection import train_test_split

    labels = np.asarray(labels)
    _, counts = np.unique(labels, return_counts=True)
    stratify = labels if counts.min() >= 2 and limit >= len(counts) else None
    idx, _ = train_test_split(np.arange(len(texts)), train_size=limit, stratify=stratify, random_state=random_state)
    idx = np.sort(idx)
    return [texts[i] for i in idx], labels[idx]


def load_train_test(
    data="imdb", *, test_data=None, test_size=0.2, limit=None, random_state=0,
    column="text", label_column="label", data_dir=None, cache_dir=None,
):
    """Training and test texts and labels.

    IMDB comes with its own train/test split; other data is split with
    ``test_size`` (stratified) unless ``test_data`` is given. ``limit`` keeps
    at most that many documents of each part (stratified random sample).

    Returns
    -------
    (train_texts, train_labels, test_texts, test_labels) : tuple
        Labels are class names where the dataset has them (``"neg"``/``"pos"``).
    """
    import numpy as np

    kwargs = dict(column=column, label_column=label_column, data_dir=data_dir, cache_dir=cache_dir)
    train_ds = load_data(data, split="train", **kwargs)
    x_train, y_train = list(train_ds.texts), _named_labels(train_ds)
    if test_data is not None or str(data).lower() == "imdb":
        test_ds = load_data(test_data if test_data is not None else data, split="test", **kwargs)
        x_test, y_test = list(test_ds.texts), _named_labels(test_ds)
    else:
        from sklearn.model_selection import train_test_split

        _, counts = np.unique(y_train, return_counts=True)
        stratify = y_train if counts.min() >= 2 else None
        x_train, x_test, y_train, y_test = train_test_split(
            x_train, y_train, test_size=test_size, stratify=stratify, random_state=random_state
        )
    x_train, y_train = _subsample(x_train, y_train, limit, random_state)
    x_test, y_test = _subsample(x_test, y_test, limit, random_state)
    return x_train, y_train, x_test, y_test


# --------------------------------------------------------------------- settings


def parse_setting(item: str) -> tuple[str, object]:
    """Split ``"key=value"`` and read the value as a Python/JSON literal, else str.

    Examples
    --------
    >>> parse_setting("epochs=3"), parse_setting("ngram_range=(1, 2)")
    (('epochs', 3), ('ngram_range', (1, 2)))
    >>> parse_setting("architecture=cnn"), parse_setting("trainable=true")
    (('architecture', 'cnn'), ('trainable', True))
    """
    import ast
    import json

    key, sep, raw = item.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ValueError(f"Invalid setting {item!r}: expected key=value, e.g. epochs=3.")
    raw = raw.strip()
    for parse in (ast.literal_eval, json.loads):
        try:
            return key, parse(raw)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            continue
    return key, raw


# ------------------------------------------------------------------- estimators


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


# ------------------------------------------------------------------------ train


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
    import json
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


# ------------------------------------------------------------ tokenize/vectorize


def tokenize_texts(texts, **params):
    """Tokenize raw texts with :class:`toolkit.tokenization.SpacyTokenizer`.

    Parameters
    ----------
    texts : iterable of str
    **params
        SpacyTokenizer parameters (``lowercase``, ``ngram_range``, ``analyzer``,
        ``progress``...), set with ``set_params`` so an unknown name raises a
        ValueError listing the valid ones.

    Returns
    -------
    toolkit.corpus.TokenizedCorpus
    """
    from ..text.tokenizer import SpacyTokenizer

    return SpacyTokenizer().set_params(**params).fit_transform(texts)


@dataclass
class Vectorized:
    """What :func:`vectorize` returns: the matrix, the fitted encoder and its vocabulary."""

    matrix: object
    encoder: object
    vocabulary: object = None

    def save(self, path, *, vocabulary_path=None):
        """Write the matrix to ``path`` (.npz) and the vocabulary as JSON, atomically.

        Padded id sequences go to ``np.savez_compressed`` under the key ``x``;
        sparse bag matrices to :func:`scipy.sparse.save_npz`. The vocabulary
        goes next to it (``<stem>.vocab.json``) unless ``vocabulary_path``
        says otherwise.

        Returns
        -------
        dict of str to pathlib.Path
        """
        import numpy as np
        import scipy.sparse as sp

        path = Path(path)
        if path.suffix != ".npz":
            path = path.with_name(path.name + ".npz")
        files = {"matrix": path}
        with atomic_output(path) as tmp:
            if sp.issparse(self.matrix):
                sp.save_npz(tmp, sp.csr_matrix(self.matrix), compressed=True)
            else:
                np.savez_compressed(tmp, x=np.asarray(self.matrix))
        if self.vocabulary is not None:
            vpath = Path(vocabulary_path) if vocabulary_path else path.with_name(path.stem + ".vocab.json")
            with atomic_output(vpath) as tmp:
                self.vocabulary.to_json(tmp)
            files["vocabulary"] = vpath
        return files


def vectorize(texts, *, output_mode="int", max_tokens=None, min_count=1, maxlen=None, padding="pre",
              truncating="pre", tokenizer=None) -> Vectorized:
    """Raw texts to padded id sequences or bag-of-words matrices.

    The Keras ``Tokenizer`` + ``pad_sequences`` workflow:
    :class:`~toolkit.tokenization.SpacyTokenizer` then
    :class:`~toolkit.encoders.SequenceEncoder` (``output_mode="int"``) or
    :class:`~toolkit.encoders.BagEncoder` (``"multi_hot"``, ``"count"``,
    ``"tf_idf"``).

    Parameters
    ----------
    texts : iterable of str
    output_mode : {"int", "multi_hot", "count", "tf_idf"}, default="int"
    max_tokens, min_count : see :class:`~toolkit.vocabulary.Vocabulary`
    maxlen, padding, truncating : see :func:`~toolkit.vocabulary.pad_sequences`
        (``output_mode="int"`` only).
    tokenizer : dict, optional
        SpacyTokenizer parameters.

    Returns
    -------
    Vectorized
    """
    from ..text.encoders import BagEncoder, SequenceEncoder

    modes = ("int", "multi_hot", "count", "tf_idf")
    if output_mode not in modes:
        raise ValueError(
            f"The 'output_mode' parameter of vectorize must be a str among {{{', '.join(map(repr, modes))}}}. "
            f"Got {output_mode!r} instead."
        )
    tokens = tokenize_texts(texts, **(tokenizer or {}))
    if output_mode == "int":
        encoder = SequenceEncoder(max_tokens=max_tokens, min_count=min_count, maxlen=maxlen, padding=padding,
                                  truncating=truncating)
    else:
        encoder = BagEncoder(output_mode=output_mode, max_tokens=max_tokens, min_count=min_count)
    matrix = encoder.fit_transform(tokens)
    return Vectorized(matrix, encoder, getattr(encoder, "vocabulary_", None))


# ---------------------------------------------------------------------- vectors


def vectors_info(source, **load_params) -> dict:
    """Size, dimension and first words of a word-vector source (path or manifest name)."""
    from ..vectors.loading import load_vectors

    kv = load_vectors(source, **load_params)
    return {
        "source": str(source),
        "n_words": len(kv),
        "dim": int(kv.vector_size),
        "first_words": list(kv.index_to_key[:10]),
    }


def similar_words(source, word, *, topn=10, **load_params) -> list[tuple[str, float]]:
    """The ``topn`` nearest words (:func:`toolkit.vectors.most_similar` on :func:`~toolkit.vectors.load_vectors`)."""
    from ..vectors.evaluation import most_similar
    from ..vectors.loading import load_vectors

    return most_similar(load_vectors(source, **load_params), word, topn=topn)


def analogy(source, a, b, c, *, topn=5, **load_params) -> list[tuple[str, float]]:
    """Solve "a is to b as c is to ?" (b - a + c), e.g. man, king, woman -> queen.

    :func:`toolkit.vectors.analogy` on :func:`~toolkit.vectors.load_vectors`.
    """
    from .. import vectors

    return vectors.analogy(vectors.load_vectors(source, **load_params), a, b, c, topn=topn)


CONVERT_FORMATS = ("word2vec", "word2vec-binary", "glove", "native")


def _format_for(path: Path) -> str:
    suffixes = [s.lower() for s in path.suffixes if s.lower() not in (".gz", ".bz2")]
    last = suffixes[-1] if suffixes else ""
    return {".bin": "word2vec-binary", ".kv": "native", ".txt": "word2vec", ".vec": "word2vec"}.get(last, "word2vec")


def convert_vectors(source, output, *, to=None, **load_params) -> Path:
    """Load word vectors and write them in another format, atomically.

    Parameters
    ----------
    source : str or path-like
        Vectors file or manifest name (:func:`toolkit.vectors.load_vectors`).
    output : path-like
        Target file; ``.gz``/``.bz2`` compress the text formats.
    to : {"word2vec", "word2vec-binary", "glove", "native"}, optional
        Output format; by default from the suffix: ``.bin`` word2vec binary,
        ``.kv`` gensim native (one file, no mmap side files), else word2vec
        text with its ``<count> <dim>`` header. ``"glove"`` is text without
        the header.
    **load_params
        ``format``, ``limit``, ``data_dir``, ``cache_dir`` of ``load_vectors``.

    Returns
    -------
    pathlib.Path
    """
    from ..vectors.loading import load_vectors

    output = Path(output)
    to = _format_for(output) if to is None else to
    if to not in CONVERT_FORMATS:
        raise ValueError(
            f"The 'to' parameter of convert_vectors must be a str among {{{', '.join(map(repr, CONVERT_FORMATS))}}}. "
            f"Got {to!r} instead."
        )
    kv = load_vectors(source, **load_params)
    with atomic_output(output) as tmp:
        if to == "native":
            kv.save(str(tmp), separately=[])  # a single file, so the rename carries everything
        else:
            kv.save_word2vec_format(str(tmp), binary=to == "word2vec-binary", write_header=to != "glove")
    return output


def train_vectors(texts, output, *, tokenizer=None, **params):
    """Tokenize ``texts`` and train word2vec vectors, saved to ``output`` (word2vec binary).

    :func:`toolkit.vectors.train_word2vec` on :func:`tokenize_texts`.

    Returns
    -------
    gensim.models.KeyedVectors
    """
    import inspect

    from ..vectors.training import train_word2vec

    valid = sorted(set(inspect.signature(train_word2vec).parameters) - {"corpus", "output"})
    unknown = sorted(set(params) - set(valid))
    if unknown:
        raise ValueError(f"Invalid parameter {unknown[0]!r} for train_word2vec. Valid parameters are: {valid}.")
    return train_word2vec(tokenize_texts(texts, **(tokenizer or {})), output=output, **params)


def coverage(source, texts, *, max_tokens=None, min_count=1, tokenizer=None, **load_params):
    """How much of the vocabulary of ``texts`` the vectors cover.

    Returns
    -------
    toolkit.vectors.CoverageReport
    """
    from ..text.vocabulary import Vocabulary
    from ..vectors.loading import load_vectors
    from ..vectors.matrix import build_embedding_matrix

    tokens = tokenize_texts(texts, **(tokenizer or {}))
    vocabulary = Vocabulary.from_documents(tokens, max_tokens=max_tokens, min_count=min_count)
    _, report = build_embedding_matrix(vocabulary, load_vectors(source, **load_params))
    return report


def word_map(source, words, path, *, method="pca", skip_missing=False, **load_params) -> Path:
    """Plot a 2-D map of ``words`` from a vector source (:func:`toolkit.plots.plot_word_map`)."""
    from ..plots import plot_word_map
    from ..vectors.loading import load_vectors

    return plot_word_map(load_vectors(source, **load_params), words, path, method=method, skip_missing=skip_missing)


# ------------------------------------------------------------------------- data


def data_status(name=None, *, data_dir=None, cache_dir=None, details=False) -> list[dict]:
    """Where each known resource is: the offline data folder, the cache, or only remote.

    Parameters
    ----------
    name : str, optional
        One manifest name; default all of :func:`toolkit.manifests.list_manifests`.
    data_dir, cache_dir : path-like, optional
        See :func:`toolkit.datasets.fetch`.
    details : bool, default=False
        Include the whole manifest (:meth:`Manifest.to_dict`).

    Returns
    -------
    list of dict
        ``name``, ``format``, ``description``, ``status`` (``"offline"``,
        ``"cached"`` or ``"remote"``), ``path`` (the local copy or None) and
        ``size`` (bytes to download).

    Raises
    ------
    toolkit.exceptions.ManifestError
        For an unknown name (the message lists the known ones).
    """
    from .._config import get_cache_dir, get_data_dir
    from ..data.datasets import _find_local
    from ..data.manifests import get_manifest, list_manifests

    folder = get_data_dir(data_dir)
    cache = get_cache_dir(cache_dir) / "data"
    rows = []
    for manifest in [get_manifest(name)] if name is not None else map(get_manifest, list_manifests()):
        local = _find_local(manifest, folder) if folder is not None and folder.is_dir() else None
        cached = [cache / manifest.name / f.filename for f in manifest.files]
        if local is not None:
            status, path = "offline", local
        elif cached and all(p.exists() for p in cached):
            status, path = "cached", cached[0] if len(cached) == 1 else cached[0].parent
        else:
            status, path = "remote", None
        row = {
            "name": manifest.name,
            "format": manifest.format,
            "description": manifest.description,
            "status": status,
            "path": None if path is None else str(path),
            "size": sum(f.size or 0 for f in manifest.files) or None,
        }
        if details:
            full = manifest.to_dict()
            row = {**full, "manifest_file": full.pop("path"), **row}
        rows.append(row)
    return rows
