"""Labels a classifier cannot learn from, as users gave them (forty-third session).

A missing label (None, NaN, ``pd.NA``) in an object ``y`` got scikit-learn's "Unknown label type: unknown ...
a regression target", numpy's "'<' not supported between 'NoneType' and 'str'", or became one more class
(NaN) without a word; labels mixing text and numbers (``[1, "a"]``) were two kinds of class.
"""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture(scope="module")
def tokens(imdb_small):
    texts, labels = imdb_small
    return [t.lower().split()[:80] for t in texts[:30]], [str(y) for y in labels[:30]]


@pytest.mark.parametrize("missing", [None, float("nan"), "pd.NA"])
def test_nbsvm_names_a_missing_label(tokens, missing):
    import pandas as pd

    from toolkit.models import NBSVMClassifier
    from toolkit.text import BagEncoder

    X, y = tokens
    y = list(y)
    y[4] = pd.NA if missing == "pd.NA" else missing
    bag = BagEncoder().fit_transform(X)
    with pytest.raises(ValueError, match=r"y has 1 missing label\(s\) \(None or NaN\), the first at index 4\. "
                                         r"NBSVMClassifier learns one class per label"):
        NBSVMClassifier().fit(bag, y)


def test_nbsvm_refuses_labels_that_mix_text_and_numbers(tokens):
    from toolkit.models import NBSVMClassifier
    from toolkit.text import BagEncoder

    X, y = tokens
    mixed = [1 if label == y[0] else label for label in y]  # one class an int, the other a string
    bag = BagEncoder().fit_transform(X)
    with pytest.raises(ValueError, match=r"y mixes label types \(numbers and text\).*y\.astype\(str\)"):
        NBSVMClassifier().fit(bag, np.asarray(mixed, dtype=object))
    # one type, as the message says: fits
    assert NBSVMClassifier().fit(bag, np.asarray(mixed, dtype=object).astype(str)).classes_.size == 2
