"""One spec per operation: its shapes, its input domain, and a finite-difference check of
its differential rule (through the reverse-mode engine), with distinct dimensions."""
from __future__ import annotations

import pytest

import matgrad as mg
from matgrad.elementwise import NAMES, table
from matgrad.rules import OPERATIONS

from .conftest import assert_gradients_match

m, n, k = mg.dims("m n k")
X = mg.matrix("X", m, n)
Y = mg.matrix("Y", n, k)
A = mg.matrix("A", n, n)
S = mg.matrix("S", n, n, symmetric=True)
u = mg.vector("u", m)
v = mg.vector("v", n)
a = mg.scalar("a")
# Fixed random weights turn any output into a scalar that depends on every entry.
Cmn, Cnn, Cmk, Cn, Cm = (mg.matrix("Cmn", m, n), mg.matrix("Cnn", n, n),
                         mg.matrix("Cmk", m, k), mg.vector("Cn", n), mg.vector("Cm", m))


def weigh(E):
    """sum(C ⊙ E) with a fixed random C of E's shape."""
    by_shape = {(m, n): Cmn, (n, n): Cnn, (m, k): Cmk, (n, 1): Cn, (m, 1): Cm}
    if E.shape == (1, 1):
        return E
    if E.shape == (1, n):
        return mg.sum(Cn.T * E)
    return mg.sum(by_shape[E.shape] * E)


# op -> (expression builder, variables to differentiate by); domains are in the
# elementwise table and in the sampler (well-conditioned square matrices).
SPECS = {
    "var": (lambda: X, [X]),
    "const": (lambda: 3 * X, [X]),
    "dim": (lambda: X / m, [X]),
    "ones": (lambda: X + mg.ones(m, n), [X]),
    "zeros": (lambda: X + mg.zeros(m, n), [X]),
    "eye": (lambda: A @ mg.eye(n), [A]),
    "add": (lambda: X + Cmn * X, [X]),
    "neg": (lambda: -X, [X]),
    "mul": (lambda: X * (X @ A), [X, A]),
    "div": (lambda: X / (X * X + 1), [X]),
    "pow": (lambda: X ** 3, [X]),
    "broadcast": (lambda: X + u + v.T + a, [X, u, v, a]),
    "matmul": (lambda: X @ Y, [X, Y]),
    "transpose": (lambda: X.T @ u, [X, u]),
    "sum": (lambda: mg.sum(X * X) + mg.sum(X, axis=0) @ v + u.T @ mg.sum(X, axis=1), [X]),
    "trace": (lambda: mg.trace(A @ A), [A]),
    "det": (lambda: mg.det(A), [A]),
    "logdet": (lambda: mg.logdet(A), [A]),
    "inv": (lambda: mg.inv(A), [A]),
    "diagmat": (lambda: mg.diag(v) @ A, [v, A]),
    "diagvec": (lambda: mg.diag(A) * v, [A, v]),
    "tril": (lambda: mg.tril(A @ A), [A]),
    "triu": (lambda: mg.triu(A) * A, [A]),
    "fn": (lambda: mg.tanh(X), [X]),
    "norm": (lambda: mg.norm(X) + mg.norm(v), [X, v]),
    "logsumexp": (lambda: mg.logsumexp(v), [v]),
    "softmax": (lambda: mg.softmax(v) + mg.softmax(X, axis=0).T @ u, [v, X]),
    "log_softmax": (lambda: mg.log_softmax(v) + mg.log_softmax(X, axis=1).T @ u, [v, X, u]),
    "max": (lambda: mg.max(X) + mg.max(X, axis=0) @ v + u.T @ mg.max(X, axis=1), [X]),
    "min": (lambda: mg.min(X) + mg.min(X, axis=0) @ v + u.T @ mg.min(X, axis=1), [X]),
    "maximum": (lambda: mg.maximum(X, u) + mg.maximum(a, v.T), [X, u, a, v]),
    "minimum": (lambda: mg.minimum(X, u) + mg.minimum(a, v.T), [X, u, a, v]),
    "clip": (lambda: mg.clip(X, u, a), [X, u, a]),
    "ismax": (lambda: X * mg.ismax(X) + mg.ismax(X, axis=0) * X, [X]),
    "ismin": (lambda: X * mg.ismin(X, axis=1), [X]),
    "solve": (lambda: mg.solve(A, v) + mg.solve(A.T, A) @ v, [A, v]),
    "matrix_power": (lambda: mg.matrix_power(A, 3) + mg.matrix_power(A, -2), [A]),
    "adj": (lambda: mg.adj(A), [A]),
    "cholesky": (lambda: mg.cholesky(A), [A]),
    "tril_half": (lambda: mg.tril_half(A @ A), [A]),
    # symmetric arguments that stay symmetric when one entry of A moves
    "eigvalsh": (lambda: mg.eigvalsh(A + A.T), [A]),
    "eigvecsh": (lambda: mg.eigvecsh(A @ A.T + A + A.T), [A]),
    # tall arguments (at m = 3, n = 4 too): Xᵀ, n×m
    "svdvals": (lambda: mg.svdvals(X.T), [X]),
    "norm_1": (lambda: mg.norm(X @ v, 1), [X, v]),
    "norm_inf": (lambda: mg.norm(X @ v, float("inf")), [X, v]),
    "norm_1_matrix": (lambda: mg.norm(X @ Y, 1), [X, Y]),
    "norm_inf_matrix": (lambda: mg.norm(X @ Y, float("inf")), [X, Y]),
    "norm_nuc": (lambda: mg.norm(X.T, "nuc"), [X]),
    "norm_spectral": (lambda: mg.norm(X.T, 2), [X]),
    "kron": (lambda: mg.sum(mg.sin(mg.kron(X, A))), [X, A]),
    "vec": (lambda: mg.vec(X).T @ mg.vec(X @ A), [X, A]),
    "unvec": (lambda: mg.unvec(mg.vec(X), m, n) * X, [X]),
    "expm": (lambda: mg.expm(X.T @ X / 8 + A), [X, A]),
    # two-sided and of order 2: distinct sizes in the blocks
    "expm_block": (lambda: mg.expm_block(mg.tanh(X @ X.T) / 4, X, A / 4, A, A.T / 4),
                   [X, A]),
    # arguments near 2I or Gram matrices plus I: the spectrum off the negative axis
    "logm": (lambda: mg.logm(X.T @ X / 8 + A), [X, A]),
    "sqrtm": (lambda: mg.sqrtm(X.T @ X / 8 + A), [X, A]),
    "logm_block": (lambda: mg.logm_block(X @ X.T + mg.eye(m), X, A, A, A.T), [X, A]),
    "sqrtm_block": (lambda: mg.sqrtm_block(X @ X.T + mg.eye(m), X, A, A, A.T), [X, A]),
}


def test_every_operation_has_a_spec():
    missing = OPERATIONS - set(SPECS)
    assert not missing, f"operations without a spec: {sorted(missing)}"


@pytest.mark.parametrize("op", sorted(SPECS))
def test_rule_matches_finite_differences(op):
    build, wrt = SPECS[op]
    E = build()
    assert any(node.op == op for node in mg.expr.walk(E)), f"spec does not exercise {op}"
    assert_gradients_match(weigh(E), wrt)


def test_every_elementwise_function_is_in_the_table():
    assert set(NAMES) == set(table())


@pytest.mark.parametrize("name", NAMES)
def test_elementwise_derivative_matches_finite_differences(name):
    row = table()[name]
    k = (1,) if row.ordered else ()  # polygamma(1, X): the trigamma function
    E = mg.ops.fn(name, *k, X)
    if row.domain == "positive":
        E = mg.ops.fn(name, *k, X * X + 0.5)
    elif row.domain == "unit":
        E = mg.ops.fn(name, *k, 0.9 * mg.tanh(X))
    assert_gradients_match(weigh(E), [X])


def test_symmetric_variable_gets_symmetric_gradient(rng):
    L = v.T @ S @ v + mg.trace(Cnn @ S)
    (G,) = assert_gradients_match(L, [S])
    import numpy as np
    s = rng.standard_normal((4, 4))
    vals = {"S": s + s.T, "v": rng.standard_normal(4), "Cnn": rng.standard_normal((4, 4))}
    g = mg.evaluate(G, vals)
    assert np.allclose(g, g.T)


def test_conventions_at_kinks():
    """relu′(0) = H(0) = 0 and abs′(0) = sign(0) = 0, as documented."""
    import numpy as np
    x = mg.vector("x", 3)
    g_relu = mg.grad(mg.sum(mg.relu(x)), x)
    g_abs = mg.grad(mg.sum(mg.abs(x)), x)
    at = {"x": np.array([0.0, 1.0, -1.0])}
    assert list(mg.evaluate(g_relu, at)) == [0.0, 1.0, 0.0]
    assert list(mg.evaluate(g_abs, at)) == [0.0, 1.0, -1.0]


@pytest.mark.parametrize("backend", ["evaluate", "numpy", "jax", "torch"])
def test_the_norm_has_the_subgradient_zero_at_zero(backend, rng):
    """‖A‖ at A = 0: the subgradient 0 (PyTorch's convention), where A/‖A‖ is 0/0. A
    dead layer (every entry of Cᵀx negative) gives the gradient 0, which is what central
    differences give; evaluate and every backend agree."""
    import numpy as np
    if backend in ("jax", "torch"):
        pytest.importorskip(backend)
    n_, k_ = 4, 3
    C = np.abs(rng.standard_normal((n_, k_))) + 0.1
    xv = -np.abs(rng.standard_normal(n_)) - 0.1  # Cᵀx < 0 entrywise: relu(Cᵀx) = 0
    L = mg.parse("cos(norm(relu(C.T @ x))) + 2 * norm(relu(C.T @ x)) + sum(x)",
                 {"C": "n,k", "x": "n"})
    x = next(v for v in mg.expr.variables(L) if v.name == "x")
    values = {"C": C, "x": xv}
    if backend == "evaluate":
        g = np.asarray(mg.evaluate(mg.grad(L, x), values), dtype=float).reshape(-1)
    else:
        g = np.asarray(mg.compile(L, [x], backend=backend)(values)[1]["x"],
                       dtype=float).reshape(-1)
    h = 1e-6
    fd = [(mg.evaluate(L, {"C": C, "x": xv + h * e}) - mg.evaluate(L, {"C": C, "x": xv - h * e}))
          / (2 * h) for e in np.eye(n_)]
    assert np.all(np.isfinite(g))
    assert np.allclose(g, fd, atol=1e-5)
    assert np.allclose(g, 1.0)  # only sum(x) is alive
