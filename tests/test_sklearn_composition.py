"""Toolkit estimators composed with scikit-learn's meta-estimators, configuration and tools."""
import numpy as np
import pytest


def test_sklearn_composition_global_pandas_output_leaves_sparse_bags_alone(imdb_tokens):
    # sklearn.set_config(transform_output="pandas") (set for a tabular workflow) broke every text pipeline:
    # BagEncoder, HashingEncoder and NBFeatureScaler output sparse matrices, which scikit-learn refused to
    # wrap ("The transformer outputs a scipy sparse matrix ... disable Pandas output"), so
    # make_pipeline(BagEncoder(), NBSVMClassifier()).fit and StackedTextClassifier.fit failed. Their sparse
    # output is now left as it is, as scikit-learn's CountVectorizer / TfidfVectorizer leave theirs.
    import scipy.sparse as sp
    import sklearn
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    from toolkit.models import NBSVMClassifier, StackedTextClassifier
    from toolkit.models.naive_bayes import NBFeatureScaler
    from toolkit.text import BagEncoder, HashingEncoder, NegationMarker

    docs, labels = imdb_tokens
    docs, y = docs[:80], np.asarray(labels[:80])
    expected = make_pipeline(NegationMarker(), BagEncoder(), NBSVMClassifier()).fit(docs, y).decision_function(docs)
    with sklearn.config_context(transform_output="pandas"):
        assert sp.issparse(BagEncoder().fit_transform(docs))
        assert sp.issparse(BagEncoder().fit(docs).transform(docs))
        assert sp.issparse(HashingEncoder(n_features=2**10).fit_transform(docs))
        assert sp.issparse(make_pipeline(BagEncoder(), NBFeatureScaler()).fit_transform(docs, y))
        pipe = make_pipeline(NegationMarker(), BagEncoder(), NBSVMClassifier()).fit(docs, y)
        np.testing.assert_allclose(pipe.decision_function(docs), expected, atol=1e-4)  # liblinear's tolerance
        assert make_pipeline(HashingEncoder(n_features=2**10), NBFeatureScaler(),
                             LogisticRegression()).fit(docs, y).score(docs, y) > 0.5
        stack = StackedTextClassifier(vectors=None, cv=2, random_state=0).fit(docs, y)
        assert stack.predict_proba(docs[:5]).shape == (5, 2)
    # an explicit set_output is accepted too (Pipeline.set_output reaches every step), and the bag stays sparse
    pipe = make_pipeline(BagEncoder(), NBFeatureScaler(), LogisticRegression()).set_output(transform="pandas")
    assert sp.issparse(pipe[:-1].fit_transform(docs, y)) and pipe.fit(docs, y).score(docs, y) > 0.5


def test_sklearn_composition_pseudo_labels_from_a_stacked_coo_matrix(imdb_tokens):
    # scipy.sparse.hstack of a bag of words and a dense column returns a COO matrix, which every
    # scikit-learn classifier takes; PseudoLabelClassifier failed with "'coo_matrix' object is not
    # subscriptable" selecting the labelled rows
    import scipy.sparse as sp

    from toolkit.models import NBSVMClassifier, PseudoLabelClassifier
    from toolkit.text import BagEncoder

    docs, labels = imdb_tokens
    docs, y = docs[:80], np.asarray(labels[:80], dtype=object)
    y[1::2] = -1
    bag = BagEncoder(max_tokens=500).fit_transform(docs)
    lengths = np.log1p([[len(d)] for d in docs])
    X = sp.hstack([bag, lengths])
    assert X.format == "coo"
    clf = PseudoLabelClassifier(NBSVMClassifier(random_state=0)).fit(X, y)
    expected = PseudoLabelClassifier(NBSVMClassifier(random_state=0)).fit(X.tocsr(), y)
    assert clf.n_pseudo_labelled_ == expected.n_pseudo_labelled_ > 0
    assert clf.pseudo_labels_.tolist() == expected.pseudo_labels_.tolist()
    assert clf.predict(X).tolist() == expected.predict(X.tocsr()).tolist()


def test_sklearn_composition_pseudo_labels_without_y_says_so(imdb_tokens):
    # make_pipeline(BagEncoder(), PseudoLabelClassifier()).fit(docs) (y forgotten) failed with
    # "IndexError: tuple index out of range"
    from sklearn.pipeline import make_pipeline

    from toolkit.models import PseudoLabelClassifier
    from toolkit.text import BagEncoder

    docs, _ = imdb_tokens
    with pytest.raises(ValueError, match="PseudoLabelClassifier requires y to be passed, but the target y is None"):
        make_pipeline(BagEncoder(), PseudoLabelClassifier()).fit(docs[:20])


def test_sklearn_composition_dataframe_of_token_lists_says_to_select_the_column():
    """ColumnTransformer([("bag", BagEncoder(), ["tokens"])]) passes a one-column DataFrame: each row read as a
    document of one cell, and the error said "document 0 of X contains a list"."""
    import pandas as pd

    from toolkit.text import BagEncoder, NegationMarker

    frame = pd.DataFrame({"tokens": [["not", "good"], ["fine"]]})
    for step in (BagEncoder(), NegationMarker()):
        with pytest.raises(ValueError, match=r"1-D sequence of token lists .* DataFrame with 2 dimensions\. "
                                             r"Select the column first, e\.g\. df\['tokens'\]"):
            step.fit_transform(frame)
    assert BagEncoder().fit_transform(frame["tokens"]).shape[0] == 2  # the column itself works
