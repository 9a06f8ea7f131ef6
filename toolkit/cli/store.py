"""``toolkit store build|info|train``: tokenize, encode and train over inputs larger than memory."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import typer

from ._common import (
    OutputExistsError,
    _emit_text,
    _errors_to_exit,
    _info,
    _json,
    _load_tensorflow_quietly,
    _local_worker_logs,
    _opt_set,
    _progress,
    _settings,
    app,
)
from ._inputs import first_of

__all__ = ["build_store", "store_info", "train_from_store"]

logger = logging.getLogger(__name__)

store_app = typer.Typer(
    help="Corpora larger than memory: a tokenized, encoded corpus on disk (memory-mapped) built and used on Dask.",
    no_args_is_help=True,
)
app.add_typer(store_app, name="store")


#: the text inputs of read_texts that have columns (the rest, .txt, one document per line; Parquet files, whose
#: suffixes datasets.PARQUET_SUFFIXES lists, have columns too)
_TEXT_TABLE_SUFFIXES = (".csv", ".tsv", ".jsonl", ".ndjson", ".json")


def _is_parquet(path) -> bool:
    """Whether ``read_texts`` reads ``path`` as Parquet (with pyarrow: not text, so no UTF-8 sniffing)."""
    # not toolkit.distributed: no Dask to import for a suffix
    from ..data.datasets import PARQUET_SUFFIXES

    return _kind(path) in PARQUET_SUFFIXES


def _has_columns(path) -> bool:
    """Whether ``path`` is a table (CSV, JSON lines, Parquet), whose text and label are named columns."""
    return _kind(path) in _TEXT_TABLE_SUFFIXES or _is_parquet(path)


def _input_files(inputs, output=None) -> list[Path]:
    """The files ``inputs`` (paths or globs) name, or a DataError naming the one that matches nothing.

    A glob's match that is the store being written (``output``) is left out: ``store build 'data/*' -o
    data/store --force`` run again matched its own earlier store ("Input data/store is a folder").
    """
    import glob

    from ..exceptions import DataError

    own = None if output is None else Path(output).expanduser().resolve()
    files = []
    for item in inputs:
        path = Path(item).expanduser()
        if str(item) == "-" and not path.exists():  # "Input not found: '-'", as if a file were missing
            raise DataError("'-' (standard input) cannot be an input of store build: its workers read the input "
                            "files themselves. Save the input to a file first (e.g. `... > reviews.jsonl`) and give "
                            "the file's name.")
        if glob.has_magic(str(path)):
            matched = sorted(Path(p) for p in glob.glob(str(path)) if own is None or Path(p).resolve() != own)
            if not matched:
                raise DataError(f"Input {item}: no file matches this pattern; check the path and the pattern.")
            files.extend(matched)
        elif not path.exists():
            raise DataError(f"Input not found: '{path}'. Check the path (.txt, .csv, .tsv, .jsonl or .parquet files; "
                            "globs allowed).")
        else:
            files.append(path)
    # a folder named as Parquet (reviews.parquet/, as Dask and Spark write a dataset) is read_texts' to read
    folders = [f for f in files if f.is_dir() and not _is_parquet(f)]
    if folders:
        _check_not_document_folder(folders[0])
        raise DataError(f"Input {folders[0]} is a folder; give the .txt, .csv, .tsv, .jsonl or .parquet files in it "
                        "(a glob works).")
    return files


def _check_not_document_folder(folder: Path) -> None:
    """Refuse a folder of one document per ``.txt`` file (a class-per-folder directory, as ``toolkit train --data``
    reads it), saying how to build a store of it.

    "Give the .txt files in it (a glob works)" led to ``FOLDER/*/*.txt``: each line of each review a document,
    and the classes, which are folder names, lost (``--label-column`` is refused with .txt inputs).
    """
    import shlex

    from ..data.datasets import _has_extension
    from ..exceptions import DataError

    def texts_in(path: Path) -> bool:
        return any(p.is_file() and _has_extension(p.name, (".txt",)) for p in path.iterdir())

    try:
        classes = sorted(p.name for p in folder.iterdir() if p.is_dir() and texts_in(p))
        flat = texts_in(folder)
    except OSError:
        return  # unreadable: the generic message
    if not classes and not flat:
        return
    name = shlex.quote(str(folder))
    jsonl = shlex.quote(folder.name + ".jsonl")
    from ._inputs import _UNLABELLED_FOLDERS

    labelled = [c for c in classes if c not in _UNLABELLED_FOLDERS]  # aclImdb/train/unsup holds no class
    only = f", categories={labelled!r}" if labelled != classes else ""
    classes = labelled or classes
    convert = (f"`python -c \"from toolkit.data import load_folder; load_folder({str(folder)!r}{only}).to_frame()"
               f".to_json({folder.name + '.jsonl'!r}, orient='records', lines=True)\"`")
    if classes:
        raise DataError(
            f"Input {folder} is a class-per-folder directory ({first_of(classes, 5)}: one document per .txt file); "
            "store build reads files of documents, one per line (.txt) or per row (.csv, .tsv, .jsonl, .parquet), "
            f"so its .txt files given as inputs would make each line a document and lose the classes. Write it to "
            f"one JSON lines file first, e.g. {convert}, then `toolkit store build {jsonl} --label-column "
            f"label_name`; data that fits in memory trains from the folder itself: `toolkit train --data {name}`."
        )
    raise DataError(
        f"Input {folder} is a folder; store build reads files of documents, one per line (.txt) or per row (.csv, "
        f".tsv, .jsonl, .parquet). If each of its .txt files is one document, write them to one JSON lines file "
        f"first, e.g. {convert}, and give that; if each line is a document, give the files ({name}/*.txt: a glob "
        "works)."
    )


def _kind(path) -> str:
    """The format of ``path``, compressed or not (``".csv"`` for ``reviews.csv.gz``, ``.bz2``, ``.xz``), as
    ``read_texts`` reads it."""
    from ._inputs import _data_suffix

    return _data_suffix(path)


def _open_input(path: Path):
    """``path`` opened in bytes, decompressed (gzip, bz2, xz: by its content) when its name says it is compressed;
    a plain name over compressed data is a DataError saying to rename it, as ``read_texts`` says it."""
    from ..data.datasets import COMPRESSED_SUFFIXES, _compression, _open_bytes
    from ..data.datasets import _misnamed_compressed_error as misnamed

    kind = _compression(path)
    if kind is not None and not path.name.lower().endswith(COMPRESSED_SUFFIXES):
        raise misnamed(f"Input {path}", kind)
    return _open_bytes(path)


def _first_record_fields(path: Path) -> list[str] | None:
    """The columns of a CSV file's header, or the keys of a JSON lines file's first record (None if empty)."""
    import csv
    import io
    import json

    from ..exceptions import DataError

    kind = _kind(path)
    if _is_parquet(path):
        from ..distributed.partitions import _require_pyarrow

        try:
            return [c for c in _require_pyarrow().read_schema(path).names if not c.startswith("__index_level_")]
        except Exception:  # noqa: BLE001 - not Parquet: read_texts names the file and the cause
            return None
    try:
        # a byte order mark is not part of a column name
        with io.TextIOWrapper(_open_input(path), encoding="utf-8-sig", newline="") as fh:
            if kind in (".csv", ".tsv"):
                # as read_texts reads it: a .tsv with tabs; a .csv header of ';', tab or '|' and no commas with it
                from ..distributed.partitions import _csv_delimiter

                compressed = kind != path.suffix.lower()  # reviews.csv.bz2
                delimiter = _csv_delimiter([str(path)], compressed, "\t" if kind == ".tsv" else None)
                return next(csv.reader(fh, delimiter=delimiter), None)
            from ..data.datasets import _JSONL_FIX, _jsonl_hint, _nested_keys

            for number, line in enumerate(fh, 1):
                if line.strip():
                    try:
                        record = json.loads(line)
                    except json.JSONDecodeError as err:  # the hint: pretty-printed JSON, files joined, ...
                        raise DataError(f"{path}, line {number}: not valid JSON ({err.msg})."
                                        f"{_jsonl_hint(line, err)}") from err
                    if isinstance(record, list):  # a JSON array on one line: "its columns are []" said nothing
                        raise DataError(f"{path}, line {number} is a JSON array, not an object; JSON lines hold one "
                                        f"object per line. {_JSONL_FIX}")
                    if not isinstance(record, dict):
                        return []
                    # "review.body" too: read_texts reads a nested key named with dots, as load_jsonl does
                    return sorted(record) + _nested_keys(record, limit=1000)
    except UnicodeDecodeError as err:
        raise DataError(f"Cannot read {path} as UTF-8 text; give a UTF-8 .csv or .jsonl file.") from err
    return None


#: bytes of each input read before a cluster starts, to find a file that is not UTF-8 text
_SNIFF_BYTES = 1 << 16


def _head(path: Path) -> bytes:
    """The first :data:`_SNIFF_BYTES` bytes of ``path``, decompressed when it is compressed (gzip, bz2, xz)."""
    with _open_input(path) as fh:
        return fh.read(_SNIFF_BYTES)


def _check_text_files(files) -> None:
    """Refuse inputs the workers would fail on with a bare pandas, dask or codec error.

    Every input empty ("No files found"), an empty CSV (no header row: "No
    columns to parse from file"), and a file whose first bytes are UTF-16 or
    not UTF-8 (a ``UnicodeDecodeError`` that names no file). Only the start
    of each file is read; a bad byte further on is reported by
    :func:`build_store` after the build.
    """
    import codecs

    from ..exceptions import DataError

    heads = {path: _head(path) for path in files if not _is_parquet(path)}
    if len(heads) < len(files):  # Parquet inputs: read_texts checks their schemas
        return
    if heads and not any(heads.values()):
        raise DataError(f"Every input is empty ({first_of(str(p) for p in heads)}): there are no documents to "
                        "build a store from. Check the paths.")
    for path, head in heads.items():
        if not head and _kind(path) in (".csv", ".tsv"):
            raise DataError(f"Input {path} is empty: a CSV file needs a header row naming its columns. Remove it "
                            "from the inputs.")
        if head.startswith((b"\xff\xfe", b"\xfe\xff")):
            raise DataError(f"Input {path} is UTF-16 text (it starts with a UTF-16 byte-order mark); store build "
                            "reads UTF-8. Convert it: `iconv -f UTF-16 -t UTF-8 FILE > NEW_FILE`.")
        try:  # not final: the sniffed bytes may end inside a character
            codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
        except UnicodeDecodeError as err:
            line = head[: err.start].count(b"\n") + 1
            raise DataError(
                f"Input {path} is not UTF-8 text (line {line}, byte {err.start}); store build reads UTF-8. Is it "
                "latin-1 or cp1252? Convert it: `iconv -f latin1 -t UTF-8 FILE > NEW_FILE`."
            ) from err


def _check_readable_kind(path: Path) -> None:
    """Refuse an input ``read_texts`` has no reader for (a tar or zip archive, IMDB's tarball, ``reviews.dat``),
    in the command line's words: its error named a Python function and "a dask.bag / dask.dataframe collection"."""
    import shlex

    from ..data.datasets import (
        ARCHIVE_HEAD,
        _open_bytes,
        archive_kind,
        tar_first_member,
    )
    from ..exceptions import DataError

    if path.is_dir() or _is_parquet(path) or _kind(path) in (".txt",) + _TEXT_TABLE_SUFFIXES:
        return
    reads = ("store build reads files of documents, one per line (.txt) or per row (.csv, .tsv, .jsonl), plain or "
             "compressed (.gz, .bz2, .xz), and .parquet files")
    try:
        with _open_bytes(path) as fh:
            start = fh.read(ARCHIVE_HEAD)
    except (OSError, EOFError, DataError):
        start = b""
    file = shlex.quote(str(path))
    kind = archive_kind(start)
    if kind == "tar":
        member = tar_first_member(start)
        if member.lower().startswith("aclimdb") or path.name.lower().startswith("aclimdb"):
            convert = (f"`python -c \"from toolkit.data import load_imdb; load_imdb('train', path={str(path)!r})"
                       ".to_frame().to_json('imdb_train.jsonl', orient='records', lines=True)\"`")
            raise DataError(f"Input {path} is IMDB's tarball, a tar archive; {reads}. Write its training reviews to "
                            f"one JSON lines file first, e.g. {convert}, then `toolkit store build imdb_train.jsonl "
                            "--label-column label_name`; IMDB fits in memory: `toolkit train --data imdb` reads the "
                            "tarball itself.")
        raise DataError(f"Input {path} is a tar archive; {reads}. Extract it (tar -xf {file}) and give its files "
                        "(a glob works).")
    if kind == "zip":
        raise DataError(f"Input {path} is a zip archive; {reads}. Extract it (unzip {file}) and give its files (a "
                        "glob works).")
    raise DataError(f"Input {path}: {reads}. If it is one of them, give it that suffix.")


def _check_inputs(inputs, column, label_column, output=None) -> None:
    """Pre-flight check of ``store build``'s inputs, before a cluster starts.

    The files exist (globs match), are not empty and start as UTF-8 text
    (:func:`_check_text_files`), ``--label-column`` is only given with
    tables (a .txt file has one document per line and no labels: the option
    would be ignored and the store built without labels), and the first file
    of tables has the named columns; a glob's match that is ``output`` (the store being written) is left out.
    """
    from ..exceptions import DataError

    files = _input_files(inputs, output)
    for path in files:
        _check_readable_kind(path)
    kinds: dict = {}
    for path in files:
        kinds.setdefault(_kind(path), path)
    if len(kinds) > 1:  # read_texts' "reads one kind of file at a time; got suffixes [...]" named a Python function
        raise DataError(
            f"The inputs are files of {len(kinds)} kinds ({', '.join(f'{k}: {p}' for k, p in kinds.items())}); "
            "store build reads one kind at a time (plain and compressed files of one kind mix). Convert them to one "
            "kind, or build a store of each."
        )
    _check_text_files(files)
    tables = [f for f in files if _has_columns(f)]
    if label_column is not None and not tables:
        raise DataError(
            f"--label-column {label_column!r} needs .csv or .jsonl inputs (or .tsv, .parquet tables); .txt inputs "
            "hold one document per line and no labels. Drop --label-column, or give a table with a label column."
        )
    if not tables:
        return
    fields = _first_record_fields(tables[0])
    if fields is None:
        return
    for option, name in (("--column", column), ("--label-column", label_column)):
        if name is not None and name not in fields:
            raise DataError(f"{tables[0]} has no column {name!r} ({option}); its columns are {fields}. "
                            f"Pass {option} <one of them>.")


def _check_not_stdout(output, command: str, what: str) -> None:
    """Refuse ``--output -``: a store or a model folder is a folder; ``-o -`` wrote a folder named ``-``."""
    if str(output) == "-":
        from ..exceptions import DataError

        raise DataError(f"--output - (standard output): {command} writes a {what} folder, not a stream; give the "
                        f"folder's name (e.g. -o {what}).")


def _check_store_output(output, *, force: bool) -> None:
    """Pre-flight check of the store folder: replaced only if it is a store and ``force`` is given."""
    _check_not_stdout(output, "store build", "store")
    output = Path(output).expanduser()
    if not output.exists():
        return
    if not (output / "store.json").is_file():
        raise OutputExistsError(
            f"{output} exists and is not a corpus store (no store.json); it is never replaced. Choose another "
            "--output or remove it first."
        )
    if not force:
        raise OutputExistsError(
            f"{output} exists; pass --force to replace it (the new store replaces it only when complete)."
        )


def _blocksize(blocksize):
    """``blocksize`` as :func:`~toolkit.distributed.read_texts` takes it: bytes (int >= 1) or None.

    A size such as ``"64MiB"`` or ``"100MB"`` (:func:`dask.utils.parse_bytes`), a positive int, or
    None / ``"none"``: one partition per file, which a CSV whose quoted texts hold line breaks needs.
    Anything else is an :class:`~toolkit._validation.InvalidParameterError` naming ``--blocksize``,
    raised before a cluster starts (dask's own error came from a worker, as "a bug").
    """
    from .._validation import InvalidParameterError

    if blocksize is None or (isinstance(blocksize, str) and blocksize.strip().lower() == "none"):
        return None
    value = blocksize
    if isinstance(blocksize, str):
        from dask.utils import parse_bytes

        try:
            value = parse_bytes(blocksize.strip())
        except (ValueError, TypeError):
            value = None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidParameterError(
            f"The 'blocksize' parameter (--blocksize) of store build must be a size of at least 1 byte such as "
            f"'64MiB' or '100MB', or 'none' (one partition per file). Got {blocksize!r} instead."
        )
    return value


def _build_error(err: BaseException, inputs):
    """A :class:`~toolkit.exceptions.DataError` for what a worker met in the inputs during the build, or None.

    pandas' ``ParserError`` ("EOF inside string": a block boundary fell inside a
    quoted text that holds line breaks) and a ``UnicodeDecodeError`` (a bad byte
    after the part :func:`_check_text_files` read) name no file and no fix; these do.
    """
    from ..exceptions import DataError

    names = first_of(str(p) for p in inputs)
    if isinstance(err, UnicodeDecodeError) or type(err).__name__ == "UnicodeDecodeError":
        return DataError(f"An input is not UTF-8 text ({names}; a bad byte past the first "
                         f"{_SNIFF_BYTES // 1024} KiB); store build reads UTF-8. Convert it, e.g. "
                         "`iconv -f latin1 -t UTF-8 FILE > NEW_FILE`.")
    if type(err).__name__ == "ParserError":  # pandas.errors.ParserError, imported only with dask.dataframe
        reason = str(err).rsplit("Original Message: ", 1)[-1].strip()  # dask's wrapper repeats pandas' message
        cause = ("a quoted text holds line breaks and a partition boundary fell inside it"
                 if "EOF inside string" in reason else "if its quoted texts hold line breaks, a partition boundary "
                 "may have fallen inside one")
        return DataError(f"A CSV input ({names}) could not be parsed ({reason}): {cause}. Pass --blocksize none "
                         "(one partition per file), or give the corpus as several smaller CSV files or as JSON "
                         "lines (.jsonl).")
    return None


def build_store(inputs, output, *, tokenizer=None, column="text", label_column=None, scheduler=None, workers=None,
                blocksize="64MiB", force=False, progress=False) -> dict:
    """Tokenize and encode files (or globs) partition by partition into a :class:`CorpusStore` folder.

    The inputs, the columns, the tokenizer parameters and the output are
    checked before a cluster starts. An existing store is replaced only with
    ``force``; anything else at ``output`` never is.

    Returns :func:`store_info` of the new store.
    """
    from ..distributed.partitions import read_texts
    from ..distributed.search import dask_client
    from ..distributed.store import CorpusStore
    from .text import _tokenizer

    output = Path(output)
    blocksize = _blocksize(blocksize)
    _check_store_output(output, force=force)
    _check_inputs(inputs, column, label_column, output)
    _tokenizer(**(tokenizer or {}))  # an unknown parameter is a SettingError listing the valid ones
    # the files the globs match, as _check_inputs checked them: a pattern as read_texts' input ('data/*',
    # 'reviews*.csv*') has no suffix to tell its format by ("read_texts cannot read 'data/*'")
    files = _input_files(inputs, output)
    text_column = column if any(_has_columns(p) for p in files) else None
    texts = read_texts([str(p) for p in files], text_column=text_column,
                       label_column=label_column if text_column else None, blocksize=blocksize)
    try:
        with dask_client(scheduler, n_workers=workers):
            store = CorpusStore.build(texts, output, tokenizer=tokenizer, progress=progress)
    except (UnicodeDecodeError, ValueError) as err:  # pandas' ParserError is a ValueError
        translated = _build_error(err, inputs)
        if translated is None:
            raise
        raise translated from err
    return store_info(store)


def _open_store(path):
    """``CorpusStore(path)``, with a clear error for a file (the store reports only a missing store.json)."""
    from ..distributed.store import CorpusStore
    from ..exceptions import DataError

    if Path(path).is_file():
        raise DataError(f"{path} is a file, not a corpus store folder; give the folder `toolkit store build` wrote.")
    return CorpusStore(path)


def _class_counts(store) -> dict | None:
    """The number of documents of each label of ``store`` (``{"neg": 12500, "pos": 12500}``), in the labels'
    sorted order, or None when it has no labels. The labels are named as text (JSON's keys): 1 as "1"."""
    if not store.has_labels:
        return None
    import numpy as np

    values, counts = np.unique(np.asarray(store.labels()), return_counts=True)
    return {str(v.item() if hasattr(v, "item") else v): int(c) for v, c in zip(values, counts, strict=True)}


def store_info(store) -> dict:
    """Size, partitions, vocabulary, classes and tokenizer of a store (a path or a CorpusStore).

    ``classes`` counts the documents of each label (None for a store built without labels); ``changed_inputs``
    lists the input files changed since the build (:meth:`CorpusStore.changed_sources`).
    """
    from ..distributed.store import CorpusStore

    store = store if isinstance(store, CorpusStore) else _open_store(store)
    lengths = store.lengths()
    return {
        "path": str(store.path),
        "n_documents": store.n_documents,
        "n_tokens": store.n_tokens,
        "parts": len(store.parts),
        "vocabulary_size": len(store.vocabulary),
        "max_document_tokens": int(lengths.max()) if len(lengths) else 0,
        "has_labels": store.has_labels,
        "classes": _class_counts(store),  # documents of each label; None without labels
        "skipped_documents": len(store.skipped),  # errors="skip": no tokens (their numbers: CorpusStore.skipped)
        "blank_documents": store.n_blank,  # empty/whitespace texts (None: a store built before they were counted)
        "tokenizer": store.tokenizer,
        # input files changed since the build ([] none; None: no record, e.g. built from a Dask collection)
        "changed_inputs": store.changed_sources(),
    }


def _check_train_from_store(store, output, *, settings=None, force=False):
    """What :func:`train_from_store` refuses, checked before TensorFlow is imported; returns the opened store."""
    from ..models.classifier import EmbeddingClassifier
    from ..models.persistence import _check_save_target

    folder = _names_folder(output)
    _check_not_stdout(output, "store train", "model")
    output = Path(output)
    from ..distributed.store import CorpusStore

    source = store.path if isinstance(store, CorpusStore) else Path(store)
    if output.expanduser().resolve() == Path(source).expanduser().resolve():
        from ..exceptions import DataError

        raise DataError(f"--output {output} is the store the model is trained from; give the model folder another "
                        "name (e.g. -o model).")
    try:  # what save_model refuses (not a model folder, files it did not write), refused before the training
        _check_save_target(output, folder=folder)
    except FileExistsError as err:
        raise OutputExistsError(f"{err} (--output)") from err
    except ValueError as err:  # save_model's refusals, in the command line's words (not save_model(clf, ...))
        from ._inputs import SettingError

        if "is the current folder, one above it or the root" in str(err):
            raise SettingError(f"--output {output} is the current folder, one above it or the root: store train "
                               "writes a model folder of its own; give its name (e.g. -o model).") from err
        if "reads as a single file" not in str(err):
            raise
        raise SettingError(
            f"--output {output} is named like a single model file ({output.suffix}); store train writes a model "
            f"folder (model.keras, vocabulary.json, config.json, checksums.json), which `toolkit predict` reads. "
            f"Give a folder name (e.g. -o {output.with_suffix('')}), or end the name with a separator "
            f"(-o {str(output) + os.sep}) for a folder of that name."
        ) from err
    if output.exists() and not force:
        raise OutputExistsError(f"{output} exists; pass --force to replace it.")
    store = store if isinstance(store, CorpusStore) else _open_store(store)
    if not store.has_labels:
        raise ValueError(f"The store {store.path} has no labels; build it with --label-column from a CSV/JSONL input.")
    import numpy as np

    classes = np.unique(np.asarray(store.labels()))
    if len(classes) < 2:  # else Keras' "EmbeddingClassifier needs samples of at least 2 classes", after its import
        from ..exceptions import DataError

        raise DataError(
            f"The store {store.path} has labels of one class only"
            f"{f' ({classes[0].item()!r}, all {store.n_documents:,} documents)' if len(classes) else ''}: a "
            "classifier needs two classes or more. Build it again from inputs that hold every class (a file sorted "
            "by class, cut short with head, holds only its first)."
        )
    from ._inputs import SettingError

    try:  # an unknown --set key fails now, with the valid names, not as "a bug" after the imports
        classifier = EmbeddingClassifier().set_params(**(settings or {}))
    except ValueError as err:
        raise SettingError(f"--set: {err}") from err
    constraints = getattr(classifier, "_parameter_constraints", None)
    if constraints:  # --set epochs=0 failed in fit, after TensorFlow had loaded (as train checks it: now)
        from .._validation import validate_params

        try:
            validate_params(classifier, constraints)
        except ValueError as err:
            raise SettingError(f"--set: {err}") from err
    return store


def _names_folder(output) -> bool:
    """Whether ``output`` was given with a trailing separator (``"exp.keras/"``): a folder whatever its suffix, as
    :func:`~toolkit.models.persistence.save_model` takes it (``Path`` drops the separator)."""
    return os.fspath(output).endswith(tuple(sep for sep in (os.sep, os.altsep) if sep))


def train_from_store(store, output, *, settings=None, force=False) -> dict:
    """Train an EmbeddingClassifier on a store in streaming batches and save it (the tokenizer of the store in front).

    ``output``, the model folder, may end in a separator (``"exp.keras/"``) to name a folder whose name ends in a
    model file's suffix, as :func:`~toolkit.models.persistence.save_model` takes it.

    Returns the model folder, the training history and the store's size.
    """
    folder = _names_folder(output)
    store = _check_train_from_store(store, output, settings=settings, force=force)
    from ..distributed.streaming import fit_from_store
    from ..models.classifier import EmbeddingClassifier, make_text_classifier
    from ..models.persistence import save_model

    output = Path(output)
    classifier = fit_from_store(EmbeddingClassifier(**(settings or {})), store)
    tokenizer = {k: (tuple(v) if k == "ngram_range" else v) for k, v in store.tokenizer.items()}
    pipeline = make_text_classifier(**{f"tokenizer__{k}": v for k, v in tokenizer.items()})
    pipeline.steps[-1] = ("classifier", classifier)
    save_model(pipeline, str(output) + os.sep if folder else output)
    return {"model": str(output), "n_documents": store.n_documents, "history": classifier.history_,
            "best_epoch": classifier.best_epoch_}


def _unlabelled_in_command_words(message: str, inputs, index, label_column) -> str:
    """The store's error for a document without a label, for the shell: "Document 3 of the input (document 3
    of partition 0) has no label (nan; ...) ... (e.g. ddf.dropna(subset=[label_column]))" named no file and gave
    Dask advice; one CSV/TSV/JSONL input's record is named with its line, and the fix is one for the file."""
    import re

    from ._inputs import DocumentRecords

    if "has no label (" not in message or "ddf.dropna(subset=[label_column])" not in message:
        return message
    message = message.replace(
        "before building the store (e.g. ddf.dropna(subset=[label_column])).",
        f"from the file first (pandas: df.dropna(subset=[{label_column!r}]) before writing it).")
    try:
        files = _input_files(inputs)
    except Exception:  # noqa: BLE001 - the inputs changed since they were read: the message as it is
        return message
    if len(files) != 1 or not files[0].is_file() or _kind(files[0]) not in _TEXT_TABLE_SUFFIXES or index is None:
        return message
    try:
        place = DocumentRecords(str(files[0]), [index]).describe(0)  # "record 3 (line 5) of reviews.csv"
    except Exception:  # noqa: BLE001 - a file that cannot be read again: its number in the input stays
        return message
    return re.sub(r"^Document \d+ of the input \(document \d+ of partition \d+\)", place[:1].upper() + place[1:],
                  message, count=1)


@store_app.command("build")
@_errors_to_exit
def build_cmd(
    inputs: list[Path] = typer.Argument(..., help="Input files: .txt (a document per line), .csv, .tsv or .jsonl, plain or compressed (.jsonl.gz, .csv.bz2, .txt.xz: each read whole, as one partition), or .parquet (a file, or a dataset's folder); globs allowed."),
    output: Path = typer.Option(..., "--output", "-o", help="The store folder to write."),
    settings: list[str] = _opt_set,
    column: str = typer.Option("text", "--column", help="Text column of CSV/JSONL inputs (a nested JSON key with dots: review.body)."),
    label_column: str = typer.Option(None, "--label-column", help="Label column of CSV/JSONL inputs (needed to train)."),
    scheduler: str = typer.Option(None, "--scheduler", help="Address of a running Dask scheduler (default: a local cluster)."),
    workers: int = typer.Option(None, "--workers", min=1, help="Worker processes of the local cluster."),
    blocksize: str = typer.Option("64MiB", "--blocksize", help="Bytes of input per partition, e.g. 64MiB or 100MB; "
                                  "'none': one partition per file (a CSV whose quoted texts hold line breaks)."),
    force: bool = typer.Option(False, "--force", "-f", help="Replace an existing store."),
) -> None:
    """Tokenize and encode inputs larger than memory into a memory-mapped store (tokenizer options via --set)."""
    from ..exceptions import DocumentError
    from ..text.tokenizer import reword_too_long

    with _local_worker_logs():  # a failed task is this command's one error line, not also the workers' log
        try:
            info = build_store(inputs, output, tokenizer=_settings(settings), column=column,
                               label_column=label_column, scheduler=scheduler, workers=workers,
                               blocksize=blocksize, force=force, progress=_progress())
        except DocumentError as err:  # the tokenizer's advice, in this command's options
            message = reword_too_long(str(err), raise_limit="raise it with --set max_length=...",
                                      skip="pass --set errors=skip")
            message = _unlabelled_in_command_words(message, inputs, err.document_index, label_column)
            raise DocumentError(message, document_index=err.document_index) from err
    _info(f"Wrote {info['path']}: {info['n_documents']:,} documents, {info['n_tokens']:,} tokens, "
          f"{info['vocabulary_size']:,} distinct tokens in {info['parts']} "
          f"partition{'' if info['parts'] == 1 else 's'}")
    _emit_text(_json(info), None)


@store_app.command("info")
@_errors_to_exit
def info_cmd(store: Path = typer.Argument(..., help="A store folder.")) -> None:
    """Describe a store (JSON)."""
    _emit_text(_json(store_info(store)), None)


@store_app.command("train")
@_errors_to_exit
def train_cmd(
    store: Path = typer.Argument(..., help="A store folder built with labels."),
    # a str, not a Path: Path drops the trailing separator that makes "exp.keras/" a folder's name (save_model's rule)
    output: str = typer.Option(..., "--output", "-o", metavar="<path>", help="The model folder to write (a name "
                               "ending in .keras or .h5 with a trailing separator: exp.keras/)."),
    settings: list[str] = _opt_set,
    force: bool = typer.Option(False, "--force", "-f", help="Replace an existing model folder."),
) -> None:
    """Train the classifier from a store in streaming batches; save the model folder (tokenizer included)."""
    from .._atomic import _expand_home

    # '~/m' and '~/m.keras/' as the Path options take them (_expand_home_paths), the separator kept
    output = str(_expand_home(output)) + (os.sep if _names_folder(output) and output.rstrip("/\\") else "")
    params = _settings(settings)
    opened = _check_train_from_store(store, output, settings=params, force=force)  # before TensorFlow
    _load_tensorflow_quietly()
    result = train_from_store(opened, output, settings=params, force=force)
    _info(f"Saved {result['model']} (trained on {result['n_documents']:,} documents)")
    _emit_text(_json(result), None)
