"""Choose StackedTextClassifier's settings on a validation split of the IMDB TRAINING set.

The 25,000 training reviews are split 20,000 fit / 5,000 validation (stratified,
seed 0, as ``tune_models.py`` does). Labelled draws of 200, 1,000 and 5,000
reviews (``--draws`` balanced seeded draws each, as the learning curve draws
them) and the whole 20,000 are taken from the fit part; every candidate is
scored on the 5,000 validation reviews. The test split is not read. Unlabelled
reviews for self-training come from IMDB's ``unsup`` split (a seeded subset of
``--n-unlabelled``), never from the validation or test reviews.

Groups:

- ``members``: the vector member's vectors and pooling (GloVe 6B-50d or domain
  word2vec on the 50,000 unlabelled reviews; SIF or mean), against the
  ablation (``vectors=None``, the same stack without the vector member); the
  best pooling of each kind of vectors is kept for the learning curve's rows;
- ``c``: the NBSVM member's C: 0.1 against 0.01 (its default; the
  ``members`` rows) with the chosen vectors, and the ablation with C=0.1;
- ``self``: ``PseudoLabelClassifier`` around the chosen stack: every
  ``fraction:rounds:unlabelled`` triple of ``--self-grid`` (pseudo-label a
  ``fraction`` of a seeded subset of ``unlabelled`` reviews, ``rounds`` times);
- ``self_ablation``: the ablation wrapped the same way, at the chosen fraction;
- ``self_job``: ``STACK_JOB`` itself (the recipe, with its clusters member), plain
  and self-trained at each ``--self-grid`` triple, at ``--self-sizes``;
- ``keras``: the Keras NBSVM++ model as the n-gram member (``ngram_model="nbsvm++"``)
  with the chosen vectors and as an ablation, at 20,000 labels;
- ``docvec``: the NBSVM++ member with a paragraph-vector member instead
  (``doc_vectors="unsup"``), at the keras group's sizes; its ablation is the keras group's;
- ``domain``: how the domain vectors are trained: the default ``DOMAIN_SPEC``
  (CBOW, 100 dimensions, 5 epochs) against wider, longer-trained vectors
  (``DOMAIN_WIDE``: 300 dimensions, 10 epochs), both with SIF pooling, and the
  ablation, at ``--sizes`` (a report: the choice is recorded, not applied);
- ``domain_keras``: the NBSVM++ member with the ``DOMAIN_WIDE`` vectors and its
  ablation, re-run in the same process, at the keras group's sizes (a report);
- ``clusters``: a ``"clusters"`` member (NBSVM on 1-3-grams of k-means clusters
  of the ``DOMAIN_WIDE`` vectors, :class:`~toolkit.vectors.clusters.WordClusterer`):
  ``n_clusters`` 500, 1,000 or 2,000, with or without the pooled-vector member,
  and the ablation, at ``--sizes`` (NBSVM n-gram member);
- ``clusters_keras``: the NBSVM++ member with the clusters group's choice (with and
  without the pooled-vector member) and its ablation, at the keras group's sizes;
- ``views``: ``STACK_JOB`` with each extra view of the many-label stack: negation
  marking, the last-20-tokens member, the ``"ratings"`` member (fitted to the fit
  reviews' stars; alpha 0.03, 0.3, 3), and the ablations, at ``--sizes`` (a report).

Every candidate's accuracy per draw goes to ``benchmarks/results/tune_stacking.json``
with the choices; ``bench_learning_curve.py`` reads them from there.

Run::

    python benchmarks/tune_stacking.py                          # every group
    python benchmarks/tune_stacking.py --groups members --sizes 200,1000
    python benchmarks/tune_stacking.py --groups clusters --sizes 200,1000,5000 --split movie --name tune_stacking_clusters_movie
    python benchmarks/tune_stacking.py --groups self_job --self-sizes 200 --self-grid 0.5:1:20000,0.7:1:20000,0.9:1:20000 \
        --split movie --name tune_stacking_self_movie
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(1, str(HERE.parent))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from _common import RESULTS_DIR, print_table, timer, write_results  # noqa: E402
from bench_imdb import default_work_dir  # noqa: E402
from bench_learning_curve import DOMAIN_SPEC, DOMAIN_WIDE, draws, stack_model, unlabelled_tokens  # noqa: E402
from tune_models import validation_split  # noqa: E402

NAME = "tune_stacking"
GLOVE = "glove.6B.50d"


def self_label(best, fraction, rounds, n_unlabelled, prefix=None):
    """The candidate label of one self-training setting (``prefix`` replaces the vectors and pooling)."""
    head = prefix or f"{best['vectors']} {best['pooling']}"
    return f"{head} + self-training fraction={fraction} rounds={rounds} unlabelled={n_unlabelled}"


def candidates(group, chosen, self_grid=((0.3, 1, 10000), (0.7, 1, 10000))):
    """(label, stack params, (self-training fraction, unlabelled reviews) or None) of one group's grid."""
    best = chosen.get("members", {"vectors": DOMAIN_SPEC, "pooling": "sif"})
    if group == "members":  # every candidate has C=0.01 (NBSVMClassifier's default)
        yield "ablation (vectors=None)", {"vectors": None}, None
        for vectors in (GLOVE, DOMAIN_SPEC):
            for pooling in ("sif", "mean"):
                yield f"{vectors} {pooling}", {"vectors": vectors, "pooling": pooling}, None
    elif group == "c":  # C=0.01 is the members group's rows
        yield "ablation C=0.1", {"vectors": None, "C": 0.1}, None
        yield f"{best['vectors']} {best['pooling']} C=0.1", {**best, "C": 0.1}, None
    elif group == "self":
        best = {**best, **chosen.get("c", {})}
        for fraction, rounds, n_unl in self_grid:
            yield self_label(best, fraction, rounds, n_unl), {**best, "n_rounds": rounds}, (fraction, n_unl)
    elif group == "keras":  # the Keras NBSVM++ model as the n-gram member (large sizes)
        yield "ablation ngram_model=nbsvm++", {"vectors": None, "ngram_model": "nbsvm++"}, None
        yield f"{best['vectors']} {best['pooling']} ngram_model=nbsvm++", {**best, "ngram_model": "nbsvm++"}, None
    elif group == "docvec":  # paragraph vectors (DocVectorizer on the unsup reviews) as a member; ablation: keras group
        yield "unsup docvec ngram_model=nbsvm++", {"vectors": None, "doc_vectors": "unsup", "ngram_model": "nbsvm++"}, None
    elif group == "domain":  # how the domain vectors are trained (SIF pooling, C=0.01)
        yield "ablation (vectors=None)", {"vectors": None}, None
        for spec in (DOMAIN_SPEC, DOMAIN_WIDE):
            yield f"{spec} sif", {"vectors": spec, "pooling": "sif"}, None
    elif group == "domain_keras":  # DOMAIN_WIDE with the NBSVM++ member (large sizes), paired with its ablation
        yield "ablation ngram_model=nbsvm++", {"vectors": None, "ngram_model": "nbsvm++"}, None
        yield f"{DOMAIN_WIDE} sif ngram_model=nbsvm++", {"vectors": DOMAIN_WIDE, "pooling": "sif",
                                                          "ngram_model": "nbsvm++"}, None
    elif group == "clusters":  # word-vector clusters as a second NB member (NBSVM n-gram member)
        yield "ablation (vectors=None)", {"vectors": None}, None
        for k in (500, 1000, 2000):
            for pooling in (None, "sif"):
                yield (f"{DOMAIN_WIDE} clusters={k} pooling={pooling}",
                       {"vectors": DOMAIN_WIDE, "clusters": k, "pooling": pooling}, None)
    elif group == "clusters_keras":  # the clusters group's choice with the NBSVM++ member, paired with its ablation
        k = chosen.get("clusters", {}).get("clusters", 1000)
        yield "ablation ngram_model=nbsvm++", {"vectors": None, "ngram_model": "nbsvm++"}, None
        for pooling in (None, "sif"):
            yield (f"{DOMAIN_WIDE} clusters={k} pooling={pooling} ngram_model=nbsvm++",
                   {"vectors": DOMAIN_WIDE, "clusters": k, "pooling": pooling, "ngram_model": "nbsvm++"}, None)
    elif group == "self_job":  # the self-training setting of the recipe itself: STACK_JOB, plain and self-trained
        from toolkit.models.recipes import STACK_JOB

        job = {k: v for k, v in STACK_JOB.items() if k != "ngram_range"}  # (1, 3): stack_model's default
        yield "STACK_JOB", job, None
        for fraction, rounds, n_unl in self_grid:
            yield self_label(job, fraction, rounds, n_unl, prefix="STACK_JOB"), {**job, "n_rounds": rounds}, \
                (fraction, n_unl)
    elif group == "self_ablation":  # the ablation, self-trained the same way as the chosen model
        fraction, rounds, n_unl = (chosen["self"][k] for k in ("fraction", "n_rounds", "n_unlabelled"))
        yield (self_label(best, fraction, rounds, n_unl, prefix="ablation"),
               {**best, **chosen.get("c", {}), "vectors": None, "n_rounds": rounds}, (fraction, n_unl))
    elif group == "views":  # STACK_JOB with the many-label stack's extra views (nineteenth session)
        from toolkit.models.recipes import STACK_JOB

        job = {k: v for k, v in STACK_JOB.items() if k != "ngram_range"}
        yield "STACK_JOB", job, None
        yield "STACK_JOB mark_negation", {**job, "mark_negation": True}, None
        yield "STACK_JOB tail_tokens=20", {**job, "tail_tokens": 20}, None
        for alpha in (0.03, 0.3, 3.0):
            yield f"STACK_JOB ratings_alpha={alpha}", {**job, "ratings_alpha": alpha}, None
        yield "ablation (vectors=None)", {**job, "vectors": None}, None
        yield "ablation ratings_alpha=0.3", {**job, "vectors": None, "ratings_alpha": 0.3}, None
    else:
        raise ValueError(f"unknown group {group!r}")


def _choose(rows, group, sizes, prefix=""):
    """The non-ablation candidate (whose label starts with ``prefix``) with the best mean validation
    accuracy over the sizes (each size weighs the same): (label, mean accuracy, one of its rows)."""
    import numpy as np

    scores = {}
    for row in rows:
        if (row["group"] == group and row["n_labels"] in sizes and not row["candidate"].startswith("ablation")
                and row["candidate"].startswith(prefix)):
            scores.setdefault(row["candidate"], []).append(row["mean_accuracy"])
    full = {c: float(np.mean(s)) for c, s in scores.items() if len(s) == len(sizes)}
    best = max(full, key=full.get)
    row = next(r for r in rows if r["group"] == group and r["candidate"] == best)
    return best, full[best], row


def _upgrade_self_rows(rows, params):
    """Give self-training rows written before ``--self-grid`` (one ``--n-unlabelled`` per run) their
    ``n_unlabelled`` and the label format of :func:`self_label`, so ``--resume`` matches them."""
    for row in rows:
        if row.get("self_training") is None or "n_unlabelled" in row:
            continue
        row["n_unlabelled"] = params["n_unlabelled"]
        head = row["candidate"].split(" + self-training")[0]
        row["candidate"] = self_label(None, row["self_training"], row["params"].get("n_rounds", 1),
                                      row["n_unlabelled"], prefix=head)


def main(argv=None):
    import numpy as np

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--groups", default="members,c,self,self_ablation")
    parser.add_argument("--sizes", default="200,1000,5000,20000")
    parser.add_argument("--self-sizes", default="200,1000", help="sizes of the self-training groups")
    parser.add_argument("--c-sizes", default="200,1000,5000", help="sizes of the c group")
    parser.add_argument("--self-grid", default="0.3:1:10000,0.7:1:10000",
                        help="self-training settings to try: comma-separated fraction:rounds:unlabelled triples")
    parser.add_argument("--keras-sizes", default="20000", help="sizes of the keras group")
    parser.add_argument("--draws", type=int, default=3)
    parser.add_argument("--name", default=NAME)
    parser.add_argument("--val-size", type=int, default=5000)
    parser.add_argument("--limit", type=int, default=None, help="training reviews (smoke runs)")
    parser.add_argument("--data-dir", default=os.environ.get("TOOLKIT_DATA_DIR", str(HERE.parent.parent / "shared" / "data")))
    parser.add_argument("--work-dir", default=None, help="token cache folder")
    parser.add_argument("--resume", action="store_true", help="keep the rows of results/<name>.json, run the rest")
    parser.add_argument("--split", choices=("random", "movie"), default="random",
                        help="validation reviews: a stratified random 5,000, or movies no fit review is about")
    args = parser.parse_args(argv)
    os.environ["TOOLKIT_DATA_DIR"] = args.data_dir
    args.work_dir = args.work_dir or default_work_dir()
    groups = args.groups.split(",")
    sizes = [int(s) for s in args.sizes.split(",")]
    self_sizes = [int(s) for s in args.self_sizes.split(",")]
    c_sizes = [int(s) for s in args.c_sizes.split(",")]
    self_grid = [(float(f), int(r), int(u)) for f, r, u in (t.split(":") for t in args.self_grid.split(","))]
    keras_sizes = [int(s) for s in args.keras_sizes.split(",")]

    X_fit, y_fit, X_val, y_val = validation_split(args)
    unlabelled = {}  # number of unlabelled reviews -> their tokens
    rows, chosen = [], {}
    if args.resume and (RESULTS_DIR / f"{args.name}.json").exists():
        import json

        with open(RESULTS_DIR / f"{args.name}.json", encoding="utf-8") as fh:
            previous = json.load(fh)
        rows, chosen = previous["rows"], previous["params"].get("chosen", {})
        _upgrade_self_rows(rows, previous["params"])
    done = {(r["group"], r["candidate"], r["n_labels"]) for r in rows}
    params = {k: v for k, v in vars(args).items() if k not in ("work_dir", "resume")}
    for group in groups:
        group_sizes = {"self": self_sizes, "self_ablation": self_sizes, "self_job": self_sizes, "c": c_sizes,
                       "keras": keras_sizes, "docvec": keras_sizes,
                       "domain_keras": keras_sizes, "clusters_keras": keras_sizes}.get(group, sizes)
        for n in group_sizes:
            index_sets = list(draws(y_fit, n_labels=n, n_draws=args.draws, seed=args.seed))
            for label, stack_params, self_training in candidates(group, chosen, self_grid):
                if (group, label, n) in done:
                    continue
                fraction, n_unl = self_training or (None, None)
                if fraction is not None and n_unl not in unlabelled:
                    unlabelled[n_unl] = unlabelled_tokens(args.data_dir, n_unl, args.seed)
                accs, cpus, secs, weights = [], [], [], []
                for k, idx in enumerate(index_sets):
                    model = stack_model(random_state=args.seed + k, self_training=fraction, **stack_params)
                    X, y = X_fit.take(idx), y_fit[idx]
                    if fraction is not None:
                        from toolkit import TokenizedCorpus

                        X = TokenizedCorpus.concatenate([X, unlabelled[n_unl]])
                        y = np.concatenate([y, np.full(n_unl, -1)])
                    # a stack with a "ratings" member learns the fit reviews' stars (views group)
                    stars = {"ratings": args.fit_ratings[idx]} if stack_params.get("ratings_alpha") else {}
                    with timer() as t:
                        model.fit(X, y, **stars)
                    accs.append(float(np.mean(model.predict(X_val) == y_val)))
                    secs.append(round(t.seconds, 1))
                    cpus.append(round(t.cpu_seconds, 1))
                    stack = model.estimator_ if fraction is not None else model
                    weights.append({m: round(w, 3) for m, w in stack.member_weights_.items()})
                    print(f"{group} {n} {label} draw {k}: {accs[-1]:.4f} ({t.seconds:.0f} s wall, "
                          f"{t.cpu_seconds:.0f} s CPU) weights {weights[-1]}", flush=True)
                rows.append({"group": group, "candidate": label, "n_labels": n, "n_draws": len(accs),
                             "mean_accuracy": round(float(np.mean(accs)), 4), "std": round(float(np.std(accs)), 4),
                             "accuracies": [round(a, 4) for a in accs], "fit_s": secs, "fit_cpu_s": cpus,
                             "member_weights": weights, "params": stack_params, "self_training": fraction,
                             "n_unlabelled": n_unl,
                             "loadavg_1min": round(os.getloadavg()[0], 2)})
                write_results(args.name, rows, params={**params, "chosen": chosen})
        if group in ("domain", "domain_keras", "clusters", "clusters_keras"):
            label, score, row = _choose(rows, group, group_sizes)
            chosen[group] = {"vectors": row["params"]["vectors"], "sizes": group_sizes,
                             "mean_val_accuracy": round(score, 4)}
            if group.startswith("clusters"):
                chosen[group].update(clusters=row["params"]["clusters"], pooling=row["params"]["pooling"])
            print(f"{group} group: best {label} ({score:.4f})", flush=True)
            write_results(args.name, rows, params={**params, "chosen": chosen})
            continue
        if group in ("self_ablation", "docvec"):  # docvec: read against the keras group's ablation
            continue
        if group == "keras":  # against the members group's best (NBSVM member) at the same sizes
            label, score, row = _choose(rows, group, group_sizes)
            base = f"{chosen['members']['vectors']} {chosen['members']['pooling']}"
            base_score = float(np.mean([r["mean_accuracy"] for r in rows if r["group"] == "members"
                                        and r["candidate"] == base and r["n_labels"] in group_sizes]))
            chosen["keras"] = {"ngram_model": "nbsvm++" if score > base_score else "nbsvm", "sizes": group_sizes}
            chosen["keras_mean_val_accuracy"] = round(score, 4)
            print(f"keras group: {label} {score:.4f} against {base} {base_score:.4f}", flush=True)
            write_results(args.name, rows, params={**params, "chosen": chosen})
            continue
        label, score, row = _choose(rows, group, group_sizes)
        if group == "members":
            chosen["members"] = {"vectors": row["params"]["vectors"], "pooling": row["params"]["pooling"]}
            # the pooling of each kind of vectors, for the learning curve's GloVe and domain rows
            chosen["pooling"] = {v: _choose(rows, group, group_sizes, prefix=v + " ")[2]["params"]["pooling"]
                                 for v in (GLOVE, DOMAIN_SPEC)}
        elif group == "c":  # against the same model with C=0.01 (members group), over the same sizes
            base = f"{chosen['members']['vectors']} {chosen['members']['pooling']}"
            base_score = float(np.mean([r["mean_accuracy"] for r in rows if r["group"] == "members"
                                        and r["candidate"] == base and r["n_labels"] in group_sizes]))
            if base_score >= score:
                label, score, row = base + " C=0.01", base_score, {"params": {"C": 0.01}}
            chosen["c"] = {"C": row["params"]["C"]}
        else:
            chosen[group] = {"fraction": row["self_training"], "n_rounds": row["params"].get("n_rounds", 1),
                              "sizes": group_sizes, "n_unlabelled": row["n_unlabelled"]}
        chosen[group + "_mean_val_accuracy"] = round(score, 4)
        print(f"chosen for {group}: {label} (mean validation accuracy over sizes {group_sizes}: {score:.4f})",
              flush=True)
        write_results(args.name, rows, params={**params, "chosen": chosen})
    print_table(rows, ["group", "candidate", "n_labels", "mean_accuracy", "std"])
    path = write_results(args.name, rows, params={**params, "chosen": chosen})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
