"""`matgrad jacobian "EXPR" --wrt X --shape "..."`: the Jacobian of an expression.

A matrix where it has at most two axes (numerator layout by default), else a tensor in
index notation with its Kronecker (vec) form where one exists; `--order N` for higher
derivatives.
"""
from __future__ import annotations

import argparse

from . import add_syntax_option, add_timeout_option, tensors

EXAMPLES = """\
examples:
  matgrad jacobian "tanh(A @ x)" --wrt x --shape "A: m,n; x: n"
      diag(1 − tanh(A x)²) A, an m×n matrix
  matgrad jacobian "z = X @ w" --wrt X --shape "X: m,n; w: n" --explain
      a third-order tensor: ∂zᵢ/∂Xⱼₖ = δᵢⱼ wₖ, in vec form (wᵀ ⊗ Iₘ)
  matgrad jacobian "softmax(x)" --shape "x: n" --verify --sizes "n=4"
  matgrad jacobian "A @ x" --wrt x --shape "A: m,n" --layout denominator --latex > J.tex
  matgrad jacobian "X @ w" --wrt X --shape "X: m,n; w: n" --order 2

Exit status: 0 on success, 1 when --verify fails, 2 on an error."""


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="matgrad jacobian",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="The Jacobian ∂F/∂X of an expression F, with its name and shape: in "
                    "matrix notation where it is\na matrix, else a tensor in index "
                    "notation, with its Kronecker (vec) form where one exists.",
        epilog=EXAMPLES)
    tensors.add_options(p, "jacobian")
    add_syntax_option(p)
    add_timeout_option(p)
    return p


def main(argv: list[str]) -> int:
    return tensors.main("jacobian", argv, parser())
