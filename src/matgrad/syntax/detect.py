"""Which notation a text is written in, when the caller does not say.

* LaTeX: a backslash (\\frac, \\|x\\|), or braces in text that is no Python (W_{1}).
* Mathematical text: a character only mathematics uses (ᵀ ⁻¹ ² ‖ ⊙ · − ∘ ⟨ ₁ σ ...) or
  a caret (x^T; in Python ^ is not part of the language); or text that is no Python
  (x' A x, A : B, X w).
* Otherwise Python-like, as before: Python with quotes, colons or braces, which the
  language refuses with its own messages, stays Python-like. Where only the failure to
  be Python chose the notation, text that is no mathematics either gets the Python-like
  parser's error.

>>> detect("sum((X @ w - y)**2)"), detect("‖X w − y‖²"), detect(r"\\frac{1}{2} x")
('python', 'math', 'latex')
"""
from __future__ import annotations

import ast
import warnings

from ..elementwise import table
from ..recursion import steady

NOTATIONS = ("python", "math", "latex", "matrixcalculus", "auto")  # auto never picks
# matrixcalculus (its * is the matrix product): it is only ever chosen by name
# characters of the printed mathematics that Python would misread or reject
MATH_CHARS = frozenset("ᵀ⁻⁺⁰¹²³⁴⁵⁶⁷⁸⁹ⁿ‖⊙⊘⊗·⋅−∘×÷⟨⟩′⊤₀₁₂₃₄₅₆₇₈₉ₐₑₕᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓ")
# the printed names of functions that are no Python name (σ)
FUNCTION_CHARS = frozenset(ch for row in table().values() for ch in row.text if not ch.isascii())
# Python's identifier normalisation (NFKC) reads these as letters or digits: Aᵀ as AT
SUPERSCRIPTS = frozenset("ᵀ⁻⁺⁰¹²³⁴⁵⁶⁷⁸⁹ⁿ")


def detect(text: str) -> str:
    """'latex', 'math' or 'python' (see the module's docstring)."""
    if "\\" in text:
        return "latex"
    if any(ch in MATH_CHARS or ch in FUNCTION_CHARS for ch in text) or "^" in text:
        return "math"
    if is_python(text):
        return "python"
    return "latex" if "{" in text or "}" in text else "math"


def is_certain(text: str) -> bool:
    """Whether the text says its notation itself (a backslash, a mathematical character,
    ^), rather than only failing to be Python."""
    return "\\" in text or "^" in text or any(
        ch in MATH_CHARS or ch in FUNCTION_CHARS for ch in text)


def is_python(text: str) -> bool:
    """Whether Python's own parser reads the text (not whether the language allows it)."""
    try:  # steady: ast.parse fails if another thread changes the recursion limit meanwhile
        with warnings.catch_warnings(), steady():
            warnings.simplefilter("ignore")
            ast.parse(text, mode="exec")
    except SyntaxError as err:
        # refused for its depth, not its syntax: Python, and the Python-like parser's
        # error (about the depth) is the one to give
        return "too many nested" in (err.msg or "")
    except (ValueError, RecursionError, MemoryError):
        return False
    return True
