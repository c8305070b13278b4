"""From the written tree to an expression: names, juxtaposition, shapes, constructors.

Both mathematical notations read into the same `Node` tree; this module gives it its
meaning, in three passes over each statement:

1. resolve names: a declared or assigned name is a variable, a dimension name a number,
   a function's name before its argument a call (`log x`, `tr A`, `log det A`), a run of
   letters that is no known name but splits into known ones a product (`Xw` is X w when
   X and w are declared; in LaTeX a run of letters is always one letter per factor), `I`
   an identity of inferred size;
2. infer undeclared shapes by unification, as the Python-like parser does;
3. build with the `ops` constructors, which check every shape. Juxtaposition is the
   matrix product where the inner dimensions agree and otherwise, with a scalar factor,
   the product by that scalar (`2 X w`, `λ w`).
"""
from __future__ import annotations

import math
from fractions import Fraction

from .. import ops, registry
from ..dims import SCALAR, Dim, as_size
from ..elementwise import MAX_ORDER, ORDERED, table
from ..errors import MatgradError, ParseError, ShapeError
from ..parser import (AXIS_FUNCTIONS, FUNCTIONS, MAX_DEPTH, Program, shape_example, Sizes,
                      Unknown, declared_variables, apply_function, call_shape, constants)
from ..recursion import room
from .names import LATEX_GREEK, text_name
from .tree import Node

# ---- function words ---------------------------------------------------------------------


def _words() -> dict:
    """A written function name -> the language's function: the Python-like names, the
    elementwise table's text and LaTeX spellings (σ, H, \\tanh, \\operatorname{relu}),
    and the usual short forms (tr)."""
    words = {name: name for name in FUNCTIONS}
    words.update({"tr": "trace", "Tr": "trace", "max": "max", "log det": "logdet"})
    for row in table().values():
        for spelling in (row.text, row.latex):
            word = spelling.lstrip("\\")
            if word.startswith("operatorname{"):
                word = word[len("operatorname{"):-1]
            if " " in word or "\\" in word:  # log σ, \log\sigma: log before sigmoid
                first, second = word.replace("\\", " ").split()
                words[" ".join((first, _read_word(second)))] = row.name
                continue
            words.setdefault(_read_word(word), row.name)
    return words


def _read_word(word: str) -> str:
    return LATEX_GREEK.get(word) or text_name(word) or word


WORDS = _words()
# words that are also a letter (σ, H): a function only when called as σ(z), else a name
LETTER_WORDS = {w for w in WORDS if len(w) == 1 or w in LATEX_GREEK.values()}
SIZE_FREE = ("ones", "zeros", "eye")
POSTFIX = ("transpose", "sup", "invT", "powexpr")


class Context:
    """What the builder knows: declared shapes, dimension names, the text."""

    def __init__(self, text: str, declared: dict, dim_names: set):
        self.text = text
        self.declared = declared
        self.dim_names = set(dim_names)
        self.locals: dict = {}  # assigned name -> its type (pass 2) or Expr (pass 3)

    def error(self, cls, message: str, node: Node) -> MatgradError:
        return cls(message, source=self.text, column=node.start, width=node.width)

    def known(self, name: str) -> bool:
        return name in self.declared or name in self.locals or name in self.dim_names


# ---- pass 1: names and juxtaposition ------------------------------------------------------


class Resolver:
    """Rewrites names, chains and applications into var, dim, call, juxt and eye nodes."""

    def __init__(self, ctx: Context):
        self.ctx = ctx
        self.unknown: dict = {}  # name -> first node, for undeclared variables

    def __call__(self, node: Node) -> Node:
        kind = node.kind
        if kind == "name":
            return self.name(node)
        if kind == "chain":
            return self.chain(node)
        if kind == "apply":
            return self.juxt(self.apply(node, []))
        if kind in ("ones", "zeros", "eye"):
            return node
        if kind == "order":
            psi = table()["polygamma"].head(node.value)
            raise self.ctx.error(ParseError, f"{psi} is the polygamma function of order "
                                 f"{node.value}: give it its argument, as {psi}(x)", node)
        if kind in POSTFIX and node.args[0].kind == "name":
            # xy² in LaTeX, Axᵀ with A and x declared: the script is on the last letter
            target = self.name(node.args[0])
            rest = tuple(self(a) for a in node.args[1:])
            if target.kind == "juxt":
                last = target.args[1]
                inner = Node(kind, (last, *rest), node.value, last.start, node.end,
                             node.extra)
                return Node("juxt", (target.args[0], inner), None, node.start, node.end)
            return Node(kind, (target, *rest), node.value, node.start, node.end, node.extra)
        args = tuple(self(a) if isinstance(a, Node) else a for a in node.args)
        kwargs = {k: self(v) for k, v in node.extra.get("kwargs", {}).items()}
        extra = dict(node.extra, kwargs=kwargs) if kwargs else node.extra
        return Node(kind, args, node.value, node.start, node.end, extra)

    # -- names --
    def lookup(self, node: Node) -> str:
        """The name a name node stands for: as written, if declared so, else its reading."""
        raw = node.extra.get("raw")
        if raw is not None and raw in self.ctx.declared:
            return raw
        return node.value

    def name(self, node: Node, split: bool = True) -> Node:
        name = self.lookup(node)
        if name.startswith("__"):
            raise self.ctx.error(ParseError, f"the name {name} is not allowed", node)
        if self.ctx.known(name):
            return self.leaf(name, node)
        base, sub = node.extra.get("base"), node.extra.get("sub")
        if base == "I" and sub and not self.ctx.known("I"):
            return Node("eye", (), (sub, sub), node.start, node.end)
        if name == "I":
            return Node("eye", (), None, node.start, node.end)
        if name in WORDS and name not in LETTER_WORDS:
            raise self.ctx.error(ParseError, f"{name} is a function: give it an argument, "
                                 f"as {name}(…)", node)
        if split:
            pieces = self.split(node, name)
            if pieces is not None:
                return self.juxt(pieces)
        return self.leaf(name, node)

    def leaf(self, name: str, node: Node) -> Node:
        if name in self.ctx.locals:
            return Node("local", (), name, node.start, node.end)
        if name in self.ctx.declared:
            return Node("var", (), name, node.start, node.end)
        if name in self.ctx.dim_names:
            return Node("dim", (), name, node.start, node.end)
        self.unknown.setdefault(name, node)
        return Node("var", (), name, node.start, node.end)

    def split(self, node: Node, name: str):
        """A run of letters as a product of names: one letter per factor in LaTeX; in
        mathematical text only where every piece is a known name (Xw with X and w
        declared), and an error that asks where it splits more than one way."""
        if node.extra.get("letters"):
            if len(name) < 2 or not name.isalpha() or not name.isascii():
                return None
            return [self.leaf(ch, Node("name", (), ch, node.start + i, node.start + i + 1))
                    for i, ch in enumerate(name)]
        if not node.extra.get("splittable") or len(name) < 2:
            return None
        ways = self.segmentations(name)
        if not ways:
            return None
        if len(ways) > 1:
            options = " or ".join(" ".join(w) for w in ways[:2])
            raise self.ctx.error(ParseError, f"{name} is not a declared name and reads as "
                                 f"{options}; put spaces between the factors", node)
        out, pos = [], node.start
        for piece in ways[0]:
            out.append(self.leaf(piece, Node("name", (), piece, pos, pos + len(piece))))
            pos += len(piece)
        return out

    def segmentations(self, name: str) -> list:
        known = [k for k in (*self.ctx.declared, *self.ctx.locals, *self.ctx.dim_names)
                 if k and name.find(k) >= 0]
        ways: dict = {len(name): [[]]}
        for i in range(len(name) - 1, -1, -1):
            found = []
            for k in known:
                if name.startswith(k, i) and i + len(k) in ways:
                    found += [[k, *rest] for rest in ways[i + len(k)]][:2]
            if found:
                ways[i] = found[:2]
        return ways.get(0, [])

    # -- functions and juxtaposition --
    def word(self, node: Node):
        """The function a name node names, or None (a variable, or no function)."""
        if node.kind != "name":
            return None
        name = self.lookup(node)
        if name in WORDS and not self.ctx.known(name):
            return WORDS[name]
        return None

    def chain(self, node: Node) -> Node:
        items: list = []
        for item in node.args:
            if items and self.is_log(items[-1]):
                joined = _join_log(item)
                if joined is not None:
                    items[-1:] = []
                    item = joined
            if item.kind == "apply":
                items.extend(self.apply(item, items))
            else:
                items.append(item)
        return self.juxt(self.applications(items))

    def is_log(self, node: Node) -> bool:
        return node.kind == "name" and self.lookup(node) == "log" and not self.ctx.known("log")

    def apply(self, node: Node, before: list) -> list:
        """A call written against its name: f(x) for a function f, else a product by the
        parenthesised factor (X(w + b) is X (w + b))."""
        target, args = node.args[0], node.args[1:]
        kwargs = node.extra.get("kwargs", {})
        fname = self.word(target) if target.kind == "name" else None
        name = self.lookup(target) if target.kind == "name" else None
        if target.kind == "name" and name in WORDS and name in self.ctx.declared:
            raise self.ctx.error(ParseError, f"{name} is both a declared variable and a "
                                 f"function: write {name} (…) with a space for the product, "
                                 f"or {WORDS[name]}(…) for the function", target)
        if fname is None and target.kind == "name" and len(args) == 1 and not kwargs \
                and not self.ctx.known(name) and name not in WORDS and \
                not target.extra.get("letters") and self.split(target, name) is None:
            raise self.ctx.error(ParseError, f"unknown function {name!r}; if {name} is a "
                                 f"variable, declare its shape or write {name} (…) with a "
                                 "space", target)
        if fname is not None:
            call = Node("call", tuple(args), fname, node.start, node.end,
                        {"kwargs": kwargs} if kwargs else {})
            # log before a call of det or σ: log det, log σ
            if before and before[-1].kind == "name" and self.lookup(before[-1]) == "log" \
                    and not self.ctx.known("log"):
                combined = WORDS.get("log " + self.lookup(target))
                if combined:
                    head = before.pop()
                    return [Node("call", tuple(args), combined, head.start, node.end,
                                 call.extra)]
            return [call]
        if len(args) != 1 or kwargs:
            raise self.ctx.error(ParseError, f"{name or 'this'} is not a function, so it "
                                 "takes no arguments", target)
        group = Node("group", (args[0],), None, args[0].start - 1, node.end)
        return [target, group]

    def applications(self, items: list) -> list:
        """Function names before their argument: log x, tr A, log det A; a function name
        before more than one factor is ambiguous and asks for parentheses."""
        out: list = []
        i = 0
        while i < len(items):
            item = items[i]
            fname = self.word(item)
            if fname is None or (self.lookup(item) in LETTER_WORDS):
                out.append(item)
                i += 1
                continue
            if self.lookup(item) == "log" and i + 1 < len(items):
                nxt = items[i + 1]
                combined = WORDS.get("log " + self.lookup(nxt)) if nxt.kind == "name" else None
                if combined:
                    item = Node("name", (), combined, item.start, nxt.end)
                    fname = combined
                    i += 1
            rest = items[i + 1:]
            if not rest:
                raise self.ctx.error(ParseError, f"{self.lookup(item)} needs an argument", item)
            if len(rest) > 1 and self.word(rest[0]) is None:
                raise self.ctx.error(ParseError, f"{self.lookup(item)} is followed by "
                                     f"{len(rest)} factors: write the argument in "
                                     "parentheses, as f(A B) or f(A) B", item)
            arg = rest[0] if len(rest) == 1 else Node(
                "chain", tuple(rest), None, rest[0].start, rest[-1].end)
            out.append(Node("call", (arg,), fname, item.start, arg.end))
            break
        return out

    def juxt(self, items: list) -> Node:
        resolved = []
        for item in items:
            resolved.append(self.name(item) if item.kind == "name" else self(item))
        node = resolved[0]
        for item in resolved[1:]:
            node = Node("juxt", (node, item), None, node.start, item.end)
        return node


def _join_log(item: Node):
    """log before det(A)² or σ(z)ᵀ: the call log det(A) or log σ(z), under its scripts."""
    if item.kind in POSTFIX:
        inner = _join_log(item.args[0])
        if inner is None:
            return None
        return Node(item.kind, (inner, *item.args[1:]), item.value, item.start, item.end,
                    item.extra)
    if item.kind != "apply" or item.args[0].kind != "name":
        return None
    target = item.args[0]
    word = "log " + target.value
    if word not in WORDS:
        return None
    name = Node("name", (), word, target.start, target.end, {"base": word})
    return Node("apply", (name, *item.args[1:]), None, item.start, item.end, item.extra)


# ---- literal numbers --------------------------------------------------------------------


def literal(node: Node):
    """The number a node writes (2, −3, 1/2, (−1)), or None."""
    kind = node.kind
    if kind == "num":
        return node.value
    if kind in ("group", "pos"):
        return literal(node.args[0])
    if kind == "neg":
        v = literal(node.args[0])
        return None if v is None else -v
    if kind == "div":
        a, b = (literal(x) for x in node.args)
        if isinstance(a, int) and isinstance(b, int) and b != 0 and \
                node.args[0].kind == node.args[1].kind == "num":
            return Fraction(a, b)
    return None


# ---- pass 2: shapes ---------------------------------------------------------------------


class Infer:
    """A (rows, cols) pair for every node; undeclared variables and sizes are solved."""

    def __init__(self, ctx: Context, resolver: Resolver):
        self.ctx = ctx
        self.sizes = Sizes()
        self.types: dict = {n: (r, c) for n, (r, c, _s) in ctx.declared.items()}
        for name in resolver.unknown:
            self.types[name] = (Unknown(name + ".rows"), Unknown(name + ".cols"))
        self.free: dict = {}  # id(eye/ones node) -> its type
        self.sizeless: set = set()  # the unknown sizes of I and 1 written without a size

    def scalar(self, t) -> bool:
        return all(self.sizes.find(s) == 1 for s in t)

    def elementwise(self, a, b):
        if self.scalar(a):
            return b
        if self.scalar(b):
            return a
        out = []
        for p, q in zip(a, b):
            fp, fq = self.sizes.find(p), self.sizes.find(q)
            if (fp == 1 and fq in self.sizeless) or (fq == 1 and fp in self.sizeless):
                # a 1 broadcast against I or 1 of unknown size says nothing of that size
                # (I ⊙ r for a row r is n×n): it stays unknown, so that it is asked for
                out.append(fq if fp == 1 else fp)
            elif isinstance(fp, Unknown) or isinstance(fq, Unknown):
                self.sizes.unify(fp, fq)
                out.append(self.sizes.find(fp))
            else:
                out.append(fq if fp == 1 else fp)
        return tuple(out)

    def __call__(self, node: Node):
        kind = node.kind
        if kind in ("num", "dim", "norm"):
            if kind == "norm":
                self(node.args[0])
            return (1, 1)
        if kind == "var":
            return self.types[node.value]
        if kind == "local":
            return self.ctx.locals[node.value]
        if kind in ("eye", "ones", "zeros"):
            return self.constructor(node)
        args = [self(a) for a in node.args if isinstance(a, Node)]
        for v in node.extra.get("kwargs", {}).values():
            self(v)
        if kind in ("group", "neg", "pos", "abs"):
            return args[0]
        if kind in ("add", "sub", "mul", "div"):
            return self.elementwise(*args)
        if kind == "frob":
            self.elementwise(*args)
            return (1, 1)
        if kind == "kron":  # A ⊗ B, as kron(A, B)
            return call_shape(self.sizes, "kron", args, None,
                              lambda message: self.ctx.error(ShapeError, message, node))
        if kind == "thin" and all(self.sizes.known(x) for x in (*args[0], *args[1])):
            a, b = args
            if self.sizes.find(a[1]) != self.sizes.find(b[0]):
                return self.elementwise(a, b)
        if kind == "cross" and all(self.sizes.known(x) for x in (*args[0], *args[1])):
            a, b = args
            if self.sizes.find(a[1]) != self.sizes.find(b[0]):
                return self.elementwise(a, b)
        if kind in ("juxt", "thin", "cross"):
            a, b = args
            if self.scalar(a):
                return b
            if self.scalar(b):
                return a
            self.sizes.unify(a[1], b[0])
            return (a[0], b[1])
        if kind == "transpose":
            return (args[0][1], args[0][0])
        if kind == "invT":
            self.sizes.unify(*args[0])
            return (args[0][1], args[0][0])
        if kind == "sup":
            r, c = (self.sizes.find(s) for s in args[0])
            if (node.value == -1 or node.extra.get("matrix")) and not node.extra.get(
                    "hadamard") and 1 not in (r, c) \
                    and not (self.sizes.known(r) and self.sizes.known(c)):
                self.sizes.unify(r, c)  # A⁻¹, A^2 of an undeclared A: square
            return args[0]
        if kind == "powexpr":
            a, b = args
            if node.extra.get("matrix"):  # a scalar's power: refused otherwise, when built
                return a
            return a if self.scalar(b) else self.elementwise(a, b)
        if kind == "call":
            return self.call(node, args)
        raise self.ctx.error(ParseError, "this is not part of the language", node)

    def constructor(self, node: Node):
        if node.value is not None:
            r, c = (_size(self.ctx, s, node) for s in node.value)
            return (r, c)
        if node.kind == "eye":
            u = Unknown("I")
            t = (u, u)
        elif node.extra.get("matrix"):  # a ones matrix of inferred size
            t = (Unknown("1.rows"), Unknown("1.cols"))
            self.sizeless.add(t[1])
        else:
            t = (Unknown("1.rows"), 1)
        self.sizeless.add(t[0])
        self.free[id(node)] = t
        return t

    def call(self, node: Node, args):
        name = node.value
        axis = _axis(self.ctx, node)
        if name in SIZE_FREE:
            sizes = [_size(self.ctx, _size_text(self.ctx, a), a) for a in node.args]
            if name == "eye":
                return (sizes[0], sizes[0])
            return (sizes[0], sizes[1] if len(sizes) > 1 else 1)
        if name in PAIRED and len(args) == 2:  # max(a, b): elementwise, as + broadcasts
            return self.elementwise(*args)
        declared = registry.calls().get(name)
        given = ()
        if declared and declared[0].sizes:  # unvec(v, m, n): sizes after the arguments
            given = [_size(self.ctx, _size_text(self.ctx, a), a)
                     for a in node.args[declared[0].arity:]]
        return call_shape(self.sizes, name, args, axis,
                          lambda message: self.ctx.error(ShapeError, message, node), given)


def _size_text(ctx: Context, node: Node):
    """A size written as an argument (ones(m, n)): a dimension name or a whole number."""
    v = literal(node)
    if isinstance(v, int) and v >= 1:
        return v
    if node.kind in ("dim", "var", "local") and node.value in ctx.dim_names:
        return node.value
    raise ctx.error(ParseError, "a size here must be a dimension name or a positive integer",
                    node)


def _size(ctx: Context, s, node: Node):
    """A size from its text: a whole number, or a dimension (declared or new)."""
    if isinstance(s, int):
        return s
    if isinstance(s, str) and s.isdigit():
        return int(s)
    if isinstance(s, str) and s.isidentifier():
        ctx.dim_names.add(s)
        return Dim(s)
    raise ctx.error(ParseError, f"cannot read the size {s!r}", node)


def _axis(ctx: Context, node: Node):
    if node.value not in AXIS_FUNCTIONS:
        return None
    kwargs = node.extra.get("kwargs", {})
    for k in kwargs:
        if k != "axis":
            raise ctx.error(ParseError, f"{node.value}() takes no keyword {k!r}", kwargs[k])
    positional = len(node.args) == 2 and node.value not in PAIRED  # max(a, b): no axis
    axis_node = node.args[1] if positional else kwargs.get("axis")
    if axis_node is None:
        return None
    v = literal(axis_node)
    if v in (0, 1) and isinstance(v, int):
        return v
    raise ctx.error(ParseError, "axis must be 0 or 1", axis_node)


# ---- pass 3: building -------------------------------------------------------------------

_ARITY = {k: v[:2] for k, v in FUNCTIONS.items()}
# In mathematics max(a, b) is the larger of two things: written with two arguments, max
# and min are the elementwise maximum and minimum (max(0, x) the relu, as before); with
# one, the largest entry (an axis is then a keyword, max(A, axis=1))
PAIRED = {"max": "maximum", "min": "minimum"}


class Build:
    def __init__(self, ctx: Context, infer: Infer, variables: dict, notation: str):
        self.ctx = ctx
        self.infer = infer
        self.variables = variables
        self.notation = notation

    def located(self, node: Node, thunk):
        try:
            return thunk()
        except MatgradError as err:
            if err.source is not None:
                raise
            raise err.at(self.ctx.text, node.start, node.width) from None

    def __call__(self, node: Node):
        kind = node.kind
        v = literal(node) if kind in ("num", "neg", "div", "group") else None
        if v is not None:
            return self.located(node, lambda: ops.const(v))
        if kind == "var":
            return self.variables[node.value]
        if kind == "local":
            return self.ctx.locals[node.value]
        if kind == "dim":
            return ops.dim_value(Dim(node.value))
        if kind in ("eye", "ones", "zeros"):
            return self.constructor(node)
        if kind == "call":
            return self.call(node)
        args = [self(a) for a in node.args]
        if kind in ("group", "pos"):
            return args[0]
        f = {"add": ops.add, "sub": ops.sub, "mul": ops.mul, "div": ops.div,
             "neg": ops.neg, "transpose": ops.transpose, "abs": ops.abs,
             "juxt": self.juxt, "thin": self.thin, "cross": self.cross, "frob": self.frob,
             "kron": lambda a, b: apply_function("kron", [a, b], None),
             "norm": self.norm,
             "sup": lambda x: self.sup(node, x),
             "powexpr": lambda x, p: self.powexpr(node, x, p),
             "invT": lambda x: ops.inv(ops.transpose(x))}.get(kind)
        if f is None:
            raise self.ctx.error(ParseError, "this is not part of the language", node)
        if kind == "norm":
            return self.located(node, lambda: self.norm(node, args[0]))
        return self.located(node, lambda: f(*args))

    def juxt(self, a, b):
        # a number before a factor is a coefficient (2x, 1/2 ‖r‖²); otherwise the matrix
        # product, or the product by a scalar where the inner dimensions differ
        if _coefficient(a) or a.shape[1] != b.shape[0] and (
                a.shape == SCALAR or b.shape == SCALAR):
            return ops.mul(a, b)
        return ops.matmul(a, b)

    def thin(self, a, b):
        """a \\, b: the matrix product where it fits, else the elementwise product (the
        printer writes \\, between a scalar and a factor, which may be broadcast)."""
        if a.shape[1] == b.shape[0] and not _coefficient(a) and not (
                _stretched(a) or _stretched(b)):
            return ops.matmul(a, b)
        return ops.mul(a, b)

    def cross(self, a, b):
        """a \\times b, as people write the matrix product (X \\times W): the matrix
        product where the inner dimensions fit and neither is a scalar, else the product by
        a scalar or elementwise."""
        if a.shape[1] == b.shape[0] and SCALAR not in (a.shape, b.shape):
            return ops.matmul(a, b)
        return ops.mul(a, b)

    def frob(self, a, b):
        if a.shape != b.shape:
            raise ShapeError(f"A : B needs operands of one shape: {a} is "
                             f"{_shape(a)}, {b} is {_shape(b)}")
        return ops.sum(ops.mul(a, b))

    def norm(self, node: Node, x):
        """‖x‖, ‖X‖_F, ‖X‖₂, ‖x‖₁, ‖x‖_∞, ‖X‖_*: the subscript is the ord."""
        ords = {None: None, "F": "fro", "2": 2, "1": 1, "inf": math.inf, "*": "nuc"}
        return ops.norm(x, ords[node.value])

    def sup(self, node: Node, x):
        p = node.value
        if node.extra.get("matrix"):
            return matrix_power(x, p)
        square = x.shape[0] == x.shape[1] and x.shape != SCALAR
        if node.extra.get("hadamard") or not square:
            return ops.power(x, p)
        if p == -1:
            return ops.inv(x)
        if isinstance(p, int) or (isinstance(p, Fraction) and p.denominator == 1):
            # a whole power of a square matrix is the matrix power (A³, A^{3}); the
            # elementwise one is written with ∘
            return registry.functions()["matrix_power"](x, int(p))
        if node.extra.get("ask"):
            raise ShapeError(f"a fractional power of a square matrix is ambiguous here: "
                             f"write ^{{\\circ {p}}} for the elementwise power (a whole "
                             "power is the matrix power)")
        return ops.power(x, p)

    def powexpr(self, node: Node, x, p):
        if node.extra.get("matrix") and not x.shape == p.shape == SCALAR:
            which = p if x.shape == SCALAR else x
            raise ShapeError(f"^ with an exponent that is no number is the power of a "
                             f"scalar by a scalar; {which} is {_shape(which)}: write .^ for "
                             "the elementwise power")
        return ops.power(x, p)

    def constructor(self, node: Node):
        if node.value is not None:
            r, c = (as_size(_size(self.ctx, s, node)) for s in node.value)
        else:
            t = self.infer.free[id(node)]
            r, c = (self.infer.sizes.find(s) for s in t)
            if isinstance(r, Unknown) or isinstance(c, Unknown):
                what = "I" if node.kind == "eye" else "this ones vector"
                hint = "Iₙ or I_{n}" if node.kind == "eye" else "1ₙ or \\mathbf{1}_{n}"
                if self.notation == "matrixcalculus":  # which has no sizes to write
                    what = {"eye": "eye", "ones": "vector(1)"}[node.kind]
                    if node.extra.get("matrix"):
                        what = "matrix(1)"
                    raise self.ctx.error(ShapeError, f"cannot infer the size of {what} from "
                                         "its use; declare the shapes around it", node)
                raise self.ctx.error(ShapeError, f"cannot infer the size of {what} from its "
                                     f"use; write its size, as {hint}", node)
        if node.kind == "eye":
            return self.located(node, lambda: ops.eye(r) if r == c else _not_square(r, c))
        return getattr(ops, node.kind)(r, c)

    def call(self, node: Node):
        name = node.value
        kwargs = node.extra.get("kwargs", {})
        lo, hi = _ARITY[name]
        n = len(node.args) + len(kwargs)
        if not lo <= n <= hi:
            want = str(lo) if lo == hi else f"{lo} or {hi}"
            raise self.ctx.error(ParseError, f"{name}() takes {want} argument(s), got {n}",
                                 node)
        if kwargs and name not in AXIS_FUNCTIONS:
            raise self.ctx.error(ParseError, f"{name}() takes no keyword arguments", node)
        if name in SIZE_FREE:
            sizes = [_size(self.ctx, _size_text(self.ctx, a), a) for a in node.args]
            return getattr(ops, name)(*sizes)
        if name in ORDERED:  # polygamma(k, x), ψ⁽ᵏ⁾(x): a whole order first
            k = literal(node.args[0])
            if not isinstance(k, int) or not 0 <= k <= MAX_ORDER:
                raise self.ctx.error(ParseError, f"the order of {name}(k, x) is a whole "
                                     f"number from 0 to {MAX_ORDER}, written as a number, "
                                     f"as {name}(1, x) or ψ⁽¹⁾(x)", node.args[0])
            x = self(node.args[1])
            return self.located(node, lambda: ops.fn(name, k, x))
        axis = _axis(self.ctx, node)
        lo = _ARITY[name][0]
        if name in PAIRED and len(node.args) == 2:
            if kwargs:
                raise self.ctx.error(ParseError, f"{name}(a, b) is the elementwise "
                                     f"{PAIRED[name]} and takes no axis", node)
            a, b = (self(x) for x in node.args)
            return self.located(node, lambda: self.pair(name, a, b))
        given = self.constants(name, node.args[lo:])
        args = [self(a) for a in (node.args[:lo] if name in AXIS_FUNCTIONS or given
                                  else node.args)]
        return self.located(node, lambda: apply_function(name, args, axis, given))

    def constants(self, name: str, written: list) -> dict:
        """The constant arguments written after the expressions (norm(x, 1)), each a
        number, read and checked where it is written."""
        checks = constants(name)
        out = {}
        for key, a in zip(checks, written):
            v = literal(a)
            if v is None or isinstance(v, Fraction) and v.denominator != 1:
                raise self.ctx.error(ParseError, f"{key} is written as a number here, as "
                                     f"{name}(x, 1); ‖x‖_∞ and ‖X‖_* write the others", a)
            try:
                out[key] = checks[key](int(v) if isinstance(v, Fraction) else v)
            except MatgradError as err:
                raise self.ctx.error(ParseError, err.message, a) from None
        return out

    def pair(self, name: str, a, b):
        """max(0, x) is the relu, as written in papers; otherwise max(a, b) and
        min(a, b) are the elementwise maximum and minimum."""
        if name == "max":
            for zero, x in ((a, b), (b, a)):
                if zero.op == "const" and zero.params[0] == 0:
                    return ops.relu(x)
        return apply_function(PAIRED[name], [a, b], None)


MAX_MATRIX_POWER = 64


def matrix_power(x, p):
    """x^p as matrixcalculus.org writes it: the power of a scalar, or the matrix power of
    a square matrix for an integer p (A^0 = I, A^-1 = inv(A), A^-2 = inv(A) inv(A))."""
    if x.shape == SCALAR:
        return ops.power(x, p)
    if x.shape[0] != x.shape[1]:
        raise ShapeError(f"^ is the power of a scalar or the matrix power of a square "
                         f"matrix; {x} is {_shape(x)}: write .^ for the elementwise power")
    if isinstance(p, float) and p.is_integer():
        p = int(p)
    if not isinstance(p, int) and not (isinstance(p, Fraction) and p.denominator == 1):
        raise ShapeError(f"the matrix power needs a whole exponent, not {p}; write .^ for "
                         "the elementwise power")
    p = int(p)
    if abs(p) > MAX_MATRIX_POWER:
        raise ShapeError(f"the matrix power is limited to exponents up to "
                         f"{MAX_MATRIX_POWER} in size")
    if p == 0:
        return ops.eye(x.shape[0])
    base = ops.inv(x) if p < 0 else x
    out = base
    for _ in range(abs(p) - 1):
        out = ops.matmul(out, base)
    return out


def _coefficient(e) -> bool:
    """A number, a dimension or a fraction of these (2, m, 2/m, \\frac{1}{m})."""
    if e.op == "div":
        return all(_coefficient(c) for c in e.children)
    return e.op in ("const", "dim")


def _stretched(e) -> bool:
    """A scalar stretched to a shape, as the printer writes it (s ⊙ 1ₘₓₙ)."""
    if e.op == "mul":
        return any(c.op in ("ones", "broadcast") for c in e.children)
    return e.op in ("ones", "broadcast")


def _shape(e) -> str:
    from ..dims import fmt_shape
    return fmt_shape(e.shape)


def _not_square(r, c):
    raise ShapeError(f"the identity must be square, not {r}×{c}")


# ---- a letter convention ----------------------------------------------------------------


def _seed_kinds(infer: Infer, resolver: Resolver, kinds) -> None:
    """A scalar's shape is 1×1 and a vector's columns are 1, before any use is seen."""
    for name in resolver.unknown:
        kind = kinds(name)
        r, c = infer.types[name]
        if kind == "scalar":
            infer.sizes.unify(r, 1)
        if kind in ("scalar", "vector"):
            infer.sizes.unify(c, 1)


DIM_POOL = ("n", "m", "k", "p", "q", "r", "s", "t", "l", "d")


def _name_open_sizes(ctx: Context, infer: Infer, resolver: Resolver) -> None:
    """Each size no use fixes becomes a new dimension (n, m, k, ...), in the order the
    names first occur, skipping the names already taken."""
    taken = set(ctx.dim_names) | set(ctx.declared) | set(resolver.unknown) | set(ctx.locals)
    fresh = (name for name in (*DIM_POOL, *(f"n{i}" for i in range(1, 10**6)))
             if name not in taken)
    for name in sorted(resolver.unknown, key=lambda k: resolver.unknown[k].start):
        for s in infer.types[name]:
            if not infer.sizes.known(s):
                dim = next(fresh)
                ctx.dim_names.add(dim)
                infer.sizes.unify(s, Dim(dim))


# ---- a whole program --------------------------------------------------------------------


def build_program(text: str, statements: list, declared: dict, dim_names: set,
                  notation: str, kinds=None) -> Program:
    """The Program of parsed statements: (target name or None, target node, value node).

    `kinds`, where the notation has a letter convention, says what an undeclared name is
    (name -> "scalar", "vector", "matrix" or None): its shape is then fixed by that kind
    where the use leaves it open, each size left open becoming a new dimension."""
    if not statements:
        raise ParseError("the expression is empty")
    for i, (target, tnode, _value) in enumerate(statements):
        if target is None and i != len(statements) - 1:
            raise ParseError("only the last statement may be a bare expression; name this "
                             "one with 'name = ...'", source=text, column=_value.start,
                             width=_value.width)
    with room(6 * MAX_DEPTH + 500):
        return _program(text, statements, declared, dim_names, notation, kinds)


def _program(text, statements, declared, dim_names, notation, kinds=None) -> Program:
    ctx = Context(text, declared, dim_names)
    resolver = Resolver(ctx)
    resolved, assigned = [], set()
    for target, tnode, value in statements:
        node = resolver(value)
        if target is not None:
            if target in declared or target in resolver.unknown:
                raise ctx.error(ParseError, f"{target} is a variable; an intermediate needs "
                                "a new name", tnode)
            if target in assigned:
                raise ctx.error(ParseError, f"{target} is assigned twice", tnode)
            if target in WORDS or target in ctx.dim_names:
                raise ctx.error(ParseError, f"{target} is already a function or dimension "
                                "name", tnode)
            assigned.add(target)
            ctx.locals[target] = None
        resolved.append((target, node))

    infer = Infer(ctx, resolver)
    if kinds is not None:
        _seed_kinds(infer, resolver, kinds)
    ctx.locals = {}
    for target, node in resolved:
        t = infer(node)
        if target is not None:
            ctx.locals[target] = t
    if kinds is not None:
        _name_open_sizes(ctx, infer, resolver)

    variables: dict = {}
    for name, node in resolver.unknown.items():
        r, c = (infer.sizes.find(s) for s in infer.types[name])
        missing = [axis for axis, s in (("rows", r), ("columns", c)) if isinstance(s, Unknown)]
        if missing:
            raise ctx.error(ShapeError, f"cannot infer the shape of {name} (its "
                            f"{' and '.join(missing)}) from its use; declare it, e.g. "
                            f"{shape_example(name, r, c)}", node)
    for name, (r, c, structure) in declared.items():
        variables[name] = ops.var(name, r, c, structure=structure)
    for name in resolver.unknown:
        r, c = (infer.sizes.find(s) for s in infer.types[name])
        try:
            variables[name] = ops.var(name, as_size(r), as_size(c))
        except MatgradError as err:
            raise err.at(text, resolver.unknown[name].start,
                         resolver.unknown[name].width) from None

    build = Build(ctx, infer, variables, notation)
    ctx.locals = {}
    definitions: dict = {}
    result, result_name = None, None
    for target, node in resolved:
        value = build(node)
        if target is not None:
            ctx.locals[target] = value
            definitions[target] = value
        result, result_name = value, target
    if result_name is not None:
        definitions.pop(result_name)
    used = {n.params[0] for n in declared_variables(result, definitions)}
    return Program(result=result, definitions=definitions, result_name=result_name,
                   variables={k: v for k, v in variables.items() if k in used},
                   inferred=tuple(n for n in resolver.unknown if n in used), source=text)
