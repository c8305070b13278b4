"""The Kronecker (vec) form of a derivative with more than two axes, where one exists.

For F (p×q) depending on X (r×s), the derivative T_ijkl = ∂F_ij/∂X_kl is also the matrix
K of d vec(F) = K d vec(X), with vec stacking columns: K[i + p j, k + r l] = T_ijkl.
A term that factors into a part on (j, l) and a part on (i, k) is a Kronecker product:

    T_ijkl = P_jl Q_ik         ⟹  K = P ⊗ Q          (so d vec(A X B) = (Bᵀ ⊗ A) d vec(X))
    T_ijkl = P_jk Q_il         ⟹  K = (P ⊗ Q) K_rs   (K_rs vec(X) = vec(Xᵀ), commutation)
    T_ijkl = δ_ik δ_jl S_ij    ⟹  K = diag(vec(S))   (elementwise maps)

Any other term has no Kronecker form, and then neither has the derivative. An axis of
length m·n that every term reads as a pair (i, j) (vec(F) or unvec(v) inside: the
index a = i + m j, see `from_matrix.split`) is read as that pair first, so the
derivative of vec(A X B) with respect to X is that of A X B: Bᵀ ⊗ A.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..expr import Expr
from .terms import Delta, Factor, Tensor, Term, collect, fresh
from .to_matrix import to_matrix

KRON, COMMUTED, DIAG = "kron", "kron-commuted", "diag"


@dataclass(frozen=True)
class VecTerm:
    coef: object
    kind: str  # KRON, COMMUTED or DIAG
    P: Expr | None  # left factor of ⊗ (None for DIAG)
    Q: Expr  # right factor of ⊗, or S for DIAG


@dataclass(frozen=True)
class VecForm:
    """K = Σ coef · (P ⊗ Q) [K_rs] or coef · diag(vec(S)), for d vec(F) = K d vec(X)."""

    terms: tuple
    input_shape: tuple  # (r, s) of X, for the commutation matrix
    paired: bool = False  # whether a vector axis was read as a pair of indices (vec's)

    def to_expr(self) -> Expr | None:
        """K in matrix notation, Σ coef · (P ⊗ Q) (or diag(vec(S))); None where a term
        needs the commutation matrix, which has no expression."""
        from .. import ops
        total = None
        for t in self.terms:
            if t.kind == COMMUTED:
                return None
            K = ops.kron(t.P, t.Q) if t.kind == KRON else ops.diag(ops.vec(t.Q))
            K = K if t.coef == 1 else ops.mul(ops.const(t.coef), K)
            total = K if total is None else ops.add(total, K)
        return total

    def to_text(self, *, unicode: bool = True) -> str:
        if not self.terms:
            return "0"
        out = []
        for n, t in enumerate(self.terms):
            body = _term_text(t, self.input_shape, unicode)
            c = t.coef
            negative = c < 0
            c = -c if negative else c
            if c != 1:
                body = f"{c} · {body}" if unicode else f"{c} * {body}"
            minus = "−" if unicode else "-"
            if n == 0:
                out.append(minus + body if negative else body)
            else:
                out.append((f" {minus} " if negative else " + ") + body)
        return "".join(out)

    def __str__(self) -> str:
        return self.to_text()

    __repr__ = __str__

    def to_text_grouped(self, *, unicode: bool = True) -> str:
        """The text, bracketed when it is a sum (for writing K d vec(X))."""
        text = self.to_text(unicode=unicode)
        return f"({text})" if len(self.terms) > 1 else text

    def value(self, arrays: dict, sizes: dict, cache: dict | None = None) -> np.ndarray:
        """The matrix K as an array."""
        from ..numeric import size_of, evaluate_2d
        cache = {} if cache is None else cache
        r, s = (size_of(x, sizes) for x in self.input_shape)
        total = None
        for t in self.terms:
            Q = evaluate_2d(t.Q, arrays, sizes, cache)
            if t.kind == DIAG:
                K = np.diag(np.asarray(Q).flatten(order="F"))
            else:
                P = evaluate_2d(t.P, arrays, sizes, cache)
                K = np.kron(P, Q)
                if t.kind == COMMUTED:
                    K = K @ commutation(r, s)
            K = float(t.coef) * K
            total = K if total is None else total + K
        return total


def commutation(r: int, s: int) -> np.ndarray:
    """K_rs: K_rs vec(X) = vec(Xᵀ) for X of shape r×s (vec stacks columns)."""
    K = np.zeros((r * s, r * s))
    for k in range(r):
        for l in range(s):
            K[l + s * k, k + r * l] = 1.0
    return K


def _operand(e: Expr, unicode: bool) -> str:
    from ..printing.symbols import subscript
    if e.op == "eye":
        size = str(e.shape[0])
        sub = subscript(size) if unicode else None
        return "I" + (sub if sub is not None else f"_{size}")
    text = e.to_text(unicode=unicode)
    if e.op in ("add", "mul", "div", "neg") or (e.op == "matmul" and not unicode):
        return f"({text})"
    return text


def _term_text(t: VecTerm, input_shape, unicode: bool) -> str:
    if t.kind == DIAG:
        return f"diag(vec({t.Q.to_text(unicode=unicode)}))"
    if t.kind == COMMUTED and t.P.op == "eye" and t.Q.op == "eye":
        r, s = input_shape
        return f"K({r},{s})"
    times = " ⊗ " if unicode else " kron "
    body = "(" + _operand(t.P, unicode) + times + _operand(t.Q, unicode) + ")"
    if t.kind == COMMUTED:
        r, s = input_shape
        body += f" K({r},{s})"
    return body


def _components(term: Term) -> list:
    """The factors of a term grouped by shared indices: [(indices, factors)]."""
    groups: list = []
    for f in term.factors:
        idx = set(f.indices)
        joined = [g for g in groups if g[0] & idx]
        merged = (idx.union(*(g[0] for g in joined)), [f] + [x for g in joined for x in g[1]])
        groups = [g for g in groups if g not in joined] + [merged]
    return groups


def _split(term: Term, left: set, right: set):
    """(left factors, right factors), or None if a component touches both sides."""
    lf, rf = [], []
    for idx, fs in _components(term):
        if idx & left and idx & right:
            return None
        (lf if idx & left else rf).extend(fs)
    return lf, rf


def _matrix(factors, coef, rows, cols, simplifier):
    free = tuple(i for i in (rows, cols) if i is not None)
    return to_matrix(Tensor(free, (Term(coef, tuple(factors)),)), rows, cols, simplifier)


def _pair_sizes(term: Term, a) -> tuple | None:
    """(rows, cols, U factor, V factor) where the term reads index a as a pair through
    `pairing(rows, cols)`, else None."""
    from ..operations.kron import pairing
    for f in term.factors:
        e = f.expr if isinstance(f, Factor) else None
        if e is None or f.rows != a or e.op != "kron" or e.children[1].op != "eye" or \
                e.children[0].op != "ones":
            continue
        rows, cols = e.children[1].shape[0], e.children[0].shape[0]
        u, v = pairing(rows, cols)
        if e is not u:
            continue
        partner = [g for g in term.factors if isinstance(g, Factor) and g.expr is v
                   and g.rows == a]
        if partner:
            return rows, cols, f, partner[0]
    return None


def unpair(t: Tensor, a):
    """(t with its free index a, over m·n, replaced by the pair (i, j) it stands for,
    (i, j), (m, n)), where every term reads a as such a pair; else None."""
    found = [_pair_sizes(term, a) for term in t.terms]
    if not found or None in found or len({(x[0], x[1]) for x in found}) != 1:
        return None
    rows, cols = found[0][0], found[0][1]
    i, j = fresh(rows), fresh(cols)
    terms = []
    for term, (_, _, u, v) in zip(t.terms, found):
        rest = [f for f in term.factors if f is not u and f is not v]
        if any(a in f.indices for f in rest):
            return None
        terms.append(Term(term.coef, tuple(rest) + (Delta(i, u.cols), Delta(j, v.cols))))
    free = []
    for x in t.free:
        free += [i, j] if x == a else [x]
    return collect(tuple(free), terms), (i, j), (rows, cols)


def vec_form(t: Tensor, out: tuple, inp: tuple, input_shape, simplifier=None) -> VecForm | None:
    """The Kronecker form of t, whose free indices are out = (i, j) and inp = (k, l)
    (None for an axis of size 1); None where some term has none. A vector axis that
    every term reads as a pair of indices (vec's) is read as the pair (`unpair`)."""
    paired = False
    if out[0] is not None and out[1] is None:
        pair = unpair(t, out[0])
        if pair is not None:
            (t, out, _), paired = pair, True
    if inp[0] is not None and inp[1] is None:
        pair = unpair(t, inp[0])
        if pair is not None:
            (t, inp, input_shape), paired = pair, True
    i, j = out
    k, l = inp
    free = lambda *xs: {x for x in xs if x is not None}  # noqa: E731
    terms = []
    for term in t.terms:
        got = None
        split = _split(term, free(j, l), free(i, k))
        if split is not None:
            P = _matrix(split[0], 1, j, l, simplifier)
            Q = _matrix(split[1], term.coef, i, k, simplifier)
            if P is not None and Q is not None:
                got = VecTerm(1, KRON, P, Q)
        if got is None:
            split = _split(term, free(j, k), free(i, l))
            if split is not None:
                P = _matrix(split[0], 1, j, k, simplifier)
                Q = _matrix(split[1], term.coef, i, l, simplifier)
                if P is not None and Q is not None:
                    got = VecTerm(1, COMMUTED, P, Q)
        if got is None:
            got = _diagonal(term, i, j, k, l, simplifier)
        if got is None:
            return None
        terms.append(got)
    return VecForm(tuple(_pull_sign(x) for x in _merge(terms, simplifier)), input_shape,
                   paired)


def _merge(terms: list, simplifier) -> list:
    """P ⊗ Q₁ + P ⊗ Q₂ = P ⊗ (Q₁ + Q₂), and likewise for the commuted form."""
    from .. import ops
    groups: dict = {}
    order: list = []
    for t in terms:
        key = (t.kind, t.P) if t.kind != DIAG else (DIAG, None)
        if key not in groups:
            groups[key] = t
            order.append(key)
        else:
            g = groups[key]
            groups[key] = VecTerm(1, t.kind, t.P, ops.add(ops.mul(g.coef, g.Q)
                                                         if g.coef != 1 else g.Q,
                                                         ops.mul(t.coef, t.Q)
                                                         if t.coef != 1 else t.Q))
    return [groups[k] for k in order]


def _diagonal(term: Term, i, j, k, l, simplifier):
    """δ_ik δ_jl S_ij ⟹ diag(vec(S))."""
    want = [(i, k), (j, l)]
    rest = list(term.factors)
    for a, b in want:
        if a is None and b is None:
            continue
        hit = [f for f in rest if isinstance(f, Delta) and {f.a, f.b} == {a, b}]
        if not hit:
            return None
        rest.remove(hit[0])
    if any(x in f.indices for f in rest for x in (k, l) if x is not None):
        return None
    S = _matrix(rest, term.coef, i, j, simplifier)
    return None if S is None else VecTerm(1, DIAG, None, S)


def _pull_sign(t: VecTerm) -> VecTerm:
    """Move a leading minus of Q into the coefficient, for printing −(A ⊗ B)."""
    if t.Q.op == "neg":
        return VecTerm(-t.coef, t.kind, t.P, t.Q.children[0])
    return t
