"""Datasets: verified fetching and readers that return a :class:`TextDataset`.

``fetch(name)`` turns a manifest name into a local path, looking in this
order at

1. the offline data folder (``data_dir=`` or ``TOOLKIT_DATA_DIR``), by the
   manifest's file names; a ``SHA256SUMS`` file in that folder is used to
   verify what is found there;
2. the cache (``cache_dir=`` or ``TOOLKIT_CACHE_DIR``, under ``data/<name>/``);
3. a verified download into the cache (see :mod:`toolkit.data._download`).

The readers (``load_imdb``, ``load_folder``, ``load_csv``, ``load_jsonl``)
return texts, integer labels and their names; their paths may start with
``~`` (the home folder), as the data and cache folders may. ``load_imdb``
streams the official tarball member by member without extracting it, and
gives the movie of each review (``groups``) for group-aware validation splits.

Examples
--------
>>> from toolkit.data import load_imdb           # doctest: +SKIP
>>> train = load_imdb("train")                        # doctest: +SKIP
>>> len(train), train.target_names                    # doctest: +SKIP
(25000, ['neg', 'pos'])
"""

from __future__ import annotations

import csv
import glob
import io
import itertools
import json
import logging
import math
import os
import re
import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .._atomic import atomic_output
from .._config import DATA_DIR_ENV, get_cache_dir, get_data_dir
from .._fileid import stat_id
from .._memo import Memo
from .._validation import InvalidParameterError
from ..exceptions import ChecksumError, DataError
from ._download import download_verified, hash_file, is_verified, parse_known_hash
from .archives import iter_tar_files
from .manifests import Manifest, get_manifest

__all__ = [
    "TextDataset",
    "fetch",
    "load_imdb",
    "load_folder",
    "load_csv",
    "load_jsonl",
]

logger = logging.getLogger(__name__)

SHA256SUMS = "SHA256SUMS"


# --------------------------------------------------------------------------- dataset


@dataclass(eq=False)
class TextDataset:
    """Texts with integer labels, as returned by the ``load_*`` readers.

    Attributes
    ----------
    texts : list of str
    labels : numpy.ndarray of int64
        Index into ``target_names``; -1 for unlabelled documents.
    target_names : list of str
        Class names, e.g. ``["neg", "pos"]``; empty when unlabelled.
    ratings : numpy.ndarray of int64 or None
        IMDB star ratings from the file names (1-4 negative, 7-10 positive,
        0 for unsup); None for other sources.
    ids : numpy.ndarray or None
        IMDB: the numeric review id of the file name (unique within a class
        folder only). Folders: relative file paths. CSV/JSONL: the
        ``id_column`` values, else the 0-based record number.
    filenames : list of str or None
        File or archive member each text came from.
    source : str or None
        Where the data was read from.
    groups : numpy.ndarray of str or None
        IMDB: the movie each review is about (its IMDB title id from
        ``urls_*.txt``, e.g. ``"tt0453418"``); reviews of one movie share it,
        and the official train and test splits share none but one (the
        README promises disjoint movies, yet ``tt0406816`` has 2 training
        and 23 test reviews). Pass it to a group-aware splitter
        (:class:`sklearn.model_selection.GroupKFold`,
        :class:`~sklearn.model_selection.StratifiedGroupKFold`) so that a
        validation split keeps each movie on one side. None for other
        sources, and for IMDB data whose ``urls_*.txt`` file is missing or
        too short (a warning names it).

    Examples
    --------
    >>> import numpy as np
    >>> from toolkit.data import TextDataset
    >>> ds = TextDataset(["good", "bad"], np.array([1, 0]), ["neg", "pos"])
    >>> len(ds), ds.target_names[ds.target[0]]
    (2, 'pos')
    """

    texts: list
    labels: np.ndarray
    target_names: list
    ratings: np.ndarray | None = None
    ids: np.ndarray | None = None
    filenames: list | None = None
    source: str | None = field(default=None)
    groups: np.ndarray | None = None

    def __post_init__(self):
        # a dataset built by hand from lists: as arrays, ds.labels == 1 is a mask and subset() indexes them
        self.texts = list(self.texts)
        self.labels = np.asarray(self.labels)
        if self.labels.size == 0:
            self.labels = self.labels.astype(np.int64)
        if self.labels.dtype == bool or self.labels.dtype.kind not in "iu" or self.labels.ndim != 1:
            raise InvalidParameterError(
                "The 'labels' of a TextDataset must be 1-D integers (an index into target_names, -1 for "
                f"unlabelled). Got an array of dtype {self.labels.dtype} and shape {self.labels.shape} instead."
            )
        for name in ("ratings", "ids", "groups"):
            if getattr(self, name) is not None:
                setattr(self, name, np.asarray(getattr(self, name)))
        for name in ("labels", "ratings", "ids", "filenames", "groups"):
            value = getattr(self, name)
            if value is not None and len(value) != len(self.texts):
                raise InvalidParameterError(
                    f"The '{name}' of a TextDataset must have one value per text ({len(self.texts)}); "
                    f"got {len(value)}."
                )

    def __len__(self) -> int:
        return len(self.texts)

    @property
    def data(self) -> list:
        """Alias of ``texts`` (scikit-learn's ``Bunch.data``)."""
        return self.texts

    @property
    def target(self) -> np.ndarray:
        """Alias of ``labels`` (scikit-learn's ``Bunch.target``)."""
        return self.labels

    def __repr__(self) -> str:
        counts = dict(zip(*np.unique(self.labels, return_counts=True))) if len(self) else {}
        per_class = {
            (self.target_names[k] if 0 <= k < len(self.target_names) else "unlabelled"): int(v)
            for k, v in counts.items()
        }
        return f"TextDataset(n={len(self)}, classes={per_class}, source={self.source!r})"

    def subset(self, indices) -> TextDataset:
        """A new dataset with the documents at ``indices`` (in that order).

        Parameters
        ----------
        indices : slice, array-like of int or of bool
            Positions, a slice (``ds.subset(slice(0, 2000))``, the first
            2,000), or a boolean mask of ``len(self)`` values (as numpy
            indexing takes it, e.g. ``ds.subset(ds.labels == 1)``).

        Returns
        -------
        TextDataset

        Raises
        ------
        InvalidParameterError
            For positions that are not whole numbers in one dimension, or
            outside the dataset.
        """
        if isinstance(indices, slice):
            indices = np.arange(len(self))[indices]
        idx = np.asarray(indices)
        if idx.size == 0:
            idx = idx.astype(np.int64)
        if idx.dtype != bool:
            # numpy's own indexing errors for these ("only integer scalar arrays ...") name no parameter, and
            # float positions were cast to int without a word
            if idx.ndim != 1 or idx.dtype.kind not in "iu":
                raise InvalidParameterError(
                    "TextDataset.subset takes a slice, 1-D integer positions or a boolean mask; got an array of "
                    f"dtype {idx.dtype} and shape {idx.shape}."
                )
            if idx.size and (idx.min() < -len(self) or idx.max() >= len(self)):
                raise InvalidParameterError(
                    f"TextDataset.subset: position {int(idx.max() if idx.max() >= len(self) else idx.min())} is "
                    f"outside the dataset's {len(self)} documents."
                )
        if idx.dtype == bool:
            # np.asarray(mask, dtype=int64) would turn the mask into positions 0 and 1
            if idx.ndim != 1 or len(idx) != len(self):
                raise InvalidParameterError(
                    f"A boolean mask passed to TextDataset.subset must have one value per document ({len(self)}); "
                    f"got shape {idx.shape}."
                )
            idx = np.flatnonzero(idx)
        idx = np.asarray(idx, dtype=np.int64)
        return TextDataset(
            texts=[self.texts[i] for i in idx],
            labels=self.labels[idx],
            target_names=list(self.target_names),
            ratings=None if self.ratings is None else self.ratings[idx],
            ids=None if self.ids is None else self.ids[idx],
            filenames=None if self.filenames is None else [self.filenames[i] for i in idx],
            source=self.source,
            groups=None if self.groups is None else self.groups[idx],
        )

    def to_frame(self):
        """The dataset as a table, one row per document.

        Returns
        -------
        pandas.DataFrame
            Columns ``text``, ``label``, ``label_name`` (empty for
            unlabelled documents), and ``rating`` and ``id`` when known.
        """
        import pandas as pd

        names = np.array([*self.target_names, ""], dtype=object)
        columns = {"text": self.texts, "label": self.labels, "label_name": names[self.labels]}
        if self.ratings is not None:
            columns["rating"] = self.ratings
        if self.ids is not None:
            columns["id"] = self.ids
        return pd.DataFrame(columns)


def _rng(random_state):
    if isinstance(random_state, (np.random.RandomState, np.random.Generator)):
        return random_state
    return np.random.RandomState(random_state)


def _finish(ds: TextDataset, *, shuffle: bool, random_state, limit: int | None, func: str) -> TextDataset:
    """Apply ``shuffle`` and ``limit``: a shuffled order, then a class-balanced cut."""
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, (int, np.integer)) or limit < 1):
        raise InvalidParameterError(
            f"The 'limit' parameter of {func} must be an int in the range [1, inf) or None. Got {limit!r} instead."
        )
    order = _rng(random_state).permutation(len(ds)) if shuffle else np.arange(len(ds))
    if limit is not None and len(ds) > limit:
        if len(ds.target_names):
            # round robin over the classes, so a small limit never returns a single class
            per_class = [order[ds.labels[order] == k] for k in range(len(ds.target_names))]
            picked, depth, deepest = [], 0, max(len(c) for c in per_class)
            while len(picked) < limit and depth < deepest:
                picked.extend(c[depth] for c in per_class if depth < len(c))
                depth += 1
            keep = np.zeros(len(ds), dtype=bool)
            keep[np.asarray(picked[:limit], dtype=np.int64)] = True
            order = order[keep[order]]  # the picked documents, in the (shuffled) order
        else:
            order = order[:limit]
    return ds if not shuffle and limit is None else ds.subset(order)


# --------------------------------------------------------------------------- fetch


def _read_sha256sums(folder: Path) -> dict[str, str]:
    path = folder / SHA256SUMS
    sums: dict[str, str] = {}
    try:
        text = path.read_text(encoding="utf-8-sig")  # a byte-order mark (Windows editors) is no part of line 1
    except FileNotFoundError:
        return sums
    except (OSError, UnicodeDecodeError) as err:
        raise DataError(f"Cannot read {path}: {err}.") from err
    for lineno, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        m = re.fullmatch(r"([0-9a-fA-F]{64}) [ *](.+)", line)
        if not m:
            raise DataError(
                f"{path}, line {lineno}: expected '<64 hex digits>  <file name>' (sha256sum output), got {line!r}."
            )
        sums[m.group(2).strip().removeprefix("./")] = m.group(1).lower()
    return sums


#: Digests by (path, inode, size, mtime, ctime, algorithm): a data folder is checked on every fetch.
_HASH_MEMO = Memo(maxsize=64)


def _hash_memo(path: Path, alg: str, cache_dir=None) -> str:
    """Hash of ``path``, remembered per process and in the cache folder (by path and stat id).

    Hashing a multi-GB vectors file takes seconds; a data folder is checked on
    every ``fetch``, so the digest is kept in ``<cache>/data/verified/``. The
    stat id (:func:`~toolkit._fileid.stat_id`: inode, size, modification and
    change times) tells a file rewritten with its size and mtime put back
    (``cp -p`` or ``rsync -t`` onto it), which is hashed again.
    """
    import hashlib

    ident = stat_id(path)
    resolved = str(path.resolve())
    key = (resolved, *ident, alg)
    memoised = _HASH_MEMO.get(key)
    if memoised is not None:
        return memoised
    stamp = get_cache_dir(cache_dir) / "data" / "verified" / (hashlib.sha256(resolved.encode()).hexdigest()[:24] + ".json")
    try:
        saved = json.loads(stamp.read_text())
        if saved.get("path") == resolved and saved.get("stat") == ident:
            if isinstance(saved.get(alg), str):
                _HASH_MEMO.put(key, saved[alg])
                return saved[alg]
        else:
            saved = {}
    except (OSError, ValueError, AttributeError):
        saved = {}
    digest = hash_file(path, alg)
    _HASH_MEMO.put(key, digest)
    saved.update({"path": resolved, "size": ident[1], "mtime_ns": ident[2], "stat": ident, alg: digest})
    try:
        with atomic_output(stamp) as tmp:
            tmp.write_text(json.dumps(saved))
    except OSError as err:  # a read-only cache only costs time
        logger.debug("Could not record the hash of %s in %s: %s", path, stamp, err)
    return digest


def _verify_local(path: Path, folder: Path, manifest: Manifest, cache_dir=None) -> None:
    if path.is_dir():
        logger.debug("Using the folder %s for %r (folders are not checksummed)", path, manifest.name)
        return
    rel = path.relative_to(folder).as_posix()
    sums = _read_sha256sums(folder)
    if rel in sums:
        actual = _hash_memo(path, "sha256", cache_dir)
        if actual != sums[rel]:
            raise ChecksumError(
                f"SHA256 checksum mismatch for {path} (listed in {folder / SHA256SUMS}):\n"
                f"  expected {sums[rel]}\n  actual   {actual}\n"
                "The file is damaged or was replaced. Copy it again, or fix its line in SHA256SUMS."
            )
        return
    # "<name>/<name>.gz" (gensim.downloader's layout) is the manifest's file in a folder of its name
    official = next((f for f in manifest.files if f.filename in (rel, Path(rel).name) and f.known_hash), None)
    if official is not None:
        alg, expected = parse_known_hash(official.known_hash)
        if _hash_memo(path, alg, cache_dir) == expected:
            return
        logger.warning(
            "%s does not match the official %s of %r and is not listed in a %s file in %s; using it anyway. "
            "Add its sha256 to %s to accept it silently.",
            path, alg, manifest.name, SHA256SUMS, folder, folder / SHA256SUMS,
        )
        return
    logger.warning(
        "%s is not listed in %s and %r has no published checksum for it; using it unverified.",
        path, folder / SHA256SUMS, manifest.name,
    )


def _find_local(manifest: Manifest, folder: Path) -> Path | None:
    for name in manifest.candidate_names:
        candidate = folder / name
        if candidate.exists():
            return candidate
    return None


def fetch(
    name: str,
    *,
    data_dir: str | os.PathLike | None = None,
    cache_dir: str | os.PathLike | None = None,
    downloader=None,
    progress: bool = False,
    known_hash: str | None = None,
) -> Path:
    """Return a local, verified path for the resource described by manifest ``name``.

    Looks in the offline data folder, then the cache, then downloads (see the
    module docstring). A downloaded file is verified against the manifest's
    checksum before it gets its final name; a bad checksum deletes it.

    Parameters
    ----------
    name : str
        Manifest name (see :func:`toolkit.data.manifests.list_manifests`) or a
        path to a manifest ``.toml`` file.
    data_dir : path-like, optional
        Offline data folder; default ``TOOLKIT_DATA_DIR`` (none if unset).
    cache_dir : path-like, optional
        Cache folder; default ``TOOLKIT_CACHE_DIR`` or the platform's user
        cache folder. Downloads go to ``<cache_dir>/data/<name>/``.
    downloader : callable, optional
        ``downloader(url, output_file, pooch)``, as pooch's downloaders (it is
        called with ``pooch=None``). Default: ``pooch.HTTPDownloader``.
    progress : bool, default=False
        Show a progress bar while downloading.
    known_hash : str, optional
        ``"sha256:<hex>"`` / ``"md5:<hex>"`` to use for a manifest file that
        has no published checksum (such files are never downloaded unverified).

    Returns
    -------
    pathlib.Path
        The file (or, for an offline copy, possibly an extracted folder such as
        ``aclImdb``); for a manifest with several files, their cache folder.
        When the path is a ``.zip``, read ``manifest.member`` inside it.

    Raises
    ------
    ManifestError
        Unknown or invalid manifest.
    ChecksumError
        A file does not match its checksum (expected and actual are given).
    DataError
        The download failed, or no checksum is known for it; or the data
        folder is set, lacks the resource and has it one folder below (or is
        the resource itself): nothing is downloaded then.

    Examples
    --------
    >>> from toolkit.data import fetch
    >>> path = fetch("imdb", data_dir="/data/offline")    # doctest: +SKIP
    """
    manifest = get_manifest(name)
    folder = get_data_dir(data_dir)
    if folder is not None:
        if not folder.is_dir():
            raise DataError(
                f"The data folder {folder} (from {'data_dir' if data_dir is not None else DATA_DIR_ENV}) "
                "does not exist or is not a folder. Point it at the folder that holds the offline files and their "
                "SHA256SUMS, or leave it unset to use the cache (and download what it lacks)."
            )
        local = _find_local(manifest, folder)
        if local is not None:
            _verify_local(local, folder, manifest, cache_dir)
            logger.info("Using %s for %r from the data folder", local, manifest.name)
            return local
        logger.info("%r not found in the data folder %s (looked for %s)", manifest.name, folder, list(manifest.candidate_names))
    cache = get_cache_dir(cache_dir) / "data" / manifest.name
    paths = []
    for mfile in manifest.files:
        hash_ = mfile.known_hash or known_hash
        if hash_ is None:
            raise DataError(
                f"No checksum is published for {mfile.filename} of {manifest.name!r} ({manifest.path}), so it is "
                "not downloaded unverified. Pass known_hash='sha256:<hex>' once you have checked the file, or put "
                f"it in an offline data folder ({DATA_DIR_ENV}) listed in its SHA256SUMS."
            )
        target = cache / mfile.filename
        alg, digest = parse_known_hash(hash_)
        if target.exists() and is_verified(target, alg, digest):
            paths.append(target)
            continue
        misplaced = _misplaced_error(manifest, folder, data_dir) if folder is not None else None
        if misplaced is not None:  # a data folder set one level off: no download of what is right there
            raise misplaced
        try:
            paths.append(
                download_verified(
                    mfile.url, target, known_hash=hash_, size=mfile.size, downloader=downloader, progress=progress
                )
            )
        except DataError as err:
            if isinstance(err, ChecksumError):
                raise
            if folder is None:
                gensim_copy = _gensim_downloader_copy(manifest)
                if gensim_copy is None:
                    raise
                raise DataError(f"{err} gensim.downloader's copy of {manifest.name!r} is at {gensim_copy}: "
                                f"data_dir='{gensim_copy.parent.parent}' (or {DATA_DIR_ENV}) reads it.") from err
            # the user set a data folder: say that it was looked in, and where the file may be instead
            source = "data_dir" if data_dir is not None else DATA_DIR_ENV
            raise DataError(f"{err} (The data folder {folder}, from {source}, holds none of "
                            f"{', '.join(manifest.candidate_names)}{_elsewhere(manifest, folder)}.)") from err
    return paths[0] if len(paths) == 1 else cache


def _gensim_downloader_copy(manifest: Manifest) -> Path | None:
    """The file of ``manifest`` that ``gensim.downloader.load`` left in its folder (``GENSIM_DATA_DIR``, default
    ``~/gensim-data``, as ``<name>/<name>.gz``), or None: named when a download fails, since that folder
    works as an offline data folder."""
    home = Path(os.environ.get("GENSIM_DATA_DIR") or "~/gensim-data").expanduser()
    for name in manifest.candidate_names:
        if "/" in name and (home / name).is_file():
            return home / name
    return None


def _misplaced_error(manifest: Manifest, folder: Path, data_dir) -> DataError | None:
    """The error for a data folder set one level off (the resource is one folder below, or the folder itself), or None.

    Raised instead of downloading: the download would retry for seconds
    offline, or fetch hundreds of MB that sit right there.
    """
    nearby = _elsewhere(manifest, folder)
    if not nearby:
        return None
    source = "data_dir" if data_dir is not None else DATA_DIR_ENV
    return DataError(
        f"The data folder {folder} (from {source}) holds none of {', '.join(manifest.candidate_names)}"
        f"{nearby}. Nothing was downloaded (unset {source} to download {manifest.name!r} into the cache)."
    )


def check_data_folder(name, *, data_dir=None, cache_dir=None) -> None:
    """Fail now, as :func:`fetch` would, when the data folder is set one level off for ``name``.

    For commands that load TensorFlow before they read the data: the error
    comes in a second instead of after that.

    Parameters
    ----------
    name : str
        Manifest name.
    data_dir, cache_dir : path-like, optional
        See :func:`fetch`.

    Raises
    ------
    DataError
        The data folder is set, does not hold ``name``, the cache does not
        either, and ``name`` is one folder below it (or the folder is the
        resource itself).
    """
    manifest = get_manifest(name)
    folder = get_data_dir(data_dir)
    if folder is None or not folder.is_dir() or _find_local(manifest, folder) is not None:
        return
    cache = get_cache_dir(cache_dir) / "data" / manifest.name
    if all((cache / mfile.filename).exists() for mfile in manifest.files):
        return  # fetch verifies the cached copy
    misplaced = _misplaced_error(manifest, folder, data_dir)
    if misplaced is not None:
        raise misplaced


def _elsewhere(manifest: Manifest, folder: Path) -> str:
    """Where near ``folder`` the resource is, for a data folder set one level off: ``"; ..."``, or ``""``."""
    names = manifest.candidate_names
    if folder.name in names:  # the extracted folder (or the file) itself was given
        return f"; it is {folder} itself: set the data folder to {folder.parent}"
    try:
        found = [p.parent for name in names for p in sorted(folder.glob(f"*/{glob.escape(name)}"))]
    except OSError:
        return ""
    if found:
        return f"; found in {found[0]}: set the data folder to that folder"
    return ""


# --------------------------------------------------------------------------- IMDB

_SPLITS = ("train", "test", "unsup")
_IMDB_NAME = re.compile(r"^(?:\./)?aclImdb/(train|test)/(pos|neg|unsup)/(\d+)_(\d+)\.txt$")
#: Parsed splits by (path, inode, size, mtime, ctime, split); three splits of IMDB hold about 250 MB of text.
_IMDB_MEMO = Memo(maxsize=3)


def _imdb_wanted(split: str):
    top, classes = ("train", ("unsup",)) if split == "unsup" else (split, ("neg", "pos"))
    return top, classes


def _decode(data: bytes, where: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise DataError(f"{where} is not valid UTF-8 ({err}).") from err


def _imdb_records_from_tar(path: Path, split: str, progress: bool = False):
    """The split's review records and its ``urls_<class>.txt`` members, in one pass over the tarball.

    Returns ``(records, urls)``; ``urls`` maps each class to ``(where, bytes)``,
    with None for a member the tarball lacks.
    """
    top, classes = _imdb_wanted(split)
    prefixes = tuple(f"{p}aclImdb/{top}/{c}/" for p in ("", "./") for c in classes)
    url_members = {f"{p}aclImdb/{top}/urls_{c}.txt": c for p in ("", "./") for c in classes}
    records = []
    urls = {c: (f"aclImdb/{top}/urls_{c}.txt in {path}", None) for c in classes}
    select = lambda n: n.startswith(prefixes) or n in url_members  # noqa: E731
    for name, data in iter_tar_files(path, select=select, max_member_size=64 << 20, progress=progress):
        if name in url_members:
            urls[url_members[name]] = (f"Member {name} of {path}", data)
            continue
        m = _IMDB_NAME.match(name)
        if m is None:
            continue  # stray files in a class folder are skipped
        records.append((m.group(2), int(m.group(3)), int(m.group(4)), name, _decode(data, f"Member {name} of {path}")))
    return records, urls


def _imdb_root(path: Path) -> Path:
    if (path / "train").is_dir() or (path / "test").is_dir():
        return path
    if (path / "aclImdb").is_dir():
        return path / "aclImdb"
    raise DataError(
        f"{path} is not an aclImdb folder: expected train/ and test/ inside it (or an aclImdb/ subfolder). "
        "Pass the aclImdb_v1.tar.gz file or the extracted aclImdb folder."
    )


#: Reviews in each class folder of the official aclImdb v1 (ids 0 to n-1 in each).
_IMDB_COUNTS = {"neg": 12_500, "pos": 12_500, "unsup": 50_000}
_IMDB_TARBALL = "aclImdb_v1.tar.gz"


def _imdb_official(root: Path) -> bool:
    """Whether ``root`` is an extraction of the official tarball: it has ``imdb.vocab`` (the tarball's third
    member, extracted before any review), which a copy of a few reviews made by hand lacks."""
    return (root / "imdb.vocab").is_file()


def _imdb_shortfall(root: Path, top: str, cls: str, ids: list) -> str | None:
    """``"<folder> holds N of the M reviews ..."`` when a class folder of an extracted aclImdb lacks reviews of
    the official dataset, else None.

    A class folder is taken as meant to be complete when ``root`` is the official extraction (see
    :func:`_imdb_official`) or the folder holds the class's last review id (12499, or 49999 for unsup): an
    extraction stopped part-way (the tarball lists ``0, 10000, 10001, ...``: string order, so the last id
    comes early) or files deleted by hand. A copy of the first reviews, or of a few picked by hand, is read
    as it is. Only the file names are counted.
    """
    expected = _IMDB_COUNTS[cls]
    present = set(ids)
    if len(present) >= expected or not (_imdb_official(root) or (present and max(present) >= expected - 1)):
        return None
    missing = next(i for i in range(expected) if i not in present)
    return f"{root / top / cls} holds {len(present):,} of its {expected:,} reviews (the first missing: {missing}_*.txt)"


def _imdb_fix(root: Path, top: str, classes, *, as_is: bool = True) -> str:
    """What to do about an extracted aclImdb folder ``root`` that lacks files: extract again, or read the tarball
    (and, with ``as_is``, how to read the folder as it is)."""
    tarball = next((p for p in (root.parent / _IMDB_TARBALL, root.parent.parent / _IMDB_TARBALL) if p.is_file()), None)
    read = (f"load_imdb(path='{tarball}')" if tarball is not None else
            f"put {_IMDB_TARBALL} in the data folder, where it is read before an extracted aclImdb/ "
            f"(`toolkit train --data imdb`), or pass load_imdb(path='.../{_IMDB_TARBALL}')")
    return (f"Was the extraction stopped part-way, or were files deleted? Extract {_IMDB_TARBALL} again (`tar -xzf "
            f"{_IMDB_TARBALL}` in {root.resolve().parent}), or read the tarball itself, without extracting it: {read}."
            + (f" To read the folder as it is, use load_folder('{root / top}', categories={list(classes)})."
               if as_is else ""))


def _imdb_folder_shortfalls(root: Path, files: dict) -> str | None:
    """For :func:`load_folder`: the warning when ``root`` is a split (``train``, ``test``) or class folder
    (``train/pos``) of an extracted aclImdb whose class folders lack reviews (``files``: class -> paths read),
    else None. Only the file names are counted."""
    if root.name in _IMDB_COUNTS and root.parent.name in ("train", "test") and list(files) == [None]:
        top, base, files = root.parent.name, root.parent.parent, {root.name: files[None]}
    elif root.name in ("train", "test"):
        top, base = root.name, root.parent
    else:
        return None
    short = []
    for cls, paths in files.items():
        if cls in _IMDB_COUNTS:
            ids = [int(m.group(1)) for p in paths if (m := re.fullmatch(r"(\d+)_\d+\.txt", p.name))]
            shortfall = _imdb_shortfall(base, top, cls, ids)
            if shortfall is not None:
                short.append(shortfall)
    if not short:
        return None
    return (f"The extracted aclImdb folder {base} is incomplete: {'; '.join(short)}; the missing reviews are not "
            f"read. {_imdb_fix(base, top, list(files), as_is=False)}")


def _imdb_records_from_folder(path: Path, split: str):
    """The split's review records and its ``urls_<class>.txt`` files, as :func:`_imdb_records_from_tar`.

    Raises a :class:`DataError` before reading any review when a class folder lacks reviews of the official
    dataset (see :func:`_imdb_shortfall`).
    """
    root = _imdb_root(path)
    top, classes = _imdb_wanted(split)
    urls, listed, short = {}, {}, []
    for cls in classes:
        url_file = root / top / f"urls_{cls}.txt"
        try:
            urls[cls] = (str(url_file), url_file.read_bytes() if url_file.is_file() else None)
        except OSError as err:
            raise DataError(f"Cannot read {url_file}: {err}.") from err
        folder = root / top / cls
        if not folder.is_dir():
            extracted = f" {_imdb_fix(root, top, classes, as_is=False)}" if _imdb_official(root) else ""
            raise DataError(f"Missing folder {folder}: the aclImdb layout is aclImdb/{{train,test}}/{{pos,neg}} and "
                            f"train/unsup.{extracted}")
        listed[cls] = []
        with os.scandir(folder) as entries:
            for entry in entries:
                m = re.fullmatch(r"(\d+)_(\d+)\.txt", entry.name)
                if m is None or not entry.is_file(follow_symlinks=False):
                    continue
                listed[cls].append((int(m.group(1)), int(m.group(2)), entry.name, entry.path))
        shortfall = _imdb_shortfall(root, top, cls, [r[0] for r in listed[cls]])
        if shortfall is not None:
            short.append(shortfall)
    if short:
        raise DataError(f"The extracted aclImdb folder {root} is incomplete: {'; '.join(short)}. "
                        f"{_imdb_fix(root, top, classes)}")
    records = []
    for cls in classes:
        for review_id, rating, name, file in listed[cls]:
            with open(file, "rb") as fh:
                data = fh.read()
            records.append((cls, review_id, rating, f"aclImdb/{top}/{cls}/{name}", _decode(data, file)))
    return records, urls


def _imdb_groups(records: list, urls: dict, split: str, path: Path):
    """The movie of each review: the title id in line ``<review id>`` of its class's ``urls_<class>.txt``.

    Returns ``(groups, None)``, or ``(None, message)`` when a urls file is
    missing or has fewer lines than a review id needs (e.g. a trimmed copy);
    :func:`load_imdb` logs the message, which names the files.
    """
    lines, problems = {}, []
    for cls, (where, data) in urls.items():
        if data is None:
            problems.append(f"{where} is missing")
            continue
        lines[cls] = _decode(data, where).splitlines()
        needed = max((r[1] for r in records if r[0] == cls), default=-1) + 1
        if len(lines[cls]) < needed:
            problems.append(f"{where} has {len(lines[cls])} lines, but review id {needed - 1} needs line {needed}")
    if problems:
        return None, f"No movie ids (groups=None) for the IMDB {split!r} split of {path}: {'; '.join(problems)}."
    groups = []
    for cls, review_id, *_ in records:
        parts = lines[cls][review_id].strip().split("/")
        if len(parts) < 5:
            raise DataError(
                f"{urls[cls][0]}, line {review_id + 1}: expected the IMDB page of a movie, such as "
                f"http://www.imdb.com/title/tt0453418/usercomments, got {lines[cls][review_id]!r}."
            )
        groups.append(parts[4])
    return np.array(groups, dtype=str), None


def _parse_imdb(path: Path, split: str, progress: bool = False) -> tuple:
    if path.is_dir():
        records, urls = _imdb_records_from_folder(path, split)
    else:
        records, urls = _imdb_records_from_tar(path, split, progress)
    order = {"neg": 0, "pos": 1, "unsup": 2}
    records.sort(key=lambda r: (order[r[0]], r[1]))
    expected_classes = ["unsup"] if split == "unsup" else ["neg", "pos"]
    found = {r[0] for r in records}
    missing = [c for c in expected_classes if c not in found]
    if missing:
        raise DataError(
            f"{path} has no reviews for split {split!r} (missing {', '.join(missing)}); it is not a complete "
            "aclImdb dataset."
        )
    labels = np.array([{"neg": 0, "pos": 1, "unsup": -1}[r[0]] for r in records], dtype=np.int64)
    return (
        tuple(r[4] for r in records),
        labels,
        np.array([r[2] for r in records], dtype=np.int64),
        np.array([r[1] for r in records], dtype=np.int64),
        tuple(r[3] for r in records),
        *_imdb_groups(records, urls, split, path),
    )


def _imdb_filenames(split: str, labels, ratings, ids) -> tuple:
    top = "train" if split == "unsup" else split
    classes = {0: "neg", 1: "pos", -1: "unsup"}
    return tuple(f"aclImdb/{top}/{classes[y]}/{i}_{r}.txt" for y, r, i in zip(labels.tolist(), ratings.tolist(), ids.tolist()))


def _parsed_cache_file(path: Path, ident: list, split: str, cache_dir) -> Path:
    """The parsed split's file, named by the tarball's path and stat id (``ident``: inode, size, mtime, ctime).

    Size and mtime alone name the same file for a tarball rewritten with them put back (``cp -p`` or
    ``rsync -t`` of another one onto it): its reviews were served from the parse of the earlier one.
    """
    import hashlib

    ino, size, mtime_ns, ctime_ns = ident
    key = hashlib.sha256(f"{path.resolve()}|{size}|{mtime_ns}|{ino}|{ctime_ns}".encode()).hexdigest()[:16]
    # v2: with the movie ids (groups); a file of the first layout, without them, is never read
    return get_cache_dir(cache_dir) / "data" / "imdb" / "parsed" / f"{split}-v2-{key}.npz"


def _load_parsed(file: Path, split: str):
    import zipfile

    try:  # opened here: np.load leaves its own file open when a damaged .npz raises
        with open(file, "rb") as fh, np.load(fh, allow_pickle=False) as npz:
            text = npz["blob"].tobytes().decode("utf-8")
            ends = npz["ends"].tolist()
            labels, ratings, ids = npz["labels"], npz["ratings"], npz["ids"]
            # groups, or the warning that explained their absence when the tarball was parsed
            groups = npz["groups"] if "groups" in npz.files else None
            no_groups = str(npz["no_groups"]) if "no_groups" in npz.files else None
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, UnicodeDecodeError, EOFError, zipfile.BadZipFile) as err:
        # EOFError: an emptied file; BadZipFile: a truncated one, or changed bytes (the zip's CRC-32)
        logger.warning("Ignoring the unreadable parsed-IMDB cache %s (%s); re-reading the tarball", file, err)
        return None
    if (
        not (len(ends) == len(labels) == len(ratings) == len(ids))
        or (ends and ends[-1] != len(text))
        or (groups is None) == (no_groups is None)
        or (groups is not None and len(groups) != len(ids))
    ):
        logger.warning("Ignoring the inconsistent parsed-IMDB cache %s; re-reading the tarball", file)
        return None
    starts = [0, *ends[:-1]]
    texts = tuple(text[a:b] for a, b in zip(starts, ends))
    return texts, labels, ratings, ids, _imdb_filenames(split, labels, ratings, ids), groups, no_groups


def _save_parsed(file: Path, result: tuple) -> None:
    texts, labels, ratings, ids, _, groups, no_groups = result
    ends = np.cumsum([len(t) for t in texts], dtype=np.int64)
    blob = np.frombuffer("".join(texts).encode("utf-8"), dtype=np.uint8)
    # exactly one of groups (str array) and no_groups (why there are none) is stored: no pickles either way
    extra = {"groups": groups} if groups is not None else {"no_groups": np.array(no_groups, dtype=str)}
    try:
        with atomic_output(file) as tmp, open(tmp, "wb") as fh:
            np.savez(fh, blob=blob, ends=ends, labels=labels, ratings=ratings, ids=ids, **extra)
    except OSError as err:  # a read-only cache must not break reading
        logger.warning("Could not write the parsed-IMDB cache %s: %s", file, err)


def _read_imdb(path: Path, split: str, *, cache: bool, cache_dir, progress: bool = False) -> tuple:
    if not path.is_file():
        # a folder's size and mtime do not track the files under it (a review added, moved or edited in
        # aclImdb/train/pos): neither memoised nor cached, it is read again each time (~0.6 s for a split)
        return _parse_imdb(path, split, progress)
    ident = stat_id(path)
    key = (str(path.resolve()), *ident, split)
    file = _parsed_cache_file(path, ident, split, cache_dir) if cache else None

    def make():
        result = _load_parsed(file, split) if cache else None
        if result is None:
            result = _parse_imdb(path, split, progress)
            if cache:
                _save_parsed(file, result)
        return result

    # threads reading the same split on a cold memo wait for the first: one parse of the archive, one copy
    return _IMDB_MEMO.get_or_make(key, make)


def load_imdb(
    split: str = "train",
    *,
    data_dir: str | os.PathLike | None = None,
    path: str | os.PathLike | None = None,
    shuffle: bool = False,
    random_state=None,
    limit: int | None = None,
    cache: bool = True,
    cache_dir: str | os.PathLike | None = None,
    downloader=None,
    progress: bool = False,
) -> TextDataset:
    """Load a split of the IMDB Large Movie Review Dataset (aclImdb v1).

    Reads the ``aclImdb_v1.tar.gz`` tarball member by member, without
    extracting it (one pass, only the wanted split is kept), or an extracted
    ``aclImdb`` folder. Parsed splits are kept in a small per-process memo
    and, for a tarball, in the cache folder (``data/imdb/parsed/``, a numpy
    ``.npz`` without pickles, keyed by the tarball's path, inode, size, mtime
    and change time), so
    a later process reads a split in about 0.1 s instead of 1.5-2 s. A
    folder is read again on every call, so edits to its files are seen.

    Parameters
    ----------
    split : {"train", "test", "unsup"}, default="train"
        ``unsup`` is the 50,000 unlabelled training reviews (label -1).
    data_dir : path-like, optional
        Offline data folder (default ``TOOLKIT_DATA_DIR``); see :func:`fetch`.
    path : path-like, optional
        The tarball or the extracted folder, bypassing :func:`fetch`.
    shuffle : bool, default=False
        Shuffle the documents (with ``random_state``).
    random_state : int, RandomState instance or None, default=None
        Seed of the shuffle (used only with ``shuffle=True``).
    limit : int, optional
        Keep at most this many reviews, in equal parts from each class: the
        first by id, or a random sample when ``shuffle`` is True.
    cache : bool, default=True
        Keep the parsed split of a tarball in the cache folder.
    cache_dir : path-like, optional
        Passed to :func:`fetch`; also holds the parsed split.
    downloader : callable, optional
        Passed to :func:`fetch`.
    progress : bool, default=False
        Show progress bars (download, reading the tarball).

    Returns
    -------
    TextDataset
        Order: negative then positive reviews, each by numeric id; so the
        first positive training review is ``train/pos/0_9.txt``.
        ``target_names`` is ``["neg", "pos"]`` (empty for unsup),
        ``ratings`` the stars, ``ids`` the review ids from the file names,
        ``groups`` the movie of each review (its IMDB title id, such as
        ``"tt0453418"``, from line ``<id>`` of ``urls_<class>.txt``; at
        most 30 reviews per movie): the official train and test splits share
        no movie but ``tt0406816`` (2 training reviews), so split the
        training set with a group-aware splitter, e.g.
        ``StratifiedGroupKFold().split(train.texts, train.labels, train.groups)``,
        to keep each movie on one side of a validation split. ``groups`` is
        None, with a logged warning naming the file, when a ``urls_*.txt``
        file of the split is missing or has fewer lines than its review ids
        need.

    Raises
    ------
    DataError
        When the data is missing, incomplete or not in the aclImdb layout;
        also an extracted folder (of the official tarball: it has
        ``imdb.vocab``, or a class folder reaches the last review id) whose
        class folders hold fewer reviews than the official 12,500 (50,000 for
        unsup): an extraction stopped part-way, or files deleted. The message
        names each folder, the counts and what to do.

    Examples
    --------
    >>> from toolkit.data import load_imdb                  # doctest: +SKIP
    >>> train = load_imdb("train")                              # doctest: +SKIP
    >>> train.texts[int(train.labels.argmax())][:33]            # doctest: +SKIP
    'Bromwell High is a cartoon comedy.'
    """
    if split not in _SPLITS:
        raise InvalidParameterError(
            f"The 'split' parameter of load_imdb must be a str among {{'test', 'train', 'unsup'}}. Got {split!r} instead."
        )
    if path is None:
        path = fetch("imdb", data_dir=data_dir, cache_dir=cache_dir, downloader=downloader, progress=progress)
    path = Path(path).expanduser()
    if not path.exists():
        raise DataError(f"IMDB data {path} does not exist. Pass the aclImdb_v1.tar.gz file or the extracted aclImdb folder.")
    texts, labels, ratings, ids, names, groups, no_groups = _read_imdb(
        path, split, cache=cache, cache_dir=cache_dir, progress=progress
    )
    if no_groups is not None:
        logger.warning("%s", no_groups)
    ds = TextDataset(
        texts=list(texts),
        labels=labels.copy(),
        target_names=[] if split == "unsup" else ["neg", "pos"],
        ratings=ratings.copy(),
        ids=ids.copy(),
        filenames=list(names),
        source=str(path),
        groups=None if groups is None else groups.copy(),
    )
    return _finish(ds, shuffle=shuffle, random_state=random_state, limit=limit, func="load_imdb")


# --------------------------------------------------------------------------- folders


def _check_encoding(encoding, func: str) -> None:
    """Refuse an ``encoding`` Python has no text codec for, naming the parameter (``codecs.lookup`` raised a bare
    "LookupError: unknown encoding: utf-9", or a TypeError for None, from inside the reader)."""
    import codecs

    try:
        known = isinstance(encoding, str) and codecs.lookup(encoding)._is_text_encoding
    except LookupError:
        known = False
    if not known:
        raise InvalidParameterError(
            f"The 'encoding' parameter of {func} must be a str naming a text encoding Python knows, such as "
            f"'utf-8', 'latin-1' or 'cp1252'. Got {encoding!r} instead."
        )


def _natural_key(text: str):
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text)]


def _without_bom(encoding: str) -> str:
    """The codec that reads ``encoding`` files: ``utf-8-sig`` for UTF-8, so a byte order mark is dropped.

    Excel ("CSV UTF-8") and Notepad start UTF-8 files with a BOM; read as
    plain UTF-8 it becomes part of the first column name, JSON line or text.
    """
    import codecs

    try:
        return "utf-8-sig" if codecs.lookup(encoding).name == "utf-8" else encoding
    except LookupError:
        return encoding  # open() names the unknown encoding


def _read_text(path: Path, encoding: str, errors: str, undecodable: list | None = None) -> str:
    """The text of ``path``; one that ``encoding`` cannot decode is appended to ``undecodable`` as
    ``(path, error)`` and read as "" (or, without the list, raises :func:`_undecodable_files`' error).

    A gzip, bz2 or xz file (``pos/1_7.txt.gz``; found by its first bytes, as :func:`load_csv` finds it) is
    decompressed: read as text, its compressed bytes were the document (``decode_errors="replace"``) or an
    "is not valid utf-8" error. Newlines read as :func:`open` reads them (``\\r\\n`` and ``\\r`` as ``\\n``).
    """
    try:
        with open(path, "rb") as raw:
            kind = _compression_of(raw.read(10))
            raw.seek(0)
            if kind is None:
                data = raw.read()
                if data.startswith(_ZSTD_MAGIC):
                    raise DataError(f"{path} is Zstandard-compressed (zstd), which is not read here; decompress "
                                    "it (`zstd -d FILE`) or recompress it with gzip (`zstd -dc FILE | gzip > "
                                    "NEW_FILE.gz`).")
            else:
                with io.BufferedReader(_Decompressed(path, kind, fileobj=raw), buffer_size=1 << 16) as fh:
                    data = fh.read()
        text = data.decode(_without_bom(encoding), errors)
        return text.replace("\r\n", "\n").replace("\r", "\n") if "\r" in text else text
    except UnicodeDecodeError as err:
        if undecodable is None:
            raise _undecodable_files([(path, err)], encoding, path.parent) from err
        undecodable.append((path, err))
        return ""
    except OSError as err:
        raise DataError(f"Cannot read {path}: {err}.") from err


def _undecodable_files(undecodable: list, encoding: str, root: Path) -> DataError:
    """The error for the files of ``root`` that ``encoding`` cannot decode (``(path, error)`` pairs, in order).

    It names the first and counts the others (they were all read, so one conversion fixes the folder), and
    says what to do both from a shell (``iconv``: the command line has no encoding option) and in Python.
    """
    import codecs
    import shlex

    path, err = undecodable[0]
    tool = _COMPRESSOR.get(_compression(path))
    with _open_bytes(path) as fh:  # a compressed file's text (a gzipped UTF-16 file starts with its mark)
        data = fh.read(1 << 24)
    head, legacy = data[:2], _legacy_encoding(data)
    try:
        utf16 = head in (b"\xff\xfe", b"\xfe\xff") and not codecs.lookup(encoding).name.startswith("utf-16")
    except LookupError:
        utf16 = False
    # Excel's "Unicode Text", PowerShell 5's `>` and Notepad's "Unicode" write UTF-16 with this mark
    guess = ("it starts with a UTF-16 byte-order mark: is it UTF-16 text?" if utf16 else
             "is it in another encoding, such as latin-1 or cp1252?")
    others, file = "", shlex.quote(str(path))
    if len(undecodable) > 1:
        names = [p.relative_to(root).as_posix() if p.is_relative_to(root) else str(p) for p, _ in undecodable[1:]]
        others = (f"; neither {'is' if len(names) == 1 else 'are'} {len(names)} more file{'s' * (len(names) > 1)} of "
                  f"{root} ({', '.join(names[:3])}{', ...' if len(names) > 3 else ''})")
        file = "FILE"
    # a compressed file: iconv reads the text, not the compressed bytes
    iconv = f"iconv -f {'UTF-16' if utf16 else legacy} -t {encoding}"
    convert = f"{iconv} {file}" if tool is None else f"{tool} -dc {file} | {iconv} | {tool}"
    python = "'cp1252', 'latin-1'" if legacy == "cp1252" and not utf16 else "'latin-1', 'cp1252'"
    return DataError(
        f"{path} is not valid {encoding} ({err}){others}; {guess} Save the file{'s' if others else ''} as "
        f"{encoding} (e.g. `{convert} > NEW_FILE && "
        f"mv NEW_FILE {file}`{' for each' if others else ''}){'' if utf16 else _legacy_note(legacy)}, or, in "
        f"Python, pass load_folder its encoding (encoding={python}...) or decode_errors='replace'."
    )


def _has_extension(fname: str, extensions: tuple) -> bool:
    """Whether ``fname`` ends in one of ``extensions`` (lower-case), also before a compression suffix:
    ``1_7.txt.gz`` (``.bz2``, ``.xz``) is a ``.txt`` file, gzipped (``gzip -r`` on a folder of reviews)."""
    name = fname.lower()
    if name.endswith(extensions):
        return True
    suffix = next((s for s in COMPRESSED_SUFFIXES if name.endswith(s)), None)
    return suffix is not None and name[: -len(suffix)].endswith(extensions)


def _list_files(folder: Path, extensions, *, recursive: bool, skipped: list | None = None) -> list[Path]:
    """The files of ``folder`` ending in ``extensions`` (hidden ones left out), in natural order; ``skipped``,
    when given, is extended with the other (not hidden) files' paths.

    A linked folder (``pos/extra -> /data/more/pos``) is read as a folder, as a linked file is: it was left
    out without a word. A folder already read, or one that holds the folder being read (a link to a parent: a
    loop) is not read again."""
    found, seen = [], {os.path.realpath(folder)}
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=recursive):
        if recursive:
            keep, here = [], os.path.realpath(dirpath)
            for d in sorted(d for d in dirnames if not d.startswith(".")):
                real = os.path.realpath(os.path.join(dirpath, d))
                if real not in seen and not (here + os.sep).startswith(real + os.sep):
                    seen.add(real)
                    keep.append(d)
            dirnames[:] = keep
        else:
            dirnames[:] = []
        for fname in filenames:
            if fname.startswith("."):
                continue
            if extensions is not None and not _has_extension(fname, extensions):
                if skipped is not None:
                    skipped.append(Path(dirpath) / fname)
                continue
            p = Path(dirpath) / fname
            if p.is_file():
                found.append(p)
    return sorted(found, key=lambda p: _natural_key(p.relative_to(folder).as_posix()))


def load_folder(
    path: str | os.PathLike,
    *,
    categories=None,
    extensions=(".txt",),
    encoding: str = "utf-8",
    decode_errors: str = "strict",
    shuffle: bool = False,
    random_state=None,
    limit: int | None = None,
) -> TextDataset:
    """Load text files from a class-per-folder tree, or from one flat folder.

    Like :func:`sklearn.datasets.load_files` and
    ``keras.utils.text_dataset_from_directory``: each subfolder of ``path``
    is a class (sorted by name: label 0, 1, ...) holding its text files (also
    in nested folders). When ``path`` has no subfolders, its files are loaded
    unlabelled (label -1). Files beside the class folders have no class and
    are not read (a warning counts them, unless ``categories`` is given).

    Parameters
    ----------
    path : path-like
    categories : list of str, optional
        Only these class folders (in this order of labels, each once); a
        single str is one folder. Default all.
    extensions : tuple of str or None, default=(".txt",)
        File name endings to read (case-insensitive), also before ``.gz``,
        ``.bz2`` or ``.xz`` (``1_7.txt.gz``); None reads every file. Files
        holding gzip, bz2 or xz data (found by their first bytes) are
        decompressed.
    encoding : str, default="utf-8"
        A leading UTF-8 byte order mark (Excel, Notepad) is dropped.
    decode_errors : {"strict", "replace", "ignore"}, default="strict"
    shuffle, random_state, limit
        As in :func:`load_imdb`.

    Returns
    -------
    TextDataset
        ``ids`` and ``filenames`` are the paths relative to ``path``. An
        empty or blank file is an empty document (one warning counts them).

    Raises
    ------
    DataError
        When the folder is missing, holds no matching files, a category is
        missing or repeated, ``categories`` is empty, or files cannot be
        decoded (the message names the first and counts the others).
    InvalidParameterError
        For a ``decode_errors`` value other than the three above.

    Examples
    --------
    >>> from toolkit.data import load_folder            # doctest: +SKIP
    >>> ds = load_folder("aclImdb/train", categories=["neg", "pos"])  # doctest: +SKIP
    """
    if decode_errors not in ("strict", "replace", "ignore"):  # else checked only when a file fails to decode
        raise InvalidParameterError(
            "The 'decode_errors' parameter of load_folder must be a str among {'ignore', 'replace', 'strict'}. "
            f"Got {decode_errors!r} instead."
        )
    _check_encoding(encoding, "load_folder")
    root = Path(path).expanduser()
    if not root.is_dir():
        raise DataError(f"Folder {root} does not exist or is not a folder.")
    if isinstance(extensions, str):
        extensions = (extensions,)
    extensions = None if extensions is None else tuple(e.lower() for e in extensions)
    subdirs = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    pattern = "any files" if extensions is None else "files ending in " + "/".join(extensions)
    if categories is not None:
        if isinstance(categories, str):
            categories = [categories]  # one class folder, not its letters
        categories = list(categories)
        if not categories:
            raise DataError(
                f"The 'categories' parameter of load_folder must name at least one class folder of {root} "
                f"({subdirs or 'it has none'}); pass None for all of them."
            )
        repeated = next((c for i, c in enumerate(categories) if c in categories[:i]), None)
        if repeated is not None:
            raise DataError(
                f"The 'categories' parameter of load_folder names {repeated!r} twice ({categories}); each class "
                "folder is one label, so name each once."
            )
        missing = [c for c in categories if c not in subdirs]
        if missing:
            raise DataError(f"No class folder {missing[0]!r} in {root}; class folders there: {subdirs or 'none'}.")
        subdirs = list(categories)
    texts, labels, names, undecodable = [], [], [], []
    if subdirs:
        loose = [] if categories is not None else _list_files(root, extensions, recursive=False)
        if loose:  # with class folders, the files beside them have no class: they were left out without a word
            logger.warning("%s: %d file(s) (%s; first: %s) lie beside its class folders %s, outside any: they have "
                           "no class and are not read. Move them into a class folder (or the class folders out, "
                           "to read the folder's files unlabelled).", root, len(loose), pattern, loose[0].name,
                           subdirs if len(subdirs) <= 5 else f"{subdirs[:5]}...")
        empty, skipped, listed = [], [], {}
        for label, cls in enumerate(subdirs):
            skipped_here = []
            files = listed[cls] = _list_files(root / cls, extensions, recursive=True, skipped=skipped_here)
            if not files:
                empty.append(cls)
            else:
                skipped.extend(skipped_here)
            for f in files:
                texts.append(_read_text(f, encoding, decode_errors, undecodable))
                labels.append(label)
                names.append(f.relative_to(root).as_posix())
        target_names = list(subdirs)
        if empty and texts:
            # a class whose files all have another suffix (.md, .TEXT, none) would vanish from the data unseen
            others = {cls: len(_list_files(root / cls, None, recursive=True)) for cls in empty}
            logger.warning(
                "%s: class folder%s %s hold%s no %s, so %s no documents%s.", root, "s" if len(empty) > 1 else "",
                ", ".join(repr(c) for c in empty), "" if len(empty) > 1 else "s", pattern,
                "these classes have" if len(empty) > 1 else "the class has",
                "" if not any(others.values()) else
                f" (other files: {', '.join(f'{c!r}: {n}' for c, n in others.items() if n)}; rename them, or in "
                "Python pass load_folder extensions=None to read every file)")
        if skipped:
            # a class folder of 500 .txt and 300 .text (or .md, .review) reviews lost the 300 without a word
            endings: dict = {}
            for f in skipped:
                ending = "".join(f.suffixes[-2:]).lower() or "no ending"
                endings[ending] = endings.get(ending, 0) + 1
            top = sorted(endings.items(), key=lambda item: -item[1])
            logger.warning(
                "%s: %d file(s) in its class folders do not end in %s and are not read (%s; first: %s). Rename "
                "those that are documents, or in Python pass load_folder the endings to read (extensions=None "
                "reads every file).", root, len(skipped), "/".join(extensions),
                ", ".join(f"{e}: {n}" for e, n in top[:5]) + (", ..." if len(top) > 5 else ""),
                skipped[0].relative_to(root).as_posix())
    else:
        listed = {None: _list_files(root, extensions, recursive=False)}
        for f in listed[None]:
            texts.append(_read_text(f, encoding, decode_errors, undecodable))
            labels.append(-1)
            names.append(f.relative_to(root).as_posix())
        target_names = []
    incomplete = _imdb_folder_shortfalls(root, listed)
    if incomplete is not None:  # aclImdb/train of an extraction stopped part-way was read without a word
        logger.warning("%s", incomplete)
    if undecodable:  # every file was read: the error counts them all, not one per run
        raise _undecodable_files(undecodable, encoding, root) from undecodable[0][1]
    blank = [name for name, text in zip(names, texts) if not text.strip()]
    if blank:  # as the blank texts of load_csv and load_jsonl: empty documents, counted once
        logger.warning("%s: %d empty or blank file(s) (first: %s), read as empty documents; a classifier learns "
                       "nothing from them and EmbeddingClassifier refuses them. Fill in or remove such files "
                       "unless empty documents are meant.", root, len(blank), blank[0])
    if not texts:
        raise DataError(
            f"No text files ({pattern}) found in {root}"
            + (f" or its class folders {subdirs}" if subdirs else "")
            + ". Pass extensions=None to read every file."
        )
    ds = TextDataset(
        texts=texts,
        labels=np.asarray(labels, dtype=np.int64),
        target_names=target_names,
        ids=np.asarray(names, dtype=object),
        filenames=names,
        source=str(root),
    )
    return _finish(ds, shuffle=shuffle, random_state=random_state, limit=limit, func="load_folder")


# --------------------------------------------------------------------------- tables


def _integral_label(value):
    """The integer a label stands for (``1``, ``1.0``, ``"1"``, ``" 1.0"``), or None (text, a fraction, a bool).

    One rule for reading labels (:func:`_encode_labels`) and for matching a
    file's labels to a model's classes (``toolkit evaluate``).
    """
    import numbers

    if isinstance(value, (bool, np.bool_)):
        return None
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return int(value) if float(value).is_integer() else None
    if isinstance(value, str) and re.fullmatch(r"-?\d+(\.0*)?", value.strip()) is not None:
        return int(value.strip().partition(".")[0])
    return None


_NUMBER = re.compile(r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?")


def _numeric_label(value):
    """The number a label stands for, or None (text, a bool, NaN, an infinity).

    An ``int`` for a whole number (as :func:`_integral_label`, and also
    ``"+1"``, ``"1e3"``), a ``float`` for one with a fraction (``2.5``,
    ``"2.50"``, ``" .5"``, ``"-1e-3"``). Equal numbers give equal values
    however the file spells them, so they make one class.
    """
    import numbers

    number = _integral_label(value)
    if number is not None or isinstance(value, (bool, np.bool_)):
        return number
    if isinstance(value, numbers.Real):
        number = float(value)
    elif isinstance(value, str) and _NUMBER.fullmatch(value.strip()):
        number = float(value.strip())
    else:
        return None
    if not math.isfinite(number):
        return None
    return int(number) if number.is_integer() else number


#: labels that are missing values: NaN as str() writes it, pandas' NA (``str(pd.NA)``), Excel's #N/A
_MISSING_LABELS = ("nan", "-nan", "<na>", "#n/a", "#n/a n/a", "#na")
#: what Excel writes into a CSV for a cell whose formula failed
_EXCEL_ERRORS = ("#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#NULL!", "#SPILL!", "#CALC!", "#GETTING_DATA")


def _missing_label_error(where: str, label, column: str) -> DataError | None:
    """The error for a label that stands for a missing value, or None for a real one.

    Missing: None (JSON ``null``), a blank string, NaN or an infinity (JSON
    ``NaN``, what ``json.dumps`` writes for a float column's NaN), and the
    text ``"nan"`` that ``str(value)``, ``Series.map(str)`` and pandas 2's
    ``astype(str)`` write for NaN (``"<NA>"`` for ``pd.NA``), Excel's ``#N/A``
    and its error values (``#DIV/0!``...). Read as a class, each would become
    one (``'nan'``) that the model learns and predicts.
    """
    if label is None or (isinstance(label, str) and not label.strip()):
        problem = f"missing label in column {column!r} ({'null' if label is None else 'an empty value'})"
    elif (isinstance(label, float) and math.isnan(label)) or (
            isinstance(label, str) and label.strip().lower() in _MISSING_LABELS):
        problem = f"missing label in column {column!r} ({label!r}: a missing value, not a class)"
    elif (isinstance(label, float) and math.isinf(label)) or (
            isinstance(label, str) and label.strip().lower().lstrip("+-") in ("inf", "infinity")):
        problem = f"label {label!r} in column {column!r} is an infinity, not a class"
    elif isinstance(label, str) and label.strip().upper() in _EXCEL_ERRORS:
        problem = (f"label {label!r} in column {column!r} is an Excel error value (a formula that failed), "
                   "not a class")
    else:
        return None
    return DataError(
        f"{where}: {problem}. Fill in the labels of such rows or drop them (pandas: "
        f"df.dropna(subset=[{column!r}]) before writing the file)."
    )


def _missing_text_error(where: str, text, column: str, *, cell: bool = False) -> DataError | None:
    """The error for a text that is a missing value, as for a label; or None.

    Missing: JSON ``null`` and an empty CSV cell, which is how pandas writes
    a missing text (NaN) and how it, and :func:`toolkit.distributed.read_texts`,
    read the cell back. A text of spaces, or ``""`` in JSON, is an empty
    document (:func:`_warn_blank_texts`). ``cell``: ``text`` is a CSV cell.
    """
    if text is not None and not (cell and text == ""):
        return None
    what = "(null)" if text is None else "(an empty cell, which pandas also reads as a missing value, NaN)"
    return DataError(
        f"{where}: missing text {what} in {column!r}. Fill it in or drop the record, and any other without "
        f"a text (pandas: df.dropna(subset=[{column!r}]) before writing the file)."
    )


def _warn_blank_texts(path, column: str, lines: list) -> None:
    """One warning for the records of ``path`` whose text is blank (their ``lines``: spaces, or ``""`` in
    JSON), read as empty documents: a model learns nothing from them (EmbeddingClassifier refuses them;
    ``toolkit data describe`` counts them)."""
    if lines:
        logger.warning(
            "%s: %d record(s) with a blank text in %r (first: line %d), read as empty documents; a classifier "
            "learns nothing from them and EmbeddingClassifier refuses them. Fill in or drop such records "
            "(pandas: df = df[df[%r].str.strip() != '']) unless empty documents are meant.",
            path, len(lines), column, lines[0], column,
        )


def _clean_label(label):
    """``label`` with surrounding whitespace removed when it is a string: ``"pos "`` (a cell typed in Excel,
    ``", "``-separated values) is the class ``"pos"``, as ``" 1"`` is the class ``1``."""
    return label.strip() if isinstance(label, str) else label


def _encode_labels(values: list, source: str) -> tuple[np.ndarray, list]:
    """Map raw label values to 0..k-1 (sorted, numerically when all are numbers).

    Labels that are all numbers (ints, floats, numeric strings, mixed) are
    one class per number, in numeric order (``"2.5"`` before ``"10"``),
    named as the number: ``str(int)`` for a whole one (``1.0`` and ``"1"``
    are ``"1"``), the shortest ``str(float)`` for one with a fraction
    (``"2.50"`` and ``2.5`` are ``"2.5"``). Other labels are sorted by value
    and named ``str(value)``, a number among them still one class named as
    the number (``"1.0"`` and ``"1"`` beside ``"pos"`` are ``"1"``, as
    :func:`toolkit.distributed.read_texts` reads them); two of them with one
    name are an error.
    """
    # True == 1 in Python: a set kept 1 or True, whichever came first, so the classes depended on the order of
    # the labels. A bool is the number 1 (0) beside other numbers, else its own class, as in a corpus store.
    if any(t not in (bool, np.bool_) and _numeric_label(v) is not None for t, v in {(type(v), v) for v in values}):
        values = [int(v) if isinstance(v, (bool, np.bool_)) else v for v in values]
    distinct = set(values)
    numeric = {v: _numeric_label(v) for v in distinct}
    if all(n is not None for n in numeric.values()):
        # one class per number: 1, 1.0, "1", "1.0" and " 1" (JSON numbers and strings mixed, padded CSV
        # cells, a float column written by pandas) are the same, and so are 2.5, "2.5" and "2.50"
        ordered = sorted(set(numeric.values()))
        position = {value: i for i, value in enumerate(ordered)}
        index = {v: position[n] for v, n in numeric.items()}
    else:
        # among other labels a number is still one class however it is written ("1.0" and "1" are "1"), as
        # toolkit.distributed reads each label of a file on its own, without seeing the others
        spelled = {v: v if n is None else str(n) for v, n in numeric.items()}
        try:
            ordered = sorted(set(spelled.values()))
        except TypeError:
            ordered = sorted(set(spelled.values()), key=repr)
        position = {value: i for i, value in enumerate(ordered)}
        index = {v: position[s] for v, s in spelled.items()}
    names = [str(v) for v in ordered]
    if len(set(names)) < len(names):
        same = next(n for n in names if names.count(n) > 1)
        clash = [v for v in ordered if str(v) == same]
        raise DataError(
            f"{source}: the labels {', '.join(repr(v) for v in clash)} are different values with the same name "
            f"{same!r}; write each class one way (e.g. all as strings) in the file."
        )
    return np.array([index[v] for v in values], dtype=np.int64), names


#: the first bytes of each compressed format read transparently, and its stdlib module
_COMPRESSED = ((b"\x1f\x8b", "gzip"), (b"BZh", "bz2"), (b"\xfd7zXZ\x00", "xz"))

#: the command line tool of each of those formats
_COMPRESSOR = {"gzip": "gzip", "bz2": "bzip2", "xz": "xz"}

#: the suffixes of those formats (``reviews.csv.gz`` is a CSV file)
COMPRESSED_SUFFIXES = (".gz", ".bz2", ".xz")

#: the suffixes of Parquet files (as dask.dataframe.read_parquet knows them): read with pyarrow, never as text.
#: Here, not in toolkit.distributed, so the CLI knows them without importing Dask.
PARQUET_SUFFIXES = (".parquet", ".parq", ".pq")


def _compression(path: Path) -> str | None:
    """``"gzip"``, ``"bz2"`` or ``"xz"`` when ``path`` starts with that format's magic bytes, else None.

    Found by the content, not the name: a ``reviews.csv`` that holds gzip data (a download saved without
    decoding) is read, and a ``reviews.csv.gz`` that holds plain text is read as it is.
    """
    try:
        with open(path, "rb") as fh:
            head = fh.read(10)
    except OSError:
        return None  # the opening of the file names the problem
    return _compression_of(head)


def _compression_of(head: bytes) -> str | None:
    """``"gzip"``, ``"bz2"`` or ``"xz"`` when ``head`` (at least the first 10 bytes of a stream, or all of a
    shorter one) starts with that format's magic bytes, else None."""
    kind = next((name for magic, name in _COMPRESSED if head.startswith(magic)), None)
    if kind == "bz2" and not (head[3:4].isdigit() and head[4:10] in (b"1AY&SY", b"\x17rE8P\x90")):
        return None  # text that starts with "BZh": a bzip2 stream goes on with a block size and a block's magic
    return kind


#: the bytes :func:`archive_kind` needs: a tar header's "ustar" magic ends at byte 262
ARCHIVE_HEAD = 262


def archive_kind(head: bytes) -> str | None:
    """``"tar"`` or ``"zip"`` when ``head`` (the first :data:`ARCHIVE_HEAD` bytes of a file, decompressed)
    starts a tar or zip archive, else None.

    A tar header spells ``ustar`` at bytes 257-261, after the NULs that pad
    its fields: text whose bytes 257-261 happen to spell it ("gustar",
    "custard") holds no NUL before them, so is no archive. Read as text, an
    archive gave its members' headers and every member as documents.
    """
    if head[257:262] == b"ustar" and b"\x00" in head[:257]:
        return "tar"
    if head[:4] == b"PK\x03\x04":
        return "zip"
    return None


def tar_first_member(head: bytes) -> str:
    """The name of the first member of a tar archive whose first bytes are ``head`` (its header's name field)."""
    return head[:100].split(b"\x00", 1)[0].decode("utf-8", "replace")


def _misnamed_compressed_error(path, kind: str) -> DataError:
    """The error for an input whose name says it is plain but that holds ``kind``-compressed data, where the
    name decides how it is read (``read_texts`` cuts a plain file in blocks of raw bytes)."""
    suffix = dict(zip(_COMPRESSOR, COMPRESSED_SUFFIXES))[kind]  # (the two tables list the formats in one order)
    return DataError(f"{path} holds {kind}-compressed data, but its name does not say so; rename it to end in "
                     f"{suffix} (it is then read decompressed), or decompress it "
                     f"(`{_COMPRESSOR[kind]} -dc FILE > NEW_FILE`).")


class _Decompressed(io.RawIOBase):
    """The decompressed bytes of a gzip/bz2/xz stream; a damaged or cut-short file is a DataError naming it.

    ``gzip``'s EOFError ("Compressed file ended before the end-of-stream marker was reached"), BadGzipFile and
    zlib.error (and bz2's and lzma's) name no file, and surfaced as tracebacks from deep inside the readers.
    ``fileobj``, when given, is read instead of ``path``, which then only names it (``"standard input"``).
    """

    def __init__(self, path: Path | str, kind: str, fileobj=None):
        self.path, self.kind = path, kind
        if kind == "gzip":
            import gzip as module
        elif kind == "bz2":
            import bz2 as module
        else:
            import lzma as module
        self._errors = _decompression_errors()
        self._inner = module.open(path if fileobj is None else fileobj, "rb")  # noqa: SIM115 - closed by close()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        try:
            return self._inner.readinto(buffer)
        except self._errors as err:
            short = isinstance(err, EOFError)
            raise DataError(
                f"{self.path}: not a {'complete' if short else 'valid'} {self.kind} file ({err}). Copy or "
                f"download it again{' (it was cut short)' if short else ''}, or compress it again; "
                f"`{_COMPRESSOR[self.kind]} -t FILE` tests one."
            ) from err

    def close(self) -> None:
        try:
            inner = getattr(self, "_inner", None)  # None: the opening failed
            if inner is not None:
                inner.close()
        finally:
            super().close()


def _decompression_errors() -> tuple:
    """The exceptions the stdlib decompressors raise for damaged data."""
    import zlib

    errors: list = [EOFError, zlib.error, OSError]  # gzip.BadGzipFile and bz2's "Invalid data stream" are OSErrors
    try:
        import lzma

        errors.append(lzma.LZMAError)
    except ImportError:  # a Python built without lzma
        pass
    return tuple(errors)


#: the first bytes of a Zstandard file: no stdlib decompressor before Python 3.14, so it is refused by name
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


def _open_bytes(path: Path):
    """A binary stream of ``path``'s content, decompressed (streaming) when it is gzip, bz2 or xz data."""
    kind = _compression(path)
    if kind is None:
        fh = open(path, "rb")  # noqa: SIM115 - the caller closes it
        if fh.peek(4)[:4] == _ZSTD_MAGIC:
            fh.close()
            raise DataError(f"{path} is Zstandard-compressed (zstd), which is not read here; decompress it "
                            f"(`zstd -d FILE`) or recompress it with gzip (`zstd -dc FILE | gzip > NEW_FILE.gz`), "
                            "and pass that file.")
        return fh
    try:
        return io.BufferedReader(_Decompressed(path, kind), buffer_size=1 << 16)
    except ImportError as err:  # bz2/lzma missing from this Python
        raise DataError(f"{path} is {kind}-compressed and this Python cannot decompress {kind} ({err}); "
                        "decompress it first and pass the plain file.") from err


#: the first bytes of the binary formats a table is kept in, what each is, and the pandas reader of each
_BINARY_TABLES = (
    (b"PAR1", "a Parquet file", "read_parquet"),
    (b"ARROW1", "an Arrow/Feather file", "read_feather"),
    (b"PK\x03\x04", "a zip archive", None),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an Excel .xls workbook", "read_excel"),
)


def _binary_table_error(path: Path, jsonl: bool = False) -> DataError | None:
    """The error for a table in a binary format (Parquet, Feather, Excel; found by its first bytes, also when
    compressed) given to a reader of text, or None. It was read as text: "not valid utf-8 ...; is it in
    another encoding, such as latin-1?", with an ``iconv`` command that makes it garbage. ``jsonl``: the
    conversion shown writes JSON lines, not CSV."""
    try:
        with _open_bytes(path) as fh:
            head = fh.read(ARCHIVE_HEAD)
    except (OSError, EOFError, DataError, *_decompression_errors()):
        return None  # the reader names it
    found = next(((what, reader) for magic, what, reader in _BINARY_TABLES if head.startswith(magic)), None)
    if found is None:
        if archive_kind(head) != "tar":
            return None
        found = ("a tar archive", None)
    what, reader = found
    if what == "a zip archive" and _strip_compression(path).suffix.lower() in (".xlsx", ".xlsm", ".ods"):
        what, reader = f"a {_strip_compression(path).suffix.lower()} workbook (a zip archive)", "read_excel"
    target = _strip_compression(path).with_suffix(".jsonl" if jsonl else ".csv")
    write = (f"to_json({str(target)!r}, orient='records', lines=True)" if jsonl else
             f"to_csv({str(target)!r}, index=False)")
    tool = "tar -xf" if what == "a tar archive" else "unzip"
    convert = (f"Extract it (`{tool} {shlex.quote(str(path))}`) and pass the file inside" if reader is None else
               f"Convert it, e.g. in Python: import pandas as pd; pd.{reader}({str(path)!r}).{write}, and pass "
               "that file (or build a TextDataset from the DataFrame's columns)")
    return DataError(f"{path} is {what}, not text: CSV/TSV and JSON lines files are read as text. {convert}.")


def _strip_compression(path: Path) -> Path:
    """``path`` without a compression suffix (``reviews.parquet`` for ``reviews.parquet.gz``)."""
    return path.with_suffix("") if path.suffix.lower() in COMPRESSED_SUFFIXES else path


def _open_text(path: Path, encoding: str, *, jsonl: bool = False):
    """``path`` opened as text (``newline=""``, a UTF-8 byte order mark dropped); gzip, bz2 and xz files are
    decompressed as they are read (found by their first bytes), so every check sees the plain text."""
    if not path.exists():
        raise DataError(f"File {path} does not exist.")
    if path.is_dir():
        raise DataError(f"{path} is a folder; pass a file (or use load_folder for a folder of text files).")
    binary = _binary_table_error(path, jsonl)
    if binary is not None:
        raise binary
    try:
        if _compression(path) is None:
            return open(path, encoding=_without_bom(encoding), newline="")
        return io.TextIOWrapper(_open_bytes(path), encoding=_without_bom(encoding), newline="")
    except OSError as err:
        raise DataError(f"Cannot read {path}: {err}.") from err


#: the bytes cp1252 leaves undefined
_CP1252_UNDEFINED = frozenset(b"\x81\x8d\x8f\x90\x9d")


def _legacy_encoding(data: bytes) -> str:
    """The 8-bit encoding to convert ``data`` from, where it is not UTF-8: ``"cp1252"`` or ``"latin1"``.

    ``"cp1252"`` when the bytes that are not UTF-8 include some of 0x80-0x9f (and none that cp1252 leaves
    undefined): Windows and Excel write curly quotes, dashes, the euro sign and the ellipsis there, and
    latin-1 reads them as invisible control characters, so ``iconv -f latin1`` converted such a file without
    an error and with its punctuation lost. Else ``"latin1"`` (which reads every byte).

    Examples
    --------
    >>> _legacy_encoding("“café” – 5 €".encode("cp1252")), _legacy_encoding("café".encode("latin-1"))
    ('cp1252', 'latin1')
    """
    text = data.decode("utf-8", "surrogateescape")  # a byte that is not UTF-8: a surrogate U+DC80-U+DCFF
    c1 = {ord(c) - 0xDC00 for c in re.findall("[\udc80-\udc9f]", text)}
    return "cp1252" if c1 and not c1 & _CP1252_UNDEFINED else "latin1"


def _legacy_note(source: str) -> str:
    """Why ``source`` (:func:`_legacy_encoding`) is named, when it is cp1252."""
    return (" (cp1252, not latin1: its bytes 0x80-0x9f are Windows' quotes, dashes or euro signs, which latin1 "
            "turns into control characters)" if source == "cp1252" else "")


def _undecodable(path: Path, encoding: str, err: UnicodeDecodeError) -> DataError:
    """The error for a text file with bytes ``encoding`` cannot decode, naming the line of the first one.

    ``err.start`` counts from the start of the decoder's buffer, not the file,
    so the position is found again by decoding the bytes incrementally.
    """
    import codecs

    tool = _COMPRESSOR.get(_compression(path))

    def fix(source: str) -> str:
        # a compressed file: iconv reads the text, not the compressed bytes
        convert = (f"iconv -f {source} -t {encoding} FILE > NEW_FILE" if tool is None else
                   f"{tool} -dc FILE | iconv -f {source} -t {encoding} | {tool} > NEW_FILE")
        python = "'cp1252', 'latin-1'" if source == "cp1252" else "'latin-1', 'cp1252'"
        return (f"Save the file as {encoding} (e.g. `{convert}`){_legacy_note(source)}, or, "
                f"in Python, pass its encoding (encoding={python}, 'utf-16'...).")

    with _open_bytes(path) as fh:  # a compressed file's text: lines and bytes are counted in it
        data = fh.read(1 << 24)  # what to convert from: the first 16 MiB tell
    head, legacy = data[:2], _legacy_encoding(data)
    if head in (b"\xff\xfe", b"\xfe\xff") and not codecs.lookup(encoding).name.startswith("utf-16"):
        # Excel's "Unicode Text", PowerShell 5's `>` and Notepad's "Unicode" write UTF-16 with this mark
        return DataError(f"{path} is UTF-16 text (it starts with a UTF-16 byte-order mark), not {encoding}. "
                         f"{fix('UTF-16')}")
    decoder, line, offset = codecs.getincrementaldecoder(encoding)(), 1, 0
    with _open_bytes(path) as fh:
        for raw in fh:
            try:
                decoder.decode(raw)
            except UnicodeDecodeError as bad:
                return DataError(
                    f"{path}, line {line}: not valid {encoding} (byte {offset + max(bad.start, 0)} of the {'decompressed ' if tool else ''}file, "
                    f"{bad.reason}); is it in another encoding, such as latin-1 or cp1252? {fix(legacy)}"
                )
            line, offset = line + 1, offset + len(raw)
    return DataError(f"{path} is not valid {encoding} ({err}). {fix(legacy)}")


#: (source, class names) that :func:`_warn_cased_labels` warned about: once per process (a command reads its data
#: twice, a notebook may load a file again)
_CASED_WARNED: set = set()


def _warn_cased_labels(path, labels: np.ndarray, names: list, column: str | None) -> None:
    """One warning for the classes of ``path`` whose names differ only in case (``'Pos'`` beside ``'pos'``, a
    spreadsheet labelled by hand): each was read as a class of its own, without a word, and a model split
    the documents of one class between them. Said once per source and classes (the CLI calls it too)."""
    names = [str(name) for name in names]
    groups: dict = {}
    for i, name in enumerate(names):
        groups.setdefault(name.casefold(), []).append(i)
    cased = [group for group in groups.values() if len(group) > 1]
    key = (str(path), tuple(names))
    if not cased or key in _CASED_WARNED:
        return
    _CASED_WARNED.add(key)
    counts = np.bincount(np.asarray(labels), minlength=len(names)).tolist()
    shown = "; ".join(", ".join(f"{names[i]!r} ({counts[i]:,} record{'s' * (counts[i] != 1)})" for i in group)
                      for group in cased[:3])
    where = "labels" if column is None else f"labels in column {column!r}"
    fix = "" if column is None else f" (pandas: df[{column!r}] = df[{column!r}].str.lower())"
    logger.warning(
        "%s: %s differ only in case: %s%s. Each is read as a class of its own; write each class one way in the "
        "file%s unless they are different classes.", path, where, shown, "; ..." if len(cased) > 3 else "", fix,
    )


def _warn_repeated_ids(path, ids: list, column: str) -> None:
    """One warning for the values of ``path``'s id column that are empty or repeated: an id names one record,
    and predictions joined back by id (``toolkit predict --id-column``, a merge in pandas) match several rows,
    or none, for them. They were taken without a word."""
    counts: dict = {}
    for value in ids:
        key = value if isinstance(value, (str, int, float, bool, type(None))) else repr(value)
        counts[key] = counts.get(key, 0) + 1
    empty = sum(n for v, n in counts.items() if v is None or (isinstance(v, str) and not v.strip()))
    repeated = [(v, n) for v, n in counts.items() if n > 1 and not (v is None or (isinstance(v, str) and not v.strip()))]
    if not empty and not repeated:
        return
    parts = []
    if repeated:
        shown = ", ".join(f"{v!r} ({n} times)" for v, n in repeated[:3]) + (", ..." if len(repeated) > 3 else "")
        parts.append(f"{len(repeated):,} value(s) repeated ({shown})")
    if empty:
        parts.append(f"{empty:,} record(s) without an id")
    logger.warning("%s: the id column %r has %s; an id names one record, so joining results back by it matches "
                   "several records, or none. Give each record its own id (pandas: df[%r].duplicated(keep=False) "
                   "finds the repeated ones), or leave id_column out to number the records.",
                   path, column, " and ".join(parts), column)


def _table_dataset(path, texts, raw_labels, ids, label_column, func, shuffle, random_state, limit, id_column=None):
    if not texts:
        raise DataError(f"{path} has no records.")
    if id_column is not None:
        _warn_repeated_ids(path, ids, id_column)
    if label_column is None:
        labels, names = np.full(len(texts), -1, dtype=np.int64), []
    else:
        labels, names = _encode_labels(raw_labels, str(path))
        _warn_cased_labels(path, labels, names, label_column)
    ds = TextDataset(
        texts=texts,
        labels=labels,
        target_names=names,
        ids=np.asarray(ids),
        source=str(path),
    )
    return _finish(ds, shuffle=shuffle, random_state=random_state, limit=limit, func=func)


def load_csv(
    path: str | os.PathLike,
    *,
    text_column: str = "text",
    label_column: str | None = "label",
    id_column: str | None = None,
    delimiter: str = ",",
    encoding: str = "utf-8",
    shuffle: bool = False,
    random_state=None,
    limit: int | None = None,
) -> TextDataset:
    """Load texts (and labels) from a CSV file with a header row.

    Parameters
    ----------
    path : path-like
        The CSV file; gzip, bz2 or xz compressed too (``reviews.csv.gz``:
        found by its first bytes, whatever its name, and decompressed as it is
        read; line numbers in errors count the decompressed text).
    text_column : str, default="text"
        Column of the texts.
    label_column : str or None, default="label"
        None loads the texts unlabelled (label -1). Labels are mapped to
        0..k-1 in sorted order (numeric order when all are integers; 1.0 is 1); their
        original values are ``target_names``. Spaces around a label are
        dropped (``"pos "`` is ``"pos"``); an empty label, ``nan`` or an
        infinity is an error naming the line (a missing value, not a class).
    id_column : str, optional
        Column with record ids; default: the 0-based row number.
    delimiter : str, default=","
        Use ``"\\t"`` for TSV.
    encoding : str, default="utf-8"
        A leading UTF-8 byte order mark (Excel's "CSV UTF-8") is dropped.
    shuffle, random_state, limit
        As in :func:`load_imdb`.

    Returns
    -------
    TextDataset
        Blank lines and rows of empty fields (``;;``, which Excel writes
        for cleared rows) are skipped, with a warning for the latter; record
        numbers (the default ids) do not count them. A text of spaces only
        is an empty document (one warning counts them).

    Raises
    ------
    DataError
        When the file is missing or unreadable, a column is missing (the
        message lists the columns that exist) or named twice in the header,
        a row lacks its text or label (with the line where an unclosed quote
        opens), a text is an empty cell (a missing value, as pandas reads
        it), a label is missing (empty, ``nan``), or a row has more fields
        than the header (an unquoted delimiter).

    Examples
    --------
    >>> from toolkit.data import load_csv               # doctest: +SKIP
    >>> ds = load_csv("reviews.csv", text_column="review", label_column="sentiment")  # doctest: +SKIP
    """
    _check_label_not_text(text_column, label_column, "load_csv")
    _check_encoding(encoding, "load_csv")
    path = Path(path).expanduser()
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    texts, raw_labels, ids = [], [], []
    with _open_text(path, encoding) as fh:
        try:
            head = fh.readline()
            hint = _EXCEL_SEP.fullmatch(head)
            skip = 0 if hint is None else 1  # the lines before the reader's first: its line numbers are off by it
            if hint is not None:
                # Excel's delimiter hint (a first line "sep=;", which some exporters write and Excel obeys): it
                # was read as the header, and the advice "pass delimiter=';'" then found the columns 'sep=', ''
                logger.info("%s: line 1 is Excel's delimiter hint %r; read with delimiter=%r", path, head.strip(),
                            hint.group(1) if delimiter == "," else delimiter)
                delimiter = hint.group(1) if delimiter == "," else delimiter
            # the raw lines of each record: one over several lines is checked strictly
            tap = _LineTap(fh if hint is not None else itertools.chain([head] if head else [], fh))
            reader = csv.DictReader(tap, delimiter=delimiter)
            if reader.fieldnames is None:
                raise DataError(f"{path} is empty: load_csv expects a header row naming the columns, then one row per text.")
            columns = reader.fieldnames
            _check_csv_columns(path, columns, delimiter, text_column=text_column, label_column=label_column,
                               id_column=id_column)
            blank_rows, first_blank, end, blank_texts = 0, None, reader.line_num + skip, []
            tap.lines.clear()
            for row in reader:
                start, line, end = end + 1, reader.line_num + skip, reader.line_num + skip
                if line > start and None not in row and None not in row.values():  # (a short row: below)
                    _check_quoted_record(path, tap.lines, delimiter, start, line)
                tap.lines.clear()
                if None not in row and not any(v.strip() for v in row.values() if v is not None):
                    # a row of empty fields (";;;"): what Excel exports for rows whose cells were cleared
                    blank_rows, first_blank = blank_rows + 1, first_blank or line
                    continue
                if None in row:  # DictReader's restkey: more fields than the header
                    raise DataError(
                        f"{path}, line {line}: {len(columns) + len(row[None])} fields, but the header has "
                        f"{len(columns)} ({columns}). A text that holds the delimiter {delimiter!r} must be quoted "
                        '("...", with "" for a quote inside); check the delimiter= parameter too.'
                    )
                if line > start and delimiter == "\t" and any(v and "\t" in v and "\n" in v for v in row.values()
                                                               if isinstance(v, str)):
                    # tabs and line breaks in one field: rows of a TSV written without quoting, joined by a quote
                    # that starts a text and another that ends one just before a tab (which is CSV quoting)
                    raise DataError(f"{path}, lines {start}-{line}: one field holds tabs and line breaks, so several "
                                    f"rows were read as one. {_QUOTE_FIX}")
                text = row.get(text_column)
                if text is None:
                    raise DataError(f"{path}, line {line}: the row has no {text_column!r} value (too few fields)."
                                    f"{_open_quote_hint(start, line)}")
                missing = _missing_text_error(f"{path}, line {line}", text, text_column, cell=True)
                if missing is not None:
                    raise missing
                if not text.strip():
                    blank_texts.append(line)
                texts.append(text)
                if label_column is not None:
                    label = row.get(label_column)
                    if label is None:
                        raise DataError(f"{path}, line {line}: missing label in column {label_column!r} (the row "
                                        f"has {len(row) - list(row.values()).count(None)} of the header's "
                                        f"{len(columns)} fields).{_open_quote_hint(start, line)}")
                    missing = _missing_label_error(f"{path}, line {line}", label, label_column)
                    if missing is not None:
                        raise missing
                    raw_labels.append(_clean_label(label))
                ids.append(row[id_column] if id_column is not None else len(ids))
        except csv.Error as err:
            at = reader.reader.line_num + skip  # DictReader's own line_num is the last record's, not the failing one's
            spans = f" (the record starts on line {end + 1})" if at > end + 1 else ""
            raise DataError(f"{path}, line {at}: malformed CSV ({err}){spans}. {_QUOTE_FIX}") from err
        except UnicodeDecodeError as err:
            raise _undecodable(path, encoding, err) from err
    if blank_rows:
        logger.warning("%s: %d row(s) of empty fields skipped (first: line %d), as blank lines are; record "
                       "numbers do not count them.", path, blank_rows, first_blank)
    _warn_blank_texts(path, text_column, blank_texts)
    return _table_dataset(path, texts, raw_labels, ids, label_column, "load_csv", shuffle, random_state, limit,
                          id_column)


def _header_delimiter(header) -> str:
    """The delimiter of a CSV file whose header row, read with commas, is ``header``: a comma, or the one of
    ``;``, a tab and ``|`` that a header of one field holds (Excel's "CSV" where the decimal mark is a comma,
    ``to_csv(sep=";")``). How the commands and :func:`toolkit.distributed.read_texts` read a ``.csv``."""
    if header is None or len(header) != 1:
        return ","
    found = [d for d in (";", "\t", "|") if d in header[0]]
    return found[0] if len(found) == 1 else ","


def _check_csv_columns(path, columns: list, delimiter: str, **wanted) -> None:
    """Refuse a CSV header without a wanted column (``text_column="review"``, None: not wanted) or with
    it twice, naming the columns there are and the fix."""
    for param, col in wanted.items():
        if col is not None and col not in columns:
            other = [d for d in ("\t", ";", ",", "|") if d != delimiter and len(columns) == 1 and d in columns[0]]
            hint = (f" The header has one column holding {other[0]!r}: pass delimiter={other[0]!r}."
                    if other else "")
            padded = [c for c in columns if c is not None and c.strip() == col]
            if padded:
                hint += f" The header's {padded[0]!r} has spaces around the name: remove them in the file."
            cased = [c for c in columns if c is not None and c.strip() != col and c.strip().lower() == col.lower()]
            if cased and not padded:  # "Review" for review: Excel headers are often capitalised
                hint += _case_hint("Column names", cased[0])
            raise DataError(
                f"Column {col!r} ({param}) not found in {path}; its columns are {columns}. "
                f"Pass {param}=<one of them>.{hint}"
            )
        if col is not None and columns.count(col) > 1:
            # DictReader keeps the last column of a name: the texts or labels would silently come from it
            where = [i + 1 for i, c in enumerate(columns) if c == col]
            raise DataError(
                f"{path}: the header names {len(where)} columns {col!r} (columns "
                f"{', '.join(map(str, where))} of {len(columns)}), so the column {col!r} ({param}) is ambiguous. "
                "Rename them in the file so that each name is used once."
            )


_NOT_FOUND = object()


def _record_field(record: dict, key: str):
    """The value of ``key`` in a JSON record: a key of the record, or a path of nested keys joined by dots
    (``"review.body"`` for ``{"review": {"body": ...}}``, as :func:`pandas.json_normalize` names the columns);
    ``_NOT_FOUND`` when there is none. A key that holds a dot itself is taken first."""
    if key in record:
        return record[key]
    value = record
    for part in key.split(".") if "." in key else ():
        if not isinstance(value, dict) or part not in value:
            return _NOT_FOUND
        value = value[part]
    return value if value is not record else _NOT_FOUND


def _nested_keys(record: dict, limit: int = 8) -> list[str]:
    """The dotted paths (``"review.body"``) of the values that objects of ``record`` hold, at most ``limit``."""
    paths, stack = [], [(k, v) for k, v in record.items() if isinstance(v, dict)]
    while stack and len(paths) < limit:
        prefix, value = stack.pop(0)
        for k, v in value.items():
            if isinstance(v, dict):
                stack.append((f"{prefix}.{k}", v))
            else:
                paths.append(f"{prefix}.{k}")
    return paths[:limit]


def _nested_hint(record: dict, param: str) -> str:
    """How to name a nested value of ``record`` (its dotted paths), or "" when it holds no objects."""
    paths = _nested_keys(record)
    if not paths:
        return ""
    return (f" A key inside an object is named with dots ({param}): "
            f"{', '.join(repr(p) for p in paths)}{', ...' if len(paths) >= 8 else ''}.")


def _check_record_keys(path, lineno: int, record: dict, **wanted) -> None:
    """Refuse a JSON lines record without a wanted key (``text_column="review"``, None: not wanted); a
    dotted key (``"review.body"``) names a nested one (:func:`_record_field`)."""
    for param, key in wanted.items():
        if key is not None and _record_field(record, key) is _NOT_FOUND:
            cased = [k for k in record if isinstance(k, str) and k.strip().lower() == key.lower()]
            raise DataError(
                f"{path}, line {lineno}: key {key!r} ({param}) not found; the record's keys are "
                f"{sorted(record)}. Pass {param}=<one of them>.{_case_hint('Keys', cased[0]) if cased else ''}"
                f"{_nested_hint(record, param)}"
            )


def _object_error(where: str, key: str, value: dict, param: str) -> DataError:
    """The error for an object (a dict) where a text or a label is read: the dotted keys of its values."""
    inner = {key: value}
    return DataError(f"{where}: {key!r} is an object (a dict with keys {sorted(value)}), not a "
                     f"{'string' if param == 'text_column' else 'scalar'}.{_nested_hint(inner, param)}")


def _check_label_not_text(text_column, label_column, func: str) -> None:
    """Refuse a ``label_column`` that is the ``text_column``: each text would be its own label, and a model of
    them scores 100% on a split of such data (``toolkit train --column label --label-column label`` did)."""
    if label_column is not None and label_column == text_column:
        raise InvalidParameterError(
            f"The 'label_column' parameter of {func} names the text column {text_column!r} too: the labels would "
            "be the texts themselves (a model of them scores 100%). Pass the column of the labels, or "
            "label_column=None to read the texts alone."
        )


def _case_hint(what: str, name: str) -> str:
    """The hint for a column or key ``name`` that differs from the one asked for in case (or spaces) only."""
    spaces = " and the spaces around them count" if name != name.strip() else ""
    return f" {what} are case-sensitive{spaces}: did you mean {name!r}?"


#: Excel's delimiter hint, a first line such as ``sep=;`` (before the header)
_EXCEL_SEP = re.compile(r"sep=(.)\r?\n?")


def excel_sep_hint(line: str) -> str | None:
    """The delimiter that ``line``, a CSV file's first, names when it is Excel's hint (``sep=;``), else None."""
    m = _EXCEL_SEP.fullmatch(line)
    return None if m is None else m.group(1)


class _LineTap:
    """An iterator over the lines of ``fh`` that keeps those read since its ``lines`` was last cleared."""

    def __init__(self, fh):
        self.fh, self.lines = fh, []

    def __iter__(self):
        return self

    def __next__(self):
        line = next(self.fh)
        self.lines.append(line)
        return line


def _check_quoted_record(path, lines: list, delimiter: str, start: int, end: int) -> None:
    """Refuse a record over lines ``start``-``end`` (their text ``lines``) that is not CSV quoting.

    Read leniently (as pandas does), a quote that starts a field of a file written without quoting (a
    hand-made TSV, ``"Wow." ...``) opened a field that ran, line breaks, delimiters and labels included, up to
    the next quote anywhere: several rows became one text, silently. Read strictly, that closing quote is
    followed by more text. One-line records keep the lenient reading (``"Wow." great`` is ``Wow. great``).
    """
    try:
        for _ in csv.reader(lines, delimiter=delimiter, strict=True):
            pass
    except csv.Error as err:
        raise DataError(f"{path}, lines {start}-{end}: not CSV quoting ({err}): a quote that starts a field on line "
                        f"{start} made these lines one record. {_QUOTE_FIX}") from err


#: what to do about a quote that is not CSV quoting (the file was written without it)
_QUOTE_FIX = ('A field that starts with a quote (") is quoted: it must end with a quote followed by the delimiter '
              'or the line\'s end, with each quote inside doubled (""). Write the file with quoting (pandas\' '
              "to_csv and Python's csv module do), or remove the quote that starts the field.")


def _open_quote_hint(start: int, end: int) -> str:
    """A hint for a CSV row that lacks fields and spans lines ``start`` to ``end``: a quote left open.

    An opening ``"`` without its closing one makes the rest of the file (or
    up to the next lone quote) one field: the row then "lacks" its label.
    """
    if end <= start:
        return ""
    return (f' The row runs from line {start} to line {end}: a field that starts with a quote (") on line '
            f'{start} is not closed. Close it, or double the quotes inside a quoted field ("").')


_JSONL_FIX = "Write one JSON object per line (pandas: df.to_json(path, orient='records', lines=True))."


def _jsonl_hint(line: str, err: json.JSONDecodeError) -> str:
    """What a JSON lines reader's decoding error most likely means, and the fix; or ""."""
    if err.msg == "Extra data":
        return (f" Two JSON values on one line (character {err.pos + 1}): files joined without a newline between "
                "them (`cat` of a file that does not end with one)? Put each object on its own line.")
    if line.strip() in ("[", "{") or line.rstrip().endswith(("[", "{", ",")):
        return f" An object or array spread over several lines (pretty-printed JSON)? {_JSONL_FIX}"
    if err.msg.startswith("Invalid control character") and line[err.pos:err.pos + 1] in ("\n", "\r"):
        return (" A text holds a line break as it is, so its record goes on over the next line: JSON writes it "
                "as \\n inside a string. Write the file with json.dumps (pandas: df.to_json(path, "
                "orient='records', lines=True)), which escapes it.")
    if not line.endswith("\n") and (err.msg.startswith("Unterminated string") or err.pos >= len(line.rstrip())):
        # the last line, ending mid-record: it said only "(Unterminated string starting at)"
        return (" The file ends in the middle of this record: was it cut short (a copy, a download or a job "
                "writing it that stopped)? Copy or write it again, or drop its last line.")
    return ""


def load_jsonl(
    path: str | os.PathLike,
    *,
    text_column: str = "text",
    label_column: str | None = "label",
    id_column: str | None = None,
    encoding: str = "utf-8",
    shuffle: bool = False,
    random_state=None,
    limit: int | None = None,
) -> TextDataset:
    """Load texts (and labels) from a JSON Lines file (one JSON object per line).

    Blank lines are skipped. A text ``""`` (or of spaces only) is an empty
    document (one warning counts them); ``null`` is an error.

    Parameters
    ----------
    path : path-like
        The ``.jsonl`` file; gzip, bz2 or xz compressed too, as in :func:`load_csv`.
    text_column : str, default="text"
        Key of the text in each object; a key inside an object is named with
        dots, as :func:`pandas.json_normalize` names it: ``"review.body"``
        for ``{"review": {"body": "..."}}`` (a key that holds the dot itself
        is taken first).
    label_column : str or None, default="label"
        Key of the label (dotted too: ``"meta.label"``); None loads the texts unlabelled (label -1). Labels
        are mapped as in :func:`load_csv`; ``null``, ``NaN``, an infinity and
        ``"nan"`` are errors naming the line (missing values, not classes).
    id_column : str, optional
        Key of the record id; default: the 0-based record number (blank
        lines not counted).
    encoding : str, default="utf-8"
        A leading UTF-8 byte order mark is dropped.
    shuffle, random_state, limit
        As in :func:`load_imdb`.

    Returns
    -------
    TextDataset

    Raises
    ------
    DataError
        When the file is missing, a line is not a JSON object (the message
        says when the file is one JSON array, pretty-printed JSON or two
        files joined without a newline), a key is missing (the message names
        the line and lists the keys it has), a text is ``null`` or a label
        is missing.

    Examples
    --------
    >>> from toolkit.data import load_jsonl             # doctest: +SKIP
    >>> ds = load_jsonl("reviews.jsonl")                     # doctest: +SKIP
    """
    _check_label_not_text(text_column, label_column, "load_jsonl")
    _check_encoding(encoding, "load_jsonl")
    path = Path(path).expanduser()
    texts, raw_labels, ids, blank_texts = [], [], [], []
    with _open_text(path, encoding, jsonl=True) as fh:
        try:
            for lineno, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as err:
                    # json's "Unterminated string starting at" (or "Invalid control character at") needs its column
                    what = f"{err.msg} column {err.colno}" if err.msg.endswith(" at") else err.msg
                    raise DataError(f"{path}, line {lineno}: not valid JSON ({what}).{_jsonl_hint(line, err)}") from err
                if not isinstance(record, dict):
                    hint = (f" The line is a JSON array{' of objects' if record and isinstance(record[0], dict) else ''}"
                            f"; JSON lines hold one object per line. {_JSONL_FIX}" if isinstance(record, list) else "")
                    raise DataError(f"{path}, line {lineno}: expected a JSON object, got {type(record).__name__}.{hint}")
                _check_record_keys(path, lineno, record, text_column=text_column, label_column=label_column,
                                   id_column=id_column)
                text = _record_field(record, text_column)
                missing = _missing_text_error(f"{path}, line {lineno}", text, text_column)  # pandas' NaN: null
                if missing is not None:
                    raise missing
                if isinstance(text, dict):
                    raise _object_error(f"{path}, line {lineno}", text_column, text, "text_column")
                if not isinstance(text, str):
                    raise DataError(f"{path}, line {lineno}: {text_column!r} is a {type(text).__name__}, not a string.")
                if not text.strip():
                    blank_texts.append(lineno)
                texts.append(text)
                if label_column is not None:
                    label = _record_field(record, label_column)
                    missing = _missing_label_error(f"{path}, line {lineno}", label, label_column)
                    if missing is not None:
                        raise missing
                    if isinstance(label, dict):
                        raise _object_error(f"{path}, line {lineno}", label_column, label, "label_column")
                    if isinstance(label, (dict, list)):
                        raise DataError(f"{path}, line {lineno}: label {label!r} in {label_column!r} is not a scalar.")
                    raw_labels.append(_clean_label(label))
                ids.append(_record_field(record, id_column) if id_column is not None else len(ids))
        except UnicodeDecodeError as err:
            raise _undecodable(path, encoding, err) from err
    _warn_blank_texts(path, text_column, blank_texts)
    return _table_dataset(path, texts, raw_labels, ids, label_column, "load_jsonl", shuffle, random_state, limit,
                          id_column)

