"""``toolkit vectors ...``: inspect, query, check coverage, convert, train and plot word vectors."""

from __future__ import annotations

import contextlib
import functools
import logging
import shlex
from pathlib import Path

import typer

from .._atomic import atomic_output
from ._common import (
    _INPUT,
    DEFAULT_VECTORS,
    _check_output_file,
    _errors_to_exit,
    _info,
    _is_stdout,
    _json,
    _opt_cache_dir,
    _opt_column,
    _opt_data_dir,
    _opt_force,
    _opt_format,
    _opt_vectors,
    _opt_vlimit,
    _progress,
    _read_texts,
    _settings,
    _vector_kwargs,
    app,
)
from ._inputs import SettingError
from .text import _documents_named, _opt_skip_bad, _skip_params, tokenize_texts

__all__ = ["vectors_info", "similar_words", "analogy", "convert_vectors", "train_vectors", "coverage", "word_map"]

logger = logging.getLogger(__name__)

vectors_app = typer.Typer(help="Word vectors: inspect, query, check coverage, convert, train, plot.",
                          no_args_is_help=True)
app.add_typer(vectors_app, name="vectors")


#: The reader settings of load_vectors that the vectors commands take as options (--format, --limit,
#: --unicode-errors, --duplicates)
READER_OPTIONS = ("format", "limit", "unicode_errors", "duplicates")
UNICODE_ERRORS = ("strict", "replace", "ignore")
DUPLICATES = ("error", "first")

_opt_unicode_errors = typer.Option(
    "strict", "--unicode-errors",
    help="Words that are not valid UTF-8 (a Latin-1 file): strict (refuse the file), replace (with U+FFFD) or "
         "ignore (drop the bad bytes). To use such a file with --vectors elsewhere, convert it once with this.",
)

_opt_duplicates = typer.Option(
    "error", "--duplicates", metavar="[error|first]",
    help="A word on two lines: error (refuse the file), or first (keep its first vector, drop its later lines, "
         "with a warning); glove.840B.300d repeats one word. To use such a file with --vectors elsewhere, "
         "convert it once with this.",
)


class OptionSpelling:
    """The advice of the vectors errors in command-line terms (``--unicode-errors replace``).

    The interface of :class:`toolkit.vectors._parse.Spelling`, set for a
    command's run with :func:`toolkit.vectors._parse.spelled_as`. A setting
    the command has no option for (``toolkit train --vectors`` takes no
    ``--unicode-errors``) is advised as a copy written once by
    ``toolkit vectors convert`` with that option, passed as ``vectors_option``.

    Parameters
    ----------
    options : tuple of str, default=READER_OPTIONS
        The settings of ``load_vectors`` the command takes as options.
    vectors_option : str, default="--vectors"
        How the command names its vectors file, for the copy (``"--set vectors="``:
        the copy's name follows without a space).
    """

    def __init__(self, options=READER_OPTIONS, vectors_option="--vectors"):
        self.options = tuple(options)
        self.vectors_option = vectors_option

    def option(self, name: str) -> str:
        return "--" + name.replace("_", "-")

    def takes(self, name: str) -> bool:
        return name in self.options

    def value(self, value) -> str:
        return str(value)

    def setting(self, name: str, value) -> str:
        return f"{self.option(name)} {value}"

    def passing(self, source: str, name: str, value, purpose: str, *, alternative=None) -> str:
        setting = self.setting(name, value)
        if self.takes(name):
            also = f" (or {self.value(alternative)})" if alternative is not None else ""
            return f"pass {setting}{also} {purpose}"
        copy = _copy_name(source)
        sep = "" if self.vectors_option.endswith("=") else " "  # "--set vectors=" (toolkit grid)
        return (f"write a copy with {setting} once (toolkit vectors convert {shlex.quote(source)} "
                f"{shlex.quote(copy)} {setting}) and pass {self.vectors_option}{sep}{shlex.quote(copy)}")


def _copy_name(source: str) -> str:
    """The name of a converted copy of the vectors file ``source``, in the current folder: ``glove.fixed.vec``."""
    name = Path(source).name
    while Path(name).suffix.lower() in (".gz", ".bz2", ".zip", ".txt", ".vec", ".bin", ".kv"):
        name = name[: -len(Path(name).suffix)]
    return f"{name or 'vectors'}.fixed.vec"


def _in_option_terms(func):
    """Run a vectors command with the advice of its vectors errors in option terms (:class:`OptionSpelling`)."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        from ..vectors._parse import spelled_as

        with spelled_as(OptionSpelling()):
            return func(*args, **kwargs)

    return wrapper


def _load_kwargs(source, option, limit, format, unicode_errors, data_dir, cache_dir, *, duplicates="error") -> dict:
    """``load_vectors``' keywords from the options, checked in the options' terms (not as load_vectors' parameters).

    ``source`` is the vectors argument, named ``option`` in the messages.
    """
    from ..vectors.loading import FORMATS

    if _is_stdout(source):  # '-' read as a manifest name, whose list of names misled
        raise SettingError(f"{option} '-': word vectors are read from a file, not standard input; save them to a "
                           "file first (e.g. ... > vectors.txt) and pass its name.")
    if limit is not None and limit < 1:
        raise SettingError(f"--limit {limit}: give the number of vectors to load, at least 1 (the first N of the "
                           "file), or leave --limit out to load them all.")
    if format not in FORMATS:
        raise SettingError(f"--format {format}: not a vectors format; give one of {', '.join(FORMATS)}.")
    if unicode_errors not in UNICODE_ERRORS:
        raise SettingError(f"--unicode-errors {unicode_errors}: give one of {', '.join(UNICODE_ERRORS)}.")
    if duplicates not in DUPLICATES:
        raise SettingError(f"--duplicates {duplicates}: give one of {', '.join(DUPLICATES)} (first: keep the first "
                           "vector of a word on two lines).")
    return {**_vector_kwargs(limit, format, data_dir, cache_dir), "unicode_errors": unicode_errors,
            "duplicates": duplicates}


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


def _check_vectors_compression(output, to) -> None:
    """:func:`toolkit.vectors._parse.check_output_compression`, imported when called (the CLI loads light)."""
    from ..vectors._parse import check_output_compression

    check_output_compression(output, to)




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
        ``.kv`` gensim native (one file, no mmap side files; a pickle, so
        load it only with ``format="native"`` and only if you trust it),
        else word2vec text with its ``<count> <dim>`` header. ``"glove"`` is
        text without the header. Words with spaces need word2vec text (or
        native): the other formats cannot store them, and are refused with
        a :class:`~toolkit.exceptions.DataError` before anything is written.
    **load_params
        ``format``, ``limit``, ``unicode_errors``, ``duplicates``, ``data_dir``, ``cache_dir`` of
        ``load_vectors`` (``unicode_errors="replace"`` writes a UTF-8 copy of a file with words
        in another encoding, which every reader then takes; ``duplicates="first"`` a copy
        without the later lines of a repeated word).

    Returns
    -------
    pathlib.Path
    """
    from .._validation import InvalidParameterError
    from ..exceptions import DataError
    from ..vectors import _parse
    from ..vectors.loading import load_vectors

    output = Path(output).expanduser()  # the file written and returned: "~/v.bin" is never ./~/v.bin
    if output.is_dir():  # found now, not when the finished file is moved there
        raise DataError(
            f"The 'output' parameter of convert_vectors names a folder ({output}); give a file name in it, "
            f"such as {output / 'vectors.txt'} (word2vec text) or {output / 'vectors.bin'} (word2vec binary)."
        )
    to = _parse.format_for(output, "word2vec") if to is None else to
    if to not in CONVERT_FORMATS:
        raise InvalidParameterError(
            f"The 'to' parameter of convert_vectors must be a str among {{{', '.join(map(repr, CONVERT_FORMATS))}}}. "
            f"Got {to!r} instead."
        )
    _check_vectors_compression(output, to)
    kv = load_vectors(source, **load_params)
    limit = load_params.get("limit")
    if limit is not None and len(kv) > limit:  # fastText vectors, which load_vectors keeps whole for their subwords
        if to == "native":
            logger.warning("convert_vectors writes all %d words of these fastText vectors (limit=%d ignored): "
                           "cutting them would lose the subword vectors of every other word", len(kv), limit)
        else:  # a word-vectors file holds no subword vectors: limit applies, as it does to every other file
            kv = _first_words(kv, limit)
    _parse.check_keys_writable(kv.index_to_key, to, owner="convert_vectors")  # before creating anything
    with atomic_output(output) as tmp:
        if to == "native":
            kv.save(str(tmp), separately=[])  # a single file, so the rename carries everything
        else:
            _parse.write_vectors(kv, tmp, to, owner="convert_vectors")
    return output


def _first_words(kv, limit):
    """The first ``limit`` word vectors of fastText vectors ``kv``, as plain ``KeyedVectors`` (a warning says so)."""
    import numpy as np
    from gensim.models import KeyedVectors

    from ..vectors import _parse

    logger.warning(
        "%s writes the first %d of the %d word vectors of these fastText vectors, without their "
        "subword vectors (%d n-gram buckets): loaded from that file, words outside it (misspellings, rare words) "
        "get no vector. Keep the fastText .bin model for those",
        _parse.worded(_parse.advice().terms("convert_vectors", "toolkit vectors convert")), limit, len(kv),
        getattr(kv, "bucket", 0),
    )
    out = KeyedVectors(kv.vector_size, count=0, dtype=np.float32)
    out.add_vectors(list(kv.index_to_key[:limit]), np.asarray(kv.vectors[:limit], dtype=np.float32))
    for attr, values in getattr(kv, "expandos", {}).items():  # the word counts, which gensim's writer orders by
        if getattr(values, "ndim", 0) == 1 and len(values) == len(kv):
            out.expandos[attr] = np.array(values[:limit])
    return out


def train_vectors(texts, output, *, tokenizer=None, **params):
    """Tokenize ``texts`` and train word2vec vectors, saved to ``output`` (format from its suffix).

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
        raise SettingError(f"Invalid parameter {unknown[0]!r} for train_word2vec. Valid parameters are: {valid}.")
    from ..vectors.training import check_word2vec_params

    check_word2vec_params(output=output, **params)  # out of range (--set vector_size=0): before the tokenization
    if output is not None:  # w2v.txt.zst failed with a traceback after the training; .xz was written unreadable
        _check_vectors_compression(output, None)
    return train_word2vec(tokenize_texts(texts, **(tokenizer or {})), output=output, **params)


def coverage(source, texts, *, max_tokens=None, min_count=1, tokenizer=None, **load_params):
    """How much of the vocabulary of ``texts`` the vectors cover.

    Returns
    -------
    toolkit.vectors.CoverageReport
    """
    from .._validation import Interval, validate_param
    from ..text.vocabulary import Vocabulary
    from ..vectors.loading import load_vectors
    from ..vectors.matrix import build_embedding_matrix

    # checked before the tokenization (seconds for IMDB), with Vocabulary.from_documents' bounds
    validate_param(max_tokens, [Interval(int, 3, None), None], name="max_tokens", owner="coverage")
    validate_param(min_count, [Interval(int, 1, None)], name="min_count", owner="coverage")
    tokens = tokenize_texts(texts, **(tokenizer or {}))
    vocabulary = Vocabulary.from_documents(tokens, max_tokens=max_tokens, min_count=min_count)
    _, report = build_embedding_matrix(vocabulary, load_vectors(source, **load_params))
    return report



_opt_doc_limit = typer.Option(
    None, "--doc-limit", min=1,
    help="Read only the first N documents of the text source (for imdb, N/2 of each class) for a quick run. "
         "Not --limit, which is the number of vectors loaded.",
)


def _read_documents(source, doc_limit, *, column, data_dir, cache_dir):
    """The texts of ``source`` (:func:`_read_texts`), at most ``doc_limit`` of them (``--doc-limit``).

    The first ``doc_limit`` documents; for ``imdb``, those
    :func:`toolkit.data.load_imdb` ``(limit=...)`` keeps, the first of each
    class in turn (the split's first half is all negative reviews).

    Returns
    -------
    texts : list of str
    kept : list of int or None
        The position of each text in all of ``source``'s documents (None:
        all of them, or the first ones), for :func:`_kept_named`.
    """
    texts = _read_texts(source, column=column, data_dir=data_dir, cache_dir=cache_dir, progress=_progress())
    if doc_limit is None or len(texts) <= doc_limit:
        return texts, None
    total, kept = len(texts), None
    if str(source).lower() == "imdb":
        import numpy as np

        from ..data.datasets import load_imdb

        labels = np.asarray(load_imdb("train", data_dir=data_dir, cache_dir=cache_dir).labels)  # (its memo)
        per_class = [np.flatnonzero(labels == k) for k in np.unique(labels)]
        picked = [int(c[depth]) for depth in range(max(map(len, per_class))) for c in per_class if depth < len(c)]
        kept = sorted(picked[:doc_limit])
        texts = [texts[i] for i in kept]
    else:
        texts = texts[:doc_limit]
    _info(f"Read {len(texts):,} of the {total:,} documents of {source} (--doc-limit {doc_limit}).")
    return texts, kept


@contextlib.contextmanager
def _kept_named(kept):
    """A tokenizer's error about document i of the texts :func:`_read_documents` kept, about its document of
    the whole source instead (``kept[i]``), for :func:`~toolkit.cli.text._documents_named` to name."""
    from ..exceptions import DocumentError

    try:
        yield
    except DocumentError as err:
        if kept is None or err.document_index is None or not 0 <= err.document_index < len(kept):
            raise
        raise DocumentError(str(err), document_index=kept[err.document_index]) from err


def _check_file_output(path, *, force: bool, option: str) -> None:
    """Pre-flight check of a file these commands write: not stdout, creatable, replaced only with ``force``.

    ``convert``, ``train`` and ``map`` write binary or multi-part files through
    a temporary file, so ``-`` cannot mean standard output here; without this
    check it would create a file named ``-``.
    """
    from ..exceptions import DataError

    if _is_stdout(path):
        raise DataError(f"{option} '-': this command writes a file, not standard output; give a file name.")
    _check_output_file(path, force=force, option=option)


def _check_vector_source(source) -> None:
    """Fail in a second when ``source`` is neither a file nor a word-vectors manifest name.

    For commands that read and tokenize texts before they load the vectors
    (``coverage``): a typo in ``-V`` is reported before that work, without
    loading or downloading anything.

    Raises
    ------
    toolkit.exceptions.VectorsNotFoundError
        No such file and no manifest of that name, or a folder.
    toolkit.exceptions.DataError
        A manifest that describes a dataset, not word vectors.
    """
    from ..data.manifests import get_manifest
    from ..exceptions import DataError, ManifestError, VectorsNotFoundError
    from ..vectors.loading import (
        FORMATS,
        _files_in,
        _inside_zip,
        vectors_manifest_names,
    )

    path = Path(source).expanduser()
    if path.is_file() or _inside_zip(path) is not None:  # a file, or one inside a zip (read, and checked, later)
        return
    if path.is_dir():  # (the data folder itself, say): name what it holds, as load_vectors does
        raise VectorsNotFoundError(f"--vectors {path} is a folder; pass the vectors file inside it ({_files_in(path)}).")
    try:
        manifest = get_manifest(str(source))
    except ManifestError as err:
        names = vectors_manifest_names()
        raise VectorsNotFoundError(
            f"--vectors {str(source)!r}: no such file (relative to {Path.cwd()}) and no data manifest of that name. "
            f"Pass a vectors file or a manifest name: {', '.join(names)}."
        ) from err
    if manifest.format not in FORMATS:
        raise DataError(
            f"--vectors {str(source)!r} names {manifest.format!r} data, not word vectors; "
            "pass a vectors manifest such as 'glove.6B.50d'."
        )


def word_map(source, words, path, *, method="pca", skip_missing=False, **load_params) -> Path:
    """Plot a 2-D map of ``words`` from a vector source (:func:`toolkit.plots.plot_word_map`).

    A word without a vector whose entry is under another casing or a phrase
    key (``"new york"`` is ``"new_york"`` in word2vec's vectors) is named, as
    :func:`toolkit.vectors.most_similar` names it: refused with that entry
    (a ``KeyError``), or skipped with a warning naming it (``skip_missing``).
    """
    from ..plots import plot_word_map
    from ..vectors import _parse
    from ..vectors.evaluation import _has_vector, _other_entry, _warn_untrained_casing
    from ..vectors.loading import load_vectors

    kv = load_vectors(source, **load_params)
    words = [words] if isinstance(words, str) else list(words)
    _warn_untrained_casing(kv, [w for w in words if isinstance(w, str)])  # (else "MOVIE" is placed among noise)
    missing = [w for w in dict.fromkeys(words) if isinstance(w, str) and not _has_vector(kv, w)]
    entries = {w: found for w in missing if (found := _other_entry(kv, w)) is not None}
    limit = load_params.get("limit")
    cut = limit is not None and len(kv) >= limit  # only the first vectors of the file: the others may hold them
    if missing and not skip_missing and (entries or cut):
        # plot_word_map's "1 word(s) not in the vectors: 'new york'. Remove them" named neither
        named = ", ".join(f"{w!r}" + (f" (but {entries[w][1]} is there: {entries[w][2]})" if w in entries else "")
                          for w in missing)
        fixes = []
        if entries:
            others = " (and remove the others)" if len(entries) < len(missing) and not cut else ""
            fixes.append(f"ask for {', '.join(repr(e) for e, _, _ in entries.values())} instead{others}")
        if cut:
            fixes.append(f"load more vectors (a larger {_parse.spelling().option('limit')}, or none: the first "
                         f"{len(kv):,} are loaded)")
        fix = " or ".join(fixes)
        raise KeyError(
            f"{len(missing)} word(s) not in the vectors: {named}. {fix[0].upper()}{fix[1:]}, or pass "
            f"{_skip_missing_spelling()} to leave the words without a vector off the map."
        )
    if entries:
        logger.warning("Words left off the map are there under another name: %s. Ask for %s to place them.",
                       "; ".join(f"{w!r} as {what}" for w, (_, what, _) in entries.items()),
                       ", ".join(repr(e) for e, _, _ in entries.values()))
    return plot_word_map(kv, words, path, method=method, skip_missing=skip_missing)


def _skip_missing_spelling() -> str:
    """``skip_missing=True``, or ``--skip-missing`` for the command line (as :mod:`toolkit.plots` advises it)."""
    from ..vectors._parse import spelling

    option = spelling().option("skip_missing")
    return option if option.startswith("-") else spelling().setting("skip_missing", True)


@vectors_app.command("info")
@_errors_to_exit
@_in_option_terms
def vectors_info_cmd(
    source: str = typer.Argument(DEFAULT_VECTORS, help="Vectors file or manifest name."),
    limit: int = _opt_vlimit,
    format: str = _opt_format,
    unicode_errors: str = _opt_unicode_errors,
    duplicates: str = _opt_duplicates,
    data_dir: Path = _opt_data_dir,
    cache_dir: Path = _opt_cache_dir,
) -> None:
    """Number of words, dimension and first words of a vectors source."""
    load = _load_kwargs(source, "SOURCE", limit, format, unicode_errors, data_dir, cache_dir,
                        duplicates=duplicates)
    info = vectors_info(source, **load)
    if limit is not None and info["n_words"] > limit:  # else "n_words": 1762 for --limit 5, and no word why
        _info(f"Note: --limit {limit} does not cut fastText vectors with subword vectors (they are kept whole, "
              "for the vectors of words outside the vocabulary); vectors convert --limit writes the first words.")
    typer.echo(_json(info), nl=False)


@vectors_app.command("similar")
@_errors_to_exit
@_in_option_terms
def vectors_similar_cmd(
    word: str = typer.Argument(..., help="Query word."),
    vectors: str = _opt_vectors,
    topn: int = typer.Option(10, "--topn", "-n", min=1, help="How many neighbours."),
    limit: int = _opt_vlimit,
    format: str = _opt_format,
    unicode_errors: str = _opt_unicode_errors,
    duplicates: str = _opt_duplicates,
    data_dir: Path = _opt_data_dir,
    cache_dir: Path = _opt_cache_dir,
) -> None:
    """Nearest words by cosine similarity (tab-separated: word, similarity)."""
    _check_word_not_vectors_file([word], vectors, "similar", "WORD")
    load = _load_kwargs(vectors, "--vectors", limit, format, unicode_errors, data_dir, cache_dir,
                        duplicates=duplicates)
    found = similar_words(vectors, word, topn=topn, **load)
    for w, score in found:
        typer.echo(f"{w}\t{score:.4f}")
    if not found:  # printed nothing and exited 0, as if the command had not run
        _info(f"No neighbours: the vectors hold no word but {word!r}.")


def _check_word_not_vectors_file(words, vectors, command: str, usage: str) -> None:
    """Refuse a query word that names an existing file when ``--vectors`` is left at its default.

    ``toolkit vectors info FILE`` takes the vectors file as its argument; ``toolkit vectors similar glove.txt``
    (or ``map glove.txt good bad``, ``analogy glove.txt king man``) loaded the default 400,000 GloVe vectors,
    then said "The word 'glove.txt' has no vector". Named now, before anything loads.
    """
    if vectors != DEFAULT_VECTORS:
        return
    for word in words:
        if any(sep in word for sep in (".", "/", "\\", "~")) and Path(word).expanduser().is_file():
            raise SettingError(f"{word!r} is given as a query word, but it is a file: the word vectors go with "
                               f"--vectors (default {DEFAULT_VECTORS}): 'toolkit vectors {command} {usage} "
                               f"--vectors {word}'.")


@vectors_app.command("analogy")
@_errors_to_exit
@_in_option_terms
def vectors_analogy_cmd(
    a: str = typer.Argument(..., help="A in 'A is to B as C is to ?'."),
    b: str = typer.Argument(..., help="B."),
    c: str = typer.Argument(..., help="C."),
    vectors: str = _opt_vectors,
    topn: int = typer.Option(5, "--topn", "-n", min=1, help="How many answers."),
    limit: int = _opt_vlimit,
    format: str = _opt_format,
    unicode_errors: str = _opt_unicode_errors,
    duplicates: str = _opt_duplicates,
    data_dir: Path = _opt_data_dir,
    cache_dir: Path = _opt_cache_dir,
) -> None:
    """Solve 'A is to B as C is to ?' (B - A + C): man king woman -> queen."""
    _check_word_not_vectors_file([a, b, c], vectors, "analogy", "A B C")
    load = _load_kwargs(vectors, "--vectors", limit, format, unicode_errors, data_dir, cache_dir,
                        duplicates=duplicates)
    found = analogy(vectors, a, b, c, topn=topn, **load)
    for w, score in found:
        typer.echo(f"{w}\t{score:.4f}")
    if not found:  # printed nothing and exited 0, as if the command had not run
        _info(f"No answer: the vectors hold no word but the query's ({a}, {b}, {c}); the answer is never one of them.")


@vectors_app.command("coverage")
@_errors_to_exit
@_in_option_terms
def vectors_coverage_cmd(
    source: str = typer.Argument(..., help=_INPUT.replace("Text source", "Text data") + " Or 'imdb'."),
    vectors: str = _opt_vectors,
    column: str = _opt_column,
    max_tokens: int = typer.Option(None, "--max-tokens", help="Vocabulary size including <pad> and <unk>."),
    min_count: int = typer.Option(1, "--min-count", help="Minimum count for a token to be counted."),
    limit: int = _opt_vlimit,
    format: str = _opt_format,
    unicode_errors: str = _opt_unicode_errors,
    duplicates: str = _opt_duplicates,
    data_dir: Path = _opt_data_dir,
    cache_dir: Path = _opt_cache_dir,
    as_json: bool = typer.Option(False, "--json", help="JSON instead of the table."),
    skip_bad: bool = _opt_skip_bad,
    settings: list[str] = typer.Option(None, "--set", help="SpacyTokenizer parameter as key=value (repeatable)."),
    doc_limit: int = _opt_doc_limit,
) -> None:
    """How much of the vocabulary of a text collection the vectors cover."""
    load = _load_kwargs(vectors, "--vectors", limit, format, unicode_errors, data_dir, cache_dir,
                        duplicates=duplicates)
    _check_vector_source(vectors)  # a typo in -V fails now, not after reading and tokenizing the texts
    texts, kept = _read_documents(source, doc_limit, column=column, data_dir=data_dir, cache_dir=cache_dir)
    # progress: tokenizing IMDB's 25,000 reviews takes seconds, which passed without a line before
    with _documents_named(source), _kept_named(kept):
        report = coverage(vectors, texts, max_tokens=max_tokens, min_count=min_count,
                          tokenizer={"progress": _progress(), **_skip_params(skip_bad), **_settings(settings)},
                          **load)
    typer.echo(_json(report.to_dict()) if as_json else f"{report}\n", nl=False)


@vectors_app.command("convert")
@_errors_to_exit
@_in_option_terms
def vectors_convert_cmd(
    source: str = typer.Argument(..., help="Vectors file or manifest name."),
    output: Path = typer.Argument(..., help="Target file; .gz/.bz2 compress the text formats."),
    to: str = typer.Option(None, "--to", help="word2vec, word2vec-binary, glove or native; default from the suffix "
                           "(.bin binary, .kv native, else word2vec text)."),
    force: bool = _opt_force,
    limit: int = _opt_vlimit,
    format: str = _opt_format,
    unicode_errors: str = _opt_unicode_errors,
    duplicates: str = _opt_duplicates,
    data_dir: Path = _opt_data_dir,
    cache_dir: Path = _opt_cache_dir,
) -> None:
    """Convert word vectors between formats (written atomically)."""
    load = _load_kwargs(source, "SOURCE", limit, format, unicode_errors, data_dir, cache_dir,
                        duplicates=duplicates)
    if to is not None and to not in CONVERT_FORMATS:
        raise SettingError(f"--to {to}: give one of {', '.join(CONVERT_FORMATS)}, or leave --to out to choose by "
                           "OUTPUT's suffix (.bin word2vec binary, .kv native, else word2vec text).")
    _check_file_output(output, force=force, option="OUTPUT")
    typer.echo(str(convert_vectors(source, output, to=to, **load)))


@vectors_app.command("train")
@_errors_to_exit
@_in_option_terms
def vectors_train_cmd(
    corpus: str = typer.Argument(..., help=_INPUT.replace("Text source", "Training text") + " Or 'imdb'."),
    output: Path = typer.Argument(..., help="Target file (written atomically): word2vec text for .txt/.vec "
                                  "(needed for n-gram tokens with spaces), else word2vec binary."),
    column: str = _opt_column,
    force: bool = _opt_force,
    data_dir: Path = _opt_data_dir,
    cache_dir: Path = _opt_cache_dir,
    skip_bad: bool = _opt_skip_bad,
    settings: list[str] = typer.Option(None, "--set", help="train_word2vec parameter as key=value (repeatable)."),
    doc_limit: int = _opt_doc_limit,
) -> None:
    """Train word2vec vectors on a text collection and save them."""
    _check_file_output(output, force=force, option="OUTPUT")  # before the texts are read and the model trained
    _check_vectors_compression(output, None)
    texts, kept = _read_documents(corpus, doc_limit, column=column, data_dir=data_dir, cache_dir=cache_dir)
    with _documents_named(corpus, raise_limit=None), _kept_named(kept):  # no --set: the default tokenizer's limit
        kv = train_vectors(texts, output, tokenizer={"progress": _progress(), **_skip_params(skip_bad)},
                           **{"progress": _progress(), **_settings(settings)})
    _info(f"{len(kv)} words x {kv.vector_size} dimensions")
    typer.echo(str(output))


@vectors_app.command("map")
@_errors_to_exit
@_in_option_terms
def vectors_map_cmd(
    words: list[str] = typer.Argument(..., help="Words to place on the map."),
    output: Path = typer.Option(Path("word_map.png"), "--output", "-o", help="PNG file."),
    vectors: str = _opt_vectors,
    method: str = typer.Option("pca", "--method", help="pca or tsne."),
    skip_missing: bool = typer.Option(False, "--skip-missing", help="Skip unknown words instead of failing."),
    force: bool = _opt_force,
    limit: int = _opt_vlimit,
    format: str = _opt_format,
    unicode_errors: str = _opt_unicode_errors,
    duplicates: str = _opt_duplicates,
    data_dir: Path = _opt_data_dir,
    cache_dir: Path = _opt_cache_dir,
) -> None:
    """Plot a 2-D projection (PCA by default) of chosen words."""
    _check_word_not_vectors_file(words, vectors, "map", "WORD...")
    load = _load_kwargs(vectors, "--vectors", limit, format, unicode_errors, data_dir, cache_dir,
                        duplicates=duplicates)
    _check_file_output(output, force=force, option="--output")
    typer.echo(str(word_map(vectors, words, output, method=method, skip_missing=skip_missing,
                            **load)))

