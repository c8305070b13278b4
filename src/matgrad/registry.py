"""The registry of the language's named operations: each operation is one declaration.

The arithmetic core (leaves, + − ⊙ / ** @, transpose, broadcast, sum and the
elementwise functions of `elementwise`) is the grammar of every expression and lives in
`ops`, `rules` and the printers' structure. Every other operation — trace, det, inv,
softmax and whatever the language grows next — is an `Operation` declared once, in
`matgrad.operations`, with all its facets: its name and signature in the language, its
shape rule, its NumPy kernel, its differential (or, for a linear operation, its adjoint
and the identity the steps print), its text, LaTeX and code spellings and the facts the
numeric checks use. Constructors, the parser's shape inference, the differential rules,
evaluation, the printers and code generation all dispatch on this registry, so adding an
operation is one declaration (and its tests); tests/test_registry.py checks every facet
of every declaration numerically.

This module is the core's: it imports nothing of the package but the leaves of the
core, so every layer may read it.
"""
from __future__ import annotations

import re
from types import MappingProxyType
from dataclasses import dataclass, field
from typing import Callable, Mapping

from .dims import Dim, DimProduct, fmt_shape, product
from .errors import MatgradError, ShapeError
from .expr import Expr, make

# Facts a declaration may state, each read by the layer named.
FACTS = frozenset({
    "positive",     # the value is positive whatever the arguments (verify: no domain asked)
    "conditioned",  # the argument must be well conditioned (verify: points are redrawn)
    "symmetric",    # the value is a symmetric matrix
    "broadcasting",  # the arguments broadcast as + does: the constructor stretches them
                     # to one shape, and the parser infers undeclared shapes as for +
    "symmetric-argument",  # the argument must be symmetric (the meta-tests draw one so)
})
BACKENDS = ("numpy", "jax", "torch")


@dataclass(frozen=True)
class Helper:
    """A small function written out next to generated code, for a kernel a backend lacks.

    `source` defines `name`; on the array-API backend its first argument is the array
    namespace `xp`."""

    name: str
    source: str


@dataclass(frozen=True)
class Keyword:
    """A keyword argument: its name, the values it may take and its default. A
    `positional` one is written in the language as a number after the arrays
    (matrix_power(A, 3)), not as name=value."""

    name: str
    values: tuple
    default: object = None
    positional: bool = False
    # the value is not written but read from the number of arguments (the order of
    # expm_block(D₀, C₁, D₁, …)): a function of that number, or None if it is invalid
    counted: Callable | None = None


@dataclass(frozen=True)
class Operation:
    """One operation of the language, with every facet the layers need.

    - `name`: the node's operation and the registry key; `call`: its function name in
      the language (several operations may share one, as diag's two readings do, with a
      `resolve` choosing among them).
    - `signature`: the shape rule, shared by the constructor and the parser's inference:
      argument shapes, then the result, in letters that must agree and 1s, e.g.
      "n,n -> 1,1" (square in, scalar out) or "n,n; n,k -> n,k". A product of letters
      ("p*r") is the product size (`dims.DimProduct`): in the result, the product of
      what the letters are bound to ("p,q; r,s -> p*r,q*s" is the Kronecker product);
      in an argument, a size that must equal that product, whose letters are bound by
      the other arguments or by `sizes`. A callable takes the keyword values and
      returns such a string.
    - `sizes`: letters given as sizes (dimension names or whole numbers) after the
      arguments, as unvec(v, m, n) gives m and n; they are the node's first params.
    - `kernel(params, *arrays)`: the NumPy value, from 2-D arrays, as a 2-D array.
    - `differential(node, d)`: d(node) from the children's differentials `d` (None where
      a child is constant); its docstring states the identity and its source, and the
      steps print it. A linear operation instead has `linear=True`, is its own
      differential (d op(A) = op(dA)), and has `adjoint(node, G)`: the G of its argument
      in G : op(dA) = adjoint(G) : dA, with `identity` = (key, the identity's text).
      An operation linear in one argument only, the others held fixed (solve(A, B) in
      B), states its differential and gives `linear_in` (that argument's position),
      `adjoint` and `identity` for it, and an `index` reading with that argument linear:
      its differential may then apply it to a differential (solve(A, dB)). Where it is
      linear in each of several arguments, one at a time (the Cᵢ of expm_block),
      `linear_in` is a function of the node giving their positions, and `adjoint` and
      `index` take the position of the one that holds the differential as a last
      argument.
    - `text`: (Unicode name, language name) of a call, or a function (printer, node) →
      (text, precedence); `latex`: a LaTeX function name or such a function.
    - `code`: per backend, "linalg.inv" (a function of the backend's namespace), a
      `Helper`, or a function (printer, node) → (text, precedence); a backend missing
      inherits the array-API ("numpy") spelling; where none applies, `lowering(node)`
      rewrites the node into other operations before code is printed. `helpers` lists
      every `Helper` the spellings may write (their names are reserved in the code).
    - A multilinear operation (linear in each argument with the others held, as A ⊗ B
      is) states its `differential` (the sum of one term per argument) and, per
      argument, `partial_adjoints[i](node, G)`: the G of argument i in
      G : op(.., dAᵢ, ..) = Gᵢ : dAᵢ, with `partial_identities[i]` = (key, its text).
    - `index(node, lin, r, c, t)`: a linear or multilinear operation's reading in index
      notation: the terms of op(A, ...) at indices r, c, given `lin(A, i, j)` for each
      argument's and the tensor module's term algebra `t` (axis_index, sum_over,
      multiply, Term, Delta, split: an index over m·n as its pair of indices).
    - `scale(node, values, scales)`: how rounding errors grow through it (verify).
    - `convention`: its domain and what it does where it is not differentiable (the
      subgradient chosen at a kink or a tie), as the operations page states it.
    - `unsupported`: what its derivatives cannot do yet, if anything: the message of the
      MatgradError its differential raises where that is asked (the meta-tests check
      that it is said so, and nothing else is raised).
    """

    name: str
    call: str
    signature: object
    kernel: Callable
    differential: Callable | None = None
    linear: bool = False
    adjoint: Callable | None = None
    identity: tuple | None = None
    linear_in: int | None = None
    keywords: tuple = ()
    sizes: tuple = ()
    partial_adjoints: tuple = ()
    partial_identities: tuple = ()
    resolve: Callable | None = None
    text: object = None
    latex: object = None
    code: dict = field(default_factory=dict)
    helpers: tuple = ()
    lowering: Callable | None = None
    index: Callable | None = None
    scale: Callable | None = None
    facts: frozenset = frozenset()
    convention: str = ""
    unsupported: str = ""

    def linear_positions(self, node: Expr) -> tuple:
        """The positions of the arguments the operation is linear in (the others held)."""
        if self.linear_in is None:
            return ()
        if callable(self.linear_in):
            return tuple(self.linear_in(node))
        return (self.linear_in,)

    def params_for(self, count: int, given: dict | None = None) -> tuple | None:
        """The keyword values of a call with `count` arguments: the counted ones from
        the count (None where the count is not one the operation takes), the others
        given or by default."""
        out = []
        for k in self.keywords:
            if k.counted is not None:
                value = k.counted(count)
                if value not in k.values:
                    return None
            else:
                value = (given or {}).get(k.name, k.default)
            out.append(value)
        return tuple(out)

    def signature_for(self, params: tuple) -> "Signature":
        """The signature for the node's params (the sizes, then the keyword values; a
        callable signature takes the keyword values)."""
        keywords = params[len(self.sizes):] if len(params) > len(self.keywords) else params
        sig = self.signature(*keywords) if callable(self.signature) else self.signature
        return _parse_signature(sig, self.name)

    @property
    def multilinear(self) -> bool:
        return bool(self.partial_adjoints)

    @property
    def arity(self) -> int:
        """The number of expression arguments (sizes not counted)."""
        return len(self.signature_for(tuple(k.default for k in self.keywords)).args)

    def code_for(self, backends: tuple):
        """The spelling for the first backend of `backends` that has one, else None."""
        for b in backends:
            if b in self.code:
                return self.code[b]
        return None


_REGISTRY: dict[str, Operation] = {}
# language function name -> the operations it may build, in declaration order
_CALLS: dict[str, tuple] = {}
_FUNCTIONS: dict[str, Callable] = {}
# what the readers get: read-only views of the three, current as declarations are added
_OPERATIONS_VIEW = MappingProxyType(_REGISTRY)
_CALLS_VIEW = MappingProxyType(_CALLS)
_FUNCTIONS_VIEW = MappingProxyType(_FUNCTIONS)


def declare(operation: Operation) -> Operation:
    """Add an operation to the registry (once per name)."""
    if operation.name in _REGISTRY:
        raise MatgradError(f"internal: the operation {operation.name!r} is declared twice")
    unknown = set(operation.facts) - FACTS
    if unknown:
        raise MatgradError(f"internal: {operation.name} states unknown facts {sorted(unknown)}")
    if operation.linear and operation.adjoint is None:
        raise MatgradError(f"internal: the linear operation {operation.name} has no adjoint")
    if operation.linear_in is not None and (operation.adjoint is None
                                            or operation.identity is None):
        raise MatgradError(f"internal: {operation.name} is linear in an argument but has "
                           "no adjoint or identity for it")
    if operation.linear and len(operation.signature_for(
            tuple(k.default for k in operation.keywords)).args) != 1:
        # rules and the adjoint push one argument's differential through
        raise MatgradError(f"internal: the linear operation {operation.name} must take one "
                           "argument (a multilinear one states its differential)")
    sig = operation.signature_for(tuple(k.default for k in operation.keywords))
    plain = {p for pattern in sig.args for p in pattern if isinstance(p, str)}
    plain |= set(operation.sizes)
    for pattern in sig.args + (sig.result,):
        for p in pattern:
            letters = p if isinstance(p, tuple) else (p,) if isinstance(p, str) else ()
            if not set(letters) <= plain:
                raise MatgradError(f"internal: {operation.name}'s signature uses "
                                   f"{'*'.join(letters)}, which no argument or size binds")
    if operation.multilinear and (len(operation.partial_adjoints) != len(sig.args) or
                                  len(operation.partial_identities) != len(sig.args)):
        raise MatgradError(f"internal: the multilinear operation {operation.name} needs "
                           "one adjoint and one identity per argument")
    _REGISTRY[operation.name] = operation
    _CALLS[operation.call] = _CALLS.get(operation.call, ()) + (operation,)
    return operation


def spell(call: str, signature: str) -> None:
    """A function of the language that builds another operation's node (expm_frechet(A,
    E) is expm_block(A, E, A)): its name and shape rule, which the readers use as they
    use an operation's; it has no node, and so no facets, of its own. Its function is
    published as any other."""
    if call in _CALLS:
        raise MatgradError(f"internal: {call!r} is already a function of the language")
    _parse_signature(signature, call)  # checked now, not at the first call
    _CALLS[call] = (Operation(name=call, call=call, signature=signature, kernel=None),)


def publish(function: Callable) -> Callable:
    """Make `function` (a declared operation's constructor) a function of the language:
    the parser calls it by its name, and `matgrad` exports it."""
    if function.__name__ in _FUNCTIONS:
        raise MatgradError(f"internal: the function {function.__name__!r} is published twice")
    _FUNCTIONS[function.__name__] = function
    return function


def functions() -> Mapping[str, Callable]:
    """The published functions, by name (a read-only view)."""
    return _FUNCTIONS_VIEW


def get(name: str) -> Operation | None:
    """The declaration of operation `name`, or None for the arithmetic core."""
    return _REGISTRY.get(name)


def operations() -> Mapping[str, Operation]:
    """Every declared operation, by name (a read-only view)."""
    return _OPERATIONS_VIEW


def calls() -> Mapping[str, tuple]:
    """The language's function names of the declared operations, each with the
    operations it may build, in declaration order (a read-only view)."""
    return _CALLS_VIEW


def summary(op: Operation) -> dict:
    """What the operations page says of an operation, from its declaration alone: the
    call, the shape rule, the differential (its rule's first docstring paragraph, or the
    adjoint identity of a linear operation), the convention and where it is declared."""
    sig = op.signature_for(tuple(k.default for k in op.keywords))
    names = [chr(ord("A") + i) for i in range(len(sig.args))]
    keywords = "".join(f", {k.name}={k.default!r}" for k in op.keywords if k.counted is None)
    if op.linear:
        differential = (f"linear: d {op.call}(A) = {op.call}(dA); "
                        f"adjoint: {op.identity[1]}")
    else:
        doc = (op.differential.__doc__ or "").strip()
        differential = " ".join(doc.split("\n\n")[0].split())
    shape = op.signature if isinstance(op.signature, str) else (
        f"{op.signature(*(k.default for k in op.keywords))} (by default; the keywords "
        "choose another)")
    # operations sharing a function name (norm_1, norm_nuc: norm) are told by their own
    call = f"{op.call}({', '.join(names)}{keywords})"
    if op.name != op.call and len(_CALLS[op.call]) > 1:
        call += f" [{op.name}]"
    return {"call": call,
            "signature": shape,
            "differential": differential,
            "convention": op.convention or "differentiable wherever it is defined",
            "module": op.kernel.__module__}


# ---- signatures: the shape rule, read by the constructors and the parser alike ---------


@dataclass(frozen=True)
class Signature:
    args: tuple  # one (rows, cols) pattern per argument; a pattern is a letter, 1 or a
    result: tuple  # product of letters (a tuple of them)


_SIGNATURE = re.compile(r"^\s*([^>]*?)\s*->\s*(\S+)\s*$")


def _axis_pattern(p: str):
    if p == "1":
        return 1
    if p.isidentifier():
        return p
    letters = tuple(x.strip() for x in p.split("*"))
    if len(letters) > 1 and all(x.isidentifier() for x in letters):
        return letters
    return None


def _pattern(text: str, where: str) -> tuple:
    parts = [_axis_pattern(p.strip()) for p in text.split(",")]
    if len(parts) != 2 or None in parts:
        raise MatgradError(f"internal: bad shape pattern {text!r} in {where}")
    return tuple(parts)


def _parse_signature(text: str, where: str) -> Signature:
    m = _SIGNATURE.match(text)
    if m is None:
        raise MatgradError(f"internal: bad signature {text!r} in {where}")
    args = tuple(_pattern(a, where) for a in m.group(1).split(";"))
    return Signature(args, _pattern(m.group(2), where))


def _shape_word(pattern: tuple) -> str:
    r, c = pattern
    if r == c and r != 1:
        return "square"
    if c == 1 and r != 1:
        return "a column vector"
    if r == 1 and c != 1:
        return "a row vector"
    if r == c == 1:
        return "a scalar"
    return f"{r}×{c}"


def short(e: Expr) -> str:
    """An expression's text, cut at 40 characters, for messages."""
    text = str(e)
    return text if len(text) <= 40 else text[:37] + "..."


def _given(op: Operation, params: tuple) -> dict:
    """The letters the call gives as sizes, bound to them."""
    return dict(zip(op.sizes, params))


def _call_text(op: Operation, args: list, params: tuple) -> str:
    return f"{op.call}({', '.join([short(a) for a in args] + [str(s) for s in params[:len(op.sizes)]])})"


def result_shape(op: Operation, args: list, params: tuple) -> tuple:
    """The result's shape for arguments `args`, or a ShapeError naming the operation,
    the argument and what it must be."""
    sig = op.signature_for(params)
    bound: dict = _given(op, params)
    origin: dict = {}
    call = _call_text(op, args, params)
    for i, (a, pattern) in enumerate(zip(args, sig.args)):
        for axis, (p, size) in enumerate(zip(pattern, a.shape)):
            if isinstance(p, tuple):
                continue  # a product: checked once every letter is bound
            if p == 1:
                if size != 1:
                    raise ShapeError(f"{call}: {short(a)} is {fmt_shape(a.shape)}, not "
                                     f"{_shape_word(pattern)}")
            elif p in bound and bound[p] != size:
                j, other = origin[p]
                if j == i:
                    raise ShapeError(f"{call}: {short(a)} is {fmt_shape(a.shape)}, not "
                                     f"{_shape_word(pattern)}")
                raise ShapeError(
                    f"{call}: {short(other)} is {fmt_shape(other.shape)} and {short(a)} "
                    f"is {fmt_shape(a.shape)}; {op.call} takes "
                    + " and ".join(_fmt_pattern(q) for q in sig.args))
            else:
                bound[p] = size
                origin[p] = (i, a)
    for a, pattern in zip(args, sig.args):
        want = tuple(_size_of(p, bound) for p in pattern)
        if any(isinstance(p, tuple) for p in pattern) and want != a.shape:
            raise ShapeError(f"{call}: {short(a)} is {fmt_shape(a.shape)}, not "
                             f"{fmt_shape(want)}")
    return tuple(_size_of(p, bound) for p in sig.result)


def _size_of(p, bound: dict):
    """The size an axis pattern stands for, its letters bound."""
    if p == 1:
        return 1
    if isinstance(p, tuple):
        return product(*(bound[x] for x in p))
    return bound[p]


def _fmt_pattern(pattern: tuple) -> str:
    return f"{pattern[0]}×{pattern[1]}"


def infer_shape(op: Operation, args: list, params: tuple, unify, find=None,
                unknown=None) -> tuple:
    """The same rule over sizes still being solved: `unify(a, b)` records that two sizes
    are equal (the parser's inference), and the result is built from the arguments'.
    A product of sizes needs them solved (`find`); where one is not yet, a product in
    an argument is left to the constructor's check and one in the result is a new
    `unknown(label)`."""
    sig = op.signature_for(params)
    bound: dict = _given(op, params)
    find = find or (lambda s: s)

    def product_of(p):
        sizes = [find(bound[x]) for x in p]
        if all(isinstance(s, (int, Dim, DimProduct)) for s in sizes):
            return product(*sizes)
        return None

    for shape, pattern in zip(args, sig.args):
        for p, size in zip(pattern, shape):
            if isinstance(p, tuple):
                continue
            if p == 1:
                unify(size, 1)
            elif p in bound:
                unify(bound[p], size)
            else:
                bound[p] = size
    for shape, pattern in zip(args, sig.args):
        for p, size in zip(pattern, shape):
            if isinstance(p, tuple):
                want = product_of(p)
                if want is not None:
                    unify(want, size)
    out = []
    for p in sig.result:
        if isinstance(p, tuple):
            want = product_of(p)
            out.append(want if want is not None or unknown is None
                       else unknown("*".join(p)))
        else:
            out.append(1 if p == 1 else bound[p])
    return tuple(out)


def keyword_params(op: Operation, given: dict, sizes: tuple = ()) -> tuple:
    """The node's parameters: the sizes given (for an operation that takes sizes), then
    each keyword's value, in declaration order."""
    names = {k.name for k in op.keywords if k.counted is None}
    for key in given:
        if key not in names:
            allowed = ", ".join(sorted(names)) or "none"
            raise MatgradError(f"{op.call}: unknown keyword argument {key!r} "
                               f"(keywords: {allowed})")
    out = []
    for k in op.keywords:
        value = given.get(k.name, k.default)
        if value not in k.values or isinstance(value, bool):
            raise MatgradError(f"{op.call}: {k.name} must be one of "
                               f"{', '.join(repr(v) for v in k.values)}, not {value!r}")
        out.append(value)
    return tuple(sizes) + tuple(out)


def build(op: Operation, args: tuple, params: tuple) -> Expr:
    """The node of operation `op` on expressions `args` (shapes checked)."""
    return make(op.name, tuple(args), params, result_shape(op, list(args), params))

