"""The `matgrad` command line.

    matgrad                          the built-in example (a one-layer ReLU network)
    matgrad "EXPR" --wrt X,w --shape "X: m,n; w: n" [--latex] [--verify]
    matgrad COMMAND ...              other commands (matgrad --help lists them)

Subcommands live in their own modules; this one only dispatches. The CLI holds no
mathematics: it parses arguments, calls the library and prints.
"""
from __future__ import annotations

import importlib
import os
import sys

# command -> (module, one-line description); each module defines main(argv) -> int
COMMANDS = {
    "derive": ("matgrad.cli.derive", "gradients of a scalar expression (the default)"),
    "example": ("matgrad.cli.derive", "the built-in example"),
    "check": ("matgrad.cli.check", "check a claimed gradient (matgrad check EXPR --wrt X "
                                   "--claim ...)"),
    "serve": ("matgrad.cli.serve", "the local web page (matgrad serve [--port N])"),
    "code": ("matgrad.cli.code", "generated code for the gradients (matgrad code EXPR "
                                 "--backend numpy|jax|torch)"),
}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if sys.stdout.encoding and sys.stdout.encoding.lower() not in ("utf-8", "utf8"):
        try:
            sys.stdout.reconfigure(encoding="utf-8")
            sys.stderr.reconfigure(encoding="utf-8")
        except (AttributeError, ValueError):
            pass
    if argv and argv[0] in ("-h", "--help") and len(argv) == 1:
        print(__doc__.strip())
        print("\ncommands:")
        for name, (_, text) in COMMANDS.items():
            print(f"  {name:<10} {text}")
        return 0
    if argv and argv[0] in ("--version", "-V"):
        from .. import __version__
        print(f"matgrad {__version__}")
        return 0
    if argv and argv[0] in COMMANDS:
        module, _ = COMMANDS[argv[0]]
        mod = importlib.import_module(module)
        if argv[0] == "example":
            return mod.main([])
        return mod.main(argv[1:])
    from . import derive
    return derive.main(argv)


def run(entry) -> int:
    """Call entry(), turning matgrad's errors into a message and exit status 2."""
    from ..errors import MatgradError
    try:
        return entry()
    except MatgradError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # output piped into head and closed early: not an error
        try:
            sys.stdout = open(os.devnull, "w")
        except OSError:
            pass
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
