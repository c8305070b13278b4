"""How simplification and printing grow with the depth of an expression.

Six families, each built at doubling depths d (the expression's DAG grows linearly
with d, and so does the unsimplified gradient):

1. tanh chain: L = sum(tanh(tanh(… tanh(x)))), ∂L/∂x;
2. Horner chain: e₀ = x, eᵢ = eᵢ₋₁ ⊙ x + c, L = sum(e_d), ∂L/∂x;
3. inverse chain: E₀ = A, Eᵢ = (Eᵢ₋₁ + A)⁻¹, L = tr(E_d), ∂L/∂A;
4. Hessian of the tanh chain: ∇²L with respect to x;
5. printing the gradient of the inverse chain (the report's text, Unicode: shared
   subexpressions named), already derived;
6. shared product chain: L = yᵀ A (A (… A x)), ∂L/∂A.

For each depth: the time of mg.grad (which simplifies), mg.hessian or the printer, and,
as a baseline measured in the same run, the same work without simplification
(mg.grad(…, simplify=False); for printing, printing the unsimplified gradient, its
shared subexpressions named as the report names them). The
growth exponent of a doubling is log₂ of the time ratio t(d) / t(d/2): 1 is linear,
2 quadratic. Machines are shared and noisy, so only ratios within one run are
reported. A family stops growing once one measurement takes longer than the time
limit (--limit, seconds); the exponent is then that of the last doubling measured.
The target: every family's last exponent at most 1.3.

Run: `python benchmarks/bench_depth.py [--quick] [--limit S] [--family NAME]`.
"""
from __future__ import annotations

import argparse
import math
import os
import platform
import sys
import time

import numpy as np
from timing import median_time  # benchmarks/timing.py

import matgrad as mg
from matgrad.intermediates import name_shared
from matgrad.printing.text import to_text

DEPTHS = (25, 50, 100, 200, 400, 800)
QUICK_DEPTHS = (25, 50, 100, 200)


def _tanh_chain(d: int):
    x = mg.vector("x", mg.Dim("n"))
    e = x
    for _ in range(d):
        e = mg.tanh(e)
    return mg.sum(e), x


def _horner_chain(d: int):
    x, c = mg.vector("x", mg.Dim("n")), mg.scalar("c")
    e = x
    for _ in range(d):
        e = e * x + c
    return mg.sum(e), x


def _inverse_chain(d: int):
    A = mg.matrix("A", mg.Dim("n"), mg.Dim("n"))
    E = A
    for _ in range(d):
        E = mg.inv(E + A)
    return mg.trace(E), A


def _product_chain(d: int):
    n = mg.Dim("n")
    A, x, y = mg.matrix("A", n, n), mg.vector("x", n), mg.vector("y", n)
    e = x
    for _ in range(d):
        e = A @ e
    return y.T @ e, A


def grad_task(build):
    def task(d: int):
        L, x = build(d)
        return (lambda: mg.grad(L, x)), (lambda: mg.grad(L, x, simplify=False))
    return task


def hessian_task(build):
    def task(d: int):
        L, x = build(d)
        # the baseline: the unsimplified gradient's reverse pass done twice over
        def raw():
            g = mg.grad(L, x, simplify=False)
            return mg.grad(mg.sum(g), x, simplify=False)
        return (lambda: mg.hessian(L, x)), raw
    return task


def print_task(build):
    """Printing the result as matgrad shows it (the report: the gradient with its shared
    subexpressions named, so that none is printed twice); the baseline prints the
    unsimplified gradient with its shared subexpressions named the same way. (Printed
    without names, the inverse chain's gradient is text that grows with the cube of the
    depth, whatever the printer.)"""
    def task(d: int):
        L, x = build(d)
        r = mg.report(L, [x])
        raw = mg.grad(L, x, simplify=False)
        names = name_shared([L, raw], taken={"A", "L", "n"})
        return (lambda: r.to_text()), (lambda: to_text(raw, names))
    return task


FAMILIES = {
    "tanh chain": (grad_task(_tanh_chain), DEPTHS),
    "Horner chain": (grad_task(_horner_chain), DEPTHS),
    "inverse chain": (grad_task(_inverse_chain), DEPTHS),
    "Hessian of tanh chain": (hessian_task(_tanh_chain), DEPTHS),
    "print inverse chain": (print_task(_inverse_chain), DEPTHS),
    "shared product chain": (grad_task(_product_chain), DEPTHS),
}


def timed(fn, quick: bool) -> float:
    """The median of a few runs when one is quick; a single run when it is slow."""
    t0 = time.perf_counter()
    fn()
    first = time.perf_counter() - t0
    if first > 1.0:
        return first
    return median_time(fn, runs=3 if quick else 5, warmup=0)


def exponent(t: float, t_half: float) -> float:
    return math.log2(t / t_half) if t_half > 0 and t > 0 else float("nan")


def run(quick: bool, limit: float, only: str | None) -> tuple[str, dict]:
    lines = [
        "# Growth with depth",
        "",
        ("Times of simplified work and, as a baseline in the same run, of the same work "
        "unsimplified; exponent = log₂ t(d) / t(d/2) of the doubling that ends at d "
        "(1 linear, 2 quadratic)."),
        "",
        (f"- machine: {platform.machine()}, {os.cpu_count()} CPUs, {platform.system()} "
        f"{platform.release()}"),
        f"- Python {platform.python_version()}, NumPy {np.__version__}, "
        f"matgrad {mg.__version__}" + (" (quick mode)" if quick else ""),
        "",
        "| family | depth | time | exponent | baseline | baseline exponent |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    last: dict = {}
    for family, (task, depths) in FAMILIES.items():
        if only and only.lower() not in family.lower():
            continue
        if quick:
            depths = tuple(d for d in depths if d in QUICK_DEPTHS)
        prev = None
        for d in depths:
            work, base = task(d)
            t, tb = timed(work, quick), timed(base, quick)
            if prev is None:
                ex = exb = ""
            else:
                last[family] = exponent(t, prev[0])
                ex, exb = f"{last[family]:.2f}", f"{exponent(tb, prev[1]):.2f}"
            lines.append(f"| {family} | {d} | {t * 1e3:.1f} ms | {ex} | {tb * 1e3:.1f} ms |"
                         f" {exb} |")
            print(lines[-1], file=sys.stderr, flush=True)
            prev = (t, tb)
            if t > limit:
                lines.append(f"| {family} | {2 * d} | (not run: {t:.1f} s over the "
                             f"{limit:g} s limit) | | | |")
                break
    worst = max(last.values(), default=float("nan"))
    lines += ["", "Last exponent of each family: " + ", ".join(
        f"{f} {x:.2f}" for f, x in last.items()) + f"; the largest {worst:.2f}.", ""]
    return "\n".join(lines), last


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="depths up to 200, fewer runs")
    ap.add_argument("--limit", type=float, default=30.0,
                    help="stop a family after a measurement longer than this (seconds)")
    ap.add_argument("--family", help="run only the families whose name contains this")
    args = ap.parse_args(argv)
    text, _ = run(args.quick, args.limit, args.family)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
