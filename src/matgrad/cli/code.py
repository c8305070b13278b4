"""`matgrad code "EXPR" --wrt ... --shape ... --backend numpy`: print generated code.

The output is a plain Python function computing the expression and its gradients, with
a docstring naming the shapes, ready to paste into a project.
"""
from __future__ import annotations

import argparse

from . import run


def parser() -> argparse.ArgumentParser:
    from ..codegen import BACKENDS
    p = argparse.ArgumentParser(
        prog="matgrad code",
        description="Print a Python function computing a scalar expression and its "
                    "gradients in one pass.")
    p.add_argument("expr", help="the expression, e.g. 'sum((relu(X @ w + b) - y)**2) / m'; "
                   "assignments 'z = ...;' name intermediates in the code")
    p.add_argument("--wrt", help="variables to differentiate by, comma-separated "
                   "(default: all); an empty value prints the value alone")
    p.add_argument("--shape", "--shapes", dest="shape", default=None,
                   help="declarations, e.g. 'X: m,n; w: n; b: scalar' (others inferred)")
    p.add_argument("--backend", default="numpy", choices=sorted(BACKENDS),
                   help="numpy: array-API code for NumPy, CuPy, PyTorch and Dask arrays "
                        "(default); jax; torch")
    p.add_argument("--name", default=None, help="the function's name")
    return p


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)

    def go() -> int:
        from ..codegen import generate_source
        from ..errors import MatgradError
        from ..parser import parse_program
        program = parse_program(args.expr, args.shape)
        wrt = None
        if args.wrt is not None:
            wrt = [n.strip() for n in args.wrt.split(",") if n.strip()]
            unknown = [n for n in wrt if n not in program.variables]
            if unknown:
                raise MatgradError(f"--wrt names {', '.join(unknown)}, which the expression "
                                   "does not use; it uses "
                                   f"{', '.join(program.variables) or 'no variables'}")
        if args.name is not None and not args.name.isidentifier():
            raise MatgradError(f"--name {args.name!r} is not a Python identifier")
        print(generate_source(program.result, wrt, args.backend,
                              definitions=program.definitions, name=args.name,
                              loss_name=program.result_name or "L"), end="")
        return 0

    return run(go)
