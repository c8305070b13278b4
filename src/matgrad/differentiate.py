"""Reverse mode: push the cotangent G backwards through the Frobenius product.

For each node, from the output down, the node's differential rule gives d(node) in terms
of its children's differentials; `rules.adjoint` turns G : d(node) into Σ Gᵢ : dchildᵢ.
Only nodes on a path to a requested variable are visited.
"""
from __future__ import annotations

from . import ops
from .errors import DomainError, MatgradError
from .expr import Expr, walk
from .rules import adjoint, differential, placeholder


def resolve(expr: Expr, x) -> Expr:
    """The variable `x` (an Expr or a name) as it appears in `expr`."""
    if isinstance(x, Expr):
        if x.op != "var":
            raise DomainError(f"can only differentiate with respect to a variable, not {x}")
        return x
    if isinstance(x, str):
        found = [n for n in walk(expr) if n.op == "var" and n.params[0] == x]
        if len(found) > 1:
            raise MatgradError(f"{x} appears with more than one shape in the expression")
        if found:
            return found[0]
        raise MatgradError(f"{x} does not appear in the expression; give the variable "
                           "itself (e.g. matgrad.matrix(...)) to differentiate by it")
    raise MatgradError(f"differentiate with respect to a variable or its name, not {x!r}")


def cotangents(output: Expr, wrt, seed: Expr | None = None) -> dict:
    """G for every node between `output` and the variables `wrt` (unsimplified).

    `seed` is the cotangent of the output itself (1 for a scalar loss).
    """
    targets = set(wrt)
    order = walk(output)
    relevant: set = set()
    for node in order:  # children first, so one pass decides dependence
        if node in targets or any(c in relevant for c in node.children):
            relevant.add(node)
    cot: dict = {output: seed if seed is not None else ops.const(1)}
    if output not in relevant:
        return cot
    for node in reversed(order):
        if node not in relevant or node.op == "var":
            continue
        g = cot.get(node)
        if g is None:
            continue
        holders: dict = {}
        d = []
        for i, c in enumerate(node.children):
            if c in relevant:
                holders.setdefault(c, placeholder(len(holders), c.shape))
                d.append(holders[c])
            else:
                d.append(None)
        D = differential(node, d)
        if D is None:
            continue
        child_of = {h: c for c, h in holders.items()}
        for h, gi in adjoint(D, g):
            c = child_of[h]
            prev = cot.get(c)
            cot[c] = gi if prev is None else ops.add(prev, gi)
    return cot


def symmetrize(x: Expr, g: Expr) -> Expr:
    """For a symmetric variable the gradient is the symmetric part (G + Gᵀ)/2."""
    if x.op == "var" and x.params[1]:
        return ops.div(ops.add(g, ops.transpose(g)), 2)
    return g


def raw_gradients(L: Expr, wrt: list) -> list:
    """Unsimplified gradients of scalar L with respect to each variable of `wrt`."""
    if not isinstance(L, Expr):
        L = ops.to_expr(L)
    if L.shape != (1, 1):
        raise DomainError(
            f"the gradient needs a scalar expression, but this one is "
            f"{L.shape[0]}×{L.shape[1]}; use jacobian for a vector or matrix")
    xs = [resolve(L, x) for x in wrt]
    cot = cotangents(L, xs)
    return [symmetrize(x, cot.get(x, ops.zeros(*x.shape))) for x in xs]


def gradients_and_cotangents(L: Expr, wrt, nodes=()) -> tuple[list, dict]:
    """Simplified gradients for `wrt`, and ∂L/∂node for each node of L in `nodes`
    (named intermediates), simplified together so that they share subexpressions."""
    from .simplify import Simplifier
    if L.shape != (1, 1):
        raise DomainError(
            f"the gradient needs a scalar expression, but this one is "
            f"{L.shape[0]}×{L.shape[1]}; use jacobian for a vector or matrix")
    xs = [resolve(L, x) for x in wrt]
    cot = cotangents(L, xs)
    s = Simplifier()
    grads = [s(symmetrize(x, cot.get(x, ops.zeros(*x.shape)))) for x in xs]
    inner = {n: s(cot[n]) for n in nodes if n in cot}
    return grads, inner


def grad(L: Expr, x, *, simplify: bool = True) -> Expr:
    """∂L/∂x for a scalar L: an expression with the shape of x.

    >>> import matgrad as mg
    >>> A, x = mg.matrix("A", 3, 3), mg.vector("x", 3)
    >>> mg.grad(x.T @ A @ x, x)
    (Aᵀ + A) x
    """
    return gradients(L, [x], simplify=simplify)[0]


def gradients(L: Expr, wrt, *, simplify: bool = True) -> list:
    """[∂L/∂x for x in wrt], derived in one reverse pass sharing all intermediates."""
    if isinstance(wrt, (Expr, str)):
        wrt = [wrt]
    gs = raw_gradients(L, list(wrt))
    if not simplify:
        return gs
    from .simplify import Simplifier
    s = Simplifier()
    return [s(g) for g in gs]
