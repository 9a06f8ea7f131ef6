"""``toolkit data``: manifests, offline folder and cache status, verified fetch."""

from __future__ import annotations

import logging
from pathlib import Path

import typer

from ._common import (
    _errors_to_exit,
    _info,
    _json,
    _jsonl,
    _opt_cache_dir,
    _opt_data_dir,
    _progress,
    _state,
    app,
)

__all__ = ["data_status"]

logger = logging.getLogger(__name__)

data_app = typer.Typer(help="Datasets and word vectors: manifests, offline folder, cache, verified download.",
                       no_args_is_help=True)
app.add_typer(data_app, name="data")


def data_status(name=None, *, data_dir=None, cache_dir=None, details=False) -> list[dict]:
    """Where each known resource is: the offline data folder, the cache, or only remote.

    Parameters
    ----------
    name : str, optional
        One manifest name; default all of :func:`toolkit.data.manifests.list_manifests`.
    data_dir, cache_dir : path-like, optional
        See :func:`toolkit.data.datasets.fetch`.
    details : bool, default=False
        Include the whole manifest (:meth:`Manifest.to_dict`).

    Returns
    -------
    list of dict
        ``name``, ``format``, ``description``, ``status`` (``"offline"``,
        ``"cached"`` or ``"remote"``), ``path`` (the local copy or None) and
        ``size`` (bytes to download).

    Raises
    ------
    toolkit.exceptions.ManifestError
        For an unknown name (the message lists the known ones).
    toolkit.exceptions.DataError
        When the data folder (``data_dir`` or ``TOOLKIT_DATA_DIR``) is set
        but is not a folder.
    """
    from .._config import get_cache_dir, get_data_dir
    from ..data.datasets import _find_local
    from ..data.manifests import get_manifest, list_manifests

    folder = get_data_dir(data_dir)
    if folder is not None and not folder.is_dir():
        # else a typo would show every resource as "remote", as if the folder held none of them
        from .._config import DATA_DIR_ENV
        from ..exceptions import DataError

        raise DataError(
            f"The data folder {folder} (from {'--data-dir' if data_dir is not None else DATA_DIR_ENV}) "
            "does not exist or is not a folder; check the path."
        )
    cache = get_cache_dir(cache_dir) / "data"
    rows = []
    for manifest in [get_manifest(name)] if name is not None else map(get_manifest, list_manifests()):
        local = _find_local(manifest, folder) if folder is not None and folder.is_dir() else None
        cached = [cache / manifest.name / f.filename for f in manifest.files]
        if local is not None:
            status, path = "offline", local
        elif cached and all(p.exists() for p in cached):
            status, path = "cached", cached[0] if len(cached) == 1 else cached[0].parent
        else:
            status, path = "remote", None
        row = {
            "name": manifest.name,
            "format": manifest.format,
            "description": manifest.description,
            "status": status,
            "path": None if path is None else str(path),
            "size": sum(f.size or 0 for f in manifest.files) or None,
        }
        if details:
            full = manifest.to_dict()
            row = {**full, "manifest_file": full.pop("path"), **row}
        rows.append(row)
    return rows


def _check_not_own_file(name: str, command: str) -> None:
    """Refuse the path of the user's own data given as a manifest name (``toolkit data info reviews.csv``),
    saying which commands read such files; the manifest error would say to write a manifest for it."""
    from ..data.manifests import list_manifests
    from ..exceptions import DataError

    path = Path(name).expanduser()
    if name in list_manifests() or not path.exists():
        return
    kind = "a folder" if path.is_dir() else "a file"
    raise DataError(
        f"'{name}' is {kind}, not a data manifest name: `toolkit data {command}` works on the downloadable "
        "datasets and word vectors (`toolkit data list`). Your own labelled data (a CSV/TSV or JSON lines "
        f"file, a class-per-folder directory) goes straight to the commands: `toolkit train --data {name}` "
        "(with --column and --label-column), `toolkit evaluate MODEL --data ...`, `toolkit predict MODEL "
        "--input ...`; in Python, toolkit.data.load_csv / load_jsonl / load_folder."
    )


@data_app.command("list")
@_errors_to_exit
def data_list(
    data_dir: Path = _opt_data_dir,
    cache_dir: Path = _opt_cache_dir,
    as_json: bool = typer.Option(False, "--json", help="JSON lines instead of a table."),
) -> None:
    """List the known datasets and word vectors and where each is available."""
    
    rows = data_status(data_dir=data_dir, cache_dir=cache_dir)
    if as_json:
        typer.echo(_jsonl(rows), nl=False)
        return
    width = max([len(r["name"]) for r in rows] + [4])
    typer.echo(f"{'name':<{width}}  {'format':<15}  {'status':<8}  {'download':>9}  description")
    for r in rows:
        size = "?" if not r["size"] else f"{r['size'] / 2**20:,.0f} MB"
        about = r["description"] if len(r["description"]) <= 60 else r["description"][:57].rstrip() + "..."
        typer.echo(f"{r['name']:<{width}}  {r['format']:<15}  {r['status']:<8}  {size:>9}  {about}")
    # where "offline" and "cached" point (on stderr: the table stays data for a pipe)
    from .._config import DATA_DIR_ENV, get_cache_dir, get_data_dir

    folder = get_data_dir(data_dir)
    source = "--data-dir" if data_dir is not None else DATA_DIR_ENV
    _info(f"offline: in the data folder {folder} (from {source})" if folder is not None
          else f"offline: no data folder is set ({DATA_DIR_ENV} or --data-dir)")
    _info(f"cached: in {get_cache_dir(cache_dir) / 'data'}; remote: downloaded and verified on first use "
          "(download: the size of the published files)")


@data_app.command("info")
@_errors_to_exit
def data_info(
    name: str = typer.Argument(..., help="Manifest name, e.g. imdb or glove.6B.50d."),
    data_dir: Path = _opt_data_dir,
    cache_dir: Path = _opt_cache_dir,
) -> None:
    """Show a manifest (source, license, checksums) and where the data is."""
    _check_not_own_file(name, "info")
    typer.echo(_json(data_status(name, data_dir=data_dir, cache_dir=cache_dir, details=True)[0]), nl=False)


@data_app.command("fetch")
@_errors_to_exit
def data_fetch(
    name: str = typer.Argument(..., help="Manifest name, e.g. imdb or glove.6B.50d."),
    data_dir: Path = _opt_data_dir,
    cache_dir: Path = _opt_cache_dir,
) -> None:
    """Find NAME in the offline folder or cache, else download and verify it; print its path."""
    from ..data.datasets import fetch

    _check_not_own_file(name, "fetch")

    _state["on_interrupt"] = (
        f"The download of {name} was stopped and its partial file deleted; files already complete in the "
        "cache are kept. Run the command again to fetch it."
    )
    typer.echo(str(fetch(name, data_dir=data_dir, cache_dir=cache_dir, progress=_progress())))

