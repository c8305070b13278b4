"""Dimensions and shapes.

A dimension is a positive int, a named symbol (`Dim`) or a product of symbols
(`DimProduct`, such as m·n: the length of vec(X) for an m×n X, the rows of A ⊗ B); a
shape is a (rows, cols) pair. Everything in the core is two-dimensional: a scalar is
1×1, a vector a column n×1.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Union

from .errors import ShapeError


def normal_name(name: str) -> str:
    """A name as Python reads identifiers (NFKC): the fullwidth ｍ, the ligature ﬁ and
    the script ℓ are m, fi and l in parsed text and in generated code, so they are the
    same here too, wherever a variable or dimension is named.

    >>> normal_name("ｍ"), normal_name("ﬁt")
    ('m', 'fit')
    """
    return unicodedata.normalize("NFKC", name)


@dataclass(frozen=True, order=True)
class Dim:
    """A named dimension such as m or n; its size is bound at evaluation.

    `dims` makes several at once; two dimensions of the same name are equal.

    >>> import matgrad as mg
    >>> m = mg.Dim("m")
    >>> m, m == mg.dims("m n")[0]
    (m, True)
    >>> mg.matrix("X", m, 3).shape
    (m, 3)
    """

    name: str

    def __post_init__(self):
        # an identifier, as for variables: a dimension's name is written into generated
        # code (and its docstring), which runs; text there must never be more than a name
        if not isinstance(self.name, str) or not self.name.isidentifier():
            raise ShapeError(f"dimension name {self.name!r} is not an identifier")
        object.__setattr__(self, "name", normal_name(self.name))

    def __str__(self) -> str:
        return self.name

    def __repr__(self) -> str:
        return self.name

    # A dimension used as a number (``/ m``) becomes an expression; see ops.dim_value.
    def _as_expr(self):
        from .ops import dim_value
        return dim_value(self)

    def __add__(self, other): return self._as_expr() + other
    def __radd__(self, other): return other + self._as_expr()
    def __sub__(self, other): return self._as_expr() - other
    def __rsub__(self, other): return other - self._as_expr()
    def __mul__(self, other): return self._as_expr() * other
    def __rmul__(self, other): return other * self._as_expr()
    def __truediv__(self, other): return self._as_expr() / other
    def __rtruediv__(self, other): return other / self._as_expr()


@dataclass(frozen=True, order=True)
class DimProduct:
    """A product of named dimensions times a whole number: m·n, 2·m, m·m.

    Built by `product`, which sorts the factors and folds numbers, so that equal
    products are equal whatever their order (m·n == n·m) and a product of one dimension
    is that dimension. Its size is the product of its factors' sizes, bound at
    evaluation; generated code writes it as ``m * n``.

    >>> m, n = dims("m n")
    >>> product(n, m), product(n, m) == product(m, n), product(2, 3), product(m, 1)
    (m·n, True, 6, m)
    >>> product(2, m).factors, product(2, m).coef
    ((m,), 2)
    """

    coef: int
    factors: tuple  # the Dims, sorted, each as often as it divides

    def __str__(self) -> str:
        return "·".join(([str(self.coef)] if self.coef != 1 else [])
                        + [d.name for d in self.factors])

    __repr__ = __str__

    def code(self, name) -> str:
        """The product as Python, each dimension written as `name(d)`."""
        return " * ".join(([str(self.coef)] if self.coef != 1 else [])
                          + [name(d) for d in self.factors])


Size = Union[int, Dim, DimProduct]
Shape = tuple  # (Size, Size)

SCALAR: Shape = (1, 1)


def dims(names: str) -> tuple[Dim, ...]:
    """Named dimensions from a space- or comma-separated string.

    >>> m, n = dims("m n")
    >>> m
    m
    """
    parts = [p for p in names.replace(",", " ").split() if p]
    if not parts:
        raise ShapeError("dims() needs at least one name")
    for p in parts:
        if not p.isidentifier():
            raise ShapeError(f"dimension name {p!r} is not an identifier")
    return tuple(Dim(p) for p in parts)


def product(*sizes) -> Size:
    """The product of sizes, normalised: numbers folded, factors sorted; an int where no
    dimension is named, the `Dim` itself where it is the only factor."""
    coef, factors = 1, []
    for s in sizes:
        if isinstance(s, DimProduct):
            coef *= s.coef
            factors.extend(s.factors)
        elif isinstance(s, Dim):
            factors.append(s)
        else:
            coef *= int(s)
    if not factors:
        return coef
    if coef == 1 and len(factors) == 1:
        return factors[0]
    return DimProduct(coef, tuple(sorted(factors)))


def named(size) -> tuple:
    """The named dimensions of a size: (m,) for m, (m, n) for m·n, () for a number."""
    if isinstance(size, Dim):
        return (size,)
    if isinstance(size, DimProduct):
        return tuple(dict.fromkeys(size.factors))
    return ()


def concrete(size, sizes: dict) -> int:
    """The number a size stands for, given the dimensions' sizes; a ShapeError names a
    dimension whose size is unknown."""
    if isinstance(size, int):
        return size
    value = size.coef if isinstance(size, DimProduct) else 1
    for d in (size.factors if isinstance(size, DimProduct) else (size,)):
        if d not in sizes:
            raise ShapeError(f"the size of dimension {d} is unknown; give it in sizes=")
        value *= sizes[d]
    return value


def settle(want: DimProduct, got: int, bound: dict, source: dict, name: str) -> None:
    """Bind or check a product size against a value's axis length `got` (after the plain
    dimensions are bound): its one unknown factor is solved for, if there is one and the
    length divides; otherwise the product must equal the length."""
    unknown = [d for d in dict.fromkeys(want.factors) if d not in bound]
    known = want.coef
    for d in want.factors:
        if d in bound:
            known *= bound[d]
    if len(unknown) == 1 and want.factors.count(unknown[0]) == 1:
        d = unknown[0]
        if got % known or got // known < 1:
            raise ShapeError(f"{name} has an axis of length {got}, which is not {want} "
                             f"for any size of {d}")
        bound[d] = got // known
        source.setdefault(d, name)
    elif unknown:
        raise ShapeError(f"{name} has an axis of length {got} = {want}, which does not "
                         f"tell {', '.join(map(str, unknown))}; give "
                         f"{'them' if len(unknown) > 1 else 'it'} in sizes=")
    elif known != got:
        values = ", ".join(f"{d} = {bound[d]}" for d in dict.fromkeys(want.factors))
        raise ShapeError(f"{name} has an axis of length {got}, but {want} is {known} "
                         f"({values})")


def as_size(value) -> Size:
    if isinstance(value, (Dim, DimProduct)):
        return value
    if isinstance(value, str) and ("*" in value or "·" in value):
        parts = [p.strip() for p in re.split(r"[*·]", value)]
        return product(*(as_size(int(p)) if p.isdigit() else as_size(p) for p in parts))
    if isinstance(value, str):
        if not value.isidentifier():
            raise ShapeError(f"dimension name {value!r} is not an identifier")
        return Dim(value)
    if isinstance(value, bool) or not isinstance(value, int):
        try:
            import numpy as np
            if isinstance(value, np.integer):
                value = int(value)
            else:
                raise TypeError
        except TypeError:
            raise ShapeError(f"a dimension must be a name or a positive int, not {value!r}") from None
    if value < 1:
        raise ShapeError(f"a dimension must be positive, not {value}")
    return value


def fmt_size(s: Size) -> str:
    return str(s)


def _factor(s: Size) -> str:
    return f"({s})" if isinstance(s, DimProduct) else str(s)


def fmt_shape(shape: Shape) -> str:
    """m×n, with 1×1 shown as 'scalar' only by callers that want it; a product size is
    bracketed: (m·n)×1."""
    return f"{_factor(shape[0])}×{_factor(shape[1])}"


def describe_shape(shape: Shape) -> str:
    """A human description: scalar, n-vector, row n-vector, m×n matrix."""
    r, c = shape
    if shape == SCALAR:
        return "scalar"
    if c == 1:
        return f"{_factor(r)}-vector"
    if r == 1:
        return f"row {_factor(c)}-vector"
    return f"{fmt_shape(shape)} matrix"


def is_scalar(shape: Shape) -> bool:
    return shape == SCALAR


def shape_spec(shape: Shape) -> str:
    """The declaration syntax for a shape: 'scalar', 'n', 'm,n'."""
    r, c = shape
    if shape == SCALAR:
        return "scalar"
    if c == 1:
        return str(r)
    return f"{r},{c}"
