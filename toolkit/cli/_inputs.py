"""Reading the CLI's inputs: text sources (files, tables, folders, stdin), labelled data, train/test splits, ``--set`` values."""

from __future__ import annotations

import io
import itertools
import json
import logging
import math
import numbers
import os
from pathlib import Path

from ..exceptions import ToolkitError

__all__ = ["read_input", "load_data", "load_train_test", "DocumentRecords", "parse_setting", "SettingError",
           "check_limit", "check_columns", "check_training_classes",
           "preload_data", "discard_preloaded", "check_test_size", "check_not_archive"]

logger = logging.getLogger(__name__)


class SettingError(ToolkitError, ValueError):
    """A ``--set key=value`` that cannot be used: no ``=``, or a name the estimator does not have."""

TABLE_SUFFIXES = (".csv", ".tsv")


JSONL_SUFFIXES = (".jsonl", ".ndjson")


def _data_suffix(path) -> str:
    """The suffix that says how to read ``path``, lower-cased: ``".csv"`` for ``reviews.csv`` and for a
    compressed ``reviews.csv.gz`` (``.bz2``, ``.xz``), whose content the readers decompress as they read it."""
    from ..data.datasets import COMPRESSED_SUFFIXES

    suffixes = [s.lower() for s in Path(path).suffixes]
    if len(suffixes) > 1 and suffixes[-1] in COMPRESSED_SUFFIXES:
        return suffixes[-2]
    return suffixes[-1] if suffixes else ""


def _uncompressed_name(path: Path) -> Path:
    """``path`` without a compression suffix (``reviews.parquet`` for ``reviews.parquet.gz``)."""
    from ..data.datasets import COMPRESSED_SUFFIXES

    return path.with_suffix("") if len(path.suffixes) > 1 and path.suffix.lower() in COMPRESSED_SUFFIXES else path


#: formats the commands do not read, and the pandas reader that converts each to CSV
_CONVERTIBLE = {".parquet": "read_parquet", ".pq": "read_parquet", ".xlsx": "read_excel", ".xls": "read_excel",
                ".ods": "read_excel", ".feather": "read_feather", ".json": "read_json"}


def _is_json_lines(path: Path) -> bool:
    """Whether the first non-blank line of ``path`` is a whole JSON object (JSON lines saved as ``.json``)."""
    from ..data.datasets import _open_text

    try:
        with _open_text(path, "utf-8") as fh:
            first = next((line for line in fh if line.strip()), "")
        return isinstance(json.loads(first), dict)
    except (OSError, ValueError, ToolkitError):  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        return False


def _unreadable_format(path: Path):
    """The DataError for a file in a format the commands do not read (parquet, Excel, one JSON document),
    naming the pandas call that converts it; None for others. A ``.json`` file of JSON lines is read."""
    from ..exceptions import DataError

    suffix = _data_suffix(path)
    reader = _CONVERTIBLE.get(suffix)
    if reader is None or path.is_dir() or (suffix == ".json" and _is_json_lines(path)):
        return None
    what = ("one JSON document (an array, or an object over several lines), not JSON lines"
            if suffix == ".json" else f"a {suffix} file")
    target = _uncompressed_name(path).with_suffix(".jsonl" if suffix == ".json" else ".csv")
    convert = ("to_json(" + repr(str(target)) + ", orient='records', lines=True)" if suffix == ".json"
               else "to_csv(" + repr(str(target)) + ", index=False)")
    return DataError(
        f"'{path}' is {what}; the commands read CSV/TSV files, JSON lines (one object per line) and folders of "
        f".txt files. Convert it, e.g. in Python: import pandas as pd; pd.{reader}({str(path)!r}).{convert}; "
        f"then pass '{target}'."
    )


def _is_token_list(line: str) -> bool:
    """Whether ``line`` is a JSON array of strings: one line of what ``toolkit tokenize`` writes."""
    line = line.strip()
    if not (line.startswith("[") and line.endswith("]")):
        return False
    try:
        value = json.loads(line)
    except ValueError:
        return False
    return isinstance(value, list) and all(isinstance(token, str) for token in value)


def _token_lists_error(name: str):
    """The DataError for token lists (``toolkit tokenize``'s output) given where raw text is read."""
    from ..exceptions import DataError

    return DataError(
        f"{name[:1].upper() + name[1:]} holds token lists (a JSON array of strings per line, what `toolkit "
        "tokenize` writes), not raw text. This command reads raw text and tokenizes it itself: give it the text "
        "you tokenized, e.g. `toolkit vectorize reviews.txt -o matrix.npz` (with the --set options you gave "
        "tokenize) rather than `toolkit tokenize reviews.txt | toolkit vectorize -`."
    )


def _first_line(path: Path) -> str:
    """The first non-blank line of a JSON lines file, or "" (unreadable: its reader names the problem)."""
    from ..data.datasets import _open_text

    try:
        with _open_text(path, "utf-8") as fh:
            return next((line for line in fh if line.strip()), "")
    except (OSError, ValueError, ToolkitError):
        return ""


def _check_input_path(path) -> Path:
    from ..exceptions import DataError

    path = Path(path).expanduser()
    if not path.exists():
        raise DataError(f"Input not found: '{path}'. Check the path (a file, a folder, or '-' for stdin).")
    if not os.access(path, os.R_OK):
        raise DataError(f"Cannot read '{path}': permission denied.")
    return path


def _bom_aware(encoding: str) -> str:
    """``encoding``, or ``"utf-8-sig"`` for UTF-8: a byte-order mark (Windows Notepad writes one) is not text."""
    import codecs

    try:
        return "utf-8-sig" if codecs.lookup(encoding).name == "utf-8" else encoding
    except LookupError:
        return encoding  # open() / decode() name the unknown encoding


def _lines(data: bytes, encoding: str, name: str, numbers: list | None = None, tool: str | None = None) -> list[str]:
    """The non-empty lines of ``data`` decoded strictly; a decoding error names ``name``, the line and the byte.

    ``numbers``, when given, is extended with the 1-based line number of each line returned. ``tool``: the
    compressor of the file ``data`` was decompressed from (``"gzip"``), for the conversion the error shows.
    """
    from ..data.datasets import _legacy_encoding, _legacy_note
    from ..exceptions import DataError

    try:
        text = data.decode(_bom_aware(encoding))
    except UnicodeDecodeError as err:
        if data.startswith((b"\xff\xfe", b"\xfe\xff")) and "16" not in encoding:
            # Excel's "Unicode Text", PowerShell 5's `>` and Notepad's "Unicode" write UTF-16 with this mark
            raise DataError(
                f"Cannot read {name} as {encoding} text: it is UTF-16 (it starts with a UTF-16 byte-order "
                f"mark). Convert it to {encoding}, e.g. `iconv -f UTF-16 -t {encoding} FILE > NEW_FILE`."
            ) from err
        line = data[: err.start].count(b"\n") + 1
        source = _legacy_encoding(data[: 1 << 24])  # cp1252 (Excel, Windows) or latin1: what to convert from
        iconv = f"iconv -f {source} -t {encoding}"
        convert = f"{iconv} FILE > NEW_FILE" if tool is None else f"{tool} -dc FILE | {iconv} | {tool} > NEW_FILE"
        raise DataError(
            f"Cannot read {name} as {encoding} text (line {line}, byte {err.start}{' of the decompressed text' if tool else ''}); is it text in another "
            f"encoding (latin-1, cp1252...) or a binary file? Give a text file in {encoding} (convert it, e.g. "
            f"`{convert}`{_legacy_note(source)})."
        ) from err
    # "\n" only (\r\n and \r read as \n, as universal newlines): str.splitlines() also breaks at U+0085,
    # U+2028, \x0b, \x0c and \x1c-\x1e, and IMDB reviews hold U+0085 (cp1252's ellipsis)
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # the newline that ends the last line starts no line
    kept = [line for line in lines if line.strip()]
    if numbers is not None:
        numbers.extend(i for i, line in enumerate(lines, 1) if line.strip())
    if len(kept) < len(lines):  # one output row per document: rows pasted beside the input would shift
        first = next(i for i, line in enumerate(lines, 1) if not line.strip())
        logger.warning("%s: %d blank line(s) skipped (first: line %d): output row k is the k-th non-blank "
                       "line, not line k.", name[:1].upper() + name[1:], len(lines) - len(kept), first)
    return kept


#: the first bytes of every gzip file
GZIP_MAGIC = b"\x1f\x8b"


def _read_bytes(path: Path) -> bytes:
    """The content of ``path``, decompressed when it is gzip, bz2 or xz data (``reviews.txt.gz``): streamed,
    so the compressed bytes are never held whole beside the text."""
    from ..data.datasets import _open_bytes
    from ..exceptions import DataError

    try:
        with _open_bytes(path) as fh:
            return fh.read()
    except OSError as err:
        raise DataError(f"Cannot read '{path}': {err.strerror or err}.") from err


def _archive_error(start: bytes, name: str, tool: str | None = None, file: str = "FILE"):
    """The DataError for raw text that is a tar or zip archive (``start``: its first 262 bytes, decompressed), or None.

    Read one document per line, ``toolkit tokenize revs.tar.gz`` gave each member's header ("revs/0_7.txt",
    "0000644", "ustar") glued to its text's first line, and the lines of every member, as documents (exit 0);
    a zip was "not utf-8 ... or a binary file?". A tar header spells "ustar" at bytes 257-261, after the NULs
    that pad its fields (text that happens to hold "ustar" there has no NUL), as :mod:`toolkit.vectors.domain`
    tells an archive. ``name``: the input in messages ("'revs.tar.gz'", "standard input"); ``tool``: its
    compressor ("gzip"); ``file``: its name in the commands shown.
    """
    from ..data.datasets import archive_kind, tar_first_member
    from ..exceptions import DataError

    where = name[:1].upper() + name[1:]
    kind = archive_kind(start)
    if kind == "tar":
        member = tar_first_member(start)
        packed = f" ({tool}-compressed)" if tool else ""
        if member.lower().startswith("aclimdb") or Path(file).name.lower().startswith("aclimdb"):
            todo = ("It is IMDB's tarball: give 'imdb' instead (its training reviews, read from the tarball in "
                    "$TOOLKIT_DATA_DIR or --data-dir without unpacking; `toolkit train --data imdb`; in Python "
                    f"toolkit.data.load_imdb(path={file!r})), or extract it (tar -xf {file}) and give a folder of "
                    "its reviews (aclImdb/train/pos: one document per .txt file).")
        else:
            todo = (f"Extract it (tar -xf {file}) and give the extracted folder (one document per .txt file) or "
                    "one of its text files (one document per line).")
        return DataError(
            f"{where} is a tar archive{packed}, not text: read one document per line, each member's header (its "
            f"name {member!r}, mode, 'ustar') and the lines of every member would become the documents. {todo}"
        )
    if kind == "zip":
        return DataError(
            f"{where} is a zip archive, not text. Extract it (unzip {file}) and give the extracted folder (one "
            "document per .txt file) or one of its text files (one document per line)."
        )
    return None


def check_not_archive(path) -> None:
    """Refuse a raw-text input file that is a tar or zip archive (:func:`_archive_error`), from its first bytes
    (decompressed): before a command loads its tokenizer, and without reading a large tarball whole.
    A file that cannot be opened or decompressed is left to the readers, which name the problem."""
    from ..data.datasets import _COMPRESSOR, ARCHIVE_HEAD, _compression, _open_bytes

    path = Path(path).expanduser()
    if not path.is_file():
        return
    try:
        with _open_bytes(path) as fh:
            start = fh.read(ARCHIVE_HEAD)
        tool = _COMPRESSOR.get(_compression(path))
    except (OSError, EOFError, ToolkitError):
        return
    error = _archive_error(start, f"'{path}'", tool, str(path))
    if error is not None:
        raise error


def _read_lines(path: Path, encoding: str, numbers: list | None = None) -> list[str]:
    """The non-empty lines of a text file, decompressed first when it is gzip, bz2 or xz data (``reviews.txt.gz``)."""
    from ..data.datasets import _COMPRESSOR, _compression

    return _lines(_read_bytes(path), encoding, f"'{path}'", numbers, tool=_COMPRESSOR.get(_compression(path)))


def _json_object(line: str) -> dict | None:
    """``line`` parsed when it is one JSON object (a record of JSON lines), else None."""
    line = line.strip()
    if not (line.startswith("{") and line.endswith("}")):
        return None
    try:
        value = json.loads(line)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _json_lines_texts(lines: list[str], numbers: list[int], column: str, name: str) -> list[str]:
    """The ``column`` text of each JSON object of ``lines`` (lines ``numbers`` of ``name``, read as text).

    JSON lines piped to stdin (``cat new.jsonl | toolkit predict MODEL``) or kept in a ``.txt`` file were
    classified as raw text, braces, keys and labels included, with no error.
    """
    from ..data.datasets import _NOT_FOUND, _record_field
    from ..exceptions import DataError

    texts = []
    for lineno, line in zip(numbers, lines):
        record = _json_object(line)
        where = f"{name[:1].upper() + name[1:]}, line {lineno}"
        if record is None:
            raise DataError(f"{where}: not a JSON object, but line {numbers[0]} is one, so {name} is read as JSON "
                            f"lines (one object per line, the text under --column {column!r}). Give one object "
                            "per line, or plain text without JSON.")
        text = _record_field(record, column)  # "review.body": a nested key, as load_jsonl reads it
        if text is _NOT_FOUND:
            from ..data.datasets import _case_hint, _nested_hint

            cased = [k for k in record if k.strip().lower() == column.lower()]
            raise DataError(f"{where}: key {column!r} (--column) not found; the record's keys are "
                            f"{sorted(record)}. Pass --column <one of them>."
                            f"{_case_hint('Keys', cased[0]) if cased else ''}{_nested_hint(record, '--column')}")
        if isinstance(text, dict):
            from ..data.datasets import _object_error

            raise _with_option_names(_object_error(where, column, text, "text_column"))
        if not isinstance(text, str):
            what = "null" if text is None else f"{text!r} ({type(text).__name__})"
            raise DataError(f"{where}: {column!r} is {what}, not a text. Fill it in or drop the record.")
        texts.append(text)
    logger.info("%s holds JSON lines: read the %r key of its %d records.", name[:1].upper() + name[1:], column,
                len(texts))
    return texts


def _csv_header_error(line: str, column: str, name: str):
    """The DataError for a CSV/TSV header as the first line of text read line by line, or None.

    ``cat new.csv | toolkit predict MODEL`` classified the header and every whole row, label column included.
    """
    from ..exceptions import DataError

    for delimiter, kind in ((",", "CSV"), ("\t", "TSV")):
        fields = [field.strip().strip('"') for field in line.strip().split(delimiter)]
        if column in fields and all(f and len(f) <= 64 and " " not in f for f in fields) \
                and (len(fields) > 1 or delimiter == ","):  # a one-column CSV's header: the column's name alone
            fix = (f"give the {kind} file by its name (FILE.{kind.lower()}, with --column) instead of on standard "
                   "input" if name == "standard input" else f"rename it to .{kind.lower()} (the suffix says how to "
                   "read a file)")
            return DataError(
                f"{name[:1].upper() + name[1:]} starts with a {kind} header ({line.strip()!r}): read line by line, "
                f"the header and each whole row, every column included, would be taken as texts. To read its "
                f"{column!r} column, {fix}; or give only the texts, one per line."
            )
    return None


def _decompressed(data: bytes, name: str) -> bytes:
    """``data`` decompressed when it is gzip, bz2 or xz data (found by its first bytes, as the file readers find
    it), else as it is. Read as text, compressed bytes failed as "not utf-8 ... or a binary file?"
    (``xz -c reviews.txt | toolkit predict MODEL -``; gzip alone was decompressed); Zstandard is refused by name.
    A damaged or cut-short stream is a DataError naming ``name`` (``"standard input"``)."""
    from ..data.datasets import _COMPRESSOR, _ZSTD_MAGIC, _compression_of, _Decompressed
    from ..exceptions import DataError

    kind = _compression_of(data[:10])
    if kind is None:
        if data.startswith(_ZSTD_MAGIC):
            raise DataError(f"{name[:1].upper() + name[1:]} is Zstandard-compressed (zstd), which is not read here; "
                            "decompress it first (`zstd -dc FILE | toolkit ...`) or compress it with gzip, bzip2 "
                            "or xz.")
        return data
    try:
        with io.BufferedReader(_Decompressed(name[:1].upper() + name[1:], kind, fileobj=io.BytesIO(data)),
                               buffer_size=1 << 16) as fh:
            return fh.read()
    except ImportError as err:  # bz2/lzma missing from this Python
        raise DataError(f"{name[:1].upper() + name[1:]} is {kind}-compressed and this Python cannot decompress "
                        f"{kind} ({err}); decompress it first (`{_COMPRESSOR[kind]} -dc FILE | toolkit ...`).") from err


def read_input(source=None, *, column="text", encoding="utf-8", stdin=None, split="train", data_dir=None,
               cache_dir=None, progress=False, filenames=None, read_as=None) -> list[str]:
    """Read raw text documents for the CLI's text commands.

    Parameters
    ----------
    source : path-like, "-" or None
        A text file (one document per non-empty line), a CSV/TSV or JSONL
        file (the ``column`` field; each of them gzip, bz2 or xz compressed
        too, found by its first bytes and read as it is decompressed:
        ``reviews.txt.gz``, ``reviews.csv.gz``, ``reviews.jsonl.gz``; a ``.csv``
        whose header holds ``;`` and no commas is read with ``;``; a ``.json``
        file of JSON lines is read as ``.jsonl``; parquet, Excel and one-document
        JSON files are refused, naming the pandas call that converts them), a folder (:func:`toolkit.data.datasets.load_folder`),
        ``"-"``/None for ``stdin`` (one document per non-empty line; gzip,
        bz2 or xz data is decompressed, found by its first bytes), or
        ``"imdb"`` (the reviews of ``split``). Lines read one document per
        line (stdin, a text file) whose first is a JSON object are read as
        JSON lines (the ``column`` of each); a CSV/TSV header naming
        ``column`` first is refused (the rows would be read whole).
    column : str, default="text"
        Text column of a CSV/TSV/JSONL file, or of JSON lines on stdin.
    encoding : str, default="utf-8"
        Encoding of a plain text file.
    stdin : text stream, optional
        Stream read for ``"-"``; defaults to :data:`sys.stdin`.
    split, data_dir, cache_dir, progress
        For ``"imdb"``, as in :func:`load_data`.
    filenames : list, optional
        For a folder, extended with each document's file, relative to the
        folder (``toolkit predict`` names them in its rows).
    read_as : list, optional
        Extended with how ``source`` was read: ``"lines"`` (one document per
        line, ``column`` unused), ``"json lines"``, ``"table"`` (CSV/TSV/JSONL
        file), ``"folder"`` or ``"imdb"`` (``column`` unused); the commands
        warn about a ``--column`` that did not apply.

    Returns
    -------
    list of str

    Raises
    ------
    toolkit.exceptions.DataError
        Missing or unreadable file, undecodable bytes, folder without text
        files, missing column, a CSV/TSV header where lines are read, a tar
        or zip archive read as lines (the message names the file and the
        problem).

    Examples
    --------
    >>> import io
    >>> read_input("-", stdin=io.StringIO("a good film\\n\\nawful\\n"))
    ['a good film', 'awful']
    >>> read_input("-", stdin=io.StringIO('{"review": "a good film", "stars": 9}\\n'), column="review")
    ['a good film']
    """
    if source is None or str(source) == "-":
        import sys

        stream = sys.stdin if stdin is None else stdin
        numbers = []
        if hasattr(stream, "buffer"):  # decoded here, strictly: sys.stdin replaces bad bytes under some locales
            from ..data.datasets import _COMPRESSOR, ARCHIVE_HEAD, _compression_of

            raw = stream.buffer.read()
            data = _decompressed(raw, "standard input")
            error = _archive_error(data[:ARCHIVE_HEAD], "standard input", _COMPRESSOR.get(_compression_of(raw[:10])))
            if error is not None:  # `cat revs.tar.gz | toolkit tokenize -`
                raise error
            del raw
            lines = _lines(data, encoding, "standard input", numbers)
        else:
            numbered = [(i, line.rstrip("\r\n")) for i, line in enumerate(stream, 1) if line.strip()]
            if numbered and numbered[0][1].startswith("\ufeff"):
                numbered[0] = (numbered[0][0], numbered[0][1][1:])
            numbered = [(i, line) for i, line in numbered if line.strip()]
            numbers, lines = [i for i, _ in numbered], [line for _, line in numbered]
        # `toolkit tokenize ... | toolkit vectorize -` tokenized the JSON text itself: '[', '"', 'good","film'
        if lines and _is_token_list(lines[0]):
            raise _token_lists_error("standard input")
        return _lines_as_texts(lines, numbers, column, "standard input", read_as)
    if str(source).lower() == "imdb":
        if read_as is not None:
            read_as.append("imdb")
        return list(load_data("imdb", split=split, data_dir=data_dir, cache_dir=cache_dir, progress=progress).texts)
    path = _check_input_path(source)
    if path.is_file() and _line_kind(str(path)) == "jsonl" and _is_token_list(_first_line(path)):
        raise _token_lists_error(f"'{path}'")  # load_jsonl said "expected a JSON object, got list"
    error = _unreadable_format(path)
    if error is not None:
        raise error
    if path.is_dir() or _data_suffix(path) in TABLE_SUFFIXES + JSONL_SUFFIXES + (".json",):
        dataset = load_data(path, column=column, label_column=None)
        if read_as is not None:
            read_as.append("folder" if path.is_dir() else "table")
        if path.is_dir() and filenames is not None:
            filenames.extend(str(name) for name in dataset.filenames)
        return list(dataset.texts)
    check_not_archive(path)  # a .tar.gz read line by line: its headers and every member as documents
    numbers = []
    lines = _read_lines(path, encoding, numbers)
    if lines and _is_token_list(lines[0]):  # `toolkit tokenize reviews.txt -o tokens.txt`
        raise _token_lists_error(f"'{path}'")
    return _lines_as_texts(lines, numbers, column, f"'{path}'", read_as)


def _lines_as_texts(lines: list[str], numbers: list[int], column: str, name: str, read_as=None) -> list[str]:
    """The texts of lines read one document per line: each line, or the ``column`` of JSON lines; a CSV/TSV
    header first is an error. ``read_as`` (a list) gets "json lines" or "lines" (see :func:`read_input`)."""
    json_lines = bool(lines) and _json_object(lines[0]) is not None
    if read_as is not None:
        read_as.append("json lines" if json_lines else "lines")
    if not lines:
        return lines
    if json_lines:
        return _json_lines_texts(lines, numbers, column, name)
    error = _csv_header_error(lines[0], column, name)
    if error is not None:
        raise error
    return lines


def load_data(data="imdb", *, split="train", column="text", label_column="label", data_dir=None, cache_dir=None,
              progress=False):
    """Load a labelled text dataset by manifest name or path.

    Parameters
    ----------
    data : str or path-like, default="imdb"
        ``"imdb"`` (through :func:`toolkit.data.datasets.load_imdb`), a class-per-folder
        directory (with labels, an ``unsup`` folder beside the class folders, IMDB's
        unlabelled reviews in ``aclImdb/train``, is left out with a warning), a CSV/TSV file (a ``.csv`` whose header has no commas but
        one of ``;``, tab, ``|`` is read with it: Excel's "CSV" in many
        locales) or a JSONL file (also JSON lines saved as ``.json``); each
        file gzip, bz2 or xz compressed too (``reviews.csv.gz``).
    split : str, default="train"
        IMDB split (``"train"``, ``"test"``, ``"unsup"``).
    column, label_column : str
        Text and label fields of a CSV/TSV/JSONL file; ``label_column=None``
        reads texts only.
    data_dir, cache_dir : path-like, optional
        Offline data folder and cache (see :func:`toolkit.data.datasets.fetch`).
    progress : bool, default=False
        For ``"imdb"``: a progress bar while the tarball is read (a first read takes
        seconds; later ones come from the cache) or downloaded.

    Returns
    -------
    toolkit.data.datasets.TextDataset
    """
    from ..data import datasets

    if str(data).lower() == "imdb":
        return datasets.load_imdb(split, data_dir=data_dir, cache_dir=cache_dir, progress=progress)
    path = check_labelled_path(data)
    if not path.is_dir():
        _check_label_not_text(column, label_column)
    suffix = _data_suffix(path)
    preloaded = _PRELOADED.pop(_preload_key(path, column, label_column), None)
    if preloaded is not None:  # read by check_training_classes in this command, before TensorFlow loaded
        return preloaded
    try:
        if path.is_dir():
            # texts alone (predict --input): every file; labelled: not IMDB's unlabelled 'unsup' as a class
            return datasets.load_folder(path, categories=None if label_column is None else
                                        _labelled_class_folders(path))
        if suffix in TABLE_SUFFIXES:
            return datasets.load_csv(path, text_column=column, label_column=label_column,
                                     delimiter=_csv_delimiter(path))
        return datasets.load_jsonl(path, text_column=column, label_column=label_column)
    except datasets.DataError as err:
        raise _with_option_names(err) from err


#: class folders that hold unlabelled documents, not a class: IMDB's aclImdb/train/unsup (50,000 reviews)
_UNLABELLED_FOLDERS = ("unsup",)


#: folder names of a dataset's splits (aclImdb/train, aclImdb/test), which are no classes
_SPLIT_FOLDERS = ("train", "test", "val", "valid", "validation", "dev", "unsup")


def _check_not_splits(path: Path, subdirs: list) -> None:
    """Refuse a folder whose "class folders" are splits each holding the same class folders.

    ``toolkit train --data aclImdb`` (the extracted tarball's top folder) read ``test`` and ``train`` as the
    two classes (their pos/ and neg/ files nested in them): a model that tells the splits apart, scored on
    a split of both, with no error.
    """
    from ..exceptions import DataError

    if len(subdirs) < 2 or not all(name.lower() in _SPLIT_FOLDERS for name in subdirs):
        return
    inner = [{p.name for p in (path / name).iterdir() if p.is_dir() and not p.name.startswith(".")}
             for name in subdirs]
    shared = sorted(set.intersection(*inner) - set(_SPLIT_FOLDERS))
    if len(shared) < 2:
        return
    train = next((name for name in subdirs if name.lower() == "train"), subdirs[0])
    test = next((name for name in subdirs if name.lower() == "test"), subdirs[-1])
    raise DataError(
        f"{path} holds the splits {subdirs}, each with the class folders {shared}: read as it is, the splits would "
        f"be the classes. Give one split: {path / train} to train on (`toolkit train --data {path / train} "
        f"--test-data {path / test}`), {path / test} to evaluate on."
    )


def _labelled_class_folders(path: Path) -> list[str] | None:
    """The class folders of ``path`` that :func:`load_data` reads: None (all), or all but an ``unsup`` folder
    beside two or more others (a warning says so).

    ``toolkit train --data aclImdb/train`` (IMDB's tarball extracted) read its ``unsup`` folder as a third
    class of 50,000 reviews, twice the labelled ones: a three-class model, and the test split has no such
    class. A folder of its own (``aclImdb/train/unsup``) is read as it is: unlabelled texts.
    """
    subdirs = sorted(p.name for p in path.iterdir() if p.is_dir() and not p.name.startswith("."))
    _check_not_splits(path, subdirs)
    unlabelled = [name for name in subdirs if name.lower() in _UNLABELLED_FOLDERS]
    classes = [name for name in subdirs if name not in unlabelled]
    if not unlabelled or len(classes) < 2:
        return None
    logger.warning("%s: its folder%s %s hold%s unlabelled documents (IMDB's layout), not a class: read the class "
                   "folders %s. To read the unlabelled ones, give %s as a folder of its own (e.g. for domain "
                   "vectors); in Python, load_folder(..., categories=[...]) chooses the class folders.", path,
                   "s" if len(unlabelled) > 1 else "", ", ".join(repr(u) for u in unlabelled),
                   "" if len(unlabelled) > 1 else "s", classes, path / unlabelled[0])
    return classes


#: the datasets preload_data read, until load_data is asked for each (taken once)
_PRELOADED: dict = {}


def _preload_key(path: Path, column, label_column):
    """What tells the file ``path`` read with these columns from any other read (an edit changes it).

    The file's inode and change time too (:func:`~toolkit._fileid.stat_id`): a rewrite that puts its size and
    modification time back (``cp -p`` onto it) is another file.
    """
    from .._fileid import stat_id

    try:
        ident = stat_id(path)
    except OSError:
        return None
    return str(path.resolve()), *ident, column, label_column


def check_training_classes(data, *, column="text", label_column="label", test_data=None) -> None:
    """Read the training (and test) data now and refuse labels of one class, before a command loads anything heavy.

    ``toolkit train`` on a file of one class (often a --label-column naming a
    column of one value) failed in the classifier's fit, after TensorFlow and
    the tokenizer (seconds); a class folder without texts, an undecodable file
    or a folder of unlabelled files failed after TensorFlow too. A folder or a
    CSV/TSV or JSONL file is read once: the next :func:`load_data` of it with the
    same columns takes the dataset read here (see :func:`preload_data`). A
    folder whose subfolders are splits (``aclImdb``: ``train/`` and ``test/``,
    each with ``neg/`` and ``pos/``) is refused. Other data (IMDB, stdin) is
    left to the readers.

    Parameters
    ----------
    data : str or path-like
        As for :func:`load_data`.
    column, label_column : str
        The text and label fields.
    test_data : str or path-like, optional
        The command's separate test data: read now too (its errors before
        anything heavy), one class allowed.

    Raises
    ------
    toolkit.exceptions.DataError
        When every label is the same class, or as :func:`load_data`.
    """
    _PRELOADED.clear()
    if label_column is None:
        return
    dataset = preload_data(data, column=column, label_column=label_column)
    if dataset is not None:
        _check_two_classes(_named_labels(dataset, label_column), data, label_column)
    if test_data is not None:
        dataset = preload_data(test_data, column=column, label_column=label_column)
        if dataset is not None:
            _named_labels(dataset, label_column)  # unlabelled test documents, named now


def preload_data(data, *, column="text", label_column="label"):
    """Read a class-per-folder directory or a CSV/TSV or JSONL file now, for the next :func:`load_data` of it.

    A command calls it before it loads anything heavy (TensorFlow, the
    tokenizer), so a problem of the data (a folder without texts, an
    undecodable file, a missing column) is its error at once, not after
    seconds of loading; the data is still read once. The dataset is kept
    until :func:`load_data` takes it (once) or :func:`discard_preloaded`.

    Parameters
    ----------
    data : str or path-like
        As for :func:`load_data`; IMDB, stdin and paths that are neither a
        folder nor a CSV/TSV/JSONL file are left to the readers.
    column, label_column : str or None
        The text and label fields.

    Returns
    -------
    toolkit.data.datasets.TextDataset or None
        The dataset read, or None when ``data`` was left to the readers.

    Raises
    ------
    toolkit.exceptions.DataError
        As :func:`load_data`.
    """
    if data is None or str(data) == "-" or str(data).lower() == "imdb":
        return None
    path = Path(data).expanduser()
    if not path.is_dir() and (_line_kind(str(path)) is None or not path.is_file()):
        return None
    key = _preload_key(path, column, label_column)
    if key in _PRELOADED:  # --data and --test-data naming the same file
        return _PRELOADED[key]
    dataset = load_data(path, column=column, label_column=label_column)
    _PRELOADED[key] = dataset
    return dataset


def discard_preloaded() -> None:
    """Forget the datasets :func:`preload_data` read that no :func:`load_data` took (a command that ended
    early): a folder's key is the folder's own identity, which an edit of a file in it does not change."""
    _PRELOADED.clear()


def _csv_delimiter(path: Path, encoding: str = "utf-8") -> str:
    """The delimiter of a CSV/TSV file for the commands: a tab for ``.tsv``; for ``.csv`` a comma, or the one
    semicolon-like delimiter (``;``, a tab, ``|``) that a header without commas holds.

    Excel saves "CSV" with semicolons where the decimal mark is a comma (German, French, Dutch,
    Italian, Spanish... settings), and pandas users write ``to_csv(sep=";")``; such a file's header
    read with commas is one column, and the command has no delimiter option.
    """
    import csv

    from ..data.datasets import _header_delimiter, _open_text, excel_sep_hint

    if _data_suffix(path) == ".tsv":
        return "\t"
    try:
        with _open_text(path, encoding) as fh:
            first = fh.readline()
            if excel_sep_hint(first) is not None:  # Excel's "sep=;" line before the header: load_csv obeys it
                return excel_sep_hint(first)
            header = next(csv.reader(itertools.chain([first], fh)), None)
    except (OSError, UnicodeDecodeError, csv.Error, ToolkitError):
        return ","  # load_csv names the problem
    delimiter = _header_delimiter(header)
    if delimiter != ",":
        logger.info("%s: its header has no commas but %r: read as %r-separated.", path, delimiter, delimiter)
    return delimiter


#: the readers' parameters and the command line's options that set them
_OPTION_NAMES = {"text_column": "--column", "label_column": "--label-column"}


def _with_option_names(err):
    """The reader's error, naming the command's options (--column) instead of its parameters (text_column=)."""
    import re

    message = str(err)
    for param, option in _OPTION_NAMES.items():
        message = message.replace(f"Pass {param}=<one of them>", f"Pass {option} <one of them>")
        message = message.replace(f"({param})", f"({option})")
    # the commands choose the delimiter by the file's suffix (.tsv tab-separated) and, for a .csv, by its
    # header (commas, or the one of ';', tab, '|' that a header without commas holds: _csv_delimiter)
    message = message.replace("pass delimiter='\\t'.", "name the file .tsv (read as tab-separated).")
    message = re.sub(r"pass delimiter='(.)'\.", r"the command line reads a .csv with commas, or with the one "
                     r"delimiter among ';', tab and '|' that its header holds; convert the file to commas.", message)
    message = message.replace("check the delimiter= parameter too", "check that the file's suffix (.csv, .tsv) "
                              "matches its delimiter")
    # a folder: the commands read its .txt files (load_folder's default extensions), and have no extensions option
    message = message.replace("Pass extensions=None to read every file.", "The command line reads the .txt files "
                              "of a folder (one document per file): give them the .txt suffix, or pass one file.")
    # an undecodable file: the readers' "or, in Python, pass load_folder its encoding (encoding=...) or
    # decode_errors='replace'" is advice a shell user cannot follow; the commands read UTF-8 only
    message = re.sub(r",? or, in Python, pass (?:load_\w+ )?its encoding \(encoding=[^)]*\)"
                     r"(?: or decode_errors='replace')?\.",
                     ". The command line reads UTF-8 only; it has no encoding option.",
                     message)
    return type(err)(message) if message != str(err) else err


def _check_label_not_text(column, label_column) -> None:
    """Refuse ``--label-column`` naming the ``--column`` of a CSV/TSV/JSONL file: each text would be its own
    label, and ``toolkit train`` reported an accuracy of 1.0 for such a model."""
    if label_column is not None and label_column == column:
        raise SettingError(
            f"--column and --label-column both name {column!r}: the labels would be the texts themselves (a model "
            "of them scores 100%). Pass --column <the text column> and --label-column <the label column>."
        )


def _check_not_data_folder(path: Path) -> None:
    """Refuse the offline data folder (``SHA256SUMS``, IMDB's tarball or its ``aclImdb`` folder) given as the data.

    ``toolkit train --data /shared/data`` (the folder ``--data-dir`` takes) read its files as unlabelled documents
    ("... has unlabelled documents; training and evaluation need labels"), naming neither --data-dir nor 'imdb'.
    """
    from ..exceptions import DataError

    try:
        entries = [p for p in path.iterdir() if not p.name.startswith(".")]
    except OSError:
        return  # unreadable: the reader's error names it
    folders = [p.name for p in entries if p.is_dir()]
    if any(name.lower() != "aclimdb" for name in folders):  # class folders: labelled data, whatever lies beside
        return
    names = sorted(p.name for p in entries)
    imdb = [n for n in names if n.lower().startswith("aclimdb") and n.lower().endswith((".tar.gz", ".tgz", ".tar"))]
    imdb += folders  # IMDB's tarball extracted there: its one "class" was 'aclImdb'
    if "SHA256SUMS" not in names and not imdb:
        return
    read = ("give 'imdb' as the data and this folder with --data-dir (e.g. `toolkit train --data imdb --data-dir "
            f"{path}`; `toolkit evaluate MODEL imdb --data-dir {path}`)") if imdb else \
        "give the data (a class-per-folder directory or a CSV/TSV/JSONL file) and this folder with --data-dir"
    raise DataError(f"{path} is an offline data folder ({first_of(names, 4)}), not labelled data: {read}.")


def check_labelled_path(data) -> Path:
    """The path of labelled data (a folder, a CSV/TSV or JSONL file), or a DataError saying what is accepted
    (for parquet, Excel and one-document JSON files: the pandas call that converts them)."""
    from ..exceptions import DataError

    if str(data) == "-":  # "Input not found: '-'. Check the path (... or '-' for stdin)", after TensorFlow loaded
        raise DataError(
            "'-' (standard input) cannot be read as labelled data: it is read from a class-per-folder directory "
            "or a CSV/TSV/JSONL file, whose name tells its format. Save the input to a file first (e.g. "
            "`... > reviews.csv`) and give the file's name."
        )
    given = Path(data).expanduser()
    if not given.exists():  # "(a file, a folder, or '-' for stdin)": '-' is refused above, and any file was not
        where = "" if given.is_absolute() else f" (relative to {Path.cwd()})"
        raise DataError(f"Input not found: '{given}'{where}. Check the path (labelled data: 'imdb', a class-per-folder "
                        "directory, or a CSV/TSV/JSONL file).")
    path = _check_input_path(data)
    error = _unreadable_format(path)
    if error is not None:
        raise error
    if not path.is_dir() and path.name.lower().startswith("aclimdb") and path.name.lower().endswith(
            (".tar.gz", ".tgz", ".tar")):  # `--data "$(toolkit data fetch imdb)"`: the tarball's path
        raise DataError(
            f"{path} is IMDB's tarball: give --data imdb (with --data-dir {path.parent}, or TOOLKIT_DATA_DIR "
            "set to that folder), which reads it without unpacking; or unpack it and give --data aclImdb/train "
            "--test-data aclImdb/test."
        )
    if path.is_dir():
        _check_not_data_folder(path)
    if not path.is_dir() and _data_suffix(path) not in TABLE_SUFFIXES + JSONL_SUFFIXES + (".json",):
        raise DataError(
            f"Cannot read labelled data from '{path}': give 'imdb', a class-per-folder directory, "
            "a .csv/.tsv or a .jsonl file (gzip, bz2 or xz compressed too: .csv.gz...)."
        )
    return path


def check_columns(data, *, column="text", label_column="label", training=None) -> None:
    """Refuse a CSV/TSV or JSONL file without the ``column`` (or ``label_column``) field, from its header or
    first record only: the reader's error (naming the options), before a command loads anything heavy.

    Parameters
    ----------
    data : str or path-like
        As for :func:`load_data`; IMDB, stdin, folders, other files and missing
        paths are left to the readers.
    column, label_column : str or None
        The text and label fields; None: not needed.
    training : str or path-like, optional
        When ``data`` is ``--test-data``: the ``--data`` it is read with. The
        same options name the columns of both, so when ``training`` is a
        CSV/TSV/JSONL file the message says to give both files the same
        names instead of "Pass --column" (which would then miss in ``training``).

    Raises
    ------
    toolkit.exceptions.DataError
        As :func:`toolkit.data.datasets.load_csv` / :func:`~toolkit.data.datasets.load_jsonl`
        for a missing or repeated column, with ``--column`` / ``--label-column``
        for their parameters.
    """
    import csv
    import sys

    from ..data import datasets

    if data is None or str(data) == "-" or str(data).lower() == "imdb":
        return
    path = Path(data).expanduser()
    kind = _line_kind(str(path))
    if kind is None or not path.is_file():
        return
    _check_label_not_text(column, label_column)
    try:
        with datasets._open_text(path, "utf-8") as fh:
            if kind == "jsonl":
                lineno, first = next(((n, text) for n, text in enumerate(fh, 1) if text.strip()), (0, ""))
                record = json.loads(first) if first else None
            else:
                csv.field_size_limit(min(sys.maxsize, 2**31 - 1))  # as load_csv: a long review is one field
                delimiter = _csv_delimiter(path)
                reader = csv.reader(fh, delimiter=delimiter)
                header = next(reader, None)
                if header is not None and datasets.excel_sep_hint(delimiter.join(header)) is not None:
                    header = next(reader, None)  # Excel's "sep=;" line, then the header (as load_csv reads it)
    except (OSError, ValueError, csv.Error, ToolkitError):  # undecodable, not JSON...: the reader names it
        return
    try:
        if kind == "jsonl" and isinstance(record, dict):
            datasets._check_record_keys(path, lineno, record, text_column=column, label_column=label_column)
        elif kind != "jsonl" and header is not None:
            datasets._check_csv_columns(path, header, delimiter, text_column=column, label_column=label_column)
    except datasets.DataError as err:
        error = _with_option_names(err)
        if training is not None and _line_kind(str(training)) is not None:
            import re

            # `--column review` for the test file would then be looked for in the training file too
            message = re.sub(
                r"Pass (--column|--label-column) <one of them>\.",
                lambda m: f"{m.group(1)} names the {'text' if m.group(1) == '--column' else 'label'} column of "
                          f"the training data ({Path(training).name}) and --test-data alike: give both files the same column "
                          "names (rename them in one file), then pass them.",
                str(error))
            error = type(err)(message)
        raise error from err


def _named_labels(dataset, label_column=None):
    """The labels as class names; an error for unlabelled documents and for a column of scores (see
    :func:`_check_not_scores`)."""
    import numpy as np

    from ..exceptions import DataError

    labels = np.asarray(dataset.labels)
    names = list(dataset.target_names)
    if not names or (labels < 0).any():
        raise DataError(
            f"{dataset.source or 'The data'} has unlabelled documents; training and evaluation need labels: "
            "a class-per-folder directory, a label column (--label-column), or IMDB's train/test split."
        )
    _check_not_scores(names, labels, dataset.source or "The data", label_column)
    _warn_case_variants(names, labels, dataset.source or "The data", label_column)
    return np.asarray(names)[labels]


def _warn_case_variants(names, labels, source, label_column=None) -> None:
    """Warn of class names that differ only in case ("Pos" and "pos"): each is a class of its own.

    A file whose labels were typed by hand (or merged from two sources) trained a model of four classes,
    two of them a few documents each, without a word. The library's warning (once per source and classes:
    ``load_csv`` may have said it already), for every input a command reads.
    """
    from ..data.datasets import _warn_cased_labels

    _warn_cased_labels(source, labels, list(names), label_column)


def first_of(items, n=10) -> str:
    """``items`` joined with commas, the first ``n`` of them and how many more: a message naming hundreds of
    classes (a column of scores read as labels) stays one line.

    Parameters
    ----------
    items : iterable of str
    n : int, default=10
        How many to name.

    Returns
    -------
    str

    Examples
    --------
    >>> first_of(["'a'", "'b'"]), first_of(map(str, range(12)), n=3)
    ("'a', 'b'", '0, 1, 2 and 9 more')
    """
    items = list(items)
    return ", ".join(items[:n]) + (f" and {len(items) - n} more" if len(items) > n else "")


#: More distinct numeric labels than this with fractions is a column of scores (refused); of whole numbers, a warning.
MAX_NUMERIC_CLASSES = 20


def numeric_labels(names):
    """The labels ``names`` as floats when every one is a finite number (``1``, ``"0.25"``, not a bool), else None.

    Parameters
    ----------
    names : iterable
        Labels or class names (str, int, float).

    Returns
    -------
    numpy.ndarray of float or None

    Examples
    --------
    >>> numeric_labels(["10", "2", "1.5"]).tolist(), numeric_labels(["neg", "pos"])
    ([10.0, 2.0, 1.5], None)
    """
    import numpy as np

    values = []
    for name in names:
        if isinstance(name, (bool, np.bool_)):
            return None
        try:
            value = float(str(name).strip())
        except ValueError:
            return None
        if not math.isfinite(value):
            return None
        values.append(value)
    return np.asarray(values, dtype=float)


def _check_not_scores(names, labels, source, label_column=None) -> None:
    """Refuse labels that are a continuous score, warn of many whole-number classes, before any fit.

    A column of numbers with fractions (0.0-1.0 scores, stars plus noise) read
    as classes gives one class per distinct value: hundreds of classes of one
    or two documents each, a warning listing all of them, then a split error
    that says to add documents to each "class". ``names`` are the distinct
    labels (the dataset's ``target_names``), ``labels`` their codes per document.
    """
    import numpy as np

    from ..exceptions import DataError

    values = numeric_labels(names)
    if values is None or len(values) <= MAX_NUMERIC_CLASSES:
        return
    column = "labels hold" if label_column is None else f"label column {label_column!r} holds"
    fractional = values != np.round(values)
    per_class = np.asarray(labels).size / len(values)
    span = f"{min(values):g} to {max(values):g}"
    if fractional.any():
        raise DataError(
            f"{source}: the {column} {len(values)} distinct numbers with fractions ({span}, e.g. "
            f"{names[int(np.flatnonzero(fractional)[0])]}): a continuous score, not classes. toolkit fits "
            f"classifiers, one class per distinct label: {len(values)} classes of {per_class:.1f} documents each "
            "on average. Write classes into the file instead (e.g. a column of whole stars, or 'pos' for scores "
            ">= 0.5), or fit a regressor in Python on the toolkit's features: make_pipeline(SpacyTokenizer(), "
            "BagEncoder(), Ridge()) with sklearn.linear_model.Ridge."
        )
    logger.warning("The %s %d distinct whole numbers (%s): toolkit fits one class per value, %.1f documents "
                   "each on average. If they are scores rather than classes, bin them into a few classes in the "
                   "file first.", column, len(values), span, per_class)


def check_limit(limit, *, name="limit", owner="load_train_test"):
    """Refuse a ``limit`` that is not None or a positive int, naming the parameter.

    Examples
    --------
    >>> check_limit(None), check_limit(5)
    (None, 5)
    >>> check_limit(-1, name="--limit", owner="toolkit train")
    Traceback (most recent call last):
    ...
    toolkit._validation.InvalidParameterError: The '--limit' parameter of toolkit train must be an int in the range [1, inf) or None. Got -1 instead.
    """
    from .._validation import Interval, validate_param

    validate_param(limit, [Interval(int, 1, None), None], name=name, owner=owner)
    return limit


def _stratify(labels, *, n_train, n_test):
    """``labels`` when a stratified split into ``n_train`` and ``n_test`` documents is possible, else None.

    scikit-learn's stratified split needs two documents of each class and at
    least as many documents in each part as there are classes; data with many
    classes and few documents (25 classes, 100 documents, a test part of 20)
    gets a plain random split, with a warning, instead of an error.
    """
    import numpy as np

    classes, counts = np.unique(labels, return_counts=True)
    if counts.min() >= 2 and min(n_train, n_test) >= classes.size:
        return labels
    reason = (f"class {str(classes[np.argmin(counts)])!r} has one document" if counts.min() < 2 else
              f"a part of {min(n_train, n_test)} documents cannot hold all {classes.size} classes")
    logger.warning("The split into %d and %d documents is not stratified (%s): some classes may be missing "
                   "from one part. A larger part (--test-size, --limit) or separate --test-data avoids this.",
                   n_train, n_test, reason)
    return None


def split_singles_to_train(labels, n_test, *, random_state, stratify):
    """Rows ``(train, test)`` of a split in which every document of a class that has one goes to ``train``.

    The other rows are split by scikit-learn's ``train_test_split`` into
    ``n_test`` test rows (an int), stratified by ``stratify(their_labels,
    n_train, n_test)`` (labels, or None for a plain split). Without such
    classes the rows are those of ``train_test_split(np.arange(n),
    test_size=n_test, ...)``, which an equal fractional ``test_size`` gives
    too. The one-document rows come last in ``train``.
    """
    import numpy as np
    from sklearn.model_selection import train_test_split

    labels = np.asarray(labels)
    classes, counts = np.unique(labels, return_counts=True)
    single = np.isin(labels, classes[counts < 2])
    rest = np.flatnonzero(~single)
    train, test = train_test_split(rest, test_size=n_test, random_state=random_state,
                                   stratify=stratify(labels[rest], rest.size - n_test, n_test))
    return np.concatenate([train, np.flatnonzero(single)]), test


def _subsample(texts, labels, limit, random_state, extra=None):
    """At most ``limit`` documents, stratified and shuffled with ``random_state``.

    A class of one document is kept (the sample would otherwise lose the
    class, or its one document would turn off stratification for every
    class), and the rest of the sample is drawn stratified, the rule of the
    train/test split (:func:`split_singles_to_train`); with more such classes
    than ``limit`` leaves room for, the sample is a plain random one (with a
    warning). ``extra`` (an array with one value per document, or None) is
    subsampled the same way and returned third when given.
    """
    import numpy as np

    if limit is None or limit >= len(texts):
        kept = list(texts), np.asarray(labels)
        return kept if extra is None else (*kept, np.asarray(extra))
    from sklearn.model_selection import train_test_split

    labels = np.asarray(labels)
    classes, counts = np.unique(labels, return_counts=True)
    n_single = int((counts < 2).sum())
    if 0 < n_single < limit:
        logger.info("Class%s %s ha%s one document: kept in the sample of %d documents; the rest is drawn "
                    "stratified.", "es" if n_single > 1 else "", first_of(repr(str(c)) for c in classes[counts < 2]),
                    "ve" if n_single > 1 else "s", limit)
        idx, _ = split_singles_to_train(labels, len(texts) - limit, random_state=random_state,
                                        stratify=lambda y, n_in, n_out: _stratify(y, n_train=n_in, n_test=n_out))
    else:
        stratify = _stratify(labels, n_train=limit, n_test=len(texts) - limit)
        idx, _ = train_test_split(np.arange(len(texts)), train_size=limit, stratify=stratify,
                                  random_state=random_state)
    idx = np.sort(idx)
    kept = [texts[i] for i in idx], labels[idx]
    return kept if extra is None else (*kept, np.asarray(extra)[idx])


def _check_two_classes(labels, data, label_column) -> None:
    """Refuse training labels of one class, before anything heavy: a classifier needs two."""
    import numpy as np

    from ..exceptions import DataError

    classes = np.unique(np.asarray(labels).astype(str))
    if classes.size != 1:
        return
    table = label_column is not None and _line_kind(str(data)) is not None
    raise DataError(
        f"{data} has documents of one class only, {str(classes[0])!r}"
        f"{f' in its label column {label_column!r}' if table else ''} ({len(labels)} documents): a classifier "
        "learns to tell classes apart and needs documents of at least two. Add documents of the other classes"
        f"{', or check that --label-column names the column of classes' if table else ''}."
    )


#: how booleans are written: Python and pandas (True), Excel, R and SAS (TRUE), JSON, JavaScript and Spark (true)
_BOOLEAN_NAMES = ("true", "false")


def _booleans_as_in(labels, reference, source, reference_source):
    """``labels`` with a boolean written another way than in ``reference`` written as there.

    JSON's ``true`` is read as Python's ``True`` (class ``"True"``), Excel and R
    write ``TRUE`` into a CSV and Spark ``true``: the same value, which training
    on one file and testing on another read as different classes ("labels the
    model was never trained on"). A label is renamed only when ``reference`` lacks
    its exact name and writes that boolean one way.
    """
    import numpy as np

    known = set(np.asarray(reference).astype(str).tolist())
    spellings: dict = {}
    for name in known:
        if name.strip().lower() in _BOOLEAN_NAMES:
            spellings.setdefault(name.strip().lower(), set()).add(name)
    renamed = {}
    for name in set(np.asarray(labels).astype(str).tolist()) - known:
        same = spellings.get(name.strip().lower(), set())
        if len(same) == 1:
            renamed[name] = next(iter(same))
    if not renamed:
        return labels
    logger.info("%s: the label%s %s read as %s, as %s writes the same boolean%s.", source,
                "s" if len(renamed) > 1 else "", first_of(map(repr, sorted(renamed))),
                first_of(repr(renamed[k]) for k in sorted(renamed)), reference_source,
                "s" if len(renamed) > 1 else "")
    return np.asarray([renamed.get(str(v), str(v)) for v in np.asarray(labels).tolist()])


def check_test_size(test_size, n_documents: int, data) -> int:
    """The number of test documents ``test_size`` (a fraction or a count) holds out of ``n_documents``; a
    :class:`SettingError` when it leaves no training document or holds out one (which scores 0 or 1).

    ``toolkit train`` calls it with the data read before TensorFlow loads (:func:`preload_data`), so a
    ``--test-size`` too large for the data is its error at once; :func:`load_train_test` checks it again.
    """
    n_test = test_size if isinstance(test_size, numbers.Integral) else math.ceil(test_size * n_documents)
    if not 1 <= n_test < n_documents:
        # scikit-learn's ValueError here (a count of the data's size or more, or a fraction that leaves no
        # training document, e.g. 0.999 of 300) ended the command as "a bug in toolkit" with a traceback
        raise SettingError(f"test_size={test_size} (--test-size) leaves no training documents: {data} has "
                           f"{n_documents} documents; give at most {n_documents - 1} test documents or a "
                           "smaller fraction, e.g. 0.2.")
    if n_test == 1:  # "accuracy 1.0000 on 1 documents": a score of 0 or 1 that measures nothing
        raise SettingError(f"test_size={test_size} (--test-size) holds out 1 of the {n_documents} documents "
                           f"of {data}: one test document scores 0 or 1, which measures nothing. Give a "
                           "larger fraction or count (at least as many test documents as classes), or "
                           "--test-data.")
    return n_test


def load_train_test(
    data="imdb", *, test_data=None, test_size=0.2, limit=None, random_state=0,
    column="text", label_column="label", data_dir=None, cache_dir=None, with_ratings=False, with_positions=False,
    progress=False,
):
    """Training and test texts and labels.

    IMDB comes with its own train/test split; other data is split with
    ``test_size`` (stratified) unless ``test_data`` is given. A class of one
    document goes to the training part (in the test part no model could
    predict it), and the other documents are split stratified. ``limit`` keeps
    at most that many documents of each part (stratified random sample).
    ``with_ratings=True`` also returns the training documents' ratings (IMDB:
    the stars of each review; None for data without them).
    ``progress=True`` shows a bar while IMDB's tarball is read (see :func:`load_data`).
    ``with_positions=True`` also returns where each document of the two parts
    comes from (its record in the file), so that an error about "document
    ``i``" of a part can name the record the user finds in the file.
    Training data of one class is an error, raised before the split. A boolean
    label of ``test_data`` written another way than in ``data`` (JSON's
    ``true``, read as ``"True"``; Excel's ``TRUE``; Spark's ``true``) is the
    training data's class.

    Returns
    -------
    (train_texts, train_labels, test_texts, test_labels) : tuple
        Labels are class names where the dataset has them (``"neg"``/``"pos"``).
        With ``with_ratings=True``, a fifth item: the training ratings or None.
        With ``with_positions=True``, a last item: ``(train_records,
        test_records)``, two :class:`DocumentRecords` (``train_records.records[i]``
        is the 0-based record number of ``train_texts[i]`` in its source;
        :meth:`DocumentRecords.describe` names it with its line).
    """
    import numpy as np

    check_limit(limit)
    kwargs = dict(column=column, label_column=label_column, data_dir=data_dir, cache_dir=cache_dir, progress=progress)
    train_ds = load_data(data, split="train", **kwargs)
    x_train, y_train = list(train_ds.texts), _named_labels(train_ds, label_column)
    _check_two_classes(y_train, data, label_column)  # now, not after the tokenizer (seconds) and in the fit
    r_train = getattr(train_ds, "ratings", None)
    # the record of each document in its source, through the split and the subsample
    p_train = np.arange(len(x_train))
    if test_data is not None or str(data).lower() == "imdb":
        test_ds = load_data(test_data if test_data is not None else data, split="test", **kwargs)
        x_test, y_test = list(test_ds.texts), _named_labels(test_ds, label_column)
        if test_data is not None:
            y_test = _booleans_as_in(y_test, y_train, test_data, data)
        p_test = np.arange(len(x_test))
        absent = sorted(set(np.asarray(y_train).tolist()) - set(np.asarray(y_test).tolist()), key=str)
        if test_data is not None and absent:
            # the test scores then say nothing about these classes (a file of one class: accuracy 1.0, no ROC AUC)
            logger.warning("The test data %s has no documents of class%s %s, which the training data %s has: "
                           "the test scores do not measure %s. Add test documents of %s, or leave out "
                           "--test-data to split the training data (--test-size).", test_data,
                           "es" if len(absent) > 1 else "", first_of(repr(str(c)) for c in absent), data,
                           "them" if len(absent) > 1 else "it", "each class" if len(absent) > 1 else "that class")
    else:
        from sklearn.model_selection import train_test_split

        test_ds = train_ds
        n_test = check_test_size(test_size, len(x_train), data)
        labels = np.asarray(y_train)
        classes, counts = np.unique(labels, return_counts=True)
        single = np.isin(labels, classes[counts < 2])
        if single.any() and 0 < n_test < int((~single).sum()):
            # a class of one document cannot be in both parts: it goes to the training part (in the test
            # part the model, never trained on it, could not predict it) and the rest is split stratified
            logger.warning("Class%s %s ha%s one document: kept in the training part; the other %d documents are "
                           "split stratified.", "es" if (counts < 2).sum() > 1 else "",
                           first_of(repr(str(c)) for c in classes[counts < 2]),
                           "ve" if (counts < 2).sum() > 1 else "s", int((~single).sum()))
            p_train, p_test = split_singles_to_train(labels, n_test, random_state=random_state,
                                                     stratify=lambda y, n_tr, n_te: _stratify(y, n_train=n_tr,
                                                                                             n_test=n_te))
            p_train = np.random.default_rng(random_state).permutation(p_train)
        else:
            stratify = _stratify(labels, n_train=len(x_train) - n_test, n_test=n_test)
            p_train, p_test = train_test_split(
                np.arange(len(x_train)), test_size=test_size, stratify=stratify, random_state=random_state
            )
        x_train, x_test = [x_train[i] for i in p_train], [x_train[i] for i in p_test]
        y_train, y_test = np.asarray(y_train)[p_train], np.asarray(y_train)[p_test]
    x_train, y_train, p_train = _subsample(x_train, y_train, limit, random_state, extra=p_train)
    x_test, y_test, p_test = _subsample(x_test, y_test, limit, random_state, extra=p_test)
    out = (x_train, y_train, x_test, y_test)
    if with_ratings:
        out += (None if r_train is None else np.asarray(r_train)[p_train],)
    if with_positions:
        out += ((_dataset_records(train_ds, p_train), _dataset_records(test_ds, p_test)),)
    return out


class DocumentRecords:
    """Where the documents of one part of a split come from: the data source and each one's record there.

    :func:`load_train_test` shuffles and subsamples, so document ``i`` of a
    part is rarely record ``i`` of the user's file; an error about "Document
    ``i`` of X" is named by :meth:`describe` instead: "record 1234 (line 1236)
    of reviews.csv".

    Parameters
    ----------
    source : str
        The file or folder read (:attr:`toolkit.data.TextDataset.source`).
    records : array-like of int
        The 0-based record number in ``source`` of each document of the part,
        in the part's order (the readers' ``ids`` for CSV/JSONL without an
        ``id_column``).
    filenames : list of str, optional
        The file (folder) or archive member (IMDB) of each record of ``source``.

    Attributes
    ----------
    source : str
    records : numpy.ndarray of int64
    filenames : list of str or None

    Examples
    --------
    >>> DocumentRecords("reviews.txt", [7, 3]).describe(1)
    'record 3 of reviews.txt'
    >>> DocumentRecords("reviews", [1, 0], filenames=["neg/a.txt", "pos/b.txt"]).describe(0)
    'the file pos/b.txt in reviews'
    """

    def __init__(self, source, records, filenames=None):
        import numpy as np

        self.source = str(source)
        self.records = np.asarray(records, dtype=np.int64)
        self.filenames = None if filenames is None else list(filenames)

    def __len__(self) -> int:
        return len(self.records)

    def __repr__(self) -> str:
        return f"DocumentRecords({self.source!r}, <{len(self)} records>)"

    def record(self, index: int) -> int:
        """The 0-based record number in :attr:`source` of document ``index`` of the part."""
        return int(self.records[index])

    def line(self, index: int) -> int | None:
        """The 1-based line of :attr:`source` where document ``index``'s record starts, or None.

        Known for CSV/TSV (a record may span lines: its first one) and JSONL
        files, counted as their readers count them; the file is read again up
        to that record (meant for error messages, not loops). None for other
        sources and when the file cannot be read again.
        """
        kind = _line_kind(self.source) if self.filenames is None else None
        if kind is None:
            return None
        import csv

        record = self.record(index)
        try:
            starts = _record_start_lines(Path(self.source), kind, record)
        except (OSError, ValueError, csv.Error) as err:  # removed or edited since it was read
            logger.debug("Cannot count the lines of %s: %s", self.source, err)
            return None
        return starts[record] if record < len(starts) else None

    def describe(self, index: int) -> str:
        """Document ``index`` of the part named as the user finds it in the source.

        "record 1234 (line 1236) of reviews.csv" (CSV/TSV/JSONL), "the file
        pos/12_8.txt in reviews" (a folder), "the file
        aclImdb/train/pos/12_8.txt in aclImdb_v1.tar.gz" (IMDB).
        """
        record = self.record(index)
        if self.filenames is not None:
            return f"the file {self.filenames[record]} in {self.source}"
        line = self.line(index)
        return f"record {record}{'' if line is None else f' (line {line})'} of {self.source}"


def _line_kind(source: str) -> str | None:
    """The kind of file whose records' lines :func:`_record_start_lines` counts ("csv", "tsv", "jsonl"), or None."""
    suffix = _data_suffix(source)
    if suffix in JSONL_SUFFIXES + (".json",):  # a .json file the commands read is JSON lines
        return "jsonl"
    if suffix in TABLE_SUFFIXES:
        return suffix[1:]
    return None


def _record_start_lines(path: Path, kind: str, upto: int, encoding: str = "utf-8") -> list[int]:
    """The 1-based first line of records 0 to ``upto`` of a CSV/TSV/JSONL file (fewer if it has fewer).

    Records are counted as :func:`toolkit.data.datasets.load_csv` and
    :func:`~toolkit.data.datasets.load_jsonl` count them (the same opening:
    byte-order mark dropped, ``newline=""``): a CSV's header row is no
    record, its blank lines and rows of empty fields are skipped and a quoted field may span lines; a
    JSONL file's blank lines are skipped.
    """
    import csv
    import sys

    from ..data.datasets import _open_text

    starts: list[int] = []
    with _open_text(path, encoding) as fh:
        if kind == "jsonl":
            for lineno, line in enumerate(fh, 1):
                if line.strip():
                    starts.append(lineno)
                    if len(starts) > upto:
                        break
            return starts
        csv.field_size_limit(min(sys.maxsize, 2**31 - 1))  # as load_csv: a long review is one field
        reader = csv.reader(fh, delimiter=_csv_delimiter(path, encoding))
        next(reader, None)  # the header (DictReader's field names: the first row)
        while len(starts) <= upto:
            start = reader.line_num + 1
            row = next(reader, None)
            if row is None:
                break
            if any(field.strip() for field in row):  # load_csv skips blank rows and rows of empty fields
                starts.append(start)
    return starts


def describe_input_document(source, index: int, *, encoding: str = "utf-8", split: str = "train") -> str:
    """Document ``index`` of what :func:`read_input` read from ``source``, named as the user finds it there.

    "line 12 of reviews.txt" (a file of lines: blank lines hold no document,
    so document ``k`` is the ``k``-th non-blank line), "record 3 (line 5) of
    reviews.csv" (CSV/TSV/JSONL), "non-blank line 4 of standard input",
    "review 7 of IMDB's train split", "document 2 of the folder reviews".
    Meant for error messages: a file is read again.

    Parameters
    ----------
    source : path-like, "-", "imdb" or None
        As given to :func:`read_input`.
    index : int
        The document's 0-based position in :func:`read_input`'s list.
    encoding, split : str
        As given to :func:`read_input`.

    Returns
    -------
    str

    Examples
    --------
    >>> describe_input_document("-", 0)
    'non-blank line 1 of standard input'
    """
    if source is None or str(source) == "-":
        return f"non-blank line {index + 1} of standard input"
    if str(source).lower() == "imdb":
        return f"review {index} of IMDB's {split} split"
    path = Path(source).expanduser()
    if path.is_dir():
        return f"document {index} of the folder {path}"
    if _line_kind(str(path)) is not None:
        return DocumentRecords(str(path), [index]).describe(0)
    try:
        text = _read_bytes(path).decode(_bom_aware(encoding))
    except (OSError, ValueError) as err:  # (DataError is a ValueError)  # removed or edited since it was read
        logger.debug("Cannot count the lines of %s: %s", path, err)
        return f"document {index} of {path} (its non-blank line {index + 1})"
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")  # as _lines splits them
    numbers = [number for number, line in enumerate(lines, 1) if line.strip()]
    if index < len(numbers):
        return f"line {numbers[index]} of {path}"
    return f"document {index} of {path} (its non-blank line {index + 1})"


def _dataset_records(ds, records=None) -> DocumentRecords:
    """The :class:`DocumentRecords` of ``ds``'s documents ``records`` (default: all, in order)."""
    import numpy as np

    return DocumentRecords(ds.source or "the data", np.arange(len(ds)) if records is None else records,
                           filenames=ds.filenames)


def parse_setting(item: str) -> tuple[str, object]:
    """Split ``"key=value"`` and read the value as a Python/JSON literal, else str.

    ``none`` (any case) is None, as in ``--grid``: ``--set maxlen=none``
    means no length limit, not the text "none".

    Examples
    --------
    >>> parse_setting("epochs=3"), parse_setting("ngram_range=(1, 2)")
    (('epochs', 3), ('ngram_range', (1, 2)))
    >>> parse_setting("architecture=cnn"), parse_setting("trainable=true")
    (('architecture', 'cnn'), ('trainable', True))
    >>> parse_setting("maxlen=none"), parse_setting("maxlen=None")
    (('maxlen', None), ('maxlen', None))
    """
    import ast

    key, sep, raw = item.partition("=")
    key = key.strip()
    if not sep or not key:
        raise SettingError(f"Invalid setting {item!r}: expected key=value, e.g. epochs=3.")
    raw = raw.strip()
    if raw.lower() == "none":  # as --grid reads it (and JSON's null): a text "none" is no setting's value
        return key, None
    for parse in (ast.literal_eval, json.loads):
        try:
            return key, parse(raw)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            continue
    return key, raw

