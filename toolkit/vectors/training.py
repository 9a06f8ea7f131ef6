"""Domain word vectors: word2vec trained on the user's own texts, saved to load exactly like GloVe."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from .._atomic import atomic_output, nearest_existing_parent
from .._validation import Interval, Options
from ..exceptions import DataError
from . import _parse
from .loading import _check

__all__ = ["train_word2vec"]

logger = logging.getLogger(__name__)


# ----------------------------------------------------------------------------- training


def check_word2vec_params(*, vector_size=100, window=5, min_count=5, epochs=5, sg=0, workers=1, seed=0,
                          output=None, progress=False) -> None:
    """Refuse :func:`train_word2vec` parameters out of range before any corpus is tokenized (the CLI's
    ``vectors train`` calls it first); the same checks and wording as :func:`train_word2vec`."""
    _check(
        "train_word2vec",
        vector_size=(vector_size, [Interval(int, 1, _parse.MAX_DIM)]),
        window=(window, [Interval(int, 1, None)]),
        min_count=(min_count, [Interval(int, 1, None)]),
        epochs=(epochs, [Interval(int, 1, None)]),
        sg=(sg, [Options({0, 1})]),
        workers=(workers, [Interval(int, 1, None)]),
        seed=(seed, [Interval(int, 0, None)]),
        output=(output, [str, os.PathLike, None]),
        progress=(progress, ["boolean"]),
    )


def train_word2vec(
    corpus,
    *,
    vector_size=100,
    window=5,
    min_count=5,
    epochs=5,
    sg=0,
    workers=1,
    seed=0,
    output=None,
    progress=False,
):
    """Train gensim Word2Vec on token lists; optionally save them in a format :func:`load_vectors` reads.

    Parameters
    ----------
    corpus : TokenizedCorpus or sequence of list of str
        E.g. the tokenized unlabelled IMDB reviews.
    vector_size, window, min_count, epochs, sg : int
        As gensim's ``Word2Vec`` (``sg=1`` is skip-gram, 0 CBOW).
    workers : int, default=1
        Training threads. With 1 (the default, as for the domain vectors of
        :mod:`toolkit.vectors.domain`), every run gives the same vectors, in
        any process and whatever ``PYTHONHASHSEED`` (gensim 4.4). With more,
        training is faster on large corpora, but the result varies between
        runs even with the same ``seed`` (gensim's own caveat; on 5,000 IMDB
        reviews the same word's vectors of two runs had a median cosine of
        0.89).
    seed : int, default=0
    output : path-like, optional
        Write the vectors there (atomically), so :func:`load_vectors` reads
        them like any pretrained file: word2vec text when the name ends in
        ``.txt`` or ``.vec`` (``.gz`` / ``.bz2`` compress it), else word2vec
        binary; a folder, or a path under a file, is refused before training.
        Tokens with spaces (the n-gram tokens of
        :class:`~toolkit.text.SpacyTokenizer`, e.g. ``"not good"``) need
        text: word2vec binary cannot store them, so they are refused with a
        :class:`~toolkit.exceptions.DataError` before training.
    progress : bool, default=False
        Show a progress bar over the epochs.

    Returns
    -------
    gensim.models.KeyedVectors

    Examples
    --------
    >>> from toolkit.vectors import train_word2vec
    >>> kv = train_word2vec([["good", "film"], ["bad", "film"]] * 50, vector_size=8, min_count=1)
    >>> kv.vector_size
    8
    >>> import os, tempfile
    >>> out = os.path.join(tempfile.mkdtemp(), "bigrams.txt")
    >>> kv = train_word2vec([["not good", "film"]] * 50, vector_size=4, min_count=1, output=out)
    >>> from toolkit.vectors import load_vectors
    >>> sorted(load_vectors(out, cache=False).index_to_key)
    ['film', 'not good']
    """
    check_word2vec_params(vector_size=vector_size, window=window, min_count=min_count, epochs=epochs, sg=sg,
                          workers=workers, seed=seed, output=output, progress=progress)
    from gensim.models import Word2Vec
    from gensim.models.callbacks import CallbackAny2Vec

    from ..text.corpus import check_token_lists  # here: toolkit.text imports scikit-learn and spaCy

    docs = check_token_lists(corpus, estimator="train_word2vec", name="corpus")
    if output is not None and (Path(output).expanduser().is_dir() or str(output).endswith(("/", os.sep))):
        folder = Path(output).expanduser()  # found now, not by the rename after training
        raise DataError(
            f"The 'output' parameter of train_word2vec names a folder ({folder}); give a file name in it, "
            f"such as {folder / 'vectors.bin'} (word2vec binary) or {folder / 'vectors.txt'} (word2vec text)."
        )
    parent = None if output is None else nearest_existing_parent(Path(output).expanduser())
    if parent is not None and not parent.is_dir():  # found now, not by the write after training
        raise NotADirectoryError(f"Cannot write {output}: {parent} is a file, not a folder. Choose another path.")
    if output is not None:  # `w2v.txt.zst` crashed after the training, in gensim's writer
        _parse.check_output_compression(output, "word2vec-binary")
    callbacks = []
    if progress:
        from tqdm.auto import tqdm

        class _Bar(CallbackAny2Vec):
            def __init__(self):
                self.bar = tqdm(total=epochs, desc="word2vec", unit="epoch")

            def on_epoch_end(self, model):
                self.bar.update(1)

            def on_train_end(self, model):
                self.bar.close()

        callbacks.append(_Bar())
    model = Word2Vec(
        vector_size=vector_size, window=window, min_count=min_count, epochs=epochs, sg=sg, workers=workers, seed=seed
    )
    model.build_vocab(docs)
    if len(model.wv) == 0:
        raise DataError(
            f"No word occurs at least min_count={min_count} times in the corpus; lower min_count or pass more text."
        )
    fmt = None if output is None else _parse.format_for(output, "word2vec-binary")
    if fmt == "native":
        fmt = "word2vec-binary"  # a .kv name: word2vec binary as before (the toolkit writes no pickles)
    if fmt is not None:  # before training: a key the format cannot hold is found in seconds, not after hours
        _parse.check_keys_writable(model.wv.index_to_key, fmt, owner="train_word2vec")
    model.train(docs, total_examples=model.corpus_count, epochs=model.epochs, callbacks=callbacks)
    kv = model.wv
    if output is not None:
        out = Path(output).expanduser()
        with atomic_output(out) as tmp:
            _parse.write_vectors(kv, tmp, fmt, owner="train_word2vec")
        logger.info("Saved %d word2vec vectors to %s (%s)", len(kv), out, fmt)
    return kv
