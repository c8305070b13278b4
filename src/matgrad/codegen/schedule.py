"""Scheduling: which values get a line of their own, in what order, under what name.

Generated code computes every distinct subexpression once. A node becomes a statement
(`z = X @ w + b`) when it is an output, when it is used more than once (so the loss and
all gradients share z, relu(z), the mask and g), when the person named it, when a kernel
must refer to it by name, or when its inline form would nest too deeply to read. All
other nodes are written inline in their single user.

Broadcasting is implicit in array code: an operand of `+ − ⊙ /` that is a broadcast
scalar, row or column is written as itself when the other operands already give the full
shape, so no ones-vector or stretched copy is ever built.
"""
from __future__ import annotations

import keyword
from dataclasses import dataclass, field

from .. import registry
from ..expr import Expr, references

ELEMENTWISE_BINARY = frozenset({"add", "mul", "div"})
MAX_INLINE_DEPTH = 6
# Names the generated module itself uses.
RESERVED = frozenset({"xp", "jnp", "jax", "torch", "np", "array_api_compat", "dtype",
                      "device", "grads", "math"})


def implicit_operands(node: Expr) -> frozenset:
    """Indices of node's broadcast operands that array broadcasting makes implicit."""
    if node.op not in ELEMENTWISE_BINARY and not _broadcasting(node.op):
        return frozenset()
    kids = node.children
    implicit = [i for i, c in enumerate(kids) if c.op == "broadcast"]

    def covered() -> bool:
        for axis in (0, 1):
            if not any(i not in implicit or kids[i].children[0].shape[axis] == node.shape[axis]
                       for i in range(len(kids))):
                return False
        return True

    while implicit and not covered():
        implicit.pop(0)  # stretch this one explicitly
    return frozenset(implicit)


def _broadcasting(op: str) -> bool:
    """Whether a declared operation is elementwise over broadcast arguments (maximum)."""
    declared = registry.get(op)
    return declared is not None and "broadcasting" in declared.facts


def value_children(node: Expr):
    """The nodes whose values node's code reads (an implicit broadcast reads its inner)."""
    implicit = implicit_operands(node)
    for i, c in enumerate(node.children):
        yield c.children[0] if i in implicit else c


def is_number(node: Expr, memo: dict) -> bool:
    """True for a scalar built from constants and dimensions only: a plain Python number
    in the generated code."""
    hit = memo.get(node)
    if hit is None:
        if node.op in ("const", "dim"):
            hit = True
        elif node.shape != (1, 1) or not node.children or node.op == "max":
            hit = False
        else:
            hit = all(is_number(c, memo) for c in node.children)
        memo[node] = hit
    return hit


def _cheap(node: Expr, numbers: dict) -> bool:
    """Free to repeat: a name, a literal, a transposed or negated name, a Python number
    whose expression has at most one operation."""
    if node.op in ("var", "const", "dim"):
        return True
    if node.op in ("transpose", "neg") and node.children[0].op in ("var", "const", "dim"):
        return True
    if is_number(node, numbers) and all(c.op in ("const", "dim") for c in node.children):
        return True
    return False


def identifier(name: str, taken: set) -> str:
    """A fresh Python identifier close to `name`, added to `taken`."""
    base = "".join(ch if ch.isalnum() or ch == "_" else "_" for ch in name) or "t"
    if not base.isidentifier():
        base = "v_" + base
    if keyword.iskeyword(base) or base in RESERVED:
        base += "_"
    out, i = base, 2
    while out in taken:
        out = f"{base}{i}"
        i += 1
    taken.add(out)
    return out


@dataclass
class Plan:
    """A straight-line program: `statements` assign names to nodes, in order."""

    outputs: list  # lowered output nodes, in the order given
    output_names: list  # the name each output is returned under
    arguments: list  # variable nodes, in signature order
    names: dict = field(default_factory=dict)  # node -> identifier (variables, dims, statements)
    dim_names: dict = field(default_factory=dict)  # Dim -> identifier
    statements: list = field(default_factory=list)  # (identifier, node)
    numbers: dict = field(default_factory=dict)  # memo for is_number
    returns: list = field(default_factory=list)  # the identifier holding each output


def schedule(outputs: list, output_names: list, arguments: list, *, hints=None,
             needs_named_operand=None, dims=(), reserved=()) -> Plan:
    """Plan the program computing `outputs`.

    `hints` maps nodes to names a person chose or that the report gave (z, yhat, g);
    `needs_named_operand(node)` says whether the printer refers to node's operand twice
    (e.g. `xp.astype(z > 0, z.dtype)`), so that it must be a name; `dims` are the
    dimensions the code uses; `reserved` are further names the module defines (the
    backend's helper functions), which no variable, size or statement may take.
    """
    hints = dict(hints or {})
    taken: set = set(reserved)
    plan = Plan(list(outputs), [], list(arguments))
    for v in arguments:
        plan.names[v] = identifier(v.params[0], taken)
    for d in dims:
        plan.dim_names[d] = identifier(d.name, taken)
    wanted = [identifier(n, taken) for n in output_names]
    plan.output_names = wanted

    # uses through value edges (an implicit broadcast passes its use to its operand)
    uses, order = references(outputs, value_children)
    must_name: set = set()
    for node in order:
        if needs_named_operand is not None and needs_named_operand(node):
            must_name.update(c for c in node.children if c.op not in ("var",))

    numbers = plan.numbers
    chosen: dict = {}
    for out, name in zip(outputs, wanted):
        chosen.setdefault(out, name)
    depth: dict = {}
    for node in order:
        if uses.get(node, 0) == 0:
            continue  # a broadcast written implicitly everywhere it is used
        inline_depth = 1 + max((depth[c] for c in value_children(node)), default=0)
        shared = uses[node] >= 2 or node in hints or node in must_name
        deep = inline_depth > MAX_INLINE_DEPTH
        if node in chosen or node.op == "var":
            pass
        elif (shared or deep) and not _cheap(node, numbers):
            chosen[node] = None  # named below, in program order
        depth[node] = 0 if node in chosen or node.op == "var" else inline_depth

    counter = 0
    for node in order:
        if node not in chosen or node.op == "var":
            continue  # a variable already has its name, even when it is an output
        name = chosen[node]
        if name is None:
            if node in hints:
                name = identifier(hints[node], taken)
            elif node.op == "fn" and node.params[0] == "heaviside":
                name = identifier("mask", taken)
            else:
                counter += 1
                name = identifier(f"t{counter}", taken)
        plan.statements.append((name, node))
        plan.names[node] = name
    plan.returns = [plan.names[out] for out in outputs]
    return plan
