"""Lowering: rewrite expressions into the cheapest form to compute, before printing code.

The simplifier aims at what reads best on paper; this pass aims at what runs fastest.
Every rewrite keeps the value and is applied to all outputs together, with one memo, so
that a subexpression shared between the loss and its gradients stays shared:

* relu(x) = x ⊙ H(x) where the mask H(x) is needed anyway (by the gradient), so the
  comparison runs once;
* an outer product a bᵀ (inner dimension 1) is a broadcast Hadamard product, and a
  product with a 1×1 factor is a scaling: no matrix multiply for either;
* ones and zeros become broadcast constants, which elementwise code never materialises;
* diag(v) B = v ⊙ B and A diag(v) = A ⊙ vᵀ inside any product: no m×m matrix;
* tr(A B) = sum(A ⊙ Bᵀ) and diag(A B) = rowsums(A ⊙ Bᵀ): O(n²) instead of O(n³);
* (Aᵀ)⁻¹ = (A⁻¹)ᵀ, so that one inverse serves the loss and its gradient, and
  A⁻¹ B = solve(A, B) when the inverse is used nowhere else;
* chains of matrix products are re-associated in the cheapest order (see `contraction`);
* logsumexp and softmax are spelt out with their maximum subtracted, for backends without
  a native kernel;
* −(a ⊙ B) with a broadcast a negates a, not the product;
* Aᵀ (h ⊙ A) for a Heaviside mask h is (h ⊙ A)ᵀ (h ⊙ A), a symmetric product (the
  Gauss–Newton block Xᵀ diag(H(z)) X of a relu layer);
* diag(d) + B adds d to the diagonal of B when B is computed for this sum alone: one pass
  over an n×n array instead of three (the Hessian diag(p) − p pᵀ of logsumexp).

Some results use operations that exist only for code generation: `solve` (A⁻¹B) and
`add_diagonal` (B + diag(d)); the stable softmax family uses the language's `max`.
"""
from __future__ import annotations

from .. import ops, registry
from ..dims import SCALAR
from ..expr import Expr, make, walk
from ..expr import references as count_references
from .contraction import best_order, best_split



def references(outputs) -> dict:
    """How many times each node is used: by parents in the shared DAG and as an output."""
    return count_references(outputs)[0]


def _rebuild(node: Expr, kids: tuple) -> Expr:
    return node if kids == node.children else make(node.op, kids, node.params, node.shape)


def _max(x: Expr, axis=None) -> Expr:
    """The largest entry of x (along an axis): the language's max."""
    return registry.functions()["max"](x, axis=axis)


class _Primitives:
    """What a declaration's lowering may build beyond its own arguments: the largest
    entry (the language's max), for the stable logsumexp and softmax."""

    max = staticmethod(_max)


class Lowering:
    """Lower a list of outputs; `native` names operations the backend computes itself
    (e.g. {"logsumexp", "softmax"}); `sizes` estimates dimension sizes for ordering
    products (dimensions not given count as equal and large)."""

    def __init__(self, native=(), sizes: dict | None = None):
        self.native = frozenset(native)
        self.sizes = dict(sizes or {})
        self.ordered_chains = 0  # chains of three or more factors, ordered by size

    def __call__(self, outputs: list) -> tuple[list, dict]:
        """(lowered outputs, {original node: lowered node})."""
        originals = set()
        for out in outputs:
            originals.update(walk(out))
        self._masks = {n.children[0] for n in originals
                       if n.op == "fn" and n.params[0] == "heaviside"}
        memo: dict = {}
        for out in outputs:
            self._local(out, memo)
        first = [memo[o] for o in outputs]
        count = references(first)
        memo2: dict = {}
        for out in first:
            self._global(out, memo2, count)
        return [memo2[o] for o in first], {k: memo2[v] for k, v in memo.items() if v in memo2}

    # ---- pass 1: local rewrites ---------------------------------------------------------
    def _local(self, root: Expr, memo: dict) -> None:
        for node in walk(root):
            if node in memo:
                continue
            kids = tuple(memo[c] for c in node.children)
            memo[node] = self._rewrite_local(node, kids)

    def _rewrite_local(self, node: Expr, kids: tuple) -> Expr:
        op = node.op
        if op == "ones" and node.shape != SCALAR:
            return ops.broadcast(ops.const(1), node.shape)
        if op == "ones":
            return ops.const(1)
        if op == "zeros" and node.shape != SCALAR:
            return ops.broadcast(ops.const(0), node.shape)
        if op == "zeros":
            return ops.const(0)
        if op == "eye" and node.shape == SCALAR:  # the 1×1 identity is the number 1
            return ops.const(1)
        if op == "fn" and node.params[0] == "relu" and node.children[0] in self._masks:
            # the mask is computed for the gradient anyway: reuse it
            x = kids[0]
            return ops.mul(x, ops.fn("heaviside", x))
        if op == "inv" and kids[0].op == "transpose":
            # (Aᵀ)⁻¹ = (A⁻¹)ᵀ: one inverse serves both, and a transpose is free
            return ops.transpose(ops.inv(kids[0].children[0]))
        declared = registry.get(op)
        if declared is not None and declared.lowering is not None and op not in self.native:
            return declared.lowering(node, kids, _Primitives)
        return _rebuild(node, kids)

    # ---- pass 2: rewrites that depend on sharing ----------------------------------------
    def _global(self, root: Expr, memo: dict, count: dict) -> None:
        for node in walk(root):
            if node in memo:
                continue
            memo[node] = self._rewrite_global(node, memo, count)

    def _rewrite_global(self, node: Expr, memo: dict, count: dict) -> Expr:
        op = node.op
        if op == "matmul":
            return self._product(self._chain(node, count), memo, count)
        if op == "add":
            fused = self._add_diagonal(node, memo, count)
            if fused is not None:
                return fused
        if op == "neg":
            pushed = _negate_small_factor(memo[node.children[0]])
            if pushed is not None:
                return pushed
        if op in ("trace", "diagvec"):
            (x,) = node.children
            if x.op == "matmul" and count.get(x, 0) == 1:
                factors = self._chain(x, count)
                i = best_split([f.shape for f in factors], self.sizes)
                a = self._product(factors[:i], memo, count)
                b = self._product(factors[i:], memo, count)
                hadamard = ops.mul(a, ops.transpose(b))
                return ops.sum(hadamard) if op == "trace" else ops.sum(hadamard, axis=1)
        return _rebuild(node, tuple(memo[c] for c in node.children))

    def _add_diagonal(self, node: Expr, memo: dict, count: dict):
        """diag(d) + B as B with d added along its diagonal, when B is a fresh array used
        only here (so writing into it changes nothing else)."""
        a, b = node.children
        for diag, other in ((a, b), (b, a)):
            if diag.op == "diagmat" and other.op in _FRESH and count.get(other, 0) == 1:
                return make("add_diagonal", (memo[other], memo[diag.children[0]]), (),
                            node.shape)
        return None

    def _chain(self, node: Expr, count: dict) -> list:
        """The factors of a product chain, opening inner products used only here."""
        out: list = []
        stack = [node]
        while stack:
            n = stack.pop()
            if n.op == "matmul" and (n is node or count.get(n, 0) == 1):
                stack.append(n.children[1])
                stack.append(n.children[0])
            else:
                out.append(n)
        return out

    def _product(self, factors: list, memo: dict, count: dict) -> Expr:
        """The product of (unlowered) factors, in the cheapest order."""
        items = [(memo[f], f.op == "inv" and count.get(f, 0) == 1) for f in factors]
        items = _absorb_diagonals(items)
        if len(items) == 1:
            return items[0][0]
        if len(items) > 2:
            self.ordered_chains += 1
        tree = best_order([e.shape for e, _ in items], self.sizes)
        return self._build(tree, items)

    def _build(self, tree, items: list) -> Expr:
        if isinstance(tree, int):
            return items[tree][0]
        left = tree[0]
        b = self._build(tree[1], items)
        if isinstance(left, int) and items[left][1] and items[left][0].op == "inv":
            # A⁻¹ B: one solve, cheaper and better conditioned than forming the inverse
            A = items[left][0].children[0]
            return make("solve", (A, b), (), (A.shape[0], b.shape[1]))
        a = self._build(left, items)
        if a.shape == SCALAR or b.shape == SCALAR or a.shape[1] == 1:
            # a scaling, or an outer product: broadcasting, not a matrix multiply
            return ops.mul(a, b)
        if a.op == "transpose" and _masks(b, a.children[0]):
            # Aᵀ (h ⊙ A) = (h ⊙ A)ᵀ (h ⊙ A) for a 0/1 mask h (h² = h): a product of a
            # matrix with its own transpose, which BLAS computes at half the cost
            return ops.matmul(ops.transpose(b), b)
        return ops.matmul(a, b)


def _masks(b: Expr, a: Expr) -> bool:
    """Whether b = h ⊙ a with h a Heaviside step (each entry 0 or 1)."""
    if b.op != "mul":
        return False
    x, y = b.children
    for mask, other in ((x, y), (y, x)):
        inner = mask.children[0] if mask.op == "broadcast" else mask
        if other is a and inner.op == "fn" and inner.params[0] == "heaviside":
            return True
    return False


def _negate_small_factor(x: Expr):
    """−(a ⊙ B) = (−a) ⊙ B for a broadcast a (an outer product's column, say): the
    negation runs over a's few entries instead of over the whole product."""
    if x.op != "mul":
        return None
    a, b = x.children
    for small in (a, b):
        if small.op == "broadcast":
            negated = ops.broadcast(ops.neg(small.children[0]), small.shape)
            return ops.mul(negated, b) if small is a else ops.mul(a, negated)
    return None


# Operations whose printed code yields a new array, never a view of an input.
_FRESH = frozenset({"add", "neg", "mul", "div", "pow", "fn", "matmul"})


def _absorb_diagonals(items: list) -> list:
    """diag(v) B = v ⊙ B and A diag(v) = A ⊙ vᵀ: a diagonal matrix in a product scales
    its neighbour's rows or columns and is never built. Items are (factor, solvable)."""
    out: list = []
    pending = None  # a diagonal waiting for its right neighbour
    for e, solvable in items:
        if e.op == "diagmat" and len(items) > 1:
            v = e.children[0]
            if pending is not None:
                v = ops.mul(pending, v)
            pending = v
            continue
        if pending is not None:
            e, solvable = ops.mul(ops.broadcast(pending, e.shape), e), False
            pending = None
        out.append((e, solvable))
    if pending is not None and not out:  # a product of diagonals alone
        return [(ops.diag(pending), False)]
    if pending is not None:  # diagonals at the end scale the columns of what precedes
        e, _ = out.pop()
        out.append((ops.mul(e, ops.broadcast(ops.transpose(pending), e.shape)), False))
    return out


def lower(outputs: list, native=(), sizes: dict | None = None) -> tuple[list, dict]:
    """Lowered outputs and the map from original to lowered nodes.

    >>> import matgrad as mg
    >>> m, n = mg.dims("m n")
    >>> g, w = mg.vector("g", m), mg.vector("w", n)
    >>> lower([g @ w.T])[0][0].op          # an outer product is a broadcast product
    'mul'
    """
    return Lowering(native, sizes)(list(outputs))
