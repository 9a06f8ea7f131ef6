"""A stacked text classifier: NBSVM n-gram evidence plus word-vector evidence.

:class:`StackedTextClassifier` stacks members that see the same token lists
(stacked generalization, as scikit-learn's
:class:`~sklearn.ensemble.StackingClassifier`, which it reimplements to keep
the fold fits):

- ``"ngrams"``: word 1-3-grams -> binary counts (:class:`~toolkit.text.BagEncoder`)
  -> :class:`~toolkit.models.NBSVMClassifier`;
- ``"vectors"``: pooled word vectors (:class:`~toolkit.vectors.EmbeddingVectorizer`:
  GloVe, word2vec, fastText or domain vectors trained in ``fit``; SIF or mean
  pooling) -> ``StandardScaler`` -> ``LogisticRegressionCV`` (C by internal
  cross-validation);
- ``"clusters"`` (optional, ``clusters=k``): every word replaced by its k-means
  cluster of the same word vectors (:class:`~toolkit.vectors.clusters.WordClusterer`),
  then 1-3-grams of the clusters -> binary counts -> NBSVM: class-based n-grams
  that carry a phrase's evidence to phrases of similar words the labelled
  reviews never contain;
- ``"neighbors"`` (optional, ``neighbors=k``): the share of each class among
  a document's ``k`` nearest training documents by the cosine of their
  pooled word vectors (distance-weighted), as log-odds: a local view of the
  same vectors that a linear model on them cannot give;
- ``"ratings"`` (optional, ``ratings_alpha=`` and ``fit(ratings=)``): a
  ridge regression on TF-IDF 1-3-grams that learns a finer score of each
  training document than its class (IMDB: the stars, 1-10); its predicted
  score is one more column for the meta-learner;
- ``"docvec"`` (optional, ``doc_vectors=``): paragraph vectors (PV-DBOW over
  word 1-2-grams, :class:`~toolkit.vectors.docvec.DocVectorizer`) of a model
  trained on unlabelled text only, inferred for every labelled document ->
  ``StandardScaler`` -> ``LogisticRegressionCV``;

and fits a logistic-regression meta-learner on their out-of-fold decision
scores (the members' ``cv`` fold fits score the held-out fold, as in
scikit-learn's :class:`~sklearn.ensemble.StackingClassifier`). New documents
are scored either by one more fit of each member on all the labelled
documents (``predict_with="refit"``, scikit-learn's way) or by the mean of
the ``cv`` fold fits (``predict_with="folds"``: no extra fit, and a bagged
ensemble, which pays for a noisy member such as the one-epoch NBSVM++ alone).
Unlike a jointly trained network, the meta-learner gives the vector member
the weight its held-out predictions earn, at every data size: with a few
hundred labels the vectors carry most of the signal, with tens of thousands
the n-grams do. ``vectors=None, doc_vectors=None`` removes the
vector members (pooled vectors, clusters and neighbours): that is the ablation (the same
stack, n-gram member only).

The input is token lists (or a :class:`~toolkit.text.TokenizedCorpus`) of
words: put :class:`~toolkit.text.SpacyTokenizer` in front in a ``Pipeline`` so
the texts are tokenized once, not once per member. For semi-supervised
learning wrap it in :class:`~toolkit.models.PseudoLabelClassifier`.

Everything is a normal scikit-learn parameter: the vectors are a path, a
manifest name or a domain spec string (``"word2vec:unsup"``), resolved in
``fit`` and never stored on the estimator, so ``clone``, ``GridSearchCV`` and
pickling stay cheap.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import logging
import numbers
import os
import time
from types import MappingProxyType

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin
from sklearn.neighbors import KNeighborsClassifier
from sklearn.preprocessing import FunctionTransformer
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted

from .._validation import (
    ONE_CLASS_HINT,
    Interval,
    MissingParamsMixin,
    Options,
    TextInputMixin,
    TokenOutputMixin,
    check_class_target,
    check_sample_weight,
    check_single_target,
    validate_params,
)

__all__ = ["NeighborVote", "StackedTextClassifier", "last_tokens", "word_ngrams"]

logger = logging.getLogger(__name__)

# a fit longer than this ends with a full garbage collection (see StackedTextClassifier.fit)
_COLLECT_AFTER_S = 10.0


def word_ngrams(X, ngram_range=(1, 3)):
    """Token lists -> their word n-grams (a :class:`~toolkit.text.TokenizedCorpus`).

    The function the ``"ngrams"`` member runs in a ``FunctionTransformer``
    (module level, so the pipeline pickles).

    Examples
    --------
    >>> word_ngrams([["not", "good"]], (1, 2))[0]
    ['not', 'good', 'not good']
    """
    docs = _as_corpus(X)
    return docs if tuple(ngram_range) == (1, 1) else docs.ngrams(tuple(ngram_range))


def last_tokens(X, n_tokens):
    """Token lists -> each one's last ``n_tokens`` tokens (a :class:`~toolkit.text.TokenizedCorpus`).

    The function the ``"tail"`` member runs in a ``FunctionTransformer``
    (module level, so the pipeline pickles).

    Examples
    --------
    >>> last_tokens([["a", "good", "film", "overall"], ["dull"]], 2).to_list()
    [['film', 'overall'], ['dull']]
    """
    return _as_corpus(X).tail(n_tokens)


class _TokenFunction(MissingParamsMixin, TokenOutputMixin, FunctionTransformer, auto_wrap_output_keys=None):
    """A ``FunctionTransformer`` from token lists to token lists: the n-gram members' :func:`word_ngrams` and
    :func:`last_tokens` steps.

    Its ``get_feature_names_out`` passes names through, as the tokenizer's
    does (token lists have no columns), so that
    ``stack.members_["ngrams"][0][:-1].get_feature_names_out()`` names the
    columns of the NBSVM member's ``coef_``; a plain ``FunctionTransformer``
    has no such method.
    """

    def set_output(self, *, transform=None):
        """Keep token lists whatever ``transform`` says (a global ``transform_output="pandas"`` included).

        Parameters
        ----------
        transform : {"default", "pandas", "polars"} or None, default=None
            Ignored: the output is a :class:`~toolkit.text.TokenizedCorpus`.

        Returns
        -------
        self
        """
        # "default", set on the instance: FunctionTransformer.transform warns under a global "pandas" otherwise
        return FunctionTransformer.set_output(self, transform="default")


def _numpy_output(pipeline):
    """``pipeline`` with ``set_output(transform="default")`` on each step that has it (``Pipeline.set_output``
    refuses a step without it, such as ``TfidfTransformer``); returns ``pipeline``."""
    for _, step in pipeline.steps:
        if hasattr(step, "set_output"):
            step.set_output(transform="default")
    return pipeline


def _as_corpus(X):
    """Checked token lists as a :class:`~toolkit.text.TokenizedCorpus` (the one input path of this module)."""
    from ..text.corpus import check_token_corpus

    return check_token_corpus(X, estimator="StackedTextClassifier")


def _ngram_models(value) -> tuple:
    """``ngram_model`` as a tuple of model names (a single name is a one-tuple)."""
    return (value,) if isinstance(value, str) else tuple(value)


def _is_ngram_range(value) -> bool:
    # numpy ints too (a grid of np.arange values), as TokenizedCorpus.ngrams takes them
    return (isinstance(value, (tuple, list, np.ndarray)) and len(value) == 2
            and all(isinstance(v, numbers.Integral) and not isinstance(v, (bool, np.bool_)) for v in value)
            and 1 <= value[0] <= value[1])


def _sequence_of_cs(value) -> bool:
    """Whether ``vectors_Cs`` is a sequence of C values (a list, tuple or 1-D array such as ``np.logspace(-3, 0, 4)``,
    which ``LogisticRegressionCV`` takes), not the int number of them."""
    return isinstance(value, (list, tuple)) or (isinstance(value, np.ndarray) and value.ndim == 1)


class StackedTextClassifier(MissingParamsMixin, TextInputMixin, ClassifierMixin, BaseEstimator):
    """Stack of NBSVM on n-grams and a linear model on pooled word vectors.

    Stacked generalization as :class:`sklearn.ensemble.StackingClassifier`
    (see the module docstring): members ``"ngrams"`` and ``"vectors"`` (and
    ``"clusters"``, ``"neighbors"``, ``"tail"``, ``"ratings"``, ``"docvec"``
    when asked for), a logistic-regression meta-learner on their out-of-fold
    decision scores. Members whose pipelines are the same up to a fitted step
    (the NBSVM and ``"ratings"`` members' n-gram counts, the ``"vectors"`` and
    ``"neighbors"`` members' pooling) fit those steps once per fold and share
    them in the fitted model.
    ``toolkit.models.recipes.STACK_JOB`` holds the settings chosen on IMDB
    validation data (1,000 clusters of 300-d domain vectors, SIF pooling).

    Parameters
    ----------
    vectors : str, path-like, tuple or None, default="glove.6B.50d"
        Word vectors of the ``"vectors"`` member: a path, a manifest name or a
        domain spec trained inside ``fit`` (``"word2vec:unsup"``; see
        :mod:`toolkit.vectors.domain`). A domain spec that trains on the
        training documents (no ``train=0``) trains one model per
        cross-validation fold, so the out-of-fold scores never come from
        vectors that saw their documents; ``train=0`` shares one model.
        ``None`` drops the member (with ``doc_vectors=None``: the ablation).
    doc_vectors : str, path-like, tuple or None, default=None
        Unlabelled text of a third member, ``"docvec"``: paragraph vectors
        (:class:`~toolkit.vectors.docvec.DocVectorizer`, PV-DBOW over word
        1-2-grams) trained on that text alone (``"unsup"``: IMDB's 50,000
        unlabelled reviews; a UTF-8 file, one document per line; or a tuple
        of texts), cached by content and shared by every fit, then inferred
        for the training and the new documents alike. ``None`` (default):
        no such member. The first fit with a new source trains the model
        (about 10 CPU minutes for the 50,000 IMDB reviews).
    pooling : {"sif", "mean", "tfidf", "max", "sum"} or None, default="sif"
        Pooling of the word vectors (:class:`~toolkit.vectors.EmbeddingVectorizer`)
        of the ``"vectors"`` member; ``None`` drops that member (the vectors
        then serve the ``"clusters"`` member only).
    clusters : int or None, default=None
        Number of k-means clusters of the ``vectors`` words for a ``"clusters"``
        member (:class:`~toolkit.vectors.clusters.WordClusterer`, then NBSVM with
        ``C`` on the clusters' ``ngram_range``-grams). ``None`` (default): no
        such member. On IMDB it pays at every data size with the ``"nbsvm"``
        n-gram member (1,000 clusters: ``toolkit.models.recipes.STACK_JOB``),
        not on top of ``"nbsvm++"`` (BENCHMARKS.md).
    neighbors : int or None, default=None
        Number of nearest training documents of a ``"neighbors"`` member: the
        ``vectors`` pooled as ``pooling`` (SIF when ``pooling=None``),
        L2-normalized, and a distance-weighted k-nearest-neighbours vote
        (:class:`NeighborVote`, an exact search about three times as cheap as
        :class:`sklearn.neighbors.KNeighborsClassifier`'s) whose log-odds the
        meta-learner reads. Its prediction cost grows with the number of
        training documents: at 25,000 it is the stack's dearest member. It keeps the pooled vectors of the
        training documents (300 floats each for 300-d vectors). ``None``
        (default): no such member. On IMDB with 20,000 labels the
        meta-learner weighs it negatively (it takes off the class that is
        common among reviews of similar content) and it adds 0.1 point on
        validation reviews of unseen movies, three times as much when the
        validation reviews share movies with the training ones: validate it
        on documents whose topics the training set does not cover
        (BENCHMARKS.md, eleventh session; 300 neighbours in
        ``toolkit.models.recipes.STACK_MANY_JOB``).
    neighbors_dims : int or None, default=None
        Principal components of the normalized pooled vectors that the
        ``"neighbors"`` member searches in (PCA fitted on its training
        documents; at most their number and the vectors' dimension). The
        matrix product of the search shrinks in proportion: at 25,000
        training documents the vote for 2,000 new ones costs about 0.12 CPU s
        in 50 components against 0.29 in all 300. ``None``
        (default): every dimension. On IMDB the vote of the 300 neighbours in
        50 components scores 78.6% alone against 76.2% in all 300, and the
        ``STACK_MANY_JOB`` stack the same on validation reviews of unseen
        movies (91.37% against 91.35%, four seeds; BENCHMARKS.md, fifteenth
        session).
    tail_tokens : int or None, default=None
        Length of each document's ending seen by a ``"tail"`` member: NBSVM
        with ``C`` on the ``ngram_range``-grams of the last ``tail_tokens``
        tokens alone (:meth:`~toolkit.text.TokenizedCorpus.tail`). Reviews
        tend to end with their verdict; the whole-document members weigh an
        n-gram the same wherever it stands, and this member lets the
        meta-learner count the ending once more. At least ``ngram_range``'s
        smallest n (fewer tokens hold no n-gram). ``None`` (default): no such
        member. On IMDB (validation reviews of unseen movies, 20,000 labels,
        four seeds) the last 20 tokens add 0.30 point to the fifteenth
        session's ``STACK_MANY_JOB`` members, and 0.14 on the test set over
        five seeds (BENCHMARKS.md, seventeenth session).
    mark_negation : bool, default=False
        Whether the n-gram members (``"ngrams"``, ``"ngrams_<model>"`` and
        ``"tail"``) read tokens with their negation scopes marked
        (:class:`~toolkit.text.NegationMarker`: "good" after "not", up to the
        next punctuation, becomes ``"NOT_good"``), so that a negated word
        five tokens after its "not" is a feature of its own. The vector
        members read the plain tokens. On IMDB (validation reviews of unseen
        movies, 20,000 labels, four seeds) it adds 0.15 point to
        ``STACK_MANY_JOB``'s members with the tail member, but nothing on the
        test set (92.67% both ways over five seeds; BENCHMARKS.md, seventeenth
        session).
    ratings_alpha : float or None, default=None
        L2 penalty of a ``"ratings"`` member, which exists when ``fit`` gets
        ``ratings``: a finer-grained score of each training document than its
        class (IMDB: the stars, 1-4 for the negative reviews and 7-10 for the
        positive ones). The member reads the ``ngram_range``-grams (negation
        marked with ``mark_negation``) as sublinear TF-IDF, L2-normalized
        (:class:`~sklearn.feature_extraction.text.TfidfTransformer` over the
        n-gram counts, which an NBSVM ``"ngrams"`` member reads as well: the
        two fit one vocabulary per fold), and
        fits :class:`~sklearn.linear_model.Ridge` with this ``alpha`` to the
        ratings; its predicted rating is one more column of the
        meta-learner's input. Prediction needs no ratings. A 4-star and a
        1-star review are both negative, but their words differ in strength,
        which a model of the class alone does not learn. ``None`` (default):
        no such member, and ``fit`` refuses ``ratings``; with a value and no
        ``ratings`` in ``fit``, the member is left out (logged), so a recipe
        with it still fits data without ratings. On IMDB (validation reviews
        of unseen movies, 20,000 labels, four seeds) ``alpha=0.03`` adds
        0.14 point to ``STACK_MANY_JOB``'s members (0.01 and 0.1 score
        within 0.03 of it), and 0.06 on the test set over five seeds. With
        the vocabulary shared it adds ~4 s to a 25,000-review fit of ~200 s
        on 2 cores and ~0.1 GB (it cost ~80 s and 1.3 GB with a vocabulary of
        its own), and ``STACK_MANY_JOB`` has it since the nineteenth session
        (BENCHMARKS.md).
    ngram_range : tuple (min_n, max_n), default=(1, 3)
        Word n-grams of the ``"ngrams"`` member.
    ngram_model : {"nbsvm", "nbsvm++"} or tuple of them, default="nbsvm"
        The ``"ngrams"`` member's classifier: :class:`~toolkit.models.NBSVMClassifier`
        on binary n-gram counts, or the Keras NBSVM++ model
        (``EmbeddingClassifier(architecture="nbsvm")`` with
        ``toolkit.models.recipes.NBSVM_RECIPE``; stronger with many labels,
        about ``cv + 1`` times its fit time). A tuple such as
        ``("nbsvm++", "nbsvm")`` gives one n-gram member per model: the first
        is ``"ngrams"``, the others ``"ngrams_<model>"`` (``"ngrams_nbsvm"``).
    C : float, default=0.01
        Inverse regularization of the NBSVM member (its own default, chosen on
        validation data by ``benchmarks/tune_linear.py``); unused by ``"nbsvm++"``.
    vectors_Cs : int or sequence of float, default=(0.001, 0.01, 0.1, 1.0)
        ``Cs`` of the vector member's ``LogisticRegressionCV`` (C chosen by
        internal 5-fold cross-validation on the standardized pooled vectors):
        a list, tuple or 1-D array of C values (``np.logspace(-3, 0, 4)``), or
        an int, that many values on scikit-learn's log grid.
        The default grid costs a fifth of ``Cs=10`` (whose large C values
        make lbfgs slow) on 200 IMDB reviews.
    cv : int or cross-validation splitter, default=5
        Folds of the out-of-fold predictions the meta-learner is fitted on.
        An int: that many stratified folds shuffled with ``random_state``
        (:class:`~sklearn.model_selection.StratifiedKFold`), or, when ``fit``
        gets ``groups``, stratified folds that keep each group in one fold
        (:class:`~sklearn.model_selection.StratifiedGroupKFold`). A splitter
        (``GroupKFold(5)``): its ``split(X, y, groups)``, whose test folds
        must cover every document exactly once. Grouped folds are for new
        documents from groups the training set does not hold: random folds
        then share groups between a fold's fit and its held-out part, so the
        meta-learner learns from held-out scores of seen groups. On IMDB
        (validation reviews of unseen movies, four seeds) grouping by movie
        moved weight from NBSVM++ to NBSVM and the vectors but did not
        change accuracy (``STACK_MANY_JOB``: 91.36% against 91.38%), so the
        recipes keep random folds (BENCHMARKS.md, twelfth session).
    predict_with : {"refit", "folds"}, default="refit"
        Which fits of each member score new documents. ``"refit"``: one more
        fit on all the labelled documents (``cv + 1`` fits per member, as
        :class:`~sklearn.ensemble.StackingClassifier`). ``"folds"``: the mean
        decision score of the ``cv`` fold fits that gave the out-of-fold scores
        (``cv`` fits per member; prediction costs ``cv`` times as much). On
        IMDB at 20,000 labels (validation, ``benchmarks/tune_stack_folds.py``,
        BENCHMARKS.md) the fold mean pays for NBSVM++ alone (``vectors=None,
        ngram_model="nbsvm++"``: +0.21) but not in a stack with vector
        members, whose meta-learner weights were fitted on single-fit scores
        (-0.00 to -0.15): the recipes keep ``"refit"``.
    final_C : float, default=1.0
        Inverse regularization of the logistic-regression meta-learner.
    n_jobs : int or None, default=None
        Parallel member fits (one joblib task per member and fold). ``None`` or 1:
        everything runs in this process whatever the active joblib backend,
        as for :class:`~toolkit.text.SpacyTokenizer`. Inside a grid search on
        Dask the search is already parallel, and joblib's Dask backend ignores
        ``n_jobs`` (it uses every worker), so without this the stack's
        out-of-fold fits and ``LogisticRegressionCV``'s folds would become
        hundreds of nested scheduler tasks, each shipping its data.
    random_state : int, RandomState instance or None, default=None
        Seeds the folds, the NBSVM solvers and the Keras ``"nbsvm++"`` member. An
        int gives the same stack in any process, with any ``n_jobs``: domain
        ``vectors`` train on one thread by default (their ``workers=1``), so
        they are the same bits in any fresh cache; with ``workers=2`` or more
        they differ from run to run, and only the same cache gives the same
        stack again (:mod:`toolkit.vectors.domain`). The
        ``"clusters"`` k-means and ``doc_vectors`` keep fixed seeds of their
        own, so that every fit shares one computation.
    verbose : int or bool, default=0
        1 (or True): a progress bar on stderr over the member fits (one per
        group of members and fold, then the refits), advanced as each one
        ends, in order. With a joblib backend that cannot hand results back
        one by one (``"multiprocessing"``) the fits run without the bar. The
        ``toolkit train --model stack`` command turns it on.
    class_weight : dict, "balanced" or None, default=None
        Weights of the classes in the meta-learner's logistic regression, as
        in scikit-learn's :class:`~sklearn.linear_model.LogisticRegression`,
        for imbalanced data (95/5): ``"balanced"`` gives a class
        ``n_samples / (n_classes * its count)``. The meta-learner makes the
        decision from the members' out-of-fold scores, so the weights move
        that decision toward a rare class; the members only rank the
        documents and stay unweighted, because weighting them ranked worse.
        On 1,000 IMDB training reviews at 95/5 (three draws, 500 held-out
        reviews), ``"balanced"`` raised the balanced accuracy from 0.50 to
        0.68 (``vectors=None``) and to 0.73 (with 50-d GloVe vectors), and
        the rare class's recall from 0.00 to 0.75 and 0.78; weighting every
        member too scored 0.62 and 0.70: in the NBSVM members' naive-Bayes
        ratios a class weight ``w`` amounts to smoothing that class's counts
        by ``alpha / w``, which made the rare class's ratios noisier. A dict
        may name classes that y lacks (a rare class an outer cross-validation
        split leaves out) when every class of y has a weight, as in
        scikit-learn; classes it does not name weigh 1. ``None`` (default):
        an unweighted meta-learner, the same fit as a stack without the
        parameter. ``fit``'s ``sample_weight``, which reaches every member,
        multiplies these weights in the meta-learner.
    alpha_scaling : {"auto", None, "class_size"}, default="auto"
        The NBSVM members' smoothing (:class:`~toolkit.models.NBSVMClassifier`'s
        parameter of that name). ``"auto"``: ``"class_size"`` for more than
        two classes, None for two (binary stacks fit the same bits as with
        None). ``"class_size"`` smooths the larger class in
        proportion to its size, so that n-grams as common in both classes get
        ratios near 0 on imbalanced data; with classes of equal size it fits
        the same bits as None. On 1,000 IMDB training reviews (three draws,
        500 held-out training reviews; ``vectors=None``, the n-gram member
        alone), at 80/20 it raised the stack's ROC AUC from 0.81 to 0.89 and
        its balanced accuracy from 0.62 to 0.75 (0.72 to 0.79 with
        ``class_weight="balanced"``); at 95/5 the AUC went from 0.73 to 0.75
        only (``benchmarks/bench_class_weight.py --minority 0.2
        --alpha-scaling class_size``). Combine it with ``class_weight``,
        which moves the decision.
    ratio_shrinkage : float > 0 or None, default=None
        The NBSVM members' ``ratio_shrinkage``
        (:class:`~toolkit.models.NBSVMClassifier`): each naive-Bayes ratio
        times ``n / (n + k)``, ``n`` its n-gram's number of training
        documents, so that ratios resting on one or two documents fade.
    norm : {None, "l2"}, default=None
        The NBSVM members' ``norm``: ``"l2"`` normalises each NB-scaled row
        (the rows' norms drop from 5-25 to 1, so raise ``C`` about 100x, to
        1). For few documents of one class, ``alpha_scaling="class_size",
        ratio_shrinkage=1.0, norm="l2", C=1.0``: on 1,000 IMDB training
        reviews at 95/5 (three draws, 500 held-out training reviews,
        ``vectors=None``) the ROC AUC rose from 0.75 (``class_size`` alone) to
        0.84 and, with ``class_weight="balanced"``, the balanced accuracy from
        0.67 to 0.75; at 80/20 0.89 to 0.90 and 0.80 to 0.81; on balanced
        classes the same AUC and 0.006 less balanced accuracy
        (``benchmarks/bench_class_weight.py``).

    Attributes
    ----------
    members_ : dict of str to list of estimators
        The fitted members, by name: the refit alone (``predict_with="refit"``)
        or the ``cv`` fold fits (``"folds"``). Members fitted on the same
        documents whose pipelines start with equal fitted steps (the pooled
        vectors of ``"vectors"`` and ``"neighbors"``) share those step
        objects: kept and saved once, and run once per prediction.
    meta_ : sklearn.pipeline.Pipeline
        The meta-learner (``StandardScaler`` then ``LogisticRegression`` with
        ``class_weight``), fitted on the out-of-fold member scores.
    classes_ : ndarray of shape (n_classes,)
    member_names_ : list of str
        ``"ngrams"`` (and ``"ngrams_<model>"`` for a tuple ``ngram_model``), then
        ``"tail"``, ``"ratings"``, ``"clusters"``, ``"vectors"``, ``"neighbors"`` and ``"docvec"`` where
        enabled.
    member_weights_ : dict
        Meta-learner coefficient of each member's standardized score (binary
        targets; members with one column per class get the mean absolute
        weight, as does the one-column ``"ratings"`` member with more than two
        classes): how much each member counts in the prediction. Per column
        (and per class): ``dict(zip(get_feature_names_out(), meta_[-1].coef_[k]))``.
    vocabulary_prefixes_ : list of ((str, int, int), (str, int, int))
        Pairs of the members' vocabularies, fitted on the same documents,
        where the first is the start of the second (the NBSVM++ member's,
        capped at ``max_tokens``, and the NBSVM member's), each named by
        (member name, position in ``members_[name]``, pipeline step). At
        prediction the first reads its ids off the second's: the n-grams of
        new documents are looked up once
        (:func:`toolkit.text.vocabulary.shared_encoding`). Positions, not the
        vocabularies themselves: skops would store a referenced vocabulary a
        second time (+136 MB for ``STACK_MANY_JOB`` on 25,000 reviews).

    Examples
    --------
    >>> from sklearn.pipeline import make_pipeline
    >>> from toolkit import SpacyTokenizer, StackedTextClassifier
    >>> clf = make_pipeline(SpacyTokenizer(), StackedTextClassifier(vectors="word2vec:unsup"))  # doctest: +SKIP
    >>> clf.fit(texts, labels).predict(["A fine film."])                                        # doctest: +SKIP
    """

    _parameter_constraints = {
        "vectors": [str, os.PathLike, tuple, None],
        "doc_vectors": [str, os.PathLike, tuple, None],
        "pooling": [Options({"sif", "mean", "tfidf", "max", "sum"}), None],
        "clusters": [Interval(int, 2, None), None],
        "neighbors": [Interval(int, 1, None), None],
        "neighbors_dims": [Interval(int, 1, None), None],
        "tail_tokens": [Interval(int, 1, None), None],
        "mark_negation": ["boolean"],
        "ratings_alpha": [Interval(float, 0, None, closed="neither"), None],
        "ngram_model": [Options({"nbsvm", "nbsvm++"}), tuple, list],
        "C": [Interval(float, 0, None, closed="neither")],
        "vectors_Cs": [Interval(int, 1, None), list, tuple, np.ndarray],
        "cv": [Interval(int, 2, None), "cv_object"],
        "predict_with": [Options({"refit", "folds"})],
        "final_C": [Interval(float, 0, None, closed="neither")],
        "n_jobs": [int, None],
        "random_state": ["random_state"],
        "verbose": [Interval(int, 0, None), "boolean"],
        "class_weight": [dict, Options({"balanced"}), None],
        "alpha_scaling": [Options({"auto", "class_size"}), None],
        "ratio_shrinkage": [Interval(float, 0, None, closed="neither"), None],
        "norm": [Options({"l2"}), None],
    }

    def __init__(self, *, vectors="glove.6B.50d", doc_vectors=None, pooling="sif", clusters=None, neighbors=None,
                 neighbors_dims=None, tail_tokens=None, mark_negation=False, ratings_alpha=None, ngram_range=(1, 3), ngram_model="nbsvm", C=0.01, vectors_Cs=(0.001, 0.01, 0.1, 1.0), cv=5, predict_with="refit",
                 final_C=1.0, n_jobs=None, random_state=None, verbose=0, class_weight=None, alpha_scaling="auto",
                 ratio_shrinkage=None, norm=None):
        self.vectors = vectors
        self.doc_vectors = doc_vectors
        self.pooling = pooling
        self.clusters = clusters
        self.neighbors = neighbors
        self.neighbors_dims = neighbors_dims
        self.tail_tokens = tail_tokens
        self.mark_negation = mark_negation
        self.ratings_alpha = ratings_alpha
        self.ngram_range = ngram_range
        self.ngram_model = ngram_model
        self.C = C
        self.vectors_Cs = vectors_Cs
        self.cv = cv
        self.predict_with = predict_with
        self.final_C = final_C
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose
        self.class_weight = class_weight
        self.alpha_scaling = alpha_scaling
        self.ratio_shrinkage = ratio_shrinkage
        self.norm = norm

    #: a stack saved before ``alpha_scaling`` existed was fitted with None, not with today's default "auto"
    #: (:class:`~toolkit._validation.MissingParamsMixin` restores it so)
    _defaults_before_change = MappingProxyType({"alpha_scaling": None})

    def __setstate__(self, state):
        # stacks pickled or saved (skops) before ``verbose``, ``class_weight``, ``alpha_scaling``,
        # ``ratio_shrinkage`` or ``norm`` existed
        super().__setstate__(state)

    # ------------------------------------------------------------------ build
    def _nbsvm(self, seed):
        """An NBSVM member with the stack's ``C`` and smoothing, shrinkage and norm settings."""
        from .naive_bayes import NBSVMClassifier

        return NBSVMClassifier(C=self.C, alpha_scaling=self.alpha_scaling, ratio_shrinkage=self.ratio_shrinkage,
                               norm=self.norm, random_state=seed)

    def _members(self, seed, weighted=False):
        """The members, ``(name, unfitted pipeline)``; ``weighted``: ``fit`` got ``sample_weight``."""
        from sklearn import get_config
        from sklearn.base import clone
        from sklearn.linear_model import LogisticRegressionCV
        from sklearn.pipeline import Pipeline
        from sklearn.preprocessing import StandardScaler

        from ..text.encoders import BagEncoder
        from ..text.negation import NegationMarker
        from ..vectors.pooling import EmbeddingVectorizer

        # token lists out: set_output("default") keeps a global transform_output="pandas" from warning;
        # _TokenFunction passes names through, so member[:-1].get_feature_names_out() names the n-grams
        grams = _TokenFunction(word_ngrams, kw_args={"ngram_range": tuple(int(n) for n in self.ngram_range)},
                               validate=False, check_inverse=False).set_output(transform="default")
        # the n-gram members' first step: equal in every member, so fitted members share it and predict
        # marks the new documents once (_share_fitted_steps)
        def negation():
            return [("negation", NegationMarker())] if self.mark_negation else []
        members = []
        for kind in _ngram_models(self.ngram_model):
            if kind == "nbsvm++":
                from .classifier import EmbeddingClassifier
                from .recipes import NBSVM_RECIPE

                model = [("nbsvm", EmbeddingClassifier(architecture="nbsvm", **NBSVM_RECIPE, random_state=seed))]
            else:
                # counts, not multi_hot: NBSVM binarizes them itself, and the "ratings" member's TF-IDF
                # reads the same counts, so the two fit one vocabulary per fold (_member_groups)
                model = [("counts", BagEncoder(output_mode="count")),
                         ("nbsvm", self._nbsvm(seed))]
            name = "ngrams" if not members else f"ngrams_{kind}"
            members.append((name, Pipeline([*negation(), ("ngrams", clone(grams)), *model])))
        if self.tail_tokens is not None:
            members.append(("tail", Pipeline([
                *negation(),
                ("tail", _TokenFunction(last_tokens, kw_args={"n_tokens": self.tail_tokens},
                                        validate=False, check_inverse=False).set_output(transform="default")),
                ("ngrams", clone(grams)),
                ("counts", BagEncoder(output_mode="multi_hot")),
                ("nbsvm", self._nbsvm(seed)),
            ])))
        if self.ratings_alpha is not None:  # left out by fit when it gets no ratings
            from sklearn.feature_extraction.text import TfidfTransformer
            from sklearn.linear_model import Ridge

            # sublinear TF-IDF over the NBSVM member's counts (the same steps up to them, fitted once per
            # fold for both: _member_groups), so the member costs a ridge fit, not another vocabulary
            members.append(("ratings", Pipeline([
                *negation(),
                ("ngrams", clone(grams)),
                ("counts", BagEncoder(output_mode="count")),
                ("tfidf", TfidfTransformer(sublinear_tf=True, norm="l2")),
                ("ridge", Ridge(alpha=self.ratings_alpha)),
            ])))
        Cs = [float(c) for c in self.vectors_Cs] if _sequence_of_cs(self.vectors_Cs) else self.vectors_Cs
        # LogisticRegressionCV scores its C values with the fit's sample_weight; under metadata routing its
        # scorer must ask for them (a plain "accuracy" raised UnsetMetadataPassedError inside the stack's fit)
        scoring = "accuracy"
        if weighted and get_config().get("enable_metadata_routing", False):
            from sklearn.metrics import get_scorer

            scoring = get_scorer("accuracy").set_score_request(sample_weight=True)

        def linear(name, features):  # dense features -> standardized -> LR with C by internal CV
            return (name, Pipeline([
                features, ("scale", StandardScaler()),
                ("lr", LogisticRegressionCV(Cs=Cs, cv=5, max_iter=2000, scoring=scoring, l1_ratios=(0.0,),
                                            use_legacy_attributes=False, n_jobs=1)),
            ]))

        if self.vectors is not None and self.clusters is not None:
            from ..vectors.clusters import WordClusterer

            members.append(("clusters", Pipeline([
                ("clusters", WordClusterer(vectors=self.vectors, n_clusters=self.clusters)),
                ("ngrams", clone(grams)),
                ("counts", BagEncoder(output_mode="multi_hot")),
                ("nbsvm", self._nbsvm(seed)),
            ])))
        if self.vectors is not None and self.pooling is not None:
            members.append(linear("vectors", ("pool", EmbeddingVectorizer(vectors=self.vectors,
                                                                          pooling=self.pooling))))
        if self.vectors is not None and self.neighbors is not None:
            from sklearn.preprocessing import Normalizer

            steps = [("pool", EmbeddingVectorizer(vectors=self.vectors, pooling=self.pooling or "sif")),
                     ("norm", Normalizer())]
            if self.neighbors_dims is not None:
                steps.append(("pca", _CappedPCA(n_components=self.neighbors_dims)))
            steps.append(("knn", NeighborVote(n_neighbors=self.neighbors, weights="distance", algorithm="brute")))
            members.append(("neighbors", Pipeline(steps)))
        if self.doc_vectors is not None:
            from ..vectors.docvec import DocVectorizer

            # DocVectorizer's own random_state (fixed): it seeds the shared, cached doc model, so the
            # stack's seed must not reach it or every seed would train a model of its own
            members.append(linear("docvec", ("doc", DocVectorizer(unlabelled=self.doc_vectors))))
        # numpy between the steps whatever the global transform_output: a member fitted under "pandas" learnt
        # feature names ("emb0", ...) and warned at every prediction outside that setting
        return [(name, _numpy_output(member)) for name, member in members]

    def _check_params(self):
        validate_params(self, self._parameter_constraints)
        models = _ngram_models(self.ngram_model)
        if not models or len(set(models)) != len(models) or not set(models) <= {"nbsvm", "nbsvm++"}:
            raise ValueError(
                "The 'ngram_model' parameter of StackedTextClassifier must be 'nbsvm', 'nbsvm++' or a tuple of "
                f"distinct ones such as ('nbsvm++', 'nbsvm'). Got {self.ngram_model!r} instead."
            )
        if not _is_ngram_range(self.ngram_range):
            raise ValueError(
                "The 'ngram_range' parameter of StackedTextClassifier must be a pair of ints "
                f"(min_n, max_n) with 1 <= min_n <= max_n. Got {self.ngram_range!r} instead."
            )
        least = int(self.ngram_range[0])
        if self.tail_tokens is not None and self.tail_tokens < least:
            # the "tail" member's BagEncoder stopped the fit with "The vocabulary of BagEncoder is empty ... Lower
            # min_count, or check the tokenizer", naming neither the member nor the parameters at fault
            raise ValueError(
                f"The 'tail_tokens' parameter of StackedTextClassifier must be at least ngram_range's smallest n "
                f"({least}): the 'tail' member counts the {least}-{int(self.ngram_range[1])}-grams of each "
                f"document's last tail_tokens tokens, and {self.tail_tokens} token(s) hold no {least}-gram. Got "
                f"tail_tokens={self.tail_tokens!r} with ngram_range={self.ngram_range!r}: set tail_tokens >= "
                f"{least}, or tail_tokens=None (no 'tail' member)."
            )
        Cs = self.vectors_Cs
        if isinstance(Cs, np.ndarray) and Cs.ndim != 1 or _sequence_of_cs(Cs) and not (
                len(Cs) and all(isinstance(c, numbers.Real) and not isinstance(c, (bool, np.bool_))
                                and np.isfinite(c) and c > 0 for c in Cs)):
            raise ValueError(
                "The 'vectors_Cs' parameter of StackedTextClassifier must be an int >= 1 or a non-empty "
                f"sequence of floats > 0. Got {self.vectors_Cs!r} instead."
            )

    def fit(self, X, y, groups=None, ratings=None, *, sample_weight=None):
        """Fit the members fold by fold, the meta-learner on their out-of-fold scores.

        ``sample_weight`` is keyword-only: the third and fourth positional
        arguments stay ``groups`` and ``ratings``, as before it existed (a
        positional movie id would otherwise be read as a weight, silently).

        Parameters
        ----------
        X : sequence of token lists or TokenizedCorpus
            Word tokens (``SpacyTokenizer`` output without n-grams).
        y : array-like of shape (n_samples,)
        sample_weight : array-like of shape (n_samples,) or float, default=None
            Non-negative weight of each document, as in scikit-learn: an
            integer weight counts a document that many times, 0 leaves it
            out of every weighted step, and weights of 1 fit the same model as
            None (a constant other than 1 is not None: like repeated
            documents, it weakens every member's regularization). Each member
            fitted on a fold gets the weights of the fold's training
            documents, the refit (``predict_with="refit"``) all of them, and
            the meta-learner (its ``StandardScaler`` and its logistic
            regression, where they multiply ``class_weight``) the weights of
            the out-of-fold scores, one per document. Inside a member the
            weights reach the steps whose ``fit`` takes them: the NBSVM
            members' naive-Bayes counts and linear loss
            (``"ngrams"``, ``"tail"``, ``"clusters"``), the Keras loss
            (``"nbsvm++"``), the ridge loss (``"ratings"``), the
            ``StandardScaler`` and ``LogisticRegressionCV`` of
            ``"vectors"`` and ``"docvec"``, and the ``"neighbors"`` vote
            (:class:`NeighborVote`: a document of weight ``w`` counts as ``w``
            neighbours). The unsupervised steps (n-gram vocabularies, pooled
            and paragraph vectors, word clusters, PCA) see every document once.
            Unlike ``class_weight`` (meta-learner only), these weights reach
            every member. A class whose documents all have weight 0 is fitted
            as scikit-learn's ``LogisticRegression`` fits it: it stays in
            ``classes_`` and ``predict_proba`` and is never favoured (not with
            ``alpha_scaling="class_size"``, refused). A fold whose training
            part leaves a class with no weight while its test part gives it
            some is refused, as one without the class. In a ``Pipeline``,
            pass it as ``stackedtextclassifier__sample_weight=`` (with
            metadata routing: ``set_fit_request(sample_weight=True)`` and
            ``sample_weight=``).
        groups : array-like of shape (n_samples,), default=None
            Group of each document (IMDB: its movie), for the folds (see
            ``cv``): no group has documents on both sides of a fold. In a
            ``Pipeline``, pass it as ``stackedtextclassifier__groups=``.
        ratings : array-like of shape (n_samples,), default=None
            A finer-grained numeric score of each document than its class
            (IMDB: the stars), the target of the ``"ratings"`` member (see
            ``ratings_alpha``, which must then be set). In a ``Pipeline``, pass
            it as ``stackedtextclassifier__ratings=``.

        Returns
        -------
        self
        """
        from contextlib import nullcontext

        from joblib import delayed, parallel_config
        from sklearn.base import clone
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import Pipeline
        from sklearn.preprocessing import StandardScaler
        from sklearn.utils import check_random_state

        from ..vectors.clusters import _TooManyClusters

        started = time.perf_counter()
        self._check_params()
        docs = _as_corpus(X)
        self._check_word_tokens(docs)
        self._check_keras_member_documents(docs)
        self._check_some_ngrams(docs)
        if y is None:  # a pipeline fitted without y: np.asarray(None) stopped with "tuple index out of range"
            raise ValueError(
                f"This {type(self).__name__} estimator requires y to be passed, but the target y is None: its "
                "members and meta-learner learn the class label of each document. Pass the labels, e.g. "
                "pipe.fit(X, y)."
            )
        check_single_target(y, owner=type(self).__name__)
        y = np.asarray(y)
        if y.ndim == 2:  # one column: flattened once, with one warning (not one per member fit)
            from sklearn.utils.validation import column_or_1d

            y = column_or_1d(y, warn=True)
        if len(docs) != y.shape[0]:
            raise ValueError(
                f"X and y have inconsistent numbers of samples: {len(docs)} and {y.shape[0]}."
            )
        check_class_target(y, owner=type(self).__name__, values=False)  # check_single_target checked them
        classes = np.unique(y)
        if len(classes) < 2:
            raise ValueError(f"StackedTextClassifier needs at least 2 classes in y; got {len(classes)} "
                             f"({classes.tolist()}).{ONE_CLASS_HINT}")
        class_weight = self._check_class_weight(classes)
        ratings = self._check_ratings(ratings, len(y))
        sample_weight = _check_stack_sample_weight(sample_weight, len(y))
        seed = check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
        folds = _folds(self.cv, y, groups, seed)
        _check_fold_classes(folds, y, self.cv)
        if sample_weight is not None:
            _check_fold_weights(folds, y, sample_weight, self.cv, alpha_scaling=self.alpha_scaling)
        members = self._members(seed, weighted=sample_weight is not None)
        if ratings is None and self.ratings_alpha is not None:
            logger.info("fit got no ratings: the stack has no 'ratings' member (ratings_alpha=%r unused)",
                        self.ratings_alpha)
            members = [(name, est) for name, est in members if name != "ratings"]
        # one task per (group of members, fold), then the refits: members whose leading steps are the
        # same up to a fitted one (the NBSVM and "ratings" members' n-gram counts) fit them once per task
        groups = _member_groups(members)
        tasks = [(n_shared, group, train, test) for n_shared, group in groups for train, test in folds]
        refit = self.predict_with == "refit"
        if refit:
            tasks += [(n_shared, group, None, None) for n_shared, group in groups]
        # n_jobs None/1: nested work in this process (joblib's Dask backend would ignore n_jobs=1)
        with parallel_config(backend="sequential") if self.n_jobs in (None, 1) else nullcontext():
            try:
                fitted = _run_with_progress(
                    1 if self.n_jobs is None else self.n_jobs, bool(self.verbose),
                    [delayed(_fit_group)([clone(est) for _, est in group], n_shared, docs,
                                         [ratings if name == "ratings" else y for name, _ in group], train, test,
                                         keep=(test is None) == refit, sample_weight=sample_weight)
                     for n_shared, group, train, test in tasks])
            except _TooManyClusters as err:  # the "clusters" member's n_clusters is our clusters
                raise err.naming(type(self).__name__, "clusters") from err
        oof = {name: None for name, _ in members}
        kept = {name: [] for name, _ in members}
        for (_, group, train, test), results in zip(tasks, fitted):
            for (name, _), (model, scores) in zip(group, results):
                if test is not None:
                    if oof[name] is None:
                        oof[name] = np.zeros((len(y),) + scores.shape[1:])
                    oof[name][test] = scores
                if model is not None:
                    kept[name].append(model)
        # the members' scores live on different scales (an SVM margin, a logit): standardize
        # them, or the meta-learner's L2 penalty favours the member with the larger scale
        # set_output("default"), as for the members: fitted under a global transform_output="pandas", the
        # meta-learner learnt the scaler's column names ("x0", "x1": not the members') and warned at every
        # prediction made outside that setting (or after load_model)
        meta = Pipeline([("scale", StandardScaler()),
                         ("lr", LogisticRegression(C=self.final_C, max_iter=1000, class_weight=class_weight))])
        if sample_weight is not None and len(classes) > 2:
            _zero_weightless_columns(oof, classes, y, sample_weight)
        # every document has one out-of-fold score (the folds are a partition): its own weight
        _fit_weighted(_numpy_output(meta), _columns([oof[name] for name, _ in members]), y, sample_weight)
        self.members_ = _share_fitted_steps(kept)
        self.vocabulary_prefixes_ = _vocabulary_prefixes(self.members_)
        self.meta_ = meta
        self.classes_ = meta.classes_
        self.member_names_ = [name for name, _ in members]
        coef = np.atleast_2d(meta[-1].coef_)
        widths = [_columns([oof[name]]).shape[1] for name in self.member_names_]  # a member's columns
        per_member = np.split(np.arange(coef.shape[1]), np.cumsum(widths)[:-1])
        self.member_weights_ = {
            name: float(coef[0, cols[0]]) if coef.shape[0] == 1 and len(cols) == 1
            else float(np.abs(coef[:, cols]).mean())
            for name, cols in zip(self.member_names_, per_member)
        }
        logger.info("stack fitted: meta-learner weights %s", self.member_weights_)
        if time.perf_counter() - started > _COLLECT_AFTER_S:
            # The fitted members arrive from joblib as fresh objects in the collector's young
            # generations, with the fit's garbage; left there, the first predict pays for walking
            # them (0.17 CPU s of 0.95 on 2,000 reviews after a 5,000-review fit, a quarter of the
            # peer's whole cost). One full collection here costs ~0.1 s of a fit of minutes.
            gc.collect()
        return self

    def _check_word_tokens(self, docs):
        """Refuse the n-grams of a tokenizer (``SpacyTokenizer(ngram_range=(1, 2))`` in front): the stack makes its
        own, and from n-gram tokens it counted n-grams of n-grams ("movie a a 10"), its ``"tail"`` member read the
        last n-grams instead of the last words and its vector members pooled n-grams, silently."""
        from ..text.corpus import _NgramCorpus

        if not isinstance(docs, _NgramCorpus):
            return
        given = tuple(int(n) for n in docs._ngram_range)
        raise ValueError(
            f"StackedTextClassifier takes word tokens and makes its own n-grams (ngram_range={self.ngram_range!r}), "
            f"but X holds the {given[0]}-{given[1]}-grams of a tokenizer (SpacyTokenizer(ngram_range={given!r})): "
            "its members would count n-grams of n-grams, read the last n-grams as a document's ending and pool "
            "n-grams as words. Give it words: SpacyTokenizer() (ngram_range=(1, 1)) in front, and the n-grams "
            f"you want as the stack's own ngram_range (StackedTextClassifier(ngram_range={given!r}))."
        )

    def _check_keras_member_documents(self, docs):
        """Refuse, before any member is fitted, a document the ``"nbsvm++"`` member cannot train on: one without
        n-grams (no tokens, or fewer than ``ngram_range``'s smallest n).

        The member (an ``EmbeddingClassifier``) refused it from inside a fold, in a message that named
        ``EmbeddingClassifier``, which the user had not made; the ``"nbsvm"`` members take such documents.
        """
        models = _ngram_models(self.ngram_model)
        if "nbsvm++" not in models:
            return
        from ..exceptions import DocumentError

        least = int(self.ngram_range[0])
        short = np.flatnonzero(docs.lengths() < least)
        if not len(short):
            return
        member = "ngrams" if models[0] == "nbsvm++" else "ngrams_nbsvm++"
        index = int(short[0])
        what = "has no tokens" if least == 1 else f"has fewer than {least} tokens, so no {least}-grams"
        others = [m for m in models if m != "nbsvm++"]
        instead = (f"ngram_model={others[0]!r}" if others else "ngram_model='nbsvm'") + " (it takes them)"
        raise DocumentError(
            f"Document {index} of X {what} ({len(short)} such document(s) in all): the {member!r} member of "
            f"StackedTextClassifier (ngram_model={self.ngram_model!r}, a Keras EmbeddingClassifier) cannot be "
            f"trained on it. Drop those documents first, loosen the tokenizer settings that removed their tokens, "
            f"or use {instead}.",
            document_index=index,
        )

    def _check_some_ngrams(self, docs):
        """Refuse X when no document has ``ngram_range``'s smallest n tokens: the n-gram members would find no
        n-gram at all, and their ``BagEncoder`` said only "The vocabulary of BagEncoder is empty ... Lower
        min_count, or check the tokenizer", naming neither the stack's member nor ``ngram_range``."""
        least = int(self.ngram_range[0])
        if least == 1 or not len(docs):  # (an empty X is refused with y's checks)
            return
        longest = int(docs.lengths().max())
        if longest < least:
            raise ValueError(
                f"No document of X has {least} tokens or more (the longest has {longest}), so the n-gram members of "
                f"StackedTextClassifier (ngram_range={self.ngram_range!r}) find no {least}-gram to learn from. Lower "
                f"ngram_range's smallest n (e.g. ngram_range=(1, {int(self.ngram_range[1])})), or check the "
                "tokenizer (its filters may have removed most tokens)."
            )

    def _check_class_weight(self, classes):
        """``class_weight`` for the meta-learner: None, ``"balanced"`` or a dict of the classes of y alone.

        A dict may name classes y lacks (a rare class an outer cross-validation
        split leaves out) when every class of y has a weight, as in scikit-learn
        (those keys are dropped); otherwise an unknown key is most likely a
        typo, and an error that names it, before any member is fitted.
        """
        cw = self.class_weight
        if not isinstance(cw, dict):
            return cw
        known = classes.tolist()
        unknown = [k for k in cw if k not in known]
        if unknown and not all(c in cw for c in known):
            raise ValueError(
                f"The 'class_weight' parameter of StackedTextClassifier names classes that are not in y: "
                f"{unknown}; the classes are {known}. Name the classes of y (classes it lacks may be named "
                "too when every class of y has a weight), or pass class_weight='balanced'."
            )
        bad = {k: v for k, v in cw.items() if not (isinstance(v, (int, float, np.integer, np.floating))
                                                  and not isinstance(v, bool) and np.isfinite(v) and v >= 0)}
        if bad:
            raise ValueError(
                "The 'class_weight' parameter of StackedTextClassifier must map classes to finite weights "
                f">= 0. Got {bad!r} instead."
            )
        return {c: cw[c] for c in known if c in cw}

    def _check_ratings(self, ratings, n_samples):
        """``ratings`` as a float array of ``n_samples`` finite values, or None; refused without ``ratings_alpha``."""
        if ratings is None:
            return None
        if self.ratings_alpha is None:
            raise ValueError(
                "StackedTextClassifier.fit got ratings but ratings_alpha=None: set ratings_alpha (e.g. 0.1) "
                "for a 'ratings' member that learns them, or do not pass ratings."
            )
        try:
            values = np.asarray(ratings, dtype=np.float64)
        except (TypeError, ValueError) as err:
            raise ValueError(f"ratings must be numbers, one per document (IMDB: the stars); {err}.") from None
        if values.ndim != 1 or values.shape[0] != n_samples:
            raise ValueError(
                f"ratings must be one number per document: got shape {values.shape} for {n_samples} documents."
            )
        bad = np.flatnonzero(~np.isfinite(values))
        if bad.size:
            missing = int(np.isnan(values).sum())
            raise ValueError(
                f"ratings must be finite: document {int(bad[0])} has {float(values[bad[0]])}"
                + (f" ({missing} of the {n_samples} ratings are missing: None or NaN)" if missing else "")
                + ". The 'ratings' member needs a rating for every document: fill them in, or fit without ratings."
            )
        if np.ptp(values) == 0:
            raise ValueError(
                f"ratings are all {values[0]:g}: a 'ratings' member has nothing to learn. Pass ratings that vary, "
                "or fit without them."
            )
        return values

    def _docs(self, X):
        check_is_fitted(self, "meta_")
        docs = _as_corpus(X)
        # as in fit: n-gram tokens (a tokenizer with ngram_range in front of predict only) were scored silently,
        # the members counting n-grams of n-grams and pooling n-grams as words
        self._check_word_tokens(docs)
        return docs

    def _vocabulary_pairs(self):
        """The ``(small, large)`` vocabulary objects named by ``vocabulary_prefixes_``."""
        return [(_vocabulary_at(self.members_, small), _vocabulary_at(self.members_, large))
                for small, large in getattr(self, "vocabulary_prefixes_", ())]

    def _member_scores(self, docs):
        from ..text.encoders import shared_counts
        from ..text.vocabulary import shared_encoding

        shared = {}  # outputs of leading pipeline steps that several members have in common
        if len(docs) == 0:  # an empty batch: no rows, as from EmbeddingClassifier (the members need not see it)
            return np.zeros((0, getattr(self.meta_, "n_features_in_", None) or len(self.get_feature_names_out())))
        # members whose vocabularies are one another's first ids look the n-grams up once, and
        # count them once (NBSVM++ reads its rows off the NBSVM member's counts); both memos
        # end with the block
        pairs = self._vocabulary_pairs()
        with shared_encoding(pairs), shared_counts(pairs):
            return _columns([np.mean([_decision(m, docs, shared, fold) for fold, m in enumerate(self.members_[name])],
                                     axis=0)
                             for name in self.member_names_])

    def _meta(self, method, X):
        # One BLAS thread for the whole prediction, set once: its matrix products are small or split
        # into blocks on n_jobs threads already, and OpenBLAS threads woken by a product or by a change
        # of their count spin for ~0.1 s afterwards, burning the other core's CPU (2,000 reviews with
        # stack-many: ~0.1 CPU s, the tokenization of the next batch looked that much slower)
        docs = self._docs(X)  # first: an unfitted stack raises NotFittedError, not AttributeError on meta_
        if len(docs) == 0:
            # an empty batch (a filter that kept no review) gets empty results of the right shape and dtype, as from
            # EmbeddingClassifier: the meta-learner (scikit-learn) refuses 0 samples, so it scores one row of zeros,
            # cut off. Before: "Found array with 0 sample(s) ... required by NBSVMClassifier" from a member.
            row = np.zeros((1, self._member_scores(docs).shape[1]))
            return getattr(self.meta_, method)(row)[:0]
        with _one_blas_thread():
            return getattr(self.meta_, method)(self._member_scores(docs))

    def decision_function(self, X):
        """Meta-learner scores: shape (n_samples,) for two classes, else (n_samples, n_classes).

        Parameters
        ----------
        X : TokenizedCorpus or sequence of token lists
            Tokenized documents (a Pipeline's SpacyTokenizer step gives them).

        Returns
        -------
        ndarray of shape (n_samples,) or (n_samples, n_classes)
            Positive values favour ``classes_[1]`` (two classes).
        """
        return self._meta("decision_function", X)

    def predict(self, X):
        """Predicted class labels.

        Parameters
        ----------
        X : TokenizedCorpus or sequence of token lists
            Tokenized documents (a Pipeline's SpacyTokenizer step gives them).

        Returns
        -------
        ndarray of shape (n_samples,)
            Labels from ``classes_``.
        """
        return self._meta("predict", X)

    def predict_proba(self, X):
        """Class probabilities of the meta-learner.

        Parameters
        ----------
        X : TokenizedCorpus or sequence of token lists
            Tokenized documents (a Pipeline's SpacyTokenizer step gives them).

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
            Columns in the order of ``classes_``.
        """
        return self._meta("predict_proba", X)

    def member_scores(self, X):
        """The members' decision scores the meta-learner combines, shape (n_samples, n_members).

        With more than two classes each member gives one column per class, so
        the shape is (n_samples, n_members * n_classes). With
        ``predict_with="folds"`` each member's score is the mean over its fold fits.

        Parameters
        ----------
        X : TokenizedCorpus or sequence of token lists
            Tokenized documents (a Pipeline's SpacyTokenizer step gives them).

        Returns
        -------
        ndarray of shape (n_samples, n_members) or (n_samples, n_members * n_classes)
            Columns in the order of ``member_names_``, named by :meth:`get_feature_names_out`.
        """
        with _one_blas_thread():
            return self._member_scores(self._docs(X))

    def get_feature_names_out(self, input_features=None):
        """Names of the meta-learner's inputs: the columns of :meth:`member_scores` and of ``meta_[-1].coef_``.

        With two classes, one column per member, named as in
        ``member_names_``. With more, a member with one score per class
        gives ``"<member>__<class>"`` for each class in the order of
        ``classes_``, and a member with one score (the ``"ratings"``
        regression) its name alone. scikit-learn's ``StackingClassifier``
        prefixes its names with the class name and numbers the columns
        instead; these names match ``member_weights_``' keys.

        Parameters
        ----------
        input_features : ignored
            Accepted for the scikit-learn API (the input is token lists).

        Returns
        -------
        ndarray of str objects, shape (n_columns,)

        Examples
        --------
        >>> from toolkit.models import StackedTextClassifier
        >>> docs = [["a", "good", "film"], ["a", "bad", "film"], ["great", "fun"], ["dull", "bore"]] * 5
        >>> stack = StackedTextClassifier(vectors=None, tail_tokens=2, cv=2, random_state=0)
        >>> stack.fit(docs, ["pos", "neg", "pos", "neg"] * 5).get_feature_names_out().tolist()
        ['ngrams', 'tail']
        >>> weights = dict(zip(stack.get_feature_names_out(), stack.meta_[-1].coef_[0]))
        >>> weights == stack.member_weights_
        True
        """
        from sklearn.pipeline import Pipeline

        check_is_fitted(self, "meta_")
        names = []
        for name in self.member_names_:
            model = self.members_[name][0]
            final = model.steps[-1][1] if isinstance(model, Pipeline) else model
            # _score: a classifier's decision_function has one column per class beyond two; a regressor's one
            if len(self.classes_) > 2 and hasattr(final, "decision_function"):
                names.extend(f"{name}__{c}" for c in self.classes_)
            else:
                names.append(name)
        n_columns = getattr(self.meta_, "n_features_in_", len(names))
        if len(names) != n_columns:
            raise ValueError(
                f"StackedTextClassifier has {len(names)} member score columns by its members but its meta-learner "
                f"was fitted on {n_columns}: the fitted model is inconsistent (members_ or meta_ replaced after fit)."
            )
        return np.asarray(names, dtype=object)


class NeighborVote(MissingParamsMixin, KNeighborsClassifier):
    """:class:`~sklearn.neighbors.KNeighborsClassifier` with a ``decision_function``: its vote as log-odds.

    The ``"neighbors"`` member of :class:`StackedTextClassifier`, whose
    meta-learner reads decision scores. Parameters, attributes and methods
    are scikit-learn's, except that a fit on fewer documents than
    ``n_neighbors`` votes with all of them; ``decision_function`` adds the log-odds of the
    neighbours' vote for the second class (two classes) or the log of each
    class's share (more), with shares clipped to [1e-7, 1 - 1e-7]; and new
    dense documents under the Euclidean metric are searched by
    :meth:`kneighbors`' own exact method (a matrix product per block, then
    each row's k smallest through a sampled bound), which finds the same
    neighbours for a third of the CPU time (2,000 documents against 25,000
    300-d training vectors: 0.26 against 0.84 CPU s; BENCHMARKS.md,
    fifteenth session); :meth:`predict_proba` votes from them unsorted.
    A duplicate of a training document is at distance 0 in any batch (scikit-learn's
    float32 search leaves it at rounding noise, 2-5e-8, inside a block of 256 and at
    0 alone), so a document's vote does not depend on the batch it comes in.
    :meth:`fit` takes ``sample_weight`` (scikit-learn's ``KNeighborsClassifier``
    does not): a training document of weight ``w`` votes as ``w`` copies of it.

    Examples
    --------
    >>> import numpy as np
    >>> knn = NeighborVote(n_neighbors=3).fit(np.array([[0.0], [0.1], [0.2], [1.0], [1.1]]), [0, 0, 0, 1, 1])
    >>> knn.decision_function(np.array([[0.05]])).round(2).tolist()
    [-16.12]
    """

    def fit(self, X, y, sample_weight=None):
        """Fit the nearest-neighbours index (scikit-learn's), and keep the training documents' weights.

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, n_features)
            Training documents (dense vectors for the stack's member).
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        sample_weight : array-like of shape (n_samples,) or float, default=None
            Non-negative weight of each training document (one target only):
            a document of weight ``w`` votes as ``w`` copies of it would. The
            vote for a new document reads its nearest training documents in
            order of distance until their weights sum to ``n_neighbors`` (the
            last one counted in part), each counted by its weight, times the
            ``weights`` rule (``1 / distance`` for ``"distance"``). Integer
            weights give the vote of the training set with each document
            repeated that many times, 0 that of the set without the document
            (ties of distance apart); weights of 1 give the unweighted vote.

        Returns
        -------
        self
        """
        from sklearn.utils.validation import _check_sample_weight

        weights = None
        if sample_weight is not None:
            shape = np.asarray(y).shape
            if len(shape) == 2 and shape[1] > 1:
                raise ValueError(
                    f"{type(self).__name__} takes sample_weight for a single target only; got y of shape "
                    f"{shape}. Fit one {type(self).__name__} per output, or pass no sample_weight."
                )
            weights = _check_sample_weight(sample_weight, X, dtype=np.float64, ensure_non_negative=True, copy=True)
        super().fit(X, y)
        # None for weights all 1: the unweighted vote, bit for bit
        self._vote_weight = None if weights is None or np.all(weights == 1.0) else weights
        return self

    def predict(self, X):
        """scikit-learn's, from the weighted vote after a fit with ``sample_weight``.

        Parameters
        ----------
        X : array-like of shape (n_queries, n_features) or None
            Documents; None: the training documents, each without itself.

        Returns
        -------
        ndarray of shape (n_queries,) or (n_queries, n_outputs)
        """
        if getattr(self, "_vote_weight", None) is None:
            return super().predict(X)
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]

    def _weighted_proba(self, X):
        """The vote of :meth:`fit`'s ``sample_weight`` (see there), shape (n_queries, n_classes)."""
        from sklearn.neighbors._base import _get_weights

        doc_weight = self._vote_weight
        k = self.n_neighbors
        available = self.n_samples_fit_ - (X is None)  # X=None: each training document without itself
        m = min(k, available)
        while True:  # widen the search until the nearest documents' weights reach k (or all are read)
            dist, ind = self.kneighbors(X, n_neighbors=m)
            w = doc_weight[ind]
            before = np.cumsum(w, axis=1) - w
            if m >= available or (before[:, -1] + w[:, -1] >= k).all():
                break
            m = min(2 * m, available)
        counted = np.minimum(w, np.clip(k - before, 0, None))  # each document's share of the k votes
        if self.weights == "uniform" or self.weights is None:
            votes = counted
        elif self.weights == "distance":  # scikit-learn's rule, among the documents that count
            inverse = np.divide(1.0, dist, out=np.full_like(dist, np.inf), where=dist > 0)
            exact = (dist == 0) & (counted > 0)
            rows = exact.any(axis=1)
            inverse[rows] = exact[rows]
            votes = np.where(counted > 0, counted * np.where(np.isinf(inverse), 0.0, inverse), 0.0)
        else:
            votes = counted * _get_weights(dist, self.weights)
        n_classes = len(self.classes_)
        cells = (np.arange(ind.shape[0])[:, None] * n_classes + self._y[ind]).ravel()
        shares = np.bincount(cells, weights=votes.ravel(), minlength=ind.shape[0] * n_classes)
        shares = shares.reshape(ind.shape[0], n_classes)
        total = shares.sum(axis=1, keepdims=True)
        total[total == 0] = 1.0  # scikit-learn's: no vote at all gives zeros
        return shares / total

    def kneighbors(self, X=None, n_neighbors=None, return_distance=True):
        """scikit-learn's, with ``n_neighbors`` at most the number of training documents (a small fit
        such as one fold of a few hundred documents votes with all of them instead of failing).

        New dense documents under the Euclidean metric (the ``"neighbors"``
        member's case) take a faster exact search than scikit-learn's brute
        force: per block of ``pairwise_dist_chunk_size`` documents (a
        scikit-learn setting, 256), one matrix product in the training data's
        precision, then each row's ``k`` smallest instead of a heap per
        document (``numpy.argpartition`` of the part of the row under a bound
        taken from a sample of its columns; the whole row where the sample
        misleads, so the set is always exact). Blocks run on ``n_jobs``
        threads, each with a one-thread BLAS.
        Distances of the chosen neighbours are float64; pairs so close that
        float32 cancellation could matter (squared distance under 1e-3 of the
        squared norms) are recomputed directly, so a duplicate of a training
        document is at distance 0. Other cases are scikit-learn's search.
        """
        if n_neighbors is None:
            n_neighbors = min(self.n_neighbors, self.n_samples_fit_ - (X is None))
        if not self._fast_search_applies(X, n_neighbors):
            return super().kneighbors(X, n_neighbors=n_neighbors, return_distance=return_distance)
        dist, ind = self._euclidean_kneighbors(X, n_neighbors)
        return (dist, ind) if return_distance else ind

    def _fast_search_applies(self, X, n_neighbors):
        import scipy.sparse as sp

        check_is_fitted(self)
        return (X is not None and not sp.issparse(X) and not sp.issparse(self._fit_X)
                and getattr(self, "_fit_method", None) == "brute" and self.effective_metric_ == "euclidean"
                and isinstance(n_neighbors, (int, np.integer)) and 0 < n_neighbors <= self.n_samples_fit_)

    def _euclidean_kneighbors(self, X, n_neighbors, sort=True):
        from joblib import Parallel, delayed
        from sklearn import get_config
        from sklearn.utils import gen_batches
        from sklearn.utils.validation import validate_data

        fit_X = self._fit_X
        dtype = np.float32 if fit_X.dtype == np.float32 else np.float64
        X = validate_data(self, X, reset=False, dtype=dtype, order="C")
        fit_X = np.asarray(fit_X, dtype=dtype)
        fit_sq = np.einsum("ij,ij->i", fit_X, fit_X)
        dist = np.empty((X.shape[0], n_neighbors))
        ind = np.empty((X.shape[0], n_neighbors), dtype=np.intp)

        def search(block):
            ind[block], dist[block] = _nearest_rows(X[block], fit_X, fit_sq, n_neighbors, sort=sort)

        # small blocks: one large one costs more, not less (2,000 x 25,000: 1.9 against 0.65 CPU s in fresh
        # memory); one BLAS thread, also for one block: idle OpenBLAS threads spin for ~0.1 s after each
        # product, which cost 0.2-0.35 CPU s per 2,000 x 25,000 for 0.06 s of wall time on 2 cores
        # (the limit itself costs ~0.01 ms with the cached controller)
        size = get_config()["pairwise_dist_chunk_size"]
        blocks = gen_batches(X.shape[0], size)
        with _one_blas_thread():
            if self.n_jobs in (None, 1):  # in this thread, whatever joblib backend is active
                for block in blocks:
                    search(block)
            else:  # threads of this process, even under a Dask or process backend
                Parallel(n_jobs=self.n_jobs, require="sharedmem")(delayed(search)(block) for block in blocks)
        return dist, ind

    def predict_proba(self, X):
        """scikit-learn's: each class's share of the neighbours' (weighted) vote, shape (n_samples, n_classes).

        Where :meth:`kneighbors` takes its own search (new dense documents,
        Euclidean metric, ``"uniform"`` or ``"distance"`` weights, one
        output), the vote reads the neighbours unsorted: the same shares, to
        rounding, without ordering each document's neighbours by distance.
        After a fit with ``sample_weight`` the neighbours vote by their
        weights (see :meth:`fit`).
        """
        if getattr(self, "_vote_weight", None) is not None:
            return self._weighted_proba(X)
        n_neighbors = min(self.n_neighbors, self.n_samples_fit_) if hasattr(self, "n_samples_fit_") else None
        if (self.weights not in ("uniform", "distance") or getattr(self, "outputs_2d_", True)
                or not self._fast_search_applies(X, n_neighbors)):
            return super().predict_proba(X)
        dist, ind = self._euclidean_kneighbors(X, n_neighbors, sort=False)
        if self.weights == "uniform":
            weights = np.ones_like(dist)
        else:  # scikit-learn's rule: 1 / distance, or only the documents at distance 0 where there are any
            with np.errstate(divide="ignore"):
                weights = 1.0 / dist
            exact = np.isinf(weights)
            rows = exact.any(axis=1)
            weights[rows] = exact[rows]
        n_classes = len(self.classes_)
        cells = (np.arange(ind.shape[0])[:, None] * n_classes + self._y[ind]).ravel()
        votes = np.bincount(cells, weights=weights.ravel(), minlength=ind.shape[0] * n_classes)
        votes = votes.reshape(ind.shape[0], n_classes)
        return votes / votes.sum(axis=1, keepdims=True)

    def _single_output(self):
        # available_if: an AttributeError (hasattr() False, as scikit-learn's meta-estimators and checks expect)
        if getattr(self, "outputs_2d_", False):
            raise AttributeError(
                f"decision_function is not available for a {type(self).__name__} fitted on a 2-D y "
                f"({len(self.classes_)} outputs): it gives the log-odds of a single target's vote. Use "
                "predict_proba, which gives one array of shares per output."
            )
        return True

    @available_if(_single_output)
    def decision_function(self, X):
        """Log-odds of the neighbours' vote: shape (n_samples,) for two classes, else (n_samples, n_classes).

        Only for a single target: after a fit on a 2-D ``y`` (several
        outputs) the method is not available (``hasattr`` is False), as
        ``predict_proba`` then gives a list of arrays, not one.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Documents (dense vectors), as for :meth:`predict_proba`.

        Returns
        -------
        ndarray of shape (n_samples,) or (n_samples, n_classes)
        """
        shares = np.clip(self.predict_proba(X), 1e-7, 1 - 1e-7)
        if shares.shape[1] == 2:
            return np.log(shares[:, 1] / shares[:, 0])
        return np.log(shares)


class _CappedPCA(MissingParamsMixin, TransformerMixin, BaseEstimator):
    """:class:`~sklearn.decomposition.PCA` with at most ``n_components``: fewer where the data has fewer
    documents or dimensions (a small fold), instead of an error. The fitted PCA is ``pca_``."""

    def __init__(self, *, n_components=50):
        self.n_components = n_components

    def fit(self, X, y=None):
        """Fit ``pca_`` (exact SVD) with ``min(n_components, n_samples, n_features)`` components."""
        from sklearn.decomposition import PCA
        from sklearn.utils.validation import validate_data

        X = validate_data(self, X, dtype=[np.float64, np.float32])
        self.pca_ = PCA(n_components=min(self.n_components, *X.shape), svd_solver="full").fit(X)
        return self

    def transform(self, X):
        """The documents' coordinates on the principal components, in their own precision."""
        from sklearn.utils.validation import validate_data

        check_is_fitted(self)
        return self.pca_.transform(validate_data(self, X, dtype=[np.float64, np.float32], reset=False))

    def get_feature_names_out(self, input_features=None):
        """``pca0``, ``pca1``, ... one name per component kept (those of ``pca_``).

        With it ``set_output(transform="pandas")`` gives a DataFrame and a
        ``Pipeline``'s ``get_feature_names_out`` reaches the steps after this one.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Checked against the fitted input names, as scikit-learn's ``PCA`` does.

        Returns
        -------
        ndarray of str objects, shape (n_components_kept,)
        """
        from sklearn.utils.validation import _check_feature_names_in

        check_is_fitted(self)
        _check_feature_names_in(self, input_features, generate_names=False)
        return self.pca_.get_feature_names_out()


@functools.lru_cache(maxsize=1)
def _blas_controller():
    """threadpoolctl's view of the loaded thread pools, found once (a fresh look costs 1-2 ms with TensorFlow loaded)."""
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


def _one_blas_thread():
    """Context manager: BLAS (the matrix products) on one thread."""
    return _blas_controller().limit(limits=1, user_api="blas")


def _nearest_rows(q, fit_X, fit_sq, k, sort=True):
    """Indices and float64 distances of the ``k`` nearest rows of ``fit_X`` to each row of ``q`` (Euclidean),
    sorted by distance unless ``sort=False``; ``fit_sq`` holds the squared norms of ``fit_X``. See
    :meth:`NeighborVote.kneighbors`."""
    d2 = (q * -2) @ fit_X.T  # |q|^2 is the same along a row: added after the choice
    d2 += fit_sq
    if k < fit_X.shape[0]:
        idx = _smallest(d2, k)
    else:
        idx = np.broadcast_to(np.arange(fit_X.shape[0]), d2.shape)
    q_sq = np.einsum("ij,ij->i", q, q).astype(np.float64)
    near = np.take_along_axis(d2, idx, axis=1).astype(np.float64) + q_sq[:, None]
    close = near < 1e-3 * (q_sq[:, None] + fit_sq[idx])
    if close.any():  # cancellation: compute those few distances directly
        r, c = np.nonzero(close)
        diff = q[r].astype(np.float64) - fit_X[idx[r, c]].astype(np.float64)
        near[r, c] = np.einsum("ij,ij->i", diff, diff)
    np.maximum(near, 0, out=near)
    if not sort:
        return idx, np.sqrt(near)
    order = np.argsort(near, axis=1, kind="stable")
    return np.take_along_axis(idx, order, axis=1), np.sqrt(np.take_along_axis(near, order, axis=1))


#: columns of the sample that bounds each row's k-th smallest value in :func:`_smallest`
_SAMPLE = 1024


def _smallest(d2, k):
    """Column indices of the ``k`` smallest values of each row of ``d2`` (unordered): ``numpy.argpartition``'s set.

    With many columns per neighbour (25,000 training documents, 300
    neighbours) most of a row cannot be among them. The k-th smallest value
    of an evenly spaced sample of ``_SAMPLE`` columns, taken a few standard
    deviations past the sample's expected share, bounds the row's k-th
    smallest value from above in almost every row; the row's values under
    that bound (about 3% of 25,000) are then partitioned alone. A row with
    fewer than ``k`` values under its bound is partitioned whole, so the
    result is always exact. Costs about 0.4 of ``argpartition`` over the
    whole block (8 against 22 ms for 256 x 25,000; BENCHMARKS.md, fifteenth
    session).
    """
    n = d2.shape[1]
    if n < 4 * _SAMPLE or 16 * k > n:
        return np.argpartition(d2, k - 1, axis=1)[:, :k]
    sample = d2[:, np.linspace(0, n - 1, _SAMPLE).astype(np.intp)]
    expected = k * _SAMPLE / n
    rank = min(int(np.ceil(expected + 4 * np.sqrt(expected) + 4)), _SAMPLE - 1)
    bound = np.partition(sample, rank, axis=1)[:, rank]
    idx = np.empty((d2.shape[0], k), dtype=np.intp)
    for i, row in enumerate(d2):
        candidates = np.flatnonzero(row <= bound[i])
        if candidates.size >= k:
            idx[i] = candidates[np.argpartition(row[candidates], k - 1)[:k]]
        else:  # the sample missed: the whole row
            idx[i] = np.argpartition(row, k - 1)[:k]
    return idx


def _share_fitted_steps(members):
    """Make members' equal leading steps one object: ``members`` maps name -> fitted models (pipelines).

    Two members fitted on the same documents (the refit, or the same fold:
    the same position in each list) whose pipelines start with steps of the
    same type and parameters whose fitted states hash equal (the pooled word
    vectors of the ``"vectors"`` and ``"neighbors"`` members) get the first
    member's step object. The model then keeps one copy in memory and on disk
    (skops and pickle store a shared object once), and prediction transforms
    new documents once for both (:func:`_decision`).
    """
    import joblib
    from sklearn.pipeline import Pipeline

    def digest(step):
        try:
            return joblib.hash(step)
        except Exception:  # noqa: BLE001 - an unhashable state is never shared
            return None

    seen = {}  # (fold, canonical ids of the steps before, type, params) -> [[step, its hash or None]]
    for models in members.values():
        for fold, model in enumerate(models):
            if not isinstance(model, Pipeline):
                continue
            prefix = (fold,)
            for i, (name, step) in enumerate(model.steps[:-1]):
                key = prefix + _step_key(step)
                candidates = seen.setdefault(key, [])
                same = next((entry[0] for entry in candidates if entry[0] is step), None)  # fitted once
                if same is None and candidates:  # hash only where an earlier member has a step of the same kind
                    mine = digest(step)
                    for entry in candidates:
                        entry[1] = digest(entry[0]) if entry[1] is None else entry[1]
                        if mine is not None and entry[1] == mine:
                            same = entry[0]
                            break
                if same is None:
                    candidates.append([step, None])
                    same = step
                model.steps[i] = (name, same)
                prefix += (id(same),)
    return members


def _vocabulary_at(members, where):
    """The vocabulary of step ``where[2]`` of the fitted model ``members[where[0]][where[1]]``."""
    name, fold, step = where
    model = members[name][fold]
    return getattr(model, "steps", [(None, model)])[step][1].vocabulary_


def _vocabulary_prefixes(members):
    """``(small, large)`` pairs of the members' fitted vocabularies where ``small.is_prefix_of(large)``.

    Members fitted on the same documents (the same position in each list of
    ``members``) with vocabularies ranked the same way, one capped (the
    NBSVM++ member's ``max_tokens``), the other not (the NBSVM member's
    ``BagEncoder``): at prediction the small one reads its ids off the large
    one's (:func:`toolkit.text.vocabulary.shared_encoding`), one look-up for both.
    """
    from ..text.vocabulary import Vocabulary

    by_fold = {}  # fold -> [(vocabulary, where)]
    for name, models in members.items():
        for fold, model in enumerate(models):
            for i, step in enumerate(getattr(model, "steps", [(None, model)])):
                vocab = getattr(step[1], "vocabulary_", None)
                if isinstance(vocab, Vocabulary) and all(v is not vocab for v, _ in by_fold.get(fold, [])):
                    by_fold.setdefault(fold, []).append((vocab, (name, fold, i)))
    pairs = []
    for vocabs in by_fold.values():
        vocabs = sorted(vocabs, key=lambda item: len(item[0]))
        for i, (small, where) in enumerate(vocabs):
            large = next((w for v, w in vocabs[i + 1:] if small.is_prefix_of(v)), None)
            if large is not None:
                pairs.append((where, large))
    return pairs


def _decision(model, docs, shared, fold):
    """``model.decision_function(docs)``, reusing what another member computed for the same leading steps.

    ``shared`` maps (fold, ids of the leading step objects) to their output:
    members whose pipelines start with the same step objects (made shared by
    :func:`_share_fitted_steps`) transform the documents once.
    """
    from sklearn.pipeline import Pipeline

    if not isinstance(model, Pipeline):
        return _score(model, docs)
    X, key = docs, (fold,)
    for _, step in model.steps[:-1]:
        key += (id(step),)
        if key not in shared:
            shared[key] = step.transform(X)
        X = shared[key]
    return _score(model.steps[-1][1], X)


def _score(model, X):
    """A member's score: its ``decision_function``, or a regressor's (the ``"ratings"`` member) ``predict``."""
    return model.decision_function(X) if hasattr(model, "decision_function") else model.predict(X)


def _folds(cv, y, groups, seed):
    """The (train, test) index pairs of ``cv`` (see ``StackedTextClassifier``), checked to be a partition."""
    from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

    if groups is not None:
        groups = np.asarray(groups)
        if groups.ndim != 1 or groups.shape[0] != len(y):
            raise ValueError(
                f"groups must be one value per document: got shape {groups.shape} for {len(y)} documents."
            )
        _check_groups(groups)
    if isinstance(cv, (int, np.integer)):
        splitter = (StratifiedKFold if groups is None else StratifiedGroupKFold)(
            n_splits=cv, shuffle=True, random_state=seed)
    else:
        splitter = cv
    folds = [(np.asarray(train), np.asarray(test)) for train, test in splitter.split(np.zeros(len(y)), y, groups)]
    held_out = np.concatenate([test for _, test in folds]) if folds else np.array([], dtype=int)
    if len(held_out) != len(y) or not np.array_equal(np.sort(held_out), np.arange(len(y))):
        raise ValueError(
            f"The folds of cv={cv!r} must hold out every document exactly once (a partition, as for "
            "cross_val_predict); pass a KFold-like splitter, not a ShuffleSplit-like one."
        )
    return folds


def _plain(value):
    """A numpy scalar as its Python value, for messages (``nan``, not ``np.float64(nan)``)."""
    return value.item() if isinstance(value, np.generic) else value


def _check_groups(groups):
    """Refuse ``groups`` with missing values (None, NaN, ``pd.NA``) or of mixed types, naming the document.

    scikit-learn's group splitters sort the groups: with object groups a missing
    value stopped with "'<' not supported between instances of 'str' and
    'NoneType'" (or 'float'), and in float groups every NaN became one group
    of its own, so the documents without a group (not one movie) were kept
    together in one fold, silently.
    """
    from .._validation import is_missing

    if groups.dtype.kind == "f":
        missing = np.isnan(groups)
    elif groups.dtype == object:
        missing = np.fromiter((is_missing(g) for g in groups), dtype=bool, count=groups.shape[0])
    else:
        missing = np.zeros(groups.shape[0], dtype=bool)
    if missing.any():
        first = int(np.flatnonzero(missing)[0])
        raise ValueError(
            f"groups must name the group of every document, but document {first} has {_plain(groups[first])!r} "
            f"({int(missing.sum())} of the {groups.shape[0]} groups are missing: None or NaN). Documents without "
            "a group are not one group: give each one a group of its own (e.g. its row number as a string, "
            "np.where(pd.isna(groups), [f'doc{i}' for i in range(len(groups))], groups)), or fit without groups."
        )
    if groups.dtype == object:
        kinds = {type(_plain(g)) for g in groups}
        if len(kinds) > 1 and not kinds <= {bool, int, float}:  # numbers sort among themselves, not with str
            names = ", ".join(sorted(k.__name__ for k in kinds))
            raise ValueError(
                f"groups mixes values of types {names}, which the group splitters cannot sort. Give groups of one "
                "type, e.g. np.asarray(groups, dtype=str)."
            )


def _check_fold_classes(folds, y, cv):
    """Refuse folds whose training part lacks a class of ``y``: the members fitted there could not score it.

    With an int ``cv`` this is a class of one document (the fold that holds it
    out trains without it); a splitter such as ``GroupKFold`` can also put all
    of a larger class in one test fold.
    """
    classes, counts = np.unique(y, return_counts=True)
    for i, (train, _) in enumerate(folds):
        missing = np.isin(classes, y[train], invert=True)
        if missing.any():
            named = ", ".join(f"{c.item() if hasattr(c, 'item') else c!r} ({n} document{'s' if n != 1 else ''})"
                              for c, n in zip(classes[missing], counts[missing]))
            raise ValueError(
                f"StackedTextClassifier fits its members on cv={cv!r} folds, but the training part of fold {i} "
                f"has no document of class {named}, so the members fitted there could not score it. Give "
                "every class at least 2 documents (better: as many as the folds), or remove or merge the "
                "rare class" + ("." if isinstance(cv, (int, np.integer)) else ", or pass a cv whose training "
                                "folds hold every class.")
            )


def _check_stack_sample_weight(sample_weight, n_samples):
    """``sample_weight`` of the stack as float64 of shape (n_samples,) (:func:`~toolkit._validation.check_sample_weight`),
    or None (also for weights all 1: the same fit as none, bit for bit)."""
    if sample_weight is None:
        return None
    weights = check_sample_weight(sample_weight, n_samples, owner="StackedTextClassifier",
                                  hint="The documents' groups (movies) go to fit(X, y, groups=...).")
    return None if np.all(weights == 1.0) else weights


def _check_fold_weights(folds, y, sample_weight, cv, alpha_scaling=None):
    """Refuse folds whose training part gives a class of ``y`` no weight while the class has weight elsewhere
    (as :func:`_check_fold_classes` refuses one without the class).

    A class whose documents all have weight 0 is fitted as scikit-learn's ``LogisticRegression`` fits it: it
    stays in ``classes_`` and ``predict_proba``, and is never favoured (each NBSVM member keeps its documents
    at a weight of 1e-12 times the largest, :meth:`NBSVMClassifier._fit_linear`; the meta-learner's
    logistic regression takes weights of 0 as they are). But a class whose only weighted documents are in
    one fold's test part is learnt from the out-of-fold scores of members that never saw it: on 400 IMDB
    training reviews with the negative ones weighted in fold 0's test part alone, the meta-learner learnt
    the members' scores upside down (held-out ROC AUC 0.28, accuracy 0.41; 0.88 and 0.81 unweighted).
    ``alpha_scaling="class_size"`` (which scales by each class's summed weight) is refused with a weightless
    class, naming the stack's parameter rather than its members' ``NBSVMClassifier``.
    """
    classes = np.unique(y)
    weightless = [c for c in classes if not sample_weight[y == c].sum() > 0]
    if weightless:
        named = ", ".join(repr(_plain(c)) for c in weightless)
        if alpha_scaling == "class_size":
            raise ValueError(
                f"sample_weight gives class {named} a total weight of 0, but StackedTextClassifier("
                "alpha_scaling='class_size') smooths each NBSVM member's counts by the class's summed weight. "
                "Use alpha_scaling='auto' or None with a class that should weigh nothing, or give some of its "
                "documents a positive weight."
            )
        logger.info("sample_weight gives class %s a total weight of 0: it stays in classes_ and is never favoured "
                    "(as in scikit-learn's LogisticRegression)", named)
    for i, (train, _) in enumerate(folds):
        totals = np.array([sample_weight[train][y[train] == c].sum() for c in classes])
        missing = ~(totals > 0) & np.isin(classes, weightless, invert=True)
        if missing.any():
            named = ", ".join(repr(_plain(c)) for c in classes[missing])
            raise ValueError(
                f"sample_weight gives class {named} a total weight of 0 in the training part of fold {i} of "
                f"cv={cv!r}, but not in fold {i}'s test part: the meta-learner would learn that class from the "
                "out-of-fold scores of StackedTextClassifier members that never saw it. Give positive weights to "
                "documents of that class in more folds (or use fewer folds); or, if the class should weigh "
                "nothing, give all its documents weight 0."
            )


def _zero_weightless_columns(oof, classes, y, sample_weight):
    """Set to 0, in place, the out-of-fold score columns of the classes of total weight 0 (more than two classes).

    A member learns nothing of such a class: its column is an artifact of the member's regularization, for the
    logistic regression of ``"vectors"`` a constant (its intercept) that differs from fold fit to fold fit. The
    meta-learner's ``StandardScaler`` divided those few distinct constants by their small spread, and the refit's
    own constant became a large score at prediction: on 240 IMDB training reviews of three classes (the middle
    star ratings of weight 0, ``"ngrams"`` and ``"vectors"`` members) every held-out review was predicted
    ``'low'`` (accuracy 0.50 on the other two classes; 0.78 with the middle reviews dropped instead). A column of
    zeros gets a meta-learner weight of exactly 0 (lbfgs starts there and its gradient stays 0), so what the
    members give for the class at prediction is multiplied by 0: the class is never favoured, as in
    scikit-learn's ``LogisticRegression``. Members with one score (``"ratings"``) keep it.
    """
    weightless = np.flatnonzero([not sample_weight[y == c].sum() > 0 for c in classes])
    if not weightless.size:
        return
    for scores in oof.values():
        if scores.ndim == 2 and scores.shape[1] == len(classes):
            scores[:, weightless] = 0.0


def _step_key(step):
    """What makes two unfitted pipeline steps equal: type and parameters."""
    return type(step), repr(sorted(step.get_params(deep=False).items()))


def _member_groups(members):
    """``members`` ((name, estimator) pairs) -> ``[(n_shared, [(name, estimator), ...]), ...]``.

    Pipelines whose leading steps are equal (names, and :func:`_step_key`) up to and
    including the first one that learns something in ``fit`` (sklearn's
    ``requires_fit`` tag: a vocabulary, not a stateless marking), none of
    them declaring that it needs a target (``target_tags.required``): the
    members may learn different targets, such as the ``"ratings"`` member's,
    so the shared steps are fitted without one. They form one
    group, fitted together by :func:`_fit_group`: those ``n_shared`` steps
    once per fold, then each member's own steps on their output. Any other
    member is a group of its own with ``n_shared=0``. Groups keep the order
    of their first member.
    """
    from sklearn.pipeline import Pipeline

    def shared_key(estimator):
        if not isinstance(estimator, Pipeline):
            return None
        key = []
        for name, step in estimator.steps[:-1]:
            tags = step.__sklearn_tags__()
            if tags.target_tags.required:  # learns its member's own target
                return None
            key.append((name, *_step_key(step)))
            if tags.requires_fit:
                return tuple(key)
        return None

    groups, by_key = [], {}
    for name, estimator in members:
        key = shared_key(estimator)
        if key is None or key not in by_key:
            groups.append([len(key) if key else 0, [(name, estimator)]])
            if key is not None:
                by_key[key] = groups[-1]
        else:
            by_key[key][1].append((name, estimator))
    return [(n_shared if len(group) > 1 else 0, group) for n_shared, group in groups]


def _run_with_progress(n_jobs, progress, calls):
    """``joblib.Parallel(n_jobs=n_jobs)(calls)``, with a tqdm bar (stderr) over the calls when ``progress``.

    The bar advances as each call's result comes back, in order (joblib's
    ``return_as="generator"``). A backend that cannot return results one by
    one (joblib's ``"multiprocessing"``) runs the calls without the bar.
    """
    from joblib import Parallel

    if progress:
        from joblib.parallel import get_active_backend

        backend, _ = get_active_backend()
        if getattr(backend, "supports_return_generator", False) or type(backend).__name__ == "SequentialBackend":
            from tqdm.auto import tqdm

            results = []
            with tqdm(total=len(calls), desc="stack fits", unit="fit") as bar:
                outputs = Parallel(n_jobs=n_jobs, return_as="generator")(calls)
                try:
                    for result in outputs:
                        results.append(result)
                        bar.update(1)
                except BaseException:
                    # Stopped between two results (a Ctrl-C during the bar's update): closing the generator
                    # cancels the remaining fits, and joblib warns that they "have been cancelled. You could
                    # benefit from adjusting the input task iterator...", advice that does not apply here.
                    # (An error inside the generator has closed it already: nothing to do then.)
                    import warnings

                    with warnings.catch_warnings():
                        warnings.filterwarnings("ignore", category=UserWarning,
                                                message=r"\d+ tasks (have been successfully executed|which were still)")
                        outputs.close()
                    raise
            return results
        logger.info("joblib backend %s returns no results one by one: the stack fits run without a progress bar",
                    type(backend).__name__)
    return Parallel(n_jobs=n_jobs)(calls)


@contextlib.contextmanager
def _rows_of_x(rows):
    """A :class:`~toolkit.exceptions.DocumentError` about document ``i`` of ``docs.take(rows)`` (a fold's
    documents) raised in the block names document ``rows[i]`` of the stack's X instead.

    A member's error would otherwise count the fold's documents, and a caller (``toolkit train``) could
    not tell the user which document of theirs it is.
    """
    from ..exceptions import DocumentError

    try:
        yield
    except DocumentError as err:
        if rows is None or err.document_index is None or not 0 <= err.document_index < len(rows):
            raise
        index = int(np.asarray(rows)[err.document_index])
        raise DocumentError(err.naming(f"Document {index} of X"), document_index=index) from err


def _fit_weighted(estimator, X, y, sample_weight=None):
    """``estimator.fit(X, y)``, with ``sample_weight`` (when not None) given to each step whose ``fit`` takes it.

    A pipeline's steps are fitted one by one, as ``Pipeline.fit`` does
    (``fit_transform`` with ``y``), the weights going to the steps that take
    them (the ``StandardScaler`` before a linear model, and the final
    classifier or regressor) and not to the unsupervised ones that do not
    (vocabularies, pooling, clusters, PCA). ``Pipeline.fit(X, y,
    step__sample_weight=w)`` would do the same without metadata routing, but
    refuses the ``step__`` keys with it (``sklearn.set_config(enable_metadata_routing=True)``).
    """
    from sklearn.pipeline import Pipeline
    from sklearn.utils.validation import has_fit_parameter

    if sample_weight is None:
        return estimator.fit(X, y)
    if not isinstance(estimator, Pipeline):
        return estimator.fit(X, y, sample_weight=sample_weight)
    Xt = X
    for _, step in estimator.steps[:-1]:
        if has_fit_parameter(step, "sample_weight"):
            Xt = step.fit(Xt, y, sample_weight=sample_weight).transform(Xt)
        else:
            Xt = step.fit_transform(Xt, y)
    final = estimator.steps[-1][1]
    rows = _weighted_rows(final, y, sample_weight)
    if rows is not None:
        Xt, y, sample_weight = Xt[rows], np.asarray(y)[rows], np.asarray(sample_weight)[rows]
    final.fit(Xt, y, sample_weight=sample_weight)
    return estimator


def _weighted_rows(final, y, sample_weight):
    """Rows that a ``LogisticRegressionCV`` (the ``"vectors"`` and ``"docvec"`` members' last step) is fitted on
    under ``sample_weight`` with zeros: those of positive weight and those of classes of total weight 0 (so that
    the classes stay); None when every row stays or for another step.

    A row of weight 0 adds nothing to the logistic loss nor to the accuracy that chooses C, so leaving it out
    fits the same model, except that the internal folds are drawn from the rows that count. With them, an
    internal test fold of weight-0 rows alone (the rows of one source given weight 0, in the order of X: the
    internal 5 folds are not shuffled) stopped the stack's fit with scikit-learn's "Sample weights must contain
    at least one non-zero number" from deep inside the member's scoring.
    """
    from sklearn.linear_model import LogisticRegressionCV

    weights = np.asarray(sample_weight)
    if not isinstance(final, LogisticRegressionCV) or weights.ndim != 1 or (weights > 0).all():
        return None
    y = np.asarray(y)
    classes, codes = np.unique(y, return_inverse=True)
    totals = np.bincount(codes, weights=weights, minlength=len(classes))
    return np.flatnonzero((weights > 0) | ~(totals[codes] > 0))


def _fit_group(estimators, n_shared, docs, targets, train, test, keep=True, sample_weight=None):
    """Fit members (pipelines) whose first ``n_shared`` steps are equal, those steps once.

    Each member fits its own remaining steps to its own target (``targets``,
    one array per member) on the shared steps' output; the fitted pipelines
    hold the same shared step objects. ``sample_weight`` (one weight per
    document of ``docs``, or None) goes to the members' own steps that take
    it (:func:`_fit_weighted`); the shared steps learn no target and take
    none. Returns ``[(model, scores), ...]`` in the order of ``estimators``,
    as :func:`_fit_member` for each.
    """
    rows = slice(None) if train is None else train
    weights = None if sample_weight is None else np.asarray(sample_weight)[rows]
    if n_shared == 0:
        # the keyword only with weights: a fit without them calls _fit_member as before
        weighted = {} if sample_weight is None else {"sample_weight": sample_weight}
        return [_fit_member(estimator, docs, target, train, test, keep=keep, **weighted)
                for estimator, target in zip(estimators, targets)]
    from sklearn.pipeline import Pipeline

    head = Pipeline(estimators[0].steps[:n_shared])
    # no target: the members may learn different ones (a step that needs one fails loudly here)
    with _rows_of_x(train):
        Z = head.fit_transform(docs if train is None else docs.take(train))
    with _rows_of_x(test):
        Z_test = None if test is None else head.transform(docs.take(test))
    results = []
    for estimator, target in zip(estimators, targets):
        with _rows_of_x(train):
            own = _fit_weighted(Pipeline(estimator.steps[n_shared:]), Z, target[rows], weights)
        with _rows_of_x(test):
            scores = None if test is None else np.asarray(_score(own, Z_test))
        model = Pipeline(head.steps + own.steps) if train is None or keep else None
        results.append((model, scores))
    return results


def _fit_member(estimator, docs, y, train, test, keep=True, sample_weight=None):
    """Fit one member on ``train`` (all documents when None), with the weights of those documents
    (``sample_weight``: one per document of ``docs``, or None; :func:`_fit_weighted`); return it (None
    unless ``keep``: nothing to ship back from a worker) and its scores on ``test``."""
    if train is None:
        return _fit_weighted(estimator, docs, y, sample_weight), None
    with _rows_of_x(train):  # an error about a document names it in the stack's X, not in the fold
        _fit_weighted(estimator, docs.take(train), y[train],
                      None if sample_weight is None else np.asarray(sample_weight)[train])
    with _rows_of_x(test):
        scores = np.asarray(_score(estimator, docs.take(test)))
    return (estimator if keep else None), scores


def _columns(scores):
    """Member scores -> one matrix: a binary member's 1-d score is one column, a multiclass one's k columns."""
    # (the width from the shape: reshape(0, -1) of an empty batch's scores has no width to infer)
    return np.column_stack([s.reshape(s.shape[0], int(np.prod(s.shape[1:], dtype=int))) for s in scores])
