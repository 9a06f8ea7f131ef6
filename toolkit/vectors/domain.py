"""Domain word vectors trained inside an estimator's ``fit``, from a string spec.

A user with unlabelled text should not need a separate step to get domain
vectors. Any estimator parameter that takes vectors (``vectors=``) also takes a
*domain spec*; :func:`resolve_vectors` turns it, together with the training
documents ``fit`` receives, into gensim ``KeyedVectors``:

``"word2vec"``
    word2vec (CBOW) on the training documents alone.
``"word2vec:unsup"``
    on the training documents plus IMDB's 50,000 unlabelled ``unsup`` reviews.
``"fasttext:/path/reviews.txt"``
    fastText (subword vectors: misspellings and rare words get vectors too)
    on the training documents plus the lines of a UTF-8 text file (one
    document per line, blank lines skipped; a gzip, bz2 or xz file is read
    decompressed). A file named ``.csv``, ``.tsv``, ``.jsonl``, ``.ndjson`` or
    ``.json`` (JSON Lines; compressed too) is a table: the texts of its ``text`` column (key) are
    read, one document per row (as ``toolkit.data.load_csv`` / ``load_jsonl``
    read them), not its lines.
``"word2vec:unsup:dim=200,epochs=10"``
    options after a last ``:`` (``dim``, ``epochs``, ``window``, ``min_count``,
    ``sg``, ``bucket`` (fastText), ``workers``, ``seed``; ``train=0`` uses the
    unlabelled source alone, so every fit with that source shares one model:
    the choice for learning curves and grid searches over many label subsets).
``("word2vec", ("unlabelled text one", "text two"), "dim=50")``
    a tuple (algorithm, source[, options[, tokenizer settings]]); the source
    may be a tuple of raw texts (kept on the estimator and pickled with it:
    use a file for large text); the options a string as above or a dict
    (``{"dim": 50, "epochs": 2}``).

Unlabelled raw texts are tokenized like the training documents, so that the
vectors have the documents' tokens: when the documents are a
:class:`~toolkit.text.TokenizedCorpus` from :class:`toolkit.text.SpacyTokenizer`
(a Pipeline's tokenizer step), it records the settings that decide its tokens
(:attr:`~toolkit.text.TokenizedCorpus.tokenizer_params`: ``model``,
``lowercase``, ``lemmatize``, ``remove_*``, ``strip_html``,
``unicode_form``; for a char analyzer ``analyzer`` and ``ngram_range``), and
the unlabelled texts are tokenized with those (word n-grams are left out on
both sides; ``max_length``, ``errors``, ``n_jobs``... do not change tokens and
are not copied). After ``SpacyTokenizer(model="blank:de", lowercase=False)``
the unlabelled "Film" stays "Film", as in the documents. Documents without a
record (plain token lists, or a corpus a later step rebuilt) get
:class:`~toolkit.text.SpacyTokenizer`'s defaults (``blank:en``, lower-cased,
HTML stripped), as :func:`toolkit.models.make_text_classifier` tokenizes, and
an INFO log line says so. To choose the settings yourself, give them as a
dict, the 4th element of a tuple spec:
``("word2vec", "/path/reviews.txt", "dim=50", {"lowercase": False})`` (``{}``:
the defaults, whatever the documents), or, in a string spec, the option
``match_tokenizer=0`` for the defaults (the behaviour before the documents'
settings were followed). The unlabelled tokens are cached on disk
(``<cache>/tokens``). The training documents are used as given (token lists),
never the documents passed to ``predict``.

Results are cached by content: the key hashes the algorithm, its options, the
gensim version, the tokens of every training document and unlabelled text and,
when they are not the defaults, the settings that tokenized the unlabelled
texts (keys with the default settings are those of earlier versions), so a second ``fit``
on the same data (or a ``clone``) loads the vectors from
``<cache>/domain_vectors/<key>/`` memory-mapped in well under a second, and a
different cross-validation fold trains its own. Files are written atomically;
nothing large is stored on the estimator.

Reproducibility: gensim trains on ``workers`` threads, default 1, so the
vectors are the same bits in every process and on every machine with the same
gensim version, whatever ``PYTHONHASHSEED``: a model fitted on them in a fresh
cache (another machine, CI, a new ``TOOLKIT_CACHE_DIR``, ``--cache-dir``)
predicts as on this one for the same ``random_state``. ``workers=2``
(``"word2vec:unsup:workers=2"``) trains faster on two cores, but with more
than one thread the vectors differ from run to run even with the same
``seed`` (the threads update shared weights in the order the operating system
runs them): the cache then hides this on one machine only (every later fit
with the same key loads the vectors of the first). The option is part of the
cache key: vectors trained with ``workers=2`` are not reused for ``workers=1``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import numbers
import os
import re
import weakref
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .._atomic import atomic_output, remove_stale
from .._config import get_cache_dir, get_data_dir
from .._fileid import fingerprint, same_content, stat_id
from .._memo import Memo
from ..exceptions import DataError
from ._parse import MAX_DIM as _MAX_DIM
from ._parse import UNREAD_COMPRESSIONS
from .loading import read_entry, write_entry

__all__ = ["DomainSpec", "is_domain_spec", "parse_domain_spec", "domain_vectors", "domain_vectors_cached",
           "resolve_vectors", "spec_label", "words_only"]

logger = logging.getLogger(__name__)

ALGORITHMS = ("word2vec", "fasttext")
_DEFAULTS = {"dim": 100, "epochs": 5, "window": 5, "min_count": 5, "sg": 0, "bucket": 200_000,
             "workers": 1, "seed": 0, "train": 1}
#: options of the spec that are not training options (not in DomainSpec.params, nor in cache keys)
_SPEC_OPTIONS = {"match_tokenizer": 1}
#: upper bounds of options (gensim's seed is a 32-bit unsigned int; dim as loaded vectors' dimension)
_MAX_OPTION = {"seed": 2**32 - 1, "dim": _MAX_DIM}
_OPTION = re.compile(r"^\s*[a-z_]+\s*=\s*[0-9]+\s*$")
_MEMO = Memo(maxsize=4)  # (key, cache folder) -> the vectors read from that folder's entry
#: key -> the vectors last returned for it, from any cache folder: another folder gets a copy, not a new training
_HELD: weakref.WeakValueDictionary = weakref.WeakValueDictionary()
_TOLD_NO_RECORD: set[str] = set()  # specs whose "no record of their tokenizer" INFO line this process has logged
_FORMAT_VERSION = 1


@dataclass(frozen=True)
class DomainSpec:
    """A parsed domain spec: algorithm, unlabelled source, training options and tokenizer settings.

    ``tokenizer`` is None when the unlabelled texts follow the training
    documents' tokenizer (the default), else the SpacyTokenizer settings
    for them as sorted ``(name, value)`` pairs (``()``: its defaults).
    """

    algorithm: str
    source: object  # None, "unsup", a path string, or a tuple of raw texts
    options: tuple  # sorted (name, int) pairs
    tokenizer: tuple | None = None

    @property
    def params(self) -> dict:
        return {**_DEFAULTS, **dict(self.options)}


def is_domain_spec(value) -> bool:
    """True when ``value`` asks for domain vectors (rather than a file or manifest)."""
    if isinstance(value, tuple):
        return bool(value) and isinstance(value[0], str) and value[0].lower() in ALGORITHMS
    if isinstance(value, str):
        head = value.split(":", 1)[0].strip().lower()
        return head in ALGORITHMS and (":" in value or value.strip().lower() == head)
    return False


def spec_label(spec) -> str:
    """``repr(spec)`` for messages, with the unlabelled texts of a tuple spec given by their number.

    A tuple spec may hold 50,000 raw texts: its whole ``repr`` would put
    them all in an error message or a log line.

    Examples
    --------
    >>> spec_label(("word2vec", ("a good film", "a bad film"), "dim=50"))
    "('word2vec', <2 texts>, 'dim=50')"
    >>> spec_label("word2vec:unsup")
    "'word2vec:unsup'"
    """
    if not (isinstance(spec, tuple) and len(spec) > 1):
        return repr(spec)
    source = spec[1]
    if source is None or isinstance(source, (str, os.PathLike)):
        shown = repr(source)
    else:
        try:
            shown = f"<{len(source):,} texts>"
        except TypeError:  # not a sequence (refused by parse_domain_spec): its type is what matters
            shown = f"<{type(source).__name__}>"
    return "(" + ", ".join([repr(spec[0]), shown, *(repr(part) for part in spec[2:])]) + ")"


def _bad(spec, problem):
    return ValueError(
        f"The 'vectors' domain spec {spec_label(spec)} is invalid: {problem}. Expected e.g. 'word2vec', "
        "'word2vec:unsup', 'fasttext:/path/texts.txt' or 'word2vec:unsup:dim=100,epochs=5' "
        f"(algorithms: {', '.join(ALGORITHMS)}; options: {', '.join([*_DEFAULTS, *_SPEC_OPTIONS])})."
    )


def _parse_options(spec, text):
    options = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        if not _OPTION.match(part):
            raise _bad(spec, f"option {part!r} is not name=integer")
        name, value = (s.strip() for s in part.split("=", 1))
        if name not in _DEFAULTS and name not in _SPEC_OPTIONS:
            raise _bad(spec, f"unknown option {name!r}")
        value = int(value)
        flags = ("sg", "train", "match_tokenizer")
        if value < (0 if name in (*flags, "seed") else 1) or (name in flags and value > 1):
            raise _bad(spec, f"option {name}={value} is out of range")
        # found here, not by gensim after the unlabelled texts were read and tokenized (minutes for 'unsup'):
        # a bare "Seed must be between 0 and 2**32 - 1", or train_word2vec's 'vector_size' (fastText: no limit)
        top = _MAX_OPTION.get(name)
        if top is not None and value > top:
            raise _bad(spec, f"option {name}={value} is out of range (at most {top:,})")
        options[name] = value
    return tuple(sorted(options.items()))


def _options_text(spec, options) -> str:
    """A tuple spec's options (3rd element) as a string spec writes them: a str as it is, a dict joined."""
    if isinstance(options, str):
        return options
    if isinstance(options, dict):
        for name, value in options.items():
            if not isinstance(name, str) or isinstance(value, bool) or not isinstance(value, numbers.Integral):
                raise _bad(spec, f"option {name!r} is {value!r}, not an integer")
            if value < 0:
                raise _bad(spec, f"option {name}={value} is out of range")
        return ",".join(f"{name}={int(value)}" for name, value in options.items())
    raise _bad(spec, "the options (a tuple's 3rd element) must be a str such as 'dim=100,epochs=5' or a dict such "
                     f"as {{'dim': 100, 'epochs': 5}}, not {type(options).__name__}")


def parse_domain_spec(spec) -> DomainSpec:
    """Parse a domain spec (see the module docstring) into a :class:`DomainSpec`.

    Raises
    ------
    ValueError
        Naming the spec and what is wrong with it.

    Examples
    --------
    >>> from toolkit.vectors.domain import parse_domain_spec
    >>> s = parse_domain_spec("fasttext:unsup:dim=50")
    >>> s.algorithm, s.source, s.params["dim"]
    ('fasttext', 'unsup', 50)
    """
    tokenizer = None
    if isinstance(spec, tuple):
        if not 1 <= len(spec) <= 4:
            raise _bad(spec, "a tuple spec is (algorithm, source[, options[, tokenizer settings]])")
        algorithm = str(spec[0]).strip().lower()
        source = spec[1] if len(spec) > 1 else None
        options = _parse_options(spec, _options_text(spec, spec[2])) if len(spec) > 2 and spec[2] is not None else ()
        if len(spec) > 3 and spec[3] is not None:
            from ..text.tokenizer import _check_token_settings

            try:
                tokenizer = _check_token_settings(spec[3], what="the tokenizer settings (4th element)")
            except (ValueError, TypeError) as err:
                raise _bad(spec, str(err)) from err
        texts, problem = _sequence_of_texts(source)
        if problem is not None:
            raise _bad(spec, f"a source given as a sequence must hold raw text strings; {problem}")
        if texts is not None:
            source = texts
        elif isinstance(source, os.PathLike):
            source = os.fspath(source)
        elif isinstance(source, str) and not source.strip():  # Path("") is the working folder
            raise _bad(spec, "the source is an empty string; give 'unsup', a path, a tuple of texts, or None "
                             "to train on the training documents alone")
        elif source is not None and not isinstance(source, str):
            raise _bad(spec, f"the source must be 'unsup', a path or a tuple of texts, not {type(source).__name__}")
    elif isinstance(spec, str):
        algorithm, _, rest = spec.strip().partition(":")
        algorithm = algorithm.lower()
        options = ()
        head, sep, tail = rest.rpartition(":")
        if sep and all(_OPTION.match(p) for p in tail.split(",") if p.strip()) and "=" in tail:
            rest, options = head, _parse_options(spec, tail)
        elif rest and "=" in rest and "/" not in rest and "\\" not in rest:
            rest, options = "", _parse_options(spec, rest)
        source = rest.strip() or None
        stray = next((part.strip() for part in (source or "").split(":") if _OPTION.match(part)
                      and part.split("=", 1)[0].strip() in (*_DEFAULTS, *_SPEC_OPTIONS)), None)
        if stray is not None:  # 'word2vec:unsup:dim=16:epochs=2' would read a file named 'unsup:dim=16'
            raise _bad(spec, f"{stray!r} is an option in the source's place: give the options after one last ':', "
                             "separated by commas (e.g. 'word2vec:unsup:dim=16,epochs=2')")
    else:
        raise _bad(spec, f"expected a str or a tuple, got {type(spec).__name__}")
    if algorithm not in ALGORITHMS:
        raise _bad(spec, f"unknown algorithm {algorithm!r}")
    if isinstance(source, str) and source.strip().lower() == "unsup":
        source = "unsup"
    training = dict(options)
    if not training.pop("match_tokenizer", 1):
        if tokenizer is not None:
            raise _bad(spec, "match_tokenizer=0 and tokenizer settings (the tuple's 4th element) both choose the "
                             "unlabelled texts' tokenizer; give one")
        tokenizer = ()  # SpacyTokenizer's defaults, whatever tokenized the documents
    return DomainSpec(algorithm, source, tuple(sorted(training.items())), tokenizer)


# ------------------------------------------------------------------------ sources
def _sequence_of_texts(source) -> tuple[tuple | None, str | None]:
    """``(texts, problem)`` for an unlabelled source given as a sequence (a list, tuple, pandas Series or 1-D
    array): its texts as a tuple, or the item that is no text (``problem``, for the caller's message); ``(None,
    None)`` for a source of another kind (a path, ``'unsup'``). Shared by domain specs and :class:`DocVectorizer`."""
    from .._validation import is_1d_array

    if is_1d_array(source):
        source = source.tolist()
    if not isinstance(source, (list, tuple)):
        return None, None
    bad = next((i for i, t in enumerate(source) if not isinstance(t, str)), None)
    if bad is not None:
        return None, f"item {bad} is {type(source[bad]).__name__} ({source[bad]!r:.40})"
    return tuple(source), None


def _unlabelled_texts(spec: DomainSpec, data_dir=None, *, what: str = "the 'vectors' domain spec",
                      drop: str = "or drop the source to train on the training documents only") -> list:
    """The raw unlabelled texts the spec names (empty list for None).

    ``what`` names the parameter in messages; ``drop`` is the alternative offered for a source without text.
    """
    source = spec.source
    if source is None:
        return []
    if source == "unsup":
        from ..data.datasets import load_imdb

        return list(load_imdb("unsup", data_dir=data_dir).texts)
    if isinstance(source, tuple):
        texts = [t for t in source if t.strip()]
        if not texts:
            raise DataError(
                f"The unlabelled texts of {what} are empty (or blank); give at least one non-blank text, {drop}."
            )
        return texts
    path = Path(source).expanduser()
    if path.is_dir():  # e.g. aclImdb/train/unsup, one review per file
        raise DataError(
            f"The unlabelled text source {str(path)!r} named by {what} is a folder; give a UTF-8 text file "
            "with one document per line, or the texts themselves, e.g. tuple(p.read_text(encoding='utf-8') "
            f"for p in sorted(Path({str(path)!r}).glob('*.txt'))) for a folder of one-document files "
            "('unsup' reads IMDB's unlabelled reviews from the tarball)."
        )
    if not path.is_file():
        raise DataError(
            f"The unlabelled text file {str(path)!r} named by {what} does not exist (or is not a file); give a "
            "UTF-8 text file with one document per line, 'unsup' or a tuple of texts."
        )
    table = _table_kind(path)
    texts = _read_lines(path, what) if table is None else _read_table(path, table, what)
    if not texts:
        raise DataError(
            f"The unlabelled text file {str(path)!r} holds no text (every line is blank): {what} "
            f"reads one document per line; give such a file, {drop}."
        )
    return texts


#: name endings (before a .gz, .bz2 or .xz) of the table files an unlabelled source may be, and their kind
_TABLES = {".csv": "csv", ".tsv": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl"}


def _table_kind(path: Path) -> str | None:
    """``'csv'``, ``'tsv'`` or ``'jsonl'`` for a source file named as such a table (compressed too), else None."""
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] in (".gz", ".bz2", ".xz"):
        suffixes = suffixes[:-1]
    return _TABLES.get(suffixes[-1]) if suffixes else None


def _read_table(path: Path, kind: str, what: str) -> list:
    """The non-blank texts of the ``text`` column of a CSV/TSV or JSON Lines source (one document per row).

    Read one line per document, such a file gave "documents" of its header
    row, its other columns (labels: "positive", "sentiment") and, for JSON,
    its keys, braces and escaped quotes, all trained into the vectors without
    a word; a review holding a line break was split in two.
    """
    from ..data.datasets import load_csv, load_jsonl

    try:
        if kind == "jsonl":
            data = load_jsonl(path, text_column="text", label_column=None)
        else:
            data = load_csv(path, text_column="text", label_column=None, delimiter="\t" if kind == "tsv" else ",")
    except DataError as err:
        name = "JSON Lines" if kind == "jsonl" else kind.upper()
        field = "key" if kind == "jsonl" else "column"
        raise DataError(
            f"The unlabelled text file {str(path)!r} named by {what} is a {name} file (by its name): its 'text' "
            f"{field} is read, one document per row, and it cannot be: {err} Name the texts' {field} 'text', or "
            "give a text file with one document per line, or the texts themselves (a tuple)."
        ) from err
    logger.info("the unlabelled %s file %s: its 'text' %s read, one document per row", kind.upper(), path,
                "key" if kind == "jsonl" else "column")
    return [t.strip() for t in data.texts if t.strip()]


#: the first bytes of the compressed files an unlabelled source may be, and the module that reads each
_COMPRESSED = ((b"\x1f\x8b", "gzip"), (b"BZh", "bz2"), (b"\xfd7zXZ\x00", "lzma"))


def _read_lines(path: Path, what: str) -> list:
    """The non-blank lines of a UTF-8 text file, stripped; a gzip, bz2 or xz file (known by its first bytes,
    whatever its name) is read decompressed."""
    import importlib
    import lzma

    with open(path, "rb") as fh:
        head = fh.read(6)
    unread = next(((name, tool) for magic, name, tool in UNREAD_COMPRESSIONS if head.startswith(magic)), None)
    if unread is not None:  # was "not valid UTF-8 ...; re-encode it as UTF-8"
        name, tool = unread
        how = f"decompress it (`{tool} -d FILE`)" if tool else "extract the text file from it"
        raise DataError(
            f"The unlabelled text file {str(path)!r} named by {what} is {name}-compressed, which is not read here; "
            f"{how}, or recompress it with gzip, bz2 or xz, and give that file."
        )
    module = next((name for magic, name in _COMPRESSED if head.startswith(magic)), None)
    opener = open if module is None else importlib.import_module(module).open
    from ..data.datasets import ARCHIVE_HEAD

    try:
        with opener(path, "rb") as fh:
            start = fh.read(ARCHIVE_HEAD)
        _refuse_archive(path, what, start, module)
        with opener(path, "rt", encoding="utf-8") as fh:
            return [line.strip() for line in fh if line.strip()]
    except UnicodeDecodeError as err:
        # (err.start counts from the chunk being decoded, not from the start of the file: find the line)
        line, offset = _first_undecodable(path, opener)
        where = "" if module is None else f" of the {module}-decompressed text"
        raise DataError(
            f"The unlabelled text file {str(path)!r} named by {what} is not valid UTF-8 ({err.reason} on line "
            f"{line:,}, at byte {offset:,}{where}); re-encode it as UTF-8."
        ) from err
    except (OSError, EOFError, lzma.LZMAError) as err:
        if module is None:  # (an unreadable plain file: the error as it is)
            raise
        raise DataError(  # a damaged or truncated archive
            f"The unlabelled text file {str(path)!r} named by {what} starts as a {module} file but cannot be "
            f"decompressed ({err}); give the file again, or decompressed."
        ) from err


def _refuse_archive(path: Path, what: str, start: bytes, module: str | None) -> None:
    """Refuse an unlabelled source file that is a tar or zip archive (``start``: its first decompressed bytes).

    Read as text, a tar archive (the IMDB tarball ``aclImdb_v1.tar.gz``, a
    ``.tar.gz`` of one-review files) gave "documents" of its member headers
    (names, modes, ``ustar``) glued to each member's first line, every
    member included (IMDB's test reviews too), without a word of warning; a
    zip archive was called "not valid UTF-8" and to be re-encoded.
    """
    from ..data.datasets import archive_kind

    name = path.name
    packed = "" if module is None else f" ({module}-compressed)"
    kind = archive_kind(start)
    if kind == "tar":
        raise DataError(
            f"The unlabelled text source {str(path)!r} named by {what} is a tar archive{packed}, not a text file: "
            "read as text, its members' headers and every member (of IMDB's tarball, the test reviews too) would "
            "become documents. For IMDB's 50,000 unlabelled reviews give 'unsup' (read from the tarball alone); "
            "otherwise extract the files you want (tar -xf) and give one UTF-8 text file with one document per "
            "line, or the texts themselves."
        )
    if kind == "zip":
        raise DataError(
            f"The unlabelled text source {str(path)!r} named by {what} is a zip archive, not a text file; extract "
            f"the text file from it (unzip {name}) and give that file (UTF-8, one document per line; gzip, bz2 or "
            "xz compressed are read as they are), or the texts themselves."
        )


def _first_undecodable(path, opener) -> tuple[int, int]:
    """(line number, byte offset) of the first byte of ``path`` (read through ``opener``) that is no UTF-8."""
    number = offset = 0
    with opener(path, "rb") as fh:
        for number, raw in enumerate(fh, 1):
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError as err:
                return number, offset + err.start
            offset += len(raw)
    return number, offset  # (not found again: the file changed meanwhile)


def words_only(corpus):
    """The corpus without its word n-gram tokens (tokens holding a space), in order.

    Documents from ``SpacyTokenizer(ngram_range=(1, 3))`` or
    ``TokenizedCorpus.ngrams`` list all unigrams first, in text order, then the
    n-grams; word2vec must see only the words.

    Examples
    --------
    >>> from toolkit.text import TokenizedCorpus
    >>> words_only(TokenizedCorpus.from_token_lists([["not", "good", "not good"]]))[0]
    ['not', 'good']

    The n-grams of ``TokenizedCorpus.ngrams`` give their source words, whatever
    their separator:

    >>> words_only(TokenizedCorpus.from_token_lists([["not", "good"]]).ngrams((1, 2), separator="_"))[0]
    ['not', 'good']
    """
    from ..text.corpus import TokenizedCorpus, _NgramCorpus

    if isinstance(corpus, _NgramCorpus):  # (a "_"-joined n-gram holds no space: it was taken for a word)
        return words_only(corpus._source)._with_record(corpus._tokenizer)  # (the tokenizer's record kept)
    strings = corpus.strings
    is_gram = np.fromiter((" " in s for s in strings), dtype=bool, count=len(strings))
    if not is_gram.any():
        return corpus
    ids = np.asarray(corpus.ids)
    keep = ~is_gram[ids]
    doc = np.repeat(np.arange(len(corpus)), np.diff(np.asarray(corpus.offsets)))
    offsets = np.zeros(len(corpus) + 1, dtype=np.int64)
    np.cumsum(np.bincount(doc[keep], minlength=len(corpus)), out=offsets[1:])
    return TokenizedCorpus._from_arrays(ids[keep].astype(np.int32), offsets, strings, corpus._tokenizer).compact()


def _corpus_digest(corpus) -> str:
    """sha256 of a TokenizedCorpus's tokens, independent of its internal string order."""
    strings = np.asarray(corpus.strings, dtype=object)
    h = hashlib.sha256()
    order = np.argsort(strings.astype(str), kind="stable") if len(strings) else np.zeros(0, int)
    rank = np.empty(len(strings), dtype=np.int64)
    rank[order] = np.arange(len(strings))
    h.update("\x00".join(strings[order].tolist()).encode("utf-8", "surrogatepass"))
    h.update(rank[np.asarray(corpus.ids)].astype("<i8").tobytes())
    h.update(np.asarray(corpus.offsets).astype("<i8").tobytes())
    return h.hexdigest()


def _key(spec: DomainSpec, corpus, tokenizer: tuple = ()) -> str:
    """The cache key: ``tokenizer`` (the unlabelled texts' settings) counts only when not the defaults."""
    import gensim

    h = hashlib.sha256()
    h.update(f"v{_FORMAT_VERSION}|{spec.algorithm}|{sorted(spec.params.items())}|gensim {gensim.__version__}|"
             .encode())
    if tokenizer:  # the default settings give the keys of earlier versions (their caches stay valid)
        h.update(f"tokenizer {list(tokenizer)}|".encode())
    h.update(_corpus_digest(corpus).encode())
    return h.hexdigest()[:32]


# ------------------------------------------------------------- unlabelled tokens
def _unlabelled_settings(parsed: DomainSpec, record) -> tuple:
    """The SpacyTokenizer settings for the unlabelled texts as sorted pairs (``()``: the defaults).

    The spec's own (tuple 4th element, ``match_tokenizer=0``), else the
    training documents' ``record`` (the ``tokenizer_params`` of a
    TokenizedCorpus from SpacyTokenizer, as pairs), else the defaults.
    """
    if parsed.tokenizer is not None:
        return parsed.tokenizer
    if record is None:
        return ()
    from ..text.tokenizer import _check_token_settings

    # a record comes from SpacyTokenizer (or TokenizedCorpus.with_tokenizer_params): check it all the same
    return _check_token_settings(dict(record), what="The tokenizer settings the training documents record")


def _tokenize_unlabelled(texts, settings: tuple, *, what: str):
    """The unlabelled texts' tokens with ``settings`` (words only), cached on disk."""
    from ..text.tokenizer import SpacyTokenizer

    tokenizer = SpacyTokenizer(cache=True, **dict(settings))
    try:
        tokenizer.fit(texts)  # loads the pipeline: where the settings cannot be replayed, say which they are
    except ValueError as err:  # e.g. the documents' spaCy pipeline is not installed in this process
        raise ValueError(
            f"Could not tokenize the unlabelled texts of {what} with the tokenizer settings {dict(settings)!r} "
            f"(those of the training documents, unless chosen): {err} Install what is missing, or choose the "
            "settings (a domain spec's 4th tuple element, {} for SpacyTokenizer's defaults; DocVectorizer's "
            "tokenizer_params)."
        ) from err
    corpus = tokenizer.transform(texts)
    return words_only(corpus) if settings else corpus  # default tokens hold no space: nothing to drop


# ----------------------------------------------------------------------- training
def _too_few_words(params):
    # the spec's option, not the estimator's own min_count (EmbeddingVectorizer's and EmbeddingClassifier's
    # keep tokens in their vocabulary and change nothing here)
    return DataError(
        f"No word occurs at least min_count={params['min_count']} times in the texts of the "
        "'vectors' domain spec; lower the spec's min_count option (e.g. ':min_count=1', or 'min_count=1' in a "
        "tuple spec's options) or give more text."
    )


def _train(spec: DomainSpec, corpus):
    params = spec.params
    if spec.algorithm == "word2vec":
        from .training import train_word2vec

        try:
            return train_word2vec(corpus, vector_size=params["dim"], window=params["window"],
                                  min_count=params["min_count"], epochs=params["epochs"], sg=params["sg"],
                                  workers=params["workers"], seed=params["seed"])
        except DataError as err:  # (no output file: the empty vocabulary is its only DataError)
            raise _too_few_words(params) from err
    from gensim.models import FastText

    model = FastText(vector_size=params["dim"], window=params["window"], min_count=params["min_count"],
                     epochs=params["epochs"], sg=params["sg"], bucket=params["bucket"],
                     workers=params["workers"], seed=params["seed"])
    model.build_vocab(corpus)
    if len(model.wv) == 0:
        raise _too_few_words(params)
    model.train(corpus, total_examples=model.corpus_count, epochs=model.epochs)
    return model.wv


def domain_vectors(spec, documents, *, data_dir=None, cache_dir=None):
    """Train (or load from the cache) the domain vectors a spec asks for.

    Parameters
    ----------
    spec : str or tuple
        A domain spec (see the module docstring), e.g. ``"word2vec:unsup"``.
    documents : TokenizedCorpus or sequence of token lists
        The training documents of the estimator's ``fit`` (never test documents).
    data_dir, cache_dir : path-like, optional
        Override ``TOOLKIT_DATA_DIR`` (for ``unsup``) and ``TOOLKIT_CACHE_DIR``.

    Returns
    -------
    gensim.models.KeyedVectors
        Memory-mapped from the cache, shared through a small in-process
        memo; its arrays are read-only even where the cache could not be
        written (change a copy, ``copy.deepcopy(kv)``: a shared object
        changed anyway is made again for the next call, with a warning).
        The memo holds them per cache folder: a call with another
        ``cache_dir`` writes the vectors held to it (not trained again) and
        returns them from there.

    Raises
    ------
    ValueError
        A malformed spec, or an unlabelled source without any text.

    Examples
    --------
    >>> from toolkit.vectors.domain import domain_vectors
    >>> docs = [["a", "good", "film"], ["a", "bad", "film"]] * 50
    >>> import tempfile
    >>> kv = domain_vectors("word2vec:dim=8,min_count=1", docs, cache_dir=tempfile.mkdtemp())
    >>> kv.vector_size, "film" in kv
    (8, True)
    """

    from ..text.corpus import TokenizedCorpus, check_token_corpus

    parsed = parse_domain_spec(spec)
    docs = check_token_corpus(documents, estimator="domain_vectors", name="documents")
    record = docs._tokenizer  # the documents' tokenizer settings (kept by words_only, not by train=0 below)
    docs = words_only(docs)
    read_stat = _file_stat(parsed)  # before the texts are read: the source marker records the content read
    texts = _unlabelled_texts(parsed, data_dir)
    if not parsed.params["train"]:
        if not texts:
            raise ValueError(
                f"The 'vectors' domain spec {spec_label(spec)} has train=0 but names no unlabelled source; "
                "add one (e.g. 'word2vec:unsup:train=0') or drop train=0."
            )
        docs = TokenizedCorpus.from_token_lists([])
    settings = ()  # no unlabelled texts: the settings change nothing
    label = spec_label(spec)  # (not repr: a tuple spec may hold 50,000 texts)
    if texts:
        settings = _unlabelled_settings(parsed, record)
        if parsed.tokenizer is None and record is None and label not in _TOLD_NO_RECORD:
            # once per spec and process: a stack's fit asks for the same vectors for each fold and member
            _TOLD_NO_RECORD.add(label)
            logger.info("the training documents carry no record of their tokenizer (token lists, or a corpus "
                        "a step rebuilt): the unlabelled texts of the domain spec %s are tokenized with "
                        "SpacyTokenizer's defaults; if the documents were tokenized otherwise, give the "
                        "settings as the spec's 4th tuple element", label)
        unlabelled = _tokenize_unlabelled(texts, settings, what=f"the 'vectors' domain spec {label}")
        docs = TokenizedCorpus.concatenate([docs, unlabelled]) if len(docs) else unlabelled
    if docs.n_tokens == 0:
        raise DataError("The documents for the 'vectors' domain spec hold no tokens; nothing to train on.")
    key = _key(parsed, docs, settings)

    from ..data._download import build_once

    folder = get_cache_dir(cache_dir) / "domain_vectors" / key
    from .loading import _change_since_load, shared_vectors

    def train():
        # the same vectors held for another cache folder (the memo is per folder): written here, not trained again
        held = _HELD.get(key)
        if held is not None and _change_since_load(held) is None:
            return _cache_vectors(held, parsed, folder)
        return _train_and_cache(parsed, docs, folder)

    def make(build=train, purpose="training the same domain vectors"):
        # word2vec with several threads is not deterministic: without build_once, fold fits training the same
        # vectors at once on joblib workers would each fit their members with vectors of their own
        kv, _ = build_once(folder, f"domain_vectors-{key}", read=lambda: _read_cached(folder, parsed),
                           build=build, purpose=purpose)
        return kv

    # threads of one process asking for the same vectors (a grid search on joblib's threading backend) wait
    # for the first: one training, also where the cache cannot be written, and one shared copy, read-only and
    # made again when a caller changed it, as load_vectors'. Held vectors whose cache entry was removed since
    # (the cache cleared) are written to it again, not trained again: else an estimator fitted now keeps the
    # path of a missing entry (fastText subwords for the tokens first seen at transform, in another process).
    # The memo is keyed by the cache folder too: a call with another cache_dir writes the entry there (and the
    # source marker below), as domain_vectors_cached and a later process with that cache_dir look for it there
    def restore(held):
        return make(build=lambda: _cache_vectors(held, parsed, folder), purpose="writing the same domain vectors")

    kv = shared_vectors(_MEMO, (key, str(folder.resolve())), make, "domain_vectors", label, restore=restore)
    _HELD[key] = kv
    if folder.is_dir():  # also on a memo hit: the source may have been copied or touched since (a new marker)
        _mark_source(parsed, key, data_dir, cache_dir, settings, read_stat)
    return kv


def _file_stat(parsed: DomainSpec) -> list | None:
    """The :func:`~toolkit._fileid.stat_id` of a ``train=0`` spec's source file (None for other specs or sources)."""
    if parsed.params["train"] or not isinstance(parsed.source, str) or parsed.source == "unsup":
        return None
    try:
        return stat_id(Path(parsed.source).expanduser())
    except OSError:
        return None


# ------------------------------------------------------------- is it cached already?
def _source_marker(parsed: DomainSpec, data_dir=None, cache_dir=None, tokenizer: tuple = ()) -> Path | None:
    """The file that records the cache key of a ``train=0`` spec's vectors (None for other specs).

    Its name hashes what can be known without reading any text: the
    algorithm, the options, the gensim version, the source's identity
    (``unsup`` and the data folder; a file's resolved path, size and
    modification time; the raw texts of a tuple) and the settings that
    tokenize the source (``tokenizer``, see :func:`_unlabelled_settings`;
    the defaults, ``()``, give the names of earlier versions). As a rewrite
    may put a file's size and time back (``cp -p`` or ``tar`` onto it), the
    marker also records the file's stat id and SHA-256, which
    :func:`_marked_key` checks: a copy at the same path (``rsync -t`` to
    another machine) keeps its marker, another content does not.
    """
    if parsed.params["train"]:
        return None  # the training documents are part of the key: each fit has its own vectors
    from importlib.metadata import version

    source = parsed.source
    if source == "unsup":
        folder = get_data_dir(data_dir)
        ident = ["unsup", None if folder is None else str(folder.resolve())]
    elif isinstance(source, tuple):
        ident = ["texts", hashlib.sha256("\x00".join(source).encode("utf-8", "surrogatepass")).hexdigest()]
    else:
        path = Path(source).expanduser()
        try:
            st = path.stat()
        except OSError:
            return None
        ident = ["file", str(path.resolve()), st.st_size, st.st_mtime_ns]
    fields = [_FORMAT_VERSION, parsed.algorithm, sorted(parsed.params.items()), version("gensim"), ident]
    if tokenizer:
        fields.append(["tokenizer", [list(pair) for pair in tokenizer]])
    text = json.dumps(fields)
    name = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    return get_cache_dir(cache_dir) / "domain_vectors" / "sources" / f"{name}.json"


def _mark_source(parsed, key, data_dir, cache_dir, tokenizer: tuple = (), read_stat: list | None = None) -> None:
    """Record ``key`` as the vectors of ``parsed``'s source (best effort: a read-only cache records nothing).

    ``read_stat`` is the source file's :func:`~toolkit._fileid.stat_id` taken before its texts were read: a
    file rewritten since (during the training) is not recorded, as its content is not the one ``key`` is of.
    """
    marker = _source_marker(parsed, data_dir, cache_dir, tokenizer)
    if marker is None or _marked_key(marker, parsed) == key:
        return
    record = {"key": key}
    try:
        if isinstance(parsed.source, str) and parsed.source != "unsup":
            record["stat"], record["sha256"] = fingerprint(Path(parsed.source).expanduser())
            if read_stat is None or record["stat"] != read_stat:
                logger.debug("the domain vectors' source %s changed since its texts were read; not recorded",
                             parsed.source)
                return
        _write_marker(marker, record)
    except OSError as err:
        logger.debug("could not record the domain vectors' source in %s (%s)", marker, err)


def _write_marker(marker: Path, record: dict) -> None:
    marker.parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(marker) as tmp:
        tmp.write_text(json.dumps(record))


def _marked_key(marker: Path, parsed: DomainSpec | None = None):
    """The key ``marker`` records, or None: none, or a file source that no longer holds the content it recorded.

    The marker's name keeps a file's size and modification time, which a
    rewrite may put back (``cp -p`` or ``tar`` onto it): a file whose
    :func:`~toolkit._fileid.stat_id` differs from the recorded one is hashed
    and compared with the recorded SHA-256; the same content (a copy) gets its
    stat id recorded, so it is hashed once, not on every check.
    """
    try:
        record = json.loads(marker.read_text())
        key = record["key"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if parsed is None or not isinstance(parsed.source, str) or parsed.source == "unsup":
        return key
    path = Path(parsed.source).expanduser()
    try:
        current = stat_id(path)
        if current == record.get("stat"):
            return key
        if not same_content(path, None, record.get("sha256"), current):
            return None  # another content, or a marker of an earlier toolkit (no SHA-256): not known
    except (OSError, AttributeError):
        return None
    try:
        _write_marker(marker, {**record, "stat": current})
    except OSError as err:  # a read-only cache: hashed again at the next check
        logger.debug("could not record the domain vectors' source in %s (%s)", marker, err)
    return key


def domain_vectors_cached(spec, *, data_dir=None, cache_dir=None, tokenizer=None):
    """Whether :func:`domain_vectors` will read this spec's vectors from the cache, known without reading text.

    For a spec with ``train=0`` (the vectors depend on the unlabelled source
    alone) the answer comes from a small record the last :func:`domain_vectors`
    call with that spec and source left in the cache, so it costs
    milliseconds, not the seconds of reading and hashing the source's tokens.
    Use it to tell a user that a first run trains for minutes.

    Parameters
    ----------
    spec : str or tuple
        A domain spec (see the module docstring).
    data_dir, cache_dir : path-like, optional
        As for :func:`domain_vectors`.
    tokenizer : SpacyTokenizer or dict, optional
        The tokenizer of the training documents (or its parameters): the
        unlabelled texts are tokenized with its settings unless the spec
        chooses its own. None: :class:`~toolkit.text.SpacyTokenizer`'s defaults.

    Returns
    -------
    bool or None
        True: the vectors are in the cache. False: they will be trained (or
        the source changed since). None: cannot tell without the training
        documents (a spec without ``train=0``, or a source file that is missing).

    Examples
    --------
    >>> import tempfile
    >>> from toolkit.vectors.domain import domain_vectors, domain_vectors_cached
    >>> spec, cache = ("word2vec", ("a good film", "a bad film") * 50, "dim=8,min_count=1,train=0"), tempfile.mkdtemp()
    >>> domain_vectors_cached(spec, cache_dir=cache)
    False
    >>> _ = domain_vectors(spec, [["film"]], cache_dir=cache)
    >>> domain_vectors_cached(spec, cache_dir=cache)
    True
    >>> domain_vectors_cached("word2vec:unsup", cache_dir=cache) is None  # train=1: the key needs the documents
    True
    """
    parsed = parse_domain_spec(spec)
    settings = parsed.tokenizer
    if settings is None and tokenizer is not None:
        from ..text.tokenizer import _TOKEN_PARAMS, _check_token_settings

        params = tokenizer if isinstance(tokenizer, dict) else tokenizer.get_params()
        analyzer = params.get("analyzer", "word")
        names = _TOKEN_PARAMS.get(analyzer, _TOKEN_PARAMS["word"])
        params = {k: v for k, v in params.items() if k in names or (k == "analyzer")}
        settings = _check_token_settings(params, what="The 'tokenizer' of domain_vectors_cached")
    marker = _source_marker(parsed, data_dir, cache_dir, settings or ())
    if marker is None:
        return None
    key = _marked_key(marker, parsed)
    return key is not None and (get_cache_dir(cache_dir) / "domain_vectors" / key).is_dir()


def _train_and_cache(parsed, docs, folder):
    """Train the vectors and write them to ``folder`` (kept in memory where the cache is not writable)."""
    logger.info("training %s domain vectors on %d documents (%d tokens)", parsed.algorithm, len(docs), docs.n_tokens)
    if parsed.params["workers"] > 1:
        logger.info("%d training threads: another cache would get other vectors (the option workers=1, the default, "
                    "gives the same vectors on every machine); this cache keeps these for every later fit",
                    parsed.params["workers"])
    return _cache_vectors(_train(parsed, docs), parsed, folder)


def _cache_vectors(kv, parsed, folder):
    """Write ``kv`` to ``folder`` and read it back memory-mapped (``kv`` itself where the cache is not writable)."""
    try:
        remove_stale(folder.parent, ".*.tmp*")  # debris of killed writes of any entry, once stale
        with atomic_output(folder, directory=True) as tmp:
            write_entry(kv, tmp, meta={"domain_spec": parsed.algorithm})
        return read_entry(folder)
    except OSError as err:  # read-only or full cache: keep the vectors in memory
        logger.warning("could not cache the domain vectors in %s (%s); keeping them in memory", folder, err)
        return kv


def _read_cached(folder, parsed):
    """The cache entry at ``folder`` (which exists), or None when it is damaged (a warning)."""
    try:  # the toolkit's own cache format: arrays + keys + a verified header, nothing unpickled
        kv = read_entry(folder)
    except (DataError, OSError, ValueError) as err:
        logger.warning("domain vectors cache %s is damaged or stale (%s); training again", folder, err)
        return None
    logger.info("domain vectors %s read from %s", parsed.algorithm, folder)
    return kv


def resolve_vectors(vectors, documents=None, *, data_dir=None, cache_dir=None):
    """``KeyedVectors`` for an estimator's ``vectors`` parameter.

    A domain spec is trained on ``documents`` (the training documents) via
    :func:`domain_vectors`; anything else goes to
    :func:`toolkit.vectors.load_vectors` (path, manifest name, KeyedVectors).
    """
    if is_domain_spec(vectors) or isinstance(vectors, tuple):  # a bad tuple gets parse_domain_spec's message
        if documents is None:
            raise ValueError(f"The domain spec {spec_label(vectors)} needs the training documents.")
        return domain_vectors(vectors, documents, data_dir=data_dir, cache_dir=cache_dir)
    from .loading import load_vectors

    return load_vectors(vectors, data_dir=data_dir, cache_dir=cache_dir)


def clear_memo() -> None:
    """Forget the domain vectors held in this process (the disk cache stays)."""
    _MEMO.clear()
    _HELD.clear()
