"""Data manifests: the built-in TOML files and their validation."""

from __future__ import annotations

import re
import tomllib

import pytest

import toolkit
from toolkit.data.manifests import (
    FORMATS,
    get_manifest,
    list_manifests,
    load_manifest,
    manifest_dirs,
)
from toolkit.exceptions import ManifestError

REQUIRED_NAMES = [
    "imdb",
    "glove.6B.50d",
    "glove.6B.100d",
    "glove.6B.200d",
    "glove.6B.300d",
    "glove-wiki-gigaword-50",
    "glove-wiki-gigaword-100",
    "glove-wiki-gigaword-300",
    "word2vec-google-news-300",
    "fasttext-wiki-news-subwords-300",
]

GOOD = """\
name = "toy"
description = "d"
license = "CC0"
citation = "c"
homepage = "https://example.org/"
format = "glove"
checksum_source = "test"
member = "toy.txt"
local_names = ["toy.txt.gz"]

[[files]]
filename = "toy.zip"
url = "https://example.org/toy.zip"
sha256 = "{sha}"
size = 10
""".replace("{sha}", "ab" * 32)


def _write(tmp_path, text, name="toy"):
    path = tmp_path / f"{name}.toml"
    path.write_text(text)
    return path


def test_manifests_builtin_all_valid():
    names = list_manifests()
    assert set(REQUIRED_NAMES) <= set(names)
    for name in names:
        m = get_manifest(name)
        assert m.name == name and m.format in FORMATS
        assert m.license and m.citation and m.checksum_source and m.homepage.startswith("http")
        for f in m.files:
            assert f.url.startswith("https://") and f.size and f.size > 0
            assert f.known_hash is not None, f"{name}: every built-in file has a published checksum"


def test_manifests_imdb_official_values():
    m = get_manifest("imdb")
    (f,) = m.files
    assert m.format == "aclImdb" and m.member is None
    assert f.url == "https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz"
    assert f.sha256 == "c40f74a18d3b61f90feba1e17730e0d38e8b97c05fde7008942e91923d1658fe"
    assert f.size == 84_125_825
    assert m.candidate_names == ("aclImdb_v1.tar.gz", "aclImdb")


def test_manifests_glove_members_and_local_names():
    for dim in (50, 100, 200, 300):
        m = get_manifest(f"glove.6B.{dim}d")
        assert m.format == "glove" and m.member == f"glove.6B.{dim}d.txt"
        assert m.files[0].url == "https://nlp.stanford.edu/data/glove.6B.zip"
        assert m.candidate_names[:3] == (f"glove.6B.{dim}d.txt.gz", f"glove.6B.{dim}d.txt", "glove.6B.zip")
        assert m.member_for("x/glove.6B.zip") == m.member and m.member_for("glove.6B.50d.txt.gz") is None


def test_manifests_gensim_data_formats():
    assert get_manifest("glove-wiki-gigaword-50").format == "word2vec"
    assert get_manifest("word2vec-google-news-300").format == "word2vec-binary"
    assert get_manifest("fasttext-wiki-news-subwords-300").format == "fasttext"
    m = get_manifest("glove-wiki-gigaword-50")
    assert m.files[0].md5 == "c289bc5d7f2f02c6dc9f2f9b67641813"
    assert m.files[0].url.endswith("/glove-wiki-gigaword-50/glove-wiki-gigaword-50.gz")
    assert "list.json" in m.checksum_source


def test_manifests_lazy_public_api():
    assert toolkit.get_manifest is get_manifest and toolkit.list_manifests is list_manifests
    assert toolkit.get_manifest("imdb").to_dict()["files"][0]["size"] == 84_125_825


def test_manifests_unknown_name_lists_known():
    with pytest.raises(ManifestError, match=r"Unknown data manifest 'glove.6B.51d'. Did you mean 'glove.6B.50d'\? "
                                            r"Known manifests: .*glove.6B.50d"):
        get_manifest("glove.6B.51d")


@pytest.mark.parametrize(
    "field", ["name", "description", "license", "citation", "homepage", "format", "checksum_source", "files"]
)
def test_manifests_missing_field(tmp_path, field):
    lines = GOOD.splitlines()
    if field == "files":
        text = "\n".join(lines[: lines.index("[[files]]")])
    else:
        text = "\n".join(line for line in lines if not line.startswith(f"{field} ="))
    path = _write(tmp_path, text)
    with pytest.raises(ManifestError, match=rf"Invalid manifest .*toy.toml: field '{field}' is missing"):
        load_manifest(path)


@pytest.mark.parametrize("field", ["filename", "url", "size"])
def test_manifests_missing_file_field(tmp_path, field):
    text = "\n".join(line for line in GOOD.splitlines() if not line.startswith(f"{field} ="))
    with pytest.raises(ManifestError, match=rf"toy.toml: field 'files\[0\].{field}' is missing"):
        load_manifest(_write(tmp_path, text))


@pytest.mark.parametrize(
    "old, new, match",
    [
        ('format = "glove"', 'format = "pdf"', r"field 'format' must be one of .*got 'pdf'"),
        ("ab" * 32, "abc", r"field 'files\[0\].sha256' must be 64 hexadecimal digits, got 'abc'"),
        ("size = 10", "size = -1", r"field 'files\[0\].size' must be a non-negative integer"),
        ("size = 10", 'size = "10"', r"field 'files\[0\].size' must be a non-negative integer"),
        ('url = "https://', 'url = "ftp://', r"field 'files\[0\].url' must start with https://"),
        ('member = "toy.txt"', 'member = "../toy.txt"', r"field 'member' must be a relative path without '..'"),
        ('local_names = ["toy.txt.gz"]', 'local_names = "toy.txt.gz"', r"field 'local_names' must be an array"),
        ('license = "CC0"', "license = 3", r"field 'license' must be a string, got int"),
        ('license = "CC0"', 'license = "CC0"\nlicence = "typo"', r"field 'licence' is not a known field"),
        ('name = "toy"', 'name = "to y"', r"field 'name' must contain only letters"),
    ],
)
def test_manifests_invalid_field(tmp_path, old, new, match):
    assert old in GOOD
    with pytest.raises(ManifestError, match=match):
        load_manifest(_write(tmp_path, GOOD.replace(old, new)))


def test_manifests_invalid_toml_and_missing_file(tmp_path):
    with pytest.raises(ManifestError, match=r"toy.toml: not valid TOML") as info:
        load_manifest(_write(tmp_path, "name = \n"))
    assert isinstance(info.value.__cause__, tomllib.TOMLDecodeError)
    with pytest.raises(ManifestError, match=r"Manifest file .*nope.toml does not exist"):
        load_manifest(tmp_path / "nope.toml")


def test_manifests_extra_dir_from_env(tmp_path, monkeypatch):
    _write(tmp_path, GOOD)
    monkeypatch.setenv("TOOLKIT_MANIFEST_DIR", str(tmp_path))
    assert manifest_dirs()[0] == tmp_path
    assert "toy" in list_manifests()
    m = get_manifest("toy")
    assert m.files[0].known_hash == "sha256:" + "ab" * 32 and m.path == tmp_path / "toy.toml"
    assert get_manifest(tmp_path / "toy.toml") == m


def test_manifests_name_must_match_file_name(tmp_path, monkeypatch):
    _write(tmp_path, GOOD, name="other")
    monkeypatch.setenv("TOOLKIT_MANIFEST_DIR", str(tmp_path))
    with pytest.raises(ManifestError, match=r"other.toml: field 'name' must match the file name 'other', got 'toy'"):
        get_manifest("other")


def test_manifests_checksum_sources_are_recorded():
    for name in list_manifests():
        source = get_manifest(name).checksum_source
        assert re.search(r"list\.json|publishes no checksum", source), name
