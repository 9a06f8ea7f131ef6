"""What did my model learn? A data scientist inspects fitted toolkit models the scikit-learn / gensim / Keras way
(session 34, helper h3): top n-grams from ``coef_`` and ``get_feature_names_out``, naive-Bayes ratios by name,
the stack's members and meta-learner, a Keras model's learned embedding as gensim ``KeyedVectors``, the training
history and ``permutation_importance``. Small real IMDB samples.
"""

from __future__ import annotations

import numpy as np
import pytest

# Words whose sentiment no IMDB sample disagrees on: a model that learned anything ranks some of them at the top.
POSITIVE = {"great", "excellent", "wonderful", "best", "love", "amazing", "perfect", "beautiful", "favorite",
            "terrific", "incredible", "powerful", "brilliant", "enjoyed", "fun", "superb", "loved", "well"}
NEGATIVE = {"worst", "bad", "awful", "boring", "waste", "poor", "horrible", "terrible", "stupid", "pointless",
            "silly", "nothing", "worse", "fails", "dull", "lame", "no", "script", "pathetic"}


def _words(names):
    """The words of n-gram names ("waste of" -> {"waste", "of"})."""
    return {w for name in names for w in str(name).split()}


def _top(names, weights, n=15):
    order = np.argsort(weights)
    return list(np.asarray(names)[order[-n:]]), list(np.asarray(names)[order[:n]])


@pytest.mark.parametrize("final", ["nbsvm", "logistic"])
def test_top_ngrams_of_a_raw_text_pipeline_from_coef_and_feature_names(imdb_small, final):
    """``pipe[:-1].get_feature_names_out()`` names every column ``coef_`` weighs, n-grams readable, in the
    encoder's column order; the top positive / negative n-grams are sentiment words."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    from toolkit.models import NBSVMClassifier
    from toolkit.text import BagEncoder, SpacyTokenizer

    texts, labels = imdb_small
    model = NBSVMClassifier() if final == "nbsvm" else LogisticRegression(C=0.1, max_iter=2000)
    pipe = make_pipeline(SpacyTokenizer(ngram_range=(1, 2)), BagEncoder(output_mode="count", min_count=2), model)
    pipe.fit(texts, labels)
    names = pipe[:-1].get_feature_names_out()
    assert names.tolist() == pipe[1].get_feature_names_out().tolist()
    assert len(names) == pipe[-1].n_features_in_ == pipe[-1].coef_.shape[1] == pipe[:-1].transform(texts[:1]).shape[1]
    assert any(" " in name for name in names)  # bigrams, as "waste of"
    # names line up with columns: a document's non-zero columns are its own tokens and bigrams
    tokens = pipe[0].transform(texts[:1])[0]
    row = pipe[:-1].transform(texts[:1])
    assert set(names[row.indices]) - {"<unk>"} <= set(tokens)
    assert pipe.classes_.tolist() == ["neg", "pos"]  # coef_ > 0 favours classes_[1]
    positive, negative = _top(names, pipe[-1].coef_[0])
    assert len(_words(positive) & POSITIVE) >= 2, positive
    assert len(_words(negative) & NEGATIVE) >= 2, negative


def test_nb_log_count_ratios_line_up_with_their_names(imdb_tokens, imdb_small_ratings):
    """``NBFeatureScaler``: binary ratios are those of ``classes_[1]``, one per input name; multiclass output
    columns are ``"<class>__<name>"``, each ratio the scaled value of its column."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    from toolkit.models import NBFeatureScaler
    from toolkit.text import BagEncoder

    docs, labels = imdb_tokens
    pipe = make_pipeline(BagEncoder(min_count=2), NBFeatureScaler()).fit(docs, labels)
    names, ratios = pipe.get_feature_names_out(), pipe[1].log_count_ratio_
    assert names.tolist() == pipe[0].get_feature_names_out().tolist() and ratios.shape == names.shape
    ratio = dict(zip(names, ratios))
    assert pipe[1].classes_.tolist() == ["neg", "pos"]
    assert ratio["great"] > 0 > ratio["worst"] and ratio["excellent"] > 0 > ratio["waste"]

    stars = np.asarray(imdb_small_ratings)
    classes = np.where(stars <= 2, "1-2", np.where(stars <= 4, "3-4", np.where(stars <= 8, "7-8", "9-10")))
    pipe = make_pipeline(BagEncoder(min_count=2), NBFeatureScaler(), LogisticRegression(max_iter=2000))
    pipe.fit(docs, classes)
    names, words = pipe[:-1].get_feature_names_out(), pipe[0].get_feature_names_out()
    assert len(names) == pipe[-1].coef_.shape[1] == 4 * len(words)
    scaled = pipe[:-1].transform([["worst"]]).toarray()[0]
    column = {name: j for j, name in enumerate(names)}
    for k, c in enumerate(pipe.classes_):
        assert scaled[column[f"{c}__worst"]] == pytest.approx(pipe[1].log_count_ratio_[k, list(words).index("worst")])
    worst = {c: scaled[column[f"{c}__worst"]] for c in pipe.classes_}
    assert worst["1-2"] > 0 > worst["9-10"]


@pytest.fixture(scope="module")
def ngram_stack(split):
    """A stack of the n-gram and tail members (negation marked), fitted once for the tests that read it."""
    from toolkit.models import StackedTextClassifier

    X, y, _, _ = split
    return StackedTextClassifier(vectors=None, tail_tokens=30, mark_negation=True, random_state=0).fit(X, y)


def test_the_stacks_ngram_members_name_their_coef_columns(split, ngram_stack, tmp_path):
    """``stack.members_["ngrams"][0][:-1].get_feature_names_out()`` (sklearn's idiom for a member pipeline)
    raised "Estimator ngrams does not provide get_feature_names_out": the n-gram step was a plain
    ``FunctionTransformer``. It names the NBSVM member's ``coef_`` columns now, for the ``"tail"`` member too,
    and after ``save_model`` / ``load_model``."""
    from toolkit.models import load_model, save_model

    _, _, X_val, _ = split
    stack = ngram_stack
    for name in ("ngrams", "tail"):
        member = stack.members_[name][0]
        names = member[:-1].get_feature_names_out()
        assert len(names) == member[-1].coef_.shape[1] == member[:-1].transform(X_val[:1]).shape[1]
    member = stack.members_["ngrams"][0]
    names = member[:-1].get_feature_names_out()
    assert any(len(n.split()) == 3 for n in names)  # the stack's 1-3-grams
    positive, negative = _top(names, member[-1].coef_[0])
    assert len(_words(positive) & POSITIVE) >= 2 and len(_words(negative) & NEGATIVE) >= 2, (positive, negative)
    save_model(stack, tmp_path / "stack")
    loaded = load_model(tmp_path / "stack")
    assert loaded.members_["ngrams"][0][:-1].get_feature_names_out().tolist() == names.tolist()
    np.testing.assert_allclose(loaded.decision_function(X_val[:20]), stack.decision_function(X_val[:20]))


def test_a_stack_fitted_under_global_pandas_output_learns_no_column_names(split, glove_small):
    """Fitted under ``sklearn.set_config(transform_output="pandas")`` (set for a tabular workflow), the stack's
    meta-learner learnt the names "x0", "x1" (not its members') and the ``"vectors"`` member "emb0", ...; every
    prediction outside that setting then warned three times ("X does not have valid feature names, but
    LogisticRegression was fitted with feature names"). Its steps keep numpy output now."""
    import warnings

    import sklearn

    from toolkit.models import StackedTextClassifier

    X, y, X_val, _ = split
    with sklearn.config_context(transform_output="pandas"), warnings.catch_warnings():
        warnings.simplefilter("error")
        stack = StackedTextClassifier(vectors=str(glove_small), tail_tokens=30, random_state=0).fit(X, y)
        in_pandas = stack.predict_proba(X_val[:20])
    assert not hasattr(stack.meta_[-1], "feature_names_in_")
    assert not hasattr(stack.members_["vectors"][0][-1], "feature_names_in_")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_allclose(stack.predict_proba(X_val[:20]), in_pandas)
    assert stack.get_feature_names_out().tolist() == ["ngrams", "tail", "vectors"]


def test_the_stacks_feature_names_name_its_meta_learners_columns(split, ngram_stack, imdb_small_ratings):
    """``StackedTextClassifier.get_feature_names_out()`` (which did not exist) names the columns of
    ``member_scores`` and of ``meta_[-1].coef_``: the members (binary; the keys of ``member_weights_``), or each
    member's class columns (multiclass), the one-column ``"ratings"`` regression by its name alone."""
    from toolkit.models import StackedTextClassifier

    X, _, X_val, _ = split
    stack = ngram_stack
    names = stack.get_feature_names_out()
    assert names.tolist() == stack.member_names_ == ["ngrams", "tail"]
    assert dict(zip(names, stack.meta_[-1].coef_[0])) == pytest.approx(stack.member_weights_)

    stars = np.asarray(imdb_small_ratings)[:400]
    classes = np.where(stars <= 2, "1-2", np.where(stars <= 4, "3-4", np.where(stars <= 8, "7-8", "9-10")))
    stack = StackedTextClassifier(vectors=None, ratings_alpha=1.0, random_state=0).fit(X, classes, ratings=stars)
    names = stack.get_feature_names_out().tolist()
    assert names == [f"ngrams__{c}" for c in stack.classes_] + ["ratings"]
    scores = stack.member_scores(X_val[:10])
    assert scores.shape[1] == len(names) == stack.meta_[-1].coef_.shape[1]
    ngrams = stack.members_["ngrams"][0].decision_function(X_val[:10])
    for k, c in enumerate(stack.classes_):
        np.testing.assert_allclose(scores[:, names.index(f"ngrams__{c}")], ngrams[:, k])
    np.testing.assert_allclose(scores[:, names.index("ratings")], stack.members_["ratings"][0].predict(X_val[:10]))


def test_a_bag_models_learned_embedding_as_keyed_vectors_and_its_history(imdb_tokens):
    """The README's recipe: ``vocabulary_.tokens`` and the ``"embedding"`` layer's weights make a gensim
    ``KeyedVectors`` whose neighbours reflect the training target; ``history_[...][best_epoch_]`` is the kept
    epoch (0-based, the best validation loss)."""
    from gensim.models import KeyedVectors

    from toolkit.models import EmbeddingClassifier

    docs, labels = imdb_tokens
    clf = EmbeddingClassifier(architecture="bag", embedding_dim=16, maxlen=300, epochs=6, validation_split=0.2,
                              patience=2, random_state=0).fit(docs, labels)
    weights = clf.model_.get_layer("embedding").get_weights()[0]
    kv = KeyedVectors(weights.shape[1])
    kv.add_vectors(clf.vocabulary_.tokens, weights)
    assert len(kv) == len(clf.vocabulary_) and kv.index_to_key[:2] == ["<pad>", "<unk>"]
    near_great = np.mean([kv.similarity("great", w) for w in ("best", "excellent", "wonderful", "love")])
    far_great = np.mean([kv.similarity("great", w) for w in ("worst", "awful", "waste", "boring")])
    assert near_great > far_great, (near_great, far_great)
    assert clf.history_["val_loss"][clf.best_epoch_] == min(clf.history_["val_loss"])
    assert len(clf.history_["loss"]) <= 6


def test_plot_history_marks_the_epoch_whose_weights_were_kept(imdb_tokens, tmp_path, monkeypatch):
    """With early stopping the model is ``best_epoch_``'s (0-based), not the last plotted epoch's: the plot showed
    no sign of it. A dotted line marks epoch ``best_epoch_ + 1`` in each panel now; a plain dict has none."""
    from toolkit import plots
    from toolkit.models import EmbeddingClassifier

    figures = []
    monkeypatch.setattr(plots, "_save_png", lambda fig, path, dpi: figures.append(fig) or path)
    docs, labels = imdb_tokens
    clf = EmbeddingClassifier(architecture="bag", embedding_dim=16, maxlen=300, epochs=8, validation_split=0.2,
                              patience=2, learning_rate=0.3, random_state=0).fit(docs, labels)
    n_epochs = len(clf.history_["val_loss"])
    assert clf.best_epoch_ < n_epochs - 1, "this fit no longer stops early: raise the learning rate"
    plots.plot_history(clf, tmp_path / "history.png")
    for ax in figures[-1].axes:
        (mark,) = [line for line in ax.get_lines() if line.get_label().startswith("Kept weights")]
        assert list(mark.get_xdata()) == [clf.best_epoch_ + 1, clf.best_epoch_ + 1]
        assert mark.get_label() == f"Kept weights (epoch {clf.best_epoch_ + 1})"
    (val,) = [line for line in figures[-1].axes[0].get_lines() if line.get_label() == "Validation loss"]
    assert val.get_xdata()[np.argmin(val.get_ydata())] == clf.best_epoch_ + 1
    plots.plot_history(dict(clf.history_), tmp_path / "history.png")
    assert not [line for ax in figures[-1].axes for line in ax.get_lines() if line.get_label().startswith("Kept")]


def test_an_nbsvm_models_token_weights(imdb_tokens):
    """``architecture="nbsvm"``: its ``"embedding"`` layer holds the naive-Bayes ratios, not word vectors; the
    per-token weights of the logit are ``nb_model_weights(model_)["weighted"] / r_adj``, as the README says."""
    from toolkit.models import EmbeddingClassifier
    from toolkit.models.hybrid import nb_model_weights

    docs, labels = imdb_tokens
    clf = EmbeddingClassifier(architecture="nbsvm", epochs=1, batch_size=32, random_state=0).fit(docs, labels)
    assert clf.model_.get_layer("embedding").get_weights()[0].shape == (len(clf.vocabulary_), 1)
    weights = nb_model_weights(clf.model_)
    per_token = weights["weighted"][:, 0] / weights["r_adj"]
    tokens = clf.vocabulary_.tokens
    positive, negative = _top(tokens, per_token)
    assert len(set(positive) & POSITIVE) >= 2 and len(set(negative) & NEGATIVE) >= 2, (positive, negative)
    # the weights are the model's: one document's logit is the sum of its distinct tokens' weights plus the bias
    doc = docs[0]
    ids = np.unique(clf.vocabulary_.encode(doc))
    logit = per_token[ids[ids > 1]].sum() + weights["bias"][0] + per_token[1] * (1 in ids)
    p = clf.predict_proba([doc])[0, 1]
    assert 1 / (1 + np.exp(-logit)) == pytest.approx(p, abs=1e-4)


def test_permutation_importance_of_text_columns(imdb_small):
    """``permutation_importance`` permutes columns: over a table of text columns (a ColumnTransformer of
    tokenizer + encoder pipelines) it ranks them; the review outweighs its first 60 characters."""
    import pandas as pd
    from sklearn.compose import make_column_transformer
    from sklearn.inspection import permutation_importance
    from sklearn.pipeline import make_pipeline

    from toolkit.models import NBSVMClassifier
    from toolkit.text import BagEncoder, SpacyTokenizer

    texts, labels = imdb_small
    table = pd.DataFrame({"review": texts, "opening": [t[:60] for t in texts]})
    columns = make_column_transformer((make_pipeline(SpacyTokenizer(), BagEncoder()), "review"),
                                      (make_pipeline(SpacyTokenizer(), BagEncoder()), "opening"))
    pipe = make_pipeline(columns, NBSVMClassifier()).fit(table[:400], labels[:400])
    result = permutation_importance(pipe, table[400:], labels[400:], n_repeats=3, random_state=0)
    assert result.importances_mean[0] > 0.1 > result.importances_mean[1]
    names = pipe[:-1].get_feature_names_out()
    assert len(names) == pipe[-1].coef_.shape[1] and names[1].startswith("pipeline-1__")
