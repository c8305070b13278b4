"""Hessians: how long matgrad takes to derive them, and to evaluate them against
`jax.hessian` under `jax.jit`, on the same inputs, in one run.

The Hessians (n = 1000 and 2000, m = n, float64 everywhere):

    xᵀ S x                 → S + Sᵀ
    ‖A x − b‖²             → 2 AᵀA
    ‖relu(X w + c) − y‖²/m → 2/m Xᵀ diag(H(z)) X     (the built-in example, w.r.t. w)
    logsumexp(v)           → diag(p) − p pᵀ

For each: the derivation time (matgrad.hessian, median of several runs), the evaluation
time with `matgrad.evaluate`, with `matgrad.compile` (NumPy backend) where it exists, and
with JAX (jit-compiled before timing), and the ratio JAX / matgrad-compiled (above 1:
matgrad is faster). Every matgrad value is checked against JAX's before it is timed.

Run: `python benchmarks/bench_hessian.py [--quick]` (quick: n = 200 and 400).
"""
from __future__ import annotations

import argparse
import platform

import numpy as np

import matgrad as mg
from timing import median_time  # benchmarks/timing.py




def problems():
    """(name, L, wrt, a JAX function of the same arrays, argument names)."""
    import jax.numpy as jnp
    import jax.scipy.special as jsp
    m, n = mg.dims("m n")
    S, A, X = mg.matrix("S", n, n), mg.matrix("A", m, n), mg.matrix("X", m, n)
    x, b, w, y, v = (mg.vector("x", n), mg.vector("b", m), mg.vector("w", n),
                     mg.vector("y", m), mg.vector("v", n))
    c = mg.scalar("c")
    return [
        ("xᵀSx", x.T @ S @ x, x, lambda x, S: x @ S @ x, ("x", "S")),
        ("‖Ax − b‖²", mg.norm(A @ x - b) ** 2, x,
         lambda x, A, b: jnp.sum((A @ x - b) ** 2), ("x", "A", "b")),
        ("example loss", mg.sum((mg.relu(X @ w + c) - y) ** 2) / m, w,
         lambda w, X, c, y: jnp.sum((jnp.maximum(X @ w + c, 0) - y) ** 2) / X.shape[0],
         ("w", "X", "c", "y")),
        ("logsumexp", mg.logsumexp(v), v, lambda v: jsp.logsumexp(v), ("v",)),
    ]


def inputs(n: int, rng) -> dict:
    return {"S": rng.standard_normal((n, n)), "A": rng.standard_normal((n, n)),
            "X": rng.standard_normal((n, n)), "x": rng.standard_normal(n),
            "b": rng.standard_normal(n), "w": rng.standard_normal(n),
            "y": rng.standard_normal(n), "v": rng.standard_normal(n), "c": 0.1}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes, for a smoke test")
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    import jax
    jax.config.update("jax_enable_x64", True)
    sizes = (200, 400) if args.quick else (1000, 2000)
    rng = np.random.default_rng(0)
    has_compile = hasattr(mg, "compile")
    print(f"# Hessians: matgrad {mg.__version__} vs JAX {jax.__version__} "
          f"(jax.hessian under jax.jit), {platform.processor() or platform.machine()}, "
          f"NumPy {np.__version__}, float64")
    print()
    print("| Hessian | n | derive (ms) | matgrad.evaluate (ms) | matgrad.compile (ms) "
          "| JAX jit (ms) | JAX / compiled | JAX / evaluate |")
    print("|---|---|---|---|---|---|---|---|")
    for name, L, wrt, jfun, argn in problems():
        derive = median_time(lambda: mg.hessian(L, wrt), max(5, args.runs))
        H = mg.hessian(L, wrt)
        f = mg.compile(H, wrt=[]) if has_compile else None
        jh = jax.jit(jax.hessian(jfun))
        for n in sizes:
            vals = inputs(n, rng)
            jargs = [jax.numpy.asarray(vals[a]) for a in argn]
            ref = np.asarray(jh(*jargs))
            got = np.asarray(mg.evaluate(H, vals))
            assert np.allclose(got, ref, rtol=1e-7, atol=1e-7), f"{name}: values differ"
            t_eval = median_time(lambda: mg.evaluate(H, vals), args.runs)
            t_jax = median_time(lambda: jh(*jargs).block_until_ready(), args.runs)
            if f is not None:
                assert np.allclose(f(vals)[0], ref, rtol=1e-7, atol=1e-7)
                t_comp = median_time(lambda: f(vals), args.runs)
                comp, ratio = f"{1e3 * t_comp:.1f}", f"{t_jax / t_comp:.1f}×"
            else:
                comp, ratio = "—", "—"
            print(f"| {name} = {H} | {n} | {1e3 * derive:.2f} | {1e3 * t_eval:.1f} | {comp} "
                  f"| {1e3 * t_jax:.1f} | {ratio} | {t_jax / t_eval:.1f}× |", flush=True)


if __name__ == "__main__":
    main()
