"""One differential rule per operation, stated once.

`differential(node, d)` gives d(node) as an expression linear in the children's
differentials `d` (placeholder nodes; None where a child is constant). Gradients are
never written by hand: `adjoint` transposes these linear expressions through the
Frobenius product, G : D(dA) = D*(G) : dA, one linear operation at a time.
"""
from __future__ import annotations

import weakref

from . import ops, registry
from .elementwise import table
from .errors import MatgradError
from .expr import Expr, make

# Operations that are linear in their children: d op(A) = op(dA) (the arithmetic core's,
# and every declared operation that says so).
LINEAR = frozenset({"add", "neg", "broadcast", "transpose", "sum"}) | frozenset(
    name for name, op in registry.operations().items() if op.linear)
# Leaves whose differential is zero.
CONSTANT_LEAVES = frozenset({"const", "dim", "ones", "zeros", "eye"})


def placeholder(index: int, shape) -> Expr:
    """The differential of a node's child number `index`, as a leaf."""
    return make("dvar", (), (index,), shape)


def _plus(a, b):
    if a is None:
        return b
    if b is None:
        return a
    return ops.add(a, b)


def _linear(node: Expr, d):
    """d op(A, B, ...) = op(dA, dB, ...), with a constant child's differential zero."""
    if node.op == "add":
        return _plus(d[0], d[1])
    (da,) = d
    if node.op == "neg":
        return ops.neg(da)
    if node.op == "broadcast":
        return ops.broadcast(da, node.shape)
    if node.op == "transpose":
        return ops.transpose(da)
    if node.op == "sum":
        return ops.sum(da, node.params[0])
    return registry.build(registry.get(node.op), (da,), node.params)


def _mul(node, d):
    """d(A ⊙ B) = dA ⊙ B + A ⊙ dB."""
    a, b = node.children
    return _plus(d[0] and ops.mul(d[0], b), d[1] and ops.mul(a, d[1]))


def _div(node, d):
    """d(A / B) = dA / B − (A / B) ⊙ dB / B   (elementwise quotient)."""
    a, b = node.children
    left = d[0] and ops.div(d[0], b)
    right = d[1] and ops.neg(ops.mul(ops.div(node, b), d[1]))
    return _plus(left, right)


def _pow(node, d):
    """d(A^p) = p A^(p−1) ⊙ dA   (elementwise, constant p)."""
    (a,), (p,) = node.children, node.params
    return ops.mul(ops.mul(ops.const(p), ops.power(a, p - 1)), d[0])


def _matmul(node, d):
    """d(A B) = dA B + A dB."""
    a, b = node.children
    return _plus(d[0] and ops.matmul(d[0], b), d[1] and ops.matmul(a, d[1]))


def _fn(node, d):
    """d f(A) = f′(A) ⊙ dA for an elementwise f; f′ from the elementwise table."""
    (a,) = node.children
    row = table()[node.params[0]]
    return ops.mul(row.derivative(a, node, *node.params[1:]), d[0])


def reciprocal_of_norm(node) -> bool:
    """Whether node divides by a norm (x / ‖A‖, ‖A‖⁻ᵏ): where that norm is 0, evaluate
    and every code backend take the quotient as 0. That is the subgradient 0 of ‖A‖ at
    A = 0 (PyTorch's convention), where A/‖A‖ would be 0/0: the gradient of
    cos(‖relu(Cᵀx)‖) at a dead layer is 0, as its finite differences are, not NaN."""
    if node.op == "div":
        divisor = node.children[1]
        if divisor.op == "broadcast":
            divisor = divisor.children[0]
        return divisor.op == "norm"
    return node.op == "pow" and node.children[0].op == "norm" and node.params[0] < 0


RULES = {op: _linear for op in LINEAR}
RULES.update({"mul": _mul, "div": _div, "pow": _pow, "matmul": _matmul, "fn": _fn})
RULES.update({name: op.differential for name, op in registry.operations().items()
              if not op.linear})

# Every operation a node can have, and so every operation that needs a rule.
OPERATIONS = frozenset(RULES) | CONSTANT_LEAVES | {"var"}


def differential(node: Expr, d) -> Expr | None:
    """d(node) given the children's differentials (None for a constant child)."""
    if all(x is None for x in d):
        return None
    rule = RULES.get(node.op)
    if rule is None:
        raise MatgradError(f"no differential rule for the operation {node.op!r}")
    return rule(node, d)


# ---- transposition through the Frobenius product --------------------------------------


def _unbroadcast(g: Expr, shape) -> Expr:
    """The adjoint of broadcasting: sum over the stretched axes."""
    if g.shape == shape:
        return g
    if shape == (1, 1):
        return ops.sum(g)
    if shape[1] == 1:
        return ops.sum(g, axis=1)
    return ops.sum(g, axis=0)


def _memoized_bottom_up(leaf_value, combine):
    """A predicate on expressions computed children first, memoized across calls: nodes
    are immutable and interned, and the coefficient subtrees of successive rules
    overlap, so each node is visited once. Iterative, since coefficients can be deep."""
    memo: "weakref.WeakKeyDictionary[Expr, bool]" = weakref.WeakKeyDictionary()

    def predicate(e: Expr) -> bool:
        hit = memo.get(e)
        if hit is not None:
            return hit
        stack = [(e, False)]
        while stack:
            node, ready = stack.pop()
            if node in memo:
                continue
            if ready:
                memo[node] = combine(leaf_value(node), [memo[c] for c in node.children])
            else:
                stack.append((node, True))
                stack.extend((c, False) for c in node.children if c not in memo)
        return memo[e]

    return predicate


# Whether e contains a `dvar` (a differential).
_has_placeholder = _memoized_bottom_up(lambda n: n.op == "dvar",
                                       lambda own, kids: own or any(kids))
# No variables and no differentials under e: a number, whatever its spelling.
is_number = _memoized_bottom_up(lambda n: n.op not in ("var", "dvar"),
                                lambda own, kids: own and all(kids))


# The identities of the Frobenius product that `adjoint` applies, by key: the text a
# derivation prints beside the step that uses one. Stated here, beside the cases that
# apply them, so that a step's justification is the rule itself.
IDENTITIES = {
    "distribute": "A : (B + C) = A : B + A : C",
    "hadamard": "move the Hadamard factor: A : B ⊙ C = A ⊙ B : C",
    "frobenius": "sum(A ⊙ B) = A : B",
    "matmul-left": "A : BC = A Cᵀ : B",
    "matmul-right": "A : BC = Bᵀ A : C",
    "transpose": "A : Bᵀ = Aᵀ : B",
    "broadcast": "a broadcast's adjoint sums: A : b 1ᵀ = A 1 : b",
    "sum": "a : sum(B) = a 1 : B",
    "sum-rows": "a : B 1 = a 1ᵀ : B",
    "sum-columns": "a : 1ᵀ B = 1 a : B",
    "div": "A : B ⊘ C = (A ⊘ C) : B",
    "div-scalar": "A : B / c = (A / c) : B",
}
# and each linear declared operation's, stated in its declaration
IDENTITIES.update(dict(op.identity for op in registry.operations().values()
                       if op.linear or op.linear_in is not None))
IDENTITIES.update(dict(i for op in registry.operations().values() if op.multilinear
                       for i in op.partial_identities))
# Multilinear declared operations: linear in each argument with the others held.
MULTILINEAR = frozenset(name for name, op in registry.operations().items() if op.multilinear)

def adjoint(D: Expr, G: Expr, used: list | None = None) -> list[tuple[Expr, Expr]]:
    """Rewrite G : D, with D linear in placeholders, as Σ Gᵢ : dᵢ; returns [(dᵢ, Gᵢ)].

    Each case is one identity of the Frobenius product (keys of `IDENTITIES`, appended
    to `used` in the order they are applied, each once):
      G : (dA B) = G Bᵀ : dA          G : (A dB) = Aᵀ G : dB
      G : dAᵀ = Gᵀ : dA               G : (F ⊙ dA) = (F ⊙ G) : dA
      G : broadcast(dA) = Σ_axes G : dA   G : tr(dA) = G I : dA
    A part of D without a placeholder is zero (D is linear), so it contributes nothing.
    """
    linear_in = _has_placeholder
    out: list = []

    def note(key):
        if used is not None and key is not None and key not in used:
            used.append(key)

    work = [(D, G)] if linear_in(D) else []
    while work:
        e, g = work.pop()
        op = e.op
        if op == "dvar":
            out.append((e, g))
        elif op == "add":
            kids = [c for c in e.children if linear_in(c)]
            if len(kids) > 1:
                note("distribute")
            work.extend((c, g) for c in kids)
        elif op == "neg":
            work.append((e.children[0], ops.neg(g)))
        elif op == "mul":
            a, b = e.children
            if used is not None:
                note("frobenius" if is_number(g) else "hadamard")
            if linear_in(a):
                work.append((a, ops.mul(g, b)))
            if linear_in(b):
                work.append((b, ops.mul(a, g)))
        elif op == "div":
            a, b = e.children
            note("div-scalar" if b.shape == (1, 1) or b.op == "broadcast" else "div")
            work.append((a, ops.div(g, b)))
        elif op == "matmul":
            a, b = e.children
            if linear_in(a):
                note("matmul-left")
                work.append((a, ops.matmul(g, ops.transpose(b))))
            if linear_in(b):
                note("matmul-right")
                work.append((b, ops.matmul(ops.transpose(a), g)))
        elif op == "transpose":
            note("transpose")
            work.append((e.children[0], ops.transpose(g)))
        elif op == "broadcast":
            a = e.children[0]
            if a.shape != e.shape:
                note("broadcast")
            work.append((a, _unbroadcast(g, a.shape)))
        elif op == "sum":
            a = e.children[0]
            axis = e.params[0]
            note("sum" if e.shape == (1, 1) and a.shape != (1, 1) else
                 None if a.shape == e.shape else "sum-rows" if axis == 1 else "sum-columns")
            work.append((a, ops.broadcast(g, a.shape)))
        elif op in LINEAR:  # a declared linear operation: its own adjoint
            declared = registry.get(op)
            note(declared.identity[0])
            work.append((e.children[0], declared.adjoint(e, g)))
        elif _linear_in_one(e, linear_in):  # linear in one argument, the others fixed
            declared = registry.get(op)
            note(declared.identity[0])
            if callable(declared.linear_in):  # linear in each of several, one at a time
                (i,) = [i for i in declared.linear_positions(e) if linear_in(e.children[i])]
                work.append((e.children[i], declared.adjoint(e, g, i)))
            else:
                work.append((e.children[declared.linear_in], declared.adjoint(e, g)))
        elif op in MULTILINEAR:  # linear in the one argument that holds a differential
            declared = registry.get(op)
            held = [i for i, c in enumerate(e.children) if linear_in(c)]
            if len(held) != 1:
                raise MatgradError(f"internal: {op} has a differential in "
                                   f"{len(held)} arguments, so it is not linear")
            (i,) = held
            note(declared.partial_identities[i][0])
            work.append((e.children[i], declared.partial_adjoints[i](e, g)))
        else:
            raise MatgradError(f"internal: {op!r} is not linear, so it has no adjoint")
    return out


def _linear_in_one(e: Expr, linear_in) -> bool:
    """Whether e is a declared operation linear in one argument (`linear_in`) and only
    that argument holds a placeholder."""
    declared = registry.get(e.op)
    if declared is None or declared.linear_in is None:
        return False
    positions = declared.linear_positions(e)
    held = [i for i, c in enumerate(e.children) if linear_in(c)]
    return len(held) == 1 and held[0] in positions
