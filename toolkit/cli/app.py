"""The ``toolkit`` command-line interface (typer).

A thin layer: each command parses its arguments, calls one library function
(mostly in :mod:`toolkit.workflows`) with the same parameter names, renders
the result (data to stdout, diagnostics to stderr) and maps errors to a
one-line message and a non-zero exit code. No business logic lives here, and
nothing heavy is imported at module level, so ``toolkit --help`` answers
quickly without TensorFlow.
"""

from __future__ import annotations

import functools
import json
import logging
import sys
from pathlib import Path

import typer

from .. import __version__

__all__ = ["app", "main"]

app = typer.Typer(
    name="toolkit",
    help="Deep learning on text: tokenize, vectorize, load word vectors, train and evaluate classifiers.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
data_app = typer.Typer(help="Datasets and word vectors: manifests, offline folder, cache, verified download.",
                       no_args_is_help=True)
vectors_app = typer.Typer(help="Word vectors: inspect, query, check coverage, convert, train, plot.",
                          no_args_is_help=True)
app.add_typer(data_app, name="data")
app.add_typer(vectors_app, name="vectors")

_state = {"debug": False, "quiet": False, "verbose": False}

DEFAULT_VECTORS = "glove.6B.50d"
SET_HELP = "Parameter as key=value (repeatable); values are read as Python/JSON literals, else strings."


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"toolkit {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log progress details to stderr."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Only errors on stderr; no progress bars."),
    debug: bool = typer.Option(False, "--debug", help="Show full tracebacks on errors."),
    version: bool = typer.Option(
        False, "--version", callback=_version_callback, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Deep learning on text with spaCy, gensim, Keras and scikit-learn."""
    level = logging.DEBUG if debug else logging.INFO if verbose else logging.ERROR if quiet else logging.WARNING
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr, force=True)
    _state["debug"] = debug
    _state["quiet"] = quiet
    _state["verbose"] = verbose


# ----------------------------------------------------------------------- helpers


def _is_user_error(exc: BaseException) -> bool:
    from ..exceptions import ToolkitError

    return isinstance(exc, (ToolkitError, ValueError, OSError, KeyError))


def _one_line(exc: BaseException) -> str:
    message = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
    message = str(message).strip()
    return message.splitlines()[0] if message else type(exc).__name__


def _errors_to_exit(func):
    """Turn a user error into ``Error: <one line>`` on stderr and exit code 1 (unless --debug)."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except Exception as exc:
            import click

            if isinstance(exc, (click.ClickException, click.exceptions.Exit)) or _state["debug"] or not _is_user_error(exc):
                raise
            typer.echo(f"Error: {_one_line(exc)}", err=True)
            raise typer.Exit(1) from exc

    return wrapper


def _info(message: str) -> None:
    """A diagnostic line on stderr (silenced by --quiet)."""
    if not _state["quiet"]:
        typer.echo(message, err=True)


def _load_tensorflow_quietly() -> None:
    """Import TensorFlow with the process's stderr muted (unless --verbose/--debug).

    TensorFlow's C++ runtime writes start-up notices (oneDNN, CUDA probing)
    straight to file descriptor 2 before any log level applies; they would bury
    the CLI's own diagnostics and one-line errors.
    """
    if "tensorflow" in sys.modules or _state["verbose"] or _state["debug"]:
        return
    import os

    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        import tensorflow as tf

        tf.config.list_physical_devices("GPU")  # the CUDA probe logs here, once
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def _read_texts(source, *, column="text", **kwargs) -> list[str]:
    """``workflows.read_input``, refusing to wait on an interactive terminal for stdin."""
    from .workflows import read_input

    if (source is None or str(source) == "-") and sys.stdin.isatty():
        raise ValueError("No input: give a file, a folder or texts, or pipe text on stdin.")
    return read_input(source, column=column, **kwargs)


def _progress() -> bool:
    return not _state["quiet"]


def _settings(items) -> dict:
    from .workflows import parse_setting

    return dict(parse_setting(item) for item in items or ())


def _emit_text(text: str, output: Path | None) -> None:
    """Data to stdout, or atomically to ``output``."""
    if output is None:
        typer.echo(text, nl=False)
        return
    from .._atomic import atomic_output

    with atomic_output(output) as tmp:
        tmp.write_text(text, encoding="utf-8")
    _info(f"Wrote {output}")


def _jsonl(rows) -> str:
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)


def _json(data) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n"


def _vector_kwargs(limit, format, data_dir, cache_dir) -> dict:
    kwargs = {"limit": limit, "format": format, "progress": _progress()}
    if data_dir is not None:
        kwargs["data_dir"] = data_dir
    if cache_dir is not None:
        kwargs["cache_dir"] = cache_dir
    return kwargs


_INPUT = "Text source: a file of lines, a .csv/.tsv/.jsonl file (see --column), a folder, or '-' for stdin."
_opt_column = typer.Option("text", "--column", help="Text column of a CSV/TSV/JSONL input.")
_opt_label_column = typer.Option("label", "--label-column", help="Label column of a CSV/TSV/JSONL file.")
_opt_output = typer.Option(None, "--output", "-o", help="Write here (atomically) instead of stdout.")
_opt_set = typer.Option(None, "--set", help=SET_HELP)
_opt_vectors = typer.Option(DEFAULT_VECTORS, "--vectors", "-V", help="Vectors file or manifest name.")
_opt_vlimit = typer.Option(None, "--limit", help="Load only the first N vectors (the most frequent words).")
_opt_format = typer.Option("auto", "--format", help="Vectors format (auto, glove, word2vec, word2vec-binary, fasttext...).")
_opt_data_dir = typer.Option(None, "--data-dir", help="Offline data folder (default: $TOOLKIT_DATA_DIR).")
_opt_cache_dir = typer.Option(None, "--cache-dir", help="Cache folder (default: $TOOLKIT_CACHE_DIR or the user cache).")


# -------------------------------------------------------------------------- data


@data_app.command("list")
@_errors_to_exit
def data_list(
    data_dir: Path = _opt_data_dir,
    cache_dir: Path = _opt_cache_dir,
    as_json: bool = typer.Option(False, "--json", help="JSON lines instead of a table."),
) -> None:
    """List the known datasets and word vectors and where each is available."""
    from .workflows import data_status

    rows = data_status(data_dir=data_dir, cache_dir=cache_dir)
    if as_json:
        typer.echo(_jsonl(rows), nl=False)
        return
    width = max([len(r["name"]) for r in rows] + [4])
    typer.echo(f"{'name':<{width}}  {'format':<15}  {'status':<8}  {'download':>9}  description")
    for r in rows:
        size = "?" if not r["size"] else f"{r['size'] / 2**20:,.0f} MB"
        about = r["description"] if len(r["description"]) <= 60 else r["description"][:57].rstrip() + "..."
        typer.echo(f"{r['name']:<{width}}  {r['format']:<15}  {r['status']:<8}  {size:>9}  {about}")


@data_app.command("info")
@_errors_to_exit
def data_info(
    name: str = typer.Argument(..., help="Manifest name, e.g. imdb or glove.6B.50d."),
    data_dir: Path = _opt_data_dir,
    cache_dir: Path = _opt_cache_dir,
) -> None:
    """Show a manifest (source, license, checksums) and where the data is."""
    from .workflows import data_status

    typer.echo(_json(data_status(name, data_dir=data_dir, cache_dir=cache_dir, details=True)[0]), nl=False)


@data_app.command("fetch")
@_errors_to_exit
def data_fetch(
    name: str = typer.Argument(..., help="Manifest name, e.g. imdb or glove.6B.50d."),
    data_dir: Path = _opt_data_dir,
    cache_dir: Path = _opt_cache_dir,
) -> None:
    """Find NAME in the offline folder or cache, else download and verify it; print its path."""
    from ..data.datasets import fetch

    typer.echo(str(fetch(name, data_dir=data_dir, cache_dir=cache_dir, progress=_progress())))


# ---------------------------------------------------------------------- tokenize


@app.command("tokenize")
@_errors_to_exit
def tokenize_cmd(
    source: str = typer.Argument("-", help=_INPUT),
    column: str = _opt_column,
    output: Path = _opt_output,
    settings: list[str] = typer.Option(
        None, "--set", help="SpacyTokenizer parameter as key=value (repeatable), e.g. ngram_range=(1,2)."
    ),
) -> None:
    """Tokenize raw text with spaCy; write one JSON token list per document (JSONL)."""
    from .workflows import tokenize_texts

    texts = _read_texts(source, column=column)
    corpus = tokenize_texts(texts, **{"progress": _progress(), **_settings(settings)})
    _emit_text(_jsonl(list(doc) for doc in corpus), output)


# --------------------------------------------------------------------- vectorize


@app.command("vectorize")
@_errors_to_exit
def vectorize_cmd(
    source: str = typer.Argument("-", help=_INPUT),
    output: Path = typer.Option(..., "--output", "-o", help="Matrix file (.npz), written atomically."),
    output_mode: str = typer.Option("int", "--output-mode", help="int (padded ids), multi_hot, count or tf_idf."),
    max_tokens: int = typer.Option(None, "--max-tokens", help="Vocabulary size including <pad> and <unk>."),
    min_count: int = typer.Option(1, "--min-count", help="Minimum count for a token to get an id."),
    maxlen: int = typer.Option(None, "--maxlen", help="Padded length (int mode); default: longest document."),
    padding: str = typer.Option("pre", "--padding", help="pre or post."),
    truncating: str = typer.Option("pre", "--truncating", help="pre or post."),
    vocabulary_path: Path = typer.Option(None, "--vocabulary", help="Vocabulary JSON (default: <output>.vocab.json)."),
    column: str = _opt_column,
    settings: list[str] = typer.Option(None, "--set", help="SpacyTokenizer parameter as key=value (repeatable)."),
) -> None:
    """Turn text into padded id sequences (.npz, key 'x') plus a vocabulary JSON, or a sparse bag matrix."""
    from .workflows import vectorize

    texts = _read_texts(source, column=column)
    result = vectorize(
        texts, output_mode=output_mode, max_tokens=max_tokens, min_count=min_count, maxlen=maxlen,
        padding=padding, truncating=truncating, tokenizer={"progress": _progress(), **_settings(settings)},
    )
    files = result.save(output, vocabulary_path=vocabulary_path)
    vocab = "" if result.vocabulary is None else f", vocabulary of {len(result.vocabulary)}"
    _info(f"{output_mode} matrix of shape {tuple(result.matrix.shape)}{vocab}")
    for path in files.values():
        typer.echo(str(path))


# ----------------------------------------------------------------------- vectors


@vectors_app.command("info")
@_errors_to_exit
def vectors_info_cmd(
    source: str = typer.Argument(DEFAULT_VECTORS, help="Vectors file or manifest name."),
    limit: int = _opt_vlimit,
    format: str = _opt_format,
    data_dir: Path = _opt_data_dir,
    cache_dir: Path = _opt_cache_dir,
) -> None:
    """Number of words, dimension and first words of a vectors source."""
    from .workflows import vectors_info

    typer.echo(_json(vectors_info(source, **_vector_kwargs(limit, format, data_dir, cache_dir))), nl=False)


@vectors_app.command("similar")
@_errors_to_exit
def vectors_similar_cmd(
    word: str = typer.Argument(..., help="Query word."),
    vectors: str = _opt_vectors,
    topn: int = typer.Option(10, "--topn", "-n", help="How many neighbours."),
    limit: int = _opt_vlimit,
    format: str = _opt_format,
    data_dir: Path = _opt_data_dir,
    cache_dir: Path = _opt_cache_dir,
) -> None:
    """Nearest words by cosine similarity (tab-separated: word, similarity)."""
    from .workflows import similar_words

    for w, score in similar_words(vectors, word, topn=topn, **_vector_kwargs(limit, format, data_dir, cache_dir)):
        typer.echo(f"{w}\t{score:.4f}")


@vectors_app.command("analogy")
@_errors_to_exit
def vectors_analogy_cmd(
    a: str = typer.Argument(..., help="A in 'A is to B as C is to ?'."),
    b: str = typer.Argument(..., help="B."),
    c: str = typer.Argument(..., help="C."),
    vectors: str = _opt_vectors,
    topn: int = typer.Option(5, "--topn", "-n", help="How many answers."),
    limit: int = _opt_vlimit,
    format: str = _opt_format,
    data_dir: Path = _opt_data_dir,
    cache_dir: Path = _opt_cache_dir,
) -> None:
    """Solve 'A is to B as C is to ?' (B - A + C): man king woman -> queen."""
    from .workflows import analogy

    for w, score in analogy(vectors, a, b, c, topn=topn, **_vector_kwargs(limit, format, data_dir, cache_dir)):
        typer.echo(f"{w}\t{score:.4f}")


@vectors_app.command("coverage")
@_errors_to_exit
def vectors_coverage_cmd(
    source: str = typer.Argument(..., help=_INPUT.replace("Text source", "Text data") + " Or 'imdb'."),
    vectors: str = _opt_vectors,
    column: str = _opt_column,
    max_tokens: int = typer.Option(None, "--max-tokens", help="Vocabulary size including <pad> and <unk>."),
    min_count: int = typer.Option(1, "--min-count", help="Minimum count for a token to be counted."),
    limit: int = _opt_vlimit,
    format: str = _opt_format,
    data_dir: Path = _opt_data_dir,
    cache_dir: Path = _opt_cache_dir,
    as_json: bool = typer.Option(False, "--json", help="JSON instead of the table."),
    settings: list[str] = typer.Option(None, "--set", help="SpacyTokenizer parameter as key=value (repeatable)."),
) -> None:
    """How much of the vocabulary of a text collection the vectors cover."""
    from .workflows import coverage

    texts = _read_texts(source, column=column, data_dir=data_dir, cache_dir=cache_dir)
    report = coverage(vectors, texts, max_tokens=max_tokens, min_count=min_count, tokenizer=_settings(settings),
                      **_vector_kwargs(limit, format, data_dir, cache_dir))
    typer.echo(_json(report.to_dict()) if as_json else f"{report}\n", nl=False)


@vectors_app.command("convert")
@_errors_to_exit
def vectors_convert_cmd(
    source: str = typer.Argument(..., help="Vectors file or manifest name."),
    output: Path = typer.Argument(..., help="Target file; .gz/.bz2 compress the text formats."),
    to: str = typer.Option(None, "--to", help="word2vec, word2vec-binary, glove or native; default from the suffix "
                           "(.bin binary, .kv native, else word2vec text)."),
    limit: int = _opt_vlimit,
    format: str = _opt_format,
    data_dir: Path = _opt_data_dir,
    cache_dir: Path = _opt_cache_dir,
) -> None:
    """Convert word vectors between formats (written atomically)."""
    from .workflows import convert_vectors

    typer.echo(str(convert_vectors(source, output, to=to, **_vector_kwargs(limit, format, data_dir, cache_dir))))


@vectors_app.command("train")
@_errors_to_exit
def vectors_train_cmd(
    corpus: str = typer.Argument(..., help=_INPUT.replace("Text source", "Training text") + " Or 'imdb'."),
    output: Path = typer.Argument(..., help="Target file, word2vec binary format (written atomically)."),
    column: str = _opt_column,
    data_dir: Path = _opt_data_dir,
    cache_dir: Path = _opt_cache_dir,
    settings: list[str] = typer.Option(None, "--set", help="train_word2vec parameter as key=value (repeatable)."),
) -> None:
    """Train word2vec vectors on a text collection and save them."""
    from .workflows import train_vectors

    texts = _read_texts(corpus, column=column, data_dir=data_dir, cache_dir=cache_dir)
    kv = train_vectors(texts, output, **{"progress": _progress(), **_settings(settings)})
    _info(f"{len(kv)} words x {kv.vector_size} dimensions")
    typer.echo(str(output))


@vectors_app.command("map")
@_errors_to_exit
def vectors_map_cmd(
    words: list[str] = typer.Argument(..., help="Words to place on the map."),
    output: Path = typer.Option(Path("word_map.png"), "--output", "-o", help="PNG file."),
    vectors: str = _opt_vectors,
    method: str = typer.Option("pca", "--method", help="pca or tsne."),
    skip_missing: bool = typer.Option(False, "--skip-missing", help="Skip unknown words instead of failing."),
    limit: int = _opt_vlimit,
    format: str = _opt_format,
    data_dir: Path = _opt_data_dir,
    cache_dir: Path = _opt_cache_dir,
) -> None:
    """Plot a 2-D projection (PCA by default) of chosen words."""
    from .workflows import word_map

    typer.echo(str(word_map(vectors, words, output, method=method, skip_missing=skip_missing,
                            **_vector_kwargs(limit, format, data_dir, cache_dir))))


# ------------------------------------------------------------ train/evaluate/predict


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
    from .workflows import train

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
    from .workflows import evaluate

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
    from .workflows import predict

    _load_tensorflow_quietly()

    if not texts:
        texts = _read_texts("-" if input is None else input, column=column)
    _emit_text(_jsonl(predict(model, texts, progress=_progress())), output)


def main() -> None:
    """Entry point of the console script, ``python -m toolkit`` and ``cli.py``."""
    try:
        rc = app(standalone_mode=False)  # click returns the exit code of typer.Exit here
    except typer.Exit as exc:  # --help, --version, explicit exits
        sys.exit(exc.exit_code)
    except typer.Abort:
        typer.echo("Aborted.", err=True)
        sys.exit(130)
    except KeyboardInterrupt:
        typer.echo("Interrupted.", err=True)
        sys.exit(130)
    except Exception as exc:  # one line, no traceback unless --debug
        import click

        if isinstance(exc, click.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        if _state.get("debug") or not _is_user_error(exc):
            raise
        typer.echo(f"Error: {_one_line(exc)}", err=True)
        sys.exit(1)
    sys.exit(rc if isinstance(rc, int) else 0)
