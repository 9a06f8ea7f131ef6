"""Shared pieces of the CLI: the root typer app, global options, error mapping, output helpers.

Like spaCy's ``cli/_util.py``: every command module imports ``app`` from here
and registers its commands on it; ``toolkit.cli`` imports them all.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import io
import json
import logging
import os
import sys
import warnings
from pathlib import Path

import typer

from .. import __version__
from .._atomic import EDQUOT, atomic_output, broken_link, nearest_existing_parent
from ..exceptions import DataError, ToolkitError, VectorsNotFoundError

__all__ = ["app", "DEFAULT_VECTORS"]

logger = logging.getLogger(__name__)

app = typer.Typer(
    name="toolkit",
    help="Deep learning on text: tokenize, vectorize, load word vectors, train and evaluate classifiers.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


_state = {"debug": False, "quiet": False, "verbose": False}


DEFAULT_VECTORS = "glove.6B.50d"


SET_HELP = ("Parameter as key=value (repeatable, one value per key); values are read as Python/JSON literals, else "
            "strings.")


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"toolkit {__version__}")
        raise typer.Exit()


def _did_you_mean(name: str, choices, n: int = 1) -> str:
    """`` (did you mean 'x'?)`` with the ``n`` choices closest to ``name`` (difflib), or ``""`` when none is close."""
    import difflib

    close = difflib.get_close_matches(name, sorted(choices), n=n)
    return f" (did you mean {', '.join(map(repr, close))}?)" if close else ""


class _CurrentStderrHandler(logging.StreamHandler):
    """A log handler that writes to ``sys.stderr`` as it is when a record comes, like logging's last resort.

    ``logging.basicConfig(stream=sys.stderr)`` keeps the stream of the moment:
    a command run in-process (``typer.testing.CliRunner``, a notebook calling
    the CLI's ``main``) left a root handler on a stream closed afterwards, so
    any later warning of the process printed "--- Logging error --- ... I/O
    operation on closed file" with its traceback.
    """

    def __init__(self, level=logging.NOTSET):
        logging.Handler.__init__(self, level)  # (StreamHandler.__init__ would bind a stream)

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value):  # (StreamHandler.setStream and close assign it: sys.stderr is read at each record)
        pass


@app.callback()
def _root(
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log progress details to stderr."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Only errors on stderr; no progress bars."),
    debug: bool = typer.Option(False, "--debug", help="Show full tracebacks on errors."),
    version: bool = typer.Option(
        False, "--version", callback=_version_callback, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Deep learning on text with spaCy, gensim, Keras and scikit-learn."""
    if quiet and verbose:  # both were accepted: INFO lines under --quiet, no progress bars under --verbose
        raise typer.BadParameter("--quiet and --verbose contradict each other; give one of them.",
                                 param_hint="'--quiet' / '--verbose'")
    level = logging.DEBUG if debug else logging.INFO if verbose else logging.ERROR if quiet else logging.WARNING
    handler = _CurrentStderrHandler()
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=level, handlers=[handler], force=True)
    for handler in logging.getLogger().handlers:
        # the handler filters too: libraries that set their own loggers' levels (distributed sets INFO on
        # import) would otherwise print through it under --quiet and by default
        handler.setLevel(level)
    _state["debug"] = debug
    _state["quiet"] = quiet
    _state["verbose"] = verbose


@contextlib.contextmanager
def _local_worker_logs():
    """The local Dask clusters a command starts in the block log on stderr as the command's options say.

    The workers of a ``LocalCluster`` are processes of their own: the levels
    :func:`_root` sets do not reach them, and they wrote on the command's
    stderr, around its one ``Error:`` line, distributed's own records:
    "Compute Failed" with the traceback of every task that failed (a CSV
    partition that could not be parsed: one per partition), and under
    ``--quiet`` too ("Only errors on stderr"), at times with a worker's
    "CommClosedError" as the cluster closed. The failure reaches the command
    as an exception, which it reports once. Now:

    - ``--quiet``: the workers log nothing below CRITICAL;
    - default: their warnings (memory, a worker restarted...) stay, failed
      tasks are not logged;
    - ``--verbose``: failed tasks are logged too (each with its traceback);
    - ``--debug``: everything, at distributed's own level (INFO).

    A running cluster's workers (``--scheduler``) keep their own logs.
    """
    from ..distributed.search import _local_cluster_defaults

    if _state["debug"]:
        options = {"silence_logs": logging.INFO, "log_task_errors": True}
    elif _state["quiet"]:
        options = {"silence_logs": logging.CRITICAL, "log_task_errors": False}
    else:
        options = {"silence_logs": logging.WARNING, "log_task_errors": _state["verbose"]}
    with _local_cluster_defaults(**options):
        yield


#: the options of ``toolkit`` itself (:func:`_root`), which go before the command name
_ROOT_OPTIONS = ("--verbose", "-v", "--quiet", "-q", "--debug", "--version")


def _hint_root_option(exc: Exception) -> None:
    """Say where an option of ``toolkit`` itself goes when it was given after the command.

    ``toolkit tokenize big.txt -q`` is a usage error, "No such option: -q",
    although ``toolkit --help`` lists ``-q``; the message now says to put it
    before the command. A vectors file given as an argument where the command takes it with ``--vectors``
    gets :func:`_hint_vectors_option`'s hint. Other errors are left as they are.
    """
    name = getattr(exc, "option_name", None)
    ctx = getattr(exc, "ctx", None)
    _hint_vectors_option(exc)
    if type(exc).__name__ != "NoSuchOption" or name not in _ROOT_OPTIONS or ctx is None or ctx.parent is None:
        return
    command = ctx.command_path.split(" ", 1)[-1]
    exc.message = (f"No such option: {name}. It is an option of 'toolkit' itself: give it before the command, "
                   f"as in 'toolkit {name} {command} ...'.")
    exc.possibilities = None


def _hint_vectors_option(exc: Exception) -> None:
    """Say that the vectors go with ``--vectors`` when a command that has the option got them as an argument.

    ``toolkit vectors info FILE`` takes the vectors file as its argument, but ``toolkit vectors similar
    glove.txt good`` was "Got unexpected extra argument(s) (good)" (the file read as the query word), with no
    word of ``--vectors``. Only when the first argument names an existing file and ``--vectors`` was not given.
    """
    ctx = getattr(exc, "ctx", None)
    if (type(exc).__name__ != "UsageError" or ctx is None or "unexpected extra argument" not in str(exc.message)
            or "vectors" not in ctx.params):
        return
    arguments = [p for p in ctx.command.params if p.param_type_name == "argument"]
    first = ctx.params.get(arguments[0].name) if arguments else None
    try:
        source = ctx.get_parameter_source("vectors")
        given = source is not None and source.name not in ("DEFAULT", "DEFAULT_MAP")
    except (AttributeError, TypeError):  # click before 8.0
        given = False
    if given or not isinstance(first, str) or not Path(first).expanduser().is_file():
        return
    usage = " ".join(p.name.upper() for p in arguments)
    exc.message = (f"{str(exc.message).rstrip('.')}. If {first} is the word vectors file, give it with --vectors: "
                   f"'{ctx.command_path} {usage} --vectors {first}'.")


# errno values that mean "this path, as the user gave it, cannot be used": not a toolkit bug
_USER_ERRNOS = {
    errno.ENOENT, errno.EACCES, errno.EPERM, errno.EEXIST, errno.EISDIR, errno.ENOTDIR, errno.ENOSPC,
    errno.EROFS, errno.ENAMETOOLONG, errno.ELOOP, EDQUOT, errno.EFBIG,
}


# errno values of a write that did not fit: the disk, the quota or the file size limit is full
_FULL_ERRNOS = {errno.ENOSPC, EDQUOT, errno.EFBIG}


def _click_exception_types() -> tuple[type, ...]:
    """``ClickException`` of every click copy loaded.

    typer >= 0.29 carries its own copy of click (``typer._click``); earlier
    versions use the ``click`` package. An exception of one is not an instance
    of the other's class, so both are checked. Only modules already imported
    are looked at: nothing is imported here.
    """
    found = []
    for name in ("typer._click.exceptions", "click.exceptions"):
        module = sys.modules.get(name)
        if module is not None and hasattr(module, "ClickException"):
            found.append(module.ClickException)
    return tuple(found)


def _exit_types() -> tuple[type, ...]:
    """The "exit with this code" exceptions of typer and of every click copy loaded."""
    found = [typer.Exit]
    for name in ("typer._click.exceptions", "click.exceptions"):
        module = sys.modules.get(name)
        if module is not None and hasattr(module, "Exit"):
            found.append(module.Exit)
    return tuple(found)


def _raised_on_purpose(exc: BaseException) -> bool:
    """Whether ``exc`` comes from a ``raise`` statement in toolkit's own code (a check it makes on purpose).

    An exception that escapes from Python itself, numpy, scikit-learn or
    Keras, or from an expression in toolkit code (``int(text)``,
    ``mapping[key]``), is not one: there the innermost frame is not toolkit's,
    or its line is no ``raise``.
    """
    import linecache

    tb = exc.__traceback__
    if tb is None:
        return False
    while tb.tb_next is not None:
        tb = tb.tb_next
    frame = tb.tb_frame
    if not frame.f_globals.get("__name__", "").startswith("toolkit."):
        return False
    return linecache.getline(frame.f_code.co_filename, tb.tb_lineno).lstrip().startswith("raise ")


def _is_user_error(exc: BaseException) -> bool:
    """Whether ``exc`` is a mistake in the input that one line can explain (else: a toolkit bug).

    User errors are the toolkit's own error classes (:class:`toolkit.exceptions.ToolkitError`
    and :class:`toolkit._validation.InvalidParameterError`, whose messages name the file,
    line or parameter), scikit-learn's parameter-validation error, a ``ValueError``,
    ``TypeError``, ``KeyError`` or ``OSError`` that toolkit code raises on purpose (a check of
    the input, see :func:`_raised_on_purpose`), and any other ``OSError`` about a path
    (missing, not permitted, disk full...). Any other exception, such as a
    ``ValueError`` from numpy or a ``KeyError`` from a lookup, is a bug and keeps
    its traceback.
    """
    from .._validation import InvalidParameterError
    from ..exceptions import ToolkitError

    if isinstance(exc, (ToolkitError, InvalidParameterError)):
        return True
    sk_validation = sys.modules.get("sklearn.utils._param_validation")
    if sk_validation is not None and isinstance(exc, sk_validation.InvalidParameterError):
        return True
    if isinstance(exc, (ValueError, TypeError, KeyError, OSError)) and _raised_on_purpose(exc):
        return True  # OSError: e.g. save_model's FileExistsError for a folder it would not replace
    if isinstance(exc, OSError) and exc.errno in _FULL_ERRNOS:
        return True  # a full disk or quota, also under a redirected stdout (no file name): never a toolkit bug
    return isinstance(exc, OSError) and exc.errno in _USER_ERRNOS and exc.filename is not None


#: below this many free bytes, the temporary or cache folder is named as the full one (a write without a file name)
NEARLY_FULL = 256 << 20


def _nearly_full_folder() -> str | None:
    """The temporary folder or the cache folder when its disk is (nearly) full: where a write may have failed.

    A write that fails for lack of space without a file name (Keras saving a
    model into a temporary folder, numpy writing into an open file) is not
    always the output's: on a shared machine ``/tmp`` is often the small disk.
    """
    import shutil
    import tempfile

    from .._config import CACHE_DIR_ENV, get_cache_dir

    for folder, variable in ((Path(tempfile.gettempdir()), "TMPDIR"), (get_cache_dir(), CACHE_DIR_ENV)):
        try:
            free = shutil.disk_usage(nearest_existing_parent(folder / "x")).free
        except OSError:
            continue
        if free < NEARLY_FULL:
            return (f"the disk of the {'temporary' if variable == 'TMPDIR' else 'cache'} folder {folder} has "
                    f"{free / 2**20:,.0f} MB free. Free some space there, or set {variable} to a folder on a disk "
                    "with space")
    return None


def _one_line(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.errno in _FULL_ERRNOS and exc.filename is None:  # "[Errno 28] No space..."
        full = _nearly_full_folder()
        if full is not None:
            return f"Cannot write: {exc.strerror}; {full}."
        return (f"Cannot write the output: {exc.strerror}. Free some space, or write it elsewhere "
                "(--output, or another redirection).")
    message = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
    message = " ".join(str(message).split())
    return message or type(exc).__name__


def _bug_report(exc: BaseException) -> str:
    """The closing line printed under the traceback of an unexpected exception."""
    import platform

    return (
        f"Error: this is a bug in toolkit {__version__}, not a problem with your input "
        f"({type(exc).__name__}: {_one_line(exc)[:200]}). Please report it with the command you ran and the "
        f"traceback above (Python {platform.python_version()}, typer {getattr(typer, '__version__', '?')})."
    )


def _close_progress_bars() -> None:
    """Close tqdm's open bars now, so that they are not redrawn under the final message."""
    tqdm = sys.modules.get("tqdm")
    for bar in list(getattr(getattr(tqdm, "tqdm", None), "_instances", ()) or ()):
        bar.close()


#: exit codes as shells report a process ended by the signal: 128 + SIGINT (Ctrl-C), 128 + SIGTERM
EXIT_INTERRUPTED, EXIT_TERMINATED = 130, 143


def _caused_by_interrupt(exc: BaseException) -> bool:
    """Whether ``exc`` was raised while a ``KeyboardInterrupt`` (Ctrl-C, or SIGTERM handled as one) propagated.

    A signal's handler raises the interrupt between any two steps of Python
    code, also inside code that is not written to be interrupted there, such as
    ``threading.Condition.wait`` as ``Thread.start`` waits for a new thread
    (joblib's process pool starting its manager thread): its ``with`` block then
    fails with "RuntimeError: release unlocked lock", which replaces the
    interrupt. Such an error names the interrupt as its context (or cause): the
    command was interrupted, and is reported as such.
    """
    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, KeyboardInterrupt):
            return True
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return False


def _interrupted(note: str | None = None) -> typer.Exit:
    """Say that the command was interrupted and what was kept; the exit to raise (130, or 143 for SIGTERM)."""
    _close_progress_bars()
    word, code = ("Terminated", EXIT_TERMINATED) if _state.get("terminated") else ("Interrupted", EXIT_INTERRUPTED)
    typer.echo(f"\n{word}. {note or _state.get('on_interrupt') or 'Nothing was written.'}", err=True)
    return typer.Exit(code)


@contextlib.contextmanager
def _terminate_as_interrupt():
    """Handle SIGTERM (``kill``, ``timeout``, a job scheduler or container stopping the command) as Ctrl-C.

    Python's default for SIGTERM ends the process on the spot: no message,
    temporary outputs left behind, and the worker processes of a joblib pool
    left running (idle for minutes, holding the terminal or the pipe of a
    ``| tee`` open). Here it takes the Ctrl-C path instead: the SIGINT
    handler in force is called (so :func:`_stop_on_interrupt` records it),
    the command cleans up, says "Terminated." and exits with 143. Outside
    the main thread, or when SIGTERM is not at its default (ignored, or
    handled by the caller), nothing changes.
    """
    import signal
    import threading

    _state["terminated"] = False
    if threading.current_thread() is not threading.main_thread() or \
            signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        yield
        return

    def handler(signum, frame):
        _state["terminated"] = True
        on_sigint = signal.getsignal(signal.SIGINT)
        if callable(on_sigint):
            on_sigint(signal.SIGINT, frame)  # raises KeyboardInterrupt (Python's or _stop_on_interrupt's)
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def _quiet_pool_teardown():
    """Keep a failure of joblib's process pool while it is being killed off the terminal (``--debug`` logs it).

    After a Ctrl-C or SIGTERM (or a failing fit) joblib kills its loky pool
    (``shutdown(kill_workers=True)``). When that happens just as a result comes
    back and the next fit is queued, loky's manager thread drops the queued
    work and then looks it up: "Exception in thread ExecutorManagerThread:
    Traceback ... KeyError: 4", under the CLI's one-line message. When the
    signal lands as that thread starts, its end can fail in threading's own
    bookkeeping instead: "Exception ignored in thread started by: <bound
    method Thread._bootstrap of <_ExecutorManagerThread ...>> Traceback ...
    KeyError" (``sys.unraisablehook``). The pool is being killed: nothing is
    lost. Other threads' exceptions are printed as before.
    """
    import threading

    def killed_pool_thread(thread) -> bool:
        flags = getattr(thread, "executor_flags", None)
        return type(thread).__name__ == "_ExecutorManagerThread" and getattr(flags, "kill_workers", False)

    previous, previous_unraisable = threading.excepthook, sys.unraisablehook

    def hook(args):
        if killed_pool_thread(args.thread):
            logger.debug("loky's manager thread failed while its pool was killed",
                         exc_info=(args.exc_type, args.exc_value, args.exc_traceback))
            return
        previous(args)

    def unraisable_hook(args):
        # "in thread started by" the thread's bound _bootstrap: args.object.__self__ is the thread
        if killed_pool_thread(getattr(args.object, "__self__", None)):
            logger.debug("loky's manager thread ended in error while its pool was killed",
                         exc_info=(args.exc_type, args.exc_value, args.exc_traceback))
            return
        previous_unraisable(args)

    threading.excepthook, sys.unraisablehook = hook, unraisable_hook
    try:
        yield
    finally:
        threading.excepthook, sys.unraisablehook = previous, previous_unraisable


def _exit_now(code: int) -> None:
    """End the process with ``code`` at once, skipping the interpreter's teardown (TensorFlow's takes seconds).

    What that teardown would have done and a user would notice is done first:
    joblib's reusable process pool (loky) is stopped, workers included, and
    the ``atexit`` handlers run; among them multiprocessing's, which release
    the pool's locks. Skipped, loky's resource tracker would print a warning
    about "leaked semlock objects" under the CLI's last line. Used after a
    Ctrl-C or SIGTERM only: the message is shown and outputs are cleaned up
    by then. (``atexit._run_exitfuncs`` is CPython's own way to run them.)
    """
    import atexit

    module = sys.modules.get("joblib.externals.loky.reusable_executor")
    executor = getattr(module, "_executor", None)
    try:
        if executor is not None:
            executor.shutdown(wait=True, kill_workers=True)
        atexit._run_exitfuncs()
    except BaseException:  # exiting anyway: a second Ctrl-C or a failing handler must not stop it
        logger.debug("cleanup before exit failed", exc_info=True)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _expand_home_paths(kwargs: dict) -> None:
    """Expand a leading ``~`` in the command's path options and arguments (typer's ``Path`` values), in place.

    The shell expands ``~`` only at the start of an unquoted word: in
    ``--output=~/run``, ``"~/my data/run"`` or a value read from a job script
    it reaches the command as is. The checks took it for the home folder
    (``expanduser``) while some writers made a folder named ``~`` in the
    current folder: ``toolkit vectors convert`` left an empty file there and
    the vectors in a hidden temporary file at home. Every path option now
    means one place, the home folder's.
    """
    from .._atomic import _expand_home

    for key, value in kwargs.items():
        if isinstance(value, Path) and str(value).startswith("~"):
            kwargs[key] = _expand_home(value)
        elif isinstance(value, list) and any(isinstance(v, Path) and str(v).startswith("~") for v in value):
            kwargs[key] = [_expand_home(v) if isinstance(v, Path) else v for v in value]


#: top-level modules of the optional ``[dask]`` extra (``toolkit store``, ``toolkit grid --scheduler``)
_DASK_EXTRA_MODULES = frozenset({"dask", "distributed"})


def _missing_extra(exc: BaseException) -> str | None:
    """The one-line error for a command that needs the ``[dask]`` extra when it is not installed, or None.

    Without it the ``ModuleNotFoundError`` was reported as a bug in toolkit, with its traceback.
    """
    if not isinstance(exc, ModuleNotFoundError) or (exc.name or "").partition(".")[0] not in _DASK_EXTRA_MODULES:
        return None
    return (f"This command needs the optional [dask] extra, which is not installed ({exc}). Install it: "
            'python -m pip install -e ".[dask]" in the repository (see README.md, Install).')


def _errors_to_exit(func):
    """Run a command: user errors become ``Error: <one line>`` and exit 1, Ctrl-C exits 130.

    Usage errors (click's exceptions, either copy) and exits pass through to
    click. Any other exception is a toolkit bug: it propagates, and
    :func:`toolkit.cli.main` prints its traceback and how to report it.
    ``--debug`` shows the traceback of user errors too.
    """

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        _state["on_interrupt"] = None
        once = _RepeatsDropped()
        data_logger = logging.getLogger("toolkit.data.datasets")
        data_logger.addFilter(once)
        try:
            _expand_home_paths(kwargs)  # '--output=~/x' and quoted '~/x' (no shell expansion) name the home folder
            _check_data_dir(kwargs.get("data_dir"))  # every command's --data-dir, before anything loads
            _check_folder_variables(func, kwargs)  # TOOLKIT_DATA_DIR / TOOLKIT_CACHE_DIR, as early
            return func(*args, **kwargs)
        except KeyboardInterrupt:
            raise _interrupted() from None
        except Exception as exc:
            if _caused_by_interrupt(exc):  # an error of the code the interrupt broke off: the interrupt it is
                logger.debug("%s: %s, raised by the interrupt", type(exc).__name__, exc, exc_info=exc)
                raise _interrupted() from None
            if isinstance(exc, _click_exception_types() + _exit_types()) or _state["debug"]:
                raise
            missing = _missing_extra(exc)
            if missing is None and not _is_user_error(exc):
                raise
            _close_progress_bars()
            message = missing or _one_line(exc)
            if "data_dir" in kwargs:  # the library's words for the folder: the option's, here
                message = _data_dir_in_option_words(message)
            typer.echo(f"Error: {message}", err=True)
            raise typer.Exit(1) from exc
        finally:
            data_logger.removeFilter(once)
            from ._inputs import discard_preloaded

            discard_preloaded()  # data read before TensorFlow that the command, ended early, did not take

    return wrapper


class _RepeatsDropped(logging.Filter):
    """Drops a warning that one command already showed, word for word.

    Each fetch of a data-folder file checks it and warns of what it finds (a tarball that is not the
    published file, a vectors file no SHA256SUMS lists): ``toolkit train`` fetches IMDB three times
    (up front, then its train and test splits) and GloVe twice, and said each warning that often.
    """

    def __init__(self):
        super().__init__()
        self.seen = set()

    def filter(self, record) -> bool:
        if record.levelno < logging.WARNING:
            return True
        key = (record.name, record.levelno, record.getMessage())
        if key in self.seen:
            return False
        self.seen.add(key)
        return True


def _data_dir_in_option_words(message: str) -> str:
    """A library message about the ``data_dir`` parameter, in the words of the command line's ``--data-dir``.

    ``toolkit train --data-dir /data`` (a folder one level off) said "The data folder /data (from data_dir)
    ... (unset data_dir to download 'imdb' into the cache)": a parameter the shell user never set.
    """
    import re

    message = message.replace("(from data_dir)", "(from --data-dir)").replace(", from data_dir,", ", from --data-dir,")
    message = message.replace("unset data_dir to", "leave --data-dir out to")
    message = message.replace(", or data_dir=)", ", or --data-dir)")
    return re.sub(r"\bdata_dir='([^']*)'", r"--data-dir \1", message)


class OutputExistsError(ToolkitError, FileExistsError):
    """An output path exists and the command was not given ``--force``."""


class StdoutClosedError(ToolkitError, OSError):
    """Output for standard output, which the shell closed (``toolkit ... >&-``)."""


class _ClosedStdout(io.BufferedIOBase):
    """Stands for a closed standard output: a write fails with :class:`StdoutClosedError`."""

    def writable(self) -> bool:
        return True

    def write(self, data):
        raise StdoutClosedError("Cannot write the output: standard output is closed (>&-). Give --output, or "
                                "redirect it to a file or a pipe.")


@contextlib.contextmanager
def _closed_stdout_fails():
    """Make output written to a closed standard output an error, not a silent loss.

    Python starts with ``sys.stdout = None`` when file descriptor 1 is closed
    (``toolkit tokenize big.txt >&-``, a service manager); click's ``echo``
    then drops the output, and the command exits 0: a script believes it
    worked. For the block, ``sys.stdout`` is a stream whose writes raise
    :class:`StdoutClosedError` (one ``Error:`` line, exit 1, as a full disk).
    A command that writes nothing there (``--output``) is not affected.
    """
    if sys.stdout is not None:
        yield
        return
    sys.stdout = io.TextIOWrapper(_ClosedStdout(), encoding="utf-8", write_through=True)
    try:
        yield
    finally:
        sys.stdout = None


def _is_stdout(path) -> bool:
    return path is not None and str(path) == "-"


#: seconds between two updates of a progress bar written to a file (tqdm's default: 0.1)
LOG_FILE_PROGRESS_INTERVAL = 10


@contextlib.contextmanager
def _progress_for_log_files():
    """Progress bars update at most every :data:`LOG_FILE_PROGRESS_INTERVAL` seconds when stderr is a file.

    tqdm redraws a bar up to ten times a second, each time with a carriage
    return: fine on a terminal, but ``toolkit train 2> train.log`` would fill
    the log with thousands of copies of each bar. When stderr is a regular
    file, ``TQDM_MININTERVAL`` is set for the block, unless the user set it.
    tqdm reads it when it is first imported (its ``envwrap``), so it reaches
    every bar: the CLI imports tqdm only inside its commands, and worker
    processes import it afresh (``tests/test_cli_shell_usage.py`` checks the
    whole path). A terminal
    or a pipe (``| tee``, a program that shows the progress) keeps the live
    bars, and ``--quiet`` still drops them.
    """
    import stat

    try:
        to_file = stat.S_ISREG(os.fstat(sys.stderr.fileno()).st_mode)
    except (AttributeError, OSError, ValueError):  # no stderr, or one without a file descriptor (captured)
        to_file = False
    if not to_file or "TQDM_MININTERVAL" in os.environ:
        yield
        return
    os.environ["TQDM_MININTERVAL"] = str(LOG_FILE_PROGRESS_INTERVAL)
    try:
        yield
    finally:
        os.environ.pop("TQDM_MININTERVAL", None)


def _check_writable_parent(path: Path, option: str) -> None:
    """Fail now, not after the work, when ``path`` could not be created."""
    parent = nearest_existing_parent(path)
    if not parent.is_dir():
        raise DataError(f"Cannot create {option} {path}: {parent} is a file, not a folder.")
    link = broken_link(Path(path).expanduser().parent)
    if link is not None:  # found after the work, as "[Errno 17] File exists", before
        raise DataError(f"Cannot create {option} {path}: {link} is a symbolic link to {os.readlink(link)}, which "
                        "does not exist. Create that folder, or choose another path.")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise DataError(f"Cannot create {option} {path}: no write permission in {parent}.")


def _check_output_file(path, *, force: bool, option: str = "--output") -> None:
    """Pre-flight check of an output file: creatable, and not replaced without ``--force``.

    ``None`` and ``"-"`` (standard output) pass.
    """
    if path is None or _is_stdout(path):
        return
    path = Path(path).expanduser()
    if path.is_dir():
        raise DataError(f"{option} {path} is a folder; give a file name.")
    if path.exists() and not force:
        raise OutputExistsError(f"{option} {path} exists; pass --force to replace it, or choose another name.")
    _check_writable_parent(path, option)


def _check_run_folder(output, *, force: bool) -> None:
    """Pre-flight check of a run folder: creatable, replaced only if it is an earlier run and ``--force``."""
    output = Path(output).expanduser()
    if _is_stdout(output):
        raise DataError("--output - (standard output) cannot hold a run folder; give a folder name.")
    if output.is_file() or (output.is_dir() and any(output.iterdir()) and not (output / "metrics.json").is_file()):
        raise OutputExistsError(
            f"Output {output} exists and is not a toolkit run folder (no metrics.json); choose another "
            "--output or remove it first."
        )
    if output.is_dir() and any(output.iterdir()) and not force:
        raise OutputExistsError(
            f"Run folder {output} exists (an earlier run); pass --force to replace it, or choose another --output."
        )
    _check_writable_parent(output, "--output")


def _foreign_config(file: Path) -> bool:
    """Whether ``file`` is another program's ``config.json``: a JSON object with entries, none a toolkit
    ``format`` (:data:`~toolkit.models.persistence.FORMAT_NAME`). Not one that cannot be read (a damaged
    model's: load_model names it) nor ``{}``."""
    import json

    try:
        if file.stat().st_size > 1 << 20:
            return False
        config = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    from ..models.persistence import FORMAT_NAME

    return isinstance(config, dict) and bool(config) and config.get("format") != FORMAT_NAME


def _check_model_folder(model) -> None:
    """Cheap check that ``model`` looks like a saved model folder, before TensorFlow is imported."""
    path = Path(model).expanduser()
    if not path.exists():
        raise DataError(f"No saved model folder at {path}. Give the 'model' folder of a 'toolkit train' run.")
    if path.is_file() and (path.parent / "config.json").is_file():  # `predict run/model/config.json`
        raise DataError(f"{path} is a file of a model folder; give the folder, {path.parent}.")
    if not path.is_dir() or not (path / "config.json").is_file():
        if (path / "model" / "config.json").is_file():
            which = "toolkit grid --refit-output" if (path / "grid.json").is_file() else "toolkit train"
            raise DataError(f"{path} is the run folder of '{which}'; give its model folder, {path / 'model'}.")
        raise DataError(
            f"{path} is not a toolkit model folder (no config.json). Give the 'model' folder of a "
            "'toolkit train' run."
        )
    if _foreign_config(path / "config.json"):  # a Hugging Face model folder was "checksums.json is missing ...
        from ..models.persistence import FORMAT_NAME  # saved by an older toolkit"

        raise DataError(
            f"{path} is not a toolkit model folder: its config.json names no format {FORMAT_NAME!r} (another "
            "program's model?). Give the 'model' folder of a 'toolkit train' run."
        )


def _check_vectors(vectors, option: str = "--vectors") -> None:
    """Fail before anything heavy when ``vectors`` is neither a file, a manifest nor a domain spec.

    ``option`` names where the value was given, for the message (``--vectors``, or ``--set vectors=``).
    The name is resolved as :func:`toolkit.vectors.load_vectors` resolves it
    (:func:`toolkit.vectors.locate_vectors`), without reading or fetching anything.
    """
    if vectors is None:
        return
    from ..vectors.domain import is_domain_spec
    from ..vectors.loading import locate_vectors

    if is_domain_spec(str(vectors)):  # as resolve_vectors: a domain spec first
        return
    sep = "" if option.endswith("=") else " "
    try:
        locate_vectors(vectors)
    except VectorsNotFoundError as err:
        path = Path(vectors).expanduser()
        if path.is_dir():
            raise VectorsNotFoundError(f"{option}{sep}{err}") from err  # "... is a folder; ... (it holds a.txt.gz)"
        from ..vectors.loading import vectors_manifest_names

        raise VectorsNotFoundError(
            f"{option}{sep}{vectors!r}: no such file (relative to {Path.cwd()}) and no data manifest of that name. "
            f"Pass a vectors file, 'none', or a vectors manifest name: {', '.join(vectors_manifest_names())}."
        ) from err
    except DataError as err:  # a manifest of data that is not word vectors ('imdb')
        raise DataError(f"{option}{sep}{vectors!r}: {err}") from err


def _check_data(source, *, labelled: bool = False) -> None:
    """A data argument: 'imdb', '-' or a path that exists (``labelled``: a folder, a CSV/TSV or JSONL file, not
    '-'; raw text: no tar or zip archive)."""
    if source is None or str(source).lower() == "imdb" or (str(source) == "-" and not labelled):
        return
    from ._inputs import _check_input_path, check_labelled_path, check_not_archive

    path = (check_labelled_path if labelled else _check_input_path)(source)
    if not labelled:  # (labelled data: only a folder or a table, checked above)
        check_not_archive(path)  # a .tar.gz of texts: refused now, not after the tokenizer loaded


def _info(message: str) -> None:
    """A diagnostic line on stderr (silenced by --quiet)."""
    if not _state["quiet"]:
        typer.echo(message, err=True)


def _load_tensorflow_quietly() -> None:
    """Import TensorFlow with the process's stderr muted (unless --verbose/--debug).

    TensorFlow's C++ runtime writes start-up notices (oneDNN, CUDA probing)
    straight to file descriptor 2 before any log level applies; they would bury
    the CLI's own diagnostics and one-line errors.
    """
    if "tensorflow" in sys.modules or _state["verbose"] or _state["debug"]:
        return
    _import_tensorflow_muted()


def _import_tensorflow_muted() -> None:
    """Import TensorFlow (and probe for GPUs) with file descriptor 2 pointed at ``os.devnull``.

    On Keras' other backends too (``KERAS_BACKEND=jax`` or ``torch``) where
    TensorFlow is installed: Keras imports it there as well, to save a model
    (its serialization checks TensorFlow's types), and its notices reached
    ``toolkit train``'s output. TensorFlow may be missing there: that is left
    for Keras' own import to report where it needs it
    (:func:`toolkit.models._keras_io.import_keras` names the setting).
    """
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        # and its INFO lines logged later, at run time ("Memory patch applied" of tf.data), which fd 2 shows
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")
        try:
            import tensorflow as tf
        except ImportError:  # not installed: importing Keras says so, naming the backend setting
            return
        tf.config.list_physical_devices("GPU")  # the CUDA probe logs here, once
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def _worker_start() -> None:
    """Initializer of the CLI's joblib process workers: TensorFlow imported muted, as in the CLI's process.

    A worker that unpickles a Keras member imports TensorFlow itself; without
    this its C++ start-up notices reach the terminal between the CLI's lines.
    """
    if "tensorflow" not in sys.modules:
        _import_tensorflow_muted()


#: loky's warning when its memory-leak check replaces a worker (RSS grown by 300 MB since the worker's
#: first task: a stack member's n-gram vocabulary, TensorFlow). The jobs still complete.
_WORKER_REPLACED = "A worker stopped while some jobs were given to the executor"


@contextlib.contextmanager
def _quiet_workers(enabled: bool = True):
    """Start joblib's process (loky) workers with TensorFlow imported muted (:func:`_worker_start`).

    Only where the work needs TensorFlow (``enabled``) and not with --verbose
    or --debug, which show TensorFlow's notices: importing it costs each
    worker a few seconds and some hundred MB. Also hides loky's warning that
    a worker was replaced (:data:`_WORKER_REPLACED`), whose advice (a worker
    timeout, a memory leak) does not apply to a user of the CLI.
    """
    if _state["verbose"] or _state["debug"]:
        yield
        return
    import joblib

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=_WORKER_REPLACED, category=UserWarning)
        if not enabled:
            yield
            return
        with joblib.parallel_config(backend="loky", initializer=_worker_start):
            yield


def _read_texts(source, *, column="text", **kwargs) -> list[str]:
    """:func:`toolkit.cli._inputs.read_input`, refusing to wait on an interactive terminal for stdin (or a closed one)."""
    from ._inputs import read_input

    if (source is None or str(source) == "-") and sys.stdin is None:  # closed: `<&-`, some service managers
        raise ValueError("No input: standard input is closed. Give a file, a folder or texts.")
    if (source is None or str(source) == "-") and sys.stdin.isatty():
        raise ValueError("No input: give a file, a folder or texts, or pipe text on stdin.")
    read_as = []
    texts = read_input(source, column=column, read_as=read_as, **kwargs)
    how = {"lines": "one document per line (plain text, not JSON lines)", "folder": "one document per file",
           "imdb": "as IMDB's reviews"}.get(read_as[0] if read_as else None)
    if column != "text" and how:  # `predict --input lines.txt --column X` dropped --column without a word
        name = "standard input" if source is None or str(source) == "-" else source
        _info(f"Warning: --column {column} is ignored: {name} is read {how}. --column names the text column of "
              "a CSV/TSV/JSONL file, or the key of JSON lines.")
    return texts


def _progress() -> bool:
    return not _state["quiet"]


def _settings(items) -> dict:
    """The ``--set key=value`` items as a dict; a key given twice with two values is refused.

    The last one silently won: ``--set epochs=3 ... --set epochs=20`` trained 20 epochs without a word, as
    ``--grid`` refuses two of one name.
    """
    from ._inputs import SettingError, parse_setting

    settings, given = {}, {}
    for item in items or ():
        key, value = parse_setting(item)
        if key in settings and not _same_setting(settings[key], value):
            raise SettingError(f"--set {given[key]!r} and --set {item!r} give {key} two values; give it once.")
        settings[key], given[key] = value, item
    return settings


def _same_setting(a, b) -> bool:
    """Whether two ``--set`` values are the same (``1`` and ``1.0`` are; ``True`` and ``1`` are not)."""
    return type(a) is type(b) and a == b or (
        isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool)
        and not isinstance(b, bool) and a == b)


def _emit_text(text: str, output: Path | None) -> None:
    """Data to stdout (``output`` None or ``"-"``), or atomically to ``output``."""
    if output is None or _is_stdout(output):
        typer.echo(text, nl=False)
        return

    with atomic_output(output) as tmp:
        tmp.write_text(text, encoding="utf-8")
    _info(f"Wrote {output}")


def _jsonl(rows) -> str:
    """JSON lines, UTF-8 as it is but for U+2028/U+2029 (escaped): readers that split on every Unicode line
    break (``str.splitlines``, JavaScript) cut a record holding them in two (a character token, a text)."""
    return "".join(json.dumps(row, ensure_ascii=False).replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
                   + "\n" for row in rows)


def _json(data) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n"


def _vector_kwargs(limit, format, data_dir, cache_dir) -> dict:
    kwargs = {"limit": limit, "format": format, "progress": _progress()}
    if data_dir is not None:
        kwargs["data_dir"] = data_dir
    if cache_dir is not None:
        kwargs["cache_dir"] = cache_dir
    return kwargs


_INPUT = ("Text source: a file of lines, a .csv/.tsv/.jsonl file (see --column; gzip/bz2/xz compressed too: "
          ".csv.gz), a folder, or '-' for stdin.")


_opt_column = typer.Option("text", "--column", help="Text column of a CSV/TSV/JSONL input.")


_opt_label_column = typer.Option("label", "--label-column", help="Label column of a CSV/TSV/JSONL file.")


def _file_path(value: str) -> Path:
    """An output file's path (``--output``, ``--plot``) as typed: a name ending in a separator is refused.

    ``Path`` drops the separator, so ``toolkit predict MODEL "..." -o preds/`` (a folder meant, not there yet)
    wrote a file named ``preds``. A usage error naming the option instead.
    """
    seps = tuple(sep for sep in (os.sep, os.altsep) if sep)
    if value.endswith(seps) and value.rstrip("".join(seps)):
        raise typer.BadParameter(f"{value} ends in a path separator, so it names a folder; give a file name "
                                 f"(e.g. {value}FILE).")
    return Path(value)


_opt_output = typer.Option(None, "--output", "-o", parser=_file_path, metavar="<path>",
                           help="Write here (atomically) instead of stdout.")


_opt_set = typer.Option(None, "--set", help=SET_HELP)


_opt_vectors = typer.Option(DEFAULT_VECTORS, "--vectors", "-V", help="Vectors file or manifest name.")


_opt_vlimit = typer.Option(None, "--limit", help="Load only the first N vectors (the most frequent words).")


_opt_format = typer.Option("auto", "--format", help="Vectors format (auto, glove, word2vec, word2vec-binary, fasttext...).")


_opt_force = typer.Option(False, "--force", "-f", help="Replace an existing output file.")


def _not_a_folder(path: Path) -> str:
    """Why ``path``, which is no folder, is none: a file, a broken symbolic link, or nothing there."""
    if path.exists():
        return "is a file, not a folder"
    link = broken_link(path)
    if link is not None:
        return f"does not exist: {link} is a symbolic link to {os.readlink(link)}, which does not exist"
    return "does not exist" + ("" if path.is_absolute() else f" (relative to {Path.cwd()})")


def _check_data_dir(value):
    """``--data-dir`` must name a folder: checked by :func:`_errors_to_exit` before the command runs.

    Before, a typo surfaced only where the data were first fetched: for ``train`` and ``grid`` after
    TensorFlow had loaded (about 9 s), as "The data folder ... (from data_dir) ...".
    """
    path = None if value is None else Path(value).expanduser()
    if path is None or path.is_dir():
        return value
    what = _not_a_folder(path)
    raise DataError(f"The data folder {value} (from --data-dir) {what}. Give the offline data folder (the one "
                    "holding SHA256SUMS), or leave --data-dir out to use $TOOLKIT_DATA_DIR, else the cache.")


def _names_data(value) -> bool:
    """Whether a command's data or vectors argument is read from the data folder.

    ``None`` is ``toolkit train``'s default vectors, the recipe's (a manifest
    or ``word2vec:unsup``); ``'imdb'``, a manifest name (that names no
    existing file) and a domain spec over IMDB's unlabelled reviews
    (``word2vec:unsup``) are read there too. A file, a folder, ``'-'``,
    ``'none'`` and a domain spec on the training texts or a file are not.
    """
    if value is None:
        return True
    text = str(value)
    if text.lower() == "imdb":
        return True
    if text.lower() == "none" or text == "-" or Path(text).expanduser().exists():
        return False
    from ..vectors.domain import is_domain_spec, parse_domain_spec

    if is_domain_spec(text):  # 'word2vec:unsup', 'word2vec:unsup:dim=100' read the unsup reviews there
        try:
            return parse_domain_spec(text).source == "unsup"
        except ValueError:
            return False  # the command's own check names the problem
    from ..vectors.loading import locate_vectors

    try:
        return locate_vectors(text)[0] == "manifest"
    except (ToolkitError, TypeError):
        return False  # the command's own check names the problem


def _reads_data_dir(func, kwargs) -> bool:
    """Whether the command ``func``, called with ``kwargs``, looks in the offline data folder.

    The ``toolkit data`` commands always do; the others when their data is
    ``'imdb'`` or their vectors come from a manifest or IMDB's unlabelled
    reviews (:func:`_names_data`). A command on the user's own files
    (``toolkit train --data mine.csv --vectors my.vec``) does not, and runs
    whatever ``TOOLKIT_DATA_DIR`` holds.
    """
    if "data_dir" not in kwargs:
        return False
    if func.__module__.endswith(".data"):
        return True
    if kwargs.get("data_option") is not None:  # evaluate's --data (train's spelling) replaces its DATA argument
        kwargs = {**kwargs, "data": kwargs["data_option"]}
    if any(isinstance(kwargs.get(key), str) and kwargs[key].lower() == "imdb"
           for key in ("data", "test_data", "corpus", "source")):
        return True
    if "vectors" in kwargs:
        vectors = kwargs["vectors"]
        if vectors is None:  # train's recipe vectors, unless --set vectors=... replaces them
            try:
                settings = _settings(kwargs.get("settings"))
            except Exception:  # noqa: BLE001  (a bad --set: the command's own parsing names it)
                settings = {}
            if "vectors" in settings:
                vectors = settings["vectors"]
                return vectors is not None and _names_data(vectors)
        return _names_data(vectors)
    if func.__module__.endswith(".vectors") and "source" in kwargs:  # vectors info / convert SOURCE
        return kwargs["source"] is not None and _names_data(kwargs["source"])
    return False


def _check_data_dir_variable(func, kwargs) -> None:
    """``TOOLKIT_DATA_DIR`` must name a folder, for a command that reads it without ``--data-dir``.

    Before, a typo surfaced only where the data were first fetched: for
    ``train`` after TensorFlow had loaded (about 9 s).
    """
    from .._config import DATA_DIR_ENV

    value = os.environ.get(DATA_DIR_ENV) or None
    if value is None or kwargs.get("data_dir") is not None or not _reads_data_dir(func, kwargs):
        return
    path = Path(value).expanduser()
    if path.is_dir():
        return
    what = _not_a_folder(path)
    raise DataError(
        f"The data folder {value} (from {DATA_DIR_ENV}) {what}. Set {DATA_DIR_ENV} to the offline data folder "
        f"(the one holding SHA256SUMS), or unset it to use the cache (and download what it lacks), or give --data-dir."
    )


def _check_cache_dir(func, kwargs) -> None:
    """The cache folder (``--cache-dir``, else ``TOOLKIT_CACHE_DIR``) can be a folder: checked before anything loads.

    A file there (or a file above it) is an error: no cache could ever be
    written or read there, and every step would redo its work, each with
    its own warning. A folder that exists but cannot be written (a cache
    shared read-only) is used as it is: one warning says that nothing new
    is cached.
    """
    from .._config import CACHE_DIR_ENV, get_cache_dir

    if "cache_dir" not in kwargs:
        return
    given = kwargs["cache_dir"]
    if given is None and not os.environ.get(CACHE_DIR_ENV):
        return  # the platform's user cache folder
    source = "--cache-dir" if given is not None else CACHE_DIR_ENV
    path = get_cache_dir(given)
    fix = ("give --cache-dir a folder" if given is not None else
           f"set {CACHE_DIR_ENV} to a folder, or unset it to use the user cache folder")
    if path.exists() and not path.is_dir():
        raise DataError(f"The cache folder {path} (from {source}) is a file, not a folder; {fix} "
                        "(a missing folder is created).")
    link = broken_link(path)
    if link is not None:  # else: "[Errno 17] File exists" from every step that writes the cache
        raise DataError(f"The cache folder {path} (from {source}) cannot be created: {link} is a symbolic link to "
                        f"{os.readlink(link)}, which does not exist; create that folder, or {fix}.")
    parent = path if path.is_dir() else nearest_existing_parent(path)
    if not parent.is_dir():
        raise DataError(f"The cache folder {path} (from {source}) cannot be created: {parent} is a file, not a "
                        f"folder; {fix}.")
    reads_only = func.__module__.endswith(".data") and func.__name__ in ("data_list", "data_info")
    if not reads_only and not os.access(parent, os.W_OK | os.X_OK):
        what = "is not writable" if parent == path else f"cannot be created (no write permission in {parent})"
        _info(f"Warning: the cache folder {path} (from {source}) {what}: what it already holds is used, but "
              f"nothing new is cached, so each run redoes those steps; {fix.replace('a folder', 'a writable folder')}.")


def _check_folder_variables(func, kwargs) -> None:
    """The data and cache folders a command reads, checked by :func:`_errors_to_exit` before the command runs."""
    _check_data_dir_variable(func, kwargs)
    _check_cache_dir(func, kwargs)


_opt_data_dir = typer.Option(None, "--data-dir",
                             help="Offline data folder, also for the vectors a model loads (default: $TOOLKIT_DATA_DIR).")


_opt_cache_dir = typer.Option(None, "--cache-dir", help="Cache folder (default: $TOOLKIT_CACHE_DIR or the user cache).")



@contextlib.contextmanager
def data_folders(data_dir=None, cache_dir=None):
    """``--data-dir`` / ``--cache-dir`` for everything a block runs, worker processes included.

    Estimators find their vectors (a manifest name such as ``glove.6B.50d``,
    the ``unsup`` reviews of a domain spec) and their caches through
    ``TOOLKIT_DATA_DIR`` and ``TOOLKIT_CACHE_DIR``, in this process and in
    the joblib or Dask worker processes that fit them; they take no folder
    parameter. So the block runs with those variables set to the given
    folders (absolute), and the previous values come back after it. A
    folder left as None keeps its variable as it is. Worker processes
    started before the block (a pool reused from an earlier call) keep the
    environment they started with.
    """
    from .._config import CACHE_DIR_ENV, DATA_DIR_ENV

    changes = {name: str(Path(value).expanduser().resolve())
               for name, value in ((DATA_DIR_ENV, data_dir), (CACHE_DIR_ENV, cache_dir)) if value is not None}
    previous = {name: os.environ.get(name) for name in changes}
    os.environ.update(changes)
    try:
        yield
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _stack_in(ident: int, prefixes: tuple[str, ...]) -> bool:
    frame = sys._current_frames().get(ident)
    while frame is not None:
        if frame.f_globals.get("__name__", "").startswith(prefixes):
            return True
        frame = frame.f_back
    return False


@contextlib.contextmanager
def _stop_on_interrupt(poll: float = 1.0):
    """Make sure a Ctrl-C during the block stops it, even one that native code swallows.

    The SIGINT handler records the interrupt and raises ``KeyboardInterrupt``
    as Python's own does. Should a library catch that exception (code called
    from TensorFlow's runtime can), a watchdog thread raises it again in the
    main thread every ``poll`` seconds while the main thread is still inside
    Keras or TensorFlow, and the block ends with ``KeyboardInterrupt`` at the
    latest when it returns: nothing after an interrupted training runs, so no
    output is written. Outside the main thread, or when SIGINT is ignored
    (a background job), nothing changes.
    """
    import _thread
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread() or \
            signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        yield
        return
    interrupted, done = threading.Event(), threading.Event()
    main_ident = threading.get_ident()

    def handler(signum, frame):
        interrupted.set()
        raise KeyboardInterrupt

    def watchdog():
        while not done.wait(poll):
            if interrupted.is_set() and _stack_in(main_ident, ("keras", "tensorflow")):
                logger.debug("the interrupt was swallowed inside Keras/TensorFlow; raising it again")
                _thread.interrupt_main()

    previous = signal.signal(signal.SIGINT, handler)
    thread = threading.Thread(target=watchdog, name="toolkit-interrupt-watchdog", daemon=True)
    thread.start()
    try:
        yield
        if interrupted.is_set():
            raise KeyboardInterrupt
    finally:
        done.set()
        signal.signal(signal.SIGINT, previous)
