"""The notations besides the Python-like language: mathematical text, LaTeX and
matrixcalculus.org's input.

Each is a Lark grammar (`math.lark`, `latex.lark`, `matrixcalculus.lark`, read by the LALR
parser) whose tree becomes the same expressions as the Python-like parser builds, through
the `ops` constructors; `detect` tells the first two apart from the Python-like language
when the caller does not say (matrixcalculus.org's input is only read when named).

>>> import matgrad as mg
>>> mg.parse("xᵀ A x", {"x": "n", "A": "n,n"}) is mg.parse("x.T @ A @ x", {"x": "n", "A": "n,n"})
True
"""
from __future__ import annotations

from .detect import NOTATIONS, detect

__all__ = ["NOTATIONS", "detect", "read"]


def read(text: str, declared: dict, dim_names: set, notation: str):
    """A Program from text in mathematical ("math"), LaTeX ("latex") or matrixcalculus.org's
    ("matrixcalculus") notation."""
    if notation == "latex":
        from .latex import parse_program
    elif notation == "matrixcalculus":
        from .matrixcalculus import parse_program
    else:
        from .math_text import parse_program
    return parse_program(text, declared, dim_names)
