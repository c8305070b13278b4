"""`matgrad check "EXPR" --wrt X --claim "..." --shape "..." [--sizes "m=7, n=5"]`: check
a claimed gradient.

Prints the verdict (correct, transposed, wrong-shape, wrong-value, undetermined) and
why. Exit status 0 when the claim is correct, 1 for any other verdict (undetermined
included: no random point was found where the loss is defined), 2 on bad input.
"""
from __future__ import annotations

import argparse

from . import add_syntax_option, add_timeout_option, run

EXAMPLES = """\
examples:
  matgrad check "sum((X @ w - y)**2)" --wrt w --shape "X: m,n; w: n; y: m" \\
      --claim "2 * X.T @ (X @ w - y)"
      verdict: correct (exit status 0)
  matgrad check "z = X @ w + b; yhat = relu(z); L = sum((yhat - y)**2) / m" --wrt X \\
      --shape "X: m,n; w: n; b: scalar; y: m" --claim "2/m * w @ (heaviside(z) * (yhat - y)).T"
      verdict: transposed (exit status 1)
  matgrad check "logdet(X.T @ X)" --wrt X --shape "X: m,n" --claim "2 * X @ inv(X.T @ X)" \\
      --sizes "m=7, n=3"

Exit status: 0 when the claim is correct, 1 for any other verdict (undetermined
included), 2 on an error."""


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="matgrad check",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Check a claimed gradient of a scalar expression: correct, transposed, "
                    "wrong shape or wrong value,\nwith the reason and the correct answer.",
        epilog=EXAMPLES)
    p.add_argument("expr", help="the loss, e.g. 'z = X @ w + b; yhat = relu(z); "
                   "L = sum((yhat - y)**2) / m'")
    p.add_argument("--wrt", required=True, help="the variable of the claimed gradient")
    p.add_argument("--claim", required=True, help="the claimed gradient, in the same "
                   "language; it may use the loss's variables, dimensions and intermediates")
    p.add_argument("--shape", "--shapes", dest="shape", default=None,
                   help="declarations, e.g. 'X: m,n; w: n; b: scalar' (others inferred)")
    p.add_argument("--sizes", default=None,
                   help="sizes of dimensions at the random points, e.g. 'm=7, n=5' "
                        "(default: distinct sizes at which the loss is defined)")
    add_syntax_option(p)
    add_timeout_option(p)
    return p


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)

    def go() -> int:
        from ..check import check
        from ..errors import MatgradError
        from ..parser import parse_program
        from .derive import not_scalar_message
        program = parse_program(args.expr, args.shape, syntax=args.syntax)
        if program.result.shape != (1, 1):
            raise MatgradError(not_scalar_message(program, args.expr, args.shape,
                                                  [args.wrt.strip()]))
        result = check(args.expr, args.wrt.strip(), args.claim, shapes=args.shape,
                       sizes=args.sizes)
        print(f"verdict: {result.verdict}")
        print(result.message)
        return 0 if result.ok else 1

    return run(go)
