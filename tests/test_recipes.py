"""The defaults chosen on validation data are the ones the library uses.

``benchmarks/tune_models.py`` chooses the bag model's learning rate and batch
size and the NBSVM++ recipe's epochs and batch size on a validation split of
the IMDB training set, and records its choice in a results JSON. These tests
fail when a default is changed without a new validation run (or the record is
changed without the default).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from toolkit import EmbeddingClassifier
from toolkit.models.recipes import NBSVM_RECIPE

RECORD = Path(__file__).resolve().parents[1] / "benchmarks" / "results" / "tune_models_nbsvm_bag.json"


@pytest.fixture(scope="module")
def chosen():
    with open(RECORD, encoding="utf-8") as fh:
        record = json.load(fh)
    assert record["params"]["limit"] is None, "the record must come from the full training set"
    return record["params"]["chosen"]


def _seeds_choice(record_name, group, split):
    """choose_nbsvm_recipe.py's choice for ``group`` in ``record_name``, checked to come from three or more
    distinct seeds whose tune_models.py runs all used ``split``."""
    with open(RECORD.with_name(record_name), encoding="utf-8") as fh:
        record = json.load(fh)
    chosen = record["params"]["chosen"]
    assert len(chosen["seeds"]) >= 3 and len(set(chosen["seeds"])) == len(chosen["seeds"])
    for run in record["params"]["runs"].split(","):
        with open(RECORD.with_name(f"{run}.json"), encoding="utf-8") as fh:
            assert json.load(fh)["params"].get("split", "random") == split
    return chosen[group]


@pytest.mark.parametrize("record_name, split", [("tune_models_nbsvm_seeds.json", "random"),
                                                 ("tune_models_nbsvm_movie_seeds.json", "movie")])
def test_recipes_nbsvm_recipe_is_the_validation_choice(record_name, split):
    """NBSVM_RECIPE is choose_nbsvm_recipe.py's choice over the seeds' tune_models.py runs, on random
    validation splits and on splits by movie (validation reviews of movies no fit review is about)."""
    chosen = _seeds_choice(record_name, "nbsvm", split)
    assert {k: NBSVM_RECIPE[k] for k in chosen} == chosen


def test_recipes_bag_defaults_are_the_validation_choice(chosen):
    clf = EmbeddingClassifier(architecture="bag")
    assert clf._learning_rate() == chosen["bag"]["learning_rate"]
    assert clf.batch_size == chosen["bag"]["batch_size"]
    # the rate is the Adam family's default only: another optimizer keeps its own
    assert EmbeddingClassifier(architecture="bag", optimizer="rmsprop")._learning_rate() is None


@pytest.mark.parametrize("record_name, split", [("tune_stacking.json", "random"),
                                                 ("tune_stacking_domain_movie.json", "movie")])
def test_recipes_domain_vectors_are_the_validation_choice(record_name, split):
    """DOMAIN_VECTORS is tune_stacking.py's 'domain' group choice, on a random split and on a split by movie."""
    from toolkit.models.recipes import DOMAIN_VECTORS
    from toolkit.vectors.domain import parse_domain_spec

    with open(RECORD.with_name(record_name), encoding="utf-8") as fh:
        record = json.load(fh)
    assert record["params"]["limit"] is None, "the record must come from the full training set"
    assert record["params"].get("split", "random") == split
    assert DOMAIN_VECTORS == record["params"]["chosen"]["domain"]["vectors"]
    spec = parse_domain_spec(DOMAIN_VECTORS)
    assert (spec.algorithm, spec.source, dict(spec.options)) == ("word2vec", "unsup", {"dim": 300, "epochs": 10, "train": 0})


def test_recipes_main_job_schedule_is_also_the_choice_on_splits_by_movie():
    """choose_nbsvm_recipe.py --group main over four tune_models.py --groups main --split movie runs keeps
    the main job's epochs, batch size and vector branch."""
    from toolkit.models.recipes import MAIN_JOB

    chosen = _seeds_choice("tune_models_main_movie_seeds.json", "main", "movie")
    assert {k: MAIN_JOB[k] for k in chosen} == chosen


def test_recipes_main_job_is_the_validation_choice():
    """The main job's epochs, batch size and vector branch are tune_models.py's 'main' group choice."""
    from toolkit.models.recipes import HYBRID_BRANCH, MAIN_JOB

    with open(RECORD.with_name("tune_models_main.json"), encoding="utf-8") as fh:
        record = json.load(fh)
    assert record["params"]["limit"] is None, "the record must come from the full training set"
    chosen = record["params"]["chosen"]["main"]
    assert HYBRID_BRANCH == {k: chosen[k] for k in ("hidden_units", "dropout")}
    assert {k: MAIN_JOB[k] for k in chosen} == chosen
    assert (MAIN_JOB["architecture"], MAIN_JOB["vectors"]) == ("nbsvm_vectors", "glove.6B.50d")
    # every other setting of the main job is the NBSVM recipe the record's candidates ran with
    candidate = next(r["params"] for r in record["rows"] if r["params"].get("epochs") == chosen["epochs"]
                     and r["params"].get("batch_size") == chosen["batch_size"]
                     and r["params"].get("hidden_units") == chosen["hidden_units"]
                     and r["params"].get("dropout") == chosen["dropout"])
    assert {k: MAIN_JOB[k] for k in candidate} == candidate


def test_recipes_stack_job_is_the_validation_choice():
    """STACK_JOB's clusters member and pooling are tune_stacking.py's 'clusters' group choice."""
    from toolkit.models.recipes import DOMAIN_VECTORS, STACK_JOB

    with open(RECORD.with_name("tune_stacking_clusters.json"), encoding="utf-8") as fh:
        record = json.load(fh)
    assert record["params"]["limit"] is None, "the record must come from the full training set"
    chosen = record["params"]["chosen"]["clusters"]
    assert chosen["sizes"] == [200, 1000, 5000, 20000]
    assert (STACK_JOB["clusters"], STACK_JOB["pooling"], STACK_JOB["vectors"]) == (
        chosen["clusters"], chosen["pooling"], chosen["vectors"]) == (chosen["clusters"], chosen["pooling"], DOMAIN_VECTORS)
    # the choice beats the ablation of the same run at every size
    rows = {(r["candidate"], r["n_labels"]): r["mean_accuracy"] for r in record["rows"]}
    label = next(c for c, _ in rows if f"clusters={chosen['clusters']} pooling={chosen['pooling']}" in c)
    for n in chosen["sizes"]:
        assert rows[(label, n)] > rows[("ablation (vectors=None)", n)]


def _stack_params(model):
    """StackedTextClassifier parameters of a tune_stack_folds.py stack ("stack:nbsvm+++nbsvm+vectors_knn300"),
    or None for a member no parameter gives (the probes vectors_mlp, vectors_sifmax, tfidf_knn)."""
    import re

    members = [m.replace("NBSVMPP", "nbsvm++") for m in model.split(":")[1].replace("nbsvm++", "NBSVMPP").split("+")]
    if not all(re.fullmatch(r"nbsvm\+\+|nbsvm|vectors|clusters|vectors_knn\d*(_pca\d+)?", m) for m in members):
        return None
    knn = [re.fullmatch(r"vectors_knn(\d*)(?:_pca(\d+))?", m).groups() for m in members if m.startswith("vectors_knn")]
    return {"ngram_model": tuple(m for m in members if m in ("nbsvm++", "nbsvm")),
            "pooling": "sif" if "vectors" in members else None,
            "clusters": 1000 if "clusters" in members else None,
            "neighbors": int(knn[0][0] or 100) if knn else None,
            "neighbors_dims": int(knn[0][1]) if knn and knn[0][1] else None}


def _probe_means(results, pattern, base, probe, cast, rule, seeds):
    """Mean validation accuracy over ``seeds`` of the stack ``base`` alone (key None) and with one probe member
    ``+<probe>`` (key: its captured value, through ``cast``), from the tune_stack_folds records ``pattern``;
    at least four entries, each measured at every seed."""
    from collections import defaultdict

    found = defaultdict(dict)
    for path in sorted(results.glob(pattern)):
        record = json.loads(path.read_text(encoding="utf-8"))
        assert record["params"]["limit"] is None and record["params"]["split"] == "movie"
        for row in record["rows"]:
            extra = re.fullmatch(rf"(\+{probe})?", row["model"][len(base):]) if row["model"].startswith(base) else None
            if row["rule"] == rule and extra:
                found[cast(extra.group(2)) if extra.group(2) else None][row["seed"]] = row["val_accuracy"]
    assert None in found and len(found) >= 4 and all(set(v) == seeds for v in found.values())
    return {k: sum(v.values()) / len(v) for k, v in found.items()}


def test_recipes_stack_many_job_is_the_validation_choice():
    """STACK_MANY_JOB is the stack with a word-vector member (and scoring rule, fold count) of the best mean
    validation accuracy over tune_stack_folds.py --split movie's seeds (validation reviews about movies the
    fit reviews are not about, as in the official test split), among those measured at every seed that
    StackedTextClassifier's parameters can express."""
    from collections import defaultdict

    from toolkit import StackedTextClassifier
    from toolkit.models.recipes import DOMAIN_VECTORS, STACK_MANY_JOB

    results = RECORD.parent
    scores = defaultdict(dict)
    for path in sorted(results.glob("tune_stack_folds_movie_seed*.json")):
        record = json.loads(path.read_text(encoding="utf-8"))
        assert record["params"]["limit"] is None, f"{path.name} must come from the full training set"
        assert record["params"]["split"] == "movie"
        for row in record["rows"]:
            params = _stack_params(row["model"]) if row["model"].startswith("stack:") else None
            if params and (params["pooling"] or params["clusters"] or params["neighbors"]):
                scores[(row["cv"], row["model"], row["rule"])][row["seed"]] = row["val_accuracy"]
    seeds = set.union(*(set(v) for v in scores.values()))
    assert len(seeds) >= 4
    complete = {key: sum(v.values()) / len(v) for key, v in scores.items() if set(v) == seeds}
    cv, model, rule = max(complete, key=complete.get)
    clf = StackedTextClassifier(**STACK_MANY_JOB)
    assert (clf.cv, clf.predict_with) == (cv, {"full": "refit", "folds": "folds"}[rule])
    members = ("ngram_model", "pooling", "clusters", "neighbors")
    assert {k: getattr(clf, k) for k in members} == {k: _stack_params(model)[k] for k in members}
    assert clf.vectors == DOMAIN_VECTORS

    # its search dimension (fifteenth session): the best mean of that member set over the dimensions the
    # same seeds measured (tune_stack_folds_movie_pca_seed*.json, all dimensions included)
    by_dims = defaultdict(dict)
    for path in sorted(results.glob("tune_stack_folds_movie_pca_seed*.json")):
        record = json.loads(path.read_text(encoding="utf-8"))
        assert record["params"]["limit"] is None and record["params"]["split"] == "movie"
        for row in record["rows"]:
            params = _stack_params(row["model"]) if row["model"].startswith("stack:") else None
            if row["rule"] == rule and params and {k: params[k] for k in members} == {
                    k: _stack_params(model)[k] for k in members}:
                by_dims[params["neighbors_dims"]][row["seed"]] = row["val_accuracy"]
    assert None in by_dims and len(by_dims) >= 3 and all(set(v) == seeds for v in by_dims.values())
    means = {dims: sum(v.values()) / len(v) for dims, v in by_dims.items()}
    assert clf.neighbors_dims == max(means, key=means.get)

    # its tail member (seventeenth session): the best mean, over the same seeds, of that member set plus an
    # NBSVM (the stack's C) on each review's last k tokens, among the k measured (tune_stack_folds_movie_window*),
    # and ahead of the same members without it
    base = "stack:" + "+".join([*clf.ngram_model, "vectors", f"vectors_knn{clf.neighbors}_pca{clf.neighbors_dims}"])
    means = _probe_means(results, "tune_stack_folds_movie_window*_seed*.json", base, r"tail(\d+)", int, rule, seeds)
    assert clf.tail_tokens == max(means, key=means.get)
    assert means[clf.tail_tokens] > means[None]

    # its negation marking (seventeenth session): every n-gram member on marked tokens (mark_negation=True)
    # beats the same stack unmarked over the same seeds, and is within 0.05 point of the best mean of the
    # partial markings measured (those lose the shared n-gram look-up; BENCHMARKS.md)
    by_marking = defaultdict(dict)
    knn = f"vectors_knn{clf.neighbors}_pca{clf.neighbors_dims}"
    stacks = {("negmarkpp", "negmark", f"tail{clf.tail_tokens}neg"): "all",
              ("nbsvm++", "nbsvm", f"tail{clf.tail_tokens}"): "none",
              ("nbsvm++", "negmark", f"tail{clf.tail_tokens}neg"): "partial",
              ("nbsvm++", "negmark", f"tail{clf.tail_tokens}"): "partial",
              ("negmarkpp", "negmark", f"tail{clf.tail_tokens}"): "partial",
              ("negmarkpp", "nbsvm", f"tail{clf.tail_tokens}"): "partial"}
    names = {"stack:" + "+".join([a, b, "vectors", knn, c]): (label, (a, b, c)) for (a, b, c), label in stacks.items()}
    for path in sorted(results.glob("tune_stack_folds_movie_negmark2_seed*.json")):
        record = json.loads(path.read_text(encoding="utf-8"))
        assert record["params"]["limit"] is None and record["params"]["split"] == "movie"
        for row in record["rows"]:
            if row["rule"] == rule and row["model"] in names:
                by_marking[names[row["model"]]][row["seed"]] = row["val_accuracy"]
    assert len(by_marking) == len(stacks) and all(set(v) == seeds for v in by_marking.values())
    means = {key: sum(v.values()) / len(v) for key, v in by_marking.items()}
    best = {label: max(m for (lab, _), m in means.items() if lab == label) for label in ("all", "none", "partial")}
    assert clf.mark_negation is True
    assert best["all"] > best["none"] and best["all"] >= best["partial"] - 0.0005

    # its ratings member (chosen eighteenth session, adopted nineteenth): the best mean, over the same seeds, of
    # that member set plus a ridge to the stars (ratings_ridge<alpha>) among the alphas measured, and ahead of the
    # same members without it (tune_stack_folds_movie_ratings_seed*.json)
    base = "stack:" + "+".join(["negmarkpp", "negmark", "vectors", knn, f"tail{clf.tail_tokens}neg"])
    means = _probe_means(results, "tune_stack_folds_movie_ratings_seed*.json", base, r"ratings_ridge([\d.]+)", float,
                         rule, seeds)
    assert clf.ratings_alpha == max(means, key=means.get)
    assert means[clf.ratings_alpha] > means[None]
