"""The public API's docstrings follow numpydoc: every parameter documented, nothing documented that is not one,
a Returns section where something is returned, a summary line (``numpydoc.validate``, as scikit-learn's own
docstring test runs it). The public API: what ``toolkit`` and its subpackages list in ``__all__``, with the
public methods of those classes. Descriptions of each type (numpydoc's PR07/RT03) are not required."""

from __future__ import annotations

import dataclasses
import importlib
import inspect

import pytest

numpydoc_validate = pytest.importorskip("numpydoc.validate")

PACKAGES = ("toolkit", "toolkit.text", "toolkit.vectors", "toolkit.models", "toolkit.data", "toolkit.distributed",
            "toolkit.plots", "toolkit.exceptions")
#: GL08 no docstring, SS01 no summary, PR01 a parameter not documented, PR02 a documented parameter that does
#: not exist, PR10 a malformed parameter line, RT01 no Returns section
CHECKED = ("GL08", "SS01", "PR01", "PR02", "PR10", "RT01")


def _public_names():
    names = {}
    for package in PACKAGES:
        module = importlib.import_module(package)
        for name in getattr(module, "__all__", ()):
            obj = getattr(module, name)
            if not hasattr(obj, "__qualname__") or not obj.__module__.startswith("toolkit"):
                continue
            names[f"{obj.__module__}.{obj.__qualname__}"] = obj
            if inspect.isclass(obj) and not issubclass(obj, BaseException):
                for attr in dir(obj):
                    member = getattr(obj, attr, None)
                    if (not attr.startswith("_") and callable(member)
                            and getattr(member, "__module__", "").startswith("toolkit")):
                        names[f"{obj.__module__}.{obj.__qualname__}.{attr}"] = member
    return names


PUBLIC = _public_names()


def test_the_public_api_is_found():
    assert len(PUBLIC) > 150
    assert "toolkit.models.classifier.EmbeddingClassifier.fit" in PUBLIC
    assert "toolkit.text.tokenizer.SpacyTokenizer" in PUBLIC


def _dataclass_fields_documented(obj, errors):
    """A dataclass documents its fields under Attributes: PR01 is met when every field is there."""
    if not (inspect.isclass(obj) and dataclasses.is_dataclass(obj)):
        return errors
    from numpydoc.docscrape import ClassDoc

    documented = {name.strip() for item in ClassDoc(obj)["Attributes"] for name in item.name.split(",")}
    fields = {field.name for field in dataclasses.fields(obj) if field.init}
    missing = fields - documented
    kept = [e for e in errors if e[0] != "PR01"]
    if missing:
        kept.append(("PR01", f"fields {sorted(missing)} not documented under Attributes"))
    return kept


@pytest.mark.parametrize("name", sorted(PUBLIC))
def test_public_docstring_follows_numpydoc(name):
    result = numpydoc_validate.validate(name)
    errors = [(code, message) for code, message in result["errors"] if code in CHECKED]
    errors = _dataclass_fields_documented(PUBLIC[name], errors)
    assert not errors, f"{name}: {errors}"
