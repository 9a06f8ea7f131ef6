"""A scikit-learn power user puts the toolkit's estimators into scikit-learn's meta-tools.

Searches over scipy distributions, halving searches, calibration, voting, one-vs-rest,
threshold tuning, column transformers, feature unions and scorers, on small real IMDB
samples (the conftest fixtures): what broke or misled such a user, and stays fixed.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from toolkit.models import EmbeddingClassifier, NBSVMClassifier, PseudoLabelClassifier
from toolkit.text.encoders import BagEncoder


def _three_classes(imdb_tokens, imdb_small_ratings):
    """The real reviews with three string classes from their stars: 'awful' (1-2), 'bad' (3-4), 'good' (7-10)."""
    docs, _ = imdb_tokens
    stars = imdb_small_ratings
    return docs, np.where(stars <= 2, "awful", np.where(stars <= 4, "bad", "good"))


@pytest.mark.parametrize("architecture", ["bag", "cnn"])
def test_sklearn_power_usage_neg_log_loss_of_a_multiclass_keras_model_does_not_warn(
        imdb_tokens, imdb_small_ratings, architecture):
    # GridSearchCV(scoring="neg_log_loss") / get_scorer("neg_log_loss") on a 3-class model: Keras' float32 softmax
    # rows summed to 1 within 1.2e-7 only, and log_loss warned "The y_prob values do not sum to one. Make sure to
    # pass probabilities." on every fold, as if the classifier gave scores, not probabilities
    from sklearn.metrics import get_scorer

    docs, y = _three_classes(imdb_tokens, imdb_small_ratings)
    clf = EmbeddingClassifier(architecture=architecture, epochs=1, maxlen=60, random_state=0).fit(docs[:300], y[:300])
    proba = clf.predict_proba(docs[300:500])
    assert proba.dtype == np.float64
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    # the renormalization keeps each row's order: predict (which never read predict_proba) agrees with it
    np.testing.assert_array_equal(clf.predict(docs[300:500]), clf.classes_[proba.argmax(axis=1)])
    np.testing.assert_allclose(clf.predict_log_proba(docs[300:500]), np.log(proba))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "The y_prob values do not sum to one" is a UserWarning
        score = get_scorer("neg_log_loss")(clf, docs[300:500], y[300:500])
    assert -np.log(3) - 0.5 < score < 0


def test_sklearn_power_usage_word_clusters_in_a_pipeline_name_their_features(imdb_tokens, glove_small, monkeypatch,
                                                                             tmp_path):
    # make_pipeline(WordClusterer(...), BagEncoder()) in a FeatureUnion beside a word bag: get_feature_names_out()
    # failed ("Estimator wordclusterer does not provide get_feature_names_out"), and Pipeline.set_output(
    # transform="pandas") refused the whole pipeline ("Unable to configure output for WordClusterer")
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline, make_union

    from toolkit.vectors.clusters import PREFIX, WordClusterer

    monkeypatch.setenv("TOOLKIT_CACHE_DIR", str(tmp_path / "cache"))
    docs, y = imdb_tokens
    clusters = make_pipeline(WordClusterer(vectors=str(glove_small), n_clusters=20, unknown="drop"), BagEncoder())
    union = make_union(BagEncoder(max_tokens=200), clusters)
    model = make_pipeline(union, LogisticRegression(max_iter=500)).fit(docs[:200], y[:200])
    names = model[:-1].get_feature_names_out()
    assert len(names) == model[:-1].transform(docs[:5]).shape[1] == len(model[-1].coef_[0])
    assert names[0] == "bagencoder__<unk>"
    cluster_names = [n for n in names if n.startswith("pipeline__")]
    assert set(cluster_names) == {"pipeline__<unk>"} | {f"pipeline__{PREFIX}{c}" for c in range(20)}
    # set_output(transform="pandas") is accepted; the token output stays a corpus (never a table)
    clusters.set_output(transform="pandas")
    assert clusters.transform(docs[:3]).shape == (3, 21)  # still the sparse bag: a table cannot hold it
    clusterer = clusters[0]
    assert type(clusterer.transform(docs[:3])).__name__ == "TokenizedCorpus"
    assert clusterer.get_feature_names_out(["a"]) == ["a"]


@pytest.mark.parametrize("columns", [["text"], [0]])
def test_sklearn_power_usage_column_transformer_with_a_list_of_one_text_column(imdb_small, columns):
    # make_column_transformer((make_pipeline(SpacyTokenizer(), BagEncoder()), ["text"])): a list of one column hands
    # the tokenizer a one-column table, which it reads as its documents (session 38; it was refused before), as
    # the scalar column gives them
    import pandas as pd
    from sklearn.compose import make_column_transformer
    from sklearn.pipeline import make_pipeline

    from toolkit.text.tokenizer import SpacyTokenizer

    texts, _ = imdb_small
    frame = pd.DataFrame({"text": texts[:20], "stars": np.arange(20)})
    X = frame if columns == ["text"] else frame.to_numpy(dtype=object)
    as_list = make_column_transformer((make_pipeline(SpacyTokenizer(), BagEncoder()), columns)).fit_transform(X)
    as_scalar = make_column_transformer((make_pipeline(SpacyTokenizer(), BagEncoder()), columns[0])).fit_transform(X)
    assert as_list.shape[0] == 20 and (as_list != as_scalar).nnz == 0


def test_sklearn_power_usage_two_column_table_gets_no_column_transformer_hint():
    from toolkit._validation import check_raw_documents

    with pytest.raises(ValueError, match=r"got an array of shape \(2, 2\)\. Select the text column first, "
                                         r"e\.g\. X\[:, 0\]\.$"):
        check_raw_documents(np.array([["a", "b"], ["c", "d"]]))


def test_sklearn_power_usage_pseudo_labels_give_log_probabilities(imdb_tokens):
    # cross_val_predict(PseudoLabelClassifier(...), method="predict_log_proba") (and StackingClassifier(
    # stack_method="predict_log_proba")) raised AttributeError although the final model has the method
    from sklearn.model_selection import cross_val_predict
    from sklearn.pipeline import make_pipeline

    docs, y = imdb_tokens
    model = make_pipeline(BagEncoder(), PseudoLabelClassifier(NBSVMClassifier(loss="log_loss")))
    log_proba = cross_val_predict(model, docs[:200], y[:200], cv=2, method="predict_log_proba")
    assert log_proba.shape == (200, 2) and np.isfinite(log_proba).all()
    partly_labelled = y[:200].astype(object)
    partly_labelled[::4] = -1
    fitted = model.fit(docs[:200], partly_labelled)
    assert fitted[-1].n_pseudo_labelled_ > 0
    np.testing.assert_allclose(fitted.predict_log_proba(docs[200:220]), np.log(fitted.predict_proba(docs[200:220])))
    # an estimator without it: not offered (hasattr False), as scikit-learn's meta-estimators do
    assert not hasattr(PseudoLabelClassifier(NBSVMClassifier()), "predict_log_proba")


def test_sklearn_power_usage_registered_architecture_in_worker_processes_says_why(imdb_tokens):
    # cross_val_score(EmbeddingClassifier(architecture="power_max_bag"), ..., n_jobs=2) over an architecture registered
    # in the user's session: loky's workers import toolkit afresh, without it, and the error said the name was not
    # among the registered ones, as if register_architecture had never been called
    import joblib
    from sklearn.model_selection import cross_val_score

    from toolkit._validation import InvalidParameterError
    from toolkit.models import builders

    @builders.register_architecture("power_max_bag")
    def power_max_bag(inputs, spec):
        import keras

        pooled = keras.layers.GlobalMaxPooling1D(name="max_pool")(builders.embed(inputs, spec))
        return builders.output_layer(pooled, spec)

    docs, y = imdb_tokens
    clf = EmbeddingClassifier(architecture="power_max_bag", embedding_dim=8, epochs=1, maxlen=50, random_state=0)
    try:
        with pytest.raises(InvalidParameterError, match=r"Got 'power_max_bag' instead\. This is a worker process "
                                                        r"\(.*\).*exists only in the process that registered it\. "
                                                        r"Run the search in threads"):
            cross_val_score(clf, docs[:60], y[:60], cv=2, n_jobs=2, error_score="raise")
        # what the message advises works
        with joblib.parallel_config(backend="threading"):
            scores = cross_val_score(clf, docs[:60], y[:60], cv=2, n_jobs=2, error_score="raise")
        assert scores.shape == (2,)
    finally:
        builders.unregister_architecture("power_max_bag")
    # in the user's own process an unknown name gets the plain message, without the worker story
    with pytest.raises(InvalidParameterError, match=r"Got 'power_max_bag' instead\.$"):
        clf.fit(docs[:20], y[:20])


@pytest.mark.parametrize("wrap", ["calibrated", "pseudo"])
def test_sklearn_power_usage_make_text_classifier_names_the_parameter_of_a_wrapped_estimator(wrap):
    # make_text_classifier(estimator=CalibratedClassifierCV(EmbeddingClassifier()), epochs=5): the error listed the
    # calibrator's parameters only, not the name that reaches EmbeddingClassifier's epochs
    from sklearn.calibration import CalibratedClassifierCV

    from toolkit.models import make_text_classifier

    inner = EmbeddingClassifier()
    estimator = CalibratedClassifierCV(inner) if wrap == "calibrated" else PseudoLabelClassifier(inner)
    with pytest.raises(ValueError, match=r"Invalid parameter 'epochs' for make_text_classifier\..*The estimator "
                                         r"inside the classifier has it: pass classifier__estimator__epochs=5\.$"):
        make_text_classifier(estimator=estimator, epochs=5)
    # as told
    assert make_text_classifier(estimator=estimator, classifier__estimator__epochs=5)[-1].estimator.epochs == 5
    # a name nothing has: no such hint
    with pytest.raises(ValueError, match=r"Invalid parameter 'epoch' for make_text_classifier\..*\]\.$"):
        make_text_classifier(estimator=estimator, epoch=5)


def test_sklearn_power_usage_text_and_numeric_columns_with_pandas_output_after_a_split(imdb_small, glove_small):
    # df_train from train_test_split keeps its shuffled index; a ColumnTransformer(set_output pandas) of the text
    # column (SpacyTokenizer -> EmbeddingVectorizer) and a numeric column raised "Concatenating DataFrames from the
    # transformer's output lead to an inconsistent number of samples": the text part came back with index 0..n-1
    import pandas as pd
    from sklearn.compose import make_column_transformer
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from toolkit.text.tokenizer import SpacyTokenizer
    from toolkit.vectors.pooling import EmbeddingVectorizer

    texts, _ = imdb_small
    frame = pd.DataFrame({"text": texts[:60], "length": [float(len(t)) for t in texts[:60]]})
    train, _ = train_test_split(frame, test_size=0.5, random_state=0)
    ct = make_column_transformer(
        (make_pipeline(SpacyTokenizer(), EmbeddingVectorizer(vectors=str(glove_small))), "text"),
        (StandardScaler(), ["length"]),
    ).set_output(transform="pandas")
    out = ct.fit_transform(train)
    assert out.shape == (30, 51)
    assert out.index.equals(train.index)


def test_sklearn_power_usage_sequence_encoder_after_negation_keeps_the_split_rows_on_transform_too(imdb_small):
    # the same ColumnTransformer with NegationMarker -> SequenceEncoder: fit_transform on the training rows and
    # transform on the held-out rows give DataFrames on those rows, equal to the default (numpy) output
    import pandas as pd
    from sklearn.compose import make_column_transformer
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from toolkit.text.encoders import SequenceEncoder
    from toolkit.text.negation import NegationMarker
    from toolkit.text.tokenizer import SpacyTokenizer

    texts, _ = imdb_small
    frame = pd.DataFrame({"text": texts[:60], "length": [float(len(t)) for t in texts[:60]]})
    train, test = train_test_split(frame, test_size=0.5, random_state=0)

    def column_transformer():
        return make_column_transformer(
            (make_pipeline(SpacyTokenizer(), NegationMarker(), SequenceEncoder(maxlen=20)), "text"),
            (StandardScaler(), ["length"]),
        )

    ct = column_transformer().set_output(transform="pandas")
    fitted, held_out = ct.fit_transform(train), ct.transform(test)
    assert fitted.index.equals(train.index) and held_out.index.equals(test.index)
    assert fitted.shape == (30, 21) and held_out.shape == (30, 21)
    plain = column_transformer()
    default_fit, default_test = plain.fit_transform(train), plain.transform(test)
    assert isinstance(default_fit, np.ndarray) and isinstance(default_test, np.ndarray)
    np.testing.assert_array_equal(fitted.to_numpy(), default_fit)
    np.testing.assert_array_equal(held_out.to_numpy(), default_test)


def test_sklearn_power_usage_tokens_of_a_series_keep_its_rows_through_corpus_operations(imdb_small):
    # SpacyTokenizer keeps the Series' index as TokenizedCorpus.row_index: selections select the labels along,
    # operations that keep every document keep them, pickling keeps them; a list has none; default output of the
    # encoders stays a numpy array
    import pickle

    import pandas as pd

    from toolkit.text.corpus import TokenizedCorpus
    from toolkit.text.encoders import SequenceEncoder
    from toolkit.text.tokenizer import SpacyTokenizer

    texts, _ = imdb_small
    labels = pd.Index([f"r{i}" for i in range(40, 0, -1)])
    series = pd.Series(texts[:40], index=labels)
    corpus = SpacyTokenizer().transform(series)
    assert corpus.row_index.equals(labels)
    assert SpacyTokenizer().transform(texts[:40]).row_index is None
    assert corpus == SpacyTokenizer().transform(texts[:40])  # equality ignores the labels
    assert corpus[5:9].row_index.tolist() == ["r35", "r34", "r33", "r32"]
    assert corpus[::10].row_index.tolist() == ["r40", "r30", "r20", "r10"]
    assert corpus.take([3, -1, 3]).row_index.tolist() == ["r37", "r1", "r37"]
    mask = np.zeros(40, dtype=bool)
    mask[[0, 39]] = True
    assert corpus[mask].row_index.tolist() == ["r40", "r1"]
    for same_rows in (corpus.tail(5), corpus[:20].compact(), corpus.map_strings(str.upper), corpus.ngrams((1, 2)),
                      corpus.with_tokenizer_params({"lowercase": False}),
                      pickle.loads(pickle.dumps(corpus)), pickle.loads(pickle.dumps(corpus.ngrams((1, 2))))):
        assert same_rows.row_index.equals(labels[: len(same_rows)])
    ngrams = SpacyTokenizer(ngram_range=(1, 2)).transform(series)
    assert ngrams.row_index.equals(labels) and ngrams[2:4].row_index.tolist() == ["r38", "r37"]
    joined = TokenizedCorpus.concatenate([corpus[:2], corpus[-1:]])
    assert joined.row_index.tolist() == ["r40", "r39", "r1"]
    assert TokenizedCorpus.concatenate([corpus[:2], corpus[:2].with_row_index(None)]).row_index is None
    with pytest.raises(ValueError, match="one label per document: got 3 labels for a corpus of 40 documents"):
        corpus.with_row_index([1, 2, 3])
    assert isinstance(SequenceEncoder(maxlen=10).fit_transform(corpus), np.ndarray)


def test_sklearn_power_usage_pseudo_label_score_leaves_the_unlabelled_samples_out(imdb_tokens):
    # cross_val_score(PseudoLabelClassifier(...), X, y) with a quarter of y marked -1: the default score gave nan and
    # a "Scoring failed" warning for string labels (accuracy_score of a mix of strings and -1), and for integer labels
    # counted every unlabelled test sample as a mistake (the model never predicts -1): accuracy could not pass 75%
    from sklearn.model_selection import GridSearchCV, KFold, cross_val_score
    from sklearn.pipeline import make_pipeline

    docs, y = imdb_tokens
    docs, labels = docs[:300], y[:300]
    partly = labels.astype(object)
    partly[::4] = -1
    model = make_pipeline(BagEncoder(), PseudoLabelClassifier(NBSVMClassifier()))
    cv = KFold(3, shuffle=True, random_state=0)
    scores = cross_val_score(model, docs, partly, cv=cv)
    for (train, test), score in zip(cv.split(docs), scores):
        fitted = model.fit([docs[i] for i in train], partly[train])
        keep = test[partly[test] != -1]
        # the accuracy on the labelled test samples, compared with their true labels
        assert score == pytest.approx(np.mean(fitted.predict([docs[i] for i in keep]) == labels[keep]))
    assert scores.mean() > 0.75
    # sample weights follow their samples; fully labelled y scores as before
    fitted = model.fit(docs[:200], partly[:200])
    weights = np.linspace(0.5, 2.0, 100)
    expected = np.average(fitted.predict(docs[200:]) == labels[200:], weights=weights)
    assert fitted.score(docs[200:], labels[200:], sample_weight=weights) == pytest.approx(expected)
    test_partly = partly[200:]
    keep = test_partly != -1
    assert fitted.score(docs[200:], test_partly, sample_weight=weights) == pytest.approx(
        np.average(fitted.predict([d for d, k in zip(docs[200:], keep) if k]) == labels[200:][keep],
                   weights=weights[keep]))
    # integer labels: the same accuracy as string ones
    as_int = np.where(partly == -1, -1, np.where(partly == "pos", 1, 0)).astype(int)
    fitted_int = model.fit(docs[:200], as_int[:200])
    keep = as_int[200:] != -1
    assert fitted_int.score(docs[200:], as_int[200:]) == pytest.approx(
        np.mean(fitted_int.predict([d for d, k in zip(docs[200:], keep) if k]) == as_int[200:][keep]))
    fitted = model.fit(docs[:200], partly[:200])
    # GridSearchCV's default scoring goes through the same score
    search = GridSearchCV(model, {"pseudolabelclassifier__fraction": [0.5, 1.0]}, cv=cv).fit(docs, partly)
    assert search.best_score_ > 0.75
    with pytest.raises(ValueError, match=r"PseudoLabelClassifier\.score got no labelled sample: every label is -1"):
        fitted[-1].score(fitted[0].transform(docs[:4]), np.array([-1, -1, -1, -1]))


def test_sklearn_power_usage_float32_validation_split_from_a_grid(imdb_tokens):
    # GridSearchCV(clf, {"validation_split": np.linspace(0.1, 0.3, 3, dtype="float32")}): our check accepted the
    # float32, then fit failed with "The 'test_size' parameter of train_test_split must be a float ...", a parameter
    # the user never set
    docs, y = imdb_tokens

    def fitted(split):
        clf = EmbeddingClassifier(architecture="nbsvm", epochs=2, patience=None, maxlen=60, validation_split=split,
                                  random_state=0)
        return clf.fit(docs[:120], y[:120])

    value = np.float32(0.2)
    with_float32 = fitted(value)
    # the very split (and so the very model) of the same value as a Python float
    same = fitted(float(value))
    assert with_float32.history_ == same.history_
    np.testing.assert_array_equal(with_float32.predict_proba(docs[120:140]), same.predict_proba(docs[120:140]))


def test_sklearn_power_usage_soft_voting_with_nbsvm_says_which_loss_gives_probabilities(imdb_tokens):
    # VotingClassifier(voting="soft") with the default NBSVM fits every member, then predict_proba says only "This
    # 'NBSVMClassifier' has no attribute 'predict_proba'", not that loss='log_loss' gives probabilities (as SVC says
    # "predict_proba is not available when probability=False")
    from sklearn.ensemble import VotingClassifier
    from sklearn.pipeline import make_pipeline

    docs, y = imdb_tokens
    vote = VotingClassifier([("nbsvm", make_pipeline(BagEncoder(), NBSVMClassifier())),
                             ("bag", EmbeddingClassifier(architecture="nbsvm", epochs=1, maxlen=60, random_state=0))],
                            voting="soft").fit(docs[:100], y[:100])
    assert not hasattr(NBSVMClassifier(), "predict_proba")  # still absent, as scikit-learn's meta-estimators expect
    with pytest.raises(AttributeError) as raised:
        vote.predict_proba(docs[100:103])
    # scikit-learn's available_if raises "This 'NBSVMClassifier' has no attribute", from the check's own error, and
    # the Pipeline around it its own, from that one: the traceback shows the chain
    chain, error = [], raised.value
    while error is not None:
        chain.append(str(error))
        error = error.__cause__
    assert any("loss='log_loss'" in message for message in chain), chain


def test_sklearn_power_usage_doc_vectors_and_dropped_clusters_keep_the_split_rows(imdb_small, glove_small, tmp_path,
                                                                                  monkeypatch):
    # the other dense transformer of token lists (DocVectorizer) and WordClusterer(unknown="drop"), which rebuilds
    # its corpus, numbered their rows 0..n-1 after a split as the pooled vectors did
    import pandas as pd
    from sklearn.compose import make_column_transformer
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from toolkit.text.tokenizer import SpacyTokenizer
    from toolkit.vectors.clusters import WordClusterer
    from toolkit.vectors.docvec import DocVectorizer

    monkeypatch.setenv("TOOLKIT_CACHE_DIR", str(tmp_path / "cache"))
    texts, _ = imdb_small
    frame = pd.DataFrame({"text": texts[:60], "length": [float(len(t)) for t in texts[:60]]})
    train, _ = train_test_split(frame, test_size=0.5, random_state=0)
    docvec = DocVectorizer(unlabelled=tuple(texts[100:300]), vector_size=8, epochs=2, min_count=2, workers=1)
    ct = make_column_transformer(
        (make_pipeline(SpacyTokenizer(), docvec), "text"),
        (StandardScaler(), ["length"]),
    ).set_output(transform="pandas")
    out = ct.fit_transform(train)
    assert out.shape == (30, 9) and out.index.equals(train.index)
    tokens = SpacyTokenizer().fit_transform(train["text"])
    dropped = WordClusterer(vectors=str(glove_small), n_clusters=5, unknown="drop").fit(tokens).transform(tokens)
    assert dropped.row_index.equals(train.index)
