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

import weakref
import zlib
from fractions import Fraction

from . import ops
from .dims import SCALAR
from .elementwise import table
from .expr import Expr, make, matmul_factors, walk
from .structure import SELF_TRANSPOSED
from .structure import of as structure_of

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


_RANK = {"fn": 0, "softmax": 0, "logsumexp": 0, "var": 1, "transpose": 1}
_FINGERPRINTS: "weakref.WeakKeyDictionary[Expr, int]" = weakref.WeakKeyDictionary()


def fingerprint(e: Expr) -> int:
    """A structural hash that is the same in every run (unlike hash(), which varies with
    the interpreter's string-hash seed), so factor order is reproducible."""
    memo = _FINGERPRINTS
    hit = memo.get(e)
    if hit is not None:
        return hit
    for node in walk(e, skip=memo):
        h = zlib.crc32(f"{node.op}|{node.params!r}|{node.shape!r}".encode())
        for c in node.children:
            h = (h * 1000003 ^ memo[c]) & 0xFFFFFFFFFFFF
        memo[node] = h
    return memo[e]


def _factor_key(atom: Expr):
    """Hadamard factors commute; a fixed order (functions first) makes a ⊙ b and b ⊙ a
    one normal form."""
    return (_RANK.get(atom.op, 2), fingerprint(atom))


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
        if k > 0 and atom.op == "fn" and table()[atom.params[0]].idempotent:
            bucket[atom] = 1  # H(x)ᵖ = H(x): the step is 0 or 1
        if bucket[atom] == 0:
            del bucket[atom]


def _flatten_product(e: Expr, k, acc: _Product, known: dict | None = None) -> None:
    """Collect e^k into acc. Composite structure is opened only for integer k, where
    (a ⊙ b)^k = a^k ⊙ b^k holds for every real a, b. Products already flattened (in
    `known`) are merged whole, so a chain of ever longer products costs its length once
    per link, not its length squared."""
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
            acc.coef = ops._number(acc.coef * ops.number_power(c, int(k)))
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
    if known is not None and op in ("neg", "mul", "div", "pow") and abs(k) <= 64:
        done = known.get(e)
        if done is not None and done is not acc and not (done.zero and k < 0):
            _merge_power(done, int(k), acc)
            return
    if op == "neg":
        if k % 2:
            acc.coef = -acc.coef
        _flatten_product(e.children[0], k, acc, known)
    elif op == "mul":
        _flatten_product(e.children[0], k, acc, known)
        _flatten_product(e.children[1], k, acc, known)
    elif op == "div":
        _flatten_product(e.children[0], k, acc, known)
        _flatten_product(e.children[1], -k, acc, known)
    elif op == "pow":
        _flatten_product(e.children[0], k * e.params[0], acc, known)
    elif op == "broadcast" and e.children[0].shape == SCALAR:
        _flatten_product(e.children[0], k, acc, known)
    else:
        acc.add_atom(e, k)


def _merge_power(p: _Product, k: int, acc: _Product) -> None:
    """acc ⊙= p^k for an integer k."""
    if p.zero:
        acc.zero = True
        return
    acc.coef = ops._number(acc.coef * ops.number_power(p.coef, k))
    for atom, j in p.scalars.items():
        acc.add_atom(atom, j * k)
    for atom, j in p.matrices.items():
        acc.add_atom(atom, j * k)


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


def _sorted_product(p: _Product) -> _Product:
    q = _Product()
    q.coef, q.scalars = p.coef, p.scalars
    q.matrices = dict(sorted(p.matrices.items(), key=lambda item: _factor_key(item[0])))
    return q


def _rebuild_product(p: _Product, shape) -> Expr:
    if p.zero or p.coef == 0:
        return zero(shape)
    if len(p.matrices) > 1:
        p = _sorted_product(p)
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
        self._expanding = False

    def __call__(self, e: Expr) -> Expr:
        memo = self.memo
        if e in memo:
            return memo[e]
        # memoized subtrees are not entered: re-simplifying a new node built on
        # simplified parts costs only the new part
        for node in walk(e, skip=memo):
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

    def settle(self, e: Expr) -> None:
        """Record the new nodes of a rebuilt product as simplified: they are its normal
        form already, and re-simplifying every partial product of a chain of k factors
        would cost k² at every link (cubic for tanh∘…∘tanh)."""
        for node in walk(e, skip=self.memo):
            self.memo[node] = node

    # ---- normal forms -----------------------------------------------------------------
    def product(self, e: Expr) -> _Product:
        p = self._products.get(e)
        if p is None:
            p = _Product()
            _flatten_product(e, Fraction(1), p, self._products)
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
    """Products, quotients and powers to the product normal form (see module doc); a
    product over a sum is distributed when a factor cancels against a term:
    σ ⊙ (y / σ − 1) = y − σ."""
    distributed = _distribute_cancelling(s, e)
    if distributed is not None:
        return distributed
    out = _rebuild_product(s.product(e), e.shape)
    s.settle(out)
    return out


_DISTRIBUTE_MAX_FACTORS = 12


def _distribute_cancelling(s: Simplifier, e: Expr):
    p = s.product(e)
    # Only short products gain from distributing; trying every sum factor of a long one
    # costs its length squared at every level of a chain (the Jacobian of tanh∘…∘tanh).
    if len(p.scalars) + len(p.matrices) > _DISTRIBUTE_MAX_FACTORS:
        return None
    for total, others in _sum_factors(s, e):
        mine = {**others.scalars, **others.matrices}
        order, terms, rep = _sum_terms(s, total)
        if any(_cancels_with(s, rep[key], mine) for key in order):
            break
    else:
        return None
    other = _rebuild_product(others, e.shape)
    out = None
    for key in order:
        part = rep[key] if rep[key] is not None else one(e.shape)
        piece = ops.mul(ops.mul(ops.const(terms[key]), other), part)
        out = piece if out is None else ops.add(out, piece)
    return out


def _pow(s: Simplifier, e: Expr) -> Expr:
    """x¹ = x; x⁰ = 1; (x^a)^b = x^(ab) for integer b; otherwise the product form (where
    H(x)^p = H(x) for p > 0: the Heaviside step is 0 or 1, and Hessians through relu meet
    H(z) ⊙ H(z))."""
    (x,), (p,) = e.children, e.params
    if p == 1:
        return x
    if p == 0:
        return one(e.shape)
    if x.op == "pow" and _is_int(p):
        return ops.power(x.children[0], x.params[0] * p)
    return _product_form(s, e)


def _term_key(rest):
    """Terms are collected up to the grouping of matrix products: (AB)C and A(BC) match."""
    if rest is not None and rest.op == "matmul":
        return ("chain",) + tuple(matmul_factors(rest))
    return rest


def _sum_terms(s: Simplifier, e: Expr):
    """(order, coefficients, representatives) of the terms of a sum, equal terms
    collected: coefficients and representatives are keyed by _term_key."""
    terms: dict = {}
    rep: dict = {}
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
        key = _term_key(rest)
        if key not in terms:
            terms[key] = 0
            rep[key] = rest
            order.append(key)
        terms[key] = terms[key] + sign * c
    return order, terms, rep


def _build_sum(s: Simplifier, order, terms, rep, shape) -> Expr:
    # lead with a positive term where there is one: σ − y rather than −y + σ
    first_positive = next((k for k in order if terms[k] > 0), None)
    if first_positive is not None and order and not terms[order[0]] > 0:
        order = [first_positive] + [k for k in order if k is not first_positive]
    out = None
    for key in order:
        c = terms[key]
        if c == 0:
            continue
        rest = rep[key]
        if rest is None:
            term = ops.const(c) if shape == SCALAR else ops.broadcast(ops.const(c), shape)
            if c == 1 and shape != SCALAR:
                term = ops.ones(*shape)
        else:
            term = s.scaled(c, rest) if c != 1 else rest
            if term.shape != shape:
                term = ops.broadcast(term, shape)
        out = term if out is None else ops.add(out, term)
    return zero(shape) if out is None else out


def _sum_form(s: Simplifier, e: Expr) -> Expr:
    """Sums: flatten, collect equal terms (a·x + b·x = (a+b)·x), fold constants, factor
    shared matrix factors, and expand products of sums where that makes it shorter."""
    order, terms, rep = _sum_terms(s, e)
    order = _factor_common(s, order, terms, rep)
    out = _build_sum(s, order, terms, rep, e.shape)
    return _expand_if_shorter(s, out, order, terms, rep)


_EXPAND_MAX_NODES = 80


def _sum_factors(s: Simplifier, rest: Expr) -> list:
    """[(a sum factor, the other factors)] for each sum among a product's factors."""
    if rest is None or rest.op not in ("mul", "div"):
        return []
    p = s.product(rest)
    out = []
    for bucket in (p.matrices, p.scalars):
        for atom, k in bucket.items():
            if atom.op == "add" and k == 1:
                others = _Product()
                others.coef = p.coef
                others.scalars = {a: j for a, j in p.scalars.items() if a is not atom}
                others.matrices = {a: j for a, j in p.matrices.items() if a is not atom}
                out.append((atom, others))
    return out


def _sum_factor(s: Simplifier, rest: Expr):
    """(the first sum factor, the other factors) of a product, or None."""
    found = _sum_factors(s, rest)
    return found[0] if found else None


def _cancels_with(s: Simplifier, rest, mine: dict) -> bool:
    """Whether a term shares a factor with `mine` at an exponent of the opposite sign."""
    if rest is None:
        return False
    q = s.product(rest)
    theirs = {**q.scalars, **q.matrices} if rest.op in ("mul", "div", "pow") else {rest: 1}
    return any(k * mine.get(atom, 0) < 0 for atom, k in theirs.items())


def _size_up_to(e: Expr, limit: int) -> int:
    """The number of distinct nodes in e, counting no further than limit + 1 (cheap on
    large expressions, which are never expanded)."""
    seen: set = set()
    stack = [e]
    while stack and len(seen) <= limit:
        node = stack.pop()
        if node not in seen:
            seen.add(node)
            stack.extend(node.children)
    return len(seen)


def _expand_if_shorter(s: Simplifier, out: Expr, order, terms, rep) -> Expr:
    """σ ⊙ (1 − y) − (1 − σ) ⊙ y = σ − y: distribute products over sums, collect, and
    keep the result only if it is smaller. Bounded to small sums."""
    if s._expanding or len(order) < 2 or out.op != "add":
        return out
    if not any(_sum_factor(s, rep[k]) for k in order):
        return out
    size = _size_up_to(out, _EXPAND_MAX_NODES)
    if size > _EXPAND_MAX_NODES:
        return out
    pieces = []
    for key in order:
        c, rest = terms[key], rep[key]
        split = _sum_factor(s, rest)
        if split is None:
            pieces.append(s.scaled(c, rest) if rest is not None else
                          _build_sum(s, [key], {key: c}, {key: None}, out.shape))
            continue
        total, others = split
        other = _rebuild_product(others, rest.shape)
        inner_order, inner_terms, inner_rep = _sum_terms(s, total)
        for k in inner_order:
            part = (inner_rep[k] if inner_rep[k] is not None else one(rest.shape))
            pieces.append(ops.mul(ops.mul(ops.const(c * inner_terms[k]), other), part))
    s._expanding = True
    try:
        expanded = pieces[0]
        for piece in pieces[1:]:
            expanded = ops.add(expanded, piece)
        expanded = s(expanded)
    finally:
        s._expanding = False
    return expanded if _size_up_to(expanded, size) < size else out


def _scaled_product(s: Simplifier, rest):
    """(scalar factor or None, matrix product) for a term that is a matrix product,
    possibly times scalar factors (s · A x); None for any other term."""
    if rest is None:
        return None
    if rest.op == "matmul":
        return None, rest
    if rest.op not in ("mul", "div") or rest.shape == SCALAR:
        return None
    p = s.product(rest)
    if len(p.matrices) != 1 or not p.scalars:
        return None
    (atom, k), = p.matrices.items()
    if k != 1 or atom.op != "matmul":
        return None
    scalar = _Product()
    scalar.coef, scalar.scalars = p.coef, p.scalars
    return _rebuild_product(scalar, SCALAR), atom


def _factor_common(s: Simplifier, order: list, terms: dict, rep: dict) -> list:
    """Σ cᵢ Aᵢ B = (Σ cᵢ Aᵢ) B, then A Σ cᵢ Bᵢ likewise: so Aᵀx + Ax becomes (Aᵀ + A) x,
    and a scalar factor shared by the terms stays outside: s Aᵀx + s Ax = s (Aᵀ + A) x.
    Updates `terms` and `rep` in place and returns the new order of term keys."""
    for side in (-1, 0):  # the shared last factor first, then the shared first factor
        groups: dict = {}
        for key in order:
            if terms[key] == 0:
                continue
            split = _scaled_product(s, rep[key])
            if split is not None:
                scalar, product = split
                factors = matmul_factors(product)
                groups.setdefault((scalar, factors[side]), []).append((key, factors))
        merged: dict = {}
        for (scalar, shared), members in groups.items():
            if len(members) < 2:
                continue
            inner = None
            for key, factors in members:
                others = factors[:-1] if side == -1 else factors[1:]
                part = others[0]
                for f in others[1:]:
                    part = ops.matmul(part, f)
                part = s(part)
                part = s.scaled(terms[key], part) if terms[key] != 1 else part
                inner = part if inner is None else ops.add(inner, part)
            inner = s(inner)
            combined = ops.matmul(inner, shared) if side == -1 else ops.matmul(shared, inner)
            combined = s(combined if scalar is None else ops.mul(scalar, combined))
            merged[members[0][0]] = combined
            for key, _ in members[1:]:
                merged[key] = None
        if not merged:
            continue
        # Remove every merged term before adding the combined ones: a combined term may
        # have the key of a merged term not yet removed.
        slots = []
        for key in order:
            if key not in merged:
                slots.append(key)
                continue
            del terms[key]
            if merged[key] is not None and not is_zero(merged[key]):
                slots.append(("combined", merged[key]))
        new_order = []
        for slot in slots:
            if not (isinstance(slot, tuple) and slot and slot[0] == "combined"):
                new_order.append(slot)
                continue
            combined = slot[1]
            c, r = s.split_coefficient(combined)
            if r is None:
                r, c = combined, 1
            k = _term_key(r)
            if k in terms:
                terms[k] = terms[k] + c
            else:
                terms[k] = c
                rep[k] = r
                new_order.append(k)
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
    """(Aᵀ)ᵀ = A, (AB)ᵀ = BᵀAᵀ, (−A)ᵀ = −Aᵀ, (cA)ᵀ = c Aᵀ for a scalar c,
    (A⁻¹)ᵀ = (Aᵀ)⁻¹; scalars, symmetric (spd, diagonal) variables, I and diag(v) are
    their own transposes. Transposes stay outside sums and elementwise functions, so that a shared
    tanh(W x + b) is not rewritten as tanh(xᵀ Wᵀ + bᵀ)."""
    (x,) = e.children
    op = x.op
    if x.shape == SCALAR:
        return x
    if op == "transpose":
        return x.children[0]
    if structure_of(x) in SELF_TRANSPOSED:
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
    if op in ("mul", "div"):
        a, b = x.children
        if _is_scalar_factor(a) or _is_scalar_factor(b):
            return make(op, (ops.transpose(a), ops.transpose(b)), (), e.shape)
    if op in ("neg", "inv"):
        return make(op, (ops.transpose(x.children[0]),), x.params, e.shape)
    if op == "add" and _transposes_usefully(x):
        a, b = x.children
        return ops.add(ops.transpose(a), ops.transpose(b))
    if op == "broadcast":
        return ops.broadcast(ops.transpose(x.children[0]), e.shape)
    return e


def _transposes_usefully(total: Expr) -> bool:
    """Whether (A + B)ᵀ should become Aᵀ + Bᵀ: when some term is a product, transpose or
    inverse, whose transpose simplifies; (x − μ)ᵀ stays as it is."""
    stack = [total]
    while stack:
        node = stack.pop()
        if node.op in ("add", "neg"):
            stack.extend(node.children)
        elif node.op in ("matmul", "transpose", "inv"):
            return True
        elif node.op == "mul" and any(_is_scalar_factor(c) for c in node.children):
            stack.extend(c for c in node.children if not _is_scalar_factor(c))
    return False


def _is_scalar_factor(e: Expr) -> bool:
    return e.op == "broadcast" and e.children[0].shape == SCALAR


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
    """(c, rest) when e = c · rest for a number c ≠ 1 and no other scalar factor."""
    if e.op not in ("mul", "div"):
        return None
    p = s.product(e)
    if p.zero or p.scalars or p.coef == 1 or not (p.matrices or e.shape == SCALAR):
        return None
    c, rest = s.split_coefficient(e)
    return None if rest is None else (c, rest)


def _scalar_factor(s: Simplifier, e: Expr):
    """(c, rest) when e = c · rest with c a scalar expression and rest a matrix, for
    moving c out of a matrix product: (c A) B = c (A B).

    Factors made of dimensions stay put (2/m in g = 2/m · h): then a named intermediate
    such as g remains a subexpression of both g wᵀ and Xᵀ g."""
    if e.op not in ("mul", "div") or e.shape == SCALAR:
        return None
    p = s.product(e)
    if p.zero or not p.matrices or any(a.op == "dim" for a in p.scalars):
        return None
    if p.coef == 1 and not p.scalars:
        return None
    scalar = _Product()
    scalar.coef, scalar.scalars = p.coef, p.scalars
    rest = _Product()
    rest.matrices = p.matrices
    return _rebuild_product(scalar, SCALAR), _rebuild_product(rest, e.shape)


def _cancels(a: Expr, b: Expr) -> bool:
    """A⁻¹ A = A A⁻¹ = I."""
    return (a.op == "inv" and a.children[0] is b) or (b.op == "inv" and b.children[0] is a)


def _matmul(s: Simplifier, e: Expr) -> Expr:
    """0 B = 0; I B = B; (cI) B = c B; (−A) B = −(AB); (2A) B = 2 (AB);
    1ᵀ B = sum(B, axis 0); A 1 = sum(A, axis 1); diag(h) B = h ⊙ B; A diag(h) = A ⊙ hᵀ;
    a 1×1 factor is a scalar."""
    a, b = e.children
    if is_zero(a) or is_zero(b):
        return zero(e.shape)
    if _cancels(a, b):
        return ops.eye(a.shape[0])
    if a.op == "matmul" and _cancels(a.children[1], b):
        return a.children[0]
    if b.op == "matmul" and _cancels(a, b.children[0]):
        return b.children[1]
    for i, side in enumerate((a, b)):
        pulled = _scalar_factor(s, side)
        if pulled is not None:
            c, rest = pulled
            inner = ops.matmul(rest, b) if i == 0 else ops.matmul(a, rest)
            return ops.mul(c, inner)
    if a.op == "transpose" and a.shape[0] == 1 and b.shape[1] == 1 and b.op in ("mul", "div"):
        # aᵀ (b / a) = sum(a ⊙ b / a): written as a sum the quotient cancels
        k = s.product(b).matrices.get(a.children[0], 0)
        if k < 0:
            return ops.sum(ops.mul(a.children[0], b))
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
