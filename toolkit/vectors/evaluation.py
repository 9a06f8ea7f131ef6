"""Neighbours, analogies and the standard word-vector evaluations (delegated to gensim)."""

from __future__ import annotations

import logging

from .._validation import Interval
from ..exceptions import DataError
from ._parse import advice, worded_error
from .loading import _check, load_vectors

__all__ = ["most_similar", "analogy", "evaluate_analogies", "evaluate_word_pairs"]

logger = logging.getLogger(__name__)


# ----------------------------------------------------------------------------- gensim helpers


def _has_vector(kv, word) -> bool:
    """Whether ``kv[word]`` gives a vector: a key of ``kv``, or any word for fastText's subword vectors."""
    return kv.has_index_for(word) or bool(getattr(kv, "bucket", 0) and hasattr(kv, "vectors_ngrams"))


def _other_entry(kv, word):
    """The entry of ``kv`` that a word without a vector is found under, and why; or None.

    Another casing (``"paris"`` is ``"Paris"`` in cased vectors, ``"King"``
    is ``"king"`` in lowercased ones), or a phrase joined by ``"_"``
    (``"new york"`` is word2vec's ``"new_york"``), as
    :func:`~toolkit.vectors.build_embedding_matrix` finds them. Queries
    (:func:`most_similar`, :func:`analogy`, the word map of ``toolkit
    vectors map``) name it rather than use it unasked.

    Returns
    -------
    (str, str, str) or None
        The entry, how to name it (``"the phrase 'new_york'"``) and the reason
        in words (``"these vectors tell case apart"``).
    """
    low = word.lower()
    casing = next((k for k in kv.index_to_key if isinstance(k, str) and k.lower() == low), None)
    if casing is not None:  # cased vectors (fastText crawl, GloVe 840B): "paris" is "Paris" there
        # GloVe 6B and most word2vec files are lowercased: "King" is "king" there
        return casing, repr(casing), "their words are lowercase" if casing == low else "these vectors tell case apart"
    phrase = _phrase_entry(kv, word)
    if phrase is not None:  # "new york": word2vec-style vectors join a phrase's words by "_"
        return phrase, f"the phrase {phrase!r}", "these vectors join the words of a phrase by '_'"
    return None


def _warn_untrained_casing(kv, words) -> None:
    """Warn of query words with capitals that fastText vectors of lower-case text build from untrained n-grams.

    fastText gives any word a vector from its character n-grams; a model
    trained on lower-cased text (the toolkit's domain vectors, its tokenizer
    lower-cases) never saw a capital, so the n-grams of ``"MOVIE"`` are
    buckets no word trained: its neighbours were noise ("very", "acting"),
    listed without a word, where ``"movie"`` is one of the words.
    :func:`~toolkit.vectors.build_embedding_matrix` looks up such a token
    lower-cased; a query is the user's to change, so it is named.
    """
    from .matrix import _cased

    odd = [w for w in words if w != w.lower() and not kv.has_index_for(w)]
    if not odd or not (getattr(kv, "bucket", 0) and hasattr(kv, "vectors_ngrams")) or _cased(kv):
        return
    for w in dict.fromkeys(odd):
        known = kv.has_index_for(w.lower())
        logger.warning(
            "%r is none of the %s words of these fastText vectors, which hold no capital letter (trained on "
            "lower-case text): its vector is built from its character n-grams, and training never saw those "
            "with a capital, so its neighbours are unreliable. Ask for %r (%s).", w, f"{len(kv):,}", w.lower(),
            "one of their words" if known else "its lower-case n-grams are the ones training saw",
        )


def _require_words(kv, words):
    _warn_untrained_casing(kv, [w for w in words if isinstance(w, str)])
    for w in words:
        if not _has_vector(kv, w):
            found = _other_entry(kv, w)
            if found is not None:
                entry, what, why = found
                raise DataError(
                    f"The word {w!r} has no vector, but {what} has ({len(kv):,} words loaded; {why}): "
                    f"ask for {entry!r}."
                )
            how = advice()  # in the caller's terms: limit, or the command line's --limit
            raise worded_error(
                DataError,
                f"The word {w!r} has no vector ({len(kv):,} words loaded); check the spelling or try its "
                "lowercase form"
                + how.either("limit", f", or, if only the first vectors of the file were loaded, load more (a larger "
                                      f"{how.option('limit')}, or none)", "")
                + ".",
            )


def _phrase_entry(kv, word):
    """The phrase key of ``kv`` a word n-gram such as ``"new york"`` is found under (``"new_york"``, or
    another casing of it: GoogleNews' ``"New_York"``), as :func:`build_embedding_matrix` finds it; or None."""
    from .matrix import _other_casings, _phrase_key

    key = _phrase_key(" ".join(word.split()))  # (any run of spaces: a query typed by hand)
    if key is None:
        return None
    for candidate in (key, key.lower()):
        if kv.has_index_for(candidate):
            return candidate
    j = _other_casings({key.lower()}, kv).get(key.lower())
    return None if j is None else kv.index_to_key[j]


def _require_nonzero(kv, words):
    """Refuse query words whose vector is all zeros (cosine similarity is undefined: nan for every word)."""
    import numpy as np

    for w in words:
        if not np.any(kv.get_vector(w)):
            raise DataError(
                f"The word {w!r} has an all-zero vector (a padding or placeholder row?), so it has no direction "
                "to compare by cosine similarity; choose another word."
            )


def _neighbours(kv, topn, **query):
    """gensim's ``most_similar`` without the all-zero rows of ``kv`` (their similarity is nan, not a rank)."""
    import numpy as np

    kv.fill_norms()
    n_zero = int(np.count_nonzero(kv.norms == 0))
    with np.errstate(divide="ignore", invalid="ignore"):  # x / 0 for those rows
        found = kv.most_similar(topn=topn + n_zero, **query)
    return [(w, float(s)) for w, s in found if not np.isnan(s)][:topn]


def most_similar(vectors, word, topn=10):
    """The ``topn`` nearest words to ``word`` by cosine similarity.

    Parameters
    ----------
    vectors : KeyedVectors, path or manifest name
    word : str
    topn : int, default=10

    Returns
    -------
    list of (str, float)
        Words whose vector is all zeros are never listed.

    Raises
    ------
    toolkit.exceptions.DataError
        ``word`` has no vector, or an all-zero one.

    Examples
    --------
    >>> most_similar("glove.6B.50d", "film", topn=3)                  # doctest: +SKIP
    [('movie', 0.93...), ('films', 0.92...), ('movies', 0.88...)]
    """
    _check("most_similar", word=(word, [str]), topn=(topn, [Interval(int, 1, None)]))
    kv = load_vectors(vectors)
    _require_words(kv, [word])
    _require_nonzero(kv, [word])
    return _neighbours(kv, topn, positive=[word])


def analogy(vectors, a, b, c, topn=1):
    """Solve "``a`` is to ``b`` as ``c`` is to ?": the words nearest to ``b - a + c``.

    ``analogy(kv, "man", "king", "woman")`` is king - man + woman (queen),
    the order of the Google analogy set's lines.

    Parameters
    ----------
    vectors : KeyedVectors, path or manifest name
        Passed to :func:`~toolkit.vectors.load_vectors`.
    a, b, c : str
        The query words.
    topn : int, default=1
        Number of answers.

    Returns
    -------
    list of (str, float)
        The ``topn`` answers (the three query words excluded), best first.

    Raises
    ------
    toolkit.exceptions.DataError
        A query word has no vector, or an all-zero one.

    Examples
    --------
    >>> analogy("glove.6B.50d", "man", "king", "woman")               # doctest: +SKIP
    [('queen', 0.85...)]
    """
    _check("analogy", a=(a, [str]), b=(b, [str]), c=(c, [str]), topn=(topn, [Interval(int, 1, None)]))
    kv = load_vectors(vectors)
    _require_words(kv, [a, b, c])
    _require_nonzero(kv, [a, b, c])
    return _neighbours(kv, topn, positive=[b, c], negative=[a])


def _evaluation_view(kv):
    """A shallow copy of ``kv`` for gensim's evaluations, which replace its ``key_to_index`` while they run.

    ``evaluate_word_analogies`` and ``evaluate_word_pairs`` swap in a dict
    of the first ``restrict_vocab`` words (upper-cased when
    ``case_insensitive``) and put the original back at the end (the
    analogies not at all when interrupted). ``kv`` is the one object the
    memo of :func:`load_vectors` gives every caller: another thread (a
    grid search on joblib's threading backend, a notebook's) saw the
    swapped dict meanwhile, its ``kv["the"]`` a ``KeyError`` and its own
    ``load_vectors`` a changed object, loaded again. The copy shares the
    arrays, the words and the norms (computed once, on ``kv``), so it costs
    no memory.
    """
    import copy

    kv.fill_norms()  # on the shared object: the copy takes them, rather than computing its own each call
    return copy.copy(kv)


def _test_data(name: str) -> str:
    from gensim.test.utils import datapath

    return datapath(name)


def _lines(path):
    """(line number from 1, text) of each line of ``path``, read as gensim's evaluations read it (``.gz``/``.bz2``
    decompressed, lines split at line feeds only, UTF-8)."""
    from gensim import utils

    with utils.open(str(path), "rb") as fh:
        for line_no, raw in enumerate(fh, start=1):
            yield line_no, raw.decode("utf-8")


def _check_analogy_file(path) -> None:
    """Refuse an analogy file gensim would fail on with a bare error, naming the file, the line and the fix.

    gensim's ``evaluate_word_analogies`` raises ``ValueError("Missing section
    header before line #0 ...")`` (0-based) for a question before the first
    ``": section"`` line (a blank or ``#`` line counts), and
    ``ZeroDivisionError`` for a file with no question line at all (empty,
    or lines not of four words). Lines it skips (not four words) are counted
    in a warning, as gensim only logs each at INFO.
    """
    form = "': <section name>' lines (a colon and a space), each followed by questions 'a b c d' (four words)"
    section, n_questions, skipped = None, 0, []
    try:
        for line_no, line in _lines(path):
            if line.startswith(": "):
                section = line_no
                continue
            if section is None:
                what = "is blank" if not line.strip() else f"reads {line.rstrip()[:60]!r}"
                raise DataError(
                    f"{path}, line {line_no}: the analogy file has a line before its first section line, "
                    f"which gensim refuses (line {line_no} {what}). The file needs {form}, as in "
                    "questions-words.txt; start it with a line such as ': my-questions' and remove the "
                    "lines above."
                )
            if len(line.split()) == 4:
                n_questions += 1
            elif line.strip():  # (gensim skips blank lines too, silently here)
                skipped.append(line_no)
    except UnicodeDecodeError as err:
        raise DataError(f"{path} is not UTF-8 text ({err}); save the analogy file as UTF-8.") from err
    if not n_questions:
        raise DataError(
            f"{path} holds no analogy question: it needs {form}, as in questions-words.txt"
            + (f" ({len(skipped)} line(s) are not four words, the first is line {skipped[0]})" if skipped
               else " (no line is a question)")
            + "."
        )
    if skipped:
        logger.warning(
            "%s: %d line(s) skipped, not a question of four words (first: line %d)", path, len(skipped), skipped[0]
        )


def _check_pairs_file(path) -> None:
    """Refuse a word-pairs file gensim would read no pair from (or nan from), naming the file, line and fix.

    gensim's ``evaluate_word_pairs`` skips, with an INFO log line each, every
    line that is not ``word1<TAB>word2<TAB>score``: a file of another layout
    (SimLex-999's ten columns, MEN's spaces) gave "fewer than 2 usable pairs"
    with advice about the vectors, and a file partly of another layout lost
    those pairs silently (a warning here counts them). A score of nan or inf
    is kept by gensim and makes every correlation nan: refused.
    """
    import math

    form = "'word1<TAB>word2<TAB>score' (three fields separated by tabs, the score a number)"
    n_pairs, bad = 0, []
    try:
        for line_no, line in _lines(path):
            if not line.strip() or line.startswith("#"):
                continue
            fields = line.rstrip("\r\n").split("\t")
            try:
                score = float(fields[2]) if len(fields) == 3 else None
            except ValueError:
                score = None
            if score is None:
                bad.append((line_no, line.rstrip("\r\n")))
            elif not math.isfinite(score):
                raise DataError(
                    f"{path}, line {line_no}: the score {fields[2].strip()!r} is not a finite number, which "
                    "would make every correlation nan; fix or remove the line."
                )
            else:
                n_pairs += 1
    except UnicodeDecodeError as err:
        raise DataError(f"{path} is not UTF-8 text ({err}); save the pairs file as UTF-8.") from err
    if n_pairs < 2 and bad:
        line_no, text = bad[0]
        raise DataError(
            f"{path}: {n_pairs} line(s) of {n_pairs + len(bad)} are pairs {form}; a correlation needs at least 2. "
            f"Line {line_no} reads {text[:80]!r}. Convert the file: keep the two words and the score, tab-separated "
            "(SimLex-999: cut -f1,2,4 and remove its header line; a space-separated file such as MEN: "
            "tr ' ' '\\t'), and start comment lines with '#'."
        )
    if bad:
        logger.warning("%s: %d line(s) skipped, not %s (first: line %d, %r)", path, len(bad), form, bad[0][0],
                       bad[0][1][:80])


def _cased_pairs(kv, path, restrict_vocab):
    """(how many pairs of the file ``path`` have both words among the first ``restrict_vocab`` vectors only in
    another casing, the first such pair worded), or None: what ``case_insensitive=False`` lost."""
    lower = {}
    for key in kv.index_to_key[:restrict_vocab]:
        if isinstance(key, str):
            lower.setdefault(key.lower(), key)
    known = set(kv.index_to_key[:restrict_vocab])
    n, first = 0, None
    for _, line in _lines(path):
        fields = line.rstrip("\r\n").split("\t")
        if len(fields) != 3 or line.startswith("#"):
            continue
        words = fields[:2]
        if all(w.lower() in lower for w in words) and not all(w in known for w in words):
            n += 1
            first = first or " and ".join(f"{w!r} is {lower[w.lower()]!r}" for w in words if w not in known)
    return (n, first) if n else None


def evaluate_analogies(vectors, path=None, *, restrict_vocab=30_000, case_insensitive=True):
    """Accuracy on the Google analogy set (gensim's ``evaluate_word_analogies``).

    Parameters
    ----------
    vectors : KeyedVectors, path or manifest name
    path : path-like, optional
        A file in the ``questions-words.txt`` format; default the copy that
        ships with gensim.
    restrict_vocab : int, default=30000
        Only questions whose words are all among the first ``restrict_vocab``
        vectors count, and answers come from them.
    case_insensitive : bool, default=True

    Returns
    -------
    dict
        ``accuracy``, ``n_correct``, ``n_incorrect`` and ``sections`` (name,
        accuracy, correct, incorrect per section). An accuracy is nan when
        no question could be asked (a word missing from every one of them;
        a warning is logged), not 0.

    Raises
    ------
    toolkit.exceptions.DataError
        ``path`` has a line before its first ``": section"`` line, holds no
        question of four words, or is not UTF-8 (gensim failed with a
        ``ValueError`` naming a 0-based line, or a ``ZeroDivisionError``).

    Examples
    --------
    >>> evaluate_analogies("glove.6B.50d")["accuracy"]                # doctest: +SKIP
    0.497...
    """
    _check(
        "evaluate_analogies",
        restrict_vocab=(restrict_vocab, [Interval(int, 1, None)]),
        case_insensitive=(case_insensitive, ["boolean"]),
    )
    if path is not None:
        _check_analogy_file(path)
    kv = _evaluation_view(load_vectors(vectors))
    score, sections = kv.evaluate_word_analogies(
        str(path) if path is not None else _test_data("questions-words.txt"),
        restrict_vocab=restrict_vocab,
        case_insensitive=case_insensitive,
    )
    out = []
    for sec in sections:
        n_ok, n_bad = len(sec["correct"]), len(sec["incorrect"])
        out.append(
            {
                "section": sec["section"],
                "accuracy": n_ok / (n_ok + n_bad) if n_ok + n_bad else float("nan"),
                "correct": n_ok,
                "incorrect": n_bad,
            }
        )
    total = next((s for s in out if s["section"] == "Total accuracy"), None)
    if total is not None and not total["correct"] + total["incorrect"]:
        # gensim scores "no question answerable" as 0.0, which reads as "every answer wrong"
        logger.warning(
            "No analogy question of %s has all four words among the first %d vectors (case_insensitive=%s); "
            "the accuracy is nan", path if path is not None else "questions-words.txt", restrict_vocab,
            case_insensitive,
        )
        score = float("nan")
    return {
        "accuracy": float(score),
        "n_correct": total["correct"] if total else None,
        "n_incorrect": total["incorrect"] if total else None,
        "sections": out,
    }


def evaluate_word_pairs(vectors, path=None, *, restrict_vocab=30_000, case_insensitive=True):
    """Correlation with human similarity judgements (WordSim353 by default).

    Parameters
    ----------
    vectors : KeyedVectors, path or manifest name
    path : path-like, optional
        Tab-separated ``word1 word2 score`` lines; default gensim's
        ``wordsim353.tsv``.
    restrict_vocab : int, default=30000
        Only pairs whose words are among the first ``restrict_vocab``
        vectors count; the same default as :func:`evaluate_analogies`
        (gensim's own default is 300000, which gives 0.503 instead of 0.538
        for GloVe 6B-50d).
    case_insensitive : bool, default=True

    Returns
    -------
    dict
        ``pearson``, ``pearson_pvalue``, ``spearman``, ``spearman_pvalue``
        and ``oov_ratio`` (percent of pairs skipped for a missing word).

    Raises
    ------
    toolkit.exceptions.DataError
        Fewer than 2 pairs of the file have both words among the vectors;
        fewer than 2 of its lines are ``word1<TAB>word2<TAB>score``; a score
        is nan or infinite; the file is not UTF-8. Lines of another layout
        are skipped with a warning that counts them.

    Examples
    --------
    >>> round(evaluate_word_pairs("glove.6B.50d")["spearman"], 3)     # doctest: +SKIP
    0.538
    """
    _check(
        "evaluate_word_pairs",
        restrict_vocab=(restrict_vocab, [Interval(int, 1, None)]),
        case_insensitive=(case_insensitive, ["boolean"]),
    )
    if path is not None:
        _check_pairs_file(path)
    kv = _evaluation_view(load_vectors(vectors))
    pairs = str(path) if path is not None else _test_data("wordsim353.tsv")
    try:
        pearson, spearman, oov_ratio = kv.evaluate_word_pairs(
            pairs, restrict_vocab=restrict_vocab, case_insensitive=case_insensitive
        )
    except ValueError as err:  # no pair left (gensim) or a single one (scipy: "length at least 2")
        how = advice()
        cased = None if case_insensitive else _cased_pairs(kv, pairs, restrict_vocab)
        raise worded_error(
            DataError,
            f"evaluate_word_pairs found fewer than 2 usable pairs in {pairs}: a correlation needs at least 2 "
            f"pairs whose two words are among the first {restrict_vocab:,} vectors ({len(kv):,} loaded) on lines "
            "'word1<TAB>word2<TAB>score'. "
            + (f"{cased[0]} pair(s) have both words there in another casing ({cased[1]}): pass "
               "case_insensitive=True, or " if cased else "")
            + f"{'l' if cased else 'L'}oad more vectors (a larger {how.option('limit')}, or none), raise "
            f"restrict_vocab, or use a larger pairs file ({err}).",
        ) from err
    return {
        "pearson": float(pearson[0]),
        "pearson_pvalue": float(pearson[1]),
        "spearman": float(spearman[0]),
        "spearman_pvalue": float(spearman[1]),
        "oov_ratio": float(oov_ratio),
    }


