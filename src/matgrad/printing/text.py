"""Plain-text printer: Unicode mathematics (Xᵀ, ⊙, ‖·‖), or ASCII in the input language.

The ASCII form parses back to an equal expression (`matgrad.parse`).
"""
from __future__ import annotations

from fractions import Fraction

from ..dims import SCALAR
from ..elementwise import table
from ..expr import Expr
from .base import ATOM, MATMUL, POSTFIX, PRODUCT, UNARY, Printer
from .symbols import subscript, superscript, unicode_name


class TextPrinter(Printer):
    def __init__(self, names: dict | None = None, *, unicode: bool = True):
        super().__init__(names)
        self.unicode = unicode
        self.compact_constants = unicode
        self.strict_neg = False

    # ---- tokens -----------------------------------------------------------------------
    def name(self, name: str) -> str:
        return unicode_name(name) if self.unicode else name

    def plus(self) -> str:
        return " + "

    def minus(self) -> str:
        return "−" if self.unicode else "-"

    def minus_infix(self) -> str:
        return " − " if self.unicode else " - "

    def times(self, scalarish: bool) -> str:
        if not self.unicode:
            return " * "
        return " · " if scalarish else " ⊙ "

    def divide(self, a: str, b: str, x: Expr, y: Expr) -> str:
        if self.unicode and x.shape == SCALAR and y.shape == SCALAR and " " not in a + b:
            return f"{a}/{b}"
        return f"{a} / {b}"

    def fraction(self, v: Fraction) -> str:
        sign = self.minus() if v < 0 else ""
        return f"{sign}{abs(v.numerator)}/{v.denominator}"

    def differential(self, index) -> str:
        return f"d{index}"

    def call(self, fname: str, *args: Expr, extra: str = "") -> tuple[str, int]:
        inner = ", ".join(self.visit(a)[0] for a in args)
        return f"{fname}({inner}{extra})", ATOM

    def _size(self, s) -> str:
        return self.name(s.name) if hasattr(s, "name") else str(s)

    def _sub_shape(self, shape) -> str:
        r, c = (self._size(s) for s in shape)
        text = r if shape[1] == 1 else f"{r}×{c}"
        sub = subscript(text.replace("×", "x"))
        if sub is not None:
            return sub
        return f"[{text}]"

    # ---- leaves -----------------------------------------------------------------------
    def _print_ones(self, e: Expr):
        if self.unicode and e.shape[0] == 1 and e.shape[1] != 1:  # a row: 1ₙᵀ, not 1₁ₓₙ
            return "1" + self._sub_shape(e.shape[::-1]) + "ᵀ", ATOM
        if self.unicode:
            return "1" + self._sub_shape(e.shape), ATOM
        return self._shape_call("ones", e.shape), ATOM

    def _print_zeros(self, e: Expr):
        if self.unicode:
            return "0" + self._sub_shape(e.shape), ATOM
        return self._shape_call("zeros", e.shape), ATOM

    def _print_eye(self, e: Expr):
        if self.unicode:  # the 1×1 identity is the number 1 (an I would read as any size)
            return ("1" if e.shape == (1, 1) else "I"), ATOM
        return f"eye({self._size(e.shape[0])})", ATOM

    def _shape_call(self, fname, shape) -> str:
        r, c = (self._size(s) for s in shape)
        return f"{fname}({r})" if shape[1] == 1 else f"{fname}({r}, {c})"

    def _print_broadcast(self, e: Expr):
        # Reached only where no sibling gives the shape: spell the stretch out.
        (x,) = e.children
        ones = self._print_ones(_ones_of(e.shape))[0]
        return self.wrap(x, PRODUCT) + self.times(True) + ones, PRODUCT

    # ---- matrix operations ----------------------------------------------------------
    def _print_matmul(self, e: Expr):
        a, b = e.children
        if self.unicode:  # matrix products associate: a chain needs no parentheses
            return self.matmul_chain(e, lambda fs: " ".join(self.wrap(f, MATMUL) for f in fs))
        return (self.wrap(a, PRODUCT) + " @ " + self.wrap(b, PRODUCT + 1)), PRODUCT

    def _print_transpose(self, e: Expr):
        (x,) = e.children
        if self.unicode:
            return self.wrap(x, ATOM) + "ᵀ", POSTFIX
        text = self.wrap(x, ATOM)
        if text[:1].isdigit():  # "3.T" would read as the number 3. and a name
            text = self.paren(text)
        return text + ".T", ATOM

    def _print_pow(self, e: Expr):
        (x,), (p,) = e.children, e.params
        if self.unicode:
            text = str(p) if isinstance(p, Fraction) else repr(p)
            sup = superscript(text)
            if x.shape[0] == x.shape[1] != 1:  # A⁻¹, A³: the inverse, the matrix power
                return self.wrap(x, ATOM) + "^∘" + self.paren(text), POSTFIX
            if sup is not None:
                return self.wrap(x, ATOM) + sup, POSTFIX
            return self.wrap(x, ATOM) + "^" + self.paren(text), POSTFIX
        ptext, pprec = self.number(p)
        if pprec < ATOM:
            ptext = self.paren(ptext)
        return self.wrap(x, ATOM) + " ** " + ptext, UNARY

    def _print_fn(self, e: Expr):
        name, *order = e.params
        if order and not self.unicode:  # polygamma(1, x), as the parser reads it
            return f"{name}({order[0]}, {self.visit(e.children[0])[0]})", ATOM
        return self.call(table()[name].head(*order) if self.unicode else name, e.children[0])

    def _print_sum(self, e: Expr):
        axis = e.params[0]
        return self.call("sum", e.children[0], extra="" if axis is None else f", axis={axis}")

    def declared(self, e: Expr, op):
        if callable(op.text):
            return op.text(self, e)
        unicode_text, language = op.text
        return self.call(unicode_text if self.unicode else language, *e.children,
                         extra=self.keyword_text(e, op))


def _ones_of(shape):
    from ..ops import ones
    return ones(*shape)


def to_text(e: Expr, names: dict | None = None, *, unicode: bool = True) -> str:
    """Text of an expression: Unicode mathematics, or with unicode=False the input
    language (which parses back to an equal expression).

    >>> import matgrad as mg
    >>> X, w = mg.matrix("X", 3, 2), mg.vector("w", 2)
    >>> to_text((X @ w).T, unicode=False)
    '(X @ w).T'
    """
    return TextPrinter(names, unicode=unicode)(e)
