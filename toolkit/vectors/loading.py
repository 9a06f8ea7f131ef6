"""Pretrained word vectors: strict fast loading, a memory-mapped cache, embedding matrices.

:func:`load_vectors` reads GloVe text, word2vec text and binary, fastText
``.vec`` and ``.bin`` and gensim's native format, plain or ``.gz`` / ``.bz2`` / ``.xz``
compressed or as a member of a ``.zip``, into a gensim ``KeyedVectors``. The
text parser gives exactly what gensim's ``load_word2vec_format`` gives (same
words, same order, bit-identical float32 values) several times faster, and
refuses malformed files (wrong value counts, truncation, nan/inf, repeated
words unless ``duplicates="first"``, wrong headers, bad UTF-8) with a
:class:`~toolkit.exceptions.VectorsFormatError` naming the file, the line and
what to do.

The first load writes a cache entry to ``<cache>/vectors/<name>-<key>/``: the
vectors as a ``.npy`` array, the words as UTF-8 text and a JSON header with
the SHA-256 of each file. Nothing in it can run code when read (no pickle;
arrays are read with ``allow_pickle=False``), every load checks it against its
header (an array file that changed in any way since it was written is hashed
again), and a damaged or planted entry is rebuilt from the source file, as is
the entry of a file written again with its size and modification time kept
(its recorded SHA-256 tells; a copy of the same file keeps its entry). Later
loads memory-map the vectors (``mmap_mode="r"``): a reload takes a fraction of
a second and processes share one copy of the vectors. A process-level memo
(:class:`toolkit._memo.Memo`) returns the same object to repeated calls (as
scikit-learn ``fit`` calls make), so treat it as read-only.

Untrusted files: ``format="auto"`` never loads a pickle. gensim's native
``.kv`` format *is* a pickle, which can run any code while it loads; it is
read only when asked for by name (``format="native"``), for files you made
or trust.

:func:`build_embedding_matrix` aligns the vectors with a
:class:`~toolkit.text.vocabulary.Vocabulary` for a Keras ``Embedding`` layer and
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
import struct
import sys
import tempfile
import threading
import time
import uuid
import weakref
import zipfile
from pathlib import Path

import numpy as np

from .._atomic import STALE_SECONDS, nearest_existing_parent, remove_stale
from .._config import get_cache_dir
from .._memo import Memo
from .._validation import Interval, Options, validate_param
from ..exceptions import (
    DataError,
    ManifestError,
    ToolkitError,
    VectorsFormatError,
    VectorsNotFoundError,
)
from . import _parse

__all__ = [
    "FORMATS",
    "VectorsNotFoundError",
    "load_vectors",
    "locate_vectors",
    "clear_memo",
    "cache_path",
    "read_entry",
    "write_entry",
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
_CACHE_VERSION = 2  # the entry layout (write_entry); 1 was a gensim pickle, whose entries are never read again
#: the parse of the text and binary formats; raised when a fix changes what a file loads as, so that entries parsed
#: before it (kept by the file's unchanged identity) are parsed again, and swept (_sweep_superseded).
#: 2: session 41 (a word emptied by unicode_errors='ignore' refused; GloVe's dimension voted on all lines of the
#: first block, so limit=1 and a word with a space no longer change it; a wrong word2vec binary dimension refused)
_PARSER_VERSION = 2
#: the formats read by the toolkit's own parser (_parse.read_text, read_binary): their entries carry its version
_PARSED = ("glove", "word2vec-text", "word2vec-binary")
_MEMO = Memo(maxsize=4)
#: the cache entry folder each KeyedVectors read by read_entry came from (entry_folder), forgotten with the vectors
_ENTRY_OF: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _check(owner: str, **params) -> None:
    """Validate ``name=(value, allowed)`` pairs with scikit-learn's wording."""
    for name, (value, allowed) in params.items():
        validate_param(value, allowed, name=name, owner=owner)


# ----------------------------------------------------------------------------- sources


_PATH_HINT = re.compile(r"[\\/]|\.(txt|vec|bin|gz|bz2|xz|zip|kv|model|npy)$", re.IGNORECASE)


def locate_vectors(source):
    """What a vectors name points at, without reading, fetching or writing anything.

    The one resolution of a path or manifest name: :func:`load_vectors` uses
    it, and so can an early check (the CLI's) that must agree with it.

    Parameters
    ----------
    source : str or path-like
        A vectors file, a file inside a zip archive given as a path through
        the archive (``"glove.6B.zip/glove.6B.100d.txt"``), or a manifest
        name such as ``"glove.6B.50d"``. An existing path wins over a
        manifest of the same name; a string that looks like a path (a ``/``
        or a vectors file extension) is never taken for a manifest name.

    Returns
    -------
    (kind, found) : ("file", Path), ("member", (Path, str)) or ("manifest", Manifest)
        The resolved path of an existing file; the resolved path of a zip
        archive and the name of the member inside it (not checked until
        read); or the manifest of word vectors the name gives (not fetched).

    Raises
    ------
    VectorsNotFoundError
        No such file and no manifest of that name, or a folder.
    toolkit.exceptions.DataError
        A manifest of data that is not word vectors (``"imdb"``).
    TypeError
        ``source`` is not a str or path-like.

    Examples
    --------
    >>> from toolkit.vectors import locate_vectors
    >>> kind, manifest = locate_vectors("glove.6B.50d")
    >>> kind, manifest.name
    ('manifest', 'glove.6B.50d')
    """
    if not isinstance(source, (str, os.PathLike)):
        raise TypeError(
            f"source must be a path, a manifest name, a KeyedVectors or a gensim model with word vectors (.wv), "
            f"got {type(source).__name__}."
        )
    path = Path(source).expanduser()
    if path.exists():
        if path.is_dir():
            raise VectorsNotFoundError(f"{path} is a folder; pass the vectors file inside it ({_files_in(path)}).")
        return "file", path.resolve()
    inside = _inside_zip(path)
    if inside is not None:
        return "member", inside
    if isinstance(source, str) and not _PATH_HINT.search(source):
        from ..data.manifests import get_manifest

        try:
            manifest = get_manifest(source)
        except ManifestError as err:
            names = vectors_manifest_names()  # not 'imdb'
            raise VectorsNotFoundError(
                f"No vectors file {source!r} (relative to {Path.cwd()}) and no data manifest of that name. "
                f"Pass an existing path, or one of the vectors manifest names: {', '.join(names)}."
            ) from err
        if manifest.format not in FORMATS:
            raise DataError(
                f"The manifest {source!r} describes {manifest.format!r} data, not word vectors; "
                "pass a vectors manifest such as 'glove.6B.50d'."
            )
        return "manifest", manifest
    raise VectorsNotFoundError(
        f"No such vectors file: {path} (relative paths start at {Path.cwd()}). Check the path, "
        "or pass a manifest name such as 'glove.6B.50d' (toolkit data list shows them)."
    )


_VECTOR_FILE = re.compile(r"\.(txt|vec|bin|kv|model)(\.gz|\.bz2|\.xz)?$|\.(zip|gz|bz2|xz)$", re.IGNORECASE)


def _files_in(folder: Path) -> str:
    """The vectors-like files of ``folder``, for a message: "it holds a.txt.gz, b.bin" (or an example name)."""
    try:
        names = sorted(p.name for p in folder.iterdir() if _VECTOR_FILE.search(p.name)
                       and not p.name.lower().endswith((".tar.gz", ".tar.bz2", ".tar.xz")) and p.is_file())  # a dataset
    except OSError:
        names = []
    if not names:
        return f"e.g. {folder / 'glove.6B.50d.txt'}"
    more = f" and {len(names) - 5} more" if len(names) > 5 else ""
    return f"it holds {', '.join(names[:5])}{more}"


def _inside_zip(path: Path):
    """``(archive, member)`` for a path that goes through a zip archive (``glove.6B.zip/glove.6B.100d.txt``), else None.

    The nearest existing ancestor of ``path`` must be a zip file (by its bytes);
    the rest of the path is the member's name in the archive.
    """
    for parent in path.parents:
        try:
            if not parent.exists():
                continue
            if parent.is_file() and _parse.sniff_container(parent) == "zip":
                return parent.resolve(), path.relative_to(parent).as_posix()
        except OSError:  # unreadable: not ours to explain here
            return None
        return None
    return None


def _resolve(source, fmt, member, data_dir, cache_dir, progress=False):
    """Path, member and format for a path or a manifest name (:func:`locate_vectors`, then fetched)."""
    kind, found = locate_vectors(source)
    if kind == "file":
        return found, member, fmt
    if kind == "member":  # "glove.6B.zip/glove.6B.100d.txt": what an estimator's vectors= can say
        path, inner = found
        if member is not None and member != inner:
            raise VectorsNotFoundError(
                f"{source} names the member {inner!r} of {path}, but member={member!r}; pass one or the other."
            )
        return path, inner, fmt
    from ..data.datasets import fetch

    manifest = found
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


def _looks_like_header(line: bytes) -> bool:
    parts = line.split()
    return len(parts) == 2 and all(p.isdigit() for p in parts)


def _text_after_header(sample: bytes, dim: int) -> bool:
    """Whether the record after a word2vec header is text (else binary).

    Text: the last ``dim`` fields of the line are numbers (the word before
    them may hold spaces); binary: raw float32 bytes follow the first space.
    """
    nl = sample.find(b"\n")
    rest = sample[nl + 1 :] if nl >= 0 else b""
    rest = rest.lstrip(b"\n")
    end = rest.find(b"\n")
    fields = (rest if end < 0 else rest[:end]).rstrip(b" \r\t").split(b" ")
    if len(fields) < 2:
        return True  # too short to tell: the text reader gives the clearer error
    values = fields[-dim:] if len(fields) > dim else fields[1:]  # a line cut short by the sample: what is there
    allowed = set(b"0123456789.-+eEnaifNAIFty")
    return all(v and set(v) <= allowed for v in values)


def _looks_like_pickle(head: bytes) -> bool:
    """Whether bytes start like a pickle (protocol 2-5): looked at to name the problem, never loaded."""
    return head[:1] == b"\x80" and head[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05")


def _sniff(src: _parse.Source, fmt: str) -> str:
    """The concrete format: glove, word2vec-text, word2vec-binary, fasttext-bin, or native when named."""
    if fmt == "native":
        return fmt
    head = _parse.peek(src, 1 << 16)
    for magic, what, tool in _parse.UNREAD_COMPRESSIONS:  # read as text, it said "the first line has no values"
        if head.startswith(magic):
            name = src.path.name
            raise src.error(
                None, f"is compressed with {what}, which the vectors readers do not decompress (they read gzip, bz2, "
                "xz and zip)",
                f"Decompress it ({tool} -d {name}) or recompress it with gzip ({tool} -dc {name} | gzip > "
                f"{Path(name).stem}.gz) and pass that file" if tool else
                "Extract the vectors file from it (7z x " + name + ") and pass that file",
            )
    if head.startswith(b"\x93NUMPY"):
        how = _parse.advice()
        name = src.path.name
        kv = src.path.with_name(name[: -len(".vectors.npy")]) if name.endswith(".vectors.npy") else None
        kv = kv if kv is not None and kv.is_file() else None  # gensim's name for it: <name>.kv.vectors.npy
        native = how.either(
            "format",
            f"Pass the .kv file itself with {how.setting('format', 'native')}{f' ({kv})' if kv else ''} if you made "
            "it or trust it",
            "If you made or trust the .kv file saved with it, "
            + (how.passing(str(kv), "format", "native", "to load it") if kv else "write a copy of that file once (toolkit "
               f"vectors convert FILE.kv FILE.vec {how.setting('format', 'native')}) and pass the copy"),
        )
        raise src.error(
            None,
            "is a NumPy .npy array (such as the vectors file gensim's KeyedVectors.save writes beside a .kv "
            "file), which holds no words",
            f"{native}; or pass a word-vectors file (GloVe or word2vec text, word2vec binary, fastText .vec or .bin)",
        )
    from ..data.datasets import archive_kind

    if archive_kind(head) == "tar":  # read as GloVe text, it said "line 1: the first line has no values"
        raise src.error(
            None, "is a tar archive (such as a .tar.gz), not a word-vectors file",
            f"Extract the vectors file from it (tar -xf {src.path.name}) and pass that file",
        )
    if fmt in ("word2vec-text", "word2vec-binary", "fasttext-bin", "glove"):
        return fmt
    if head.startswith(_parse.FASTTEXT_MAGIC):
        return "fasttext-bin"
    if _looks_like_pickle(head):
        how = _parse.advice()  # load_vectors' keywords (and a copy for an estimator), or the command line's
        raise src.error(
            None,
            "looks like a Python pickle (gensim's native format), which "
            + how.either("format", f"{how.setting('format', fmt)} never loads", "is loaded only when its format is named")
            + ": loading a pickle can run any code it holds",
            "If you made this file or trust its source, "
            + how.passing(src.name, "format", "native", "to load it")
            + ". Otherwise ask for the vectors as word2vec or GloVe text (fastText vectors lose their subword "
            "vectors in a word2vec copy: keep those as a fastText .bin model)",
        )
    body = head[3:] if head.startswith(_parse.BOM) else head
    if _parse.cr_only(body):  # classic Mac OS line ends, read as line ends (read_text)
        body = body.replace(b"\r", b"\n")
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


def vectors_manifest_names() -> list[str]:
    """The data manifests of word vectors (GloVe, word2vec...): the names offered where vectors are asked for,
    not data such as ``imdb``."""
    from ..data.manifests import get_manifest, list_manifests

    return [name for name in list_manifests() if get_manifest(name).format in FORMATS]


def _identity(path: Path, member) -> dict:
    """The part of a vectors file's identity that names its cache entry (:func:`_key`): path, size, mtime.

    Size and modification time survive a copy that keeps them (``cp -p``,
    ``rsync -a``, a tar extraction: data staged to each job's or machine's
    disk), so such a copy finds the entry. They survive a rewrite with the
    time put back too: the entry records the file's inode and change time
    and its SHA-256, and a load from a file whose inode or change time
    differ checks its content first (:func:`_source_changed`).
    """
    st = path.stat()
    return {"path": str(path), "size": st.st_size, "mtime_ns": st.st_mtime_ns, "member": member}


def _key(identity: dict, fmt: str, limit, unicode_errors, duplicates="error") -> str:
    fields = {"v": _CACHE_VERSION, **identity, "format": fmt, "limit": limit, "unicode_errors": unicode_errors}
    if fmt in _PARSED and duplicates != "error":  # (only then: the keys of every other load stay as they were)
        fields["duplicates"] = duplicates
    if fmt == "fasttext-bin":  # entries of compressed models made before they were decompressed here held garbage
        fields["decompressed"] = True
    if fmt in _PARSED and _PARSER_VERSION > 1:  # entries of earlier parses (no such field) are not looked up
        fields["parser"] = _PARSER_VERSION
    blob = json.dumps(fields, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:20]


def cache_path(key: str, path: Path, cache_dir=None) -> Path:
    """Folder of one cache entry: ``<cache>/vectors/<file name>-<key>``.

    Parameters
    ----------
    key : str
        The entry's key (a hash of the file's identity and the load options).
    path : pathlib.Path
        The vectors file; its name, made safe, starts the folder's name.
    cache_dir : str or path-like, optional
        Default: the toolkit cache (``TOOLKIT_CACHE_DIR``, else the user cache folder).

    Returns
    -------
    pathlib.Path
    """
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


def _read(src, fmt, limit, unicode_errors, vectors_path=None, progress=False, duplicates="error", dropped=None):
    """Parse a text/binary file: (words, key_to_index, vectors or npy path, declared).

    ``dropped`` (a list) receives the record of the rows of repeated words
    dropped (``duplicates="first"``: :func:`toolkit.vectors._parse.without_repeats`).
    """
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(desc=f"Loading {src.path.name}", unit=" vectors", unit_scale=True, total=limit)
    kwargs = {"limit": limit, "unicode_errors": unicode_errors, "vectors_path": vectors_path,
              "on_rows": None if bar is None else bar.update, "duplicates": duplicates, "dropped": dropped}
    try:
        if fmt == "glove":
            read = _parse.read_text(src, header=False, **kwargs)
        elif fmt == "word2vec-text":
            read = _parse.read_text(src, header=True, **kwargs)
        else:
            read = _parse.read_binary(src, **kwargs)
        if bar is not None and bar.total != bar.n:  # a limit past the end of the file: "3/10", stopped at 30%
            bar.total = bar.n
            bar.refresh()
        return read
    finally:
        if bar is not None:
            bar.close()


def _load_fasttext_bin(src, limit, workdir: Path):
    from gensim.models.fasttext import load_facebook_vectors

    path = src.path
    container = _parse.sniff_container(path)
    if container == "zip":
        member = _parse.zip_member(src)
        with zipfile.ZipFile(path) as zf, zf.open(member) as fin, open(workdir / "model.bin", "wb") as fout:
            shutil.copyfileobj(fin, fout, 1 << 20)
        path = workdir / "model.bin"
    elif container != "plain":
        # decompressed here: gensim 4.4 reads a gzip model (fastText's own cc.*.bin.gz) into garbage vectors
        # (its gzip path misreads the matrices), and does not decompress one whose name lacks .gz at all
        with open(workdir / "model.bin", "wb") as fout:
            fout.writelines(_parse.iter_chunks(src))
        path = workdir / "model.bin"
    _parse.check_fasttext_bin(src, path)  # a truncated model would hang gensim's reader
    try:
        kv = load_facebook_vectors(str(path))  # whole, whatever the limit (load_vectors says so)
    except (ValueError, EOFError, OSError, AssertionError, NotImplementedError, UnicodeDecodeError, struct.error,
            OverflowError, MemoryError) as err:
        raise src.error(
            None,
            f"cannot be read as a fastText .bin model ({type(err).__name__}: {err})",
            "Check that it is a complete fastText model (download it again), or load its .vec text instead",
        ) from err
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
            "Check that it was saved by gensim's KeyedVectors.save, and that the .npy files saved next to it "
            "are present",
        ) from err
    wv = _model_vectors(kv)
    if wv is not None:  # Word2Vec.save / FastText.save: the model's word vectors
        logger.info("%s holds a %s model; using its word vectors (.wv)", src.name, type(kv).__name__)
        kv = wv
    if not hasattr(kv, "key_to_index") or not hasattr(kv, "vectors"):
        raise src.error(None, f"holds a {type(kv).__name__}, not KeyedVectors", "Save model.wv instead of the model")
    return _first_rows(kv, limit, src.name)


def _model_vectors(obj):
    """The word vectors (``.wv``) of a gensim model such as Word2Vec or FastText, else None."""
    from gensim.models import KeyedVectors

    if isinstance(obj, KeyedVectors):
        return None
    wv = getattr(obj, "wv", None)
    if not isinstance(wv, KeyedVectors):
        return None
    if getattr(obj, "dm", 1) == 0 and not getattr(obj, "dbow_words", 0):  # Doc2Vec(dm=0): PV-DBOW
        raise DataError(
            f"This {type(obj).__name__} model (dm=0, dbow_words=0) never trained its word vectors: .wv holds "
            "their random initial values. Train it with dbow_words=1 (or dm=1) to get word vectors, or use "
            "other word vectors."
        )
    return wv


def _first_rows(kv, limit, name):
    """The first ``limit`` vectors of ``kv`` (a new KeyedVectors), or ``kv`` itself.

    fastText vectors are kept whole, as for a ``.bin`` model: their subword
    vectors (the vectors of words outside the vocabulary) would be lost.
    """
    if limit is None or limit >= len(kv):
        return kv
    if hasattr(kv, "vectors_ngrams"):
        logger.info("limit=%d ignored for the fastText vectors of %s (%d words): cutting them would lose the "
                    "subword vectors of every other word", limit, name, len(kv))
        return kv
    words = list(kv.index_to_key[:limit])
    out = _make_kv(words, {w: i for i, w in enumerate(words)}, np.array(kv.vectors[:limit]), limit)
    for attr, values in getattr(kv, "expandos", {}).items():  # gensim's word counts, among others
        if getattr(values, "ndim", 0) == 1 and len(values) == len(kv):
            out.expandos[attr] = np.array(values[:limit])
    return out


# ----------------------------------------------------------------------------- the cache: arrays + JSON, no pickle
#
# An entry is a folder holding
#   header.json   what the entry holds: class, shapes, dtypes, parameters, and the SHA-256 and size of every file
#   keys.txt      the words, UTF-8, one per line (keys.json, a JSON list, when a word holds a newline)
#   <name>.npy    the arrays (vectors; fastText's vectors_vocab and vectors_ngrams; expandos such as count),
#                 read with np.load(allow_pickle=False, mmap_mode="r")
# Nothing in it can run code when read. Every load checks the header, the sizes, the .npy headers and the keys'
# SHA-256; an array file is hashed again unless it is still the very file the header recorded (same inode, size,
# modification and change times: a write, copy or replacement changes them), so an untouched multi-GB entry is
# not read in full on every load. An entry that fails any check is logged, moved aside and rebuilt.

_HEADER = "header.json"
_MAGIC = "toolkit-vectors-cache"
_ARRAYS = ("vectors", "vectors_vocab", "vectors_ngrams")


class _DamagedEntry(Exception):
    """A cache entry that fails a check (read as: rebuild it)."""


def _sha256(data) -> str:
    return hashlib.sha256(data).hexdigest()


def _file_record(path: Path) -> dict:
    from .._hashing import hash_file

    return {"file": path.name, "bytes": path.stat().st_size, "sha256": hash_file(path)}


def _stat_id(path: Path) -> list:
    """What identifies a file's content without reading it: inode, size, modification and change times."""
    from .._fileid import stat_id

    return stat_id(path)


def _array_record(path: Path) -> dict:
    arr = np.load(path, mmap_mode="r", allow_pickle=False)
    return {**_file_record(path), "shape": list(arr.shape), "dtype": arr.dtype.str, "stat": _stat_id(path)}


def write_entry(kv, folder, *, meta=None, written=None) -> dict:
    """Write ``kv`` into the (new, empty) cache folder ``folder``: arrays, keys and a verified header.

    Parameters
    ----------
    kv : KeyedVectors or FastTextKeyedVectors
        Its keys must be ``str``.
    folder : path-like
        An existing folder, normally a temporary one that the caller renames
        into place (see :func:`read_entry`).
    meta : dict, optional
        JSON-serialisable facts stored in the header (source, format...).
    written : dict of str to path, optional
        Arrays already written as ``.npy`` files inside ``folder`` (e.g. the
        vectors streamed there by the parser); they are hashed, not rewritten.

    Returns
    -------
    dict
        The header.
    """
    folder = Path(folder)
    written = dict(written or {})
    keys = kv.index_to_key
    bad = next((k for k in keys if not isinstance(k, str)), None)
    if bad is not None:
        raise TypeError(f"The vectors cache stores str keys only; got the key {bad!r} ({type(bad).__name__}).")
    if any("\n" in k for k in keys):
        name, encoding, blob = "keys.json", "json", json.dumps(list(keys), ensure_ascii=False)
    else:
        name, encoding, blob = "keys.txt", "lines", "\n".join(keys)
    data = blob.encode("utf-8", "surrogatepass")
    (folder / name).write_bytes(data)
    arrays = {}
    for attr in _ARRAYS:
        arr = getattr(kv, attr, None)
        if attr in written:
            path = Path(written.pop(attr))
        elif arr is not None:
            path = folder / f"{attr}.npy"
            np.save(path, np.ascontiguousarray(arr), allow_pickle=False)
        else:
            continue
        arrays[attr] = _array_record(path)
    expandos = {}
    for attr, arr in getattr(kv, "expandos", {}).items():
        arr = np.asarray(arr)
        if arr.dtype.hasobject or arr.ndim != 1 or len(arr) != len(keys):
            logger.info("Not caching the %r attribute of the vectors (%s)", attr, arr.dtype)
            continue
        path = folder / f"expando-{len(expandos)}.npy"
        np.save(path, arr, allow_pickle=False)
        expandos[attr] = _array_record(path)
    fasttext = None
    if hasattr(kv, "vectors_ngrams"):
        fasttext = {"min_n": int(kv.min_n), "max_n": int(kv.max_n), "bucket": int(kv.bucket)}
    header = {
        "magic": _MAGIC,
        "version": _CACHE_VERSION,
        "class": "FastTextKeyedVectors" if fasttext else "KeyedVectors",
        "n": len(keys),
        "dim": int(kv.vector_size),
        "keys": {"file": name, "encoding": encoding, "bytes": len(data), "sha256": _sha256(data)},
        "arrays": arrays,
        "expandos": expandos,
        "fasttext": fasttext,
        "meta": meta or {},
    }
    (folder / _HEADER).write_text(json.dumps(header, indent=1), encoding="utf-8")
    return header


def _located(folder: Path, record) -> Path:
    """The file a header record names, after checking its name and size (the digest is checked apart)."""
    if not isinstance(record, dict) or not isinstance(record.get("file"), str):
        raise _DamagedEntry("a file record of the header is malformed")
    name = record["file"]
    if Path(name).name != name or name.startswith("."):
        raise _DamagedEntry(f"the header names the file {name!r} outside the entry")
    path = folder / name
    try:
        size = path.stat().st_size
    except OSError as err:
        raise _DamagedEntry(f"{name} is missing ({err})") from None
    if size != record.get("bytes"):
        raise _DamagedEntry(f"{name} has {size} bytes, the header says {record.get('bytes')}")
    return path


class _Digests:
    """SHA-256 of an entry's array files, computed in a background thread while the keys are decoded.

    hashlib and file reads release the GIL, so on a multi-core machine the
    check costs almost no wall time; :meth:`verify` waits and compares.
    """

    def __init__(self, jobs):
        self.jobs = jobs  # [(path, expected sha256)]
        self.found: dict = {}
        self.thread = threading.Thread(target=self._run, name="toolkit-vectors-cache-check", daemon=True)
        if jobs:
            self.thread.start()

    def join(self):
        if self.jobs:
            self.thread.join()

    def _run(self):
        from .._hashing import hash_file

        for path, _ in self.jobs:
            try:
                self.found[path] = hash_file(path)
            except OSError as err:
                self.found[path] = err

    def verify(self):
        self.join()
        for path, expected in self.jobs:
            if self.found.get(path) != expected:
                raise _DamagedEntry(f"the SHA-256 of {path.name} differs from the header's")


def _checked_array(path: Path, record, rows: int, mmap: bool = True):
    try:
        arr = np.load(str(path), mmap_mode="r" if mmap else None, allow_pickle=False)  # str: memmap.filename as gensim
    except (ValueError, OSError, EOFError) as err:  # an object array is refused here, never unpickled
        raise _DamagedEntry(f"{path.name} is not a plain .npy array ({err})") from None
    if list(arr.shape) != record.get("shape") or arr.dtype.str != record.get("dtype") or arr.dtype.hasobject:
        raise _DamagedEntry(f"{path.name} holds {arr.dtype.str} {list(arr.shape)}, not what the header says")
    if rows is not None and (arr.ndim < 1 or arr.shape[0] != rows):
        raise _DamagedEntry(f"{path.name} has {arr.shape[0] if arr.ndim else 0} rows for {rows} keys")
    return arr


def read_entry(folder):
    """Open a cache entry written by :func:`write_entry`, checking every file against its header.

    The vectors are memory-mapped read-only (``mmap_mode="r"``), so processes
    share one copy. Nothing is unpickled: the arrays are read with
    ``allow_pickle=False`` and the keys are plain text or JSON. The keys'
    SHA-256 is checked on every read; an array's is checked whenever its
    file is not the one the header recorded (inode, size, modification or
    change time differ), which catches any write, copy or replacement since.

    Parameters
    ----------
    folder : path-like

    Returns
    -------
    KeyedVectors or FastTextKeyedVectors

    Raises
    ------
    toolkit.exceptions.DataError
        The entry is damaged or was not written by this version: a header
        field, a size or a SHA-256 disagrees. (:func:`load_vectors` then
        rebuilds the entry from the source file.)
    """
    folder = Path(folder)
    try:
        return _read_entry(folder)
    except _DamagedEntry as err:
        raise DataError(f"The vectors cache entry {folder} is damaged: {err}. Delete it to rebuild it.") from None


def _read_entry(folder: Path):
    try:
        header = json.loads((folder / _HEADER).read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise _DamagedEntry(f"{_HEADER} is missing or not JSON ({err})") from None
    if not isinstance(header, dict) or header.get("magic") != _MAGIC or header.get("version") != _CACHE_VERSION:
        raise _DamagedEntry(f"{_HEADER} is not a version-{_CACHE_VERSION} toolkit vectors header")
    n, dim = header.get("n"), header.get("dim")
    if not (isinstance(n, int) and isinstance(dim, int) and n >= 0 and 1 <= dim <= _parse.MAX_DIM):
        raise _DamagedEntry(f"{_HEADER} gives {n!r} keys of dimension {dim!r}")
    arrays, expandos = header.get("arrays"), header.get("expandos") or {}
    if not isinstance(arrays, dict) or "vectors" not in arrays or set(arrays) - set(_ARRAYS):
        raise _DamagedEntry(f"{_HEADER} lists the arrays {sorted(arrays) if isinstance(arrays, dict) else arrays!r}")
    if not isinstance(expandos, dict):
        raise _DamagedEntry(f"{_HEADER} lists the expandos {expandos!r}")
    records = [*arrays.items(), *expandos.items()]
    paths = {attr: _located(folder, rec) for attr, rec in records}
    # an array file is hashed again unless it is, by inode, size and times, the very file the header recorded:
    # any write, copy or replacement since (even one that restores the modification time) changes one of them
    digests = _Digests([(paths[attr], rec.get("sha256")) for attr, rec in records
                        if _stat_id(paths[attr]) != rec.get("stat")])
    try:
        words, key_to_index = _read_keys(folder, header.get("keys"), n)
        loaded = {}
        for attr, record in arrays.items():
            arr = _checked_array(paths[attr], record, None if attr == "vectors_ngrams" else n)
            if arr.ndim != 2 or arr.shape[1] != dim or arr.dtype != np.float32:
                raise _DamagedEntry(f"{record['file']} is {arr.dtype} {arr.shape}, not float32 vectors of dimension {dim}")
            loaded[attr] = arr
        extra = {attr: np.array(_checked_array(paths[attr], rec, n, mmap=False)) for attr, rec in expandos.items()}
        _mend_counts(header.get("meta"), extra, n)
        kv = _new_kv(header, dim, loaded)
    except BaseException:
        digests.join()
        raise
    digests.verify()
    kv.index_to_key = words
    kv.key_to_index = key_to_index
    kv.next_index = n
    kv.vectors = loaded["vectors"]
    kv.expandos = extra
    if header.get("fasttext"):
        kv.recalc_char_ngram_buckets()
    _ENTRY_OF[kv] = folder
    return kv


def _mend_counts(meta, expandos: dict, n: int) -> None:
    """Mend, in ``expandos``, the gensim ``count`` of an entry of GloVe text read with a ``limit`` past its end.

    Before session 48 such a parse counted down from ``limit`` itself
    (``limit=10`` of a 3-line file: 10, 9, 8; gensim gives 3, 2, 1); the
    entries it wrote are still read (their key is unchanged). Entries made
    with ``duplicates="first"`` are left as they are: their dropped lines
    count, and their number is not recorded.
    """
    counts = expandos.get("count")
    if not isinstance(meta, dict) or meta.get("format") != "glove" or "duplicates" in meta or counts is None:
        return
    limit = meta.get("limit")
    if isinstance(limit, int) and 0 < n < limit and counts.ndim == 1 and len(counts) == n and counts[0] == limit:
        expandos["count"] = np.arange(n, 0, -1, dtype=counts.dtype)


def entry_folder(kv) -> Path | None:
    """The cache entry folder ``kv`` was read from, or None.

    Vectors loaded through the cache (:func:`load_vectors`, domain vectors)
    are read from an entry (:func:`read_entry`) named by their source (the
    file's path, size and modification time, and the load options; a domain
    spec and its texts), so the folder stands for exactly these vectors on
    this machine: an estimator that needs
    them again after ``fit`` (the subword vectors of fastText, at transform)
    keeps this path, never the vectors, and opens it memory-mapped.

    Parameters
    ----------
    kv : KeyedVectors

    Returns
    -------
    pathlib.Path or None
        None for vectors that did not come from an entry (built in memory,
        a native gensim file, or loaded where the cache was not writable).
    """
    try:
        return _ENTRY_OF.get(kv)
    except TypeError:  # not weak-referenceable: never read from an entry
        return None


#: {vectors: their casing index (_casing_index)} of the fastText vectors re-opened at transform
#: (open_subwords), so a transform call does not scan all of their words (0.18 s for 2 million);
#: forgotten with the vectors
_CASING_INDEX: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _casing_index(kv) -> dict:
    """``{low: j}`` for each lower-cased form of ``kv``'s words that is not itself a key: ``j`` the first key
    that lower-cases to it (what :func:`~toolkit.vectors.matrix._first_casings` finds for it, in one pass for all of them).

    Every lower-cased form the matching asks about is not a key (a token
    found as is or lower-cased never gets there), so these are all it needs.
    """
    k2i = kv.key_to_index
    index: dict = {}
    for j, key in enumerate(kv.index_to_key):
        if not isinstance(key, str):
            continue
        low = key.lower()
        if low != key and low not in k2i and low not in index:
            index[low] = j
    return index


def _remember_casings(kv):
    """Build and keep ``kv``'s :func:`_casing_index` (for vectors used again and again at transform); ``kv``."""
    try:
        _CASING_INDEX[kv] = _casing_index(kv)
    except TypeError:  # not weak-referenceable: the scans of _first_casings, as for any other vectors
        pass
    return kv


def _kept_casings(kv) -> dict | None:
    """The casing index :func:`_remember_casings` kept for ``kv``, or None."""
    try:
        return _CASING_INDEX.get(kv)
    except TypeError:  # not weak-referenceable
        return None


#: fastText vectors re-opened after fit (tokens first seen at transform), by cache entry folder
_SUBWORDS = Memo(maxsize=2)
_SUBWORDS_WARNED: set = set()


def subword_entry(kv) -> str | None:
    """The cache entry folder of fastText vectors that carry subword vectors, for an estimator to keep.

    Parameters
    ----------
    kv : KeyedVectors
        The vectors an estimator was fitted with.

    Returns
    -------
    str or None
        The folder (:func:`entry_folder`) where ``kv`` has subword n-gram
        vectors, else None (other vectors; fastText vectors held in memory,
        with an INFO log line).
    """
    if not (getattr(kv, "bucket", 0) and hasattr(kv, "vectors_ngrams")):
        return None
    folder = entry_folder(kv)
    if folder is None:
        logger.info("these fastText vectors come from no cache entry (held in memory, or the cache is not "
                    "writable): tokens first seen at transform will get no vector from their subwords")
        return None
    return str(folder)


def _relocated_entry(folder) -> Path | None:
    """The cache entry ``folder`` where it is now: as recorded at fit, else the entry of the same name in this
    process' cache folder (a cache moved, or a Dask worker or another machine whose ``TOOLKIT_CACHE_DIR`` differs
    and holds the same vectors: read_entry checks its content), else None."""
    path = Path(folder)
    if path.is_dir():
        return path
    here = get_cache_dir() / path.parent.name / path.name
    return here if here.is_dir() else None


def open_subwords(folder, *, owner: str, switch: str = "subwords=False"):
    """The fastText vectors of the cache entry ``folder`` (memory-mapped, once per process), or None.

    Parameters
    ----------
    folder : str
        What :func:`subword_entry` gave at fit.
    owner : str
        The estimator, named in the warning.
    switch : str, default="subwords=False"
        The owner's setting that turns the use of subwords off, named in the
        warning (``EmbeddingClassifier``'s is ``oov='unknown'``).

    Returns
    -------
    FastTextKeyedVectors or None
        None where the entry is gone or damaged (cache cleared, another
        machine): a warning, once per folder and process.
    """
    entry = _relocated_entry(folder)
    try:
        # the entry's header's stat id: an entry built again under the same name (its .bin rewritten with the
        # size and mtime put back: _source_changed) is read again, not served from the memo as it was
        header = None if entry is None else [str(entry), *_stat_id(entry / _HEADER)]
    except OSError:
        header = None  # (read_entry says what is wrong)

    def opened():
        if entry is None:  # (read_entry would call it damaged, and say to delete it)
            raise FileNotFoundError(f"its cache entry {folder} no longer exists: the cache was cleared or moved, "
                                    "or this is another machine")
        return header, _remember_casings(read_entry(entry))  # with their casing index: matched at every transform

    try:
        seen, kv = _SUBWORDS.get_or_make(folder, opened)
        if header is not None and seen != header:  # (held vectors of an entry removed since are still served)
            seen, kv = opened()
            _SUBWORDS.put(folder, (seen, kv))
        return kv
    except (DataError, OSError) as err:
        if folder not in _SUBWORDS_WARNED:
            _SUBWORDS_WARNED.add(folder)
            logger.warning("%s cannot open the fastText vectors it was fitted with (%s): tokens first seen at "
                           "transform get no vector from their subwords. Fit again where the vectors are, or set "
                           "%s (set_params, no refit needed) to silence this.", owner, err, switch)
        return None


def _read_keys(folder: Path, record, n: int):
    """The words and ``{word: index}`` of an entry, after checking the keys file's size and SHA-256."""
    data = _located(folder, record).read_bytes()
    if _sha256(data) != record.get("sha256"):
        raise _DamagedEntry(f"the SHA-256 of {record['file']} differs from the header's")
    try:
        text = data.decode("utf-8", "surrogatepass")
        if record.get("encoding") == "lines":
            words = text.split("\n") if n else []
        elif record.get("encoding") == "json":
            words = json.loads(text)
        else:
            raise ValueError(f"unknown key encoding {record.get('encoding')!r}")
    except ValueError as err:
        raise _DamagedEntry(f"the keys cannot be read ({err})") from None
    if not isinstance(words, list) or len(words) != n or not all(isinstance(w, str) for w in words[:1]):
        raise _DamagedEntry(f"{record['file']} holds {len(words)} keys, the header says {n}")
    key_to_index = dict(zip(words, range(n)))
    if len(key_to_index) != n:
        raise _DamagedEntry("a key appears twice")
    return words, key_to_index


def _new_kv(header: dict, dim: int, loaded: dict):
    """An empty KeyedVectors (or FastTextKeyedVectors with its subword arrays) for an entry."""
    fasttext = header.get("fasttext")
    if header.get("class") == "FastTextKeyedVectors":
        from gensim.models.fasttext import FastTextKeyedVectors

        if not isinstance(fasttext, dict) or {"vectors_vocab", "vectors_ngrams"} - set(loaded):
            raise _DamagedEntry("a fastText entry lacks its subword data")
        try:
            kv = FastTextKeyedVectors(dim, int(fasttext["min_n"]), int(fasttext["max_n"]), int(fasttext["bucket"]),
                                      count=0, dtype=np.float32)
        except (KeyError, TypeError, ValueError) as err:
            raise _DamagedEntry(f"the fastText parameters are malformed ({err})") from None
        if loaded["vectors_ngrams"].shape[0] != kv.bucket:
            raise _DamagedEntry("vectors_ngrams does not have one row per bucket")
        kv.vectors_vocab = loaded["vectors_vocab"]
        kv.vectors_ngrams = loaded["vectors_ngrams"]
        kv.vectors_vocab_lockf = np.ones(1, dtype=np.float32)  # as gensim's own load sets them
        kv.vectors_ngrams_lockf = np.ones(1, dtype=np.float32)
        return kv
    if header.get("class") == "KeyedVectors" and not fasttext:
        from gensim.models import KeyedVectors

        return KeyedVectors(dim, count=0, dtype=np.float32)
    raise _DamagedEntry(f"unknown class {header.get('class')!r}")


def _make_entry(final: Path, fill):
    """Create the cache entry ``final`` atomically: ``fill(tmp)`` writes into a temporary folder beside it.

    Returns ``fill``'s result, or None when another process created ``final`` first (then use that one).
    """
    final.parent.mkdir(parents=True, exist_ok=True)
    # debris of killed loads of any entry (the one sweep, shared with atomic_output): the entry a killed load
    # was writing is built again at once, before its debris is stale, and never again after that
    remove_stale(final.parent, ".*.tmp")
    tmp = Path(tempfile.mkdtemp(dir=final.parent, prefix=f".{final.name}.", suffix=".tmp"))
    try:
        result = fill(tmp)
        os.chmod(tmp, 0o755)  # mkdtemp makes it private; the cache is shared like any cache folder
        try:
            os.rename(tmp, final)
        except OSError:
            if not (final / _HEADER).exists():
                raise
            logger.info("Another process created %s first; using it", final)
            shutil.rmtree(tmp, ignore_errors=True)
            return None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return result


def _build_entry(src, fmt, limit, unicode_errors, final: Path, progress=False, identity=None, duplicates="error"):
    """Parse the source into a new cache entry ``final``; returns its KeyedVectors, mapped from the entry.

    ``identity`` (:func:`_identity` of the source) is kept in the header's
    ``meta``, for :func:`_sweep_changed_source`.
    """
    meta = {"source": src.name, "format": fmt, "limit": limit, "unicode_errors": unicode_errors}
    if identity is not None:
        meta["identity"] = identity
        meta["source_stat"], meta["source_sha256"] = _source_fingerprint(src.path)  # for _source_changed
    if fmt in _PARSED:
        meta["parser"] = _PARSER_VERSION  # what _sweep_superseded tells older entries by
        if duplicates != "error":
            meta["duplicates"] = duplicates

    def fill(tmp: Path):
        if fmt == "fasttext-bin":
            kv = _load_fasttext_bin(src, limit, tmp)
            (tmp / "model.bin").unlink(missing_ok=True)
            write_entry(kv, tmp, meta=meta)
            return None  # read back below: its arrays then come mapped from the entry
        npy = tmp / "vectors.npy"
        dropped = []
        words, k2i, npy, declared = _read(src, fmt, limit, unicode_errors, vectors_path=npy, progress=progress,
                                          duplicates=duplicates, dropped=dropped)
        if duplicates != "error":  # what a load from the entry warns of again (_warn_repeats); None: no repeat
            meta["repeats"] = dropped[0] if dropped else None
        kv = _make_kv(words, k2i, np.load(npy, mmap_mode="r", allow_pickle=False), declared)
        write_entry(kv, tmp, meta=meta, written={"vectors": npy})
        return kv

    kv = _make_entry(final, fill)
    if kv is None:
        return read_entry(final)
    kv.vectors = np.load(str(final / "vectors.npy"), mmap_mode="r", allow_pickle=False)  # parsed keys reused
    return kv


def _superseded(entry: Path) -> bool:
    """Whether the cache entry ``entry`` was written by an earlier toolkit, so that no load reads it again.

    An older layout (``version``), or a text or binary file parsed by an
    earlier parser (:data:`_PARSER_VERSION`: their keys changed). A folder
    that is no entry, a damaged one (rebuilt where it is read) and one of a
    later toolkit sharing the cache are not.
    """
    try:
        header = json.loads((entry / _HEADER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if not isinstance(header, dict) or header.get("magic") != _MAGIC or not isinstance(header.get("version"), int):
        return False
    if header["version"] != _CACHE_VERSION:
        return header["version"] < _CACHE_VERSION
    meta = header.get("meta")
    if not isinstance(meta, dict) or meta.get("format") not in _PARSED:
        return False
    parser = meta.get("parser", 1)  # entries of the first parser carry none
    return isinstance(parser, int) and parser < _PARSER_VERSION


def _sweep_superseded(folder: Path, *, max_age: float = STALE_SECONDS) -> int:
    """Remove the entries of the cache folder ``folder`` that an earlier toolkit wrote (:func:`_superseded`).

    Their keys are never asked for again, so they would take their disk
    space forever. Run when a new entry is built (rare: after an upgrade,
    once per file). Only entries written ``max_age`` seconds ago or more go:
    an older toolkit sharing the cache may be reading a fresh one.

    Returns
    -------
    int
        How many entries were removed.
    """
    removed, now = 0, time.time()
    try:
        entries = [e for e in folder.iterdir() if not e.name.startswith(".")]
    except OSError:
        return 0
    for entry in entries:
        try:
            if now - (entry / _HEADER).stat().st_mtime < max_age or not _superseded(entry):
                continue
            trash = folder / f".{entry.name}.{uuid.uuid4().hex[:8]}.tmp"
            os.rename(entry, trash)  # out of the way at once: a reader finds it gone, not half deleted
        except OSError:
            continue
        shutil.rmtree(trash, ignore_errors=True)
        removed += 1
    if removed:
        logger.info("Removed %d vectors cache entr%s written by an earlier version of the toolkit from %s",
                    removed, "y" if removed == 1 else "ies", folder)
    return removed


def _sweep_changed_source(final: Path, identity: dict) -> int:
    """Remove the cache entries of the earlier contents of the file that ``final``'s entry is built from.

    An entry's key hashes its file's identity (path, size, modification
    time): a file written again (domain vectors retrained to the same path, a
    new download) gets a new entry, and the entries of its earlier contents
    are never read again. Without this they stayed, each a full copy of the
    vectors, for as long as the cache did. Entries of the same contents with
    other options (``limit``, ``unicode_errors``), of other files, made
    before entries recorded their file's identity, or holding fastText
    subword vectors (a fitted estimator may reopen those: ``subword_vectors_``)
    are kept.

    Returns
    -------
    int
        How many entries were removed.
    """
    stem = final.name.rsplit("-", 1)[0]
    removed = 0
    try:
        entries = [e for e in final.parent.iterdir()
                   if e != final and e.name.rsplit("-", 1)[0] == stem and not e.name.startswith(".")]
    except OSError:
        return 0
    for entry in entries:
        try:
            header = json.loads((entry / _HEADER).read_text(encoding="utf-8"))
            earlier = header["meta"]["identity"]
            if (header.get("magic") != _MAGIC or header.get("fasttext") is not None
                    or (earlier["path"], earlier["member"]) != (identity["path"], identity["member"])
                    or (earlier["size"], earlier["mtime_ns"]) == (identity["size"], identity["mtime_ns"])):
                continue
            trash = entry.parent / f".{entry.name}.{uuid.uuid4().hex[:8]}.tmp"
            os.rename(entry, trash)  # out of the way at once: a reader finds it gone, not half deleted
        except (OSError, ValueError, KeyError, TypeError):
            continue
        shutil.rmtree(trash, ignore_errors=True)
        removed += 1
    if removed:
        logger.info("Removed %d vectors cache entr%s of earlier contents of %s", removed,
                    "y" if removed == 1 else "ies", identity["path"])
    return removed


def _source_fingerprint(path: Path):
    """What an entry records of its source file for :func:`_source_changed`: its :func:`_stat_id`, its SHA-256."""
    from .._fileid import fingerprint

    return fingerprint(path)  # (stat None: written to meanwhile, no stat to trust)


def _source_changed(final: Path, path: Path, *, rebuildable: bool = True) -> str | None:
    """Why the entry ``final`` no longer holds the contents of its source file ``path``, or None.

    The entry's name keys the file's path, size and modification time
    (:func:`_identity`), which a rewrite that puts the time back keeps
    (``cp -p`` or ``rsync -t`` onto it, a tar extraction, ``os.utime``): such
    an entry was served stale. Where the file is not the one the entry
    recorded (inode or change time differ: that rewrite, a ``chmod``, a copy
    staged to this machine), its SHA-256 is compared with the recorded one,
    once per such file: a mark in the entry (``.source-<stat>``) remembers
    the files found the same. An entry of an earlier toolkit (no SHA-256
    recorded) cannot be checked: it is built again, once, where the cache
    can be written (``rebuildable``), else read as before.
    """
    try:
        meta = json.loads((final / _HEADER).read_text(encoding="utf-8"))["meta"]
        recorded, digest = meta.get("source_stat"), meta.get("source_sha256")
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None  # no header, or a damaged one: _read_entry says so
    current = _stat_id(path)
    if current == recorded:
        return None
    if not isinstance(digest, str):
        if not rebuildable:  # a read-only cache: the entry, rather than a parse into memory on every load
            return None
        return "an earlier toolkit made it without the SHA-256 of the file, which tells a rewrite apart"
    mark = final / f".source-{_sha256(json.dumps(current).encode())[:16]}"
    if mark.exists():
        return None
    from .._fileid import same_content

    if not same_content(path, recorded, digest, current):
        return ("the file was written again with the same size and modification time (cp -p, rsync -t or tar "
                "onto it), and its content differs")
    try:
        mark.touch()
    except OSError:  # a read-only cache: hashed again on the next load
        pass
    return None


def _load_cached(src, fmt, limit, unicode_errors, final: Path, progress=False, identity=None, duplicates="error"):
    """The entry ``final``, read, or built from ``src`` by one process while the others wait (``build_once``).

    Processes that start together on one cache (a job array, two terminals)
    used to parse the same file each into a temporary entry of its own: N
    times the work and N times the entry's size on the cache's disk at once.
    """
    from ..data._download import build_once

    writable = nearest_existing_parent(final.parent.parent / "locks" / "x")
    writable = writable.is_dir() and os.access(writable, os.W_OK)

    def read():
        changed = None if identity is None else _source_changed(final, src.path, rebuildable=writable)
        if changed is None:
            try:
                kv = _read_entry(final)
            except _DamagedEntry as err:  # never trusted, never executed: moved aside and rebuilt
                logger.warning("The vectors cache entry %s is damaged (%s); rebuilding it from %s", final, err,
                               src.name)
            else:
                _warn_repeats(final, src.name)  # the parse that built it warned; this load reads no line
                return kv
        else:  # the stale entry of earlier contents: moved aside (a process mapping it keeps its files) and rebuilt
            logger.info("Rebuilding the vectors cache entry %s of %s: %s", final, src.name, changed)
        trash = final.parent / f".{final.name}.{uuid.uuid4().hex[:8]}.tmp"
        try:
            os.rename(final, trash)
        except OSError:
            pass
        shutil.rmtree(trash, ignore_errors=True)
        return None

    def build():
        _sweep_superseded(final.parent)  # entries of earlier parses of this file (or others), never read again
        if identity is not None:
            _sweep_changed_source(final, identity)  # entries of this file's earlier contents, never read again
        logger.info("Loading %s (%s) into the cache %s", src.name, fmt, final)
        return _build_entry(src, fmt, limit, unicode_errors, final, progress=progress, identity=identity,
                            duplicates=duplicates)

    if not writable:
        kv = read() if final.exists() else None  # a read-only cache: no lock to take (nor any entry to write)
        return kv if kv is not None else build()
    kv, _ = build_once(final, f"vectors-{final.name}", read=read, build=build,
                       purpose=f"writing the vectors cache entry of {src.name}")
    return kv


def _warn_repeats(entry: Path, name: str) -> None:
    """Warn, as the parse that built the cache entry ``entry`` did, of the rows of repeated words it dropped.

    Entries built with ``duplicates="first"`` record them in their header's
    ``meta`` (``"repeats"``: :func:`toolkit.vectors._parse.warn_repeats`'
    record, or None where no word was repeated); a load from the entry used
    to be silent, so whoever loaded the vectors from the cache never learned
    that the file repeats words. Entries of earlier toolkits record nothing.
    """
    try:
        record = json.loads((entry / _HEADER).read_text(encoding="utf-8"))["meta"].get("repeats")
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return
    if isinstance(record, dict) and {"rows", "word", "unit", "at", "first"} <= set(record):
        _parse.warn_repeats(name, record, cached=True)


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
    duplicates="error",
):
    """Load word vectors from a file or a data manifest into gensim ``KeyedVectors``.

    Parameters
    ----------
    source : str, path-like, KeyedVectors or gensim model
        A vectors file (a file inside a zip archive as a path through it:
        ``"glove.6B.zip/glove.6B.100d.txt"``), or a manifest name such as ``"glove.6B.50d"`` (found
        in the offline data folder, the cache, or downloaded and verified:
        :func:`toolkit.data.datasets.fetch`). A ``KeyedVectors`` is returned as is
        (its first ``limit`` rows, with ``limit``); a trained gensim model
        (``Word2Vec``, ``FastText``, ``Doc2Vec``) gives its word vectors,
        ``model.wv`` (fastText's subword vectors included).
    format : {"auto", "glove", "word2vec", "word2vec-text", "word2vec-binary", \
"fasttext", "fasttext-bin", "native"}, default="auto"
        ``"auto"`` sniffs the content: a fastText ``.bin`` magic number, a
        ``<count> <dim>`` header line (word2vec / fastText ``.vec``; text or
        binary after it) or none (GloVe). Compression (gzip, bz2, xz, zip) is
        always detected from the bytes, not the name. ``"native"`` is gensim's
        ``KeyedVectors.save`` format, a pickle: loading it can run any code
        the file holds, so it is read only when named here, and only files
        you made or trust should be. ``"auto"`` refuses a pickle.

        Text lines are ``<word> <value> ... <value>``; a word may contain
        spaces (``glove.840B.300d`` has some): the last ``dim`` fields are the
        vector and the rest is the word.
    limit : int, optional
        Read only the first ``limit`` vectors (the most frequent, in the
        usual files). fastText vectors with subword vectors (a ``.bin``
        model, a native ``FastTextKeyedVectors``) are kept whole, with an
        INFO log line: cutting them would lose every other word's vector.
    member : str, optional
        The file to read inside a ``.zip`` holding several (e.g.
        ``"glove.6B.100d.txt"`` in ``glove.6B.zip``); a manifest supplies it.
    cache : bool, default=True
        Keep a copy in the cache (a ``.npy`` array, the words as text and a
        JSON header with SHA-256 digests, checked against the files on every
        load) and
        memory-map it on later loads (all processes then share one copy of
        the vectors in memory). A damaged entry is rebuilt. When the cache
        cannot be written (read-only, full), a warning is logged and the
        vectors are loaded into memory.
    cache_dir, data_dir : path-like, optional
        Override ``TOOLKIT_CACHE_DIR`` / ``TOOLKIT_DATA_DIR``.
    unicode_errors : {"strict", "replace", "ignore"}, default="strict"
        What to do with words that are not valid UTF-8.
    progress : bool, default=False
        Show a progress bar while downloading and parsing.
    duplicates : {"error", "first"}, default="error"
        A word on two lines (records) of a text or binary file: refused, or
        with ``"first"`` its first vector is kept and its later lines are
        dropped, with a warning (gensim's ``load_word2vec_format`` keeps the
        first too, but leaves a phantom key ``None`` with a zero vector for
        each line dropped). ``glove.840B.300d.txt`` repeats one of its 2.2
        million words.
        A ``limit`` counts the lines read, dropped ones included.

    Returns
    -------
    gensim.models.KeyedVectors
        Shared through a process-level memo: later calls for the same vectors
        get the same object, whose arrays are read-only. Change a copy
        (``copy.deepcopy(kv)``); a shared object changed anyway (new words,
        a new ``kv.vectors``) is loaded again for the next call, with a
        warning, so the change never reaches another caller (an estimator's
        ``fit``).

    Raises
    ------
    VectorsNotFoundError
        The path does not exist and is no manifest name, or it is a folder.
    toolkit.exceptions.VectorsFormatError
        The file is malformed (the message names file, line and what to do),
        or it is a pickle and ``format`` is not ``"native"``.
    toolkit.exceptions.DataError
        ``source`` names a manifest of data that is not word vectors (``"imdb"``).
    TypeError
        ``source`` is not a path, a manifest name, a ``KeyedVectors`` or a
        gensim model with word vectors.

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
        duplicates=(duplicates, [Options({"error", "first"})]),
    )
    if limit is not None:
        limit = int(limit)  # a numpy integer (np.arange, a parameter grid) is no JSON for the cache key
    keyedvectors = sys.modules.get("gensim.models.keyedvectors")  # not imported yet: source cannot be one
    if keyedvectors is not None and not isinstance(source, (str, os.PathLike)):
        wv = _model_vectors(source)
        if wv is not None:  # Word2Vec(...) or FastText(...) itself, not its .wv
            source = wv
        if isinstance(source, keyedvectors.KeyedVectors):
            return _first_rows(source, limit, f"the {type(source).__name__} given")
    path, member, fmt = _resolve(source, format, member, data_dir, cache_dir, progress)
    src = _parse.Source(path, member)
    if _parse.sniff_container(path) == "zip":
        src.member = _parse.zip_member(src)  # the one asked for, or the only file inside
    elif member is not None:
        logger.info("member=%r ignored: %s is not a zip archive", member, path)
        src.member = None
    fmt = _sniff(src, fmt)
    asked = limit
    if fmt == "fasttext-bin":  # kept whole (said below): one cache entry and one memo entry for every limit, not a
        limit = None  # full copy of the model (gigabytes for cc.en.300.bin) per limit asked for
    identity = _identity(path, src.member)
    key = _key(identity, fmt, limit, unicode_errors, duplicates)

    def make():
        try:
            kv = _load(src, fmt, key, path, limit, unicode_errors, cache, cache_dir, progress, identity=identity,
                       duplicates=duplicates)
            if kv is None:  # the cache cannot be written (logged): load into memory
                kv = _load(src, fmt, key, path, limit, unicode_errors, False, cache_dir, progress,
                           duplicates=duplicates)
        except VectorsFormatError as err:
            message = _parse.template_of(err)  # its advice unworded, to be worded with the hint's
            hint = _format_hint(src, format, fmt, message)  # a format named by hand that the content contradicts
            if hint is None:
                raise
            raise _parse.worded_error(VectorsFormatError, f"{message} {hint}") from err
        logger.info("Loaded %d vectors of dimension %d from %s", len(kv), kv.vector_size, src.name)
        return kv

    # threads loading the same vectors at once (a grid search on joblib's threading backend, a server's
    # workers) wait for the first one: one parse or cache read, and one shared copy of the vectors. The memo
    # tells the file by inode and change time too: a rewrite that put the modification time back was
    # served from it (the entry is checked for it on a read: _source_changed)
    memo_key = f"{key}-{_sha256(json.dumps(_stat_id(path)).encode())[:12]}"
    kv = shared_vectors(_MEMO, memo_key, make, "load_vectors", src.name)
    if asked is not None and asked < len(kv) and fmt == "fasttext-bin":
        logger.info("limit=%d ignored for a fastText .bin model (its subword buckets need all words)", asked)
    return kv


def shared_vectors(memo, key, make, caller: str, name: str, *, restore=None):
    """``memo``'s KeyedVectors for ``key`` (made by ``make`` once), read-only, and made again when changed.

    The one object is returned to every call for these vectors: its arrays
    are made read-only (:func:`_seal`), and an object a caller changed
    anyway (new words, a new ``kv.vectors``: :func:`_change_since_load`) is
    made again for this call, with a warning naming ``caller`` and ``name``,
    so the edit never reaches another caller (an estimator's ``fit``).
    Vectors whose cache entry (:func:`entry_folder`) was removed since they
    were read (the cache cleared) still work, memory-mapped, but an
    estimator keeps that entry's path (fastText's subword vectors, reopened
    at transform): they are made again, by ``make`` or by ``restore(kv)``
    (which writes the held vectors to a new entry rather than building
    them again). Used by :func:`load_vectors` and
    :func:`toolkit.vectors.domain.domain_vectors`.
    """
    kv = memo.get_or_make(key, lambda: _seal(make()))
    change = _change_since_load(kv)
    if change is None:
        folder = entry_folder(kv)
        if folder is not None and not folder.is_dir():
            logger.info("The cache entry %s of %s was removed since it was read; %s", folder, name,
                        "making it again" if restore is None else "writing the vectors held to it again")
            kv = _seal(make() if restore is None else restore(kv))
            memo.put(key, kv)
        return kv
    logger.warning(
        "The KeyedVectors that %s returned earlier for %s has been changed since (%s); it is one object shared "
        "by every call for these vectors, so this call makes them again instead. To change vectors, change a "
        "copy: kv = copy.deepcopy(%s(...)).", caller, name, change, caller,
    )
    kv = _seal(make())
    memo.put(key, kv)
    return kv


#: {vectors: what they were when load_vectors made them} (:func:`_seal`), forgotten with the vectors
_AS_LOADED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _seal(kv):
    """Make the arrays of ``kv`` read-only and remember its state, for :func:`_change_since_load`; ``kv``.

    :func:`load_vectors` returns one object to every call (its memo): a
    caller's ``add_vectors``, ``unit_normalize_all`` or ``kv.vectors = ...``
    would otherwise reach every later call, an estimator's ``fit`` included.
    Vectors read from the cache are read-only memory maps already; those
    held in memory (``cache=False``, a native file's small arrays, a
    ``limit`` of a native file) are made read-only here, as gensim's own
    ``KeyedVectors.load(mmap="r")`` gives them.
    """
    for attr in _ARRAYS:
        arr = getattr(kv, attr, None)
        if isinstance(arr, np.ndarray) and arr.flags.writeable:
            arr.flags.writeable = False
    try:
        # the vectors by weak reference: replaced ones (kv.vectors = ...) are not kept alive for this check
        _AS_LOADED[kv] = (weakref.ref(kv.vectors), kv.index_to_key, kv.key_to_index, len(kv.index_to_key),
                          int(kv.vector_size))
    except TypeError:  # not weak-referenceable: nothing to check later
        pass
    return kv


def _change_since_load(kv) -> str | None:
    """How ``kv`` differs from what :func:`load_vectors` made (:func:`_seal`), or None (unchanged, or unknown)."""
    try:
        loaded = _AS_LOADED.get(kv)
    except TypeError:
        return None
    if loaded is None:
        return None
    vectors, index_to_key, key_to_index, n, dim = loaded
    if len(kv.index_to_key) != n or len(kv.key_to_index) != n:
        return f"its words: {len(kv.index_to_key)} now, {n} when loaded"
    if kv.index_to_key is not index_to_key or kv.key_to_index is not key_to_index:
        return "its words were replaced or reordered"
    if kv.vectors is not vectors() or int(kv.vector_size) != dim:
        return "its vectors array was replaced"
    if kv.vectors.flags.writeable:
        return "its vectors were made writable"
    return None


def _load(src, fmt, key, path, limit, unicode_errors, cache, cache_dir, progress, identity=None, duplicates="error"):
    """The vectors of ``src`` in the concrete format ``fmt``, or None when the cache cannot be written."""
    if fmt == "native":
        kv = _load_native(src, limit)
    elif cache:
        entry = cache_path(key, path, cache_dir)
        try:
            kv = _load_cached(src, fmt, limit, unicode_errors, entry, progress=progress, identity=identity,
                              duplicates=duplicates)
        except OSError as err:
            if isinstance(err, ToolkitError):
                raise
            logger.warning("Cannot write the vectors cache %s (%s); loading without the cache", entry, err)
            return None
    elif fmt == "fasttext-bin":
        with tempfile.TemporaryDirectory() as tmp:
            kv = _load_fasttext_bin(src, limit, Path(tmp))
    else:
        words, k2i, vectors, declared = _read(src, fmt, limit, unicode_errors, progress=progress,
                                              duplicates=duplicates)
        kv = _make_kv(words, k2i, vectors, declared)
    return kv


#: {content found: (what it is, the format to pass)}
_FORMAT_NAMES = {
    "fasttext-bin": ("a fastText .bin model (it starts with fastText's magic number)", "fasttext-bin"),
    "pickle": ("a Python pickle (gensim's native format)", "native"),
    "word2vec-binary": ("word2vec binary (a '<count> <dimension>' header, then raw float32 bytes)", "word2vec-binary"),
    "word2vec-text": ("word2vec text (a '<count> <dimension>' header, then text lines)", "word2vec"),
    "glove": ("GloVe text (lines '<word> <value> ... <value>', no header)", "glove"),
}


def _format_hint(src, asked: str, fmt: str, message: str):
    """For a file that failed to load in a format named by hand: what its content looks like, or None.

    None when ``format="auto"`` chose (the error already says what is wrong),
    when the content looks like the format asked for (or like nothing known),
    or when the error ``message`` names the right format already.
    """
    if asked == "auto":
        return None
    try:
        found = "pickle" if _looks_like_pickle(_parse.peek(src, 16)) else _sniff(src, "auto")
    except (OSError, ValueError):  # unreadable (a corrupt archive...): the error says so already
        return None
    if found == fmt or found == "native" or (found == "pickle" and fmt == "native"):
        return None
    if found == "glove" and not _looks_like_glove(_parse.peek(src, 1 << 12)):
        return None  # the fallback of the sniff: not evidence of GloVe
    what, right = _FORMAT_NAMES[found]
    how = _parse.advice()  # load_vectors' keywords, or the command line's options
    if how.setting("format", right) in message:
        return None
    fix = how.setting("format", right)
    # auto never unpickles
    also = ", if you made or trust the file" if found == "pickle" else f" (or {how.setting('format', 'auto')}, which reads it so)"
    return f"The content looks like {what}, not {fmt}: pass {fix}{also}."


def _looks_like_glove(head: bytes) -> bool:
    """Whether the first line is a word followed by at least two numbers."""
    first = head.lstrip(_parse.BOM).split(b"\n", 1)[0].rstrip(b"\r ").split(b" ")
    if len(first) < 3 or b"\x00" in head:
        return False
    try:
        [float(v) for v in first[-2:]]
    except ValueError:
        return False
    return True


def clear_memo() -> None:
    """Forget the vectors held by the process-level memo (the disk cache stays)."""
    _MEMO.clear()


