"""`import matgrad` stays light: nothing heavier than NumPy is imported."""
from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("scipy", "sympy", "jax", "jaxlib", "torch", "dask", "starlette", "uvicorn",
         "latex2mathml", "pandas", "matplotlib", "IPython")


def modules_after(code: str) -> set:
    out = subprocess.run(
        [sys.executable, "-c",
         f"import sys, json; {code}; print(json.dumps(sorted(sys.modules)))"],
        capture_output=True, text=True, check=True, timeout=120)
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def heavy(mods: set) -> list:
    return sorted(m for m in mods if m.split(".")[0] in HEAVY)


def test_import_matgrad_imports_nothing_heavy():
    mods = modules_after("import matgrad")
    assert "matgrad" in mods and "numpy" in mods
    assert heavy(mods) == []


def test_deriving_and_checking_stays_light():
    mods = modules_after(
        "import matgrad as mg; m, n = mg.dims('m n'); X = mg.matrix('X', m, n); "
        "w = mg.vector('w', n); L = mg.sum(mg.relu(X @ w) ** 2); "
        "print(mg.grad(L, X), mg.grad(L, X).to_latex()); assert mg.verify(L, [X, w]).ok")
    assert heavy(mods) == []
