"""The test suite itself: real-data tests fail in CI when the data is missing; docstring examples run."""

from __future__ import annotations

import doctest
import importlib
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import toolkit

TESTS = Path(__file__).resolve().parent

_NEEDS_DATA = textwrap.dedent(
    """
    def test_needs_data(shared_data):
        assert (shared_data / "aclImdb_v1.tar.gz").is_file()
    """
)


def _run_suite(tmp_path: Path, data_dir: Path, ci: str | None) -> subprocess.CompletedProcess:
    """Run a one-test suite that uses the real conftest, in a fresh process."""
    suite = tmp_path / "suite"
    suite.mkdir(exist_ok=True)
    shutil.copy(TESTS / "conftest.py", suite / "conftest.py")
    (suite / "test_needs_data.py").write_text(_NEEDS_DATA, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k not in {"CI", "TOOLKIT_TEST_DATA_DIR", "PYTEST_ADDOPTS"}}
    env["TOOLKIT_DATA_DIR"] = str(data_dir)
    if ci is not None:
        env["CI"] = ci
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", "--rootdir", str(suite), str(suite)],
        cwd=suite, env=env, capture_output=True, text=True, timeout=120,
    )


@pytest.mark.parametrize(("value", "expected"), [("true", True), ("True", True), ("1", True), ("yes", True),
                                                ("false", False), ("0", False), ("", False), (None, False)])
def test_in_ci_reads_the_ci_variable(monkeypatch, value, expected):
    from conftest import in_ci

    if value is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", value)
    assert in_ci() is expected


def test_missing_real_data_fails_in_ci(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    result = _run_suite(tmp_path, empty, "true")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "1 error" in result.stdout
    assert f"CI=true and real data not found in {empty}: missing aclImdb_v1.tar.gz, glove.6B.50d.txt.gz" in result.stdout


def test_missing_real_data_skips_outside_ci(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    result = _run_suite(tmp_path, empty, None)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 skipped" in result.stdout
    assert f"real data not found in {empty}: missing aclImdb_v1.tar.gz" in result.stdout


def test_real_data_found_through_toolkit_data_dir(tmp_path, shared_data):
    result = _run_suite(tmp_path, shared_data, "true")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout


def test_import_toolkit_imports_no_tensorflow():
    code = "import sys, toolkit; print(sorted({'tensorflow', 'keras'} & set(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert result.stdout.strip() == "[]"


PACKAGE = Path(toolkit.__file__).resolve().parent
# Found on disk, not by importing: a module that fails to import fails its own test, not the collection.
MODULES = sorted(
    ".".join(("toolkit", *path.relative_to(PACKAGE).with_suffix("").parts)).removesuffix(".__init__")
    for path in PACKAGE.rglob("*.py")
    if path.name != "__main__.py"
)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    """Every ``Examples`` section in the package runs and prints what it shows."""
    module = importlib.import_module(name)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    report = []
    for test in doctest.DocTestFinder().find(module, name):
        runner.run(test, out=report.append)
    failed, attempted = runner.summarize(verbose=False)
    assert failed == 0, f"{failed} of {attempted} docstring examples in {name} failed:\n" + "".join(report)


def test_every_exception_and_warning_is_importable_from_toolkit():
    """`from toolkit import DependencyError` failed (and ModelVersionWarning), although README says every public
    name outside toolkit.distributed is importable from toolkit itself."""
    from toolkit import exceptions

    missing = [name for name in exceptions.__all__ if getattr(toolkit, name, None) is not getattr(exceptions, name)]
    assert not missing
    assert set(exceptions.__all__) <= set(toolkit.__all__)
