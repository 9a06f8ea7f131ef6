"""Session 44, the lead's own fixes."""

from __future__ import annotations

import numpy as np
import pytest
from gensim.models import KeyedVectors

from toolkit.plots import plot_word_map


def test_plot_word_map_names_the_phrase_and_casing_entries_of_missing_words():
    # toolkit vectors map named them (h1), the notebook's plot_word_map(kv, ...) said only "Remove them"
    kv = KeyedVectors(4)
    kv.add_vectors(["new_york", "paris", "london", "king"],
                   np.random.default_rng(0).normal(size=(4, 4)).astype("float32"))
    with pytest.raises(KeyError, match=r"'new york' is the phrase 'new_york' .*'Paris' is 'paris' \(their words "
                                       r"are lowercase\); ask for those\. Remove them") as err:
        plot_word_map(kv, ["new york", "Paris", "london", "zzz"])
    assert "'zzz' is" not in str(err.value)


def test_grid_refit_run_folder_is_named_as_such(tmp_path):
    # a `toolkit grid --refit-output` folder given to predict/evaluate was called a 'toolkit train' run folder
    from toolkit.cli._common import _check_model_folder
    from toolkit.exceptions import DataError

    run = tmp_path / "best"
    (run / "model").mkdir(parents=True)
    (run / "model" / "config.json").write_text("{}")
    (run / "grid.json").write_text("{}")
    with pytest.raises(DataError, match=r"is the run folder of 'toolkit grid --refit-output'; give its model folder"):
        _check_model_folder(run)
    (run / "grid.json").unlink()
    with pytest.raises(DataError, match=r"is the run folder of 'toolkit train'; give its model folder"):
        _check_model_folder(run)


def test_a_refit_folder_written_meanwhile_names_toolkit_grid(tmp_path, caplog):
    from toolkit.cli.train import _free_run_folder

    taken = tmp_path / "best"
    taken.mkdir()
    (taken / "grid.json").write_text("{}")
    with caplog.at_level("WARNING", logger="toolkit"):
        free = _free_run_folder(taken, False, command="toolkit grid", option="--refit-output")
    assert free == tmp_path / "best-2"
    assert "another 'toolkit grid' with the same --refit-output" in caplog.text


def test_load_vectors_after_the_cache_was_cleared_points_at_an_entry_again(fasttext_bin, tmp_path):
    # the process memo returned vectors whose entry folder was deleted: an estimator fitted then kept a path to
    # nothing, and another process got no subword vectors for unseen words (h6's finding, session 44)
    import shutil

    from toolkit.vectors.loading import clear_memo, entry_folder, load_vectors

    clear_memo()  # (an earlier test of this process may hold these vectors, read from its own cache folder)
    cache = tmp_path / "cache"
    first = entry_folder(load_vectors(fasttext_bin, cache_dir=cache))
    assert first is not None and first.is_dir() and first.is_relative_to(cache)
    shutil.rmtree(cache)
    again = entry_folder(load_vectors(fasttext_bin, cache_dir=cache))
    assert again is not None and again.is_dir()
    clear_memo()


def test_a_dimension_mismatch_of_a_tuple_spec_does_not_print_its_texts(imdb_small):
    # the message held repr of every unlabelled text: 84,575 characters for 60 reviews (h6's finding)
    from toolkit import SpacyTokenizer
    from toolkit.models.classifier import EmbeddingClassifier

    texts, labels = imdb_small
    docs = SpacyTokenizer().fit_transform(list(texts[:40]))
    spec = ("word2vec", tuple(texts[:60]), "dim=8,epochs=1,min_count=1")
    # since the forty-sixth session the spec's dim is checked before its vectors are trained
    with pytest.raises(ValueError, match=r"^The domain spec \('word2vec', <60 texts>, 'dim=8,epochs=1,min_count=1'\) "
                                         r"trains vectors of dimension 8 \(its dim option\), but embedding_dim=16\."
                       ) as err:
        EmbeddingClassifier(vectors=spec, embedding_dim=16, epochs=1).fit(docs, labels[:40])
    assert len(str(err.value)) < 500


def test_tokenize_jsonl_keeps_a_line_separator_token_on_its_line(tmp_path):
    # `toolkit tokenize --set analyzer=char` wrote U+2028 raw: str.splitlines() cut the record in two (h8's finding)
    import json
    import subprocess
    import sys

    text = "ab\u2028cd\u2029e"
    command = [sys.executable, "-m", "toolkit", "tokenize", "--set", "analyzer=char", "--set", "ngram_range=(1,1)", "-"]
    out = subprocess.run(command, input=text + "\n", capture_output=True, text=True, cwd=tmp_path, encoding="utf-8",
                         check=False)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert len(lines) == 1
    assert "\u2028" in json.loads(lines[0]) and "\u2029" in json.loads(lines[0])


def test_a_misspelt_vectors_name_is_offered_vectors_manifests_only(tmp_path, monkeypatch):
    # `toolkit train -V glove.6B.51d` offered 'imdb' as a vectors name (h7's finding)
    from toolkit.cli._common import _check_vectors
    from toolkit.exceptions import VectorsNotFoundError

    monkeypatch.chdir(tmp_path)
    with pytest.raises(VectorsNotFoundError, match=r"or a vectors manifest name: .*glove\.6B\.50d") as err:
        _check_vectors("glove.6B.51d", "-V")
    assert "imdb" not in str(err.value)


def test_unseen_star_labels_are_named_with_the_classes_in_numeric_order():
    # "its classes are ['1', '10', '2', ...]" (h7's finding): the README promises numeric order for numbers
    from toolkit.cli.train import _check_known_labels
    from toolkit.exceptions import DataError

    classes = ["1", "10", "2", "3", "4", "7", "8", "9"]
    with pytest.raises(DataError, match=r"has labels '5', '6' that the model was never trained on; its classes are "
                                        r"\['1', '2', '3', '4', '7', '8', '9', '10'\]\."):
        _check_known_labels(["6", "1", "5", "10"], classes, "test.csv")


def test_run_grid_takes_a_list_of_grids_as_grid_search_cv_does(tmp_path, monkeypatch):
    # run_grid(grid=[dict, dict]) crashed in parse_grid with "'dict' object has no attribute 'partition'" (h2)
    import types

    import toolkit.distributed.search as search_module
    from toolkit.cli.grid import parse_grid, run_grid
    from toolkit.models.classifier import make_text_classifier

    grids = [{"classifier__architecture": ["bag"]}, {"classifier__architecture": ["cnn"], "classifier__epochs": [2]}]
    passed = []

    def fake(estimator, param_grid, *args, **kwargs):
        passed.append(param_grid)
        params = [{"classifier__architecture": "bag"}, {"classifier__architecture": "cnn", "classifier__epochs": 2}]
        return types.SimpleNamespace(cv_results_={
            "params": params, "mean_test_score": np.array([0.6, 0.7]), "std_test_score": np.zeros(2),
            "rank_test_score": np.array([2, 1]), "mean_fit_time": np.full(2, 0.1)})

    monkeypatch.setattr(search_module, "grid_search", fake)
    data = tmp_path / "reviews.csv"
    data.write_text("text,label\n" + "".join(f"good film {i},pos\nbad film {i},neg\n" for i in range(4)))
    result = run_grid(str(data), grid=grids, cv=2, local=True)
    assert passed == [grids] and result["best_params"] == {"architecture": "cnn", "epochs": 2}
    for bad in ({"epochs": [1, 2]}, [{"epochs": [1]}, "epochs=2"], "epochs=1,2"):
        with pytest.raises(TypeError, match=r"The grid must be a list of --grid items such as \['epochs=3,5'"):
            parse_grid(bad, make_text_classifier())
