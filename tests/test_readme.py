"""README.md must not lie: its code and the names, options and defaults it gives are checked against the code.

Cheap checks only (no fit, no data; TensorFlow is imported once, by the README's ``fit_from_store``,
whose module imports Keras): the Python blocks compile, every name they import
exists, every call of a toolkit callable passes keywords its signature accepts (and, where the values
are literals, values its parameter constraints accept), every ``toolkit ...`` command line of the
shell blocks and of the prose parses with the CLI's own click parser (command names, option names,
choices, ``--set`` / ``--grid`` keys and values), the test command is the one ``.ci/run`` runs, and the prose's
recipes, defaults, file names, exit codes and environment variables are the code's.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import re
import shlex
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
SHELL_LANGS = {"", "bash", "sh", "shell", "console"}


# --- reading the README -------------------------------------------------------------------------------------------


def fenced_blocks(text: str) -> list[tuple[str, int, str]]:
    """``(language, first line number, code)`` of every fenced block."""
    blocks, lines, i = [], text.splitlines(), 0
    while i < len(lines):
        match = re.match(r"^```(\w*)\s*$", lines[i])
        if match:
            start, i = i + 1, i + 1
            while i < len(lines) and not lines[i].startswith("```"):
                i += 1
            blocks.append((match.group(1), start + 1, "\n".join(lines[start:i])))
        i += 1
    return blocks


def prose(text: str) -> str:
    """The README without its fenced blocks."""
    return re.sub(r"^```.*?^```[^\n]*$", "", text, flags=re.DOTALL | re.MULTILINE)


def code_spans(text: str) -> list[str]:
    """Inline code spans of the prose, whitespace (line breaks) collapsed."""
    return [" ".join(s.split()) for s in re.findall(r"`([^`]+)`", prose(text))]


def section(text: str, heading: str) -> str:
    """The text under ``heading`` up to the next heading of any level."""
    match = re.search(rf"^#+ {re.escape(heading)}\s*$(.*?)(?=^#+ |\Z)", text, flags=re.MULTILINE | re.DOTALL)
    assert match, f"README.md has no section {heading!r}"
    return match.group(1)


def python_blocks(text: str) -> list[tuple[int, str]]:
    return [(line, code) for lang, line, code in fenced_blocks(text) if lang == "python"]


def command_lines(text: str) -> list[tuple[str, str]]:
    """``(where, command)`` of every ``toolkit ...`` / ``python cli.py ...`` line of the shell blocks and of
    the prose's code spans; ``python cli.py`` is written as ``toolkit``. Lines with placeholders
    (``...``, ``|``, ``<...>``) are left out."""
    found = []
    for lang, line, code in fenced_blocks(text):
        if lang not in SHELL_LANGS:
            continue
        for offset, row in enumerate(code.splitlines()):
            for part in re.split(r"\s*&&\s*", row):
                part = re.sub(r"^(\w+=\S+\s+)+", "", part.strip())  # leading VAR=value assignments
                if re.match(r"(toolkit|python cli\.py)\s", part):
                    found.append((f"README.md:{line + offset}", part))
    for span in code_spans(text):
        if re.match(r"(toolkit|python cli\.py)\s+\S", span):
            found.append((f"`{span}`", span))
    commands = []
    for where, cmd in found:
        cmd = re.sub(r"^python cli\.py", "toolkit", cmd)
        if "..." in cmd or "|" in cmd.split("#")[0] or "<" in cmd:
            continue
        commands.append((where, cmd))
    return commands


TEXT = README.read_text(encoding="utf-8")
PYTHON_BLOCKS = python_blocks(TEXT)
COMMANDS = command_lines(TEXT)


# --- the README's Python: names and calls ------------------------------------------------------------------------


def _namespace() -> dict:
    """Every name the README's Python blocks import, in README order, plus ``recipes`` (used in the prose)."""
    ns = {"recipes": importlib.import_module("toolkit.models.recipes")}
    for _, code in PYTHON_BLOCKS:
        for node in ast.walk(ast.parse(code)):
            if isinstance(node, ast.ImportFrom):
                module = importlib.import_module(node.module)
                for alias in node.names:  # a missing name fails test_python_block_imports_exist, not every test
                    if hasattr(module, alias.name):
                        ns[alias.asname or alias.name] = getattr(module, alias.name)
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    ns[alias.asname or alias.name.split(".")[0]] = importlib.import_module(alias.name.split(".")[0])
    return ns


@pytest.fixture(scope="module")
def namespace():
    return _namespace()


def _resolve(node, ns):
    """The object an expression names (``Name`` / ``a.b.c``), or None."""
    if isinstance(node, ast.Name):
        if node.id in ns:
            return ns[node.id]
        for package in ("toolkit", "toolkit.distributed"):  # the prose uses the public names without imports
            module = importlib.import_module(package)
            if node.id in module.__all__:
                return getattr(module, node.id)
        return None
    if isinstance(node, ast.Attribute):
        base = _resolve(node.value, ns)
        return getattr(base, node.attr, None) if base is not None else None
    return None


def _is_toolkit(obj) -> bool:
    return callable(obj) and (getattr(obj, "__module__", "") or "").split(".")[0] == "toolkit"


class _Unknown:
    """A placeholder for a value the README computes (a name, an expression)."""


def _literal(node):
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return _Unknown


def _call_kwargs(call: ast.Call, ns) -> dict:
    """The keyword arguments of a call; ``**name`` of a dict the README imports (a recipe) is expanded."""
    kwargs = {}
    for kw in call.keywords:
        if kw.arg is None:
            splat = _resolve(kw.value, ns)
            if isinstance(splat, dict):
                kwargs.update(splat)
            continue
        kwargs[kw.arg] = _literal(kw.value)
    return kwargs


def _check_estimator_values(estimator, where):
    """Parameter constraints of a toolkit estimator (and of the steps of a pipeline) on its set values."""
    from toolkit._validation import validate_params

    steps = [s for _, s in getattr(estimator, "steps", [])] or [estimator]
    for step in steps:
        constraints = getattr(type(step), "_parameter_constraints", None)
        if constraints:
            try:
                validate_params(step, constraints)
            except ValueError as exc:
                pytest.fail(f"{where}: {exc}")


def check_call(call: ast.Call, ns, where: str) -> None:
    """A call of a toolkit callable passes only arguments its signature takes (and valid literal values)."""
    func = _resolve(call.func, ns)
    if not _is_toolkit(func):
        return
    name = ast.unparse(call.func)
    kwargs = _call_kwargs(call, ns)
    n_positional = sum(not isinstance(a, ast.Starred) for a in call.args)
    if func is ns.get("make_text_classifier") or getattr(func, "__name__", "") == "make_text_classifier":
        # **params are routed by name to the tokenizer or the classifier; an unknown one raises ValueError
        known = {k: (None if v is _Unknown else v) for k, v in kwargs.items()}
        try:
            pipe = func(**known)
        except ValueError as exc:
            pytest.fail(f"{where}: {name}(...): {exc}")
        _check_estimator_values(pipe, f"{where}: {name}(...)")
        return
    signature = inspect.signature(func)
    takes_any = any(p.kind is p.VAR_KEYWORD for p in signature.parameters.values())
    named = {k: v for k, v in kwargs.items() if not takes_any or k in signature.parameters}
    try:
        signature.bind_partial(*[None] * n_positional, **{k: None for k in named})
    except TypeError as exc:
        pytest.fail(f"{where}: {name}(...) does not match {name}{signature}: {exc}")
    if inspect.isclass(func) and hasattr(func, "get_params"):
        literal = {k: v for k, v in named.items() if v is not _Unknown}
        try:
            estimator = func(**literal)
        except TypeError:  # a required positional argument (e.g. PseudoLabelClassifier's estimator): names are checked
            return
        _check_estimator_values(estimator, f"{where}: {name}(...)")


def _domain_spec_strings(tree) -> list[str]:
    """String literals passed as ``vectors=`` that are domain specs (``algorithm:...``)."""
    specs = []
    for node in ast.walk(tree):
        if (isinstance(node, ast.keyword) and node.arg == "vectors" and isinstance(node.value, ast.Constant)
                and isinstance(node.value.value, str) and ":" in node.value.value):
            specs.append(node.value.value)
    return specs


def test_readme_has_the_blocks_it_is_checked_on():
    assert len(PYTHON_BLOCKS) >= 8, "fewer Python blocks than expected: did the fence syntax change?"
    assert len(COMMANDS) >= 20, "fewer `toolkit ...` command lines than expected"


@pytest.mark.parametrize("line,code", PYTHON_BLOCKS, ids=[f"line{line}" for line, _ in PYTHON_BLOCKS])
def test_python_block_compiles(line, code):
    try:
        compile(code, f"README.md:{line}", "exec")
    except SyntaxError as exc:
        pytest.fail(f"README.md, the Python block at line {line} does not compile: {exc}")


@pytest.mark.parametrize("line,code", PYTHON_BLOCKS, ids=[f"line{line}" for line, _ in PYTHON_BLOCKS])
def test_python_block_imports_exist(line, code):
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.ImportFrom):
            module = importlib.import_module(node.module)
            missing = [a.name for a in node.names if not hasattr(module, a.name)]
            assert not missing, f"README.md:{line + node.lineno - 1}: {node.module} has no {missing}"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                importlib.import_module(alias.name)


@pytest.mark.parametrize("line,code", PYTHON_BLOCKS, ids=[f"line{line}" for line, _ in PYTHON_BLOCKS])
def test_python_block_calls_match_signatures(line, code, namespace):
    from toolkit.vectors.domain import parse_domain_spec

    tree = ast.parse(code)
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            check_call(node, namespace, f"README.md:{line + node.lineno - 1}")
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            obj = namespace.get(node.value.id)  # CorpusStore.build / recipes.NAME
            if obj is not None and (_is_toolkit(obj) or getattr(obj, "__name__", "").startswith("toolkit")):
                where = f"README.md:{line + node.lineno - 1}"
                assert hasattr(obj, node.attr), f"{where}: {ast.unparse(node)} does not exist"
    for spec in _domain_spec_strings(tree):
        parse_domain_spec(spec)


def test_grid_parameter_names_are_the_pipelines(namespace):
    """Keys such as "classifier__vectors" in the README's parameter grids name parameters of make_text_classifier()."""
    params = namespace["make_text_classifier"]().get_params()
    keys = []
    for line, code in PYTHON_BLOCKS:
        for node in ast.walk(ast.parse(code)):
            if isinstance(node, ast.Dict):
                keys += [(line + node.lineno - 1, k.value) for k in node.keys
                         if isinstance(k, ast.Constant) and isinstance(k.value, str)
                         and k.value.startswith(("tokenizer__", "classifier__"))]
    assert keys
    unknown = [f"README.md:{line}: {key!r}" for line, key in keys if key not in params]
    assert not unknown, f"grid keys that are no parameter of make_text_classifier(): {unknown}"


def test_prose_calls_match_signatures(namespace):
    """Calls written in the prose (`SpacyTokenizer(errors="skip")`, `worker_config(trim_memory=True)`, ...)."""
    checked = 0
    for span in code_spans(TEXT):
        if not re.match(r"^[\w.]+\(.*\)$", span):
            continue
        try:
            tree = ast.parse(span, mode="eval")
        except SyntaxError:
            continue
        if isinstance(tree.body, ast.Call) and _is_toolkit(_resolve(tree.body.func, namespace)):
            check_call(tree.body, namespace, f"`{span}`")
            checked += 1
    assert checked >= 10


def test_domain_specs_in_prose_parse():
    """Domain specs the prose spells out ("word2vec:unsup:dim=300,epochs=10", ...) parse."""
    from toolkit.vectors.domain import parse_domain_spec

    specs = {m for span in code_spans(TEXT) for m in re.findall(r'"((?:word2vec|fasttext):[^"]+)"', span)}
    assert len(specs) >= 3
    for spec in sorted(specs):
        parse_domain_spec(spec)


def test_dotted_names_in_prose_exist():
    """`toolkit.models.recipes.MAIN_JOB`, `recipes.STACK_JOB`, `toolkit.vectors.DocVectorizer`, ... exist."""
    names = set()
    for span in code_spans(TEXT):
        names.update(n for n in re.findall(r"\b((?:toolkit|recipes)(?:\.\w+)+)", span) if not n.endswith(".py"))
    assert len(names) >= 8
    for name in sorted(names):
        parts = name.split(".")
        if parts[0] == "recipes":
            parts = ["toolkit", "models", *parts]
        obj, i = None, len(parts)
        while i:  # the longest importable prefix, then attributes
            try:
                obj = importlib.import_module(".".join(parts[:i]))
                break
            except ImportError:
                i -= 1
        for attr in parts[i:]:
            assert hasattr(obj, attr), f"README.md names `{name}`, but {'.'.join(parts[:i])} has no {attr!r}"
            obj = getattr(obj, attr)


def test_fitted_attributes_in_readme_exist_in_the_code():
    """Fitted attributes the README reads (`embedding_coverage_`, `member_weights_`, `skipped_`, ...) exist."""
    source = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "toolkit").rglob("*.py"))
    used = set(re.findall(r"\.([a-z]\w*[a-z0-9]_)\b", "\n".join(code for _, code in PYTHON_BLOCKS)))
    used |= {s for s in code_spans(TEXT) if re.fullmatch(r"[a-z]\w*[a-z0-9]_", s)}
    used -= {"best_estimator_"}  # scikit-learn's GridSearchCV
    expected = {"embedding_coverage_", "member_weights_", "vocabulary_", "skipped_"}
    assert expected <= used, f"README.md no longer reads {sorted(expected - used)}: update this test"
    missing = sorted(name for name in used if not re.search(rf"\b{name}\b", source))
    assert not missing, f"README.md reads fitted attributes no toolkit code sets: {missing}"


# --- the shell commands ------------------------------------------------------------------------------------------


def _click_root():
    import typer

    from toolkit.cli import app

    return typer.main.get_command(app)


def _is_shell_syntax(arg: str) -> bool:
    """A redirection or a pipe (``>``, ``2>``, ``>>``, ``2>&1``, ``>&-``, ``<``, ``|``): the command ends there."""
    return re.match(r"\d*[<>]|\|", arg) is not None


def parse_command(line: str):
    """Parse a ``toolkit ...`` line with the CLI's click commands, without running anything.

    Returns ``(command path, params)``; raises the click exception of a wrong command, option or choice.
    """
    args = shlex.split(line, comments=True)[1:]
    for i, arg in enumerate(args):  # a shell redirection or pipe: the command ends there
        if _is_shell_syntax(arg):
            args = args[:i]
            break
    args = [a for a in args if a != "--help"]  # --help would print and exit: the command path is what is checked
    root = _click_root()
    ctx = root.make_context("toolkit", args)
    cmd, path = root, ["toolkit"]
    while hasattr(cmd, "commands"):
        rest = [*getattr(ctx, "_protected_args", ()), *ctx.args]
        if not rest:
            break
        name, cmd, rest = cmd.resolve_command(ctx, rest)
        path.append(name)
        ctx = cmd.make_context(" ".join(path), rest, parent=ctx)
    return path[1:], ctx.params


def _options(cmd) -> set[str]:
    return {opt for param in cmd.params for opt in (*param.opts, *param.secondary_opts) if opt.startswith("-")}


def check_option_names(line: str, where: str) -> None:
    """Command names and option names of a line, walked by hand: works on fragments too (`toolkit grid`)."""
    args = shlex.split(line, comments=True)[1:]
    cmd, path, i = _click_root(), ["toolkit"], 0
    while hasattr(cmd, "commands"):
        while i < len(args) and args[i].startswith("-"):
            assert args[i] in _options(cmd) | {"--help"}, f"{where}: {' '.join(path)} has no option {args[i]!r}"
            i += 1
        if i == len(args):
            return
        assert args[i] in cmd.commands, f"{where}: {' '.join(path)} has no command {args[i]!r} ({sorted(cmd.commands)})"
        cmd, i = cmd.commands[args[i]], i + 1
        path.append(args[i - 1])
    for arg in args[i:]:
        if _is_shell_syntax(arg):
            return
        if arg.startswith("-") and arg != "-":
            name = arg.split("=", 1)[0]
            assert name in _options(cmd) | {"--help"}, f"{where}: {' '.join(path)} has no option {name!r}"


def check_settings(path, params, where: str) -> None:
    """``--set key=value`` items build the estimator the command builds, with valid values."""
    from toolkit import (
        EmbeddingClassifier,
        SpacyTokenizer,
        StackedTextClassifier,
        make_text_classifier,
    )
    from toolkit.cli._inputs import parse_setting

    settings = dict(parse_setting(item) for item in params.get("settings") or ())
    if not settings:
        return
    if path[-1] in ("tokenize", "vectorize", "build", "coverage"):
        build = SpacyTokenizer
    elif path == ["store", "train"]:
        build = EmbeddingClassifier
    else:  # train, grid: make_text_classifier, with the stack for train --model stack / stack-many
        model = getattr(params.get("model"), "value", params.get("model")) or "main"
        def build(**kw):
            return make_text_classifier(estimator=StackedTextClassifier() if model != "main" else None, **kw)
    try:
        estimator = build(**settings)
    except (TypeError, ValueError) as exc:
        pytest.fail(f"{where}: --set {settings}: {exc}")
    _check_estimator_values(estimator, f"{where}: --set {settings}")


@pytest.mark.parametrize("where,line", COMMANDS, ids=[w for w, _ in COMMANDS])
def test_command_parses(where, line):
    """Each `toolkit ...` line of the README names real commands, options and choices."""
    from toolkit.cli._common import _click_exception_types
    from toolkit.vectors.domain import parse_domain_spec

    check_option_names(line, where)
    try:
        path, params = parse_command(line)
    except _click_exception_types() as exc:
        if where.startswith("`") and type(exc).__name__ in ("MissingParameter", "NoArgsIsHelpError"):
            return  # a fragment in the prose (`toolkit grid`, `toolkit vectors convert --to native`): names checked
        pytest.fail(f"{where}: {line!r} does not parse: {exc.format_message()}")
    check_settings(path, params, where)
    if params.get("grid"):
        from toolkit.cli.grid import parse_grid
        from toolkit.models import make_text_classifier

        parse_grid(params["grid"], make_text_classifier())  # raises for a name neither step has
    vectors = params.get("vectors")
    if isinstance(vectors, str) and ":" in vectors:
        parse_domain_spec(vectors)


def test_command_parser_can_fail():
    """The parse above rejects what the README must not show (else the checks prove nothing)."""
    from toolkit.cli._common import _click_exception_types

    for bad in ("toolkit train --modle stack", "toolkit train --model stak", "toolkit vectors simlar movie",
                "toolkit tokenize --debug x.txt"):
        with pytest.raises(_click_exception_types()):
            parse_command(bad)
    for bad in ("toolkit grid --grids a=1,2", "toolkit vectors convert --to-format native", "toolkit stor info"):
        with pytest.raises(AssertionError):
            check_option_names(bad, "test")


#: the command of the tests marked slow, which CI runs after the README's test command
SLOW_TIER = "python -m pytest -q -n 2 --dist loadfile --slow -m slow"


def test_test_command_is_what_ci_runs():
    """The README's test command is the command .ci/run runs, character for character."""
    blocks = [code.strip() for lang, _, code in fenced_blocks(section(TEXT, "Two commands")) if lang == "bash"]
    assert len(blocks) == 2, "the 'Two commands' section should hold two bash blocks: the main job and the tests"
    ci = [row.strip() for row in (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
          if row.strip() and not row.lstrip().startswith("#")]
    assert blocks[1] in ci, f"README's test command {blocks[1]!r} is not a line of .ci/run: {ci}"
    # then the slow tier, which the README names too: CI runs every test, the default run stays short
    assert ci[-2:] == [blocks[1], SLOW_TIER], ".ci/run should end with the README's test command, then the slow tier"
    assert f"`{SLOW_TIER}`" in TEXT


def test_main_job_command():
    """`python -m pip install -q -e . && TOOLKIT_DATA_DIR=../shared/data python cli.py train`: cli.py runs the app."""
    main_job = next(code.strip() for lang, _, code in fenced_blocks(section(TEXT, "Two commands")) if lang == "bash")
    assert "python cli.py train" in main_job and "TOOLKIT_DATA_DIR=" in main_job
    # cli.py starts where the console script starts (pyproject's entry point), which runs toolkit.cli's app
    import tomllib

    entry = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["scripts"]["toolkit"]
    module, _, function = entry.partition(":")
    assert f"from {module} import {function}" in (ROOT / "cli.py").read_text(encoding="utf-8")
    assert "toolkit.cli" in (ROOT / module.replace(".", "/")).with_suffix(".py").read_text(encoding="utf-8")
    assert parse_command("toolkit train")[0] == ["train"]


# --- prose claims against the code -------------------------------------------------------------------------------


def _kwargs_of(span: str) -> dict:
    call = ast.parse(span, mode="eval").body
    return {kw.arg: ast.literal_eval(kw.value) for kw in call.keywords}


def test_main_job_recipe_is_the_code():
    """The `make_text_classifier(...)` the README gives for the main job is recipes.MAIN_JOB, value for value."""
    from toolkit.models.recipes import MAIN_JOB

    spans = [s for s in code_spans(TEXT) if s.startswith("make_text_classifier(") and "nbsvm_vectors" in s]
    assert spans, "README.md no longer spells out the main job's make_text_classifier(...)"
    for span in spans:
        assert _kwargs_of(span) == MAIN_JOB, f"`{span}` != recipes.MAIN_JOB = {MAIN_JOB}"


def test_recipe_comments_are_the_code():
    """The comments on STACK_JOB (`vectors=DOMAIN_VECTORS, clusters=1000, ...`) and NBSVM_RECIPE agree with recipes."""
    from toolkit.models import recipes

    comment = re.search(r"import STACK_JOB\s+#\s*(.*)", TEXT).group(1)
    for key, value in re.findall(r"(\w+)=([^,]+)", comment):
        named = value.isidentifier() and hasattr(recipes, value)
        expected = getattr(recipes, value) if named else ast.literal_eval(value)
        actual = recipes.STACK_JOB[key]
        assert actual == expected, f"README: STACK_JOB {key}={value}; recipes: {actual!r}"
    comment = re.search(r"import NBSVM_RECIPE\s+#\s*(.*)", TEXT).group(1)
    epochs, batch = re.search(r"(\d+) epochs? of batch (\d+)", comment).groups()
    assert (recipes.NBSVM_RECIPE["epochs"], recipes.NBSVM_RECIPE["batch_size"]) == (int(epochs), int(batch))
    dim, epochs = re.search(r"`DOMAIN_VECTORS` \((\d+) dimensions, (\d+) epochs\)", TEXT).groups()
    assert f"dim={dim}" in recipes.DOMAIN_VECTORS and f"epochs={epochs}" in recipes.DOMAIN_VECTORS


def test_baseline_as_described():
    """C from 1, 3, 10, 30 on a stratified 20% validation split; the printed model name."""
    from toolkit.cli import train

    grid = re.search(r"C chosen\s+from ([\d, ]+) on a stratified (\d+)% validation split", TEXT)
    assert grid, "README.md no longer says how the baseline's C is chosen"
    assert tuple(float(c) for c in grid.group(1).split(",")) == train.BASELINE_C_GRID
    assert inspect.signature(train.tfidf_baseline).parameters["validation_size"].default == int(grid.group(2)) / 100
    assert f"Baseline {train.BASELINE_NAME} (C=" in TEXT


def test_run_folder_files():
    """`runs/<timestamp>/` holds model/, metrics.json, history.png, confusion_matrix.png: the names train writes."""
    source = (ROOT / "toolkit" / "cli" / "train.py").read_text(encoding="utf-8")
    claim = re.search(r"It also writes `runs/<timestamp>/` with(.*?)\.\n", TEXT, flags=re.DOTALL).group(1)
    names = re.findall(r"`([\w.]+)/?`", claim)
    expected = {"model", "metrics.json", "history.png", "confusion_matrix.png"}
    assert expected <= set(names), f"README's run folder sentence names {names}, not {sorted(expected - set(names))}"
    for name in names:
        assert f'"{name}"' in source, f"README: the run folder holds {name}; toolkit/cli/train.py never writes it"


def test_saved_model_files():
    """Every file the README says a saved model folder holds is one the persistence code writes."""
    source = "\n".join((ROOT / "toolkit" / "models" / f).read_text(encoding="utf-8")
                       for f in ("persistence.py", "_keras_io.py"))
    claim = re.search(r"A saved model folder \(`toolkit.save_model`\) holds(.*?)`checksums.json`", TEXT,
                      flags=re.DOTALL)
    names = {*re.findall(r"`(\w+\.(?:keras|json|npz|skops))`", claim.group(0))}
    assert {"model.keras", "vocabulary.json", "config.json", "model.skops", "spans.npz", "checksums.json"} <= names
    missing = sorted(n for n in names if not re.search(rf"(?<![\w.]){re.escape(n)}\b", source))
    assert not missing, f"README names saved-model files the persistence code does not write: {missing}"


def test_exit_codes():
    from toolkit.cli._common import EXIT_INTERRUPTED, EXIT_TERMINATED

    codes = section(TEXT, "Errors, outputs and Ctrl-C")
    assert re.search(rf"\b{EXIT_INTERRUPTED} interrupted", codes)
    assert re.search(rf"\b{EXIT_TERMINATED} terminated", codes)
    assert "0 success; 1 a problem with the input" in codes and "2 a usage error" in codes


def test_environment_variables_exist():
    """Every TOOLKIT_* / TQDM_* variable the README names is read by the code (or the tests' conftest)."""
    source = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "toolkit").rglob("*.py"))
    source += (ROOT / "tests" / "conftest.py").read_text(encoding="utf-8")
    names = set(re.findall(r"\b((?:TOOLKIT|TQDM)_[A-Z_]*[A-Z])\b", TEXT))
    assert {"TOOLKIT_DATA_DIR", "TOOLKIT_CACHE_DIR", "TQDM_MININTERVAL"} <= names
    missing = sorted(n for n in names if not re.search(rf"\b{n}\b", source))
    assert not missing, f"README names environment variables nothing reads: {missing}"


def test_manifest_list_is_data_manifests():
    """The Data section's list of manifests is exactly data_manifests/*.toml."""
    data = section(TEXT, "Data")
    listed = re.search(r"citation\):\s*(.*?)\.\n", data, flags=re.DOTALL).group(1)
    names = set()
    for item in re.findall(r"`([^`]+)`", listed):
        head, *more = item.split("/")
        names.add(head)
        stem = re.match(r"(.*?)(\d+d?)$", head).group(1) if more else None
        names.update(stem + m for m in more)
    on_disk = {p.stem for p in (ROOT / "data_manifests").glob("*.toml")}
    assert names == on_disk, f"README lists {sorted(names)}; data_manifests/ has {sorted(on_disk)}"


def test_dependencies_are_pyprojects():
    """The Install section names every dependency pyproject.toml pins, and the extras as they are."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    install = " ".join(section(TEXT, "Install").split()).lower()
    for requirement in project["dependencies"]:
        name = re.match(r"[A-Za-z0-9_.-]+", requirement).group(0).lower()
        assert name in install, f"pyproject.toml depends on {name!r}; README.md's Install section does not name it"
    python_min = re.search(r">=\s*([\d.]+)", project["requires-python"]).group(1)
    assert f"Python >= {python_min}" in TEXT, f"pyproject.toml requires Python >= {python_min}"
    keras_min = re.search(r"keras>=([\d.]+)", " ".join(project["dependencies"])).group(1)
    assert f"Keras >= {keras_min}" in TEXT
    for extra in ("test", "dask"):
        assert f'".[{extra}]"' in TEXT and extra in project["optional-dependencies"]


def test_layout_table_names_exist():
    """The Layout table's files exist and its main names are importable (from toolkit, or toolkit.distributed)."""
    table = section(TEXT, "Layout")
    rows = re.findall(r"^\| `?(toolkit/\w+/|top level)`? \|(.*?)\|(.*?)\|\s*$", table, flags=re.MULTILINE)
    assert len(rows) >= 6
    toolkit = importlib.import_module("toolkit")
    for folder, job, names in rows:
        where = ROOT / folder if folder != "top level" else ROOT / "toolkit"
        for file in re.findall(r"`(\w+\.py)`", job):
            assert (where / file).is_file(), f"README's Layout names {folder}{file}, which does not exist"
        module = importlib.import_module("toolkit.distributed") if folder == "toolkit/distributed/" else toolkit
        for name in re.findall(r"`(\w+)`", names):
            assert hasattr(module, name), f"README's Layout: {module.__name__} has no {name}"


def test_parameter_lists_are_the_estimators():
    """The SpacyTokenizer options and EmbeddingClassifier parameters the README lists are real, with real values."""
    from toolkit import EmbeddingClassifier, SpacyTokenizer
    from toolkit.models.builders import ARCHITECTURES

    tok = re.search(r"`SpacyTokenizer` options:(.*?)Its output", TEXT, flags=re.DOTALL).group(1)
    names = [n for n in re.findall(r"`(\w+)`", tok)]
    assert len(names) >= 10
    assert set(names) <= set(SpacyTokenizer().get_params()), set(names) - set(SpacyTokenizer().get_params())
    analyzers = re.findall(r'`"(\w+)"`', tok)
    for value in analyzers:
        _check_estimator_values(SpacyTokenizer(analyzer=value), f"SpacyTokenizer(analyzer={value!r})")

    clf = re.search(r"`EmbeddingClassifier` takes token lists(.*?)Targets may be", TEXT, flags=re.DOTALL).group(1)
    params = set(EmbeddingClassifier().get_params())
    bare = set(re.findall(r"`(\w+)`", clf))
    assert bare <= params, f"README lists EmbeddingClassifier parameters it does not have: {bare - params}"
    arch = re.search(r"`architecture` \((.*?)\),\s*`vectors`", clf, flags=re.DOTALL).group(1)
    listed = re.findall(r'`"(\w+)"`', arch)
    registered = list(ARCHITECTURES)
    assert sorted(listed) == sorted(registered), f"README lists architectures {listed}; registered: {registered}"
    trainable = re.search(r"`trainable` \((.*?)\)", clf, flags=re.DOTALL).group(1)
    for value in re.findall(r'`"(\w+)"`', trainable):
        _check_estimator_values(EmbeddingClassifier(trainable=value), f"EmbeddingClassifier(trainable={value!r})")


def test_docstring_examples_and_slow_option_exist():
    """The README says every docstring example runs (test_suite_infrastructure.py) and `--slow` adds long tests."""
    assert "(`tests/test_suite_infrastructure.py`)" in TEXT
    assert "doctest" in (ROOT / "tests" / "test_suite_infrastructure.py").read_text(encoding="utf-8")
    assert "python -m pytest --slow" in TEXT
    assert '"--slow"' in (ROOT / "tests" / "conftest.py").read_text(encoding="utf-8")

