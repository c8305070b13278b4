"""The expression node: an immutable, typed, hash-consed tree (a DAG).

A node is an operation name, its children, static parameters and its shape. Nodes are
interned: two structurally equal nodes are the same object, so equality is identity,
hashing is cached and shared subtrees cost nothing. Build nodes through `ops`, which
checks shapes; `make` here trusts its caller.
"""
from __future__ import annotations

import threading
import weakref

from .dims import Shape

_table: "weakref.WeakValueDictionary[tuple, Expr]" = weakref.WeakValueDictionary()
_lock = threading.Lock()


class Expr:
    """A matrix expression. Operators follow the language: + - * / ** @ and .T.

    Expressions are built with matgrad's functions (`matrix`, `vector`, `parse`, ...),
    never with `Expr()`. They are immutable and know their shape; equal expressions are
    the same object. `repr` prints the mathematics; `to_text(unicode=False)` the
    language, which parses back.

    >>> import matgrad as mg
    >>> m, n = mg.dims("m n")
    >>> X, w = mg.matrix("X", m, n), mg.vector("w", n)
    >>> e = (X @ w).T
    >>> e, e.shape
    ((X w)ᵀ, (1, m))
    >>> e is (X @ w).T
    True
    >>> print(e.to_text(unicode=False))
    (X @ w).T
    """

    __slots__ = ("op", "children", "params", "shape", "_hash", "_depth", "__weakref__")

    op: str
    children: tuple
    params: tuple
    shape: Shape

    def __init__(self):  # pragma: no cover - nodes come from make()
        raise TypeError("build expressions with matgrad's functions, not Expr()")

    # ---- structure -------------------------------------------------------------------
    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other) -> bool:  # interned: structural equality is identity
        return self is other

    def __ne__(self, other) -> bool:
        return self is not other

    def __reduce__(self):
        return (make, (self.op, self.children, self.params, self.shape))

    @property
    def rows(self):
        return self.shape[0]

    @property
    def cols(self):
        return self.shape[1]

    @property
    def depth(self) -> int:
        return self._depth

    @property
    def is_scalar(self) -> bool:
        return self.shape == (1, 1)

    @property
    def name(self) -> str | None:
        """The variable's name, for a variable; else None."""
        return self.params[0] if self.op == "var" else None

    # ---- display: delegated to the printers, imported lazily -------------------------
    def __repr__(self) -> str:
        from .printing.text import to_text
        return to_text(self)

    def __str__(self) -> str:
        from .printing.text import to_text
        return to_text(self)

    def _repr_latex_(self) -> str:
        from .printing.latex import to_latex
        return f"$${to_latex(self)}$$"

    def _repr_html_(self) -> str:
        from .display import expr_html
        return expr_html(self)

    def to_text(self, **kw) -> str:
        from .printing.text import to_text
        return to_text(self, **kw)

    def to_latex(self, **kw) -> str:
        from .printing.latex import to_latex
        return to_latex(self, **kw)

    # ---- operators: the language, implemented in ops ---------------------------------
    def __add__(self, other): from . import ops; return ops.add(self, other)
    def __radd__(self, other): from . import ops; return ops.add(other, self)
    def __sub__(self, other): from . import ops; return ops.sub(self, other)
    def __rsub__(self, other): from . import ops; return ops.sub(other, self)
    def __mul__(self, other): from . import ops; return ops.mul(self, other)
    def __rmul__(self, other): from . import ops; return ops.mul(other, self)
    def __truediv__(self, other): from . import ops; return ops.div(self, other)
    def __rtruediv__(self, other): from . import ops; return ops.div(other, self)
    def __pow__(self, other): from . import ops; return ops.power(self, other)
    def __rpow__(self, other): from . import ops; return ops.power(other, self)
    def __matmul__(self, other): from . import ops; return ops.matmul(self, other)
    def __rmatmul__(self, other): from . import ops; return ops.matmul(other, self)
    def __neg__(self): from . import ops; return ops.neg(self)
    def __pos__(self): return self

    @property
    def T(self):
        from . import ops
        return ops.transpose(self)

    def __bool__(self) -> bool:
        return True

    def __array__(self, *a, **k):
        raise TypeError("a matgrad expression is symbolic; use matgrad.evaluate for numbers")


def make(op: str, children: tuple = (), params: tuple = (), shape: Shape = (1, 1)) -> Expr:
    """The unique node with these fields (hash-consed). A constant's key holds its
    type too: 0.5 and the exact 1/2 are equal numbers but print differently (0.5, 1/2),
    and each must print back as itself."""
    key = (op, children, params, shape)
    if op == "const":
        key += (type(params[0]),)
    node = _table.get(key)
    if node is not None:
        return node
    with _lock:
        node = _table.get(key)
        if node is not None:
            return node
        node = object.__new__(Expr)
        object.__setattr__(node, "op", op)
        object.__setattr__(node, "children", children)
        object.__setattr__(node, "params", params)
        object.__setattr__(node, "shape", shape)
        object.__setattr__(node, "_hash", hash(key))
        object.__setattr__(node, "_depth", 1 + max((c._depth for c in children), default=0))
        _table[key] = node
        return node


def existing(op: str, children: tuple, params: tuple, shape: Shape) -> Expr | None:
    """The node with these fields if it has been built (and is still alive), else None;
    builds nothing. (Not for constants, whose key also holds their type.)"""
    return _table.get((op, children, params, shape))


def _frozen_setattr(self, name, value):
    raise AttributeError("matgrad expressions are immutable")


Expr.__setattr__ = _frozen_setattr  # type: ignore[assignment]


def walk(root: Expr, skip=()):
    """Every distinct node under root, children before parents (iterative, no recursion).
    Nodes in `skip` (a set or dict) are neither listed nor entered."""
    seen: set = set()
    order: list = []
    stack = [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if node in seen or node in skip:
            continue
        seen.add(node)
        stack.append((node, True))
        for c in reversed(node.children):
            if c not in seen and c not in skip:
                stack.append((c, False))
    return order


def substitute(e: Expr, mapping: dict) -> Expr:
    """e with the nodes in `mapping` replaced (iterative, shares rebuilt subtrees)."""
    if not mapping:
        return e
    out: dict = {}
    for node in walk(e):
        if node in mapping:
            out[node] = mapping[node]
            continue
        kids = tuple(out[c] for c in node.children)
        out[node] = node if kids == node.children else make(node.op, kids, node.params,
                                                              node.shape)
    return out[e]


def references(outputs, children=None) -> tuple[dict, list]:
    """(uses, order) over the union of the outputs' DAGs: how many parents (and outputs)
    use each node, and every distinct node once, children before parents. `children`
    chooses the edges counted (a node's children by default)."""
    uses: dict = {}
    order: list = []
    seen: set = set()
    for out in outputs:
        uses[out] = uses.get(out, 0) + 1
        for node in walk(out):
            if node in seen:
                continue
            seen.add(node)
            order.append(node)
            for c in (node.children if children is None else children(node)):
                uses[c] = uses.get(c, 0) + 1
    return uses, order


def matmul_factors(e: Expr) -> list:
    """The factors of a chain of matrix products, left to right, however it is grouped."""
    out, stack = [], [e]
    while stack:
        node = stack.pop()
        if node.op == "matmul":
            stack.append(node.children[1])
            stack.append(node.children[0])
        else:
            out.append(node)
    return out


def variables(root: Expr) -> list[Expr]:
    """The distinct variables of an expression, in order of first appearance."""
    return [n for n in walk(root) if n.op == "var"]


def dimensions(root: Expr) -> list:
    """The distinct named dimensions an expression mentions, in order of appearance."""
    from .dims import Dim, DimProduct, named
    out: list = []
    for n in walk(root):
        for s in n.shape + tuple(p for p in n.params if isinstance(p, (Dim, DimProduct))):
            for d in named(s):
                if d not in out:
                    out.append(d)
    return out
