"""The long run of the property tests: many random expressions, every property checked.

    python fuzz/run_fuzz.py [--count 20000] [--seed 0] [--out docs/fuzz-results.md]

For each random scalar expression (tests/strategies.py) it checks that the gradients
with respect to every variable match central finite differences (simplified and not),
that every line of each derivation (the steps) holds numerically, that simplification
preserves the value, that the generated text and the ASCII printed
text parse back to equal values, and, where the library has them, that compiled code
agrees with `evaluate` and that Hessians are symmetric and match finite differences of
the gradient (on every fifth expression, the costly ones). It prints a summary and
writes it, with the first mismatches and the slowest derivation, as Markdown.
"""
from __future__ import annotations

import argparse
import os
import random
import sys
import time
import traceback
from collections import Counter

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))
sys.path.insert(0, os.path.join(ROOT, "src"))

import matgrad as mg  # noqa: E402
from matgrad.differentiate import raw_gradients  # noqa: E402
from matgrad.printing.text import to_text  # noqa: E402
from matgrad.verify import sample  # noqa: E402
from strategies import (DIM_NAMES, MAX_DEPTH, SIZES, derivation_errors,  # noqa: E402
                        gradient_error, hessian_error, random_case, same_value,
                        values_close)

TOLERANCE = 1e-5
HESSIAN_TOLERANCE = 1e-4


def _parse(text, case):
    return mg.parse(text, case.shapes, dims=DIM_NAMES)


def check_gradients(case, xs, grads):
    err = gradient_error(case.expr, xs, grads)
    if err > TOLERANCE:
        return f"gradient off by {err:.1e}"
    err = gradient_error(case.expr, xs, raw_gradients(case.expr, xs))
    if err > TOLERANCE:
        return f"unsimplified gradient off by {err:.1e}"
    return None


def check_simplify(case, xs, grads):
    if not same_value(case.expr, mg.simplify(case.expr)):
        return "simplify changed the value of the expression"
    for x, g in zip(xs, raw_gradients(case.expr, xs)):
        if not same_value(g, mg.simplify(g)):
            return f"simplify changed the value of the raw gradient for {x.name}"
    return None


def check_text(case, xs, grads):
    parsed = _parse(case.text, case)
    if parsed.shape != case.expr.shape or not same_value(parsed, case.expr):
        return "the generated text parses to a different value"
    for e in [case.expr, mg.simplify(case.expr), *grads]:
        text = to_text(e, unicode=False)
        back = _parse(text, case)
        if back.shape != e.shape or not same_value(back, e):
            return f"ASCII text does not round-trip: {text[:200]}"
    return None


def check_steps(case, xs, grads):
    for x in xs:
        d = mg.derive(case.expr, x)
        errors = derivation_errors(d, TOLERANCE)
        bad = [i for i, e in enumerate(errors) if not e <= TOLERANCE]
        if bad:
            return (f"derivation by {x.name}: line {bad[0]} does not hold "
                    f"({errors[bad[0]]:.1e}): {d.steps[bad[0]].rule[:120]}")
    return None


def check_compile(case, xs, grads):
    f = mg.compile(case.expr, wrt=xs)
    values, sizes = sample([case.expr, *grads], np.random.default_rng(0), SIZES)
    value, got = f(values, sizes)
    if not values_close(value, mg.evaluate(case.expr, values, sizes)):
        return "compiled value differs from evaluate"
    for x, g in zip(xs, grads):
        want = np.asarray(mg.evaluate(g, values, sizes))
        have = np.asarray(got[x.name])
        if have.shape != want.shape:
            return (f"compiled gradient for {x.name} has shape {have.shape}, evaluate "
                    f"gives {want.shape}")
        if not values_close(have, want):
            return f"compiled gradient for {x.name} differs from evaluate"
    return None


def check_hessians(case, xs, grads):
    rng = np.random.default_rng(1)
    for x, g in zip(xs, grads):
        if x.params[1]:
            continue
        symmetric, best = hessian_error(case.expr, x, g, rng)
        name = x.name
        if not symmetric:
            return f"Hessian for {name} is not symmetric"
        if best > HESSIAN_TOLERANCE:
            return f"Hessian for {name} off by {best:.1e}"
    return None


def run(count: int, seed: int, out: str | None, hessian_every: int = 5) -> dict:
    rng = random.Random(seed)
    checks = [("gradient", check_gradients), ("simplify", check_simplify),
              ("text", check_text), ("steps", check_steps)]
    if hasattr(mg, "compile"):
        checks.append(("compile", check_compile))
    has_hessian = hasattr(mg, "hessian")
    mismatches: list = []
    kinds: Counter = Counter()
    checked: Counter = Counter()
    slowest = (0.0, None)
    depths: Counter = Counter()
    start = time.perf_counter()
    for i in range(count):
        case = random_case(rng, depth=1 + i % MAX_DEPTH)
        depths[case.expr.depth // 5 * 5] += 1
        t0 = time.perf_counter()
        try:
            xs = case.variables
            grads = mg.gradients(case.expr, xs)
        except Exception as err:  # noqa: BLE001 - every failure is a finding
            mismatches.append((i, "derive", f"{type(err).__name__}: {err}", case))
            kinds["derive"] += 1
            continue
        took = time.perf_counter() - t0
        if took > slowest[0]:
            slowest = (took, case)
        todo = list(checks)
        if has_hessian and i % hessian_every == 0:
            todo.append(("hessian", check_hessians))
        for kind, check in todo:
            checked[kind] += 1
            try:
                problem = check(case, xs, grads)
            except Exception as err:  # noqa: BLE001
                problem = f"{type(err).__name__}: {str(err).splitlines()[0][:200]}"
                if os.environ.get("FUZZ_TRACEBACK"):
                    traceback.print_exc()
            if problem is not None:
                kinds[kind] += 1
                mismatches.append((i, kind, problem, case))
        if (i + 1) % 1000 == 0:
            print(f"  {i + 1} expressions, {len(mismatches)} mismatches, "
                  f"{time.perf_counter() - start:.0f} s", flush=True)
    elapsed = time.perf_counter() - start
    result = dict(count=count, seed=seed, mismatches=mismatches, kinds=kinds,
                  checked=checked, slowest=slowest, elapsed=elapsed, depths=depths)
    print(summary(result))
    if out:
        with open(out, "w", encoding="utf-8") as fh:
            fh.write(markdown(result))
        print(f"wrote {out}")
    return result


def summary(r: dict) -> str:
    took, case = r["slowest"]
    lines = [f"{r['count']} expressions (seed {r['seed']}) in {r['elapsed']:.0f} s: "
             f"{len(r['mismatches'])} mismatches",
             "checks run: " + ", ".join(f"{k} {v}" for k, v in r["checked"].items()),
             "mismatches by check: " + (", ".join(f"{k} {v}" for k, v in r["kinds"].items())
                                        or "none")]
    if case is not None:
        lines.append(f"slowest derivation: {took * 1000:.0f} ms, depth {case.expr.depth}, "
                     f"{len(mg.expr.variables(case.expr))} variables: {case.text[:160]}")
    for i, kind, problem, c in r["mismatches"][:10]:
        lines.append(f"  #{i} [{kind}] {problem}\n      {c.text[:300]}\n      shapes {c.shapes}")
    return "\n".join(lines)


def markdown(r: dict) -> str:
    took, case = r["slowest"]
    out = ["# Fuzz results", "",
           "Written by `make fuzz` (`fuzz/run_fuzz.py`): random scalar expressions over "
           "the whole language (tests/strategies.py), every property checked with numbers "
           f"at random points (dimension sizes {', '.join(f'{d}={s}' for d, s in SIZES.items())}).",
           "",
           f"- expressions: {r['count']} (seed {r['seed']}, depths 1 to {MAX_DEPTH} "
           "in turn)",
           f"- time: {r['elapsed']:.0f} s",
           f"- mismatches: {len(r['mismatches'])}",
           "- checks run: " + ", ".join(f"{k} {v}" for k, v in r["checked"].items()),
           "- mismatches by check: " + (", ".join(f"{k} {v}" for k, v in r["kinds"].items())
                                        or "none"),
           "- expression depth (nodes, root to leaf): " + ", ".join(
               f"{d}–{d + 4}: {n}" for d, n in sorted(r["depths"].items()))]
    if case is not None:
        out += ["", f"Slowest derivation (all gradients, simplified): {took * 1000:.0f} ms "
                f"for an expression of depth {case.expr.depth} in "
                f"{len(mg.expr.variables(case.expr))} variables:", "",
                "```", case.text[:2000], "```"]
    if r["mismatches"]:
        out += ["", "## First mismatches", ""]
        for i, kind, problem, c in r["mismatches"][:20]:
            out += [f"- #{i} [{kind}] {problem}", "", "  ```", f"  {c.text[:1000]}",
                    f"  shapes: {c.shapes}", "  ```", ""]
    return "\n".join(out) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=20000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=os.path.join(ROOT, "docs", "fuzz-results.md"))
    ap.add_argument("--hessian-every", type=int, default=5)
    args = ap.parse_args(argv)
    result = run(args.count, args.seed, args.out or None, args.hessian_every)
    return 1 if result["mismatches"] else 0


if __name__ == "__main__":
    sys.exit(main())
