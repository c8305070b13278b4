"""The tree both notations read into, before any name or shape is known.

A `Node` is what was written, with its place in the text: a number, a name, an operator
with its operands, a juxtaposition (`chain`) whose factors and function applications are
told apart only once the variables are known, a call written against its name
(`apply`). The builder resolves it and builds the expression.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(eq=False)
class Node:
    """kind: num, name, group, add, sub, neg, pos, mul, div, frob, chain, apply, transpose,
    sup (a numeric exponent), powexpr, invT, norm, abs, ones, zeros, eye;
    statement kinds: assign."""

    kind: str
    args: tuple = ()
    value: object = None
    start: int = 0
    end: int = 0
    extra: dict = field(default_factory=dict)

    @property
    def width(self) -> int:
        return max(1, self.end - self.start)


def span(nodes) -> tuple[int, int]:
    """The text positions covering the nodes."""
    return min(n.start for n in nodes), max(n.end for n in nodes)


def depth(root: Node) -> int:
    """The nesting depth of a tree, walked without recursion."""
    best, stack = 0, [(root, 1)]
    while stack:
        node, d = stack.pop()
        best = max(best, d)
        for child in node.args:
            if isinstance(child, Node):
                stack.append((child, d + 1))
        for child in node.extra.get("kwargs", {}).values():
            stack.append((child, d + 1))
    return best


# a norm's subscript, as written, -> the norm node's value: the ord it reads
# (‖X‖_F, ‖x‖₁, ‖x‖_∞, ‖X‖_*, ‖X‖₂)
NORM_SUBSCRIPTS = {"2": "2", "F": "F", "fro": "F", "1": "1", "∞": "inf", "inf": "inf",
                   "*": "*", "nuc": "*"}
