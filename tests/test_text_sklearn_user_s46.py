"""The text encoders composed with scikit-learn, as a scikit-learn user does on small real IMDB samples.

Session 46 hunt: ``get_feature_names_out`` of a ``ColumnTransformer`` or
``FeatureUnion`` holding a :class:`~toolkit.text.HashingEncoder`, and the
column names of such a ``ColumnTransformer`` set to pandas output; the
advice for a column of category strings given to ``BagEncoder(output_mode="one_hot")``.
"""

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import HashingVectorizer
from sklearn.pipeline import make_pipeline, make_union
from sklearn.preprocessing import StandardScaler

from toolkit.text import BagEncoder, HashingEncoder, SpacyTokenizer


def _frame(imdb_small, n=30):
    texts, _ = imdb_small
    lengths = [float(len(t)) for t in texts[:n]]
    return pd.DataFrame({"review": texts[:n], "length": lengths}, index=np.arange(1000, 1000 + n))


def test_column_transformer_with_hashing_names_its_columns(imdb_small):
    # ColumnTransformer.get_feature_names_out raised "Estimator hashingencoder does not provide
    # get_feature_names_out", and with pandas output every column, the numeric one too, was numbered 0..n
    frame = _frame(imdb_small)
    columns = ColumnTransformer([("text", make_pipeline(SpacyTokenizer(), HashingEncoder(n_features=16)), "review"),
                                 ("length", StandardScaler(), ["length"])])
    names = columns.fit(frame).get_feature_names_out()
    assert names.tolist() == [f"text__hashingencoder{i}" for i in range(16)] + ["length__length"]
    out = columns.set_output(transform="pandas").fit_transform(frame)
    assert out.columns.tolist() == names.tolist() and out.index.tolist() == frame.index.tolist()
    hashed = HashingVectorizer(analyzer=lambda d: d, n_features=16, alternate_sign=False, norm=None)
    tokens = SpacyTokenizer().fit_transform(frame["review"]).to_list()
    np.testing.assert_array_equal(out.iloc[:, :16].to_numpy(), hashed.transform(tokens).toarray())
    np.testing.assert_allclose(out["length__length"].to_numpy(),
                               StandardScaler().fit_transform(frame[["length"]]).ravel())


def test_feature_union_of_words_and_hashed_char_ngrams_names_every_column(imdb_small):
    texts, _ = imdb_small
    union = make_union(make_pipeline(SpacyTokenizer(), BagEncoder(max_tokens=50)),
                       make_pipeline(SpacyTokenizer(analyzer="char_wb", ngram_range=(2, 3)), HashingEncoder(n_features=32)))
    X = union.fit_transform(texts[:20])
    names = union.get_feature_names_out()
    assert names.shape == (X.shape[1],) == (49 + 32,)
    assert names[0] == "pipeline-1__<unk>" and names[-1] == "pipeline-2__hashingencoder31"


def test_hashing_names_need_no_fit_and_check_the_parameter():
    assert HashingEncoder(n_features=3).get_feature_names_out().tolist() == [
        "hashingencoder0", "hashingencoder1", "hashingencoder2"]
    assert HashingEncoder(n_features=np.int64(2)).get_feature_names_out().dtype == object
    try:
        HashingEncoder(n_features=0).get_feature_names_out()
    except ValueError as err:
        assert "'n_features' parameter of HashingEncoder" in str(err)
    else:
        raise AssertionError("n_features=0 was accepted")


def test_one_hot_of_category_strings_says_how_to_give_them(imdb_small):
    # a column of category strings (here IMDB's 'neg'/'pos' labels) was told to "wrap them in a list, [tokens],
    # for one row" (one document, which one_hot then refuses) or to put SpacyTokenizer first
    _, labels = imdb_small
    categories = pd.Series(labels[:40], index=np.arange(500, 540))
    for fit in (lambda: BagEncoder(output_mode="one_hot").fit(categories),
                lambda: BagEncoder(output_mode="one_hot").fit([["neg"], ["pos"]]).transform(categories)):
        with pytest.raises(ValueError, match=r"one token per document: give each category as a one-token list") as err:
            fit()
        assert "for one row" not in str(err.value) and "OneHotEncoder" in str(err.value)
    # both ways the message gives work, and agree
    by_lists = BagEncoder(output_mode="one_hot").fit_transform(categories.apply(lambda c: [c]))
    by_column = BagEncoder(output_mode="one_hot").fit_transform(categories.to_frame().to_numpy(dtype=object))
    assert (by_lists != by_column).nnz == 0 and by_lists.shape == (40, 3)
    np.testing.assert_array_equal(by_lists.sum(axis=1), 1.0)
    # the other modes keep their advice (tokenize raw text; one document's tokens go in a list)
    with pytest.raises(ValueError, match=r"wrap them in a list, \[tokens\], for one row"):
        BagEncoder().fit(categories)
