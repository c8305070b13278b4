"""Naming shared subexpressions, so results print as compactly as a textbook answer.

A subexpression used more than once across the results (z = X w + b inside both relu(z)
and H(z); the back-propagated g inside all three gradients) is named once and referred
to by name. Names the user gave (assignments in the input) are kept.
"""
from __future__ import annotations

from .expr import Expr, references

FORWARD_NAMES = ("z", "u", "v", "p", "q", "r", "s", "t")
BACKWARD_NAMES = ("g", "h", "k")
_TRIVIAL = frozenset({"var", "const", "dim", "ones", "zeros", "eye"})
# Operations too light to justify a name on their own (a name for ŷ − y saves nothing).
_LIGHT = _TRIVIAL | {"neg", "transpose", "broadcast"}


def _eligible(e: Expr) -> bool:
    if e.op in _TRIVIAL or e.op == "broadcast":
        return False
    if e.op in ("transpose", "neg") and e.children[0].op in _TRIVIAL:
        return False
    return True


def fresh_names(base: tuple, taken: set):
    for name in base:
        if name not in taken:
            yield name
    i = 2
    while True:
        for name in base:
            if f"{name}{i}" not in taken:
                yield f"{name}{i}"
        i += 1


def name_shared(results: list, *, defined: dict | None = None, taken=(),
                forward: set | None = None) -> dict:
    """{subexpression: name} for the shared subexpressions of `results`, in an order
    where each definition only refers to earlier ones.

    `defined` maps expressions to names the user chose; `taken` are names in use
    (variables, dimensions); `forward` is the set of nodes of the original expression,
    so that back-propagated quantities get names from a different pool (g, h, ...).
    """
    defined = dict(defined or {})
    taken = set(taken) | set(defined.values())
    count, order = references(results)
    seen: set = set()
    out: dict = {}
    weight: dict = {}  # operations a node stands for, counting named nodes as leaves
    fresh_forward = fresh_names(FORWARD_NAMES, taken)
    fresh_backward = fresh_names(BACKWARD_NAMES, taken)
    for node in order:
        if node in seen:
            continue
        seen.add(node)
        weight[node] = (node.op not in _LIGHT) + sum(
            0 if c in out else weight.get(c, 0) for c in node.children)
        if node in defined:
            out[node] = defined[node]
        elif count.get(node, 0) >= 2 and _eligible(node) and weight[node] >= 2:
            is_forward = forward is None or node in forward
            out[node] = next(fresh_forward if is_forward else fresh_backward)
    return out
