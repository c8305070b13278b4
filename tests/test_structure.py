"""Structured variables (symmetric, spd, lower, upper, diagonal).

The convention (docs/notation.md): the gradient is the unconstrained gradient projected
onto the structure, so dL = ∂L/∂X : dX for every dX the variable can take, and for the
triangular and diagonal structures each free entry's own partial derivative. Checked
here by central differences along directions in the structure, written with NumPy
masks independent of matgrad's, at random points with distinct sizes; plus the values
refused outside the structure, the points drawn in it and the declarations read.
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import matgrad as mg
from matgrad.structure import of as structure_of
from matgrad.verify import sample

from .strategies import SIZES, structured_expressions

STRUCTURES = ("symmetric", "spd", "lower", "upper", "diagonal")
PROPERTY = settings(max_examples=40, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


# ---- the structures in plain NumPy ------------------------------------------------------


def free(structure: str, n: int) -> np.ndarray:
    """The entries a variable of the structure may move (symmetric ones in pairs)."""
    i, j = np.indices((n, n))
    return {"lower": i >= j, "upper": i <= j, "diagonal": i == j}.get(
        structure, np.ones((n, n), dtype=bool))


def along(structure: str, rng, n: int) -> np.ndarray:
    """A random direction in the structure."""
    v = rng.standard_normal((n, n))
    return v + v.T if structure in ("symmetric", "spd") else v * free(structure, n)


def in_structure(structure: str, a: np.ndarray) -> bool:
    a = np.asarray(a, dtype=float)
    scale = 1e-12 * max(1.0, float(np.max(np.abs(a))))
    if structure in ("symmetric", "spd"):
        ok = bool(np.all(np.abs(a - a.T) <= scale))
        return ok and (structure == "symmetric" or bool(np.all(np.linalg.eigvalsh(a) > 0)))
    return bool(np.all(np.abs(a[~free(structure, a.shape[0])]) <= scale))


def point_in(structure: str, rng, n: int) -> np.ndarray:
    """A well-conditioned value of the structure with a positive determinant."""
    a = rng.standard_normal((n, n)) * (0.4 / np.sqrt(n))
    if structure in ("symmetric", "spd"):
        return a @ a.T + np.eye(n)
    return a * free(structure, n) + 2 * np.eye(n)


def difference(f, x: np.ndarray, v: np.ndarray, claimed: float) -> float:
    """The smallest relative error of `claimed` against central differences of f at x
    along v, over a few steps (a correct value fails at one step only where rounding or
    curvature spoils that step; a wrong one fails at every step)."""
    best = np.inf
    for h in (1e-6, 1e-5, 1e-4, 1e-3):
        fd = (f(x + h * v) - f(x - h * v)) / (2 * h)
        best = min(best, abs(fd - claimed) / max(1.0, abs(fd), abs(claimed)))
    return best


# ---- the convention, on a table of losses -------------------------------------------------

# losses of a square X (n×n) among other variables of distinct sizes (B: m×n, w: n, y: m)
LOSSES = [
    "sum((B @ X @ w - y)**2)",
    "logdet(X) + trace(inv(X) @ C)",
    "sum(tanh(X @ C) * X) + w.T @ X @ X.T @ w",
    "norm(X @ w) + sum(exp(X / 4))",
]
SHAPES = "X: n,n {}; B: m,n; C: n,n; w: n; y: m"


def _values(rng, structure, m, n):
    return {"X": point_in(structure, rng, n), "B": rng.standard_normal((m, n)),
            "C": rng.standard_normal((n, n)), "w": rng.standard_normal(n),
            "y": rng.standard_normal(m)}


@given(st.sampled_from(STRUCTURES), st.sampled_from(LOSSES),
       st.integers(2, 6), st.integers(2, 6), st.integers(0, 2**32 - 1))
@PROPERTY
def test_the_gradient_pairs_with_every_direction_in_the_structure(structure, loss, m, n,
                                                                   seed):
    if m == n:  # distinct sizes, so that a misplaced transpose shows
        m = n + 1
    L = mg.parse(loss, SHAPES.format(structure))
    G = mg.grad(L, "X")
    rng = np.random.default_rng(seed)
    values = _values(rng, structure, m, n)
    g = mg.evaluate(G, values)
    assert in_structure(structure if structure != "spd" else "symmetric", g)

    def f(x):
        return mg.evaluate(L, {**values, "X": x})

    for _ in range(3):
        v = along(structure, rng, n)
        assert difference(f, values["X"], v, float(np.sum(g * v))) < 1e-6, (loss, structure)


@pytest.mark.parametrize("structure", ["lower", "upper", "diagonal"])
def test_each_free_entry_gets_its_own_partial(structure, rng):
    """Triangular and diagonal: (∂L/∂X)ᵢⱼ = ∂L/∂Xᵢⱼ for each free entry, 0 elsewhere."""
    m, n = 3, 4
    L = mg.parse(LOSSES[2], SHAPES.format(structure))
    values = _values(rng, structure, m, n)
    g = mg.evaluate(mg.grad(L, "X"), values)
    for i, j in np.ndindex(n, n):
        e = np.zeros((n, n))
        e[i, j] = 1.0
        if free(structure, n)[i, j]:
            assert difference(lambda x: mg.evaluate(L, {**values, "X": x}),
                              values["X"], e, g[i, j]) < 1e-6, (i, j)
        else:
            assert g[i, j] == 0.0


@pytest.mark.parametrize("structure", ["symmetric", "spd"])
def test_a_symmetric_pair_moves_by_twice_its_entry(structure, rng):
    """Symmetric: moving Xᵢⱼ = Xⱼᵢ together changes L by 2 (∂L/∂X)ᵢⱼ, Xᵢᵢ by (∂L/∂X)ᵢᵢ."""
    m, n = 4, 3
    L = mg.parse(LOSSES[1], SHAPES.format(structure))
    values = _values(rng, structure, m, n)
    g = mg.evaluate(mg.grad(L, "X"), values)
    for i, j in np.ndindex(n, n):
        e = np.zeros((n, n))
        e[i, j] = e[j, i] = 1.0
        want = g[i, i] if i == j else 2 * g[i, j]
        assert difference(lambda x: mg.evaluate(L, {**values, "X": x}),
                          values["X"], e, want) < 1e-6, (i, j)


@given(structured_expressions())
@PROPERTY
def test_random_expressions_of_structured_variables(case):
    """Random expressions (tests/strategies.py) whose square variables are structured:
    the points the checks draw are in the structure, and so is each gradient, which
    pairs with directions in the structure as central differences say."""
    rng = np.random.default_rng(0)
    xs = [x for x in case.variables if structure_of(x)]
    grads = mg.gradients(case.expr, xs)
    values, sizes = sample([case.expr, *grads], rng, SIZES)
    for x, G in zip(xs, grads):
        kind, name = structure_of(x), x.name
        assert in_structure(kind, values[name]), (case.text, name)
        g = np.asarray(mg.evaluate(G, values, sizes), dtype=float).reshape(values[name].shape)
        assert in_structure("symmetric" if kind == "spd" else kind, g), (case.text, name)

        def f(a, name=name):
            return mg.evaluate(case.expr, {**values, name: a}, sizes)

        v = along(kind, rng, values[name].shape[0])
        assert difference(f, values[name], v, float(np.sum(g * v))) < 1e-5, \
            (case.text, name)


# ---- values -------------------------------------------------------------------------------

# a value outside each structure, and the words that say so
OUTSIDE = {
    "symmetric": (np.array([[2.0, 1.0], [0.0, 3.0]]),
                  "S is declared symmetric but its value is not symmetric"),
    "spd": (np.array([[1.0, 2.0], [2.0, 1.0]]),
            "S is declared symmetric positive definite but its value is not positive definite"),
    "lower": (np.array([[2.0, 1.0], [0.0, 3.0]]),
              "S is declared lower triangular but its value has nonzero entries above"),
    "upper": (np.array([[2.0, 0.0], [1.0, 3.0]]),
              "S is declared upper triangular but its value has nonzero entries below"),
    "diagonal": (np.array([[2.0, 0.0], [1.0, 3.0]]),
                 "S is declared diagonal but its value has nonzero entries off the diagonal"),
}


@pytest.mark.parametrize("backend", ["numpy", "jax", "torch"])
@pytest.mark.parametrize("structure", STRUCTURES)
def test_values_outside_the_structure_are_refused_by_name(structure, backend, rng):
    L = mg.parse("x.T @ S @ x + logdet(S)", f"S: n,n {structure}; x: n")
    f = mg.compile(L, ["S", "x"], backend=backend)
    good = {"S": point_in(structure, rng, 2), "x": np.array([1.0, -1.0])}
    value, grads = f(good)
    assert float(value) == pytest.approx(mg.evaluate(L, good))
    assert in_structure("symmetric" if structure == "spd" else structure,
                        np.asarray(grads["S"]))
    bad, words = OUTSIDE[structure]
    bad = {**good, "S": bad}
    with pytest.raises(mg.MatgradError, match=words):
        mg.evaluate(L, bad)
    for _ in range(2):  # the second call takes the path for shapes already checked
        with pytest.raises(mg.MatgradError, match=words):
            f(bad)


def test_a_value_in_the_structure_up_to_rounding_is_taken(rng):
    """A triangular factor computed in floating point (zeros exact) and a symmetric Gram
    matrix equal to its transpose only up to rounding are both taken."""
    a = rng.standard_normal((4, 4))
    gram = a @ (a.T * (1 + 1e-15)) + np.eye(4)
    L = mg.parse("logdet(S) + sum(Q)", "S: n,n spd; Q: n,n lower")
    q = np.linalg.cholesky(gram)
    assert np.isfinite(mg.evaluate(L, {"S": gram, "Q": q}))


# ---- random points and checks -------------------------------------------------------------


@pytest.mark.parametrize("structure", STRUCTURES)
def test_sampled_points_are_in_the_structure(structure):
    S = mg.parse("sum(S)", f"S: n,n {structure}").children[0]
    for seed in range(20):
        size = 2 + seed % 5
        values, _ = sample([mg.sum(S)], np.random.default_rng(seed), {"n": size})
        assert values["S"].shape == (size, size)
        assert in_structure(structure, values["S"]), (seed, values["S"])


@pytest.mark.parametrize("text", ["logdet(S)", "trace(inv(S) @ C)", "x.T @ inv(S) @ x",
                                  "logdet(S) - x.T @ S @ x"])
def test_spd_losses_verify(text):
    """Drawn positive definite, an spd variable is never where logdet or inv fail."""
    L = mg.parse(text, "S: n,n spd; C: n,n; x: n")
    report = mg.verify(L, "S", points=8)
    assert report.ok, str(report)


@pytest.mark.parametrize("structure", STRUCTURES)
def test_check_accepts_the_structured_gradient_and_explains_the_unprojected_one(structure):
    L = mg.parse("x.T @ S @ y", f"S: n,n {structure}; x: n; y: n")
    projected = {"symmetric": "(x @ y.T + y @ x.T) / 2", "spd": "(x @ y.T + y @ x.T) / 2",
                 "lower": "tril(x @ y.T)", "upper": "triu(x @ y.T)",
                 "diagonal": "diag(diag(x @ y.T))"}[structure]
    assert mg.check(L, "S", claim=projected).verdict == "correct"
    r = mg.check(L, "S", claim="x @ y.T")
    assert r.verdict == "wrong-value"
    assert "along every direction" in str(r) and "declared" in str(r), str(r)


# ---- declarations -------------------------------------------------------------------------


@pytest.mark.parametrize("structure", STRUCTURES)
def test_declarations_read_each_structure(structure):
    n = mg.dims("n")[0]
    for spec in (f"n,n {structure}", f"n x n {structure.upper()}", f"n×n  {structure}"):
        prog = mg.parse_program("sum(S)", {"S": spec})
        assert prog.variables["S"] is mg.matrix("S", n, n, structure=structure)
    assert mg.parse_program("sum(S)", f"S: n,n {structure}").variables["S"] is \
        mg.var("S", n, n, structure=structure)


@pytest.mark.parametrize("structure", STRUCTURES)
def test_a_structure_needs_a_square_shape(structure):
    words = mg.structure.phrase(structure)
    with pytest.raises(mg.ShapeError, match=f"S is declared {words} but is not square") as e:
        mg.parse("sum(S)", f"x: n; S: m,n {structure}")
    assert "^" in str(e.value) and f"m,n {structure}" in str(e.value)  # points at it
    with pytest.raises(mg.ShapeError, match="not square"):
        mg.parse("sum(S)", {"S": f"n {structure}"})
    with pytest.raises(mg.ShapeError, match=f"S is declared {words} but its shape"):
        mg.matrix("S", 2, 3, structure=structure)


def test_an_unknown_or_contradictory_structure_is_an_error():
    with pytest.raises(mg.MatgradError, match="structure of S must be one of"):
        mg.matrix("S", 3, 3, structure="orthogonal")
    with pytest.raises(mg.MatgradError, match="S cannot be both symmetric and lower"):
        mg.matrix("S", 3, 3, symmetric=True, structure="lower")
    assert mg.matrix("S", 3, 3, symmetric=True, structure="spd").params == ("S", "spd")


@pytest.mark.parametrize("structure", STRUCTURES)
def test_the_derivation_ends_with_the_projection(structure):
    L = mg.parse("x.T @ S @ y", f"S: n,n {structure}; x: n; y: n")
    d = mg.derive(L, "S")
    assert any("dX is" in s.rule for s in d.steps), str(d)
    assert max(d.verify(points=2)) < 1e-6
    G = mg.grad(L, "S")
    values, sizes = sample([L, G, d.result], np.random.default_rng(1))
    assert np.allclose(mg.evaluate(d.result, values, sizes), mg.evaluate(G, values, sizes))


@pytest.mark.parametrize("text", ["tril(A) @ x", "triu(A.T @ A) @ x", "tril(triu(A)) @ x"])
def test_tril_and_triu_read_back_in_every_notation(text, rng):
    from matgrad.printing.latex import to_latex
    from matgrad.printing.text import to_text
    e = mg.parse(text, "A: n,n; x: n")
    vals = {"A": rng.standard_normal((4, 4)), "x": rng.standard_normal(4)}
    for printed, syntax in ((to_text(e, unicode=False), "python"), (to_text(e), "math"),
                            (to_latex(e), "latex")):
        back = mg.parse(printed, "A: n,n; x: n", syntax=syntax)
        assert np.allclose(mg.evaluate(back, vals), mg.evaluate(e, vals)), (printed, syntax)
    with pytest.raises(mg.ShapeError, match="not square"):
        mg.parse("tril(B)", "B: m,n")
