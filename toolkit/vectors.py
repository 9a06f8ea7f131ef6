"""Pretrained word vectors: strict fast loading, a memory-mapped cache, embedding matrices.

:func:`load_vectors` reads GloVe text, word2vec text and binary, fastText
``.vec`` and ``.bin`` and gensim's native format, plain or ``.gz`` / ``.bz2``
compressed or as a member of a ``.zip``, into a gensim ``KeyedVectors``. The
text parser gives exactly what gensim's ``load_word2vec_format`` gives (same
words, same order, bit-identical float32 values) several times faster, and
refuses malformed files (wrong value counts, truncation, nan/inf, repeated
words, wrong headers, bad UTF-8) with a
:class:`~toolkit.exceptions.VectorsFormatError` naming the file, the line and
what to do.

The first load writes a native copy to ``<cache>/vectors/<key>/`` with the
vectors in their own ``.npy`` file, and every later load memory-maps it
(``mmap="r"``): a reload takes a fraction of a second and processes share one
copy of the vectors. A process-level memo returns the same object to repeated
calls (as scikit-learn ``fit`` calls make), so treat it as read-only.

:func:`build_embedding_matrix` aligns the vectors with a
:class:`~toolkit.vocabulary.Vocabulary` for a Keras ``Embedding`` layer and
reports the coverage (:class:`CoverageReport`). Small helpers delegate to
gensim for neighbours, analogies and the standard evaluations, and
:func:`train_word2vec` trains domain vectors that load exactly like GloVe.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import threading
import uuid
import zipfile
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import _vectors_parse as _parse
from ._atomic import atomic_output
from ._config import get_cache_dir
from ._validation import Interval, Options, check_token_lists, validate_param
from .exceptions import DataError, ManifestError, ToolkitError, VectorsNotFoundError

__all__ = [
    "FORMATS",
    "VectorsNotFoundError",
    "load_vectors",
    "clear_memo",
    "cache_path",
    "build_embedding_matrix",
    "CoverageReport",
    "most_similar",
    "analogy",
    "evaluate_analogies",
    "evaluate_word_pairs",
    "train_word2vec",
]

logger = logging.getLogger(__name__)

#: Values accepted by ``load_vectors(format=...)`` (the manifests' names included).
FORMATS = (
    "auto",
    "glove",
    "word2vec",
    "word2vec-text",
    "word2vec-binary",
    "fasttext",
    "fasttext-bin",
    "native",
)
_CACHE_VERSION = 1
_KV_NAME = "vectors.kv"
_MEMO: OrderedDict = OrderedDict()
_MEMO_SIZE = 4
_MEMO_LOCK = threading.Lock()


def _check(owner: str, **params) -> None:
    """Validate ``name=(value, allowed)`` pairs with scikit-learn's wording."""
    for name, (value, allowed) in params.items():
        validate_param(value, allowed, name=name, owner=owner)


# ----------------------------------------------------------------------------- sources


_PATH_HINT = re.compile(r"[\\/]|\.(txt|vec|bin|gz|bz2|zip|kv|model|npy)$", re.IGNORECASE)


def _resolve(source, fmt, member, data_dir, cache_dir, progress=False):
    """Path, member and format for a path or a manifest name."""
    if isinstance(source, (str, os.PathLike)):
        path = Path(source).expanduser()
        if path.exists():
            if path.is_dir():
                raise VectorsNotFoundError(
                    f"{path} is a folder; pass the vectors file inside it (e.g. {path / 'glove.6B.50d.txt'})."
                )
            return path.resolve(), member, fmt
        if isinstance(source, str) and not _PATH_HINT.search(source):
            from .manifests import get_manifest, list_manifests

            try:
                manifest = get_manifest(source)
            except ManifestError as err:
                raise VectorsNotFoundError(
                    f"No vectors file {source!r} (relative to {Path.cwd()}) and no data manifest of that name. "
                    f"Pass an existing path, or one of the manifest names: {', '.join(list_manifests())}."
                ) from err
            if manifest.format not in FORMATS:
                raise DataError(
                    f"The manifest {source!r} describes {manifest.format!r} data, not word vectors; "
                    "pass a vectors manifest such as 'glove.6B.50d'."
                )
            from .datasets import fetch

            path = Path(fetch(source, data_dir=data_dir, cache_dir=cache_dir, progress=progress)).resolve()
            if path.is_dir():
                raise VectorsNotFoundError(
                    f"The manifest {source!r} resolved to the folder {path}; pass the vectors file inside it."
                )
            if member is None and _parse.sniff_container(path) == "zip":
                member = manifest.member
            if fmt == "auto":
                fmt = manifest.format
            return path, member, fmt
        raise VectorsNotFoundError(
            f"No such vectors file: {path} (relative paths start at {Path.cwd()}). Check the path, "
            "or pass a manifest name such as 'glove.6B.50d' (toolkit data list shows them)."
        )
    raise TypeError(
        f"source must be a path, a manifest name or a KeyedVectors, got {type(source).__name__}."
    )


def _looks_like_header(line: bytes) -> bool:
    parts = line.split()
    return len(parts) == 2 and all(p.isdigit() for p in parts)


def _text_after_header(sample: bytes, dim: int) -> bool:
    """Whether the record after a word2vec header is text (else binary)."""
    nl = sample.find(b"\n")
    rest = sample[nl + 1 :] if nl >= 0 else b""
    rest = rest.lstrip(b"\n")
    sp = rest.find(b" ")
    if sp < 0:
        return True  # too short to tell: the text reader gives the clearer error
    end = rest.find(b"\n", sp)
    # the values of a text line, or the first bytes of a binary vector
    line = rest[sp + 1 : min(end if end >= 0 else len(rest), sp + 1 + 4 * dim)]
    allowed = set(b"0123456789.-+eEnaifNAIFty \r\t")
    return bool(line.strip()) and set(line) <= allowed


def _sniff(src: _parse.Source, fmt: str) -> str:
    """The concrete format: glove, word2vec-text, word2vec-binary, fasttext-bin or native."""
    if fmt == "word2vec-text":
        return fmt
    if fmt in ("word2vec-binary", "fasttext-bin", "native", "glove"):
        return fmt
    head = _parse.peek(src, 1 << 16)
    if head.startswith(_parse.FASTTEXT_MAGIC):
        return "fasttext-bin"
    if fmt == "auto" and head[:1] == b"\x80" and head[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):
        return "native"
    body = head[3:] if head.startswith(_parse.BOM) else head
    nl = body.find(b"\n")
    first = body if nl < 0 else body[:nl]
    if _looks_like_header(first):
        dim = int(first.split()[1])
        return "word2vec-text" if _text_after_header(body, dim) else "word2vec-binary"
    if fmt in ("word2vec", "fasttext"):
        return "word2vec-text"  # the header check names the problem
    if fmt == "auto" and b"\x00" in head[:64] and src.name.lower().endswith(".bin"):
        return "fasttext-bin"  # fastText before 0.9 wrote no magic number
    return "glove"


def _identity(path: Path, member) -> dict:
    st = path.stat()
    return {"path": str(path), "size": st.st_size, "mtime_ns": st.st_mtime_ns, "member": member}


def _key(identity: dict, fmt: str, limit, unicode_errors) -> str:
    blob = json.dumps(
        {"v": _CACHE_VERSION, **identity, "format": fmt, "limit": limit, "unicode_errors": unicode_errors},
        sort_keys=True,
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:20]


def cache_path(key: str, path: Path, cache_dir=None) -> Path:
    """Folder of one cache entry: ``<cache>/vectors/<file name>-<key>``."""
    stem = re.sub(r"[^A-Za-z0-9._-]", "_", path.name)[:60]
    return get_cache_dir(cache_dir) / "vectors" / f"{stem}-{key}"


# ----------------------------------------------------------------------------- building KeyedVectors


def _make_kv(words, key_to_index, vectors, declared, dim=None):
    from gensim.models import KeyedVectors

    dim = vectors.shape[1] if dim is None else dim
    kv = KeyedVectors(dim, count=0, dtype=np.float32)
    kv.index_to_key = words
    kv.key_to_index = key_to_index
    kv.next_index = len(words)
    kv.vectors = vectors
    # gensim's load_word2vec_format makes up descending counts; keep them for equality
    kv.expandos = {"count": np.arange(declared, declared - len(words), -1, dtype=np.int64)}
    return kv


def _read(src, fmt, limit, unicode_errors, vectors_path=None, progress=False):
    """Parse a text/binary file: (words, key_to_index, vectors or npy path, declared)."""
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(desc=f"Loading {src.path.name}", unit=" vectors", unit_scale=True, total=limit)
    kwargs = {"limit": limit, "unicode_errors": unicode_errors, "vectors_path": vectors_path,
              "on_rows": None if bar is None else bar.update}
    try:
        if fmt == "glove":
            return _parse.read_text(src, header=False, **kwargs)
        if fmt == "word2vec-text":
            return _parse.read_text(src, header=True, **kwargs)
        return _parse.read_binary(src, **kwargs)
    finally:
        if bar is not None:
            bar.close()


def _load_fasttext_bin(src, limit, workdir: Path):
    from gensim.models.fasttext import load_facebook_vectors

    path = src.path
    if _parse.sniff_container(path) == "zip":
        member = _parse.zip_member(src)
        with zipfile.ZipFile(path) as zf, zf.open(member) as fin, open(workdir / "model.bin", "wb") as fout:
            shutil.copyfileobj(fin, fout, 1 << 20)
        path = workdir / "model.bin"
    try:
        kv = load_facebook_vectors(str(path))
    except (ValueError, EOFError, OSError, AssertionError, NotImplementedError, UnicodeDecodeError) as err:
        raise src.error(
            None,
            f"cannot be read as a fastText .bin model ({type(err).__name__}: {err})",
            "Check that it is a complete fastText model (download it again), or load its .vec text instead",
        ) from err
    if limit is not None and limit < len(kv):
        logger.info("limit=%d ignored for a fastText .bin model (its subword buckets need all words)", limit)
    return kv


def _load_native(src, limit):
    from gensim.models import KeyedVectors

    if src.member is not None or _parse.sniff_container(src.path) != "plain":
        raise src.error(None, "a gensim native file must be uncompressed", "Decompress it first")
    try:
        kv = KeyedVectors.load(str(src.path), mmap="r")
    except Exception as err:  # unpickling raises anything; name the file and the fix
        raise src.error(
            None,
            f"cannot be read as a gensim KeyedVectors file ({type(err).__name__}: {err})",
            "Check the format (format='auto' sniffs it), and that the .npy files saved next to it are present",
        ) from err
    if not hasattr(kv, "key_to_index") or not hasattr(kv, "vectors"):
        raise src.error(None, f"holds a {type(kv).__name__}, not KeyedVectors", "Save model.wv instead of the model")
    if limit is not None and limit < len(kv):
        words = list(kv.index_to_key[:limit])
        kv = _make_kv(words, {w: i for i, w in enumerate(words)}, np.array(kv.vectors[:limit]), limit)
    return kv


_STALE_SECONDS = 6 * 3600


def _remove_stale(final: Path) -> None:
    """Remove temp folders of ``final`` left by killed processes (hours old; live ones are fresh)."""
    import time

    for old in final.parent.glob(f".tmp-{final.name}-*"):
        try:
            if time.time() - old.stat().st_mtime > _STALE_SECONDS:
                shutil.rmtree(old, ignore_errors=True)
        except OSError:
            pass


def _build_entry(src, fmt, limit, unicode_errors, final: Path, progress=False):
    """Parse the source into a new cache entry ``final`` (atomically).

    Returns the KeyedVectors with its vectors mapped from the entry (the
    vocabulary already parsed is reused rather than unpickled again), or
    None for fastText models, which the caller loads from the entry.
    """
    final.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale(final)
    tmp = final.parent / f".tmp-{final.name}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        kv_path = tmp / _KV_NAME
        if fmt == "fasttext-bin":
            kv = _load_fasttext_bin(src, limit, tmp)
            kv.save(str(kv_path), sep_limit=0)
            (tmp / "model.bin").unlink(missing_ok=True)
        else:
            stream = tmp / "stream.npy"
            words, k2i, npy, declared = _read(src, fmt, limit, unicode_errors, vectors_path=stream, progress=progress)
            dim = int(np.load(npy, mmap_mode="r").shape[1])
            kv = _make_kv(words, k2i, np.zeros((0, dim), np.float32), declared, dim=dim)
            kv.save(str(kv_path), separately=["vectors"], pickle_protocol=4)
            os.replace(stream, tmp / f"{_KV_NAME}.vectors.npy")
        meta = {"source": src.name, "format": fmt, "limit": limit, "version": _CACHE_VERSION}
        (tmp / "meta.json").write_text(json.dumps(meta, indent=1), encoding="utf-8")
        try:
            os.rename(tmp, final)
        except OSError:
            if not (final / "meta.json").exists():
                raise
            logger.info("Another process created %s first; using it", final)
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if fmt == "fasttext-bin":
        return None
    kv.vectors = np.load(final / f"{_KV_NAME}.vectors.npy", mmap_mode="r")  # as KeyedVectors.load(mmap="r")
    return kv


def _load_entry(final: Path):
    from gensim.models import KeyedVectors

    return KeyedVectors.load(str(final / _KV_NAME), mmap="r")


def _load_cached(src, fmt, limit, unicode_errors, final: Path, progress=False):
    if (final / "meta.json").exists():
        try:
            return _load_entry(final)
        except Exception as err:  # a damaged entry: drop it and rebuild
            logger.warning("Cache entry %s is damaged (%s); rebuilding it", final, err)
            trash = final.parent / f".trash-{final.name}-{uuid.uuid4().hex[:8]}"
            try:
                os.rename(final, trash)
            except OSError:
                pass
            shutil.rmtree(trash, ignore_errors=True)
    logger.info("Loading %s (%s) into the cache %s", src.name, fmt, final)
    kv = _build_entry(src, fmt, limit, unicode_errors, final, progress=progress)
    return _load_entry(final) if kv is None else kv


def load_vectors(
    source,
    *,
    format="auto",
    limit=None,
    member=None,
    cache=True,
    cache_dir=None,
    data_dir=None,
    unicode_errors="strict",
    progress=False,
):
    """Load word vectors from a file or a data manifest into gensim ``KeyedVectors``.

    Parameters
    ----------
    source : str, path-like or KeyedVectors
        A vectors file, or a manifest name such as ``"glove.6B.50d"`` (found
        in the offline data folder, the cache, or downloaded and verified:
        :func:`toolkit.datasets.fetch`). A ``KeyedVectors`` is returned as is.
    format : {"auto", "glove", "word2vec", "word2vec-text", "word2vec-binary", \
"fasttext", "fasttext-bin", "native"}, default="auto"
        ``"auto"`` sniffs the content: a fastText ``.bin`` magic number, a
        gensim pickle, a ``<count> <dim>`` header line (word2vec / fastText
        ``.vec``; text or binary after it) or none (GloVe). Compression
        (gzip, bz2, zip) is always detected from the bytes, not the name.
    limit : int, optional
        Read only the first ``limit`` vectors (the most frequent, in the
        usual files).
    member : str, optional
        The file to read inside a ``.zip`` holding several (e.g.
        ``"glove.6B.100d.txt"`` in ``glove.6B.zip``); a manifest supplies it.
    cache : bool, default=True
        Keep a native copy in the cache and memory-map it on later loads
        (all processes then share one copy of the vectors in memory). When
        the cache cannot be written (read-only, full), a warning is logged
        and the vectors are loaded into memory.
    cache_dir, data_dir : path-like, optional
        Override ``TOOLKIT_CACHE_DIR`` / ``TOOLKIT_DATA_DIR``.
    unicode_errors : {"strict", "replace", "ignore"}, default="strict"
        What to do with words that are not valid UTF-8.
    progress : bool, default=False
        Show a progress bar while downloading and parsing.

    Returns
    -------
    gensim.models.KeyedVectors
        Shared through a process-level memo; cached vectors are read-only.

    Raises
    ------
    VectorsNotFoundError
        The path does not exist and is no manifest name.
    toolkit.exceptions.VectorsFormatError
        The file is malformed; the message names file, line and what to do.

    Examples
    --------
    >>> from toolkit.vectors import load_vectors
    >>> kv = load_vectors("glove.6B.50d")                         # doctest: +SKIP
    >>> kv = load_vectors("vectors.txt.gz", limit=100_000)        # doctest: +SKIP
    >>> kv.most_similar("film", topn=1)                           # doctest: +SKIP
    [('movie', 0.93...)]
    """
    _check(
        "load_vectors",
        format=(format, [Options(FORMATS)]),
        limit=(limit, [Interval(int, 1, None), None]),
        member=(member, [str, None]),
        cache=(cache, ["boolean"]),
        unicode_errors=(unicode_errors, [Options({"strict", "replace", "ignore"})]),
        progress=(progress, ["boolean"]),
    )
    try:
        from gensim.models import KeyedVectors
    except ImportError as err:  # pragma: no cover - gensim is a dependency
        raise ImportError("load_vectors needs gensim: pip install gensim") from err
    if isinstance(source, KeyedVectors):
        return source
    path, member, fmt = _resolve(source, format, member, data_dir, cache_dir, progress)
    src = _parse.Source(path, member)
    if _parse.sniff_container(path) == "zip":
        src.member = _parse.zip_member(src)  # the one asked for, or the only file inside
    elif member is not None:
        logger.info("member=%r ignored: %s is not a zip archive", member, path)
        src.member = None
    fmt = _sniff(src, fmt)
    identity = _identity(path, src.member)
    key = _key(identity, fmt, limit, unicode_errors)
    with _MEMO_LOCK:
        kv = _MEMO.get(key)
        if kv is not None:
            _MEMO.move_to_end(key)
            return kv
    if fmt == "native":
        kv = _load_native(src, limit)
    elif cache:
        entry = cache_path(key, path, cache_dir)
        try:
            kv = _load_cached(src, fmt, limit, unicode_errors, entry, progress=progress)
        except OSError as err:
            if isinstance(err, ToolkitError):
                raise
            logger.warning("Cannot write the vectors cache %s (%s); loading without the cache", entry, err)
            return load_vectors(
                source, format=format, limit=limit, member=member, cache=False, cache_dir=cache_dir,
                data_dir=data_dir, unicode_errors=unicode_errors, progress=progress,
            )
    elif fmt == "fasttext-bin":
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            kv = _load_fasttext_bin(src, limit, Path(tmp))
    else:
        words, k2i, vectors, declared = _read(src, fmt, limit, unicode_errors, progress=progress)
        kv = _make_kv(words, k2i, vectors, declared)
    logger.info("Loaded %d vectors of dimension %d from %s", len(kv), kv.vector_size, src.name)
    with _MEMO_LOCK:
        _MEMO[key] = kv
        while len(_MEMO) > _MEMO_SIZE:
            _MEMO.popitem(last=False)
    return kv


def clear_memo() -> None:
    """Forget the vectors held by the process-level memo (the disk cache stays)."""
    with _MEMO_LOCK:
        _MEMO.clear()


# ----------------------------------------------------------------------------- embedding matrix


@dataclass
class CoverageReport:
    """How much of a vocabulary a set of word vectors covers.

    Attributes
    ----------
    n_tokens : int
        Vocabulary tokens checked (the reserved padding and OOV ids excluded).
    n_covered : int
        Tokens that got a pretrained vector: ``n_exact + n_lowercase + n_subword``.
    n_exact, n_lowercase, n_subword : int
        Found as is; found lowercased (``lowercase_fallback``); built from
        fastText subword n-grams.
    n_occurrences, n_occurrences_covered : int or None
        Corpus occurrences of the checked tokens (from the vocabulary's
        counts), all and covered; None when the vocabulary has no counts.
    top_missing : list of (str, int or None)
        The most frequent tokens without a vector, with their counts.
    dim, n_vectors : int
        Dimension and size of the vectors.
    oov : str
        How rows without a vector were filled.
    """

    n_tokens: int
    n_covered: int
    n_exact: int
    n_lowercase: int
    n_subword: int
    n_occurrences: int | None
    n_occurrences_covered: int | None
    top_missing: list = field(default_factory=list)
    dim: int = 0
    n_vectors: int = 0
    oov: str = "zeros"

    @property
    def n_missing(self) -> int:
        return self.n_tokens - self.n_covered

    @property
    def token_coverage(self) -> float:
        """Share of tokens with a vector (nan for an empty vocabulary)."""
        return self.n_covered / self.n_tokens if self.n_tokens else float("nan")

    @property
    def occurrence_coverage(self) -> float | None:
        """Share of token occurrences with a vector, or None without counts."""
        if self.n_occurrences is None:
            return None
        return self.n_occurrences_covered / self.n_occurrences if self.n_occurrences else float("nan")

    def to_dict(self) -> dict:
        """A JSON-ready dict (coverages included)."""
        return {
            "n_tokens": self.n_tokens,
            "n_covered": self.n_covered,
            "n_exact": self.n_exact,
            "n_lowercase": self.n_lowercase,
            "n_subword": self.n_subword,
            "n_missing": self.n_missing,
            "token_coverage": self.token_coverage,
            "n_occurrences": self.n_occurrences,
            "n_occurrences_covered": self.n_occurrences_covered,
            "occurrence_coverage": self.occurrence_coverage,
            "top_missing": [[t, c] for t, c in self.top_missing],
            "dim": self.dim,
            "n_vectors": self.n_vectors,
            "oov": self.oov,
        }

    @classmethod
    def from_dict(cls, data: dict) -> CoverageReport:
        """Inverse of :meth:`to_dict` (derived keys are ignored)."""
        names = {f for f in cls.__dataclass_fields__}
        kwargs = {k: v for k, v in data.items() if k in names}
        kwargs["top_missing"] = [tuple(x) for x in data.get("top_missing", [])]
        return cls(**kwargs)

    def __str__(self) -> str:
        def pct(x):
            return "-" if x is None or x != x else f"{100 * x:.1f}%"

        rows = [
            ("tokens", f"{self.n_covered:,}", f"{self.n_tokens:,}", pct(self.token_coverage)),
            ("  exact", f"{self.n_exact:,}", "", ""),
            ("  lowercased", f"{self.n_lowercase:,}", "", ""),
        ]
        if self.n_subword:
            rows.append(("  subwords", f"{self.n_subword:,}", "", ""))
        if self.n_occurrences is not None:
            rows.append(
                ("occurrences", f"{self.n_occurrences_covered:,}", f"{self.n_occurrences:,}", pct(self.occurrence_coverage))
            )
        widths = [max(len(r[i]) for r in [("", "covered", "total", "coverage"), *rows]) for i in range(4)]
        lines = [
            f"Embedding coverage: {self.n_vectors:,} vectors of dimension {self.dim}; rows without a vector: {self.oov}",
            "  ".join(h.rjust(w) if i else h.ljust(w) for i, (h, w) in enumerate(zip(("", "covered", "total", "coverage"), widths))),
        ]
        for r in rows:
            lines.append("  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths))))
        if self.top_missing:
            lines.append(f"Most frequent tokens without a vector ({self.n_missing:,} in all):")
            tw = max(5, *(len(t) for t, _ in self.top_missing))
            lines.append(f"  {'rank':>4}  {'token'.ljust(tw)}  {'count':>9}")
            for rank, (tok, cnt) in enumerate(self.top_missing, 1):
                lines.append(f"  {rank:>4}  {tok.ljust(tw)}  {'-' if cnt is None else format(cnt, ','):>9}")
        return "\n".join(lines)


def _vocabulary_parts(vocabulary):
    """(tokens, counts or None, reserved ids) of a Vocabulary or a list of tokens."""
    if hasattr(vocabulary, "tokens") and hasattr(vocabulary, "counts"):
        from .vocabulary import OOV_ID, PAD_ID

        tokens = list(vocabulary.tokens)
        counts = np.asarray(vocabulary.counts, dtype=np.int64)
        return tokens, counts, (PAD_ID, OOV_ID)
    if isinstance(vocabulary, (str, bytes)) or not hasattr(vocabulary, "__iter__"):
        raise TypeError(
            f"vocabulary must be a toolkit Vocabulary or a list of tokens, got {type(vocabulary).__name__}."
        )
    tokens = list(vocabulary)
    for i, t in enumerate(tokens):
        if not isinstance(t, str):
            raise TypeError(f"vocabulary must hold str tokens; item {i} is a {type(t).__name__} ({t!r}).")
    return tokens, None, ()


def build_embedding_matrix(
    vocabulary, vectors, *, oov="zeros", lowercase_fallback=True, random_state=None, n_top_missing=20
):
    """The rows of ``vectors`` for each vocabulary id, for a Keras ``Embedding`` layer.

    Parameters
    ----------
    vocabulary : toolkit.vocabulary.Vocabulary or list of str
        Row ``i`` of the matrix is the vector of id ``i``. For a Vocabulary,
        the padding row (id 0) is all zeros and the OOV row (id 1) is filled
        like a missing word; neither counts in the report.
    vectors : KeyedVectors, path or manifest name
        Anything :func:`load_vectors` accepts.
    oov : {"zeros", "random", "mean"}, default="zeros"
        Rows for tokens without a vector: zeros; random normal draws with the
        per-dimension mean and standard deviation of the rows found; or the
        mean of all vectors.
    lowercase_fallback : bool, default=True
        Look up ``token.lower()`` when ``token`` itself has no vector.
    random_state : int, RandomState instance or None, default=None
        Seeds ``oov="random"``.
    n_top_missing : int, default=20
        How many of the most frequent missing tokens the report lists.

    Returns
    -------
    matrix : ndarray of float32, shape (len(vocabulary), dim)
    report : CoverageReport

    Examples
    --------
    >>> import numpy as np
    >>> from gensim.models import KeyedVectors
    >>> from toolkit.vectors import build_embedding_matrix
    >>> from toolkit.vocabulary import Vocabulary
    >>> kv = KeyedVectors(2)
    >>> kv.add_vectors(["good", "film"], np.array([[1, 0], [0, 1]], dtype=np.float32))
    >>> vocab = Vocabulary.from_documents([["good", "film", "Good", "dud"]])
    >>> matrix, report = build_embedding_matrix(vocab, kv)
    >>> matrix.shape, report.n_covered, report.n_tokens
    ((6, 2), 3, 4)
    """
    _check(
        "build_embedding_matrix",
        oov=(oov, [Options({"zeros", "random", "mean"})]),
        lowercase_fallback=(lowercase_fallback, ["boolean"]),
        random_state=(random_state, ["random_state"]),
        n_top_missing=(n_top_missing, [Interval(int, 0, None)]),
    )
    kv = load_vectors(vectors)
    tokens, counts, reserved = _vocabulary_parts(vocabulary)
    dim = int(kv.vector_size)
    n = len(tokens)
    matrix = np.zeros((n, dim), dtype=np.float32)
    k2i = kv.key_to_index
    src = np.full(n, -1, dtype=np.int64)
    kind = np.zeros(n, dtype=np.int8)  # 0 missing, 1 exact, 2 lowercase, 3 subword
    skip = set(reserved)
    for i, tok in enumerate(tokens):
        if i in skip:
            continue
        j = k2i.get(tok)
        if j is not None:
            src[i], kind[i] = j, 1
        elif lowercase_fallback:
            low = tok.lower()
            if low != tok:
                j = k2i.get(low)
                if j is not None:
                    src[i], kind[i] = j, 2
    found = np.flatnonzero(src >= 0)
    if found.size:
        order = np.argsort(src[found], kind="stable")  # sorted reads are kinder to a memory map
        matrix[found[order]] = kv.vectors[src[found[order]]]
    if getattr(kv, "bucket", 0) and hasattr(kv, "vectors_ngrams"):  # fastText: subword vectors
        for i in np.flatnonzero(kind == 0):
            if i in skip:
                continue
            vec = kv.get_vector(tokens[i])
            if np.any(vec):
                matrix[i], kind[i] = vec, 3
    checked = np.ones(n, dtype=bool)
    checked[list(skip)] = False
    missing = np.flatnonzero(checked & (kind == 0))
    fill = missing if 1 not in skip or n < 2 else np.concatenate([missing, [1]])
    if fill.size and oov != "zeros":
        if oov == "mean":
            matrix[fill] = np.asarray(kv.vectors, dtype=np.float64).mean(axis=0).astype(np.float32)
        else:
            from sklearn.utils import check_random_state

            rng = check_random_state(random_state)
            covered_rows = np.flatnonzero(kind > 0)
            ref = matrix[covered_rows] if covered_rows.size >= 2 else np.asarray(kv.vectors[:10_000])
            mu, sd = ref.mean(axis=0), ref.std(axis=0)
            matrix[fill] = rng.normal(mu, sd, size=(fill.size, dim)).astype(np.float32)
    if 0 in skip and n:
        matrix[0] = 0.0
    n_tokens = int(checked.sum())
    if counts is not None:
        occ = int(counts[checked].sum())
        occ_cov = int(counts[checked & (kind > 0)].sum())
        top = missing[np.argsort(-counts[missing], kind="stable")][:n_top_missing]
        top_missing = [(tokens[i], int(counts[i])) for i in top]
    else:
        occ = occ_cov = None
        top_missing = [(tokens[i], None) for i in missing[:n_top_missing]]
    report = CoverageReport(
        n_tokens=n_tokens,
        n_covered=int((kind > 0).sum()),
        n_exact=int((kind == 1).sum()),
        n_lowercase=int((kind == 2).sum()),
        n_subword=int((kind == 3).sum()),
        n_occurrences=occ,
        n_occurrences_covered=occ_cov,
        top_missing=top_missing,
        dim=dim,
        n_vectors=len(kv),
        oov=oov,
    )
    logger.info("Embedding coverage: %d of %d tokens", report.n_covered, report.n_tokens)
    return matrix, report


# ----------------------------------------------------------------------------- gensim helpers


def _require_words(kv, words):
    for w in words:
        if not kv.has_index_for(w) and not (getattr(kv, "bucket", 0) and hasattr(kv, "vectors_ngrams")):
            raise DataError(
                f"The word {w!r} has no vector ({len(kv):,} words loaded); check the spelling, try its "
                "lowercase form, or load more vectors (limit=None)."
            )


def most_similar(vectors, word, topn=10):
    """The ``topn`` nearest words to ``word`` by cosine similarity.

    Parameters
    ----------
    vectors : KeyedVectors, path or manifest name
    word : str
    topn : int, default=10

    Returns
    -------
    list of (str, float)

    Examples
    --------
    >>> most_similar("glove.6B.50d", "film", topn=3)                  # doctest: +SKIP
    [('movie', 0.93...), ('films', 0.92...), ('movies', 0.88...)]
    """
    _check("most_similar", word=(word, [str]), topn=(topn, [Interval(int, 1, None)]))
    kv = load_vectors(vectors)
    _require_words(kv, [word])
    return [(w, float(s)) for w, s in kv.most_similar(word, topn=topn)]


def analogy(vectors, a, b, c, topn=1):
    """Solve "``a`` is to ``b`` as ``c`` is to ?": the words nearest to ``b - a + c``.

    ``analogy(kv, "man", "king", "woman")`` is king - man + woman (queen),
    the order of the Google analogy set's lines.

    Returns
    -------
    list of (str, float)
        The ``topn`` answers (the three query words excluded), best first.

    Examples
    --------
    >>> analogy("glove.6B.50d", "man", "king", "woman")               # doctest: +SKIP
    [('queen', 0.85...)]
    """
    _check("analogy", a=(a, [str]), b=(b, [str]), c=(c, [str]), topn=(topn, [Interval(int, 1, None)]))
    kv = load_vectors(vectors)
    _require_words(kv, [a, b, c])
    return [(w, float(s)) for w, s in kv.most_similar(positive=[b, c], negative=[a], topn=topn)]


def _test_data(name: str) -> str:
    from gensim.test.utils import datapath

    return datapath(name)


def evaluate_analogies(vectors, path=None, *, restrict_vocab=30_000, case_insensitive=True):
    """Accuracy on the Google analogy set (gensim's ``evaluate_word_analogies``).

    Parameters
    ----------
    vectors : KeyedVectors, path or manifest name
    path : path-like, optional
        A file in the ``questions-words.txt`` format; default the copy that
        ships with gensim.
    restrict_vocab : int, default=30000
        Only questions whose words are all among the first ``restrict_vocab``
        vectors count, and answers come from them.
    case_insensitive : bool, default=True

    Returns
    -------
    dict
        ``accuracy``, ``n_correct``, ``n_incorrect`` and ``sections`` (name,
        accuracy, correct, incorrect per section).

    Examples
    --------
    >>> evaluate_analogies("glove.6B.50d")["accuracy"]                # doctest: +SKIP
    0.497...
    """
    _check(
        "evaluate_analogies",
        restrict_vocab=(restrict_vocab, [Interval(int, 1, None)]),
        case_insensitive=(case_insensitive, ["boolean"]),
    )
    kv = load_vectors(vectors)
    score, sections = kv.evaluate_word_analogies(
        str(path) if path is not None else _test_data("questions-words.txt"),
        restrict_vocab=restrict_vocab,
        case_insensitive=case_insensitive,
    )
    out = []
    for sec in sections:
        n_ok, n_bad = len(sec["correct"]), len(sec["incorrect"])
        out.append(
            {
                "section": sec["section"],
                "accuracy": n_ok / (n_ok + n_bad) if n_ok + n_bad else float("nan"),
                "correct": n_ok,
                "incorrect": n_bad,
            }
        )
    total = next((s for s in out if s["section"] == "Total accuracy"), None)
    return {
        "accuracy": float(score),
        "n_correct": total["correct"] if total else None,
        "n_incorrect": total["incorrect"] if total else None,
        "sections": out,
    }


def evaluate_word_pairs(vectors, path=None, *, restrict_vocab=30_000, case_insensitive=True):
    """Correlation with human similarity judgements (WordSim353 by default).

    Parameters
    ----------
    vectors : KeyedVectors, path or manifest name
    path : path-like, optional
        Tab-separated ``word1 word2 score`` lines; default gensim's
        ``wordsim353.tsv``.
    restrict_vocab : int, default=30000
        Only pairs whose words are among the first ``restrict_vocab``
        vectors count; the same default as :func:`evaluate_analogies`
        (gensim's own default is 300000, which gives 0.503 instead of 0.538
        for GloVe 6B-50d).
    case_insensitive : bool, default=True

    Returns
    -------
    dict
        ``pearson``, ``pearson_pvalue``, ``spearman``, ``spearman_pvalue``
        and ``oov_ratio`` (percent of pairs skipped for a missing word).

    Examples
    --------
    >>> round(evaluate_word_pairs("glove.6B.50d")["spearman"], 3)     # doctest: +SKIP
    0.538
    """
    _check(
        "evaluate_word_pairs",
        restrict_vocab=(restrict_vocab, [Interval(int, 1, None)]),
        case_insensitive=(case_insensitive, ["boolean"]),
    )
    kv = load_vectors(vectors)
    pearson, spearman, oov_ratio = kv.evaluate_word_pairs(
        str(path) if path is not None else _test_data("wordsim353.tsv"),
        restrict_vocab=restrict_vocab,
        case_insensitive=case_insensitive,
    )
    return {
        "pearson": float(pearson[0]),
        "pearson_pvalue": float(pearson[1]),
        "spearman": float(spearman[0]),
        "spearman_pvalue": float(spearman[1]),
        "oov_ratio": float(oov_ratio),
    }


# ----------------------------------------------------------------------------- training


def train_word2vec(
    corpus,
    *,
    vector_size=100,
    window=5,
    min_count=5,
    epochs=5,
    sg=0,
    workers=2,
    seed=0,
    output=None,
    progress=False,
):
    """Train gensim Word2Vec on token lists; optionally save word2vec binary.

    Parameters
    ----------
    corpus : TokenizedCorpus or sequence of list of str
        E.g. the tokenized unlabelled IMDB reviews.
    vector_size, window, min_count, epochs, sg : int
        As gensim's ``Word2Vec`` (``sg=1`` is skip-gram, 0 CBOW).
    workers : int, default=2
        Training threads; with more than one the result varies slightly
        between runs even with the same seed (gensim's own caveat).
    seed : int, default=0
    output : path-like, optional
        Write the vectors there in word2vec binary format (atomically), so
        :func:`load_vectors` reads them like any pretrained file.
    progress : bool, default=False
        Show a progress bar over the epochs.

    Returns
    -------
    gensim.models.KeyedVectors

    Examples
    --------
    >>> from toolkit.vectors import train_word2vec
    >>> kv = train_word2vec([["good", "film"], ["bad", "film"]] * 50, vector_size=8, min_count=1)
    >>> kv.vector_size
    8
    """
    _check(
        "train_word2vec",
        vector_size=(vector_size, [Interval(int, 1, _parse.MAX_DIM)]),
        window=(window, [Interval(int, 1, None)]),
        min_count=(min_count, [Interval(int, 1, None)]),
        epochs=(epochs, [Interval(int, 1, None)]),
        sg=(sg, [Options({0, 1})]),
        workers=(workers, [Interval(int, 1, None)]),
        seed=(seed, [Interval(int, 0, None)]),
        output=(output, [str, os.PathLike, None]),
        progress=(progress, ["boolean"]),
    )
    from gensim.models import Word2Vec
    from gensim.models.callbacks import CallbackAny2Vec

    docs = check_token_lists(corpus, estimator="train_word2vec", name="corpus")
    callbacks = []
    if progress:
        from tqdm.auto import tqdm

        class _Bar(CallbackAny2Vec):
            def __init__(self):
                self.bar = tqdm(total=epochs, desc="word2vec", unit="epoch")

            def on_epoch_end(self, model):
                self.bar.update(1)

            def on_train_end(self, model):
                self.bar.close()

        callbacks.append(_Bar())
    model = Word2Vec(
        vector_size=vector_size, window=window, min_count=min_count, epochs=epochs, sg=sg, workers=workers, seed=seed
    )
    model.build_vocab(docs)
    if len(model.wv) == 0:
        raise DataError(
            f"No word occurs at least min_count={min_count} times in the corpus; lower min_count or pass more text."
        )
    model.train(docs, total_examples=model.corpus_count, epochs=model.epochs, callbacks=callbacks)
    kv = model.wv
    if output is not None:
        out = Path(output).expanduser()
        with atomic_output(out) as tmp:
            kv.save_word2vec_format(str(tmp), binary=True)
        logger.info("Saved %d word2vec vectors to %s", len(kv), out)
    return kv
