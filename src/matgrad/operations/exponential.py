"""The matrix exponential and its derivatives of every order.

    expm(A)                    e^A = Σₖ Aᵏ/k! of a square A (n×n)
    expm_block(D₀, C₁, D₁, …, C_k, D_k)
                               the (0, k) block of the exponential of the block-
                               bidiagonal matrix with diagonal D₀ … D_k and
                               superdiagonal C₁ … C_k:
                               ∫ e^{t₀D₀} C₁ e^{t₁D₁} ⋯ C_k e^{t_kD_k} over t ≥ 0, Σt = 1
    expm_frechet(A, E)         L(A, E) = expm_block(A, E, A) = ∫₀¹ e^{sA} E e^{(1−s)A} ds,
                               the Fréchet derivative: d expm(A) = expm_frechet(A, dA)
    expm_jacobian(A)           K(A) = expm_block(Aᵀ ⊗ I, I, I ⊗ A), the n²×n² matrix with
                               vec L(A, E) = K(A) vec E: ∂vec(e^A)/∂vec(A)

One operation, expm_block, carries every derivative, because it is closed under them
(Higham, "Functions of Matrices", 2008, Theorem 3.6 and eq. 3.16; Najfeld and Havel,
"Derivatives of the matrix exponential and their computation", 1995):

* it is linear in each Cᵢ, the others held: d in Cᵢ is expm_block(…, dCᵢ, …);
* its derivative in Dⱼ inserts the direction there: expm_block(…, Dⱼ, dDⱼ, Dⱼ, …) (the
  exponential's time on the j-th block splits in two around dDⱼ), so the second
  Fréchet derivative is expm_block(A, E, A, F, A) + expm_block(A, F, A, E, A);
* its adjoint in Cⱼ is the same operation on the transposes, read in reverse cyclic
  order: G : expm_block(D₀, …, dCⱼ, …, D_k) = expm_block(Dⱼ₋₁ᵀ, Cⱼ₋₁ᵀ, …, D₀ᵀ, G,
  D_kᵀ, C_kᵀ, …, Dⱼᵀ) : dCⱼ (the integrand's trace is cyclic, and the simplex of times
  is the same read backwards);
* its Kronecker form in Cⱼ is again one: vec(Left X Right) = (Rightᵀ ⊗ Left) vec X with
  Rightᵀ ⊗ I and I ⊗ Left products of exponentials of Kronecker products, so
  vec expm_block(…, X, …) = expm_block(D_kᵀ ⊗ I, C_kᵀ ⊗ I, …, Dⱼᵀ ⊗ I, I, I ⊗ D₀,
  I ⊗ C₁, …, I ⊗ Dⱼ₋₁) vec X — the index reading of Jacobians and Hessians.

e^A itself is computed by scaling and squaring with the [13/13] Padé approximant
(Higham, "The scaling and squaring method for the matrix exponential revisited", SIAM
J. Matrix Anal. Appl. 26, 2005), the method of scipy.linalg.expm, in NumPy and in the
generated array-API code; JAX and PyTorch call their own (jax.scipy.linalg.expm,
torch.linalg.matrix_exp); expm_block is the exponential of the block matrix, sliced.
Orders up to MAX_ORDER: a derivative beyond is refused, saying so.
"""
from __future__ import annotations

import math

import numpy as np

from .. import ops, registry
from ..dims import fmt_shape, product
from ..errors import MatgradError, ShapeError
from ..registry import Helper, Keyword, Operation, declare, publish, short
from .base import constructor
from .kron import kron

# The [13/13] Padé approximant's coefficients and the 1-norm below which it is accurate
# to double precision (Higham 2005, Table 2.3 and eq. 2.3).
PADE_13 = (64764752532480000.0, 32382376266240000.0, 7771770303897600.0,
           1187353796428800.0, 129060195264000.0, 10559470521600.0, 670442572800.0,
           33522128640.0, 1323241920.0, 40840800.0, 960960.0, 16380.0, 182.0, 1.0)
THETA_13 = 5.371920351148152
# beyond this 1-norm e^A overflows double precision in some entry (e^709 ≈ 8·10³⁰⁷)
MAX_NORM = 700.0

MAX_ORDER = 8  # the most directions in one expm_block: derivatives of expm up to order 8
BEYOND_ORDER = (f"derivatives of the matrix exponential beyond order {MAX_ORDER} are not "
                "supported")


def _squarings(norm: float) -> int:
    """How often to halve A so that its 1-norm is at most THETA_13."""
    if not norm > THETA_13:
        return 0
    return int(math.ceil(math.log2(norm / THETA_13)))


def expm_value(a: np.ndarray) -> np.ndarray:
    """e^A by scaling and squaring with the [13/13] Padé approximant."""
    a = np.asarray(a, dtype=float)
    n = a.shape[0]
    if not np.all(np.isfinite(a)):
        return np.full(a.shape, np.nan)
    norm = float(np.max(np.sum(np.abs(a), axis=0), initial=0.0))
    if norm > MAX_NORM:
        return np.full(a.shape, np.inf)
    s = _squarings(norm)
    a = a / 2.0 ** s
    b = PADE_13
    eye = np.eye(n)
    a2 = a @ a
    a4 = a2 @ a2
    a6 = a4 @ a2
    u = a @ (a6 @ (b[13] * a6 + b[11] * a4 + b[9] * a2)
             + b[7] * a6 + b[5] * a4 + b[3] * a2 + b[1] * eye)
    v = a6 @ (b[12] * a6 + b[10] * a4 + b[8] * a2) + b[6] * a6 + b[4] * a4 + b[2] * a2 \
        + b[0] * eye
    r = np.linalg.solve(v - u, v + u)
    for _ in range(s):
        r = r @ r
    return r


def block_value(arrays) -> np.ndarray:
    """expm_block: the (0, k) block of expm of the block-bidiagonal matrix with diagonal
    arrays[0::2] and superdiagonal arrays[1::2]."""
    diagonal, upper = arrays[0::2], arrays[1::2]
    sizes = [d.shape[0] for d in diagonal]
    ends = np.cumsum([0] + sizes)
    m = np.zeros((ends[-1], ends[-1]))
    for i, d in enumerate(diagonal):
        m[ends[i]:ends[i + 1], ends[i]:ends[i + 1]] = d
    for i, c in enumerate(upper):
        m[ends[i]:ends[i + 1], ends[i + 1]:ends[i + 2]] = c
    return expm_value(m)[:sizes[0], ends[-2]:]


def frechet_value(a: np.ndarray, e: np.ndarray) -> np.ndarray:
    """L(A, E): the upper right block of expm([[A, E], [0, A]])."""
    return block_value([a, e, a])


def jacobian_value(a: np.ndarray) -> np.ndarray:
    """K(A) = ∫₀¹ e^{(1−s)Aᵀ} ⊗ e^{sA} ds: expm_block(Aᵀ ⊗ I, I, I ⊗ A)."""
    n = a.shape[0]
    eye = np.eye(n)
    return block_value([np.kron(a.T, eye), np.eye(n * n), np.kron(eye, a)])


# ---- generated code ------------------------------------------------------------------------

_EXPM_SOURCE = '''def expm(xp, a):
    """e^a by scaling and squaring with the [13/13] Pade approximant (Higham 2005)."""
    b = (64764752532480000.0, 32382376266240000.0, 7771770303897600.0,
         1187353796428800.0, 129060195264000.0, 10559470521600.0, 670442572800.0,
         33522128640.0, 1323241920.0, 40840800.0, 960960.0, 16380.0, 182.0, 1.0)
    n = a.shape[0]
    norm = float(xp.max(xp.sum(xp.abs(a), axis=0)))
    s = 0
    while norm > 5.371920351148152 * 2.0 ** s:  # halvings that bring the 1-norm to theta_13
        s += 1
    a = a / 2.0 ** s
    eye = xp.eye(n, dtype=a.dtype)
    a2 = a @ a
    a4 = a2 @ a2
    a6 = a4 @ a2
    u = a @ (a6 @ (b[13] * a6 + b[11] * a4 + b[9] * a2)
             + b[7] * a6 + b[5] * a4 + b[3] * a2 + b[1] * eye)
    v = a6 @ (b[12] * a6 + b[10] * a4 + b[8] * a2) + b[6] * a6 + b[4] * a4 + b[2] * a2 \\
        + b[0] * eye
    r = xp.linalg.solve(v - u, v + u)
    for _ in range(s):
        r = r @ r
    return r
'''

_EXPM = {
    "numpy": Helper("expm", _EXPM_SOURCE),
    "jax": Helper("expm", '''def expm(a):
    """e^a (jax.scipy.linalg.expm)."""
    import jax.scipy.linalg
    return jax.scipy.linalg.expm(a)
'''),
    "torch": "linalg.matrix_exp",
}

# expm_block: the block-bidiagonal matrix, exponentiated and sliced; arguments that are
# numbers in the generated code (1×1 blocks) are made 1×1 arrays first
_BLOCK = {
    "numpy": Helper("expm_block", '''def expm_block(xp, *blocks):
    """The (0, k) block of expm of the block-bidiagonal matrix with diagonal blocks
    blocks[0::2] and superdiagonal blocks blocks[1::2]."""
    ref = next((b for b in blocks if getattr(b, "ndim", 0) == 2), None)
    dtype = ref.dtype if ref is not None else xp.float64
    blocks = [b if getattr(b, "ndim", 0) == 2 else
              xp.reshape(xp.asarray(b, dtype=dtype), (1, 1)) for b in blocks]
    diagonal, upper = blocks[0::2], blocks[1::2]
    sizes = [d.shape[0] for d in diagonal]
    rows = []
    for i, d in enumerate(diagonal):
        row = [d if j == i else upper[i] if j == i + 1 else
               xp.zeros((sizes[i], sizes[j]), dtype=dtype) for j in range(len(sizes))]
        rows.append(xp.concat(row, axis=1))
    m = expm(xp, xp.concat(rows, axis=0))
    return m[:sizes[0], m.shape[1] - sizes[-1]:]
'''),
    "jax": Helper("expm_block", '''def expm_block(*blocks):
    """The (0, k) block of expm of the block-bidiagonal matrix with diagonal blocks
    blocks[0::2] and superdiagonal blocks blocks[1::2]."""
    import jax.scipy.linalg
    blocks = [jnp.reshape(jnp.asarray(b), (1, 1)) if jnp.ndim(b) < 2 else b
              for b in blocks]
    dtype = jnp.result_type(*blocks)
    diagonal, upper = blocks[0::2], blocks[1::2]
    sizes = [d.shape[0] for d in diagonal]
    m = jnp.block([[d if j == i else upper[i] if j == i + 1 else
                    jnp.zeros((sizes[i], sizes[j]), dtype=dtype)
                    for j in range(len(sizes))] for i, d in enumerate(diagonal)])
    m = jax.scipy.linalg.expm(m)
    return m[:sizes[0], m.shape[1] - sizes[-1]:]
'''),
    "torch": Helper("expm_block", '''def expm_block(*blocks):
    """The (0, k) block of expm of the block-bidiagonal matrix with diagonal blocks
    blocks[0::2] and superdiagonal blocks blocks[1::2]."""
    ref = next((b for b in blocks if isinstance(b, torch.Tensor) and b.ndim == 2), None)
    dtype = ref.dtype if ref is not None else torch.float64
    device = ref.device if ref is not None else None
    blocks = [b if isinstance(b, torch.Tensor) and b.ndim == 2 else
              torch.as_tensor(b, dtype=dtype, device=device).reshape(1, 1) for b in blocks]
    diagonal, upper = blocks[0::2], blocks[1::2]
    sizes = [d.shape[0] for d in diagonal]
    rows = [torch.cat([d if j == i else upper[i] if j == i + 1 else
                       torch.zeros((sizes[i], sizes[j]), dtype=dtype, device=device)
                       for j in range(len(sizes))], dim=1) for i, d in enumerate(diagonal)]
    m = torch.linalg.matrix_exp(torch.cat(rows, dim=0))
    return m[:sizes[0], m.shape[1] - sizes[-1]:]
'''),
}


def _expm_code(backend: str):
    spelling = _EXPM[backend]

    def code(p, e):
        (x,) = e.children
        if x.shape == (1, 1):  # a number in the generated code
            return p.call(p.qualified("exp"), p.array_arg(x))
        if isinstance(spelling, Helper):
            return p.call(p.helper(spelling), *p.helper_args(), p.arg(x))
        return p.call(p.qualified(spelling), p.arg(x))
    return code


def _block_code(backend: str):
    def code(p, e):
        if backend == "numpy":
            p.helper(_EXPM["numpy"])  # the helper expm_block calls
        text, _ = p.call(p.helper(_BLOCK[backend]), *p.helper_args(),
                         *(p.array_arg(c) for c in e.children))
        if e.shape == (1, 1):  # a number in the generated code
            return f"{text}[0, 0]", p.ATOM
        return text, p.ATOM
    return code


def _helpers(spellings: dict) -> tuple:
    return tuple(s for s in spellings.values() if isinstance(s, Helper))


# ---- rounding scales (verify) ----------------------------------------------------------------


def _norm_1(a) -> float:
    return float(np.max(np.sum(np.abs(a), axis=0), initial=0.0))


def _expm_scale(node, cv, cs, av, condition):
    a = np.abs(cv[0])
    n = a.shape[0]
    sa = np.broadcast_to(cs[0], a.shape)
    # |d e^A| ≤ L(|A|, |dA|), and the method's own rounding grows with ‖A‖ (the squarings)
    return frechet_value(a, sa) + (n + _norm_1(a)) * expm_value(a)


def _block_scale(node, cv, cs, av, condition):
    absolute = [np.abs(v) for v in cv]
    total = sum(v.shape[0] for v in absolute[0::2])
    norm = max(_norm_1(v) for v in absolute)
    own = block_value(absolute)
    out = (total + len(absolute) * norm) * own
    for i in range(1, len(cv), 2):  # rounding in a Cᵢ, carried linearly
        out = out + block_value(absolute[:i] + [np.broadcast_to(cs[i], cv[i].shape)]
                                + absolute[i + 1:])
    for i in range(0, len(cv), 2):  # in a Dᵢ, through the next order's block
        s = float(np.max(np.broadcast_to(cs[i], cv[i].shape), initial=0.0))
        if s > 0:
            out = out + s * (1.0 + norm) * block_value(
                absolute[:i + 1] + [np.ones(cv[i].shape), absolute[i]] + absolute[i + 1:])
    return out


# ---- expm ------------------------------------------------------------------------------------


def _expm(node, d):
    """d e^A = L(A, dA) = ∫₀¹ e^{sA} dA e^{(1−s)A} ds, the Fréchet derivative
    (Higham, "Functions of Matrices", 2008, eq. 10.15)."""
    (a,) = node.children
    return expm_block(a, d[0], a)


EXPM = declare(Operation(
    name="expm", call="expm", signature="n,n -> n,n",
    kernel=lambda params, a: expm_value(a), differential=_expm,
    text=lambda p, e: p.call("expm", e.children[0]), latex=r"\operatorname{expm}",
    code={b: _expm_code(b) for b in _EXPM}, helpers=_helpers(_EXPM),
    scale=_expm_scale,
    convention=("differentiable everywhere; its derivative is the Fréchet derivative "
                "expm_frechet. The 1-norm of A must be at most 700 (beyond, e^A "
                "overflows)"),
))

expm = constructor(EXPM, """The matrix exponential e^A = I + A + A²/2! + … of a square
    A (n×n); not the elementwise exp. Its derivative is the Fréchet derivative,
    d expm(A) = expm_frechet(A, dA), and ∂ tr(e^X)/∂X = (e^X)ᵀ.

    >>> import matgrad as mg
    >>> (n,) = mg.dims("n")
    >>> X = mg.matrix("X", n, n)
    >>> mg.expm(X), mg.grad(mg.trace(mg.expm(X)), X)
    (expm(X), expm(X)ᵀ)
    >>> mg.evaluate(mg.expm(X), {"X": [[0.0, 1.0], [0.0, 0.0]]})
    array([[1., 1.],
           [0., 1.]])
    """, __name__)


# ---- the block operation: every derivative of expm ---------------------------------------------


def _order(count: int):
    """The order k of expm_block with `count` = 2k + 1 arguments, else None."""
    return (count - 1) // 2 if count % 2 == 1 and count >= 3 else None


def _block_signature(order: int) -> str:
    parts = []
    for i in range(order + 1):
        if i:
            parts.append(f"n{i - 1},n{i}")
        parts.append(f"n{i},n{i}")
    return "; ".join(parts) + f" -> n0,n{order}"


def _block(node, d):
    """d expm_block(D₀, C₁, …, D_k) = Σᵢ expm_block(…, dCᵢ, …) + Σⱼ expm_block(…, Dⱼ,
    dDⱼ, Dⱼ, …): linear in each Cᵢ; in Dⱼ the exponential's time on block j splits
    around the direction (Najfeld and Havel 1995; Higham 2008, Theorem 3.6)."""
    kids = node.children
    out = None
    for i, di in enumerate(d):
        if di is None:
            continue
        if i % 2:
            term = expm_block(*kids[:i], di, *kids[i + 1:])
        else:
            if len(kids) // 2 + 1 > MAX_ORDER:
                raise MatgradError(BEYOND_ORDER)
            term = expm_block(*kids[:i + 1], di, kids[i], *kids[i + 1:])
        out = term if out is None else ops.add(out, term)
    return out


def _t(x):
    """xᵀ, with (Aᵀ)ᵀ written A (the readings below transpose what may be a transpose)."""
    return x.children[0] if x.op == "transpose" else ops.transpose(x)


def _block_adjoint(node, g, position):
    """G : expm_block(D₀, …, dCⱼ, …, D_k) = expm_block(Dⱼ₋₁ᵀ, Cⱼ₋₁ᵀ, …, D₀ᵀ, G, D_kᵀ,
    C_kᵀ, …, Dⱼᵀ) : dCⱼ."""
    t = _t
    ds, cs = node.children[0::2], node.children[1::2]  # cs[i − 1] is Cᵢ
    j, k = (position + 1) // 2, len(ds) - 1
    left = []
    for i in range(j - 1, -1, -1):
        left.append(t(ds[i]))
        if i >= 1:
            left.append(t(cs[i - 1]))
    right = []
    for i in range(k, j - 1, -1):
        right.append(t(ds[i]))
        if i > j:
            right.append(t(cs[i - 1]))
    return expm_block(*left, g, *right)


def kronecker_form(node, position):
    """The matrix K with vec expm_block(…, X, …) = K vec X for X at `position` (a Cⱼ):
    expm_block(D_kᵀ ⊗ I, C_kᵀ ⊗ I, …, Dⱼᵀ ⊗ I, I, I ⊗ D₀, I ⊗ C₁, …, I ⊗ Dⱼ₋₁), the
    identities of sizes n₀ (on the left part) and nⱼ (on the right)."""
    t = _t
    ds, cs = node.children[0::2], node.children[1::2]
    j, k = (position + 1) // 2, len(ds) - 1
    first, here = ops.eye(ds[0].shape[0]), ops.eye(ds[j].shape[0])
    seq = []
    for i in range(k, j - 1, -1):
        seq.append(kron(t(ds[i]), first))
        if i > j:
            seq.append(kron(t(cs[i - 1]), first))
    seq.append(ops.eye(product(ds[j].shape[0], ds[0].shape[0])))
    for i in range(j):
        seq.append(kron(here, ds[i]))
        if i < j - 1:
            seq.append(kron(here, cs[i]))
    return expm_block(*seq)


def _block_index(node, lin, r, c, t, position):
    """expm_block(…, X, …)_rc = Σ K_{r+n₀c, a+pb} X_ab, K the Kronecker form."""
    k = kronecker_form(node, position)
    rows, cols = node.shape
    x = node.children[position]
    fresh = []
    if rows != 1 and cols != 1:
        row = t.axis_index(product(rows, cols))
        r0, c0, pair = t.split(row, rows, cols)
        pair = [f.renamed({r0: r, c0: c}) for f in pair]
        fresh.append(row)
    else:
        row, pair = (r if rows != 1 else c), []
    size = product(*x.shape)
    col = t.axis_index(size) if size != 1 else None
    i, j, col_pair = t.split(col, *x.shape)
    terms = t.multiply([t.Term(1, (t.Factor(k, row, col), *pair, *col_pair))],
                       lin(x, i, j))
    return t.sum_over(terms, fresh + [col] + [v for v in (i, j) if v not in (col, None)])


def _jacobian_argument(e):
    """A where e is expm_block(Aᵀ ⊗ I, I, I ⊗ A), the Kronecker form K(A), else None."""
    kids = e.children
    if len(kids) != 3 or kids[2].op != "kron" or kids[2].children[0].op != "eye":
        return None
    a = kids[2].children[1]
    return a if kids[0] is _jacobian_of(a).children[0] and kids[1].op == "eye" else None


def _block_text(name_of):
    def text(p, e):
        kids = e.children
        if len(kids) == 3 and kids[0] is kids[2]:  # the Fréchet derivative
            return name_of(p, "expm_frechet", kids[:2])
        a = _jacobian_argument(e)
        if a is not None:
            return name_of(p, "expm_jacobian", (a,))
        return name_of(p, "expm_block", kids)
    return text


def _call_latex(p, name, kids):
    inner = ", ".join(p.visit(k)[0] for k in kids)
    return r"\operatorname{" + name.replace("_", r"\_") + r"}\left(" + inner + r"\right)", \
        p.ATOM


EXPM_BLOCK = declare(Operation(
    name="expm_block", call="expm_block", signature=_block_signature,
    keywords=(Keyword("order", tuple(range(1, MAX_ORDER + 1)), 1, counted=_order),),
    kernel=lambda params, *arrays: block_value(arrays), differential=_block,
    linear_in=lambda node: range(1, len(node.children), 2), adjoint=_block_adjoint,
    identity=("expm_block", "G : expm_frechet(A, dE) = expm_frechet(Aᵀ, G) : dE; of any "
              "order, G : expm_block(D₀, …, dCⱼ, …, D_k) = expm_block(Dⱼ₋₁ᵀ, …, D₀ᵀ, G, "
              "D_kᵀ, …, Dⱼᵀ) : dCⱼ"),
    index=_block_index,
    text=_block_text(lambda p, name, kids: p.call(name, *kids)),
    latex=_block_text(_call_latex),
    code={b: _block_code(b) for b in _BLOCK},
    helpers=_helpers(_BLOCK) + _helpers(_EXPM),
    scale=_block_scale, unsupported=BEYOND_ORDER,
    convention=("linear in each Cᵢ; of every order up to 8 directions (derivatives of "
                "expm up to order 8); expm_frechet(A, E) is expm_block(A, E, A)"),
))


@publish
def expm_block(*args):
    """The (0, k) block of the exponential of the block-bidiagonal matrix with diagonal
    blocks D₀, …, D_k (square) and superdiagonal blocks C₁, …, C_k (Cᵢ is nᵢ₋₁×nᵢ):
    expm_block(D₀, C₁, D₁, …, C_k, D_k) = ∫ e^{t₀D₀} C₁ e^{t₁D₁} ⋯ C_k e^{t_kD_k} over
    the times t ≥ 0 with Σt = 1. It carries every derivative of expm: the Fréchet
    derivative is expm_block(A, E, A), the second expm_block(A, E, A, F, A) +
    expm_block(A, F, A, E, A).

    >>> import matgrad as mg
    >>> m, n = mg.dims("m n")
    >>> P, Q, C = mg.matrix("P", m, m), mg.matrix("Q", n, n), mg.matrix("C", m, n)
    >>> mg.expm_block(P, C, Q).shape
    (m, n)
    >>> mg.expm_block(P, C)
    Traceback (most recent call last):
        ...
    matgrad.errors.MatgradError: expm_block takes an odd number of arguments, 3 to 17 (D₀, C₁, D₁, …, C_k, D_k), not 2
    """
    args = tuple(ops.to_expr(a) for a in args)
    order = _order(len(args))
    if order is None or order > MAX_ORDER:
        raise MatgradError(f"expm_block takes an odd number of arguments, 3 to "
                           f"{2 * MAX_ORDER + 1} (D₀, C₁, D₁, …, C_k, D_k), not {len(args)}")
    return registry.build(EXPM_BLOCK, args, (order,))


registry.spell("expm_frechet", "n,n; n,n -> n,n")
registry.spell("expm_jacobian", "n,n -> n*n,n*n")


@publish
def expm_frechet(a, e):
    """The Fréchet derivative of the matrix exponential at A in the direction E (both
    n×n): L(A, E) = ∫₀¹ e^{sA} E e^{(1−s)A} ds, so that d expm(A) = expm_frechet(A, dA)
    (scipy.linalg.expm_frechet). It is expm_block(A, E, A); linear in E, and e^A E where
    E commutes with A.

    >>> import matgrad as mg
    >>> (n,) = mg.dims("n")
    >>> A, E = mg.matrix("A", n, n), mg.matrix("E", n, n)
    >>> mg.expm_frechet(A, E), mg.simplify(mg.expm_frechet(A, mg.eye(n)))
    (expm_frechet(A, E), expm(A))
    """
    a, e = ops.to_expr(a), ops.to_expr(e)
    if a.shape[0] != a.shape[1]:
        raise ShapeError(f"expm_frechet({short(a)}, {short(e)}): {short(a)} is "
                         f"{fmt_shape(a.shape)}, not square")
    if e.shape != a.shape:
        raise ShapeError(f"expm_frechet({short(a)}, {short(e)}): {short(e)} is "
                         f"{fmt_shape(e.shape)}, not {fmt_shape(a.shape)} as {short(a)}")
    return expm_block(a, e, a)


@publish
def expm_jacobian(a):
    """The Jacobian of the matrix exponential in vec form: the n²×n² matrix
    K(A) = ∂vec(e^A)/∂vec(A) = ∫₀¹ e^{(1−s)Aᵀ} ⊗ e^{sA} ds, so that
    vec(expm_frechet(A, E)) = K(A) vec(E) (columns stacked); it is
    expm_block(Aᵀ ⊗ I, I, I ⊗ A).

    >>> import matgrad as mg
    >>> (n,) = mg.dims("n")
    >>> mg.expm_jacobian(mg.matrix("A", n, n)).shape
    (n·n, n·n)
    """
    a = ops.to_expr(a)
    if a.shape[0] != a.shape[1]:
        raise ShapeError(f"expm_jacobian({short(a)}): {short(a)} is {fmt_shape(a.shape)}, "
                         "not square")
    return _jacobian_of(a)


def _jacobian_of(a):
    n = a.shape[0]
    return expm_block(kron(_t(a), ops.eye(n)), ops.eye(product(n, n)), kron(ops.eye(n), a))
