"""The user who runs grid searches from the shell (``toolkit grid``) and with ``grid_search`` (session 44).

- ``--grid epochs=[1,2`` (a bracket not closed), ``epochs=1,2]``, ``epochs=(1,2]`` or ``architecture=bag,'cnn``
  were read as text values and refused as a bad epochs / architecture value, which did not say what was wrong
  with the item: the error names the bracket or quote, where it is, and the accepted syntax. An empty item
  (``1,,2``, also inside brackets ``[1,,2]``) says where, with the syntax. ``architecture=[bag,cnn]`` (names
  unquoted in brackets) was one candidate, the text ``'[bag,cnn]'``: it is the two names.
- ``--grid vectors=none,word2vec:unsup:dim=100,epochs=5`` split the domain spec at its options' comma and
  refused ``epochs=5`` as a vectors file: an option after a spec with options is the spec's.
- ``--grid tokenizer__batch_size=100,200`` reported ``{"batch_size": 200}``, the classifier's name when typed back.
- ``toolkit grid`` refitted and saved nothing: ``--refit-output FOLDER`` refits the best candidate on all the
  training documents and writes a run folder as ``toolkit train --output`` does (``model/`` + ``grid.json``).
"""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from conftest import load_and_predict_in_fresh_process

_SYNTAX = "give name=v1,v2 or name=[v1, v2] (none for None), e.g. epochs=1,2"


def _parse(items):
    from toolkit.cli.grid import parse_grid
    from toolkit.models import make_text_classifier

    return parse_grid(items, make_text_classifier())


@pytest.mark.parametrize(("item", "said"), [
    ("epochs=[1,2", "the '[' at character 8 is not closed (no ']')"),
    ("epochs=(1,2", "the '(' at character 8 is not closed (no ')')"),
    ("ngram_range=(1, 1),(1, 2", "the '(' at character 20 is not closed (no ')')"),
    ("epochs=1,2]", "the ']' at character 11 closes no bracket"),
    ("epochs=(1,2]", "the '(' at character 8 is closed by ']'"),
    ("architecture=bag,'cnn", "the quote ' at character 18 is not closed"),
    ("epochs=1,,2", "an empty value (between '1' and '2': a comma too many)"),
    ("epochs=[1,,2]", "an empty value (between '1' and '2': a comma too many)"),
    ("epochs=1,2,", "an empty value (last: a comma too many)"),
])
def test_grid_user_malformed_grid_item_names_the_problem_and_the_syntax(item, said):
    # Before: '[1,2' / '2]' / "'cnn" were text values, refused later as "must be an int ... Got '[1,2' instead"
    with pytest.raises(ValueError) as info:
        _parse([item])
    assert str(info.value) == f"Invalid --grid {item!r}: {said}; {_SYNTAX}, architecture=bag,cnn or " \
                              "ngram_range=[(1, 1), (1, 2)]."


@pytest.mark.parametrize(("item", "values"), [
    ("architecture=[bag,cnn]", ["bag", "cnn"]),  # before: ['[bag,cnn]'], one candidate
    ("architecture=['bag', 'cnn']", ["bag", "cnn"]),
    ("ngram_range=(1, 1),(1, 2)", [(1, 1), (1, 2)]),
    ("trainable=true,1", [True, 1]),  # before: "1 given more than once" (True == 1)
    # before: [None, 'word2vec:unsup:dim=100', 'epochs=5'], refused as "--grid vectors='epochs=5': no such file"
    ("vectors=none,word2vec:unsup:dim=100,epochs=5", [None, "word2vec:unsup:dim=100,epochs=5"]),
    ("vectors=word2vec:unsup:dim=50,epochs=1,fasttext", ["word2vec:unsup:dim=50,epochs=1", "fasttext"]),
])
def test_grid_user_well_formed_items_still_parse(item, values):
    key = item.partition("=")[0]
    assert list(_parse([item]).values()) == [values], key


def test_grid_user_vectors_path_with_a_bracket_is_not_refused(tmp_path):
    path = tmp_path / "vec(1.txt"
    path.write_text("2 2\na 1 0\nb 0 1\n")
    assert _parse([f"vectors={path}"]) == {"classifier__vectors": [str(path)]}


@pytest.fixture
def no_data(monkeypatch):
    """Loading the data fails the test: what is checked must be checked before."""
    import toolkit.cli._inputs as inputs_module

    def no_loading(*args, **kwargs):
        raise AssertionError("the data were loaded")

    monkeypatch.setattr(inputs_module, "load_data", no_loading)


@pytest.fixture
def reviews_csv(imdb_small, tmp_path):
    """200 real IMDB training reviews and their labels, as a CSV file."""
    path = tmp_path / "reviews.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["text", "label"])
        writer.writerows(zip(imdb_small[0][:200], imdb_small[1][:200]))
    return path


@pytest.mark.parametrize(("item", "said"), [
    ("epochs=[1,2", "Error: Invalid --grid 'epochs=[1,2': the '[' at character 8 is not closed"),
    ("epochs=1 2", "Got '1 2' instead. The values of --grid are separated by commas: epochs=v1,v2 or epochs=[v1, v2]."),
])
def test_grid_user_malformed_grid_in_the_shell_is_one_line_before_the_data(cli, reviews_csv, no_data, item, said):
    code, out, err = cli("grid", "--data", reviews_csv, "--grid", item, "--local", "--cv", "2")
    assert code == 1 and out == "" and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1 and said in err, err


@pytest.mark.parametrize("existing", ["file", "folder", "earlier", "same", "memory"])
def test_grid_user_refit_output_checked_before_the_data(cli, reviews_csv, tmp_path, no_data, existing):
    target = tmp_path / "best"
    args = ["--refit-output", "best"]
    if existing == "file":
        target.write_text("x")
        said = "--refit-output best exists and is not a run folder of toolkit grid (no grid.json)"
    elif existing == "folder":  # e.g. a toolkit train run: --force (also the --output file's) must not replace it
        (target / "model").mkdir(parents=True)
        (target / "metrics.json").write_text("{}")
        said = "is not a run folder of toolkit grid (no grid.json); choose another folder"
    elif existing == "earlier":
        target.mkdir()
        (target / "grid.json").write_text("{}")
        said = "Run folder best exists (an earlier toolkit grid run); pass --force to replace it"
    elif existing == "same":
        args += ["--output", "best"]
        said = "--output best and --refit-output best name the same path"
    else:  # the cache filled the folder during the search, and the run went to best-2
        args += ["--memory", "best/cache"]
        said = "--memory best/cache and --refit-output best overlap"
    code, out, err = cli("grid", "--data", reviews_csv, "--grid", "epochs=1,2", "--local", "--cv", "2", *args)
    assert code == 1 and out == "" and "Traceback" not in err
    assert said in err, err


def test_grid_user_refit_output_saves_the_best_candidate_refitted_on_all_documents(
        cli, reviews_csv, imdb_small, tmp_path, monkeypatch):
    # Before: no such option; the best parameters had to be typed again into toolkit train
    from sklearn.pipeline import Pipeline

    import toolkit.cli.train as train_module

    refitted, fitted_sizes = [], []
    stage = train_module._stage_model

    def spy_stage(estimator, output):
        refitted.append(estimator)
        return stage(estimator, output)

    fit = Pipeline.fit

    def spy_fit(self, X, y=None, **kwargs):
        fitted_sizes.append(len(X))
        return fit(self, X, y, **kwargs)

    monkeypatch.setattr(train_module, "_stage_model", spy_stage)
    monkeypatch.setattr(Pipeline, "fit", spy_fit)
    code, out, err = cli("grid", "--data", reviews_csv, "--grid", "ngram_range=(1, 1),(1, 2)", "--set",
                         "architecture=nbsvm", "--set", "epochs=1", "--cv", "2", "--local", "--refit-output", "best",
                         quiet=False)
    assert code == 0, err
    result = json.loads(out)
    assert fitted_sizes == [100, 100, 100, 100, 200]  # 2 candidates x 2 folds, then the refit on all 200
    assert result["refit"] == {"params": result["best_params"], "settings": {"architecture": "nbsvm", "epochs": 1,
                                                                            "random_state": 0},
                               "n_documents": 200, "fit_seconds": result["refit"]["fit_seconds"],
                               "model": "best/model"}
    assert json.loads((tmp_path / "best" / "grid.json").read_text()) == result
    assert sorted(p.name for p in (tmp_path / "best").iterdir()) == ["grid.json", "model"]
    best = {k: tuple(v) for k, v in result["best_params"].items()}
    assert f"Refitted {best} on all 200 training documents" in err
    [estimator] = refitted
    assert {k: estimator.get_params()[f"tokenizer__{k}"] for k in best} == best
    assert estimator.get_params()["classifier__architecture"] == "nbsvm"

    texts = imdb_small[0][200:230]  # not the training documents
    loaded, _ = load_and_predict_in_fresh_process(tmp_path / "best" / "model", texts, tmp_path)
    np.testing.assert_allclose(loaded, estimator.predict_proba(texts), rtol=1e-5, atol=1e-6)

    # again without --force: refused; with it, the earlier run is replaced
    code, out, err = cli("grid", "--data", reviews_csv, "--grid", "epochs=1", "--set", "architecture=nbsvm",
                         "--cv", "2", "--local", "--refit-output", "best")
    assert code == 1 and "pass --force to replace it" in err


def test_grid_user_without_refit_output_nothing_is_refitted(tmp_path, monkeypatch):
    from toolkit.cli.grid import run_grid

    _fake_search(monkeypatch, [{"classifier__epochs": 1}, {"classifier__epochs": 2}], [2, 1])
    monkeypatch.chdir(tmp_path)
    data = tmp_path / "reviews.csv"
    data.write_text("text,label\n" + "".join(f"good film {i},pos\nbad film {i},neg\n" for i in range(4)))
    result = run_grid(str(data), grid=["epochs=1,2"], cv=2, local=True)
    assert "refit" not in result and result["best_params"] == {"epochs": 2}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["reviews.csv"]


def _fake_search(monkeypatch, params, ranks):
    import types

    import toolkit.distributed.search as search_module

    n = len(params)
    search = types.SimpleNamespace(cv_results_={
        "params": params, "mean_test_score": np.linspace(0.5, 0.7, n), "std_test_score": np.zeros(n),
        "rank_test_score": np.asarray(ranks), "mean_fit_time": np.full(n, 0.1)})
    monkeypatch.setattr(search_module, "grid_search", lambda *args, **kwargs: search)


def test_grid_user_tokenizer_batch_size_keeps_its_step_in_the_results(tmp_path, monkeypatch):
    # Before: --grid tokenizer__batch_size=100,200 reported {"batch_size": 200}, which given back to --set or
    # --grid (toolkit train --set batch_size=200) is the classifier's batch size
    from toolkit.cli.grid import run_grid

    _fake_search(monkeypatch, [{"tokenizer__batch_size": 100}, {"tokenizer__batch_size": 200}], [2, 1])
    data = tmp_path / "reviews.csv"
    data.write_text("text,label\n" + "".join(f"good film {i},pos\nbad film {i},neg\n" for i in range(4)))
    result = run_grid(str(data), grid=["tokenizer__batch_size=100,200"], cv=2, local=True)
    assert result["best_params"] == {"tokenizer__batch_size": 200}
    assert [c["params"] for c in result["candidates"]] == [{"tokenizer__batch_size": 100},
                                                           {"tokenizer__batch_size": 200}]
    _fake_search(monkeypatch, [{"classifier__batch_size": 16, "tokenizer__ngram_range": (1, 2)}], [1])
    result = run_grid(str(data), grid=["batch_size=16", "ngram_range=(1, 2)"], cv=2, local=True)
    assert result["best_params"] == {"batch_size": 16, "ngram_range": (1, 2)}  # names that route back stay short


def test_grid_user_a_class_of_one_document_is_refused_before_the_search(tmp_path, monkeypatch):
    # Before: "EmbeddingClassifier needs samples of at least 2 classes in the data, but the data contains only one
    # class: 'pos'", from the fit of the fold that tests the lone 'neg' document, about data of two classes
    import toolkit.distributed.search as search_module
    from toolkit.cli.grid import run_grid

    def no_search(*args, **kwargs):
        raise AssertionError("the search started")

    monkeypatch.setattr(search_module, "grid_search", no_search)
    data = tmp_path / "reviews.csv"
    data.write_text("text,label\ngood film,pos\nbad film,neg\ngood,pos\ngreat,pos\n")
    with pytest.raises(ValueError, match=r"^--cv 2 folds need at least 2 documents of each class: 'neg' has 1 of "
                                         r"the 4, and the fold that tests it would train on the other class alone"):
        run_grid(str(data), grid=["epochs=1"], cv=2, local=True)


def test_grid_user_a_failed_refit_writes_nothing(tmp_path, monkeypatch):
    from sklearn.pipeline import Pipeline

    from toolkit.cli.grid import run_grid

    _fake_search(monkeypatch, [{"classifier__epochs": 1}, {"classifier__epochs": 2}], [2, 1])

    def broken_fit(self, X, y=None, **kwargs):
        raise RuntimeError("the refit broke")

    monkeypatch.setattr(Pipeline, "fit", broken_fit)
    data = tmp_path / "reviews.csv"
    data.write_text("text,label\n" + "".join(f"good film {i},pos\nbad film {i},neg\n" for i in range(4)))
    with pytest.raises(RuntimeError, match="the refit broke"):
        run_grid(str(data), grid=["epochs=1,2"], cv=2, local=True, refit_output=tmp_path / "best")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["reviews.csv"]
