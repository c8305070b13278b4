"""Checking a person's own answer: is the claimed gradient right, and if not, how wrong.

`check(L, x, claim)` reads the claim in the language of the loss (its variables, its
dimensions and its named intermediates) and gives one verdict:

* "correct": equal to ∂L/∂x at several random points, however it is written;
* "transposed": the transpose of ∂L/∂x (the numerator- vs denominator-layout mix-up);
* "wrong-shape": it does not type-check, or its shape cannot be the gradient's (which
  always has the shape of x); the message names the operands and dimensions that clash,
  and, where an intermediate's derivative is a tensor, says so and shows the
  differential route;
* "wrong-value": the right shape but the wrong numbers, with a counterexample: a point,
  a direction dx, and the claimed and true directional derivatives there;
* "undetermined": no random point was found where the loss and its gradient are both
  defined (at the sizes given, or at any of the size assignments tried), so the claim
  cannot be compared; the message gives the reason (e.g. the argument of an inverse is
  singular at every point drawn) and suggests sizes= . Also undetermined: a claim that
  agrees only because it is computed from terms that cancel so much that rounding
  would hide an error of RESOLUTION of the gradient's size.

Every comparison is numeric (random points that honour the loss's domain, distinct
sizes per dimension), never a comparison of printed forms. The claim and the gradient
agree at a point when they differ by at most RTOL of the larger, or by a small multiple
of eps times the magnitudes rounding acts on in computing them (the terms of a sum
that cancels, the conditioning of an inverse: `verify.rounding_scale`); nothing is
absolute, so scaling the loss by any factor leaves the verdict unchanged.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass, field

import numpy as np

from .dims import Dim, fmt_shape, named
from .errors import MatgradError, ParseError, ShapeError
from .expr import Expr, dimensions, matmul_factors, variables, walk
from .recursion import steady
from .structure import of as structure_of
from .structure import phrase, project

VERDICTS = ("correct", "transposed", "wrong-shape", "wrong-value", "undetermined")


@dataclass
class Counterexample:
    """Where a claim fails: at `point`, along `direction` for x, the true directional
    derivative dL = ∂L/∂x : dx is `true` but the claim gives claim : dx = `claimed`."""

    point: dict
    sizes: dict
    direction: np.ndarray
    claimed: float
    true: float
    finite_difference: float

    def describe(self, x_name: str) -> str:
        sizes = ", ".join(f"{d} = {v}" for d, v in self.sizes.items())
        values = "; ".join(f"{k} = {_array_text(v)}" for k, v in self.point.items())
        return (f"at {sizes + '; ' if sizes else ''}{values}\n"
                f"  along d{x_name} = {_array_text(self.direction)}\n"
                f"  the true directional derivative is dL = {self.true:.6g} (central finite "
                f"differences: {self.finite_difference:.6g}),\n"
                f"  but the claim gives claim : d{x_name} = {self.claimed:.6g}")


@dataclass
class CheckResult:
    """The verdict on a claimed gradient, and why.

    `verdict` is "correct", "transposed", "wrong-shape", "wrong-value" or
    "undetermined"; `ok` is true when it is "correct"; `expected` is the true gradient
    and `claim` the claim, parsed; `str()` explains the verdict.

    >>> import matgrad as mg
    >>> m, n = mg.dims("m n")
    >>> X, w = mg.matrix("X", m, n), mg.vector("w", n)
    >>> r = mg.check(mg.sum((X @ w) ** 2), X, "2 * w @ (X @ w).T")
    >>> r.verdict, r.ok
    ('transposed', False)
    >>> r.expected
    2 · X w wᵀ
    """

    verdict: str
    message: str
    expected: Expr  # the true gradient ∂L/∂x
    claim: Expr | None = None  # the claim, parsed (None when it does not type-check)
    counterexample: Counterexample | None = None
    names: dict = field(default_factory=dict)  # Expr -> name, for printing

    @property
    def ok(self) -> bool:
        return self.verdict == "correct"

    def __str__(self) -> str:
        return self.message

    def _repr_markdown_(self) -> str:
        return "```\n" + self.message + "\n```"

    def _repr_html_(self) -> str:
        from .display import check_html
        return check_html(self)

    def _repr_pretty_(self, p, cycle) -> None:
        p.text(self.message)


def _array_text(a: np.ndarray) -> str:
    a = np.asarray(a)
    if a.size == 1:
        return f"{float(a.reshape(-1)[0]):.3g}"
    if a.ndim == 2 and a.shape[1] == 1:
        a = a[:, 0]
    return np.array2string(a, precision=3, suppress_small=True, separator=", ",
                           max_line_width=10_000).replace("\n", "")


def _shape_words(shape) -> str:
    return "scalar (1×1)" if shape == (1, 1) else fmt_shape(shape)


# ---- reading the claim -------------------------------------------------------------------


def _char_index(text: str, lineno: int, byte_col: int) -> int:
    starts = [0] + [i + 1 for i, ch in enumerate(text) if ch == "\n"]
    start = starts[lineno - 1]
    end = text.find("\n", start)
    line = text[start: end if end >= 0 else len(text)]
    return start + len(line.encode("utf-8")[:byte_col].decode("utf-8", "replace"))


def _span(text: str, node) -> tuple[int, int]:
    a = _char_index(text, node.lineno, node.col_offset)
    b = _char_index(text, node.end_lineno, node.end_col_offset)
    return a, b


def _unknown_names(claim: str, known: set) -> None:
    """A name in the claim that the loss does not know is an error, not a verdict."""
    from .parser import FUNCTIONS, constant_nodes, constants
    try:
        with steady():  # ast.parse fails if another thread changes the recursion limit
            tree = ast.parse(claim, mode="exec")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return  # the parser reports it, with a caret
    assigned = {t.id for s in tree.body if isinstance(s, ast.Assign) for t in s.targets
                if isinstance(t, ast.Name)}
    callees = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    # norm(x, inf): inf there is a constant argument, not a name
    callees |= {id(a) for n in ast.walk(tree) if isinstance(n, ast.Call) and
                isinstance(n.func, ast.Name) and constants(n.func.id)
                for a in constant_nodes(n).values()}
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and id(node) not in callees and \
                node.id not in known and node.id not in assigned and node.id not in FUNCTIONS:
            a, b = _span(claim, node)
            raise ParseError(f"the claim uses {node.id}, which is not a variable, a "
                             "dimension or a named intermediate of the loss",
                             source=claim, column=a, width=b - a)


def _where(derivation, expected: Expr) -> str:
    """', where g = ...' for the named intermediates the answer refers to, so that the
    answer stands on its own."""
    from .printing.symbols import unicode_name
    from .printing.text import to_text
    used = set(walk(expected))
    rows, pending = [], [e for _, e, _ in derivation.intermediates if e in used]
    seen: set = set()
    while pending:  # definitions refer to further intermediates: take those too
        e = pending.pop(0)
        if e in seen:
            continue
        seen.add(e)
        inner = set(walk(e)) - {e}
        pending.extend(x for _, x, _ in derivation.intermediates if x in inner)
    for n, e, _ in derivation.intermediates:
        if e in seen:
            rows.append(f"{unicode_name(n)} = {to_text(e, derivation.names)}")
    return ", where " + "; ".join(rows) if rows else ""


def _chain_text(e: Expr) -> str:
    fs = matmul_factors(e)
    if len(fs) == 1:
        return fmt_shape(e.shape)
    return "".join(f"({fmt_shape(f.shape)})" for f in fs)


def _clash(claim: str, err: ShapeError, parse_part) -> str:
    """The clash in words, with the operands' shapes: "(1×m)(m×m) times n×1: inner
    dimensions m and n differ". Falls back to the parser's own message."""
    if err.column is None:
        return err.message
    try:
        with steady():
            tree = ast.parse(claim, mode="exec")
    except (SyntaxError, ValueError, RecursionError, MemoryError):  # e.g. not Python
        return err.message
    for node in ast.walk(tree):
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.MatMult):
            a, b = _span(claim, node)
            if (a, b - a) != (err.column, err.width):
                continue
            try:
                left = parse_part(ast.get_source_segment(claim, node.left))
                right = parse_part(ast.get_source_segment(claim, node.right))
            except MatgradError:
                return err.message
            return (f"{_chain_text(left)} times {_chain_text(right)}: inner dimensions "
                    f"{left.shape[1]} and {right.shape[0]} differ")
    return err.message


# ---- why a chain of matrices fails: the tensor in the middle --------------------------------


def _tensor_note(derivation, x: Expr, loss_name: str) -> str:
    """Explain, for the intermediate right above x, what ∂u/∂x is; and show the steps."""
    from .printing.symbols import unicode_name
    from .steps import Equation
    x_label = x.params[0]
    u_label, u_shape = None, None
    for step in derivation.steps:
        for p in step.rule_parts:
            if isinstance(p, Equation) and any(n.op == "dvar" and n.params[0] == x_label
                                               for n in walk(p.rhs)):
                u_label, u_shape = p.lhs.params[0], p.lhs.shape
    route = ("The differential route keeps every quantity a matrix: write dL = G : d"
             f"{unicode_name(x_label)} and read off G:\n{derivation.to_text()}")
    if u_label is None:
        return route
    u, xs = unicode_name(u_label), unicode_name(x_label)
    u_axes = [s for s in u_shape if s != 1]
    x_axes = [s for s in x.shape if s != 1]
    order = len(u_axes) + len(x_axes)
    if order <= 2:
        if u_axes and x_axes:
            return (f"∂{u}/∂{xs} is a {u_axes[0]}×{x_axes[0]} matrix (a Jacobian). In the "
                    f"layout where a gradient has the shape of its variable, the chain rule "
                    f"reads ∂{loss_name}/∂{xs} = (∂{u}/∂{xs})ᵀ ∂{loss_name}/∂{u}; a product "
                    f"in the other order or without the transpose has the wrong shape.\n"
                    + route)
        return route
    words = {3: "third", 4: "fourth"}.get(order, f"{order}th")
    idx = ["i", "j", "k", "l"]
    ui = "".join(_sub(i) for i in idx[:len(u_axes)])
    xi = "".join(_sub(i) for i in idx[len(u_axes):order])
    dims = "×".join(str(s) for s in u_axes + x_axes)
    return (f"∂{u}/∂{xs} is a {words}-order tensor ({dims}: one entry ∂{u}{ui}/∂{xs}{xi} "
            f"for each index), not a matrix, so the chain rule ∂{loss_name}/∂{xs} = "
            f"∂{loss_name}/∂{u} · ∂{u}/∂{xs} cannot be a product of matrices there.\n"
            + route)


def _sub(ch: str) -> str:
    from .printing.symbols import subscript
    return subscript(ch) or ch


# ---- the check ---------------------------------------------------------------------------------


def check(L, x, claim: str, *, shapes=None, definitions: dict | None = None,
          points: int = 5, seed: int | None = 0, sizes=None) -> CheckResult:
    """The verdict on a claimed gradient ∂L/∂x, written as text in the language.

    `L` is an expression (or text, parsed with `shapes`); `definitions` names its
    intermediates, which the claim may use by name. `sizes` ({"m": 7, "n": 5}, with
    names or Dim keys, or the text "m=7, n=5") fixes the sizes of dimensions at the
    random points; by default they are chosen so that the loss is defined.

    >>> import matgrad as mg
    >>> m, n = mg.dims("m n")
    >>> X, w = mg.matrix("X", m, n), mg.vector("w", n)
    >>> L = mg.sum((X @ w) ** 2)
    >>> mg.check(L, X, "2 * X @ w @ w.T").verdict
    'correct'
    >>> mg.check(L, X, "2 * w @ (X @ w).T").verdict
    'transposed'
    >>> mg.check(L, X, "X @ w @ w.T").verdict
    'wrong-value'
    """
    from .differentiate import resolve
    from .parser import parse_program
    from .printing.symbols import unicode_name
    from .expr import substitute
    from .printing.text import to_text
    from .steps import derive

    definitions = dict(definitions or {})
    loss_name = "L"
    if isinstance(L, str):
        program = parse_program(L, shapes)
        L = program.result
        definitions = {**program.definitions, **definitions}
        loss_name = program.result_name or "L"
    if not isinstance(claim, str):
        raise ParseError(f"the claim must be text in the language, not "
                         f"{type(claim).__name__}")
    x = resolve(L, x)
    derivation = derive(L, x, definitions=definitions, loss_name=loss_name)
    expected = derivation.result
    names = derivation.names
    xs, Ls = unicode_name(x.params[0]), unicode_name(loss_name)
    what = f"∂{Ls}/∂{xs}"
    want = f"{what} must be {_shape_words(x.shape)}, the shape of {xs}"
    answer = _ANSWER + f"{what} = {to_text(expected, names)}" + _where(derivation, expected)

    # the claim sees the loss's variables and dimensions, and its intermediates by name
    declared: dict = {}
    for v in variables(L):
        declared[v.params[0]] = f"{v.shape[0]},{v.shape[1]} {structure_of(v)}".strip()
    stand_ins: dict = {}
    for name, e in definitions.items():
        if name not in declared:
            declared[name] = f"{e.shape[0]},{e.shape[1]}"
            stand_ins[name] = e
    dim_names = [d.name for d in dimensions(L)] + [
        d.name for e in definitions.values() for s in e.shape for d in named(s)]
    _unknown_names(claim, set(declared) | set(dim_names))
    from .verify import parse_sizes
    sizes = parse_sizes(sizes, list(dict.fromkeys(dim_names))) if sizes is not None else {}

    def parse_part(text: str) -> Expr:
        p = parse_program(text, declared, dims=dim_names)
        return substitute(p.result, {p.variables[n]: e for n, e in stand_ins.items()
                                     if n in p.variables})

    try:
        C = parse_part(claim)
    except ShapeError as err:
        clash = _clash(claim, err, parse_part)
        msg = (f"wrong shape: the claim does not type-check.\n  {claim}\n"
               f"  {clash}.\n{want}.\n" + _tensor_note(derivation, x, Ls) + "\n" + answer)
        return CheckResult("wrong-shape", msg, expected, None, None, names)

    claim_text = " ".join(claim.split())
    if C.shape != x.shape:
        return _wrong_shape(L, x, C, expected, derivation, names, claim_text, want, answer,
                            Ls, points, seed, sizes)
    return _compare(L, x, C, expected, names, claim_text, what, answer, points, seed,
                    sizes)


def _wrong_shape(L, x, C, expected, derivation, names, claim_text, want, answer, Ls,
                 points, seed, sizes) -> CheckResult:
    xs = x.params[0]
    lines = [f"wrong shape: the claim {claim_text} is {_shape_words(C.shape)}, but {want}."]
    if C.shape == (x.shape[1], x.shape[0]):
        try:
            transposed = _agree(L, [(C, expected, True)], points, seed, sizes)
        except _NoPoint as err:
            transposed = None
            lines.append(f"It has the shape of {xs}ᵀ (the numerator layout); whether it is "
                         f"the transpose of the gradient is undetermined: there is no random "
                         f"point where the loss and its gradient are both defined "
                         f"({err.reason}).")
        if transposed:
            return _transposed(x, C, expected, names, claim_text, f"∂{Ls}/∂{xs}", answer)
        if transposed is False:
            lines.append(f"It has the shape of {xs}ᵀ (the numerator layout), but even "
                         f"transposed it is not the gradient.")
        lines.append(_tensor_note(derivation, x, Ls))
    else:
        lines.append(_tensor_note(derivation, x, Ls))
    lines.append(answer)
    return CheckResult("wrong-shape", "\n".join(lines), expected, C, None, names)


class _NoPoint(Exception):
    """No random point where the loss and its gradient are both defined."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass
class _Point:
    """The claim c and the truth t at one random point, and how far apart they may be
    from rounding alone."""

    values: dict
    sizes: dict
    c: np.ndarray
    t: np.ndarray
    tol: float
    rng: np.random.Generator
    tol_truth: float = 0.0  # the part of tol due to the truth alone
    claim_scale: float = 0.0  # the largest magnitude rounding acts on in the claim
    undefined: str = ""  # why the claim is not defined here, where it is not


# a claim agrees with the gradient where the two differ by at most RTOL of the larger,
# or by ROUND_SAFETY · eps times the largest magnitude rounding can act on (the terms
# of a sum that cancels, the conditioning of an inverse): no absolute floor, so the
# verdict does not change when the loss is scaled by any factor.
RTOL = 1e-8
# "correct" needs the comparison to resolve the claim to this fraction of the gradient's
# size; a claim whose own terms cancel more than that is undetermined instead
RESOLUTION = 1e-4


def _tolerance(c, t, Sc, St) -> float:
    from .verify import EPS, ROUND_SAFETY
    with np.errstate(all="ignore"):
        size = max(float(np.max(np.abs(c), initial=0.0)), float(np.max(np.abs(t), initial=0.0)))
        scale = max(float(np.max(Sc, initial=0.0)), float(np.max(St, initial=0.0)))
    return RTOL * size + ROUND_SAFETY * EPS * scale


def _points(L, claim: Expr, truth: Expr, points: int, seed, sizes,
            transposed: bool = False) -> list:
    """The claim and the truth at `points` random points where the loss and the truth
    are defined (and the claim too, where such points exist; where it is not, its value
    is NaN there). Raises _NoPoint where there is no such point."""
    from .errors import DomainError
    from .numeric import evaluate_2d
    from .verify import NoRandomPoint, defined_at, rounding_scale, sample
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(points):
        claim_defined = True
        try:
            values, sz = sample([L, truth, claim], rng, sizes)
        except DomainError:
            try:
                values, sz = sample([L, truth], rng, sizes)
            except NoRandomPoint as err:
                raise _NoPoint(err.reason) from None
            claim_defined = False
        cache: dict = {}
        scales: dict = {}
        t = evaluate_2d(truth, values, sz, cache)
        St = np.broadcast_to(rounding_scale(truth, values, sz, cache, scales), t.shape)
        shape = (t.shape[1], t.shape[0]) if transposed else t.shape
        # where the claim is not defined (it inverts a matrix that is singular here, or
        # is not finite), its value is NaN: the numbers it gives there mean nothing
        why = ""
        if not claim_defined:
            ok, why = defined_at([claim], values, sz, dict(cache))
            why = "" if ok else why
        if why:
            c, Sc = np.full(shape, np.nan), np.zeros(shape)
        else:
            try:
                c = np.broadcast_to(evaluate_2d(claim, values, sz, cache), shape)
                Sc = np.broadcast_to(rounding_scale(claim, values, sz, cache, scales), shape)
            except DomainError:  # pragma: no cover - defined_at said it is defined
                c, Sc = np.full(shape, np.nan), np.zeros(shape)
        if transposed:
            c, Sc = c.T, Sc.T
        zero = np.zeros((1, 1))
        out.append(_Point(values, sz, np.asarray(c), t, _tolerance(c, t, Sc, St), rng,
                          _tolerance(zero, t, zero, St),
                          float(np.max(Sc, initial=0.0)), why))
    return out


def _close(a: np.ndarray, b: np.ndarray, tol: float) -> bool:
    with np.errstate(all="ignore"):
        return bool(float(np.max(np.abs(a - b), initial=0.0)) <= tol)


def _agree(L, pairs, points, seed, sizes) -> bool:
    """Whether each (claim, truth, transposed) pair agrees at every random point."""
    for claim, truth, transposed in pairs:
        for p in _points(L, claim, truth, points, seed, sizes, transposed):
            if not _close(p.c, p.t, p.tol):
                return False
    return True


def _sizes_text(sizes: dict) -> str:
    return ", ".join(f"{d} = {v}" for d, v in sizes.items())


_ANSWER = "The correct answer: "


def _compare(L, x, C, expected, names, claim_text, what, answer, points, seed, sizes):
    try:
        samples = _points(L, C, expected, points, seed, sizes)
    except _NoPoint as err:
        return _undetermined(L, err.reason, expected, C, names, claim_text, what, answer)
    if all(_close(p.c, p.t, p.tol) for p in samples):
        blurred = _unresolved(samples)
        if blurred is not None:
            return _cancels(blurred, expected, C, names, claim_text, what, answer)
        worst = max(float(np.max(np.abs(p.c - p.t), initial=0.0)) for p in samples)
        at = _sizes_text(samples[0].sizes)
        # the answer as stated, with the names it uses defined
        msg = (f"correct: {claim_text} equals {answer.removeprefix(_ANSWER)}; at "
               f"{points} random points{f' with {at}' if at else ''} (largest difference "
               f"{worst:.1e}).")
        return CheckResult("correct", msg, expected, C, None, names)
    if x.shape[0] == x.shape[1] and x.shape != (1, 1) and \
            all(_close(p.c.T, p.t, p.tol) for p in samples):
        return _transposed(x, C, expected, names, claim_text, what, answer)
    return _wrong_value(L, x, C, expected, names, claim_text, what, answer, samples)


def _unresolved(samples):
    """The first point where the claim's own rounding hides differences the gradient
    could show (its terms cancel too much to resolve RESOLUTION of its size)."""
    for p in samples:
        size = float(np.max(np.abs(p.t), initial=0.0))
        if not np.isfinite(p.tol) or p.tol > RESOLUTION * size >= p.tol_truth:
            return p
    return None


def _cancels(p, expected, C, names, claim_text, what, answer) -> CheckResult:
    size = float(np.max(np.abs(p.t), initial=0.0))
    if not np.isfinite(p.tol) or size == 0:
        msg = (f"undetermined: {claim_text} agrees with {what} at the points checked, but "
               f"how far rounding may move them there cannot be bounded (an infinite "
               f"slope at an exact input), so a small error could hide.\n{answer}")
        return CheckResult("undetermined", msg, expected, C, None, names)
    msg = (f"undetermined: {claim_text} agrees with {what} at the points checked, but only "
           f"to within {p.tol / size:.0e} of its size: it is computed from terms up to "
           f"{p.claim_scale / size:.0e} times larger than the result, which cancel, so "
           f"rounding would hide a smaller error. Write it without the cancelling terms."
           f"\n{answer}")
    return CheckResult("undetermined", msg, expected, C, None, names)


def _undetermined(L, reason, expected, C, names, claim_text, what,
                  answer) -> CheckResult:
    example = dict(zip([d.name for d in dimensions(L)], (6, 4, 5, 7, 3)))
    hint = ""
    if example:
        as_dict = ", ".join(f"{k!r}: {v}" for k, v in example.items())
        as_text = ", ".join(f"{k}={v}" for k, v in example.items())
        hint = (f" Give sizes at which they are defined: sizes={{{as_dict}}}, for "
                f"example (on the command line --sizes '{as_text}').")
    msg = (f"undetermined: {claim_text} could not be compared with {what}: there is no "
           f"random point where the loss and its gradient are both defined ({reason})."
           f"{hint}\n{answer}")
    return CheckResult("undetermined", msg, expected, C, None, names)


def _transposed(x, C, expected, names, claim_text, what, answer) -> CheckResult:
    xs = x.params[0]
    msg = (f"transposed: {claim_text} is the transpose of {what}, the numerator- vs "
           f"denominator-layout mix-up. The gradient of a scalar has the shape of the "
           f"variable ({_shape_words(x.shape)}, like {xs}: denominator layout, the "
           f"convention in which dL = {what} : d{xs}); the claim is laid out like "
           f"{xs}ᵀ (numerator layout, the Jacobian's row). Transpose it.\n{answer}")
    return CheckResult("transposed", msg, expected, C, None, names)


def _wrong_value(L, x, C, expected, names, claim_text, what, answer, samples):
    from .errors import DomainError
    from .numeric import evaluate_2d
    from .verify import central_difference, direction
    name = x.params[0]
    # the first point where they differ, and a direction that shows it
    p = next(p for p in samples if not _close(p.c, p.t, p.tol))
    values, sizes, c, t = p.values, p.sizes, p.c, p.t
    V = direction(values[name].shape, p.rng, structure_of(x))
    with np.errstate(all="ignore"):
        along = abs(float(np.sum((c - t) * V)))
    if np.all(np.isfinite(c)) and along <= p.tol * float(np.sum(np.abs(V))):
        # along the difference itself (within the structure), the two cannot agree
        V = project(structure_of(x), np.array(c - t))
    h = 1e-6
    try:
        with np.errstate(all="ignore"):
            fd = float(central_difference(
                lambda k: evaluate_2d(L, {**values, name: values[name] + k * h * V}, sizes),
                h)[0, 0])
    except DomainError:  # the loss is undefined a step away: no difference quotient
        fd = float("nan")
    with np.errstate(all="ignore"):
        claimed, true = float(np.sum(c * V)), float(np.sum(t * V))
    ce = Counterexample({k: np.asarray(v) for k, v in values.items()},
                        {d.name if isinstance(d, Dim) else str(d): v
                         for d, v in sizes.items()},
                        V, claimed, true, fd)
    lines = [f"wrong value: {claim_text} has the right shape ({_shape_words(x.shape)}) "
             f"but is not {what}."]
    if p.undefined:
        lines.append(f"It is not defined at a point where the gradient is: {p.undefined}.")
    elif not np.all(np.isfinite(c)):
        lines.append("It is not finite at a point where the gradient is.")
    ratio = _constant_ratio(samples)
    if ratio is not None:
        lines.append(f"It is {_number_text(ratio)} times {what} at every point checked: "
                     "a constant factor is off.")
    elif _within_structure(x, samples):
        from .printing.symbols import unicode_name
        kind = structure_of(x)
        lines.append(f"It agrees with {what} along every direction d{unicode_name(name)} "
                     f"can take, but {unicode_name(name)} is declared {phrase(kind)}, and "
                     f"its gradient is taken {phrase(kind)} too: {_PROJECTION[kind]} of "
                     "the gradient with independent entries (the convention).")
    elif _agrees_in_part(samples):
        lines.append("Some entries agree with the gradient and others do not: a factor "
                     "that depends on the point, such as a Heaviside step H(z) from a "
                     "relu, may be missing or extra.")
    lines.append("Counterexample: " + ce.describe(name) + ".")
    lines.append(answer)
    return CheckResult("wrong-value", "\n".join(lines), expected, C, ce, names)


# how a structured variable's gradient is made from the unconstrained one, in words
_PROJECTION = {"symmetric": "the symmetric part (G + Gᵀ)/2",
               "spd": "the symmetric part (G + Gᵀ)/2", "lower": "the lower triangle tril(G)",
               "upper": "the upper triangle triu(G)", "diagonal": "the diagonal diag(diag(G))"}


def _within_structure(x, samples) -> bool:
    """Whether the claim, projected onto x's structure, is the gradient at every point:
    right along every direction x can take, and wrong only outside the structure."""
    kind = structure_of(x)
    if not kind:
        return False
    with np.errstate(all="ignore"):
        return all(np.all(np.isfinite(p.c)) and _close(project(kind, p.c), p.t, p.tol)
                   for p in samples)


def _constant_ratio(samples) -> float | None:
    ks = []
    for p in samples:
        c, t = p.c, p.t
        with np.errstate(all="ignore"):
            tt = float(np.sum(t * t))
            if not (tt > 0 and np.isfinite(tt)) or not np.all(np.isfinite(c)):
                return None
            k = float(np.sum(c * t)) / tt
        if not _close(c, k * t, p.tol * max(1.0, abs(k))):
            return None
        ks.append(k)
    if ks and all(abs(k - ks[0]) <= 1e-6 * abs(ks[0]) for k in ks):
        return ks[0]
    return None


def _agrees_in_part(samples) -> bool:
    """Whether, across the points, some entries agree and some differ."""
    agree = differ = False
    for p in samples:
        with np.errstate(all="ignore"):
            near = np.abs(p.c - p.t) <= p.tol
        agree = agree or bool(near.any())
        differ = differ or bool((~near).any())
    return agree and differ


def _number_text(k: float) -> str:
    from fractions import Fraction
    f = Fraction(k).limit_denominator(100)
    if abs(float(f) - k) <= 1e-9 * max(1.0, abs(k)):
        return str(f)
    return f"{k:.6g}"
