"""How long derivation takes: the built-in example, and an MLP of k layers.

1. The three gradients of the built-in example (z = Xw + b, ŷ = relu(z),
   L = ‖ŷ − y‖²/m), derived and simplified in one call, in-process and warm: the median
   of many runs. Target: under 5 ms.
2. ∂L/∂W₁ for an MLP of k = 1, 2, 4, 8, 16, 32 layers,
   L = ‖W_k tanh(… tanh(W₁ x)) − y‖², derived and simplified. Target: linear in k, so
   the time per layer stays flat and t(32)/t(16) stays near 2. Ratios are taken against
   times measured in the same run.

Prints a table and writes it to docs/benchmarks-derive.md with the machine and versions.
Run: `make bench` (or `python benchmarks/bench_derive.py [--quick]`).
"""
from __future__ import annotations

import os
import platform
import sys
from pathlib import Path

import numpy as np

import matgrad as mg
from timing import median_time, page_main  # benchmarks/timing.py
from matgrad.example import WRT, program

LAYERS = (1, 2, 4, 8, 16, 32)
OUT = Path(__file__).resolve().parent.parent / "docs" / "benchmarks-derive.md"




def mlp(k: int):
    """L = ‖W_k tanh(… tanh(W₁ x)) − y‖² with W₁: h×m and the rest h×h (the last one
    linear), and W₁ to differentiate by."""
    m, h = mg.dims("m h")
    x, y = mg.vector("x", m), mg.vector("y", h)
    Ws = [mg.matrix("W1", h, m)] + [mg.matrix(f"W{i}", h, h) for i in range(2, k + 1)]
    a = x
    for i, W in enumerate(Ws):
        a = W @ a if i == k - 1 else mg.tanh(W @ a)
    return mg.sum((a - y) ** 2), Ws[0]


def check_mlp(k: int, L, W1, G) -> None:
    """G = ∂L/∂W₁ against back-propagation by hand in NumPy, at a random point.

    (Finite differences are unreliable here: for deep tanh networks the gradient with
    respect to W₁ vanishes to 1e-9 and below.)"""
    from matgrad.numeric import evaluate_2d
    from matgrad.verify import sample
    values, sizes = sample([L, G], np.random.default_rng(k))
    Ws = [values[f"W{i}"] for i in range(1, k + 1)]
    acts, pre = [values["x"]], []
    for i, W in enumerate(Ws):
        pre.append(W @ acts[-1])
        acts.append(pre[-1] if i == k - 1 else np.tanh(pre[-1]))
    d = 2 * (acts[-1] - values["y"])
    for i in reversed(range(k)):
        if i != k - 1:
            d = d * (1 - np.tanh(pre[i]) ** 2)
        want = d @ acts[i].T
        d = Ws[i].T @ d
    got = evaluate_2d(G, values, sizes)
    assert np.allclose(got, want, rtol=1e-9, atol=0), f"wrong gradient for k = {k}"


def run(quick: bool) -> str:
    runs = 30 if quick else 300
    prog = program()
    L, wrt = prog.result, [prog.variables[n] for n in WRT]
    t_example = median_time(lambda: mg.gradients(L, wrt), runs, warmup=3)
    assert mg.verify(L, wrt).ok  # the timed result is the right one

    rows = []
    for k in LAYERS:
        Lk, W1 = mlp(k)
        check_mlp(k, Lk, W1, mg.grad(Lk, W1))
        rows.append((k, median_time(lambda: mg.grad(Lk, W1), max(30, runs // k), warmup=3)))
    t1 = rows[0][1]
    times = dict(rows)

    lines = [
        "# Derivation benchmark",
        "",
        "Produced by `make bench` (benchmarks/bench_derive.py); times are medians of "
        "repeated in-process runs after warm-up, and ratios compare times from the same run.",
        "",
        f"- machine: {platform.machine()}, {os.cpu_count()} CPUs, {platform.system()} "
        f"{platform.release()}",
        f"- Python {platform.python_version()} ({platform.python_implementation()}), "
        f"NumPy {np.__version__}, matgrad {mg.__version__}",
        f"- runs per measurement: {runs} for the example" + (" (quick mode)" if quick else ""),
        "",
        "## The built-in example: three gradients, derived and simplified",
        "",
        "| measurement | median | target |",
        "| --- | --- | --- |",
        f"| ∂L/∂w, ∂L/∂b, ∂L/∂X | {t_example * 1e3:.2f} ms | < 5 ms "
        f"({'met' if t_example < 5e-3 else 'NOT met'}) |",
        "",
        "## MLP of k layers: ∂L/∂W₁, derived and simplified",
        "",
        "| k | median | per layer | t(k)/t(1) | t(k)/(k·t(1)) |",
        "| --- | --- | --- | --- | --- |",
    ]
    for k, t in rows:
        lines.append(f"| {k} | {t * 1e3:.2f} ms | {t / k * 1e3:.3f} ms | {t / t1:.1f} | "
                     f"{t / (k * t1):.2f} |")
    r = times[32] / times[16]
    lines += [
        "",
        f"t(32)/t(16) = {r:.2f} (linear growth gives 2; quadratic gives 4).",
        "",
    ]
    return "\n".join(lines)


def main(argv=None) -> int:
    return page_main(__doc__, OUT, run, argv, quick=True)


if __name__ == "__main__":
    sys.exit(main())
