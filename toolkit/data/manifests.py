"""Data manifests: one TOML file per downloadable resource.

A manifest says what a resource is (description, license, citation, format),
where it comes from (``files``: file name, URL, the checksum as published and
the size) and which file names an offline data folder may hold instead
(``local_names``). Manifests are validated on load; errors name the file and
the field.

Manifest files live in the repository's ``data_manifests/`` folder; set
``TOOLKIT_MANIFEST_DIR`` (``os.pathsep``-separated) to add folders of your own,
or pass a path to a ``.toml`` file wherever a manifest name is accepted.

Examples
--------
>>> from toolkit.data import get_manifest
>>> m = get_manifest("imdb")
>>> m.format, m.files[0].filename
('aclImdb', 'aclImdb_v1.tar.gz')
"""

from __future__ import annotations

import os
import re
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from .._fileid import stat_id
from ..exceptions import ManifestError

__all__ = [
    "MANIFEST_DIR_ENV",
    "FORMATS",
    "ManifestFile",
    "Manifest",
    "manifest_dirs",
    "list_manifests",
    "get_manifest",
    "load_manifest",
]

MANIFEST_DIR_ENV = "TOOLKIT_MANIFEST_DIR"

#: Formats a manifest may declare (what the readers know how to open).
FORMATS = frozenset(
    {
        "aclImdb",
        "glove",
        "word2vec",
        "word2vec-binary",
        "fasttext",
        "fasttext-bin",
        "gensim",
        "text",
        "csv",
        "jsonl",
    }
)

_BUILTIN_DIR = Path(__file__).resolve().parents[2] / "data_manifests"
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_HEX = {"sha256": 64, "md5": 32}
_REQUIRED = ("name", "description", "license", "citation", "homepage", "format", "checksum_source", "files")
_OPTIONAL = ("member", "local_names", "notes")
_FILE_REQUIRED = ("filename", "url", "size")
_FILE_OPTIONAL = ("sha256", "md5")


@dataclass(frozen=True)
class ManifestFile:
    """One downloadable file of a manifest.

    Attributes
    ----------
    filename : str
        Name of the file once downloaded (in the cache or a data folder).
    url : str
        Official download address.
    sha256, md5 : str or None
        Checksum as published (lowercase hex). Both may be None when no
        checksum is published; such a file is never downloaded unverified.
    size : int or None
        Size in bytes, or None when unknown.
    """

    filename: str
    url: str
    sha256: str | None = None
    md5: str | None = None
    size: int | None = None

    @property
    def known_hash(self) -> str | None:
        """The checksum in pooch's ``"alg:hex"`` form (sha256 preferred), or None."""
        if self.sha256:
            return f"sha256:{self.sha256}"
        if self.md5:
            return f"md5:{self.md5}"
        return None


@dataclass(frozen=True)
class Manifest:
    """A validated data manifest (see the module docstring).

    Attributes
    ----------
    name, description, license, citation, homepage : str
    format : str
        One of :data:`FORMATS`, e.g. ``"glove"`` or ``"aclImdb"``.
    checksum_source : str
        Where the checksums in ``files`` were taken from.
    files : tuple of ManifestFile
    member : str or None
        The file inside a downloaded zip archive that holds the data
        (e.g. ``"glove.6B.50d.txt"`` inside ``glove.6B.zip``).
    local_names : tuple of str
        File or folder names (relative paths) accepted in an offline data
        folder, in order of preference. The download file names are always
        accepted too, after these.
    notes : str
    path : pathlib.Path or None
        The TOML file this manifest was read from.
    """

    name: str
    description: str
    license: str
    citation: str
    homepage: str
    format: str
    checksum_source: str
    files: tuple[ManifestFile, ...]
    member: str | None = None
    local_names: tuple[str, ...] = ()
    notes: str = ""
    path: Path | None = field(default=None, compare=False)

    @property
    def candidate_names(self) -> tuple[str, ...]:
        """Names looked up in an offline data folder, in order (no duplicates)."""
        names = [*self.local_names, *(f.filename for f in self.files)]
        return tuple(dict.fromkeys(names))

    def member_for(self, path: str | os.PathLike) -> str | None:
        """The archive member to read from ``path``.

        Parameters
        ----------
        path : str or path-like
            The downloaded or local file.

        Returns
        -------
        str or None
            The manifest's ``member`` when ``path`` is a zip file, else None.
        """
        return self.member if str(path).lower().endswith(".zip") else None

    def to_dict(self) -> dict:
        """The manifest as JSON-ready data (what ``toolkit data info`` shows).

        Returns
        -------
        dict
        """
        return {
            "name": self.name,
            "description": self.description,
            "license": self.license,
            "citation": self.citation,
            "homepage": self.homepage,
            "format": self.format,
            "member": self.member,
            "checksum_source": self.checksum_source,
            "local_names": list(self.local_names),
            "notes": self.notes,
            "files": [
                {"filename": f.filename, "url": f.url, "sha256": f.sha256, "md5": f.md5, "size": f.size}
                for f in self.files
            ],
            "path": None if self.path is None else str(self.path),
        }


def _fail(path, field_name: str, problem: str) -> ManifestError:
    return ManifestError(f"Invalid manifest {path}: field {field_name!r} {problem}.")


def _check_str(path, key: str, value, *, allow_empty=False) -> str:
    if not isinstance(value, str):
        raise _fail(path, key, f"must be a string, got {type(value).__name__}")
    if not allow_empty and not value.strip():
        raise _fail(path, key, "must not be empty")
    return value


def _check_relative_name(path, key: str, value: str) -> str:
    pure = PurePosixPath(value)
    if pure.is_absolute() or ".." in pure.parts or "\\" in value or not value.strip():
        raise _fail(path, key, f"must be a relative path without '..', got {value!r}")
    return value


def _parse_file(path, index: int, entry) -> ManifestFile:
    where = f"files[{index}]"
    if not isinstance(entry, dict):
        raise _fail(path, where, f"must be a table, got {type(entry).__name__}")
    for key in _FILE_REQUIRED:
        if key not in entry:
            raise _fail(path, f"{where}.{key}", "is missing")
    unknown = sorted(set(entry) - set(_FILE_REQUIRED) - set(_FILE_OPTIONAL))
    if unknown:
        raise _fail(path, f"{where}.{unknown[0]}", f"is not a known field (known: {', '.join(_FILE_REQUIRED + _FILE_OPTIONAL)})")
    filename = _check_relative_name(path, f"{where}.filename", _check_str(path, f"{where}.filename", entry["filename"]))
    if "/" in filename:
        raise _fail(path, f"{where}.filename", f"must be a plain file name, got {filename!r}")
    url = _check_str(path, f"{where}.url", entry["url"])
    if not re.match(r"^(https?|file)://", url):
        raise _fail(path, f"{where}.url", f"must start with https://, http:// or file://, got {url!r}")
    size = entry["size"]
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        # TOML cannot hold null: a negative size is not allowed, 0 means unknown
        raise _fail(path, f"{where}.size", f"must be a non-negative integer (0 = unknown), got {size!r}")
    hashes = {}
    for alg, length in _HEX.items():
        if alg in entry:
            value = _check_str(path, f"{where}.{alg}", entry[alg]).lower()
            if not re.fullmatch(f"[0-9a-f]{{{length}}}", value):
                raise _fail(path, f"{where}.{alg}", f"must be {length} hexadecimal digits, got {entry[alg]!r}")
            hashes[alg] = value
    return ManifestFile(filename=filename, url=url, size=size or None, **hashes)


def _parse(path: Path, data: dict) -> Manifest:
    for key in _REQUIRED:
        if key not in data:
            raise _fail(path, key, "is missing")
    unknown = sorted(set(data) - set(_REQUIRED) - set(_OPTIONAL))
    if unknown:
        raise _fail(path, unknown[0], f"is not a known field (known: {', '.join(_REQUIRED + _OPTIONAL)})")
    values = {key: _check_str(path, key, data[key]) for key in _REQUIRED if key != "files"}
    if not _NAME_RE.match(values["name"]):
        raise _fail(path, "name", f"must contain only letters, digits, '.', '_' and '-', got {values['name']!r}")
    if values["format"] not in FORMATS:
        raise _fail(path, "format", f"must be one of {sorted(FORMATS)}, got {values['format']!r}")
    files = data["files"]
    if not isinstance(files, list) or not files:
        raise _fail(path, "files", "must be a non-empty array of tables ([[files]])")
    parsed = tuple(_parse_file(path, i, entry) for i, entry in enumerate(files))
    member = data.get("member")
    if member is not None:
        member = _check_relative_name(path, "member", _check_str(path, "member", member))
    local_names = data.get("local_names", [])
    if not isinstance(local_names, list):
        raise _fail(path, "local_names", f"must be an array of strings, got {type(local_names).__name__}")
    local = tuple(
        _check_relative_name(path, f"local_names[{i}]", _check_str(path, f"local_names[{i}]", n))
        for i, n in enumerate(local_names)
    )
    notes = _check_str(path, "notes", data.get("notes", ""), allow_empty=True)
    return Manifest(files=parsed, member=member, local_names=local, notes=notes, path=path, **values)


def load_manifest(path: str | os.PathLike) -> Manifest:
    """Read and validate one manifest file.

    Parameters
    ----------
    path : path-like
        A ``.toml`` file.

    Returns
    -------
    Manifest

    Raises
    ------
    ManifestError
        When the file is missing, is not valid TOML, or a field is missing or
        invalid; the message names the file and the field.
    """
    path = Path(path).expanduser()
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError as err:
        raise ManifestError(f"Manifest file {path} does not exist.") from err
    except tomllib.TOMLDecodeError as err:
        raise ManifestError(f"Invalid manifest {path}: not valid TOML ({err}).") from err
    except OSError as err:
        raise ManifestError(f"Cannot read manifest {path}: {err}.") from err
    return _parse(path, data)


def manifest_dirs() -> list[Path]:
    """Folders searched for manifests, first match wins.

    ``TOOLKIT_MANIFEST_DIR`` entries, then the repository's ``data_manifests/``
    (a source checkout or an editable install), then
    ``<sys.prefix>/share/toolkit/data_manifests`` (where a wheel can install
    them as data files).
    """
    extra = [Path(p).expanduser() for p in os.environ.get(MANIFEST_DIR_ENV, "").split(os.pathsep) if p]
    return [*extra, _BUILTIN_DIR, Path(sys.prefix) / "share" / "toolkit" / "data_manifests"]


#: Parsed manifests by path: (the file's stat id when parsed, the manifest). Size and mtime alone would
#: serve a manifest edited with them put back (``cp -p``, ``rsync -t``, a checkout) from the earlier text.
_CACHE: dict[str, tuple[list, Manifest]] = {}


def _load_cached(path: Path) -> Manifest:
    try:
        ident = stat_id(path)
    except OSError:
        return load_manifest(path)
    hit = _CACHE.get(str(path))
    if hit is not None and hit[0] == ident:
        return hit[1]
    manifest = load_manifest(path)
    try:
        if stat_id(path) == ident:  # not rewritten while it was read: the manifest is this stat id's
            _CACHE[str(path)] = (ident, manifest)
    except OSError:
        pass
    return manifest


def _all_paths() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for folder in manifest_dirs():
        if folder.is_dir():
            for p in sorted(folder.glob("*.toml")):
                found.setdefault(p.stem, p)  # earlier folders win
    return found


def list_manifests() -> list[str]:
    """Names of all known manifests.

    Returns
    -------
    list of str
        Sorted.

    Examples
    --------
    >>> from toolkit.data import list_manifests
    >>> "imdb" in list_manifests()
    True
    """
    return sorted(_all_paths())


def get_manifest(name: str | os.PathLike) -> Manifest:
    """Return the validated manifest called ``name`` (or read from a ``.toml`` path).

    Parameters
    ----------
    name : str or path-like
        A manifest name such as ``"imdb"`` or ``"glove.6B.50d"``, or the path
        of a ``.toml`` file.

    Returns
    -------
    Manifest

    Raises
    ------
    ManifestError
        When no manifest has that name (the message lists the known ones) or
        the manifest is invalid.

    Examples
    --------
    >>> from toolkit.data import get_manifest
    >>> get_manifest("glove.6B.50d").member
    'glove.6B.50d.txt'
    """
    if isinstance(name, os.PathLike) or str(name).endswith(".toml"):
        return _load_cached(Path(name).expanduser())
    if not isinstance(name, str):
        raise ManifestError(f"A manifest name must be a str, got {type(name).__name__}.")
    paths = _all_paths()
    if name not in paths:
        import difflib

        close = [p for p in paths if p.lower() == name.lower()] or difflib.get_close_matches(name, sorted(paths), n=1)
        raise ManifestError(
            f"Unknown data manifest {name!r}.{f' Did you mean {close[0]!r}?' if close else ''} Known manifests: {', '.join(sorted(paths)) or 'none'}. "
            f"Add a .toml file to one of {[str(d) for d in manifest_dirs()]} or set {MANIFEST_DIR_ENV}."
        )
    manifest = _load_cached(paths[name])
    if manifest.name != name:
        raise _fail(paths[name], "name", f"must match the file name {name!r}, got {manifest.name!r}")
    return manifest
