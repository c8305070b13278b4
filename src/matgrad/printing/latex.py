"""LaTeX printer: the same visitor as the text printer, with LaTeX tokens."""
from __future__ import annotations

import re
from fractions import Fraction

from ..dims import SCALAR
from ..elementwise import table
from ..expr import Expr
from .base import ATOM, MATMUL, POSTFIX, PRODUCT, Printer
from .symbols import latex_name


class LatexPrinter(Printer):
    def name(self, name: str) -> str:
        return latex_name(name)

    def paren(self, text: str) -> str:
        return rf"\left({text}\right)"

    def plus(self) -> str:
        return " + "

    def minus(self) -> str:
        return "-"

    def minus_infix(self) -> str:
        return " - "

    def times(self, scalarish: bool) -> str:
        return r" \, " if scalarish else r" \odot "

    def divide(self, a: str, b: str, x: Expr, y: Expr) -> str:
        if x.shape == SCALAR and y.shape == SCALAR:
            return rf"\frac{{{_strip(a)}}}{{{_strip(b)}}}"
        return rf"{a} \oslash {b}"

    def fraction(self, v: Fraction) -> str:
        sign = "-" if v < 0 else ""
        return rf"{sign}\frac{{{abs(v.numerator)}}}{{{v.denominator}}}"

    def call(self, op: str, *args: Expr, extra: str = "") -> tuple[str, int]:
        inner = ", ".join(self.visit(a)[0] for a in args)
        return rf"{op}\left({inner}{extra}\right)", ATOM

    def _size(self, s) -> str:
        return latex_name(s.name) if hasattr(s, "name") else str(s)

    def _print_ones(self, e: Expr):
        r, c = (self._size(s) for s in e.shape)
        sub = r if e.shape[1] == 1 else rf"{r} \times {c}"
        return rf"\mathbf{{1}}_{{{sub}}}", ATOM

    def _print_zeros(self, e: Expr):
        r, c = (self._size(s) for s in e.shape)
        sub = r if e.shape[1] == 1 else rf"{r} \times {c}"
        return rf"\mathbf{{0}}_{{{sub}}}", ATOM

    def _print_eye(self, e: Expr):
        return ("1" if e.shape == (1, 1) else "I"), ATOM  # the 1×1 identity is 1

    def _print_broadcast(self, e: Expr):
        from ..ops import ones
        # \odot, not \,: a row stretched over m×n is x ⊙ 1, where x 1 would be a product
        return self.wrap(e.children[0], PRODUCT) + r" \odot " + self._print_ones(
            ones(*e.shape))[0], PRODUCT

    def _print_matmul(self, e: Expr):
        return self.matmul_chain(e, lambda fs: " ".join(self.wrap(f, MATMUL) for f in fs))

    def _print_transpose(self, e: Expr):
        return "{" + self.wrap(e.children[0], ATOM) + r"}^{\top}", POSTFIX

    def _print_pow(self, e: Expr):
        (x,), (p,) = e.children, e.params
        text = str(p) if isinstance(p, Fraction) else repr(p)
        base = self.wrap(x, ATOM)
        sup = text if e.shape == SCALAR else r"\circ " + text
        return "{" + base + "}^{" + sup + "}", POSTFIX

    def _print_fn(self, e: Expr):
        name = e.params[0]
        if name == "sqrt":
            return r"\sqrt{" + self.visit(e.children[0])[0] + "}", ATOM
        return self.call(table()[name].head(*e.params[1:], latex=True), e.children[0])

    def _print_sum(self, e: Expr):
        axis = e.params[0]
        extra = "" if axis is None else rf", \text{{axis}}={axis}"
        return self.call(r"\operatorname{sum}", e.children[0], extra=extra)

    def declared(self, e: Expr, op):
        if callable(op.latex):
            return op.latex(self, e)
        extra = "".join(rf", \text{{{k.name}}}={v}" for k, v in zip(op.keywords, e.params)
                        if v != k.default)
        return self.call(op.latex, *e.children, extra=extra)

    def differential(self, index) -> str:
        return rf"d_{{{index}}}"


def _strip(text: str) -> str:
    r"""text without the parentheses around all of it: \left(a\right) becomes a, but
    \left(a\right) \left(b\right) keeps both pairs (the first closes before the end)."""
    if text.startswith(r"\left(") and text.endswith(r"\right)") and \
            _closing(text) == len(text) - len(r"\right)"):
        return text[len(r"\left("):-len(r"\right)")]
    return text


_DELIMITER = re.compile(r"\\(left|right)(?![A-Za-z])")


def _closing(text: str) -> int:
    r"""Where the \right matching the \left at the start of text begins (-1: nowhere)."""
    depth = 0
    for m in _DELIMITER.finditer(text):
        depth += 1 if m.group(1) == "left" else -1
        if depth == 0:
            return m.start()
    return -1


def to_latex(e: Expr, names: dict | None = None) -> str:
    r"""LaTeX for an expression.

    >>> import matgrad as mg
    >>> X, w = mg.matrix("X", 3, 2), mg.vector("w", 2)
    >>> to_latex(X.T @ (X @ w))
    '{X}^{\\top} X w'
    """
    return LatexPrinter(names)(e)
