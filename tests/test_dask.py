"""The example network's gradients with X as a chunked Dask array, computed on a
`dask.distributed` local cluster, match the in-memory NumPy result.

Skips, naming the extra to install, only where Dask is not installed.
"""
from __future__ import annotations

import numpy as np
import pytest

import matgrad as mg
from matgrad.example import SHAPES, SOURCE, WRT

da = pytest.importorskip("dask.array", reason="the dask extra is not installed "
                                              "(pip install 'matgrad[dask]')")
distributed = pytest.importorskip("distributed", reason="the dask extra is not installed "
                                                        "(pip install 'matgrad[dask]')")


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                       dashboard_address=None)
    with distributed.Client(cluster) as c:
        yield c
    cluster.close()


def data(m=600, n=5, seed=0):
    rng = np.random.default_rng(seed)
    return {"X": rng.standard_normal((m, n)), "w": rng.standard_normal(n),
            "b": 0.1, "y": rng.standard_normal(m)}


def test_example_gradients_on_a_cluster_match_numpy(client):
    p = mg.parse_program(SOURCE, SHAPES)
    f = mg.compile(p.result, list(WRT), definitions=p.definitions)
    values = data()
    X = da.from_array(values["X"], chunks=(150, 5))
    assert X.numblocks == (4, 1)
    lazy_value, lazy_grads = f({**values, "X": X})
    assert isinstance(lazy_grads["X"], da.Array)  # nothing computed yet
    value, grads = client.compute([lazy_value, lazy_grads], sync=True)
    want_value, want = f(values)
    assert np.isclose(float(value), want_value, rtol=1e-12)
    for x in WRT:
        assert np.shape(grads[x]) == np.shape(want[x])
        assert np.allclose(grads[x], want[x], rtol=1e-12, atol=1e-14), x
    # and both agree with the reference evaluator
    for x, G in zip(WRT, mg.gradients(p.result, list(WRT))):
        assert np.allclose(grads[x], mg.evaluate(G, values))


def test_every_input_may_be_chunked(client):
    p = mg.parse_program(SOURCE, SHAPES)
    f = mg.compile(p.result, ["w", "b"])
    values = data(m=500, n=4, seed=1)
    chunked = {"X": da.from_array(values["X"], chunks=(125, 2)),
               "w": da.from_array(values["w"], chunks=2),
               "b": values["b"],
               "y": da.from_array(values["y"], chunks=125)}
    value, grads = client.compute(f(chunked), sync=True)
    want_value, want = f(values)
    assert np.isclose(float(value), want_value)
    assert np.allclose(grads["w"], want["w"]) and np.isclose(float(grads["b"]), want["b"])


@pytest.mark.parametrize("structure", ["symmetric", "spd", "lower", "upper", "diagonal"])
def test_structured_variables_on_dask_arrays(structure):
    """A structured variable given as a chunked Dask array (chunks not square): checked
    as in NumPy, its gradient projected as in NumPy, a value outside it refused."""
    L = mg.parse("x.T @ S @ y + sum(S * S)", f"S: n,n {structure}; x: n; y: n")
    f = mg.compile(L, ["S", "x"])
    rng = np.random.default_rng(3)
    a = rng.standard_normal((5, 5)) * 0.2
    s = {"symmetric": a + a.T, "spd": a @ a.T, "lower": np.tril(a), "upper": np.triu(a),
         "diagonal": np.diag(np.diag(a))}[structure] + 2 * np.eye(5)
    values = {"S": s, "x": rng.standard_normal(5), "y": rng.standard_normal(5)}
    want_value, want = f(values)
    chunked = {**values, "S": da.from_array(s, chunks=(2, 3))}
    value, grads = f(chunked)
    assert isinstance(grads["S"], da.Array)
    np.testing.assert_allclose(float(value), float(want_value), rtol=1e-12)
    np.testing.assert_allclose(np.asarray(grads["S"]), want["S"], rtol=1e-12)
    outside = -np.eye(5) if structure == "spd" else s + np.ones((5, 5)) * np.tri(5, k=-1).T
    if structure in ("upper", "diagonal"):
        outside = s + np.tri(5, k=-1)
    with pytest.raises(mg.MatgradError, match="S is declared"):
        f({**values, "S": da.from_array(outside, chunks=(2, 3))})
