"""toolkit._validation: parameter checks and text-input checks shared by all estimators."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.base import BaseEstimator

from toolkit._validation import (
    Interval,
    InvalidParameterError,
    Options,
    TextInputMixin,
    check_raw_documents,
    validate_param,
    validate_params,
)
from toolkit.text.corpus import TokenizedCorpus, check_token_lists


class _Toy(TextInputMixin, BaseEstimator):
    def __init__(self, *, n=1, mode="a", flag=False, fn=None, seed=None, kind=None):
        self.n = n
        self.mode = mode
        self.flag = flag
        self.fn = fn
        self.seed = seed
        self.kind = kind


CONSTRAINTS = {
    "n": [Interval(int, 1, None), None],
    "mode": [Options({"a", "b"})],
    "flag": ["boolean"],
    "fn": ["callable", None],
    "seed": ["random_state"],
    "kind": [str, None],
}


def test_validation_interval_membership_and_wording():
    assert 1 in Interval(int, 1, None) and 0 not in Interval(int, 1, None)
    assert True not in Interval(int, 0, None)  # bools are not numbers here
    assert 2.0 not in Interval(int, 1, None) and 2.0 in Interval(float, 1, None)
    assert math.nan not in Interval(float, None, None)
    assert np.int64(3) in Interval(int, 1, 3) and 3 not in Interval(int, 1, 3, closed="left")
    assert "3" not in Interval(int, None, None)
    assert str(Interval(int, 1, None)) == "an int in the range [1, inf)"
    assert str(Interval(float, 0, 1, closed="neither")) == "a float in the range (0, 1)"


@pytest.mark.parametrize("value", [math.inf, -math.inf, np.float32(np.inf), np.float64(-np.inf)])
def test_validation_interval_refuses_infinities_on_unbounded_sides(value):
    # "[0, inf)" and "(-inf, inf)" are open at infinity: inf got through (a dpi or a C of inf was accepted)
    assert value not in Interval(float, 0 if value > 0 else None, None)
    assert value not in Interval(float, None, None, closed="both")
    assert 10**400 in Interval(int, 1, None) and 1e308 in Interval(float, 0, None, closed="neither")
    with pytest.raises(InvalidParameterError, match=r"The 'dpi' parameter of f must be a float in the range \(0, inf\)"):
        validate_param(value, [Interval(float, 0, None, closed="neither")], name="dpi", owner="f")


def test_validation_options_membership_and_wording():
    opts = Options({"pre", "post"})
    assert "pre" in opts and "middle" not in opts and ["pre"] not in opts
    assert str(opts) == "a str among {'post', 'pre'}"


def test_validation_validate_params_accepts_valid_values():
    validate_params(_Toy(), CONSTRAINTS)
    validate_params(_Toy(n=None, mode="b", flag=np.bool_(True), fn=len, seed=np.random.RandomState(0), kind="x"), CONSTRAINTS)


@pytest.mark.parametrize(
    "params, message",
    [
        ({"n": 0}, r"The 'n' parameter of _Toy must be an int in the range \[1, inf\) or None. Got 0 instead."),
        ({"n": True}, r"The 'n' parameter of _Toy must be .* Got True instead."),
        ({"mode": "c"}, r"The 'mode' parameter of _Toy must be a str among \{'a', 'b'\}. Got 'c' instead."),
        ({"flag": 1}, r"The 'flag' parameter of _Toy must be an instance of 'bool'. Got 1 instead."),
        ({"fn": 3}, r"The 'fn' parameter of _Toy must be a callable or None. Got 3 instead."),
        ({"seed": "x"}, r"The 'seed' parameter of _Toy must be an int, a numpy RandomState or None. Got 'x' instead."),
        ({"kind": 5}, r"The 'kind' parameter of _Toy must be an instance of 'str' or None. Got 5 instead."),
    ],
)
def test_validation_validate_params_messages(params, message):
    with pytest.raises(InvalidParameterError, match=message):
        validate_params(_Toy(**params), CONSTRAINTS)


def test_validation_invalid_parameter_error_is_value_and_type_error():
    assert issubclass(InvalidParameterError, ValueError) and issubclass(InvalidParameterError, TypeError)


def test_validation_validate_param_for_functions():
    validate_param(5, [Interval(int, 1, None)], name="maxlen", owner="pad_sequences")
    with pytest.raises(InvalidParameterError, match=r"The 'maxlen' parameter of pad_sequences must be an int in the range \[1, inf\). Got -1 instead."):
        validate_param(-1, [Interval(int, 1, None)], name="maxlen", owner="pad_sequences")


def test_validation_check_raw_documents_accepts_common_containers():
    pd = pytest.importorskip("pandas")
    assert check_raw_documents(["a", "b"]) == ["a", "b"]
    assert check_raw_documents(("a",)) == ["a"]
    assert check_raw_documents(d for d in ["x"]) == ["x"]
    out = check_raw_documents(np.array(["a", "b"]))
    assert out == ["a", "b"] and all(type(d) is str for d in out)
    assert check_raw_documents(pd.Series(["a", "b"], index=[5, 9])) == ["a", "b"]
    assert check_raw_documents([]) == []


@pytest.mark.parametrize(
    "X, message",
    [
        ("one string", "Iterable over raw text documents expected, string object received."),
        (b"bytes", "Iterable over raw text documents expected, string object received."),
        (np.array([["a", "b"]]), r"Expected a 1-D sequence of raw text documents for X, got an array of shape \(1, 2\). Select the text column first"),
        (["a", None], r"Document 1 of X is missing \(None/NaN\); drop or fill missing values first"),
        ([float("nan")], r"Document 0 of X is missing"),
        ([b"x"], r"Document 0 of X is bytes; decode it first, e.g. doc.decode\('utf-8'\)"),
        ([1.5], "Document 0 of X is a float, not a str; raw text documents must be str."),
        ([["tok"]], "Document 0 of X is a list, not a str"),
        (42, "Iterable over raw text documents expected for X, got int."),
    ],
)
def test_validation_check_raw_documents_errors(X, message):
    with pytest.raises(ValueError, match=message):
        check_raw_documents(X)


def test_validation_check_raw_documents_dataframe_error():
    pd = pytest.importorskip("pandas")
    with pytest.raises(ValueError, match="got a DataFrame with 2 dimensions. Select the text column first, e.g. df\\['text'\\]"):
        check_raw_documents(pd.DataFrame({"text": ["a"]}))


def test_validation_check_token_lists():
    corpus = TokenizedCorpus.from_token_lists([["a"]])
    assert check_token_lists(corpus, estimator="E") is corpus
    assert check_token_lists([("a", "b"), iter(["c"])], estimator="E") == [["a", "b"], ["c"]]
    assert check_token_lists(np.array([["a", "b"]], dtype=object), estimator="E") == [["a", "b"]]
    with pytest.raises(ValueError, match="E expects a sequence of token lists for X, got str. Tokenize first"):
        check_token_lists("text", estimator="E")
    with pytest.raises(ValueError, match="E expects a sequence of token lists for X, got int"):
        check_token_lists(3, estimator="E")
    with pytest.raises(ValueError, match="E expects token lists, but document 1 of X is a raw string"):
        check_token_lists([["a"], "b c"], estimator="E")
    with pytest.raises(ValueError, match="E expects token lists, but document 0 of X is an int"):
        check_token_lists([7], estimator="E")
    with pytest.raises(ValueError, match=r"E expects token lists of str, but document 0 of X contains a NoneType \(None\)"):
        check_token_lists([["a", None]], estimator="E")


def test_validation_text_input_mixin_tags():
    tags = _Toy().__sklearn_tags__()
    assert tags.input_tags.string is True and tags.input_tags.two_d_array is False
