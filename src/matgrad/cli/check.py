"""`matgrad check "EXPR" --wrt X --claim "..." --shape "..." [--sizes "m=7, n=5"]`: check
a claimed gradient.

Prints the verdict (correct, transposed, wrong-shape, wrong-value, undetermined) and
why. Exit status 0 when the claim is correct, 1 for any other verdict (undetermined
included: no random point was found where the loss is defined), 2 on bad input.
"""
from __future__ import annotations

import argparse

from . import run


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="matgrad check",
        description="Check a claimed gradient of a scalar expression: correct, transposed, "
                    "wrong shape or wrong value, with the reason and the correct answer.")
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
    return p


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)

    def go() -> int:
        from ..check import check
        result = check(args.expr, args.wrt.strip(), args.claim, shapes=args.shape,
                       sizes=args.sizes)
        print(f"verdict: {result.verdict}")
        print(result.message)
        return 0 if result.ok else 1

    return run(go)
