"""Session 44, helper h8: a practitioner whose texts are not English IMDB reviews (Spanish and German
product reviews, social-media posts) runs the text pipeline and the text commands."""

from __future__ import annotations

import json

import numpy as np
import pytest
from test_cli import assert_error, invoke, runner  # noqa: F401 (fixture, helpers)

from toolkit.text import SpacyTokenizer


@pytest.fixture(scope="module")
def reviews(imdb_small):
    """20 real IMDB training reviews, one line each."""
    return [" ".join(text.split()) for text in imdb_small[0][:20]]


SPANISH = ["No me gustó nada, es muy malo.", "¡Me encanta! 😍 Muy bueno, lo recomiendo.",
           "Nunca más compro esta marca... @tienda #decepción"]


@pytest.mark.parametrize("train_set, test_set, pattern", [
    # the vocabulary of Spanish rules and kept case, new texts tokenized with the defaults
    (["model=blank:es", "lowercase=False"], [],
     (r"tokenizer had lowercase=False, model='blank:es'; this run's has lowercase=True, model='blank:en'.*"
      r"--set lowercase=False --set model=blank:es\)")),
    # word bigrams in the vocabulary, none in the new rows
    (["ngram_range=(1,2)"], [], r"ngram_range=\(1, 2\); this run's has ngram_range=\(1, 1\).*'ngram_range=\(1,2\)'"),
    # a default vocabulary, new texts without lower-casing
    ([], ["lowercase=False"], r"tokenizer had lowercase=True; this run's has lowercase=False"),
])
def test_use_vocabulary_of_other_tokenizer_settings_is_refused(runner, tmp_path, reviews, train_set, test_set,  # noqa: F811
                                                               pattern):
    # before: the new rows were encoded silently with tokens the vocabulary was not made of, mostly <unk> ids
    train, test = tmp_path / "train.txt", tmp_path / "test.txt"
    train.write_text("\n".join(reviews + SPANISH) + "\n", encoding="utf-8")
    test.write_text("\n".join(SPANISH) + "\n", encoding="utf-8")
    sets = [arg for item in train_set for arg in ("--set", item)]
    result = invoke(runner, "vectorize", train, "-o", tmp_path / "train.npz", *sets)
    assert result.exit_code == 0, result.output
    test_sets = [arg for item in test_set for arg in ("--set", item)]
    assert_error(invoke(runner, "vectorize", test, "-o", tmp_path / "test.npz", "--maxlen", 30,
                        "--use-vocabulary", tmp_path / "train.vocab.json", *test_sets), pattern)
    assert not (tmp_path / "test.npz").exists()
    # with the training run's settings, the rows are those of the training vocabulary
    result = invoke(runner, "vectorize", test, "-o", tmp_path / "test.npz", "--maxlen", 30,
                    "--use-vocabulary", tmp_path / "train.vocab.json", *sets)
    assert result.exit_code == 0, result.output
    rows = np.load(tmp_path / "test.npz")["x"]
    assert rows.shape == (3, 30) and not (rows == 1).any()  # every token of the training texts is known
    recorded = json.loads((tmp_path / "train.vocab.json").read_text(encoding="utf-8"))["tokenizer"]
    assert SpacyTokenizer().set_params(**recorded).get_params()  # names SpacyTokenizer parameters


def test_vocabulary_json_records_the_tokenizer_and_still_reads_as_before(tmp_path, reviews):
    from toolkit.cli.text import vectorize
    from toolkit.text import Vocabulary

    result = vectorize(reviews, output_mode="count", tokenizer={"model": "blank:de", "ngram_range": (1, 2)})
    files = result.save(tmp_path / "m.npz")
    data = json.loads(files["vocabulary"].read_text(encoding="utf-8"))
    assert data["tokenizer"] == {"model": "blank:de", "ngram_range": [1, 2]}
    assert Vocabulary.from_json(files["vocabulary"]) == result.vocabulary
    # a file of an earlier toolkit (no "tokenizer") and a Vocabulary object are used unchecked, as before
    result.vocabulary.to_json(tmp_path / "old.json")
    assert "tokenizer" not in json.loads((tmp_path / "old.json").read_text(encoding="utf-8"))
    again = vectorize(reviews[:3], output_mode="count", vocabulary=tmp_path / "old.json")
    assert again.matrix.shape == (3, len(result.vocabulary) - 1)
    same = vectorize(reviews[:3], output_mode="count", vocabulary=files["vocabulary"],
                     tokenizer={"model": "blank:de", "ngram_range": (1, 2)})
    assert (same.matrix != result.matrix[:3]).nnz == 0


def test_negation_on_spanish_posts_with_an_english_word_still_warns(caplog, monkeypatch):
    # before: one "you" in a corpus of Spanish posts (or fewer than 20 posts) kept the English-lists warning silent,
    # though the tokenizer's model said the texts were Spanish; "no" then opened scopes that "pero" never closed
    import logging

    from toolkit.text import NegationMarker
    from toolkit.text import negation as negation_module

    monkeypatch.setitem(negation_module._warned, "language", False)
    posts = SPANISH * 8 + ["jaja I love you 😍 #mood", "No está mal pero es caro."]
    corpus = SpacyTokenizer(model="blank:es").transform(posts)
    with caplog.at_level(logging.WARNING, logger="toolkit.text.negation"):
        marked = NegationMarker().fit_transform(corpus)
    assert marked[-1][:5] == ["no", "NOT_está", "NOT_mal", "NOT_pero", "NOT_es"]  # the half-scope warned about
    assert "SpacyTokenizer(model='blank:es'), a pipeline for the language 'es'" in caplog.text
    assert "Pass negations= and scope_ends= of the texts' language" in caplog.text
    # lists of the language given: no warning; English texts (blank:en) neither
    monkeypatch.setitem(negation_module._warned, "language", False)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="toolkit.text.negation"):
        ours = NegationMarker(negations={"no", "nunca"}, scope_ends={".", ",", "pero"}).fit_transform(corpus)
        NegationMarker().fit_transform(SpacyTokenizer().transform(["I did not like it, but fine."]))
    assert ours[-1][:4] == ["no", "NOT_está", "NOT_mal", "pero"] and not caplog.records


def test_use_vocabulary_with_a_pipeline_folder_named_by_another_path(tmp_path, reviews, monkeypatch):
    # a pipeline folder is compared by no path: the run on new texts may name it from elsewhere
    import spacy

    from toolkit.cli.text import vectorize
    from toolkit.exceptions import DataError

    spacy.blank("es").to_disk(tmp_path / "mi_pipeline")
    monkeypatch.chdir(tmp_path)
    files = vectorize(SPANISH, tokenizer={"model": "mi_pipeline"}).save(tmp_path / "m.npz")
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path / "sub")
    again = vectorize(SPANISH, vocabulary=files["vocabulary"], tokenizer={"model": "../mi_pipeline"}, maxlen=5)
    assert again.matrix.shape == (3, 5) and not (again.matrix == 1).any()
    # other settings still are
    with pytest.raises(DataError, match=r"lowercase=True; this run's has lowercase=False"):
        vectorize(SPANISH, vocabulary=files["vocabulary"], tokenizer={"model": "../mi_pipeline", "lowercase": False})
