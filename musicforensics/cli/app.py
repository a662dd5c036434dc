"""The ``musicforensics`` Typer application.

Commands live in ``cmd_*.py`` modules beside this one, each exposing ``register(app)``; :data:`COMMANDS`
lists them in the order ``--help`` shows them. Importing this loads typer only: no numba kernels, no scipy,
no matplotlib (``musicforensics --help`` stays fast).
"""

from __future__ import annotations

import os
import signal
import sys

import typer

from .._version import __version__
from ..config import one_blas_thread_by_default
from ..errors import Interrupted
from ..exit_codes import EXIT_BROKEN_PIPE
from . import cmd_ai, cmd_evaluate, cmd_explain, cmd_lossy, cmd_report, cmd_scan, cmd_store, cmd_train

app = typer.Typer(
    name="musicforensics",
    help="Forensics for music audio: was this 'lossless' file ever lossy, is it fake hi-res, "
    "was it made by a neural generator? Every verdict comes with evidence you can check.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    add_completion=False,
    rich_markup_mode=None,
)


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"musicforensics {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", metavar="", help="Print the version and exit.", callback=_version_callback, is_eager=True),
) -> None:
    """Forensics for music audio."""


#: The command modules, in the order ``--help`` lists them.
COMMANDS = (cmd_scan, cmd_explain, cmd_lossy, cmd_ai, cmd_report, cmd_evaluate, cmd_train, cmd_store)
for _module in COMMANDS:
    _module.register(app)


class _StdoutGuard:
    """Standard output of the console script: a write to a closed pipe (``scan ... | head -1``) raises
    :class:`~musicforensics.errors.Interrupted` with exit code 141 instead of ``BrokenPipeError``, so it stops the
    work at once (engines terminate their workers), passes through Typer's own EPIPE handling (which would exit
    1, the "findings" code) and ends the process like a shell tool killed by SIGPIPE."""

    def __init__(self, stream, state: dict | None = None):
        self._stream = stream
        self._state = {} if state is None else state

    def _guarded(self, call, *args):
        try:
            return call(*args)
        except BrokenPipeError:
            # the run is stopping: the pipe watcher's own interrupt, if it comes now, must not stop the clean-up
            self._state["pipe_closed"] = self._state["stopping"] = True
            raise Interrupted(_PIPE_CLOSED, EXIT_BROKEN_PIPE) from None

    def write(self, text):
        return self._guarded(self._stream.write, text)

    def writelines(self, lines):
        return self._guarded(self._stream.writelines, lines)

    def flush(self):
        return self._guarded(self._stream.flush)

    def __getattr__(self, name):
        return getattr(self._stream, name)


_PIPE_CLOSED = "standard output was closed"


def _install_signal_handlers(state: dict) -> None:
    """Ctrl-C (SIGINT) and SIGTERM raise :class:`Interrupted` in the main thread (not KeyboardInterrupt, which
    Click would turn into "Aborted!" and exit 1). A second signal while stopping ends the process at once.
    :func:`_watch_stdout_pipe` reuses the SIGINT handler (with ``state["pipe_closed"]`` set) to stop the main
    thread when the reader of a pipe goes away."""

    def handler(signum, _frame):
        if state.get("done") and state.get("pipe_closed"):
            return  # the command has finished; the reader leaving now changes nothing
        swallowed = state.pop("swallowed", None)
        if swallowed is not None:
            raise swallowed
        from_watcher = state.pop("pipe_signal", False)
        if state.get("stopping"):
            if from_watcher:
                return  # the run is already stopping (a write found the pipe closed): let the clean-up finish
            os._exit(128 + signum)
        state["stopping"] = True
        if state.get("pipe_closed"):
            raise Interrupted(_PIPE_CLOSED, EXIT_BROKEN_PIPE)
        name = "Ctrl-C (SIGINT)" if signum == signal.SIGINT else signal.Signals(signum).name
        raise Interrupted(f"interrupted by {name}", 128 + signum)

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)
    _rearm_swallowed_interrupts(state)


def _rearm_swallowed_interrupts(state: dict) -> None:
    """A signal handler runs between any two bytecodes of the main thread, also inside a weakref callback or a
    ``__del__`` (``concurrent.futures`` has both), where Python prints an exception and drops it. Such an
    :class:`Interrupted` is not printed but raised again at the next bytecode outside the callback."""
    import _thread
    import threading
    import time

    default_hook = sys.unraisablehook

    def hook(unraisable):
        if isinstance(unraisable.exc_value, Interrupted):
            state["swallowed"] = unraisable.exc_value
            hook_left = threading.Event()

            def rearm():  # once this hook has returned: a handler run inside it would be dropped again
                hook_left.wait()
                time.sleep(0.01)  # the few bytecodes between set() and the hook's return
                _thread.interrupt_main(signal.SIGINT)

            threading.Thread(target=rearm, daemon=True).start()
            hook_left.set()
            return
        default_hook(unraisable)

    sys.unraisablehook = hook


def _watch_stdout_pipe(state: dict) -> None:
    """When standard output is a pipe, stop the run as soon as its reader goes away (``scan -f jsonl | head
    -1``), not at the next write, which may be minutes later: Linux reports POLLERR on a pipe's write end once
    no reader is left, and a daemon thread waiting for it interrupts the main thread."""
    import _thread
    import select
    import stat
    import threading

    try:
        fd = sys.__stdout__.fileno()
        if not stat.S_ISFIFO(os.fstat(fd).st_mode) or not hasattr(select, "poll"):
            return
    except (OSError, ValueError, AttributeError):
        return

    def wait():
        poller = select.poll()
        poller.register(fd, 0)  # no events asked: POLLERR / POLLHUP are always reported
        while True:
            events = poller.poll()
            if any(ev & (select.POLLERR | select.POLLHUP | select.POLLNVAL) for _fd, ev in events):
                state["pipe_closed"] = state["pipe_signal"] = True
                _thread.interrupt_main(signal.SIGINT)
                return

    threading.Thread(target=wait, name="musicforensics-stdout-watch", daemon=True).start()


def _silence_stdout() -> None:
    """Point file descriptor 1 at /dev/null, so the interpreter's last flush of a closed pipe is silent."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.__stdout__.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass


def main() -> None:
    """Console-script entry point: exit codes 0/1/2/3 from the command, 130 after Ctrl-C, 143 after SIGTERM,
    141 when the reader of standard output went away."""
    state: dict = {}
    one_blas_thread_by_default()  # the command has not loaded NumPy yet; its workers inherit the setting
    try:
        _install_signal_handlers(state)
        sys.stdout = _StdoutGuard(sys.stdout, state)
        _watch_stdout_pipe(state)
        try:
            app(prog_name="musicforensics")
        finally:
            state["done"] = True
    except Interrupted as exc:
        if exc.exit_code == EXIT_BROKEN_PIPE:
            _silence_stdout()
        else:
            try:
                sys.stderr.write(f"musicforensics: {exc.why}\n")
                sys.stderr.flush()
            except OSError:
                pass
        sys.exit(exc.exit_code)
    finally:
        try:
            sys.stdout.flush()
        except Interrupted:
            _silence_stdout()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
