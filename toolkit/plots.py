"""Plots a person would rather look at than read: training history,
confusion matrix, and a 2-D map of word vectors.

Each function draws on its own :class:`matplotlib.figure.Figure` (no pyplot
global state, the Agg canvas, so it works without a display). Given a path, it
writes a PNG (or the format the path's suffix names, such as ``.pdf`` or
``.svg``) atomically (a temporary file in the same folder, then
:func:`os.replace`) and returns the path. Without one, it returns the figure,
which a Jupyter notebook shows as the cell's output (the figure has a PNG
representation of its own, so this needs neither pyplot nor
``%matplotlib inline``) and which ``fig.savefig`` writes anywhere; in a
script, ``fig.show()`` hands it to pyplot (then ``plt.show()`` keeps its window open).
Text from the data (class names, words) is drawn as is, never as mathtext.
matplotlib is imported inside the functions, so importing this module is cheap.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable, Mapping, Sequence
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
                # a notebook showed matplotlib's raw "Glyph 22909 (...) missing from font(s)" once per character
                # and draw: one warning naming the labels and the font setting instead (a Python warning, which
                # a notebook shows; the toolkit's log is silent there unless the user configures logging)
                _rendered(self, "The figure", lambda: self.savefig(buffer, format="png", dpi=self.dpi),
                          notebook=True)
                return buffer.getvalue()

            def show(self, warn=True):
                """Show the figure in a window of pyplot's backend (a script, an IDE), handing it to pyplot.

                matplotlib's own raised "Figure.show works only for figures managed by pyplot" for a
                figure made without pyplot, as these are. In a script, ``plt.show()`` after it keeps
                the window open; a non-interactive backend (Agg) warns that it cannot show it.
                """
                if self.canvas.manager is None:
                    import matplotlib.pyplot as plt

                    plt.figure(self)  # pyplot adopts it (its window, plt.show(), plt.close)
                super().show(warn=warn)

        PlotFigure.__module__ = __name__
        PlotFigure.__qualname__ = "PlotFigure"
        _FIGURE_CLASS = PlotFigure
    return _FIGURE_CLASS


def __getattr__(name):
    # toolkit.plots.PlotFigure, built on first use (matplotlib stays unimported until then); pickle finds it here
    if name == "PlotFigure":
        return _figure_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


#: The most pixels a figure may have: Pillow's decompression-bomb limit (twice ``PIL.Image.MAX_IMAGE_PIXELS``), over
#: which Pillow refuses to open the image; drawing it takes 4 bytes a pixel (0.7 GB here)
_MAX_PIXELS = 2 * 89_478_485


def _new_figure(figsize, dpi=100, function="the plot"):
    """A new figure of ``figsize`` inches at ``dpi``; a ValueError naming ``function``'s ``dpi`` when its image
    would exceed :data:`_MAX_PIXELS`.

    ``plot_confusion_matrix(..., dpi=10000)`` (a zero too many) drew a
    44,000 x 35,000-pixel image: the process grew past 20 GB and the system
    killed it (a notebook's kernel dies without a word).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    width, height = (round(float(side * dpi)) for side in figsize)
    if width * height > _MAX_PIXELS:
        most = int((_MAX_PIXELS / (figsize[0] * figsize[1])) ** 0.5)
        raise ValueError(
            f"The 'dpi' parameter of {function} is too large: dpi={dpi!r} makes its {figsize[0]:g} x "
            f"{figsize[1]:g}-inch figure {width:,} x {height:,} pixels ({width * height * 4 / 2**30:,.1f} GB to "
            f"draw; Pillow refuses to open images over {_MAX_PIXELS:,} pixels). Pass dpi={most} or less (300 is "
            "print quality)."
        )
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


def _check_path(path, function="the plot") -> tuple[Path, str]:
    """(``path``, the image format its suffix names: PNG without one); errors naming ``path`` and ``function``'s
    parameter, before drawing."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from ._atomic import _expand_home, nearest_existing_parent

    if not isinstance(path, (str, os.PathLike)) or not isinstance(os.fspath(path), str):
        # plot_history(history, ["loss", "accuracy"]) (metrics meant) raised os.fspath's "expected str, bytes or
        # os.PathLike object, not list", naming no parameter
        hint = (" The metrics to draw are chosen by keyword: plot_history(history, metrics=[...])."
                if function == "plot_history" and isinstance(path, (list, tuple)) else "")
        raise TypeError(f"The 'path' parameter of {function} must be a str or path-like naming the image file to "
                        f"write (e.g. 'plot.png'), or None to get the figure; got {type(path).__name__} {path!r}."
                        + hint)
    given = os.fspath(path)
    path = _expand_home(path)  # "~user/..." of no such user: a name, as atomic_output writes it (pathlib raised)
    if isinstance(given, str) and given.endswith(("/", os.sep)) and not path.is_dir():
        # Path("figures/") is Path("figures"): a PNG file named "figures" was written where a folder was meant,
        # and the next plot into "figures/loss.png" failed on it
        raise IsADirectoryError(f"{given} ends with a slash, so it names a folder; pass the image file to write, "
                                f"e.g. {path / 'plot.png'}.")
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
    from ._atomic import atomic_output, write_error

    path, fmt = _check_path(path)

    def write():
        with atomic_output(path) as tmp:
            fig.savefig(tmp, format=fmt, dpi=dpi)

    try:
        _rendered(fig, str(path), write)
    except OSError as err:
        # the same class (PermissionError...) and errno; the message names the image, not its temporary file
        # ("[Errno 13] Permission denied: '/data/.cm.png.bc36362bf488.tmp.png'"), and says what to do
        error = write_error(err, path)
        if error is None:
            raise
        raise error from err
    logger.info("Wrote %s", path)
    return path


_GLYPH = re.compile(r"Glyph (\d+) .*missing from font")


def _rendered(fig, where: str, render, *, notebook=False):
    """``render()`` (a draw of ``fig``), its missing-glyph warnings turned into one logged warning (``notebook``:
    one ``UserWarning``, what a notebook shows).

    matplotlib's default DejaVu Sans has Latin, Greek and Cyrillic, not Chinese, Japanese, Korean...: it
    warned "Glyph 22909 (...) missing from font(s) DejaVu Sans." once per character and draw, naming no
    label nor what to do. The warning here names the labels, the characters and the font setting, once per
    figure. Other warnings pass through.
    """
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = render()
    missing = []
    for w in caught:
        match = _GLYPH.search(str(w.message))
        if match is None:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        elif chr(int(match.group(1))) not in missing:
            missing.append(chr(int(match.group(1))))
    if missing and not getattr(fig, "_toolkit_glyphs_warned", False):
        from matplotlib.text import Text

        fig._toolkit_glyphs_warned = True
        texts = list(dict.fromkeys(t.get_text() for t in fig.findobj(Text) if set(t.get_text()) & set(missing)))
        shown = ", ".join(map(repr, texts[:5])) + (" ..." if len(texts) > 5 else "")
        message = (
            f"{where}: the plot's font lacks {len(missing)} characters of its labels ({''.join(missing[:20])}), "
            f"drawn as empty boxes in {shown or 'the labels'}. Install a font that has them (for Chinese, "
            "Japanese, Korean: Noto Sans CJK) and name it before plotting: matplotlib.rcParams['font.family'] = "
            "['Noto Sans CJK JP', 'sans-serif'] (or put it first in rcParams['font.sans-serif'])."
        )
        if notebook:
            warnings.warn(message, UserWarning, stacklevel=3)
        else:
            logger.warning("%s", message)
    return result


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
    frame = not isinstance(history, Mapping) and hasattr(history, "columns") and hasattr(history, "to_numpy")
    if frame:
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
        if hasattr(history, "fit") and hasattr(history, "get_params"):
            # "history must be ... a fitted estimator ..., got EmbeddingClassifier" did not say what was wrong
            fitted = any(name.endswith("_") and not name.startswith("_") for name in vars(history))
            raise TypeError(
                f"plot_history got {'a fitted' if fitted else 'an unfitted'} {type(history).__name__}, which "
                "holds no per-epoch history_: the Keras models (EmbeddingClassifier) record one when they are "
                "fitted; plot a fitted one, or pass its Keras History or a dict of per-epoch lists."
            )
        raise TypeError(
            "history must be a dict of per-epoch metric lists, a Keras History, a fitted estimator with a "
            f"history_ attribute or a DataFrame of one column per metric, got {type(history).__name__}."
        )
    out = {}
    for key, values in history.items():
        key = str(key)
        what = f"column {key!r} of the DataFrame" if frame else f"history's {key!r}"
        try:
            array = np.asarray(values, dtype=float)
        except (TypeError, ValueError) as err:
            # a column of text (a CSVLogger file with a note, a timestamp): "could not convert string to float:
            # 'a'" named no column; refused only if it is one of the metrics to draw
            try:
                sample = next((v for v in np.ravel(np.asarray(values, dtype=object)) if not _is_number(v)), None)
            except (TypeError, ValueError):  # nested lists of uneven lengths
                sample = None
            out[key] = _Unplottable(
                f"The {what} holds values that are not numbers ({sample!r:.40}: {err}); plot_history draws one "
                "number per epoch. Leave it out of metrics=..., or convert it first"
                + (f" (e.g. pd.to_numeric(df[{key!r}], errors='coerce'))." if frame else "."))
            continue
        if array.ndim > 1 and array.size and array.shape[1:] != (1,) * (array.ndim - 1):
            # per-class values (keras.metrics.F1Score(average=None), Precision(class_id=None)...) were flattened
            # into epochs*k points, drawn as k times as many epochs
            out[key] = _Unplottable(
                f"The {what} holds {int(np.prod(array.shape[1:]))} values per epoch (shape {array.shape}: one per "
                "class?); plot_history draws one number per epoch. Plot one class's values, e.g. "
                f"{{'{key}': [epoch[0] for epoch in history[{key!r}]]}}, or record an average "
                "(keras.metrics.F1Score(average='macro')).")
            continue
        array = array.ravel()
        if array.size:
            out[key] = array
    return out


class _Unplottable:
    """A history entry that cannot be drawn (text, several values per epoch): its error, raised if it is drawn."""

    def __init__(self, message):
        self.message = message

    def __len__(self):
        return 0


def _is_number(value) -> bool:
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True


def _epoch_ranges(epochs) -> str:
    """1-based epoch numbers as ranges: ``[3, 4, 5, 9]`` -> ``"epochs 3-5, 9"``."""
    runs = []
    for epoch in epochs:
        if runs and epoch == runs[-1][1] + 1:
            runs[-1][1] = epoch
        else:
            runs.append([epoch, epoch])
    text = ", ".join(f"{a}" if a == b else f"{a}-{b}" for a, b in runs)
    return f"epoch{'s' if len(epochs) > 1 else ''} {text}"


def _recorded_epochs(history) -> np.ndarray | None:
    """The 1-based epochs of the history's rows where it records them, or None (they are 1, 2, ...).

    A Keras History keeps its 0-based epochs in ``epoch``, and a ``CSVLogger`` file its ``epoch``
    column: training resumed with ``fit(initial_epoch=5, epochs=10)`` ran epochs 6 to 10, which were
    drawn at 1 to 5. Epochs that are not whole, rising numbers (two runs in one file) are not used.
    """
    if isinstance(history, Mapping):
        return None
    if hasattr(history, "history") and isinstance(getattr(history, "epoch", None), list):
        values = history.epoch  # a Keras History
    elif hasattr(history, "columns") and hasattr(history, "to_numpy") and "epoch" in history.columns:
        values = history["epoch"].to_numpy()  # a DataFrame: a CSVLogger file read back
    else:
        return None
    try:
        epochs = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        return None
    if epochs.ndim != 1 or not epochs.size or not np.isfinite(epochs).all() or (epochs != np.round(epochs)).any() \
            or epochs.min() < 0 or (np.diff(epochs) <= 0).any():
        return None
    return epochs.astype(np.int64) + 1


def _validation_epochs(val, metric: str, train, keras_epochs: int | None, epochs=None) -> np.ndarray:
    """The 1-based epochs of the validation values ``val``: those of the training values (``epochs``, else
    1, 2, ...) unless a Keras History validated less often.

    Keras' ``fit(validation_freq=f)`` validates at epochs f, 2f, ...: its History holds
    ``epochs // f`` values of each ``val_`` metric (drawn at epochs 1, 2, ... they showed the
    validation loss of epoch 4 at epoch 2). The frequency is read back from the counts where only one
    whole number fits; otherwise (a list of epochs, or a dict whose lists differ) the values are drawn
    at 1, 2, ... (the first recorded epochs) with a warning.
    """
    n_epochs = keras_epochs if keras_epochs is not None else (len(train) if train is not None else len(val))
    every = epochs if epochs is not None and len(epochs) == n_epochs else np.arange(1, n_epochs + 1)
    if len(val) == n_epochs:
        return every
    if keras_epochs is not None and 0 < len(val) < n_epochs:
        # fit(initial_epoch=k, validation_freq=f) validates at the multiples of f among epochs k+1...
        freqs = [f for f in range(2, int(every.max()) + 1) if np.count_nonzero(every % f == 0) == len(val)]
        if len(freqs) == 1:
            at = every[every % freqs[0] == 0]
            logger.info("The history's val_%s has %d values for %d epochs: drawn at %s, where "
                        "fit(validation_freq=%d) validates.", metric, len(val), n_epochs,
                        _epoch_ranges(at.tolist()), freqs[0])
            return at
    at = every[:len(val)] if len(val) <= len(every) else np.arange(1, len(val) + 1)
    logger.warning("The history's val_%s has %d value(s) for %d epochs of training: drawn at %s (if they were "
                   "recorded at other epochs, fit(validation_freq=...), the plot shows them at the wrong ones; "
                   "pass the Keras History itself, not its .history dict).",
                   metric, len(val), n_epochs, _epoch_ranges(at.tolist()))
    return at


def _mark_not_finite(ax, values, curve: str, color: str, height: float, epochs=None) -> None:
    """Mark the epochs where ``values`` is NaN or infinite with an x at the bottom of ``ax``, and log them.

    matplotlib leaves such points out without a word: a diverged training (loss NaN from epoch 3 of 4)
    was drawn as a loss curve of 2 epochs beside an accuracy curve of 4.
    """
    bad = ~np.isfinite(values)
    if not bad.any():
        return
    every = np.arange(1, len(values) + 1) if epochs is None else np.asarray(epochs)
    epochs = every[bad].tolist()
    kinds = " or ".join(name for name, hit in (("NaN", np.isnan(values).any()), ("inf", np.isinf(values).any()))
                        if hit)
    # x in epochs, y in axes fractions: at the bottom of the panel whatever the finite values' range
    ax.plot(epochs, [height] * len(epochs), "x", color=color, markersize=8, transform=ax.get_xaxis_transform(),
            label=f"{curve} {kinds} ({_epoch_ranges(epochs)})")
    logger.warning("The history's %s is %s at %s of %d (the training diverged? a smaller learning rate may "
                   "help); the plot marks them with an x at the bottom.", curve.lower(), kinds, _epoch_ranges(epochs), every[-1])


#: Keras metrics whose values are rates in [0, 1] (accuracy, auc, precision_1...): their axis never goes past 1
_RATE_METRIC = re.compile(r"(?:^|_)(?:acc|accuracy|auc|prc|precision|recall|f1|f1_score|fbeta_score|iou|"
                          r"true_positive_rate|specificity|sensitivity)(?:_\d+)?$")


def _clamp_rate_axis(ax, metric: str, train, val) -> None:
    """End the y axis of a rate (accuracy...) at 1.0, not at matplotlib's margin above it (1.02 to 1.05).

    An accuracy of 1.0 drew an axis up to 1.04, as if accuracy could pass 1. The points at 1.0 are not
    clipped: a dot on the top edge stays whole.
    """
    if not _RATE_METRIC.search(metric):
        return
    finite = [v[np.isfinite(v)] for v in (train, val) if v is not None]
    values = np.concatenate(finite) if finite else np.zeros(0)
    if not values.size or values.min() < 0 or values.max() > 1 or ax.get_ylim()[1] <= 1.0:
        return
    bottom = ax.get_ylim()[0]
    ax.set_ylim(bottom if bottom < 1.0 else 0.95, 1.0)  # all values 1.0: a small range below, not an empty one
    for line in ax.lines:
        line.set_clip_on(False)


#: the names a Keras History may give accuracy: "accuracy" (compile(metrics=["accuracy"])), "acc" (["acc"], the
#: chapter's first edition) and those of an accuracy metric object (keras.metrics.BinaryAccuracy() logs
#: "binary_accuracy"); plot_history's "accuracy" or "acc" draws the first of them the history has
_ACCURACY_NAMES = ("accuracy", "acc", "binary_accuracy", "categorical_accuracy", "sparse_categorical_accuracy")


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
        epoch axis. Epochs whose value is NaN or infinite (a diverged
        training) are marked with an x at the bottom of the panel, and
        logged as a warning. A Keras History from ``fit(validation_freq=f)``
        has fewer ``val_`` values than epochs: they are drawn at epochs
        f, 2f, ... (a dict of such lists cannot tell, and draws them at
        1, 2, ... with a warning). Training resumed with
        ``fit(initial_epoch=k)`` is drawn at its own epochs k+1, k+2...,
        which a Keras History (its ``epoch``) and a CSVLogger file (its
        ``epoch`` column) record; a dict starts at 1.
    path : path-like, optional
        Image file to write: PNG, or the format its suffix names (``.pdf``,
        ``.svg``...). Missing folders are created; ``~`` is the home folder.
        Without it, nothing is written and the figure is returned (a notebook
        shows it as the cell's output).
    metrics : str or sequence of str, default=("loss", "accuracy")
        Metric(s) to draw; ones the history lacks are skipped, and one it
        holds only the ``val_`` values of gets a panel of those. ``"accuracy"``
        (or ``"acc"``) draws the history's ``"accuracy"``, ``"acc"``,
        ``"binary_accuracy"``, ``"categorical_accuracy"`` or
        ``"sparse_categorical_accuracy"``, the first it has (a model compiled
        with ``metrics=[keras.metrics.BinaryAccuracy()]`` logs
        ``"binary_accuracy"``). Each panel shows a metric and its
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
        If the history holds none of the requested metrics, ``path`` names
        a format matplotlib does not write, or ``path`` is a bare metric name
        (``plot_history(h, "loss")``: ``metrics="loss"`` is meant), or
        ``dpi`` would make an image over 179 million pixels.
    TypeError
        If ``history`` is none of the above (e.g. an unfitted pipeline), or
        ``path`` is neither a str nor path-like.

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
    metrics = [metrics] if isinstance(metrics, str) else list(metrics) if isinstance(metrics, Iterable) else None
    if metrics is None or not all(isinstance(m, str) for m in metrics):
        raise ValueError(f"The 'metrics' parameter of plot_history must be a str or a list of str, such as "
                         f"['loss', 'accuracy']. Got {metrics!r} instead.")
    if path is not None:
        _check_path(path, "plot_history")
    _check_dpi(dpi, "plot_history")
    hist = _history_dict(history)
    if isinstance(path, str) and not Path(path).suffix and not os.path.dirname(path) and (
            path in hist or path.removeprefix("val_") in ("loss", *_ACCURACY_NAMES)):
        # plot_history(history, "loss"), metrics meant: a PNG file named "loss" was written in the current folder,
        # and the notebook showed its path instead of the figure
        raise ValueError(
            f"The 'path' parameter of plot_history names the image file to write, and {path!r} names a metric: "
            f"pass metrics={path!r} by keyword to draw it (plot_history(history, metrics={path!r})), or a file "
            f"name with its format, such as {path + '.png'!r}."
        )

    def names(metric):  # the metric's own name first, then the names Keras may have logged it under
        return [metric, *_ACCURACY_NAMES] if metric in _ACCURACY_NAMES else [metric]

    def key_of(metric, prefix=""):
        return next((name for name in names(metric) if prefix + name in hist), None)

    panels = []  # (metric, training values or None, validation values or None)
    drawn = set()  # the history's keys that have a panel
    for metric in metrics:
        if metric.startswith("val_"):
            # validation values alone; with their training metric, they are in its panel already (they
            # were drawn as a second panel of training dots, titled "Training val_loss")
            name = metric[len("val_"):]
            trained = [m for m in names(name) if m in metrics]
            if any(key_of(m) is not None for m in trained):
                # (a training metric the history lacks has no panel: its val_ values get one of their own)
                continue
            key = key_of(name, "val_")
            if key is not None and f"val_{key}" not in drawn:
                drawn.add(f"val_{key}")
                panels.append((name, None, hist[f"val_{key}"]))
            continue
        key = key_of(metric)
        if key is None:
            # the history has only the metric's validation values (a DataFrame of the val_ columns, a custom
            # training loop): they were left out without a word, or "has none of the metrics" was raised
            key = key_of(metric, "val_")
            if key is not None and f"val_{key}" not in drawn:
                drawn.add(f"val_{key}")
                panels.append((metric, None, hist[f"val_{key}"]))
            continue
        if key not in drawn:  # metrics=["accuracy", "acc"] or a repeated name: one panel
            drawn.add(key)
            panels.append((metric, hist[key], hist.get(f"val_{key}")))
    if not panels:
        raise ValueError(
            f"The history has none of the metrics {list(metrics)}; it has {sorted(hist)}. "
            "Pass metrics=... naming the ones to plot."
        )
    unplottable = [curve for _, *curves in panels for curve in curves if isinstance(curve, _Unplottable)]
    if unplottable:  # values, not the history's type, are wrong
        raise ValueError(unplottable[0].message)
    # a Keras History knows its epochs (fit(validation_freq=2) records the val_ metrics of every other one)
    epochs_attr = getattr(history, "epoch", None) if not isinstance(history, Mapping) else None
    keras_epochs = len(epochs_attr) if isinstance(epochs_attr, list) and hasattr(history, "history") else None
    recorded = _recorded_epochs(history)
    kept = _kept_epoch(history)
    n_epochs = max(len(values) for _, *curves in panels for values in curves if values is not None)
    if kept is not None and not 0 <= kept < n_epochs - 1:  # the last epoch's weights (or out of range): no mark
        kept = None
    fig = _new_figure((5.0 * len(panels), 4.0), dpi, "plot_history")
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    for ax, (metric, train, val) in zip(axes, panels):
        if train is not None:
            train_epochs = recorded if recorded is not None and len(recorded) == len(train) else \
                np.arange(1, len(train) + 1)
            ax.plot(train_epochs, train, "o", color="tab:blue", label=f"Training {metric}")
            _mark_not_finite(ax, train, f"Training {metric}", "tab:blue", 0.03, train_epochs)
        if val is not None:
            # a line through one point is invisible: one epoch gets a marker, and so do the epochs of a line
            # broken by NaN
            val_epochs = _validation_epochs(val, metric, train, keras_epochs, recorded)
            ax.plot(val_epochs, val, "-" if len(val) > 1 and np.isfinite(val).all() else "-s",
                    color="tab:orange", label=f"Validation {metric}")
            _mark_not_finite(ax, val, f"Validation {metric}", "tab:orange", 0.08, val_epochs)
        _clamp_rate_axis(ax, metric, train, val)
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


def plot_confusion_matrix(y_true, y_pred, labels=None, path=None, *, normalize=None, title=None, dpi=100):
    """Plot the confusion matrix of true against predicted labels.

    Each cell shows its count (or rate); the matrix grows with the number of
    classes up to 16 inches a side, then its cells and fonts shrink, and
    beyond 64 classes the cells show their colour only.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,) or (n_samples, 1)
        True and predicted labels (a column, such as the chapter's
        ``(model.predict(x) > 0.5).astype("int32")``, is read as one label per
        sample, as scikit-learn's ``confusion_matrix`` reads it).
    labels : sequence, optional
        The classes, in display order (e.g. ``["neg", "pos"]``, or
        ``clf.classes_``). When ``y_true`` holds integer codes ``0..k-1`` and
        ``labels`` are names (not numbers), the names are used as tick labels.
        None: the classes ``y_true`` and ``y_pred`` hold, sorted (as
        :func:`sklearn.metrics.confusion_matrix` orders them); a class
        neither holds then has no row.
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
    # a column vector is one label per sample, as scikit-learn's confusion_matrix reads it: the chapter's
    # (model.predict(x) > 0.5).astype("int32") is (n, 1); it was refused with advice to take the argmax of its
    # one column, which is 0 for every sample
    y_true, y_pred = (y.ravel() if y.ndim == 2 and y.shape[1] == 1 else y for y in (y_true, y_pred))
    if y_true.shape != y_pred.shape or y_true.ndim != 1:
        hint = ""
        if y_true.ndim == 1 and y_pred.ndim == 2 and len(y_pred) == len(y_true):
            # clf.predict_proba(X) passed for clf.predict(X): a Keras habit (model.predict gives probabilities)
            hint = (" y_pred has one column per class, as probabilities or scores do: pass predicted labels, "
                    "clf.predict(X) (or clf.classes_[proba.argmax(axis=1)]).")
        elif y_true.ndim == 2 and y_true.shape == y_pred.shape:
            hint = (" These are multilabel indicator matrices (one column per label): plot one label at a time, "
                    "plot_confusion_matrix(y_true[:, j], y_pred[:, j], [0, 1]), or see "
                    "sklearn.metrics.multilabel_confusion_matrix.")
        raise ValueError(
            f"y_true and y_pred must be 1-D and of the same length, got shapes {y_true.shape} "
            f"and {y_pred.shape}.{hint}"
        )
    if not y_true.size:  # was "labels must name at least one class" for labels=None
        raise ValueError("y_true and y_pred hold no samples: a confusion matrix needs at least one.")
    for name, y in (("y_true", y_true), ("y_pred", y_pred)):
        _refuse_missing_labels(y, name)
    user_labels = labels is not None
    if labels is None:
        # scikit-learn's default; was "TypeError: 'NoneType' object is not iterable"
        from sklearn.utils.multiclass import unique_labels

        try:
            labels = unique_labels(y_true, y_pred)
        except (TypeError, ValueError) as err:
            # "Mix of label input types (string and number)", no samples...; an object array mixing 1 and 'a'
            # failed numpy's sort with a bare "TypeError: '<' not supported between instances of 'str' and 'int'"
            raise ValueError(f"plot_confusion_matrix cannot find the classes of y_true and y_pred: "
                             f"{str(err).rstrip('.')}. Pass them in display order, labels=clf.classes_ or e.g. "
                             "['neg', 'pos'] (labels of one type: 1 and '1' are two classes).") from err
    elif isinstance(labels, (str, bytes)) or not isinstance(labels, Iterable):
        # labels="pos" was read as the classes 'p', 'o', 's'
        raise ValueError(f"The 'labels' parameter of plot_confusion_matrix must be a sequence of the classes in "
                         f"display order, such as ['neg', 'pos'] or clf.classes_, or None. Got {labels!r} instead.")
    labels = list(labels)
    names = [str(label) for label in labels]
    if not names:
        raise ValueError("labels must name at least one class.")
    seen, repeated = set(), []
    for label in labels:
        try:
            if label in seen and label not in repeated:
                repeated.append(label)
            seen.add(label)
        except TypeError:  # unhashable: refused below, as a label no sample holds
            continue
    if repeated:
        # scikit-learn counts a repeated class in its last row and column only: the first showed zeros
        raise ValueError(
            f"labels names {', '.join(repr(c.item() if isinstance(c, np.generic) else c) for c in repeated[:10])} more than once: a class's samples would be "
            "counted in one of its rows and the other would show zeros. Pass each class once, in display order."
        )
    codes = list(labels)
    present = set(y_true.tolist()) | set(y_pred.tolist())
    # integer codes with names for display; never when labels are numbers themselves (star ratings
    # [1, 2, 3, 4, 7, ...]): codes 0/1 would be shown silently as ratings 1 and 2
    named = not any(isinstance(c, (int, float, np.number)) and not isinstance(c, (bool, np.bool_)) for c in codes)
    if named and not present <= set(codes) and present <= set(range(len(codes))):
        codes = list(range(len(codes)))
    unknown = present - set(codes)
    if unknown:
        hint = ""
        if y_pred.dtype.kind == "f" and len(codes) == 2 and y_pred.size and 0 <= np.nanmin(y_pred) \
                and np.nanmax(y_pred) <= 1 and unknown & set(y_pred.tolist()) - {0.0, 1.0}:
            # a sigmoid's probabilities (Keras' model.predict(x)) passed as predicted labels
            hint = (" y_pred looks like probabilities of the second class (a sigmoid output, Keras' model.predict): "
                    "pass predicted labels, clf.predict(X), or (y_pred > 0.5).astype(int) for classes 0 and 1.")
        else:
            # class names on one side, codes 0..k-1 on the other (the chapter's (model.predict(x) > 0.5)
            # .astype("int32") beside load_imdb's 'neg'/'pos'): "labels lacks 0, 1" did not say which was which
            values = {"y_true": set(y_true.tolist()), "y_pred": set(y_pred.tolist())}
            for coded, other in (("y_pred", "y_true"), ("y_true", "y_pred")):
                if values[other] <= set(codes) and values[coded] <= set(range(len(codes))) \
                        and not values[coded] <= set(codes):
                    classes = [c.item() if isinstance(c, np.generic) else c for c in codes]
                    hint = (f" {coded} holds class codes 0..{len(codes) - 1} while {other} holds the classes "
                            f"themselves: map the codes to classes first, np.asarray({classes!r})[{coded}] (if code i "
                            f"is the i-th class), or compare codes with codes.")
                    break
        raise ValueError(
            f"y_true or y_pred holds label(s) {', '.join(map(repr, sorted(unknown, key=str)[:10]))} that "
            f"labels={[c.item() if isinstance(c, np.generic) else c for c in codes]!r} lacks (compared by value "
            "and type: '1' is not 1): their samples would be missing from the matrix. Pass every class in labels."
            + hint
        )
    if path is not None:
        _check_path(path, "plot_confusion_matrix")
    _check_dpi(dpi, "plot_confusion_matrix")
    if normalize not in (None, "true", "pred", "all"):  # scikit-learn's message named its confusion_matrix
        raise ValueError("The 'normalize' parameter of plot_confusion_matrix must be a str among {'true', 'pred', "
                         f"'all'}} or None. Got {normalize!r} instead.")
    import warnings

    with warnings.catch_warnings():
        # scikit-learn's "A single label was found ... use the 'labels' parameter" came also when the labels
        # were given (labels=['pos']); said once below, in plot_confusion_matrix's words, when they were not
        warnings.filterwarnings("ignore", message="A single label was found", category=UserWarning)
        cm = confusion_matrix(y_true, y_pred, labels=codes, normalize=normalize)
    if len(codes) == 1 and not user_labels:
        logger.warning("plot_confusion_matrix: y_true and y_pred hold one class only, %r: the matrix has one cell. "
                       "Pass labels=clf.classes_ (or e.g. ['neg', 'pos']) to show the rows and columns of every "
                       "class.", codes[0].item() if isinstance(codes[0], np.generic) else codes[0])

    # 1.1 inch a class up to _MATRIX_MAX_INCHES a side, smaller cells (and fonts) beyond: 100 classes drew
    # an 11,220-pixel-wide PNG (3.5 GB of memory, 24 CPU s) that Pillow refuses as a decompression bomb
    cell = min(1.1, _MATRIX_MAX_INCHES / len(names))
    size = 1.2 + cell * len(names)
    fig = _new_figure((max(4.0, size + 1.0), max(3.5, size)), dpi, "plot_confusion_matrix")
    ax = fig.subplots()
    # a rate's colour scale is 0 to 1 whatever its largest cell (0.5 was drawn as dark as a perfect 1.0)
    image = ax.imshow(cm, cmap="Blues", vmin=0, vmax=1 if normalize else None)
    fig.colorbar(image, ax=ax)
    ticks = np.arange(len(names))
    # smaller cells, smaller fonts (points: a label fits its row); up to 14 classes, matplotlib's own sizes
    tick_font = {} if cell >= 1.1 else {"fontsize": min(10.0, 72 * cell * 0.7)}
    # class names are data, not mathtext: "$0-$50" was drawn as math ("0-" in italics) and "$\frac$" failed
    # the save with a ParseSyntaxException
    ax.set_xticks(ticks, names, rotation=45 if max(map(len, names)) > 6 else 0,
                  ha="right" if max(map(len, names)) > 6 else "center", parse_math=False, **tick_font)
    ax.set_yticks(ticks, names, parse_math=False, **tick_font)
    ax.set_xlabel("Predicted label")
    ax.set_ylabel("True label")
    # which way the rates run: a row of 0.61 / 0.39 is recall per class only when the rows sum to 1
    ax.set_title(title or {None: "Confusion matrix", "true": "Confusion matrix (each row sums to 1)",
                           "pred": "Confusion matrix (each column sums to 1)",
                           "all": "Confusion matrix (share of all samples)"}[normalize])
    threshold = 0.5 if normalize else cm.max() / 2.0 if cm.size else 0  # white text on the darker half
    if cell >= _CELL_TEXT_MIN_INCHES:  # below, a number would not fit its cell: the colours tell
        text_font = {} if cell >= 1.1 else {"fontsize": min(10.0, 27 * cell)}
        for i in range(cm.shape[0]):
            for j in range(cm.shape[1]):
                text = f"{cm[i, j]:.2f}" if normalize else f"{int(cm[i, j])}"
                ax.text(j, i, text, ha="center", va="center", color="white" if cm[i, j] > threshold else "black",
                        **text_font)
    return _finish(fig, path, dpi)


def _refuse_missing_labels(y, name: str) -> None:
    """Refuse missing labels (None, NaN, pandas' NA) in ``y``, naming the first: scikit-learn failed with "'<' not
    supported between instances of 'NoneType' and 'str'" (labels=None) or they were called a class ``labels``
    lacks."""
    from ._validation import missing_mask

    missing = missing_mask(y)
    if missing is not None and missing.any():
        first = int(np.flatnonzero(missing)[0])
        value = y[first].item() if isinstance(y[first], np.generic) else y[first]
        raise ValueError(
            f"{name} holds a missing label ({value!r} at index {first}; {int(missing.sum())} of {y.shape[0]} "
            "samples): plot_confusion_matrix counts every sample in the row of its true class and the column of "
            f"its predicted one. Leave those samples out of both y_true and y_pred first, e.g. keep = "
            f"pd.notna({name}), or fill them in."
        )


def _skip_missing_advice() -> str:
    """``skip_missing=True``, or ``--skip-missing`` for a command (its :func:`~toolkit.vectors._parse.spelled_as`)."""
    from .vectors._parse import spelling

    how = spelling()
    option = how.option("skip_missing")
    # a command line spells the setting as its flag alone: "--skip-missing True" is no option
    return option if option.startswith("-") else how.setting("skip_missing", True)


def _words_listed(words, limit=10) -> str:
    return f"{', '.join(map(repr, words[:limit]))}{' ...' if len(words) > limit else ''}"


def _lookup_vectors(vectors, words: Sequence[str], skip_missing: bool):
    found, rows, missing = [], [], []
    for word in words:
        try:
            rows.append(np.asarray(vectors[word], dtype=float))
            found.append(word)
        except KeyError:
            missing.append(word)
    if missing and not skip_missing:
        others = ""
        if hasattr(vectors, "index_to_key"):  # KeyedVectors: "new york" is "new_york", "Paris" is "paris" there
            from .vectors.evaluation import _other_entry

            entries = [(w, e) for w in missing if (e := _other_entry(vectors, w)) is not None]
            if entries:
                others = " Under another name: " + "; ".join(
                    f"{w!r} is {named} ({why})" for w, (_, named, why) in entries) + "; ask for those."
        raise KeyError(
            f"{len(missing)} word(s) not in the vectors: {_words_listed(missing)}.{others} Remove them, or pass "
            f"{_skip_missing_advice()} to leave them off the map."
        )
    if missing:
        logger.warning("Skipping %d word(s) not in the vectors: %s", len(missing), ", ".join(missing))
    if not rows:
        return found, np.empty((0, 0))
    shapes = {row.shape for row in rows}
    if len(shapes) > 1 or rows[0].ndim != 1:
        # a dict of vectors of different lengths: numpy's "all the input array dimensions except for the
        # concatenation axis must match exactly" named no word
        sizes = {}
        for word, row in zip(found, rows):
            sizes.setdefault(row.shape, []).append(word)
        raise ValueError(
            "The vectors of the words must be 1-D and of one length, got "
            + "; ".join(f"shape {shape} for {_words_listed(group, 3)}" for shape, group in sizes.items()) + "."
        )
    matrix = np.vstack(rows)
    bad = [word for word, row in zip(found, matrix) if not np.isfinite(row).all()]
    if bad:
        raise ValueError(f"The vectors of {len(bad)} word(s) hold NaN or infinite values: {_words_listed(bad)}. "
                         "Leave these words out of the map.")
    return found, matrix


def plot_word_map(vectors, words, path=None, *, method="pca", skip_missing=False, random_state=0, title=None,
                  dpi=100):
    """Project chosen word vectors to 2-D and plot them with their labels.

    Parameters
    ----------
    vectors : gensim KeyedVectors, mapping of str to array, str or path-like
        Anything with ``vectors[word]`` returning a 1-D vector (KeyError when
        absent), or a vectors file or manifest name (``"glove.6B.50d"``),
        read with :func:`toolkit.vectors.load_vectors` as the estimators'
        ``vectors`` are.
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
        _check_path(path, "plot_word_map")
    _check_dpi(dpi, "plot_word_map")
    if isinstance(vectors, (str, os.PathLike)):  # vectors["good"] of a path: "string indices must be integers"
        from .vectors import load_vectors

        vectors = load_vectors(vectors)
    found, matrix = _lookup_vectors(vectors, words, skip_missing)
    needed = 3 if method == "tsne" else 2
    if len(found) < needed:
        raise ValueError(
            f"plot_word_map needs at least {needed} known words for method={method!r}, got "
            f"{len(found)} ({', '.join(found) or 'none'})."
        )
    # words with one vector (each unknown word of a model mapped to one vector, a word and its copy): one
    # point, one label "a, b" (two labels drawn over each other could be read as neither)
    groups: dict[bytes, list[int]] = {}
    for i, row in enumerate(matrix):
        groups.setdefault(row.tobytes(), []).append(i)
    if len(groups) == 1:
        # nothing to spread apart: PCA put every word on (0, 0), and t-SNE's PCA start divided by zero and
        # crashed the interpreter (a segmentation fault)
        raise ValueError(
            f"The {len(found)} words {_words_listed(found)} all have the same vector: a map has nothing to "
            "spread them apart. Choose words with different vectors."
        )
    if len(groups) < len(found):
        logger.info("Words with the same vector share a point on the map: %s",
                    "; ".join(", ".join(found[i] for i in group) for group in groups.values() if len(group) > 1))
    if method == "pca":
        from sklearn.decomposition import PCA

        pca = PCA(n_components=2, random_state=random_state)
        points = pca.fit_transform(matrix)
        axis = "PC"
        # how much of the words' spread the map shows: two components of 50-300 dimensions often keep a third
        shares = [f" ({share:.0%} of the variance)" for share in pca.explained_variance_ratio_]
    else:
        from sklearn.manifold import TSNE

        perplexity = float(min(30, len(found) - 1))
        points = TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=random_state).fit_transform(matrix)
        axis = "t-SNE "
        shares = ["", ""]

    fig = _new_figure((7.0, 6.0), dpi, "plot_word_map")
    ax = fig.subplots()
    ax.scatter(points[:, 0], points[:, 1], s=24, color="tab:blue")
    for group in groups.values():
        x, y = points[group[0]]
        # words are data, not mathtext ("$5" and "$10" at one point read as math: "5, " in italics)
        ax.annotate(", ".join(found[i] for i in group), (x, y), xytext=(4, 3), textcoords="offset points",
                    fontsize=10, parse_math=False)
    ax.set_xlabel(f"{axis}1{shares[0]}")
    ax.set_ylabel(f"{axis}2{shares[1]}")
    ax.set_title(title or f"Word map ({method.upper() if method == 'pca' else 't-SNE'}, {len(found)} words)")
    ax.grid(True, alpha=0.3)
    ax.margins(0.12)
    return _finish(fig, path, dpi)
