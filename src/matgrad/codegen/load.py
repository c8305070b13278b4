"""Turning generated source into a callable: the one place matgrad runs Python code.

The source is printed by the code printers from matgrad's own expression trees; no text
from a person reaches it except variable names, which are identifiers by construction
(the parser and the constructors check them). It is compiled with the builtin
compile() and run in a fresh namespace holding nothing but what the source imports.
"""
from __future__ import annotations

import builtins
import itertools
import linecache

_counter = itertools.count(1)


def load(source: str, name: str):
    """The function `name` defined by generated `source`.

    >>> f = load("def double(x):\\n    return 2 * x\\n", "double")
    >>> f(21)
    42
    """
    filename = f"<matgrad generated {next(_counter)}>"
    # Generated from our own Expr, never from user text (see the module docstring):
    # compile with the builtin compile() and execute into a fresh namespace.
    code = builtins.compile(source, filename, "exec")
    namespace: dict = {"__name__": "matgrad_generated"}
    exec(code, namespace)  # noqa: S102 - our own generated code, see above
    # so that tracebacks through generated code show its lines
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    return namespace[name]
