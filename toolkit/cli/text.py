"""``toolkit tokenize`` and ``toolkit vectorize``: raw text to tokens, and tokens to id sequences or bags."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import typer

from .._atomic import atomic_output
from ._common import (
    _INPUT,
    _emit_text,
    _errors_to_exit,
    _info,
    _jsonl,
    _opt_column,
    _opt_output,
    _progress,
    _read_texts,
    _settings,
    app,
)

__all__ = ["tokenize_texts", "Vectorized", "vectorize"]

logger = logging.getLogger(__name__)

def tokenize_texts(texts, **params):
    """Tokenize raw texts with :class:`toolkit.tokenization.SpacyTokenizer`.

    Parameters
    ----------
    texts : iterable of str
    **params
        SpacyTokenizer parameters (``lowercase``, ``ngram_range``, ``analyzer``,
        ``progress``...), set with ``set_params`` so an unknown name raises a
        ValueError listing the valid ones.

    Returns
    -------
    toolkit.corpus.TokenizedCorpus
    """
    from ..text.tokenizer import SpacyTokenizer

    return SpacyTokenizer().set_params(**params).fit_transform(texts)


@dataclass
class Vectorized:
    """What :func:`vectorize` returns: the matrix, the fitted encoder and its vocabulary."""

    matrix: object
    encoder: object
    vocabulary: object = None

    def save(self, path, *, vocabulary_path=None):
        """Write the matrix to ``path`` (.npz) and the vocabulary as JSON, atomically.

        Padded id sequences go to ``np.savez_compressed`` under the key ``x``;
        sparse bag matrices to :func:`scipy.sparse.save_npz`. The vocabulary
        goes next to it (``<stem>.vocab.json``) unless ``vocabulary_path``
        says otherwise.

        Returns
        -------
        dict of str to pathlib.Path
        """
        import numpy as np
        import scipy.sparse as sp

        path = Path(path)
        if path.suffix != ".npz":
            path = path.with_name(path.name + ".npz")
        files = {"matrix": path}
        with atomic_output(path) as tmp:
            if sp.issparse(self.matrix):
                sp.save_npz(tmp, sp.csr_matrix(self.matrix), compressed=True)
            else:
                np.savez_compressed(tmp, x=np.asarray(self.matrix))
        if self.vocabulary is not None:
            vpath = Path(vocabulary_path) if vocabulary_path else path.with_name(path.stem + ".vocab.json")
            with atomic_output(vpath) as tmp:
                self.vocabulary.to_json(tmp)
            files["vocabulary"] = vpath
        return files


def vectorize(texts, *, output_mode="int", max_tokens=None, min_count=1, maxlen=None, padding="pre",
              truncating="pre", tokenizer=None) -> Vectorized:
    """Raw texts to padded id sequences or bag-of-words matrices.

    The Keras ``Tokenizer`` + ``pad_sequences`` workflow:
    :class:`~toolkit.tokenization.SpacyTokenizer` then
    :class:`~toolkit.encoders.SequenceEncoder` (``output_mode="int"``) or
    :class:`~toolkit.encoders.BagEncoder` (``"multi_hot"``, ``"count"``,
    ``"tf_idf"``).

    Parameters
    ----------
    texts : iterable of str
    output_mode : {"int", "multi_hot", "count", "tf_idf"}, default="int"
    max_tokens, min_count : see :class:`~toolkit.vocabulary.Vocabulary`
    maxlen, padding, truncating : see :func:`~toolkit.vocabulary.pad_sequences`
        (``output_mode="int"`` only).
    tokenizer : dict, optional
        SpacyTokenizer parameters.

    Returns
    -------
    Vectorized
    """
    from ..text.encoders import BagEncoder, SequenceEncoder

    modes = ("int", "multi_hot", "count", "tf_idf")
    if output_mode not in modes:
        raise ValueError(
            f"The 'output_mode' parameter of vectorize must be a str among {{{', '.join(map(repr, modes))}}}. "
            f"Got {output_mode!r} instead."
        )
    tokens = tokenize_texts(texts, **(tokenizer or {}))
    if output_mode == "int":
        encoder = SequenceEncoder(max_tokens=max_tokens, min_count=min_count, maxlen=maxlen, padding=padding,
                                  truncating=truncating)
    else:
        encoder = BagEncoder(output_mode=output_mode, max_tokens=max_tokens, min_count=min_count)
    matrix = encoder.fit_transform(tokens)
    return Vectorized(matrix, encoder, getattr(encoder, "vocabulary_", None))


@app.command("tokenize")
@_errors_to_exit
def tokenize_cmd(
    source: str = typer.Argument("-", help=_INPUT),
    column: str = _opt_column,
    output: Path = _opt_output,
    settings: list[str] = typer.Option(
        None, "--set", help="SpacyTokenizer parameter as key=value (repeatable), e.g. ngram_range=(1,2)."
    ),
) -> None:
    """Tokenize raw text with spaCy; write one JSON token list per document (JSONL)."""
    
    texts = _read_texts(source, column=column)
    corpus = tokenize_texts(texts, **{"progress": _progress(), **_settings(settings)})
    _emit_text(_jsonl(list(doc) for doc in corpus), output)


@app.command("vectorize")
@_errors_to_exit
def vectorize_cmd(
    source: str = typer.Argument("-", help=_INPUT),
    output: Path = typer.Option(..., "--output", "-o", help="Matrix file (.npz), written atomically."),
    output_mode: str = typer.Option("int", "--output-mode", help="int (padded ids), multi_hot, count or tf_idf."),
    max_tokens: int = typer.Option(None, "--max-tokens", help="Vocabulary size including <pad> and <unk>."),
    min_count: int = typer.Option(1, "--min-count", help="Minimum count for a token to get an id."),
    maxlen: int = typer.Option(None, "--maxlen", help="Padded length (int mode); default: longest document."),
    padding: str = typer.Option("pre", "--padding", help="pre or post."),
    truncating: str = typer.Option("pre", "--truncating", help="pre or post."),
    vocabulary_path: Path = typer.Option(None, "--vocabulary", help="Vocabulary JSON (default: <output>.vocab.json)."),
    column: str = _opt_column,
    settings: list[str] = typer.Option(None, "--set", help="SpacyTokenizer parameter as key=value (repeatable)."),
) -> None:
    """Turn text into padded id sequences (.npz, key 'x') plus a vocabulary JSON, or a sparse bag matrix."""
    
    texts = _read_texts(source, column=column)
    result = vectorize(
        texts, output_mode=output_mode, max_tokens=max_tokens, min_count=min_count, maxlen=maxlen,
        padding=padding, truncating=truncating, tokenizer={"progress": _progress(), **_settings(settings)},
    )
    files = result.save(output, vocabulary_path=vocabulary_path)
    vocab = "" if result.vocabulary is None else f", vocabulary of {len(result.vocabulary)}"
    _info(f"{output_mode} matrix of shape {tuple(result.matrix.shape)}{vocab}")
    for path in files.values():
        typer.echo(str(path))

