"""Choose the NBSVM++ recipe (epochs, batch size) from ``tune_models.py --groups nbsvm`` runs at several seeds.

``tune_models.py`` chose ``NBSVM_RECIPE`` from one validation split (seed 0) with the rule
"least fit CPU within one standard error of the best accuracy", where the standard error was
that of one accuracy on 5,000 reviews (0.38 points). Candidates scored on the same validation
reviews are paired, so that error overstates how uncertain their *difference* is: at seed 0
two epochs beat one at every batch size (by 0.22-0.34 points) and the rule still kept one.

This script reads the runs at several seeds (each its own validation split and initialisation)
and applies the paired rule: the candidate with the best mean validation accuracy, then the
cheapest candidate (mean fit CPU) whose mean paired deficit against it is within one standard
error of that deficit over the seeds. It writes ``results/<name>.json`` (``params.chosen.nbsvm``
is what ``NBSVM_RECIPE`` must hold; ``tests/test_recipes.py`` checks it).

Run::

    python benchmarks/tune_models.py --groups nbsvm --seed 1 --name tune_models_nbsvm_seed1
    python benchmarks/tune_models.py --groups nbsvm --seed 2 --name tune_models_nbsvm_seed2
    python benchmarks/choose_nbsvm_recipe.py --runs tune_models_nbsvm_bag,tune_models_nbsvm_seed1,tune_models_nbsvm_seed2

``--group main`` applies the same rule to ``tune_models.py --groups main`` runs (the main job's
epochs, batch size and vector branch; the ablation row is a reference, not a candidate).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _common import RESULTS_DIR, print_table, write_results  # noqa: E402

NAME = "tune_models_nbsvm_seeds"


def choose(table):
    """``table``: {candidate: {"acc": [per seed], "cpu": [per seed], "params": {...}}} -> (chosen, best, rows)."""
    import numpy as np

    best = max(table, key=lambda c: np.mean(table[c]["acc"]))
    rows = []
    for cand, t in table.items():
        deficit = np.asarray(table[best]["acc"]) - np.asarray(t["acc"])
        se = float(deficit.std(ddof=1) / np.sqrt(len(deficit))) if len(deficit) > 1 else float("inf")
        rows.append({"candidate": cand, "val_accuracy_per_seed": t["acc"], "mean_val_accuracy": round(float(np.mean(t["acc"])), 4),
                     "mean_deficit": round(float(deficit.mean()), 4), "deficit_se": round(se, 4),
                     "within_one_se": bool(deficit.mean() <= se), "mean_fit_cpu_s": round(float(np.mean(t["cpu"])), 1),
                     "params": t["params"]})
    pick = min((r for r in rows if r["within_one_se"]), key=lambda r: r["mean_fit_cpu_s"])
    return pick, best, rows


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", default="tune_models_nbsvm_bag,tune_models_nbsvm_seed1,tune_models_nbsvm_seed2",
                   help="results/<run>.json files of tune_models.py with an nbsvm group, one per seed")
    p.add_argument("--name", default=NAME)
    p.add_argument("--group", choices=("nbsvm", "main"), default="nbsvm",
                   help="the tune_models.py group: the NBSVM++ recipe, or the main job's epochs, batch and branch")
    args = p.parse_args(argv)
    keys = {"nbsvm": ("epochs", "batch_size"), "main": ("epochs", "batch_size", "hidden_units", "dropout")}[args.group]

    table, seeds = {}, []
    for run in args.runs.split(","):
        record = json.loads((RESULTS_DIR / f"{run}.json").read_text())
        if record["params"].get("limit") is not None:
            raise SystemExit(f"{run}: a smoke run (--limit); the choice needs the full training set")
        seeds.append(record["params"]["seed"])
        for row in record["rows"]:
            if row["group"] == args.group and not row["candidate"].startswith("ablation"):  # not a reference row
                t = table.setdefault(row["candidate"], {"acc": [], "cpu": [], "params": row["params"]})
                t["acc"].append(row["val_accuracy"])
                t["cpu"].append(row["fit_cpu_s"])
    if len(set(seeds)) != len(seeds):
        raise SystemExit(f"the runs repeat a seed: {seeds}")
    complete = {c: t for c, t in table.items() if len(t["acc"]) == len(seeds)}
    pick, best, rows = choose(complete)
    chosen = {args.group: {k: pick["params"][k] for k in keys},
              f"{args.group}_mean_val_accuracy": pick["mean_val_accuracy"], "best": best, "seeds": seeds}
    print_table([{k: v for k, v in r.items() if k != "params"} for r in rows])
    print(f"chosen: {chosen[args.group]} (mean validation {pick['mean_val_accuracy']:.4f}; best {best})")
    write_results(args.name, rows, params={**vars(args), "chosen": chosen})


if __name__ == "__main__":
    main()
