"""``toolkit data``: manifests, offline folder and cache status, verified fetch."""

from __future__ import annotations

import logging
from pathlib import Path

import typer

from ._common import (
    _check_data,
    _errors_to_exit,
    _info,
    _json,
    _jsonl,
    _opt_cache_dir,
    _opt_column,
    _opt_data_dir,
    _opt_label_column,
    _progress,
    _read_texts,
    _state,
    app,
)

__all__ = ["data_status", "describe_data"]

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
    if name.endswith(".toml") and path.is_file():
        return  # a manifest file of the user's own, read as fetch(name) reads it (its errors name its fields)
    kind = "a folder" if path.is_dir() else "a file"
    raise DataError(
        f"'{name}' is {kind}, not a data manifest name: `toolkit data {command}` works on the downloadable "
        f"datasets and word vectors (`toolkit data list`). `toolkit data describe {name}` summarises your own "
        "labelled data (a CSV/TSV or JSON lines file, a class-per-folder directory), which goes straight to the "
        f"commands: `toolkit train --data {name}` "
        f"(with --column and --label-column), `toolkit evaluate MODEL {name}` (its second argument; evaluate has no "
        f"--data), `toolkit predict MODEL --input {name}`; in Python, toolkit.data.load_csv / load_jsonl / load_folder."
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
    name: str = typer.Argument(..., help="Manifest name, e.g. imdb or glove.6B.50d, or a manifest .toml file."),
    data_dir: Path = _opt_data_dir,
    cache_dir: Path = _opt_cache_dir,
) -> None:
    """Show a manifest (source, license, checksums) and where the data is."""
    _check_not_own_file(name, "info")
    typer.echo(_json(data_status(name, data_dir=data_dir, cache_dir=cache_dir, details=True)[0]), nl=False)


@data_app.command("fetch")
@_errors_to_exit
def data_fetch(
    name: str = typer.Argument(..., help="Manifest name, e.g. imdb or glove.6B.50d, or a manifest .toml file."),
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



def _words_summary(texts) -> dict:
    import numpy as np

    words = np.fromiter((len(t.split()) for t in texts), dtype=np.int64, count=len(texts))
    if not len(words):
        return {"min": 0, "median": 0, "p95": 0, "max": 0}
    return {"min": int(words.min()), "median": int(np.median(words)), "p95": int(np.percentile(words, 95)),
            "max": int(words.max())}


def describe_data(data, *, test_data=None, split="train", column="text", label_column="label", limit=None,
                  random_state=0, data_dir=None, cache_dir=None) -> dict:
    """Summarise labelled text data before a long training run: size, classes, lengths, empty and repeated texts.

    Reads the data as ``toolkit train --data`` does (the same readers, rules
    and errors), so what it reports is what training would see.

    Parameters
    ----------
    data : str or path-like
        ``"imdb"``, a CSV/TSV or JSON lines file, or a class-per-folder directory;
        with ``label_column=None`` also a file of lines or ``"-"`` (standard input).
    test_data : str or path-like, optional
        Test data for ``data`` (as ``train --test-data``): its classes and the
        test texts that also occur, word for word, in ``data`` (they inflate
        test scores).
    split : {"train", "test", "unsup"}, default="train"
        The IMDB split described (``data="imdb"``); with ``test_data="imdb"``
        that is the test split.
    column, label_column : str
        The text and label columns (``label_column=None``: unlabelled texts).
    limit : int, optional
        Describe at most this many documents of ``data`` (and of
        ``test_data``): the stratified random sample that ``toolkit train``
        and ``toolkit evaluate`` draw with ``--limit`` from a part they do not
        split (IMDB, ``--test-data``, evaluate's data). Record numbers stay
        those of the whole source.
    random_state : int, default=0
        Seed of the sample (the commands' default).
    data_dir, cache_dir : path-like, optional
        See :func:`toolkit.data.datasets.fetch`.

    Returns
    -------
    dict
        ``source``, ``documents``, ``classes`` (name -> documents; empty when
        unlabelled), ``words`` (whitespace-separated words per document:
        ``min``, ``median``, ``p95``, ``max``), ``empty`` (record numbers of
        texts with no words), ``duplicates`` (groups of record numbers with
        the same text), ``conflicts`` (the groups whose records carry different
        labels), ``warnings``, and ``test`` (the same for ``test_data``, plus
        ``in_training``: its records whose text is a training text) when given.
        With ``limit``, each part that was sampled also has ``sampled_from``
        (its documents before the sample).

    Raises
    ------
    toolkit.exceptions.DataError
        As the readers: a missing file or column, a missing label...
    """
    from collections import defaultdict

    from ._inputs import _subsample, check_limit, load_data

    check_limit(limit, owner="describe_data")

    def one(source, which):
        if label_column is None and _plain_texts(source):  # new.txt, stdin: texts to predict, say
            texts, labels, names = list(_read_texts(source, column=column)), [], []
            shown = "standard input" if str(source) == "-" else str(source)
        else:
            ds = load_data(source, split=which, column=column, label_column=label_column, data_dir=data_dir,
                           cache_dir=cache_dir)
            texts, labels = list(ds.texts), [int(y) for y in ds.labels]
            names, shown = list(ds.target_names), str(ds.source or source)
        records, total = list(range(len(texts))), len(texts)
        if limit is not None and limit < total:  # the sample train/evaluate --limit draw; the records stay the file's
            import numpy as np

            # stratified by class name, as train and evaluate draw it (_named_labels): the same documents
            named = (np.asarray(names)[labels] if names and labels and min(labels) >= 0
                     else np.zeros(total, dtype=int))
            texts, _, kept = _subsample(texts, named, limit, random_state, extra=records)
            records = [int(r) for r in kept]
            labels = [labels[r] for r in records] if labels else []
        labelled = bool(names) and all(y >= 0 for y in labels)
        label_of = dict(zip(records, labels))
        by_text = defaultdict(list)
        for record, text in zip(records, texts):
            by_text[text.strip()].append(record)
        groups = [ids for ids in by_text.values() if len(ids) > 1]
        counts = {name: 0 for name in names} if labelled else {}
        for y in labels if labelled else ():
            counts[names[y]] += 1
        summary = {
            "source": shown,
            "documents": len(texts),
            "classes": counts,
            "words": _words_summary(texts),
            "empty": [record for record, text in zip(records, texts) if not text.split()],
            "duplicates": groups,
            "conflicts": [ids for ids in groups if labelled and len({label_of[i] for i in ids}) > 1],
            "warnings": [],
        }
        if len(texts) < total:
            summary["sampled_from"] = total
        warn = summary["warnings"]
        if labelled and len([c for c in counts.values() if c]) < 2:
            warn.append("fewer than two classes have documents: a classifier cannot be trained on it")
        small = [name for name, c in counts.items() if 0 < c < 5]
        if small:
            warn.append(f"class(es) {', '.join(map(repr, small))} have fewer than 5 documents: a stratified split "
                        "or cross-validation may leave them out of a fold")
        if labelled and len(texts) and max(counts.values()) > 0.9 * len(texts):
            top = max(counts, key=counts.get)
            warn.append(f"class {top!r} holds {counts[top] / len(texts):.0%} of the documents: accuracy is "
                        "misleading; look at the per-class scores (balanced accuracy, F1)")
        if summary["empty"]:
            warn.append(f"{len(summary['empty'])} document(s) have no words (first: record {summary['empty'][0]}): "
                        "training refuses them")
        if summary["conflicts"]:
            first = summary["conflicts"][0]
            warn.append(f"{len(summary['conflicts'])} text(s) occur with different labels (first: records "
                        f"{', '.join(map(str, first[:5]))})")
        return summary, by_text

    summary, by_text = one(data, split)
    if test_data is not None:
        test, test_texts = one(test_data, "test" if str(test_data).lower() == "imdb" else split)
        if test["classes"]:  # TRUE in one file and True in the other: the same class, as train and evaluate map it
            from ._inputs import _booleans_as_in

            names = list(test["classes"])
            mapped = _booleans_as_in(names, list(summary["classes"]), test_data, data)
            if mapped is not names:
                counts: dict = {}
                for old, new in zip(names, mapped):
                    counts[str(new)] = counts.get(str(new), 0) + test["classes"][old]
                test["classes"] = counts
        test["in_training"] = sorted(i for text, ids in test_texts.items() if text in by_text for i in ids)
        if test["in_training"]:
            test["warnings"].append(
                f"{len(test['in_training'])} test document(s) are also training texts (first: test record "
                f"{test['in_training'][0]}): they inflate the test scores; drop them from one side")
        absent = [name for name, c in summary["classes"].items() if c and not test["classes"].get(name)]
        if absent and test["classes"]:
            test["warnings"].append(f"no test documents of class(es) {', '.join(map(repr, absent))}: the test "
                                    "scores do not measure them")
        unknown = [name for name, c in test["classes"].items() if c and name not in summary["classes"]]
        if unknown:
            test["warnings"].append(f"test class(es) {', '.join(map(repr, unknown))} never occur in the training "
                                    "data: a model cannot predict them")
        summary["test"] = test
    return summary


def _plain_texts(source) -> bool:
    """Whether ``source`` is read as unlabelled texts only: standard input or a file of lines (not a table,
    JSON lines, a folder or IMDB), as ``toolkit predict --input`` reads it."""
    from ._inputs import JSONL_SUFFIXES, TABLE_SUFFIXES, _data_suffix

    if str(source) == "-":
        return True
    path = Path(source).expanduser()
    return path.is_file() and _data_suffix(path) not in TABLE_SUFFIXES + JSONL_SUFFIXES + (".json",)


def _describe_lines(summary: dict, title: str) -> list[str]:
    sample = (f" (a stratified random sample of its {summary['sampled_from']:,}: --limit)"
              if "sampled_from" in summary else "")
    lines = [f"{title}: {summary['source']}, {summary['documents']:,} documents{sample}"
             + ("" if summary["classes"] else ", unlabelled")]
    total = summary["documents"] or 1
    if summary["classes"]:
        width = max(5, *(len(str(name)) for name in summary["classes"])) + 2
        lines.append(f"  {'class':<{width}}{'documents':>10}  share")
        for name, count in summary["classes"].items():
            lines.append(f"  {name!s:<{width}}{count:>10,}  {count / total:6.1%}")
    w = summary["words"]
    lines.append(f"  words per document: min {w['min']:,}, median {w['median']:,}, 95th percentile {w['p95']:,}, "
                 f"max {w['max']:,}")
    repeated = sum(len(ids) - 1 for ids in summary["duplicates"])
    lines.append(f"  empty documents: {len(summary['empty']):,}; repeated texts: {repeated:,} "
                 f"(in {len(summary['duplicates']):,} groups)")
    if "in_training" in summary:
        lines.append(f"  also in the training data: {len(summary['in_training']):,}")
    lines.extend(f"  warning: {message}" for message in summary["warnings"])
    return lines


@data_app.command("describe")
@_errors_to_exit
def data_describe(
    data: str = typer.Argument(..., help="Your labelled data (a CSV/TSV or JSON lines file, a class-per-folder "
                               "directory) or imdb; with --unlabelled also a file of lines or '-' (stdin)."),
    test_data: str = typer.Option(None, "--test-data", help="Its test data: classes, and texts also in DATA."),
    split: str = typer.Option("train", "--split", help="IMDB split (with DATA imdb)."),
    column: str = _opt_column,
    label_column: str = _opt_label_column,
    unlabelled: bool = typer.Option(False, "--unlabelled", help="Texts without labels (no --label-column): also "
                                    "a file of lines, one text per line, or '-' for stdin."),
    limit: int = typer.Option(None, "--limit", min=1, help="Describe at most N documents of each (the stratified "
                              "sample train and evaluate draw with --limit from data they do not split)."),
    as_json: bool = typer.Option(False, "--json", help="JSON instead of a table (record numbers included)."),
    data_dir: Path = _opt_data_dir,
    cache_dir: Path = _opt_cache_dir,
) -> None:
    """Summarise labelled data before training: documents, classes, words per document, empty and repeated texts.

    DATA is read as `toolkit train --data` reads it. Record numbers count from 0, as the readers' ids.
    """
    # a file of lines is unlabelled texts: refused as "Cannot read labelled data" though --unlabelled was given
    from ._inputs import _data_suffix

    for source in (data, test_data):
        if not unlabelled and source is not None and str(source) != "-" and _plain_texts(source) \
                and _data_suffix(Path(source).expanduser()) in (".txt", ".text", ""):
            from ..exceptions import DataError

            raise DataError(f"{source} is read as a file of lines, texts without labels: add --unlabelled to "
                            "describe its texts, or give labelled data (a CSV/TSV or JSON lines file with a label "
                            "column, a class-per-folder directory).")
    if not unlabelled and "-" in (str(data), str(test_data)):  # stdin has no file name to tell its format by
        from ..exceptions import DataError

        raise DataError("'-' (standard input) is read as texts without labels, one per line: add --unlabelled to "
                        "describe them; labelled data is read from a CSV/TSV or JSON lines file or a folder (save "
                        "the input to a file first, e.g. `... > reviews.csv`).")
    _check_data(data, labelled=not unlabelled)
    _check_data(test_data, labelled=not unlabelled)
    if str(data) == "-" and str(test_data) == "-":
        raise ValueError("DATA and --test-data are both '-': standard input can be read once; give one as a file.")
    if str(data).lower() != "imdb" and split != "train":  # as evaluate's: it was dropped without a word
        _info(f"Warning: --split {split} is ignored: only 'imdb' has splits; {data} is described whole.")
    from ._inputs import check_columns

    # "Pass --column <one of them>" for the test file would then miss in DATA: the options name both files' columns
    check_columns(data, column=column, label_column=None if unlabelled else label_column)
    check_columns(test_data, column=column, label_column=None if unlabelled else label_column, training=data)
    summary = describe_data(data, test_data=test_data, split=split, column=column,
                            label_column=None if unlabelled else label_column, limit=limit, data_dir=data_dir,
                            cache_dir=cache_dir)
    if as_json:
        typer.echo(_json(summary), nl=False)
        return
    lines = _describe_lines(summary, "data")
    if "test" in summary:
        lines += _describe_lines(summary["test"], "test data")
    typer.echo("\n".join(lines))
