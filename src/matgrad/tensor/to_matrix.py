"""From index notation back to matrix notation, where a matrix form exists.

A term with at most two free indices is read as a graph: each index is a node, each
two-index factor E_ab an edge (a → b, or b → a read as Eᵀ), each one-index factor a
vector sitting on its node. Summed indices are removed one at a time by identities of
matrix algebra:

    Σ_a u_a v_a          = uᵀ v          (an index with no edge: a dot product or a sum)
    Σ_a E_ba h_a         = (E h)_b       (an index on one edge: a matrix-vector product)
    Σ_a A_xa h_a B_ay    = (A diag(h) B)_xy   (an index on two edges: a matrix product)
    A_xy B_xy            = (A ⊙ B)_xy    (parallel edges: a Hadamard product)
    A_xx                 = diag(A)_x     (a loop: a diagonal)
    δ_xy h_x             = diag(h)_xy    (a delta between the free indices)
    u_x v_y              = (u vᵀ)_xy     (no edge between them: an outer product)

An index on three or more edges has no matrix form (it is a genuine tensor contraction);
`to_matrix` then returns None and the result stays in index notation.
"""
from __future__ import annotations

from .. import ops
from ..expr import Expr
from ..structure import SELF_TRANSPOSED
from ..structure import of as structure_of
from .terms import Delta, Tensor


def transposed(e: Expr) -> Expr:
    """eᵀ with the transpose pushed through products, so that (A B)ᵀ prints as Bᵀ Aᵀ."""
    op = e.op
    if e.shape == (1, 1) or op in ("eye", "diagmat"):
        return e
    if structure_of(e) in SELF_TRANSPOSED:
        return e
    if op == "transpose":
        return e.children[0]
    if op == "matmul":
        a, b = e.children
        return ops.matmul(transposed(b), transposed(a))
    if op in ("neg", "inv"):  # (−A)ᵀ = −Aᵀ, (A⁻¹)ᵀ = (Aᵀ)⁻¹
        return getattr(ops, op)(transposed(e.children[0]))
    if op in ("add", "mul"):
        a, b = e.children
        return getattr(ops, op)(transposed(a), transposed(b))
    return ops.transpose(e)


def _mm(a: Expr, b: Expr) -> Expr:
    if a.op == "eye":
        return b
    if b.op == "eye":
        return a
    return ops.matmul(a, b)


class _Graph:
    """The factors of one term: scalars, vectors on indices, edges between indices."""

    def __init__(self, simplifier):
        self.simplifier = simplifier
        self.scalars: list = []
        self.vectors: dict = {}
        self.edges: list = []  # [a, b, M] with M_ab

    def vector(self, i, v: Expr) -> None:
        self.vectors.setdefault(i, []).append(v)

    def hadamard(self, i) -> Expr | None:
        vs = self.vectors.pop(i, [])
        if not vs:
            return None
        out = vs[0]
        for v in vs[1:]:
            out = ops.mul(out, v)
        return self.simplifier(out) if len(vs) > 1 and self.simplifier else out

    def tidy(self) -> None:
        """Loops become diagonals, parallel edges one Hadamard product."""
        groups: dict = {}
        order: list = []
        for a, b, M in self.edges:
            if a == b:
                self.vector(a, ops.diag(M))
                continue
            key = frozenset((a, b))
            if key not in groups:
                groups[key] = []
                order.append(key)
            groups[key].append((a, b, M))
        edges = []
        for key in order:
            group = groups[key]
            a, b, _ = group[0]
            if any(M.op == "eye" for _, _, M in group):
                for _, _, M in group:
                    if M.op != "eye":
                        self.vector(a, ops.diag(M))
                edges.append([a, b, group[0][2] if group[0][2].op == "eye" else ops.eye(a.size)])
                continue
            out = None
            for x, y, M in group:
                M = M if (x, y) == (a, b) else transposed(M)
                out = M if out is None else ops.mul(out, M)
            edges.append([a, b, out])
        self.edges = edges

    def incident(self, i) -> list:
        return [e for e in self.edges if i in (e[0], e[1])]

    def indices(self) -> list:
        out: list = []
        for a, b, _ in self.edges:
            for i in (a, b):
                if i not in out:
                    out.append(i)
        for i in self.vectors:
            if i not in out:
                out.append(i)
        return out

    def eliminate(self, d) -> None:
        """Sum over index d, which has at most two edges."""
        edges = self.incident(d)
        vs = list(self.vectors.get(d, []))
        h = self.hadamard(d)
        if not edges:
            if h is None:
                self.scalars.append(ops.dim_value(d.size))
            elif h.op == "diagvec":  # Σ_a M_aa = tr(M)
                self.scalars.append(ops.trace(h.children[0]))
            elif len(vs) == 2 and vs[0] is not vs[1]:  # Σ_a u_a v_a = uᵀ v
                self.scalars.append(ops.matmul(transposed(vs[0]), vs[1]))
            else:
                self.scalars.append(ops.sum(h))
            return
        for e in edges:
            self.edges.remove(e)
        oriented = [(e[0], e[2]) if e[1] == d else (e[1], transposed(e[2])) for e in edges]
        if len(oriented) == 1:  # Σ_d M_xd h_d = (M h)_x
            x, M = oriented[0]
            self.vector(x, ops.sum(M, axis=1) if h is None else _mm(M, h))
            return
        (x, M1), (y, M2) = oriented  # M1_xd, M2_yd: Σ_d M1_xd h_d M2_yd
        middle = M1 if h is None else _mm(M1, ops.diag(h))
        self.edges.append([x, y, _mm(middle, transposed(M2))])


def term_to_matrix(term, rows, cols, simplifier=None):
    """(coefficient, scalar factors, body) with term = coefficient · Π scalars · body,
    body a matrix expression of shape (rows, cols); None if there is no matrix form."""
    g = _Graph(simplifier)
    for f in term.factors:
        if isinstance(f, Delta):
            g.edges.append([f.a, f.b, ops.eye(f.a.size)])
        elif f.rows is None and f.cols is None:
            g.scalars.append(f.expr)
        elif f.cols is None:
            g.vector(f.rows, f.expr)
        elif f.rows is None:
            g.vector(f.cols, transposed(f.expr))
        else:
            g.edges.append([f.rows, f.cols, f.expr])
    free = {i for i in (rows, cols) if i is not None}
    while True:
        g.tidy()
        dummies = [i for i in g.indices() if i not in free]
        if not dummies:
            break
        degree = {d: len(g.incident(d)) for d in dummies}
        d = min(dummies, key=lambda i: degree[i])
        if degree[d] > 2:
            return None
        g.eliminate(d)
    hr = g.hadamard(rows) if rows is not None else None
    hc = g.hadamard(cols) if cols is not None else None
    if rows is not None and cols is not None:
        edge = g.edges[0] if g.edges else None
        if edge is None:
            left = hr if hr is not None else ops.ones(rows.size, 1)
            right = hc if hc is not None else ops.ones(cols.size, 1)
            body = ops.matmul(left, transposed(right))
        else:
            M = edge[2] if edge[0] == rows else transposed(edge[2])
            if M.op == "eye":
                h = hr if hc is None else hc if hr is None else ops.mul(hr, hc)
                if h is not None and hr is not None and hc is not None and simplifier:
                    h = simplifier(h)
                body = M if h is None else ops.diag(h)
            else:
                body = M
                if hr is not None:
                    body = ops.matmul(ops.diag(hr), body)
                if hc is not None:
                    body = ops.matmul(body, ops.diag(hc))
    elif rows is not None:
        body = hr if hr is not None else ops.ones(rows.size, 1)
    elif cols is not None:
        body = transposed(hc) if hc is not None else ops.ones(1, cols.size)
    else:
        body = ops.const(1)
    return term.coef, g.scalars, body


def _transposes(e: Expr) -> int:
    from ..expr import walk
    return sum(1 for n in walk(e) if n.op == "transpose")


def to_matrix(t: Tensor, rows=None, cols=None, simplifier=None) -> Expr | None:
    """The matrix with entries t[rows, cols], in matrix notation; None if some term has
    no matrix form. `rows`/`cols` are free indices of t (None for an axis of size 1).

    >>> import matgrad as mg
    >>> from matgrad.tensor.terms import Tensor, Term, Delta, Factor, fresh
    >>> n = mg.dims("n")[0]
    >>> p = mg.vector("p", n)
    >>> i, k = fresh(n), fresh(n)
    >>> to_matrix(Tensor((i, k), (Term(1, (Factor(p, i, None), Delta(i, k))),
    ...                           Term(-1, (Factor(p, i, None), Factor(p, k, None))))), i, k)
    diag(p) − p pᵀ
    """
    if set(t.free) - {rows, cols}:
        raise ValueError("to_matrix: the tensor has free indices besides rows and cols")
    shape = (rows.size if rows is not None else 1, cols.size if cols is not None else 1)
    collected: dict = {}
    order: list = []
    for term in t.terms:
        got = term_to_matrix(term, rows, cols, simplifier)
        if got is None:
            return None
        coef, scalars, body = got
        key = (body, tuple(scalars))
        if key not in collected:
            collected[key] = 0
            order.append(key)
        collected[key] += coef
    pieces = []
    for key in sorted(order, key=lambda k: _transposes(k[0])):  # A before Aᵀ
        coef = collected[key]
        if coef == 0:
            continue
        body, scalars = key
        negative = coef < 0
        s = None
        if abs(coef) != 1:
            s = ops.const(abs(coef))
        for x in scalars:
            s = x if s is None else ops.mul(s, x)
        if s is not None and simplifier is not None:
            s = simplifier(s)
        if s is not None and body.shape == (1, 1) and body.op == "const":
            term = s
        else:
            term = body if s is None else ops.mul(s, body)
        pieces.append((negative, term))
    if not pieces:
        return ops.zeros(*shape) if shape != (1, 1) else ops.const(0)
    out = ops.neg(pieces[0][1]) if pieces[0][0] else pieces[0][1]
    for negative, term in pieces[1:]:
        out = ops.sub(out, term) if negative else ops.add(out, term)
    # the terms' sum simplified whole (diagonal terms are one diag, shared factors
    # written once), its diagonal matrices kept as such: Aᵀ diag(h) A, not Aᵀ ⊙ hᵀ … A
    return out if simplifier is None else simplifier.without("matmul_diag")(out)
