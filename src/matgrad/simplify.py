"""Simplification: a catalogue of small named rewrites, run bottom-up to a fixed point.

Every node is rebuilt from already-simplified children, then the rewrites for its
operation run until none applies. Two normal forms do most of the work:

* products (⊙, /, integer powers, scalar factors): a numeric coefficient, the dimension
  factors, the other scalar factors, then the Hadamard factors, each with one exponent
  (so 2 ⊙ (1/m) ⊙ x becomes 2/m · x, and x ⊙ x becomes x²);
* sums: terms with numeric coefficients, equal terms collected (x + x = 2x, x − x = 0).

Options are arguments, never shared flags. Results are deterministic: factors and terms
keep their order of first appearance.
"""
from __future__ import annotations

from fractions import Fraction

from . import ops
from .dims import SCALAR
from .expr import Expr, make, walk

_MAX_PASSES = 64


def is_const(e: Expr, value=None) -> bool:
    return e.op == "const" and (value is None or e.params[0] == value)


def zero(shape) -> Expr:
    return ops.const(0) if shape == SCALAR else ops.zeros(*shape)


def one(shape) -> Expr:
    return ops.const(1) if shape == SCALAR else ops.ones(*shape)


def is_zero(e: Expr) -> bool:
    return e.op == "zeros" or is_const(e, 0) or (e.op == "broadcast" and is_zero(e.children[0]))


def _is_int(p) -> bool:
    return isinstance(p, Fraction) and p.denominator == 1


class _Product:
    """coef · Π scalar atoms^k · Π matrix atoms^k (Hadamard), in first-appearance order."""

    __slots__ = ("coef", "scalars", "matrices", "zero")

    def __init__(self):
        self.coef = Fraction(1)
        self.scalars: dict = {}
        self.matrices: dict = {}
        self.zero = False

    def add_atom(self, atom: Expr, k) -> None:
        bucket = self.scalars if atom.shape == SCALAR else self.matrices
        bucket[atom] = bucket.get(atom, 0) + k
        if bucket[atom] == 0:
            del bucket[atom]


def _flatten_product(e: Expr, k, acc: _Product) -> None:
    """Collect e^k into acc. Composite structure is opened only for integer k, where
    (a ⊙ b)^k = a^k ⊙ b^k holds for every real a, b."""
    op = e.op
    if op == "const":
        c = e.params[0]
        if c == 0:
            if k > 0:
                acc.zero = True
                return
            acc.add_atom(e, k)
            return
        if _is_int(k) and abs(k) <= 64:  # larger powers stay symbolic, never blow up
            acc.coef = acc.coef * (c ** int(k))
            if isinstance(acc.coef, float) and acc.coef.is_integer() and abs(acc.coef) < 2**53:
                acc.coef = Fraction(int(acc.coef))
            return
        acc.add_atom(e, k)
        return
    if op in ("ones",):
        return
    if op == "zeros":
        if k > 0:
            acc.zero = True
        else:
            acc.add_atom(e, k)
        return
    if not _is_int(k):
        acc.add_atom(e, k)
        return
    if op == "neg":
        if k % 2:
            acc.coef = -acc.coef
        _flatten_product(e.children[0], k, acc)
    elif op == "mul":
        _flatten_product(e.children[0], k, acc)
        _flatten_product(e.children[1], k, acc)
    elif op == "div":
        _flatten_product(e.children[0], k, acc)
        _flatten_product(e.children[1], -k, acc)
    elif op == "pow":
        _flatten_product(e.children[0], k * e.params[0], acc)
    elif op == "broadcast" and e.children[0].shape == SCALAR:
        _flatten_product(e.children[0], k, acc)
    else:
        acc.add_atom(e, k)


def _chain(factors: list, shape) -> Expr | None:
    """Left-nested Hadamard product of (atom, k) with k > 0, or None if empty."""
    out = None
    for atom, k in factors:
        f = atom if k == 1 else ops.power(atom, k)
        if f.shape != shape:
            f = ops.broadcast(f, shape)
        out = f if out is None else ops.mul(out, f)
    return out


def _ratio(num: list, den: list, shape) -> Expr | None:
    top = _chain(num, shape)
    bottom = _chain([(a, -k) for a, k in den], shape)
    if bottom is None:
        return top
    return ops.div(top if top is not None else one(shape), bottom)


def _rebuild_product(p: _Product, shape) -> Expr:
    if p.zero or p.coef == 0:
        return zero(shape)
    coef = p.coef
    negative = coef < 0
    coef = -coef if negative else coef
    dims_num = [(a, k) for a, k in p.scalars.items() if a.op == "dim" and k > 0]
    dims_den = [(a, k) for a, k in p.scalars.items() if a.op == "dim" and k < 0]
    if isinstance(coef, Fraction):
        if coef.numerator != 1:
            dims_num.insert(0, (ops.const(coef.numerator), 1))
        if coef.denominator != 1:
            dims_den.insert(0, (ops.const(coef.denominator), -1))
    elif coef != 1:
        dims_num.insert(0, (ops.const(coef), 1))
    if dims_den and not dims_num:
        dims_num = [(ops.const(1), 1)]
    parts = [
        _ratio(dims_num, dims_den, SCALAR),
        _ratio([(a, k) for a, k in p.scalars.items() if a.op != "dim" and k > 0],
               [(a, k) for a, k in p.scalars.items() if a.op != "dim" and k < 0], SCALAR),
        _ratio([(a, k) for a, k in p.matrices.items() if k > 0],
               [(a, k) for a, k in p.matrices.items() if k < 0], shape),
    ]
    out = None
    for part in parts:
        if part is None:
            continue
        if part.shape != shape:
            part = ops.broadcast(part, shape)
        out = part if out is None else ops.mul(out, part)
    if out is None:
        out = one(shape)
    return ops.neg(out) if negative else out


class Simplifier:
    """Simplify expressions, sharing work across calls on the same instance.

    >>> import matgrad as mg
    >>> x = mg.vector("x", 3)
    >>> Simplifier()((x + x).T.T)
    2 · x
    """

    def __init__(self):
        self.memo: dict = {}
        self._products: dict = {}

    def __call__(self, e: Expr) -> Expr:
        memo = self.memo
        if e in memo:
            return memo[e]
        for node in walk(e):
            if node in memo:
                continue
            kids = tuple(memo[c] for c in node.children)
            rebuilt = node if kids == node.children else make(node.op, kids, node.params,
                                                                node.shape)
            out = self._fix(rebuilt)
            memo[node] = out
            memo[out] = out
        return memo[e]

    def _fix(self, e: Expr) -> Expr:
        for _ in range(_MAX_PASSES):
            if e in self.memo and self.memo[e] is e:
                return e
            rewrite = REWRITES.get(e.op)
            new = rewrite(self, e) if rewrite else e
            if new is e:
                return e
            e = self(new) if new not in self.memo else self.memo[new]
        return e

    # ---- normal forms -----------------------------------------------------------------
    def product(self, e: Expr) -> _Product:
        p = self._products.get(e)
        if p is None:
            p = _Product()
            _flatten_product(e, Fraction(1), p)
            self._products[e] = p
        return p

    def scaled(self, c, rest: Expr) -> Expr:
        """c · rest in product normal form, for a coefficient-free normal `rest`."""
        base = self.product(rest)
        p = _Product()
        p.coef, p.scalars, p.matrices = base.coef * c, base.scalars, base.matrices
        return _rebuild_product(p, rest.shape)

    def split_coefficient(self, e: Expr):
        """(c, rest) with e = c · rest and c numeric; rest None for a pure constant."""
        if e.op == "const":
            return e.params[0], None
        if e.op == "broadcast" and e.children[0].op == "const":
            return e.children[0].params[0], None
        if e.op == "ones":
            return Fraction(1), None
        if e.op not in ("mul", "div", "pow", "neg"):
            return Fraction(1), e
        p = self.product(e)
        if p.zero or p.coef == 0:
            return Fraction(0), None
        if not p.scalars and not p.matrices:
            return p.coef, None
        unit = _Product()
        unit.scalars, unit.matrices = p.scalars, p.matrices
        return p.coef, _rebuild_product(unit, e.shape)


# ---- the rewrites, one function per operation -----------------------------------------


def _product_form(s: Simplifier, e: Expr) -> Expr:
    """Products, quotients and powers to the product normal form (see module doc)."""
    return _rebuild_product(s.product(e), e.shape)


def _pow(s: Simplifier, e: Expr) -> Expr:
    """x¹ = x; x⁰ = 1; (x^a)^b = x^(ab) for integer b; H(x)^p = H(x) for p > 0 (the
    Heaviside step is 0 or 1; Hessians through relu meet H(z) ⊙ H(z)); otherwise the
    product form."""
    (x,), (p,) = e.children, e.params
    if p == 1:
        return x
    if p == 0:
        return one(e.shape)
    if p > 0 and x.op == "fn" and x.params[0] == "heaviside":
        return x
    if x.op == "pow" and _is_int(p):
        return ops.power(x.children[0], x.params[0] * p)
    return _product_form(s, e)


def _sum_form(s: Simplifier, e: Expr) -> Expr:
    """Sums: flatten, collect equal terms (a·x + b·x = (a+b)·x), fold constants."""
    terms: dict = {}  # rest -> coefficient (None key: the constant term)
    order: list = []
    stack = [(e, 1)]
    while stack:
        node, sign = stack.pop()
        if node.op == "add":
            stack.append((node.children[1], sign))
            stack.append((node.children[0], sign))
            continue
        if node.op == "neg":
            stack.append((node.children[0], -sign))
            continue
        if is_zero(node):
            continue
        c, rest = s.split_coefficient(node)
        if c == 0:
            continue
        if rest not in terms:
            terms[rest] = 0
            order.append(rest)
        terms[rest] = terms[rest] + sign * c
    order = _factor_common(s, order, terms)
    out = None
    for rest in order:
        c = terms[rest]
        if c == 0:
            continue
        if rest is None:
            term = ops.const(c) if e.shape == SCALAR else ops.broadcast(ops.const(c), e.shape)
            if c == 1 and e.shape != SCALAR:
                term = ops.ones(*e.shape)
        else:
            term = s.scaled(c, rest) if c != 1 else rest
        if rest is not None and term.shape != e.shape:
            term = ops.broadcast(term, e.shape)
        out = term if out is None else ops.add(out, term)
    return zero(e.shape) if out is None else out


def _factor_common(s: Simplifier, order: list, terms: dict) -> list:
    """Σ cᵢ Aᵢ B = (Σ cᵢ Aᵢ) B, then A Σ cᵢ Bᵢ likewise: so Aᵀx + Ax becomes (Aᵀ + A) x.
    Updates `terms` in place and returns the new order of terms."""
    for side in (1, 0):  # the shared right factor first, then the shared left factor
        groups: dict = {}
        for rest in order:
            if rest is not None and terms[rest] != 0 and rest.op == "matmul":
                groups.setdefault(rest.children[side], []).append(rest)
        merged: dict = {}
        for shared, members in groups.items():
            if len(members) < 2:
                continue
            inner = None
            for r in members:
                part = r.children[1 - side]
                part = s.scaled(terms[r], part) if terms[r] != 1 else part
                inner = part if inner is None else ops.add(inner, part)
            inner = s(inner)
            combined = s(ops.matmul(inner, shared) if side == 1 else ops.matmul(shared, inner))
            merged[members[0]] = combined
            for r in members[1:]:
                merged[r] = None
        if not merged:
            continue
        new_order = []
        for rest in order:
            if rest not in merged:
                new_order.append(rest)
                continue
            combined = merged[rest]
            del terms[rest]
            if combined is None or is_zero(combined):
                continue
            c, r = s.split_coefficient(combined)
            if r is None:
                r = combined
                c = 1
            if r in terms:
                terms[r] = terms[r] + c
            else:
                terms[r] = c
                new_order.append(r)
        order = new_order
    return order


def _neg(s: Simplifier, e: Expr) -> Expr:
    """−(−x) = x; −c folds; −(c·x) = (−c)·x."""
    (x,) = e.children
    if x.op == "neg":
        return x.children[0]
    if is_const(x):
        return ops.const(-x.params[0])
    if is_zero(x):
        return x
    return _sum_form(s, e)


def _transpose(s: Simplifier, e: Expr) -> Expr:
    """Push transposes to the leaves: (Aᵀ)ᵀ = A, (AB)ᵀ = BᵀAᵀ, (A + B)ᵀ = Aᵀ + Bᵀ,
    (A ⊙ B)ᵀ = Aᵀ ⊙ Bᵀ, f(A)ᵀ = f(Aᵀ), (A⁻¹)ᵀ = (Aᵀ)⁻¹; scalars, symmetric variables,
    I and diag(v) are their own transposes."""
    (x,) = e.children
    op = x.op
    if x.shape == SCALAR:
        return x
    if op == "transpose":
        return x.children[0]
    if op == "var" and x.params[1]:
        return x
    if op in ("eye", "diagmat"):
        return x
    if op == "zeros":
        return ops.zeros(*e.shape)
    if op == "ones":
        return ops.ones(*e.shape)
    if op == "matmul":
        a, b = x.children
        return ops.matmul(ops.transpose(b), ops.transpose(a))
    if op in ("add", "mul", "div"):
        a, b = x.children
        return make(op, (ops.transpose(a), ops.transpose(b)), (), e.shape)
    if op in ("neg", "pow", "fn", "inv"):
        return make(op, (ops.transpose(x.children[0]),), x.params, e.shape)
    if op == "broadcast":
        return ops.broadcast(ops.transpose(x.children[0]), e.shape)
    return e


def _scaled_identity(e: Expr):
    """c for e = c · I (c a scalar expression), else None."""
    if e.op == "eye":
        return ops.const(1)
    if e.op == "mul":
        a, b = e.children
        if b.op == "eye" and a.op == "broadcast" and a.children[0].shape == SCALAR:
            return a.children[0]
        if a.op == "eye" and b.op == "broadcast" and b.children[0].shape == SCALAR:
            return b.children[0]
    return None


def _numeric_factor(s: Simplifier, e: Expr):
    """(c, rest) when e = c · rest for a number c ≠ 1 and no other scalar factor.

    Only pure numbers move: a factor such as 2/m stays with its matrix, so that a named
    intermediate g = 2/m · h stays a subexpression of g wᵀ and Xᵀ g."""
    if e.op not in ("mul", "div"):
        return None
    p = s.product(e)
    if p.zero or p.scalars or p.coef == 1 or not (p.matrices or e.shape == SCALAR):
        return None
    c, rest = s.split_coefficient(e)
    return None if rest is None else (c, rest)


def _matmul(s: Simplifier, e: Expr) -> Expr:
    """0 B = 0; I B = B; (cI) B = c B; (−A) B = −(AB); (2A) B = 2 (AB);
    1ᵀ B = sum(B, axis 0); A 1 = sum(A, axis 1); diag(h) B = h ⊙ B; A diag(h) = A ⊙ hᵀ;
    a 1×1 factor is a scalar."""
    a, b = e.children
    if is_zero(a) or is_zero(b):
        return zero(e.shape)
    for i, side in enumerate((a, b)):
        pulled = _numeric_factor(s, side) if side.shape != SCALAR else None
        if pulled is not None:
            c, rest = pulled
            inner = ops.matmul(rest, b) if i == 0 else ops.matmul(a, rest)
            return ops.mul(ops.const(c), inner)
    for this, other in ((a, b), (b, a)):
        c = _scaled_identity(this)
        if c is not None:
            return other if is_const(c, 1) else ops.mul(c, other)
    if a.op == "neg":
        return ops.neg(ops.matmul(a.children[0], b))
    if b.op == "neg":
        return ops.neg(ops.matmul(a, b.children[0]))
    if a.shape == SCALAR or b.shape == SCALAR:
        return ops.mul(a, b)
    if a.op == "ones" and a.shape[0] == 1:
        return ops.sum(b, axis=0)
    if b.op == "ones" and b.shape[1] == 1:
        return ops.sum(a, axis=1)
    if a.op == "diagmat":
        return ops.mul(ops.broadcast(a.children[0], b.shape), b)
    if b.op == "diagmat":
        return ops.mul(a, ops.broadcast(ops.transpose(b.children[0]), a.shape))
    return e


def _sum(s: Simplifier, e: Expr) -> Expr:
    """sum of a scalar is itself; sum(0) = 0; sum(2A) = 2 sum(A); sum(Aᵀ) = sum(A);
    sum(−A) = −sum(A);
    sum over a broadcast axis is a multiplication by its length."""
    (x,), (axis,) = e.children, e.params
    if is_zero(x):
        return zero(e.shape)
    if x.shape == e.shape:
        return x
    pulled = _numeric_factor(s, x)
    if pulled is not None:
        return ops.mul(ops.const(pulled[0]), ops.sum(pulled[1], axis))
    if axis is not None and e.shape == SCALAR:
        return ops.sum(x)
    if x.op == "neg":
        return ops.neg(ops.sum(x.children[0], axis))
    if axis is None and x.op == "transpose":
        return ops.sum(x.children[0])
    if x.op == "ones":
        return ops.mul(_count(x.shape, axis), ops.ones(*e.shape)) if e.shape != SCALAR \
            else _count(x.shape, axis)
    if x.op == "broadcast":
        y = x.children[0]
        if axis is None:
            return ops.mul(_count(x.shape, None, y.shape), ops.sum(y))
        # summing along a stretched axis multiplies by its length
        if y.shape[axis] == 1 and y.shape == e.shape:
            return ops.mul(ops.dim_value(x.shape[axis]), y)
    return e


def _count(shape, axis, inner=(1, 1)):
    """The number of entries summed: over `shape`, not counting the `inner` shape."""
    r = shape[0] if inner[0] == 1 else 1
    c = shape[1] if inner[1] == 1 else 1
    if axis == 0:
        c = 1
    elif axis == 1:
        r = 1
    out = ops.const(1)
    for d in (r, c):
        if d != 1:
            out = ops.mul(out, ops.dim_value(d))
    return out


def _broadcast(s: Simplifier, e: Expr) -> Expr:
    """Broadcasting 0 gives 0, 1 gives ones, and broadcasts of broadcasts collapse."""
    (x,) = e.children
    if is_zero(x):
        return ops.zeros(*e.shape)
    if is_const(x, 1) or x.op == "ones":
        return ops.ones(*e.shape)
    if x.op == "broadcast":
        return ops.broadcast(x.children[0], e.shape)
    if x.op == "neg":
        return ops.neg(ops.broadcast(x.children[0], e.shape))
    return e


def _trace(s: Simplifier, e: Expr) -> Expr:
    """tr(a) = a for a scalar; tr(Aᵀ) = tr(A); tr(2A) = 2 tr(A); tr(cI) = n c;
    tr(−A) = −tr(A);
    tr(a bᵀ) = bᵀ a; tr(diag(v)) = sum(v)."""
    (x,) = e.children
    if x.shape == SCALAR:
        return x
    if is_zero(x):
        return ops.const(0)
    if x.op == "transpose":
        return ops.trace(x.children[0])
    pulled = _numeric_factor(s, x)
    if pulled is not None:
        return ops.mul(ops.const(pulled[0]), ops.trace(pulled[1]))
    c = _scaled_identity(x)
    if c is not None:
        return ops.mul(ops.dim_value(x.shape[0]), c)
    if x.op == "neg":
        return ops.neg(ops.trace(x.children[0]))
    if x.op == "diagmat":
        return ops.sum(x.children[0])
    if x.op == "matmul":
        a, b = x.children
        if a.shape[1] == 1:
            return ops.matmul(b, a)
    return e


def _inv(s: Simplifier, e: Expr) -> Expr:
    """(A⁻¹)⁻¹ = A; I⁻¹ = I; a 1×1 inverse is a reciprocal."""
    (x,) = e.children
    if x.op == "inv":
        return x.children[0]
    if x.op == "eye":
        return x
    if x.shape == SCALAR:
        return ops.div(1, x)
    return e


def _det(s: Simplifier, e: Expr) -> Expr:
    """det Aᵀ = det A; det I = 1; det of 1×1 a is a."""
    (x,) = e.children
    if x.op == "transpose":
        return make(e.op, (x.children[0],), (), e.shape)
    if x.op == "eye":
        return ops.const(1) if e.op == "det" else ops.const(0)
    if x.shape == SCALAR and e.op == "det":
        return x
    return e


def _diagvec(s: Simplifier, e: Expr) -> Expr:
    """diag(diag(v)) = v; diag(Aᵀ) = diag(A); diag(I) = 1."""
    (x,) = e.children
    if x.op == "diagmat":
        return x.children[0]
    if x.op == "transpose":
        return make("diagvec", (x.children[0],), (), e.shape)
    if x.op == "eye":
        return ops.ones(e.shape[0], 1)
    if is_zero(x):
        return ops.zeros(*e.shape)
    return e


def _diagmat(s: Simplifier, e: Expr) -> Expr:
    """diag(1) = I; diag(0) = 0."""
    (x,) = e.children
    if x.op == "ones":
        return ops.eye(e.shape[0])
    if is_zero(x):
        return ops.zeros(*e.shape)
    return e


REWRITES = {
    "add": _sum_form, "neg": _neg, "mul": _product_form, "div": _product_form,
    "pow": _pow, "transpose": _transpose, "matmul": _matmul, "sum": _sum,
    "broadcast": _broadcast, "trace": _trace, "inv": _inv, "det": _det, "logdet": _det,
    "diagvec": _diagvec, "diagmat": _diagmat,
}


def simplify(e: Expr) -> Expr:
    """The canonical compact form of an expression (same value everywhere it is defined).

    >>> import matgrad as mg
    >>> A = mg.matrix("A", 2, 3)
    >>> simplify((A.T).T - A)
    0₂ₓ₃
    """
    return Simplifier()(e)
