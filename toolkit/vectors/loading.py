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
from pathlib import Path

import numpy as np

from .._config import get_cache_dir
from .._validation import Interval, Options, validate_param
from ..exceptions import DataError, ManifestError, ToolkitError, VectorsNotFoundError
from . import _parse

__all__ = [
    "FORMATS",
    "VectorsNotFoundError",
    "load_vectors",
    "clear_memo",
    "cache_path",
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
            from ..data.manifests import get_manifest, list_manifests

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
            from ..data.datasets import fetch

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


