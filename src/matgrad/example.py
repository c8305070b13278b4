"""The built-in example: a one-layer ReLU network with a mean-squared-error loss.

    z = X w + b,  ŷ = relu(z),  L = ‖ŷ − y‖² / m     X: m×n, w: n, b scalar, y: m
"""
from __future__ import annotations

SOURCE = "z = X @ w + b; yhat = relu(z); L = sum((yhat - y)**2) / m"
SHAPES = "X: m,n; w: n; b: scalar; y: m"
WRT = ("w", "b", "X")


def program():
    """The example, parsed."""
    from .parser import parse_program
    return parse_program(SOURCE, SHAPES)


def example_report(check: bool = True):
    """The example's gradients with their intermediates named, checked numerically."""
    from .report import report
    p = program()
    r = report(p.result, list(WRT), definitions=p.definitions, loss_name=p.result_name)
    if check:
        r.run_check()
    return r
