"""Choose DocVectorizer's settings on a validation split of the IMDB TRAINING set.

The doc model (PV-DBOW over word n-grams) is trained on IMDB's 50,000
unlabelled ``unsup`` reviews only; the 25,000 training reviews are split
20,000 fit / 5,000 validation (stratified, seed 0, as ``tune_models.py`` does)
and each setting is scored as ``DocVectorizer -> StandardScaler ->
LogisticRegressionCV`` fitted on the 20,000 and scored on the 5,000. The test
split is not read. Rows record wall and CPU seconds of training (or loading
the cached model), of inference on the fit and validation reviews, and the
load average, since the machine is shared.

Run::

    python benchmarks/tune_docvec.py                        # the default setting
    python benchmarks/tune_docvec.py --settings 10:2,20:2,10:1   # epochs:max_n
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(1, str(HERE.parent))

from _common import RESULTS_DIR, print_table, timer, write_results  # noqa: E402
from bench_imdb import default_work_dir  # noqa: E402
from tune_models import validation_split  # noqa: E402

NAME = "tune_docvec"


def main(argv=None):
    import numpy as np
    from sklearn.linear_model import LogisticRegressionCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from toolkit.vectors import docvec
    from toolkit.vectors.docvec import DocVectorizer

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--settings", default="10:2",
                        help="comma-separated epochs:max_n[:infer_epochs] (n-grams 1..max_n; inference epochs, "
                             "default epochs)")
    parser.add_argument("--append", action="store_true", help="keep the rows of results/<name>.json")
    parser.add_argument("--name", default=NAME)
    parser.add_argument("--val-size", type=int, default=5000)
    parser.add_argument("--limit", type=int, default=None, help="training reviews (smoke runs)")
    parser.add_argument("--data-dir", default=os.environ.get("TOOLKIT_DATA_DIR", str(HERE.parent.parent / "shared" / "data")))
    parser.add_argument("--work-dir", default=None, help="token cache folder")
    args = parser.parse_args(argv)
    os.environ["TOOLKIT_DATA_DIR"] = args.data_dir
    args.work_dir = args.work_dir or default_work_dir()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("gensim").setLevel(logging.WARNING)

    X_fit, y_fit, X_val, y_val = validation_split(args)
    rows = []
    if args.append and (RESULTS_DIR / f"{args.name}.json").exists():
        import json

        rows = json.loads((RESULTS_DIR / f"{args.name}.json").read_text())["rows"]
    for setting in args.settings.split(","):
        epochs, max_n, *infer = (int(v) for v in setting.split(":"))
        vec = DocVectorizer(unlabelled="unsup", epochs=epochs, ngram_range=(1, max_n), random_state=args.seed,
                            infer_epochs=infer[0] if infer else None)
        with timer() as t_model:
            vec.fit(X_fit[:1])
        load_model = os.getloadavg()[0]
        with timer() as t_fit:
            F_fit = vec.transform(X_fit)
        with timer() as t_val:
            F_val = vec.transform(X_val)
        load_infer = os.getloadavg()[0]
        with timer() as t_again:  # the stack transforms the same documents in each of its fits
            vec.transform(X_val)
        clf = make_pipeline(StandardScaler(), LogisticRegressionCV(Cs=10, cv=5, max_iter=2000, n_jobs=1))
        with timer() as t_lr:
            clf.fit(F_fit, y_fit)
        acc = float(np.mean(clf.predict(F_val) == y_val))
        rows.append({"setting": setting, "epochs": epochs, "infer_epochs": vec.infer_epochs or epochs, "ngram_range": f"(1, {max_n})",
                     "vector_size": vec.vector_size, "min_count": vec.min_count,
                     "max_final_vocab": vec.max_final_vocab, "vocabulary": vec.vocabulary_size_,
                     "model_source": vec.model_source_, "model_s": round(t_model.seconds, 1),
                     "model_cpu_s": round(t_model.cpu_seconds, 1), "load_model": round(load_model, 2),
                     "infer_fit_s": round(t_fit.seconds, 1), "infer_fit_cpu_s": round(t_fit.cpu_seconds, 1),
                     "infer_val_s": round(t_val.seconds, 1), "infer_val_cpu_s": round(t_val.cpu_seconds, 1),
                     "load_infer": round(load_infer, 2), "memo_val_s": round(t_again.seconds, 2),
                     "lr_s": round(t_lr.seconds, 1), "val_accuracy": acc,
                     "n_fit": len(y_fit), "n_val": len(y_val)})
        print_table(rows[-1:])
        write_results(args.name, rows, params=vars(args))
        docvec.clear_memo()
    best = max(rows, key=lambda r: r["val_accuracy"])
    path = write_results(args.name, rows, params={**vars(args), "chosen": best["setting"]})
    print(f"chosen on validation: {best['setting']} ({best['val_accuracy']:.4f}); wrote {path}")


if __name__ == "__main__":
    main()
