"""Spectral functions: the eigenvalues and eigenvectors of a symmetric matrix, and the
singular values of a tall matrix.

    eigvalsh(S)   the eigenvalues of a symmetric S (n×n), ascending: n×1
    eigvecsh(S)   its unit eigenvectors, as the columns of an n×n matrix V, in that order
    svdvals(X)    the singular values of a tall X (m×n, m ≥ n), descending: n×1

Where they have a derivative. An eigenvalue is differentiable where it is simple (not
repeated); then dλᵢ = vᵢᵀ dS vᵢ. The eigenvectors are too, with a divided difference
of the eigenvalues in their differential; at a repeated eigenvalue neither the
eigenvectors nor, in general, the eigenvalues have a derivative (the eigenvalues of
S + tE for a tie split with slopes that depend on the direction E). So `eigvecsh`,
which every derivative of these functions reads, refuses (a DomainError) a matrix whose
eigenvalues are equal to within `TIE` of their scale: the derivative is then reported
as not existing, and the numeric checks draw their points again, away from ties. A
singular value is differentiable where it is simple and positive, dσᵢ = uᵢᵀ dX vᵢ.

The argument of eigvalsh and eigvecsh must be symmetric: a variable not declared
symmetric is refused when the expression is built, and a value whose asymmetry exceeds
rounding (`ASYMMETRY`, relative) when it is evaluated; what is read is (S + Sᵀ)/2, so
that rounding in a computed XᵀX does not matter.

Eigenvectors are determined up to sign; `eigvecsh` signs each column so that its
entries sum to a nonnegative number (a choice that is locally constant, so it has a
derivative, and that every code backend makes alike).

Sources: the eigenvalue and eigenvector perturbation identities of Magnus and
Neudecker, "Matrix Differential Calculus" (1999), ch. 8; the singular values by
σᵢ² = λᵢ(XᵀX) and uᵢ = X vᵢ / σᵢ (Townsend, "Differentiating the singular value
decomposition", 2016).
"""
from __future__ import annotations

import numpy as np

from .. import ops, registry
from ..dims import fmt_shape
from ..errors import DomainError, MatgradError, ShapeError
from ..registry import Helper, Operation, declare, keyword_params, publish, short

TIE = 1e-8          # eigenvalues closer than this, relative to the largest, count as equal
ASYMMETRY = 1e-8    # |S − Sᵀ| beyond this, relative to |S|, is not rounding


# ---- kernels -----------------------------------------------------------------------------


def unless_finite(shape):
    """A kernel that gives NaN of `shape(a)` where its argument has an entry that is not
    finite (the decompositions do not converge there), as the checks expect of a value
    that is not defined; and a DomainError where LAPACK reports no convergence."""
    def wrap(kernel):
        def value(params, a):
            if not np.all(np.isfinite(a)):
                return np.full(shape(a), np.nan)
            try:
                return kernel(params, a)
            except np.linalg.LinAlgError as err:
                raise DomainError(f"{kernel.__name__.strip('_').replace('_value', '')}: "
                                  f"{err}") from None
        value.__name__ = kernel.__name__
        return value
    return wrap


def _symmetric_part(name: str, a: np.ndarray) -> np.ndarray:
    """(a + aᵀ)/2, or a DomainError where a is not symmetric up to rounding."""
    scale = float(np.max(np.abs(a), initial=0.0))
    skew = float(np.max(np.abs(a - a.T), initial=0.0))
    if not skew <= ASYMMETRY * max(scale, np.finfo(float).tiny):
        raise DomainError(f"{name}: the matrix is not symmetric (an entry differs from its "
                          f"mirror by {skew:.3g}, with entries up to {scale:.3g}); {name} "
                          "reads a symmetric matrix")
    return (a + a.T) / 2


@unless_finite(lambda a: (a.shape[0], 1))
def _eigvalsh_value(params, a):
    return np.linalg.eigvalsh(_symmetric_part("eigvalsh", a)).reshape(-1, 1)


def _signed(v: np.ndarray) -> np.ndarray:
    """Each column with its entries summing to a nonnegative number."""
    return np.where(np.sum(v, axis=0) < 0, -v, v)


@unless_finite(lambda a: a.shape)
def _eigvecsh_value(params, a):
    w, v = np.linalg.eigh(_symmetric_part("eigvecsh", a))
    if w.size > 1:
        gap = float(np.min(np.diff(w)))
        scale = float(np.max(np.abs(w)))
        if not gap > TIE * scale:
            raise DomainError("eigvecsh: two eigenvalues are equal (to within "
                              f"{gap:.3g}, with eigenvalues up to {scale:.3g}); the "
                              "eigenvectors, and the derivatives of the eigenvalues, are "
                              "not determined at a repeated eigenvalue")
    return _signed(v)


@unless_finite(lambda a: (a.shape[1], 1))
def _svdvals_value(params, a):
    m, n = a.shape
    if m < n:
        raise DomainError(f"svdvals: the matrix is {m}×{n}, wider than tall; svdvals of an "
                          "m×n matrix has n values and needs m ≥ n: for a wide X write "
                          "svdvals(X.T) (svdvals(Xᵀ)), which has the same singular values")
    return np.linalg.svd(a, compute_uv=False).reshape(-1, 1)


# ---- differentials -----------------------------------------------------------------------


def _eigvalsh(node, d):
    """dλ = diag(Vᵀ dS V), V = eigvecsh(S): dλᵢ = vᵢᵀ dS vᵢ for a simple eigenvalue λᵢ
    (Magnus & Neudecker 1999, ch. 8); none at a repeated one. Its adjoint is
    G : diag(Vᵀ dS V) = V diag(G) Vᵀ : dS."""
    (s,) = node.children
    v = eigvecsh(s)
    return ops.diag(ops.matmul(ops.matmul(ops.transpose(v), d[0]), v))


def _gaps(lam):
    """F with Fᵢⱼ = 1/(λⱼ − λᵢ) off the diagonal and 0 on it: 1/(1λᵀ − λ1ᵀ + I) − I."""
    n = lam.shape[0]
    ones = ops.ones(n, 1)
    spread = ops.sub(ops.matmul(ones, ops.transpose(lam)), ops.matmul(lam, ops.transpose(ones)))
    return ops.sub(ops.div(1, ops.add(spread, ops.eye(n))), ops.eye(n))


def _eigvecsh(node, d):
    """dV = V (F ⊙ (Vᵀ dS V)), Fᵢⱼ = 1/(λⱼ − λᵢ) (i ≠ j), Fᵢᵢ = 0, λ = eigvalsh(S):
    dvᵢ = Σⱼ≠ᵢ vⱼ (vⱼᵀ dS vᵢ)/(λᵢ − λⱼ) for simple eigenvalues (Magnus & Neudecker 1999,
    ch. 8); the sign convention is locally constant, so it adds nothing."""
    (s,) = node.children
    v = node
    f = _gaps(eigvalsh(s))
    return ops.matmul(v, ops.mul(f, ops.matmul(ops.matmul(ops.transpose(v), d[0]), v)))


def svdvals_differential(sigma, dx):
    """dσ = diag(Vᵀ Xᵀ dX V) ⊘ σ with V = eigvecsh(−XᵀX) (the right singular vectors,
    in descending order of σ): dσᵢ = uᵢᵀ dX vᵢ with uᵢ = X vᵢ / σᵢ, for a simple,
    positive σᵢ (Townsend 2016). The norms built on svdvals share it."""
    (x,) = sigma.children
    gram = ops.matmul(ops.transpose(x), x)
    v = eigvecsh(ops.neg(gram))
    return ops.div(ops.diag(ops.matmul(ops.matmul(ops.transpose(ops.matmul(x, v)), dx), v)),
                   sigma)


def _svdvals(node, d):
    """dσ = diag(Uᵀ dX V) = diag(Vᵀ Xᵀ dX V) ⊘ σ, V = eigvecsh(−XᵀX), U = X V diag(σ)⁻¹:
    dσᵢ = uᵢᵀ dX vᵢ for a simple, positive singular value (Townsend 2016); none
    at a repeated or zero one."""
    return svdvals_differential(node, d[0])


# ---- rounding ----------------------------------------------------------------------------


def _spread(cs, cv) -> float:
    return float(np.linalg.norm(np.broadcast_to(cs[0], cv[0].shape)))


def _eigvecsh_scale(node, cv, cs, av, condition):
    """Eigenvectors move by |ΔS| / gap (Davis–Kahan), entries at most 1."""
    w = np.linalg.eigvalsh((cv[0] + cv[0].T) / 2)
    gap = float(np.min(np.diff(w))) if w.size > 1 else 1.0
    return np.ones_like(av) * (1.0 + _spread(cs, cv) * max(1.0, float(np.max(np.abs(w))))
                               / max(gap, np.finfo(float).tiny))


# ---- code --------------------------------------------------------------------------------


def _column_code(function: str):
    """A function returning a 1-D array, as a column."""
    def code(p, e):
        text, _ = p.call(p.qualified(function), p.array_arg(e.children[0]))
        return f"{text}[:, None]", p.ATOM
    return code


_EIGVECSH = {
    "numpy": Helper("eigvecsh", '''def eigvecsh(xp, a):
    """The unit eigenvectors of the symmetric a, in ascending order of the eigenvalues,
    each signed so that its entries sum to a nonnegative number."""
    v = xp.linalg.eigh(a)[1]
    return xp.where(xp.sum(v, axis=0) < 0, -v, v)
'''),
    "jax": Helper("eigvecsh", '''def eigvecsh(a):
    """The unit eigenvectors of the symmetric a, in ascending order of the eigenvalues,
    each signed so that its entries sum to a nonnegative number."""
    v = jnp.linalg.eigh(a)[1]
    return jnp.where(jnp.sum(v, axis=0) < 0, -v, v)
'''),
    "torch": Helper("eigvecsh", '''def eigvecsh(a):
    """The unit eigenvectors of the symmetric a, in ascending order of the eigenvalues,
    each signed so that its entries sum to a nonnegative number."""
    v = torch.linalg.eigh(a)[1]
    return torch.where(torch.sum(v, dim=0) < 0, -v, v)
'''),
}


def _eigvecsh_code(p, e):
    return p.call(p.helper(_EIGVECSH[p.backend]), *p.helper_args(), p.array_arg(e.children[0]))


# ---- declarations ------------------------------------------------------------------------


EIGVALSH = declare(Operation(
    name="eigvalsh", call="eigvalsh", signature="n,n -> n,1",
    kernel=_eigvalsh_value, differential=_eigvalsh,
    text=("eigvalsh", "eigvalsh"), latex=r"\operatorname{eigvalsh}",
    code={"numpy": _column_code("linalg.eigvalsh")},
    # Weyl: each eigenvalue moves by at most ‖ΔS‖₂ ≤ ‖ΔS‖_F
    scale=lambda node, cv, cs, av, condition: av + _spread(cs, cv),
    facts=frozenset({"symmetric-argument"}),
    convention=("S symmetric (a declared variable is refused otherwise; a computed one is checked"
                " when evaluated); not differentiable at a repeated eigenvalue, a DomainError "
                "there"),
))

EIGVECSH = declare(Operation(
    name="eigvecsh", call="eigvecsh", signature="n,n -> n,n",
    kernel=_eigvecsh_value, differential=_eigvecsh,
    text=("eigvecsh", "eigvecsh"), latex=r"\operatorname{eigvecsh}",
    code={b: _eigvecsh_code for b in _EIGVECSH}, helpers=tuple(_EIGVECSH.values()),
    scale=_eigvecsh_scale,
    facts=frozenset({"symmetric-argument"}),
    convention=("each column signed so its entries sum to ≥ 0, alike on every backend; not "
                "differentiable at a repeated eigenvalue, a DomainError there"),
))

SVDVALS = declare(Operation(
    name="svdvals", call="svdvals", signature="m,n -> n,1",
    kernel=_svdvals_value, differential=_svdvals,
    text=("svdvals", "svdvals"), latex=r"\operatorname{svdvals}",
    code={"numpy": _column_code("linalg.svdvals")},
    scale=lambda node, cv, cs, av, condition: av + _spread(cs, cv),
    facts=frozenset({"positive"}),
    convention=("X tall (rows ≥ columns; use Xᵀ for a wide one); not differentiable at a repeated"
                " or zero singular value"),
))


# ---- what the constructors refuse at once ------------------------------------------------


def require_symmetric(call: str, s) -> None:
    """A MatgradError for an argument that is a variable not declared symmetric (a
    computed argument, XᵀX say, is checked when it is evaluated)."""
    if s.op == "var" and not s.params[1] and s.shape[0] != 1:
        name = s.to_text(unicode=False)
        raise MatgradError(f"{call}({name}): {name} is not declared symmetric; "
                           f"{call} reads a symmetric matrix: declare it as "
                           f"\"{fmt_shape(s.shape).replace('×', ',')} symmetric\", or pass "
                           f"({name} + {name}.T) / 2")


def transposed_text(x) -> str:
    """x.T in the language, x parenthesised unless it is a name: what to write for the
    transpose of an argument."""
    text = x.to_text(unicode=False)
    return f"{text}.T" if text.isidentifier() else f"({text}).T"


def require_tall(call: str, x, written=None, same="the same singular values") -> None:
    """A ShapeError where the shape says X is wider than tall (sizes that are numbers),
    saying what to write instead: the call on the transpose, `written(argument's text)`
    (svdvals(X.T) by default), which has `same`; a wide value of symbolic shape is
    refused when it is evaluated."""
    r, c = x.shape
    if isinstance(r, int) and isinstance(c, int) and r < c:
        written = written or (lambda t: f"{call}({t})")
        raise ShapeError(f"{written(short(x))}: {short(x)} is {fmt_shape(x.shape)}, wider "
                         f"than tall; {call} is taken of a tall matrix (rows ≥ columns): "
                         f"write {written(transposed_text(x))}, which has {same}")


def _function(operation, check, doc: str):
    """The language's function for a one-argument `operation`: `check(call, argument)`
    first, then the node (shapes checked by the signature)."""
    def build(*args, **keywords):
        if len(args) != 1:
            raise MatgradError(f"{operation.call} takes 1 argument, not {len(args)}")
        a = ops.to_expr(args[0])
        node = registry.build(operation, (a,), keyword_params(operation, keywords))
        check(operation.call, a)  # after the shape's check, which comes first
        return node

    build.__name__ = build.__qualname__ = operation.call
    build.__doc__ = doc
    build.__module__ = __name__
    return publish(build)


eigvalsh = _function(EIGVALSH, require_symmetric, """The eigenvalues of a symmetric matrix S (n×n), ascending: a column (n×1).

    S must be symmetric: a variable declared so ("n,n symmetric"), or an expression
    such as XᵀX whose value is (checked when evaluated). dλᵢ = vᵢᵀ dS vᵢ where λᵢ is
    simple; at a repeated eigenvalue there is no derivative, and evaluating one is a
    DomainError.

    >>> import matgrad as mg
    >>> m, n = mg.dims("m n")
    >>> S = mg.matrix("S", n, n, symmetric=True)
    >>> mg.eigvalsh(S), mg.eigvalsh(S).shape
    (eigvalsh(S), (n, 1))
    >>> mg.evaluate(mg.eigvalsh(S), {"S": [[2.0, 1.0], [1.0, 2.0]]})
    array([1., 3.])
    >>> mg.eigvalsh(mg.matrix("A", n, n))
    Traceback (most recent call last):
        ...
    matgrad.errors.MatgradError: eigvalsh(A): A is not declared symmetric; eigvalsh reads a symmetric matrix: declare it as "n,n symmetric", or pass (A + A.T) / 2
    """)

eigvecsh = _function(EIGVECSH, require_symmetric, """The unit eigenvectors of a symmetric matrix S (n×n), as the columns of an n×n matrix,
    in ascending order of the eigenvalues (those of eigvalsh), each signed so that its
    entries sum to a nonnegative number.

    Defined where the eigenvalues are distinct; at a repeated one the eigenvectors are
    not determined, and evaluating them is a DomainError.

    >>> import matgrad as mg
    >>> m, n = mg.dims("m n")
    >>> S = mg.matrix("S", n, n, symmetric=True)
    >>> mg.eigvecsh(S).shape
    (n, n)
    >>> mg.evaluate(mg.eigvecsh(S), {"S": [[2.0, 0.0], [0.0, 1.0]]})
    array([[0., 1.],
           [1., 0.]])
    """)

svdvals = _function(SVDVALS, require_tall, """The singular values of a tall matrix X (m×n, m ≥ n), descending: a column (n×1).

    The result's length is n, the number of columns, which the shapes can state; so X
    must be tall: write svdvals(X.T) for a wide X, which has the same singular values. A
    shape of numbers that is wide is refused when the expression is built, saying so, a
    wide value when it is evaluated.
    dσᵢ = uᵢᵀ dX vᵢ where σᵢ is simple and positive.

    >>> import matgrad as mg
    >>> m, n = mg.dims("m n")
    >>> X = mg.matrix("X", m, n)
    >>> mg.svdvals(X), mg.svdvals(X).shape
    (svdvals(X), (n, 1))
    >>> mg.evaluate(mg.svdvals(X), {"X": [[3.0, 0.0], [0.0, -4.0], [0.0, 0.0]]})
    array([4., 3.])
    >>> mg.svdvals(mg.matrix("W", 2, 3))
    Traceback (most recent call last):
        ...
    matgrad.errors.ShapeError: svdvals(W): W is 2×3, wider than tall; svdvals is taken of a tall matrix (rows ≥ columns): write svdvals(W.T), which has the same singular values
    """)
