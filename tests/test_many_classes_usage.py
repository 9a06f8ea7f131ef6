"""Many classes: IMDB training reviews labelled by the movie they are about (``load_imdb(...).groups``).

A user's "which movie is this review about?" task: tens of classes of at most 30 reviews each, where the
toolkit had been tuned on 2 and 8 classes. Costs that grow with classes x n-grams are checked by the memory
they allocate (tracemalloc) or by the solver iterations they spend, never by wall time.
"""

from __future__ import annotations

import collections
import tracemalloc

import numpy as np
import pytest


@pytest.fixture(scope="module")
def movie_reviews(shared_data):
    """The reviews of the 20 most-reviewed training movies (600 reviews, 30 each): (texts, movie ids)."""
    from toolkit.data.datasets import load_imdb

    data = load_imdb("train", path=shared_data / "aclImdb_v1.tar.gz")
    top = {m for m, _ in collections.Counter(data.groups.tolist()).most_common(20)}
    idx = [i for i, m in enumerate(data.groups) if m in top]
    return [data.texts[i] for i in idx], np.asarray(data.groups[idx], dtype=object)


def test_nbsvm_many_classes_holds_its_class_by_ngram_arrays_once(movie_reviews):
    """NBSVMClassifier's (n_classes, n_features) ratios and weights were built as lists of rows and then
    np.vstack-ed: the fit held each array twice (4.0 GiB peak instead of 2.05 GiB at 200 classes x 660,000
    1-3-grams). Filled in place, the fit's peak is 1.4 times what it keeps (2.3 times before: the copies)."""
    from sklearn.feature_extraction.text import CountVectorizer

    from toolkit.models import NBSVMClassifier

    texts, movies = movie_reviews
    X = CountVectorizer(ngram_range=(1, 2)).fit_transform(texts)
    clf = NBSVMClassifier(random_state=0)
    tracemalloc.start()
    try:
        clf.fit(X, movies)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    kept = clf.coef_.nbytes + clf.log_count_ratio_.nbytes
    assert clf.coef_.shape == (20, X.shape[1])
    assert peak < 1.8 * kept, f"fit peak {peak / 2**20:.1f} MiB for {kept / 2**20:.1f} MiB of fitted arrays"
    # each class its own row, in classes_ order: the top class of a training review is mostly its movie
    assert (clf.classes_[clf.decision_function(X).argmax(1)] == movies).mean() > 0.9


@pytest.mark.slow
def test_baseline_grid_warm_starts_lbfgs_with_many_classes(movie_reviews, monkeypatch):
    """toolkit train's TF-IDF + LogisticRegression baseline fits lbfgs' multinomial model for more than two
    classes at C = 1, 3, 10, 30, each from zero: its cost grows with n-grams x classes (38 s for the main
    job's 8 s on 50 movies). Each C now starts from the previous one's solution."""
    from sklearn.linear_model import LogisticRegression

    from toolkit.cli import train as train_module

    fits = []
    original = LogisticRegression.fit

    def spy(self, X, y, sample_weight=None):
        fitted = original(self, X, y, sample_weight=sample_weight)
        fits.append((self.C, self.warm_start, int(np.max(fitted.n_iter_))))
        return fitted

    monkeypatch.setattr(LogisticRegression, "fit", spy)
    texts, movies = movie_reviews
    result = train_module.tfidf_baseline(texts[::2], movies[::2], texts[1::2], movies[1::2])
    grid = fits[:-1]  # the last fit is the refit on all the training documents at the chosen C
    assert [c for c, _, _ in grid] == sorted(train_module.BASELINE_C_GRID)
    assert all(warm for _, warm, _ in grid[1:]), grid
    assert result["C"] in train_module.BASELINE_C_GRID and result["accuracy"] > 0.5
    assert len(result["classes"]) == 20 and len(result["per_class"]) == 20


def test_baseline_two_classes_unchanged_by_the_warm_start(movie_reviews):
    """liblinear (two classes) ignores warm_start: the binary baseline is the cold fit at every C."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    from toolkit.cli import train as train_module

    texts, movies = movie_reviews
    two = [m for m, _ in collections.Counter(movies.tolist()).most_common(2)]
    keep = np.isin(movies, two)
    x, y = [t for t, k in zip(texts, keep) if k], movies[keep]
    result = train_module.tfidf_baseline(x[::2], y[::2], x[1::2], y[1::2])
    vec = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True).fit(x[::2])
    cold = LogisticRegression(C=result["C"], solver="liblinear", max_iter=1000).fit(vec.transform(x[::2]), y[::2])
    assert result["accuracy"] == pytest.approx((cold.predict(vec.transform(x[1::2])) == y[1::2]).mean())


def test_evaluate_on_unseen_movies_names_ten_of_them_in_one_short_line(movie_reviews, tmp_path):
    """A model of some movies scored on a file of others: the error named every unseen label and every class
    of the model (2,800 characters for a 50-movie model on a 200-movie file); now ten of each and the count."""
    import json

    from sklearn.dummy import DummyClassifier

    from toolkit.cli.train import evaluate
    from toolkit.exceptions import DataError

    texts, movies = movie_reviews
    known, other = sorted(set(movies.tolist()))[:8], sorted(set(movies.tolist()))[8:]
    model = DummyClassifier(strategy="most_frequent").fit([[0]] * len(known) * 2, known * 2)
    path = tmp_path / "other movies, é.jsonl"
    path.write_text("".join(json.dumps({"text": t, "label": m}) + "\n" for t, m in zip(texts, movies)),
                    encoding="utf-8")
    with pytest.raises(DataError) as err:
        evaluate(model, path)
    message = str(err.value)
    assert f"{other[0]!r}" in message and f"and {len(other) - 10} more that the model was never trained on" in message
    assert f"its classes are [{', '.join(map(repr, known))}]" in message  # eight: all named
    assert other[-1] not in message and len(message) < 600
