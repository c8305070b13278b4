"""What the declarations share: the public constructor made from a declaration.

A declaration module states its operations with `registry.declare` and makes each
public function with `constructor`, so an operation's name is written once, in its
declaration.
"""
from __future__ import annotations

from .. import ops
from .. import registry
from ..errors import MatgradError


def constructor(operation: registry.Operation, doc: str, module: str):
    """The language's function for `operation`: checks the arguments' number, the
    keyword values and the shapes (by the declaration's signature), then builds the
    node. `doc` is its docstring (with examples, which the doctests of `module`, the
    declaring module, run)."""
    arity = len(operation.signature_for(
        tuple(k.default for k in operation.keywords)).args)

    def build(*args, **keywords):
        if len(args) != arity:
            raise MatgradError(f"{operation.call} takes {arity} argument"
                               f"{'s' if arity != 1 else ''}, not {len(args)}")
        params = registry.keyword_params(operation, keywords)
        return registry.build(operation, tuple(ops.to_expr(a) for a in args), params)

    build.__name__ = build.__qualname__ = operation.call
    build.__doc__ = doc
    build.__module__ = module
    return registry.publish(build)
