"""Session 46: the char analyzers keep IMDB's C1 dashes; long mixes of emoji or punctuation reach spaCy in pieces.

1. ``SpacyTokenizer(analyzer="char")`` made spaces of the C1 characters of IMDB
   reviews (cp1252 read as Latin-1: "\\x96", "\\x97" dashes, "\\x85" ellipsis),
   which scikit-learn's char analyzers keep as n-grams.
2. spaCy takes the affixes at the ends of a whitespace-free span off one at a
   time, each step scanning the span: 20,000 random emoji took over a minute,
   20,000 random punctuation marks minutes; only runs of one repeated unit
   (up to 8 characters) were cut before. The tests count what reaches spaCy
   instead of timing it.
"""

import html
import random
import subprocess
import sys

import pytest
from conftest import spacy_tokens as _spacy_tokens
from sklearn.feature_extraction.text import CountVectorizer

import toolkit.text.tokenizer as tokenizer_module
from toolkit.text import SpacyTokenizer, clean_text

LONG_SPAN = 1000  # tokenizer._LONG_SPAN
EMOJI = [chr(c) for c in range(0x1F600, 0x1F650)]
PUNCT = list("!?.,;:*#\"()[]-=+&%$@/<>~^") + ["...", "…", "—", ":*", "<3", "👍🏽", "❤️", "🇺🇸", "👩\u200d💻"]


# ------------------------------------------------------------------ 1. C1 characters and the char analyzers
def test_char_analyzers_keep_imdb_c1_dashes_as_scikit_learn_does(imdb_small):
    texts, _ = imdb_small
    docs = [t for t in texts if any("\x80" <= c <= "\x9f" for c in t)][:6]  # "\x96", "\x97", "\x85" in reviews
    assert len(docs) == 6
    for analyzer in ("char", "char_wb"):
        grams = SpacyTokenizer(analyzer=analyzer, ngram_range=(1, 3)).fit_transform(docs).to_list()
        analyze = CountVectorizer(analyzer=analyzer, ngram_range=(1, 3)).build_analyzer()
        # scikit-learn's n-grams of the review with its HTML removed: nothing dropped
        assert grams == [analyze(tokenizer_module.clean_html(doc)) for doc in docs]
        assert grams == [analyze(clean_text(doc, keep_c1=True)) for doc in docs]
        # the dashes are in n-grams ("\x85", NEL, is whitespace to Python, and so to char_wb's words)
        assert all(any(c in "\x96\x97" for c in "".join(doc_grams)) for doc, doc_grams in zip(docs, grams)
                   if "\x96" in doc or "\x97" in doc)


def test_word_tokens_of_c1_characters_are_unchanged(imdb_small):
    texts, _ = imdb_small
    docs = [t for t in texts if any("\x80" <= c <= "\x9f" for c in t)][:6]
    tokens = SpacyTokenizer(lowercase=False).fit_transform(docs).to_list()
    assert tokens == _spacy_tokens(docs)  # spaCy's tokens of clean_text: the C1 characters are spaces there
    assert not any("\x80" <= c <= "\x9f" for doc in tokens for t in doc for c in t)
    assert clean_text("zombies\x97a nice idea") == "zombies a nice idea"
    # C0 controls stay spaces for the char analyzers too (NUL, backspace: not text)
    assert SpacyTokenizer(analyzer="char").fit_transform(["a\x00b\x08c\x97"])[0] == ["a", " ", "b", " ", "c", "\x97"]


def test_char_cache_keeps_c1_characters(tmp_path):
    docs = ["zombies\x97a nice idea\x85 s46a", "no dash here s46a"]
    tokenizer = SpacyTokenizer(analyzer="char_wb", ngram_range=(2, 2), cache=tmp_path)
    first = tokenizer.fit_transform(docs).to_list()
    assert len(list(tmp_path.glob("*.npz"))) == 1
    assert tokenizer.transform(docs).to_list() == first  # read back from the cache
    assert "s\x97" in first[0] and "\x97a" in first[0]


# ------------------------------------------------------------------ 2. long mixes of emoji and punctuation
def test_random_emoji_and_punctuation_reach_spacy_in_short_pieces(longest_chunk_to_spacy):
    rng = random.Random(46)
    emoji = "".join(rng.choice(EMOJI) for _ in range(20_000))
    punct = "".join(rng.choice("!?.,;:*#") for _ in range(20_000))
    nine = "😍😂🤣😊😇🙂🙃😉😌" * 2_000  # a unit of over 8 characters repeated: no "run"
    core = "x" * 3_000 + "".join(rng.choice(EMOJI) for _ in range(3_000)) + "!"
    docs = [f"Loved it {emoji} s46b", punct, "Wow" + nine, core]
    tokens = SpacyTokenizer(lowercase=False).fit_transform(docs).to_list()
    assert tokens[0] == ["Loved", "it", *emoji, "s46b"]  # one token per emoji, as spaCy makes them
    assert "".join(tokens[1]) == punct and len(tokens[1]) > 15_000
    assert tokens[2] == ["Wow", *nine]
    assert tokens[3] == ["x" * 3_000, *core[3_000:]]  # the letters stay one token, the emoji come off
    assert 0 < longest_chunk_to_spacy[0] <= LONG_SPAN


def test_cut_stretches_give_spacys_tokens(monkeypatch):
    # tiny thresholds, so spaCy can tokenize the uncut spans quickly: the tokens must be spaCy's
    monkeypatch.setattr(tokenizer_module, "_LONG_SPAN", 40)
    monkeypatch.setattr(tokenizer_module, "_RUN_PIECE", 10)
    monkeypatch.setattr(tokenizer_module, "_RUN_CONTEXT", 16)
    rng = random.Random(3)
    sides = ["", "Great", "http://x.com/a", "$5", "9.5", "(", '"', "end", "!!", ")", "'s"]
    pools = [EMOJI, PUNCT, EMOJI + PUNCT, list("!?.,;:*#")]
    docs = []
    for i in range(300):
        body = "".join(rng.choice(pools[i % 4]) for _ in range(rng.randint(40, 160)))
        docs.append(f"s46c{i} " + rng.choice(sides) + body + rng.choice(sides) + " end")
    engine = tokenizer_module._get_engine("blank:en", False, lowercase=False, remove_stop=False,
                                          remove_punct=False, remove_numbers=False, remove_space=True)
    assert sum(engine.cut_long_runs([d])[0] != d for d in docs) > 100  # a third or more were cut
    ours = SpacyTokenizer(lowercase=False).fit_transform(docs).to_list()
    theirs = _spacy_tokens(docs)
    assert [("".join(a), "".join(b)) for a, b in zip(ours, theirs) if "".join(a) != "".join(b)] == []
    # the same tokens, but where a cut meets an emoticon chain (":):)" by where spaCy's two ends meet)
    assert sum(a != b for a, b in zip(ours, theirs)) <= 3


def test_spans_spacy_keeps_whole_are_not_cut():
    rng = random.Random(7)
    mix = "".join(rng.choice(EMOJI + list("!?.,")) for _ in range(2_000))
    # a URL with a path ending in "/": spaCy keeps it whole (its url_match), in linear time
    docs = ["http://x.com/" + mix + "/", "a" + mix + "b", "." * 3_000]
    assert SpacyTokenizer(lowercase=False).fit_transform(docs).to_list() == _spacy_tokens(docs)
    assert SpacyTokenizer(lowercase=False).transform(docs[:1])[0] == [docs[0]]


@pytest.mark.slow  # spaCy's import in a fresh process, and 50,000 emoji: about 8 s idle
def test_fifty_thousand_emoji_end_in_a_subprocess(tmp_path):
    # a guard, not a timing: spaCy alone would take over ten minutes on this
    code = ("import random; from toolkit.text import SpacyTokenizer; r = random.Random(0); "
            "x = ''.join(chr(r.randrange(0x1F600, 0x1F650)) for _ in range(50_000)); "
            "t = SpacyTokenizer().transform([x])[0]; assert t == list(x), len(t); print('ok')")
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=300,
                         check=False)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-2000:]


# ------------------------------------------------------------------ 3. the tokenizer as scikit-learn's tokenizer=
def test_count_vectorizer_takes_the_tokenizer_as_its_tokenizer(imdb_small):
    import pickle

    from sklearn.base import clone
    from sklearn.model_selection import GridSearchCV
    from sklearn.naive_bayes import MultinomialNB
    from sklearn.pipeline import make_pipeline

    texts, labels = imdb_small
    docs = texts[:40] + ["東京は日本の首都です。 s46d", "NUL\x00 \udcff <br />#tag", ""]
    vectorizer = CountVectorizer(tokenizer=SpacyTokenizer(remove_punct=True), lowercase=False, token_pattern=None)
    counts = vectorizer.fit_transform(docs)
    expected = CountVectorizer(analyzer=list).fit(SpacyTokenizer(remove_punct=True).transform(docs))
    assert vectorizer.get_feature_names_out().tolist() == expected.get_feature_names_out().tolist()
    assert SpacyTokenizer()(docs[0]) == SpacyTokenizer().transform(docs[:1])[0]
    again = pickle.loads(pickle.dumps(vectorizer))
    assert (again.transform(docs) != counts).nnz == 0
    assert clone(vectorizer).get_params()["tokenizer__remove_punct"] is True
    # searched as a nested estimator (pickled above, as worker processes would get it)
    vectorizer = CountVectorizer(tokenizer=SpacyTokenizer(), lowercase=False, token_pattern=None)
    search = GridSearchCV(make_pipeline(vectorizer, MultinomialNB()),
                          {"countvectorizer__tokenizer__remove_punct": [False, True]}, cv=2)
    search.fit(texts[:60], labels[:60])
    assert search.best_params_["countvectorizer__tokenizer__remove_punct"] in (False, True)
    with pytest.raises(ValueError, match="The document given to SpacyTokenizer\\(\\) is a float"):
        SpacyTokenizer()(1.5)


# ------------------------------------------------------------------ 4. a scraped web page
def test_script_style_and_doctype_of_a_page_give_no_tokens(imdb_small):
    page = ('<!DOCTYPE html><html><head><title>Review</title><style>body {color: red}</style>'
            '<script type="text/javascript">var a = 1 < 2 && b > 3; // track</script></head>'
            '<body><p>Great&nbsp;film &mdash; loved it!</p><!-- ad --><SCRIPT>\nvar q;\n</SCRIPT>'
            '<![CDATA[ a side note ]]></body></html>')
    tokens = SpacyTokenizer().fit_transform([page])[0]
    assert tokens == ["review", "great", "film", "—", "loved", "it", "!", "a", "side", "note"]
    # unclosed, or in running text, "<style>" is a tag as before; reviews keep their tokens
    assert tokenizer_module.clean_html("the <style> of it") == "the   of it"
    texts, _ = imdb_small  # what clean_html did before (the whole of IMDB's three splits is unchanged)
    old = [html.unescape(tokenizer_module._TAG.sub(" ", tokenizer_module._BR.sub("\n", t))) for t in texts]
    assert [tokenizer_module.clean_html(t) for t in texts] == old


def test_a_long_word_before_a_run_is_not_rescanned(monkeypatch):
    # 200,000 letters (a data URI, unsegmented Chinese) then 140 emoji and marks: checking the cuts of the runs
    # tokenized the letters with them, each emoji stripped off in a scan of it all (22 s here)
    seen = []
    original = tokenizer_module._Engine._tokens
    monkeypatch.setattr(tokenizer_module._Engine, "_tokens", lambda self, text: seen.append(len(text)) or original(self, text))
    word = "ab" * 100_000
    tail = "😂🤣" * 30 + "!?" * 40
    tokens = SpacyTokenizer(lowercase=False).fit_transform(["s46e " + word + tail]).to_list()
    assert tokens == [["s46e", word, *tail]]
    assert max(seen, default=0) <= 5 * LONG_SPAN
