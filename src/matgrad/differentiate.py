"""Reverse mode: push the cotangent G backwards through the Frobenius product.

For each node, from the output down, the node's differential rule gives d(node) in terms
of its children's differentials; `rules.adjoint` turns G : d(node) into Σ Gᵢ : dchildᵢ.
Only nodes on a path to a requested variable are visited.
"""
from __future__ import annotations

from dataclasses import dataclass

from . import ops
from .dims import fmt_shape
from .errors import DomainError, MatgradError
from .expr import Expr, dimensions, substitute, variables, walk
from .intermediates import name_shared
from .rules import adjoint, differential, placeholder
from .structure import of as structure_of


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


@dataclass
class Visit:
    """One station of the reverse pass: with dL = G : dS, the differential dS = D of S's
    definition (in the differentials of the stations below) is substituted and G : D is
    transposed into Σ Gᵢ : dTᵢ. A derivation is the record of these visits."""

    node: Expr  # the station S
    collected: Expr  # ∂L/∂S: the terms that reached S, summed
    cotangent: Expr  # G: the same, or the name given to it
    differential: Expr  # D, in the differential leaves of the stations below
    segment: list  # the nodes whose differential rules built D, children first
    pushes: list  # [(station Tᵢ, Gᵢ)], grouped by station in order of first appearance
    identities: list  # keys of rules.IDENTITIES that the transposition used


def reverse_pass(output: Expr, wrt, *, seed: Expr | None = None, stations=None,
                 leaf=None, tidy=None, name=None, on_visit=None) -> dict:
    """∂L/∂S for every station S between `output` and the variables `wrt` (for the
    variables, the sum of the terms that reached them, untidied): the one reverse pass,
    behind gradients and derivations alike.

    By default every node is a station (plain reverse mode). A derivation passes its own
    `stations` (the nodes a reader names), `leaf(S)` (the differential dS as a leaf),
    `tidy` (the simplifier, applied to every D and G), `name(S, G)` (which may replace a
    cotangent by a name before it is pushed on) and `on_visit`, which receives each
    `Visit`. `seed` is the cotangent of the output itself (1 for a scalar loss).
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
    every = stations is None
    for S in reversed(order):
        if S not in relevant or S.op == "var" or not (every or S in stations):
            continue
        collected = cot.get(S)
        if collected is None:
            continue
        if tidy is not None:
            collected = cot[S] = tidy(collected)
        g = collected if name is None else name(S, collected)
        holders: dict = {}
        if every:  # the node's own rule, its children's differentials as placeholders
            segment = [S]
            d = []
            for c in S.children:
                if c in relevant:
                    holders.setdefault(c, leaf(c) if leaf else placeholder(len(holders),
                                                                           c.shape))
                    d.append(holders[c])
                else:
                    d.append(None)
            D = differential(S, d)
        else:
            segment, D = _segment_differential(S, relevant, stations, leaf, holders)
        if D is None:
            continue
        if tidy is not None:
            D = tidy(D)
        used: list | None = [] if on_visit is not None else None
        station_of = {h: c for c, h in holders.items()}
        pushes: list = []
        for h, gi in _in_order(adjoint(D, g, used)):
            c = station_of[h]
            if tidy is not None:
                gi = tidy(gi)
            prev = cot.get(c)
            cot[c] = gi if prev is None else ops.add(prev, gi)
            pushes.append((c, gi))
        if on_visit is not None:
            on_visit(Visit(S, collected, g, D, segment, pushes, used))
    return cot


def _in_order(pairs: list) -> list:
    """The adjoint's pairs, grouped by differential in order of first appearance."""
    first: dict = {}
    for d, _ in pairs:
        first.setdefault(d, len(first))
    return sorted(pairs, key=lambda p: first[p[0]])


def _segment_differential(S: Expr, relevant: set, stations, leaf, holders: dict):
    """(segment, dS) for S's definition down to the stations below it: the chain rule
    through every node in between, each by its own rule."""
    def opens(n) -> bool:  # the chain rule goes on below n
        return n is S or (n in relevant and n not in stations and n.op != "var")

    order: list = []  # the nodes of the segment, children first
    seen: set = set()
    stack = [(S, False)]
    while stack:
        n, ready = stack.pop()
        if ready:
            order.append(n)
            continue
        if n in seen:
            continue
        seen.add(n)
        stack.append((n, True))
        if opens(n):
            stack.extend((c, False) for c in reversed(n.children) if c not in seen)
    dmap: dict = {}
    segment: list = []
    for node in order:
        if node not in relevant:
            dmap[node] = None
        elif node is not S and (node in stations or node.op == "var"):
            holders.setdefault(node, leaf(node))
            dmap[node] = holders[node]
        else:
            dmap[node] = differential(node, [dmap.get(c) if c in relevant else None
                                             for c in node.children])
            segment.append(node)
    return segment, dmap[S]


def cotangents(output: Expr, wrt, seed: Expr | None = None) -> dict:
    """G for every node between `output` and the variables `wrt` (unsimplified).

    `seed` is the cotangent of the output itself (1 for a scalar loss).
    """
    return reverse_pass(output, wrt, seed=seed)


def symmetrize(x: Expr, g: Expr) -> Expr:
    """The gradient of a structured variable x from its unconstrained gradient g: the
    projection onto the matrices dx may be (see `matgrad.structure`), so that
    dL = P(g) : dx for every such dx:
    symmetric and spd: (g + gᵀ)/2;  lower: tril(g);  upper: triu(g);
    diagonal: diag(diag(g)). An unstructured x keeps g."""
    kind = structure_of(x)
    if kind in ("symmetric", "spd"):
        return ops.div(ops.add(g, ops.transpose(g)), 2)
    if kind == "lower":
        return ops.tril(g)
    if kind == "upper":
        return ops.triu(g)
    if kind == "diagonal":
        return ops.diag(ops.diag(g))
    return g


def raw_gradients(L: Expr, wrt: list) -> list:
    """Unsimplified gradients of scalar L with respect to each variable of `wrt`."""
    if not isinstance(L, Expr):
        L = ops.to_expr(L)
    if L.shape != (1, 1):
        raise DomainError(
            f"the gradient needs a scalar expression, but this one is "
            f"{fmt_shape(L.shape)}; use jacobian for a vector or matrix")
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
            f"{fmt_shape(L.shape)}; use jacobian for a vector or matrix")
    xs = [resolve(L, x) for x in wrt]
    cot = cotangents(L, xs)
    s = Simplifier()
    grads = [s(symmetrize(x, cot.get(x, ops.zeros(*x.shape)))) for x in xs]
    inner = {n: s(cot[n]) for n in nodes if n in cot}
    return grads, inner


@dataclass(frozen=True)
class NamedGradients:
    """The gradients of a loss with the names of its shared intermediates: what the
    presentations (`report`) and the generated code (`codegen`) are made of.

    `names` maps each shared subexpression (forward, z, ŷ, or back-propagated, g) to
    its name; `cotangents` maps each forward node that got one to its gradient G."""

    loss: Expr
    wrt: list
    gradients: list
    names: dict
    cotangents: dict


def named_gradients(L: Expr, wrt=None, *, definitions: dict | None = None,
                    loss_name: str = "L") -> NamedGradients:
    """The gradients of L with respect to `wrt` (default: every variable), from one
    reverse pass, and names for the intermediates they share: those `definitions`
    names, and a new name (z, u, ... forward; g, h, ... back-propagated) for each other
    shared subexpression."""
    if wrt is None:
        wrt = variables(L)
    elif isinstance(wrt, (Expr, str)):
        wrt = [wrt]
    xs = [resolve(L, x) for x in wrt]
    definitions = dict(definitions or {})
    forward = set(walk(L))
    named_nodes = [e for e in definitions.values() if e in forward]
    auto_candidates = [n for n in forward if n.op not in ("var", "const", "dim")]
    grads, cots = gradients_and_cotangents(L, xs, named_nodes + auto_candidates)
    taken = {v.params[0] for v in variables(L)} | {d.name for d in dimensions(L)}
    taken.add(loss_name)
    grads = _with_transposed_names(grads, named_nodes)
    by_expr = {e: n for n, e in definitions.items()}
    names = name_shared([L, *grads], defined=by_expr, taken=taken, forward=forward)
    return NamedGradients(L, xs, grads, names, cots)


def _with_transposed_names(grads: list, named: list) -> list:
    """The gradients with the simplified transpose of each named intermediate written as
    its transpose: for z = X − U Vᵀ, Xᵀ − V Uᵀ is zᵀ (the simplifier distributes the
    transpose over the sum, and the name would otherwise be lost)."""
    from .simplify import Simplifier
    s = Simplifier()
    mapping = {}
    for e in named:
        t = s(ops.transpose(e))
        if t.op != "transpose":
            mapping[t] = ops.transpose(e)
    if not mapping:
        return grads
    inside = set()
    for g in grads:
        inside.update(walk(g))
    mapping = {t: z for t, z in mapping.items() if t in inside}
    return [substitute(g, mapping) for g in grads] if mapping else grads


def grad(L: Expr, x, *, simplify: bool = True) -> Expr:
    """∂L/∂x for a scalar L: an expression with the shape of x.

    >>> import matgrad as mg
    >>> A, x = mg.matrix("A", 3, 3), mg.vector("x", 3)
    >>> mg.grad(x.T @ A @ x, x)
    (Aᵀ + A) x
    """
    return gradients(L, [x], simplify=simplify)[0]


def gradients(L: Expr, wrt, *, simplify: bool = True) -> list:
    """[∂L/∂x for x in wrt], derived in one reverse pass sharing all intermediates.

    >>> import matgrad as mg
    >>> m, n = mg.dims("m n")
    >>> X, w, y = mg.matrix("X", m, n), mg.vector("w", n), mg.vector("y", m)
    >>> mg.gradients(mg.sum((X @ w - y) ** 2), [X, w])
    [2 · (X w − y) wᵀ, 2 · Xᵀ (X w − y)]
    """
    if isinstance(wrt, (Expr, str)):
        wrt = [wrt]
    gs = raw_gradients(L, list(wrt))
    if not simplify:
        return gs
    from .simplify import Simplifier
    s = Simplifier()
    return [s(g) for g in gs]
