"""Meta-tests over the registry: every declared operation has every facet, and each facet
is checked numerically.

Each operation is applied to variables of the shapes its signature names (one
dimension per letter, sizes drawn distinct by the sampler, so a transpose cannot hide),
at random points in its domain. A failure names the operation and the facet.
"""
from __future__ import annotations

from contextlib import contextmanager

import numpy as np
import pytest

import matgrad as mg
from matgrad import registry
from matgrad.dims import Dim, concrete, product
from matgrad.errors import MatgradError
from matgrad.verify import direction, sample

from .strategies import DRAWN_OPERATIONS

OPERATIONS = registry.operations()
NAMES = sorted(OPERATIONS)
BACKENDS = ("numpy", "jax", "torch")

# An independent statement of each operation's value, for its kernel.
REFERENCE = {
    "trace": lambda a: np.trace(a),
    "det": lambda a: np.linalg.det(a),
    "logdet": lambda a: np.log(np.linalg.det(a)),
    "inv": lambda a: np.linalg.inv(a),
    "diagmat": lambda a: np.diagflat(a),
    "diagvec": lambda a: np.diagonal(a)[:, None],
    "norm": lambda a: np.sqrt(np.sum(a * a)),
    "logsumexp": lambda a: np.log(np.sum(np.exp(a))),
    "softmax": lambda a: np.exp(a) / np.sum(np.exp(a)),
    "tril": lambda a: np.where(np.arange(a.shape[0])[:, None] >= np.arange(a.shape[1]), a, 0),
    "triu": lambda a: np.where(np.arange(a.shape[0])[:, None] <= np.arange(a.shape[1]), a, 0),
    "log_softmax": lambda a: a - np.log(np.sum(np.exp(a))),
    "max": lambda a: np.amax(a),
    "min": lambda a: np.amin(a),
    "maximum": lambda a, b: np.where(a > b, a, b),
    "minimum": lambda a, b: np.where(a < b, a, b),
    "clip": lambda a, lo, hi: np.clip(a, lo, hi),
    "ismax": lambda a: (a == np.amax(a)) * 1.0,
    "ismin": lambda a: (a == np.amin(a)) * 1.0,
    "solve": lambda a, b: np.linalg.inv(a) @ b,
    "matrix_power": lambda a: a @ a @ a,  # k = 3, the default
    "adj": lambda a: _cofactors(a).T,
    "tril_half": lambda a: np.tril(a, -1) + np.diag(np.diag(a)) / 2,
    "cholesky": lambda a: _cholesky_banachiewicz((a + a.T) / 2),
    "eigvalsh": lambda a: np.sort(np.linalg.eigvals(a).real)[:, None],
    "eigvecsh": lambda a: _eigenvectors(a),
    "svdvals": lambda a: np.sqrt(np.sort(np.linalg.eigvals(a.T @ a).real)[::-1])[:, None],
    "norm_1": lambda a: np.sum(np.abs(a)),
    "norm_inf": lambda a: np.max(np.abs(a)),
    "norm_1_matrix": lambda a: max(sum(abs(a[i, j]) for i in range(a.shape[0]))
                                   for j in range(a.shape[1])),
    "norm_inf_matrix": lambda a: max(sum(abs(a[i, j]) for j in range(a.shape[1]))
                                     for i in range(a.shape[0])),
    "norm_nuc": lambda a: np.sum(np.sqrt(np.linalg.eigvals(a.T @ a).real)),
    "norm_spectral": lambda a: np.sqrt(np.max(np.linalg.eigvals(a.T @ a).real)),
    # block (i, j) of A ⊗ B is A[i, j] B; vec stacks columns; unvec undoes it
    "kron": lambda a, b: np.block([[a[i, j] * b for j in range(a.shape[1])]
                                   for i in range(a.shape[0])]),
    "vec": lambda a: np.concatenate([a[:, j] for j in range(a.shape[1])])[:, None],
    "unvec": lambda v, m, n: np.stack([v[j * m:(j + 1) * m, 0] for j in range(n)], axis=1),
    # through an eigendecomposition (the points drawn are diagonalisable): e^A = V e^Λ V⁻¹,
    # and L(A, E) = V (D ⊙ V⁻¹ E V) V⁻¹ with D the divided differences of exp (Daleckii-Krein)
    "expm": lambda a: _by_eigenvalues(a, lambda v, vi, lam: v @ np.diag(np.exp(lam)) @ vi),
    # ∫₀¹ e^{(1−s)P} C e^{sQ} ds = V (D ⊙ V⁻¹ C U) U⁻¹ for P = V Λ V⁻¹, Q = U M U⁻¹, with
    # D the divided differences of exp between Λ and M (Daleckii-Krein)
    "expm_block": lambda p, c, q: _two_sided_exp(p, c, q),
    # the principal branches: NumPy's complex log and sqrt of the eigenvalues
    "logm": lambda a: _by_eigenvalues(a, lambda v, vi, lam: v @ np.diag(np.log(lam)) @ vi),
    "sqrtm": lambda a: _by_eigenvalues(a, lambda v, vi, lam: v @ np.diag(np.sqrt(lam)) @ vi),
    "logm_block": lambda p, c, q: _two_sided(p, c, q, np.log, lambda z: 1 / z),
    "sqrtm_block": lambda p, c, q: _two_sided(p, c, q, np.sqrt, lambda z: 0.5 / np.sqrt(z)),
}


def _two_sided(p, c, q, f, df):
    """(1/2πi) ∮ f(z) (z − P)⁻¹ C (z − Q)⁻¹ dz = V (D ⊙ V⁻¹ C U) U⁻¹ for P = V Λ V⁻¹,
    Q = U M U⁻¹, with D the divided differences of f between Λ and M."""
    lam, v = np.linalg.eig(p)
    mu, u = np.linalg.eig(q)
    li, lj = lam.astype(complex)[:, None], mu.astype(complex)[None, :]
    close = np.abs(li - lj) < 1e-12
    d = np.where(close, df(li), (f(li) - f(lj)) / np.where(close, 1, li - lj))
    return np.real(v @ (d * (np.linalg.inv(v) @ c @ u)) @ np.linalg.inv(u))


def _two_sided_exp(p, c, q):
    lam, v = np.linalg.eig(p)
    mu, u = np.linalg.eig(q)
    return np.real(v @ (_divided_exp(lam, mu) * (np.linalg.inv(v) @ c @ u))
                   @ np.linalg.inv(u))


def _by_eigenvalues(a, f):
    lam, v = np.linalg.eig(a)
    return np.real(f(v, np.linalg.inv(v), lam.astype(complex)))


def _divided_exp(lam, mu=None):
    """(e^λᵢ − e^μⱼ)/(λᵢ − μⱼ), and e^λᵢ where λᵢ = μⱼ (μ = λ by default)."""
    li, lj = lam[:, None], (lam if mu is None else mu)[None, :]
    close = np.abs(li - lj) < 1e-12
    return np.where(close, np.exp(li), (np.exp(li) - np.exp(lj)) / np.where(close, 1, li - lj))


def _cofactors(a):
    """C_ij = (−1)^(i+j) det(a without row i and column j): the adjugate is Cᵀ."""
    n = a.shape[0]
    c = np.empty_like(a)
    for i in range(n):
        for j in range(n):
            minor = np.delete(np.delete(a, i, axis=0), j, axis=1)
            c[i, j] = (-1) ** (i + j) * np.linalg.det(minor)
    return c


def _cholesky_banachiewicz(s):
    """The lower factor of s = L Lᵀ, row by row."""
    n = s.shape[0]
    lower = np.zeros_like(s)
    for i in range(n):
        for j in range(i + 1):
            rest = s[i, j] - lower[i, :j] @ lower[j, :j]
            lower[i, j] = np.sqrt(rest) if i == j else rest / lower[j, j]
    return lower



def _eigenvectors(a):
    """Each eigenvector as the null vector of a − λI (λ ascending), signed so that its
    entries sum to a nonnegative number."""
    columns = []
    for lam in np.sort(np.linalg.eigvals(a).real):
        v = np.linalg.svd(a - lam * np.eye(len(a)))[2][-1]
        columns.append(v if np.sum(v) >= 0 else -v)
    return np.stack(columns, axis=1)


def application(name: str, params: tuple | None = None):
    """(node, arguments, shapes text) for operation `name` on variables A0, A1, ... of
    the shapes its signature names."""
    op = OPERATIONS[name]
    params = tuple(k.default for k in op.keywords) if params is None else params
    sig = op.signature_for(params)
    letters = {x for pattern in sig.args for p in pattern if p != 1
               for x in (p if isinstance(p, tuple) else (p,))} | set(op.sizes)
    dims = {p: Dim(f"{p}_") for p in sorted(letters)}
    if op.sizes and len(params) == len(op.keywords):  # the sizes the call gives, first
        params = tuple(dims[x] for x in op.sizes) + params

    def size(p):  # a letter's dimension; a product of letters (m*n), their product
        if p == 1:
            return 1
        return product(*(dims[x] for x in p)) if isinstance(p, tuple) else dims[p]

    args, shapes = [], []
    symmetric = "symmetric-argument" in op.facts  # drawn symmetric, as it must be
    for i, pattern in enumerate(sig.args):
        r, c = (size(p) for p in pattern)
        args.append(mg.var(f"A{i}", r, c, symmetric=symmetric))
        shapes.append(f"A{i}: {r},{c}" + " symmetric" * symmetric)
    return registry.build(op, tuple(args), params), args, "; ".join(shapes)


def point(exprs, seed=0):
    """(values, sizes, evaluate at them) at a random point where every expression is
    defined; values of vectors as columns, so that products with them keep their shape."""
    values, sizes = sample(list(exprs), np.random.default_rng(seed))

    def at(e, **changed):
        value = mg.evaluate(e, {**values, **changed}, sizes)
        return np.reshape(np.asarray(value, dtype=float), _shape(e, sizes))
    return values, sizes, at


def _shape(e, sizes):
    return tuple(concrete(s, sizes) for s in e.shape)


def weights_loss(node):
    """sum(W ⊙ node) with a variable W of node's shape: a scalar that reads every entry."""
    W = mg.var("W", *node.shape)
    return mg.sum(W * node), W


@contextmanager
def unless_unsupported(name):
    """Where a declaration states what its derivatives cannot do yet (`unsupported`),
    that MatgradError, word for word, ends the check; any other error fails it."""
    try:
        yield
    except MatgradError as err:
        if not OPERATIONS[name].unsupported or str(err) != OPERATIONS[name].unsupported:
            raise


# ---- every facet is there ------------------------------------------------------------------


def test_every_operation_has_every_facet():
    missing = []
    published = registry.functions()
    for name, op in OPERATIONS.items():
        def lack(facet, present):
            if not present:
                missing.append(f"{name}: {facet}")
        lack("kernel", callable(op.kernel))
        if op.linear:
            lack("adjoint", callable(op.adjoint))
            lack("identity", op.identity and op.identity[1])
            lack("index reading", callable(op.index))
        else:
            lack("differential", callable(op.differential))
            lack("differential's identity (docstring)",
                 op.differential is not None and (op.differential.__doc__ or "").strip())
        lack("text spelling", op.text is not None)
        lack("LaTeX spelling", op.latex is not None)
        lack("code (or a lowering)", op.code_for(("numpy",)) is not None
             or op.lowering is not None)
        lack("rounding scale", callable(op.scale))
        lack("published function", op.call in published)
        doc = published[op.call].__doc__ if op.call in published else ""
        lack("example in the function's docstring", ">>>" in (doc or ""))
        lack("reference value in tests/test_registry.py", name in REFERENCE)
        lack("random expressions (tests/strategies.py)", name in DRAWN_OPERATIONS)
    assert not missing, "facets missing:\n" + "\n".join(missing)


def test_every_published_function_is_matgrads():
    for name, f in registry.functions().items():
        assert getattr(mg, name) is f, name
        assert name in mg.__all__, name


# ---- each facet, numerically ---------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_kernel_agrees_with_the_reference(name):
    node, args, _ = application(name)
    values, sizes, at = point([node])
    given = tuple(concrete(s, sizes) for s in node.params[:len(OPERATIONS[name].sizes)])
    want = REFERENCE[name](*(at(a) for a in args), *given)
    assert np.allclose(at(node), np.reshape(want, _shape(node, sizes)), rtol=1e-10,
                       atol=1e-12), f"{name}: kernel"


@pytest.mark.parametrize("name", NAMES)
def test_gradient_agrees_with_central_differences(name):
    """Reverse mode: the differential rule, transposed (or the adjoint, if linear)."""
    node, args, _ = application(name)
    L, _ = weights_loss(node)
    grads = {}
    for a in args:
        with unless_unsupported(name):
            grads[a] = mg.grad(L, a)
    assert grads or OPERATIONS[name].unsupported, f"{name}: no gradient"
    if grads:
        report = mg.verify(L, list(grads), list(grads.values()), points=3)
        assert report.ok, f"{name}: differential\n{report}"


@pytest.mark.parametrize("name", NAMES)
def test_jacobian_agrees_with_central_differences(name):
    """Forward mode and the index-notation reading: J applied to a random direction."""
    node, args, _ = application(name)
    rng = np.random.default_rng(1)
    # the entries of ∂F/∂X in F's axes, then X's (a scalar's gradient has X's shape)
    layout = "denominator" if node.shape == (1, 1) else "numerator"
    values, sizes, at = point([node])
    checked = 0
    for a in args:
        with unless_unsupported(name):
            J = mg.jacobian(node, a, layout=layout)
            X = at(a)
            V = direction(X.shape, rng, a.params[1])  # a symmetric variable moves so
            h = 1e-6
            fd = (at(node, **{a.name: X + h * V}) - at(node, **{a.name: X - h * V})) / (2 * h)
            Jv = np.asarray(mg.evaluate(J, values, sizes), dtype=float).reshape(
                fd.size, V.size) @ V.reshape(-1)
            assert np.allclose(Jv, fd.reshape(-1), rtol=1e-5, atol=1e-6), \
                f"{name}: Jacobian with respect to {a.name}"
            checked += 1
    assert checked or OPERATIONS[name].unsupported, name


@pytest.mark.parametrize("name", [n for n in NAMES if OPERATIONS[n].linear])
def test_adjoint_satisfies_the_frobenius_identity(name):
    """⟨G, op(dA)⟩ = ⟨op*(G), dA⟩ at random G and dA."""
    node, (a,), _ = application(name)
    G = mg.var("G", *node.shape)
    left, right = frobenius_sides(node, G, OPERATIONS[name].adjoint(node, G), a, name)
    assert np.isclose(left, right, rtol=1e-10, atol=1e-12), f"{name}: adjoint"


def frobenius_sides(node, G, adjoint, a, name):
    """(⟨G, node at dA⟩, ⟨adjoint, dA⟩) at a random point and a random dA in place of a."""
    assert adjoint.shape == a.shape, f"{name}: adjoint's shape"
    values, sizes, at = point([node, G, adjoint])
    dA = np.random.default_rng(2).standard_normal(at(a).shape)
    return np.sum(at(G) * at(node, **{a.name: dA})), np.sum(at(adjoint) * dA)


@pytest.mark.parametrize("name", NAMES)
def test_printed_forms_read_back(name):
    node, args, shapes = application(name)
    text = node.to_text(unicode=False)
    assert mg.parse(text, shapes=shapes) is node, f"{name}: language text {text!r}"
    values, sizes, at = point([node])
    for printed, syntax in ((node.to_text(), "math"), (node.to_latex(), "latex")):
        back = mg.parse(printed, shapes=shapes, syntax=syntax)
        assert np.allclose(at(back), at(node), rtol=1e-12), \
            f"{name}: {syntax} form {printed!r}"


@pytest.mark.parametrize("name", [n for n in NAMES if OPERATIONS[n].linear_in is not None])
def test_partial_adjoint_satisfies_the_frobenius_identity(name):
    """⟨G, op(.., dE, ..)⟩ = ⟨op*(G), dE⟩ in the argument an operation is linear in, the
    others held, at random points."""
    node, args, _ = application(name)
    op = OPERATIONS[name]
    G = mg.var("G", *node.shape)
    for position in op.linear_positions(node):
        adjoint = (op.adjoint(node, G, position) if callable(op.linear_in)
                   else op.adjoint(node, G))
        left, right = frobenius_sides(node, G, adjoint, args[position], name)
        assert np.isclose(left, right, rtol=1e-9, atol=1e-12), f"{name}: adjoint"


def _backend_arrays(backend, values):
    if backend == "torch":
        torch = pytest.importorskip("torch")
        return {k: torch.as_tensor(np.asarray(v, dtype=float)) for k, v in values.items()}
    if backend == "jax":
        pytest.importorskip("jax")
    return values


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", NAMES)
def test_generated_code_agrees_with_evaluate(name, backend):
    with unless_unsupported(name):
        node, args, _ = application(name)
        L, _ = weights_loss(node)
        grads = [mg.grad(L, a) for a in args]
        values, sizes, at = point([L, *grads])
        context = _x64() if backend == "jax" else _nothing()
        with context:
            f = mg.compile(L, wrt=args, backend=backend)
            value, got = f(_backend_arrays(backend, values))
            assert np.isclose(np.asarray(value).item(), at(L).item(), rtol=1e-9), \
                f"{name}: {backend} code's value"
            for a, G in zip(args, grads):
                want = at(G)
                have = np.asarray(got[a.name], dtype=float).reshape(want.shape)
                assert np.allclose(have, want, rtol=1e-8, atol=1e-10), \
                    f"{name}: {backend} code's gradient with respect to {a.name}"


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def _x64():
    jax = pytest.importorskip("jax")
    if hasattr(jax, "enable_x64"):
        return jax.enable_x64(True)
    from jax.experimental import enable_x64
    return enable_x64()


@pytest.mark.parametrize("name", NAMES)
def test_hessian_agrees_with_differences_of_the_gradient(name):
    with unless_unsupported(name):
        node, args, _ = application(name)
        a = args[0]
        L = mg.sum(mg.sin(node))  # curved even where the operation is linear
        G = mg.grad(L, a)
        H = mg.hessian(L, a)
        values, sizes, at = point([L, G])
        X = at(a)
        V = direction(X.shape, np.random.default_rng(3), a.params[1])
        h = 1e-5
        fd = (at(G, **{a.name: X + h * V}) - at(G, **{a.name: X - h * V})) / (2 * h)
        HV = np.asarray(mg.evaluate(H, values, sizes), dtype=float).reshape(fd.size, V.size) \
            @ V.reshape(-1)
        if a.params[1]:
            # H reads the entries as independent; a symmetric variable's gradient is the
            # symmetric part of that one's, and so is its derivative along V
            HV = ((HV.reshape(X.shape) + HV.reshape(X.shape).T) / 2).reshape(-1)
        assert np.allclose(HV, fd.reshape(-1), rtol=1e-4, atol=1e-6), f"{name}: Hessian"


def test_a_declaration_with_a_facet_missing_is_named():
    """The facet test reads declarations, not a list: a new one without, say, a LaTeX
    spelling fails it by name."""
    op = registry.Operation(name="probe", call="probe", signature="n,n -> 1,1",
                            kernel=lambda params, a: a)
    assert op.latex is None and op.differential is None
    with pytest.raises(mg.MatgradError, match="no adjoint"):
        registry.declare(registry.Operation(name="probe2", call="probe2",
                                            signature="n,n -> n,n",
                                            kernel=lambda params, a: a, linear=True))
    assert "probe2" not in registry.operations()


def test_shape_rule_is_shared_by_constructor_and_parser():
    """A wrong shape is refused alike by the function and by the parser's inference."""
    for name, op in OPERATIONS.items():
        node, args, shapes = application(name)
        letters = [p for pattern in op.signature_for(node.params).args for p in pattern]
        if 1 not in letters and len(set(letters)) == len(letters):
            continue  # any shape will do
        if "broadcasting" in op.facts:  # any shapes that broadcast will do: two that don't
            wrong = [mg.var(a.name, Dim("p_"), Dim("q_")) if i == 0 else
                     mg.var(a.name, Dim("r_"), Dim("s_")) for i, a in enumerate(args)]
        else:
            wrong = [mg.var(a.name, Dim("p_"), Dim("q_")) if a.shape[0] != 1 or
                     a.shape[1] != 1 else a for a in args]
        with pytest.raises(mg.ShapeError):
            registry.build(op, tuple(wrong), node.params)
        text = node.to_text(unicode=False)
        declared = "; ".join(f"{a.name}: {a.shape[0]},{a.shape[1]}" for a in wrong)
        try:
            read = mg.parse(text, shapes=declared)
        except mg.ShapeError:
            continue  # refused alike
        # else the function's name is shared with an operation that takes these shapes
        # (norm(A, 1) of a matrix is the matrix 1-norm): the parser must build that one
        other = registry.get(read.op)
        assert other is not op and other is not None and other.call == op.call, name
        assert read is registry.build(other, tuple(wrong), read.params), name
