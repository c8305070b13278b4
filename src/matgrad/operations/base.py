"""What the declarations share: the public constructor made from a declaration.

A declaration module states its operations with `registry.declare` and makes each
public function with `constructor`, so an operation's name is written once, in its
declaration.
"""
from __future__ import annotations

from .. import ops
from .. import registry
from ..dims import as_size, fmt_shape
from ..errors import MatgradError, ShapeError
from ..expr import Expr
from ..registry import short


def _size(operation: registry.Operation, s):
    """A size given to a call: a dimension (or its name, or the dimension written as an
    expression, as the parser builds it) or a positive whole number."""
    if isinstance(s, Expr):
        if s.op == "dim":
            return s.params[0]
        if s.op == "const" and s.params[0] == int(s.params[0]) and s.params[0] >= 1:
            return int(s.params[0])
        raise MatgradError(f"{operation.call}: a size must be a dimension name or a "
                           f"positive whole number, not {s}")
    try:
        return as_size(s)
    except MatgradError:
        raise MatgradError(f"{operation.call}: a size must be a dimension name or a "
                           f"positive whole number, not {s!r}") from None


def broadcast_together(args: tuple, call: str) -> tuple:
    """The arguments stretched to one shape, as + stretches its operands (a scalar, a row
    or a column broadcasts), or a ShapeError naming the call, the arguments and the axis.

    >>> import matgrad as mg
    >>> m, n = mg.dims("m n")
    >>> X, b = mg.matrix("X", m, n), mg.scalar("b")
    >>> [a.shape for a in broadcast_together((X, b), "maximum")]
    [(m, n), (m, n)]
    """
    shape = list(args[0].shape)
    for a in args[1:]:
        for axis, (p, q) in enumerate(zip(shape, a.shape)):
            if p == 1:
                shape[axis] = q
            elif q != 1 and q != p:
                which = "rows" if axis == 0 else "columns"
                described = ", ".join(f"{short(b)} is {fmt_shape(b.shape)}" for b in args)
                raise ShapeError(f"{call}({', '.join(short(b) for b in args)}): "
                                 f"{described}; the {which} differ and neither is 1, so "
                                 "they cannot be broadcast")
    return tuple(ops.broadcast(a, tuple(shape)) for a in args)


def constructor(operation: registry.Operation, doc: str, module: str, *, prepare=None):
    """The language's function for `operation`: checks the arguments' number, the
    keyword values and the shapes (by the declaration's signature), then builds the
    node. An operation with the fact "broadcasting" first stretches its arguments to one
    shape, as + does. `prepare(args, params)`, if given, may return other (args, params)
    for the same value (a normal form) or raise a clearer error. `doc` is its docstring
    (with examples, which the doctests of `module`, the declaring module, run)."""
    arity = operation.arity + len(operation.sizes)

    def build(*args, **keywords):
        if len(args) != arity:
            raise MatgradError(f"{operation.call} takes {arity} argument"
                               f"{'s' if arity != 1 else ''}, not {len(args)}")
        sizes = tuple(_size(operation, s) for s in args[operation.arity:])
        params = registry.keyword_params(operation, keywords, sizes)
        args = tuple(ops.to_expr(a) for a in args[:operation.arity])
        if "broadcasting" in operation.facts:
            args = broadcast_together(args, operation.call)
        if prepare is not None:
            args, params = prepare(args, params)
        return registry.build(operation, args, params)

    build.__name__ = build.__qualname__ = operation.call
    build.__doc__ = doc
    build.__module__ = module
    return registry.publish(build)
