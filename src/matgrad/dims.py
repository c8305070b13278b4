"""Dimensions and shapes.

A dimension is a positive int or a named symbol (`Dim`); a shape is a (rows, cols) pair.
Everything in the core is two-dimensional: a scalar is 1×1, a vector a column n×1.
"""
from __future__ import annotations

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


Size = Union[int, Dim]
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


def as_size(value) -> Size:
    if isinstance(value, Dim):
        return value
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


def fmt_shape(shape: Shape) -> str:
    """m×n, with 1×1 shown as 'scalar' only by callers that want it."""
    return f"{fmt_size(shape[0])}×{fmt_size(shape[1])}"


def describe_shape(shape: Shape) -> str:
    """A human description: scalar, n-vector, row n-vector, m×n matrix."""
    r, c = shape
    if shape == SCALAR:
        return "scalar"
    if c == 1:
        return f"{r}-vector"
    if r == 1:
        return f"row {c}-vector"
    return f"{r}×{c} matrix"


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
