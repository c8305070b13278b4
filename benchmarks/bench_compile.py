"""Speed of compiled gradients and of derivation, against baselines measured in the same run.

    python benchmarks/bench_compile.py            # everything (a few minutes)
    python benchmarks/bench_compile.py --quick    # small sizes only

1. The example network: compiled value-and-gradients vs hand-written NumPy,
   jax.jit(jax.value_and_grad), PyTorch autograd and the forward pass alone.
2. Hessians of xᵀAx, logistic regression and the example loss (w.r.t. w): compiled vs
   jax.jit(jax.hessian) and torch.func.hessian.
3. Derivation time vs SymPy's matrix-expression diff and tensorgrad (when installed;
   see benchmarks/requirements.txt), for the example and MLPs of k layers.

Every number is a ratio of medians (several runs) to a baseline timed in the same run,
all in float64 on the CPU.
"""
from __future__ import annotations

import os

# One thread per library: a fair comparison, and steadier timings on a shared machine
# (set before NumPy, JAX or PyTorch start their thread pools).
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false "
                                   "intra_op_parallelism_threads=1")

import argparse  # noqa: E402
import platform
import signal
import statistics
import sys
import time

import numpy as np  # noqa: E402

import matgrad as mg  # noqa: E402


def median_time(f, runs: int, warmup: int = 1) -> float:
    for _ in range(warmup):
        f()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        f()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def versions() -> str:
    out = [f"python {platform.python_version()}", f"numpy {np.__version__}"]
    from importlib import metadata
    for name in ("jax", "torch", "dask", "sympy", "tensorgrad"):
        try:
            out.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            out.append(f"{name} not installed")
    return ", ".join(out)


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}"


# ---- 1. the example network -----------------------------------------------------------------

def example_network(m: int, n: int, rounds: int, reps: int) -> list:
    import jax
    import jax.numpy as jnp
    import torch
    p = mg.parse_program("z = X @ w + b; yhat = relu(z); L = sum((yhat - y)**2) / m",
                         "X: m,n; w: n; b: scalar; y: m")
    rng = np.random.default_rng(0)
    X = rng.standard_normal((m, n))
    w = rng.standard_normal(n) / np.sqrt(n)
    y = rng.standard_normal(m)
    b = 0.1
    values = {"X": X, "w": w, "b": b, "y": y}

    f = mg.compile(p.result, ["w", "b", "X"], definitions=p.definitions)
    f_wb = mg.compile(p.result, ["w", "b"], definitions=p.definitions)
    f_jax = mg.compile(p.result, ["w", "b", "X"], "jax", definitions=p.definitions)
    f_torch = mg.compile(p.result, ["w", "b", "X"], "torch", definitions=p.definitions)
    out = {"X": np.empty_like(X), "w": np.empty_like(w)}  # reused on every call

    def hand():  # a careful hand-written version: one pass, shared mask, no outer()
        z = X @ w + b
        mask = z > 0
        r = np.where(mask, z, 0.0) - y
        g = (2.0 / m) * (mask * r)
        return r @ r / m, (X.T @ g, g.sum(), g[:, None] * w[None, :])

    hand_out = (np.empty(n), np.empty((m, n)))

    def hand_reusing():  # the same, writing the two array gradients into kept arrays
        z = X @ w + b
        mask = z > 0
        r = np.where(mask, z, 0.0) - y
        g = (2.0 / m) * (mask * r)
        np.matmul(X.T, g, out=hand_out[0])
        np.multiply(g[:, None], w[None, :], out=hand_out[1])
        return r @ r / m, (hand_out[0], g.sum(), hand_out[1])

    def forward():
        z = X @ w + b
        r = np.maximum(z, 0.0) - y
        return r @ r / m

    def loss_jax(w_, b_, X_):
        r = jax.nn.relu(X_ @ w_ + b_) - y_j
        return jnp.sum(r * r) / m
    X_j, w_j, y_j = jnp.asarray(X), jnp.asarray(w), jnp.asarray(y)
    b_j = jnp.asarray(b)
    vg = jax.jit(jax.value_and_grad(loss_jax, argnums=(0, 1, 2)))
    jax_values = {"X": X_j, "w": w_j, "b": b_j, "y": y_j}

    X_t, y_t = torch.from_numpy(X), torch.from_numpy(y)
    w_t = torch.from_numpy(w.copy())
    b_t = torch.tensor(b, dtype=torch.float64)
    torch_values = {"X": X_t, "w": w_t, "b": b_t, "y": y_t}

    def torch_autograd():
        Xg, wg, bg = (t.detach().requires_grad_(True) for t in (X_t, w_t, b_t))
        loss = torch.mean((torch.relu(Xg @ wg + bg) - y_t) ** 2)
        return loss, torch.autograd.grad(loss, (wg, bg, Xg))

    # the same numbers from every contestant, before timing anything
    value, grads = f(values)
    hv, (hw, hb, hX) = hand()
    assert np.isclose(value, hv) and np.allclose(grads["X"], hX) and np.allclose(grads["w"], hw)
    hv, (hw, hb, hX) = hand_reusing()
    assert np.isclose(value, hv) and np.allclose(grads["X"], hX) and np.allclose(grads["w"], hw)
    ov, og = f(values, out=out)
    assert og["X"] is out["X"] and np.allclose(og["X"], hX) and np.allclose(og["w"], hw)
    tv, (tw, tb, tX) = torch_autograd()
    assert np.isclose(value, tv.item()) and np.allclose(grads["X"], tX.numpy())
    tv, tg = f_torch(torch_values)
    assert np.isclose(value, tv.item()) and np.allclose(grads["X"], tg["X"].numpy())
    jv, (jw, jb, jX) = vg(w_j, b_j, X_j)
    assert np.isclose(value, float(jv)) and np.allclose(grads["w"], np.asarray(jw))
    jv, jg = f_jax(jax_values)
    assert np.isclose(value, float(jv)) and np.allclose(grads["X"], np.asarray(jg["X"]))

    contestants = {
        "matgrad (numpy)": lambda: f(values),
        "matgrad (numpy), out= arrays": lambda: f(values, out=out),
        "matgrad (torch backend)": lambda: f_torch(torch_values),
        "matgrad (jax backend)": lambda: jax.block_until_ready(f_jax(jax_values)),
        "hand-written NumPy": hand,
        "hand-written NumPy, kept arrays": hand_reusing,
        "jax.jit(value_and_grad)": lambda: jax.block_until_ready(vg(w_j, b_j, X_j)),
        "PyTorch autograd": torch_autograd,
        "forward pass alone": forward,
        "matgrad (numpy), wrt w, b only": lambda: f_wb(values),
    }
    # rounds over all contestants, so that a burst of load on the shared machine hits
    # every one alike; in each round a contestant runs once untimed (its data back in
    # the cache, as in a loop calling it) and then `reps` timed times
    samples: dict = {name: [] for name in contestants}
    for _ in range(rounds):
        for name, fn in contestants.items():
            fn()
            for _ in range(reps):
                start = time.perf_counter()
                fn()
                samples[name].append(time.perf_counter() - start)
    t = {name: statistics.median(ts) for name, ts in samples.items()}
    base = t["matgrad (numpy)"]
    best = min(t["matgrad (numpy)"], t["matgrad (numpy), out= arrays"])
    fwd = t["forward pass alone"]
    lines = [f"m = {m}, n = {n}"]
    lines += [f"  {name:<34} {sec * 1e3:9.3f} ms   {sec / base:6.2f}× matgrad (numpy)"
              for name, sec in t.items()]
    lines += [
        f"  matgrad / hand-written NumPy       {base / t['hand-written NumPy']:.2f}"
        f"   (both with kept arrays: {t['matgrad (numpy), out= arrays'] / t['hand-written NumPy, kept arrays']:.2f})",
        f"  matgrad / forward pass             {base / fwd:.2f}"
        f"   (out= arrays: {t['matgrad (numpy), out= arrays'] / fwd:.2f};"
        f" wrt w, b only: {t['matgrad (numpy), wrt w, b only'] / fwd:.2f})",
        f"  fastest matgrad / JAX, / PyTorch   "
        f"{min(best, t['matgrad (torch backend)'], t['matgrad (jax backend)']) / t['jax.jit(value_and_grad)']:.2f},"
        f" {min(best, t['matgrad (torch backend)'], t['matgrad (jax backend)']) / t['PyTorch autograd']:.2f}",
    ]
    return lines


# ---- 2. Hessians ------------------------------------------------------------------------------

def hessians(n: int, runs: int) -> list:
    import jax
    import jax.numpy as jnp
    import torch
    if not hasattr(mg, "hessian"):
        return [f"n = {n}: matgrad.hessian is missing; not measured"]
    m_val = 2 * n
    m, nd = mg.dims("m n")
    X, w, y, b = mg.matrix("X", m, nd), mg.vector("w", nd), mg.vector("y", m), mg.scalar("b")
    A, x = mg.matrix("A", nd, nd), mg.vector("x", nd)
    rng = np.random.default_rng(1)
    Xv, yv = rng.standard_normal((m_val, n)), rng.standard_normal(m_val)
    wv, Av = rng.standard_normal(n) / np.sqrt(n), rng.standard_normal((n, n))
    cases = {
        "xᵀAx": (x.T @ A @ x, x, {"A": Av, "x": wv},
                 lambda x_: x_ @ (jnp.asarray(Av) @ x_),
                 lambda x_: x_ @ (torch.from_numpy(Av) @ x_), wv),
        "logistic regression": (
            mg.sum(mg.softplus(X @ w) - y * (X @ w)) / m, w, {"X": Xv, "w": wv, "y": yv},
            lambda w_: jnp.sum(jax.nn.softplus(Xv @ w_) - yv * (Xv @ w_)) / m_val,
            lambda w_: torch.sum(torch.nn.functional.softplus(torch.from_numpy(Xv) @ w_)
                                 - torch.from_numpy(yv) * (torch.from_numpy(Xv) @ w_)) / m_val,
            wv),
        "example loss": (
            mg.sum((mg.relu(X @ w + b) - y) ** 2) / m, w,
            {"X": Xv, "w": wv, "b": 0.1, "y": yv},
            lambda w_: jnp.sum((jax.nn.relu(Xv @ w_ + 0.1) - yv) ** 2) / m_val,
            lambda w_: torch.sum((torch.relu(torch.from_numpy(Xv) @ w_ + 0.1)
                                  - torch.from_numpy(yv)) ** 2) / m_val,
            wv),
    }
    out = [f"n = {n} (m = {m_val})"]
    for name, (L, v, values, fj, ft, point) in cases.items():
        H = mg.hessian(L, v)
        f = mg.compile(H)
        Hj = jax.jit(jax.hessian(fj))
        pj, pt = jnp.asarray(point), torch.from_numpy(point.copy())
        Ht = torch.func.hessian(ft)
        ours = f(values)[0]
        assert np.allclose(ours, np.asarray(Hj(pj)), atol=1e-8)
        assert np.allclose(ours, Ht(pt).numpy(), atol=1e-8)
        t_ours = median_time(lambda: f(values), runs)
        t_jax = median_time(lambda: jax.block_until_ready(Hj(pj)), runs)
        t_torch = median_time(lambda: Ht(pt), runs)
        out.append(f"  {name:<20} matgrad {t_ours * 1e3:8.2f} ms   jax.hessian "
                   f"{t_jax / t_ours:6.2f}×   torch.func.hessian {t_torch / t_ours:6.2f}×")
    return out


# ---- 3. derivation time -------------------------------------------------------------------------

class Timeout(Exception):
    pass


def within(seconds: int, f):
    """f() or 'timeout'/'error: ...' (a failed or hung comparison does not stop the run)."""
    def alarm(*_):
        raise Timeout
    old = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(seconds)
    try:
        start = time.perf_counter()
        f()
        return time.perf_counter() - start
    except Timeout:
        return f"timeout (> {seconds} s)"
    except Exception as err:  # noqa: BLE001 - the comparison library's own failure
        return f"cannot: {type(err).__name__}: {str(err).splitlines()[0][:60]}"
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def matgrad_mlp(k: int):
    n = mg.dims("n")[0]
    x, y = mg.vector("x", n), mg.vector("y", n)
    Ws = [mg.matrix(f"W{i}", n, n) for i in range(k)]
    h = x
    for W in Ws:
        h = mg.tanh(W @ h)
    return mg.sum((h - y) ** 2), Ws


def sympy_example():
    import sympy as sp
    from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction as Apply
    m, n = sp.symbols("m n", integer=True, positive=True)
    X, w, y = sp.MatrixSymbol("X", m, n), sp.MatrixSymbol("w", n, 1), sp.MatrixSymbol("y", m, 1)
    t = sp.Symbol("t")
    r = Apply(sp.Lambda(t, sp.Max(t, 0)), X * w) - y
    L = sp.Trace(r.T * r) / m
    return L, X, w


def sympy_mlp(k: int):
    import sympy as sp
    from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction as Apply
    n = sp.symbols("n", integer=True, positive=True)
    x, y = sp.MatrixSymbol("x", n, 1), sp.MatrixSymbol("y", n, 1)
    Ws = [sp.MatrixSymbol(f"W{i}", n, n) for i in range(k)]
    h = x
    for W in Ws:
        h = Apply(sp.tanh, W * h)
    return sp.Trace((h - y).T * (h - y)), Ws


def tensorgrad_example():
    import sympy as sp
    import tensorgrad as tg
    import tensorgrad.functions as F
    m, n = sp.symbols("m n")
    X, w, y = tg.Variable("X", m, n), tg.Variable("w", n), tg.Variable("y", m)
    r = F.relu(X @ w) - y
    return r @ r, X, w


def tensorgrad_mlp(k: int):
    import sympy as sp
    import tensorgrad as tg
    import tensorgrad.functions as F
    edges = sp.symbols(" ".join(f"d{i}" for i in range(k + 1)))
    x = tg.Variable("x", edges[0])
    Ws = [tg.Variable(f"W{i}", edges[i], edges[i + 1]) for i in range(k)]
    h = x
    for W in Ws:
        h = F.tanh(h @ W)
    y = tg.Variable("y", edges[k])
    r = h - y
    return r @ r, Ws


def derivation(ks) -> list:
    out = []
    have_tg = True
    try:
        import tensorgrad  # noqa: F401
    except ImportError:
        have_tg = False

    def fmt(t):
        return f"{t * 1e3:9.2f} ms" if isinstance(t, float) else t

    # the example: gradients with respect to w and X
    p = mg.parse_program("sum((relu(X @ w + b) - y)**2) / m", "X: m,n; w: n; b: scalar; y: m")
    t_mg = within(60, lambda: mg.gradients(p.result, ["w", "b", "X"]))
    L, Xs, ws = sympy_example()
    t_sw = within(60, lambda: L.diff(ws))
    t_sX = within(60, lambda: L.diff(Xs))
    out.append(f"example: matgrad (w, b, X) {fmt(t_mg)}; SymPy ∂/∂w {fmt(t_sw)}, ∂/∂X {fmt(t_sX)}")
    if have_tg:
        import tensorgrad as tg
        Lt, Xt, wt = tensorgrad_example()
        t_tw = within(60, lambda: tg.Derivative(Lt, wt).full_simplify())
        t_tX = within(60, lambda: tg.Derivative(Lt, Xt).full_simplify())
        out.append(f"         tensorgrad ∂/∂w {fmt(t_tw)}, ∂/∂X {fmt(t_tX)}")
    out.append("MLP of k tanh layers, gradients with respect to every Wᵢ:")
    out.append("   k    matgrad        SymPy            tensorgrad")
    for k in ks:
        L, Ws = matgrad_mlp(k)
        t_mg = within(120, lambda: mg.gradients(L, Ws))
        Ls, Wss = sympy_mlp(k)
        t_s = within(30, lambda: [Ls.diff(W) for W in Wss])
        row = f"  {k:2d}  {fmt(t_mg)}   {fmt(t_s)}"
        if have_tg:
            import tensorgrad as tg
            Lt, Wt = tensorgrad_mlp(k)
            t_t = within(60, lambda: [tg.Derivative(Lt, W).full_simplify() for W in Wt])
            row += f"   {fmt(t_t)}"
        else:
            row += "   tensorgrad not installed"
        out.append(row)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes only")
    args = ap.parse_args(argv)
    import jax
    import torch
    jax.config.update("jax_enable_x64", True)  # float64 everywhere, as NumPy
    torch.set_num_threads(1)
    print(f"machine: {machine()}")
    print(f"versions: {versions()}")
    print("one thread per library (OMP/OPENBLAS/MKL_NUM_THREADS=1, XLA single-threaded)\n")
    print("1. example network, value and gradients (medians over interleaved rounds)")
    sizes = [(10_000, 100)] + ([] if args.quick else [(100_000, 1_000)])
    for m, n in sizes:
        for line in (example_network(m, n, rounds=7, reps=5) if m <= 10_000
                     else example_network(m, n, rounds=5, reps=1)):
            print(line)
        sys.stdout.flush()
    print("\n2. Hessians with respect to w (ratios: their time / matgrad's)")
    for n in ([200] if args.quick else [1000, 2000]):
        for line in hessians(n, runs=3 if n >= 1000 else 5):
            print(line)
        sys.stdout.flush()
    print("\n3. derivation time")
    for line in derivation([1, 2, 4] if args.quick else [1, 2, 4, 8, 16]):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
