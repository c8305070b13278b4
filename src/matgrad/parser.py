"""Parsing the language: Python syntax, math semantics, never executed.

Text is read with Python's `ast` and walked over a whitelist of node types; anything
else is a ParseError with a caret under the offending column. Shapes that are not
declared are inferred in a first pass by unification (X @ w fixes w's rows; an operand
of + - * / next to a known shape takes that shape); a second pass builds the expression
with the ops constructors, which check every shape.
"""
from __future__ import annotations

import ast
import math
import warnings
from dataclasses import dataclass, field
from fractions import Fraction

from . import ops, registry
from .dims import Dim, as_size, named
from .elementwise import MAX_ORDER, ORDERED
from .elementwise import NAMES as ELEMENTWISE
from .errors import LimitError, MatgradError, ParseError, ShapeError
from .expr import Expr
from .recursion import room, steady
from .shapespec import parse_shapes

MAX_LENGTH = 100_000
MAX_DEPTH = 1000

def constants(name: str) -> dict:
    """The constant arguments (a number, inf or a quoted word) that the published
    function `name` takes after its expressions, by keyword, each with the function that
    checks and normalises its value: norm's ord, as in norm(x, 1), norm(X, "nuc"),
    norm(x, ord=inf)."""
    return dict(getattr(registry.functions().get(name), "constants", {}))


def _declared_functions() -> dict:
    """(min args, max args, keywords) of each declared operation's function; an axis
    may also be given as the last positional argument, as for sum, and so may a
    constant argument (norm(x, 1))."""
    out = {}
    for name, declared in registry.calls().items():
        op = declared[0]
        arity = op.arity + len(op.sizes)
        arity += sum(k.positional for k in op.keywords)  # numbers after the arrays
        keywords = tuple(k.name for k in op.keywords if not (k.positional or k.counted)) \
            + tuple(constants(name))
        most = arity + ("axis" in keywords) + len(constants(name))
        for k in op.keywords:  # as many arguments as the counted values allow
            if k.counted is not None:
                most = max(len(op.signature_for(tuple(v if other is k else other.default
                                                      for other in op.keywords)).args)
                           for v in k.values)
        out[name] = (arity, most, keywords)
    return out


# name -> (min args, max args, keyword arguments allowed)
FUNCTIONS = {
    "sum": (1, 2, ("axis",)), "mean": (1, 2, ("axis",)), "outer": (2, 2, ()),
    "dot": (2, 2, ()), "eye": (1, 1, ()), "ones": (1, 2, ()), "zeros": (1, 2, ()),
    **_declared_functions(),
    **{name: (2, 2, ()) if name in ORDERED else (1, 1, ()) for name in ELEMENTWISE},
}
# the functions that take an axis (as a keyword or as their last positional argument)
AXIS_FUNCTIONS = frozenset(name for name, (_, _, kws) in FUNCTIONS.items() if "axis" in kws)
CONSTRUCTORS = ("eye", "ones", "zeros")
_BINOPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.MatMult: "@",
           ast.Pow: "**"}


@dataclass
class Program:
    """A parsed input: the result, the named intermediates and the shapes used."""

    result: Expr
    definitions: dict = field(default_factory=dict)  # name -> Expr, in order
    result_name: str | None = None
    variables: dict = field(default_factory=dict)  # name -> Expr
    inferred: tuple = ()  # names whose shapes were inferred
    source: str = ""
    notation: str = "python"  # the notation it was read in: python, math, latex, matrixcalculus


# ---- positions --------------------------------------------------------------------------


class _Source:
    def __init__(self, text: str):
        self.text = text
        self.line_starts = [0]
        for i, ch in enumerate(text):
            if ch == "\n":
                self.line_starts.append(i + 1)

    def index(self, lineno: int, byte_col: int) -> int:
        start = self.line_starts[lineno - 1]
        end = self.text.find("\n", start)
        line = self.text[start: end if end >= 0 else len(self.text)]
        return start + len(line.encode("utf-8")[:byte_col].decode("utf-8", "replace"))

    def span(self, node) -> tuple[int, int]:
        a = self.index(node.lineno, node.col_offset)
        end_line = getattr(node, "end_lineno", None) or node.lineno
        end_col = getattr(node, "end_col_offset", None)
        b = self.index(end_line, end_col) if end_col is not None else a + 1
        return a, max(1, b - a)

    def error(self, cls, message: str, node) -> MatgradError:
        col, width = self.span(node)
        return cls(message, source=self.text, column=col, width=width)


# ---- pass 1: shape inference by unification ---------------------------------------------


class Unknown:
    __slots__ = ("label",)

    def __init__(self, label: str):
        self.label = label


class Sizes:
    """Union-find over sizes: Dims and ints are known; _Unknowns are to be solved."""

    def __init__(self):
        self.parent: dict = {}

    def find(self, s):
        while isinstance(s, Unknown) and s in self.parent:
            s = self.parent[s]
        return s

    def unify(self, a, b) -> None:
        a, b = self.find(a), self.find(b)
        if a is b or a == b:
            return
        if isinstance(a, Unknown):
            self.parent[a] = b
        elif isinstance(b, Unknown):
            self.parent[b] = a
        # two known sizes that differ: pass 2 reports it with the operands' shapes

    def known(self, s) -> bool:
        return not isinstance(self.find(s), Unknown)


def call_shape(sizes, name: str, args: list, axis, fail, given=()) -> tuple:
    """The shape (rows, cols) of a call of the language's function `name` on arguments
    of shapes `args`, unifying what the function requires of them in `sizes` (the shape
    rules of the functions, shared by every notation's reader); `given` are the sizes
    written after the arguments (unvec(v, m, n)); `fail(message)` is the located error
    to raise."""
    if name in ("sum", "mean"):
        r, c = args[0]
        return (1, 1) if axis is None else ((1, c) if axis == 0 else (r, 1))
    if name == "diag":  # a vector's diagonal matrix, or a square matrix's diagonal
        r, c = (sizes.find(s) for s in args[0])
        if c == 1 and r != 1:
            return (r, r)
        if sizes.known(r) and sizes.known(c):
            return (r, 1)
        if not sizes.known(c):
            raise fail("cannot tell whether the argument of diag is a vector or a matrix; "
                       "declare its shape")
        sizes.unify(r, c)
        return (r, 1)
    if name in ("outer", "dot"):
        (ar, ac), (br, bc) = args
        sizes.unify(ac, 1)
        sizes.unify(bc, 1)
        if name == "dot":
            sizes.unify(ar, br)
            return (1, 1)
        return (ar, br)
    declared = registry.calls().get(name)
    if declared is not None and "broadcasting" in declared[0].facts:  # maximum(a, b)
        out = args[0]
        for a in args[1:]:
            out = broadcast_shape(sizes, out, a)
        return out
    if declared is not None:  # the declaration's own rule, the constructor's too
        op = declared[0]
        keywords = op.params_for(len(args), {"axis": axis})
        if keywords is None:
            raise fail(f"{name} does not take {len(args)} arguments")
        params = tuple(given) + keywords
        count = len(op.signature_for(params).args)
        return registry.infer_shape(op, args[:count], params, sizes.unify, sizes.find,
                                    Unknown)
    return args[-1]  # elementwise, after the order of polygamma(k, x)


def broadcast_shape(sizes, a, b) -> tuple:
    """The shape of an elementwise operation on shapes a and b (+, maximum): an
    undeclared operand takes the other operand's shape, unless that one is a scalar
    (which broadcasts)."""
    if all(sizes.find(s) == 1 for s in a):
        return b
    if all(sizes.find(s) == 1 for s in b):
        return a
    out = []
    for p, q in zip(a, b):
        fp, fq = sizes.find(p), sizes.find(q)
        if isinstance(fp, Unknown) or isinstance(fq, Unknown):
            sizes.unify(fp, fq)
            out.append(sizes.find(fp))
        else:
            out.append(fq if fp == 1 else fp)
    return tuple(out)


def apply_function(name: str, args: list, axis, given: dict | None = None):
    """The language's function `name` applied to built arguments (an axis where the
    function takes one, and the constant arguments `given`, by keyword), for every
    notation's reader."""
    if name in ("sum", "mean"):
        return getattr(ops, name)(args[0], axis)
    if name in ELEMENTWISE:
        return ops.fn(name, args[0])
    published = registry.functions().get(name)
    if published is not None:
        args, numbers = _numbers_after(name, args)
        return published(*args, **numbers, **({} if axis is None else {"axis": axis}),
                         **(given or {}))
    return getattr(ops, name)(*args)


def _numbers_after(name: str, args: list) -> tuple:
    """(the arrays, {keyword: value}) of a call of a declared function whose last
    arguments are whole numbers as written (the k of matrix_power(A, k))."""
    declared = registry.calls().get(name)
    wanted = [k for k in declared[0].keywords if k.positional] if declared else []
    if not wanted:
        return args, {}
    head, tail = args[:len(args) - len(wanted)], args[len(args) - len(wanted):]
    numbers = {}
    for k, e in zip(wanted, tail):
        sign = 1
        if e.op == "neg":
            sign, e = -1, e.children[0]
        value = e.params[0] if e.op == "const" else None
        if not (isinstance(value, int) or (isinstance(value, Fraction)
                                           and value.denominator == 1)):
            raise MatgradError(f"{name}: {k.name} must be a whole number written as a "
                               f"number, as {name}(A, 3), not {e}")
        numbers[k.name] = sign * int(value)
    return head, numbers


class _Infer(ast.NodeVisitor):
    """Pass 1: a shape (pair of sizes) for every node, solving undeclared variables."""

    def __init__(self, src: _Source, declared: dict, dim_names: set):
        self.src = src
        self.sizes = Sizes()
        self.types: dict = {}
        for name, (r, c, _structure) in declared.items():
            self.types[name] = (r, c)
        self.unknown_vars: dict = {}  # name -> first ast node
        self.dim_names = dim_names
        self.locals: dict = {}

    def visit_Name(self, node):
        name = node.id
        if name in self.locals:
            return self.locals[name]
        if name in self.types:
            return self.types[name]
        if name in self.dim_names:
            return (1, 1)
        shape = (Unknown(name + ".rows"), Unknown(name + ".cols"))
        self.types[name] = shape
        self.unknown_vars[name] = node
        return shape

    def visit_Constant(self, node):
        return (1, 1)

    def visit_UnaryOp(self, node):
        return self.visit(node.operand)

    def visit_Attribute(self, node):
        r, c = self.visit(node.value)
        return (c, r)

    def _elementwise(self, a, b):
        """An undeclared operand of + - * / takes the other operand's shape, unless that
        one is a scalar (which broadcasts)."""
        return broadcast_shape(self.sizes, a, b)

    def visit_BinOp(self, node):
        a, b = self.visit(node.left), self.visit(node.right)
        if isinstance(node.op, ast.MatMult):
            self.sizes.unify(a[1], b[0])
            return (a[0], b[1])
        if isinstance(node.op, ast.Pow):
            return a if b == (1, 1) or self._is_scalar(b) else self._elementwise(a, b)
        return self._elementwise(a, b)

    def _is_scalar(self, t) -> bool:
        return all(self.sizes.find(s) == 1 for s in t)

    def visit_Call(self, node):
        name = node.func.id
        if name in CONSTRUCTORS:
            sizes = [_literal_size(self.src, a, self.dim_names) for a in node.args]
            if name == "eye":
                return (sizes[0], sizes[0])
            return (sizes[0], sizes[1] if len(sizes) > 1 else 1)
        declared = registry.calls().get(name)
        if declared and declared[0].sizes:  # unvec(v, m, n): sizes after the arguments
            arity = declared[0].arity
        elif constants(name):  # norm(x, 1): the constant is not an expression
            arity = FUNCTIONS[name][0]
        else:
            arity = len(node.args)
        given = [_size_argument(self.src, a, self.types) for a in node.args[arity:]] \
            if declared and declared[0].sizes else []
        args = [self.visit(a) for a in node.args[:arity]]
        axis = _axis(self.src, node)
        return call_shape(self.sizes, name, args, axis,
                          lambda message: self.src.error(ShapeError, message, node), given)

    def generic_visit(self, node):  # pragma: no cover - the whitelist runs first
        raise self.src.error(ParseError, "this is not part of the language", node)


def _axis(src: _Source, call: ast.Call):
    axis = None
    if call.func.id not in AXIS_FUNCTIONS:  # dot(x, y), outer(x, y): no axis
        return axis
    if len(call.args) == 2:
        axis_node = call.args[1]
    else:
        axis_node = next((k.value for k in call.keywords if k.arg == "axis"), None)
    if axis_node is not None:
        if isinstance(axis_node, ast.Constant) and axis_node.value in (0, 1) and \
                type(axis_node.value) is int:
            axis = axis_node.value
        elif isinstance(axis_node, ast.Constant) and axis_node.value is None:
            axis = None
        elif call.func.id in ("max", "min") and len(call.args) == 2:
            pair = "maximum" if call.func.id == "max" else "minimum"
            raise src.error(ParseError, f"the second argument of {call.func.id} is an "
                            f"axis, 0 or 1; the elementwise {pair} of two arrays is "
                            f"{pair}(a, b)", axis_node)
        else:
            raise src.error(ParseError, "axis must be 0 or 1", axis_node)
    return axis


def constant_nodes(call: ast.Call) -> dict:
    """The ast nodes of the constant arguments of a call of a function that takes some
    (by keyword); these are read as constants, never as names."""
    names = list(constants(call.func.id))
    lo = FUNCTIONS[call.func.id][0]
    given = dict(zip(names, call.args[lo:]))
    given.update({k.arg: k.value for k in call.keywords if k.arg in names})
    return given


def _constant_values(src: _Source, call: ast.Call) -> dict:
    """The constant arguments' values, each read and checked where it is written: a
    number, inf or a quoted word."""
    checks = constants(call.func.id)
    out = {}
    for key, node in constant_nodes(call).items():
        value = _UNREADABLE
        if isinstance(node, ast.Constant) and not isinstance(node.value, bool) and \
                isinstance(node.value, (str, int, float)):
            value = node.value
        elif isinstance(node, ast.Name) and node.id == "inf":
            value = math.inf
        if value is _UNREADABLE:
            raise src.error(ParseError, f"{key} is written as a constant: a number, inf or "
                            f"a quoted word, as {call.func.id}(x, 1), {call.func.id}(x, inf) "
                            f"or {call.func.id}(X, \"nuc\")", node)
        try:
            out[key] = checks[key](value)
        except MatgradError as err:
            raise src.error(ParseError, err.message, node) from None
    return out


_UNREADABLE = object()


def _order(src: _Source, name: str, node) -> int:
    """The whole order k ≥ 0 written first in polygamma(k, x)."""
    if isinstance(node, ast.Constant) and type(node.value) is int and \
            0 <= node.value <= MAX_ORDER:
        return node.value
    raise src.error(ParseError, f"the order of {name}(k, x) is a whole number from 0 to "
                    f"{MAX_ORDER}, written as a number, as {name}(1, x)", node)


def _literal_size(src: _Source, node, dim_names):
    if isinstance(node, ast.Constant) and type(node.value) is int and node.value >= 1:
        return node.value
    if isinstance(node, ast.Name) and node.id in dim_names:
        return Dim(node.id)
    raise src.error(ParseError, "a size here must be a dimension name or a positive integer",
                    node)


def _size_argument(src: _Source, node, declared_names):
    """A size written after an operation's arguments (unvec(v, m, n)): a positive whole
    number or a dimension's name, which may name a dimension first used here."""
    if isinstance(node, ast.Constant) and type(node.value) is int and node.value >= 1:
        return node.value
    if isinstance(node, ast.Name) and node.id.isidentifier() and \
            node.id not in declared_names and not node.id.startswith("__"):
        return Dim(node.id)
    raise src.error(ParseError, "a size here must be a dimension name or a positive integer",
                    node)


# ---- the whitelist ----------------------------------------------------------------------


def _check_syntax(src: _Source, tree: ast.Module, declared: dict, dim_names: set) -> None:
    """Every node must be one the language allows; checked iteratively, depth-bounded."""
    stack = [(s, 1) for s in tree.body]
    if not tree.body:
        raise ParseError("the expression is empty")
    for i, stmt in enumerate(tree.body):
        if isinstance(stmt, ast.Assign):
            if len(stmt.targets) != 1 or not isinstance(stmt.targets[0], ast.Name):
                raise src.error(ParseError, "only 'name = expression' assignments are "
                                "allowed", stmt)
        elif not isinstance(stmt, ast.Expr):
            raise src.error(ParseError, "only expressions and 'name = expression' "
                            "assignments are allowed", stmt)
        elif i != len(tree.body) - 1:
            raise src.error(ParseError, "only the last statement may be a bare expression; "
                            "name this one with 'name = ...'", stmt)
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise src.error(LimitError, f"the expression is nested more than {MAX_DEPTH} "
                            "levels deep", node)
        if isinstance(node, ast.Assign):
            stack.append((node.value, depth + 1))
            continue
        if isinstance(node, ast.Expr):
            stack.append((node.value, depth + 1))
            continue
        if isinstance(node, ast.BinOp):
            if type(node.op) not in _BINOPS:
                raise src.error(ParseError, f"the operator {_op_text(node.op)} is not part "
                                "of the language (use + - * / ** @)", node)
            stack.append((node.left, depth + 1))
            stack.append((node.right, depth + 1))
        elif isinstance(node, ast.UnaryOp):
            if not isinstance(node.op, (ast.USub, ast.UAdd)):
                raise src.error(ParseError, f"the operator {_op_text(node.op)} is not part "
                                "of the language", node)
            stack.append((node.operand, depth + 1))
        elif isinstance(node, ast.Attribute):
            if node.attr != "T":
                raise src.error(ParseError, f"'.{node.attr}' is not allowed: the only "
                                "attribute is .T (transpose)", node)
            stack.append((node.value, depth + 1))
        elif isinstance(node, ast.Name):
            if node.id.startswith("__"):
                raise src.error(ParseError, f"the name {node.id} is not allowed", node)
            if node.id in FUNCTIONS and node.id not in declared:
                raise src.error(ParseError, f"{node.id} is a function; call it as "
                                f"{node.id}(...)", node)
        elif isinstance(node, ast.Constant):
            v = node.value
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                kind = "a string" if isinstance(v, (str, bytes)) else repr(v)
                raise src.error(ParseError, f"{kind} is not a number; only numbers are "
                                "constants here", node)
            if isinstance(v, float) and not math.isfinite(v):
                raise src.error(ParseError, "the number is too large", node)
        elif isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name):
                raise src.error(ParseError, "only the language's functions can be called",
                                node.func)
            name = node.func.id
            if name not in FUNCTIONS:
                raise src.error(ParseError, f"unknown function {name!r}" + _suggest(name),
                                node.func)
            lo, hi, kws = FUNCTIONS[name]
            for k in node.keywords:
                if k.arg not in kws:
                    raise src.error(ParseError, f"{name}() takes no keyword "
                                    f"{k.arg or '**'!r}", k.value)
            n = len(node.args) + len(node.keywords)
            if any(isinstance(a, ast.Starred) for a in node.args):
                raise src.error(ParseError, "*arguments are not allowed", node)
            if not lo <= n <= hi:
                want = str(lo) if lo == hi else f"{lo} or {hi}"
                raise src.error(ParseError, f"{name}() takes {want} argument(s), got {n}",
                                node)
            if len(node.args) < lo:  # sum(axis=1): the operand itself is missing
                raise src.error(ParseError, f"{name}() needs its argument before any "
                                "keyword", node)
            if name in CONSTRUCTORS:
                for a in node.args:
                    _literal_size(src, a, dim_names)
                continue
            if name in ("sum", "mean") and len(node.args) == 2:
                stack.append((node.args[0], depth + 1))
                continue
            if name in ORDERED:
                _order(src, name, node.args[0])
                stack.append((node.args[1], depth + 1))
                continue
            if constants(name):  # norm(x, 1): the constant is read, not walked
                _constant_values(src, node)
                stack.extend((a, depth + 1) for a in node.args[:lo])
                continue
            sized = registry.calls().get(name)
            if sized and sized[0].sizes:  # unvec(v, m, n): sizes after the arguments
                for a in node.args[sized[0].arity:]:
                    _size_argument(src, a, declared)
                stack.extend((a, depth + 1) for a in node.args[:sized[0].arity])
                continue
            stack.extend((a, depth + 1) for a in node.args)
        else:
            raise src.error(ParseError, f"{_describe(node)} is not part of the language",
                            node)


def _op_text(op) -> str:
    return {ast.FloorDiv: "//", ast.Mod: "%", ast.LShift: "<<", ast.RShift: ">>",
            ast.BitOr: "|", ast.BitAnd: "&", ast.BitXor: "^", ast.Not: "not",
            ast.Invert: "~"}.get(type(op), type(op).__name__)


def _describe(node) -> str:
    names = {ast.Lambda: "a lambda", ast.ListComp: "a comprehension",
             ast.GeneratorExp: "a generator", ast.DictComp: "a comprehension",
             ast.SetComp: "a comprehension", ast.JoinedStr: "an f-string",
             ast.Subscript: "indexing", ast.Compare: "a comparison",
             ast.BoolOp: "a boolean operator", ast.IfExp: "a conditional",
             ast.List: "a list", ast.Tuple: "a tuple", ast.Dict: "a dict",
             ast.Set: "a set", ast.Starred: "unpacking", ast.NamedExpr: "':='",
             ast.Await: "await", ast.Yield: "yield", ast.Slice: "a slice"}
    return names.get(type(node), type(node).__name__)


def _suggest(name: str) -> str:
    import difflib
    close = difflib.get_close_matches(name, list(FUNCTIONS), n=1)
    return f"; did you mean {close[0]}?" if close else ""


# ---- pass 2: building the expression ----------------------------------------------------


class _Build:
    def __init__(self, src: _Source, variables: dict, dim_names: set):
        self.src = src
        self.variables = variables
        self.dim_names = dim_names
        self.locals: dict = {}

    def __call__(self, node) -> Expr:
        try:
            return self.build(node)
        except MatgradError as err:
            if err.source is None:
                col, width = self.src.span(node)
                raise err.at(self.src.text, col, width) from None
            raise

    def located(self, node, thunk):
        try:
            return thunk()
        except MatgradError as err:
            if err.source is not None:
                raise
            col, width = self.src.span(node)
            raise err.at(self.src.text, col, width) from None

    def build(self, node) -> Expr:
        if isinstance(node, ast.Name):
            if node.id in self.locals:
                return self.locals[node.id]
            if node.id in self.variables:
                return self.variables[node.id]
            return ops.dim_value(Dim(node.id))
        if isinstance(node, ast.Constant):
            return self.located(node, lambda: ops.const(node.value))
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant):
                # a negative number is one constant, as in Python: x ** -1 is a power
                return self.located(node, lambda: ops.const(-node.operand.value))
            x = self.build(node.operand)
            return ops.neg(x) if isinstance(node.op, ast.USub) else x
        if isinstance(node, ast.Attribute):
            return ops.transpose(self.build(node.value))
        if isinstance(node, ast.BinOp):
            a, b = self.build(node.left), self.build(node.right)
            f = {ast.Add: ops.add, ast.Sub: ops.sub, ast.Mult: ops.mul, ast.Div: ops.div,
                 ast.MatMult: ops.matmul, ast.Pow: ops.power}[type(node.op)]
            return self.located(node, lambda: f(a, b))
        if isinstance(node, ast.Call):
            return self.call(node)
        raise self.src.error(ParseError, "this is not part of the language", node)

    def call(self, node: ast.Call) -> Expr:
        name = node.func.id
        if name in CONSTRUCTORS:
            sizes = [_literal_size(self.src, a, self.dim_names) for a in node.args]
            return getattr(ops, name)(*sizes)
        if name in ORDERED:
            k = _order(self.src, name, node.args[0])
            x = self.build(node.args[1])
            return self.located(node, lambda: ops.fn(name, k, x))
        axis = _axis(self.src, node)
        lo = FUNCTIONS[name][0]
        args = [self.build(a) for a in (node.args[:lo] if name in AXIS_FUNCTIONS
                                        or constants(name) else node.args)]
        given = _constant_values(self.src, node) if constants(name) else {}
        return self.located(node, lambda: apply_function(name, args, axis, given))


# ---- entry points -----------------------------------------------------------------------


def _dim_names(declared: dict, extra=()) -> set:
    out = {str(d) for d in extra}
    for r, c, _ in declared.values():
        for s in (r, c):
            out.update(d.name for d in named(s))
    return out


def parse_program(text: str, shapes=None, *, dims=(), syntax: str = "auto") -> Program:
    """Parse an expression, or assignments ending in one, into a Program.

    `shapes` declares shapes as for `parse`. The Program's `result` is the last
    expression, `result_name` the name assigned to it, `definitions` the earlier
    assignments (name -> expression) and `variables` the variables by name.
    Statements are separated by ``;`` or line breaks (and by ``,`` in the mathematical
    notations). `syntax` is "python", "math", "latex", "matrixcalculus" or "auto", as for
    `parse`.

    >>> import matgrad as mg
    >>> p = mg.parse_program("z = X @ w; L = sum((z - y)**2)", "X: m,n; w: n; y: m")
    >>> p.result, p.result_name, p.definitions
    (sum((X w − y)²), 'L', {'z': X w})
    >>> mg.parse_program("z = X w, L = ‖z − y‖²", "X: m,n; w: n; y: m").result
    ‖X w − y‖²
    """
    from .syntax import NOTATIONS, detect
    from .syntax.detect import is_certain

    if not isinstance(text, str):
        raise ParseError(f"expected text, got {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise LimitError(f"the expression is {len(text)} characters long; the limit is "
                         f"{MAX_LENGTH}")
    if "\x00" in text:
        raise ParseError("the text contains a NUL character", source=text.replace("\x00", "?"),
                         column=text.index("\x00"))
    if syntax not in NOTATIONS:
        raise MatgradError(f"syntax must be one of {', '.join(NOTATIONS)}, not {syntax!r}")
    notation = detect(text) if syntax == "auto" else syntax
    if notation == "python":
        if syntax == "python":
            _refuse_superscripts(text)
        return _parse_python(text, shapes, dims)
    if syntax == "auto" and not is_certain(text):
        try:  # X w, 2x, tr A: no Python, perhaps mathematics; or a Python typo
            return _parse_notation(text, shapes, dims, notation)
        except MatgradError as err:
            if not getattr(err, "grammar", False):
                raise  # mathematics, with a mistake in it
        return _parse_python(text, shapes, dims)  # its error, about the Python expected
    return _parse_notation(text, shapes, dims, notation)


def _parse_notation(text: str, shapes, dims, notation: str) -> Program:
    from .syntax import read
    declared = parse_shapes(shapes)
    dim_names = _dim_names(declared, dims)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    program = read(text, declared, dim_names, notation)
    program.notation = notation
    return program


def _refuse_superscripts(text: str) -> None:
    """Python reads Aᵀ as a name AT and x² as x2 (identifiers are NFKC-normalised): in
    the Python-like syntax a superscript is an error, never a silent new variable."""
    from .syntax.detect import SUPERSCRIPTS
    for i, ch in enumerate(text):
        if ch in SUPERSCRIPTS:
            raise ParseError(f"{ch!r} is mathematical notation, which Python would read as "
                             "part of a name; write .T, inv(...) or ** here, or use "
                             "syntax='math'", source=text, column=i)


def _parse_python(text: str, shapes, dims) -> Program:
    declared = parse_shapes(shapes)
    dim_names = _dim_names(declared, dims)
    # Python ends lines at \r\n, \r and \n; one kind keeps line and column arithmetic
    # (and the caret under an error) consistent with what ast reports.
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    src = _Source(text)
    try:
        # steady: ast.parse fails if another thread changes the recursion limit meanwhile
        with warnings.catch_warnings(), steady():  # e.g. "invalid decimal literal" for 1if
            warnings.simplefilter("ignore")
            tree = ast.parse(text, mode="exec")
    except SyntaxError as err:
        col = 0
        if err.lineno and err.offset:
            col = src.line_starts[min(err.lineno, len(src.line_starts)) - 1] + err.offset - 1
        col = max(0, min(col, max(0, len(text) - 1)))
        msg = (err.msg or "invalid syntax").replace("perhaps you forgot a comma?", "")
        raise ParseError(f"syntax error: {msg.strip().rstrip('.')}", source=text,
                         column=col) from None
    except (RecursionError, MemoryError):
        raise LimitError("the expression is nested too deeply to parse") from None
    except ValueError as err:
        raise ParseError(f"cannot read the text: {err}") from None
    _check_syntax(src, tree, declared, dim_names)

    with room(6 * MAX_DEPTH + 500):
        return _parse_checked(src, tree, declared, dim_names)


def _parse_checked(src, tree, declared, dim_names) -> Program:
    infer = _Infer(src, declared, dim_names)
    assigned: dict = {}
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign):
            name = stmt.targets[0].id
            if name in declared or name in infer.unknown_vars:
                raise src.error(ParseError, f"{name} is a variable; an intermediate needs "
                                "a new name", stmt.targets[0])
            if name in assigned:
                raise src.error(ParseError, f"{name} is assigned twice", stmt.targets[0])
            if name in FUNCTIONS or name in dim_names:
                raise src.error(ParseError, f"{name} is already a function or dimension "
                                "name", stmt.targets[0])
            infer.locals[name] = infer.visit(stmt.value)
            assigned[name] = stmt
        else:
            infer.visit(stmt.value)

    variables: dict = {}
    for name, node in infer.unknown_vars.items():
        r, c = (infer.sizes.find(s) for s in infer.types[name])
        missing = [axis for axis, s in (("rows", r), ("columns", c)) if isinstance(s, Unknown)]
        if missing:
            raise src.error(ShapeError, f"cannot infer the shape of {name} (its "
                            f"{' and '.join(missing)}) from its use; declare it, e.g. "
                            f"{shape_example(name, r, c)}", node)
    for name, (r, c, structure) in declared.items():
        variables[name] = ops.var(name, r, c, structure=structure)
    for name in infer.unknown_vars:
        r, c = (infer.sizes.find(s) for s in infer.types[name])
        variables[name] = ops.var(name, as_size(r), as_size(c))

    build = _Build(src, variables, dim_names)
    definitions: dict = {}
    result, result_name = None, None
    for stmt in tree.body:
        value = build(stmt.value)
        if isinstance(stmt, ast.Assign):
            name = stmt.targets[0].id
            build.locals[name] = value
            definitions[name] = value
            result, result_name = value, name
        else:
            result, result_name = value, None
    if result_name is not None:
        definitions.pop(result_name)
    used = {n.params[0] for n in declared_variables(result, definitions)}
    return Program(result=result, definitions=definitions, result_name=result_name,
                   variables={k: v for k, v in variables.items() if k in used},
                   inferred=tuple(n for n in infer.unknown_vars if n in used),
                   source=src.text)


def declared_variables(result, definitions):
    from .expr import variables
    out = list(variables(result))
    for d in definitions.values():
        out.extend(variables(d))
    return out


def shape_example(name: str, r, c) -> str:
    """A declaration to suggest; with only the rows known, a vector or a matrix."""
    if not isinstance(r, Unknown) and isinstance(c, Unknown):
        return f"'{name}: {r}' for a vector or '{name}: {r},k' for a matrix"
    rows = r if not isinstance(r, Unknown) else "m"
    cols = c if not isinstance(c, Unknown) else None
    if cols == 1:
        return f"'{name}: scalar'" if rows == 1 else f"'{name}: {rows}'"
    return f"'{name}: {rows},{cols or 'n'}'"


def parse(text: str, shapes=None, *, dims=(), syntax: str = "auto") -> Expr:
    r"""Parse text in the language into an expression.

    `syntax` is "python" (the Python-like language), "math" (mathematical text as
    matgrad prints it: xᵀ A x, ‖X w − y‖²), "latex" (\\frac{1}{2}\\|Ax - b\\|^2),
    "matrixcalculus" (matrixcalculus.org's input: x'*A*x, norm2(X*w-y)^2, where * is the
    matrix product; never chosen by "auto") or "auto" (the default), which tells the
    others apart: a backslash or brace is LaTeX, a
    character only mathematics uses (ᵀ ‖ · − ² ...), ^ or a juxtaposition is
    mathematical text, anything else Python-like.

    >>> import matgrad as mg
    >>> L = mg.parse("sum((relu(X @ w + b) - y)**2) / m",
    ...              shapes={"X": "m,n", "w": "n", "b": "scalar", "y": "m"})
    >>> L.shape
    (1, 1)
    >>> mg.parse(r"\|Ax - b\|^2 + x^\top x", {"A": "m,n", "x": "n", "b": "m"})
    ‖A x − b‖² + xᵀ x
    """
    return parse_program(text, shapes, dims=dims, syntax=syntax).result
