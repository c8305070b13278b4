"""The example network's gradients on a Dask cluster, with the data matrix X chunked by
rows so that no machine needs to hold it whole.

    python examples/dask_example.py                       # a local cluster
    python examples/dask_example.py tcp://scheduler:8786  # a running cluster

The gradient code is generated once by matgrad (array-API code, so Dask arrays go
straight through it); Dask runs it chunk by chunk: X w and Xᵀ g become per-chunk
products and a sum, g wᵀ a chunked matrix.
"""
from __future__ import annotations

import sys
import time

import dask.array as da
import numpy as np
from dask.distributed import Client, LocalCluster

import matgrad as mg


def main(address: str | None = None, m: int = 200_000, n: int = 100) -> None:
    p = mg.parse_program("z = X @ w + b; yhat = relu(z); L = sum((yhat - y)**2) / m",
                         "X: m,n; w: n; b: scalar; y: m")
    f = mg.compile(p.result, wrt=["w", "b", "X"], definitions=p.definitions)
    print(f.source)

    cluster = None if address else LocalCluster(n_workers=2, threads_per_worker=1)
    client = Client(address or cluster)
    print(f"dashboard: {client.dashboard_link}")

    # On a real cluster, the data would be read where it lives (da.from_zarr,
    # dd.read_parquet(...).to_dask_array(lengths=True)); here it is random.
    rows = m // 8
    X = da.random.default_rng(0).standard_normal((m, n), chunks=(rows, n))
    y = da.random.default_rng(1).standard_normal(m, chunks=rows)
    w = np.random.default_rng(2).standard_normal(n) / np.sqrt(n)

    start = time.perf_counter()
    value, grads = f({"X": X, "w": w, "b": 0.1, "y": y})  # lazy: builds the task graph
    value, grads = client.compute([value, grads], sync=True)
    print(f"L = {float(value):.6f}, |dL/dw| = {np.linalg.norm(grads['w']):.6f}, "
          f"dL/db = {float(grads['b']):.6f}, dL/dX: {grads['X'].shape} "
          f"({time.perf_counter() - start:.2f} s on {len(client.scheduler_info()['workers'])} "
          "workers)")

    # the same numbers in memory
    local_value, local = f({"X": X.compute(), "w": w, "b": 0.1, "y": y.compute()})
    assert np.isclose(local_value, float(value))
    assert all(np.allclose(local[k], grads[k]) for k in local)
    print("matches the in-memory NumPy result")
    client.close()
    if cluster is not None:
        cluster.close()


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else None)
