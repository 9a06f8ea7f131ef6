"""Partition-wise text processing on Dask: inputs as bags, tokenized partitions, merged vocabularies.

A corpus larger than memory is a ``dask.bag`` of texts (or of ``(text,
label)`` pairs), one partition at a time in memory. Each partition is
tokenized by :class:`~toolkit.text.SpacyTokenizer` into a compact
:class:`~toolkit.text.TokenizedCorpus`; the vocabulary is built from
per-partition counts (and first positions, which break ties), combined in a
tree on the workers and finished on the client, so it equals :meth:`Vocabulary.from_documents` on the whole corpus:
same tokens, same order, same counts.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
from pathlib import Path

import numpy as np

from .._validation import Interval, validate_param
from ..text.vocabulary import Vocabulary

__all__ = ["read_texts", "tokenize_partitions", "build_vocabulary", "partition_counts", "combine_counts",
           "tree_combine", "merge_counts"]

_RESERVED = ("<pad>", "<unk>")

logger = logging.getLogger(__name__)


def require_dask():
    """Import dask.bag, or say how to install the extra."""
    try:
        import dask.bag as db
    except ImportError as err:  # pragma: no cover - the [dask] extra is part of [test]
        raise ImportError(
            "toolkit.distributed needs Dask; install the optional extra: pip install -e \".[dask]\" "
            "(or pip install 'dask[bag,dataframe]' distributed)."
        ) from err
    return db


def _check_frame_columns(frame, text_column, label_column, source, hidden=()):
    """Refuse a missing ``text_column`` / ``label_column`` of ``frame`` (its ``hidden`` columns not named)."""
    columns = [c for c in frame.columns if c not in hidden]
    for role, name in (("text_column", text_column), ("label_column", label_column)):
        if name is not None and name not in columns:
            raise ValueError(f"{source} has no column {name!r} ({role}); its columns are {columns}.")
    if text_column is None:
        raise ValueError(f"{source} is a table: name its text column with text_column=... (columns: {columns}).")


def _dataframe_bag(frame, text_column, label_column, source):
    _check_frame_columns(frame, text_column, label_column, source)
    if label_column is None:
        return frame[text_column].to_bag()
    return frame[[text_column, label_column]].to_bag()


def read_texts(source, *, text_column=None, label_column=None, blocksize="64MiB"):
    """A Dask bag of texts (or ``(text, label)`` pairs) from files or a Dask collection.

    Parameters
    ----------
    source : dask.bag.Bag, dask.dataframe.Series or DataFrame, path or list of paths
        A bag is returned as it is (a bag of dicts with ``text_column``:
        the named keys are picked, as from JSON lines); a Series of texts
        becomes a bag; a DataFrame needs ``text_column``. Paths (globs
        allowed): ``.txt`` (one document per line), ``.csv``, ``.tsv``
        (tab-separated), ``.jsonl``/``.ndjson``/``.json`` (one JSON object
        per line, which then need
        ``text_column``; blank lines are skipped, as by
        :func:`~toolkit.data.load_jsonl`), each plain or compressed with
        gzip, bzip2 or xz (``.jsonl.gz``, ``.csv.bz2``, ``.txt.xz``; the
        content decides, as for :func:`~toolkit.data.load_csv`, so a
        ``.gz`` file that holds plain text is read as it is), and ``.parquet``
        (``.parq``, ``.pq``; a folder of them, as Dask writes a dataset,
        too; read with pyarrow, a row group never cut: write a large file
        with ``row_group_size=``; a missing text is an error naming the
        file and its row, from 0). Each CSV file is read by its own
        header: its columns by name (their order may differ from file to
        file), and a file without the named columns (one written without
        its header row) is an error naming it, before anything is read. Plain
        and compressed files
        of one format are read together, in the order given (files of two
        formats are refused). Files are read as UTF-8, a byte order mark
        dropped; a file with bytes UTF-8 cannot decode (one saved as latin-1
        or cp1252) fails on compute with a ``DataError`` that names it and
        the text, as does a damaged or cut-short compressed file. Each plain
        file is cut in blocks of ``blocksize`` bytes, so no file is read
        whole; a compressed file cannot be cut (its stream is read from its
        start), so it is read whole, as one partition held by the worker that
        reads it, whatever ``blocksize`` says: give a large corpus as several
        compressed files, which are read in parallel. A compressed Parquet
        file (``.parquet.gz``) is refused: Parquet compresses its own columns
        (``to_parquet(..., compression="zstd")``); decompress it.
    text_column, label_column : str, optional
        Columns (keys) of tables and JSON lines; with ``label_column`` the bag
        holds ``(text, label)`` pairs. The labels of files are read as
        :func:`~toolkit.data.load_csv` and :func:`~toolkit.data.load_jsonl`
        read them, so a store built from a file has the classes that training
        on it in memory has: spaces around a label dropped (``"pos "`` is
        ``"pos"``), a number one class however it is written (``"1.0"`` and
        ``"1"`` are ``"1"``), and ``"nan"``, ``"#N/A"``, Excel's error values
        and a column named twice refused (an error naming the file); an empty
        cell or a JSON ``null`` is left missing, which
        :meth:`~toolkit.distributed.CorpusStore.build` refuses naming the
        document. A ``.csv`` whose header has no commas but one of ``;``,
        tab and ``|`` is read with it (Excel's CSV in many locales); rows of
        empty fields are skipped, and ``"NA"``, ``"null"`` or ``"None"`` are
        texts and labels as written; an empty text cell is an error naming
        the file and line, as :func:`~toolkit.data.load_csv` names it.
        Parquet labels keep their type (``1.0`` is ``1``; strings as in CSV).
    blocksize : str or int, default="64MiB"
        Bytes per partition of each plain file (of a Parquet file: its row
        groups, whole, until their size reaches it). A compressed file is
        read whole whatever it says (a warning names one larger than it). A CSV whose quoted texts hold line
        breaks needs ``blocksize=None`` (one partition per file): a block
        boundary inside a quoted text fails with pandas' "EOF inside string".

    Returns
    -------
    dask.bag.Bag

    Examples
    --------
    >>> import dask.bag as db
    >>> from toolkit.distributed import read_texts
    >>> read_texts(db.from_sequence(["a b", "c"], npartitions=2)).compute()
    ['a b', 'c']
    """
    db = require_dask()
    if isinstance(source, db.Bag):
        if text_column is None and label_column is None:
            return source
        if text_column is None:
            raise ValueError("read_texts got label_column without text_column: a bag of records needs both keys named.")
        # a bag of dicts (e.g. db.read_text(...).map(json.loads)): pick the named keys, as for JSON lines files
        return source.map(_pick, text_column, label_column, "The bag")
    import dask.dataframe as dd

    if isinstance(source, dd.Series):
        if text_column is not None or label_column is not None:
            raise ValueError(
                "read_texts got a Dask Series, which has no columns to pick: drop text_column/label_column, or pass "
                "the DataFrame that holds both columns."
            )
        return source.to_bag()
    if isinstance(source, dd.DataFrame):
        return _dataframe_bag(source, text_column, label_column, "The DataFrame")
    paths = [source] if isinstance(source, (str, os.PathLike)) else list(source)
    if not paths:
        raise ValueError("read_texts got no input paths; pass a file, a glob or a list of files.")
    paths = _expand_mixed_globs(paths)
    kinds = {_file_kind(p) for p in paths}
    if len(kinds) > 1 and len({_format_of(k)[0] for k in kinds}) == 1:
        # the same format, some files compressed (reviews-1.csv, reviews-2.csv.gz): each run of one kind read as
        # such (a compressed file one partition, a plain one cut in blocks), in the order given
        runs = []
        for p in paths:
            if runs and _file_kind(runs[-1][-1]) == _file_kind(p):
                runs[-1].append(p)
            else:
                runs.append([p])
        return db.concat([read_texts(run, text_column=text_column, label_column=label_column, blocksize=blocksize)
                          for run in runs])
    if len(kinds) != 1:
        raise ValueError(f"read_texts reads one kind of file at a time; got suffixes {sorted(kinds)} in {paths}.")
    from ..data.datasets import PARQUET_SUFFIXES

    kind = kinds.pop()
    suffix, compression = _format_of(kind)
    compressed = compression is not None
    names = [os.fspath(p) for p in paths]
    if compressed and blocksize is not None and suffix not in PARQUET_SUFFIXES:
        _warn_read_whole(names, blocksize)
    if suffix == ".txt":
        if text_column or label_column:
            raise ValueError(".txt inputs hold one document per line and no columns; drop text_column/label_column.")
        # utf-8-sig: a byte order mark (Notepad, Excel) would otherwise start the first document
        lines = (_compressed_lines(names, include_path=True) if compressed
                 else db.read_text(names, blocksize=blocksize, encoding="utf-8-sig", errors="surrogateescape",
                                   include_path=True))
        return lines.map(_text_line)
    if suffix in (".csv", ".tsv"):
        # as load_csv reads the file: its delimiter (a tab for .tsv, as the commands read it; for .csv a header
        # of ';', tab or '|' and no commas: Excel's CSV in many locales), an empty cell missing but "NA", "null",
        # "None" texts and labels as written; the columns by name, from each file's own header (checked here,
        # before any block is read)
        files = _csv_files(names, compressed, text_column, label_column, "\t" if suffix == ".tsv" else None)
        options = {"dtype": "object", "encoding_errors": "surrogateescape", "keep_default_na": False,
                   "na_values": [""]}
        wanted = [text_column] if label_column is None else [text_column, label_column]
        frame = (_compressed_csv(files, options, wanted) if compressed
                 else _plain_csv(files, blocksize, options, wanted))
        if label_column is None:
            return frame.to_bag().map(_file_text)
        return frame.to_bag().map(_file_pair, label_column)
    if suffix in PARQUET_SUFFIXES:
        if compressed:
            tool = {".gz": "gunzip", ".bz2": "bunzip2", ".xz": "unxz"}[compression]
            raise ValueError(
                f"read_texts cannot read {names[0]!r}: a compressed Parquet file cannot be read in row groups (it "
                f"would be read whole). Parquet compresses its own columns: decompress it (`{tool} FILE`), or "
                "write it compressed inside (df.to_parquet(path, compression='zstd'))."
            )
        return _parquet_bag(names, text_column, label_column, blocksize)
    if suffix in (".jsonl", ".ndjson", ".json"):
        if text_column is None:
            raise ValueError(f"JSON lines input {names[0]}: name the text key with text_column=....")
        lines = (_compressed_lines(names, include_path=True) if compressed
                 else db.read_text(names, blocksize=blocksize, encoding="utf-8-sig", errors="surrogateescape",
                                   include_path=True))
        return lines.map_partitions(_json_lines, text_column, label_column)
    folder = (f" (a folder: give its files with a glob, e.g. {os.path.join(names[0], '*.csv')!r})"
              if os.path.isdir(names[0]) else "")
    raise ValueError(
        f"read_texts cannot read {names[0]!r}{folder}: expected .txt (one document per line), .csv, .tsv or "
        ".jsonl files, plain or compressed (.gz, .bz2, .xz), .parquet files, or a dask.bag / dask.dataframe "
        "collection."
    )


#: the column of a CSV's rows that names their file, for the label errors (not one of the user's columns)
_PATH_COLUMN = "__toolkit_path__"


def _csv_delimiter(names, compressed, delimiter=None, **wanted) -> str:
    """The delimiter of CSV inputs, as the commands read a ``.csv`` file: a comma, or the one of ``;``, tab,
    ``|`` that a header without commas holds (the first file's, by :func:`_csv_header`; ``compressed``: the
    files are named as compressed ones); ``delimiter`` when given (a tab for ``.tsv`` files). A column of
    ``wanted`` named twice in that header is refused, as :func:`~toolkit.data.load_csv` refuses it (pandas
    would read the first one)."""
    import csv

    import fsspec

    from ..data.datasets import _check_csv_columns

    try:
        files = fsspec.open_files(names, mode="rb")
        if not files:
            return delimiter or ","
        header, delimiter = _csv_header(files[0], compressed, delimiter)
    except (OSError, ValueError, csv.Error, EOFError):  # a DataError is a ValueError
        return delimiter or ","  # the reader names what is wrong with the file
    if header is None:
        return delimiter
    twice = {param: c for param, c in wanted.items() if c is not None and header.count(c) > 1}
    if twice:
        _check_csv_columns(files[0].path, header, delimiter, **twice)
    return delimiter


def _csv_header(openfile, compressed=False, delimiter=None):
    """``(header, delimiter)`` of one CSV file (an fsspec file opened in bytes, named as a compressed one when
    ``compressed``) from its first line (None for an empty file): the delimiter is ``delimiter`` when given
    (a tab for a ``.tsv`` file), else a comma, or the one of ``;``, tab, ``|`` that a header without commas
    holds (Excel's CSV in many locales); a damaged compressed file or a UTF-16 one is an error naming it."""
    import csv
    import io

    from ..data.datasets import _header_delimiter

    with _decompressed(openfile, compressed) as fh:
        raw = fh.readline()
    if not raw:
        return None, delimiter or ","
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):  # Excel's "Unicode text": its header read as bytes of garbage
        from ..exceptions import DataError

        raise DataError(f"CSV input {openfile.path} is UTF-16 text (it starts with a UTF-16 byte-order mark); the "
                        "input files are read as UTF-8. Convert it: `iconv -f UTF-16 -t UTF-8 FILE > NEW_FILE`.")
    first = io.TextIOWrapper(io.BytesIO(raw), encoding="utf-8-sig", errors="surrogateescape", newline="").read()
    header = next(csv.reader([first], delimiter=delimiter or ","), [])
    if delimiter is None:
        delimiter = _header_delimiter(header)
        if delimiter != ",":
            header = next(csv.reader([first], delimiter=delimiter), [])
    return [c.strip("\r\n") for c in header], delimiter


def _csv_files(names, compressed, text_column, label_column, delimiter=None):
    """``[(openfile, delimiter)]`` of CSV inputs, each file's header checked before a block is read.

    A file is read by its own header: its delimiter, and its columns by name, so files whose columns come in
    another order are read right (as pandas and :func:`~toolkit.data.load_csv` read a column: by its name).
    A file without ``text_column`` or ``label_column`` in its header (an export of other columns, a file
    written without its header row, ``header=False``), with one of them twice, or empty is an error naming it
    and its header: Dask would fail late, on a metadata mismatch naming no file, or read the first row as
    the header.
    """
    import fsspec

    from ..data.datasets import _check_csv_columns
    from ..exceptions import DataError

    files = fsspec.open_files(names, mode="rb")  # compressed ones decompressed as they are read (_decompressed)
    if not files:
        raise FileNotFoundError(f"read_texts found no file for {names}.")
    out, first = [], None
    for f in files:
        header, file_delimiter = _csv_header(f, compressed, delimiter)
        if header is None:
            raise DataError(f"CSV input {f.path} is empty: a CSV file needs a header row naming its columns. "
                            "Remove it from the inputs.")
        if text_column is None:
            raise ValueError(f"CSV input {f.path} is a table: name its text column with text_column=... "
                             f"(columns: {header}).")
        wanted = {"text_column": text_column, "label_column": label_column}
        absent = [(role, name) for role, name in wanted.items() if name is not None and name not in header]
        shown = [c if len(c) <= 60 else c[:57] + "..." for c in header]  # a first row of reviews, maybe
        if absent and first is not None:
            role, name = absent[0]
            raise DataError(
                f"CSV input {f.path} has no column {name!r} ({role}); its header is {shown}, but the first "
                f"file, {first[0]}, has {first[1]}. Every file needs a header row naming the columns (in any "
                "order); was this one written without it (to_csv(..., header=False)), or is it another table?")
        if absent:
            role, name = absent[0]
            raise DataError(f"CSV input {f.path} has no column {name!r} ({role}); its columns are {shown}.")
        twice = {role: name for role, name in wanted.items() if name is not None and header.count(name) > 1}
        if twice:
            _check_csv_columns(f.path, header, file_delimiter, **twice)
        out.append((f, file_delimiter))
        first = first or (f.path, header)
    return out


def _file_label(label, text, column, where):
    """A file's ``label`` as :func:`~toolkit.data.load_csv` and :func:`~toolkit.data.load_jsonl` read it.

    Spaces around a string are dropped (``"pos "`` is ``"pos"``), a number is
    one class however it is written (``"1.0"``, ``" 1"`` and ``"1"`` are ``"1"``;
    ``1.0`` in JSON is ``1``), and a value that stands for a missing one (``"nan"``,
    ``"#N/A"``, Excel's ``#DIV/0!``, an infinity) or is not a scalar is an error
    naming the file and the text. An empty cell or a JSON ``null`` is left
    missing, for :meth:`~toolkit.distributed.CorpusStore.build` to name by its
    number in the whole input. Booleans and numbers keep their type.
    """
    import math

    from ..data.datasets import DataError, _missing_label_error, _numeric_label

    if label is None or (isinstance(label, float) and math.isnan(label)):
        return label
    if isinstance(label, (bool, np.bool_)):
        return bool(label)
    place = f"{where} (the record whose text starts {str(text)[:40]!r})"
    if isinstance(label, (dict, list)):
        raise DataError(f"{place}: label {label!r} in {column!r} is not a scalar.")
    error = _missing_label_error(place, label, column)
    if error is not None:
        raise error
    number = _numeric_label(label)
    if isinstance(label, str):
        return label.strip() if number is None else str(number)
    return label if number is None else number


def _plain_csv(files, blocksize, options, wanted):
    """A Dask DataFrame of the ``wanted`` columns (and each row's file) of plain CSV ``files``
    (:func:`_csv_files`) cut in blocks of ``blocksize`` bytes (None: a partition per file).

    As ``dd.read_csv`` cuts them (at line breaks, each block given its file's header), but each block is read
    by :func:`_csv_block`, so a malformed row is named by its file and line in that file (Dask's error named
    neither: "Expected 2 fields in line 8, saw 4", line 8 of some block); its cells stay Python strings (Dask's
    conversion to pyarrow strings failed on the bytes :func:`_utf8` names, with a UnicodeEncodeError).
    """
    import dask
    import dask.dataframe as dd
    from dask.utils import parse_bytes

    size = None if blocksize is None else parse_bytes(blocksize)
    blocks = []
    for f, delimiter in files:
        length = f.fs.size(f.path)
        starts = [0] if size is None or not length else range(0, length, size)
        blocks += [dask.delayed(_csv_block)(f, start, size, {**options, "sep": delimiter}, wanted)
                   for start in starts]
    with dask.config.set({"dataframe.convert-string": False}):
        return dd.from_delayed(blocks, meta=_csv_meta(wanted))


def _csv_meta(wanted):
    import pandas as pd

    return pd.DataFrame({c: pd.Series(dtype=object) for c in [*wanted, _PATH_COLUMN]})


def _csv_rows(frame, wanted, path, line_of):
    """The ``wanted`` columns of the rows ``frame`` read from ``path``, and their file.

    A row of empty fields (Excel's cleared rows) holds no document and is dropped, as
    :func:`~toolkit.data.load_csv` skips it; a row with other fields but no text (an empty cell) is an error
    naming its file and line (``line_of(i)``: the line of the block's row ``i``), as load_csv names it: the
    tokenizer named it only by its partition.
    """
    import pandas as pd

    from ..data.datasets import _missing_text_error

    frame = frame.dropna(how="all")
    missing = frame[wanted[0]].isna().to_numpy().nonzero()[0]
    if len(missing):
        row = int(missing[0])
        where = f"{path}, line {line_of(frame.index[row])}"
        others = f" ({len(missing)} rows of this block have none)" if len(missing) > 1 else ""
        raise _missing_text_error(where + others, "", wanted[0], cell=True)
    frame = frame[wanted]
    return frame.assign(**{_PATH_COLUMN: pd.Series(path, index=frame.index, dtype=object)})


def _record_lines(text, delimiter, rows):
    """The line (from 1) on which each of the records ``rows`` (numbered from 0 after the header, blank lines
    not counted, as pandas numbers its rows) ends in the CSV ``text``: only for an error's message."""
    import csv
    import io

    wanted, found, number = set(rows), {}, -1
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        next(reader, None)  # the header
        for record in reader:
            if len(record) <= 1 and not "".join(record).strip():  # a blank line: pandas skips it
                continue
            number += 1
            if number in wanted:
                found[number] = reader.line_num
                if len(found) == len(wanted):
                    break
    except csv.Error:
        pass
    return found


def _csv_block(openfile, offset, length, options, wanted):
    """The ``wanted`` columns of the rows of one block of a plain CSV file (``fsspec.utils.read_block`` at line
    breaks, the header prepended to a block after the first); a malformed row or a missing text named by file
    and line (:func:`_csv_data_rows`)."""
    from fsspec.utils import read_block

    with openfile as fh:
        header = fh.readline()
        data = read_block(fh, offset, length, delimiter=b"\n") if length is not None else (fh.seek(0), fh.read())[1]
        start = 0 if offset == 0 or length is None else _block_start(fh, offset)
    if start:
        data = header + data

    def lines_before() -> int:  # the file's lines before the block's first row (the header prepended not counted)
        if not start:
            return 0
        with openfile as fh:
            return _lines_before(fh, start) - 1

    return _csv_data_rows(data, options, wanted, openfile.path, whole=length is None, continued=bool(start),
                          lines_before=lines_before)


def _csv_data_rows(data, options, wanted, path, *, whole, continued, lines_before, reread=None):
    """The ``wanted`` columns of the rows of CSV ``data``, bytes of the file ``path`` (or a binary stream of them,
    which ``reread()`` gives again as bytes for an error's line): all of it (``whole``), or a block of it, its
    header first (``continued``: a block after the first, the header prepended). A malformed row or a missing
    text is named by file and line (``lines_before()``: the file's lines before ``data``'s, a prepended header
    not counted), with the fix for a file read whole or in blocks."""
    import io
    import re
    import warnings

    import pandas as pd

    from ..exceptions import DataError

    try:
        # index_col=False, the warning an error: pandas read a first row of more fields than the header as an
        # implicit index, and the block's other rows as missing cells, dropped with the empty rows
        with warnings.catch_warnings():
            warnings.simplefilter("error", pd.errors.ParserWarning)
            source = io.BytesIO(data) if isinstance(data, bytes) else data
            frame = pd.read_csv(source, encoding="utf-8-sig", index_col=False, **options)
    except (pd.errors.ParserError, pd.errors.ParserWarning) as err:
        if isinstance(err, pd.errors.ParserWarning):  # the block's first row (pandas' warning names no line)
            number, err = 2, "a row of more fields than the header"
        else:
            found = re.search(r"line (\d+)", str(err))
            number = None if found is None else int(found.group(1))
        line = "" if number is None else f", line {number + lines_before()}"  # line of data -> line of the file
        blocks = ("read each file as one partition (read_texts(..., blocksize=None); toolkit store build "
                  "--blocksize none), or give the corpus as several smaller CSV files or as JSON lines (.jsonl).")
        if "EOF inside string" in str(err):
            hint = (" A quote (\") opens a text that is never closed: close it, and double each quote inside a "
                    "text (\"\")." if whole else f" A quoted text with line breaks crossed a block boundary: {blocks}")
        else:
            hint = (" A text that holds the delimiter must be quoted (\"...\", with \"\" for a quote inside). To "
                    "drop such rows instead, read the files with dask.dataframe.read_csv(..., on_bad_lines='skip') "
                    "and pass the DataFrame to read_texts.")
        if continued and "EOF inside string" not in str(err):
            # a block that starts inside a quoted text with line breaks reads its tail as rows of other fields;
            # which block fails first (this one, or the one that ends inside the quote) is the scheduler's order
            hint += f" Or, if quoted texts hold line breaks, one crossed a block boundary: {blocks}"
        raise DataError(f"{path}{line}: malformed CSV ({str(err).strip()}).{hint}") from None

    def line_of(row):  # line of data -> line of the file
        raw = data if reread is None else reread()
        number = _record_lines(raw.decode("utf-8-sig", "surrogateescape"), options["sep"], [row]).get(row)
        return "?" if number is None else number + lines_before()

    return _csv_rows(frame, wanted, path, line_of)


def _block_start(fh, offset) -> int:
    """Where :func:`fsspec.utils.read_block` starts the block at ``offset``: after the line break there."""
    from fsspec.utils import seek_delimiter

    fh.seek(offset)
    seek_delimiter(fh, b"\n", 2**16)
    return fh.tell()


def _lines_before(fh, end) -> int:
    """The lines of a file before byte ``end`` (read in chunks: only for an error's message)."""
    count, left = 0, end
    fh.seek(0)
    while left > 0:
        chunk = fh.read(min(left, 1 << 20))
        if not chunk:
            break
        count, left = count + chunk.count(b"\n"), left - len(chunk)
    return count


def _file_pair(row, label_column):
    """``(text, label)`` of one CSV row ``(text, label, path)``, the label read as load_csv reads it."""
    text, label, path = row
    return _utf8(text, path), _file_label(_utf8(label, path), text, label_column, path)


def _file_text(row):
    """The text of one CSV row ``(text, path)``."""
    text, path = row
    return _utf8(text, path)


def _text_line(row):
    """One document of a ``.txt`` file: a line ``(line, path)`` without its line break."""
    line, path = row
    return _utf8(line.rstrip("\r\n"), path)


#: what ``errors="surrogateescape"`` makes of bytes UTF-8 cannot decode (each one such a lone surrogate)
_UNDECODED = "[\udc80-\udcff]"
#: a UTF-16 byte order mark read with ``errors="surrogateescape"``
_UTF16_BOMS = ("\udcff\udcfe", "\udcfe\udcff")


def _utf8(value, path):
    """``value`` read from the file ``path`` with ``errors="surrogateescape"``, refused naming the file and the
    text when it holds bytes UTF-8 cannot decode (a file saved as latin-1 or cp1252 among UTF-8 ones), or when
    it looks like UTF-16 text (its byte order mark, or a NUL beside every other character): the decoder's own
    error named neither, and came from a task of a Dask worker; UTF-16 got latin-1 advice."""
    import re

    from ..exceptions import DataError

    if not isinstance(value, str):
        return value
    found = re.search(_UNDECODED, value)
    # UTF-16 (Windows' "Unicode" text): its byte order mark undecodable, then a NUL byte beside every ASCII
    # character of its other lines, which UTF-8 decodes (a stray NUL in a UTF-8 text is left to the tokenizer);
    # latin-1 advice would make it worse
    nul = "\x00" in value and value.count("\x00") * 3 >= len(value)
    if nul or (found is not None and value.startswith(_UTF16_BOMS)):
        why = ("it starts with a UTF-16 byte-order mark" if value.startswith(_UTF16_BOMS)
               else "a NUL character beside every other one, as in UTF-16 text read as UTF-8")
        raise DataError(f"{path} looks like UTF-16 text ({why}); the input files are read as UTF-8. Convert it: "
                        "`iconv -f UTF-16 -t UTF-8 FILE > NEW_FILE` (if it is not text at all, remove it from "
                        "the inputs).")
    if found is not None:
        begin = max(0, found.start() - 30)
        shown = value[begin:found.start() + 30].encode("utf-8", "surrogateescape").decode("utf-8", "replace")
        raise DataError(f"{path} is not valid UTF-8 (bytes UTF-8 cannot decode in {shown!r}, shown as \ufffd); "
                        "the input files are read as UTF-8. Save it as UTF-8 (e.g. `iconv -f latin1 -t utf-8 FILE > "
                        "NEW_FILE`, or -f cp1252 for Windows files), or, in Python, read it with its encoding "
                        "(dask.dataframe.read_csv(..., encoding='latin-1')) and pass that collection to read_texts.")
    return value


def _expand_mixed_globs(paths: list) -> list:
    """``paths`` with each local glob whose matches are files of several kinds (``data/*.txt*``: plain and
    compressed) replaced by its matches, sorted (as Dask orders a glob's files), so each run of one kind is read
    as such; other globs stay, for Dask to expand. Such a glob was refused as a file of an unknown kind (its
    suffix ``.txt*``)."""
    import glob

    expanded = []
    for path in paths:
        name = os.fspath(path)
        if isinstance(name, str) and "://" not in name and glob.has_magic(name):
            matched = sorted(glob.glob(os.path.expanduser(name)))
            if len({_file_kind(m) for m in matched}) > 1:
                expanded.extend(matched)
                continue
        expanded.append(path)
    return expanded


def _file_kind(path) -> str:
    """``".jsonl"``, or ``".jsonl.gz"`` (``.bz2``, ``.xz``) for a compressed one: the suffix that says how to
    read ``path``."""
    from ..data.datasets import COMPRESSED_SUFFIXES

    suffixes = [s.lower() for s in Path(path).suffixes]
    if len(suffixes) > 1 and suffixes[-1] in COMPRESSED_SUFFIXES:
        return suffixes[-2] + suffixes[-1]
    return Path(path).suffix.lower()


def _format_of(kind: str) -> tuple[str, str | None]:
    """``(".csv", ".bz2")`` for the :func:`_file_kind` ``".csv.bz2"``; ``(".csv", None)`` for ``".csv"``."""
    from ..data.datasets import COMPRESSED_SUFFIXES

    compression = next((s for s in COMPRESSED_SUFFIXES if kind.endswith(s) and kind != s), None)
    return (kind if compression is None else kind[: -len(compression)]), compression


@contextlib.contextmanager
def _decompressed(openfile, compressed=True):
    """The bytes of one input file (an fsspec file, opened in bytes), decompressed when they are gzip, bz2 or
    xz data, found by their first bytes as :func:`~toolkit.data.load_csv` finds them (a ``.gz`` file of plain
    text is read as it is). A damaged or cut-short compressed file fails as it is read, with a ``DataError``
    naming it (the decompressors' EOFError or zlib.error named none). A file whose name says it is plain
    (``compressed`` False) but that holds compressed data is a ``DataError`` saying to rename it: it would be
    read as undecodable bytes."""
    import io

    from ..data.datasets import _compression_of, _Decompressed
    from ..data.datasets import _misnamed_compressed_error as misnamed
    from ..exceptions import DataError

    with openfile as raw:
        kind = _compression_of(raw.read(10))
        raw.seek(0)
        if kind is None:
            yield raw
            return
        if not compressed:
            raise misnamed(openfile.path, kind)
        try:
            stream = io.BufferedReader(_Decompressed(openfile.path, kind, fileobj=raw), buffer_size=1 << 16)
        except ImportError as err:  # bz2/lzma missing from this Python
            raise DataError(f"{openfile.path} is {kind}-compressed and this Python cannot decompress {kind} "
                            f"({err}); decompress it first and pass the plain file.") from err
        with stream:
            yield stream


def _warn_read_whole(names, blocksize) -> None:
    """One warning for the compressed inputs ``names`` larger than ``blocksize`` bytes: each is read whole, as one
    partition that one worker holds in memory (a compressed stream cannot be cut in blocks), so ``blocksize``
    does not bound what a worker holds, and the file is not read in parallel."""
    import fsspec
    from dask.utils import format_bytes, parse_bytes

    size = parse_bytes(blocksize)
    try:
        files = fsspec.open_files(names, mode="rb")
        big = [(f.path, f.fs.size(f.path)) for f in files]
    except (OSError, ValueError):  # the reader names a missing or unreadable file
        return
    big = [(path, n) for path, n in big if n is not None and n > size]
    if big:
        logger.warning(
            "read_texts: %d compressed input(s) are larger than blocksize=%s (%s: %s compressed); each is read "
            "whole, as one partition held in memory by one worker: a compressed stream cannot be cut in blocks. "
            "Give a large corpus as several smaller compressed files (read in parallel), or decompress it.",
            len(big), blocksize, big[0][0], format_bytes(big[0][1]))


def _compressed_file_lines(openfile, include_path):
    """All lines of one compressed text file (a partition), as ``db.read_text`` reads a file it cannot cut:
    decoded as UTF-8 (a byte order mark dropped; bytes it cannot decode kept for :func:`_utf8` to name)."""
    import io

    with _decompressed(openfile) as fh:
        text = io.TextIOWrapper(fh, encoding="utf-8-sig", errors="surrogateescape", newline=None)
        try:
            return [(line, openfile.path) for line in text] if include_path else list(text)
        finally:
            text.detach()  # the stream is closed by _decompressed


def _compressed_lines(names, *, include_path):
    """A bag of the lines of compressed text files, a partition per file (a compressed stream cannot be cut in
    blocks: each file is read whole)."""
    import dask
    import dask.bag as db
    import fsspec

    files = fsspec.open_files(names, mode="rb")
    if not files:
        raise FileNotFoundError(f"read_texts found no file for {names}.")
    return db.from_delayed([dask.delayed(_compressed_file_lines)(f, include_path) for f in files])


def _compressed_file_csv(openfile, options, wanted):
    """The ``wanted`` columns of the rows of one compressed CSV file, read whole (decompressed as pandas reads it)
    and parsed as a plain file's block is (:func:`_csv_data_rows`): a first row of more fields than the header was
    read as an index, shifting every column, and a malformed row was pandas' error naming no file."""

    def reread() -> bytes:  # only for an error's line
        with _decompressed(openfile) as fh:
            return fh.read()

    with _decompressed(openfile) as fh:
        return _csv_data_rows(fh, options, wanted, openfile.path, whole=True, continued=False,
                              lines_before=lambda: 0, reread=reread)


def _compressed_csv(files, options, wanted):
    """A Dask DataFrame of the ``wanted`` columns (and each row's file) of compressed CSV ``files``
    (:func:`_csv_files`), a partition per file."""
    import dask
    import dask.dataframe as dd

    with dask.config.set({"dataframe.convert-string": False}):  # as _plain_csv
        return dd.from_delayed([dask.delayed(_compressed_file_csv)(f, {**options, "sep": delimiter}, wanted)
                                for f, delimiter in files], meta=_csv_meta(wanted))




def _require_pyarrow():
    """Import pyarrow.parquet, or say which package to install."""
    try:
        import pyarrow.parquet as pq
    except ImportError as err:
        raise ImportError(
            "read_texts reads Parquet files with pyarrow, which is not installed: pip install pyarrow (it comes "
            "with the optional extra: pip install -e \".[dask]\"), or convert the files to CSV or JSON lines "
            "(pandas.read_parquet(path).to_csv(...))."
        ) from err
    return pq


def _parquet_files(names) -> list:
    """The Parquet files that ``names`` (files, globs, folders of a dataset as Dask or Spark write it) hold."""
    import fsspec

    from ..data.datasets import PARQUET_SUFFIXES

    files = []
    for name in names:
        fs, _, paths = fsspec.get_fs_token_paths(name)
        for path in paths:
            if fs.isdir(path):  # reviews.parquet/ written by dask: part.0.parquet, ..., _metadata
                paths_in = sorted(p for p in fs.find(path) if p.lower().endswith(PARQUET_SUFFIXES)
                                  and not any(part.startswith(("_", ".")) for part in p[len(path):].split("/")))
                files += [fsspec.core.OpenFile(fs, p, mode="rb") for p in paths_in]
            else:
                files.append(fsspec.core.OpenFile(fs, path, mode="rb"))
    if not files:
        raise FileNotFoundError(f"read_texts found no Parquet file for {names}.")
    return files


def _is_text_type(kind) -> bool:
    import pyarrow as pa

    if pa.types.is_dictionary(kind):  # a pandas categorical
        kind = kind.value_type
    return (pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_null(kind)
            or getattr(pa.types, "is_string_view", lambda _: False)(kind))


def _parquet_bag(names, text_column, label_column, blocksize):
    """A bag of the texts (or ``(text, label)`` pairs) of Parquet files: a partition per run of a file's row
    groups of about ``blocksize`` bytes (as the footer gives their size uncompressed; None: a partition per
    file), a row group never cut.

    Each file's schema (its footer: no rows read) is checked first: every file must have the named columns,
    and ``text_column`` must hold strings. The rows are read by :func:`_parquet_rows`, which names a missing
    text or label by its file and row. (``dask.dataframe.read_parquet`` named neither: a bad value was found
    by the tokenizer or the store, by its partition, and a file without the label column failed on compute
    with ``KeyError: "['label'] not in index"``.)
    """
    import dask
    import dask.bag as db
    from dask.utils import parse_bytes

    from ..exceptions import DataError

    pq = _require_pyarrow()
    size = None if blocksize is None else parse_bytes(blocksize)
    parts, first = [], None
    for f in _parquet_files(names):
        try:
            with f as fh:
                meta = pq.ParquetFile(fh).metadata
        except FileNotFoundError:
            raise
        except Exception as err:  # pyarrow's ArrowInvalid: "Parquet magic bytes not found in footer..."
            raise DataError(f"Parquet input {f.path} cannot be read as Parquet ({err}); is it another format, "
                            "or was it cut short? Write or copy it again.") from err
        schema = meta.schema.to_arrow_schema()
        columns = [c for c in schema.names if not c.startswith("__index_level_")]
        if text_column is None:
            raise ValueError(f"Parquet input {f.path} is a table: name its text column with text_column=... "
                             f"(columns: {columns}).")
        for role, name in (("text_column", text_column), ("label_column", label_column)):
            if name is not None and name not in columns:
                also = ("" if first is None else
                        f" The first file, {first[0]}, has {first[1]}: every file needs the named columns.")
                raise DataError(f"Parquet input {f.path} has no column {name!r} ({role}); its columns are "
                                f"{columns}.{also}")
        kind = schema.field(text_column).type
        if not _is_text_type(kind):
            raise DataError(f"Parquet input {f.path}: the column {text_column!r} (text_column) holds {kind}, not "
                            f"text; name the column of the texts (columns: {columns}).")
        first = first or (f.path, columns)
        row, run, run_bytes, run_first = 0, [], 0, 0
        for group in range(meta.num_row_groups):
            run.append(group)
            run_bytes += meta.row_group(group).total_byte_size
            row += meta.row_group(group).num_rows
            if group == meta.num_row_groups - 1 or (size is not None and run_bytes >= size):
                parts.append(dask.delayed(_parquet_rows)(f, run, run_first, text_column, label_column))
                run, run_bytes, run_first = [], 0, row
    if not parts:  # files of no rows
        return db.from_sequence([], npartitions=1)
    return db.from_delayed(parts)


def _parquet_rows(openfile, groups, first_row, text_column, label_column) -> list:
    """The texts (or pairs) of the consecutive row ``groups`` of a Parquet file, whose first row is ``first_row``
    of the file; a missing text (null) named by its file and row, a label read as :func:`_file_label` reads it."""
    from ..data.datasets import _missing_text_error

    pq = _require_pyarrow()
    columns = [text_column] if label_column in (None, text_column) else [text_column, label_column]
    with openfile as fh:
        table = pq.ParquetFile(fh).read_row_groups(groups, columns=columns)
    texts = table.column(text_column).to_pylist()
    missing = [i for i, text in enumerate(texts) if text is None]
    if missing:
        others = f" ({len(missing)} rows of this partition have none)" if len(missing) > 1 else ""
        raise _missing_text_error(f"{openfile.path}, row {first_row + missing[0]} (from 0){others}", None,
                                  text_column)
    if label_column is None:
        return texts
    labels = table.column(label_column).to_pylist()
    return [(text, _file_label(label, text, label_column, f"{openfile.path}, row {first_row + i} (from 0)"))
            for i, (text, label) in enumerate(zip(texts, labels))]


def _pick(record, text_column, label_column, source):
    """The text (or ``(text, label)``) of one record (a dict): a key, or a path of nested keys joined by dots
    (``"review.body"``), as :func:`~toolkit.data.load_jsonl` reads them."""
    from ..data.datasets import _NOT_FOUND, _object_error, _record_field

    if not isinstance(record, dict):
        raise TypeError(f"{source}: expected JSON objects (dicts) to pick text_column={text_column!r} from; got "
                        f"a {type(record).__name__}: {str(record)[:80]!r}.")
    values = [_record_field(record, key) for key in (text_column, label_column) if key is not None]
    for key, value in zip((text_column, label_column), values):
        if value is _NOT_FOUND:
            raise ValueError(f"{source}: a record has no key {key!r}; its keys are {sorted(record)}.")
    text = values[0]
    if isinstance(text, dict):  # else the tokenizer's "is a dict, not a str", by its place in one block
        raise _object_error(source, text_column, text, "text_column")
    pair = text if label_column is None else (text, values[1])
    if text is None:  # else the tokenizer names it by its place in one block of the file
        raise ValueError(f"{source}: a record has {text_column!r}: null ({str(record)[:80]}); give every record a "
                         "text, or drop the records without one first.")
    return pair


def _json_lines(lines, text_column, label_column):
    """Texts (or pairs) of one block of ``(line, path)``: blank lines skipped, as :func:`load_jsonl` does."""
    out = []
    for line, path in lines:
        if not line.strip():
            continue
        _utf8(line, path)
        try:
            record = json.loads(line)
        except json.JSONDecodeError as err:
            raise ValueError(f"{path}: not valid JSON ({err.msg}) in the line {line.strip()[:80]!r}; each line must "
                             "be one JSON object (load_jsonl names its line number).") from None
        pair = _pick(record, text_column, label_column, path)
        if label_column is not None:  # as load_jsonl reads it: " pos" is "pos", "nan" refused
            pair = (pair[0], _file_label(pair[1], pair[0], label_column, path))
        out.append(pair)
    return out


def split_pairs(items) -> tuple[list[str], list | None]:
    """Texts and labels of one partition (labels None when the items are plain texts)."""
    items = list(items)
    if items and isinstance(items[0], tuple):
        # every element a pair: a 2-character text among them ("ok") was unpacked as text "o", label "k"
        bad = next((i for i, x in enumerate(items) if not (isinstance(x, tuple) and len(x) == 2)), None)
        if bad is not None:
            raise ValueError(f"Element {bad} of a partition of (text, label) pairs is a {type(items[bad]).__name__} "
                             f"({items[bad]!r:.60}); give every element as a (text, label) pair, or plain texts only.")
        return [t for t, _ in items], [label for _, label in items]
    return items, None


def _tokenizer(tokenizer):
    from ..text.tokenizer import SpacyTokenizer

    if tokenizer is None:
        return SpacyTokenizer()
    if isinstance(tokenizer, dict):
        return SpacyTokenizer(**tokenizer)
    return tokenizer


class _BadDocument:
    """What :func:`_tokenize_partition` returns for a partition with a bad document: its error, its number there,
    and the partition's length, until :func:`_named_globally` knows how many documents come before it."""

    def __init__(self, error, position, length):
        self.error, self.position, self.length = error, position, length

    def __len__(self):
        return self.length


class _QuietSkips(logging.Filter):
    """Drops the tokenizer's warning about skipped documents (``errors="skip"``) while a thread tokenizes a partition.

    It numbered them in the partition ("their indices in X: 3"): :func:`tokenize_partitions` logs them by their
    number in the whole input, and :meth:`~toolkit.distributed.CorpusStore.build` all of them once, on the client.
    """

    local = threading.local()
    _installed = False

    @classmethod
    def install(cls):
        if not cls._installed:
            cls._installed = True
            logging.getLogger("toolkit.text.tokenizer").addFilter(cls())

    def filter(self, record):
        return not (getattr(self.local, "on", False) and str(record.msg).startswith("SpacyTokenizer(errors='skip')"))


def _tokenize_partition(items, tokenizer, part):
    """Tokenize partition ``part``; a bad document (missing, not a str, too long) is returned as a
    :class:`_BadDocument` rather than raised, to be named by its number in the whole input."""
    from .._validation import check_raw_documents
    from ..exceptions import DocumentError

    texts, _ = split_pairs(items)
    _QuietSkips.install()
    _QuietSkips.local.on = True
    try:  # "Document 5 of X ...": X is the partition
        return _tokenizer(tokenizer).transform(check_raw_documents(texts, name="X"))
    except DocumentError as err:
        if err.document_index is None:
            raise
        return _BadDocument(err, err.document_index, len(texts))
    finally:
        _QuietSkips.local.on = False


def _length(items) -> int:
    """The number of documents of one partition of the input (a partition may be an iterator)."""
    return sum(1 for _ in items)


def _add(before: int, count: int) -> int:
    return before + count


def _named_globally(result, before: int, part: int):
    """``result`` of partition ``part``, or its bad document's error, raised with its number in the whole input
    (``before`` documents come before the partition), as the tokenizer names it in one process."""
    from ..exceptions import DocumentError

    if not isinstance(result, _BadDocument):
        skipped = getattr(result, "skipped", None)
        if skipped is not None and len(skipped):  # errors="skip": named as the tokenizer names them in one process
            shown = ", ".join(str(before + int(i)) for i in skipped[:20]) + (", ..." if len(skipped) > 20 else "")
            logger.warning("SpacyTokenizer(errors='skip') gave empty token lists to %d of the %d documents of "
                           "partition %d, longer than its max_length; their numbers in the input: %s",
                           len(skipped), len(result), part, shown)
        return result
    number = before + result.position
    subject = f"Document {number} of the input (document {result.position} of partition {part})"
    raise DocumentError(result.error.naming(subject), document_index=number) from result.error


def tokenize_partitions(texts, tokenizer=None):
    """Tokenize a Dask bag partition by partition; a bag of token lists.

    Each partition is one :class:`~toolkit.text.TokenizedCorpus` (computed by
    the worker that holds it, with one tokenizer process: the tokenizer never
    starts processes inside a worker). A bad document (missing, not a str,
    longer than ``max_length``) fails with its number in the whole input, as
    :class:`~toolkit.text.SpacyTokenizer` names it, and its place in its
    partition: "Document 25 of the input (document 5 of partition 2) is
    missing ..." is ``texts.compute()[25]``. A partition's tokens are given
    once the partitions before it are read (their lengths count the
    documents before it; one tiny task each).

    Parameters
    ----------
    texts : dask.bag.Bag
        Texts or ``(text, label)`` pairs (:func:`read_texts`).
    tokenizer : SpacyTokenizer or dict of its parameters, optional
        Default ``SpacyTokenizer()``.

    Returns
    -------
    dask.bag.Bag
        Token lists, one per text, in order.

    Raises
    ------
    DocumentError
        (a ``ValueError``) On compute, for a bad document, as said above;
        its ``document_index`` is the number in the whole input.

    Examples
    --------
    >>> import dask.bag as db
    >>> from toolkit.distributed import tokenize_partitions
    >>> bag = db.from_sequence(["Good film.", "Bad one!"], npartitions=2)
    >>> tokenize_partitions(bag, {"remove_punct": True}).compute()
    [['good', 'film'], ['bad', 'one']]
    """
    db = require_dask()
    import dask

    parts = read_texts(texts).to_delayed()
    out, before = [], 0
    for i, part in enumerate(parts):
        part = dask.delayed(list)(part)  # a partition may be an iterator: read once, for its tokens and its length
        result = dask.delayed(_tokenize_partition)(part, tokenizer, i)
        out.append(dask.delayed(_named_globally)(result, before, i))
        # the documents before partition i + 1, counted on the texts (one token list per text), not on the
        # tokens: a partition's tokens wait for the partitions before it to be read, never to be tokenized
        before = dask.delayed(_add)(before, dask.delayed(_length)(part))
    return db.from_delayed(out)


def partition_counts(corpus) -> dict:
    """Counts and first positions of the strings a partition uses (what :func:`merge_counts` merges)."""
    from ..text.corpus import TokenizedCorpus

    corpus = TokenizedCorpus.from_token_lists(corpus)
    counts = corpus.token_counts()
    used = np.flatnonzero(counts)
    strings = corpus.strings
    return {
        "strings": [strings[i] for i in used.tolist()],
        "counts": counts[used],
        "first": corpus.first_positions()[used],
        "n_tokens": int(corpus.n_tokens),
        "n_documents": len(corpus),
    }


def combine_counts(summaries) -> dict:
    """One :func:`partition_counts` summary for consecutive partitions, in partition order.

    Counts are summed and a token's first position is the first of its
    partitions (offset by the tokens before it). Combining is associative, so
    summaries can be combined in a tree on the workers (:func:`tree_combine`)
    and the client receives one summary instead of one per partition.
    """
    import pandas as pd

    frames, base, n_documents = [], 0, 0
    for summary in summaries:
        frames.append(pd.DataFrame({
            "token": pd.Series(summary["strings"], dtype=object),
            "count": np.asarray(summary["counts"], dtype=np.int64),
            "first": np.asarray(summary["first"], dtype=np.int64) + base,
        }))
        base += summary["n_tokens"]
        n_documents += summary["n_documents"]
    if frames:
        table = pd.concat(frames, ignore_index=True).groupby("token", sort=False).agg({"count": "sum", "first": "min"})
        strings, counts, first = table.index.tolist(), table["count"].to_numpy(), table["first"].to_numpy()
    else:
        strings, counts, first = [], np.zeros(0, np.int64), np.zeros(0, np.int64)
    return {"strings": strings, "counts": counts, "first": first, "n_tokens": base, "n_documents": n_documents}


def tree_combine(summaries, *, fan_in=8):
    """A ``dask.delayed`` :func:`combine_counts` of delayed summaries, combined ``fan_in`` at a time.

    Each level runs where its inputs are (on the workers), so no process holds
    more than ``fan_in`` partition summaries at once, however many partitions
    the corpus has.
    """
    import dask

    level = list(summaries)
    if not level:
        return dask.delayed(combine_counts)([])
    while True:
        level = [dask.delayed(combine_counts)(level[i:i + fan_in]) for i in range(0, len(level), fan_in)]
        if len(level) == 1:
            return level[0]


def merge_counts(summaries, *, max_tokens=None, min_count=1) -> Vocabulary:
    """One vocabulary from per-partition :func:`partition_counts`, in partition order.

    Counts are summed and a token's first position is the first of its
    partitions (offset by the tokens before it), so ties break exactly as in
    :meth:`Vocabulary.from_documents` on the concatenated corpus.
    """
    owner = "build_vocabulary"
    validate_param(max_tokens, [Interval(int, 3, None), None], name="max_tokens", owner=owner)
    validate_param(min_count, [Interval(int, 1, None)], name="min_count", owner=owner)
    total = combine_counts(summaries)
    if total["n_tokens"] == 0:
        return Vocabulary()
    strings = np.asarray(total["strings"], dtype=object)
    keep = (total["counts"] >= min_count) & ~np.isin(strings, _RESERVED)
    strings, counts, first = strings[keep], total["counts"][keep], total["first"][keep]
    order = np.lexsort((first, -counts))
    if max_tokens is not None:
        order = order[: max_tokens - 2]
    return Vocabulary(strings[order].tolist(), counts[order])


def build_vocabulary(tokenized, *, max_tokens=None, min_count=1, scheduler=None) -> Vocabulary:
    """The vocabulary of a tokenized Dask bag, from merged per-partition counts.

    Equal to ``Vocabulary.from_documents(all_token_lists, max_tokens=...,
    min_count=...)`` (same tokens, order, counts) without holding the corpus
    in one place: each partition sends only its distinct tokens, their counts
    and first positions.

    Parameters
    ----------
    tokenized : dask.bag.Bag
        Token lists (:func:`tokenize_partitions`).
    max_tokens, min_count : see :meth:`Vocabulary.from_documents`
    scheduler : str, optional
        Dask scheduler for the count step (default: the active one).

    Returns
    -------
    Vocabulary

    Examples
    --------
    >>> import dask.bag as db
    >>> from toolkit.distributed import build_vocabulary
    >>> bag = db.from_sequence([["b", "a"], ["a", "c"]], npartitions=2)
    >>> build_vocabulary(bag).tokens
    ['<pad>', '<unk>', 'a', 'b', 'c']
    """
    require_dask()
    import dask

    total = tree_combine([dask.delayed(partition_counts)(part) for part in tokenized.to_delayed()])
    return merge_counts([total.compute(scheduler=scheduler)], max_tokens=max_tokens, min_count=min_count)
