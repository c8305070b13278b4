"""Primary matrix functions f(A) (expm, logm, sqrtm) and the block operation that
carries every derivative of each.

For a function f analytic on the spectra involved, and a family named F ("expm"):

    F(A)                       f(A) of a square A (n×n)
    F_block(D₀, C₁, D₁, …, C_k, D_k)
                               the (0, k) block of f of the block-bidiagonal matrix with
                               diagonal D₀ … D_k and superdiagonal C₁ … C_k:
                               (1/2πi) ∮ f(z) R₀ C₁ R₁ ⋯ C_k R_k dz, Rᵢ = (z − Dᵢ)⁻¹
    F_frechet(A, E)            L(A, E) = F_block(A, E, A), the Fréchet derivative:
                               d f(A) = F_frechet(A, dA)
    F_jacobian(A)              K(A) = F_block(Aᵀ ⊗ I, I, I ⊗ A), the n²×n² matrix with
                               vec L(A, E) = K(A) vec E: ∂vec f(A)/∂vec(A)

One operation, F_block, carries every derivative, because the Cauchy integral is closed
under each thing a derivative needs (Higham, "Functions of Matrices", 2008, Theorem 3.6
and eq. 3.16; Najfeld and Havel 1995 for the exponential; Mathias, "A chain rule for
matrix functions and applications", 1996):

* it is linear in each Cᵢ, the others held: d in Cᵢ is F_block(…, dCᵢ, …);
* its derivative in Dⱼ inserts the direction there, dRⱼ = Rⱼ dDⱼ Rⱼ:
  F_block(…, Dⱼ, dDⱼ, Dⱼ, …), so the second Fréchet derivative is
  F_block(A, E, A, F, A) + F_block(A, F, A, E, A);
* its adjoint in Cⱼ is the same operation on the transposes, read in reverse cyclic
  order: G : F_block(D₀, …, dCⱼ, …, D_k) = F_block(Dⱼ₋₁ᵀ, Cⱼ₋₁ᵀ, …, D₀ᵀ, G, D_kᵀ,
  C_kᵀ, …, Dⱼᵀ) : dCⱼ (the trace of the integrand is cyclic, and Rᵢᵀ = (z − Dᵢᵀ)⁻¹);
* its Kronecker form in Cⱼ is again one: vec(Left X Right) = (Rightᵀ ⊗ Left) vec X and
  Rᵀ ⊗ R' = (z − Dᵀ ⊗ I)⁻¹ (z − I ⊗ D')⁻¹, so vec F_block(…, X, …) = F_block(D_kᵀ ⊗ I,
  C_kᵀ ⊗ I, …, Dⱼᵀ ⊗ I, I, I ⊗ D₀, I ⊗ C₁, …, I ⊗ Dⱼ₋₁) vec X — the index reading of
  Jacobians and Hessians.

The value of F_block is f of the assembled block matrix, sliced; the kernels are exact
on such (defective) block-triangular matrices, none goes through eigenvectors. Orders
up to MAX_ORDER: a derivative beyond is refused, saying so. A family is declared with
`declare_family`, which makes the four functions of the language.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping

import numpy as np

from .. import ops, registry
from ..dims import fmt_shape, product
from ..errors import MatgradError, ShapeError
from ..registry import Helper, Keyword, Operation, declare, publish, short
from .base import constructor
from .kron import kron

MAX_ORDER = 8  # the most directions in one block: derivatives up to order 8


@dataclass(frozen=True)
class MatrixFunction:
    """What a family states; the rest is common to every primary matrix function.

    - `name`: the function's name in the language ("logm"); the block operation and the
      two spellings are named after it (logm_block, logm_frechet, logm_jacobian).
    - `value(a, diagonal)`: f(a) in NumPy, NaN outside the domain; `diagonal` lists
      square arrays whose eigenvalues are a's (the diagonal blocks of a block matrix).
    - `code`: per backend, f itself: a namespace function ("linalg.matrix_exp") or a
      `Helper`; `scalar`: the elementwise function a 1×1 argument is (exp, log, sqrt).
    - `derivative(A)`: f′(A) as an expression, for tr L(A, E) = tr(f′(A) E) and
      L(A, c I) = c f′(A); `derivative_text` writes it for the docs.
    - `requires`: per backend, the helpers that f's helper calls (logm's, sqrtm's).
    - `scale`: verify's rounding scale of f itself; `facts` and `convention` as for any
      declaration; `doc`: the docstring of F (with its examples).
    """

    name: str
    title: str
    value: Callable
    code: Mapping
    scalar: str
    derivative: Callable
    derivative_text: str
    scale: Callable
    convention: str
    doc: str
    latex: str = ""
    facts: frozenset = frozenset()
    frechet_form: str = ""  # L(A, E) as an integral, for the steps' note (" = ∫ …")
    requires: Mapping = None  # per backend, the helpers f's own helper calls


@dataclass(frozen=True)
class Family:
    """A declared family: its two operations and the four functions of the language."""

    spec: MatrixFunction
    operation: Operation
    block_operation: Operation
    function: Callable
    block: Callable
    frechet: Callable
    jacobian: Callable
    kronecker_form: Callable  # (node, position) -> K, vec F_block(…, X, …) = K vec X
    beyond: str               # the message that refuses orders beyond MAX_ORDER

    def block_value(self, arrays) -> np.ndarray:
        """F_block: the (0, k) block of f of the block-bidiagonal matrix with diagonal
        arrays[0::2] and superdiagonal arrays[1::2]."""
        diagonal, upper = list(arrays[0::2]), list(arrays[1::2])
        # linear in each Cᵢ: each is scaled to the diagonal's norm and the factor put
        # back after, so that a large Cᵢ neither overflows f of the block matrix (e^M
        # of a 1-norm beyond 700) nor costs the method accuracy (Higham 2008, § 3.4)
        reference = max([norm_1(d) for d in diagonal] + [1.0])
        factor = 1.0
        for i, c in enumerate(upper):
            size = norm_1(c)
            if size > 0 and np.isfinite(size):
                upper[i] = c * (reference / size)
                factor *= size / reference
        sizes = [d.shape[0] for d in diagonal]
        ends = np.cumsum([0] + sizes)
        m = np.zeros((ends[-1], ends[-1]))
        for i, d in enumerate(diagonal):
            m[ends[i]:ends[i + 1], ends[i]:ends[i + 1]] = d
        for i, c in enumerate(upper):
            m[ends[i]:ends[i + 1], ends[i + 1]:ends[i + 2]] = c
        return factor * self.spec.value(m, diagonal)[:sizes[0], ends[-2]:]

    def frechet_value(self, a: np.ndarray, e: np.ndarray) -> np.ndarray:
        """L(A, E): the upper right block of f([[A, E], [0, A]])."""
        return self.block_value([a, e, a])

    def jacobian_value(self, a: np.ndarray) -> np.ndarray:
        """K(A), with vec L(A, E) = K(A) vec E: F_block(Aᵀ ⊗ I, I, I ⊗ A)."""
        n = a.shape[0]
        eye = np.eye(n)
        return self.block_value([np.kron(a.T, eye), np.eye(n * n), np.kron(eye, a)])


# name of a function or block operation -> its family (the simplifier's rules read it)
_FAMILIES: dict[str, Family] = {}


def family(op_name: str) -> Family | None:
    """The family whose function or block operation is named `op_name`, else None."""
    return _FAMILIES.get(op_name)


def names() -> tuple:
    """The names of every family's function and block operation, as declared."""
    return tuple(_FAMILIES)


def is_frechet(e) -> bool:
    """Whether e is F_block(A, E, A) of some family: the Fréchet derivative L(A, E)."""
    f = _FAMILIES.get(e.op)
    return f is not None and e.op == f.block_operation.name and len(e.children) == 3 \
        and e.children[0] is e.children[2]


def _t(x):
    """xᵀ, with (Aᵀ)ᵀ written A (the readings below transpose what may be a transpose)."""
    return x.children[0] if x.op == "transpose" else ops.transpose(x)


def _order(count: int):
    """The order k of a block operation with `count` = 2k + 1 arguments, else None."""
    return (count - 1) // 2 if count % 2 == 1 and count >= 3 else None


def _block_signature(order: int) -> str:
    parts = []
    for i in range(order + 1):
        if i:
            parts.append(f"n{i - 1},n{i}")
        parts.append(f"n{i},n{i}")
    return "; ".join(parts) + f" -> n0,n{order}"


def _helpers(spellings: Mapping) -> tuple:
    return tuple(s for s in spellings.values() if isinstance(s, Helper))


# ---- generated code ------------------------------------------------------------------------

# the block matrix assembled, f applied and the (0, k) block sliced; arguments that are
# numbers in the generated code (1×1 blocks) are made 1×1 arrays first. {f} is the call
# of f itself, on the assembled matrix `m`.
_ASSEMBLE = {
    "numpy": '''def {name}(xp, *blocks):
    """The (0, k) block of {function} of the block-bidiagonal matrix with diagonal
    blocks blocks[0::2] and superdiagonal blocks blocks[1::2]."""
    ref = next((b for b in blocks if getattr(b, "ndim", 0) == 2), None)
    dtype = ref.dtype if ref is not None else xp.float64
    blocks = [b if getattr(b, "ndim", 0) == 2 else
              xp.reshape(xp.asarray(b, dtype=dtype), (1, 1)) for b in blocks]
    diagonal, upper = blocks[0::2], blocks[1::2]
    sizes = [d.shape[0] for d in diagonal]
    rows = []
    for i, d in enumerate(diagonal):
        row = [d if j == i else upper[i] if j == i + 1 else
               xp.zeros((sizes[i], sizes[j]), dtype=dtype) for j in range(len(sizes))]
        rows.append(xp.concat(row, axis=1))
    m = {call}
    return m[:sizes[0], m.shape[1] - sizes[-1]:]
''',
    "jax": '''def {name}(*blocks):
    """The (0, k) block of {function} of the block-bidiagonal matrix with diagonal
    blocks blocks[0::2] and superdiagonal blocks blocks[1::2]."""
    import jax.scipy.linalg
    blocks = [jnp.reshape(jnp.asarray(b), (1, 1)) if jnp.ndim(b) < 2 else b
              for b in blocks]
    dtype = jnp.result_type(*blocks)
    diagonal, upper = blocks[0::2], blocks[1::2]
    sizes = [d.shape[0] for d in diagonal]
    m = jnp.block([[d if j == i else upper[i] if j == i + 1 else
                    jnp.zeros((sizes[i], sizes[j]), dtype=dtype)
                    for j in range(len(sizes))] for i, d in enumerate(diagonal)])
    m = {call}
    return m[:sizes[0], m.shape[1] - sizes[-1]:]
''',
    "torch": '''def {name}(*blocks):
    """The (0, k) block of {function} of the block-bidiagonal matrix with diagonal
    blocks blocks[0::2] and superdiagonal blocks blocks[1::2]."""
    ref = next((b for b in blocks if isinstance(b, torch.Tensor) and b.ndim == 2), None)
    dtype = ref.dtype if ref is not None else torch.float64
    device = ref.device if ref is not None else None
    blocks = [b if isinstance(b, torch.Tensor) and b.ndim == 2 else
              torch.as_tensor(b, dtype=dtype, device=device).reshape(1, 1) for b in blocks]
    diagonal, upper = blocks[0::2], blocks[1::2]
    sizes = [d.shape[0] for d in diagonal]
    rows = [torch.cat([d if j == i else upper[i] if j == i + 1 else
                       torch.zeros((sizes[i], sizes[j]), dtype=dtype, device=device)
                       for j in range(len(sizes))], dim=1) for i, d in enumerate(diagonal)]
    m = {call}
    return m[:sizes[0], m.shape[1] - sizes[-1]:]
''',
}
# the matrix assembled, in each backend's helper above
_ASSEMBLED = {"numpy": "xp.concat(rows, axis=0)", "jax": "m", "torch": "torch.cat(rows, dim=0)"}


def _call_of(spelling, backend: str) -> str:
    """The text that applies f to the assembled matrix inside a block helper."""
    matrix = _ASSEMBLED[backend]
    if isinstance(spelling, Helper):
        return f"{spelling.name}(xp, {matrix})" if backend == "numpy" else \
            f"{spelling.name}({matrix})"
    return f"{'xp' if backend == 'numpy' else backend}.{spelling}({matrix})"


def _all_required(spec: MatrixFunction) -> tuple:
    return tuple(h for helpers in (spec.requires or {}).values() for h in helpers)


def _block_helpers(spec: MatrixFunction) -> dict:
    name = f"{spec.name}_block"
    return {b: Helper(name, source.format(name=name, function=spec.name,
                                          call=_call_of(spec.code[b], b)))
            for b, source in _ASSEMBLE.items()}


def _required(spec: MatrixFunction, backend: str) -> tuple:
    return tuple((spec.requires or {}).get(backend, ()))


def _function_code(spec: MatrixFunction, backend: str):
    spelling = spec.code[backend]

    def code(p, e):
        (x,) = e.children
        for helper in _required(spec, backend):
            p.helper(helper)
        if x.shape == (1, 1):  # a number in the generated code
            return p.call(p.qualified(spec.scalar), p.array_arg(x))
        if isinstance(spelling, Helper):
            return p.call(p.helper(spelling), *p.helper_args(), p.arg(x))
        return p.call(p.qualified(spelling), p.arg(x))
    return code


def _block_code(spec: MatrixFunction, helpers: dict, backend: str):
    def code(p, e):
        for helper in _required(spec, backend):
            p.helper(helper)
        if isinstance(spec.code[backend], Helper):
            p.helper(spec.code[backend])  # the helper the block's helper calls
        text, _ = p.call(p.helper(helpers[backend]), *p.helper_args(),
                         *(p.array_arg(c) for c in e.children))
        if e.shape == (1, 1):  # a number in the generated code
            return f"{text}[0, 0]", p.ATOM
        return text, p.ATOM
    return code


# ---- rounding scales (verify) ----------------------------------------------------------------


def norm_1(a) -> float:
    return float(np.max(np.sum(np.abs(a), axis=0), initial=0.0))


def _block_scale(fam_of: Callable):
    """The rounding scale of F_block: the method's own (its size and the norms involved,
    times its largest entry), each Cᵢ's rounding carried linearly, and each Dᵢ's
    through the next order's block."""
    def scale(node, cv, cs, av, condition):
        fam = fam_of()
        total = sum(v.shape[0] for v in cv[0::2])
        norm = max(norm_1(v) for v in cv)
        biggest = float(np.max(np.abs(av), initial=0.0))
        out = np.full(av.shape, (total + len(cv) * norm + condition(cv[0])) * biggest)
        for i in range(1, len(cv), 2):
            out = out + np.abs(fam.block_value(
                list(cv[:i]) + [np.broadcast_to(cs[i], cv[i].shape)] + list(cv[i + 1:])))
        for i in range(0, len(cv), 2):
            s = float(np.max(np.broadcast_to(cs[i], cv[i].shape), initial=0.0))
            if s > 0:
                out = out + s * (1.0 + norm) * np.abs(fam.block_value(
                    list(cv[:i + 1]) + [np.ones(cv[i].shape), cv[i]] + list(cv[i + 1:])))
        return out
    return scale


# ---- the family ------------------------------------------------------------------------------


def declare_family(spec: MatrixFunction, module: str, *, block_scale=None) -> Family:
    """Declare F and F_block for `spec`, spell F_frechet and F_jacobian, and publish the
    four functions, their doctests run by `module` (the family's own). `block_scale`
    replaces the generic rounding scale of F_block (the exponential has a sharper one)."""
    name, block_name = spec.name, f"{spec.name}_block"
    frechet_name, jacobian_name = f"{name}_frechet", f"{name}_jacobian"
    beyond = (f"derivatives of the {spec.title} beyond order {MAX_ORDER} are not "
              "supported")
    holder: dict = {}

    def block(*args):
        args = tuple(ops.to_expr(a) for a in args)
        order = _order(len(args))
        if order is None or order > MAX_ORDER:
            raise MatgradError(f"{block_name} takes an odd number of arguments, 3 to "
                               f"{2 * MAX_ORDER + 1} (D₀, C₁, D₁, …, C_k, D_k), not "
                               f"{len(args)}")
        return registry.build(holder["block"], args, (order,))

    def differential(node, d):
        (a,) = node.children
        return block(a, d[0], a)
    differential.__doc__ = (f"d {name}(A) = {frechet_name}(A, dA){spec.frechet_form}, the "
                            "Fréchet derivative (Higham, \"Functions of Matrices\", 2008, "
                            "Theorem 3.6)")

    def block_differential(node, d):
        kids = node.children
        out = None
        for i, di in enumerate(d):
            if di is None:
                continue
            if i % 2:
                term = block(*kids[:i], di, *kids[i + 1:])
            else:
                if len(kids) // 2 + 1 > MAX_ORDER:
                    raise MatgradError(beyond)
                term = block(*kids[:i + 1], di, kids[i], *kids[i + 1:])
            out = term if out is None else ops.add(out, term)
        return out
    block_differential.__doc__ = (
        f"d {block_name}(D₀, C₁, …, D_k) = Σᵢ {block_name}(…, dCᵢ, …) + Σⱼ "
        f"{block_name}(…, Dⱼ, dDⱼ, Dⱼ, …): linear in each Cᵢ; in Dⱼ the resolvent "
        "(z − Dⱼ)⁻¹ gives (z − Dⱼ)⁻¹ dDⱼ (z − Dⱼ)⁻¹ (Higham 2008, Theorem 3.6; Najfeld "
        "and Havel 1995)")

    def adjoint(node, g, position):
        """G : F_block(D₀, …, dCⱼ, …, D_k) = F_block(Dⱼ₋₁ᵀ, Cⱼ₋₁ᵀ, …, D₀ᵀ, G, D_kᵀ,
        C_kᵀ, …, Dⱼᵀ) : dCⱼ."""
        ds, cs = node.children[0::2], node.children[1::2]  # cs[i − 1] is Cᵢ
        j, k = (position + 1) // 2, len(ds) - 1
        left = []
        for i in range(j - 1, -1, -1):
            left.append(_t(ds[i]))
            if i >= 1:
                left.append(_t(cs[i - 1]))
        right = []
        for i in range(k, j - 1, -1):
            right.append(_t(ds[i]))
            if i > j:
                right.append(_t(cs[i - 1]))
        return block(*left, g, *right)

    def kronecker_form(node, position):
        """The matrix K with vec F_block(…, X, …) = K vec X for X at `position` (a Cⱼ):
        F_block(D_kᵀ ⊗ I, C_kᵀ ⊗ I, …, Dⱼᵀ ⊗ I, I, I ⊗ D₀, I ⊗ C₁, …, I ⊗ Dⱼ₋₁), the
        identities of sizes n₀ (on the left part) and nⱼ (on the right)."""
        ds, cs = node.children[0::2], node.children[1::2]
        j, k = (position + 1) // 2, len(ds) - 1
        first, here = ops.eye(ds[0].shape[0]), ops.eye(ds[j].shape[0])
        seq = []
        for i in range(k, j - 1, -1):
            seq.append(kron(_t(ds[i]), first))
            if i > j:
                seq.append(kron(_t(cs[i - 1]), first))
        seq.append(ops.eye(product(ds[j].shape[0], ds[0].shape[0])))
        for i in range(j):
            seq.append(kron(here, ds[i]))
            if i < j - 1:
                seq.append(kron(here, cs[i]))
        return block(*seq)

    def index(node, lin, r, c, t, position):
        """F_block(…, X, …)_rc = Σ K_{r+n₀c, a+pb} X_ab, K the Kronecker form."""
        k = kronecker_form(node, position)
        rows, cols = node.shape
        x = node.children[position]
        fresh = []
        if rows != 1 and cols != 1:
            row = t.axis_index(product(rows, cols))
            r0, c0, pair = t.split(row, rows, cols)
            pair = [f.renamed({r0: r, c0: c}) for f in pair]
            fresh.append(row)
        else:
            row, pair = (r if rows != 1 else c), []
        size = product(*x.shape)
        col = t.axis_index(size) if size != 1 else None
        i, j, col_pair = t.split(col, *x.shape)
        terms = t.multiply([t.Term(1, (t.Factor(k, row, col), *pair, *col_pair))],
                           lin(x, i, j))
        return t.sum_over(terms, fresh + [col] + [v for v in (i, j) if v not in (col, None)])

    def jacobian_of(a):
        n = a.shape[0]
        return block(kron(_t(a), ops.eye(n)), ops.eye(product(n, n)), kron(ops.eye(n), a))

    def jacobian_argument(e):
        """A where e is F_block(Aᵀ ⊗ I, I, I ⊗ A), the Kronecker form K(A), else None."""
        kids = e.children
        if len(kids) != 3 or kids[2].op != "kron" or kids[2].children[0].op != "eye":
            return None
        a = kids[2].children[1]
        return a if kids[0] is jacobian_of(a).children[0] and kids[1].op == "eye" else None

    def block_text(name_of):
        def text(p, e):
            kids = e.children
            if len(kids) == 3 and kids[0] is kids[2]:  # the Fréchet derivative
                return name_of(p, frechet_name, kids[:2])
            a = jacobian_argument(e)
            if a is not None:
                return name_of(p, jacobian_name, (a,))
            return name_of(p, block_name, kids)
        return text

    def call_latex(p, call, kids):
        inner = ", ".join(p.visit(k)[0] for k in kids)
        return (r"\operatorname{" + call.replace("_", r"\_") + r"}\left(" + inner
                + r"\right)", p.ATOM)

    block_helpers = _block_helpers(spec)
    operation = declare(Operation(
        name=name, call=name, signature="n,n -> n,n",
        kernel=lambda params, a: spec.value(a, [a]), differential=differential,
        text=lambda p, e: p.call(name, e.children[0]),
        latex=spec.latex or r"\operatorname{" + name + "}",
        code={b: _function_code(spec, b) for b in spec.code},
        helpers=_helpers(spec.code) + _all_required(spec),
        scale=spec.scale, facts=spec.facts, convention=spec.convention,
    ))
    block_operation = declare(Operation(
        name=block_name, call=block_name, signature=_block_signature,
        keywords=(Keyword("order", tuple(range(1, MAX_ORDER + 1)), 1, counted=_order),),
        kernel=lambda params, *arrays: holder["family"].block_value(arrays),
        differential=block_differential,
        linear_in=lambda node: range(1, len(node.children), 2), adjoint=adjoint,
        identity=(block_name, f"G : {frechet_name}(A, dE) = {frechet_name}(Aᵀ, G) : dE; of "
                  f"any order, G : {block_name}(D₀, …, dCⱼ, …, D_k) = {block_name}(Dⱼ₋₁ᵀ, "
                  "…, D₀ᵀ, G, D_kᵀ, …, Dⱼᵀ) : dCⱼ"),
        index=index,
        text=block_text(lambda p, call, kids: p.call(call, *kids)),
        latex=block_text(call_latex),
        code={b: _block_code(spec, block_helpers, b) for b in block_helpers},
        helpers=_helpers(block_helpers) + _helpers(spec.code) + _all_required(spec),
        scale=block_scale or _block_scale(lambda: holder["family"]), unsupported=beyond,
        convention=(f"linear in each Cᵢ; of every order up to {MAX_ORDER} directions "
                    f"(derivatives of {name} up to order {MAX_ORDER}); {frechet_name}(A, "
                    f"E) is {block_name}(A, E, A); the Dᵢ in the domain of {name}"),
    ))
    holder["block"] = block_operation

    function = constructor(operation, spec.doc, module)
    block.__name__ = block.__qualname__ = block_name
    block.__module__ = module
    block.__doc__ = f"""The (0, k) block of {spec.name} of the block-bidiagonal matrix with
    diagonal blocks D₀, …, D_k (square) and superdiagonal blocks C₁, …, C_k (Cᵢ is
    nᵢ₋₁×nᵢ). It carries every derivative of {name}: the Fréchet derivative is
    {block_name}(A, E, A), the second {block_name}(A, E, A, F, A) +
    {block_name}(A, F, A, E, A).

    >>> import matgrad as mg
    >>> m, n = mg.dims("m n")
    >>> P, Q, C = mg.matrix("P", m, m), mg.matrix("Q", n, n), mg.matrix("C", m, n)
    >>> mg.{block_name}(P, C, Q).shape
    (m, n)
    >>> mg.{block_name}(P, C)
    Traceback (most recent call last):
        ...
    matgrad.errors.MatgradError: {block_name} takes an odd number of arguments, 3 to {2 * MAX_ORDER + 1} (D₀, C₁, D₁, …, C_k, D_k), not 2
    """
    publish(block)

    registry.spell(frechet_name, "n,n; n,n -> n,n")
    registry.spell(jacobian_name, "n,n -> n*n,n*n")

    def frechet(a, e):
        a, e = ops.to_expr(a), ops.to_expr(e)
        if a.shape[0] != a.shape[1]:
            raise ShapeError(f"{frechet_name}({short(a)}, {short(e)}): {short(a)} is "
                             f"{fmt_shape(a.shape)}, not square")
        if e.shape != a.shape:
            raise ShapeError(f"{frechet_name}({short(a)}, {short(e)}): {short(e)} is "
                             f"{fmt_shape(e.shape)}, not {fmt_shape(a.shape)} as {short(a)}")
        return block(a, e, a)
    frechet.__name__ = frechet.__qualname__ = frechet_name
    frechet.__module__ = module
    frechet.__doc__ = f"""The Fréchet derivative of {name} at A in the direction E (both
    n×n): L(A, E), so that d {name}(A) = {frechet_name}(A, dA). It is
    {block_name}(A, E, A); linear in E, and {spec.derivative_text} E where E commutes
    with A.

    >>> import matgrad as mg
    >>> (n,) = mg.dims("n")
    >>> A, E = mg.matrix("A", n, n), mg.matrix("E", n, n)
    >>> mg.{frechet_name}(A, E).shape
    (n, n)
    """
    publish(frechet)

    def jacobian(a):
        a = ops.to_expr(a)
        if a.shape[0] != a.shape[1]:
            raise ShapeError(f"{jacobian_name}({short(a)}): {short(a)} is "
                             f"{fmt_shape(a.shape)}, not square")
        return jacobian_of(a)
    jacobian.__name__ = jacobian.__qualname__ = jacobian_name
    jacobian.__module__ = module
    jacobian.__doc__ = f"""The Jacobian of {name} in vec form: the n²×n² matrix
    K(A) = ∂vec {name}(A)/∂vec(A), so that vec({frechet_name}(A, E)) = K(A) vec(E)
    (columns stacked); it is {block_name}(Aᵀ ⊗ I, I, I ⊗ A).

    >>> import matgrad as mg
    >>> (n,) = mg.dims("n")
    >>> mg.{jacobian_name}(mg.matrix("A", n, n)).shape
    (n·n, n·n)
    """
    publish(jacobian)

    fam = Family(spec, operation, block_operation, function, block, frechet, jacobian,
                 kronecker_form, beyond)
    holder["family"] = fam
    _FAMILIES[name] = _FAMILIES[block_name] = fam
    return fam
