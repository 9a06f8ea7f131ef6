"""Users who bring text that is not plain English ASCII: other languages and scripts, Unicode forms,
invisible characters, full-width letters, curly apostrophes, HTML entities, files in other encodings."""

from __future__ import annotations

import json
import logging
import unicodedata

import numpy as np
import pytest
from test_cli import assert_error, invoke
from typer.testing import CliRunner

from toolkit.text import NegationMarker, SpacyTokenizer, clean_text, mark_negation
from toolkit.text import negation as negation_module
from toolkit.text.tokenizer import _CONTROL, clean_html

# short reviews written for these tests, two per language: (text, label)
REVIEWS = [
    ("Der Film war großartig, wirklich gut!", "pos"), ("Schrecklich, nicht gut. Langweilig.", "neg"),
    ("C’était génial, j’ai adoré 😍", "pos"), ("Nul, je n’ai pas aimé.", "neg"),
    ("¡Me encantó! Una película preciosa.", "pos"), ("No me gustó nada, aburrida.", "neg"),
    ("Harika bir film, çok beğendim.", "pos"), ("Berbat bir film, hiç beğenmedim.", "neg"),
    ("Фильм отличный, актёры хорошие.", "pos"), ("Ужасный фильм, скучно.", "neg"),
    ("Η ταινία ήταν υπέροχη.", "pos"), ("Η ταινία ήταν κακή.", "neg"),
    ("הסרט היה מצוין\u200f.", "pos"), ("הסרט היה גרוע\u200f.", "neg"),
    ("الفيلم رائع جدا", "pos"), ("الفيلم سيء جدا", "neg"),
    ("यह फ़िल्म बहुत अच्छी थी।", "pos"), ("यह फ़िल्म बहुत बुरी थी।", "neg"),
]


def tokens(texts, **params):
    return SpacyTokenizer(**params).fit_transform(texts).to_list()


# ----------------------------------------------------------------------- invisible characters
@pytest.mark.parametrize("model", ["blank:he", "blank:ar", "blank:xx"])
def test_right_to_left_marks_do_not_make_a_second_spelling(model):
    # Hebrew and Arabic editors put U+200F (RLM) after right-to-left words, and mixed text gets bidi
    # isolates (U+2066-U+2069): "טוב\u200f" and "טוב" were two tokens (and two vocabulary entries)
    texts = ["סרט טוב\u200f מאוד", "סרט טוב מאוד", "فيلم\u061c رائع \u2067جدا\u2069", "فيلم رائع جدا"]
    out = tokens(texts, model=model)
    assert out[0] == out[1] == ["סרט", "טוב", "מאוד"]
    assert out[2] == out[3] == ["فيلم", "رائع", "جدا"]


def test_a_byte_order_mark_does_not_stick_to_the_first_word():
    # a file read with encoding="utf-8" (not "utf-8-sig") starts with U+FEFF: its first token was "\ufeffgreat"
    assert tokens(["\ufeffGreat film", "great film", "word\u2060joiner"]) == [
        ["great", "film"], ["great", "film"], ["wordjoiner"]]


def test_a_zero_width_space_separates_words():
    # U+200B marks a word boundary (Thai, Khmer, web text that allows line breaks): "good\u200bmovie" was one token
    assert tokens(["good\u200bmovie", "good movie"]) == [["good", "movie"], ["good", "movie"]]


def test_joiners_that_spell_emoji_and_words_are_kept():
    # ZWJ/ZWNJ are part of emoji sequences and of Persian/Hindi spelling: not removed
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"
    persian = "می\u200cخواهم"
    assert clean_text(f"{family} {persian}") == f"{family} {persian}"
    assert persian in tokens([persian], model="blank:fa")[0]


def test_cleaning_leaves_imdb_reviews_as_before(imdb_small):
    # the benchmarks' tokens must not change: on real reviews clean_text is still clean_html + control characters
    texts, _ = imdb_small
    for text in texts:
        assert clean_text(text) == _CONTROL.sub(" ", clean_html(text))
        assert clean_text(text, strip_html=False) == _CONTROL.sub(" ", text)


# ----------------------------------------------------------------------- Unicode normalization
def test_unicode_form_nfc_merges_decomposed_and_precomposed_accents():
    # "café" typed with a combining accent (NFD, as macOS and some editors write it) and precomposed (NFC)
    # look the same but were two tokens; unicode_form="NFC" merges them, the default stays spaCy's
    nfc, nfd = unicodedata.normalize("NFC", "Café naïve Ελληνικά"), unicodedata.normalize("NFD", "Café naïve Ελληνικά")
    assert nfc != nfd
    default = tokens([nfc, nfd])
    assert default[0] != default[1]
    merged = tokens([nfc, nfd], unicode_form="NFC")
    assert merged[0] == merged[1] == ["café", "naïve", "ελληνικά"]
    assert all(unicodedata.is_normalized("NFC", t) for t in merged[1])
    chars = tokens([nfc, nfd], unicode_form="NFC", analyzer="char_wb", ngram_range=(2, 2))
    assert chars[0] == chars[1] and "fé" in chars[0]


def test_unicode_form_nfkc_folds_full_width_letters_and_ligatures():
    # Chinese/Japanese input methods type full-width Latin letters and digits: "ＧＲＥＡＴ" was not "great"
    out = tokens(["ＧＲＥＡＴ　ｍｏｖｉｅ！ １０/１０", "great movie! 10/10", "ﬁne"], unicode_form="NFKC")
    assert out[0] == out[1] == ["great", "movie", "!", "10/10"]
    assert out[2] == ["fine"]
    assert tokens(["ＧＲＥＡＴ"])[0] == ["ｇｒｅａｔ"]  # the default keeps the characters, as spaCy does


def test_unicode_form_bad_value_names_the_parameter():
    with pytest.raises(ValueError, match=r"'unicode_form' parameter of SpacyTokenizer must be .*Got 'NFD'"):
        SpacyTokenizer(unicode_form="NFD").fit_transform(["x"])
    with pytest.raises(ValueError, match=r"'unicode_form' parameter must be one of"):
        clean_text("x", unicode_form="nfc")


def test_unicode_form_survives_save_and_load(tmp_path):
    from toolkit.models import (
        StackedTextClassifier,
        load_model,
        make_text_classifier,
        save_model,
    )

    texts = [t for t, _ in REVIEWS] * 3
    labels = [y for _, y in REVIEWS] * 3
    pipe = make_text_classifier(estimator=StackedTextClassifier(vectors=None, cv=2), vectors=None,
                                tokenizer__model="blank:xx", tokenizer__unicode_form="NFC")
    pipe.fit(texts, labels)
    save_model(pipe, tmp_path / "model")
    loaded = load_model(tmp_path / "model")
    assert loaded[0].get_params()["unicode_form"] == "NFC" and loaded[0].model == "blank:xx"
    nfd = [unicodedata.normalize("NFD", t) for t in texts[:len(REVIEWS)]]
    np.testing.assert_allclose(loaded.predict_proba(nfd), pipe.predict_proba(texts[:len(REVIEWS)]))


# ----------------------------------------------------------------------- scripts written without spaces
def test_chinese_with_the_english_tokenizer_warns_and_names_the_fix(caplog):
    # blank:en splits only at spaces and punctuation: each Chinese review became one or two clause-long tokens
    reviews = ["这部电影非常好看，我很喜欢。", "这部电影很无聊，不推荐。"]
    with caplog.at_level(logging.WARNING, logger="toolkit.text.tokenizer"):
        out = tokens(reviews)
    assert out[0] == ["这部电影非常好看，我很喜欢", "。"]  # the full-width comma does not split either
    messages = [r.getMessage() for r in caplog.records if "cannot split into words" in r.getMessage()]
    assert len(messages) == 1, caplog.text
    assert "2 of 2 documents" in messages[0] and "model='blank:zh'" in messages[0] and "analyzer='char'" in messages[0]


def test_thai_with_the_english_tokenizer_warns(caplog):
    with caplog.at_level(logging.WARNING, logger="toolkit.text.tokenizer"):
        tokens(["หนังเรื่องนี้ดีมาก"], ngram_range=(1, 2))
    assert "cannot split into words" in caplog.text


def test_no_warning_for_segmented_chinese_or_one_quoted_title(caplog, imdb_small):
    texts, _ = imdb_small
    english = list(texts[:40]) + ["I loved 千と千尋の神隠し, a masterpiece."]
    with caplog.at_level(logging.WARNING, logger="toolkit.text.tokenizer"):
        assert tokens(["这部电影非常好看"], model="blank:zh")[0] == list("这部电影非常好看")
        assert "千と千尋の神隠し" in tokens(english)[-1]
    assert "cannot split into words" not in caplog.text


# ----------------------------------------------------------------------- negation marking
@pytest.fixture
def fresh_negation_warning(monkeypatch):
    monkeypatch.setitem(negation_module._warned, "language", False)


def test_english_negation_lists_on_german_text_warn_once(caplog, fresh_negation_warning):
    # toolkit train --model stack-many marks negation with English words: on German reviews it marked nothing
    german = tokens([t for t, _ in REVIEWS[:2]] * 10 + ["Was für ein Film! Das ist Kino."], model="blank:de")
    with caplog.at_level(logging.WARNING, logger="toolkit.text.negation"):
        marked = NegationMarker().fit_transform(german)
        NegationMarker().fit_transform(german)
    assert marked.to_list() == german  # nothing marked ...
    assert caplog.text.count("default negation words and scope ends are English") == 1  # ... and the user is told
    # German lists given: marked, no warning
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="toolkit.text.negation"):
        ours = mark_negation(german, negations={"nicht", "kein", "nie"}, scope_ends={".", ",", "!", "aber"})
    assert ours[1][:4] == ["schrecklich", ",", "nicht", "NOT_gut"] and not caplog.records


def test_english_negation_lists_on_spanish_text_warn(caplog, fresh_negation_warning):
    # Spanish "no" opens a scope (it is in NEGATIONS) that "pero" does not close: half marked, and said so
    spanish = tokens(["No me gustó nada pero la música es buena", "Una película preciosa"] * 10, model="blank:es")
    with caplog.at_level(logging.WARNING, logger="toolkit.text.negation"):
        marked = mark_negation(spanish)
    assert marked[0][:6] == ["no", "NOT_me", "NOT_gustó", "NOT_nada", "NOT_pero", "NOT_la"]
    assert "none of the 20 documents has an English word" in caplog.text


def test_english_negation_lists_on_english_reviews_do_not_warn(caplog, imdb_small, fresh_negation_warning):
    texts, _ = imdb_small
    with caplog.at_level(logging.WARNING, logger="toolkit.text.negation"):
        marked = mark_negation(tokens(texts[:30]))
    assert any(s.startswith("NOT_") for s in marked.strings)
    assert not caplog.records


def test_negation_knows_the_typographic_apostrophe():
    out = mark_negation(tokens(["I don’t like it. I don't like it."]))
    assert out.to_list() == [["i", "do", "n’t", "NOT_like", "NOT_it", ".", "i", "do", "n't", "NOT_like", "NOT_it", "."]]


# ----------------------------------------------------------------------- languages and their pipelines
def test_language_pipelines_split_their_own_punctuation():
    assert tokens(["¡No me gustó! ¿Por qué?"], model="blank:es")[0] == ["¡", "no", "me", "gustó", "!", "¿", "por", "qué", "?"]
    assert tokens(["C’est l’histoire d’un homme."], model="blank:fr")[0] == [
        "c’", "est", "l’", "histoire", "d’", "un", "homme", "."]
    assert tokens(["यह अच्छी थी।"], model="blank:hi")[0] == ["यह", "अच्छी", "थी", "।"]


def test_a_language_whose_tokenizer_needs_a_missing_package_names_it():
    pytest.importorskip("spacy")
    try:
        import sudachipy  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("SudachiPy is installed here")
    with pytest.raises(ValueError, match=r"blank 'ja' pipeline .*needs the package 'sudachipy'.*pip install 'spacy\[ja\]'"):
        SpacyTokenizer(model="blank:ja").fit()
    with pytest.raises(ValueError, match=r"unknown spaCy language 'english'.*'blank:en'"):
        SpacyTokenizer(model="blank:english").fit()


def test_an_unknown_language_code_lists_spacys_codes():
    # "blank:german" or "blank:DE" said only "use a language code spaCy knows, e.g. 'blank:en'"
    with pytest.raises(ValueError, match=r"'blank:german'.*spaCy's codes: af, .*\bde\b.*\bzh\b"):
        SpacyTokenizer(model="blank:german").fit()
    with pytest.raises(ValueError, match=r"Did you mean 'blank:de'\?"):
        SpacyTokenizer(model="blank:DE").fit()


def test_lemmatize_for_a_language_without_lookup_tables_says_so():
    # spacy-lookups-data is installed but has no Greek (Arabic, Hebrew, Hindi, Chinese) table: the error
    # said "Install spacy-lookups-data", which the user had done
    pytest.importorskip("spacy_lookups_data")
    with pytest.raises(ValueError, match=r"lemma lookup table for language 'el', and the installed "
                                         r"spacy-lookups-data \S+ has none.*Set lemmatize=False"):
        SpacyTokenizer(model="blank:el", lemmatize=True).fit()
    assert tokens(["Die Filme waren gut"], model="blank:de", lemmatize=True) == [["der", "film", "sein", "gut"]]


def test_html_entities_and_curly_quotes():
    out = tokens(["Tom &amp; Jerry&#39;s &quot;best&quot; &lt;3"])
    assert out == [["tom", "&", "jerry", "'s", '"', "best", '"', "<3"]]


def test_max_length_counts_characters_not_bytes():
    text = "ü" * 10  # 20 bytes in UTF-8
    assert tokens([text], max_length=10) == [["ü" * 10]]
    with pytest.raises(ValueError, match=r"Document 0 of X has 11 characters, more than max_length=10"):
        tokens([text + "ü"], max_length=10)


def test_multilingual_reviews_fit_and_predict():
    from toolkit.models import StackedTextClassifier, make_text_classifier

    texts, labels = [t for t, _ in REVIEWS] * 3, [y for _, y in REVIEWS] * 3
    pipe = make_text_classifier(estimator=StackedTextClassifier(vectors=None, cv=2), vectors=None,
                                tokenizer__model="blank:xx")
    pipe.fit(texts, labels)
    assert (pipe.predict(texts[:len(REVIEWS)]) == np.array(labels[:len(REVIEWS)])).mean() == 1.0


# ----------------------------------------------------------------------- the CLI
@pytest.fixture
def runner():
    return CliRunner()


def test_cli_tokenize_utf8_file_with_bom_and_rtl_marks(runner, tmp_path):
    path = tmp_path / "reviews.txt"
    path.write_bytes("סרט טוב\u200f\nGROSSARTIG café\n".encode("utf-8-sig"))
    result = invoke(runner, "tokenize", path, "--set", "model=blank:xx", "--set", "unicode_form=NFKC")
    assert result.exit_code == 0, result.output
    assert [json.loads(line) for line in result.stdout.splitlines()] == [["סרט", "טוב"], ["grossartig", "café"]]


@pytest.mark.parametrize("encoding", ["latin-1", "utf-16"])
def test_cli_file_in_another_encoding_is_an_error_naming_the_file(runner, tmp_path, encoding):
    path = tmp_path / f"reviews-{encoding}.txt"
    path.write_text("Très bon film\nC'était génial\n", encoding=encoding)
    assert_error(invoke(runner, "tokenize", path), rf"(?i)reviews-{encoding}\.txt.*utf-8.*convert")


def test_cli_utf16_file_is_named_utf16_with_the_command_that_converts_it(runner, tmp_path):
    """Excel's "Unicode Text" and PowerShell 5's ``>`` write UTF-16 with a byte-order mark; the error said
    "is it a binary file?"."""
    path = tmp_path / "reviews.txt"
    path.write_text("Très bon film\nC'était génial\n", encoding="utf-16")
    assert_error(invoke(runner, "tokenize", path), r"reviews\.txt.*is UTF-16.*iconv -f UTF-16 -t utf-8")


def test_cli_latin1_file_error_names_the_likely_encoding_and_the_command(runner, tmp_path):
    path = tmp_path / "reviews.txt"
    path.write_text("Très bon film\nC'était génial\n", encoding="latin-1")
    assert_error(invoke(runner, "tokenize", path), r"reviews\.txt.*latin-1.*iconv -f latin1 -t utf-8")


@pytest.mark.parametrize("encoding, message", [
    ("utf-16", r"reviews\.csv is UTF-16 text .*iconv -f UTF-16 -t utf-8"),
    ("latin-1", r"reviews\.csv, line 2: not valid utf-8 .*such as latin-1 or cp1252.*iconv -f latin1"),
])
def test_load_csv_in_another_encoding_names_it_and_how_to_convert(tmp_path, encoding, message):
    """The library said "Pass encoding=..." (and nothing of UTF-16); a UTF-16 file still reads with its encoding."""
    from toolkit.data.datasets import load_csv
    from toolkit.exceptions import DataError

    path = tmp_path / "reviews.csv"
    path.write_text("text,label\nTrès bon film,pos\nC'était nul,neg\n", encoding=encoding)
    with pytest.raises(DataError, match=message):
        load_csv(path)
    assert list(load_csv(path, encoding=encoding).texts) == ["Très bon film", "C'était nul"]


def test_confusion_matrix_with_chinese_labels_logs_one_warning_naming_the_font_fix(tmp_path, caplog):
    """matplotlib's default font has no CJK glyphs: the plot showed empty boxes, and each missing glyph
    raised its own raw UserWarning."""
    import warnings

    from toolkit.plots import plot_confusion_matrix

    with warnings.catch_warnings(record=True) as caught, caplog.at_level(logging.WARNING, logger="toolkit.plots"):
        warnings.simplefilter("always")
        plot_confusion_matrix(["好", "差", "好"], ["好", "好", "差"], ["好", "差"], tmp_path / "cm.png")
    assert not [w for w in caught if "missing from font" in str(w.message)]
    assert "cm.png: the plot's font lacks" in caplog.text and "Noto Sans CJK" in caplog.text
    assert (tmp_path / "cm.png").stat().st_size > 0
