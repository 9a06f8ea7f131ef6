"""An estimator's error about one document carries its position (``DocumentError.document_index``).

``toolkit train`` names the record of the user's file from it. A stack's members fit on cross-validation
folds, so a member's "Document i" counted the fold's documents; the stack now re-raises it as the
document of its own X, also through joblib's worker processes.
"""
from __future__ import annotations

import pickle

import pytest

from toolkit import DocumentError, EmbeddingClassifier, SpacyTokenizer, StackedTextClassifier
from toolkit.exceptions import DataError


def test_document_error_keeps_its_index_through_pickling():
    err = DocumentError("Document 7 of X has no tokens.", document_index=7)
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is DocumentError and back.document_index == 7 and str(back) == str(err)
    assert isinstance(back, DataError) and isinstance(back, ValueError)  # callers catching those still do


def test_classifier_and_tokenizer_errors_carry_the_document_index():
    with pytest.raises(DocumentError, match=r"^Document 2 of X has no tokens") as info:
        EmbeddingClassifier(architecture="nbsvm", epochs=1).fit([["good"], ["bad"], [], ["fine"]], [1, 0, 1, 1])
    assert info.value.document_index == 2
    with pytest.raises(DocumentError, match=r"^Document 1 of X has 31 characters") as info:
        SpacyTokenizer(max_length=30).fit_transform(["short", "x" * 31])
    assert info.value.document_index == 1


@pytest.mark.parametrize("n_jobs", [1, 2])
@pytest.mark.slow
def test_stack_member_error_names_the_document_of_the_stacks_x_not_of_its_fold(split, n_jobs):
    # Before: the NBSVM++ member's "Document i of X" counted the documents of the fold it was fitted on
    # (and reached the caller as a plain ValueError, from a worker process with n_jobs=2).
    X, y, _, _ = split
    X, y = [list(doc) for doc in X[:120]], list(y[:120])
    empty = 101
    X[empty] = []
    stack = StackedTextClassifier(vectors=None, ngram_model=("nbsvm++",), cv=3, random_state=0, n_jobs=n_jobs)
    with pytest.raises(DocumentError) as info:
        stack.fit(X, y)
    assert info.value.document_index == empty
    assert str(info.value).startswith(f"Document {empty} of X has no tokens"), str(info.value)
