"""`matgrad code "EXPR" --wrt ... --shape ... --backend numpy`: print generated code.

The output is a plain Python function, with a docstring naming the shapes, ready to paste
into a project: by default the value of a scalar expression and its gradients in one
pass; with `--kind jacobian` or `--kind hessian` the full Jacobian or Hessian (a matrix,
or the array of a tensor computed by einsum).
"""
from __future__ import annotations

import argparse
import shlex

from . import add_syntax_option, add_timeout_option, diagnostic, run

EXAMPLES = """\
examples:
  matgrad code "sum((relu(X @ w + b) - y)**2) / m" --wrt w,b,X --shape "X: m,n; w: n; b: scalar"
  matgrad code "sum(sigmoid(X @ w))" --shape "X: m,n; w: n" --backend torch --name loss_grad
  matgrad code "tanh(A @ x)" --kind jacobian --wrt x --shape "A: m,n; x: n"
  matgrad code "X @ w" --kind jacobian --wrt X --shape "X: m,n; w: n" --backend jax
  matgrad code "sum((X @ w - y)**2)" --kind hessian --wrt w --shape "X: m,n; w: n"
  matgrad code "X @ w" --wrt "" --shape "X: m,n; w: n"      (the value alone)

Exit status: 0 on success, 2 on an error."""


def parser() -> argparse.ArgumentParser:
    from ..codegen import BACKENDS
    p = argparse.ArgumentParser(
        prog="matgrad code",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Print a Python function computing a scalar expression and its "
                    "gradients in one pass\n(--kind gradient, the default), or the "
                    "Jacobian or Hessian of an expression (--kind jacobian,\n--kind "
                    "hessian).",
        epilog=EXAMPLES)
    p.add_argument("expr", metavar="EXPR", help="the expression, e.g. "
                   "'sum((relu(X @ w + b) - y)**2) / m'; assignments 'z = ...;' name "
                   "intermediates in the code")
    p.add_argument("--wrt", metavar="X,w", help="variables to differentiate by, "
                   "comma-separated (default: all); an empty value prints the value alone; "
                   "one variable for --kind jacobian or hessian")
    p.add_argument("--shape", "--shapes", dest="shape", default=None, metavar="DECLS",
                   help="declarations, e.g. 'X: m,n; w: n; b: scalar' (others inferred)")
    p.add_argument("--kind", choices=("gradient", "jacobian", "hessian"), default="gradient",
                   help="gradient: the value and its gradients (the default); jacobian: "
                        "the Jacobian; hessian: the Hessian of a scalar")
    p.add_argument("--order", type=int, default=None, metavar="N",
                   help="with --kind jacobian or hessian: the order of the derivative "
                        "(default 1 for a Jacobian, 2 for a Hessian)")
    p.add_argument("--layout", choices=("numerator", "denominator"), default=None,
                   help="with --kind jacobian: the layout of a matrix result (default "
                        "numerator: the function's axes first)")
    p.add_argument("--backend", default="numpy", choices=sorted(BACKENDS),
                   help="numpy: array-API code for NumPy, CuPy, PyTorch and Dask arrays "
                        "(default); jax; torch")
    p.add_argument("--name", default=None, help="the function's name")
    add_syntax_option(p)
    add_timeout_option(p)
    return p


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)

    def go() -> int:
        from ..codegen import generate_source
        from ..errors import MatgradError
        from ..parser import parse_program
        from .derive import check_wrt, inferred_note
        if args.name is not None and not args.name.isidentifier():
            raise MatgradError(f"--name {args.name!r} is not a Python identifier")
        program = parse_program(args.expr, args.shape, syntax=args.syntax)
        note = inferred_note(program)
        if note:
            diagnostic(note)
        wrt = None
        if args.wrt is not None:
            wrt = [n.strip() for n in args.wrt.split(",") if n.strip()]
            check_wrt(program, wrt)
        if args.kind != "gradient":
            print(_tensor_code(program, args, wrt), end="")
            return 0
        for option in ("order", "layout"):
            if getattr(args, option) is not None:
                raise MatgradError(f"--{option} applies to --kind jacobian or --kind hessian")
        if program.result.shape != (1, 1) and wrt != []:
            raise MatgradError(_not_scalar(program, args, wrt))
        print(generate_source(program.result, wrt, args.backend,
                              definitions=program.definitions, name=args.name,
                              loss_name=program.result_name or "L"), end="")
        return 0

    return run(go)


def _not_scalar(program, args, wrt) -> str:
    rows, cols = program.result.shape
    names = ",".join(wrt or list(program.variables)) or "X"
    shape = f" --shape {shlex.quote(args.shape)}" if args.shape else ""
    expr = shlex.quote(args.expr)
    return (f"gradients need a scalar expression, but this one is {rows}×{cols}; for code "
            f"computing its Jacobian run: matgrad code {expr} --kind jacobian --wrt "
            f"{names}{shape} (one variable at a time), or for its value alone: "
            f"matgrad code {expr} --wrt ''{shape}")


def _tensor_code(program, args, wrt) -> str:
    """The source of a function returning the Jacobian or Hessian, with a comment line
    naming it."""
    from ..errors import MatgradError
    from . import tensors
    if args.layout is not None and args.kind != "jacobian":
        raise MatgradError("--layout applies to --kind jacobian")
    names = wrt if wrt is not None else list(program.variables)
    if len(names) != 1:
        raise MatgradError(f"--kind {args.kind} generates code for one variable; name it "
                           f"with --wrt (the expression uses "
                           f"{', '.join(program.variables) or 'no variables'})")
    order = args.order if args.order is not None else (1 if args.kind == "jacobian" else 2)
    [(_, d)] = tensors.derivatives(program, args.kind, names, order,
                                   args.layout or "numerator", args.shape, args.expr,
                                   command="matgrad code")
    from ..tensor_report import source
    return source(d, args.backend, name=args.name)
