"""What a value may be: evaluate and every compiled backend take the same values and
refuse the same ones, with the same message naming the variable."""
from __future__ import annotations

import importlib
import warnings

import numpy as np
import pytest

import matgrad as mg

L = mg.parse("sum((X @ w - y)**2)", "X: m,n; w: n; y: m")
GOOD = {"X": np.arange(6.0).reshape(3, 2), "w": np.array([0.5, -1.0]),
        "y": np.array([1.0, 2.0, 3.0])}

REFUSED = {
    "complex": ({"w": np.array([1.0, 2.0]) + 1j}, "w is complex"),
    "complex list": ({"w": [1.0, 2j]}, "w is complex"),
    "complex scalar": ({"w": [1.0, 2.0], "y": 1j}, "y is complex"),
    "text": ({"w": "ab"}, "w is text"),
    "None": ({"w": None}, "w is None"),
    "ragged": ({"X": [[1.0, 2.0], [3.0]]}, "X is not numeric"),
    "object": ({"w": np.array([{}, {}], dtype=object)}, "w is not numeric"),
    "masked": ({"w": np.ma.masked_array([1.0, 2.0], mask=[0, 1])}, "w is a masked array"),
}
with warnings.catch_warnings():  # NumPy discourages np.matrix; people still pass one
    warnings.simplefilter("ignore", PendingDeprecationWarning)
    MATRIX = np.matrix(GOOD["X"])
ACCEPTED = {
    "np.matrix": {"X": MATRIX},
    "ints": {"w": np.array([1, -1])},
    "bools": {"w": np.array([True, False])},
    "lists": {"X": GOOD["X"].tolist(), "w": [0.5, -1.0]},
    "float32": {"w": GOOD["w"].astype(np.float32)},
}


def _backends():
    out = ["numpy"]
    for name in ("jax", "torch"):
        try:
            importlib.import_module(name)
        except ImportError:
            continue
        out.append(name)
    return out


@pytest.mark.parametrize("backend", _backends())
@pytest.mark.parametrize("case", sorted(REFUSED))
def test_unusable_values_are_refused_alike_everywhere(case, backend):
    change, words = REFUSED[case]
    values = {**GOOD, **change}
    with pytest.raises(mg.MatgradError, match=words):
        mg.evaluate(L, values)
    with pytest.raises(mg.MatgradError, match=words):
        mg.compile(L, ["w"], backend=backend)(values)


@pytest.mark.parametrize("backend", _backends())
@pytest.mark.parametrize("case", sorted(ACCEPTED))
def test_usable_values_give_the_same_numbers_everywhere(case, backend):
    values = {**GOOD, **ACCEPTED[case]}
    want = mg.evaluate(L, values)
    value, grads = mg.compile(L, ["w"], backend=backend)(values)
    rtol = 1e-5 if backend == "jax" or case == "float32" else 1e-12
    assert float(value) == pytest.approx(want, rel=rtol)
    expected = mg.evaluate(mg.grad(L, "w"), values)
    assert np.allclose(np.asarray(grads["w"], dtype=float).reshape(-1), expected, rtol=rtol)


def test_complex_arrays_of_the_frameworks_are_refused():
    torch = pytest.importorskip("torch")
    f = mg.compile(L, ["w"], backend="torch")
    with pytest.raises(mg.MatgradError, match="w is complex"):
        f({**GOOD, "w": torch.tensor([1.0, 2.0], dtype=torch.complex128)})
    jnp = pytest.importorskip("jax.numpy")
    g = mg.compile(L, ["w"], backend="jax")
    with pytest.raises(mg.MatgradError, match="w is complex"):
        g({**GOOD, "w": jnp.array([1.0, 2.0]) * 1j})


@pytest.mark.parametrize("backend", _backends())
def test_a_symmetric_variable_needs_a_symmetric_value_on_every_call(backend):
    S = mg.parse("x.T @ S @ x", "S: n,n symmetric; x: n")
    f = mg.compile(S, ["S"], backend=backend)
    sym = {"S": np.array([[2.0, 1.0], [1.0, 3.0]]), "x": np.array([1.0, -1.0])}
    assert float(f(sym)[0]) == pytest.approx(mg.evaluate(S, sym))
    bad = {**sym, "S": np.array([[2.0, 1.0], [0.0, 3.0]])}
    for _ in range(2):  # the second call takes the path for shapes already checked
        with pytest.raises(mg.MatgradError, match="declared symmetric"):
            f(bad)
    with pytest.raises(mg.MatgradError, match="declared symmetric"):
        mg.evaluate(S, bad)
