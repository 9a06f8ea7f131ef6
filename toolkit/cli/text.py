"""``toolkit tokenize`` and ``toolkit vectorize``: raw text to tokens, and tokens to id sequences or bags."""

from __future__ import annotations

import contextlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import typer

from .._atomic import atomic_output
from ..exceptions import DataError
from ._common import (
    _INPUT,
    OutputExistsError,
    _check_data,
    _check_output_file,
    _did_you_mean,
    _emit_text,
    _errors_to_exit,
    _info,
    _is_stdout,
    _jsonl,
    _opt_column,
    _opt_force,
    _opt_output,
    _progress,
    _read_texts,
    _settings,
    app,
)
from ._inputs import SettingError

__all__ = ["tokenize_texts", "Vectorized", "vectorize"]

logger = logging.getLogger(__name__)


#: Compressions the toolkit neither reads nor writes, and the pipe that gives them.
_UNWRITTEN_SUFFIXES = {".zst": "zstd", ".zstd": "zstd", ".lz4": "lz4", ".zip": "zip", ".7z": "7z"}


def _check_output_compression(output, option: str = "--output") -> None:
    """Refuse an output file whose suffix names a compression that is not written (``tokens.jsonl.zst``).

    Such a file was written as plain text under a compressed name: its decompressor then refused it.
    """
    if output is None or _is_stdout(output):
        return
    suffix = Path(output).suffix.lower()
    if suffix in _UNWRITTEN_SUFFIXES:
        raise SettingError(
            f"{option} {output}: the toolkit does not write {suffix} files, and plain text under that name "
            f"would not open. Name it .gz, .bz2 or .xz (compressed as the suffix says), or write to "
            f"standard output and compress it yourself, e.g. `... | {_UNWRITTEN_SUFFIXES[suffix]} ...`."
        )


def _check_tokens_name(output) -> None:
    """Refuse a ``toolkit tokenize --output`` named as a table (``tokens.csv``, ``.tsv``, also compressed).

    The tokens are JSON lines whatever the name: ``-o tokens.csv`` wrote a JSON list per line into it, which
    ``pandas.read_csv`` or a spreadsheet reads as columns of brackets and quoted tokens (exit 0).
    """
    from ._inputs import TABLE_SUFFIXES, _data_suffix, _uncompressed_name

    if output is None or _is_stdout(output) or _data_suffix(output) not in TABLE_SUFFIXES:
        return
    output = Path(output)
    plain = _uncompressed_name(output)
    jsonl = plain.with_suffix(".jsonl").name + output.name[len(plain.name):]
    raise SettingError(
        f"--output {output}: toolkit tokenize writes JSON lines (one JSON list of tokens per document), not a "
        f"{_data_suffix(output)[1:].upper()} table; name the output .jsonl (-o {jsonl})."
    )


def _emit_data(text: str, output) -> None:
    """Write data as ``_emit_text`` does, compressed when ``output``'s suffix says so.

    ``tokens.jsonl.gz``, ``predictions.csv.bz2``, ``.xz``: the file is gzip, bz2 or xz compressed, as the
    toolkit's readers (and ``zcat``) expect of those names; it held plain text before. Standard output and
    other names get the plain text.
    """
    from ..data.datasets import COMPRESSED_SUFFIXES  # what the readers decompress

    suffix = "" if output is None or _is_stdout(output) else Path(output).suffix.lower()
    if suffix not in COMPRESSED_SUFFIXES:
        _emit_text(text, output)
        return
    import bz2
    import gzip
    import lzma

    data = text.encode("utf-8")
    if suffix == ".gz":
        data = gzip.compress(data, mtime=0)  # mtime 0: the same text gives the same bytes
    elif suffix == ".bz2":
        data = bz2.compress(data)
    else:
        data = lzma.compress(data)
    with atomic_output(output) as tmp:
        tmp.write_bytes(data)
    _info(f"Wrote {output}")


def _tokenizer(**params):
    """A SpacyTokenizer with ``params``; an unknown name is a :class:`SettingError` listing the valid ones."""
    from ..text.tokenizer import SpacyTokenizer

    valid = sorted(SpacyTokenizer().get_params(deep=False))
    unknown = [key for key in params if key not in valid]
    if unknown:  # named here: set_params' message shows the half-set tokenizer, SpacyTokenizer(progress=True)
        raise SettingError(
            f"Invalid parameter {unknown[0]!r} for estimator SpacyTokenizer{_did_you_mean(unknown[0], valid)}"
            f". Valid parameters are: {valid}."
        )
    try:
        return SpacyTokenizer().set_params(**params)
    except ValueError as err:
        raise SettingError(str(err)) from err


#: How the commands with --set and --skip-bad raise the tokenizer's max_length and skip a too long document
_RAISE_LIMIT = "raise it with --set max_length=..."
_SKIP = "pass --skip-bad"


@contextlib.contextmanager
def _documents_named(source, *, raise_limit=_RAISE_LIMIT, skip=_SKIP):
    """Turn a tokenizer's error about "Document i of X" in the block into one naming the line or record of
    ``source`` (the command's input, as :func:`~toolkit.cli._inputs.read_input` read it), its advice about a
    too long document in the command's options (``raise_limit``, ``skip``: None for a command without
    them; :func:`~toolkit.text.tokenizer.reword_too_long`)."""
    from ..exceptions import DocumentError
    from ..text.tokenizer import reword_too_long
    from ._inputs import describe_input_document

    try:
        yield
    except DocumentError as err:
        if err.document_index is None:
            raise
        where = describe_input_document(source, err.document_index)
        named = DocumentError(reword_too_long(str(err), raise_limit=raise_limit, skip=skip),
                              document_index=err.document_index)
        raise DocumentError(named.naming(where[0].upper() + where[1:]), document_index=err.document_index) from err


def tokenize_texts(texts, **params):
    """Tokenize raw texts with :class:`toolkit.text.SpacyTokenizer`.

    Parameters
    ----------
    texts : iterable of str
    **params
        SpacyTokenizer parameters (``lowercase``, ``ngram_range``, ``analyzer``,
        ``progress``, ``errors``...), set with ``set_params`` so an unknown
        name raises a :class:`SettingError` (a ValueError) listing the valid ones.

    Returns
    -------
    toolkit.text.TokenizedCorpus

    Examples
    --------
    >>> list(tokenize_texts(["A great film!"], remove_punct=True))
    [['a', 'great', 'film']]
    """
    return _tokenizer(**params).fit_transform(texts)


def _skip_params(skip_bad: bool) -> dict:
    """``errors="skip"`` for ``--skip-bad``, or an error naming what is missing."""
    if not skip_bad:
        return {}
    from ..text.tokenizer import SpacyTokenizer

    if "errors" not in SpacyTokenizer().get_params():
        raise SettingError("--skip-bad needs SpacyTokenizer(errors='skip'), which this toolkit version lacks.")
    return {"errors": "skip"}


@dataclass
class Vectorized:
    """What :func:`vectorize` returns: the matrix, the fitted encoder and its vocabulary.

    ``tokenizer_params`` (the tokenizer settings that decide the tokens: those
    of :attr:`~toolkit.text.TokenizedCorpus.tokenizer_params` and a word
    ``ngram_range``) go into the vocabulary JSON, under ``"tokenizer"``,
    where ``--use-vocabulary`` compares them with its run's.
    """

    matrix: object
    encoder: object
    vocabulary: object = None
    tokenizer_params: dict | None = None

    def save(self, path, *, vocabulary_path=None):
        """Write the matrix to ``path`` (.npz) and the vocabulary as JSON, atomically.

        Padded id sequences go to ``np.savez_compressed`` under the key ``x``;
        sparse bag matrices to :func:`scipy.sparse.save_npz`. The vocabulary
        goes next to it (``<stem>.vocab.json``) unless ``vocabulary_path``
        says otherwise.

        Returns
        -------
        dict of str to pathlib.Path

        Raises
        ------
        ValueError
            If ``vocabulary_path`` is the matrix file itself.
        """
        path = _npz_path(path)
        vpath = Path(vocabulary_path) if vocabulary_path else path.with_name(path.stem + ".vocab.json")
        if self.vocabulary is not None and vpath.expanduser().resolve() == path.expanduser().resolve():
            raise ValueError(f"vocabulary_path {vpath} is also the matrix file; the vocabulary JSON would replace "
                             "the matrix. Give another vocabulary_path (default: <stem>.vocab.json).")
        files = {"matrix": path}
        # both files are complete before either is renamed: a failed write (a full disk, Ctrl-C) leaves the
        # previous matrix and vocabulary as they were, never a new matrix beside an old vocabulary
        with atomic_output(path) as tmp:
            self.write_matrix(tmp)
            if self.vocabulary is not None:
                with atomic_output(vpath) as vtmp:
                    self.write_vocabulary(vtmp)
                files["vocabulary"] = vpath
        return files

    def write_vocabulary(self, path) -> None:
        """Write the vocabulary JSON to ``path``, with the tokenizer settings of the run under ``"tokenizer"``
        and what each column (bags: ``"columns"``) or id (sequences: ``"ids"``) of the matrix stands for.

        ``"tokens"`` (the :meth:`~toolkit.text.Vocabulary.to_dict` format) leaves out the reserved tokens:
        its first token is id 2 of a sequence and column 1 of a bag (column 0 counts ``<unk>``), so a shell
        user reading a column's word off ``tokens[j]`` was one (two) off. ``columns[j]`` is column ``j``'s
        token, ``ids[i]`` id ``i``'s; :meth:`~toolkit.text.Vocabulary.from_dict` ignores both keys.
        """
        from ..text.encoders import BagEncoder
        from ..text.vocabulary import json_extra

        tokens = list(self.vocabulary.tokens)
        extra = {} if self.tokenizer_params is None else {"tokenizer": self.tokenizer_params}
        if isinstance(self.encoder, BagEncoder):
            extra["columns"] = tokens[1:]  # BagEncoder.get_feature_names_out: <unk>, then the tokens
        else:
            extra["ids"] = tokens  # <pad>, <unk>, then the tokens
        with json_extra(**extra):
            self.vocabulary.to_json(path)

    def write_matrix(self, file) -> None:
        """Write the matrix as .npz to a path or binary file object (sparse: :func:`scipy.sparse.save_npz`)."""
        import numpy as np
        import scipy.sparse as sp

        if isinstance(file, (str, os.PathLike)):  # numpy adds .npz to a path not ending in it (seqs.NPZ): its
            with open(file, "wb") as fh:  # file was then seqs.NPZ.npz, and the path itself stayed empty
                self.write_matrix(fh)
            return
        if sp.issparse(self.matrix):
            sp.save_npz(file, sp.csr_matrix(self.matrix), compressed=True)
        else:
            np.savez_compressed(file, x=np.asarray(self.matrix))


def _setting(name: str, value) -> str:
    """``--set name=value`` as a shell word (``'ngram_range=(1,2)'``)."""
    import shlex

    if isinstance(value, tuple):
        value = "(" + ",".join(map(str, value)) + ")"
    return "--set " + shlex.quote(f"{name}={value if isinstance(value, str) else repr(value)}")


def _vocabulary_settings(tokenizer: dict) -> dict:
    """The settings of a SpacyTokenizer of parameters ``tokenizer`` that decide the tokens of a vocabulary, as
    ``toolkit vectorize`` records them: :attr:`~toolkit.text.TokenizedCorpus.tokenizer_params`, and a word
    ``ngram_range`` other than (1, 1)."""
    from ..text.tokenizer import _token_settings

    tok = _tokenizer(**tokenizer)
    tok._validate()
    settings = dict(_token_settings(tok))
    if tok.analyzer == "word" and tuple(tok.ngram_range) != (1, 1):
        settings["ngram_range"] = tuple(int(n) for n in tok.ngram_range)
    return settings


def _is_folder(model) -> bool:
    """Whether the ``model`` setting names a pipeline folder (a path), not ``"blank:<lang>"`` or a package name."""
    if not isinstance(model, str) or not model:  # (no model recorded: the default, "blank:en")
        return False
    return any(sep in model for sep in ("/", "\\", "~")) or Path(model).is_dir()


def _check_same_tokenizer(recorded, tokenizer: dict, path) -> None:
    """Raise a DataError when the tokenizer settings ``tokenizer`` (SpacyTokenizer parameters) make other tokens
    than those ``recorded`` in the vocabulary JSON ``path`` (None: a file that records none, left unchecked).

    Tokens of other settings (``model='blank:es'`` against English rules, ``lowercase=False`` against
    lower-cased tokens) get other ids, or ``<unk>``, with nothing to show for it. A ``model`` that names a
    pipeline folder is not compared (another path may name the same folder, or a copy of it).
    """
    from ..text.tokenizer import _token_defaults

    if not isinstance(recorded, dict):
        return
    before = {name: tuple(value) if isinstance(value, list) else value for name, value in recorded.items()}
    try:
        now = _vocabulary_settings(tokenizer)
    except ValueError:
        return  # the tokenization that follows names the bad parameter
    if now == before:
        return
    defaults = _token_defaults()
    names = sorted(set(before) | set(now))
    differ = [name for name in names
              if name in defaults and before.get(name, defaults[name]) != now.get(name, defaults[name])]
    if "model" in differ and any(_is_folder(settings.get("model", "")) for settings in (before, now)):
        differ.remove("model")  # a pipeline folder: the same one may be named by another path (or moved)
    if not differ:
        return

    then = {name: before.get(name, defaults[name]) for name in differ}
    shown = ", ".join(f"{name}={value!r}" for name, value in then.items())
    raise DataError(
        f"{path} was written by a run whose tokenizer had {shown}; this run's has "
        f"{', '.join(f'{name}={now.get(name, defaults[name])!r}' for name in differ)}. Its tokens would differ "
        "from those the vocabulary holds: other ids, or <unk> for the tokens it lacks. Tokenize as that run did: "
        f"tokenizer={then!r} ({' '.join(_setting(name, value) for name, value in then.items())})."
    )


def _npz_path(path) -> Path:
    path = Path(path)
    return path if path.suffix.lower() == ".npz" else path.with_name(path.name + ".npz")


def _check_npz_name(output: Path) -> None:
    """Refuse an ``--output`` whose suffix is not ``.npz`` (``seqs.csv``, ``x.npy``, ``m.npz.gz``).

    The matrix is a NumPy ``.npz`` archive whatever the name: ``-o seqs.csv`` wrote ``seqs.csv.npz`` (named
    on stdout only), and the ``seqs.csv`` a script then read was missing, or an older file. A name without a
    suffix gets ``.npz``, as :func:`numpy.savez` adds it.
    """
    from ..data.datasets import COMPRESSED_SUFFIXES

    suffix = output.suffix
    if not suffix or suffix.lower() == ".npz":
        return
    stem = output.name[: -len(suffix)]
    if suffix.lower() in COMPRESSED_SUFFIXES and Path(stem).suffix.lower() == ".npz":
        what = f"{suffix} compression: the .npz archive is compressed already"
    else:
        what = f"a {suffix} file"
    raise SettingError(
        f"--output {output}: toolkit vectorize writes the matrix as a NumPy .npz archive (numpy.load(...)['x']; "
        f"the bag modes: scipy.sparse.load_npz), not {what}. Give a name ending in .npz "
        f"(-o {output.with_name(Path(stem).stem if suffix.lower() in COMPRESSED_SUFFIXES else stem)}.npz)."
    )


def vectorize(texts, *, output_mode="int", max_tokens=None, min_count=1, maxlen=None, padding="pre",
              truncating="pre", tokenizer=None, n_features=None, vocabulary=None) -> Vectorized:
    """Raw texts to padded id sequences or bag-of-words matrices.

    The Keras ``Tokenizer`` + ``pad_sequences`` workflow:
    :class:`~toolkit.text.tokenizer.SpacyTokenizer` then
    :class:`~toolkit.text.encoders.SequenceEncoder` (``output_mode="int"``),
    :class:`~toolkit.text.encoders.BagEncoder` (``"multi_hot"``, ``"count"``,
    ``"tf_idf"``) or, for the hashing trick,
    :class:`~toolkit.text.encoders.HashingEncoder` (``"hashing"``: token
    counts in ``n_features`` hashed columns, no vocabulary).

    Parameters
    ----------
    texts : iterable of str
    output_mode : {"int", "multi_hot", "count", "tf_idf", "hashing"}, default="int"
    max_tokens, min_count : see :class:`~toolkit.text.vocabulary.Vocabulary`
        (not with ``"hashing"``, which has no vocabulary).
    maxlen, padding, truncating : see :func:`~toolkit.text.vocabulary.pad_sequences`
        (``output_mode="int"`` only).
    tokenizer : dict, optional
        SpacyTokenizer parameters.
    n_features : int >= 1, optional
        Columns of the ``"hashing"`` matrix (default ``2**20``, as
        scikit-learn's ``HashingVectorizer``); only with ``"hashing"``.
    vocabulary : Vocabulary or path-like, optional
        Encode with this vocabulary (or the JSON file of one, such as an
        earlier run saved) instead of fitting one: new texts, a test set,
        get the ids and columns of the training run, as Keras'
        ``texts_to_sequences`` of a fitted ``Tokenizer``. Not with
        ``max_tokens`` / ``min_count``, ``"tf_idf"`` (the idf needs the
        training texts) or ``"hashing"``. Give ``maxlen`` too: without it
        the rows are as long as the longest of these texts. A file saved by
        :meth:`Vectorized.save` records the tokenizer settings of its run;
        ``tokenizer`` settings that make other tokens raise a DataError.

    Returns
    -------
    Vectorized
        With ``"hashing"``, ``vocabulary`` is None.

    Raises
    ------
    ValueError
        An unknown ``output_mode``, ``n_features`` without ``"hashing"``,
        ``max_tokens`` / ``min_count`` with it, ``maxlen`` / ``padding`` /
        ``truncating`` with any mode but ``"int"``, or an encoder parameter
        out of range (checked before the texts are tokenized).
    DataError
        A ``vocabulary`` file that is not a vocabulary JSON, or one whose
        recorded tokenizer settings differ from ``tokenizer``'s.
    """
    from .._validation import Options, validate_param, validate_params
    from ..text.encoders import (
        _TF_IDF_NEEDS_TEXTS,
        BagEncoder,
        HashingEncoder,
        SequenceEncoder,
        _with_vocabulary,
    )
    from ..text.vocabulary import Vocabulary

    validate_param(output_mode, [Options({"int", "multi_hot", "count", "tf_idf", "hashing"})], name="output_mode",
                   owner="vectorize")
    if n_features is not None and output_mode != "hashing":
        raise ValueError(f"n_features (--n-features) sets the columns of the hashing trick; output_mode is "
                         f"{output_mode!r}. Use output_mode='hashing' (--output-mode hashing), or drop n_features.")
    if output_mode == "hashing" and (max_tokens is not None or min_count != 1):
        raise ValueError("output_mode='hashing' has no vocabulary, so max_tokens / min_count (--max-tokens, "
                         "--min-count) do not apply; size the matrix with n_features (--n-features) instead.")
    padded = {"maxlen": (maxlen, None), "padding": (padding, "pre"), "truncating": (truncating, "pre")}
    given = [name for name, (value, default) in padded.items() if value != default]
    if output_mode != "int" and given:  # a bag matrix has one column per token: nothing to pad or cut
        raise ValueError(
            f"{' / '.join(given)} ({', '.join('--' + name for name in given)}) only "
            f"{'apply' if len(given) > 1 else 'applies'} to the padded id "
            f"sequences of output_mode='int'; output_mode is {output_mode!r}, whose rows are bags of tokens, "
            f"with nothing to pad or truncate. Use output_mode='int' (--output-mode int), or drop "
            f"{'them' if len(given) > 1 else 'it'}."
        )
    if output_mode == "hashing":
        encoder = HashingEncoder(**({} if n_features is None else {"n_features": n_features}))
    elif output_mode == "int":
        encoder = SequenceEncoder(max_tokens=max_tokens, min_count=min_count, maxlen=maxlen, padding=padding,
                                  truncating=truncating)
    else:
        encoder = BagEncoder(output_mode=output_mode, max_tokens=max_tokens, min_count=min_count)
    # the encoder's parameters (--max-tokens 2, --padding middle) are checked now, not after the tokenization
    validate_params(encoder, encoder._parameter_constraints)
    if vocabulary is not None:
        if output_mode == "hashing":
            raise ValueError("output_mode='hashing' has no vocabulary: it hashes tokens to the same columns in "
                             "every run. Drop the vocabulary (--use-vocabulary).")
        if max_tokens is not None or min_count != 1:
            raise ValueError("max_tokens / min_count (--max-tokens, --min-count) choose the tokens of a vocabulary "
                             "being fitted; the saved vocabulary (--use-vocabulary) has its tokens already. Drop them.")
        if output_mode == "tf_idf":
            raise ValueError(_TF_IDF_NEEDS_TEXTS)
        if not isinstance(vocabulary, Vocabulary):
            path = vocabulary
            vocabulary, data = Vocabulary._read_json(path)
            _check_same_tokenizer(data.get("tokenizer"), tokenizer or {}, path)
    tokens = tokenize_texts(texts, **(tokenizer or {}))
    if vocabulary is None:
        matrix = encoder.fit_transform(tokens)
        recorded = None if output_mode == "hashing" else _vocabulary_settings(tokenizer or {})
        return Vectorized(matrix, encoder, getattr(encoder, "vocabulary_", None), recorded)
    matrix = _with_vocabulary(encoder, vocabulary, tokens).transform(tokens)
    if output_mode == "int" and maxlen is None:
        logger.warning("The rows are as long as the longest of these texts, %d tokens: a model trained on the "
                       "vocabulary's run takes rows of that run's length. Give its maxlen (--maxlen) to get "
                       "them.", encoder.maxlen_)
    return Vectorized(matrix, encoder, getattr(encoder, "vocabulary_", None))


_opt_skip_bad = typer.Option(
    False, "--skip-bad", help="Skip documents that cannot be tokenized (longer than max_length): they get no "
    "tokens, and their indices are logged on stderr.",
)


_opt_use_vocabulary = typer.Option(
    None, "--use-vocabulary", help="Encode with this saved vocabulary JSON (the .vocab.json of an earlier run, on "
    "the training texts, say) instead of fitting one: the same ids and columns. Give that run's --maxlen and --set "
    "options too (other tokenizer settings than those the file records are refused). Writes no vocabulary.",
)


@app.command("tokenize")
@_errors_to_exit
def tokenize_cmd(
    source: str = typer.Argument("-", help=_INPUT),
    column: str = _opt_column,
    output: Path = _opt_output,
    force: bool = _opt_force,
    skip_bad: bool = _opt_skip_bad,
    settings: list[str] = typer.Option(
        None, "--set", help="SpacyTokenizer parameter as key=value (repeatable), e.g. ngram_range=(1,2)."
    ),
) -> None:
    """Tokenize raw text with spaCy; write one JSON token list per document (JSONL).

    An --output named .gz, .bz2 or .xz (tokens.jsonl.gz) is written compressed.
    """
    _check_data(source)
    _check_output_file(output, force=force)
    _check_output_compression(output)
    _check_tokens_name(output)
    tokenizer = _tokenizer(**{"progress": _progress(), **_skip_params(skip_bad), **_settings(settings)})
    texts = _read_texts(source, column=column)
    with _documents_named(source):
        corpus = tokenizer.fit_transform(texts)  # skipped documents: the tokenizer logs their indices
    _emit_data(_jsonl(list(doc) for doc in corpus), output)


@app.command("vectorize")
@_errors_to_exit
def vectorize_cmd(
    source: str = typer.Argument("-", help=_INPUT),
    output: Path = typer.Option(..., "--output", "-o",
                                help="Matrix file (.npz), written atomically; '-' writes the .npz to stdout."),
    force: bool = _opt_force,
    output_mode: str = typer.Option(
        "int", "--output-mode", help="int (padded ids), multi_hot, count, tf_idf or hashing (the hashing trick: "
        "hashed token counts, no vocabulary)."
    ),
    n_features: int = typer.Option(None, "--n-features", min=1,
                                   help="Columns of the hashing trick (--output-mode hashing); default 2**20."),
    max_tokens: int = typer.Option(None, "--max-tokens", min=1, help="Vocabulary size including <pad> and <unk>."),
    min_count: int = typer.Option(1, "--min-count", min=1, help="Minimum count for a token to get an id."),
    maxlen: int = typer.Option(None, "--maxlen", min=1, help="Padded length (int mode); default: longest document."),
    padding: str = typer.Option("pre", "--padding", help="pre or post (int mode)."),
    truncating: str = typer.Option("pre", "--truncating", help="pre or post (int mode)."),
    vocabulary_path: Path = typer.Option(
        None, "--vocabulary", help="Vocabulary JSON (default: <output>.vocab.json; none with '-o -' unless given); "
        "its 'columns' (bags) or 'ids' (int) list is the token of each matrix column or id."
    ),
    use_vocabulary: Path = _opt_use_vocabulary,
    column: str = _opt_column,
    skip_bad: bool = _opt_skip_bad,
    settings: list[str] = typer.Option(None, "--set", help="SpacyTokenizer parameter as key=value (repeatable)."),
) -> None:
    """Turn text into padded id sequences (.npz, key 'x') plus a vocabulary JSON, or a sparse bag matrix."""
    import io
    import sys

    _check_data(source)
    to_stdout = _is_stdout(output)
    if to_stdout and sys.stdout is not None and sys.stdout.isatty():
        # as gzip and zstd refuse: binary bytes on a terminal are garbage, and can garble the terminal itself
        raise DataError("-o -: the .npz matrix is binary and standard output is a terminal. Redirect it "
                        "(`-o - > matrix.npz`), pipe it to a program, or give a file name (-o matrix.npz).")
    if output_mode == "hashing" and vocabulary_path is not None:
        raise ValueError("--output-mode hashing has no vocabulary to write; drop --vocabulary.")
    if use_vocabulary is not None:
        if vocabulary_path is not None:
            raise DataError(f"--vocabulary names the vocabulary this run writes, --use-vocabulary the one it reads "
                            f"({use_vocabulary}); a run that reads one writes none. Drop --vocabulary.")
        if not use_vocabulary.is_file():
            raise DataError(f"--use-vocabulary {use_vocabulary}: no such file. Give the .vocab.json that "
                            "`toolkit vectorize` wrote next to the training matrix.")
    given_vocabulary = vocabulary_path  # (not the default name)
    if not to_stdout:
        _check_npz_name(output)
        output = _npz_path(output)
        if vocabulary_path is None and output_mode != "hashing" and use_vocabulary is None:
            vocabulary_path = output.with_name(output.stem + ".vocab.json")
    if (not to_stdout and vocabulary_path is not None
            and Path(vocabulary_path).expanduser().resolve() == Path(output).expanduser().resolve()):
        raise DataError(f"--vocabulary {vocabulary_path} is also the --output file; the vocabulary JSON would "
                        "replace the matrix. Give another --vocabulary name (default: <output>.vocab.json).")
    _check_output_file(output, force=force)
    if given_vocabulary is not None and not force and given_vocabulary.expanduser().is_file():
        # --force would replace a vocabulary the user may have meant to read (a test set encoded like the training)
        raise OutputExistsError(f"--vocabulary {given_vocabulary} exists; pass --force to replace it, or choose "
                                "another name. To encode these texts with that vocabulary (the ids of the run that "
                                "wrote it), give it to --use-vocabulary instead.")
    _check_output_file(vocabulary_path, force=force, option="--vocabulary")
    texts = _read_texts(source, column=column)
    with _documents_named(source):
        result = vectorize(
            texts, output_mode=output_mode, max_tokens=max_tokens, min_count=min_count, maxlen=maxlen,
            padding=padding, truncating=truncating, n_features=n_features, vocabulary=use_vocabulary,
            tokenizer={"progress": _progress(), **_skip_params(skip_bad), **_settings(settings)},
        )
    vocab = "" if result.vocabulary is None else f", vocabulary of {len(result.vocabulary)}"
    _info(f"{output_mode} matrix of shape {tuple(result.matrix.shape)}{vocab}")
    if to_stdout:
        buffer = io.BytesIO()
        result.write_matrix(buffer)
        sys.stdout.buffer.write(buffer.getvalue())
        sys.stdout.flush()
        if vocabulary_path is not None and result.vocabulary is not None:
            with atomic_output(vocabulary_path) as tmp:
                result.write_vocabulary(tmp)
            _info(f"Wrote {vocabulary_path}")
        return
    if use_vocabulary is not None:  # the vocabulary read is not written again
        result = Vectorized(result.matrix, result.encoder)
    for path in result.save(output, vocabulary_path=vocabulary_path).values():
        typer.echo(str(path))
