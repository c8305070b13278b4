"""How derivations (the steps) grow with the size of the expression.

Three families, each at depths 10, 20, 40, 80 (the size of the expression's DAG grows
linearly with the depth):

1. shared chain: a1 = x + x; a_i = tanh(a_{i−1}) + a_{i−1}; L = sum(a_d) — every
   intermediate used twice, so a derivation that expands names grows as 2^d;
2. MLP: L = ‖W_d tanh(… tanh(W₁ x)) − y‖², derived by W₁;
3. wide sum: L = Σᵢ sum(tanh(Wᵢ x)) + ‖x‖², derived by x (d terms, all pending at once).

For each: the time to derive (median of repeated runs, warm), the number of steps and
the characters of the rendered text. The target is linear growth: the ratio of a depth
to half of it stays near 2 for time, steps and characters (quadratic gives 4). Ratios
compare measurements of the same run.

Prints a table and writes it to docs/benchmarks-steps.md with the machine and versions.
Run: `make bench` (or `python benchmarks/bench_steps.py [--quick]`).
"""
from __future__ import annotations

import math
import os
import platform
import sys
from pathlib import Path

import numpy as np

import matgrad as mg
from matgrad.parser import parse_program
from timing import median_time, page_main  # benchmarks/timing.py

DEPTHS = (10, 20, 40, 80)
OUT = Path(__file__).resolve().parent.parent / "docs" / "benchmarks-steps.md"


def shared_chain(d: int):
    src = "a1 = x + x; " + " ".join(f"a{i} = tanh(a{i - 1}) + a{i - 1};"
                                    for i in range(2, d + 1)) + f" L = sum(a{d})"
    p = parse_program(src, {"x": "n"})
    return p.result, p.variables["x"], p.definitions


def mlp(d: int):
    shapes = "; ".join([f"W{i}: n,n" for i in range(1, d + 1)] + ["x: n", "y: n"])
    a = "x"
    for i in range(1, d + 1):
        a = f"W{i} @ {a}" if i == d else f"tanh(W{i} @ {a})"
    p = parse_program(f"norm({a} - y)**2", shapes)
    return p.result, p.variables["W1"], p.definitions


def wide_sum(d: int):
    shapes = "; ".join([f"W{i}: k,n" for i in range(1, d + 1)] + ["x: n"])
    src = " + ".join(f"sum(tanh(W{i} @ x))" for i in range(1, d + 1)) + " + norm(x)**2"
    p = parse_program(src, shapes)
    return p.result, p.variables["x"], p.definitions


FAMILIES = {"shared chain": shared_chain, "MLP": mlp, "wide sum": wide_sum}


def measure(build, d: int, runs: int) -> tuple[float, int, int]:
    L, x, defs = build(d)

    def go():
        return mg.derive(L, x, definitions=defs)

    t = median_time(go, runs, warmup=1)
    derivation = go()
    if d <= 20:  # every line holds (checked where it is quick; the tests do the rest)
        assert max(derivation.verify(points=1)) < 1e-5, (build.__name__, d)
    return t, len(derivation.steps), len(derivation.to_text())


def run(quick: bool) -> str:
    runs = 3 if quick else 15
    lines = [
        "# Derivation size and time",
        "",
        "Produced by `make bench` (benchmarks/bench_steps.py); times are medians of "
        "repeated in-process runs after warm-up; ratios compare measurements of the same "
        "run: r = value(d) / value(d/2), which linear growth keeps near 2.",
        "",
        f"- machine: {platform.machine()}, {os.cpu_count()} CPUs, {platform.system()} "
        f"{platform.release()}",
        f"- Python {platform.python_version()}, NumPy {np.__version__}, "
        f"matgrad {mg.__version__}" + (" (quick mode)" if quick else ""),
        "",
        "| family | depth | time | r(time) | steps | r(steps) | characters | r(chars) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    worst = 0.0
    for family, build in FAMILIES.items():
        prev = None
        for d in DEPTHS:
            t, steps, chars = measure(build, d, runs)
            if prev is None:
                ratios = ("", "", "")
            else:
                rs = (t / prev[0], steps / prev[1], chars / prev[2])
                worst = max(worst, rs[1], rs[2])
                ratios = tuple(f"{r:.2f}" for r in rs)
            lines.append(f"| {family} | {d} | {t * 1e3:.1f} ms | {ratios[0]} | {steps} | "
                         f"{ratios[1]} | {chars} | {ratios[2]} |")
            prev = (t, steps, chars)
    lines += ["", f"Largest ratio of steps or characters between a depth and its half: "
              f"{worst:.2f} (growth exponent {math.log2(worst):.2f}; linear is 1).", ""]
    return "\n".join(lines)


def main(argv=None) -> int:
    return page_main(__doc__, OUT, run, argv, quick=True)


if __name__ == "__main__":
    sys.exit(main())
