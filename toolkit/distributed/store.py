"""An on-disk tokenized corpus: memory-mapped ``.npy`` arrays, one folder per partition.

Layout of a store folder::

    store.json          format tag, version, parts (documents, tokens, bytes of strings.bin, skipped documents,
                        blank texts), tokenizer parameters, and for input files (not a Dask collection) their
                        paths, sizes and modification times (CorpusStore.changed_sources)
    vocabulary.json     the full vocabulary (every token, by descending count)
    part-00000/
        tokens.npy      int32, one entry per token: index into strings.bin
        offsets.npy     int64, n_documents + 1: document i is tokens[offsets[i]:offsets[i+1]]
        strings.bin     the partition's distinct tokens, UTF-8, NUL-separated
        ids.npy         int32, one entry per token: its id in vocabulary.json
        labels.npy      the partition's labels (only when the input had labels)

Why this format: the arrays are exactly :class:`~toolkit.text.TokenizedCorpus`'
own (flat ids + offsets), so a partition reopens as a corpus with
``np.load(mmap_mode="r")`` and nothing is parsed or copied; partitions are
written in parallel by the workers that tokenized them (no coordination but a
folder name each), as a Parquet dataset would be, without a Parquet dependency
or a decode step on read. The vocabulary ids are frequency ranked, so the
vocabulary of any ``max_tokens`` / ``min_count`` is a prefix of the stored one
and its ids are the stored ids with every id past the prefix mapped to the OOV
id: one store serves every vocabulary size of a grid.

A build writes into a temporary folder next to the target and renames it when
complete (:func:`toolkit._atomic.atomic_output`), so a failed build, or a
worker killed during one, leaves no store behind under its name.

A partition is checked when it is first read against what ``store.json``
records (the length of each array, the size of ``strings.bin``), a few
``stat`` calls and ``.npy`` headers: a file cut short since the build (an
interrupted copy, a full disk) or taken from another build fails then with a
:class:`~toolkit.exceptions.DataError` naming it, not later with an index
error or wrong tokens. Stores written before ``store.json`` recorded the size
of ``strings.bin`` get a slower check of it (one pass over ``tokens.npy``).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
from pathlib import Path

import numpy as np

from .._atomic import atomic_output, recover_moved_aside
from .._fileid import stat_id
from .._validation import Interval, validate_param
from ..exceptions import DataError, DocumentError
from ..text.corpus import TokenizedCorpus
from ..text.vocabulary import OOV_ID, Vocabulary, _pad_flat
from .partitions import _length, merge_counts, partition_counts, read_texts, require_dask, split_pairs, tree_combine

__all__ = ["CorpusStore"]

logger = logging.getLogger(__name__)

_FORMAT = "toolkit.corpus-store"
_VERSION = 1


class _PartitionDocumentError(DocumentError):
    """A bad document of one partition of a store's input, named by its partition and its number there, until
    :meth:`CorpusStore.build` counts the documents before it (only then, on this error's path)."""

    def __init__(self, message, *, document_index, partition):
        super().__init__(message, document_index=document_index)
        self.partition = int(partition)

    def __reduce__(self):  # from a Dask worker process, with its partition
        return _partition_document_error, (str(self), self.document_index, self.partition)


def _partition_document_error(message, document_index, partition):
    return _PartitionDocumentError(message, document_index=document_index, partition=partition)


def _globally_numbered(err, parts, scheduler, cluster) -> DocumentError:
    """``err`` (document N of partition P) as the tokenizer names it in one process: its number in the whole
    input, counted by reading the partitions before P again (this error's path only)."""
    import dask

    before = sum(_compute([dask.delayed(_length)(part) for part in parts[:err.partition]], scheduler, False,
                          "count", cluster=cluster))
    number = before + err.document_index
    subject = f"Document {number} of the input (document {err.document_index} of partition {err.partition})"
    message = str(err).replace(_partition_subject(err.document_index, err.partition), subject, 1)
    return DocumentError(message, document_index=number)


def _partition_subject(position, part) -> str:
    return f"Document {position} of partition {part} of the input"


def _write_part(items, folder: str, tokenizer) -> dict:
    """Runs in a worker: tokenize one partition and write its arrays; returns its counts."""
    from .partitions import _BadDocument, _tokenize_partition

    texts, labels = split_pairs(items)
    folder = Path(folder)
    part = int(folder.name.rsplit("-", 1)[-1])
    corpus = _tokenize_partition(texts, tokenizer, part)  # its skipped documents: logged by build, numbered in the input
    if isinstance(corpus, _BadDocument):  # named by its number in the whole input by build, which knows the rest
        raise _PartitionDocumentError(corpus.error.naming(_partition_subject(corpus.position, part)),
                                      document_index=corpus.position, partition=part)
    corpus = corpus.compact()
    # not parents=True: after a failed or interrupted build removed its temporary folder, a task still running
    # created it again and left a half-written partition there
    folder.mkdir(exist_ok=True)
    np.save(folder / "tokens.npy", corpus.ids)
    np.save(folder / "offsets.npy", corpus.offsets)
    strings = "\x00".join(corpus.strings).encode("utf-8", "surrogatepass")
    (folder / "strings.bin").write_bytes(strings)
    kinds = []
    if labels is not None:  # as read, with their types: the encode pass writes labels.npy by the whole input's kinds
        values, kinds = _checked_labels(labels, part, folder.name)
        (folder / _RAW_LABELS).write_text(json.dumps(values), encoding="utf-8")
    summary = partition_counts(corpus)
    summary["has_labels"] = labels is not None
    summary["label_kinds"] = kinds
    blank = [i for i, text in enumerate(texts) if not text.strip()]  # every text a str: the tokenizer took them
    summary["blank"], summary["first_blank"] = len(blank), (blank[0] if blank else None)
    summary["strings_bytes"] = len(strings)
    skipped = [] if corpus.skipped is None else corpus.skipped.tolist()
    summary["skipped"] = skipped
    summary["skipped_texts"] = [str(texts[i])[:40] for i in skipped[:_SKIPPED_SHOWN]]
    return summary


#: How many skipped documents the warning of :meth:`CorpusStore.build` names (all are in ``skipped``)
_SKIPPED_SHOWN = 5


def _log_skipped(summaries, texts, tok_params) -> None:
    """One warning for the documents the tokenizer skipped (``errors="skip"``), named by their number in the
    input (and line, for one ``.txt`` file), with the start of their text."""
    starts = np.concatenate([[0], np.cumsum([s["n_documents"] for s in summaries])])
    total = sum(len(s["skipped"]) for s in summaries)
    if not total:
        return
    shown = []
    for start, summary in zip(starts, summaries):
        for position, text in zip(summary["skipped"], summary["skipped_texts"]):
            shown.append(f"{_input_place(int(start + position), texts)} ({text!r}...)")
    limit = tok_params.get("max_length")
    logger.warning(
        "CorpusStore.build: SpacyTokenizer(errors='skip') gave empty token lists to %d of %d documents, longer "
        "than max_length=%s characters: %s%s. Their numbers in the input are the store's skipped "
        "(CorpusStore(path).skipped); split long documents, or raise max_length, to keep their tokens.",
        total, int(starts[-1]), "spaCy's limit" if limit is None else f"{limit:,}", "; ".join(shown[:_SKIPPED_SHOWN]),
        f"; and {total - _SKIPPED_SHOWN} more" if total > _SKIPPED_SHOWN else "")


def _input_place(number: int, texts) -> str:
    """Where document ``number`` of the input is: a line of one ``.txt`` file, else its number in the input."""
    one_file = isinstance(texts, (str, os.PathLike)) and "*" not in str(texts)
    single_txt = one_file and str(texts).lower().endswith((".txt", ".txt.gz", ".txt.bz2", ".txt.xz"))
    return f"line {number + 1} of {os.fspath(texts)}" if single_txt else f"document {number} of the input"


def _log_blank(summaries, texts) -> None:
    """One warning for the blank texts (empty, or only whitespace) of the input, counted by the partitions as
    they tokenized them (no pass of its own), as the in-memory readers warn (``load_csv``, ``load_jsonl``)."""
    total = sum(s["blank"] for s in summaries)
    if not total:
        return
    before = 0
    for summary in summaries:
        if summary["blank"]:
            first = before + summary["first_blank"]
            break
        before += summary["n_documents"]
    if hasattr(texts, "dask") or hasattr(texts, "__dask_graph__"):
        how = ("(a bag: bag.filter(lambda t: t.strip()), of pairs: t[0].strip(); a Dask DataFrame: "
               "ddf[ddf[text_column].str.strip() != ''])")
    else:
        how = "(remove the blank lines or records from the input files)"
    logger.warning(
        "CorpusStore.build: %d of %d texts are blank (empty or only whitespace; first: %s), stored as documents "
        "without tokens; a classifier learns nothing from them and fit_from_store refuses them. Drop them before "
        "building the store %s unless empty documents are meant.",
        total, sum(s["n_documents"] for s in summaries), _input_place(first, texts), how)


#: a partition's labels as read (JSON, with their types), until the encode pass writes labels.npy
_RAW_LABELS = "labels.json"


def _checked_labels(labels: list, part: int, name: str) -> tuple[list, list[str]]:
    """One partition's labels as plain values and their kinds, refusing missing ones (a CSV's empty cell, a JSON
    ``null``) and values that are not labels.

    The document without a label is named as a bad text is: by its number in
    the whole input once :meth:`CorpusStore.build` has counted the
    partitions before ``part`` (it was its number within the partition). The
    values keep their types (``1``, ``"1"``, ``True``): ``np.asarray`` of one
    partition turned ``[1, True]`` into ``[1, 1]`` but ``[True, "pos"]`` into
    ``["True", "pos"]``, so the classes depended on how the input was
    partitioned. :func:`_final_labels` gives them the whole input's classes.
    """
    import pandas as pd

    missing = np.flatnonzero(pd.isna(pd.Series(labels, dtype=object)).to_numpy())
    if len(missing):
        raise _PartitionDocumentError(
            f"{_partition_subject(int(missing[0]), part)} has no label ({labels[missing[0]]!r}; {len(missing)} "
            "missing in that partition). Give every text a label, or drop the unlabelled ones before building the "
            "store (e.g. ddf.dropna(subset=[label_column])).", document_index=int(missing[0]), partition=part)
    values, kinds, known = [], set(), {}
    for label in labels:
        key = (type(label), label)  # each distinct label looked at once (True == 1: the type keeps them apart)
        try:
            if key not in known:
                known[key] = _label_kind(label)
            kind, value = known[key]
        except TypeError:  # unhashable: a list or a dict
            kind, value = None, label
        if kind is None:
            raise DataError(f"The labels of partition {name} include a {type(label).__name__} ({label!r:.60}); a "
                            "store keeps labels that are numbers, strings or booleans.")
        values.append(value)
        kinds.add(kind)
    return values, sorted(kinds)


def _label_kind(label) -> tuple[str | None, object]:
    """``(kind, plain value)`` of one label: "bool", "int", "float", "number-text" (``"1"``, ``"2.5"``), "text"."""
    import numbers

    from ..data.datasets import _numeric_label

    if isinstance(label, (bool, np.bool_)):
        return "bool", bool(label)
    if isinstance(label, numbers.Integral):
        return "int", int(label)
    if isinstance(label, numbers.Real):
        return "float", float(label)
    if isinstance(label, str):
        return ("text" if _numeric_label(label) is None else "number-text"), str(label)
    return None, label


def _final_labels(values: list, kinds) -> np.ndarray:
    """The labels of one partition as the whole input's ``kinds`` make them, so a store has the same classes
    however its input is partitioned, and the classes the in-memory readers give (``load_jsonl``, ``load_csv``).

    Booleans alone stay booleans, numbers alone numbers (integers, or floats when one is); among strings, a
    number is one class however it is written (``1``, ``1.0``, ``"1"`` and ``"1.0"`` are ``"1"``), and so is
    ``True`` (``False``) when there are numbers (``"1"``, ``"0"``), as ``True == 1`` in Python; beside text
    alone they are ``"True"`` and ``"False"``.
    """
    from ..data.datasets import _numeric_label

    kinds = set(kinds)
    if kinds <= {"bool"}:
        return np.asarray(values, dtype=bool)
    if kinds <= {"bool", "int"}:
        return np.asarray(values, dtype=np.int64)
    if kinds <= {"bool", "int", "float"}:
        return np.asarray(values, dtype=np.float64)
    numbers = bool(kinds & {"int", "float", "number-text"})
    names = {}
    for value in values:
        key = (type(value), value)
        if key in names:
            continue
        if isinstance(value, bool):
            names[key] = str(int(value)) if numbers else str(value)
        else:
            number = _numeric_label(value)
            names[key] = str(value) if number is None else str(number)
    return np.asarray([names[(type(v), v)] for v in values], dtype=str)


def _part_info(summary: dict) -> dict:
    """The sizes of one partition's summary (what the store's metadata keeps)."""
    return {k: summary[k] for k in ("n_documents", "n_tokens", "has_labels", "strings_bytes", "skipped",
                                    "skipped_texts", "label_kinds", "blank", "first_blank")}


def _stamp(stat) -> list:
    """What tells one build's ``store.json`` from another's: its :func:`~toolkit._fileid.stat_id`, from a stat.

    The change time tells a ``store.json`` rewritten in place with its size and modification time put back
    (``cp -p`` or ``cp -a`` of another store onto this one), which keeps its inode; a change of it alone is
    checked against the content (:meth:`CorpusStore._check_current`), as ``chmod`` or a hard link changes it too.
    """
    return [stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns]


def _skipped_of(parts: list, starts) -> np.ndarray:
    """The numbers in the input of the documents ``parts`` (store.json's) record as skipped; stores built before
    they were recorded hold no "skipped": none known."""
    return np.asarray([int(start) + i for start, p in zip(starts, parts) for i in p.get("skipped", ())],
                      dtype=np.int64)


def _blank_of(parts: list) -> int | None:
    """The blank texts ``parts`` count; None (unknown, not 0) for a store built before they were counted."""
    return sum(int(p["blank"]) for p in parts) if all("blank" in p for p in parts) else None


def _read_strings(folder: Path, expected: int | None = None) -> tuple[str, ...]:
    data = (folder / "strings.bin").read_bytes().decode("utf-8", "surrogatepass")
    return tuple(data.split("\x00")) if data or expected else ()


#: input files beyond which a store keeps no record of them (CorpusStore.changed_sources is then None)
_MAX_SOURCES = 10_000


def _source_record(texts) -> dict | None:
    """What :meth:`CorpusStore.changed_sources` compares: the local input files (a glob's matches, a Parquet
    dataset's files) with their size and modification time, and the patterns given; None for a Dask collection
    or a remote input (``s3://...``), whose changes cannot be told from a ``stat``."""
    import glob

    if isinstance(texts, (str, os.PathLike)):
        given = [texts]
    elif isinstance(texts, (list, tuple)) and texts and all(isinstance(t, (str, os.PathLike)) for t in texts):
        given = list(texts)
    else:
        return None
    patterns = [os.path.abspath(os.path.expanduser(os.fspath(t))) for t in given]
    if any("://" in os.fspath(t) for t in given):
        return None
    files = []
    for pattern in patterns:
        for match in (sorted(glob.glob(pattern)) if glob.has_magic(pattern) else [pattern]):
            if os.path.isdir(match):  # a Parquet dataset's folder
                files.extend(str(f) for f in sorted(Path(match).rglob("*")) if f.is_file())
            elif os.path.isfile(match):
                files.append(match)
    if len(files) > _MAX_SOURCES:  # store.json is read (and hashed) at every open: kept small
        return None
    entries = []
    for file in files:
        stat = os.stat(file)
        entries.append({"path": file, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns})
    return {"patterns": [p for p in patterns if glob.has_magic(p)], "files": entries}


def _changed_sources(record: dict) -> list[str]:
    """The changes :meth:`CorpusStore.changed_sources` reports, from ``store.json``'s record of the input files."""
    import glob

    changed, found = [], 0
    for entry in record.get("files", ()):
        try:
            stat = os.stat(entry["path"])
        except OSError:
            changed.append(f"{entry['path']} (removed)")
            continue
        found += 1
        if stat.st_size != entry["size"] or stat.st_mtime_ns != entry["mtime_ns"]:
            changed.append(f"{entry['path']} (modified)")
    if record.get("files") and not found:  # the store copied away from its inputs: nothing to compare
        return []
    known = {entry["path"] for entry in record.get("files", ())}
    for pattern in record.get("patterns", ()):
        changed.extend(f"{match} (new: matches {pattern})" for match in sorted(glob.glob(pattern))
                       if match not in known and os.path.isfile(match))
    return changed


def _check_meta(meta: dict, meta_file: Path, store: Path) -> None:
    """Refuse a ``store.json`` of this format and version whose entries are missing or of the wrong kind (edited by
    hand, or written by a newer toolkit), naming the entry, instead of a bare ``KeyError`` or ``TypeError``; and one
    whose tokenizer has parameters this toolkit's :class:`~toolkit.text.SpacyTokenizer` does not take (they failed
    later, in ``corpus()`` or ``store train``, as an unexpected keyword argument)."""
    import inspect

    from ..text.tokenizer import SpacyTokenizer

    part_keys = {"name": str, "n_documents": int, "n_tokens": int}
    parts = meta.get("parts")
    if not isinstance(parts, list):
        what = "no 'parts' entry" if "parts" not in meta else f"'parts' is {parts!r:.40}, not a list"
        raise _damaged(store, f"{meta_file}: {what}")
    for number, part in enumerate(parts):
        bad = ([k for k, kind in part_keys.items() if not isinstance(part.get(k), kind) or isinstance(part.get(k), bool)]
               if isinstance(part, dict) else list(part_keys))
        if bad:
            raise _damaged(store, f"{meta_file}: part {number} ({part!r:.80}) lacks a valid {', '.join(bad)}")
    if not isinstance(meta.get("tokenizer"), dict):
        raise _damaged(store, f"{meta_file}: no 'tokenizer' entry (a dict of the tokenizer's parameters)")
    if "has_labels" not in meta:
        raise _damaged(store, f"{meta_file}: no 'has_labels' entry")
    known = set(inspect.signature(SpacyTokenizer.__init__).parameters) - {"self"}
    unknown = sorted(set(meta["tokenizer"]) - known)
    if unknown:
        raise DataError(f"{meta_file}: the store's tokenizer has parameters this toolkit's SpacyTokenizer does not "
                        f"take ({', '.join(map(repr, unknown))}): the store was built by another version of the "
                        f"toolkit. Read it with that version, or rebuild it with this one: `toolkit store build "
                        f"<inputs> -o {store} --force` (or CorpusStore.build).")


def _damaged(store: Path, what: str, *, missing: bool = False) -> DataError:
    """The error for a store file cut short, missing or of another build: names it and the command that rebuilds."""
    state = "incomplete" if missing else "damaged (a copy cut short, a full disk, or files of another build?)"
    return DataError(f"{what}; the store {store} is {state}: rebuild it from its inputs with "
                     f"`toolkit store build <inputs> -o {store} --force` (or CorpusStore.build).")


def _encode_part(folder: str, vocabulary_file: str, label_kinds=()) -> int:
    """Runs in a worker: vocabulary ids of one partition's tokens (the path travels, not the vocabulary), and its
    ``labels.npy`` from the labels as read, by the kinds of labels of the whole input (:func:`_final_labels`)."""
    folder = Path(folder)
    raw = folder / _RAW_LABELS
    if raw.is_file():
        values = json.loads(raw.read_text(encoding="utf-8"))
        np.save(folder / "labels.npy", _final_labels(values, label_kinds), allow_pickle=False)
        raw.unlink()
    vocabulary = _vocabulary_memo(vocabulary_file)
    strings = _read_strings(folder)
    tokens = np.load(folder / "tokens.npy", mmap_mode="r")
    table = np.fromiter((vocabulary.token_to_id.get(s, OOV_ID) for s in strings), dtype=np.int32, count=len(strings))
    np.save(folder / "ids.npy", table[tokens] if len(tokens) else np.zeros(0, np.int32))
    return len(tokens)


#: {(path, *stat_id): vocabulary}, one entry: a worker encodes the partitions of one build at a time
_VOCABULARIES: dict[tuple, Vocabulary] = {}


def _vocabulary_memo(path: str) -> Vocabulary:
    # the file's stat id, not its mtime alone: another build's vocabulary.json at a reused temporary path, or one
    # rewritten with its mtime put back, is another vocabulary
    key = (path, *stat_id(path))
    vocabulary = _VOCABULARIES.get(key)
    if vocabulary is None:
        vocabulary = Vocabulary.from_json(path)
        # the loaded one is returned, not read back: another thread of the worker (encoding another partition)
        # may clear the memo between these lines, which made ``return _VOCABULARIES[key]`` a KeyError
        _VOCABULARIES.clear()
        _VOCABULARIES[key] = vocabulary
    return vocabulary


class CorpusStore:
    """A tokenized corpus and its vocabulary ids on disk, reopened without loading.

    Open an existing store with ``CorpusStore(path)``; write one with
    :meth:`build`. The partition arrays of :meth:`corpus` and :meth:`ids` are
    memory-mapped (read-only); :meth:`labels`, :meth:`lengths`,
    :meth:`gather` and :meth:`sequences` return arrays in memory.

    Parameters
    ----------
    path : path-like
        A folder written by :meth:`build`.

    Attributes
    ----------
    path : Path
    n_documents, n_tokens : int
    parts : list of dict
        ``name``, ``n_documents`` and ``n_tokens`` of each partition, in order.
    tokenizer : dict
        The tokenizer parameters the corpus was built with.
    has_labels : bool
    skipped : ndarray of int64
        The numbers in the input of the documents the tokenizer skipped
        (``errors="skip"``: longer than ``max_length``), which have no tokens,
        in increasing order; empty when none was (or for a store built
        before they were recorded). :meth:`build` logs them as a warning.
    n_blank : int or None
        How many texts of the input were blank (empty or only whitespace):
        stored as documents without tokens, which ``fit_from_store`` refuses.
        :meth:`build` logs them as a warning. None for a store built before
        they were counted (rebuild it to know).

    Raises
    ------
    DataError
        When ``path`` is not a corpus store (naming the file and the fix).

    Examples
    --------
    >>> import tempfile, dask.bag as db
    >>> from toolkit.distributed import CorpusStore
    >>> texts = db.from_sequence([("A good film.", "pos"), ("A bad film.", "neg")], npartitions=2)
    >>> store = CorpusStore.build(texts, tempfile.mkdtemp() + "/store", scheduler="sync")
    >>> store.n_documents, store.vocabulary.tokens[2:4]
    (2, ['a', 'film'])
    >>> store.sequences([1], maxlen=4).tolist()
    [[2, 6, 3, 4]]
    """

    def __init__(self, path):
        self.path = Path(path).expanduser()
        recover_moved_aside(self.path)  # a build killed as it swapped the new store in had hidden the old one
        meta_file = self.path / "store.json"
        try:
            with open(meta_file, "rb") as fh:
                # the store.json read here, as _check_current compares it: a build in place writes a new one
                self._build_stamp = _stamp(os.fstat(fh.fileno()))
                raw = fh.read()
                self._build_digest = hashlib.sha256(raw).hexdigest()  # for a change of its ctime alone
                meta = json.loads(raw.decode("utf-8"))
        except (FileNotFoundError, NotADirectoryError):
            raise DataError(
                f"{self.path} is not a corpus store (no store.json{'; it is a file' if self.path.is_file() else ''}); "
                "build one with CorpusStore.build or `toolkit store build`."
            ) from None
        except IsADirectoryError:  # else a bare "[Errno 21] Is a directory"
            raise DataError(f"{meta_file} is a folder, not a corpus store's metadata file; give the folder a store "
                            "was built into (CorpusStore.build or `toolkit store build`).") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise DataError(f"{meta_file}: not valid JSON ({err}); rebuild the store.") from err
        if not isinstance(meta, dict) or meta.get("format") != _FORMAT:
            raise DataError(f"{meta_file}: not a toolkit corpus store (format {_FORMAT!r} expected).")
        if meta.get("version") != _VERSION:
            raise DataError(
                f"{meta_file}: corpus store version {meta.get('version')!r}; this toolkit reads version {_VERSION}. "
                "Rebuild the store."
            )
        _check_meta(meta, meta_file, self.path)
        self.parts = meta["parts"]
        self.tokenizer = meta["tokenizer"]
        self.has_labels = bool(meta["has_labels"])
        self.n_documents = sum(p["n_documents"] for p in self.parts)
        self.n_tokens = sum(p["n_tokens"] for p in self.parts)
        self._starts = np.concatenate([[0], np.cumsum([p["n_documents"] for p in self.parts], dtype=np.int64)])
        self.skipped = _skipped_of(self.parts, self._starts)
        self.n_blank = _blank_of(self.parts)
        self._vocabulary_size = meta.get("vocabulary_size")
        self._sources = meta.get("sources")  # absent: built from a Dask collection, or by an older toolkit
        self._vocabulary = None
        self._lengths = None

    def __setstate__(self, state) -> None:
        """A handle pickled by this toolkit, or by an older one (its build stamp was ``(inode, mtime, size)``).

        The older stamp lacks the change time: it is taken from ``store.json`` when the other three fields still
        match (as that toolkit checked), so an unchanged store is not called rebuilt; a store that changed since
        is refused by :meth:`_check_current` as before.

        A handle pickled before the stamp was kept (before session 38) has none: it reads its store when the
        store's ``store.json`` still describes what the handle read (the same partitions, sizes, tokenizer,
        labels and vocabulary size: a build in place of other inputs or another tokenizer changes them); else,
        or when the store is gone, it is refused as built again (or removed). Attributes added since
        (``skipped``, ``n_blank``) are what the handle's own partitions say, as for a store built before them.
        """
        self.__dict__.update(state)
        if "_build_stamp" not in self.__dict__:
            self._build_stamp, self._build_digest = self._stamp_unchanged_store()
        parts = self.__dict__.get("parts", [])
        if "skipped" not in self.__dict__:
            self.skipped = _skipped_of(parts, self.__dict__.get("_starts", [0]))
        if "n_blank" not in self.__dict__:
            self.n_blank = _blank_of(parts)
        stamp = self.__dict__.get("_build_stamp")
        if isinstance(stamp, tuple) and len(stamp) == 3:
            ino, mtime_ns, size = stamp
            try:
                now = _stamp(os.stat(self.path / "store.json"))
            except OSError:
                now = None
            same = now is not None and now[:3] == [ino, size, mtime_ns]
            self._build_stamp = now if same else [ino, size, mtime_ns, None]

    def _stamp_unchanged_store(self) -> tuple[list, str | None]:
        """``(build stamp, digest)`` of the store's ``store.json`` for a handle pickled without a stamp, when it
        describes what the handle read; else a stamp no store.json has, so :meth:`_check_current` refuses it."""
        never = [None, None, None, None]
        try:
            with open(self.path / "store.json", "rb") as fh:
                stamp, raw = _stamp(os.fstat(fh.fileno())), fh.read()
            meta = json.loads(raw.decode("utf-8"))
        except (OSError, ValueError):  # gone, unreadable, not JSON: not the store this handle read
            return never, None
        same = (isinstance(meta, dict) and meta.get("format") == _FORMAT and meta.get("version") == _VERSION
                and meta.get("parts") == self.__dict__.get("parts")
                and meta.get("tokenizer") == self.__dict__.get("tokenizer")
                and bool(meta.get("has_labels")) == self.__dict__.get("has_labels")
                and meta.get("vocabulary_size") == self.__dict__.get("_vocabulary_size"))
        if not same:
            logger.debug("CorpusStore %s: a handle pickled without a build stamp (by an older toolkit) no longer "
                         "describes its store.json; it is refused as built again", self.path)
            return never, None
        return stamp, hashlib.sha256(raw).hexdigest()

    def changed_sources(self) -> list[str] | None:
        """The input files changed since the store was built from them: the store holds their old contents.

        Returns
        -------
        list of str or None
            Each changed file with what changed (``"data/a.csv (modified)"``,
            ``"(removed)"``, ``"(new: matches data/*.csv)"``); empty when
            none did. None when the store keeps no record of its input files:
            built from a Dask collection, remote files or more than 10,000
            files, or by an older toolkit. When none of the files is found (the store was copied
            away from its inputs), nothing can be told: empty.
        """
        sources = getattr(self, "_sources", None)  # a handle pickled before it was kept: no record
        return None if sources is None else _changed_sources(sources)

    def __repr__(self) -> str:
        return (f"CorpusStore({str(self.path)!r}, n_documents={self.n_documents}, n_tokens={self.n_tokens}, "
                f"parts={len(self.parts)})")

    def __len__(self) -> int:
        return self.n_documents

    # ------------------------------------------------------------------ build
    @classmethod
    def build(cls, texts, path, *, tokenizer=None, text_column=None, label_column=None, scheduler=None,
              progress=False) -> CorpusStore:
        """Tokenize and encode a corpus partition by partition into a store folder.

        Two passes over the partitions, both run by Dask where the data live:
        tokenize and write each partition (returning only its distinct tokens,
        counts and first positions), merge the counts into the vocabulary
        (equal to the in-memory :meth:`Vocabulary.from_documents`; the counts
        are combined eight partitions at a time on the workers, so the client
        receives one table), then write each partition's vocabulary ids. Peak
        memory is one partition per worker plus the vocabulary.

        Parameters
        ----------
        texts : dask.bag.Bag, dask.dataframe collection, path or list of paths
            Anything :func:`~toolkit.distributed.read_texts` reads; bags of
            ``(text, label)`` pairs store the labels, with the classes the
            in-memory readers (``load_jsonl``, ``load_csv``) give them
            whatever the partitions: numbers alone stay numbers, booleans
            alone booleans; among strings a number is one class however it
            is written (``1``, ``1.0``, ``"1"``, and ``True`` beside other
            numbers, are ``"1"``). Blank texts (empty or only whitespace) are
            stored as documents without tokens, with one warning that counts
            them (``fit_from_store`` refuses them).
        path : path-like
            The store folder; an existing store there is replaced only once the
            new one is complete, and anything else there (a file, a folder
            without ``store.json``) is never replaced: that is an error before
            any work. On a cluster it must be on a file system every worker sees
            (a relative path is taken from this process' working directory).
        tokenizer : SpacyTokenizer or dict of its parameters, optional
        text_column, label_column : str, optional
            See :func:`~toolkit.distributed.read_texts`.
        scheduler : str, optional
            Dask scheduler ("sync", "threads", "processes", or "distributed":
            the current ``distributed.Client``); default the active one (a
            ``dask.config`` ``scheduler`` setting, else the current Client
            when there is one), with or without ``progress``.
        progress : bool, default=False
            Show a progress bar on stderr: over partitions on a local
            scheduler, over tasks on a ``distributed`` cluster.

        Returns
        -------
        CorpusStore

        Raises
        ------
        DataError
            When ``path`` exists and is not a corpus store, or a partition has
            a missing label or labels of mixed types.
        ValueError
            When some partitions have labels and others do not.
        ~toolkit.distributed.search.ClusterError
            On a ``distributed`` cluster: before any work, when a worker
            cannot import toolkit or spaCy; during the build, when workers
            were restarted for going over their memory limit or a partition
            killed every worker that ran it (both name the partition), or the
            scheduler went away. Nothing is left under ``path`` or beside it,
            and the tasks not yet started are cancelled (also on Ctrl-C).
        """
        require_dask()
        import dask

        from .partitions import _tokenizer

        path = Path(path).expanduser()  # "~/store" as save_model and load_model take it, never ./~/store
        if path.exists() and not (path / "store.json").is_file():
            raise DataError(
                f"{path} exists and is not a corpus store (no store.json): CorpusStore.build never replaces it. "
                "Choose another path, or remove it first."
            )
        sources = _source_record(texts)  # before any is read: a file changed during the build is found later too
        bag = read_texts(texts, text_column=text_column, label_column=label_column)
        tok = _tokenizer(tokenizer)
        params = {k: (list(v) if isinstance(v, tuple) else v) for k, v in tok.get_params().items()
                  if k not in ("n_jobs", "cache", "progress")}
        tok_params = {**params, "ngram_range": tuple(params["ngram_range"]), "n_jobs": 1}
        parts = bag.to_delayed()
        cluster = _Cluster.of(scheduler, bag)  # on a distributed cluster: its workers checked before any work
        # absolute: the workers write the partitions, and a worker's working directory need not be this one's
        with atomic_output(path.absolute(), directory=True) as tmp:
            names = [f"part-{i:05d}" for i in range(len(parts))]
            # keys that name their partition: a task that kills its workers is named so in the error
            written = [dask.delayed(_write_part)(part, str(tmp / name), tok_params,
                                                 dask_key_name=f"toolkit-store-{name}-{tmp.name}")
                       for part, name in zip(parts, names)]
            # the client gets each partition's sizes and one combined count table, never all the tables
            try:
                *summaries, total = _compute([*(dask.delayed(_part_info)(w) for w in written),
                                              tree_combine(written)], scheduler, progress, "tokenize", cluster=cluster)
            except _PartitionDocumentError as err:
                raise _globally_numbered(err, parts, scheduler, cluster) from err
            logger.info("tokenized %d partitions (%d documents)", len(parts), sum(s["n_documents"] for s in summaries))
            _log_skipped(summaries, texts, tok_params)
            _log_blank(summaries, texts)
            label_kinds = sorted(set().union(*(s["label_kinds"] for s in summaries)))
            vocabulary = merge_counts([total])
            del total
            vocabulary.to_json(tmp / "vocabulary.json")
            _compute([dask.delayed(_encode_part)(str(tmp / name), str(tmp / "vocabulary.json"), label_kinds,
                                                 dask_key_name=f"toolkit-store-encode-{name}-{tmp.name}")
                      for name in names], scheduler, progress, "encode", cluster=cluster)
            labelled = {s["has_labels"] for s in summaries if s["n_documents"]}
            if len(labelled) > 1:
                raise ValueError("Some partitions of the input have labels and some do not; give every text a label.")
            meta = {
                "format": _FORMAT,
                "version": _VERSION,
                # strings_bytes: a strings.bin cut short is found when its partition is opened
                # skipped: the documents the tokenizer gave no tokens (errors="skip"), numbered in the partition
                # blank: how many of its texts were empty or only whitespace (CorpusStore.n_blank)
                "parts": [{"name": n, "n_documents": s["n_documents"], "n_tokens": s["n_tokens"],
                           "strings_bytes": s["strings_bytes"], "skipped": s["skipped"], "blank": s["blank"]}
                          for n, s in zip(names, summaries)],
                "tokenizer": params,
                "has_labels": labelled == {True},
                "vocabulary_size": len(vocabulary),
            }
            if sources is not None:  # the input files as they were read: CorpusStore.changed_sources
                meta["sources"] = sources
            with open(tmp / "store.json", "w", encoding="utf-8") as fh:
                json.dump(meta, fh, indent=1)
        return cls(path)

    # ---------------------------------------------------------------- reading
    @property
    def vocabulary(self) -> Vocabulary:
        """The full vocabulary (every token, by descending count; ties by first occurrence)."""
        if self._vocabulary is None:
            self._check_current()
            file = self.path / "vocabulary.json"
            try:
                vocabulary = Vocabulary.from_json(file)
            except FileNotFoundError:
                raise _damaged(self.path, f"{file} is missing", missing=True) from None
            except DataError as err:  # it names the file and what is wrong with it
                raise _damaged(self.path, str(err).rstrip(".")) from err
            if self._vocabulary_size is not None and len(vocabulary) != self._vocabulary_size:
                raise _damaged(self.path, f"{file}: {len(vocabulary)} entries, store.json records "
                                          f"{self._vocabulary_size}")
            self._vocabulary = vocabulary
        return self._vocabulary

    def vocabulary_for(self, *, max_tokens=None, min_count=1) -> Vocabulary:
        """The vocabulary ``Vocabulary.from_documents(corpus, max_tokens=..., min_count=...)`` would build.

        Parameters
        ----------
        max_tokens : int >= 3, optional
            Vocabulary size including the padding and OOV ids; None keeps all.
        min_count : int >= 1, default=1
            Drop tokens seen fewer times in the stored corpus.

        Returns
        -------
        Vocabulary
            A prefix of :attr:`vocabulary` (same ids).
        """
        owner = "CorpusStore.vocabulary_for"  # the limits of Vocabulary.from_documents, whose result this is
        validate_param(max_tokens, [Interval(int, 3, None), None], name="max_tokens", owner=owner)
        validate_param(min_count, [Interval(int, 1, None)], name="min_count", owner=owner)
        full = self.vocabulary
        counts = full.counts[2:]
        n = int(np.searchsorted(-counts, -min_count, side="right"))  # counts are non-increasing
        if max_tokens is not None:
            n = min(n, max_tokens - 2)
        return Vocabulary(full.tokens[2 : 2 + n], counts[:n])

    def _check_current(self) -> None:
        """Refuse to read a store built again (or removed) since this handle read its store.json.

        Its files are then another build's: their sizes can match this handle's ``store.json`` (the same inputs
        tokenized otherwise) while their ids follow another vocabulary. One ``stat`` per check.
        """
        try:
            stamp = _stamp(os.stat(self.path / "store.json"))
        except (FileNotFoundError, NotADirectoryError):
            stamp = None
        if stamp is not None and stamp != self._build_stamp and stamp[:3] == self._build_stamp[:3]:
            # only the change time moved: chmod, a hard link (a backup), or a rewrite in place with its size and
            # mtime put back (cp -p of another build's store.json): the same bytes are the same build
            try:
                digest = hashlib.sha256((self.path / "store.json").read_bytes()).hexdigest()
            except OSError:
                digest = None
            same = digest is not None and digest == getattr(self, "_build_digest", None)  # (a handle pickled before)
            if same:
                self._build_stamp = stamp
        if stamp != self._build_stamp:
            what = "was removed" if stamp is None else "was built again"
            raise DataError(f"The store {self.path} {what} since this CorpusStore was opened, so its files are no "
                            f"longer the ones this object describes; open it again: CorpusStore({str(self.path)!r}).")

    def _part(self, i: int, name: str, mmap=True):
        """One array of partition ``i``, checked against the sizes store.json records."""
        self._check_current()
        part = self.parts[i]
        file = self.path / part["name"] / name
        try:
            array = np.load(file, mmap_mode="r" if mmap else None, allow_pickle=False)
        except FileNotFoundError:
            raise _damaged(self.path, f"{file} is missing", missing=True) from None
        except (ValueError, EOFError) as err:  # truncated or emptied since the build (EOFError: empty)
            raise _damaged(self.path, f"{file}: not a complete .npy file this toolkit wrote ({err})") from err
        n_documents, n_tokens = part["n_documents"], part["n_tokens"]
        length, what = {"offsets.npy": (n_documents + 1, "documents + 1"),
                        "labels.npy": (n_documents, "documents")}.get(name, (n_tokens, "tokens"))
        if array.shape != (length,):
            raise _damaged(self.path, f"{file}: an array of shape {array.shape}, expected ({length},): the "
                                      f"partition's {what} as store.json records")
        if name == "offsets.npy" and (array[0] != 0 or array[-1] != n_tokens):
            raise _damaged(self.path, f"{file}: offsets from {array[0]} to {array[-1]}, expected 0 to {n_tokens}: "
                                      "the partition's tokens as store.json records")
        return array

    def _strings(self, i: int, tokens: np.ndarray) -> tuple[str, ...]:
        """The string table of partition ``i`` (whose ``tokens.npy`` is ``tokens``), checked before use."""
        self._check_current()
        part = self.parts[i]
        file = self.path / part["name"] / "strings.bin"
        try:
            size = file.stat().st_size
        except FileNotFoundError:
            raise _damaged(self.path, f"{file} is missing", missing=True) from None
        expected = part.get("strings_bytes")  # absent from stores built before it was recorded
        if expected is not None and size != expected:
            raise _damaged(self.path, f"{file}: {size:,} bytes, store.json records {expected:,}")
        try:
            strings = _read_strings(file.parent, expected=len(tokens))
        except UnicodeDecodeError as err:
            raise _damaged(self.path, f"{file}: not the UTF-8 text this toolkit wrote ({err})") from err
        if expected is None and len(tokens) and int(tokens.max()) >= len(strings):
            raise _damaged(self.path, f"{file}: {len(strings):,} strings, but tokens.npy refers to string "
                                      f"{int(tokens.max()):,}")
        return strings

    def corpus(self, part: int) -> TokenizedCorpus:
        """Partition ``part`` as a TokenizedCorpus over the memory-mapped arrays (nothing loaded).

        Parameters
        ----------
        part : int
            Index of the partition in ``parts``.

        Returns
        -------
        TokenizedCorpus
            Its :attr:`~toolkit.text.TokenizedCorpus.tokenizer_params` are
            those of the store's tokenizer, as for the corpus the tokenizer
            gives: domain vectors trained on it tokenize their unlabelled
            texts the same way.

        Raises
        ------
        DataError
            When a file of the partition is missing, cut short or from
            another build (it names the file and the command that rebuilds
            the store).
        """
        tokens = self._part(part, "tokens.npy")
        corpus = TokenizedCorpus._from_arrays(tokens, self._part(part, "offsets.npy"), self._strings(part, tokens))
        return corpus.with_tokenizer_params(self._tokenizer_params())

    def _tokenizer_params(self) -> dict:
        """The store tokenizer's settings that decide its tokens (:attr:`TokenizedCorpus.tokenizer_params`)."""
        from ..text.tokenizer import SpacyTokenizer, _token_settings

        params = {k: (tuple(v) if k == "ngram_range" else v) for k, v in self.tokenizer.items()}
        return dict(_token_settings(SpacyTokenizer(**params)))

    def ids(self, part: int) -> tuple[np.ndarray, np.ndarray]:
        """Memory-mapped ``(ids, offsets)`` of partition ``part``: vocabulary ids of its tokens.

        Parameters
        ----------
        part : int
            Index of the partition in ``parts``.

        Returns
        -------
        ids : numpy.memmap of int32, shape (n_tokens,)
        offsets : numpy.memmap of int64, shape (n_documents + 1,)

        Raises
        ------
        DataError
            When a file of the partition is missing, cut short or from
            another build (it names the file and the command that rebuilds
            the store).
        """
        return self._part(part, "ids.npy"), self._part(part, "offsets.npy")

    def lengths(self) -> np.ndarray:
        """Number of tokens of every document.

        Returns
        -------
        ndarray of int64 of shape (n_documents,)
            In the store's order; read once, then kept.
        """
        if self._lengths is None:
            parts = [np.diff(self._part(i, "offsets.npy")) for i in range(len(self.parts))]
            self._lengths = np.concatenate(parts) if parts else np.zeros(0, np.int64)
        return self._lengths

    def labels(self) -> np.ndarray:
        """The labels of every document, in order.

        Returns
        -------
        ndarray of shape (n_documents,)

        Raises
        ------
        ValueError
            When the store was built without labels (``has_labels`` is False).
        """
        if not self.has_labels:
            raise ValueError(f"The store {self.path} has no labels; build it from (text, label) pairs or with label_column.")
        # an empty partition (a filtered bag, a block of blank lines) has no labels file: it held no items to label
        parts = [self._part(i, "labels.npy", mmap=False) for i, p in enumerate(self.parts) if p["n_documents"]]
        return np.concatenate(parts) if parts else np.zeros(0)

    def gather(self, indices, *, n_ids=None, cache=None) -> tuple[np.ndarray, np.ndarray]:
        """Flat vocabulary ids and offsets of the documents ``indices`` (in that order).

        Parameters
        ----------
        indices : array-like of int
            Global document indices.
        n_ids : int, optional
            Size of the vocabulary in use: ids ``>= n_ids`` become the OOV id.
        cache : dict, optional
            Open partition readers, reused between calls (the caller drops it
            to close their files).

        Returns
        -------
        values : ndarray of int32
            The documents' ids, one after the other.
        offsets : ndarray of int64, shape (len(indices) + 1,)
            Document ``i`` of the result is ``values[offsets[i]:offsets[i + 1]]``.

        Raises
        ------
        IndexError
            When an index is outside ``[0, n_documents)``.
        TypeError
            When the indices are not integers (a boolean mask, floats).

        Notes
        -----
        The ids are read with ``os.preadv`` straight into the result, not
        through a memory map: a map's pages stay in the process' resident
        memory once touched (2 MB at a time where the kernel maps the page
        cache with huge pages), so random batches over a memory-mapped corpus
        made the training process grow with the corpus (2.1 GB at 1M
        documents). Read this way, the process holds the batch and each
        partition's offsets only.
        """
        given = np.asarray(indices)
        if given.size and given.dtype.kind not in "iu":  # int64 casting read a mask as documents 0/1, 0.7 as 0
            mask = " (a boolean mask? pass np.flatnonzero(mask))" if given.dtype.kind == "b" else ""
            raise TypeError(f"document indices must be integers; got an array of {given.dtype}{mask}.")
        indices = given.astype(np.int64, copy=False)
        if indices.size and (indices.min() < 0 or indices.max() >= self.n_documents):
            raise IndexError(f"document indices must be in [0, {self.n_documents}); got {indices.min()}..{indices.max()}.")
        part_of = np.searchsorted(self._starts, indices, side="right") - 1
        lengths = np.zeros(len(indices), dtype=np.int64)
        starts = np.zeros(len(indices), dtype=np.int64)
        pieces = {}
        cache = {} if cache is None else cache
        for p in np.unique(part_of).tolist():
            mask = part_of == p
            if p not in cache:
                cache[p] = _IdsReader(self.path / self.parts[p]["name"] / "ids.npy",
                                      self._part(p, "offsets.npy", mmap=False))
            reader = cache[p]
            local = indices[mask] - self._starts[p]
            begin, end = reader.offsets[local], reader.offsets[local + 1]
            lengths[mask] = end - begin
            starts[mask] = begin
            pieces[p] = (mask, reader)
        out_offsets = np.zeros(len(indices) + 1, dtype=np.int64)
        np.cumsum(lengths, out=out_offsets[1:])
        values = np.empty(int(out_offsets[-1]), dtype=np.int32)
        for mask, reader in pieces.values():
            for row in np.flatnonzero(mask & (lengths > 0)).tolist():
                reader.read_into(values[out_offsets[row]:out_offsets[row + 1]], int(starts[row]))
        if n_ids is not None:
            values[values >= n_ids] = OOV_ID
        return values, out_offsets

    def sequences(self, indices, *, maxlen, n_ids=None, padding="pre", truncating="pre", cache=None) -> np.ndarray:
        """Padded int32 rows of vocabulary ids for the documents ``indices``, as ``pad_sequences`` gives.

        Parameters
        ----------
        indices : array-like of int
            Global document indices.
        maxlen : int
            Row length.
        n_ids : int, optional
            As in :meth:`gather`.
        padding, truncating : {"pre", "post"}, default="pre"
            As in :func:`toolkit.text.pad_sequences`.
        cache : dict, optional
            As in :meth:`gather`.

        Returns
        -------
        ndarray of int32, shape (len(indices), maxlen)
        """
        values, offsets = self.gather(indices, n_ids=n_ids, cache=cache)
        return _pad_flat(values, offsets, maxlen, padding=padding, truncating=truncating)


class _IdsReader:
    """A partition's ``ids.npy`` read with ``os.preadv`` (nothing mapped) and its offsets in memory."""

    def __init__(self, path: Path, offsets: np.ndarray):
        import weakref

        self.path, self.offsets = path, offsets
        store = path.parent.parent
        try:
            with open(path, "rb") as fh:
                version = np.lib.format.read_magic(fh)
                read_header = {(1, 0): np.lib.format.read_array_header_1_0,
                               (2, 0): np.lib.format.read_array_header_2_0}[version]
                shape, fortran_order, dtype = read_header(fh)
                self._start = fh.tell()
                size = os.fstat(fh.fileno()).st_size
        except FileNotFoundError:
            raise _damaged(store, f"{path} is missing", missing=True) from None
        except (KeyError, ValueError, EOFError) as err:
            raise _damaged(store, f"{path}: not a .npy file this toolkit wrote ({err})") from err
        if dtype != np.dtype("<i4") or fortran_order or len(shape) != 1 or shape[0] != offsets[-1]:
            raise _damaged(store, f"{path}: {dtype} array of shape {shape}, expected int32 of shape ({offsets[-1]},) "
                                  "to match offsets.npy and store.json")
        if size < self._start + 4 * shape[0]:  # cut after its header: found now, not at the batch reaching the cut
            raise _damaged(store, f"{path}: {size:,} bytes, shorter than the {self._start + 4 * shape[0]:,} its "
                                  "header says")
        self._fd = os.open(path, os.O_RDONLY)
        weakref.finalize(self, os.close, self._fd)

    def read_into(self, out: np.ndarray, begin: int) -> None:
        """Fill ``out`` (int32, contiguous) with the ids from token ``begin`` on."""
        got = os.preadv(self._fd, [memoryview(out).cast("B")], self._start + 4 * begin)
        if got != out.nbytes:
            raise _damaged(self.path.parent.parent, f"{self.path}: file shorter than its header says")


def _compute(tasks, scheduler, progress, what, *, cluster=None):
    """``dask.compute(*tasks)``; with ``progress``, a bar on stderr (local schedulers and distributed alike).

    On a distributed client the bar is tqdm's over the tasks, as the toolkit's other bars are: it follows
    ``TQDM_MININTERVAL``, which the CLI sets when stderr is a log file (``2> build.log``). Dask's own text
    bar redrew ten times a second there, whatever the setting.

    The tasks run where ``dask.compute`` would run them without the bar (:func:`_distributed_client`):
    the bar never moves them to another scheduler. On a cluster, a failure or an interrupt (Ctrl-C) cancels
    the tasks that have not run yet (they ran on, for nothing, on a running cluster), and a cluster failure
    (workers killed over their memory limit, a partition that killed every worker that ran it, a scheduler
    gone) is a :class:`~toolkit.distributed.search.ClusterError` that says so.
    """
    import sys

    import dask

    client = _distributed_client(scheduler, tasks)
    if client is None:
        if not progress:
            return dask.compute(*tasks, scheduler=scheduler)
        from dask.diagnostics import ProgressBar

        logger.info("%s: %d partitions", what, len(tasks))
        with ProgressBar(out=sys.stderr):
            return dask.compute(*tasks, scheduler=scheduler)
    from distributed import as_completed

    from .search import _watch_scheduler

    cluster = cluster if cluster is not None and cluster.client is client else _Cluster(client)
    futures = client.compute(tasks)
    try:
        # on a user's cluster with no worker left, these fail after a while instead of waiting forever
        with _watch_scheduler(client, futures):
            if progress:
                from tqdm.auto import tqdm

                with tqdm(total=len(futures), desc=what, unit="task", file=sys.stderr) as bar:
                    for _ in as_completed(futures):  # a failed partition too: gather raises its error below
                        bar.update(1)
            return tuple(client.gather(futures))
    except BaseException as err:
        with contextlib.suppress(Exception):  # a scheduler gone: nothing left to cancel
            client.cancel(futures)
        failure = cluster.failure(err, what)
        if failure is not None:
            raise failure from err
        raise


class _Cluster:
    """The distributed client a build runs on, checked once, and what explains its failures."""

    def __init__(self, client, limits=None, since=None):
        from .search import _scheduler_time

        self.client, self.limits = client, limits or {}
        self.since = _scheduler_time(client) if since is None else since

    @classmethod
    def of(cls, scheduler, bag):
        """The checked cluster ``bag`` would be computed on (its workers import toolkit and spaCy), or None."""
        from .search import _check_workers, _scheduler_time

        client = _distributed_client(scheduler, [bag])
        if client is None:
            return None
        since = _scheduler_time(client)
        limits, _ = _check_workers(client, ["spacy"], "CorpusStore.build")
        return cls(client, limits, since)

    def failure(self, err, what):
        from .search import _cluster_failure

        key = getattr(err, "task", None) or getattr(err, "key", None)
        # the store's own tasks name their partition; the input's tasks are (name, partition number)
        match = re.match(r"toolkit-store-(?:encode-)?part-(\d+)", str(key or ""))
        part = int(match.group(1)) if match else (
            key[1] if isinstance(key, tuple) and len(key) == 2 and isinstance(key[1], int) else None)
        task = None if part is None else f"partition {part} of the input (Dask task {key})"
        return _cluster_failure(self.client, err, since=self.since, what=f"the store build ({what} pass)",
                                limits=self.limits, task=task)


def _distributed_client(scheduler, tasks):
    """The ``distributed.Client`` that ``dask.compute(*tasks, scheduler=scheduler)`` runs on, or None (a local one).

    Dask's own choice (:func:`dask.base.get_scheduler`): ``scheduler`` when
    given (``"distributed"`` or a Client included), else a ``dask.config``
    ``scheduler`` setting, else the current Client. Asking only for the
    current Client sent a build with ``progress`` to the cluster under
    ``dask.config.set(scheduler="sync")`` (which the build without a bar
    obeyed), and drew no bar at all for ``scheduler="distributed"``: Dask's
    local bar sees nothing of a cluster's work.
    """
    from dask.base import get_scheduler

    try:
        from distributed import Client
    except ImportError:  # pragma: no cover - the [dask] extra installs distributed
        return None
    chosen = get_scheduler(scheduler=scheduler, collections=list(tasks))
    if isinstance(chosen, Client):
        return chosen
    owner = getattr(chosen, "__self__", None)  # Dask releases that give the Client's bound ``get``
    return owner if isinstance(owner, Client) else None
