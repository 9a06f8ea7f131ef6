"""Raw text to tokens with spaCy, as a scikit-learn transformer.

How it is fast
--------------
spaCy's tokenizer cuts a text at whitespace and tokenizes each
whitespace-free *span* on its own (``Tokenizer._tokenize_affixes``), keeping
a cache keyed by the span. :class:`SpacyTokenizer` uses the same fact one
level up: it splits each cleaned text at whitespace (``str.split``, whose
whitespace is spaCy's), gives every distinct span an id, sends only spans it
has never seen to spaCy's own tokenizer (one call per batch, the spans
separated by newlines), keeps each span's output token ids in flat arrays,
and builds every document with numpy. Spans the tokenizer's own checks show
it keeps whole (no special case, prefix, suffix or infix) skip the call. No
``Doc`` is built per document, no ``Token`` object is touched, and the
result is a compact :class:`~toolkit.text.corpus.TokenizedCorpus`.

spaCy's special-case matcher compares token sequences across spaces, so a
pattern such as ``["'", "'"]`` can act between two neighbouring spans;
where that is possible (in 3-4% of IMDB reviews), the stretch of text from
the first to the last span involved is tokenized by spaCy directly, and the
rest of the document keeps its cached tokens. The tokens are therefore spaCy's: the test-suite and
``benchmarks/bench_text.py`` compare them with ``nlp.tokenizer`` document by
document (all 25,000 IMDB training reviews agree, as do fuzzed texts full of
quotes and emoticons).

Pipelines whose components depend on context (a trained tagger feeding a
rule lemmatizer, for instance) cannot use span caching; for those, with
``lemmatize=True``, documents stream through ``nlp.pipe`` in batches and only
integer arrays (``Doc.to_array``) are kept.

A content-addressed disk cache (``cache=True``) stores the result of a whole
``transform`` keyed by the parameters, the spaCy and pipeline versions, digests
of the pipeline's tokenizer rules and stop words, and a SHA-1 of the texts, so
a second run over the same corpus only reads one file.

spaCy's tokenizer takes a span's prefixes and suffixes off one at a time,
scanning the rest of the span at each step, so a span of thousands of them
("!" * 5000, "😍" * 20000, a line of "=") takes time quadratic in its length
(minutes), as does one of thousands of mixed emoji or punctuation marks. In
spans longer than 1,000 characters, such runs, and the stretches of affixes
at their ends, are cut into short pieces first (:func:`_cut_long_runs`,
:func:`_stretch_cuts`), which gives spaCy's tokens at a linear cost.

The pipeline of a ``model`` is loaded once per process, and again when it
changed: its folder saved again, or the language's stop words or ``Defaults``
edited (see :func:`_nlp_is_current`); the span tables made with the old one
are dropped, so no token comes from a pipeline the user has since changed.
"""

from __future__ import annotations

import functools
import hashlib
import html
import itertools
import logging
import numbers
import os
import re
import sys
import threading
import unicodedata
from pathlib import Path

import numpy as np
from joblib import cpu_count
from sklearn.base import BaseEstimator, TransformerMixin

from .._atomic import atomic_output, remove_stale
from .._config import get_cache_dir
from .._memo import Memo
from .._validation import (
    Interval,
    InvalidParameterError,
    MissingParamsMixin,
    Options,
    TextInputMixin,
    TokenOutputMixin,
    check_raw_documents,
    plain_label,
    row_label,
    text_column,
    validate_params,
)
from ..exceptions import DocumentError
from .corpus import TokenizedCorpus, _is_sparse, _skipped_indices

__all__ = ["SpacyTokenizer", "tokenize", "clean_html", "clean_text"]

logger = logging.getLogger(__name__)

_BR = re.compile(r"<\s*br\s*/?\s*>", re.IGNORECASE)
_TAG = re.compile(r"</?[A-Za-z][^<>]*>|<!--.*?-->", re.DOTALL)
# what a scraped page holds that is no text: script and style elements with their code, the doctype (none
# in IMDB's reviews); a CDATA section keeps its text
_CODE = re.compile(r"<(script|style)\b[^<>]*>.*?</\1\s*>|<!doctype\b[^<>]*>", re.IGNORECASE | re.DOTALL)
_CDATA = re.compile(r"<!\[CDATA\[(.*?)\]\]>", re.DOTALL)
_CODE_HINT = re.compile("</[sS]|<!").search  # what _CODE and _CDATA need (rare in reviews: a cheap first look)
# C0/C1 control characters except tab, newline and carriage return
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# the C0 ones and DEL only: the C1 range U+0080-U+009F holds cp1252 punctuation decoded as Latin-1 (IMDB's
# "\x96" and "\x97" dashes, "\x85" ellipsis), which the char analyzers keep as scikit-learn does
_CONTROL_C0 = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SURROGATE = re.compile("[\ud800-\udfff]")
# Invisible format characters (Unicode category Cf) that glue to a word and make a second spelling of it
# (right-to-left text carries LRM/RLM marks, a file read without utf-8-sig its BOM): the Arabic letter
# mark, LRM/RLM, bidi embeddings and isolates, the word joiner and invisible operators, and the BOM /
# zero-width no-break space; they are removed. The zero-width space (U+200B) marks a word boundary
# (Thai, Khmer, web text): it becomes a space. Kept: ZWJ and ZWNJ (U+200C-D; emoji sequences and
# Indic/Persian spelling need them), the soft hyphen and the emoji tag characters.
_INVISIBLE = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff]")
_ODD = re.compile(f"{_CONTROL.pattern}|{_SURROGATE.pattern}|{_INVISIBLE.pattern}|\u200b")  # any of the above
_ODD_C0 = re.compile(f"{_CONTROL_C0.pattern}|{_SURROGATE.pattern}|{_INVISIBLE.pattern}|\u200b")  # ... but C1
_UNICODE_FORMS = ("NFC", "NFKC")
# Four or more characters of scripts written without spaces between words (Thai, Lao, Myanmar, Khmer,
# kana, CJK ideographs): in one token they mean a tokenizer that does not segment the script
_UNSPACED = re.compile(
    "[\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff"
    "\uf900-\ufaff\uff66-\uff9f\U00020000-\U0003134f]{4,}"
)
# spaCy languages whose tokenizers segment such scripts (Korean: spaces between words, mecab for the rest)
_SEGMENTING_LANGS = frozenset({"zh", "ja", "th", "ko", "vi"})
# share of documents with an unsegmented token from which transform warns (a title quoted in a review: no)
_UNSEGMENTED_SHARE = 0.05
_WS_SPLIT = re.compile(r"(\s+)").split  # \s is exactly str.isspace(), as spaCy's splitter
_NON_SPACE = re.compile(r"\S+")  # the spans of str.split(), with their positions

# span cache size above which an engine starts afresh (bounds memory)
_MAX_CACHED_SPANS = 1_000_000
_CACHE_FORMAT = 6  # 2: the skipped document indices are stored too; 3: clean_text drops bidi marks, BOMs;
# 4: one token per emoji (_join_clusters); 5: runs of over _LONG_SPAN characters such as ":):):)..." are cut
# (_cut_long_runs), which changes a few of their tokens; 6: the char analyzers keep C1 characters (clean_text's
# keep_c1), and long stretches of mixed punctuation or emoji are cut too (_stretch_cuts)
# a batch of documents ends once it holds this many characters (SpacyTokenizer._batches): about 3,000 IMDB
# reviews, so batch_size alone decides for short texts, while book-length documents go a few at a time
_BATCH_CHARS = 4_000_000
# fewer never-seen spans than this per worker are tokenized in-process
_MIN_SPANS_PER_WORKER = 5000
# Whitespace-free spans longer than this are cut inside long runs of punctuation or emoji before spaCy sees
# them (_cut_long_runs): spaCy strips a span's prefixes and suffixes one at a time, each step scanning the
# rest of the span, so "!" * 20_000 or "😍" * 20_000 take minutes (quadratic; spaCy issues #1768, #4362).
_LONG_SPAN = 1000
_RUN_PIECE = 100  # characters of a run between two cuts (the pieces of one run are equal: tokenized once)
_RUN_MARGIN = 4  # repetitions of the unit left uncut at each end of a run, next to the run's neighbours
# a run: one unit (up to 8 characters: "!", "😂", "👍🏽", "!?", "👩‍💻") of punctuation, symbols or marks,
# repeated at least 2 * _RUN_MARGIN + 1 times
_RUN = re.compile(rf"((?:[^\w\s]|_){{1,8}}?)\1{{{2 * _RUN_MARGIN},}}")
_RUN_CONTEXT = 64  # at most this many characters between a run that is cut and the end of its span
_HAS_SPACE = re.compile(r"\s").search


def clean_html(text: str) -> str:
    """Remove HTML markup from ``text``.

    ``<br />`` (any spelling) becomes a newline, other tags and comments become
    a space, then entities are unescaped (``&amp;`` -> ``&``). The code of a
    web page goes with its tags: ``<script>`` and ``<style>`` elements
    with their contents, and ``<!DOCTYPE ...>``, become a space; a
    ``<![CDATA[...]]>`` section keeps its text. Text without ``<`` or ``&``
    is returned as is.

    Parameters
    ----------
    text : str
        One document.

    Returns
    -------
    str

    Examples
    --------
    >>> from toolkit.text import clean_html
    >>> clean_html("Great.<br /><br />A <i>must</i> see &amp; more")
    'Great.\\n\\nA  must  see & more'
    >>> clean_html("<style>p {color: red}</style><p>Loved it</p><script>var x = 1;</script>")
    '  Loved it  '
    """
    if "<" in text:
        if _CODE_HINT(text) is not None:  # a closed script or style element, a doctype, CDATA
            text = _CDATA.sub(r"\1", _CODE.sub(" ", text))
        text = _TAG.sub(" ", _BR.sub("\n", text))
    if "&" in text:
        text = html.unescape(text)
    return text


def clean_text(text: str, *, strip_html: bool = True, unicode_form: str | None = None, keep_c1: bool = False) -> str:
    """The text exactly as the tokenizer sees it.

    Optional :func:`clean_html`, then every C0/C1 control character other than tab,
    newline and carriage return becomes a space (the C1 ones stay with ``keep_c1``), every lone surrogate (text
    decoded with ``errors="surrogateescape"``, for instance) becomes U+FFFD,
    so spaCy never fails on them, a zero-width space (U+200B, a word
    boundary) becomes a space, and invisible format characters are
    removed: byte-order mark (U+FEFF), word joiner
    (U+2060), the left-to-right and right-to-left marks (U+200E, U+200F,
    U+061C) and bidi embeddings and isolates (U+202A-U+202E, U+2066-U+2069)
    -- otherwise ``"טוב\\u200f"`` (Hebrew, with the mark editors put after
    right-to-left words) and ``"טוב"`` would be two different tokens. The
    zero-width joiner and non-joiner (emoji sequences, Indic and Persian
    spelling) and the soft hyphen are kept. Last, the optional Unicode
    normalization ``unicode_form``.

    Parameters
    ----------
    text : str
        One document.
    strip_html : bool, default=True
        Run :func:`clean_html` first.
    unicode_form : {None, "NFC", "NFKC"}, default=None
        Normalize with ``unicodedata.normalize``, last.
        None leaves the characters as they are, as spaCy and scikit-learn do.
    keep_c1 : bool, default=False
        Keep the C1 control characters (U+0080-U+009F) instead of making
        them spaces. Text in Windows-1252 decoded as Latin-1 has its
        punctuation there: IMDB's ``"\\x96"`` and ``"\\x97"`` are en and em
        dashes, ``"\\x85"`` an ellipsis, ``"\\x91"`` a quote. The char
        analyzers of :class:`SpacyTokenizer` keep them (as scikit-learn's
        do); the word analyzer does not (spaCy would glue them to words).

    Returns
    -------
    str

    Examples
    --------
    >>> clean_text("a\\x00b\\ud800")
    'a b\\ufffd'
    >>> clean_text("zombies\\x97a nice idea"), clean_text("zombies\\x97a nice idea", keep_c1=True)
    ('zombies a nice idea', 'zombies\\x97a nice idea')
    >>> clean_text("cafe\\u0301") == clean_text("caf\\u00e9")  # the same word, decomposed and composed
    False
    >>> clean_text("cafe\\u0301", unicode_form="NFC") == "caf\\u00e9"
    True
    """
    if strip_html:
        text = clean_html(text)
    # cheap guards: most texts have no odd characters, and most of the others only newlines or tabs
    odd, control = (_ODD_C0, _CONTROL_C0) if keep_c1 else (_ODD, _CONTROL)
    if not text.isprintable() and odd.search(text) is not None:
        text = _INVISIBLE.sub("", _SURROGATE.sub("\ufffd", control.sub(" ", text))).replace("\u200b", " ")
    if unicode_form is not None:
        if unicode_form not in _UNICODE_FORMS:
            raise ValueError(
                f"The 'unicode_form' parameter must be one of {_UNICODE_FORMS} or None. Got {unicode_form!r} instead."
            )
        text = unicodedata.normalize(unicode_form, text)
    return text


# ------------------------------------------------------- grapheme clusters
_NON_ASCII = re.compile(r"[^\x00-\x7f]")
_ZWJ = "\u200d"


def _extends(ch: str) -> bool:
    """Whether ``ch`` belongs to the user-perceived character before it (UAX #29: Extend, ZWJ, SpacingMark).

    Combining marks (an accent typed apart, the variation selector U+FE0F of
    "❤️", the keycap U+20E3), the zero-width joiner, the skin-tone modifiers
    (U+1F3FB-U+1F3FF) and the tag characters of subdivision flags.
    """
    return (ch == _ZWJ or unicodedata.category(ch) in ("Mn", "Me", "Mc")
            or "\U0001f3fb" <= ch <= "\U0001f3ff" or "\U000e0020" <= ch <= "\U000e007f")


def _is_regional(ch: str) -> bool:
    return "\U0001f1e6" <= ch <= "\U0001f1ff"


def _inside_cluster(text: str, p: int) -> bool:
    """Whether ``text[p - 1]`` and ``text[p]`` belong to one grapheme cluster (``0 < p < len(text)``).

    The rules of Unicode's extended grapheme clusters (UAX #29, what the
    ``regex`` package's ``\\X`` matches) that spaCy's tokenizer breaks: a
    mark, joiner or skin tone after a character (GB9, GB9a), an emoji after
    a zero-width joiner (GB11: "👩\\u200d💻"), and regional indicators in
    pairs (GB12-13: the flag "🇺🇸"). Whitespace never joins.
    """
    a, b = text[p - 1], text[p]
    if a.isspace() or b.isspace():
        return False
    if _extends(b):
        return True
    if a == _ZWJ:
        return unicodedata.category(b) == "So"  # emoji (Extended_Pictographic) are symbols "So"
    if _is_regional(a) and _is_regional(b):
        run = 1
        while run < p and _is_regional(text[p - 1 - run]):
            run += 1
        return run % 2 == 1
    return False


def _long_span_starts(text: str):
    """Matches of the whitespace-free spans of ``text`` longer than ``_LONG_SPAN`` (linear: anchored at span starts)."""
    return re.finditer(rf"(?<!\S)\S{{{_LONG_SPAN + 1},}}", text)


def _cut_long_runs(text: str, strips, tokens, affixes=None) -> str:
    """``text`` with a space put between the pieces of long runs of affixes inside its longest whitespace-free spans.

    spaCy's tokenizer handles a whitespace-free span by taking one prefix
    and one suffix off at a time, and every step scans (and copies) what is
    left, so a span made of thousands of affixes costs time quadratic in
    its length: 5,000 "!" take 3 s, 20,000 "😍" over a minute (spaCy issues
    #1768 and #4362; a run after a URL is worse still). Only spans longer
    than ``_LONG_SPAN`` characters are looked at. In them, a *run* -- one
    unit of punctuation, symbols or emoji ("!", "😂", "👍🏽", "!?")
    repeated at least ``2 * _RUN_MARGIN + 1`` times -- that spaCy would
    strip off as affixes one unit at a time gets a space every
    ``_RUN_PIECE`` characters, ``_RUN_MARGIN`` units away from its ends.
    spaCy strips such a run when everything between it and one end of the
    span comes off as affixes too, and then the run one unit at a time:
    ``strips(unit, side, context)`` (:meth:`_Engine._strips`) checks that
    on a short stand-in, the run with what lies between it and the span's
    end (``side="suffix"``) or start (``"prefix"``), at most
    ``_RUN_CONTEXT`` characters with the runs cut there shortened to their
    margins. True of "!", "?", "*", "=", emoji...; not of runs of ".", "-"
    or "~" (one token), "'" (pairs), "$" after a word (one token), nor of a
    run between letters ("wow!!!...!!!cool": spaCy splits infixes in one
    linear pass). Spans spaCy keeps whole are never cut, and the pieces
    that hold more than one run's units are checked in a window of their
    neighbours (:func:`_pieces_agree`); the pieces of one run, being equal,
    are tokenized once. So the tokens are spaCy's at a cost linear in the
    span's length, with two exceptions, both in spans of over
    ``_LONG_SPAN`` characters: a run of over ``_LONG_SPAN`` characters whose
    tokens spaCy makes by where its two ends meet (":):):)...", "''''...", "……")
    is cut all the same, so the tokens next to each cut can differ from
    spaCy's (":)", ":", ")" instead of "):"), rather than take minutes;
    and where such a chain sits between cut runs the same can happen next
    to it (fuzzing with ``_LONG_SPAN=40`` found about 1 such span in 200
    cut spans; none without such chains). Text without a span over
    ``_LONG_SPAN`` characters is returned as is: the tokens of ordinary
    text never change.

    What is left of such a span over ``_LONG_SPAN`` characters -- all of it
    when no run was cut -- gets its long stretches of affixes cut by
    :func:`_stretch_cuts` (when ``affixes`` is given: ``(find_prefix,
    find_suffix, special case texts)`` of the tokenizer): a mix of emoji or
    punctuation, a unit of over 8 characters repeated.
    """
    if len(text) <= _LONG_SPAN:
        return text
    cuts = []
    for span in _long_span_starts(text):
        start, stop = span.span()
        runs = [(m.start(), m.end(), m.group(1)) for m in _RUN.finditer(text, start, stop)
                if m.end() - m.start() > 2 * _RUN_MARGIN * len(m.group(1))]
        stripped = [0] * len(runs)  # per run: what strips() said from the side that reaches it
        # suffixes come off the end first: walk the runs from the span's end with what follows each (its
        # runs shortened to the margins), as long as that stays short; then prefixes, from the start
        for order, side in ((range(len(runs) - 1, -1, -1), "suffix"), (range(len(runs)), "prefix")):
            context, edge = "", stop if side == "suffix" else start
            for k in order:
                run_start, run_end, unit = runs[k]
                between = text[run_end:edge] if side == "suffix" else text[edge:run_start]
                context = between + context if side == "suffix" else context + between
                state = strips(unit, side, context) if len(context) <= _RUN_CONTEXT else 0
                if not state:
                    break
                stripped[k] = max(stripped[k], state)
                kept = unit * _RUN_MARGIN
                context = kept + context if side == "suffix" else context + kept
                edge = run_start if side == "suffix" else run_end
        exact = [k for k, state in enumerate(stripped) if state == 2]
        span_cuts = [c for k in exact for c in _run_cuts(text, *runs[k])]
        if span_cuts and _pieces_agree(text, start, stop, span_cuts, tokens):
            cuts.extend(p for p, _unit in span_cuts)
            exact = set(exact)
        else:
            exact = set()
        # a run of over _LONG_SPAN characters that cannot be cut exactly (emoticon chains, runs of apostrophes) would still
        # take minutes: cut it all the same, at a cost in tokens at the cuts
        for k, state in enumerate(stripped):
            if state and k not in exact and runs[k][1] - runs[k][0] > _LONG_SPAN:
                cuts.extend(p for p, _unit in _run_cuts(text, *runs[k]))
        # what is left over _LONG_SPAN characters may still end in a long stretch of affixes that are no run (a
        # mix of emoji or punctuation, a unit of over 8 characters): cut it where spaCy's tokens end
        here = sorted({p for p in cuts if start < p < stop})
        for a, b in itertools.pairwise([start, *here, stop]):
            if affixes is not None and b - a > _LONG_SPAN:
                cuts.extend(_stretch_cuts(text, a, b, affixes))
    if not cuts:
        return text
    bounds = [0, *sorted(set(cuts)), len(text)]
    return " ".join(text[a:b] for a, b in itertools.pairwise(bounds))


def _affix_bounds(text: str, a: int, b: int, affixes) -> tuple[list[int], int, int]:
    """Where spaCy's tokens end in the affixes it takes off the whitespace-free ``text[a:b]``, found in linear time.

    spaCy's loop (``Tokenizer._split_affixes``) takes one prefix and one
    suffix off per step, searching the whole rest each time; here the same
    steps search only the 16 characters at each end (more when an affix
    fills them: "......"), as prefixes are matched at the start and
    suffixes at the end. ``affixes`` is ``(find_prefix, find_suffix)`` of
    the tokenizer. Returns the positions between affixes, and the start and
    end of what is left (equal when all of it comes off).
    """
    find_prefix, find_suffix = affixes
    lo, hi, bounds = a, b, []

    def found(find, lo, hi, from_end):
        width = 16
        while True:
            piece = text[max(lo, hi - width):hi] if from_end else text[lo:min(hi, lo + width)]
            length = find(piece) or 0
            if length < len(piece) or len(piece) == hi - lo:
                return length
            width *= 4

    while lo < hi:
        pre = found(find_prefix, lo, hi, False)
        suf = found(find_suffix, lo + pre, hi, True)
        if not pre and not suf:
            break
        if pre and suf and pre + suf <= hi - lo:
            lo, hi = lo + pre, hi - suf
            bounds += (lo, hi)
        elif pre:
            lo += pre
            bounds.append(lo)
        else:
            hi -= suf
            bounds.append(hi)
    return sorted(q for q in set(bounds) if a < q < b), lo, max(lo, hi)


def _stretch_cuts(text: str, a: int, b: int, affixes) -> list[int]:
    """Cuts in the long stretches of affixes at the ends of ``text[a:b]``, where spaCy's tokens end.

    ``text[a:b]`` is a whitespace-free piece of over ``_LONG_SPAN``
    characters that :func:`_cut_long_runs` found no exact cut for. spaCy
    takes the punctuation, symbols and emoji at a piece's two ends off one
    at a time, each step scanning the whole piece: 20,000 random emoji take
    a minute, 20,000 random punctuation marks three. When over
    ``_RUN_CONTEXT`` characters come off at either end
    (:func:`_affix_bounds`), that stretch is cut where spaCy's tokens end:
    next to what is left, then about every ``_RUN_PIECE // 4`` characters
    (spaCy's cost per character grows with the piece's length); never
    inside a grapheme cluster nor inside the text of one of the tokenizer's
    special cases (":*", "<3", ":-)", which spaCy's matcher makes one token
    again). ``affixes`` is ``(find_prefix, find_suffix, specials)``: the
    tokenizer's and the set of its special cases' texts. The pieces then
    come off in a few steps each. Their tokens are spaCy's for emoji and
    most punctuation; next to a cut in a chain whose tokens spaCy makes by
    where its two ends meet (":):)...") they can differ.
    """
    import bisect

    find_prefix, find_suffix, specials = affixes
    bounds, lo, hi = _affix_bounds(text, a, b, (find_prefix, find_suffix))
    lengths = sorted({len(s) for s in specials})

    def allowed(q):  # not inside a cluster, nor a special case's text that starts before q and ends after it
        return not _inside_cluster(text, q) and not any(
            text[q - i : q - i + n] in specials for n in lengths for i in range(1, min(n, q - a + 1)))

    cuts = []
    if lo - a > _RUN_CONTEXT:  # the prefixes: from what is left towards the start
        k = bisect.bisect_right(bounds, lo) - 1
        while k >= 0 and bounds[k] > a:
            if allowed(bounds[k]):
                cuts.append(bounds[k])
                k = bisect.bisect_right(bounds, bounds[k] - _RUN_PIECE // 4)
            k -= 1
    if b - hi > _RUN_CONTEXT:  # the suffixes: from what is left (where the two sides met) towards the end
        k = bisect.bisect_left(bounds, hi)
        while k < len(bounds):
            if allowed(bounds[k]):
                cuts.append(bounds[k])
                k = bisect.bisect_left(bounds, bounds[k] + _RUN_PIECE // 4) - 1
            k += 1
    return cuts


def _run_cuts(text: str, run_start: int, run_end: int, unit: str) -> list[tuple[int, str]]:
    """Where a run is cut: every ``_RUN_PIECE`` characters, ``_RUN_MARGIN`` units from its ends, between clusters."""
    u = len(unit)
    step = u * max(1, _RUN_PIECE // u)
    first, end = run_start + u * _RUN_MARGIN, run_end - u * _RUN_MARGIN
    return [(p, unit) for p in range(first, end + 1, step) if not _inside_cluster(text, p)]


def _pieces_agree(text: str, start: int, stop: int, cuts: list, tokens) -> bool:
    """Whether the pieces of ``text[start:stop]`` cut at ``cuts`` tokenize alone as inside the whole span.

    Each piece other than the inside of one run is checked in a window of
    the text around it (the neighbouring pieces, at least as long again as
    the piece on each side): ``tokens`` of the uncut window must be those of
    its pieces one after another. spaCy strips a span's two ends in step,
    so where a stretch left between cuts can be split several ways (":):)"),
    how far the other end has got decides; such spans are left whole.
    """
    bounds = [start, *(p for p, _unit in cuts), stop]
    units = [None, *(unit for _p, unit in cuts), None]
    memo: dict[str, list[str]] = {}

    def piece_tokens(k):
        piece = text[bounds[k] : bounds[k + 1]]
        if piece not in memo:
            memo[piece] = tokens(piece)
        return memo[piece]

    for k in range(len(bounds) - 1):
        a, b, left, right = bounds[k], bounds[k + 1], units[k], units[k + 1]
        piece = text[a:b]
        if left is not None and left == right and piece == left * (len(piece) // len(left)):
            continue  # the inside of one run
        if b - a > _LONG_SPAN:
            # checking it would strip its neighbours' affixes off it one at a time (minutes for 200,000 letters
            # before 140 emoji): left to _stretch_cuts, which cuts the stretches at its ends in linear time
            return False
        width = min(b - a + 16, 2 * _LONG_SPAN)
        first = k
        while first > 0 and a - bounds[first] < width:
            first -= 1
        last = k + 1
        while last < len(bounds) - 1 and bounds[last] - b < width:
            last += 1
        expected = [t for j in range(first, last) for t in piece_tokens(j)]
        if tokens(text[bounds[first] : bounds[last]]) != expected:
            return False
    return True


def _affixes_cover(text: str, find, *, from_end: bool) -> int:
    """How many characters of ``text`` spaCy's ``find_suffix`` (``from_end``) or ``find_prefix`` strips, one affix at a time.

    A run is taken off as affixes (the quadratic loop) only when everything
    between it and the span's end comes off so too; a run between letters
    is split as infixes instead, in one linear pass, and left uncut.
    """
    done = 0
    while done < len(text):
        rest = text[: len(text) - done] if from_end else text[done:]
        length = find(rest)
        if not length:
            break
        done += length
    return done


def _join_clusters(doc, text: str | None = None):
    """``doc`` with the tokens that split one grapheme cluster merged (in place): one token per emoji.

    spaCy's affix rules split each symbol off: "👩\\u200d💻" (woman
    technologist) gives "👩", "\\u200d", "💻"; "👍🏽" a thumb and a skin tone;
    "🇺🇸" two regional indicators; "❤️" the heart and a variation selector.
    A token boundary inside a cluster (:func:`_inside_cluster`) is removed;
    tokens separated by whitespace are never merged. Texts without such a
    boundary (all ASCII ones, nearly all others) are returned untouched.
    ``text``, when given, is the text ``doc`` was made of (spaCy's ``doc.text``
    is exactly it), which saves joining the tokens' texts again.
    """
    if text is None:
        text = doc.text
    if text.isascii():
        return doc
    cuts = [p for p in (m.start() for m in _NON_ASCII.finditer(text)) if p and _inside_cluster(text, p)]
    if not cuts:
        return doc
    from spacy.attrs import IDX

    starts = doc.to_array([IDX]).reshape(-1)
    at = np.searchsorted(starts, cuts)
    joined = sorted({int(k) for k, p in zip(at.tolist(), cuts) if 0 < k < len(starts) and starts[k] == p})
    if not joined:
        return doc
    with doc.retokenize() as retokenizer:
        first = last = joined[0]  # the run of tokens first - 1 .. last becomes one
        for k in [*joined[1:], None]:
            if k is not None and k == last + 1:
                last = k
                continue
            retokenizer.merge(doc[first - 1 : last + 1])
            if k is not None:
                first = last = k
    return doc


# --------------------------------------------------------------------- spaCy
_NLP: dict[tuple, object] = {}
#: languages whose spaCy tokenizer needs packages that ``pip install 'spacy[<lang>]'`` brings
_SPACY_EXTRAS = ("ja", "ko", "th")
_ENGINES = Memo(maxsize=4)  # spaCy engines (up to ~200 MB each): bounded, least recently used dropped
_LOCK = threading.RLock()  # the pipelines and engines; reentrant: _get_engine loads pipelines while holding it


def _model_key(model) -> str:
    """``model`` as the string the pipeline is loaded and cached by: a path-like becomes its path, ``~`` expanded."""
    if isinstance(model, os.PathLike):
        model = os.fspath(model)
    if model.startswith("~"):
        model = os.path.expanduser(model)
    return model


def _stop_words(nlp):
    """The (live) set spaCy's ``is_stop`` getter of ``nlp`` reads: the language's ``Defaults.stop_words``.

    Users edit that set (``nlp.Defaults.stop_words.add("movie")``, ``STOP_WORDS.discard("not")``); spaCy's
    lexemes made before the edit keep their old flag.
    """
    from spacy import attrs

    getter = nlp.vocab.lex_attr_getters.get(attrs.IS_STOP)
    stops = getattr(getter, "keywords", {}).get("stops")
    if stops is None:
        stops = getattr(nlp.Defaults, "stop_words", None)
    return stops if stops is not None else frozenset()


def _defaults_signature(nlp) -> tuple:
    """What of the language's ``Defaults`` (edited by users before ``spacy.blank``) makes a blank tokenizer."""
    defaults = nlp.Defaults
    return (
        len(defaults.tokenizer_exceptions or ()), tuple(defaults.prefixes or ()), tuple(defaults.suffixes or ()),
        tuple(defaults.infixes or ()), defaults.token_match, defaults.url_match,
    )


def _folder_signature(model: str) -> tuple | None:
    """(path, inode, size, mtime, ctime) of every file of a pipeline folder; None when ``model`` is not a folder.

    The inode and change time tell a file rewritten with its size and modification time put back (``cp -p``,
    ``rsync -t`` or a tar extraction onto the folder) from the one loaded (:func:`~toolkit._fileid.stat_id`).
    """
    from .._fileid import stat_id

    if not os.path.isdir(model):
        return None
    found = []
    for root, _dirs, files in os.walk(model):
        for name in files:
            path = os.path.join(root, name)
            try:
                found.append((path, *stat_id(path)))
            except OSError:
                continue
    return tuple(sorted(found))


def _nlp_is_current(nlp, model: str) -> bool:
    """Whether a pipeline loaded for ``model`` still tokenizes as a fresh load would.

    Not when, since it was loaded, the language's stop words were edited (its
    lexemes keep their old ``is_stop``), a blank language's ``Defaults``
    changed, or the pipeline folder was saved again (``nlp.to_disk`` after
    ``add_special_case``, new prefix/suffix/infix rules...).
    """
    if _stop_words(nlp) != nlp._toolkit_stops:  # a set and a frozenset compare by their elements
        return False
    if getattr(nlp, "_toolkit_blank", False):
        return _defaults_signature(nlp) == nlp._toolkit_defaults
    return _folder_signature(model) == nlp._toolkit_folder


def _load_nlp(model, lemmatize: bool):
    """The process's spaCy pipeline for ``model`` (loaded once, again when it changed); errors name the fix.

    A pipeline loaded earlier is loaded again when :func:`_nlp_is_current`
    says it is out of date, so tokens never depend on what the process did
    before; the engines made with the old one are replaced (:func:`_get_engine`).
    Threads that need a pipeline not loaded yet (a grid search on joblib's
    threading backend fitting its first folds) wait for the one that loads
    it: before, each loaded a copy of its own, and every copy but the last
    threw away the engines (span tables) made with the others.
    """
    model = _model_key(model)
    key = (model, lemmatize)
    with _LOCK:
        nlp = _NLP.get(key)
        if nlp is not None:
            if _nlp_is_current(nlp, model):
                return nlp
            logger.info("spaCy pipeline %r changed since it was loaded (stop words, tokenizer rules or its folder): "
                        "loading it again", model)
            _NLP.pop(key, None)
        nlp = _build_nlp(model, lemmatize)
        nlp._toolkit_stops = frozenset(_stop_words(nlp))
        if getattr(nlp, "_toolkit_blank", False):
            nlp._toolkit_defaults = _defaults_signature(nlp)
        else:
            nlp._toolkit_folder = _folder_signature(model)
        _NLP[key] = nlp
        return nlp


def _spacy_language_codes() -> list[str]:
    """The language codes spaCy has a ``spacy.lang`` package for (``spacy.blank`` takes them)."""
    import pkgutil

    import spacy.lang

    return sorted(m.name for m in pkgutil.iter_modules(spacy.lang.__path__) if m.ispkg)


def _missing_pipeline_message(model: str, err: OSError) -> str:
    """Why ``spacy.load(model)`` failed with ``err``, and what to pass instead: a folder, a language code or a package name."""
    start = "The 'model' parameter of SpacyTokenizer"
    if not model.strip():
        return (f"{start} is {model!r}. Pass 'blank:<lang>' (e.g. 'blank:en', no download), the name of an "
                "installed pipeline, or the folder written by nlp.to_disk(folder).")
    path = Path(model)
    if os.path.isdir(model):
        return (f"{start} names the folder {str(path.resolve())!r}, which is not a spaCy pipeline (no config.cfg "
                "and meta.json there). Pass the folder written by nlp.to_disk(folder), 'blank:<lang>' "
                "(e.g. 'blank:en', no download), or the name of an installed pipeline.")
    codes = _spacy_language_codes()
    if os.sep in model or "/" in model or model.startswith(".") or path.suffix or path.exists():
        return (f"{start} names {model!r}, which looks like a path, and there is no folder at "
                f"{str(path.resolve())!r}. Pass the folder written by nlp.to_disk(folder), or 'blank:<lang>' "
                "(e.g. 'blank:en', no download).")
    if model.lower() in codes:
        lang = model.lower()
        return (f"{start} names {model!r}, a language code, not a pipeline. Use 'blank:{lang}' (spaCy's {lang} "
                f"tokenizer rules, no download), or install a trained pipeline of that language "
                f"(e.g. `python -m spacy download {lang}_core_{'web' if lang in ('en', 'zh') else 'news'}_sm`) "
                "and pass its name.")
    lang = model.split("_", 1)[0].lower()
    blank = f"'blank:{lang}'" if lang in codes else "'blank:<lang>' (e.g. 'blank:en')"
    said = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    return (f"{start} names the spaCy pipeline {model!r}, which is not installed (nor a folder). Use {blank} "
            f"(no download: the tokenizer rules only), or install it: `python -m spacy download {model}`. "
            f"(spaCy: {said})")


def _build_nlp(model: str, lemmatize: bool):
    """Load a spaCy pipeline (see :func:`_load_nlp`)."""
    import spacy

    if model.startswith("blank:"):
        lang = model.split(":", 1)[1]
        try:
            nlp = spacy.blank(lang)
        except (ImportError, KeyError) as err:
            # spaCy knows the language, but its tokenizer imports a package that is missing
            # (Japanese: sudachipy, Korean: natto-py, Thai: pythainlp, Vietnamese: pyvi)
            missing = getattr(err.__cause__ or err.__context__, "name", None)
            if isinstance(err, ImportError) and missing and not missing.startswith("spacy."):
                command = f"pip install 'spacy[{lang}]'" if lang in _SPACY_EXTRAS else f"pip install {missing}"
                raise ValueError(
                    f"The 'model' parameter of SpacyTokenizer asks for spaCy's blank {lang!r} pipeline "
                    f"({model!r}), whose tokenizer needs the package {missing!r}, which is not installed: "
                    f"{err} Install it (`{command}`), or use another language."
                ) from err
            codes = _spacy_language_codes()
            near = lang.strip().lower()
            hint = f" Did you mean 'blank:{near}'?" if near in codes and lang != near else ""
            raise ValueError(
                f"The 'model' parameter of SpacyTokenizer names an unknown spaCy language {lang!r} "
                f"({model!r}); use a language code spaCy knows, e.g. 'blank:en'.{hint} spaCy's codes: "
                f"{', '.join(codes)} ('xx': several languages)."
            ) from err
        # This private pipeline has no trained components: compute only the
        # lexical attributes the tokenizer reads (token boundaries do not
        # depend on them), which makes each new word ~15% cheaper.
        from spacy import attrs

        wanted = {attrs.LANG, attrs.LOWER, attrs.NORM, attrs.IS_STOP, attrs.IS_PUNCT, attrs.LIKE_NUM, attrs.IS_SPACE}
        nlp.vocab.lex_attr_getters = {k: v for k, v in nlp.vocab.lex_attr_getters.items() if k in wanted}
        nlp._toolkit_blank = True
    else:
        try:
            nlp = spacy.load(model, exclude=[] if lemmatize else ["tagger", "parser", "ner", "lemmatizer", "attribute_ruler", "senter", "tok2vec", "transformer", "morphologizer", "textcat"])
        except OSError as err:
            raise ValueError(_missing_pipeline_message(model, err)) from err
    if lemmatize and "lemmatizer" not in nlp.pipe_names:
        lemmatizer = nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
        try:
            lemmatizer.initialize()
        except Exception as err:  # spaCy raises ValueError/KeyError/ImportError here
            try:
                import spacy_lookups_data
            except ImportError:
                raise ValueError(
                    f"lemmatize=True needs spaCy's lookup tables for language {nlp.lang!r} "
                    "(package spacy-lookups-data); they could not be loaded. Install "
                    "spacy-lookups-data or set lemmatize=False."
                ) from err
            # installed, but it has no table for this language (Greek, Arabic, Hebrew, Hindi, Chinese...)
            version = getattr(spacy_lookups_data, "__version__", "?")
            raise ValueError(
                f"lemmatize=True (with model={model!r}) needs a lemma lookup table for language {nlp.lang!r}, "
                f"and the installed spacy-lookups-data {version} has none ({err}). Set lemmatize=False, or "
                f"pass as model a trained spaCy pipeline of that language with its own lemmatizer "
                f"(e.g. `python -m spacy download {nlp.lang}_core_news_sm`, where spaCy offers one)."
            ) from err
    return nlp


def _model_fingerprint(nlp) -> str:
    """What decides a pipeline's tokens: spaCy's version, the pipeline's name, version and components, and
    digests of its tokenizer's rules (special cases, prefix/suffix/infix patterns) and of the stop words it
    was loaded with; keys the disk cache and the saved span tables, so neither serves another pipeline's tokens
    (one saved again to the same folder after ``add_special_case``, or edited stop words)."""
    import spacy

    meta = getattr(nlp, "meta", {}) or {}
    rules = getattr(nlp, "_toolkit_rules_digest", None)
    if rules is None:
        try:
            data = nlp.tokenizer.to_bytes(exclude=["vocab"])
        except (AttributeError, NotImplementedError, TypeError, ValueError):  # a custom tokenizer class without serialization
            data = repr(type(nlp.tokenizer)).encode()
        rules = nlp._toolkit_rules_digest = hashlib.sha1(data, usedforsecurity=False).hexdigest()[:16]
    stops = getattr(nlp, "_toolkit_stops", None)
    stops = sorted(_stop_words(nlp) if stops is None else stops)
    stops = hashlib.sha1("\n".join(stops).encode("utf-8", "surrogatepass"), usedforsecurity=False).hexdigest()[:16]
    return (f"spacy={spacy.__version__};lang={nlp.lang};name={meta.get('name')};version={meta.get('version')};"
            f"pipes={nlp.pipe_names};tokenizer={rules};stop_words={stops}")


_SIG = 1 << 16  # packs a left and a right signature id into one span code
_NONE: frozenset = frozenset()
_SEPARATOR = "\x00"  # never in cleaned text (control characters are replaced)


def _special_case_pairs(tokenizer) -> tuple[set[tuple[str, str]], set[str]]:
    """Adjacent token pairs inside spaCy's multi-token special-case patterns.

    spaCy's special-case matcher compares token sequences and ignores
    whitespace, so a pattern such as ``["'", "'"]`` (for ``''``) can match the
    last token of one span and the first of the next, and that match can
    block one inside the span. Documents where two neighbouring spans end and
    start with such a pair are tokenized by spaCy directly.

    Returns the pairs and the token texts the matched rules produce.
    """
    from spacy.attrs import ORTH
    from spacy.tokenizer import Tokenizer

    plain = Tokenizer(
        tokenizer.vocab,
        rules={},
        prefix_search=tokenizer.prefix_search,
        suffix_search=tokenizer.suffix_search,
        infix_finditer=tokenizer.infix_finditer,
        token_match=tokenizer.token_match,
        url_match=tokenizer.url_match,
    )
    pairs, produced = set(), set()
    for rule, substrings in (tokenizer.rules or {}).items():
        if tokenizer.faster_heuristics and not (
            tokenizer.find_prefix(rule) or tokenizer.find_infix(rule) or tokenizer.find_suffix(rule) or " " in rule
        ):
            continue  # not in the matcher (see Tokenizer.add_special_case)
        pieces = [t.text for t in plain(rule)]
        pairs.update(zip(pieces[:-1], pieces[1:]))
        produced.update(sub.get(ORTH, sub.get("ORTH", "")) for sub in substrings)
    return pairs, produced


class _Engine:
    """Per-process tokenization state for one configuration.

    Every span (whitespace-free, or whitespace) spaCy has tokenized gets an
    id; the output token ids it yields after filtering sit in flat arrays
    (see :meth:`reset`). ``index`` maps each output string to its id
    (insertion order is id order).
    """

    def __init__(self, nlp, *, lowercase, lemmatize, remove_stop, remove_punct, remove_numbers, remove_space):
        from spacy.tokenizer import Tokenizer

        self.nlp = nlp
        self.lowercase = lowercase
        self.lemmatize = lemmatize
        self.filters = (remove_stop, remove_punct, remove_numbers, remove_space)
        self.remove_space = remove_space
        components_context_free = all(
            name == "lemmatizer" and getattr(proc, "mode", None) == "lookup" for name, proc in nlp.pipeline
        )
        self.span_cacheable = type(nlp.tokenizer) is Tokenizer and (not lemmatize or components_context_free)
        pairs, produced = _special_case_pairs(nlp.tokenizer) if self.span_cacheable else (set(), set())
        self.pairs, self.produced = pairs, produced
        self.lefts = {a for a, _ in pairs}
        self.rights = {b for _, b in pairs}
        # pattern tokens by the character a span must end (lefts) or start (rights) with to hold them
        self.lefts_by_last: dict[str, tuple[str, ...]] = {}
        self.rights_by_first: dict[str, tuple[str, ...]] = {}
        for token in sorted(self.lefts):
            self.lefts_by_last[token[-1]] = (*self.lefts_by_last.get(token[-1], ()), token)
        for token in sorted(self.rights):
            self.rights_by_first[token[0]] = (*self.rights_by_first.get(token[0], ()), token)
        self.rules = set(getattr(nlp.tokenizer, "rules", None) or {})  # none in zh/ja/ko/th/vi's own tokenizers
        self.left_texts = self.lefts | produced
        self.right_texts = self.rights | produced
        # Spans spaCy provably keeps as one token skip the tokenizer call; the
        # lexical attributes then come from the same getters spaCy would use,
        # which only a blank pipeline (no trained lexeme data) guarantees.
        self.simple_spans = self.span_cacheable and not lemmatize and getattr(nlp, "_toolkit_blank", False)
        store = nlp.vocab.strings
        self.left_hashes = np.array(sorted(store.add(t) for t in self.lefts | produced), dtype=np.uint64)
        self.right_hashes = np.array(sorted(store.add(t) for t in self.rights | produced), dtype=np.uint64)
        self.lock = threading.Lock()
        self._run_units: dict[tuple, int] = {}  # (run unit, side, context) -> _strips(...)
        self.reset()

    def reset(self):
        # Known spans get consecutive ids; span i yields the output token ids
        # ``tokens[starts[i]:starts[i] + lengths[i]]`` and has pair code
        # ``codes[i]`` (left signature id * _SIG + right signature id; 0 for
        # spans whose edge tokens take part in no special-case pattern).
        self.span_ids: dict[str, int] = {}
        # growable arrays (capacity doubles), so adding a few spans costs only those spans
        self._span_arrays = [np.zeros(1024, np.int64) for _ in range(3)]  # lengths, starts, codes
        self._token_array = np.zeros(4096, np.int32)
        self._n_spans = 0
        self._n_tokens = 0
        self.index: dict[str, int] = {}  # output string -> output id
        self.table: list[str] = []  # output id -> output string (the keys of ``index`` in order)
        self.left_sigs: dict[frozenset, int] = {frozenset(): 0}
        self.right_sigs: dict[frozenset, int] = {frozenset(): 0}
        self.compatible = np.zeros((1, 1), dtype=bool)
        self.empty_id = self._add_spans([""], [0], [])
        self.separator_id = self._add_spans([_SEPARATOR], [0], [])

    def _add_spans(self, spans, lengths, ids, codes=None) -> int:
        """Register spans with their token counts, flat token ids and pair codes; returns the first new span id."""
        first = self._n_spans
        lengths = np.asarray(lengths, dtype=np.int64)
        ids = np.asarray(ids, dtype=np.int32)
        starts = np.cumsum(lengths) - lengths + self._n_tokens
        codes = np.zeros(len(spans), dtype=np.int64) if codes is None else codes
        self.span_ids.update(zip(spans, range(first, first + len(spans))))
        n, m = self._n_spans, self._n_tokens
        self._span_arrays = [_append(array, n, values) for array, values in zip(self._span_arrays, (lengths, starts, codes))]
        self._token_array = _append(self._token_array, m, ids)
        self._n_spans += len(spans)
        self._n_tokens += ids.size
        return first

    def arrays(self):
        """(lengths, starts, codes, tokens) of the known spans as numpy arrays (views)."""
        n = self._n_spans
        lengths, starts, codes = (array[:n] for array in self._span_arrays)
        return lengths, starts, codes, self._token_array[: self._n_tokens]

    def __len__(self) -> int:
        return self._n_spans

    # ---- spaCy output to strings ------------------------------------------
    def _doc_table(self, doc) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """A Doc's output strings as a table and each token's index in it, the filters' keep mask, the raw columns.

        The raw columns (``to_array``) are: output attribute, IS_STOP,
        IS_PUNCT, LIKE_NUM, IS_SPACE, ORTH.
        """
        from spacy.attrs import (
            IS_PUNCT,
            IS_SPACE,
            IS_STOP,
            LEMMA,
            LIKE_NUM,
            LOWER,
            ORTH,
        )

        attr = LEMMA if self.lemmatize else (LOWER if self.lowercase else ORTH)
        arr = doc.to_array([attr, IS_STOP, IS_PUNCT, LIKE_NUM, IS_SPACE, ORTH]).reshape(-1, 6)
        keep = np.ones(len(arr), dtype=bool)
        for flag, column in zip(self.filters, (1, 2, 3, 4)):
            if flag:
                keep &= arr[:, column] == 0
        uniq, inverse = np.unique(arr[:, 0], return_inverse=True)
        store = self.nlp.vocab.strings
        texts = [store[h] for h in uniq.tolist()]
        if self.lemmatize and self.lowercase:
            texts = [t.lower() for t in texts]
        table = np.empty(len(texts), dtype=object)
        table[:] = texts
        return table, inverse.reshape(-1), keep, arr

    def _doc_strings(self, doc) -> list[str]:
        """Output strings of the tokens of a Doc the filters keep."""
        table, inverse, keep, _ = self._doc_table(doc)
        return table[inverse[keep]].tolist()

    def _ids(self, strings) -> list[int]:
        """Output ids of ``strings``; new strings get the next ids in order of first appearance."""
        index, table = self.index, self.table
        new = [s for s in dict.fromkeys(strings) if s not in index]
        if new:
            index.update(zip(new, range(len(table), len(table) + len(new))))
            table.extend(new)
        return list(map(index.__getitem__, strings))

    def _doc(self, text: str):
        """spaCy's Doc of ``text``: the tokenizer, then, for lemmas, the (context-free) components.

        Without ``lemmatize`` only the tokenizer runs, as documented: a
        pipeline folder's other components (an ``entity_ruler`` with
        ``merge_entities``) would otherwise act inside single spans only.
        """
        doc = _join_clusters(self.nlp.tokenizer(text), text)  # one token per emoji, as in encode_with_pipe
        if self.lemmatize:
            for _name, proc in self.nlp.pipeline:  # only context-free components get here (the lookup lemmatizer)
                doc = proc(doc)
        return doc

    def _strips(self, unit: str, side: str, context: str) -> int:
        """Whether spaCy takes a run of ``unit`` followed (suffix) or preceded (prefix) by ``context`` off a word one unit at a time.

        0 when spaCy's suffix (prefix) rules do not take ``context`` and the
        run off ``"word" + run + context`` (``context + run + "word"``) one
        affix at a time (spaCy is then linear on it); 2 when, besides, the run
        alone or cut by a space gives the unit's own tokens once per
        repetition, and the tokens of that text are ``"word"``, the unit's,
        and those of the last piece (``_RUN_MARGIN`` units and ``context``)
        tokenized alone, mirrored for prefixes: cutting the run keeps
        spaCy's tokens; 1 otherwise (":):):)...", whose tokens depend on
        where spaCy's two ends meet). See :func:`_cut_long_runs`.
        """
        key = (unit, side, context)
        known = self._run_units.get(key)
        if known is None:
            from spacy.tokenizer import Tokenizer

            tokenizer = self.nlp.tokenizer
            if not isinstance(tokenizer, Tokenizer):  # a language's own segmenter (zh, ja, th...): left alone
                return 0

            def tokens(text):
                return [t.text for t in _join_clusters(tokenizer(text))]

            n = 2 * _RUN_MARGIN + 4
            m = n - _RUN_MARGIN
            one = tokens(unit)
            run = one * n
            if side == "suffix":
                text = "word" + unit * n + context
                cover = _affixes_cover(text, tokenizer.find_suffix, from_end=True)
                cut = ["word", *one * m, *tokens(unit * _RUN_MARGIN + context)]
            else:
                text = context + unit * n + "word"
                cover = _affixes_cover(text, tokenizer.find_prefix, from_end=False)
                cut = [*tokens(context + unit * _RUN_MARGIN), *one * m, "word"]
            if cover < len(text) - 4:
                known = 0  # not taken off as affixes: spaCy is linear on it
            elif (tokens(unit * n) == run == tokens(unit * (n // 2) + " " + unit * (n - n // 2))
                  and tokens(text) == cut):
                known = 2  # the run, cut, and what follows (precedes) it give the tokens of the whole
            else:  # 1 if spaCy takes the run off a few characters at a time (quadratic), not in one go ("....")
                known = 1 if len(tokens(unit * n)) >= n // 2 else 0
            if len(self._run_units) > 10_000:
                self._run_units.clear()
            self._run_units[key] = known
        return known

    def cut_long_runs(self, texts: list[str]) -> list[str]:
        """``texts`` with the long runs of their longest spans cut (:func:`_cut_long_runs`)."""
        from spacy.tokenizer import Tokenizer

        tokenizer = self.nlp.tokenizer
        # a language's own segmenter (zh, ja, th...) has no affix rules: its runs are left alone (_strips)
        affixes = None
        if isinstance(tokenizer, Tokenizer):
            if not hasattr(self, "_specials"):  # special cases without spaces (what a cut must not part)
                self._specials = frozenset(r for r in tokenizer.rules or () if len(r) > 1 and not _HAS_SPACE(r))
            affixes = (tokenizer.find_prefix, tokenizer.find_suffix, self._specials)
        return [_cut_long_runs(text, self._strips, self._tokens, affixes) if len(text) > _LONG_SPAN else text
                for text in texts]

    def _tokens(self, text: str) -> list[str]:
        """spaCy's token texts of ``text`` (one per emoji), as :meth:`_doc` makes them, whitespace left out."""
        return [t.text for t in _join_clusters(self.nlp.tokenizer(text)) if not t.is_space]

    def tokenize_doc(self, text: str) -> list[int]:
        """Output ids of one text tokenized by spaCy directly (no span cache)."""
        return self._ids(self._doc_strings(self._doc(text)))

    def learn_strings(self, spans: list[str]) -> tuple[list[str], np.ndarray, list[str], dict]:
        """spaCy's output for each span: the spans reordered, token counts (after filters), flat strings, edge signatures.

        The counts, strings and signatures follow the returned order of the
        spans (one-token spans first), which is what :meth:`remember` takes.

        Whitespace-free spans go through one tokenizer call, separated by
        "\\n": spaCy tokenizes each on its own, and the separator is a
        whitespace token that marks where each span ends. (It also keeps the
        special-case matcher from pairing tokens of neighbouring spans.)
        """
        nlp = self.nlp
        blanks = [s for s in spans if s[0].isspace()]
        words = [s for s in spans if not s[0].isspace()]
        simple = []
        if self.simple_spans:
            is_simple = self._is_single_token
            simple = [w for w in words if w.isalpha() and is_simple(w)]
            if simple:
                chosen = set(simple)
                words = [w for w in words if w not in chosen]
        order = simple + words + blanks
        n_words = len(words)
        counts, strings = [], []
        signatures: dict[int, tuple] = {}
        if simple:
            counts_s, strings_s, signatures_s = self._learn_simple(simple)
            counts.append(counts_s)
            strings.extend(strings_s)
            signatures.update(signatures_s)
        offset = len(simple)
        if n_words:
            doc = self._doc("\n".join(words))
            table, inverse, keep, arr = self._doc_table(doc)
            separator = arr[:, 4].astype(bool)
            if int(separator.sum()) != n_words - 1:
                raise RuntimeError(
                    "spaCy's tokenizer did not keep the span separators; please report this "
                    "with the tokenizer settings (model and options) used."
                )
            span_of_token = np.cumsum(separator) - separator
            tokens = ~separator
            # edge tokens (before any filter) that may meet a neighbour's in a pattern
            tok_span, orth = span_of_token[tokens], arr[tokens, 5]
            first = orth[np.searchsorted(tok_span, np.arange(n_words))]
            last = orth[np.searchsorted(tok_span, np.arange(n_words), side="right") - 1]
            left_candidate = _in_sorted(last, self.left_hashes)
            right_candidate = _in_sorted(first, self.right_hashes)
            store = nlp.vocab.strings
            for k in np.flatnonzero(left_candidate | right_candidate).tolist():
                span = words[k]
                left = self._left_edge_set(store[int(last[k])], span) if left_candidate[k] else _NONE
                right = self._right_edge_set(store[int(first[k])], span) if right_candidate[k] else _NONE
                if left or right:
                    signatures[offset + k] = (left, right)
            keep &= tokens
            counts.append(np.bincount(span_of_token[keep], minlength=n_words))
            strings.extend(table[inverse[keep]].tolist())
        for blank in blanks:
            kept = self._doc_strings(self._doc(blank))
            counts.append(np.array([len(kept)]))
            strings.extend(kept)
        counts = np.concatenate(counts) if counts else np.zeros(0, np.int64)
        return order, counts, strings, signatures

    def _is_single_token(self, span: str) -> bool:
        """Whether spaCy's tokenizer keeps ``span`` whole: no special case, no affix, no infix.

        These are the tokenizer's own checks (``Tokenizer._split_affixes`` and
        ``_attach_tokens``): with none of them firing the span is one token.
        """
        tokenizer = self.nlp.tokenizer
        return (
            span not in self.rules
            and not tokenizer.find_prefix(span)
            and not tokenizer.find_suffix(span)
            and not tokenizer.find_infix(span)
        )

    def _learn_simple(self, spans: list[str]) -> tuple[np.ndarray, list[str], dict]:
        """Output of one-token spans from the lexical attribute getters spaCy uses."""
        from spacy import attrs

        getters = self.nlp.vocab.lex_attr_getters
        remove_stop, remove_punct, remove_numbers, _remove_space = self.filters
        tests = [getters[a] for a, on in ((attrs.IS_STOP, remove_stop), (attrs.IS_PUNCT, remove_punct), (attrs.LIKE_NUM, remove_numbers)) if on]
        lower = getters[attrs.LOWER]
        counts = np.ones(len(spans), dtype=np.int64)
        strings = []
        signatures = {}
        for k, span in enumerate(spans):
            if any(test(span) for test in tests):
                counts[k] = 0
            else:
                strings.append(lower(span) if self.lowercase else span)
            left = frozenset({span} & self.lefts) if span in self.left_texts else frozenset()
            right = frozenset({span} & self.rights) if span in self.right_texts else frozenset()
            if left or right:
                signatures[k] = (left, right)
        return counts, strings, signatures

    def _left_edge_set(self, token: str, span: str) -> frozenset:
        """Pattern tokens the span's last token can be before spaCy's matcher runs.

        It is the token itself, unless the token came out of a special-case
        rule: then any pattern token the span's text ends with may be.
        """
        found = {token} & self.lefts
        if token in self.produced:
            found.update(c for c in self.lefts_by_last.get(span[-1], ()) if span.endswith(c))
        return frozenset(found) if found else _NONE

    def _right_edge_set(self, token: str, span: str) -> frozenset:
        """As :meth:`_left_edge_set`, for the span's first token and the tokens it starts with."""
        found = {token} & self.rights
        if token in self.produced:
            found.update(c for c in self.rights_by_first.get(span[0], ()) if span.startswith(c))
        return frozenset(found) if found else _NONE

    def remember(self, spans: list[str], lengths: np.ndarray, strings: list[str], signatures: dict) -> None:
        codes = np.zeros(len(spans), dtype=np.int64)
        for k, (left, right) in signatures.items():
            codes[k] = self._signature_id(self.left_sigs, left) * _SIG + self._signature_id(self.right_sigs, right)
        self._add_spans(spans, lengths, self._ids(strings), codes)

    def translate_codes(self, codes: np.ndarray, lefts: list[frozenset], rights: list[frozenset]) -> np.ndarray:
        """This engine's pair codes for ``codes`` that number signatures by ``lefts`` and ``rights`` (another table).

        The same codes :meth:`remember` gives the spans of these signatures, in
        one pass per distinct signature instead of two calls per span: new
        signatures get their ids in order of first use, as there.
        """
        out = np.zeros(codes.size, dtype=np.int64)
        coded = np.flatnonzero(codes)
        if not coded.size:
            return out
        parts = []
        sides = ((self.left_sigs, lefts, codes[coded] // _SIG), (self.right_sigs, rights, codes[coded] % _SIG))
        for table, signatures, ids in sides:
            used, first, inverse = np.unique(ids, return_index=True, return_inverse=True)
            mapped = np.zeros(used.size, dtype=np.int64)
            for u in np.argsort(first, kind="stable").tolist():  # first-use order
                mapped[u] = self._signature_id(table, signatures[int(used[u])])
            parts.append(mapped[inverse.reshape(-1)])
        out[coded] = parts[0] * _SIG + parts[1]
        return out

    def _signature_id(self, table: dict, signature: frozenset) -> int:
        sid = table.get(signature)
        if sid is None:
            sid = table[signature] = len(table)
            if sid >= _SIG:
                raise RuntimeError("too many special-case signatures")
            # one new row (left) or column (right) of the compatibility matrix; the ids are in insertion order
            pairs = self.pairs
            if table is self.left_sigs:
                row = [any((a, b) in pairs for a in signature for b in right) for right in self.right_sigs]
                self.compatible = np.vstack([self.compatible, np.array(row, dtype=bool)[np.newaxis, :]])
            else:
                column = [any((a, b) in pairs for a in left for b in signature) for left in self.left_sigs]
                self.compatible = np.hstack([self.compatible, np.array(column, dtype=bool)[:, np.newaxis]])
        return sid

    # ---- batches ------------------------------------------------------------
    def _spans_of(self, text: str) -> list[str]:
        """The spans spaCy's tokenizer hands to its cache, whitespace ones included."""
        parts = _WS_SPLIT(text)
        spans = [parts[0]]
        for i in range(1, len(parts), 2):
            blank = parts[i]
            if parts[i - 1] and blank[0] == " ":  # one space is trailing whitespace of a token
                blank = blank[1:]
            spans.append(blank)
            spans.append(parts[i + 1])
        return spans

    def split_batch(self, texts: list[str]) -> list[str]:
        """All spans of a batch, documents separated by ``_SEPARATOR``."""
        if self.remove_space:
            # Whitespace spans only ever yield whitespace tokens, so only the
            # whitespace-free ones matter: str.split() splits at exactly the
            # characters spaCy treats as whitespace (str.isspace).
            return f" {_SEPARATOR} ".join(texts).split()
        spans = []
        for i, text in enumerate(texts):
            if i:
                spans.append(_SEPARATOR)
            spans.extend(self._spans_of(text))
        return spans

    def span_ids_of(self, spans: list[str]) -> np.ndarray:
        """Span ids, -1 for spans never seen."""
        return np.fromiter(map(self.span_ids.get, spans, itertools.repeat(-1)), dtype=np.int64, count=len(spans))

    def missing(self, spans: list[str], sid: np.ndarray) -> tuple[list[str], np.ndarray, np.ndarray]:
        """Never-seen spans (once each, in order of appearance), their positions in ``spans``, and which one is where."""
        holes = np.flatnonzero(sid < 0)
        first_hole: dict[str, int] = {}  # span -> its first position among the holes
        where = np.fromiter(
            map(first_hole.setdefault, map(spans.__getitem__, holes.tolist()), itertools.count()),
            dtype=np.int64, count=holes.size,
        )
        rank = np.zeros(holes.size, dtype=np.int64)
        rank[np.fromiter(first_hole.values(), dtype=np.int64, count=len(first_hole))] = np.arange(len(first_hole))
        return list(first_hole), holes, rank[where]

    def fill(self, sid: np.ndarray, missing: list[str], holes: np.ndarray, which: np.ndarray) -> None:
        """Replace the -1 of ``sid`` at ``holes`` by the ids the ``missing`` spans got since (see :meth:`missing`)."""
        ids = self.span_ids
        sid[holes] = np.fromiter(map(ids.__getitem__, missing), dtype=np.int64, count=len(missing))[which]

    def risky_boundaries(self, sid: np.ndarray) -> np.ndarray:
        """Positions ``p`` in ``sid`` where spans ``p`` and ``p + 1`` could meet in a special-case pattern."""
        code = self.arrays()[2][sid]
        if not code.any():
            return np.zeros(0, dtype=np.int64)
        return np.flatnonzero(self.compatible[code[:-1] // _SIG, code[1:] % _SIG])

    def risky_documents(self, sid: np.ndarray) -> np.ndarray:
        """Documents where neighbouring spans could meet in a special-case pattern."""
        if not self.remove_space:  # '' stands for a single space: not a barrier
            sid = sid[sid != self.empty_id]
        hits = self.risky_boundaries(sid)
        return np.unique(np.searchsorted(np.flatnonzero(sid == self.separator_id), hits))

    def assemble(self, sid: np.ndarray, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Flat output ids and token counts of a batch whose spans are all known."""
        lengths, starts, _codes, tokens = self.arrays()
        per_span = lengths[sid]
        ends = np.cumsum(per_span)
        total = int(ends[-1]) if ends.size else 0
        ids = tokens[np.repeat(starts[sid] - (ends - per_span), per_span) + np.arange(total)]
        separators = np.flatnonzero(sid == self.separator_id)
        bounds = np.concatenate([[0], ends[separators], [total]])
        doc_lengths = np.diff(bounds)
        if self.remove_space:  # sid holds only the documents' spans and the separators
            hits = self.risky_boundaries(sid)
            doc_of_hit = np.searchsorted(separators, hits)
            risky = np.unique(doc_of_hit)
        else:
            risky = self.risky_documents(sid)
        if risky.size:
            pieces = np.split(ids, bounds[1:-1])
            first_span = np.concatenate([[0], separators + 1])  # position in sid of each document's first span
            for i in risky.tolist():
                if self.remove_space:
                    stop = separators[i] if i < separators.size else sid.size
                    pieces[i] = self._retokenize_windows(
                        texts[i], pieces[i], hits[doc_of_hit == i] - first_span[i], per_span[first_span[i] : stop]
                    )
                else:
                    pieces[i] = np.asarray(self.tokenize_doc(texts[i]), dtype=np.int32)
                doc_lengths[i] = pieces[i].size
            ids = np.concatenate(pieces)
        return ids, doc_lengths

    def assemble_one(self, sid: np.ndarray, text: str) -> np.ndarray:
        """Flat output ids of one document (``text``, whose spans are ``sid``, all known): :meth:`assemble` of
        ``[text]`` without the batch's separators, splits and per-document sorts (a third of the cost of a
        one-document ``SpacyTokenizer.__call__`` on short texts)."""
        lengths, starts, codes, tokens = self.arrays()
        per_span = lengths[sid]
        ends = np.cumsum(per_span)
        total = int(ends[-1]) if ends.size else 0
        ids = tokens[np.repeat(starts[sid] - (ends - per_span), per_span) + np.arange(total)]
        # risky_boundaries without a batch: '' stands for a single space, no barrier, unless spaces are removed
        code = codes[sid if self.remove_space else sid[sid != self.empty_id]]
        if not code.any():
            return ids
        hits = np.flatnonzero(self.compatible[code[:-1] // _SIG, code[1:] % _SIG])
        if not hits.size:
            return ids
        if self.remove_space:
            return self._retokenize_windows(text, ids, hits, per_span)
        return np.asarray(self.tokenize_doc(text), dtype=np.int32)

    def _retokenize_windows(self, text: str, ids: np.ndarray, hits: np.ndarray, span_lengths: np.ndarray) -> np.ndarray:
        """Output ids of one document whose spans ``h`` and ``h + 1`` may meet in a pattern, for each ``h`` in ``hits``.

        Only the stretch of text from the first to the last span of each run of
        such boundaries goes to spaCy; the rest keeps its cached tokens. spaCy's
        matcher cannot pair tokens across any other boundary, so the stretch
        tokenizes alone exactly as inside the whole text (which is what
        ``tokenize_doc`` would do, at the cost of the whole text).
        """
        words = [m.span() for m in _NON_SPACE.finditer(text)]
        if len(words) != span_lengths.size:  # cannot happen (same splitter); stay exact anyway
            return np.asarray(self.tokenize_doc(text), dtype=np.int32)
        token_start = np.concatenate([[0], np.cumsum(span_lengths)])
        hits = hits.tolist()
        out, done, k = [], 0, 0
        while k < len(hits):
            first = last = hits[k]
            while k + 1 < len(hits) and hits[k + 1] == last + 1:
                k += 1
                last = hits[k]
            last += 1  # the run joins spans first .. last
            out.append(ids[token_start[done] : token_start[first]])
            out.append(np.asarray(self.tokenize_doc(text[words[first][0] : words[last][1]]), dtype=np.int32))
            done = last + 1
            k += 1
        out.append(ids[token_start[done] :])
        return np.concatenate(out)

    def encode_with_pipe(self, texts):
        """Pipelines the span cache cannot serve: stream Docs through nlp.pipe (the tokenizer alone without lemmas), keep only ids."""
        parts, lengths = [], []
        for doc in self.nlp.pipe(texts) if self.lemmatize else map(self.nlp.tokenizer, texts):
            ids = self._ids(self._doc_strings(_join_clusters(doc)))  # merged after the components: lemma = text
            parts.append(np.asarray(ids, dtype=np.int32))
            lengths.append(len(ids))
        ids = np.concatenate(parts) if parts else np.zeros(0, np.int32)
        return ids, np.asarray(lengths, dtype=np.int64)

    def strings_for(self, ids: np.ndarray) -> tuple[np.ndarray, tuple[str, ...]]:
        """Compact ``ids`` (engine ids) to a table of only the strings used."""
        table = self.table
        if ids.size * 8 < len(table):  # a few documents: sort their ids rather than scan the table
            used, inverse = np.unique(ids, return_inverse=True)
            return inverse.reshape(-1).astype(np.int32), tuple(map(table.__getitem__, used.tolist()))
        mask = np.zeros(len(table), dtype=bool)
        mask[ids] = True
        new_index = np.cumsum(mask, dtype=np.int64) - 1
        return new_index[ids].astype(np.int32), tuple(map(table.__getitem__, np.flatnonzero(mask).tolist()))


def _in_sorted(values: np.ndarray, sorted_values: np.ndarray) -> np.ndarray:
    """``np.isin(values, sorted_values)`` for a sorted ``sorted_values``, by binary search (no sort per call)."""
    if not sorted_values.size:
        return np.zeros(values.shape, dtype=bool)
    at = np.minimum(np.searchsorted(sorted_values, values), sorted_values.size - 1)
    return sorted_values[at] == values


def _append(array: np.ndarray, used: int, values) -> np.ndarray:
    """``array`` with ``values`` written after its first ``used`` entries, reallocated (doubled) when full."""
    values = np.asarray(values)
    end = used + values.size
    if end > array.size:
        grown = np.empty(max(2 * array.size, end), dtype=array.dtype)
        grown[:used] = array[:used]
        array = grown
    array[used:end] = values
    return array


#: The advice of the error about a document longer than ``max_length``, in the terms of the library (the
#: parameters of SpacyTokenizer); a command words it in its own options with :func:`reword_too_long`.
_TOO_LONG_ADVICE = ("Split long documents first, raise the max_length parameter of SpacyTokenizer (spaCy's own "
                    "limit guards memory use), or pass errors='skip' to give such documents empty token lists.")


def reword_too_long(message: str, *, raise_limit: str | None, skip: str | None) -> str:
    """``message`` with the advice of a too-long-document error given in a caller's terms.

    :class:`SpacyTokenizer` raises a :class:`~toolkit.exceptions.DocumentError`
    for a document longer than ``max_length`` that says what to do in its
    own parameters (``max_length``, ``errors='skip'``). A command line that
    sets them otherwise (``--set max_length=...``, ``--skip-bad``) rewords
    the message on its way out, as :meth:`~toolkit.exceptions.DocumentError.naming`
    renames the document; the message survives worker processes as text,
    so this works on errors raised in joblib or Dask workers too.

    Parameters
    ----------
    message : str
        The error's message (another message is returned unchanged).
    raise_limit : str or None
        How the caller raises the limit, e.g. ``"raise it with --set
        max_length=..."``; None when it cannot (the advice then leaves it out).
    skip : str or None
        How the caller skips such documents, e.g. ``"pass --skip-bad"``; None
        when it cannot.

    Returns
    -------
    str

    Examples
    --------
    >>> message = "Document 3 of X has 12 characters, more than max_length=10. " + _TOO_LONG_ADVICE
    >>> reword_too_long(message, raise_limit="raise it with --set max_length=...", skip=None).split("10. ")[1]
    "Split long documents first, or raise it with --set max_length=... (spaCy's own limit guards memory use)."
    """
    if _TOO_LONG_ADVICE not in message:
        return message
    ways = []
    if raise_limit:
        ways.append(f"{raise_limit} (spaCy's own limit guards memory use)")
    if skip:
        ways.append(f"{skip} to give such documents empty token lists")
    advice = "Split long documents first" + "".join(
        f"{', or ' if k == len(ways) - 1 else ', '}{way}" for k, way in enumerate(ways)) + "."
    return message.replace(_TOO_LONG_ADVICE, advice)


def _engine_options(params) -> dict:
    keys = ("lowercase", "remove_stop", "remove_punct", "remove_numbers", "remove_space")
    return {k: params[k] for k in keys}


def _engine_key(model, lemmatize, options) -> tuple:
    return (model, lemmatize, *sorted(options.items()))


def _get_engine(model, lemmatize, *, create=True, **options) -> _Engine | None:
    """The process's engine for these settings; made on first use (None then if ``create`` is False).

    An engine whose pipeline is out of date (:func:`_load_nlp` loaded it
    again: edited stop words, a folder saved again) is dropped with its span
    table, which holds the old pipeline's tokens.
    """
    model = _model_key(model)
    key = _engine_key(model, lemmatize, options)
    with _LOCK:
        engine = _ENGINES.get(key)
        if engine is not None and engine.nlp is not _load_nlp(model, lemmatize):
            engine = None
            if not create:
                return None
        if engine is None and create:
            engine = _Engine(_load_nlp(model, lemmatize), lemmatize=lemmatize, **options)
            _ENGINES.put(key, engine)
    return engine


_SPAN_CACHE_VERSION = 2  # 2: one token per emoji (_join_clusters): span tables of version 1 split them
_SIG_SEP = "\x01"  # between the tokens of one special-case signature (never in cleaned text either)


def _engine_for(tokenizer, create: bool):
    """The process's engine for ``tokenizer``'s settings (None if there is none and ``create`` is False)."""
    return _get_engine(tokenizer.model, tokenizer.lemmatize, create=create, **_engine_options(vars(tokenizer)))


def _engine_fingerprint(engine) -> str:
    return (f"{_model_fingerprint(engine.nlp)};lemmatize={engine.lemmatize};lowercase={engine.lowercase};"
            f"filters={engine.filters};span_cache={_SPAN_CACHE_VERSION}")


def _blob(strings) -> np.ndarray:
    return np.frombuffer(_SEPARATOR.join(strings).encode("utf-8"), dtype=np.uint8)


def _unblob(array: np.ndarray, n: int) -> list[str]:
    if n == 0:
        return []
    return array.tobytes().decode("utf-8").split(_SEPARATOR)


def export_span_cache(tokenizer, path) -> int:
    """Write spaCy's output for every span this process has tokenized with ``tokenizer``'s settings.

    The word tokenizer keeps, per process, spaCy's tokens for each
    whitespace-free span it has met (``"film."`` -> ``film``, ``.``); a span
    met before costs ~0.25 us, a new one ~14 us of spaCy. :func:`toolkit.save_model`
    stores this table next to a model (``spans.npz``), and :func:`import_span_cache`
    fills a fresh process's table from it, so a loaded model tokenizes like the
    process that fitted it. The tokens are the same with or without it.

    Parameters
    ----------
    tokenizer : SpacyTokenizer
    path : str or path-like
        The ``.npz`` file to write (arrays only: no pickle).

    Returns
    -------
    int
        Spans written; 0 (and no file) when there are none, or the settings do
        not cache spans (a pipeline with context-dependent components).
    """
    engine = _engine_for(tokenizer, create=False)
    if engine is None or tokenizer.analyzer != "word" or not engine.span_cacheable or len(engine) <= 2:
        return 0
    with engine.lock:
        spans = list(engine.span_ids)[2:]  # insertion order is id order; 0 and 1: "" and the separator
        lengths, starts, codes, tokens = (a.copy() for a in engine.arrays())
        table = engine.table
        first = int(starts[2])
        strings = [table[i] for i in tokens[first:].tolist()]
        lefts, rights = list(engine.left_sigs), list(engine.right_sigs)
    np.savez_compressed(
        path, fingerprint=np.array(_engine_fingerprint(engine)), spans=_blob(spans), n_spans=np.array(len(spans)),
        lengths=lengths[2:], strings=_blob(strings), n_strings=np.array(len(strings)), codes=codes[2:],
        left_sigs=_blob(_SIG_SEP.join(sorted(sig)) for sig in lefts), n_left=np.array(len(lefts)),
        right_sigs=_blob(_SIG_SEP.join(sorted(sig)) for sig in rights), n_right=np.array(len(rights)),
    )
    return len(spans)


def import_span_cache(tokenizer, path) -> int:
    """Add the spans of a file written by :func:`export_span_cache` to this process's table for ``tokenizer``.

    Spans the process knows already are skipped. A file from other settings
    or another spaCy (its fingerprint differs) is ignored: 0 is returned.

    Returns
    -------
    int
        Spans added.
    """
    if tokenizer.analyzer != "word":
        return 0
    engine = _engine_for(tokenizer, create=True)
    with open(path, "rb") as fh, np.load(fh, allow_pickle=False) as data:
        if not engine.span_cacheable or str(data["fingerprint"]) != _engine_fingerprint(engine):
            logger.info("%s is for other tokenizer settings or another spaCy: not used", path)
            return 0
        spans = _unblob(data["spans"], int(data["n_spans"]))
        strings = _unblob(data["strings"], int(data["n_strings"]))
        lengths, codes = data["lengths"].astype(np.int64), data["codes"].astype(np.int64)
        lefts = [frozenset(t for t in sig.split(_SIG_SEP) if t) for sig in _unblob(data["left_sigs"], int(data["n_left"]))]
        rights = [frozenset(t for t in sig.split(_SIG_SEP) if t) for sig in _unblob(data["right_sigs"], int(data["n_right"]))]
    if not (len(spans) == lengths.size == codes.size and int(lengths.sum()) == len(strings)):
        raise ValueError(f"{path} is inconsistent: {len(spans)} spans, {lengths.size} lengths, "
                         f"{len(strings)} strings for {int(lengths.sum())} tokens.")
    if lengths.size and (lengths.min() < 0 or codes.min() < 0 or int((codes // _SIG).max()) >= len(lefts)
                         or int((codes % _SIG).max()) >= len(rights)):
        raise ValueError(f"{path} is inconsistent: a token count is negative or a span code names no signature "
                         f"({len(lefts)} left and {len(rights)} right signatures).")
    with engine.lock:
        known = engine.span_ids
        old = np.fromiter(map(known.__contains__, spans), dtype=bool, count=len(spans))
        if old.all():
            return 0
        if old.any():
            new = ~old
            idx = np.flatnonzero(new)
            take = np.flatnonzero(np.repeat(new, lengths))  # the flat strings of the new spans
            spans, strings = [spans[i] for i in idx.tolist()], [strings[i] for i in take.tolist()]
            lengths, codes = lengths[idx], codes[idx]
        codes = engine.translate_codes(codes, lefts, rights)
        engine._add_spans(spans, lengths, engine._ids(strings), codes)
        if len(engine) > _MAX_CACHED_SPANS:
            engine.reset()
            return 0
    return len(spans)


def _local_processes(n_jobs) -> int:
    """Processes the tokenizer may use here: its own ``n_jobs``, never the joblib backend's.

    None means 1 whatever backend is active (under joblib's ``dask`` backend
    the backend's count is the whole cluster), negative values count this
    machine's cores, and a daemonic process (a Dask or multiprocessing
    worker, which may not have children) always gets 1.
    """
    import multiprocessing

    if n_jobs is None or n_jobs == 0:
        return 1
    wanted = n_jobs if n_jobs > 0 else max(1, cpu_count() + 1 + n_jobs)
    if wanted > 1 and multiprocessing.current_process().daemon:
        logger.info("SpacyTokenizer(n_jobs=%s) runs in a daemonic worker process: using 1 process", n_jobs)
        return 1
    return wanted


def _learn_in_worker(model, lemmatize, options, spans, fingerprint):
    """Run in a worker process: spaCy's output strings for ``spans``.

    None when the worker's pipeline is not the caller's (``fingerprint``
    differs: stop words or tokenizer rules edited in the caller's process,
    which a worker started afresh does not see); the caller then tokenizes
    the spans itself.
    """
    engine = _get_engine(model, lemmatize, **options)
    if _model_fingerprint(engine.nlp) != fingerprint:
        return None
    with engine.lock:
        return engine.learn_strings(spans)


# ----------------------------------------------------------------- estimator
class SpacyTokenizer(MissingParamsMixin, TextInputMixin, TokenOutputMixin, TransformerMixin, BaseEstimator, auto_wrap_output_keys=None):
    """Tokenize raw texts with spaCy; returns a :class:`~toolkit.text.corpus.TokenizedCorpus`.

    The tokens are spaCy's tokenizer output on the cleaned text (see
    :func:`clean_text`), lower-cased or lemmatized and filtered as asked. It
    is stateless, like scikit-learn's ``HashingVectorizer``: ``fit`` only
    checks the parameters and loads the pipeline, and ``transform`` works
    without it.

    Parameters
    ----------
    model : str or path-like, default="blank:en"
        ``"blank:<lang>"`` for ``spacy.blank(lang)`` (no download), the
        name of an installed spaCy pipeline (``"en_core_web_sm"``), or the
        folder of a pipeline saved with ``nlp.to_disk(folder)`` -- the way
        to bring your own ``nlp`` (special cases, prefix/suffix/infix rules):
        a ``Language`` object is not accepted, as parameters stay plain
        values for ``clone``, pickling and ``save_model``. A folder saved
        again is read again on the next ``transform``, and edits of the
        language's stop words (``nlp.Defaults.stop_words``, i.e.
        ``spacy.lang.en.stop_words.STOP_WORDS``) are seen at once, so the
        tokens never come from an older pipeline (nor does the disk
        ``cache``). Only its tokenizer is used unless ``lemmatize=True`` and
        the pipeline has its own lemmatizer.
    lowercase : bool, default=True
        Use spaCy's ``token.lower_`` (or the lower-cased lemma).
    lemmatize : bool, default=False
        Use lemmas. A pipeline without a lemmatizer (``blank:en``) gets
        spaCy's lookup lemmatizer with the tables of spacy-lookups-data.
    remove_stop, remove_punct, remove_numbers : bool, default=False
        Drop tokens with spaCy's ``is_stop``, ``is_punct``, ``like_num``.
        ``is_stop`` comes from the language's stop-word list, which holds
        "not", "no" and "n't" (take them out for sentiment:
        ``STOP_WORDS.difference_update(toolkit.text.negation.NEGATIONS)``);
        a flag set on one lexeme (``nlp.vocab["movie"].is_stop = True``) is
        not saved by ``nlp.to_disk``, so a pipeline folder cannot carry it.
    remove_space : bool, default=True
        Drop whitespace tokens (spaCy keeps runs of extra whitespace and line
        breaks as tokens).
    ngram_range : tuple (min_n, max_n), default=(1, 1)
        Word n-grams (tokens joined by a space), in scikit-learn's order. With
        a char analyzer, character n-gram lengths.
    analyzer : {"word", "char", "char_wb"}, default="word"
        ``"char"`` and ``"char_wb"`` run scikit-learn's analyzers
        (``CountVectorizer(analyzer=..., ngram_range=...,
        lowercase=...).build_analyzer()``) on :func:`clean_text`'s output,
        not on the raw document: their n-grams equal scikit-learn's of
        ``clean_text(doc, strip_html=..., unicode_form=..., keep_c1=True)``,
        and differ from scikit-learn's of the raw ``doc`` where cleaning
        changed it -- HTML (``strip_html``), C0 control characters (NUL,
        backspace: spaces), invisible format characters, ``unicode_form``.
        The C1 characters are kept, as scikit-learn keeps them: in IMDB
        reviews (cp1252 read as Latin-1) ``"\\x96"``, ``"\\x97"`` and
        ``"\\x85"`` are dashes and an ellipsis. spaCy and the word options
        (lemmatize, remove_*) are not used for them.
    strip_html : bool, default=True
        Run :func:`clean_html` first: IMDB's ``<br /><br />`` otherwise gives
        tokens like ``it.<br`` and ``/><br``.
    unicode_form : {None, "NFC", "NFKC"}, default=None
        Unicode normalization of the cleaned text (:func:`clean_text`), for
        the word and char analyzers alike. None keeps the characters as
        given, as spaCy and scikit-learn do: a word typed with a combining
        accent (NFD: ``"e\\u0301"``, as macOS file names and some editors
        write it) and the same word precomposed (NFC: ``"\\u00e9"``) are then
        two different tokens. ``"NFC"`` merges those and changes nothing
        else; ``"NFKC"`` also folds compatibility characters: full-width
        ``"ＧＲＥＡＴ"`` becomes ``"GREAT"``, the ligature ``"ﬁ"`` ``"fi"``,
        ``"…"`` ``"..."``. Use one when texts come from several sources or in
        Chinese/Japanese (full-width Latin letters and digits). The default
        stays None, as spaCy, scikit-learn and Keras leave the text alone
        (and models fitted so predict the same); with it, ``transform`` logs
        a warning (once per process) when word tokens are not in NFC, with an
        example and how many of them also occur composed.
    max_length : int, optional
        Longest document accepted, in characters; None means the pipeline's
        ``nlp.max_length`` (1,000,000 for ``blank:en``). Longer documents
        raise a ValueError naming their index in X (split them first, or
        raise the limit), or are skipped with ``errors="skip"``.
    errors : {"raise", "skip"}, default="raise"
        What a document that cannot be tokenized (longer than
        ``max_length``) does. ``"raise"``: a ValueError naming its index in
        X. ``"skip"``: it gets an empty token list, so the output keeps one
        entry per document; a warning naming its index is logged, and the
        indices are in the returned corpus'
        :attr:`~toolkit.text.TokenizedCorpus.skipped` (and, after
        ``fit_transform``, in ``skipped_``).
    batch_size : int, default=2000
        Documents per batch; spaCy sees one batch at a time and no ``Doc`` of
        a document outlives its batch. A batch also ends at 4,000,000
        characters, so long documents (book chapters, transcripts) go a few
        at a time.
    n_jobs : int, optional
        Processes sharing the spaCy work on the spans a batch brings that
        were never seen before -- the bulk of a first run: this one plus
        ``n_jobs - 1`` loky workers (started on first use, then reused).
        None means 1, -1 all cores.
    cache : bool or path-like, default=False
        Keep each ``transform`` result on disk, keyed by the texts, these
        parameters, the spaCy/pipeline versions and digests of the
        pipeline's tokenizer rules and stop words; ``True`` uses
        ``get_cache_dir() / "tokens"``, a path uses that folder (``~`` is expanded). A repeated
        run over the same texts then reads one file.
    progress : bool, default=False
        Show a tqdm progress bar of the characters tokenized (a few long
        documents move it as much as many short ones).

    Attributes
    ----------
    skipped_ : ndarray of int64
        Set by ``fit_transform`` (a pipeline's ``fit``): the indices in its X
        of the documents skipped (``errors="skip"``), in increasing order;
        empty when none were; a later ``fit`` removes it. ``transform`` does not set it (it changes no
        state, so threads can share a fitted tokenizer): the corpus it
        returns holds the indices of its own X in
        :attr:`~toolkit.text.TokenizedCorpus.skipped`.

    Notes
    -----
    Input: a list, tuple, generator, 1-D numpy string array or pandas Series
    of ``str``. A single string, None/NaN, bytes or numbers raise a
    ValueError naming the document. Control characters (other than tab and
    line breaks) become spaces and lone surrogates become U+FFFD before spaCy
    sees the text. Empty documents, or documents of only markup or
    punctuation (with ``remove_punct``), give empty token lists.

    Other languages: pass spaCy's code, ``model="blank:de"`` (``fr``,
    ``es``, ``tr``, ``ru``, ``el``, ``ar``, ``he``, ``hi``...), for that
    language's punctuation, elision and exception rules; ``"blank:xx"``
    handles mixed-language text. ``"blank:en"`` splits only at spaces and
    punctuation, so Chinese, Japanese or Thai text, written without spaces,
    would become one token per clause: ``transform`` logs a warning when
    that happens in many documents. Use ``"blank:zh"`` (spaCy's default
    segmenter: one token per character, of Latin words in the text too),
    ``"blank:ja"`` (needs SudachiPy: ``pip install 'spacy[ja]'``),
    ``"blank:th"`` (PyThaiNLP), or ``analyzer="char"`` with
    ``ngram_range=(1, 2)``. Lower-casing is spaCy's (Python's
    ``str.lower``): Turkish dotted ``"İ"`` becomes ``"i̇"`` (i + combining
    dot) and ``"I"`` becomes ``"i"``, not ``"ı"``. Typographic and ASCII
    apostrophes stay distinct, as in spaCy (``"don’t"`` gives ``"n’t"``,
    ``"don't"`` ``"n't"``); :class:`~toolkit.text.NegationMarker` knows
    both. An emoji is one token, as it is one character on screen (a Unicode
    grapheme cluster): spaCy alone splits "👩\\u200d💻" into "👩", a
    zero-width joiner and "💻", "👍🏽" into the thumb and its skin tone, a
    flag "🇺🇸" into two letters and "❤️" into the heart and a variation
    selector; the tokenizer joins those pieces again.

    Examples
    --------
    >>> from toolkit.text import SpacyTokenizer
    >>> corpus = SpacyTokenizer().fit_transform(["Don't panic!<br />It's fine."])
    >>> corpus[0]
    ['do', "n't", 'panic', '!', 'it', "'s", 'fine', '.']
    >>> SpacyTokenizer(remove_punct=True, ngram_range=(1, 2)).transform(["Not good."])[0]
    ['not', 'good', 'not good']
    """

    _parameter_constraints = {
        "model": [str, os.PathLike],
        "lowercase": ["boolean"],
        "lemmatize": ["boolean"],
        "remove_stop": ["boolean"],
        "remove_punct": ["boolean"],
        "remove_numbers": ["boolean"],
        "remove_space": ["boolean"],
        "ngram_range": [tuple, list],
        "analyzer": [Options({"word", "char", "char_wb"})],
        "strip_html": ["boolean"],
        "unicode_form": [Options(set(_UNICODE_FORMS)), None],
        "max_length": [Interval(int, 1, None), None],
        "errors": [Options({"raise", "skip"})],
        "batch_size": [Interval(int, 1, None)],
        "n_jobs": [Interval(int, None, None), None],
        "cache": ["boolean", str, os.PathLike],
        "progress": ["boolean"],
    }

    def __init__(
        self,
        *,
        model="blank:en",
        lowercase=True,
        lemmatize=False,
        remove_stop=False,
        remove_punct=False,
        remove_numbers=False,
        remove_space=True,
        ngram_range=(1, 1),
        analyzer="word",
        strip_html=True,
        unicode_form=None,
        max_length=None,
        errors="raise",
        batch_size=2000,
        n_jobs=None,
        cache=False,
        progress=False,
    ):
        self.model = model
        self.lowercase = lowercase
        self.lemmatize = lemmatize
        self.remove_stop = remove_stop
        self.remove_punct = remove_punct
        self.remove_numbers = remove_numbers
        self.remove_space = remove_space
        self.ngram_range = ngram_range
        self.analyzer = analyzer
        self.strip_html = strip_html
        self.unicode_form = unicode_form
        self.max_length = max_length
        self.errors = errors
        self.batch_size = batch_size
        self.n_jobs = n_jobs
        self.cache = cache
        self.progress = progress

    def __setstate__(self, state):
        # tokenizers pickled or saved (skops) before ``unicode_form`` existed (transform validates the parameters)
        super().__setstate__(state)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.requires_fit = False
        return tags

    def _validate(self):
        # The same class with the same plain parameter values passed before: the checks (pure functions of
        # them) would pass again; this keeps them off the cost of each one-document __call__.
        key = _settings_key(self)
        if key is not None and key in _VALID_SETTINGS:
            return
        self._check_params()
        if key is not None:
            if len(_VALID_SETTINGS) >= 1000:
                _VALID_SETTINGS.clear()
            _VALID_SETTINGS.add(key)

    def _check_params(self):
        model = self.model
        language = sys.modules.get("spacy.language")  # imported when a Language object exists
        if language is not None and isinstance(model, language.Language):
            raise InvalidParameterError(
                f"The 'model' parameter of SpacyTokenizer must be a str or path-like. Got a spaCy "
                f"{type(model).__name__} object instead: parameters stay plain values (so clone, pickling, "
                "GridSearchCV and save_model work). Save your pipeline with nlp.to_disk('my_pipeline') and pass "
                "model='my_pipeline' (the folder; saved again later, it is read again), or pass "
                f"'blank:{model.lang}' for spaCy's blank {model.lang} pipeline."
            )
        validate_params(self, self._parameter_constraints)
        ngram = self.ngram_range
        if not (
            len(ngram) == 2
            # numpy integers too (a grid's [(1, n) for n in np.arange(1, 4)]), as TokenizedCorpus.ngrams and
            # scikit-learn's vectorizers take them
            and all(isinstance(n, numbers.Integral) and not isinstance(n, (bool, np.bool_)) for n in ngram)
            and 1 <= ngram[0] <= ngram[1]
        ):
            raise ValueError(
                f"The 'ngram_range' parameter of SpacyTokenizer must be a tuple (min_n, max_n) of ints "
                f"with 1 <= min_n <= max_n. Got {ngram!r} instead."
            )

    def fit(self, X=None, y=None):
        """Check the parameters and load the spaCy pipeline; learns nothing.

        Parameters
        ----------
        X : iterable of str or None
            Not read (nothing is learnt from the texts). A single string or
            a sparse matrix (another step's output) is refused, as
            :meth:`transform` refuses it.
        y : ignored
            Accepted for the scikit-learn API.

        Returns
        -------
        self

        Raises
        ------
        ValueError
            For a single string or a sparse matrix as ``X``.
        """
        self._validate()
        if isinstance(X, (str, bytes, bytearray)) or _is_sparse(X):
            # one string, or another step's output (a bag of tokens): refused here as transform refuses it
            check_raw_documents(X)
        if self.analyzer == "word":
            _load_nlp(self.model, self.lemmatize)
        self.__dict__.pop("skipped_", None)  # an earlier fit_transform's, of other texts: a refit forgets it
        return self

    def transform(self, X):
        """Tokenize raw documents.

        Parameters
        ----------
        X : iterable of str
            Raw text documents, or a table of one text column (an array of
            shape (n, 1), a one-column DataFrame: what
            ``permutation_importance`` and a ColumnTransformer's ``["text"]``
            pass), whose column is read as the documents.

        Returns
        -------
        TokenizedCorpus
            One token list per document, in order. Its
            :attr:`~toolkit.text.TokenizedCorpus.tokenizer_params` records
            the parameters that decide the tokens and differ from the
            defaults, so domain vectors and
            :class:`~toolkit.vectors.docvec.DocVectorizer` can tokenize their
            unlabelled texts the same way. For a pandas Series, its
            :attr:`~toolkit.text.TokenizedCorpus.row_index` is the Series'
            index, so the encoders' pandas output (``set_output``) is on
            the same rows. Its :attr:`~toolkit.text.TokenizedCorpus.skipped`
            holds the indices in X of the documents skipped with
            ``errors="skip"``; the tokenizer itself is left unchanged.
        """
        return self._transform(X)

    def __call__(self, doc: str) -> list[str]:
        """The tokens of one raw document: the tokenizer as a callable, for scikit-learn's vectorizers.

        ``CountVectorizer(tokenizer=SpacyTokenizer(), lowercase=False,
        token_pattern=None)`` counts these tokens (with the vectorizer's
        ``ngram_range`` and ``stop_words``); it pickles, clones and is
        searched as any estimator (``tokenizer__remove_punct``). Pass
        ``lowercase=False`` to the vectorizer: this tokenizer lower-cases
        the tokens itself, while the vectorizer would lower-case the text
        spaCy sees, whose exceptions are written in case ("Dr." is one
        token, "dr." two). Each call tokenizes one
        document, without the disk ``cache`` (one file per document) and
        without the warning about unsegmented Chinese or Japanese text;
        ``make_pipeline(SpacyTokenizer(), TfidfVectorizer(analyzer=list))``
        tokenizes in batches, several times faster.

        Parameters
        ----------
        doc : str
            One raw document.

        Returns
        -------
        list of str
            Its tokens, as ``transform([doc])[0]`` gives them.

        Examples
        --------
        >>> from sklearn.feature_extraction.text import CountVectorizer
        >>> vectorizer = CountVectorizer(tokenizer=SpacyTokenizer(), lowercase=False, token_pattern=None)
        >>> vectorizer.fit(["Don't panic!", "It's fine."]).get_feature_names_out().tolist()
        ['!', "'s", '.', 'do', 'fine', 'it', "n't", 'panic']
        """
        self._validate()
        skipped = []
        try:
            tokens = self._tokenize(check_raw_documents([doc]), skipped, one=True)
        except DocumentError as err:
            # "Document 0 of X" would send the user to the first document of their data: a vectorizer calls this
            # once per document, and which one it was is not known here
            lead = "Document 0 of X"
            if not str(err).startswith(lead):
                raise
            raise DocumentError(
                f"The document given to SpacyTokenizer(){str(err)[len(lead):]} Called on one document at a time "
                "(as CountVectorizer(tokenizer=...) calls it), the tokenizer does not know the document's position "
                "in your data; its transform(X) names it."
            ) from err
        if skipped:
            logger.warning("SpacyTokenizer(errors='skip') gave an empty token list to a document longer than "
                           "max_length=%s characters", f"{self._limit():,}")
        return list(tokens)

    def fit_transform(self, X, y=None, **fit_params):
        """Check the parameters, load the spaCy pipeline and tokenize raw documents.

        The same as ``fit(X, y).transform(X)``, and it records in
        ``skipped_`` the indices of the documents of ``X`` skipped with
        ``errors="skip"`` (``transform`` leaves the tokenizer unchanged:
        read those of its own X in the result's ``skipped``).

        Parameters
        ----------
        X : iterable of str
            Raw text documents.
        y : ignored
            Accepted for the scikit-learn API.
        **fit_params : dict
            Ignored; accepted for the scikit-learn API.

        Returns
        -------
        TokenizedCorpus
            As :meth:`transform` returns it.
        """
        # through transform, as scikit-learn's fit_transform: a subclass' (or a test's) transform is the one used
        corpus = self.fit(X, y).transform(X)
        skipped = getattr(corpus, "skipped", None)
        self.skipped_ = np.array(skipped if skipped is not None else [], dtype=np.int64)  # writeable: a copy
        return corpus

    def _transform(self, X):
        """:meth:`transform`."""
        self._validate()
        X = text_column(X)  # a one-column table's column (a Series keeps its row labels for errors and rows)
        docs = check_raw_documents(X)
        cache_file = self._cache_file(docs) if self.cache is not False else None
        cached = _read_cached(cache_file, len(docs)) if cache_file is not None else None
        if cached is not None:
            logger.debug("tokens read from cache %s", cache_file)
            corpus, skipped = cached
        else:
            skipped = []
            try:
                corpus = self._tokenize(docs, skipped)
            except DocumentError as err:
                label = row_label(X, err.document_index) if err.document_index is not None else ""
                if not label:
                    raise
                lead = f"Document {err.document_index} of X"  # then its label in the user's Series
                raise DocumentError(str(err).replace(lead, lead + label, 1),
                                    document_index=err.document_index) from err
            if cache_file is not None:
                _write_cached(cache_file, corpus, skipped)
        # which settings made these tokens: domain vectors tokenize their unlabelled texts the same way
        corpus = corpus.with_tokenizer_params(dict(_token_settings(self)))
        if _is_pandas_series(X):
            # its row labels: the encoders' pandas output (set_output) is then on the rows of X's frame
            corpus = corpus._with_rows(X.index)
        # the indices of this call's X go with its result, not on the estimator: transform changes no state,
        # and threads sharing one fitted tokenizer never read each other's (a fresh corpus: set in place)
        corpus._skipped = _skipped_indices(skipped)
        if len(skipped):
            shown = ", ".join(map(str, skipped[:20])) + (", ..." if len(skipped) > 20 else "")
            if row_label(X, 0):  # a Series with labels of its own (filtered, shuffled): those too
                labels = [plain_label(label) for label in X.index[skipped[:20]]]
                shown += f" (index labels {', '.join(map(repr, labels))}{', ...' if len(skipped) > 20 else ''})"
            logger.warning(
                "SpacyTokenizer(errors='skip') gave empty token lists to %d of %d documents longer than "
                "max_length=%s characters; their indices in X (also in the returned corpus' skipped): %s",
                len(skipped), len(docs), f"{self._limit():,}", shown,
            )
        return corpus

    # ------------------------------------------------------------ internals
    def _max_length(self, nlp) -> int:
        return self.max_length if self.max_length is not None else nlp.max_length

    def _limit(self) -> int:
        """The longest document accepted: max_length, else spaCy's (word) or 1,000,000 (char analyzers)."""
        if self.max_length is None and self.analyzer == "word":
            return self._max_length(_load_nlp(self.model, self.lemmatize))
        return self.max_length if self.max_length is not None else 1_000_000

    def _cleaned(self, docs, limit, skipped, start=0):
        """Cleaned texts of ``docs`` (``X[start:start + len(docs)]``); a bad one raises or is skipped.

        A skipped document becomes "" (so it gets an empty token list) and its
        index in X is appended to ``skipped``.
        """
        for i, doc in enumerate(docs, start):
            text = clean_text(doc, strip_html=self.strip_html, unicode_form=self.unicode_form,
                              keep_c1=self.analyzer != "word")
            if len(text) > limit:
                if self.errors == "skip":
                    skipped.append(i)
                    text = ""
                else:
                    raise DocumentError(
                        f"Document {i} of X has {len(text):,} characters, more than max_length={limit:,}. "
                        + _TOO_LONG_ADVICE, document_index=i,
                    )
            yield text

    def _batches(self, docs):
        """(start, batch) pairs: ``batch`` is ``docs[start:stop]``, consecutive documents, at most ``batch_size``.

        A batch also ends once it holds ``_BATCH_CHARS`` characters (a longer
        document is a batch of its own), so a corpus of book-length documents
        is tokenized a few documents at a time: the spans of a batch, its
        ``Doc`` objects and its progress-bar step stay bounded. The progress
        bar counts characters, not documents: the work is in the long ones.
        """
        from tqdm.auto import tqdm

        n = len(docs)
        ends = np.cumsum(np.fromiter(map(len, docs), dtype=np.int64, count=n))
        total = int(ends[-1]) if n else 0
        with tqdm(total=total, unit="char", unit_scale=True, desc="tokenize", disable=not self.progress) as bar:
            start = 0
            while start < n:
                before = int(ends[start - 1]) if start else 0
                by_chars = max(int(np.searchsorted(ends, before + _BATCH_CHARS, side="right")), start + 1)
                stop = min(start + self.batch_size, by_chars)
                yield start, docs[start:stop]
                bar.update(int(ends[stop - 1]) - before)
                start = stop

    def _tokenize(self, docs: list[str], skipped: list, *, one: bool = False) -> TokenizedCorpus | list[str]:
        """The corpus of ``docs``; with ``one`` (:meth:`__call__`, one document), that document's tokens as a list."""
        if self.analyzer != "word":
            return self._tokenize_chars(docs, skipped, one=one)
        options = _engine_options(vars(self))
        engine = _get_engine(self.model, self.lemmatize, **options)
        nlp = engine.nlp  # the pipeline as loaded now (_get_engine checks it is current)
        limit = self._max_length(nlp)
        n_jobs = _local_processes(self.n_jobs)
        id_parts, length_parts = [], []
        with engine.lock:
            for start, batch in [(0, docs)] if one else self._batches(docs):  # one document: one batch
                texts = engine.cut_long_runs(list(self._cleaned(batch, limit, skipped, start)))
                if not engine.span_cacheable:
                    ids, lengths = engine.encode_with_pipe(texts)
                else:
                    spans = engine.split_batch(texts)
                    sid = engine.span_ids_of(spans)
                    if sid.size and sid.min() < 0:  # spans never seen: spaCy tokenizes them, once each
                        missing, holes, which = engine.missing(spans, sid)
                        self._learn(engine, missing, options, n_jobs)
                        engine.fill(sid, missing, holes, which)
                    if one:
                        ids = engine.assemble_one(sid, texts[0])
                        lengths = np.array([ids.size], dtype=np.int64)
                    else:
                        ids, lengths = engine.assemble(sid, texts)
                id_parts.append(ids)
                length_parts.append(lengths)
            ids = np.concatenate(id_parts) if id_parts else np.zeros(0, np.int32)
            if one:  # one document: its strings straight from the engine's table (no compact corpus to build)
                tokens = list(map(engine.table.__getitem__, ids.tolist()))
            else:
                ids, strings = engine.strings_for(ids)
            if len(engine) > _MAX_CACHED_SPANS:
                engine.reset()
        if one:  # not the warning about unsegmented text: it would be logged for each Chinese document
            if self.unicode_form is None and not "".join(tokens).isascii():  # ASCII: nothing to look at
                _warn_unnormalized(dict.fromkeys(tokens))
            if self.ngram_range == (1, 1):
                return tokens
            return TokenizedCorpus.from_token_lists([tokens]).ngrams(self.ngram_range)[0]
        lengths = np.concatenate(length_parts) if length_parts else np.zeros(0, np.int64)
        offsets = np.zeros(len(docs) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        corpus = TokenizedCorpus._from_arrays(ids, offsets, strings)
        _warn_unsegmented(corpus, nlp.lang, self.model)
        if self.unicode_form is None:
            _warn_unnormalized(corpus.strings)
        return corpus.ngrams(self.ngram_range)

    def _learn(self, engine, missing, options, n_jobs):
        """Tokenize never-seen spans; with n_jobs > 1, worker processes take shares.

        This process learns one share itself while loky workers (started once,
        then reused) learn the others and send back plain strings.
        """
        n_shares = min(n_jobs, len(missing) // _MIN_SPANS_PER_WORKER)
        if n_shares <= 1:
            engine.remember(*engine.learn_strings(missing))
            return
        # joblib's wrapper of loky's process-wide reusable executor: a bare loky executor lacks the
        # attributes joblib's own Parallel(n_jobs>1) expects when it reuses that executor later
        from joblib.executor import get_memmapping_executor

        executor = get_memmapping_executor(n_shares - 1)
        shares = [missing[i::n_shares] for i in range(n_shares)]
        fingerprint = _model_fingerprint(engine.nlp)
        futures = [
            executor.submit(_learn_in_worker, _model_key(self.model), self.lemmatize, options, share, fingerprint)
            for share in shares[1:]
        ]
        engine.remember(*engine.learn_strings(shares[0]))
        for share, future in zip(shares[1:], futures):
            learned = future.result()
            if learned is None:
                logger.info("a tokenizer worker process has another spaCy pipeline than this one (stop words or "
                            "tokenizer rules edited here): its share is tokenized in this process")
                learned = engine.learn_strings(share)
            engine.remember(*learned)

    def _tokenize_chars(self, docs, skipped, *, one: bool = False):
        """The corpus of ``docs`` (char analyzers); with ``one``, the one document's n-grams as a list."""
        from sklearn.feature_extraction.text import CountVectorizer

        analyze = CountVectorizer(
            analyzer=self.analyzer, ngram_range=self.ngram_range, lowercase=self.lowercase
        ).build_analyzer()
        texts = self._cleaned(docs, self._limit(), skipped)
        if one:
            return list(analyze(next(texts)))
        return TokenizedCorpus.from_token_lists(analyze(text) for text in texts)

    def _cache_file(self, docs) -> Path:
        from .. import __version__

        params = self.get_params()
        for name in ("batch_size", "n_jobs", "cache", "progress"):
            params.pop(name)
        fingerprint = _model_fingerprint(_load_nlp(self.model, self.lemmatize)) if self.analyzer == "word" else ""
        digest = hashlib.sha1(usedforsecurity=False)
        digest.update(repr((_CACHE_FORMAT, __version__, fingerprint, sorted(params.items()))).encode())
        digest.update(np.fromiter(map(len, docs), dtype=np.int64, count=len(docs)).tobytes())
        for doc in docs:  # per document: ASCII texts encode at memcpy speed
            digest.update(doc.encode("utf-8", "surrogatepass"))
        folder = get_cache_dir() / "tokens" if self.cache is True else Path(self.cache).expanduser()
        return folder / f"{digest.hexdigest()}.npz"


_VALID_SETTINGS: set = set()  # (class, parameter values) that passed SpacyTokenizer._check_params
_PLAIN_VALUES = (str, int, float, bool, type(None))
_MISSING = object()


@functools.cache
def _param_names(cls) -> tuple[str, ...]:
    return tuple(cls._get_param_names())


def _settings_key(tokenizer) -> tuple | None:
    """The class and parameter values of ``tokenizer``, each value with its type (``1`` is not ``True``);
    None when a value is not a plain str, number, bool, None or tuple of them (then it is checked each time)."""
    key = [type(tokenizer)]
    for name in _param_names(type(tokenizer)):
        value = getattr(tokenizer, name, _MISSING)
        kind = type(value)
        if kind is tuple:
            if not all(type(v) in _PLAIN_VALUES for v in value):
                return None
            value = tuple((type(v), v) for v in value)
        elif kind not in _PLAIN_VALUES:
            return None
        key.append((kind, value))
    return tuple(key)


#: The parameters that decide which tokens come out of a text, per analyzer. Not among them: the word
#: n-grams (``ngram_range`` of the word analyzer: word vectors are trained on the words alone), and the
#: parameters about how the work is done (``max_length``, ``errors``, ``batch_size``, ``n_jobs``,
#: ``cache``, ``progress``). The char analyzers use neither spaCy nor the word options.
_TOKEN_PARAMS = {
    "word": ("model", "lowercase", "lemmatize", "remove_stop", "remove_punct", "remove_numbers", "remove_space",
             "strip_html", "unicode_form"),
    "char": ("analyzer", "ngram_range", "lowercase", "strip_html", "unicode_form"),
    "char_wb": ("analyzer", "ngram_range", "lowercase", "strip_html", "unicode_form"),
}


def _is_pandas_series(X) -> bool:
    """Whether ``X`` is a pandas Series (without importing pandas when nothing has)."""
    pandas = sys.modules.get("pandas")
    return pandas is not None and isinstance(X, pandas.Series)


@functools.cache
def _token_defaults() -> dict:
    import inspect

    return {name: p.default for name, p in inspect.signature(SpacyTokenizer.__init__).parameters.items()
            if p.kind is p.KEYWORD_ONLY}


def _token_settings(tokenizer) -> tuple:
    """The settings of ``tokenizer`` that decide its tokens and differ from the defaults, as sorted pairs.

    ``()`` for a tokenizer whose tokens are those of ``SpacyTokenizer()``
    (other ``n_jobs``, ``cache``... included); see
    :attr:`toolkit.text.TokenizedCorpus.tokenizer_params`.
    """
    defaults = _token_defaults()
    pairs = []
    for name in _TOKEN_PARAMS.get(tokenizer.analyzer, _TOKEN_PARAMS["word"]):
        value = getattr(tokenizer, name)
        if name == "ngram_range":
            value = tuple(int(n) for n in value)
        elif name == "model" and isinstance(value, os.PathLike):
            value = _model_key(value)  # a plain str, like every other recorded setting
        if value != defaults[name]:
            pairs.append((name, value))
    return tuple(sorted(pairs))


def _check_token_settings(params, *, what: str) -> tuple:
    """Settings of :class:`SpacyTokenizer` given by a user (a dict) as the sorted pairs of :func:`_token_settings`.

    Raises
    ------
    TypeError
        Naming ``what`` when ``params`` is not a dict.
    ValueError
        Naming ``what`` for a name that is no token setting, or a bad value.
    """
    if not isinstance(params, dict):
        raise TypeError(f"{what} must be a dict of SpacyTokenizer parameters (e.g. {{'lowercase': False}}; "
                         f"{{}} for its defaults), got {type(params).__name__}.")
    allowed = sorted({name for names in _TOKEN_PARAMS.values() for name in names})
    unknown = sorted(set(params) - set(allowed), key=str)
    if unknown:
        raise ValueError(f"{what} names {unknown[0]!r}, which is not a SpacyTokenizer parameter that decides the "
                         f"tokens; use {', '.join(allowed)}.")
    tokenizer = SpacyTokenizer(**params)
    try:
        tokenizer._validate()
    except (ValueError, TypeError) as err:
        raise ValueError(f"{what}: {err}") from err
    if tokenizer.analyzer == "word" and tuple(tokenizer.ngram_range) != (1, 1):
        raise ValueError(f"{what} sets ngram_range={params['ngram_range']!r} with the word analyzer: word "
                         "n-grams are never word-vector tokens (the documents' n-grams are dropped); leave it out.")
    return _token_settings(tokenizer)


def _warn_unsegmented(corpus: TokenizedCorpus, lang: str, model: str) -> None:
    """Warn when many documents hold tokens of unsegmented Chinese, Japanese or Thai text.

    ``blank:en`` (like every language but zh, ja, th, ko and vi) splits text
    only at spaces and punctuation, so a review in a script written without
    spaces becomes a few clause-long tokens that no other review shares.
    """
    if lang in _SEGMENTING_LANGS:
        return
    strings = corpus.strings
    odd = [i for i, s in enumerate(strings) if not s.isascii() and _UNSPACED.search(s)]
    if not odd:
        return
    flagged = np.zeros(len(strings), dtype=bool)
    flagged[odd] = True
    docs = np.unique(np.searchsorted(corpus.offsets, np.flatnonzero(flagged[corpus.ids]), side="right") - 1)
    if docs.size < _UNSEGMENTED_SHARE * len(corpus):
        return
    example = max((strings[i] for i in odd), key=len)
    logger.warning(
        "SpacyTokenizer(model=%r): %d of %d documents have tokens of Chinese, Japanese or Thai text that the "
        "%r tokenizer cannot split into words (it splits at spaces and punctuation only), e.g. %r. Use "
        "model='blank:zh' (one token per Chinese or Japanese character), 'blank:ja' (Japanese words; pip "
        "install 'spacy[ja]'), 'blank:th' (Thai; pip install 'spacy[th]'), or analyzer='char' with "
        "ngram_range=(1, 2).",
        model, docs.size, len(corpus), lang, example[:30] + ("..." if len(example) > 30 else ""),
    )


_warned_unnormalized = [False]  # logged once per process


def _warn_unnormalized(strings) -> None:
    """Warn (once per process) when word tokens are not in NFC: the same word typed precomposed is another token.

    A word typed with a combining accent (``"cafe\\u0301"``, NFD: macOS file
    names, some editors and keyboards, Vietnamese text) and the same word
    precomposed (``"caf\\u00e9"``) look alike but are two tokens, two
    vocabulary entries, two vectors (only one of them in GloVe) unless
    ``unicode_form="NFC"``. ``strings`` are the distinct tokens of the documents.
    """
    if _warned_unnormalized[0]:
        return
    odd = [s for s in strings if not s.isascii() and not unicodedata.is_normalized("NFC", s)]
    if not odd:
        return
    _warned_unnormalized[0] = True
    present = set(strings)
    twins = [s for s in odd if unicodedata.normalize("NFC", s) in present]
    example = (twins or odd)[0]
    logger.warning(
        "SpacyTokenizer(unicode_form=None): %d distinct tokens are not in Unicode NFC, e.g. %r (with %s), "
        "typed with combining characters; the same words typed precomposed are other tokens (%d of them occur "
        "so in these documents too), with their own vocabulary entries and vectors. Pass unicode_form='NFC' "
        "(`--set unicode_form=NFC` on the command line) to merge them; it changes nothing else. Logged once per "
        "process.",
        len(odd), example,
        " + ".join(f"U+{ord(c):04X}" for c in example if unicodedata.combining(c)) or "decomposed letters", len(twins),
    )


def _write_cached(path: Path, corpus: TokenizedCorpus, skipped) -> None:
    """Save atomically (temp file in the same folder, then rename); failures only log."""
    try:
        # debris of killed writes of any entry (atomic_output sweeps only this one's, never written again)
        remove_stale(path.parent, ".*.npz.*.tmp.npz")
        with atomic_output(path) as tmp, open(tmp, "wb") as fh:
            # tokens never contain NUL (control characters are replaced)
            blob = np.frombuffer("\x00".join(corpus.strings).encode("utf-8", "surrogatepass"), dtype=np.uint8)
            np.savez(fh, ids=corpus.ids, offsets=corpus.offsets, strings=blob, n_strings=len(corpus.strings),
                     skipped=np.asarray(skipped, dtype=np.int64))
    except OSError as err:
        logger.warning("could not write the token cache %s: %s", path, err)


def _read_cached(path: Path, n_docs: int | None = None) -> tuple[TokenizedCorpus, list[int]] | None:
    """The cached corpus and skipped indices, or None when absent or unreadable (then it is recomputed).

    A damaged file (truncated, emptied, a flipped byte: the zip's CRC-32 fails) or one whose arrays do not
    describe ``n_docs`` documents (any number when None) is logged and ignored; the fresh result then
    replaces it.
    """
    import zipfile

    try:  # opened here: np.load leaves its own file open when a damaged .npz raises
        with open(path, "rb") as fh, np.load(fh, allow_pickle=False) as data:
            ids, offsets = data["ids"], data["offsets"]
            n_strings = int(data["n_strings"])
            text = data["strings"].tobytes().decode("utf-8", "surrogatepass")
            skipped = data["skipped"].tolist()
        strings = tuple(text.split("\x00")) if n_strings else ()
        if len(strings) != n_strings:
            raise ValueError("string table size mismatch")
        n = len(offsets) - 1 if n_docs is None else n_docs
        if (ids.ndim != 1 or offsets.shape != (n + 1,) or offsets[0] != 0 or offsets[-1] != len(ids)
                or np.any(np.diff(offsets) < 0) or (len(ids) and (ids.min() < 0 or ids.max() >= n_strings))
                or any(not 0 <= i < n for i in skipped)):
            raise ValueError(f"its arrays do not describe {n} documents")
        return TokenizedCorpus._from_arrays(ids, offsets, strings), skipped
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as err:
        # EOFError: an empty file; BadZipFile: a truncated one, or a CRC-32 mismatch (changed bytes)
        logger.warning("ignoring unreadable token cache %s (%s); tokenizing again", path, err)
        return None


def tokenize(documents, **params) -> TokenizedCorpus:
    """Tokenize raw documents; shorthand for ``SpacyTokenizer(**params).transform(documents)``.

    Parameters
    ----------
    documents : iterable of str
        Raw text documents.
    **params
        Parameters of :class:`SpacyTokenizer`.

    Returns
    -------
    TokenizedCorpus
        One token list per document, in order.

    Examples
    --------
    >>> from toolkit.text import tokenize
    >>> tokenize(["Hello, world!"], remove_punct=True).to_list()
    [['hello', 'world']]
    """
    if isinstance(documents, (str, bytes, bytearray)):  # "tokenize([text])", not a transform the user never called
        check_raw_documents(documents, caller="tokenize")
    return SpacyTokenizer(**params).transform(documents)
