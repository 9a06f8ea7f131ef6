"""Plots a person would rather look at than read: training history,
confusion matrix, and a 2-D map of word vectors.

Each function draws on its own :class:`matplotlib.figure.Figure` (no pyplot
global state, the Agg canvas, so it works without a display). Given a path, it
writes a PNG (or the format the path's suffix names, such as ``.pdf`` or
``.svg``) atomically (a temporary file in the same folder, then
:func:`os.replace`) and returns the path. Without one, it returns the figure,
which a Jupyter notebook shows as the cell's output (the figure has a PNG
representation of its own, so this needs neither pyplot nor
``%matplotlib inline``) and which ``fig.savefig`` writes anywhere.
matplotlib is imported inside the functions, so importing this module is cheap.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

__all__ = ["plot_history", "plot_confusion_matrix", "plot_word_map"]

logger = logging.getLogger(__name__)

# plot_confusion_matrix: the most inches the matrix takes a side, and the smallest cell that shows its number
_MATRIX_MAX_INCHES = 16.0
_CELL_TEXT_MIN_INCHES = 0.25


_FIGURE_CLASS = None


def _figure_class():
    """A :class:`matplotlib.figure.Figure` with a PNG representation for IPython / Jupyter (built once)."""
    global _FIGURE_CLASS
    if _FIGURE_CLASS is None:
        from matplotlib.figure import Figure

        class PlotFigure(Figure):
            """A matplotlib figure that a notebook shows as a PNG when it is a cell's value."""

            def _repr_png_(self):
                import io

                buffer = io.BytesIO()
                self.savefig(buffer, format="png", dpi=self.dpi)
                return buffer.getvalue()

        PlotFigure.__module__ = __name__
        PlotFigure.__qualname__ = "PlotFigure"
        _FIGURE_CLASS = PlotFigure
    return _FIGURE_CLASS


def __getattr__(name):
    # toolkit.plots.PlotFigure, built on first use (matplotlib stays unimported until then); pickle finds it here
    if name == "PlotFigure":
        return _figure_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _new_figure(figsize, dpi=100):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig = _figure_class()(figsize=figsize, dpi=dpi, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _finish(fig, path, dpi):
    """Write ``fig`` to ``path`` and return the path, or return ``fig`` when ``path`` is None."""
    return fig if path is None else _save_png(fig, path, dpi)


def _check_dpi(dpi, function):
    if isinstance(dpi, bool) or not isinstance(dpi, (int, float, np.integer, np.floating)) or not dpi > 0 \
            or not np.isfinite(dpi):
        raise ValueError(f"The 'dpi' parameter of {function} must be a positive number of dots per inch, got {dpi!r}.")


def _check_path(path) -> tuple[Path, str]:
    """(``path``, the image format its suffix names: PNG without one); errors naming ``path``, before drawing."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from ._atomic import nearest_existing_parent

    path = Path(path).expanduser()
    if path.is_dir():
        raise IsADirectoryError(f"{path} is a folder; pass the image file to write, e.g. {path / 'plot.png'}.")
    parent = nearest_existing_parent(path)
    if not parent.is_dir():
        raise NotADirectoryError(f"Cannot write {path}: {parent} is a file, not a folder. Choose another path.")
    fmt = path.suffix[1:].lower() or "png"
    supported = FigureCanvasAgg.get_supported_filetypes()
    if fmt not in supported:
        raise ValueError(
            f"Cannot write {path}: {path.suffix!r} is not an image format matplotlib writes; use one of "
            f"{', '.join('.' + name for name in sorted(supported))} (.png, or no suffix, for PNG)."
        )
    return path, fmt


def _save_png(fig, path, dpi) -> Path:
    """Write ``fig`` atomically to ``path``, in the format of its suffix (PNG without one)."""
    import warnings

    from ._atomic import atomic_output

    path, fmt = _check_path(path)
    with atomic_output(path) as tmp, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig.savefig(tmp, format=fmt, dpi=dpi)
    missing = [str(w.message) for w in caught if "missing from font" in str(w.message)]
    for w in caught:
        if "missing from font" not in str(w.message):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    if missing:
        # matplotlib's default DejaVu Sans has Latin, Greek and Cyrillic, not Chinese, Japanese, Korean...
        logger.warning(
            "%s: the plot's font lacks %d characters of its labels, drawn as empty boxes (%s). Install a font "
            "that has them (for Chinese, Japanese, Korean: Noto Sans CJK) and put it first in matplotlib's "
            "rcParams['font.sans-serif'].", path, len(missing), missing[0],
        )
    logger.info("Wrote %s", path)
    return path


def _history_owner(history):
    """``history`` itself, or the last step of a pipeline (which must hold a ``history_``)."""
    steps = getattr(history, "steps", None)
    if not isinstance(history, Mapping) and isinstance(steps, list) and steps and not hasattr(history, "history_"):
        # a scikit-learn Pipeline, such as make_text_classifier returns: its last step holds the history
        last = steps[-1][1] if isinstance(steps[-1], tuple) and len(steps[-1]) == 2 else None
        if not hasattr(last, "history_"):
            raise TypeError(
                f"plot_history got a {type(history).__name__} whose last step, {type(last).__name__}, has no "
                "history_: pass a pipeline ending in a fitted EmbeddingClassifier (fit it first), or its "
                "Keras History."
            )
        history = last
    return history


def _kept_epoch(history) -> int | None:
    """The 0-based epoch whose weights a fitted estimator kept (``best_epoch_``), or None (a dict, a History)."""
    epoch = getattr(_history_owner(history), "best_epoch_", None) if not isinstance(history, Mapping) else None
    return int(epoch) if isinstance(epoch, (int, np.integer)) and not isinstance(epoch, bool) else None


def _history_dict(history) -> dict[str, list[float]]:
    """Metric name -> per-epoch values, from a Keras History, an estimator, a pipeline or a dict."""
    history = _history_owner(history)
    for attr in ("history_", "history"):  # fitted estimator, then keras History
        if not isinstance(history, Mapping) and hasattr(history, attr):
            history = getattr(history, attr)
    if not isinstance(history, Mapping) and hasattr(history, "columns") and hasattr(history, "to_numpy"):
        # a pandas DataFrame: pd.DataFrame(history.history), or a CSVLogger's file read back (its "epoch" column
        # is no metric)
        history = {str(column): history[column].to_numpy() for column in history.columns if column != "epoch"}
    if not isinstance(history, Mapping):
        if hasattr(history, "best_estimator_") or hasattr(history, "cv_results_"):
            # a search (GridSearchCV...) keeps no history of its own, only its refitted best model has one
            raise TypeError(
                f"plot_history got the {type(history).__name__}, not a model: plot the history of the best model "
                "refitted on all the data, plot_history(search.best_estimator_) (it needs refit=True)."
            )
        raise TypeError(
            "history must be a dict of per-epoch metric lists, a Keras History, a fitted estimator with a "
            f"history_ attribute or a DataFrame of one column per metric, got {type(history).__name__}."
        )
    out = {}
    for key, values in history.items():
        values = np.asarray(values, dtype=float).ravel()
        if values.size:
            out[str(key)] = values
    return out


def plot_history(history, path=None, *, metrics=("loss", "accuracy"), title=None, dpi=100):
    """Plot training and validation curves per epoch, one panel per metric.

    The classic ``plot(history)`` of the deep-learning-with-text chapter: dots
    for training, a line for validation, loss and accuracy side by side.

    Parameters
    ----------
    history : dict, keras.callbacks.History, fitted estimator, Pipeline or DataFrame
        Per-epoch values keyed by metric name (``"loss"``, ``"val_loss"``,
        ``"accuracy"``, ``"val_accuracy"``...), or a pandas DataFrame of one
        column per metric (``pd.DataFrame(history.history)``, or a
        ``keras.callbacks.CSVLogger`` file read with ``pd.read_csv``; its
        ``epoch`` column is left out). An object with a
        ``history_`` (estimator) or ``history`` (Keras) attribute is unwrapped,
        and so is a pipeline ending in such an estimator (what
        :func:`~toolkit.models.make_text_classifier` returns). When the
        estimator kept the weights of an earlier epoch than its last
        (``best_epoch_``, 0-based, after early stopping with ``patience``),
        a dotted vertical line marks that epoch, ``best_epoch_ + 1`` on the
        epoch axis.
    path : path-like, optional
        Image file to write: PNG, or the format its suffix names (``.pdf``,
        ``.svg``...). Missing folders are created; ``~`` is the home folder.
        Without it, nothing is written and the figure is returned (a notebook
        shows it as the cell's output).
    metrics : str or sequence of str, default=("loss", "accuracy")
        Metric(s) to draw; ones the history lacks are skipped (``"acc"`` is
        accepted for ``"accuracy"``). Each panel shows a metric and its
        ``val_`` counterpart; a ``val_`` metric named alone
        (``metrics="val_loss"``) gets a panel of its own.
    title : str, optional
        Figure title.
    dpi : int, default=100

    Returns
    -------
    pathlib.Path or matplotlib.figure.Figure
        The written file; the figure when ``path`` is None.

    Raises
    ------
    ValueError
        If the history holds none of the requested metrics, or ``path`` names
        a format matplotlib does not write.
    TypeError
        If ``history`` is none of the above (e.g. an unfitted pipeline).

    Examples
    --------
    >>> import tempfile, os
    >>> h = {"loss": [0.7, 0.5], "val_loss": [0.69, 0.6],
    ...      "accuracy": [0.5, 0.8], "val_accuracy": [0.52, 0.7]}
    >>> out = plot_history(h, os.path.join(tempfile.mkdtemp(), "history.png"))
    >>> out.name
    'history.png'
    >>> fig = plot_history(h)  # no path: the figure, shown inline in a notebook
    >>> [ax.get_title() for ax in fig.axes]
    ['Training and validation loss', 'Training and validation accuracy']
    """
    if isinstance(metrics, str):
        metrics = [metrics]
    if path is not None:
        _check_path(path)
    _check_dpi(dpi, "plot_history")
    hist = _history_dict(history)
    aliases = {"accuracy": "acc", "acc": "accuracy"}
    panels = []  # (metric, training values or None, validation values or None)
    for metric in metrics:
        if metric.startswith("val_"):
            # validation values alone; with their training metric, they are in its panel already (they
            # were drawn as a second panel of training dots, titled "Training val_loss")
            name = metric[len("val_"):]
            trained = [m for m in (name, aliases.get(name)) if m in metrics]
            if any(m in hist or aliases.get(m) in hist for m in trained):
                # (a training metric the history lacks has no panel: its val_ values get one of their own)
                continue
            key = name if metric in hist else aliases.get(name)
            if f"val_{key}" in hist:
                panels.append((name, None, hist[f"val_{key}"]))
            continue
        key = metric if metric in hist else aliases.get(metric)
        if key in hist:
            panels.append((metric, hist[key], hist.get(f"val_{key}")))
    if not panels:
        raise ValueError(
            f"The history has none of the metrics {list(metrics)}; it has {sorted(hist)}. "
            "Pass metrics=... naming the ones to plot."
        )
    kept = _kept_epoch(history)
    n_epochs = max(len(values) for _, *curves in panels for values in curves if values is not None)
    if kept is not None and not 0 <= kept < n_epochs - 1:  # the last epoch's weights (or out of range): no mark
        kept = None
    fig = _new_figure((5.0 * len(panels), 4.0), dpi)
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    for ax, (metric, train, val) in zip(axes, panels):
        if train is not None:
            ax.plot(np.arange(1, len(train) + 1), train, "o", color="tab:blue", label=f"Training {metric}")
        if val is not None:
            # a line through one point is invisible: one epoch gets a marker
            ax.plot(np.arange(1, len(val) + 1), val, "-" if len(val) > 1 else "-s", color="tab:orange",
                    label=f"Validation {metric}")
        if kept is not None:  # early stopping restored an earlier epoch's weights: the model is that epoch's
            ax.axvline(kept + 1, color="tab:gray", linestyle=":", label=f"Kept weights (epoch {kept + 1})")
        ax.set_title(f"Training and validation {metric}" if train is not None and val is not None
                     else f"Training {metric}" if train is not None else f"Validation {metric}")
        ax.set_xlabel("Epoch")
        ax.set_ylabel(metric)
        ax.xaxis.get_major_locator().set_params(integer=True, min_n_ticks=1)  # whole epochs, even for one
        ax.grid(True, alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    return _finish(fig, path, dpi)


def plot_confusion_matrix(y_true, y_pred, labels, path=None, *, normalize=None, title=None, dpi=100):
    """Plot the confusion matrix of true against predicted labels.

    Each cell shows its count (or rate); the matrix grows with the number of
    classes up to 16 inches a side, then its cells and fonts shrink, and
    beyond 64 classes the cells show their colour only.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,)
        True and predicted labels.
    labels : sequence
        The classes, in display order (e.g. ``["neg", "pos"]``). When ``y_true``
        holds integer codes ``0..k-1`` and ``labels`` are names (not numbers),
        the names are used as tick labels.
    path : path-like, optional
        Image file to write (PNG, or the format its suffix names). Without
        it, nothing is written and the figure is returned.
    normalize : {"true", "pred", "all"} or None, default=None
        As in :func:`sklearn.metrics.confusion_matrix`.
    title : str, optional
    dpi : int, default=100

    Returns
    -------
    pathlib.Path or matplotlib.figure.Figure
        The written file; the figure when ``path`` is None.

    Raises
    ------
    ValueError
        If ``y_true`` or ``y_pred`` holds a label that ``labels`` lacks (its
        samples would be left out of the matrix without a word).

    Examples
    --------
    >>> import tempfile, os
    >>> out = plot_confusion_matrix([0, 1, 1, 0], [0, 1, 0, 0], ["neg", "pos"],
    ...                             os.path.join(tempfile.mkdtemp(), "cm.png"))
    """
    from sklearn.metrics import confusion_matrix

    y_true = np.asarray(y_true)
    y_pred = np.asarray(y_pred)
    if y_true.shape != y_pred.shape or y_true.ndim != 1:
        raise ValueError(
            f"y_true and y_pred must be 1-D and of the same length, got shapes {y_true.shape} "
            f"and {y_pred.shape}."
        )
    labels = list(labels)
    names = [str(label) for label in labels]
    if not names:
        raise ValueError("labels must name at least one class.")
    codes = list(labels)
    present = set(y_true.tolist()) | set(y_pred.tolist())
    # integer codes with names for display; never when labels are numbers themselves (star ratings
    # [1, 2, 3, 4, 7, ...]): codes 0/1 would be shown silently as ratings 1 and 2
    named = not any(isinstance(c, (int, float, np.number)) and not isinstance(c, (bool, np.bool_)) for c in codes)
    if named and not present <= set(codes) and present <= set(range(len(codes))):
        codes = list(range(len(codes)))
    unknown = present - set(codes)
    if unknown:
        raise ValueError(
            f"y_true or y_pred holds label(s) {', '.join(map(repr, sorted(unknown, key=str)[:10]))} that "
            f"labels={[c.item() if isinstance(c, np.generic) else c for c in codes]!r} lacks (compared by value "
            "and type: '1' is not 1): their samples would be missing from the matrix. Pass every class in labels."
        )
    if path is not None:
        _check_path(path)
    _check_dpi(dpi, "plot_confusion_matrix")
    cm = confusion_matrix(y_true, y_pred, labels=codes, normalize=normalize)

    # 1.1 inch a class up to _MATRIX_MAX_INCHES a side, smaller cells (and fonts) beyond: 100 classes drew
    # an 11,220-pixel-wide PNG (3.5 GB of memory, 24 CPU s) that Pillow refuses as a decompression bomb
    cell = min(1.1, _MATRIX_MAX_INCHES / len(names))
    size = 1.2 + cell * len(names)
    fig = _new_figure((max(4.0, size + 1.0), max(3.5, size)), dpi)
    ax = fig.subplots()
    image = ax.imshow(cm, cmap="Blues", vmin=0)
    fig.colorbar(image, ax=ax)
    ticks = np.arange(len(names))
    # smaller cells, smaller fonts (points: a label fits its row); up to 14 classes, matplotlib's own sizes
    tick_font = {} if cell >= 1.1 else {"fontsize": min(10.0, 72 * cell * 0.7)}
    ax.set_xticks(ticks, names, rotation=45 if max(map(len, names)) > 6 else 0,
                  ha="right" if max(map(len, names)) > 6 else "center", **tick_font)
    ax.set_yticks(ticks, names, **tick_font)
    ax.set_xlabel("Predicted label")
    ax.set_ylabel("True label")
    ax.set_title(title or "Confusion matrix")
    threshold = cm.max() / 2.0 if cm.size else 0
    if cell >= _CELL_TEXT_MIN_INCHES:  # below, a number would not fit its cell: the colours tell
        text_font = {} if cell >= 1.1 else {"fontsize": min(10.0, 27 * cell)}
        for i in range(cm.shape[0]):
            for j in range(cm.shape[1]):
                text = f"{cm[i, j]:.2f}" if normalize else f"{int(cm[i, j])}"
                ax.text(j, i, text, ha="center", va="center", color="white" if cm[i, j] > threshold else "black",
                        **text_font)
    return _finish(fig, path, dpi)


def _lookup_vectors(vectors, words: Sequence[str], skip_missing: bool):
    found, rows, missing = [], [], []
    for word in words:
        try:
            rows.append(np.asarray(vectors[word], dtype=float))
            found.append(word)
        except KeyError:
            missing.append(word)
    if missing and not skip_missing:
        raise KeyError(
            f"{len(missing)} word(s) not in the vectors: {', '.join(map(repr, missing[:10]))}"
            f"{' ...' if len(missing) > 10 else ''}. Remove them or pass skip_missing=True (--skip-missing on the command line)."
        )
    if missing:
        logger.warning("Skipping %d word(s) not in the vectors: %s", len(missing), ", ".join(missing))
    return found, np.vstack(rows) if rows else np.empty((0, 0))


def plot_word_map(vectors, words, path=None, *, method="pca", skip_missing=False, random_state=0, title=None,
                  dpi=100):
    """Project chosen word vectors to 2-D and plot them with their labels.

    Parameters
    ----------
    vectors : gensim KeyedVectors or mapping of str to array
        Anything with ``vectors[word]`` returning a 1-D vector (KeyError when
        absent).
    words : sequence of str
        At least two words (three for ``method="tsne"``).
    path : path-like, optional
        Image file to write (PNG, or the format its suffix names). Without
        it, nothing is written and the figure is returned.
    method : {"pca", "tsne"}, default="pca"
        :class:`sklearn.decomposition.PCA` or :class:`sklearn.manifold.TSNE`
        (perplexity capped below the number of words).
    skip_missing : bool, default=False
        Skip words the vectors lack (with a logged warning) instead of raising.
    random_state : int, default=0
    title : str, optional
    dpi : int, default=100

    Returns
    -------
    pathlib.Path or matplotlib.figure.Figure
        The written file; the figure when ``path`` is None.

    Raises
    ------
    KeyError
        Naming the words the vectors lack (unless ``skip_missing``).
    ValueError
        For an unknown method or too few words.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> vecs = {"king": np.array([1., 0, 0]), "queen": np.array([1., 1, 0]),
    ...         "apple": np.array([0., 0, 1])}
    >>> out = plot_word_map(vecs, ["king", "queen", "apple"],
    ...                     os.path.join(tempfile.mkdtemp(), "map.png"))
    """
    if method not in ("pca", "tsne"):
        raise ValueError(f"The 'method' parameter of plot_word_map must be a str among {{'pca', 'tsne'}}. Got {method!r} instead.")
    if isinstance(words, str):
        words = [words]
    words = list(dict.fromkeys(words))  # unique, order kept
    if path is not None:
        _check_path(path)
    _check_dpi(dpi, "plot_word_map")
    found, matrix = _lookup_vectors(vectors, words, skip_missing)
    needed = 3 if method == "tsne" else 2
    if len(found) < needed:
        raise ValueError(
            f"plot_word_map needs at least {needed} known words for method={method!r}, got "
            f"{len(found)} ({', '.join(found) or 'none'})."
        )
    if method == "pca":
        from sklearn.decomposition import PCA

        points = PCA(n_components=2, random_state=random_state).fit_transform(matrix)
        axis = "PC"
    else:
        from sklearn.manifold import TSNE

        perplexity = float(min(30, len(found) - 1))
        points = TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=random_state).fit_transform(matrix)
        axis = "t-SNE "

    fig = _new_figure((7.0, 6.0), dpi)
    ax = fig.subplots()
    ax.scatter(points[:, 0], points[:, 1], s=24, color="tab:blue")
    for word, (x, y) in zip(found, points):
        ax.annotate(word, (x, y), xytext=(4, 3), textcoords="offset points", fontsize=10)
    ax.set_xlabel(f"{axis}1")
    ax.set_ylabel(f"{axis}2")
    ax.set_title(title or f"Word map ({method.upper() if method == 'pca' else 't-SNE'}, {len(found)} words)")
    ax.grid(True, alpha=0.3)
    ax.margins(0.12)
    return _finish(fig, path, dpi)
