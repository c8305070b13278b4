"""Index notation: tensors as sums of products of indexed factors and Kronecker deltas.

A `Tensor` has named free indices (its axes, in order) and a list of `Term`s. A term is a
numeric coefficient times a product of factors; a factor is a matrix expression read at
two indices (E_ab), a vector at one (v_a), a scalar at none, or a Kronecker delta δ_ab.
Indices that occur in a term but are not free are summed over (the einsum convention,
where an index may occur in any number of factors: u_a v_a w_a is Σ_a u_a v_a w_a).

A sum over an index that no factor mentions is a sum of a constant: Σ_a c = size(a) · c.
Such an index cannot be left in the term (no factor carries it), so wherever one would
vanish (a broadcast or an all-ones matrix read at a summed index, a delta contracted
against another summed index) its size becomes a factor of the term: a number, or the
dimension as a scalar (`sum_over`, `normal_term`).

An axis of size 1 in the two-dimensional core has no index, so a vector has one axis
and a scalar none.

>>> import matgrad as mg
>>> n = mg.dims("n")[0]
>>> i, k = fresh(n), fresh(n)
>>> t = Tensor((i, k), (Term(2, (Delta(i, k),)),))
>>> t.shape
(n, n)
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from fractions import Fraction

from ..dims import Size
from ..errors import LimitError
from ..expr import Expr

MAX_TERMS = 20000

_ids = itertools.count(1)


@dataclass(frozen=True)
class Index:
    """A named index running over a dimension. Identity is the id; the printer picks
    the letter."""

    id: int
    size: Size

    def __repr__(self) -> str:
        return f"i{self.id}:{self.size}"


def fresh(size: Size) -> Index:
    """A new index over `size`, distinct from every other."""
    return Index(next(_ids), size)


@dataclass(frozen=True)
class Factor:
    """A matrix expression read at indices: E_ab (matrix), v_a (column; the second index
    is None), r_b (row; the first is None) or s (scalar; both None)."""

    expr: Expr
    rows: Index | None
    cols: Index | None

    @property
    def indices(self) -> tuple:
        return tuple(i for i in (self.rows, self.cols) if i is not None)

    def renamed(self, sub: dict) -> "Factor":
        return Factor(self.expr, sub.get(self.rows, self.rows), sub.get(self.cols, self.cols))


@dataclass(frozen=True)
class Delta:
    """The Kronecker delta δ_ab: 1 where a = b, else 0."""

    a: Index
    b: Index

    @property
    def indices(self) -> tuple:
        return (self.a, self.b)

    def renamed(self, sub: dict) -> "Delta":
        return Delta(sub.get(self.a, self.a), sub.get(self.b, self.b))


@dataclass(frozen=True)
class Term:
    """coef · Π factors (summed over the indices that are not free)."""

    coef: object  # Fraction or float
    factors: tuple = field(default_factory=tuple)

    def indices(self) -> list:
        """Every index of the term, in order of first appearance."""
        out: list = []
        for f in self.factors:
            for i in f.indices:
                if i not in out:
                    out.append(i)
        return out

    def scaled(self, c) -> "Term":
        return Term(self.coef * c, self.factors)

    def times(self, other: "Term") -> "Term":
        return Term(self.coef * other.coef, self.factors + other.factors)

    def renamed(self, sub: dict) -> "Term":
        return Term(self.coef, tuple(f.renamed(sub) for f in self.factors))


@dataclass(frozen=True)
class Tensor:
    """Σ terms, with free indices `free` (the axes, in order)."""

    free: tuple
    terms: tuple

    @property
    def shape(self) -> tuple:
        return tuple(i.size for i in self.free)

    @property
    def order(self) -> int:
        return len(self.free)

    def is_zero(self) -> bool:
        return not self.terms

    def renamed(self, sub: dict) -> "Tensor":
        """The same tensor with indices substituted (free ones included)."""
        return Tensor(tuple(sub.get(i, i) for i in self.free),
                      tuple(t.renamed(sub) for t in self.terms))

    def fresh_dummies(self) -> "Tensor":
        """A copy whose summed indices are new, so it can be multiplied into another term
        without capturing that term's indices."""
        sub: dict = {}
        for t in self.terms:
            for i in t.indices():
                if i not in self.free and i not in sub:
                    sub[i] = fresh(i.size)
        return Tensor(self.free, tuple(t.renamed(sub) for t in self.terms))

    def __str__(self) -> str:
        from .printing import index_text
        return index_text(self)

    __repr__ = __str__


# ---- products and sums of term lists --------------------------------------------------


def check_size(terms: list) -> list:
    if len(terms) > MAX_TERMS:
        raise LimitError(f"the derivative has more than {MAX_TERMS} terms in index notation")
    return terms


def multiply(left: list, right: list) -> list:
    """(Σ a)(Σ b) = Σ a b, term by term."""
    return check_size([a.times(b) for a in left for b in right])


def scale(terms: list, c) -> list:
    return [t.scaled(c) for t in terms]


def times_size(coef, factors: list, size):
    """(coef, factors) times the size of an axis: into the coefficient for a number, as
    a dimension scalar (a factor with no index) for a named dimension."""
    if isinstance(size, int):
        return coef * size, factors
    from .. import ops
    return coef, factors + [Factor(ops.dim_value(size), None, None)]


def sum_over(terms: list, indices) -> list:
    """Σ over `indices` of each term. An index the term does not mention means the term
    is constant along it, and the sum is its size times the term: Σ_a δ_ik = size(a) δ_ik.

    >>> import matgrad as mg
    >>> m, n = mg.dims("m n")
    >>> i, k, a = fresh(n), fresh(n), fresh(m)
    >>> sum_over([Term(-1, (Delta(i, k),))], [a])[0].factors[-1].expr
    m
    """
    idx = [i for i in indices if i is not None]
    if not idx:
        return terms
    out = []
    for t in terms:
        present = set(t.indices())
        coef, factors = t.coef, list(t.factors)
        for i in idx:
            if i not in present:
                coef, factors = times_size(coef, factors, i.size)
        out.append(t if coef is t.coef and len(factors) == len(t.factors)
                   else Term(coef, tuple(factors)))
    return out


# ---- normal form of a term ------------------------------------------------------------


def _is_zero_expr(e: Expr) -> bool:
    return e.op == "zeros" or (e.op == "const" and e.params[0] == 0) or (
        e.op == "broadcast" and _is_zero_expr(e.children[0]))


def normal_term(t: Term, free: set) -> Term | None:
    """Contract deltas against summed indices, turn E_aa into diag(E)_a, fold numeric
    scalars into the coefficient; None for a term that is zero."""
    from .. import ops
    if t.coef == 0:
        return None
    factors = list(t.factors)
    coef = t.coef
    # The summed indices, tracked explicitly: contracting a delta consumes one, and one
    # that no factor mentions at the end is a sum of a constant (its size, see `sum_over`).
    summed = [i for i in t.indices() if i not in free]
    changed = True
    while changed:
        changed = False
        for pos, f in enumerate(factors):
            if not isinstance(f, Delta):
                continue
            a, b = f.a, f.b
            if a == b:
                # δ_aa = 1; a summed a stays summed (Σ_a δ_aa = size(a), counted below)
                del factors[pos]
                changed = True
                break
            if b not in free or a not in free:
                # Σ_b δ_ab g_b = g_a: b is summed away, a keeps its own role
                old, new = (b, a) if b not in free else (a, b)
                del factors[pos]
                factors = [g.renamed({old: new}) for g in factors]
                summed.remove(old)
                changed = True
                break
    out: list = []
    for f in factors:
        if isinstance(f, Factor):
            e = f.expr
            if _is_zero_expr(e):
                return None
            if e.op == "const":
                coef = coef * e.params[0]
                continue
            if e.op == "ones":
                continue
            if f.rows is not None and f.rows == f.cols:
                f = Factor(ops.diag(e), f.rows, None)
        out.append(f)
    left = {i for f in out for i in f.indices}
    for i in summed:
        if i not in left:  # dropped with a ones/constant factor, or a δ_aa, or a δ_ab
            coef, out = times_size(coef, out, i.size)
    if coef == 0:
        return None
    if isinstance(coef, int) or (isinstance(coef, float) and coef.is_integer()
                                 and abs(coef) < 2**53):
        coef = Fraction(int(coef))
    return Term(coef, tuple(out))


def _canonical_key(t: Term, free: tuple) -> tuple:
    """A key equal for terms that differ only in the names of summed indices and in the
    order of their factors (a heuristic: factors are ordered before renaming)."""
    rank = {i: ("f", n) for n, i in enumerate(free)}

    def slot(i):
        return None if i is None else rank.get(i, ("d",))

    def fkey(f):
        if isinstance(f, Delta):
            return (0, 0, tuple(sorted((slot(f.a), slot(f.b)), key=repr)))
        return (1, id(f.expr), (slot(f.rows), slot(f.cols)))

    ordered = sorted(t.factors, key=lambda f: repr(fkey(f)))
    names: dict = {}
    for f in ordered:
        for i in f.indices:
            if i not in rank and i not in names:
                names[i] = len(names)

    def label(i):
        if i is None:
            return None
        return rank[i] if i in rank else ("d", names[i])

    out = []
    for f in ordered:
        if isinstance(f, Delta):
            out.append(("δ",) + tuple(sorted((label(f.a), label(f.b)), key=repr)))
        else:
            out.append((id(f.expr), label(f.rows), label(f.cols)))
    return tuple(sorted(out, key=repr))


def collect(free: tuple, terms: list) -> Tensor:
    """The tensor Σ terms in normal form: deltas contracted, zero terms dropped, terms
    equal up to renaming of summed indices merged."""
    fs = set(free)
    merged: dict = {}
    order: list = []
    for t in terms:
        n = normal_term(t, fs)
        if n is None:
            continue
        key = _canonical_key(n, free)
        if key in merged:
            merged[key] = Term(merged[key].coef + n.coef, merged[key].factors)
        else:
            merged[key] = n
            order.append(key)
    out = tuple(merged[k] for k in order if merged[k].coef != 0)
    return Tensor(tuple(free), out)
