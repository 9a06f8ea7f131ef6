"""A user with few labels and much unlabelled text (session 39): PseudoLabelClassifier's y and sample_weight,
and the unlabelled sources of domain vectors and DocVectorizer, on small real IMDB samples."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline

from toolkit.exceptions import DataError
from toolkit.models.naive_bayes import NBSVMClassifier
from toolkit.models.semi_supervised import PseudoLabelClassifier
from toolkit.vectors.docvec import DocVectorizer
from toolkit.vectors.domain import domain_vectors


@pytest.fixture(scope="module")
def counts(imdb_counts_partly_labelled):
    """200 real reviews as counts, their 'neg'/'pos' labels, the first 80 labelled (-1 else; conftest's)."""
    return imdb_counts_partly_labelled


@pytest.mark.parametrize("estimator", [LogisticRegression(max_iter=5000), NBSVMClassifier()],
                         ids=["logreg", "nbsvm"])
def test_semi_supervised_user_s39_integer_weights_equal_repeated_samples(counts, estimator):
    """Before: fit() got an unexpected keyword argument 'sample_weight'. With fraction=1.0 every unlabelled
    sample is pseudo-labelled, so weights 1-3 (labelled and unlabelled rows) fit as the rows repeated."""
    X, y, _ = counts
    w = np.random.default_rng(0).integers(1, 4, y.shape[0])
    rows = np.repeat(np.arange(y.shape[0]), w)
    weighted = PseudoLabelClassifier(estimator, fraction=1.0).fit(X, y, sample_weight=w)
    repeated = PseudoLabelClassifier(estimator, fraction=1.0).fit(X[rows], y[rows])
    unweighted = PseudoLabelClassifier(estimator, fraction=1.0).fit(X, y)
    np.testing.assert_allclose(weighted.decision_function(X), repeated.decision_function(X), atol=1e-4)
    assert np.abs(unweighted.decision_function(X) - repeated.decision_function(X)).max() > 1e-2  # weights count
    assert weighted.n_pseudo_labelled_ == unweighted.n_pseudo_labelled_ == 120


def test_semi_supervised_user_s39_weights_reach_a_pipelines_last_step(counts, imdb_small):
    texts, _ = imdb_small
    _, y, _ = counts
    w = np.ones(y.shape[0])
    w[:40] = 3.0
    inner = PseudoLabelClassifier(make_pipeline(CountVectorizer(), LogisticRegression(max_iter=2000)))
    got = inner.fit(texts[:200], y, sample_weight=w).decision_function(texts[:10])
    flat = make_pipeline(CountVectorizer(), PseudoLabelClassifier(LogisticRegression(max_iter=2000)))
    flat.fit(texts[:200], y, pseudolabelclassifier__sample_weight=w)  # the routing a GridSearchCV uses
    plain = PseudoLabelClassifier(make_pipeline(CountVectorizer(), LogisticRegression(max_iter=2000)))
    assert np.abs(got - plain.fit(texts[:200], y).decision_function(texts[:10])).max() > 1e-3


def test_semi_supervised_user_s39_weights_refused_clearly(counts):
    X, y, labels = counts
    w = np.ones(y.shape[0])
    with pytest.raises(ValueError, match="its estimator KNeighborsClassifier's fit takes no sample_weight"):
        PseudoLabelClassifier(KNeighborsClassifier()).fit(X, y, sample_weight=w)
    with pytest.raises(ValueError, match="sample_weight of PseudoLabelClassifier must be numbers"):
        PseudoLabelClassifier().fit(X, y, sample_weight=labels)
    with pytest.raises(ValueError, match="Negative values in data passed to `sample_weight`"):
        PseudoLabelClassifier().fit(X, y, sample_weight=-w)
    with pytest.raises(ValueError, match=r"sample_weight.shape == \(5,\), expected \(200,\)"):
        PseudoLabelClassifier().fit(X, y, sample_weight=w[:5])
    # (a labelled class of weight 0 is fitted since session 45: tests/test_zero_weight_classes_s45.py)
    labelled_zero = np.where(y != -1, 0.0, 1.0)
    with pytest.raises(ValueError, match=r"sample_weight gives every labelled sample the weight 0"):
        PseudoLabelClassifier(LogisticRegression()).fit(X, y, sample_weight=labelled_zero)


@pytest.mark.parametrize("missing", [np.nan, None, pd.NA], ids=["nan", "none", "pd.NA"])
def test_semi_supervised_user_s39_missing_labels_refused(counts, missing):
    """Before: NaN/None for unlabelled rows (pandas' way) failed with "'<' not supported between instances of
    'float' and 'str'"."""
    X, y, _ = counts
    series = pd.Series(y).astype(object)
    series[80:] = missing
    with pytest.raises(ValueError, match=r"Input y contains NaN/None \(first at index 80; 120 in all\).*"
                                         r"marks unlabelled samples with the integer -1.*fillna\(-1\)"):
        PseudoLabelClassifier().fit(X, series)


def test_semi_supervised_user_s39_float_nan_labels_refused(counts):
    X, _, labels = counts
    y = (labels == "pos").astype(float)
    y[80:] = np.nan
    with pytest.raises(ValueError, match=r"Input y contains NaN/None \(first at index 80; 120 in all\)"):
        PseudoLabelClassifier().fit(X, y)


def test_semi_supervised_user_s39_string_minus_one_in_object_labels_refused(counts):
    """Before: labels read from a CSV as 'neg'/'pos'/'-1' trained a third class named '-1' silently."""
    X, y, _ = counts
    y = y.copy()
    y[80:] = "-1"
    with pytest.raises(ValueError, match=r"y holds the string '-1' \(first at index 80\): only the integer -1 "
                                         r"marks unlabelled samples"):
        PseudoLabelClassifier().fit(X, y)


# --------------------------------------------------------------- unlabelled sources
DOCS = [["a", "good", "film"], ["a", "bad", "film"]] * 10


def test_semi_supervised_user_s39_docvec_messages_name_its_parameter(tmp_path):
    """Before: DocVectorizer's errors said "named by the 'vectors' domain spec" and offered to "drop the source
    to train on the training documents only", which DocVectorizer never does."""
    (tmp_path / "empty.txt").write_text("")
    small = {"vector_size": 4, "epochs": 1, "min_count": 1}
    with pytest.raises(DataError, match=r"nope\.txt' named by the 'unlabelled' parameter of DocVectorizer does "
                                        r"not exist") as err:
        DocVectorizer(unlabelled=str(tmp_path / "nope.txt"), **small).fit(DOCS)
    assert "domain spec" not in str(err.value)
    with pytest.raises(DataError, match=r"empty\.txt' holds no text \(every line is blank\): the 'unlabelled' parameter of DocVectorizer "
                                        r"reads one document per line") as err:
        DocVectorizer(unlabelled=tmp_path / "empty.txt", **small).fit(DOCS)
    assert "training documents" not in str(err.value)
    with pytest.raises(DataError, match=r"texts of the 'unlabelled' parameter of DocVectorizer are empty"):
        DocVectorizer(unlabelled=("", "  "), **small).fit(DOCS)


@pytest.mark.parametrize("make", [
    lambda folder: DocVectorizer(unlabelled=str(folder), vector_size=4, epochs=1, min_count=1).fit(DOCS),
    lambda folder: domain_vectors(f"word2vec:{folder}:dim=4,epochs=1,min_count=1", DOCS),
], ids=["docvec", "domain"])
def test_semi_supervised_user_s39_folder_source_says_folder(tmp_path, make):
    """Before: a folder of reviews (aclImdb/train/unsup) was said to "not exist (or is not a file)"."""
    (tmp_path / "0_0.txt").write_text("a fine film")
    with pytest.raises(DataError, match=r"is a folder; give a UTF-8 text file with one document per line, or the "
                                        r"texts themselves, e\.g\. tuple\(p\.read_text"):
        make(tmp_path)


def test_semi_supervised_user_s39_sources_with_none_name_the_item():
    with pytest.raises(ValueError, match=r"must hold raw text strings \(one document each\); item 1 is NoneType"):
        DocVectorizer(unlabelled=["a good film", None], vector_size=4).fit(DOCS)
    with pytest.raises(ValueError, match=r"must hold raw text strings; item 1 is NoneType"):
        domain_vectors(("word2vec", ["a good film", None], "dim=4"), DOCS)


def test_semi_supervised_user_s39_domain_empty_string_source_is_not_the_working_folder():
    """Before: ('word2vec', '') read Path('') -- the working folder -- and said it did not exist."""
    with pytest.raises(ValueError, match=r"the source is an empty string; give 'unsup', a path, a tuple of texts, "
                                         r"or None"):
        domain_vectors(("word2vec", "", "dim=4,min_count=1"), DOCS)


def test_semi_supervised_user_s39_second_fit_on_rewritten_file_gets_new_vectors(tmp_path, imdb_small):
    """Two fits in a row, the unlabelled file rewritten in between: each gets the vectors of its own text
    (this already worked; kept as a guard of the content-keyed caches)."""
    texts, _ = imdb_small
    path = tmp_path / "unlabelled.txt"
    docs = [t.lower().split() for t in texts[:20]]
    small = {"vector_size": 8, "epochs": 1, "min_count": 1}
    path.write_text("\n".join(texts[:60]), encoding="utf-8")
    first = DocVectorizer(unlabelled=path, **small).fit(docs)
    spec = f"word2vec:{path}:dim=8,epochs=1,min_count=1,train=0"
    kv_first = set(domain_vectors(spec, docs).index_to_key)
    path.write_text("\n".join(texts[60:120]) + "\n", encoding="utf-8")
    second = DocVectorizer(unlabelled=path, **small).fit(docs)
    assert first.model_key_ != second.model_key_ and second.model_source_ == "trained"
    assert set(domain_vectors(spec, docs).index_to_key) != kv_first


def test_semi_supervised_user_s39_fit_logs_each_round(counts, caplog):
    """Before: fit said nothing, though with thousands of unlabelled documents it fits the estimator
    n_rounds + 1 times; now an INFO line per fit says how many samples each round pseudo-labelled, per class."""
    import logging

    X, y, _ = counts
    with caplog.at_level(logging.INFO, logger="toolkit.models.semi_supervised"):
        clf = PseudoLabelClassifier(fraction=0.5, n_rounds=2).fit(X, y)
    kept = clf.pseudo_labels_[80:]
    n_neg, n_pos = int((kept == "neg").sum()), int((kept == "pos").sum())
    messages = [r.getMessage() for r in caplog.records if r.name == "toolkit.models.semi_supervised"]
    assert messages[0] == "PseudoLabelClassifier: fitting NBSVMClassifier on 80 labelled samples (120 unlabelled)"
    assert messages[-1] == (f"PseudoLabelClassifier round 2/2: pseudo-labelled {n_neg + n_pos} of 120 unlabelled "
                            f"samples ('neg': {n_neg}, 'pos': {n_pos}); refitting on {80 + n_neg + n_pos}")
    assert len(messages) == 3


def test_semi_supervised_user_s39_a_pandas_series_of_texts_is_a_source_like_its_tuple(imdb_small):
    """df["review"] as the unlabelled texts: refused before ("must be 'unsup', a path ... Got 0 <a whole Series
    repr>"); now the same source as the tuple of its texts."""
    import pandas as pd

    texts, _ = imdb_small
    unlabelled = pd.Series(list(texts[:60]), index=range(100, 160))
    docs = [t.lower().split() for t in texts[:20]]
    small = {"vector_size": 8, "epochs": 1, "min_count": 1}
    from_series = DocVectorizer(unlabelled=unlabelled, **small).fit(docs)
    from_tuple = DocVectorizer(unlabelled=tuple(texts[:60]), **small).fit(docs)
    assert from_series.model_key_ == from_tuple.model_key_
    np.testing.assert_array_equal(from_series.transform(docs), from_tuple.transform(docs))
    spec = ("word2vec", unlabelled, "dim=8,epochs=1,min_count=1")
    assert domain_vectors(spec, docs) is domain_vectors(("word2vec", tuple(texts[:60]), spec[2]), docs)
    with pytest.raises(ValueError, match=r"item 3 is float \(nan\)"):
        DocVectorizer(unlabelled=pd.Series(["a", "b", "c", None]), **small).fit(docs)
    # a whole table by mistake: the message names the parameter without printing every review
    from toolkit._validation import InvalidParameterError

    with pytest.raises(InvalidParameterError, match=r"unlabelled' parameter of DocVectorizer must be .* or a pandas "
                                                   r"Series \(or 1-D numpy array\)\. Got review 0 I saw .*\.\.\. "
                                                   r"\(DataFrame\) instead") as err:
        DocVectorizer(unlabelled=pd.DataFrame({"review": list(texts[:60])}), **small).fit(docs)
    assert len(str(err.value)) < 600
