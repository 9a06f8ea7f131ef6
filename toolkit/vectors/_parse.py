"""Strict, fast readers for word-vector files (internal to :mod:`toolkit.vectors`).

The text reader gives exactly what gensim's ``load_word2vec_format`` gives
(same words in the same order, bit-identical float32 values) for every file
gensim reads correctly, about an order of magnitude faster, and refuses the
files gensim reads wrongly (repeated words, nan/inf, a header count that
disagrees with the rows...) with a :class:`~toolkit.exceptions.VectorsFormatError`
that names the file, the line and what to do.

How it is fast: the decompressed bytes arrive in blocks of a few MB from a
background thread (zlib and bz2 release the GIL); each block is split into
lines with C-level ``bytes`` methods, the words are decoded in one call and
all the numbers of the block are parsed in one call. Any block that does not
pass the bulk checks is re-read line by line to find and name the first bad
line, so the fast path never has to be clever about errors.

Number parsing is identical to gensim's ``np.float32(text)`` (decimal to
correctly rounded float64, then rounded to float32): ``orjson`` when it is
installed (a correctly rounding C parser, about 3x faster), else numpy's own
text parser.
"""

from __future__ import annotations

import bz2
import contextlib
import contextvars
import json
import logging
import math
import os
import queue
import re
import threading
import zipfile
import zlib
from itertools import repeat
from pathlib import Path

import numpy as np

from ..exceptions import VectorsFormatError

__all__ = [
    "BLOCK_SIZE",
    "MAX_DIM",
    "MAX_LINE_BYTES",
    "FASTTEXT_MAGIC",
    "Source",
    "sniff_container",
    "iter_chunks",
    "read_text",
    "cr_only",
    "read_binary",
    "peek",
    "RowBuffer",
    "estimate_rows",
    "zip_member",
    "format_for",
    "check_keys_writable",
    "write_vectors",
    "check_fasttext_bin",
    "Spelling",
    "spelling",
    "spelled_as",
    "advice",
    "worded",
    "worded_error",
    "template_of",
    "reword",
]

logger = logging.getLogger(__name__)

BLOCK_SIZE = 1 << 20  # 1 MiB of decompressed bytes per parse step (small: fewer transient objects)
MAX_DIM = 100_000  # no real embedding has more dimensions; refuse before allocating
MAX_WORD_BYTES = 1 << 16  # a binary "word" longer than this means a corrupt file
#: A text line longer than this means a corrupt or hostile file (e.g. a gzip bomb without newlines);
#: the longest real line (MAX_DIM values of about 20 characters) is far shorter.
MAX_LINE_BYTES = 1 << 23
_INFER_BYTES = 1 << 16  # text over which GloVe's dimension is inferred (a block is larger, unless a test shrinks it)
BOM = b"\xef\xbb\xbf"
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
GZIP_MAGIC = b"\x1f\x8b"
BZ2_MAGIC = b"BZh"
XZ_MAGIC = b"\xfd7zXZ\x00"
ZIP_MAGIC = b"PK\x03\x04"
#: compressions no reader of the toolkit takes (magic bytes: name, the tool that decompresses it)
UNREAD_COMPRESSIONS = (
    (b"\x28\xb5\x2f\xfd", "Zstandard (zstd)", "zstd"),
    (b"\x04\x22\x4d\x18", "LZ4", "lz4"),
    (b"7z\xbc\xaf\x27\x1c", "7-Zip", None),
)
FASTTEXT_MAGIC = (793712314).to_bytes(4, "little")
_NUMBER_BYTES = b"0123456789.-+eE "
_NUMBER_TABLE = bytes(range(256))

_ORJSON: list = []  # [module or None], filled on the first parse: a cached reload never imports it


def _orjson_module():
    """The optional accelerator (a correctly rounding C float parser), or None; imported on first use."""
    if not _ORJSON:
        try:
            import orjson
        except ImportError:  # pragma: no cover - exercised only without orjson
            orjson = None
        _ORJSON.append(orjson)
    return _ORJSON[0]


class Source:
    """A file to read: its path, the zip member inside it, and a display name."""

    def __init__(self, path: Path, member: str | None = None):
        self.path = Path(path)
        self.member = member

    @property
    def name(self) -> str:
        return f"{self.path}/{self.member}" if self.member else str(self.path)  # the path load_vectors takes

    def error(self, where: str | None, problem: str, todo: str) -> VectorsFormatError:
        """An error naming the file, the place (line/record) and what to do.

        ``problem`` and ``todo`` may hold the placeholders of :func:`advice`:
        the message says them in the caller's terms (:func:`worded_error`).
        """
        place = f", {where}" if where else ""
        return worded_error(VectorsFormatError, f"{self.name}{place}: {problem}. {todo.rstrip('.')}.")


# ----------------------------------------------------------------------------- containers


def sniff_container(path: Path) -> str:
    """``"gzip"``, ``"bz2"``, ``"xz"``, ``"zip"`` or ``"plain"`` from the file's first bytes."""
    with open(path, "rb") as f:
        head = f.read(6)
    if head.startswith(GZIP_MAGIC):
        return "gzip"
    if head.startswith(BZ2_MAGIC):
        return "bz2"
    if head.startswith(XZ_MAGIC):  # read by every other reader of the toolkit; here it was "the first line has no
        return "xz"  # values"
    if head.startswith(ZIP_MAGIC):
        return "zip"
    return "plain"


def zip_member(source: Source) -> str:
    """The member to read in a zip: the one asked for, or the only file inside."""
    try:
        with zipfile.ZipFile(source.path) as zf:
            names = [i.filename for i in zf.infolist() if not i.is_dir()]
    except zipfile.BadZipFile as err:
        raise source.error(None, f"is not a readable zip archive ({err})", "Download it again.") from err
    how = advice()  # the command line has no member option: the path through the archive only
    if source.member is not None:
        if source.member not in names:
            raise source.error(
                None,
                f"the zip archive has no member {source.member!r}",
                how.either(
                    "member",
                    f"Pass one of {names[:20]} as member=, or in the path through the archive ({source.path}/<member>)",
                    f"Pass one of {names[:20]} in the path through the archive ({source.path}/<member>)",
                ),
            )
        return source.member
    if len(names) == 1:
        return names[0]
    raise source.error(
        None,
        f"the zip archive holds {len(names)} files",
        how.either(
            "member",
            f"Pass member= to choose one of {names[:20]}, or the member's path through the archive, such as "
            f"{source.path / names[0]} (the only way an estimator's vectors= and the command line can say it)",
            f"Pass the path through the archive to the one to read, such as {source.path / names[0]} (it holds "
            f"{names[:20]})",
        ),
    )


def _corrupt(source: Source, kind: str, err: BaseException) -> VectorsFormatError:
    return source.error(
        None,
        f"the {kind} data is corrupt or truncated ({type(err).__name__}: {err})",
        "Download the file again and check its SHA256 (toolkit data fetch verifies it).",
    )


def _raw_chunks(source: Source, block_size: int):
    """Decompressed bytes of ``source`` in chunks (no prefetching)."""
    container = sniff_container(source.path)
    if container == "zip":
        member = zip_member(source)
        try:
            with zipfile.ZipFile(source.path) as zf, zf.open(member) as f:
                while True:
                    chunk = f.read(block_size)
                    if not chunk:
                        return
                    yield chunk
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as err:
            raise _corrupt(source, "zip", err) from err
        return
    with open(source.path, "rb") as f:
        if container == "plain":
            while True:
                chunk = f.read(block_size)
                if not chunk:
                    return
                yield chunk
        if container == "xz":
            import lzma

            make, errors = lzma.LZMADecompressor, (lzma.LZMAError,)
        else:
            make, errors = (lambda: zlib.decompressobj(31)) if container == "gzip" else bz2.BZ2Decompressor, ()
        kind = container
        dec = make()
        data = b""
        try:
            while True:
                if not data:
                    data = f.read(block_size)
                    if not data:
                        break
                # max_length bounds the output: a highly compressed input cannot balloon memory
                out = dec.decompress(data, block_size)
                if container == "gzip":
                    data = dec.unconsumed_tail
                else:  # bz2 and xz keep unconsumed input themselves
                    data = b""
                    while not dec.eof and not dec.needs_input:
                        if out:
                            yield out
                        out = dec.decompress(b"", block_size)
                if out:
                    yield out
                if dec.eof:  # end of one member: a concatenated gzip/bz2/xz may follow
                    data = dec.unused_data or f.read(block_size)
                    if not data:
                        dec = None
                        break
                    dec = make()
            if dec is not None and not dec.eof:
                raise EOFError("compressed stream ended before the end-of-stream marker")
        except (zlib.error, OSError, EOFError, ValueError, *errors) as err:
            raise _corrupt(source, kind, err) from err


def iter_chunks(source: Source, block_size: int | None = None, *, prefetch: bool = True):
    """Decompressed chunks, read and decompressed ahead in a background thread.

    Exceptions from the reader are re-raised in the consumer; closing the
    generator early stops the thread.
    """
    block_size = block_size or BLOCK_SIZE
    if not prefetch:
        yield from _raw_chunks(source, block_size)
        return
    q: queue.Queue = queue.Queue(maxsize=2)
    stop = threading.Event()
    done = object()

    def produce():
        try:
            for chunk in _raw_chunks(source, block_size):
                while not stop.is_set():
                    try:
                        q.put(chunk, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            item = done
        except BaseException as err:  # forwarded to the consumer
            item = err
        while not stop.is_set():
            try:
                q.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    thread = threading.Thread(target=produce, name="toolkit-vectors-reader", daemon=True)
    thread.start()
    try:
        while True:
            item = q.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join()


def peek(source: Source, n: int = 1 << 16) -> bytes:
    """The first ``n`` decompressed bytes (fewer for a short file)."""
    out = b""
    gen = _raw_chunks(source, max(n, 1 << 16))
    try:
        for chunk in gen:
            out += chunk
            if len(out) >= n:
                break
    finally:
        gen.close()
    return out[:n]


# ----------------------------------------------------------------------------- text


def _parse_numbers(joined: bytes, expected: int):
    """All numbers of a block, or None when the bulk parse is not trustworthy."""
    _orjson = _orjson_module()
    if _orjson is not None:
        # JSON literals other than numbers (true, false, null, "strings") would convert
        # silently: refuse blocks holding their letters (four memchr scans)
        if b"t" in joined or b"f" in joined or b"n" in joined or b'"' in joined:
            return None
        try:
            values = _orjson.loads(b"[" + joined.replace(b" ", b",") + b"]")
            if len(values) != expected:  # "1,2" tokens, nested lists
                return None
            with np.errstate(over="ignore"):  # beyond float32: inf, refused by the caller
                arr = np.fromiter(values, dtype=np.float32, count=expected)
        except (_orjson.JSONDecodeError, TypeError, ValueError, OverflowError):
            return None  # "1.", "+1", "01", "NaN", empty fields: the slow path decides
    else:  # pragma: no cover - exercised only without orjson
        import warnings

        if joined.translate(_NUMBER_TABLE, _NUMBER_BYTES):  # letters (nan, inf...), tabs, commas
            return None

        with warnings.catch_warnings():
            warnings.simplefilter("error")
            try:
                arr = np.fromstring(joined, dtype=np.float32, sep=" ")
            except (DeprecationWarning, ValueError):
                return None
    if arr.ndim != 1 or arr.size != expected:
        return None
    return arr


def _float_or_none(text: bytes):
    try:
        return float(text)
    except ValueError:
        return None


_F32_MAX = float(np.finfo(np.float32).max)
#: The way out for an estimator's ``vectors=``, which has no ``unicode_errors`` nor ``format`` to pass.
_FOR_ESTIMATORS = {
    ("unicode_errors", "replace"): (
        " (an estimator's vectors= parameter takes no unicode_errors: write a repaired copy once, "
        "load_vectors(path, unicode_errors='replace').save_word2vec_format('repaired.vec'), and pass its path)"
    ),
    ("duplicates", "first"): (
        " (an estimator's vectors= parameter takes no duplicates: write a copy once, "
        "load_vectors(path, duplicates='first').save_word2vec_format('vectors.vec'), and pass its path)"
    ),
    ("format", "native"): (
        " (an estimator's vectors= parameter takes no format: write a copy once, "
        "load_vectors(path, format='native').save_word2vec_format('vectors.vec'), and pass its path)"
    ),
}
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


class Spelling:
    """How the advice of a vectors error names a setting of the reader: :func:`load_vectors`' keywords.

    The errors tell what to pass (``unicode_errors='replace'``). A caller
    with other names for these settings (the command line's options:
    ``--unicode-errors replace``, or, in a command without the option, a
    copy made by ``toolkit vectors convert``) sets an object with these
    methods for a block with :func:`spelled_as`
    (:class:`toolkit.cli.vectors.OptionSpelling`); the messages raised in
    the block are then written in its terms.
    """

    def setting(self, name: str, value) -> str:
        """The setting ``name`` = ``value`` as the caller writes it: ``unicode_errors='replace'``."""
        return f"{name}={value!r}"

    def value(self, value) -> str:
        """A value alone, as the caller writes it: ``'ignore'``."""
        return repr(value)

    def option(self, name: str) -> str:
        """The setting's name alone: ``unicode_errors``."""
        return name

    def takes(self, name: str) -> bool:
        """Whether the caller can pass the setting ``name`` (load_vectors takes all of them)."""
        return True

    def terms(self, python: str, command: str) -> str:
        """Of two wordings, the one in the caller's terms: ``python`` (``convert_vectors``) for Python callers.

        A spelling without this method (the command line's) takes ``command``
        (``toolkit vectors convert``).
        """
        return python

    def passing(self, source: str, name: str, value, purpose: str, *, alternative=None) -> str:
        """Advice to set ``name`` for ``purpose``: "pass unicode_errors='replace' (or 'ignore') to load it anyway".

        ``source`` is the file's name (a caller without the setting may write
        a copy of it). An estimator's ``vectors=`` takes no ``unicode_errors``
        nor ``format``: that advice says how to write a copy it can read.
        """
        also = f" (or {self.value(alternative)})" if alternative is not None else ""
        return f"pass {self.setting(name, value)}{also} {purpose}" + _FOR_ESTIMATORS.get((name, value), "")


_KEYWORDS = Spelling()
_SPELLING: contextvars.ContextVar = contextvars.ContextVar("toolkit_vectors_spelling", default=None)


def spelling() -> Spelling:
    """The :class:`Spelling` of the errors raised now (:func:`load_vectors`' keywords unless :func:`spelled_as`)."""
    return _SPELLING.get() or _KEYWORDS


@contextlib.contextmanager
def spelled_as(how: Spelling):
    """Word the advice of the vectors errors raised in the block with ``how`` (the command line's options).

    An error that comes out of the block worded otherwise (raised in a
    joblib or Dask worker process, or in a thread, where the setting of
    this block does not reach) is worded again with ``how`` on its way out
    (:func:`worded_error`: it carries its advice unworded).
    """
    token = _SPELLING.set(how)
    try:
        yield how
    except Exception as err:
        reword(err, how)
        raise
    finally:
        _SPELLING.reset(token)


#: Starts and ends a placeholder of :func:`advice` in a message not yet worded (a NUL: never in a message)
_MARK = "\x00"
_PLACEHOLDER = re.compile("\x00advice(\\[[^\x00]*\\])\x00")


class _Advice:
    """The methods of :class:`Spelling`, returning placeholders that :func:`worded` fills in with a spelling.

    A message with them is worded when its error is made, and again by
    :func:`spelled_as` when it reaches a caller with other terms (the
    placeholders are JSON: they travel with a pickled error).
    """

    @staticmethod
    def _mark(*call) -> str:
        return f"{_MARK}advice{json.dumps(call)}{_MARK}"  # json escapes a NUL inside: one level of marks

    def setting(self, name: str, value) -> str:
        return self._mark("setting", name, value)

    def value(self, value) -> str:
        return self._mark("value", value)

    def option(self, name: str) -> str:
        return self._mark("option", name)

    def passing(self, source: str, name: str, value, purpose: str, *, alternative=None) -> str:
        return self._mark("passing", source, name, value, purpose, alternative)

    def terms(self, python: str, command: str) -> str:
        """``python`` for load_vectors' keywords, ``command`` for the command line (:meth:`Spelling.terms`)."""
        return self._mark("terms", python, command)

    def either(self, name: str, taken: str, not_taken: str) -> str:
        """``taken`` if the caller can pass the setting ``name`` (:meth:`Spelling.takes`), else ``not_taken``."""
        return self._mark("either", name, taken, not_taken)

    def capital(self, text: str) -> str:
        """``text`` worded, with its first letter a capital."""
        return self._mark("capital", text)


_ADVICE = _Advice()


def advice() -> _Advice:
    """Placeholders for the advice of a vectors error, worded in the caller's terms when the error is made.

    Use them in the messages of :meth:`Source.error` and :func:`worded_error`
    (never elsewhere: only these fill them in).
    """
    return _ADVICE


def worded(text: str, how: Spelling | None = None) -> str:
    """``text`` with the placeholders of :func:`advice` written in ``how``'s terms (default: :func:`spelling`)."""
    if _MARK not in text:
        return text
    how = spelling() if how is None else how

    def fill(match):
        try:
            call = json.loads(match.group(1))
        except ValueError:  # pragma: no cover - placeholders are written by _Advice only
            return match.group(0)
        kind, *args = call
        args = [worded(a, how) if isinstance(a, str) else a for a in args]
        if kind == "either":
            return args[1] if how.takes(args[0]) else args[2]
        if kind == "capital":
            return args[0][:1].upper() + args[0][1:]
        if kind == "passing":
            source, name, value, purpose, alternative = args
            return how.passing(source, name, value, purpose, alternative=alternative)
        if kind == "terms":  # a spelling without the method: the command line's
            return how.terms(*args) if hasattr(how, "terms") else args[1]
        return getattr(how, kind)(*args)

    return _PLACEHOLDER.sub(fill, text)


def worded_error(cls, template: str):
    """``cls(message)``: ``template`` worded now, and kept on the error for :func:`reword`."""
    err = cls(worded(template))
    if _MARK in template:
        err._vectors_advice = template  # pickled with the error (BaseException keeps its __dict__)
        err._vectors_worded = _SPELLING.get() is not None  # False: load_vectors' keywords, by default
    return err


def template_of(err) -> str:
    """The message of ``err`` with its advice unworded (placeholders), as :func:`worded_error` made it."""
    return getattr(err, "_vectors_advice", None) or str(err)


def reword(err, how: Spelling) -> None:
    """Word the advice of ``err`` (made by :func:`worded_error`) with ``how``, unless a caller's terms did."""
    template = getattr(err, "_vectors_advice", None)
    if template is None or getattr(err, "_vectors_worded", True):
        return
    err.args = (worded(template, how),)
    err._vectors_worded = True


class _TextReader:
    """State of one text parse (see :func:`read_text`)."""

    def __init__(self, source, *, header, dim, want, unicode_errors, vectors_path=None, on_rows=None):
        self.source = source
        self.on_rows = on_rows
        self.vectors_path = vectors_path
        self.header = header  # (count, dim) or None
        self.dim = dim
        self.want = want  # max rows to read (None: all)
        self.unicode_errors = unicode_errors
        self.words: list[str] = []
        self.rows: RowBuffer | None = None
        self.beyond = False  # non-empty lines after the wanted rows
        self._first_line_was_int_pair = False  # GloVe read of a file with a word2vec header
        self.n = 0
        self.line_no = 0  # number of the last line consumed
        self.allow_spaces = True  # words with spaces (more fields than dim: the last dim are the vector)
        self.n_spaced = 0
        self.first_spaced = None  # (line number, word) of the first word with spaces
        self.n_number_tail = 0  # GloVe words with spaces whose last part is a number: a value too many?
        self.first_number_tail = None  # (line number, word)

    # -- errors ---------------------------------------------------------------
    def _line_error(self, line_no, problem, todo):
        return self.source.error(f"line {line_no}", problem, todo)

    def _diagnose(self, lines, first_line_no, at_eof):
        """Re-read a block line by line; raise for the first bad line, else return (values, words)."""
        dim = self.dim
        values = np.empty((len(lines), dim), dtype=np.float32)
        words_b = []
        for i, line in enumerate(lines):
            line = line.rstrip()
            line_no = first_line_no + i
            is_last = at_eof and i == len(lines) - 1
            if not line:
                raise self._line_error(
                    line_no, "the line is empty", "Remove blank lines; every line must be '<word> <value> ... <value>'."
                )
            parts = line.split(b" ")
            cut = 1
            if self.allow_spaces and len(parts) > dim + 1 and all(parts):  # a word with (single) spaces
                cut = len(parts) - dim
            word = b" ".join(parts[:cut])
            if not word:
                raise self._line_error(
                    line_no,
                    "the line starts with a space (empty word)",
                    "Every line must be '<word> <value> ... <value>' separated by single spaces.",
                )
            words_b.append(word)
            nums = parts[cut:]
            if not all(nums) and len(nums) > 1:
                k = nums.index(b"")
                raise self._line_error(
                    line_no, f"value {k + 1} is empty (two spaces in a row?)", "Separate values by single spaces."
                )
            if len(nums) != dim:
                short = word.decode("utf-8", "replace")[:40]
                problem = f"the line for {short!r} has {len(nums)} values, expected {dim}"
                if is_last and len(nums) < dim:
                    todo = "The file looks truncated: download it again."
                elif line_no == 1 and self.header is None and self._first_line_was_int_pair:
                    how = advice()
                    todo = (f"Line 1 looks like a word2vec header: load it with {how.setting('format', 'word2vec')} "
                            f"or {how.setting('format', 'auto')}.")
                elif self.header is not None and not self.allow_spaces:
                    todo = (f"Most lines have {len(nums)} values but the header announces dimension {dim}: "
                            "fix the header, or check that this is word2vec text")
                else:
                    todo = "Every line needs the same number of values; fix or remove this line."
                raise self._line_error(line_no, problem, todo)
            row = []
            for k, tok in enumerate(nums):
                value = _float_or_none(tok)
                if value is None and not tok:
                    raise self._line_error(
                        line_no, f"value {k + 1} is empty (two spaces in a row?)", "Separate values by single spaces."
                    )
                if value is None:
                    # a CR-only line end inside a file of LF lines (files joined): a number, CR, the next word
                    cr = b"\r" in tok and _float_or_none(tok.split(b"\r", 1)[0]) is not None
                    raise self._line_error(
                        line_no,
                        f"value {k + 1} ({tok.decode('utf-8', 'replace')[:30]!r}) is not a number"
                        + (": a carriage return (CR) inside ends a line written on classic Mac OS" if cr else ""),
                        "Make every line end with a line feed (e.g. tr '\\r' '\\n' < in.txt > out.txt for a file "
                        "of CR line ends)" if cr else "Values must be decimal numbers; fix or remove this line.",
                    )
                if not math.isfinite(value) or abs(value) > _F32_MAX:
                    raise self._line_error(
                        line_no,
                        f"value {k + 1} ({tok.decode('utf-8', 'replace')[:30]!r}) is not a finite float32",
                        "nan/inf would poison every similarity and every model; fix or remove this line",
                    )
                row.append(value)
            values[i] = row
        return values, words_b

    def _refuse_tab_separated(self, lines, first_line_no):
        """Raise for a line whose fields are separated by tabs (its first field reads 'word<TAB>number').

        gensim's reader, like ours, splits on single spaces only: such a line would load as the word
        ``"the\t0.1"`` with the vector shifted by one value (and, for GloVe, one dimension too few).
        """
        for i, ln in enumerate(lines):
            field = ln.split(b" ", 1)[0]
            if b"\t" in field and _float_or_none(field.rsplit(b"\t", 1)[1]) is not None:
                shown = field.decode("utf-8", "replace")[:40]
                raise self._line_error(
                    first_line_no + i,
                    f"the line starts with {shown!r}: the word and its values are separated by tabs",
                    "Word-vector text separates the word and its values by single spaces; replace the tabs "
                    "(e.g. tr '\\t' ' ' < in.txt > out.txt)",
                )

    def _decode_words(self, words_b, first_line_no):
        joined = b"\n".join(words_b)
        try:
            words = joined.decode("utf-8", self.unicode_errors).split("\n")
        except UnicodeDecodeError as err:
            i = joined.count(b"\n", 0, err.start)
            raise self._line_error(
                first_line_no + i,
                f"the word {words_b[i][:40]!r} is not valid UTF-8 ({err.reason})",
                "Convert the file to UTF-8, or " + _load_anyway(self.source),
            ) from err
        if len(words) != len(words_b):  # a decoded word contains a newline-like split: decode one by one
            words = [w.decode("utf-8", self.unicode_errors) for w in words_b]
        if self.unicode_errors == "ignore" and not all(words):
            i = words.index("")
            raise _emptied(self.source, f"line {first_line_no + i}", words_b[i])
        return words

    def _add_words(self, words, first_line_no):
        self.words.extend(words)
        self.n += len(words)

    @staticmethod
    def _usual_count(lines) -> int:
        """The most common number of values in the first lines (ties: the larger; runs of spaces count once).

        A line whose first "value" is not a number holds a word with a space
        (``"new york 0.1 0.2"``): it votes for the number of values at its
        end, not for its field count, which in a short file could outvote or
        tie the other lines and give the wrong dimension.
        """
        counts: dict = {}
        for ln in lines[:1000]:
            fields = [f for f in ln.split(b" ") if f]
            c = len(fields) - 1
            if c > 0 and _float_or_none(fields[1]) is None:  # a word with a space: count the numbers at the end
                c = next((k for k in range(c) if _float_or_none(fields[-k - 1]) is None), c) or c  # none: c
            if c >= 0:
                counts[c] = counts.get(c, 0) + 1
        return max(counts, key=lambda c: (counts[c], c)) if counts else 0

    def _wrong_dimension(self, lines, dim) -> bool:
        """Whether a header's dimension looks wrong: most lines have another count, and their extra fields are
        numbers (``"the 0.1 0.2 0.3"`` under ``3 2``), not words (``"not good 0.1 0.2"``, a bigram), or
        fewer than it announces (``"the 0.1 0.2"`` under ``3 5``: no word with spaces makes a line shorter)."""
        usual = self._usual_count(lines)
        if usual == dim:
            return False
        if usual < dim:  # (it said "fix or remove this line" of the first line, as if only that one were short)
            return True
        tails = [_float_or_none(parts[-dim - 1]) is not None
                 for parts in (ln.rstrip().split(b" ") for ln in lines[:1000]) if len(parts) > dim + 1]
        return sum(tails) * 2 > len(tails)

    def _infer_dim(self, lines, first_line_no) -> int:
        """GloVe's dimension: the usual value count, so that a first word with spaces does not decide it."""
        dim = self._usual_count(lines)
        comma = next((i for i, ln in enumerate(lines[:1000]) if len(ln.split(b",")) > 2
                      and _float_or_none(ln.rstrip().rsplit(b",", 1)[1]) is not None), None)
        if dim < 1 and comma is not None:  # a CSV file (pandas' DataFrame.to_csv), read as words without values
            shown = lines[comma].rstrip().decode("utf-8", "replace")[:40]
            raise self._line_error(
                first_line_no + comma,
                f"the line reads {shown!r}: the word and its values are separated by commas (a CSV file)",
                "Word-vector text separates the word and its values by single spaces, one word a line and no "
                "header line: write it so (from pandas: df.to_csv(path, sep=' ', header=False, "
                "quoting=csv.QUOTE_NONE), the words as the index)",
            )
        if dim < 1:
            raise self._line_error(
                first_line_no,
                "the first line has no values",
                "Expected '<word> <value> ... <value>' lines (GloVe text).",
            )
        if dim > MAX_DIM:
            raise self._line_error(
                first_line_no,
                f"the first line has {dim:,} values, more than any embedding ({MAX_DIM:,} at most)",
                "The file is corrupt or not word-vector text; check it, or download it again",
            )
        first = lines[0].rstrip().split(b" ")
        self._first_line_was_int_pair = len(first) == 2 and all(p.isdigit() for p in first)
        return dim

    # -- bulk -----------------------------------------------------------------
    def feed(self, block: bytes, at_eof: bool):
        """Parse complete lines in ``block`` (no trailing newline in it)."""
        if not block:
            return
        lines = block.split(b"\n")
        first_line_no = self.line_no + 1
        normalized = b"\r" in block or b"\t" in block  # one memchr each
        if normalized:
            lines = [ln.rstrip() for ln in lines]  # CRLF, as gensim (it rstrips every line)
        block_lines = lines  # the dimension is judged on all of them: a limit does not change it
        if self.want is not None and self.n + len(lines) > self.want:
            self.beyond = any(ln.strip() for ln in lines[self.want - self.n :])
            lines = lines[: self.want - self.n]
        self.line_no += len(lines)
        if b"\t" in block:
            self._refuse_tab_separated(lines, first_line_no)
        if self.dim is None:  # GloVe: the most common value count of the first lines gives the dimension
            self.dim = self._infer_dim(block_lines, first_line_no)
        elif self.header is not None and self.rows is None and self._wrong_dimension(block_lines, self.dim):
            self.allow_spaces = False  # the header is wrong: say so, rather than read numbers as words
        dim = self.dim
        counts = list(map(bytes.count, lines, repeat(b" ", len(lines))))  # dim spaces on every line, usually
        if not normalized and (min(counts) != dim or max(counts) != dim):  # trailing spaces (word2vec C tool)
            lines = [ln.rstrip() for ln in lines]
            counts = list(map(bytes.count, lines, repeat(b" ", len(lines))))
        lo, hi = min(counts), max(counts)
        values = None
        if lo == dim and (hi == dim or self.allow_spaces):
            if hi == dim:
                cut = list(map(bytes.find, lines, repeat(b" ", len(lines))))
            else:  # words with spaces: the last dim fields are the vector
                cut = [ln.find(b" ") if c == dim else len(ln.rsplit(b" ", dim)[0]) for ln, c in zip(lines, counts)]
            words_b = [ln[:c] for ln, c in zip(lines, cut)]
            if all(words_b) and (hi == dim or not any(w[:1] == b" " or w[-1:] == b" " or b"  " in w
                                                       for w, c in zip(words_b, counts) if c > dim)):
                joined = b" ".join([ln[c + 1 :] for ln, c in zip(lines, cut)])
                flat = _parse_numbers(joined, len(lines) * dim)
                if flat is not None:
                    values = flat.reshape(len(lines), dim)
                    if not np.isfinite(values).all():
                        values = None
        if values is None:
            values, words_b = self._diagnose(lines, first_line_no, at_eof)
        words = self._decode_words(words_b, first_line_no)
        if hi > dim:
            spaced = [i for i, c in enumerate(counts) if c > dim]
            if self.first_spaced is None:
                self.first_spaced = (first_line_no + spaced[0], words[spaced[0]])
            self.n_spaced += len(spaced)
            if self.header is None:  # no header: a line with one value too many reads as a word with a space
                tails = [i for i in spaced if _DECIMAL.fullmatch(words[i].rsplit(" ", 1)[-1])]
                if tails and self.first_number_tail is None:
                    self.first_number_tail = (first_line_no + tails[0], words[tails[0]])
                self.n_number_tail += len(tails)
        self._add_words(words, first_line_no)
        if self.rows is None:
            per_row = (len(block) + 1) / len(lines)
            cap = self.want if self.want is not None else None
            self.rows = RowBuffer(
                dim,
                estimate_rows(self.source, per_row, cap) if cap is None or cap > 1 << 20 else cap,
                self.vectors_path,
            )
        self.rows.append(values)
        if self.on_rows is not None:
            self.on_rows(len(values))

    def done(self):
        return self.want is not None and self.n >= self.want

    def result(self, repeats: list | None = None):
        """(words, key_to_index, vectors); with ``repeats`` (a list), repeated words are listed there, not refused."""
        vectors = self.rows.result() if self.rows is not None else np.zeros((0, self.dim or 0), np.float32)
        key_to_index = index_words(self.words, lambda i: self.source.error(
            f"line {i + 1 + (self.header is not None)}",
            *_duplicate(self.words, i, self.header is not None, "line", self.unicode_errors, self.source),
        ), repeats=repeats)
        return self.words, key_to_index, vectors


class RowBuffer:
    """A growable float32 row store that never holds the vectors twice.

    In memory (``path=None``), ``np.empty`` memory is committed page by page
    as rows are written, so a generous capacity costs nothing until used;
    growth (rare: the capacity is estimated from the file size) copies into a
    1.5x larger buffer. With ``path``, rows are appended to a ``.npy`` file
    instead (its header is rewritten with the final shape at the end), so the
    vectors never sit in the process' memory at all: the caller maps the file.
    """

    _PLACEHOLDER_ROWS = 10**15  # header room for any real row count

    def __init__(self, dim: int, capacity: int, path: Path | None = None):
        self.dim = dim
        self.n = 0
        self.path = path
        if path is None:
            self.data = np.empty((max(int(capacity), 16), dim), dtype=np.float32)
            self._file = None
        else:
            self.data = None
            self._file = open(path, "wb")
            self._header_len = self._write_header(self._PLACEHOLDER_ROWS)

    def _write_header(self, rows: int) -> int:
        self._file.seek(0)
        np.lib.format.write_array_header_1_0(
            self._file, {"descr": "<f4", "fortran_order": False, "shape": (rows, self.dim)}
        )
        return self._file.tell()

    def append(self, rows: np.ndarray) -> None:
        end = self.n + len(rows)
        if self._file is not None:
            self._file.write(memoryview(np.ascontiguousarray(rows, dtype="<f4")).cast("B"))
        else:
            if end > len(self.data):
                grown = np.empty((max(end, len(self.data) * 3 // 2), self.dim), dtype=np.float32)
                grown[: self.n] = self.data[: self.n]
                self.data = grown
            self.data[self.n : end] = rows
        self.n = end

    def close(self) -> None:
        if self._file is not None:
            self._file.close()

    def result(self):
        """The rows (an array), or with ``path`` the path of the finished ``.npy`` file."""
        if self._file is not None:
            if self._write_header(self.n) != self._header_len:  # pragma: no cover - header sizes are padded alike
                raise AssertionError("npy header size changed")
            self._file.close()
            return self.path
        data, self.data = self.data, None
        if len(data) - self.n > 1024 and len(data) > 2 * self.n:  # far too big: give the address space back
            return data[: self.n].copy()
        return data[: self.n]


def estimate_rows(source: Source, bytes_per_row: float, cap: int | None = None) -> int:
    """Rows a file probably holds, from its (uncompressed) size; for preallocation only."""
    size = os.path.getsize(source.path)
    container = sniff_container(source.path)
    if container == "gzip":
        with open(source.path, "rb") as f:  # ISIZE trailer: uncompressed size mod 2**32
            f.seek(-4, os.SEEK_END)
            isize = int.from_bytes(f.read(4), "little")
        size = isize if isize >= size else size * 4
    elif container == "zip" and source.member is not None:
        try:
            with zipfile.ZipFile(source.path) as zf:
                size = zf.getinfo(source.member).file_size
        except (KeyError, zipfile.BadZipFile):
            pass
    elif container in ("bz2", "xz"):
        size *= 5
    rows = int(size / max(bytes_per_row, 1.0) * 1.02) + 64
    return rows if cap is None else min(rows, cap)


def index_words(words: list, error, *, repeats: list | None = None) -> dict:
    """``{word: index}``, built once at the end of a parse.

    Built in one go (not block by block) so that its many small int objects
    do not interleave with the parse's short-lived ones in Python's memory
    pools, which would keep those pools alive. ``error(i)`` makes the
    exception for a repeated word at index ``i``; with ``repeats`` (a list),
    ``(i, first)`` is appended to it for each repeat instead (``first``: the
    index of the word's first row), for :func:`without_repeats`.
    """
    key_to_index = dict(zip(words, range(len(words))))
    if len(key_to_index) != len(words):
        seen: dict = {}
        for i, word in enumerate(words):
            if word in seen:
                if repeats is None:
                    raise error(i)
                repeats.append((i, seen[word]))
                continue
            seen[word] = i
    return key_to_index


def _compact(arr: np.ndarray, drop: list) -> int:
    """Move the rows of ``arr`` not in ``drop`` (sorted indices) to its top, in place (no second copy of the
    vectors); returns their number."""
    n, dim = arr.shape
    dst = drop[0]
    step = max(1, (64 << 20) // max(dim * 4, 1))  # rows moved at once: 64 MB
    for start, stop in zip([d + 1 for d in drop], [*drop[1:], n]):  # the kept rows between two dropped ones
        for s in range(start, stop, step):
            m = min(step, stop - s)
            arr[dst:dst + m] = arr[s:s + m]  # (dst < s: a forward copy never reads a row it overwrote)
            dst += m
    return dst


def _drop_npy_rows(path: Path, drop: list) -> None:
    """Remove the rows ``drop`` (sorted indices) of the float32 ``.npy`` file ``path`` in place."""
    arr = np.load(path, mmap_mode="r+", allow_pickle=False)
    dim, offset = arr.shape[1], arr.offset
    kept = _compact(arr, drop)
    arr.flush()
    del arr
    with open(path, "r+b") as f:
        np.lib.format.write_array_header_1_0(f, {"descr": "<f4", "fortran_order": False, "shape": (kept, dim)})
        if f.tell() != offset:  # pragma: no cover - numpy pads the header for any row count alike
            raise AssertionError("npy header size changed")
        f.truncate(offset + kept * dim * 4)


def without_repeats(source: Source, words: list, vectors, repeats: list, *, unit: str, first_no: int,
                    dropped: list | None = None):
    """``(words, key_to_index, vectors)`` without the later rows of each repeated word (``duplicates='first'``).

    ``repeats`` is what :func:`index_words` listed; ``vectors`` an array or
    the path of a ``.npy`` file (rows removed in place). A warning names the
    file, how many rows went and the first of them (``unit`` ``first_no``:
    the number of row 0 in messages, "line 1" or "record 1"):
    :func:`warn_repeats` of the record appended to ``dropped`` (a list) when
    one is given, for the cache entry to keep (a load from it warns again).
    """
    drop = [i for i, _ in repeats]
    i, first = repeats[0]
    record = {"rows": len(drop), "word": words[i], "unit": unit, "at": i + first_no, "first": first + first_no}
    warn_repeats(source.name, record)
    if dropped is not None:
        dropped.append(record)
    gone = set(drop)
    words = [w for j, w in enumerate(words) if j not in gone]
    if isinstance(vectors, np.ndarray):
        vectors = vectors[:_compact(vectors, drop)]
    else:
        _drop_npy_rows(Path(vectors), drop)
    return words, dict(zip(words, range(len(words)))), vectors


def warn_repeats(name: str, record: dict, *, cached: bool = False) -> None:
    """Log the warning of the rows of repeated words :func:`without_repeats` dropped from the file ``name``.

    ``record``: ``{"rows", "word", "unit", "at", "first"}`` (how many rows
    went; the first repeated word, the unit and number of its dropped row
    and of its first one). ``cached``: the vectors come from a cache entry
    built from the file earlier (which recorded this), not from reading it.
    """
    rows = record["rows"]
    logger.warning(
        "%s: %d row%s of repeated words dropped, the first vector of each word kept (%s); the first is %r on %s "
        "%d (first on %s %d)%s", name, rows, "" if rows == 1 else "s", spelling().setting("duplicates", "first"),
        record["word"], record["unit"], record["at"], record["unit"], record["first"],
        "; as found when the vectors cache entry was built from it" if cached else "",
    )


def _load_anyway(source: Source) -> str:
    """The advice for a word that is not UTF-8: pass ``unicode_errors='replace'``, in the caller's terms."""
    return advice().passing(source.name, "unicode_errors", "replace", "to load it anyway", alternative="ignore")


def _emptied(source: Source, where: str, word: bytes) -> VectorsFormatError:
    """The error for a ``word`` that ``unicode_errors='ignore'`` decodes to nothing: none of its bytes is UTF-8."""
    how = advice()
    return source.error(
        where,
        f"the word {word[:40]!r} holds no valid UTF-8, so {how.setting('unicode_errors', 'ignore')} leaves it empty",
        "Convert the file to UTF-8, or "
        + how.passing(source.name, "unicode_errors", "replace", "to keep such words (their bytes become U+FFFD)"),
    )


def _read_present(source: Source, n: int) -> str:
    """The way to read the ``n`` vectors a file holds, when its header announces more: pass ``limit=n``."""
    return f", or {advice().passing(source.name, 'limit', n, f'to read the {n} it holds')}" if n else ""


def _capital(text: str) -> str:
    if text.startswith(_MARK):  # advice still to be worded: capitalized once it is
        return advice().capital(text)
    return text[:1].upper() + text[1:]


def _duplicate(words: list, i: int, header: bool, unit: str, unicode_errors: str = "strict", source=None):
    first = words.index(words[i])
    todo = "Each word must appear once; remove the duplicate (gensim would keep a phantom key)"
    if source is not None:  # (a duplicate deep in a large file: the rows before it still load)
        how = advice()  # glove.840B.300d repeats one word: duplicates='first' loads all of its 2.2 million words
        todo += ", " + how.passing(source.name, "duplicates", "first", "to keep the first vector of each repeated "
                                   "word and drop the rest")
        todo += f", or {how.passing(source.name, 'limit', i, f'to read the {i:,} vectors before it')}"
    if (unicode_errors == "replace" and "\ufffd" in words[i]) or unicode_errors == "ignore":
        # two different words of a file in another encoding (Latin-1 "café", "cafè") decode to one
        how = advice()
        todo = (f"If the two {unit}s hold different words in the file, they differ only in bytes that are not UTF-8, "
                f"which {how.setting('unicode_errors', unicode_errors)} made the same: convert the file to UTF-8 "
                f"instead of passing {how.option('unicode_errors')} (for a Latin-1 file: iconv -f latin1 -t utf-8 "
                "in.txt > out.txt). "
                f"Otherwise {todo[0].lower()}{todo[1:]}")
    return f"the word {words[i]!r} appears a second time (first on {unit} {first + 1 + header})", todo


def _parse_header(source: Source, line: bytes, *, file_size: int | None, binary: bool):
    text = line.strip()
    parts = text.split()
    try:
        if len(parts) != 2:
            raise ValueError
        count, dim = int(parts[0]), int(parts[1])
    except ValueError:
        shown = text[:60].decode("utf-8", "replace")
        raise source.error(
            "line 1",
            f"expected a word2vec header '<count> <dimension>', found {shown!r}",
            f"This looks like GloVe text (no header line): load it with {advice().setting('format', 'glove')} or "
            f"{advice().setting('format', 'auto')}"
            # a word and its values: not the bytes of a binary file (a fastText .bin read as word2vec binary said
            # "This looks like GloVe text", then that the content looks like a fastText model)
            if len(parts) > 2 and all(_float_or_none(p) is not None for p in parts[1:])
            else f"Check that this is a word2vec/fastText file, or use {advice().setting('format', 'auto')}",
        ) from None
    if count < 0 or dim < 1 or dim > MAX_DIM:
        raise source.error(
            "line 1",
            f"the header announces {count} vectors of dimension {dim}, which is not plausible",
            f"The dimension must be in [1, {MAX_DIM}] and the count >= 0; fix the header",
        )
    if file_size is not None:
        min_bytes = count * (dim * 4 + 2) if binary else count * (2 * dim + 1)
        if min_bytes > 2 * file_size + (1 << 20):  # absurd, not merely truncated (reading names that better)
            raise source.error(
                "line 1",
                f"the header announces {count} vectors of dimension {dim}, which needs at least "
                f"{min_bytes:,} bytes, but the file has {file_size:,}",
                "The header count is wrong or the file is truncated; fix the header or download the file again",
            )
    return count, dim


def _uncompressed_size(source: Source) -> int | None:
    """The size of the data for plain files (to refuse absurd headers early), else None."""
    if source.member is None and sniff_container(source.path) == "plain":
        return os.path.getsize(source.path)
    return None


def read_text(
    source: Source,
    *,
    header: bool,
    limit: int | None,
    unicode_errors: str = "strict",
    vectors_path: Path | None = None,
    on_rows=None,
    duplicates: str = "error",
    dropped: list | None = None,
):
    """Read GloVe text (``header=False``) or word2vec/fastText text (``header=True``).

    A repeated word is refused, or with ``duplicates="first"`` its later
    lines are dropped (:func:`without_repeats`). The record of what was dropped is
    appended to ``dropped`` (a list) when given.

    Returns
    -------
    words : list of str
    key_to_index : dict
    vectors : ndarray of float32, shape (n, dim), or ``vectors_path`` (a ``.npy`` file) when given
        (``on_rows(n)`` is called after each block of ``n`` rows, for progress bars)
    declared : int
        The row count gensim would use for its fake 'count' attribute.
    """
    chunks = raw = iter_chunks(source)
    reader = None

    def too_long(line_no):
        return source.error(
            f"line {line_no}",
            f"the line is longer than {MAX_LINE_BYTES:,} bytes (the cap on a line of word-vector text)",
            "The file is corrupt or not word-vector text (a line holds one word and its values); check it, "
            "or download it again",
        )

    try:
        buf = next(chunks, b"")
        if buf.startswith(BOM):
            buf = buf[len(BOM) :]
        if buf.startswith(UTF16_BOMS):  # e.g. written by Windows PowerShell's '>' or Notepad's "Unicode"
            raise source.error(
                None, "the file is UTF-16 text (it starts with a UTF-16 byte-order mark), not UTF-8",
                "Convert it to UTF-8 (iconv -f UTF-16 -t UTF-8 in.txt > out.txt; in PowerShell, "
                "Out-File -Encoding utf8) and load the converted file",
            )
        while not buf.strip() and buf is not None:  # tiny or empty first chunk
            more = next(chunks, None)
            if more is None:
                break
            buf += more
            if len(buf) > MAX_LINE_BYTES:  # blank space without end: not joined without bound
                raise source.error(
                    None, f"the file starts with more than {MAX_LINE_BYTES:,} bytes of blank space",
                    "The file is corrupt or not word-vector text; check it, or download it again",
                )
        if not buf.strip():
            raise source.error(None, "the file is empty", "Check the path, or download the file again")
        if cr_only(buf):  # classic Mac OS line ends: each CR ends a line (as universal newlines read them)
            logger.info("%s ends its lines with a carriage return only (CR, classic Mac OS); read as line ends",
                        source.name)
            chunks = _cr_as_lf(chunks)
            buf = buf.replace(b"\r", b"\n")
        head_count = None
        if header:
            while b"\n" not in buf:
                more = next(chunks, None)
                if more is None:
                    break
                buf += more
                if len(buf) > 1 << 20:
                    break
            nl = buf.find(b"\n")
            if nl < 0 and len(buf) > 1 << 20:
                raise too_long(1)
            first = buf if nl < 0 else buf[:nl]
            head_count, dim = _parse_header(source, first, file_size=_uncompressed_size(source), binary=False)
            buf = b"" if nl < 0 else buf[nl + 1 :]
        else:
            dim = None
        want = head_count if head_count is not None else None
        if limit is not None:
            want = limit if want is None else min(want, limit)
        reader = _TextReader(
            source, header=None if head_count is None else (head_count, dim), dim=dim, want=want,
            unicode_errors=unicode_errors, vectors_path=vectors_path, on_rows=on_rows,
        )
        if header:
            reader.line_no = 1
        at_eof = False
        while not reader.done():
            if not at_eof:
                more = next(chunks, None)
                if more is None:
                    at_eof = True
                else:
                    buf += more
            if at_eof:
                block, buf = buf.rstrip(), b""  # blank lines and spaces at the very end are harmless
                reader.feed(block, at_eof=True)
                break
            if reader.dim is None and len(buf) < _INFER_BYTES:
                continue  # GloVe's dimension is the usual value count of many lines, not of one or two
            cut = buf.rfind(b"\n")
            if cut < 0:
                if len(buf) > MAX_LINE_BYTES:  # no newline yet: fail fast instead of joining chunks forever
                    raise too_long(reader.line_no + 1)
                continue
            block, buf = buf[:cut], buf[cut + 1 :]
            reader.feed(block, at_eof=False)
        if head_count is not None and not reader.done():
            raise source.error(
                f"line {reader.line_no}",
                f"the header announces {head_count} vectors but the file ends after {reader.n}",
                "The file is truncated or the header count is wrong; download it again or fix the header"
                + _read_present(source, reader.n),
            )
        if head_count is not None and (limit is None or limit > head_count):
            # rows past the announced count: gensim ignores them silently
            rest = b"x" if reader.beyond else buf.strip()
            if not rest.strip():
                for more in chunks:
                    if more.strip():
                        rest = more
                        break
            if rest.strip():
                raise source.error(
                    f"line {reader.line_no + 1}",
                    f"the header announces {head_count} vectors but the file has more rows",
                    "Fix the header count, or "
                    + advice().passing(source.name, "limit", head_count, "to read only the announced rows"),
                )
        repeats = [] if duplicates == "first" else None
        words, k2i, vectors = reader.result(repeats)
        if not words:
            raise source.error(None, "the file holds no vectors", "Check the path, or download the file again")
        if reader.n_spaced:
            line_no, word = reader.first_spaced
            logger.info(
                "%s: read %d word%s containing spaces (the last %d fields of a line are its vector; "
                "the first such word is %r, on line %d)",
                source.name, reader.n_spaced, "s" if reader.n_spaced > 1 else "", reader.dim, word, line_no,
            )
        if reader.n_number_tail:
            line_no, word = reader.first_number_tail
            logger.warning(
                "%s, line %d: the word %r ends in a number, so the line probably has one value too many (the last "
                "%d fields are taken as the vector, the rest as the word); %d such line%s. Fix or remove such "
                "lines unless these words really end in a number", source.name, line_no, word, reader.dim,
                reader.n_number_tail, "" if reader.n_number_tail == 1 else "s",
            )
        # the lines read, those of repeated words included (gensim's: the header's count or the lines of the
        # file, at most limit); not want, which for GloVe is limit itself: limit=10 of a 3-line file gave the
        # counts 10, 9, 8 where gensim gives 3, 2, 1
        declared = reader.n
        if repeats:
            words, k2i, vectors = without_repeats(source, words, vectors, repeats, unit="line", first_no=1 + header,
                                                  dropped=dropped)
        return words, k2i, vectors, declared
    finally:
        chunks.close()
        raw.close()  # also when a wrapper of it (_cr_as_lf) never started, whose close would not reach it
        if reader is not None and reader.rows is not None:
            reader.rows.close()


def cr_only(head: bytes) -> bool:
    """Whether text starting with ``head`` ends its lines with a carriage return only (classic Mac OS, old Excel).

    CRLF (Windows) has a line feed too, and is read as is (every line is
    stripped of its trailing spaces and CR, as gensim does).
    """
    return b"\r" in head and b"\n" not in head


def _cr_as_lf(chunks):
    """``chunks`` with each CR made a line feed (a CR-only file: :func:`cr_only`)."""
    for chunk in chunks:
        yield chunk.replace(b"\r", b"\n")


# ----------------------------------------------------------------------------- binary


def read_binary(
    source: Source,
    *,
    limit: int | None,
    unicode_errors: str = "strict",
    vectors_path: Path | None = None,
    on_rows=None,
    duplicates: str = "error",
    dropped: list | None = None,
):
    """Read the word2vec C tool's binary format (header line, then ``word<space><dim float32>`` records).

    A repeated word is refused, or with ``duplicates="first"`` its later
    records are dropped (:func:`without_repeats`). The record of what was dropped is
    appended to ``dropped`` (a list) when given.
    """
    chunks = iter_chunks(source)
    rows = None
    try:
        buf = b""
        for more in chunks:
            buf += more
            if b"\n" in buf[:4096] or len(buf) > 4096:
                break
        if buf.startswith(BOM):
            buf = buf[len(BOM) :]
        if not buf.strip():
            raise source.error(None, "the file is empty", "Check the path, or download the file again")
        nl = buf.find(b"\n", 0, 4096)
        if nl < 0:
            raise source.error("line 1", "no header line '<count> <dimension>' found", "Check that this is word2vec binary")
        count, dim = _parse_header(source, buf[:nl], file_size=_uncompressed_size(source), binary=True)
        pos = nl + 1
        base = 0  # absolute offset of buf[0]
        want = count if limit is None else min(count, limit)
        row_bytes = dim * 4
        words: list[str] = []
        rows = RowBuffer(dim, min(want, estimate_rows(source, row_bytes + 8)), vectors_path)
        n = 0
        at_eof = False
        while n < want:
            block_words: list[bytes] = []
            starts: list[int] = []
            while n + len(block_words) < want:
                while pos < len(buf) and buf[pos] == 10:  # "\n" after a record (C tool) or before a word
                    pos += 1
                sp = buf.find(b" ", pos, pos + MAX_WORD_BYTES)
                if sp < 0 or len(buf) - (sp + 1) < row_bytes:
                    if sp < 0 and len(buf) - pos >= MAX_WORD_BYTES:
                        raise source.error(
                            f"record {n + len(block_words) + 1} (byte {base + pos})",
                            f"no word ends within {MAX_WORD_BYTES} bytes",
                            "The file is not word2vec binary or is corrupt; check the format "
                            f"({advice().setting('format', 'auto')})",
                        )
                    break
                block_words.append(buf[pos:sp])
                starts.append(sp + 1)
                pos = sp + 1 + row_bytes
            if block_words:
                raw = b"".join([buf[s : s + row_bytes] for s in starts])
                vecs = np.frombuffer(raw, dtype="<f4").reshape(len(block_words), dim).astype(np.float32)
                if n == 0 and _byteswapped(vecs[0]):  # a big-endian file: said at its first record
                    raise _garbage_floats(source, 0, block_words[0], vecs[0])
                # the first record with a problem is the one named (a wrong dimension in the header puts the
                # records out of step from record 2, whose word is then vector bytes; a nan may come hundreds
                # of records later in the same block); at the same record, the word's problem, which names the
                # dimension. Each problem: (index in the block, rank at a tie)
                problems = []
                finite = np.isfinite(vecs).all(axis=1)
                if not finite.all():
                    problems.append((int(np.flatnonzero(~finite)[0]), 3, "floats"))
                if not all(block_words):
                    problems.append((block_words.index(b""), 0, "empty"))
                try:
                    decoded = [w.decode("utf-8", unicode_errors) for w in block_words]
                except UnicodeDecodeError as err:
                    decoded, decode_err = None, err
                    problems.append((next(i for i, w in enumerate(block_words) if not _decodes(w)), 1, "utf8"))
                joined = b" ".join(block_words)
                # no word holds a newline or NUL: such bytes are vector bytes, the records out of step (said
                # where no word fails the decoding, whose error names the dimension too, and which unicode_errors
                # lets through)
                if decoded is not None and (b"\n" in joined or b"\x00" in joined):
                    problems.append((next(i for i, w in enumerate(block_words) if b"\n" in w or b"\x00" in w), 2,
                                     "stray"))
                if problems:
                    bad, _, what = min(problems)
                    if what == "floats":
                        raise _garbage_floats(source, n + bad, block_words[bad], vecs[bad])
                    if what == "empty":
                        raise source.error(
                            f"record {n + bad + 1}", "the word is empty", "The file is corrupt; download it again"
                        )
                    if what == "stray":
                        raise _out_of_step(source, n + bad, block_words[bad], dim)
                    raise source.error(
                        f"record {n + bad + 1}",
                        f"the word {block_words[bad][:40]!r} is not valid UTF-8 ({decode_err.reason})",
                        "If the word starts with binary bytes, they are the end of the previous vector: the header's "
                        f"dimension ({dim}) is wrong or the file is corrupt; fix the header or download the file "
                        "again. Otherwise " + _load_anyway(source)
                        if n + bad > 0 else _capital(_load_anyway(source)),
                    ) from decode_err
                if unicode_errors == "ignore" and not all(decoded):
                    bad = decoded.index("")
                    raise _emptied(source, f"record {n + bad + 1}", block_words[bad])
                words.extend(decoded)
                rows.append(vecs)
                if on_rows is not None:
                    on_rows(len(vecs))
                n += len(decoded)
                continue
            if at_eof:
                rest = buf[pos:]
                if rest.strip(b"\n"):
                    sp = rest.find(b" ")
                    word = rest[:sp] if sp >= 0 else rest[:40]
                    raise source.error(
                        f"record {n + 1} (byte {base + pos})",
                        f"the record for {word[:40]!r} is truncated: {len(rest) - (sp + 1 if sp >= 0 else 0)} of "
                        f"{row_bytes} vector bytes present",
                        _misaligned(dim) if b"\n" in word.strip(b"\n") or b"\x00" in word
                        else "The file is truncated; download it again",
                    )
                raise source.error(
                    f"record {n + 1}",
                    f"the header announces {count} vectors but the file ends after {n}",
                    "The file is truncated or the header count is wrong; download it again or fix the header"
                    + _read_present(source, n),
                )
            more = next(chunks, None)
            if more is None:
                at_eof = True
            else:
                base += pos
                buf = buf[pos:] + more
                pos = 0
        if limit is None or limit >= count:
            rest = buf[pos:].strip(b"\n")
            if not rest:
                for more in chunks:
                    if more.strip(b"\n"):
                        rest = more
                        break
            if rest:
                raise source.error(
                    f"record {count + 1}",
                    f"the header announces {count} vectors but the file has more records",
                    "Fix the header count, or "
                    + advice().passing(source.name, "limit", count, "to read only the announced records"),
                )
        vectors = rows.result()
        repeats = [] if duplicates == "first" else None
        k2i = index_words(words, lambda i: source.error(f"record {i + 1}", *_duplicate(words, i, False, "record",
                                                                                          unicode_errors, source)),
                          repeats=repeats)
        if not words:
            raise source.error(None, "the file holds no vectors", "Check the path, or download the file again")
        if repeats:
            words, k2i, vectors = without_repeats(source, words, vectors, repeats, unit="record", first_no=1,
                                                  dropped=dropped)
        return words, k2i, vectors, want
    finally:
        chunks.close()
        if rows is not None:
            rows.close()


def _plausible(row: np.ndarray) -> bool:
    """Whether ``row`` looks like a real embedding: finite, no value above 1e3, no nonzero value below 1e-30."""
    if not np.isfinite(row).all():
        return False
    size = np.abs(row.astype(np.float64))
    return bool(size.max(initial=0.0) <= 1e3 and not ((size > 0) & (size < 1e-30)).any())


def _byteswapped(row: np.ndarray) -> bool:
    """Whether ``row`` (float32 read little-endian) is absurd but plausible with each float's bytes reversed."""
    return not _plausible(row) and _plausible(row.byteswap())


def _garbage_floats(source: Source, i: int, word: bytes, row: np.ndarray) -> VectorsFormatError:
    """The error for record ``i`` (from 0) of a word2vec binary file whose floats are nan/inf or absurd.

    Names the likely cause: a big-endian file (its floats are ordinary with
    their bytes reversed), or a file that is not word2vec binary at all.
    """
    where = f"record {i + 1} (word {word[:40]!r})"
    finite = bool(np.isfinite(row).all())
    what = "the vector holds nan or inf" if not finite else (
        f"the vector holds absurd values (such as {float(row[np.argmax(np.abs(row))]):.3g})")
    if _byteswapped(row):
        return source.error(
            where,
            f"{what}, but read with the bytes of each float reversed it holds ordinary values: the file is "
            "likely big-endian (written on a big-endian machine, or with numpy dtype '>f4'), while word2vec "
            "binary stores little-endian float32",
            "Convert it: read the vectors with numpy dtype '>f4' and write them again with gensim's "
            "KeyedVectors.save_word2vec_format(path, binary=True), or save them as word2vec text",
        )
    return source.error(
        where,
        f"{what}; nan/inf would poison every similarity and every model",
        "The file may not be word2vec binary (big-endian, another format, a wrong dimension in its header, or "
        "corrupt): check its format "
        f"({advice().setting('format', 'auto')} tells them apart), download it again, or fix or drop this vector",
    )


def _out_of_step(source: Source, i: int, word: bytes, dim: int) -> VectorsFormatError:
    """The error for record ``i`` (from 0) of a word2vec binary file whose ``word`` holds a newline or NUL."""
    return source.error(f"record {i + 1}", f"the word {word[:40]!r} holds binary bytes (a newline or NUL)",
                        _misaligned(dim))


def _misaligned(dim: int) -> str:
    """What to do when word2vec binary records are out of step: the vector bytes are not ``dim`` floats."""
    return (f"The bytes are the end of the previous vector: the header's dimension ({dim}) is wrong, or the file "
            "is corrupt. Fix the dimension in the header (the second number of line 1), or download the file again")


def _decodes(word: bytes) -> bool:
    try:
        word.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


# ----------------------------------------------------------------------------- fastText .bin

#: fastText's args after the magic number and version (12 int32 and a double), and before fastText 0.9
#: (no magic number: dim and ws first, then 10 int32 and a double)
_FASTTEXT_ARGS = {True: 12 * 4 + 8, False: 10 * 4 + 8}


def check_fasttext_bin(source: Source, path: Path) -> None:
    """Refuse a fastText ``.bin`` model at ``path`` that is truncated or not one, before gensim reads it.

    gensim's reader loops forever on a vocabulary cut short (a partial
    download: it reads a word byte by byte until a NUL that never comes),
    and allocates whatever sizes the header gives. This walks the
    structure gensim reads (header, vocabulary, input matrix) on a memory
    map: about a second for a two-million-word model. ``path`` is the
    uncompressed file (the loader decompresses a gzip, bz2 or zip model
    first); a compressed one is not checked.
    """
    import mmap
    import struct

    if sniff_container(path) != "plain":
        return
    size = path.stat().st_size

    def cut(what):
        return source.error(
            None, f"the fastText .bin model is truncated: it ends {what} ({size:,} bytes)",
            "Download it again (an interrupted download leaves such a file), or load its .vec text instead",
        )

    def other(why):
        return source.error(None, f"is not a fastText .bin model ({why})", "Check the format of the file")

    with open(path, "rb") as f:
        head = f.read(4)
        new = head == FASTTEXT_MAGIC
        if len(head) < 4 or not (new or 1 <= int.from_bytes(head, "little", signed=True) <= MAX_DIM):
            raise other("it does not start with fastText's magic number, nor with a dimension as models "
                        "before fastText 0.9 do")
        pos = 8 + _FASTTEXT_ARGS[new]
        if size < pos + 12 + 8 + 8 * new:  # vocabulary size, words, labels, ntokens, pruneidx_size (new format)
            raise cut("before the end of its header")
        with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mm:
            dim = struct.unpack_from("<i", mm, 8 if new else 0)[0]  # before 0.9, the dimension came first
            vocab_size = struct.unpack_from("<i", mm, pos)[0]
            if not 1 <= dim <= MAX_DIM or vocab_size < 0:
                raise other(f"its header gives dimension {dim} and {vocab_size} words")
            pos += 12 + 8 + 8 * new
            prune = struct.unpack_from("<q", mm, pos - 8)[0] if new else 0
            for i in range(vocab_size):
                end = mm.find(b"\x00", pos)
                if end < 0 or end + 10 > size:
                    raise cut(f"inside word {i + 1} of the {vocab_size:,} of its vocabulary")
                pos = end + 10  # the NUL, an int64 count and an int8 entry type
            pos += 8 * max(prune, 0) + new  # pruned indices; quant_input
            if pos + 16 > size:
                raise cut("before its vectors")
            rows, cols = struct.unpack_from("<2q", mm, pos)
            if rows < 0 or cols != dim:
                raise source.error(None, f"the fastText .bin model announces a {rows:,} x {cols:,} matrix for "
                                         f"dimension {dim}", "The file is corrupt; download it again")
            if pos + 16 + rows * cols * 4 > size:
                raise cut(f"inside its vectors, {rows:,} x {cols:,} announced")


# ----------------------------------------------------------------------------- writing


#: Output formats of :func:`write_vectors` by file suffix (``.gz``/``.bz2`` ignored).
_SUFFIX_FORMATS = {".bin": "word2vec-binary", ".kv": "native", ".txt": "word2vec", ".vec": "word2vec"}


#: Compression suffixes of a vectors file that the toolkit does not write or read: a .zip was plain text under
#: that name, an .xz file was written but load_vectors read it as text ("the first line has no values"), and
#: .zst / .lz4 failed with a traceback (gensim's writer asks smart_open for modules that are not installed).
UNWRITTEN_COMPRESSIONS = (".zip", ".xz", ".lzma", ".zst", ".zstd", ".lz4", ".7z")


def check_output_compression(output, to) -> None:
    """Refuse a vectors file name whose compression is not one the vectors readers take (``.gz``, ``.bz2``),
    and a compressed native (``.kv``) file, before anything is loaded or trained.

    Raises
    ------
    toolkit.exceptions.DataError
        Naming the file and the name to give instead.
    """
    from ..exceptions import DataError

    output = Path(output)
    compressed = next((s for s in output.suffixes[-1:] if s.lower() in (".gz", ".bz2")
                       + UNWRITTEN_COMPRESSIONS), None)
    if compressed is None or (to != "native" and compressed.lower() in (".gz", ".bz2")):
        return
    # a compressed .kv was written, then refused by load_vectors
    base = output.with_suffix("")
    if to == "native":
        kind, name = "a gensim native file (.kv) is read uncompressed", base
    else:
        kind = f"vectors are compressed with gzip (.gz) or bz2 (.bz2), not {compressed.lower().lstrip('.')}"
        name = base.with_name(base.name + ("" if base.suffix else ".vec") + ".gz")
    raise DataError(f"Cannot write {output}: it ends in {compressed}, but {kind}. Name it {name} instead.")


def format_for(path, default: str) -> str:
    """The output format a file name asks for: ``.bin`` word2vec binary, ``.txt``/``.vec`` text, ``.kv`` native."""
    suffixes = [s.lower() for s in Path(path).suffixes if s.lower() not in (".gz", ".bz2")]
    return _SUFFIX_FORMATS.get(suffixes[-1] if suffixes else "", default)


def _unwritable(key: str, fmt: str) -> str | None:
    """Why ``fmt`` cannot store ``key`` so that the readers give it back, or None."""
    if not key:
        return "is empty"
    if "\n" in key:
        return "contains a newline, which ends a record in every word-vector format"
    if fmt == "word2vec-binary" and " " in key:
        return ("contains a space, which word2vec binary cannot store: readers take the first space as the end "
                "of the word")
    if fmt == "glove" and " " in key:
        return ("contains a space, which GloVe text (no header line) cannot store reliably: readers infer the "
                "dimension from the lines")
    if fmt == "word2vec" and (key[0] == " " or key[-1] == " " or "  " in key):
        return ("starts or ends with a space or holds two in a row, which word2vec text cannot store: readers "
                "take a run of spaces as an empty field")
    return None


#: the command that runs each writer of :func:`check_keys_writable`, named in its errors on the command line
_COMMANDS = {"convert_vectors": "toolkit vectors convert", "train_word2vec": "toolkit vectors train"}


def check_keys_writable(keys, fmt: str, *, owner: str) -> None:
    """Refuse, before anything is written, a key that ``fmt`` cannot store so that the readers give it back.

    Words with single spaces inside (the toolkit's n-gram tokens, such as
    ``"not good"``) are fine in word2vec text, whose readers take the last
    ``dim`` fields of a line as the vector; word2vec binary and GloVe text
    cannot hold them. No format holds an empty word or a newline.

    Parameters
    ----------
    keys : sequence of str
    fmt : {"word2vec", "word2vec-binary", "glove", "native"}
        ``"native"`` (a pickle) stores any key.
    owner : str
        The function named in the error (on the command line, under
        :func:`spelled_as`, the command that runs it).

    Raises
    ------
    toolkit.exceptions.DataError
        Naming the first such key, its index and the format to use instead.
    """
    from ..exceptions import DataError

    if fmt == "native":
        return
    for i, key in enumerate(keys):
        if not isinstance(key, str):
            continue
        problem = _unwritable(key, fmt)
        if problem is None:
            continue
        to = f", or {advice().setting('to', 'word2vec')}" if owner == "convert_vectors" else ""  # the others have no to=
        fix = (f"Write word2vec text instead (a file name ending in .txt or .vec{to}), or rename "
               "the token" if " " in key.strip() and "\n" not in key and fmt != "word2vec"
               else "Rename or drop the token before writing")
        who = advice().terms(owner, _COMMANDS.get(owner, owner))  # the function, or the command that ran it
        raise worded_error(DataError, f"{who} cannot write the key {str(key)!r} (index {i}) as {fmt}: it {problem}. "
                                      f"{fix}.")


def write_vectors(kv, path, fmt: str, *, owner: str) -> None:
    """Write ``kv`` to ``path`` as word2vec text or binary or GloVe text, after :func:`check_keys_writable`.

    ``.gz`` / ``.bz2`` in ``path`` compress the output (gensim's writer).
    fastText vectors lose their subword vectors (these formats hold one
    vector per word): a warning says so.
    """
    check_keys_writable(kv.index_to_key, fmt, owner=owner)
    if getattr(kv, "bucket", 0) and hasattr(kv, "vectors_ngrams"):
        how = advice()
        logger.warning(
            "%s writes the %d word vectors of these fastText vectors as %s, without their subword vectors "
            "(%d n-gram buckets): loaded from that file, words outside the vocabulary (misspellings, rare words) "
            "get no vector. Keep the fastText .bin model for those%s",
            worded(how.terms(owner, _COMMANDS.get(owner, owner))), len(kv), fmt, kv.bucket,
            worded(how.terms(" (gensim.models.fasttext.save_facebook_model)", "")),
        )
    kv.save_word2vec_format(str(path), binary=fmt == "word2vec-binary", write_header=fmt != "glove")
