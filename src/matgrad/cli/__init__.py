"""The `matgrad` command line.

    matgrad                          the built-in example (a one-layer ReLU network)
    matgrad "EXPR" --wrt X,w --shape "X: m,n; w: n" [--latex] [--verify]
    matgrad COMMAND ...              other commands (matgrad --help lists them)

Each command lives in a module of its own that defines main(argv) -> int; this one
dispatches, and turns every failure into a message and an exit status: 2 for an error
(bad input, or an internal error, reported in one line), 1 for a verdict other than
correct or a failed verification, 0 otherwise. The CLI holds no mathematics: it parses
arguments, calls the library and prints.
"""
from __future__ import annotations

import importlib
import os
import sys

# command -> (module, one-line description); each module defines main(argv) -> int
COMMANDS = {
    "derive": ("matgrad.cli.derive", "gradients of a scalar (the default command)"),
    "jacobian": ("matgrad.cli.jacobian", ("Jacobians: a matrix, or a tensor in index "
                                          "notation and vec form")),
    "hessian": ("matgrad.cli.hessian", ("Hessians of a scalar (--order N: higher "
                                        "derivatives)")),
    "check": ("matgrad.cli.check", "check a claimed gradient against the right one"),
    "code": ("matgrad.cli.code", ("NumPy, JAX or PyTorch code for gradients, Jacobians, "
                                  "Hessians")),
    "example": ("matgrad.cli.derive", "the built-in example (matgrad with no arguments)"),
    "serve": ("matgrad.cli.serve", "the local web page"),
}

EXIT_OK, EXIT_FAILED, EXIT_ERROR = 0, 1, 2


def main(argv: list[str] | None = None) -> int:
    """Run one command; every outcome is an exit status (see the module's doc)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        _utf8_streams()
        argv, timeout = _timeout(argv)
        if timeout is None:
            status = _dispatch(argv)
        else:  # in a worker process, stopped for good when the time is up
            from ..isolation import call
            sys.stdout.flush()
            status = call(_dispatch_in_worker, argv, timeout=timeout)
        sys.stdout.flush()
        return status
    except SystemExit:  # argparse: --help (0) or a usage error (2), already printed
        _flush()
        raise
    except BrokenPipeError:
        return _closed_pipe()
    except KeyboardInterrupt:
        return 130
    except Exception as err:  # noqa: BLE001 - every failure becomes a one-line message
        return report_error(err)


def add_syntax_option(p) -> None:
    """`--syntax`: the notation of the expression (auto tells them apart)."""
    p.add_argument("--syntax", choices=("auto", "python", "math", "latex", "matrixcalculus"),
                   default="auto",
                   help="the notation of the expression: python (X.T @ w), math (the "
                        "Unicode matgrad prints: Xᵀ w, ‖r‖²), latex (X^\\top w), "
                        "matrixcalculus (matrixcalculus.org's input: X'*w, never chosen "
                        "by auto); default auto, which tells the first three apart")


def add_timeout_option(p) -> None:
    """`--timeout SECONDS`, which `main` takes out of the arguments before the command
    sees them: the command then runs in a worker process that is stopped at the limit."""
    p.add_argument("--timeout", type=float, default=None, metavar="SECONDS",
                   help="stop the work after this many seconds (it runs in a separate "
                        "process, which is killed then); exit status 2")


def _timeout(argv: list[str]) -> tuple[list[str], float | None]:
    """(the arguments without --timeout, its value) for every command but serve, whose
    --timeout is the limit of each derivation it serves."""
    if argv and argv[0] == "serve":
        return argv, None
    out, value, it = [], None, iter(range(len(argv)))
    for i in it:
        arg = argv[i]
        if arg == "--timeout" or arg.startswith("--timeout="):
            text = arg.split("=", 1)[1] if "=" in arg else (
                argv[i + 1] if i + 1 < len(argv) else "")
            if "=" not in arg:
                next(it, None)
            try:
                value = float(text)
            except ValueError:
                value = -1.0
            if not value > 0:
                from ..errors import MatgradError
                raise MatgradError(f"--timeout must be a positive number of seconds, not "
                                   f"{text!r}")
            continue
        out.append(arg)
    return out, value


def _dispatch_in_worker(argv: list[str]) -> int:
    """_dispatch in a worker process: its output written before it returns, and
    argparse's exits (--help, a usage error) as exit statuses."""
    try:
        return _dispatch(argv)
    except SystemExit as done:
        return done.code if isinstance(done.code, int) else EXIT_ERROR
    finally:
        _flush()
        sys.stderr.flush()


def _dispatch(argv: list[str]) -> int:
    if argv and argv[0] in ("-h", "--help", "help") and len(argv) == 1:
        from . import derive
        derive.parser().print_help()
        return EXIT_OK
    if argv and argv[0] in ("--version", "-V"):
        from .. import __version__
        print(f"matgrad {__version__}")
        return EXIT_OK
    if argv and argv[0] in COMMANDS:
        mod = importlib.import_module(COMMANDS[argv[0]][0])
        if argv[0] == "example":
            return mod.example_main(argv[1:])
        return mod.main(argv[1:])
    from . import derive
    return derive.main(argv)


def commands_text() -> str:
    """The list of commands, for the help of `matgrad`."""
    return "\n".join(f"  {name:<9} {text}" for name, (_, text) in COMMANDS.items())


def report_error(err: BaseException) -> int:
    """Print the message for an exception on standard error; the exit status (2)."""
    from ..errors import MatgradError
    if isinstance(err, MatgradError):
        print(f"error: {err}", file=sys.stderr)
    else:
        text = " ".join(str(err).split()) or "(no message)"
        print(f"internal error: {type(err).__name__}: {text} -- this is a bug in matgrad; "
              "please report it with the command that caused it", file=sys.stderr)
    return EXIT_ERROR


def run(entry) -> int:
    """Call entry(), turning every failure into a message and exit status 2."""
    try:
        status = entry()
        sys.stdout.flush()
        return status
    except BrokenPipeError:
        return _closed_pipe()
    except KeyboardInterrupt:
        return 130
    except Exception as err:  # noqa: BLE001
        return report_error(err)


def diagnostic(text: str) -> None:
    """A note about the input (not part of the result): always on standard error, so
    that standard output holds the result alone (`--latex > f.tex` stays LaTeX)."""
    print(text, file=sys.stderr)


def _utf8_streams() -> None:
    for stream in (sys.stdout, sys.stderr):
        enc = getattr(stream, "encoding", None)
        if enc and enc.lower() not in ("utf-8", "utf8"):
            try:
                stream.reconfigure(encoding="utf-8")
            except (AttributeError, ValueError):
                pass


def _flush() -> None:
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        _closed_pipe()
    except (OSError, ValueError):
        pass


def _closed_pipe() -> int:
    """Output piped into a reader that stopped early (`matgrad --help | head -1`): not
    an error. What is still buffered goes nowhere, so that the interpreter's last flush
    cannot fail either."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # a stream without a file descriptor
        return EXIT_OK
    return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
