"""The notations besides the Python-like language: mathematical text and LaTeX.

Each is a Lark grammar (`math.lark`, `latex.lark`, read by the LALR parser) whose tree
becomes the same expressions as the Python-like parser builds, through the `ops`
constructors; `detect` tells the notations apart when the caller does not say.

>>> import matgrad as mg
>>> mg.parse("xᵀ A x", {"x": "n", "A": "n,n"}) is mg.parse("x.T @ A @ x", {"x": "n", "A": "n,n"})
True
"""
from __future__ import annotations

from .detect import NOTATIONS, detect

__all__ = ["NOTATIONS", "detect", "read"]


def read(text: str, declared: dict, dim_names: set, notation: str):
    """A Program from text in mathematical ("math") or LaTeX ("latex") notation."""
    if notation == "latex":
        from .latex import parse_program
    else:
        from .math_text import parse_program
    return parse_program(text, declared, dim_names)
