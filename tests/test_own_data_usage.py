"""A user who brings their own data: other languages, label shapes, CSV/JSONL files and the CLI."""

import importlib.util

import pytest

from toolkit.text import SpacyTokenizer


# ---------------------------------------------------------------- other languages


def test_blank_chinese_pipeline_tokenizes_like_spacy():
    # spaCy's blank "zh" pipeline has its own tokenizer (character segmentation), without
    # the rule tables of the default one: it used to fail with an AttributeError ('rules')
    import spacy

    texts = ["我不喜欢这部电影。", "", "好!"]
    corpus = SpacyTokenizer(model="blank:zh").fit_transform(texts)
    nlp = spacy.blank("zh")
    assert list(corpus) == [[t.lower_ for t in nlp(text) if not t.is_space] for text in texts]
    assert list(corpus)[0][:3] == ["我", "不", "喜"]


@pytest.mark.skipif(importlib.util.find_spec("sudachipy") is not None, reason="sudachipy is installed")
def test_blank_japanese_without_its_package_names_the_package_and_the_command():
    # spaCy knows Japanese; what is missing is the package its tokenizer imports, not the language
    with pytest.raises(ValueError, match="blank:ja") as info:
        SpacyTokenizer(model="blank:ja").fit(["x"])
    message = str(info.value)
    assert "unknown spaCy language" not in message
    assert "sudachipy" in message
    assert "pip install 'spacy[ja]'" in message


def test_blank_unknown_language_is_still_called_unknown():
    with pytest.raises(ValueError, match="unknown spaCy language 'zz'"):
        SpacyTokenizer(model="blank:zz").fit(["x"])


# ---------------------------------------------------------------- many classes, few documents


def _many_classes_csv(path, n_classes=25, per_class=4):
    lines = ["text,label"]
    lines += [f"word{c} common thing {i},class {c}" for c in range(n_classes) for i in range(per_class)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_train_test_split_of_many_small_classes_falls_back_to_a_random_split(tmp_path, caplog):
    # 25 classes of 4 documents, --test-size 0.2: a test part of 20 documents cannot hold every
    # class, and scikit-learn's stratified split refused ("The test_size = 20 should be greater
    # or equal to the number of classes = 25"), reported by `toolkit train` as a bug in toolkit
    from toolkit.cli._inputs import load_train_test

    data = _many_classes_csv(tmp_path / "many.csv")
    with caplog.at_level("WARNING", logger="toolkit.cli._inputs"):
        x_train, y_train, x_test, y_test = load_train_test(str(data), test_size=0.2)
    assert (len(x_train), len(x_test)) == (80, 20)
    assert sorted(set(y_train) | set(y_test)) == sorted(f"class {c}" for c in range(25))
    assert "not stratified" in caplog.text and "25 classes" in caplog.text
    # --limit below the number of classes in the other part: the same fallback
    x_train, y_train, _, _ = load_train_test(str(data), test_size=0.2, limit=70)
    assert len(x_train) == 70


def test_stratified_split_is_kept_when_every_part_holds_every_class(tmp_path):
    from toolkit.cli._inputs import load_train_test

    data = _many_classes_csv(tmp_path / "few.csv", n_classes=3, per_class=10)
    _, y_train, _, y_test = load_train_test(str(data), test_size=0.2)
    assert sorted(y_test) == ["class 0"] * 2 + ["class 1"] * 2 + ["class 2"] * 2


def test_tfidf_baseline_with_more_classes_than_its_validation_part():
    from toolkit.cli.train import tfidf_baseline

    x = [f"word{c} common thing {i}" for c in range(25) for i in range(4)]
    y = [f"class {c}" for c in range(25) for i in range(4)]
    metrics = tfidf_baseline(x, y, x[:25], y[:25])
    assert metrics["classes"] == sorted(set(y)) and 0 <= metrics["accuracy"] <= 1


# ---------------------------------------------------------------- labels written as floats


def test_csv_labels_written_as_integral_floats_are_the_integers(tmp_path):
    # a label column saved from a float column (pandas writes 1.0) or mixed by hand with 1 used to
    # give four classes '0', '0.0', '1', '1.0' for two
    from toolkit.data import load_csv

    path = tmp_path / "mixed.csv"
    path.write_text("text,label\ngood,1\nbad,0\nfine,1.0\nugly,0.0\nok, 1.00\n", encoding="utf-8")
    ds = load_csv(path)
    assert ds.target_names == ["0", "1"]
    assert ds.labels.tolist() == [1, 0, 1, 0, 1]


def test_jsonl_float_and_int_labels_name_their_class_the_same_way(tmp_path):
    # 1 and 1.0 are one class; its name used to depend on which came first ('1' or '1.0')
    from toolkit.data import load_jsonl

    path = tmp_path / "labels.jsonl"
    for first, second in (("1.0", "1"), ("1", "1.0")):
        path.write_text(f'{{"text": "a", "label": {first}}}\n{{"text": "b", "label": 0.0}}\n'
                        f'{{"text": "c", "label": {second}}}\n', encoding="utf-8")
        ds = load_jsonl(path)
        assert ds.target_names == ["0", "1"]
        assert ds.labels.tolist() == [1, 0, 1]


def test_float_labels_sort_as_numbers_when_one_is_not_integral(tmp_path):
    from toolkit.data import load_csv

    path = tmp_path / "scores.csv"
    path.write_text("text,label\na,1.5\nb,1.0\nc,10\n", encoding="utf-8")
    assert load_csv(path).target_names == ["1", "1.5", "10"]  # one class per number, 1.0 named "1" as elsewhere


def test_evaluate_matches_a_files_1_to_a_models_class_1_0():
    # a model trained on labels 0.0/1.0 (a float column, or a run folder from before the fix),
    # scored on a file that writes 0/1: "labels '0', '1' that the model was never trained on"
    import numpy as np

    from toolkit.cli.train import _as_classes, _check_known_labels

    for classes in (["0.0", "1.0"], [0.0, 1.0]):
        labels = np.asarray(["1", "0", "1"])
        _check_known_labels(labels, classes, "ints.csv")
        assert [str(v) for v in _as_classes(labels, classes)] == ["1.0", "0.0", "1.0"]
    with pytest.raises(Exception, match="'2' that the model was never trained on"):
        _check_known_labels(np.asarray(["1", "2"]), ["0.0", "1.0"], "ints.csv")
    # names that are not numbers are matched by their text only
    assert _as_classes(np.asarray(["bad news", "good"]), ["bad news", "good"]).tolist() == ["bad news", "good"]


def test_too_long_document_message_names_the_parameters_of_the_library():
    # a library user reads SpacyTokenizer's parameters, not the options of commands (each command words the
    # advice in its own: tests/test_cli_errors.py)
    with pytest.raises(ValueError, match="more than max_length=10") as info:
        SpacyTokenizer(max_length=10).fit_transform(["short", "a much longer text"])
    assert "raise the max_length parameter of SpacyTokenizer" in str(info.value)
    assert "errors='skip'" in str(info.value) and "--" not in str(info.value)
