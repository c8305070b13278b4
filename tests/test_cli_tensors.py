"""`matgrad jacobian`, `matgrad hessian` and `matgrad code --kind jacobian|hessian`.

Every printed result is checked as numbers: a matrix form is read back from the output
and evaluated, generated code is run, and both are compared with central finite
differences at random points, with dimensions of distinct sizes (m = 5, n = 3, k = 4) so
that a misplaced transpose cannot hide. A tensor printed in index notation is compared
with the library's own result, whose full array is compared with finite differences.
"""
from __future__ import annotations

import importlib.util
import itertools
import re

import numpy as np
import pytest

import matgrad as mg
from matgrad.cli import main

M, N, K = 5, 3, 4
H = 1e-5


def run(capsys, *argv):
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


# ---- finite differences, independent of the library's derivatives ---------------------------


def value(F, values):
    return np.asarray(mg.evaluate(F, values), dtype=float)


def fd_jacobian(F, values, name):
    """∂F/∂x by central differences: axes of F's value, then of x's (numerator layout)."""
    x = np.asarray(values[name], dtype=float)
    f0 = value(F, values)
    out = np.zeros(f0.shape + x.shape)
    for idx in np.ndindex(*x.shape):
        up, down = dict(values), dict(values)
        e = np.zeros_like(x)
        e[idx] = H
        up[name], down[name] = x + e, x - e
        out[(...,) + idx] = (value(F, up) - value(F, down)) / (2 * H)
    return out


def fd_hessian(L, values, name, h=1e-4):
    """∂²L/∂x∂x by second central differences of the scalar L alone."""
    x = np.asarray(values[name], dtype=float)
    out = np.zeros(x.shape + x.shape)

    def f(dx):
        v = dict(values)
        v[name] = x + dx
        return float(mg.evaluate(L, v))

    for a in np.ndindex(*x.shape):
        for b in np.ndindex(*x.shape):
            ea, eb = np.zeros_like(x), np.zeros_like(x)
            ea[a] += h
            eb[b] += h
            out[a + b] = (f(ea + eb) - f(ea - eb) - f(eb - ea) + f(-ea - eb)) / (4 * h * h)
    return out


def close(a, b, tol=1e-6):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    assert a.shape == b.shape, (a.shape, b.shape)
    scale = max(np.max(np.abs(b)), 1.0)
    assert np.max(np.abs(a - b)) <= tol * scale, np.max(np.abs(a - b))


def spd(rng, n):
    A = rng.standard_normal((n, n))
    return A @ A.T + n * np.eye(n)


# ---- reading the output ---------------------------------------------------------------------


def blocks(out: str) -> list[dict]:
    """Each printed derivative: its heading, matrix form, index notation and vec form."""
    found = []
    for block in out.strip().split("\n\n"):
        lines = block.splitlines()
        head = re.match(r"^(.*?)  \((.*)\)$", lines[0])
        assert head, lines[0]
        item = {"label": head.group(1), "what": head.group(2), "matrix": None, "vec": None,
                "index": None, "where": None, "check": None}
        for line in lines[1:]:
            if line.startswith("  = "):
                item["matrix"] = line[4:]
            elif line.startswith("  in index notation: "):
                item["index"] = line[len("  in index notation: "):]
            elif line.startswith("  in vec form: "):
                item["vec"] = line[len("  in vec form: "):]
            elif line.startswith("where "):
                item["where"] = line[len("where "):]
            elif line.startswith(("verified", "VERIFICATION")):
                item["check"] = line
        found.append(item)
    return found


JACOBIANS = [
    # expression, shapes, variable, expected heading (unicode)
    ("tanh(A @ x)", "A: m,n; x: n", "x", "m×n matrix, numerator layout"),
    ("softmax(W @ x)", "W: m,n; x: n", "W", None),
    ("softmax(x)", "x: n", "x", "n×n matrix, numerator layout"),
    ("x * sum(x**2)", "x: n", "x", "n×n matrix, numerator layout"),
    ("sum(X @ w)", "X: m,n; w: n", "X", "n×m matrix, numerator layout"),
    ("inv(S) @ a", "S: n,n; a: n", "a", "n×n matrix, numerator layout"),
]


def sample(shapes: str, rng):
    sizes = {"m": M, "n": N, "k": K}
    values = {}
    for decl in shapes.split(";"):
        name, dims = (s.strip() for s in decl.split(":"))
        if dims == "scalar":
            values[name] = float(rng.standard_normal())
            continue
        shape = tuple(sizes[d.strip()] for d in dims.split(","))
        values[name] = spd(rng, shape[0]) if name == "S" else rng.standard_normal(shape)
    return values


SIZES = {"m": M, "n": N, "k": K}


def read_back(text: str, shapes: str):
    """A matrix form printed in ASCII, parsed as the input language."""
    return mg.parse(text, shapes)


@pytest.mark.parametrize("ascii_", [False, True], ids=["unicode", "ascii"])
@pytest.mark.parametrize("expr,shapes,x,what", JACOBIANS, ids=[c[0] for c in JACOBIANS])
def test_jacobian_matrix_form_matches_finite_differences(capsys, rng, expr, shapes, x, what,
                                                         ascii_):
    status, out, err = run(capsys, "jacobian", expr, "--wrt", x, "--shape", shapes,
                           *(["--ascii"] if ascii_ else []))
    assert status == 0 and err == "", err
    if ascii_:
        assert out.isascii()
    [b] = blocks(out)
    F = mg.parse(expr, shapes)
    J = mg.jacobian(F, x)
    if what is not None and not ascii_:
        assert b["what"] == what
    if J.expr is None:  # a tensor: its index notation is the library's, then numbers
        assert b["matrix"] is None
        assert b["index"] == J.index_notation(unicode=not ascii_)
        for _ in range(2):
            v = sample(shapes, rng)
            close(mg.evaluate(J, v), fd_jacobian(F, v, x))
        return
    if not ascii_:  # Unicode is for reading; the ASCII form is read back below
        assert b["matrix"] == J.expr.to_text()
        return
    printed = read_back(b["matrix"], shapes)
    for _ in range(3):
        v = sample(shapes, rng)
        fd = fd_jacobian(F, v, x)
        got = np.asarray(mg.evaluate(printed, v, SIZES), dtype=float)
        if F.shape == (1, 1) and fd.ndim == 2:  # scalar by matrix: numerator is ∂L/∂Xᵀ
            fd = fd.T
        close(got.reshape(fd.shape), fd)


def test_denominator_layout_is_the_transpose(capsys, rng):
    shapes = "A: m,n; x: n"
    status, out, _ = run(capsys, "jacobian", "tanh(A @ x)", "--wrt", "x", "--shape", shapes,
                         "--layout", "denominator", "--ascii")
    assert status == 0
    [b] = blocks(out)
    assert b["what"] == "n x m matrix, denominator layout"
    printed = read_back(b["matrix"], shapes)
    v = sample(shapes, rng)
    close(mg.evaluate(printed, v, SIZES), fd_jacobian(mg.parse("tanh(A @ x)", shapes), v, "x").T)


def test_tensor_jacobian_index_and_vec_forms(capsys, rng):
    shapes = "X: m,n; w: n"
    status, out, err = run(capsys, "jacobian", "z = X @ w", "--wrt", "X", "--shape", shapes)
    assert status == 0 and err == ""
    [b] = blocks(out)
    assert b["label"] == "∂z/∂X"
    assert b["what"] == "tensor of order 3, shape m×m×n, axes in numerator layout"
    assert b["index"] == "∂zᵢ/∂Xⱼₖ = δᵢⱼ wₖ" and b["matrix"] is None
    assert b["vec"] == "d vec(z) = (wᵀ ⊗ Iₘ) d vec(X)" and b["where"] == "z = X w"
    F = mg.parse("X @ w", shapes)
    v = sample(shapes, rng)
    fd = fd_jacobian(F, v, "X")  # m × m × n
    # δᵢⱼ wₖ, entry by entry
    close(fd, np.einsum("ij,k->ijk", np.eye(M), v["w"]))
    # the vec form: d vec(z) = (wᵀ ⊗ Iₘ) d vec(X), vec stacking columns
    K_fd = np.stack([fd[:, j, k] for k in range(N) for j in range(M)], axis=1)
    close(K_fd, np.kron(v["w"][None, :], np.eye(M)))
    status, out, _ = run(capsys, "jacobian", "z = X @ w", "--wrt", "X", "--shape", shapes,
                         "--ascii")
    [b] = blocks(out)
    assert out.isascii() and b["index"] == "dz_i/dX_{jk} = delta_{ij} w_k"
    assert b["vec"] == "d vec(z) = (w.T kron I_m) d vec(X)"


def test_explain(capsys):
    status, out, _ = run(capsys, "jacobian", "z = X @ w", "--wrt", "X", "--shape",
                         "X: m,n; w: n", "--explain")
    assert status == 0
    m, n = mg.dims("m n")
    want = mg.jacobian(mg.matrix("X", m, n) @ mg.vector("w", n), "X", name="z").explain()
    assert out == want + "\n"
    assert "that is, ∂L/∂X = g wᵀ" in out


# ---- Hessians ---------------------------------------------------------------------------------

HESSIANS = [
    ("sum((A @ x - b)**2)", "A: m,n; x: n; b: m", "x", "2 · Aᵀ A"),
    ("logsumexp(x)", "x: n", "x", None),
    ("L = sum((relu(X @ w + c) - y)**2) / m", "X: m,n; w: n; c: scalar; y: m", "w", None),
    ("log(a.T @ x) * (x.T @ x)", "a: n; x: n", "x", None),
]


@pytest.mark.parametrize("ascii_", [False, True], ids=["unicode", "ascii"])
@pytest.mark.parametrize("expr,shapes,x,text", HESSIANS, ids=[c[0] for c in HESSIANS])
def test_hessian_matrix_form_matches_second_differences(capsys, rng, expr, shapes, x, text,
                                                        ascii_):
    status, out, err = run(capsys, "hessian", expr, "--wrt", x, "--shape", shapes,
                           *(["--ascii"] if ascii_ else []))
    assert status == 0 and err == ""
    [b] = blocks(out)
    assert b["what"] == ("n x n matrix, symmetric" if ascii_ else "n×n matrix, symmetric")
    if text and not ascii_:
        assert b["matrix"] == text
    if ascii_:
        assert out.isascii()
    program = mg.parse_program(expr, shapes)
    if not ascii_:
        assert b["matrix"] == mg.hessian(program.result, x).expr.to_text()
        return
    printed = read_back(b["matrix"], shapes)
    for _ in range(3):
        v = sample(shapes, rng)
        if "a" in v:  # log(aᵀx) needs aᵀx > 0
            v["a"] = np.abs(v["a"])
            v["x"] = np.abs(v["x"]) + 0.1
        close(mg.evaluate(printed, v, SIZES), fd_hessian(program.result, v, x), tol=1e-5)


def test_hessian_by_a_matrix_is_a_fourth_order_tensor(capsys, rng):
    shapes = "X: m,n; w: n"
    status, out, _ = run(capsys, "hessian", "sum((X @ w)**2) / 2", "--wrt", "X", "--shape",
                         shapes, "--verify")
    assert status == 0
    [b] = blocks(out)
    assert b["what"] == "tensor of order 4, shape m×n×m×n, axes in numerator layout"
    assert b["vec"] is not None and b["vec"].endswith("= (w wᵀ ⊗ Iₘ)")
    L = mg.parse("sum((X @ w)**2) / 2", shapes)
    Hd = mg.hessian(L, "X")
    assert b["index"] == Hd.index_notation()
    v = sample(shapes, rng)
    fd = fd_hessian(L, v, "X")
    close(mg.evaluate(Hd, v), fd, tol=1e-5)
    # the vec form: ∂²L/∂vec(X)² = w wᵀ ⊗ Iₘ, vec stacking columns
    order = [(i, j) for j in range(N) for i in range(M)]
    vec_fd = np.array([[fd[a + c] for c in order] for a in order])
    close(vec_fd, np.kron(np.outer(v["w"], v["w"]), np.eye(M)), tol=1e-5)
    hit = re.search(r"largest relative error ([0-9.e+-]+)\)", b["check"])
    assert b["check"].startswith("verified numerically") and float(hit.group(1)) < 1e-6


def test_higher_orders(capsys, rng):
    status, out, _ = run(capsys, "hessian", "sum(x**3)", "--shape", "x: n", "--order", "3",
                         "--verify")
    assert status == 0
    [b] = blocks(out)
    assert b["index"] == "∂³(sum(x³))/∂xᵢ∂xⱼ∂xₖ = 6 δᵢⱼ δᵢₖ"
    assert b["what"] == "tensor of order 3, shape n×n×n, axes in numerator layout"
    assert "finite differences of the derivative of order 2" in b["check"]
    # the Hessian of sum(x³) is diag(6x): its derivative by x is 6 δᵢⱼ δᵢₖ
    x = rng.standard_normal(N)
    fd = np.stack([(np.diag(6 * (x + H * e)) - np.diag(6 * (x - H * e))) / (2 * H)
                   for e in np.eye(N)], axis=-1)
    want = np.zeros((N, N, N))
    for i in range(N):
        want[i, i, i] = 6
    close(fd, want)
    status, out, _ = run(capsys, "jacobian", "X @ w", "--wrt", "w", "--shape", "X: m,n; w: n",
                         "--order", "2")
    assert status == 0 and "= 0" in blocks(out)[0]["index"]


def test_several_variables_one_block_each(capsys):
    status, out, _ = run(capsys, "jacobian", "z = X @ w", "--shape", "X: m,n; w: n")
    assert status == 0
    assert [b["label"] for b in blocks(out)] == ["∂z/∂X", "∂z/∂w"]


# ---- --verify, --latex, and the messages ----------------------------------------------------


def test_verify_passes_and_a_failure_exits_1(capsys, monkeypatch):
    args = ["jacobian", "tanh(A @ x)", "--wrt", "x", "--shape", "A: m,n; x: n", "--verify"]
    status, out, _ = run(capsys, *args, "--sizes", "m=7, n=2")
    assert status == 0
    check = blocks(out)[0]["check"]
    assert check.startswith("verified numerically: ∂(tanh(A x))/∂x (its index form) matches "
                            "central finite differences of the function")
    assert float(re.search(r"error ([0-9.e+-]+)\)", check).group(1)) < 1e-6
    from matgrad.jacobian import Derivative
    monkeypatch.setattr(Derivative, "verify", lambda self, **kw: 0.25)
    status, out, err = run(capsys, *args)
    assert status == 1 and err == ""
    assert "VERIFICATION FAILED for ∂(tanh(A x))/∂x: largest relative error 2.5e-01" in out
    monkeypatch.setattr(Derivative, "verify", lambda self, **kw: float("nan"))
    assert run(capsys, *args)[0] == 1


def test_latex_is_latex_alone(capsys):
    status, out, err = run(capsys, "hessian", "L = sum((A @ x - b)**2)", "--wrt", "x",
                           "--shape", "A: m,n; x: n", "--latex", "--verify")
    assert status == 0
    assert err == "inferred shapes: b: m\n"  # the note goes to standard error
    lines = out.splitlines()
    assert lines[0] == r"\begin{aligned}"
    end = lines.index(r"\end{aligned}")
    assert all(line.startswith("% ") and line.isascii() for line in lines[end + 1:])
    assert r"\frac{\partial^{2} L}{\partial x^{2}} &= 2 \, {A}^{\top} A" in out
    assert "% verified numerically: d^2L/dx^2" in out


def test_latex_compiles(capsys):
    from .latex_engine import compile_fragments
    fragments = []
    for argv in (["jacobian", "z = X @ w", "--shape", "X: m,n; w: n", "--verify"],
                 ["jacobian", "tanh(A @ x)", "--wrt", "x", "--shape", "A: m,n; x: n"],
                 ["jacobian", "inv(S)", "--wrt", "S", "--shape", "S: n,n"],
                 ["hessian", "logdet(S)", "--wrt", "S", "--shape", "S: n,n"],
                 ["hessian", "L = sum((X @ w)**2) / 3", "--wrt", "X,w", "--shape", "X: m,n; w: n"],
                 ["hessian", "sum(x**3)", "--shape", "x: n", "--order", "3"],
                 ["r = A @ x - c; L = r.T @ r", "--shape", "A: m,n; x: n", "--verify"]):
        status, out, _ = run(capsys, *argv, "--latex")
        assert status == 0
        fragments.append(out)
    assert compile_fragments(fragments) == [None] * len(fragments)


@pytest.mark.parametrize("argv,message", [
    (["hessian", "X @ w", "--wrt", "w", "--shape", "X: m,n; w: n"],
     ("the Hessian needs a scalar expression, but this one is m×1; for the derivative of "
      "order 2 of a vector or matrix run: matgrad jacobian 'X @ w' --wrt w --shape "
      "'X: m,n; w: n' --order 2")),
    (["hessian", "sum(x**2)", "--shape", "x: n", "--order", "1"], "second derivative"),
    (["jacobian", "X @ w", "--shape", "X: m,n; w: n", "--order", "0"],
     "--order must be a positive integer"),
    (["jacobian", "X @ w", "--shape", "X: m,n; w: n", "--order", "2", "--layout",
      "denominator"], "--layout denominator applies to first derivatives"),
    (["jacobian", "X @ w", "--shape", "X: m,n; w: n", "--wrt", "q"], "--wrt names q"),
    (["jacobian", "X @ w", "--shape", "X: m,n; w: n", "--sizes", "m=3"], "use it with --verify"),
    (["jacobian", "X @ w", "--shape", "X: m,n; w: n", "--verify", "--sizes", "k=3"],
     "the expression has no dimension k"),
    (["jacobian", "X @ w", "--shape", "X: m,n; w: n", "--steps"],
     "no steps for Jacobians or Hessians"),
    (["hessian", "sum(x**2)", "--shape", "x: n", "--steps"], "matgrad EXPR --wrt x --steps"),
    (["jacobian", "X @ w", "--shape", "X: m,n; w: n", "--explain", "--latex"], "no LaTeX"),
    (["jacobian", "X @ (w", "--shape", "X: m,n; w: n"], "never closed"),
])
def test_errors_exit_2_on_stderr(capsys, argv, message):
    status, out, err = run(capsys, *argv)
    assert status == 2 and out == ""
    assert err.startswith("error: ") and message in err and "Traceback" not in err


def test_the_gradient_command_names_the_jacobian_command(capsys):
    status, out, err = run(capsys, "X @ w", "--shape", "X: m,n; w: n")
    assert status == 2 and out == ""
    command = "matgrad jacobian 'X @ w' --wrt X,w --shape 'X: m,n; w: n'"
    assert err == ("error: a gradient needs a scalar expression, but this one is m×1; for "
                   f"its Jacobian run: {command}\n")
    import shlex
    status, out, _ = run(capsys, *shlex.split(command)[1:])  # and that command works
    assert status == 0 and [b["label"] for b in blocks(out)] == ["∂(X w)/∂X", "∂(X w)/∂w"]
    status, _, err = run(capsys, "check", "X @ w", "--wrt", "X", "--shape", "X: m,n; w: n",
                         "--claim", "w")
    assert status == 2 and "matgrad jacobian 'X @ w' --wrt X --shape 'X: m,n; w: n'" in err


# ---- matgrad code --kind jacobian | hessian ---------------------------------------------------


def load(source: str, tmp_path, name="generated_tensor_code"):
    path = tmp_path / f"{name}.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def column(a):
    a = np.asarray(a, dtype=float)
    return a[:, None] if a.ndim == 1 else a


def test_code_for_a_matrix_jacobian(capsys, rng, tmp_path):
    shapes = "A: m,n; x: n"
    F = mg.parse("tanh(A @ x)", shapes)
    for layout in ("numerator", "denominator"):
        status, out, err = run(capsys, "code", "tanh(A @ x)", "--kind", "jacobian", "--wrt", "x",
                               "--shape", shapes, "--layout", layout)
        assert status == 0 and err == ""
        assert out.splitlines()[0] == (f"# J = d(tanh(A @ x))/dx  ({'m x n' if layout[0] == 'n' else 'n x m'} "
                                       f"matrix, {layout} layout)")
        mod = load(out, tmp_path, f"jac_{layout}")
        v = sample(shapes, rng)
        J, extra = mod.J_value(v["A"], column(v["x"]))
        fd = fd_jacobian(F, v, "x")
        close(J, fd if layout == "numerator" else fd.T)
        assert extra == {}


def test_code_for_tensors(capsys, rng, tmp_path):
    shapes = "X: m,n; w: n"
    status, out, _ = run(capsys, "code", "X @ w", "--kind", "jacobian", "--wrt", "X",
                         "--shape", shapes)
    assert status == 0 and "def J_value(X, w):" in out
    v = sample(shapes, rng)
    J, _ = load(out, tmp_path, "jac_tensor").J_value(v["X"], column(v["w"]))
    close(J, fd_jacobian(mg.parse("X @ w", shapes), v, "X"))
    L = mg.parse("sum((X @ w)**2) / 2 + sum(exp(X))", shapes)
    status, out, _ = run(capsys, "code", "sum((X @ w)**2) / 2 + sum(exp(X))", "--kind",
                         "hessian", "--wrt", "X", "--shape", shapes, "--name", "hess")
    assert status == 0 and "def hess(X, w):" in out
    Hx, _ = load(out, tmp_path, "hess_tensor").hess(v["X"] * 0.3, column(v["w"]))
    close(Hx, fd_hessian(L, {"X": v["X"] * 0.3, "w": v["w"]}, "X"), tol=1e-5)


def test_code_for_a_hessian_and_a_third_derivative(capsys, rng, tmp_path):
    shapes = "X: m,n; w: n; y: m"
    expr = "sum((X @ w - y)**2)"
    status, out, _ = run(capsys, "code", expr, "--kind", "hessian", "--wrt", "w", "--shape",
                         shapes)
    assert status == 0
    assert out.splitlines()[:2] == ["# H = d^2L/dw^2  (n x n matrix, symmetric)",
                                    "# where L = sum((X @ w - y) ** 2)"]
    v = sample(shapes, rng)
    Hw, _ = load(out, tmp_path, "hess_w").H_value(v["X"])
    close(Hw, fd_hessian(mg.parse(expr, shapes), v, "w"), tol=1e-5)
    status, out, _ = run(capsys, "code", "sum(x**3)", "--kind", "hessian", "--order", "3",
                         "--shape", "x: n")
    assert status == 0
    D, _ = load(out, tmp_path, "third").D_value(column(rng.standard_normal(N)))
    want = np.zeros((N, N, N))
    for i in range(N):
        want[i, i, i] = 6
    close(D, want)


@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_code_for_a_tensor_on_other_backends(capsys, rng, tmp_path, backend):
    pytest.importorskip(backend)
    shapes = "X: m,n; w: n"
    status, out, _ = run(capsys, "code", "X @ w", "--kind", "jacobian", "--wrt", "X",
                         "--shape", shapes, "--backend", backend)
    assert status == 0
    v = sample(shapes, rng)
    if backend == "jax":  # double precision for the comparison, restored afterwards
        import jax
        before = jax.config.jax_enable_x64
        jax.config.update("jax_enable_x64", True)
    try:
        J, _ = load(out, tmp_path, f"jac_{backend}").J_value(*_arrays(backend, v["X"],
                                                                       column(v["w"])))
        close(np.asarray(J), fd_jacobian(mg.parse("X @ w", shapes), v, "X"))
    finally:
        if backend == "jax":
            jax.config.update("jax_enable_x64", before)


def _arrays(backend, *arrays):
    if backend == "torch":
        import torch
        return [torch.tensor(a) for a in arrays]
    import jax.numpy as jnp
    return [jnp.asarray(a) for a in arrays]


@pytest.mark.parametrize("argv,message", [
    (["X @ w", "--shape", "X: m,n; w: n"],
     ("gradients need a scalar expression, but this one is m×1; for code computing its "
      "Jacobian run: matgrad code 'X @ w' --kind jacobian --wrt X,w --shape 'X: m,n; w: n'")),
    (["X @ w", "--shape", "X: m,n; w: n", "--kind", "jacobian"], "one variable"),
    (["X @ w", "--shape", "X: m,n; w: n", "--kind", "hessian", "--wrt", "w"],
     "matgrad code 'X @ w' --kind jacobian --wrt w --shape 'X: m,n; w: n' --order 2"),
    (["sum(x)", "--shape", "x: n", "--order", "2"], "--order applies to --kind"),
    (["sum(x)", "--shape", "x: n", "--kind", "hessian", "--layout", "denominator"],
     "--layout applies to --kind jacobian"),
    (["sum(x)", "--shape", "x: n", "--kind", "hessian", "--wrt", "q"], "--wrt names q"),
])
def test_code_errors(capsys, argv, message):
    status, out, err = run(capsys, "code", *argv)
    assert status == 2 and out == "" and message in err and "Traceback" not in err


def test_every_printed_jacobian_is_the_librarys(capsys):
    """The command prints what the library computes, for a grid of small cases."""
    shapes = "X: m,n; w: n; S: n,n"
    for expr, x in itertools.product(["X @ w", "sum(exp(X @ w))", "S @ w", "inv(S)"],
                                     ["w", "S", "X"]):
        program = mg.parse_program(expr, shapes)
        if x not in program.variables:
            continue
        status, out, _ = run(capsys, "jacobian", expr, "--wrt", x, "--shape", shapes)
        assert status == 0
        assert out == mg.jacobian(program.result, x).describe() + "\n"
