"""`matgrad hessian "EXPR" --wrt x --shape "..."`: the Hessian of a scalar expression.

A symmetric matrix for a vector (or scalar) variable; for a matrix variable the
fourth-order tensor ∂²L/∂Xᵢⱼ∂Xₖₗ with its vec form (the Hessian of vec X); `--order N`
for third and higher derivatives, in index notation.
"""
from __future__ import annotations

import argparse

from . import add_syntax_option, add_timeout_option, tensors

EXAMPLES = """\
examples:
  matgrad hessian "sum((A @ x - b)**2)" --wrt x --shape "A: m,n; x: n"
      2 · Aᵀ A, an n×n matrix
  matgrad hessian "logdet(S)" --wrt S --shape "S: n,n" --verify
      a fourth-order tensor, with its vec form −(S⁻¹ ⊗ S⁻ᵀ) K(n,n)
  matgrad hessian "sum(x**3)" --shape "x: n" --order 3
      6 δᵢⱼ δᵢₖ
  matgrad hessian "logsumexp(x)" --shape "x: n" --latex > H.tex

Exit status: 0 on success, 1 when --verify fails, 2 on an error."""


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="matgrad hessian",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="The Hessian ∂²L/∂x² of a scalar expression L, with its name and "
                    "shape: a symmetric matrix\nfor a vector, a fourth-order tensor in index "
                    "notation (with its vec form) for a matrix.",
        epilog=EXAMPLES)
    tensors.add_options(p, "hessian")
    add_syntax_option(p)
    add_timeout_option(p)
    return p


def main(argv: list[str]) -> int:
    return tensors.main("hessian", argv, parser())
