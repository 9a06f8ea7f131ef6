"""Size and load time of a saved main-job model folder, file by file (``save_model`` / ``load_model``).

Fits :data:`toolkit.models.recipes.MAIN_JOB` (``toolkit train`` with no
options: ``make_text_classifier(**MAIN_JOB)``) on two tasks built from the IMDB
*training* reviews only (the test split is not read):

- ``imdb2``: ``--reviews`` training reviews (default 3,000) drawn at seed 0,
  two classes (an ``"nbsvm_vectors"`` model with one output);
- ``movies50``: "which movie is this review about?", the 30 reviews of each of
  the 50 most-reviewed training movies (``--movies-csv``, columns
  ``text,label``, when the file exists; else built from
  ``load_imdb("train").groups`` as ``benchmarks/bench_many_classes.py`` does).

Each fitted pipeline is saved with :func:`toolkit.models.save_model`; the
table gives every file's size, ``model.keras``' members (and, inside its
``model.weights.h5``, the optimizer's share) and ``nb_weights.npz``'s members,
then the CPU time of ``load_model`` + one ``predict_proba`` of 200 training
reviews in fresh processes (median of ``--loads``; the process's imports are
outside the timed part), and whether the loaded model predicts the same
probabilities, bit for bit, as the fitted one.

Before/after: run it once with the toolkit to compare on ``PYTHONPATH`` (e.g.
``git archive HEAD | tar -x -C /tmp/old``) and once with this checkout::

    TOOLKIT_DATA_DIR=../shared/data PYTHONPATH=/tmp/old python benchmarks/bench_model_size.py --name before
    TOOLKIT_DATA_DIR=../shared/data python benchmarks/bench_model_size.py --name after

Writes ``benchmarks/results/bench_model_size_<name>.json``.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
from _common import print_table, write_results

NAME = "bench_model_size"
_MB = 2**20

#: Run in a fresh process: load the folder and predict, timing both (CPU seconds) after the imports
_LOAD_SCRIPT = r"""
import json, sys, time
import numpy as np
import toolkit.models, sklearn.pipeline, scipy.sparse
from toolkit.models import load_model
folder, texts_file = sys.argv[1], sys.argv[2]
texts = json.loads(open(texts_file).read())
t0 = time.process_time()
model = load_model(folder)
t1 = time.process_time()
proba = model.predict_proba(texts)
t2 = time.process_time()
np.save(sys.argv[3], proba)
print(json.dumps({"load_cpu_s": t1 - t0, "predict_cpu_s": t2 - t1, "keras_imported": "keras" in sys.modules}))
"""


def load_task(name, *, reviews, movies_csv):
    """(texts, labels) of one task, from the IMDB training reviews."""
    from toolkit.data import load_imdb

    if name == "imdb2":
        data = load_imdb("train")
        idx = np.random.RandomState(0).choice(len(data.texts), reviews, replace=False)
        return [data.texts[i] for i in idx], np.asarray(data.labels)[idx]
    if Path(movies_csv).is_file():
        import csv

        with open(movies_csv, newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
        return [r["text"] for r in rows], np.asarray([r["label"] for r in rows], dtype=object)
    data = load_imdb("train")
    top = {m for m, _ in collections.Counter(data.groups.tolist()).most_common(50)}
    idx = [i for i, m in enumerate(data.groups) if m in top]
    return [data.texts[i] for i in idx], np.asarray(data.groups, dtype=object)[idx]


def weights_h5_parts(keras_file: Path) -> dict:
    """Bytes of ``model.weights.h5``'s datasets in ``keras_file``: the optimizer's and the layers'."""
    import io

    import h5py

    parts = collections.Counter()
    with zipfile.ZipFile(keras_file) as zf, h5py.File(io.BytesIO(zf.read("model.weights.h5")), "r") as h5:
        def visit(name, obj):
            if isinstance(obj, h5py.Dataset):
                parts["optimizer" if name.startswith("optimizer") else "layers"] += obj.nbytes
        h5.visititems(visit)
    return dict(parts)


def describe(folder: Path) -> list[dict]:
    """One row per file of the folder and per member of its archives, sizes in MB."""
    rows = []
    for file in sorted(folder.iterdir()):
        rows.append({"file": file.name, "member": "", "MB": file.stat().st_size / _MB})
        if file.name == "model.keras":
            with zipfile.ZipFile(file) as zf:
                for info in zf.infolist():
                    rows.append({"file": file.name, "member": info.filename, "MB": info.file_size / _MB})
            for part, nbytes in weights_h5_parts(file).items():
                rows.append({"file": file.name, "member": f"model.weights.h5: {part}", "MB": nbytes / _MB})
        elif file.suffix == ".npz":
            with zipfile.ZipFile(file) as zf:
                for info in zf.infolist():
                    if info.file_size > 64 * 1024:
                        rows.append({"file": file.name, "member": info.filename, "MB": info.file_size / _MB})
    rows.append({"file": "(folder)", "member": "", "MB": sum(f.stat().st_size for f in folder.iterdir()) / _MB})
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--name", default="after", help="results suffix (before / after)")
    parser.add_argument("--reviews", type=int, default=3000, help="training reviews of the two-class task")
    parser.add_argument("--movies-csv", default="/tmp/h5/movies50.csv")
    parser.add_argument("--tasks", nargs="+", default=["imdb2", "movies50"])
    parser.add_argument("--loads", type=int, default=3, help="fresh processes timing the load")
    parser.add_argument("--keep", default=None, help="folder to keep the saved models in")
    args = parser.parse_args(argv)

    import toolkit
    from toolkit.models import make_text_classifier, save_model
    from toolkit.models.recipes import MAIN_JOB

    print(f"toolkit from {Path(toolkit.__file__).parent}", flush=True)
    out = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="bench-model-size-"))
    out.mkdir(parents=True, exist_ok=True)
    results = []
    for task in args.tasks:
        texts, labels = load_task(task, reviews=args.reviews, movies_csv=args.movies_csv)
        model = make_text_classifier(**MAIN_JOB, random_state=0).fit(texts, labels)
        folder = save_model(model, out / f"{task}-{args.name}")
        probe = texts[:200]
        expected = model.predict_proba(probe)
        probe_file, proba_file = out / f"{task}-probe.json", out / f"{task}-{args.name}-proba.npy"
        probe_file.write_text(json.dumps(probe))
        timings = []
        for _ in range(args.loads):
            done = subprocess.run([sys.executable, "-c", _LOAD_SCRIPT, str(folder), str(probe_file), str(proba_file)],
                                  check=True, capture_output=True, text=True)
            timings.append(json.loads(done.stdout.strip().splitlines()[-1]))
        same = bool(np.array_equal(np.load(proba_file), expected))
        rows = describe(folder)
        for row in rows:
            print(f"{task:9s} {row['file']:18s} {row['member']:34s} {row['MB']:9.2f} MB")
        summary = {"task": task, "classes": len(set(labels.tolist())), "docs": len(texts),
                   "folder_MB": rows[-1]["MB"],
                   "load_cpu_s": float(np.median([t["load_cpu_s"] for t in timings])),
                   "predict_cpu_s": float(np.median([t["predict_cpu_s"] for t in timings])),
                   "keras_imported": any(t["keras_imported"] for t in timings), "same_proba": same}
        results.append({**summary, "files": rows})
    print_table([{k: v for k, v in r.items() if k != "files"} for r in results])
    write_results(f"{NAME}_{args.name}", results, params=vars(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
