"""What `matgrad jacobian`, `matgrad hessian` and `matgrad code --kind ...` share: their
options, the derivatives they ask the library for, and how those are printed.

A derivative is printed with its name and shape: in matrix notation where it is a matrix,
in index notation always, and in its Kronecker (vec) form where it has one. `--verify`
runs the library's own check of a derivative (`Derivative.verify`: its index form against
central finite differences of the next-lower derivative along random directions). The
choice of derivative, its LaTeX forms and the check's line are `matgrad.tensor_report`'s,
which the web page uses too.
"""
from __future__ import annotations

import argparse
import shlex

from .. import tensor_report
from . import diagnostic

KINDS = tensor_report.KINDS


def add_options(p: argparse.ArgumentParser, kind: str) -> None:
    """The options of `matgrad jacobian` (kind 'jacobian') or `matgrad hessian`."""
    what = "function" if kind == "jacobian" else "scalar"
    p.add_argument("expr", metavar="EXPR", help=f"the {what}, e.g. "
                   + ("'X @ w' or 'softmax(W @ x)'" if kind == "jacobian" else
                      "'sum((X @ w - y)**2)'")
                   + "; assignments 'z = ...;' name intermediates, and the last one names "
                     "the result")
    p.add_argument("--wrt", metavar="X,w", help="the variables to differentiate by, "
                   "comma-separated, one result each (default: all)")
    p.add_argument("--shape", "--shapes", dest="shape", default=None, metavar="DECLS",
                   help="declarations, e.g. 'X: m,n; w: n; b: scalar' (others inferred "
                        "from use)")
    default = 1 if kind == "jacobian" else 2
    p.add_argument("--order", type=int, default=default, metavar="N",
                   help=f"the order of the derivative (default {default}"
                        + ("; 2 and more give tensors of higher order)" if kind == "jacobian"
                           else "; 3, 4, ... give third, fourth, ... derivatives, in "
                                "index notation)"))
    if kind == "jacobian":
        p.add_argument("--layout", choices=("numerator", "denominator"), default="numerator",
                       help="numerator: the function's axes first (rows), the variable's "
                            "after (the default); denominator: the transpose")
    p.add_argument("--sizes", default=None, metavar="SIZES",
                   help="with --verify: sizes of dimensions at the random points, e.g. "
                        "'m=7, n=5' (default: distinct sizes at which the expression is "
                        "defined)")
    p.add_argument("--latex", action="store_true",
                   help="print LaTeX (standard output is then LaTeX alone)")
    p.add_argument("--ascii", action="store_true",
                   help="print in the input language (ASCII) instead of Unicode")
    p.add_argument("--verify", action="store_true",
                   help="check each result against central finite differences of the "
                        "next-lower derivative, at random points")
    p.add_argument("--steps", action="store_true",
                   help="steps exist for gradients only (matgrad EXPR --steps); here it "
                        "is an error that says so")
    if kind == "jacobian":
        p.add_argument("--explain", action="store_true",
                       help="explain a tensor-valued Jacobian: what it is, and how the "
                            "chain rule contracts it with a gradient to give a matrix")


def derivatives(program, kind: str, wrt: list | None, order: int, layout: str = "numerator",
                shape: str | None = None, expr: str | None = None,
                command: str = "matgrad") -> list:
    """[(variable name, Derivative)] for each variable of wrt (default: all)."""
    from ..errors import MatgradError
    F = program.result
    names = wrt if wrt is not None else list(program.variables)
    if not names:
        raise MatgradError("the expression has no variables to differentiate by")
    unknown = [n for n in names if n not in program.variables]
    if unknown:
        raise MatgradError(f"--wrt names {', '.join(unknown)}, which the expression does "
                           f"not use; it uses {', '.join(program.variables) or 'no variables'}")
    if isinstance(order, bool) or not isinstance(order, int) or order < 1:
        raise MatgradError(f"--order must be a positive integer, not {order}")
    if kind == "hessian":
        if order < 2:
            raise MatgradError("the Hessian is the second derivative (--order 2, the "
                               "default; 3, 4, ... for higher ones); the first derivative "
                               "is the gradient (matgrad EXPR) or the Jacobian "
                               "(matgrad jacobian EXPR)")
        if F.shape != (1, 1):
            rows, cols = F.shape
            suggestion = _command(f"{command} jacobian" if command == "matgrad" else command,
                                  expr, names, shape,
                                  ["--kind", "jacobian"] if command != "matgrad" else [],
                                  ["--order", str(order)])
            raise MatgradError(f"the Hessian needs a scalar expression, but this one is "
                               f"{rows}×{cols}; for the derivative of order {order} of a "
                               f"vector or matrix run: {suggestion}")
    if layout != "numerator" and order != 1:
        raise MatgradError("--layout denominator applies to first derivatives (--order 1); "
                           "higher derivatives have the function's axes first")
    name = program.result_name or None
    return [(n, tensor_report.derivative_of(kind, F, program.variables[n], order, layout,
                                            name))
            for n in names]


def _command(head: str, expr, names, shape, middle: list, tail: list) -> str:
    parts = [head, shlex.quote(expr or "EXPR"), *middle, "--wrt", ",".join(names)]
    if shape:
        parts += ["--shape", shlex.quote(shape)]
    return " ".join(parts + tail)


# ---- text ---------------------------------------------------------------------------------


text_block = tensor_report.text_block


def heading(d) -> str:
    """The first line of the ASCII description: name, shape and layout."""
    return text_block(d, unicode=False).splitlines()[0]


# ---- the commands -------------------------------------------------------------------------


def main(kind: str, argv: list[str], parser: argparse.ArgumentParser) -> int:
    from . import run
    args = parser.parse_args(argv)

    def go() -> int:
        from ..errors import MatgradError
        from ..parser import parse_program
        from .derive import inferred_note, wrt_names
        if args.steps:
            raise MatgradError(
                "--steps: matgrad derives gradients of a scalar step by step (matgrad "
                "EXPR --wrt x --steps), but has no steps for Jacobians or Hessians"
                + ("; --explain says what a Jacobian is and how the chain rule "
                   "contracts it" if kind == "jacobian" else ""))
        explain = getattr(args, "explain", False)
        if explain and args.latex:
            raise MatgradError("--explain is text; it has no LaTeX form")
        if args.sizes is not None and not args.verify:
            raise MatgradError("--sizes sets the sizes of the numeric check; use it with "
                               "--verify")
        program = parse_program(args.expr, args.shape, syntax=args.syntax)
        note = inferred_note(program)
        if note:
            diagnostic(note)
        results = derivatives(program, kind, wrt_names(args.wrt), args.order,
                              getattr(args, "layout", "numerator"), args.shape, args.expr)
        sizes = None
        if args.sizes is not None:
            from ..expr import dimensions
            from ..verify import parse_sizes
            sizes = parse_sizes(args.sizes, dimensions(program.result))
        unicode = not args.ascii and not args.latex
        checks = []
        if args.verify:
            checks = [tensor_report.verification(d, sizes, unicode=unicode)
                      for _, d in results]
        if args.latex:
            print(tensor_report.aligned([d for _, d in results]))
            for _, d in results:
                print(f"% {heading(d)}")
            for c in checks:
                print(f"% {c.text}")
        else:
            blocks = []
            for n, (_, d) in enumerate(results):
                block = d.explain(unicode=unicode) if explain else \
                    text_block(d, unicode=unicode)
                if checks:
                    block += "\n" + checks[n].text
                blocks.append(block)
            print("\n\n".join(blocks))
        return 0 if all(c.ok for c in checks) else 1

    return run(go)
