"""The text encoders in scikit-learn tooling, as an ML engineer uses them on small real IMDB samples.

Session 42 hunt: empty batches through normalizing encoders, sparse input (the
``check_estimator_sparse_tag`` contract), a column of token lists given as a
2-D object array, and ``HashingEncoder.partial_fit`` (``HashingVectorizer``'s
out-of-core API).
"""

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.feature_extraction.text import HashingVectorizer
from sklearn.linear_model import SGDClassifier
from sklearn.utils import estimator_checks

from toolkit.text import BagEncoder, HashingEncoder, SequenceEncoder, SpacyTokenizer

ENCODERS = [BagEncoder(), BagEncoder(output_mode="tf_idf", norm="l2"), HashingEncoder(n_features=2**10),
            SequenceEncoder(maxlen=20)]


@pytest.mark.parametrize("encoder", [BagEncoder(norm="l2"), BagEncoder(output_mode="tf_idf", norm="l1"),
                                     HashingEncoder(n_features=2**10, norm="l2")], ids=repr)
def test_sklearn_user_normalizing_encoder_transforms_zero_documents(encoder, imdb_tokens200):
    # an empty batch (a filter that kept no review) gave "Found array with 0 sample(s) ... required by the
    # normalize function", while the same encoder without norm returned a (0, n) matrix
    docs, _ = imdb_tokens200
    encoder = clone(encoder).fit(docs)
    n_columns = encoder.transform(docs[:1]).shape[1]
    out = encoder.transform([])
    assert sp.issparse(out) and out.shape == (0, n_columns) and out.dtype == np.float32
    assert encoder.fit_transform(docs).shape[0] == len(docs)  # the rows of a real batch are still normalized
    row_norms = np.asarray(abs(encoder.transform(docs[:5])).sum(axis=1)).ravel()
    if encoder.norm == "l1":
        np.testing.assert_allclose(row_norms, 1.0, rtol=1e-5)


@pytest.mark.parametrize("encoder", ENCODERS, ids=repr)
def test_sklearn_user_encoders_pass_check_estimator_sparse_tag(encoder):
    # sparse=False in the tags: fitting on a sparse matrix must fail saying sparse input is not supported
    # (HashingEncoder.fit accepted it; the others said "contains a float64 (np.float64(0.548...))")
    estimator_checks.check_estimator_sparse_tag(type(encoder).__name__, clone(encoder))


@pytest.mark.parametrize("encoder", ENCODERS, ids=repr)
def test_sklearn_user_encoders_name_sparse_input_in_transform(encoder, imdb_tokens200):
    # a bag of tokens fed to an encoder again (a FeatureUnion output, a pipeline step in the wrong place)
    docs, _ = imdb_tokens200
    encoder = clone(encoder).fit(docs)
    bag = BagEncoder().fit(docs).transform(docs[:10])
    for matrix in (bag, sp.coo_array(bag)):
        with pytest.raises(ValueError, match=r"got a sparse matrix .*shape \(10, \d+\).*sparse input is not supported"):
            encoder.transform(matrix)


def test_sklearn_user_tokenizer_names_sparse_input(imdb_small):
    texts, _ = imdb_small
    bag = BagEncoder().fit_transform(SpacyTokenizer().fit_transform(texts[:5]))
    with pytest.raises(ValueError, match=r"got a sparse matrix \(csr_matrix of shape \(5, \d+\)\); sparse input is not"):
        SpacyTokenizer().fit_transform(bag)


@pytest.mark.parametrize("encoder", [BagEncoder(), SequenceEncoder(maxlen=20), HashingEncoder(n_features=64)],
                         ids=repr)
def test_sklearn_user_token_column_as_2d_object_array_is_named(encoder, imdb_tokens200):
    # ColumnTransformer([("t", enc, [0])]) over a numpy array, or permutation_importance's 2-D X: a (n, 1) object
    # array of token lists. The error printed the whole first review ("contains a list (['i', 'saw', ...]") and
    # said nothing of the shape
    docs, _ = imdb_tokens200
    column = np.empty((len(docs), 1), dtype=object)
    column[:, 0] = docs
    with pytest.raises(ValueError) as info:
        clone(encoder).fit(docs).transform(column)
    message = str(info.value)
    assert "2-D object array of shape (200, 1)" in message and "X[:, 0]" in message
    assert len(message) < 400 and docs[0][5] not in message.split()
    # the column itself works
    assert clone(encoder).fit(column[:, 0]).transform(column[:, 0]).shape[0] == len(docs)


def test_sklearn_user_nested_token_is_shown_short(imdb_tokens200):
    docs, _ = imdb_tokens200
    nested = [docs[0], [docs[1]]]  # a document whose "token" is a whole review
    with pytest.raises(ValueError, match=r"document 1 of X contains a list") as info:
        BagEncoder().fit(nested)
    assert len(str(info.value)) < 300


def test_sklearn_user_hashing_encoder_partial_fit_out_of_core(imdb_tokens200):
    # HashingVectorizer's out-of-core loop: vectorizer.partial_fit(batch) then transform; HashingEncoder had no
    # partial_fit (AttributeError)
    docs, labels = imdb_tokens200
    encoder = HashingEncoder(n_features=2**12, norm="l2", alternate_sign=True)
    sklearn_hasher = HashingVectorizer(analyzer=lambda d: d, n_features=2**12, norm="l2", alternate_sign=True)
    model = SGDClassifier(random_state=0)
    for start in range(0, 150, 50):
        batch = docs[start:start + 50]
        assert encoder.partial_fit(batch) is encoder
        X = encoder.transform(batch)
        assert abs(X - sklearn_hasher.partial_fit(batch).transform(batch)).max() < 1e-6
        model.partial_fit(X, labels[start:start + 50], classes=np.unique(labels))
    assert model.score(encoder.transform(docs[150:]), labels[150:]) > 0.5
    with pytest.raises(ValueError, match="n_features"):
        HashingEncoder(n_features=0).partial_fit(docs[:2])


def test_sklearn_user_sample_weight_from_a_mixed_dataframe_column(imdb_small, imdb_tokens200):
    # df[["review", "weight"]].to_numpy()[:, 1] is an object array of floats; scikit-learn reads it as weights,
    # the toolkit's check refused it ("must be numbers ... got an array of dtype object")
    import pandas as pd

    from toolkit._validation import check_sample_weight
    from toolkit.models.naive_bayes import NBSVMClassifier
    from toolkit.models.semi_supervised import PseudoLabelClassifier

    docs, labels = imdb_tokens200
    texts, _ = imdb_small
    frame = pd.DataFrame({"review": texts[:200], "weight": np.where(labels == "pos", 2.0, 1.0)})
    weights = frame.to_numpy()[:, 1]
    assert weights.dtype == object
    np.testing.assert_array_equal(check_sample_weight(weights, 200, owner="T"), frame["weight"].to_numpy())
    X = BagEncoder().fit_transform(docs)
    by_objects = PseudoLabelClassifier(NBSVMClassifier(random_state=0)).fit(X, labels, sample_weight=weights)
    by_floats = PseudoLabelClassifier(NBSVMClassifier(random_state=0)).fit(X, labels, sample_weight=frame["weight"].to_numpy())
    np.testing.assert_allclose(by_objects.decision_function(X), by_floats.decision_function(X))
    # strings (a group or label column passed by mistake) are still refused, and a NaN is named as such
    with pytest.raises(ValueError, match="must be numbers"):
        check_sample_weight(frame.to_numpy()[:, 0], 200, owner="T")
    with pytest.raises(ValueError, match="NaN"):
        check_sample_weight(np.array([1.0, np.nan], dtype=object), 2, owner="T")


@pytest.mark.parametrize("params", [{}, {"output_mode": "tf_idf", "norm": "l2", "max_tokens": 500}], ids=repr)
def test_sklearn_user_bag_encoder_inverse_transform_as_count_vectorizer(params, imdb_tokens200):
    # CountVectorizer.inverse_transform lists each row's terms; BagEncoder had none (AttributeError)
    from sklearn.feature_extraction.text import CountVectorizer

    docs, _ = imdb_tokens200
    encoder = BagEncoder(**params).fit(docs[:150])
    X = encoder.transform(docs[150:])
    inverse = encoder.inverse_transform(X)
    assert len(inverse) == 50 and all(isinstance(row, np.ndarray) and row.dtype == object for row in inverse)
    kept = set(encoder.get_feature_names_out()[1:])
    for row, doc in zip(inverse, docs[150:]):
        assert set(row) == (set(doc) & kept) | ({"<unk>"} if set(doc) - kept else set())
    # the same rows from a dense array, a CSC matrix and a sparse array; the input matrix is left as it was
    before = X.copy()
    for other in (X.toarray(), X.tocsc(), sp.csr_array(X)):
        assert all(np.array_equal(a, b) for a, b in zip(inverse, encoder.inverse_transform(other)))
    assert (X != before).nnz == 0
    # the terms CountVectorizer gives on its own vocabulary
    if not params:
        seen = BagEncoder().fit(docs[:150])
        vectorizer = CountVectorizer(analyzer=lambda d: d).fit(docs[:150])
        ours = seen.inverse_transform(seen.transform(docs[:150]))
        theirs = vectorizer.inverse_transform(vectorizer.transform(docs[:150]))
        assert all(set(a) == set(b) for a, b in zip(ours, theirs))
    assert encoder.inverse_transform(encoder.transform([])) == []
    with pytest.raises(ValueError, match=r"X has 5 columns, but this BagEncoder's vocabulary gives"):
        encoder.inverse_transform(X[:, :5])


@pytest.mark.parametrize("encoder", [BagEncoder(output_mode="tf_idf"), SequenceEncoder(maxlen=30),
                                     HashingEncoder(n_features=2**10)], ids=repr)
def test_sklearn_user_pyarrow_column_of_token_lists(encoder, imdb_tokens200):
    # pq.read_table(...)["tokens"] (a ChunkedArray of list<string>) or pa.array(token lists): the encoders crashed
    # with "TypeError: to_numpy() got an unexpected keyword argument 'dtype'"
    pa = pytest.importorskip("pyarrow")
    docs, _ = imdb_tokens200
    docs = docs[:60]
    kind = pa.list_(pa.string())
    chunked = pa.chunked_array([pa.array(docs[:25], kind), pa.array(docs[25:], kind)])
    expected = clone(encoder).fit(docs).transform(docs)
    for column in (chunked, pa.array(docs, kind)):
        out = clone(encoder).fit(column).transform(column)
        assert abs(out - expected).max() == 0 if sp.issparse(out) else np.array_equal(out, expected)
    with pytest.raises(ValueError, match="document 60 of X is missing"):
        clone(encoder).fit(pa.array(docs + [None], kind)).transform(pa.array(docs + [None], kind))
