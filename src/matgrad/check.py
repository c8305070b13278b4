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
  a direction dx, and the claimed and true directional derivatives there.

Every comparison is numeric (random points, distinct sizes per dimension), never a
comparison of printed forms.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass, field

import numpy as np

from .dims import Dim, fmt_shape
from .errors import MatgradError, ParseError, ShapeError
from .expr import Expr, dimensions, matmul_factors, variables, walk

VERDICTS = ("correct", "transposed", "wrong-shape", "wrong-value")


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
    """The verdict on a claimed gradient, and why."""

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
    from .parser import FUNCTIONS
    try:
        tree = ast.parse(claim, mode="exec")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return  # the parser reports it, with a caret
    assigned = {t.id for s in tree.body if isinstance(s, ast.Assign) for t in s.targets
                if isinstance(t, ast.Name)}
    callees = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
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
        tree = ast.parse(claim, mode="exec")
    except SyntaxError:  # pragma: no cover - the parser got this far
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
          points: int = 5, seed: int | None = 0) -> CheckResult:
    """The verdict on a claimed gradient ∂L/∂x, written as text in the language.

    `L` is an expression (or text, parsed with `shapes`); `definitions` names its
    intermediates, which the claim may use by name.

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
    from .printing.text import to_text
    from .steps import derive, substitute

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
    answer = f"The correct answer: {what} = {to_text(expected, names)}" + _where(
        derivation, expected)

    # the claim sees the loss's variables and dimensions, and its intermediates by name
    declared: dict = {}
    for v in variables(L):
        declared[v.params[0]] = f"{v.shape[0]},{v.shape[1]}" + \
            (" symmetric" if v.params[1] else "")
    stand_ins: dict = {}
    for name, e in definitions.items():
        if name not in declared:
            declared[name] = f"{e.shape[0]},{e.shape[1]}"
            stand_ins[name] = e
    dim_names = [d.name for d in dimensions(L)] + [
        s.name for e in definitions.values() for s in e.shape if isinstance(s, Dim)]
    _unknown_names(claim, set(declared) | set(dim_names))

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
                            Ls, points, seed)
    return _compare(L, x, C, expected, names, claim_text, what, answer, points, seed)


def _wrong_shape(L, x, C, expected, derivation, names, claim_text, want, answer, Ls,
                 points, seed) -> CheckResult:
    xs = x.params[0]
    lines = [f"wrong shape: the claim {claim_text} is {_shape_words(C.shape)}, but {want}."]
    if C.shape == (x.shape[1], x.shape[0]):
        if _agree(L, [(C, expected, True)], points, seed):
            return _transposed(x, C, expected, names, claim_text, f"∂{Ls}/∂{xs}", answer)
        lines.append(f"It has the shape of {xs}ᵀ (the numerator layout), but even "
                     f"transposed it is not the gradient.")
        lines.append(_tensor_note(derivation, x, Ls))
    else:
        lines.append(_tensor_note(derivation, x, Ls))
    lines.append(answer)
    return CheckResult("wrong-shape", "\n".join(lines), expected, C, None, names)


def _values(L, exprs, points, seed):
    """[(values, sizes, [evaluated exprs])] at random points where all are finite."""
    from .numeric import evaluate_2d
    from .verify import sample
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(points):
        values, sizes = sample([L, *exprs], rng)
        cache: dict = {}
        out.append((values, sizes, [evaluate_2d(e, values, sizes, cache) for e in exprs],
                    rng))
    return out


def _close(a: np.ndarray, b: np.ndarray) -> bool:
    scale = max(float(np.max(np.abs(a), initial=0.0)), float(np.max(np.abs(b), initial=0.0)),
                1e-12)
    return float(np.max(np.abs(a - b), initial=0.0)) <= 1e-8 * scale


def _agree(L, pairs, points, seed) -> bool:
    """Whether each (claim, truth, transposed) pair agrees at every random point."""
    for claim, truth, transposed in pairs:
        for values, sizes, (c, t), _ in _values(L, [claim, truth], points, seed):
            c = np.broadcast_to(c, (t.shape[1], t.shape[0]) if transposed else t.shape)
            if not _close(c.T if transposed else c, t):
                return False
    return True


def _compare(L, x, C, expected, names, claim_text, what, answer, points, seed):
    from .printing.text import to_text
    samples = _values(L, [C, expected], points, seed)
    full = [(np.broadcast_to(c, t.shape), t) for _, _, (c, t), _ in samples]
    if all(_close(c, t) for c, t in full):
        worst = max(float(np.max(np.abs(c - t), initial=0.0)) for c, t in full)
        msg = (f"correct: {claim_text} equals {what} = {to_text(expected, names)} at "
               f"{points} random points (largest difference {worst:.1e}).")
        return CheckResult("correct", msg, expected, C, None, names)
    if x.shape[0] == x.shape[1] and x.shape != (1, 1) and all(_close(c.T, t) for c, t in full):
        return _transposed(x, C, expected, names, claim_text, what, answer)
    return _wrong_value(L, x, C, expected, names, claim_text, what, answer, samples, full)


def _transposed(x, C, expected, names, claim_text, what, answer) -> CheckResult:
    xs = x.params[0]
    msg = (f"transposed: {claim_text} is the transpose of {what}, the numerator- vs "
           f"denominator-layout mix-up. The gradient of a scalar has the shape of the "
           f"variable ({_shape_words(x.shape)}, like {xs}: denominator layout, the "
           f"convention in which dL = {what} : d{xs}); the claim is laid out like "
           f"{xs}ᵀ (numerator layout, the Jacobian's row). Transpose it.\n{answer}")
    return CheckResult("transposed", msg, expected, C, None, names)


def _wrong_value(L, x, C, expected, names, claim_text, what, answer, samples, full):
    from .numeric import evaluate_2d
    from .verify import direction
    name = x.params[0]
    # the first point where they differ, and a direction that shows it
    i = next(k for k, (c, t) in enumerate(full) if not _close(c, t))
    values, sizes, _, rng = samples[i]
    c, t = full[i]
    V = direction(values[name].shape, rng, x.params[1])
    if abs(float(np.sum((c - t) * V))) <= 1e-9 * max(1.0, float(np.abs(t).max())):
        V = c - t  # along the difference itself, the two cannot agree
    h = 1e-6
    up, down = dict(values), dict(values)
    up[name] = values[name] + h * V
    down[name] = values[name] - h * V
    fd = float((evaluate_2d(L, up, sizes) - evaluate_2d(L, down, sizes))[0, 0] / (2 * h))
    ce = Counterexample({k: np.asarray(v) for k, v in values.items()},
                        {d.name if isinstance(d, Dim) else str(d): v
                         for d, v in sizes.items()},
                        V, float(np.sum(c * V)), float(np.sum(t * V)), fd)
    lines = [f"wrong value: {claim_text} has the right shape ({_shape_words(x.shape)}) "
             f"but is not {what}."]
    ratio = _constant_ratio(full)
    if ratio is not None:
        lines.append(f"It is {_number_text(ratio)} times {what} at every point checked: "
                     "a constant factor is off.")
    elif _agrees_in_part(full):
        lines.append("Some entries agree with the gradient and others do not: a factor "
                     "that depends on the point, such as a Heaviside step H(z) from a "
                     "relu, may be missing or extra.")
    lines.append("Counterexample: " + ce.describe(name) + ".")
    lines.append(answer)
    return CheckResult("wrong-value", "\n".join(lines), expected, C, ce, names)


def _constant_ratio(full) -> float | None:
    ks = []
    for c, t in full:
        tt = float(np.sum(t * t))
        if tt < 1e-24:
            return None
        k = float(np.sum(c * t)) / tt
        if not _close(c, k * t):
            return None
        ks.append(k)
    if ks and all(abs(k - ks[0]) <= 1e-8 * max(1.0, abs(ks[0])) for k in ks):
        return ks[0]
    return None


def _agrees_in_part(full) -> bool:
    """Whether, across the points, some entries agree and some differ."""
    agree = differ = False
    for c, t in full:
        scale = max(float(np.max(np.abs(t), initial=0.0)), 1e-12)
        near = np.abs(c - t) <= 1e-8 * scale
        agree = agree or bool(near.any())
        differ = differ or bool((~near).any())
    return agree and differ


def _number_text(k: float) -> str:
    from fractions import Fraction
    f = Fraction(k).limit_denominator(100)
    if abs(float(f) - k) <= 1e-9 * max(1.0, abs(k)):
        return str(f)
    return f"{k:.6g}"
