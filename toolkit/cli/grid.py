"""``toolkit grid``: a parameter grid over the text classifier, locally or on a Dask scheduler."""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path

import typer

from ..exceptions import DataError
from ._common import (
    OutputExistsError,
    _check_data,
    _check_output_file,
    _check_vectors,
    _check_writable_parent,
    _did_you_mean,
    _errors_to_exit,
    _info,
    _is_stdout,
    _json,
    _load_tensorflow_quietly,
    _local_worker_logs,
    _opt_cache_dir,
    _opt_column,
    _opt_data_dir,
    _opt_label_column,
    _opt_output,
    _opt_set,
    _progress,
    _same_setting,
    _settings,
    _state,
    app,
    data_folders,
)
from .text import _check_output_compression, _emit_data

__all__ = ["parse_grid", "run_grid"]

logger = logging.getLogger(__name__)


def _top_level_split(text: str) -> list[str]:
    """``"(1, 1),(1, 2)"`` -> ``["(1, 1)", "(1, 2)"]``: split on the commas outside brackets and quotes."""
    parts, depth, quote, start = [], 0, None, 0
    for i, ch in enumerate(text):
        if quote:
            quote = None if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return [p.strip() for p in parts]


#: the accepted forms of a --grid item, for the messages that refuse a malformed one
_GRID_SYNTAX = ("give name=v1,v2 or name=[v1, v2] (none for None), e.g. epochs=1,2, architecture=bag,cnn or "
                "ngram_range=[(1, 1), (1, 2)].")
_CLOSING = {"(": ")", "[": "]", "{": "}"}


def _check_grid_syntax(item: str) -> None:
    """Refuse a ``--grid`` item whose brackets or quotes do not pair up, naming the character.

    ``epochs=[1,2`` was read as the text ``'[1,2'`` and refused as a bad epochs value, which did not say
    that the bracket was not closed (``epochs=1,2]`` as ``1`` and ``'2]'``). A value that names an existing
    file is left alone (a vectors path may hold any character).
    """
    raw = item.partition("=")[2].strip()
    if Path(raw).expanduser().exists():
        return
    where = len(item.partition("=")[0]) + 1 + (len(item.partition("=")[2]) - len(item.partition("=")[2].lstrip()))
    opened, quote = [], None  # (bracket, its position in item); the quote that opened the text we are in
    for i, ch in enumerate(raw):
        if quote:
            quote = None if ch == quote[0] else quote
        elif ch in "'\"" and (i == 0 or raw[i - 1] in ",[({ "):  # a quote that opens a value (not don't.txt)
            quote = (ch, i)
        elif ch in _CLOSING:
            opened.append((ch, i))
        elif ch in ")]}":
            if not opened:
                raise ValueError(f"Invalid --grid {item!r}: the {ch!r} at character {where + i + 1} closes no "
                                 f"bracket; {_GRID_SYNTAX}")
            bracket, at = opened.pop()
            if _CLOSING[bracket] != ch:
                raise ValueError(f"Invalid --grid {item!r}: the {bracket!r} at character {where + at + 1} is closed "
                                 f"by {ch!r}; {_GRID_SYNTAX}")
    if quote:
        raise ValueError(f"Invalid --grid {item!r}: the quote {quote[0]} at character {where + quote[1] + 1} is not "
                         f"closed; {_GRID_SYNTAX}")
    if opened:
        bracket, at = opened[-1]
        raise ValueError(f"Invalid --grid {item!r}: the {bracket!r} at character {where + at + 1} is not closed "
                         f"(no {_CLOSING[bracket]!r}); {_GRID_SYNTAX}")


def _joined_spec_options(values: list[str]) -> list[str]:
    """``["none", "word2vec:unsup:dim=100", "epochs=5"]`` -> ``["none", "word2vec:unsup:dim=100,epochs=5"]``.

    A domain spec's options are separated by commas too: ``--grid vectors=none,word2vec:unsup:dim=100,epochs=5``
    made ``epochs=5`` a vectors candidate of its own, refused as "no such file". An option (name=integer) right
    after a spec with options belongs to it.
    """
    from ..vectors.domain import _OPTION, is_domain_spec

    joined = []
    for value in values:
        if joined and _OPTION.match(value) and is_domain_spec(joined[-1]) and "=" in joined[-1] \
                and not Path(value).expanduser().exists():
            joined[-1] = f"{joined[-1]},{value}"
        else:
            joined.append(value)
    return joined


def _grid_values(item: str) -> list:
    """The candidates of one ``--grid`` item: ``v1,v2`` or a bracketed list, each value read as by ``--set``."""
    from ._inputs import parse_setting

    _check_grid_syntax(item)
    value = parse_setting(item)[1]
    if isinstance(value, list):
        return value
    name, _, text = item.partition("=")
    text = text.strip()
    bracketed = text.startswith("[") and text.endswith("]") and not Path(text).expanduser().exists()
    if bracketed:
        # not a Python/JSON list: names unquoted (architecture=[bag,cnn]) or an empty item ([1,,2]); its items
        # as in v1,v2 (before, the whole text was one candidate, refused as a bad value)
        text = text[1:-1]
    raw = _top_level_split(text)
    if "" in raw and raw != [""]:
        position = ("first" if raw[0] == "" else "last" if raw[-1] == "" else
                    f"between {raw[raw.index('') - 1]!r} and {raw[raw.index('') + 1]!r}")
        raise ValueError(f"Invalid --grid {item!r}: an empty value ({position}: a comma too many); {_GRID_SYNTAX}")
    if raw == [""]:
        if bracketed:  # "[ ]", not read as a list: no values (parse_grid refuses it as such)
            return []
        raise ValueError(f"Invalid --grid {item!r}: an empty value; {_GRID_SYNTAX}")
    if name.strip() in ("vectors", "classifier__vectors"):
        raw = _joined_spec_options(raw)
    return [None if v.lower() == "none" else parse_setting(f"v={v}")[1] for v in raw]


def parse_grid(items, pipeline) -> dict:
    """``["architecture=['bag','cnn']", "epochs=3,5"]`` -> a GridSearchCV grid with the pipeline's step names.

    A value is a Python/JSON list, or comma-separated plain values (``none``
    is None); bare names go to the classifier when it has them, else to the
    tokenizer.

    Examples
    --------
    >>> from toolkit.models import make_text_classifier
    >>> parse_grid(["architecture=bag,cnn", "ngram_range=[(1, 1), (1, 2)]"], make_text_classifier())
    {'classifier__architecture': ['bag', 'cnn'], 'tokenizer__ngram_range': [(1, 1), (1, 2)]}
    >>> parse_grid(["vectors=none,glove.6B.50d"], make_text_classifier())
    {'classifier__vectors': [None, 'glove.6B.50d']}
    >>> parse_grid(["epochs=3,5", "ngram_range=(1, 1),(1, 2)"], make_text_classifier())
    {'classifier__epochs': [3, 5], 'tokenizer__ngram_range': [(1, 1), (1, 2)]}
    """
    from ._inputs import parse_setting

    params = pipeline.get_params()
    grid, given = {}, {}
    if isinstance(items, (str, dict)) or any(not isinstance(item, str) for item in items or ()):
        bad = items if isinstance(items, (str, dict)) else next(i for i in items if not isinstance(i, str))
        raise TypeError(f"The grid must be a list of --grid items such as ['epochs=3,5', 'architecture=bag,cnn'] "
                        f"(run_grid also takes a dict of the pipeline's parameter names, or a list of such dicts); "
                        f"got {type(bad).__name__} {bad!r:.80}.")
    for item in items or ():
        key = parse_setting(item)[0]
        # v1,v2: each value on its own ("epochs=3,5" is two candidates, not (3, 5)); or a list
        value = _grid_values(item)
        if not value:  # "epochs=[]": GridSearchCV refused it with a traceback, after the data were loaded
            raise ValueError(f"Invalid --grid {item!r}: no values; give at least one, name=v1,v2 (or name=[v1, v2]).")
        # as --set compares values: "epochs=true,1" are two values (True == 1 said "1 given more than once")
        repeated = sorted({repr(v) for i, v in enumerate(value) if any(_same_setting(v, w) for w in value[:i])})
        if repeated:  # "epochs=1,1": the same candidate fitted twice, and ranked twice
            raise ValueError(f"Invalid --grid {item!r}: {', '.join(repeated)} given more than once; each value is "
                             "a candidate: give each once.")
        name = next((f"{step}__{key}" for step in ("classifier", "tokenizer") if f"{step}__{key}" in params),
                    key if key in params and "__" in key else None)
        if name is None and key in params:  # the Pipeline's own (memory, steps, classifier...): a folder per
            # candidate, or a traceback in the first fit
            raise ValueError(f"Invalid grid parameter {key!r}: a parameter of the pipeline itself; --grid searches "
                             "the tokenizer's and the classifier's"
                             + (" (the cache folder is --memory)." if key == "memory" else "."))
        if name is None:
            names = [k.split("__", 1)[1] for k in params if k.startswith(("classifier__", "tokenizer__"))]
            both = sorted({n for n in names if names.count(n) > 1})
            raise ValueError(
                f"Invalid grid parameter {key!r}{_did_you_mean(key, set(names))}: neither the tokenizer nor the "
                f"classifier has it. Valid names: {sorted(set(names))}"
                + (f"; {', '.join(both)} name{'' if len(both) > 1 else 's'} the classifier's, "
                   f"tokenizer__{both[0]} the tokenizer's." if both else ".")
            )
        if name in grid:  # a second --grid of the same name would silently replace the first one's values
            raise ValueError(f"--grid {given[name]!r} and --grid {item!r} name the same parameter; give all its "
                             f"values in one: {key}=v1,v2.")
        grid[name], given[name] = value, item
    if not grid:
        raise ValueError("The grid is empty: give at least one --grid name=v1,v2.")
    return grid


def _terms(python: str, command: str) -> str:
    """Of two wordings of a message, the caller's: ``command`` (``--set``) in ``toolkit grid``, else ``python``
    (``settings=``) for a call of :func:`run_grid`.

    The command runs its checks and :func:`run_grid` under
    :func:`~toolkit.vectors._parse.spelled_as` with an
    :class:`~toolkit.cli.vectors.OptionSpelling`, a spelling without ``terms``
    (the command line's), as the vectors errors tell the two apart.
    """
    from ..vectors._parse import spelling

    how = spelling()
    return how.terms(python, command) if hasattr(how, "terms") else command


def _under_gridded_step(name: str, param_grid: dict) -> bool:
    """Whether ``param_grid`` also searches a step above ``name`` (``classifier`` above ``classifier__epochs``):
    the candidates' step is not the default one, so the default's names and constraints do not apply."""
    parts = name.split("__")
    return any("__".join(parts[:i]) in param_grid for i in range(1, len(parts)))


#: Dask's scheduler names (``compute(scheduler=...)``): not an address; a command has no current Client either
_DASK_SCHEDULER_NAMES = ("processes", "multiprocessing", "threads", "threading", "sync", "synchronous",
                         "single-threaded", "distributed", "dask.distributed")


def _check_search(grid, settings, *, cv, scoring, scheduler, workers, local) -> tuple[dict, dict | list]:
    """Check a search's arguments before any data is loaded; return its ``(settings, param grid)``.

    The checks of both :func:`run_grid` and ``toolkit grid`` (which runs them
    before it reads the data file and imports TensorFlow), worded in the
    caller's terms (:func:`_terms`). Each refused value failed, before,
    inside the search, after the data were loaded and the cluster started (a
    setting the grid also holds was silently replaced by the grid's values).
    ``grid`` is as :func:`run_grid` takes it: ``--grid`` items, or a dict of
    the pipeline's parameter names, or a list of such dicts.
    """
    from collections.abc import Iterable, Mapping
    from numbers import Integral

    from sklearn.model_selection import ParameterGrid

    from .._validation import Interval, validate_param
    from ..models.classifier import make_text_classifier

    if scheduler is not None and local:
        raise ValueError(_terms(f"run_grid got scheduler={scheduler!r} and local=True, which exclude each other: "
                                "give one (scheduler runs the fits on that cluster, local=True in this process).",
                                "--scheduler and --local exclude each other; give one."))
    if isinstance(scheduler, str) and scheduler.strip().lower() in _DASK_SCHEDULER_NAMES:
        # taken for an address after the data were read: "Invalid Dask scheduler address 'processes': missing port"
        raise ValueError(_terms(
            f"run_grid got scheduler={scheduler!r}, one of Dask's own scheduler names: scheduler is a running Dask "
            "scheduler's address (tcp://host:port). Leave it out for a local cluster of worker processes (workers=N "
            "sets how many), or pass local=True to fit in this process.",
            f"--scheduler takes a running Dask scheduler's address, e.g. tcp://10.0.0.5:8786; {scheduler!r} is one "
            "of Dask's own scheduler names. Leave --scheduler out for a local cluster of worker processes (--workers "
            "N sets how many), or give --local to fit in this process."))
    validate_param(workers, [Interval(int, 1, None), None], name="workers", owner="run_grid")  # 0: no worker, a hang
    if workers is not None and (scheduler is not None or local):  # else silently ignored
        other = _terms("scheduler=" if scheduler is not None else "local=True",
                       "--scheduler" if scheduler is not None else "--local")
        raise ValueError(_terms(f"run_grid got workers={workers!r}, which sizes the local Dask cluster; with {other} "
                                "it has no effect. Drop workers (a running cluster's workers are its own).",
                                f"--workers sizes the local Dask cluster; with {other} it has no effect. Drop "
                                "--workers (a running cluster's workers are its own)."))
    if isinstance(cv, bool) or not isinstance(cv, Integral) or cv < 2:  # a splitter: "'<' not supported", after the load
        splitter = hasattr(cv, "split") or (isinstance(cv, Iterable) and not isinstance(cv, str))
        raise ValueError(_terms(
            f"The 'cv' parameter of run_grid must be an int in the range [2, inf): the number of stratified folds. "
            f"Got {cv!r:.80} instead." + (" For another splitter, call toolkit.distributed.grid_search with the "
                                          "pipeline of toolkit.models.make_text_classifier." if splitter else ""),
            f"--cv must be at least 2; got {cv!r}."))
    check_scoring_name(scoring)
    _check_scoring_classes(scoring, ())  # a regression or multilabel scorer now; one of two classes on the data
    if settings is not None and not isinstance(settings, Mapping):  # ["epochs=1"]: dict() failed after the load
        raise TypeError(f"run_grid's settings must be a dict of parameter names and values, e.g. {{'epochs': 5}}; "
                        f"got {type(settings).__name__} {settings!r:.80}.")
    params = dict(settings or {})
    if "memory" in params:  # make_text_classifier(memory=..., **settings): "got multiple values", after the load
        raise ValueError(_terms("settings holds 'memory': the cache folder of the search is run_grid's memory= "
                                "parameter; pass it there.",
                                "--set memory=... is the cache folder of the search: pass --memory instead."))
    pipeline = make_text_classifier(**params)  # a name neither step has: refused, with the valid names
    if isinstance(grid, Mapping):
        param_grid = dict(grid)
    elif isinstance(grid, (list, tuple)) and grid and all(isinstance(g, Mapping) for g in grid):
        param_grid = [dict(g) for g in grid]  # GridSearchCV's list of grids (it crashed in parse_grid)
    else:
        param_grid = parse_grid(grid, pipeline)
    ParameterGrid(param_grid)  # a value that is not a list, or an empty one: scikit-learn's message, now
    names = pipeline.get_params()
    for one in param_grid if isinstance(param_grid, list) else [param_grid]:
        for key in one:  # GridSearchCV's set_params refused it in the first fit ("Invalid parameter 'epochs'")
            if key not in names and not _under_gridded_step(key, one):
                routed = next((f"{step}__{key}" for step in ("classifier", "tokenizer") if f"{step}__{key}" in names),
                              None)
                raise ValueError(
                    f"Invalid grid parameter {key!r}: a grid given as a dict takes the pipeline's parameter names, "
                    "as GridSearchCV does (step__name)"
                    + (f": {routed!r}." if routed else f"{_did_you_mean(key, set(names))}. Valid names: "
                       f"{sorted(k for k in names if k.startswith(('classifier__', 'tokenizer__')))}.")
                    + f" Or give the grid as items: ['{key.rsplit('__', 1)[-1]}=v1,v2']."
                )
        if "classifier__vectors" in one:  # "none" is no vectors, as in settings and --grid (else not found in the fit)
            one["classifier__vectors"] = [None if isinstance(v, str) and v.strip().lower() == "none" else v
                                          for v in one["classifier__vectors"]]
        searched = {k: v for k, v in one.items() if not _under_gridded_step(k, one)}
        _check_set_not_in_grid(params, searched, names)
        _check_grid_vectors(params, searched)
        _check_grid_values(params, searched)
        _check_vectors_for_architecture(searched, names)
    return params, param_grid


def _check_vectors_for_architecture(param_grid: dict, names: dict) -> None:
    """Refuse a grid whose candidates include ``architecture='nbsvm_vectors'`` without vectors.

    ``--grid architecture=nbsvm,nbsvm_vectors`` with no ``--set vectors=`` (the classifier's default is none,
    not the recipe's GloVe of ``toolkit train``) fitted every other candidate, then failed in that one's fit
    ("needs word vectors"), after the data, TensorFlow and seconds to minutes of fits. ``param_grid`` is one
    grid of the search (the pipeline's parameter names), ``names`` the pipeline's parameters (with the settings).
    """
    def values(name):
        found = param_grid.get(name, [names.get(name)])
        return [None if isinstance(v, str) and v.strip().lower() == "none" else v for v in found]

    if "nbsvm_vectors" not in values("classifier__architecture") or None not in values("classifier__vectors"):
        return
    gridded = "classifier__architecture" in param_grid
    where = _terms(f"architecture='nbsvm_vectors' (the {'grid' if gridded else 'settings'})",
                   f"--{'grid' if gridded else 'set'} architecture=nbsvm_vectors")
    if "classifier__vectors" in param_grid:
        lacking = _terms("the grid's vectors include None", "--grid vectors= includes none")
        fix = _terms("Drop None from the grid's vectors", "Drop none from --grid vectors=")
    else:
        vectors = "a vectors file, a manifest name such as glove.6B.50d or a domain spec such as word2vec:unsup"
        lacking = _terms("no vectors are set", "no vectors are set (the grid's classifier has none by default, "
                                               "unlike toolkit train's recipe)")
        fix = _terms(f"Set vectors ({vectors})", f"Give --set vectors=glove.6B.50d ({vectors})")
    raise ValueError(
        f"{where} needs word vectors, but {lacking}: that candidate would fail in its fit, after the "
        f"others. {fix}, or search architecture nbsvm, the same model without them."
    )


def run_grid(data="imdb", *, grid, settings=None, cv=3, limit=None, scheduler=None, workers=None, local=False,
             memory=None, random_state=0, column="text", label_column="label", data_dir=None, cache_dir=None,
             progress=False, scoring=None, refit_output=None, force=False) -> dict:
    """Run ``GridSearchCV(make_text_classifier(**settings), grid)`` on the training data.

    Scores come from ``cv`` folds of the training split only (IMDB's test
    split is never read). ``scheduler`` is a running Dask scheduler's
    address; without it a LocalCluster of ``workers`` processes runs the
    fits, or this process with ``local=True``. ``grid`` is the ``--grid``
    items (``["epochs=3,5"]``), or the grid :func:`parse_grid` made of them
    (a dict of the pipeline's parameter names), or a list of such dicts, as
    ``GridSearchCV`` takes.
    ``random_state`` seeds the subsample and, unless ``settings`` holds a
    ``random_state``, the classifier, so two runs score the candidates the same.
    ``scoring`` is a scikit-learn scorer name (default: accuracy); on
    imbalanced data ``"balanced_accuracy"``, ``"f1_macro"`` or ``"f1"`` rank
    candidates by what accuracy hides. For two classes ``"f1"``,
    ``"precision"``, ``"recall"`` and ``"average_precision"`` score the second
    class in sorted order as the positive one, as ``toolkit train``'s metrics
    do (scikit-learn's own scorers need the label 1, so string labels failed).

    ``refit_output`` is a run folder, as ``toolkit train``'s ``output``:
    the best candidate is fitted again on all the documents the search
    cross-validated (``refit=True`` of ``GridSearchCV``), in this process,
    and the folder gets ``model/`` (:func:`toolkit.models.persistence.save_model`,
    for ``toolkit evaluate`` and ``toolkit predict``) and ``grid.json`` (this
    function's result), all at once when both are written (nothing on
    failure). An earlier run folder of ``toolkit grid`` there (one with
    ``grid.json``) is replaced only with ``force``.

    The arguments are checked before the data are loaded, as ``toolkit grid``
    checks its options: a ``settings`` name (short, as
    :func:`~toolkit.models.make_text_classifier` takes it, or ``step__name``)
    that the grid also searches, a value the tokenizer or the classifier
    would refuse, a dict grid's name that is not the pipeline's, vectors
    that cannot be found, a ``cv`` that is not an int of at least 2, an
    unknown ``scoring``, and ``workers`` with ``scheduler`` or ``local``
    raise a ``ValueError`` (or ``TypeError``) naming the parameter.

    Returns
    -------
    dict
        ``candidates`` (params, mean/std test score, rank, mean fit seconds),
        ``best_params``, ``best_score``, ``scoring`` and ``backend``; with
        ``refit_output``, ``refit`` too: the ``params`` refitted (the best
        candidate's), the ``settings`` under them, ``n_documents``,
        ``fit_seconds`` and the ``model`` folder written.
    """
    import numpy as np

    from ..distributed.search import grid_search
    from ..models.classifier import make_text_classifier
    from ._inputs import _named_labels, _subsample, load_data

    # the settings, the grid, the scorer's name and where the fits run: refused now, not in the first fit
    params, param_grid = _check_search(grid, settings, cv=cv, scoring=scoring, scheduler=scheduler, workers=workers,
                                       local=local)
    earlier = False  # an earlier run in the refit folder, which force replaces
    if refit_output is not None:
        _check_refit_folder(refit_output, force=force)
        earlier = _is_filled_folder(refit_output)
    dataset = load_data(data, split="train", column=column, label_column=label_column, data_dir=data_dir,
                        cache_dir=cache_dir)
    texts, labels = list(dataset.texts), _named_labels(dataset, label_column)
    if limit is not None:
        texts, labels = _subsample(texts, labels, limit, random_state)
    classes, counts = np.unique(np.asarray(labels), return_counts=True)
    scorer = _scorer(scoring, classes)
    if len(classes) and counts.max() < cv:  # else scikit-learn's StratifiedKFold fails inside the search
        raise ValueError(
            f"--cv {cv} folds need more training documents: the largest class, {classes[counts.argmax()].item()!r}, "
            f"has {int(counts.max())} of the {len(texts)}. Lower --cv, or give more documents"
            + (" (a larger --limit)." if limit is not None else ".")
        )
    if len(classes) == 2 and counts.min() == 1:
        # the fold that tests the lone document trains on the other class alone: the search failed with
        # "EmbeddingClassifier needs samples of at least 2 classes ... only one class", of data that has two
        raise ValueError(
            f"--cv {cv} folds need at least 2 documents of each class: {classes[counts.argmin()].item()!r} "
            f"has 1 of the {len(texts)}, and the fold that tests it would train on the other class alone. Give more "
            "documents" + (" (a larger --limit)." if limit is not None else ".")
        )
    # absolute here: a relative folder would be resolved by each worker against its own working directory
    memory = None if memory is None else str(Path(memory).expanduser().resolve())
    settings = params
    if "random_state" not in settings and "classifier__random_state" not in settings:
        settings["random_state"] = random_state  # the classifier's too, as in toolkit train: same scores
    pipeline = make_text_classifier(memory=memory, **settings)
    # the candidates load their vectors and caches through TOOLKIT_DATA_DIR / TOOLKIT_CACHE_DIR, on the
    # local cluster's workers too (started inside the block); a --scheduler's workers keep their own
    with data_folders(data_dir, cache_dir), _quiet_local_workers(scheduler is None and not local):
        search = grid_search(pipeline, param_grid, texts, np.asarray(labels), cv=cv, scheduler=scheduler,
                             n_workers=workers, local=local, refit=False, progress=progress, scoring=scorer)
    results = search.cv_results_
    # the step's prefix dropped, as --grid names them, but for a name that both steps have in the grid
    # (batch_size and tokenizer__batch_size): one would silently replace the other in each candidate's params
    shorts = [name.split("__", 1)[-1] for name in {k for params in results["params"] for k in params}]
    names = pipeline.get_params()

    def shown(name):  # nor where the short name, typed back into --set or --grid, is the other step's: the
        # tokenizer's batch_size shown as "batch_size" set the classifier's in toolkit train --set batch_size=...
        short = name.split("__", 1)[-1]
        routed = next((f"{step}__{short}" for step in ("classifier", "tokenizer") if f"{step}__{short}" in names), None)
        return short if shorts.count(short) == 1 and routed == name else name

    candidates = [
        {"params": {shown(k): v for k, v in params.items()},
         "mean_test_score": float(results["mean_test_score"][i]), "std_test_score": float(results["std_test_score"][i]),
         "rank": int(results["rank_test_score"][i]), "mean_fit_seconds": float(results["mean_fit_time"][i])}
        for i, params in enumerate(results["params"])
    ]
    best = int(np.argmin(results["rank_test_score"]))  # GridSearchCV's best_index_ (the first of a tie)
    result = {
        "candidates": candidates,
        "best_params": candidates[best]["params"],
        "best_score": candidates[best]["mean_test_score"],
        "scoring": scoring or "accuracy",
        "cv": cv,
        "n_documents": len(texts),
        "backend": "local (n_jobs=1)" if local else (scheduler or f"LocalCluster({workers or 'all cores'} workers)"),
    }
    if refit_output is not None:  # after the cluster has closed: its workers' memory is free for this fit
        with data_folders(data_dir, cache_dir):
            result["refit"] = _refit_best(pipeline, results["params"][best], texts, np.asarray(labels), result,
                                          Path(refit_output).expanduser(), earlier=earlier, progress=progress,
                                          keep=settings)
    return result


def _refit_best(pipeline, params, texts, labels, result, output: Path, *, earlier, progress, keep) -> dict:
    """Fit ``pipeline`` with the best candidate's ``params`` on all ``texts``; write the run folder ``output``.

    The fit is ``GridSearchCV``'s refit (a clone, ``set_params``, ``fit`` on
    the data of the search); the folder is written as ``toolkit train``
    writes its own (the model saved beside it first, then the folder moved in
    place whole). Returns the ``refit`` entry of :func:`run_grid`'s result.
    """
    import shutil
    import time

    from sklearn.base import clone

    from .._atomic import atomic_output
    from .train import (
        _free_run_folder,
        _jsonable_settings,
        _progress_bars,
        _stage_model,
    )

    estimator = clone(pipeline).set_params(**params)
    logger.info("Refitting the best candidate %s on %d documents", params, len(texts))
    with _progress_bars(estimator, progress, keep=keep):  # the saved model keeps the user's settings
        start = time.perf_counter()
        estimator.fit(texts, labels)
        seconds = time.perf_counter() - start
    staged = _stage_model(estimator, output)  # saved right after the fit, as toolkit train does
    try:
        output = _free_run_folder(output, earlier, command="toolkit grid", option="--refit-output")
        refit = {"params": result["best_params"], "settings": _jsonable_settings(keep or {}),
                 "n_documents": len(texts), "fit_seconds": round(seconds, 3), "model": str(output / "model")}
        with atomic_output(output, directory=True) as tmp:  # the whole run folder or nothing
            shutil.move(str(staged), str(tmp / "model"))
            (tmp / "grid.json").write_text(_json({**result, "refit": refit}), encoding="utf-8")
        return refit
    finally:  # moved into the run folder, or left by an error: its temporary parent goes
        shutil.rmtree(staged.parent, ignore_errors=True)


def _is_filled_folder(path) -> bool:
    path = Path(path).expanduser()
    return path.is_dir() and any(path.iterdir())


def _check_refit_folder(output, *, force: bool) -> None:
    """Pre-flight check of ``--refit-output``, as ``toolkit train``'s of its run folder: creatable, and replaced
    only when it is an earlier run of ``toolkit grid`` (a ``grid.json``) and ``force``.

    Not a run folder of ``toolkit train``: ``--force`` also replaces the ``--output`` file, and a train run
    named by mistake would be lost with its metrics.
    """
    output = Path(output).expanduser()
    if _is_stdout(output):
        raise DataError("--refit-output - (standard output) cannot hold a run folder; give a folder name.")
    if output.is_file() or (_is_filled_folder(output) and not (output / "grid.json").is_file()):
        raise OutputExistsError(f"--refit-output {output} exists and is not a run folder of toolkit grid (no "
                                "grid.json); choose another folder or remove it first.")
    if _is_filled_folder(output) and not force:
        raise OutputExistsError(f"Run folder {output} exists (an earlier toolkit grid run); pass --force to replace "
                                "it, or choose another --refit-output.")
    _check_writable_parent(output, "--refit-output")


@contextlib.contextmanager
def _quiet_local_workers(enabled: bool):
    """Local Dask workers started inside the block import TensorFlow muted (:mod:`toolkit.cli._dask_worker`).

    Every candidate is a Keras model, so each worker imports TensorFlow
    anyway. Not with --verbose or --debug, which show TensorFlow's notices, and
    not for a running cluster's workers (``--scheduler``), whose output is
    theirs.
    """
    if not enabled or _state["verbose"] or _state["debug"]:
        yield
        return
    import dask

    preload = list(dask.config.get("distributed.worker.preload", default=None) or [])
    with dask.config.set({"distributed.worker.preload": [*preload, "toolkit.cli._dask_worker"]}):
        yield


#: more fits than this in ``toolkit grid`` get a hint on how to shorten the search
_LARGE_SEARCH_FITS = 100

#: scorers of a positive class; for two classes they score the second of the sorted classes
_POSITIVE_CLASS_SCORERS = ("f1", "precision", "recall", "average_precision")


def check_scoring_name(scoring) -> None:
    """Refuse a ``--scoring`` that is not a scikit-learn scorer name, before any data is loaded."""
    from sklearn.metrics import get_scorer_names

    if scoring is None or scoring in get_scorer_names():
        return
    names = sorted(get_scorer_names())
    raise ValueError(
        f"{_terms('scoring=', '--scoring ')}{scoring!r} is not a scikit-learn scorer name"
        f"{_did_you_mean(scoring, names, n=3)}"
        + ". Common ones: accuracy, balanced_accuracy, f1, f1_macro, roc_auc, neg_log_loss; all: "
        f"{', '.join(names)}."
    )


#: scorers of two classes only, and the multiclass forms to give instead
_BINARY_ONLY_SCORERS = {
    **{name: f"{name}_macro, {name}_weighted or {name}_micro" for name in ("f1", "precision", "recall", "jaccard")},
    "roc_auc": "roc_auc_ovr, roc_auc_ovo, roc_auc_ovr_weighted or roc_auc_ovo_weighted",
    "positive_likelihood_ratio": "balanced_accuracy or f1_macro",
    "neg_negative_likelihood_ratio": "balanced_accuracy or f1_macro",
}


def _check_scoring_classes(scoring, classes) -> None:
    """Refuse a ``--scoring`` that cannot score these labels, before any fit.

    A scorer of two classes on three or more (``f1``, ``roc_auc``), a multilabel one (``f1_samples``) or a
    regression one (``r2``) failed in the first candidate's scoring, after its fit, with scikit-learn's
    traceback called a bug in toolkit.
    """
    from sklearn.metrics import get_scorer

    if not isinstance(scoring, str):
        return
    func = getattr(get_scorer(scoring), "_score_func", None)
    given = f"{_terms('scoring=', '--scoring ')}{scoring!r}"  # --scoring 'r2', or scoring='r2' from run_grid
    if getattr(func, "__module__", "").endswith("._regression"):
        raise ValueError(f"{given} scores a regression, and the grid ranks classifiers: give a "
                         "classification scorer, e.g. accuracy, balanced_accuracy, f1_macro, roc_auc or neg_log_loss.")
    if scoring.endswith("_samples"):
        raise ValueError(f"{given} scores multilabel data (several labels per document), and each "
                         f"document here has one label: give {scoring[:-len('_samples')]}_macro or "
                         f"{scoring[:-len('_samples')]}_weighted.")
    if scoring in _BINARY_ONLY_SCORERS and len(classes) > 2:
        shown = ", ".join(repr(c.item() if hasattr(c, "item") else c) for c in classes[:5])
        raise ValueError(f"{given} scores two classes, and the labels have {len(classes)} ({shown}"
                         f"{', ...' if len(classes) > 5 else ''}): give {_BINARY_ONLY_SCORERS[scoring]}.")


def _scorer(scoring, classes):
    """The ``scoring`` of ``GridSearchCV`` for ``--scoring``: its name, or for two classes and a scorer of a
    positive class, that scorer with the second of the sorted ``classes`` as the positive one (its name was
    checked by :func:`_check_search`)."""
    _check_scoring_classes(scoring, classes)
    if scoring not in _POSITIVE_CLASS_SCORERS or len(classes) != 2:
        return scoring
    from sklearn import metrics as skm

    positive = classes[1].item() if hasattr(classes[1], "item") else classes[1]
    if scoring == "average_precision":
        return skm.make_scorer(skm.average_precision_score, response_method=("decision_function", "predict_proba"),
                               pos_label=positive)
    return skm.make_scorer(getattr(skm, f"{scoring}_score"), pos_label=positive, zero_division=0)


def _check_grid_vectors(params: dict, param_grid: dict) -> None:
    """Check the vectors of ``--set vectors=...`` and of ``--grid vectors=...`` (run_grid's ``settings`` and
    ``grid``) before any data is loaded.

    ``param_grid`` is one grid of the search (a dict of the pipeline's parameter names).

    ``--set vectors=none`` means no vectors (``params`` is updated), as
    ``--grid vectors=none`` and ``toolkit train --vectors none`` do; a name
    that is neither a file, a manifest nor a domain spec fails now, instead of
    in every candidate's fit after the data is loaded.
    """
    if isinstance(params.get("vectors"), str) and params["vectors"].strip().lower() == "none":
        params["vectors"] = None
    _check_vectors(params.get("vectors"), option=_terms("settings vectors=", "--set vectors="))
    for value in param_grid.get("classifier__vectors", ()):
        if value is None or isinstance(value, (str, Path)):
            _check_vectors(value, option=_terms("grid classifier__vectors=", "--grid vectors="))


def _check_set_not_in_grid(params: dict, param_grid: dict, names) -> None:
    """Refuse a ``--set`` of a parameter that ``--grid`` also searches: the grid's values replaced it in every
    candidate without a word (``--set epochs=5 --grid epochs=1,2`` fitted 1 and 2 epochs).

    ``names`` are the pipeline's parameter names; a bare ``--set`` name is routed as
    :func:`~toolkit.models.make_text_classifier` routes it (the classifier's first).
    """
    for key, value in params.items():
        name = key if key.startswith(("tokenizer__", "classifier__")) else next(
            (f"{step}__{key}" for step in ("classifier", "tokenizer") if f"{step}__{key}" in names), key)
        if name in param_grid:
            short = name.split("__", 1)[1]
            raise ValueError(_terms(
                f"settings {{{key!r}: {value!r}}} and the grid's {name!r} name the same parameter: every candidate "
                f"would take the grid's values. Drop {key!r} from settings, or add its value to the grid's.",
                f"--set {key}={value!r} and --grid {short}=... name the same parameter: every candidate would take "
                f"the grid's values. Drop --set {key}, or add its value to the grid ({short}=v1,v2)."))


def _check_grid_values(params: dict, param_grid: dict) -> None:
    """Refuse a ``--set`` or ``--grid`` value that the tokenizer or the classifier would refuse in ``fit``.

    The same check and message as the estimator's own (its ``_parameter_constraints``), but before the data
    is loaded, TensorFlow imported and the cluster started: ``--grid padding=middle,pre`` failed in the first
    candidate's fit, 20 seconds on (``--local``) or more.
    """
    from .._validation import validate_param
    from ..models.classifier import make_text_classifier

    pipeline = make_text_classifier(**params)
    # each step's own values: a name both steps have (batch_size) is the classifier's, as make_text_classifier sets it
    items = [(_terms("settings value", "--set"), step_name, name, [value]) for step_name, step in pipeline.steps
             for name, value in step.get_params(deep=False).items()]
    items += [(_terms(f"grid value of {name!r}", f"--grid {name.partition('__')[2]}"), *name.split("__", 1), values)
              for name, values in param_grid.items() if "__" in name]
    for option, step_name, name, values in items:
        step = pipeline.named_steps.get(step_name)
        allowed = getattr(step, "_parameter_constraints", {}).get(name)
        for value in values if allowed is not None else ():
            try:
                validate_param(value, allowed, name=name, owner=type(step).__name__)
            except ValueError as err:
                hint = ""
                if option.startswith("--grid") and (isinstance(value, (set, frozenset)) or (
                        isinstance(value, str) and any(sep in value.strip() for sep in " ;|"))):
                    # "epochs=1 2" or "epochs={1,2}" is one candidate: the message named its value, not the syntax
                    hint = f" The values of --grid are separated by commas: {name}=v1,v2 or {name}=[v1, v2]."
                raise ValueError(f"Invalid {option}: {err}{hint}") from None


_opt_refit_output = typer.Option(
    None, "--refit-output", metavar="FOLDER",
    help="Also fit the best candidate on all the training documents and save a run folder here, as "
         "'toolkit train --output' does: FOLDER/model (for toolkit evaluate / predict) and FOLDER/grid.json "
         "(the scores and the parameters refitted).")
_opt_force = typer.Option(False, "--force", "-f", help="Replace an existing --output file, and an earlier "
                          "--refit-output run folder (one with grid.json).")


@app.command("grid")
@_errors_to_exit
def grid_cmd(
    grid: list[str] = typer.Option(..., "--grid", "-g",
                                   help="name=v1,v2 or name=[...] (repeat); tokenizer or classifier parameters."),
    data: str = typer.Option("imdb", "--data", help="'imdb' (its training split), a class-per-folder directory, or a CSV/TSV/JSONL file."),
    settings: list[str] = _opt_set,
    cv: int = typer.Option(3, "--cv", min=2, help="Cross-validation folds of the training data."),
    limit: int = typer.Option(None, "--limit", min=1, help="Use at most N training documents (stratified sample)."),
    scheduler: str = typer.Option(None, "--scheduler", help="Address of a running Dask scheduler, e.g. tcp://10.0.0.5:8786."),
    workers: int = typer.Option(None, "--workers", min=1, help="Worker processes of the local Dask cluster (default: cores)."),
    local: bool = typer.Option(False, "--local", help="No Dask: fit one candidate after the other in this process."),
    memory: Path = typer.Option(None, "--memory", help="Folder caching tokenized folds between candidates (shared by the workers)."),
    random_state: int = typer.Option(0, "--random-state", help="Seed of the subsample and of the classifier (--set random_state=N overrides the latter)."),
    scoring: str = typer.Option(None, "--scoring", help="scikit-learn scorer that ranks the candidates (default accuracy; on imbalanced data e.g. balanced_accuracy or f1_macro; for two classes f1/precision/recall score the second class in sorted order)."),
    output: Path = _opt_output,
    refit_output: Path = _opt_refit_output,
    force: bool = _opt_force,
    column: str = _opt_column,
    label_column: str = _opt_label_column,
    data_dir: Path = _opt_data_dir,
    cache_dir: Path = _opt_cache_dir,
) -> None:
    """Cross-validate a parameter grid of the text classifier; the scores as JSON on stdout.

    The fits run on a Dask cluster through joblib's dask backend: a local one
    by default, or the scheduler given by --scheduler (its workers need the
    toolkit installed and the data and vectors on a shared path).

    --refit-output FOLDER also fits the best candidate on all the training
    documents, here, and saves it as toolkit train saves its model
    (FOLDER/model, for toolkit evaluate and predict), with FOLDER/grid.json.
    """
    _check_data(data, labelled=True)  # a .txt file or stdin: named now, not after the search started
    _check_output_file(output, force=force)  # now, not after the search
    _check_output_compression(output)  # grid.json.zst: refused now, not written as plain text under that name
    if refit_output is not None:
        if output is not None and not _is_stdout(output) and \
                Path(output).expanduser().resolve() == Path(refit_output).expanduser().resolve():
            raise ValueError(f"--output {output} and --refit-output {refit_output} name the same path: --output is "
                             "the scores' JSON file, --refit-output the folder of the refitted model; give two.")
        if memory is not None:
            cache, run = Path(memory).expanduser().resolve(), Path(refit_output).expanduser().resolve()
            if cache == run or run in cache.parents or cache in run.parents:
                # the cache filled the folder during the search: the run went to <folder>-2, said as written by
                # another process (or the run folder replaced the cache)
                raise ValueError(f"--memory {memory} and --refit-output {refit_output} overlap: --memory is the "
                                 "cache of the search, --refit-output the run folder written after it; give two "
                                 "separate folders.")
        _check_refit_folder(refit_output, force=force)
        _state["on_interrupt"] = (f"Nothing was written to {refit_output}: the run folder is written only when the "
                                  "search and the refit complete.")
    from ..vectors._parse import spelled_as
    from .vectors import OptionSpelling

    # run_grid's checks, now, in the options' terms: before the data file is read and TensorFlow imported (run_grid
    # checks the grid it is given again: no file is read, it takes milliseconds); the grid parsed once
    with spelled_as(OptionSpelling(options=())):
        params, param_grid = _check_search(grid, _settings(settings), cv=cv, scoring=scoring, scheduler=scheduler,
                                           workers=workers, local=local)
    from sklearn.model_selection import ParameterGrid

    # a large search said before it starts (each candidate is a Keras model fitted --cv times), not found out
    # from the progress bar, or not at all with --local
    n_candidates = len(ParameterGrid(param_grid))
    if n_candidates * cv > _LARGE_SEARCH_FITS:
        _info(f"A large search: {n_candidates} candidates x {cv} folds = {n_candidates * cv} fits. Fewer values, "
              "a --limit or more workers (--workers, --scheduler) shorten it.")
    from ._inputs import check_columns, check_training_classes

    # a missing --column / --label-column, or labels of one class, named after the cheap checks (the file is read,
    # once) and before TensorFlow and the cluster start
    check_columns(data, column=column, label_column=label_column)
    check_training_classes(data, column=column, label_column=label_column)
    _load_tensorflow_quietly()
    # a vectors file the candidates cannot read: the advice in the shell's terms (a copy written by vectors
    # convert), also for an error raised in a worker (worded again on its way out of spelled_as)
    spelling = OptionSpelling(options=(), vectors_option="--grid vectors=" if "classifier__vectors" in param_grid
                              else "--set vectors=")
    with _local_worker_logs(), spelled_as(spelling):  # a failed fit is this command's error, not also the workers' log
        result = run_grid(data, grid=param_grid, settings=params, cv=cv, limit=limit, scheduler=scheduler,
                          workers=workers, local=local, memory=memory, random_state=random_state, column=column,
                          label_column=label_column, data_dir=data_dir, cache_dir=cache_dir, progress=_progress(),
                          scoring=scoring, refit_output=refit_output, force=force)
    _info(f"Best mean {result['scoring']} {result['best_score']:.4f} with {result['best_params']} ({result['backend']})")
    if "refit" in result:
        refit = result["refit"]
        _info(f"Refitted {refit['params']} on all {refit['n_documents']} training documents in "
              f"{refit['fit_seconds']:.1f} s; saved:")
        model = Path(refit["model"])
        for name, path in (("model", model), ("grid.json", model.parent / "grid.json")):
            _info(f"  {name:<21} {path}")
    _emit_data(_json(result), output)  # grid.json.gz: gzip-compressed, as the name says
