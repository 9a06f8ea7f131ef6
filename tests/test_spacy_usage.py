"""SpacyTokenizer and NegationMarker driven as a spaCy user drives spaCy: own pipelines saved with
``nlp.to_disk``, edited stop words and tokenizer rules, the lookup lemmatizer, on real IMDB reviews."""

from __future__ import annotations

import logging
import pickle

import pytest
from sklearn.base import clone

from toolkit.text import NegationMarker, SpacyTokenizer
from toolkit.text import negation as negation_module
from toolkit.text import tokenizer as tokenization
from toolkit.text.negation import NEGATIONS
from toolkit.text.tokenizer import clean_text, export_span_cache, import_span_cache

spacy = pytest.importorskip("spacy")

TEXTS = ["This movie is not good.", "Not a good film, gimme more!", "No. Never again: gimme a break"]


@pytest.fixture
def english_stop_words():
    """spaCy's English stop-word set (shared by every English pipeline), put back as it was after the test."""
    from spacy.lang.en.stop_words import STOP_WORDS

    saved = set(STOP_WORDS)
    yield STOP_WORDS
    STOP_WORDS.clear()
    STOP_WORDS.update(saved)


def _spacy_tokens(nlp, texts, *, remove_stop=False, lemmatize=False, lowercase=True, remove_space=True):
    out = []
    for text in texts:
        doc = nlp(clean_text(text))
        out.append([(t.lemma_ if lemmatize else t.text).lower() if lowercase else (t.lemma_ if lemmatize else t.text)
                    for t in doc if not ((remove_space and t.is_space) or (remove_stop and t.is_stop))])
    return out


def _save_pipeline(folder, *special_cases):
    nlp = spacy.blank("en")
    for word, pieces in special_cases:
        nlp.tokenizer.add_special_case(word, [{"ORTH": piece} for piece in pieces])
    nlp.to_disk(folder)
    return nlp


# ------------------------------------------------------------------ lemmatize
def test_lemmatize_equals_spacys_lookup_lemmatizer_on_real_reviews(imdb_small):
    # reviews where spaCy's special cases may act across spaces ('' quotes, "***1/2") are re-tokenized by a
    # direct call, which skipped the lemmatizer: those tokens came out as '' (3 in 150 reviews); so did every
    # whitespace token with remove_space=False
    texts = imdb_small[0][:200]
    nlp = spacy.blank("en")
    nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
    nlp.initialize()
    for lowercase, remove_space in ((True, True), (False, True), (True, False)):
        got = SpacyTokenizer(lemmatize=True, lowercase=lowercase, remove_space=remove_space).transform(texts)
        assert "" not in got.strings
        expected = _spacy_tokens(nlp, texts, lemmatize=True, lowercase=lowercase, remove_space=remove_space)
        assert [i for i, (a, b) in enumerate(zip(got, expected)) if a != b] == []


# ------------------------------------------------------------- stop words edited
def test_edited_stop_words_are_used_after_a_first_transform(english_stop_words):
    # the classic sentiment edit, made in a notebook after a first look at the tokens
    tok = SpacyTokenizer(remove_stop=True)
    assert tok.transform(TEXTS)[0] == ["movie", "good", "."]
    english_stop_words.difference_update(NEGATIONS)
    english_stop_words.add("movie")
    expected = _spacy_tokens(spacy.blank("en"), TEXTS, remove_stop=True)  # a fresh pipeline: the edited list
    assert expected[0] == ["not", "good", "."]
    assert tok.transform(TEXTS).to_list() == expected
    assert SpacyTokenizer(remove_stop=True, lowercase=False).transform(TEXTS)[1][:2] == ["Not", "good"]
    english_stop_words.add("not")  # and back: the process never keeps tokens of an older list
    assert tok.transform(TEXTS)[0] == ["good", "."]


def test_edited_stop_words_do_not_read_an_older_disk_cache_entry(tmp_path, english_stop_words):
    tok = SpacyTokenizer(remove_stop=True, cache=tmp_path)
    assert tok.transform(TEXTS)[0] == ["movie", "good", "."]
    english_stop_words.discard("not")
    assert tok.transform(TEXTS)[0] == ["movie", "not", "good", "."]
    assert len(list(tmp_path.glob("*.npz"))) == 2


def test_worker_processes_use_the_callers_stop_words(imdb_small, monkeypatch, english_stop_words):
    # loky workers import spaCy afresh: they never saw the edit made in this process
    texts = imdb_small[0][:150]
    english_stop_words.difference_update(NEGATIONS)
    expected = SpacyTokenizer(remove_stop=True).transform(texts)
    assert "not" in expected.strings
    tokenization._ENGINES.clear()
    monkeypatch.setattr(tokenization, "_MIN_SPANS_PER_WORKER", 100)
    assert SpacyTokenizer(remove_stop=True, n_jobs=2).transform(texts) == expected


def test_edited_language_defaults_are_used_after_a_first_transform(monkeypatch):
    # the blank pipeline's rules come from the language's Defaults, which spaCy users edit before spacy.blank
    from spacy.lang.en import English

    tok = SpacyTokenizer()
    assert tok.transform(["gimme a_b!"])[0] == ["gimme", "a_b", "!"]
    gimme = [{"ORTH": "gim"}, {"ORTH": "me"}]
    monkeypatch.setattr(English.Defaults, "tokenizer_exceptions", {**English.Defaults.tokenizer_exceptions, "gimme": gimme})
    monkeypatch.setattr(English.Defaults, "infixes", (*English.Defaults.infixes, "_"))
    assert [t.text for t in spacy.blank("en")("gimme a_b!")] == ["gim", "me", "a", "_", "b", "!"]
    assert tok.transform(["gimme a_b!"])[0] == ["gim", "me", "a", "_", "b", "!"]
    monkeypatch.undo()
    assert tok.transform(["gimme a_b!"])[0] == ["gimme", "a_b", "!"]


# ------------------------------------------------------------- own pipeline folder
def test_a_pipeline_folder_saved_again_is_read_again(tmp_path):
    folder = tmp_path / "pipeline"
    _save_pipeline(folder)
    tok = SpacyTokenizer(model=str(folder))
    assert tok.transform(TEXTS)[1][-3:] == ["gimme", "more", "!"]
    nlp = _save_pipeline(folder, ("gimme", ("gim", "me")))
    assert tok.transform(TEXTS).to_list() == _spacy_tokens(nlp, TEXTS)
    assert tok.transform(TEXTS)[1][-4:] == ["gim", "me", "more", "!"]


def test_a_pipeline_folder_saved_again_does_not_read_an_older_disk_cache_entry(tmp_path):
    folder = tmp_path / "pipeline"
    _save_pipeline(folder)
    tok = SpacyTokenizer(model=str(folder), cache=tmp_path / "tokens")
    assert "gimme" in tok.transform(TEXTS).strings
    _save_pipeline(folder, ("gimme", ("gim", "me")))
    tokenization._NLP.clear()  # as in a new process
    tokenization._ENGINES.clear()
    assert "gimme" not in tok.transform(TEXTS).strings


def test_a_span_table_of_the_pipeline_before_it_was_saved_again_is_not_used(tmp_path):
    # save_model stores the span table next to a model; a load in a new process imports it
    folder = tmp_path / "pipeline"
    _save_pipeline(folder)
    tok = SpacyTokenizer(model=str(folder))
    tok.transform(TEXTS)
    assert export_span_cache(tok, tmp_path / "spans.npz") > 0
    _save_pipeline(folder, ("gimme", ("gim", "me")))
    tokenization._NLP.clear()
    tokenization._ENGINES.clear()
    assert import_span_cache(tok, tmp_path / "spans.npz") == 0
    assert tok.transform(TEXTS)[1][-4:] == ["gim", "me", "more", "!"]


def test_a_pipeline_folder_as_a_path_clones_pickles_and_saves(tmp_path, imdb_small):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    from toolkit.models import load_model, save_model
    from toolkit.text.encoders import BagEncoder

    folder = tmp_path / "pipeline"
    _save_pipeline(folder, ("gimme", ("gim", "me")))
    tok = SpacyTokenizer(model=folder, remove_punct=True)  # what nlp.to_disk was given: a pathlib.Path
    assert tok.transform(TEXTS)[1] == ["not", "a", "good", "film", "gim", "me", "more"]
    assert clone(tok).get_params()["model"] == folder
    assert pickle.loads(pickle.dumps(tok)).transform(TEXTS) == tok.transform(TEXTS)
    assert tok.transform(TEXTS).tokenizer_params["model"] == str(folder)
    texts, labels = imdb_small
    pipe = make_pipeline(SpacyTokenizer(model=folder), BagEncoder(), LogisticRegression(max_iter=300))
    pipe.fit(texts[:120], labels[:120])
    save_model(pipe, tmp_path / "model")  # skops: refused a pathlib.PosixPath
    loaded = load_model(tmp_path / "model")
    assert loaded[0].model == folder and isinstance(loaded[0].model, type(folder))  # the parameter as it was set
    assert (loaded.predict_proba(texts[120:150]) == pipe.predict_proba(texts[120:150])).all()


def test_a_pipeline_folder_with_components_gives_its_tokenizers_tokens_without_lemmas(tmp_path):
    # only the tokenizer is used without lemmatize=True: an entity ruler merging "sci - fi" acted inside single
    # spans, but not where a special case ('') made the toolkit tokenize a stretch directly, nor across spaces
    nlp = spacy.blank("en")
    ruler = nlp.add_pipe("entity_ruler")
    ruler.add_patterns([{"label": "GPE", "pattern": "New York"},
                        {"label": "GENRE", "pattern": [{"LOWER": "sci"}, {"ORTH": "-"}, {"LOWER": "fi"}]}])
    nlp.add_pipe("merge_entities")
    nlp.to_disk(tmp_path / "pipeline")
    texts = ["A sci-fi film set in New York.", "''Sci-fi'' at its best", "not ''sci-fi''"]
    got = SpacyTokenizer(model=str(tmp_path / "pipeline")).transform(texts)
    assert got.to_list() == [[t.lower_ for t in nlp.tokenizer(text)] for text in texts]
    # with lemmas the whole pipeline runs, in every document alike
    lemmas = SpacyTokenizer(model=str(tmp_path / "pipeline"), lemmatize=True).transform(texts)
    assert lemmas[0][1] == "sci-fi" and lemmas[0][-2] == "new york" and "sci-fi" in lemmas[1] and "sci-fi" in lemmas[2]


# ------------------------------------------------------------------ model errors
@pytest.mark.parametrize(("model", "message"), [
    ("en", r"names 'en', a language code, not a pipeline. Use 'blank:en'"),
    ("", r"is ''. Pass 'blank:<lang>'"),  # was: "looks like a path ... no folder at <the working folder>"
    ("blank: en", r"Did you mean 'blank:en'\?"),
    ("de_core_news_sm", (r"'de_core_news_sm', which is not installed \(nor a folder\). Use 'blank:de'.*"
                         r"python -m spacy download de_core_news_sm")),
    ("./no/such/pipeline", (r"looks like a path, and there is no folder at '/.*no/such/pipeline'. Pass the folder "
                            r"written by nlp.to_disk")),
])
def test_model_errors_say_what_to_pass(model, message):
    with pytest.raises(ValueError, match=message):
        SpacyTokenizer(model=model).fit()


def test_a_folder_that_is_no_pipeline_and_a_language_object_are_named(tmp_path):
    with pytest.raises(ValueError, match=r"names the folder '.*', which is not a spaCy pipeline \(no config.cfg"):
        SpacyTokenizer(model=str(tmp_path)).fit()
    with pytest.raises(ValueError, match=r"Got a spaCy English object instead.*nlp.to_disk\('my_pipeline'\).*"
                                         r"'blank:en'"):
        SpacyTokenizer(model=spacy.blank("en")).transform(TEXTS)


# ------------------------------------------------------------------- negation
@pytest.fixture
def fresh_negation_warnings(monkeypatch):
    for key in negation_module._warned:
        monkeypatch.setitem(negation_module._warned, key, False)


def test_negation_after_remove_stop_says_the_negation_words_are_gone(imdb_small, caplog, fresh_negation_warnings):
    corpus = SpacyTokenizer(remove_stop=True).transform(imdb_small[0][:60])
    with caplog.at_level(logging.WARNING, logger="toolkit.text.negation"):
        marked = NegationMarker().transform(corpus)
    tokens = [t for doc in marked for t in doc]
    assert sum(t.startswith("NOT_") for t in tokens) < 0.01 * len(tokens)  # only after 'hardly', 'nothing'...
    assert "remove_stop=True" in caplog.text and "STOP_WORDS.difference_update" in caplog.text
    # and not that the English reviews were not English (its marker words are stop words)
    assert "has an English word" not in caplog.text


def test_negation_after_remove_punct_says_scopes_run_to_the_end(imdb_small, caplog, fresh_negation_warnings):
    texts = imdb_small[0][:60]
    with caplog.at_level(logging.WARNING, logger="toolkit.text.negation"):
        NegationMarker().transform(SpacyTokenizer().transform(texts))
        assert caplog.text == ""
        NegationMarker().transform(SpacyTokenizer(remove_punct=True).transform(texts))
    assert "remove_punct=True" in caplog.text and "runs on to the end of its document" in caplog.text


def test_negation_with_stop_words_edited_for_it(imdb_small, english_stop_words, caplog, fresh_negation_warnings):
    # what the warning advises works, also after a first transform in the same process
    texts = imdb_small[0][:60]
    SpacyTokenizer(remove_stop=True).transform(texts)
    english_stop_words.difference_update(NEGATIONS)
    with caplog.at_level(logging.WARNING, logger="toolkit.text.negation"):
        marked = NegationMarker().transform(SpacyTokenizer(remove_stop=True).transform(texts))
    assert caplog.text == ""
    assert sum(s.startswith("NOT_") for s in marked.strings) > 50


def test_negation_of_word_ngrams_marks_the_words_then_forms_the_ngrams(imdb_small):
    # SpacyTokenizer(ngram_range=(1, 2)) | NegationMarker: sklearn's order puts a document's bigrams after its
    # last word, so a scope still open there marked them all ("NOT_the plot")
    texts = imdb_small[0][:40] + ["The plot is not good", "Not bad. Great film"]
    ngrams = SpacyTokenizer(ngram_range=(1, 2)).transform(texts)
    marked = NegationMarker().transform(ngrams)
    words = NegationMarker().transform(SpacyTokenizer().transform(texts))
    assert marked == words.ngrams((1, 2))
    assert marked[-2] == ["the", "plot", "is", "not", "NOT_good", "the plot", "plot is", "is not", "not NOT_good"]


def test_one_string_or_spacy_docs_as_input_say_what_to_pass():
    """Two slips of a spaCy user: one text instead of a list, and the Docs of their own ``nlp.pipe``. The errors
    now say what to pass (a list of one; the texts, with the pipeline as ``model=<folder>``)."""
    tok = SpacyTokenizer()
    with pytest.raises(ValueError, match=r"string object received\. For one document, pass a list of one"):
        tok.transform("A good film.")
    docs = list(spacy.blank("en").pipe(["A good film.", "Not good."]))
    with pytest.raises((ValueError, TypeError), match=r"is a spaCy Doc.*\[doc\.text for doc in docs\]"):
        tok.transform(docs)
