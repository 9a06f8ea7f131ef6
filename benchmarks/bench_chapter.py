"""The classic "word embeddings" chapter experiments, with toolkit and with plain Keras.

Experiment 1 (learned embedding, from raw text): the 25,000 IMDB training
reviews, 10,000-word vocabulary, the last 20 tokens of each review, an 8-d
learned Embedding -> Flatten -> Dense(1, sigmoid), rmsprop, 20 epochs, batch
32, 20% held out for validation; reported: best validation accuracy.

Experiment 2 (few examples): 200 training reviews, 10,000 held-out reviews,
maxlen 100, Embedding -> Flatten -> Dense(32, relu) -> Dense(1, sigmoid),
rmsprop, 10 epochs, batch 32; frozen GloVe 6B-50d against a learned 50-d
embedding; reported: held-out accuracy after the last epoch, mean of 3 seeds.

The peer is plain Keras measured in the same run: ``TextVectorization`` for
the vocabulary, ``keras.utils.pad_sequences`` for the last tokens, a
``Sequential`` model, ``fit(validation_split=0.2)``, and for GloVe an
embedding matrix filled by a loop over the vocabulary.

Usage::

    python benchmarks/bench_chapter.py --seed 0
    python benchmarks/bench_chapter.py --seed 0 --quick      # smoke run, small data

The full-IMDB rows that used to follow the chapter ("beyond": the estimator's
defaults with GloVe, and NBSVM++ with settings read off the test set) are rows
``keras_bag_glove`` and ``keras_nbsvm123`` of ``bench_imdb.py``, at the
defaults chosen on validation data.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from _common import print_table, timer, write_results  # noqa: E402

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def keras_sequences(train_texts, other_texts, *, max_tokens, maxlen):
    """Plain-Keras preprocessing: TextVectorization + pad_sequences (keep the last tokens)."""
    import keras

    vectorizer = keras.layers.TextVectorization(max_tokens=max_tokens, ragged=True)
    vectorizer.adapt(train_texts, batch_size=1024)

    def encode(texts):
        return keras.utils.pad_sequences(vectorizer(texts).to_list(), maxlen=maxlen)

    return vectorizer, encode(train_texts), [encode(t) for t in other_texts]


def keras_flatten_model(vocab_size, dim, maxlen, hidden, matrix=None):
    import keras

    layers = [keras.Input(shape=(maxlen,), dtype="int32"), keras.layers.Embedding(vocab_size, dim, name="emb"),
              keras.layers.Flatten()]
    if hidden:
        layers.append(keras.layers.Dense(hidden, activation="relu"))
    layers.append(keras.layers.Dense(1, activation="sigmoid"))
    model = keras.Sequential(layers)
    if matrix is not None:
        model.get_layer("emb").set_weights([matrix])
        model.get_layer("emb").trainable = False
    model.compile(optimizer="rmsprop", loss="binary_crossentropy", metrics=["accuracy"])
    return model


def experiment_1(texts, labels, args):
    import keras

    from toolkit.models.classifier import make_text_classifier

    rows = []
    pipe = make_text_classifier(
        remove_punct=True, architecture="flatten", max_tokens=10000, maxlen=20, embedding_dim=8,
        optimizer="rmsprop", epochs=args.epochs1, batch_size=32, validation_split=0.2, patience=None,
        random_state=args.seed,
    )
    with timer() as t:
        pipe.fit(texts, labels)
    hist = pipe.named_steps["classifier"].history_
    rows.append({
        "experiment": "1: learned 8-d, last 20 tokens", "impl": "toolkit make_text_classifier",
        "best_val_acc": max(hist["val_accuracy"]), "best_epoch": int(np.argmax(hist["val_accuracy"])) + 1,
        "final_val_acc": hist["val_accuracy"][-1], "fit_s": t.seconds,
    })
    print_table(rows[-1:])

    keras.utils.set_random_seed(args.seed)  # the peer's own, global, seeding
    with timer() as t:
        vectorizer, X, _ = keras_sequences(texts, [], max_tokens=10000, maxlen=20)
        model = keras_flatten_model(10000, 8, 20, 0)
        y = (np.asarray(labels) == "pos").astype("float32")
        history = model.fit(X, y, epochs=args.epochs1, batch_size=32, validation_split=0.2, verbose=0)
    val = history.history["val_accuracy"]
    rows.append({
        "experiment": "1: learned 8-d, last 20 tokens", "impl": "plain Keras (TextVectorization)",
        "best_val_acc": max(val), "best_epoch": int(np.argmax(val)) + 1, "final_val_acc": val[-1],
        "fit_s": t.seconds,
    })
    print_table(rows[-1:])
    return rows


def experiment_2(texts, labels, test_texts, test_labels, args):
    import keras

    from toolkit.models.classifier import EmbeddingClassifier
    from toolkit.text.tokenizer import SpacyTokenizer
    from toolkit.vectors import load_vectors

    tokenizer = SpacyTokenizer(remove_punct=True)
    train_tokens = tokenizer.fit_transform(texts)
    test_tokens = tokenizer.transform(test_texts)
    glove = str(args.glove)
    kv = load_vectors(glove)  # warm the memo: loading is not what is compared
    y_test = np.asarray(test_labels)
    rows = []
    for setting, vectors in (("frozen GloVe 6B-50d", glove), ("learned 50-d", None)):
        for seed in range(args.seed, args.seed + args.seeds):
            clf = EmbeddingClassifier(
                architecture="flatten", vectors=vectors, trainable="frozen",
                embedding_dim=None if vectors else 50, max_tokens=10000, maxlen=100, hidden_units=32,
                optimizer="rmsprop", epochs=10, batch_size=32, validation_split=0.0, patience=None,
                random_state=seed,
            )
            with timer() as t:
                clf.fit(train_tokens, labels)
            rows.append({"experiment": f"2: 200 reviews, {setting}", "impl": "toolkit EmbeddingClassifier",
                         "seed": seed, "test_acc": float(np.mean(clf.predict(test_tokens) == y_test)),
                         "fit_s": t.seconds})
            print_table(rows[-1:])

            keras.utils.set_random_seed(seed)
            with timer() as t:
                vectorizer, X, (X_test,) = keras_sequences(texts, [test_texts], max_tokens=10000, maxlen=100)
                vocab = vectorizer.get_vocabulary()
                matrix = None
                if vectors:
                    matrix = np.zeros((len(vocab), kv.vector_size), dtype="float32")
                    for i, word in enumerate(vocab):
                        if i > 1 and word in kv.key_to_index:
                            matrix[i] = kv[word]
                model = keras_flatten_model(len(vocab), 50, 100, 32, matrix)
                y = (np.asarray(labels) == "pos").astype("float32")
                model.fit(X, y, epochs=10, batch_size=32, verbose=0)
            pred = np.where(model.predict(X_test, verbose=0).ravel() > 0.5, "pos", "neg")
            rows.append({"experiment": f"2: 200 reviews, {setting}", "impl": "plain Keras",
                         "seed": seed, "test_acc": float(np.mean(pred == y_test)), "fit_s": t.seconds})
            print_table(rows[-1:])
    summary = []
    for experiment in dict.fromkeys(r["experiment"] for r in rows):
        for impl in dict.fromkeys(r["impl"] for r in rows):
            accs = [r["test_acc"] for r in rows if r["experiment"] == experiment and r["impl"] == impl]
            fits = [r["fit_s"] for r in rows if r["experiment"] == experiment and r["impl"] == impl]
            summary.append({"experiment": experiment, "impl": impl, "seeds": len(accs),
                            "mean_test_acc": float(np.mean(accs)), "std_test_acc": float(np.std(accs)),
                            "mean_fit_s": float(np.mean(fits))})
    return rows, summary


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--seeds", type=int, default=3, help="seeds of experiment 2")
    parser.add_argument("--epochs1", type=int, default=20)
    parser.add_argument("--data-dir", type=Path, default=Path(os.environ.get("TOOLKIT_DATA_DIR", DEFAULT_DATA)))
    parser.add_argument("--only", choices=["1", "2"], default=None, help="one experiment")
    parser.add_argument("--quick", action="store_true", help="small data, for a smoke run")
    args = parser.parse_args(argv)
    args.glove = args.data_dir / "glove.6B.50d.txt.gz"

    from toolkit.data.datasets import load_imdb

    data = load_imdb("train", path=args.data_dir / "aclImdb_v1.tar.gz")
    order = np.random.RandomState(args.seed).permutation(len(data.texts))
    texts = [data.texts[i] for i in order]
    labels = np.asarray(data.target_names)[data.labels[order]]
    n1, n_test = (2000, 1000) if args.quick else (len(texts), 10000)

    rows, summary = [], []
    if args.only in (None, "1"):
        rows += experiment_1(texts[:n1], labels[:n1], args)
    if args.only in (None, "2"):
        rows2, summary = experiment_2(texts[:200], labels[:200], texts[200:200 + n_test],
                                      labels[200:200 + n_test], args)
        rows += rows2
    print()
    print_table([r for r in rows if r["experiment"].startswith("1")] or [{}])
    print()
    print_table(summary or [{}])
    path = write_results("bench_chapter" + ("_quick" if args.quick else ""), rows + summary,
                         params={k: str(v) for k, v in vars(args).items()})
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
