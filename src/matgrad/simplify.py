"""Simplification: a catalogue of small named rewrites, run bottom-up to a fixed point.

Every node is rebuilt from already-simplified children, then the rewrites listed for its
operation in `RULES` are tried in order; the first that applies replaces the node, and
the replacement is simplified in turn, until none applies. Each rewrite is a function
`rewrite(s, e) -> Expr | None` (None: it does not apply) whose docstring's first line
states its identity; `CATALOGUE` maps each rewrite's name to it. Two normal forms do most
of the work:

* products (⊙, /, integer powers, scalar factors): a numeric coefficient, the dimension
  factors, the other scalar factors, then the Hadamard factors, each with one exponent
  (so 2 ⊙ (1/m) ⊙ x becomes 2/m · x, and x ⊙ x becomes x²);
* sums: terms with numeric coefficients, equal terms collected (x + x = 2x, x − x = 0).

Options are arguments, never shared flags: `simplify(e, disable={"double_transpose"})`
switches rewrites off by name, `rules=` gives the catalogue to use, `max_passes`
bounds how many rewrites in a row may replace one node, and `Simplifier(keep_shared=True)`
keeps each product the expression uses more than once as one factor of the products
around it (the Hessian of an elementwise function uses it: flattened, the derivative of
a deep chain of products is the square of the chain's size). Reaching that budget never
changes a value; it is reported, as a `SimplifyBudgetWarning` and on the simplifier
(`Simplifier.budget_reached`), and never passes silently.

Cost. Each distinct node is simplified once per simplifier (a memo; shared subtrees
are never re-entered), and the driver keeps its own stack rather than recursing along
the depth of the expression. What the rewrites ask of a node (its flattened product, its terms, the
ends and the key of a matrix chain) is computed once per node. A product or sum used
once, as a factor of another product or a term of another sum, is not normalised on its
own: the outer one flattens through it, so a chain of ever longer products (the
gradient of tanh∘…∘tanh) or sums costs its length once, not at every link. Measured by
benchmarks/bench_depth.py: chains of tanh and of e ⊙ x + c simplify in linear time.
Factoring shared matrix factors out of long sums (`factor_common`) builds each chain less
its shared end once per node (`Simplifier.chain_without`). A run of one square factor
is folded into a power as the chain is built (`matmul_power`: A (A (… A x)) is Aᵈ x),
so the gradient of yᵀ A (A (… A x)), Σᵢ (Aⁱ)ᵀ y xᵀ (Aᵈ⁻¹⁻ⁱ)ᵀ, has d terms of a few
factors each and simplifies in linear time.

Results are deterministic: factors and terms keep their order of first appearance.
"""
from __future__ import annotations

import warnings
import weakref
import zlib
from fractions import Fraction

import numpy as np

from . import ops, registry
from .dims import SCALAR, fmt_shape
from .elementwise import table
from .expr import Expr, make, matmul_factors, walk
from .recursion import room
from .structure import SELF_TRANSPOSED
from .structure import of as structure_of
from .operations import block_functions
from .operations.matrix_functions import MAX_POWER
from .operations.softmax import softmax_ratio

MAX_PASSES = 64


class SimplifyBudgetWarning(UserWarning):
    """The pass budget of the simplifier was reached: the result keeps its value but may
    not be in its most compact form."""
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

    def copy(self) -> "_Product":
        q = _Product()
        q.coef, q.scalars, q.matrices, q.zero = (self.coef, dict(self.scalars),
                                                 dict(self.matrices), self.zero)
        return q

    def add_atom(self, atom: Expr, k) -> None:
        bucket = self.scalars if atom.shape == SCALAR else self.matrices
        bucket[atom] = bucket.get(atom, 0) + k
        if k > 0 and atom.op == "fn" and table()[atom.params[0]].idempotent:
            bucket[atom] = 1  # H(x)ᵖ = H(x): the step is 0 or 1
        if bucket[atom] == 0:
            del bucket[atom]


def _flatten_product(e: Expr, k, acc: _Product, known: dict | None = None,
                     kept=frozenset()) -> None:
    """Collect e^k into acc. Composite structure is opened only for integer k, where
    (a ⊙ b)^k = a^k ⊙ b^k holds for every real a, b. Products already flattened (in
    `known`) are merged whole, so a chain of ever longer products costs its length once
    per link, not its length squared; a product in `kept` below e is a factor of its own.
    Iterative: factors are met left to right."""
    top = e
    stack = [(e, k)]
    while stack:
        e, k = stack.pop()
        op = e.op
        if e in kept and e is not top:
            acc.add_atom(e, k)
            continue
        if op == "const":
            c = e.params[0]
            if c == 0 and k > 0:
                acc.zero = True
            elif c != 0 and _is_int(k) and abs(k) <= 64:  # larger powers stay symbolic
                acc.coef = ops._number(acc.coef * ops.number_power(c, int(k)))
            else:
                acc.add_atom(e, k)
            continue
        if op == "ones":
            continue
        if op == "zeros":
            if k > 0:
                acc.zero = True
            else:
                acc.add_atom(e, k)
            continue
        if not _is_int(k):
            acc.add_atom(e, k)
            continue
        if known is not None and op in ("neg", "mul", "div", "pow") and abs(k) <= 64:
            done = known.get(e)
            if done is not None and done is not acc and not (done.zero and k < 0):
                _merge_power(done, int(k), acc)
                continue
        if op == "neg":
            if k % 2:
                acc.coef = -acc.coef
            stack.append((e.children[0], k))
        elif op == "mul":
            stack.append((e.children[1], k))
            stack.append((e.children[0], k))
        elif op == "div":
            stack.append((e.children[1], -k))
            stack.append((e.children[0], k))
        elif op == "pow":
            stack.append((e.children[0], k * e.params[0]))
        elif op == "broadcast" and e.children[0].shape == SCALAR:
            stack.append((e.children[0], k))
        elif op == "fn" and e.params == ("sqrt",) and k % 2 == 0:
            # sqrt(x)^(2j) = x^j wherever sqrt(x) is defined (1/sqrt(2)² is 1/2)
            stack.append((e.children[0], k // 2))
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
    scalars_num = [(a, k) for a, k in p.scalars.items() if a.op != "dim" and k > 0]
    scalars_den = [(a, k) for a, k in p.scalars.items() if a.op != "dim" and k < 0]
    if scalars_den and not scalars_num and dims_num:  # 2 / xᵀ x, not 2 · (1 / xᵀ x)
        dims_den, scalars_den = dims_den + scalars_den, []
    if scalars_den and not (scalars_num or dims_num or dims_den) and shape != SCALAR \
            and p.matrices and all(k > 0 for k in p.matrices.values()):
        # X / ‖X‖, not 1/‖X‖ · X: a matrix over scalars alone is written as the quotient
        top = _ratio(list(p.matrices.items()), [], shape)
        bottom = _chain([(a, -k) for a, k in scalars_den], SCALAR)
        out = ops.div(top, ops.broadcast(bottom, shape))
        return ops.neg(out) if negative else out
    if dims_den and not dims_num:
        dims_num = [(ops.const(1), 1)]
    parts = [
        _ratio(dims_num, dims_den, SCALAR),
        _ratio(scalars_num, scalars_den, SCALAR),
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

    `disable` names rewrites of the catalogue to leave out; `rules` replaces the
    catalogue (operation -> rewrites in order); `max_passes` bounds the rewrites in a row
    at one node; `keep_shared` keeps the products an expression uses more than once
    whole inside other products (see `_keep_shared_products`). `budget_reached` counts the nodes where that bound (or a rewrite that
    comes back to a node still being simplified) stopped the rewriting.

    >>> import matgrad as mg
    >>> x = mg.vector("x", 3)
    >>> Simplifier()((x + x).T.T)
    2 · x
    >>> Simplifier(disable={"double_transpose"})(x.T.T)
    (xᵀ)ᵀ
    """

    def __init__(self, *, rules: dict | None = None, disable=(), max_passes: int = MAX_PASSES,
                 warn: bool = True, keep_shared: bool = False):
        rules = RULES if rules is None else rules
        disable = frozenset(disable)
        unknown = disable - {f.__name__ for fs in rules.values() for f in fs}
        if unknown:
            raise ValueError(f"no such rewrite: {', '.join(sorted(unknown))}")
        self.disabled = disable
        self.rules = {op: tuple(f for f in fs if f.__name__ not in disable)
                      for op, fs in rules.items()}
        self.max_passes = max_passes
        self.warn = warn
        self.budget_reached = 0
        self.memo: dict = {}
        self._products: dict = {}
        self._terms: dict = {}
        self._splits: dict = {}
        self._ends: dict = {}
        self._left: dict = {}
        self._tails: dict = {}
        self._prepends: dict = {}
        self._active: set = set()  # nodes whose simplification is under way
        self._parent: Simplifier | None = None
        self._without: dict = {}
        self._calls = 0
        # keep_shared: a product used more than once in the expression given is a factor
        # of its own in the products around it (see __call__)
        self.keep_shared = keep_shared
        self._kept: set = set()

    def enabled(self, name: str) -> bool:
        return name not in self.disabled

    def without(self, *names: str) -> Simplifier:
        """A simplifier with these rewrites also left out. It starts from this one's fixed
        points (a node no rewrite changes stays unchanged under fewer rewrites), so
        simplifying a new node built on simplified parts costs only the new part."""
        key = frozenset(names) | self.disabled
        sub = self._without.get(key)
        if sub is None:
            sub = Simplifier(rules={op: fs for op, fs in self.rules.items()},
                             disable=frozenset(names) & _names(self.rules),
                             max_passes=self.max_passes, warn=self.warn,
                             keep_shared=self.keep_shared)
            sub.disabled = key
            sub._kept = self._kept
            sub._parent = self
            sub._products, sub._terms, sub._splits, sub._ends = (
                self._products, self._terms, self._splits, self._ends)
            sub._left, sub._tails, sub._prepends = self._left, self._tails, self._prepends
            self._without[key] = sub
        return sub

    def _known(self, e: Expr):
        """The simplified form of e, if known here or as a fixed point of the parent."""
        hit = self.memo.get(e)
        if hit is None and self._parent is not None:
            p = self._parent._known(e)
            if p is e:
                self.memo[e] = e
                return e
        return hit

    def __call__(self, e: Expr) -> Expr:
        hit = self._known(e)
        if hit is not None:
            return hit
        if self._calls:
            return self._simplify(e)
        # Rewrites that factor sums (factor_common) simplify their parts with nested
        # calls, as deep as the sums nest: room on the stack for that.
        self._calls += 1
        try:
            with room(40 * e.depth + 1000):
                if self.keep_shared:
                    self._keep_shared_products(e)
                return self._simplify(e)
        finally:
            self._calls -= 1

    def _keep_shared_products(self, e: Expr) -> None:
        """With keep_shared, simplify first each product that e uses more than once,
        children before parents, and keep its simplified form as one factor of the
        products around it. Flattened into each of them instead, the products along a
        chain whose every link is used twice (the differential of a deep product) would
        cost the chain's length at every link: its size squared."""
        nodes = walk(e, skip=self._done())
        uses: dict = {}
        for node in nodes:
            for c in node.children:
                uses[c] = uses.get(c, 0) + 1
        for node in nodes:
            if uses.get(node, 0) > 1 and node.op in _FACTORS:
                out = self._simplify(node)
                if out.op in _FACTORS and _worth_keeping(self.product(out)):
                    self._kept.add(out)

    def _simplify(self, e: Expr) -> Expr:
        memo, active, known = self.memo, self._active, self._known
        inner = self._interior(e)
        raw: dict = {}  # interior factors, rebuilt on simplified children only
        # Frames: ("node", n, passes) simplifies n once its children are known;
        # ("link", n, rebuilt, new) records that n and rebuilt simplify to what new does.
        stack: list = [("node", e, 0)]
        while stack:
            frame = stack[-1]
            if frame[0] == "link":
                stack.pop()
                _, node, rebuilt, new = frame
                out = memo[new]
                memo[node] = memo[rebuilt] = out
                active.discard(rebuilt)
                active.discard(node)
                continue
            _, node, passes = frame
            if node in raw or known(node) is not None:
                stack.pop()
                continue
            pending = [c for c in node.children if c not in raw and known(c) is None]
            if pending:
                for c in reversed(pending):
                    if c in active:  # a rewrite came back to a node under way
                        self._budget(c)
                        memo[c] = c
                    else:
                        stack.append(("node", c, 0))
                continue
            stack.pop()
            kids = tuple(raw[c] if c in raw else memo[c] for c in node.children)
            rebuilt = node if kids == node.children else make(node.op, kids, node.params,
                                                                node.shape)
            if node in inner:
                raw[node] = rebuilt
                continue
            if rebuilt is not node and known(rebuilt) is not None:
                memo[node] = memo[rebuilt]
                continue
            new = self._rewrite(rebuilt)
            if new is not None and known(new) is not None:
                out = memo[new]
                memo[node] = memo[rebuilt] = out
                continue
            if new is not None and (passes >= self.max_passes or new in active):
                self._budget(rebuilt)
                new = None
            if new is None:
                memo[node] = memo[rebuilt] = rebuilt
                continue
            active.add(node)
            active.add(rebuilt)
            inner |= self._interior(new)  # a rebuilt sum's partial sums, for one
            inner.discard(new)  # a replacement is simplified whole, even a former factor
            raw.pop(new, None)
            stack.append(("link", node, rebuilt, new))
            stack.append(("node", new, passes + 1))
        return memo[e]

    def _interior(self, e: Expr) -> set:
        """The products (⊙, /) whose one use is as a factor of another product, and the
        sums whose one use is as a term of another sum: the product or sum that contains
        them flattens through them, so they are not brought to a normal form of their
        own (which, along a chain of ever longer products or sums, would cost the
        chain's length at every link)."""
        kinds = [ops_ for name, ops_ in (("product_normal_form", _FACTORS),
                                         ("collect_terms", _TERMS)) if self.enabled(name)]
        if not kinds:
            return set()
        uses: dict = {}
        outer: dict = {}
        done = self._done()
        for node in walk(e, skip=done):
            for c in node.children:
                uses[c] = uses.get(c, 0) + 1
                outer[c] = node.op
        return {n for n, k in uses.items() if k == 1 and n is not e and n not in done
                and any(n.op in kind and outer[n] in kind for kind in kinds)}

    def _done(self):
        """The nodes known simplified, as a container for walk's skip: the memo, and for
        a simplifier made by `without`, its parent's fixed points too (so that its walks
        do not enter what the parent has simplified)."""
        return self.memo if self._parent is None else _Known(self)

    def _rewrite(self, e: Expr):
        """The first rewrite of e's operation that applies, or None."""
        for rewrite in self.rules.get(e.op, ()):
            new = rewrite(self, e)
            if new is not None and new is not e:
                return new
        return None

    def _budget(self, e: Expr) -> None:
        self.budget_reached += 1
        if self.warn and self.budget_reached == 1:
            warnings.warn(SimplifyBudgetWarning(
                f"simplification stopped at a node after {self.max_passes} rewrites in a "
                f"row (or a rewrite that returns to a node under way), at a "
                f"{e.op} of shape {fmt_shape(e.shape)}; the result keeps its value"),
                stacklevel=3)

    def settle(self, e: Expr) -> None:
        """Record the new nodes of a rebuilt product as simplified: they are its normal
        form already, and re-simplifying every partial product of a chain of k factors
        would cost k² at every link (cubic for tanh∘…∘tanh)."""
        for node in walk(e, skip=self.memo):
            self.memo[node] = node

    def product(self, e: Expr) -> _Product:
        p = self._products.get(e)
        if p is None:
            p = _Product()
            _flatten_product(e, Fraction(1), p, self._products, self._kept)
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
        hit = self._splits.get(e)
        if hit is None:
            hit = self._splits[e] = self._split_coefficient(e)
        return hit

    def _split_coefficient(self, e: Expr):
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

    def terms(self, e: Expr):
        """(order, coefficients, representatives) of a sum's terms (see _sum_terms);
        callers that change them take copies."""
        hit = self._terms.get(e)
        if hit is None:
            hit = self._terms[e] = _sum_terms(self, e)
        return hit

    def ends(self, e: Expr) -> tuple:
        """(first factor, last factor, chain key, length) of a chain of matrix products,
        from the children's answers: the key is a polynomial hash of the factor sequence,
        the same however the chain is grouped, so (AB)C and A(BC) have one key."""
        hit = self._ends.get(e)
        if hit is not None:
            return hit

        def join(node, left, right):
            fa, _, ha, na = left
            _, lb, hb, nb = right
            return fa, lb, (ha * pow(_BASE, nb, _MOD) + hb) % _MOD, na + nb
        return _over_chain(e, self._ends,
                           lambda node: (node, node, fingerprint(node) % _MOD, 1), join)

    def left_chain(self, e: Expr) -> Expr:
        """The left-nested product ((f₁ f₂) f₃) … of the factors of a matrix chain.
        Chains grouped from the left already (all the nodes this builds) are their own
        answer in one step, so a chain one factor longer than a known one costs one node."""
        hit = self._left.get(e)
        if hit is not None:
            return hit
        left = self._left
        spine = []  # e's left spine down to the first node already answered
        node = e
        while node.op == "matmul" and node not in left:
            spine.append(node)
            node = node.children[0]
        out = left.get(node, node)
        left.setdefault(node, out)
        for node in reversed(spine):
            right = node.children[1]
            known = left.get(right) if out.op != "matmul" else None
            if known is not None and known.op == "matmul":
                # f (g₁ g₂ …) with the right part's chain known: f is put in front of it,
                # so a chain grown at its front, f (f (… g)), costs one node a factor
                out = self._prepend(out, known)
            else:
                for f in matmul_factors(right):
                    out = _matmul(out, f)
                    left.setdefault(out, out)
            left[node] = out
        return out

    def _prepend(self, f: Expr, chain: Expr) -> Expr:
        """The left-nested chain of f followed by the factors of a left-nested `chain`:
        f ((g₁ g₂) g₃) = ((f g₁) g₂) g₃, built down chain's left spine and remembered for
        each (f, node), so that f in front of a chain one factor longer costs one node."""
        memo = self._prepends
        spine = []  # chain's left spine, down to a node with f in front known, or a factor
        node = chain
        while (f, node) not in memo and node.op == "matmul":
            spine.append(node)
            node = node.children[0]
        out = memo.get((f, node))
        if out is None:
            out = memo[(f, node)] = _matmul(f, node)
            self._left.setdefault(out, out)
        for node in reversed(spine):
            out = memo[(f, node)] = _matmul(out, node.children[1])
            self._left.setdefault(out, out)
        return out

    def chain_without(self, e: Expr, side: int) -> Expr:
        """The left-nested product of a chain's factors less its last (side −1) or its
        first (side 0): ((f₁ f₂) f₃) f₄ less f₄ is its left child, less f₁ it is
        (f₂ f₃) f₄, built once per node and shared by every chain that ends the same."""
        whole = self.left_chain(e)
        if side == -1:
            return whole.children[0]
        tails = self._tails
        spine = []  # the left spine of `whole`, down to a node whose tail is known
        node = whole
        while node.children[0].op == "matmul" and node not in tails:
            spine.append(node)
            node = node.children[0]
        out = tails.get(node)
        if out is None:
            out = tails[node] = node.children[1]
        for node in reversed(spine):
            out = tails[node] = _matmul(out, node.children[1])
        return out

_KEEP_MIN_FACTORS = 3


def _worth_keeping(p: _Product) -> bool:
    """Whether a shared product is kept whole under keep_shared: one of at least three
    factors and no number (small products and numbers merge into the products around
    them, which read better and cost little)."""
    return p.coef == 1 and len(p.scalars) + len(p.matrices) >= _KEEP_MIN_FACTORS


class _Known:
    """`e in _Known(s)`: whether s knows e's simplified form (Simplifier._known)."""

    __slots__ = ("s",)

    def __init__(self, s: Simplifier):
        self.s = s

    def __contains__(self, e) -> bool:
        return self.s._known(e) is not None


def _over_chain(e: Expr, memo: dict, leaf, join):
    """memo[e] for a chain of matrix products, from the bottom up and iteratively (chains
    are deep): leaf(node) for a factor, join(node, memo[a], memo[b]) for a product a b;
    every node met is remembered in memo."""
    stack = [e]
    while stack:
        node = stack[-1]
        if node in memo:
            stack.pop()
            continue
        if node.op != "matmul":
            stack.pop()
            memo[node] = leaf(node)
            continue
        a, b = node.children
        todo = [c for c in (a, b) if c not in memo]
        if todo:
            stack.extend(todo)
            continue
        stack.pop()
        memo[node] = join(node, memo[a], memo[b])
    return memo[e]


def _matmul(a: Expr, b: Expr) -> Expr:
    """a b, for factors whose shapes are known to fit (taken from a chain)."""
    return make("matmul", (a, b), (), (a.shape[0], b.shape[1]))


_MOD = (1 << 61) - 1
_FACTORS = ("mul", "div")
_TERMS = ("add", "neg")
_BASE = 1_000_003
_INVERSE_BASE_LESS_1 = pow(_BASE - 1, _MOD - 2, _MOD)


def _names(rules: dict) -> frozenset:
    return frozenset(f.__name__ for fs in rules.values() for f in fs)


# ---- helpers of the sum normal form ---------------------------------------------------


def _term_key(s: Simplifier, rest, rep: dict):
    """Terms are collected up to the grouping of matrix products: (AB)C and A(BC) match.
    A chain's key is its hash and length (`Simplifier.ends`), checked factor by factor
    where two different chains share it, so a collision never merges unequal terms."""
    if rest is None or rest.op != "matmul":
        return rest
    _, _, h, n = s.ends(rest)
    key = ("chain", h, n)
    other = rep.get(key)
    if other is not None and other is not rest and \
            matmul_factors(other) != matmul_factors(rest):
        return ("chain",) + tuple(matmul_factors(rest))
    return key


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
        key = _term_key(s, rest, rep)
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


_EXPAND_MAX_NODES = 80


def _sum_factors(s: Simplifier, rest: Expr) -> list:
    """[(a sum factor, the other factors)] for each sum among a product's factors."""
    if rest is None or rest.op not in ("mul", "div"):
        return []
    p = s.product(rest)
    if p.zero:  # a zero product distributes to nothing: its other factors are not it
        return []
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
    if rest is None or rest.op not in ("mul", "div"):
        return None
    p = s.product(rest)
    if p.zero or not any(a.op == "add" and k == 1 for b in (p.matrices, p.scalars)
               for a, k in b.items()):
        return None
    return _sum_factors(s, rest)[0]


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


def _factor_common(s: Simplifier, order: list, terms: dict, rep: dict, merged=None):
    """Σ cᵢ Aᵢ B = (Σ cᵢ Aᵢ) B, then A Σ cᵢ Bᵢ likewise. Updates `terms` and `rep` in
    place and returns the new order of term keys, or None if no terms were merged.
    `merged`, where given, is what the shared last factors merge (see _merged_groups)."""
    changed = False
    for side in (-1, 0):  # the shared last factor first, then the shared first factor
        if side == 0 or merged is None:
            merged = _merged_groups(s, order, terms, rep, side)
        if merged:
            changed = True
            order = _with_merged(s, order, terms, rep, merged)
    return order if changed else None


def _merged_groups(s: Simplifier, order: list, terms: dict, rep: dict, side: int) -> dict:
    """The terms that share their last (side −1) or first (side 0) factor and a scalar
    factor, merged: key -> the combined term for the first of each group, None for the
    others."""
    groups: dict = {}
    for key in order:
        if terms[key] == 0:
            continue
        split = _scaled_product(s, rep[key])
        if split is not None:
            scalar, product = split
            first, last, _, _ = s.ends(product)
            groups.setdefault((scalar, last if side == -1 else first), []).append(
                (key, product))
    merged: dict = {}
    for (scalar, shared), members in groups.items():
        if len(members) < 2:
            continue
        inner = _group_sum(s, members, terms, side, shared)
        merged[members[0][0]] = _combined(s, inner, scalar, shared, side)
        for key, _ in members[1:]:
            merged[key] = None
    return merged


def _combined(s: Simplifier, inner: Expr, scalar, shared: Expr, side: int) -> Expr:
    """scalar · inner shared (side −1) or scalar · shared inner (side 0), simplified."""
    combined = ops.matmul(inner, shared) if side == -1 else ops.matmul(shared, inner)
    return s(combined if scalar is None else ops.mul(scalar, combined))


def _with_merged(s: Simplifier, order: list, terms: dict, rep: dict, merged: dict) -> list:
    """The order of term keys once the merged terms are replaced by the combined ones (in
    the place of each group's first term), a combined term that equals a term already
    there adding to its coefficient."""
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
        k = _term_key(s, r, rep)
        if k in terms:
            terms[k] = terms[k] + c
        else:
            terms[k] = c
            rep[k] = r
            new_order.append(k)
    return new_order


def _group_sum(s: Simplifier, members: list, terms: dict, side: int, shared: Expr) -> Expr:
    """Σ cᵢ Pᵢ simplified, Pᵢ each member's product less its shared factor."""
    inner = None
    for key, product in members:
        part = s(s.chain_without(product, side))
        part = s.scaled(terms[key], part) if terms[key] != 1 else part
        inner = part if inner is None else ops.add(inner, part)
    return s(inner)


# ---- facts: values symmetric by construction ------------------------------------------

_SYMMETRIC: "weakref.WeakKeyDictionary[Expr, bool]" = weakref.WeakKeyDictionary()
_SYMMETRIC_DEPTH = 200  # deeper than this, a value is not looked into (and not claimed)


def is_symmetric(e: Expr, depth: int = 0) -> bool:
    """Whether e's value is a symmetric matrix by how it is built: a variable declared
    symmetric (or spd, or diagonal), I, diag(v), a stretched scalar, A Aᵀ and Aᵀ A (any
    chain that reads the same backwards, B S Bᵀ with S symmetric), A + Aᵀ (a sum whose
    terms are symmetric or come in transposed pairs), the transpose, negation, inverse,
    powers, adjugate, elementwise functions and Hadamard products of symmetric values,
    expm, logm and sqrtm of a symmetric value and their Fréchet derivatives in a
    symmetric direction."""
    if e.shape[0] != e.shape[1]:
        return False
    if e.shape == SCALAR:
        return True
    hit = _SYMMETRIC.get(e)
    if hit is None:
        hit = depth < _SYMMETRIC_DEPTH and _symmetric(e, depth + 1)
        _SYMMETRIC[e] = hit
    return hit


def _symmetric(e: Expr, depth: int) -> bool:
    op = e.op
    if op == "var":
        return structure_of(e) in SELF_TRANSPOSED
    if op in ("eye", "diagmat", "ones", "zeros"):
        return True
    if op == "broadcast":
        return e.children[0].shape == SCALAR
    if op in ("transpose", "neg", "inv", "fn", "pow", "mul", "div", "matrix_power", "adj"):
        return all(is_symmetric(c, depth) for c in e.children)
    if op == "add":
        return _symmetric_sum(e, depth)
    family = block_functions.family(op)
    if family is not None:
        if op == family.operation.name:  # f(S) of a symmetric S (a power series in S)
            return is_symmetric(e.children[0], depth)
        # F_block(D₀, C₁, …, D_k)ᵀ = F_block(D_kᵀ, C_kᵀ, …, D₀ᵀ): symmetric where the
        # arguments read backwards are their transposes (L(S, E) for symmetric S and E)
        kids = e.children
        return all(_transposes(kids[i], kids[-1 - i], depth)
                   for i in range((len(kids) + 1) // 2))
    if op == "matmul":
        factors = matmul_factors(e)
        k = len(factors)
        for i in range(k // 2):
            if not _transposes(factors[i], factors[k - 1 - i], depth):
                return False
        return k % 2 == 0 or is_symmetric(factors[k // 2], depth)
    return False


def _transposes(a: Expr, b: Expr, depth: int) -> bool:
    """Whether b = aᵀ, as built: one is the transpose of the other, a = b symmetric, or
    two products whose factors, one read backwards, are each other's transposes
    (B S N and N S B for symmetric B, S and N)."""
    if a is b:
        return is_symmetric(a, depth)
    if (a.op == "transpose" and a.children[0] is b) or \
            (b.op == "transpose" and b.children[0] is a):
        return True
    if a.op == "matmul" and b.op == "matmul" and depth < _SYMMETRIC_DEPTH:
        fa, fb = matmul_factors(a), matmul_factors(b)
        return len(fa) == len(fb) and all(
            _transposes(x, y, depth + 1) for x, y in zip(fa, reversed(fb)))
    return False


def _addends(e: Expr) -> list:
    """The terms of a sum with their signs, [(term, ±1)], nested sums and negations
    opened."""
    out, stack = [], [(e, 1)]
    while stack:
        node, sign = stack.pop()
        if node.op == "add":
            stack.extend((c, sign) for c in reversed(node.children))
        elif node.op == "neg":
            stack.append((node.children[0], -sign))
        else:
            out.append((node, sign))
    return out


def _symmetric_sum(e: Expr, depth: int) -> bool:
    """Every term symmetric, or paired with its transpose under the same sign."""
    unpaired = []
    for t, sign in _addends(e):
        if is_symmetric(t, depth):
            continue
        mate = next((i for i, (u, su) in enumerate(unpaired)
                     if su == sign and _transposes(t, u, depth)), None)
        if mate is None:
            unpaired.append((t, sign))
        else:
            unpaired.pop(mate)
    return not unpaired


_DIFFERENTIALS: "weakref.WeakKeyDictionary[Expr, bool]" = weakref.WeakKeyDictionary()


def _has_differential(e: Expr) -> bool:
    """Whether e holds a differential (a `dvar` leaf of a derivation's line)."""
    memo = _DIFFERENTIALS
    hit = memo.get(e)
    if hit is not None:
        return hit
    for node in walk(e, skip=memo):
        memo[node] = node.op == "dvar" or any(memo[c] for c in node.children)
    return memo[e]


def _chain_of(factors: list) -> Expr:
    """The left-nested matrix product of the factors."""
    out = factors[0]
    for f in factors[1:]:
        out = ops.matmul(out, f)
    return out


def _scaled_sum(s: Simplifier, e: Expr):
    """(c, total) when e = c · total for a scalar c ≠ 1 (numbers, dimensions, scalar
    factors) and a sum `total`, else None."""
    if e.op not in ("mul", "div", "neg") or e.shape == SCALAR:
        return None
    p = s.product(e)
    if p.zero or len(p.matrices) != 1 or (p.coef == 1 and not p.scalars):
        return None
    (total, k), = p.matrices.items()
    if k != 1 or total.op != "add":
        return None
    scalar = _Product()
    scalar.coef, scalar.scalars = p.coef, p.scalars
    return _rebuild_product(scalar, SCALAR), total


def _nearer_zero(j, k):
    """The power of a factor two terms share, given its powers j and k in them (None
    where absent): the one nearer zero where both have one sign (a² and a share a, 1/s
    and 1/s² share 1/s)."""
    if k is None or (j > 0) != (k > 0):
        return None
    return min(j, k) if j > 0 else max(j, k)


def _shared(common: dict | None, atoms: dict) -> dict:
    """The factors (atom -> power) shared by the terms so far (`common`, None before the
    first) and a term with these `atoms`."""
    if common is None:
        return dict(atoms)
    return {a: p for a, p in ((a, _nearer_zero(j, atoms.get(a))) for a, j in common.items())
            if p is not None}


def _scalar_atoms(s: Simplifier, rest) -> dict:
    """The scalar factors of a term (with their exponents); a scalar term that is no
    product is its own factor."""
    if rest is None:
        return {}
    if rest.op in ("mul", "div", "pow"):
        return s.product(rest).scalars
    return {rest: 1} if rest.shape == SCALAR else {}


# ---- the catalogue: each rewrite states its identity on its docstring's first line ----
# A rewrite returns the replacement, or None where its identity does not apply.


# sums (add, neg)


def factor_common(s: Simplifier, e: Expr):
    """Σ cᵢ Aᵢ B = (Σ cᵢ Aᵢ) B and A Σ cᵢ Bᵢ likewise: Aᵀx + Ax = (Aᵀ + A) x.

    A scalar factor shared by the terms stays outside: s Aᵀx + s Ax = s (Aᵀ + A) x."""
    order, terms, rep = s.terms(e)
    if len(order) < 2:
        return None
    terms, rep = dict(terms), dict(rep)
    order = _factor_common(s, list(order), terms, rep)
    return None if order is None else _build_sum(s, order, terms, rep, e.shape)


def collect_terms(s: Simplifier, e: Expr):
    """a·x + b·x = (a + b)·x: a sum flattened, equal terms collected, constants folded,
    x − x = 0, and a positive term first (σ − y, not −y + σ)."""
    order, terms, rep = s.terms(e)
    return _build_sum(s, order, terms, rep, e.shape)


def factor_scalar(s: Simplifier, e: Expr):
    """c·a + c·b = c·(a + b): a scalar factor of every term is written once.

    The factor is a number of one magnitude in every term (−2a − 2b = −2 (a + b)),
    dimensions (1/m · p − 1/m · y = 1/m · (p − y)) and scalar factors (λ a + λ b), where
    at least two terms are more than a number: 2a + 2 stays, it is no shorter. A scalar
    in every term to different powers of one sign comes out to the power nearer zero:
    λ² a + λ b = λ (λ a + b), and the common denominator a/s − b/s² = 1/s · (a − b/s), as
    in the Rayleigh quotient's gradient."""
    order, terms, rep = s.terms(e)
    if len(order) < 2 or sum(rep[k] is not None for k in order) < 2:
        return None
    coefs = [terms[k] for k in order]
    number = abs(coefs[0]) if all(abs(c) == abs(coefs[0]) for c in coefs) else 1
    if number != 1 and all(c < 0 for c in coefs):
        number = -number
    common = None
    for key in order:
        common = _shared(common, _scalar_atoms(s, rep[key]))
    if number == 1 and not common:
        return None
    inner = None
    for key in order:
        rest = rep[key]
        q = _Product()
        q.coef = ops._number(terms[key] / number)
        if rest is not None:
            base = s.product(rest) if rest.op in ("mul", "div", "pow") else None
            if base is not None:
                q.coef = ops._number(q.coef * base.coef)
                q.scalars = {a: j - common.get(a, 0) for a, j in base.scalars.items()
                             if j != common.get(a, 0)}
                q.matrices = dict(base.matrices)
            elif rest.shape != SCALAR or rest not in common:
                q.add_atom(rest, 1)
        term = _rebuild_product(q, e.shape)
        inner = term if inner is None else ops.add(inner, term)
    outer = _Product()
    outer.coef, outer.scalars = number, common
    return ops.mul(_rebuild_product(outer, SCALAR), inner)


def factor_hadamard(s: Simplifier, e: Expr):
    """a ⊙ b + a² ⊙ c = a ⊙ (b + a ⊙ c): a Hadamard factor of every term, to its lowest
    power, is written once.

    Each term must keep a factor that is not a number, so a + a ⊙ b stays (a ⊙ (1 + b)
    is no shorter). Scalars are factor_scalar's."""
    if e.shape == SCALAR:
        return None
    order, terms, rep = s.terms(e)
    if len(order) < 2:
        return None
    products = []
    common = None
    for key in order:
        rest = rep[key]
        if rest is None or rest.op not in ("mul", "div", "pow"):
            return None
        p = s.product(rest)
        products.append(p)
        common = _shared(common, p.matrices)
        if not common:
            return None
    inner = None
    for key, p in zip(order, products):
        q = _Product()
        q.coef = ops._number(terms[key] * p.coef)
        q.scalars = dict(p.scalars)
        q.matrices = {a: j - common.get(a, 0) for a, j in p.matrices.items()
                      if j != common.get(a, 0)}
        if not (q.scalars or q.matrices):
            return None
        term = _rebuild_product(q, e.shape)
        if _cancels_with(s, s.split_coefficient(term)[1], common):
            return None  # distribute_cancelling would undo it (the terms as it reads them)
        inner = term if inner is None else ops.add(inner, term)
    outer = _Product()
    outer.matrices = common
    return ops.mul(_rebuild_product(outer, e.shape), inner)


def _diagonal_of(s: Simplifier, rest):
    """(scalar factors, v) for a term c · diag(v), else None."""
    if rest is None:
        return None
    if rest.op == "diagmat":
        return {}, rest.children[0]
    if rest.op not in ("mul", "div"):
        return None
    p = s.product(rest)
    if len(p.matrices) != 1 or p.coef != 1:
        return None
    (atom, k), = p.matrices.items()
    return (dict(p.scalars), atom.children[0]) if atom.op == "diagmat" and k == 1 else None


def sum_of_diagonals(s: Simplifier, e: Expr):
    """diag(a) + c · diag(b) = diag(a + c · b): the diagonal matrices of a sum are one."""
    order, terms, rep = s.terms(e)
    diagonals = {k: _diagonal_of(s, rep[k]) for k in order}
    keys = [k for k in order if diagonals[k] is not None]
    if len(keys) < 2:
        return None
    inner = None
    for key in keys:
        scalars, v = diagonals[key]
        q = _Product()
        q.coef = terms[key]
        q.scalars = scalars
        q.add_atom(v, 1)
        term = _rebuild_product(q, v.shape)
        inner = term if inner is None else ops.add(inner, term)
    merged = make("diagmat", (inner,), (), e.shape)
    out = None
    for key in order:
        if key in keys[1:]:
            continue
        term = merged if key is keys[0] else _build_sum(s, [key], terms, rep, e.shape)
        out = term if out is None else ops.add(out, term)
    return out


def tanh_of_exponentials(s: Simplifier, e: Expr):
    """exp(u) / (exp(u) + exp(−u)) − exp(−u) / (exp(u) + exp(−u)) = tanh(u), and c times
    it (the gradient of log(exp(u) + exp(−u)))."""
    order, terms, rep = s.terms(e)
    if len(order) != 2 or terms[order[0]] != -terms[order[1]]:
        return None
    parts = []
    for key in order:
        rest = rep[key]
        if rest is None or rest.op != "div":
            return None
        p = s.product(rest)
        if p.scalars or len(p.matrices) != 2:
            return None
        (num, k), (den, j) = sorted(p.matrices.items(), key=lambda item: -item[1])
        if k != 1 or j != -1 or num.op != "fn" or num.params != ("exp",):
            return None
        parts.append((num.children[0], den))
    (u, d), (v, d2) = parts
    if d is not d2 or d.op != "add" or set(d.children) != {ops.fn("exp", u), ops.fn("exp", v)}:
        return None
    for up, down, c in ((u, v, terms[order[0]]), (v, u, terms[order[1]])):
        if down.op == "neg" and down.children[0] is up:
            return s.scaled(c, ops.fn("tanh", up)) if c != 1 else ops.fn("tanh", up)
    return None


_PRINT_MAX_NODES = 400  # beyond this many nodes written out, lengths are not compared


def _printed_length(e: Expr) -> int | None:
    """The length of e as matgrad prints it (what a person reads), or None where e
    written out as a tree has more than _PRINT_MAX_NODES nodes (a small DAG whose shared
    parts nest can print at any length)."""
    from .printing.text import TextPrinter
    printer = TextPrinter()
    if printer.written_size(e, _PRINT_MAX_NODES) > _PRINT_MAX_NODES:
        return None
    return len(printer(e))


def _reads_longer(new: Expr, old: Expr) -> bool:
    a, b = _printed_length(new), _printed_length(old)
    return a is not None and b is not None and a > b


def expand_if_shorter(s: Simplifier, e: Expr):
    """σ ⊙ (1 − y) − (1 − σ) ⊙ y = σ − y: products distributed over sums and terms
    collected, kept only where the result is smaller. Bounded to small sums."""
    if e.op != "add":
        return None
    order, terms, rep = s.terms(e)
    if len(order) < 2 or not any(_sum_factor(s, rep[k]) for k in order):
        return None
    size = _size_up_to(e, _EXPAND_MAX_NODES)
    if size > _EXPAND_MAX_NODES:
        return None
    pieces = []
    for key in order:
        c, rest = terms[key], rep[key]
        split = _sum_factor(s, rest)
        if split is None:
            pieces.append(s.scaled(c, rest) if rest is not None else
                          _build_sum(s, [key], {key: c}, {key: None}, e.shape))
            continue
        total, others = split
        other = _rebuild_product(others, rest.shape)
        inner_order, inner_terms, inner_rep = s.terms(total)
        for k in inner_order:
            part = (inner_rep[k] if inner_rep[k] is not None else one(rest.shape))
            pieces.append(ops.mul(ops.mul(ops.const(c * inner_terms[k]), other), part))
    expanded = pieces[0]
    for piece in pieces[1:]:
        expanded = ops.add(expanded, piece)
    # the expanded sum is simplified without expanding again, which could go on forever
    expanded = s.without("expand_if_shorter")(expanded)
    if _size_up_to(expanded, size) >= size or _reads_longer(expanded, e):
        return None  # kept only where it is smaller and reads no longer
    s.settle(expanded)
    return expanded


def neg_of_neg(s: Simplifier, e: Expr):
    """−(−x) = x."""
    (x,) = e.children
    return x.children[0] if x.op == "neg" else None


def neg_constant(s: Simplifier, e: Expr):
    """−(c) = −c: a negated number folds."""
    (x,) = e.children
    return ops.const(-x.params[0]) if is_const(x) else None


def neg_zero(s: Simplifier, e: Expr):
    """−0 = 0."""
    (x,) = e.children
    return x if is_zero(x) else None


# products (mul, div, pow)


_DISTRIBUTE_MAX_FACTORS = 12


def distribute_cancelling(s: Simplifier, e: Expr):
    """σ ⊙ (y / σ − 1) = y − σ: a product over a sum is distributed where a factor
    cancels against a term."""
    p = s.product(e)
    # Only short products gain from distributing; trying every sum factor of a long one
    # costs its length squared at every level of a chain (the Jacobian of tanh∘…∘tanh).
    if len(p.scalars) + len(p.matrices) > _DISTRIBUTE_MAX_FACTORS:
        return None
    for total, others in _sum_factors(s, e):
        mine = {**others.scalars, **others.matrices}
        order, terms, rep = s.terms(total)
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


def softmax_of_ratio(s: Simplifier, e: Expr):
    """exp(Z) / sum(exp(Z), axis=a) = softmax(Z, axis=a), and exp(v) / sum(exp(v)) =
    softmax(v) for a vector (operations.softmax.softmax_ratio finds the pair)."""
    p = s.product(e)
    named = softmax_ratio({**p.scalars, **p.matrices})
    if named is None:
        return None
    q = _Product()
    q.coef = p.coef
    for atom, k in named.items():
        q.add_atom(atom, k)
    return _rebuild_product(q, e.shape)


def tanh_quotient(s: Simplifier, e: Expr):
    """sinh(u) / cosh(u) = tanh(u) (and sinh(u)ᵏ / cosh(u)ᵏ = tanh(u)ᵏ, cosh(u)⁻¹ sinh(u)
    in any order of the factors)."""
    p = s.product(e)
    if p.zero:
        return None
    changed = False
    q = p.copy()
    for atom, k in list(q.scalars.items()) + list(q.matrices.items()):
        if atom.op != "fn" or atom.params != ("sinh",) or not (_is_int(k) and k > 0):
            continue
        u = atom.children[0]
        cosh = ops.fn("cosh", u)
        j = {**q.scalars, **q.matrices}.get(cosh, 0)
        if not (_is_int(j) and j < 0):
            continue
        t = min(k, -j)
        q.add_atom(atom, -t)
        q.add_atom(cosh, t)
        q.add_atom(ops.fn("tanh", u), t)
        changed = True
    return _rebuild_product(q, e.shape) if changed else None


def _one_plus_exp(s: Simplifier, d: Expr):
    """v where d = 1 + exp(v) (in either order), else None."""
    if d.op != "add":
        return None
    order, terms, rep = s.terms(d)
    if len(order) != 2 or any(terms[k] != 1 for k in order):
        return None
    rests = [rep[k] for k in order]
    if None not in rests:
        return None
    (f,) = [r for r in rests if r is not None]
    if f.op == "broadcast":
        f = f.children[0]
    return f.children[0] if f.op == "fn" and f.params == ("exp",) else None


def sigmoid_of_exponentials(s: Simplifier, e: Expr):
    """exp(u) / (1 + exp(u)) = σ(u) and 1 / (1 + exp(u)) = σ(−u) (to any whole power, the
    exponentials cancelled first): the logistic function, as the gradient of
    log(1 + exp(u)) is."""
    p = s.product(e)
    if p.zero:
        return None
    q = p.copy()
    changed = False
    for atom, k in list(q.scalars.items()) + list(q.matrices.items()):
        if not (_is_int(k) and k < 0):
            continue
        v = _one_plus_exp(s, atom)
        if v is None or v.shape != atom.shape:
            continue
        exp = ops.fn("exp", v)
        j = {**q.scalars, **q.matrices}.get(exp, 0)
        t = min(j, -k) if _is_int(j) and j > 0 else 0
        q.add_atom(atom, -k)
        if t:
            q.add_atom(exp, -t)
            q.add_atom(ops.fn("sigmoid", v), t)
        if -k - t:
            q.add_atom(ops.fn("sigmoid", ops.neg(v)), -k - t)
        changed = True
    return _rebuild_product(q, e.shape) if changed else None


def product_normal_form(s: Simplifier, e: Expr):
    """2 ⊙ (1/m) ⊙ x = 2/m · x and x ⊙ x = x²: the product normal form.

    c · Π dims · Π scalars · Π Hadamard factors, each factor once with its exponent,
    H(x)ᵖ = H(x) for p > 0 (a step is 0 or 1), and sqrt(x)^(2j) = x^j (where sqrt(x) is
    defined)."""
    out = _rebuild_product(s.product(e), e.shape)
    s.settle(out)
    return out


def pow_one(s: Simplifier, e: Expr):
    """x¹ = x."""
    return e.children[0] if e.params[0] == 1 else None


def pow_zero(s: Simplifier, e: Expr):
    """x⁰ = 1."""
    return one(e.shape) if e.params[0] == 0 else None


def pow_of_pow(s: Simplifier, e: Expr):
    """(x^a)^b = x^(ab) for an integer b."""
    (x,), (p,) = e.children, e.params
    if x.op == "pow" and _is_int(p):
        return ops.power(x.children[0], x.params[0] * p)
    return None


# transposes


def transpose_scalar(s: Simplifier, e: Expr):
    """aᵀ = a for a 1×1 a."""
    (x,) = e.children
    return x if x.shape == SCALAR else None


def double_transpose(s: Simplifier, e: Expr):
    """(Aᵀ)ᵀ = A."""
    (x,) = e.children
    return x.children[0] if x.op == "transpose" else None


def transpose_symmetric(s: Simplifier, e: Expr):
    """Sᵀ = S for a variable of a structure that is its own transpose (symmetric, spd,
    diagonal), Iᵀ = I and diag(v)ᵀ = diag(v)."""
    (x,) = e.children
    if structure_of(x) in SELF_TRANSPOSED or x.op in ("eye", "diagmat"):
        return x
    return None


def transpose_symmetric_value(s: Simplifier, e: Expr):
    """Aᵀ = A for a value symmetric by construction: (A Aᵀ)ᵀ = A Aᵀ, exp(L Lᵀ)ᵀ =
    exp(L Lᵀ), ((Xᵀ S X)⁻¹)ᵀ = (Xᵀ S X)⁻¹ for a symmetric S (see `is_symmetric`)."""
    (x,) = e.children
    return x if is_symmetric(x) else None


def transpose_constant(s: Simplifier, e: Expr):
    """0ᵀ = 0 and 1ᵀ = 1 (of the transposed shape)."""
    (x,) = e.children
    if x.op == "zeros":
        return ops.zeros(*e.shape)
    if x.op == "ones":
        return ops.ones(*e.shape)
    return None


def transpose_product(s: Simplifier, e: Expr):
    """(AB)ᵀ = BᵀAᵀ."""
    (x,) = e.children
    if x.op != "matmul":
        return None
    a, b = x.children
    return ops.matmul(ops.transpose(b), ops.transpose(a))


def transpose_scaled(s: Simplifier, e: Expr):
    """(cA)ᵀ = c Aᵀ and (A / c)ᵀ = Aᵀ / c for a scalar c."""
    (x,) = e.children
    if x.op in ("mul", "div"):
        a, b = x.children
        if _is_scalar_factor(a) or _is_scalar_factor(b):
            return make(x.op, (ops.transpose(a), ops.transpose(b)), (), e.shape)
        pulled = _scalar_factor(s, x)  # scalars nested in the product: (½ λ wᵀ)ᵀ = ½ λ w
        if pulled is not None:
            return ops.mul(pulled[0], ops.transpose(pulled[1]))
    return None


def transpose_neg(s: Simplifier, e: Expr):
    """(−A)ᵀ = −Aᵀ."""
    (x,) = e.children
    return ops.neg(ops.transpose(x.children[0])) if x.op == "neg" else None


def transpose_inverse(s: Simplifier, e: Expr):
    """(A⁻¹)ᵀ = (Aᵀ)⁻¹."""
    (x,) = e.children
    if x.op != "inv":
        return None
    return make("inv", (ops.transpose(x.children[0]),), x.params, e.shape)


def transpose_sum(s: Simplifier, e: Expr):
    """(A + B)ᵀ = Aᵀ + Bᵀ, where a term's transpose simplifies (a product, transpose or
    inverse); (x − μ)ᵀ stays, and so does a transposed elementwise function, so that a
    shared tanh(W x + b) is not rewritten as tanh(xᵀ Wᵀ + bᵀ)."""
    (x,) = e.children
    if x.op == "add" and _transposes_usefully(x):
        a, b = x.children
        return ops.add(ops.transpose(a), ops.transpose(b))
    return None


def transpose_broadcast(s: Simplifier, e: Expr):
    """(c 1ᵀ)ᵀ = c 1: a transposed broadcast is a broadcast of the transpose."""
    (x,) = e.children
    if x.op == "broadcast":
        return ops.broadcast(ops.transpose(x.children[0]), e.shape)
    return None


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


# matrix products


def matmul_zero(s: Simplifier, e: Expr):
    """0 B = A 0 = 0."""
    a, b = e.children
    return zero(e.shape) if is_zero(a) or is_zero(b) else None


def matmul_inverse(s: Simplifier, e: Expr):
    """A⁻¹ A = A A⁻¹ = I, also at the joint of a longer chain: (C A⁻¹) A = C."""
    a, b = e.children
    if _cancels(a, b):
        return ops.eye(a.shape[0])
    if a.op == "matmul" and _cancels(a.children[1], b):
        return a.children[0]
    if b.op == "matmul" and _cancels(a, b.children[0]):
        return b.children[1]
    return None


def _as_power(f: Expr):
    """(B, k) with f = Bᵏ for a square factor f of a chain: A is A¹, A⁻¹ is A⁻¹, and a
    transposed power (Aᵏ)ᵀ is a power of Aᵀ; None for a factor that is not square."""
    if f.shape[0] != f.shape[1] or f.shape == SCALAR:
        return None
    outer = f.op == "transpose" and f.children[0].op == "matrix_power"
    g = f.children[0] if outer else f
    if g.op == "matrix_power":
        base, k = g.children[0], g.params[0]
    elif g.op == "inv":
        base, k = g.children[0], -1
    else:
        return f, 1
    return (ops.transpose(base) if outer else base), k


def _power(base: Expr, k: int) -> Expr:
    """Bᵏ in normal form: B⁰ = I, B¹ = B, B⁻¹ = inv(B), and (Aᵀ)ᵏ written (Aᵏ)ᵀ."""
    if k == 0:
        return ops.eye(base.shape[0])
    if k == 1:
        return base
    if k == -1:
        return make("inv", (base,), (), base.shape)
    if base.op == "transpose":
        return ops.transpose(_power(base.children[0], k))
    return make("matrix_power", (base,), (k,), base.shape)


def matmul_power(s: Simplifier, e: Expr):
    """Aʲ Aᵏ = Aʲ⁺ᵏ (A¹ = A, A⁻¹ = inv(A)), also at the joint of a longer chain:
    B A (A C) = B A² C, and (A³)ᵀ Aᵀ = (A⁴)ᵀ. Exponents stay within |k| ≤ MAX_POWER."""
    a, b = e.children
    _, last, _, _ = s.ends(a)
    first, _, _, _ = s.ends(b)
    left, right = _as_power(last), _as_power(first)
    if left is None or right is None or left[0] is not right[0]:
        return None
    k = left[1] + right[1]
    if abs(k) > MAX_POWER:
        return None
    out = _power(left[0], k)
    if a is not last:
        out = ops.matmul(s.chain_without(a, -1), out)
    if b is not first:
        out = ops.matmul(out, s.chain_without(b, 0))
    return out


def power_of_transpose(s: Simplifier, e: Expr):
    """(Aᵀ)ᵏ = (Aᵏ)ᵀ."""
    (x,) = e.children
    if x.op != "transpose":
        return None
    return ops.transpose(make("matrix_power", (x.children[0],), e.params, e.shape))


def matmul_scalar_out(s: Simplifier, e: Expr):
    """(c A) B = A (c B) = c (A B) for a scalar c (not made of dimensions)."""
    a, b = e.children
    for i, side in enumerate((a, b)):
        pulled = _scalar_factor(s, side)
        if pulled is not None:
            c, rest = pulled
            inner = ops.matmul(rest, b) if i == 0 else ops.matmul(a, rest)
            return ops.mul(c, inner)
    return None


def matmul_inverse_of_product(s: Simplifier, e: Expr):
    """A (B A)⁻¹ = B⁻¹ and (A B)⁻¹ A = B⁻¹ for square A and B, at the joint of a chain:
    Aᵀ (Bᵀ Xᵀ Aᵀ)⁻¹ Bᵀ = X⁻ᵀ. (B A invertible with A, B square: both are invertible.)"""
    a, b = e.children
    _, last, _, _ = s.ends(a)
    first, _, _, _ = s.ends(b)
    for inverse, other, at_end in ((first, last, True), (last, first, False)):
        if inverse.op != "inv" or inverse.children[0].op != "matmul":
            continue
        if other.shape[0] != other.shape[1]:
            continue
        inner = matmul_factors(inverse.children[0])
        if (inner[-1] if at_end else inner[0]) is not other:
            continue
        rest = _chain_of(inner[:-1] if at_end else inner[1:])
        if rest.shape[0] != rest.shape[1]:
            continue
        left, right = matmul_factors(a), matmul_factors(b)
        new = make("inv", (rest,), inverse.params, rest.shape)
        factors = left[:-1] + [new] + right[1:]
        return _chain_of(factors)
    return None


def matmul_scaled_sum_out(s: Simplifier, e: Expr):
    """(c · (A + B)) C = c · ((A + B) C) and C (c · (A + B)) = c · (C (A + B)) for a
    scalar c, dimensions included: Xᵀ (1/m · (p − y)) = 1/m · Xᵀ (p − y)."""
    a, b = e.children
    for i, side in enumerate((a, b)):
        pulled = _scaled_sum(s, side)
        if pulled is not None:
            c, total = pulled
            inner = ops.matmul(total, b) if i == 0 else ops.matmul(a, total)
            return ops.mul(c, inner)
    return None


def matmul_quotient_sum(s: Simplifier, e: Expr):
    """aᵀ (b / a) = sum(a ⊙ b / a): written as a sum the quotient cancels."""
    a, b = e.children
    if a.op == "transpose" and a.shape[0] == 1 and b.shape[1] == 1 and b.op in ("mul", "div"):
        k = s.product(b).matrices.get(a.children[0], 0)
        if k < 0:
            return ops.sum(ops.mul(a.children[0], b))
    return None


def matmul_identity(s: Simplifier, e: Expr):
    """I B = B I = B and (cI) B = c B."""
    a, b = e.children
    for this, other in ((a, b), (b, a)):
        c = _scaled_identity(this)
        if c is not None:
            return other if is_const(c, 1) else ops.mul(c, other)
    return None


def matmul_neg(s: Simplifier, e: Expr):
    """(−A) B = A (−B) = −(A B)."""
    a, b = e.children
    if a.op == "neg":
        return ops.neg(ops.matmul(a.children[0], b))
    if b.op == "neg":
        return ops.neg(ops.matmul(a, b.children[0]))
    return None


def matmul_scalar(s: Simplifier, e: Expr):
    """a B = a ⊙ B for a 1×1 a: a 1×1 factor is a scalar."""
    a, b = e.children
    return ops.mul(a, b) if a.shape == SCALAR or b.shape == SCALAR else None


def matmul_ones(s: Simplifier, e: Expr):
    """1ᵀ B = sum(B, axis 0) and A 1 = sum(A, axis 1)."""
    a, b = e.children
    if a.op == "ones" and a.shape[0] == 1:
        return ops.sum(b, axis=0)
    if b.op == "ones" and b.shape[1] == 1:
        return ops.sum(a, axis=1)
    return None


def matmul_diag(s: Simplifier, e: Expr):
    """diag(h) B = h ⊙ B and A diag(h) = A ⊙ hᵀ (h broadcast along the rows or columns)."""
    a, b = e.children
    if a.op == "diagmat":
        return ops.mul(ops.broadcast(a.children[0], b.shape), b)
    if b.op == "diagmat":
        return ops.mul(a, ops.broadcast(ops.transpose(b.children[0]), a.shape))
    return None


# sums of entries


def sum_zero(s: Simplifier, e: Expr):
    """sum(0) = 0."""
    return zero(e.shape) if is_zero(e.children[0]) else None


def sum_unchanged(s: Simplifier, e: Expr):
    """sum(a) = a where nothing is summed (a scalar, or an axis of length 1)."""
    (x,) = e.children
    return x if x.shape == e.shape else None


def sum_numeric_factor(s: Simplifier, e: Expr):
    """sum(cA) = c sum(A) for a number c."""
    (x,), (axis,) = e.children, e.params
    pulled = _numeric_factor(s, x)
    if pulled is None:
        return None
    return ops.mul(ops.const(pulled[0]), ops.sum(pulled[1], axis))


def sum_scaled_sum(s: Simplifier, e: Expr):
    """sum(c · (A + B)) = c · sum(A + B) for a scalar c, dimensions included:
    sum(1/m · (p − y)) = 1/m · sum(p − y)."""
    (x,), (axis,) = e.children, e.params
    pulled = _scaled_sum(s, x)
    return None if pulled is None else ops.mul(pulled[0], ops.sum(pulled[1], axis))


def sum_inner_product(s: Simplifier, e: Expr):
    """sum(a ⊙ b) = aᵀ b for vectors a, b (a bᵀ for rows), and sum(a²) = aᵀ a."""
    (x,), (axis,) = e.children, e.params
    if axis is not None or x.op not in ("mul", "pow") or 1 not in x.shape or \
            x.shape == SCALAR:
        return None
    p = s.product(x)
    if p.zero or p.coef != 1 or p.scalars:
        return None
    if sum(p.matrices.values()) != 2 or any(k not in (1, 2) for k in p.matrices.values()):
        return None
    factors = [atom for atom, k in p.matrices.items() for _ in range(int(k))]
    if any(_has_differential(f) for f in factors):
        return None  # sum(G ⊙ dX) is the Frobenius product G : dX of a derivation's line
    # the transposed factor is the plainer one: yᵀ log(z), not log(z)ᵀ y
    u, v = sorted(factors, key=lambda f: f.op not in ("var", "transpose"))
    if x.shape[1] == 1:
        return ops.matmul(ops.transpose(u), v)
    return ops.matmul(u, ops.transpose(v))


def sum_whole(s: Simplifier, e: Expr):
    """sum(a, axis) = sum(a) for a vector summed along its length."""
    (x,), (axis,) = e.children, e.params
    return ops.sum(x) if axis is not None and e.shape == SCALAR else None


def sum_neg(s: Simplifier, e: Expr):
    """sum(−A) = −sum(A)."""
    (x,), (axis,) = e.children, e.params
    return ops.neg(ops.sum(x.children[0], axis)) if x.op == "neg" else None


def sum_transpose(s: Simplifier, e: Expr):
    """sum(Aᵀ) = sum(A)."""
    (x,), (axis,) = e.children, e.params
    return ops.sum(x.children[0]) if axis is None and x.op == "transpose" else None


def sum_ones(s: Simplifier, e: Expr):
    """sum(1ₘₓₙ) = m n (and along an axis, its length times ones)."""
    (x,), (axis,) = e.children, e.params
    if x.op != "ones":
        return None
    if e.shape != SCALAR:
        return ops.mul(_count(x.shape, axis), ops.ones(*e.shape))
    return _count(x.shape, axis)


def sum_broadcast(s: Simplifier, e: Expr):
    """sum(c 1ₘₓₙ) = m n c: summing along a stretched axis multiplies by its length."""
    (x,), (axis,) = e.children, e.params
    if x.op != "broadcast":
        return None
    y = x.children[0]
    if axis is None:
        return ops.mul(_count(x.shape, None, y.shape), ops.sum(y))
    if y.shape[axis] == 1 and y.shape == e.shape:
        return ops.mul(ops.dim_value(x.shape[axis]), y)
    return None


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


# broadcasts


def broadcast_zero(s: Simplifier, e: Expr):
    """broadcast(0) = 0."""
    return ops.zeros(*e.shape) if is_zero(e.children[0]) else None


def broadcast_one(s: Simplifier, e: Expr):
    """broadcast(1) = 1 (ones of the shape)."""
    (x,) = e.children
    return ops.ones(*e.shape) if is_const(x, 1) or x.op == "ones" else None


def broadcast_broadcast(s: Simplifier, e: Expr):
    """broadcast(broadcast(a)) = broadcast(a)."""
    (x,) = e.children
    return ops.broadcast(x.children[0], e.shape) if x.op == "broadcast" else None


def broadcast_neg(s: Simplifier, e: Expr):
    """broadcast(−a) = −broadcast(a)."""
    (x,) = e.children
    return ops.neg(ops.broadcast(x.children[0], e.shape)) if x.op == "neg" else None


# traces


def trace_scalar(s: Simplifier, e: Expr):
    """tr(a) = a for a 1×1 a."""
    (x,) = e.children
    return x if x.shape == SCALAR else None


def trace_zero(s: Simplifier, e: Expr):
    """tr(0) = 0."""
    return ops.const(0) if is_zero(e.children[0]) else None


def trace_transpose(s: Simplifier, e: Expr):
    """tr(Aᵀ) = tr(A)."""
    (x,) = e.children
    return ops.trace(x.children[0]) if x.op == "transpose" else None


def trace_numeric_factor(s: Simplifier, e: Expr):
    """tr(cA) = c tr(A) for a number c."""
    pulled = _numeric_factor(s, e.children[0])
    if pulled is None:
        return None
    return ops.mul(ops.const(pulled[0]), ops.trace(pulled[1]))


def trace_identity(s: Simplifier, e: Expr):
    """tr(cIₙ) = n c."""
    (x,) = e.children
    c = _scaled_identity(x)
    return None if c is None else ops.mul(ops.dim_value(x.shape[0]), c)


def trace_neg(s: Simplifier, e: Expr):
    """tr(−A) = −tr(A)."""
    (x,) = e.children
    return ops.neg(ops.trace(x.children[0])) if x.op == "neg" else None


def trace_diag(s: Simplifier, e: Expr):
    """tr(diag(v)) = sum(v)."""
    (x,) = e.children
    return ops.sum(x.children[0]) if x.op == "diagmat" else None


def trace_outer(s: Simplifier, e: Expr):
    """tr(a bᵀ) = bᵀ a (the cyclic property, for a product through a vector)."""
    (x,) = e.children
    if x.op == "matmul":
        a, b = x.children
        if a.shape[1] == 1:
            return ops.matmul(b, a)
    return None


# inverses and determinants


def double_inverse(s: Simplifier, e: Expr):
    """(A⁻¹)⁻¹ = A."""
    (x,) = e.children
    return x.children[0] if x.op == "inv" else None


def inverse_identity(s: Simplifier, e: Expr):
    """I⁻¹ = I."""
    (x,) = e.children
    return x if x.op == "eye" else None


def inverse_scalar(s: Simplifier, e: Expr):
    """a⁻¹ = 1 / a for a 1×1 a."""
    (x,) = e.children
    return ops.div(1, x) if x.shape == SCALAR else None


def regroup_chain_argument(s: Simplifier, e: Expr):
    """f(A (B C)) = f((A B) C): a matrix chain inside an inverse or a determinant is
    grouped from the left, so that equal chains are one node, (Xᵀ A X)⁻¹ once."""
    (x,) = e.children
    if x.op != "matmul":
        return None
    node = x
    while node.op == "matmul":
        if node.children[1].op == "matmul":
            break
        node = node.children[0]
    else:
        return None
    return make(e.op, (_chain_of(matmul_factors(x)),), e.params, e.shape)


def det_transpose(s: Simplifier, e: Expr):
    """det Aᵀ = det A (and log det Aᵀ = log det A)."""
    (x,) = e.children
    return make(e.op, (x.children[0],), (), e.shape) if x.op == "transpose" else None


def det_identity(s: Simplifier, e: Expr):
    """det I = 1 (and log det I = 0)."""
    (x,) = e.children
    if x.op != "eye":
        return None
    return ops.const(1) if e.op == "det" else ops.const(0)


def det_scalar(s: Simplifier, e: Expr):
    """det a = a for a 1×1 a."""
    (x,) = e.children
    return x if x.shape == SCALAR and e.op == "det" else None


# diagonals


def diag_of_diag(s: Simplifier, e: Expr):
    """diag(diag(v)) = v."""
    (x,) = e.children
    return x.children[0] if x.op == "diagmat" else None


def diag_transpose(s: Simplifier, e: Expr):
    """diag(Aᵀ) = diag(A)."""
    (x,) = e.children
    return make("diagvec", (x.children[0],), (), e.shape) if x.op == "transpose" else None


def diag_identity(s: Simplifier, e: Expr):
    """diag(I) = 1."""
    return ops.ones(e.shape[0], 1) if e.children[0].op == "eye" else None


def diag_zero(s: Simplifier, e: Expr):
    """diag(0) = 0 (of a matrix, and of a vector)."""
    return ops.zeros(*e.shape) if is_zero(e.children[0]) else None


def diagmat_numeric_factor(s: Simplifier, e: Expr):
    """diag(c v) = c diag(v) for a number c: −2 · diag(v), not diag(−2 · v)."""
    (v,) = e.children
    if v.op == "neg":
        return ops.neg(make("diagmat", v.children, (), e.shape))
    pulled = _numeric_factor(s, v)
    if pulled is None:
        return None
    return ops.mul(ops.const(pulled[0]), make("diagmat", (pulled[1],), (), e.shape))


def diagmat_ones(s: Simplifier, e: Expr):
    """diag(1) = I."""
    return ops.eye(e.shape[0]) if e.children[0].op == "ones" else None


# primary matrix functions (expm, logm, sqrtm) and their block operations


def matrix_function_transpose(s: Simplifier, e: Expr):
    """f(Aᵀ) = f(A)ᵀ for a primary matrix function f (expm, logm, sqrtm: a power series
    or a Cauchy integral in A, whose transpose is the same function of Aᵀ)."""
    (x,) = e.children
    return ops.transpose(make(e.op, (x.children[0],), (), e.shape)) \
        if x.op == "transpose" else None


def expm_zero(s: Simplifier, e: Expr):
    """expm(0) = I."""
    return ops.eye(e.shape[0]) if is_zero(e.children[0]) else None


def function_of_identity(s: Simplifier, e: Expr):
    """f(I) = f(1) I where that is 0 or I: logm(I) = 0, sqrtm(I) = I."""
    if e.children[0].op != "eye":
        return None
    at_one = float(block_functions.family(e.op).spec.value(np.ones((1, 1)), None)[0, 0])
    if at_one == 0.0:
        return zero(e.shape)
    return ops.eye(e.shape[0]) if at_one == 1.0 else None


def _commutes_with(e: Expr, a: Expr) -> bool:
    """Whether e commutes with a by how it is built: a itself or a function of a (its
    inverse, a power, expm, logm or sqrtm of it)."""
    if e is a:
        return True
    if e.op in ("inv", "matrix_power") or (block_functions.family(e.op) is not None and
                                            len(e.children) == 1):
        return e.children[0] is a
    return False


def frechet_commuting(s: Simplifier, e: Expr):
    """F_frechet(A, E) = f′(A) E for a direction E that commutes with A (c I, A, A⁻¹,
    Aᵏ, g(A)): expm_frechet(A, c I) = c e^A, logm_frechet(A, E) = A⁻¹ E and
    sqrtm_frechet(A, sqrtm(A)) = 1/2 · I."""
    if not block_functions.is_frechet(e):
        return None
    a, direction, _ = e.children
    derivative = block_functions.family(e.op).spec.derivative
    c = _scaled_identity(direction)
    if c is not None:
        value = derivative(a)
        return value if c.op == "const" and c.params[0] == 1 else ops.mul(c, value)
    if _commutes_with(direction, a):
        return ops.matmul(derivative(a), direction)
    return None


def block_zero(s: Simplifier, e: Expr):
    """F_block(…, 0, …) = 0 for a zero Cᵢ (linear in each)."""
    return zero(e.shape) if any(is_zero(c) for c in e.children[1::2]) else None


def block_scaled(s: Simplifier, e: Expr):
    """F_block(…, c Cᵢ, …) = c · F_block(…, Cᵢ, …) for a scalar c (linear in each
    Cᵢ)."""
    kids = e.children
    for i in range(1, len(kids), 2):
        direction = kids[i]
        if direction.shape == SCALAR or direction.op not in ("mul", "div", "neg"):
            continue
        if direction.op == "neg":
            return ops.neg(make(e.op, kids[:i] + (direction.children[0],) + kids[i + 1:],
                                e.params, e.shape))
        p = s.product(direction)
        if p.zero or not (p.scalars or p.coef != 1) or not p.matrices:
            continue
        scalar, rest = _Product(), _Product()
        scalar.coef, scalar.scalars = p.coef, p.scalars
        rest.matrices = p.matrices
        inner = _rebuild_product(rest, direction.shape)
        return ops.mul(_rebuild_product(scalar, SCALAR),
                       make(e.op, kids[:i] + (inner,) + kids[i + 1:], e.params, e.shape))
    return None


def trace_frechet(s: Simplifier, e: Expr):
    """tr F_frechet(A, E) = tr(f′(A) E): tr expm_frechet(A, E) = tr(e^A E),
    tr logm_frechet(A, E) = tr(A⁻¹ E) (the trace is invariant under the cycles of the
    Cauchy integral's (z − A)⁻¹ E (z − A)⁻¹ → (z − A)⁻² E)."""
    (x,) = e.children
    if not block_functions.is_frechet(x):
        return None
    a, direction, _ = x.children
    return ops.trace(ops.matmul(block_functions.family(x.op).spec.derivative(a), direction))


# the softmax family


def _split_shift(z: Expr, axis):
    """(rest, shift) where z = rest + shift and shift is the same all along the axis (a
    stretched scalar, or a row or column stretched along the axis), as the unstretched
    sum; None where z has no such term, or nothing else."""
    along = 0 if axis is None else axis
    rest, shift = [], []
    for term, sign in _addends(z):
        inner = term.children[0].shape if term.op == "broadcast" else None
        if inner is not None and (inner == SCALAR or inner[along] == 1):
            shift.append(term.children[0] if sign > 0 else ops.neg(term.children[0]))
        else:
            rest.append(term if sign > 0 else ops.neg(term))
    if not rest or not shift:
        return None
    total = shift[0]
    for t in shift[1:]:
        total = ops.add(total, t)
    body = rest[0]
    for t in rest[1:]:
        body = ops.add(body, t)
    return body, total


def softmax_shift(s: Simplifier, e: Expr):
    """softmax(z + c) = softmax(z) and log_softmax(z + c) = log_softmax(z) for c the same
    along the axis (softmax(z − max(z)) = softmax(z): the shift cancels in the ratio)."""
    (z,), (axis,) = e.children, e.params
    split = _split_shift(z, axis)
    return None if split is None else make(e.op, (split[0],), e.params, e.shape)


def logsumexp_shift(s: Simplifier, e: Expr):
    """logsumexp(z + c) = logsumexp(z) + c for c the same along the axis (the stabilised
    c + log sum exp(z − c) is logsumexp(z))."""
    (z,), (axis,) = e.children, e.params
    split = _split_shift(z, axis)
    if split is None:
        return None
    body, shift = split
    return ops.add(make(e.op, (body,), e.params, e.shape), ops.broadcast(shift, e.shape))


def sum_of_softmax(s: Simplifier, e: Expr):
    """sum(softmax(v)) = 1, and along the softmax's axis sum(softmax(Z, axis=a), axis=a)
    = 1 in every row (column); over all entries, the number of rows (columns)."""
    (x,), (axis,) = e.children, e.params
    if x.op != "softmax":
        return None
    (along,) = x.params
    if along is None:
        return ops.const(1) if axis is None else None
    if axis == along:
        return ops.ones(*e.shape)
    if axis is None:
        return ops.dim_value(x.shape[1 - along])
    return None


_SUMS = (factor_common, collect_terms, factor_scalar, tanh_of_exponentials, factor_hadamard,
         sum_of_diagonals, expand_if_shorter)
_PRODUCTS = (softmax_of_ratio, distribute_cancelling, tanh_quotient, sigmoid_of_exponentials,
             product_normal_form)

# The catalogue: operation -> its rewrites, tried in this order.
def linear_of_zero(s: Simplifier, e: Expr):
    """op(0) = 0 for a linear operation (vec(0) = 0, tril(0) = 0), and a multilinear one
    with a zero argument (kron(0, B) = 0): the facts of its declaration."""
    declared = registry.get(e.op)
    if declared is None or not (declared.linear or declared.multilinear):
        return None
    if any(is_zero(c) for c in e.children):
        return zero(e.shape)
    return None


RULES: dict = {
    "add": _SUMS,
    "neg": (neg_of_neg, neg_constant, neg_zero) + _SUMS,
    "mul": _PRODUCTS,
    "div": _PRODUCTS,
    "pow": (pow_one, pow_zero, pow_of_pow) + _PRODUCTS,
    "transpose": (transpose_scalar, double_transpose, transpose_symmetric,
                  transpose_symmetric_value,
                  transpose_constant, transpose_product, transpose_scaled, transpose_neg,
                  transpose_inverse, transpose_sum, transpose_broadcast),
    "matmul": (matmul_zero, matmul_inverse, matmul_power, matmul_scalar_out, matmul_scaled_sum_out,
               matmul_inverse_of_product, matmul_quotient_sum,
               matmul_identity, matmul_neg, matmul_scalar, matmul_ones, matmul_diag),
    "sum": (sum_zero, sum_unchanged, sum_numeric_factor, sum_scaled_sum,
            sum_inner_product, sum_whole, sum_neg,
            sum_transpose, sum_ones, sum_broadcast, sum_of_softmax),
    "broadcast": (broadcast_zero, broadcast_one, broadcast_broadcast, broadcast_neg),
    "trace": (trace_scalar, trace_zero, trace_transpose, trace_numeric_factor,
              trace_identity, trace_neg, trace_diag, trace_outer),
    "inv": (double_inverse, inverse_identity, inverse_scalar, regroup_chain_argument),
    "det": (det_transpose, det_identity, det_scalar, regroup_chain_argument),
    "logdet": (det_transpose, det_identity, det_scalar, regroup_chain_argument),
    "diagvec": (diag_of_diag, diag_transpose, diag_identity, diag_zero),
    "diagmat": (diagmat_ones, diag_zero, diagmat_numeric_factor),
    "expm": (expm_zero, matrix_function_transpose),
    "softmax": (softmax_shift,),
    "log_softmax": (softmax_shift,),
    "logsumexp": (logsumexp_shift,),
    "matrix_power": (power_of_transpose,),
}
RULES["trace"] += (trace_frechet,)
for _name in block_functions.names():  # logm, sqrtm and their blocks, as expm's
    _fam = block_functions.family(_name)
    if _name == _fam.block_operation.name:
        RULES[_name] = (block_zero, frechet_commuting, block_scaled)
    elif _name != "expm":
        RULES[_name] = (function_of_identity, matrix_function_transpose)

# every declared linear or multilinear operation folds a zero argument (after its own)
for _name, _op in registry.operations().items():
    if _op.linear or _op.multilinear:
        RULES[_name] = RULES.get(_name, ()) + (linear_of_zero,)

# name -> rewrite, every rewrite once
CATALOGUE: dict = {f.__name__: f for fs in RULES.values() for f in fs}


def simplify(e: Expr, *, disable=(), rules: dict | None = None,
             max_passes: int = MAX_PASSES) -> Expr:
    """The canonical compact form of an expression (same value everywhere it is defined).

    `disable` names rewrites of `CATALOGUE` to leave out, `rules` replaces the
    catalogue, `max_passes` bounds the rewrites in a row at one node (a
    `SimplifyBudgetWarning` says when it is reached).

    >>> import matgrad as mg
    >>> A = mg.matrix("A", 2, 3)
    >>> simplify((A.T).T - A)
    0₂ₓ₃
    >>> simplify((A.T).T - A, disable={"double_transpose"})
    (Aᵀ)ᵀ − A
    """
    return Simplifier(rules=rules, disable=disable, max_passes=max_passes)(e)
