"""The Kronecker product and vec: kron(A, B) = A ⊗ B, vec(A) and unvec(v, m, n).

Conventions (Magnus & Neudecker, Matrix Differential Calculus, ch. 2): vec stacks the
columns, so vec(A)[i + m j] = A[i, j] for an m×n A, and unvec(·, m, n) is its inverse;
(A ⊗ B)[k + r i, l + s j] = A[i, j] B[k, l] for A p×q and B r×s, which is (p·r)×(q·s).
Their sizes are products of dimensions (`dims.DimProduct`). They meet in
vec(A X B) = (Bᵀ ⊗ A) vec(X)   (Magnus & Neudecker, ch. 2, Theorem 2).

A ⊗ B is bilinear: its differential is d(A ⊗ B) = dA ⊗ B + A ⊗ dB, and its adjoint in
each argument, the other held, is written in matrix notation with Kronecker products of
identities and ones (which sum a block's entries):

    G : (dA ⊗ B) = (I_p ⊗ 1_rᵀ) (G ⊙ (1_{p×q} ⊗ B)) (I_q ⊗ 1_s) : dA
    G : (A ⊗ dB) = (1_pᵀ ⊗ I_r) (G ⊙ (A ⊗ 1_{r×s})) (1_q ⊗ I_s) : dB

vec and unvec are linear, and each is the other's adjoint: G : vec(dA) = unvec(G) : dA.
"""
from __future__ import annotations

import numpy as np

from .. import ops
from ..registry import Helper, Operation, declare
from .base import constructor


def pairing(rows, cols):
    """(U, V) with U[a, i] V[a, j] = 1 exactly where a = i + rows·j: the index a over
    rows·cols read as its pair (i, j), in vec's order (U = 1_cols ⊗ I_rows,
    V = I_cols ⊗ 1_rows). The tensor module writes vec, unvec and ⊗ with them."""
    return (kron(ops.ones(cols, 1), ops.eye(rows)), kron(ops.eye(cols), ops.ones(rows, 1)))


def _is_scalar(x) -> bool:
    return x.shape == (1, 1)


# ---- the Kronecker product -----------------------------------------------------------


def _kron(node, d):
    """d(A ⊗ B) = dA ⊗ B + A ⊗ dB   (Magnus & Neudecker, ch. 9, sec. 14)."""
    a, b = node.children
    left = d[0] and kron(d[0], b)
    right = d[1] and kron(a, d[1])
    return left if right is None else right if left is None else ops.add(left, right)


def _adjoint_left(node, g):
    """G : (dA ⊗ B) = (I_p ⊗ 1_rᵀ) (G ⊙ (1_{p×q} ⊗ B)) (I_q ⊗ 1_s) : dA."""
    a, b = node.children
    (p, q), (r, s) = a.shape, b.shape
    weighted = ops.mul(g, kron(ops.ones(p, q), b))
    return ops.matmul(ops.matmul(kron(ops.eye(p), ops.transpose(ops.ones(r, 1))), weighted),
                      kron(ops.eye(q), ops.ones(s, 1)))


def _adjoint_right(node, g):
    """G : (A ⊗ dB) = (1_pᵀ ⊗ I_r) (G ⊙ (A ⊗ 1_{r×s})) (1_q ⊗ I_s) : dB."""
    a, b = node.children
    (p, q), (r, s) = a.shape, b.shape
    weighted = ops.mul(g, kron(a, ops.ones(r, s)))
    return ops.matmul(ops.matmul(kron(ops.transpose(ops.ones(p, 1)), ops.eye(r)), weighted),
                      kron(ops.ones(q, 1), ops.eye(s)))


def _kron_index(node, part, r, c, t):
    """(A ⊗ B)_rc = A_ij B_kl where r = k + r_B i and c = l + s_B j."""
    a, b = node.children
    k, i, rows = t.split(r, b.shape[0], a.shape[0])
    l, j, cols = t.split(c, b.shape[1], a.shape[1])
    terms = t.multiply([t.Term(1, tuple(rows + cols))],
                       t.multiply(part(a, i, j), part(b, k, l)))
    return t.sum_over(terms, [x for x in (i, j, k, l) if x not in (r, c)])


def _kron_operand(p, x) -> str:
    return p.wrap(x, p.POSTFIX)


def _kron_text(p, e):
    a, b = e.children
    if not p.unicode:
        return p.call("kron", a, b)
    return f"{_kron_operand(p, a)} ⊗ {_kron_operand(p, b)}", p.PRODUCT


def _kron_latex(p, e):
    a, b = e.children
    return rf"{_kron_operand(p, a)} \otimes {_kron_operand(p, b)}", p.PRODUCT


_KRON = Helper("kron", '''def kron(xp, a, b):
    """The Kronecker product a ⊗ b of two matrices (the array API has none)."""
    p, q = a.shape
    r, s = b.shape
    blocks = xp.reshape(a, (p, 1, q, 1)) * xp.reshape(b, (1, r, 1, s))
    return xp.reshape(blocks, (p * r, q * s))
''')


_KRON_TORCH = Helper("kron", '''def kron(a, b):
    """The Kronecker product a ⊗ b (torch.kron, of contiguous copies: it refuses some
    strided views, a transpose among them)."""
    return torch.kron(a.contiguous(), b.contiguous())
''')


def _kron_code(function):
    def code(p, e):
        a, b = e.children
        if _is_scalar(a) or _is_scalar(b):  # a ⊗ B = a B for a scalar a
            return f"{p.wrap(a, p.MUL)} * {p.wrap(b, p.MUL + 1)}", p.MUL
        if isinstance(function, Helper):
            return p.call(p.helper(function), *p.helper_args(), p.arg(a), p.arg(b))
        return p.call(p.qualified(function), p.arg(a), p.arg(b))
    return code


def _kron_scale(node, cv, cs, av, condition):
    return np.kron(np.abs(cv[0]), np.broadcast_to(cs[1], cv[1].shape)) + \
        np.kron(np.broadcast_to(cs[0], cv[0].shape), np.abs(cv[1]))


KRON = declare(Operation(
    name="kron", call="kron", signature="p,q; r,s -> p*r,q*s",
    kernel=lambda params, a, b: np.kron(a, b),
    differential=_kron,
    partial_adjoints=(_adjoint_left, _adjoint_right),
    partial_identities=(
        ("kron-left", "G : (dA ⊗ B) = (I ⊗ 1ᵀ)(G ⊙ (1 1ᵀ ⊗ B))(I ⊗ 1) : dA"),
        ("kron-right", "G : (A ⊗ dB) = (1ᵀ ⊗ I)(G ⊙ (A ⊗ 1 1ᵀ))(1 ⊗ I) : dB")),
    text=_kron_text, latex=_kron_latex,
    code={"numpy": _kron_code(_KRON), "jax": _kron_code("kron"),
          "torch": _kron_code(_KRON_TORCH)},
    helpers=(_KRON,),
    index=_kron_index,
    scale=_kron_scale,
))

kron = constructor(KRON, """The Kronecker product A ⊗ B: for A p×q and B r×s, the
    (p·r)×(q·s) matrix of blocks A[i, j] B.

    >>> import matgrad as mg
    >>> p, q, r, s = mg.dims("p q r s")
    >>> A, B = mg.matrix("A", p, q), mg.matrix("B", r, s)
    >>> mg.kron(A, B), mg.kron(A, B).shape
    (A ⊗ B, (p·r, q·s))
    >>> mg.kron(mg.matrix("C", 2, 3), mg.matrix("D", 4, 5)).shape
    (8, 15)
    """, __name__)


# ---- vec and unvec ---------------------------------------------------------------------


def _vec_index(node, lin, r, c, t):
    """vec(A)_r = A_ij where r = i + m j."""
    (a,) = node.children
    i, j, pair = t.split(r, *a.shape)
    terms = t.multiply([t.Term(1, tuple(pair))], lin(a, i, j))
    return t.sum_over(terms, [x for x in (i, j) if x != r])


def _unvec_index(node, lin, r, c, t):
    """unvec(v)_ij = v_a where a = i + m j."""
    (v,) = node.children
    m, n = node.shape
    if m == 1 or n == 1:  # the one index is a
        return lin(v, c if m == 1 else r, None)
    a = t.axis_index(v.shape[0])
    i, j, pair = t.split(a, m, n)
    pair = [f.renamed({i: r, j: c}) for f in pair]
    return t.sum_over(t.multiply([t.Term(1, tuple(pair))], lin(v, a, None)), [a])


def _vec_code(function):
    def code(p, e):
        (x,) = e.children
        if x.shape[1] == 1:  # a column is its own vec
            return p.visit(x)
        if _is_scalar(x):
            return p.visit(x)
        return p.call(p.qualified(function), f"{p.wrap(x, p.ATOM)}.T", "(-1, 1)")
    return code


def _unvec_code(p, e):
    (v,) = e.children
    m, n = e.shape
    if n == 1 or _is_scalar(v):
        return p.visit(v)
    reshaped, _ = p.call(p.qualified("reshape"), p.arg(v), f"(-1, {p.size(m)})")
    return f"{reshaped}.T", p.ATOM


def _sizes_text(p, e, latex=False) -> str:
    """", m, n": the sizes by their own names (which the readers take back as sizes),
    not as prettified symbols (m_ would print as m)."""
    def one(s):
        if not hasattr(s, "name"):
            return str(s)
        if latex and "_" in s.name:
            return r"\mathrm{" + s.name.replace("_", r"\_") + "}"
        return s.name
    return "".join(f", {one(s)}" for s in e.params[:2])


VEC = declare(Operation(
    name="vec", call="vec", signature="m,n -> m*n,1",
    kernel=lambda params, a: np.reshape(a, (-1, 1), order="F").copy(),
    linear=True,
    adjoint=lambda node, g: unvec(g, *node.children[0].shape),
    identity=("vec", "G : vec(dA) = unvec(G) : dA"),
    text=("vec", "vec"), latex=r"\operatorname{vec}",
    code={"numpy": _vec_code("reshape")},
    index=_vec_index,
    scale=lambda node, cv, cs, av, condition: np.reshape(
        np.broadcast_to(cs[0], cv[0].shape), (-1, 1), order="F"),
))


def _unvec_value(params, v):
    m, n = params[:2]  # numbers: evaluation passes the sizes bound
    return np.reshape(v, (m, n), order="F").copy()


UNVEC = declare(Operation(
    name="unvec", call="unvec", signature="m*n,1 -> m,n", sizes=("m", "n"),
    kernel=_unvec_value,
    linear=True,
    adjoint=lambda node, g: vec(g),
    identity=("unvec", "G : unvec(dv, m, n) = vec(G) : dv"),
    text=lambda p, e: (f"unvec({p.visit(e.children[0])[0]}{_sizes_text(p, e)})", p.ATOM),
    latex=lambda p, e: (r"\operatorname{unvec}\left(" + p.visit(e.children[0])[0]
                        + _sizes_text(p, e, latex=True) + r"\right)", p.ATOM),
    code={"numpy": _unvec_code},
    index=_unvec_index,
    scale=lambda node, cv, cs, av, condition: np.reshape(
        np.broadcast_to(cs[0], cv[0].shape), av.shape, order="F"),
))

vec = constructor(VEC, """vec(A): the columns of A (m×n) stacked into one (m·n)-vector, the
    first column on top (vec(A)[i + m j] = A[i, j]).

    >>> import matgrad as mg
    >>> m, n = mg.dims("m n")
    >>> X = mg.matrix("X", m, n)
    >>> mg.vec(X), mg.vec(X).shape
    (vec(X), (m·n, 1))
    """, __name__)

unvec = constructor(UNVEC, """unvec(v, m, n): the m×n matrix whose columns are v's consecutive pieces of length
    m, the inverse of vec; v must have length m·n. m and n are dimensions or numbers.

    >>> import matgrad as mg
    >>> m, n = mg.dims("m n")
    >>> X = mg.matrix("X", m, n)
    >>> mg.unvec(mg.vec(X), m, n).shape
    (m, n)
    >>> mg.unvec(mg.vector("v", 6), 2, 3).shape
    (2, 3)
    >>> mg.unvec(mg.vector("v", 6), 4, 2)
    Traceback (most recent call last):
        ...
    matgrad.errors.ShapeError: unvec(v, 4, 2): v is 6×1, not 8×1
    """, __name__)
